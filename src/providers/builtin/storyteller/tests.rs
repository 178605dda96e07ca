//! The builtin storyteller: what the child asked for is in the story, every length reads
//! well, and the same story id always gives the same story.

use super::*;
use actors::model::{SpecLimits, SpecRequest, Style};
use actors::requirements::request_from;

fn spec(prompt: &str, style: Style, n: u8) -> StorySpec {
    let request = SpecRequest { style: Some(style), num_scenes: Some(n.into()), age: Some(5), ..request_from(prompt) };
    StorySpec::new(request, &SpecLimits::default()).unwrap()
}

fn story(id: StoryId, spec: &StorySpec) -> (StoryPlan, Vec<SceneDraft>) {
    let plan = plan(id, spec);
    let scenes = (0..plan.scenes.len()).map(|i| write(id, spec, &plan, (i, 0))).collect();
    (plan, scenes)
}

#[test]
fn uses_the_childs_hero_setting_and_style() {
    let s = spec("a brave dragon called Pip who is afraid of the dark, in a snowy land", Style::Fantasy, 5);
    let (plan, scenes) = story(StoryId::new(), &s);
    assert_eq!(plan.scenes.len(), 5);
    let all: String = scenes.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    assert!(scenes.iter().all(|s| s.text.contains("Pip")), "{all}");
    assert!(all.contains("dragon") && all.contains("afraid of the dark"), "{all}");
    assert!(all.contains("snow") || all.contains("Frosty") || all.contains("Snowdrift"), "{all}");
    assert!(scenes.last().unwrap().text.ends_with("The end."));
    assert!(scenes.last().unwrap().text.contains("Pip was not so afraid any more."), "{all}");
}

#[test]
fn every_length_reads_well() {
    for style in Style::ALL {
        for n in 1..=12u8 {
            let (plan, scenes) = story(StoryId::new(), &spec("a story about a fox named Ruby", *style, n));
            assert_eq!(plan.scenes.len(), usize::from(n));
            for scene in &scenes {
                let w = words(&scene.text);
                assert!((60..=200).contains(&w), "{style:?} n={n}: {w} words: {}", scene.text);
                assert!(!scene.text.contains('{') && !scene.title.contains('{'), "{}", scene.text);
                assert!(scene.text.contains("Ruby"));
            }
            assert!(scenes.last().unwrap().text.contains("The end."), "{style:?} n={n}");
        }
    }
}

#[test]
fn deterministic_per_story_and_different_across_prompts() {
    let id = StoryId::new();
    let a = spec("a curious robot called Bolt on the moon", Style::SciFi, 4);
    assert_eq!(story(id, &a).1, story(id, &a).1);
    let b = spec("a gentle owl named Hoot in the forest", Style::Bedtime, 4);
    assert_ne!(story(id, &a).1, story(id, &b).1);
}

#[test]
fn requested_title_is_kept() {
    let s = StorySpec { title: Some("Moonlight Muffins".into()), ..spec("a bear", Style::Funny, 3) };
    assert_eq!(plan(StoryId::new(), &s).title, "Moonlight Muffins");
}

#[test]
fn a_hero_named_twice_is_not_their_own_friend() {
    let spec =
        spec("A story about a dragon called Pip. In the child's words: a brave dragon called Pip", Style::Funny, 3);
    let cast = cast(StoryId::new(), &spec);
    assert_eq!(cast.hero, "Pip");
    assert_ne!(cast.companion, "Pip");
}

/// What the child asked for is in the story: named characters (every friend, up to the cap),
/// unusual kinds as said (drawn as the nearest shape), places in the child's words, wishes.
#[test]
fn the_story_keeps_what_the_child_asked_for() {
    let table: &[(&str, &[&str])] = &[
        ("Hansel and Gretel find a house made of sweets", &["Hansel", "Gretel", "a house made of sweets"]),
        ("a grumpy troll who lives under a bridge", &["troll", "grumpy", "under a bridge"]),
        ("the ugly duckling", &["duckling"]),
        ("a robot called Beep Boop who wants to dance", &["Beep Boop", "robot", "dance"]),
        (
            "Captain Fluffy the hamster and his friends Nibbles the mouse and Dot the ladybird",
            &["Captain Fluffy", "hamster", "Nibbles", "mouse", "Dot", "ladybird"],
        ),
        (
            "a golden retriever called Sunny who is afraid of thunder",
            &["Sunny", "golden retriever", "afraid of thunder"],
        ),
        ("a yeti called Snowball who lives in a fridge", &["Snowball", "yeti", "fridge"]),
        ("Dick Whittington and his cat", &["Dick Whittington", "cat"]),
        ("Little Red Riding Hood and the wolf", &["Little Red Riding Hood", "wolf"]),
        ("a T-rex called Chompy who wants to learn to dance", &["Chompy", "T-rex", "learn to dance"]),
        ("a sock called Stinky who lives under the bed", &["Stinky", "sock", "under the bed"]),
        (
            "a dragon called Pip and her friends Anna Maria the princess and Beep Boop the robot",
            &["Pip", "dragon", "Anna Maria", "princess", "Beep Boop", "robot"],
        ),
        ("a penguin who wants to fly to the moon", &["penguin", "fly to the moon"]),
        ("she lives in the clouds and her name is Zoe", &["Zoe", "the clouds"]),
        ("a pony called Star in a magical land of rainbows", &["Star", "pony"]),
    ];
    for (prompt, wanted) in table {
        for style in [Style::Fantasy, Style::Funny, Style::Bedtime] {
            for n in [1, 3, 5] {
                let (plan, scenes) = story(StoryId::new(), &spec(prompt, style, n));
                let all =
                    format!("{} {}", plan.title, scenes.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" "));
                for word in *wanted {
                    assert!(all.contains(word), "{prompt:?} ({style:?}, {n} scenes) lost {word:?}:\n{all}");
                }
            }
        }
    }
}

#[test]
fn a_page_told_again_is_told_differently_but_as_well() {
    let id = StoryId::new();
    for style in Style::ALL {
        let s = spec("a fox named Ruby", *style, 5);
        let plan = plan(id, &s);
        for index in 0..5 {
            let first = write(id, &s, &plan, (index, 0));
            let again = write(id, &s, &plan, (index, 1));
            assert_ne!(first.text, again.text, "{style:?} scene {index}");
            assert_ne!(again.text, write(id, &s, &plan, (index, 2)).text, "{style:?} scene {index}");
            assert_eq!(again, write(id, &s, &plan, (index, 1)), "the same take is the same page");
            assert!((60..=200).contains(&words(&again.text)) && again.text.contains("Ruby"), "{}", again.text);
        }
    }
}
