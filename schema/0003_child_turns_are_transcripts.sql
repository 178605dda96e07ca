-- What a child says is one row: their conversation turn, which is also their transcript (it
-- was stored twice, as a turn and as a transcript, and each row sat in the user's own index
-- pages, so every message rewrote more of the database than it added). `transcripts` keeps
-- what the app posts itself (`POST /conversation/{user_id}/transcripts`).

ALTER TABLE conversation_turns ADD COLUMN transcript_id TEXT;  -- a child's turn: its id in the history
ALTER TABLE conversation_turns ADD COLUMN requirements TEXT;   -- a child's turn: what was understood (JSON)

-- Each child's turn takes over the transcript written with it (same user, words and instant).
UPDATE conversation_turns
SET (transcript_id, requirements) = (
    SELECT t.id, t.requirements FROM transcripts t
    WHERE t.user_id = conversation_turns.user_id AND t.text = conversation_turns.content
      AND t.created_at = conversation_turns.created_at
    ORDER BY t.rowid LIMIT 1)
WHERE speaker = 'child';
DELETE FROM transcripts WHERE id IN (SELECT transcript_id FROM conversation_turns WHERE transcript_id IS NOT NULL);
-- A child's turn without one (none are expected) gets a new random (v4) UUID.
UPDATE conversation_turns
SET transcript_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89ab', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))
WHERE speaker = 'child' AND transcript_id IS NULL;

-- The newest turns are at the end of each user's range (a descending key inserted every turn
-- at the start of the range, splitting pages far more often); the conversation is not in the
-- key, which keeps entries small: a user's latest turns are their current conversation's.
DROP INDEX conversation_turns_recent;
CREATE INDEX conversation_turns_by_user ON conversation_turns(user_id, id);
