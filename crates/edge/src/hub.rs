//! The channel hub: one Durable Object per channel, named by the channel id.
//!
//! On an eventing channel it numbers and buffers events, fans them out to
//! WebSocket subscribers (hibernating: an idle subscriber costs nothing, and
//! `ping` is answered `pong` without waking the object) and turns them into
//! outbound deliveries for webhook subscribers. On a public channel it holds
//! the inbound WebSocket connections, hands each message to the channel's
//! process, and relays the process's replies, enforcing the limits.

use crate::http::{now_iso, now_ms, random16};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use syncbridge_core::channel::{self, Channel};
use syncbridge_core::eventing::{
    self, Buffer, Event, RateLimiter, Subscription, CLOSE_MESSAGE_TOO_BIG, CLOSE_POLICY_VIOLATION,
    CLOSE_TRY_AGAIN_LATER,
};
use syncbridge_core::outbound::{Delivery, DeliveryState, HttpMethod, Rendered};
use syncbridge_core::{ids, request_id, Settings};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair, WebSocketRequestResponsePair,
};

/// Binding name of the hub namespace.
pub const HUB: &str = "HUB";
const INTERNAL: &str = "https://hub.internal";
const SEQ_KEY: &str = "seq";
const BUFFER_KEY: &str = "buffer";
const SUBS_KEY: &str = "subscriptions";
/// Tags of the two kinds of connections.
const SUBSCRIBER: &str = "subscriber";
const INBOUND: &str = "inbound";
/// How long a connection's reply URL stays valid.
const REPLY_URL_TTL_S: u64 = 7 * 24 * 3600;

/// What a subscriber connection carries through hibernation.
#[derive(Debug, Serialize, Deserialize)]
struct SubscriberState {
    patterns: Vec<String>,
}

/// What an inbound connection carries through hibernation.
#[derive(Debug, Serialize, Deserialize)]
struct InboundState {
    connection_id: String,
    channel_id: String,
    /// `PUBLIC_URL` or the origin the connection came to: where replies go.
    reply_base: String,
}

fn stub(env: &Env, channel_id: &str) -> Result<worker::Stub> {
    env.durable_object(HUB)?
        .id_from_name(channel_id)?
        .get_stub()
}

fn internal(method: Method, path: &str, body: Option<String>) -> Result<Request> {
    crate::http::object_request(INTERNAL, method, path, body)
}

/// Publishes an event on `channel_id` (an eventing channel) and returns it.
pub async fn publish(env: &Env, channel_id: &str, kind: &str, data: Value) -> Result<Event> {
    let body = json!({"type": kind, "data": data}).to_string();
    let mut resp = stub(env, channel_id)?
        .fetch_with_request(internal(
            Method::Post,
            &format!("/publish?channel={channel_id}"),
            Some(body),
        )?)
        .await?;
    resp.json().await
}

/// Publishes a gateway event for `channel`'s traffic, if it names an
/// eventing channel; failures are logged, never the caller's problem.
pub async fn publish_gateway_event(env: &Env, channel: &Channel, kind: &str, data: Value) {
    let target = &channel.opts.eventing_channel;
    if target.is_empty() {
        return;
    }
    let mut data = data;
    data["channel_id"] = json!(channel.id);
    if let Err(e) = publish(env, target, kind, data).await {
        worker::console_error!(
            "{}",
            json!({"log": "publish_failed", "type": kind, "error": e.to_string()})
        );
    }
}

/// Forwards a WebSocket upgrade (or a subscription call) to the channel's hub.
pub async fn forward(env: &Env, channel_id: &str, req: Request) -> Result<Response> {
    stub(env, channel_id)?.fetch_with_request(req).await
}

/// Subscription calls: list, create, delete.
pub async fn subscriptions(
    env: &Env,
    channel_id: &str,
    method: Method,
    body: Option<String>,
) -> Result<Response> {
    stub(env, channel_id)?
        .fetch_with_request(internal(
            method,
            &format!("/subscriptions?channel={channel_id}"),
            body,
        )?)
        .await
}

/// A process's message to an inbound connection; 404 when it is gone.
pub async fn send_to_connection(
    env: &Env,
    channel_id: &str,
    connection_id: &str,
    message: &str,
) -> Result<Response> {
    let body = json!({"connection_id": connection_id, "message": message}).to_string();
    stub(env, channel_id)?
        .fetch_with_request(internal(Method::Post, "/send", Some(body))?)
        .await
}

#[durable_object]
pub struct ChannelHub {
    state: State,
    env: Env,
    /// Message rate per inbound connection. Kept in memory: hibernation
    /// resets it, which only ever forgives a connection.
    limiters: RefCell<HashMap<String, RateLimiter>>,
}

impl DurableObject for ChannelHub {
    fn new(state: State, env: Env) -> Self {
        // Answered by the runtime without waking the object.
        if let Ok(pair) = WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        ChannelHub {
            state,
            env,
            limiters: RefCell::new(HashMap::new()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let query: HashMap<String, String> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        match (req.method(), url.path()) {
            (Method::Post, "/publish") => {
                let v: Value = req.json().await?;
                let kind = v["type"].as_str().unwrap_or_default().to_string();
                let channel_id = query.get("channel").cloned().unwrap_or_default();
                let event = self.publish(&channel_id, kind, v["data"].clone()).await?;
                Response::from_json(&event)
            }
            (_, "/subscriptions") => self.subscriptions(&mut req).await,
            (Method::Post, "/send") => {
                let v: Value = req.json().await?;
                let id = v["connection_id"].as_str().unwrap_or_default();
                let msg = v["message"].as_str().unwrap_or_default();
                match self.state.get_websockets_with_tag(id).first() {
                    Some(ws) => {
                        ws.send_with_str(msg)?;
                        Response::from_json(&json!({"proc": "ok"}))
                    }
                    None => Response::error("connection closed", 410),
                }
            }
            (_, "/ws/subscribe") => self.accept_subscriber(&query).await,
            (_, "/ws/inbound") => self.accept_inbound(&query),
            _ => Response::error("unknown hub operation", 404),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Ok(Some(state)) = ws.deserialize_attachment::<InboundState>() else {
            // Subscribers only listen; what they send (besides ping) is ignored.
            return Ok(());
        };
        let settings = match crate::settings(&self.env) {
            Ok(s) => s,
            Err(_) => return Ok(()),
        };
        let (text, binary) = match &message {
            WebSocketIncomingMessage::String(s) => (Some(s.clone()), None),
            WebSocketIncomingMessage::Binary(b) => (None, Some(b.clone())),
        };
        let size = text
            .as_ref()
            .map(String::len)
            .or(binary.as_ref().map(Vec::len))
            .unwrap_or(0);
        if size > settings.ws_max_message_bytes {
            let _ = ws.close(
                Some(CLOSE_MESSAGE_TOO_BIG),
                Some(format!(
                    "message over {} bytes",
                    settings.ws_max_message_bytes
                )),
            );
            return Ok(());
        }
        let allowed = {
            let mut limiters = self.limiters.borrow_mut();
            let now = now_ms();
            limiters
                .entry(state.connection_id.clone())
                .or_insert_with(|| RateLimiter::new(settings.ws_max_messages_per_s, now))
                .allow(settings.ws_max_messages_per_s, now)
        };
        if !allowed {
            let _ = ws.close(
                Some(CLOSE_POLICY_VIOLATION),
                Some(format!(
                    "over {} messages per second",
                    settings.ws_max_messages_per_s
                )),
            );
            return Ok(());
        }
        self.hand_to_process(&state, text, binary).await;
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> Result<()> {
        if let Ok(Some(state)) = ws.deserialize_attachment::<InboundState>() {
            self.limiters.borrow_mut().remove(&state.connection_id);
        }
        Ok(())
    }
}

impl ChannelHub {
    async fn publish(&self, channel_id: &str, kind: String, data: Value) -> Result<Event> {
        let settings =
            crate::settings(&self.env).map_err(|e| worker::Error::RustError(e.description))?;
        let storage = self.state.storage();
        let seq: u64 = storage.get::<u64>(SEQ_KEY).await?.unwrap_or(0) + 1;
        let event = Event {
            id: seq.to_string(),
            kind,
            ts: now_iso(),
            data: if data.is_null() { json!({}) } else { data },
        };
        let mut buffer: Buffer = storage.get::<Buffer>(BUFFER_KEY).await?.unwrap_or_default();
        buffer.push(event.clone(), settings.event_buffer);
        storage.put(SEQ_KEY, seq).await?;
        storage.put(BUFFER_KEY, &buffer).await?;

        let text = serde_json::to_string(&event)?;
        for ws in self.state.get_websockets_with_tag(SUBSCRIBER) {
            let wanted = ws
                .deserialize_attachment::<SubscriberState>()
                .ok()
                .flatten()
                .is_none_or(|s| eventing::matches(&s.patterns, &event.kind));
            if wanted {
                // A subscriber that went away meanwhile is not the publisher's problem.
                let _ = ws.send_with_str(&text);
            }
        }
        let subs: Vec<Subscription> = storage.get(SUBS_KEY).await?.unwrap_or_default();
        for sub in subs
            .iter()
            .filter(|s| eventing::matches(&s.events, &event.kind))
        {
            if let Err(e) = self.deliver(channel_id, sub, &text).await {
                worker::console_error!(
                    "{}",
                    json!({"log": "subscription_delivery_failed", "subscription": sub.id, "error": e.error_message})
                );
            }
        }
        Ok(event)
    }

    /// Queues an event for a webhook subscriber, through the outbound
    /// delivery machinery (allow-list, signing, retries, log).
    async fn deliver(
        &self,
        channel_id: &str,
        sub: &Subscription,
        body: &str,
    ) -> std::result::Result<(), syncbridge_core::error::RestError> {
        let store = Store::new(&self.env)?;
        let channel = store.channel(channel_id).await?;
        let retry = channel
            .as_ref()
            .and_then(|c| c.opts.callback.as_ref())
            .map(|c| c.retry.clone())
            .unwrap_or_default();
        let now = now_ms();
        let d = Delivery {
            id: ids::uuid_v4(random16()),
            channel_id: channel_id.to_string(),
            state: DeliveryState::Pending,
            created_at: now_iso(),
            idempotency_key: None,
            request: Rendered {
                method: HttpMethod::Post,
                url: sub.url.clone(),
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: body.to_string(),
            },
            retry,
            attempts: Vec::new(),
            attempt_base: 0,
            next_attempt_at_ms: Some(now),
            error: None,
        };
        crate::outbound::queue_new(&self.env, &store, &d, now).await
    }

    async fn subscriptions(&self, req: &mut Request) -> Result<Response> {
        let storage = self.state.storage();
        let mut subs: Vec<Subscription> = storage.get(SUBS_KEY).await?.unwrap_or_default();
        match req.method() {
            Method::Get => Response::from_json(&subs),
            Method::Post => {
                let sub: Subscription = req.json().await?;
                subs.push(sub.clone());
                storage.put(SUBS_KEY, &subs).await?;
                Response::from_json(&sub)
            }
            Method::Delete => {
                let v: Value = req.json().await?;
                let id = v["id"].as_str().unwrap_or_default();
                let before = subs.len();
                subs.retain(|s| s.id != id);
                if subs.len() == before {
                    return Response::error("no such subscription", 404);
                }
                storage.put(SUBS_KEY, &subs).await?;
                Response::empty().map(|r| r.with_status(204))
            }
            _ => Response::error("method not allowed", 405),
        }
    }

    async fn accept_subscriber(&self, query: &HashMap<String, String>) -> Result<Response> {
        let patterns = query
            .get("patterns")
            .map(|p| serde_json::from_str::<Vec<String>>(p).unwrap_or_default())
            .unwrap_or_default();
        let pair = WebSocketPair::new()?;
        self.state
            .accept_websocket_with_tags(&pair.server, &[SUBSCRIBER]);
        pair.server.serialize_attachment(SubscriberState {
            patterns: patterns.clone(),
        })?;
        if let Some(last) = query.get("last_event_id") {
            // Sent before the upgrade is answered: the runtime queues them.
            let buffer: Buffer = self
                .state
                .storage()
                .get(BUFFER_KEY)
                .await?
                .unwrap_or_default();
            let replay = buffer.since(last);
            if replay.gap {
                pair.server.send_with_str(
                    json!({"type": "$gap", "data": {"last_event_id": last}}).to_string(),
                )?;
            }
            for e in replay
                .events
                .iter()
                .filter(|e| eventing::matches(&patterns, &e.kind))
            {
                pair.server.send_with_str(serde_json::to_string(e)?)?;
            }
        }
        Response::from_websocket(pair.client)
    }

    fn accept_inbound(&self, query: &HashMap<String, String>) -> Result<Response> {
        let settings =
            crate::settings(&self.env).map_err(|e| worker::Error::RustError(e.description))?;
        let channel_id = query.get("channel").cloned().unwrap_or_default();
        let pair = WebSocketPair::new()?;
        let full = self.state.get_websockets_with_tag(INBOUND).len() >= settings.ws_max_connections;
        let connection_id = query.get("connection_id").cloned().unwrap_or_default();
        self.state
            .accept_websocket_with_tags(&pair.server, &[INBOUND, &connection_id]);
        if full {
            pair.server.close(
                Some(CLOSE_TRY_AGAIN_LATER),
                Some(format!(
                    "over {} connections on this channel",
                    settings.ws_max_connections
                )),
            )?;
        } else {
            pair.server.serialize_attachment(InboundState {
                connection_id,
                channel_id,
                reply_base: query.get("reply_base").cloned().unwrap_or_default(),
            })?;
        }
        Response::from_websocket(pair.client)
    }

    /// Hands an inbound message to the channel's `recv_svcscriptcode_ws` process.
    async fn hand_to_process(
        &self,
        state: &InboundState,
        text: Option<String>,
        binary: Option<Vec<u8>>,
    ) {
        let outcome = async {
            let store = Store::new(&self.env)?;
            let channel = store
                .channel(&state.channel_id)
                .await?
                .ok_or_else(|| syncbridge_core::error::RestError::not_found("channel gone"))?;
            let url = channel.recv_svcscriptcode_ws.clone();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(syncbridge_core::error::RestError::new(
                    502,
                    "recv_svcscriptcode_ws names no http process",
                ));
            }
            let reply_url = format!(
                "{}/api/1/plugins/ws/{}/{}",
                state.reply_base.trim_end_matches('/'),
                state.channel_id,
                state.connection_id
            );
            let (message, encoding) = match (text, binary) {
                (Some(t), _) => (json!(t), None),
                (None, Some(b)) => {
                    use base64::Engine as _;
                    (
                        json!(base64::engine::general_purpose::STANDARD.encode(b)),
                        Some("base64"),
                    )
                }
                _ => (Value::Null, None),
            };
            let mut event = json!({
                "event": {"id": ids::uuid_v4(random16()), "type": "$wsMessage"},
                "channel": channel::public_view(&channel),
                "connection_id": state.connection_id,
                "message": message,
                "__callback_url": reply_url,
            });
            if let Some(enc) = encoding {
                event["message_encoding"] = json!(enc);
            }
            let f = syncbridge_core::engine::Forward {
                url,
                body: event.to_string(),
                headers: Vec::new(),
                protocol: syncbridge_core::engine::Protocol::Webhook,
            };
            match crate::forward::send(&f).await {
                syncbridge_core::engine::EngineReply::Accepted => Ok(()),
                syncbridge_core::engine::EngineReply::Refused(op) => {
                    Err(syncbridge_core::error::RestError::new(502, op.to_string()))
                }
                syncbridge_core::engine::EngineReply::Failed(d) => {
                    Err(syncbridge_core::error::RestError::new(502, d))
                }
            }
        };
        if let Err(e) = outcome.await {
            worker::console_error!(
                "{}",
                json!({"log": "ws_message_not_handed_over", "connection": state.connection_id, "error": e.error_message})
            );
        }
    }
}

/// A new inbound connection's id: a MAC'd token that the reply route checks
/// before it reaches the hub, so connection ids cannot be guessed.
pub fn new_connection_id(settings: &Settings, channel_id: &str) -> String {
    request_id::issue(
        &settings.callback_secret,
        random16(),
        now_ms() / 1000 + REPLY_URL_TTL_S,
        &format!("ws:{channel_id}"),
    )
}

/// Checks a reply route's connection id for `channel_id`.
pub fn connection_id_ok(settings: &Settings, channel_id: &str, connection_id: &str) -> bool {
    request_id::verify(&settings.callback_secret, connection_id, now_ms() / 1000, 0)
        .is_ok_and(|v| v.owned_by(&settings.callback_secret, &format!("ws:{channel_id}")))
}
