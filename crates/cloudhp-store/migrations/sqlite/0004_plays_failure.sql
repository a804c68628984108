-- Why the last attempt of a draw failed, as a code (`w_timeout`, `w_failed`, `picture_failed`,
-- `picture_timeout`, `abandoned`), beside its text in `last_error`. NULL while a draw is in
-- progress or won, and for draws that failed before this column existed.
ALTER TABLE plays ADD COLUMN failure TEXT;
