//! The replayed share StoryMimiRequestsReplayed reads (replays over the requests of families'
//! live state a machine received) counts every request a machine sends home: each route that
//! can answer 421 `fly-replay` is in the alert's route selector, and each 421 is a replay.

use super::{exposition, rules, text};
use crate::cluster::{Primary, start_machines};
use crate::helpers::{metric_sum, metric_value};
use regex::Regex;
use reqwest::Method;
use serde_json::{Value, json};

/// The routes the alert's denominator selects (`route=~"…"`), anchored as PromQL anchors them.
fn replayed_routes() -> Regex {
    let rule = rules().into_iter().find(|r| text(r, "alert") == Some("StoryMimiRequestsReplayed")).unwrap();
    let expr = text(&rule, "expr").unwrap();
    let selector = expr.split("route=~\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
    Regex::new(&format!("^(?:{selector})$")).unwrap()
}

#[tokio::test]
async fn every_request_a_machine_sends_home_is_in_the_replayed_share() {
    let Some(primary) = Primary::start().await else { return };
    let machines = start_machines(&primary, 2, &[]);
    for machine in &machines {
        machine.wait_ready(30).await;
    }
    let (home, away) = (&machines[0], &machines[1]);
    let account = home.register("correct horse battery").await;
    let (user, token) = (account["user_id"].as_str().unwrap(), account["access_token"].as_str().unwrap());
    // A story created on the first machine makes it the family's home.
    let created = home.post_json("/stories/", Some(token), json!({"prompt": "a fox named Ruby"})).await;
    let story = created["story_id"].as_str().unwrap();

    // Every route of the family's live state, landing on the other machine.
    let requests: [(Method, String, Option<Value>); 10] = [
        (Method::POST, "/stories/".into(), Some(json!({"prompt": "a shy unicorn"}))),
        (Method::GET, format!("/stories/{story}"), None),
        (Method::GET, format!("/stories/{story}/status"), None),
        (Method::GET, format!("/stories/{story}/bundle"), None),
        (Method::POST, format!("/stories/{story}/retry"), None),
        (Method::DELETE, format!("/stories/{story}"), None),
        (Method::GET, format!("/users/{user}/stories"), None),
        (Method::GET, format!("/conversation/{user}/history"), None),
        (Method::POST, format!("/conversation/{user}/transcripts"), Some(json!({"text": "a brave dragon"}))),
        (Method::GET, format!("/conversation/{user}"), None),
    ];
    for (method, path, body) in &requests {
        let mut request = away.client.request(method.clone(), format!("{}{path}", away.base)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 421, "{method} {path}");
        assert!(response.headers().contains_key("fly-replay"), "{method} {path}");
    }

    let scraped = away.client.get(format!("{}/metrics", away.base)).send().await.unwrap().text().await.unwrap();
    let routes = replayed_routes();
    let sent_home: Vec<String> = exposition(&scraped)["storymimi_http_requests_total"]
        .iter()
        .filter(|sample| sample.get("status").map(String::as_str) == Some("421"))
        .map(|sample| sample["route"].clone())
        .collect();
    assert!(sent_home.len() >= 8, "routes answered 421: {sent_home:?}");
    let outside: Vec<_> = sent_home.iter().filter(|route| !routes.is_match(route)).collect();
    assert!(outside.is_empty(), "routes sent home that the alert does not count: {outside:?}");
    let answered = metric_sum(&scraped, "storymimi_http_requests_total{", "status=\"421\"");
    assert_eq!(answered, requests.len() as f64);
    assert_eq!(metric_value(&scraped, "storymimi_replays_total "), Some(answered), "every 421 is a replay");
}
