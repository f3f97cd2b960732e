//! The core's contract: every pure rule of the gateway, tested natively, one
//! module per module of `syncbridge-core`.

mod admin;
mod b64;
mod body_limit;
mod callback;
mod channel;
mod channel_cache;
mod config;
mod console;
mod engine;
mod error;
mod eventing;
mod outbound;
mod request_id;
mod request_log;
mod route;
mod signature;
mod stats;
mod sync_api;
mod webhook;
mod websocket;

use std::collections::HashMap;
use syncbridge_core::config::{ConfigError, Settings};

/// Settings read from `API_KEYS` (`login` → `s3cret`), a callback secret
/// and `extra`.
fn settings_with(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut m: HashMap<String, String> = HashMap::from([
        ("API_KEYS".into(), r#"{"login":"s3cret"}"#.into()),
        ("CALLBACK_SECRET".into(), "0123456789abcdef0123".into()),
    ]);
    for (k, v) in extra {
        m.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| m.get(k).cloned())
}

/// [`settings_with`] nothing extra.
fn settings() -> Settings {
    settings_with(&[]).unwrap()
}
