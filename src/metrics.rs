//! Prometheus metrics, in a registry owned by the app (no globals, so tests can run several
//! apps in one process). Also the core's `Observer`, so actors report without knowing Prometheus.
//! Every name the alert rules and the dashboard in `deploy/` use is checked against this output
//! (tests/api/monitoring.rs).

mod allocator;
mod capacity;
mod homes;
mod latency;
mod process;
mod register;

pub use allocator::jemalloc_is_the_allocator;
pub use capacity::Capacity;
pub use homes::{ClaimReason, HomeMetrics};
pub use latency::Latencies;
use register::{Registrar, unregistered_counter, unregistered_float_gauge};

use actors::model::{Scene, Stage, StoryId, StoryStatus};
use actors::ports::{ActorKind, Concern, Observer, ProviderError, Reason};
use prometheus::{
    Encoder, Gauge, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Registry, TextEncoder,
};
use std::time::Duration;

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    story_transitions: IntCounterVec,
    story_duration: HistogramVec,
    scenes_written: IntCounter,
    actors_alive: IntGaugeVec,
    pub ws_connections: IntGauge,
    pub narrator_available: IntGauge,
    pub media_requests: IntCounterVec,
    pub media_bytes: IntCounter,
    pub cache_lookups: IntCounterVec,
    /// `cache_lookups_total{cache="story"}` hit and miss, resolved once (the hot path).
    pub story_cache_hits: IntCounter,
    pub story_cache_misses: IntCounter,
    ws_messages_in: IntCounterVec,
    ws_messages_out: IntCounterVec,
    ws_rejected: IntCounterVec,
    ws_dropped: IntCounter,
    ws_fanout: Histogram,
    provider_calls: HistogramVec,
    provider_errors: IntCounterVec,
    provider_retries: IntCounterVec,
    provider_fallbacks: IntCounterVec,
    safety_flags: IntCounterVec,
    /// Tokens the text models wrote, by provider.
    pub llm_tokens: IntCounterVec,
    /// Moderation checks that could not be made (the builtin lists decided alone).
    pub moderation_unavailable: IntCounter,
    pub moderation_timeouts: IntCounter,
    pub understanding: IntCounterVec,
    /// Connections refused over the cap, and accept errors (backed off).
    pub connections_refused: IntCounter,
    pub accept_errors: IntCounter,
    /// Sign-in and sign-up attempts refused by a throttle, and password checks turned away.
    pub auth_throttled: IntCounterVec,
    pub password_hash_busy: IntCounter,
    /// Media files removed because nothing referred to them.
    pub media_orphans_removed: IntCounter,
    /// Conversation turns written by each group commit.
    pub turns_per_commit: Histogram,
    /// Levels beside their limits, and the unfinished stories.
    pub capacity: Capacity,
    pub latency: Latencies,
    /// This machine's homes: held, claimed, taken over, fenced, replayed.
    pub homes: HomeMetrics,
    /// An embedded replica's syncs with its primary (registered only for a replica).
    pub replica_sync_age: Gauge,
    pub replica_sync_errors: IntCounter,
}

/// Buckets of the request and call latencies.
const HTTP_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const STORY_BUCKETS: [f64; 11] = [0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0];
const FANOUT_BUCKETS: [f64; 10] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1];
const PROVIDER_BUCKETS: [f64; 12] = [0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

impl Metrics {
    /// Every metric, one per line: its field, its name and help, its labels.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("storymimi".into()), None)?;
        let r = Registrar(&registry);
        let cache_lookups =
            r.counters("cache_lookups_total", "Hot cache lookups by cache and result", &["cache", "result"])?;
        let metrics = Self {
            http_requests: r.counters("http_requests_total", "HTTP requests by route, method and status", &["method", "route", "status"])?,
            http_duration: r.histograms("http_request_duration_seconds", "HTTP request latency by route", &HTTP_BUCKETS, &["method", "route"])?,
            story_transitions: r.counters("story_status_transitions_total", "Stories entering each status", &["status"])?,
            story_duration: r.histograms("story_generation_duration_seconds", "Time a story actor spent until the story finished", &STORY_BUCKETS, &["outcome"])?,
            scenes_written: r.counter("scenes_written_total", "Scenes persisted")?,
            actors_alive: r.gauges("actors_alive", "Live actors by kind", &["kind"])?,
            ws_connections: r.gauge("ws_connections", "Open WebSocket connections")?,
            narrator_available: r.gauge("narrator_available", "1 when narration works on this machine")?,
            media_requests: r.counters("media_requests_total", "GET /media requests by status", &["status"])?,
            media_bytes: r.counter("media_bytes_served_total", "Media bytes sent")?,
            story_cache_hits: cache_lookups.with_label_values(&["story", "hit"]),
            story_cache_misses: cache_lookups.with_label_values(&["story", "miss"]),
            cache_lookups,
            ws_messages_in: r.counters("ws_messages_in_total", "Client messages accepted, by type", &["type"])?,
            ws_messages_out: r.counters("ws_messages_out_total", "Events queued to sockets, by type", &["type"])?,
            ws_rejected: r.counters("ws_frames_rejected_total", "Client frames refused, by reason", &["reason"])?,
            ws_dropped: r.counter("ws_outbound_dropped_total", "Slow clients disconnected: outbound queue full")?,
            ws_fanout: r.histogram("ws_fanout_seconds", "From a story event to its being queued on every socket of the owner", &FANOUT_BUCKETS)?,
            provider_calls: r.histograms("provider_call_duration_seconds", "Provider call attempts by provider and call", &PROVIDER_BUCKETS, &["provider", "call"])?,
            provider_errors: r.counters("provider_errors_total", "Failed provider call attempts by provider, call and kind", &["provider", "call", "kind"])?,
            provider_retries: r.counters("provider_retries_total", "Provider calls made again, by call and reason", &["call", "reason"])?,
            provider_fallbacks: r.counters(
                "provider_fallbacks_total",
                "Model text given up on and written by the offline storyteller (or the builtin agent), by call and reason",
                &["call", "reason"],
            )?,
            safety_flags: r.counters("safety_flags_total", "Texts held back by the safety check, by path and concern", &["path", "concern"])?,
            llm_tokens: r.counters("llm_tokens_total", "Tokens generated by text models", &["provider"])?,
            moderation_unavailable: r.counter("moderation_unavailable_total", "Moderation checks that could not be made; the builtin lists decided alone")?,
            moderation_timeouts: r.counter(
                "moderation_timeouts_total",
                "Moderation checks that did not answer within moderation_timeout_ms; the builtin lists decided alone",
            )?,
            understanding: r.counters("agent_understanding_total", "Children's turns a model was asked to read, by what came of it", &["outcome"])?,
            connections_refused: r.counter("http_connections_refused_total", "Connections refused over the connection cap")?,
            accept_errors: r.counter("http_accept_errors_total", "Failed accepts (the loop backs off)")?,
            auth_throttled: r.counters("auth_throttled_total", "Sign-in and sign-up attempts refused (429), by endpoint and scope", &["endpoint", "scope"])?,
            password_hash_busy: r.counter("password_hash_busy_total", "Password checks turned away (503): all workers and the queue busy")?,
            media_orphans_removed: r.counter("media_orphans_removed_total", "Media files removed because nothing referred to them")?,
            turns_per_commit: r.histogram("db_turns_per_commit", "Conversation turns (and stored understandings) written by each group commit", &BATCH_BUCKETS)?,
            capacity: Capacity::register(&r)?,
            latency: Latencies::register(&r)?,
            homes: HomeMetrics::register(&r)?,
            replica_sync_age: unregistered_float_gauge(
                "db_replica_sync_age_seconds",
                "Seconds since the database replica last synced with its primary (since start-up before the first sync)",
            )?,
            replica_sync_errors: unregistered_counter("db_replica_sync_errors_total", "Syncs of the database replica that failed or timed out")?,
            registry: registry.clone(),
        };
        process::register(&registry)?;
        metrics.start_series();
        Ok(metrics)
    }

    /// Series that exist from the start, so alerts, rates and ratios see their first increment.
    fn start_series(&self) {
        for status in [StoryStatus::Pending, StoryStatus::Processing, StoryStatus::Completed, StoryStatus::Failed] {
            self.story_transitions.with_label_values(&[status.as_str()]);
        }
        for kind in ["root", "story_supervisor", "story", "conversation_supervisor", "conversation", "connection"] {
            self.actors_alive.with_label_values(&[kind]);
        }
        for (endpoint, scope) in [("login", "address"), ("login", "account"), ("register", "address")] {
            self.auth_throttled.with_label_values(&[endpoint, scope]);
        }
        // Plans and scenes fall back for what the model wrote (a provider error fails the story
        // instead); the agent's replies also for errors and timeouts.
        for reason in Reason::ALL {
            if !matches!(reason, Reason::Error | Reason::Timeout) {
                self.provider_fallbacks.with_label_values(&["plan", reason.as_str()]);
                self.provider_fallbacks.with_label_values(&["scene", reason.as_str()]);
            }
        }
        for reason in [Reason::Error, Reason::Timeout, Reason::Unsafe, Reason::Length] {
            self.provider_fallbacks.with_label_values(&["reply", reason.as_str()]);
        }
        // Retries likewise: a plan or scene is asked again for any reason; a picture or a
        // narration only after a failed attempt.
        for reason in Reason::ALL {
            self.provider_retries.with_label_values(&["plan", reason.as_str()]);
            self.provider_retries.with_label_values(&["scene", reason.as_str()]);
        }
        for reason in [Reason::Error, Reason::Timeout] {
            self.provider_retries.with_label_values(&["illustrate", reason.as_str()]);
            self.provider_retries.with_label_values(&["narrate", reason.as_str()]);
        }
    }

    /// Show the replica's metrics (the database is an embedded replica).
    pub fn register_replica(&self) -> Result<(), prometheus::Error> {
        self.registry.register(Box::new(self.replica_sync_age.clone()))?;
        self.registry.register(Box::new(self.replica_sync_errors.clone()))
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Make the series of a provider call this configuration will make, before its first call.
    pub fn expect_provider_call(&self, provider: &str, call: &str) {
        self.provider_calls.with_label_values(&[provider, call]);
        for kind in ["transient", "permanent"] {
            self.provider_errors.with_label_values(&[provider, call, kind]);
        }
    }

    /// Count and time a request by its route template (never the raw path, which would explode
    /// label cardinality and could carry ids).
    pub fn observe_http(&self, method: &str, route: &str, status: &str, elapsed: Duration) {
        self.http_requests.with_label_values(&[method, route, status]).inc();
        self.http_duration.with_label_values(&[method, route]).observe(elapsed.as_secs_f64());
    }
}

impl Observer for Metrics {
    fn provider_call(&self, provider: &str, call: &'static str, elapsed: Duration, error: Option<&ProviderError>) {
        self.provider_calls.with_label_values(&[provider, call]).observe(elapsed.as_secs_f64());
        if let Some(e) = error {
            let kind = if e.retryable { "transient" } else { "permanent" };
            self.provider_errors.with_label_values(&[provider, call, kind]).inc();
        }
    }
    fn provider_retry(&self, call: &'static str, reason: Reason) {
        self.provider_retries.with_label_values(&[call, reason.as_str()]).inc();
    }
    fn provider_fallback(&self, call: &'static str, reason: Reason) {
        self.provider_fallbacks.with_label_values(&[call, reason.as_str()]).inc();
    }
    fn actor_started(&self, kind: ActorKind) {
        self.actors_alive.with_label_values(&[kind.as_str()]).inc();
    }
    fn actor_stopped(&self, kind: ActorKind) {
        self.actors_alive.with_label_values(&[kind.as_str()]).dec();
    }
    fn status_changed(&self, _: StoryId, status: StoryStatus) {
        self.story_transitions.with_label_values(&[status.as_str()]).inc();
    }
    fn scene_saved(&self, _: StoryId, _: &Scene) {
        self.scenes_written.inc();
    }
    fn story_finished(&self, _: StoryId, status: StoryStatus, elapsed: Duration) {
        self.story_duration.with_label_values(&[status.as_str()]).observe(elapsed.as_secs_f64());
    }
    fn message_in(&self, kind: &str) {
        self.ws_messages_in.with_label_values(&[kind]).inc();
    }
    fn message_out(&self, kind: &str, sockets: usize) {
        self.ws_messages_out.with_label_values(&[kind]).inc_by(sockets as u64);
    }
    fn understanding(&self, outcome: &'static str) {
        self.understanding.with_label_values(&[outcome]).inc();
    }
    fn content_flagged(&self, path: &'static str, concern: Concern) {
        self.safety_flags.with_label_values(&[path, concern.as_str()]).inc();
    }
    fn frame_rejected(&self, reason: &str) {
        self.ws_rejected.with_label_values(&[reason]).inc();
    }
    fn outbound_dropped(&self) {
        self.ws_dropped.inc();
    }
    fn fanout(&self, latency: Duration) {
        self.ws_fanout.observe(latency.as_secs_f64());
    }
    fn story_step(&self, stage: Stage, elapsed: Duration) {
        self.latency.story_step.with_label_values(&[stage.as_str()]).observe(elapsed.as_secs_f64());
    }
    fn first_scene(&self, _: StoryId, elapsed: Duration) {
        self.latency.first_scene.observe(elapsed.as_secs_f64());
    }
    fn first_text(&self, _: StoryId, elapsed: Duration) {
        self.latency.first_text.observe(elapsed.as_secs_f64());
    }
    fn first_words(&self, elapsed: Duration) {
        self.latency.first_words.observe(elapsed.as_secs_f64());
    }
}
