-- The delivery log is newest first by the `created_at` each delivery shows,
-- ties broken by id (descending too). `created_at_ms` is now written from
-- `created_at` itself; rows written before took it from another reading of
-- the clock, a few milliseconds off, and are set from their `created_at`
-- here (julianday is exact to well under a millisecond for these dates).
UPDATE deliveries
SET created_at_ms = CAST(ROUND((julianday(json_extract(doc, '$.created_at')) - 2440587.5) * 86400000.0) AS INTEGER)
WHERE julianday(json_extract(doc, '$.created_at')) IS NOT NULL;
DROP INDEX IF EXISTS deliveries_by_channel;
CREATE INDEX IF NOT EXISTS deliveries_by_channel_newest
  ON deliveries (channel_id, created_at_ms DESC, id DESC);
