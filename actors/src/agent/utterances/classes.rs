//! The classes of answers the agent once misread, each as a table of phrasings children use
//! (lower case, run-ons, "n then", typos, emoji): names of several words, where someone lives,
//! style words said when asked where, "you choose" to every question, pet words and species,
//! and corrections — a change of mind is never a yes.

use super::*;

/// One line on a fresh draft must give this hero (name, kind).
#[test]
fn names_of_several_words_and_titles() {
    let table: &[(&str, Named<'_>)] = &[
        ("a robot called Beep Boop", (Some("Beep Boop"), Some("robot"))),
        ("a robot called beep boop who loves dancing", (Some("Beep Boop"), Some("robot"))),
        ("Beep Boop the robot n then he goes to space", (Some("Beep Boop"), Some("robot"))),
        ("Captain Fluffy the cat", (Some("Captain Fluffy"), Some("cat"))),
        ("a hamster named Captain Fluffy", (Some("Captain Fluffy"), Some("hamster"))),
        ("my kitten Captain Fluffy!!", (Some("Captain Fluffy"), Some("kitten"))),
        ("Lady Rose and her pony", (Some("Lady Rose"), None)),
        ("a princess called Anna Maria", (Some("Anna Maria"), Some("princess"))),
        ("Princess Peach and a dragon", (Some("Princess Peach"), Some("princess"))),
        ("Sir Lancelot the knight", (Some("Sir Lancelot"), Some("knight"))),
        ("a unicorn named Sparkle Star who wants to fly", (Some("Sparkle Star"), Some("unicorn"))),
        ("a dog called Mr Wiggles", (Some("Mr Wiggles"), Some("dog"))),
        ("a dragon called Pip Squeak, in a cave", (Some("Pip Squeak"), Some("dragon"))),
        ("a girl named Mary Jane who likes frogs", (Some("Mary Jane"), Some("girl"))),
        ("Hansel and Gretel find a house made of sweets", (Some("Hansel"), None)),
        ("Dick Whittington and his cat", (Some("Dick Whittington"), None)),
        ("Little Red Riding Hood and the wolf", (Some("Little Red Riding Hood"), None)),
        ("a story about Puss in Boots", (Some("Puss in Boots"), None)),
        ("tell me a story about Captain Fluffy", (Some("Captain Fluffy"), None)),
        ("i want a story about my cat mittens 🐱", (Some("Mittens"), Some("cat"))),
        ("a grumpy troll who lives under a bridge", (None, Some("troll"))),
        ("a sock called Stinky", (Some("Stinky"), Some("sock"))),
    ];
    for (utterance, expected) in table {
        let (draft, turns) = talk(&[utterance]);
        assert_eq!(hero(&draft), *expected, "{utterance:?} → {draft:?}");
        if let Some(name) = expected.0 {
            assert!(turns[0].reply.contains(name), "{utterance:?}: the whole name said back: {}", turns[0].reply);
        }
    }
    // Friends keep their whole names too, and a friend is never the hero.
    let (draft, _) = talk(&["Hansel and Gretel find a house made of sweets"]);
    assert_eq!(draft.companions[0].name.as_deref(), Some("Gretel"));
    assert_eq!(draft.wish.as_deref(), Some("wanted to find a house made of sweets"));
    let (draft, _) = talk(&["a dragon", "and a friend called Beep Boop"]);
    assert_eq!(hero(&draft), (None, Some("dragon")), "{draft:?}");
    assert_eq!(draft.companions[0].name.as_deref(), Some("Beep Boop"));
    let (draft, _) = talk(&["a cat called Tom and a dog called Rex"]);
    assert_eq!((hero(&draft).0, draft.companions[0].name.as_deref()), (Some("Tom"), Some("Rex")));
}

/// Where someone lives, said in the first sentence, is where the story happens.
#[test]
fn where_someone_lives_is_the_setting() {
    let table: &[(&str, &str)] = &[
        ("she lives in the clouds", "the clouds"),
        ("a grumpy troll who lives under a bridge", "under a bridge"),
        ("a mermaid who lives in a sandcastle", "a sandcastle"),
        ("my bunny lives at grandma's house", "grandma's house"),
        ("a fox that lives in the woods", "forest"),
        ("a penguin who lives on an iceberg and loves fish", "on an iceberg"),
        ("a dragon living inside a volcano", "mountains"),
        ("theres a mouse n he lives under the bed", "under the bed"),
        ("a robot who lives on mars", "space"),
        ("a bee that lives in a flower, she is called Buzz", "a flower"),
        ("a owl who lives in a tree", "a tree"),
        ("a little elf who lives in a shoe 👟", "a shoe"),
    ];
    for (utterance, place) in table {
        let (draft, turns) = talk(&[utterance]);
        assert_eq!(draft.place(), Some(*place), "{utterance:?} → {draft:?}");
        assert!(!turns[0].reply.contains("Where does"), "{utterance:?}: asked where again: {}", turns[0].reply);
    }
}

/// Asked where the story happens, a child who says how it should be (a style) has named a
/// style, not a place: the style is taken and the place asked again.
#[test]
fn style_words_are_never_a_place() {
    let table: &[(&str, Style)] = &[
        ("funny", Style::Funny),
        ("a funny one", Style::Funny),
        ("make it silly!!", Style::Funny),
        ("spooky", Style::Mystery),
        ("ooh spooky please", Style::Mystery),
        ("magical", Style::Fantasy),
        ("a bedtime story", Style::Bedtime),
        ("adventure", Style::Adventure),
        ("a really funny story 😂", Style::Funny),
    ];
    for (answer, style) in table {
        let (draft, turns) = talk(&["a fox called Ruby", answer]);
        assert_eq!(draft.setting, None, "{answer:?} became a place: {draft:?}");
        assert_eq!(draft.style, Some(*style), "{answer:?}");
        assert!(turns[1].reply.contains("Where does"), "{answer:?} → {}", turns[1].reply);
    }
}

/// A child who answers every question with "you choose" (in any of its forms) gets a story:
/// the agent picks, says what it picked, and goes on to "Shall I make it?".
#[test]
fn you_choose_to_every_question_reaches_shall_i_make_it() {
    for line in [
        "you choose",
        "u choose",
        "you pick",
        "i dont know",
        "I don't know",
        "idk",
        "anything",
        "surprise me",
        "whatever u want",
        "dunno 🤷",
        "up to you",
        "i don't mind",
        "you decide!",
        "no idea",
        "hmm not sure",
    ] {
        let mut draft = Draft::default();
        let mut said = Vec::new();
        for _ in 0..5 {
            let turn = respond(&mut draft, line, &LIMITS);
            assert!(!turn.start, "{line:?} started a story before it was confirmed");
            said.push(turn.reply.clone());
            if turn.reply.contains("Shall I make it?") {
                break;
            }
        }
        let last = said.last().unwrap();
        assert!(last.contains("Shall I make it?"), "{line:?} never reached the summary: {said:#?}");
        assert!(said.iter().any(|r| r.contains("I'll pick for you")), "{line:?}: says what it picked: {said:#?}");
        assert!(draft.ready(), "{line:?} → {draft:?}");
        let hero = draft.hero.name.clone().unwrap();
        assert!(last.contains(&hero), "{line:?}: the summary names the picked hero: {last}");
        let turn = respond(&mut draft, "yes!", &LIMITS);
        assert!(turn.start, "{line:?} then yes → {}", turn.reply);
    }
    // In the middle of a conversation it fills only what was asked.
    let (draft, turns) = talk(&["a dragon called Pip", "dunno", "funny", "you choose"]);
    assert_eq!(hero(&draft), (Some("Pip"), Some("dragon")));
    assert!(draft.setting.is_some() && turns[1].reply.contains("I'll pick for you"), "{}", turns[1].reply);
    assert_eq!(draft.scenes(), Some(3));
    assert!(turns[3].reply.contains("Shall I make it?"), "{}", turns[3].reply);
    // "you choose the rest" after naming a hero fills everything still open.
    let (draft, turns) = talk(&["a cat called Tom, you choose the rest"]);
    assert!(draft.ready() && turns[0].reply.contains("Shall I make it?"), "{draft:?} {}", turns[0].reply);
}

/// A kind said with a pet word or a species stays that kind ("a puppy", not "a dog").
#[test]
fn pet_words_and_species_are_kinds() {
    let table: &[(&str, Named<'_>)] = &[
        ("a kitty cat named Mittens", (Some("Mittens"), Some("kitten"))),
        ("my doggy Biscuit", (Some("Biscuit"), Some("puppy"))),
        ("a golden retriever called Sunny", (Some("Sunny"), Some("golden retriever"))),
        ("a t rex called chompy", (Some("Chompy"), Some("T-rex"))),
        ("a polar bear who wants to find his mum", (None, Some("polar bear"))),
        ("a bunny rabbit", (None, Some("bunny"))),
        ("a baby dragon called Ember", (Some("Ember"), Some("baby dragon"))),
        ("an orca named Splash", (Some("Splash"), Some("orca"))),
        ("a tabby called Ginger", (Some("Ginger"), Some("tabby cat"))),
        ("lots of puppies!!!", (None, Some("puppy"))),
        ("a pony called Star", (Some("Star"), Some("pony"))),
        ("the ugly duckling", (None, Some("duckling"))),
        ("a hamster called Nibbles", (Some("Nibbles"), Some("hamster"))),
        ("a dachshund", (None, Some("dachshund"))),
        ("a stegosaurus called Spike", (Some("Spike"), Some("stegosaurus"))),
        ("a guinea pig named Popcorn", (Some("Popcorn"), Some("guinea pig"))),
    ];
    for (utterance, expected) in table {
        let (draft, _) = talk(&[utterance]);
        assert_eq!(hero(&draft), *expected, "{utterance:?} → {draft:?}");
    }
    let (draft, _) = talk(&["the ugly duckling"]);
    assert_eq!(draft.hero.trait_word.as_deref(), Some("ugly"));
}

/// After "Shall I make it?", a correction changes what it names, keeps the rest, and asks
/// again; it never starts the story, even when it contains "make it".
#[test]
fn corrections_change_only_what_they_name_and_never_start() {
    type Check = fn(&Draft) -> bool;
    let table: &[(&str, Check)] = &[
        ("actually call him Max", |d| hero(d) == (Some("Max"), Some("dragon"))),
        ("no wait, his name is Ember", |d| hero(d) == (Some("Ember"), Some("dragon"))),
        ("change his name to Bob", |d| hero(d) == (Some("Bob"), Some("dragon"))),
        ("actually she lives in the clouds", |d| d.place() == Some("the clouds")),
        ("can it be a mystery", |d| d.style == Some(Style::Mystery)),
        ("actualy make it a cat", |d| hero(d) == (Some("Pip"), Some("cat"))),
        ("no a fox instead", |d| hero(d) == (Some("Pip"), Some("fox"))),
        ("not a dragon a unicorn", |d| hero(d) == (Some("Pip"), Some("unicorn"))),
        ("make it 5 parts instead", |d| d.scenes() == Some(5)),
        ("i mean a bedtime story", |d| d.style == Some(Style::Bedtime)),
        ("oops i meant a unicorn", |d| hero(d) == (Some("Pip"), Some("unicorn"))),
        ("make it a baby dragon called Ember", |d| hero(d) == (Some("Ember"), Some("baby dragon"))),
    ];
    for (utterance, check) in table {
        let (draft, turn) = after_ready(utterance);
        assert!(!turn.start, "{utterance:?} is a change, not a yes");
        assert!(check(&draft), "{utterance:?} → {draft:?}");
        assert!(turn.reply.contains("Shall I make it?"), "{utterance:?} → {}", turn.reply);
        assert!(draft.companions.is_empty(), "{utterance:?} added a friend: {draft:?}");
    }
}

/// Issue 18: "actually make it a unicorn" when the hero already is one and the agent asked
/// "Shall I make it?" is not a yes (it once started stories nobody asked for).
#[test]
fn a_correction_to_what_it_already_is_is_not_a_yes() {
    for line in ["actually make it a unicorn", "make it a unicorn", "actually a unicorn", "no, make it a unicorn!"] {
        let (draft, turns) = talk(&["a unicorn called Pip", "in a castle", "make it funny", "three parts", line]);
        assert!(turns[3].reply.contains("Shall I make it?"), "{}", turns[3].reply);
        assert!(!turns[4].start, "{line:?} started the story");
        assert!(turns[4].reply.contains("Shall I make it?"), "{line:?} → {}", turns[4].reply);
        assert_eq!(hero(&draft), (Some("Pip"), Some("unicorn")));
        let mut draft = draft;
        assert!(respond(&mut draft, "yes", &LIMITS).start, "a yes after it still starts");
    }
}
