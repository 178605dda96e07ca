//! The builtin `Safety`: curated word and phrase lists (`safety/words.txt`) matched as whole
//! words after undoing common obfuscations, and patterns that take personal data out of text
//! before it is stored. Offline and deterministic; what it decides is documented in the README.

mod moderation;
mod personal;

pub use moderation::Moderated;

use actors::ports::{Concern, Safety};
use async_trait::async_trait;
use std::collections::HashMap;

const LISTS: &str = include_str!("safety/words.txt");

/// The builtin word-list filter.
pub struct WordLists {
    /// Single words, by their normal form.
    words: HashMap<String, Concern>,
    /// Phrases of several words (joined by one space), in list order.
    phrases: Vec<(String, Concern)>,
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
        Self { words, phrases, personal: personal::Patterns::default() }
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

/// Runs of three or more of one letter become one (`kiiiill` → `kill`).
fn squeeze(word: &str, keep: usize) -> String {
    let mut out = String::with_capacity(word.len());
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = j - i;
        let take = if run > keep { 1 } else { run };
        out.extend(std::iter::repeat_n(chars[i], take));
        i = j;
    }
    out
}

/// The words of `text` in normal form: lower case, de-l33ted, with in-word punctuation removed
/// (`k.i.l.l` → `kill`), and letters spelled out one by one joined (`k i l l` → `kill`).
/// `*` is kept: it stands for a hidden letter.
fn words_of(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '"' | '(' | ')' | '/')) {
        let lowered: String = token.chars().flat_map(char::to_lowercase).collect();
        let has_letter = lowered.chars().any(char::is_alphabetic);
        let word: String = lowered
            .chars()
            .map(|c| if has_letter { unleet(c) } else { c })
            .filter(|c| c.is_alphanumeric() || *c == '*' || *c == '\'')
            .collect();
        let word = word.trim_matches('\'').to_owned();
        if !word.is_empty() {
            words.push(word);
        }
    }
    // Letters spelled out one by one: join each run of single letters into a word of its own.
    let mut joined = Vec::with_capacity(words.len());
    let mut run = String::new();
    for word in words {
        if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
            run.push_str(&word);
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
        let plain = word.replace('\'', "");
        for candidate in [plain.clone(), squeeze(&plain, 2), squeeze(&plain, 1)] {
            if let Some(concern) = self.words.get(&candidate) {
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
        let squeezed: Vec<String> = words.iter().map(|w| squeeze(&w.replace('\'', ""), 2)).collect();
        let line = format!(" {} ", squeezed.join(" "));
        if let Some((_, concern)) = self.phrases.iter().find(|(p, _)| line.contains(&format!(" {p} "))) {
            return Some(*concern);
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
        use actors::model::{Scene, SceneId, StoryId, StorySpec, Style};
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
                let spec = StorySpec {
                    title: None,
                    prompt: (*prompt).into(),
                    style,
                    num_scenes: 6,
                    age: 4 + (i as u8 % 6),
                    language: "en".into(),
                };
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
