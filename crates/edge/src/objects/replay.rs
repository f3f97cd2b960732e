//! The replay guard Durable Object: one instance per Sync API signature
//! (under `SIGNATURE_REPLAY_PROTECTION`), so no object is shared by two
//! requests and none is hot. The first claim stores the signature's window
//! end and sets an alarm there; a claim while it is stored is a replay. The
//! alarm deletes everything, so an object lives at most one window.

use crate::clients::replay::{ClaimReply, ClaimRequest, CLAIM};
use crate::clock::now_ms;
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Storage key of the window's end (unix ms).
const UNTIL_KEY: &str = "until";

#[durable_object]
pub struct ReplayGuard {
    state: State,
}

impl DurableObject for ReplayGuard {
    fn new(state: State, _env: Env) -> Self {
        ReplayGuard { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path() != CLAIM {
            return Response::error("unknown replay guard operation", 404);
        }
        let claim: ClaimRequest = crate::http::request_json(&req).await?;
        let first = self.claim(claim.until_ms).await?;
        Response::from_json(&ClaimReply { first })
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}

impl ReplayGuard {
    /// Check-and-set: the object's input gate holds other requests while
    /// storage is read and written, so two claims cannot both be first.
    async fn claim(&self, until_ms: u64) -> Result<bool> {
        let storage = self.state.storage();
        if storage.get::<u64>(UNTIL_KEY).await?.is_some() {
            return Ok(false);
        }
        let in_ms = until_ms.saturating_sub(now_ms()).max(1000);
        // Issued together, so workerd commits them in one batch.
        let (put, alarm) = futures_util::join!(
            storage.put(UNTIL_KEY, until_ms),
            storage.set_alarm(Duration::from_millis(in_ms))
        );
        put?;
        alarm?;
        Ok(true)
    }
}
