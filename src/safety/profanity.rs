//! Swearing and insults, with their disguises (digits for letters, spelt-out letters, repeated
//! letters, compounds like "<swear>head"), by rustrict. Its threshold is calibrated for stories
//! children hear: any swearing, and what it rates at least moderately offensive, sexual or
//! mean. Below that it flags classic words ("naughty" mildly sexual, "Dumbo" mildly mean); the
//! allow-table takes out the rest before it reads ("the ugly duckling", "Moby Dick").
//!
//! It reads one word at a time (letters spelt out one by one joined, as our lists read them):
//! over a whole sentence it also finds words made of the end of one word and the start of the
//! next ("Ooh, Little Red Riding Hood" read as offensive). Phrases of several words that are
//! insults ("go to hell") are in our own lists.

use super::lists::words_of;
use actors::ports::Concern;
use rustrict::{Censor, Type};

/// What rustrict says of the words of `text`, as a concern, when one is past the threshold.
pub fn concern(text: &str) -> Option<Concern> {
    words_of(text).iter().find_map(|word| word_concern(word))
}

fn word_concern(word: &str) -> Option<Concern> {
    let found = Censor::from_str(word).analyze();
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
            assert_eq!(concern(text), expected, "{text}");
        }
    }
}
