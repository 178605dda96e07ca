//! The offline illustrator and narrators slowed to a remote model's latency, for demos and
//! benchmarks (`builtin_image_delay_ms`, `builtin_speech_delay_ms`): a call takes at least that
//! long, as the work and the wait run together.

use actors::ports::{IllustrationRequest, Illustrator, Media, Narrator, ProviderError};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

pub struct Paced<T: ?Sized> {
    pub inner: Arc<T>,
    pub at_least: Duration,
}

#[async_trait]
impl Illustrator for Paced<dyn Illustrator> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn illustrate(&self, request: IllustrationRequest<'_>) -> Result<Media, ProviderError> {
        tokio::join!(self.inner.illustrate(request), tokio::time::sleep(self.at_least)).0
    }
}

#[async_trait]
impl Narrator for Paced<dyn Narrator> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn narrate(&self, text: &str, language: &str) -> Result<Media, ProviderError> {
        tokio::join!(self.inner.narrate(text, language), tokio::time::sleep(self.at_least)).0
    }
}

/// `inner`, taking at least `ms` a call when `ms` is not 0.
pub fn illustrator(inner: Arc<dyn Illustrator>, ms: u64) -> Arc<dyn Illustrator> {
    if ms == 0 { inner } else { Arc::new(Paced { inner, at_least: Duration::from_millis(ms) }) }
}

/// `inner`, taking at least `ms` a call when `ms` is not 0.
pub fn narrator(inner: Arc<dyn Narrator>, ms: u64) -> Arc<dyn Narrator> {
    if ms == 0 { inner } else { Arc::new(Paced { inner, at_least: Duration::from_millis(ms) }) }
}
