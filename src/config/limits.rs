//! The `limits` section: what one story request may ask for, and how many stories are written at once.

use super::{ConfigError, invalid};
use actors::model::{SceneCount, SpecLimits};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    pub max_prompt_chars: usize,
    pub max_title_chars: usize,
    /// Largest `num_scenes` a story may ask for (at most 12).
    pub max_scenes: u8,
    pub default_scenes: u8,
    /// Friends beside the hero a conversation's story may have (1–12).
    pub max_companions: usize,
    /// Largest `limit` for list endpoints.
    pub max_page_size: u32,
    /// Pages of one story that may be redone in 24 hours (`POST …/regenerate`; more: 429; 0
    /// turns redos off).
    pub max_redos_per_story_per_day: u32,
    /// Longest hint for a page to redo.
    pub max_hint_chars: usize,
    /// Stories pending or being written at once for one user (more: 429 `too_many_stories`),
    /// and in all (more: 503 `busy`).
    pub max_stories_in_flight_per_user: u32,
    pub max_stories_in_flight: u32,
    /// How often one story's actor may crash before the story is marked failed.
    pub story_restart_limit: u32,
    /// Scenes of one story whose pictures and narration may be in flight while later texts are written.
    pub pipeline_lookahead: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_prompt_chars: 2_000,
            max_title_chars: 120,
            max_scenes: SceneCount::MAX.get(),
            default_scenes: SceneCount::DEFAULT.get(),
            max_companions: 4,
            max_page_size: 100,
            max_redos_per_story_per_day: 10,
            max_hint_chars: 300,
            max_stories_in_flight_per_user: 3,
            max_stories_in_flight: 500,
            story_restart_limit: 3,
            pipeline_lookahead: 3,
        }
    }
}

impl Limits {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if SceneCount::new(i64::from(self.max_scenes)).is_err() {
            return invalid("max_scenes must be between 1 and 12");
        }
        if !(1..=12).contains(&self.max_companions) {
            return invalid("max_companions must be between 1 and 12");
        }
        if !(1..=self.max_scenes).contains(&self.default_scenes) {
            return invalid("default_scenes must be between 1 and max_scenes");
        }
        if self.max_page_size == 0 || self.pipeline_lookahead == 0 || self.max_prompt_chars == 0 {
            return invalid("max_page_size, pipeline_lookahead and max_prompt_chars must be at least 1");
        }
        if self.max_stories_in_flight == 0 || self.max_stories_in_flight_per_user == 0 {
            return invalid("max_stories_in_flight and max_stories_in_flight_per_user must be at least 1");
        }
        Ok(())
    }

    /// The limits every story request is held to, over REST and in conversations alike.
    pub fn spec_limits(&self) -> SpecLimits {
        let scenes = |n: u8| SceneCount::saturating(i64::from(n));
        SpecLimits {
            max_prompt_chars: self.max_prompt_chars,
            max_title_chars: self.max_title_chars,
            max_scenes: scenes(self.max_scenes),
            default_scenes: scenes(self.default_scenes),
            max_companions: self.max_companions,
        }
    }
}
