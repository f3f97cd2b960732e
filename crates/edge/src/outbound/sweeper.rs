//! The cron sweeper: re-queues pending deliveries whose queue message was
//! lost (a local runtime keeps queue messages in memory only).

use super::enqueue;
use crate::clock::now_ms;
use crate::ctx::Ctx;
use crate::http::{self, internal};
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::{control, lease};

/// Most overdue deliveries one sweep re-enqueues.
const SWEEP_BATCH: u64 = 100;

/// The cron sweeper: re-enqueues pending deliveries overdue by more than
/// `CALLBACK_SWEEP_GRACE_S`, each under a new generation.
pub async fn sweep(ctx: &Ctx) -> std::result::Result<usize, RestError> {
    let settings = &ctx.settings;
    let store = ctx.store()?;
    let now = now_ms();
    let cutoff = lease::sweep_cutoff_ms(now, settings);
    // A claimed delivery is due again only after a lease, not at once: were
    // it due now, a queue slower than the grace would see it overdue again
    // and the sweeper would re-queue it every run (measured: ~14,000
    // re-queues for 300 deliveries after a restart).
    let lease = lease::lease_until_ms(now, settings);
    let overdue = store.overdue_deliveries(cutoff, SWEEP_BATCH).await?;
    let mut resumed = 0;
    for (id, generation) in overdue {
        if store
            .bump_generation(&id, generation, cutoff, lease)
            .await?
        {
            enqueue(&ctx.env, &id, generation + 1, 0)
                .await
                .map_err(internal)?;
            resumed += 1;
        }
    }
    // Owners of channels with controls drive their own deliveries: wake
    // each one that has any pending (a lost wake-up is caught here).
    for channel_id in store.owned_channels(control::OWNED_MS, SWEEP_BATCH).await? {
        if let Err(e) = crate::clients::destination::wake(&ctx.env, &channel_id).await {
            http::log_error(&[
                ("log", http::Field::Str("wake_failed")),
                ("channel", http::Field::Str(&channel_id)),
                ("error", http::Field::Str(&e.to_string())),
            ]);
        }
    }
    if resumed > 0 {
        http::log_info(&[
            ("log", http::Field::Str("sweep")),
            ("resumed", http::Field::Num(resumed as u64)),
        ]);
    }
    Ok(resumed)
}
