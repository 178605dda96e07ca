//! The builtin `Safety`: curated word and phrase lists (`safety/words.txt`) matched as whole
//! words after undoing common obfuscations, and patterns that take personal data out of text
//! before it is stored. Offline and deterministic; what it decides is documented in the README.

mod moderation;
mod personal;

pub use moderation::Moderated;

use actors::ports::{Concern, Safety};
use aho_corasick::AhoCorasick;
use async_trait::async_trait;
use std::collections::HashMap;

const LISTS: &str = include_str!("safety/words.txt");

/// The builtin word-list filter.
pub struct WordLists {
    /// Single words, by their normal form.
    words: HashMap<String, Concern>,
    /// Phrases of several words (joined by one space), in list order.
    phrases: Vec<(String, Concern)>,
    /// All phrases, padded with spaces, searched in one pass (pattern index = list order).
    phrase_search: AhoCorasick,
    personal: personal::Patterns,
}

fn concern_named(name: &str) -> Option<Concern> {
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
        let (mut words, mut phrases) = (HashMap::new(), Vec::new());
        for line in LISTS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((name, entries)) = line.split_once(':') else { continue };
            // The list ships in the binary and a test reads every line: an unknown name is a typo there.
            let Some(concern) = concern_named(name.trim()) else { continue };
            for entry in entries.split(',').map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()) {
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
        Self { words, phrases, phrase_search, personal: personal::Patterns::default() }
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
/// `*` is kept: it stands for a hidden letter.
fn words_of(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '"' | '(' | ')' | '/')) {
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
        words.iter().find_map(|w| self.word_concern(w))
    }
}

#[async_trait]
impl Safety for WordLists {
    async fn check(&self, text: &str) -> Option<Concern> {
        self.concern(text)
    }

    fn redact(&self, text: &str) -> String {
        self.personal.redact(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::ports::Concern::*;

    #[test]
    fn every_list_line_names_a_known_concern() {
        for line in LISTS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let name = line.split_once(':').expect("`concern: entries`").0.trim();
            assert!(concern_named(name).is_some(), "unknown concern `{name}`");
        }
    }

    #[test]
    fn unsafe_texts_are_caught_with_their_concern() {
        let lists = WordLists::default();
        let cases: &[(&str, Concern)] = &[
            ("a dragon called Stupid Idiot who wants to kill everyone with a knife and drink beer", Violence),
            ("the dragon is STUPID", Insult),
            ("a robot who drinks b33r", DrugsAlcohol),
            ("he k1lls the fox", Violence),
            ("a k.i.l.l.e.r robot", Violence),
            ("she wants to k i l l them", Violence),
            ("a kiiiiilling machine", Violence),
            ("what the f**k", Profanity),
            ("a sh1tty day", Profanity),
            ("the pirate had a gun", Weapons),
            ("a story about naked people", Sexual),
            ("I want to kill myself", SelfHarm),
            ("i wanna die", SelfHarm),
            ("blood everywhere", Gore),
            ("shut up dragon", Insult),
            ("smoke weed with the unicorn", DrugsAlcohol),
            ("the knight had a $tupid horse", Insult),
        ];
        for (text, concern) in cases {
            assert_eq!(lists.concern(text), Some(*concern), "{text}");
        }
    }

    #[test]
    fn childrens_story_words_stay_allowed() {
        let lists = WordLists::default();
        for text in [
            "a brave knight's sword shone in the sun",
            "the wind died down and the sea was calm",
            "they made a wish on a shooting star",
            "the ugly duckling became a swan",
            "the class went skillfully to the grassland",
            "Scunthorpe is a town",
            "a pirate with a wooden leg and a big cannon",
            "the friendly ghost was a little scary in the dark",
            "the fox was silly and a bit naughty",
            "they had a pillow fight and blew up balloons",
            "Pip the dragon, 3 parts please",
            "the hunter's dog sniffed the trail",
            "a skilled killdeer bird",
            "I am 7",
            "",
            "😀 ✨ ﬁ İstanbul ß",
        ] {
            assert_eq!(lists.concern(text), None, "{text}");
        }
    }

    /// The false-positive side at scale: everything the offline storyteller writes, for many
    /// heroes, settings and every style, passes.
    #[tokio::test]
    async fn the_offline_storyteller_writes_nothing_the_filter_holds_back() {
        use actors::model::{Scene, SceneId, SpecLimits, SpecRequest, StoryId, StorySpec, Style};
        use actors::ports::{Llm, SceneRequest};
        let lists = WordLists::default();
        let teller = crate::providers::builtin::Storyteller::new(std::time::Duration::ZERO);
        let prompts = [
            "a brave dragon called Pip who is afraid of the dark",
            "a curious robot called Bolt on the moon",
            "a sleepy bear in the snowy forest",
            "a pirate girl and her parrot at sea",
            "a little ghost who wants a friend in the castle",
            "a detective cat in the city",
            "a dinosaur who wanted to fly over the jungle",
        ];
        for (i, prompt) in prompts.iter().enumerate() {
            for style in Style::ALL {
                let request = SpecRequest {
                    style: Some(*style),
                    num_scenes: Some(6),
                    age: Some(4 + (i as i64 % 6)),
                    ..actors::requirements::request_from(prompt)
                };
                let spec = StorySpec::new(request, &SpecLimits::default()).unwrap();
                let id = StoryId::new();
                let plan = teller.plan_story(id, &spec).await.unwrap();
                assert_eq!(lists.concern(&plan.title), None, "{}", plan.title);
                let mut previous: Vec<Scene> = Vec::new();
                for index in 0..plan.scenes.len() {
                    let request = SceneRequest { story_id: id, spec: &spec, plan: &plan, index, previous: &previous };
                    let scene = teller.write_scene(request).await.unwrap();
                    let text = format!("{}\n{}", scene.title, scene.text);
                    assert_eq!(lists.concern(&text), None, "{style} / {prompt}: {text}");
                    previous.push(Scene {
                        scene_id: SceneId::new(),
                        sequence: index as u32 + 1,
                        title: scene.title,
                        text: scene.text,
                        image_key: None,
                        audio_key: None,
                        written_by: None,
                    });
                }
            }
        }
    }

    proptest::proptest! {
        /// The filter and the redaction take any text, of any script and length.
        #[test]
        fn any_text_is_checked_and_redacted(text in ".{0,400}", odd in "[İẞﬁǅΣ*!1@$ .]{0,30}") {
            let lists = WordLists::default();
            let _ = lists.concern(&text);
            let _ = lists.concern(&format!("{odd}{text}{odd}"));
            let _ = lists.personal.redact(&text);
        }
    }
}
