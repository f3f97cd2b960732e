-- Integration channels (Oktell Studio's integration_points). The entity is
-- kept whole as JSON in `doc`; the keys that are looked up or must be unique
-- are columns of their own.
CREATE TABLE IF NOT EXISTS channels (
  id          TEXT PRIMARY KEY,
  code        TEXT NOT NULL UNIQUE,
  token_local TEXT NOT NULL UNIQUE,
  doc         TEXT NOT NULL
);

-- Every inbound webhook request, sync or async, newest first per channel;
-- rows past `expires_at_ms` are left out of listings and deleted by the cron
-- trigger (the `scheduled` handler), once a minute.
CREATE TABLE IF NOT EXISTS inbound_requests (
  id             TEXT PRIMARY KEY,
  channel_id     TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  expires_at_ms  INTEGER NOT NULL,
  doc            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbound_requests_by_channel
  ON inbound_requests (channel_id, received_at_ms DESC);
CREATE INDEX IF NOT EXISTS inbound_requests_by_expiry
  ON inbound_requests (expires_at_ms);
