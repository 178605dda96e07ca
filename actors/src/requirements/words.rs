//! Words one at a time: tokens, kinds (with species, several-word kinds and typos), numbers,
//! and whether a word can be a name.

use super::index::{self, KIND_TYPOS, with_lower};
#[cfg(doc)]
use super::lexicon::KINDS;
use super::lexicon::NOT_NAME_WORDS;

/// Words of `text`, and its clause marks (`,` `.` `!` `?` `;` `:`) as tokens of their own, so a
/// name or a place ends where the sentence does.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '-' || c == '\'' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if matches!(c, ',' | '.' | '!' | '?' | ';' | ':') {
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

pub fn is_mark(token: &str) -> bool {
    matches!(token, "," | "." | "!" | "?" | ";" | ":")
}

/// A kind of character named at `lower[i..]` (tokens in lower case): the kind as the story will
/// say it, and how many words it took ("golden retriever" is two). Several-word species are
/// tried first, joined only when the word starts one.
pub fn kind_at(lower: &[String], i: usize) -> Option<(String, usize)> {
    if index::starts_a_species(&lower[i]) {
        for len in [3, 2] {
            if i + len <= lower.len() {
                let phrase = lower[i..i + len].join(" ");
                if let Some(said) = species_named(&phrase) {
                    return Some((said.to_owned(), len));
                }
            }
        }
    }
    let word = lower[i].as_str();
    if let Some(said) = species_named(word) {
        return Some((said.to_owned(), 1));
    }
    kind_or_typo(word).map(|k| (k.to_owned(), 1))
}

/// A species or pet word in lower case (`puppies` → `puppy`), as the story says it.
fn species_named(lower: &str) -> Option<&'static str> {
    index::species(lower).map(|(s, _, _)| *s)
}

/// The kind a word names exactly (`dragons` → `dragon`).
pub fn kind_of(word: &str) -> Option<&'static str> {
    with_lower(word, |w| index::kind(w).or_else(|| species_named(w).and_then(base_kind)))
}

/// The kind a stored kind is drawn as: itself when it is one of [`KINDS`], the kind of a species
/// ("puppy" → "dog"), else `None` (a kind the child made up: the nearest shape is drawn).
pub fn base_kind(kind: &str) -> Option<&'static str> {
    with_lower(kind, |lower| index::kind(lower).or_else(|| index::species(lower).map(|(_, _, base)| *base)))
}

/// One letter added, removed, changed, or two neighbours swapped.
pub fn one_edit_apart(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        // Every message tries every place name: compare bytes, no copies.
        return edit_apart(a.as_bytes(), b.as_bytes());
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    edit_apart(&a, &b)
}

fn edit_apart<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// The kind a word names, forgiving one typo in longer words ("dragn", "unicron").
fn kind_or_typo(word: &str) -> Option<&'static str> {
    kind_of(word).or_else(|| KIND_TYPOS.of(word).and_then(kind_of))
}

pub fn number(word: &str) -> Option<u8> {
    with_lower(word, index::number)
}

/// A capitalised word that is not a known non-name or a kind: "Pip", "Étoile", "O'Malley".
pub fn looks_like_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.all(|c| c.is_lowercase() || c == '\'' || c == '-')
        && word.chars().count() > 1
        && !index::not_a_name(word)
        && kind_of(word).is_none()
}

/// A name as a child's transcript may spell it: "pip" and "PIP" are "Pip".
pub fn as_name(word: &str) -> Option<String> {
    if looks_like_name(word) {
        return Some(word.to_owned());
    }
    let lower = word.to_lowercase();
    let plain = word.chars().all(char::is_alphabetic) && (word == lower || word == word.to_uppercase());
    (plain && word.chars().count() > 1 && !NOT_NAME_WORDS.contains(&lower.as_str()) && kind_of(word).is_none())
        .then(|| capitalise(&lower))
}

/// First letter upper-case.
pub fn capitalise(word: &str) -> String {
    let mut c = word.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(text: &str) -> Vec<String> {
        tokens(text).iter().map(|t| t.to_lowercase()).collect()
    }

    #[test]
    fn kinds_species_and_pet_words() {
        assert_eq!(kind_at(&lower("dragons"), 0), Some(("dragon".into(), 1)));
        assert_eq!(kind_at(&lower("puppies"), 0), Some(("puppy".into(), 1)));
        assert_eq!(kind_at(&lower("golden retriever"), 0), Some(("golden retriever".into(), 2)));
        assert_eq!(kind_at(&lower("t rex"), 0), Some(("T-rex".into(), 2)));
        assert_eq!(kind_at(&lower("unicron"), 0), Some(("unicorn".into(), 1)));
        assert_eq!(base_kind("puppy"), Some("dog"));
        assert_eq!(base_kind("T-rex"), Some("dinosaur"));
        assert_eq!(base_kind("troll"), Some("troll"));
        assert_eq!(base_kind("snorkelwump"), None);
    }

    #[test]
    fn clause_marks_are_tokens() {
        assert_eq!(tokens("a cat called Tom, and a dog!"), ["a", "cat", "called", "Tom", ",", "and", "a", "dog", "!"]);
    }
}
