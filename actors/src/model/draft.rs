//! The story being agreed on in a conversation: what the child has asked for so far.
//! Plain data, persisted between turns; the agent fills it and the protocol shows it.

use super::Style;
use serde::{Deserialize, Serialize};

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
    pub setting: Option<String>,
    pub style: Option<Style>,
    pub num_scenes: Option<u8>,
    pub age: Option<u8>,
    pub language: Option<String>,
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

    pub fn ready(&self) -> bool {
        self.missing().is_empty()
    }

    /// Forget the story just started, keep who the child is.
    pub fn start_over(&mut self) {
        *self = Draft { age: self.age, language: self.language.take(), ..Draft::default() };
    }
}
