//! A channel's overview (`GET …/{id}/stats`): requests in the last hour by
//! outcome and per minute, deliveries by state, counted on real D1.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use syncbridge_tests::harness::{
    assert_rest_error, client, fast, finished, id_of, process_url, receiver_url, TestClient, ADMIN,
    API,
};
use syncbridge_tests::unique;

async fn stats(c: &TestClient, channel: &Value) -> Value {
    let (status, v) = c
        .admin(
            Method::GET,
            &format!("{API}/{}/stats", id_of(channel)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn the_overview_counts_requests_by_outcome_and_minute_and_deliveries_by_state() {
    let c = client();
    let key = unique("stats");
    let ch = c
        .create_channel(json!({
            "code": unique("stats"),
            "recv_svcscriptcode": process_url("bare"),
            "url": receiver_url(&format!("/status/{key}?code=200")),
            "opts": {"issync": true, "callback": {"method": "POST", "body": "{}", "retry": fast(1)}},
        }))
        .await;

    // A new channel: zeros, every outcome and state named, 60 minutes.
    let empty = stats(&c, &ch).await;
    assert_eq!(empty["channel_id"], id_of(&ch));
    assert_eq!(empty["requests"]["total"], 0);
    assert_eq!(empty["requests"]["per_minute"], json!(vec![0; 60]));
    assert_eq!(empty["requests"]["by_outcome"]["answered"], 0);
    assert_eq!(empty["deliveries"]["by_state"]["dead"], 0);

    // Two answered, one async (accepted); one delivery, delivered.
    for target in ["?code=201", "?code=202", "?async=true"] {
        let resp = c
            .http()
            .post(format!("{}{target}", c.hook(&ch)))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{target}");
    }
    let delivery = c.send_ok(&ch, json!({})).await;
    let d = c.delivery(&ch, &delivery, finished).await;
    assert_eq!(d["state"], "delivered", "{d}");
    c.requests(&ch, 3).await;

    let s = stats(&c, &ch).await;
    assert_eq!(s["requests"]["total"], 3, "{s}");
    assert_eq!(s["requests"]["by_outcome"]["answered"], 2, "{s}");
    assert_eq!(s["requests"]["by_outcome"]["accepted"], 1, "{s}");
    assert_eq!(s["requests"]["by_outcome"]["failed"], 0, "{s}");
    let per_minute: Vec<u64> = s["requests"]["per_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(per_minute.len(), 60);
    assert_eq!(per_minute.iter().sum::<u64>(), 3);
    // All in the last minute or two (a minute may have turned meanwhile).
    assert_eq!(per_minute[58] + per_minute[59], 3, "{per_minute:?}");
    assert_eq!(s["deliveries"]["total"], 1, "{s}");
    assert_eq!(s["deliveries"]["by_state"]["delivered"], 1, "{s}");
    assert_eq!(s["deliveries"]["last_hour_by_state"]["delivered"], 1, "{s}");
    // `since` is the window's first minute.
    let since = s["since"].as_str().unwrap();
    assert!(since.ends_with(":00.000Z"), "{since}");
}

#[tokio::test]
async fn stats_errors_are_json() {
    let c = client();
    let ch = c.create_channel(json!({"code": unique("stats-err")})).await;
    let path = format!("{API}/00000000-0000-4000-8000-000000000000/stats");
    let (status, body) = c.admin(Method::GET, &path, None).await;
    let msg = assert_rest_error(status, &body, 404);
    assert!(msg.contains("No channel"), "{msg}");
    let path = format!("{API}/{}/stats?window=1", id_of(&ch));
    let (status, body) = c.admin(Method::GET, &path, None).await;
    let msg = assert_rest_error(status, &body, 400);
    assert!(msg.contains("window"), "{msg}");
    let path = format!("{API}/{}/stats", id_of(&ch));
    let resp = c.get(&path).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = c.post(&path).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}
