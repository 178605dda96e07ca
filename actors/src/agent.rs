//! The builtin conversation agent: gathers what the story needs from what the child says,
//! asks one friendly question at a time, summarises, and starts the story on "yes".
//! Pure logic over a [`Draft`] (persisted between turns), so it is easy to test and resume.

use crate::model::{
    Age, Character, Draft, Place, SceneCount, Setting, Slot, SpecError, SpecLimits, SpecRequest, StoryCast, StorySpec,
    Style,
};
use crate::ports::Concern;
use crate::requirements;

/// The limits the agent respects are the story's own: what it builds goes through
/// [`StorySpec::new`] like any REST request.
pub type AgentLimits = SpecLimits;

/// What the agent says, and whether the story should start now.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    pub reply: String,
    pub start: bool,
}

const YES: &[&str] = &[
    "yes",
    "yess",
    "yeah",
    "yep",
    "yup",
    "yay",
    "sure",
    "ok",
    "okay",
    "please",
    "go",
    "do it",
    "make it",
    "let's go",
    "sounds good",
    "perfect",
    "start",
    "absolutely",
    "of course",
    "go ahead",
    "uh huh",
    "alright",
    "all right",
    "awesome",
    "great",
    "please do",
    "ready",
    "cool",
    "yes please",
    "definitely",
];
const NO: &[&str] =
    &["no", "nope", "nah", "not yet", "not now", "wait", "hmm", "stop", "hold on", "don't", "dont", "change"];
const CHANGE: &[&str] = &["actually", "instead", "change", "make it", "rather", "no,", "not a", "switch"];
const DONT_MIND: &[&str] = &[
    "you choose",
    "you pick",
    "surprise me",
    "don't know",
    "dont know",
    "dunno",
    "idk",
    "no idea",
    "not sure",
    "up to you",
    "any",
    "anything",
    "whatever",
    "i don't mind",
];
const MAX_WORDS_KEPT: usize = 12;

fn has_phrase(lower: &str, phrases: &[&str]) -> bool {
    // "yesss" is "yes": a letter that follows two of itself is dropped.
    let mut padded = String::with_capacity(lower.len() + 2);
    padded.push(' ');
    let (mut before, mut last) = (None, None);
    for c in lower.chars() {
        if before == Some(c) && last == Some(c) {
            continue;
        }
        (before, last) = (last, Some(c));
        padded.push(if matches!(c, '!' | '.' | '?' | ',') { ' ' } else { c });
    }
    padded.push(' ');
    phrases.iter().any(|p| crate::text::has_phrase(&padded, p) || lower.starts_with(p) && p.ends_with(','))
}

impl Draft {
    /// The story request this draft describes, checked like any other.
    pub fn to_spec(&self, limits: &AgentLimits) -> Result<StorySpec, SpecError> {
        let mut prompt = format!("A story about {}", describe(&self.hero));
        for friend in &self.companions {
            prompt.push_str(&format!(" and {}", describe(friend)));
        }
        if let Some(place) = &self.setting {
            prompt.push_str(&format!(", {}", where_phrase(place)));
        }
        prompt.push('.');
        if let Some(wish) = &self.wish {
            prompt.push_str(&format!(" {} {wish}.", hero_name(&self.hero)));
        }
        let words = self.words.join(" ");
        if !words.is_empty() {
            prompt.push_str(" In the child's words: ");
            prompt.push_str(&words);
        }
        let prompt: String = requirements::fix_articles(&prompt).chars().take(limits.max_prompt_chars).collect();
        let cast = StoryCast {
            hero: self.hero.clone(),
            companions: self.companions.clone(),
            place: self.setting.clone(),
            wish: self.wish.clone(),
        };
        let request = SpecRequest {
            title: self.title.clone(),
            prompt,
            cast,
            style: self.style,
            num_scenes: self.num_scenes.map(|n| i64::from(n.min(limits.max_scenes))),
            age: self.age.map(i64::from),
            language: self.language.as_ref().map(|l| l.to_string()),
        };
        StorySpec::new(request, limits)
    }
}

/// "in the castle", "under a bridge": a place as the agent says it back.
fn where_phrase(place: &Place) -> String {
    match place {
        Place::Known(setting) => format!("in the {setting}"),
        Place::Other(words) if starts_with_preposition(words) => words.clone(),
        Place::Other(words) => format!("in {words}"),
    }
}

fn starts_with_preposition(words: &str) -> bool {
    let first = words.split_whitespace().next().unwrap_or_default().to_lowercase();
    ["in", "on", "at", "under", "inside", "near", "by", "above", "beside", "behind", "up", "down"]
        .contains(&first.as_str())
}

fn describe(c: &Character) -> String {
    match (&c.name, &c.kind) {
        (Some(n), Some(k)) => {
            format!("a {}{k} called {n}", c.trait_word.as_ref().map_or(String::new(), |t| format!("{t} ")))
        }
        (Some(n), None) => n.clone(),
        (None, Some(k)) => format!("a {}{k}", c.trait_word.as_ref().map_or(String::new(), |t| format!("{t} "))),
        (None, None) => "a child".into(),
    }
}

fn hero_name(c: &Character) -> String {
    c.name.clone().or_else(|| c.kind.as_ref().map(|k| format!("the {k}"))).unwrap_or_else(|| "the hero".into())
}

/// The hero as the agent says it back: "Pip the dragon", "a dragon", "Pip".
fn hero_phrase(c: &Character) -> String {
    match (&c.name, &c.kind) {
        (Some(n), Some(k)) => format!("{n} the {k}"),
        (Some(n), None) => n.clone(),
        (None, Some(k)) => format!("a {k}"),
        (None, None) => "our hero".into(),
    }
}

/// Listen to one utterance and answer it.
pub fn respond(draft: &mut Draft, utterance: &str, limits: &AgentLimits) -> Turn {
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
        let learned = listen(&mut probe, text, &lower, limits);
        if agreed(&probe) != agreed(draft) {
            *draft = probe;
            return next_step(draft, learned);
        }
        if has_phrase(&lower, NO) {
            draft.confirming = false;
            return say("No problem! What would you like to change?");
        }
        if has_phrase(&lower, YES) {
            return start(draft);
        }
    }
    let learned = listen(draft, text, &lower, limits);
    next_step(draft, learned)
}

/// What the child said was held back by the safety check: steer gently back to a kind story,
/// and for words about hurting themselves, point to a grown-up they trust first.
pub fn redirect(draft: &Draft, concern: Concern) -> Turn {
    if concern == Concern::SelfHarm {
        return say("That sounds really important. If you feel sad or someone is hurting you, please tell a grown-up \
             you trust right away. Would you like a cosy, happy story while we wait?");
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

/// Fold what was said into the draft; returns a short acknowledgement of what was new.
fn listen(draft: &mut Draft, text: &str, lower: &str, limits: &AgentLimits) -> Option<String> {
    let heard = requirements::extract(text);
    let changing = has_phrase(lower, CHANGE);
    let dont_mind = has_phrase(lower, DONT_MIND);
    let mut learned = Vec::new();

    // Characters: the first is the hero unless we have one and the child is not changing it.
    let mut people = std::iter::once(heard.hero.clone()).chain(heard.companions.clone()).filter(|c| !c.is_empty());
    if let Some(first) = people.next() {
        if draft.hero.is_empty() || changing || draft.asked == Some(Slot::Hero) {
            let keep_name = first.name.is_none() && changing;
            let name = if keep_name { draft.hero.name.take() } else { first.name.clone() };
            draft.hero = Character { name, ..first };
            learned.push(hero_phrase(&draft.hero));
        } else if draft.hero.kind.is_none() && first.name.is_none() && first.kind.is_some() {
            draft.hero.kind = first.kind.clone();
            learned.push(hero_phrase(&draft.hero));
        } else if first.kind != draft.hero.kind || first.name != draft.hero.name {
            add_friend(draft, first, limits, &mut learned);
        }
    }
    for friend in people {
        add_friend(draft, friend, limits, &mut learned);
    }
    if let Some(place) = heard
        .setting
        .or_else(|| (draft.asked == Some(Slot::Setting) && !dont_mind).then(|| free_setting(lower)).flatten())
    {
        learned.push(where_phrase(&place));
        draft.setting = Some(place);
    }
    let style = heard.style.or_else(|| {
        (draft.asked == Some(Slot::Style))
            .then(|| lower.split_whitespace().find_map(|w| w.parse::<Style>().ok()))
            .flatten()
    });
    if let Some(style) = style {
        learned.push(format!("a {} story", style.as_str()));
        draft.style = Some(style);
    }
    let scenes = heard
        .num_scenes
        .or_else(|| (draft.asked == Some(Slot::NumScenes)).then(|| length_answer(lower, limits)).flatten());
    if let Some(n) = scenes {
        let n = SceneCount::saturating(i64::from(n)).min(limits.max_scenes);
        learned.push(format!("{n} parts"));
        draft.num_scenes = Some(n);
    }
    if let Some(age) = heard.age.and_then(|a| Age::new(i64::from(a)).ok()) {
        draft.age = Some(age);
    }
    if heard.wish.is_some() {
        draft.wish = heard.wish;
    }
    if let Some(title) = title_answer(text) {
        learned.push(format!("called \"{title}\""));
        draft.title = Some(title);
    }
    // "You choose": fill the slot we asked about with a sensible default.
    if dont_mind && learned.is_empty() {
        match draft.asked {
            Some(Slot::Hero) => {
                draft.hero = Character { name: Some("Pip".into()), kind: Some("dragon".into()), trait_word: None }
            }
            Some(Slot::Setting) => draft.setting = Some(Place::Known(Setting::Forest)),
            Some(Slot::Style) => draft.style = Some(Style::Fantasy),
            Some(Slot::NumScenes) => draft.num_scenes = Some(limits.default_scenes),
            None => {}
        }
        if draft.asked.is_some() {
            learned.push("I'll pick".into());
        }
    }
    (!learned.is_empty()).then(|| learned.join(", "))
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

fn free_setting(lower: &str) -> Option<Place> {
    if not_a_place(lower) {
        return None;
    }
    let trimmed = lower.trim_matches(|c: char| !c.is_alphanumeric());
    let place = ["in the ", "in a ", "at the ", "on the ", "on a ", "under the ", "the ", "a "]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p))
        .unwrap_or(trimmed);
    let words = place.split_whitespace().count();
    (1..=6).contains(&words).then(|| Place::parse(place).ok()).flatten()
}

fn length_answer(lower: &str, limits: &AgentLimits) -> Option<u8> {
    if lower.contains("short") || lower.contains("little") {
        return Some(3.min(limits.max_scenes.get()));
    }
    if lower.contains("medium") || lower.contains("middle") {
        return Some(5.min(limits.max_scenes.get()));
    }
    if lower.contains("long") || lower.contains("big") {
        return Some(8.min(limits.max_scenes.get()));
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
    text.char_indices()
        .map(|(i, _)| i)
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

fn next_step(draft: &mut Draft, learned: Option<String>) -> Turn {
    if draft.ready() {
        draft.asked = None;
        draft.confirming = true;
        let lead = learned.map_or(String::new(), |l| format!("Lovely, {l}! "));
        return say(&format!("{lead}{}", summary(draft)));
    }
    draft.confirming = false;
    let question = ask(draft);
    match learned {
        Some(l) => say(&format!("Ooh, {l}! {question}")),
        None if draft.words.len() <= 1 => say(&format!("Hi, I'm Mimi! Let's make a story together. {question}")),
        None => say(&format!("Hmm, I didn't quite catch that. {question}")),
    }
}

#[cfg(test)]
mod utterances;

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: AgentLimits = AgentLimits {
        max_prompt_chars: 2000,
        max_title_chars: 120,
        max_scenes: SceneCount::MAX,
        default_scenes: SceneCount::DEFAULT,
        max_companions: 4,
    };

    fn talk(lines: &[&str]) -> (Draft, Vec<Turn>) {
        let mut draft = Draft::default();
        let turns = lines.iter().map(|l| respond(&mut draft, l, &LIMITS)).collect();
        (draft, turns)
    }

    #[test]
    fn a_friend_named_again_is_the_same_friend_and_friends_are_capped() {
        // Found by the WebSocket bench: said in a loop, the same friend was added every time
        // (50 companions after 200 messages, each turn's draft and events growing with them).
        let lines: Vec<&str> =
            ["a dragon called Pip", "in a castle", "a unicorn called Sky", "under the sea"].repeat(50);
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
        assert!(
            turns[1].reply.contains("Pip the dragon") && turns[1].reply.contains("Where does"),
            "{}",
            turns[1].reply
        );
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
            ("Luna the unicorn", |d| {
                d.hero.name.as_deref() == Some("Luna") && d.hero.kind.as_deref() == Some("unicorn")
            }),
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
            ("puppies on a farm", |d| d.hero.kind.as_deref() == Some("dog") && d.place() == Some("farm")),
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
        assert_eq!(draft.place(), Some("magical land of clouds"));
        assert_eq!(draft.style, Some(Style::Fantasy));
        assert_eq!(draft.scenes(), Some(3));
        let (draft, _) = talk(&["a fox", "you choose"]);
        assert_eq!(draft.place(), Some("forest"));
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
}
