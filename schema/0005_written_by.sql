-- Who wrote each story: its plan and each scene, by the language model (`model`) or the
-- offline storyteller (`offline`). NULL for what was written before this was recorded.

ALTER TABLE stories ADD COLUMN planned_by TEXT;  -- model | offline
ALTER TABLE scenes ADD COLUMN written_by TEXT;   -- model | offline
