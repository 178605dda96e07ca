//! Who a text is about: kinds with their names and traits ("a brave dragon called Pip", "Beep
//! Boop the robot", "my kitten Captain Fluffy"), kinds no table knows ("a grumpy troll who…"),
//! names on their own ("Hansel and Gretel find…"), and a name given to the hero by pronoun
//! ("her name is Zoe", "call him Max").

use super::lexicon::{
    AFTER_A_NAME, BEFORE_A_NAME, CALLED, DOES, FRIEND_WORDS, JOINERS, NAME_IS, NOT_KINDS, NOT_NAME_WORDS, NOT_NAMES,
    PRONOUNS, SETTINGS, STYLE_WORDS, TITLES, TRAITS,
};
use super::words::{as_name, capitalise, is_mark, kind_at, kind_of, looks_like_name, number};
use crate::model::Character;

/// The characters of a text in the order they came, the hero's name said by pronoun, and the
/// tokens that were names (not to be read as places: "Snow White").
#[derive(Default)]
pub(super) struct Cast {
    pub characters: Vec<Character>,
    pub named_hero: Option<String>,
    /// A kind said of the hero by pronoun ("she's a unicorn", "hes a golden retriever").
    pub hero_is: Option<String>,
    pub name_tokens: Vec<bool>,
    /// Names said as someone's friend ("a friend called Max", "her best friend Mia").
    pub friends: Vec<String>,
}

struct Reader<'a> {
    toks: &'a [String],
    lower: &'a [String],
    used: Vec<bool>,
}

impl Reader<'_> {
    fn free(&self, i: usize) -> bool {
        i < self.toks.len() && !self.used[i]
    }

    fn take(&mut self, from: usize, to: usize) {
        for used in &mut self.used[from..to.min(self.toks.len())] {
            *used = true;
        }
    }

    /// A name starting at `start`: capitalised words (with titles and joiners), or after a
    /// word like "called" (`explicit`) also a lower-case transcript's words, up to the kind,
    /// verb or mark that follows. The name and the token after it.
    fn name_from(&self, start: usize, explicit: bool) -> Option<(String, usize)> {
        let first = self.toks.get(start)?;
        let capitalised = first.chars().next().is_some_and(char::is_uppercase);
        let titled = TITLES.contains(&first.as_str());
        let head = if looks_like_name(first) || (titled && capitalised) {
            first.clone()
        } else if explicit {
            // "a robot called beep", "CALLED PIP"; "a cat called Princess" (a kind, said as a name).
            let kind_as_name = capitalised
                && first.chars().all(char::is_alphabetic)
                && first.chars().count() > 1
                && !NOT_NAMES.contains(&first.as_str());
            as_name(first).or_else(|| kind_as_name.then(|| capitalise(&first.to_lowercase())))?
        } else {
            return None;
        };
        let mut words = vec![head];
        let mut k = start + 1;
        let most = if capitalised { 4 } else { 2 };
        while words.len() < most && k < self.toks.len() {
            let word = &self.toks[k];
            if capitalised {
                if looks_like_name(word) {
                    words.push(word.clone());
                    k += 1;
                } else if JOINERS.contains(&self.lower[k].as_str())
                    && self.toks.get(k + 1).is_some_and(|n| looks_like_name(n))
                {
                    words.push(word.clone());
                    words.push(self.toks[k + 1].clone());
                    k += 2;
                } else {
                    break;
                }
            } else if explicit && lowercase_name_word(word, &self.lower[k]) {
                words.push(capitalise(&self.lower[k]));
                k += 1;
            } else {
                break;
            }
        }
        Some((words.join(" "), k))
    }

    /// A capitalised name ending just before `end` ("Beep Boop" in "Beep Boop the robot").
    fn name_before(&self, end: usize) -> Option<(String, usize)> {
        let mut start = end;
        while start > 0 && end - start < 4 && self.free(start - 1) {
            let word = &self.toks[start - 1];
            if looks_like_name(word) || (TITLES.contains(&word.as_str()) && start < end) {
                start -= 1;
            } else {
                break;
            }
        }
        (start < end).then(|| (self.toks[start..end].join(" "), start))
    }
}

/// A word of a lower-case name ("boop" in "beep boop"): not a small word, kind, verb or number.
fn lowercase_name_word(word: &str, lower: &str) -> bool {
    word.chars().all(char::is_alphabetic)
        && word.chars().count() > 1
        && !NOT_NAME_WORDS.contains(&lower)
        && kind_of(word).is_none()
        && number(word).is_none()
        && !lower.ends_with("ing")
        && !lower.ends_with("ed")
        && !TRAITS.contains(&lower)
}

/// Whether `word` can be a kind no table knows: a plain noun, not a place, style or small word.
fn unknown_kind(word: &str) -> bool {
    word.chars().count() >= 3
        && word.chars().all(char::is_alphabetic)
        && !NOT_KINDS.contains(&word)
        && !NOT_NAME_WORDS.contains(&word)
        && !TRAITS.contains(&word)
        && !SETTINGS.iter().any(|(_, words)| words.contains(&word))
        && !STYLE_WORDS.iter().any(|(_, words)| words.contains(&word))
}

fn trait_before(lower: &[String], i: usize) -> Option<String> {
    (1..=2).filter_map(|d| i.checked_sub(d)).map(|j| lower[j].as_str()).find(|w| TRAITS.contains(w)).map(str::to_owned)
}

pub(super) fn read(toks: &[String], lower: &[String]) -> Cast {
    let mut r = Reader { toks, lower, used: vec![false; toks.len()] };
    let mut found: Vec<(usize, Character)> = Vec::new();
    let mut name_tokens = vec![false; toks.len()];
    let mut i = 0;
    while i < toks.len() {
        // "not a dragon, a fox": the dragon is what the child does not want.
        let negated = i >= 2 && lower[i - 2] == "not" && matches!(lower[i - 1].as_str(), "a" | "an" | "the");
        // French "chat" only after an article ("un chat"); in English it is talk.
        let french_only = lower[i] == "chat"
            && !(i >= 1 && ["un", "le", "mon", "ton", "son", "ce", "petit", "du"].contains(&lower[i - 1].as_str()));
        // Spanish "se llama" (is called) is not a llama.
        let spanish_verb = i >= 1 && lower[i - 1] == "se";
        let kind = (!negated && !french_only && !spanish_verb && r.free(i)).then(|| kind_at(lower, i)).flatten();
        let Some((kind, len)) = kind else {
            i += 1;
            continue;
        };
        let last = i + len - 1;
        r.take(i, last + 1);
        // "King Arthur", "Princess Peach": a title that is also a kind, with the name after it.
        let titled = (len == 1 && TITLES.contains(&toks[i].as_str()))
            .then(|| r.name_from(last + 1, false).map(|(n, end)| (format!("{} {n}", toks[i]), last + 1, end)))
            .flatten();
        // "a fox called Ruby", "un gato llamado Michi"
        let called = (CALLED.contains(&lower.get(last + 1).map_or("", String::as_str)))
            .then(|| r.name_from(last + 2, true).map(|(n, end)| (n, last + 2, end)))
            .flatten();
        // "my cat Whiskers", "my kitten Captain Fluffy", and in a lower-case transcript "my cat
        // mittens" where the name ends the clause.
        let mine = i >= 1 && ["my", "our"].contains(&lower[i - 1].as_str());
        let after = || {
            r.name_from(last + 1, false).map(|(n, end)| (n, last + 1, end)).or_else(|| {
                let word = lower.get(last + 1)?;
                let ends = lower.get(last + 2).is_none_or(|n| {
                    is_mark(n)
                        || ["and", "who", "is", "the", "hes", "he's", "shes", "she's", "its", "it's"]
                            .contains(&n.as_str())
                });
                (mine && ends && !DOES.contains(&word.as_str()) && lowercase_name_word(&toks[last + 1], word))
                    .then(|| (capitalise(word), last + 1, last + 2))
            })
        };
        // "Pip the dragon", "Beep Boop the robot"
        let before = || {
            (i >= 2 && lower[i - 1] == "the")
                .then(|| r.name_before(i - 1).map(|(n, start)| (n, start, i - 1)))
                .flatten()
        };
        let name = titled.or(called).or_else(after).or_else(before);
        if let Some((_, from, to)) = &name {
            r.take(*from, *to);
            name_tokens[*from..*to].iter_mut().for_each(|t| *t = true);
        }
        let character =
            Character { name: name.map(|(n, _, _)| n), kind: Some(kind), trait_word: trait_before(lower, i) };
        found.push((i, character));
        i = last + 1;
    }
    // Kinds no table knows: "a grumpy troll who…", "a sock called Stinky".
    for j in 1..toks.len() {
        if !["who", "called", "named", "that", "which"].contains(&lower[j].as_str()) || !r.free(j - 1) {
            continue;
        }
        let word = lower[j - 1].as_str();
        let article = (2..=4).filter_map(|d| j.checked_sub(d)).take_while(|k| !is_mark(&lower[*k])).find(|k| {
            ["a", "an", "the", "my", "our", "his", "her", "this", "some", "one"].contains(&lower[*k].as_str())
        });
        if article.is_none() || !unknown_kind(word) || looks_like_name(&toks[j - 1]) {
            continue;
        }
        r.take(j - 1, j);
        let name = (CALLED.contains(&lower[j].as_str())).then(|| r.name_from(j + 1, true)).flatten();
        if let Some((_, end)) = &name {
            r.take(j + 1, *end);
            name_tokens[j + 1..*end].iter_mut().for_each(|t| *t = true);
        }
        let character = Character {
            name: name.map(|(n, _)| n),
            kind: Some(word.to_owned()),
            trait_word: trait_before(lower, j - 1),
        };
        found.push((j - 1, character));
    }
    // "she's a unicorn", "he is a golden retriever": what the hero is, not someone new.
    let said_of_hero = |i: usize| {
        let at = |d: usize| i.checked_sub(d).map_or("", |j| lower[j].as_str());
        ["a", "an"].contains(&at(1))
            && (["he's", "hes", "she's", "shes", "it's", "its"].contains(&at(2))
                || at(2) == "is" && ["he", "she", "it"].contains(&at(3)))
    };
    let mut hero_is = None;
    found.retain(|(i, c)| {
        let of_hero = c.name.is_none() && said_of_hero(*i);
        if of_hero {
            hero_is = c.kind.clone();
        }
        !of_hero
    });
    let named_hero = names(&mut r, &mut found, &mut name_tokens);
    found.sort_by_key(|(i, _)| *i);
    let friends = found
        .iter()
        .filter(|(i, c)| {
            c.kind.is_none()
                && (1..=3).filter_map(|d| i.checked_sub(d)).any(|j| FRIEND_WORDS.contains(&lower[j].as_str()))
        })
        .filter_map(|(_, c)| c.name.clone())
        .collect();
    Cast { characters: found.into_iter().map(|(_, c)| c).collect(), named_hero, hero_is, name_tokens, friends }
}

/// Names said without a kind beside them: "called Max", "her name is Zoe", "Hansel and Gretel".
/// Returns the name given to the hero by pronoun, if one was.
fn names(r: &mut Reader<'_>, found: &mut Vec<(usize, Character)>, name_tokens: &mut [bool]) -> Option<String> {
    let (toks, lower) = (r.toks, r.lower);
    let mut named_hero = None;
    for i in 0..toks.len() {
        let word = lower[i].as_str();
        let prev = |d: usize| i.checked_sub(d).map_or("", |j| lower[j].as_str());
        // Whose name it is: "his name is", "call her", "she's called" name someone already there.
        let by_pronoun = (word == "is" && prev(1) == "name" && PRONOUNS.contains(&prev(2)))
            // "call it …" names the story, not the hero.
            || (word == "call" || word == "name" || word == "rename")
                && lower.get(i + 1).is_some_and(|n| ["him", "her", "them"].contains(&n.as_str()))
            || (CALLED.contains(&word) && (PRONOUNS.contains(&prev(1)) || prev(1) == "is" && PRONOUNS.contains(&prev(2))))
            || (word == "to" && prev(1) == "name");
        let start = if by_pronoun && (word == "call" || word == "name" || word == "rename") { i + 2 } else { i + 1 };
        let explicit =
            by_pronoun || CALLED.contains(&word) || (word == "is" && prev(1) == "name") || NAME_IS.contains(&word);
        let named = if explicit && r.free(start) {
            r.name_from(start, true).map(|(n, end)| (n, start, end))
        } else if matches!(word, "heißt" | "heisst") && i >= 1 && r.free(i - 1) {
            as_name(&toks[i - 1]).map(|n| (n, i - 1, i))
        } else {
            None
        };
        let Some((name, from, to)) = named else { continue };
        r.take(from, to);
        name_tokens[from..to].iter_mut().for_each(|t| *t = true);
        if found.iter().any(|(_, c)| c.name.as_deref() == Some(name.as_str())) {
            continue;
        }
        // The nameless character just before is the one named ("a dragon … his name is Ember").
        let mine = word == "is" && prev(2) == "my";
        let owner = found.iter_mut().filter(|(j, c)| *j < i && c.name.is_none() && c.kind.is_some()).last();
        match owner {
            Some((_, c)) if !mine && (by_pronoun || !CALLED.contains(&word)) => c.name = Some(name),
            _ if by_pronoun => named_hero = Some(name),
            _ => found.push((from, Character { name: Some(name), kind: None, trait_word: None })),
        }
    }
    // Names on their own: a run of capitalised words where someone is meant.
    let mut i = 0;
    while i < toks.len() {
        let before = i.checked_sub(1).map_or("", |j| lower[j].as_str());
        let starts = i == 0 || is_mark(before) || BEFORE_A_NAME.contains(&before);
        let place = ["in", "at", "to", "from", "near", "visit", "visits", "into", "of"].contains(&before);
        let name = (starts && !place && r.free(i)).then(|| r.name_from(i, false)).flatten();
        let Some((name, end)) = name.filter(|(_, end)| {
            lower.get(*end).is_none_or(|next| is_mark(next) || AFTER_A_NAME.contains(&next.as_str()))
        }) else {
            i += 1;
            continue;
        };
        r.take(i, end);
        name_tokens[i..end].iter_mut().for_each(|t| *t = true);
        if !found.iter().any(|(_, c)| c.name.as_deref() == Some(name.as_str())) {
            found.push((i, Character { name: Some(name), kind: None, trait_word: None }));
        }
        i = end;
    }
    named_hero
}
