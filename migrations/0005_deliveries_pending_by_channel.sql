-- A channel's pending deliveries in send order (rowid), for the owner of a
-- channel with delivery controls (FIFO, throttle, circuit breaker): an index
-- entry holds the rowid after its keys, so this reads them in order.
CREATE INDEX IF NOT EXISTS deliveries_pending_by_channel
  ON deliveries (channel_id, state);
