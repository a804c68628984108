-- The play process instance (`play.instance`) that holds a claim: set when the draw is claimed
-- or taken over, so that a restarted process re-drives its own draws at once instead of waiting
-- for their leases to expire. NULL for rows claimed before this column existed.
ALTER TABLE plays ADD COLUMN holder TEXT;
