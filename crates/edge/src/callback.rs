//! `POST /api/1/plugins/callback/{request_id}`: the process's answer.

use crate::http::{self, now_ms};
use crate::rendezvous;
use serde_json::json;
use syncbridge_core::error::{ApiError, Surface};
use syncbridge_core::request_id::{self, IdError};
use worker::{Env, Request, Response, Result};

pub async fn handle(mut req: Request, env: &Env, id: &str) -> Result<Response> {
    let settings = match crate::settings(env) {
        Ok(s) => s,
        Err(e) => return http::error(&e, Surface::Plugin),
    };
    // The id is checked before anything else: a forged or expired id never
    // reaches (or creates) a Durable Object.
    let verified = match request_id::verify(&settings.callback_secret, id, now_ms() / 1000, 0) {
        Ok(v) => v,
        Err(IdError::Invalid) => {
            let e = ApiError::new(404, "unknown_request", "Unknown request id");
            return http::error(&e, Surface::Plugin);
        }
        Err(IdError::Expired) => {
            let e = ApiError::new(
                410,
                "request_expired",
                "This request no longer takes callbacks",
            );
            return http::error(&e, Surface::Plugin);
        }
    };
    let data = match http::read_body(&mut req, settings.max_body_bytes)
        .await
        .and_then(|b| syncbridge_core::callback::parse(&b, settings.max_body_bytes))
    {
        Ok(d) => d,
        Err(e) => return http::error(&e, Surface::Plugin),
    };
    match rendezvous::deliver(env, &verified, data.into(), settings.result_ttl_s).await {
        Ok(false) => http::json(200, &json!({"proc": "ok"})),
        Ok(true) => http::json(200, &json!({"proc": "ok", "duplicate": true})),
        Err(e) => {
            let e = ApiError::new(503, "store_unavailable", format!("result not stored: {e}"));
            http::error(&e, Surface::Plugin)
        }
    }
}
