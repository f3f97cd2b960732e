//! The first attempt a send makes itself, right after answering (in
//! `wait_until`), with a delayed queue message as its safety net: see
//! `core::outbound::lease::FirstAttempt`.

use super::consumer::{attempt_and_record, Mode, Recorded};
use super::enqueue;
use crate::ctx::Ctx;
use crate::http;
use syncbridge_core::channel::Channel;
use syncbridge_core::outbound::lease::FirstAttempt;
use syncbridge_core::outbound::Delivery;

/// Attempts `d` (stored at generation 1, leased as `plan` says) and records
/// it; queues the safety net meanwhile, and the retry (generation 2) when
/// the attempt calls for one. Failures are logged; an attempt that could
/// not be recorded is queued again at once (generation 1); when queueing
/// fails too, the safety net or the sweeper makes the attempt.
pub async fn attempt_now(ctx: Ctx, channel: Channel, mut d: Delivery, plan: FirstAttempt) {
    let id = d.id.clone();
    let net = enqueue(&ctx.env, &id, 1, plan.safety_net_delay_s);
    let run = attempt_and_record(&ctx, &channel, &mut d, 1, Mode::Send);
    let (net, run) = futures_util::future::join(net, run).await;
    if let Err(e) = net {
        http::log_error(&[
            ("log", http::Field::Str("enqueue_failed")),
            ("delivery", http::Field::Str(&id)),
            ("error", http::Field::Str(&e.to_string())),
        ]);
    }
    match run {
        Ok(Recorded::Retry(delay_s)) => {
            let delay = delay_s.min(u64::from(u32::MAX)) as u32;
            if let Err(e) = enqueue(&ctx.env, &id, 2, delay).await {
                http::log_error(&[
                    ("log", http::Field::Str("enqueue_failed")),
                    ("delivery", http::Field::Str(&id)),
                    ("error", http::Field::Str(&e.to_string())),
                ]);
            }
        }
        Ok(Recorded::Finished | Recorded::Lost) => {}
        Err(e) => {
            // The attempt could not be recorded: the queue takes over now
            // (as when its consumer fails: retried, then dead-lettered),
            // rather than after the safety net's delay. The row is still
            // pending at generation 1, and this attempt is over.
            http::log_error(&[
                ("log", http::Field::Str("delivery_error")),
                ("delivery", http::Field::Str(&id)),
                ("error", http::Field::Str(&e.error_message)),
            ]);
            if let Err(e) = enqueue(&ctx.env, &id, 1, 0).await {
                http::log_error(&[
                    ("log", http::Field::Str("enqueue_failed")),
                    ("delivery", http::Field::Str(&id)),
                    ("error", http::Field::Str(&e.to_string())),
                ]);
            }
        }
    }
}
