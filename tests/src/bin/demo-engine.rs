//! The demo engine of `make dev`: a simulated process engine on loopback
//! that creates each task and calls its `__callback_url` back at once with
//! the task's data. For trying the gateway, never for production.
//!
//!   demo-engine --port 8790 --keys '{"demo":"secret"}'

use std::collections::HashMap;
use syncbridge_tests::engine::Engine;

#[tokio::main]
async fn main() {
    let mut port = 8790u16;
    let mut keys = String::from("{}");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).expect("--port N"),
            "--keys" => keys = args.next().expect("--keys JSON"),
            other => panic!("unknown argument {other}"),
        }
    }
    let secrets: HashMap<String, String> =
        serde_json::from_str(&keys).expect("--keys must be a JSON object of login to secret");
    let engine = Engine::start(port, secrets).await;
    println!("demo engine on {}", engine.url());
    std::future::pending::<()>().await;
}
