//! Building and running the application: the one place where config becomes a running
//! service (database, actor tree, providers, routes). `main` and the tests both use it.

use crate::auth::{AuthGuards, JwtKeys};
use crate::cache::{CachedStories, DetailCacheSettings, StoryDetails};
use crate::config::{Config, InstanceId, MediaBackend};
use crate::data_lock::DataDirLock;
use crate::db::Db;
use crate::homes::Homes;
use crate::http;
use crate::media::Storage;
use crate::media_links::MediaUrls;
use crate::media_sweep::Sweeper;
use crate::metrics::Metrics;
use crate::providers;
use crate::providers::ProviderChecks;
use crate::providers::narrator::NarratorStatus;
use crate::safety::{Builtin, Moderated};
use crate::server::{self, ServerLimits, ServerMetrics};
use crate::state::{App, AppState};
use actors::connection::ConnectionLimits;
use actors::conversation::ConversationConfig;
use actors::ports::{Illustrator, InFlightCaps, Llm, Narrator, Safety};
use actors::retry::RetryPolicy;
use actors::{Engine, EngineConfig, Ports};
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct Application {
    /// The data directory is this process's alone while it runs.
    lock: DataDirLock,
    listener: TcpListener,
    /// The internal metrics port, when configured.
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

/// Overrides for parts that live outside us (tests swap in their own providers).
#[derive(Default)]
pub struct Overrides {
    pub llm: Option<Arc<dyn Llm>>,
    pub illustrator: Option<Arc<dyn Illustrator>>,
    pub narrator: Option<Arc<dyn Narrator>>,
    pub safety: Option<Arc<dyn Safety>>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Overrides::default()).await
    }

    pub async fn build_with(config: Config, overrides: Overrides) -> anyhow::Result<Self> {
        config.validate()?;
        if config.auth.jwt_secret.is_none() {
            tracing::warn!(
                "DEVELOPMENT MODE: tokens and media URLs are signed with a built-in key anyone can read. \
                 For any real use set STORYMIMI_ENV=production and STORYMIMI_JWT_SECRET (32+ random characters)"
            );
        }
        let lock = DataDirLock::acquire(&config.data_dir)?;
        crate::fd_limit::prepare_for(config.http.max_connections);
        let metrics = Arc::new(Metrics::new()?);
        let db = open_database(&config, &metrics).await?;
        db.observe_turns_per_commit(metrics.turns_per_commit.clone());
        db.observe_timings(metrics.latency.db.clone());
        let homes = Homes::new(db.clone(), config.homes(InstanceId::random), metrics.clone());
        if config.db.replica().is_none() {
            // The local file is this process's alone (the data dir is locked): whatever homes
            // it names were held by a process before this one.
            db.release_all_homes(None).await.context("releasing the homes held before this start")?;
        }
        tracing::info!(instance = %homes.instance(), "this machine's name among its peers");
        let links = Arc::new(MediaUrls::from_config(&config));
        let media = Storage::from_config(&config).context("opening the media store")?;
        let (narrator, narrator_status) = match overrides.narrator {
            Some(narrator) => {
                let status =
                    NarratorStatus { kind: narrator.name().to_owned(), available: true, detail: "override".into() };
                (Some(narrator), status)
            }
            None => providers::narrator(&config.providers).await,
        };
        if narrator_status.available {
            tracing::info!(narrator = %narrator_status.kind, detail = %narrator_status.detail, "narration enabled");
        } else {
            tracing::warn!(reason = %narrator_status.detail, "narration disabled: stories will have no audio");
        }
        metrics.narrator_available.set(i64::from(narrator_status.available));
        let cache = Arc::new(StoryDetails::new(
            db.clone(),
            crate::http::detail_renderer(links.clone()),
            DetailCacheSettings {
                capacity: config.cache.capacity,
                ttl: config.story_cache_ttl(),
                hits: metrics.story_cache_hits.clone(),
                misses: metrics.story_cache_misses.clone(),
            },
        ));
        let stories = Arc::new(CachedStories { db: db.clone(), cache: cache.clone() });
        let safety: Arc<dyn Safety> = if let Some(safety) = overrides.safety {
            safety
        } else if config.providers.moderation.enabled {
            Arc::new(Moderated::new(
                Builtin::default(),
                &config.providers,
                metrics.moderation_unavailable.clone(),
                metrics.moderation_timeouts.clone(),
            ))
        } else {
            Arc::new(Builtin::default())
        };
        let ports = Ports {
            stories: stories.clone(),
            catalog: stories,
            conversations: Arc::new(db.clone()),
            rings: Arc::new(db.clone()),
            llm: overrides.llm.unwrap_or_else(|| providers::llm(&config.providers, &metrics)),
            llm_writer: providers::llm_writer(&config.providers),
            fallback_llm: providers::builtin_llm(&config.providers),
            safety: safety.clone(),
            chat: providers::chat(&config.providers, &metrics),
            understander: providers::understander(&config.providers, &metrics),
            illustrator: overrides.illustrator.unwrap_or_else(|| providers::illustrator(&config.providers)),
            narrator,
            media: Arc::new(media.clone()),
            observer: metrics.clone(),
            links: links.clone(),
            residency: homes.clone(),
        };
        expect_provider_calls(&metrics, &ports);
        let engine = Arc::new(Engine::start(ports, engine_config(&config)).await.context("starting the actor tree")?);
        homes.attach(&engine);
        let listener =
            TcpListener::bind(config.http.addr).await.with_context(|| format!("binding {}", config.http.addr))?;
        let metrics_listener = match config.http.metrics_addr {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("binding {addr} for metrics"))?),
            None => None,
        };
        let providers = Arc::new(ProviderChecks::new(&config.providers, narrator_status));
        let revoked =
            Arc::new(crate::auth::RevokedSessions::new(Duration::from_secs(config.auth.access_token_ttl_secs)));
        for family in db.recently_revoked_families(config.auth.access_token_ttl_secs + 60).await? {
            revoked.revoke(&family);
        }
        let sockets = crate::ws::SocketSlots::new(config.ws.max_sockets_per_user);
        let auth = Arc::new(AuthGuards::new(&config.auth, metrics.clone())?);
        let capacity = &metrics.capacity;
        capacity.http_connections_limit.set(i64::try_from(config.http.max_connections).unwrap_or(i64::MAX));
        capacity.stories_in_flight_limit.set(i64::from(config.limits.max_stories_in_flight));
        capacity.password_hash_slots.set(i64::try_from(auth.hasher.slots().1).unwrap_or(i64::MAX));
        let state = Arc::new(App {
            keys: Arc::new(JwtKeys::new(&config.auth)),
            auth,
            revoked,
            config: Arc::new(config),
            db,
            engine,
            homes,
            metrics,
            links,
            media,
            providers,
            stories: cache,
            safety,
            sockets,
            draining: Arc::default(),
        });
        Ok(Self { lock, listener, metrics_listener, state })
    }

    /// The metrics port actually bound, when it has its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.config.http.addr)
    }

    /// Serve until `shutdown` resolves, then drain: readiness fails at once and new requests
    /// and upgrades are answered 503 + `Retry-After` (the port stays open), sockets close
    /// (going away), story steps in flight finish (bounded by `shutdown_grace_secs`) and every
    /// conversation keeps its event ring; then stop accepting and let in-flight requests end.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(%addr, "storymimi listening");
        let metrics_addr = self.metrics_addr();
        let Self { lock, listener, metrics_listener, state } = self;
        let metrics_serving = metrics_listener.map(|listener| {
            if let Some(addr) = metrics_addr {
                tracing::info!(%addr, "metrics on their own port");
            }
            let router = http::health::metrics_router(state.clone());
            tokio::spawn(async move { axum::serve(listener, router).await })
        });
        let sweeper = Sweeper {
            db: state.db.clone(),
            media: state.media.clone(),
            staging: (state.config.storage.backend == MediaBackend::Fs).then(|| state.config.media_staging_dir()),
            grace: Duration::from_secs(state.config.storage.sweep_grace_secs),
            removed: state.metrics.media_orphans_removed.clone(),
        };
        let sweeping = tokio::spawn(sweeper.run(Duration::from_secs(state.config.storage.sweep_interval_secs.max(1))));
        // Renewals, and the sweep that adopts unfinished stories (at once: what a crash or a
        // deploy left) of users with no live home.
        let upkeep = state.homes.keep();
        let app = tower::util::MapRequest::new(http::router(state.clone()), http::trim_trailing_slash);
        let config = &state.config;
        let limits = ServerLimits {
            header_read_timeout: Duration::from_secs(config.http.header_read_timeout_secs),
            max_header_bytes: config.http.max_header_bytes,
            max_connections: config.http.max_connections,
            grace: config.shutdown_grace(),
        };
        let metrics = ServerMetrics {
            refused: state.metrics.connections_refused.clone(),
            accept_errors: state.metrics.accept_errors.clone(),
            open: state.metrics.capacity.http_connections.clone(),
        };
        let (stop_serving, serving_stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server::serve(listener, app, limits, metrics, async {
            let _ = serving_stopped.await;
        }));
        shutdown.await;
        state.draining.begin();
        tracing::info!(
            at_most_secs = state.config.drain_bound().as_secs(),
            "draining: readiness fails and new requests are asked to come back; stopping the actors"
        );
        state.engine.shutdown().await;
        // Every actor has stopped (the conversations kept their rings): let the homes go, so
        // other machines take the users over at once instead of when the leases lapse.
        upkeep.stop();
        state.homes.release_all().await;
        sweeping.abort();
        let _ = stop_serving.send(());
        let _ = serving.await;
        if let Some(serving) = metrics_serving {
            serving.abort();
        }
        tracing::info!("shutdown complete");
        drop(lock);
        Ok(())
    }
}

/// The provider calls this configuration makes have their series before the first call.
fn expect_provider_calls(metrics: &Metrics, ports: &Ports) {
    metrics.expect_provider_call(ports.llm.name(), "plan");
    metrics.expect_provider_call(ports.llm.name(), "scene");
    metrics.expect_provider_call(ports.illustrator.name(), "illustrate");
    if let Some(narrator) = &ports.narrator {
        metrics.expect_provider_call(narrator.name(), "narrate");
    }
    if let Some(chat) = &ports.chat {
        metrics.expect_provider_call(chat.name(), "reply");
    }
}

/// The database the config names: the local file, or an embedded replica of a primary.
async fn open_database(config: &Config, metrics: &Metrics) -> anyhow::Result<Db> {
    let Some(settings) = config.db.replica() else {
        let path = config.db_path();
        return Db::open_local(&path, config.db.readers, Duration::from_millis(config.db.checkpoint_interval_ms))
            .await
            .with_context(|| format!("opening the database at {}", path.display()));
    };
    #[cfg(feature = "replica")]
    {
        metrics.register_replica()?;
        let path = config.replica_path();
        tracing::info!(primary = %settings.url, replica = %path.display(), "opening an embedded replica of the database");
        Db::open_replica(&path, config.db.readers, &settings, metrics.replica_sync_errors.clone())
            .await
            .with_context(|| format!("opening the replica of {} at {}", settings.url, path.display()))
    }
    #[cfg(not(feature = "replica"))]
    {
        let _ = (settings, metrics);
        anyhow::bail!("db_url needs a build with the `replica` feature")
    }
}

/// The actor tree's limits, from the service config.
fn engine_config(config: &Config) -> EngineConfig {
    EngineConfig {
        llm_concurrency: config.providers.llm.concurrency,
        image_concurrency: config.providers.image.concurrency,
        audio_concurrency: config.providers.speech.concurrency,
        lookahead: config.limits.pipeline_lookahead,
        retry: RetryPolicy {
            retries: config.providers.retries,
            attempt_timeout: Duration::from_secs(config.providers.timeout_secs),
            ..RetryPolicy::default()
        },
        rewrites: config.providers.llm.rewrites,
        fallback_policy: config.providers.llm.fallback,
        restart_limit: config.limits.story_restart_limit,
        storage_retry: Duration::from_millis(config.storage.retry_ms),
        in_flight: InFlightCaps {
            per_user: config.limits.max_stories_in_flight_per_user,
            total: config.limits.max_stories_in_flight,
        },
        conversation: ConversationConfig {
            ring_size: config.conversation.ring_size,
            passivate_after: Duration::from_secs(config.conversation.idle_secs),
            delta_delay: Duration::from_millis(config.conversation.agent_delta_delay_ms),
            history_turns: actors::ports::RECENT_TURNS,
            turns_per_minute: config.conversation.turns_per_minute,
            agent: config.limits.spec_limits(),
            understanding_timeout: Duration::from_millis(config.conversation.agent_understanding_timeout_ms),
            reply_timeout: Duration::from_millis(config.conversation.agent_reply_timeout_ms),
        },
        connection: ConnectionLimits {
            rate_per_sec: config.ws.rate_per_sec,
            burst: config.ws.burst,
            max_strikes: config.ws.max_strikes,
            strike_window: Duration::from_secs(10),
        },
        shutdown_grace: config.shutdown_grace(),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutdown signal received");
}
