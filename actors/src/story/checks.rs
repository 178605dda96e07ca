//! Cheap checks on what a language model wrote, before a story takes it: no markup or
//! instructions left in, no loop, the age's word range, a finished last sentence, told about
//! the hero (third person, unless the child asked for "I") and naming them. A failure is a
//! [`Rejection`], which the model is told when it is asked again. The table test runs them on
//! real model outputs (`tests/llm/outputs.json`).

use crate::model::{StoryPlan, StorySpec};
use crate::ports::Rejection;
use crate::requirements;
pub use crate::text::names;

/// Words a scene should have for a child of `age`: shorter for the youngest.
pub fn word_range(age: u8) -> (usize, usize) {
    match age {
        0..=5 => (60, 120),
        6..=8 => (80, 160),
        _ => (100, 200),
    }
}

pub fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// What the story must be, told to the model and checked on its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SceneRules {
    /// The hero's name, when the child gave one: it must appear.
    pub hero: Option<String>,
    /// Told about the hero, never by an "I": English stories the child did not ask to be told
    /// in the first person (the pronoun check knows English only).
    pub third_person: bool,
    pub min_words: usize,
    pub max_words: usize,
}

impl SceneRules {
    pub fn for_story(spec: &StorySpec) -> Self {
        let asked = format!("{}. {}", spec.title.as_deref().unwrap_or(""), spec.prompt);
        let lower = asked.to_lowercase();
        let first_person = ["first person", "first-person"].iter().any(|p| lower.contains(p));
        let english = spec.language.as_str() == "en" || spec.language.starts_with("en-");
        let (min_words, max_words) = word_range(spec.age.get());
        Self {
            hero: requirements::extract(&asked).hero.name.map(|first| full_name(&asked, &first)),
            third_person: english && !first_person,
            min_words,
            max_words,
        }
    }

    /// The first rule `text` breaks, if any.
    pub fn check_scene(&self, text: &str) -> Result<(), Rejection> {
        if leftover_markup(text) {
            return Err(Rejection::Markup);
        }
        if loops(text) {
            return Err(Rejection::Loop);
        }
        let count = words(text);
        if !(self.min_words..=self.max_words).contains(&count) {
            return Err(Rejection::Length { words: count });
        }
        if !finished(text) {
            return Err(Rejection::Unfinished);
        }
        if self.third_person && first_person(text) {
            return Err(Rejection::Person);
        }
        if self.hero.as_deref().is_some_and(|hero| !names(text, hero)) {
            return Err(Rejection::Hero);
        }
        Ok(())
    }

    /// The first rule that `text`, a scene not finished yet, already breaks: what can be told
    /// before it is whole (markup, a loop, an "I" narrator). What is shown while a scene is
    /// written passes these, and safety; the rest is checked on the whole text.
    pub fn check_so_far(&self, text: &str) -> Result<(), Rejection> {
        if leftover_markup(text) {
            return Err(Rejection::Markup);
        }
        if loops(text) {
            return Err(Rejection::Loop);
        }
        if self.third_person && first_person(text) {
            return Err(Rejection::Person);
        }
        Ok(())
    }

    /// A plan must carry nothing but story, tell a different thing in each scene, have whole
    /// titles, and be about the hero.
    pub fn check_plan(&self, plan: &StoryPlan) -> Result<(), Rejection> {
        let titles: Vec<&str> =
            std::iter::once(plan.title.as_str()).chain(plan.scenes.iter().map(|s| s.title.as_str())).collect();
        let outlines: Vec<&str> = plan.scenes.iter().map(|s| s.outline.as_str()).collect();
        let looks = plan.characters.iter().flat_map(|c| [c.name.as_str(), c.kind.as_str(), c.look.as_str()]);
        let all = titles.iter().chain(&outlines).copied().chain(looks).collect::<Vec<_>>().join("\n");
        // A title that is a key of the JSON asked for ("scenes") is the format, not a story.
        let keys = ["title", "scenes", "scene", "outline"];
        if leftover_markup(&all) || titles.iter().any(|t| keys.contains(&t.trim().to_lowercase().as_str())) {
            return Err(Rejection::Markup);
        }
        let repeated = outlines.iter().enumerate().any(|(i, a)| outlines[..i].iter().any(|b| alike(a, b)));
        if repeated || outlines.iter().any(|o| loops(o)) {
            return Err(Rejection::Loop);
        }
        if titles.iter().any(|t| cut_short(t)) {
            return Err(Rejection::Unfinished);
        }
        if self.hero.as_deref().is_some_and(|hero| !names(&all, hero)) {
            return Err(Rejection::Hero);
        }
        Ok(())
    }
}

/// The hero's whole name as the child said it: the extractor's first word and the capitalised
/// words after it ("Sir" → "Sir Bumble", "Big" → "Big Blue").
fn full_name(asked: &str, first: &str) -> String {
    let words: Vec<&str> = asked.split_whitespace().collect();
    let clean = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-').to_owned();
    let Some(start) = words.iter().position(|w| clean(w) == first) else { return first.to_owned() };
    let mut name = vec![clean(words[start])];
    for word in &words[start + 1..] {
        let word_clean = clean(word);
        if !word_clean.chars().next().is_some_and(char::is_uppercase) {
            break;
        }
        name.push(word_clean);
        if word.ends_with([',', '.', '!', '?', ';', ':']) {
            break;
        }
    }
    name.join(" ")
}

/// Two outlines that say the same: most of their words shared.
fn alike(a: &str, b: &str) -> bool {
    let set = |t: &str| -> std::collections::BTreeSet<String> {
        t.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).collect()
    };
    let (a, b) = (set(a), set(b));
    let shared = a.intersection(&b).count();
    shared * 5 >= a.len().max(b.len()) * 4
}

/// A title cut off by a length bound: it ends on a word that leads on ("…, a", "… of the").
fn cut_short(title: &str) -> bool {
    let title = title.trim();
    let last = title.rsplit(' ').next().unwrap_or("").to_lowercase();
    title.ends_with([',', ':', ';', '-'])
        || ["a", "an", "the", "and", "or", "of", "to", "with", "in", "on", "is", "was", "who", "that"]
            .contains(&last.as_str())
}

/// A model stuck in a loop: some run of four words comes back three times or more
/// ("a dragon named Pip, a dragon named Pip, a dragon named Pip").
pub fn loops(text: &str) -> bool {
    let words: Vec<String> =
        text.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).collect();
    let mut seen = std::collections::HashMap::new();
    words.windows(4).any(|gram| {
        let count = seen.entry(gram.join(" ")).or_insert(0);
        *count += 1;
        *count >= 3
    })
}

/// Ends with a whole sentence: `.`, `!`, `?` or `…`, perhaps inside closing quotes.
pub fn finished(text: &str) -> bool {
    let end = text.trim_end().trim_end_matches(['"', '\'', '”', '’', ')']);
    end.ends_with(['.', '!', '?', '…'])
}

/// Words that are left from a prompt or a chat format, never from a story.
#[rustfmt::skip]
const LEFTOVERS: &[&str] = &[
    // Chat formats and markup.
    "<|", "|>", "</", "[inst", "```", "###", "{", "}", "[", "]",
    // The prompt's own words, echoed.
    "no title", "no headings", "no notes", "story text", "words of", "word count", "third person",
    "first person", "write scene", "scene 1 of", "scene 2 of", "scene 3 of", "earlier:", "outline:",
    "the outline is", "the story's title", "the story is \"", "the story is about", "(fantasy)",
    "(sci-fi)", "(adventure)", "(animals)", "(bedtime)", "(funny)", "(mystery)",
    // Talk about the answer instead of the story.
    "here is the story", "here's the story", "here is a story", "here is scene", "here's scene",
    "as an ai", "language model", "note:", "(end of", "the end of scene",
];

/// Markup or the instructions themselves, left in the text.
pub fn leftover_markup(text: &str) -> bool {
    let lower = text.to_lowercase();
    LEFTOVERS.iter().any(|l| lower.contains(l))
}

/// Narrated by "I" or "we": such words, outside quoted speech, at least twice (a character
/// may say "I" in dialogue a small model forgot to quote once).
pub fn first_person(text: &str) -> bool {
    let mut narration = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '“' => quoted = true,
            '”' => quoted = false,
            _ if !quoted => narration.push(c),
            _ => {}
        }
    }
    let count = narration
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| {
            let w = w.trim_matches(['\'', '’']);
            let head = w.split(['\'', '’']).next().unwrap_or("");
            head == "I"
                || ["me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"]
                    .contains(&w.to_lowercase().as_str())
        })
        .count();
    count >= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ScenePlan, Style};

    fn spec(prompt: &str, age: u8) -> StorySpec {
        let request = crate::model::SpecRequest {
            style: Some(Style::Funny),
            num_scenes: Some(2),
            age: Some(age.into()),
            ..crate::requirements::request_from(prompt)
        };
        StorySpec::new(request, &crate::model::SpecLimits::default()).unwrap()
    }

    const GOOD: &str = "Ruby the fox woke up early in her cosy den under the old oak tree. The sun was warm and \
        the birds were singing. She stretched her paws and sniffed the morning air, which smelled of rain and \
        flowers. Today was a special day, because her friend the owl had promised to show her the secret meadow \
        beyond the river. Ruby packed some berries and a soft blanket, then trotted happily along the path, \
        waving her bushy tail. \"I can't wait!\" she said.";

    #[test]
    fn the_rules_come_from_what_the_child_asked() {
        let rules = SceneRules::for_story(&spec("a fox named Ruby", 4));
        assert_eq!((rules.hero.as_deref(), rules.third_person, rules.min_words), (Some("Ruby"), true, 60));
        let knight = SceneRules::for_story(&spec("a knight named Sir Bumble, who is afraid of spiders", 7));
        assert_eq!(knight.hero.as_deref(), Some("Sir Bumble"), "the whole name");
        assert!(!SceneRules::for_story(&spec("a story about me in the first person", 7)).third_person);
        let french = StorySpec { language: crate::model::Language::parse("fr").unwrap(), ..spec("un renard", 7) };
        assert!(!SceneRules::for_story(&french).third_person, "the pronoun check knows English only");
        assert_eq!(SceneRules::for_story(&spec("a fox", 9)).hero, None);
    }

    #[test]
    fn each_rule_names_what_it_found() {
        let rules = SceneRules::for_story(&spec("a fox named Ruby", 7));
        assert_eq!(rules.check_scene(GOOD), Ok(()));
        assert_eq!(rules.check_scene(&GOOD.replace("Ruby", "Pip")), Err(Rejection::Hero));
        let short = "Ruby woke up. She smiled.";
        assert_eq!(rules.check_scene(short), Err(Rejection::Length { words: 5 }));
        assert_eq!(rules.check_scene(&format!("{GOOD} Then Ruby saw a")), Err(Rejection::Unfinished));
        let told = GOOD.replace("She stretched her paws", "I stretched my paws");
        assert_eq!(rules.check_scene(&told), Err(Rejection::Person));
        let notes = format!("{GOOD} In the story text, here are 80 to 160 words, no title, no headings, no notes.");
        assert_eq!(rules.check_scene(&notes), Err(Rejection::Markup));
        let looping = format!("{GOOD} A dragon named Pip, a dragon named Pip, a dragon named Pip.");
        assert_eq!(rules.check_scene(&looping), Err(Rejection::Loop));
        let asked = SceneRules { third_person: false, ..rules };
        assert_eq!(asked.check_scene(&told), Ok(()), "the child asked for \"I\"");
    }

    #[test]
    fn a_scene_being_written_is_checked_for_what_it_already_breaks() {
        let rules = SceneRules::for_story(&spec("a fox named Ruby", 7));
        assert_eq!(rules.check_so_far("Ruby woke up."), Ok(()), "short, no hero yet, unfinished: not yet known");
        assert_eq!(rules.check_so_far("I woke up. My den was warm."), Err(Rejection::Person));
        assert_eq!(rules.check_so_far("Scene 1 of 3: Ruby woke."), Err(Rejection::Markup));
        assert_eq!(rules.check_so_far("a fox a fox a fox a fox a fox a fox a fox a fox"), Err(Rejection::Loop));
    }

    #[test]
    fn quoted_speech_is_not_the_narrator() {
        assert!(!first_person("\"I am here!\" said Pip. “We did it,” said Ruby. “Me too!”"));
        assert!(first_person("As I stepped into the room, my heart jumped."));
        assert!(!first_person("Pip said, I am happy."), "once: an unquoted line of dialogue");
        assert!(first_person("We went to the park and I smiled."));
    }

    #[test]
    fn names_are_whole_words_in_any_case() {
        assert!(names("Then PIP laughed.", "Pip"));
        assert!(!names("Pipe the dragon laughed.", "Pip"));
        assert!(names("Sparkle flew off.", "Captain Sparkle"));
        assert!(names("Mary-Jane flew off.", "Mary-Jane"));
    }

    #[test]
    fn a_plan_is_about_the_hero() {
        let rules = SceneRules::for_story(&spec("a fox named Ruby", 7));
        let scene = |outline: &str| ScenePlan { title: "Morning".into(), outline: outline.into() };
        let plan = StoryPlan {
            title: "A Sunny Day".into(),
            scenes: vec![scene("Ruby wakes up."), scene("She plays.")],
            characters: vec![],
        };
        assert_eq!(rules.check_plan(&plan), Ok(()));
        let other =
            StoryPlan { title: "A Sunny Day".into(), scenes: vec![scene("A cat wakes up.")], characters: vec![] };
        assert_eq!(rules.check_plan(&other), Err(Rejection::Hero));
        let marked =
            StoryPlan { title: "Ruby ### Day".into(), scenes: vec![scene("Ruby wakes up.")], characters: vec![] };
        assert_eq!(rules.check_plan(&marked), Err(Rejection::Markup));
        let keyed = StoryPlan { title: "Scenes".into(), scenes: vec![scene("Ruby wakes up.")], characters: vec![] };
        assert_eq!(rules.check_plan(&keyed), Err(Rejection::Markup), "a JSON key for a title");
        let same = vec![
            scene("Ruby is a shy fox who is afraid of the dark."),
            scene("A shy fox who is scared of the dark, Ruby."),
        ];
        assert_eq!(
            rules.check_plan(&StoryPlan { title: "Ruby".into(), scenes: same, characters: vec![] }),
            Err(Rejection::Loop)
        );
        let cut = StoryPlan {
            title: "Ruby's first step is a bunny named Clover, a".into(),
            scenes: plan.scenes.clone(),
            characters: vec![],
        };
        assert_eq!(rules.check_plan(&cut), Err(Rejection::Unfinished));
    }
}
