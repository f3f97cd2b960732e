//! Outbound callbacks: `opts.callback` validation, `@Name` templates
//! escaped per content type (JSON, XML/SOAP, form, GET query, raw), the
//! destination allow-list, Corteos's `@CallbackId`, and the retry policy
//! (schedules, jitter, `Retry-After`, 410, success codes, dead letters).

use serde_json::{json, Map, Value};
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::*;

// ---------------------------------------------------------------------------
// Helpers

use syncbridge_tests::assert_rest_err as assert_err;

#[track_caller]
fn assert_400<T: std::fmt::Debug>(result: Result<T, RestError>, needles: &[&str]) -> String {
    assert_err(result, 400, needles)
}

#[track_caller]
fn parse(v: Value) -> CallbackConfig {
    parse_config(&v).unwrap_or_else(|e| panic!("{v} should parse: {e:?}"))
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("vars must be an object"),
    }
}

const URL: &str = "https://hooks.example.com/corteos";
const CB_ID: &str = "638355968000000000";

#[track_caller]
fn render_ok(config: &CallbackConfig, v: Value) -> Rendered {
    render(config, URL, &vars(v), CB_ID).unwrap_or_else(|e| panic!("render failed: {e:?}"))
}

/// `application/x-www-form-urlencoded` decoding written independently of
/// the crate under test: `+` is a space, `%XX` a byte.
fn form_decode(input: &str) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

/// Values no template may break.
fn hostile() -> Vec<&'static str> {
    vec![
        "",
        "plain",
        "with \"quotes\" and 'apostrophes'",
        "back\\slash \\\" \\n",
        "line\nbreak\r\nand\ttab",
        "control \u{1}\u{1f}\u{7f}",
        "<tag attr=\"x\">&amp; </script>",
        "ünïcödé Привет 日本語",
        "emoji 🎉👍🏽 and \u{2028}\u{2029}",
        "100% + 1 = 2 & a=b; c?d#e/f",
        "@at @@ @{x} @!y",
        "   spaces   ",
    ]
}

/// Hostile values that XML 1.0 can carry (no C0 controls other than tab, LF, CR).
fn hostile_xml() -> Vec<&'static str> {
    hostile()
        .into_iter()
        .filter(|v| {
            !v.chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
        })
        .collect()
}

fn json_config(body: &str, variables: &[&str]) -> CallbackConfig {
    parse(json!({
        "headers": "Content-Type: application/json; charset=utf-8",
        "body": body,
        "variables": variables,
    }))
}

// ---------------------------------------------------------------------------
// parse_config: fields

#[test]
fn empty_object_gives_the_defaults() {
    let c = parse(json!({}));
    assert_eq!(c.method, "POST");
    assert_eq!(c.headers, "");
    assert_eq!(c.body, "");
    assert!(c.variables.is_empty());
    assert_eq!(c.retry, RetryPolicy::default());
    assert_eq!(c.retry.schedule, "interval");
    assert_eq!(c.retry.interval_s, DEFAULT_INTERVAL_S);
    assert_eq!(c.retry.interval_s, 300);
    assert_eq!(c.retry.max_attempts, DEFAULT_MAX_ATTEMPTS);
    assert_eq!(c.retry.max_attempts, 10);
    assert_eq!(c.retry.jitter, 0.0);
    assert_eq!(c.retry.success, "200");
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
        ("get", "GET"),
        ("Post", "POST"),
        ("PUT", "PUT"),
        ("patch", "PATCH"),
    ] {
        assert_eq!(parse(json!({ "method": given })).method, want);
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
    assert_eq!(r.schedule, "interval");
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
        "2xx"
    );
    assert_eq!(
        parse(json!({"retry": {"success": 200}})).retry.success,
        "200"
    );
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
    assert_eq!(again.method, "PUT");
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

// ---------------------------------------------------------------------------
// render: the Corteos SOAP example

const SOAP_HEADERS: &str = "Accept-Encoding: gzip,deflate\r\n\
Content-Type: text/xml;charset=UTF-8\r\n\
SOAPAction: http://sap.com/xi/WebService/soap1.1\r\n\
Authorization: Basic QsdfgSDGHFasdfSADFxaWM=";

const SOAP_BODY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:corteos">
   <soapenv:Header/>
   <soapenv:Body>
      <urn:ReserveCallback id="@id_Reserve">
         <CallbackId>@CallbackId</CallbackId>
         <EventType>@EventType</EventType>
         <Description>@EventDescription</Description>
         <ReserveState>@ReserveState</ReserveState>
      </urn:ReserveCallback>
   </soapenv:Body>
</soapenv:Envelope>"#;

fn soap_config() -> CallbackConfig {
    parse(json!({
        "method": "POST",
        "headers": SOAP_HEADERS,
        "body": SOAP_BODY,
        "variables": ["id_Reserve", "ReserveState"],
    }))
}

#[test]
fn corteos_soap_callback_renders() {
    let r = render(
        &soap_config(),
        URL,
        &vars(json!({
            "id_Reserve": "R-1001",
            "ReserveState": "Confirmed",
            "EventType": "ReserveChanged",
        })),
        &callback_id(1_700_000_000_000),
    )
    .unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(r.url, URL);
    assert_eq!(r.headers.len(), 4);
    assert_eq!(r.headers[3].0, "Authorization");
    let want = SOAP_BODY
        .replace("@id_Reserve", "R-1001")
        .replace("@CallbackId", "638355968000000000")
        .replace("@EventType", "ReserveChanged")
        .replace("@EventDescription", "")
        .replace("@ReserveState", "Confirmed");
    assert_eq!(r.body, want);
}

#[test]
fn corteos_soap_callback_escapes_hostile_values() {
    let r = render_ok(
        &soap_config(),
        json!({
            "id_Reserve": "\"><evil attr='1'>",
            "ReserveState": "a & b < c > d",
            "EventDescription": "line1\r\nline2 🎉",
        }),
    );
    assert!(r
        .body
        .contains(r#"id="&quot;&gt;&lt;evil attr=&apos;1&apos;&gt;""#));
    assert!(r
        .body
        .contains("<ReserveState>a &amp; b &lt; c &gt; d</ReserveState>"));
    assert!(r
        .body
        .contains("<Description>line1&#13;\nline2 🎉</Description>"));
    assert!(!r.body.contains("<evil"));
}

// ---------------------------------------------------------------------------
// render: JSON

#[test]
fn json_templates_round_trip_every_hostile_value() {
    let c = json_config(
        r#"{"id": "@id", "pair": "@{a}-@{b}", "callback": "@CallbackId", "type": "@EventType"}"#,
        &["id", "a", "b"],
    );
    for value in hostile() {
        let r = render_ok(
            &c,
            json!({"id": value, "a": value, "b": value, "EventType": value}),
        );
        let parsed: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("invalid JSON for {value:?}: {e}\n{}", r.body));
        assert_eq!(
            parsed,
            json!({
                "id": value,
                "pair": format!("{value}-{value}"),
                "callback": CB_ID,
                "type": value,
            }),
            "value {value:?}"
        );
    }
}

#[test]
fn json_escaping_is_serde_json_string_escaping() {
    let c = json_config(r#""@v""#, &["v"]);
    for value in hostile() {
        let r = render_ok(&c, json!({ "v": value }));
        assert_eq!(r.body, serde_json::to_string(value).unwrap());
    }
    let r = render_ok(&c, json!({"v": "q\"b\\n\n\u{1}"}));
    assert_eq!(r.body, r#""q\"b\\n\n\u0001""#);
}

#[test]
fn json_content_types_are_recognised() {
    for ct in [
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
        "application/problem+json;charset=UTF-8",
        "text/json",
        "application/x-json",
    ] {
        let c = parse(json!({
            "headers": format!("content-type: {ct}"),
            "body": "\"@v\"",
            "variables": ["v"]
        }));
        let r = render_ok(&c, json!({"v": "a\"b"}));
        assert_eq!(r.body, r#""a\"b""#, "content type {ct}");
    }
}

#[test]
fn non_string_values_are_json_text() {
    let c = parse(json!({"headers": "Content-Type: text/plain", "body": "@v", "variables": ["v"]}));
    for (value, want) in [
        (json!(42), "42"),
        (json!(-1.5), "-1.5"),
        (json!(true), "true"),
        (json!(false), "false"),
        (json!(null), "null"),
        (json!({"b": 1, "a": [1, "x"]}), r#"{"b":1,"a":[1,"x"]}"#),
        (json!([]), "[]"),
    ] {
        assert_eq!(render_ok(&c, json!({ "v": value })).body, want);
    }
}

#[test]
fn json_objects_in_quotes_become_json_strings_and_raw_ones_embed() {
    let c = json_config(
        r#"{"as_string": "@obj", "embedded": @!obj, "n": @n, "flag": @!flag}"#,
        &["obj", "n", "flag"],
    );
    let obj = json!({"note": "say \"hi\"\n", "list": [1, 2, {"x": null}]});
    let r = render_ok(&c, json!({"obj": obj, "n": 7, "flag": true}));
    let parsed: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(parsed["as_string"], json!(obj.to_string()));
    assert_eq!(parsed["embedded"], obj);
    assert_eq!(parsed["n"], json!(7));
    assert_eq!(parsed["flag"], json!(true));
}

// ---------------------------------------------------------------------------
// render: XML

#[test]
fn xml_escaping_covers_the_five_characters() {
    let c = parse(json!({
        "headers": "Content-Type: application/xml",
        "body": "<a v=\"@v\">@v</a>",
        "variables": ["v"]
    }));
    let r = render_ok(&c, json!({"v": "<a & 'b' \"c\">"}));
    assert_eq!(
        r.body,
        "<a v=\"&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;\">&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;</a>"
    );
    let r = render_ok(&c, json!({"v": "tab\tnl\ncr\r ünï 🎉 &amp;"}));
    assert_eq!(
        r.body,
        "<a v=\"tab\tnl\ncr&#13; ünï 🎉 &amp;amp;\">tab\tnl\ncr&#13; ünï 🎉 &amp;amp;</a>"
    );
}

#[test]
fn xml_round_trips_every_carriable_hostile_value() {
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&#13;", "\r")
            .replace("&amp;", "&")
    }
    let c = parse(json!({
        "headers": "Content-Type: text/xml;charset=UTF-8",
        "body": "<v>@v</v>",
        "variables": ["v"]
    }));
    for value in hostile_xml() {
        let body = render_ok(&c, json!({ "v": value })).body;
        let inner = body
            .strip_prefix("<v>")
            .unwrap()
            .strip_suffix("</v>")
            .unwrap();
        assert!(!inner.contains(['<', '>', '"', '\'', '\r']), "{inner:?}");
        assert_eq!(unescape(inner), value);
    }
}

#[test]
fn xml_content_types_are_recognised() {
    for ct in [
        "text/xml",
        "text/xml;charset=UTF-8",
        "application/xml",
        "application/soap+xml; charset=utf-8",
        "application/atom+xml",
        "Application/XML",
    ] {
        let c = parse(json!({
            "headers": format!("Content-Type: {ct}"),
            "body": "@v",
            "variables": ["v"]
        }));
        assert_eq!(
            render_ok(&c, json!({"v": "<&>"})).body,
            "&lt;&amp;&gt;",
            "{ct}"
        );
    }
}

#[test]
fn xml_refuses_characters_it_cannot_carry() {
    let c = parse(json!({
        "headers": "Content-Type: text/xml",
        "body": "<v>@v</v>",
        "variables": ["v"]
    }));
    for bad in ["a\u{1}b", "\u{0}", "x\u{1f}", "\u{FFFE}"] {
        assert_err(
            render(&c, URL, &vars(json!({ "v": bad })), CB_ID),
            422,
            &["@v", "XML"],
        );
    }
    // The raw escape hatch does not check.
    let c = parse(json!({
        "headers": "Content-Type: text/xml",
        "body": "<v>@!v</v>",
        "variables": ["v"]
    }));
    assert_eq!(
        render_ok(&c, json!({"v": "a\u{1}b"})).body,
        "<v>a\u{1}b</v>"
    );
}

// ---------------------------------------------------------------------------
// render: forms and GET queries

#[test]
fn form_bodies_decode_back_to_the_values() {
    let c = parse(json!({
        "headers": "Content-Type: application/x-www-form-urlencoded",
        "body": "id=@id&note=@note&cb=@CallbackId&t=@EventType",
        "variables": ["id", "note"]
    }));
    for value in hostile() {
        let r = render_ok(
            &c,
            json!({"id": value, "note": format!("{value}{value}"), "EventType": value}),
        );
        assert!(!r.body.contains(' '), "{}", r.body);
        assert_eq!(
            form_decode(&r.body),
            vec![
                ("id".to_owned(), value.to_owned()),
                ("note".to_owned(), format!("{value}{value}")),
                ("cb".to_owned(), CB_ID.to_owned()),
                ("t".to_owned(), value.to_owned()),
            ],
            "value {value:?}"
        );
    }
}

#[test]
fn form_encoding_of_special_characters() {
    let c = parse(json!({
        "headers": "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        "body": "v=@v",
        "variables": ["v"]
    }));
    assert_eq!(
        render_ok(&c, json!({"v": "a b+c=d&e%f"})).body,
        "v=a+b%2Bc%3Dd%26e%25f"
    );
    assert_eq!(render_ok(&c, json!({"v": "é"})).body, "v=%C3%A9");
}

#[test]
fn get_appends_the_query_to_the_url() {
    let c = parse(json!({
        "method": "get",
        "headers": "Accept: application/json",
        "body": "id=@id&state=@state&cb=@CallbackId",
        "variables": ["id", "state"]
    }));
    let v = vars(json!({"id": "R 1&2", "state": "a+b=c"}));
    let query = "id=R+1%262&state=a%2Bb%3Dc&cb=638355968000000000";
    for (url, want) in [
        (
            "https://h.example.com/cb",
            format!("https://h.example.com/cb?{query}"),
        ),
        (
            "https://h.example.com/cb?k=1",
            format!("https://h.example.com/cb?k=1&{query}"),
        ),
        (
            "https://h.example.com/cb?",
            format!("https://h.example.com/cb?{query}"),
        ),
        (
            "https://h.example.com/cb?k=1&",
            format!("https://h.example.com/cb?k=1&{query}"),
        ),
        (
            "https://h.example.com/cb#frag",
            format!("https://h.example.com/cb?{query}#frag"),
        ),
    ] {
        let r = render(&c, url, &v, CB_ID).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.url, want);
        assert_eq!(r.body, "");
        assert_eq!(
            r.headers,
            vec![("Accept".into(), "application/json".into())]
        );
    }
}

#[test]
fn get_query_values_decode_back_whatever_the_content_type() {
    let c = parse(json!({
        "method": "GET",
        "headers": "Content-Type: application/json",
        "body": "?v=@v",
        "variables": ["v"]
    }));
    for value in hostile() {
        let r = render_ok(&c, json!({ "v": value }));
        let (base, query) = r.url.split_once('?').unwrap();
        assert_eq!(base, URL);
        assert!(!query.contains(['#', ' ', '?']), "{query}");
        assert_eq!(form_decode(query), vec![("v".to_owned(), value.to_owned())]);
    }
}

#[test]
fn get_without_a_template_keeps_the_url() {
    let c = parse(json!({"method": "GET"}));
    let r = render_ok(&c, json!({}));
    assert_eq!((r.url.as_str(), r.body.as_str()), (URL, ""));
}

// ---------------------------------------------------------------------------
// render: syntax and variables

#[test]
fn other_content_types_get_values_as_is() {
    for headers in ["Content-Type: text/plain", "X-Other: 1", ""] {
        let c = parse(json!({"headers": headers, "body": "[@v]", "variables": ["v"]}));
        for value in hostile() {
            assert_eq!(
                render_ok(&c, json!({ "v": value })).body,
                format!("[{value}]")
            );
        }
    }
}

#[test]
fn placeholder_syntax() {
    let c = parse(json!({
        "headers": "Content-Type: text/plain",
        "body": "@{Name}suffix|@Name_x|@Name.x|@@Name|@@@Name|@!{Name}!|@!Name|a@@b",
        "variables": ["Name", "Name_x"]
    }));
    let r = render_ok(&c, json!({"Name": "N", "Name_x": "NX"}));
    assert_eq!(r.body, "Nsuffix|NX|N.x|@Name|@N|N!|N|a@b");
}

#[test]
fn the_longest_name_wins() {
    let msg = assert_400(
        parse_config(&json!({"body": "@Namesuffix", "variables": ["Name"]})),
        &["@Namesuffix"],
    );
    assert!(!msg.contains("did you mean"), "{msg}");
    let c =
        parse(json!({"body": "@Namesuffix @{Name}suffix", "variables": ["Name", "Namesuffix"]}));
    let r = render_ok(&c, json!({"Name": "short", "Namesuffix": "long"}));
    assert_eq!(r.body, "long shortsuffix");
}

#[test]
fn raw_placeholders_skip_escaping() {
    let c = json_config(r#"{"raw": @!v, "braced": @!{v}, "esc": "@v"}"#, &["v"]);
    let r = render_ok(&c, json!({"v": "\"x\""}));
    assert_eq!(r.body, r#"{"raw": "x", "braced": "x", "esc": "\"x\""}"#);
    let c = parse(json!({
        "headers": "Content-Type: application/x-www-form-urlencoded",
        "body": "a=@!v&b=@v",
        "variables": ["v"]
    }));
    assert_eq!(render_ok(&c, json!({"v": "x y"})).body, "a=x y&b=x+y");
}

#[test]
fn builtins() {
    let c = parse(json!({
        "headers": "Content-Type: text/plain",
        "body": "@CallbackId|@EventType|@EventDescription"
    }));
    assert_eq!(render_ok(&c, json!({})).body, format!("{CB_ID}||"));
    let r = render_ok(
        &c,
        json!({"EventType": "Paid", "EventDescription": "Paid in full", "CallbackId": "ignored"}),
    );
    assert_eq!(r.body, format!("{CB_ID}|Paid|Paid in full"));
}

#[test]
fn declared_builtins_become_required() {
    let c = parse(json!({"body": "@EventType", "variables": ["EventType"]}));
    assert_err(
        render(&c, URL, &Map::new(), CB_ID),
        422,
        &["missing", "EventType"],
    );
    assert_eq!(render_ok(&c, json!({"EventType": "X"})).body, "X");
}

#[test]
fn missing_variables_are_a_422_naming_them() {
    let c = parse(json!({
        "body": "@a @b @c",
        "variables": ["a", "b", "c", "unused"]
    }));
    let msg = assert_err(
        render(&c, URL, &vars(json!({"b": "x"})), CB_ID),
        422,
        &["a", "c", "unused"],
    );
    assert!(msg.contains("a, c, unused"), "{msg}");
    // Extra variables are ignored; null counts as given.
    let r = render_ok(
        &c,
        json!({"a": 1, "b": null, "c": "z", "unused": 0, "extra": "e"}),
    );
    assert_eq!(r.body, "1 null z");
}

#[test]
fn an_unvalidated_config_with_an_undeclared_placeholder_is_a_422() {
    let c = CallbackConfig {
        method: "post".into(),
        headers: String::new(),
        body: "@ghost".into(),
        variables: vec![],
        retry: RetryPolicy::default(),
        signing_secret: String::new(),
        process_key: String::new(),
    };
    assert_err(render(&c, URL, &Map::new(), CB_ID), 422, &["ghost"]);
    let r = render(&c, URL, &vars(json!({"ghost": "boo"})), CB_ID).unwrap();
    assert_eq!((r.method.as_str(), r.body.as_str()), ("POST", "boo"));
}

// ---------------------------------------------------------------------------
// render: headers

#[test]
fn header_values_are_substituted_raw_in_config_order() {
    let c = parse(json!({
        "headers": "Z-Last: @z\nContent-Type: application/json\nA-First: \"@a\" @CallbackId\nx-lower: @@ @EventType",
        "body": "{}",
        "variables": ["z", "a"]
    }));
    let r = render_ok(&c, json!({"z": "<&>", "a": "q\"uote", "EventType": "E"}));
    assert_eq!(
        r.headers,
        vec![
            ("Z-Last".to_owned(), "<&>".to_owned()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("A-First".to_owned(), format!("\"q\"uote\" {CB_ID}")),
            ("x-lower".to_owned(), "@ E".to_owned()),
        ]
    );
}

#[test]
fn header_injection_is_refused() {
    let c = parse(json!({
        "headers": "Content-Type: text/plain\nX-Ref: ref-@ref",
        "body": "ok",
        "variables": ["ref"]
    }));
    for bad in [
        "a\r\nX-Evil: 1",
        "a\nX-Evil: 1",
        "a\rb",
        "nul\u{0}",
        "\r\n\r\n<html>",
    ] {
        assert_err(
            render(&c, URL, &vars(json!({ "ref": bad })), CB_ID),
            422,
            &["X-Ref", "@ref"],
        );
    }
    // Tabs, unicode and other punctuation are fine.
    let r = render_ok(&c, json!({"ref": "a\tb ünï ;,=\"'"}));
    assert_eq!(r.headers[1].1, "ref-a\tb ünï ;,=\"'");
    // A multi-line value is fine in the body.
    let c = parse(json!({"body": "@ref", "variables": ["ref"]}));
    assert_eq!(render_ok(&c, json!({"ref": "a\r\nb"})).body, "a\r\nb");
}

#[test]
fn the_content_type_may_come_from_a_variable() {
    let c = parse(json!({
        "headers": "Content-Type: @ct",
        "body": "\"@v\"",
        "variables": ["ct", "v"]
    }));
    let r = render_ok(&c, json!({"ct": "application/json", "v": "a\"b"}));
    assert_eq!(r.body, r#""a\"b""#);
    let r = render_ok(&c, json!({"ct": "text/xml", "v": "a\"b"}));
    assert_eq!(r.body, "\"a&quot;b\"");
}

#[test]
fn methods_pass_through() {
    for m in ["POST", "PUT", "PATCH"] {
        let c = parse(json!({"method": m.to_lowercase(), "body": "b"}));
        let r = render_ok(&c, json!({}));
        assert_eq!(
            (r.method.as_str(), r.url.as_str(), r.body.as_str()),
            (m, URL, "b")
        );
    }
}

// ---------------------------------------------------------------------------
// callback_id

#[test]
fn callback_id_is_dotnet_ticks() {
    assert_eq!(callback_id(0), "621355968000000000");
    assert_eq!(callback_id(1), "621355968000010000");
    assert_eq!(callback_id(1_700_000_000_000), "638355968000000000");
    // 2015-10-21T07:28:00.123Z
    assert_eq!(callback_id(1_445_412_480_123), "635810092801230000");
    // Never overflows.
    assert_eq!(
        callback_id(u64::MAX),
        (u128::from(u64::MAX) * 10_000 + 621_355_968_000_000_000).to_string()
    );
    assert!(callback_id(1_700_000_000_001) > callback_id(1_700_000_000_000));
}

// ---------------------------------------------------------------------------
// check_destination

#[track_caller]
fn allowed(url: &str, list: &str) {
    if let Err(e) = check_destination(url, list) {
        panic!("{url} should be allowed by {list:?}: {e}");
    }
}

#[track_caller]
fn refused(url: &str, list: &str, needles: &[&str]) -> String {
    let e = check_destination(url, list)
        .err()
        .unwrap_or_else(|| panic!("{url} should be refused by {list:?}"));
    for needle in needles {
        assert!(e.contains(needle), "{e:?} should contain {needle:?}");
    }
    e
}

#[test]
fn an_empty_allow_list_refuses_everything() {
    for list in ["", "  ", " , ,\n"] {
        let e = refused("https://api.example.com/", list, &[]);
        assert_eq!(e, "no destination is allowed: set CALLBACK_ALLOWED_HOSTS");
    }
}

#[test]
fn exact_entries_match_only_their_host() {
    let list = "api.example.com";
    for url in [
        "https://api.example.com",
        "https://api.example.com/",
        "https://api.example.com/hook?x=1#f",
        "https://API.Example.COM/hook",
        "HTTPS://api.example.com/hook",
        "https://api.example.com:8443/hook",
        "https://api.example.com./hook",
        "https://api.example.com?x",
        "https://api.example.com#x",
    ] {
        allowed(url, list);
    }
    for url in [
        "https://example.com/",
        "https://x.api.example.com/",
        "https://api.example.com.evil.com/",
        "https://evilapi.example.com/",
        "https://api.example.co/",
    ] {
        refused(url, list, &["not allowed", "CALLBACK_ALLOWED_HOSTS"]);
    }
    allowed("https://api.example.com/", "API.EXAMPLE.COM");
    allowed("https://api.example.com/", "https://api.example.com/");
}

#[test]
fn wildcards_match_subdomains_at_any_depth_but_not_the_domain() {
    let list = "*.example.com";
    for url in [
        "https://a.example.com/",
        "https://a.b.c.example.com/x",
        "https://A.EXAMPLE.com:444/",
        "https://_dmarc.example.com/",
    ] {
        allowed(url, list);
    }
    for url in [
        "https://example.com/",
        "https://evil-example.com/",
        "https://notexample.com/",
        "https://example.com.evil.com/",
        "https://a.example.com.evil.com/",
        "https://a.example.co/",
    ] {
        refused(url, list, &["not allowed"]);
    }
    // With the bare domain listed too.
    allowed("https://example.com/", "*.example.com example.com");
}

#[test]
fn https_is_required_unless_the_entry_is_http() {
    let e = refused(
        "http://api.example.com/",
        "api.example.com",
        &[
            "http",
            "https",
            "http://api.example.com",
            "CALLBACK_ALLOWED_HOSTS",
        ],
    );
    assert!(e.contains("`http://api.example.com`"), "{e}");
    allowed("http://api.example.com/", "http://api.example.com");
    allowed("https://api.example.com/", "http://api.example.com");
    allowed("HTTP://API.example.com/", "HTTP://api.EXAMPLE.com");
    allowed("http://a.b.example.com/", "http://*.example.com");
    refused(
        "http://example.com/",
        "http://*.example.com",
        &["not allowed"],
    );
    // One matching http entry is enough.
    allowed(
        "http://a.example.com/",
        "*.example.com, http://a.example.com",
    );
    refused(
        "http://b.example.com/",
        "*.example.com, http://a.example.com",
        &["plain http"],
    );
}

#[test]
fn ports() {
    allowed("https://api.example.com:8443/", "api.example.com");
    allowed("http://localhost:8787/cb", "http://localhost");
    allowed("http://localhost:8787/cb", "http://localhost:8787");
    allowed("https://localhost:8787/cb", "http://localhost:8787");
    refused(
        "http://localhost:9000/",
        "http://localhost:8787",
        &["port 9000", "`http://localhost:9000`"],
    );
    refused("http://localhost/", "http://localhost:8787", &["port 80"]);
    allowed("http://localhost/", "http://localhost:80");
    allowed("https://api.example.com/", "api.example.com:443");
    allowed("https://a.example.com:8443/", "*.example.com:8443");
    for url in [
        "https://api.example.com:0/",
        "https://api.example.com:65536/",
        "https://api.example.com:-1/",
        "https://api.example.com:/",
        "https://api.example.com:8o/",
    ] {
        refused(url, "api.example.com", &["port"]);
    }
    allowed("https://api.example.com:65535/", "api.example.com");
}

#[test]
fn ipv6_literals() {
    allowed("https://[::1]/", "[::1]");
    allowed("https://[::1]:8443/x", "[::1]");
    allowed("https://[0:0:0:0:0:0:0:1]/", "[::1]");
    allowed("https://[::1]/", "::1");
    allowed("http://[2001:DB8::1]:8080/", "http://[2001:db8::1]");
    allowed("https://[2001:db8::1]:8443/", "[2001:db8::1]:8443");
    refused(
        "https://[2001:db8::1]:9/",
        "[2001:db8::1]:8443",
        &["port 9", "`[2001:db8::1]:9`"],
    );
    refused("http://[::1]/", "[::1]", &["plain http", "http://[::1]"]);
    refused("https://[::2]/", "[::1]", &["not allowed", "[::2]"]);
    refused("https://[::1/", "[::1]", &["invalid host"]);
    refused("https://[not:an:addr]/", "[::1]", &["invalid host"]);
    refused("https://[fe80::1%25eth0]/", "[fe80::1]", &["invalid host"]);
    // A wildcard never matches an address.
    refused("https://[::1]/", "*.1", &["ignored"]);
}

#[test]
fn ipv4_addresses_only_in_dotted_quad_form() {
    allowed("https://127.0.0.1/", "127.0.0.1");
    allowed("http://10.0.0.1:8080/", "http://10.0.0.1");
    refused("https://127.0.0.2/", "127.0.0.1", &["not allowed"]);
    for url in [
        "https://2130706433/",
        "https://127.1/",
        "https://0x7f.0.0.1/",
        "https://0177.0.0.1/",
        "https://127.0.0.256/",
    ] {
        refused(url, "127.0.0.1, *.0.1", &["IPv4"]);
    }
    // `*.0.0.1` is not an entry: wildcards are for names.
    refused("https://127.0.0.1/", "*.0.0.1", &["ignored", "*.0.0.1"]);
}

#[test]
fn userinfo_is_refused() {
    for url in [
        "https://user@api.example.com/",
        "https://user:pass@api.example.com/",
        "https://api.example.com@evil.com/",
        "https://api.example.com:443@evil.com/",
        "https://@api.example.com/",
    ] {
        refused(url, "api.example.com, evil.com", &["user"]);
    }
    // An @ after the authority is fine.
    allowed(
        "https://api.example.com/p@th?mail=a@b.com",
        "api.example.com",
    );
}

#[test]
fn malformed_urls_are_refused() {
    let list = "api.example.com, *.example.com";
    for url in [
        "api.example.com/hook",
        "//api.example.com/hook",
        "https:api.example.com",
        "https:/api.example.com",
        "https:///api.example.com",
        "https://",
        "https://:443/",
        "https://api.example.com /x",
        " https://api.example.com/",
        "https://api.example.com/\n",
        "https://api.exa\tmple.com/",
        "https://evil.com\\.example.com/",
        "https://evil.com\\@api.example.com/",
        "https://exämple.com/",
        "https://a..example.com/",
        "https://.example.com/",
        "https://evil.com%2f.example.com/",
        "https://a.example.com%00/",
        "ftp://api.example.com/",
        "javascript://api.example.com/",
        "",
    ] {
        refused(url, list, &[]);
    }
    refused("https://exämple.com/", "xn--exmple-cua.com", &["punycode"]);
    refused("ftp://api.example.com/", list, &["https://"]);
    refused("https:///x", list, &["no host"]);
    refused("api.example.com", list, &["absolute"]);
}

#[test]
fn list_separators_and_ignored_entries() {
    let list = " a.example.com,b.example.com\n\t*.c.example.org ,, http://d.example.net ";
    allowed("https://a.example.com/", list);
    allowed("https://b.example.com/", list);
    allowed("https://x.c.example.org/", list);
    allowed("http://d.example.net/", list);
    refused("http://a.example.com/", list, &["plain http"]);

    let list = "*, ftp://files.example.com, api.example.com/path, user@x.com, api.example.com";
    allowed("https://api.example.com/", list);
    let e = refused(
        "https://other.example.com/",
        list,
        &[
            "ignored",
            "`*`",
            "`ftp://files.example.com`",
            "`user@x.com`",
        ],
    );
    assert!(
        e.contains("add `other.example.com` or `*.example.com`"),
        "{e}"
    );
    let e = refused("https://any.example.com/", "*", &[]);
    assert!(
        e.starts_with("no destination is allowed: set CALLBACK_ALLOWED_HOSTS"),
        "{e}"
    );
    assert!(e.contains("`*`"), "{e}");
}

#[test]
fn refusals_say_what_to_add() {
    let e = refused("https://hooks.partner.io/cb", "api.example.com", &[]);
    assert!(
        e.contains("add `hooks.partner.io` or `*.partner.io` to CALLBACK_ALLOWED_HOSTS"),
        "{e}"
    );
    let e = refused("http://hooks.partner.io/cb", "api.example.com", &[]);
    assert!(e.contains("add `http://hooks.partner.io`"), "{e}");
    let e = refused("https://partner.io/cb", "api.example.com", &[]);
    assert!(e.contains("add `partner.io` to"), "no *.io suggestion: {e}");
}

// ---------------------------------------------------------------------------
// decide

fn policy(schedule: &str, interval_s: u64, max_attempts: u32, jitter: f64) -> RetryPolicy {
    RetryPolicy {
        schedule: schedule.into(),
        interval_s,
        max_attempts,
        jitter,
        success: "200".into(),
    }
}

fn retry(delay_s: u64) -> Verdict {
    Verdict::Retry { delay_s }
}

const NOW: u64 = 1_445_412_480 - 1000; // 1000 s before Wed, 21 Oct 2015 07:28:00 GMT

#[test]
fn corteos_defaults_retry_every_300_s_ten_times_on_anything_but_200() {
    let p = RetryPolicy::default();
    for attempt in 1..=9 {
        for status in [
            None,
            Some(500),
            Some(201),
            Some(204),
            Some(302),
            Some(404),
            Some(429),
        ] {
            assert_eq!(decide(&p, attempt, status, None, NOW, 0.7), retry(300));
        }
        assert_eq!(
            decide(&p, attempt, Some(200), None, NOW, 0.5),
            Verdict::Delivered
        );
    }
    assert_eq!(decide(&p, 10, Some(500), None, NOW, 0.0), Verdict::Dead);
    assert_eq!(decide(&p, 10, None, None, NOW, 0.0), Verdict::Dead);
    assert_eq!(decide(&p, 11, Some(500), None, NOW, 0.0), Verdict::Dead);
    assert_eq!(
        decide(&p, 10, Some(200), None, NOW, 0.0),
        Verdict::Delivered
    );
}

#[test]
fn gone_stops_at_once() {
    let p = RetryPolicy::default();
    for attempt in [1, 5, 10] {
        assert_eq!(
            decide(&p, attempt, Some(410), Some("60"), NOW, 0.0),
            Verdict::Stop
        );
    }
    let mut any = p.clone();
    any.success = "2xx".into();
    assert_eq!(decide(&any, 1, Some(410), None, NOW, 0.0), Verdict::Stop);
}

#[test]
fn success_200_versus_2xx() {
    let only = RetryPolicy::default();
    let any = RetryPolicy {
        success: "2xx".into(),
        ..RetryPolicy::default()
    };
    for (status, only_ok, any_ok) in [
        (200, true, true),
        (201, false, true),
        (202, false, true),
        (204, false, true),
        (299, false, true),
        (199, false, false),
        (300, false, false),
        (304, false, false),
        (400, false, false),
        (503, false, false),
    ] {
        let want = |ok| if ok { Verdict::Delivered } else { retry(300) };
        assert_eq!(
            decide(&only, 1, Some(status), None, NOW, 0.0),
            want(only_ok),
            "{status}"
        );
        assert_eq!(
            decide(&any, 1, Some(status), None, NOW, 0.0),
            want(any_ok),
            "{status}"
        );
    }
}

#[test]
fn interval_schedule_is_flat() {
    let p = policy("interval", 45, 100, 0.0);
    for attempt in 1..100 {
        assert_eq!(decide(&p, attempt, Some(500), None, NOW, 0.9), retry(45));
    }
    assert_eq!(decide(&p, 100, Some(500), None, NOW, 0.9), Verdict::Dead);
}

#[test]
fn exponential_schedule_doubles_up_to_the_cap() {
    let p = policy("exponential", 60, 100, 0.0);
    let table = [
        (1, 60),
        (2, 120),
        (3, 240),
        (4, 480),
        (5, 960),
        (6, 1920),
        (7, 3840),
        (8, 7680),
        (9, 15360),
        (10, 30720),
        (11, MAX_DELAY_S),
        (12, MAX_DELAY_S),
        (63, MAX_DELAY_S),
        (64, MAX_DELAY_S),
        (65, MAX_DELAY_S),
        (99, MAX_DELAY_S),
    ];
    for (attempt, want) in table {
        assert_eq!(
            decide(&p, attempt, None, None, NOW, 0.0),
            retry(want),
            "attempt {attempt}"
        );
    }
    let p = policy("exponential", MAX_DELAY_S, 5, 0.0);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.0), retry(MAX_DELAY_S));
    assert_eq!(decide(&p, 4, None, None, NOW, 0.0), retry(MAX_DELAY_S));
    assert_eq!(decide(&p, 5, None, None, NOW, 0.0), Verdict::Dead);
}

#[test]
fn jitter_adds_up_to_its_fraction() {
    let p = policy("interval", 300, 10, 0.2);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.0), retry(300));
    assert_eq!(decide(&p, 1, None, None, NOW, 0.5), retry(330));
    assert_eq!(decide(&p, 1, None, None, NOW, 0.999), retry(359));
    let p = policy("exponential", 100, 10, 0.2);
    assert_eq!(decide(&p, 3, None, None, NOW, 0.0), retry(400));
    assert_eq!(decide(&p, 3, None, None, NOW, 0.999), retry(479));
    for i in 0..1000 {
        let random = f64::from(i) / 1000.0;
        for attempt in 1..10 {
            let base = (100u64 << (attempt - 1)).min(MAX_DELAY_S);
            let Verdict::Retry { delay_s } = decide(&p, attempt, None, None, NOW, random) else {
                panic!("expected a retry");
            };
            assert!(delay_s >= base, "{delay_s} < {base}");
            assert!(
                delay_s < base + base / 5 + 1,
                "{delay_s} too long for {base}"
            );
            assert!(delay_s <= MAX_DELAY_S);
        }
    }
    // Full jitter, still capped.
    let p = policy("interval", MAX_DELAY_S, 10, 1.0);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.999), retry(MAX_DELAY_S));
    let p = policy("interval", 100, 10, 1.0);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.999), retry(199));
    // Out-of-range randomness is clamped, never panics or overflows.
    for random in [-1.0, 1.0, 2.0, f64::NAN, f64::INFINITY] {
        let Verdict::Retry { delay_s } = decide(&p, 1, None, None, NOW, random) else {
            panic!();
        };
        assert!((100..200).contains(&delay_s), "{random}: {delay_s}");
    }
}

#[test]
fn retry_after_in_seconds_wins_when_longer() {
    let p = RetryPolicy::default();
    for (header, want) in [
        ("600", 600),
        (" 600 ", 600),
        ("301", 301),
        ("300", 300),
        ("60", 300),
        ("0", 300),
        ("43200", MAX_DELAY_S),
        ("43201", MAX_DELAY_S),
        ("99999999999999999999999999", MAX_DELAY_S),
        ("", 300),
        ("-600", 300),
        ("600s", 300),
        ("6e2", 300),
        ("600.5", 300),
        ("soon", 300),
        ("+600", 300),
    ] {
        for status in [None, Some(429), Some(503)] {
            assert_eq!(
                decide(&p, 1, status, Some(header), NOW, 0.0),
                retry(want),
                "Retry-After {header:?}"
            );
        }
    }
    // Attempts used up: dead whatever the receiver asks.
    assert_eq!(
        decide(&p, 10, Some(503), Some("60"), NOW, 0.0),
        Verdict::Dead
    );
    // The comparison is with the jittered delay.
    let p = policy("interval", 300, 10, 0.2);
    assert_eq!(decide(&p, 1, None, Some("320"), NOW, 0.5), retry(330));
    assert_eq!(decide(&p, 1, None, Some("340"), NOW, 0.5), retry(340));
}

#[test]
fn retry_after_as_an_http_date() {
    let p = RetryPolicy::default();
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    assert_eq!(decide(&p, 1, Some(503), Some(date), NOW, 0.0), retry(1000));
    assert_eq!(
        decide(&p, 1, Some(503), Some(date), NOW + 800, 0.0),
        retry(300)
    );
    assert_eq!(
        decide(&p, 1, Some(503), Some(date), NOW + 5000, 0.0),
        retry(300),
        "past"
    );
    assert_eq!(
        decide(&p, 1, Some(503), Some(date), NOW - 100_000, 0.0),
        retry(MAX_DELAY_S)
    );
    assert_eq!(
        decide(&p, 1, None, Some("wed, 21 oct 2015 07:28:00 GMT"), NOW, 0.0),
        retry(1000),
        "names in any case"
    );
    // Calendar arithmetic: leap days, month ends, centuries.
    for (header, unix) in [
        ("Mon, 29 Feb 2016 00:00:00 GMT", 1_456_704_000u64),
        ("Wed, 01 Mar 2000 12:00:00 GMT", 951_912_000),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
        ("Thu, 01 Jan 1970 01:06:40 GMT", 4000),
    ] {
        let now = unix - 4000;
        assert_eq!(
            decide(&p, 1, None, Some(header), now, 0.0),
            retry(4000),
            "{header}"
        );
    }
    assert_eq!(
        decide(&p, 1, None, Some("Thu, 01 Jan 1970 00:00:00 GMT"), 0, 0.0),
        retry(300)
    );
    for garbage in [
        "Wed, 21 Oct 2015 07:28:00 UTC",
        "Wed, 21 Oct 2015 07:28:00",
        "Wednesday, 21-Oct-15 07:28:00 GMT",
        "Wed Oct 21 07:28:00 2015",
        "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 00 Oct 2015 07:28:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT",
        "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Oct 2015 07:60:00 GMT",
        "Sun, 29 Feb 2015 00:00:00 GMT",
        "Wed, 1 Oct 2015 07:28:00 GMT ",
        "Wed,  1 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 GMT+1",
        "Wed, 21 Oct 20x5 07:28:00 GMT",
        "Wéd, 21 Oct 2015 07:28:00 GMT",
    ] {
        assert_eq!(
            decide(&p, 1, None, Some(garbage), NOW - 100_000, 0.0),
            retry(300),
            "{garbage:?} is ignored"
        );
    }
}

#[test]
fn delivery_records_serialize() {
    let d = Delivery {
        id: "d1".into(),
        channel_id: "c1".into(),
        state: PENDING.into(),
        created_at: "2024-01-01T00:00:00.000Z".into(),
        idempotency_key: None,
        request: Rendered {
            method: "POST".into(),
            url: URL.into(),
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: "<x/>".into(),
        },
        retry: RetryPolicy::default(),
        attempts: vec![Attempt {
            n: 1,
            at: "2024-01-01T00:00:01.000Z".into(),
            status: None,
            latency_ms: 30_000,
            response_excerpt: String::new(),
            error: Some("timeout".into()),
        }],
        attempt_base: 0,
        next_attempt_at_ms: Some(1_704_067_501_000),
        error: None,
    };
    let v = serde_json::to_value(&d).unwrap();
    assert!(v.get("idempotency_key").is_none());
    assert!(v.get("error").is_none());
    assert_eq!(
        v["request"]["headers"],
        json!([["Content-Type", "text/xml"]])
    );
    let back: Delivery = serde_json::from_value(v).unwrap();
    assert_eq!(back, d);
    assert_eq!(
        [PENDING, DELIVERED, FAILED, DEAD],
        ["pending", "delivered", "failed", "dead"]
    );
}

// ---- Delivery::record -----------------------------------------------------

fn pending_delivery() -> syncbridge_core::outbound::Delivery {
    syncbridge_core::outbound::Delivery {
        id: "d1".into(),
        channel_id: "c1".into(),
        state: "pending".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        idempotency_key: None,
        request: syncbridge_core::outbound::Rendered {
            method: "POST".into(),
            url: "https://x.example/".into(),
            headers: vec![],
            body: String::new(),
        },
        retry: Default::default(),
        attempts: vec![],
        attempt_base: 0,
        next_attempt_at_ms: Some(0),
        error: None,
    }
}

fn attempt_with(status: Option<u16>, error: Option<&str>) -> syncbridge_core::outbound::Attempt {
    syncbridge_core::outbound::Attempt {
        n: 0,
        at: "2026-01-01T00:00:01.000Z".into(),
        status,
        latency_ms: 5,
        response_excerpt: String::new(),
        error: error.map(str::to_string),
    }
}

#[test]
fn recording_attempts_moves_the_delivery_through_its_states() {
    use syncbridge_core::outbound::Verdict;
    let mut d = pending_delivery();
    assert_eq!(
        d.record(
            attempt_with(Some(503), None),
            &Verdict::Retry { delay_s: 30 },
            1_000
        ),
        Some(30)
    );
    assert_eq!(d.state, "pending");
    assert_eq!(d.next_attempt_at_ms, Some(31_000));
    assert_eq!(d.attempts[0].n, 1);
    assert_eq!(
        d.record(attempt_with(Some(200), None), &Verdict::Delivered, 2_000),
        None
    );
    assert_eq!(
        (d.state.as_str(), d.next_attempt_at_ms, d.attempts[1].n),
        ("delivered", None, 2)
    );

    let mut d = pending_delivery();
    d.record(attempt_with(Some(410), None), &Verdict::Stop, 0);
    assert_eq!(d.state, "failed");
    assert!(d.error.as_deref().unwrap().contains("410"));
    let mut d = pending_delivery();
    d.record(
        attempt_with(None, Some("not sent: off the list")),
        &Verdict::Stop,
        0,
    );
    assert_eq!(d.error.as_deref(), Some("not sent: off the list"));

    // Dead counts only the attempts since the latest resend.
    let mut d = pending_delivery();
    for _ in 0..3 {
        d.record(
            attempt_with(Some(503), None),
            &Verdict::Retry { delay_s: 1 },
            0,
        );
    }
    d.attempt_base = 3;
    d.record(
        attempt_with(Some(503), None),
        &Verdict::Retry { delay_s: 1 },
        0,
    );
    assert_eq!(d.policy_attempts(), 1);
    d.record(attempt_with(Some(503), None), &Verdict::Dead, 0);
    assert_eq!(d.state, "dead");
    assert_eq!(d.error.as_deref(), Some("gave up after 2 attempts"));
    assert_eq!(d.attempts.len(), 5);
}
