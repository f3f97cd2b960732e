//! `check_destination`: the allow-list.

use super::*;

// ---------------------------------------------------------------------------
// check_destination

#[track_caller]
fn allow_list(list: &str) -> AllowList {
    AllowList::parse(list).unwrap_or_else(|e| panic!("{list:?} should parse: {e}"))
}

#[track_caller]
fn allowed(url: &str, list: &str) {
    if let Err(e) = check_destination(url, &allow_list(list)) {
        panic!("{url} should be allowed by {list:?}: {e}");
    }
}

#[track_caller]
fn refused(url: &str, list: &str, needles: &[&str]) -> String {
    let e = check_destination(url, &allow_list(list))
        .err()
        .unwrap_or_else(|| panic!("{url} should be refused by {list:?}"))
        .to_string();
    for needle in needles {
        assert!(e.contains(needle), "{e:?} should contain {needle:?}");
    }
    e
}

/// The allow-list `list` does not parse; its error names each of `needles`.
#[track_caller]
fn invalid_list(list: &str, needles: &[&str]) -> String {
    let e = AllowList::parse(list)
        .err()
        .unwrap_or_else(|| panic!("{list:?} should not parse"))
        .to_string();
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
    // A wildcard never matches an address: `*.1` is not an entry (it used
    // to be ignored; now the list is refused when the settings are read).
    invalid_list("*.1", &["`*.1`", "entry 1"]);
    refused("https://[::1]/", "*.example.com", &["not allowed"]);
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
        refused(url, "127.0.0.1", &["IPv4"]);
    }
    // `*.0.1` and `*.0.0.1` are not entries: wildcards are for names.
    invalid_list("127.0.0.1, *.0.1", &["`*.0.1` (entry 2)"]);
    invalid_list("*.0.0.1", &["*.0.0.1"]);
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

    // Entries of another form used to be ignored (and listed when a URL was
    // refused); now they make the whole list an error, which lists them.
    let list = "*, ftp://files.example.com, api.example.com/path, user@x.com, api.example.com";
    let e = invalid_list(
        list,
        &[
            "`*`",
            "`ftp://files.example.com`",
            "`api.example.com/path`",
            "`user@x.com`",
        ],
    );
    assert!(
        !e.contains("`api.example.com` "),
        "a valid entry is not listed: {e}"
    );
    allowed("https://api.example.com/", "api.example.com");
    let e = refused("https://other.example.com/", "api.example.com", &[]);
    assert!(
        e.contains("add `other.example.com` or `*.example.com`"),
        "{e}"
    );
    let e = invalid_list("*", &["`*`"]);
    assert!(
        e.starts_with("CALLBACK_ALLOWED_HOSTS entries must be"),
        "{e}"
    );
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

#[test]
fn refusal_messages_are_exactly_as_before() {
    // Written by the string-returning implementation this one replaced.
    for (url, list, want) in [
        (
            "https://api.example.com/",
            "",
            "no destination is allowed: set CALLBACK_ALLOWED_HOSTS",
        ),
        (
            "https://a b/",
            "api.example.com",
            "the callback URL must not contain spaces or control characters",
        ),
        (
            "https://a\\b/",
            "api.example.com",
            "the callback URL must not contain a backslash",
        ),
        (
            "api.example.com",
            "api.example.com",
            "callback destination `api.example.com` is not an absolute URL (https://host/path)",
        ),
        (
            "ftp://x/",
            "api.example.com",
            "callback destination `ftp://x/` must be an https:// URL (http:// only for hosts allow-listed for http)",
        ),
        (
            "https://u@api.example.com/",
            "api.example.com",
            "the callback URL must not hold a user name or password (user@host): send credentials in a header such as Authorization",
        ),
        (
            "https:///x",
            "api.example.com",
            "callback destination `https:///x` has no host",
        ),
        (
            "https://api.example.com:0/",
            "api.example.com",
            "callback destination `https://api.example.com:0/` has an invalid host or port: a port is a number from 1 to 65535",
        ),
        (
            "https://[::1/",
            "api.example.com",
            "callback destination `https://[::1/` has an invalid host or port: `[` without `]`",
        ),
        (
            "https://[::g]/",
            "api.example.com",
            "callback destination `https://[::g]/` has an invalid host or port: not an IPv6 address in brackets",
        ),
        (
            "https://[::1]x/",
            "api.example.com",
            "callback destination `https://[::1]x/` has an invalid host or port: junk after `]`",
        ),
        (
            "https://exämple.com/",
            "api.example.com",
            "callback destination `https://exämple.com/` has an invalid host or port: write an internationalized host name in its punycode (xn--) form",
        ),
        (
            "https://a..b/",
            "api.example.com",
            "callback destination `https://a..b/` has an invalid host or port: a host name is dot-separated labels of letters, digits, - and _",
        ),
        (
            "https://127.1/",
            "api.example.com",
            "callback destination `https://127.1/` has an invalid host or port: write an IPv4 address as four decimal numbers (a.b.c.d)",
        ),
        (
            "https://hooks.partner.io/cb",
            "api.example.com",
            "callback destination host `hooks.partner.io` is not allowed: add `hooks.partner.io` or `*.partner.io` to CALLBACK_ALLOWED_HOSTS",
        ),
        (
            "http://hooks.partner.io/cb",
            "api.example.com",
            "callback destination host `hooks.partner.io` is not allowed: add `http://hooks.partner.io` or `http://*.partner.io` to CALLBACK_ALLOWED_HOSTS",
        ),
        (
            "https://partner.io/cb",
            "api.example.com",
            "callback destination host `partner.io` is not allowed: add `partner.io` to CALLBACK_ALLOWED_HOSTS",
        ),
        (
            "https://[::2]/",
            "[::1]",
            "callback destination host `[::2]` is not allowed: add `[::2]` to CALLBACK_ALLOWED_HOSTS",
        ),
        (
            "http://localhost:9000/",
            "http://localhost:8787",
            "port 9000 of callback destination host `localhost` is not allowed: add `http://localhost:9000` (or `http://localhost` for every port) to CALLBACK_ALLOWED_HOSTS",
        ),
        (
            "https://[2001:db8::1]:9/",
            "[2001:db8::1]:8443",
            "port 9 of callback destination host `[2001:db8::1]` is not allowed: add `[2001:db8::1]:9` (or `[2001:db8::1]` for every port) to CALLBACK_ALLOWED_HOSTS",
        ),
        (
            "http://api.example.com/",
            "api.example.com",
            "callback destination `http://api.example.com/` uses plain http, which is refused: use https://, or add `http://api.example.com` to CALLBACK_ALLOWED_HOSTS to allow http for this host",
        ),
    ] {
        assert_eq!(refused(url, list, &[]), want, "{url} against {list:?}");
    }
}

// ---------------------------------------------------------------------------
// PROCESS_ALLOWED_HOSTS, `*`, and literal addresses in both lists

#[track_caller]
fn process_list(list: &str) -> AllowList {
    AllowList::parse_for(ListKind::Process, list)
        .unwrap_or_else(|e| panic!("{list:?} should parse: {e}"))
}

#[track_caller]
fn process_allowed(url: &str, list: &str) {
    if let Err(e) = check_destination(url, &process_list(list)) {
        panic!("{url} should be allowed by {list:?}: {e}");
    }
}

#[track_caller]
fn process_refused(url: &str, list: &str, needles: &[&str]) -> String {
    let e = check_destination(url, &process_list(list))
        .err()
        .unwrap_or_else(|| panic!("{url} should be refused by {list:?}"));
    assert_eq!(e.list, ListKind::Process);
    let e = e.to_string();
    for needle in needles {
        assert!(e.contains(needle), "{e:?} should contain {needle:?}");
    }
    e
}

/// Literal addresses outside the public ranges, in every form a URL may
/// write them: refused by `*`, with the range named.
const NOT_PUBLIC: &[(&str, &str)] = &[
    ("https://0.0.0.0/", "unspecified"),
    ("https://0.1.2.3/", "this network"),
    ("https://10.0.0.1/hook", "private"),
    ("https://10.255.255.255/", "private"),
    ("https://172.16.0.1/", "private"),
    ("https://172.31.255.254/", "private"),
    ("https://192.168.1.10:8443/", "private"),
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://100.127.255.255/", "carrier-grade NAT"),
    ("https://127.0.0.1/", "loopback"),
    ("https://127.1.2.3/", "loopback"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://192.0.0.8/", "IETF protocol"),
    ("https://192.0.2.1/", "documentation"),
    ("https://198.51.100.7/", "documentation"),
    ("https://203.0.113.9/", "documentation"),
    ("https://198.18.0.1/", "benchmarking"),
    ("https://224.0.0.1/", "multicast"),
    ("https://239.1.2.3/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "broadcast"),
    ("https://[::]/", "unspecified"),
    ("https://[::1]/", "loopback"),
    ("https://[::1]:8080/", "loopback"),
    ("https://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://[::ffff:7f00:1]/", "loopback"),
    ("https://[::ffff:10.0.0.1]/", "private"),
    ("https://[::ffff:169.254.169.254]/", "link-local"),
    ("https://[::ffff:0:127.0.0.1]/", "loopback"),
    ("https://[::127.0.0.1]/", "reserved"),
    ("https://[64:ff9b::127.0.0.1]/", "loopback"),
    ("https://[64:ff9b::a9fe:a9fe]/", "link-local"),
    ("https://[64:ff9b:1::1]/", "private"),
    ("https://[2002:7f00:1::1]/", "loopback"),
    ("https://[2002:a00:1::]/", "private"),
    ("https://[2001::1]/", "IETF protocol"),
    ("https://[2001:db8::1]/", "documentation"),
    ("https://[3fff::1]/", "documentation"),
    ("https://[100::1]/", "reserved"),
    ("https://[fc00::1]/", "unique-local"),
    ("https://[fd12:3456:789a::1]/", "unique-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[fec0::1]/", "unique-local"),
    ("https://[ff02::1]/", "multicast"),
    ("https://[4000::1]/", "reserved"),
    ("https://localhost/", "local-only name"),
    ("https://LOCALHOST:8787/", "local-only name"),
    ("https://localhost./", "local-only name"),
    ("https://app.localhost/", "local-only name"),
    ("https://printer.local/", "local-only name"),
    ("https://nas.home.arpa/", "local-only name"),
    (
        "https://metadata.google.internal/computeMetadata/v1/",
        "local-only name",
    ),
    ("https://metadata/computeMetadata/v1/", "local-only name"),
    ("https://intranet/", "local-only name"),
];

#[test]
fn star_allows_public_hosts_only() {
    for url in [
        "https://api.corezoid.com/api/2/json",
        "https://process.example/hook",
        "https://PROCESS.example:8443/hook?x=1",
        "https://a.b.c.example.org/",
        "https://8.8.8.8/",
        "https://93.184.216.34:444/x",
        "https://[2001:4860:4860::8888]/",
        "https://[::ffff:8.8.8.8]/",
        "https://[64:ff9b::808:808]/",
        "https://[2002:808:808::1]/",
        "https://localhost.example.com/",
    ] {
        process_allowed(url, "*");
    }
    for (url, what) in NOT_PUBLIC {
        let e = process_refused(
            url,
            "*",
            &[what, "`*` does not allow", "PROCESS_ALLOWED_HOSTS"],
        );
        assert!(e.starts_with("process host `"), "{e}");
    }
    let e = process_refused("https://10.0.0.1/hook", "*", &[]);
    assert_eq!(
        e,
        "process host `10.0.0.1` is a private address, which `*` does not allow: add \
         `10.0.0.1` to PROCESS_ALLOWED_HOSTS to allow exactly this host"
    );
    let e = process_refused("http://127.0.0.1:9/hook", "http://*", &[]);
    assert!(e.contains("add `http://127.0.0.1`"), "{e}");
}

#[test]
fn star_requires_https_unless_it_is_http_star() {
    let e = process_refused(
        "http://process.example/hook",
        "*",
        &["plain http", "PROCESS_ALLOWED_HOSTS"],
    );
    assert_eq!(
        e,
        "process URL `http://process.example/hook` uses plain http, which is refused: use \
         https://, or add `http://process.example` to PROCESS_ALLOWED_HOSTS to allow http \
         for this host"
    );
    process_allowed("http://process.example/hook", "http://*");
    process_allowed("https://process.example/hook", "http://*");
    // With a port, only that port.
    process_allowed("https://process.example:8443/", "*:8443");
    process_refused("https://process.example/", "*:8443", &["port 443"]);
}

#[test]
fn a_non_public_address_is_reached_only_when_listed_exactly() {
    // Process lists: exact entries next to `*`.
    process_allowed("http://127.0.0.1:8790/process/echo", "*, http://127.0.0.1");
    process_allowed("https://10.0.0.1/hook", "*, 10.0.0.1");
    process_allowed("https://[::1]/", "*, [::1]");
    process_allowed("https://localhost/", "*, localhost");
    process_allowed("https://metadata/", "metadata");
    process_refused(
        "https://127.0.0.2/",
        "*, 127.0.0.1",
        &["loopback", "`127.0.0.2`"],
    );
    process_refused("https://10.0.0.2/", "*, 10.0.0.1", &["private"]);
    // An address is not its other forms: the mapped form is another host.
    process_refused("https://[::ffff:127.0.0.1]/", "*, 127.0.0.1", &["loopback"]);
    process_refused("https://127.0.0.1/", "*, [::ffff:127.0.0.1]", &["loopback"]);
    // Wildcards never match addresses; `*.localhost` may be listed.
    process_allowed("https://a.localhost/", "*.localhost");
    // Callback lists: only exact entries ever match an address, so one
    // outside the public ranges is reached only when listed exactly, in the
    // very form the URL writes it.
    for (url, _) in NOT_PUBLIC {
        if url.contains("//[") || !url.as_bytes()[8].is_ascii_digit() {
            continue;
        }
        refused(url, "*.example.com, api.example.com", &["not allowed"]);
    }
    allowed("http://10.0.0.1:8080/", "http://10.0.0.1");
    refused(
        "http://[::ffff:10.0.0.1]/",
        "http://10.0.0.1",
        &["not allowed"],
    );
    refused("https://[::ffff:127.0.0.1]/", "127.0.0.1", &["not allowed"]);
}

#[test]
fn integer_hex_and_octal_ipv4_forms_are_refused_in_both_lists() {
    // What URL parsers read as 127.0.0.1 (or another address).
    for url in [
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.1/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://0177.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://127.0.1/",
        "http://127.0.0.01/",
        "http://3232235777/",
        "http://0xa9fea9fe/",
        "http://1.2.3.0x4/",
        "http://134744072/",
    ] {
        refused(url, "http://127.0.0.1, http://*.example.com", &["IPv4"]);
        process_refused(url, "http://*, http://127.0.0.1", &["IPv4"]);
    }
}

#[test]
fn process_list_entries_and_messages() {
    // `*` is an entry of a process list only.
    assert!(AllowList::parse_for(ListKind::Process, "*").is_ok());
    assert!(AllowList::parse_for(ListKind::Process, "http://*, *:8443, api.example.com").is_ok());
    let e = AllowList::parse_for(ListKind::Process, "*, *.*, ftp://x.example, *x")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("PROCESS_ALLOWED_HOSTS entries must be *, http://*, host"),
        "{e}"
    );
    assert!(
        e.contains("`*.*` (entry 2)") && e.contains("`ftp://x.example` (entry 3)"),
        "{e}"
    );
    assert!(e.contains("`*x` (entry 4)"), "{e}");
    invalid_list("*", &["CALLBACK_ALLOWED_HOSTS", "`*`"]);
    assert_eq!(
        AllowList::parse("x.example").unwrap().kind(),
        ListKind::Callback
    );
    assert_eq!(process_list("x.example").kind(), ListKind::Process);
    // Messages name the process URL and the setting.
    for (url, list, want) in [
        (
            "https://hooks.partner.io/cb",
            "api.example.com",
            "process host `hooks.partner.io` is not allowed: add `hooks.partner.io` or \
             `*.partner.io` to PROCESS_ALLOWED_HOSTS",
        ),
        (
            "ftp://x/",
            "*",
            "process URL `ftp://x/` must be an https:// URL (http:// only for hosts \
             allow-listed for http)",
        ),
        (
            "https://u@api.example.com/",
            "*",
            "the process URL must not hold a user name or password (user@host): send \
             credentials in a header such as Authorization",
        ),
        (
            "https://127.1/",
            "*",
            "process URL `https://127.1/` has an invalid host or port: write an IPv4 address \
             as four decimal numbers (a.b.c.d)",
        ),
        (
            "http://localhost:9000/",
            "http://localhost:8787",
            "port 9000 of process host `localhost` is not allowed: add \
             `http://localhost:9000` (or `http://localhost` for every port) to \
             PROCESS_ALLOWED_HOSTS",
        ),
    ] {
        assert_eq!(
            process_refused(url, list, &[]),
            want,
            "{url} against {list:?}"
        );
    }
}
