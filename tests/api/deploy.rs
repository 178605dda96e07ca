//! The deploy kit works with this code: fly.toml's values fit the service (its environment and
//! the secrets docs/DEPLOY.md lists make a valid configuration; ports, limits, the kill timeout
//! against the drain, the checks' paths), the image's entrypoint runs the service unprivileged on
//! a volume root owns (narration included), and the keys deploy/sqld/keys.sh makes let a
//! replica into the primary and keep everyone else out.

use crate::binary;
use crate::cluster::{Primary, start_machine_in, start_machines};
use crate::config_names::repo;
use crate::helpers::skip_without;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde_json::{Value, json};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use storymimi::Config;

fn toml(path: &str) -> Value {
    Figment::from(Toml::file(repo(path))).extract().unwrap()
}

/// The config the service builds from `env` (name → value, as Fly sets them), parsed the way
/// figment's `Env` provider parses variables.
fn config_from(env: &[(String, String)]) -> Result<Config, String> {
    let mut dict = figment::value::Dict::new();
    for (name, value) in env {
        let key = name.strip_prefix("STORYMIMI_").unwrap_or_else(|| panic!("{name}")).to_ascii_lowercase();
        dict.insert(key, value.parse().unwrap());
    }
    let config: Config = Figment::from(Serialized::defaults(Config::default()))
        .merge(Serialized::defaults(dict))
        .extract()
        .map_err(|e| e.to_string())?;
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// The secrets docs/DEPLOY.md's table lists (`| `STORYMIMI_…` | …`), with an example value each.
fn documented_secrets() -> Vec<(String, String)> {
    let deploy = std::fs::read_to_string(repo("docs/DEPLOY.md")).unwrap();
    let section = deploy.split("\n## Secrets").nth(1).expect("docs/DEPLOY.md has a Secrets section");
    let section = section.split("\n## ").next().unwrap();
    let example = |name: &str| match name {
        "STORYMIMI_DB_URL" => "http://storymimi-db.internal:8080".to_owned(),
        _ => "0123456789abcdef0123456789abcdef".to_owned(),
    };
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .filter(|name| name.starts_with("STORYMIMI_"))
        .map(|name| (name.to_owned(), example(name)))
        .collect()
}

fn seconds(duration: &Value) -> u64 {
    match duration {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => s.strip_suffix('s').and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{s}")),
        other => panic!("not a duration: {other}"),
    }
}

#[tokio::test]
async fn fly_toml_fits_the_service() {
    let fly = toml("fly.toml");
    let env: Vec<(String, String)> =
        fly["env"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
    let secrets = documented_secrets();
    let names: Vec<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
    for required in
        ["STORYMIMI_JWT_SECRET", "STORYMIMI_DB_URL", "STORYMIMI_DB_AUTH_TOKEN", "STORYMIMI_S3_SECRET_ACCESS_KEY"]
    {
        assert!(names.contains(&required), "docs/DEPLOY.md's secrets lack {required}: {names:?}");
    }
    let config = config_from(&[env.clone(), secrets.clone()].concat()).expect("fly.toml + the secrets are valid");
    // Without the primary's URL a machine refuses to start, instead of keeping its own database.
    let without_primary: Vec<_> = secrets.iter().filter(|(n, _)| n != "STORYMIMI_DB_URL").cloned().collect();
    let refused = config_from(&[env, without_primary].concat()).unwrap_err();
    assert!(refused.contains("STORYMIMI_DB_URL"), "{refused}");
    assert!(config.db.replica().is_some() && config.storage.backend == storymimi::config::MediaBackend::S3);

    // SIGTERM starts the drain; Fly's SIGKILL must not come before the drain can end.
    assert_eq!(fly["kill_signal"], "SIGTERM");
    let kill_timeout = Duration::from_secs(seconds(&fly["kill_timeout"]));
    assert!(
        kill_timeout >= config.drain_bound() + Duration::from_secs(5),
        "kill_timeout {kill_timeout:?} does not cover the drain ({:?}) and the exit",
        config.drain_bound()
    );
    assert!(kill_timeout <= Duration::from_secs(300), "Fly allows at most 300 s");
    // Ports and paths.
    let service = &fly["http_service"];
    assert_eq!(service["internal_port"], config.http.addr.port());
    assert_eq!(fly["metrics"]["port"], config.http.metrics_addr.expect("metrics on their own port").port());
    assert_eq!(fly["metrics"]["path"], "/metrics");
    assert_eq!(fly["mounts"][0]["destination"], json!(config.data_dir));
    // Long-lived sockets: the proxy counts and caps connections, below the service's own cap.
    let concurrency = &service["concurrency"];
    assert_eq!(concurrency["type"], "connections");
    let (soft, hard) = (concurrency["soft_limit"].as_u64().unwrap(), concurrency["hard_limit"].as_u64().unwrap());
    assert!(
        soft < hard && hard < config.http.max_connections as u64,
        "{soft} < {hard} < {}",
        config.http.max_connections
    );
    // Stories are written in-process: the proxy must not stop a machine it thinks idle.
    assert_eq!(service["auto_stop_machines"], "off");

    // Every check asks a path that answers on a running service; the proxy routes by the
    // machine check.
    let path = |check: &Value| check["path"].as_str().unwrap().to_owned();
    let mut paths: Vec<String> = service["checks"].as_array().unwrap().iter().map(path).collect();
    assert_eq!(paths, ["/readyz/machine"]);
    for check in fly["checks"].as_object().unwrap().values() {
        assert_eq!(check["port"], config.http.addr.port());
        paths.push(path(check));
    }
    let app = crate::helpers::spawn_app().await;
    for path in &paths {
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 200, "{path}");
    }

    // The primary's app, as the URL in the docs reaches it.
    let sqld = toml("deploy/sqld/fly.toml");
    let listen = sqld["env"]["SQLD_HTTP_LISTEN_ADDR"].as_str().unwrap();
    let url = format!("http://{}.internal:{}", sqld["app"].as_str().unwrap(), listen.rsplit(':').next().unwrap());
    let deploy = std::fs::read_to_string(repo("docs/DEPLOY.md")).unwrap();
    assert!(deploy.contains(&format!("STORYMIMI_DB_URL={url}")), "docs/DEPLOY.md does not set {url}");
    assert_eq!(sqld["primary_region"], fly["primary_region"], "the primary sits where the writes are expected");
}

/// Root (the entrypoint starts as root to hand over the volume) and setpriv (util-linux).
fn can_drop_privileges() -> bool {
    // SAFETY: geteuid only reads the process's id.
    let root = unsafe { libc::geteuid() } == 0;
    let ok = root && Path::new("/usr/bin/setpriv").exists();
    if !ok {
        skip_without("setpriv", "the entrypoint test runs as root with setpriv (util-linux)");
    }
    ok
}

fn status_line(pid: u32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn the_image_entrypoint_runs_the_service_unprivileged_on_a_volume_root_owns() {
    if !can_drop_privileges() {
        return;
    }
    // A volume as Fly mounts it: a directory root owns, in a directory anyone may enter.
    let outer = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = outer.path().join("data");
    std::fs::create_dir(&data).unwrap();
    assert_eq!(std::fs::metadata(&data).unwrap().uid(), 0);
    let entrypoint = repo("deploy/entrypoint.sh");
    let server = binary::spawn_through(Some(&entrypoint), &data, &[("RUN_AS_USER", "nobody")])
        .listening()
        .unwrap_or_else(|exited| panic!("the service did not start through the entrypoint: {exited:#?}"));
    // The entrypoint became the service (exec), which runs as nobody with no privilege left.
    let pid = server.child.id();
    assert_eq!(status_line(pid, "Uid"), "65534 65534 65534 65534");
    assert_eq!(status_line(pid, "Gid"), "65534 65534 65534 65534");
    assert_eq!(status_line(pid, "CapEff"), "0000000000000000");
    assert_eq!(status_line(pid, "CapBnd"), "0000000000000000");
    assert_eq!(status_line(pid, "NoNewPrivs"), "1");
    // The volume is the service's now, and so is everything it writes there.
    let ready = server.wait_ready(20).await;
    assert_eq!(ready["checks"]["storage"], "ok", "{ready}");
    for path in [data.clone(), data.join("storymimi.db"), data.join("media")] {
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), 65534, "{}", path.display());
    }
    // A story, narrated by eSpeak NG running as the same unprivileged user.
    let token = server.register("correct horse battery").await["access_token"].as_str().unwrap().to_owned();
    let created = server.post_json("/stories/", Some(&token), json!({"prompt": "an owl", "num_scenes": 1})).await;
    let id = created["story_id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let story = loop {
        let story = server.get_json(&format!("/stories/{id}"), &token).await;
        if story["status"] == "completed" {
            break story;
        }
        assert!(tokio::time::Instant::now() < deadline && story["status"] != "failed", "{story}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if ready["narrator"]["available"] == true {
        assert!(story["scenes"][0]["audio_url"].is_string(), "{story}");
    } else {
        skip_without("espeak-ng", "narration as the unprivileged user is not checked");
    }
}

fn make_keys(dir: &Path) -> String {
    let made = Command::new(repo("deploy/sqld/keys.sh")).arg(dir).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    std::fs::read_to_string(dir.join("replica.jwt")).unwrap().trim().to_owned()
}

#[tokio::test]
async fn the_keys_made_for_the_primary_let_the_replicas_in_and_keep_others_out() {
    let (keys, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (token, stranger) = (make_keys(keys.path()), make_keys(other.path()));
    let key_file = keys.path().join("jwt-public.pem");
    let Some(mut primary) =
        Primary::start_with(&["--auth-jwt-key-file", key_file.to_str().unwrap()], Some(&token)).await
    else {
        return;
    };
    // Without a token, or with another key's, the primary answers nothing.
    let pipeline = format!("{}/v2/pipeline", primary.url());
    let ask = |token: Option<&str>| {
        let body = json!({"requests": [{"type": "execute", "stmt": {"sql": "SELECT 1"}}, {"type": "close"}]});
        let request = reqwest::Client::new().post(&pipeline).json(&body);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!((ask(None).await, ask(Some(&stranger)).await, ask(Some(&token)).await), (401, 401, 200));

    // A machine with the token syncs, migrates through the primary and serves.
    let machine = start_machines(&primary, 1, &[("STORYMIMI_DB_AUTH_TOKEN", &token)]).pop().unwrap();
    machine.wait_ready(30).await;
    assert!(machine.register("correct horse battery").await["access_token"].is_string());
    assert_eq!(primary.count("SELECT count(*) FROM users").await, 1);
    // One with another key's token never gets the database, and says so.
    let data = tempfile::tempdir().unwrap();
    let env = [("STORYMIMI_DB_AUTH_TOKEN", stranger.as_str()), ("STORYMIMI_DB_STARTUP_SYNC_TIMEOUT_SECS", "3")];
    let refused = start_machine_in(&primary, data.path(), &env).listening().err().expect("refused to start");
    assert!(refused.output.iter().any(|l| l.contains("not up to date")), "{refused:#?}");
    // The raw key (SQLD_AUTH_JWT_KEY) is the same key: the primary restarted with it instead
    // of the file still lets the machine in.
    let raw = std::fs::read_to_string(keys.path().join("jwt-public.b64url")).unwrap();
    primary.stop();
    primary.args.clear();
    primary.env.push(("SQLD_AUTH_JWT_KEY".into(), raw.trim().to_owned()));
    primary.restart().await;
    assert_eq!((ask(None).await, ask(Some(&token)).await), (401, 200));
    machine.wait_ready(30).await;
    let output = machine.output.lock().unwrap().join("\n");
    assert!(!output.contains(&token) && !refused.output.join("\n").contains(&stranger), "a token was logged");
}
