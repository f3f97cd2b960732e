//! The channel hub: one Durable Object per channel, named by the channel id.
//!
//! On an eventing channel it numbers and buffers events, fans them out to
//! WebSocket subscribers (hibernating: an idle subscriber costs nothing, and
//! `ping` is answered `pong` without waking the object) and turns them into
//! outbound deliveries for webhook subscribers. On a public channel it holds
//! the inbound WebSocket connections, hands each message to the channel's
//! process, and relays the process's replies, enforcing the limits.

use crate::clients::hub::{PUBLISH, SEND, SUBSCRIPTIONS, WS_INBOUND, WS_SUBSCRIBE};
use crate::clock::{now_iso, now_ms, random16};
use crate::ctx::Ctx;
use crate::process;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use syncbridge_core::error::RestError;
use syncbridge_core::eventing::{
    self, Buffer, Event, RateLimiter, Subscription, CLOSE_MESSAGE_TOO_BIG, CLOSE_POLICY_VIOLATION,
    CLOSE_TRY_AGAIN_LATER,
};
use syncbridge_core::outbound::{Delivery, Rendered, RetryPolicy};
use syncbridge_core::websocket::{self, Message};
use syncbridge_core::{ids, Settings};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair, WebSocketRequestResponsePair,
};

/// Storage keys.
const SEQ_KEY: &str = "seq";
const BUFFER_KEY: &str = "buffer";
const SUBS_KEY: &str = "subscriptions";
/// Tags of the two kinds of connections.
const SUBSCRIBER: &str = "subscriber";
const INBOUND: &str = "inbound";

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

/// The object's context: its bindings and the settings, or why the
/// settings could not be read (logged by the caller).
fn ctx(env: &Env) -> std::result::Result<Ctx, RestError> {
    Ctx::new(env.clone()).map_err(RestError::from)
}

fn settings(env: &Env) -> Result<Rc<Settings>> {
    ctx(env)
        .map(|c| c.settings)
        .map_err(|e| worker::Error::RustError(e.error_message))
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
            (Method::Post, PUBLISH) => {
                let v: Value = req.json().await?;
                let kind = v["type"].as_str().unwrap_or_default().to_string();
                let channel_id = query.get("channel").cloned().unwrap_or_default();
                let event = self.publish(&channel_id, kind, v["data"].clone()).await?;
                Response::from_json(&event)
            }
            (_, SUBSCRIPTIONS) => self.subscriptions(&mut req).await,
            (Method::Post, SEND) => {
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
            (_, WS_SUBSCRIBE) => self.accept_subscriber(&query).await,
            (_, WS_INBOUND) => self.accept_inbound(&query),
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
        let settings = match settings(&self.env) {
            Ok(s) => s,
            Err(e) => {
                // Nothing can be checked or handed over without settings.
                worker::console_error!(
                    "{}",
                    json!({"log": "ws_message_not_handed_over", "connection": state.connection_id, "error": e.to_string()})
                );
                return Ok(());
            }
        };
        let message = match &message {
            WebSocketIncomingMessage::String(s) => Message::Text(s),
            WebSocketIncomingMessage::Binary(b) => Message::Binary(b),
        };
        let size = match message {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
        };
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
        self.hand_to_process(&state, message).await;
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
        let settings = settings(&self.env)?;
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
    ) -> std::result::Result<(), RestError> {
        let ctx = ctx(&self.env)?;
        let store = ctx.store()?;
        let channel = store.channel(channel_id).await?;
        let now = now_ms();
        let d = Delivery::new(
            ids::uuid_v4(random16()),
            channel_id.to_string(),
            Rendered::json_post(&sub.url, body),
            RetryPolicy::for_channel(channel.as_ref()),
            None,
            now_iso(),
            now,
        );
        crate::deliveries::queue_new(&ctx.env, &store, &d, now).await
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
                crate::http::empty(204)
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
        let settings = settings(&self.env)?;
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
    async fn hand_to_process(&self, state: &InboundState, message: Message<'_>) {
        let outcome = async {
            let ctx = ctx(&self.env)?;
            let store = ctx.store()?;
            let channel = store
                .channel(&state.channel_id)
                .await?
                .ok_or_else(|| RestError::not_found("channel gone"))?;
            let reply_url =
                websocket::reply_url(&state.reply_base, &state.channel_id, &state.connection_id);
            let event = websocket::message_event(
                &channel,
                &ids::uuid_v4(random16()),
                &state.connection_id,
                message,
                &reply_url,
            );
            let f =
                websocket::forward_message(&channel, &event, &ctx.settings.process_allowed_hosts)
                    .map_err(|e| RestError::new(502, e.to_string()))?;
            match process::send(&f).await {
                syncbridge_core::engine::EngineReply::Accepted => Ok(()),
                syncbridge_core::engine::EngineReply::Refused(op) => {
                    Err(RestError::new(502, op.to_string()))
                }
                syncbridge_core::engine::EngineReply::Failed(d) => Err(RestError::new(502, d)),
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
