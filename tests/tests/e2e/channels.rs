//! The channel API, `/rest/v1/service/integration_points`: creating,
//! listing, reading, patching, deleting and looking channels up, with the
//! admin token, on real D1.

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use syncbridge_core::route::ROUTES;
use syncbridge_tests::harness::{
    assert_rest_answer, assert_rest_error, assert_sync_error, client, query_sqlite_files,
    shared_settings, start_worker, start_worker_opts, state_dir, stop_worker, url_encode,
    TestClient, ADMIN, API, LOGIN, MAX_BODY, PATIENCE,
};
use syncbridge_tests::unique;

#[tokio::test]
async fn every_channel_route_requires_the_admin_token() {
    let client = client();
    let id = client.create_channel(json!({"code": unique("auth")})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let routes: Vec<(&str, String)> = ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/rest/"))
        .map(|(m, p)| {
            let p = p.replace("{id}", &id);
            let p = p.replace("{request_id}", "00000000-0000-4000-8000-000000000000");
            (
                *m,
                p.replace("{delivery_id}", "00000000-0000-4000-8000-000000000000"),
            )
        })
        .collect();
    assert_eq!(routes.len(), 16, "the test must cover every channel route");
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
            let mut rb = client
                .http()
                .request(Method::from_bytes(m.as_bytes()).unwrap(), client.url(&path));
            if over {
                rb = rb.header("x-http-method-override", "LOOKUP");
            }
            if let Some(a) = auth {
                rb = rb.header("authorization", a);
            }
            let resp = rb.body("{}").send().await.unwrap();
            assert_eq!(resp.status(), 401, "{method} {path} with {auth:?}");
            assert_eq!(resp.headers()["www-authenticate"], "Bearer");
            let answer: Value = resp.json().await.unwrap();
            assert_eq!(answer["error_code"], 1401, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn create_returns_the_whole_entity_and_get_reads_it_back() {
    let client = client();
    let code = unique("full");
    let answer = client
        .create_channel(json!({
            "code": code, "type": "public", "url": "https://partner.example/in",
            "token_remote": "whsec_c2VjcmV0LXNpZ25pbmcta2V5", "token_remote2": "b",
            "recv_svcscriptcode": "corezoid:42", "send_svcscriptcode": "send_to_web",
            "opts": {"title": "Shop", "comment": "c", "allow_files_api": true, "issync": true,
                     "cors_origins": ["https://shop.example"], "corezoid_login": LOGIN},
        }))
        .await;
    let id = answer["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{answer}");
    assert_eq!(&id[14..15], "4", "a v4 UUID: {id}");
    let token = answer["token_local"].as_str().unwrap();
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    assert_eq!(answer["code"], code.as_str());
    assert_eq!(answer["opts"]["title"], "Shop");
    assert_eq!(answer["opts"]["issync"], true);
    let ct = answer["ext"]["ct"].as_str().unwrap();
    assert!(ct.ends_with('Z') && ct.contains('T'), "{ct}");
    assert_eq!(answer["ext"]["lwt"], answer["ext"]["ct"]);
    let keys: Vec<&str> = answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys[..4],
        ["id", "code", "type", "token_local"],
        "field order: {keys:?}"
    );

    let (status, got) = client
        .admin(Method::GET, &format!("{API}/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(got, answer);
    // Two channels never share a token.
    let other = client
        .create_channel(json!({"code": unique("other")}))
        .await;
    assert_ne!(other["token_local"], answer["token_local"]);
}

#[tokio::test]
async fn create_refuses_bad_fields_with_clear_errors() {
    let client = client();
    let taken = unique("taken");
    client.create_channel(json!({"code": taken})).await;
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
    for (body, want, needle) in cases {
        let (status, answer) = client.admin(Method::POST, API, Some(body.clone())).await;
        assert_rest_error(status, &answer, want);
        assert!(
            answer["error_message"].as_str().unwrap().contains(needle),
            "{body} -> {answer}"
        );
    }
    // Not JSON at all.
    let resp = client
        .http()
        .post(client.url(API))
        .bearer_auth(ADMIN)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 400, &["JSON"]).await;
    // Too big.
    let big = json!({"code": unique("big"), "opts": {"comment": "x".repeat(MAX_BODY)}});
    let (status, answer) = client.admin(Method::POST, API, Some(big)).await;
    let message = assert_rest_error(status, &answer, 413);
    assert!(message.contains(&MAX_BODY.to_string()), "{answer}");
}

#[tokio::test]
async fn list_filters_masks_orders_flattens_and_pages() {
    let client = client();
    // A family of channels only this test creates, told apart by opts.comment.
    let fam = unique("fam");
    for (i, (title, sync)) in [("b", true), ("a", false), ("c", true), ("d", true)]
        .iter()
        .enumerate()
    {
        client.create_channel(json!({"code": format!("{fam}-{i}"), "opts": {"title": title, "issync": sync, "comment": fam}})).await;
    }
    let list = |q: String| {
        let client = client.clone();
        async move {
            let (status, answer) = client.admin(Method::GET, &format!("{API}?{q}"), None).await;
            assert_eq!(status, 200, "{q}: {answer}");
            answer.as_array().unwrap().clone()
        }
    };
    let enc = |value: Value| url_encode(&value.to_string());
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
        let (status, answer) = client
            .admin(Method::GET, &format!("{API}?{bad}"), None)
            .await;
        assert_rest_error(status, &answer, 400);
    }
}

#[tokio::test]
async fn get_with_mask_and_flat_and_unknown_ids() {
    let client = client();
    let ch = client
        .create_channel(json!({"code": unique("get"), "opts": {"title": "T"}}))
        .await;
    let id = ch["id"].as_str().unwrap();
    let (status, answer) = client
        .admin(
            Method::GET,
            &format!("{API}/{id}?mask=code,opts.title&flat=1"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"code": ch["code"], "opts.title": "T"}));
    let (status, answer) = client
        .admin(
            Method::GET,
            &format!("{API}/00000000-0000-4000-8000-000000000000"),
            None,
        )
        .await;
    assert_rest_error(status, &answer, 404);
}

#[tokio::test]
async fn patch_merges_opts_and_refuses_fixed_fields() {
    let client = client();
    let ch = client
        .create_channel(
            json!({"code": unique("patch"), "opts": {"title": "old", "comment": "keep"}}),
        )
        .await;
    let id = ch["id"].as_str().unwrap();
    let path = format!("{API}/{id}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (status, answer) = client
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"token_remote": "00ea293c29f9dc30", "opts": {"title": "new"}})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_remote"], "00ea293c29f9dc30");
    assert_eq!(answer["opts"]["title"], "new");
    assert_eq!(answer["opts"]["comment"], "keep");
    assert_eq!(answer["ext"]["ct"], ch["ext"]["ct"]);
    assert_ne!(answer["ext"]["lwt"], ch["ext"]["lwt"]);
    assert_eq!(answer["token_local"], ch["token_local"]);

    for (body, field) in [
        (json!({"id": "x"}), "id"),
        (json!({"token_local": "a".repeat(32)}), "token_local"),
    ] {
        let (status, e) = client.admin(Method::PATCH, &path, Some(body)).await;
        assert_rest_error(status, &e, 400);
        assert!(e["error_message"].as_str().unwrap().contains(field), "{e}");
    }
    let other = client
        .create_channel(json!({"code": unique("patch-other")}))
        .await;
    let (status, e) = client
        .admin(Method::PATCH, &path, Some(json!({"code": other["code"]})))
        .await;
    assert_rest_error(status, &e, 409);
    let (status, e) = client
        .admin(
            Method::PATCH,
            &format!("{API}/00000000-0000-4000-8000-000000000000"),
            Some(json!({"url": ""})),
        )
        .await;
    assert_rest_error(status, &e, 404);
    // Nothing was changed by the refused patches.
    let (_, now) = client.admin(Method::GET, &path, None).await;
    assert_eq!(now, answer);
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let client = client();
    let ch = client.create_channel(json!({"code": unique("del")})).await;
    let path = format!("{API}/{}", ch["id"].as_str().unwrap());
    let (status, answer) = client.admin(Method::DELETE, &path, None).await;
    assert_eq!((status.as_u16(), answer), (204, Value::Null));
    let (status, answer) = client.admin(Method::GET, &path, None).await;
    assert_rest_error(status, &answer, 404);
    let (status, answer) = client.admin(Method::DELETE, &path, None).await;
    assert_rest_error(status, &answer, 404);
    // Its URL no longer takes webhooks.
    let resp = client
        .http()
        .post(client.hook(&ch))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 404, &["No channel"]).await;
}

#[tokio::test]
async fn lookup_by_id_code_and_token() {
    let client = client();
    let ch = client.create_channel(json!({"code": unique("look")})).await;
    for key in ["id", "code", "token_local"] {
        let (status, answer) = client.lookup(&ch[key].to_string()).await;
        assert_eq!(status, 200, "{key}: {answer}");
        assert_eq!(answer, json!([ch["id"]]), "{key}");
    }
    let (status, answer) = client.lookup("\"no-such-key\"").await;
    assert_rest_error(status, &answer, 404);
    assert_eq!(
        answer,
        json!({"error_code": 1404, "error_message": "Lookup failed"})
    );
    let (status, answer) = client.lookup("{\"code\": 1}").await;
    assert_rest_error(status, &answer, 400);
    // The raw LOOKUP method: workerd refuses it before the worker runs (501);
    // a runtime that passes it reaches the same handler, with the same answer.
    let resp = client
        .http()
        .request(Method::from_bytes(b"LOOKUP").unwrap(), client.url(API))
        .bearer_auth(ADMIN)
        .body(ch["code"].to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    match status {
        200 => assert_eq!(
            serde_json::from_str::<Value>(&text).ok(),
            Some(json!([ch["id"]])),
            "{text}"
        ),
        501 => assert!(text.contains("Unrecognized request method"), "{text}"),
        other => panic!("raw LOOKUP answered {other}: {text}"),
    }
}

#[tokio::test]
async fn unknown_rest_routes_and_methods_use_the_rest_error_shape() {
    let client = client();
    let resp = client
        .request(Method::PUT, API)
        .bearer_auth(ADMIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["allow"], "GET, POST, LOOKUP");
    assert_rest_answer(resp, 405, &["GET, POST, LOOKUP"]).await;
    let (status, answer) = client
        .admin(Method::GET, "/rest/v1/service/nope", None)
        .await;
    assert_rest_error(status, &answer, 404);
}

/// Only `POST` with `X-HTTP-Method-Override: LOOKUP` stands for another
/// method: every other override is ignored, and the request is taken as the
/// method it came with.
#[tokio::test]
async fn no_other_method_override_is_honoured() {
    let client = client();
    let ch = client
        .create_channel(json!({"code": unique("override")}))
        .await;
    let item = format!("{API}/{}", ch["id"].as_str().unwrap());
    // POST standing for DELETE (or PATCH) on a channel: a POST, which the item refuses.
    for method in ["DELETE", "PATCH", "GET"] {
        let resp = client
            .post(&item)
            .bearer_auth(ADMIN)
            .header("x-http-method-override", method)
            .json(&json!({"code": unique("renamed")}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["allow"], "GET, PATCH, DELETE", "{method}");
        assert_rest_answer(resp, 405, &["GET, PATCH, DELETE"]).await;
    }
    let (status, now) = client.admin(Method::GET, &item, None).await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now, ch, "an ignored override changed the channel");
    // LOOKUP only overrides POST: a GET carrying it is still the list.
    let resp = client
        .get(&format!(
            "{API}?filter={}",
            url_encode(&json!({"code": ch["code"]}).to_string())
        ))
        .bearer_auth(ADMIN)
        .header("x-http-method-override", "LOOKUP")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    assert_eq!(
        list,
        json!([ch]),
        "a GET with the LOOKUP override is a list"
    );
    // POST with an override other than LOOKUP on the collection is a create.
    let code = unique("still-a-create");
    let resp = client
        .post(API)
        .bearer_auth(ADMIN)
        .header("x-http-method-override", "GET")
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["code"], code.as_str(), "{created}");
}

/// Deleting a channel deletes its inbound request log with it (read from
/// the worker's D1 file, since no route shows a deleted channel's log).
#[tokio::test]
async fn delete_removes_the_request_log() {
    let dir = state_dir("delete-log");
    let worker = start_worker_opts(shared_settings(), Some(&dir), None).await;
    let client = TestClient::of(&worker);
    let kept = client.sync_channel("text", json!({})).await;
    let deleted = client.sync_channel("text", json!({})).await;
    for ch in [&kept, &deleted] {
        let resp = client.http().get(client.hook(ch)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(client.requests(ch, 1).await.len(), 1);
    }
    let logged = |id: &str| {
        query_sqlite_files(
            &dir.join("d1"),
            &format!("SELECT id FROM inbound_requests WHERE channel_id = '{id}'"),
        )
        .len()
    };
    assert_eq!(logged(kept["id"].as_str().unwrap()), 1);
    assert_eq!(logged(deleted["id"].as_str().unwrap()), 1);
    let path = format!("{API}/{}", deleted["id"].as_str().unwrap());
    let (status, answer) = client.admin(Method::DELETE, &path, None).await;
    assert_eq!((status.as_u16(), answer), (204, Value::Null));
    assert_eq!(
        logged(deleted["id"].as_str().unwrap()),
        0,
        "the log outlived its channel"
    );
    assert_eq!(
        logged(kept["id"].as_str().unwrap()),
        1,
        "another channel's log went too"
    );
    let (status, answer) = client
        .admin(Method::GET, &format!("{path}/requests"), None)
        .await;
    assert_rest_error(status, &answer, 404);
    stop_worker(worker).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The log of a channel's inbound requests pages by `offset` and `limit`:
/// 50 records by default, never more than 500 at once.
#[tokio::test]
async fn the_request_log_pages_50_by_default_and_500_at_most() {
    let _heavy = syncbridge_tests::harness::heavy().await;
    let client = client();
    let ch = client.sync_channel("text", json!({"issync": false})).await;
    let total = 501;
    let sent = futures::stream::iter(0..total)
        .map(|_| {
            let (client, hook) = (client.clone(), client.hook(&ch));
            async move { client.http().post(hook).send().await.unwrap().status() }
        })
        .buffer_unordered(16)
        .collect::<Vec<StatusCode>>()
        .await;
    assert!(sent.iter().all(|status| *status == 200), "{sent:?}");
    let path = format!("{API}/{}/requests", ch["id"].as_str().unwrap());
    let page = |query: &'static str| {
        let (client, path) = (client.clone(), path.clone());
        async move {
            let (status, answer) = client
                .admin(Method::GET, &format!("{path}{query}"), None)
                .await;
            assert_eq!(status, 200, "{query}: {answer}");
            answer.as_array().unwrap().len()
        }
    };
    // Each request is recorded once answered: wait for the 501st record.
    let start = Instant::now();
    while page("?offset=500&limit=1000").await == 0 {
        assert!(
            start.elapsed() < PATIENCE,
            "the 501 requests were not all recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(page("").await, 50, "the default page");
    assert_eq!(page("?limit=1000").await, 500, "limit is capped at 500");
    assert_eq!(page("?limit=500").await, 500);
    assert_eq!(page("?offset=500&limit=1000").await, 1, "the 501st record");
    assert_eq!(page("?offset=450").await, 50);
}

/// Without `ADMIN_TOKEN` the channel API is closed: every route answers a
/// JSON 500 that says so, and the worker logs a `{"log":"error"}` line for
/// it, as README's "Logs" promises for internal errors.
#[tokio::test]
async fn an_internal_error_is_logged_and_answered_json_500() {
    let mut vars = shared_settings();
    vars.as_object_mut().unwrap().remove("ADMIN_TOKEN");
    let worker = start_worker(vars).await;
    let client = TestClient::of(&worker);
    let resp = client.get(API).bearer_auth(ADMIN).send().await.unwrap();
    assert_rest_answer(resp, 500, &["ADMIN_TOKEN"]).await;
    assert!(
        worker
            .wait_for_log("\"status\":500", Duration::from_secs(10))
            .await,
        "no request line for the 500"
    );
    // The error line goes to stderr and the request line to stdout: read
    // apart, either can arrive first.
    assert!(
        worker
            .wait_for_log("\"log\":\"error\"", Duration::from_secs(10))
            .await,
        "no error line for the 500: {:?}",
        worker.logs()
    );
    let errors: Vec<Value> = worker
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|line| line["log"] == "error")
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "one {{\"log\":\"error\"}} line: {:?}",
        worker.logs()
    );
    assert_eq!(errors[0]["route"], API);
}

/// `ADMIN_TOKEN` must be at least 16 bytes: a worker given a shorter one is
/// misconfigured, and says so (naming the setting, never its value) instead
/// of opening the channel API with a guessable token.
#[tokio::test]
async fn a_short_admin_token_is_a_config_error() {
    let short = "short-token";
    let mut vars = shared_settings();
    vars["ADMIN_TOKEN"] = json!(short);
    let worker = start_worker(vars).await;
    let client = TestClient::of(&worker);
    let resp = client.get(API).bearer_auth(short).send().await.unwrap();
    let message = assert_rest_answer(resp, 500, &["ADMIN_TOKEN", "16"]).await;
    assert!(!message.contains(short), "{message}");
    let (status, answer) = client
        .call(&json!({"ops": [{"type": "create", "obj": "task", "conv_id": 1, "data": {}}]}))
        .await;
    let description = assert_sync_error(status, &answer, 500, "config_error");
    assert!(description.contains("ADMIN_TOKEN"), "{answer}");
    assert!(!description.contains(short), "{answer}");
    // The correct token of the other workers opens nothing here either.
    let resp = client.get(API).bearer_auth(ADMIN).send().await.unwrap();
    assert_rest_answer(resp, 500, &["ADMIN_TOKEN"]).await;
}
