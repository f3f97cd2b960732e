//! Bulk recovery (`POST …/{id}/deliveries/recover`): every failed or dead
//! delivery of a channel created since a time, resent (Svix's "recover",
//! Convoy's batch retry). Each keeps its history: a recovered delivery is a
//! [`Delivery::resend`](super::Delivery::resend) of itself.

use super::{iso_ms, DeliveryState};
use crate::error::RestError;
use serde_json::Value;

fn bad(message: impl Into<String>) -> RestError {
    RestError::bad_request(message)
}

/// Most deliveries one recover call restarts; the answer says when more
/// remain (`"more": true`), and calling again continues (recovered ones are
/// pending, so they are not taken twice).
pub const RECOVER_BATCH: u64 = 100;

/// What a recover call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recover {
    /// Deliveries created at or after this Unix ms.
    pub since_ms: u64,
    /// The states to restart: `failed`, `dead` or both (the default).
    pub states: Vec<DeliveryState>,
}

/// Reads `{"since": "2026-11-23T06:00:00Z", "states": ["failed", "dead"]}`.
/// `since` is required (ISO-8601 UTC, as `created_at` shows it); `states`
/// defaults to both and may name only `failed` and `dead` (no repeats, not
/// empty). Anything else is a 400 naming the field.
pub fn parse_recover(body: &[u8]) -> Result<Recover, RestError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("Bad JSON: {e}")))?;
    let Value::Object(o) = v else {
        return Err(bad(
            "the body must be a JSON object: {\"since\": \"…Z\", \"states\": [\"failed\", \"dead\"]}",
        ));
    };
    if let Some(k) = o.keys().find(|k| *k != "since" && *k != "states") {
        return Err(bad(format!(
            "Unknown field `{k}`; use `since` and `states`"
        )));
    }
    let since_ms = match o.get("since") {
        Some(Value::String(s)) => iso_ms(s),
        _ => None,
    }
    .ok_or_else(|| {
        bad("`since` is required: an ISO-8601 UTC time such as 2026-11-23T06:00:00.000Z")
    })?;
    let states = match o.get("states") {
        None => vec![DeliveryState::Failed, DeliveryState::Dead],
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let state = match item.as_str() {
                    Some("failed") => DeliveryState::Failed,
                    Some("dead") => DeliveryState::Dead,
                    _ => return Err(bad("`states` may hold only \"failed\" and \"dead\"")),
                };
                if out.contains(&state) {
                    return Err(bad(format!("`states` repeats {state}")));
                }
                out.push(state);
            }
            out
        }
        Some(_) => {
            return Err(bad(
                "`states` must be a non-empty array of \"failed\" and/or \"dead\"",
            ))
        }
    };
    Ok(Recover { since_ms, states })
}
