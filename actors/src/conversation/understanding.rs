//! With a model configured, the model reads the child's turn into the draft (the builtin rules
//! only cover the phrasings someone wrote down). What it reads is used only when it comes in
//! time (`understanding_timeout`), parses, holds values the service takes and is safe; any
//! other turn is the builtin rules' alone, as is every answer to "Shall I make it?".

use super::{ConversationState, requirements_text};
use crate::agent;
use crate::model::Draft;
use crate::ports::{Observer, ProviderError};
use std::time::Instant;

impl ConversationState {
    /// The draft a model read from `content`, checked and safe; `None` when the builtin rules
    /// answer this turn (no model, a yes or no they decide, or a reading that was late, failed,
    /// unreadable, invalid or unsafe: each counted).
    pub(super) async fn model_reading(&self, content: &str) -> Option<Draft> {
        let understander = self.deps.understander.as_ref()?;
        let limits = self.deps.config.agent;
        if agent::builtin_decides(&self.draft, content, &limits) {
            return None;
        }
        let observer: &dyn Observer = self.deps.observer.as_ref();
        let started = Instant::now();
        let timeout = self.deps.config.understanding_timeout;
        let asked = tokio::time::timeout(timeout, understander.read(&self.draft, content)).await;
        let elapsed = started.elapsed();
        let reading = match asked {
            Ok(Ok(reading)) => {
                observer.provider_call(understander.name(), "understand", elapsed, None);
                reading
            }
            Ok(Err(e)) => {
                observer.provider_call(understander.name(), "understand", elapsed, Some(&e));
                return self.builtin_turn("failed", &e.message);
            }
            Err(_) => {
                let late = ProviderError::transient("the model did not read the turn in time");
                observer.provider_call(understander.name(), "understand", elapsed, Some(&late));
                return self.builtin_turn("timeout", &late.message);
            }
        };
        let Some(reading) = reading else { return self.builtin_turn("unreadable", "no JSON object in the answer") };
        let read = match agent::draft_of(&reading, &self.draft, &limits) {
            Ok(read) => read,
            Err(why) => return self.builtin_turn("invalid", &why.0),
        };
        // Names, places and titles the model wrote pass the same check as the child's words.
        if let Some(concern) = self.deps.safety.check(&requirements_text(&read)).await {
            return self.builtin_turn("unsafe", concern.as_str());
        }
        observer.understanding("used");
        Some(read)
    }

    fn builtin_turn(&self, outcome: &'static str, why: &str) -> Option<Draft> {
        self.deps.observer.understanding(outcome);
        tracing::info!(user = %self.user, outcome, why, "the model's reading was not used; the builtin rules answer");
        None
    }
}
