//! `AppState`: everything a handler needs, built once in `startup`. Handlers get it by cloning
//! one `Arc` (one atomic increment), not each part's.

use crate::auth::{AuthGuards, JwtKeys};
use crate::cache::StoryDetails;
use crate::config::Config;
use crate::db::Db;
use crate::media::Storage;
use crate::media_links::MediaUrls;
use crate::metrics::Metrics;
use crate::providers::ProviderChecks;
use actors::Engine;
use actors::ports::Safety;
use std::sync::Arc;

/// The shared state handlers receive.
pub type AppState = Arc<App>;

pub struct App {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: Arc<JwtKeys>,
    /// Signed-out sessions whose access tokens have not expired yet.
    pub revoked: Arc<crate::auth::RevokedSessions>,
    /// Bounded password hashing and sign-in / sign-up throttles.
    pub auth: Arc<AuthGuards>,
    pub engine: Arc<Engine>,
    /// The users whose home this machine is, and where the others' are.
    pub homes: Arc<crate::homes::Homes>,
    pub metrics: Arc<Metrics>,
    pub links: Arc<MediaUrls>,
    pub media: Storage,
    /// What `/readyz` reports about the llm, illustrator and narrator.
    pub providers: Arc<ProviderChecks>,
    pub stories: Arc<StoryDetails>,
    /// Open WebSockets per user, capped.
    pub sockets: Arc<crate::ws::SocketSlots>,
    /// Checks what clients send over REST (prompts, titles, transcripts).
    pub safety: Arc<dyn Safety>,
    /// Set on the shutdown signal: readiness fails and new requests get 503 while draining.
    pub draining: Arc<crate::http::health::Draining>,
}
