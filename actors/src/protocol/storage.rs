//! How a storage failure is told to clients: one code per kind, the same over HTTP (the edge's
//! `ApiError` reads it from here) and in a WebSocket `error` event.

use super::ServerEvent;
use crate::ports::StoreErrorKind;

/// The `error.code` a storage failure of this kind is reported with.
pub fn storage_error_code(kind: StoreErrorKind) -> &'static str {
    match kind {
        StoreErrorKind::NotFound => "not_found",
        // Fenced: this machine is no longer the user's home; the app reconnects to the new one.
        StoreErrorKind::Full | StoreErrorKind::Unavailable | StoreErrorKind::Fenced => "unavailable",
        StoreErrorKind::Busy => "busy",
        // A valid token of an account deleted since: sign in again.
        StoreErrorKind::ReferenceGone => "unauthorized",
        StoreErrorKind::Conflict => "conflict",
        StoreErrorKind::Corrupt | StoreErrorKind::Other => "internal",
    }
}

impl ServerEvent {
    /// A child's message that could not be stored, and so was not answered.
    pub fn not_saved(kind: StoreErrorKind) -> Self {
        let message = match kind {
            StoreErrorKind::ReferenceGone => "This account no longer exists.",
            _ if kind.is_transient() || kind == StoreErrorKind::Fenced => {
                "Your message could not be saved; please send it again in a moment."
            }
            _ => "Your message could not be saved.",
        };
        Self::Error { code: storage_error_code(kind).to_owned(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message refused because another machine became the user's home is sent again to it
    /// (the socket closes with 1012 right after, and the app reconnects there).
    #[test]
    fn the_event_carries_the_kinds_code_and_only_waiting_is_asked_to_resend() {
        use StoreErrorKind::*;
        let resend = "Your message could not be saved; please send it again in a moment.";
        for kind in [NotFound, Full, Unavailable, Busy, ReferenceGone, Conflict, Corrupt, Fenced, Other] {
            let ServerEvent::Error { code, message } = ServerEvent::not_saved(kind) else { unreachable!() };
            assert_eq!(code, storage_error_code(kind));
            assert_eq!(message == resend, kind.is_transient() || kind == Fenced, "{kind:?}: {message}");
        }
        let codes = [Full, Unavailable, Busy, ReferenceGone, Other].map(storage_error_code);
        assert_eq!(codes, ["unavailable", "unavailable", "busy", "unauthorized", "internal"]);
    }
}
