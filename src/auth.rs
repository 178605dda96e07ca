//! Authentication: access JWTs (HS256), argon2id passwords, opaque refresh tokens, and the
//! extractor that turns a request's bearer token into the caller's [`UserId`].

mod extractor;
mod guards;
mod jwt;
mod password;
mod revoked;
mod throttle;

pub use extractor::{AuthUser, ClientAddress, authenticate, bearer_token};
pub use guards::AuthGuards;
pub use jwt::{Claims, JwtKeys, Verified};
pub use password::{HashError, HashSettings, Hasher};
pub use revoked::RevokedSessions;
pub use throttle::Throttle;

use crate::digest::sha256_hex;
use base64::Engine as _;
use rand::RngCore;

/// A new refresh token: 256 random bits, URL-safe. Only its hash is stored.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a refresh token (SHA-256, hex). A leaked table yields no usable token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}
