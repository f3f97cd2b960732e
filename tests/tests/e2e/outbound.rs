//! Outbound callbacks: rendering, signing and delivering a channel's
//! callback on the real queue (Miniflare), retried by policy, to a loopback
//! receiver that fails, accepts, redirects, stalls or asks for patience as
//! each test needs; and deliveries surviving a restart of the runtime.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use syncbridge_tests::harness::{
    assert_rest_answer, assert_rest_error, client, execute_sqlite_files, fast, finished, heavy,
    query_sqlite_files, read_json, receiver, shared_settings, start_worker, start_worker_opts,
    start_worker_with_wrangler_toml, state_dir, statuses, stop_worker, TestClient, ADMIN,
    ALLOWED_HOSTS, API, CALLBACK_TIMEOUT_S, CRON_MS, PATIENCE,
};
use syncbridge_tests::unique;
use syncbridge_tests::worker::{repo_root, Worker};

#[tokio::test]
async fn delivered_on_the_attempt_after_n_failures() {
    let client = client();
    let key = unique("flaky");
    let ch = client
        .callback_channel(
            &format!("/flaky/{key}?fail=2"),
            json!({"body": "hi", "retry": fast(5)}),
        )
        .await;
    let id = client.send_ok(&ch, json!({})).await;
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(statuses(&delivery), [json!(503), json!(503), json!(200)]);
    let a = &delivery["attempts"][2];
    assert!(
        a["latency_ms"].is_u64() && a["at"].as_str().unwrap().ends_with('Z'),
        "{a}"
    );
    assert_eq!(a["response_excerpt"], "accepted");
    let hits = receiver().hits(&key);
    assert_eq!(hits.len(), 3);
    // About a second apart (interval_s = 1).
    assert!(hits[1].at - hits[0].at >= Duration::from_millis(900));
}

#[tokio::test]
async fn stops_at_the_attempt_limit_and_is_dead_then_resend_restarts_it() {
    let client = client();
    let key = unique("dead");
    let ch = client
        .callback_channel(
            &format!("/flaky/{key}?fail=3"),
            json!({"body": "x", "retry": fast(3)}),
        )
        .await;
    let id = client.send_ok(&ch, json!({})).await;
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "dead", "{delivery}");
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 3);
    assert!(
        delivery["error"].as_str().unwrap().contains('3'),
        "{delivery}"
    );

    // The receiver accepts from the 4th request on: a resend delivers.
    let path = format!(
        "{API}/{}/deliveries/{id}/resend",
        ch["id"].as_str().unwrap()
    );
    let (status, answer) = client.admin(Method::POST, &path, None).await;
    assert_eq!(status, 202, "{answer}");
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 4);
    // Only a dead or failed delivery can be resent.
    let (status, answer) = client.admin(Method::POST, &path, None).await;
    let message = assert_rest_error(status, &answer, 409);
    assert!(
        message.contains("Only a dead or failed delivery"),
        "{answer}"
    );
    assert!(message.contains("delivered"), "{answer}");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let client = client();
    let key = unique("ra");
    let ch = client
        .callback_channel(
            &format!("/retry-after/{key}?secs=3"),
            json!({"body": "x", "retry": fast(3)}),
        )
        .await;
    let id = client.send_ok(&ch, json!({})).await;
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    let hits = receiver().hits(&key);
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(2900),
        "retried after {gap:?}, before Retry-After: 3"
    );
}

#[tokio::test]
async fn gone_stops_at_once() {
    let client = client();
    let key = unique("gone");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=410"),
            json!({"body": "x", "retry": fast(5)}),
        )
        .await;
    let id = client.send_ok(&ch, json!({})).await;
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "failed", "{delivery}");
    assert_eq!(statuses(&delivery), [json!(410)]);
    assert!(delivery["error"].as_str().unwrap().contains("410"));
}

#[tokio::test]
async fn only_200_counts_by_default_any_2xx_when_asked() {
    let client = client();
    let strict_key = unique("strict");
    let mut retry = fast(2);
    let strict = client
        .callback_channel(
            &format!("/status/{strict_key}?code=201"),
            json!({"body": "x", "retry": retry}),
        )
        .await;
    retry["success"] = json!("2xx");
    let loose_key = unique("loose");
    let loose = client
        .callback_channel(
            &format!("/status/{loose_key}?code=201"),
            json!({"body": "x", "retry": retry}),
        )
        .await;
    let (a, b) = (
        client.send_ok(&strict, json!({})).await,
        client.send_ok(&loose, json!({})).await,
    );
    let delivery = client.delivery(&strict, &a, finished).await;
    assert_eq!(
        delivery["state"], "dead",
        "201 is not success under the Corteos rule: {delivery}"
    );
    let delivery = client.delivery(&loose, &b, finished).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(statuses(&delivery), [json!(201)]);
}

const HOSTILE: &str = "Quote \" back\\slash <tag> & amp 'apos'\nnew line\ttab é ✓ 😀 %20 +=&";

#[tokio::test]
async fn json_xml_form_and_get_values_are_escaped_for_their_type() {
    let client = client();
    let vars = json!({"v": HOSTILE, "n": 42});
    // JSON
    let key = unique("json");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=200"),
            json!({
                "headers": "Content-Type: application/json",
                "body": "{\"v\": \"@v\", \"n\": @n, \"id\": \"@CallbackId\"}",
                "variables": ["v", "n"], "retry": fast(1),
            }),
        )
        .await;
    client.send_ok(&ch, vars.clone()).await;
    let hit = &receiver().wait_hits(&key, 1, PATIENCE).await[0];
    let got: Value = serde_json::from_slice(&hit.body).expect("the body is valid JSON");
    assert_eq!(got["v"], HOSTILE);
    assert_eq!(got["n"], 42);
    assert!(got["id"].as_str().unwrap().parse::<u64>().unwrap() > 600_000_000_000_000_000);
    assert_eq!(hit.headers["content-type"], "application/json");

    // XML (SOAP)
    let key = unique("xml");
    let ch = client.callback_channel(
        &format!("/status/{key}?code=200"),
        json!({
            "headers": "Content-Type: text/xml;charset=UTF-8\nSOAPAction: http://sap.com/xi/WebService/soap1.1",
            "body": "<Envelope><Body><V>@v</V><Raw>@!v</Raw></Body></Envelope>",
            "variables": ["v"], "retry": fast(1),
        }),
    )
    .await;
    client.send_ok(&ch, json!({"v": "<b>&\"'"})).await;
    let hit = &receiver().wait_hits(&key, 1, PATIENCE).await[0];
    let text = String::from_utf8(hit.body.clone()).unwrap();
    assert_eq!(
        text,
        "<Envelope><Body><V>&lt;b&gt;&amp;&quot;&apos;</V><Raw><b>&\"'</Raw></Body></Envelope>"
    );
    assert_eq!(
        hit.headers["soapaction"],
        "http://sap.com/xi/WebService/soap1.1"
    );

    // Form
    let key = unique("form");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=200"),
            json!({
                "headers": "Content-Type: application/x-www-form-urlencoded",
                "body": "v=@v&n=@n", "variables": ["v", "n"], "retry": fast(1),
            }),
        )
        .await;
    client.send_ok(&ch, vars.clone()).await;
    let hit = &receiver().wait_hits(&key, 1, PATIENCE).await[0];
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&hit.body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    assert_eq!(
        pairs,
        [("v".into(), HOSTILE.into()), ("n".into(), "42".into())]
    );

    // GET: the template is the query.
    let key = unique("get");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=200"),
            json!({"method": "GET", "body": "v=@v", "variables": ["v"], "retry": fast(1)}),
        )
        .await;
    client.send_ok(&ch, vars).await;
    let hit = &receiver().wait_hits(&key, 1, PATIENCE).await[0];
    assert_eq!(hit.method, "GET");
    assert!(hit.body.is_empty());
    let query = hit.uri.split_once('?').unwrap().1;
    let values: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "v")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(values, [HOSTILE]);
    // RFC 3986: a space is %20, never `+`, so decodeURIComponent reads it too.
    let raw = query.split('&').find_map(|p| p.strip_prefix("v=")).unwrap();
    assert!(!raw.contains('+') && raw.contains("%20"), "{raw}");
}

#[tokio::test]
async fn bad_templates_are_refused_when_the_channel_is_saved() {
    let client = client();
    let url = format!("{}/status/x", receiver().url());
    for (callback, needle) in [
        (json!({"body": "@nope"}), "nope"),
        (json!({"body": "{\"a\": \"@{unclosed\"}"}), "@"),
        (json!({"method": "DELETE"}), "method"),
        (json!({"headers": "no colon here"}), "header"),
        (json!({"retry": {"max_attempts": 0}}), "max_attempts"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, answer) = client
            .admin(
                Method::POST,
                API,
                Some(json!({"code": unique("bad"), "url": url, "opts": {"callback": callback}})),
            )
            .await;
        let message = assert_rest_error(status, &answer, 400);
        assert!(message.contains(needle), "{needle}: {answer}");
    }
}

#[tokio::test]
async fn destinations_off_the_allow_list_are_refused_at_save() {
    let client = client();
    for url in [
        "https://evil.example/hook",
        "http://localhost:9/hook",
        "ftp://127.0.0.1/x",
    ] {
        let (status, answer) = client.admin(
            Method::POST,
            API,
            Some(json!({"code": unique("deny"), "url": url, "opts": {"callback": {"body": "x"}}})),
        )
        .await;
        let message = assert_rest_error(status, &answer, 400);
        assert!(message.contains("url"), "{url}: {answer}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let client = client();
    let key = unique("redir");
    let ch = client
        .callback_channel(
            &format!("/redirect/{key}"),
            json!({"body": "x", "retry": fast(1)}),
        )
        .await;
    let id = client.send_ok(&ch, json!({})).await;
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "dead", "{delivery}");
    assert_eq!(statuses(&delivery), [json!(302)]);
    assert!(
        delivery["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not followed"),
        "{delivery}"
    );
    assert!(
        receiver().hits(&format!("{key}-target")).is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_delivery() {
    let client = client();
    let key = unique("idem");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=200"),
            json!({"body": "x", "retry": fast(1)}),
        )
        .await;
    let (s1, a) = client.send(&ch, json!({}), Some("order-42")).await;
    let (s2, b) = client.send(&ch, json!({}), Some("order-42")).await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (202, 202));
    assert_eq!(a["delivery_id"], b["delivery_id"]);
    assert_eq!(b["idempotent_replay"], true);
    let (_, c) = client.send(&ch, json!({}), Some("order-43")).await;
    assert_ne!(a["delivery_id"], c["delivery_id"]);
    receiver().wait_hits(&key, 2, PATIENCE).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver().hits(&key).len(), 2, "one request per key");
    let (_, list) = client
        .admin(
            Method::GET,
            &format!("{API}/{}/deliveries", ch["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_test_send_makes_one_attempt_and_queues_nothing() {
    let client = client();
    let key = unique("test");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=503"),
            json!({"body": "hello @v", "variables": ["v"]}),
        )
        .await;
    let resp = client
        .http()
        .post(format!(
            "{}{API}/{}/send/test",
            client.base,
            ch["id"].as_str().unwrap()
        ))
        .bearer_auth(ADMIN)
        .json(&json!({"variables": {"v": "world"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["status"], 503);
    assert!(
        answer["body_excerpt"].as_str().unwrap().contains("503"),
        "{answer}"
    );
    assert!(
        answer["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "content-type"),
        "{answer}"
    );
    assert_eq!(answer["request"]["body"], "hello world");
    let hits = receiver().hits(&key);
    assert_eq!(hits.len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver().hits(&key).len(),
        1,
        "a test send is never retried"
    );
    let (_, list) = client
        .admin(
            Method::GET,
            &format!("{API}/{}/deliveries", ch["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn sends_need_the_admin_token_or_the_process_key_and_every_declared_variable() {
    let client = client();
    let key = unique("auth");
    let ch = client.callback_channel(
        &format!("/status/{key}?code=200"),
        json!({"body": "@v", "variables": ["v"], "process_key": "process-key-0123456789", "retry": fast(1)}),
    )
    .await;
    let url = format!("{}{API}/{}/send", client.base, ch["id"].as_str().unwrap());
    let body = json!({"variables": {"v": "1"}});
    let resp = client.http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_rest_answer(resp, 401, &[]).await;
    let resp = client
        .http()
        .post(&url)
        .bearer_auth("wrong-key-wrong-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 401, &[]).await;
    let resp = client
        .http()
        .post(&url)
        .bearer_auth("process-key-0123456789")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    // The process key opens nothing else.
    let resp = client
        .http()
        .get(format!(
            "{}{API}/{}",
            client.base,
            ch["id"].as_str().unwrap()
        ))
        .bearer_auth("process-key-0123456789")
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 401, &[]).await;
    // Every declared variable is needed: a missing one is a 422 naming it.
    // (That the key is never shown to the channel's process is
    // webhooks::the_callback_secrets_are_not_shown_to_the_channels_process.)
    let resp = client
        .http()
        .post(&url)
        .bearer_auth(ADMIN)
        .json(&json!({"variables": {}}))
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 422, &["missing variables: v"]).await;
}

#[tokio::test]
async fn deliveries_carry_standard_webhooks_signatures() {
    let client = client();
    let key = unique("signed");
    let raw = b"outbound-signing-key-0123456789";
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    let ch = client.callback_channel(
        &format!("/status/{key}?code=200"),
        json!({"body": "{\"a\":1}", "headers": "Content-Type: application/json", "signing_secret": secret, "retry": fast(1)}),
    )
    .await;
    let id = client.send_ok(&ch, json!({})).await;
    let hit = &receiver().wait_hits(&key, 1, PATIENCE).await[0];
    assert_eq!(hit.headers["webhook-id"], id);
    let ts = &hit.headers["webhook-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(raw).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&hit.body);
    let want = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(hit.headers["webhook-signature"], want);
    // The secret never shows in the delivery log.
    let delivery = client.delivery(&ch, &id, finished).await;
    assert!(!delivery.to_string().contains(&secret));
}

/// A receiver slower than `CALLBACK_TIMEOUT_S` gives a failed attempt,
/// "no answer within N s", both in a test send and in a queued delivery.
#[tokio::test]
async fn a_receiver_slower_than_the_callback_timeout_is_a_failed_attempt() {
    let client = client();
    let key = unique("slow");
    let slow_ms = CALLBACK_TIMEOUT_S * 1000 + 3000;
    let ch = client
        .callback_channel(
            &format!("/slow/{key}?ms={slow_ms}"),
            json!({"body": "x", "retry": fast(1)}),
        )
        .await;
    let want = format!("no answer within {CALLBACK_TIMEOUT_S} s");
    let resp = client
        .post(&format!("{API}/{}/send/test", ch["id"].as_str().unwrap()))
        .bearer_auth(ADMIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, answer) = read_json(resp).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["error"], want.as_str(), "{answer}");
    assert!(answer["status"].is_null(), "{answer}");
    assert!(
        answer["latency_ms"].as_u64().unwrap() >= CALLBACK_TIMEOUT_S * 1000 - 50,
        "gave up before CALLBACK_TIMEOUT_S: {answer}"
    );
    let id = client.send_ok(&ch, json!({})).await;
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "dead", "{delivery}");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{delivery}");
    assert_eq!(attempts[0]["error"], want.as_str(), "{delivery}");
    assert!(attempts[0]["status"].is_null(), "{delivery}");
    // Both attempts reached the receiver; neither waited for its answer.
    assert_eq!(receiver().wait_hits(&key, 2, PATIENCE).await.len(), 2);
}

/// The shared settings with `allowed` as `CALLBACK_ALLOWED_HOSTS`, and a
/// sweeper that re-queues a pending delivery 2 s past its due time (queue
/// messages live in memory, so after a restart the sweeper resumes them).
fn settings_allowing(allowed: &str) -> Value {
    let mut vars = shared_settings();
    vars["CALLBACK_ALLOWED_HOSTS"] = json!(allowed);
    vars["CALLBACK_SWEEP_GRACE_S"] = json!("2");
    vars
}

/// Starts a runtime on the persisted state in `dir` (cron every second),
/// with `allowed` as `CALLBACK_ALLOWED_HOSTS`.
async fn runtime(dir: &Path, allowed: &str) -> Worker {
    start_worker_opts(settings_allowing(allowed), Some(dir), Some(CRON_MS)).await
}

/// On a runtime over the persisted state in `dir`: a channel whose receiver
/// fails the first attempt (retrying every `interval_s`), one send to it,
/// its first attempt seen by the receiver, then the runtime stopped. The
/// stopped runtime's client, the channel and the delivery id.
async fn first_attempt_failed_then_stopped(
    dir: &Path,
    key: &str,
    interval_s: u64,
) -> (TestClient, Value, String) {
    let first = runtime(dir, ALLOWED_HOSTS).await;
    let retry = json!({"schedule": "interval", "interval_s": interval_s, "max_attempts": 5});
    let before = TestClient::of(&first);
    let ch = before
        .callback_channel(
            &format!("/flaky/{key}?fail=1"),
            json!({"body": "x", "retry": retry}),
        )
        .await;
    let id = before.send_ok(&ch, json!({})).await;
    assert_eq!(receiver().wait_hits(key, 1, PATIENCE).await.len(), 1);
    // Stopped between attempts: once the first one is recorded.
    let recorded = |d: &Value| d["attempts"].as_array().is_some_and(|a| !a.is_empty());
    let d = before.delivery(&ch, &id, recorded).await;
    assert_eq!(statuses(&d), [json!(503)], "{d}");
    stop_worker(first).await;
    (before, ch, id)
}

/// Two workers in turn on one persisted state, as a restart of the runtime.
#[tokio::test]
async fn a_restart_between_attempts_loses_nothing() {
    let dir = state_dir("restart");
    let key = unique("restart");
    // The first attempt fails; the runtime stops while the retry waits in the queue.
    let (before, ch, id) = first_attempt_failed_then_stopped(&dir, &key, 3).await;
    // Down means down: nothing answers on its port any more (a workerd that
    // outlived its launcher would answer, and make the retry).
    let probe = reqwest::Client::new()
        .get(before.url("/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        probe.is_err(),
        "the stopped runtime still answers: {probe:?}"
    );
    // Past the retry's due time: no attempt was made while it was down.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        receiver().hits(&key).len(),
        1,
        "an attempt was made while the runtime was down"
    );

    let restarted_at = Instant::now();
    let second = runtime(&dir, ALLOWED_HOSTS).await;
    let delivery = TestClient::of(&second).delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(statuses(&delivery), [json!(503), json!(200)]);
    // Exactly one more attempt, made by the restarted runtime.
    let hits = receiver().hits(&key);
    assert_eq!(hits.len(), 2, "{delivery}");
    assert!(
        hits[1].at >= restarted_at,
        "the retry came before the restart"
    );
    stop_worker(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The runtime stops while a send's own first attempt (made right after
/// its 202, in `wait_until`) is in flight, before it is recorded: after a
/// restart the delivery is attempted again, once, by the safety-net message
/// or the sweeper, never while the cut-off attempt could still be running.
#[tokio::test]
async fn a_first_attempt_cut_off_by_a_stop_is_made_again_after_the_restart() {
    let dir = state_dir("cutoff");
    let key = unique("cutoff");
    let first = runtime(&dir, ALLOWED_HOSTS).await;
    let before = TestClient::of(&first);
    // The receiver holds each attempt for 1.5 s (under CALLBACK_TIMEOUT_S).
    let retry = json!({"schedule": "interval", "interval_s": 1, "max_attempts": 5});
    let ch = before
        .callback_channel(
            &format!("/slow/{key}?ms=1500"),
            json!({"body": "x", "retry": retry}),
        )
        .await;
    let sent_at = Instant::now();
    let id = before.send_ok(&ch, json!({})).await;
    // The attempt has reached the receiver, which is still holding it.
    assert_eq!(receiver().wait_hits(&key, 1, PATIENCE).await.len(), 1);
    assert!(
        sent_at.elapsed() < Duration::from_millis(1500),
        "the first attempt came too late to be cut off"
    );
    stop_worker(first).await;

    let restarted_at = Instant::now();
    let second = runtime(&dir, ALLOWED_HOSTS).await;
    let delivery = TestClient::of(&second).delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    // The cut-off attempt left no record; the one made after the restart did.
    assert_eq!(statuses(&delivery), [json!(200)], "{delivery}");
    let hits = receiver().hits(&key);
    assert_eq!(hits.len(), 2, "{delivery}");
    assert!(
        hits[1].at >= restarted_at,
        "the second attempt came before the restart"
    );
    stop_worker(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A delivery whose channel is gone (stored by a send that read its
/// channel from one isolate's cache after another isolate deleted it, so
/// after the deletion removed the channel's other deliveries) is removed
/// when its message comes, and never attempted: the sweeper does not find
/// it pending at every run for ever. Two isolates cannot be had locally,
/// so the state is made in the stopped runtime's D1: the channel's row
/// deleted under its pending delivery, which is made overdue.
#[tokio::test]
async fn a_delivery_whose_channel_is_gone_is_removed_unsent() {
    let dir = state_dir("orphan");
    let key = unique("orphan");
    let (_, ch, id) = first_attempt_failed_then_stopped(&dir, &key, 60).await;
    let channel_id = ch["id"].as_str().unwrap();
    assert_eq!(
        execute_sqlite_files(
            &dir,
            &format!("DELETE FROM channels WHERE id = '{channel_id}'")
        ),
        1
    );
    assert_eq!(
        execute_sqlite_files(
            &dir,
            &format!("UPDATE deliveries SET next_attempt_at_ms = 0 WHERE id = '{id}'")
        ),
        1
    );
    let second = runtime(&dir, ALLOWED_HOSTS).await;
    let kept = || {
        query_sqlite_files(
            &dir,
            &format!("SELECT id FROM deliveries WHERE id = '{id}'"),
        )
    };
    let deadline = Instant::now() + PATIENCE;
    while !kept().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(kept().is_empty(), "the orphan delivery is still stored");
    // Its first attempt (before the stop) was the only one.
    assert_eq!(receiver().hits(&key).len(), 1);
    stop_worker(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The allow-list is checked again at send time: after a restart with a
/// narrower list, a send is refused and a pending delivery fails unsent.
#[tokio::test]
async fn the_allow_list_is_checked_again_at_send_time() {
    let dir = state_dir("allow");
    let key = unique("narrow");
    let (_, ch, id) = first_attempt_failed_then_stopped(&dir, &key, 2).await;

    let second = runtime(&dir, "api.partner.example").await;
    let after = TestClient::of(&second);
    let (status, answer) = after.send(&ch, json!({}), None).await;
    assert_rest_error(status, &answer, 422);
    let delivery = after.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "failed", "{delivery}");
    assert!(
        delivery["error"].as_str().unwrap().contains("not sent"),
        "{delivery}"
    );
    assert_eq!(
        receiver().hits(&key).len(),
        1,
        "nothing was sent off the list"
    );
    stop_worker(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A queue message the consumer keeps failing on is dead-lettered
/// (`syncbridge-callbacks-dlq`), and the dead-letter consumer marks its
/// delivery dead. The fault is real: a delivery whose rendered request
/// fills its D1 row so nearly that no attempt's record fits any more
/// (SQLITE_TOOBIG), so the consumer fails after every attempt. The worker
/// is deployed with a queue that retries once (`max_retries = 1` instead of
/// wrangler.toml's 100, 1 s apart instead of 5), and no sweeper.
#[tokio::test]
async fn a_message_the_consumer_keeps_failing_on_is_dead_lettered() {
    let _heavy = heavy().await;
    let toml = std::fs::read_to_string(repo_root().join("wrangler.toml")).unwrap();
    for setting in [
        "max_retries = 100",
        "retry_delay = 5",
        "dead_letter_queue = \"syncbridge-callbacks-dlq\"",
    ] {
        assert!(
            toml.contains(setting),
            "wrangler.toml no longer has {setting}"
        );
    }
    let toml = toml
        .replace("max_retries = 100", "max_retries = 1")
        .replace("retry_delay = 5", "retry_delay = 1");
    let mut vars = shared_settings();
    vars["MAX_BODY_BYTES"] = json!((8 << 20).to_string());
    // Past D1's row limit on purpose: deliveries that nearly fill their row.
    vars["CALLBACK_MAX_BYTES"] = json!((8 << 20).to_string());
    let worker = start_worker_with_wrangler_toml(vars, toml, None, Some(NO_CRON_MS)).await;
    let client = TestClient::of(&worker);
    let callback = json!({"body": "@v", "variables": ["v"], "retry": fast(5)});
    // Two channels alike but for their URLs, of the same length, so that
    // their deliveries' rows differ in size only by their bodies.
    let base = unique("dlq");
    let (probe_key, key) = (format!("{base}-probe"), format!("{base}-sends"));
    let probe = client
        .callback_channel(&format!("/status/{probe_key}?code=200"), callback.clone())
        .await;
    // The largest body whose delivery D1 still stores, found by halving.
    let (mut fits, mut too_big) = (1usize << 20, 4usize << 20);
    while too_big - fits > 1 {
        let size = (fits + too_big) / 2;
        let (status, answer) = client
            .send(&probe, json!({"v": "x".repeat(size)}), None)
            .await;
        match status.as_u16() {
            202 => fits = size,
            413 if answer.to_string().contains("too large to store") => too_big = size,
            _ => panic!("a send of {size} bytes: {status} {answer}"),
        }
    }
    assert!(
        fits > 1 << 20 && too_big < 4 << 20,
        "no D1 row limit between 1 and 4 MiB"
    );
    // 60 bytes short of it: room for the dead-letter mark (state `dead`,
    // its error, no due time: about 15 bytes more), none for the record of
    // a 503 attempt (about 115).
    let ch = client
        .callback_channel(&format!("/status/{key}?code=503"), callback)
        .await;
    let id = client
        .send_ok(&ch, json!({"v": "x".repeat(fits - 60)}))
        .await;
    let delivery = client.delivery(&ch, &id, finished).await;
    assert_eq!(delivery["state"], "dead", "{}", without_body(&delivery));
    assert_eq!(
        delivery["error"],
        "dead-lettered: the queue gave up on it",
        "{}",
        without_body(&delivery)
    );
    assert_eq!(
        delivery["attempts"],
        json!([]),
        "no attempt could be recorded"
    );
    // The send's own attempt, then the queue message's first delivery and
    // its one retry, each made the attempt (none could be recorded).
    assert_eq!(receiver().hits(&key).len(), 3);
    stop_worker(worker).await;
}

/// `SYNCBRIDGE_CRON_MS` that never fires (setInterval's longest).
const NO_CRON_MS: u64 = 2_147_483_647;

/// A delivery without its (huge) body, for messages.
fn without_body(delivery: &Value) -> String {
    let mut d = delivery.clone();
    d["request"]["body"] = json!("…");
    d.to_string()
}

/// A send the caller makes too big to store (variables within
/// `MAX_BODY_BYTES` that the template repeats past D1's row size) gets a
/// clear client error, as DESIGN.md asks of every error a caller can cause,
/// not a 500 that quotes the database.
#[tokio::test]
async fn a_send_too_big_to_store_is_a_clear_client_error() {
    let mut vars = shared_settings();
    // The default MAX_BODY_BYTES (1 MiB), as deployed.
    vars.as_object_mut().unwrap().remove("MAX_BODY_BYTES");
    let worker = start_worker(vars).await;
    let client = TestClient::of(&worker);
    let key = unique("toobig");
    let ch = client
        .callback_channel(
            &format!("/status/{key}?code=200"),
            json!({"body": "@v@v@v", "variables": ["v"], "retry": fast(1)}),
        )
        .await;
    let (status, answer) = client
        .send(&ch, json!({"v": "x".repeat(900_000)}), None)
        .await;
    let message = answer["error_message"].as_str().unwrap_or_default();
    assert!(
        status.is_client_error(),
        "{status}: {}",
        &message[..message.len().min(200)]
    );
    assert!(!message.contains("D1"), "{message}");
    assert!(receiver().hits(&key).is_empty());
}
