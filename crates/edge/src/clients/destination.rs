//! Talking to a `Destination` object (one per channel whose callbacks use
//! delivery controls): wake it, read its state, re-enable it.

use crate::http::object_request;
use syncbridge_core::outbound::control::DestinationState;
use worker::{Env, Method, Result, Stub};

/// Names the object kind in traces; never fetched.
const BASE: &str = "https://destination.internal";
/// `POST` `{"channel_id"}`: pending deliveries wait; attempt what is due.
pub const WAKE: &str = "/wake";
/// `GET`: the [`DestinationState`].
pub const STATE: &str = "/state";
/// `POST` `{"channel_id"}`: re-enable; → the [`DestinationState`].
pub const ENABLE: &str = "/enable";

fn stub(env: &Env, channel_id: &str) -> Result<Stub> {
    crate::env::destination(env)?
        .id_from_name(channel_id)?
        .get_stub()
}

fn body(channel_id: &str) -> Option<String> {
    Some(serde_json::json!({ "channel_id": channel_id }).to_string())
}

/// Wakes the channel's owner: it attempts what is due (unless disabled).
pub async fn wake(env: &Env, channel_id: &str) -> Result<()> {
    let req = object_request(BASE, Method::Post, WAKE, body(channel_id))?;
    stub(env, channel_id)?.fetch_with_request(req).await?;
    Ok(())
}

/// The destination's state (enabled, failures, disabled since when).
pub async fn state(env: &Env, channel_id: &str) -> Result<DestinationState> {
    let req = object_request(BASE, Method::Get, STATE, None)?;
    let resp = stub(env, channel_id)?.fetch_with_request(req).await?;
    crate::http::body_json(resp).await
}

/// Re-enables the destination; its waiting deliveries resume in order.
pub async fn enable(env: &Env, channel_id: &str) -> Result<DestinationState> {
    let req = object_request(BASE, Method::Post, ENABLE, body(channel_id))?;
    let resp = stub(env, channel_id)?.fetch_with_request(req).await?;
    crate::http::body_json(resp).await
}
