//! `outbound::address`: the range of a literal IP address, local-only
//! names, and loopback origins.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use syncbridge_core::outbound::address::{
    classify, classify_v4, classify_v6, is_local_name, is_loopback_origin, Range,
};

#[track_caller]
fn v4(s: &str) -> Range {
    classify_v4(s.parse::<Ipv4Addr>().unwrap())
}

#[track_caller]
fn v6(s: &str) -> Range {
    classify_v6(s.parse::<Ipv6Addr>().unwrap())
}

#[test]
fn ipv4_ranges() {
    for (ip, want) in [
        ("0.0.0.0", Range::Unspecified),
        ("0.1.2.3", Range::ThisNetwork),
        ("0.255.255.255", Range::ThisNetwork),
        ("10.0.0.1", Range::Private),
        ("10.254.0.0", Range::Private),
        ("10.255.255.255", Range::Private),
        ("100.63.255.255", Range::Public),
        ("100.64.0.0", Range::SharedCgnat),
        ("100.100.0.0", Range::SharedCgnat),
        ("100.127.255.255", Range::SharedCgnat),
        ("100.128.0.0", Range::Public),
        ("127.0.0.1", Range::Loopback),
        ("127.255.255.254", Range::Loopback),
        ("169.254.169.254", Range::LinkLocal),
        ("169.254.45.1", Range::LinkLocal),
        ("169.253.0.1", Range::Public),
        ("172.15.255.255", Range::Public),
        ("172.16.0.0", Range::Private),
        ("172.16.10.65", Range::Private),
        ("172.31.255.255", Range::Private),
        ("172.32.0.0", Range::Public),
        ("192.0.0.0", Range::IetfProtocol),
        ("192.0.0.255", Range::IetfProtocol),
        ("192.0.1.1", Range::Public),
        ("192.0.2.255", Range::Documentation),
        ("192.88.99.1", Range::Reserved),
        ("192.167.255.255", Range::Public),
        ("192.168.0.1", Range::Private),
        ("192.168.10.65", Range::Private),
        ("198.17.255.255", Range::Public),
        ("198.18.0.0", Range::Benchmarking),
        ("198.19.255.255", Range::Benchmarking),
        ("198.20.0.0", Range::Public),
        ("198.51.100.65", Range::Documentation),
        ("203.0.113.6", Range::Documentation),
        ("224.0.0.1", Range::Multicast),
        ("239.255.255.250", Range::Multicast),
        ("240.0.0.1", Range::Reserved),
        ("250.10.20.30", Range::Reserved),
        ("255.255.255.254", Range::Reserved),
        ("255.255.255.255", Range::Broadcast),
        ("1.1.1.1", Range::Public),
        ("8.8.8.8", Range::Public),
        ("93.184.216.34", Range::Public),
        ("223.255.255.255", Range::Public),
    ] {
        assert_eq!(v4(ip), want, "{ip}");
        assert_eq!(want.is_public(), want == Range::Public);
    }
}

#[test]
fn ipv6_ranges() {
    for (ip, want) in [
        ("::", Range::Unspecified),
        ("::1", Range::Loopback),
        ("0:0:0:0:0:0:0:1", Range::Loopback),
        ("::2", Range::Reserved),
        // IPv4-compatible (deprecated).
        ("::127.0.0.1", Range::Reserved),
        ("::8.8.8.8", Range::Reserved),
        // IPv4-mapped and translated: the range of the IPv4 address.
        ("::ffff:127.0.0.1", Range::Loopback),
        ("::ffff:7f00:1", Range::Loopback),
        ("::ffff:10.1.2.3", Range::Private),
        ("::ffff:169.254.169.254", Range::LinkLocal),
        ("::ffff:0.0.0.1", Range::ThisNetwork),
        ("::ffff:8.8.8.8", Range::Public),
        ("::ffff:0:127.0.0.1", Range::Loopback),
        ("::ffff:0:8.8.8.8", Range::Public),
        // NAT64 (well-known prefix) reaches its IPv4 address; local-use NAT64 is private.
        ("64:ff9b::127.0.0.1", Range::Loopback),
        ("64:ff9b::192.168.1.1", Range::Private),
        ("64:ff9b::8.8.8.8", Range::Public),
        ("64:ff9b:1::1", Range::Private),
        ("100::1", Range::Reserved),
        ("2001::1", Range::IetfProtocol),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Range::IetfProtocol),
        ("2001:1ff::1", Range::IetfProtocol),
        ("2001:200::1", Range::Public),
        ("2001:db8::1", Range::Documentation),
        ("2001:db8:ffff::1", Range::Documentation),
        ("3fff::1", Range::Documentation),
        ("3fff:fff::1", Range::Documentation),
        ("3fff:1000::1", Range::Public),
        // 6to4: the range of the embedded IPv4 address.
        ("2002:7f00:1::1", Range::Loopback),
        ("2002:c0a8:101::1", Range::Private),
        ("2002:808:808::1", Range::Public),
        ("5f00::1", Range::Reserved),
        ("fc00::1", Range::UniqueLocal),
        ("fd12:3456::1", Range::UniqueLocal),
        ("fe80::1", Range::LinkLocal),
        ("febf::1", Range::LinkLocal),
        ("fec0::1", Range::UniqueLocal),
        ("ff02::1", Range::Multicast),
        ("ff0e::1", Range::Multicast),
        ("2001:4860:4860::8888", Range::Public),
        ("2606:4700:4700::1111", Range::Public),
        ("3ffe::1", Range::Public),
        ("4000::1", Range::Reserved),
        ("1::1", Range::Reserved),
        ("e000::1", Range::Reserved),
    ] {
        assert_eq!(v6(ip), want, "{ip}");
    }
    assert_eq!(
        classify(IpAddr::V6("::ffff:192.168.0.1".parse().unwrap())),
        Range::Private
    );
    assert_eq!(
        classify(IpAddr::V4("192.168.0.1".parse().unwrap())),
        Range::Private
    );
}

#[test]
fn every_range_says_what_it_is() {
    for (r, needle) in [
        (Range::Loopback, "loopback"),
        (Range::Private, "private"),
        (Range::LinkLocal, "link-local"),
        (Range::SharedCgnat, "carrier-grade NAT"),
        (Range::Multicast, "multicast"),
        (Range::Documentation, "documentation"),
        (Range::Reserved, "reserved"),
        (Range::UniqueLocal, "unique-local"),
    ] {
        assert!(r.to_string().contains(needle), "{r:?}: {r}");
    }
}

#[test]
fn local_only_names() {
    for name in [
        "localhost",
        "a.localhost",
        "printer.local",
        "nas.home.arpa",
        "metadata.google.internal",
        "metadata",
        "intranet",
        "local",
        "internal",
    ] {
        assert!(is_local_name(name), "{name}");
    }
    for name in [
        "example.com",
        "localhost.example.com",
        "local.example.com",
        "internal.example.com",
        "api.corezoid.com",
        "mylocal.com",
        "x.notlocal",
        "x.localhostx",
    ] {
        assert!(!is_local_name(name), "{name}");
    }
}

#[test]
fn loopback_origins() {
    for origin in [
        "http://127.0.0.1:8787",
        "http://127.0.0.1",
        "https://127.1.2.3:443",
        "http://localhost:8787",
        "http://LOCALHOST",
        "http://[::1]:8787",
        "http://[::1]",
    ] {
        assert!(is_loopback_origin(origin), "{origin}");
    }
    for origin in [
        "http://evil.example",
        "http://evil.example:8787",
        "https://gw.example.com",
        "http://128.0.0.1",
        "http://10.0.0.1:8787",
        "http://localhost.evil.example",
        "http://a.localhost",
        "http://[::2]:8787",
        "http://[::ffff:127.0.0.1]",
        "http://127.0.0.1.evil.example",
        "http://2130706433",
        "null",
        "",
        "localhost",
    ] {
        assert!(!is_loopback_origin(origin), "{origin}");
    }
}
