//! Literal IP addresses and special names in URLs: which range an address
//! is in (private, loopback, link-local, CGNAT, multicast, documentation,
//! reserved…), after the ranges of the IANA special-purpose registries, and
//! which host names only ever name something local. The allow-lists
//! ([`super::destination`]) refuse such hosts under their `*` entry, and
//! the gateway's own origin may be a loopback one without `PUBLIC_URL`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The range an IP address is in. Only [`Range::Public`] is reachable on
/// the Internet; every other one names something local, nothing, or many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// A globally routable unicast address.
    Public,
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `0.0.0.0/8`: "this network".
    ThisNetwork,
    /// `10/8`, `172.16/12`, `192.168/16` (RFC 1918); `64:ff9b:1::/48`.
    Private,
    /// `100.64/10`: carrier-grade NAT (RFC 6598).
    SharedCgnat,
    /// `127/8`, `::1`.
    Loopback,
    /// `169.254/16`, `fe80::/10` (cloud metadata services live here).
    LinkLocal,
    /// `fc00::/7` (RFC 4193), and the deprecated site-local `fec0::/10`.
    UniqueLocal,
    /// `192.0.0.0/24`, `2001::/23`: IETF protocol assignments (Teredo among them).
    IetfProtocol,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18/15` (RFC 2544).
    Benchmarking,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240/4`, `192.88.99.0/24`, `100::/64`, `5f00::/16`, IPv4-compatible
    /// `::a.b.c.d`, and IPv6 outside `2000::/3` not named above.
    Reserved,
}

impl Range {
    /// True for [`Range::Public`] only.
    pub fn is_public(self) -> bool {
        self == Range::Public
    }

    /// What the range is, after "is": `a loopback address`.
    pub fn describe(self) -> &'static str {
        match self {
            Range::Public => "a public address",
            Range::Unspecified => "the unspecified address",
            Range::ThisNetwork => "an address of \"this network\" (0.0.0.0/8)",
            Range::Private => "a private address",
            Range::SharedCgnat => "a carrier-grade NAT address (100.64.0.0/10)",
            Range::Loopback => "a loopback address",
            Range::LinkLocal => "a link-local address",
            Range::UniqueLocal => "a unique-local (private) IPv6 address",
            Range::IetfProtocol => "an IETF protocol-assignment address",
            Range::Documentation => "a documentation address",
            Range::Benchmarking => "a benchmarking address (198.18.0.0/15)",
            Range::Multicast => "a multicast address",
            Range::Broadcast => "the broadcast address",
            Range::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The range of `ip`. An IPv6 address that embeds an IPv4 one (mapped
/// `::ffff:a.b.c.d`, translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`,
/// 6to4 `2002::/16`) is in the range of the address it embeds.
pub fn classify(ip: IpAddr) -> Range {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The range of an IPv4 address.
pub fn classify_v4(ip: Ipv4Addr) -> Range {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_unspecified() => Range::Unspecified,
        _ if ip.is_broadcast() => Range::Broadcast,
        (0, _, _) => Range::ThisNetwork,
        (10, _, _) => Range::Private,
        (100, 64..=127, _) => Range::SharedCgnat,
        (127, _, _) => Range::Loopback,
        (169, 254, _) => Range::LinkLocal,
        (172, 16..=31, _) => Range::Private,
        (192, 0, 0) => Range::IetfProtocol,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Range::Documentation,
        (192, 88, 99) => Range::Reserved,
        (192, 168, _) => Range::Private,
        (198, 18..=19, _) => Range::Benchmarking,
        (224..=239, _, _) => Range::Multicast,
        (240..=255, _, _) => Range::Reserved,
        _ => Range::Public,
    }
}

/// The range of an IPv6 address.
pub fn classify_v6(ip: Ipv6Addr) -> Range {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| {
        classify_v4(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        ))
    };
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => Range::Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => Range::Loopback,
        // IPv4-mapped and IPv4-translated.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] => embedded(hi, lo),
        // IPv4-compatible (deprecated): never routed.
        [0, 0, 0, 0, 0, 0, _, _] => Range::Reserved,
        // NAT64, well-known prefix: the IPv4 address it reaches.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
        [0x64, 0xff9b, 1, ..] => Range::Private,
        [0x100, 0, 0, 0, ..] => Range::Reserved,
        [0x2001, 0xdb8, ..] => Range::Documentation,
        [0x2001, x, ..] if x < 0x200 => Range::IetfProtocol,
        // 6to4: the IPv4 address of the relay it goes through.
        [0x2002, hi, lo, ..] => embedded(hi, lo),
        [0x3fff, x, ..] if x & 0xf000 == 0 => Range::Documentation,
        [0x5f00, ..] => Range::Reserved,
        [x, ..] if x & 0xfe00 == 0xfc00 => Range::UniqueLocal,
        [x, ..] if x & 0xffc0 == 0xfe80 => Range::LinkLocal,
        [x, ..] if x & 0xffc0 == 0xfec0 => Range::UniqueLocal,
        [x, ..] if x & 0xff00 == 0xff00 => Range::Multicast,
        // Global unicast is 2000::/3; the rest is reserved by IANA.
        [x, ..] if x & 0xe000 == 0x2000 => Range::Public,
        _ => Range::Reserved,
    }
}

/// True for host names that only ever name something local, whatever DNS
/// says: `localhost` and `*.localhost` (RFC 6761), `*.local` (mDNS),
/// `*.home.arpa` (RFC 8375), `*.internal` (reserved for private use), and
/// any single-label name (`metadata`, `intranet`: resolved through the
/// local search domains). `name` is lowercase, without a trailing dot.
pub fn is_local_name(name: &str) -> bool {
    let ends = |suffix: &str| name == suffix.trim_start_matches('.') || name.ends_with(suffix);
    !name.contains('.')
        || ends(".localhost")
        || ends(".local")
        || ends(".home.arpa")
        || ends(".internal")
}

/// True when `origin` (`scheme://host[:port]`, as a URL's origin is
/// serialised) names a loopback host: `localhost`, an address in
/// `127.0.0.0/8`, or `[::1]`.
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some((_, rest)) = origin.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, _)) => return addr.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback()),
            None => return false,
        },
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|a| classify_v4(a) == Range::Loopback)
}
