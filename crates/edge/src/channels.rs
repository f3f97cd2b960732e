//! The channel API, `/rest/v1/service/integration_points`, on D1.
//! Every route requires `Authorization: Bearer {ADMIN_TOKEN}`.

use crate::http::{self, now_iso, now_ms, query_pairs, random16, rest_error};
use crate::store::Store;
use serde_json::Value;
use syncbridge_core::channel::{self, Channel};
use syncbridge_core::error::RestError;
use syncbridge_core::route::{ChannelCollectionOp as CollectionOp, ChannelItemOp as ItemOp};
use syncbridge_core::{admin, ids, request_log};
use worker::{Env, Request, Response, Result};

/// Which channel route was asked for.
pub enum Op<'a> {
    Collection(CollectionOp),
    Item(&'a str, ItemOp),
    Requests(&'a str),
}

pub async fn handle(mut req: Request, env: &Env, op: Op<'_>) -> Result<Response> {
    match run(&mut req, env, op).await {
        Ok(resp) => Ok(resp),
        Err(e) => rest_error(&e),
    }
}

async fn run(req: &mut Request, env: &Env, op: Op<'_>) -> std::result::Result<Response, RestError> {
    let settings = crate::settings(env).map_err(RestError::from)?;
    let Some(token) = settings.admin_token.as_deref() else {
        return Err(RestError::internal(
            "setting ADMIN_TOKEN is not set, so the channel API is closed",
        ));
    };
    let auth = req.headers().get("authorization").ok().flatten();
    if !admin::bearer_ok(auth.as_deref(), token) {
        return Err(RestError::unauthorized());
    }
    let url = req.url().map_err(|_| RestError::bad_request("bad URL"))?;
    let pairs = query_pairs(&url);
    let store = Store::new(env)?;
    let ok = |status: u16, v: &Value| http::json(status, v).map_err(internal);
    match op {
        Op::Collection(CollectionOp::List) => {
            let q = channel::parse_list_query(&pairs)?;
            let (sql, binds) = channel::list_sql(&q);
            let list: Vec<Value> = store
                .list(&sql, &binds)
                .await?
                .iter()
                .map(|c| channel::render(c, q.mask.as_deref(), q.flat))
                .collect();
            ok(200, &Value::Array(list))
        }
        Op::Collection(CollectionOp::Create) => {
            let body = json_body(req, settings.max_body_bytes).await?;
            let ch = channel::create(
                &body,
                ids::uuid_v4(random16()),
                ids::token_hex(random16()),
                &now_iso(),
            )?;
            crate::outbound::check_on_save(&settings, &ch)?;
            store.insert_channel(&ch).await?;
            ok(200, &full(&ch))
        }
        Op::Collection(CollectionOp::Lookup) => {
            let body = http::read_body(req, settings.max_body_bytes).await?;
            let key = channel::lookup_key(&body)?;
            match store.lookup(&key).await? {
                ids if ids.is_empty() => Err(RestError::lookup_failed()),
                ids => ok(200, &serde_json::json!(ids)),
            }
        }
        Op::Item(id, ItemOp::Get) => {
            let (mask, flat) = channel::parse_get_query(&pairs)?;
            let ch = existing(&store, id).await?;
            ok(200, &channel::render(&ch, mask.as_deref(), flat))
        }
        Op::Item(id, ItemOp::Patch) => {
            let body = json_body(req, settings.max_body_bytes).await?;
            let old = existing(&store, id).await?;
            let ch = channel::patch(&old, &body, &now_iso())?;
            crate::outbound::check_on_save(&settings, &ch)?;
            store.update_channel(&ch).await?;
            ok(200, &full(&ch))
        }
        Op::Item(id, ItemOp::Delete) => {
            if store.delete_channel(id).await? {
                Response::empty()
                    .map(|r| r.with_status(204))
                    .map_err(internal)
            } else {
                Err(not_found(id))
            }
        }
        Op::Requests(id) => {
            let (offset, limit) = request_log::parse_paging(&pairs)?;
            existing(&store, id).await?;
            let list = store.requests(id, now_ms(), offset, limit).await?;
            ok(200, &Value::Array(list))
        }
    }
}

fn internal(e: worker::Error) -> RestError {
    RestError::internal(e.to_string())
}

fn not_found(id: &str) -> RestError {
    RestError::not_found(format!("No channel with id {id}"))
}

fn full(ch: &Channel) -> Value {
    channel::render(ch, None, false)
}

async fn existing(store: &Store, id: &str) -> std::result::Result<Channel, RestError> {
    store.channel(id).await?.ok_or_else(|| not_found(id))
}

async fn json_body(req: &mut Request, max: usize) -> std::result::Result<Value, RestError> {
    let body = http::read_body(req, max).await?;
    serde_json::from_slice(&body).map_err(|e| RestError::bad_request(format!("Bad JSON: {e}")))
}
