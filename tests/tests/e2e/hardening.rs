//! Hardening (issue 9): what no caller, input or careless operator may do.
//! Each test is one finding: where callback URLs point (3), ids of one
//! purpose used for another (4), bounded list parameters and no driver text
//! in answers (5), chunked bodies cut at the limit and a signed one read
//! whole (7), no 500 at start and a log line for every 500 (8), process URLs
//! under `PROCESS_ALLOWED_HOSTS` (10), replayed signatures (11), and the
//! order of the delivery log.

use futures::SinkExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use syncbridge_tests::client::{now_s, sync_url};
use syncbridge_tests::harness::{
    assert_plugin_error, assert_rest_error, assert_sync_error, client, engine, id_of, process_url,
    read_json, receiver, shared, shared_settings, start_worker, start_worker_opts, state_dir,
    stop_worker, token_of, TestClient, ADMIN, API, LOGIN, MAX_BODY, PATIENCE, SECRET,
};
use syncbridge_tests::unique;
use syncbridge_tests::worker::{free_port, repo_root};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn create(data: Value) -> Value {
    json!({"type": "create", "obj": "task", "conv_id": 1, "data": data})
}

/// Waits `for_` and asserts the engine's HTTP process got no event carrying `marker`.
async fn no_event_with(marker: &str, for_: Duration) {
    tokio::time::sleep(for_).await;
    assert!(
        engine().events_with(marker).is_empty(),
        "the process received an event with {marker}"
    );
}

/// Waits for the engine's HTTP process to receive an event carrying `marker`.
async fn event_with(marker: &str) -> Value {
    let start = Instant::now();
    loop {
        if let Some(e) = engine().events_with(marker).pop() {
            return e.event;
        }
        assert!(start.elapsed() < PATIENCE, "no event with {marker}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A signed Sync API call as [`LOGIN`] with a `Host` header of its own.
async fn call_with_host(client: &TestClient, host: &str, body: &Value) -> (u16, Value) {
    let raw = body.to_string();
    let url = sync_url(&client.base, LOGIN, SECRET, raw.as_bytes());
    let resp = client
        .http()
        .post(url)
        .header("host", host)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    let (status, v) = read_json(resp).await;
    (status.as_u16(), v)
}

/// An inbound WebSocket on a public channel, upgraded with `Host: host`;
/// the HTTP status when the upgrade is refused.
async fn inbound_with_host(
    client: &TestClient,
    channel: &Value,
    host: &str,
) -> Result<syncbridge_tests::harness::Ws, u16> {
    let url = format!(
        "{}/ws/token/v1/{}",
        client.base.replace("http://", "ws://"),
        token_of(channel)
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("host", host.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("WebSocket upgrade: {e}"),
    }
}

/// A public channel whose webhooks and WebSocket messages go to the engine's
/// HTTP process `behavior`.
async fn public_channel(client: &TestClient, behavior: &str, sync: bool) -> Value {
    client
        .create_channel(json!({
            "code": unique("hard"),
            "recv_svcscriptcode": process_url(behavior),
            "recv_svcscriptcode_ws": process_url(behavior),
            "opts": {"issync": sync},
        }))
        .await
}

// ---- 3. the origin of callback URLs comes from configuration ---------------

/// Without `PUBLIC_URL`, a caller's `Host` does not choose where the engine
/// calls back: a Sync API call, a webhook (sync and async) and an inbound
/// WebSocket that come to another host than a loopback one get a
/// `config_error` in their route's shape, and the process hears of nothing.
#[tokio::test]
async fn without_public_url_a_foreign_host_gets_a_config_error_and_the_process_nothing() {
    let client = client();
    let tag = unique("evil-host");
    let body = json!({"timeout": 2, "ops": [create(json!({"tag": tag}))]});
    let (status, v) = call_with_host(&client, "evil.example", &body).await;
    let d = assert_sync_error(status, &v, 500, "config_error");
    assert!(d.contains("PUBLIC_URL"), "{v}");
    assert!(!d.contains("evil"), "{v}");
    assert!(engine().received_with_tag(&tag).is_empty());

    for sync in [true, false] {
        let ch = public_channel(&client, "echo", sync).await;
        let marker = unique("evil-hook");
        let resp = client
            .http()
            .post(format!("{}?marker={marker}", client.hook(&ch)))
            .header("host", "evil.example:8443")
            .json(&json!({"x": 1}))
            .send()
            .await
            .unwrap();
        let (status, v) = read_json(resp).await;
        let message = assert_rest_error(status, &v, 500);
        assert!(message.contains("PUBLIC_URL"), "{v}");
        no_event_with(&marker, Duration::from_millis(300)).await;
    }

    let ch = public_channel(&client, "quiet", false).await;
    assert_eq!(
        inbound_with_host(&client, &ch, "evil.example").await.err(),
        Some(500)
    );
}

/// Loopback origins are the exception that keeps local runs working: with
/// `Host: localhost:{port}` the callback URL is on that origin.
#[tokio::test]
async fn without_public_url_a_loopback_origin_is_used() {
    let client = client();
    let tag = unique("loopback-host");
    let port = shared().base.rsplit(':').next().unwrap().to_string();
    let body = json!({"ops": [create(json!({"tag": tag}))]});
    let (status, v) = call_with_host(&client, &format!("localhost:{port}"), &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ops"][0]["proc"], "ok", "{v}");
    let got = engine().received_with_tag(&tag);
    let cb = got[0].task["data"]["__callback_url"].as_str().unwrap();
    assert!(
        cb.starts_with(&format!("http://localhost:{port}/api/1/plugins/callback/")),
        "{cb}"
    );
}

/// With `PUBLIC_URL` set, every callback URL starts with it, whatever the
/// request's `Host`: the Sync API's, a webhook event's and an inbound
/// WebSocket's reply URL.
#[tokio::test]
async fn with_public_url_every_callback_url_starts_with_it() {
    let public = "https://gw.example.test/base";
    let mut vars = shared_settings();
    vars["PUBLIC_URL"] = json!(public);
    let worker = start_worker(vars).await;
    let client = TestClient::of(&worker);

    let tag = unique("public-url");
    let body =
        json!({"timeout": 1, "ops": [create(json!({"tag": tag, "sim": {"mode": "silent"}}))]});
    let (status, v) = call_with_host(&client, "evil.example", &body).await;
    assert_eq!(status, 200, "{v}");
    let got = engine().received_with_tag(&tag);
    assert_eq!(got.len(), 1);
    let cb = got[0].task["data"]["__callback_url"].as_str().unwrap();
    assert!(
        cb.starts_with(&format!("{public}/api/1/plugins/callback/")),
        "{cb}"
    );

    let ch = public_channel(&client, "quiet", false).await;
    let marker = unique("public-url-hook");
    let resp = client
        .http()
        .post(format!("{}?marker={marker}", client.hook(&ch)))
        .header("host", "evil.example")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let e = event_with(&marker).await;
    let cb = e["__callback_url"].as_str().unwrap();
    assert!(
        cb.starts_with(&format!("{public}/api/1/plugins/callback/")),
        "{cb}"
    );

    let mut ws = inbound_with_host(&client, &ch, "evil.example")
        .await
        .expect("the upgrade is taken");
    let marker = unique("public-url-ws");
    ws.send(Message::Text(marker.clone().into())).await.unwrap();
    let e = event_with(&marker).await;
    let reply = e["__callback_url"].as_str().unwrap();
    assert!(
        reply.starts_with(&format!("{public}/api/1/plugins/ws/{}/", id_of(&ch))),
        "{reply}"
    );
    stop_worker(worker).await;
}

// ---- 4. ids of one purpose do not work for another --------------------------

/// A WebSocket connection id (from the `__callback_url` of an inbound
/// message's event) is not a request id: the callback route answers 404
/// `unknown_request` and creates no result store. And a request id is not a
/// connection id.
#[tokio::test]
async fn a_connection_id_is_not_a_request_id() {
    let client = client();
    let ch = public_channel(&client, "quiet", false).await;
    let mut ws = client.inbound(&ch).await;
    let marker = unique("conn-id");
    ws.send(Message::Text(marker.clone().into())).await.unwrap();
    let e = event_with(&marker).await;
    let reply = e["__callback_url"].as_str().unwrap();
    let connection_id = reply.rsplit('/').next().unwrap();
    assert_eq!(e["connection_id"], connection_id);

    let r = client
        .post(&format!("/api/1/plugins/callback/{connection_id}"))
        .json(&json!({"stolen": true}))
        .send()
        .await
        .unwrap();
    let (status, v) = read_json(r).await;
    assert_plugin_error(status.as_u16(), &v, 404, "unknown_request");

    // The other way round: a request id on the WebSocket reply route.
    let tag = unique("req-id");
    let (status, v) = client
        .call(
            &json!({"timeout": 1, "ops": [create(json!({"tag": tag, "sim": {"mode": "silent"}}))]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let request_id = v["ops"][0]["request_id"].as_str().unwrap();
    let r = client
        .post(&format!("/api/1/plugins/ws/{}/{request_id}", id_of(&ch)))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

// ---- 5. list parameters are bounded; no driver text in answers --------------

#[tokio::test]
async fn list_parameters_are_bounded() {
    let client = client();
    let list = |query: String| {
        let client = client.clone();
        async move {
            client
                .admin(Method::GET, &format!("{API}?{query}"), None)
                .await
        }
    };
    let enc = |s: &str| syncbridge_tests::harness::url_encode(s);

    // 150 order terms: was a 500 carrying D1's own error text.
    let terms: Vec<Value> = (0..150).map(|_| json!({"code": "desc"})).collect();
    let (status, v) = list(format!("order={}", enc(&json!(terms).to_string()))).await;
    let m = assert_rest_error(status, &v, 400);
    assert!(m.contains("`order`") && m.contains("at most"), "{m}");
    let (status, v) = list(format!("order={}", vec!["code"; 150].join(","))).await;
    assert!(assert_rest_error(status, &v, 400).contains("`order`"));

    // A long filter, and one with too many terms.
    let filter = json!({"code": "x".repeat(5000)});
    let (status, v) = list(format!("filter={}", enc(&filter.to_string()))).await;
    assert!(assert_rest_error(status, &v, 400).contains("`filter`"));
    let mut many = serde_json::Map::new();
    for f in ["code", "id", "type", "url", "token_remote", "token_remote2"] {
        many.insert(f.into(), json!("x"));
    }
    let mut nested = serde_json::Map::new();
    for f in ["title", "comment", "corezoid_login"] {
        nested.insert(f.into(), json!("x"));
    }
    many.insert("opts".into(), Value::Object(nested));
    let (status, v) = list(format!("filter={}", enc(&Value::Object(many).to_string()))).await;
    assert_eq!(status, 200, "nine terms are fine: {v}");

    // A long mask (every name known, repeated).
    let (status, v) = list(format!("mask={}", vec!["id"; 2000].join(","))).await;
    assert!(assert_rest_error(status, &v, 400).contains("`mask`"));

    // Within the bounds, still answered.
    let (status, v) = list("order=code,id&mask=id,code&limit=1".into()).await;
    assert_eq!(status, 200, "{v}");
}

/// A database that fails answers a 500 that carries none of the driver's
/// text, and logs one error line with it. The fault is real: the channels
/// table dropped from the persisted D1 database between two runs.
#[tokio::test]
async fn a_database_failure_is_logged_and_answered_without_the_drivers_text() {
    let dir = state_dir("d1-fault");
    let first = start_worker_opts(shared_settings(), Some(&dir), None).await;
    let c = TestClient::of(&first);
    c.create_channel(json!({"code": unique("d1")})).await;
    stop_worker(first).await;
    let mut dropped = 0;
    for entry in syncbridge_tests::harness::sqlite_files(&dir.join("d1")) {
        let Ok(db) = rusqlite::Connection::open(&entry) else {
            continue;
        };
        if db.execute_batch("DROP TABLE channels").is_ok() {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 1, "the D1 file under {dir:?}");

    let second = start_worker_opts(shared_settings(), Some(&dir), None).await;
    let c = TestClient::of(&second);
    let resp = c.get(API).bearer_auth(ADMIN).send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 500, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_rest_error(status, &v, 500);
    for leak in [
        "no such table",
        "SQLITE",
        "D1_ERROR",
        "database error:",
        "channels",
    ] {
        assert!(!text.contains(leak), "{leak:?} in the answer {text}");
    }
    assert!(
        second
            .wait_for_log("no such table", Duration::from_secs(5))
            .await,
        "the driver's error is logged"
    );
    // The 500's own line comes after the driver's, on the same stream, but
    // is read apart from the answer: wait for it too.
    second
        .wait_for_log(r#""log":"error","id""#, Duration::from_secs(5))
        .await;
    let logs = second.logs();
    let errors: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains(r#""log":"error""#))
        .collect();
    assert!(
        errors
            .iter()
            .any(|l| l.contains(r#""route":"/rest/v1/service/integration_points""#)),
        "the 500 has an error line naming its route: {errors:?}"
    );
    stop_worker(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- 7. a chunked body is cut at MAX_BODY_BYTES ------------------------------

/// A chunked body that keeps coming, 1 KiB every 10 ms, gets its 413 once
/// it passes `MAX_BODY_BYTES`, long before the client would have sent twice
/// that (it would go on to ten times).
#[tokio::test]
async fn a_chunked_body_that_keeps_coming_is_refused_at_the_limit() {
    let addr = shared().base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /api/1/json/{LOGIN}/{}/0000 HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        now_s()
    );
    wr.write_all(head.as_bytes()).await.unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let chunk = format!("400\r\n{}\r\n", "x".repeat(1024));
        while counter.load(std::sync::atomic::Ordering::SeqCst) < 10 * MAX_BODY {
            if wr.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
            counter.fetch_add(1024, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = wr.write_all(b"0\r\n\r\n").await;
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let sent_at_answer = loop {
        let n = tokio::time::timeout(PATIENCE, rd.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "the connection closed without an answer");
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break sent.load(std::sync::atomic::Ordering::SeqCst);
        }
    };
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        sent_at_answer < 2 * MAX_BODY,
        "answered after {sent_at_answer} bytes of a limit of {MAX_BODY}"
    );
}

/// A signed Sync API body sent chunked (no `Content-Length`) within the
/// limit is read whole, in pieces, into the buffer its signature covers: it
/// is taken and its op answered; the same chunks under another body's
/// signature are refused.
#[tokio::test]
async fn a_signed_chunked_sync_body_is_read_whole_and_its_signature_checked() {
    let tag = unique("chunked");
    let body = json!({"timeout": 10, "ops": [
        {"type": "create", "obj": "task", "conv_id": 1, "data": {"tag": tag}}
    ]})
    .to_string();
    let addr = shared().base.trim_start_matches("http://").to_string();
    let send = |url: String| {
        let addr = addr.clone();
        let body = body.clone();
        async move {
            let path = url.trim_start_matches(&shared().base).to_string();
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let mut req = format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            for piece in body.as_bytes().chunks(7) {
                req.push_str(&format!("{:x}\r\n", piece.len()));
                req.push_str(std::str::from_utf8(piece).unwrap());
                req.push_str("\r\n");
            }
            req.push_str("0\r\n\r\n");
            stream.write_all(req.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
                .await
                .expect("an answer in time")
                .unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let ok = send(sync_url(&shared().base, LOGIN, SECRET, body.as_bytes())).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains(&tag), "the op's echo carries the tag: {ok}");
    assert!(ok.contains(r#""proc":"ok""#), "{ok}");
    let forged = send(sync_url(&shared().base, LOGIN, SECRET, b"{}")).await;
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    assert!(forged.contains("access_denied"), "{forged}");
    assert!(!forged.contains(&tag), "{forged}");
}

// ---- 8. no 500 at start; every 500 is logged ---------------------------------

/// From the moment the launcher starts, a client polling its port gets
/// either no connection or a real answer: never a 500 from a D1 database
/// whose migrations are not applied yet.
#[tokio::test]
async fn the_first_answers_after_start_are_not_500s() {
    let port = free_port();
    let mut child = Command::new("node")
        .current_dir(repo_root())
        .arg(repo_root().join("scripts/serve.mjs"))
        .args(["--watch-stdin", "--port", &port.to_string()])
        .env("SYNCBRIDGE_VARS", shared_settings().to_string())
        .env("WRANGLER_SEND_METRICS", "false")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve.mjs");
    let stdout = child.stdout.take().unwrap();
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ready.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("ready on ") {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    let client = TestClient::new(&format!("http://127.0.0.1:{port}"));
    let start = Instant::now();
    let mut answers = Vec::new();
    while answers.len() < 20 && start.elapsed() < Duration::from_secs(60) {
        match client.get(API).bearer_auth(ADMIN).send().await {
            Ok(r) => {
                let before_ready = !ready.load(std::sync::atomic::Ordering::SeqCst);
                answers.push((r.status().as_u16(), before_ready));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    drop(child.stdin.take());
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    assert_eq!(answers.len(), 20, "the worker never answered");
    assert!(
        answers.iter().all(|(s, _)| *s == 200),
        "answers from the first on: {answers:?}"
    );
}

// ---- 10. process URLs are under PROCESS_ALLOWED_HOSTS ------------------------

/// At save (create and PATCH): process URLs whose host is a literal address
/// in a private, loopback, link-local, CGNAT, multicast, documentation or
/// reserved range, in any form, are refused unless that exact address is
/// listed; public hosts pass the default `*`.
#[tokio::test]
async fn process_urls_are_checked_at_save() {
    let client = client();
    for url in [
        "http://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::1]:8080/",
        "https://[fd00::1]/",
        "https://224.0.0.1/",
        "https://198.51.100.7/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://localhost/hook",
        "http://process.example/hook",
        "ftp://process.example/hook",
    ] {
        for field in ["recv_svcscriptcode", "recv_svcscriptcode_ws"] {
            let (status, v) = client
                .admin(
                    Method::POST,
                    API,
                    Some(json!({"code": unique("ssrf"), field: url})),
                )
                .await;
            let m = assert_rest_error(status, &v, 400);
            assert!(m.contains(field), "{url}: {m}");
            assert!(
                m.contains("PROCESS_ALLOWED_HOSTS") || m.contains("URL"),
                "{url}: {m}"
            );
        }
    }
    // Public names over https pass the default `*`; the loopback address the
    // tests list exactly passes over http.
    let ch = client
        .create_channel(json!({
            "code": unique("ok"), "recv_svcscriptcode": "https://process.example/hook",
            "recv_svcscriptcode_ws": "https://93.184.216.34/ws",
        }))
        .await;
    let path = format!("{API}/{}", id_of(&ch));
    let (status, v) = client
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"recv_svcscriptcode": "http://192.168.0.1/"})),
        )
        .await;
    assert!(assert_rest_error(status, &v, 400).contains("PROCESS_ALLOWED_HOSTS"));
    let (status, v) = client
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"recv_svcscriptcode": process_url("echo")})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    // A PATCH of other fields keeps working.
    let (status, v) = client
        .admin(Method::PATCH, &path, Some(json!({"opts": {"title": "t"}})))
        .await;
    assert_eq!(status, 200, "{v}");
}

/// At send: after a restart with a list that no longer allows loopback, a
/// webhook to a channel saved before is a 502 and the process hears
/// nothing, an inbound WebSocket message is not handed over, and Sync API
/// tasks (to `COREZOID_API_URL`) are a `config_error`, the engine hearing
/// nothing.
#[tokio::test]
async fn process_urls_are_checked_before_each_forward() {
    let dir = state_dir("process-allow");
    let first = start_worker_opts(shared_settings(), Some(&dir), None).await;
    let c = TestClient::of(&first);
    let ch = public_channel(&c, "echo", true).await;
    let cz = c
        .create_channel(json!({
            "code": unique("cz"), "recv_svcscriptcode": "corezoid:5",
            "opts": {"issync": true, "corezoid_login": LOGIN},
        }))
        .await;
    stop_worker(first).await;

    let mut vars = shared_settings();
    vars["PROCESS_ALLOWED_HOSTS"] = json!("*");
    let second = start_worker_opts(vars, Some(&dir), None).await;
    let c = TestClient::of(&second);
    let marker = unique("send-check");
    let r = c
        .http()
        .post(format!("{}?marker={marker}", c.hook(&ch)))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, v) = read_json(r).await;
    let m = assert_rest_error(status, &v, 502);
    assert!(m.contains("PROCESS_ALLOWED_HOSTS"), "{m}");

    let r = c
        .http()
        .post(format!("{}?marker={marker}", c.hook(&cz)))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, v) = read_json(r).await;
    let m = assert_rest_error(status, &v, 502);
    assert!(m.contains("COREZOID_API_URL"), "{m}");

    let mut ws = c.inbound(&ch).await;
    ws.send(Message::Text(marker.clone().into())).await.unwrap();
    assert!(
        second
            .wait_for_log("ws_message_not_handed_over", PATIENCE)
            .await
    );

    let tag = unique("send-check-sync");
    let (status, v) = c.call(&json!({"ops": [create(json!({"tag": tag}))]})).await;
    let d = assert_sync_error(status, &v, 500, "config_error");
    assert!(
        d.contains("COREZOID_API_URL") && d.contains("PROCESS_ALLOWED_HOSTS"),
        "{d}"
    );
    no_event_with(&marker, Duration::from_millis(300)).await;
    assert!(engine().received_with_tag(&tag).is_empty());
    let _ = ws.close(None).await;
    stop_worker(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- 11. replayed signatures (opt-in) ---------------------------------------

/// With `SIGNATURE_REPLAY_PROTECTION` on, a signed request sent again
/// within the window (in either letter case) is refused 403 `replayed`, and
/// the engine gets one task.
#[tokio::test]
async fn with_replay_protection_a_replayed_signature_is_refused() {
    let mut vars = shared_settings();
    vars["SIGNATURE_REPLAY_PROTECTION"] = json!("true");
    let worker = start_worker(vars).await;
    let c = TestClient::of(&worker);
    let tag = unique("replay-on");
    let raw = json!({"ops": [create(json!({"tag": tag}))]}).to_string();
    let url = sync_url(&c.base, LOGIN, SECRET, raw.as_bytes());
    let post = |url: String| {
        let c = c.clone();
        let raw = raw.clone();
        async move {
            let r = c
                .http()
                .post(url)
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap();
            let (s, v) = read_json(r).await;
            (s.as_u16(), v)
        }
    };
    let (status, v) = post(url.clone()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ops"][0]["proc"], "ok", "{v}");
    let (status, v) = post(url.clone()).await;
    assert_sync_error(status, &v, 403, "replayed");
    let (sig_at, _) = url.rmatch_indices('/').next().unwrap();
    let upper = format!("{}{}", &url[..sig_at], url[sig_at..].to_uppercase());
    let (status, v) = post(upper).await;
    assert_sync_error(status, &v, 403, "replayed");
    assert_eq!(engine().received_with_tag(&tag).len(), 1);
    // Another body is another signature.
    let (status, v) = c
        .call(&json!({"ops": [create(json!({"tag": tag, "n": 2}))]}))
        .await;
    assert_eq!(status, 200, "{v}");
    stop_worker(worker).await;
}

/// Off (the default, as Corezoid), the same signed request twice is two tasks.
#[tokio::test]
async fn without_replay_protection_a_replayed_signature_is_another_task() {
    let c = client();
    let tag = unique("replay-off");
    let raw = json!({"ops": [create(json!({"tag": tag}))]}).to_string();
    let url = sync_url(&c.base, LOGIN, SECRET, raw.as_bytes());
    for _ in 0..2 {
        let r = c.http().post(&url).body(raw.clone()).send().await.unwrap();
        let (status, v) = read_json(r).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["ops"][0]["proc"], "ok", "{v}");
    }
    assert_eq!(engine().received_with_tag(&tag).len(), 2);
}

// ---- the delivery log's order ----------------------------------------------

/// The delivery log is newest first by the `created_at` it shows, ties
/// broken by id (descending too), also for sends made at once.
#[tokio::test]
async fn the_delivery_log_is_ordered_by_created_at_then_id() {
    let client = client();
    let key = unique("order");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=200"),
            json!({"body": "x", "retry": {"schedule": "interval", "interval_s": 1, "max_attempts": 1}}),
        )
        .await;
    let sends = (0..24).map(|_| {
        let client = client.clone();
        let ch = ch.clone();
        async move { client.send_ok(&ch, json!({})).await }
    });
    let ids = futures::future::join_all(sends).await;
    let list = client.deliveries(&ch).await;
    let got: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["created_at"].as_str().unwrap().to_string(),
                d["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), ids.len());
    let mut want = got.clone();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(got, want, "newest first by (created_at, id)");
    let ties = got.windows(2).filter(|w| w[0].0 == w[1].0).count();
    eprintln!("{ties} ties among {} deliveries", got.len());
    receiver().wait_hits(&key, ids.len(), PATIENCE).await;
}
