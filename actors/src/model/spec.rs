//! What a story is asked to be: a [`StorySpec`], made only by [`StorySpec::new`], which REST
//! requests and agreed conversations both go through, so both obey the same limits.

use super::draft::Character;
use super::vocabulary::{Age, Invalid, Language, Place, SceneCount, Style};
use serde::{Deserialize, Serialize};

/// Who the story is about, where, and what the hero wants, as the child asked. The builtin
/// storyteller and illustrator cast the story from this (inventing only what is missing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoryCast {
    pub hero: Character,
    pub companions: Vec<Character>,
    pub place: Option<Place>,
    /// What the hero wants or fears, past tense ("wanted to fly", "was afraid of the dark").
    pub wish: Option<String>,
}

/// The limits every story request is held to, whichever path it came by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecLimits {
    pub max_prompt_chars: usize,
    pub max_title_chars: usize,
    /// At most [`SceneCount::MAX`].
    pub max_scenes: SceneCount,
    pub default_scenes: SceneCount,
    /// Friends beside the hero a story may have; more are not taken.
    pub max_companions: usize,
}

impl SpecLimits {
    /// The service's defaults (the configuration's, unless changed there).
    pub const DEFAULT: Self = Self {
        max_prompt_chars: 2_000,
        max_title_chars: 120,
        max_scenes: SceneCount::MAX,
        default_scenes: SceneCount::DEFAULT,
        max_companions: 4,
    };
}

impl Default for SpecLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A story request before it is checked: values as given (absent ones get the defaults).
#[derive(Clone, Debug, Default)]
pub struct SpecRequest {
    pub title: Option<String>,
    pub prompt: String,
    pub cast: StoryCast,
    pub style: Option<Style>,
    pub num_scenes: Option<i64>,
    pub age: Option<i64>,
    pub language: Option<String>,
}

/// A request outside the limits: which field, and why (said to the client as it is).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    pub field: &'static str,
    pub message: String,
}

impl SpecError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// What was asked for: everything the generator needs, already validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorySpec {
    pub title: Option<String>,
    pub prompt: String,
    pub cast: StoryCast,
    pub style: Style,
    pub num_scenes: SceneCount,
    pub age: Age,
    pub language: Language,
}

impl StorySpec {
    /// Check `request` against `limits`: a clear error for what is out of bounds, defaults for
    /// what was left out, friends beyond the cap left out.
    pub fn new(request: SpecRequest, limits: &SpecLimits) -> Result<Self, SpecError> {
        let prompt = request.prompt.trim().to_owned();
        if prompt.is_empty() {
            return Err(SpecError::new("prompt", "the prompt must not be empty"));
        }
        if prompt.chars().count() > limits.max_prompt_chars {
            let message = format!("the prompt must be at most {} characters", limits.max_prompt_chars);
            return Err(SpecError::new("prompt", message));
        }
        let title = request.title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if title.as_ref().is_some_and(|t| t.chars().count() > limits.max_title_chars) {
            let message = format!("the title must be at most {} characters", limits.max_title_chars);
            return Err(SpecError::new("title", message));
        }
        let num_scenes = match request.num_scenes {
            None => limits.default_scenes.min(limits.max_scenes),
            Some(n) => SceneCount::new(n).ok().filter(|n| *n <= limits.max_scenes).ok_or_else(|| {
                SpecError::new("num_scenes", format!("num_scenes must be between 1 and {}", limits.max_scenes))
            })?,
        };
        let age = match request.age {
            None => Age::DEFAULT,
            Some(a) => Age::new(a).map_err(|Invalid(m)| SpecError::new("age", m))?,
        };
        let language = match request.language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            None => Language::default(),
            Some(tag) => Language::parse(tag).map_err(|Invalid(m)| SpecError::new("language", m))?,
        };
        let mut cast = request.cast;
        cast.companions.truncate(limits.max_companions);
        Ok(Self { title, prompt, cast, style: request.style.unwrap_or(Style::Fantasy), num_scenes, age, language })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt: &str) -> SpecRequest {
        SpecRequest { prompt: prompt.into(), ..SpecRequest::default() }
    }

    #[test]
    fn defaults_fill_what_was_left_out() {
        let spec = StorySpec::new(request("  a fox "), &SpecLimits::default()).unwrap();
        assert_eq!(spec.prompt, "a fox");
        assert_eq!((spec.style, spec.num_scenes, spec.age), (Style::Fantasy, SceneCount::DEFAULT, Age::DEFAULT));
        assert_eq!(spec.language.as_str(), "en");
        let small = SpecLimits { max_scenes: SceneCount::new(2).unwrap(), ..SpecLimits::default() };
        assert_eq!(StorySpec::new(request("a fox"), &small).unwrap().num_scenes.get(), 2);
    }

    #[test]
    fn every_limit_is_enforced_with_its_field() {
        let limits = SpecLimits { max_prompt_chars: 10, max_title_chars: 5, ..SpecLimits::default() };
        let field = |r: SpecRequest| StorySpec::new(r, &limits).unwrap_err().field;
        assert_eq!(field(request("   ")), "prompt");
        assert_eq!(field(request("far too long a prompt")), "prompt");
        assert_eq!(field(SpecRequest { title: Some("a long title".into()), ..request("ok") }), "title");
        assert_eq!(field(SpecRequest { num_scenes: Some(13), ..request("ok") }), "num_scenes");
        assert_eq!(field(SpecRequest { num_scenes: Some(0), ..request("ok") }), "num_scenes");
        assert_eq!(field(SpecRequest { age: Some(40), ..request("ok") }), "age");
        assert_eq!(field(SpecRequest { language: Some("english please".into()), ..request("ok") }), "language");
        let few = SpecLimits { max_scenes: SceneCount::new(4).unwrap(), ..SpecLimits::default() };
        let error = StorySpec::new(SpecRequest { num_scenes: Some(5), ..request("ok") }, &few).unwrap_err();
        assert_eq!(error.message, "num_scenes must be between 1 and 4");
    }

    #[test]
    fn friends_beyond_the_cap_are_left_out() {
        let friend = |n: &str| Character { name: Some(n.into()), ..Character::default() };
        let cast = StoryCast { companions: vec![friend("A"), friend("B"), friend("C")], ..StoryCast::default() };
        let limits = SpecLimits { max_companions: 2, ..SpecLimits::default() };
        let spec = StorySpec::new(SpecRequest { cast, ..request("ok") }, &limits).unwrap();
        assert_eq!(spec.cast.companions.len(), 2);
    }
}
