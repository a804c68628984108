-- Prizes: a draw may end with "no prize" (state `no_prize`, not a win: no outbox entry), the
-- name the prize catalog gives a prize is recorded with the result (`prize_name`), and the stock
-- of limited prizes is enforced here, in the transaction that records a win (`prize_stock`).

ALTER TABLE plays DROP CONSTRAINT plays_state;
ALTER TABLE plays ADD CONSTRAINT plays_state
    CHECK (state IN ('drawing', 'won', 'no_prize', 'failed'));
ALTER TABLE plays ADD COLUMN prize_name VARCHAR(255) NULL;
CREATE INDEX plays_state_prize ON plays (state, prize);

-- One row per prize of the catalog, kept in step with it by every play process at start-up.
-- `won` counts the wins recorded since the row exists (seeded from `plays` when it is
-- created); a win is recorded only while `stock` is NULL (unlimited) or `won < stock`.
CREATE TABLE IF NOT EXISTS prize_stock (
    prize       VARCHAR(255) NOT NULL,                -- the picture file name W answers
    name        VARCHAR(255) NULL,                    -- the catalog's name of the prize
    stock       BIGINT       NULL,                    -- NULL: unlimited
    won         BIGINT       NOT NULL DEFAULT 0,
    updated_at  BIGINT       NOT NULL,
    PRIMARY KEY (prize)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
