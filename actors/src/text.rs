//! Whole-word phrase search in text padded with spaces (`" a red dragon "`), without building
//! a `" {phrase} "` string per phrase: the agent and the extractor try hundreds per message.

/// Where `phrase` first occurs in `padded` as whole words: the index of the space before it.
pub fn find_phrase(padded: &str, phrase: &str) -> Option<usize> {
    if phrase.is_empty() {
        return None;
    }
    let bytes = padded.as_bytes();
    let mut from = 0;
    // Matches may overlap ("a a" in " ba a a "): after one inside a word, look again one
    // character on, not after it.
    while let Some(found) = padded.get(from..)?.find(phrase) {
        let at = from + found;
        if at > 0 && bytes[at - 1] == b' ' && bytes.get(at + phrase.len()) == Some(&b' ') {
            return Some(at - 1);
        }
        from = at + padded[at..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// Whether `phrase` occurs in `padded` as whole words.
pub fn has_phrase(padded: &str, phrase: &str) -> bool {
    find_phrase(padded, phrase).is_some()
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

    proptest! {
        /// The same answer as searching for the padded phrase.
        #[test]
        fn agrees_with_the_padded_search(words in proptest::collection::vec("[a-cé ]{0,4}", 0..8), phrase in "[a-cé]{1,3}( [a-c]{1,2})?") {
            let padded = format!(" {} ", words.join(" "));
            prop_assert_eq!(find_phrase(&padded, &phrase), padded.find(&format!(" {phrase} ")));
        }
    }
}
