//! The one place a [`CloseReason`] becomes a WebSocket close code and text (RFC 6455 §7.4;
//! 4000–4999 are ours). The core only ever says why a connection ends.

use actors::ports::CloseReason;

/// Close code for "your token expired: reconnect with a fresh one" (documented in the README).
pub const TOKEN_EXPIRED: u16 = 4001;

/// The close frame's code and text for `reason`.
pub fn code_and_text(reason: CloseReason) -> (u16, &'static str) {
    match reason {
        CloseReason::Done => (1000, ""),
        CloseReason::Idle => (1000, "idle timeout"),
        CloseReason::GoingAway => (1001, "server shutting down"),
        CloseReason::InvalidText => (1007, "invalid UTF-8"),
        CloseReason::SignedOut => (1008, "signed out"),
        CloseReason::TooSlow => (1008, "slow consumer"),
        CloseReason::RateLimited => (1008, "rate limit exceeded"),
        CloseReason::TooManyRefusals => (1008, "too many invalid messages"),
        CloseReason::TooLarge => (1009, "message too large"),
        CloseReason::ConversationCrashed => (1011, "conversation restarted; reconnect"),
        CloseReason::ConversationUnavailable => (1011, "conversation unavailable"),
        CloseReason::ConnectionCrashed => (1011, "connection error; reconnect"),
        // 1012, "service restart": the user's home is another machine now; reconnecting lands there.
        CloseReason::HomeMoved => (1012, "home moved; reconnect"),
        CloseReason::TokenExpired => (TOKEN_EXPIRED, "access token expired; reconnect with a fresh one"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_close_text_fits_a_control_frame() {
        // A close frame's payload is at most 125 bytes: the code (2) and the text.
        for reason in [
            CloseReason::Done,
            CloseReason::Idle,
            CloseReason::GoingAway,
            CloseReason::InvalidText,
            CloseReason::SignedOut,
            CloseReason::TooSlow,
            CloseReason::RateLimited,
            CloseReason::TooManyRefusals,
            CloseReason::TooLarge,
            CloseReason::ConversationCrashed,
            CloseReason::ConversationUnavailable,
            CloseReason::ConnectionCrashed,
            CloseReason::HomeMoved,
            CloseReason::TokenExpired,
        ] {
            let (code, text) = code_and_text(reason);
            assert!(text.len() <= 123, "{reason:?}");
            assert!((1000..=4999).contains(&code) && code != 1005 && code != 1006, "{reason:?}: {code}");
        }
    }
}
