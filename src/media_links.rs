//! Stable capability URLs for media: `/media/{key}?sig=…`, where `sig` is an HMAC of the key.
//! No expiry in the URL, because the app's cache keys files by their full URL.

use crate::config::Config;
use actors::ports::MediaLinks;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub struct MediaUrls {
    key: Vec<u8>,
    base: String,
}

impl MediaUrls {
    pub fn from_config(config: &Config) -> Self {
        let key = match &config.auth.media_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            // One secret to manage in production: derive a separate key from the JWT secret.
            None => mac(config.auth.jwt_secret().expose().as_bytes(), b"storymimi media links").to_vec(),
        };
        let base = config.http.public_url.as_deref().unwrap_or("").trim_end_matches('/').to_owned();
        Self { key, base }
    }

    /// The signature for `key` (hex, 128 bits: plenty against guessing, short in URLs).
    pub fn sign(&self, key: &str) -> String {
        mac(&self.key, key.as_bytes())[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Constant-time check of a signature from a URL.
    pub fn verify(&self, key: &str, sig: &str) -> bool {
        let Some(bytes) = decode_hex(sig) else { return false };
        let Ok(mut m) = HmacSha256::new_from_slice(&self.key) else { return false };
        m.update(key.as_bytes());
        bytes.len() == 16 && m.verify_truncated_left(&bytes).is_ok()
    }
}

impl MediaLinks for MediaUrls {
    fn link(&self, key: &str) -> String {
        format!("{}/media/{key}?sig={}", self.base, self.sign(key))
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut m = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(data);
    m.finalize().into_bytes().into()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AuthSettings, HttpSettings, Secret};

    #[test]
    fn links_are_stable_and_verifiable() {
        let urls = MediaUrls::from_config(&Config::default());
        let link = urls.link("ab/cd.png");
        assert_eq!(link, urls.link("ab/cd.png"), "no expiry, no randomness");
        let sig = link.split("sig=").nth(1).unwrap();
        assert!(urls.verify("ab/cd.png", sig));
        assert!(!urls.verify("ab/ce.png", sig));
        assert!(!urls.verify("ab/cd.png", "00"));
        assert!(!urls.verify("ab/cd.png", "zz"));
        let public = MediaUrls::from_config(&Config {
            http: HttpSettings { public_url: Some("https://storymimi.example/".into()), ..HttpSettings::default() },
            ..Config::default()
        });
        assert!(public.link("ab/cd.png").starts_with("https://storymimi.example/media/ab/cd.png?sig="));
        let other = MediaUrls::from_config(&Config {
            auth: AuthSettings { media_secret: Some(Secret::new("another key entirely")), ..AuthSettings::default() },
            ..Config::default()
        });
        assert!(!other.verify("ab/cd.png", sig));
    }
}
