//! Time and randomness, from the platform. The core takes both as
//! arguments; this is the only place the worker reads them.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    // `Date.now()`: one static call, no Date object.
    worker::js_sys::Date::now() as u64
}

/// The current time as ISO-8601 UTC with milliseconds.
pub fn now_iso() -> String {
    String::from(worker::js_sys::Date::new_0().to_iso_string())
}

/// `ms` (since the Unix epoch) as ISO-8601 UTC with milliseconds.
pub fn iso(ms: u64) -> String {
    let at = worker::wasm_bindgen::JsValue::from_f64(ms as f64);
    String::from(worker::js_sys::Date::new(&at).to_iso_string())
}

/// 16 bytes from the platform's CSPRNG.
pub fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    random_fill(&mut b);
    b
}

/// Fills `buf` from the platform's CSPRNG (at most 65,536 bytes, the
/// limit of `crypto.getRandomValues`).
pub fn random_fill(buf: &mut [u8]) {
    get_random_values(buf);
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The runtime's `crypto.getRandomValues`, called directly (the
    /// `getrandom` crate's detection of other platforms and its error
    /// texts are not needed on workerd, which always has it).
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// A uniform number in [0, 1), for retry jitter.
pub fn random_unit() -> f64 {
    worker::js_sys::Math::random()
}
