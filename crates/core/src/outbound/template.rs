//! Templates: the `@Name` placeholder syntax, rendering with the escaping
//! of the body's content type, and Corteos's `@CallbackId`.

use super::config::{header_lines, CallbackConfig, HttpMethod};
use crate::error::RestError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// The method.
    pub method: HttpMethod,
    /// The channel's URL (for `GET`, with the rendered query).
    pub url: String,
    /// Header lines rendered, in configuration order.
    pub headers: Vec<(String, String)>,
    /// The rendered body (empty for `GET`).
    pub body: String,
}

impl Rendered {
    /// A `POST` of the JSON `body` to `url` with `Content-Type:
    /// application/json` and nothing else: how an event goes to a webhook
    /// subscriber (`body` is the event as subscribers receive it).
    pub fn json_post(url: &str, body: &str) -> Rendered {
        Rendered {
            method: HttpMethod::Post,
            url: url.to_owned(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_owned(),
        }
    }
}

/// Renders the configuration for one send. `vars` are the send's
/// variables (every declared one must be present: missing ones are a 422
/// naming them); `callback_id` fills `@CallbackId`; `@EventType` and
/// `@EventDescription` come from `vars` when given, else are empty.
///
/// Placeholders: `@Name` (the longest run of `[A-Za-z0-9_]`), `@{Name}` to
/// delimit, `@!Name` / `@!{Name}` for a raw value (no escaping), `@@` for a
/// literal `@`. Values are escaped for the body's content type (from the
/// `Content-Type` header line): JSON string escaping for `json`, XML
/// escaping for `xml`, form encoding for `x-www-form-urlencoded`, and
/// RFC 3986 percent-encoding for the query of a `GET` (whose rendered
/// template is appended to the URL as its query); other types get the
/// value as is. Header values get
/// the value as is, and a value with CR, LF or NUL is refused (422).
/// Non-string variable values are written as their JSON text.
///
/// Details: the content type is the media type of the first `Content-Type`
/// line (name in any case, value after substitution): `…/json`,
/// `…/x-json` or `…+json` is JSON; `…/xml` or `…+xml` (`text/xml`,
/// `application/soap+xml`) is XML; `application/x-www-form-urlencoded` is
/// a form. JSON escaping is serde_json's string escaping without the quotes
/// (so `"@Name"` is a valid JSON string for any value). XML escaping turns
/// `& < > " '` into entities and CR into `&#13;`; a character XML 1.0
/// cannot carry (a control character other than tab, LF, CR; U+FFFE;
/// U+FFFF) is refused (422). Form values are encoded as
/// `application/x-www-form-urlencoded` (space as `+`); `GET` query values
/// per RFC 3986 (every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`, space as
/// `%20`), which both `decodeURIComponent` and form decoders read back. For a `GET`, a
/// leading `?` or `&` of the rendered query is dropped, the rest is
/// appended with `?` (or `&` when the URL has a query), before any
/// fragment, and the body is empty. Raw placeholders skip the escaping
/// (and the XML check); header values are never escaped. `@CallbackId`
/// always takes `callback_id`, whatever `vars` holds.
pub fn render(
    config: &CallbackConfig,
    url: &str,
    vars: &Map<String, Value>,
    callback_id: &str,
) -> Result<Rendered, RestError> {
    let mut missing: Vec<&str> = config
        .variables
        .iter()
        .map(String::as_str)
        .filter(|name| *name != "CallbackId" && !vars.contains_key(*name))
        .collect();
    let lookup = |name: &str| -> Option<String> {
        if name == "CallbackId" {
            return Some(callback_id.to_owned());
        }
        match vars.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
            None if name == "EventType" || name == "EventDescription" => Some(String::new()),
            None => None,
        }
    };

    let lines = header_lines(&config.headers)
        .map_err(|m| unprocessable(format!("`opts.callback.headers` {m}")))?;
    let mut line_pieces = Vec::with_capacity(lines.len());
    for line in &lines {
        let pieces = parse_template(line.value).map_err(|e| {
            unprocessable(format!(
                "`opts.callback.headers` line {}: {}",
                line.no, e.message
            ))
        })?;
        line_pieces.push(pieces);
    }
    let body_pieces = parse_template(&config.body).map_err(|e| {
        let (l, c) = line_col(&config.body, e.at);
        unprocessable(format!(
            "`opts.callback.body` line {l}, column {c}: {}",
            e.message
        ))
    })?;
    let mut missing_codes: Vec<String> = Vec::new();
    for piece in line_pieces.iter().flatten().chain(&body_pieces) {
        match piece {
            Piece::Var { name, .. } | Piece::Dic { name, .. } => {
                if lookup(name).is_none() && !missing.contains(name) {
                    missing.push(name);
                }
            }
            Piece::Text(_) => {}
        }
        if let Piece::Dic { name, .. } = piece {
            if let Some(code) = lookup(name) {
                let known = config
                    .dictionaries
                    .get(*name)
                    .is_some_and(|d| d.contains_key(&code));
                let what = format!("{code:?} in {name}");
                if !known && !missing_codes.contains(&what) {
                    missing_codes.push(what);
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(unprocessable(format!(
            "missing variables: {} (every variable of `opts.callback.variables`, and the \
             code of each @DIC:Name, must be given)",
            missing.join(", ")
        )));
    }
    if !missing_codes.is_empty() {
        return Err(unprocessable(format!(
            "codes not in their dictionary (`opts.callback.dictionaries`): {}",
            missing_codes.join(", ")
        )));
    }
    let value = |name: &str| lookup(name).unwrap_or_default();
    let entry = |name: &str| {
        lookup(name)
            .and_then(|code| config.dictionaries.get(name)?.get(&code).cloned())
            .unwrap_or_default()
    };
    // A piece's value: a variable's, or the dictionary entry of its code.
    let piece_value = |piece: &Piece<'_>| match *piece {
        Piece::Var { name, .. } => value(name),
        Piece::Dic { name, .. } => entry(name),
        Piece::Text(t) => t.to_owned(),
    };

    let mut headers = Vec::with_capacity(lines.len());
    for (line, pieces) in lines.iter().zip(&line_pieces) {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, .. } | Piece::Dic { name, .. } => {
                    let v = piece_value(piece);
                    if v.contains(['\r', '\n', '\0']) {
                        return Err(unprocessable(format!(
                            "header `{}` cannot hold CR, LF or NUL, and the value of @{name} \
                             has one",
                            line.name
                        )));
                    }
                    out.push_str(&v);
                }
            }
        }
        if out.contains(['\r', '\n', '\0']) {
            return Err(unprocessable(format!(
                "header `{}` cannot hold CR, LF or NUL",
                line.name
            )));
        }
        headers.push((line.name.to_owned(), out));
    }

    let method = config.method;
    let get = method == HttpMethod::Get;
    let escape = if get {
        Escape::Query
    } else {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map_or(Escape::None, |(_, v)| escape_for(v))
    };
    let mut body = String::with_capacity(config.body.len());
    for piece in &body_pieces {
        match piece {
            Piece::Text(t) => body.push_str(t),
            Piece::Var { raw: true, .. } | Piece::Dic { raw: true, .. } => {
                body.push_str(&piece_value(piece))
            }
            Piece::Var { name, raw: false } | Piece::Dic { name, raw: false } => {
                let v = piece_value(piece);
                match escape {
                    Escape::None => body.push_str(&v),
                    Escape::Json => body.push_str(&escape_json(&v)),
                    Escape::Form => body.extend(form_urlencoded::byte_serialize(v.as_bytes())),
                    Escape::Query => body.extend(utf8_percent_encode(&v, QUERY_VALUE)),
                    Escape::Xml => escape_xml(&v, &mut body).map_err(|c| {
                        unprocessable(format!(
                            "the value of @{name} holds U+{:04X}, which XML cannot carry",
                            u32::from(c)
                        ))
                    })?,
                }
            }
        }
    }
    if get {
        return Ok(Rendered {
            method,
            url: with_query(url, &body),
            headers,
            body: String::new(),
        });
    }
    Ok(Rendered {
        method,
        url: url.to_owned(),
        headers,
        body,
    })
}

fn unprocessable(message: impl Into<String>) -> RestError {
    RestError::new(422, message)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub(super) fn is_ident(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(is_name_byte)
}

// ---------------------------------------------------------------------------
// Helpers

/// A parsed template: text and placeholders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Piece<'a> {
    Text(&'a str),
    Var {
        name: &'a str,
        raw: bool,
    },
    /// `@DIC:Name`: the value, in dictionary `name`, of the code the send's
    /// variable `name` holds.
    Dic {
        name: &'a str,
        raw: bool,
    },
}

/// The prefix of a dictionary placeholder's name: `@DIC:Name`.
const DIC: &str = "DIC";

pub(super) struct SyntaxError {
    /// Byte offset of the `@`.
    pub(super) at: usize,
    pub(super) message: &'static str,
}

/// Splits a template into text and placeholders (syntax in [`render`]).
pub(super) fn parse_template(t: &str) -> Result<Vec<Piece<'_>>, SyntaxError> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(off) = t[i..].find('@') {
        let at = i + off;
        if at > text_start {
            out.push(Piece::Text(&t[text_start..at]));
        }
        let fail = |message: &'static str| SyntaxError { at, message };
        let mut j = at + 1;
        if b.get(j) == Some(&b'@') {
            out.push(Piece::Text("@"));
            i = j + 1;
            text_start = i;
            continue;
        }
        let raw = b.get(j) == Some(&b'!');
        if raw {
            j += 1;
        }
        let braced = b.get(j) == Some(&b'{');
        if braced {
            j += 1;
        }
        let run = b[j..].iter().take_while(|c| is_name_byte(**c)).count();
        let mut name = &t[j..j + run];
        let mut end = j + run;
        let dictionary = name == DIC && b.get(end) == Some(&b':');
        if dictionary {
            let start = end + 1;
            let run = b[start..].iter().take_while(|c| is_name_byte(**c)).count();
            name = &t[start..start + run];
            end = start + run;
            if !is_ident(name) {
                return Err(fail(
                    "`@DIC:` must be followed by a dictionary name (letters, digits, _)",
                ));
            }
        }
        if braced {
            match b.get(end) {
                Some(b'}') if name.is_empty() => return Err(fail("`@{}` has no name")),
                Some(b'}') if !is_ident(name) => {
                    return Err(fail(
                        "a placeholder name must not start with a digit (letters, digits, _)",
                    ))
                }
                Some(b'}') => end += 1,
                None => return Err(fail("`@{` is not closed by `}`")),
                Some(_) => {
                    return Err(fail(
                        "`@{` must hold only a name (letters, digits, _) and be closed by `}`",
                    ))
                }
            }
        } else if !is_ident(name) {
            return Err(fail(if raw {
                "`@!` must be followed by a name (`@!Name` or `@!{Name}`)"
            } else {
                "`@` must start a placeholder (`@Name`, `@{Name}`, `@!Name`); write `@@` for \
                 a literal @"
            }));
        }
        out.push(if dictionary {
            Piece::Dic { name, raw }
        } else {
            Piece::Var { name, raw }
        });
        i = end;
        text_start = end;
    }
    if text_start < t.len() {
        out.push(Piece::Text(&t[text_start..]));
    }
    Ok(out)
}

/// Each piece with its byte offset in the template.
pub(super) fn pieces_at<'p, 'a>(t: &str, pieces: &'p [Piece<'a>]) -> Vec<(usize, &'p Piece<'a>)> {
    let mut at = 0;
    pieces
        .iter()
        .map(|piece| {
            let start = at;
            at += match piece {
                // `@@` became "@": two bytes of template.
                Piece::Text("@") if t[start..].starts_with("@@") => 2,
                Piece::Text(s) => s.len(),
                Piece::Var { name, raw } | Piece::Dic { name, raw } => {
                    let braced = t.as_bytes().get(start + 1 + usize::from(*raw)) == Some(&b'{');
                    let prefix = if matches!(piece, Piece::Dic { .. }) {
                        DIC.len() + 1
                    } else {
                        0
                    };
                    1 + usize::from(*raw) + prefix + name.len() + if braced { 2 } else { 0 }
                }
            };
            (start, piece)
        })
        .collect()
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(super) fn line_col(t: &str, at: usize) -> (usize, usize) {
    let before = &t[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Escape {
    None,
    Json,
    Xml,
    /// `application/x-www-form-urlencoded` (space as `+`).
    Form,
    /// RFC 3986 percent-encoding of a `GET`'s query values (space as `%20`).
    Query,
}

/// What a query value keeps as is: RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`); every other byte of its UTF-8 is `%XX`, so a
/// receiver decoding with `decodeURIComponent` or a form decoder reads the
/// same value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The escaping a `Content-Type` value calls for.
fn escape_for(content_type: &str) -> Escape {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let subtype = essence.split_once('/').map_or("", |(_, s)| s);
    if subtype == "json" || subtype == "x-json" || subtype.ends_with("+json") {
        Escape::Json
    } else if subtype == "xml" || subtype.ends_with("+xml") {
        Escape::Xml
    } else if essence == "application/x-www-form-urlencoded" {
        Escape::Form
    } else {
        Escape::None
    }
}

/// The inside of a JSON string holding `s`.
fn escape_json(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string always serializes");
    quoted[1..quoted.len() - 1].to_owned()
}

/// Appends `s` escaped for XML text or attributes; a character XML 1.0
/// cannot carry is returned as the error.
fn escape_xml(s: &str, out: &mut String) -> Result<(), char> {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => return Err(c),
            c => out.push(c),
        }
    }
    Ok(())
}

/// `url` with `query` appended as (more of) its query, before any fragment.
fn with_query(url: &str, query: &str) -> String {
    let query = query
        .strip_prefix('?')
        .or_else(|| query.strip_prefix('&'))
        .unwrap_or(query);
    if query.is_empty() {
        return url.to_owned();
    }
    let (base, fragment) = url.split_at(url.find('#').unwrap_or(url.len()));
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!("{base}{sep}{query}{fragment}")
}

/// Corteos's `@CallbackId`: .NET ticks (100 ns since 0001-01-01) of `now_ms`.
pub fn callback_id(now_ms: u64) -> String {
    /// Ticks from 0001-01-01 to 1970-01-01.
    const UNIX_EPOCH_TICKS: u128 = 621_355_968_000_000_000;
    (u128::from(now_ms) * 10_000 + UNIX_EPOCH_TICKS).to_string()
}

impl Rendered {
    /// The request's size in bytes: URL, header names and values, and body.
    pub fn size(&self) -> usize {
        self.url.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>()
            + self.body.len()
    }

    /// Refuses (413) a request larger than `max_bytes` (`CALLBACK_MAX_BYTES`):
    /// a delivery keeps its request and its attempt log in one stored row,
    /// which must stay within the store's row limit.
    pub fn check_size(&self, max_bytes: usize) -> Result<(), RestError> {
        let size = self.size();
        if size > max_bytes {
            return Err(RestError::new(
                413,
                format!(
                    "the rendered request is {size} bytes, more than the {max_bytes} a delivery may carry (CALLBACK_MAX_BYTES)"
                ),
            ));
        }
        Ok(())
    }
}
