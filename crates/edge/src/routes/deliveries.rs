//! The send routes of a channel's outbound callback:
//! `…/{id}/send`, `…/{id}/send/test`, `…/{id}/deliveries[/{delivery_id}[/resend]]`.
//! The admin token opens all of them; the channel's process key opens the
//! two send routes.

use crate::clock::{now_iso, now_ms, random16};
use crate::ctx::Ctx;
use crate::deliveries::{self, attempt::attempt, signing_secret};
use crate::http::{self, internal, query_pairs, rest_json, Handled};
use serde_json::{json, Map, Value};
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::{self, Delivery, Rendered};
use syncbridge_core::{admin, ids, request_log, Settings};
use worker::Request;

/// Longest `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Which delivery route was asked for, with its channel id (and delivery id).
pub enum DeliveryRoute<'a> {
    Send(&'a str),
    SendTest(&'a str),
    List(&'a str),
    Get(&'a str, &'a str),
    Resend(&'a str, &'a str),
}

impl DeliveryRoute<'_> {
    fn channel_id(&self) -> &str {
        match self {
            DeliveryRoute::Send(c)
            | DeliveryRoute::SendTest(c)
            | DeliveryRoute::List(c)
            | DeliveryRoute::Get(c, _)
            | DeliveryRoute::Resend(c, _) => c,
        }
    }
}

pub async fn handle(ctx: &Ctx, mut req: Request, op: DeliveryRoute<'_>) -> Handled {
    Ok(run(ctx, &mut req, op).await?)
}

async fn run(
    ctx: &Ctx,
    req: &mut Request,
    op: DeliveryRoute<'_>,
) -> Result<worker::Response, RestError> {
    let settings = &ctx.settings;
    let env = &ctx.env;
    let store = ctx.store()?;
    let channel_id = op.channel_id();
    let auth = req.headers().get("authorization").ok().flatten();
    let admin_ok = admin::admin_ok(auth.as_deref(), settings.admin_token.as_deref());
    if !admin_ok
        && settings.admin_token.is_none()
        && !matches!(op, DeliveryRoute::Send(_) | DeliveryRoute::SendTest(_))
    {
        return Err(RestError::internal(
            "setting ADMIN_TOKEN is not set, so the channel API is closed",
        ));
    }
    // Look the channel up only for a caller who may be allowed in, so an
    // anonymous caller cannot tell existing channel ids from others.
    let channel = if admin_ok || matches!(op, DeliveryRoute::Send(_) | DeliveryRoute::SendTest(_)) {
        store.channel(channel_id).await?
    } else {
        None
    };
    let process_ok = matches!(op, DeliveryRoute::Send(_) | DeliveryRoute::SendTest(_))
        && admin::process_key_ok(auth.as_deref(), channel.as_ref());
    if !admin_ok && !process_ok {
        return Err(RestError::unauthorized());
    }
    let channel =
        channel.ok_or_else(|| RestError::not_found(format!("No channel with id {channel_id}")))?;
    let now = now_ms();
    let ok = rest_json;
    match op {
        DeliveryRoute::Send(_) => {
            let key = idempotency_key(req)?;
            let vars = variables(req, settings.max_body_bytes).await?;
            let rendered = prepare(settings, &channel, &vars, now)?;
            let d = Delivery {
                id: ids::uuid_v4(random16()),
                channel_id: channel.id.clone(),
                state: outbound::PENDING.into(),
                created_at: now_iso(),
                idempotency_key: key,
                request: rendered,
                retry: channel
                    .opts
                    .callback
                    .as_ref()
                    .map(|c| c.retry.clone())
                    .unwrap_or_default(),
                attempts: Vec::new(),
                attempt_base: 0,
                next_attempt_at_ms: Some(now),
                error: None,
            };
            if let Some(earlier) = store.insert_delivery(&d, now).await? {
                return ok(
                    202,
                    &json!({"delivery_id": earlier.id, "state": earlier.state, "idempotent_replay": true}),
                );
            }
            // If this fails the sweeper sends it: the row is already due.
            deliveries::enqueue_or_log(env, &d.id, 1).await;
            ok(202, &json!({"delivery_id": d.id, "state": d.state}))
        }
        DeliveryRoute::SendTest(_) => {
            let vars = variables(req, settings.max_body_bytes).await?;
            let rendered = prepare(settings, &channel, &vars, now)?;
            let id = ids::uuid_v4(random16());
            let r = attempt(
                &rendered,
                &signing_secret(&channel),
                &id,
                settings.callback_timeout_s,
            )
            .await;
            ok(
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
        DeliveryRoute::List(_) => {
            let (offset, limit) =
                request_log::parse_paging(&query_pairs(&req.url().map_err(internal)?))?;
            let list = store.deliveries(channel_id, offset, limit).await?;
            ok(200, &serde_json::to_value(list).unwrap_or_default())
        }
        DeliveryRoute::Get(_, delivery_id) => {
            let (d, _) = store
                .delivery(delivery_id, Some(channel_id))
                .await?
                .ok_or_else(|| {
                    RestError::not_found(format!("No delivery with id {delivery_id}"))
                })?;
            ok(200, &serde_json::to_value(d).unwrap_or_default())
        }
        DeliveryRoute::Resend(_, delivery_id) => {
            let (mut d, generation) = store
                .delivery(delivery_id, Some(channel_id))
                .await?
                .ok_or_else(|| {
                    RestError::not_found(format!("No delivery with id {delivery_id}"))
                })?;
            if d.state != outbound::DEAD && d.state != outbound::FAILED {
                return Err(RestError::conflict(format!(
                    "Only a dead or failed delivery can be resent; this one is {}",
                    d.state
                )));
            }
            d.state = outbound::PENDING.into();
            d.error = None;
            d.attempt_base = d.attempts.len() as u32;
            d.next_attempt_at_ms = Some(now);
            if !store
                .update_delivery(&d, generation, generation + 1, now)
                .await?
            {
                return Err(RestError::conflict(
                    "The delivery changed meanwhile; try again",
                ));
            }
            deliveries::enqueue_or_log(env, &d.id, generation + 1).await;
            ok(202, &json!({"delivery_id": d.id, "state": d.state}))
        }
    }
}

fn idempotency_key(req: &Request) -> Result<Option<String>, RestError> {
    match req.headers().get("idempotency-key").ok().flatten() {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY => Err(RestError::bad_request(
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
        )),
        Some(k) => Ok(Some(k)),
    }
}

/// `{"variables": {…}}`; an empty body means no variables.
async fn variables(req: &mut Request, max: usize) -> Result<Map<String, Value>, RestError> {
    let body = http::read_body(req, max).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| RestError::bad_request(format!("Bad JSON: {e}")))?;
    let Value::Object(mut o) = v else {
        return Err(RestError::bad_request(
            "the body must be a JSON object: {\"variables\": {…}}",
        ));
    };
    if let Some(k) = o.keys().find(|k| *k != "variables") {
        return Err(RestError::bad_request(format!(
            "Unknown field `{k}`; use `variables`"
        )));
    }
    match o.shift_remove("variables") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(RestError::bad_request("`variables` must be an object")),
    }
}

/// Checks the destination and renders the channel's template.
fn prepare(
    settings: &Settings,
    channel: &Channel,
    vars: &Map<String, Value>,
    now: u64,
) -> Result<Rendered, RestError> {
    let cfg = channel.opts.callback.as_ref().ok_or_else(|| {
        RestError::conflict("This channel has no callback configuration (opts.callback)")
    })?;
    if channel.url.is_empty() {
        return Err(RestError::conflict("This channel has no destination url"));
    }
    outbound::check_destination(&channel.url, &settings.callback_allowed_hosts)
        .map_err(|e| RestError::new(422, e))?;
    outbound::render(cfg, &channel.url, vars, &outbound::callback_id(now))
}
