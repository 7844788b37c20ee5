//! Nothing is served from the middle of a replay: until the engine has applied every
//! command the log held when it opened, reads answer 503 `recovering` with `Retry-After`
//! and readiness says `recovering`; the first answer after that is the whole state.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tradecraft_api::{App, AppState, View};
use tradecraft_log::{EventLog, MemoryLog};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireSide};
use tradecraft_sequencer::{SequencerConfig, SnapshotStore, create_topics, runtime, submit_batch};
use tradecraft_types::Timestamp;

use crate::helpers::ADMIN_KEY;

/// Resting orders the log holds before the server starts.
const ORDERS: usize = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_wait_for_the_replay_and_then_see_all_of_it() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    create_topics(log.as_ref(), 4).unwrap();
    let mut commands = vec![
        WireCommand::ListInstrument {
            symbol: "MOCK".to_owned(),
            tick_size: "0.01".to_owned(),
            lot_size: "1".to_owned(),
            min_quantity: "1".to_owned(),
            price_band_bps: 500,
        },
        WireCommand::CreateAccount { user_id: Some("7".to_owned()), house: false, cash: None },
        WireCommand::Deposit { user_id: "7".to_owned(), transaction_id: "1".to_owned(), amount: "100000000".to_owned(), symbol: None },
    ];
    commands.extend((0..ORDERS).map(|_| WireCommand::PlaceOrder(PlaceOrder::limit("7", "MOCK", WireSide::Buy, "1", "10", "2026-01-02T09:30:00.000Z"))));
    submit_batch(log.as_ref(), &commands, "setup", 0, Timestamp::from_millis(1_767_346_200_000)).unwrap();

    // The server starts at once, while its engine replays the log.
    let snapshots = std::env::temp_dir().join(format!("tradecraft-recovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&snapshots);
    let view = Arc::new(Mutex::new(View::default()));
    let pushes = tradecraft_api::ws::Pushes::default();
    let listener = tradecraft_api::ws::engine_listener(Arc::clone(&view), pushes.clone());
    let (engine, _thread) = runtime::start(SequencerConfig::default(), Arc::clone(&log), SnapshotStore::open(&snapshots).unwrap(), 256, listener).unwrap();
    let mut state = AppState::new(Arc::clone(&log), engine.clone(), view, pushes, "recovery-test".to_owned());
    state.auth = Arc::new(tradecraft_api::auth::AuthConfig::new(b"test-secret".to_vec(), Some(ADMIN_KEY)));
    let app = App::build("127.0.0.1:0".parse().unwrap(), state).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();

    let mut refused = 0;
    let mut saw_recovering = false;
    let portfolio: Value = loop {
        let ready = client.get(format!("{base}/health/ready")).send().await.unwrap();
        if ready.status() == 503 {
            assert!(ready.headers().contains_key("retry-after"));
            saw_recovering |= ready.json::<Value>().await.unwrap()["status"] == "recovering";
        }
        let response = client.get(format!("{base}/v1/portfolio/7")).header("x-api-key", ADMIN_KEY).send().await.unwrap();
        if response.status() == 503 {
            assert!(response.headers().contains_key("retry-after"), "503 without Retry-After");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "recovering", "{body}");
            refused += 1;
            continue;
        }
        assert_eq!(response.status(), 200);
        break response.json().await.unwrap();
    };
    // The first answer is the whole state, never a replay's middle.
    assert_eq!(portfolio["openOrders"], ORDERS, "{portfolio}");
    let live = client.get(format!("{base}/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200, "liveness answers throughout");
    assert!(refused > 0 && saw_recovering, "the requests came during the replay ({refused} refused)");
    engine.stop();
    let _ = std::fs::remove_dir_all(&snapshots);
}
