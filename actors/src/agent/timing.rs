//! A release timing of [`respond`] on realistic children's lines, to compare before and after a
//! change to the agent's reading (issue 23). Ignored: it asserts nothing and only means something
//! in release on a quiet machine. Run it with
//! `cargo test --release -p storymimi-actors timing -- --ignored --nocapture`.

use super::*;
use std::time::Instant;

const LIMITS: AgentLimits = AgentLimits::DEFAULT;
const CALLS: usize = 2_000;

/// The draft after `before`, then µs per `respond` of `line` to that draft (each call to a
/// fresh copy, so every call answers the same question).
fn time(before: &[&str], line: &str) -> f64 {
    let mut draft = Draft::default();
    for said in before {
        respond(&mut draft, said, &LIMITS);
    }
    let mut copies = vec![draft; CALLS];
    // Warm the caches and any lazily built tables first.
    respond(&mut copies[0].clone(), line, &LIMITS);
    let started = Instant::now();
    for copy in &mut copies {
        std::hint::black_box(respond(copy, std::hint::black_box(line), &LIMITS));
    }
    started.elapsed().as_secs_f64() * 1e6 / CALLS as f64
}

#[test]
#[ignore = "a timing, not a check: run in release with --ignored --nocapture"]
fn timing_of_respond() {
    let harness = "I want a magic story about a dragon called Sparky with three scenes";
    let lines: &[(&str, &[&str], &str)] = &[
        ("harness sentence", &[harness], harness),
        ("a dragon", &[], "a dragon"),
        ("where does it live", &["a dragon called Pip"], "in a big dark cave by the sea"),
        ("make it funny", &["a dragon called Pip", "in a castle"], "make it funny please"),
        ("three parts please", &["a dragon called Pip", "in a castle", "funny"], "three parts please"),
        ("yes!", &["a dragon called Pip in a castle, funny, 3 parts"], "yes!"),
    ];
    for (what, before, line) in lines {
        // The best of five runs: another process on the machine only ever adds time.
        let best = (0..5).map(|_| time(before, line)).fold(f64::INFINITY, f64::min);
        println!("respond {what:<20} {best:>8.2} µs/call   ({line:?})");
    }
}
