//! Our own lists (`words.txt`): what the profanity layer does not know — harm to someone,
//! self-harm, weapons used on someone, drink, drugs, smoking, sexual content, hate — matched as
//! whole words and phrases after undoing common disguises, and harm as a small grammar: a
//! verb, then someone ("hit his sister", "drown the baby"), so "kick the ball" stays allowed.

use actors::ports::Concern;
use aho_corasick::AhoCorasick;
use std::collections::{HashMap, HashSet};

pub(super) const LISTS: &str = include_str!("words.txt");

/// The word-list filter.
pub struct WordLists {
    /// Single words, by their normal form.
    words: HashMap<String, Concern>,
    /// Phrases of several words (joined by one space), in list order.
    phrases: Vec<(String, Concern)>,
    /// All phrases, padded with spaces, searched in one pass (pattern index = list order).
    phrase_search: AhoCorasick,
    harm: Harm,
}

/// Harm to someone: a verb (one or two words), up to two small words, then a person.
#[derive(Default)]
struct Harm {
    verbs: HashSet<String>,
    between: HashSet<String>,
    targets: HashSet<String>,
}

/// Words after "her" that show it was "her" something ("burnt her tongue"), not "her".
const AFTER_HER_ALONE: &[&str] = &[
    "in", "on", "at", "with", "and", "to", "so", "because", "really", "hard", "again", "badly", "up", "down", "off",
    "until", "till", "too", "very", "all", "now", "then", "but", "or", "while", "when", "if",
];

impl Harm {
    /// The words harm is done with, starting at `i`: how many (one, or two for "beat up").
    fn verb_at(&self, words: &[String], i: usize) -> Option<usize> {
        let two = words.get(i + 1).map(|next| format!("{} {next}", words[i]));
        if two.is_some_and(|w| self.verbs.contains(&w)) {
            return Some(2);
        }
        self.verbs.contains(&words[i]).then_some(1)
    }

    fn found(&self, words: &[String]) -> bool {
        (0..words.len()).any(|i| {
            let Some(len) = self.verb_at(words, i) else { return false };
            for j in i + len..i + len + 3 {
                let Some(word) = words.get(j) else { return false };
                let next = words.get(j + 1).map(String::as_str);
                if self.targets.contains(word) {
                    // "hurt her feelings" is unkind, not harm; "burnt her tongue" is "her" tongue.
                    let possessive = word == "her" && next.is_some_and(|n| !AFTER_HER_ALONE.contains(&n));
                    if next == Some("feelings") {
                        return false;
                    }
                    if !possessive {
                        return true;
                    }
                } else if !self.between.contains(word) {
                    return false;
                }
            }
            false
        })
    }
}

pub(super) fn concern_named(name: &str) -> Option<Concern> {
    Some(match name {
        "violence" => Concern::Violence,
        "weapons" => Concern::Weapons,
        "sexual" => Concern::Sexual,
        "drugs_alcohol" => Concern::DrugsAlcohol,
        "self_harm" => Concern::SelfHarm,
        "hate" => Concern::Hate,
        "insult" => Concern::Insult,
        "profanity" => Concern::Profanity,
        "gore" => Concern::Gore,
        _ => return None,
    })
}

impl Default for WordLists {
    fn default() -> Self {
        let (mut words, mut phrases, mut harm) = (HashMap::new(), Vec::new(), Harm::default());
        for line in LISTS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((name, entries)) = line.split_once(':') else { continue };
            let entries = entries.split(',').map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
            let grammar = match name.trim() {
                "harm_verbs" => Some(&mut harm.verbs),
                "harm_between" => Some(&mut harm.between),
                "harm_targets" => Some(&mut harm.targets),
                _ => None,
            };
            if let Some(set) = grammar {
                set.extend(entries);
                continue;
            }
            // The list ships in the binary and a test reads every line: an unknown name is a typo there.
            let Some(concern) = concern_named(name.trim()) else { continue };
            for entry in entries {
                if entry.contains(' ') {
                    phrases.push((entry, concern));
                } else {
                    words.insert(entry, concern);
                }
            }
        }
        // Self-harm first: it gets the answer that points to a trusted grown-up.
        phrases.sort_by_key(|(_, c)| *c != Concern::SelfHarm);
        let padded = phrases.iter().map(|(p, _)| format!(" {p} "));
        // A few dozen short literals: building the automaton cannot fail.
        let phrase_search = AhoCorasick::new(padded).unwrap_or_else(|e| panic!("the phrase list: {e}"));
        Self { words, phrases, phrase_search, harm }
    }
}

/// Undo l33t spelling inside a word: `k1ll` → `kill`, `$tupid` → `stupid`.
fn unleet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        other => other,
    }
}

/// Runs of more than `keep` of one letter become one (`kiiiill` → `kill` with `keep` 2).
fn squeeze(word: &str, keep: usize) -> String {
    let mut out = String::with_capacity(word.len());
    squeeze_into(&mut out, word, keep);
    out
}

fn squeeze_into(out: &mut String, word: &str, keep: usize) {
    for (c, run) in runs(word) {
        out.extend(std::iter::repeat_n(c, if run > keep { 1 } else { run }));
    }
}

/// Whether `word` has a run of more than `keep` of one letter (so squeezing changes it).
fn has_run(word: &str, keep: usize) -> bool {
    runs(word).any(|(_, run)| run > keep)
}

/// The runs of one letter in `word`: each letter with how many times it repeats there.
fn runs(word: &str) -> impl Iterator<Item = (char, usize)> + '_ {
    let mut chars = word.chars().peekable();
    std::iter::from_fn(move || {
        let c = chars.next()?;
        let mut run = 1;
        while chars.next_if_eq(&c).is_some() {
            run += 1;
        }
        Some((c, run))
    })
}

/// The words of `text` in normal form: lower case, de-l33ted, with in-word punctuation removed
/// (`k.i.l.l` → `kill`), and letters spelled out one by one joined (`k i l l` → `kill`).
/// `*` is kept: it stands for a hidden letter. Marks that end a sentence are not letters
/// ("a prince!" is not "a princei"; "sh!t" is "shit").
pub(super) fn words_of(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '"' | '(' | ')' | '/')) {
        let token = token.trim_end_matches(['!', '?', '.']);
        let has_letter = token.chars().any(char::is_alphabetic);
        let mut word = String::with_capacity(token.len());
        for c in token.chars().flat_map(char::to_lowercase) {
            let c = if has_letter { unleet(c) } else { c };
            if c.is_alphanumeric() || c == '*' || c == '\'' {
                word.push(c);
            }
        }
        let trimmed = word.trim_matches('\'');
        if trimmed.len() != word.len() {
            word = trimmed.to_owned();
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    // Letters spelled out one by one: join each run of single letters into a word of its own.
    let mut joined = Vec::with_capacity(words.len());
    let mut run = String::new();
    for word in words {
        let mut chars = word.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && c.is_alphabetic()
        {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            joined.push(std::mem::take(&mut run));
        }
        joined.push(word);
    }
    if !run.is_empty() {
        joined.push(run);
    }
    joined
}

/// `f**k` matches `fuck`: same length, every visible letter in place.
fn masked_match(masked: &str, word: &str) -> bool {
    masked.chars().count() == word.chars().count()
        && masked.chars().zip(word.chars()).all(|(m, w)| m == '*' || m == w)
        && masked.chars().any(|c| c != '*')
}

impl WordLists {
    fn word_concern(&self, word: &str) -> Option<Concern> {
        let plain: std::borrow::Cow<'_, str> =
            if word.contains('\'') { word.replace('\'', "").into() } else { word.into() };
        if let Some(concern) = self.words.get(plain.as_ref()) {
            return Some(*concern);
        }
        for keep in [2, 1] {
            if has_run(&plain, keep)
                && let Some(concern) = self.words.get(&squeeze(&plain, keep))
            {
                return Some(*concern);
            }
        }
        if plain.contains('*') {
            return self.words.iter().find(|(w, _)| masked_match(&plain, w)).map(|(_, c)| *c);
        }
        None
    }

    /// The first concern in `text`, phrases before single words.
    pub fn concern(&self, text: &str) -> Option<Concern> {
        let words = words_of(text);
        let mut line = String::with_capacity(text.len() + 2);
        line.push(' ');
        for word in &words {
            if word.contains('\'') {
                squeeze_into(&mut line, &word.replace('\'', ""), 2);
            } else {
                squeeze_into(&mut line, word, 2);
            }
            line.push(' ');
        }
        // The phrase that comes first in the list wins, wherever it is in the text.
        let first_phrase =
            self.phrase_search.find_overlapping_iter(line.as_str()).map(|m| m.pattern().as_usize()).min();
        if let Some(i) = first_phrase {
            return self.phrases.get(i).map(|(_, concern)| *concern);
        }
        if self.harm.found(&words) {
            return Some(Concern::Violence);
        }
        words.iter().find_map(|w| self.word_concern(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_line_names_a_known_concern() {
        for line in LISTS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let name = line.split_once(':').expect("`concern: entries`").0.trim();
            let grammar = ["harm_verbs", "harm_between", "harm_targets"].contains(&name);
            assert!(grammar || concern_named(name).is_some(), "unknown concern `{name}`");
        }
    }

    #[test]
    fn harm_is_a_verb_then_someone() {
        let lists = WordLists::default();
        for harm in
            ["hit his sister", "punches his little brother", "drown the baby", "beat up his friend", "shoot them"]
        {
            assert_eq!(lists.concern(harm), Some(Concern::Violence), "{harm}");
        }
        for fine in
            ["kick the ball to his sister", "hit the ball", "she hurt her feelings", "burnt her tongue", "a big hit"]
        {
            assert_eq!(lists.concern(fine), None, "{fine}");
        }
    }
}
