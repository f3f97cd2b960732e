//! The Corezoid Sync API: request parsing, authentication, deadlines and the
//! assembly of the caller's answer from each operation's outcome.

use crate::config::Settings;
use crate::error::ApiError;
use crate::signature;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Description of an op whose wait ran out (Corezoid's wording).
pub const TIMEOUT_DESCRIPTION: &str = "Timeout for create task";

/// One operation of a Sync API request.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncOp {
    /// `{"type":"create","obj":"task","conv_id":…,"data":{…}}`: start a task and wait for its callback.
    Create(CreateOp),
    /// `{"type":"show","obj":"result","request_id":"…"}`: fetch a result that arrived late.
    ShowResult {
        /// The id of the request whose result is wanted.
        request_id: String,
    },
    /// An op this gateway cannot run; it is answered with this error, the others still run.
    Invalid {
        /// Why it cannot run.
        description: String,
    },
}

/// A `create task` op.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateOp {
    /// The process to create the task in.
    pub conv_id: u64,
    /// The task's data (`__callback_url` is added when it is forwarded).
    pub data: Map<String, Value>,
    /// The caller's `ref`, forwarded unchanged.
    pub reference: Option<Value>,
    /// The caller's `id`, forwarded unchanged.
    pub id: Option<Value>,
}

/// A parsed Sync API request.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRequest {
    /// `timeout` in seconds as given; `None` when the request has none.
    pub timeout_s: Option<f64>,
    /// The ops, in request order.
    pub ops: Vec<SyncOp>,
}

/// Checks login, time window and signature of a Sync API call and returns
/// the login's secret. The same answer is given for an unknown login and a
/// wrong signature, so logins cannot be probed. (The edge reads the body
/// straight into [`covering`]'s buffer and calls [`authenticate_covered`];
/// this is the same check over a body already read.)
pub fn authenticate<'s>(
    settings: &'s Settings,
    login: &str,
    unixtime: &str,
    sig: &str,
    body: &[u8],
    now_s: i64,
) -> Result<&'s str, ApiError> {
    let mut signed = covering(settings, login, unixtime, body.len());
    signed.buffer().extend_body(body);
    authenticate_covered(settings, &signed.seal(), sig, now_s)
}

/// A Sync API call's body as it is read: the buffer its signature covers
/// (`unixtime`, the login's secret, the body, the secret again: see
/// [`signature::Covered`]), with the time and the login's secret it was
/// begun with, so that [`authenticate_covered`] checks the signature of
/// that login at that time and of no other, without a second look-up.
#[derive(Debug)]
pub struct SignedBody<'a> {
    /// The time it claims to be sent at (None: not a time).
    unixtime_s: Option<i64>,
    /// The login's secret, looked up once (None: an unknown login).
    secret: Option<&'a str>,
    covered: signature::Covered,
}

impl SignedBody<'_> {
    /// The buffer the body is read into.
    pub fn buffer(&mut self) -> &mut signature::Covered {
        &mut self.covered
    }

    /// Closes the buffer once the whole body is in it.
    pub fn seal(self) -> Self {
        SignedBody {
            covered: self.covered.seal(),
            ..self
        }
    }

    /// The body read so far.
    pub fn body(&self) -> &[u8] {
        self.covered.body()
    }
}

/// Begins the [`SignedBody`] of a call by `login` at `unixtime`, with room
/// for `body_capacity` bytes of body; an unknown login's buffer holds no
/// secret, and no signature verifies over it.
pub fn covering<'a>(
    settings: &'a Settings,
    login: &str,
    unixtime: &str,
    body_capacity: usize,
) -> SignedBody<'a> {
    let secret = settings.api_keys.get(login).map(String::as_str);
    SignedBody {
        unixtime_s: signature::parse_unixtime(unixtime),
        secret,
        covered: signature::Covered::new(unixtime, secret, body_capacity),
    }
}

/// [`authenticate`] over a sealed [`SignedBody`]: the time window, then
/// the login's signature over the buffer; the login's secret.
pub fn authenticate_covered<'a>(
    settings: &Settings,
    signed: &SignedBody<'a>,
    sig: &str,
    now_s: i64,
) -> Result<&'a str, ApiError> {
    let Some(t) = signed.unixtime_s else {
        return Err(ApiError::access_denied(
            "unixtime must be the request time in whole seconds",
        ));
    };
    if !signature::time_in_window(t, now_s, settings.signature_max_skew_s) {
        return Err(ApiError::access_denied(format!(
            "unixtime is more than {} s from the server's time",
            settings.signature_max_skew_s
        )));
    }
    match signed.secret {
        Some(secret) if signed.covered.verify(sig) => Ok(secret),
        _ => Err(ApiError::access_denied("Invalid login or signature")),
    }
}

/// What remembers a signed request under `SIGNATURE_REPLAY_PROTECTION`:
/// one Durable Object per signature (no object is shared by two requests,
/// so none is hot), which keeps it until its window ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayGuard {
    /// The object's name: the login and the signature in lower case (a
    /// signature is taken in either case, so both cases are one request).
    pub name: String,
    /// Unix ms until which the signature must be remembered: the end of the
    /// window in which [`authenticate`] takes it (`unixtime` +
    /// `SIGNATURE_MAX_SKEW_S`), plus a second.
    pub until_ms: u64,
}

/// The replay guard of a request [`authenticate`] took; None when its
/// `unixtime` does not parse (it then was not taken).
pub fn replay_guard(
    settings: &Settings,
    login: &str,
    unixtime: &str,
    sig: &str,
) -> Option<ReplayGuard> {
    let t = u64::try_from(signature::parse_unixtime(unixtime)?).ok()?;
    Some(ReplayGuard {
        name: format!("sync:{login}:{}", sig.to_ascii_lowercase()),
        until_ms: t
            .saturating_add(settings.signature_max_skew_s)
            .saturating_add(1)
            .saturating_mul(1000),
    })
}

/// The description of a create op whose `conv_id` is not a process id.
const BAD_CONV_ID: &str = "conv_id must be a positive integer or a string of digits";

/// A create op's `conv_id`: a positive integer, or a string of its digits.
fn conv_id(v: Option<&Value>) -> Option<u64> {
    let parsed = match v {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    parsed.filter(|&n| n > 0)
}

fn parse_op(v: &Value) -> SyncOp {
    let invalid = |d: &str| SyncOp::Invalid {
        description: d.to_string(),
    };
    let Some(o) = v.as_object() else {
        return invalid("op must be a JSON object");
    };
    let typ = o.get("type").and_then(Value::as_str);
    let obj = o.get("obj").and_then(Value::as_str);
    match (typ, obj) {
        (Some("create"), Some("task")) => {
            let Some(conv_id) = conv_id(o.get("conv_id")) else {
                return invalid(BAD_CONV_ID);
            };
            let data = match o.get("data") {
                Some(Value::Object(m)) => m.clone(),
                None => Map::new(),
                Some(_) => return invalid("data must be a JSON object"),
            };
            SyncOp::Create(CreateOp {
                conv_id,
                data,
                reference: o.get("ref").cloned(),
                id: o.get("id").cloned(),
            })
        }
        (Some("show"), Some("result")) => match o.get("request_id").and_then(Value::as_str) {
            Some(id) => SyncOp::ShowResult {
                request_id: id.to_string(),
            },
            None => invalid("request_id must be a string"),
        },
        (Some("create"), _) => invalid("obj must be \"task\" for type \"create\""),
        (Some("show"), _) => invalid("obj must be \"result\" for type \"show\""),
        (Some(t), _) => SyncOp::Invalid {
            description: format!("unknown op type \"{t}\"; use \"create\" or \"show\""),
        },
        (None, _) => invalid("op type is missing"),
    }
}

fn parse_timeout(v: Option<&Value>) -> Result<Option<f64>, ApiError> {
    let t = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match t {
        Some(t) if t.is_finite() && t > 0.0 => Ok(Some(t)),
        _ => Err(ApiError::format(
            "timeout must be a positive number of seconds",
        )),
    }
}

/// Parses a request body. Request-level problems are errors; a bad op is
/// kept as [`SyncOp::Invalid`] and answered on its own.
pub fn parse(body: &[u8], max_ops: usize) -> Result<SyncRequest, ApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::format(format!("Bad JSON: {e}")))?;
    let Value::Object(o) = v else {
        return Err(ApiError::format("request body must be a JSON object"));
    };
    let timeout_s = parse_timeout(o.get("timeout"))?;
    let ops = match o.get("ops") {
        None | Some(Value::Null) => return Err(ApiError::ops("ops is missing")),
        Some(Value::Array(a)) if a.is_empty() => return Err(ApiError::ops("ops is empty")),
        Some(Value::Array(a)) if a.len() > max_ops => {
            return Err(ApiError::ops(format!(
                "ops has {} operations; at most {max_ops} are allowed",
                a.len()
            )))
        }
        Some(Value::Array(a)) => a.iter().map(parse_op).collect(),
        Some(_) => return Err(ApiError::format("ops must be an array")),
    };
    Ok(SyncRequest { timeout_s, ops })
}

/// How long a request may wait, and whether the caller chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// How long to wait, in ms (at least 1, at most `SYNC_MAX_TIMEOUT_S`).
    pub timeout_ms: u64,
    /// True when the request gave `timeout`: a timeout is then an op error
    /// (HTTP 200); otherwise the whole answer is 504.
    pub explicit: bool,
}

impl Deadline {
    /// The deadline of a request that gave `timeout_s` (or none), under the settings' default and
    /// cap.
    pub fn new(timeout_s: Option<f64>, settings: &Settings) -> Deadline {
        let cap_ms = settings.sync_max_timeout_s.saturating_mul(1000);
        match timeout_s {
            Some(t) => Deadline {
                // Sub-millisecond timeouts round up to 1 ms; huge ones saturate, then cap.
                timeout_ms: ((t * 1000.0).ceil() as u64).clamp(1, cap_ms),
                explicit: true,
            },
            None => Deadline {
                timeout_ms: settings
                    .sync_default_timeout_s
                    .saturating_mul(1000)
                    .min(cap_ms),
                explicit: false,
            },
        }
    }

    /// Unix second after which the callback URL of a request started at
    /// `now_ms` stops taking results.
    pub fn id_expiry_s(&self, now_ms: u64, result_ttl_s: u64) -> u64 {
        (now_ms + self.timeout_ms).div_ceil(1000) + result_ttl_s
    }
}

/// What became of one create op. Also the wire format between the worker
/// and the rendezvous object.
/// (Its `Deserialize` is written by hand, below.)
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpOutcome {
    /// The process called back with this object.
    Data {
        /// The callback's body.
        data: Value,
    },
    /// The engine refused the task; its op answer, passed on as it came.
    Refused {
        /// The engine's op answer.
        op: Value,
    },
    /// The engine could not be used (unreachable, 5xx, not JSON, …).
    Failed {
        /// What went wrong.
        description: String,
    },
    /// The deadline ran out first.
    Timeout,
}

/// The form `Serialize` writes (`{"outcome": "data", "data": …}`, …), read
/// from a JSON tree: what serde's derive would accept, other fields ignored.
/// (The derive of an internally tagged enum buffers its input in a content
/// tree of its own: code the worker's wasm would carry for this one type.)
impl<'de> Deserialize<'de> for OpOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let Value::Object(mut m) = Value::deserialize(d)? else {
            return Err(D::Error::custom("an op outcome must be a JSON object"));
        };
        let mut take = |name: &str| {
            m.remove(name)
                .ok_or_else(|| D::Error::custom(format!("missing field `{name}`")))
        };
        let tag = match take("outcome")? {
            Value::String(tag) => tag,
            _ => return Err(D::Error::custom("`outcome` must be a string")),
        };
        match tag.as_str() {
            "data" => Ok(OpOutcome::Data {
                data: take("data")?,
            }),
            "refused" => Ok(OpOutcome::Refused { op: take("op")? }),
            "failed" => match take("description")? {
                Value::String(description) => Ok(OpOutcome::Failed { description }),
                _ => Err(D::Error::custom("`description` must be a string")),
            },
            "timeout" => Ok(OpOutcome::Timeout),
            other => Err(D::Error::custom(format!("unknown outcome `{other}`"))),
        }
    }
}

/// The answer slot of one op, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A create op's outcome, with the request id it was parked under.
    Outcome {
        /// The id it was parked under.
        request_id: String,
        /// What became of it.
        outcome: OpOutcome,
    },
    /// An op answered without waiting (invalid ops, result look-ups).
    Immediate(Value),
}

impl Answer {
    /// The answer to an op that cannot run: `{"proc": "error", "description": …}`.
    pub fn invalid(description: &str) -> Answer {
        Answer::Immediate(json!({"proc": "error", "description": description}))
    }

    fn to_json(&self) -> Value {
        match self {
            Answer::Immediate(v) => v.clone(),
            Answer::Outcome {
                request_id,
                outcome,
            } => match outcome {
                OpOutcome::Data { data } => json!({"proc": "ok", "data": data}),
                OpOutcome::Refused { op } => op.clone(),
                OpOutcome::Failed { description } => json!({
                    "proc": "error", "description": description, "request_id": request_id,
                }),
                OpOutcome::Timeout => json!({
                    "proc": "error", "description": TIMEOUT_DESCRIPTION, "request_id": request_id,
                }),
            },
        }
    }

    fn timed_out(&self) -> bool {
        matches!(
            self,
            Answer::Outcome {
                outcome: OpOutcome::Timeout,
                ..
            }
        )
    }
}

/// Builds the caller's HTTP status and body from the op answers.
///
/// With an explicit `timeout`, a timed-out op is an error inside a 200
/// answer. Without one, any timed-out op makes the answer a 504; its body
/// still lists every op (with request ids), so late results can be fetched.
pub fn respond(answers: &[Answer], deadline: Deadline) -> (u16, Value) {
    let ops: Vec<Value> = answers.iter().map(Answer::to_json).collect();
    if !deadline.explicit && answers.iter().any(Answer::timed_out) {
        let e = ApiError::gateway_timeout();
        return (
            e.status,
            json!({"request_proc": e.code, "description": e.description, "ops": ops}),
        );
    }
    (200, json!({"request_proc": "ok", "ops": ops}))
}

/// Answer to a `show result` op for a stored result.
pub fn show_found(request_id: &str, data: Value) -> Value {
    json!({"proc": "ok", "obj": "result", "request_id": request_id, "data": data})
}

/// Answer to a `show result` op when nothing is stored. While callbacks are
/// still taken (`callbacks_open`) the result may yet come: `proc` is `wait`.
pub fn show_absent(request_id: &str, callbacks_open: bool) -> Value {
    if callbacks_open {
        json!({"proc": "wait", "obj": "result", "request_id": request_id,
               "description": "Result not received yet"})
    } else {
        show_not_found(request_id)
    }
}

/// Answer to a `show result` op for an id that is forged, someone else's or expired.
pub fn show_not_found(request_id: &str) -> Value {
    json!({"proc": "error", "obj": "result", "request_id": request_id,
           "description": "Result not found"})
}
