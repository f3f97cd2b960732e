-- A request record's outcome in a column of its own, so that a channel's
-- overview (`…/stats`: the last hour by minute and outcome) is counted from
-- one index alone, without reading and parsing every record's JSON summary.
-- The index replaces inbound_requests_by_channel: its first keys are the
-- same, so the request list still reads a channel's records newest first
-- from it.
--
-- Records kept before this migration are not rewritten (that would write
-- every row of the log once more, in one long statement): they keep the
-- column empty, have a small index of their own, and are counted from their
-- summaries, as before, until they expire (REQUEST_LOG_TTL_S). So are any
-- that a worker older than this migration writes between it and the deploy.
ALTER TABLE inbound_requests ADD COLUMN outcome TEXT;
CREATE INDEX IF NOT EXISTS inbound_requests_by_channel_outcome
  ON inbound_requests (channel_id, received_at_ms, expires_at_ms, outcome);
CREATE INDEX IF NOT EXISTS inbound_requests_without_outcome
  ON inbound_requests (channel_id, received_at_ms) WHERE outcome IS NULL;
DROP INDEX IF EXISTS inbound_requests_by_channel;
