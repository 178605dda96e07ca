-- Each user's home: the one machine (and process) that holds their live state, i.e. their
-- conversation actor and story actors. A claim is a lease on the primary's clock. The epoch
-- grows with every new holder and fences each write of the user's live state, which goes
-- through only while `holder` and `epoch` are still the writer's. A released home keeps its
-- row (and epoch) with an empty holder.
CREATE TABLE homes (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    instance   TEXT NOT NULL,         -- the machine, as `fly-replay: instance=` names it
    holder     TEXT NOT NULL,         -- the process holding it; '' once released
    epoch      INTEGER NOT NULL,      -- +1 with every new holder: the fencing token
    expires_at INTEGER NOT NULL,      -- unix milliseconds, on the primary's clock
    taken_from TEXT                   -- the machine whose lapsed lease this claim took over
);
CREATE INDEX homes_by_holder ON homes(holder);
