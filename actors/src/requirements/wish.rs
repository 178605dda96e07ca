//! What the hero wants or fears, as a verb phrase in the past tense: "who wants to fly" →
//! "wanted to fly", "who is afraid of the dark" → "was afraid of the dark", "Hansel and Gretel
//! find a house made of sweets" → "wanted to find a house made of sweets".

use crate::text::Phrases;
use std::sync::LazyLock;

/// Verbs after "who"/"that", and how the story says them.
const WHO: &[(&str, &str)] = &[
    ("wants", "wanted"),
    ("is", "was"),
    ("loves", "loved"),
    ("likes", "liked"),
    ("can't", "could not"),
    ("cannot", "could not"),
    ("can", "could"),
    ("has", "had"),
    ("dreams", "dreamed"),
    ("hates", "hated"),
    ("wishes", "wished"),
];

/// A quest said as what the characters do ("find a house made of sweets"), and the verb it
/// becomes after "wanted to".
const QUESTS: &[(&str, &str)] = &[
    ("finds", "find"),
    ("find", "find"),
    ("looks for", "look for"),
    ("look for", "look for"),
    ("looking for", "look for"),
    ("searches for", "search for"),
    ("search for", "search for"),
    ("goes to", "go to"),
    ("go to", "go to"),
    ("visits", "visit"),
    ("visit", "visit"),
    ("saves", "save"),
    ("save", "save"),
    ("rescues", "rescue"),
    ("rescue", "rescue"),
    ("builds", "build"),
    ("build", "build"),
    ("explores", "explore"),
    ("explore", "explore"),
    ("learns to", "learn to"),
    ("learn to", "learn to"),
    ("wants to", "wants to"),
    ("want to", "want to"),
    ("tries to", "try to"),
];

static QUEST_PHRASES: LazyLock<Phrases<(usize, &'static str)>> =
    LazyLock::new(|| Phrases::new(QUESTS.iter().enumerate().map(|(row, (said, verb))| (*said, (row, *verb)))));

/// The clause after `start` in `lower`, up to punctuation, "and"/"but"/"so"/"because", or a
/// place after the first three words ("… in the snowy mountains").
fn clause(lower: &str, start: usize) -> Vec<&str> {
    let text = lower[start..].split(['.', ',', '!', '?', ';']).next().unwrap_or_default();
    let mut words: Vec<&str> = Vec::new();
    for word in text.split_whitespace() {
        let stop = ["and", "but", "so", "because", "then"].contains(&word)
            || (words.len() >= 3 && ["in", "on", "at", "near", "inside", "under", "with"].contains(&word));
        if stop {
            break;
        }
        words.push(word);
    }
    words
}

pub(super) fn wish(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let who = [" who ", " that "].iter().filter_map(|w| lower.find(w).map(|i| i + w.len())).min();
    if let Some(start) = who {
        let words = clause(&lower, start);
        if (2..=10).contains(&words.len())
            && let Some((_, past)) = WHO.iter().find(|(verb, _)| *verb == words[0])
        {
            return Some(format!("{past} {}", words[1..].join(" ")));
        }
    }
    let padded = format!(" {lower} ");
    // The quest that ends first; of two ending at the same place, the one listed first.
    let (at, _, verb) = QUEST_PHRASES
        .find_in(&padded)
        .map(|(at, said, (row, verb))| (at + said.len() + 1, row, verb))
        .min_by_key(|(at, row, _)| (*at, *row))?;
    let words = clause(&padded, at);
    let verb = match verb {
        "wants to" | "want to" => "",
        verb => verb,
    };
    (1..=8).contains(&words.len()).then(|| format!("wanted to {verb} {}", words.join(" ")).replace("  ", " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wishes_end_at_the_clause() {
        assert_eq!(
            wish("a unicorn who wants to see the northern lights in the snowy mountains").as_deref(),
            Some("wanted to see the northern lights")
        );
        assert_eq!(wish("a cat who can't sleep, and a dog").as_deref(), Some("could not sleep"));
        assert_eq!(wish("a fox who lives in a den"), None);
        assert_eq!(wish("a robot"), None);
        assert_eq!(
            wish("Hansel and Gretel find a house made of sweets").as_deref(),
            Some("wanted to find a house made of sweets")
        );
        assert_eq!(wish("a dog that wants to go to the moon").as_deref(), Some("wanted to go to the moon"));
    }
}
