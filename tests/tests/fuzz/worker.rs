//! The end-to-end side: fuzzed requests to the real worker's routes (the
//! harness's shared worker under workerd, with the simulated engine). No
//! answer may be a 5xx other than the documented 502, 503 and 504, and
//! every answer must come within a bound.
//!
//! `FUZZ_HTTP_CASES` requests per route family (default 24).

use crate::gen::{bytes, json, mutated, mutated_json, text};
use crate::{check, fuzz_n};
use proptest::prelude::*;
use proptest::sample::select;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use syncbridge_tests::client::corezoid_signature;
use syncbridge_tests::harness::{self, id_of, token_of, TestClient, ADMIN, API, LOGIN, SECRET};

fn http_cases() -> u32 {
    std::env::var("FUZZ_HTTP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// One fuzzed request.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn req(method: &str, path: String, body: Vec<u8>) -> Req {
    Req {
        method: method.into(),
        path,
        headers: Vec::new(),
        body,
    }
}

fn admin(mut r: Req) -> Req {
    r.headers
        .push(("authorization".into(), format!("Bearer {ADMIN}")));
    r.headers
        .push(("content-type".into(), "application/json".into()));
    r
}

/// Sends `r`; the status (an answer is required within 30 s).
async fn send(c: &TestClient, r: &Req) -> Result<u16, String> {
    let method = Method::from_bytes(r.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut rb = c
        .request(method, &r.path)
        .body(r.body.clone())
        .timeout(Duration::from_secs(30));
    for (k, v) in &r.headers {
        rb = rb.header(k, v);
    }
    match rb.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let _ = resp.bytes().await;
            Ok(status)
        }
        Err(e) if e.is_builder() => Err(format!("not sendable: {e}")),
        Err(e) => Ok(if e.is_timeout() { 999 } else { 998 }),
    }
}

fn acceptable(status: u16) -> bool {
    status < 500 || matches!(status, 502..=504)
}

/// A percent-encoded path segment of any text.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![text(), "[0-9a-f]{88}", "[0-9]{1,12}"].prop_map(|t| harness::url_encode(&t))
}

/// A Sync API body whose waits are short: ops wait at most 1 s.
fn sync_body() -> impl Strategy<Value = Vec<u8>> {
    let shaped = crate::sync_api::body().prop_map(|mut b| {
        if let Some(m) = b.as_object_mut() {
            m.insert("timeout".into(), json!(1));
        }
        b
    });
    prop_oneof![3 => shaped.prop_map(|b| b.to_string().into_bytes()), 1 => mutated(bytes())]
}

#[test]
fn the_worker_answers_fuzzed_requests_without_a_500() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = harness::client();
    let (public, eventing) = rt.block_on(async {
        let public = c
            .create_channel(json!({"code": syncbridge_tests::unique("fuzz"),
                                   "recv_svcscriptcode": harness::process_url("echo")}))
            .await;
        let eventing = c.eventing_channel(json!({})).await;
        (public, eventing)
    });
    let (pid, ptoken, eid, etoken) = (
        id_of(&public).to_owned(),
        token_of(&public).to_owned(),
        id_of(&eventing).to_owned(),
        token_of(&eventing).to_owned(),
    );
    let n = http_cases();
    let run = |name: &str, strategy: BoxedStrategy<Req>| {
        fuzz_n(&format!("worker {name}"), n, strategy, |r| {
            let got = rt.block_on(send(&c, &r));
            let Ok(status) = got else { return Ok(()) };
            if status < 400 {
                crate::accepted();
            }
            check!(
                status != 999,
                "{} {} got no answer in 30 s",
                r.method,
                r.path
            );
            check!(
                status != 998,
                "{} {}: the connection failed",
                r.method,
                r.path
            );
            check!(
                acceptable(status),
                "{} {} answered {status}",
                r.method,
                r.path
            );
            Ok(())
        });
    };

    run(
        "sync api",
        (sync_body(), any::<bool>())
            .prop_map(|(body, sign)| {
                let t = syncbridge_tests::client::now_s().to_string();
                let sig = if sign {
                    corezoid_signature(&t, SECRET, &body)
                } else {
                    "0".repeat(40)
                };
                req("POST", format!("/api/1/json/{LOGIN}/{t}/{sig}"), body)
            })
            .boxed(),
    );
    run(
        "sync api path",
        (segment(), segment(), segment(), bytes())
            .prop_map(|(l, t, s, b)| req("POST", format!("/api/1/json/{l}/{t}/{s}"), b))
            .boxed(),
    );
    run(
        "callback",
        (segment(), prop_oneof![mutated_json(json()), bytes()])
            .prop_map(|(id, b)| req("POST", format!("/api/1/plugins/callback/{id}"), b))
            .boxed(),
    );
    run(
        "channel create",
        mutated_json(crate::channel::entity())
            .prop_map(|b| admin(req("POST", API.to_owned(), b)))
            .boxed(),
    );
    let p = pid.clone();
    run(
        "channel patch",
        mutated_json(crate::channel::entity())
            .prop_map(move |b| admin(req("PATCH", format!("{API}/{p}"), b)))
            .boxed(),
    );
    run(
        "channel list",
        crate::gen::pairs(
            &["filter", "mask", "order", "offset", "limit", "flat"],
            crate::list::param_value(),
        )
        .prop_map(|pairs| {
            let q: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            admin(req("GET", format!("{API}?{q}"), Vec::new()))
        })
        .boxed(),
    );
    let p = pid.clone();
    run(
        "request log",
        crate::gen::pairs(&["offset", "limit"], crate::list::param_value())
            .prop_map(move |pairs| {
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish();
                admin(req("GET", format!("{API}/{p}/requests?{q}"), Vec::new()))
            })
            .boxed(),
    );
    let e = eid.clone();
    run(
        "publish",
        mutated_json(crate::eventing::publish())
            .prop_map(move |b| admin(req("POST", format!("{API}/{e}/events"), b)))
            .boxed(),
    );
    let t = etoken.clone();
    run(
        "subscribe",
        mutated_json(json())
            .prop_map(move |b| {
                let mut r = req("POST", format!("/api/token/v1/{t}/subscribe"), b);
                r.headers
                    .push(("content-type".into(), "application/json".into()));
                r
            })
            .boxed(),
    );
    let p = pid.clone();
    run(
        "send",
        mutated_json(json())
            .prop_map(move |b| admin(req("POST", format!("{API}/{p}/send"), b)))
            .boxed(),
    );
    let t = ptoken.clone();
    let ct = select(
        &[
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/octet-stream",
        ][..],
    );
    run(
        "webhook",
        (
            select(&["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"][..]),
            segment(),
            ct,
            bytes(),
            any::<bool>(),
        )
            .prop_map(move |(m, q, ct, b, sync)| {
                let body = if m == "GET" { Vec::new() } else { b };
                let mut r = req(m, format!("/api/token/v1/{t}?async={}&q={q}", !sync), body);
                r.headers.push(("content-type".into(), ct.into()));
                r.headers
                    .push(("origin".into(), "https://shop.example".into()));
                r
            })
            .boxed(),
    );
    run(
        "any route",
        (
            select(&["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"][..]),
            crate::route::path(),
            bytes(),
        )
            .prop_map(|(m, p, b)| {
                let path: String = p
                    .split('/')
                    .map(harness::url_encode)
                    .collect::<Vec<_>>()
                    .join("/");
                let body = if m == "GET" || m == "HEAD" {
                    Vec::new()
                } else {
                    b
                };
                req(
                    m,
                    if path.starts_with('/') {
                        path
                    } else {
                        format!("/{path}")
                    },
                    body,
                )
            })
            .boxed(),
    );
    // The worker's own log holds no panic.
    let logs = harness::shared().logs();
    let panics: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("panicked") || l.contains("RuntimeError: unreachable"))
        .collect();
    assert!(panics.is_empty(), "the worker panicked: {panics:?}");
    let _ = (public, eventing);
}
