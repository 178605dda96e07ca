-- Who a story is about, where, and what the hero wants, as the child asked (JSON StoryCast):
-- the storytellers cast the story from it instead of reading the prompt again. Stories
-- stored before have NULL and are cast from their prompt when read.
ALTER TABLE stories ADD COLUMN story_cast TEXT;
