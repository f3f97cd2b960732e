//! `POST /api/1/json/{login}/{unixtime}/{signature}`: the Sync API.

use crate::http::{self, now_ms};
use crate::rendezvous::{self, RunRequest};
use futures_util::future::join_all;
use serde_json::Value;
use syncbridge_core::error::{ApiError, Surface};
use syncbridge_core::sync_api::{self, Answer, CreateOp, Deadline, SyncOp as Op};
use syncbridge_core::{engine, request_id, Settings};
use worker::{Env, Request, Response, Result};

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
    mut req: Request,
    env: &Env,
    login: &str,
    unixtime: &str,
    signature: &str,
) -> Result<Response> {
    let settings = match crate::settings(env) {
        Ok(s) => s,
        Err(e) => return http::error(&e, Surface::SyncApi),
    };
    let body = match http::read_body(&mut req, settings.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return http::error(&e, Surface::SyncApi),
    };
    let now = now_ms();
    let secret = match sync_api::authenticate(
        &settings,
        login,
        unixtime,
        signature,
        &body,
        (now / 1000) as i64,
    ) {
        Ok(s) => s,
        Err(e) => return http::error(&e, Surface::SyncApi),
    };
    let request = match sync_api::parse(&body, settings.max_ops) {
        Ok(r) => r,
        Err(e) => return http::error(&e, Surface::SyncApi),
    };
    let has_create = request.ops.iter().any(|o| matches!(o, Op::Create(_)));
    if has_create && settings.corezoid_api_url.is_none() {
        let e = ApiError::config("setting COREZOID_API_URL is not set");
        return http::error(&e, Surface::SyncApi);
    }
    let callback_base = match &settings.public_url {
        Some(u) => u.clone(),
        None => req.url()?.origin().ascii_serialization(),
    };
    let call = Call {
        env,
        settings: &settings,
        login,
        secret,
        callback_base,
        deadline: Deadline::new(request.timeout_s, &settings),
        now_ms: now,
    };
    let answers = join_all(request.ops.iter().map(|op| call.run(op))).await;
    let (status, body) = sync_api::respond(&answers, call.deadline);
    http::json(status, &body)
}

impl Call<'_> {
    async fn run(&self, op: &Op) -> Answer {
        match op {
            Op::Invalid { description } => Answer::invalid(description),
            Op::ShowResult { request_id } => Answer::Immediate(self.show(request_id).await),
            Op::Create(c) => self.create(c).await,
        }
    }

    async fn create(&self, op: &CreateOp) -> Answer {
        let mut random = [0u8; request_id::RANDOM_BYTES];
        if getrandom::getrandom(&mut random).is_err() {
            return Answer::invalid("no randomness available to name the request");
        }
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
        let run = RunRequest {
            forward: fwd,
            wait_ms: self.deadline.timeout_ms,
        };
        let outcome = rendezvous::run(self.env, &id, &run).await;
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
        match rendezvous::fetch_result(self.env, &verified.canonical).await {
            Ok(Some(stored)) => sync_api::show_found(id, stored.data),
            Ok(None) => sync_api::show_absent(id, now_s <= verified.expires_at),
            Err(e) => serde_json::json!({
                "proc": "error", "obj": "result", "request_id": id,
                "description": format!("the result store could not be read: {e}"),
            }),
        }
    }
}
