//! `POST /api/1/json/{login}/{unixtime}/{signature}`: the Sync API.

use crate::clients::rendezvous::{self, ParkRequest};
use crate::clients::replay;
use crate::clock::now_ms;
use crate::ctx::Ctx;
use crate::http::{self, Failure, Handled};
use futures_util::future::join_all;
use serde_json::Value;
use syncbridge_core::error::ApiError;
use syncbridge_core::sync_api::{self, Answer, CreateOp, Deadline, SyncOp};
use syncbridge_core::{engine, request_id, Settings};
use worker::{Env, Request};

/// Everything an op needs that is the same for all ops of one request.
struct Call<'a> {
    env: &'a Env,
    settings: &'a Settings,
    login: &'a str,
    secret: &'a str,
    callback_base: String,
    deadline: Deadline,
    now_ms: u64,
}

pub async fn handle(
    ctx: &Ctx,
    mut req: Request,
    login: &str,
    unixtime: &str,
    signature: &str,
) -> Handled {
    let settings = &ctx.settings;
    // The body is read straight into the buffer its signature covers
    // (time, secret, body, secret), so the check hashes one buffer.
    let signed = sync_api::covering(settings, login, unixtime, 0);
    let signed = http::read_body_into(&mut req, settings.max_body_bytes, signed)
        .await
        .map_err(Failure::sync_api)?
        .seal();
    let now = now_ms();
    let secret = sync_api::authenticate_covered(settings, &signed, signature, (now / 1000) as i64)
        .map_err(Failure::sync_api)?;
    let body = signed.body();
    if settings.signature_replay_protection {
        refuse_replays(ctx, login, unixtime, signature).await?;
    }
    let request = sync_api::parse(body, settings.max_ops).map_err(Failure::sync_api)?;
    let has_create = request.ops.iter().any(|o| matches!(o, SyncOp::Create(_)));
    if has_create {
        // Set, and allowed by PROCESS_ALLOWED_HOSTS, before any task is sent.
        settings
            .engine_url()
            .map_err(|e| Failure::sync_api(ApiError::config(e.0)))?;
    }
    let callback_base = settings
        .public_base(syncbridge_core::route::origin_of(&req.inner().url()))
        .map_err(|e| Failure::sync_api(ApiError::config(e.0)))?;
    let call = Call {
        env: &ctx.env,
        settings,
        login,
        secret,
        callback_base,
        deadline: Deadline::new(request.timeout_s, settings),
        now_ms: now,
    };
    let answers = join_all(request.ops.iter().map(|op| call.run(op))).await;
    let (status, body) = sync_api::respond(&answers, call.deadline);
    Ok(http::json(status, &body)?)
}

/// `SIGNATURE_REPLAY_PROTECTION`: the signature's first use within its
/// window goes on; a replay is 403 `replayed`. A guard that cannot be asked
/// refuses the request (503, the failure logged): the protection fails
/// closed.
async fn refuse_replays(
    ctx: &Ctx,
    login: &str,
    unixtime: &str,
    signature: &str,
) -> Result<(), Failure> {
    let guard = sync_api::replay_guard(&ctx.settings, login, unixtime, signature)
        .ok_or_else(|| Failure::sync_api(ApiError::access_denied("unixtime is not a time")))?;
    match replay::claim(&ctx.env, &guard).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::sync_api(ApiError::replayed())),
        Err(e) => {
            http::log_failure("replay_guard", &e.to_string());
            Err(Failure::sync_api(ApiError::new(
                503,
                "replay_check_failed",
                "The replay guard could not be asked; try again",
            )))
        }
    }
}

impl Call<'_> {
    async fn run(&self, op: &SyncOp) -> Answer {
        match op {
            SyncOp::Invalid { description } => Answer::invalid(description),
            SyncOp::ShowResult { request_id } => Answer::Immediate(self.show(request_id).await),
            SyncOp::Create(c) => self.create(c).await,
        }
    }

    async fn create(&self, op: &CreateOp) -> Answer {
        let mut random = [0u8; request_id::RANDOM_BYTES];
        crate::clock::random_fill(&mut random);
        let s = self.settings;
        let expires_at = self.deadline.id_expiry_s(self.now_ms, s.result_ttl_s);
        let id = request_id::issue(&s.callback_secret, random, expires_at, self.login);
        let api_url = s.corezoid_api_url.as_deref().unwrap_or_default();
        let fwd = engine::forward(
            api_url,
            self.login,
            self.secret,
            self.now_ms / 1000,
            op,
            &engine::callback_url(&self.callback_base, &id),
        );
        let park = ParkRequest {
            forward: fwd,
            wait_ms: self.deadline.timeout_ms,
        };
        let outcome = rendezvous::park(self.env, &id, &park).await;
        Answer::Outcome {
            request_id: id,
            outcome,
        }
    }

    async fn show(&self, id: &str) -> Value {
        let s = self.settings;
        let now_s = self.now_ms / 1000;
        let verified = match request_id::verify(&s.callback_secret, id, now_s, s.result_ttl_s) {
            Ok(v) if v.owned_by(&s.callback_secret, self.login) => v,
            _ => return sync_api::show_not_found(id),
        };
        match rendezvous::result(self.env, &verified.canonical).await {
            Ok(Some(stored)) => sync_api::show_found(id, stored.data),
            Ok(None) => sync_api::show_absent(id, now_s <= verified.expires_at),
            Err(e) => {
                http::log_failure("rendezvous", &e.to_string());
                serde_json::json!({
                    "proc": "error", "obj": "result", "request_id": id,
                    "description": "the result store could not be read; try again",
                })
            }
        }
    }
}
