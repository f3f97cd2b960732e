//! `POST /api/1/plugins/callback/{request_id}`: the process's answer.

use crate::clients::rendezvous;
use crate::clock::{now_iso, now_ms};
use crate::ctx::Ctx;
use crate::http::{self, Failure, Handled};
use serde_json::{json, Value};
use syncbridge_core::error::ApiError;
use syncbridge_core::request_id::{self, IdError, Purpose};
use syncbridge_core::request_log;
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
    let data: Value = syncbridge_core::callback::parse(&body, settings.max_body_bytes)
        .map_err(Failure::plugin)?
        .into();
    // A webhook's result that no caller waited for (an async run's) is also
    // kept with its request record (redacted, bounded), for the request
    // log's detail; a sync run's answer is in its record already.
    let record = (verified.purpose == Purpose::Webhook)
        .then(|| request_log::result_record(&data, &now_iso(), settings.request_log_body_bytes));
    match rendezvous::callback(&ctx.env, &verified, data, settings.result_ttl_s).await {
        Ok(r) if !r.duplicate => {
            if let (Some(record), false) = (record, r.woke) {
                keep_result(ctx, &verified.canonical, &record).await;
            }
            Ok(http::json(200, &json!({"proc": "ok"}))?)
        }
        Ok(_) => Ok(http::json(200, &json!({"proc": "ok", "duplicate": true}))?),
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

/// Keeps a webhook's result for its request record (the first one, as the
/// object keeps it). The object has it already: a failure here is logged,
/// and the callback is still taken.
async fn keep_result(ctx: &Ctx, request_id: &str, record: &Value) {
    let expires_at_ms = now_ms() + ctx.settings.request_log_ttl_s * 1000;
    let key = request_log::result_key(request_id);
    let kept = match ctx.store() {
        Ok(store) => store.log_result(&key, expires_at_ms, record).await,
        Err(e) => Err(e),
    };
    if let Err(e) = kept {
        http::log_error(&[
            ("event", http::Field::Str("request_result_log_failed")),
            ("error", http::Field::Str(&e.error_message)),
        ]);
    }
}
