//! The storyteller on an OpenAI-compatible chat API. Plans ask for structured output
//! (`json_schema` with the lengths bounded, without them, `json_object`, then plain text
//! searched for JSON, as far as the server takes them); scenes are streamed and tidied. An answer that cannot be used comes back as a
//! rejection: the story asks again with the reason, which is then told to the model, and
//! decides what happens when the model keeps failing. Nothing here writes offline in its stead.

use super::client::{Endpoint, read_chat_text_growing};
use super::structured::{complete_cast, first_object, plan_from, scene_text, text_so_far};
use actors::model::{SceneDraft, StoryId, StoryPlan, StorySpec};
use actors::ports::{Llm, ProviderError, Rejection, SceneRequest, TextSoFar};
use actors::story::checks::SceneRules;
use async_trait::async_trait;
use prometheus::IntCounter;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct OpenAiStoryteller {
    pub(super) endpoint: Endpoint,
    pub(super) model: String,
    pub(super) tokens: IntCounter,
    /// The first plan format this server did not refuse: later plans are asked that way.
    pub(super) plan_format: AtomicUsize,
}

/// How the plan is asked for, most structured first.
#[derive(Clone, Copy, Debug)]
pub enum Format {
    /// A schema that also bounds the number of scenes and each text's length: without it, a
    /// small model (SmolLM2 on llama.cpp) ran an outline on until the answer was cut. OpenAI's
    /// strict mode takes no string lengths and refuses it: the next way is then used.
    BoundedSchema,
    JsonSchema,
    JsonObject,
    Plain,
}

const FORMATS: [Format; 4] = [Format::BoundedSchema, Format::JsonSchema, Format::JsonObject, Format::Plain];

fn plan_schema(scenes: u8, bounded: bool) -> Value {
    let text = |max: u32| {
        if bounded { json!({"type": "string", "minLength": 3, "maxLength": max}) } else { json!({"type": "string"}) }
    };
    let mut list = json!({"type": "array", "items": {
        "type": "object", "additionalProperties": false, "required": ["title", "outline"],
        "properties": {"title": text(60), "outline": text(200)}
    }});
    let mut cast = json!({"type": "array", "items": {
        "type": "object", "additionalProperties": false, "required": ["name", "kind", "look"],
        "properties": {"name": text(40), "kind": text(40), "look": text(160)}
    }});
    if bounded {
        list["minItems"] = json!(scenes);
        list["maxItems"] = json!(scenes);
        cast["minItems"] = json!(1);
        cast["maxItems"] = json!(4);
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "scenes", "characters"],
        "properties": {"title": text(60), "scenes": list, "characters": cast}
    })
}

/// Who the storyteller is, for every request.
pub fn system_prompt(age: u8, language: &str) -> String {
    format!(
        "You are StoryMimi, a warm and gentle storyteller for a child aged {age}. Write in the language with \
         the code `{language}`, in short, simple sentences. Stories are kind and happy: never violence, weapons, \
         blood, scary or grown-up themes, bad words, or anything unsuitable for young children."
    )
}

/// What the model is told when its last answer was rejected, before it tries again.
fn problem(why: Rejection, rules: &SceneRules) -> String {
    let hero = rules.hero.as_deref().unwrap_or("the hero");
    match why {
        Rejection::Unsafe(_) => "it had something in it that is not right for young children".into(),
        Rejection::Length { words } => format!("it had {words} words"),
        Rejection::Loop => "it said the same words again and again".into(),
        Rejection::Unfinished => "it stopped in the middle of a sentence".into(),
        Rejection::Person => "it was told by \"I\" instead of about the hero".into(),
        Rejection::Hero => format!("it did not name {hero}"),
        Rejection::Markup => "it had headings, notes or these instructions in it".into(),
        Rejection::Parse => "it was not the JSON asked for".into(),
    }
}

/// How the story must be told, in words for the model.
fn how_to_tell(rules: &SceneRules) -> String {
    let voice = match (&rules.hero, rules.third_person) {
        (Some(hero), true) => format!("Tell it about {hero} in the third person (\"{hero} ran\", \"she\", \"he\"), "),
        (None, true) => "Tell it in the third person (\"she\", \"he\", \"they\"), ".to_owned(),
        (_, false) => "Tell it ".to_owned(),
    };
    format!("{voice}in {} to {} words, and end with a finished sentence.", rules.min_words, rules.max_words)
}

/// The chat messages for the plan; `rejected`: why the last plan was not taken.
pub fn plan_messages(spec: &StorySpec, rejected: Option<Rejection>) -> Value {
    let rules = SceneRules::for_story(spec);
    let mut ask = format!(
        "Plan a {style} story in exactly {n} scenes. The child asked for: {prompt}\n\
         Answer with JSON only: the story's \"title\"; \"scenes\": {n} scenes, each with its own \"title\" \
         and an \"outline\" that says in one sentence what {hero} does in that scene; and \"characters\": \
         {hero} first, then anyone else in the story, each with a \"name\", a \"kind\" and a short \"look\" \
         for the pictures (size, colours and one thing they wear, e.g. \"a small green dragon with golden \
         wings and a red scarf\").",
        style = spec.style.as_str(),
        n = spec.num_scenes,
        prompt = spec.prompt,
        hero = rules.hero.as_deref().unwrap_or("the hero"),
    );
    if let Some(why) = rejected {
        ask.push_str(&format!(
            "\nYour last answer could not be used: {}. Answer again: JSON only, a title and exactly {} scenes, \
             each with a title and a one-sentence outline{}.",
            problem(why, &rules),
            spec.num_scenes,
            rules.hero.as_deref().map(|h| format!(" about {h}")).unwrap_or_default(),
        ));
    }
    json!([
        {"role": "system", "content": system_prompt(spec.age.get(), &spec.language)},
        {"role": "user", "content": ask},
    ])
}

/// The chat messages for one scene; `rejected`: why the last answer was not taken.
pub fn scene_messages(request: SceneRequest<'_>, rejected: Option<Rejection>) -> Value {
    let (spec, plan, index) = (request.spec, request.plan, request.index);
    let rules = SceneRules::for_story(spec);
    let scene = &plan.scenes[index.min(plan.scenes.len().saturating_sub(1))];
    let earlier: Vec<String> = request
        .previous
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|s| s.text.split_inclusive(['.', '!', '?']).take(2).collect::<String>())
        .collect();
    let mut ask = format!(
        "The story is \"{title}\" ({style}). Earlier: {earlier}\nWrite scene {n} of {total}, \"{scene_title}\": \
         {outline}\n{how} Write only the story, with no title and no notes.",
        title = plan.title,
        style = spec.style.as_str(),
        earlier = if earlier.is_empty() { "this is the beginning.".to_owned() } else { earlier.join(" ") },
        n = index + 1,
        total = plan.scenes.len(),
        scene_title = scene.title,
        outline = scene.outline,
        how = how_to_tell(&rules),
    );
    if let Some(redo) = request.redo {
        ask.push_str("\nThis scene was written before and is being written again");
        match redo.hint {
            Some(hint) => ask.push_str(&format!(", because the child asked: \"{hint}\". Do what the child asked.")),
            None => ask.push_str(": tell it in a new way."),
        }
        if let Some(next) = redo.following.first() {
            let opening: String = next.text.split_inclusive(['.', '!', '?']).take(2).collect();
            ask.push_str(&format!(" It must lead to what happens next: {}", opening.trim()));
        }
    }
    if let Some(why) = rejected {
        ask.push_str(&format!(
            "\nYour last answer could not be used: {}. Write it again. {}",
            problem(why, &rules),
            how_to_tell(&rules)
        ));
    }
    json!([
        {"role": "system", "content": system_prompt(spec.age.get(), &spec.language)},
        {"role": "user", "content": ask},
    ])
}

/// The whole request body for a plan asked for in `format`.
pub fn plan_body(model: &str, spec: &StorySpec, format: Format, rejected: Option<Rejection>) -> Value {
    let mut body = json!({
        "model": model,
        "messages": plan_messages(spec, rejected),
        "max_tokens": 220 + 80 * u32::from(spec.num_scenes),
        "temperature": 0.7,
    });
    let schema = |bounded| {
        let schema = plan_schema(spec.num_scenes.get(), bounded);
        json!({"type": "json_schema", "json_schema": {"name": "story_plan", "strict": true, "schema": schema}})
    };
    match format {
        Format::BoundedSchema => body["response_format"] = schema(true),
        Format::JsonSchema => body["response_format"] = schema(false),
        Format::JsonObject => body["response_format"] = json!({"type": "json_object"}),
        Format::Plain => {}
    }
    body
}

/// The whole (streamed) request body for a scene.
pub fn scene_body(model: &str, request: SceneRequest<'_>, rejected: Option<Rejection>) -> Value {
    let max = SceneRules::for_story(request.spec).max_words;
    json!({
        "model": model, "messages": scene_messages(request, rejected), "max_tokens": max * 2, "temperature": 0.8,
        "stream": true, "stream_options": {"include_usage": true},
    })
}

impl OpenAiStoryteller {
    fn count(&self, answer: &Value) {
        if let Some(tokens) = answer["usage"]["completion_tokens"].as_u64() {
            self.tokens.inc_by(tokens);
        }
    }

    /// A plan, asked for in the most structured way this server takes.
    async fn plan(
        &self,
        id: StoryId,
        spec: &StorySpec,
        rejected: Option<Rejection>,
    ) -> Result<StoryPlan, ProviderError> {
        let start = self.plan_format.load(Ordering::Relaxed);
        for (i, format) in FORMATS.into_iter().enumerate().skip(start) {
            let body = plan_body(&self.model, spec, format, rejected);
            let answer = match self.endpoint.json_or_refused("/chat/completions", &body).await? {
                Ok(answer) => answer,
                // This server does not take that `response_format`: from now on, the next way.
                Err(status) if i + 1 < FORMATS.len() => {
                    tracing::info!(?format, %status, "the model server refused this plan format; asking another way");
                    self.plan_format.fetch_max(i + 1, Ordering::Relaxed);
                    continue;
                }
                Err(status) => return Err(self.endpoint.error(false, &format!("refused the plan request ({status})"))),
            };
            self.count(&answer);
            let text = answer["choices"][0]["message"]["content"].as_str().unwrap_or_default();
            let mut plan = first_object(text)
                .and_then(|value| plan_from(&value, spec))
                .ok_or(ProviderError::rejected(Rejection::Parse))?;
            complete_cast(&mut plan, spec, crate::providers::builtin::characters(id, spec));
            return Ok(plan);
        }
        Err(self.endpoint.error(false, "refused every way of asking for a plan"))
    }

    /// A scene, streamed (told to `so_far`, tidied, as it grows), then made as good as it can be
    /// without asking again.
    async fn scene(
        &self,
        request: SceneRequest<'_>,
        rejected: Option<Rejection>,
        so_far: TextSoFar<'_>,
    ) -> Result<SceneDraft, ProviderError> {
        let body = scene_body(&self.model, request, rejected);
        let response = self.endpoint.send("/chat/completions", &body).await?;
        let plan = request.plan;
        let title = plan.scenes[request.index.min(plan.scenes.len().saturating_sub(1))].title.clone();
        let (rules, titles) = (SceneRules::for_story(request.spec), [plan.title.as_str(), title.as_str()]);
        let mut told = 0;
        let (raw, tokens) = read_chat_text_growing(&self.endpoint, response, |raw| {
            let shown = text_so_far(raw, &rules, &titles);
            if shown.len() > told {
                told = shown.len();
                so_far(&shown);
            }
        })
        .await?;
        self.tokens.inc_by(tokens);
        let text = scene_text(&raw, &rules, &titles);
        Ok(SceneDraft { title, text: text.map_err(ProviderError::rejected)? })
    }
}

#[async_trait]
impl Llm for OpenAiStoryteller {
    fn name(&self) -> &str {
        "openai"
    }

    async fn plan_story(&self, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        self.plan(id, spec, None).await
    }

    async fn replan_story(
        &self,
        id: StoryId,
        spec: &StorySpec,
        rejected: Rejection,
    ) -> Result<StoryPlan, ProviderError> {
        self.plan(id, spec, Some(rejected)).await
    }

    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        self.scene(request, None, &|_| {}).await
    }

    async fn rewrite_scene(&self, request: SceneRequest<'_>, rejected: Rejection) -> Result<SceneDraft, ProviderError> {
        self.scene(request, Some(rejected), &|_| {}).await
    }

    async fn stream_scene(
        &self,
        request: SceneRequest<'_>,
        rejected: Option<Rejection>,
        so_far: TextSoFar<'_>,
    ) -> Result<SceneDraft, ProviderError> {
        self.scene(request, rejected, so_far).await
    }
}
