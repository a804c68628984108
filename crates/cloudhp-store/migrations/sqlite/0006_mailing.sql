-- The campaign mailing (`cloudhp campaign send`): one row per customer and campaign, the state
-- of their mail. A row is written `sending` before the mail is handed over and moved to `sent`,
-- `failed` (retried by the next run), `rejected` (a permanent refusal, never retried) or
-- `uncertain` (a run stopped between handing it to an SMTP relay and recording the answer).
-- Times are Unix milliseconds (UTC).
CREATE TABLE IF NOT EXISTS mailing (
    campaign    TEXT    NOT NULL,
    customer_id INTEGER NOT NULL,
    state       TEXT    NOT NULL
        CHECK (state IN ('sending', 'sent', 'failed', 'rejected', 'uncertain')),
    attempts    INTEGER NOT NULL DEFAULT 1,
    last_error  TEXT    NULL,
    updated_at  INTEGER NOT NULL,
    sent_at     INTEGER NULL,
    PRIMARY KEY (campaign, customer_id)
);
CREATE INDEX IF NOT EXISTS mailing_state ON mailing (campaign, state);
