//! How a child answers: yes, no, a change of mind, "you choose", "I don't know" — in the many
//! ways children say them ("yesss", "sure!", "nah", "dunno", "surprise me").

use crate::text::Phrases;
use std::sync::LazyLock;

const YES: &[&str] = &[
    "yes",
    "yess",
    "yeah",
    "yea",
    "ya",
    "yep",
    "yup",
    "yay",
    "sure",
    "ok",
    "okay",
    "k",
    "please",
    "go",
    "do it",
    "make it",
    "let's go",
    "lets go",
    "sounds good",
    "perfect",
    "start",
    "absolutely",
    "of course",
    "go ahead",
    "uh huh",
    "alright",
    "all right",
    "awesome",
    "great",
    "please do",
    "ready",
    "cool",
    "yes please",
    "definitely",
    "👍",
];
const NO: &[&str] =
    &["no", "nope", "nah", "not yet", "not now", "wait", "hmm", "stop", "hold on", "don't", "dont", "change"];
/// The child leaves the choice to the agent.
const DELEGATE: &[&str] = &[
    "you choose",
    "you chose",
    "u choose",
    "u pick",
    "u decide",
    "you can choose",
    "you can pick",
    "you pick",
    "you decide",
    "surprise me",
    "up to you",
    "any",
    "anything",
    "anywhere",
    "anyone",
    "whatever",
    "i don't mind",
    "i dont mind",
    "don't care",
    "dont care",
    "doesn't matter",
    "doesnt matter",
    "dealer's choice",
    "your choice",
    "pick one",
    "pick for me",
    "choose for me",
    "random",
];
/// The child does not know what to say.
const UNSURE: &[&str] =
    &["don't know", "dont know", "do not know", "dunno", "idk", "no idea", "not sure", "i'm not sure", "hmm not sure"];
/// A change of mind. "make it" is one only with something after it ("make it a cat"), see
/// [`is_correction`].
const CHANGE: &[&str] = &[
    "actually",
    "instead",
    "change",
    "rather",
    "no,",
    "not a",
    "not the",
    "switch",
    "can it be",
    "could it be",
    "i mean",
    "oops",
    "wait,",
];
/// What may follow "make it" in a yes ("make it now!", "yes make it please").
const YES_AFTER_MAKE_IT: &[&str] =
    &["", "please", "now", "go", "then", "already", "yes", "right now", "quick", "quickly", "pls", "plz", "happen"];
/// The agent should choose everything still open, not just what it asked.
const ALL_OF_IT: &[&str] = &["the rest", "everything", "all of it", "all the rest", "you choose everything"];

static YES_ANSWERS: Answers = LazyLock::new(|| answers(YES));
static NO_ANSWERS: Answers = LazyLock::new(|| answers(NO));
static DELEGATE_ANSWERS: Answers = LazyLock::new(|| answers(DELEGATE));
static UNSURE_ANSWERS: Answers = LazyLock::new(|| answers(UNSURE));
static CHANGE_ANSWERS: Answers = LazyLock::new(|| answers(CHANGE));
static ALL_OF_IT_ANSWERS: Answers = LazyLock::new(|| answers(ALL_OF_IT));

/// `lower`, padded with spaces, punctuation as spaces, a letter that follows two of itself
/// dropped ("yesss" is "yes").
fn padded(lower: &str) -> String {
    let mut padded = String::with_capacity(lower.len() + 2);
    padded.push(' ');
    let (mut before, mut last) = (None, None);
    for c in lower.chars() {
        if before == Some(c) && last == Some(c) {
            continue;
        }
        (before, last) = (last, Some(c));
        padded.push(if matches!(c, '!' | '.' | '?' | ',') { ' ' } else { c });
    }
    padded.push(' ');
    padded
}

/// Whether `lower` has one of `phrases` as whole words; a phrase ending in a comma ("no,")
/// must begin the answer.
pub(super) fn has_phrase(lower: &str, phrases: &Answers) -> bool {
    has_phrase_in(lower, &padded(lower), phrases)
}

/// [`has_phrase`], with `lower` already padded.
fn has_phrase_in(lower: &str, padded: &str, phrases: &Answers) -> bool {
    let (index, phrases) = &**phrases;
    index.any_in(padded) || phrases.iter().any(|p| lower.starts_with(p) && p.ends_with(','))
}

/// A table of answers, and its phrases filed by their first word.
type Answers = LazyLock<(Phrases<()>, &'static [&'static str])>;

fn answers(phrases: &'static [&'static str]) -> (Phrases<()>, &'static [&'static str]) {
    (Phrases::new(phrases.iter().map(|p| (*p, ()))), phrases)
}

pub(super) fn is_yes(lower: &str) -> bool {
    has_phrase(lower, &YES_ANSWERS)
}

pub(super) fn is_no(lower: &str) -> bool {
    has_phrase(lower, &NO_ANSWERS)
}

pub(super) fn delegates(lower: &str) -> bool {
    has_phrase(lower, &DELEGATE_ANSWERS)
}

pub(super) fn unsure(lower: &str) -> bool {
    has_phrase(lower, &UNSURE_ANSWERS)
}

pub(super) fn all_of_it(lower: &str) -> bool {
    has_phrase(lower, &ALL_OF_IT_ANSWERS)
}

/// A change of mind: never a yes, even with "make it" in it ("actually make it a unicorn").
pub(super) fn is_correction(lower: &str) -> bool {
    let padded = padded(lower);
    if has_phrase_in(lower, &padded, &CHANGE_ANSWERS) {
        return true;
    }
    // "no a kitten", "nah make her a mermaid": a no that goes on to say what instead.
    let mut words = lower.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty());
    let no = words.next().is_some_and(|w| ["no", "nah", "nope"].contains(&w));
    let instead = words.next().is_some_and(|w| {
        [
            "a", "an", "the", "make", "it", "it's", "its", "he", "she", "he's", "she's", "call", "in", "on", "at",
            "his", "her",
        ]
        .contains(&w)
    });
    if no && instead {
        return true;
    }
    let mut rest = padded.as_str();
    while let Some(at) = crate::text::find_phrase(rest, "make it") {
        let after = &rest[at + " make it".len()..];
        let tail = after.split_whitespace().collect::<Vec<_>>().join(" ");
        if !YES_AFTER_MAKE_IT.contains(&tail.as_str()) {
            return true;
        }
        rest = after;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_it_is_a_yes_only_on_its_own() {
        for yes in ["make it", "make it!", "yes make it please", "yes you can make it", "make it now!!"] {
            assert!(!is_correction(yes), "{yes}");
        }
        for change in ["actually make it a unicorn", "make it a cat", "make it funny", "no, a fox", "can it be blue"] {
            assert!(is_correction(change), "{change}");
        }
    }

    #[test]
    fn unsure_is_not_no() {
        assert!(unsure("i don't know") && unsure("no idea") && unsure("dunno"));
        assert!(delegates("you choose!") && delegates("whatever you like") && delegates("surprise me"));
        assert!(is_yes("yesss") && is_no("nah"));
    }
}
