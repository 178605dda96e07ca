//! The `conversation` section: how a child's conversation with the agent is paced and kept.

use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ConversationSettings {
    /// A conversation with no socket this long is passivated (its state stays in the database).
    #[serde(rename = "conversation_idle_secs")]
    pub idle_secs: u64,
    /// Events kept per conversation so a reconnecting client can `resume`.
    #[serde(rename = "conversation_ring_size")]
    pub ring_size: usize,
    /// Child messages per minute for one user, over all their sockets (bursts of up to ten, or a
    /// third of the minute's worth when that is more).
    #[serde(rename = "conversation_turns_per_minute")]
    pub turns_per_minute: u32,
    /// Pause between the chunks of a streamed agent reply.
    pub agent_delta_delay_ms: u64,
    /// With `llm = openai`: how long the model may take to read a child's turn before the
    /// builtin rules answer it.
    pub agent_understanding_timeout_ms: u64,
    /// With `llm = openai`: how long the model may take to say the agent's reply before the
    /// builtin words are said.
    pub agent_reply_timeout_ms: u64,
    /// Longest transcript accepted by `POST /conversation/{user_id}/transcripts`.
    pub max_transcript_chars: usize,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        Self {
            idle_secs: 300,
            ring_size: 512,
            turns_per_minute: 30,
            agent_delta_delay_ms: 30,
            agent_understanding_timeout_ms: 4_000,
            agent_reply_timeout_ms: 20_000,
            max_transcript_chars: 4_000,
        }
    }
}

impl ConversationSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.ring_size == 0 || self.turns_per_minute == 0 || self.max_transcript_chars == 0 {
            return invalid(
                "conversation_ring_size, conversation_turns_per_minute and max_transcript_chars must be at least 1",
            );
        }
        if self.agent_understanding_timeout_ms == 0 || self.agent_reply_timeout_ms == 0 {
            return invalid("agent_understanding_timeout_ms and agent_reply_timeout_ms must be at least 1");
        }
        Ok(())
    }
}
