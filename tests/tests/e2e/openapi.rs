//! The OpenAPI document (docs/openapi.json) against the route table and the
//! real worker: every route of `ROUTES` is documented and nothing else is,
//! the document is OpenAPI 3.1 with every `$ref` resolving, and the worker
//! serves exactly this file at `GET /openapi.json`.
//!
//! Conventions the document follows, checked here:
//! - A route of method `*` (any method) is a path item with at least `get`
//!   and `post`.
//! - `LOOKUP` (not an OpenAPI method; workerd refuses it) is the `post`
//!   operation of its path carrying `x-lookup: true` and a header parameter
//!   `X-HTTP-Method-Override` whose schema's `enum` holds `"LOOKUP"`.
//! - Path templates are compared with parameter names normalised away
//!   (`{id}` and `{channel_id}` are the same segment).
//! - A last segment `{path}` stands for one or more segments (the console's
//!   files, which may lie in folders).
//!
//! The route table is also checked against the router itself
//! (`syncbridge_core::route::route`), which serves requests: every
//! documented operation reaches a route, and every request the router
//! accepts (from a set of probes around each route) is one `ROUTES` lists.
//! The router serves `HEAD` as `GET`, and its collection also with a
//! trailing slash; the table lists neither.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use syncbridge_core::route::{route, Route, ROUTES};
use syncbridge_tests::harness::client;
use syncbridge_tests::worker::repo_root;

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    let path = repo_root().join("docs/openapi.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("docs/openapi.json is not JSON: {e}"))
}

/// `/a/{x}/b/{y}` → `/a/{}/b/{}`.
fn normalise(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            c => out.push(c),
        }
    }
    out
}

fn is_lookup(op: &Value) -> bool {
    let overrides_to_lookup = op["parameters"].as_array().into_iter().flatten().any(|p| {
        p["in"] == "header"
            && p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("X-HTTP-Method-Override"))
            && p["schema"]["enum"]
                .as_array()
                .is_some_and(|e| e.contains(&json!("LOOKUP")))
    });
    op["x-lookup"] == json!(true) && overrides_to_lookup
}

/// Normalised path → upper-case methods the document gives it (LOOKUP by the convention above).
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    for (path, item) in paths {
        let methods = out.entry(normalise(path)).or_default();
        for m in HTTP_METHODS {
            if let Some(op) = item.get(m) {
                methods.insert(m.to_ascii_uppercase());
                if m == "post" && is_lookup(op) {
                    methods.insert("LOOKUP".into());
                }
            }
        }
        // A lookup marker anywhere else would be a convention the test does not know.
        for m in HTTP_METHODS.iter().filter(|m| **m != "post") {
            assert!(
                item.get(*m).is_none_or(|op| op.get("x-lookup").is_none()),
                "{path}: x-lookup belongs on the post operation only"
            );
        }
    }
    out
}

/// Normalised path → methods of `ROUTES` (`*` kept as is).
fn routed() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (method, path) in ROUTES {
        out.entry(normalise(path))
            .or_default()
            .insert(method.to_string());
    }
    out
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let doc = documented(&document());
    let routes = routed();
    let mut problems = Vec::new();
    for (path, methods) in &routes {
        let Some(have) = doc.get(path) else {
            problems.push(format!("{path}: in ROUTES, missing from the document"));
            continue;
        };
        if methods.contains("*") {
            assert_eq!(methods.len(), 1, "{path}: `*` and other methods in ROUTES");
            for m in ["GET", "POST"] {
                if !have.contains(m) {
                    problems.push(format!(
                        "{path}: any method is routed, {m} is not documented"
                    ));
                }
            }
            if have.contains("LOOKUP") {
                problems.push(format!("{path}: LOOKUP documented on an any-method route"));
            }
            continue;
        }
        for m in methods.difference(have) {
            problems.push(format!("{m} {path}: in ROUTES, missing from the document"));
        }
        for m in have.difference(methods) {
            problems.push(format!("{m} {path}: documented, not in ROUTES"));
        }
    }
    for path in doc.keys().filter(|p| !routes.contains_key(*p)) {
        problems.push(format!("{path}: documented, not in ROUTES"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_path_parameters_of_every_route_are_declared() {
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for m in HTTP_METHODS {
            let Some(op) = item.get(m) else { continue };
            let own = op["parameters"].as_array().cloned().unwrap_or_default();
            let declared: BTreeSet<String> = shared
                .iter()
                .chain(&own)
                .map(|p| resolve(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                .collect();
            let wanted: BTreeSet<String> = in_template.iter().map(|s| s.to_string()).collect();
            assert_eq!(declared, wanted, "{m} {path}: path parameters");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{m} {path}: no responses"
            );
            assert!(op["summary"].is_string(), "{m} {path}: no summary");
        }
    }
}

/// Follows a local `$ref` (one level), or returns the value itself.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => pointer(doc, r).unwrap_or_else(|| panic!("$ref {r} does not resolve")),
        None => v,
    }
}

/// A local reference `#/a/b~1c` → the value it names.
fn pointer<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let p = reference.strip_prefix('#')?;
    if p.is_empty() {
        return Some(doc);
    }
    // serde_json's pointer unescapes ~1 and ~0 itself; percent-escapes are not used here.
    doc.pointer(p)
}

fn collect_refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "$ref" {
                    if let Some(r) = child.as_str() {
                        out.push((at.clone(), r));
                    }
                }
                collect_refs(child, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(
        version.starts_with("3.1.") && version[4..].bytes().all(|b| b.is_ascii_digit()),
        "openapi is {version}, want 3.1.x"
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert!(doc["paths"].is_object());

    let mut refs = Vec::new();
    collect_refs(&doc, String::new(), &mut refs);
    assert!(!refs.is_empty(), "the document uses no $ref at all?");
    let broken: Vec<String> = refs
        .iter()
        .filter(|(_, r)| pointer(&doc, r).is_none())
        .map(|(at, r)| format!("{at}: {r}"))
        .collect();
    assert!(broken.is_empty(), "unresolved $ref:\n{}", broken.join("\n"));

    // Every security requirement names a declared scheme.
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    assert_eq!(schemes["adminBearer"]["type"], "http");
    assert_eq!(schemes["adminBearer"]["scheme"], "bearer");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in HTTP_METHODS {
            let Some(op) = item.get(m) else { continue };
            for req in op["security"].as_array().into_iter().flatten() {
                for name in req.as_object().unwrap().keys() {
                    assert!(
                        schemes.contains_key(name),
                        "{m} {path}: unknown scheme {name}"
                    );
                }
            }
            if path.starts_with("/rest/") {
                assert!(
                    op["security"].as_array().is_some_and(|s| !s.is_empty()),
                    "{m} {path}: the channel API needs a security requirement"
                );
            }
        }
    }
    // Operation ids are unique.
    let mut ids = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for m in HTTP_METHODS {
            if let Some(id) = item.get(m).and_then(|op| op["operationId"].as_str()) {
                assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
            }
        }
    }
}

#[tokio::test]
async fn the_worker_serves_exactly_this_document() {
    let resp = client().get("/openapi.json").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let served: Value = resp.json().await.unwrap();
    assert!(
        served == document(),
        "GET /openapi.json differs from docs/openapi.json: rebuild the worker (make build)"
    );
}

/// A path template with every parameter replaced by a sample value.
fn instantiate(template: &str) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some("id" | "channel_id") => "b4680fbe-016c-4d6f-9d6b-50e54938780c".to_string(),
                Some(name) => format!("sample-{name}"),
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Paths the router serves as another: the collection with a trailing slash.
const ALIASES: [(&str, &str); 1] = [(
    "/rest/v1/service/integration_points/",
    "/rest/v1/service/integration_points",
)];

/// Does `path` fall under `template`? A parameter matches one non-empty
/// segment; a route of method `*`, and a template ending in `{path}`, also
/// take any path below it.
fn under(template: &str, path: &str, any_method: bool) -> bool {
    let any_method = any_method || template.ends_with("/{path}");
    let path = ALIASES
        .iter()
        .find(|(alias, _)| *alias == path)
        .map_or(path, |(_, canonical)| canonical);
    let wanted: Vec<&str> = template.split('/').collect();
    let given: Vec<&str> = path.split('/').collect();
    if given.len() < wanted.len() || (!any_method && given.len() != wanted.len()) {
        return false;
    }
    wanted.iter().zip(&given).all(|(want, got)| {
        if want.starts_with('{') {
            !got.is_empty()
        } else {
            want == got
        }
    })
}

/// The entries of `ROUTES` that take `method` on `path`.
fn routes_taking(method: &str, path: &str) -> Vec<(&'static str, &'static str)> {
    let method = if method == "HEAD" { "GET" } else { method };
    ROUTES
        .iter()
        .filter(|(routed, template)| {
            (*routed == "*" || *routed == method) && under(template, path, *routed == "*")
        })
        .copied()
        .collect()
}

#[test]
fn every_documented_operation_is_routed() {
    let doc = document();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = instantiate(path);
        for m in HTTP_METHODS {
            let Some(op) = item.get(m) else { continue };
            let mut methods = vec![m.to_ascii_uppercase()];
            if m == "post" && is_lookup(op) {
                methods.push("LOOKUP".into());
            }
            for method in methods {
                let matched = route(&method, &concrete);
                if matches!(matched, Route::NotFound | Route::MethodNotAllowed { .. }) {
                    problems.push(format!(
                        "{method} {path} ({concrete}): routed to {matched:?}"
                    ));
                    continue;
                }
                // It reaches the route the document names, or the any-method
                // route it lies below (subscriptions live under a channel's URL).
                let template = matched.template();
                let same = normalise(template) == normalise(path);
                let below = ROUTES.iter().any(|(routed, any)| {
                    *routed == "*" && *any == template && under(any, &concrete, true)
                });
                if !same && !below {
                    problems.push(format!("{method} {path}: reaches {template}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Requests around every route: the route itself, each method, a trailing
/// slash, a segment more or fewer, an empty parameter.
fn probes() -> Vec<(String, String)> {
    let methods = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "LOOKUP",
    ];
    let mut paths = BTreeSet::new();
    for (_, template) in ROUTES {
        let concrete = instantiate(template);
        paths.insert(concrete.clone());
        paths.insert(format!("{concrete}/"));
        paths.insert(format!("{concrete}/extra"));
        paths.insert(format!("{concrete}/extra/deeper"));
        if let Some((parent, _)) = concrete.rsplit_once('/') {
            paths.insert(if parent.is_empty() {
                "/".into()
            } else {
                parent.to_string()
            });
        }
        paths.insert(
            template
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        ""
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
    for extra in [
        "/",
        "/api",
        "/api/1",
        "/rest/v1/service",
        "/ws/token/v1",
        "/api/token/v1",
        "/api/webrequest",
    ] {
        paths.insert(extra.to_string());
    }
    paths
        .into_iter()
        .flat_map(|path| {
            methods
                .iter()
                .map(move |method| (method.to_string(), path.clone()))
        })
        .collect()
}

#[test]
fn every_request_the_router_accepts_is_in_the_route_table() {
    let mut problems = Vec::new();
    let probes = probes();
    assert!(probes.len() > 500, "{} probes", probes.len());
    for (method, path) in &probes {
        match route(method, path) {
            Route::NotFound => {
                if !routes_taking(method, path).is_empty() {
                    problems.push(format!("{method} {path}: in ROUTES, not routed"));
                }
            }
            Route::MethodNotAllowed { allowed } => {
                // A known path: ROUTES lists it, without this method, and
                // `Allow` names exactly the methods ROUTES gives it.
                let listed: BTreeSet<&str> = ROUTES
                    .iter()
                    .filter(|(routed, template)| *routed != "*" && under(template, path, false))
                    .map(|(routed, _)| *routed)
                    .collect();
                let allowed: BTreeSet<&str> = allowed.split(", ").collect();
                if listed.is_empty() || listed.contains(method.as_str()) || listed != allowed {
                    problems.push(format!(
                        "{method} {path}: Allow {allowed:?}, ROUTES {listed:?}"
                    ));
                }
            }
            matched => {
                let taking = routes_taking(method, path);
                if !taking.iter().any(|(_, t)| *t == matched.template()) {
                    problems.push(format!(
                        "{method} {path}: served as {} ({matched:?}), ROUTES has {taking:?}",
                        matched.template()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
