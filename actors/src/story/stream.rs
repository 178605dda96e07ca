//! A scene's text as it is written. What the storyteller has so far is shown to the owner a
//! whole sentence at a time (`scene_delta`), each sentence checked together with what was shown
//! before it: safety always, and for a model's text the rules a text still growing can already
//! break (markup, a loop, an "I" narrator). Text that fails is never shown, nor what its call
//! writes after it; a text that does not continue what was shown (a retried call, a rewrite
//! after a rejection) comes whole instead: the story sends `scene_text` once the scene is
//! taken, and clients replace what they showed with it.

use super::StoryDeps;
use super::checks::SceneRules;
use crate::model::{StoryId, UserId};
use crate::ports::{ProviderError, StoryEvent};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// Where a storyteller's call tells the text so far (shared by the attempts of one call).
pub(super) type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// What a scene being written has shown.
pub(super) struct SceneStream {
    story_id: StoryId,
    user: UserId,
    sequence: u32,
    /// Everything released so far: the deltas, joined.
    released: String,
    /// Nothing more is released for this scene: its text comes whole in `scene_text`.
    quiet: bool,
    /// The text that failed the checks: while the call goes on with it, nothing is released.
    refused: Option<String>,
    /// When the actor started, for the first words' latency (taken once).
    started: Option<Instant>,
}

impl SceneStream {
    /// `quiet`: the scene's text may already have been shown (an actor that took over a story
    /// from another, or a scene written again), so it is not streamed again.
    pub(super) fn new(story_id: StoryId, user: UserId, sequence: u32, quiet: bool) -> Self {
        Self { story_id, user, sequence, released: String::new(), quiet, refused: None, started: None }
    }

    /// Report the latency of this scene's first words to the observer (the story's first scene).
    pub(super) fn timed_from(mut self, started: Instant) -> Self {
        self.started = Some(started);
        self
    }

    /// Whether anything of this scene was shown.
    pub(super) fn shown(&self) -> bool {
        !self.released.is_empty()
    }

    /// Run `write`, which tells the text so far to the sink it is given, and release what it
    /// writes as it goes; `rules` for a model's text (the offline storyteller's is only checked
    /// for safety).
    pub(super) async fn follow<T, Fut>(
        &mut self,
        deps: &StoryDeps,
        rules: Option<&SceneRules>,
        write: impl FnOnce(Sink) -> Fut,
    ) -> Result<T, ProviderError>
    where
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let writing = write(Arc::new(move |text: &str| {
            let _ = tx.send(text.to_owned());
        }));
        tokio::pin!(writing);
        let result = loop {
            tokio::select! {
                biased;
                Some(mut text) = rx.recv() => {
                    // Only the latest text matters: it contains the earlier ones.
                    while let Ok(later) = rx.try_recv() {
                        text = later;
                    }
                    self.offer(deps, rules, &text).await;
                }
                result = &mut writing => break result,
            }
        };
        if let Some(text) = std::iter::from_fn(|| rx.try_recv().ok()).last() {
            self.offer(deps, rules, &text).await;
        }
        result
    }

    /// Release what `so_far` (whole sentences) adds to what was released, one sentence at a time
    /// while each passes the checks.
    async fn offer(&mut self, deps: &StoryDeps, rules: Option<&SceneRules>, so_far: &str) {
        if self.quiet {
            return;
        }
        let Some(new) = so_far.strip_prefix(self.released.as_str()) else {
            // Not a continuation of what was shown (a call made again): the rest comes whole.
            self.quiet = true;
            return;
        };
        // A call that wrote what was refused goes on from it; a new one may be shown.
        if self.refused.as_deref().is_some_and(|refused| so_far.starts_with(refused)) {
            return;
        }
        self.refused = None;
        let mut ready = new;
        while !ready.is_empty() {
            let end = first_sentence(ready);
            let (sentence, rest) = ready.split_at(end);
            let candidate = format!("{}{sentence}", self.released);
            if !self.passes(deps, rules, &candidate).await {
                self.refused = Some(candidate);
                return;
            }
            self.released = candidate;
            if let Some(started) = self.started.take() {
                deps.observer.first_text(self.story_id, started.elapsed());
            }
            let delta =
                StoryEvent::SceneDelta { story_id: self.story_id, sequence: self.sequence, delta: sentence.to_owned() };
            deps.publish(self.user, delta);
            ready = rest;
        }
    }

    async fn passes(&self, deps: &StoryDeps, rules: Option<&SceneRules>, text: &str) -> bool {
        if let Some(concern) = deps.safety.check(text).await {
            deps.observer.content_flagged("scene", concern);
            tracing::warn!(story = %self.story_id, scene = self.sequence, concern = concern.as_str(), "scene text held back while written");
            return false;
        }
        match rules.map(|r| r.check_so_far(text)) {
            Some(Err(why)) => {
                let reason = why.reason().as_str();
                tracing::info!(story = %self.story_id, scene = self.sequence, reason, "scene text held back while written");
                false
            }
            _ => true,
        }
    }
}

/// The end of the first sentence in `text` (whole sentences, each ended by `.`, `!` or `?` and
/// followed by a space): a leading space stays with the sentence it starts.
fn first_sentence(text: &str) -> usize {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    (start + 1..bytes.len())
        .find(|&i| matches!(bytes[i - 1], b'.' | b'!' | b'?') && bytes[i] == b' ')
        .unwrap_or(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_cut_where_the_next_one_starts() {
        let ready = "Ruby woke up. She smiled!";
        let end = first_sentence(ready);
        assert_eq!((&ready[..end], &ready[end..]), ("Ruby woke up.", " She smiled!"));
        assert_eq!(first_sentence(" She smiled!"), " She smiled!".len());
    }
}
