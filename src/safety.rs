//! The builtin `Safety`, offline and deterministic, in three layers each doing what it knows
//! best: an allow-table takes out what classic children's stories say and filters get wrong;
//! our own lists (`safety/words.txt`) catch harm to someone, self-harm, weapons used on someone,
//! drink, drugs, smoking, sexual content and hate; rustrict catches swearing and insults with
//! their disguises. Patterns take personal data out of text before it is stored. What it
//! decides is documented in the README ("Child safety").

mod allowed;
mod lists;
mod moderation;
mod personal;
mod profanity;

pub use moderation::Moderated;

use actors::ports::{Concern, Safety};
use async_trait::async_trait;

/// The builtin filter.
#[derive(Default)]
pub struct Builtin {
    allowed: allowed::Allowed,
    lists: lists::WordLists,
    profanity: profanity::Profanity,
    personal: personal::Patterns,
}

impl Builtin {
    /// The first concern in `text`: our lists first (self-harm before anything, so the child
    /// hears to tell a grown-up), then swearing and insults.
    pub fn concern(&self, text: &str) -> Option<Concern> {
        self.lists
            .concern(&self.allowed.without_phrases(text))
            .or_else(|| self.profanity.concern(&self.allowed.without_all(text)))
    }
}

#[async_trait]
impl Safety for Builtin {
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
    fn unsafe_texts_are_caught_with_their_concern() {
        let lists = Builtin::default();
        let cases: &[(&str, Concern)] = &[
            ("a dragon called Stupid Idiot who wants to kill everyone with a knife and drink beer", Violence),
            ("the dragon is STUPID", Insult),
            ("a robot who drinks b33r", DrugsAlcohol),
            ("he k1lls the fox", Violence),
            ("a k.i.l.l.e.r robot", Violence),
            ("she wants to k i l l them", Violence),
            ("a kiiiiilling machine", Violence),
            ("what the f**k", Sexual),
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

    /// The table every path is tested with (tests/safety/table.txt), on the filter itself:
    /// each unsafe line held back for its concern, each allowed line let through.
    #[test]
    fn the_table_of_childrens_phrasings() {
        let filter = Builtin::default();
        let table = include_str!("../tests/safety/table.txt");
        let (mut unsafe_rows, mut allowed_rows, mut wrong) = (0, 0, Vec::new());
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (label, text) = line.split_once('|').expect("`label | text`");
            let (label, text) = (label.trim(), text.trim());
            let found = filter.concern(text).map(Concern::as_str);
            match label.strip_prefix("unsafe ") {
                Some(expected) => {
                    unsafe_rows += 1;
                    if found != Some(expected) {
                        wrong.push(format!("{text:?}: expected {expected}, got {found:?}"));
                    }
                }
                None => {
                    allowed_rows += 1;
                    if found.is_some() {
                        wrong.push(format!("{text:?}: expected allowed, got {found:?}"));
                    }
                }
            }
        }
        assert!(unsafe_rows >= 60 && allowed_rows >= 60, "{unsafe_rows} unsafe and {allowed_rows} allowed rows");
        assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn childrens_story_words_stay_allowed() {
        let lists = Builtin::default();
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
        let lists = Builtin::default();
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
                    let request =
                        SceneRequest { story_id: id, spec: &spec, plan: &plan, index, previous: &previous, redo: None };
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
            let lists = Builtin::default();
            let _ = lists.concern(&text);
            let _ = lists.concern(&format!("{odd}{text}{odd}"));
            let _ = lists.personal.redact(&text);
        }
    }
}
