//! Characters' looks, in words and in paint. The builtin storyteller writes each character's
//! look from the child's words and the story's seed ("a small teal dragon with a yellow
//! scarf"); the builtin illustrator reads any look back (its own, or a model's "a small green
//! dragon with golden wings and a red scarf") into a body colour, a size and a thing worn, so
//! every picture of a story draws each character the same way.

use super::art::{Accessory, Paint};
use super::rng::Rng;

/// A colour a look may name: the words for it, and the body, darker and lighter paint.
#[derive(Debug, PartialEq)]
pub struct Colour {
    pub words: &'static [&'static str],
    pub body: &'static str,
    pub dark: &'static str,
    pub light: &'static str,
}

impl Colour {
    pub fn paint(&self) -> Paint<'static> {
        Paint { body: self.body, dark: self.dark, light: self.light }
    }

    fn name(&self) -> &'static str {
        self.words[0]
    }
}

#[rustfmt::skip]
const COLOURS: &[Colour] = &[
    Colour { words: &["red", "scarlet", "crimson"], body: "#e4572e", dark: "#a8391c", light: "#f6c1ad" },
    Colour { words: &["teal", "turquoise"], body: "#2a9d8f", dark: "#1d6f65", light: "#b9e4de" },
    Colour { words: &["purple", "violet", "lilac", "lavender"], body: "#6c5ce7", dark: "#4834b5", light: "#d3cdfa" },
    Colour { words: &["orange", "amber", "ginger"], body: "#f3a712", dark: "#b67a04", light: "#fbe2ad" },
    Colour { words: &["pink", "rosy"], body: "#ff6fb5", dark: "#c94386", light: "#ffd1e8" },
    Colour { words: &["blue", "navy"], body: "#3498db", dark: "#21618c", light: "#c6e2f5" },
    Colour { words: &["green", "emerald"], body: "#8bc34a", dark: "#5a8a26", light: "#dcedc8" },
    Colour { words: &["yellow", "golden", "gold", "lemon"], body: "#f7d547", dark: "#c9a710", light: "#fcf1bf" },
    Colour { words: &["brown", "chocolate", "tan"], body: "#9c6b43", dark: "#6e4b2a", light: "#e6d3c3" },
    Colour { words: &["grey", "gray", "silver"], body: "#8e9aa6", dark: "#5d6d7e", light: "#d5dbdb" },
    Colour { words: &["white", "snowy"], body: "#f4f1ea", dark: "#c9c2b5", light: "#fffdf7" },
    Colour { words: &["black", "dark"], body: "#3b3b4f", dark: "#22222e", light: "#8a8aa0" },
];

/// The colours a story picks from when nobody said: the first seven, the brightest.
const BRIGHT: usize = 7;

const ACCESSORIES: &[(Accessory, &[&str])] = &[
    (Accessory::Scarf, &["scarf", "scarves", "neckerchief"]),
    (Accessory::Hat, &["hat", "cap", "beret"]),
    (Accessory::Bow, &["bow", "ribbon"]),
    (Accessory::Crown, &["crown", "tiara"]),
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn colour_named(word: &str) -> Option<&'static Colour> {
    COLOURS.iter().find(|c| c.words.contains(&word))
}

fn accessory_named(word: &str) -> Option<Accessory> {
    ACCESSORIES.iter().find(|(_, names)| names.contains(&word)).map(|(a, _)| *a)
}

/// How a look is drawn.
pub struct Appearance {
    pub paint: Paint<'static>,
    /// The thing worn, and its colour.
    pub accessory: Option<(Accessory, &'static str)>,
    /// 1.0 for a character of no particular size; "small" is smaller, "big" bigger.
    pub scale: f32,
}

/// Read a look: the first colour not said of the thing worn is the body's (else one from
/// `seed`); the first thing worn, with the colour said just before it (else a contrast).
pub fn appearance(look: &str, seed: u64) -> Appearance {
    let words = words(look);
    let mut worn: Option<(Accessory, Option<&'static Colour>, usize)> = None;
    for (i, word) in words.iter().enumerate() {
        if let Some(accessory) = accessory_named(word) {
            let colour_at = (i.saturating_sub(2)..i).rev().find(|&j| colour_named(&words[j]).is_some());
            worn = Some((accessory, colour_at.and_then(|j| colour_named(&words[j])), colour_at.unwrap_or(usize::MAX)));
            break;
        }
    }
    let worn_colour_at = worn.map_or(usize::MAX, |(_, _, at)| at);
    let body = words
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != worn_colour_at)
        .find_map(|(_, w)| colour_named(w))
        .unwrap_or(&COLOURS[(seed % BRIGHT as u64) as usize]);
    let accessory = worn.map(|(accessory, colour, _)| {
        let colour = colour.filter(|c| c.body != body.body).unwrap_or_else(|| contrast(body));
        (accessory, colour.body)
    });
    let scale = if words.iter().any(|w| ["tiny", "small", "little", "baby"].contains(&w.as_str())) {
        0.88
    } else if words.iter().any(|w| ["big", "tall", "large", "huge", "giant"].contains(&w.as_str())) {
        1.12
    } else {
        1.0
    };
    Appearance { paint: body.paint(), accessory, scale }
}

/// A bright colour that is not `colour`.
fn contrast(colour: &Colour) -> &'static Colour {
    let at = COLOURS.iter().position(|c| c.body == colour.body).unwrap_or(0);
    &COLOURS[(at + 3) % BRIGHT]
}

/// The colour the child said for a `kind` ("a purple dragon", "a little pink baby unicorn").
pub fn asked_colour(said: &str, kind: &str) -> Option<&'static Colour> {
    let words = words(said);
    let at = words.iter().position(|w| w == kind || w.strip_suffix('s') == Some(kind))?;
    (at.saturating_sub(3)..at).rev().find_map(|j| colour_named(&words[j]))
}

/// A new look for a `kind` of character, from `seed`: in the `asked` colour when the child said
/// one, else in one nobody else in the story wears (`taken`). Also the colour chosen.
pub fn invent(
    kind: &str,
    asked: Option<&'static Colour>,
    taken: &[&'static Colour],
    has_hat: bool,
    seed: u64,
) -> (String, &'static Colour) {
    let mut rng = Rng::new(seed ^ 0x100c);
    let free: Vec<&'static Colour> =
        COLOURS[..BRIGHT].iter().filter(|c| !taken.iter().any(|t| t.body == c.body)).collect();
    let body = asked.unwrap_or_else(|| if free.is_empty() { &COLOURS[0] } else { free[rng.below(free.len())] });
    let wearable: Vec<&(Accessory, &[&str])> =
        ACCESSORIES.iter().filter(|(a, _)| !has_hat || !matches!(a, Accessory::Hat | Accessory::Crown)).collect();
    let (_, names) = wearable[rng.below(wearable.len())];
    let others: Vec<&'static Colour> = COLOURS[..BRIGHT].iter().filter(|c| c.body != body.body).collect();
    let worn = others[rng.below(others.len())];
    let size = rng.pick_str(&["small", "little", "big", "cheerful"]);
    (format!("a {size} {} {kind} with a {} {}", body.name(), worn.name(), names[0]), body)
}

/// The body and worn colours (hex) a look is drawn in: what its pictures must show.
pub fn colours(look: &str) -> (&'static str, Option<&'static str>) {
    let appearance = appearance(look, 0);
    (appearance.paint.body, appearance.accessory.map(|(_, colour)| colour))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_models_look_is_read_into_paint() {
        let look = appearance("a small green dragon with golden wings and a red scarf", 3);
        assert_eq!(look.paint.body, "#8bc34a", "green, the first colour not said of the scarf");
        assert_eq!(look.accessory, Some((Accessory::Scarf, "#e4572e")));
        assert!(look.scale < 1.0);
        let plain = appearance("a friendly fox", 3);
        assert_eq!((plain.accessory.is_none(), plain.scale), (true, 1.0));
        let same = appearance("a friendly fox", 3);
        assert_eq!(plain.paint.body, same.paint.body, "no colour said: the seed's, the same every time");
        let hat = appearance("a tall robot wearing a hat", 0);
        assert_eq!(hat.accessory.map(|(a, c)| (a, c != hat.paint.body)), Some((Accessory::Hat, true)));
    }

    #[test]
    fn invented_looks_read_back_as_they_were_meant() {
        for seed in 0..200u64 {
            let (look, body) = invent("dragon", None, &[], false, seed);
            let drawn = appearance(&look, seed ^ 99);
            assert_eq!(drawn.paint.body, body.body, "{look}");
            let (_, worn) = drawn.accessory.unwrap_or_else(|| panic!("{look}"));
            assert_ne!(worn, body.body, "{look}");
            let (other, _) = invent("fox", None, &[body], false, seed);
            assert_ne!(appearance(&other, 0).paint.body, body.body, "the friend wears another colour: {other}");
        }
        let (look, _) = invent("dragon", asked_colour("a little purple dragon called Pip", "dragon"), &[], false, 1);
        assert!(look.contains("purple dragon"), "{look}");
        assert_eq!(asked_colour("a dragon and a purple fox", "dragon"), None);
        let (princess, _) = invent("princess", None, &[], true, 5);
        assert!(!princess.contains("hat") && !princess.contains("crown"), "{princess}");
    }
}
