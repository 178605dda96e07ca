//! Reading what a child asked for out of free text: the characters (names, kinds, traits),
//! the place, style, number of scenes, age and wish. Used at the edge to read a REST prompt
//! once, and by the conversation agent to fill its draft.

mod characters;
mod index;
mod lexicon;
mod places;
mod wish;
mod words;

pub use crate::model::Character;
use crate::model::{Age, Place, SceneCount, SpecRequest, StoryCast, Style};
use crate::text::Phrases;
use lexicon::{STYLE_HINTS, STYLE_WORDS};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use words::number;
pub use words::{base_kind, capitalise};

/// The words of [`STYLE_WORDS`] and [`STYLE_HINTS`], each with its row and style.
static STYLE_WORD_ROWS: LazyLock<Phrases<(usize, Style)>> = LazyLock::new(|| rows(STYLE_WORDS));
static STYLE_HINT_ROWS: LazyLock<Phrases<(usize, Style)>> = LazyLock::new(|| rows(STYLE_HINTS));

fn rows(table: &'static [(Style, &'static [&'static str])]) -> Phrases<(usize, Style)> {
    Phrases::new(
        table.iter().enumerate().flat_map(|(row, (style, words))| words.iter().map(move |w| (*w, (row, *style)))),
    )
}

/// Everything that could be read from the text; absent fields were not mentioned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub hero: Character,
    pub companions: Vec<Character>,
    /// A name given by pronoun ("her name is Zoe", "call him Max"): the hero's, as it stands.
    pub named_hero: Option<String>,
    /// Names said as someone's friend ("a friend called Max"): never the hero's name.
    pub friends: Vec<String>,
    /// A kind said of the hero by pronoun ("she's a unicorn"): what the hero is.
    pub hero_is: Option<String>,
    pub setting: Option<Place>,
    /// A style the child named ("funny", "a bedtime story").
    pub style: Option<Style>,
    /// A style the story's ingredients suggest (a dragon → fantasy), when none was named.
    pub style_hint: Option<Style>,
    pub num_scenes: Option<u8>,
    pub age: Option<u8>,
    /// What the hero wants or fears, as a verb phrase in the past tense ("wanted to fly").
    pub wish: Option<String>,
}

impl Extracted {
    /// Who, where and what for, as the storytellers take it.
    pub fn cast(&self) -> StoryCast {
        let mut hero = self.hero.clone();
        if self.hero_is.is_some() {
            hero.kind = self.hero_is.clone();
        }
        if hero.name.is_none() {
            hero.name = self.named_hero.clone();
        }
        StoryCast { hero, companions: self.companions.clone(), place: self.setting.clone(), wish: self.wish.clone() }
    }
}

/// A story request as far as free text says it: the cast, and the style, length and age it
/// names when they are ones the service writes (anything else is left to the defaults).
pub fn request_from(prompt: &str) -> SpecRequest {
    let heard = extract(prompt);
    SpecRequest {
        title: None,
        prompt: prompt.to_owned(),
        cast: heard.cast(),
        style: heard.style.or(heard.style_hint),
        num_scenes: heard.num_scenes.map(i64::from).filter(|n| SceneCount::new(*n).is_ok()),
        age: heard.age.map(i64::from).filter(|a| Age::new(*a).is_ok()),
        language: None,
    }
}

/// Whether `text` names a style and nothing else a story needs ("funny", "a silly one"): said
/// when asked for a place, it is not a place.
pub fn only_a_style(text: &str) -> bool {
    let heard = extract(text);
    heard.style.is_some() && heard.hero.is_empty() && heard.setting.is_none()
}

/// Read everything we can from `text`.
pub fn extract(text: &str) -> Extracted {
    let toks = words::tokens(text);
    let lower: Vec<String> = toks.iter().map(|t| t.to_lowercase()).collect();
    let cast = characters::read(&toks, &lower);
    let mut people = cast.characters.into_iter();
    let mut out = Extracted {
        hero: people.next().unwrap_or_default(),
        companions: people.collect(),
        named_hero: cast.named_hero,
        friends: cast.friends,
        hero_is: cast.hero_is,
        setting: places::place(&lower, &cast.name_tokens),
        wish: wish::wish(text),
        ..Extracted::default()
    };
    (out.style, out.style_hint) = styles_in(&lower);
    for (i, word) in lower.iter().enumerate() {
        let next = lower.get(i + 1).map(String::as_str);
        if let (Some(n), Some("scenes" | "scene" | "parts" | "part" | "chapters" | "chapter" | "pages" | "page")) =
            (number(word), next)
        {
            out.num_scenes = Some(n);
        }
        // "5 years old", "five year old", "I am 6", "I'm six"
        if let (Some(n), Some("years" | "year" | "yrs")) = (number(word), next) {
            out.age = Some(n);
        }
        if (word == "i'm" || word == "im" || (word == "am" && i >= 1 && lower[i - 1] == "i"))
            && let Some(n) = next.and_then(number)
        {
            out.age = Some(n);
        }
    }
    out
}

/// The style `text` names and the style it hints at, as [`extract`] reads them (without reading
/// the rest: the agent asks this of single words).
pub fn styles(text: &str) -> (Option<Style>, Option<Style>) {
    let lower: Vec<String> = words::tokens(text).iter().map(|t| t.to_lowercase()).collect();
    styles_in(&lower)
}

/// The style named and the style hinted at by `lower` (a text's tokens in lower case).
fn styles_in(lower: &[String]) -> (Option<Style>, Option<Style>) {
    let mut joined = String::with_capacity(lower.iter().map(|w| w.len() + 1).sum::<usize>() + 1);
    joined.push(' ');
    for word in lower.iter().filter(|w| !words::is_mark(w)) {
        joined.push_str(word);
        joined.push(' ');
    }
    // The first row of the table with a word in the text.
    let style_in =
        |table: &Phrases<(usize, Style)>| table.find_in(&joined).map(|(_, _, row)| row).min().map(|(_, s)| s);
    (style_in(&STYLE_WORD_ROWS), style_in(&STYLE_HINT_ROWS))
}

/// "a owl" → "an owl", "A elephant" → "An elephant"; "a unicorn" stays.
pub fn fix_articles(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let next = words.get(i + 1).map(|w| w.trim_start_matches(|c: char| !c.is_alphabetic()).to_lowercase());
        let vowel =
            next.is_some_and(|n| n.starts_with(['a', 'e', 'i', 'o']) || (n.starts_with('u') && !n.starts_with("uni")));
        match *word {
            "a" if vowel => out.push_str("an"),
            "A" if vowel => out.push_str("An"),
            other => out.push_str(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Setting;

    #[test]
    fn hero_with_name_kind_and_trait() {
        let e = extract("A story about a brave dragon called Pip who is afraid of the dark");
        assert_eq!(e.hero.name.as_deref(), Some("Pip"));
        assert_eq!(e.hero.kind.as_deref(), Some("dragon"));
        assert_eq!(e.hero.trait_word.as_deref(), Some("brave"));
        assert_eq!(e.wish.as_deref(), Some("was afraid of the dark"));
        assert_eq!(e.style, None, "a dragon only hints at fantasy");
        assert_eq!(e.style_hint, Some(Style::Fantasy));
    }

    #[test]
    fn name_before_kind_and_companion() {
        let e = extract("Luna the unicorn and her friend, a fox named Ruby, explore the snowy mountains");
        assert_eq!(e.hero.name.as_deref(), Some("Luna"));
        assert_eq!(e.hero.kind.as_deref(), Some("unicorn"));
        assert_eq!(e.companions[0].name.as_deref(), Some("Ruby"));
        assert_eq!(e.companions[0].kind.as_deref(), Some("fox"));
        assert_eq!(e.setting, Some(Place::Known(Setting::Mountains)));
        assert_eq!(extract("in a snowy castle").setting, Some(Place::Known(Setting::Castle)));
        assert_eq!(extract("somewhere snowy").setting, Some(Place::Known(Setting::Snow)));
    }

    #[test]
    fn articles_agree_with_the_next_word() {
        assert_eq!(
            fix_articles("Even a owl and a unicorn met A elephant."),
            "Even an owl and a unicorn met An elephant."
        );
        assert_eq!(fix_articles("a dragon, a (old) map"), "a dragon, an (old) map");
    }

    #[test]
    fn counts_ages_and_plurals() {
        let e = extract("I'm five. Make it five parts about puppies in space");
        assert_eq!(e.age, Some(5));
        assert_eq!(e.num_scenes, Some(5));
        assert_eq!(e.hero.kind.as_deref(), Some("puppy"), "the pet word, as said");
        assert_eq!(e.setting, Some(Place::Known(Setting::Space)));
        assert_eq!(e.style_hint, Some(Style::SciFi));
        assert_eq!(extract("for a 6 year old, 3 scenes").age, Some(6));
    }

    #[test]
    fn plain_text_yields_nothing_invented() {
        let e = extract("hello there");
        assert!(e.hero.is_empty());
        assert!(e.setting.is_none() && e.style.is_none() && e.num_scenes.is_none() && e.age.is_none());
    }
}
