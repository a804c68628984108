-- The campaign mailing (`cloudhp campaign send`): one row per customer and campaign, the state
-- of their mail. A row is written `sending` before the mail is handed over and moved to `sent`,
-- `failed` (retried by the next run), `rejected` (a permanent refusal, never retried) or
-- `uncertain` (a run stopped between handing it to an SMTP relay and recording the answer).
-- Times are Unix milliseconds (UTC).
CREATE TABLE IF NOT EXISTS mailing (
    campaign    VARCHAR(64) NOT NULL,
    customer_id BIGINT      NOT NULL,
    state       VARCHAR(16) NOT NULL,
    attempts    INT         NOT NULL DEFAULT 1,
    last_error  TEXT        NULL,
    updated_at  BIGINT      NOT NULL,
    sent_at     BIGINT      NULL,
    PRIMARY KEY (campaign, customer_id),
    KEY mailing_state (campaign, state),
    CONSTRAINT mailing_states CHECK (state IN ('sending', 'sent', 'failed', 'rejected', 'uncertain'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
