//! The worker's bindings, named exactly as in `wrangler.toml`, and typed
//! access to them. No other module names a binding.

use worker::{D1Database, Env, Fetcher, ObjectNamespace, Queue, Result};

/// `[[durable_objects.bindings]]`: one `Rendezvous` object per request id.
pub const RENDEZVOUS: &str = "RENDEZVOUS";
/// `[[durable_objects.bindings]]`: one `ChannelHub` object per channel id.
pub const HUB: &str = "HUB";
/// `[[durable_objects.bindings]]`: one `ReplayGuard` object per Sync API
/// signature (`SIGNATURE_REPLAY_PROTECTION`).
pub const REPLAY_GUARD: &str = "REPLAY_GUARD";
/// `[[durable_objects.bindings]]`: one `Destination` object per channel
/// whose callbacks use delivery controls (FIFO, throttle, circuit breaker).
pub const DESTINATION: &str = "DESTINATION";
/// `[[d1_databases]]`: channels, the inbound request log, deliveries.
pub const DB: &str = "DB";
/// `[[queues.producers]]`: one message per delivery attempt.
pub const CALLBACKS: &str = "CALLBACKS";
/// The dead-letter queue of `CALLBACKS` (`dead_letter_queue`): a queue name,
/// not a binding; its consumer marks the delivery dead.
pub const CALLBACKS_DEAD_LETTER_QUEUE: &str = "syncbridge-callbacks-dlq";

/// `[assets]`: the static files of `build/public` (the OpenAPI document).
pub const ASSETS: &str = "ASSETS";

/// The static files.
pub fn assets(env: &Env) -> Result<Fetcher> {
    env.assets(ASSETS)
}

/// The rendezvous namespace.
pub fn rendezvous(env: &Env) -> Result<ObjectNamespace> {
    env.durable_object(RENDEZVOUS)
}

/// The channel hub namespace.
pub fn hub(env: &Env) -> Result<ObjectNamespace> {
    env.durable_object(HUB)
}

/// The replay guard namespace.
pub fn replay_guard(env: &Env) -> Result<ObjectNamespace> {
    env.durable_object(REPLAY_GUARD)
}

/// The destination namespace.
pub fn destination(env: &Env) -> Result<ObjectNamespace> {
    env.durable_object(DESTINATION)
}

/// The D1 database.
pub fn db(env: &Env) -> Result<D1Database> {
    env.d1(DB)
}

/// The delivery queue.
pub fn callbacks(env: &Env) -> Result<Queue> {
    env.queue(CALLBACKS)
}
