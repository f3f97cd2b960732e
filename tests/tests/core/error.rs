//! Error shapes (`error`).

use serde_json::json;
use syncbridge_core::error::{ApiError, Surface};

#[test]
fn error_shapes() {
    let e = ApiError::format("bad");
    assert_eq!(
        e.to_json(Surface::SyncApi),
        json!({"request_proc": "format_error", "description": "bad"})
    );
    assert_eq!(
        e.to_json(Surface::Plugin),
        json!({"proc": "error", "code": "format_error", "description": "bad"})
    );
    assert_eq!(ApiError::too_large(10).status, 413);
    assert_eq!(ApiError::gateway_timeout().status, 504);
}
