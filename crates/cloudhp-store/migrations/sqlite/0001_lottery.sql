-- The lottery database: one row per customer who asked to play, and the outbox of
-- notifications written in the same transaction as the result. Times are Unix milliseconds (UTC).

CREATE TABLE IF NOT EXISTS plays (
    customer_id   INTEGER PRIMARY KEY NOT NULL,       -- one draw per customer, ever
    state         TEXT    NOT NULL CHECK (state IN ('drawing', 'won', 'failed')),
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
    updated_at    INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS plays_state_lease ON plays (state, lease_until);

CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    customer_id     INTEGER NOT NULL,
    payload         TEXT    NOT NULL,                 -- JSON
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     INTEGER,
    delivered_at    INTEGER,
    last_error      TEXT,
    UNIQUE (kind, customer_id)                        -- one notification per winner
);

CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_attempt_at);
