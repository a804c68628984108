-- Prizes: a draw may end with "no prize" (state `no_prize`, not a win: no outbox entry), the
-- name the prize catalog gives a prize is recorded with the result (`prize_name`), and the stock
-- of limited prizes is enforced here, in the transaction that records a win (`prize_stock`).
--
-- SQLite cannot change a CHECK constraint in place: `plays` is rebuilt, every row copied.

CREATE TABLE plays_new (
    customer_id   INTEGER PRIMARY KEY NOT NULL,       -- one draw per customer, ever
    state         TEXT    NOT NULL
                  CHECK (state IN ('drawing', 'won', 'no_prize', 'failed')),
    claim_token   TEXT    NOT NULL,                   -- fences the holder of the claim
    lease_until   INTEGER NOT NULL,                   -- a drawing claim past this is re-driven
    attempts      INTEGER NOT NULL DEFAULT 1,
    requested_at  INTEGER NOT NULL,
    played_at     INTEGER,
    prize         TEXT,
    picture_key   TEXT,
    firstname     TEXT    NOT NULL,                   -- customer as seen when they played
    lastname      TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    last_error    TEXT,
    updated_at    INTEGER NOT NULL,
    holder        TEXT,
    failure       TEXT,
    prize_name    TEXT                                -- the catalog's name of the prize
);

INSERT INTO plays_new (customer_id, state, claim_token, lease_until, attempts, requested_at,
                       played_at, prize, picture_key, firstname, lastname, email, last_error,
                       updated_at, holder, failure)
SELECT customer_id, state, claim_token, lease_until, attempts, requested_at, played_at, prize,
       picture_key, firstname, lastname, email, last_error, updated_at, holder, failure
FROM plays;

DROP TABLE plays;
ALTER TABLE plays_new RENAME TO plays;
CREATE INDEX IF NOT EXISTS plays_state_lease ON plays (state, lease_until);
CREATE INDEX IF NOT EXISTS plays_state_prize ON plays (state, prize);

-- One row per prize of the catalog, kept in step with it by every play process at start-up.
-- `won` counts the wins recorded since the row exists (seeded from `plays` when it is
-- created); a win is recorded only while `stock` is NULL (unlimited) or `won < stock`.
CREATE TABLE IF NOT EXISTS prize_stock (
    prize       TEXT    PRIMARY KEY NOT NULL,         -- the picture file name W answers
    name        TEXT,                                 -- the catalog's name of the prize
    stock       INTEGER,                              -- NULL: unlimited
    won         INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);
