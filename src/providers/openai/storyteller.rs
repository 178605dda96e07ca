//! The storyteller on an OpenAI-compatible chat API. Plans ask for structured output
//! (`json_schema`, then `json_object`, then plain text searched for JSON) and fall back to the
//! builtin planner; scenes are streamed, tidied, kept to the age's word range, asked again
//! when empty or far too short, and written offline as a last resort. A small or misbehaving
//! model still yields a finished, sensible story.

use super::client::{Endpoint, Piece, read_chat_stream};
use super::structured::{first_object, loops, plan_from, tidy, trim_to, word_range, words};
use crate::providers::builtin::Storyteller;
use actors::model::{SceneDraft, StoryId, StoryPlan, StorySpec};
use actors::ports::{Llm, ProviderError, SceneRequest};
use async_trait::async_trait;
use prometheus::IntCounter;
use serde_json::{Value, json};

pub struct OpenAiStoryteller {
    pub(super) endpoint: Endpoint,
    pub(super) model: String,
    /// For what the model cannot do: the plan or a scene, written offline.
    pub(super) builtin: Storyteller,
    pub(super) tokens: IntCounter,
}

/// How the plan is asked for, most structured first.
#[derive(Clone, Copy, Debug)]
enum Format {
    JsonSchema,
    JsonObject,
    Plain,
}

fn plan_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "scenes"],
        "properties": {
            "title": {"type": "string"},
            "scenes": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["title", "outline"],
                "properties": {"title": {"type": "string"}, "outline": {"type": "string"}}
            }}
        }
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

impl OpenAiStoryteller {
    fn count(&self, answer: &Value) {
        if let Some(tokens) = answer["usage"]["completion_tokens"].as_u64() {
            self.tokens.inc_by(tokens);
        }
    }

    async fn ask_plan(&self, spec: &StorySpec, format: Format) -> Result<Option<StoryPlan>, ProviderError> {
        let ask = format!(
            "Plan a {style} story in exactly {n} scenes. The child asked for: {prompt}\n\
             Answer with JSON only, like {{\"title\": \"…\", \"scenes\": [{{\"title\": \"…\", \"outline\": \"one sentence\"}}]}}.",
            style = spec.style.as_str(),
            n = spec.num_scenes,
            prompt = spec.prompt,
        );
        let mut body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": system_prompt(spec.age, &spec.language)},
                {"role": "user", "content": ask},
            ],
            "max_tokens": 120 + 80 * u32::from(spec.num_scenes),
            "temperature": 0.7,
        });
        match format {
            Format::JsonSchema => {
                body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "story_plan", "strict": true, "schema": plan_schema()}});
            }
            Format::JsonObject => body["response_format"] = json!({"type": "json_object"}),
            Format::Plain => {}
        }
        let answer = match self.endpoint.json_or_refused("/chat/completions", &body).await? {
            Ok(answer) => answer,
            // This server does not take that `response_format`: try the next way.
            Err(_) => return Ok(None),
        };
        self.count(&answer);
        let text = answer["choices"][0]["message"]["content"].as_str().unwrap_or_default();
        Ok(first_object(text).and_then(|value| plan_from(&value, spec)))
    }

    /// Stream one completion; the whole text.
    async fn stream(&self, messages: Value, max_tokens: usize) -> Result<String, ProviderError> {
        let body = json!({
            "model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.8,
            "stream": true, "stream_options": {"include_usage": true},
        });
        let response = self.endpoint.send("/chat/completions", &body).await?;
        let (mut text, mut pieces, mut usage) = (String::new(), 0u64, None);
        read_chat_stream(&self.endpoint, response, |piece| match piece {
            Piece::Text(t) => {
                pieces += 1;
                text.push_str(&t);
            }
            Piece::Usage(n) => usage = Some(n),
        })
        .await?;
        // Servers that send no usage stream about one token per event.
        self.tokens.inc_by(usage.unwrap_or(pieces));
        Ok(text)
    }
}

#[async_trait]
impl Llm for OpenAiStoryteller {
    fn name(&self) -> &str {
        "openai"
    }

    async fn plan_story(&self, story_id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        for format in [Format::JsonSchema, Format::JsonObject, Format::Plain] {
            if let Some(plan) = self.ask_plan(spec, format).await? {
                return Ok(plan);
            }
            tracing::info!(story = %story_id, ?format, "the model's plan was not usable");
        }
        tracing::info!(story = %story_id, "planning offline: the model gave no usable plan");
        self.builtin.plan_story(story_id, spec).await
    }

    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        let (spec, plan, index) = (request.spec, request.plan, request.index);
        let scene = &plan.scenes[index.min(plan.scenes.len().saturating_sub(1))];
        let (min, max) = word_range(spec.age);
        let earlier: Vec<String> = request
            .previous
            .iter()
            .rev()
            .take(2)
            .rev()
            .map(|s| s.text.split_inclusive(['.', '!', '?']).take(2).collect::<String>())
            .collect();
        let ask = format!(
            "The story is \"{title}\" ({style}). Earlier: {earlier}\nWrite scene {n} of {total}, \"{scene_title}\": \
             {outline}\nWrite {min} to {max} words of story text only: no title, no headings, no notes.",
            title = plan.title,
            style = spec.style.as_str(),
            earlier = if earlier.is_empty() { "this is the beginning.".to_owned() } else { earlier.join(" ") },
            n = index + 1,
            total = plan.scenes.len(),
            scene_title = scene.title,
            outline = scene.outline,
        );
        let messages = json!([
            {"role": "system", "content": system_prompt(spec.age, &spec.language)},
            {"role": "user", "content": ask},
        ]);
        // Twice at most: a second answer when the first was empty, too short or looping.
        for _ in 0..2 {
            let text = tidy(&self.stream(messages.clone(), max * 2).await?);
            if loops(&text) {
                continue;
            }
            let text = if words(&text) > max { trim_to(&text, max) } else { text };
            if words(&text) >= min {
                return Ok(SceneDraft { title: scene.title.clone(), text });
            }
        }
        tracing::info!(story = %request.story_id, scene = index + 1, "writing a scene offline: the model's were unusable");
        self.builtin.write_scene(request).await
    }
}
