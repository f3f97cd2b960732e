use syncbridge_core::body_limit::{BodyLimit, Plan, TooLarge};
use syncbridge_core::error::ApiError;

#[test]
fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let limit = BodyLimit::new(100);
    assert_eq!(limit.plan(Some("101")), Err(TooLarge { limit: 100 }));
    // Far past any usize on a 32-bit wasm, still a refusal, not a wrap.
    assert_eq!(
        limit.plan(Some("18446744073709551615")),
        Err(TooLarge { limit: 100 })
    );
    let e = ApiError::from(TooLarge { limit: 100 });
    assert_eq!((e.status, e.code), (413, ApiError::too_large(100).code));
}

#[test]
fn a_declared_length_within_it_is_read_whole_with_its_room_reserved() {
    let limit = BodyLimit::new(100);
    assert_eq!(limit.plan(Some("100")), Ok(Plan::Whole { declared: 100 }));
    assert_eq!(limit.plan(Some(" 0 ")), Ok(Plan::Whole { declared: 0 }));
    // No length to hold it to (absent, or not a number): a stream.
    for v in [None, Some(""), Some("-1"), Some("12abc"), Some("1e3")] {
        assert_eq!(limit.plan(v), Ok(Plan::Stream), "{v:?}");
    }
}

#[test]
fn a_stream_is_cut_off_at_the_chunk_that_passes_the_limit() {
    let mut limit = BodyLimit::new(10);
    assert_eq!(limit.take(4), Ok(()));
    assert_eq!(limit.take(6), Ok(()));
    assert_eq!(limit.taken(), 10);
    // The chunk that would pass it is refused and not counted.
    assert_eq!(limit.take(1), Err(TooLarge { limit: 10 }));
    assert_eq!(limit.taken(), 10);
    assert_eq!(limit.take(0), Ok(()));
    // A length that would overflow the count is a refusal too.
    let mut limit = BodyLimit::new(usize::MAX);
    assert_eq!(limit.take(usize::MAX), Ok(()));
    assert_eq!(limit.take(1), Err(TooLarge { limit: usize::MAX }));
}

#[test]
fn a_whole_body_longer_than_declared_is_still_held_to_the_limit() {
    let mut limit = BodyLimit::new(10);
    assert_eq!(limit.plan(Some("5")), Ok(Plan::Whole { declared: 5 }));
    assert_eq!(limit.take(11), Err(TooLarge { limit: 10 }));
}
