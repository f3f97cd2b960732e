//! The syncbridge worker: turns HTTP into calls to `syncbridge-core` and the
//! core's decisions into I/O. Rules live in the core; this crate routes,
//! reads bodies, talks to Durable Objects and fetches.

mod callback;
mod http;
mod rendezvous;
mod sync;

use syncbridge_core::error::{ApiError, Surface};
use syncbridge_core::route::{route, Route};
use syncbridge_core::Settings;
use worker::{event, Context, Env, Request, Response, Result};

pub use rendezvous::Rendezvous;

/// Binding name of the rendezvous Durable Object namespace.
pub(crate) const RENDEZVOUS: &str = "RENDEZVOUS";

pub(crate) fn settings(env: &Env) -> std::result::Result<Settings, ApiError> {
    Settings::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()))
        .map_err(|e| ApiError::config(e.to_string()))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let url = req.url()?;
    let method = req.method().to_string();
    match route(&method, url.path()) {
        Route::SyncApi {
            login,
            unixtime,
            signature,
        } => sync::handle(req, &env, login, unixtime, signature).await,
        Route::Callback { request_id } => callback::handle(req, &env, request_id).await,
        Route::Health => http::json(200, &serde_json::json!({"proc": "ok"})),
        Route::MethodNotAllowed { allowed } => {
            let mut resp = http::error(&ApiError::method_not_allowed(allowed), Surface::Plugin)?;
            resp.headers_mut().set("Allow", allowed)?;
            Ok(resp)
        }
        Route::NotFound => http::error(&ApiError::not_found("No such route"), Surface::Plugin),
    }
}
