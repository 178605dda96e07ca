//! Domain model: identifiers, story specification, plan and scenes.
//! Parsed once at the edge into these types so actors never re-validate.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

mod draft;
mod spec;
mod vocabulary;
pub use draft::{Character, Draft, Slot};
pub use spec::{SpecError, SpecLimits, SpecRequest, StoryCast, StorySpec};
pub use vocabulary::{Age, Invalid, Language, Place, SceneCount, Setting, Style};

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("Identifier of a ", $what, ".")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(UserId, "user");
id_type!(StoryId, "story");
id_type!(SceneId, "scene");

/// Lifecycle of a story, lowercase on the wire (the Dart client uses `values.byName`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoryStatus {
    Pending,
    Processing,
    Completed,
    Failed,
}

impl StoryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for StoryStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            _ => return Err(UnknownValue(s.to_owned())),
        })
    }
}

/// What the generator is doing right now; finer than [`StoryStatus`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Queued,
    Planning,
    Writing,
    Illustrating,
    Narrating,
    Done,
    Failed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Planning => "planning",
            Self::Writing => "writing",
            Self::Illustrating => "illustrating",
            Self::Narrating => "narrating",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for Stage {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => Self::Queued,
            "planning" => Self::Planning,
            "writing" => Self::Writing,
            "illustrating" => Self::Illustrating,
            "narrating" => Self::Narrating,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return Err(UnknownValue(s.to_owned())),
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown value `{0}`")]
pub struct UnknownValue(pub String);

/// The outline the storyteller produces before writing scenes; persisted so a
/// resumed story keeps the same plot and the same look for every character.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoryPlan {
    pub title: String,
    pub scenes: Vec<ScenePlan>,
    /// The character sheet: the cast the child asked for ([`StorySpec::cast`], where names and
    /// kinds may be missing and nobody has a look) as the storyteller planned it, everyone named,
    /// of a kind and with a look, the hero first. Empty for stories planned before sheets existed.
    #[serde(default)]
    pub characters: Vec<CharacterSheet>,
}

/// One character of the planned cast, as every picture of the story shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharacterSheet {
    pub name: String,
    /// What they are: `dragon`, `fox`, `girl`.
    pub kind: String,
    /// A short look, stated in these same words in every picture request ("a small green
    /// dragon with golden wings and a red scarf").
    pub look: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenePlan {
    pub title: String,
    pub outline: String,
}

/// A written scene as the storyteller returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneDraft {
    pub title: String,
    pub text: String,
}

/// Who wrote a plan or a scene: the configured language model, or the offline storyteller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Writer {
    Model,
    Offline,
}

impl Writer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Offline => "offline",
        }
    }
}

impl FromStr for Writer {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "model" => Ok(Self::Model),
            "offline" => Ok(Self::Offline),
            _ => Err(UnknownValue(s.to_owned())),
        }
    }
}

/// Who wrote a story, as a whole: one voice, or a mix (model scenes first, then offline ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Voice {
    Model,
    Offline,
    Mixed,
}

/// Who wrote a story and each of its stored scenes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Authorship {
    pub writer: Voice,
    pub model_scenes: Vec<u32>,
    pub offline_scenes: Vec<u32>,
}

impl Authorship {
    /// From the plan's writer and the scenes' writers; `None` when any of them was not
    /// recorded (stories written before it was) or nothing is written yet.
    pub fn of(planned_by: Option<Writer>, scenes: &[Scene]) -> Option<Self> {
        let planned_by = planned_by?;
        let (mut model_scenes, mut offline_scenes) = (Vec::new(), Vec::new());
        for scene in scenes {
            match scene.written_by? {
                Writer::Model => model_scenes.push(scene.sequence),
                Writer::Offline => offline_scenes.push(scene.sequence),
            }
        }
        let model = planned_by == Writer::Model || !model_scenes.is_empty();
        let offline = planned_by == Writer::Offline || !offline_scenes.is_empty();
        let writer = match (model, offline) {
            (true, true) => Voice::Mixed,
            (true, false) => Voice::Model,
            _ => Voice::Offline,
        };
        Some(Self { writer, model_scenes, offline_scenes })
    }
}

/// A persisted scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    pub scene_id: SceneId,
    /// 1-based position in the story.
    pub sequence: u32,
    pub title: String,
    pub text: String,
    pub image_key: Option<String>,
    pub audio_key: Option<String>,
    /// `None` for scenes stored before writers were recorded.
    pub written_by: Option<Writer>,
}

impl Scene {
    /// A newly written scene, with a new id and no media yet.
    pub fn written(sequence: u32, draft: SceneDraft, by: Writer) -> Self {
        let SceneDraft { title, text } = draft;
        Self { scene_id: SceneId::new(), sequence, title, text, image_key: None, audio_key: None, written_by: Some(by) }
    }
}

/// A page of a finished story to be written again, as asked (`POST …/regenerate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redo {
    /// The request's id (one redo of one scene at a time).
    pub id: String,
    /// The scene to write again (1-based).
    pub sequence: u32,
    /// What the child asked to change ("make the dragon bigger"), already checked.
    pub hint: Option<String>,
    /// Which version of the scene this is: 1 for its first redo, 2 for the next…
    pub take: u32,
}

/// Everything the story actor needs to know to continue a story.
#[derive(Clone, Debug)]
pub struct StoryState {
    pub story_id: StoryId,
    pub user_id: UserId,
    pub spec: StorySpec,
    pub status: StoryStatus,
    pub plan: Option<StoryPlan>,
    /// Who wrote the plan (`None` before it exists, or for stories planned before it was recorded).
    pub planned_by: Option<Writer>,
    /// Sequences already persisted, ascending.
    pub scenes: Vec<Scene>,
    /// The cover picture, once drawn.
    pub cover_key: Option<String>,
    /// Pages of the finished story waiting to be written again, oldest first.
    pub redos: Vec<Redo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(sequence: u32, written_by: Option<Writer>) -> Scene {
        Scene {
            scene_id: SceneId::new(),
            sequence,
            title: String::new(),
            text: String::new(),
            image_key: None,
            audio_key: None,
            written_by,
        }
    }

    #[test]
    fn a_story_has_one_voice_or_is_mixed() {
        use Writer::{Model, Offline};
        let by = |planned, scenes: &[(u32, Writer)]| {
            let scenes: Vec<Scene> = scenes.iter().map(|(s, w)| scene(*s, Some(*w))).collect();
            Authorship::of(planned, &scenes).map(|a| (a.writer, a.model_scenes, a.offline_scenes))
        };
        assert_eq!(by(Some(Model), &[(1, Model), (2, Model)]), Some((Voice::Model, vec![1, 2], vec![])));
        assert_eq!(by(Some(Offline), &[(1, Offline)]), Some((Voice::Offline, vec![], vec![1])));
        assert_eq!(by(Some(Model), &[(1, Model), (2, Offline)]), Some((Voice::Mixed, vec![1], vec![2])));
        // The model's plan told with offline scenes is the model's story in part.
        assert_eq!(by(Some(Model), &[(1, Offline)]), Some((Voice::Mixed, vec![], vec![1])));
        assert_eq!(by(Some(Model), &[]), Some((Voice::Model, vec![], vec![])), "planned, nothing written yet");
        assert_eq!(by(None, &[]), None, "not planned yet");
        let unknown = [scene(1, Some(Model)), scene(2, None)];
        assert_eq!(Authorship::of(Some(Model), &unknown), None, "written before writers were recorded");
    }

    #[test]
    fn wire_enums_are_lowercase() {
        assert_eq!(serde_json::to_string(&StoryStatus::Processing).unwrap(), "\"processing\"");
    }
}
