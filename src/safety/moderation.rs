//! The optional second opinion: an OpenAI-compatible `POST {base}/moderations`, asked about
//! what the builtin lists let through. If it cannot be reached the builtin verdict stands (the
//! lists are strict on their own); that is logged and counted.

use crate::config::Config;
use crate::providers::openai::Endpoint;
use actors::ports::{Concern, Safety};
use async_trait::async_trait;
use prometheus::IntCounter;
use serde_json::json;

pub struct Moderated<S> {
    pub builtin: S,
    endpoint: Endpoint,
    model: String,
    unavailable: IntCounter,
}

impl<S> Moderated<S> {
    pub fn new(builtin: S, config: &Config, unavailable: IntCounter) -> Self {
        let endpoint = Endpoint::new("moderation", &config.moderation_base_url, config.moderation_api_key.clone());
        Self { builtin, endpoint, model: config.moderation_model.clone(), unavailable }
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
        let answer = self.endpoint.json("/moderations", &json!({"model": self.model, "input": text})).await;
        let result = match answer {
            Ok(answer) => answer["results"][0].clone(),
            Err(e) => {
                self.unavailable.inc();
                tracing::warn!(error = %e, "moderation unavailable; the builtin lists decide");
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
