//! `decide`: the retry policy.

use super::*;

// ---------------------------------------------------------------------------
// decide

fn policy(schedule: Schedule, interval_s: u64, max_attempts: u32, jitter: f64) -> RetryPolicy {
    RetryPolicy {
        schedule,
        interval_s,
        max_attempts,
        jitter,
        success: Success::Only200,
    }
}

fn retry(delay_s: u64) -> Verdict {
    Verdict::Retry { delay_s }
}

const NOW: u64 = 1_445_412_480 - 1000; // 1000 s before Wed, 21 Oct 2015 07:28:00 GMT

#[test]
fn corteos_defaults_retry_every_300_s_ten_times_on_anything_but_200() {
    let p = RetryPolicy::default();
    for attempt in 1..=9 {
        for status in [
            None,
            Some(500),
            Some(201),
            Some(204),
            Some(302),
            Some(404),
            Some(429),
        ] {
            assert_eq!(decide(&p, attempt, status, None, NOW, 0.7), retry(300));
        }
        assert_eq!(
            decide(&p, attempt, Some(200), None, NOW, 0.5),
            Verdict::Delivered
        );
    }
    assert_eq!(decide(&p, 10, Some(500), None, NOW, 0.0), Verdict::Dead);
    assert_eq!(decide(&p, 10, None, None, NOW, 0.0), Verdict::Dead);
    assert_eq!(decide(&p, 11, Some(500), None, NOW, 0.0), Verdict::Dead);
    assert_eq!(
        decide(&p, 10, Some(200), None, NOW, 0.0),
        Verdict::Delivered
    );
}

#[test]
fn gone_stops_at_once() {
    let p = RetryPolicy::default();
    for attempt in [1, 5, 10] {
        assert_eq!(
            decide(&p, attempt, Some(410), Some("60"), NOW, 0.0),
            Verdict::Stop
        );
    }
    let mut any = p.clone();
    any.success = Success::Any2xx;
    assert_eq!(decide(&any, 1, Some(410), None, NOW, 0.0), Verdict::Stop);
}

#[test]
fn success_200_versus_2xx() {
    let only = RetryPolicy::default();
    let any = RetryPolicy {
        success: Success::Any2xx,
        ..RetryPolicy::default()
    };
    for (status, only_ok, any_ok) in [
        (200, true, true),
        (201, false, true),
        (202, false, true),
        (204, false, true),
        (299, false, true),
        (199, false, false),
        (300, false, false),
        (304, false, false),
        (400, false, false),
        (503, false, false),
    ] {
        let want = |ok| if ok { Verdict::Delivered } else { retry(300) };
        assert_eq!(
            decide(&only, 1, Some(status), None, NOW, 0.0),
            want(only_ok),
            "{status}"
        );
        assert_eq!(
            decide(&any, 1, Some(status), None, NOW, 0.0),
            want(any_ok),
            "{status}"
        );
    }
}

#[test]
fn interval_schedule_is_flat() {
    let p = policy(Schedule::Interval, 45, 100, 0.0);
    for attempt in 1..100 {
        assert_eq!(decide(&p, attempt, Some(500), None, NOW, 0.9), retry(45));
    }
    assert_eq!(decide(&p, 100, Some(500), None, NOW, 0.9), Verdict::Dead);
}

#[test]
fn exponential_schedule_doubles_up_to_the_cap() {
    let p = policy(Schedule::Exponential, 60, 100, 0.0);
    let table = [
        (1, 60),
        (2, 120),
        (3, 240),
        (4, 480),
        (5, 960),
        (6, 1920),
        (7, 3840),
        (8, 7680),
        (9, 15360),
        (10, 30720),
        (11, MAX_DELAY_S),
        (12, MAX_DELAY_S),
        (63, MAX_DELAY_S),
        (64, MAX_DELAY_S),
        (65, MAX_DELAY_S),
        (99, MAX_DELAY_S),
    ];
    for (attempt, want) in table {
        assert_eq!(
            decide(&p, attempt, None, None, NOW, 0.0),
            retry(want),
            "attempt {attempt}"
        );
    }
    let p = policy(Schedule::Exponential, MAX_DELAY_S, 5, 0.0);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.0), retry(MAX_DELAY_S));
    assert_eq!(decide(&p, 4, None, None, NOW, 0.0), retry(MAX_DELAY_S));
    assert_eq!(decide(&p, 5, None, None, NOW, 0.0), Verdict::Dead);
}

#[test]
fn jitter_adds_up_to_its_fraction() {
    let p = policy(Schedule::Interval, 300, 10, 0.2);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.0), retry(300));
    assert_eq!(decide(&p, 1, None, None, NOW, 0.5), retry(330));
    assert_eq!(decide(&p, 1, None, None, NOW, 0.999), retry(359));
    let p = policy(Schedule::Exponential, 100, 10, 0.2);
    assert_eq!(decide(&p, 3, None, None, NOW, 0.0), retry(400));
    assert_eq!(decide(&p, 3, None, None, NOW, 0.999), retry(479));
    for i in 0..1000 {
        let random = f64::from(i) / 1000.0;
        for attempt in 1..10 {
            let base = (100u64 << (attempt - 1)).min(MAX_DELAY_S);
            let Verdict::Retry { delay_s } = decide(&p, attempt, None, None, NOW, random) else {
                panic!("expected a retry");
            };
            assert!(delay_s >= base, "{delay_s} < {base}");
            assert!(
                delay_s < base + base / 5 + 1,
                "{delay_s} too long for {base}"
            );
            assert!(delay_s <= MAX_DELAY_S);
        }
    }
    // Full jitter, still capped.
    let p = policy(Schedule::Interval, MAX_DELAY_S, 10, 1.0);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.999), retry(MAX_DELAY_S));
    let p = policy(Schedule::Interval, 100, 10, 1.0);
    assert_eq!(decide(&p, 1, None, None, NOW, 0.999), retry(199));
    // Out-of-range randomness is clamped, never panics or overflows.
    for random in [-1.0, 1.0, 2.0, f64::NAN, f64::INFINITY] {
        let Verdict::Retry { delay_s } = decide(&p, 1, None, None, NOW, random) else {
            panic!();
        };
        assert!((100..200).contains(&delay_s), "{random}: {delay_s}");
    }
}

#[test]
fn retry_after_in_seconds_wins_when_longer() {
    let p = RetryPolicy::default();
    for (header, want) in [
        ("600", 600),
        (" 600 ", 600),
        ("301", 301),
        ("300", 300),
        ("60", 300),
        ("0", 300),
        ("43200", MAX_DELAY_S),
        ("43201", MAX_DELAY_S),
        ("99999999999999999999999999", MAX_DELAY_S),
        ("", 300),
        ("-600", 300),
        ("600s", 300),
        ("6e2", 300),
        ("600.5", 300),
        ("soon", 300),
        ("+600", 300),
    ] {
        for status in [None, Some(429), Some(503)] {
            assert_eq!(
                decide(&p, 1, status, Some(header), NOW, 0.0),
                retry(want),
                "Retry-After {header:?}"
            );
        }
    }
    // Attempts used up: dead whatever the receiver asks.
    assert_eq!(
        decide(&p, 10, Some(503), Some("60"), NOW, 0.0),
        Verdict::Dead
    );
    // The comparison is with the jittered delay.
    let p = policy(Schedule::Interval, 300, 10, 0.2);
    assert_eq!(decide(&p, 1, None, Some("320"), NOW, 0.5), retry(330));
    assert_eq!(decide(&p, 1, None, Some("340"), NOW, 0.5), retry(340));
}

#[test]
fn retry_after_as_an_http_date() {
    let p = RetryPolicy::default();
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    assert_eq!(decide(&p, 1, Some(503), Some(date), NOW, 0.0), retry(1000));
    assert_eq!(
        decide(&p, 1, Some(503), Some(date), NOW + 800, 0.0),
        retry(300)
    );
    assert_eq!(
        decide(&p, 1, Some(503), Some(date), NOW + 5000, 0.0),
        retry(300),
        "past"
    );
    assert_eq!(
        decide(&p, 1, Some(503), Some(date), NOW - 100_000, 0.0),
        retry(MAX_DELAY_S)
    );
    assert_eq!(
        decide(&p, 1, None, Some("wed, 21 oct 2015 07:28:00 GMT"), NOW, 0.0),
        retry(1000),
        "names in any case"
    );
    // Calendar arithmetic: leap days, month ends, centuries.
    for (header, unix) in [
        ("Mon, 29 Feb 2016 00:00:00 GMT", 1_456_704_000u64),
        ("Wed, 01 Mar 2000 12:00:00 GMT", 951_912_000),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
        ("Thu, 01 Jan 1970 01:06:40 GMT", 4000),
    ] {
        let now = unix - 4000;
        assert_eq!(
            decide(&p, 1, None, Some(header), now, 0.0),
            retry(4000),
            "{header}"
        );
    }
    assert_eq!(
        decide(&p, 1, None, Some("Thu, 01 Jan 1970 00:00:00 GMT"), 0, 0.0),
        retry(300)
    );
    for garbage in [
        "Wed, 21 Oct 2015 07:28:00 UTC",
        "Wed, 21 Oct 2015 07:28:00",
        "Wednesday, 21-Oct-15 07:28:00 GMT",
        "Wed Oct 21 07:28:00 2015",
        "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 00 Oct 2015 07:28:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT",
        "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Oct 2015 07:60:00 GMT",
        "Sun, 29 Feb 2015 00:00:00 GMT",
        "Wed, 1 Oct 2015 07:28:00 GMT ",
        "Wed,  1 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 GMT+1",
        "Wed, 21 Oct 20x5 07:28:00 GMT",
        "Wéd, 21 Oct 2015 07:28:00 GMT",
    ] {
        assert_eq!(
            decide(&p, 1, None, Some(garbage), NOW - 100_000, 0.0),
            retry(300),
            "{garbage:?} is ignored"
        );
    }
}
