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

mod fan_out;

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
    self, Buffer, BufferIndex, BufferLimits, Event, RateLimiter, Subscription,
    CLOSE_MESSAGE_TOO_BIG, CLOSE_POLICY_VIOLATION, CLOSE_TRY_AGAIN_LATER,
};
use syncbridge_core::outbound::{Delivery, Rendered, RetryPolicy};
use syncbridge_core::websocket::{self, Message};
use syncbridge_core::{ids, Settings};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    WebSocketRequestResponsePair,
};

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
    /// The sequence and each buffered event's id and size, read once per
    /// instance and then kept as events are added and dropped, so that a
    /// publish reads no row; `None` until read (and after a failed write).
    index: RefCell<Option<BufferIndex>>,
    /// The webhook subscriptions, read once per instance; dropped (read
    /// again on the next publish) when one is added or deleted.
    subs: RefCell<Option<Rc<Vec<Subscription>>>>,
    /// False once this instance has seen that every subscriber socket
    /// carries the tag of its kind ([`fan_out::ALL`] or [`fan_out::SOME`]):
    /// sockets accepted by older versions carry only [`SUBSCRIBER`].
    untagged: Cell<bool>,
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
            index: RefCell::new(None),
            subs: RefCell::new(None),
            untagged: Cell::new(true),
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
                let data = crate::http::request_bytes(&req).await?;
                let data = String::from_utf8(data)
                    .map_err(|_| worker::Error::RustError("event data is not UTF-8".into()))?;
                let kind = query.get("type").cloned().unwrap_or_default();
                let channel_id = query.get("channel").cloned().unwrap_or_default();
                self.publish(&channel_id, kind, data).await
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
        let mut index = load_index(sql)?;
        if let Some(last) = index.trim(&BufferLimits::of(&settings)) {
            sql.exec("DELETE FROM events WHERE seq <= ?", vec![int(last)])?;
        }
        // A publish during this move's awaits may have read the rows before it.
        self.index.replace(None);
        self.subs.replace(None);
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
    /// subscription. `data` is its data as compact JSON, written into the
    /// event's text as it is (the worker serialised it); the answer is that
    /// text. An event over `EVENT_MAX_BYTES` is refused (413); a full buffer
    /// drops its oldest events instead of refusing.
    async fn publish(&self, channel_id: &str, kind: String, data: String) -> Result<Response> {
        let settings = settings(&self.env)?;
        let data = match data.trim() {
            "" | "null" => "{}".to_owned(),
            _ => data,
        };
        if let Err(e) = eventing::check_event_len(&kind, data.len(), settings.event_max_bytes) {
            return refusal(&e);
        }
        let sql = self.sql().await?;
        let (id, text) = match self.buffer(&sql, &BufferLimits::of(&settings), &kind, &data) {
            Ok(done) => done,
            Err(e) => {
                // Read again from the rows on the next publish.
                self.index.replace(None);
                return Err(e);
            }
        };

        if self.untagged.get() {
            self.untagged.set(fan_out::untagged(&self.state));
        }
        if self.untagged.get() {
            fan_out::by_attachment(
                &self.state.get_websockets_with_tag(SUBSCRIBER),
                &kind,
                &text,
            );
        } else {
            fan_out::send(&self.state, &kind, &text);
        }
        let subs: Vec<Subscription> = self
            .subscriptions_of(&sql)?
            .iter()
            .filter(|s| eventing::matches(&s.events, &kind))
            .cloned()
            .collect();
        if !subs.is_empty() {
            if let Err(e) = self
                .queue_for_subscribers(channel_id, &subs, &kind, &text)
                .await
            {
                http::log_error(&[
                    ("log", http::Field::Str("subscription_delivery_failed")),
                    ("event", http::Field::Str(&id.to_string())),
                    ("error", http::Field::Str(&e.error_message)),
                ]);
            }
        }
        crate::http::json_text(200, text)
    }

    /// Numbers the event and writes its row (one insert), then drops the
    /// oldest rows beyond `limits` (one delete, when any): the event's id and
    /// text. The sequence is the newest row's id; it is also written apart
    /// (`hub_meta`) only when the buffer is left empty.
    fn buffer(
        &self,
        sql: &SqlStorage,
        limits: &BufferLimits,
        kind: &str,
        data: &str,
    ) -> Result<(u64, String)> {
        let mut slot = self.index.borrow_mut();
        let index = match slot.as_mut() {
            Some(index) => index,
            None => slot.insert(load_index(sql)?),
        };
        let id = index.next_id();
        let text = eventing::event_json(id, kind, &now_iso(), data);
        sql.exec(
            "INSERT INTO events (seq, bytes, doc) VALUES (?, ?, ?)",
            vec![int(id), int(text.len() as u64), text.as_str().into()],
        )?;
        if let Some(last) = index.push(text.len(), limits) {
            if last >= id {
                sql.exec(
                    "INSERT INTO hub_meta (key, value) VALUES ('seq', ?) \
                     ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)",
                    vec![int(id)],
                )?;
            }
            sql.exec("DELETE FROM events WHERE seq <= ?", vec![int(last)])?;
        }
        Ok((id, text))
    }

    /// The webhook subscriptions, oldest first: read once per instance.
    fn subscriptions_of(&self, sql: &SqlStorage) -> Result<Rc<Vec<Subscription>>> {
        if let Some(subs) = self.subs.borrow().as_ref() {
            return Ok(subs.clone());
        }
        let subs = Rc::new(subscriptions(sql)?);
        self.subs.replace(Some(subs.clone()));
        Ok(subs)
    }

    /// Queues an event for its webhook subscribers, through the outbound
    /// delivery machinery (allow-list, signing, retries, log). Each
    /// delivery is marked with the event's type, so that one carrying a
    /// gateway event never reports its own end as another.
    async fn queue_for_subscribers(
        &self,
        channel_id: &str,
        subs: &[Subscription],
        kind: &str,
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
            .carrying(kind);
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
        let answer = self.subscription_call(req).await;
        if req.method() != Method::Get {
            // Read again on the next publish, whatever this call changed. After
            // it, not before: a publish during its awaits may have read them.
            self.subs.replace(None);
        }
        answer
    }

    async fn subscription_call(&self, req: &mut Request) -> Result<Response> {
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
        let kind = if eventing::wants_all(&patterns) {
            fan_out::ALL
        } else {
            fan_out::SOME
        };
        self.state
            .accept_websocket_with_tags(&pair.server, &[SUBSCRIBER, kind]);
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

/// The buffer's index, read from the rows and the stored sequence.
fn load_index(sql: &SqlStorage) -> Result<BufferIndex> {
    let seq = sql
        .exec("SELECT value AS n FROM hub_meta WHERE key = 'seq'", None)?
        .to_array::<Number>()?
        .first()
        .and_then(|row| row.n)
        .unwrap_or(0);
    let rows = sql
        .exec("SELECT seq, bytes FROM events", None)?
        .next::<EventSize>()
        .map(|row| row.map(|r| (r.seq, r.bytes)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(BufferIndex::new(seq, rows))
}
