//! Parsing a story request into a `StorySpec`: every limit explicit, every refusal a clear 422.

use crate::auth::AuthUser;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use actors::model::{StorySpec, Style, UserId};
use actors::requirements;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Youngest and oldest listener the stories are written for.
pub const AGES: std::ops::RangeInclusive<i64> = 2..=12;
const DEFAULT_AGE: u8 = 6;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreateStoryRequest {
    /// Optional; the storyteller picks one when absent.
    pub title: Option<String>,
    /// What the story should be about, in the child's words.
    pub prompt: String,
    /// fantasy, sci-fi, adventure, animals, bedtime, funny or mystery; guessed from the prompt when absent.
    pub style: Option<String>,
    /// 1..=max_scenes; read from the prompt ("five parts") or the configured default when absent.
    pub num_scenes: Option<i64>,
    /// Must be the caller when present (the seed app sends it).
    #[schema(value_type = Option<String>, format = "uuid")]
    pub user_id: Option<UserId>,
    /// Listener's age, 2..=12 (default 6).
    pub age: Option<i64>,
    /// BCP 47 language tag, default `en`.
    pub language: Option<String>,
}

impl CreateStoryRequest {
    pub fn validate(self, caller: AuthUser, config: &Config) -> ApiResult<StorySpec> {
        if let Some(user) = self.user_id {
            caller.must_be(user)?;
        }
        let prompt = self.prompt.trim().to_owned();
        if prompt.is_empty() {
            return Err(ApiError::validation("prompt", "the prompt must not be empty"));
        }
        if prompt.chars().count() > config.max_prompt_chars {
            return Err(ApiError::validation(
                "prompt",
                format!("the prompt must be at most {} characters", config.max_prompt_chars),
            ));
        }
        let title = self.title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if title.as_ref().is_some_and(|t| t.chars().count() > config.max_title_chars) {
            return Err(ApiError::validation(
                "title",
                format!("the title must be at most {} characters", config.max_title_chars),
            ));
        }
        let heard = requirements::extract(&prompt);
        let style = match self.style.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => s.parse::<Style>().map_err(|_| {
                let known: Vec<&str> = Style::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::validation("style", format!("unknown style `{s}`; use one of: {}", known.join(", ")))
            })?,
            None => heard.style.or(heard.style_hint).unwrap_or(Style::Fantasy),
        };
        let max = config.max_scenes;
        let num_scenes = match self.num_scenes {
            Some(n) if (1..=i64::from(max)).contains(&n) => n as u8,
            Some(_) => {
                return Err(ApiError::validation("num_scenes", format!("num_scenes must be between 1 and {max}")));
            }
            None => heard.num_scenes.filter(|n| (1..=max).contains(n)).unwrap_or(config.default_scenes),
        };
        let age = match self.age {
            Some(a) if AGES.contains(&a) => a as u8,
            Some(_) => {
                return Err(ApiError::validation(
                    "age",
                    format!("age must be between {} and {}", AGES.start(), AGES.end()),
                ));
            }
            None => heard.age.filter(|a| AGES.contains(&i64::from(*a))).unwrap_or(DEFAULT_AGE),
        };
        let language =
            self.language.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).unwrap_or_else(|| "en".into());
        if !is_language_tag(&language) {
            return Err(ApiError::validation("language", "language must be a BCP 47 tag such as `en` or `en-GB`"));
        }
        Ok(StorySpec { title, prompt, style, num_scenes, age, language })
    }
}

fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt: &str) -> CreateStoryRequest {
        CreateStoryRequest {
            title: None,
            prompt: prompt.into(),
            style: None,
            num_scenes: None,
            user_id: None,
            age: None,
            language: None,
        }
    }

    #[test]
    fn defaults_are_read_from_the_prompt() {
        let caller = AuthUser(UserId::new());
        let spec = request("a bedtime story in four parts about a sleepy owl, I'm 4")
            .validate(caller, &Config::default())
            .unwrap();
        assert_eq!((spec.style, spec.num_scenes, spec.age, spec.language.as_str()), (Style::Bedtime, 4, 4, "en"));
    }

    #[test]
    fn limits_are_enforced() {
        let caller = AuthUser(UserId::new());
        let config = Config { max_prompt_chars: 10, ..Config::default() };
        let err = |r: CreateStoryRequest| match r.validate(caller, &config) {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(err(request("   ")), "prompt");
        assert_eq!(err(request("far too long a prompt")), "prompt");
        assert_eq!(err(CreateStoryRequest { num_scenes: Some(13), ..request("ok") }), "num_scenes");
        assert_eq!(err(CreateStoryRequest { num_scenes: Some(0), ..request("ok") }), "num_scenes");
        assert_eq!(err(CreateStoryRequest { style: Some("horror".into()), ..request("ok") }), "style");
        assert_eq!(err(CreateStoryRequest { age: Some(40), ..request("ok") }), "age");
        assert_eq!(err(CreateStoryRequest { language: Some("english please".into()), ..request("ok") }), "language");
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "en-GB", "zh-Hant-TW", "fil"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "english", "en_GB", "en--GB"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    proptest::proptest! {
        /// Any request body that parsed as JSON gets a spec or a 4xx, never a panic.
        #[test]
        fn any_request_is_validated_without_panicking(
            prompt in ".{0,300}", title in proptest::option::of(".{0,200}"), style in proptest::option::of(".{0,20}"),
            num_scenes in proptest::option::of(proptest::num::i64::ANY), age in proptest::option::of(proptest::num::i64::ANY),
            language in proptest::option::of(".{0,40}"),
        ) {
            let request = CreateStoryRequest { title, prompt, style, num_scenes, user_id: None, age, language };
            let config = Config::default();
            if let Ok(spec) = request.validate(AuthUser(UserId::new()), &config) {
                proptest::prop_assert!((1..=config.max_scenes).contains(&spec.num_scenes));
                proptest::prop_assert!(spec.prompt.chars().count() <= config.max_prompt_chars);
            }
        }
    }
}
