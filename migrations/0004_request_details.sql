-- The request log keeps each request's payload (query, headers, body
-- excerpt; redacted) apart from the summary the list shows, and, for async
-- runs, the key under which the process's result is kept when it reports
-- one. Rows written before have neither (the detail shows `request: null`).
ALTER TABLE inbound_requests ADD COLUMN detail TEXT;
ALTER TABLE inbound_requests ADD COLUMN result_key TEXT;

-- Async runs' results, by the hash of their request id
-- (core::request_log::result_key): written by the callback route whenever
-- it comes, before or after the request's record, kept REQUEST_LOG_TTL_S
-- and deleted by the cron with the records.
CREATE TABLE IF NOT EXISTS inbound_results (
  result_key    TEXT PRIMARY KEY,
  expires_at_ms INTEGER NOT NULL,
  doc           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbound_results_by_expiry
  ON inbound_results (expires_at_ms);
