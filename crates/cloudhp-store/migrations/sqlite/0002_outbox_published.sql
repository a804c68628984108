-- When an outbox entry was published to the event bus (NATS JetStream); NULL: not yet.
ALTER TABLE outbox ADD COLUMN published_at INTEGER;

CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (published_at, id);
