//! `parse_config`: fields and placeholders.

use super::*;

// ---------------------------------------------------------------------------
// parse_config: fields

#[test]
fn empty_object_gives_the_defaults() {
    let c = parse(json!({}));
    assert_eq!(c.method, HttpMethod::Post);
    assert_eq!(c.headers, "");
    assert_eq!(c.body, "");
    assert!(c.variables.is_empty());
    assert_eq!(c.retry, RetryPolicy::default());
    assert_eq!(c.retry.schedule, Schedule::Interval);
    assert_eq!(c.retry.interval_s, DEFAULT_INTERVAL_S);
    assert_eq!(c.retry.interval_s, 300);
    assert_eq!(c.retry.max_attempts, DEFAULT_MAX_ATTEMPTS);
    assert_eq!(c.retry.max_attempts, 10);
    assert_eq!(c.retry.jitter, 0.0);
    assert_eq!(c.retry.success, Success::Only200);
    assert_eq!(c.signing_secret, "");
    assert_eq!(c.process_key, "");
}

#[test]
fn not_an_object_is_refused() {
    for v in [json!(null), json!("x"), json!([]), json!(1), json!(true)] {
        assert_400(parse_config(&v), &["opts.callback", "object"]);
    }
}

#[test]
fn unknown_keys_are_named() {
    assert_400(
        parse_config(&json!({"colour": "red"})),
        &["opts.callback.colour", "not a known field", "method"],
    );
    assert_400(
        parse_config(&json!({"retry": {"backoff": 2}})),
        &[
            "opts.callback.retry.backoff",
            "not a known field",
            "interval_s",
        ],
    );
}

#[test]
fn nulls_and_wrong_types_are_refused() {
    for key in ["method", "headers", "body", "signing_secret", "process_key"] {
        let name = format!("opts.callback.{key}");
        assert_400(
            parse_config(&json!({ key: null })),
            &[&name, "cannot be null"],
        );
        assert_400(parse_config(&json!({ key: 5 })), &[&name, "string"]);
    }
    assert_400(
        parse_config(&json!({"variables": null})),
        &["opts.callback.variables", "null"],
    );
    assert_400(
        parse_config(&json!({"variables": "a,b"})),
        &["opts.callback.variables", "array"],
    );
    assert_400(
        parse_config(&json!({"retry": null})),
        &["opts.callback.retry", "null"],
    );
    assert_400(
        parse_config(&json!({"retry": 300})),
        &["opts.callback.retry", "object"],
    );
}

#[test]
fn method_is_normalised_to_upper_case() {
    for (given, want) in [
        ("get", HttpMethod::Get),
        ("Post", HttpMethod::Post),
        ("PUT", HttpMethod::Put),
        ("patch", HttpMethod::Patch),
    ] {
        assert_eq!(parse(json!({ "method": given })).method, want);
        assert_eq!(
            serde_json::to_value(parse(json!({ "method": given }))).unwrap()["method"],
            given.to_uppercase()
        );
    }
    for bad in ["DELETE", "HEAD", "", " POST", "OPTIONS"] {
        assert_400(
            parse_config(&json!({ "method": bad })),
            &["opts.callback.method", "GET, POST, PUT or PATCH"],
        );
    }
}

#[test]
fn corteos_header_lines_parse() {
    let headers = "Accept-Encoding: gzip,deflate\r\n\
                   Content-Type: text/xml;charset=UTF-8\r\n\
                   \r\n\
                   SOAPAction: http://sap.com/xi/WebService/soap1.1\r\n\
                   Authorization: Basic QsdfgSDGHFasdfSADFxaWM=\r\n";
    let c = parse(json!({"headers": headers}));
    assert_eq!(c.headers, headers, "kept as written");
    let r = render_ok(&c, json!({}));
    assert_eq!(
        r.headers,
        vec![
            ("Accept-Encoding".to_owned(), "gzip,deflate".to_owned()),
            (
                "Content-Type".to_owned(),
                "text/xml;charset=UTF-8".to_owned()
            ),
            (
                "SOAPAction".to_owned(),
                "http://sap.com/xi/WebService/soap1.1".to_owned()
            ),
            (
                "Authorization".to_owned(),
                "Basic QsdfgSDGHFasdfSADFxaWM=".to_owned()
            ),
        ]
    );
}

#[test]
fn header_lines_tolerate_blank_lines_indentation_and_empty_values() {
    let c = parse(json!({"headers": "\n\n  X-A:   one  \n\t\nX-Empty:\nX-Tab: a\tb\n   \n"}));
    let r = render_ok(&c, json!({}));
    assert_eq!(
        r.headers,
        vec![
            ("X-A".to_owned(), "one".to_owned()),
            ("X-Empty".to_owned(), String::new()),
            ("X-Tab".to_owned(), "a\tb".to_owned()),
        ]
    );
}

#[test]
fn bad_header_lines_are_refused_by_line_number() {
    let cases = [
        ("X-Ok: 1\nNoColonHere", "line 2"),
        ("X-Ok: 1\r\n\r\nBad Name: x", "line 3"),
        ("Name : x", "line 1"),
        (": no name", "line 1"),
        ("X-Ok: 1\nX-(paren): x", "line 2"),
        ("Ünï: x", "line 1"),
        ("@Var: x", "line 1"),
        ("X-A: 1\nX-B: 2\nX-C: 3\nX-D: has\u{1}control", "line 4"),
        ("X-A: has\rCR inside", "line 1"),
        ("X-A: has\u{0}NUL", "line 1"),
        ("X-A: has\u{7f}DEL", "line 1"),
    ];
    for (headers, line) in cases {
        let msg = assert_400(
            parse_config(&json!({ "headers": headers })),
            &["opts.callback.headers", line],
        );
        assert!(!msg.contains("control\u{1}"), "never echo a value: {msg}");
    }
}

#[test]
fn header_errors_do_not_echo_secret_values() {
    let msg = assert_400(
        parse_config(&json!({"headers": "Authorization: Basic s3cr3t\u{1}"})),
        &["line 1", "Authorization"],
    );
    assert!(!msg.contains("s3cr3t"), "{msg}");
}

#[test]
fn headers_the_gateway_sets_are_refused() {
    for name in ["Host", "content-length", "Transfer-Encoding", "CONNECTION"] {
        assert_400(
            parse_config(&json!({ "headers": format!("X-A: 1\n{name}: x") })),
            &["opts.callback.headers", "line 2", "set by the gateway"],
        );
    }
}

#[test]
fn templates_are_bounded() {
    let max = "x".repeat(MAX_TEMPLATE_BYTES);
    parse(json!({ "body": max }));
    assert_400(
        parse_config(&json!({ "body": format!("{max}x") })),
        &["opts.callback.body", &MAX_TEMPLATE_BYTES.to_string()],
    );
    assert_400(
        parse_config(&json!({ "headers": format!("X-A: {max}") })),
        &["opts.callback.headers", &MAX_TEMPLATE_BYTES.to_string()],
    );
}

#[test]
fn variables_must_be_unique_identifiers() {
    let c = parse(json!({"variables": ["id_Reserve", "_x", "A1", "EventType"]}));
    assert_eq!(c.variables, ["id_Reserve", "_x", "A1", "EventType"]);
    for (i, bad) in ["1abc", "my-var", "", "a b", "é", "a.b", "@x"]
        .into_iter()
        .enumerate()
    {
        let mut list: Vec<Value> = (0..i).map(|n| json!(format!("v{n}"))).collect();
        list.push(json!(bad));
        let field = format!("opts.callback.variables[{i}]");
        assert_400(
            parse_config(&json!({ "variables": list })),
            &[&field, "not a valid name"],
        );
    }
    assert_400(
        parse_config(&json!({"variables": ["a", "b", "a"]})),
        &["opts.callback.variables[2]", "repeats", "a"],
    );
    assert_400(
        parse_config(&json!({"variables": ["a", 5]})),
        &["opts.callback.variables[1]", "string"],
    );
    assert_400(
        parse_config(&json!({"variables": ["CallbackId"]})),
        &["opts.callback.variables[0]", "built in"],
    );
}

#[test]
fn retry_defaults_and_bounds() {
    let r = parse(json!({"retry": {}})).retry;
    assert_eq!(r, RetryPolicy::default());

    let r = parse(json!({"retry": {"interval_s": 60, "max_attempts": 3}})).retry;
    assert_eq!((r.interval_s, r.max_attempts), (60, 3));
    assert_eq!(r.schedule, Schedule::Interval);
    assert_eq!(r.jitter, 0.0, "interval keeps no jitter by default");

    let ok = [
        json!({"interval_s": 1}),
        json!({"interval_s": MAX_DELAY_S}),
        json!({"max_attempts": 1}),
        json!({"max_attempts": MAX_ATTEMPTS_LIMIT}),
        json!({"jitter": 0}),
        json!({"jitter": 1}),
        json!({"jitter": 0.5}),
        json!({"success": "200"}),
        json!({"success": "2xx"}),
        json!({"schedule": "interval"}),
        json!({"schedule": "exponential"}),
    ];
    for retry in ok {
        parse(json!({ "retry": retry }));
    }
    let bad = [
        (json!({"interval_s": 0}), "opts.callback.retry.interval_s"),
        (
            json!({"interval_s": MAX_DELAY_S + 1}),
            "opts.callback.retry.interval_s",
        ),
        (json!({"interval_s": 1.5}), "opts.callback.retry.interval_s"),
        (json!({"interval_s": -1}), "opts.callback.retry.interval_s"),
        (
            json!({"interval_s": "300"}),
            "opts.callback.retry.interval_s",
        ),
        (
            json!({"max_attempts": 0}),
            "opts.callback.retry.max_attempts",
        ),
        (
            json!({"max_attempts": MAX_ATTEMPTS_LIMIT + 1}),
            "opts.callback.retry.max_attempts",
        ),
        (json!({"jitter": -0.1}), "opts.callback.retry.jitter"),
        (json!({"jitter": 1.01}), "opts.callback.retry.jitter"),
        (json!({"jitter": "0.2"}), "opts.callback.retry.jitter"),
        (json!({"success": "201"}), "opts.callback.retry.success"),
        (json!({"success": "any"}), "opts.callback.retry.success"),
        (
            json!({"schedule": "linear"}),
            "opts.callback.retry.schedule",
        ),
        (json!({"schedule": null}), "opts.callback.retry.schedule"),
    ];
    for (retry, field) in bad {
        assert_400(parse_config(&json!({ "retry": retry })), &[field]);
    }
}

#[test]
fn retry_success_is_normalised() {
    assert_eq!(
        parse(json!({"retry": {"success": "2XX"}})).retry.success,
        Success::Any2xx
    );
    assert_eq!(
        parse(json!({"retry": {"success": 200}})).retry.success,
        Success::Only200
    );
    for (success, json) in [(Success::Any2xx, "2xx"), (Success::Only200, "200")] {
        assert_eq!(serde_json::to_value(success).unwrap(), json);
        assert_eq!(success.to_string(), json);
    }
}

#[test]
fn exponential_defaults_jitter_when_not_given() {
    let r = parse(json!({"retry": {"schedule": "exponential"}})).retry;
    assert_eq!(r.jitter, 0.2);
    assert_eq!(r.interval_s, 300);
    let r = parse(json!({"retry": {"schedule": "exponential", "jitter": 0}})).retry;
    assert_eq!(r.jitter, 0.0, "an explicit 0 is kept");
    let r = parse(json!({"retry": {"jitter": 0.5, "schedule": "exponential"}})).retry;
    assert_eq!(r.jitter, 0.5, "key order does not matter");
}

#[test]
fn a_parsed_config_parses_again_to_itself() {
    let secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
    let c = parse(json!({
        "method": "put",
        "headers": "Content-Type: application/json\nX-Id: @id",
        "body": "{\"id\": \"@id\", \"when\": \"@CallbackId\"}",
        "variables": ["id"],
        "retry": {"schedule": "exponential", "interval_s": 30, "max_attempts": 5, "success": "2xx"},
        "signing_secret": secret,
        "process_key": "0123456789abcdef"
    }));
    let again = parse(serde_json::to_value(&c).unwrap());
    assert_eq!(again, c);
    assert_eq!(again.retry.jitter, 0.2);
    assert_eq!(again.method, HttpMethod::Put);
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["method"], "PUT");
    assert_eq!(v["retry"]["schedule"], "exponential");
    assert_eq!(v["retry"]["success"], "2xx");
}

#[test]
fn signing_secret_must_be_whsec_base64_of_16_bytes() {
    for ok in [
        "",
        "whsec_AAECAwQFBgcICQoLDA0ODw==",
        "whsec_AAECAwQFBgcICQoLDA0ODw",
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
    ] {
        parse(json!({ "signing_secret": ok }));
    }
    for bad in [
        "whsec_AAECAwQFBgcICQoLDA0O",
        "AAECAwQFBgcICQoLDA0ODw==",
        "whsec_",
        "whsec_not base64 at all!!",
        "whsec_AAECAwQFBgcICQoLDA0ODw==x",
        "secret",
    ] {
        assert_400(
            parse_config(&json!({ "signing_secret": bad })),
            &["opts.callback.signing_secret", "whsec_"],
        );
    }
}

#[test]
fn process_key_is_empty_or_16_plus_printable_chars() {
    for ok in ["", "0123456789abcdef", "a-much-longer_key.with~symbols!"] {
        parse(json!({ "process_key": ok }));
    }
    for bad in [
        "0123456789abcde",
        "0123456789 abcdef",
        "0123456789abcdef\n",
        "\t0123456789abcdef",
        "ключключключключключ",
    ] {
        assert_400(
            parse_config(&json!({ "process_key": bad })),
            &["opts.callback.process_key", "16"],
        );
    }
}

// ---------------------------------------------------------------------------
// parse_config: placeholders

#[test]
fn placeholders_must_be_declared_or_built_in() {
    parse(json!({
        "body": "@CallbackId @EventType @EventDescription @{a}@!b @!{c}",
        "headers": "X-Event: @EventType",
        "variables": ["a", "b", "c"]
    }));
    let msg = assert_400(
        parse_config(&json!({
            "headers": "X-A: 1\nX-Trace: @trace",
            "body": "{\"id\": \"@id\", \"again\": \"@id\", \"d\": \"@declared\", \"x\": \"@!{raw_one}\"}",
            "variables": ["declared"]
        })),
        &[
            "@trace",
            "headers line 2",
            "@id",
            "body line 1",
            "@raw_one",
            "opts.callback.variables",
            "@@",
        ],
    );
    assert_eq!(msg.matches("@id ").count(), 1, "listed once: {msg}");
    assert!(!msg.contains("@declared"), "{msg}");
}

#[test]
fn an_email_needs_a_doubled_at() {
    let msg = assert_400(
        parse_config(&json!({"body": "mail a@b.com"})),
        &["@b", "@@"],
    );
    assert!(msg.contains("a@@b.com"), "the hint shows the fix: {msg}");
    let c = parse(json!({"body": "mail a@@b.com"}));
    assert_eq!(render_ok(&c, json!({})).body, "mail a@b.com");
}

#[test]
fn placeholders_are_case_sensitive_with_a_hint() {
    assert_400(
        parse_config(&json!({"body": "@eventtype"})),
        &["@eventtype", "did you mean @EventType"],
    );
    assert_400(
        parse_config(&json!({"body": "@ID", "variables": ["Id"]})),
        &["@ID", "did you mean @Id"],
    );
}

#[test]
fn malformed_placeholders_are_refused_with_their_position() {
    let cases = [
        ("@{unclosed", "not closed"),
        ("x\n  @{Name", "not closed"),
        ("@{}", "no name"),
        ("@!{}", "no name"),
        ("@!", "`@!` must be followed by a name"),
        ("@! x", "`@!` must be followed by a name"),
        ("@!1x", "`@!` must be followed by a name"),
        ("@!@x", "`@!` must be followed by a name"),
        ("trailing @", "@@"),
        ("a @ b", "@@"),
        ("price@5", "@@"),
        ("@1abc", "@@"),
        ("@-x", "@@"),
        ("@é", "@@"),
        ("@{a b}", "closed by `}`"),
        ("@{a-b}", "closed by `}`"),
        ("@{1a}", "must not start with a digit"),
    ];
    for (body, needle) in cases {
        let v = json!({ "body": body, "variables": ["a", "Name", "x"] });
        assert_400(parse_config(&v), &["opts.callback.body", needle]);
    }
    assert_400(
        parse_config(&json!({"body": "line one\nline two @{oops"})),
        &["line 2, column 10"],
    );
    assert_400(
        parse_config(&json!({"body": "ünï @"})),
        &["line 1, column 5"],
    );
    assert_400(
        parse_config(&json!({"headers": "X-A: 1\nX-B: @{", "variables": []})),
        &["opts.callback.headers", "line 2", "not closed"],
    );
}
