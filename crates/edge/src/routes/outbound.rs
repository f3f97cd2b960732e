//! The send routes of a channel's outbound callback:
//! `…/{id}/send`, `…/{id}/send/test`, `…/{id}/deliveries[/{delivery_id}[/resend]]`.
//! The admin token opens all of them; the channel's process key opens the
//! two send routes.

use crate::clients;
use crate::clock::{now_iso, now_ms, random16};
use crate::ctx::Ctx;
use crate::http::{self, internal, query_pairs, rest_json, Handled};
use crate::outbound::{attempt::attempt, first, schedule, signing_secret};
use serde_json::{json, Map, Value};
use syncbridge_core::admin::Policy;
use syncbridge_core::channel::cache::CacheKey;
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::control::{self, Controls};
use syncbridge_core::outbound::{self, lease, Delivery, RetryPolicy};
use syncbridge_core::{ids, request_log};
use worker::{Context, Request, Response};

/// Which delivery route was asked for, with its channel id (and delivery id).
pub enum DeliveryRoute<'a> {
    /// With the request's context: the first attempt runs after the answer.
    Send(&'a str, &'a Context),
    SendTest(&'a str),
    List(&'a str),
    Get(&'a str, &'a str),
    Resend(&'a str, &'a str),
    Recover(&'a str),
    /// `GET …/destination` (false) or `POST …/destination/enable` (true).
    Destination(&'a str, bool),
}

impl DeliveryRoute<'_> {
    fn channel_id(&self) -> &str {
        match self {
            DeliveryRoute::Send(c, _)
            | DeliveryRoute::SendTest(c)
            | DeliveryRoute::List(c)
            | DeliveryRoute::Get(c, _)
            | DeliveryRoute::Resend(c, _)
            | DeliveryRoute::Recover(c)
            | DeliveryRoute::Destination(c, _) => c,
        }
    }
}

pub async fn handle(ctx: &Ctx, mut req: Request, route: DeliveryRoute<'_>) -> Handled {
    let channel = authorized_channel(ctx, &req, &route).await?;
    let now = now_ms();
    let answer = match route {
        DeliveryRoute::Send(_, wctx) => send(ctx, wctx, &mut req, &channel, now).await?,
        DeliveryRoute::SendTest(_) => send_test(ctx, &mut req, &channel, now).await?,
        DeliveryRoute::List(_) => list(ctx, &req, &channel).await?,
        DeliveryRoute::Get(_, delivery_id) => get(ctx, &channel, delivery_id).await?,
        DeliveryRoute::Resend(_, delivery_id) => resend(ctx, &channel, delivery_id, now).await?,
        DeliveryRoute::Recover(_) => recover(ctx, &mut req, &channel, now).await?,
        DeliveryRoute::Destination(_, enable) => destination(ctx, &channel, enable).await?,
    };
    Ok(answer)
}

/// Who may call the route (`core::admin::authorize`), then the channel it
/// names. The channel is looked up before the check only on the send
/// routes, whose process key lives on it, so an anonymous caller cannot
/// tell existing channel ids from others on the admin-only routes. The send
/// routes read it through the isolate's channel cache (`CHANNEL_CACHE_MS`),
/// as webhooks do: a send does not wait for a D1 read on every call.
async fn authorized_channel(
    ctx: &Ctx,
    req: &Request,
    route: &DeliveryRoute<'_>,
) -> Result<Channel, RestError> {
    let store = ctx.store()?;
    let channel_id = route.channel_id();
    let channel = match route {
        DeliveryRoute::Send(..) | DeliveryRoute::SendTest(_) => {
            let key = CacheKey::Id(channel_id.to_owned());
            let channel = store
                .channel_by_key(key, now_ms(), ctx.settings.channel_cache_ms)
                .await?;
            ctx.authorize(req, channel.as_ref(), Policy::AdminOrProcessKey)?;
            channel
        }
        _ => {
            ctx.authorize(req, None, Policy::AdminOnly)?;
            store.channel(channel_id).await?
        }
    };
    channel.ok_or_else(|| RestError::not_found(format!("No channel with id {channel_id}")))
}

/// `POST …/send`: a delivery of the rendered template (202), stored
/// leased, then attempted at once after the answer, with a delayed queue
/// message as the safety net (`core::outbound::lease::FirstAttempt`).
async fn send(
    ctx: &Ctx,
    wctx: &Context,
    req: &mut Request,
    channel: &Channel,
    now: u64,
) -> Result<Response, RestError> {
    let key = outbound::idempotency_key(http::header(req, "idempotency-key"))?;
    let vars = variables(req, ctx.settings.max_body_bytes).await?;
    let rendered = outbound::prepare(&ctx.settings, channel, &vars, now)?;
    let d = Delivery::new(
        ids::uuid_v4(random16()),
        channel.id.clone(),
        rendered,
        RetryPolicy::for_channel(Some(channel)),
        key,
        now_iso(),
        now,
    );
    let store = ctx.store()?;
    let controls = Controls::of(channel.opts.callback.as_ref());
    let plan = lease::first_attempt(now, &ctx.settings);
    let due = match controls {
        Some(_) => control::OWNED_MS,
        None => plan.due_ms,
    };
    if let Some(earlier) = store.insert_delivery(&d, due).await? {
        return rest_json(
            202,
            &json!({"delivery_id": earlier.id, "state": earlier.state, "idempotent_replay": true}),
        );
    }
    if controls.is_some() {
        // Its owner (FIFO, throttle, breaker) attempts it, in its turn.
        schedule(&ctx.env, channel, &d.id, 1).await;
        return rest_json(202, &json!({"delivery_id": d.id, "state": d.state}));
    }
    let answer = rest_json(202, &json!({"delivery_id": d.id, "state": d.state}));
    wctx.wait_until(first::attempt_now(ctx.clone(), channel.clone(), d, plan));
    answer
}

/// `POST …/send/test`: one attempt now, nothing stored or queued.
async fn send_test(
    ctx: &Ctx,
    req: &mut Request,
    channel: &Channel,
    now: u64,
) -> Result<Response, RestError> {
    let settings = &ctx.settings;
    let vars = variables(req, settings.max_body_bytes).await?;
    let rendered = outbound::prepare(settings, channel, &vars, now)?;
    let id = ids::uuid_v4(random16());
    let r = attempt(
        &rendered,
        &signing_secret(channel),
        &id,
        settings.callback_timeout_s,
    )
    .await;
    rest_json(
        200,
        &json!({
            "status": r.status,
            "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "body_excerpt": request_log::excerpt(&r.body),
            "latency_ms": r.latency_ms,
            "error": r.error,
            "request": rendered,
        }),
    )
}

/// `GET …/deliveries`: newest first, paged, by `state` when asked.
async fn list(ctx: &Ctx, req: &Request, channel: &Channel) -> Result<Response, RestError> {
    let pairs = query_pairs(req);
    let listing = request_log::parse_listing(&pairs, request_log::DELIVERY_FILTERS)?;
    let list = ctx.store()?.deliveries(&channel.id, &listing).await?;
    rest_json(200, &serde_json::to_value(list).unwrap_or_default())
}

/// The channel's delivery `delivery_id`, with its generation.
async fn existing(
    ctx: &Ctx,
    channel: &Channel,
    delivery_id: &str,
) -> Result<(Delivery, u64), RestError> {
    ctx.store()?
        .delivery(delivery_id, Some(&channel.id))
        .await?
        .ok_or_else(|| RestError::not_found(format!("No delivery with id {delivery_id}")))
}

/// `GET …/deliveries/{delivery_id}`.
async fn get(ctx: &Ctx, channel: &Channel, delivery_id: &str) -> Result<Response, RestError> {
    let (d, _) = existing(ctx, channel, delivery_id).await?;
    rest_json(200, &serde_json::to_value(d).unwrap_or_default())
}

/// `POST …/deliveries/{delivery_id}/resend`: a dead or failed delivery,
/// pending again under a new generation (202).
async fn resend(
    ctx: &Ctx,
    channel: &Channel,
    delivery_id: &str,
    now: u64,
) -> Result<Response, RestError> {
    let (mut d, generation) = existing(ctx, channel, delivery_id).await?;
    d.resend(now)?;
    let due = control::due_column(Controls::of(channel.opts.callback.as_ref()).as_ref(), now);
    if !ctx
        .store()?
        .update_delivery(&d, generation, generation + 1, due)
        .await?
    {
        return Err(RestError::conflict(
            "The delivery changed meanwhile; try again",
        ));
    }
    schedule(&ctx.env, channel, &d.id, generation + 1).await;
    rest_json(202, &json!({"delivery_id": d.id, "state": d.state}))
}

/// `POST …/deliveries/recover`: every failed/dead delivery of the channel
/// created since `since` (up to [`outbound::RECOVER_BATCH`]), resent under a
/// new generation, each keeping its attempts (202 with the count, and
/// `more` when another call would find more). Repeating it restarts
/// nothing twice: recovered deliveries are pending, not failed or dead.
async fn recover(
    ctx: &Ctx,
    req: &mut Request,
    channel: &Channel,
    now: u64,
) -> Result<Response, RestError> {
    let ask = outbound::parse_recover(&http::read_body(req, ctx.settings.max_body_bytes).await?)?;
    let store = ctx.store()?;
    let found = store
        .deliveries_to_recover(
            &channel.id,
            ask.since_ms,
            &ask.states,
            outbound::RECOVER_BATCH + 1,
        )
        .await?;
    let more = found.len() as u64 > outbound::RECOVER_BATCH;
    let due = control::due_column(Controls::of(channel.opts.callback.as_ref()).as_ref(), now);
    let work = found
        .into_iter()
        .take(outbound::RECOVER_BATCH as usize)
        .map(|(mut d, generation)| {
            let store = &store;
            async move {
                if d.resend(now).is_err()
                    || !store
                        .update_delivery(&d, generation, generation + 1, due)
                        .await?
                {
                    return Ok::<_, RestError>(false); // changed meanwhile
                }
                schedule(&ctx.env, channel, &d.id, generation + 1).await;
                Ok(true)
            }
        });
    let mut recovered = 0u64;
    for done in futures_util::future::join_all(work).await {
        recovered += u64::from(done?);
    }
    rest_json(202, &json!({"recovered": recovered, "more": more}))
}

/// `GET …/destination` and `POST …/destination/enable`: the state of the
/// channel's delivery controls (enabled or disabled by its circuit breaker,
/// the failures counted), and re-enabling it: its waiting deliveries then
/// resume, in order. A channel without controls is always enabled.
async fn destination(ctx: &Ctx, channel: &Channel, enable: bool) -> Result<Response, RestError> {
    let controls = Controls::of(channel.opts.callback.as_ref());
    let state = match (controls, enable) {
        (None, _) => Default::default(),
        (Some(_), false) => clients::destination::state(&ctx.env, &channel.id)
            .await
            .map_err(internal)?,
        (Some(_), true) => clients::destination::enable(&ctx.env, &channel.id)
            .await
            .map_err(internal)?,
    };
    rest_json(200, &control::describe(controls.as_ref(), &state))
}

/// The send's variables, from a body of at most `max` bytes.
async fn variables(req: &mut Request, max: usize) -> Result<Map<String, Value>, RestError> {
    outbound::send_variables(&http::read_body(req, max).await?)
}
