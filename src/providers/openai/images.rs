//! Pictures from an OpenAI-compatible `/images/generations`: base64 in the answer
//! (`b64_json`), or a `url` fetched once. The bytes' own signature decides their type.

use super::client::Endpoint;
use actors::ports::{IllustrationRequest, Illustrator, Media, ProviderError};
use async_trait::async_trait;
use base64::Engine as _;
use serde_json::json;

pub struct OpenAiIllustrator {
    pub(super) endpoint: Endpoint,
    pub(super) model: String,
    pub(super) size: String,
}

/// PNG, JPEG or WebP, by their first bytes; the media store keeps only those.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// What to draw: the style, the characters in the picture each in their sheet's own words
/// (the same words in every request of the story, so the hero looks the same on every page),
/// then the scene.
fn prompt(request: &IllustrationRequest<'_>) -> String {
    let what = match request.index {
        None => format!("The cover of a children's picture book called \"{}\".", request.plan.title),
        Some(_) => request.text.split_inclusive(['.', '!', '?']).take(3).collect::<String>(),
    };
    let cast: String =
        request.characters().iter().map(|c| format!(" {} is {}.", c.name, c.look.trim_end_matches('.'))).collect();
    let cast = if cast.is_empty() { cast } else { format!(" Draw each character exactly so:{cast}") };
    format!(
        "A gentle, colourful children's book illustration in a {style} mood, soft shapes, friendly faces, \
         no text or letters.{cast} {what}",
        style = request.spec.style.as_str(),
    )
}

#[async_trait]
impl Illustrator for OpenAiIllustrator {
    fn name(&self) -> &str {
        "openai"
    }

    async fn illustrate(&self, request: IllustrationRequest<'_>) -> Result<Media, ProviderError> {
        let body = json!({"model": self.model, "prompt": prompt(&request), "n": 1, "size": self.size});
        let answer = self.endpoint.json("/images/generations", &body).await?;
        let image = &answer["data"][0];
        let bytes = if let Some(b64) = image["b64_json"].as_str() {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| self.endpoint.error(true, "sent an image that is not valid base64"))?
        } else if let Some(url) = image["url"].as_str() {
            self.endpoint.fetch(url).await?.0.to_vec()
        } else {
            return Err(self.endpoint.error(true, "sent no image"));
        };
        let content_type =
            image_type(&bytes).ok_or_else(|| self.endpoint.error(false, "sent an image in a format we do not keep"))?;
        Ok(Media { bytes, content_type: content_type.to_owned() })
    }
}
