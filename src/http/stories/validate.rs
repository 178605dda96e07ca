//! Parsing a story request into a `StorySpec`: every limit explicit, every refusal a clear 422.

use crate::auth::AuthUser;
use crate::config::Limits;
use crate::error::{ApiError, ApiResult};
use actors::model::{SpecRequest, StorySpec, Style, UserId};
use actors::requirements;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    /// The spec this request asks for: what it says, else what its prompt says, else the
    /// defaults. Said outright, a value out of range is an error; read from the prompt, it is
    /// ignored ("I'm 40" is not an age we write for).
    pub fn validate(self, caller: AuthUser, limits: &Limits) -> ApiResult<StorySpec> {
        if let Some(user) = self.user_id {
            caller.must_be(user)?;
        }
        let limits = limits.spec_limits();
        // A prompt over the limit is refused below: not worth reading first.
        let within = self.prompt.chars().count() <= limits.max_prompt_chars;
        let heard = if within { requirements::request_from(&self.prompt) } else { SpecRequest::default() };
        let style = match self.style.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse::<Style>().map_err(|e| ApiError::validation("style", e.0))?),
            None => heard.style,
        };
        let request = SpecRequest {
            title: self.title,
            prompt: self.prompt,
            style,
            // A length the prompt names beyond this service's limit is left to the default.
            num_scenes: self.num_scenes.or(heard.num_scenes.filter(|n| *n <= i64::from(limits.max_scenes))),
            age: self.age.or(heard.age),
            language: self.language,
            cast: heard.cast,
        };
        StorySpec::new(request, &limits).map_err(|e| ApiError::validation(e.field, e.message))
    }
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
            .validate(caller, &Limits::default())
            .unwrap();
        assert_eq!(
            (spec.style, spec.num_scenes.get(), spec.age.get(), spec.language.as_str()),
            (Style::Bedtime, 4, 4, "en")
        );
        assert_eq!(spec.cast.hero.kind.as_deref(), Some("owl"), "the cast is read from the prompt once");
    }

    #[test]
    fn limits_are_enforced() {
        let caller = AuthUser(UserId::new());
        let limits = Limits { max_prompt_chars: 10, ..Limits::default() };
        let err = |r: CreateStoryRequest| match r.validate(caller, &limits) {
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

    proptest::proptest! {
        /// Any request body that parsed as JSON gets a spec or a 4xx, never a panic.
        #[test]
        fn any_request_is_validated_without_panicking(
            prompt in ".{0,300}", title in proptest::option::of(".{0,200}"), style in proptest::option::of(".{0,20}"),
            num_scenes in proptest::option::of(proptest::num::i64::ANY), age in proptest::option::of(proptest::num::i64::ANY),
            language in proptest::option::of(".{0,40}"),
        ) {
            let request = CreateStoryRequest { title, prompt, style, num_scenes, user_id: None, age, language };
            let limits = Limits::default();
            if let Ok(spec) = request.validate(AuthUser(UserId::new()), &limits) {
                proptest::prop_assert!((1..=limits.max_scenes).contains(&spec.num_scenes.get()));
                proptest::prop_assert!(spec.prompt.chars().count() <= limits.max_prompt_chars);
            }
        }
    }
}
