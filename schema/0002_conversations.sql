-- Conversations: the agent's draft per user (what rehydrates a passivated conversation actor)
-- and every turn of the conversation.

CREATE TABLE conversations (
    user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    draft           TEXT NOT NULL,        -- JSON Draft
    updated_at      TEXT NOT NULL
);

CREATE TABLE conversation_turns (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    speaker         TEXT NOT NULL,        -- child | agent
    content         TEXT NOT NULL,
    client_id       TEXT,                 -- the app's id for a child's message: resends count once
    created_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX conversation_turns_client_id ON conversation_turns(user_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX conversation_turns_recent ON conversation_turns(user_id, conversation_id, id DESC);
