//! The hot paths' shortcuts keep the behaviour: a webhook's channel comes
//! from the isolate's cache (`CHANNEL_CACHE_MS`), yet a change or deletion
//! made through the same isolate shows at once; a bad setting is a stable
//! `config_error`.

use reqwest::Method;
use serde_json::{json, Value};
use syncbridge_tests::harness::{
    assert_rest_answer, client, id_of, process_url, shared_settings, start_worker, stop_worker,
    TestClient, API,
};
use syncbridge_tests::unique;

#[tokio::test]
async fn a_channel_changed_or_deleted_here_is_seen_at_once_by_its_webhooks() {
    let client = client();
    let ch = client.sync_channel("echo", json!({})).await;
    let hook = client.hook(&ch);
    let code = ch["code"].as_str().unwrap().to_owned();
    // Twice: the second comes from the cache.
    for _ in 0..2 {
        let resp = client.http().post(&hook).body("{}").send().await.unwrap();
        assert_eq!(resp.status(), 201);
        assert_eq!(resp.headers()["x-process"], "echo");
    }
    let by_code = client.url(&format!("/api/webrequest/{code}"));
    assert_eq!(
        client.http().get(&by_code).send().await.unwrap().status(),
        201
    );

    // Another process: the very next call goes there.
    let path = format!("{API}/{}", id_of(&ch));
    let (status, v) = client
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"recv_svcscriptcode": process_url("text")})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    for url in [&hook, &by_code] {
        let resp = client.http().post(url).body("{}").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "plain answer");
    }

    // A new code: the old one is gone at once, the new one answers.
    let new_code = unique("renamed");
    let (status, v) = client
        .admin(Method::PATCH, &path, Some(json!({"code": new_code})))
        .await;
    assert_eq!(status, 200, "{v}");
    let resp = client.http().get(&by_code).send().await.unwrap();
    assert_rest_answer(resp, 404, &["No channel"]).await;
    let resp = client
        .http()
        .get(client.url(&format!("/api/webrequest/{new_code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Deleted: its URL is a 404 at once.
    let (status, _) = client.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let resp = client.http().post(&hook).body("{}").send().await.unwrap();
    assert_rest_answer(resp, 404, &["No channel"]).await;
}

#[tokio::test]
async fn a_bad_channel_cache_setting_is_a_config_error() {
    let mut vars = shared_settings();
    vars["CHANNEL_CACHE_MS"] = json!("61000");
    let worker = start_worker(vars).await;
    let client = TestClient::of(&worker);
    let resp = client
        .http()
        .post(client.url(&format!("/api/token/v1/{}", "a".repeat(32))))
        .body("{}")
        .send()
        .await
        .unwrap();
    let message = assert_rest_answer(resp, 500, &["CHANNEL_CACHE_MS", "0 to 60000"]).await;
    assert!(!message.contains("61000"), "{message}");
    let resp = client.get(API).send().await.unwrap();
    let answer: Value = resp.json().await.unwrap();
    assert!(answer.to_string().contains("CHANNEL_CACHE_MS"), "{answer}");
    stop_worker(worker).await;
}

#[tokio::test]
async fn a_cold_wave_is_answered_and_a_read_racing_a_change_is_not_kept() {
    let client = client();
    let ch = client.sync_channel("echo", json!({})).await;
    let hook = client.hook(&ch);
    let path = format!("{API}/{}", id_of(&ch));
    // A wave of callers on a channel no one has read yet: each is answered
    // by the channel's process.
    let wave = |n: usize| {
        let (client, hook) = (&client, &hook);
        futures::future::join_all((0..n).map(move |_| async move {
            let resp = client.http().post(hook).body("{}").send().await.unwrap();
            let status = resp.status().as_u16();
            let process = resp
                .headers()
                .get("x-process")
                .map(|v| v.to_str().unwrap().to_owned());
            if status >= 500 {
                eprintln!("{status}: {}", resp.text().await.unwrap_or_default());
            }
            (status, process)
        }))
    };
    for (status, process) in wave(40).await {
        assert_eq!((status, process.as_deref()), (201, Some("echo")));
    }
    // A change here while callers are in flight (their channel reads racing
    // it): a read that began before the change is not kept, so none of the
    // calls after it reaches the old process.
    let (changed, before) = tokio::join!(
        client.admin(
            Method::PATCH,
            &path,
            Some(json!({"recv_svcscriptcode": process_url("text")})),
        ),
        wave(20)
    );
    assert_eq!(changed.0, 200, "{}", changed.1);
    assert!(
        before.iter().all(|(s, _)| *s == 201 || *s == 200),
        "{before:?}"
    );
    for (status, process) in wave(20).await {
        assert_eq!((status, process), (200, None));
    }
}
