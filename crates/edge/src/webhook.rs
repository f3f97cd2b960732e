//! Inbound webhooks: any method on `/api/token/v1/{token_local}…` or
//! `/api/webrequest/{code}…`. The whole request goes to the channel's
//! process as an event; the caller gets 200 at once (async) or the answer
//! the process calls back with (sync). Every request is recorded in D1.

use crate::forward;
use crate::http::{self, now_iso, now_ms, random16, rest_error};
use crate::rendezvous::{self, RunRequest};
use crate::store::Store;
use serde_json::{json, Value};
use syncbridge_core::channel::{Channel, ChannelKind};
use syncbridge_core::engine::{self, EngineReply};
use syncbridge_core::error::RestError;
use syncbridge_core::request_log::{self, Entry, Mode, Outcome};
use syncbridge_core::sync_api::OpOutcome;
use syncbridge_core::{eventing, ids, request_id, webhook};
use worker::{Context, Env, Request, Response, Result};

/// How the channel is named in the URL.
pub enum Key {
    Token(String),
    Code(String),
}

pub async fn handle(mut req: Request, env: Env, ctx: Context, key: Key) -> Result<Response> {
    let received_ms = now_ms();
    let settings = match crate::settings(&env) {
        Ok(s) => s,
        Err(e) => return rest_error(&e.into()),
    };
    let store = match Store::new(&env) {
        Ok(s) => s,
        Err(e) => return rest_error(&e),
    };
    let found = match &key {
        Key::Token(t) => store.channel_by_token(t).await,
        Key::Code(c) => store.channel_by_code(c).await,
    };
    let channel = match found {
        Ok(Some(c)) => c,
        Ok(None) => return rest_error(&RestError::not_found("No channel at this URL")),
        Err(e) => return rest_error(&e),
    };
    if channel.kind == ChannelKind::Eventing {
        // Below an eventing channel's URL: its subscriptions.
        let path = req.path();
        let rest: Vec<&str> = path
            .trim_start_matches('/')
            .split('/')
            .skip(match key {
                Key::Token(_) => 4,
                Key::Code(_) => 3,
            })
            .filter(|s| !s.is_empty())
            .collect();
        return crate::events::subscriptions(req, &env, &channel, &rest).await;
    }
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let origin = header("origin").map(str::to_string);
    let method = req.method().to_string();
    if method == "OPTIONS" && origin.is_some() {
        if let Some(acrm) = header("access-control-request-method") {
            return preflight(
                &channel,
                origin.as_deref(),
                Some(acrm),
                header("access-control-request-headers"),
            );
        }
    }
    let body = match http::read_body(&mut req, settings.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return rest_error(&e.into()),
    };
    let url = req.url()?;
    let sync = webhook::is_sync(&channel, url.as_str());
    let event_id = ids::uuid_v4(random16());
    let deadline_ms = settings.webhook_max_wait_s * 1000;
    let expires_at = (received_ms + deadline_ms).div_ceil(1000) + settings.result_ttl_s;
    let rid = request_id::issue(
        &settings.callback_secret,
        random16(),
        expires_at,
        &format!("channel:{}", channel.id),
    );
    let base = match &settings.public_url {
        Some(u) => u.clone(),
        None => url.origin().ascii_serialization(),
    };
    let callback_url = engine::callback_url(&base, &rid);
    let inbound = webhook::Inbound {
        method: &method,
        url: url.as_str(),
        headers: &headers,
        body: &body,
        ip: header("cf-connecting-ip"),
        protocol: url.scheme(),
    };
    let event = webhook::event(&inbound, &channel, &event_id, !sync, &callback_url);
    let forward = webhook::forward_to_process(
        &settings,
        &channel,
        &event,
        &event_id,
        &callback_url,
        received_ms,
    );

    let mut entry = Entry {
        id: event_id.clone(),
        channel_id: channel.id.clone(),
        received_at: now_iso(),
        method: method.clone(),
        url: request_log::redact(
            &match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            },
            &channel.token_local,
        ),
        ip: header("cf-connecting-ip").map(str::to_string),
        mode: if sync { Mode::Sync } else { Mode::Async },
        status: 200,
        duration_ms: 0,
        outcome: Outcome::Accepted,
        error: None,
        response: None,
    };
    let allow_origin = webhook::allowed_origin(&channel.opts.cors_origins, origin.as_deref());
    let log_ttl_ms = settings.request_log_ttl_s * 1000;

    if !channel.opts.eventing_channel.is_empty() {
        let (env3, channel3) = (env.clone(), channel.clone());
        let data = json!({"request_id": entry.id, "method": entry.method, "url": entry.url, "mode": entry.mode});
        ctx.wait_until(async move {
            crate::hub::publish_gateway_event(&env3, &channel3, eventing::WEBHOOK_RECEIVED, data)
                .await
        });
    }
    if !sync {
        // Answer now; hand the event over and record the outcome afterwards.
        let env2 = env.clone();
        let channel2 = channel.clone();
        ctx.wait_until(async move {
            match forward {
                Ok(f) => match forward::send(&f).await {
                    EngineReply::Accepted => {}
                    EngineReply::Refused(op) => fail(&mut entry, refusal(&op)),
                    EngineReply::Failed(d) => fail(&mut entry, d),
                },
                Err(e) => {
                    entry.outcome = Outcome::NoProcess;
                    entry.error = Some(e.to_string());
                }
            }
            entry.duration_ms = now_ms().saturating_sub(received_ms);
            record(&env2, &channel2, &entry, received_ms, log_ttl_ms).await;
        });
        let mut resp = Response::empty()?;
        if let Some(o) = &allow_origin {
            cors_headers(&mut resp, o)?;
        }
        return Ok(resp);
    }

    let (resp, response_record) = match forward {
        Err(e) => {
            entry.outcome = Outcome::NoProcess;
            (error_reply(502, &e.to_string(), &mut entry)?, None)
        }
        Ok(f) => {
            let run = RunRequest {
                forward: f,
                wait_ms: deadline_ms,
            };
            match rendezvous::run(&env, &rid, &run).await {
                OpOutcome::Data { data } => match webhook::reply(&data) {
                    Ok(r) => {
                        entry.outcome = Outcome::Answered;
                        let record = json!({
                            "status": r.status,
                            "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                            "body": request_log::excerpt(&r.body),
                        });
                        (answer(r, allow_origin.as_deref())?, Some(record))
                    }
                    Err(e) => {
                        entry.outcome = Outcome::Failed;
                        let msg = format!("The process's answer is invalid: {e}");
                        (error_reply(502, &msg, &mut entry)?, None)
                    }
                },
                OpOutcome::Refused { op } => {
                    entry.outcome = Outcome::Failed;
                    (error_reply(502, &refusal(&op), &mut entry)?, None)
                }
                OpOutcome::Failed { description } => {
                    entry.outcome = Outcome::Failed;
                    (error_reply(502, &description, &mut entry)?, None)
                }
                OpOutcome::Timeout => {
                    entry.outcome = Outcome::TimedOut;
                    let msg = format!(
                        "The process did not answer within {} s",
                        settings.webhook_max_wait_s
                    );
                    (error_reply(504, &msg, &mut entry)?, None)
                }
            }
        }
    };
    // The gateway's own errors (502, 504) carry the channel's CORS origin
    // too, so that a browser can read them.
    let mut resp = resp;
    if let Some(o) = &allow_origin {
        if resp.headers().get("access-control-allow-origin")?.is_none() {
            cors_headers(&mut resp, o)?;
        }
    }
    entry.status = resp.status_code();
    entry.response = response_record;
    entry.duration_ms = now_ms().saturating_sub(received_ms);
    ctx.wait_until(async move { record(&env, &channel, &entry, received_ms, log_ttl_ms).await });
    Ok(resp)
}

fn fail(entry: &mut Entry, description: String) {
    entry.outcome = Outcome::Failed;
    entry.error = Some(description);
}

fn refusal(op: &Value) -> String {
    match op.get("description").and_then(Value::as_str) {
        Some(d) => format!("The process refused the event: {d}"),
        None => format!("The process refused the event: {op}"),
    }
}

fn error_reply(status: u16, message: &str, entry: &mut Entry) -> Result<Response> {
    entry.error = Some(message.to_string());
    rest_error(&RestError::new(status, message))
}

/// The process's answer as an HTTP response, with the channel's CORS origin
/// added unless the process set its own.
fn answer(r: webhook::Reply, allow_origin: Option<&str>) -> Result<Response> {
    // Statuses that cannot carry a body get none.
    let mut resp = if r.body.is_empty() || matches!(r.status, 204 | 205 | 304) {
        Response::empty()?
    } else {
        Response::from_bytes(r.body)?
    }
    .with_status(r.status);
    let own_acao = r
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("access-control-allow-origin"));
    // The first value of a name replaces any default (content-type); later
    // ones are added (several set-cookie headers).
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in &r.headers {
        let name = k.to_ascii_lowercase();
        if seen.contains(&name) {
            resp.headers_mut().append(k, v)?;
        } else {
            resp.headers_mut().set(k, v)?;
            seen.push(name);
        }
    }
    if let (false, Some(o)) = (own_acao, allow_origin) {
        cors_headers(&mut resp, o)?;
    }
    Ok(resp)
}

fn cors_headers(resp: &mut Response, origin: &str) -> Result<()> {
    resp.headers_mut()
        .set("access-control-allow-origin", origin)?;
    resp.headers_mut().append("vary", "Origin")?;
    Ok(())
}

fn preflight(
    channel: &Channel,
    origin: Option<&str>,
    method: Option<&str>,
    headers: Option<&str>,
) -> Result<Response> {
    let mut resp = Response::empty()?.with_status(204);
    if let Some(hs) = webhook::preflight(&channel.opts.cors_origins, origin, method, headers) {
        for (k, v) in hs {
            resp.headers_mut().set(&k, &v)?;
        }
    }
    Ok(resp)
}

/// Records the request and publishes its outcome as a gateway event.
async fn record(env: &Env, channel: &Channel, entry: &Entry, received_ms: u64, ttl_ms: u64) {
    let kind = eventing::webhook_event_type(entry.outcome);
    let data = json!({
        "request_id": entry.id, "mode": entry.mode, "status": entry.status,
        "duration_ms": entry.duration_ms, "error": entry.error,
    });
    crate::hub::publish_gateway_event(env, channel, kind, data).await;
    let doc = serde_json::to_value(entry).unwrap_or(Value::Null);
    let outcome = match Store::new(env) {
        Ok(store) => {
            store
                .log_request(
                    &entry.id,
                    &entry.channel_id,
                    received_ms,
                    received_ms + ttl_ms,
                    &doc,
                )
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        worker::console_error!(
            "{}",
            json!({"event": "request_log_failed", "id": entry.id, "error": e.error_message})
        );
    }
}
