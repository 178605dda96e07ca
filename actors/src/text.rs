//! Small text helpers the core shares: whole-word phrase search in text padded with spaces
//! (`" a red dragon "`), without building a `" {phrase} "` string or a searcher per phrase (the
//! agent and the extractor try hundreds per message); names as whole words.

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

    proptest! {
        /// The same answer as searching for the padded phrase.
        #[test]
        fn agrees_with_the_padded_search(words in proptest::collection::vec("[a-cé ]{0,4}", 0..8), phrase in "[a-cé]{1,3}( [a-c]{1,2})?") {
            let padded = format!(" {} ", words.join(" "));
            prop_assert_eq!(find_phrase(&padded, &phrase), padded.find(&format!(" {phrase} ")));
        }
    }
}
