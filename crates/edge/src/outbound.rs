//! Outbound callbacks: the send routes, the queue consumer that makes the
//! attempts, and the sweeper that re-enqueues deliveries whose message was
//! lost. D1 is the source of truth; a queue message only says "attempt
//! delivery X at generation G", and a message of an older generation is
//! dropped, so a delivery is never attempted by two messages at once.

use crate::http::{self, now_iso, now_ms, query_pairs, random16, rest_error};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::Duration;
use syncbridge_core::channel::Channel;
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::{
    self, Attempt, Delivery, DeliveryState, HttpMethod, Rendered, Verdict,
};
use syncbridge_core::{admin, ids, request_log, webhook, Settings};
use worker::{
    Delay, Env, Fetch, Headers, MessageBatch, MessageBuilder, MessageExt, Method,
    QueueRetryOptionsBuilder, Request, RequestInit, RequestRedirect, Response, Result,
};

/// Binding of the delivery queue, and the name of its dead-letter queue.
const QUEUE: &str = "CALLBACKS";
const DEAD_LETTER_QUEUE: &str = "syncbridge-callbacks-dlq";
/// Most overdue deliveries one sweep re-enqueues.
const SWEEP_BATCH: u64 = 100;
/// Longest `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The queue message: attempt this delivery, if it is still at this generation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueMsg {
    pub delivery_id: String,
    pub generation: u64,
}

pub enum Op<'a> {
    Send(&'a str),
    SendTest(&'a str),
    List(&'a str),
    Get(&'a str, &'a str),
    Resend(&'a str, &'a str),
}

impl Op<'_> {
    fn channel_id(&self) -> &str {
        match self {
            Op::Send(c) | Op::SendTest(c) | Op::List(c) | Op::Get(c, _) | Op::Resend(c, _) => c,
        }
    }
}

pub async fn handle(mut req: Request, env: &Env, op: Op<'_>) -> Result<Response> {
    match run(&mut req, env, op).await {
        Ok(resp) => Ok(resp),
        Err(e) => rest_error(&e),
    }
}

fn internal(e: worker::Error) -> RestError {
    RestError::internal(e.to_string())
}

async fn run(req: &mut Request, env: &Env, op: Op<'_>) -> std::result::Result<Response, RestError> {
    let settings = crate::settings(env).map_err(RestError::from)?;
    let store = Store::new(env)?;
    let channel_id = op.channel_id();
    let auth = req.headers().get("authorization").ok().flatten();
    let admin_ok = admin::admin_ok(auth.as_deref(), settings.admin_token.as_deref());
    if !admin_ok && settings.admin_token.is_none() && !matches!(op, Op::Send(_) | Op::SendTest(_)) {
        return Err(RestError::internal(
            "setting ADMIN_TOKEN is not set, so the channel API is closed",
        ));
    }
    // Look the channel up only for a caller who may be allowed in, so an
    // anonymous caller cannot tell existing channel ids from others.
    let channel = if admin_ok || matches!(op, Op::Send(_) | Op::SendTest(_)) {
        store.channel(channel_id).await?
    } else {
        None
    };
    let process_ok = matches!(op, Op::Send(_) | Op::SendTest(_))
        && admin::process_key_ok(auth.as_deref(), channel.as_ref());
    if !admin_ok && !process_ok {
        return Err(RestError::unauthorized());
    }
    let channel =
        channel.ok_or_else(|| RestError::not_found(format!("No channel with id {channel_id}")))?;
    let now = now_ms();
    let ok = |status: u16, v: &Value| http::json(status, v).map_err(internal);
    match op {
        Op::Send(_) => {
            let key = idempotency_key(req)?;
            let vars = variables(req, settings.max_body_bytes).await?;
            let rendered = prepare(&settings, &channel, &vars, now)?;
            let d = Delivery {
                id: ids::uuid_v4(random16()),
                channel_id: channel.id.clone(),
                state: DeliveryState::Pending,
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
            if let Err(e) = enqueue(env, &d.id, 1, 0).await {
                worker::console_error!(
                    "{}",
                    json!({"log": "enqueue_failed", "delivery": d.id, "error": e.to_string()})
                );
            }
            ok(202, &json!({"delivery_id": d.id, "state": d.state}))
        }
        Op::SendTest(_) => {
            let vars = variables(req, settings.max_body_bytes).await?;
            let rendered = prepare(&settings, &channel, &vars, now)?;
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
        Op::List(_) => {
            let (offset, limit) =
                request_log::parse_paging(&query_pairs(&req.url().map_err(internal)?))?;
            let list = store.deliveries(channel_id, offset, limit).await?;
            ok(200, &serde_json::to_value(list).unwrap_or_default())
        }
        Op::Get(_, delivery_id) => {
            let (d, _) = store
                .delivery(delivery_id, Some(channel_id))
                .await?
                .ok_or_else(|| {
                    RestError::not_found(format!("No delivery with id {delivery_id}"))
                })?;
            ok(200, &serde_json::to_value(d).unwrap_or_default())
        }
        Op::Resend(_, delivery_id) => {
            let (mut d, generation) = store
                .delivery(delivery_id, Some(channel_id))
                .await?
                .ok_or_else(|| {
                    RestError::not_found(format!("No delivery with id {delivery_id}"))
                })?;
            if d.state != DeliveryState::Dead && d.state != DeliveryState::Failed {
                return Err(RestError::conflict(format!(
                    "Only a dead or failed delivery can be resent; this one is {}",
                    d.state
                )));
            }
            d.state = DeliveryState::Pending;
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
            if let Err(e) = enqueue(env, &d.id, generation + 1, 0).await {
                worker::console_error!(
                    "{}",
                    json!({"log": "enqueue_failed", "delivery": d.id, "error": e.to_string()})
                );
            }
            ok(202, &json!({"delivery_id": d.id, "state": d.state}))
        }
    }
}

fn idempotency_key(req: &Request) -> std::result::Result<Option<String>, RestError> {
    match req.headers().get("idempotency-key").ok().flatten() {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY => Err(RestError::bad_request(
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
        )),
        Some(k) => Ok(Some(k)),
    }
}

/// `{"variables": {…}}`; an empty body means no variables.
async fn variables(
    req: &mut Request,
    max: usize,
) -> std::result::Result<Map<String, Value>, RestError> {
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
) -> std::result::Result<Rendered, RestError> {
    let cfg = channel.opts.callback.as_ref().ok_or_else(|| {
        RestError::conflict("This channel has no callback configuration (opts.callback)")
    })?;
    if channel.url.is_empty() {
        return Err(RestError::conflict("This channel has no destination url"));
    }
    outbound::check_destination(&channel.url, &settings.callback_allowed_hosts)
        .map_err(|e| RestError::new(422, e.to_string()))?;
    outbound::render(cfg, &channel.url, vars, &outbound::callback_id(now))
}

fn signing_secret(channel: &Channel) -> String {
    channel
        .opts
        .callback
        .as_ref()
        .map(|c| c.signing_secret.clone())
        .unwrap_or_default()
}

/// Checks a channel's callback destination when it is saved.
pub fn check_on_save(settings: &Settings, channel: &Channel) -> std::result::Result<(), RestError> {
    if channel.opts.callback.is_some() && !channel.url.is_empty() {
        outbound::check_destination(&channel.url, &settings.callback_allowed_hosts)
            .map_err(|e| RestError::bad_request(format!("url: {e}")))?;
    }
    Ok(())
}

async fn enqueue(env: &Env, id: &str, generation: u64, delay_s: u32) -> Result<()> {
    let msg = QueueMsg {
        delivery_id: id.to_string(),
        generation,
    };
    env.queue(QUEUE)?
        .send(MessageBuilder::new(msg).delay_seconds(delay_s).build())
        .await
}

struct AttemptResult {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    latency_ms: u64,
    error: Option<String>,
    retry_after: Option<String>,
}

/// One attempt: the rendered request, signed when the channel has a secret,
/// redirects not followed, bounded by `timeout_s`.
async fn attempt(r: &Rendered, secret: &str, msg_id: &str, timeout_s: u64) -> AttemptResult {
    let started = now_ms();
    let send = async {
        let headers = Headers::new();
        for (k, v) in &r.headers {
            headers.append(k, v)?;
        }
        if !secret.is_empty() {
            let ts = started / 1000;
            headers.set("webhook-id", msg_id)?;
            headers.set("webhook-timestamp", &ts.to_string())?;
            headers.set(
                "webhook-signature",
                &webhook::standard_signature(secret, msg_id, ts, r.body.as_bytes()),
            )?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(r.method.to_string()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        if r.method != HttpMethod::Get {
            init.with_body(Some(r.body.as_str().into()));
        }
        let mut resp = Fetch::Request(Request::new_with_init(&r.url, &init)?)
            .send()
            .await?;
        let status = resp.status_code();
        let headers: Vec<(String, String)> = resp.headers().entries().collect();
        let body = resp.bytes().await.unwrap_or_default();
        Ok::<_, worker::Error>((status, headers, body))
    };
    futures_util::pin_mut!(send);
    let timeout = Delay::from(Duration::from_secs(timeout_s));
    let outcome = futures_util::future::select(send, timeout).await;
    let latency_ms = now_ms().saturating_sub(started);
    match outcome {
        futures_util::future::Either::Left((Ok((status, headers, body)), _)) => {
            let header = |n: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.clone())
            };
            let error = (300..400).contains(&status).then(|| {
                format!(
                    "redirect to {} not followed",
                    header("location").unwrap_or_else(|| "(no location)".into())
                )
            });
            AttemptResult {
                status: Some(status),
                retry_after: header("retry-after"),
                headers,
                body,
                latency_ms,
                error,
            }
        }
        futures_util::future::Either::Left((Err(e), _)) => AttemptResult {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            latency_ms,
            error: Some(format!("receiver unreachable: {e}")),
            retry_after: None,
        },
        futures_util::future::Either::Right(_) => AttemptResult {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            latency_ms,
            error: Some(format!("no answer within {timeout_s} s")),
            retry_after: None,
        },
    }
}

/// What to do with a queue message after processing it.
enum Next {
    Done,
    RetryIn(u64),
}

/// The queue consumer, for the delivery queue and its dead-letter queue.
pub async fn consume(batch: MessageBatch<QueueMsg>, env: Env) -> Result<()> {
    let dead_letters = batch.queue() == DEAD_LETTER_QUEUE;
    let messages = batch.messages()?;
    let work = messages.iter().map(|m| {
        let env = &env;
        async move {
            let outcome = if dead_letters {
                bury(env, m.body()).await.map(|_| Next::Done)
            } else {
                process(env, m.body()).await
            };
            match outcome {
                Ok(Next::Done) => m.ack(),
                Ok(Next::RetryIn(s)) => m.retry_with_options(
                    &QueueRetryOptionsBuilder::new()
                        .with_delay_seconds(s.min(u64::from(u32::MAX)) as u32)
                        .build(),
                ),
                Err(e) => {
                    worker::console_error!(
                        "{}",
                        json!({"log": "delivery_error", "delivery": m.body().delivery_id, "error": e.error_message})
                    );
                    // The queue retries it; past max_retries it is dead-lettered.
                    m.retry();
                }
            }
        }
    });
    futures_util::future::join_all(work).await;
    Ok(())
}

/// Makes the attempt a message asks for and records it.
async fn process(env: &Env, msg: &QueueMsg) -> std::result::Result<Next, RestError> {
    let settings = crate::settings(env).map_err(RestError::from)?;
    let store = Store::new(env)?;
    let Some((mut d, generation)) = store.delivery(&msg.delivery_id, None).await? else {
        return Ok(Next::Done); // deleted with its channel
    };
    if d.state != DeliveryState::Pending || generation != msg.generation {
        return Ok(Next::Done); // finished, or superseded by a newer message
    }
    let Some(channel) = store.channel(&d.channel_id).await? else {
        return Ok(Next::Done);
    };
    let now = now_ms();
    // Claim the attempt: the sweeper leaves it alone while it runs.
    let lease_until = now + (settings.callback_timeout_s + settings.callback_sweep_grace_s) * 1000;
    if !store
        .update_delivery(&d, generation, generation, lease_until)
        .await?
    {
        return Ok(Next::Done);
    }
    let n = d.policy_attempts() + 1;
    let (verdict, result) =
        match outbound::check_destination(&d.request.url, &settings.callback_allowed_hosts) {
            Err(e) => (
                Verdict::Stop,
                AttemptResult {
                    status: None,
                    headers: Vec::new(),
                    body: Vec::new(),
                    latency_ms: 0,
                    error: Some(format!("not sent: {e}")),
                    retry_after: None,
                },
            ),
            Ok(()) => {
                let r = attempt(
                    &d.request,
                    &signing_secret(&channel),
                    &d.id,
                    settings.callback_timeout_s,
                )
                .await;
                let v = outbound::decide(
                    &d.retry,
                    n,
                    r.status,
                    r.retry_after.as_deref(),
                    now_ms() / 1000,
                    worker::js_sys::Math::random(),
                );
                (v, r)
            }
        };
    let attempt = Attempt {
        n: 0,
        at: now_iso(),
        status: result.status,
        latency_ms: result.latency_ms,
        response_excerpt: request_log::excerpt(&result.body),
        error: result.error.clone(),
    };
    let retry_in = d.record(attempt, &verdict, now_ms());
    let next_at = d.next_attempt_at_ms.unwrap_or(0);
    if !store
        .update_delivery(&d, generation, generation, next_at)
        .await?
    {
        return Ok(Next::Done);
    }
    let event = match d.state {
        DeliveryState::Dead => Some(syncbridge_core::eventing::DELIVERY_DEAD),
        DeliveryState::Failed => Some(syncbridge_core::eventing::DELIVERY_FAILED),
        _ => None,
    };
    if let Some(kind) = event {
        let data = json!({"delivery_id": d.id, "attempts": d.attempts.len(), "error": d.error});
        crate::hub::publish_gateway_event(env, &channel, kind, data).await;
    }
    Ok(retry_in.map_or(Next::Done, Next::RetryIn))
}

/// A message the queue gave up on: its delivery is dead.
async fn bury(env: &Env, msg: &QueueMsg) -> std::result::Result<(), RestError> {
    let store = Store::new(env)?;
    if let Some((mut d, generation)) = store.delivery(&msg.delivery_id, None).await? {
        if d.state == DeliveryState::Pending && generation == msg.generation {
            d.state = DeliveryState::Dead;
            d.next_attempt_at_ms = None;
            d.error = Some("dead-lettered: the queue gave up on it".into());
            store.update_delivery(&d, generation, generation, 0).await?;
        }
    }
    Ok(())
}

/// The cron sweeper: re-enqueues pending deliveries overdue by more than
/// `CALLBACK_SWEEP_GRACE_S`, each under a new generation.
pub async fn sweep(env: &Env) -> std::result::Result<usize, RestError> {
    let settings = crate::settings(env).map_err(RestError::from)?;
    let store = Store::new(env)?;
    let now = now_ms();
    let overdue = store
        .overdue_deliveries(
            now.saturating_sub(settings.callback_sweep_grace_s * 1000),
            SWEEP_BATCH,
        )
        .await?;
    let mut resumed = 0;
    for (id, generation) in overdue {
        if store.bump_generation(&id, generation, now).await? {
            enqueue(env, &id, generation + 1, 0)
                .await
                .map_err(internal)?;
            resumed += 1;
        }
    }
    if resumed > 0 {
        worker::console_log!("{}", json!({"log": "sweep", "resumed": resumed}));
    }
    Ok(resumed)
}

/// Stores a new delivery and queues its first attempt (the sweeper sends it
/// if queueing fails).
pub async fn queue_new(
    env: &Env,
    store: &Store,
    d: &Delivery,
    now: u64,
) -> std::result::Result<(), RestError> {
    store.insert_delivery(d, now).await?;
    if let Err(e) = enqueue(env, &d.id, 1, 0).await {
        worker::console_error!(
            "{}",
            json!({"log": "enqueue_failed", "delivery": d.id, "error": e.to_string()})
        );
    }
    Ok(())
}
