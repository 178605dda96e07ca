//! The cheap checks, table-tested on what the CI model really wrote: `tests/llm/outputs.json`,
//! captured from llama.cpp's server with SmolLM2-135M by `tests/api/capture.rs` with the
//! requests this provider sends (first asks and asks again with a reason). Each output is made
//! sense of as the provider does, checked as the story does (safety, then the rules), and the
//! verdict compared with the one a person gave it after reading it (`expect`, with `why`).

use super::structured::{first_object, plan_from, scene_text};
use crate::safety::Builtin;
use actors::model::{StoryPlan, StorySpec};
use actors::ports::{Rejection, Safety};
use actors::story::checks::SceneRules;
use serde::Deserialize;

#[derive(Deserialize)]
struct Output {
    call: String,
    spec: Spec,
    /// For a scene: the plan it was written to, and its number (1-based).
    plan: Option<StoryPlan>,
    scene: Option<usize>,
    raw: String,
    expect: String,
    /// What the person who judged it saw (unused here: for whoever reads the table).
    #[serde(rename = "why")]
    _why: String,
}

#[derive(Deserialize)]
struct Spec {
    prompt: String,
    style: String,
    num_scenes: u8,
    age: u8,
    language: String,
}

impl Spec {
    fn story(&self) -> StorySpec {
        let request = actors::model::SpecRequest {
            style: Some(self.style.parse().expect("a style")),
            num_scenes: Some(self.num_scenes.into()),
            age: Some(self.age.into()),
            language: Some(self.language.clone()),
            ..actors::requirements::request_from(&self.prompt)
        };
        StorySpec::new(request, &actors::model::SpecLimits::default()).expect("a story the service takes")
    }
}

fn plan_text(plan: &StoryPlan) -> String {
    let parts = plan.scenes.iter().flat_map(|s| [s.title.as_str(), s.outline.as_str()]);
    std::iter::once(plan.title.as_str()).chain(parts).collect::<Vec<_>>().join("\n")
}

/// `accept`, or the reason the output is turned down.
async fn verdict(output: &Output, safety: &Builtin) -> &'static str {
    let spec = output.spec.story();
    let rules = SceneRules::for_story(&spec);
    let checked = match output.call.as_str() {
        "plan" => match first_object(&output.raw).and_then(|value| plan_from(&value, &spec)) {
            None => Err(Rejection::Parse),
            Some(plan) => match safety.check(&plan_text(&plan)).await {
                Some(concern) => Err(Rejection::Unsafe(concern)),
                None => rules.check_plan(&plan),
            },
        },
        _ => {
            let plan = output.plan.as_ref().expect("a scene's plan");
            let scene = &plan.scenes[output.scene.expect("a scene number") - 1];
            let text = match scene_text(&output.raw, &rules, &[&plan.title, &scene.title]) {
                Ok(text) => text,
                Err(why) => return why.reason().as_str(),
            };
            match safety.check(&text).await {
                Some(concern) => Err(Rejection::Unsafe(concern)),
                None => rules.check_scene(&text),
            }
        }
    };
    checked.map_or_else(|why| why.reason().as_str(), |()| "accept")
}

#[tokio::test]
async fn the_checks_judge_real_model_outputs_as_a_reader_does() {
    let outputs: Vec<Output> =
        serde_json::from_str(include_str!("../../../tests/llm/outputs.json")).expect("the captured outputs");
    let safety = Builtin::default();
    let mut wrong = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, output) in outputs.iter().enumerate() {
        let got = verdict(output, &safety).await;
        seen.insert(got);
        if got != output.expect {
            wrong.push(format!("#{i} ({}): expected {}, the checks said {got}", output.call, output.expect));
        }
    }
    assert!(wrong.is_empty(), "{} of {} judged otherwise:\n{}", wrong.len(), outputs.len(), wrong.join("\n"));
    // The table covers what a small model gets right and the ways it goes wrong.
    for verdict in ["accept", "parse", "loop", "markup", "length", "person"] {
        assert!(seen.contains(verdict), "no output in the table is judged {verdict}");
    }
}
