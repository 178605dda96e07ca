-- What a conversation actor kept of its event stream when it stopped normally (passivated, or
-- the server shut down gracefully). The user's next actor takes it back (the row is deleted),
-- so a client reconnecting with its `last_seq` still gets every event after it.

CREATE TABLE conversation_rings (
    user_id        TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    complete_after INTEGER NOT NULL,      -- every event after this seq is in `events`
    last_seq       INTEGER NOT NULL,      -- the latest seq given out
    events         TEXT NOT NULL,         -- JSON [[seq, "encoded frame"], ...], oldest first
    kept_at        TEXT NOT NULL
);
