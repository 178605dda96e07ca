//! The story being agreed on in a conversation: what the child has asked for so far.
//! Plain data, persisted between turns; the agent fills it and the protocol shows it.

use super::{Age, Language, Place, SceneCount, Style};
use serde::{Deserialize, Deserializer, Serialize};

/// A character the child mentioned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Character {
    pub name: Option<String>,
    /// What they are: `dragon`, `fox`, `girl`…
    pub kind: Option<String>,
    /// A word that describes them: `brave`, `sleepy`…
    pub trait_word: Option<String>,
}

impl Character {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.kind.is_none()
    }
}

/// What the agent asks for, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    Hero,
    Setting,
    Style,
    NumScenes,
}

impl Slot {
    pub fn name(self) -> &'static str {
        match self {
            Self::Hero => "hero",
            Self::Setting => "setting",
            Self::Style => "style",
            Self::NumScenes => "num_scenes",
        }
    }
}

/// The story being agreed on, as it stands. A field missing from a stored draft (written by
/// an older version) reads as not yet known; anything that is not a draft is an error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub title: Option<String>,
    pub hero: Character,
    pub companions: Vec<Character>,
    pub setting: Option<Place>,
    pub style: Option<Style>,
    pub num_scenes: Option<SceneCount>,
    /// Drafts stored before ages were checked may hold any number: those read as not known.
    #[serde(deserialize_with = "age_if_valid")]
    pub age: Option<Age>,
    pub language: Option<Language>,
    pub wish: Option<String>,
    /// The question the agent asked last, so a bare answer ("the beach") lands in the right place.
    pub asked: Option<Slot>,
    /// The agent summarised and asked "shall I make it?".
    pub confirming: bool,
    /// The child's own words, newest last, for the story prompt.
    pub words: Vec<String>,
}

impl Draft {
    pub fn missing(&self) -> Vec<Slot> {
        let mut missing = Vec::new();
        if self.hero.is_empty() {
            missing.push(Slot::Hero);
        }
        if self.setting.is_none() {
            missing.push(Slot::Setting);
        }
        if self.style.is_none() {
            missing.push(Slot::Style);
        }
        if self.num_scenes.is_none() {
            missing.push(Slot::NumScenes);
        }
        missing
    }

    /// The place as said back: a setting's key or the child's words.
    pub fn place(&self) -> Option<&str> {
        self.setting.as_ref().map(Place::as_str)
    }

    pub fn scenes(&self) -> Option<u8> {
        self.num_scenes.map(SceneCount::get)
    }

    pub fn ready(&self) -> bool {
        self.missing().is_empty()
    }

    /// Forget the story just started, keep who the child is.
    pub fn start_over(&mut self) {
        *self = Draft { age: self.age, language: self.language.take(), ..Draft::default() };
    }
}

fn age_if_valid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Age>, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.and_then(|n| Age::new(n).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_stored_by_older_versions_still_read() {
        let old =
            r#"{"hero":{"name":"Pip","kind":"dragon"},"setting":"magical land of clouds","num_scenes":3,"age":40}"#;
        let draft: Draft = serde_json::from_str(old).unwrap();
        assert_eq!(draft.setting, Some(Place::Other("magical land of clouds".into())));
        assert_eq!(draft.age, None, "an age out of range reads as not known");
        assert_eq!(draft.num_scenes.map(SceneCount::get), Some(3));
        let known: Draft = serde_json::from_str(r#"{"setting":"forest","age":5}"#).unwrap();
        assert_eq!(known.setting, Some(Place::Known(super::super::Setting::Forest)));
        assert_eq!(known.age.map(Age::get), Some(5));
    }
}
