//! The WebSocket wire protocol: what clients send, what the server sends back.
//! Every server event goes out in an [`Envelope`] with `seq` and `timestamp`.

use crate::model::{
    Age, Character, Draft, Language, Place, Scene, SceneCount, SceneId, Slot, Stage, StoryId, StoryStatus, Style,
};
use crate::ports::{MediaLinks, StoryEvent};
use serde::{Deserialize, Serialize};

mod storage;
pub use storage::storage_error_code;

/// Client → server. `type` selects the variant (snake_case).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A final speech transcript or typed text.
    UserMessage {
        content: String,
        #[serde(default)]
        timestamp: Option<String>,
        /// Lets a client resend after a reconnect without the message counting twice.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// Live speech-to-text: the whole utterance so far (replaces the previous one).
    PartialTranscript {
        content: String,
    },
    Cancel,
    StartStory,
    Resume {
        last_seq: u64,
    },
    Reset,
    Ping,
}

impl ClientMessage {
    pub const TYPES: [&'static str; 7] =
        ["user_message", "partial_transcript", "cancel", "start_story", "resume", "reset", "ping"];

    pub fn kind(&self) -> &'static str {
        match self {
            Self::UserMessage { .. } => "user_message",
            Self::PartialTranscript { .. } => "partial_transcript",
            Self::Cancel => "cancel",
            Self::StartStory => "start_story",
            Self::Resume { .. } => "resume",
            Self::Reset => "reset",
            Self::Ping => "ping",
        }
    }
}

/// Why a client frame was refused; sent as an `error` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    BadJson,
    UnknownType,
    InvalidMessage,
    TooLarge,
    Binary,
    RateLimited,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::BadJson => "bad_json",
            Self::UnknownType => "unknown_type",
            Self::InvalidMessage => "invalid_message",
            Self::TooLarge => "too_large",
            Self::Binary => "binary_not_supported",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Parse a text frame, telling bad JSON, unknown types and malformed messages apart.
pub fn parse_client(text: &str) -> Result<ClientMessage, (Refusal, String)> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| (Refusal::BadJson, format!("not valid JSON: {e}")))?;
    let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
    if !ClientMessage::TYPES.contains(&kind.as_str()) {
        return Err((
            Refusal::UnknownType,
            format!("unknown message type `{kind}`; expected one of {:?}", ClientMessage::TYPES),
        ));
    }
    serde_json::from_value(value).map_err(|e| (Refusal::InvalidMessage, format!("invalid `{kind}` message: {e}")))
}

/// A scene as the app shows it: the one rendering shared by `scene_ready`, the `scenes` of
/// `GET /stories/{id}` and the bundle's `story.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SceneView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub scene_id: SceneId,
    /// 1-based.
    pub sequence: u32,
    pub title: String,
    pub text: String,
    pub image_url: Option<String>,
    pub audio_url: Option<String>,
}

impl SceneView {
    /// `link` turns a stored media key into the URL the app fetches.
    pub fn new(scene: &Scene, link: impl Fn(&str) -> String) -> Self {
        Self {
            scene_id: scene.scene_id,
            sequence: scene.sequence,
            title: scene.title.clone(),
            text: scene.text.clone(),
            image_url: scene.image_key.as_deref().map(&link),
            audio_url: scene.audio_key.as_deref().map(&link),
        }
    }
}

/// The agent's current understanding of the story to write.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequirementsView {
    pub title: Option<String>,
    pub characters: Vec<CharacterView>,
    pub setting: Option<Place>,
    pub style: Option<Style>,
    pub num_scenes: Option<SceneCount>,
    pub age: Option<Age>,
    pub language: Language,
    /// What the agent still needs: `hero`, `setting`, `style`, `num_scenes`.
    pub missing: Vec<&'static str>,
    pub ready: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CharacterView {
    pub name: Option<String>,
    pub kind: Option<String>,
    /// `hero` or `friend`.
    pub role: &'static str,
}

impl RequirementsView {
    pub fn of(draft: &Draft) -> Self {
        let mut characters = Vec::new();
        if !draft.hero.is_empty() {
            characters.push(CharacterView::new(&draft.hero, "hero"));
        }
        characters.extend(draft.companions.iter().map(|c| CharacterView::new(c, "friend")));
        Self {
            title: draft.title.clone(),
            characters,
            setting: draft.setting.clone(),
            style: draft.style,
            num_scenes: draft.num_scenes,
            age: draft.age,
            language: draft.language.clone().unwrap_or_default(),
            missing: draft.missing().into_iter().map(Slot::name).collect(),
            ready: draft.ready(),
        }
    }
}

impl CharacterView {
    pub fn new(c: &Character, role: &'static str) -> Self {
        Self { name: c.name.clone(), kind: c.kind.clone(), role }
    }
}

/// Server → client events (the envelope adds `seq` and `timestamp`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// On connect (and after `reset`): which conversation, whether missed events were
    /// replayed, and the latest `seq` of the stream. It carries no `seq` of its own.
    Session {
        conversation_id: String,
        resumed: bool,
        last_seq: u64,
    },
    AgentDelta {
        message_id: String,
        delta: String,
    },
    AgentMessage {
        message_id: String,
        content: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        cancelled: bool,
    },
    Requirements(RequirementsView),
    StoryStarted {
        story_id: StoryId,
    },
    StoryProgress {
        story_id: StoryId,
        status: StoryStatus,
        stage: Stage,
        scenes_done: u32,
        scenes_total: u32,
    },
    /// Checked text of a scene being written, a whole sentence at a time: append it.
    SceneDelta {
        story_id: StoryId,
        sequence: u32,
        delta: String,
    },
    /// A scene's whole, checked text: replace whatever is shown for that scene.
    SceneText {
        story_id: StoryId,
        sequence: u32,
        title: String,
        text: String,
    },
    /// A scene's picture or narration is stored (before the scene is `scene_ready`).
    SceneMedia {
        story_id: StoryId,
        sequence: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        audio_url: Option<String>,
    },
    SceneReady {
        story_id: StoryId,
        scene: SceneView,
    },
    StoryCompleted {
        story_id: StoryId,
    },
    StoryFailed {
        story_id: StoryId,
        error: String,
    },
    Error {
        code: String,
        message: String,
    },
    Pong,
}

impl ServerEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Session { .. } => "session",
            Self::AgentDelta { .. } => "agent_delta",
            Self::AgentMessage { .. } => "agent_message",
            Self::Requirements(_) => "requirements",
            Self::StoryStarted { .. } => "story_started",
            Self::StoryProgress { .. } => "story_progress",
            Self::SceneDelta { .. } => "scene_delta",
            Self::SceneText { .. } => "scene_text",
            Self::SceneMedia { .. } => "scene_media",
            Self::SceneReady { .. } => "scene_ready",
            Self::StoryCompleted { .. } => "story_completed",
            Self::StoryFailed { .. } => "story_failed",
            Self::Error { .. } => "error",
            Self::Pong => "pong",
        }
    }

    /// What the app is told about a story event; media keys become the URLs it fetches.
    pub fn from_story(event: StoryEvent, links: &dyn MediaLinks) -> Self {
        match event {
            StoryEvent::Started { story_id } => Self::StoryStarted { story_id },
            StoryEvent::Progress { story_id, status, stage, scenes_done, scenes_total } => {
                Self::StoryProgress { story_id, status, stage, scenes_done, scenes_total }
            }
            StoryEvent::SceneDelta { story_id, sequence, delta } => Self::SceneDelta { story_id, sequence, delta },
            StoryEvent::SceneText { story_id, sequence, title, text } => {
                Self::SceneText { story_id, sequence, title, text }
            }
            StoryEvent::SceneMedia { story_id, sequence, image_key, audio_key } => Self::SceneMedia {
                story_id,
                sequence,
                image_url: image_key.as_deref().map(|key| links.link(key)),
                audio_url: audio_key.as_deref().map(|key| links.link(key)),
            },
            StoryEvent::SceneSaved { story_id, scene } => {
                Self::SceneReady { story_id, scene: SceneView::new(&scene, |key| links.link(key)) }
            }
            StoryEvent::Completed { story_id } => Self::StoryCompleted { story_id },
            StoryEvent::Failed { story_id, error } => Self::StoryFailed { story_id, error },
        }
    }

    pub fn refusal(refusal: Refusal, message: impl Into<String>) -> Self {
        Self::Error { code: refusal.code().to_owned(), message: message.into() }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    /// Events of the user's replayable stream only; per-socket events (`session`, `error`,
    /// `pong`, the `requirements` snapshot on connect) have none, so a client that drops what
    /// it has seen by `seq` never drops an event it has not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    timestamp: String,
    #[serde(flatten)]
    event: &'a ServerEvent,
}

/// Serialise an event with its sequence number (stream events) and the current time.
pub fn encode(seq: Option<u64>, event: &ServerEvent) -> String {
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // Serialising these plain types cannot fail; fall back to a minimal frame if it ever did.
    serde_json::to_string(&Envelope { seq, timestamp, event })
        .unwrap_or_else(|_| r#"{"type":"error","code":"internal","message":"encoding failed"}"#.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_apps_user_message() {
        let m = parse_client(r#"{"type":"user_message","content":"a dragon","timestamp":"2024-01-01T00:00:00.000"}"#)
            .unwrap();
        assert!(matches!(m, ClientMessage::UserMessage { ref content, .. } if content == "a dragon"));
        assert_eq!(parse_client(r#"{"type":"resume","last_seq":7}"#).unwrap(), ClientMessage::Resume { last_seq: 7 });
        assert_eq!(parse_client(r#"{"type":"ping"}"#).unwrap(), ClientMessage::Ping);
    }

    #[test]
    fn refusals_are_told_apart() {
        assert_eq!(parse_client("{nope").unwrap_err().0, Refusal::BadJson);
        assert_eq!(parse_client(r#"{"type":"dance"}"#).unwrap_err().0, Refusal::UnknownType);
        assert_eq!(parse_client(r#"{"content":"x"}"#).unwrap_err().0, Refusal::UnknownType);
        assert_eq!(parse_client(r#"{"type":"user_message"}"#).unwrap_err().0, Refusal::InvalidMessage);
        assert_eq!(parse_client(r#"{"type":"resume","last_seq":-1}"#).unwrap_err().0, Refusal::InvalidMessage);
    }

    #[test]
    fn envelopes_are_flat_with_seq_and_timestamp() {
        let v: serde_json::Value = serde_json::from_str(&encode(Some(3), &ServerEvent::Pong)).unwrap();
        assert_eq!(v["type"], "pong");
        assert_eq!(v["seq"], 3);
        let v: serde_json::Value = serde_json::from_str(&encode(None, &ServerEvent::Pong)).unwrap();
        assert!(v.get("seq").is_none(), "per-socket events carry no seq: {v}");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        let id = StoryId::new();
        let v: serde_json::Value =
            serde_json::from_str(&encode(Some(4), &ServerEvent::StoryCompleted { story_id: id })).unwrap();
        assert_eq!(v["story_id"], id.to_string());
    }
}
