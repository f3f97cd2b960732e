//! The channel API, `/rest/v1/service/integration_points`, on D1.
//! Every route requires `Authorization: Bearer {ADMIN_TOKEN}`.

use crate::clock::{iso, now_iso, now_ms, random16};
use crate::ctx::Ctx;
use crate::http::{self, internal, query_pairs, read_json, rest_json, Handled};
use crate::store::Store;
use serde_json::Value;
use syncbridge_core::admin::Policy;
use syncbridge_core::channel::{self, Channel};
use syncbridge_core::error::RestError;
use syncbridge_core::route::{ChannelCollectionOp, ChannelItemOp};
use syncbridge_core::{ids, outbound, request_log, stats, Settings};
use worker::{Request, Response};

/// Which channel route was asked for.
pub enum ChannelRoute<'a> {
    Collection(ChannelCollectionOp),
    Item(&'a str, ChannelItemOp),
    Requests(&'a str),
    Request(&'a str, &'a str),
    Stats(&'a str),
}

pub async fn handle(ctx: &Ctx, mut req: Request, op: ChannelRoute<'_>) -> Handled {
    Ok(run(ctx, &mut req, op).await?)
}

async fn run(ctx: &Ctx, req: &mut Request, op: ChannelRoute<'_>) -> Result<Response, RestError> {
    let settings = &ctx.settings;
    ctx.authorize(req, None, Policy::AdminOnly)?;
    let pairs = query_pairs(req);
    let store = ctx.store()?;
    let ok = rest_json;
    match op {
        ChannelRoute::Collection(ChannelCollectionOp::List) => {
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
        ChannelRoute::Collection(ChannelCollectionOp::Create) => {
            let body = read_json(req, settings.max_body_bytes).await?;
            let ch = channel::create(
                &body,
                ids::uuid_v4(random16()),
                ids::token_hex(random16()),
                &now_iso(),
            )?;
            check_on_save(settings, &ch)?;
            channel::check_process_urls(&ch, None, &settings.process_allowed_hosts)?;
            check_eventing_chain(&store, &ch).await?;
            store.insert_channel(&ch).await?;
            ok(200, &full(&ch))
        }
        ChannelRoute::Collection(ChannelCollectionOp::Lookup) => {
            let body = http::read_body(req, settings.max_body_bytes).await?;
            let key = channel::lookup_key(&body)?;
            match store.lookup(&key).await? {
                ids if ids.is_empty() => Err(RestError::lookup_failed()),
                ids => ok(200, &serde_json::json!(ids)),
            }
        }
        ChannelRoute::Item(id, ChannelItemOp::Get) => {
            let (mask, flat) = channel::parse_get_query(&pairs)?;
            let ch = existing(&store, id).await?;
            ok(200, &channel::render(&ch, mask.as_deref(), flat))
        }
        ChannelRoute::Item(id, ChannelItemOp::Patch) => {
            let body = read_json(req, settings.max_body_bytes).await?;
            let old = existing(&store, id).await?;
            let ch = channel::patch(&old, &body, &now_iso())?;
            check_on_save(settings, &ch)?;
            channel::check_process_urls(&ch, Some(&old), &settings.process_allowed_hosts)?;
            check_eventing_chain(&store, &ch).await?;
            store.update_channel(&ch).await?;
            ok(200, &full(&ch))
        }
        ChannelRoute::Item(id, ChannelItemOp::Delete) => {
            if store.delete_channel(id).await? {
                http::empty(204).map_err(internal)
            } else {
                Err(not_found(id))
            }
        }
        ChannelRoute::Requests(id) => {
            let listing = request_log::parse_listing(&pairs, request_log::REQUEST_FILTERS)?;
            existing(&store, id).await?;
            let list = store.requests(id, now_ms(), &listing).await?;
            ok(200, &Value::Array(list))
        }
        ChannelRoute::Stats(id) => {
            refuse_query(&pairs)?;
            existing(&store, id).await?;
            let now = now_ms();
            let since = stats::window_start_ms(now);
            let requests = store.request_counts(id, since, now).await?;
            let deliveries = store.delivery_counts(id, since).await?;
            let overview = stats::overview(id, now, &iso(since), &requests, &deliveries);
            ok(
                200,
                &serde_json::to_value(overview).map_err(|e| RestError::internal(e.to_string()))?,
            )
        }
        ChannelRoute::Request(id, request_id) => {
            refuse_query(&pairs)?;
            existing(&store, id).await?;
            let found = store.request(id, request_id, now_ms()).await?;
            let r = found.ok_or_else(|| {
                RestError::not_found(format!("No recorded request {request_id} on channel {id}"))
            })?;
            ok(200, &request_log::detail(r.summary, r.payload, r.result))
        }
    }
}

/// A route that takes no query parameters refuses any (a 400 naming it).
fn refuse_query(pairs: &[(String, String)]) -> Result<(), RestError> {
    match pairs.first() {
        Some((k, _)) => Err(RestError::bad_request(format!(
            "unknown parameter {k}; this route takes none"
        ))),
        None => Ok(()),
    }
}

fn not_found(id: &str) -> RestError {
    RestError::not_found(format!("No channel with id {id}"))
}

fn full(ch: &Channel) -> Value {
    channel::render(ch, None, false)
}

async fn existing(store: &Store, id: &str) -> Result<Channel, RestError> {
    store.channel(id).await?.ok_or_else(|| not_found(id))
}

/// Checks a channel's callback destination when it is saved.
fn check_on_save(settings: &Settings, channel: &Channel) -> Result<(), RestError> {
    if channel.opts.callback.is_some() && !channel.url.is_empty() {
        outbound::check_destination(&channel.url, &settings.callback_allowed_hosts)
            .map_err(|e| RestError::bad_request(format!("`url`: {e}")))?;
    }
    Ok(())
}

/// Refuses an `opts.eventing_channel` that names the channel itself or leads
/// into a cycle (`channel::next_eventing_hop` decides), following the chain
/// of channels in D1, at most `channel::MAX_EVENTING_HOPS` lookups.
async fn check_eventing_chain(store: &Store, ch: &Channel) -> Result<(), RestError> {
    let mut chain = vec![ch.opts.eventing_channel.clone()];
    while let Some(next) = channel::next_eventing_hop(&ch.id, &chain)? {
        let target = store
            .channel(next)
            .await?
            .map(|c| c.opts.eventing_channel)
            .unwrap_or_default();
        chain.push(target);
    }
    Ok(())
}
