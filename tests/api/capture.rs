//! Captures what the CI model server (llama.cpp's server with SmolLM2-135M, `tests/llm/`)
//! writes for the requests the OpenAI storyteller sends — first asks and asks again with a
//! reason — into `tests/llm/outputs.json`, the table the cheap checks are tested on. A tool,
//! not a test: run it by hand, then read each output and write your verdict in `expect`
//! (`accept` or a reason) and what you saw in `why`:
//!
//! ```sh
//! STORYMIMI_TEST_LLM_PYTHON=target/llm-venv/bin/python STORYMIMI_CAPTURE=tests/llm/outputs.json \
//!   cargo test --test api capture -- --ignored
//! ```

use crate::real_model::{ModelServer, free_port};
use actors::model::{Scene, SceneId, StoryId, StoryPlan, StorySpec, Style};
use actors::ports::{Llm, Rejection, SceneRequest};
use serde_json::{Value, json};
use std::time::Duration;
use storymimi::providers::builtin::Storyteller;
use storymimi::providers::openai::storyteller::{Format, plan_body, scene_body};

/// What children asked for: heroes named and not, every style, ages 3 to 11.
const ASKED: &[(&str, Style, u8)] = &[
    ("a brave dragon called Pip in a snowy castle", Style::Funny, 6),
    ("a fox named Ruby who wants to see the northern lights", Style::Adventure, 7),
    ("a shy unicorn called Luna who is afraid of the dark", Style::Bedtime, 4),
    ("a robot named Bolt who explores space", Style::SciFi, 9),
    ("my cat Whiskers at the beach", Style::Animals, 5),
    ("a sleepy owl called Hoot in the forest", Style::Bedtime, 3),
    ("a princess called Mia who solves a mystery in her garden", Style::Mystery, 8),
    ("a pirate named Captain Sparkle on a treasure island", Style::Adventure, 10),
    ("a little penguin who loves to dance", Style::Funny, 5),
    ("a wizard called Zed and his friend Ruby the fox", Style::Fantasy, 11),
    ("a bunny named Clover who wants to fly", Style::Funny, 4),
    ("a girl called Amara who builds a rocket", Style::SciFi, 8),
    ("a turtle named Shelly looking for her lost friend", Style::Mystery, 6),
    ("a whale called Big Blue who sings", Style::Bedtime, 5),
    ("a knight named Sir Bumble who is afraid of spiders", Style::Funny, 7),
    ("a story about me and my dog Rex in the first person", Style::Adventure, 9),
];

fn spec(prompt: &str, style: Style, age: u8) -> StorySpec {
    let request = actors::model::SpecRequest {
        style: Some(style),
        num_scenes: Some(3),
        age: Some(age.into()),
        ..actors::requirements::request_from(prompt)
    };
    StorySpec::new(request, &actors::model::SpecLimits::default()).unwrap()
}

fn spec_json(spec: &StorySpec) -> Value {
    json!({"prompt": spec.prompt, "style": spec.style.as_str(), "num_scenes": spec.num_scenes, "age": spec.age,
        "language": spec.language})
}

fn reason(why: Option<Rejection>) -> Value {
    why.map_or(Value::Null, |w| json!(w.reason().as_str()))
}

/// The model's answer to `body`, asked without streaming (the same words, in one piece).
async fn answer(client: &reqwest::Client, base: &str, mut body: Value) -> String {
    body["stream"] = json!(false);
    body.as_object_mut().unwrap().remove("stream_options");
    let response = client.post(format!("{base}/chat/completions")).json(&body).send().await.expect("the model answers");
    let answer: Value = response.json().await.expect("a JSON answer");
    answer["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
#[ignore = "a tool: captures model outputs for the table test (see the module docs)"]
async fn capture_model_outputs() {
    let python = std::env::var("STORYMIMI_TEST_LLM_PYTHON").expect("STORYMIMI_TEST_LLM_PYTHON");
    let out = std::env::var("STORYMIMI_CAPTURE").expect("STORYMIMI_CAPTURE: where to write the outputs");
    let port = free_port();
    let _server = ModelServer::start(&python, port).await;
    let base = format!("http://127.0.0.1:{port}/v1");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(900)).build().unwrap();
    let offline = Storyteller::new(Duration::ZERO);
    // Asked again with each reason in turn, as the story would after a rejection.
    let reasons = [
        Rejection::Person,
        Rejection::Length { words: 40 },
        Rejection::Unfinished,
        Rejection::Hero,
        Rejection::Loop,
        Rejection::Markup,
    ];
    let mut outputs = Vec::new();
    for (i, (prompt, style, age)) in ASKED.iter().enumerate() {
        let spec = spec(prompt, *style, *age);
        let id = StoryId::new();
        let plan_why = (i % 3 == 2).then_some(Rejection::Parse);
        let body = plan_body("smollm2", &spec, Format::BoundedSchema, plan_why);
        let raw = answer(&client, &base, body.clone()).await;
        eprintln!("plan {i}: {raw}");
        outputs.push(json!({"call": "plan", "spec": spec_json(&spec), "rejected": reason(plan_why),
            "prompt": body["messages"][1]["content"], "raw": raw, "expect": null, "why": null}));
        // Scenes follow a sensible plan (the offline one), as they would after the model's plan.
        let plan: StoryPlan = offline.plan_story(id, &spec).await.unwrap();
        let first = SceneRequest { story_id: id, spec: &spec, plan: &plan, index: 0, previous: &[], redo: None };
        let first = offline.write_scene(first).await.unwrap();
        let previous = [Scene {
            scene_id: SceneId::new(),
            sequence: 1,
            title: first.title,
            text: first.text,
            image_key: None,
            audio_key: None,
            written_by: None,
        }];
        for index in 0..2 {
            let why = (index == 1).then(|| reasons[i % reasons.len()]);
            let previous = &previous[..index];
            let request = SceneRequest { story_id: id, spec: &spec, plan: &plan, index, previous, redo: None };
            let body = scene_body("smollm2", request, why);
            let raw = answer(&client, &base, body.clone()).await;
            eprintln!("scene {i}.{index}: {raw}");
            outputs.push(json!({"call": "scene", "spec": spec_json(&spec), "plan": plan, "scene": index + 1,
                "rejected": reason(why), "prompt": body["messages"][1]["content"], "raw": raw, "expect": null, "why": null}));
        }
        // Written as it goes: a slow machine may take a while.
        std::fs::write(&out, serde_json::to_string_pretty(&outputs).unwrap() + "\n").unwrap();
    }
}
