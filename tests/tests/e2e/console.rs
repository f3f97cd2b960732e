//! The operator console's files (`/console/…`), served by the worker from
//! its static assets: the page, files in folders with their content types,
//! the security headers on every answer, the redirect of `/console`, and the
//! JSON 404 of anything that names no file.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use syncbridge_tests::harness::{client, shared_settings, start_worker_with_wrangler_toml};
use syncbridge_tests::harness::{stop_worker, TestClient};
use syncbridge_tests::worker::repo_root;

/// The headers every console answer carries, with what each must hold.
fn assert_secure(resp: &reqwest::Response, what: &str) {
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = h("content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(
            csp.split(';').any(|d| d.trim() == directive),
            "{what}: CSP {csp:?} lacks {directive:?}"
        );
    }
    assert!(!csp.contains("unsafe"), "{what}: CSP {csp:?}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn assert_not_found(c: &TestClient, path: &str) {
    let resp = c.get(path).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    assert_secure(&resp, path);
    assert!(
        content_type(&resp).starts_with("application/json"),
        "{path}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["proc"], "error", "{path}: {body}");
    assert_eq!(body["code"], "not_found", "{path}: {body}");
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy() {
    let c = client();
    let resp = c.get("/console/").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_secure(&resp, "/console/");
    assert_eq!(content_type(&resp), "text/html; charset=utf-8");
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap(),
        "no-cache"
    );
    let page = resp.text().await.unwrap();
    let source = std::fs::read_to_string(repo_root().join("build/public/console/index.html"))
        .expect("build/public/console/index.html (scripts/build.sh makes it)");
    assert_eq!(page, source, "the page is build/public/console/index.html");
    // The page itself obeys the policy: no inline script or style.
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script>"), "inline script in the page");
    assert!(!lower.contains("<style"), "inline style in the page");
    assert!(
        !lower.contains(" style="),
        "inline style attribute in the page"
    );
    // The page names no other origin.
    assert!(
        !lower.contains("//cdn") && !lower.contains("https://"),
        "{page}"
    );

    let head = c
        .request(Method::HEAD, "/console/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_secure(&head, "HEAD /console/index.html");
    assert_eq!(content_type(&head), "text/html; charset=utf-8");
}

#[tokio::test]
async fn console_without_a_slash_is_redirected() {
    let resp = client().get("/console").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        resp.headers().get("location").unwrap().to_str().unwrap(),
        "/console/"
    );
    assert_secure(&resp, "/console");
}

#[tokio::test]
async fn what_names_no_file_is_the_json_404() {
    let c = client();
    for path in [
        "/console/missing.html",
        "/console/missing.js",
        "/console/no-extension",
        "/console/index.exe",
        "/console/.hidden.html",
        "/console/a//index.html",
        "/console/folder/",
        "/console/%2e%2e%2fopenapi.json",
        "/console/..%2fopenapi.json",
        "/console/%69ndex.html",
        "/console/sub/../index.html.bak",
    ] {
        assert_not_found(&c, path).await;
    }
    let long = format!("/console/{}.js", "a".repeat(300));
    assert_not_found(&c, &long).await;
    // The console takes GET (and HEAD) only.
    let resp = c.post("/console/").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers().get("allow").unwrap(), "GET");
}

/// The built console may put files in folders: each is served with the
/// content type of its extension, under the same headers. A worker of its
/// own whose static assets are a folder made here.
#[tokio::test]
async fn files_in_folders_have_their_content_types() {
    let dir =
        std::env::temp_dir().join(format!("syncbridge-console-assets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files: [(&str, &[u8], &str); 6] = [
        (
            "index.html",
            b"<!doctype html><title>x</title>",
            "text/html; charset=utf-8",
        ),
        (
            "assets/app.js",
            b"export const x = 1;\n",
            "text/javascript; charset=utf-8",
        ),
        (
            "assets/chunks/part-1a2b.mjs",
            b"export {};\n",
            "text/javascript; charset=utf-8",
        ),
        (
            "assets/app.css",
            b"body{margin:0}\n",
            "text/css; charset=utf-8",
        ),
        (
            "img/logo.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "image/svg+xml",
        ),
        ("img/icon.png", b"\x89PNG\r\n\x1a\n", "image/png"),
    ];
    for (path, body, _) in files {
        let file = dir.join("console").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }
    let toml = std::fs::read_to_string(repo_root().join("wrangler.toml")).unwrap();
    let toml = toml.replace(
        "directory = \"build/public\"",
        &format!("directory = \"{}\"", dir.display()),
    );
    assert!(
        toml.contains(&dir.display().to_string()),
        "[assets] directory"
    );
    let worker = start_worker_with_wrangler_toml(shared_settings(), toml, None, None).await;
    let c = TestClient::of(&worker);
    for (path, body, want_type) in files {
        let resp = c.get(&format!("/console/{path}")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_secure(&resp, path);
        assert_eq!(content_type(&resp), want_type, "{path}");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), body, "{path}");
    }
    let index = c.get("/console/").send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(
        index.text().await.unwrap(),
        "<!doctype html><title>x</title>"
    );
    // A folder is no file; a file outside console/ is not reachable.
    assert_not_found(&c, "/console/assets").await;
    assert_not_found(&c, "/console/assets/").await;
    assert_not_found(&c, "/console/assets/missing.js").await;
    stop_worker(worker).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn service_info_tells_the_console_the_public_origin_logins_and_settings() {
    use syncbridge_tests::harness::{ADMIN, CALLBACK_SECRET, SECRET};
    let c = client();
    let (status, info) = c.admin(Method::GET, "/rest/v1/service/info", None).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["public_url"], c.base.as_str());
    assert_eq!(info["logins"], serde_json::json!(["other", "partner"]));
    assert_eq!(info["settings"]["REQUEST_LOG_BODY_BYTES"], 4096);
    assert_eq!(info["settings"]["WEBHOOK_MAX_WAIT_S"], 2);
    let text = info.to_string();
    for secret in [ADMIN, CALLBACK_SECRET, SECRET] {
        assert!(!text.contains(secret), "a secret in {text}");
    }
    let resp = c.get("/rest/v1/service/info").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = c
        .admin(Method::GET, "/rest/v1/service/info?x=1", None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], 1400);
    let resp = c
        .post("/rest/v1/service/info")
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}
