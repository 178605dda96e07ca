//! The optional second opinion: an OpenAI-compatible `POST {base}/moderations`, asked about
//! what the builtin filter lets through. Every check has a total timeout: if the API cannot be
//! reached, fails or does not answer in time, the builtin verdict stands (it is strict on its
//! own), that is logged and counted, and the API is left alone for a cool-down, so a hung
//! moderation service costs a child one short wait, not one per check.

use crate::config::Providers;
use crate::providers::openai::Endpoint;
use actors::ports::{Concern, Safety};
use async_trait::async_trait;
use prometheus::IntCounter;
use serde_json::json;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub struct Moderated<S> {
    pub builtin: S,
    endpoint: Endpoint,
    model: String,
    timeout: Duration,
    cooldown: Duration,
    /// Until when the API is not asked (it failed or timed out just before).
    resting_until: Mutex<Option<Instant>>,
    unavailable: IntCounter,
    timeouts: IntCounter,
}

impl<S> Moderated<S> {
    pub fn new(builtin: S, config: &Providers, unavailable: IntCounter, timeouts: IntCounter) -> Self {
        let endpoint = Endpoint::new("moderation", &config.moderation.base_url, config.moderation.api_key.clone());
        Self {
            builtin,
            endpoint,
            model: config.moderation.model.clone(),
            timeout: Duration::from_millis(config.moderation.timeout_ms),
            cooldown: Duration::from_secs(config.moderation.cooldown_secs),
            resting_until: Mutex::new(None),
            unavailable,
            timeouts,
        }
    }

    /// Whether the API is resting after a failure; a poisoned lock still holds a valid instant.
    fn resting(&self) -> bool {
        let until = *self.resting_until.lock().unwrap_or_else(PoisonError::into_inner);
        until.is_some_and(|until| Instant::now() < until)
    }

    fn rest(&self) {
        *self.resting_until.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + self.cooldown);
    }
}

/// OpenAI's moderation categories, as our concerns.
fn concern_of(category: &str) -> Concern {
    match category.split('/').next().unwrap_or(category) {
        "sexual" => Concern::Sexual,
        "self-harm" => Concern::SelfHarm,
        "hate" => Concern::Hate,
        "harassment" => Concern::Insult,
        "illicit" => Concern::DrugsAlcohol,
        _ => Concern::Violence,
    }
}

#[async_trait]
impl<S: Safety> Safety for Moderated<S> {
    async fn check(&self, text: &str) -> Option<Concern> {
        if let Some(concern) = self.builtin.check(text).await {
            return Some(concern);
        }
        if self.resting() {
            self.unavailable.inc();
            return None;
        }
        let body = json!({"model": self.model, "input": text});
        let result = match tokio::time::timeout(self.timeout, self.endpoint.json("/moderations", &body)).await {
            Ok(Ok(answer)) => answer["results"][0].clone(),
            Ok(Err(e)) => {
                self.unavailable.inc();
                self.rest();
                tracing::warn!(error = %e, "moderation unavailable; the builtin filter decides");
                return None;
            }
            Err(_) => {
                self.unavailable.inc();
                self.timeouts.inc();
                self.rest();
                let timeout_ms = self.timeout.as_millis() as u64;
                tracing::warn!(timeout_ms, "moderation did not answer in time; the builtin filter decides");
                return None;
            }
        };
        if result["flagged"].as_bool() != Some(true) {
            return None;
        }
        let flagged = result["categories"].as_object().and_then(|c| c.iter().find(|(_, v)| v.as_bool() == Some(true)));
        Some(flagged.map_or(Concern::Violence, |(name, _)| concern_of(name)))
    }

    fn redact(&self, text: &str) -> String {
        self.builtin.redact(text)
    }
}
