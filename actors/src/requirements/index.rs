//! The lexicon indexed once (issue 23): every message looks up each of its words as a kind, a
//! species, a number and a name, and tries its longer words as typos of kinds and places.
//! Scanning the tables (and lower-casing a copy of each word) for every lookup was a quarter of
//! the server's CPU per message; these maps answer exactly as the scans did.

use super::lexicon::{KINDS, NOT_NAMES, NOT_TYPOS, NUMBERS, SETTINGS, SPECIES};
use super::words::one_edit_apart;
use crate::model::Setting;
use crate::text::{FastMap as HashMap, FastSet as HashSet};
use std::sync::LazyLock;

/// `f` of `word` in lower case, without a copy when it already is (most words a child types
/// are) or when it is a short ASCII word.
pub fn with_lower<R>(word: &str, f: impl FnOnce(&str) -> R) -> R {
    if word.is_ascii() {
        if !word.bytes().any(|b| b.is_ascii_uppercase()) {
            return f(word);
        }
        let mut buf = [0u8; 32];
        if let Some(short) = buf.get_mut(..word.len()) {
            short.copy_from_slice(word.as_bytes());
            short.make_ascii_lowercase();
            // ASCII in, ASCII out: always UTF-8, and ASCII's lower case is Unicode's.
            if let Ok(lower) = std::str::from_utf8(short) {
                return f(lower);
            }
        }
    }
    f(&word.to_lowercase())
}

/// A table's words as a set.
fn set(words: &'static [&'static str]) -> HashSet<&'static str> {
    words.iter().copied().collect()
}

/// Each word of [`KINDS`] (the kind and its other forms) → the kind; the first row wins.
static KIND: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let mut kinds = HashMap::default();
    for (kind, alts) in KINDS {
        for word in std::iter::once(kind).chain(*alts) {
            kinds.entry(*word).or_insert(*kind);
        }
    }
    kinds
});

/// Each word of [`SPECIES`] in lower case (the species as said, and its other forms) → its row;
/// the first row wins.
static SPECIES_ROW: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut rows = HashMap::default();
    for (row, (said, alts, _)) in SPECIES.iter().enumerate() {
        rows.entry(said.to_ascii_lowercase()).or_insert(row);
        for alt in *alts {
            rows.entry((*alt).to_owned()).or_insert(row);
        }
    }
    rows
});

/// The first words of the species of several words ("golden" of "golden retriever"): only
/// these start a phrase worth joining and looking up.
static SPECIES_FIRST_WORDS: LazyLock<HashSet<String>> =
    LazyLock::new(|| SPECIES_ROW.keys().filter_map(|k| k.split_once(' ')).map(|(first, _)| first.to_owned()).collect());

static NOT_TYPO: LazyLock<HashSet<&'static str>> = LazyLock::new(|| set(NOT_TYPOS));
static NOT_NAME: LazyLock<HashSet<&'static str>> = LazyLock::new(|| set(NOT_NAMES));

/// The kind a lower-case word names in [`KINDS`].
pub fn kind(lower: &str) -> Option<&'static str> {
    KIND.get(lower).copied()
}

/// The row of [`SPECIES`] a lower-case word or phrase names: as said (ignoring ASCII case) or
/// as one of its other forms.
pub fn species(lower: &str) -> Option<&'static (&'static str, &'static [&'static str], &'static str)> {
    SPECIES_ROW.get(lower).map(|row| &SPECIES[*row])
}

/// Whether a lower-case word starts a species of several words.
pub fn starts_a_species(lower: &str) -> bool {
    SPECIES_FIRST_WORDS.contains(lower)
}

pub fn not_a_typo(lower: &str) -> bool {
    NOT_TYPO.contains(lower)
}

pub fn not_a_name(word: &str) -> bool {
    NOT_NAME.contains(word)
}

/// The number a lower-case word says ("7", "seven").
pub fn number(lower: &str) -> Option<u8> {
    lower.parse().ok().or_else(|| NUMBERS.iter().find(|(n, _)| *n == lower).map(|(_, v)| *v))
}

/// Words a misspelling may be read as: the ones of five letters or more, with their length in
/// characters and their ends when ASCII, so a word is compared only with those it can be one
/// edit from.
pub struct Typos(Vec<(&'static str, usize, Option<Ends>)>);

/// An ASCII word's first two and last two letters.
type Ends = [u8; 4];

fn ends(word: &str) -> Option<Ends> {
    let bytes = word.as_bytes();
    let (head, tail) = (bytes.first_chunk::<2>()?, bytes.last_chunk::<2>()?);
    word.is_ascii().then_some([head[0], head[1], tail[1], tail[0]])
}

/// Two ASCII words one edit apart share one of their first two letters, in place or swapped
/// (the edit is after the first letter, or it changes, drops, adds or swaps it); and, read
/// backwards, one of their last two.
fn may_be_one_edit_apart(a: Ends, b: Ends) -> bool {
    let near = |x: [u8; 2], y: [u8; 2]| x[0] == y[0] || x[1] == y[1] || x[0] == y[1] || x[1] == y[0];
    near([a[0], a[1]], [b[0], b[1]]) && near([a[2], a[3]], [b[2], b[3]])
}

impl Typos {
    fn new(words: impl Iterator<Item = &'static str>) -> Self {
        Typos(words.map(|w| (w, w.chars().count(), ends(w))).filter(|(_, len, _)| *len >= 5).collect())
    }

    /// A misspelt word of five letters or more, read as the first candidate it is one edit from.
    pub fn of(&self, word: &str) -> Option<&'static str> {
        with_lower(word, |w| {
            let len = w.chars().count();
            if len < 5 || not_a_typo(w) || !w.chars().all(char::is_alphabetic) {
                return None;
            }
            let mine = ends(w);
            // Words further apart in length than one letter are never one edit apart.
            let near = |(_, l, e): &&(&str, usize, Option<Ends>)| {
                l.abs_diff(len) <= 1 && mine.zip(*e).is_none_or(|(a, b)| may_be_one_edit_apart(a, b))
            };
            self.0.iter().filter(near).map(|(c, _, _)| *c).find(|c| one_edit_apart(w, c))
        })
    }
}

/// What a misspelt kind may be meant as: every word of [`KINDS`].
pub static KIND_TYPOS: LazyLock<Typos> =
    LazyLock::new(|| Typos::new(KINDS.iter().flat_map(|(k, alts)| std::iter::once(*k).chain(alts.iter().copied()))));

/// What a misspelt place may be meant as: every word of [`SETTINGS`].
pub static PLACE_TYPOS: LazyLock<Typos> =
    LazyLock::new(|| Typos::new(SETTINGS.iter().flat_map(|(_, words)| words.iter().copied())));

/// Each word of [`SETTINGS`] → its setting; the first row wins.
static SETTING: LazyLock<HashMap<&'static str, Setting>> = LazyLock::new(|| {
    let mut settings = HashMap::default();
    for (setting, words) in SETTINGS {
        for word in *words {
            settings.entry(*word).or_insert(*setting);
        }
    }
    settings
});

/// The setting a word of [`SETTINGS`] names.
pub fn setting(word: &str) -> Option<Setting> {
    SETTING.get(word).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`Typos::of`] must answer: the first candidate of five letters or more one edit
    /// from the word, every candidate compared.
    fn every_candidate(word: &str, candidates: &[&'static str]) -> Option<&'static str> {
        let w = word.to_lowercase();
        if w.chars().count() < 5 || NOT_TYPOS.contains(&w.as_str()) || !w.chars().all(char::is_alphabetic) {
            return None;
        }
        candidates.iter().copied().filter(|c| c.chars().count() >= 5).find(|c| one_edit_apart(&w, c))
    }

    /// Each edit of `word` at its first two and last two letters (where the filter looks).
    fn edits_at_the_ends(word: &str) -> Vec<String> {
        let chars: Vec<char> = word.chars().collect();
        let n = chars.len();
        let mut out = Vec::new();
        for i in [0, 1, n.saturating_sub(2), n.saturating_sub(1)] {
            let with = |f: &dyn Fn(&mut Vec<char>)| {
                let mut c = chars.clone();
                f(&mut c);
                c.into_iter().collect::<String>()
            };
            out.push(with(&|c| {
                c.remove(i);
            }));
            out.push(with(&|c| c.insert(i, 'q')));
            out.push(with(&|c| c[i] = 'q'));
            out.push(with(&|c| c.swap(i, (i + 1).min(n - 1))));
        }
        out
    }

    #[test]
    fn typos_at_either_end_are_found_as_by_comparing_every_candidate() {
        let kinds: Vec<&str> =
            KINDS.iter().flat_map(|(k, alts)| std::iter::once(*k).chain(alts.iter().copied())).collect();
        let places: Vec<&str> = SETTINGS.iter().flat_map(|(_, words)| words.iter().copied()).collect();
        for (typos, candidates) in [(&*KIND_TYPOS, &kinds), (&*PLACE_TYPOS, &places)] {
            for word in candidates.iter().flat_map(|w| edits_at_the_ends(w)) {
                assert_eq!(typos.of(&word), every_candidate(&word, candidates), "{word}");
            }
        }
        assert_eq!(KIND_TYPOS.of("rdagon"), Some("dragon"));
        assert_eq!(KIND_TYPOS.of("Unicorm"), Some("unicorn"));
        assert_eq!(PLACE_TYPOS.of("orest"), Some("forest"));
    }
}
