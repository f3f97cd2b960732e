//! Corteos dictionaries: `opts.callback.dictionaries` and `@DIC:Name`.

use super::*;

fn with_dictionary(body: &str, content_type: &str) -> CallbackConfig {
    parse(json!({
        "headers": format!("Content-Type: {content_type}\nX-Status: @DIC:Status"),
        "body": body,
        "dictionaries": {
            "Status": {"1": "Reserved", "2": "Paid \"in full\" & <done>"},
            "Currency": {"USD": "US dollar"}
        }
    }))
}

#[test]
fn a_dictionary_placeholder_renders_the_value_of_the_sends_code() {
    let c = with_dictionary(
        "{\"s\": \"@DIC:Status\", \"c\": \"@{DIC:Currency}x\"}",
        "application/json",
    );
    let r = render_ok(&c, json!({"Status": "1", "Currency": "USD"}));
    assert_eq!(r.body, "{\"s\": \"Reserved\", \"c\": \"US dollarx\"}");
    assert_eq!(r.headers[1], ("X-Status".into(), "Reserved".into()));
    // A number code is looked up as its JSON text.
    let r = render_ok(&c, json!({"Status": 2, "Currency": "USD"}));
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["s"], "Paid \"in full\" & <done>");
}

#[test]
fn dictionary_values_are_escaped_as_any_placeholder_and_raw_ones_are_not() {
    let c = with_dictionary("<s>@DIC:Status</s><r>@!DIC:Status</r>", "text/xml");
    let r = render_ok(&c, json!({"Status": "2"}));
    assert_eq!(
        r.body,
        "<s>Paid &quot;in full&quot; &amp; &lt;done&gt;</s><r>Paid \"in full\" & <done></r>"
    );
    let c = with_dictionary("s=@DIC:Status", "application/x-www-form-urlencoded");
    assert_eq!(
        render_ok(&c, json!({"Status": "2"})).body,
        "s=Paid+%22in+full%22+%26+%3Cdone%3E"
    );
}

#[test]
fn an_unknown_dictionary_is_refused_when_the_channel_is_saved() {
    let msg = assert_400(
        parse_config(&json!({"body": "x @DIC:Nope y", "dictionaries": {"Status": {}}})),
        &["unknown dictionaries", "@DIC:Nope", "body line 1, column 3"],
    );
    assert!(msg.contains("opts.callback.dictionaries"), "{msg}");
    assert_400(
        parse_config(&json!({"headers": "X: @!{DIC:Gone}"})),
        &["@DIC:Gone", "headers line 1"],
    );
}

#[test]
fn malformed_dictionaries_are_refused() {
    for (dicts, needle) in [
        (json!(null), "cannot be null"),
        (json!([]), "must be an object of dictionaries"),
        (json!({"1bad": {}}), "not valid"),
        (
            json!({"A": []}),
            "`opts.callback.dictionaries.A` must be an object",
        ),
        (json!({"A": {"x": 1}}), "value of code `x` must be a string"),
        (
            json!({"A": {"x": "y".repeat(MAX_TEMPLATE_BYTES)}}),
            "longer than",
        ),
    ] {
        assert_400(parse_config(&json!({"dictionaries": dicts})), &[needle]);
    }
    assert_400(
        parse_config(&json!({"body": "@DIC:", "dictionaries": {}})),
        &["`@DIC:` must be followed by a dictionary name", "column 1"],
    );
}

#[test]
fn a_missing_code_or_code_variable_is_a_422_at_send() {
    let c = with_dictionary("@DIC:Status", "text/plain");
    assert_err(
        render(&c, URL, &vars(json!({})), CB_ID),
        422,
        &["missing variables: Status"],
    );
    assert_err(
        render(&c, URL, &vars(json!({"Status": "9"})), CB_ID),
        422,
        &["codes not in their dictionary", "\"9\" in Status"],
    );
}

#[test]
fn dictionaries_round_trip_through_the_stored_config() {
    let c = with_dictionary("@DIC:Status", "text/plain");
    let back: CallbackConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    // None given: not written, so older stored configs read the same.
    let plain = parse(json!({}));
    assert!(serde_json::to_value(&plain)
        .unwrap()
        .get("dictionaries")
        .is_none());
}
