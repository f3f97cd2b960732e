//! `channel::create`, `patch` (with `opts.callback`), `render` and `lookup_key`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use syncbridge_core::channel;

fuzz_target!(|data: &[u8]| {
    let _ = channel::lookup_key(data);
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let created = channel::create(&v, "id".into(), "t".repeat(32), "now");
    if let Ok(ch) = &created {
        // What the API shows can be written back and gives the same channel.
        let mut back = serde_json::to_value(ch).unwrap();
        for k in ["id", "token_local", "ext"] {
            back.as_object_mut().unwrap().remove(k);
        }
        let again = channel::create(&back, "id".into(), "t".repeat(32), "now");
        assert_eq!(again.as_ref(), Ok(ch));
        let _ = channel::render(ch, Some(&["opts.title".into(), "code".into()]), true);
    }
    let base = channel::create(
        &serde_json::json!({"code": "base"}),
        "id".into(),
        "t".repeat(32),
        "now",
    )
    .unwrap();
    if let Ok(once) = channel::patch(&base, &v, "later") {
        assert_eq!(channel::patch(&once, &v, "later").as_ref(), Ok(&once));
    }
});
