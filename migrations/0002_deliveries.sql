-- Outbound callback deliveries. D1 is the source of truth: a queue message
-- only says "attempt delivery <id> (generation <g>) now". A message whose
-- generation is not the row's current one is stale and is dropped, so a
-- re-enqueued delivery is never attempted twice at once.
CREATE TABLE IF NOT EXISTS deliveries (
  id                 TEXT PRIMARY KEY,
  channel_id         TEXT NOT NULL,
  idempotency_key    TEXT,
  state              TEXT NOT NULL,
  generation         INTEGER NOT NULL,
  next_attempt_at_ms INTEGER NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  doc                TEXT NOT NULL,
  UNIQUE (channel_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS deliveries_by_channel
  ON deliveries (channel_id, created_at_ms DESC);
CREATE INDEX IF NOT EXISTS deliveries_due
  ON deliveries (state, next_attempt_at_ms);
