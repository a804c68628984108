-- The key of the prize picture was written with every result and never read: a picture's key is
-- derived from the customer id (`<id>.jpg`). Should a key per attempt be needed one day (see
-- docs/adr/0002), it will come back as a column that is read.
ALTER TABLE plays DROP COLUMN picture_key;
