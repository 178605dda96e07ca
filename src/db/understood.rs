//! What the agent understood from a child's turn, as stored with that turn and shown in the
//! conversation history. A storage type of its own (not the WebSocket's `requirements` event,
//! which may change with the protocol), in the JSON shape these rows have always had, so rows
//! written before it still read.

use actors::model::{Character, Draft};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Understood {
    pub title: Option<String>,
    pub characters: Vec<UnderstoodCharacter>,
    pub setting: Option<String>,
    /// As text: a style stored once reads back even if the vocabulary changes.
    pub style: Option<String>,
    pub num_scenes: Option<u8>,
    pub age: Option<u8>,
    pub language: String,
    /// What was still missing then: `hero`, `setting`, `style`, `num_scenes`.
    pub missing: Vec<String>,
    pub ready: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnderstoodCharacter {
    pub name: Option<String>,
    pub kind: Option<String>,
    /// `hero` or `friend`.
    pub role: String,
}

impl Understood {
    pub fn of(draft: &Draft) -> Self {
        let character = |c: &Character, role: &str| UnderstoodCharacter {
            name: c.name.clone(),
            kind: c.kind.clone(),
            role: role.to_owned(),
        };
        let hero = (!draft.hero.is_empty()).then(|| character(&draft.hero, "hero"));
        Self {
            title: draft.title.clone(),
            characters: hero.into_iter().chain(draft.companions.iter().map(|c| character(c, "friend"))).collect(),
            setting: draft.place().map(str::to_owned),
            style: draft.style.map(|s| s.as_str().to_owned()),
            num_scenes: draft.scenes(),
            age: draft.age.map(|a| a.get()),
            language: draft.language.clone().unwrap_or_default().to_string(),
            missing: draft.missing().into_iter().map(|s| s.name().to_owned()).collect(),
            ready: draft.ready(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::model::{Place, Style};

    #[test]
    fn rows_in_the_shape_they_were_always_stored_in_read_back() {
        // As written before this type existed (the wire's `requirements` event, serialised).
        let old = r#"{"title":null,"characters":[{"name":"Pip","kind":"dragon","role":"hero"}],"setting":"castle",
            "style":"funny","num_scenes":3,"age":null,"language":"en","missing":[],"ready":true}"#;
        let read: Understood = serde_json::from_str(old).unwrap();
        assert_eq!(read.characters[0].name.as_deref(), Some("Pip"));
        assert_eq!((read.setting.as_deref(), read.style.as_deref(), read.ready), (Some("castle"), Some("funny"), true));

        let draft = Draft {
            hero: Character { name: Some("Pip".into()), kind: Some("dragon".into()), trait_word: None },
            setting: Place::parse("castle").ok(),
            style: Some(Style::Funny),
            num_scenes: actors::model::SceneCount::new(3).ok(),
            ..Draft::default()
        };
        let written: serde_json::Value = serde_json::to_value(Understood::of(&draft)).unwrap();
        let old: serde_json::Value = serde_json::from_str(old).unwrap();
        assert_eq!(written, old, "the same shape as before");
    }
}
