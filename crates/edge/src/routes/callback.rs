//! `POST /api/1/plugins/callback/{request_id}`: the process's answer.

use crate::clients::rendezvous;
use crate::clock::now_ms;
use crate::ctx::Ctx;
use crate::http::{self, Failure, Handled};
use serde_json::json;
use syncbridge_core::error::ApiError;
use syncbridge_core::request_id::{self, IdError, Purpose};
use worker::Request;

pub async fn handle(ctx: &Ctx, mut req: Request, id: &str) -> Handled {
    let settings = &ctx.settings;
    // The id is checked before anything else: a forged or expired id, or an
    // id of another purpose (a WebSocket connection's), never reaches (or
    // creates) a Durable Object.
    let purposes = [Purpose::SyncApi, Purpose::Webhook];
    let now_s = now_ms() / 1000;
    let verified = request_id::verify_for(&settings.callback_secret, &purposes, id, now_s, 0)
        .map_err(|e| match e {
            IdError::Invalid => {
                Failure::plugin(ApiError::new(404, "unknown_request", "Unknown request id"))
            }
            IdError::Expired => Failure::plugin(ApiError::new(
                410,
                "request_expired",
                "This request no longer takes callbacks",
            )),
        })?;
    let body = http::read_body(&mut req, settings.max_body_bytes)
        .await
        .map_err(Failure::plugin)?;
    let data = syncbridge_core::callback::parse(&body, settings.max_body_bytes)
        .map_err(Failure::plugin)?;
    match rendezvous::callback(&ctx.env, &verified, data.into(), settings.result_ttl_s).await {
        Ok(false) => Ok(http::json(200, &json!({"proc": "ok"}))?),
        Ok(true) => Ok(http::json(200, &json!({"proc": "ok", "duplicate": true}))?),
        Err(e) => {
            http::log_failure("rendezvous", &e.to_string());
            Err(Failure::plugin(ApiError::new(
                503,
                "store_unavailable",
                "The result was not stored; try again",
            )))
        }
    }
}
