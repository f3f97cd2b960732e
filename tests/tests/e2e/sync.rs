//! The Sync API: signed calls, ops forwarded in parallel to the simulated
//! engine (which checks every forwarded signature), callbacks, timeouts,
//! late results and the Durable Object alarm that deletes them.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use syncbridge_core::request_id;
use syncbridge_tests::client::{corezoid_signature, now_s, post_raw, sync_url};
use syncbridge_tests::harness::{
    assert_plugin_error, assert_sync_error, callback_answers, callback_url_of,
    callback_url_of_task, client, engine, heavy, query_sqlite_files, quiet, quiet_worker, shared,
    shared_settings, start_worker, TestClient, CALLBACK_SECRET, LOGIN, MAX_BODY, MAX_OPS,
    OTHER_LOGIN, OTHER_SECRET, PATIENCE, SECRET, SYNC_DEFAULT_TIMEOUT_S,
};
use syncbridge_tests::unique;
use syncbridge_tests::worker::{free_port, Worker};

fn create(conv_id: Value, data: Value) -> Value {
    json!({"type": "create", "obj": "task", "conv_id": conv_id, "data": data})
}

#[tokio::test]
async fn happy_path_returns_the_process_result() {
    let tag = unique("happy");
    let body = json!({"timeout": 10, "ops": [{
        "type": "create", "obj": "task", "conv_id": 123, "ref": "order-7", "id": "abc",
        "data": {"tag": tag, "amount": 100, "nested": {"k": [1, 2]}}
    }]});
    let (status, answer) = client().call(&body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["request_proc"], "ok");
    let op = &answer["ops"][0];
    assert_eq!(op["proc"], "ok", "{answer}");
    assert_eq!(
        op["data"]["echo"],
        json!({"tag": tag, "amount": 100, "nested": {"k": [1, 2]}})
    );

    // What the engine received: signed with the caller's key, conv_id, ref
    // and id kept, and a callback URL on the worker's own origin.
    let got = engine().received_with_tag(&tag);
    assert_eq!(got.len(), 1);
    let task = &got[0];
    assert!(task.signature_ok, "forwarded signature did not verify");
    assert_eq!(task.login, LOGIN);
    assert!(task.unixtime.abs_diff(now_s()) <= 5);
    assert_eq!(task.task["type"], "create");
    assert_eq!(task.task["obj"], "task");
    assert_eq!(task.task["conv_id"], 123);
    assert_eq!(task.task["ref"], "order-7");
    assert_eq!(task.task["id"], "abc");
    let cb = task.task["data"]["__callback_url"].as_str().unwrap();
    let prefix = format!("{}/api/1/plugins/callback/", shared().base);
    assert!(cb.starts_with(&prefix), "{cb}");
    assert_eq!(cb[prefix.len()..].len(), request_id::REQUEST_ID_LEN);
}

#[tokio::test]
async fn three_ops_are_answered_in_request_order() {
    let tag = unique("three");
    // The engine calls none of them back before it has all three (mode
    // `barrier`): ops forwarded one after another would never complete.
    // Then the callbacks come in the order 2, 3, 1; answers keep request order.
    let ops: Vec<Value> = [(1, 600), (2, 0), (3, 300)]
        .iter()
        .map(|(n, delivery)| {
            create(
                json!(10 + n),
                json!({"tag": tag, "n": n, "sim": {"mode": "barrier", "count": 3, "delay_ms": delivery}}),
            )
        })
        .collect();
    let (status, answer) = client().call(&json!({"timeout": 20, "ops": ops})).await;
    assert_eq!(status, 200, "{answer}");
    let ns: Vec<Value> = answer["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["data"]["echo"]["n"].clone())
        .collect();
    assert_eq!(ns, vec![json!(1), json!(2), json!(3)], "{answer}");
    // Each op had its own request id.
    let urls: std::collections::HashSet<String> = engine()
        .received_with_tag(&tag)
        .iter()
        .map(|task| {
            task.task["data"]["__callback_url"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(urls.len(), 3);
    // The callbacks did come in the order 2, 3, 1.
    let mut order: Vec<(Instant, u64)> = Vec::new();
    for task in engine().received_with_tag(&tag) {
        let url = task.task["data"]["__callback_url"].as_str().unwrap();
        let answers = callback_answers(url, 1).await;
        order.push((answers[0].sent_at, task.task["data"]["n"].as_u64().unwrap()));
    }
    order.sort();
    let by_time: Vec<u64> = order.iter().map(|(_, n)| *n).collect();
    assert_eq!(by_time, [2, 3, 1]);
}

#[tokio::test]
async fn numeric_string_conv_id_is_accepted() {
    let tag = unique("strconv");
    let (status, answer) = client()
        .call(&json!({"ops": [create(json!("4242"), json!({"tag": tag}))]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["proc"], "ok", "{answer}");
    assert_eq!(engine().received_with_tag(&tag)[0].task["conv_id"], 4242);
}

#[tokio::test]
async fn uppercase_signature_is_accepted() {
    let client = client();
    let tag = unique("upper");
    let body = json!({"ops": [create(json!(1), json!({"tag": tag}))]}).to_string();
    let ts = now_s().to_string();
    let sig = corezoid_signature(&ts, SECRET, body.as_bytes()).to_uppercase();
    let url = client.url(&format!("/api/1/json/{LOGIN}/{ts}/{sig}"));
    let (status, answer) = post_raw(client.http(), &url, body.into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["proc"], "ok");
}

#[tokio::test]
async fn request_level_errors_have_stable_codes() {
    let client = client();
    let (status, answer) = client.raw_call("{\"ops\": [").await;
    assert_sync_error(status, &answer, 400, "format_error");
    let (status, answer) = client.raw_call("[1,2]").await;
    assert_sync_error(status, &answer, 400, "format_error");
    let (status, answer) = client.raw_call("{}").await;
    assert_sync_error(status, &answer, 400, "ops_error");
    let (status, answer) = client.raw_call("{\"ops\": []}").await;
    assert_sync_error(status, &answer, 400, "ops_error");
    let (status, answer) = client.raw_call("{\"ops\": {}}").await;
    assert_sync_error(status, &answer, 400, "format_error");
    let too_many: Vec<Value> = (0..=MAX_OPS).map(|_| create(json!(1), json!({}))).collect();
    let (status, answer) = client.raw_call(&json!({"ops": too_many}).to_string()).await;
    assert_sync_error(status, &answer, 400, "ops_error");
    let (status, answer) = client.raw_call("{\"timeout\": -1, \"ops\": [{}]}").await;
    assert_sync_error(status, &answer, 400, "format_error");
    let (status, answer) = client
        .raw_call("{\"timeout\": \"soon\", \"ops\": [{}]}")
        .await;
    assert_sync_error(status, &answer, 400, "format_error");
}

#[tokio::test]
async fn access_is_denied_for_bad_signature_unknown_login_and_stale_time() {
    let client = client();
    let post = |url: String, body: Vec<u8>| {
        let client = client.clone();
        async move { post_raw(client.http(), &client.url(&url), body).await }
    };
    let body = json!({"ops": [create(json!(1), json!({}))]}).to_string();
    let b = body.as_bytes().to_vec();
    let ts = now_s().to_string();

    let wrong = corezoid_signature(&ts, "not-the-secret", &b);
    let (status, answer) = post(format!("/api/1/json/{LOGIN}/{ts}/{wrong}"), b.clone()).await;
    let denied = assert_sync_error(status, &answer, 403, "access_denied");

    let good = corezoid_signature(&ts, SECRET, &b);
    let (status, answer) = post(format!("/api/1/json/nobody/{ts}/{good}"), b.clone()).await;
    // The same answer for an unknown login as for a wrong signature.
    assert_eq!(
        assert_sync_error(status, &answer, 403, "access_denied"),
        denied
    );

    // Signed over another body: the signature covers the raw body.
    let other = corezoid_signature(&ts, SECRET, b"{\"ops\":[]}");
    let (status, answer) = post(format!("/api/1/json/{LOGIN}/{ts}/{other}"), b.clone()).await;
    assert_sync_error(status, &answer, 403, "access_denied");

    for skew in [-400i64, 400] {
        let unixtime = (now_s() as i64 + skew).to_string();
        let sig = corezoid_signature(&unixtime, SECRET, &b);
        let (status, answer) =
            post(format!("/api/1/json/{LOGIN}/{unixtime}/{sig}"), b.clone()).await;
        let description = assert_sync_error(status, &answer, 403, "access_denied");
        assert!(description.contains("300"), "{answer}");
    }
    // Within the window either side is fine.
    for skew in [-250i64, 250] {
        let unixtime = (now_s() as i64 + skew).to_string();
        let tag = unique("skew");
        let body = json!({"ops": [create(json!(1), json!({"tag": tag}))]}).to_string();
        let sig = corezoid_signature(&unixtime, SECRET, body.as_bytes());
        let (status, answer) = post(
            format!("/api/1/json/{LOGIN}/{unixtime}/{sig}"),
            body.into_bytes(),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["ops"][0]["proc"], "ok", "{answer}");
    }
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let big = json!({"ops": [create(json!(1), json!({"blob": "x".repeat(MAX_BODY)}))]}).to_string();
    let (status, answer) = client().raw_call(&big).await;
    let description = assert_sync_error(status, &answer, 413, "body_too_large");
    assert!(description.contains(&MAX_BODY.to_string()), "{answer}");
}

#[tokio::test]
async fn an_unknown_op_type_fails_only_that_op() {
    let tag = unique("mixed");
    let body = json!({"timeout": 10, "ops": [
        {"type": "delete", "obj": "task", "conv_id": 1},
        create(json!(1), json!({"tag": tag})),
        {"type": "create", "obj": "task", "conv_id": "abc", "data": {}},
        {"type": "create", "obj": "task", "conv_id": 1, "data": [1]},
    ]});
    let (status, answer) = client().call(&body).await;
    assert_eq!(status, 200, "{answer}");
    let ops = answer["ops"].as_array().unwrap();
    assert_eq!(ops[0]["proc"], "error");
    assert!(
        ops[0]["description"].as_str().unwrap().contains("delete"),
        "{answer}"
    );
    assert_eq!(ops[1]["proc"], "ok");
    assert_eq!(ops[1]["data"]["echo"]["tag"], tag);
    assert_eq!(ops[2]["proc"], "error");
    assert!(
        ops[2]["description"].as_str().unwrap().contains("conv_id"),
        "{answer}"
    );
    assert_eq!(ops[3]["proc"], "error");
    assert!(
        ops[3]["description"].as_str().unwrap().contains("data"),
        "{answer}"
    );
}

/// A wait that the timeout ends: not before it, and long before anything
/// else (the next setting that could end it, `SYNC_MAX_TIMEOUT_S`, is 60 s).
/// Measured on a worker of its own with no load test running.
#[tokio::test]
async fn explicit_timeout_gives_an_op_error_with_http_200() {
    let _quiet = quiet().await;
    let client = TestClient::of(quiet_worker());
    let tag = unique("timeout");
    let started = Instant::now();
    let (status, answer) = client
        .call(&json!({"timeout": 1, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "silent"}}))]}))
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["request_proc"], "ok");
    let op = &answer["ops"][0];
    assert_eq!(op["proc"], "error");
    assert_eq!(op["description"], "Timeout for create task");
    assert_eq!(
        op["request_id"].as_str().unwrap().len(),
        request_id::REQUEST_ID_LEN
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[tokio::test]
async fn default_timeout_gives_504() {
    let _quiet = quiet().await;
    let client = TestClient::of(quiet_worker());
    let tag = unique("t504");
    let started = Instant::now();
    let (status, answer) = client
        .call(&json!({"ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "silent"}}))]}))
        .await;
    let took = started.elapsed();
    assert_sync_error(status, &answer, 504, "timeout");
    assert_eq!(answer["description"], "Gateway Time-out");
    let wait = Duration::from_secs(SYNC_DEFAULT_TIMEOUT_S);
    assert!(
        took >= wait - Duration::from_millis(50) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(
        answer["ops"][0]["description"], "Timeout for create task",
        "{answer}"
    );
    assert!(answer["ops"][0]["request_id"].is_string(), "{answer}");
}

#[tokio::test]
async fn a_callback_before_the_create_reply_still_reaches_the_caller() {
    let tag = unique("early");
    let (status, answer) = client()
        .call(&json!({"timeout": 5, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "callback_first"}}))]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["proc"], "ok", "{answer}");
    assert_eq!(answer["ops"][0]["data"]["echo"]["tag"], tag);
    let answers = callback_answers(&callback_url_of(&tag), 1).await;
    assert_eq!(answers[0].status, 200);
    assert_eq!(answers[0].body, json!({"proc": "ok"}));
}

/// The op's deadline, for the "answered at once" tests: an answer that
/// comes before it did not wait for it.
const LONG_TIMEOUT_S: u64 = 20;

#[tokio::test]
async fn an_engine_refusal_is_answered_at_once() {
    let tag = unique("refuse");
    let started = Instant::now();
    let (status, answer) = client()
        .call(&json!({"timeout": LONG_TIMEOUT_S, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "refuse"}}))]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["proc"], "error");
    assert_eq!(answer["ops"][0]["description"], "Process is not active");
    assert!(
        started.elapsed() < Duration::from_secs(LONG_TIMEOUT_S),
        "the refusal waited for the deadline: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn engine_5xx_and_non_json_answers_are_clear_op_errors() {
    for (mode, needle) in [("http500", "HTTP 500"), ("non_json", "not a JSON")] {
        let tag = unique(mode);
        let started = Instant::now();
        let (status, answer) = client()
            .call(&json!({"timeout": LONG_TIMEOUT_S, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": mode}}))]}))
            .await;
        assert_eq!(status, 200, "{answer}");
        let op = &answer["ops"][0];
        assert_eq!(op["proc"], "error", "{answer}");
        assert!(
            op["description"].as_str().unwrap().contains(needle),
            "{answer}"
        );
        assert!(op["request_id"].is_string(), "{answer}");
        assert!(
            started.elapsed() < Duration::from_secs(LONG_TIMEOUT_S),
            "{mode} waited for the deadline"
        );
    }
}

#[tokio::test]
async fn an_engine_slow_past_the_deadline_times_out() {
    let tag = unique("slow");
    let (status, answer) = client()
        .call(&json!({"timeout": 1, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "slow", "delay_ms": 4000}}))]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["description"], "Timeout for create task");
}

#[tokio::test]
async fn an_unreachable_engine_is_a_clear_op_error() {
    // A worker of its own whose engine URL points at a closed loopback port.
    let mut vars = shared_settings();
    vars["COREZOID_API_URL"] = json!(format!("http://127.0.0.1:{}", free_port()));
    let worker = start_worker(vars).await;
    let started = Instant::now();
    let body = json!({"timeout": LONG_TIMEOUT_S, "ops": [create(json!(1), json!({}))]});
    let (status, answer) = TestClient::of(&worker).call(&body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["proc"], "error");
    assert!(
        answer["ops"][0]["description"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(LONG_TIMEOUT_S));
}

#[tokio::test]
async fn forged_mangled_expired_and_malformed_callbacks_are_refused() {
    let client = client();
    let cb = |id: &str| client.url(&format!("/api/1/plugins/callback/{id}"));
    let post = |id: String, body: Vec<u8>| {
        let (client, url) = (client.clone(), cb(&id));
        async move { post_raw(client.http(), &url, body).await }
    };
    let body = br#"{"x":1}"#.to_vec();

    // Forged: right shape, MAC under another key.
    let forged = request_id::issue(
        b"some-other-secret-0123456789",
        [7; 16],
        now_s() + 600,
        LOGIN,
    );
    let (status, answer) = post(forged, body.clone()).await;
    assert_plugin_error(status, &answer, 404, "unknown_request");
    // Garbage and wrong length.
    for bad in ["nothex", "00", &"g".repeat(request_id::REQUEST_ID_LEN)] {
        let (status, answer) = post(bad.to_string(), body.clone()).await;
        assert_plugin_error(status, &answer, 404, "unknown_request");
    }
    // A real id with one character changed.
    let genuine = request_id::issue(CALLBACK_SECRET.as_bytes(), [9; 16], now_s() + 600, LOGIN);
    let mut mangled = genuine.clone().into_bytes();
    mangled[3] = if mangled[3] == b'a' { b'b' } else { b'a' };
    let (status, answer) = post(String::from_utf8(mangled).unwrap(), body.clone()).await;
    assert_plugin_error(status, &answer, 404, "unknown_request");
    // Authentic but expired.
    let expired = request_id::issue(CALLBACK_SECRET.as_bytes(), [5; 16], now_s() - 5, LOGIN);
    let (status, answer) = post(expired, body.clone()).await;
    assert_plugin_error(status, &answer, 410, "request_expired");
    // Authentic and live, but the body is not a JSON object, or is too big.
    for bad in [&b"[1,2]"[..], b"\"text\"", b"{not json"] {
        let (status, answer) = post(genuine.clone(), bad.to_vec()).await;
        assert_plugin_error(status, &answer, 400, "format_error");
    }
    let huge = format!("{{\"x\":\"{}\"}}", "y".repeat(MAX_BODY));
    let (status, answer) = post(genuine.clone(), huge.into_bytes()).await;
    assert_plugin_error(status, &answer, 413, "body_too_large");
    // The callback route takes POST only.
    let resp = client.http().get(cb(&genuine)).send().await.unwrap();
    assert_eq!(resp.headers()["allow"], "POST");
    let status = resp.status().as_u16();
    let answer: Value = resp.json().await.unwrap();
    assert_plugin_error(status, &answer, 405, "method_not_allowed");
}

#[tokio::test]
async fn a_late_result_is_fetched_after_the_timeout_by_its_owner_only() {
    let client = client();
    let tag = unique("late");
    let (status, answer) = client
        .call(&json!({"timeout": 0.5, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "late", "delay_ms": 1500}}))]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["description"], "Timeout for create task");
    let id = answer["ops"][0]["request_id"].as_str().unwrap().to_string();

    // Before the callback arrives: not yet.
    let op = client.show(LOGIN, SECRET, &id).await;
    assert_eq!(op["proc"], "wait", "{op}");
    assert_eq!(op["description"], "Result not received yet", "{op}");

    let answers = callback_answers(&callback_url_of_task(&tag).await, 1).await;
    assert_eq!(answers[0].status, 200, "{:?}", answers[0].body);

    let op = client.show(LOGIN, SECRET, &id).await;
    assert_eq!(op["proc"], "ok", "{op}");
    assert_eq!(op["obj"], "result", "{op}");
    assert_eq!(op["request_id"], id.as_str());
    assert_eq!(op["data"]["echo"]["tag"], tag);

    // Another login cannot read it, nor can anyone with a mangled id: both
    // are told it is not found, as for an id that never existed.
    let not_found = |op: &Value, id: &str| {
        assert_eq!(op["proc"], "error", "{op}");
        assert_eq!(op["obj"], "result", "{op}");
        assert_eq!(op["request_id"], id, "{op}");
        assert_eq!(op["description"], "Result not found", "{op}");
        assert!(op.get("data").is_none(), "{op}");
    };
    not_found(&client.show(OTHER_LOGIN, OTHER_SECRET, &id).await, &id);
    let mangled = &id[..id.len() - 1];
    not_found(&client.show(LOGIN, SECRET, mangled).await, mangled);
}

#[tokio::test]
async fn a_duplicate_callback_leaves_the_stored_result_unchanged() {
    let client = client();
    let tag = unique("dup");
    let (status, answer) = client
        .call(&json!({"timeout": 5, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "duplicate"}}))]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["data"]["echo"]["tag"], tag);
    assert!(
        answer["ops"][0]["data"].get("variant").is_none(),
        "{answer}"
    );

    let url = callback_url_of(&tag);
    let answers = callback_answers(&url, 2).await;
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].body, json!({"proc": "ok"}));
    assert_eq!(answers[1].status, 200);
    assert_eq!(answers[1].body, json!({"proc": "ok", "duplicate": true}));

    let id = url.rsplit('/').next().unwrap();
    let op = client.show(LOGIN, SECRET, id).await;
    assert_eq!(op["proc"], "ok");
    assert!(
        op["data"].get("variant").is_none(),
        "the duplicate replaced the result: {op}"
    );
}

/// A caller that disconnects while parked: the process's later callback is
/// taken and stored, and the same login fetches it. (The waiter itself is
/// released at the deadline at the latest: workerd under Miniflare does not
/// report the disconnect to the worker, see README "Limits".)
#[tokio::test]
async fn a_caller_that_goes_away_loses_nothing() {
    let tag = unique("gone");
    let body = json!({"timeout": 10, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "late", "delay_ms": 800}}))]}).to_string();
    let url = sync_url(&shared().base, LOGIN, SECRET, body.as_bytes());
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(
        impatient.post(&url).body(body).send().await.is_err(),
        "expected the client to give up"
    );

    let cb = callback_url_of_task(&tag).await;
    let answers = callback_answers(&cb, 1).await;
    assert_eq!(answers[0].status, 200, "{:?}", answers[0].body);
    let op = client()
        .show(LOGIN, SECRET, cb.rsplit('/').next().unwrap())
        .await;
    assert_eq!(op["proc"], "ok", "{op}");
    assert_eq!(op["data"]["echo"]["tag"], tag);
}

#[tokio::test]
async fn two_hundred_concurrent_callers_each_get_their_own_result() {
    let _heavy = heavy().await;
    let client = client();
    let tag = unique("crowd");
    let calls = (0..200).map(|caller| {
        let client = client.clone();
        let tag = tag.clone();
        async move {
            // Spread callbacks so they interleave with other callers' waits.
            let body = json!({"timeout": 60, "ops": [create(json!(1),
                json!({"tag": tag, "caller": caller, "sim": {"mode": "late", "delay_ms": (caller * 7) % 300}}))]});
            let (status, answer) = client.call(&body).await;
            (caller, status, answer)
        }
    });
    let results = futures::future::join_all(calls).await;
    for (caller, status, answer) in results {
        assert_eq!(status, 200, "caller {caller}: {answer}");
        assert_eq!(answer["ops"][0]["proc"], "ok", "caller {caller}: {answer}");
        assert_eq!(
            answer["ops"][0]["data"]["echo"]["caller"], caller,
            "caller {caller} got another's result: {answer}"
        );
    }
    assert_eq!(engine().received_with_tag(&tag).len(), 200);
}

#[tokio::test]
async fn every_forwarded_signature_verified() {
    // Runs alongside the others; by the end of any test that forwarded a
    // task, the engine must not have seen a bad signature.
    let tag = unique("sig");
    let (status, answer) = client()
        .call(&json!({"ops": [create(json!(1), json!({"tag": tag}))]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(engine().bad_signatures(), 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let client = client();
    let resp = client.get("/nope").send().await.unwrap();
    let status = resp.status().as_u16();
    assert_plugin_error(status, &resp.json().await.unwrap(), 404, "not_found");
    let resp = client
        .get(&format!("/api/1/json/{LOGIN}/1/2"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["allow"], "POST");
    let status = resp.status().as_u16();
    assert_plugin_error(
        status,
        &resp.json().await.unwrap(),
        405,
        "method_not_allowed",
    );
    let resp = client.get("/healthz").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(resp.text().await.unwrap(), r#"{"proc":"ok"}"#);
}

/// `__callback_url` takes its origin from `PUBLIC_URL` when it is set, not
/// from the request.
#[tokio::test]
async fn public_url_is_the_origin_of_the_callback_url() {
    let mut vars = shared_settings();
    vars["PUBLIC_URL"] = json!("https://gw.example/");
    let worker = start_worker(vars).await;
    let tag = unique("public");
    let body = json!({"timeout": 0.5, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "silent"}}))]});
    let (status, answer) = TestClient::of(&worker).call(&body).await;
    assert_eq!(status, 200, "{answer}");
    let cb = callback_url_of(&tag);
    let id = answer["ops"][0]["request_id"].as_str().unwrap();
    assert_eq!(
        cb,
        format!("https://gw.example/api/1/plugins/callback/{id}"),
        "the trailing slash of PUBLIC_URL is dropped"
    );
}

/// Without `COREZOID_API_URL` a create op cannot be forwarded: the whole
/// request is a `config_error` naming the setting. Ops that need no engine
/// still work.
#[tokio::test]
async fn without_corezoid_api_url_a_create_is_a_config_error() {
    let mut vars = shared_settings();
    vars.as_object_mut().unwrap().remove("COREZOID_API_URL");
    let worker = start_worker(vars).await;
    let client = TestClient::of(&worker);
    let tag = unique("noengine");
    let (status, answer) = client
        .call(&json!({"ops": [create(json!(1), json!({"tag": tag}))]}))
        .await;
    let description = assert_sync_error(status, &answer, 500, "config_error");
    assert!(description.contains("COREZOID_API_URL"), "{answer}");
    assert!(engine().received_with_tag(&tag).is_empty());
    let op = client.show(LOGIN, SECRET, &"0".repeat(88)).await;
    assert_eq!(op["description"], "Result not found", "{op}");
}

/// A worker with tight limits and on-disk Durable Object storage:
/// `SYNC_MAX_TIMEOUT_S` = 1 and `RESULT_TTL_S` = 1.
struct Tight {
    worker: Worker,
    dir: PathBuf,
}

const TIGHT_TTL_S: u64 = 1;

fn tight() -> &'static Tight {
    static TIGHT: OnceLock<Tight> = OnceLock::new();
    TIGHT.get_or_init(|| {
        let dir = syncbridge_tests::harness::process_state_dir("tight");
        let mut vars = shared_settings();
        vars["SYNC_MAX_TIMEOUT_S"] = json!("1");
        vars["RESULT_TTL_S"] = json!(TIGHT_TTL_S.to_string());
        Tight {
            worker: Worker::start_with(&vars, Some(&dir)),
            dir,
        }
    })
}

/// Keys stored by every rendezvous object, read from workerd's SQLite files.
fn stored_keys(dir: &std::path::Path) -> Vec<String> {
    query_sqlite_files(&dir.join("do"), "SELECT key FROM _cf_KV")
}

#[tokio::test]
async fn a_timeout_over_the_maximum_is_cut_to_it() {
    let _quiet = quiet().await;
    let client = TestClient::of(&tight().worker);
    let tag = unique("capped");
    let body = json!({"timeout": 3600, "ops": [create(json!(1), json!({"tag": tag, "sim": {"mode": "silent"}}))]});
    let started = Instant::now();
    let (status, answer) = client.call(&body).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ops"][0]["description"], "Timeout for create task");
    // Cut to SYNC_MAX_TIMEOUT_S = 1: not before it, and long before the
    // 3600 s asked for (or the shared workers' maximum, 60 s) could end it.
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(10),
        "SYNC_MAX_TIMEOUT_S=1 not applied: {took:?}"
    );
}

#[tokio::test]
async fn an_alarm_deletes_a_result_when_its_window_ends() {
    let tight = tight();
    let client = TestClient::of(&tight.worker);
    let tag = unique("ttl");
    let timeout_s = 1;
    let body = json!({"timeout": timeout_s, "ops": [create(json!(1), json!({"tag": tag}))]});
    let called_at = Instant::now();
    let (status, answer) = client.call(&body).await;
    assert_eq!(
        (status, &answer["ops"][0]["proc"]),
        (200, &json!("ok")),
        "{answer}"
    );
    let cb = callback_url_of(&tag);
    let id = cb.rsplit('/').next().unwrap().to_string();

    // Stored now, and fetchable.
    assert_eq!(client.show(LOGIN, SECRET, &id).await["proc"], "ok");
    assert!(stored_keys(&tight.dir).contains(&"result".to_string()));

    // The id takes callbacks until its deadline (no earlier than the call
    // plus its timeout) plus RESULT_TTL_S, and its result is kept
    // RESULT_TTL_S after that; then the alarm deletes it from storage.
    let kept_until = called_at + Duration::from_secs(timeout_s + 2 * TIGHT_TTL_S);
    loop {
        let present = stored_keys(&tight.dir).contains(&"result".to_string());
        let read_by = Instant::now();
        if !present {
            // Deleted before `read_by`: too early only if that is before `kept_until`.
            assert!(
                read_by >= kept_until,
                "deleted {:?} before its window ended",
                kept_until - read_by
            );
            break;
        }
        assert!(
            read_by < kept_until + PATIENCE,
            "the result was not deleted by its alarm"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        client.show(LOGIN, SECRET, &id).await["description"],
        "Result not found"
    );
    // A late callback on the dead id is refused without creating anything.
    let (status, answer) = post_raw(client.http(), &cb, b"{}".to_vec()).await;
    assert_plugin_error(status, &answer, 410, "request_expired");
}
