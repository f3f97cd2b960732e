//! Delivery controls of outbound callbacks, end to end under workerd with a
//! loopback receiver: Corteos dictionaries (`@DIC:Name`), bulk recovery,
//! the first attempt made at once, the circuit breaker, FIFO order and the
//! throttle.

use reqwest::Method;
use serde_json::{json, Value};
use syncbridge_tests::harness::{
    assert_rest_error, client, fast, receiver, receiver_url, API, PATIENCE,
};
use syncbridge_tests::unique;

#[tokio::test]
async fn dictionaries_render_the_code_the_send_names_and_refuse_what_they_cannot() {
    let client = client();
    let key = unique("dic");
    let callback = json!({
        "headers": "Content-Type: application/json",
        "body": "{\"status\": \"@DIC:Status\", \"raw\": @!DIC:Amount}",
        "dictionaries": {"Status": {"1": "Reserved \"now\"", "2": "Paid"}, "Amount": {"a": "42"}},
        "retry": fast(1)
    });
    let ch = client
        .callback_channel(&format!("/status/{key}?code=200"), callback.clone())
        .await;
    client
        .send_ok(&ch, json!({"Status": "1", "Amount": "a"}))
        .await;
    let hit = &receiver().wait_hits(&key, 1, PATIENCE).await[0];
    let got: Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(got, json!({"status": "Reserved \"now\"", "raw": 42}));

    // A code the dictionary lacks, or no code at all: 422, nothing stored.
    for (vars, needle) in [
        (json!({"Status": "9", "Amount": "a"}), "\"9\" in Status"),
        (json!({"Amount": "a"}), "missing variables: Status"),
    ] {
        let (status, answer) = client.send(&ch, vars, None).await;
        let message = assert_rest_error(status, &answer, 422);
        assert!(message.contains(needle), "{answer}");
    }
    assert_eq!(client.deliveries(&ch).await.as_array().unwrap().len(), 1);

    // A dictionary the channel does not define: 400 when it is saved.
    let mut bad = callback;
    bad["body"] = json!("@DIC:Nope");
    let (status, answer) = client
        .admin(
            Method::POST,
            API,
            Some(json!({
                "code": unique("out"),
                "url": receiver_url("/status/x?code=200"),
                "opts": {"callback": bad}
            })),
        )
        .await;
    let message = assert_rest_error(status, &answer, 400);
    assert!(message.contains("@DIC:Nope"), "{answer}");
}
