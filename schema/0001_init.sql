-- Users, refresh tokens, stories, scenes, conversation transcripts, idempotency keys.
-- Timestamps are RFC 3339 UTC with milliseconds (fixed width, so they sort as text).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- Only the SHA-256 of a refresh token is stored. A token is used once (rotation);
-- presenting a used token revokes its whole family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,          -- unix seconds
    used_at    INTEGER,                   -- set when rotated
    revoked_at INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE stories (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title       TEXT,                     -- as requested; NULL lets the storyteller choose
    prompt      TEXT NOT NULL,
    style       TEXT NOT NULL,
    num_scenes  INTEGER NOT NULL,
    age         INTEGER NOT NULL,
    language    TEXT NOT NULL,
    status      TEXT NOT NULL,            -- pending | processing | completed | failed
    stage       TEXT NOT NULL,            -- queued | planning | writing | … | done | failed
    error       TEXT,
    plan        TEXT,                     -- JSON StoryPlan, the checkpoint of planning
    cover_key   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX stories_by_user ON stories(user_id, created_at DESC, id DESC);
CREATE INDEX stories_unfinished ON stories(status) WHERE status IN ('pending', 'processing');

-- A scene row exists only once its text (and, later, media) is complete.
CREATE TABLE scenes (
    id         TEXT PRIMARY KEY,
    story_id   TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    sequence   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    image_key  TEXT,
    audio_key  TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (story_id, sequence)
);

CREATE TABLE transcripts (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    text         TEXT NOT NULL,
    requirements TEXT,                    -- JSON
    created_at   TEXT NOT NULL
);
CREATE INDEX transcripts_by_user ON transcripts(user_id, created_at DESC);

-- POST /stories/ with an Idempotency-Key: the same key and body give the same story.
CREATE TABLE idempotency_keys (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    story_id     TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
