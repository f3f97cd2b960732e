//! The request log's detail (`GET …/{id}/requests/{request_id}`): the
//! request's query, headers and body excerpt (redacted, bounded by
//! `REQUEST_LOG_BODY_BYTES`), the answer, and an async run's result once the
//! process reports it; the list keeps its shape; unknown ids and bad input
//! are stable JSON errors.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use syncbridge_tests::harness::{
    assert_rest_error, client, id_of, token_of, TestClient, ADMIN, API, PATIENCE,
};
use syncbridge_tests::unique;

/// Secrets the caller sends; none may appear in a record.
const SECRETS: [&str; 6] = [
    "bearer-s3cret-value",
    "cookie-s3cret-value",
    "query-s3cret-value",
    "header-s3cret-value",
    "body-s3cret-value",
    "form-s3cret-value",
];

async fn detail(c: &TestClient, channel: &Value, request_id: &str) -> (StatusCode, Value) {
    let path = format!("{API}/{}/requests/{request_id}", id_of(channel));
    c.admin(Method::GET, &path, None).await
}

#[tokio::test]
async fn a_sync_request_is_kept_whole_with_its_secrets_redacted() {
    let c = client();
    let ch = c.sync_channel("echo", json!({})).await;
    let marker = unique("detail");
    let resp = c
        .http()
        .post(format!(
            "{}/orders?marker={marker}&token=query-s3cret-value&n=1&n=2",
            c.hook(&ch)
        ))
        .header("authorization", "Bearer bearer-s3cret-value")
        .header("cookie", "session=cookie-s3cret-value")
        .header("x-shop-token", "header-s3cret-value")
        .header("x-trace", "trace-1")
        .header("content-type", "application/json")
        .body(r#"{"amount":100,"card":{"password":"body-s3cret-value"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let list = c.requests(&ch, 1).await;
    assert_eq!(list.len(), 1);
    let summary = &list[0];
    // The list keeps its shape: no payload in it.
    assert!(summary.get("request").is_none(), "{summary}");
    assert!(summary.get("result").is_none(), "{summary}");
    let rid = summary["id"].as_str().unwrap();

    let (status, d) = detail(&c, &ch, rid).await;
    assert_eq!(status, 200, "{d}");
    for (k, v) in summary.as_object().unwrap() {
        assert_eq!(&d[k], v, "{k}: the detail holds the summary");
    }
    let req = &d["request"];
    assert_eq!(req["query"]["marker"], marker.as_str());
    assert_eq!(req["query"]["n"], json!(["1", "2"]));
    assert_eq!(req["query"]["token"], "[redacted]");
    let header = |name: &str| {
        req["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == name)
            .map(|p| p[1].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(header("authorization"), "[redacted]");
    assert_eq!(header("cookie"), "[redacted]");
    assert_eq!(header("x-shop-token"), "[redacted]");
    assert_eq!(header("x-trace"), "trace-1");
    assert_eq!(header("content-type"), "application/json");
    let body: Value = serde_json::from_str(req["body"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"amount": 100, "card": {"password": "[redacted]"}})
    );
    assert_eq!(req["body"]["truncated"], false);
    // The answer the caller got, and no result for a sync run.
    assert_eq!(d["response"]["status"], 201);
    assert!(d["response"]["body"].as_str().unwrap().contains("amount"));
    assert_eq!(d["result"], Value::Null);
    // No secret, nor the channel token, anywhere in the record.
    let text = d.to_string();
    for s in SECRETS.iter().copied().chain([token_of(&ch)]) {
        assert!(!text.contains(s), "{s} in {text}");
    }
    assert!(
        d["url"].as_str().unwrap().contains("token=%5Bredacted%5D"),
        "{}",
        d["url"]
    );
}

#[tokio::test]
async fn bodies_are_cut_to_request_log_body_bytes() {
    let c = client();
    let ch = c.sync_channel("bare", json!({})).await;
    // The shared worker keeps the default, 4096 bytes.
    let text = "0123456789".repeat(1000);
    let resp = c
        .http()
        .post(c.hook(&ch))
        .header("content-type", "text/plain")
        .body(text.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let form = "user=ann&password=form-s3cret-value";
    let resp = c
        .http()
        .post(c.hook(&ch))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list = c.requests(&ch, 2).await;
    let (_, form_rec) = detail(&c, &ch, list[0]["id"].as_str().unwrap()).await;
    assert_eq!(
        form_rec["request"]["body"]["text"],
        "user=ann&password=%5Bredacted%5D"
    );
    let (_, text_rec) = detail(&c, &ch, list[1]["id"].as_str().unwrap()).await;
    let body = &text_rec["request"]["body"];
    assert_eq!(body["text"].as_str().unwrap(), &text[..4096]);
    assert_eq!(body["bytes"], 10000);
    assert_eq!(body["truncated"], true);
    // A request without a body has none.
    let resp = c.http().get(c.hook(&ch)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let list = c.requests(&ch, 3).await;
    let (_, empty) = detail(&c, &ch, list[0]["id"].as_str().unwrap()).await;
    assert_eq!(empty["request"]["body"], Value::Null);
    assert_eq!(empty["method"], "GET");
}

#[tokio::test]
async fn an_async_run_shows_the_result_its_process_reports() {
    let c = client();
    let ch = c.sync_channel("echo", json!({"issync": false})).await;
    let marker = unique("async-result");
    let resp = c
        .http()
        .post(format!("{}?marker={marker}", c.hook(&ch)))
        .header("content-type", "application/json")
        .body(r#"{"order":7,"secret":"body-s3cret-value"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list = c.requests(&ch, 1).await;
    let rid = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["mode"], "async");
    // The echo process calls back with what it got: the result comes.
    let start = Instant::now();
    let d = loop {
        let (status, d) = detail(&c, &ch, &rid).await;
        assert_eq!(status, 200, "{d}");
        if !d["result"].is_null() || start.elapsed() > PATIENCE {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let result = &d["result"];
    assert!(result["received_at"].is_string(), "{d}");
    let body: Value = serde_json::from_str(result["body"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["response_code"], 201, "{body}");
    assert_eq!(body["response_content"]["body"]["order"], 7, "{body}");
    assert_eq!(body["response_content"]["body"]["secret"], "[redacted]");
    assert_eq!(body["response_content"]["query"]["marker"], marker.as_str());
    // The caller's answer: 200, empty.
    assert_eq!(
        d["response"],
        json!({"status": 200, "headers": [], "body": ""})
    );
    assert!(!d.to_string().contains("body-s3cret-value"));
}

#[tokio::test]
async fn unknown_ids_and_bad_input_are_json_errors() {
    let c = client();
    let ch = c.sync_channel("bare", json!({})).await;
    let other = c.sync_channel("bare", json!({})).await;
    let resp = c.http().post(c.hook(&ch)).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let list = c.requests(&ch, 1).await;
    let rid = list[0]["id"].as_str().unwrap();

    // Unknown request, and a request of another channel.
    for (channel, request_id) in [
        (&ch, "00000000-0000-4000-8000-000000000000"),
        (&other, rid),
        (&ch, "not-a-uuid"),
    ] {
        let (status, body) = detail(&c, channel, request_id).await;
        let msg = assert_rest_error(status, &body, 404);
        assert!(msg.contains("No recorded request"), "{msg}");
    }
    // Unknown channel.
    let path = format!("{API}/00000000-0000-4000-8000-000000000000/requests/{rid}");
    let (status, body) = c.admin(Method::GET, &path, None).await;
    let msg = assert_rest_error(status, &body, 404);
    assert!(msg.contains("No channel"), "{msg}");
    // A query parameter is refused.
    let path = format!("{API}/{}/requests/{rid}?mask=id", id_of(&ch));
    let (status, body) = c.admin(Method::GET, &path, None).await;
    let msg = assert_rest_error(status, &body, 400);
    assert!(msg.contains("mask"), "{msg}");
    // Admin only: no token, a wrong one.
    let path = format!("{API}/{}/requests/{rid}", id_of(&ch));
    let resp = c.get(&path).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = c
        .get(&path)
        .bearer_auth(format!("{ADMIN}-wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], 1401);
    // Other methods: 405 with Allow.
    let resp = c
        .request(Method::DELETE, &path)
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers().get("allow").unwrap(), "GET");
}

/// A worker of its own, whose records live 3 s and keep 8 bytes of a body:
/// the request's body and the async result are cut to that, and the whole
/// record, result included, is gone after its time.
#[tokio::test]
async fn records_and_results_follow_their_settings_and_expire() {
    use syncbridge_tests::harness::{shared_settings, start_worker, stop_worker};
    let mut vars = shared_settings();
    vars["REQUEST_LOG_TTL_S"] = json!("3");
    vars["REQUEST_LOG_BODY_BYTES"] = json!("8");
    let worker = start_worker(vars).await;
    let c = TestClient::of(&worker);
    let ch = c.sync_channel("echo", json!({"issync": false})).await;
    let sent = Instant::now();
    let resp = c
        .http()
        .post(c.hook(&ch))
        .header("content-type", "text/plain")
        .body("0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list = c.requests(&ch, 1).await;
    let rid = list[0]["id"].as_str().unwrap().to_string();
    let d = loop {
        let (status, d) = detail(&c, &ch, &rid).await;
        assert_eq!(status, 200, "{d}");
        if !d["result"].is_null() || sent.elapsed() > Duration::from_millis(2500) {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(d["request"]["body"]["text"], "01234567", "{d}");
    assert_eq!(d["request"]["body"]["bytes"], 16);
    let result = &d["result"]["body"];
    assert_eq!(result["text"].as_str().map(str::len), Some(8), "{d}");
    assert_eq!(result["truncated"], true);
    // Past REQUEST_LOG_TTL_S: gone from the list and the detail.
    tokio::time::sleep(Duration::from_millis(3100).saturating_sub(sent.elapsed())).await;
    let (status, body) = detail(&c, &ch, &rid).await;
    assert_rest_error(status, &body, 404);
    let path = format!("{API}/{}/requests", id_of(&ch));
    let (_, list) = c.admin(Method::GET, &path, None).await;
    assert_eq!(list, json!([]));
    stop_worker(worker).await;
}
