//! Swearing and insults, with their disguises (digits for letters, spaces, repeated letters,
//! compounds like "<swear>head"), by rustrict. Its threshold is calibrated for stories children
//! hear: any swearing, and what it rates at least moderately offensive, sexual or mean. Below
//! that it flags classic words ("naughty" mildly sexual, "Dumbo" mildly mean); the allow-table
//! takes out the rest before it reads ("the ugly duckling", "Moby Dick").

use actors::ports::Concern;
use rustrict::{Censor, Type};

/// What rustrict says of `text`, as a concern, when it is past the threshold. Read a sentence
/// at a time: rustrict looks for words spelt across spaces ("f u c k"), and over a whole scene
/// the ends and starts of unrelated words once made one ("Hate" in a story about spotty socks).
pub fn concern(text: &str) -> Option<Concern> {
    sentences(text).find_map(sentence_concern)
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
    .filter(|s| !s.trim().is_empty())
}

fn sentence_concern(text: &str) -> Option<Concern> {
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
            ("Dumbo the elephant", None),
            ("a naughty puppy", None),
            ("Puss in Boots", None),
            ("Scunthorpe", None),
            ("a f.u.c.k.ing dragon. The end.", Some(Concern::Sexual)),
        ] {
            assert_eq!(concern(text), expected, "{text}");
        }
    }
}
