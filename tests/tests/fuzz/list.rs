//! List parameters: `channel::parse_list_query` (filter, mask, order,
//! offset, limit, flat) with the SQL it becomes (`channel::list_sql`),
//! `channel::parse_get_query`, and `request_log::parse_paging`.

use crate::gen::{json, leaf, pairs, text};
use crate::{check, fuzz};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};
use syncbridge_core::channel;
use syncbridge_core::request_log;

const PARAMS: &[&str] = &["filter", "mask", "order", "offset", "limit", "flat"];
const FIELDS: &[&str] = &[
    "id",
    "code",
    "type",
    "token_local",
    "token_remote",
    "url",
    "recv_svcscriptcode",
    "opts",
    "opts.title",
    "opts.issync",
    "opts.allow_files_api",
    "opts.cors_origins",
    "opts.callback",
    "ext",
    "ext.ct",
    "ext.lwt",
    "nope",
    "opts.nope",
    "code'--",
    "id; DROP TABLE channels",
];

fn field() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(FIELDS).prop_map(str::to_owned), 1 => text()]
}

/// A parameter value shaped like the real ones.
pub fn param_value() -> impl Strategy<Value = String> {
    let filter = proptest::collection::vec((field(), prop_oneof![leaf(), json()]), 0..4)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()).to_string());
    let dir = select(&["asc", "desc", "DESC", "up"][..]);
    let order_item = prop_oneof![
        field().prop_map(Value::from),
        (field(), dir).prop_map(|(f, d)| {
            let mut m = Map::new();
            m.insert(f, d.into());
            Value::Object(m)
        }),
        leaf(),
    ];
    let order = prop_oneof![
        proptest::collection::vec(order_item.clone(), 0..5)
            .prop_map(|v| Value::Array(v).to_string()),
        order_item.prop_map(|v| v.to_string()),
        proptest::collection::vec(field(), 0..5).prop_map(|v| v.join(",")),
    ];
    let mask = proptest::collection::vec(field(), 0..5).prop_map(|v| v.join(","));
    let count = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..2000).prop_map(|n| n.to_string()),
        select(
            &[
                "",
                "-1",
                "1.5",
                "9007199254740991",
                "9007199254740992",
                "99999999999999999999"
            ][..]
        )
        .prop_map(str::to_owned),
    ];
    prop_oneof![
        filter,
        order,
        mask,
        count,
        select(&["true", "false", "1", "0", "yes"][..]).prop_map(str::to_owned),
        text()
    ]
}

#[test]
fn list_queries_become_bound_sql() {
    fuzz(
        "channel::parse_list_query",
        pairs(PARAMS, param_value()),
        |pairs| {
            let q = match channel::parse_list_query(&pairs) {
                Ok(q) => {
                    crate::accepted();
                    q
                }
                Err(e) => {
                    check!(e.status == 400, "{e:?}");
                    return Ok(());
                }
            };
            check!(
                (1..=channel::MAX_LIST_LIMIT).contains(&q.limit),
                "limit {}",
                q.limit
            );
            check!(q.offset <= request_log::MAX_OFFSET, "offset {}", q.offset);
            let (sql, binds) = channel::list_sql(&q);
            check!(
                sql.matches('?').count() == binds.len(),
                "{} placeholders, {} binds: {sql}",
                sql.matches('?').count(),
                binds.len()
            );
            // Only whitelisted text reaches the SQL: nothing the caller sent.
            let allowed = |c: char| c.is_ascii_alphanumeric() || " _,.'$=?()*".contains(c);
            check!(sql.chars().all(allowed), "unexpected text in {sql}");
            check!(!sql.contains(';') && !sql.contains("--"), "{sql}");
            Ok(())
        },
    );
}

#[test]
fn get_queries_take_any_pairs() {
    fuzz(
        "channel::parse_get_query",
        pairs(&["mask", "flat"], param_value()),
        |pairs| {
            match channel::parse_get_query(&pairs) {
                Ok(_) => crate::accepted(),
                Err(e) => check!(e.status == 400, "{e:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn request_log_paging_stays_in_bounds() {
    fuzz(
        "request_log::parse_paging",
        pairs(&["offset", "limit"], param_value()),
        |pairs| match request_log::parse_paging(&pairs) {
            Ok((offset, limit)) => {
                crate::accepted();
                check!(offset <= request_log::MAX_OFFSET, "offset {offset}");
                check!(limit <= request_log::MAX_PAGE, "limit {limit}");
                Ok(())
            }
            Err(e) => {
                check!(e.status == 400, "{e:?}");
                Ok(())
            }
        },
    );
}
