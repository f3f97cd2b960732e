//! Destinations: the allow-lists (`CALLBACK_ALLOWED_HOSTS` for outbound
//! callbacks and webhook subscriptions, `PROCESS_ALLOWED_HOSTS` for the
//! processes the gateway hands work to), their entries and host patterns,
//! and the check of a URL against one.

use super::address::{self, Range};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which allow-list: it names the setting in messages, says what its URLs
/// are, and decides whether the `*` entry is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListKind {
    /// `CALLBACK_ALLOWED_HOSTS`: outbound callbacks and webhook
    /// subscriptions, whose URLs a channel token's holder may choose, so
    /// there is no `*`.
    #[default]
    Callback,
    /// `PROCESS_ALLOWED_HOSTS`: `recv_svcscriptcode`, `recv_svcscriptcode_ws`
    /// and `COREZOID_API_URL`; `*` allows any public host.
    Process,
}

impl ListKind {
    /// The setting's name.
    pub fn setting(self) -> &'static str {
        match self {
            ListKind::Callback => "CALLBACK_ALLOWED_HOSTS",
            ListKind::Process => "PROCESS_ALLOWED_HOSTS",
        }
    }

    /// What a URL of this list is, in messages (`callback destination`).
    fn url_noun(self) -> &'static str {
        match self {
            ListKind::Callback => "callback destination",
            ListKind::Process => "process URL",
        }
    }

    /// `the callback URL`.
    fn the_url(self) -> &'static str {
        match self {
            ListKind::Callback => "the callback URL",
            ListKind::Process => "the process URL",
        }
    }

    /// `callback destination host`.
    fn host_noun(self) -> &'static str {
        match self {
            ListKind::Callback => "callback destination host",
            ListKind::Process => "process host",
        }
    }

    /// The accepted entry forms, for the error of an unparsable list.
    fn forms(self) -> &'static str {
        match self {
            ListKind::Callback => "host, *.domain, http://host or http://*.domain",
            ListKind::Process => "*, http://*, host, *.domain, http://host or http://*.domain",
        }
    }
}

/// An allow-list setting, parsed once (when the settings are read):
/// `CALLBACK_ALLOWED_HOSTS`, the destinations outbound callbacks and webhook
/// subscriptions may reach, or `PROCESS_ALLOWED_HOSTS`, the processes the
/// gateway may hand work to.
///
/// The setting is comma- or whitespace-separated entries, each `host`,
/// `*.domain`, `http://host` or `http://*.domain`, optionally with a port
/// (`http://localhost:8787`); an `https://` prefix and trailing slashes are
/// allowed and mean nothing. Hosts compare case-insensitively (one trailing
/// dot ignored). `*.domain` never names an IP address. IPv6 is written in
/// brackets (`[2001:db8::1]`) or bare (`2001:db8::1`, no port then). An
/// empty setting is an empty list, which refuses every destination.
///
/// `PROCESS_ALLOWED_HOSTS` also takes `*` (or `http://*`, optionally with a
/// port): any public host, that is any host name but a local-only one
/// ([`address::is_local_name`]: `localhost`, `*.local`, a single label…) and
/// any IP address in [`Range::Public`]. In `CALLBACK_ALLOWED_HOSTS`, whose
/// URLs a channel token's holder may choose, `*` is not an entry: there is
/// no "allow all". In both lists an IP address that is not public (private,
/// loopback, link-local, CGNAT, multicast, documentation, reserved, in any
/// of its forms) is reached only when that exact address is an entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AllowList {
    kind: ListKind,
    entries: Vec<Entry>,
}

impl AllowList {
    /// Reads `CALLBACK_ALLOWED_HOSTS` ([`AllowList::parse_for`] with
    /// [`ListKind::Callback`]).
    pub fn parse(raw: &str) -> Result<AllowList, AllowListError> {
        Self::parse_for(ListKind::Callback, raw)
    }

    /// Reads the setting's value. Every entry must be of one of the forms
    /// above; the error lists those that are not (they used to be ignored
    /// at each check).
    pub fn parse_for(kind: ListKind, raw: &str) -> Result<AllowList, AllowListError> {
        let mut entries = Vec::new();
        let mut invalid = Vec::new();
        for (i, text) in raw
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            match parse_entry(kind, text) {
                Some(entry) => entries.push(entry),
                None => invalid.push(InvalidEntry {
                    position: i + 1,
                    text: text.to_owned(),
                }),
            }
        }
        if invalid.is_empty() {
            Ok(AllowList { kind, entries })
        } else {
            Err(AllowListError { kind, invalid })
        }
    }

    /// True when the list allows no destination at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Which setting the list is.
    pub fn kind(&self) -> ListKind {
        self.kind
    }
}

/// An allow-list setting holds entries of no accepted form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowListError {
    /// Which setting.
    pub kind: ListKind,
    /// The entries refused, in the setting's order.
    pub invalid: Vec<InvalidEntry>,
}

/// One entry of an allow-list that is of none of its accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEntry {
    /// 1-based position among the setting's entries.
    pub position: usize,
    /// The entry as written.
    pub text: String,
}

impl fmt::Display for AllowListError {
    /// Names each refused entry: for the operator, who wrote them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries must be {}; these are not:",
            self.kind.setting(),
            self.kind.forms()
        )?;
        for (i, e) in self.invalid.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}`{}` (entry {})", e.text, e.position)?;
        }
        Ok(())
    }
}

/// A URL an allow-list refuses: which list, and why. The `Display` text is
/// what a caller sees (in a 400 at save time, a 422 at send time, or a
/// failed delivery's error), and says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The list that refused it.
    pub list: ListKind,
    /// Why.
    pub reason: DestinationError,
}

/// Why an allow-list refuses a URL (see [`Refused`], which says it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationError {
    /// The allow-list is empty: nothing may be reached.
    NoneAllowed,
    /// The URL holds whitespace or a control character.
    SpaceOrControl,
    /// The URL holds a backslash (which URL parsers read differently).
    Backslash,
    /// The URL has no `scheme://`.
    NotAbsolute {
        /// The URL as given.
        url: String,
    },
    /// The scheme is neither `https` nor `http`.
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// The authority holds user info (`user@host`).
    UserInfo,
    /// Nothing between `://` and the path.
    NoHost {
        /// The URL as given.
        url: String,
    },
    /// The host or port cannot be read.
    BadHost {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: HostError,
    },
    /// No entry names the host.
    HostNotAllowed {
        /// The host as compared (lowercase; IPv6 in brackets).
        host: String,
        /// The URL is plain http (so is the entry to add).
        http: bool,
        /// The parent domain, for a `*.parent` suggestion, when it has a dot.
        parent: Option<String>,
    },
    /// Entries name the host, but none allows the URL's port.
    PortNotAllowed {
        /// The host as compared (lowercase; IPv6 in brackets).
        host: String,
        /// The URL's port (explicit, or the scheme's default).
        port: u16,
        /// The URL is plain http (so is the entry to add).
        http: bool,
    },
    /// The URL is plain http and no matching entry allows http.
    PlainHttp {
        /// The URL as given.
        url: String,
        /// The host as compared (lowercase; IPv6 in brackets).
        host: String,
    },
    /// Only `*` could have allowed the host, and it is no public one: an IP
    /// address outside [`Range::Public`], or a local-only name.
    NotPublic {
        /// The host as compared (lowercase; IPv6 in brackets).
        host: String,
        /// What it is: `a loopback address`, `a local-only name`.
        what: &'static str,
        /// The URL is plain http (so is the entry to add).
        http: bool,
    },
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = |http: bool| if http { "http://" } else { "" };
        let (setting, noun, the_url, host_noun) = (
            self.list.setting(),
            self.list.url_noun(),
            self.list.the_url(),
            self.list.host_noun(),
        );
        match &self.reason {
            DestinationError::NoneAllowed => {
                write!(f, "no destination is allowed: set {setting}")
            }
            DestinationError::SpaceOrControl => {
                write!(f, "{the_url} must not contain spaces or control characters")
            }
            DestinationError::Backslash => write!(f, "{the_url} must not contain a backslash"),
            DestinationError::NotAbsolute { url } => write!(
                f,
                "{noun} `{url}` is not an absolute URL (https://host/path)"
            ),
            DestinationError::Scheme { url } => write!(
                f,
                "{noun} `{url}` must be an https:// URL (http:// only for hosts allow-listed for \
                 http)"
            ),
            DestinationError::UserInfo => write!(
                f,
                "{the_url} must not hold a user name or password (user@host): send credentials \
                 in a header such as Authorization",
            ),
            DestinationError::NoHost { url } => write!(f, "{noun} `{url}` has no host"),
            DestinationError::BadHost { url, why } => {
                write!(f, "{noun} `{url}` has an invalid host or port: {why}")
            }
            DestinationError::HostNotAllowed { host, http, parent } => {
                let p = prefix(*http);
                write!(f, "{host_noun} `{host}` is not allowed: add `{p}{host}`")?;
                if let Some(parent) = parent {
                    write!(f, " or `{p}*.{parent}`")?;
                }
                write!(f, " to {setting}")
            }
            DestinationError::PortNotAllowed { host, port, http } => {
                let p = prefix(*http);
                write!(
                    f,
                    "port {port} of {host_noun} `{host}` is not allowed: add \
                     `{p}{host}:{port}` (or `{p}{host}` for every port) to {setting}"
                )
            }
            DestinationError::PlainHttp { url, host } => write!(
                f,
                "{noun} `{url}` uses plain http, which is refused: use https://, or add \
                 `http://{host}` to {setting} to allow http for this host"
            ),
            DestinationError::NotPublic { host, what, http } => write!(
                f,
                "{host_noun} `{host}` is {what}, which `*` does not allow: add `{}{host}` to \
                 {setting} to allow exactly this host",
                prefix(*http)
            ),
        }
    }
}

/// Why the host or port of a URL (or an allow-list entry) cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostError {
    /// `[` without its `]`.
    UnclosedBracket,
    /// What the brackets hold is not an IPv6 address.
    NotIpv6,
    /// Something other than `:port` after `]`.
    JunkAfterBracket,
    /// A non-ASCII host name (IDNs must be in punycode).
    NotPunycode,
    /// Not dot-separated labels of letters, digits, `-` and `_`.
    NotHostName,
    /// A number-like host that is not a dotted quad.
    NotDottedQuad,
    /// The port is not a number from 1 to 65535.
    BadPort,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostError::UnclosedBracket => "`[` without `]`",
            HostError::NotIpv6 => "not an IPv6 address in brackets",
            HostError::JunkAfterBracket => "junk after `]`",
            HostError::NotPunycode => {
                "write an internationalized host name in its punycode (xn--) form"
            }
            HostError::NotHostName => {
                "a host name is dot-separated labels of letters, digits, - and _"
            }
            HostError::NotDottedQuad => "write an IPv4 address as four decimal numbers (a.b.c.d)",
            HostError::BadPort => "a port is a number from 1 to 65535",
        })
    }
}

/// Checks `url` against the allow-list. `https://` is required unless the
/// matching entry starts with `http://`. The error says why, for a 400 at
/// save time or a failed delivery at send time.
///
/// Rules: an empty list refuses everything (whatever the URL). `host`
/// matches that host only; `*.domain` matches every subdomain at any depth
/// but not `domain` itself, and never an IP address; `*` (process lists
/// only) matches every public host (see [`AllowList`]). IPv6 addresses
/// compare as addresses. An entry with a port allows only that one; without
/// one it allows every port (a URL without a port has its scheme's
/// default). An `http://` entry allows both schemes. The URL must be
/// absolute `http(s)://`, without user info, whitespace, control characters
/// or backslashes; its host must be ASCII (punycode for IDNs), and an IPv4
/// address must be in dotted-quad form (the decimal, hex and octal forms a
/// URL parser also reads as addresses, `2130706433` or `0x7f.1`, are
/// refused whatever the list).
pub fn check_destination(url: &str, allowed: &AllowList) -> Result<(), Refused> {
    check(url, allowed).map_err(|reason| Refused {
        list: allowed.kind,
        reason,
    })
}

fn check(url: &str, allowed: &AllowList) -> Result<(), DestinationError> {
    if allowed.is_empty() {
        return Err(DestinationError::NoneAllowed);
    }
    let dest = parse_destination(url)?;
    let host_entries: Vec<&Entry> = allowed
        .entries
        .iter()
        .filter(|e| e.host.matches(&dest.host))
        .collect();
    let shown = dest.host.shown();
    if host_entries.is_empty() {
        if allowed.entries.iter().any(|e| e.host == Pattern::Public) {
            if let Some(what) = dest.host.not_public() {
                return Err(DestinationError::NotPublic {
                    host: shown,
                    what,
                    http: dest.http,
                });
            }
        }
        let parent = match &dest.host {
            Host::Name(name) => name
                .split_once('.')
                .map(|(_, parent)| parent)
                .filter(|parent| parent.contains('.'))
                .map(str::to_owned),
            Host::V6(_) => None,
        };
        return Err(DestinationError::HostNotAllowed {
            host: shown,
            http: dest.http,
            parent,
        });
    }
    let matching: Vec<&&Entry> = host_entries
        .iter()
        .filter(|e| e.port.is_none_or(|p| p == dest.port))
        .collect();
    if matching.is_empty() {
        return Err(DestinationError::PortNotAllowed {
            host: shown,
            port: dest.port,
            http: dest.http,
        });
    }
    if dest.http && !matching.iter().any(|e| e.http) {
        return Err(DestinationError::PlainHttp {
            url: url.to_owned(),
            host: shown,
        });
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

    /// What the host is when it is no public one (an IP address outside
    /// [`Range::Public`], or a local-only name); None for a public host.
    fn not_public(&self) -> Option<&'static str> {
        let range = match self {
            Host::V6(a) => address::classify(IpAddr::V6(*a)),
            Host::Name(n) => match n.parse::<Ipv4Addr>() {
                Ok(a) => address::classify_v4(a),
                Err(_) if address::is_local_name(n) => return Some("a local-only name"),
                Err(_) => Range::Public,
            },
        };
        (!range.is_public()).then(|| range.describe())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Pattern {
    Exact(Host),
    /// `*.domain`: the domain, lowercase.
    Wildcard(String),
    /// `*` (process lists only): every public host.
    Public,
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
            (Pattern::Public, host) => host.not_public().is_none(),
        }
    }
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// Plain http allowed too.
    http: bool,
    host: Pattern,
    port: Option<u16>,
}

fn parse_entry(kind: ListKind, raw: &str) -> Option<Entry> {
    let lower = raw.to_ascii_lowercase();
    let (http, rest) = match lower.strip_prefix("http://") {
        Some(rest) => (true, rest),
        None => (false, lower.strip_prefix("https://").unwrap_or(&lower)),
    };
    let rest = rest.trim_end_matches('/');
    if kind == ListKind::Process && (rest == "*" || rest.starts_with("*:")) {
        let (_, port) = split_port(rest).ok()?;
        return Some(Entry {
            http,
            host: Pattern::Public,
            port,
        });
    }
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

fn parse_destination(url: &str) -> Result<Destination, DestinationError> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DestinationError::SpaceOrControl);
    }
    if url.contains('\\') {
        return Err(DestinationError::Backslash);
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(DestinationError::NotAbsolute {
            url: url.to_owned(),
        });
    };
    let http = if scheme.eq_ignore_ascii_case("https") {
        false
    } else if scheme.eq_ignore_ascii_case("http") {
        true
    } else {
        return Err(DestinationError::Scheme {
            url: url.to_owned(),
        });
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err(DestinationError::UserInfo);
    }
    if authority.is_empty() {
        return Err(DestinationError::NoHost {
            url: url.to_owned(),
        });
    }
    let (host, port) = parse_host_port(&authority.to_ascii_lowercase()).map_err(|why| {
        DestinationError::BadHost {
            url: url.to_owned(),
            why,
        }
    })?;
    Ok(Destination {
        http,
        host,
        port: port.unwrap_or(if http { 80 } else { 443 }),
    })
}

/// `host[:port]` or `[v6][:port]`, lowercase.
fn parse_host_port(s: &str) -> Result<(Host, Option<u16>), HostError> {
    if let Some(inner) = s.strip_prefix('[') {
        let (addr, after) = inner.split_once(']').ok_or(HostError::UnclosedBracket)?;
        let addr: Ipv6Addr = addr.parse().map_err(|_| HostError::NotIpv6)?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after.strip_prefix(':').ok_or(HostError::JunkAfterBracket)?,
            )?),
        };
        return Ok((Host::V6(addr), port));
    }
    let (name, port) = split_port(s)?;
    let name = name.strip_suffix('.').unwrap_or(name);
    if !name.is_ascii() {
        return Err(HostError::NotPunycode);
    }
    if !is_host_name(name) {
        return Err(HostError::NotHostName);
    }
    if is_ipv4_form(name) && !is_dotted_quad(name) {
        return Err(HostError::NotDottedQuad);
    }
    Ok((Host::Name(name.to_owned()), port))
}

fn split_port(s: &str) -> Result<(&str, Option<u16>), HostError> {
    match s.split_once(':') {
        None => Ok((s, None)),
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
    }
}

fn parse_port(s: &str) -> Result<u16, HostError> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostError::BadPort);
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(HostError::BadPort),
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
