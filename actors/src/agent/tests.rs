//! The agent's unit tests: whole conversations, a table of utterances, changes of mind.

use super::*;
use crate::model::Age;

const LIMITS: AgentLimits = AgentLimits::DEFAULT;

fn talk(lines: &[&str]) -> (Draft, Vec<Turn>) {
    let mut draft = Draft::default();
    let turns = lines.iter().map(|l| respond(&mut draft, l, &LIMITS)).collect();
    (draft, turns)
}

#[test]
fn a_friend_named_again_is_the_same_friend_and_friends_are_capped() {
    // Found by the WebSocket bench: said in a loop, the same friend was added every time
    // (50 companions after 200 messages, each turn's draft and events growing with them).
    let lines: Vec<&str> = ["a dragon called Pip", "in a castle", "a unicorn called Sky", "under the sea"].repeat(50);
    let (draft, turns) = talk(&lines);
    assert_eq!(draft.companions.len(), 1, "{:?}", draft.companions);
    assert_eq!(draft.companions[0].name.as_deref(), Some("Sky"));
    assert!(turns[2].reply.contains("Sky the unicorn"), "{}", turns[2].reply);
    // The hero named again is not their own friend.
    let (draft, _) = talk(&["a dragon called Pip", "Pip", "a cat", "a cat"]);
    assert_eq!(draft.companions.len(), 1, "{:?}", draft.companions);
    assert_eq!(draft.companions[0].kind.as_deref(), Some("cat"));

    let (draft, turns) = talk(&[
        "a dragon called Pip",
        "a cat called Tom",
        "a dog called Rex",
        "an owl called Hoot",
        "a fox called Red",
        "a bear called Bo",
    ]);
    let names: Vec<_> = draft.companions.iter().filter_map(|c| c.name.as_deref()).collect();
    assert_eq!(names, ["Tom", "Rex", "Hoot", "Red"]);
    assert!(turns[5].reply.contains("room for only 4 friends"), "{}", turns[5].reply);
}

#[test]
fn a_whole_conversation_one_question_at_a_time() {
    let (draft, turns) =
        talk(&["hello!", "a dragon called Pip", "in a big castle", "make it funny", "five parts", "yes please!"]);
    assert!(turns[0].reply.contains("Who should our story be about"), "{}", turns[0].reply);
    assert!(turns[1].reply.contains("Pip the dragon") && turns[1].reply.contains("Where does"), "{}", turns[1].reply);
    assert!(turns[2].reply.contains("What kind of story"), "{}", turns[2].reply);
    assert!(turns[3].reply.contains("How long"), "{}", turns[3].reply);
    assert!(turns[4].reply.contains("Shall I make it?"), "{}", turns[4].reply);
    assert!(turns[..5].iter().all(|t| !t.start));
    assert!(turns[5].start);
    let spec = draft.to_spec(&LIMITS).unwrap();
    assert_eq!((spec.style, spec.num_scenes.get()), (Style::Funny, 5));
    assert!(spec.prompt.starts_with("A story about a dragon called Pip, in the castle."), "{}", spec.prompt);
}

/// Real utterances and what must be understood from each, on a fresh draft.
#[test]
fn understands_a_table_of_utterances() {
    type Check = fn(&Draft) -> bool;
    let table: &[(&str, Check)] = &[
        ("I want a story about a dragon called Pip", |d| {
            d.hero.name.as_deref() == Some("Pip") && d.hero.kind.as_deref() == Some("dragon")
        }),
        ("tell me a story about my cat Whiskers", |d| {
            d.hero.name.as_deref() == Some("Whiskers") && d.hero.kind.as_deref() == Some("cat")
        }),
        ("a princess and a dragon who are best friends in a castle", |d| {
            d.hero.kind.as_deref() == Some("princess")
                && d.companions[0].kind.as_deref() == Some("dragon")
                && d.place() == Some("castle")
        }),
        ("Luna the unicorn", |d| d.hero.name.as_deref() == Some("Luna") && d.hero.kind.as_deref() == Some("unicorn")),
        ("a robot in outer space", |d| d.hero.kind.as_deref() == Some("robot") && d.place() == Some("space")),
        ("a fish under the sea", |d| d.place() == Some("sea")),
        ("something spooky with a ghost", |d| {
            d.style == Some(Style::Mystery) && d.hero.kind.as_deref() == Some("ghost")
        }),
        ("a silly story about a penguin", |d| d.style == Some(Style::Funny)),
        ("a bedtime story about a sleepy owl", |d| {
            d.style == Some(Style::Bedtime) && d.hero.trait_word.as_deref() == Some("sleepy")
        }),
        ("an adventure on a pirate island", |d| d.style == Some(Style::Adventure) && d.place() == Some("island")),
        ("puppies on a farm", |d| d.hero.kind.as_deref() == Some("puppy") && d.place() == Some("farm")),
        ("make it 4 scenes", |d| d.scenes() == Some(4)),
        ("in seven chapters please", |d| d.scenes() == Some(7)),
        ("I'm 5 and I love foxes", |d| d.age.map(Age::get) == Some(5) && d.hero.kind.as_deref() == Some("fox")),
        ("a bear named Bruno and his friend Tilly the rabbit", |d| {
            d.hero.name.as_deref() == Some("Bruno")
                && d.companions[0].name.as_deref() == Some("Tilly")
                && d.companions[0].kind.as_deref() == Some("rabbit")
        }),
        ("a knight who is afraid of the dark", |d| d.wish.as_deref() == Some("was afraid of the dark")),
        ("call it The Moon Muffins", |d| d.title.as_deref() == Some("The Moon Muffins")),
    ];
    for (utterance, check) in table {
        let (draft, _) = talk(&[utterance]);
        assert!(check(&draft), "{utterance:?} → {draft:?}");
    }
}

#[test]
fn bare_answers_land_in_the_slot_asked_about() {
    let (draft, _) = talk(&["a fox named Ruby", "a magical land of clouds", "fantasy", "a short one"]);
    assert_eq!(draft.place(), Some("a magical land of clouds"));
    assert_eq!(draft.style, Some(Style::Fantasy));
    assert_eq!(draft.scenes(), Some(3));
    let (draft, turns) = talk(&["a fox", "you choose"]);
    let place = draft.place().expect("the agent picked a place");
    assert!(turns[1].reply.contains("I'll pick for you") && turns[1].reply.contains(place), "{}", turns[1].reply);
}

#[test]
fn changes_of_mind_replace_instead_of_adding() {
    let (draft, turns) = talk(&["a dragon called Pip in the forest, funny, 3 parts", "actually make it a unicorn"]);
    assert!(turns[0].reply.contains("Shall I make it?"));
    assert_eq!(draft.hero.kind.as_deref(), Some("unicorn"));
    assert_eq!(draft.hero.name.as_deref(), Some("Pip"), "the name stays");
    assert!(draft.companions.is_empty());
    assert!(
        turns[1].reply.contains("Pip the unicorn") && turns[1].reply.contains("Shall I make it?"),
        "{}",
        turns[1].reply
    );
    let (draft, turns) = talk(&["a cat in space, funny, 3 parts", "no", "in the sea instead"]);
    assert!(turns[1].reply.contains("change"));
    assert_eq!(draft.place(), Some("sea"));
    assert!(!turns[2].start);
}

#[test]
fn start_story_needs_a_ready_draft() {
    let mut draft = Draft::default();
    respond(&mut draft, "a fox", &LIMITS);
    let turn = confirm(&mut draft);
    assert!(!turn.start && turn.reply.contains("Where does"), "{}", turn.reply);
    respond(&mut draft, "forest, funny, 2 parts", &LIMITS);
    assert!(confirm(&mut draft).start);
}

#[test]
fn view_lists_missing_slots() {
    let (draft, _) = talk(&["a fox in the forest"]);
    let view = crate::protocol::RequirementsView::of(&draft);
    assert_eq!(view.missing, ["style", "num_scenes"]);
    assert!(!view.ready);
    assert_eq!(view.characters[0].role, "hero");
}
