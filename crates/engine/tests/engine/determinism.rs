//! Determinism: the same stream gives the same events and state hash; a snapshot taken at
//! any point and replayed to the end gives the same hash and events as a straight run.

use proptest::prelude::*;
use tradecraft_engine::{Command, Engine, EngineConfig, Event, SnapshotError};

use crate::generator::stream;

fn config() -> EngineConfig {
    EngineConfig { maker_fee_bps: 7, taker_fee_bps: 15, ..EngineConfig::default() }
}

fn run(engine: &mut Engine, commands: &[Command], first_timestamp: usize) -> Vec<Event> {
    let mut events = Vec::new();
    for (offset, command) in commands.iter().enumerate() {
        engine.apply(command, (first_timestamp + offset) as u64, &mut events);
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn same_stream_same_events_and_hash(seed in any::<u64>()) {
        let commands = stream(seed, 800);
        let mut first = Engine::new(config());
        let mut second = Engine::new(config());
        let first_events = run(&mut first, &commands, 0);
        prop_assert_eq!(&first_events, &run(&mut second, &commands, 0));
        prop_assert_eq!(first.state_hash(), second.state_hash());
        prop_assert_eq!(first.snapshot(), second.snapshot());
    }

    #[test]
    fn snapshot_at_any_point_then_replay_matches_a_straight_run(seed in any::<u64>(), cut in 0_usize..800) {
        let commands = stream(seed, 800);
        let mut straight = Engine::new(config());
        let straight_events = run(&mut straight, &commands, 0);

        let mut before = Engine::new(config());
        let head_events = run(&mut before, &commands[..cut], 0);
        let bytes = before.snapshot();
        let mut restored = Engine::restore(&bytes, false).expect("a fresh snapshot loads");
        prop_assert_eq!(restored.state_hash(), before.state_hash());
        prop_assert_eq!(restored.snapshot(), bytes);
        let tail_events = run(&mut restored, &commands[cut..], cut);

        prop_assert_eq!(&straight_events[..head_events.len()], &head_events[..]);
        prop_assert_eq!(&straight_events[head_events.len()..], &tail_events[..]);
        prop_assert_eq!(restored.state_hash(), straight.state_hash());
    }
}

#[test]
fn different_histories_give_different_hashes() {
    let mut one = Engine::new(config());
    let mut other = Engine::new(config());
    run(&mut one, &stream(1, 300), 0);
    run(&mut other, &stream(2, 300), 0);
    assert_ne!(one.state_hash(), other.state_hash());
}

#[test]
fn damaged_snapshots_are_refused_not_loaded() {
    let mut engine = Engine::new(config());
    run(&mut engine, &stream(3, 500), 0);
    let bytes = engine.snapshot();
    assert_eq!(Engine::restore(&bytes[..bytes.len() / 2], false).err(), Some(SnapshotError::Truncated));
    assert_eq!(Engine::restore(b"not a snapshot at all", false).err(), Some(SnapshotError::BadMagic));
    let mut extended = bytes.clone();
    extended.push(0);
    assert!(matches!(Engine::restore(&extended, false), Err(SnapshotError::Corrupt(_))));
    // Every single-byte change either fails to load or loads into a state that still holds
    // every invariant (restore checks them); it never panics.
    for position in (0..bytes.len()).step_by(7) {
        let mut damaged = bytes.clone();
        damaged[position] ^= 0x5a;
        if let Ok(loaded) = Engine::restore(&damaged, false) {
            loaded.check_invariants().expect("a loaded snapshot holds every invariant");
        }
    }
}
