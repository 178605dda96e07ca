//! Reading what a child asked for out of free text: the hero and their kind, companions,
//! setting, style, number of scenes and age. Used by the builtin storyteller today and by
//! the conversation agent to fill its draft.

pub use crate::model::Character;
use crate::model::{Age, Place, SceneCount, Setting, SpecRequest, StoryCast, Style};
use serde::{Deserialize, Serialize};

/// Everything that could be read from the text; absent fields were not mentioned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub hero: Character,
    pub companions: Vec<Character>,
    pub setting: Option<Place>,
    /// A style the child named ("funny", "a bedtime story").
    pub style: Option<Style>,
    /// A style the story's ingredients suggest (a dragon → fantasy), when none was named.
    pub style_hint: Option<Style>,
    pub num_scenes: Option<u8>,
    pub age: Option<u8>,
    /// What the hero wants or fears, as a verb phrase in the past tense ("wanted to fly").
    pub wish: Option<String>,
}

/// Singular kinds, with the plural or diminutive forms children use.
const KINDS: &[(&str, &[&str])] = &[
    ("dragon", &["dragons", "dragón", "drache", "drachen", "dragone", "drago"]),
    ("unicorn", &["unicorns", "unicornio", "licorne", "einhorn", "unicorno"]),
    ("fox", &["foxes", "zorro", "renard", "fuchs", "volpe"]),
    ("robot", &["robots", "roboter", "robô"]),
    ("cat", &["cats", "kitten", "kitty", "kittens", "gato", "gata", "chat", "chatte", "katze", "kater", "gatto"]),
    ("dog", &["dogs", "puppy", "puppies", "doggy", "perro", "chien", "hund", "cane"]),
    ("bear", &["bears", "teddy", "oso", "ours", "bär", "baer", "orso"]),
    ("rabbit", &["rabbits", "bunny", "bunnies", "conejo", "lapin", "hase", "coniglio"]),
    ("owl", &["owls", "búho", "hibou", "chouette", "eule", "gufo"]),
    ("mouse", &["mice", "ratón", "souris", "maus", "topo"]),
    ("lion", &["lions", "león", "löwe", "leone"]),
    ("tiger", &["tigers"]),
    ("elephant", &["elephants"]),
    ("monkey", &["monkeys"]),
    ("penguin", &["penguins"]),
    ("dinosaur", &["dinosaurs", "dino", "t-rex"]),
    ("turtle", &["turtles", "tortoise"]),
    ("whale", &["whales"]),
    ("dolphin", &["dolphins"]),
    ("horse", &["horses", "pony", "ponies"]),
    ("frog", &["frogs"]),
    ("bird", &["birds"]),
    ("squirrel", &["squirrels"]),
    ("hedgehog", &["hedgehogs"]),
    ("octopus", &["octopuses"]),
    ("princess", &["princesses", "princesa", "princesse", "prinzessin", "principessa"]),
    ("prince", &["princes"]),
    ("knight", &["knights"]),
    ("pirate", &["pirates"]),
    ("wizard", &["wizards"]),
    ("witch", &["witches"]),
    ("fairy", &["fairies"]),
    ("mermaid", &["mermaids"]),
    ("astronaut", &["astronauts"]),
    ("alien", &["aliens"]),
    ("monster", &["monsters"]),
    ("giant", &["giants"]),
    ("pig", &["pigs", "piglet", "piggy"]),
    ("cow", &["cows", "calf"]),
    ("sheep", &["lamb", "lambs"]),
    ("goat", &["goats"]),
    ("duck", &["ducks", "duckling", "ducklings"]),
    ("chicken", &["chickens", "hen", "hens", "chick", "chicks"]),
    ("panda", &["pandas"]),
    ("giraffe", &["giraffes"]),
    ("zebra", &["zebras"]),
    ("koala", &["koalas"]),
    ("kangaroo", &["kangaroos"]),
    ("hippo", &["hippos", "hippopotamus"]),
    ("crocodile", &["crocodiles", "alligator", "alligators"]),
    ("shark", &["sharks"]),
    ("seal", &["seals"]),
    ("crab", &["crabs"]),
    ("bee", &["bees", "bumblebee"]),
    ("butterfly", &["butterflies"]),
    ("ladybird", &["ladybirds", "ladybug", "ladybugs"]),
    ("snail", &["snails"]),
    ("caterpillar", &["caterpillars"]),
    ("parrot", &["parrots"]),
    ("sloth", &["sloths"]),
    ("raccoon", &["raccoons"]),
    ("deer", &["reindeer", "fawn"]),
    ("wolf", &["wolves"]),
    ("girl", &["girls"]),
    ("boy", &["boys"]),
    ("child", &["children", "kid", "kids"]),
    ("detective", &["detectives"]),
    ("ghost", &["ghosts"]),
];

/// Setting keywords, mapped to the setting the story and pictures use.
const SETTINGS: &[(Setting, &[&str])] = &[
    (Setting::Forest, &["forest", "woods", "wood", "trees"]),
    (Setting::Castle, &["castle", "palace", "kingdom", "tower"]),
    (Setting::Sea, &["sea", "ocean", "beach", "underwater", "waves", "ship", "boat"]),
    (Setting::Space, &["space", "planet", "planets", "stars", "moon", "rocket", "galaxy", "spaceship"]),
    (Setting::City, &["city", "town", "streets", "street"]),
    (Setting::Snow, &["snow", "snowy", "ice", "icy", "arctic", "winter", "north pole"]),
    (Setting::Jungle, &["jungle", "rainforest"]),
    (Setting::Desert, &["desert", "sand", "dunes"]),
    (Setting::Mountains, &["mountain", "mountains", "hills", "volcano"]),
    (Setting::Island, &["island"]),
    (Setting::Garden, &["garden", "park", "meadow"]),
    (Setting::Farm, &["farm", "barn"]),
    (Setting::Cave, &["cave", "caves", "underground"]),
];

/// Setting words that describe rather than name a place: used only when no place is named.
const WEAK_SETTING_WORDS: &[&str] =
    &["snowy", "icy", "winter", "sandy", "stars", "trees", "waves", "sand", "ice", "street"];

/// Words that name a style outright ("make it funny").
const STYLE_WORDS: &[(Style, &[&str])] = &[
    (Style::Bedtime, &["bedtime", "sleepy", "lullaby", "calm", "gentle", "goodnight"]),
    (Style::Funny, &["funny", "silly", "giggle", "laugh", "hilarious", "jokes", "funniest"]),
    (Style::Mystery, &["mystery", "detective", "clue", "clues", "spooky", "scary", "solve", "secret"]),
    (Style::SciFi, &["sci-fi", "scifi", "futuristic", "science"]),
    (Style::Fantasy, &["magic", "magical", "fantasy", "fairytale", "enchanted", "spell", "spells"]),
    (Style::Animals, &["animals", "animal"]),
    (Style::Adventure, &["adventure", "adventures", "treasure", "explore", "journey", "quest"]),
];

/// Words that only suggest a style (a dragon suggests fantasy, a rocket sci-fi).
const STYLE_HINTS: &[(Style, &[&str])] = &[
    (Style::SciFi, &["space", "robot", "robots", "future", "alien", "aliens", "rocket", "planet", "astronaut"]),
    (Style::Fantasy, &["wizard", "dragon", "unicorn", "fairy", "witch", "castle", "princess", "knight", "mermaid"]),
    (Style::Adventure, &["pirate", "pirates", "island", "jungle", "map"]),
    (Style::Animals, &["farm", "zoo", "pets", "puppy", "kitten"]),
    (Style::Mystery, &["missing", "ghost", "lost"]),
    (Style::Bedtime, &["sleep", "night", "moon", "stars"]),
];

const TRAITS: &[&str] = &[
    "brave", "shy", "curious", "clever", "kind", "sleepy", "grumpy", "silly", "tiny", "little", "big", "happy", "sad",
    "lonely", "friendly", "cheeky", "gentle", "clumsy", "bold", "smart", "young", "old", "magic", "magical", "purple",
    "green", "blue", "red", "pink", "golden", "silver", "fluffy", "cheerful",
];

const NUMBERS: &[(&str, u8)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
];

/// Words that look like names (capitalised) but are not.
const NOT_NAMES: &[&str] = &[
    "I", "A", "An", "The", "And", "But", "Can", "Please", "Make", "Tell", "Once", "Yes", "No", "Okay", "Ok", "My",
    "Our", "She", "He", "They", "It", "There", "Then", "What", "Who", "Where", "When", "Let", "Write", "Story",
    "Maybe", "Actually", "Hi", "Hello", "Mummy", "Mommy", "Daddy", "Mum", "Mom", "Dad",
];

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn kind_of(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    KINDS.iter().find(|(k, alts)| *k == w || alts.contains(&w.as_str())).map(|(k, _)| *k)
}

/// Frequent words a typo-tolerant match must never turn into a kind or a place ("house" is
/// not a misspelt "horse", "sleep" not "sheep").
const NOT_TYPOS: &[&str] = &[
    "house", "horses", "sleep", "sleepy", "there", "their", "where", "these", "those", "other", "about", "after",
    "again", "under", "while", "story", "today", "happy", "funny", "magic", "night", "light", "right", "green",
    "water", "world", "still", "think", "place", "little", "people", "really", "please", "bread", "beard", "forests",
    "hours", "mousse", "princes", "towers", "beaches", "cities", "parks", "court", "coast", "tigers", "start", "short",
    "smart", "sport", "spark", "stair", "ready", "great", "cloud", "sound", "round", "seven", "wants",
];

/// One letter added, removed, changed, or two neighbours swapped.
fn one_edit_apart(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        // Every message tries every place name: compare bytes, no copies.
        return edit_apart(a.as_bytes(), b.as_bytes());
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    edit_apart(&a, &b)
}

fn edit_apart<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// A misspelt word of five letters or more, read as the one candidate it is one edit from.
fn typo_of<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_lowercase();
    if w.chars().count() < 5 || NOT_TYPOS.contains(&w.as_str()) || !w.chars().all(char::is_alphabetic) {
        return None;
    }
    candidates.filter(|c| c.chars().count() >= 5).find(|c| one_edit_apart(&w, c))
}

/// The kind a word names, forgiving one typo in longer words ("dragn", "unicron").
fn kind_or_typo(word: &str) -> Option<&'static str> {
    kind_of(word).or_else(|| {
        let all = KINDS.iter().flat_map(|(k, alts)| std::iter::once(*k).chain(alts.iter().copied()));
        typo_of(word, all).and_then(kind_of)
    })
}

/// Words that introduce a character's name, in the languages children speak to us in.
const CALLED: &[&str] = &[
    "called", "named", "llamado", "llamada", "appelé", "appelée", "appele", "appelee", "namens", "chiamato", "chiamata",
];

/// Words after which a name follows though no kind does: "his name is Ember", "se llama Pip",
/// "s'appelle Minou", "di nome Bruno".
const NAME_IS: &[&str] = &["llama", "s'appelle", "appelle", "nome"];

/// Small words that are never names, even in a lower-case transcript.
const NOT_NAME_WORDS: &[&str] = &[
    "a", "an", "the", "and", "but", "very", "really", "so", "is", "was", "in", "on", "at", "who", "that", "my", "his",
    "her", "its", "their", "of", "to", "it", "he", "she", "they", "not", "like", "about", "with", "please",
];

/// A name as a child's transcript may spell it: "pip" and "PIP" are "Pip".
fn as_name(word: &str) -> Option<String> {
    if looks_like_name(word) {
        return Some(word.to_owned());
    }
    let lower = word.to_lowercase();
    let plain = word.chars().all(char::is_alphabetic) && (word == lower || word == word.to_uppercase());
    (plain && word.chars().count() > 1 && !NOT_NAME_WORDS.contains(&lower.as_str()) && kind_of(word).is_none())
        .then(|| capitalise(&lower))
}

fn number(word: &str) -> Option<u8> {
    let w = word.to_lowercase();
    w.parse().ok().or_else(|| NUMBERS.iter().find(|(n, _)| *n == w).map(|(_, v)| *v))
}

fn looks_like_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.all(|c| c.is_lowercase() || c == '\'' || c == '-')
        && word.len() > 1
        && !NOT_NAMES.contains(&word)
        && kind_of(word).is_none()
}

impl Extracted {
    /// Who, where and what for, as the storytellers take it.
    pub fn cast(&self) -> StoryCast {
        StoryCast {
            hero: self.hero.clone(),
            companions: self.companions.clone(),
            place: self.setting.clone(),
            wish: self.wish.clone(),
        }
    }
}

/// A story request as far as free text says it: the cast, and the style, length and age it
/// names when they are ones the service writes (anything else is left to the defaults).
pub fn request_from(prompt: &str) -> SpecRequest {
    let heard = extract(prompt);
    SpecRequest {
        title: None,
        prompt: prompt.to_owned(),
        cast: heard.cast(),
        style: heard.style.or(heard.style_hint),
        num_scenes: heard.num_scenes.map(i64::from).filter(|n| SceneCount::new(*n).is_ok()),
        age: heard.age.map(i64::from).filter(|a| Age::new(*a).is_ok()),
        language: None,
    }
}

/// Read everything we can from `text`.
pub fn extract(text: &str) -> Extracted {
    let toks = tokens(text);
    let lower: Vec<String> = toks.iter().map(|t| t.to_lowercase()).collect();
    let mut out = Extracted::default();
    let mut characters: Vec<(usize, Character)> = Vec::new();

    for (i, word) in lower.iter().enumerate() {
        // "not a dragon, a fox": the dragon is what the child does not want.
        let negated = i >= 2 && lower[i - 2] == "not" && matches!(lower[i - 1].as_str(), "a" | "an" | "the");
        // French "chat" only after an article ("un chat"); in English it is talk.
        let french_only = word == "chat"
            && !(i >= 1 && ["un", "le", "mon", "ton", "son", "ce", "petit", "du"].contains(&lower[i - 1].as_str()));
        if negated || french_only {
            continue;
        }
        if let Some(kind) = kind_or_typo(word) {
            // "a fox called Ruby" / "a fox named Ruby" / "un gato llamado Michi"
            let after = match (lower.get(i + 1).map(String::as_str), toks.get(i + 2)) {
                (Some(called), Some(n)) if CALLED.contains(&called) => as_name(n),
                _ => None,
            };
            // "my cat Whiskers"
            let after = after.or_else(|| toks.get(i + 1).filter(|n| looks_like_name(n)).cloned());
            // "Pip the dragon"
            let before =
                (i >= 2 && lower[i - 1] == "the" && looks_like_name(&toks[i - 2])).then(|| toks[i - 2].clone());
            let trait_word = (1..=2)
                .filter_map(|d| i.checked_sub(d))
                .map(|j| lower[j].as_str())
                .find(|w| TRAITS.contains(w))
                .map(str::to_owned);
            characters.push((i, Character { name: after.or(before), kind: Some(kind.to_owned()), trait_word }));
        }
    }
    // "my name is Lily", "her name is Zoe", "called Max" without a kind; "his name is Ember",
    // "que se llama Pip", "der Rudi heißt" name the character just mentioned.
    for (i, word) in lower.iter().enumerate() {
        let name_is = word == "is" && i >= 1 && lower[i - 1] == "name";
        let named = CALLED.contains(&word.as_str()) || name_is || NAME_IS.contains(&word.as_str());
        let found = if named {
            toks.get(i + 1).and_then(|n| {
                if name_is || !CALLED.contains(&word.as_str()) {
                    as_name(n)
                } else {
                    looks_like_name(n).then(|| n.clone())
                }
            })
        } else if matches!(word.as_str(), "heißt" | "heisst") && i >= 1 {
            as_name(&toks[i - 1])
        } else {
            None
        };
        let Some(name) = found else { continue };
        if characters.iter().any(|(_, c)| c.name.as_deref() == Some(name.as_str())) {
            continue;
        }
        // Whose name: the nameless character just before, unless it is the child's own ("my name").
        let mine = name_is && i >= 2 && lower[i - 2] == "my";
        let owner = characters.iter_mut().filter(|(j, c)| *j < i && c.name.is_none() && c.kind.is_some()).last();
        match owner {
            Some((_, c)) if !mine && !CALLED.contains(&word.as_str()) => c.name = Some(name),
            _ => characters.push((i, Character { name: Some(name), kind: None, trait_word: None })),
        }
    }
    characters.sort_by_key(|(i, _)| *i);
    let mut people = characters.into_iter().map(|(_, c)| c);
    if let Some(hero) = people.next() {
        out.hero = hero;
    }
    out.companions = people.collect();

    let joined = format!(" {} ", lower.join(" "));
    // The first place named wins, but a place noun beats a describing word ("a snowy castle").
    let text = joined.as_str();
    out.setting = SETTINGS
        .iter()
        .flat_map(|(setting, words)| {
            words.iter().filter_map(move |w| {
                crate::text::find_phrase(text, w).map(|pos| (WEAK_SETTING_WORDS.contains(w), pos, *setting))
            })
        })
        .min()
        .map(|(_, _, s)| Place::Known(s))
        .or_else(|| {
            // A misspelt place ("forrest", "castel").
            let places = SETTINGS.iter().flat_map(|(_, words)| words.iter().copied());
            lower.iter().find_map(|w| typo_of(w, places.clone())).and_then(|typo| {
                SETTINGS.iter().find(|(_, words)| words.contains(&typo)).map(|(s, _)| Place::Known(*s))
            })
        });
    let style_in = |table: &[(Style, &[&str])]| {
        table
            .iter()
            .find(|(_, words)| words.iter().any(|w| crate::text::has_phrase(&joined, w)))
            .map(|(style, _)| *style)
    };
    out.style = style_in(STYLE_WORDS);
    out.style_hint = style_in(STYLE_HINTS);

    for (i, word) in lower.iter().enumerate() {
        let next = lower.get(i + 1).map(String::as_str);
        if let (Some(n), Some("scenes" | "scene" | "parts" | "part" | "chapters" | "chapter" | "pages" | "page")) =
            (number(word), next)
        {
            out.num_scenes = Some(n);
        }
        // "5 years old", "five year old", "I am 6", "I'm six"
        if let (Some(n), Some("years" | "year")) = (number(word), next) {
            out.age = Some(n);
        }
        if (word == "i'm" || (word == "am" && i >= 1 && lower[i - 1] == "i"))
            && let Some(n) = next.and_then(number)
        {
            out.age = Some(n);
        }
    }
    out.wish = wish(text);
    out
}

/// "who wants to fly" → "wanted to fly"; "who is afraid of the dark" → "was afraid of the dark".
/// The phrase ends at the clause: punctuation, "and", or a place ("in the snowy mountains").
fn wish(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let start = [" who ", " that "].iter().filter_map(|w| lower.find(w).map(|i| i + w.len())).min()?;
    let clause = lower[start..].split(['.', ',', '!', '?', ';']).next()?;
    let mut words: Vec<&str> = Vec::new();
    for word in clause.split_whitespace() {
        let stop = ["and", "but", "so", "because"].contains(&word)
            || (words.len() >= 3 && ["in", "on", "at", "near", "inside", "under", "with"].contains(&word));
        if stop {
            break;
        }
        words.push(word);
    }
    if words.len() < 2 || words.len() > 10 {
        return None;
    }
    let head = match words[0] {
        "wants" => "wanted",
        "is" => "was",
        "loves" => "loved",
        "likes" => "liked",
        "can't" | "cannot" => "could not",
        "can" => "could",
        "has" => "had",
        "dreams" => "dreamed",
        "hates" => "hated",
        _ => return None,
    };
    Some(format!("{head} {}", words[1..].join(" ")))
}

/// "a owl" → "an owl", "A elephant" → "An elephant"; "a unicorn" stays.
pub fn fix_articles(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let next = words.get(i + 1).map(|w| w.trim_start_matches(|c: char| !c.is_alphabetic()).to_lowercase());
        let vowel =
            next.is_some_and(|n| n.starts_with(['a', 'e', 'i', 'o']) || (n.starts_with('u') && !n.starts_with("uni")));
        match *word {
            "a" if vowel => out.push_str("an"),
            "A" if vowel => out.push_str("An"),
            other => out.push_str(other),
        }
    }
    out
}

/// First letter upper-case.
pub fn capitalise(word: &str) -> String {
    let mut c = word.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hero_with_name_kind_and_trait() {
        let e = extract("A story about a brave dragon called Pip who is afraid of the dark");
        assert_eq!(e.hero.name.as_deref(), Some("Pip"));
        assert_eq!(e.hero.kind.as_deref(), Some("dragon"));
        assert_eq!(e.hero.trait_word.as_deref(), Some("brave"));
        assert_eq!(e.wish.as_deref(), Some("was afraid of the dark"));
        assert_eq!(e.style, None, "a dragon only hints at fantasy");
        assert_eq!(e.style_hint, Some(Style::Fantasy));
    }

    #[test]
    fn name_before_kind_and_companion() {
        let e = extract("Luna the unicorn and her friend, a fox named Ruby, explore the snowy mountains");
        assert_eq!(e.hero.name.as_deref(), Some("Luna"));
        assert_eq!(e.hero.kind.as_deref(), Some("unicorn"));
        assert_eq!(e.companions[0].name.as_deref(), Some("Ruby"));
        assert_eq!(e.companions[0].kind.as_deref(), Some("fox"));
        assert_eq!(e.setting, Some(Place::Known(Setting::Mountains)));
        assert_eq!(extract("in a snowy castle").setting, Some(Place::Known(Setting::Castle)));
        assert_eq!(extract("somewhere snowy").setting, Some(Place::Known(Setting::Snow)));
    }

    #[test]
    fn articles_agree_with_the_next_word() {
        assert_eq!(
            fix_articles("Even a owl and a unicorn met A elephant."),
            "Even an owl and a unicorn met An elephant."
        );
        assert_eq!(fix_articles("a dragon, a (old) map"), "a dragon, an (old) map");
    }

    #[test]
    fn wishes_end_at_the_clause() {
        let wish = |t: &str| extract(t).wish;
        assert_eq!(
            wish("a unicorn who wants to see the northern lights in the snowy mountains").as_deref(),
            Some("wanted to see the northern lights")
        );
        assert_eq!(wish("a cat who can't sleep, and a dog").as_deref(), Some("could not sleep"));
        assert_eq!(wish("a fox who lives in a den"), None);
        assert_eq!(wish("a robot"), None);
    }

    #[test]
    fn counts_ages_and_plurals() {
        let e = extract("I'm five. Make it five parts about puppies in space");
        assert_eq!(e.age, Some(5));
        assert_eq!(e.num_scenes, Some(5));
        assert_eq!(e.hero.kind.as_deref(), Some("dog"));
        assert_eq!(e.setting, Some(Place::Known(Setting::Space)));
        assert_eq!(e.style_hint, Some(Style::SciFi));
        assert_eq!(extract("for a 6 year old, 3 scenes").age, Some(6));
    }

    #[test]
    fn plain_text_yields_nothing_invented() {
        let e = extract("hello there");
        assert!(e.hero.is_empty());
        assert!(e.setting.is_none() && e.style.is_none() && e.num_scenes.is_none() && e.age.is_none());
    }
}
