//! Recording tests: replay equals the live run exactly, determinism, crash and damage recovery,
//! seeking at the edges.

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::model::Site;
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
    /// Flipped bits anywhere: a message, or states and events that were really recorded (each
    /// sample equal to the live run at its time), never a panic.
    #[test]
    fn bit_flips_give_a_message_or_the_recorded_state(flips in proptest::collection::vec((any::<usize>(), 0u8..8), 1..6), at in 0.0f64..300.0) {
        let (bytes, live, events) = bit_flip_source();
        let mut b = bytes.clone();
        for (pos, bit) in flips {
            let i = pos % b.len();
            b[i] ^= 1 << bit;
        }
        if let Ok(mut p) = Player::from_bytes(b) {
            prop_assert_eq!(&p.site, &scene::parse(scene::DEMO_SCENE).unwrap().site);
            if let Ok(s) = p.seek(at) {
                prop_assert_eq!(Some(&s), live.get(s.time_s as usize), "at {} s", at);
            }
            if let Ok(got) = p.events() {
                for e in &got {
                    prop_assert!(events.contains(e), "an event that never happened: {:?}", e);
                }
            }
            let mut wrong = Vec::new();
            let _ = p.for_each_sample(|s| {
                // Samples handed to export carry no alarm list.
                let want = live.get(s.time_s as usize).map(|l| Snapshot { active_alarms: s.active_alarms.clone(), ..l.clone() });
                if want.as_ref() != Some(s) {
                    wrong.push(s.time_s);
                }
                Ok(())
            });
            prop_assert!(wrong.is_empty(), "samples that differ from the live run at {:?} s", wrong);
        }
    }
}

/// The undamaged recording of 300 s of the demo, its live snapshots by second and its events.
fn bit_flip_source() -> &'static (Vec<u8>, Vec<Snapshot>, Vec<Alarm>) {
    use std::sync::OnceLock;
    static SOURCE: OnceLock<(Vec<u8>, Vec<Snapshot>, Vec<Alarm>)> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = tmp("flip-src.mcap");
        let live = record(&path, 300);
        let b = std::fs::read(&path).unwrap();
        let events = Player::open(&path).unwrap().events().unwrap();
        std::fs::remove_file(&path).unwrap();
        (b, live, events)
    })
}

/// Every message of a recording: topic, log time, bytes.
fn messages(bytes: &[u8]) -> Vec<(String, u64, Vec<u8>)> {
    mcap::MessageStream::new(bytes)
        .unwrap()
        .map(|m| {
            let m = m.unwrap();
            (m.channel.topic.clone(), m.log_time, m.data.into_owned())
        })
        .collect()
}

/// Writes a recording from parts: the /scene text, then groups of /state messages, each group
/// in its own chunk (a chunk starts with a keyframe).
fn craft(path: &Path, scene_text: &str, groups: &[Vec<(u64, Vec<u8>)>]) {
    let file = std::io::BufWriter::new(File::create(path).unwrap());
    let mut w = mcap::WriteOptions::new()
        .profile("factory-twin")
        .compression(None)
        .chunk_size(Some(u64::MAX))
        .create(file)
        .unwrap();
    let scene_ch = w.add_channel(0, "/scene", "ron", &BTreeMap::new()).unwrap();
    let state = w.add_channel(0, "/state", STATE_ENCODING, &BTreeMap::new()).unwrap();
    let mut seq = 0;
    let mut put = |w: &mut mcap::Writer<_>, ch, t, data: &[u8]| {
        seq += 1;
        let h = mcap::records::MessageHeader { channel_id: ch, sequence: seq, log_time: t, publish_time: t };
        w.write_to_known_channel(&h, data).unwrap();
    };
    put(&mut w, scene_ch, 0, scene_text.as_bytes());
    for g in groups {
        w.flush().unwrap();
        for (t, data) in g {
            put(&mut w, state, *t, data);
        }
    }
    w.finish().unwrap();
}

/// The /state messages of a recording of `site` from `start_s`, `seconds` long.
fn states_of(site: Site, start_s: f64, seconds: usize, name: &str) -> Vec<(u64, Vec<u8>)> {
    let path = tmp(name);
    let mut sim = Simulation::new(site, Scenario::default(), 1.0).unwrap();
    sim.run_until(start_s);
    let mut rec = Recorder::create(&path, &sim, &Scenario::default(), 1.0).unwrap();
    rec.record(&mut sim).unwrap();
    for _ in 0..seconds {
        sim.step();
        rec.record(&mut sim).unwrap();
    }
    rec.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    messages(&bytes).into_iter().filter(|(topic, ..)| topic == "/state").map(|(_, t, d)| (t, d)).collect()
}

/// A recording whose state does not fit its embedded scene (crafted, or recorded across a live
/// edit) is refused with what differs, on opening or at the sample that does not fit; the CLI's
/// replay and export say so and never panic.
#[test]
fn a_state_that_does_not_fit_the_scene_is_refused_with_what_differs() {
    let demo = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let superpod_text = include_str!("../../scenes/superpod-hall.ron");
    let superpod = scene::parse(superpod_text).unwrap().site;
    let superpod_racks = superpod.rack_count();
    assert_ne!(superpod_racks, 8);
    let demo_states = states_of(demo.clone(), 0.0, 50, "shape-a.mcap");
    let superpod_states = states_of(superpod, 100.0, 50, "shape-b.mcap");

    // The demo's state under the superpod's scene: refused on opening.
    let path = tmp("shape-crafted.mcap");
    craft(&path, superpod_text, std::slice::from_ref(&demo_states));
    let err = Player::open(&path).err().expect("a state that does not fit its scene must be refused");
    assert!(err.contains(&format!("the state has 8 racks, 1 CDU")), "{err}");
    assert!(err.contains(&format!("the recorded scene has {superpod_racks} racks")), "{err}");
    let replay = |at: &str| {
        crate::report::replay(&crate::report::ReplayOptions {
            recording: path.clone(),
            at: Some(at.into()),
            events: false,
            report: crate::report::ReportFormat::Json,
        })
    };
    assert!(replay("10s").unwrap_err().contains("the recorded scene has"));
    std::fs::remove_file(&path).unwrap();

    // The demo's scene and state, then a chunk of the superpod's: opens; the first part replays,
    // every sample of the second is refused.
    let demo_text = scene::to_ron(&demo).unwrap();
    craft(&path, &demo_text, &[demo_states, superpod_states]);
    let mut p = Player::open(&path).unwrap();
    assert_eq!(p.seek(20.0).unwrap().racks.gpu_c.len(), 8);
    for t in [100.0, 120.0, 150.0] {
        let err = p.seek(t).unwrap_err();
        assert!(
            err.contains(&format!("the state has {superpod_racks} racks"))
                && err.contains("the recorded scene has 8 racks"),
            "{err}"
        );
    }
    assert!(p.for_each_sample(|_| Ok(())).unwrap_err().contains("does not fit"));
    // The inspector's charts read a range: the good part comes, the bad part is refused.
    let mut seen = 0;
    let count = |_: &crate::sim::Snapshot| {
        seen += 1;
        Ok(())
    };
    assert_eq!(p.samples_between(0.0, 30.0, count), Ok(()));
    assert!(seen > 0);
    assert!(p.samples_between(0.0, 150.0, |_| Ok(())).unwrap_err().contains("does not fit"));
    assert!(replay("2m").unwrap_err().contains("does not fit"));
    let csv = tmp("shape-crafted.csv");
    let export =
        crate::report::export(&crate::report::ExportOptions { recording: path.clone(), csv: csv.clone(), every: None });
    assert!(export.unwrap_err().contains("does not fit"));
    assert!(!csv.exists() && !csv.with_extension("csv.tmp").exists(), "no CSV from a refused recording");
    std::fs::remove_file(&path).unwrap();
}

/// Runs `steps` and holds the recorder's copy of the state, turned into columns, equal to
/// `flatten(snapshot)`. Returns the rack status bits seen.
fn copies_equal_the_snapshot(scene_text: &str, scenario: Scenario, steps: usize) -> u8 {
    let mut sim = Simulation::new(scene::parse(scene_text).unwrap().site, scenario, 1.0).unwrap();
    let mut cols = Columns::default();
    let mut statuses_seen = 0u8;
    for _ in 0..steps {
        sim.step();
        let mut copy = crate::sim::StateCopy::default();
        sim.copy_state_into(&mut copy);
        codec::columns_of(&copy, &mut cols);
        let snap = sim.snapshot();
        assert_eq!(cols, codec::flatten(&snap), "t = {}", snap.time_s);
        assert_eq!(Shape::of_network(sim.network()), Shape::of(&snap));
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

/// Playing backwards through the time control, frame by frame across a chunk boundary (one
/// every 60 s), shows exactly what the live run showed at each time.
#[test]
fn reverse_playback_across_a_chunk_boundary_shows_the_live_states() {
    use super::playback::{Playback, PlaybackCommand};
    let path = tmp("reverse.mcap");
    let live = record(&path, 150);
    let mut p = Player::open(&path).unwrap();
    let mut pb = Playback::new(p.time_range(), 1.0);
    pb.apply(PlaybackCommand::SetTime(130.0));
    pb.apply(PlaybackCommand::SetSpeed(-3.0));
    pb.apply(PlaybackCommand::Play);
    let mut crossed = false;
    while pb.playing {
        let t = pb.advance(1.0);
        let got = p.seek(t).unwrap();
        assert_eq!(got, live[t.floor() as usize], "at {t} s");
        crossed |= t < 60.0;
    }
    assert!(crossed && pb.time_s == 0.0, "played back to the start across the 60 s and 120 s boundaries");
    std::fs::remove_file(&path).unwrap();
}

/// A recording made by the build before issue 16 (state v3: CRAHs, dry coolers and chillers
/// with two values each; `tests/data/state-v3-mixed-air-hall.mcap`, 5 minutes of the mixed air
/// hall with chiller ch-1 failing at 60 s) still opens, seeks and lists its events, with a note
/// of what it lacks.
#[test]
fn a_recording_from_before_the_equipment_columns_still_reads() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/state-v3-mixed-air-hall.mcap");
    let mut p = Player::open(&path).unwrap();
    assert!(p.recorded_equipment_values_only());
    assert!(p.problems.iter().any(|m| m.contains("earlier build (factory-twin-state-v3)")), "{:?}", p.problems);
    let before = p.seek(30.0).unwrap();
    let after = p.seek(240.0).unwrap();
    assert_eq!(before.chillers.len(), 2);
    let (a, b) = (&before.chillers[0], &after.chillers[0]);
    assert!(a.running && a.heat_kw > 100.0 && a.power_kw > 10.0, "{a:?}");
    assert!(!b.running && b.heat_kw == 0.0, "ch-1 failed at 60 s: {b:?}");
    assert_eq!((a.available_kw, a.cop), (0.0, 0.0), "not recorded then");
    assert!(after.crahs.iter().all(|c| c.running && c.heat_kw > 0.0));
    assert!(p.events().unwrap().iter().any(|e| e.time_s == 60.0 && e.raised && e.object == "ch-1"));
    assert!(p.tokens_of().contains("recorded before tokens came from MLPerf"), "{}", p.tokens_of());
    // A file of this build reads in the current layout.
    assert!(!Player::open(&record_demo_for_layout_check()).unwrap().recorded_equipment_values_only());
}

fn record_demo_for_layout_check() -> PathBuf {
    let path = tmp("layout-v4.mcap");
    let site = crate::scene::parse(crate::scene::DEMO_SCENE).unwrap().site;
    let mut sim = Simulation::new(site, Scenario::default(), 1.0).unwrap();
    let mut rec = Recorder::create(&path, &sim, &Scenario::default(), 1.0).unwrap();
    for _ in 0..5 {
        sim.step();
        rec.record(&mut sim).unwrap();
    }
    rec.finish().unwrap();
    path
}
