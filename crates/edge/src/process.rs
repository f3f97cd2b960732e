//! Hands a signed request to a process (Corezoid or a plain HTTP one) and
//! reads its verdict: the engine create of a Sync API op, a webhook event,
//! an inbound WebSocket message.

use syncbridge_core::engine::{self, EngineReply, Forward, Protocol};
use worker::{Fetch, Headers};

/// Sends `f` and classifies the reply; transport errors are `Failed`.
pub async fn send(f: &Forward) -> EngineReply {
    let attempt = async {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        for (k, v) in &f.headers {
            headers.set(k, v)?;
        }
        let req = crate::http::new_request(&f.url, "POST", &headers, Some(&f.body), false)?;
        let resp = Fetch::Request(req).send().await?;
        let status = resp.status_code();
        let bytes = crate::http::body_bytes(resp).await?;
        Ok::<_, worker::Error>((status, bytes))
    };
    match attempt.await {
        Ok((status, bytes)) => engine::classify_for(f.protocol, status, &bytes),
        Err(e) => EngineReply::Failed(format!("{} unreachable: {e}", who(f.protocol))),
    }
}

fn who(p: Protocol) -> &'static str {
    match p {
        Protocol::Corezoid => "Engine",
        Protocol::Webhook => "Process",
    }
}
