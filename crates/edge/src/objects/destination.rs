//! The destination Durable Object: one per channel whose callbacks use
//! delivery controls (`ordering: "fifo"`, `max_per_s`, `disable_after`,
//! `disable_after_s`), the serialising owner of its deliveries. D1 stays
//! the source of truth (the channel's pending rows, in send order); the
//! object keeps the destination's state (the breaker, the throttle's next
//! slot) and drives the attempts from its alarm, one run at a time, as
//! `core::outbound::control` decides: FIFO one at a time, otherwise every
//! due one at its throttle slot; none while disabled.
//!
//! Nothing is lost: the alarm is set before each run's work (a run that
//! dies is run again), every send, resend and queue message for the channel
//! wakes it, and the sweeper wakes the owner of every channel with pending
//! deliveries each minute.

use crate::clients::destination::{ENABLE, STATE, WAKE};
use crate::clock::now_ms;
use crate::ctx::Ctx;
use crate::http;
use crate::outbound::consumer::{attempt_and_record, Mode, Recorded};
use crate::outbound::enqueue_or_log;
use serde::Deserialize;
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::time::Duration;
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::eventing;
use syncbridge_core::outbound::control::{self, Controls, DestinationState, Pick, Waiting};
use syncbridge_core::outbound::{lease, Delivery};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State};

/// Storage keys: the destination's state, and the channel it serves.
const STATE_KEY: &str = "state";
const CHANNEL_KEY: &str = "channel";
/// Longest one alarm run works before it hands over to the next.
const RUN_BUDGET_MS: u64 = 20_000;
/// Most pending deliveries read at once (unordered).
const BATCH: u64 = 100;
/// Seconds of throttle slots one wave of attempts takes, at most.
const WAVE_S: usize = 5;
/// Most pending deliveries handed back to the queue in one run.
const HAND_BACK: u64 = 1000;

#[derive(Deserialize)]
struct ChannelRef {
    channel_id: String,
}

#[durable_object]
pub struct Destination {
    state: State,
    env: Env,
    /// Woken while a run was under way: the run looks again before it ends.
    woken: Cell<bool>,
    /// The destination's state, once read.
    dest: RefCell<Option<DestinationState>>,
    /// When the latest attempt started (the throttle's spacing).
    last_start: Cell<Option<u64>>,
}

impl DurableObject for Destination {
    fn new(state: State, env: Env) -> Self {
        Destination {
            state,
            env,
            woken: Cell::new(false),
            dest: RefCell::new(None),
            last_start: Cell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match req.path().as_str() {
            WAKE => {
                let c: ChannelRef = crate::http::request_json(&req).await?;
                self.remember(&c.channel_id).await?;
                self.woken.set(true);
                if !self.load().await?.is_disabled() {
                    self.wake_at(now_ms()).await?;
                }
                Response::from_json(&json!({"ok": true}))
            }
            STATE => Response::from_json(&self.load().await?),
            ENABLE => {
                let c: ChannelRef = crate::http::request_json(&req).await?;
                self.remember(&c.channel_id).await?;
                let mut s = self.load().await?;
                s.enable();
                self.save(&s).await?;
                self.woken.set(true);
                self.wake_at(now_ms()).await?;
                Response::from_json(&s)
            }
            _ => Response::error("unknown destination operation", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = self.run().await {
            http::log_error(&[
                ("log", http::Field::Str("destination_error")),
                ("error", http::Field::Str(&e.error_message)),
            ]);
            // Try again shortly: the alarm set at the run's start stands.
        }
        Response::empty()
    }
}

impl Destination {
    async fn remember(&self, channel_id: &str) -> Result<()> {
        let storage = self.state.storage();
        if storage.get::<String>(CHANNEL_KEY).await?.is_none() {
            storage.put(CHANNEL_KEY, channel_id).await?;
        }
        Ok(())
    }

    async fn load(&self) -> Result<DestinationState> {
        if let Some(s) = self.dest.borrow().clone() {
            return Ok(s);
        }
        let s = self
            .state
            .storage()
            .get::<DestinationState>(STATE_KEY)
            .await?
            .unwrap_or_default();
        *self.dest.borrow_mut() = Some(s.clone());
        Ok(s)
    }

    async fn save(&self, s: &DestinationState) -> Result<()> {
        *self.dest.borrow_mut() = Some(s.clone());
        self.state.storage().put(STATE_KEY, s).await
    }

    /// Sets the alarm to `at_ms` unless one is due sooner.
    async fn wake_at(&self, at_ms: u64) -> Result<()> {
        let storage = self.state.storage();
        let at = at_ms as i64;
        match storage.get_alarm().await? {
            Some(current) if current <= at => Ok(()),
            _ => storage.set_alarm(at_time(at_ms)).await,
        }
    }

    /// One alarm run: attempts what is due, until nothing is, the budget is
    /// spent, or the destination is disabled.
    async fn run(&self) -> std::result::Result<(), RestError> {
        let started = now_ms();
        let storage = self.state.storage();
        let Some(channel_id) = storage.get::<String>(CHANNEL_KEY).await.map_err(fail)? else {
            return Ok(());
        };
        // Should this run die, the next one comes after the longest attempt.
        let ctx = Ctx::new(self.env.clone()).map_err(|e| RestError::new(500, e.description))?;
        let guard = lease::lease_until_ms(started, &ctx.settings);
        storage.set_alarm(at_time(guard)).await.map_err(fail)?;
        let store = ctx.store()?;
        loop {
            self.woken.set(false);
            let Some(channel) = store.channel(&channel_id).await? else {
                return self.idle().await; // deleted, with its deliveries
            };
            let Some(controls) = Controls::of(channel.opts.callback.as_ref()) else {
                return self.hand_back(&ctx, &channel).await;
            };
            let mut dest = self.load().await.map_err(fail)?;
            if dest.is_disabled() {
                return self.idle().await;
            }
            let limit = if controls.fifo { 1 } else { BATCH };
            let pending = store.pending_in_order(&channel.id, limit).await?;
            let waiting: Vec<Waiting> = pending
                .iter()
                .map(|(d, _)| Waiting {
                    due_ms: d.next_attempt_at_ms.unwrap_or(0),
                })
                .collect();
            let now = now_ms();
            // Throttled: a wave of up to WAVE_S seconds of slots, so that the
            // pause between waves (the last attempt's record, the next
            // read) is a small part of each; unthrottled: all that is due.
            let batch = match controls.max_per_s {
                0 => BATCH as usize,
                n => (n as usize * WAVE_S).clamp(1, BATCH as usize),
            };
            match control::pick(&controls, &waiting, now, batch) {
                Pick::Idle if self.woken.get() => continue,
                Pick::Idle => return self.idle().await,
                Pick::WaitUntil(at) => {
                    if self.woken.get() {
                        continue;
                    }
                    storage.set_alarm(at_time(at)).await.map_err(fail)?;
                    return Ok(());
                }
                Pick::Attempt(which) => {
                    let mut jobs = Vec::with_capacity(which.len());
                    for i in which {
                        let slot = dest.take_slot(&controls, now);
                        let (d, generation) = pending[i].clone();
                        jobs.push(self.attempt_at(&ctx, &channel, d, generation, &controls, slot));
                    }
                    self.save(&dest).await.map_err(fail)?;
                    let outcomes = futures_util::future::join_all(jobs).await;
                    let mut dest = self.load().await.map_err(fail)?;
                    let mut disabled = false;
                    for outcome in outcomes {
                        match outcome {
                            Ok(Some(failed)) => {
                                disabled |= dest.record(&controls, failed, now_ms());
                            }
                            Ok(None) => {}
                            Err(e) => http::log_error(&[
                                ("log", http::Field::Str("destination_error")),
                                ("error", http::Field::Str(&e.error_message)),
                            ]),
                        }
                    }
                    self.save(&dest).await.map_err(fail)?;
                    if disabled {
                        let data = json!({
                            "failures": dest.failures,
                            "disabled_by": dest.disabled_by,
                            "disabled_at_ms": dest.disabled_at_ms,
                        });
                        crate::gateway_events::publish(
                            &ctx.env,
                            &channel,
                            eventing::DESTINATION_DISABLED,
                            data,
                        )
                        .await;
                        return self.idle().await;
                    }
                }
            }
            if now_ms().saturating_sub(started) > RUN_BUDGET_MS {
                storage.set_alarm(at_time(now_ms())).await.map_err(fail)?;
                return Ok(());
            }
        }
    }

    /// Waits for its throttle slot (and the spacing after the previous
    /// start), then attempts `d` and records it. The
    /// attempt's outcome for the breaker: Some(failed), or None when no
    /// attempt was made (the row changed meanwhile).
    async fn attempt_at(
        &self,
        ctx: &Ctx,
        channel: &Channel,
        mut d: Delivery,
        generation: u64,
        controls: &Controls,
        slot_ms: u64,
    ) -> std::result::Result<Option<bool>, RestError> {
        loop {
            let now = now_ms();
            let wait = control::wait_before_start(controls, self.last_start.get(), slot_ms, now);
            if wait == 0 {
                self.last_start.set(Some(now));
                break;
            }
            worker::Delay::from(Duration::from_millis(wait)).await;
        }
        Ok(
            match attempt_and_record(ctx, channel, &mut d, generation, Mode::Owner).await? {
                Recorded::Finished => {
                    Some(d.state != syncbridge_core::outbound::DeliveryState::Delivered)
                }
                Recorded::Retry(_) => Some(true),
                Recorded::Lost => None,
            },
        )
    }

    /// Nothing to do until woken.
    async fn idle(&self) -> std::result::Result<(), RestError> {
        if self.woken.get() {
            // Woken meanwhile: look again at once.
            return self
                .state
                .storage()
                .set_alarm(at_time(now_ms()))
                .await
                .map_err(fail);
        }
        self.state.storage().delete_alarm().await.map_err(fail)
    }

    /// The channel no longer uses controls: its pending deliveries go back
    /// to the plain queue path, each under a new generation, due now (one
    /// pass; should more remain, the sweeper wakes this object again).
    async fn hand_back(&self, ctx: &Ctx, channel: &Channel) -> std::result::Result<(), RestError> {
        let store = ctx.store()?;
        let now = now_ms();
        for (d, generation) in store.pending_in_order(&channel.id, HAND_BACK).await? {
            if store
                .update_delivery(&d, generation, generation + 1, now)
                .await?
            {
                enqueue_or_log(&ctx.env, &d.id, generation + 1).await;
            }
        }
        self.idle().await
    }
}

/// The alarm time of Unix ms `ms` (a bare number would be an offset).
fn at_time(ms: u64) -> ScheduledTime {
    ScheduledTime::new(worker::js_sys::Date::new(&(ms as f64).into()))
}

fn fail(e: worker::Error) -> RestError {
    crate::http::internal(e)
}
