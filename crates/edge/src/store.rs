//! D1 access: channels, the inbound request log and outbound deliveries.
//! SQL that depends on a caller's input (the channel list) is built by the
//! core; the fixed statements live here. Channels read by a webhook's URL
//! key, or by id for a send, are kept in the isolate's cache
//! (`core::channel::cache`) for `CHANNEL_CACHE_MS`; a change or deletion
//! through this store drops them.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::cell::RefCell;
use syncbridge_core::channel::cache::{CacheKey, ChannelCache};
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::{Delivery, DeliveryState};
use syncbridge_core::request_log::Listing;
use syncbridge_core::stats::{RequestCount, StateCount};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

pub struct Store {
    db: D1Database,
}

thread_local! {
    /// The isolate's channels by webhook URL key or id (see the module's doc).
    static CHANNELS: RefCell<ChannelCache> = RefCell::new(ChannelCache::default());
}

/// What reading a channel by key gives.
type ChannelRead = Result<Option<Channel>, RestError>;

/// Drops the isolate's cached entries of a channel that changed here (and
/// keeps any read already under way from putting it back).
fn forget_channel(id: &str) {
    CHANNELS.with(|c| c.borrow_mut().forget(id));
}

/// An inbound request's row, as written.
pub struct RequestRow<'a> {
    pub id: &'a str,
    pub channel_id: &'a str,
    pub received_at_ms: u64,
    pub expires_at_ms: u64,
    /// The summary the list shows.
    pub doc: &'a Value,
    /// The summary's outcome, also a column of its own (the overview's).
    pub outcome: &'a str,
    /// The payload only the detail route shows.
    pub payload: &'a Value,
    /// Async runs: where the process's result will be kept.
    pub result_key: Option<&'a str>,
}

/// An inbound request's row, as read for its detail.
pub struct StoredRequest {
    pub summary: Value,
    pub payload: Option<Value>,
    pub result: Option<Value>,
}

#[derive(Deserialize)]
struct DocRow {
    doc: String,
}

/// A delivery's row: its document and generation.
#[derive(Deserialize)]
struct DeliveryRow {
    doc: String,
    generation: f64,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// A JSON scalar as a D1 argument (objects and arrays as their JSON text).
fn json_arg(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JsValue::from_str(s),
        other => JsValue::from_str(&other.to_string()),
    }
}

/// A text argument.
fn text(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// A number argument (D1 numbers are doubles; ours stay below 2^53).
fn number(v: u64) -> JsValue {
    JsValue::from_f64(v as f64)
}

/// A D1 failure as the API reports it: a unique `code` taken is a 409; a
/// record over D1's row size limit (a delivery of a huge rendered request)
/// is a 413; anything else is logged with D1's own text and answered with a
/// generic 500 that carries none of it (no SQL, no driver message).
fn db_error(e: worker::Error) -> RestError {
    let msg = e.to_string();
    if msg.contains("UNIQUE constraint failed: channels.code") {
        RestError::conflict("code is already used by another channel")
    } else if msg.contains("SQLITE_TOOBIG") {
        RestError::new(
            413,
            "The record is too large to store: it is over the database's row size limit",
        )
    } else {
        hidden("d1", &msg)
    }
}

/// A failure of the store no caller caused: logged, answered generically.
fn hidden(source: &str, detail: &str) -> RestError {
    crate::http::log_failure(source, detail);
    RestError::internal("Internal error (database); see the gateway's logs")
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, RestError> {
    serde_json::to_string(v).map_err(|e| hidden("json", &e.to_string()))
}

fn from_json<T: DeserializeOwned>(doc: &str) -> Result<T, RestError> {
    serde_json::from_slice(doc.as_bytes())
        .map_err(|e| hidden("d1", &format!("stored record unreadable: {e}")))
}

impl Store {
    pub fn new(env: &Env) -> Result<Store, RestError> {
        crate::env::db(env).map(|db| Store { db }).map_err(|_| {
            RestError::internal(format!("the D1 binding {} is missing", crate::env::DB))
        })
    }

    fn stmt(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement, RestError> {
        self.db.prepare(sql).bind(args).map_err(db_error)
    }

    /// Runs a query and reads its rows.
    async fn rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> Result<Vec<T>, RestError> {
        self.stmt(sql, args)?
            .all()
            .await
            .map_err(db_error)?
            .results::<T>()
            .map_err(db_error)
    }

    /// Runs a statement; the number of rows it changed.
    async fn run(&self, sql: &str, args: &[JsValue]) -> Result<usize, RestError> {
        let result = self.stmt(sql, args)?.run().await.map_err(db_error)?;
        Ok(result
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0))
    }

    /// Records of the `doc` column, decoded.
    async fn docs<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> Result<Vec<T>, RestError> {
        self.rows::<DocRow>(sql, args)
            .await?
            .iter()
            .map(|r| from_json(&r.doc))
            .collect()
    }

    async fn channel_where(&self, column: &str, key: &str) -> Result<Option<Channel>, RestError> {
        let sql = format!("SELECT doc FROM channels WHERE {column} = ?1");
        Ok(self.docs(&sql, &[text(key)]).await?.pop())
    }

    pub async fn channel(&self, id: &str) -> Result<Option<Channel>, RestError> {
        self.channel_where("id", id).await
    }

    pub async fn channel_by_token(&self, token: &str) -> Result<Option<Channel>, RestError> {
        self.channel_where("token_local", token).await
    }

    pub async fn channel_by_code(&self, code: &str) -> Result<Option<Channel>, RestError> {
        self.channel_where("code", code).await
    }

    /// The channel a webhook URL (or a send's or publish's id) names: from
    /// the isolate's cache when it was read less than `ttl_ms` ago, else
    /// from D1 (and then kept).
    pub async fn channel_by_key(&self, key: CacheKey, now_ms: u64, ttl_ms: u64) -> ChannelRead {
        let (hit, generation) = CHANNELS.with(|c| {
            let c = c.borrow();
            (c.get(&key, now_ms, ttl_ms).cloned(), c.generation())
        });
        if hit.is_some() {
            return Ok(hit);
        }
        let found = self.read_channel(&key).await;
        if let Ok(Some(ch)) = &found {
            // Not kept when a change was made here meanwhile: what was read
            // may be the channel as it was before.
            CHANNELS.with(|c| {
                c.borrow_mut()
                    .put_if_current(generation, key.clone(), ch.clone(), now_ms, ttl_ms)
            });
        }
        found
    }

    /// One channel read from D1 by its cache key.
    async fn read_channel(&self, key: &CacheKey) -> ChannelRead {
        match key {
            CacheKey::Token(t) => self.channel_by_token(t).await,
            CacheKey::Code(c) => self.channel_by_code(c).await,
            CacheKey::Id(id) => self.channel(id).await,
        }
    }

    pub async fn insert_channel(&self, ch: &Channel) -> Result<(), RestError> {
        self.run(
            "INSERT INTO channels (id, code, token_local, doc) VALUES (?1, ?2, ?3, ?4)",
            &[
                text(&ch.id),
                text(&ch.code),
                text(&ch.token_local),
                text(&to_json(ch)?),
            ],
        )
        .await
        .map(drop)
    }

    pub async fn update_channel(&self, ch: &Channel) -> Result<(), RestError> {
        forget_channel(&ch.id);
        let done = self
            .run(
                "UPDATE channels SET code = ?2, doc = ?3 WHERE id = ?1",
                &[text(&ch.id), text(&ch.code), text(&to_json(ch)?)],
            )
            .await
            .map(drop);
        // Again after the write: a webhook may have read the old row meanwhile.
        forget_channel(&ch.id);
        done
    }

    /// Deletes a channel with its request log and deliveries; false when there was none.
    pub async fn delete_channel(&self, id: &str) -> Result<bool, RestError> {
        forget_channel(id);
        let results = self
            .db
            .batch(vec![
                self.stmt("DELETE FROM channels WHERE id = ?1", &[text(id)])?,
                // Its async results first: they are found through its records.
                self.stmt(
                    "DELETE FROM inbound_results WHERE result_key IN \
                     (SELECT result_key FROM inbound_requests WHERE channel_id = ?1 AND result_key IS NOT NULL)",
                    &[text(id)],
                )?,
                self.stmt(
                    "DELETE FROM inbound_requests WHERE channel_id = ?1",
                    &[text(id)],
                )?,
                self.stmt("DELETE FROM deliveries WHERE channel_id = ?1", &[text(id)])?,
            ])
            .await
            .map_err(db_error);
        forget_channel(id);
        let changed = results?
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(changed > 0)
    }

    /// Removes a delivery whose channel is gone: one stored by a send that
    /// read its channel from an isolate's cache after another isolate
    /// deleted it (within `CHANNEL_CACHE_MS`), after the deletion removed
    /// the channel's other deliveries.
    pub async fn delete_orphan_delivery(&self, id: &str) -> Result<(), RestError> {
        self.run(
            "DELETE FROM deliveries WHERE id = ?1 AND channel_id NOT IN (SELECT id FROM channels)",
            &[text(id)],
        )
        .await
        .map(drop)
    }

    /// Runs a list query built by `channel::list_sql`.
    pub async fn list(&self, sql: &str, binds: &[Value]) -> Result<Vec<Channel>, RestError> {
        let args: Vec<JsValue> = binds.iter().map(json_arg).collect();
        self.docs(sql, &args).await
    }

    /// Ids of the channels whose `id`, `code` or `token_local` is `key`.
    pub async fn lookup(&self, key: &str) -> Result<Vec<String>, RestError> {
        let rows: Vec<IdRow> = self
            .rows(
                "SELECT id FROM channels WHERE id = ?1 OR code = ?1 OR token_local = ?1 ORDER BY code",
                &[text(key)],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Records an inbound request: its summary (`doc`, what the list
    /// shows), its payload (`detail`, the detail route only) and, for an
    /// async run, the key its result will be kept under.
    pub async fn log_request(&self, row: &RequestRow<'_>) -> Result<(), RestError> {
        self.run(
            "INSERT INTO inbound_requests (id, channel_id, received_at_ms, expires_at_ms, doc, detail, result_key, outcome) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                text(row.id),
                text(row.channel_id),
                number(row.received_at_ms),
                number(row.expires_at_ms),
                text(&row.doc.to_string()),
                text(&row.payload.to_string()),
                row.result_key.map(text).unwrap_or(JsValue::NULL),
                text(row.outcome),
            ],
        )
        .await
        .map(drop)
    }

    /// Keeps an async run's result under `key` (the first one reported; a
    /// later one is ignored, as the rendezvous object does).
    pub async fn log_result(
        &self,
        key: &str,
        expires_at_ms: u64,
        doc: &Value,
    ) -> Result<(), RestError> {
        self.run(
            "INSERT INTO inbound_results (result_key, expires_at_ms, doc) VALUES (?1, ?2, ?3) \
             ON CONFLICT (result_key) DO NOTHING",
            &[text(key), number(expires_at_ms), text(&doc.to_string())],
        )
        .await
        .map(drop)
    }

    /// Deletes request records and results past their time (the cron runs
    /// it; listings already leave them out). The number of records deleted.
    pub async fn purge_requests(&self, now_ms: u64) -> Result<usize, RestError> {
        let results = self
            .db
            .batch(vec![
                self.stmt(
                    "DELETE FROM inbound_requests WHERE expires_at_ms < ?1",
                    &[number(now_ms)],
                )?,
                self.stmt(
                    "DELETE FROM inbound_results WHERE expires_at_ms < ?1",
                    &[number(now_ms)],
                )?,
            ])
            .await
            .map_err(db_error)?;
        Ok(results
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0))
    }

    /// A channel's recorded requests, newest first, still within their
    /// time; `outcome` and `mode`, when given, as `,a,b,` (`Listing::bound`).
    pub async fn requests(
        &self,
        channel_id: &str,
        now_ms: u64,
        listing: &Listing,
    ) -> Result<Vec<Value>, RestError> {
        let bound = |name| {
            listing
                .bound(name)
                .map(|v| text(&v))
                .unwrap_or(JsValue::NULL)
        };
        self.docs(
            "SELECT doc FROM inbound_requests WHERE channel_id = ?1 AND expires_at_ms >= ?2 \
             AND (?5 IS NULL OR instr(?5, ',' || COALESCE(outcome, json_extract(doc, '$.outcome')) || ',') > 0) \
             AND (?6 IS NULL OR instr(?6, ',' || json_extract(doc, '$.mode') || ',') > 0) \
             ORDER BY received_at_ms DESC, id LIMIT ?3 OFFSET ?4",
            &[
                text(channel_id),
                number(now_ms),
                number(listing.limit),
                number(listing.offset),
                bound("outcome"),
                bound("mode"),
            ],
        )
        .await
    }

    /// One recorded request of a channel, still within its time: its
    /// summary, its payload (none for records kept before payloads were)
    /// and its async result, if one was reported.
    pub async fn request(
        &self,
        channel_id: &str,
        id: &str,
        now_ms: u64,
    ) -> Result<Option<StoredRequest>, RestError> {
        #[derive(Deserialize)]
        struct Row {
            doc: String,
            detail: Option<String>,
            result: Option<String>,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT r.doc AS doc, r.detail AS detail, x.doc AS result FROM inbound_requests r \
                 LEFT JOIN inbound_results x ON x.result_key = r.result_key AND x.expires_at_ms >= ?3 \
                 WHERE r.id = ?1 AND r.channel_id = ?2 AND r.expires_at_ms >= ?3",
                &[text(id), text(channel_id), number(now_ms)],
            )
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(StoredRequest {
            summary: from_json(&row.doc)?,
            payload: row.detail.as_deref().map(from_json).transpose()?,
            result: row.result.as_deref().map(from_json).transpose()?,
        }))
    }

    /// A channel's requests received since `since_ms` (and not expired),
    /// counted by minute and outcome (`core::stats::REQUEST_COUNTS`, from
    /// one index).
    pub async fn request_counts(
        &self,
        channel_id: &str,
        since_ms: u64,
        now_ms: u64,
    ) -> Result<Vec<RequestCount>, RestError> {
        #[derive(Deserialize)]
        struct Row {
            minute: f64,
            outcome: Option<String>,
            n: f64,
        }
        let rows: Vec<Row> = self
            .rows(
                syncbridge_core::stats::REQUEST_COUNTS,
                &[text(channel_id), number(since_ms), number(now_ms)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| RequestCount {
                minute: r.minute as u64,
                outcome: r.outcome.unwrap_or_default(),
                count: r.n as u64,
            })
            .collect())
    }

    /// A channel's deliveries counted by state: all of them, and those
    /// created since `since_ms` (index `deliveries_by_channel_newest`).
    pub async fn delivery_counts(
        &self,
        channel_id: &str,
        since_ms: u64,
    ) -> Result<Vec<StateCount>, RestError> {
        #[derive(Deserialize)]
        struct Row {
            state: String,
            total: f64,
            recent: Option<f64>,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT state, COUNT(*) AS total, SUM(created_at_ms >= ?2) AS recent \
                 FROM deliveries WHERE channel_id = ?1 GROUP BY state",
                &[text(channel_id), number(since_ms)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| StateCount {
                state: r.state,
                total: r.total as u64,
                last_hour: r.recent.unwrap_or(0.0) as u64,
            })
            .collect())
    }

    /// Stores a new delivery at generation 1, due at `now_ms`; its
    /// `created_at_ms` is its `created_at` (so the log's order agrees with
    /// the time it shows). With an idempotency key already used on this
    /// channel, nothing is written and the earlier delivery is returned
    /// instead.
    pub async fn insert_delivery(
        &self,
        d: &Delivery,
        now_ms: u64,
    ) -> Result<Option<Delivery>, RestError> {
        let key = d
            .idempotency_key
            .as_deref()
            .map(text)
            .unwrap_or(JsValue::NULL);
        let inserted = self
            .run(
                "INSERT INTO deliveries (id, channel_id, idempotency_key, state, generation, next_attempt_at_ms, created_at_ms, doc) \
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?7, ?6) ON CONFLICT (channel_id, idempotency_key) DO NOTHING",
                &[
                    text(&d.id),
                    text(&d.channel_id),
                    key,
                    text(d.state.as_str()),
                    number(now_ms),
                    text(&to_json(d)?),
                    number(d.created_at_ms().unwrap_or(now_ms)),
                ],
            )
            .await?;
        if inserted > 0 {
            return Ok(None);
        }
        let key = d.idempotency_key.as_deref().unwrap_or_default();
        Ok(self
            .docs(
                "SELECT doc FROM deliveries WHERE channel_id = ?1 AND idempotency_key = ?2",
                &[text(&d.channel_id), text(key)],
            )
            .await?
            .pop())
    }

    /// A delivery with its generation; `channel_id` given, it must match.
    pub async fn delivery(
        &self,
        id: &str,
        channel_id: Option<&str>,
    ) -> Result<Option<(Delivery, u64)>, RestError> {
        let found = self
            .deliveries_at_generation(
                "SELECT doc, generation FROM deliveries WHERE id = ?1",
                &[text(id)],
            )
            .await?
            .pop();
        Ok(found.filter(|(d, _)| channel_id.is_none_or(|c| c == d.channel_id)))
    }

    /// Writes `d` if the row is still at `generation`, moving it to
    /// `new_generation`; false when another writer got there first.
    pub async fn update_delivery(
        &self,
        d: &Delivery,
        generation: u64,
        new_generation: u64,
        next_attempt_at_ms: u64,
    ) -> Result<bool, RestError> {
        let changed = self
            .run(
                "UPDATE deliveries SET state = ?3, generation = ?4, next_attempt_at_ms = ?5, doc = ?6 \
                 WHERE id = ?1 AND generation = ?2",
                &[
                    text(&d.id),
                    number(generation),
                    text(d.state.as_str()),
                    number(new_generation),
                    number(next_attempt_at_ms),
                    text(&to_json(d)?),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    /// A channel's deliveries, newest first: by `created_at`, ties by id
    /// (descending too), so the order is the reverse of (created_at, id).
    /// `state`, when given, as `,a,b,` (`Listing::bound`).
    pub async fn deliveries(
        &self,
        channel_id: &str,
        listing: &Listing,
    ) -> Result<Vec<Delivery>, RestError> {
        let state = listing
            .bound("state")
            .map(|v| text(&v))
            .unwrap_or(JsValue::NULL);
        self.docs(
            "SELECT doc FROM deliveries WHERE channel_id = ?1 \
             AND (?4 IS NULL OR instr(?4, ',' || state || ',') > 0) \
             ORDER BY created_at_ms DESC, id DESC LIMIT ?2 OFFSET ?3",
            &[
                text(channel_id),
                number(listing.limit),
                number(listing.offset),
                state,
            ],
        )
        .await
    }

    /// Pending deliveries whose next attempt was due before `before_ms`:
    /// their queue message is presumed lost. `(id, generation)`.
    pub async fn overdue_deliveries(
        &self,
        before_ms: u64,
        limit: u64,
    ) -> Result<Vec<(String, u64)>, RestError> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            generation: f64,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT id, generation FROM deliveries WHERE state = 'pending' AND next_attempt_at_ms < ?1 \
                 ORDER BY next_attempt_at_ms LIMIT ?2",
                &[number(before_ms), number(limit)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, r.generation as u64))
            .collect())
    }

    /// Moves a delivery to a new generation (the sweeper's claim), with its
    /// next attempt at `next_attempt_at_ms`, if it is still pending at
    /// `generation` and still overdue (due before `cutoff_ms`); false when it
    /// changed meanwhile. Re-checking the due time matters: a consumer that
    /// leased the delivery after the sweeper read it keeps its generation
    /// but moves the due time past its attempt, and must not be raced.
    pub async fn bump_generation(
        &self,
        id: &str,
        generation: u64,
        cutoff_ms: u64,
        next_attempt_at_ms: u64,
    ) -> Result<bool, RestError> {
        let changed = self
            .run(
                "UPDATE deliveries SET generation = generation + 1, next_attempt_at_ms = ?4 \
                 WHERE id = ?1 AND generation = ?2 AND state = 'pending' AND next_attempt_at_ms < ?3",
                &[text(id), number(generation), number(cutoff_ms), number(next_attempt_at_ms)],
            )
            .await?;
        Ok(changed > 0)
    }

    /// A channel's deliveries in `states` created at or after `since_ms`,
    /// oldest first, at most `limit`: what a bulk recover restarts. Each
    /// with its generation.
    pub async fn deliveries_to_recover(
        &self,
        channel_id: &str,
        since_ms: u64,
        states: &[DeliveryState],
        limit: u64,
    ) -> Result<Vec<(Delivery, u64)>, RestError> {
        let dead = states.contains(&DeliveryState::Dead);
        let failed = states.contains(&DeliveryState::Failed);
        self.deliveries_at_generation(
            "SELECT doc, generation FROM deliveries WHERE channel_id = ?1 AND created_at_ms >= ?2 \
                 AND ((state = 'dead' AND ?3 = 1) OR (state = 'failed' AND ?4 = 1)) \
                 ORDER BY created_at_ms, id LIMIT ?5",
            &[
                text(channel_id),
                number(since_ms),
                number(u64::from(dead)),
                number(u64::from(failed)),
                number(limit),
            ],
        )
        .await
    }

    /// A channel's pending deliveries in send order (oldest first), at most
    /// `limit`, each with its generation: what the channel's owner (the
    /// `Destination` object) drives.
    pub async fn pending_in_order(
        &self,
        channel_id: &str,
        limit: u64,
    ) -> Result<Vec<(Delivery, u64)>, RestError> {
        self.deliveries_at_generation(
            "SELECT doc, generation FROM deliveries WHERE channel_id = ?1 AND state = 'pending' \
                 ORDER BY rowid LIMIT ?2",
            &[text(channel_id), number(limit)],
        )
        .await
    }

    /// Channels with pending deliveries their owner drives (due column
    /// `owned_ms`), at most `limit`: the sweeper wakes each owner.
    pub async fn owned_channels(
        &self,
        owned_ms: u64,
        limit: u64,
    ) -> Result<Vec<String>, RestError> {
        #[derive(Deserialize)]
        struct Row {
            channel_id: String,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT DISTINCT channel_id FROM deliveries WHERE state = 'pending' \
                 AND next_attempt_at_ms = ?1 LIMIT ?2",
                &[number(owned_ms), number(limit)],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.channel_id).collect())
    }

    /// Deliveries read with their generation (`SELECT doc, generation …`).
    async fn deliveries_at_generation(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> Result<Vec<(Delivery, u64)>, RestError> {
        let rows: Vec<DeliveryRow> = self.rows(sql, args).await?;
        rows.into_iter()
            .map(|r| Ok((from_json(&r.doc)?, r.generation as u64)))
            .collect()
    }
}
