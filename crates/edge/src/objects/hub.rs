//! The channel hub: one Durable Object per channel, named by the channel id.
//!
//! On an eventing channel it numbers and buffers events, fans them out to
//! WebSocket subscribers (hibernating: an idle subscriber costs nothing, and
//! `ping` is answered `pong` without waking the object) and turns them into
//! outbound deliveries for webhook subscribers. On a public channel it holds
//! the inbound WebSocket connections, hands each message to the channel's
//! process, and relays the process's replies, enforcing the limits.
//!
//! Storage: tables in the object's own SQLite database, created on first
//! use ([`SCHEMA`]): the event sequence (`hub_meta`), one row per buffered
//! event (`events`: inserting one is one row written, never a rewrite; the
//! oldest are deleted beyond `EVENT_BUFFER` or `EVENT_BUFFER_BYTES`) and
//! one row per webhook subscription (`subscriptions`). Older versions kept
//! all three as single storage values (keys `seq`, `buffer`,
//! `subscriptions`); a hub that still has them moves them into the tables
//! on first use and deletes them.

use crate::clients::hub::{PUBLISH, SEND, SUBSCRIPTIONS, WS_INBOUND, WS_SUBSCRIBE};
use crate::clock::{now_iso, now_ms, random16};
use crate::ctx::Ctx;
use crate::http;
use crate::process;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use syncbridge_core::error::RestError;
use syncbridge_core::eventing::{
    self, Buffer, BufferLimits, Event, RateLimiter, Subscription, CLOSE_MESSAGE_TOO_BIG,
    CLOSE_POLICY_VIOLATION, CLOSE_TRY_AGAIN_LATER,
};
use syncbridge_core::outbound::{Delivery, Rendered, RetryPolicy};
use syncbridge_core::websocket::{self, Message};
use syncbridge_core::{ids, Settings};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    WebSocketRequestResponsePair,
};
use worker::{js_sys, wasm_bindgen::JsCast, wasm_bindgen::JsValue, worker_sys::web_sys};

/// The hub's tables, created on first use.
const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, bytes INTEGER NOT NULL, \
     doc TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, doc TEXT NOT NULL)",
];
/// Storage keys of older versions, moved into the tables on first use.
const SEQ_KEY: &str = "seq";
const BUFFER_KEY: &str = "buffer";
const SUBS_KEY: &str = "subscriptions";
/// Tags of the two kinds of connections.
const SUBSCRIBER: &str = "subscriber";
const INBOUND: &str = "inbound";

/// A row of one number.
#[derive(Deserialize)]
struct Number {
    n: Option<u64>,
}

/// The buffer's size.
#[derive(Deserialize)]
struct Totals {
    n: usize,
    bytes: usize,
}

/// A dropped event's size.
#[derive(Deserialize)]
struct Size {
    bytes: usize,
}

/// A buffered event's key and size.
#[derive(Deserialize)]
struct EventSize {
    seq: u64,
    bytes: usize,
}

/// A stored JSON document.
#[derive(Deserialize)]
struct Doc {
    doc: String,
}

/// An integer argument of a statement.
fn int(n: u64) -> SqlStorageValue {
    // Sequence numbers and sizes stay far below 2^53, the exact range of JS numbers.
    SqlStorageValue::Integer(n.min(1 << 53) as i64)
}

/// A caller-facing refusal, in the channel API's error shape, for the route to pass on.
fn refusal(e: &RestError) -> Result<Response> {
    crate::http::rest_error(e)
}

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
    /// True once this instance has made its tables (and moved older storage).
    storage_ready: Cell<bool>,
    /// The buffer's event count and bytes, kept as events are added and
    /// dropped so that a publish reads no other row; `None` until this
    /// instance has counted them once (and after any failed trim).
    totals: Cell<Option<(usize, usize)>>,
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
            storage_ready: Cell::new(false),
            totals: Cell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.inner().url();
        // Inserted one by one (the last of a repeated name wins): a
        // collected map would carry a sort into the wasm.
        let mut query = BTreeMap::new();
        for (k, v) in syncbridge_core::route::query_pairs(&url) {
            query.insert(k, v);
        }
        match (req.method(), syncbridge_core::route::path_of(&url)) {
            (Method::Post, PUBLISH) => {
                let v: Value = crate::http::request_json(&req).await?;
                let kind = v["type"].as_str().unwrap_or_default().to_string();
                let channel_id = query.get("channel").cloned().unwrap_or_default();
                self.publish(&channel_id, kind, v["data"].clone()).await
            }
            (_, SUBSCRIPTIONS) => self.subscriptions(&mut req).await,
            (Method::Post, SEND) => {
                let v: Value = crate::http::request_json(&req).await?;
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
                http::log_error(&[
                    ("log", http::Field::Str("ws_message_not_handed_over")),
                    ("connection", http::Field::Str(&state.connection_id)),
                    ("error", http::Field::Str(&e.to_string())),
                ]);
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
    /// The object's SQL storage, its tables made (and older storage moved
    /// into them) on this instance's first use.
    async fn sql(&self) -> Result<SqlStorage> {
        let sql = self.state.storage().sql();
        if !self.storage_ready.get() {
            for statement in SCHEMA {
                sql.exec(statement, None)?;
            }
            self.move_old_storage(&sql).await?;
            self.storage_ready.set(true);
        }
        Ok(sql)
    }

    /// Moves the storage values of older versions (`seq`, `buffer`,
    /// `subscriptions`) into the tables, then deletes them. Nothing is
    /// overwritten: rows already there win, and the sequence only grows, so
    /// running it twice changes nothing.
    async fn move_old_storage(&self, sql: &SqlStorage) -> Result<()> {
        let storage = self.state.storage();
        let seq: Option<u64> = storage.get(SEQ_KEY).await?;
        let buffer: Option<Buffer> = storage.get(BUFFER_KEY).await?;
        let subs: Option<Vec<Subscription>> = storage.get(SUBS_KEY).await?;
        if seq.is_none() && buffer.is_none() && subs.is_none() {
            return Ok(());
        }
        let mut top = seq.unwrap_or(0);
        let events = buffer.unwrap_or_default().events;
        for e in &events {
            let Some(id) = eventing::parse_id(&e.id) else {
                continue;
            };
            let doc = serde_json::to_string(e)?;
            sql.exec(
                "INSERT OR IGNORE INTO events (seq, bytes, doc) VALUES (?, ?, ?)",
                vec![int(id), int(doc.len() as u64), doc.into()],
            )?;
            top = top.max(id);
        }
        sql.exec(
            "INSERT INTO hub_meta (key, value) VALUES ('seq', ?) \
             ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)",
            vec![int(top)],
        )?;
        let subs = subs.unwrap_or_default();
        for sub in &subs {
            sql.exec(
                "INSERT OR IGNORE INTO subscriptions (id, doc) VALUES (?, ?)",
                vec![sub.id.as_str().into(), serde_json::to_string(sub)?.into()],
            )?;
        }
        let settings = settings(&self.env)?;
        trim(sql, &BufferLimits::of(&settings), &self.totals, 0)?;
        storage
            .delete_multiple(vec![SEQ_KEY, BUFFER_KEY, SUBS_KEY])
            .await?;
        http::log_info(&[
            ("log", http::Field::Str("hub_storage_moved")),
            ("events", http::Field::Num(events.len() as u64)),
            ("subscriptions", http::Field::Num(subs.len() as u64)),
            ("seq", http::Field::Num(top as u64)),
        ]);
        Ok(())
    }

    /// Numbers an event, buffers it (one row), sends it to the matching
    /// WebSocket subscribers and queues a delivery for each matching webhook
    /// subscription. An event over `EVENT_MAX_BYTES` is refused (413); a
    /// full buffer drops its oldest events instead of refusing.
    async fn publish(&self, channel_id: &str, kind: String, data: Value) -> Result<Response> {
        let settings = settings(&self.env)?;
        let data = if data.is_null() { json!({}) } else { data };
        if let Err(e) = eventing::check_event_size(&kind, &data, settings.event_max_bytes) {
            return refusal(&e);
        }
        let sql = self.sql().await?;
        let seq = sql
            .exec(
                "INSERT INTO hub_meta (key, value) VALUES ('seq', 1) \
                 ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value AS n",
                None,
            )?
            .one::<Number>()?
            .n
            .unwrap_or(1);
        let event = Event {
            id: seq.to_string(),
            kind,
            ts: now_iso(),
            data,
        };
        let text = serde_json::to_string(&event)?;
        sql.exec(
            "INSERT INTO events (seq, bytes, doc) VALUES (?, ?, ?)",
            vec![int(seq), int(text.len() as u64), text.as_str().into()],
        )?;
        trim(&sql, &BufferLimits::of(&settings), &self.totals, text.len())?;

        fan_out(
            &self.state.get_websockets_with_tag(SUBSCRIBER),
            &event.kind,
            &text,
        );
        let subs: Vec<Subscription> = subscriptions(&sql)?
            .into_iter()
            .filter(|s| eventing::matches(&s.events, &event.kind))
            .collect();
        if !subs.is_empty() {
            if let Err(e) = self
                .queue_for_subscribers(channel_id, &subs, &event, &text)
                .await
            {
                http::log_error(&[
                    ("log", http::Field::Str("subscription_delivery_failed")),
                    ("event", http::Field::Str(&event.id)),
                    ("error", http::Field::Str(&e.error_message)),
                ]);
            }
        }
        Response::from_json(&event)
    }

    /// Queues an event for its webhook subscribers, through the outbound
    /// delivery machinery (allow-list, signing, retries, log). Each
    /// delivery is marked with the event's type, so that one carrying a
    /// gateway event never reports its own end as another.
    async fn queue_for_subscribers(
        &self,
        channel_id: &str,
        subs: &[Subscription],
        event: &Event,
        body: &str,
    ) -> std::result::Result<(), RestError> {
        let ctx = ctx(&self.env)?;
        let store = ctx.store()?;
        let channel = store.channel(channel_id).await?;
        for sub in subs {
            let now = now_ms();
            let d = Delivery::new(
                ids::uuid_v4(random16()),
                channel_id.to_string(),
                Rendered::json_post(&sub.url, body),
                RetryPolicy::for_channel(channel.as_ref()),
                None,
                now_iso(),
                now,
            )
            .carrying(&event.kind);
            if let Err(e) = crate::outbound::queue_new(&ctx.env, &store, &d, now).await {
                http::log_error(&[
                    ("log", http::Field::Str("subscription_delivery_failed")),
                    ("subscription", http::Field::Str(&sub.id)),
                    ("error", http::Field::Str(&e.error_message)),
                ]);
            }
        }
        Ok(())
    }

    async fn subscriptions(&self, req: &mut Request) -> Result<Response> {
        let sql = self.sql().await?;
        match req.method() {
            Method::Get => Response::from_json(&subscriptions(&sql)?),
            Method::Post => {
                let settings = settings(&self.env)?;
                let count = sql
                    .exec("SELECT COUNT(*) AS n FROM subscriptions", None)?
                    .one::<Number>()?
                    .n
                    .unwrap_or(0);
                if count >= settings.max_subscriptions as u64 {
                    return refusal(&RestError::conflict(format!(
                        "This channel has {} webhook subscriptions, the most it takes \
                         (MAX_SUBSCRIPTIONS); delete one first",
                        settings.max_subscriptions
                    )));
                }
                let sub: Subscription = crate::http::request_json(req).await?;
                sql.exec(
                    "INSERT INTO subscriptions (id, doc) VALUES (?, ?)",
                    vec![sub.id.as_str().into(), serde_json::to_string(&sub)?.into()],
                )?;
                Response::from_json(&sub)
            }
            Method::Delete => {
                let v: Value = crate::http::request_json(req).await?;
                let id = v["id"].as_str().unwrap_or_default();
                let gone: Vec<Doc> = sql
                    .exec(
                        "DELETE FROM subscriptions WHERE id = ? RETURNING doc",
                        vec![id.into()],
                    )?
                    .to_array()?;
                if gone.is_empty() {
                    return refusal(&RestError::not_found(format!(
                        "No subscription with id {id}"
                    )));
                }
                crate::http::empty(204)
            }
            _ => Response::error("method not allowed", 405),
        }
    }

    async fn accept_subscriber(&self, query: &BTreeMap<String, String>) -> Result<Response> {
        let settings = settings(&self.env)?;
        let pair = WebSocketPair::new()?;
        let subscribers = self.state.get_websockets_with_tag(SUBSCRIBER).len();
        if subscribers >= settings.ws_max_subscribers {
            return refuse(
                pair,
                format!(
                    "over {} subscribers on this channel",
                    settings.ws_max_subscribers
                ),
            );
        }
        let patterns = query
            .get("patterns")
            .map(|p| serde_json::from_slice::<Vec<String>>(p.as_bytes()).unwrap_or_default())
            .unwrap_or_default();
        self.state
            .accept_websocket_with_tags(&pair.server, &[SUBSCRIBER]);
        pair.server.serialize_attachment(SubscriberState {
            patterns: patterns.clone(),
        })?;
        // The route refuses an id that is not a number (400) before the upgrade.
        if let Some((raw, last)) = query
            .get("last_event_id")
            .and_then(|raw| eventing::parse_id(raw).map(|last| (raw, last)))
        {
            // Sent before the upgrade is answered: the runtime queues them.
            let sql = self.sql().await?;
            let missed: Vec<Doc> = sql
                .exec(
                    "SELECT doc FROM events WHERE seq > ? ORDER BY seq",
                    vec![int(last)],
                )?
                .to_array()?;
            let oldest = sql
                .exec("SELECT MIN(seq) AS n FROM events", None)?
                .one::<Number>()?
                .n;
            if eventing::replay_gap(last, oldest, !missed.is_empty()) {
                pair.server.send_with_str(
                    json!({"type": "$gap", "data": {"last_event_id": raw}}).to_string(),
                )?;
            }
            for row in missed {
                let wanted = serde_json::from_slice::<Event>(row.doc.as_bytes())
                    .is_ok_and(|e| eventing::matches(&patterns, &e.kind));
                if wanted {
                    pair.server.send_with_str(&row.doc)?;
                }
            }
        }
        Response::from_websocket(pair.client)
    }

    fn accept_inbound(&self, query: &BTreeMap<String, String>) -> Result<Response> {
        let settings = settings(&self.env)?;
        let pair = WebSocketPair::new()?;
        if self.state.get_websockets_with_tag(INBOUND).len() >= settings.ws_max_connections {
            return refuse(
                pair,
                format!(
                    "over {} connections on this channel",
                    settings.ws_max_connections
                ),
            );
        }
        let channel_id = query.get("channel").cloned().unwrap_or_default();
        let connection_id = query.get("connection_id").cloned().unwrap_or_default();
        self.state
            .accept_websocket_with_tags(&pair.server, &[INBOUND, &connection_id]);
        pair.server.serialize_attachment(InboundState {
            connection_id,
            channel_id,
            reply_base: query.get("reply_base").cloned().unwrap_or_default(),
        })?;
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
            http::log_error(&[
                ("log", http::Field::Str("ws_message_not_handed_over")),
                ("connection", http::Field::Str(&state.connection_id)),
                ("error", http::Field::Str(&e.error_message)),
            ]);
        }
    }
}

/// Completes the upgrade of a connection over a limit and closes it at once
/// with 1013 Try Again Later. The socket is accepted by this instance, not
/// through the Hibernation API, so that it is not counted among the
/// channel's connections and its TCP connection ends with the close
/// handshake (a hibernatable socket closed before its upgrade was answered
/// kept it open ~10 s; one closed later, for a message too big, does not).
fn refuse(pair: WebSocketPair, reason: String) -> Result<Response> {
    pair.server.accept()?;
    pair.server
        .close(Some(CLOSE_TRY_AGAIN_LATER), Some(reason))?;
    Response::from_websocket(pair.client)
}

/// The webhook subscriptions, oldest first.
fn subscriptions(sql: &SqlStorage) -> Result<Vec<Subscription>> {
    let rows: Vec<Doc> = sql
        .exec("SELECT doc FROM subscriptions ORDER BY rowid", None)?
        .to_array()?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_slice(r.doc.as_bytes()).ok())
        .collect())
}

/// Sends `text` (an event of type `kind`) to each subscriber whose patterns
/// match. The text crosses into JavaScript once, and each socket's `send`
/// is called with that one string, instead of converting it per subscriber.
fn fan_out(subscribers: &[WebSocket], kind: &str, text: &str) {
    let Some(first) = subscribers.first() else {
        return;
    };
    let js_text = JsValue::from_str(text);
    let first: &web_sys::WebSocket = first.as_ref();
    let send = js_sys::Reflect::get(first, &JsValue::from_str("send"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    for ws in subscribers {
        let wanted = ws
            .deserialize_attachment::<SubscriberState>()
            .ok()
            .flatten()
            .is_none_or(|s| eventing::matches(&s.patterns, kind));
        if !wanted {
            continue;
        }
        // A subscriber that went away meanwhile is not the publisher's problem.
        let raw: &web_sys::WebSocket = ws.as_ref();
        match &send {
            Some(f) => drop(f.call1(raw, &js_text)),
            None => drop(ws.send_with_str(text)),
        }
    }
}

/// Deletes the oldest events while the buffer is over `limits`
/// ([`eventing::drop_through`] decides, reading only the rows it drops),
/// just after an event of `added` bytes was inserted. The buffer's totals
/// are counted once per instance and then kept in `totals`, so a publish
/// that drops nothing reads no row.
fn trim(
    sql: &SqlStorage,
    limits: &BufferLimits,
    totals: &Cell<Option<(usize, usize)>>,
    added: usize,
) -> Result<()> {
    // Unknown until this trim succeeds.
    let (n, bytes) = match totals.take() {
        Some((n, bytes)) => (n + 1, bytes + added),
        None => {
            let t = sql
                .exec(
                    "SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM events",
                    None,
                )?
                .one::<Totals>()?;
            (t.n, t.bytes)
        }
    };
    if limits.holds(n, bytes) {
        totals.set(Some((n, bytes)));
        return Ok(());
    }
    let oldest_first = sql
        .exec("SELECT seq, bytes FROM events ORDER BY seq", None)?
        .next::<EventSize>()
        .map_while(|row| row.ok())
        .map(|row| (row.seq, row.bytes));
    let (mut kept_n, mut kept_bytes) = (n, bytes);
    if let Some(last) = eventing::drop_through(n, bytes, limits, oldest_first) {
        let dropped: Vec<Size> = sql
            .exec(
                "DELETE FROM events WHERE seq <= ? RETURNING bytes",
                vec![int(last)],
            )?
            .to_array()?;
        kept_n -= dropped.len().min(kept_n);
        kept_bytes -= dropped
            .iter()
            .map(|d| d.bytes)
            .sum::<usize>()
            .min(kept_bytes);
    }
    totals.set(Some((kept_n, kept_bytes)));
    Ok(())
}
