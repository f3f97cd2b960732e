//! Destinations: the `CALLBACK_ALLOWED_HOSTS` allow-list, its entries and
//! host patterns, and the check of a callback URL against it.

use std::net::Ipv6Addr;

/// Checks `url` against the allow-list (`CALLBACK_ALLOWED_HOSTS`: comma- or
/// whitespace-separated entries, each `host`, `*.domain`, `http://host` or
/// `http://*.domain`; a port in the URL is allowed by its host's entry).
/// `https://` is required unless the matching entry starts with `http://`.
/// The error says why, for a 400 at save time or a failed delivery at send time.
///
/// Rules: an empty list refuses everything. Hosts compare case-insensitively
/// (one trailing dot ignored). `host` matches that host only; `*.domain`
/// matches every subdomain at any depth but not `domain` itself, and never
/// an IP address. IPv6 is written in brackets (`[2001:db8::1]`, compared as
/// addresses). An entry may name a port (`http://localhost:8787`) to allow
/// only that one; without one it allows every port. An `http://` entry
/// allows both schemes. `*` alone is not an entry: there is no "allow all".
/// Entries of another form are ignored (and listed when a URL is refused).
/// The URL must be absolute `http(s)://`, without user info, whitespace,
/// control characters or backslashes; its host must be ASCII (punycode for
/// IDNs), and an IPv4 address must be in dotted-quad form.
pub fn check_destination(url: &str, allowed_hosts: &str) -> Result<(), String> {
    let mut entries = Vec::new();
    let mut ignored = Vec::new();
    for raw in allowed_hosts
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        match parse_entry(raw) {
            Some(entry) => entries.push(entry),
            None => ignored.push(format!("`{raw}`")),
        }
    }
    let note = if ignored.is_empty() {
        String::new()
    } else {
        format!(
            " (ignored CALLBACK_ALLOWED_HOSTS entries, which are not host, *.domain, \
             http://host or http://*.domain: {})",
            ignored.join(", ")
        )
    };
    if entries.is_empty() {
        return Err(format!(
            "no destination is allowed: set CALLBACK_ALLOWED_HOSTS{note}"
        ));
    }
    let dest = parse_destination(url)?;
    let host_entries: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.host.matches(&dest.host))
        .collect();
    let shown = dest.host.shown();
    if host_entries.is_empty() {
        let prefix = if dest.http { "http://" } else { "" };
        let mut add = format!("`{prefix}{shown}`");
        if let Host::Name(name) = &dest.host {
            if let Some((_, parent)) = name.split_once('.') {
                if parent.contains('.') {
                    add.push_str(&format!(" or `{prefix}*.{parent}`"));
                }
            }
        }
        return Err(format!(
            "callback destination host `{shown}` is not allowed: add {add} to \
             CALLBACK_ALLOWED_HOSTS{note}"
        ));
    }
    let matching: Vec<&&Entry> = host_entries
        .iter()
        .filter(|e| e.port.is_none_or(|p| p == dest.port))
        .collect();
    if matching.is_empty() {
        let prefix = if dest.http { "http://" } else { "" };
        return Err(format!(
            "port {port} of callback destination host `{shown}` is not allowed: add \
             `{prefix}{shown}:{port}` (or `{prefix}{shown}` for every port) to \
             CALLBACK_ALLOWED_HOSTS{note}",
            port = dest.port
        ));
    }
    if dest.http && !matching.iter().any(|e| e.http) {
        return Err(format!(
            "callback destination `{url}` uses plain http, which is refused: use https://, or \
             add `http://{shown}` to CALLBACK_ALLOWED_HOSTS to allow http for this host"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Helpers

#[derive(Debug, Clone, PartialEq)]
enum Host {
    /// Lowercase, without a trailing dot (an IPv4 address is a name here).
    Name(String),
    V6(Ipv6Addr),
}

impl Host {
    fn shown(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::V6(a) => format!("[{a}]"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Pattern {
    Exact(Host),
    /// `*.domain`: the domain, lowercase.
    Wildcard(String),
}

impl Pattern {
    fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (Pattern::Exact(h), host) => h == host,
            (Pattern::Wildcard(domain), Host::Name(name)) => {
                !is_ipv4_form(name)
                    && name.len() > domain.len() + 1
                    && name.ends_with(domain.as_str())
                    && name.as_bytes()[name.len() - domain.len() - 1] == b'.'
            }
            (Pattern::Wildcard(_), Host::V6(_)) => false,
        }
    }
}

/// One `CALLBACK_ALLOWED_HOSTS` entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// Plain http allowed too.
    http: bool,
    host: Pattern,
    port: Option<u16>,
}

fn parse_entry(raw: &str) -> Option<Entry> {
    let lower = raw.to_ascii_lowercase();
    let (http, rest) = match lower.strip_prefix("http://") {
        Some(rest) => (true, rest),
        None => (false, lower.strip_prefix("https://").unwrap_or(&lower)),
    };
    let rest = rest.trim_end_matches('/');
    if let Some(domain) = rest.strip_prefix("*.") {
        let (domain, port) = split_port(domain).ok()?;
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        if !is_host_name(domain) || is_ipv4_form(domain) {
            return None;
        }
        return Some(Entry {
            http,
            host: Pattern::Wildcard(domain.to_owned()),
            port,
        });
    }
    let (host, port) = if rest.matches(':').count() >= 2 && !rest.starts_with('[') {
        // A bare IPv6 address.
        (Host::V6(rest.parse().ok()?), None)
    } else {
        parse_host_port(rest).ok()?
    };
    Some(Entry {
        http,
        host: Pattern::Exact(host),
        port,
    })
}

/// A destination URL's parts that the allow-list looks at.
struct Destination {
    http: bool,
    host: Host,
    /// Explicit or the scheme's default.
    port: u16,
}

fn parse_destination(url: &str) -> Result<Destination, String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the callback URL must not contain spaces or control characters".into());
    }
    if url.contains('\\') {
        return Err("the callback URL must not contain a backslash".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "callback destination `{url}` is not an absolute URL (https://host/path)"
        ));
    };
    let http = if scheme.eq_ignore_ascii_case("https") {
        false
    } else if scheme.eq_ignore_ascii_case("http") {
        true
    } else {
        return Err(format!(
            "callback destination `{url}` must be an https:// URL (http:// only for hosts \
             allow-listed for http)"
        ));
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err(
            "the callback URL must not hold a user name or password (user@host): send \
             credentials in a header such as Authorization"
                .into(),
        );
    }
    if authority.is_empty() {
        return Err(format!("callback destination `{url}` has no host"));
    }
    let (host, port) = parse_host_port(&authority.to_ascii_lowercase()).map_err(|why| {
        format!("callback destination `{url}` has an invalid host or port: {why}")
    })?;
    Ok(Destination {
        http,
        host,
        port: port.unwrap_or(if http { 80 } else { 443 }),
    })
}

/// `host[:port]` or `[v6][:port]`, lowercase.
fn parse_host_port(s: &str) -> Result<(Host, Option<u16>), &'static str> {
    if let Some(inner) = s.strip_prefix('[') {
        let (addr, after) = inner.split_once(']').ok_or("`[` without `]`")?;
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| "not an IPv6 address in brackets")?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after.strip_prefix(':').ok_or("junk after `]`")?,
            )?),
        };
        return Ok((Host::V6(addr), port));
    }
    let (name, port) = split_port(s)?;
    let name = name.strip_suffix('.').unwrap_or(name);
    if !name.is_ascii() {
        return Err("write an internationalized host name in its punycode (xn--) form");
    }
    if !is_host_name(name) {
        return Err("a host name is dot-separated labels of letters, digits, - and _");
    }
    if is_ipv4_form(name) && !is_dotted_quad(name) {
        return Err("write an IPv4 address as four decimal numbers (a.b.c.d)");
    }
    Ok((Host::Name(name.to_owned()), port))
}

fn split_port(s: &str) -> Result<(&str, Option<u16>), &'static str> {
    match s.split_once(':') {
        None => Ok((s, None)),
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
    }
}

fn parse_port(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a port is a number from 1 to 65535");
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("a port is a number from 1 to 65535"),
    }
}

/// Dot-separated non-empty labels of `[a-z0-9_-]`, 253 bytes at most.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether a URL parser would read the host as an IPv4 address: its last
/// label is a number (decimal, or `0x` hex).
fn is_ipv4_form(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or("");
    let hex = last
        .strip_prefix("0x")
        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex.is_some() || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// `a.b.c.d` with each part 0..=255 and no leading zero.
fn is_dotted_quad(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}
