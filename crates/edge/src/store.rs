//! D1 access: channels and the inbound request log. SQL that depends on a
//! caller's input (the channel list) is built by the core; the fixed
//! statements live here.

use serde::Deserialize;
use serde_json::Value;
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::Delivery;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env};

/// Binding name of the D1 database.
const DB: &str = "DB";

pub struct Store {
    db: D1Database,
}

#[derive(Deserialize)]
struct DocRow {
    doc: String,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

fn js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JsValue::from_str(s),
        other => JsValue::from_str(&other.to_string()),
    }
}

/// A D1 failure as the API reports it: a unique `code` taken is a 409,
/// anything else a 500 that does not echo SQL.
fn db_error(e: worker::Error) -> RestError {
    let msg = e.to_string();
    if msg.contains("UNIQUE constraint failed: channels.code") {
        RestError::conflict("code is already used by another channel")
    } else {
        RestError::internal(format!(
            "database error: {}",
            msg.chars().take(200).collect::<String>()
        ))
    }
}

fn decode(rows: Vec<DocRow>) -> Result<Vec<Channel>, RestError> {
    rows.into_iter()
        .map(|r| {
            serde_json::from_str(&r.doc)
                .map_err(|e| RestError::internal(format!("stored channel unreadable: {e}")))
        })
        .collect()
}

impl Store {
    pub fn new(env: &Env) -> Result<Store, RestError> {
        env.d1(DB)
            .map(|db| Store { db })
            .map_err(|_| RestError::internal("the D1 binding DB is missing"))
    }

    async fn channels_where(&self, column: &str, key: &str) -> Result<Option<Channel>, RestError> {
        let rows = self
            .db
            .prepare(format!("SELECT doc FROM channels WHERE {column} = ?1"))
            .bind(&[JsValue::from_str(key)])
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<DocRow>()
            .map_err(db_error)?;
        Ok(decode(rows)?.pop())
    }

    pub async fn channel(&self, id: &str) -> Result<Option<Channel>, RestError> {
        self.channels_where("id", id).await
    }

    pub async fn channel_by_token(&self, token: &str) -> Result<Option<Channel>, RestError> {
        self.channels_where("token_local", token).await
    }

    pub async fn channel_by_code(&self, code: &str) -> Result<Option<Channel>, RestError> {
        self.channels_where("code", code).await
    }

    pub async fn insert_channel(&self, ch: &Channel) -> Result<(), RestError> {
        let doc = serde_json::to_string(ch).map_err(|e| RestError::internal(e.to_string()))?;
        self.db
            .prepare("INSERT INTO channels (id, code, token_local, doc) VALUES (?1, ?2, ?3, ?4)")
            .bind(&[
                JsValue::from_str(&ch.id),
                JsValue::from_str(&ch.code),
                JsValue::from_str(&ch.token_local),
                JsValue::from_str(&doc),
            ])
            .map_err(db_error)?
            .run()
            .await
            .map_err(db_error)?;
        Ok(())
    }

    pub async fn update_channel(&self, ch: &Channel) -> Result<(), RestError> {
        let doc = serde_json::to_string(ch).map_err(|e| RestError::internal(e.to_string()))?;
        self.db
            .prepare("UPDATE channels SET code = ?2, doc = ?3 WHERE id = ?1")
            .bind(&[
                JsValue::from_str(&ch.id),
                JsValue::from_str(&ch.code),
                JsValue::from_str(&doc),
            ])
            .map_err(db_error)?
            .run()
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Deletes a channel with its request log and deliveries; false when there was none.
    pub async fn delete_channel(&self, id: &str) -> Result<bool, RestError> {
        let results = self
            .db
            .batch(vec![
                self.db
                    .prepare("DELETE FROM channels WHERE id = ?1")
                    .bind(&[JsValue::from_str(id)])
                    .map_err(db_error)?,
                self.db
                    .prepare("DELETE FROM inbound_requests WHERE channel_id = ?1")
                    .bind(&[JsValue::from_str(id)])
                    .map_err(db_error)?,
                self.db
                    .prepare("DELETE FROM deliveries WHERE channel_id = ?1")
                    .bind(&[JsValue::from_str(id)])
                    .map_err(db_error)?,
            ])
            .await
            .map_err(db_error)?;
        let changed = results
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(changed > 0)
    }

    /// Runs a list query built by `channel::list_sql`.
    pub async fn list(&self, sql: &str, binds: &[Value]) -> Result<Vec<Channel>, RestError> {
        let args: Vec<JsValue> = binds.iter().map(js).collect();
        let rows = self
            .db
            .prepare(sql)
            .bind(&args)
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<DocRow>()
            .map_err(db_error)?;
        decode(rows)
    }

    /// Ids of the channels whose `id`, `code` or `token_local` is `key`.
    pub async fn lookup(&self, key: &str) -> Result<Vec<String>, RestError> {
        let rows = self
            .db
            .prepare(
                "SELECT id FROM channels WHERE id = ?1 OR code = ?1 OR token_local = ?1 ORDER BY code",
            )
            .bind(&[JsValue::from_str(key)])
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<IdRow>()
            .map_err(db_error)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Records an inbound request and drops records past their time.
    pub async fn log_request(
        &self,
        id: &str,
        channel_id: &str,
        received_at_ms: u64,
        expires_at_ms: u64,
        doc: &Value,
    ) -> Result<(), RestError> {
        self.db
            .batch(vec![
                self.db
                    .prepare(
                        "INSERT INTO inbound_requests (id, channel_id, received_at_ms, expires_at_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .bind(&[
                        JsValue::from_str(id),
                        JsValue::from_str(channel_id),
                        JsValue::from_f64(received_at_ms as f64),
                        JsValue::from_f64(expires_at_ms as f64),
                        JsValue::from_str(&doc.to_string()),
                    ])
                    .map_err(db_error)?,
                self.db
                    .prepare("DELETE FROM inbound_requests WHERE expires_at_ms < ?1")
                    .bind(&[JsValue::from_f64(received_at_ms as f64)])
                    .map_err(db_error)?,
            ])
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// A channel's recorded requests, newest first, still within their time.
    pub async fn requests(
        &self,
        channel_id: &str,
        now_ms: u64,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Value>, RestError> {
        let rows = self
            .db
            .prepare(
                "SELECT doc FROM inbound_requests WHERE channel_id = ?1 AND expires_at_ms >= ?2 ORDER BY received_at_ms DESC, id LIMIT ?3 OFFSET ?4",
            )
            .bind(&[
                JsValue::from_str(channel_id),
                JsValue::from_f64(now_ms as f64),
                JsValue::from_f64(limit as f64),
                JsValue::from_f64(offset as f64),
            ])
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<DocRow>()
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.doc).ok())
            .collect())
    }

    /// Stores a new delivery at generation 1. With an idempotency key already
    /// used on this channel, nothing is written and the earlier delivery is
    /// returned instead.
    pub async fn insert_delivery(
        &self,
        d: &Delivery,
        now_ms: u64,
    ) -> Result<Option<Delivery>, RestError> {
        let doc = serde_json::to_string(d).map_err(|e| RestError::internal(e.to_string()))?;
        let key = d
            .idempotency_key
            .as_deref()
            .map(JsValue::from_str)
            .unwrap_or(JsValue::NULL);
        let result = self
            .db
            .prepare(
                "INSERT INTO deliveries (id, channel_id, idempotency_key, state, generation, next_attempt_at_ms, created_at_ms, doc) \
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?6) ON CONFLICT (channel_id, idempotency_key) DO NOTHING",
            )
            .bind(&[
                JsValue::from_str(&d.id),
                JsValue::from_str(&d.channel_id),
                key,
                JsValue::from_str(&d.state),
                JsValue::from_f64(now_ms as f64),
                JsValue::from_str(&doc),
            ])
            .map_err(db_error)?
            .run()
            .await
            .map_err(db_error)?;
        let inserted = result
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0)
            > 0;
        if inserted {
            return Ok(None);
        }
        let rows = self
            .db
            .prepare("SELECT doc FROM deliveries WHERE channel_id = ?1 AND idempotency_key = ?2")
            .bind(&[
                JsValue::from_str(&d.channel_id),
                JsValue::from_str(d.idempotency_key.as_deref().unwrap_or_default()),
            ])
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<DocRow>()
            .map_err(db_error)?;
        rows.into_iter()
            .next()
            .map(|r| serde_json::from_str(&r.doc).map_err(|e| RestError::internal(e.to_string())))
            .transpose()
    }

    /// A delivery with its generation; `channel_id` given, it must match.
    pub async fn delivery(
        &self,
        id: &str,
        channel_id: Option<&str>,
    ) -> Result<Option<(Delivery, u64)>, RestError> {
        #[derive(Deserialize)]
        struct Row {
            doc: String,
            generation: f64,
        }
        let rows = self
            .db
            .prepare("SELECT doc, generation FROM deliveries WHERE id = ?1")
            .bind(&[JsValue::from_str(id)])
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<Row>()
            .map_err(db_error)?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let d: Delivery =
            serde_json::from_str(&row.doc).map_err(|e| RestError::internal(e.to_string()))?;
        if channel_id.is_some_and(|c| c != d.channel_id) {
            return Ok(None);
        }
        Ok(Some((d, row.generation as u64)))
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
        let doc = serde_json::to_string(d).map_err(|e| RestError::internal(e.to_string()))?;
        let result = self
            .db
            .prepare(
                "UPDATE deliveries SET state = ?3, generation = ?4, next_attempt_at_ms = ?5, doc = ?6 \
                 WHERE id = ?1 AND generation = ?2",
            )
            .bind(&[
                JsValue::from_str(&d.id),
                JsValue::from_f64(generation as f64),
                JsValue::from_str(&d.state),
                JsValue::from_f64(new_generation as f64),
                JsValue::from_f64(next_attempt_at_ms as f64),
                JsValue::from_str(&doc),
            ])
            .map_err(db_error)?
            .run()
            .await
            .map_err(db_error)?;
        Ok(result
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0)
            > 0)
    }

    /// A channel's deliveries, newest first.
    pub async fn deliveries(
        &self,
        channel_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Delivery>, RestError> {
        let rows = self
            .db
            .prepare(
                "SELECT doc FROM deliveries WHERE channel_id = ?1 ORDER BY created_at_ms DESC, id LIMIT ?2 OFFSET ?3",
            )
            .bind(&[
                JsValue::from_str(channel_id),
                JsValue::from_f64(limit as f64),
                JsValue::from_f64(offset as f64),
            ])
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<DocRow>()
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.doc).ok())
            .collect())
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
        let rows = self
            .db
            .prepare(
                "SELECT id, generation FROM deliveries WHERE state = 'pending' AND next_attempt_at_ms < ?1 \
                 ORDER BY next_attempt_at_ms LIMIT ?2",
            )
            .bind(&[
                JsValue::from_f64(before_ms as f64),
                JsValue::from_f64(limit as f64),
            ])
            .map_err(db_error)?
            .all()
            .await
            .map_err(db_error)?
            .results::<Row>()
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, r.generation as u64))
            .collect())
    }

    /// Moves a delivery to a new generation (the sweeper's claim), with its
    /// next attempt at `next_attempt_at_ms`; false when it changed meanwhile.
    pub async fn bump_generation(
        &self,
        id: &str,
        generation: u64,
        next_attempt_at_ms: u64,
    ) -> Result<bool, RestError> {
        let result = self
            .db
            .prepare(
                "UPDATE deliveries SET generation = generation + 1, next_attempt_at_ms = ?3 \
                 WHERE id = ?1 AND generation = ?2 AND state = 'pending'",
            )
            .bind(&[
                JsValue::from_str(id),
                JsValue::from_f64(generation as f64),
                JsValue::from_f64(next_attempt_at_ms as f64),
            ])
            .map_err(db_error)?
            .run()
            .await
            .map_err(db_error)?;
        Ok(result
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0)
            > 0)
    }
}
