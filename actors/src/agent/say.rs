//! How the agent says the story back ("Pip the dragon, under a bridge, a funny story"), and the
//! story request a draft becomes.

use super::AgentLimits;
use crate::model::{Character, Draft, Place, Setting, SpecError, SpecRequest, StoryCast, StorySpec};
use crate::requirements;

impl Draft {
    /// The story request this draft describes, checked like any other.
    pub fn to_spec(&self, limits: &AgentLimits) -> Result<StorySpec, SpecError> {
        let mut prompt = format!("A story about {}", describe(&self.hero));
        for friend in &self.companions {
            prompt.push_str(&format!(" and {}", describe(friend)));
        }
        if let Some(place) = &self.setting {
            prompt.push_str(&format!(", {}", where_phrase(place)));
        }
        prompt.push('.');
        if let Some(wish) = &self.wish {
            prompt.push_str(&format!(" {} {wish}.", hero_name(&self.hero)));
        }
        let words = self.words.join(" ");
        if !words.is_empty() {
            prompt.push_str(" In the child's words: ");
            prompt.push_str(&words);
        }
        let prompt: String = requirements::fix_articles(&prompt).chars().take(limits.max_prompt_chars).collect();
        let cast = StoryCast {
            hero: self.hero.clone(),
            companions: self.companions.clone(),
            place: self.setting.clone(),
            wish: self.wish.clone(),
        };
        let request = SpecRequest {
            title: self.title.clone(),
            prompt,
            cast,
            style: self.style,
            num_scenes: self.num_scenes.map(|n| i64::from(n.min(limits.max_scenes))),
            age: self.age.map(i64::from),
            language: self.language.as_ref().map(|l| l.to_string()),
        };
        StorySpec::new(request, limits)
    }
}

/// "in the castle", "under a bridge", "in the clouds": a place as the agent says it back.
pub(super) fn where_phrase(place: &Place) -> String {
    match place {
        Place::Known(Setting::Space) => "in space".into(),
        Place::Known(setting @ (Setting::Island | Setting::Farm)) => format!("on the {setting}"),
        Place::Known(setting) => format!("in the {setting}"),
        Place::Other(words) if starts_with_preposition(words) => words.clone(),
        Place::Other(words) => format!("in {words}"),
    }
}

fn starts_with_preposition(words: &str) -> bool {
    let first = words.split_whitespace().next().unwrap_or_default().to_lowercase();
    ["in", "on", "at", "under", "inside", "near", "by", "above", "beside", "behind", "beyond", "up", "down", "over"]
        .contains(&first.as_str())
}

/// A character for the story request: "a brave dragon called Pip".
fn describe(c: &Character) -> String {
    let adjective = c.trait_word.as_ref().map_or(String::new(), |t| format!("{t} "));
    match (&c.name, &c.kind) {
        (Some(n), Some(k)) => format!("a {adjective}{k} called {n}"),
        (Some(n), None) => n.clone(),
        (None, Some(k)) => format!("a {adjective}{k}"),
        (None, None) => "a child".into(),
    }
}

/// The hero by name, else by kind: "Pip", "the dragon".
pub(super) fn hero_name(c: &Character) -> String {
    c.name.clone().or_else(|| c.kind.as_ref().map(|k| format!("the {k}"))).unwrap_or_else(|| "the hero".into())
}

/// The hero as the agent says it back: "Pip the dragon", "a dragon", "Pip".
pub(super) fn hero_phrase(c: &Character) -> String {
    match (&c.name, &c.kind) {
        (Some(n), Some(k)) => format!("{n} the {k}"),
        (Some(n), None) => n.clone(),
        (None, Some(k)) => format!("a {k}"),
        (None, None) => "our hero".into(),
    }
}
