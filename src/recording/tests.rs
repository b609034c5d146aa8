//! Recording tests: replay equals the live run exactly, determinism, crash and damage recovery,
//! seeking at the edges.

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::sim::{Action, Event, Failure, FailureKind, Profile, Workload};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ft-rec-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    dir
}

fn scenario() -> Scenario {
    Scenario {
        seed: 4,
        events: vec![
            Event {
                at_s: 200.0,
                action: Action::Fail(Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() }),
            },
            Event {
                at_s: 330.0,
                action: Action::Restore(Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() }),
            },
        ],
        workloads: vec![Workload {
            target: "hall-1/row-B".into(),
            profile: Profile::Bursts { period_s: 45.0, low: 0.4, high: 1.0 },
        }],
        ..Default::default()
    }
}

fn new_sim() -> Simulation {
    Simulation::new(scene::parse(scene::DEMO_SCENE).unwrap().site, scenario(), 1.0).unwrap()
}

/// Records `seconds` of the demo with the scenario, returning the live snapshots by second.
fn record(path: &Path, seconds: usize) -> Vec<Snapshot> {
    let mut sim = new_sim();
    let mut rec = Recorder::create(path, &sim, &scenario(), 1.0).unwrap();
    let mut live = vec![sim.snapshot()];
    rec.record(&mut sim).unwrap();
    for _ in 0..seconds {
        sim.step();
        rec.record(&mut sim).unwrap();
        live.push(sim.snapshot());
    }
    rec.finish().unwrap();
    live
}

#[test]
fn replay_at_t_equals_the_live_run_at_t_exactly() {
    let path = tmp("exact.mcap");
    let live = record(&path, 600);
    let mut p = Player::open(&path).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.site, scene::parse(scene::DEMO_SCENE).unwrap().site);
    assert_eq!(p.scenario, scenario());
    for t in [0usize, 1, 59, 60, 61, 199, 200, 215, 330, 331, 480, 599, 600] {
        let got = p.seek(t as f64).unwrap();
        assert_eq!(got, live[t], "at {t} s");
    }
    // Backwards too, across chunks.
    for t in [450usize, 120, 5] {
        assert_eq!(p.seek(t as f64).unwrap(), live[t]);
    }
    let events = p.events().unwrap();
    assert!(events.iter().any(|a| a.kind == crate::sim::AlarmKind::GpuSlowdown && a.raised));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn same_run_twice_gives_byte_identical_files() {
    let (a, b) = (tmp("det-a.mcap"), tmp("det-b.mcap"));
    record(&a, 300);
    record(&b, 300);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::remove_file(&a).unwrap();
    std::fs::remove_file(&b).unwrap();
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let path = tmp("exists.mcap");
    std::fs::write(&path, b"precious").unwrap();
    let sim = new_sim();
    let err = Recorder::create(&path, &sim, &scenario(), 1.0).err().unwrap();
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn seek_at_start_end_and_out_of_range() {
    let path = tmp("edges.mcap");
    let live = record(&path, 150);
    let mut p = Player::open(&path).unwrap();
    let r = p.time_range();
    assert_eq!((r.start_s, r.end_s), (0.0, 150.0));
    assert_eq!(p.seek(0.0).unwrap(), live[0]);
    assert_eq!(p.seek(150.0).unwrap(), live[150]);
    assert_eq!(p.seek(-50.0).unwrap(), live[0]);
    assert_eq!(p.seek(1e9).unwrap(), live[150]);
    assert_eq!(p.seek(f64::NAN).unwrap(), live[0]);
    assert_eq!(p.seek(f64::INFINITY).unwrap(), live[150]);
    // Between samples: the last sample at or before.
    assert_eq!(p.seek(99.5).unwrap(), live[99]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_dropped_recorder_still_finishes_its_file() {
    let path = tmp("dropped.mcap");
    let mut sim = new_sim();
    let mut rec = Recorder::create(&path, &sim, &scenario(), 1.0).unwrap();
    rec.record(&mut sim).unwrap();
    let mut live = vec![sim.snapshot()];
    for _ in 0..200 {
        sim.step();
        rec.record(&mut sim).unwrap();
        live.push(sim.snapshot());
    }
    // No finish(): closing the app mid-run must not lose the recording.
    drop(rec);
    let mut p = Player::open(&path).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.time_range().end_s, 200.0);
    assert_eq!(p.seek(200.0).unwrap(), live[200]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn truncated_files_open_with_what_is_valid_or_say_why_not() {
    let path = tmp("trunc-src.mcap");
    let live = record(&path, 400);
    let bytes = std::fs::read(&path).unwrap();
    let mut recovered = 0;
    for cut in
        [0, 4, 8, 20, 100, bytes.len() / 4, bytes.len() / 2, bytes.len() * 3 / 4, bytes.len() - 30, bytes.len() - 1]
    {
        match Player::from_bytes(bytes[..cut].to_vec()) {
            Ok(mut p) => {
                recovered += 1;
                assert!(!p.problems.is_empty(), "cut at {cut}: a truncated file must say so");
                let end = p.time_range().end_s;
                let s = p.seek(end).unwrap();
                assert_eq!(s, live[end as usize], "cut at {cut}");
            }
            Err(e) => assert!(!e.is_empty()),
        }
    }
    assert!(recovered >= 4);
    std::fs::remove_file(&path).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Flipped bits anywhere: a message or a correct state, never a panic.
    #[test]
    fn bit_flips_never_panic(flips in proptest::collection::vec((any::<usize>(), 0u8..8), 1..6), at in 0.0f64..300.0) {
        let bytes = bit_flip_source();
        let mut b = bytes.clone();
        for (pos, bit) in flips {
            let i = pos % b.len();
            b[i] ^= 1 << bit;
        }
        if let Ok(mut p) = Player::from_bytes(b) {
            let _ = p.seek(at);
            let _ = p.events();
            let _ = p.for_each_sample(|_| Ok(()));
        }
    }
}

fn bit_flip_source() -> Vec<u8> {
    use std::sync::OnceLock;
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES
        .get_or_init(|| {
            let path = tmp("flip-src.mcap");
            record(&path, 300);
            let b = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            b
        })
        .clone()
}

/// Runs `steps` and holds the recorder's copy of the state, turned into columns, equal to
/// `flatten(snapshot)`. Returns the rack status bits seen.
fn copies_equal_the_snapshot(scene_text: &str, scenario: Scenario, steps: usize) -> u8 {
    let mut sim = Simulation::new(scene::parse(scene_text).unwrap().site, scenario, 1.0).unwrap();
    let mut cols = Columns::default();
    let mut statuses_seen = 0u8;
    for _ in 0..steps {
        sim.step();
        sim.flatten_into(&mut cols);
        let snap = sim.snapshot();
        assert_eq!(cols, codec::flatten(&snap), "t = {}", snap.time_s);
        assert_eq!(sim.shape(), Shape::of(&snap));
        statuses_seen |= snap.racks.status.iter().fold(0, |a, s| a | s);
    }
    statuses_seen
}

#[test]
fn the_recorders_copy_equals_flattening_the_snapshot() {
    // Through a cooling failure, a utility loss on batteries and the UPS running out; on a
    // liquid-cooled hall and on one with air-cooled racks.
    use crate::sim::snapshot::RackStatus;
    let fails = |list: &[(f64, FailureKind, &str)]| {
        list.iter()
            .map(|&(at_s, kind, target)| Event { at_s, action: Action::Fail(Failure { kind, target: target.into() }) })
            .collect::<Vec<_>>()
    };
    let mut sc = scenario();
    sc.events.extend(fails(&[(100.0, FailureKind::Utility, "feed-1"), (150.0, FailureKind::Crah, "*")]));
    let seen = copies_equal_the_snapshot(scene::DEMO_SCENE, sc, 700);
    assert_ne!(seen & RackStatus::NO_POWER, 0, "the UPS never ran out");
    let air = include_str!("../../scenes/mixed-air-hall.ron");
    let sc = Scenario { events: fails(&[(60.0, FailureKind::Crah, "*")]), ..Scenario::default() };
    let seen = copies_equal_the_snapshot(air, sc, 500);
    assert_ne!(seen & RackStatus::AIR_COOLED, 0, "no air-cooled rack to check");
}
