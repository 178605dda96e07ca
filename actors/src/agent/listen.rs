//! The builtin rules for what a child's answer means for the draft: characters (a correction
//! changes only what it names), the place (a style word is never one), the style, the length,
//! the title, and — when the child leaves it to the agent — the agent's own picks.

use super::AgentLimits;
use super::answers;
use super::say::{hero_phrase, where_phrase};
use crate::model::{Age, Character, Draft, Place, SceneCount, Setting, Slot, Style};
use crate::requirements::{self, Extracted};

/// What one answer taught the agent, to be said back: what the child said, and what the
/// agent chose for them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Heard {
    pub learned: Vec<String>,
    pub picked: Vec<String>,
}

/// Fold what was said into the draft.
pub(super) fn listen(draft: &mut Draft, text: &str, lower: &str, limits: &AgentLimits) -> Heard {
    let heard = requirements::extract(text);
    let mut out = Heard::default();
    characters(draft, &heard, answers::is_correction(lower), limits, &mut out.learned);
    let leaves_it = answers::delegates(lower) || answers::unsure(lower);
    // Words about who ("her name is Sparkle") are not a place, even when asked where.
    let free = draft.asked == Some(Slot::Setting) && !leaves_it && out.learned.is_empty();
    let place = heard.setting.clone().or_else(|| free.then(|| free_setting(lower)).flatten());
    if let Some(place) = place {
        out.learned.push(where_phrase(&place));
        draft.setting = Some(place);
    }
    let style = heard.style.or_else(|| {
        (draft.asked == Some(Slot::Style))
            .then(|| lower.split(|c: char| !c.is_alphanumeric() && c != '-').find_map(|w| w.parse::<Style>().ok()))
            .flatten()
    });
    if let Some(style) = style {
        out.learned.push(format!("a {} story", style.as_str()));
        draft.style = Some(style);
    }
    // A length said on its own ("a long one") is a length whatever was asked.
    let short_answer = lower.split_whitespace().count() <= 4 && style.is_none();
    let scenes = heard.num_scenes.or_else(|| {
        (draft.asked == Some(Slot::NumScenes) || short_answer && size_word(lower))
            .then(|| length_answer(lower, limits))
            .flatten()
    });
    if let Some(n) = scenes {
        let n = SceneCount::saturating(i64::from(n)).min(limits.max_scenes);
        out.learned.push(format!("{n} parts"));
        draft.num_scenes = Some(n);
    }
    if let Some(age) = heard.age.and_then(|a| Age::new(i64::from(a)).ok()) {
        draft.age = Some(age);
    }
    if heard.wish.is_some() {
        draft.wish = heard.wish;
    }
    if let Some(title) = title_answer(text).filter(|t| t.chars().count() <= limits.max_title_chars) {
        out.learned.push(format!("called \"{title}\""));
        draft.title = Some(title);
    }
    // "You choose", "I don't know", "surprise me": the agent picks, and says what it picked.
    if leaves_it && (out.learned.is_empty() || answers::all_of_it(lower)) {
        let everything = answers::all_of_it(lower) || draft.asked.is_none();
        pick(draft, everything, limits, &mut out.picked);
    }
    out
}

/// The hero and friends. The first character is the hero while there is none (or the agent
/// asked who it should be); in a correction it changes only what it names ("make it a unicorn"
/// keeps Pip, "call him Max" keeps the dragon); otherwise a new character is a friend.
fn characters(draft: &mut Draft, heard: &Extracted, changing: bool, limits: &AgentLimits, learned: &mut Vec<String>) {
    let mut people = std::iter::once(heard.hero.clone()).chain(heard.companions.clone()).filter(|c| !c.is_empty());
    if let Some(first) = people.next() {
        let introduced_as_friend =
            first.kind.is_none() && first.name.as_ref().is_some_and(|n| heard.friends.contains(n));
        if draft.hero.is_empty() || draft.asked == Some(Slot::Hero) {
            draft.hero = first;
            learned.push(hero_phrase(&draft.hero));
        } else if changing && !introduced_as_friend {
            let old = std::mem::take(&mut draft.hero);
            draft.hero = Character {
                name: first.name.or(old.name),
                kind: first.kind.or(old.kind),
                trait_word: first.trait_word.or(old.trait_word),
            };
            learned.push(hero_phrase(&draft.hero));
        } else if draft.hero.kind.is_none() && first.name.is_none() && first.kind.is_some() {
            draft.hero.kind = first.kind;
            learned.push(hero_phrase(&draft.hero));
        } else if draft.hero.name.is_none() && first.kind.is_none() && !introduced_as_friend {
            draft.hero.name = first.name;
            learned.push(hero_phrase(&draft.hero));
        } else if first.kind != draft.hero.kind || first.name != draft.hero.name {
            add_friend(draft, first, limits, learned);
        }
    }
    for friend in people {
        add_friend(draft, friend, limits, learned);
    }
    if let Some(kind) = &heard.hero_is {
        draft.hero.kind = Some(kind.clone());
        learned.push(hero_phrase(&draft.hero));
    }
    if let Some(name) = &heard.named_hero {
        draft.hero.name = Some(name.clone());
        learned.push(hero_phrase(&draft.hero));
    }
    // The hero said back once, as they now are ("Max the golden retriever", not also "Max the dog").
    let now = hero_phrase(&draft.hero);
    let said_before = |l: &String| l != &now && draft.hero.name.as_ref().is_some_and(|n| l.starts_with(n.as_str()));
    learned.retain(|l| !said_before(l));
    let mut seen = false;
    learned.retain(|l| !(l == &now && std::mem::replace(&mut seen, true)));
}

/// A friend the story does not have yet, while there is room for one. A friend named again
/// ("a unicorn called Sky", said twice) is the same friend, not a second one.
fn add_friend(draft: &mut Draft, friend: Character, limits: &AgentLimits, learned: &mut Vec<String>) {
    let known = |c: &Character| match (&c.name, &friend.name) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => c.name.is_none() && friend.name.is_none() && c.kind == friend.kind,
    };
    if known(&draft.hero) || draft.companions.iter().any(known) {
        return;
    }
    if draft.companions.len() >= limits.max_companions {
        learned.push(format!("room for only {} friends, so not {}", limits.max_companions, hero_phrase(&friend)));
        return;
    }
    learned.push(format!("a friend: {}", hero_phrase(&friend)));
    draft.companions.push(friend);
}

/// Heroes, places and styles the agent picks from when the child leaves it the choice, varied
/// by what was said so far (the same conversation always picks the same).
const HEROES: &[(&str, &str)] =
    &[("Pip", "dragon"), ("Luna", "unicorn"), ("Ruby", "fox"), ("Bolt", "robot"), ("Hoot", "owl"), ("Coco", "penguin")];
const PLACES: &[Setting] = &[Setting::Forest, Setting::Castle, Setting::Sea, Setting::Space, Setting::Island];

/// Fill the slot the agent asked about (or, for `everything`, every slot still open) with
/// the agent's own choice, and say what it chose.
fn pick(draft: &mut Draft, everything: bool, limits: &AgentLimits, picked: &mut Vec<String>) {
    let seed =
        draft.words.iter().flat_map(|w| w.bytes()).fold(17usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    let slots = match (everything, draft.asked) {
        (false, Some(slot)) => vec![slot],
        _ => draft.missing(),
    };
    for slot in slots {
        match slot {
            Slot::Hero => {
                let (name, kind) = HEROES[seed % HEROES.len()];
                draft.hero = Character { name: Some(name.into()), kind: Some(kind.into()), trait_word: None };
                picked.push(hero_phrase(&draft.hero));
            }
            Slot::Setting => {
                let place = Place::Known(PLACES[seed / 7 % PLACES.len()]);
                picked.push(where_phrase(&place));
                draft.setting = Some(place);
            }
            Slot::Style => {
                // What suits the hero: a robot gets a space story, a dragon a magical one.
                let hint = draft.hero.kind.as_deref().and_then(|k| requirements::styles(k).1);
                let style = hint.unwrap_or(Style::Fantasy);
                picked.push(format!("a {} story", style.as_str()));
                draft.style = Some(style);
            }
            Slot::NumScenes => {
                let n = limits.default_scenes.min(limits.max_scenes);
                picked.push(format!("{n} parts"));
                draft.num_scenes = Some(n);
            }
        }
    }
}

/// Said when asked where the story happens, but not a place: questions, talk about oneself,
/// greetings, noise.
fn not_a_place(lower: &str) -> bool {
    const QUESTION: &[&str] =
        &["what", "what's", "why", "how", "can", "could", "who", "when", "do", "does", "is", "are", "will", "would"];
    const TALK: &[&str] = &["i", "i'm", "me", "my", "you", "your", "hello", "hi", "hey", "blah", "yes", "no", "ok"];
    let words: Vec<&str> =
        lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| !w.is_empty()).collect();
    lower.contains('?')
        || !lower.chars().any(char::is_alphabetic)
        || words.first().is_some_and(|w| QUESTION.contains(w))
        || words.iter().any(|w| TALK.contains(w))
}

/// Words that say how, not where ("a funny one", "make it silly please"): with these taken
/// away, a style answer leaves nothing that could be a place.
const NOT_PLACE_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "one",
    "story",
    "kind",
    "make",
    "it",
    "please",
    "be",
    "should",
    "let's",
    "lets",
    "something",
    "very",
    "really",
    "super",
    "so",
    "and",
    "of",
    "type",
    "sort",
    "bit",
    "little",
    "lot",
    "ooh",
    "oh",
    "um",
    "umm",
    "uh",
    "hmm",
    "wow",
    "yay",
    "erm",
    "er",
    "like",
    "maybe",
    "think",
    "want",
    "wanna",
    "lol",
    "haha",
    "pls",
    "plz",
    "yeah",
    "definitely",
    "totally",
];

/// A place the child names in their own words when asked where ("a magical land of clouds",
/// "under the bed"); never a style word ("funny") or anything that is not a place.
fn free_setting(lower: &str) -> Option<Place> {
    if not_a_place(lower) {
        return None;
    }
    let trimmed = lower.trim_matches(|c: char| !c.is_alphanumeric());
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let clean = |w: &&str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
    let styled = words.iter().map(clean).any(|w| requirements::styles(&w).0.is_some());
    let rest = words
        .iter()
        .map(clean)
        .filter(|w| !w.is_empty() && !NOT_PLACE_WORDS.contains(&w.as_str()) && requirements::styles(w).0.is_none())
        .count();
    // With a style named, one word left over is not a place either ("spooky castle" has a
    // setting word and is read as one before this).
    if rest == 0 || (styled && rest < 2) || !(1..=6).contains(&words.len()) {
        return None;
    }
    let place = ["in ", "at "].iter().find_map(|p| trimmed.strip_prefix(p)).unwrap_or(trimmed);
    Place::parse(place).ok()
}

/// "a long one", "short please": a story's size in words.
fn size_word(lower: &str) -> bool {
    lower.split(|c: char| !c.is_alphanumeric()).any(|w| ["short", "long", "medium", "longer", "shorter"].contains(&w))
}

fn length_answer(lower: &str, limits: &AgentLimits) -> Option<u8> {
    let max = limits.max_scenes.get();
    if lower.contains("short") || lower.contains("little") || lower.contains("quick") {
        return Some(3.min(max));
    }
    if lower.contains("medium") || lower.contains("middle") {
        return Some(5.min(max));
    }
    if lower.contains("long") || lower.contains("big") {
        return Some(8.min(max));
    }
    lower.split(|c: char| !c.is_alphanumeric()).find_map(|w| {
        w.parse::<u8>().ok().or_else(|| {
            ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
                .iter()
                .position(|n| *n == w)
                .map(|i| i as u8 + 1)
        })
    })
}

/// Where the ASCII phrase `phrase` ends in `text`, ignoring case. Searched in the original
/// text: an index into a lower-cased copy can fall inside a character of the original, because
/// lower case can change a character's byte length ("İ" → "i̇").
fn end_of_phrase(text: &str, phrase: &str) -> Option<usize> {
    // The first letter is compared before the slice: a match starts with it.
    let first = phrase.bytes().next();
    text.char_indices()
        .map(|(i, _)| i)
        .filter(|&i| first.is_none_or(|f| text.as_bytes()[i].eq_ignore_ascii_case(&f)))
        .find(|&i| text.get(i..i + phrase.len()).is_some_and(|s| s.eq_ignore_ascii_case(phrase)))
        .map(|i| i + phrase.len())
}

/// "call it Moon Muffins", "the title is …".
fn title_answer(text: &str) -> Option<String> {
    let start = ["call it ", "call the story ", "the title is ", "title it ", "name the story "]
        .iter()
        .find_map(|p| end_of_phrase(text, p))?;
    let title = text[start..].trim().trim_matches(|c: char| c == '"' || c == '.' || c == '!' || c == '\'');
    (!title.is_empty() && title.chars().count() <= 80).then(|| title.to_owned())
}
