//! The syncbridge worker: turns HTTP into calls to `syncbridge-core` and the
//! core's decisions into I/O. Rules live in the core; this crate routes,
//! reads bodies, talks to Durable Objects, D1 and queues, and fetches.
//!
//! This file holds only the entry points (fetch, queue, cron) and the
//! dispatch of a matched route to its handler. See ARCHITECTURE.md for the
//! map of the modules and the way of a request through them; each module
//! uses only modules listed before it here.

// Foundations: clock and randomness, bindings, HTTP helpers.
mod clock;
mod env;
mod http;
// D1, then the per-request context that opens it.
mod store;
// --
mod ctx;
// Outward I/O: processes, the Durable Objects' clients, gateway events.
mod clients;
mod gateway_events;
mod process;
// Background machinery: outbound deliveries (queue consumer, sweeper).
mod outbound;
// Durable Object classes, then the routes.
mod objects;
mod routes;

use crate::ctx::Ctx;
use crate::http::{Failure, Handled};
use crate::routes::channel::ChannelRoute;
use crate::routes::outbound::DeliveryRoute;
use crate::routes::webhook::ChannelKey;
use syncbridge_core::error::{ApiError, RestError, Surface};
use syncbridge_core::route::{effective_method, route, Route};
use worker::worker_sys::web_sys;
use worker::{event, Context, Env, Request, Response, Result};

pub use objects::destination::Destination;
pub use objects::hub::ChannelHub;
pub use objects::rendezvous::Rendezvous;
pub use objects::replay::ReplayGuard;

/// Once per isolate: a panic logs its message, not "unreachable".
#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, wctx: Context) -> Result<Response> {
    // The fixed cost of every request is kept small: the route is found from
    // the raw request's URL string and headers (no URL parse), `/healthz`
    // answers without converting the request, and the log line is written
    // without building a JSON tree.
    let started = clock::now_ms();
    let url = raw.url();
    let path = syncbridge_core::route::path_of(&url);
    let raw_method = raw.method();
    let headers = raw.headers();
    // Only a POST may stand for another method (`core::route::effective_method`):
    // other requests skip the header read, a call into the runtime.
    let override_header = if raw_method.eq_ignore_ascii_case("POST") {
        headers.get("x-http-method-override").ok().flatten()
    } else {
        None
    };
    let method = effective_method(&raw_method, override_header.as_deref()).to_string();
    let matched = route(&method, path);
    let template = matched.template();
    let log_id = headers
        .get("cf-ray")
        .ok()
        .flatten()
        .unwrap_or_else(|| syncbridge_core::ids::token_hex(clock::random16()));
    let response = match matched {
        Route::Health => http::health(),
        matched => match dispatch(Request::from(raw), env, &wctx, path, matched).await {
            Ok(r) => Ok(r),
            Err(failure) => failure.into_response(&log_id, template),
        },
    }?;
    // One JSON line per request (`wrangler tail` friendly): the route is its
    // template, so no token, signature or request id reaches the log.
    worker::console_log!(
        "{}",
        syncbridge_core::log_line::request(
            &log_id,
            &method,
            template,
            response.status_code(),
            clock::now_ms().saturating_sub(started),
        )
    );
    Ok(response)
}

/// The context of a route that needs the settings; a settings error is
/// answered in the route's own error shape.
fn ctx_for(env: Env, shape: Shape) -> std::result::Result<Ctx, Failure> {
    Ctx::new(env).map_err(|e| match shape {
        Shape::SyncApi => Failure::Api(e, Surface::SyncApi),
        Shape::Plugin => Failure::Api(e, Surface::Plugin),
        Shape::Rest => Failure::Rest(RestError::from(e)),
    })
}

/// The error shape of a route's answers.
#[derive(Clone, Copy)]
enum Shape {
    SyncApi,
    Plugin,
    Rest,
}

async fn dispatch(
    req: Request,
    env: Env,
    wctx: &Context,
    path: &str,
    matched: Route<'_>,
) -> Handled {
    use routes::{callback, channel, console, eventing, outbound, sync, webhook, websocket};
    let rest = |env| ctx_for(env, Shape::Rest);
    match matched {
        Route::Health => Ok(http::health()?),
        // docs/openapi.json, a static file (build/public): not in the wasm.
        Route::OpenApi => Ok(env::assets(&env)?.fetch_request(req).await?),
        // The operator console's files, also static (build/public/console).
        Route::ConsoleHome => console::home(),
        Route::Console { path } => console::serve(&env, &req, path).await,
        Route::SyncApi {
            login,
            unixtime,
            signature,
        } => {
            let ctx = ctx_for(env, Shape::SyncApi)?;
            sync::handle(&ctx, req, login, unixtime, signature).await
        }
        Route::Callback { request_id } => {
            callback::handle(&ctx_for(env, Shape::Plugin)?, req, request_id).await
        }
        Route::ServiceInfo => console::info(&rest(env)?, &req),
        Route::Channels(op) => {
            channel::handle(&rest(env)?, req, ChannelRoute::Collection(op)).await
        }
        Route::Channel { id, op } => {
            channel::handle(&rest(env)?, req, ChannelRoute::Item(id, op)).await
        }
        Route::ChannelRequests { id } => {
            channel::handle(&rest(env)?, req, ChannelRoute::Requests(id)).await
        }
        Route::ChannelRequest { id, request_id } => {
            channel::handle(&rest(env)?, req, ChannelRoute::Request(id, request_id)).await
        }
        Route::ChannelStats { id } => {
            channel::handle(&rest(env)?, req, ChannelRoute::Stats(id)).await
        }
        Route::Publish { id } => eventing::publish(&rest(env)?, req, id).await,
        Route::WebSocket { token, subscribe } => {
            websocket::upgrade(&rest(env)?, req, token, subscribe).await
        }
        Route::WsReply {
            channel_id,
            connection_id,
        } => websocket::reply(&rest(env)?, req, channel_id, connection_id).await,
        Route::Send { id } => {
            outbound::handle(&rest(env)?, req, DeliveryRoute::Send(id, wctx)).await
        }
        Route::SendTest { id } => {
            outbound::handle(&rest(env)?, req, DeliveryRoute::SendTest(id)).await
        }
        Route::Deliveries { id } => {
            outbound::handle(&rest(env)?, req, DeliveryRoute::List(id)).await
        }
        Route::Delivery { id, delivery_id } => {
            outbound::handle(&rest(env)?, req, DeliveryRoute::Get(id, delivery_id)).await
        }
        Route::Destination { id, enable } => {
            outbound::handle(&rest(env)?, req, DeliveryRoute::Destination(id, enable)).await
        }
        Route::Recover { id } => {
            outbound::handle(&rest(env)?, req, DeliveryRoute::Recover(id)).await
        }
        Route::Resend { id, delivery_id } => {
            outbound::handle(&rest(env)?, req, DeliveryRoute::Resend(id, delivery_id)).await
        }
        Route::WebhookByToken { token } => {
            let key = ChannelKey::Token(token.to_string());
            webhook::handle(&rest(env)?, wctx, req, key).await
        }
        Route::WebhookByCode { code } => {
            // The path comes percent-encoded; codes may hold spaces or any letter.
            match percent_encoding::percent_decode_str(code).decode_utf8() {
                Ok(code) => {
                    let key = ChannelKey::Code(code.into_owned());
                    webhook::handle(&rest(env)?, wctx, req, key).await
                }
                Err(_) => Err(RestError::not_found("No channel at this URL").into()),
            }
        }
        Route::MethodNotAllowed { allowed } => {
            let mut resp = if path.starts_with("/rest/") {
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
        Route::NotFound if path.starts_with("/rest/") => {
            Err(RestError::not_found("No such route").into())
        }
        Route::NotFound => Err(Failure::plugin(ApiError::not_found("No such route"))),
    }
}

/// Queue consumer: outbound callback deliveries and their dead letters.
#[event(queue)]
async fn queue(
    batch: worker::MessageBatch<outbound::QueueMsg>,
    env: Env,
    _wctx: Context,
) -> Result<()> {
    outbound::consumer::consume(batch, Ctx::new(env).map_err(RestError::from)).await
}

/// Cron: drops expired request records, and re-enqueues deliveries whose
/// queue message was lost.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _wctx: worker::ScheduleContext) {
    // Purging needs no settings: it runs even when they are broken.
    let purge = match store::Store::new(&env) {
        Ok(s) => s.purge_requests(clock::now_ms()).await.map(drop),
        Err(e) => Err(e),
    };
    let sweep = match Ctx::new(env).map_err(RestError::from) {
        Ok(ctx) => outbound::sweeper::sweep(&ctx).await.map(drop),
        Err(e) => Err(e),
    };
    for (task, result) in [("purge", purge), ("sweep", sweep)] {
        if let Err(e) = result {
            http::log_error(&[
                ("log", http::Field::Str("cron_failed")),
                ("task", http::Field::Str(task)),
                ("error", http::Field::Str(&e.error_message)),
            ]);
        }
    }
}
