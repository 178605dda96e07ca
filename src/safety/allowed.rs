//! The allow-table (`allowed.txt`): what classic children's stories say and the filters get
//! wrong ("Dick Whittington", "the ugly duckling", "a blue tit", "a poo monster"), taken out of
//! a text before the filters read it. Matched as written: a disguised spelling is not allowed.

use aho_corasick::{AhoCorasick, MatchKind};

const TABLE: &str = include_str!("allowed.txt");

/// What stands in for an allowed phrase: a plain word, so the words around it stay apart.
const STAND_IN: &str = "mimi";

pub struct Allowed {
    /// Taken out for every layer.
    phrases: AhoCorasick,
    /// Taken out for the profanity layer only (phrases too).
    all: AhoCorasick,
}

fn entries(section: &str) -> Vec<String> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim() == section)
        .flat_map(|(_, list)| list.split(',').map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()))
        .collect()
}

fn searcher(entries: &[String]) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(entries)
        // A few dozen short literals from a file in the binary: building cannot fail.
        .unwrap_or_else(|e| panic!("the allow-table: {e}"))
}

impl Default for Allowed {
    fn default() -> Self {
        let phrases = entries("phrases");
        let mut all = phrases.clone();
        all.extend(entries("words"));
        Self { phrases: searcher(&phrases), all: searcher(&all) }
    }
}

impl Allowed {
    /// `text` with the allowed phrases taken out (for our own lists).
    pub fn without_phrases<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        take_out(&self.phrases, text)
    }

    /// `text` with every allowed phrase and word taken out (for the profanity layer).
    pub fn without_all<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        take_out(&self.all, text)
    }
}

/// Each whole-word match of `search` in `text` replaced by a plain word.
fn take_out<'a>(search: &AhoCorasick, text: &'a str) -> std::borrow::Cow<'a, str> {
    let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '\'');
    let mut out: Option<String> = None;
    let mut kept_to = 0;
    for m in search.find_iter(text) {
        let whole = !word_char(text[..m.start()].chars().next_back()) && !word_char(text[m.end()..].chars().next());
        if !whole {
            continue;
        }
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[kept_to..m.start()]);
        out.push_str(STAND_IN);
        kept_to = m.end();
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[kept_to..]);
            out.into()
        }
        None => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_allowed_phrases_as_written_are_taken_out() {
        let allowed = Allowed::default();
        assert_eq!(allowed.without_phrases("Dick Whittington and his cat"), "mimi and his cat");
        assert_eq!(allowed.without_phrases("the UGLY DUCKLING"), "the mimi");
        assert_eq!(allowed.without_phrases("D1ck Whittington"), "D1ck Whittington", "a disguise is not allowed");
        assert_eq!(allowed.without_phrases("a blue tits-up"), "a blue tits-up", "whole words only");
        assert_eq!(allowed.without_phrases("an ugly troll"), "an ugly troll", "words only for the profanity layer");
        assert_eq!(allowed.without_all("an ugly troll"), "an mimi troll");
        assert_eq!(allowed.without_all("poopyhead"), "poopyhead", "an insult made of an allowed word stays");
    }
}
