//! Making sense of what a model wrote: the first JSON object in free text, a story plan that is
//! actually usable, and scene text tidied (labels, repeats), cut to its word range at a
//! sentence end. Whether the result is good enough is for the story's checks to say.

use actors::model::{CharacterSheet, ScenePlan, StoryPlan, StorySpec};
use actors::ports::Rejection;
use actors::story::checks::{SceneRules, finished, loops, names, words};
use serde_json::Value;

/// The first complete JSON object in `text` (models wrap JSON in prose or code fences).
pub fn first_object(text: &str) -> Option<Value> {
    if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(text.trim()) {
        return Some(value);
    }
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = text[start..].find('{') {
        let open = start + offset;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_string => escaped = true,
                b'"' => in_string = !in_string,
                b'{' if !in_string => depth += 1,
                b'}' if !in_string => {
                    depth -= 1;
                    if depth == 0 {
                        // `open` and `i` sit on ASCII braces: both are character boundaries.
                        if let Ok(value @ Value::Object(_)) = serde_json::from_str(&text[open..=i]) {
                            return Some(value);
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
        start = open + 1;
    }
    None
}

fn sensible(text: &str, max_chars: usize) -> Option<String> {
    let text = text.trim();
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    (letters >= 2 && text.chars().count() <= max_chars && !text.contains(['{', '}', '[', ']'])).then(|| text.to_owned())
}

/// A plan from a model's JSON, if it has the shape of one: a title, and `num_scenes` scenes
/// each with a short outline. Otherwise `None` (a `parse` rejection). Whether it is a good one
/// (repeats, leftovers, the hero) is for the story's checks to say.
pub fn plan_from(value: &Value, spec: &StorySpec) -> Option<StoryPlan> {
    let title = match &spec.title {
        Some(title) => title.clone(),
        None => sensible(value["title"].as_str()?, 80)?,
    };
    let wanted = usize::from(spec.num_scenes);
    let mut scenes = Vec::with_capacity(wanted);
    for (i, scene) in value["scenes"].as_array()?.iter().enumerate().take(wanted) {
        let outline = ["outline", "summary", "description", "text"].iter().find_map(|k| scene[*k].as_str())?;
        let outline = sensible(outline, 400).filter(|o| o.split_whitespace().count() >= 3)?;
        let title = scene["title"].as_str().and_then(|t| sensible(t, 80)).unwrap_or_else(|| format!("Part {}", i + 1));
        scenes.push(ScenePlan { title, outline });
    }
    let characters = value["characters"].as_array().map_or_else(Vec::new, |list| sheets(list));
    (scenes.len() == wanted).then_some(StoryPlan { title, scenes, characters })
}

/// The characters a model described, as far as they make sense: a name, a kind and a look
/// each, at most six.
fn sheets(list: &[Value]) -> Vec<CharacterSheet> {
    let field = |c: &Value, keys: &[&str], max| keys.iter().find_map(|k| c[*k].as_str()).and_then(|t| sensible(t, max));
    list.iter()
        .filter_map(|c| {
            let name = field(c, &["name"], 40)?;
            let kind = field(c, &["kind", "species", "type"], 40).unwrap_or_else(|| "friend".into());
            let look = field(c, &["look", "appearance", "description"], 160)?;
            Some(CharacterSheet { name, kind, look })
        })
        .take(6)
        .collect()
}

/// Make a model's character sheet whole: the hero the child named comes first (taken from
/// the offline storyteller's sheet, `offline`, when the model left them out), and a plan with
/// no sheet gets the offline hero's, with the friends the plan names.
pub fn complete_cast(plan: &mut StoryPlan, spec: &StorySpec, offline: Vec<CharacterSheet>) {
    let hero = SceneRules::for_story(spec).hero;
    let is_hero = |c: &CharacterSheet| hero.as_deref().is_some_and(|h| names(&c.name, h) || names(h, &c.name));
    if plan.characters.is_empty() {
        let text: String = plan.scenes.iter().map(|s| format!("{} {} ", s.title, s.outline)).collect();
        plan.characters =
            offline.into_iter().enumerate().filter(|(i, c)| *i == 0 || names(&text, &c.name)).map(|(_, c)| c).collect();
        return;
    }
    match plan.characters.iter().position(is_hero) {
        Some(at) => plan.characters[..=at].rotate_right(1),
        None if hero.is_some() => plan.characters.splice(0..0, offline.into_iter().take(1)).for_each(drop),
        None => {}
    }
}

/// A scene as the model wrote it, made as good as it can be without asking again: tidied,
/// cut after the last whole sentence within the word range, and an unfinished last sentence
/// dropped when enough remains without it. A model that looped (its repeats dropped by
/// tidying) and left too little besides is a `Loop`, which is what it is told.
pub fn scene_text(raw: &str, rules: &SceneRules, titles: &[&str]) -> Result<String, Rejection> {
    let text = tidy(raw, titles);
    if words(&text) < rules.min_words && loops(raw) {
        return Err(Rejection::Loop);
    }
    let text = if words(&text) > rules.max_words { trim_to(&text, rules.max_words) } else { text };
    if finished(&text) {
        return Ok(text);
    }
    let mut whole = sentences(&text);
    whole.pop();
    let whole = whole.join(" ");
    Ok(if words(&whole) >= rules.min_words { whole } else { text })
}

/// What of a scene still being written can be shown: the tidied text's whole sentences but the
/// last (which may still grow), within the word range. What is shown is a beginning of
/// [`scene_text`]'s answer, but for a line that turns out to be a heading once it ends.
pub fn text_so_far(raw: &str, rules: &SceneRules, titles: &[&str]) -> String {
    let mut whole = sentences(&tidy(raw, titles));
    whole.pop();
    let mut out = String::new();
    for sentence in whole {
        if words(&out) + words(&sentence) > rules.max_words {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&sentence);
    }
    out
}

/// Scene text as a model wrote it, tidied: headings, labels (`titles` put before the text,
/// "The Final Challenge: …") and markup dropped, a sentence repeated word for word kept once
/// (small models loop), whitespace made plain.
pub fn tidy(text: &str, titles: &[&str]) -> String {
    let mut kept: Vec<String> = Vec::new();
    // Labels are ASCII: compared without changing case, so no byte offset of a lower-cased copy
    // is ever used on the original (case changes can change byte lengths).
    let starts = |line: &str, label: &str| line.get(..label.len()).is_some_and(|head| head.eq_ignore_ascii_case(label));
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.replace("**", "").replace('*', "");
        let last = i + 1 == lines.len();
        if line.starts_with('#')
            || starts(&line, "scene ") && line.len() < 60 && line.ends_with(':')
            || heading(&line, last)
        {
            continue;
        }
        let line = ["title:", "scene:", "story:"]
            .iter()
            .find_map(|label| starts(&line, label).then(|| line[label.len()..].trim().to_owned()))
            .unwrap_or(line);
        let line = if kept.is_empty() { without_labels(&line, titles) } else { &line };
        for sentence in sentences(line) {
            if !kept.iter().any(|k| k.eq_ignore_ascii_case(&sentence)) {
                kept.push(sentence);
            }
        }
    }
    kept.join(" ")
}

/// A title or heading on a line of its own: a few words with no sentence end, and more below
/// (a last line without one is a sentence cut short, not a heading).
fn heading(line: &str, last: bool) -> bool {
    !last && words(line) <= 12 && !line.trim_end_matches(['"', '\'', '”', '’', ')']).ends_with(['.', '!', '?', '…'])
}

/// The text without the titles a small model puts before it, each with a colon ("The final
/// challenge: Hoot ran…", "Pip's Big Adventure: The Final Challenge: …").
fn without_labels<'a>(mut line: &'a str, titles: &[&str]) -> &'a str {
    while let Some((label, rest)) = line.split_once(": ")
        && titles.iter().any(|t| t.trim().eq_ignore_ascii_case(label.trim()))
    {
        line = rest.trim_start();
    }
    line
}

/// Split after `.`, `!` or `?` (with closing quotes), keeping the marks.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        if matches!(c, '.' | '!' | '?') {
            while let Some(&q) = chars.peek() {
                if matches!(q, '"' | '\'' | '”' | '’' | '!' | '?' | '.') {
                    current.push(q);
                    chars.next();
                } else {
                    break;
                }
            }
            if chars.peek().is_none_or(|n| n.is_whitespace()) {
                let s = current.trim().to_owned();
                if !s.is_empty() {
                    out.push(s);
                }
                current.clear();
            }
        }
    }
    let rest = current.trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// At most `max` words, cut after the last whole sentence that fits (or at `max` words with a
/// full stop when even the first sentence is longer).
pub fn trim_to(text: &str, max: usize) -> String {
    let mut out = String::new();
    for sentence in sentences(text) {
        if words(&out) + words(&sentence) > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&sentence);
    }
    if out.is_empty() {
        let cut: Vec<&str> = text.split_whitespace().take(max).collect();
        out = format!("{}.", cut.join(" ").trim_end_matches([',', ';', ':']));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::model::{SpecLimits, SpecRequest, Style};

    fn spec(n: u8) -> StorySpec {
        let request = SpecRequest {
            style: Some(Style::Funny),
            num_scenes: Some(n.into()),
            ..actors::requirements::request_from("a fox")
        };
        StorySpec::new(request, &SpecLimits::default()).unwrap()
    }

    #[test]
    fn finds_the_first_object_in_prose_and_fences() {
        let text = "Sure! Here it is:\n```json\n{\"title\": \"Ruby {the} Fox\", \"scenes\": []}\n```\nEnjoy {";
        assert_eq!(first_object(text).unwrap()["title"], "Ruby {the} Fox");
        assert!(first_object("no json here { broken").is_none());
        assert!(first_object("ünïcödé {\"a\": \"é\"}").is_some());
    }

    #[test]
    fn a_usable_plan_or_none() {
        let good = serde_json::json!({"title": "Ruby's Big Day", "scenes": [
            {"title": "Morning", "outline": "Ruby wakes up in her den."},
            {"title": "Friends", "summary": "Ruby meets a kind owl."},
            {"outline": "They share berries at sunset."}]});
        let plan = plan_from(&good, &spec(3)).unwrap();
        assert_eq!(plan.scenes[2].title, "Part 3");
        assert_eq!(plan_from(&good, &spec(2)).unwrap().scenes.len(), 2, "extra scenes are dropped");
        assert!(plan_from(&good, &spec(4)).is_none(), "too few scenes");
        let garbage = serde_json::json!({"title": ") {1} {2} 1. [fennek] fennek", "scenes": []});
        assert!(plan_from(&garbage, &spec(1)).is_none());
    }

    #[test]
    fn the_cast_is_read_and_made_whole_with_the_childs_hero_first() {
        let sheet =
            |name: &str, look: &str| CharacterSheet { name: name.into(), kind: "fox".into(), look: look.into() };
        let value = serde_json::json!({"title": "Ruby's Day", "scenes": [{"outline": "Ruby meets Hoot by the river."}],
            "characters": [{"name": "Hoot", "kind": "owl", "look": "a wise grey owl"}, {"name": "Ruby", "look": "a red fox"},
                {"name": "Nobody"}]});
        let spec = StorySpec { prompt: "a fox named Ruby".into(), ..spec(1) };
        let mut plan = plan_from(&value, &spec).unwrap();
        assert_eq!(plan.characters.len(), 2, "one without a look is left out");
        complete_cast(&mut plan, &spec, vec![sheet("Ruby", "offline")]);
        let names: Vec<&str> = plan.characters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!((names, plan.characters[0].look.as_str()), (vec!["Ruby", "Hoot"], "a red fox"), "the model's own");

        let mut unnamed = plan_from(
            &serde_json::json!({"title": "The Night", "scenes": [{"outline": "Hoot flies home at night."}],
            "characters": [{"name": "Hoot", "kind": "owl", "look": "a grey owl"}]}),
            &spec,
        )
        .unwrap();
        complete_cast(&mut unnamed, &spec, vec![sheet("Ruby", "a small teal fox with a red bow")]);
        assert_eq!(unnamed.characters[0].look, "a small teal fox with a red bow", "the child's hero was missing");

        let mut none = plan_from(
            &serde_json::json!({"title": "The Night", "scenes": [{"outline": "Ruby and Bo play all day."}]}),
            &spec,
        )
        .unwrap();
        complete_cast(&mut none, &spec, vec![sheet("Ruby", "teal"), sheet("Bo", "pink"), sheet("Max", "blue")]);
        let names: Vec<&str> = none.characters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Ruby", "Bo"], "no sheet: the offline one, with the friends the plan names");
    }

    #[test]
    fn tidy_drops_headings_labels_markup_and_repeats() {
        let text = "# Scene 1\nScene 1:\n**Title:** The Den.\nRuby woke up. Ruby woke up. She smiled!\nShe smiled!";
        assert_eq!(tidy(text, &[]), "The Den. Ruby woke up. She smiled!");
        let titles = ["Pip's Day", "The Final Challenge"];
        let headed = "Luna's Big Adventure (201)\n\nThe Final Challenge: Luna woke up.\nShe smiled at";
        assert_eq!(tidy(headed, &titles), "Luna woke up. She smiled at", "a cut last line is not a heading");
        assert_eq!(tidy("Pip's Day: The final challenge: Pip ran home.", &titles), "Pip ran home.");
        let said = "Then Pip said: \"Hello.\" He smiled.";
        assert_eq!(tidy(said, &titles), said);
    }

    #[test]
    fn an_unfinished_last_sentence_is_dropped_when_enough_remains() {
        let rules = SceneRules { hero: None, third_person: true, min_words: 3, max_words: 20 };
        let text = |raw: &str| scene_text(raw, &rules, &[]).unwrap();
        assert_eq!(text("One two three. Four five six. Seven eight"), "One two three. Four five six.");
        assert_eq!(text("One two. Three four"), "One two. Three four", "too little would remain");
        let long: String = (0..3).map(|i| format!("Part {i} has words three four five six seven eight. ")).collect();
        assert_eq!(words(&text(&long)), 20, "cut at a sentence end within the range");
        let looped = "She ran. She ran. She ran. She ran. She ran.";
        assert_eq!(scene_text(looped, &rules, &[]), Err(Rejection::Loop), "one sentence is left: it looped");
    }

    #[test]
    fn what_is_shown_while_a_scene_streams_begins_what_is_kept() {
        let rules = SceneRules { hero: None, third_person: true, min_words: 3, max_words: 12 };
        let raw = "## Scene 1\nThe Den: Ruby woke up. \"Hello!\" she said. She ran to the river and jumped in. Then";
        let titles = ["The Den"];
        let mut shown = Vec::new();
        for end in (0..=raw.len()).filter(|&i| raw.is_char_boundary(i)) {
            let so_far = text_so_far(&raw[..end], &rules, &titles);
            if shown.last() != Some(&so_far) {
                shown.push(so_far);
            }
        }
        let last = shown.last().unwrap().clone();
        assert_eq!(last, "Ruby woke up. \"Hello!\" she said.", "the sentence that would pass the range is left out");
        assert!(shown.windows(2).all(|w| w[1].starts_with(w[0].as_str())), "it only grows: {shown:?}");
        assert!(scene_text(raw, &rules, &titles).unwrap().starts_with(&last));
    }

    #[test]
    fn trimming_keeps_whole_sentences() {
        let text = "One two three. Four five six. Seven eight nine ten.";
        assert_eq!(trim_to(text, 7), "One two three. Four five six.");
        assert_eq!(trim_to("a b c d e f", 3), "a b c.");
    }
}
