//! Homes: the users this machine holds live state for, how it came to hold them, the writes
//! its fence refused, and the requests it sent to another machine (`fly-replay`).

use super::Registrar;
use prometheus::{IntCounter, IntCounterVec, IntGauge};

/// Why this machine claimed a user's home: the `reason` label of `home_claims_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimReason {
    /// A request of the user found no live home anywhere.
    Request,
    /// A request replayed here by the proxy found this machine not holding the user.
    Replayed,
    /// The sweep found an unfinished story with no live home.
    Sweep,
}

impl ClaimReason {
    pub const ALL: [Self; 3] = [Self::Request, Self::Replayed, Self::Sweep];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Replayed => "replayed",
            Self::Sweep => "sweep",
        }
    }
}

pub struct HomeMetrics {
    /// Users whose home this machine is.
    pub held: IntGauge,
    claims: IntCounterVec,
    /// Claims of a home whose previous machine let its lease lapse (it died, or was cut off).
    pub takeovers: IntCounter,
    /// Writes refused because this machine was no longer the user's home (lease renewals
    /// included).
    pub fenced_writes: IntCounter,
    /// Requests answered with `fly-replay` (their user's home is another machine).
    pub replays: IntCounter,
}

impl HomeMetrics {
    pub fn register(r: &Registrar) -> Result<Self, prometheus::Error> {
        let homes = Self {
            held: r.gauge("homes_held", "Users whose home (live state) this machine holds")?,
            claims: r.counters("home_claims_total", "Homes this machine claimed, by what asked for it", &["reason"])?,
            takeovers: r.counter(
                "home_takeovers_total",
                "Homes claimed from another machine whose lease had lapsed (it died or was cut off)",
            )?,
            fenced_writes: r.counter(
                "fenced_writes_total",
                "Writes (lease renewals included) refused because another machine had become the user's home",
            )?,
            replays: r
                .counter("replays_total", "Requests answered with fly-replay: the user's home is another machine")?,
        };
        for reason in ClaimReason::ALL {
            homes.claims.with_label_values(&[reason.as_str()]);
        }
        Ok(homes)
    }

    pub fn claimed(&self, reason: ClaimReason) {
        self.claims.with_label_values(&[reason.as_str()]).inc();
    }
}
