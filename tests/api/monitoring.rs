//! What operators are given matches what the service exports. Every metric an alert rule
//! (deploy/prometheus/alerts.yml) or the dashboard (deploy/grafana/storymimi.json) reads is on
//! `/metrics` with the label values it selects, so a rename cannot silently break an alert or
//! blank a panel; every alert has a severity, words with its value, a runbook section, and
//! promtool cases that fire it and keep it silent. The levels behind the newer alerts move.

mod exposition;
mod placement;
mod promql;

use crate::cluster::{Primary, start_machines};
use crate::helpers::{User, metric_sum, metric_value, spawn_app_with};
use crate::media::fetch;
use crate::openai::{Chat, fake, openai_everywhere, start_fake};
use crate::ws_client::connect;
use exposition::exposition;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use storymimi::Overrides;
use yaml_rust2::{Yaml, YamlLoader};

/// Labels the scrape adds (Prometheus's `job` and `instance`; Fly's `region`, `host`, `app`):
/// not on `/metrics`, so a matcher on them cannot be checked here.
const TARGET_LABELS: [&str; 5] = ["job", "instance", "region", "host", "app"];
const SEVERITIES: [&str; 3] = ["page", "ticket", "none"];

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn yaml(path: &str) -> Yaml {
    YamlLoader::load_from_str(&repo_file(path)).unwrap().remove(0)
}

/// Every rule of alerts.yml.
fn rules() -> Vec<Yaml> {
    let doc = yaml("deploy/prometheus/alerts.yml");
    doc["groups"].as_vec().unwrap().iter().flat_map(|g| g["rules"].as_vec().unwrap().clone()).collect()
}

fn text<'a>(rule: &'a Yaml, key: &str) -> Option<&'a str> {
    rule[key].as_str()
}

/// What is wrong with the metrics `expr` (found at `place`) reads: names not exported or
/// recorded, label values no sample has.
fn problems(
    place: &str,
    expr: &str,
    exported: &HashMap<String, Vec<HashMap<String, String>>>,
    recorded: &HashSet<String>,
    checked_here: fn(&str) -> bool,
) -> Vec<String> {
    let selectors = match promql::selectors(expr) {
        Ok(selectors) if !selectors.is_empty() => selectors,
        Ok(_) => return Vec::new(), // vector(1) and the like
        Err(e) => return vec![format!("{place}: cannot read {expr:?}: {e}")],
    };
    let mut found = Vec::new();
    for selector in selectors {
        let name = &selector.name;
        if !checked_here(name) {
            continue;
        }
        if name.contains(':') {
            if !recorded.contains(name) {
                found.push(format!("{place}: {name} is not a recording rule of alerts.yml"));
            }
            continue;
        }
        let Some(samples) = exported.get(name) else {
            found.push(format!("{place}: {name} is not exported"));
            continue;
        };
        for (label, value) in &selector.equals {
            let checkable = !TARGET_LABELS.contains(&label.as_str()) && !value.contains('$');
            if checkable && !samples.iter().any(|s| s.get(label) == Some(value)) {
                found.push(format!("{place}: no {name} sample has {label}=\"{value}\""));
            }
        }
    }
    found
}

/// Every PromQL expression of the dashboard (panel targets, and the metric of each
/// `label_values(metric, label)` variable), with where it is.
fn dashboard_expressions(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, place: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                let here =
                    map.get("title").and_then(Value::as_str).map_or(place.to_owned(), |t| format!("{place}/{t}"));
                if let Some(expr) = map.get("expr").and_then(Value::as_str) {
                    out.push((here.clone(), expr.to_owned()));
                }
                for child in map.values() {
                    walk(child, &here, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, place, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], "panel", &mut out);
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(query) = variable["query"]["query"].as_str() {
            let inner = query.strip_prefix("label_values(").and_then(|q| q.rsplit_once(',')).map(|(m, _)| m);
            let name = variable["name"].as_str().unwrap_or_default();
            out.push((format!("variable {name}"), inner.unwrap_or(query).to_owned()));
        }
    }
    out
}

/// A little of everything a family does, so labelled series exist: sign-up, a story through
/// the OpenAI-compatible providers (tokens, every call), its detail twice (cache miss, hit), a
/// picture, a conversation with the agent (and a malformed frame), an unsafe prompt.
async fn drive_traffic(app: &crate::helpers::TestApp) -> User {
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox named Ruby", "num_scenes": 1})).await;
    assert_eq!(app.wait_until_finished(&user, &id).await["status"], "completed");
    for _ in 0..2 {
        let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
        assert_eq!(fetch(app, detail["scenes"][0]["image_url"].as_str().unwrap()).await.status(), 200);
    }
    let (mut ws, _, _) = connect(app, &user).await;
    ws.say("a brave dragon called Pip").await;
    assert!(!ws.reply().await.is_empty());
    ws.send(json!("not a message")).await;
    ws.until("error").await;
    let refused = app.post("/stories/", Some(&user.token), json!({"prompt": "kill the dragon with a gun"})).await;
    assert_eq!(refused.status(), 422);
    user
}

/// Metrics only a machine with an embedded replica exports (`STORYMIMI_DB_URL` set): checked
/// against such a machine's `/metrics`, every other name against a local-file service's.
fn replica_only(name: &str) -> bool {
    name.starts_with("storymimi_db_replica_")
}

/// What is wrong with the metric names `checked_here` picks in every rule and dashboard query,
/// and how many rules and queries read one of them.
fn check_rules_and_dashboard(
    exported: &HashMap<String, Vec<HashMap<String, String>>>,
    checked_here: fn(&str) -> bool,
) -> (Vec<String>, usize) {
    let rules = rules();
    let recorded: HashSet<String> = rules.iter().filter_map(|r| text(r, "record")).map(str::to_owned).collect();
    let mut places: Vec<(String, String)> = rules
        .iter()
        .map(|rule| {
            let place = text(rule, "alert").or(text(rule, "record")).unwrap_or("a rule without a name");
            (format!("alerts.yml {place}"), text(rule, "expr").unwrap_or("").to_owned())
        })
        .collect();
    let dashboard: Value = serde_json::from_str(&repo_file("deploy/grafana/storymimi.json")).unwrap();
    let expressions = dashboard_expressions(&dashboard);
    assert!(expressions.len() > 40, "the dashboard's queries were not all found: {}", expressions.len());
    places.extend(expressions.into_iter().map(|(place, expr)| (format!("dashboard {place}"), expr)));
    let reads = |expr: &str| promql::selectors(expr).is_ok_and(|s| s.iter().any(|s| checked_here(&s.name)));
    let reading = places.iter().filter(|(_, expr)| reads(expr)).count();
    let found =
        places.iter().flat_map(|(place, expr)| problems(place, expr, exported, &recorded, checked_here)).collect();
    (found, reading)
}

#[tokio::test]
async fn every_metric_the_alert_rules_and_the_dashboard_read_is_exported() {
    let (_fake, base) = start_fake(fake(Chat::Good)).await;
    let app = spawn_app_with(|c| openai_everywhere(c, &base), Overrides::default()).await;
    drive_traffic(&app).await;
    let exported = exposition(&app.metrics().await);
    let (found, _) = check_rules_and_dashboard(&exported, |name| !replica_only(name));
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

#[tokio::test]
async fn every_replica_metric_the_alert_rules_and_the_dashboard_read_is_exported_by_a_replica() {
    let Some(primary) = Primary::start().await else { return };
    let machine = start_machines(&primary, 1, &[]).pop().unwrap();
    machine.wait_ready(30).await;
    let metrics = machine.client.get(format!("{}/metrics", machine.base)).send().await.unwrap().text().await.unwrap();
    let (found, reading) = check_rules_and_dashboard(&exposition(&metrics), replica_only);
    // The two replica alerts and the dashboard's sync-age panel, at least.
    assert!(reading >= 3, "only {reading} rules and queries read a replica's metrics");
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

#[test]
fn every_alert_has_a_severity_words_with_its_value_and_a_runbook_section() {
    let runbook = repo_file("docs/RUNBOOK.md");
    // GitHub's anchors: the heading in lower case, spaces to dashes, punctuation dropped.
    let anchors: HashSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
        .map(|h| {
            h.trim().to_lowercase().replace(' ', "-").chars().filter(|c| c.is_alphanumeric() || *c == '-').collect()
        })
        .collect();
    let mut checked = 0;
    for rule in rules().iter().filter(|r| text(r, "alert").is_some()) {
        let name = text(rule, "alert").unwrap();
        let severity = rule["labels"]["severity"].as_str().unwrap_or("missing");
        assert!(SEVERITIES.contains(&severity), "{name}: severity {severity}");
        let annotations = &rule["annotations"];
        assert!(annotations["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: no summary");
        let description = annotations["description"].as_str().unwrap_or_default();
        assert!(description.contains("$value"), "{name}: the description does not say the value: {description}");
        let url = annotations["runbook_url"].as_str().unwrap_or_default();
        let anchor = url.strip_prefix("docs/RUNBOOK.md#").unwrap_or_else(|| panic!("{name}: runbook_url {url}"));
        assert_eq!(anchor, name.to_lowercase(), "{name}: the runbook section is named after the alert");
        assert!(anchors.contains(anchor), "{name}: docs/RUNBOOK.md has no section #{anchor}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} alerts found");
}

#[test]
fn every_alert_has_a_unit_test_that_fires_it_and_one_that_keeps_it_silent() {
    let tests = yaml("deploy/prometheus/alerts_test.yml");
    let (mut fires, mut silent) = (BTreeSet::new(), BTreeSet::new());
    for case in
        tests["tests"].as_vec().unwrap().iter().flat_map(|t| t["alert_rule_test"].as_vec().cloned().unwrap_or_default())
    {
        let name = case["alertname"].as_str().unwrap().to_owned();
        let expected = case["exp_alerts"].as_vec().map_or(0, Vec::len);
        if expected > 0 {
            fires.insert(name)
        } else {
            silent.insert(name)
        };
    }
    let alerts: BTreeSet<String> = rules().iter().filter_map(|r| text(r, "alert")).map(str::to_owned).collect();
    let never_fired: Vec<_> = alerts.difference(&fires).collect();
    assert!(never_fired.is_empty(), "no test fires {never_fired:?}");
    // The watchdog is the one alert that is never silent.
    let never_silent: Vec<_> = alerts.iter().filter(|a| !silent.contains(*a) && *a != "StoryMimiWatchdog").collect();
    assert!(never_silent.is_empty(), "no test keeps {never_silent:?} silent");
}

#[tokio::test]
async fn the_levels_behind_the_capacity_and_story_alerts_move() {
    let app = spawn_app_with(
        |c| {
            c.providers.llm.builtin_delay_ms = 3000;
            c.limits.max_stories_in_flight = 7;
            c.http.max_connections = 50;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let idle = app.metrics().await;
    assert_eq!(metric_value(&idle, "storymimi_stories_in_flight_limit "), Some(7.0));
    assert_eq!(metric_value(&idle, "storymimi_http_connections_limit "), Some(50.0));
    assert_eq!(metric_value(&idle, "storymimi_stories_unfinished{stage=\"planning\"}"), Some(0.0));
    assert!(metric_value(&idle, "storymimi_memory_limit_bytes ").is_some_and(|m| m > 0.0));
    assert!(metric_value(&idle, "storymimi_process_open_fds ").is_some_and(|n| n > 0.0));
    assert!(metric_value(&idle, "storymimi_password_hash_slots ").is_some_and(|n| n >= 1.0));
    assert!(metric_value(&idle, "storymimi_http_connections ").is_some_and(|n| n >= 1.0), "this scrape's own");

    // A story whose storyteller takes 3 s per call sits in `planning`, then `writing`.
    let id = app.create_story(&user, json!({"prompt": "a fox named Ruby", "num_scenes": 1})).await;
    app.wait_for(&user, &id, 10, |s| s["stage"] == "planning").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let busy = app.metrics().await;
    assert_eq!(metric_value(&busy, "storymimi_stories_unfinished{stage=\"planning\"}"), Some(1.0), "{busy}");
    let stalled = metric_value(&busy, "storymimi_story_stall_seconds{stage=\"planning\"}").unwrap();
    assert!((1.0..10.0).contains(&stalled), "no progress for {stalled} s");

    assert_eq!(app.wait_until_finished(&user, &id).await["status"], "completed");
    let done = app.metrics().await;
    assert_eq!(metric_sum(&done, "storymimi_stories_unfinished", ""), 0.0);
    let count = |name: &str| metric_value(&done, &format!("{name}_count")).unwrap_or(0.0);
    assert_eq!(count("storymimi_story_first_scene_seconds"), 1.0);
    let first_scene = metric_value(&done, "storymimi_story_first_scene_seconds_sum").unwrap();
    assert!(first_scene >= 6.0, "plan and scene took 3 s each, first scene after {first_scene} s");
    for (stage, steps) in [("planning", 1.0), ("writing", 1.0), ("illustrating", 2.0)] {
        let line = format!("storymimi_story_stage_duration_seconds_count{{stage=\"{stage}\"}}");
        assert_eq!(metric_value(&done, &line), Some(steps), "{stage}: {done}");
    }
    for conn in ["read", "write"] {
        let held = metric_value(&done, &format!("storymimi_db_query_duration_seconds_count{{conn=\"{conn}\"}}"));
        assert!(held.is_some_and(|n| n > 0.0), "{conn}: {done}");
    }

    let (mut ws, _, _) = connect(&app, &user).await;
    ws.say("a brave dragon called Pip").await;
    ws.reply().await;
    let talked = app.metrics().await;
    assert_eq!(metric_value(&talked, "storymimi_agent_first_words_seconds_count "), Some(1.0), "{talked}");
    assert!(metric_value(&talked, "storymimi_db_commit_duration_seconds_count ").is_some_and(|n| n >= 1.0));
}
