//! Gateway events: a channel's own traffic (webhooks received and answered,
//! deliveries failed or dead) published on the eventing channel it names in
//! `opts.eventing_channel`.

use crate::http;
use serde_json::{json, Value};
use syncbridge_core::channel::Channel;
use syncbridge_core::eventing;
use worker::Env;

/// Publishes a gateway event for `channel`'s traffic, if it names an
/// eventing channel; failures are logged, never the caller's problem. Long
/// string fields (a URL, an error) are cut so that the event always fits
/// `EVENT_MAX_BYTES` (`eventing::gateway_data`).
pub async fn publish(env: &Env, channel: &Channel, kind: &str, data: Value) {
    let target = &channel.opts.eventing_channel;
    if target.is_empty() {
        return;
    }
    let mut data = data;
    data["channel_id"] = json!(channel.id);
    let data = eventing::gateway_data(data).to_string();
    if let Err(e) = crate::clients::hub::publish(env, target, kind, data).await {
        http::log_error(&[
            ("log", http::Field::Str("publish_failed")),
            ("type", http::Field::Str(kind)),
            ("error", http::Field::Str(&e.error_message)),
        ]);
    }
}
