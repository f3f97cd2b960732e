//! Outbound deliveries: the machinery behind the send routes and webhook
//! subscriptions. D1 is the source of truth; a queue message only says
//! "attempt delivery X at generation G", and a message of an older
//! generation is dropped, so a delivery is never attempted by two messages
//! at once.
//!
//! - [`queue_new`] stores a delivery and queues its first attempt;
//! - [`attempt`] makes one HTTP attempt;
//! - [`consumer`] takes queue messages, attempts and records them;
//! - [`sweeper`] re-queues deliveries whose message was lost.

pub mod attempt;
pub mod consumer;
pub mod first;
pub mod sweeper;

use crate::http;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::control::Controls;
use syncbridge_core::outbound::Delivery;
use worker::{Env, MessageBuilder, Result};

/// The queue message: attempt this delivery, if it is still at this generation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueMsg {
    pub delivery_id: String,
    pub generation: u64,
}

/// Queues an attempt of delivery `id` at `generation`, `delay_s` from now.
pub async fn enqueue(env: &Env, id: &str, generation: u64, delay_s: u32) -> Result<()> {
    let msg = QueueMsg {
        delivery_id: id.to_string(),
        generation,
    };
    crate::env::callbacks(env)?
        .send(MessageBuilder::new(msg).delay_seconds(delay_s).build())
        .await
}

/// Queues an attempt, logging a failure instead of returning it: the
/// delivery is already stored as due, so the sweeper sends it.
pub async fn enqueue_or_log(env: &Env, id: &str, generation: u64) {
    if let Err(e) = enqueue(env, id, generation, 0).await {
        http::log_error(&[
            ("log", http::Field::Str("enqueue_failed")),
            ("delivery", http::Field::Str(id)),
            ("error", http::Field::Str(&e.to_string())),
        ]);
    }
}

/// Stores a new delivery and queues its first attempt (the sweeper sends it
/// if queueing fails).
pub async fn queue_new(
    env: &Env,
    store: &Store,
    d: &Delivery,
    now: u64,
) -> std::result::Result<(), RestError> {
    store.insert_delivery(d, now).await?;
    enqueue_or_log(env, &d.id, 1).await;
    Ok(())
}

/// Hands delivery `id`, just written at `generation` and due now, to what
/// drives it: the channel's owner (`Destination`) when the channel uses
/// delivery controls, else the queue. Failures are logged: the sweeper
/// re-queues an overdue delivery, and wakes the owner of an owned one.
pub async fn schedule(env: &Env, channel: &Channel, id: &str, generation: u64) {
    if Controls::of(channel.opts.callback.as_ref()).is_none() {
        return enqueue_or_log(env, id, generation).await;
    }
    if let Err(e) = crate::clients::destination::wake(env, &channel.id).await {
        http::log_error(&[
            ("log", http::Field::Str("wake_failed")),
            ("delivery", http::Field::Str(id)),
            ("error", http::Field::Str(&e.to_string())),
        ]);
    }
}

/// The channel's signing secret (empty: deliveries go unsigned).
pub fn signing_secret(channel: &Channel) -> String {
    channel
        .opts
        .callback
        .as_ref()
        .map(|c| c.signing_secret.clone())
        .unwrap_or_default()
}
