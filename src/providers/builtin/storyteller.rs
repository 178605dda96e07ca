//! The builtin storyteller: an offline `Llm` that writes real children's stories from the
//! request. It casts the story (hero, companion, setting, quest) from the child's words, plans
//! a beginning, middle and end, and fills scene templates. Deterministic per story id.

use super::art::{self, Family, Hat};
use super::looks;
use super::phrases::{self, SettingBank, StyleBank};
use super::rng::Rng;
use actors::model::{Character, CharacterSheet, Place, SceneDraft, ScenePlan, Setting, StoryId, StoryPlan, StorySpec};
use actors::ports::{Llm, ProviderError, Rejection, SceneRequest, TextSoFar};
use actors::requirements::{self, capitalise};
use async_trait::async_trait;
use std::time::Duration;

/// Scenes shorter than this get extra description; the builtin aims at 60–200 words.
const MIN_WORDS: usize = 70;
const MAX_WORDS: usize = 200;

pub struct Storyteller {
    /// Pretend to think for this long per call (demos, crash/resume tests).
    delay: Duration,
}

impl Storyteller {
    pub fn new(delay: Duration) -> Self {
        Self { delay }
    }

    async fn think(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

#[async_trait]
impl Llm for Storyteller {
    fn name(&self) -> &str {
        "builtin"
    }

    async fn plan_story(&self, story_id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        self.think().await;
        Ok(plan(story_id, spec))
    }

    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        self.think().await;
        written(request)
    }

    /// The scene told a sentence at a time, the thinking time spread over its sentences (the
    /// whole call takes as long as `write_scene`).
    async fn stream_scene(
        &self,
        request: SceneRequest<'_>,
        _rejected: Option<Rejection>,
        so_far: TextSoFar<'_>,
    ) -> Result<SceneDraft, ProviderError> {
        let draft = written(request)?;
        let bytes = draft.text.as_bytes();
        let mut ends: Vec<usize> =
            (1..bytes.len()).filter(|&i| matches!(bytes[i - 1], b'.' | b'!' | b'?') && bytes[i] == b' ').collect();
        ends.push(bytes.len());
        // Each sentence at its share of the delay from the start, so a late wake-up (a busy
        // machine) does not push the later ones back too.
        let (start, count) = (tokio::time::Instant::now(), ends.len() as u32);
        for (told, end) in (1..).zip(ends) {
            if !self.delay.is_zero() {
                tokio::time::sleep_until(start + self.delay * told / count).await;
            }
            so_far(&draft.text[..end]);
        }
        Ok(draft)
    }
}

/// Scene `request.index` of its plan, or why there is none.
fn written(request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
    let total = request.plan.scenes.len();
    if request.index >= total {
        return Err(ProviderError::permanent(format!("scene {} of a {total}-scene plan", request.index + 1)));
    }
    let take = request.redo.map_or(0, |redo| redo.take);
    Ok(write(request.story_id, request.spec, request.plan, (request.index, take)))
}

/// Who and where the story is about, fixed for a story id.
struct Cast {
    seed: u64,
    hero: String,
    kind: String,
    trait_word: String,
    companion: String,
    companion_kind: String,
    /// The other friends the child named, as said back ("Nibbles the mouse", "a wolf").
    others: Vec<String>,
    /// The place's words: a bank's, or the child's own for a place no bank knows.
    setting: &'static SettingBank,
    place: String,
    /// The place in words the illustrator recognises ("the snow", "a castle"), or the child's.
    where_: String,
    object: String,
    guardian: (&'static str, &'static str),
    small: (&'static str, &'static str),
    gift: &'static str,
    hobby: &'static str,
    lesson: &'static str,
    time: &'static str,
    landmark: &'static str,
    wish: Option<String>,
    style: &'static StyleBank,
    /// How the hero and the friend look in every picture (the character sheet).
    hero_look: String,
    companion_look: String,
}

/// Whether a kind of character already wears a hat or crown of its own (a knight, a princess).
fn has_hat(kind: &str) -> bool {
    matches!(art::family(kind), Family::Person { hat } if hat != Hat::None)
}

fn cast(story_id: StoryId, spec: &StorySpec) -> Cast {
    let seed = Rng::seed_of(story_id.0.as_bytes());
    let mut rng = Rng::new(seed);
    let asked = &spec.cast;
    // The colours the child said, in their own words ("a purple dragon").
    let said = format!("{}. {}", spec.title.as_deref().unwrap_or(""), spec.prompt);
    let style = phrases::STYLES.iter().find(|b| b.style == spec.style).unwrap_or(&phrases::STYLES[0]);
    // Someone the child named without saying what they are is a child ("Hansel", "Dick
    // Whittington"); a kind nobody named is the style's.
    let kind_of = |c: &Character, rng: &mut Rng, choices: &[&'static str]| {
        c.kind
            .clone()
            .unwrap_or_else(|| if c.name.is_some() { "child".into() } else { rng.pick_str(choices).to_owned() })
    };
    let kind = kind_of(&asked.hero, &mut rng, style.kinds);
    let hero = asked.hero.name.clone().unwrap_or_else(|| rng.pick_str(phrases::NAMES).to_owned());
    let trait_word = asked.hero.trait_word.clone().unwrap_or_else(|| rng.pick_str(phrases::TRAITS).to_owned());
    // The hero said twice is still one character, not their own friend.
    let friend = asked.companions.iter().find(|c| match &c.name {
        Some(name) => *name != hero,
        None => c.kind.as_deref() != Some(kind.as_str()),
    });
    let kinds = ["owl", "rabbit", "mouse", "turtle", "squirrel", "hedgehog", "robot", "frog"];
    let choices: Vec<&str> = kinds.into_iter().filter(|k| *k != kind).collect();
    let companion_kind = match friend {
        Some(friend) => kind_of(friend, &mut rng, &choices),
        None => rng.pick_str(&choices).to_owned(),
    };
    let others = asked
        .companions
        .iter()
        .filter(|c| friend.is_none_or(|f| !std::ptr::eq(*c, f)) && c.name.as_deref() != Some(hero.as_str()))
        .map(|c| match (&c.name, &c.kind) {
            (Some(n), Some(k)) => format!("{n} the {k}"),
            (Some(n), None) => n.clone(),
            (None, Some(k)) => format!("a {k}"),
            (None, None) => "a friend".into(),
        })
        .collect();
    let companion = friend.and_then(|c| c.name.clone()).unwrap_or_else(|| {
        let choices: Vec<&str> = phrases::NAMES.iter().copied().filter(|n| *n != hero).collect();
        rng.pick_str(&choices).to_owned()
    });
    let place = asked.place.clone().unwrap_or_else(|| Place::Known(*rng.pick(style.settings)));
    // "wanted to find a house made of sweets": that is what the quest is for.
    let sought = asked.wish.as_deref().and_then(|w| {
        ["wanted to find ", "wanted to look for ", "wanted to search for "].iter().find_map(|p| w.strip_prefix(p))
    });
    let (setting, place, where_) = match place {
        Place::Known(known) => {
            (phrases::bank(known), rng.pick_str(phrases::bank(known).names).to_owned(), where_words(known))
        }
        Place::Other(words) => {
            let noun = place_noun(&words);
            (&phrases::ELSEWHERE, noun.clone(), noun)
        }
    };
    // Looks from the colours the child said, else from the seed; the friend in another colour.
    let (hero_look, hero_colour) = looks::invent(&kind, looks::asked_colour(&said, &kind), &[], has_hat(&kind), seed);
    let companion_colour = looks::asked_colour(&said, &companion_kind).filter(|_| companion_kind != kind);
    let (companion_look, _) =
        looks::invent(&companion_kind, companion_colour, &[hero_colour], has_hat(&companion_kind), seed ^ 0xc0);
    Cast {
        hero_look,
        companion_look,
        seed,
        place,
        where_,
        object: sought.map_or_else(|| rng.pick_str(style.objects).to_owned(), str::to_owned),
        guardian: *rng.pick(style.guardians),
        small: *rng.pick(phrases::SMALL_FRIENDS),
        gift: rng.pick_str(phrases::GIFTS),
        hobby: rng.pick_str(phrases::HOBBIES),
        lesson: rng.pick_str(style.lessons),
        time: rng.pick_str(phrases::TIMES),
        landmark: rng.pick_str(phrases::LANDMARKS),
        wish: asked.wish.clone(),
        hero,
        kind,
        trait_word,
        companion,
        companion_kind,
        others,
        setting,
        style,
    }
}

/// A setting in words the illustrator recognises ("the snow", "a castle", "space").
fn where_words(setting: Setting) -> String {
    match setting {
        Setting::Space => "space".into(),
        Setting::Castle | Setting::Island | Setting::Garden | Setting::Farm | Setting::Cave => format!("a {setting}"),
        other => format!("the {other}"),
    }
}

/// A place the child named, as a noun the sentences can hold ("in {place}", "the heart of
/// {place}"): "in the clouds" → "the clouds", "under a bridge" → "the land under a bridge".
fn place_noun(words: &str) -> String {
    let lower = words.to_lowercase();
    for lead in ["in ", "at ", "on ", "inside "] {
        if lower.starts_with(lead) {
            return words.get(lead.len()..).unwrap_or(words).trim().to_owned();
        }
    }
    let first = lower.split_whitespace().next().unwrap_or_default();
    if ["under", "near", "by", "above", "beside", "behind", "beyond", "below", "over"].contains(&first) {
        return format!("the land {words}");
    }
    words.to_owned()
}

/// What each scene of an `n`-scene story does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Whole,
    Opening,
    Companion,
    Episode(usize),
    Climax,
    /// The last scene of a two-scene story: the challenge and the way home together.
    ClimaxAndHome,
    Ending,
}

fn roles(cast: &Cast, n: usize) -> Vec<Role> {
    match n {
        0 => vec![],
        1 => vec![Role::Whole],
        2 => vec![Role::Opening, Role::ClimaxAndHome],
        _ => {
            let mut episodes: Vec<usize> = (0..phrases::EPISODES.len()).collect();
            Rng::new(cast.seed ^ 0xe915).shuffle(&mut episodes);
            let mut roles = vec![Role::Opening];
            let middle = n - 3;
            if middle > 0 {
                roles.push(Role::Companion);
            }
            roles.extend((0..middle.saturating_sub(1)).map(|i| Role::Episode(episodes[i % episodes.len()])));
            roles.extend([Role::Climax, Role::Ending]);
            roles
        }
    }
}

pub(super) fn plan(story_id: StoryId, spec: &StorySpec) -> StoryPlan {
    let cast = cast(story_id, spec);
    let n = usize::from(spec.num_scenes);
    let scenes = roles(&cast, n)
        .into_iter()
        .map(|role| {
            let (title, outline) = match role {
                Role::Whole => {
                    ("{H}'s Adventure", "{H} the {k} finds {obj} in {where} with {C} and learns that {lesson}.")
                }
                Role::Opening => ("{H} Sets Off", "{H} the {k} sets off from {place}, in {where}, to find {obj}."),
                Role::Companion => ("A New Friend", "{H} meets {C} the {ck}, who joins the quest."),
                Role::Episode(i) => (phrases::EPISODES[i].title, "{H} and {C} face a new surprise on the way."),
                Role::Climax | Role::ClimaxAndHome => ("The Final Challenge", "{H} faces {guardian} and finds {obj}."),
                Role::Ending => ("Home Again", "{H} goes home to {home} and learns that {lesson}."),
            };
            ScenePlan { title: fill(title, &cast, 0), outline: requirements::fix_articles(&fill(outline, &cast, 0)) }
        })
        .collect();
    let title = spec.title.clone().unwrap_or_else(|| {
        let patterns = ["{H} and {obj}", "The {T} {K} of {place}", "{H}'s Big Adventure"];
        let pattern: &str = Rng::new(cast.seed ^ 0x717e).pick_str(&patterns);
        title_case(&fill(pattern, &cast, 0))
    });
    let characters = vec![
        CharacterSheet { name: cast.hero.clone(), kind: cast.kind.clone(), look: cast.hero_look.clone() },
        CharacterSheet {
            name: cast.companion.clone(),
            kind: cast.companion_kind.clone(),
            look: cast.companion_look.clone(),
        },
    ];
    StoryPlan { title, scenes, characters }
}

/// The character sheet the offline storyteller would give this story: for a plan that came
/// without one (a model that did not say how its characters look).
pub fn characters(story_id: StoryId, spec: &StorySpec) -> Vec<CharacterSheet> {
    plan(story_id, spec).characters
}

/// Scene `index` of the story planned as `plan` (its titles are the plan's): its `take`th
/// version (0 the first; a page redone is told with other words and details).
fn write(story_id: StoryId, spec: &StorySpec, plan: &StoryPlan, (index, take): (usize, u32)) -> SceneDraft {
    let total = plan.scenes.len();
    let cast = cast(story_id, spec);
    let roles = roles(&cast, total);
    let role = roles.get(index).copied().unwrap_or(Role::Ending);
    let variant = Rng::new(cast.seed ^ 0xa17 ^ u64::from(take).wrapping_mul(0x9e37_79b9)).below(2);
    let take = take as usize;
    let mut lines: Vec<&str> = match role {
        Role::Whole => phrases::WHOLE.to_vec(),
        Role::Opening => phrases::OPENINGS[variant % phrases::OPENINGS.len()].to_vec(),
        Role::Companion => phrases::MEET_COMPANION.lines.to_vec(),
        Role::Episode(i) => phrases::EPISODES[i].lines.to_vec(),
        Role::Climax => phrases::CLIMAX.lines.to_vec(),
        Role::ClimaxAndHome => {
            let mut l = phrases::CLIMAX.lines.to_vec();
            l.extend([
                "Then {H} and {C} went home to {home}, happy and tired.",
                "{wish_end}",
                "{H} had learned that {lesson}. The end.",
            ]);
            l
        }
        Role::Ending => phrases::ENDINGS[variant % phrases::ENDINGS.len()].to_vec(),
    };
    // Short stories never had a scene where the friend joined: introduce them at the start.
    if role == Role::Opening && !roles.contains(&Role::Companion) {
        lines.push("{H}'s best friend, {C} the {ck}, came along too.");
        lines.push("{others_line}");
    }
    // Every friend the child named is in the story, from the scene where friends meet.
    match role {
        Role::Companion => lines.insert(1, "{others_line}"),
        Role::Whole => lines.insert(4, "{others_line}"),
        _ => {}
    }
    let mut text = requirements::fix_articles(
        &lines.iter().map(|l| fill(l, &cast, index + 3 * take)).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "),
    );
    let pool: Vec<&str> = cast.setting.details.iter().chain(cast.style.flavour).copied().collect();
    // A page told again says something new about the place, after its first sentence.
    let fresh: Vec<&str> = pool.iter().copied().filter(|s| !text.contains(s)).collect();
    if take > 0
        && !fresh.is_empty()
        && let Some(first) = text.find(". ")
    {
        // One after another, so two takes in a row never say the same.
        text.insert_str(first + 2, &format!("{} ", fresh[(index + take) % fresh.len()]));
    }
    // Pad thin scenes with description of the place, never with filler.
    let mut extra = 1;
    while words(&text) < MIN_WORDS && extra <= pool.len() {
        let sentence = pool[(index + take + extra) % pool.len()];
        if !text.contains(sentence) {
            text.push(' ');
            text.push_str(sentence);
        }
        extra += 1;
    }
    if words(&text) > MAX_WORDS {
        text = text
            .split_inclusive(". ")
            .scan(0, |n, s| {
                *n += words(s);
                (*n <= MAX_WORDS).then_some(s)
            })
            .collect::<String>();
    }
    let title = match role {
        Role::Episode(i) => phrases::EPISODES[i].title.to_owned(),
        _ => plan.scenes.get(index).map(|s| s.title.clone()).unwrap_or_default(),
    };
    SceneDraft { title, text }
}

fn is_fear(wish: &str) -> bool {
    ["afraid", "scared", "frightened", "worried", "shy", "nervous", "could not"].iter().any(|w| wish.contains(w))
}

/// How the story answers the hero's wish in its last scene.
fn wish_fulfilled(hero: &str, wish: &str) -> String {
    if let Some(rest) = wish.strip_prefix("wanted to ") {
        format!("And best of all, {hero} finally got to {rest}.")
    } else if let Some(rest) = wish.strip_prefix("could not ") {
        format!("And guess what? Now {hero} could {rest} after all.")
    } else if is_fear(wish) {
        format!("{hero} was not so {} any more.", wish.trim_start_matches("was ").split(' ').next().unwrap_or("scared"))
    } else {
        format!("{hero} still {wish}, and that was just right.")
    }
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn title_case(s: &str) -> String {
    const SMALL: [&str; 9] = ["a", "an", "of", "the", "and", "that", "for", "to", "in"];
    s.split(' ')
        .enumerate()
        .map(|(i, w)| if i > 0 && SMALL.contains(&w) { w.to_owned() } else { capitalise(w) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replace `{key}` placeholders from the cast; `index` varies per-scene description.
fn fill(template: &str, cast: &Cast, index: usize) -> String {
    let details = cast.setting.details;
    let value = |key: &str| -> String {
        match key {
            "H" => cast.hero.clone(),
            "k" => cast.kind.clone(),
            "K" => capitalise(&cast.kind),
            "t" => cast.trait_word.clone(),
            "T" => capitalise(&cast.trait_word),
            "C" => cast.companion.clone(),
            "ck" => cast.companion_kind.clone(),
            "place" => cast.place.clone(),
            "obj" => cast.object.clone(),
            "Obj" => title_case(&cast.object),
            // The setting in words the illustrator recognises ("the snow", "a castle").
            "where" => cast.where_.clone(),
            "obstacle" => cast.setting.obstacle.to_owned(),
            "home" => cast.setting.home.to_owned(),
            "guardian" => cast.guardian.0.to_owned(),
            "resolution" => cast.guardian.1.to_owned(),
            "small" => cast.small.0.to_owned(),
            "stuck" => cast.small.1.to_owned(),
            "gift" => cast.gift.to_owned(),
            "hobby" => cast.hobby.to_owned(),
            "lesson" => cast.lesson.to_owned(),
            "time" => cast.time.to_owned(),
            "landmark" => cast.landmark.to_owned(),
            "detail" => details[index % details.len()].to_owned(),
            "flavour" => cast.style.flavour[index % cast.style.flavour.len()].to_owned(),
            "wish_line" => match &cast.wish {
                Some(w) => format!("But {} {w}.", cast.hero),
                None => format!("More than anything, {} wanted to find {}.", cast.hero, cast.object),
            },
            "fear_line" => match cast.wish.as_deref().filter(|w| is_fear(w)) {
                Some(w) => format!("Even a {} who {w} can be brave when it matters, {} thought.", cast.kind, cast.hero),
                None => format!("{} remembered every brave thing they had done on this journey.", cast.hero),
            },
            "wish_end" => cast.wish.as_deref().map(|w| wish_fulfilled(&cast.hero, w)).unwrap_or_default(),
            "others_line" => match cast.others.as_slice() {
                [] => String::new(),
                [one] => format!("{one} came along as well."),
                [first @ .., last] => format!("{} and {last} came along as well.", first.join(", ")),
            },
            other => format!("{{{other}}}"),
        }
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push_str(&value(&rest[open + 1..open + close]));
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
