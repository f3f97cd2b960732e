//! Gateway settings, read from Worker vars and secrets by name.
//!
//! The worker passes a lookup function; this module owns every default,
//! bound and error message, so configuration behaves the same natively and
//! at the edge.

use crate::outbound::{AllowList, ListKind};
use std::collections::BTreeMap;

/// Default of `SYNC_DEFAULT_TIMEOUT_S`: wait used when a request gives no `timeout`.
pub const DEFAULT_SYNC_DEFAULT_TIMEOUT_S: u64 = 60;
/// Default of `SYNC_MAX_TIMEOUT_S`: the largest `timeout` honoured.
pub const DEFAULT_SYNC_MAX_TIMEOUT_S: u64 = 300;
/// Default of `SIGNATURE_MAX_SKEW_S`: allowed distance of `unixtime` from now.
pub const DEFAULT_SIGNATURE_MAX_SKEW_S: u64 = 300;
/// Default of `RESULT_TTL_S`: how long a callback's result is kept.
pub const DEFAULT_RESULT_TTL_S: u64 = 600;
/// Default of `MAX_BODY_BYTES`: largest request or callback body (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Default of `MAX_OPS`: most operations in one Sync API request.
pub const DEFAULT_MAX_OPS: usize = 20;
/// Default of `WEBHOOK_MAX_WAIT_S`: longest wait of a sync webhook (Bpium: 60 s).
pub const DEFAULT_WEBHOOK_MAX_WAIT_S: u64 = 60;
/// Default of `CHANNEL_CACHE_MS`: how long an isolate serves a channel it
/// read for a webhook before reading it again (a change made elsewhere shows
/// within this bound; one made through the same isolate at once).
pub const DEFAULT_CHANNEL_CACHE_MS: usize = 1000;
/// Largest `CHANNEL_CACHE_MS` accepted (a minute).
pub const MAX_CHANNEL_CACHE_MS: usize = 60_000;
/// Default of `REQUEST_LOG_TTL_S`: how long inbound requests stay listed (7 days).
pub const DEFAULT_REQUEST_LOG_TTL_S: u64 = 7 * 24 * 3600;
/// Default of `REQUEST_LOG_BODY_BYTES`: how much of an inbound request's
/// body (and of an async process's result) the request log keeps (4 KiB).
pub const DEFAULT_REQUEST_LOG_BODY_BYTES: usize = 4096;
/// Largest `REQUEST_LOG_BODY_BYTES` accepted (64 KiB): a record stays far
/// below a D1 row's size limit.
pub const MAX_REQUEST_LOG_BODY_BYTES: usize = 64 << 10;
/// Default of `CALLBACK_TIMEOUT_S`: longest wait for a receiver's answer to one attempt.
pub const DEFAULT_CALLBACK_TIMEOUT_S: u64 = 10;
/// Default of `CALLBACK_MAX_BYTES`: largest rendered callback request (URL,
/// header lines and body) a delivery may carry, 512 KiB. A delivery keeps
/// its request and its attempt log in one D1 row (at most 2 MB), so a value
/// past about 1.5 MB makes large sends fail to store.
pub const DEFAULT_CALLBACK_MAX_BYTES: usize = 512 * 1024;
/// Default of `CALLBACK_SWEEP_GRACE_S`: how long past its due time a pending
/// delivery waits before the sweeper presumes its queue message lost.
pub const DEFAULT_CALLBACK_SWEEP_GRACE_S: u64 = 60;
/// Default of `PROCESS_ALLOWED_HOSTS`: any public host over https (no
/// literal private, loopback or other non-public address, no local-only
/// name, no plain http).
pub const DEFAULT_PROCESS_ALLOWED_HOSTS: &str = "*";
/// Default of `SIGNATURE_REPLAY_PROTECTION`: off, as Corezoid, whose callers
/// may send the same signed request again within the window.
pub const DEFAULT_SIGNATURE_REPLAY_PROTECTION: bool = false;
/// Default of `WS_MAX_MESSAGE_BYTES`: largest inbound WebSocket message.
pub const DEFAULT_WS_MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Default of `WS_MAX_MESSAGES_PER_S`: messages per second per inbound connection.
pub const DEFAULT_WS_MAX_MESSAGES_PER_S: u32 = 20;
/// Default of `WS_MAX_CONNECTIONS`: inbound connections per channel.
pub const DEFAULT_WS_MAX_CONNECTIONS: usize = 1000;
/// Default of `EVENT_BUFFER`: events kept per channel for `last_event_id` replay.
pub const DEFAULT_EVENT_BUFFER: usize = 1000;
/// Default of `EVENT_BUFFER_BYTES`: bytes of events kept per channel for
/// `last_event_id` replay (4 MiB), counted as the events' JSON.
pub const DEFAULT_EVENT_BUFFER_BYTES: usize = 4 << 20;
/// Default of `EVENT_MAX_BYTES`: the largest event (its `type` and its `data`
/// as JSON) that can be published (256 KiB).
pub const DEFAULT_EVENT_MAX_BYTES: usize = 256 << 10;
/// Smallest `EVENT_MAX_BYTES` accepted: a gateway event, its long fields
/// cut to [`crate::eventing::GATEWAY_FIELD_MAX_BYTES`], always fits.
pub const MIN_EVENT_MAX_BYTES: usize = 16 << 10;
/// Largest `EVENT_MAX_BYTES` accepted (1 MiB): one event always fits one
/// row of the channel hub's storage (whose values are limited to 2 MB).
pub const MAX_EVENT_MAX_BYTES: usize = 1 << 20;
/// Default of `WS_MAX_SUBSCRIBERS`: WebSocket subscribers per eventing channel.
pub const DEFAULT_WS_MAX_SUBSCRIBERS: usize = 1000;
/// Default of `MAX_SUBSCRIPTIONS`: webhook subscriptions per eventing channel.
pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 100;
/// Shortest `ADMIN_TOKEN` accepted, in bytes.
pub const MIN_ADMIN_TOKEN_BYTES: usize = 16;
/// Shortest `CALLBACK_SECRET` accepted, in bytes.
pub const MIN_CALLBACK_SECRET_BYTES: usize = 16;

/// Every setting of the gateway, read once by [`Settings::from_lookup`].
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `COREZOID_API_URL`: base URL of the engine's API, without a trailing slash.
    pub corezoid_api_url: Option<String>,
    /// `API_KEYS`: login → secret.
    pub api_keys: BTreeMap<String, String>,
    /// `CALLBACK_SECRET`: key of the request ids' MAC.
    pub callback_secret: Vec<u8>,
    /// `PUBLIC_URL`: origin used in `__callback_url`; when absent, only a
    /// loopback request origin is used (see [`Settings::public_base`]).
    pub public_url: Option<String>,
    /// `SYNC_DEFAULT_TIMEOUT_S`: the wait of a request that gives no `timeout` (at most the cap).
    pub sync_default_timeout_s: u64,
    /// `SYNC_MAX_TIMEOUT_S`: the largest wait honoured.
    pub sync_max_timeout_s: u64,
    /// `SIGNATURE_MAX_SKEW_S`: allowed distance of a request's `unixtime` from now.
    pub signature_max_skew_s: u64,
    /// `RESULT_TTL_S`: how long a callback's result is kept after its id expires.
    pub result_ttl_s: u64,
    /// `MAX_BODY_BYTES`: largest request or callback body.
    pub max_body_bytes: usize,
    /// `MAX_OPS`: most operations in one Sync API request.
    pub max_ops: usize,
    /// `ADMIN_TOKEN`: bearer token of the channel API; the API is closed without it.
    pub admin_token: Option<String>,
    /// `WEBHOOK_MAX_WAIT_S`: longest wait of a sync webhook for its process's answer.
    pub webhook_max_wait_s: u64,
    /// `REQUEST_LOG_TTL_S`: how long inbound requests stay listed.
    pub request_log_ttl_s: u64,
    /// `CHANNEL_CACHE_MS`: how long a channel read for a webhook is served
    /// from the isolate's cache (0: read D1 every time); see
    /// [`crate::channel::cache`].
    pub channel_cache_ms: u64,
    /// `REQUEST_LOG_BODY_BYTES`: the longest excerpt of a request's body
    /// (and of an async result) the request log keeps; 0 keeps none.
    pub request_log_body_bytes: usize,
    /// `CALLBACK_ALLOWED_HOSTS`: destinations outbound callbacks may reach (empty: none).
    pub callback_allowed_hosts: AllowList,
    /// `CALLBACK_TIMEOUT_S`: longest wait for a receiver's answer to one attempt.
    pub callback_timeout_s: u64,
    /// `CALLBACK_MAX_BYTES`: largest rendered callback request (413 beyond).
    pub callback_max_bytes: usize,
    /// `CALLBACK_SWEEP_GRACE_S`: how long past its due time a pending delivery waits before the
    /// sweeper presumes its queue message lost.
    pub callback_sweep_grace_s: u64,
    /// `PROCESS_ALLOWED_HOSTS`: the processes the gateway may hand work to
    /// (`recv_svcscriptcode`, `recv_svcscriptcode_ws`, `COREZOID_API_URL`);
    /// unset or empty: [`DEFAULT_PROCESS_ALLOWED_HOSTS`].
    pub process_allowed_hosts: AllowList,
    /// `SIGNATURE_REPLAY_PROTECTION`: a Sync API signature is taken once
    /// within its window (off by default, as Corezoid).
    pub signature_replay_protection: bool,
    /// `WS_MAX_MESSAGE_BYTES`: largest inbound WebSocket message (close 1009 beyond).
    pub ws_max_message_bytes: usize,
    /// `WS_MAX_MESSAGES_PER_S`: per connection (close 1008 beyond).
    pub ws_max_messages_per_s: u32,
    /// `WS_MAX_CONNECTIONS`: inbound connections per channel (close 1013 beyond).
    pub ws_max_connections: usize,
    /// `EVENT_BUFFER`: events kept per channel for `last_event_id` replay.
    pub event_buffer: usize,
    /// `EVENT_BUFFER_BYTES`: bytes of events (their JSON) kept per channel
    /// for replay; the oldest are dropped beyond it, as beyond `EVENT_BUFFER`.
    pub event_buffer_bytes: usize,
    /// `EVENT_MAX_BYTES`: the largest event that can be published (its
    /// `type` and its `data` as JSON); a publish over it is a 413.
    pub event_max_bytes: usize,
    /// `WS_MAX_SUBSCRIBERS`: WebSocket subscribers per eventing channel (close 1013 beyond).
    pub ws_max_subscribers: usize,
    /// `MAX_SUBSCRIPTIONS`: webhook subscriptions per eventing channel (409 beyond).
    pub max_subscriptions: usize,
}

/// A setting that is missing or unusable. Its message names the setting, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn number<T: std::str::FromStr + PartialOrd + Copy>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    min: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(s) if s.trim().is_empty() => Ok(default),
        Some(s) => match s.trim().parse::<T>() {
            Ok(v) if v >= min => Ok(v),
            _ => Err(ConfigError(format!(
                "setting {name} must be a whole number (at least the minimum allowed)"
            ))),
        },
    }
}

/// As [`number`], also refusing values above `max`; the message gives the range.
fn number_in(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ConfigError> {
    match number(get, name, default, min) {
        Ok(v) if v <= max => Ok(v),
        _ => Err(ConfigError(format!(
            "setting {name} must be a whole number from {min} to {max}"
        ))),
    }
}

/// A yes/no setting: `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off`
/// (any case); unset or empty is `default`.
fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    match non_empty(get, name)
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(ConfigError(format!(
            "setting {name} must be true or false (or 1/0, yes/no, on/off)"
        ))),
    }
}

fn non_empty(get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// An allow-list setting, parsed (`default` when unset or empty). An entry
/// of no accepted form is an error, which names the entries' positions but
/// not their text.
fn allow_list(
    get: &impl Fn(&str) -> Option<String>,
    kind: ListKind,
    default: &str,
) -> Result<AllowList, ConfigError> {
    let name = kind.setting();
    let raw = non_empty(get, name).unwrap_or_else(|| default.to_owned());
    AllowList::parse_for(kind, &raw).map_err(|e| {
        let positions: Vec<String> = e.invalid.iter().map(|i| i.position.to_string()).collect();
        let label = if positions.len() == 1 {
            "entry"
        } else {
            "entries"
        };
        let forms = match kind {
            ListKind::Callback => {
                "host, *.domain, http://host or http://*.domain (`*` alone is not one: there is \
                 no allow-all)"
            }
            ListKind::Process => {
                "*, http://*, host, *.domain, http://host or http://*.domain (optionally with \
                 :port)"
            }
        };
        ConfigError(format!(
            "setting {name} holds {label} {} of no accepted form: each entry is {forms}",
            positions.join(", ")
        ))
    })
}

impl Settings {
    /// The origin the gateway's own URLs start with (`__callback_url` of a
    /// Sync API task or a webhook event, and an inbound WebSocket's reply
    /// URL): `PUBLIC_URL` when set (without its trailing `/`). Without it,
    /// `request_origin` (the origin the caller's request came to, as
    /// `http://127.0.0.1:8787`) is used only when it is a loopback one
    /// (`localhost`, `127.0.0.0/8`, `[::1]`), so that local runs work; any
    /// other origin is the caller's to choose (the `Host` header), so it is
    /// a [`ConfigError`] that names `PUBLIC_URL` (and not the origin).
    pub fn public_base(&self, request_origin: &str) -> Result<String, ConfigError> {
        match &self.public_url {
            Some(u) => Ok(u.clone()),
            None if crate::outbound::address::is_loopback_origin(request_origin) => {
                Ok(request_origin.to_owned())
            }
            None => Err(ConfigError(
                "setting PUBLIC_URL is not set: without it the gateway builds its own URLs \
                 (__callback_url, WebSocket reply URLs) only for requests to a loopback \
                 origin (localhost, 127.0.0.0/8, [::1]), never from a caller's Host"
                    .into(),
            )),
        }
    }

    /// `COREZOID_API_URL`, when it is set and `PROCESS_ALLOWED_HOSTS` allows
    /// it (checked before each task is handed to the engine). The error names
    /// the settings, never the URL.
    pub fn engine_url(&self) -> Result<&str, ConfigError> {
        let url = self
            .corezoid_api_url
            .as_deref()
            .ok_or_else(|| ConfigError("setting COREZOID_API_URL is not set".into()))?;
        crate::outbound::check_destination(url, &self.process_allowed_hosts).map_err(|_| {
            ConfigError(
                "setting COREZOID_API_URL is not allowed by PROCESS_ALLOWED_HOSTS (a literal \
                 non-public address, a local-only name, plain http or a host not listed)"
                    .into(),
            )
        })?;
        Ok(url)
    }

    /// Reads every setting through `get` (name → value), applying defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let api_keys = match non_empty(&get, "API_KEYS") {
            None => BTreeMap::new(),
            Some(raw) => serde_json::from_slice::<BTreeMap<String, String>>(raw.as_bytes())
                .map_err(|_| {
                    ConfigError(
                        "setting API_KEYS must be a JSON object of login to secret strings".into(),
                    )
                })?,
        };
        let callback_secret = non_empty(&get, "CALLBACK_SECRET")
            .ok_or_else(|| ConfigError("setting CALLBACK_SECRET is not set".into()))?
            .into_bytes();
        if callback_secret.len() < MIN_CALLBACK_SECRET_BYTES {
            return Err(ConfigError(format!(
                "setting CALLBACK_SECRET must be at least {MIN_CALLBACK_SECRET_BYTES} bytes"
            )));
        }
        let url_setting = |name: &str| -> Result<Option<String>, ConfigError> {
            match non_empty(&get, name) {
                None => Ok(None),
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Ok(Some(u.trim_end_matches('/').to_string()))
                }
                Some(_) => Err(ConfigError(format!(
                    "setting {name} must be an http:// or https:// URL"
                ))),
            }
        };
        let sync_default_timeout_s = number(
            &get,
            "SYNC_DEFAULT_TIMEOUT_S",
            DEFAULT_SYNC_DEFAULT_TIMEOUT_S,
            1,
        )?;
        let sync_max_timeout_s = number(&get, "SYNC_MAX_TIMEOUT_S", DEFAULT_SYNC_MAX_TIMEOUT_S, 1)?;
        Ok(Settings {
            corezoid_api_url: url_setting("COREZOID_API_URL")?,
            public_url: url_setting("PUBLIC_URL")?,
            api_keys,
            callback_secret,
            // A default above the cap would be silently cut; keep them consistent.
            sync_default_timeout_s: sync_default_timeout_s.min(sync_max_timeout_s),
            sync_max_timeout_s,
            signature_max_skew_s: number(
                &get,
                "SIGNATURE_MAX_SKEW_S",
                DEFAULT_SIGNATURE_MAX_SKEW_S,
                0,
            )?,
            result_ttl_s: number(&get, "RESULT_TTL_S", DEFAULT_RESULT_TTL_S, 1)?,
            max_body_bytes: number(&get, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 64)?,
            max_ops: number(&get, "MAX_OPS", DEFAULT_MAX_OPS, 1)?,
            admin_token: match non_empty(&get, "ADMIN_TOKEN") {
                Some(t) if t.len() < MIN_ADMIN_TOKEN_BYTES => {
                    return Err(ConfigError(format!(
                        "setting ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_BYTES} bytes"
                    )))
                }
                t => t,
            },
            webhook_max_wait_s: number(&get, "WEBHOOK_MAX_WAIT_S", DEFAULT_WEBHOOK_MAX_WAIT_S, 1)?,
            request_log_ttl_s: number(&get, "REQUEST_LOG_TTL_S", DEFAULT_REQUEST_LOG_TTL_S, 1)?,
            channel_cache_ms: number_in(
                &get,
                "CHANNEL_CACHE_MS",
                DEFAULT_CHANNEL_CACHE_MS,
                0,
                MAX_CHANNEL_CACHE_MS,
            )? as u64,
            request_log_body_bytes: number_in(
                &get,
                "REQUEST_LOG_BODY_BYTES",
                DEFAULT_REQUEST_LOG_BODY_BYTES,
                0,
                MAX_REQUEST_LOG_BODY_BYTES,
            )?,
            callback_allowed_hosts: allow_list(&get, ListKind::Callback, "")?,
            callback_timeout_s: number(&get, "CALLBACK_TIMEOUT_S", DEFAULT_CALLBACK_TIMEOUT_S, 1)?,
            callback_max_bytes: number(
                &get,
                "CALLBACK_MAX_BYTES",
                DEFAULT_CALLBACK_MAX_BYTES,
                1024,
            )?,
            ws_max_message_bytes: number(
                &get,
                "WS_MAX_MESSAGE_BYTES",
                DEFAULT_WS_MAX_MESSAGE_BYTES,
                1,
            )?,
            ws_max_messages_per_s: number(
                &get,
                "WS_MAX_MESSAGES_PER_S",
                DEFAULT_WS_MAX_MESSAGES_PER_S,
                1,
            )?,
            ws_max_connections: number(&get, "WS_MAX_CONNECTIONS", DEFAULT_WS_MAX_CONNECTIONS, 1)?,
            event_buffer: number(&get, "EVENT_BUFFER", DEFAULT_EVENT_BUFFER, 0)?,
            event_buffer_bytes: number(&get, "EVENT_BUFFER_BYTES", DEFAULT_EVENT_BUFFER_BYTES, 0)?,
            event_max_bytes: number_in(
                &get,
                "EVENT_MAX_BYTES",
                DEFAULT_EVENT_MAX_BYTES,
                MIN_EVENT_MAX_BYTES,
                MAX_EVENT_MAX_BYTES,
            )?,
            ws_max_subscribers: number(&get, "WS_MAX_SUBSCRIBERS", DEFAULT_WS_MAX_SUBSCRIBERS, 1)?,
            max_subscriptions: number(&get, "MAX_SUBSCRIPTIONS", DEFAULT_MAX_SUBSCRIPTIONS, 1)?,
            callback_sweep_grace_s: number(
                &get,
                "CALLBACK_SWEEP_GRACE_S",
                DEFAULT_CALLBACK_SWEEP_GRACE_S,
                1,
            )?,
            process_allowed_hosts: allow_list(
                &get,
                ListKind::Process,
                DEFAULT_PROCESS_ALLOWED_HOSTS,
            )?,
            signature_replay_protection: flag(
                &get,
                "SIGNATURE_REPLAY_PROTECTION",
                DEFAULT_SIGNATURE_REPLAY_PROTECTION,
            )?,
        })
    }
}
