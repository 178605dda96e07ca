//! Where a text says the story happens: a setting named (or misspelt) anywhere, else the place
//! where someone "lives in / on / at / under …", kept in the child's words when no setting fits.

use super::index::{self, PLACE_TYPOS};
use super::lexicon::{SETTINGS, STYLE_WORDS, WEAK_SETTING_WORDS};
use super::words::is_mark;
use crate::model::{Place, Setting};
use crate::text::Phrases;
use std::sync::LazyLock;

/// Every word of [`SETTINGS`] with its setting, and whether it only describes one.
static SETTING_WORDS: LazyLock<Phrases<(bool, Setting)>> = LazyLock::new(|| {
    Phrases::new(
        SETTINGS
            .iter()
            .flat_map(|(setting, words)| words.iter().map(move |w| (*w, (WEAK_SETTING_WORDS.contains(w), *setting)))),
    )
});

/// Words that say where someone is at home, and the words that start the place after them.
const LIVES: &[&str] = &["lives", "live", "living", "lived", "stays", "sleeps"];
const PREPOSITIONS: &[&str] =
    &["in", "on", "at", "under", "inside", "near", "by", "above", "beneath", "behind", "beyond", "up", "over"];
/// Words that end a place ("under a bridge and …").
const PLACE_ENDS: &[&str] =
    &["and", "but", "who", "that", "which", "with", "because", "so", "where", "when", "then", "called", "named"];

/// The place in `lower` (its tokens, lower case); tokens that were names are not places
/// ("Snow White").
pub(super) fn place(lower: &[String], names: &[bool]) -> Option<Place> {
    let mut joined = String::with_capacity(lower.iter().map(|w| w.len() + 1).sum::<usize>() + 1);
    joined.push(' ');
    for (word, name) in lower.iter().zip(names) {
        joined.push_str(if *name { "_" } else { word });
        joined.push(' ');
    }
    named(&joined).map(Place::Known).or_else(|| lives_at(lower, names)).or_else(|| misspelt(lower, names))
}

/// The first setting named wins, but a place noun beats a describing word ("a snowy castle").
fn named(joined: &str) -> Option<Setting> {
    SETTING_WORDS.find_in(joined).map(|(pos, _, (weak, setting))| (weak, pos, setting)).min().map(|(_, _, s)| s)
}

/// "she lives in the clouds", "a troll who lives under a bridge": the words after the
/// preposition up to the end of the clause, at most five ("in" and "at" are dropped: "the
/// clouds"; others are kept: "under a bridge").
fn lives_at(lower: &[String], names: &[bool]) -> Option<Place> {
    let at = lower.iter().position(|w| LIVES.contains(&w.as_str()))?;
    let preposition = lower.get(at + 1).filter(|p| PREPOSITIONS.contains(&p.as_str()))?;
    let mut words: Vec<&str> = Vec::new();
    if !["in", "at"].contains(&preposition.as_str()) {
        words.push(preposition);
    }
    for (word, name) in lower.iter().zip(names).skip(at + 2) {
        if is_mark(word) || PLACE_ENDS.contains(&word.as_str()) || *name || words.len() >= 6 {
            break;
        }
        words.push(word);
    }
    let nouns = words.iter().filter(|w| !["a", "an", "the", "my", "his", "her", "their"].contains(w)).count();
    let style_only = words.iter().all(|w| STYLE_WORDS.iter().any(|(_, s)| s.contains(w)));
    if nouns == 0 || style_only {
        return None;
    }
    Place::parse(&words.join(" ")).ok()
}

/// A misspelt place ("forrest", "castel").
fn misspelt(lower: &[String], names: &[bool]) -> Option<Place> {
    lower
        .iter()
        .zip(names)
        .filter(|(_, name)| !**name)
        .find_map(|(w, _)| PLACE_TYPOS.of(w))
        .and_then(index::setting)
        .map(Place::Known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place_of(text: &str) -> Option<Place> {
        let lower: Vec<String> = super::super::words::tokens(text).iter().map(|t| t.to_lowercase()).collect();
        place(&lower, &vec![false; lower.len()])
    }

    #[test]
    fn where_someone_lives_is_the_place() {
        assert_eq!(place_of("she lives in the clouds"), Some(Place::Other("the clouds".into())));
        assert_eq!(place_of("a troll who lives under a bridge, and"), Some(Place::Other("under a bridge".into())));
        assert_eq!(place_of("a cat who lives on the moon"), Some(Place::Known(Setting::Space)));
        assert_eq!(place_of("a fox who lives in a den with his mum"), Some(Place::Other("a den".into())));
        assert_eq!(place_of("a fox who lives"), None);
        assert_eq!(place_of("a unicorn in the forrest"), Some(Place::Known(Setting::Forest)));
    }
}
