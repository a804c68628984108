-- When an outbox entry was published to the event bus (NATS JetStream); NULL: not yet.
ALTER TABLE outbox ADD COLUMN published_at BIGINT NULL;

CREATE INDEX outbox_unpublished ON outbox (published_at, id);
