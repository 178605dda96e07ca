//! The builtin conversation agent: gathers what the story needs from what the child says,
//! asks one friendly question at a time, picks for the child when asked to ("you choose"),
//! summarises, and starts the story on "yes". Pure logic over a [`Draft`] (persisted between
//! turns), so it is easy to test and resume.

mod answers;
mod listen;
mod reading;
mod say;

pub use listen::Heard;
pub use reading::{builtin_decides, draft_of, respond_reading};

use crate::model::{Character, Draft, Place, SceneCount, Slot, SpecLimits, Style};
use crate::ports::Concern;
use crate::requirements;
use say::{hero_name, hero_phrase, where_phrase};

/// The limits the agent respects are the story's own: what it builds goes through
/// [`crate::model::StorySpec::new`] like any REST request.
pub type AgentLimits = SpecLimits;

/// What the agent says, and whether the story should start now.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    pub reply: String,
    pub start: bool,
}

const MAX_WORDS_KEPT: usize = 12;

/// Listen to one utterance and answer it, understanding it with the builtin rules.
pub fn respond(draft: &mut Draft, utterance: &str, limits: &AgentLimits) -> Turn {
    respond_with(draft, utterance, &mut |d: &mut Draft, text: &str, lower: &str| listen::listen(d, text, lower, limits))
}

/// What the builtin rules make of `utterance` for `draft` (a copy is changed, not `draft`).
pub fn hear_builtin(draft: &Draft, utterance: &str, limits: &AgentLimits) -> (Draft, Heard) {
    let mut heard = draft.clone();
    let text = utterance.trim();
    let learned = listen::listen(&mut heard, text, &text.to_lowercase(), limits);
    (heard, learned)
}

/// Answer one utterance, understood by `hear` (which folds it into a draft and says what it
/// learned). Whatever `hear` is (the builtin rules, or a model's reading merged with them),
/// these rules alone decide when the story starts: a "yes" to "Shall I make it?" for a
/// complete draft, never a change of mind.
pub fn respond_with(draft: &mut Draft, utterance: &str, hear: &mut dyn FnMut(&mut Draft, &str, &str) -> Heard) -> Turn {
    let text = utterance.trim();
    let lower = text.to_lowercase();
    if !text.is_empty() {
        draft.words.push(text.chars().take(300).collect());
        if draft.words.len() > MAX_WORDS_KEPT {
            draft.words.remove(0);
        }
    }
    if draft.confirming && draft.ready() {
        // What the answer would change decides: "make it!" (the agent's own words) is a yes,
        // "make it a cat" a change, "yes but in space" a change too.
        let mut probe = draft.clone();
        let heard = hear(&mut probe, text, &lower);
        if agreed(&probe) != agreed(draft) {
            *draft = probe;
            return next_step(draft, heard);
        }
        if answers::unsure(&lower) {
            return say("Shall I make it? Just say yes, or tell me what to change!");
        }
        if answers::is_no(&lower) && !answers::delegates(&lower) && !answers::is_correction(&lower) {
            draft.confirming = false;
            return say("No problem! What would you like to change?");
        }
        // A change of mind to what it already is ("actually make it a unicorn" for a
        // unicorn) is not a yes: say the story again and ask.
        if answers::is_correction(&lower) {
            *draft = probe;
            return next_step(draft, heard);
        }
        if answers::is_yes(&lower) || answers::delegates(&lower) {
            return start(draft);
        }
    }
    let heard = hear(draft, text, &lower);
    next_step(draft, heard)
}

/// What the child said was held back by the safety check: steer gently back to a kind story,
/// and for words about hurting themselves, point to a grown-up they trust first.
pub fn redirect(draft: &Draft, concern: Concern) -> Turn {
    if concern == Concern::SelfHarm {
        return say(
            "That sounds really important. If you feel sad, or someone is not being kind to you, please tell a \
             grown-up you trust right away. Would you like a cosy, happy story while we wait?",
        );
    }
    let who = if draft.hero.is_empty() { "our hero".to_owned() } else { hero_name(&draft.hero) };
    say(&format!("Let's keep our story kind! What if {who} wanted to make friends instead?"))
}

/// What the child and the agent have agreed on (what a change would change).
type Agreed<'a> =
    (&'a Character, &'a [Character], Option<&'a Place>, Option<Style>, Option<SceneCount>, Option<&'a str>);

fn agreed(d: &Draft) -> Agreed<'_> {
    (&d.hero, &d.companions, d.setting.as_ref(), d.style, d.num_scenes, d.title.as_deref())
}

/// The child pressed "make my story" (`start_story`).
pub fn confirm(draft: &mut Draft) -> Turn {
    if draft.ready() {
        start(draft)
    } else {
        let question = ask(draft);
        say(&format!("We're nearly there! {question}"))
    }
}

fn start(draft: &mut Draft) -> Turn {
    let who = hero_phrase(&draft.hero);
    draft.confirming = false;
    let reply =
        requirements::fix_articles(&format!("Hooray! I'm writing the story of {who} now. Watch the pages appear!"));
    Turn { reply, start: true }
}

fn say(reply: &str) -> Turn {
    Turn { reply: requirements::fix_articles(reply), start: false }
}

fn ask(draft: &mut Draft) -> String {
    let slot = draft.missing().first().copied();
    draft.asked = slot;
    let hero = hero_phrase(&draft.hero);
    match slot {
        Some(Slot::Hero) => "Who should our story be about? Maybe a dragon, a brave fox, or a little robot?".into(),
        Some(Slot::Setting) => format!("Where does {hero} live? In a forest, a castle, under the sea, or up in space?"),
        Some(Slot::Style) => "What kind of story shall it be: funny, magical, an adventure, a bedtime story, a space story, an animal story or a mystery?".into(),
        Some(Slot::NumScenes) => "How long should it be? Short (3 parts), medium (5) or long (8)?".into(),
        None => String::new(),
    }
}

fn summary(draft: &Draft) -> String {
    let mut s = format!("Here's our story: {}", hero_phrase(&draft.hero));
    for friend in &draft.companions {
        s.push_str(&format!(" and {}", hero_phrase(friend)));
    }
    if let Some(place) = &draft.setting {
        s.push_str(&format!(", {}", where_phrase(place)));
    }
    if let Some(style) = draft.style {
        s.push_str(&format!(", a {} story", style.as_str()));
    }
    if let Some(n) = draft.num_scenes {
        s.push_str(&format!(" in {n} parts"));
    }
    if let Some(title) = &draft.title {
        s.push_str(&format!(", called \"{title}\""));
    }
    s.push_str(". Shall I make it?");
    s
}

fn next_step(draft: &mut Draft, heard: Heard) -> Turn {
    let mut lead = Vec::new();
    if !heard.learned.is_empty() {
        let intro = if draft.ready() { "Lovely" } else { "Ooh" };
        lead.push(format!("{intro}, {}!", heard.learned.join(", ")));
    }
    if !heard.picked.is_empty() {
        lead.push(format!("I'll pick for you: {}!", heard.picked.join(", ")));
    }
    if draft.ready() {
        draft.asked = None;
        draft.confirming = true;
        lead.push(summary(draft));
        return say(&lead.join(" "));
    }
    draft.confirming = false;
    let question = ask(draft);
    if lead.is_empty() {
        let opening = if draft.words.len() <= 1 {
            "Hi, I'm Mimi! Let's make a story together."
        } else {
            "Hmm, I didn't quite catch that."
        };
        lead.push(opening.to_owned());
    }
    lead.push(question);
    say(&lead.join(" "))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timing;
#[cfg(test)]
mod utterances;
