//! Swearing and insults, with their disguises (digits for letters, spelt-out letters, repeated
//! letters, compounds like "<swear>head"), by rustrict. Its threshold is calibrated for stories
//! children hear: any swearing, and what it rates at least moderately offensive, sexual or
//! mean. Below that it flags classic words ("naughty" mildly sexual, "Dumbo" mildly mean); the
//! allow-table takes out the rest before it reads ("the ugly duckling", "Moby Dick").
//!
//! It reads a sentence at a time, and what it finds there is confirmed one word at a time
//! (letters spelt out one by one joined, as our lists read them): over a sentence it also
//! finds words made of the end of one word and the start of the next ("Ooh, Little Red Riding
//! Hood" read as offensive), and reading every word alone costs ten times more for the clean
//! texts that are almost all of them. Insults of several words ("go to hell") are in our lists.
//!
//! So a text is held back when a sentence and one of its words are both judged; the words'
//! verdicts are remembered (a child's vocabulary is small, the agent's smaller), so a clean
//! text costs a lookup per word and rustrict reads a sentence only when one of its words is
//! already known to be bad.

use super::lists::words_of;
use actors::ports::Concern;
use rustrict::{Censor, Type};
use std::collections::HashMap;
use std::sync::Mutex;

/// Words remembered at most; past it the memory starts again (a rare, cheap reset).
const REMEMBERED_WORDS: usize = 20_000;
/// Longer "words" (a run of letters with no space) are judged every time, not remembered.
const LONGEST_REMEMBERED: usize = 32;

/// The profanity layer, with the verdicts on words it has judged.
#[derive(Default)]
pub struct Profanity {
    verdicts: Mutex<HashMap<Box<str>, Option<Concern>>>,
}

impl Profanity {
    /// What rustrict says of the words of `text`, as a concern, when one is past the threshold:
    /// the first word so judged of the first sentence that is judged too.
    pub fn concern(&self, text: &str) -> Option<Concern> {
        sentences(text).find_map(|s| {
            let word = words_of(s).iter().find_map(|w| self.word(w))?;
            judge(s).is_some().then_some(word)
        })
    }

    fn word(&self, word: &str) -> Option<Concern> {
        if word.len() > LONGEST_REMEMBERED {
            return judge(word);
        }
        if let Some(verdict) = actors::sync::lock(&self.verdicts).get(word) {
            return *verdict;
        }
        // Judged outside the lock: the other worker thread checks its own texts meanwhile.
        let verdict = judge(word);
        let mut verdicts = actors::sync::lock(&self.verdicts);
        if verdicts.len() >= REMEMBERED_WORDS {
            verdicts.clear();
        }
        verdicts.insert(word.into(), verdict);
        verdict
    }
}

/// Sentences end at a mark followed by a space or a line break ("s.h.i.t" stays whole).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let bytes = rest.as_bytes();
        let end = (0..bytes.len())
            .find(|&i| {
                bytes[i] == b'\n'
                    || matches!(bytes[i], b'.' | b'!' | b'?') && bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace)
            })
            .map_or(rest.len(), |i| i + 1);
        let (sentence, after) = rest.split_at(end);
        rest = after;
        Some(sentence)
    })
}

fn judge(text: &str) -> Option<Concern> {
    let found = Censor::from_str(text).analyze();
    let at_least_moderate = |kind: Type| found.is(kind & Type::MODERATE_OR_HIGHER);
    if at_least_moderate(Type::SEXUAL) {
        Some(Concern::Sexual)
    } else if at_least_moderate(Type::MEAN) {
        // "Shithead", "Dumbass": a swear word made into a name is name-calling first.
        Some(Concern::Insult)
    } else if at_least_moderate(Type::OFFENSIVE) && !found.is(Type::PROFANE) {
        Some(Concern::Hate)
    } else if found.is(Type::PROFANE & Type::MILD_OR_HIGHER) || at_least_moderate(Type::OFFENSIVE) {
        Some(Concern::Profanity)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_for_childrens_stories() {
        for (text, expected) in [
            ("a fox called Shithead", Some(Concern::Insult)),
            ("Butthead", Some(Concern::Profanity)),
            ("fuk", Some(Concern::Sexual)),
            ("a f.u.c.k.ing dragon. The end.", Some(Concern::Sexual)),
            ("Dumbo the elephant", None),
            ("a naughty puppy", None),
            ("Puss in Boots", None),
            ("Scunthorpe", None),
            // Found once across words, read a sentence at a time.
            ("Ooh, Little Red Riding Hood, a friend: a wolf!", None),
            ("Ooh, a prince!", None),
        ] {
            assert_eq!(Profanity::default().concern(text), expected, "{text}");
        }
    }

    /// Remembered verdicts are the verdicts: the same texts, judged again from memory, and past
    /// the memory's bound.
    #[test]
    fn remembered_verdicts_are_the_same_verdicts() {
        let filter = Profanity::default();
        let texts = ["a fox called Shithead", "Dumbo the elephant", "a f.u.c.k.ing dragon. The end.", "Puss in Boots"];
        let first: Vec<_> = texts.iter().map(|t| filter.concern(t)).collect();
        let again: Vec<_> = texts.iter().map(|t| filter.concern(t)).collect();
        assert_eq!(first, again);
        for n in 0..REMEMBERED_WORDS + 10 {
            filter.word(&format!("w{n}"));
        }
        assert!(actors::sync::lock(&filter.verdicts).len() <= REMEMBERED_WORDS);
        assert_eq!(texts.iter().map(|t| filter.concern(t)).collect::<Vec<_>>(), first);
    }
}
