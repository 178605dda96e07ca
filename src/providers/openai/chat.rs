//! The agent's voice on an OpenAI-compatible chat API: a short reply, streamed.

use super::client::{Endpoint, Piece, read_chat_stream};
use actors::ports::{ChatLine, ChatModel, ChatRole, ProviderError};
use async_trait::async_trait;
use prometheus::IntCounter;
use serde_json::json;

pub struct OpenAiChat {
    pub(super) endpoint: Endpoint,
    pub(super) model: String,
    pub(super) tokens: IntCounter,
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn name(&self) -> &str {
        "openai"
    }

    async fn reply(
        &self,
        lines: Vec<ChatLine>,
        mut on_piece: Box<dyn FnMut(String) + Send>,
    ) -> Result<(), ProviderError> {
        let messages: Vec<_> = lines
            .into_iter()
            .map(|line| {
                let role = match line.role {
                    ChatRole::System => "system",
                    ChatRole::User => "user",
                    ChatRole::Assistant => "assistant",
                };
                json!({"role": role, "content": line.content})
            })
            .collect();
        let body = json!({
            "model": self.model, "messages": messages, "max_tokens": 120, "temperature": 0.7,
            "stream": true, "stream_options": {"include_usage": true},
        });
        let response = self.endpoint.send("/chat/completions", &body).await?;
        let (mut pieces, mut usage) = (0u64, None);
        let result = read_chat_stream(&self.endpoint, response, |piece| match piece {
            Piece::Text(text) => {
                pieces += 1;
                on_piece(text);
            }
            Piece::Usage(n) => usage = Some(n),
        })
        .await;
        self.tokens.inc_by(usage.unwrap_or(pieces));
        result
    }
}
