//! The channel list (`GET /rest/v1/service/integration_points`): its query
//! (filter, mask, order, flat, offset, limit) parsed and bounded, turned into
//! parameterised SQL over the `channels` table of
//! `migrations/0001_channels.sql`; rendering a channel with mask and flat;
//! and the LOOKUP body.

use super::*;
use crate::request_log::MAX_OFFSET;

/// Default `limit` of a list.
pub const DEFAULT_LIST_LIMIT: u64 = 100;
/// Largest `limit` of a list; a larger one is capped to it.
pub const MAX_LIST_LIMIT: u64 = 1000;
/// Longest value of a list's `filter`, `mask` or `order` parameter, in bytes
/// (after percent-decoding).
pub const MAX_LIST_PARAM_BYTES: usize = 4096;
/// Most fields a list's `filter` may test (there are 18 it can use).
pub const MAX_FILTER_TERMS: usize = 18;
/// Most fields a list's `order` may name.
pub const MAX_ORDER_TERMS: usize = 8;
/// Most names a `mask` may hold, repeats included (there are 23 distinct ones).
pub const MAX_MASK_FIELDS: usize = 32;
/// Longest `search` of a list, in bytes.
pub const MAX_SEARCH_BYTES: usize = 256;

/// A list request's parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// Field (dotted for `opts.*`, `ext.*`) → value it must equal.
    pub filter: Vec<(String, Value)>,
    /// Fields to keep (`mask`), when given.
    pub mask: Option<Vec<String>>,
    /// Field → descending?
    pub order: Vec<(String, bool)>,
    /// Rows to skip.
    pub offset: u64,
    /// Most rows to return.
    pub limit: u64,
    /// `opts` and `ext` flattened to `opts.title`-style keys.
    pub flat: bool,
    /// Text the `code` or `opts.title` must contain (ASCII letters in
    /// any case), when given.
    pub search: Option<String>,
}

/// The SQL expression of a field that can be filtered and ordered by: the
/// whitelist of [`list_sql`]. Scalars only (not `opts`, `ext`, `opts.cors_origins`).
fn sql_expr(field: &str) -> Option<&'static str> {
    Some(match field {
        "id" => "id",
        "code" => "code",
        "token_local" => "token_local",
        "type" => "json_extract(doc, '$.type')",
        "token_remote" => "json_extract(doc, '$.token_remote')",
        "token_remote2" => "json_extract(doc, '$.token_remote2')",
        "url" => "json_extract(doc, '$.url')",
        "recv_svcscriptcode" => "json_extract(doc, '$.recv_svcscriptcode')",
        "recv_svcscriptcode_ws" => "json_extract(doc, '$.recv_svcscriptcode_ws')",
        "send_svcscriptcode" => "json_extract(doc, '$.send_svcscriptcode')",
        "send_svcscriptcode_ws" => "json_extract(doc, '$.send_svcscriptcode_ws')",
        "opts.title" => "json_extract(doc, '$.opts.title')",
        "opts.comment" => "json_extract(doc, '$.opts.comment')",
        "opts.allow_files_api" => "json_extract(doc, '$.opts.allow_files_api')",
        "opts.issync" => "json_extract(doc, '$.opts.issync')",
        "opts.corezoid_login" => "json_extract(doc, '$.opts.corezoid_login')",
        "ext.ct" => "json_extract(doc, '$.ext.ct')",
        "ext.lwt" => "json_extract(doc, '$.ext.lwt')",
        _ => return None,
    })
}

fn is_bool_field(field: &str) -> bool {
    matches!(field, "opts.allow_files_api" | "opts.issync")
}

/// A field a mask may name: a top-level field, or `opts.*` / `ext.*`.
fn is_known_field(name: &str) -> bool {
    match name.split_once('.') {
        None => FIELDS.contains(&name),
        Some(("opts", sub)) => OPTS_FIELDS.contains(&sub),
        Some(("ext", sub)) => EXT_FIELDS.contains(&sub),
        Some(_) => false,
    }
}

/// Reads `filter` (a JSON object), `mask` (comma-separated fields), `order`
/// (a JSON array of field names or `{field: "asc"|"desc"}`, or a single
/// field name), `offset`, `limit` and `flat` (`true`/`1`) from a URL query.
/// Unknown parameters and unknown fields are 400s.
///
/// `filter` keys are dotted (`{"opts.issync": true}`) or nested
/// (`{"opts": {"issync": true}}`); values are strings, or booleans for
/// `opts.allow_files_api` and `opts.issync`. `order` also takes a single
/// `{field: dir}` object or comma-separated bare names (ascending).
/// `offset` and `limit` are non-negative integers in decimal digits;
/// `offset` is at most 2^53 − 1; `limit` must be at least 1, defaults to
/// [`DEFAULT_LIST_LIMIT`], and a value above [`MAX_LIST_LIMIT`] is capped
/// to it (not refused). A mask with no field, or a parameter given twice,
/// is a 400.
pub fn parse_list_query(pairs: &[(String, String)]) -> Result<ListQuery, RestError> {
    let mut q = ListQuery {
        limit: DEFAULT_LIST_LIMIT,
        ..ListQuery::default()
    };
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in pairs {
        let name = name.as_str();
        if seen.contains(&name) {
            return Err(bad(format!("Parameter `{name}` is given twice")));
        }
        match name {
            "filter" => q.filter = parse_filter(bounded(name, value)?)?,
            "mask" => q.mask = Some(parse_mask(value)?),
            "order" => q.order = parse_order(bounded(name, value)?)?,
            "offset" => {
                q.offset = parse_count(name, value)?;
                if q.offset > MAX_OFFSET {
                    return Err(bad(format!("`offset` is larger than {MAX_OFFSET}")));
                }
            }
            "limit" => {
                q.limit = parse_count(name, value)?.min(MAX_LIST_LIMIT);
                if q.limit == 0 {
                    return Err(bad("`limit` must be at least 1"));
                }
            }
            "flat" => q.flat = parse_flat(value)?,
            "search" => {
                if value.len() > MAX_SEARCH_BYTES {
                    return Err(bad(format!(
                        "`search` is longer than {MAX_SEARCH_BYTES} bytes"
                    )));
                }
                q.search = Some(value.clone()).filter(|v| !v.is_empty());
            }
            _ => return Err(bad(format!("Unknown parameter `{name}`"))),
        }
        seen.push(name);
    }
    Ok(q)
}

/// Reads `mask` and `flat` of a single-channel GET. Any other parameter,
/// or one given twice, is a 400.
pub fn parse_get_query(
    pairs: &[(String, String)],
) -> Result<(Option<Vec<String>>, bool), RestError> {
    let (mut mask, mut flat) = (None, None);
    for (name, value) in pairs {
        match name.as_str() {
            "mask" if mask.is_none() => mask = Some(parse_mask(value)?),
            "flat" if flat.is_none() => flat = Some(parse_flat(value)?),
            "mask" | "flat" => return Err(bad(format!("Parameter `{name}` is given twice"))),
            _ => return Err(bad(format!("Unknown parameter `{name}`"))),
        }
    }
    Ok((mask, flat.unwrap_or(false)))
}

/// `value` of the list parameter `name`, if it is at most
/// [`MAX_LIST_PARAM_BYTES`] long.
fn bounded<'a>(name: &str, value: &'a str) -> Result<&'a str, RestError> {
    if value.len() > MAX_LIST_PARAM_BYTES {
        return Err(bad(format!(
            "`{name}` is longer than {MAX_LIST_PARAM_BYTES} bytes (at most {MAX_LIST_PARAM_BYTES})"
        )));
    }
    Ok(value)
}

fn parse_mask(value: &str) -> Result<Vec<String>, RestError> {
    let value = bounded("mask", value)?;
    let mut fields: Vec<String> = Vec::new();
    for (i, name) in value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        if i == MAX_MASK_FIELDS {
            return Err(bad(format!(
                "`mask` names more than {MAX_MASK_FIELDS} fields (at most {MAX_MASK_FIELDS})"
            )));
        }
        if !is_known_field(name) {
            return Err(bad(format!("Unknown field `{name}` in `mask`")));
        }
        if !fields.iter().any(|f| f == name) {
            fields.push(name.to_owned());
        }
    }
    if fields.is_empty() {
        return Err(bad("`mask` names no field"));
    }
    Ok(fields)
}

fn parse_flat(value: &str) -> Result<bool, RestError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad("`flat` must be true, false, 1 or 0")),
    }
}

/// A non-negative integer in decimal digits; one too large for a `u64` gives `u64::MAX`.
fn parse_count(name: &str, value: &str) -> Result<u64, RestError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("`{name}` must be a non-negative integer")));
    }
    Ok(value.parse().unwrap_or(u64::MAX))
}

/// The whitelisted field a filter or order names, or a 400 in `param`.
fn sql_field(param: &str, name: &str) -> Result<(), RestError> {
    match sql_expr(name) {
        Some(_) => Ok(()),
        None if is_known_field(name) => Err(bad(format!("`{param}` cannot use field `{name}`"))),
        None => Err(bad(format!("Unknown field `{name}` in `{param}`"))),
    }
}

fn parse_filter(text: &str) -> Result<Vec<(String, Value)>, RestError> {
    let value: Value = serde_json::from_slice(text.as_bytes())
        .map_err(|_| bad("`filter` must be a JSON object"))?;
    let Value::Object(top) = value else {
        return Err(bad("`filter` must be a JSON object"));
    };
    let mut out = Vec::new();
    for (key, value) in top {
        match (key.as_str(), value) {
            (prefix @ ("opts" | "ext"), Value::Object(inner)) => {
                for (sub, v) in inner {
                    out.push(filter_item(format!("{prefix}.{sub}"), v)?);
                }
            }
            (_, v) => out.push(filter_item(key, v)?),
        }
        if out.len() > MAX_FILTER_TERMS {
            return Err(bad(format!(
                "`filter` tests more than {MAX_FILTER_TERMS} fields (at most {MAX_FILTER_TERMS})"
            )));
        }
    }
    Ok(out)
}

fn filter_item(field: String, value: Value) -> Result<(String, Value), RestError> {
    sql_field("filter", &field)?;
    let ok = if is_bool_field(&field) {
        value.is_boolean()
    } else {
        value.is_string()
    };
    if !ok {
        let want = if is_bool_field(&field) {
            "a boolean"
        } else {
            "a string"
        };
        return Err(bad(format!("`filter` value of `{field}` must be {want}")));
    }
    Ok((field, value))
}

fn parse_order(text: &str) -> Result<Vec<(String, bool)>, RestError> {
    let items = match serde_json::from_slice::<Value>(text.as_bytes()) {
        Ok(Value::Array(items)) => items,
        Ok(item @ (Value::Object(_) | Value::String(_))) => vec![item],
        Ok(_) => {
            return Err(bad(
                "`order` must be a field name or a JSON array of field names or {field: \"asc\"|\"desc\"}",
            ))
        }
        // Not JSON: bare field names, comma-separated, ascending.
        Err(_) => text
            .split(',')
            .map(|name| Value::String(name.trim().to_owned()))
            .collect(),
    };
    if items.len() > MAX_ORDER_TERMS {
        return Err(bad(format!(
            "`order` names more than {MAX_ORDER_TERMS} fields (at most {MAX_ORDER_TERMS})"
        )));
    }
    items
        .into_iter()
        .map(|item| {
            let (name, desc) = match item {
                Value::String(name) => (name, false),
                Value::Object(m) if m.len() == 1 => {
                    let (name, dir) = m.into_iter().next().unwrap_or_default();
                    let desc = match dir.as_str().map(str::to_ascii_lowercase).as_deref() {
                        Some("asc") => false,
                        Some("desc") => true,
                        _ => {
                            return Err(bad(format!(
                                "`order` direction of `{name}` must be \"asc\" or \"desc\""
                            )))
                        }
                    };
                    (name, desc)
                }
                _ => return Err(bad(
                    "`order` items must be field names or {field: \"asc\"|\"desc\"} with one field",
                )),
            };
            sql_field("order", &name)?;
            Ok((name, desc))
        })
        .collect()
}

/// `SELECT doc FROM channels WHERE … ORDER BY … LIMIT ? OFFSET ?` with its
/// bind values (field names are whitelisted, values always bound).
///
/// Booleans are bound as 1/0 (what `json_extract` gives for JSON
/// true/false). A filter on a field outside the whitelist matches nothing;
/// an order on one is skipped. The order always ends with `code`, then
/// `id` (ascending) unless already named. `limit` 0 means
/// [`DEFAULT_LIST_LIMIT`]; a larger one than [`MAX_LIST_LIMIT`] is capped.
pub fn list_sql(q: &ListQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("SELECT doc FROM channels");
    let mut binds = Vec::with_capacity(q.filter.len() + 2);
    let mut conditions: Vec<String> = q
        .filter
        .iter()
        .map(|(field, value)| match sql_expr(field) {
            Some(expr) => {
                binds.push(match value {
                    Value::Bool(b) => Value::from(u8::from(*b)),
                    v => v.clone(),
                });
                format!("{expr} = ?")
            }
            None => "0".to_owned(),
        })
        .collect();
    if let Some(text) = &q.search {
        // instr(), not LIKE: no wildcards to escape, and no bound on the
        // pattern's length (D1 refuses LIKE patterns over 50 bytes).
        // SQLite's lower() folds ASCII letters only, as to_ascii_lowercase.
        let needle = Value::String(text.to_ascii_lowercase());
        binds.push(needle.clone());
        binds.push(needle);
        conditions.push(
            "(instr(lower(code), ?) > 0 OR instr(lower(json_extract(doc, '$.opts.title')), ?) > 0)"
                .to_owned(),
        );
    }
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    let tie_breakers = [("code", false), ("id", false)];
    let terms: Vec<String> = q
        .order
        .iter()
        .map(|(f, desc)| (f.as_str(), *desc))
        .chain(
            tie_breakers
                .into_iter()
                .filter(|(t, _)| !q.order.iter().any(|(f, _)| f == t)),
        )
        .filter_map(|(field, desc)| {
            let expr = sql_expr(field)?;
            Some(format!("{expr} {}", if desc { "DESC" } else { "ASC" }))
        })
        .collect();
    sql.push_str(" ORDER BY ");
    sql.push_str(&terms.join(", "));
    sql.push_str(" LIMIT ? OFFSET ?");
    let limit = match q.limit {
        0 => DEFAULT_LIST_LIMIT,
        n => n.min(MAX_LIST_LIMIT),
    };
    binds.push(Value::from(limit));
    binds.push(Value::from(q.offset));
    (sql, binds)
}

/// The channel as JSON, cut to `mask` (when given) and flattened to
/// `opts.title`-style keys (when `flat`).
///
/// A mask names top-level fields (`opts` keeps the whole object) or nested
/// keys (`opts.title` keeps that key of `opts`); names it does not know
/// keep nothing. `flat` turns `opts` and `ext` into `opts.title`-style keys
/// in their place; arrays (`opts.cors_origins`) stay arrays.
pub fn render(channel: &Channel, mask: Option<&[String]>, flat: bool) -> Value {
    let mut out = Map::new();
    for (key, value) in to_map(channel) {
        let value = match (mask, value) {
            (None, value) => value,
            (Some(m), value) if m.contains(&key) => value,
            (Some(m), Value::Object(inner)) => {
                let kept: Map<String, Value> = inner
                    .into_iter()
                    .filter(|(sub, _)| {
                        m.iter()
                            .any(|f| f.split_once('.') == Some((key.as_str(), sub.as_str())))
                    })
                    .collect();
                if kept.is_empty() {
                    continue;
                }
                Value::Object(kept)
            }
            (Some(_), _) => continue,
        };
        match value {
            Value::Object(inner) if flat => {
                for (sub, v) in inner {
                    out.insert(format!("{key}.{sub}"), v);
                }
            }
            value => {
                out.insert(key, value);
            }
        }
    }
    Value::Object(out)
}

/// A LOOKUP body: a JSON string (the key to find by `id`, `code` or `token_local`).
/// Anything else, the empty string included, is a 400 (that never echoes the body).
pub fn lookup_key(body: &[u8]) -> Result<String, RestError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::String(key)) if !key.is_empty() => Ok(key),
        Ok(Value::String(_)) => Err(bad("The LOOKUP body is an empty string")),
        _ => Err(bad(
            "The LOOKUP body must be a JSON string: the id, code or token_local to find",
        )),
    }
}
