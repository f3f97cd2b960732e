//! End-to-end tests of integration channels and inbound webhooks: the real
//! wasm worker in workerd with real D1 and Durable Objects, a simulated HTTP
//! process and a simulated Corezoid engine on loopback.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use syncbridge_core::route::ROUTES;
use syncbridge_tests::engine::Engine;
use syncbridge_tests::unique;
use syncbridge_tests::worker::Worker;

const ADMIN: &str = "admin-token-0123456789abcdef";
const LOGIN: &str = "cz";
const SECRET: &str = "cz-secret-0123";
const WAIT_S: u64 = 2;
const MAX_BODY: usize = 16384;
const API: &str = "/rest/v1/service/integration_points";

struct Env {
    worker: Worker,
    engine: Engine,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let engine = Engine::start_background(HashMap::from([(LOGIN.into(), SECRET.into())]));
        let worker = Worker::start(&json!({
            "API_KEYS": json!({LOGIN: SECRET}).to_string(),
            "CALLBACK_SECRET": "channel-tests-callback-secret-0123",
            "COREZOID_API_URL": engine.url(),
            "ADMIN_TOKEN": ADMIN,
            "WEBHOOK_MAX_WAIT_S": WAIT_S.to_string(),
            "MAX_BODY_BYTES": MAX_BODY.to_string(),
        }));
        Env { worker, engine }
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn url(path: &str) -> String {
    format!("{}{path}", env().worker.base)
}

/// Sends an admin request; returns status and JSON (Null for an empty body).
async fn admin(method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut rb = http().request(method, url(path)).bearer_auth(ADMIN);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"))
    };
    (status, v)
}

async fn create(body: Value) -> Value {
    let (s, v) = admin(Method::POST, API, Some(body)).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn process_url(behavior: &str) -> String {
    format!("{}/process/{behavior}", env().engine.url())
}

/// A sync public channel whose process behaves as `behavior`.
async fn channel(behavior: &str, extra_opts: Value) -> Value {
    let mut opts = json!({"title": "t", "issync": true});
    for (k, v) in extra_opts.as_object().unwrap() {
        opts[k] = v.clone();
    }
    create(json!({
        "code": unique(behavior),
        "recv_svcscriptcode": process_url(behavior),
        "opts": opts,
    }))
    .await
}

fn hook(ch: &Value) -> String {
    url(&format!(
        "/api/token/v1/{}",
        ch["token_local"].as_str().unwrap()
    ))
}

fn assert_rest_error(status: StatusCode, v: &Value, want: u16) {
    assert_eq!(status.as_u16(), want, "{v}");
    assert_eq!(v["error_code"], 1000 + want as u64, "{v}");
    assert!(
        v["error_message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

// ---- the channel API ------------------------------------------------------

#[tokio::test]
async fn every_channel_route_requires_the_admin_token() {
    let id = create(json!({"code": unique("auth")})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let routes: Vec<(&str, String)> = ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/rest/"))
        .map(|(m, p)| {
            let p = p.replace("{id}", &id);
            (
                *m,
                p.replace("{delivery_id}", "00000000-0000-4000-8000-000000000000"),
            )
        })
        .collect();
    assert_eq!(routes.len(), 13, "the test must cover every channel route");
    for (method, path) in routes {
        for auth in [
            None,
            Some("Bearer wrong-token-wrong-token"),
            Some(&*format!("Basic {ADMIN}")),
        ] {
            // LOOKUP goes through the override (workerd refuses the raw method).
            let (m, over) = if method == "LOOKUP" {
                ("POST", true)
            } else {
                (method, false)
            };
            let mut rb = http().request(Method::from_bytes(m.as_bytes()).unwrap(), url(&path));
            if over {
                rb = rb.header("x-http-method-override", "LOOKUP");
            }
            if let Some(a) = auth {
                rb = rb.header("authorization", a);
            }
            let resp = rb.body("{}").send().await.unwrap();
            assert_eq!(resp.status(), 401, "{method} {path} with {auth:?}");
            assert_eq!(resp.headers()["www-authenticate"], "Bearer");
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["error_code"], 1401, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn create_returns_the_whole_entity_and_get_reads_it_back() {
    let code = unique("full");
    let v = create(json!({
        "code": code, "type": "public", "url": "https://partner.example/in",
        "token_remote": "whsec_c2VjcmV0LXNpZ25pbmcta2V5", "token_remote2": "b",
        "recv_svcscriptcode": "corezoid:42", "send_svcscriptcode": "send_to_web",
        "opts": {"title": "Shop", "comment": "c", "allow_files_api": true, "issync": true,
                 "cors_origins": ["https://shop.example"], "corezoid_login": LOGIN},
    }))
    .await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{v}");
    assert_eq!(&id[14..15], "4", "a v4 UUID: {id}");
    let token = v["token_local"].as_str().unwrap();
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    assert_eq!(v["code"], code.as_str());
    assert_eq!(v["opts"]["title"], "Shop");
    assert_eq!(v["opts"]["issync"], true);
    let ct = v["ext"]["ct"].as_str().unwrap();
    assert!(ct.ends_with('Z') && ct.contains('T'), "{ct}");
    assert_eq!(v["ext"]["lwt"], v["ext"]["ct"]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys[..4],
        ["id", "code", "type", "token_local"],
        "field order: {keys:?}"
    );

    let (s, got) = admin(Method::GET, &format!("{API}/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(got, v);
    // Two channels never share a token.
    let other = create(json!({"code": unique("other")})).await;
    assert_ne!(other["token_local"], v["token_local"]);
}

#[tokio::test]
async fn create_refuses_bad_fields_with_clear_errors() {
    let taken = unique("taken");
    create(json!({"code": taken})).await;
    let cases = [
        (json!({}), 400, "code"),
        (json!({"code": ""}), 400, "code"),
        (
            json!({"code": unique("x"), "type": "telegram"}),
            400,
            "type",
        ),
        (
            json!({"code": unique("x"), "url": "gopher://x"}),
            400,
            "url",
        ),
        (json!({"code": unique("x"), "colour": "red"}), 400, "colour"),
        (
            json!({"code": unique("x"), "opts": {"issync": "yes"}}),
            400,
            "issync",
        ),
        (json!({"code": unique("x"), "id": "mine"}), 400, "id"),
        (
            json!({"code": unique("x"), "token_local": "0".repeat(32)}),
            400,
            "token_local",
        ),
        (
            json!({"code": unique("x"), "recv_svcscriptcode": "ws_hook"}),
            400,
            "recv_svcscriptcode",
        ),
        (json!({"code": taken}), 409, "code"),
        (json!([1, 2]), 400, ""),
    ];
    for (body, status, needle) in cases {
        let (s, v) = admin(Method::POST, API, Some(body.clone())).await;
        assert_rest_error(s, &v, status);
        assert!(
            v["error_message"].as_str().unwrap().contains(needle),
            "{body} -> {v}"
        );
    }
    // Not JSON at all.
    let resp = http()
        .post(url(API))
        .bearer_auth(ADMIN)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Too big.
    let big = json!({"code": unique("big"), "opts": {"comment": "x".repeat(MAX_BODY)}});
    let (s, v) = admin(Method::POST, API, Some(big)).await;
    assert_rest_error(s, &v, 413);
}

#[tokio::test]
async fn list_filters_masks_orders_flattens_and_pages() {
    // A family of channels only this test creates, told apart by opts.comment.
    let fam = unique("fam");
    for (i, (title, sync)) in [("b", true), ("a", false), ("c", true), ("d", true)]
        .iter()
        .enumerate()
    {
        create(json!({"code": format!("{fam}-{i}"), "opts": {"title": title, "issync": sync, "comment": fam}})).await;
    }
    let list = |q: String| async move {
        let (s, v) = admin(Method::GET, &format!("{API}?{q}"), None).await;
        assert_eq!(s, 200, "{q}: {v}");
        v.as_array().unwrap().clone()
    };
    let enc = |v: Value| url_encode(&v.to_string());
    let filter = enc(json!({"opts.comment": fam}));

    let all = list(format!("filter={filter}")).await;
    assert_eq!(all.len(), 4);
    let synced = list(format!(
        "filter={}",
        enc(json!({"opts.comment": fam, "opts.issync": true}))
    ))
    .await;
    assert_eq!(synced.len(), 3);

    let by_title = list(format!(
        "filter={filter}&order={}",
        enc(json!([{"opts.title": "desc"}]))
    ))
    .await;
    let titles: Vec<&str> = by_title
        .iter()
        .map(|c| c["opts"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["d", "c", "b", "a"]);

    let page = list(format!(
        "filter={filter}&order={}&offset=1&limit=2",
        enc(json!(["code"]))
    ))
    .await;
    let codes: Vec<&str> = page.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, [format!("{fam}-1"), format!("{fam}-2")]);

    let masked = list(format!("filter={filter}&mask=id,code,opts.title&limit=1")).await;
    let obj = masked[0].as_object().unwrap();
    assert_eq!(obj.len(), 3, "{obj:?}");
    assert!(obj["opts"].as_object().unwrap().contains_key("title"));
    assert!(!obj["opts"].as_object().unwrap().contains_key("issync"));

    let flat = list(format!(
        "filter={filter}&mask=code,opts.title&flat=true&limit=1"
    ))
    .await;
    let obj = flat[0].as_object().unwrap();
    assert!(
        obj.contains_key("opts.title") && obj.contains_key("code") && obj.len() == 2,
        "{obj:?}"
    );

    for bad in [
        "colour=red",
        "mask=nope",
        "offset=-1",
        "limit=x",
        "filter=notjson",
        "order=[{\"code\":\"up\"}]",
    ] {
        let (s, v) = admin(Method::GET, &format!("{API}?{bad}"), None).await;
        assert_rest_error(s, &v, 400);
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn get_with_mask_and_flat_and_unknown_ids() {
    let ch = create(json!({"code": unique("get"), "opts": {"title": "T"}})).await;
    let id = ch["id"].as_str().unwrap();
    let (s, v) = admin(
        Method::GET,
        &format!("{API}/{id}?mask=code,opts.title&flat=1"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v, json!({"code": ch["code"], "opts.title": "T"}));
    let (s, v) = admin(
        Method::GET,
        &format!("{API}/00000000-0000-4000-8000-000000000000"),
        None,
    )
    .await;
    assert_rest_error(s, &v, 404);
}

#[tokio::test]
async fn patch_merges_opts_and_refuses_fixed_fields() {
    let ch =
        create(json!({"code": unique("patch"), "opts": {"title": "old", "comment": "keep"}})).await;
    let id = ch["id"].as_str().unwrap();
    let path = format!("{API}/{id}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (s, v) = admin(
        Method::PATCH,
        &path,
        Some(json!({"token_remote": "00ea293c29f9dc30", "opts": {"title": "new"}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["token_remote"], "00ea293c29f9dc30");
    assert_eq!(v["opts"]["title"], "new");
    assert_eq!(v["opts"]["comment"], "keep");
    assert_eq!(v["ext"]["ct"], ch["ext"]["ct"]);
    assert_ne!(v["ext"]["lwt"], ch["ext"]["lwt"]);
    assert_eq!(v["token_local"], ch["token_local"]);

    for (body, field) in [
        (json!({"id": "x"}), "id"),
        (json!({"token_local": "a".repeat(32)}), "token_local"),
    ] {
        let (s, e) = admin(Method::PATCH, &path, Some(body)).await;
        assert_rest_error(s, &e, 400);
        assert!(e["error_message"].as_str().unwrap().contains(field), "{e}");
    }
    let other = create(json!({"code": unique("patch-other")})).await;
    let (s, e) = admin(Method::PATCH, &path, Some(json!({"code": other["code"]}))).await;
    assert_rest_error(s, &e, 409);
    let (s, e) = admin(
        Method::PATCH,
        &format!("{API}/00000000-0000-4000-8000-000000000000"),
        Some(json!({"url": ""})),
    )
    .await;
    assert_rest_error(s, &e, 404);
    // Nothing was changed by the refused patches.
    let (_, now) = admin(Method::GET, &path, None).await;
    assert_eq!(now, v);
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let ch = create(json!({"code": unique("del")})).await;
    let path = format!("{API}/{}", ch["id"].as_str().unwrap());
    let (s, v) = admin(Method::DELETE, &path, None).await;
    assert_eq!((s.as_u16(), v), (204, Value::Null));
    let (s, v) = admin(Method::GET, &path, None).await;
    assert_rest_error(s, &v, 404);
    let (s, v) = admin(Method::DELETE, &path, None).await;
    assert_rest_error(s, &v, 404);
    // Its URL no longer takes webhooks.
    let r = http().post(hook(&ch)).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn lookup(body: &str) -> (StatusCode, Value) {
    let resp = http()
        .post(url(API))
        .bearer_auth(ADMIN)
        .header("x-http-method-override", "LOOKUP")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap())
}

#[tokio::test]
async fn lookup_by_id_code_and_token() {
    let ch = create(json!({"code": unique("look")})).await;
    for key in ["id", "code", "token_local"] {
        let (s, v) = lookup(&ch[key].to_string()).await;
        assert_eq!(s, 200, "{key}: {v}");
        assert_eq!(v, json!([ch["id"]]), "{key}");
    }
    let (s, v) = lookup("\"no-such-key\"").await;
    assert_eq!(s, 404);
    assert_eq!(
        v,
        json!({"error_code": 1404, "error_message": "Lookup failed"})
    );
    let (s, v) = lookup("{\"code\": 1}").await;
    assert_rest_error(s, &v, 400);
    // The raw LOOKUP method: workerd refuses it before the worker runs (501);
    // a runtime that passes it reaches the same handler.
    let resp = http()
        .request(Method::from_bytes(b"LOOKUP").unwrap(), url(API))
        .bearer_auth(ADMIN)
        .body(ch["code"].to_string())
        .send()
        .await
        .unwrap();
    assert!(
        matches!(resp.status().as_u16(), 200 | 501),
        "{}",
        resp.status()
    );
}

#[tokio::test]
async fn unknown_rest_routes_and_methods_use_the_rest_error_shape() {
    let (s, v) = admin(Method::PUT, API, Some(json!({}))).await;
    assert_rest_error(s, &v, 405);
    let (s, v) = admin(Method::GET, "/rest/v1/service/nope", None).await;
    assert_rest_error(s, &v, 404);
}

// ---- inbound webhooks -----------------------------------------------------

/// Waits for the process to have received an event carrying `marker`.
async fn event_with(marker: &str) -> syncbridge_tests::engine::ProcessEvent {
    let start = Instant::now();
    loop {
        if let Some(e) = env().engine.events_with(marker).pop() {
            return e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no event with {marker}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sync_webhook_with_json_query_cookies_and_headers() {
    let ch = channel("echo", json!({})).await;
    let marker = unique("m");
    let resp = http()
        .post(format!(
            "{}/orders/7?marker={marker}&tag=a&tag=b",
            hook(&ch)
        ))
        .header("cookie", "session=abc; theme=dark")
        .header("x-custom", "yes")
        .json(&json!({"amount": 100, "to": "B"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-process"], "echo");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["body"], json!({"amount": 100, "to": "B"}));
    assert_eq!(v["query"]["tag"], json!(["a", "b"]));
    assert_eq!(v["cookies"], json!({"session": "abc", "theme": "dark"}));
    assert_eq!(v["async"], false);
    assert!(v["path"].as_str().unwrap().ends_with("/orders/7"), "{v}");

    let e = event_with(&marker).await.event;
    assert_eq!(e["event"]["type"], "$webRequest");
    assert_eq!(e["headers"]["x-custom"], "yes");
    assert!(e["url"].as_str().unwrap().contains(&marker));
    assert_eq!(e["channel"]["id"], ch["id"]);
    assert!(
        e["channel"].get("token_local").is_none(),
        "secrets leaked to the process: {e}"
    );
    assert_eq!(e["protocol"], "http");
    assert!(e["__callback_url"]
        .as_str()
        .unwrap()
        .contains("/api/1/plugins/callback/"));
}

#[tokio::test]
async fn sync_webhook_with_form_text_and_binary_bodies() {
    let ch = channel("echo", json!({})).await;
    let v: Value = http()
        .post(hook(&ch))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Ann&tags=1&tags=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["body"], json!({"name": "Ann", "tags": ["1", "2"]}));

    let v: Value = http()
        .put(hook(&ch))
        .header("content-type", "text/plain")
        .body("hello там")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["method"].as_str(), v["body"].as_str()),
        (Some("PUT"), Some("hello там"))
    );

    let bytes = vec![0u8, 159, 146, 150, 255];
    let v: Value = http()
        .post(hook(&ch))
        .header("content-type", "application/octet-stream")
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["body_encoding"], "base64");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(v["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, bytes);
}

#[tokio::test]
async fn the_process_decides_status_body_and_headers() {
    let text = channel("text", json!({})).await;
    let r = http().get(hook(&text)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), "plain answer");

    // No content and no headers: empty body, application/octet-stream.
    let bare = channel("bare", json!({})).await;
    let r = http()
        .get(format!("{}?code=202", hook(&bare)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.bytes().await.unwrap().len(), 0);
    let r = http()
        .get(format!("{}?code=418", hook(&bare)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 418);
}

#[tokio::test]
async fn async_webhooks_answer_at_once_and_the_process_still_runs() {
    // A sync channel called with ?async=true, and a channel that is async.
    let sync_ch = channel("echo", json!({})).await;
    let async_ch = channel("echo", json!({"issync": false})).await;
    for target in [
        format!("{}?async=true&", hook(&sync_ch)),
        format!("{}?", hook(&async_ch)),
    ] {
        let marker = unique("async");
        let r = http()
            .post(format!("{target}marker={marker}"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().len(), 0);
        let e = event_with(&marker).await.event;
        assert_eq!(e["event"]["async"], true);
    }
}

#[tokio::test]
async fn a_silent_process_gives_504_after_the_wait() {
    let ch = channel("silent", json!({})).await;
    env();
    let started = Instant::now();
    let r = http().post(hook(&ch)).body("{}").send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 504);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], 1504);
    assert!(
        v["error_message"]
            .as_str()
            .unwrap()
            .contains(&format!("{WAIT_S} s")),
        "{v}"
    );
    assert!(
        took >= Duration::from_millis(WAIT_S * 1000 - 50),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_failing_or_missing_process_gives_502() {
    let broken = channel("broken", json!({})).await;
    let r = http().post(hook(&broken)).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert!(v["error_message"].as_str().unwrap().contains("500"), "{v}");

    let none = create(json!({"code": unique("none"), "opts": {"issync": true}})).await;
    let r = http().post(hook(&none)).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 502);
    // Async: still 200 at once; the failure is in the request log.
    let r = http()
        .post(format!("{}?async=true", hook(&none)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn cors_preflight_and_browser_calls() {
    let ch = channel("echo", json!({"cors_origins": ["https://shop.example"]})).await;
    let pre = |origin: &'static str| {
        http()
            .request(Method::OPTIONS, hook(&ch))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let r = pre("https://shop.example").await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    assert!(r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("content-type"));
    let r = pre("https://evil.example").await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // The browser's real call: the channel's origin is allowed on the answer.
    let r = http()
        .post(hook(&ch))
        .header("origin", "https://shop.example")
        .json(&json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example"
    );

    // Any origin with "*".
    let open = channel("text", json!({"cors_origins": ["*"]})).await;
    let r = http()
        .get(hook(&open))
        .header("origin", "https://any.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");

    // The process's own header passes through.
    let own = channel("cors", json!({"cors_origins": ["https://shop.example"]})).await;
    let r = http()
        .get(hook(&own))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://process.example"
    );
}

#[tokio::test]
async fn webhook_errors_unknown_token_eventing_channel_and_size() {
    let r = http()
        .post(url(&format!("/api/token/v1/{}", "f".repeat(32))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], 1404);

    let ev = create(json!({"code": unique("ev"), "type": "eventing"})).await;
    let r = http().post(hook(&ev)).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 403);

    let ch = channel("echo", json!({})).await;
    let r = http()
        .post(hook(&ch))
        .body(vec![b'x'; MAX_BODY + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn bpium_style_url_by_a_code_with_spaces_and_letters() {
    let code = unique("Заказ с пробелом");
    let ch = create(json!({
        "code": code, "recv_svcscriptcode": process_url("text"), "opts": {"issync": true},
    }))
    .await;
    assert_eq!(ch["code"], code.as_str());
    let encoded: String = url_encode(&code);
    let r = http()
        .get(url(&format!("/api/webrequest/{encoded}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "plain answer");
}

#[tokio::test]
async fn bpium_style_url_by_code() {
    let ch = channel("echo", json!({})).await;
    let code = ch["code"].as_str().unwrap();
    let r = http()
        .get(url(&format!("/api/webrequest/{code}/deep/path?x=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["query"]["x"], "1");
}

#[tokio::test]
async fn events_to_an_http_process_carry_standard_webhooks_signatures() {
    let secret_b64 =
        base64::engine::general_purpose::STANDARD.encode(b"a-signing-key-of-the-channel");
    let ch = create(json!({
        "code": unique("signed"), "token_remote": format!("whsec_{secret_b64}"),
        "recv_svcscriptcode": process_url("echo"), "opts": {"issync": true},
    }))
    .await;
    let marker = unique("sig");
    let r = http()
        .post(format!("{}?m={marker}", hook(&ch)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let e = event_with(&marker).await;
    let id = &e.headers["webhook-id"];
    let ts = &e.headers["webhook-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"a-signing-key-of-the-channel").unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&e.body);
    let want = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(e.headers["webhook-signature"], want);
    assert_eq!(e.event["event"]["id"].as_str(), Some(id.as_str()));
    let now = syncbridge_tests::client::now_s();
    assert!(ts.parse::<u64>().unwrap().abs_diff(now) < 10);
}

#[tokio::test]
async fn a_corezoid_process_behind_a_channel() {
    let ch = create(json!({
        "code": unique("cz"), "recv_svcscriptcode": "corezoid:77",
        "opts": {"issync": true, "corezoid_login": LOGIN},
    }))
    .await;
    let r = http().patch(hook(&ch)).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    assert_eq!(
        v,
        json!({"via": "corezoid", "conv_id": 77, "method": "PATCH"})
    );
    assert_eq!(env().engine.bad_signatures(), 0);
}

#[tokio::test]
async fn every_inbound_request_is_recorded_newest_first() {
    let ch = channel("bare", json!({})).await;
    let id = ch["id"].as_str().unwrap();
    for code in [201, 202, 203] {
        let r = http()
            .post(format!("{}?code={code}", hook(&ch)))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), code);
    }
    let r = http()
        .post(format!("{}?async=true", hook(&ch)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let path = format!("{API}/{id}/requests");
    let start = Instant::now();
    let list = loop {
        let (s, v) = admin(Method::GET, &path, None).await;
        assert_eq!(s, 200, "{v}");
        if v.as_array().unwrap().len() == 4 || start.elapsed() > Duration::from_secs(10) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    assert_eq!(list[0]["mode"], "async");
    assert_eq!(list[0]["outcome"], "accepted");
    let statuses: Vec<u64> = list[1..]
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [203, 202, 201]);
    assert_eq!(list[1]["mode"], "sync");
    assert_eq!(list[1]["outcome"], "answered");
    assert_eq!(list[1]["method"], "POST");
    assert!(list[1]["duration_ms"].is_u64());
    assert_eq!(list[1]["response"]["status"], 203);
    // The record shows the URL without the channel's secret token.
    let token = ch["token_local"].as_str().unwrap();
    assert!(!serde_json::to_string(&list).unwrap().contains(token));
    assert!(
        list[1]["url"]
            .as_str()
            .unwrap()
            .starts_with("/api/token/v1/{token_local}"),
        "{}",
        list[1]["url"]
    );
    let (s, page) = admin(Method::GET, &format!("{path}?offset=1&limit=2"), None).await;
    assert_eq!(s, 200);
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["status"], 203);
    let (s, v) = admin(Method::GET, &format!("{path}?limit=x"), None).await;
    assert_rest_error(s, &v, 400);
}

#[tokio::test]
async fn one_json_log_line_per_request_without_secrets() {
    let ch = channel("text", json!({})).await;
    let token = ch["token_local"].as_str().unwrap().to_string();
    let r = http().get(hook(&ch)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let w = &env().worker;
    assert!(
        w.wait_for_log("/api/token/v1/{token_local}", Duration::from_secs(5))
            .await
    );
    let lines: Vec<Value> = w
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["log"] == "request")
        .collect();
    let hook_line = lines
        .iter()
        .find(|v| v["route"] == "/api/token/v1/{token_local}" && v["method"] == "GET")
        .expect("a log line for the webhook");
    assert_eq!(hook_line["status"], 200);
    assert!(hook_line["duration_ms"].is_u64());
    assert!(hook_line["id"].is_string());
    for line in w.logs() {
        assert!(
            !line.contains(&token),
            "a log line carries the channel token: {line}"
        );
        assert!(
            !line.contains(ADMIN),
            "a log line carries the admin token: {line}"
        );
    }
}

#[tokio::test]
async fn request_records_expire_after_their_ttl() {
    // A worker of its own whose records live one second.
    let engine_url = env().engine.url();
    let w = tokio::task::spawn_blocking(move || {
        Worker::start(&json!({
            "CALLBACK_SECRET": "channel-tests-callback-secret-0123",
            "ADMIN_TOKEN": ADMIN,
            "REQUEST_LOG_TTL_S": "1",
            "COREZOID_API_URL": engine_url,
        }))
    })
    .await
    .unwrap();
    let client = http();
    let ch: Value = client
        .post(format!("{}{API}", w.base))
        .bearer_auth(ADMIN)
        .json(&json!({"code": unique("ttl"), "recv_svcscriptcode": process_url("text"), "opts": {"issync": true}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = ch["token_local"].as_str().unwrap();
    let r = client
        .get(format!("{}/api/token/v1/{token}", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list_url = format!("{}{API}/{}/requests", w.base, ch["id"].as_str().unwrap());
    let count = || async {
        let v: Value = client
            .get(&list_url)
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array().unwrap().len()
    };
    let start = Instant::now();
    while count().await == 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(count().await, 0, "the record outlived REQUEST_LOG_TTL_S");
}
