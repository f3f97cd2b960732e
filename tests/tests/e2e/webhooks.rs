//! Inbound webhooks on a channel's URL: the event handed to the process
//! (a simulated HTTP process, or a Corezoid process through the simulated
//! engine), sync and async answers, CORS, errors, and the request log.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use syncbridge_tests::harness::{
    assert_rest_answer, assert_rest_error, client, engine, event_with, process_url, receiver_url,
    shared, shared_settings, start_worker, token_of, url_encode, TestClient, ADMIN, API, LOGIN,
    MAX_BODY, PATIENCE, WEBHOOK_WAIT_S,
};
use syncbridge_tests::unique;

#[tokio::test]
async fn sync_webhook_with_json_query_cookies_and_headers() {
    let client = client();
    let ch = client.sync_channel("echo", json!({})).await;
    let marker = unique("m");
    let resp = client
        .http()
        .post(format!(
            "{}/orders/7?marker={marker}&tag=a&tag=b",
            client.hook(&ch)
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
    let client = client();
    let ch = client.sync_channel("echo", json!({})).await;
    let v: Value = client
        .http()
        .post(client.hook(&ch))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Ann&tags=1&tags=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["body"], json!({"name": "Ann", "tags": ["1", "2"]}));

    let v: Value = client
        .http()
        .put(client.hook(&ch))
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
    let v: Value = client
        .http()
        .post(client.hook(&ch))
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
    let client = client();
    let text = client.sync_channel("text", json!({})).await;
    let r = client.http().get(client.hook(&text)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), "plain answer");

    // No content and no headers: empty body, application/octet-stream.
    let bare = client.sync_channel("bare", json!({})).await;
    let r = client
        .http()
        .get(format!("{}?code=202", client.hook(&bare)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.bytes().await.unwrap().len(), 0);
    let r = client
        .http()
        .get(format!("{}?code=418", client.hook(&bare)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 418);
}

#[tokio::test]
async fn async_webhooks_answer_at_once_and_the_process_still_runs() {
    let client = client();
    // A sync channel called with ?async=true, and a channel that is async.
    let sync_ch = client.sync_channel("echo", json!({})).await;
    let async_ch = client.sync_channel("echo", json!({"issync": false})).await;
    for target in [
        format!("{}?async=true&", client.hook(&sync_ch)),
        format!("{}?", client.hook(&async_ch)),
    ] {
        let marker = unique("async");
        let r = client
            .http()
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
    let client = client();
    let ch = client.sync_channel("silent", json!({})).await;
    let started = Instant::now();
    let r = client
        .http()
        .post(client.hook(&ch))
        .body("{}")
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_rest_answer(r, 504, &[&format!("{WEBHOOK_WAIT_S} s")]).await;
    assert!(
        took >= Duration::from_millis(WEBHOOK_WAIT_S * 1000 - 50),
        "{took:?}"
    );
    let record = &client.requests(&ch, 1).await[0];
    assert_eq!(record["outcome"], "timed_out", "{record}");
    assert_eq!(record["status"], 504, "{record}");
}

#[tokio::test]
async fn a_failing_or_missing_process_gives_502() {
    let client = client();
    let broken = client.sync_channel("broken", json!({})).await;
    let r = client
        .http()
        .post(client.hook(&broken))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_rest_answer(r, 502, &["500"]).await;

    let none = client
        .create_channel(json!({"code": unique("none"), "opts": {"issync": true}}))
        .await;
    let r = client
        .http()
        .post(client.hook(&none))
        .body("{}")
        .send()
        .await
        .unwrap();
    let sync_error = assert_rest_answer(r, 502, &[]).await;
    // Async: still 200 at once; the failure is in the request log.
    let r = client
        .http()
        .post(format!("{}?async=true", client.hook(&none)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 0);
    let records = client.requests(&none, 2).await;
    assert_eq!(records.len(), 2, "{records:?}");
    let (async_record, sync_record) = (&records[0], &records[1]);
    assert_eq!(async_record["mode"], "async", "{async_record}");
    assert_eq!(async_record["status"], 200, "{async_record}");
    assert_eq!(async_record["outcome"], "no_process", "{async_record}");
    assert_eq!(async_record["error"], sync_error.as_str(), "{async_record}");
    assert_eq!(sync_record["mode"], "sync", "{sync_record}");
    assert_eq!(sync_record["status"], 502, "{sync_record}");
    assert_eq!(sync_record["outcome"], "no_process", "{sync_record}");
    assert_eq!(sync_record["error"], sync_error.as_str(), "{sync_record}");
    let broken_record = &client.requests(&broken, 1).await[0];
    assert_eq!(broken_record["outcome"], "failed", "{broken_record}");
}

#[tokio::test]
async fn cors_preflight_and_browser_calls() {
    let client = client();
    let ch = client
        .sync_channel("echo", json!({"cors_origins": ["https://shop.example"]}))
        .await;
    let pre = |origin: &'static str| {
        client
            .http()
            .request(Method::OPTIONS, client.hook(&ch))
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
    let r = client
        .http()
        .post(client.hook(&ch))
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
    let open = client
        .sync_channel("text", json!({"cors_origins": ["*"]}))
        .await;
    let r = client
        .http()
        .get(client.hook(&open))
        .header("origin", "https://any.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");

    // The process's own header passes through.
    let own = client
        .sync_channel("cors", json!({"cors_origins": ["https://shop.example"]}))
        .await;
    let r = client
        .http()
        .get(client.hook(&own))
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
    let client = client();
    let r = client
        .http()
        .post(client.url(&format!("/api/token/v1/{}", "f".repeat(32))))
        .send()
        .await
        .unwrap();
    assert_rest_answer(r, 404, &["No channel"]).await;

    let ev = client
        .create_channel(json!({"code": unique("ev"), "type": "eventing"}))
        .await;
    for path in ["", "/orders", "/subscribe/x/y"] {
        let r = client
            .http()
            .post(format!("{}{path}", client.hook(&ev)))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_rest_answer(r, 403, &["eventing channel"]).await;
    }

    let ch = client.sync_channel("echo", json!({})).await;
    let marker = unique("big");
    let r = client
        .http()
        .post(format!("{}?marker={marker}", client.hook(&ch)))
        .body(vec![b'x'; MAX_BODY + 1])
        .send()
        .await
        .unwrap();
    assert_rest_answer(r, 413, &[&MAX_BODY.to_string()]).await;
    assert!(
        engine().events_with(&marker).is_empty(),
        "the process got the oversized event"
    );
}

#[tokio::test]
async fn bpium_style_url_by_a_code_with_spaces_and_letters() {
    let client = client();
    let code = unique("Заказ с пробелом");
    let ch = client
        .create_channel(json!({
            "code": code, "recv_svcscriptcode": process_url("text"), "opts": {"issync": true},
        }))
        .await;
    assert_eq!(ch["code"], code.as_str());
    let encoded: String = url_encode(&code);
    let r = client
        .http()
        .get(client.url(&format!("/api/webrequest/{encoded}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "plain answer");
}

#[tokio::test]
async fn bpium_style_url_by_code() {
    let client = client();
    let ch = client.sync_channel("echo", json!({})).await;
    let code = ch["code"].as_str().unwrap();
    let r = client
        .http()
        .get(client.url(&format!("/api/webrequest/{code}/deep/path?x=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["query"]["x"], "1");
}

#[tokio::test]
async fn events_to_an_http_process_carry_standard_webhooks_signatures() {
    let client = client();
    let secret_b64 =
        base64::engine::general_purpose::STANDARD.encode(b"a-signing-key-of-the-channel");
    let ch = client
        .create_channel(json!({
            "code": unique("signed"), "token_remote": format!("whsec_{secret_b64}"),
            "recv_svcscriptcode": process_url("echo"), "opts": {"issync": true},
        }))
        .await;
    let marker = unique("sig");
    let r = client
        .http()
        .post(format!("{}?m={marker}", client.hook(&ch)))
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
    let client = client();
    let ch = client
        .create_channel(json!({
            "code": unique("cz"), "recv_svcscriptcode": "corezoid:77",
            "opts": {"issync": true, "corezoid_login": LOGIN},
        }))
        .await;
    let r = client
        .http()
        .patch(client.hook(&ch))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    assert_eq!(
        v,
        json!({"via": "corezoid", "conv_id": 77, "method": "PATCH"})
    );
    assert_eq!(engine().bad_signatures(), 0);
}

#[tokio::test]
async fn every_inbound_request_is_recorded_newest_first() {
    let client = client();
    let ch = client.sync_channel("bare", json!({})).await;
    let id = ch["id"].as_str().unwrap();
    for code in [201, 202, 203] {
        let r = client
            .http()
            .post(format!("{}?code={code}", client.hook(&ch)))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), code);
    }
    let r = client
        .http()
        .post(format!("{}?async=true", client.hook(&ch)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let path = format!("{API}/{id}/requests");
    let list = client.requests(&ch, 4).await;
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
    let (s, page) = client
        .admin(Method::GET, &format!("{path}?offset=1&limit=2"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["status"], 203);
    let (s, v) = client
        .admin(Method::GET, &format!("{path}?limit=x"), None)
        .await;
    assert_rest_error(s, &v, 400);
}

#[tokio::test]
async fn one_json_log_line_per_request_without_secrets() {
    let client = client();
    let ch = client.sync_channel("text", json!({})).await;
    let token = ch["token_local"].as_str().unwrap().to_string();
    let r = client.http().get(client.hook(&ch)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let w = shared();
    assert!(
        w.wait_for_log("/api/token/v1/{token_local}", PATIENCE)
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
    let mut vars = shared_settings();
    vars["REQUEST_LOG_TTL_S"] = json!("1");
    let worker = start_worker(vars).await;
    let client = TestClient::of(&worker);
    let ch = client.sync_channel("text", json!({})).await;
    let r = client.http().get(client.hook(&ch)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(client.requests(&ch, 1).await.len(), 1, "never recorded");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let path = format!("{API}/{}/requests", ch["id"].as_str().unwrap());
    let (s, list) = client.admin(Method::GET, &path, None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list, json!([]), "the record outlived REQUEST_LOG_TTL_S");
}

/// A sync answer's record keeps its status, headers and the first 1 KB of
/// its body.
#[tokio::test]
async fn the_request_log_keeps_the_first_kilobyte_of_an_answer() {
    let client = client();
    let ch = client.sync_channel("big", json!({})).await;
    let r = client.http().get(client.hook(&ch)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert_eq!(body, "0123456789".repeat(300));
    let record = &client.requests(&ch, 1).await[0];
    let response = &record["response"];
    assert_eq!(response["status"], 200, "{record}");
    assert_eq!(response["body"], &body[..1024], "{record}");
    assert!(
        response["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["Content-Type", "text/plain"])),
        "{record}"
    );
}

/// A process's framing headers (`Content-Length`, `Transfer-Encoding`,
/// `Connection`) are dropped, even when their values are invalid: the
/// runtime frames the answer, and the record shows none of them.
#[tokio::test]
async fn framing_headers_of_the_process_are_dropped_even_when_invalid() {
    let client = client();
    let ch = client.sync_channel("framing", json!({})).await;
    let r = client.http().get(client.hook(&ch)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-kept"], "yes");
    if let Some(length) = r.headers().get("content-length") {
        assert_eq!(length, "21", "the runtime's own length");
    }
    assert_ne!(
        r.headers()
            .get("connection")
            .map(|v| v.to_str().unwrap().to_string()),
        Some("close".to_string()),
        "the process's Connection header went out"
    );
    assert_eq!(r.text().await.unwrap(), "framed by the runtime");
    let record = &client.requests(&ch, 1).await[0];
    let names: Vec<String> = record["response"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(names.contains(&"x-kept".to_string()), "{record}");
    for framing in ["content-length", "transfer-encoding", "connection"] {
        assert!(
            !names.contains(&framing.to_string()),
            "{framing} kept: {record}"
        );
    }
}

/// Neither the callback's `process_key` nor its `signing_secret` (nor the
/// channel's tokens) reach the channel's process.
#[tokio::test]
async fn the_callback_secrets_are_not_shown_to_the_channels_process() {
    let client = client();
    let process_key = "process-key-never-shown-0123456789";
    let signing_secret = "whsec_c2VjcmV0LW5ldmVyLXNob3duLTAxMjM0NTY3ODk=";
    let ch = client
        .create_channel(json!({
            "code": unique("secrets"), "url": receiver_url("/status/secrets?code=200"),
            "token_remote": "token-remote-never-shown", "token_remote2": "token-remote2-never-shown",
            "recv_svcscriptcode": process_url("echo"),
            "opts": {"issync": true, "callback": {
                "body": "x", "process_key": process_key, "signing_secret": signing_secret,
            }},
        }))
        .await;
    let marker = unique("secrets");
    let r = client
        .http()
        .post(format!("{}?marker={marker}", client.hook(&ch)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let event = event_with(&marker).await;
    let raw = String::from_utf8_lossy(&event.body).to_string();
    for secret in [
        process_key,
        signing_secret,
        "token-remote-never-shown",
        "token-remote2-never-shown",
    ] {
        assert!(!raw.contains(secret), "the process saw {secret}: {raw}");
    }
    // The channel's own token is in the URL the caller used, never in the
    // channel the event describes.
    let channel = &event.event["channel"];
    assert_eq!(channel["id"], ch["id"]);
    assert!(!channel.to_string().contains(token_of(&ch)), "{channel}");
    for field in ["token_local", "token_remote", "token_remote2"] {
        assert!(channel.get(field).is_none(), "{field}: {channel}");
    }
    assert!(
        channel["opts"]["callback"].get("process_key").is_none(),
        "{channel}"
    );
    assert!(
        channel["opts"]["callback"].get("signing_secret").is_none(),
        "{channel}"
    );
    assert_eq!(channel["opts"]["callback"]["body"], "x", "{channel}");
}
