-- Pages of finished stories written again on request (POST /stories/{id}/scenes/{n}/regenerate).
-- A redo waiting or in progress has no finished_at, and there is at most one per scene; the
-- story actor does them oldest first, and does again at start-up any a stopped process left.
-- Finished ones stay (they count against the per-day limit, and number the next take) until
-- their story is deleted.

CREATE TABLE scene_redos (
    id           TEXT PRIMARY KEY,
    story_id     TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    sequence     INTEGER NOT NULL,
    hint         TEXT,                    -- what the child asked to change, checked and redacted
    take         INTEGER NOT NULL,        -- 1 for a scene's first redo, 2 for its next…
    requested_at TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT                     -- redone | kept (the redo failed; the old page stayed)
);
CREATE UNIQUE INDEX scene_redos_in_progress ON scene_redos(story_id, sequence) WHERE finished_at IS NULL;
CREATE INDEX scene_redos_by_story ON scene_redos(story_id, requested_at);
