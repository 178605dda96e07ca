//! The model reads what a child says into the story being agreed on: the current draft and the
//! child's words go in, the whole draft as it now stands comes back as structured output
//! (`json_schema`, then `json_object` for servers that refuse it, then plain text searched for
//! the first JSON object, as the storyteller's plan is asked). The way that worked is kept for
//! the next turns, so a turn costs one request. The answer is streamed: when the agent stops
//! waiting, dropping the stream stops the model too (a model server keeps writing an answer
//! nobody reads otherwise, and the next requests queue behind it). Nothing here is trusted:
//! the agent checks it.

use super::client::{Endpoint, read_chat_text};
use super::structured::first_object;
use actors::model::{Character, Draft, Style};
use actors::ports::{ProviderError, ReadCharacter, Reading, Understander};
use async_trait::async_trait;
use prometheus::IntCounter;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The ways to ask for JSON, most structured first.
const FORMATS: [&str; 3] = ["json_schema", "json_object", "plain"];

pub struct OpenAiUnderstander {
    endpoint: Endpoint,
    model: String,
    tokens: IntCounter,
    /// The first of [`FORMATS`] this server has not refused.
    format: AtomicUsize,
}

impl OpenAiUnderstander {
    pub fn new(endpoint: Endpoint, model: String, tokens: IntCounter) -> Self {
        Self { endpoint, model, tokens, format: AtomicUsize::new(0) }
    }
}

fn character_schema() -> Value {
    json!({
        "type": "object", "additionalProperties": false, "required": ["name", "kind"],
        "properties": {"name": {"type": ["string", "null"]}, "kind": {"type": ["string", "null"]}}
    })
}

fn reading_schema() -> Value {
    let styles: Vec<Value> = Style::ALL.iter().map(|s| json!(s.as_str())).chain([Value::Null]).collect();
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["hero", "friends", "setting", "style", "num_scenes", "age", "title", "wish"],
        "properties": {
            "hero": {"anyOf": [character_schema(), {"type": "null"}]},
            "friends": {"type": "array", "items": character_schema(), "maxItems": 4},
            "setting": {"type": ["string", "null"]},
            "style": {"enum": styles},
            "num_scenes": {"type": ["integer", "null"]},
            "age": {"type": ["integer", "null"]},
            "title": {"type": ["string", "null"]},
            "wish": {"type": ["string", "null"]}
        }
    })
}

const SYSTEM: &str = "You help a storytelling app understand a young child. You get the story agreed so far and \
what the child just said. Answer with the whole story as it now stands, as JSON only: {\"hero\": {\"name\", \
\"kind\"} or null, \"friends\": [{\"name\", \"kind\"}], \"setting\": where it happens or null, \"style\": one of \
fantasy, sci-fi, adventure, animals, bedtime, funny, mystery or null, \"num_scenes\": 1 to 12 or null, \"age\": the \
child's age or null, \"title\": or null, \"wish\": what the hero wants, like \"wanted to fly\", or null}. Keep \
everything the child did not change. Use null for anything not said. Never invent names.";

fn read_character(c: &Character) -> ReadCharacter {
    ReadCharacter { name: c.name.clone(), kind: c.kind.clone() }
}

/// The draft as the model is shown it: the same shape it answers in.
fn shown(draft: &Draft) -> Reading {
    Reading {
        hero: (!draft.hero.is_empty()).then(|| read_character(&draft.hero)),
        friends: draft.companions.iter().map(read_character).collect(),
        setting: draft.place().map(str::to_owned),
        style: draft.style.map(|s| s.as_str().to_owned()),
        num_scenes: draft.num_scenes.map(i64::from),
        age: draft.age.map(i64::from),
        title: draft.title.clone(),
        wish: draft.wish.clone(),
    }
}

#[async_trait]
impl Understander for OpenAiUnderstander {
    fn name(&self) -> &str {
        "openai"
    }

    async fn read(&self, draft: &Draft, said: &str) -> Result<Option<Reading>, ProviderError> {
        let asked = draft.asked.map_or("nothing yet".to_owned(), |slot| format!("the {}", slot.name()));
        let story = serde_json::to_string(&shown(draft)).unwrap_or_default();
        let user = format!("The story so far: {story}\nThe app last asked about: {asked}\nThe child said: {said}");
        let mut body = json!({
            "model": self.model,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
            // A whole draft is about a hundred tokens; a small model looping is cut off.
            "max_tokens": 200,
            "temperature": 0,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        for (i, format) in FORMATS.iter().enumerate().skip(self.format.load(Ordering::Relaxed)) {
            match *format {
                "json_schema" => {
                    let schema = json!({"name": "story_draft", "strict": true, "schema": reading_schema()});
                    body["response_format"] = json!({"type": "json_schema", "json_schema": schema});
                }
                "json_object" => body["response_format"] = json!({"type": "json_object"}),
                _ => {
                    body.as_object_mut().map(|b| b.remove("response_format"));
                }
            }
            let response = match self.endpoint.send_or_refused("/chat/completions", &body).await? {
                Ok(response) => response,
                // This server does not take that `response_format`: ask the next way, from now on.
                Err(_) => {
                    self.format.store(i + 1, Ordering::Relaxed);
                    continue;
                }
            };
            let (text, tokens) = read_chat_text(&self.endpoint, response).await?;
            self.tokens.inc_by(tokens);
            return Ok(first_object(&text).and_then(|value| serde_json::from_value(value).ok()));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draft_is_shown_in_the_shape_the_model_answers_in() {
        let draft = Draft {
            hero: Character { name: Some("Pip".into()), kind: Some("dragon".into()), trait_word: None },
            style: Some(Style::Funny),
            ..Draft::default()
        };
        let shown = serde_json::to_value(shown(&draft)).unwrap();
        assert_eq!(shown["hero"]["name"], "Pip");
        assert_eq!(shown["style"], "funny");
        let read: Reading = serde_json::from_value(shown).unwrap();
        assert_eq!(read.hero.unwrap().kind.as_deref(), Some("dragon"));
        assert!(reading_schema()["properties"]["style"]["enum"].as_array().unwrap().contains(&json!("sci-fi")));
    }
}
