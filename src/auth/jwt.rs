//! Access tokens: HS256 only, with `exp`, `iss`, `aud` and `sub` = user id.

use crate::config::AuthSettings;
use actors::model::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    /// The sign-in session (the refresh-token family): signing out revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// What a valid access token says.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub user: UserId,
    pub session: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Tokens verified recently, remembered so a client's every request does not pay for the
/// signature check and the claims' decoding again (a third of a cached read's time).
const VERIFIED_TOKENS: u64 = 10_000;

/// Signing and verification keys with the pinned validation rules.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_secs: u64,
    /// Valid tokens already checked, by their exact text, with what they said. Only tokens
    /// that passed every check get in; expiry is checked again on every use.
    verified: moka::sync::Cache<String, Verified>,
}

impl JwtKeys {
    pub fn new(auth: &AuthSettings) -> Self {
        let secret = auth.jwt_secret();
        // Only HS256 is accepted: `none`, HS512 or RS256 tokens fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&auth.jwt_issuer]);
        validation.set_audience(&[&auth.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            issuer: auth.jwt_issuer.clone(),
            audience: auth.jwt_audience.clone(),
            ttl_secs: auth.access_token_ttl_secs,
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_TOKENS)
                .time_to_live(std::time::Duration::from_secs(auth.access_token_ttl_secs.max(1)))
                .build(),
        }
    }

    /// An access token for `user` in sign-in `session` (the refresh family; `None` for tokens
    /// that belong to no session, e.g. made by tools).
    pub fn issue(&self, user: UserId, session: Option<&str>) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            iat: now,
            exp: now + i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sid: session.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The user a valid token speaks for, or `None` for anything invalid (including a token
    /// issued in the future, or not valid yet by its `nbf`).
    pub fn verify(&self, token: &str) -> Option<UserId> {
        self.verify_session(token).map(|v| v.user)
    }

    /// Like [`JwtKeys::verify`], with the session and the expiry.
    pub fn verify_session(&self, token: &str) -> Option<Verified> {
        self.verify_session_at(token, chrono::Utc::now().timestamp())
    }

    /// [`JwtKeys::verify_session`] at `now` (unix seconds) for what was checked before.
    fn verify_session_at(&self, token: &str, now: i64) -> Option<Verified> {
        let leeway = self.validation.leeway as i64;
        if let Some(known) = self.verified.get(token) {
            // Signature, issuer, audience, `iat` and `nbf` held when it was checked, and hold
            // still; only the expiry moves.
            return (known.expires_at >= now - leeway).then_some(known);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        if data.claims.iat > now + leeway {
            return None;
        }
        let verified =
            Verified { user: data.claims.sub.parse().ok()?, session: data.claims.sid, expires_at: data.claims.exp };
        self.verified.insert(token.to_owned(), verified.clone());
        Some(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let keys = JwtKeys::new(&AuthSettings::default());
        let user = UserId::new();
        let token = keys.issue(user, Some("family-1")).unwrap();
        assert_eq!(keys.verify(&token), Some(user));
        assert_eq!(keys.verify_session(&token).unwrap().session.as_deref(), Some("family-1"));

        let other = JwtKeys::new(&AuthSettings { jwt_audience: "someone-else".into(), ..AuthSettings::default() });
        assert_eq!(other.verify(&token), None, "wrong audience");
        let mut tampered = token.clone();
        tampered.pop();
        assert_eq!(keys.verify(&tampered), None);

        // Signed with the right key, but issued in the future / not valid yet.
        let now = chrono::Utc::now().timestamp();
        let sign = |extra: serde_json::Value| {
            let mut claims = serde_json::json!({"sub": user.to_string(), "exp": now + 600, "iat": now,
                "iss": "storymimi", "aud": "storymimi-app"});
            claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap()
        };
        assert_eq!(keys.verify(&sign(serde_json::json!({}))), Some(user));
        assert_eq!(keys.verify(&sign(serde_json::json!({"iat": now + 3600}))), None, "issued in the future");
        assert_eq!(keys.verify(&sign(serde_json::json!({"nbf": now + 3600}))), None, "not valid yet");
        let no_iat = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": user.to_string(), "exp": now + 600, "iss": "storymimi", "aud": "storymimi-app"}),
            &keys.encoding,
        )
        .unwrap();
        assert_eq!(keys.verify(&no_iat), None, "iat is required");
    }

    #[test]
    fn a_remembered_token_still_expires_and_only_valid_tokens_are_remembered() {
        let keys = JwtKeys::new(&AuthSettings::default());
        let user = UserId::new();
        let token = keys.issue(user, Some("family-1")).unwrap();
        let mut tampered = token.clone();
        tampered.pop();
        assert_eq!(keys.verify(&tampered), None);
        assert!(!keys.verified.contains_key(&tampered));

        let now = chrono::Utc::now().timestamp();
        let first = keys.verify_session_at(&token, now).unwrap();
        assert!(keys.verified.contains_key(&token), "remembered");
        assert_eq!(keys.verify_session_at(&token, now), Some(first.clone()));
        // Past its expiry (and the leeway), the remembered answer is no longer given.
        assert_eq!(keys.verify_session_at(&token, first.expires_at + 5), Some(first.clone()));
        assert_eq!(keys.verify_session_at(&token, first.expires_at + 6), None);
    }
}
