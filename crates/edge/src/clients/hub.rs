//! Talking to a `ChannelHub` object (one per channel id): publish an event,
//! manage webhook subscriptions, hand over a WebSocket upgrade, send to an
//! inbound connection.

use crate::http::{internal, object_request};
use serde_json::{json, Value};
use syncbridge_core::error::RestError;
use worker::{Env, Headers, Method, Request, Response, Result, Stub};

/// Names the object kind in traces; never fetched.
const BASE: &str = "https://hub.internal";
/// `POST ?channel=&type=`, the body the event's data as compact JSON: publish
/// → the numbered `Event` as JSON (413 in the channel API's error shape when
/// it is over `EVENT_MAX_BYTES`).
pub const PUBLISH: &str = "/publish";
/// `GET` (list), `POST` (a `Subscription`; 409 over `MAX_SUBSCRIPTIONS`),
/// `DELETE` (`{"id"}`; 404 when there is none), `?channel=`. Refusals are in
/// the channel API's error shape.
pub const SUBSCRIPTIONS: &str = "/subscriptions";
/// `POST {"connection_id", "message"}`: send on an inbound connection (410 when gone).
pub const SEND: &str = "/send";
/// WebSocket upgrade of a subscriber: `?channel=&patterns=[json]&last_event_id=`.
pub const WS_SUBSCRIBE: &str = "/ws/subscribe";
/// WebSocket upgrade of an inbound connection: `?channel=&connection_id=&reply_base=`.
pub const WS_INBOUND: &str = "/ws/inbound";

fn stub(env: &Env, channel_id: &str) -> Result<Stub> {
    crate::env::hub(env)?.id_from_name(channel_id)?.get_stub()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The hub's answer when it is a success; its refusal (a 4xx in the
/// channel API's error shape) as that error; anything else as a 500.
async fn checked(answer: Result<Response>) -> std::result::Result<Response, RestError> {
    let resp = answer.map_err(internal)?;
    let status = resp.status_code();
    if status < 400 {
        return Ok(resp);
    }
    let body = crate::http::body_bytes(resp).await.unwrap_or_default();
    let text = String::from_utf8(body).unwrap_or_default();
    let refusal = serde_json::from_slice::<Value>(text.as_bytes())
        .ok()
        .and_then(|v| v["error_message"].as_str().map(str::to_owned));
    Err(match refusal {
        Some(message) if status < 500 => RestError::new(status, message),
        _ => RestError::internal(format!(
            "the channel hub answered {status}: {}",
            text.chars().take(200).collect::<String>()
        )),
    })
}

/// Publishes an event on `channel_id` (an eventing channel): `data_json` is
/// its data, already serialised (compact JSON). Returns the numbered event
/// as the JSON text its subscribers got, not parsed again.
pub async fn publish(
    env: &Env,
    channel_id: &str,
    kind: &str,
    data_json: String,
) -> std::result::Result<String, RestError> {
    let path = format!("{PUBLISH}?channel={}&type={}", enc(channel_id), enc(kind));
    let request = object_request(BASE, Method::Post, &path, Some(data_json)).map_err(internal)?;
    let answer = match stub(env, channel_id) {
        Ok(stub) => stub.fetch_with_request(request).await,
        Err(e) => Err(e),
    };
    let bytes = crate::http::body_bytes(checked(answer).await?)
        .await
        .map_err(internal)?;
    String::from_utf8(bytes).map_err(|_| RestError::internal("the channel hub answered non-UTF-8"))
}

/// A subscription call: list (`GET`), create (`POST`), delete (`DELETE`).
pub async fn subscriptions(
    env: &Env,
    channel_id: &str,
    method: Method,
    body: Option<String>,
) -> std::result::Result<Response, RestError> {
    let path = format!("{SUBSCRIPTIONS}?channel={}", enc(channel_id));
    let request = object_request(BASE, method, &path, body).map_err(internal)?;
    let answer = match stub(env, channel_id) {
        Ok(stub) => stub.fetch_with_request(request).await,
        Err(e) => Err(e),
    };
    checked(answer).await
}

/// A process's message to an inbound connection; 410 when it is gone.
pub async fn send_to_connection(
    env: &Env,
    channel_id: &str,
    connection_id: &str,
    message: &str,
) -> Result<Response> {
    let body = json!({"connection_id": connection_id, "message": message}).to_string();
    stub(env, channel_id)?
        .fetch_with_request(object_request(BASE, Method::Post, SEND, Some(body))?)
        .await
}

/// What a WebSocket upgrade asks the hub for.
pub enum Upgrade<'a> {
    /// A subscriber to an eventing channel's events.
    Subscriber {
        patterns: &'a [String],
        last_event_id: Option<&'a str>,
    },
    /// An inbound connection to a public channel's process.
    Inbound {
        connection_id: &'a str,
        reply_base: &'a str,
    },
}

/// Hands the caller's WebSocket upgrade (its headers) to the channel's hub.
pub async fn upgrade(
    env: &Env,
    channel_id: &str,
    caller: &Request,
    upgrade: Upgrade<'_>,
) -> Result<Response> {
    let mut target = match upgrade {
        Upgrade::Subscriber { .. } => format!("{BASE}{WS_SUBSCRIBE}"),
        Upgrade::Inbound { .. } => format!("{BASE}{WS_INBOUND}"),
    };
    target.push_str(&format!("?channel={}", enc(channel_id)));
    match upgrade {
        Upgrade::Subscriber {
            patterns,
            last_event_id,
        } => {
            let patterns = serde_json::to_string(patterns).unwrap_or_default();
            target.push_str(&format!("&patterns={}", enc(&patterns)));
            if let Some(last) = last_event_id {
                target.push_str(&format!("&last_event_id={}", enc(last)));
            }
        }
        Upgrade::Inbound {
            connection_id,
            reply_base,
        } => {
            target.push_str(&format!(
                "&connection_id={}&reply_base={}",
                enc(connection_id),
                enc(reply_base)
            ));
        }
    }
    let headers = Headers::new();
    for (k, v) in caller.headers().entries() {
        headers.append(&k, &v)?;
    }
    let inner = crate::http::new_request(&target, "GET", &headers, None, false)?;
    stub(env, channel_id)?.fetch_with_request(inner).await
}
