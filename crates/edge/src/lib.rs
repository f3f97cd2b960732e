//! The syncbridge worker: turns HTTP into calls to `syncbridge-core` and the
//! core's decisions into I/O. Rules live in the core; this crate routes,
//! reads bodies, talks to Durable Objects and fetches.

mod callback;
mod channels;
mod events;
mod forward;
mod http;
mod hub;
mod outbound;
mod rendezvous;
mod store;
mod sync;
mod webhook;

use syncbridge_core::error::{ApiError, RestError, Surface};
use syncbridge_core::route::{effective_method, route, Route};
use syncbridge_core::Settings;
use worker::{event, Context, Env, Request, Response, Result};

pub use hub::ChannelHub;
pub use rendezvous::Rendezvous;

/// The OpenAPI document of every route (docs/openapi.json).
const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// Binding name of the rendezvous Durable Object namespace.
pub(crate) const RENDEZVOUS: &str = "RENDEZVOUS";

thread_local! {
    /// The settings, read once per isolate: a Worker's bindings cannot change
    /// while its isolate lives (a deploy or a new secret starts a new one).
    static SETTINGS: std::cell::OnceCell<std::result::Result<std::rc::Rc<Settings>, ApiError>> =
        const { std::cell::OnceCell::new() };
}

pub(crate) fn settings(env: &Env) -> std::result::Result<std::rc::Rc<Settings>, ApiError> {
    SETTINGS.with(|cell| {
        cell.get_or_init(|| {
            Settings::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()))
                .map(std::rc::Rc::new)
                .map_err(|e| ApiError::config(e.to_string()))
        })
        .clone()
    })
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = http::now_ms();
    let url = req.url()?;
    let raw_method = req.method().to_string();
    let override_header = req.headers().get("x-http-method-override")?;
    let method = effective_method(&raw_method, override_header.as_deref()).to_string();
    let matched = route(&method, url.path());
    let template = matched.template();
    let log_id = req
        .headers()
        .get("cf-ray")?
        .unwrap_or_else(|| syncbridge_core::ids::token_hex(http::random16()));
    let result = dispatch(req, env, ctx, &url, matched).await;
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"log": "error", "id": log_id, "route": template, "error": e.to_string()})
            );
            // The details stay in the log; the caller gets a stable JSON error.
            let e = ApiError::new(
                500,
                "internal_error",
                "Internal error; see the gateway's logs",
            );
            http::error(&e, Surface::Plugin)?
        }
    };
    // One JSON line per request (`wrangler tail` friendly): the route is its
    // template, so no token, signature or request id reaches the log.
    worker::console_log!(
        "{}",
        serde_json::json!({
            "log": "request", "id": log_id, "method": method, "route": template,
            "status": response.status_code(),
            "duration_ms": http::now_ms().saturating_sub(started),
        })
    );
    Ok(response)
}

async fn dispatch(
    req: Request,
    env: Env,
    ctx: Context,
    url: &worker::Url,
    matched: Route<'_>,
) -> Result<Response> {
    match matched {
        Route::SyncApi {
            login,
            unixtime,
            signature,
        } => sync::handle(req, &env, login, unixtime, signature).await,
        Route::Callback { request_id } => callback::handle(req, &env, request_id).await,
        Route::Health => http::json(200, &serde_json::json!({"proc": "ok"})),
        Route::OpenApi => {
            let mut resp = Response::ok(OPENAPI)?;
            resp.headers_mut().set("content-type", "application/json")?;
            Ok(resp)
        }
        Route::Channels(op) => channels::handle(req, &env, channels::Op::Collection(op)).await,
        Route::Channel { id, op } => channels::handle(req, &env, channels::Op::Item(id, op)).await,
        Route::Publish { id } => events::publish(req, &env, id).await,
        Route::WebSocket { token, subscribe } => {
            events::websocket(req, &env, token, subscribe).await
        }
        Route::WsReply {
            channel_id,
            connection_id,
        } => events::reply(req, &env, channel_id, connection_id).await,
        Route::Send { id } => outbound::handle(req, &env, outbound::Op::Send(id)).await,
        Route::SendTest { id } => outbound::handle(req, &env, outbound::Op::SendTest(id)).await,
        Route::Deliveries { id } => outbound::handle(req, &env, outbound::Op::List(id)).await,
        Route::Delivery { id, delivery_id } => {
            outbound::handle(req, &env, outbound::Op::Get(id, delivery_id)).await
        }
        Route::Resend { id, delivery_id } => {
            outbound::handle(req, &env, outbound::Op::Resend(id, delivery_id)).await
        }
        Route::ChannelRequests { id } => {
            channels::handle(req, &env, channels::Op::Requests(id)).await
        }
        Route::WebhookByToken { token } => {
            webhook::handle(req, env, ctx, webhook::Key::Token(token.to_string())).await
        }
        Route::WebhookByCode { code } => {
            // The path comes percent-encoded; codes may hold spaces or any letter.
            match percent_encoding::percent_decode_str(code).decode_utf8() {
                Ok(code) => {
                    webhook::handle(req, env, ctx, webhook::Key::Code(code.into_owned())).await
                }
                Err(_) => http::rest_error(&RestError::not_found("No channel at this URL")),
            }
        }
        Route::MethodNotAllowed { allowed } => {
            let mut resp = if url.path().starts_with("/rest/") {
                http::rest_error(&RestError::new(
                    405,
                    format!("Method not allowed; use {allowed}"),
                ))?
            } else {
                http::error(&ApiError::method_not_allowed(allowed), Surface::Plugin)?
            };
            resp.headers_mut().set("Allow", allowed)?;
            Ok(resp)
        }
        Route::NotFound if url.path().starts_with("/rest/") => {
            http::rest_error(&RestError::not_found("No such route"))
        }
        Route::NotFound => http::error(&ApiError::not_found("No such route"), Surface::Plugin),
    }
}

/// Queue consumer: outbound callback deliveries and their dead letters.
#[event(queue)]
async fn queue(
    batch: worker::MessageBatch<outbound::QueueMsg>,
    env: Env,
    _ctx: Context,
) -> Result<()> {
    outbound::consume(batch, env).await
}

/// Cron: drops expired request records, and re-enqueues deliveries whose
/// queue message was lost.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let purge = match store::Store::new(&env) {
        Ok(s) => s.purge_requests(http::now_ms()).await.map(drop),
        Err(e) => Err(e),
    };
    for (task, result) in [
        ("purge", purge),
        ("sweep", outbound::sweep(&env).await.map(drop)),
    ] {
        if let Err(e) = result {
            worker::console_error!(
                "{}",
                serde_json::json!({"log": "cron_failed", "task": task, "error": e.error_message})
            );
        }
    }
}
