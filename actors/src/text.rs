//! Small text helpers the core shares: whole-word phrase search in text padded with spaces
//! (`" a red dragon "`), without building a `" {phrase} "` string or a searcher per phrase (the
//! agent and the extractor try hundreds per message), or many phrases at once by their first
//! word; names as whole words.

/// Where `phrase` first occurs in `padded` as whole words: the index of the space before it.
/// Tried at each word start (after a space) instead of with a substring searcher: building
/// one per phrase cost more than the search itself on a child's short message.
pub fn find_phrase(padded: &str, phrase: &str) -> Option<usize> {
    let (text, wanted) = (padded.as_bytes(), phrase.as_bytes());
    let first = *wanted.first()?;
    // After an ASCII space is always a character boundary, so a byte match is a text match.
    (0..text.len()).find(|&i| {
        text[i] == b' '
            && text.get(i + 1) == Some(&first)
            && text[i + 1..].starts_with(wanted)
            && text.get(i + 1 + wanted.len()) == Some(&b' ')
    })
}

/// Whether `phrase` occurs in `padded` as whole words.
pub fn has_phrase(padded: &str, phrase: &str) -> bool {
    find_phrase(padded, phrase).is_some()
}

/// Phrases looked for in padded text, filed by their first word: a message's words are each
/// looked up once, instead of the message searched once per phrase (issue 23). Each phrase
/// carries a value `T` (its setting, its row in a table).
pub struct Phrases<T> {
    by_first_word: FastMap<&'static str, Vec<(&'static str, T)>>,
}

impl<T: Copy> Phrases<T> {
    /// Empty phrases are never found, as with [`find_phrase`].
    pub fn new(phrases: impl IntoIterator<Item = (&'static str, T)>) -> Self {
        let mut by_first_word: FastMap<&'static str, Vec<(&'static str, T)>> = FastMap::default();
        for (phrase, value) in phrases.into_iter().filter(|(p, _)| !p.is_empty()) {
            let first = phrase.split(' ').next().unwrap_or(phrase);
            by_first_word.entry(first).or_default().push((phrase, value));
        }
        Phrases { by_first_word }
    }

    /// Every place in `padded` a phrase occurs as whole words, in order of position: the index
    /// of the space before it (a phrase's first is where [`find_phrase`] finds it), the phrase
    /// and its value.
    pub fn find_in<'a>(&'a self, padded: &'a str) -> impl Iterator<Item = (usize, &'static str, T)> + 'a {
        let text = padded.as_bytes();
        // After an ASCII space is always a character boundary, and so is the next space.
        let starts = (0..text.len()).filter(move |&i| text[i] == b' ' && text.get(i + 1).is_some_and(|&b| b != b' '));
        starts.flat_map(move |i| {
            let rest = &padded[i + 1..];
            let word = rest.split(' ').next().unwrap_or(rest);
            let found = self.by_first_word.get(word).map_or(&[][..], Vec::as_slice);
            found
                .iter()
                .filter(move |(phrase, _)| rest.starts_with(phrase) && text.get(i + 1 + phrase.len()) == Some(&b' '))
                .map(move |(phrase, value)| (i, *phrase, *value))
        })
    }

    /// Whether any of the phrases occurs in `padded`.
    pub fn any_in(&self, padded: &str) -> bool {
        self.find_in(padded).next().is_some()
    }
}

/// A hash map for short words: FNV-1a, far cheaper than the default SipHash on a word of a few
/// bytes. Its keys are our own tables' words, never a client's, so no flooding to guard against.
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// `name` appears in `text` as whole words, whatever the case (for a name of several words,
/// its longest word will do: "Captain Sparkle" is "Sparkle" for short).
pub fn names(text: &str, name: &str) -> bool {
    let padded = |s: &str| {
        let s: String = s.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
        format!(" {} ", s.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let text = padded(text);
    let whole = padded(name);
    if text.contains(&whole) {
        return true;
    }
    let longest = whole.split_whitespace().max_by_key(|w| w.chars().count()).unwrap_or("");
    longest.chars().count() >= 3 && text.contains(&format!(" {longest} "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_whole_words_match() {
        assert_eq!(find_phrase(" a red dragon ", "red dragon"), Some(2));
        assert_eq!(find_phrase(" a reddragon ", "dragon"), None);
        assert_eq!(find_phrase(" dragons ", "dragon"), None);
        assert_eq!(find_phrase(" cat cat ", "cat"), Some(0));
        assert_eq!(find_phrase(" scat cat ", "cat"), Some(5));
        assert_eq!(find_phrase(" ", ""), None);
        assert_eq!(find_phrase(" ba a a ", "a a"), Some(3));
    }

    #[test]
    fn phrases_are_found_where_find_phrase_finds_them() {
        let phrases = Phrases::new([("red dragon", 1), ("dragon", 2), ("cat", 3), ("", 4)]);
        let found: Vec<_> = phrases.find_in(" a red dragon  cat cat").collect();
        assert_eq!(found, [(2, "red dragon", 1), (6, "dragon", 2), (14, "cat", 3)]);
        assert!(!phrases.any_in(" reddragon dragons "));
    }

    proptest! {
        /// The same answer as searching for the padded phrase.
        #[test]
        fn agrees_with_the_padded_search(words in proptest::collection::vec("[a-cé ]{0,4}", 0..8), phrase in "[a-cé]{1,3}( [a-c]{1,2})?") {
            let padded = format!(" {} ", words.join(" "));
            prop_assert_eq!(find_phrase(&padded, &phrase), padded.find(&format!(" {phrase} ")));
            let phrases = Phrases::new([(phrase.as_str().to_owned().leak() as &str, ())]);
            prop_assert_eq!(phrases.find_in(&padded).next().map(|(at, _, _)| at), find_phrase(&padded, &phrase));
        }
    }
}
