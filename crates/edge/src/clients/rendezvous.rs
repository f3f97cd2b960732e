//! Talking to a `Rendezvous` object (one per request id): park a caller,
//! hand it a callback, read a stored result.

use crate::http::object_request;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use syncbridge_core::callback::StoredResult;
use syncbridge_core::engine::Forward;
use syncbridge_core::request_id::VerifiedId;
use syncbridge_core::sync_api::OpOutcome;
use worker::{Delay, Env, Method, Request, Result, Stub};

/// Names the object kind in traces; never fetched.
const BASE: &str = "https://rendezvous.internal";
/// `POST`: park the caller ([`ParkRequest`] → `OpOutcome`).
pub const PARK: &str = "/run";
/// `POST`: a process's callback ([`CallbackRequest`] → [`CallbackReply`]).
pub const CALLBACK: &str = "/callback";
/// `GET`: the stored result (`StoredResult`, or 404).
pub const RESULT: &str = "/result";

/// Extra time the worker gives a rendezvous object past the deadline before
/// it stops waiting for it itself; the object answers `timeout` at the deadline.
const DEADLINE_GRACE_MS: u64 = 2_000;

/// What parks a caller: the task to hand over, and how long to wait.
#[derive(Debug, Serialize, Deserialize)]
pub struct ParkRequest {
    /// The signed request that hands the task to the process.
    pub forward: Forward,
    /// How long to wait from arrival; relative, so clocks need not agree.
    pub wait_ms: u64,
}

/// A process's callback for the object's request id.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallbackRequest {
    pub data: Value,
    pub id_expires_at: u64,
    pub result_ttl_s: u64,
}

/// Whether the callback was a duplicate of one already stored, and
/// whether it woke a parked caller (who then has the result).
#[derive(Debug, Serialize, Deserialize)]
pub struct CallbackReply {
    pub duplicate: bool,
    #[serde(default)]
    pub woke: bool,
}

fn stub(env: &Env, id: &str) -> Result<Stub> {
    crate::env::rendezvous(env)?.id_from_name(id)?.get_stub()
}

fn request(method: Method, path: &str, body: Option<String>) -> Result<Request> {
    object_request(BASE, method, path, body)
}

/// Parks a request under `id` in its rendezvous object and returns the
/// outcome. Never hangs: past the deadline and a grace period it is a timeout.
pub async fn park(env: &Env, id: &str, park: &ParkRequest) -> OpOutcome {
    let call = async {
        let req = request(Method::Post, PARK, Some(serde_json::to_string(park)?))?;
        let mut resp = stub(env, id)?.fetch_with_request(req).await?;
        resp.json::<OpOutcome>().await
    };
    let guard = Delay::from(Duration::from_millis(park.wait_ms + DEADLINE_GRACE_MS));
    futures_util::pin_mut!(call);
    match futures_util::future::select(call, guard).await {
        futures_util::future::Either::Left((Ok(o), _)) => o,
        futures_util::future::Either::Left((Err(e), _)) => OpOutcome::Failed {
            description: format!("the request could not be parked: {e}"),
        },
        futures_util::future::Either::Right(_) => OpOutcome::Timeout,
    }
}

/// Hands a callback to the object of `id`: whether it was a duplicate, and
/// whether a parked caller took it.
pub async fn callback(
    env: &Env,
    id: &VerifiedId,
    data: Value,
    result_ttl_s: u64,
) -> Result<CallbackReply> {
    let body = serde_json::to_string(&CallbackRequest {
        data,
        id_expires_at: id.expires_at,
        result_ttl_s,
    })?;
    let req = request(Method::Post, CALLBACK, Some(body))?;
    let mut resp = stub(env, &id.canonical)?.fetch_with_request(req).await?;
    resp.json::<CallbackReply>().await
}

/// Reads the stored result of `id`, if any.
pub async fn result(env: &Env, id: &str) -> Result<Option<StoredResult>> {
    let req = request(Method::Get, RESULT, None)?;
    let mut resp = stub(env, id)?.fetch_with_request(req).await?;
    if resp.status_code() == 404 {
        return Ok(None);
    }
    Ok(Some(resp.json().await?))
}
