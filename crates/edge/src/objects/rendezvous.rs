//! The rendezvous Durable Object: one instance per request id.
//!
//! `/run` parks the caller: it registers an in-memory waiter, then forwards
//! the task to the engine, then waits for the callback or the deadline. The
//! waiter exists before the engine hears of the task, so a process that
//! calls back before the engine's create reply still reaches the caller.
//!
//! `/callback` stores the first result durably (until an alarm deletes it)
//! and wakes the waiter if one is parked; later callbacks change nothing.
//! Storing every result, not only late ones, is what makes a result survive
//! a caller that went away and lets duplicates be recognised.

use crate::clients::rendezvous::{
    CallbackReply, CallbackRequest, ParkRequest, CALLBACK, PARK, RESULT,
};
use crate::clock::now_ms;
use crate::process;
use futures_channel::oneshot;
use futures_util::{select_biased, FutureExt};
use serde_json::Value;
use std::cell::RefCell;
use std::time::Duration;
use syncbridge_core::callback::{self, Decision, StoredResult};
use syncbridge_core::engine::EngineReply;
use syncbridge_core::sync_api::OpOutcome;
use worker::{durable_object, Delay, DurableObject, Env, Request, Response, Result, State};

/// Storage key of the result.
const RESULT_KEY: &str = "result";

#[durable_object]
pub struct Rendezvous {
    state: State,
    waiter: RefCell<Option<oneshot::Sender<Value>>>,
}

impl DurableObject for Rendezvous {
    fn new(state: State, _env: Env) -> Self {
        Rendezvous {
            state,
            waiter: RefCell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let path = req.path();
        match path.as_str() {
            PARK => {
                let park: ParkRequest = crate::http::request_json(&req).await?;
                let outcome = self.park(park).await;
                Response::from_json(&outcome)
            }
            CALLBACK => {
                let callback: CallbackRequest = crate::http::request_json(&req).await?;
                let (duplicate, woke) = self.take_callback(callback).await?;
                Response::from_json(&CallbackReply { duplicate, woke })
            }
            RESULT => match self.stored().await? {
                Some(r) => Response::from_json(&r),
                None => Response::error("no result", 404),
            },
            _ => Response::error("unknown rendezvous operation", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}

impl Rendezvous {
    async fn stored(&self) -> Result<Option<StoredResult>> {
        match self.state.storage().get::<String>(RESULT_KEY).await? {
            Some(s) => Ok(Some(serde_json::from_slice(s.as_bytes())?)),
            None => Ok(None),
        }
    }

    async fn park(&self, park: ParkRequest) -> OpOutcome {
        let (tx, rx) = oneshot::channel();
        // Registered before the engine hears of the task.
        *self.waiter.borrow_mut() = Some(tx);
        let outcome = self.wait(park, rx).await;
        // Whatever ended the wait, the waiter goes with it.
        self.waiter.borrow_mut().take();
        outcome
    }

    async fn wait(&self, park: ParkRequest, rx: oneshot::Receiver<Value>) -> OpOutcome {
        let mut rx = rx.fuse();
        let mut deadline = Delay::from(Duration::from_millis(park.wait_ms)).fuse();
        let mut create = Box::pin(process::send(&park.forward).fuse());
        loop {
            select_biased! {
                data = rx => return match data {
                    Ok(data) => OpOutcome::Data { data },
                    Err(_) => OpOutcome::Failed { description: "the waiter was dropped".into() },
                },
                reply = create => match reply {
                    // Created: keep waiting for the callback.
                    EngineReply::Accepted => {}
                    EngineReply::Refused(op) => return OpOutcome::Refused { op },
                    EngineReply::Failed(description) => return OpOutcome::Failed { description },
                },
                _ = deadline => return OpOutcome::Timeout,
            }
        }
    }

    /// Takes a callback: `(duplicate, woke)`, woke when a parked caller got it.
    async fn take_callback(&self, d: CallbackRequest) -> Result<(bool, bool)> {
        // The first callback takes the parked waiter, so while one is parked
        // no result can be stored yet: only without a waiter is storage read.
        // Taking it before any await makes check-and-take atomic.
        let waiter = self.waiter.borrow_mut().take();
        let existing = match waiter {
            Some(_) => None,
            None => self.stored().await?,
        };
        match callback::decide(
            existing.as_ref(),
            d.data,
            now_ms(),
            d.id_expires_at,
            d.result_ttl_s,
        ) {
            Decision::Duplicate => Ok((true, false)),
            Decision::Store {
                result,
                delete_in_ms,
            } => {
                let storage = self.state.storage();
                let text = serde_json::to_string(&result)?;
                // Issued together, so workerd commits them in one batch.
                let (put, alarm) = futures_util::join!(
                    storage.put(RESULT_KEY, text),
                    storage.set_alarm(Duration::from_millis(delete_in_ms))
                );
                // The caller gets the answer even if storing failed; a
                // caller that already went away is no loss: it is stored.
                let woke = waiter.is_some_and(|tx| tx.send(result.data).is_ok());
                put?;
                alarm?;
                Ok((false, woke))
            }
        }
    }
}
