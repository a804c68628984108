-- The lottery database: one row per customer who asked to play, and the outbox of
-- notifications written in the same transaction as the result. Times are Unix milliseconds (UTC).

CREATE TABLE IF NOT EXISTS plays (
    customer_id   BIGINT       NOT NULL,              -- one draw per customer, ever
    state         VARCHAR(16)  NOT NULL,
    claim_token   VARCHAR(64)  NOT NULL,              -- fences the holder of the claim
    lease_until   BIGINT       NOT NULL,              -- a drawing claim past this is re-driven
    attempts      INT          NOT NULL DEFAULT 1,
    requested_at  BIGINT       NOT NULL,
    played_at     BIGINT       NULL,
    prize         VARCHAR(255) NULL,
    picture_key   VARCHAR(255) NULL,
    firstname     VARCHAR(255) NOT NULL,              -- customer as seen when they played
    lastname      VARCHAR(255) NOT NULL,
    email         VARCHAR(255) NOT NULL,
    last_error    TEXT         NULL,
    updated_at    BIGINT       NOT NULL,
    PRIMARY KEY (customer_id),
    KEY plays_state_lease (state, lease_until),
    CONSTRAINT plays_state CHECK (state IN ('drawing', 'won', 'failed'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS outbox (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    kind            VARCHAR(32)  NOT NULL,
    customer_id     BIGINT       NOT NULL,
    payload         TEXT         NOT NULL,            -- JSON
    created_at      BIGINT       NOT NULL,
    next_attempt_at BIGINT       NOT NULL,
    attempts        INT          NOT NULL DEFAULT 0,
    lease_owner     VARCHAR(64)  NULL,
    lease_until     BIGINT       NULL,
    delivered_at    BIGINT       NULL,
    last_error      TEXT         NULL,
    PRIMARY KEY (id),
    UNIQUE KEY outbox_one_per_winner (kind, customer_id),   -- one notification per winner
    KEY outbox_due (delivered_at, next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
