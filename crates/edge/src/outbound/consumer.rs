//! The queue consumer: for each message, the attempt it asks for (if its
//! delivery is still pending at the message's generation), recorded in D1;
//! for the dead-letter queue, the delivery marked dead.

use super::attempt::{attempt, AttemptResult};
use super::{signing_secret, QueueMsg};
use crate::clock::{now_iso, now_ms, random_unit};
use crate::ctx::Ctx;
use crate::http::{self, internal};
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::eventing;
use syncbridge_core::outbound::control::{self, Controls};
use syncbridge_core::outbound::{self, lease, Attempt, Delivery, Verdict};
use syncbridge_core::request_log;
use worker::{MessageBatch, MessageExt, QueueRetryOptionsBuilder, Result};

/// What to do with a queue message after processing it.
enum Next {
    Done,
    RetryIn(u64),
}

/// The queue consumer, for the delivery queue and its dead-letter queue.
pub async fn consume(batch: MessageBatch<QueueMsg>, ctx: Result<Ctx, RestError>) -> Result<()> {
    let dead_letters = batch.queue() == crate::env::CALLBACKS_DEAD_LETTER_QUEUE;
    let messages = batch.messages()?;
    let work = messages.iter().map(|m| {
        let ctx = &ctx;
        async move {
            let outcome = match ctx {
                Err(e) => Err(e.clone()),
                Ok(ctx) if dead_letters => bury(ctx, m.body()).await.map(|_| Next::Done),
                Ok(ctx) => attempt_delivery(ctx, m.body()).await,
            };
            match outcome {
                Ok(Next::Done) => m.ack(),
                Ok(Next::RetryIn(s)) => m.retry_with_options(
                    &QueueRetryOptionsBuilder::new()
                        .with_delay_seconds(s.min(u64::from(u32::MAX)) as u32)
                        .build(),
                ),
                Err(e) => {
                    http::log_error(&[
                        ("log", http::Field::Str("delivery_error")),
                        ("delivery", http::Field::Str(&m.body().delivery_id)),
                        ("error", http::Field::Str(&e.error_message)),
                    ]);
                    // The queue retries it; past max_retries it is dead-lettered.
                    m.retry();
                }
            }
        }
    });
    futures_util::future::join_all(work).await;
    Ok(())
}

/// Makes the attempt a message asks for and records it.
async fn attempt_delivery(ctx: &Ctx, msg: &QueueMsg) -> std::result::Result<Next, RestError> {
    let settings = &ctx.settings;
    let store = ctx.store()?;
    let Some((mut d, generation)) = store.delivery(&msg.delivery_id, None).await? else {
        return Ok(Next::Done); // deleted with its channel
    };
    if !lease::message_acts(&d, generation, msg.generation) {
        return Ok(Next::Done); // finished, or superseded by a newer message
    }
    let Some(channel) = store.channel(&d.channel_id).await? else {
        // Its channel was deleted after the send stored it: it goes as the
        // channel's other deliveries went (else the sweeper would find it
        // pending at every run).
        store.delete_orphan_delivery(&d.id).await?;
        return Ok(Next::Done);
    };
    if Controls::of(channel.opts.callback.as_ref()).is_some() {
        // Its owner drives it (FIFO, throttle, breaker): hand it over.
        crate::clients::destination::wake(&ctx.env, &channel.id)
            .await
            .map_err(internal)?;
        return Ok(Next::Done);
    }
    let now = now_ms();
    // Claim the attempt: the sweeper leaves it alone while it runs.
    let lease_until = lease::lease_until_ms(now, settings);
    if !store
        .update_delivery(&d, generation, generation, lease_until)
        .await?
    {
        return Ok(Next::Done);
    }
    Ok(
        match attempt_and_record(ctx, &channel, &mut d, generation, Mode::Queue).await? {
            Recorded::Retry(delay_s) => Next::RetryIn(delay_s),
            Recorded::Finished | Recorded::Lost => Next::Done,
        },
    )
}

/// Who makes an attempt, which decides how its record is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A queue message: at its generation; the message carries the retry.
    Queue,
    /// A send's own first attempt: a retry moves to the next generation
    /// (its own message), superseding the send's safety-net message.
    Send,
    /// The channel's owner (`Destination`): at its generation, the due
    /// column kept at `OWNED_MS` (the owner keeps the retry time).
    Owner,
}

/// What [`attempt_and_record`] did.
pub enum Recorded {
    /// The delivery is finished (delivered, failed or dead).
    Finished,
    /// It waits for another attempt in this many seconds.
    Retry(u64),
    /// The row changed meanwhile (a newer generation owns it): nothing written.
    Lost,
}

/// Makes one attempt of `d` (leased, read at `generation`) and records it
/// as `mode` says. Publishes `gateway.delivery.*` when it ends.
pub async fn attempt_and_record(
    ctx: &Ctx,
    channel: &Channel,
    d: &mut Delivery,
    generation: u64,
    mode: Mode,
) -> std::result::Result<Recorded, RestError> {
    let settings = &ctx.settings;
    let store = ctx.store()?;
    let n = d.policy_attempts() + 1;
    let (verdict, result) =
        match outbound::check_destination(&d.request.url, &settings.callback_allowed_hosts) {
            Err(e) => (
                Verdict::Stop,
                AttemptResult::not_sent(format!("not sent: {e}")),
            ),
            Ok(()) => {
                let r = attempt(
                    &d.request,
                    &signing_secret(channel),
                    &d.id,
                    settings.callback_timeout_s,
                )
                .await;
                let v = outbound::decide(
                    &d.retry,
                    n,
                    r.status,
                    r.retry_after.as_deref(),
                    now_ms() / 1000,
                    random_unit(),
                );
                (v, r)
            }
        };
    let attempt = Attempt {
        n: 0,
        at: now_iso(),
        status: result.status,
        latency_ms: result.latency_ms,
        response_excerpt: request_log::excerpt(&result.body),
        error: result.error.clone(),
    };
    let retry_in = d.record(attempt, &verdict, now_ms());
    let next_at = if mode == Mode::Owner && retry_in.is_some() {
        control::OWNED_MS
    } else {
        d.next_attempt_column()
    };
    let written = lease::retry_generation(generation, retry_in.is_some() && mode == Mode::Send);
    if !store
        .update_delivery(d, generation, written, next_at)
        .await?
    {
        return Ok(Recorded::Lost);
    }
    if let Some((kind, data)) = eventing::delivery_event(d) {
        crate::gateway_events::publish(&ctx.env, channel, kind, data).await;
    }
    Ok(retry_in.map_or(Recorded::Finished, Recorded::Retry))
}

/// A message the queue gave up on: its delivery is dead.
async fn bury(ctx: &Ctx, msg: &QueueMsg) -> std::result::Result<(), RestError> {
    let store = ctx.store()?;
    if let Some((mut d, generation)) = store.delivery(&msg.delivery_id, None).await? {
        if lease::dead_letter(&mut d, generation, msg.generation) {
            store.update_delivery(&d, generation, generation, 0).await?;
        }
    }
    Ok(())
}
