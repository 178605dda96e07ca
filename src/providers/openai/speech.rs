//! Narration from an OpenAI-compatible `/audio/speech`: MP3, with text longer than the API's
//! input limit split at sentence ends and the pieces joined (MP3 frames concatenate).

use super::client::Endpoint;
use actors::ports::{Media, Narrator, ProviderError};
use async_trait::async_trait;
use serde_json::json;

pub struct OpenAiNarrator {
    pub(super) endpoint: Endpoint,
    pub(super) model: String,
    pub(super) voice: String,
    pub(super) max_chars: usize,
}

/// Pieces of at most `max` characters, cut after a sentence where possible, else at a space.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for sentence in text.split_inclusive(['.', '!', '?']) {
        let mut sentence = sentence.to_owned();
        while sentence.chars().count() > max {
            // A sentence longer than the limit: cut at the last space that fits.
            let head: String = sentence.chars().take(max).collect();
            let cut = head.rfind(' ').filter(|i| *i > 0).unwrap_or(head.len());
            let (first, rest) = sentence.split_at(cut);
            if !current.trim().is_empty() {
                pieces.push(std::mem::take(&mut current).trim().to_owned());
            }
            pieces.push(first.trim().to_owned());
            sentence = rest.to_owned();
        }
        if current.chars().count() + sentence.chars().count() > max && !current.trim().is_empty() {
            pieces.push(std::mem::take(&mut current).trim().to_owned());
        }
        current.push_str(&sentence);
    }
    if !current.trim().is_empty() {
        pieces.push(current.trim().to_owned());
    }
    pieces
}

/// An MP3's bytes without a leading ID3v2 tag (kept only on the first piece of a join).
fn without_id3(bytes: &[u8]) -> &[u8] {
    if bytes.len() > 10 && &bytes[..3] == b"ID3" {
        let size = bytes[6..10].iter().fold(0usize, |n, b| (n << 7) | usize::from(b & 0x7f));
        bytes.get(10 + size..).unwrap_or(&[])
    } else {
        bytes
    }
}

fn looks_like_mp3(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ID3") || bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0
}

#[async_trait]
impl Narrator for OpenAiNarrator {
    fn name(&self) -> &str {
        "openai"
    }

    async fn narrate(&self, text: &str, _language: &str) -> Result<Media, ProviderError> {
        let mut joined = Vec::new();
        for (i, piece) in split_text(text, self.max_chars).iter().enumerate() {
            let body = json!({"model": self.model, "voice": self.voice, "input": piece, "response_format": "mp3"});
            let response = self.endpoint.send("/audio/speech", &body).await?;
            let bytes = response.bytes().await.map_err(|e| self.endpoint.unreachable(&e))?;
            if !looks_like_mp3(&bytes) {
                return Err(self.endpoint.error(true, "sent audio that is not MP3"));
            }
            joined.extend_from_slice(if i == 0 { &bytes } else { without_id3(&bytes) });
        }
        if joined.is_empty() {
            return Err(self.endpoint.error(false, "was given no text to read"));
        }
        Ok(Media { bytes: joined, content_type: "audio/mpeg".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_split_at_sentences_within_the_limit() {
        let text = "One two three. Four five six! Seven eight nine? Ten.";
        let pieces = split_text(text, 20);
        assert!(pieces.iter().all(|p| p.chars().count() <= 20), "{pieces:?}");
        assert_eq!(pieces.join(" "), text);
        let long = "word ".repeat(30);
        let pieces = split_text(&long, 22);
        assert!(pieces.iter().all(|p| p.chars().count() <= 22 && !p.is_empty()), "{pieces:?}");
        assert_eq!(pieces.join(" ").split_whitespace().count(), 30);
        assert_eq!(split_text("ünïcödé ünïcödé ünïcödé", 9), ["ünïcödé", "ünïcödé", "ünïcödé"]);
    }

    #[test]
    fn id3_tags_are_dropped_from_later_pieces() {
        let mut tagged = b"ID3\x04\x00\x00\x00\x00\x00\x02ab".to_vec();
        tagged.extend_from_slice(&[0xFF, 0xFB, 1, 2]);
        assert_eq!(without_id3(&tagged), &[0xFF, 0xFB, 1, 2]);
        assert!(looks_like_mp3(&tagged) && !looks_like_mp3(b"<html>"));
    }
}
