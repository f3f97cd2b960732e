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

use crate::forward;
use crate::http::now_ms;
use futures_channel::oneshot;
use futures_util::{select_biased, FutureExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::RefCell;
use std::time::Duration;
use syncbridge_core::callback::{self, Decision, StoredResult};
use syncbridge_core::engine::EngineReply;
use syncbridge_core::engine::Forward;
use syncbridge_core::request_id::VerifiedId;
use syncbridge_core::sync_api::OpOutcome;
use worker::{durable_object, Delay, DurableObject, Env, Method, Request, Response, Result, State};

const RESULT_KEY: &str = "result";
const INTERNAL: &str = "https://rendezvous.internal";

#[derive(Debug, Serialize, Deserialize)]
pub struct RunRequest {
    /// The signed request that hands the task to the process.
    pub forward: Forward,
    /// How long to wait from arrival; relative, so clocks need not agree.
    pub wait_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct DeliverRequest {
    data: Value,
    id_expires_at: u64,
    result_ttl_s: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct DeliverReply {
    duplicate: bool,
}

fn stub(env: &Env, id: &str) -> Result<worker::Stub> {
    env.durable_object(crate::RENDEZVOUS)?
        .id_from_name(id)?
        .get_stub()
}

fn json_request(method: Method, path: &str, body: Option<String>) -> Result<Request> {
    crate::http::object_request(INTERNAL, method, path, body)
}

/// Extra time the worker gives a rendezvous object past the deadline before
/// it stops waiting for it itself; the object answers `timeout` at the deadline.
const DEADLINE_GRACE_MS: u64 = 2_000;

/// Parks a request under `id` in its rendezvous object and returns the
/// outcome. Never hangs: past the deadline and a grace period it is a timeout.
pub async fn run(env: &Env, id: &str, run: &RunRequest) -> OpOutcome {
    let call = async {
        let req = json_request(Method::Post, "/run", Some(serde_json::to_string(run)?))?;
        let mut resp = stub(env, id)?.fetch_with_request(req).await?;
        resp.json::<OpOutcome>().await
    };
    let guard = Delay::from(Duration::from_millis(run.wait_ms + DEADLINE_GRACE_MS));
    futures_util::pin_mut!(call);
    match futures_util::future::select(call, guard).await {
        futures_util::future::Either::Left((Ok(o), _)) => o,
        futures_util::future::Either::Left((Err(e), _)) => OpOutcome::Failed {
            description: format!("the request could not be parked: {e}"),
        },
        futures_util::future::Either::Right(_) => OpOutcome::Timeout,
    }
}

/// Hands a callback to the object of `id`; `Ok(true)` when it was a duplicate.
pub async fn deliver(env: &Env, id: &VerifiedId, data: Value, result_ttl_s: u64) -> Result<bool> {
    let body = serde_json::to_string(&DeliverRequest {
        data,
        id_expires_at: id.expires_at,
        result_ttl_s,
    })?;
    let req = json_request(Method::Post, "/callback", Some(body))?;
    let mut resp = stub(env, &id.canonical)?.fetch_with_request(req).await?;
    Ok(resp.json::<DeliverReply>().await?.duplicate)
}

/// Reads the stored result of `id`, if any.
pub async fn fetch_result(env: &Env, id: &str) -> Result<Option<StoredResult>> {
    let req = json_request(Method::Get, "/result", None)?;
    let mut resp = stub(env, id)?.fetch_with_request(req).await?;
    if resp.status_code() == 404 {
        return Ok(None);
    }
    Ok(Some(resp.json().await?))
}

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

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        match path.as_str() {
            "/run" => {
                let run: RunRequest = req.json().await?;
                let outcome = self.park(run).await;
                Response::from_json(&outcome)
            }
            "/callback" => {
                let d: DeliverRequest = req.json().await?;
                let duplicate = self.deliver(d).await?;
                Response::from_json(&DeliverReply { duplicate })
            }
            "/result" => match self.stored().await? {
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
            Some(s) => Ok(Some(serde_json::from_str(&s)?)),
            None => Ok(None),
        }
    }

    async fn park(&self, run: RunRequest) -> OpOutcome {
        let (tx, rx) = oneshot::channel();
        // Registered before the engine hears of the task.
        *self.waiter.borrow_mut() = Some(tx);
        let outcome = self.wait(run, rx).await;
        // Whatever ended the wait, the waiter goes with it.
        self.waiter.borrow_mut().take();
        outcome
    }

    async fn wait(&self, run: RunRequest, rx: oneshot::Receiver<Value>) -> OpOutcome {
        let mut rx = rx.fuse();
        let mut deadline = Delay::from(Duration::from_millis(run.wait_ms)).fuse();
        let mut create = Box::pin(forward::send(&run.forward).fuse());
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

    async fn deliver(&self, d: DeliverRequest) -> Result<bool> {
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
            Decision::Duplicate => Ok(true),
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
                if let Some(tx) = waiter {
                    // The caller gets the answer even if storing failed; a
                    // caller that already went away is no loss: it is stored.
                    let _ = tx.send(result.data);
                }
                put?;
                alarm?;
                Ok(false)
            }
        }
    }
}
