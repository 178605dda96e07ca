//! The story vocabulary: what a story may be asked for, as types. Each closed set is an enum
//! with one parse and one `as_str`; each bounded number checks its bounds once, when made.
//! REST, the agent, storage and the storytellers all speak these, never the strings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A value that is not part of the vocabulary, with what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $key:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $key),+
                }
            }

            /// What is wrong with `given`, with the values that are right.
            fn unknown(given: &str) -> Invalid {
                let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                Invalid(format!("unknown {} `{given}`; use one of: {}", $what, known.join(", ")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(|e: Invalid| serde::de::Error::custom(e))
            }
        }
    };
}

closed_set! {
    /// Story styles the service knows how to write and draw.
    Style, "style" {
        Fantasy = "fantasy",
        SciFi = "sci-fi",
        Adventure = "adventure",
        Animals = "animals",
        Bedtime = "bedtime",
        Funny = "funny",
        Mystery = "mystery",
    }
}

impl FromStr for Style {
    type Err = Invalid;
    /// Lenient about spelling (`Sci-Fi`, `scifi`, `science fiction`), strict about meaning.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
        Ok(match norm.as_str() {
            "fantasy" | "magic" | "fairytale" => Self::Fantasy,
            "scifi" | "sciencefiction" | "space" => Self::SciFi,
            "adventure" => Self::Adventure,
            "animals" | "animal" => Self::Animals,
            "bedtime" | "sleepy" | "calm" => Self::Bedtime,
            "funny" | "silly" | "comedy" => Self::Funny,
            "mystery" | "detective" => Self::Mystery,
            _ => return Err(Self::unknown(s)),
        })
    }
}

closed_set! {
    /// The places the storytellers have words for and the illustrator has pictures of.
    Setting, "setting" {
        Forest = "forest",
        Castle = "castle",
        Sea = "sea",
        Space = "space",
        City = "city",
        Snow = "snow",
        Jungle = "jungle",
        Desert = "desert",
        Mountains = "mountains",
        Island = "island",
        Garden = "garden",
        Farm = "farm",
        Cave = "cave",
    }
}

impl FromStr for Setting {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim().to_lowercase();
        Self::ALL.iter().copied().find(|setting| setting.as_str() == key).ok_or_else(|| Self::unknown(s))
    }
}

/// Where a story happens: a [`Setting`], or the child's own words for a place there are no
/// pictures of ("the clouds", "under a bridge"), kept as said. On the wire and in storage both
/// are one string: a setting's key, or the words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Place {
    Known(Setting),
    Other(String),
}

impl Place {
    /// The longest place said in the child's words.
    pub const MAX_CHARS: usize = 60;

    /// A setting's key is that setting; other words (trimmed, at most [`Place::MAX_CHARS`]) are
    /// an `Other` place; nothing, or too much, is not a place.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        if let Ok(setting) = text.parse::<Setting>() {
            return Ok(Self::Known(setting));
        }
        if !text.chars().any(char::is_alphabetic) {
            return Err(Invalid("a place needs a name".into()));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!("a place is at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Self::Other(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Known(setting) => setting.as_str(),
            Self::Other(words) => words,
        }
    }

    pub fn setting(&self) -> Option<Setting> {
        match self {
            Self::Known(setting) => Some(*setting),
            Self::Other(_) => None,
        }
    }
}

impl From<Setting> for Place {
    fn from(setting: Setting) -> Self {
        Self::Known(setting)
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Place {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Place {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Place::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:literal ..= $max:literal, default $default:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(u8);

        impl $name {
            pub const MIN: Self = Self($min);
            pub const MAX: Self = Self($max);
            pub const DEFAULT: Self = Self($default);

            pub fn new(n: i64) -> Result<Self, Invalid> {
                u8::try_from(n)
                    .ok()
                    .filter(|n| ($min..=$max).contains(n))
                    .map(Self)
                    .ok_or_else(|| Invalid(format!("{} must be between {} and {}", $what, $min, $max)))
            }

            /// The nearest value in range (for values stored before the range was enforced).
            pub fn saturating(n: i64) -> Self {
                Self(n.clamp($min, $max) as u8)
            }

            pub fn get(self) -> u8 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v.0
            }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                u32::from(v.0)
            }
        }

        impl From<$name> for usize {
            fn from(v: $name) -> usize {
                usize::from(v.0)
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                i64::from(v.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

bounded! {
    /// The listener's age in years: stories are written for 2 to 12.
    Age, "age", 2..=12, default 6
}

bounded! {
    /// Scenes in a story: 1 to 12 (a deployment may allow fewer, see `SpecLimits`).
    SceneCount, "num_scenes", 1..=12, default 3
}

/// A BCP 47 language tag (`en`, `en-GB`, `zh-Hant-TW`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    /// What stories are written in unless asked otherwise.
    pub fn english() -> Self {
        Self("en".into())
    }

    pub fn parse(tag: &str) -> Result<Self, Invalid> {
        let tag = tag.trim();
        let mut parts = tag.split('-');
        let primary_ok =
            parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
        let ok = primary_ok
            && tag.len() <= 35
            && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        ok.then(|| Self(tag.to_owned()))
            .ok_or_else(|| Invalid("language must be a BCP 47 tag such as `en` or `en-GB`".into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Language {
    fn default() -> Self {
        Self::english()
    }
}

impl std::ops::Deref for Language {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_parses_lenient_spellings() {
        assert_eq!("Sci-Fi".parse::<Style>().unwrap(), Style::SciFi);
        assert_eq!("science fiction".parse::<Style>().unwrap(), Style::SciFi);
        assert_eq!(" Bedtime ".parse::<Style>().unwrap(), Style::Bedtime);
        let error = "horror".parse::<Style>().unwrap_err().to_string();
        assert!(error.contains("horror") && error.contains("mystery"), "{error}");
    }

    #[test]
    fn every_key_parses_back_and_is_lowercase_on_the_wire() {
        for s in Style::ALL {
            assert_eq!(s.as_str().parse::<Style>().unwrap(), *s);
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        assert_eq!(serde_json::to_string(&Style::SciFi).unwrap(), "\"sci-fi\"");
        for s in Setting::ALL {
            assert_eq!(s.as_str().parse::<Setting>().unwrap(), *s);
            assert_eq!(Place::parse(s.as_str()).unwrap(), Place::Known(*s));
        }
    }

    #[test]
    fn an_unknown_place_is_kept_as_said_never_a_known_one() {
        assert_eq!(Place::parse(" the clouds ").unwrap(), Place::Other("the clouds".into()));
        assert_eq!(serde_json::from_str::<Place>("\"under a bridge\"").unwrap().setting(), None);
        assert_eq!(serde_json::from_str::<Place>("\"castle\"").unwrap(), Place::Known(Setting::Castle));
        assert!(Place::parse("  ").is_err() && Place::parse("…").is_err());
        assert!(Place::parse(&"far ".repeat(20)).is_err());
        assert!("moon".parse::<Setting>().is_err());
    }

    #[test]
    fn bounded_numbers_refuse_what_is_out_of_range() {
        assert_eq!(Age::new(2).unwrap().get(), 2);
        assert_eq!(Age::new(12).unwrap().get(), 12);
        for bad in [1, 13, -1, 300, i64::MAX] {
            assert!(Age::new(bad).is_err(), "{bad}");
        }
        assert!(SceneCount::new(0).is_err() && SceneCount::new(13).is_err());
        assert_eq!(Age::saturating(40), Age::MAX);
        assert_eq!(Age::DEFAULT.get(), 6);
        assert_eq!(SceneCount::DEFAULT.get(), 3);
        assert!(serde_json::from_str::<Age>("40").is_err());
        assert_eq!(serde_json::to_string(&SceneCount::new(5).unwrap()).unwrap(), "5");
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "en-GB", "zh-Hant-TW", "fil"] {
            assert_eq!(Language::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "e", "english", "en_GB", "en--GB"] {
            assert!(Language::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Language::default().as_str(), "en");
    }
}
