//! `Ctx`: what every handler needs, built once per request (or queue batch,
//! cron run, object call) and passed down: the bindings and the settings.

use crate::http;
use crate::store::Store;
use std::cell::OnceCell;
use std::rc::Rc;
use syncbridge_core::admin::{self, Caller, Policy};
use syncbridge_core::channel::Channel;
use syncbridge_core::error::{ApiError, RestError};
use syncbridge_core::Settings;
use worker::{Env, Request};

thread_local! {
    /// The settings, read once per isolate: a Worker's bindings cannot change
    /// while its isolate lives (a deploy or a new secret starts a new one).
    static SETTINGS: OnceCell<Result<Rc<Settings>, ApiError>> = const { OnceCell::new() };
}

/// The bindings and the settings of one unit of work.
#[derive(Clone)]
pub struct Ctx {
    pub env: Env,
    pub settings: Rc<Settings>,
}

impl Ctx {
    /// Reads the settings (once per isolate); a missing or invalid setting is
    /// a `config_error`, the same for every request until it is fixed.
    pub fn new(env: Env) -> Result<Ctx, ApiError> {
        let settings = SETTINGS.with(|cell| {
            cell.get_or_init(|| {
                Settings::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()))
                    .map(Rc::new)
                    .map_err(|e| ApiError::config(e.to_string()))
            })
            .clone()
        })?;
        Ok(Ctx { env, settings })
    }

    /// The D1 store.
    pub fn store(&self) -> Result<Store, RestError> {
        Store::new(&self.env)
    }

    /// Who sent `req`, under `policy` (`core::admin::authorize` with the
    /// request's `Authorization` header and the admin token); `channel` is
    /// the one whose process key may open the route, if the policy allows it.
    pub fn authorize(
        &self,
        req: &Request,
        channel: Option<&Channel>,
        policy: Policy,
    ) -> Result<Caller, RestError> {
        let auth = http::header(req, "authorization");
        let admin_token = self.settings.admin_token.as_deref();
        admin::authorize(auth.as_deref(), admin_token, channel, policy)
    }
}
