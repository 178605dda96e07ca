//! Latencies a family feels (a story's first words and first scene, the agent's first words)
//! and those behind them (each step of a story, database waits and commits).

use super::Registrar;
use crate::db::DbTimings;
use prometheus::{Histogram, HistogramVec};

pub struct Latencies {
    /// One step of a story, from asking to stored, permit waits and retries included.
    pub story_step: HistogramVec,
    pub first_scene: Histogram,
    /// A story's first words shown (its first `scene_delta`).
    pub first_text: Histogram,
    pub first_words: Histogram,
    pub db: DbTimings,
}

/// Buckets for database waits and holds: 50 µs to 5 s.
const DB_BUCKETS: [f64; 12] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 5.0];

impl Latencies {
    pub fn register(r: &Registrar) -> Result<Self, prometheus::Error> {
        let story_step = r.histograms(
            "story_stage_duration_seconds",
            "One step of a story by stage (planning it, writing a scene, illustrating a picture, narrating a \
             scene), from asking to stored: provider permits waited for and retries included",
            &[0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0],
            &["stage"],
        )?;
        for stage in ["planning", "writing", "illustrating", "narrating"] {
            story_step.with_label_values(&[stage]);
        }
        let db_wait = r.histograms(
            "db_connection_wait_seconds",
            "Time waiting for a database connection: the single writer, or a reader of the pool",
            &DB_BUCKETS,
            &["conn"],
        )?;
        let db_held = r.histograms(
            "db_query_duration_seconds",
            "Time one database operation held its connection: its statements, and its commit for a write",
            &DB_BUCKETS,
            &["conn"],
        )?;
        Ok(Self {
            story_step,
            first_scene: r.histogram(
                "story_first_scene_seconds",
                "From a story actor starting (a new story, a retry, a resume) to its first scene stored",
                &[0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0],
            )?,
            first_text: r.histogram(
                "story_first_text_seconds",
                "From a story actor starting to the first words of its first scene shown (the first scene_delta)",
                &[0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0],
            )?,
            first_words: r.histogram(
                "agent_first_words_seconds",
                "From a child's message to the agent's first words (the first agent_delta)",
                &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
            )?,
            db: DbTimings {
                read_wait: db_wait.with_label_values(&["read"]),
                read_held: db_held.with_label_values(&["read"]),
                write_wait: db_wait.with_label_values(&["write"]),
                write_held: db_held.with_label_values(&["write"]),
                commit: r.histogram(
                    "db_commit_duration_seconds",
                    "One group commit of conversation turns (a child's message is acknowledged after it)",
                    &DB_BUCKETS,
                )?,
            },
        })
    }
}
