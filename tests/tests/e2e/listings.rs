//! The listings' filters the console uses: the request log by `outcome`
//! and `mode`, the delivery log by `state`; a bad filter is a 400 naming it.

use reqwest::Method;
use serde_json::{json, Value};
use syncbridge_tests::harness::{
    assert_rest_error, client, fast, finished, id_of, process_url, receiver_url, TestClient, API,
};
use syncbridge_tests::unique;

fn field(list: &Value, name: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e[name].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn listed(c: &TestClient, path: String) -> Value {
    let (status, v) = c.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

#[tokio::test]
async fn the_request_log_is_listed_by_outcome_and_mode() {
    let c = client();
    let ch = c.sync_channel("bare", json!({})).await;
    let broken = c
        .create_channel(json!({
            "code": unique("broken"), "recv_svcscriptcode": process_url("broken"),
            "opts": {"issync": true},
        }))
        .await;
    for target in ["?code=200", "?async=true"] {
        let resp = c
            .http()
            .post(format!("{}{target}", c.hook(&ch)))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{target}");
    }
    let resp = c
        .http()
        .post(c.hook(&broken))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    c.requests(&ch, 2).await;
    c.requests(&broken, 1).await;

    let list =
        |channel: &Value, q: &str| listed(&c, format!("{API}/{}/requests?{q}", id_of(channel)));
    assert_eq!(field(&list(&ch, "mode=sync").await, "mode"), ["sync"]);
    assert_eq!(
        field(&list(&ch, "mode=async").await, "outcome"),
        ["accepted"]
    );
    assert_eq!(field(&list(&ch, "mode=async,sync").await, "mode").len(), 2);
    assert_eq!(
        field(&list(&ch, "outcome=answered").await, "mode"),
        ["sync"]
    );
    assert_eq!(field(&list(&ch, "outcome=failed").await, "mode").len(), 0);
    assert_eq!(
        field(&list(&broken, "outcome=failed,timed_out").await, "outcome"),
        ["failed"]
    );
    assert_eq!(
        field(&list(&ch, "outcome=answered&mode=async").await, "id").len(),
        0
    );
    for (q, needle) in [
        ("outcome=lost", "outcome must be one or more of"),
        ("mode=both", "mode must be one or more of sync, async"),
        ("state=dead", "unknown parameter state"),
    ] {
        let path = format!("{API}/{}/requests?{q}", id_of(&ch));
        let (status, body) = c.admin(Method::GET, &path, None).await;
        let msg = assert_rest_error(status, &body, 400);
        assert!(msg.contains(needle), "{q}: {msg}");
    }
}

#[tokio::test]
async fn the_delivery_log_is_listed_by_state() {
    let c = client();
    let key = unique("by-state");
    let ok = c
        .callback_channel(
            &format!("/status/{key}-ok?code=200"),
            json!({"method": "POST", "body": "{}", "retry": fast(1)}),
        )
        .await;
    let delivered = c.send_ok(&ok, json!({})).await;
    assert_eq!(
        c.delivery(&ok, &delivered, finished).await["state"],
        "delivered"
    );
    // The same channel, now to a receiver that refuses: one attempt, dead.
    let path = format!("{API}/{}", id_of(&ok));
    let url = receiver_url(&format!("/status/{key}-no?code=500"));
    let (status, v) = c
        .admin(Method::PATCH, &path, Some(json!({"url": url})))
        .await;
    assert_eq!(status, 200, "{v}");
    let dead = c.send_ok(&ok, json!({})).await;
    assert_eq!(c.delivery(&ok, &dead, finished).await["state"], "dead");

    let list = |q: &str| listed(&c, format!("{API}/{}/deliveries?{q}", id_of(&ok)));
    assert_eq!(field(&list("state=dead").await, "id"), [dead.as_str()]);
    assert_eq!(
        field(&list("state=delivered").await, "id"),
        [delivered.as_str()]
    );
    assert_eq!(
        field(&list("state=dead,failed").await, "id"),
        [dead.as_str()]
    );
    assert_eq!(field(&list("state=pending").await, "id").len(), 0);
    assert_eq!(
        field(&list("").await, "id"),
        [dead.as_str(), delivered.as_str()]
    );
    let path = format!("{API}/{}/deliveries?state=lost", id_of(&ok));
    let (status, body) = c.admin(Method::GET, &path, None).await;
    let msg = assert_rest_error(status, &body, 400);
    assert!(msg.contains("state must be one or more of"), "{msg}");
}

#[tokio::test]
async fn channels_are_searched_by_code_or_title() {
    let c = client();
    let tag = unique("Needle").replace('-', "x");
    let by_code = c
        .create_channel(json!({"code": format!("shop-{tag}")}))
        .await;
    let by_title = c
        .create_channel(
            json!({"code": unique("other"), "opts": {"title": format!("The {tag} desk")}}),
        )
        .await;
    c.create_channel(json!({"code": unique("unrelated")})).await;
    let path = format!(
        "{API}?search={}&order=code&mask=id",
        tag.to_ascii_lowercase()
    );
    let list = listed(&c, path).await;
    let mut want = vec![id_of(&by_code).to_string(), id_of(&by_title).to_string()];
    let mut got = field(&list, "id");
    want.sort();
    got.sort();
    assert_eq!(got, want);
    // The longest search, and the pattern characters of SQL's LIKE, on
    // real D1 (which refuses LIKE patterns over 50 bytes).
    for search in ["0".repeat(256), "%25_%5C".to_string()] {
        let list = listed(&c, format!("{API}?search={search}")).await;
        assert_eq!(list, json!([]), "{search}");
    }
    let long = "x".repeat(300);
    let (status, body) = c
        .admin(Method::GET, &format!("{API}?search={long}"), None)
        .await;
    let msg = assert_rest_error(status, &body, 400);
    assert!(msg.contains("search"), "{msg}");
}
