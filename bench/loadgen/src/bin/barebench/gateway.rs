//! The gateway's route classes, for one running gateway (build/, or a
//! candidate build beside it with `--candidate`): the channels they use are
//! made on that gateway, and each class is a [`Call`] against its base URL.

use crate::{
    boxed, create_channel, expect_status, Call, ADMIN, API, CALLBACK_SECRET, LOGIN, SECRET,
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use syncbridge_tests::client::sync_url;

/// When each accepted send left, by its `n`: the receiver's hits give send
/// → first attempt.
pub(crate) type SentAt = Arc<Mutex<HashMap<u64, Instant>>>;

pub(crate) struct Classes {
    pub(crate) healthz: Call,
    pub(crate) round_trip: Call,
    pub(crate) callback: Call,
    pub(crate) webhook: Call,
    pub(crate) send: Call,
    pub(crate) publish: Call,
    /// The receiver's key of this gateway's sends.
    pub(crate) send_key: String,
    pub(crate) sent_at: SentAt,
}

/// The classes of the gateway at `base`, its engine at `engine_url` and the
/// callback receiver at `receiver_url`.
pub(crate) async fn classes(
    h: &reqwest::Client,
    base: &str,
    engine_url: &str,
    receiver_url: &str,
) -> Classes {
    let hook_ch = create_channel(
        h,
        base,
        json!({
            "code": syncbridge_tests::unique("bb-hook"),
            "recv_svcscriptcode": format!("{engine_url}/process/bare"),
            "opts": {"issync": true},
        }),
    )
    .await;
    let hook_url = format!(
        "{base}/api/token/v1/{}",
        hook_ch["token_local"].as_str().unwrap()
    );
    let send_key = syncbridge_tests::unique("bb-send");
    let out_ch = create_channel(h, base, json!({
        "code": syncbridge_tests::unique("bb-out"),
        "url": format!("{receiver_url}/status/{send_key}?code=200"),
        "opts": {"callback": {"body": "{\"n\": @n}", "variables": ["n"], "headers": "Content-Type: application/json"}},
    }))
    .await;
    let send_url = format!("{base}{API}/{}/send", out_ch["id"].as_str().unwrap());
    let ev_ch = create_channel(
        h,
        base,
        json!({"code": syncbridge_tests::unique("bb-ev"), "type": "eventing"}),
    )
    .await;
    let publish_url = format!("{base}{API}/{}/events", ev_ch["id"].as_str().unwrap());

    let healthz: Call = {
        let (h, base) = (h.clone(), base.to_owned());
        Arc::new(move |_| {
            let r = h.get(format!("{base}/healthz"));
            boxed(async move { expect_status(r, 200).await.map(drop) })
        })
    };
    let round_trip: Call = {
        let (h, base) = (h.clone(), base.to_owned());
        Arc::new(move |n| {
            let body = json!({"timeout": 30, "ops": [{"type": "create", "obj": "task", "conv_id": 1, "data": {"n": n}}]}).to_string();
            let r = h
                .post(sync_url(&base, LOGIN, SECRET, body.as_bytes()))
                .body(body);
            boxed(async move {
                let v = expect_status(r, 200).await?;
                (v["ops"][0]["data"]["echo"]["n"] == n)
                    .then_some(())
                    .ok_or(format!("not my echo: {v}"))
            })
        })
    };
    let callback: Call = {
        let (h, base) = (h.clone(), base.to_owned());
        Arc::new(move |n| {
            let mut random = [0u8; 16];
            random[..8].copy_from_slice(&n.to_be_bytes());
            random[8..].copy_from_slice(&(std::process::id() as u64).to_be_bytes());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let id = syncbridge_core::request_id::issue(
                CALLBACK_SECRET.as_bytes(),
                random,
                now + 600,
                LOGIN,
            );
            let r = h
                .post(format!("{base}/api/1/plugins/callback/{id}"))
                .json(&json!({"echo": {"n": n}}));
            boxed(async move { expect_status(r, 200).await.map(drop) })
        })
    };
    let webhook: Call = {
        let h = h.clone();
        Arc::new(move |n| {
            let r = h.post(&hook_url).body(json!({"n": n}).to_string());
            boxed(async move { expect_status(r, 200).await.map(drop) })
        })
    };
    let sent_at: SentAt = Arc::default();
    let send: Call = {
        let (h, sent_at) = (h.clone(), sent_at.clone());
        Arc::new(move |n| {
            let r = h
                .post(&send_url)
                .bearer_auth(ADMIN)
                .json(&json!({"variables": {"n": n}}));
            let sent_at = sent_at.clone();
            boxed(async move {
                let t = Instant::now();
                expect_status(r, 202).await?;
                sent_at.lock().unwrap().insert(n, t);
                Ok(())
            })
        })
    };
    let publish: Call = {
        let h = h.clone();
        Arc::new(move |n| {
            let r = h
                .post(&publish_url)
                .bearer_auth(ADMIN)
                .json(&json!({"type": "bench.rate", "data": {"n": n}}));
            boxed(async move { expect_status(r, 202).await.map(drop) })
        })
    };
    Classes {
        healthz,
        round_trip,
        callback,
        webhook,
        send,
        publish,
        send_key,
        sent_at,
    }
}
