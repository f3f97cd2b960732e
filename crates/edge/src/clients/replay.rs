//! Talking to a `ReplayGuard` object (one per Sync API signature, under
//! `SIGNATURE_REPLAY_PROTECTION`): claim a signature's first use.

use crate::http::object_request;
use serde::{Deserialize, Serialize};
use syncbridge_core::sync_api::ReplayGuard;
use worker::{Env, Method, Result};

/// Names the object kind in traces; never fetched.
const BASE: &str = "https://replay-guard.internal";
/// `POST` [`ClaimRequest`] → [`ClaimReply`].
pub const CLAIM: &str = "/claim";

/// Remember the signature until `until_ms` (unix ms), if it is new.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClaimRequest {
    pub until_ms: u64,
}

/// Whether this was the signature's first use within its window.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClaimReply {
    pub first: bool,
}

/// True when `guard`'s signature had not been used within its window
/// (and is now remembered until the window ends); false for a replay.
pub async fn claim(env: &Env, guard: &ReplayGuard) -> Result<bool> {
    let body = serde_json::to_string(&ClaimRequest {
        until_ms: guard.until_ms,
    })?;
    let stub = crate::env::replay_guard(env)?
        .id_from_name(&guard.name)?
        .get_stub()?;
    let req = object_request(BASE, Method::Post, CLAIM, Some(body))?;
    let resp = stub.fetch_with_request(req).await?;
    Ok(crate::http::body_json::<ClaimReply>(resp).await?.first)
}
