//! Access tokens: HS256 only, with `exp`, `iss`, `aud` and `sub` = user id.

use crate::config::Config;
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

/// Signing and verification keys with the pinned validation rules.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_secs: u64,
}

impl JwtKeys {
    pub fn from_config(config: &Config) -> Self {
        let secret = config.jwt_secret();
        // Only HS256 is accepted: `none`, HS512 or RS256 tokens fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_secs: config.access_token_ttl_secs,
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
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let now = chrono::Utc::now().timestamp();
        if data.claims.iat > now + self.validation.leeway as i64 {
            return None;
        }
        Some(Verified { user: data.claims.sub.parse().ok()?, session: data.claims.sid, expires_at: data.claims.exp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let keys = JwtKeys::from_config(&Config::default());
        let user = UserId::new();
        let token = keys.issue(user, Some("family-1")).unwrap();
        assert_eq!(keys.verify(&token), Some(user));
        assert_eq!(keys.verify_session(&token).unwrap().session.as_deref(), Some("family-1"));

        let other = JwtKeys::from_config(&Config { jwt_audience: "someone-else".into(), ..Config::default() });
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
}
