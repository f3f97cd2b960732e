//! The process's callback: what it may send, and how a stored result is kept.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Reads a callback body: a JSON object of at most `max_bytes`.
pub fn parse(body: &[u8], max_bytes: usize) -> Result<Map<String, Value>, ApiError> {
    if body.len() > max_bytes {
        return Err(ApiError::too_large(max_bytes));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::format("callback body must be a JSON object")),
        Err(e) => Err(ApiError::format(format!("Bad JSON: {e}"))),
    }
}

/// A result as the rendezvous object stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResult {
    /// The process's callback body.
    pub data: Value,
    /// Unix ms of its arrival.
    pub received_at_ms: u64,
}

/// What the rendezvous object does with a callback.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// First result: store it, wake the waiter, and delete it after
    /// `delete_in_ms` (relative, as Durable Object alarms take it).
    Store {
        /// What to store.
        result: StoredResult,
        /// When to delete it, from now, in ms.
        delete_in_ms: u64,
    },
    /// A result is already stored; leave it as it is.
    Duplicate,
}

/// Decides on a callback, given what is stored. The result is kept until
/// the id can no longer be used to fetch it: `RESULT_TTL_S` after the id
/// stops taking callbacks, so every result lives at least `RESULT_TTL_S`.
pub fn decide(
    existing: Option<&StoredResult>,
    data: Value,
    now_ms: u64,
    id_expires_at_s: u64,
    result_ttl_s: u64,
) -> Decision {
    if existing.is_some() {
        return Decision::Duplicate;
    }
    Decision::Store {
        result: StoredResult {
            data,
            received_at_ms: now_ms,
        },
        delete_in_ms: ((id_expires_at_s + result_ttl_s) * 1000).saturating_sub(now_ms),
    }
}
