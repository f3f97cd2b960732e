//! `render` (JSON, XML, forms, GET queries, syntax, variables, headers) and
//! `callback_id`.

use super::*;

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
    assert_eq!(r.method, HttpMethod::Post);
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
    let query = "id=R%201%262&state=a%2Bb%3Dc&cb=638355968000000000";
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
        assert_eq!(r.method, HttpMethod::Get);
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
        assert_eq!(uri_decode(query), vec![("v".to_owned(), value.to_owned())]);
        assert!(
            query[2..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "only unreserved characters and %XX: {query}"
        );
    }
}

#[test]
fn get_query_spaces_are_percent_20_not_plus() {
    let c = parse(json!({"method": "GET", "body": "q=@q", "variables": ["q"]}));
    let r = render_ok(&c, json!({"q": "a b+c ~x.y-z_"}));
    assert_eq!(r.url, format!("{URL}?q=a%20b%2Bc%20~x.y-z_"));
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
    // As read back from storage, without `parse_config`: a lower-case
    // method is still read as the method.
    let c: CallbackConfig =
        serde_json::from_value(json!({"method": "post", "body": "@ghost"})).unwrap();
    assert_eq!(c.method, HttpMethod::Post);
    assert_eq!((c.variables.len(), &c.retry), (0, &RetryPolicy::default()));
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
// render: the size bound

#[test]
fn a_rendered_request_over_the_bound_is_413_and_names_it() {
    let cfg = parse(json!({"body": "@v@v@v", "variables": ["v"]}));
    let max = syncbridge_core::config::DEFAULT_CALLBACK_MAX_BYTES;
    let mut vars = Map::new();
    vars.insert("v".into(), json!("x".repeat(max / 4)));
    let r = render(&cfg, "https://hooks.example/x", &vars, "cb").expect("renders");
    assert!(r.size() <= max);
    assert!(r.check_size(max).is_ok());
    vars.insert("v".into(), json!("x".repeat(max / 3 + 1)));
    let r = render(&cfg, "https://hooks.example/x", &vars, "cb").expect("renders");
    assert_eq!(
        r.size(),
        "https://hooks.example/x".len() + 3 * (max / 3 + 1)
    );
    let err = r.check_size(max).unwrap_err();
    assert_eq!(err.status, 413);
    assert!(
        err.error_message
            .contains(&format!("more than the {max} a delivery may carry")),
        "{}",
        err.error_message
    );
}
