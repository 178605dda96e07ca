//! What real children say, and what the builtin agent must make of it: a table of utterances
//! (single lines and short exchanges) covering confirmations and refusals in many forms, the
//! agent's own words said back, corrections, "you choose", off-topic and silly talk,
//! speech-to-text without punctuation, typos and other languages.

use super::*;

mod classes;

const LIMITS: AgentLimits = AgentLimits::DEFAULT;

/// Enough for a story: hero, setting, style, length. The agent then asks "Shall I make it?".
const READY: [&str; 4] = ["a dragon called Pip", "in a castle", "make it funny", "three parts"];

fn talk(lines: &[&str]) -> (Draft, Vec<Turn>) {
    let mut draft = Draft::default();
    let turns = lines.iter().map(|l| respond(&mut draft, l, &LIMITS)).collect();
    (draft, turns)
}

/// READY, then `line`: the draft and the agent's answer to `line`.
fn after_ready(line: &str) -> (Draft, Turn) {
    let mut lines = READY.to_vec();
    lines.push(line);
    let (draft, mut turns) = talk(&lines);
    assert!(turns[3].reply.contains("Shall I make it?"), "ready before {line:?}: {}", turns[3].reply);
    (draft, turns.pop().unwrap())
}

/// A hero's (name, kind).
type Named<'a> = (Option<&'a str>, Option<&'a str>);

fn hero(d: &Draft) -> Named<'_> {
    (d.hero.name.as_deref(), d.hero.kind.as_deref())
}

#[test]
fn what_the_child_wants_is_read_from_one_line() {
    type Check = fn(&Draft) -> bool;
    let table: &[(&str, Check)] = &[
        ("a story about a little mouse called Squeak", |d| hero(d) == (Some("Squeak"), Some("mouse"))),
        ("my favourite animal is a tiger", |d| hero(d).1 == Some("tiger")),
        ("dinosaurs!", |d| hero(d).1 == Some("dinosaur")),
        ("a girl named Mia who loves to paint", |d| hero(d) == (Some("Mia"), Some("girl"))),
        ("under the ocean with a dolphin", |d| hero(d).1 == Some("dolphin") && d.place() == Some("sea")),
        ("make it a mystery", |d| d.style == Some(Style::Mystery)),
        ("5 parts", |d| d.scenes() == Some(5)),
        ("a flying pig called Bob", |d| hero(d) == (Some("Bob"), Some("pig"))),
        ("a cow who wants to jump over the moon", |d| hero(d).1 == Some("cow") && d.wish.is_some()),
        ("a duck and a frog on a farm", |d| {
            hero(d).1 == Some("duck") && d.companions[0].kind.as_deref() == Some("frog") && d.place() == Some("farm")
        }),
        ("a panda called Bao who is very sleepy", |d| hero(d) == (Some("Bao"), Some("panda"))),
        ("a giraffe at the zoo", |d| hero(d).1 == Some("giraffe")),
        ("a shark who is scared of fish", |d| hero(d).1 == Some("shark")),
        ("a friendly crocodile named Snappy", |d| hero(d) == (Some("Snappy"), Some("crocodile"))),
        ("a bee in the garden", |d| hero(d).1 == Some("bee")),
        ("a butterfly called Flutter", |d| hero(d) == (Some("Flutter"), Some("butterfly"))),
    ];
    for (utterance, check) in table {
        let (draft, _) = talk(&[utterance]);
        assert!(check(&draft), "{utterance:?} → {draft:?}");
    }
}

#[test]
fn speech_to_text_without_punctuation_and_typos() {
    type Check = fn(&Draft) -> bool;
    let table: &[(&str, Check)] = &[
        ("um i want a story about a unicorn called sparkle and shes really funny", |d| {
            hero(d) == (Some("Sparkle"), Some("unicorn")) && d.style == Some(Style::Funny)
        }),
        ("okay so theres this dragon and his name is ember", |d| hero(d) == (Some("Ember"), Some("dragon"))),
        ("a cat and a dog in the city", |d| {
            hero(d).1 == Some("cat") && d.companions[0].kind.as_deref() == Some("dog") && d.place() == Some("city")
        }),
        ("can it be about a robot that lives on the moon", |d| {
            hero(d).1 == Some("robot") && d.place() == Some("space")
        }),
        ("a dragn called Pip", |d| hero(d) == (Some("Pip"), Some("dragon"))),
        ("a unicron in the forrest", |d| hero(d).1 == Some("unicorn") && d.place() == Some("forest")),
        ("a dinosuar", |d| hero(d).1 == Some("dinosaur")),
        ("a penguine on the ice", |d| hero(d).1 == Some("penguin") && d.place() == Some("snow")),
        ("a prinsess in a castel", |d| hero(d).1 == Some("princess") && d.place() == Some("castle")),
        ("A DRAGON CALLED PIP", |d| hero(d) == (Some("Pip"), Some("dragon"))),
        ("a dragon called pip", |d| hero(d) == (Some("Pip"), Some("dragon"))),
    ];
    for (utterance, check) in table {
        let (draft, _) = talk(&[utterance]);
        assert!(check(&draft), "{utterance:?} → {draft:?}");
    }
}

#[test]
fn other_languages_are_understood_for_hero_and_name() {
    let table: &[(&str, Named<'_>)] = &[
        ("un dragón que se llama Pip", (Some("Pip"), Some("dragon"))),
        ("un gato llamado Michi", (Some("Michi"), Some("cat"))),
        ("un chat qui s'appelle Minou", (Some("Minou"), Some("cat"))),
        ("une licorne appelée Étoile", (Some("Étoile"), Some("unicorn"))),
        ("ein Drache namens Funki", (Some("Funki"), Some("dragon"))),
        ("ein Fuchs, der Rudi heißt", (Some("Rudi"), Some("fox"))),
        ("un orso di nome Bruno", (Some("Bruno"), Some("bear"))),
    ];
    for (utterance, expected) in table {
        let (draft, _) = talk(&[utterance]);
        assert_eq!(hero(&draft), *expected, "{utterance:?} → {draft:?}");
    }
}

#[test]
fn yes_in_many_forms_starts_the_story() {
    for yes in [
        "yes",
        "yes please",
        "Yes!",
        "yeah",
        "yep",
        "yup",
        "sure",
        "ok",
        "okay",
        "OK!",
        "go",
        "do it",
        "make it",
        "make it!",
        "yes make it",
        "yes, make it please",
        "yes you can make it",
        "let's go",
        "sounds good",
        "perfect",
        "yay",
        "yesss",
        "absolutely",
        "of course",
        "go ahead",
        "uh huh",
        "alright",
        "awesome",
        "great",
        "please do",
        "yes shall i make it",
        "start",
        "ready",
        "i'm ready",
        "yes yes yes",
    ] {
        let (_, turn) = after_ready(yes);
        assert!(turn.start, "{yes:?} → {}", turn.reply);
    }
}

#[test]
fn no_in_many_forms_waits_and_asks_what_to_change() {
    for no in ["no", "nope", "not yet", "wait", "no thanks", "nah", "hmm", "no wait", "stop", "hold on", "not now"] {
        let (draft, turn) = after_ready(no);
        assert!(!turn.start, "{no:?} started the story");
        assert!(turn.reply.contains("change"), "{no:?} → {}", turn.reply);
        assert_eq!(hero(&draft), (Some("Pip"), Some("dragon")), "{no:?} changed nothing");
    }
}

#[test]
fn corrections_change_what_was_agreed_and_ask_again() {
    type Check = fn(&Draft) -> bool;
    let table: &[(&str, Check)] = &[
        ("actually make it a cat", |d| hero(d).1 == Some("cat")),
        ("no, a unicorn instead", |d| hero(d).1 == Some("unicorn")),
        ("not a dragon, a fox", |d| hero(d).1 == Some("fox")),
        ("make it a mystery instead", |d| d.style == Some(Style::Mystery)),
        ("make it a bedtime story", |d| d.style == Some(Style::Bedtime)),
        ("make it 6 parts", |d| d.scenes() == Some(6)),
        ("can it be at the beach instead", |d| d.place() == Some("sea")),
        ("yes but in space", |d| d.place() == Some("space")),
        ("call it The Sneezing Dragon", |d| d.title.as_deref() == Some("The Sneezing Dragon")),
    ];
    for (utterance, check) in table {
        let (draft, turn) = after_ready(utterance);
        assert!(!turn.start, "{utterance:?} is a change, not a yes");
        assert!(check(&draft), "{utterance:?} → {draft:?}");
        assert!(turn.reply.contains("Shall I make it?"), "{utterance:?} → {}", turn.reply);
    }
}

#[test]
fn you_choose_fills_the_question_that_was_asked() {
    for line in
        ["you choose", "you pick", "surprise me", "i don't know", "dunno", "whatever you like", "idk", "anything"]
    {
        let (draft, turns) = talk(&["hello", line]);
        assert!(!draft.hero.is_empty(), "{line:?} → {draft:?}");
        assert!(turns[1].reply.contains("Where does"), "{line:?} → {}", turns[1].reply);
        let (draft, _) = talk(&["a fox", line]);
        assert!(draft.setting.is_some(), "{line:?} as a setting → {draft:?}");
    }
}

#[test]
fn off_topic_and_silly_talk_keeps_the_draft_and_asks_again() {
    for line in [
        "what's your name",
        "I had pizza today",
        "can you sing a song",
        "why is the sky blue",
        "hello hello hello",
        "blah blah",
        "🦄🦄🦄",
        "...",
        "1234",
    ] {
        let (draft, turns) = talk(&["a fox called Ruby", line]);
        assert_eq!(hero(&draft), (Some("Ruby"), Some("fox")), "{line:?} changed the hero");
        assert_eq!(draft.setting, None, "{line:?} became a setting");
        assert!(turns[1].reply.contains('?') && !turns[1].start, "{line:?} → {}", turns[1].reply);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Whatever a child (or a speech recogniser) sends, the agent answers and never panics:
    /// any Unicode, any length, characters whose lower case is longer than they are ("İ", "ẞ").
    #[test]
    fn the_agent_answers_any_text(lines in proptest::collection::vec(".{0,200}", 1..6), tail in "[İẞﬁǅΣ ]{0,20}") {
        let mut draft = Draft::default();
        for line in lines.iter().chain([&tail]) {
            let turn = respond(&mut draft, line, &LIMITS);
            proptest::prop_assert!(!turn.reply.is_empty());
        }
        let _ = confirm(&mut draft);
        // Whatever the agent built is a story the service accepts, within the same limits as REST.
        let spec = draft.to_spec(&LIMITS);
        proptest::prop_assert!(spec.is_ok(), "{:?} → {:?}", draft, spec);
    }

    #[test]
    fn the_extractor_reads_any_text(text in ".{0,400}", called in "(called|named|llamado|namens) [İẞA-Za-z]{0,12}") {
        let _ = crate::requirements::extract(&text);
        let _ = crate::requirements::extract(&format!("a dragon {called} {text}"));
        let _ = crate::requirements::fix_articles(&text);
    }

    #[test]
    fn the_protocol_parser_refuses_instead_of_failing(text in ".{0,300}", n in proptest::num::i64::ANY) {
        let _ = crate::protocol::parse_client(&text);
        let _ = crate::protocol::parse_client(&format!(r#"{{"type":"resume","last_seq":{n}}}"#));
        let _ = crate::protocol::parse_client(&format!(r#"{{"type":"user_message","content":{}}}"#, serde_json::json!(text)));
    }
}
