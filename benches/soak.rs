//! Soak: does the server's memory come back when the load is gone, or does it grow with the
//! work done? The real release binary runs once per allocator setting (`_RJEM_MALLOC_CONF`),
//! side by side in the same run, and every one gets the same traffic (`soak/load.rs`) in
//! cycles: a load phase, then a quiet phase in which sockets are gone and conversations
//! passivate (`STORYMIMI_CONVERSATION_IDLE_SECS`, 30 s here). A leak grows from cycle to
//! cycle; memory the allocator keeps does not. Every few seconds each server's RSS (and where
//! it is: anonymous, `MADV_FREE`d, glibc's heap), its live actors and sockets are sampled
//! (`soak/probe.rs`), written as JSON lines, and summed up per cycle at the end.
//!
//!     cargo bench --bench soak                # ~35 min: 4 × (6 min load + 2.5 min quiet)
//!     cargo bench --bench soak -- --quick     # ~4 min smoke run
//!
//! Options: `--cycles N`, `--load-secs S`, `--quiet-secs S`, `--users N` (active each cycle),
//! `--new-users-per-cycle N` (the active accounts shift by this many each cycle, so state kept
//! per user would grow), `--sessions-per-sec R`, `--variant NAME=MALLOC_CONF` (repeatable;
//! replaces the default three: `shipped=`, the binary's own `malloc_conf` (background threads);
//! `no-background=background_thread:false`, jemalloc's stock behaviour; and
//! `decay0=background_thread:false,dirty_decay_ms:0,muzzy_decay_ms:0`, pages returned at once),
//! `--out DIR` (default: a new directory under the target dir's `tmp/`).

#[path = "soak/load.rs"]
mod load;
#[path = "soak/probe.rs"]
mod probe;
#[path = "support/server.rs"]
mod server;

use probe::Sample;
use server::{Server, spawn_storymimi};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    cycles: u32,
    load: Duration,
    quiet: Duration,
    users: usize,
    new_users_per_cycle: usize,
    idle_secs: u64,
    sample_every: Duration,
    shape: load::Shape,
    variants: Vec<(String, String)>,
    out: PathBuf,
}

impl Args {
    fn parse() -> Self {
        let argv: Vec<String> = std::env::args().collect();
        let quick = argv.iter().any(|a| a == "--quick");
        let value = |name: &str| argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1)).cloned();
        let number = |name: &str, default: f64| value(name).and_then(|v| v.parse().ok()).unwrap_or(default);
        let mut variants: Vec<(String, String)> = argv
            .windows(2)
            .filter(|w| w[0] == "--variant")
            .filter_map(|w| w[1].split_once('=').map(|(n, c)| (n.to_owned(), c.to_owned())))
            .collect();
        if variants.is_empty() {
            variants = [
                ("shipped", ""),
                ("no-background", "background_thread:false"),
                ("decay0", "background_thread:false,dirty_decay_ms:0,muzzy_decay_ms:0"),
            ]
            .map(|(n, c)| (n.to_owned(), c.to_owned()))
            .into();
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let out = value("--out")
            .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("soak-{stamp}")), PathBuf::from);
        Args {
            cycles: number("--cycles", if quick { 2.0 } else { 4.0 }) as u32,
            load: Duration::from_secs_f64(number("--load-secs", if quick { 60.0 } else { 360.0 })),
            quiet: Duration::from_secs_f64(number("--quiet-secs", if quick { 50.0 } else { 150.0 })),
            users: number("--users", if quick { 30.0 } else { 200.0 }) as usize,
            new_users_per_cycle: number("--new-users-per-cycle", if quick { 10.0 } else { 50.0 }) as usize,
            idle_secs: if quick { 10 } else { 30 },
            sample_every: Duration::from_secs(5),
            shape: load::Shape {
                sessions_per_sec: number("--sessions-per-sec", 8.0),
                max_sessions: 64,
                story_session_every: 100,
                rest_story_every: Duration::from_secs(12),
                login_every: Duration::from_secs(4),
            },
            variants,
            out,
        }
    }
}

/// One server under soak.
struct Run {
    name: String,
    conf: String,
    server: Server,
    _data: tempfile::TempDir,
    stderr: PathBuf,
    samples: Mutex<Vec<Sample>>,
    fresh_kib: u64,
    registered_kib: u64,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(soak(args));
}

async fn soak(args: Args) {
    std::fs::create_dir_all(&args.out).expect("output directory");
    let total = (args.load + args.quiet) * args.cycles;
    println!(
        "Soak: {} cycles × ({:?} load + {:?} quiet) ≈ {} min; {} users active per cycle, {} new each cycle; {} sessions/s (1 in {} confirms a story), a REST story every {:?}, a sign-in every {:?}; conversations passivate after {} s idle",
        args.cycles,
        args.load,
        args.quiet,
        total.as_secs() / 60,
        args.users,
        args.new_users_per_cycle,
        args.shape.sessions_per_sec,
        args.shape.story_session_every,
        args.shape.rest_story_every,
        args.shape.login_every,
        args.idle_secs,
    );
    println!("Samples (JSON lines) and the servers' stderr: {}", args.out.display());
    let mut runs = Vec::new();
    for (name, conf) in &args.variants {
        let data = tempfile::tempdir().expect("temp dir");
        let stderr = args.out.join(format!("{name}.stderr"));
        // `stats_print` makes jemalloc print the options it ran with at exit.
        let malloc_conf =
            if conf.is_empty() { "stats_print:true".to_owned() } else { format!("{conf},stats_print:true") };
        let idle = args.idle_secs.to_string();
        let env = [("_RJEM_MALLOC_CONF", malloc_conf.as_str()), ("STORYMIMI_CONVERSATION_IDLE_SECS", idle.as_str())];
        let server = spawn_storymimi(data.path(), &env, std::fs::File::create(&stderr).expect("stderr file").into());
        runs.push(Run {
            name: name.clone(),
            conf: conf.clone(),
            server,
            _data: data,
            stderr,
            samples: Mutex::new(Vec::new()),
            fresh_kib: 0,
            registered_kib: 0,
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for run in &mut runs {
        run.fresh_kib = run.server.rss_kib();
    }
    let accounts = args.users + args.new_users_per_cycle * (args.cycles as usize).saturating_sub(1);
    let registering = runs.iter().map(|r| load::register(format!("http://{}", r.server.addr), accounts));
    let targets: Vec<Arc<load::Target>> = futures_util::future::join_all(registering)
        .await
        .into_iter()
        .map(|t| Arc::new(t.expect("users registered")))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for run in &mut runs {
        run.registered_kib = run.server.rss_kib();
    }
    let runs = Arc::new(runs);
    let phase = Arc::new(Mutex::new((0u32, "start")));
    let sampler = tokio::spawn(sample_all(runs.clone(), phase.clone(), args.sample_every, args.out.clone()));
    let sessions: Vec<AtomicU64> = runs.iter().map(|_| AtomicU64::new(0)).collect();
    for cycle in 1..=args.cycles {
        *actors::sync::lock(&phase) = (cycle, "load");
        let until = Instant::now() + args.load;
        let first = args.new_users_per_cycle * (cycle as usize - 1);
        let users = first..first + args.users;
        let loads =
            targets.iter().zip(&sessions).map(|(t, k)| load::run(t.clone(), args.shape, until, k, users.clone()));
        futures_util::future::join_all(loads).await;
        *actors::sync::lock(&phase) = (cycle, "quiet");
        tokio::time::sleep(args.quiet).await;
        let now: Vec<String> = runs.iter().map(|r| format!("{} {} MiB", r.name, r.server.rss_kib() / 1024)).collect();
        println!("cycle {cycle} done: {}", now.join(", "));
    }
    sampler.abort();
    let finals = futures_util::future::join_all(runs.iter().map(|r| server_counts(&r.server))).await;
    let mut runs = Arc::into_inner(runs).expect("the sampler is gone");
    let mut options = Vec::new();
    for run in &mut runs {
        let exited = run.server.stop(Duration::from_secs(40));
        let stderr = std::fs::read_to_string(&run.stderr).unwrap_or_default();
        options.push((exited.map(|s| s.to_string()), probe::allocator_options(&stderr)));
    }
    report(&args, &runs, &targets, &finals, &options);
}

/// Every `every`, one sample of each server, kept and appended to `<out>/<name>.jsonl`.
async fn sample_all(runs: Arc<Vec<Run>>, phase: Arc<Mutex<(u32, &'static str)>>, every: Duration, out: PathBuf) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let started = Instant::now();
    let mut files: Vec<std::fs::File> = runs
        .iter()
        .map(|r| std::fs::File::create(out.join(format!("{}.jsonl", r.name))).expect("samples file"))
        .collect();
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        let (cycle, name) = *actors::sync::lock(&phase);
        for (run, file) in runs.iter().zip(&mut files) {
            let sample = probe::sample(&run.server, &client, started.elapsed().as_secs(), cycle, name).await;
            let _ = writeln!(file, "{}", serde_json::to_string(&sample).unwrap_or_default());
            actors::sync::lock(&run.samples).push(sample);
        }
    }
}

/// What the server counted: stories completed, children's messages taken.
async fn server_counts(server: &Server) -> (f64, f64) {
    let text = match reqwest::get(format!("http://{}/metrics", server.addr)).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    (
        probe::metric(&text, "storymimi_story_status_transitions_total{status=\"completed\"}"),
        probe::metric(&text, "storymimi_ws_messages_in_total{type=\"user_message\"}"),
    )
}

fn report(
    args: &Args,
    runs: &[Run],
    targets: &[Arc<load::Target>],
    finals: &[(f64, f64)],
    options: &[(Option<String>, Vec<String>)],
) {
    use std::sync::atomic::Ordering::Relaxed;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\nMemory per cycle (MiB): RSS in the load phase (peak, mean), then at the quiet phase's end: RSS, jemalloc's counts, what was alive\n"
    );
    println!(
        "| allocator | cycle | load peak | load mean | quiet end | jemalloc allocated / active / resident / retained | of RSS MADV_FREE | glibc heap | conversations / sockets / stories alive | threads | load avg |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---|---:|---:|");
    for run in runs {
        let samples = actors::sync::lock(&run.samples);
        println!(
            "| {} | fresh / after sign-ups | {:.1} / {:.1} | | | | | | | | |",
            run.name,
            mib(run.fresh_kib),
            mib(run.registered_kib)
        );
        for cycle in 1..=args.cycles {
            let load: Vec<&Sample> = samples.iter().filter(|s| s.cycle == cycle && s.phase == "load").collect();
            let Some(end) = samples.iter().rfind(|s| s.cycle == cycle && s.phase == "quiet") else {
                continue;
            };
            let peak = load.iter().map(|s| s.rss_kib).max().unwrap_or(0);
            let mean = load.iter().map(|s| s.rss_kib).sum::<u64>() / load.len().max(1) as u64;
            let load_avg = load.iter().map(|s| s.load1).sum::<f64>() / load.len().max(1) as f64;
            println!(
                "| {} | {cycle} | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} / {:.1} / {:.1} | {:.1} | {:.1} | {} / {} / {} | {} | {load_avg:.1} |",
                run.name,
                mib(peak),
                mib(mean),
                mib(end.rss_kib),
                mib(end.allocated_kib),
                mib(end.active_kib),
                mib(end.jemalloc_resident_kib),
                mib(end.retained_kib),
                mib(end.lazyfree_kib),
                mib(end.glibc_heap_kib),
                end.conversations,
                end.ws_connections,
                end.stories,
                end.threads,
            );
        }
    }
    println!("\nThe last quiet phase, every 30 s (MiB): RSS, and jemalloc's allocated / resident\n");
    let last: Vec<Vec<Sample>> = runs
        .iter()
        .map(|r| {
            actors::sync::lock(&r.samples)
                .iter()
                .filter(|s| s.cycle == args.cycles && s.phase == "quiet")
                .cloned()
                .collect()
        })
        .collect();
    println!("| s into the quiet | {} |", runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(" | "));
    println!("|---:|{}", "---|".repeat(runs.len()));
    let first_t = last.iter().filter_map(|s| s.first()).map(|s| s.t_s).min().unwrap_or(0);
    for step in (0..).map(|i| first_t + i * 30).take_while(|t| last.iter().any(|s| s.iter().any(|x| x.t_s >= *t))) {
        let cells: Vec<String> = last
            .iter()
            .map(|s| match s.iter().find(|x| x.t_s >= step) {
                Some(x) => {
                    format!("{:.1} ({:.1} / {:.1})", mib(x.rss_kib), mib(x.allocated_kib), mib(x.jemalloc_resident_kib))
                }
                None => String::new(),
            })
            .collect();
        println!("| {} | {} |", step - first_t, cells.join(" | "));
    }
    println!("\nTraffic (client's counts; the server's: stories completed, children's messages):\n");
    println!(
        "| allocator | sessions | skipped | messages | stories via WS / REST | stories completed (server) | messages (server) | sign-ins | errors |"
    );
    println!("|---|---:|---:|---:|---|---:|---:|---:|---|");
    for ((run, target), (completed, messages)) in runs.iter().zip(targets).zip(finals) {
        let c = &target.counters;
        let errors = actors::sync::lock(&c.errors);
        println!(
            "| {} | {} | {} | {} | {} / {} | {completed} | {messages} | {} | {:?} |",
            run.name,
            c.sessions.load(Relaxed),
            c.skipped_sessions.load(Relaxed),
            c.messages.load(Relaxed),
            c.ws_stories.load(Relaxed),
            c.rest_stories.load(Relaxed),
            c.logins.load(Relaxed),
            *errors
        );
    }
    println!("\nWhat jemalloc ran with (its `stats_print` at exit):\n");
    for (run, (exit, opts)) in runs.iter().zip(options) {
        println!(
            "- {} (`_RJEM_MALLOC_CONF={}`): exit {}; {}",
            run.name,
            run.conf,
            exit.as_deref().unwrap_or("killed after 40 s"),
            opts.join(", ")
        );
    }
}
