//! Talking to the process engine: the forwarded create request and the
//! reading of the engine's reply.

use crate::signature;
use crate::sync_api::CreateOp;
use serde_json::{json, Map, Value};

/// Name of the field that carries the callback URL in a task's data.
pub const CALLBACK_URL_FIELD: &str = "__callback_url";

/// `{base}/api/1/plugins/callback/{request_id}`; `base` is `PUBLIC_URL` or
/// the origin of the caller's request.
pub fn callback_url(base: &str, request_id: &str) -> String {
    format!(
        "{}/api/1/plugins/callback/{request_id}",
        base.trim_end_matches('/')
    )
}

/// A signed request ready to send to a process: a Corezoid task or a
/// webhook event. Also the wire format between the worker and the
/// rendezvous object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Forward {
    /// Where to POST.
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// Extra headers (signatures); `content-type: application/json` is always sent.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// How to read the reply.
    pub protocol: Protocol,
}

/// Builds the engine request for one create op: the op with `__callback_url`
/// added to its data, signed with the caller's key at `now_s` (the body
/// changed, so the caller's signature cannot be reused).
pub fn forward(
    api_url: &str,
    login: &str,
    secret: &str,
    now_s: u64,
    op: &CreateOp,
    callback_url: &str,
) -> Forward {
    let mut data: Map<String, Value> = op.data.clone();
    data.insert(
        CALLBACK_URL_FIELD.into(),
        Value::String(callback_url.into()),
    );
    let mut task = json!({
        "type": "create",
        "obj": "task",
        "conv_id": op.conv_id,
        "data": data,
    });
    if let Some(r) = &op.reference {
        task["ref"] = r.clone();
    }
    if let Some(i) = &op.id {
        task["id"] = i.clone();
    }
    let body = json!({ "ops": [task] }).to_string();
    let t = now_s.to_string();
    let sig = signature::sign(&t, secret, body.as_bytes());
    Forward {
        url: format!(
            "{}/api/2/json/{login}/{t}/{sig}",
            api_url.trim_end_matches('/')
        ),
        body,
        headers: Vec::new(),
        protocol: Protocol::Corezoid,
    }
}

/// The engine's verdict on a create request.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineReply {
    /// The task was created; wait for its callback.
    Accepted,
    /// The engine refused the task: answer the op with this at once.
    Refused(Value),
    /// The engine could not be used; answer the op with this error.
    Failed(String),
}

const EXCERPT: usize = 200;

fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let mut end = s.len().min(EXCERPT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Reads the engine's answer to a create request.
pub fn classify(status: u16, body: &[u8]) -> EngineReply {
    if status >= 500 {
        return EngineReply::Failed(format!("Engine answered HTTP {status}"));
    }
    let Ok(Value::Object(reply)) = serde_json::from_slice::<Value>(body) else {
        return EngineReply::Failed(format!(
            "Engine answered HTTP {status} with a body that is not a JSON object: {:?}",
            excerpt(body)
        ));
    };
    let request_proc = reply.get("request_proc").and_then(Value::as_str);
    let first = reply
        .get("ops")
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    let op_proc = first.and_then(|o| o.get("proc")).and_then(Value::as_str);
    match (request_proc, op_proc) {
        (Some("ok"), Some("ok")) if (200..300).contains(&status) => EngineReply::Accepted,
        (_, Some(p)) if p != "ok" => EngineReply::Refused(first.cloned().unwrap_or(Value::Null)),
        (Some(rp), _) if rp != "ok" => {
            let description = reply
                .get("description")
                .cloned()
                .unwrap_or_else(|| Value::String(format!("Engine refused the request ({rp})")));
            EngineReply::Refused(json!({"proc": rp, "description": description}))
        }
        _ => EngineReply::Failed(format!(
            "Engine answered HTTP {status} without a task: {:?}",
            excerpt(body)
        )),
    }
}

/// How a process's reply to a forwarded request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Corezoid's API: see [`classify`].
    Corezoid,
    /// A plain HTTP process (webhook): any 2xx takes the event.
    Webhook,
}

/// Reads a process's reply according to its protocol.
pub fn classify_for(protocol: Protocol, status: u16, body: &[u8]) -> EngineReply {
    match protocol {
        Protocol::Corezoid => classify(status, body),
        Protocol::Webhook if (200..300).contains(&status) => EngineReply::Accepted,
        Protocol::Webhook => EngineReply::Failed(format!(
            "Process answered HTTP {status}: {:?}",
            excerpt(body)
        )),
    }
}
