//! A model's reading of a child's turn, checked before any of it is used — every value one the
//! service takes (a known style, an age of 2–12, 1 to `max_scenes` scenes, at most
//! `max_companions` friends, names, places, titles and wishes of a sensible size) — then merged
//! into the draft: what the model read replaces what it changes; where the child left the
//! choice to the agent and the model chose nothing, the builtin rules' picks fill in. Whether
//! the story starts stays with the builtin rules ([`super::respond_with`]).

use super::say::{hero_phrase, where_phrase};
use super::{AgentLimits, Heard, Turn, answers, listen, respond_with};
use crate::model::{Age, Character, Draft, Invalid, Place, SceneCount, Style};
use crate::ports::{ReadCharacter, Reading};
use crate::requirements;

const MAX_NAME_CHARS: usize = 40;
const MAX_KIND_CHARS: usize = 30;
const MAX_WISH_CHARS: usize = 120;

fn invalid(what: &str) -> Invalid {
    Invalid(format!("the model's {what} is not one the service takes"))
}

/// Text a model wrote for a field: trimmed, `None` when empty, refused when it is too long or
/// does not look like words (markup, JSON, no letters).
fn words(text: Option<&String>, max: usize, what: &str) -> Result<Option<String>, Invalid> {
    let Some(text) = text.map(|t| t.trim()).filter(|t| !t.is_empty()) else { return Ok(None) };
    let wordy = text.chars().any(char::is_alphabetic)
        && !text.contains(['{', '}', '[', ']', '<', '>', '\n'])
        && text.chars().count() <= max;
    if wordy { Ok(Some(text.to_owned())) } else { Err(invalid(what)) }
}

fn character(read: &ReadCharacter, known: Option<&Character>) -> Result<Option<Character>, Invalid> {
    let name = words(read.name.as_ref(), MAX_NAME_CHARS, "name")?;
    let kind = words(read.kind.as_ref(), MAX_KIND_CHARS, "kind")?.map(|k| k.to_lowercase());
    if name.is_none() && kind.is_none() {
        return Ok(None);
    }
    let known = known.filter(|c| !c.is_empty());
    let same_kind = known.is_some_and(|c| kind.is_none() || c.kind == kind);
    Ok(Some(Character {
        name: name.or_else(|| known.and_then(|c| c.name.clone())),
        kind: kind.or_else(|| known.and_then(|c| c.kind.clone())),
        trait_word: known.filter(|_| same_kind).and_then(|c| c.trait_word.clone()),
    }))
}

/// A place as a model named it: a setting when it names one ("the deep forest"), else the
/// model's words.
fn place(text: &str) -> Result<Place, Invalid> {
    match requirements::extract(text).setting {
        Some(Place::Known(setting)) => Ok(Place::Known(setting)),
        _ => Place::parse(text).map_err(|_| invalid("place")),
    }
}

/// A wish as the storytellers say it: "wanted to fly" ("wants to fly" and "to fly" too).
fn wish(text: String) -> String {
    let lower = text.to_lowercase();
    if let Some(rest) = lower.strip_prefix("wants ") {
        format!("wanted {rest}")
    } else if lower.starts_with("to ") {
        format!("wanted {lower}")
    } else {
        text
    }
}

/// The draft `reading` makes of `before`, if every value in it is one the service takes.
pub fn draft_of(reading: &Reading, before: &Draft, limits: &AgentLimits) -> Result<Draft, Invalid> {
    let mut draft = before.clone();
    if let Some(hero) = reading.hero.as_ref().map(|h| character(h, Some(&before.hero))).transpose()?.flatten() {
        draft.hero = hero;
    }
    if reading.friends.len() > limits.max_companions {
        return Err(invalid("number of friends"));
    }
    let friends: Vec<Character> = reading
        .friends
        .iter()
        .map(|f| character(f, None))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    if !friends.is_empty() {
        draft.companions = friends;
    }
    if let Some(setting) = words(reading.setting.as_ref(), Place::MAX_CHARS, "place")? {
        draft.setting = Some(place(&setting)?);
    }
    if let Some(style) = words(reading.style.as_ref(), 30, "style")? {
        draft.style = Some(style.parse::<Style>().map_err(|_| invalid("style"))?);
    }
    if let Some(n) = reading.num_scenes {
        let n = SceneCount::new(n).ok().filter(|n| *n <= limits.max_scenes).ok_or_else(|| invalid("length"))?;
        draft.num_scenes = Some(n);
    }
    if let Some(age) = reading.age {
        draft.age = Some(Age::new(age).map_err(|_| invalid("age"))?);
    }
    if let Some(title) = words(reading.title.as_ref(), limits.max_title_chars, "title")? {
        draft.title = Some(title);
    }
    if let Some(wanted) = words(reading.wish.as_ref(), MAX_WISH_CHARS, "wish")? {
        draft.wish = Some(wish(wanted));
    }
    Ok(draft)
}

/// What changed from `before` to `after`, said back as the builtin agent says it.
fn changes(before: &Draft, after: &Draft) -> Vec<String> {
    let mut said = Vec::new();
    if after.hero != before.hero && !after.hero.is_empty() {
        said.push(hero_phrase(&after.hero));
    }
    for friend in after.companions.iter().filter(|f| !before.companions.contains(f)) {
        said.push(format!("a friend: {}", hero_phrase(friend)));
    }
    if let Some(place) = after.setting.as_ref().filter(|p| before.setting.as_ref() != Some(*p)) {
        said.push(where_phrase(place));
    }
    if let Some(style) = after.style.filter(|s| before.style != Some(*s)) {
        said.push(format!("a {} story", style.as_str()));
    }
    if let Some(n) = after.num_scenes.filter(|n| before.num_scenes != Some(*n)) {
        said.push(format!("{n} parts"));
    }
    if let Some(title) = after.title.as_ref().filter(|t| before.title.as_ref() != Some(*t)) {
        said.push(format!("called \"{title}\""));
    }
    said
}

/// Answer `utterance` with the model's reading (`read`, already checked: see [`draft_of`]).
/// What the model changed wins; what it left as it was, the builtin rules may still have
/// understood (a small model forgets things), and their picks for "you choose" stand.
pub fn respond_reading(draft: &mut Draft, utterance: &str, read: &Draft, limits: &AgentLimits) -> Turn {
    respond_with(draft, utterance, &mut |d: &mut Draft, text: &str, lower: &str| {
        let mut builtin = d.clone();
        let heard = listen::listen(&mut builtin, text, lower, limits);
        let mut took_builtin = false;
        let mut merged = d.clone();
        macro_rules! merge {
            ($($field:ident),+) => {$(
                merged.$field = if read.$field != d.$field {
                    read.$field.clone()
                } else {
                    took_builtin |= builtin.$field != d.$field;
                    builtin.$field.clone()
                };
            )+};
        }
        merge!(hero, companions, setting, style, num_scenes, age, title, wish);
        let picked = if took_builtin { heard.picked } else { Vec::new() };
        let learned = changes(d, &merged).into_iter().filter(|l| !picked.contains(l)).collect();
        *d = merged;
        Heard { learned, picked }
    })
}

/// Whether this turn is the builtin rules' alone: an answer to "Shall I make it?" that
/// changes nothing (yes, no, "I don't know"). A model is not asked, so it cannot turn a yes
/// into a change by misreading it.
pub fn builtin_decides(draft: &Draft, utterance: &str, limits: &AgentLimits) -> bool {
    if !(draft.confirming && draft.ready()) {
        return false;
    }
    let lower = utterance.trim().to_lowercase();
    let (probe, _) = super::hear_builtin(draft, utterance, limits);
    super::agreed(&probe) == super::agreed(draft)
        && !answers::is_correction(&lower)
        && (answers::is_yes(&lower) || answers::is_no(&lower) || answers::unsure(&lower) || answers::delegates(&lower))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SceneCount, Setting};

    const LIMITS: AgentLimits = AgentLimits {
        max_prompt_chars: 2000,
        max_title_chars: 40,
        max_scenes: SceneCount::MAX,
        default_scenes: SceneCount::DEFAULT,
        max_companions: 2,
    };

    fn read(json: &str) -> Reading {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_reading_is_used_only_when_every_value_is_one_the_service_takes() {
        let before = Draft::default();
        let good = read(
            r#"{"hero": {"name": "Webby", "kind": "Spider"}, "setting": "the deep dark forest", "style": "funny",
                "num_scenes": 4, "age": 5, "wish": "to spin the biggest web"}"#,
        );
        let draft = draft_of(&good, &before, &LIMITS).unwrap();
        assert_eq!((draft.hero.name.as_deref(), draft.hero.kind.as_deref()), (Some("Webby"), Some("spider")));
        assert_eq!(draft.setting, Some(Place::Known(Setting::Forest)));
        assert_eq!((draft.style, draft.scenes(), draft.age.map(Age::get)), (Some(Style::Funny), Some(4), Some(5)));
        assert_eq!(draft.wish.as_deref(), Some("wanted to spin the biggest web"));
        for bad in [
            r#"{"style": "horror"}"#,
            r#"{"age": 40}"#,
            r#"{"num_scenes": 0}"#,
            r#"{"num_scenes": 13}"#,
            r#"{"friends": [{"name": "A"}, {"name": "B"}, {"name": "C"}]}"#,
            r#"{"hero": {"name": "{\"name\": \"Pip\"}"}}"#,
            r#"{"title": "a title far longer than this service takes for a title"}"#,
            r#"{"setting": "   "}"#,
        ] {
            let reading = read(bad);
            let draft = draft_of(&reading, &before, &LIMITS);
            assert!(draft.is_err() || draft.as_ref().is_ok_and(|d| *d == before), "{bad} → {draft:?}");
        }
        assert!(draft_of(&read(r#"{"style": "horror"}"#), &before, &LIMITS).is_err());
    }

    #[test]
    fn the_builtin_rules_still_decide_when_the_story_starts() {
        let mut draft = Draft::default();
        let complete = draft_of(
            &read(r#"{"hero": {"name": "Pip", "kind": "dragon"}, "setting": "castle", "style": "funny", "num_scenes": 3}"#),
            &draft,
            &LIMITS,
        )
        .unwrap();
        let turn = respond_reading(&mut draft, "you know what I mean", &complete, &LIMITS);
        assert!(!turn.start && turn.reply.contains("Shall I make it?"), "{}", turn.reply);
        assert!(builtin_decides(&draft, "yes please!", &LIMITS));
        assert!(!builtin_decides(&draft, "actually make it a unicorn", &LIMITS));
        assert!(super::super::respond(&mut draft, "yes please!", &LIMITS).start);
    }
}
