//! One OpenAI-compatible endpoint: requests with the key, answers classified once into
//! retryable or not (429/5xx/timeouts/cut streams retry, honouring `Retry-After`; other 4xx do
//! not), and error messages that name the provider and the reason but never the key.

use crate::config::Secret;
use actors::ports::ProviderError;
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use std::time::Duration;

#[derive(Clone)]
pub struct Endpoint {
    http: Client,
    base: String,
    key: Option<Secret>,
    /// `llm`, `illustrator` or `narrator`: what errors and metrics are about.
    pub capability: &'static str,
}

impl Endpoint {
    pub fn new(capability: &'static str, base: &str, key: Option<Secret>) -> Self {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Self { http, base: base.trim_end_matches('/').to_owned(), key, capability }
    }

    fn post(&self, path: &str) -> RequestBuilder {
        let request = self.http.post(format!("{}{path}", self.base));
        match &self.key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    /// Send once more, at once, when a kept-alive connection turned out to be closed by the
    /// server (a restarted model server): that is not the provider failing.
    async fn post_json(&self, path: &str, body: &Value) -> Result<Response, ProviderError> {
        match self.post(path).json(body).send().await {
            Err(e) if stale_connection(&e) => {
                tracing::debug!(capability = self.capability, "kept-alive connection was closed; sending again");
                self.post(path).json(body).send().await.map_err(|e| self.unreachable(&e))
            }
            other => other.map_err(|e| self.unreachable(&e)),
        }
    }

    /// `POST {base}{path}` with a JSON body; the answer's body, or why not.
    pub async fn send(&self, path: &str, body: &Value) -> Result<Response, ProviderError> {
        let response = self.post_json(path, body).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.unwrap_or_default();
        Err(self.refused(status, &headers, &text))
    }

    pub async fn json(&self, path: &str, body: &Value) -> Result<Value, ProviderError> {
        let response = self.send(path, body).await?;
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        serde_json::from_slice(&bytes).map_err(|_| self.error(true, "answered with malformed JSON"))
    }

    /// Like [`Endpoint::send`], but a 400/422 (the server does not take this request's shape,
    /// e.g. a `response_format` it does not know) comes back as `Ok(Err(status))` so the caller
    /// can ask another way.
    pub async fn send_or_refused(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<Result<Response, StatusCode>, ProviderError> {
        let response = self.post_json(path, body).await?;
        let status = response.status();
        if matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY) {
            return Ok(Err(status));
        }
        if !status.is_success() {
            let headers = response.headers().clone();
            let text = response.text().await.unwrap_or_default();
            return Err(self.refused(status, &headers, &text));
        }
        Ok(Ok(response))
    }

    /// [`Endpoint::send_or_refused`], the answer read as JSON.
    pub async fn json_or_refused(&self, path: &str, body: &Value) -> Result<Result<Value, StatusCode>, ProviderError> {
        let response = match self.send_or_refused(path, body).await? {
            Ok(response) => response,
            Err(status) => return Ok(Err(status)),
        };
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        let value = serde_json::from_slice(&bytes).map_err(|_| self.error(true, "answered with malformed JSON"))?;
        Ok(Ok(value))
    }

    /// Fetch bytes from a URL the provider gave (an image `url`), without our key.
    pub async fn fetch(&self, url: &str) -> Result<(Bytes, Option<String>), ProviderError> {
        let response = self.http.get(url).send().await.map_err(|e| self.unreachable(&e))?;
        if !response.status().is_success() {
            let (status, headers) = (response.status(), response.headers().clone());
            return Err(self.refused(status, &headers, ""));
        }
        let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        Ok((bytes, kind))
    }

    /// Readiness: the endpoint answers `GET {base}/models` (any answer but a network error
    /// means it is there; 401/403 means the key is wrong).
    pub async fn probe(&self) -> Result<(), String> {
        let mut request = self.http.get(format!("{}/models", self.base)).timeout(Duration::from_secs(3));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        match request.send().await {
            Ok(r) if matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                Err(format!("the API key was refused ({})", r.status()))
            }
            Ok(_) => Ok(()),
            Err(e) => Err(self.unreachable(&e).message),
        }
    }

    pub fn error(&self, retryable: bool, reason: &str) -> ProviderError {
        let message = format!("the {} provider {reason}", self.capability);
        if retryable { ProviderError::transient(message) } else { ProviderError::permanent(message) }
    }

    pub fn unreachable(&self, e: &reqwest::Error) -> ProviderError {
        let what = if e.is_timeout() {
            let message = format!("the {} provider did not answer in time", self.capability);
            return ProviderError::timeout(message);
        } else if e.is_connect() {
            "could not be reached".to_owned()
        } else if e.is_body() || e.is_decode() {
            "cut its answer short".to_owned()
        } else {
            // The innermost cause says most ("connection reset by peer"); no URL, no key.
            let mut cause: &dyn std::error::Error = e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            format!("failed ({})", self.scrub(&cause.to_string()))
        };
        self.error(true, &what)
    }

    /// A non-2xx answer: 408/429/5xx are worth retrying (after `Retry-After` if given).
    fn refused(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
        let detail = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .map(|m| self.scrub(&m))
            .unwrap_or_default();
        let retryable = status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error();
        let reason = if detail.is_empty() {
            format!("answered {status}")
        } else {
            format!("answered {status}: {}", detail.chars().take(200).collect::<String>())
        };
        self.error(retryable, &reason).retry_after(retry_after(headers))
    }

    /// Our key, and anything that looks like one, never leaves in a message.
    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        if let Some(key) = self.key.as_ref().map(Secret::expose).filter(|k| !k.is_empty()) {
            text = text.replace(key, "***");
        }
        text.split(' ')
            .map(|w| if w.starts_with("sk-") || w.len() > 40 && !w.contains('/') { "***" } else { w })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The server closed a pooled connection just as we used it (hyper's "incomplete message").
fn stale_connection(e: &reqwest::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        if let Some(h) = c.downcast_ref::<hyper::Error>() {
            return h.is_incomplete_message() || h.is_canceled();
        }
        cause = c.source();
    }
    false
}

/// `Retry-After` in seconds (HTTP dates are rare from these APIs; treated as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// Server-sent events, decoded incrementally: bytes in (split anywhere, even inside a line or
/// a UTF-8 character), whole `data:` payloads out.
#[derive(Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    data: Vec<String>,
}

impl SseDecoder {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
            }
            // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing we use.
        }
        events
    }
}

/// What a streamed chat completion said, piece by piece.
pub enum Piece {
    Text(String),
    /// Tokens the server says it generated (the final `usage`, when sent).
    Usage(u64),
}

/// Read a streamed chat completion, handing each piece to `on_piece` as it arrives. Ends at
/// `[DONE]` or a `finish_reason`; a stream that stops before either was cut (retryable).
pub async fn read_chat_stream(
    endpoint: &Endpoint,
    response: Response,
    mut on_piece: impl FnMut(Piece),
) -> Result<(), ProviderError> {
    let mut decoder = SseDecoder::default();
    let mut stream = response.bytes_stream();
    let mut finished = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| endpoint.unreachable(&e))?;
        for data in decoder.push(&chunk) {
            if data.trim() == "[DONE]" {
                return Ok(());
            }
            let event: Value =
                serde_json::from_str(&data).map_err(|_| endpoint.error(true, "sent a malformed stream event"))?;
            if let Some(message) = event["error"]["message"].as_str() {
                return Err(endpoint.error(true, &format!("failed mid-stream: {}", endpoint.scrub(message))));
            }
            if let Some(text) = event["choices"][0]["delta"]["content"].as_str().filter(|t| !t.is_empty()) {
                on_piece(Piece::Text(text.to_owned()));
            }
            if let Some(tokens) = event["usage"]["completion_tokens"].as_u64() {
                on_piece(Piece::Usage(tokens));
            }
            finished |= event["choices"][0]["finish_reason"].is_string();
        }
    }
    if finished { Ok(()) } else { Err(endpoint.error(true, "cut its answer short")) }
}

/// Read a streamed chat completion to its end: the whole text, and the tokens the server says it
/// generated (servers that send no usage stream about one token per event).
pub async fn read_chat_text(endpoint: &Endpoint, response: Response) -> Result<(String, u64), ProviderError> {
    read_chat_text_growing(endpoint, response, |_| {}).await
}

/// [`read_chat_text`], showing `on_text` the text so far each time it grows (a scene told as it
/// is written).
pub async fn read_chat_text_growing(
    endpoint: &Endpoint,
    response: Response,
    mut on_text: impl FnMut(&str),
) -> Result<(String, u64), ProviderError> {
    let (mut text, mut pieces, mut usage) = (String::new(), 0u64, None);
    read_chat_stream(endpoint, response, |piece| match piece {
        Piece::Text(t) => {
            pieces += 1;
            text.push_str(&t);
            on_text(&text);
        }
        Piece::Usage(n) => usage = Some(n),
    })
    .await?;
    Ok((text, usage.unwrap_or(pieces)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_anywhere_are_put_back_together() {
        let stream = "data: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: {\"b\":\"é\"}\n\ndata: [DONE]\n\n".as_bytes();
        for split in 0..stream.len() {
            let mut decoder = SseDecoder::default();
            let mut events = decoder.push(&stream[..split]);
            events.extend(decoder.push(&stream[split..]));
            assert_eq!(events, ["{\"a\":1}", "{\"b\":\"é\"}", "[DONE]"], "split at {split}");
        }
    }

    #[test]
    fn errors_never_carry_the_key() {
        let endpoint = Endpoint::new("llm", "http://x/v1", Some(Secret::new("sk-live-abcdef0123456789")));
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-live-abcdef0123456789. Check it."}}"#;
        let e = endpoint.refused(StatusCode::UNAUTHORIZED, &HeaderMap::new(), body);
        assert!(!e.retryable);
        assert!(!e.message.contains("abcdef0123456789"), "{}", e.message);
        assert!(e.message.contains("llm provider") && e.message.contains("401"), "{}", e.message);
    }

    #[test]
    fn retryable_answers_and_retry_after() {
        let endpoint = Endpoint::new("llm", "http://x/v1", None);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        let e = endpoint.refused(StatusCode::TOO_MANY_REQUESTS, &headers, "");
        assert!(e.retryable);
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        assert!(endpoint.refused(StatusCode::BAD_GATEWAY, &HeaderMap::new(), "").retryable);
        assert!(!endpoint.refused(StatusCode::BAD_REQUEST, &HeaderMap::new(), "").retryable);
    }
}
