//! Inbound WebSocket connections on a public channel: the connection ids
//! that name them in reply URLs, the `$wsMessage` event that hands a
//! message to the channel's `recv_svcscriptcode_ws` process, and the URL the
//! process answers on. Pure: the channel hub Durable Object does the I/O
//! (the limits of a connection are in [`crate::eventing`]).

use crate::channel::{self, Channel};
use crate::engine::{Forward, Protocol, CALLBACK_URL_FIELD};
use crate::outbound::{check_destination, AllowList, Refused};
use crate::request_id::{self, Purpose, RANDOM_BYTES};
use serde_json::{json, Value};

/// Event type of a message received on an inbound WebSocket connection.
pub const MESSAGE_EVENT_TYPE: &str = "$wsMessage";
/// How long a connection's reply URL stays valid, in seconds (7 days).
pub const REPLY_URL_TTL_S: u64 = 7 * 24 * 3600;

/// The owner a connection id is issued to: it ties the id to its channel.
fn owner(channel_id: &str) -> String {
    format!("ws:{channel_id}")
}

/// A new connection's id: an id of [`Purpose::Connection`] (see
/// [`crate::request_id`]) issued to `ws:{channel_id}`, valid for
/// [`REPLY_URL_TTL_S`] from `now_s`, so that the reply route can check it
/// before it reaches the hub and connection ids cannot be guessed. Its MAC
/// domain is its own: it is not a request id (the callback route refuses
/// it), and no request id is a connection id. `random` must come from a
/// CSPRNG.
pub fn connection_id(
    secret: &[u8],
    random: [u8; RANDOM_BYTES],
    now_s: u64,
    channel_id: &str,
) -> String {
    request_id::issue_for(
        secret,
        Purpose::Connection,
        random,
        now_s + REPLY_URL_TTL_S,
        &owner(channel_id),
    )
}

/// True when `connection_id` was issued by [`connection_id`] for
/// `channel_id` and has not expired at `now_s` (no grace).
pub fn connection_id_ok(secret: &[u8], channel_id: &str, connection_id: &str, now_s: u64) -> bool {
    request_id::verify_for(secret, &[Purpose::Connection], connection_id, now_s, 0)
        .is_ok_and(|v| v.owned_by(secret, &owner(channel_id)))
}

/// `{reply_base}/api/1/plugins/ws/{channel_id}/{connection_id}`: where the
/// process POSTs what to send on the connection. `reply_base` is
/// [`crate::Settings::public_base`] of the upgrade request (a trailing `/`
/// is dropped).
pub fn reply_url(reply_base: &str, channel_id: &str, connection_id: &str) -> String {
    format!(
        "{}/api/1/plugins/ws/{channel_id}/{connection_id}",
        reply_base.trim_end_matches('/')
    )
}

/// A message received on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame: the event carries it in base64.
    Binary(&'a [u8]),
}

/// The event handed to the process for one message:
/// `{event: {id, type: "$wsMessage"}, channel, connection_id, message,
/// __callback_url, message_encoding?}` (in that order). `channel` is
/// [`channel::public_view`]; `message` is the text, or the base64
/// (standard alphabet, padded) of a binary message, which then adds
/// `message_encoding: "base64"`; `__callback_url` is the [`reply_url`].
pub fn message_event(
    channel: &Channel,
    event_id: &str,
    connection_id: &str,
    message: Message<'_>,
    reply_url: &str,
) -> Value {
    let (message, encoding) = match message {
        Message::Text(t) => (json!(t), None),
        Message::Binary(b) => (json!(crate::b64::encode(b)), Some("base64")),
    };
    let mut event = json!({
        "event": {"id": event_id, "type": MESSAGE_EVENT_TYPE},
        "channel": channel::public_view(channel),
        "connection_id": connection_id,
        "message": message,
        CALLBACK_URL_FIELD: reply_url,
    });
    if let Some(enc) = encoding {
        event["message_encoding"] = json!(enc);
    }
    event
}

/// Why an inbound WebSocket message cannot be handed to a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsForwardError {
    /// `recv_svcscriptcode_ws` is not an `http://` or `https://` URL.
    NoProcess,
    /// `PROCESS_ALLOWED_HOSTS` does not allow it (why).
    NotAllowed(Refused),
}

impl std::fmt::Display for WsForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsForwardError::NoProcess => f.write_str("recv_svcscriptcode_ws names no http process"),
            WsForwardError::NotAllowed(why) => write!(f, "recv_svcscriptcode_ws: {why}"),
        }
    }
}

/// The request that hands `event` to the channel's `recv_svcscriptcode_ws`
/// process: a POST of the event, read as a webhook (any 2xx takes it). The
/// process must be an `http://` or `https://` URL (the scheme in lower
/// case) that `allowed` (`PROCESS_ALLOWED_HOSTS`) allows, checked before
/// each message is handed over.
pub fn forward_message(
    channel: &Channel,
    event: &Value,
    allowed: &AllowList,
) -> Result<Forward, WsForwardError> {
    let url = &channel.recv_svcscriptcode_ws;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(WsForwardError::NoProcess);
    }
    check_destination(url, allowed).map_err(WsForwardError::NotAllowed)?;
    Ok(Forward {
        url: url.clone(),
        body: event.to_string(),
        headers: Vec::new(),
        protocol: Protocol::Webhook,
    })
}
