//! The sim thread's tests: commands, faults, pacing, snapshots, events, recording a live run,
//! live edits.

use std::time::Duration;

use super::*;
use crate::generate::{Cooling, GenerateOptions, generate};
use crate::model::*;
use crate::scene;
use crate::sim::{Action, Failure, FailureKind, Scenario, Simulation};

fn demo() -> Site {
    scene::parse(scene::DEMO_SCENE).unwrap().site
}

/// Waits for the first event `want` accepts, returning every event up to and including it.
fn events_until(h: &SimHandle, want: impl Fn(&SimEvent) -> bool) -> Vec<SimEvent> {
    let mut seen = Vec::new();
    loop {
        match h.wait_event(Duration::from_secs(20)) {
            Some(e) => {
                let done = want(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            None => panic!("no such event within 20 s; saw {seen:?}"),
        }
    }
}

#[test]
fn sim_thread_steps_applies_commands_survives_a_panic_and_restarts() {
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), true);
    let t = Duration::from_secs(10);
    let first = h.wait_snapshot(t).expect("initial snapshot");
    assert_eq!(first.time_s, 0.0);
    assert_eq!(h.wait_event(t), Some(SimEvent::RunState { paused: true, speed: Speed::Times(1.0) }), "sent at start");
    h.send(SimCommand::Step);
    assert_eq!(h.wait_snapshot(t).unwrap().time_s, 1.0);
    h.send(SimCommand::Apply(Action::Fail(Failure { kind: FailureKind::Cdu, target: "all".into() })));
    let s = h.wait_snapshot(t).unwrap();
    assert_eq!(s.cdus[0].flow_fraction, 1.0, "failure lands on the next step");
    h.send(SimCommand::Step);
    assert_eq!(h.wait_snapshot(t).unwrap().cdus[0].flow_fraction, 0.0);
    h.send(SimCommand::InjectPanic);
    h.send(SimCommand::Step);
    let seen = events_until(&h, |e| matches!(e, SimEvent::Fault { .. }));
    assert!(
        matches!(seen.last(), Some(SimEvent::Fault { message, .. }) if message.contains("injected panic")),
        "{seen:?}"
    );
    let rolled = h.wait_snapshot(t).unwrap();
    assert_eq!(rolled.time_s, 0.0, "rolled back to the last good state");
    h.send(SimCommand::Restart);
    events_until(&h, |e| matches!(e, SimEvent::RunState { paused: false, .. }));
    h.send(SimCommand::Pause);
    events_until(&h, |e| matches!(e, SimEvent::RunState { paused: true, .. }));
    // Pause published where it stopped; a step goes on from there.
    let paused_at = h.latest().expect("the snapshot where it paused").time_s;
    h.send(SimCommand::Step);
    assert_eq!(h.wait_snapshot(t).unwrap().time_s, paused_at + 1.0);
    // A rejected edit comes back as an event.
    let mut bad = demo();
    bad.halls[0].rows[0].racks[0].rack_type = Some("nope".into());
    h.send(SimCommand::EditSite(Box::new(bad)));
    let seen = events_until(&h, |e| matches!(e, SimEvent::EditRejected(_)));
    assert!(matches!(seen.last(), Some(SimEvent::EditRejected(e)) if e.contains("nope")), "{seen:?}");
}

/// A panic is reported as a `Fault` (where it happened, where it went back to), then the thread
/// says it paused: the viewer follows the `RunState`, not the message. Paused and running.
#[test]
fn a_fault_is_reported_and_followed_by_the_paused_run_state() {
    let t = Duration::from_secs(10);
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), true);
    for _ in 0..3 {
        h.send(SimCommand::Step);
    }
    h.send(SimCommand::InjectPanic);
    h.send(SimCommand::Step);
    let seen = events_until(&h, |e| matches!(e, SimEvent::Fault { .. }));
    let fault = seen.last().unwrap().clone();
    assert_eq!(
        fault,
        SimEvent::Fault { at_s: 3.0, rolled_back_to_s: 0.0, message: "injected panic".into() },
        "{seen:?}"
    );
    assert_eq!(fault.to_string(), "simulation stopped at t = 3 s: injected panic; rolled back to t = 0 s and paused");
    assert_eq!(h.wait_event(t), Some(SimEvent::RunState { paused: true, speed: Speed::Times(1.0) }));
    drop(h);

    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Max, false);
    events_until(&h, |e| matches!(e, SimEvent::RunState { paused: false, .. }));
    h.send(SimCommand::InjectPanic);
    let seen = events_until(&h, |e| matches!(e, SimEvent::Fault { .. }));
    assert!(matches!(seen.last(), Some(SimEvent::Fault { message, .. }) if message == "injected panic"));
    assert_eq!(h.wait_event(t), Some(SimEvent::RunState { paused: true, speed: Speed::Max }));
}

/// The snapshot channel holds one snapshot: many published and none read leave exactly one, the
/// newest (an unbounded queue would hand out the oldest first).
#[test]
fn slow_reader_gets_the_newest_snapshot() {
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), true);
    events_until(&h, |e| matches!(e, SimEvent::RunState { .. }));
    // 50 steps, each publishing a snapshot, then a speed change: its RunState says the thread
    // has worked through the steps. Nothing is read until then.
    for _ in 0..50 {
        h.send(SimCommand::Step);
    }
    h.send(SimCommand::SetSpeed(Speed::Times(2.0)));
    events_until(&h, |e| matches!(e, SimEvent::RunState { speed: Speed::Times(2.0), .. }));
    assert_eq!(h.latest().map(|s| s.time_s), Some(50.0), "the one buffered snapshot is the newest");
    assert_eq!(h.latest().map(|s| s.time_s), None, "and it was the only one");
}

/// A batch of steps ends at the first look at the clock after `MAX_BATCH_WALL`, whatever the
/// speed asks for: with steps of at least 2 ms, no batch can hold more than 15/2 + 1 of them.
/// (Before, one batch could be 100,000 steps: minutes on a big site with Pause unread.)
#[test]
fn a_batch_of_steps_ends_soon_after_its_wall_time_budget() {
    use super::{MAX_BATCH_WALL, Runner};
    let delay = Duration::from_millis(2);
    let most = (MAX_BATCH_WALL.as_nanos() / delay.as_nanos()) as usize + 1;
    for speed in [Speed::Times(1e9), Speed::Max] {
        let (snap_tx, snap_rx) = crossbeam_channel::bounded(1);
        let (ev_tx, _ev_rx) = crossbeam_channel::unbounded();
        let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
        let mut r = Runner::new(sim, speed, false, snap_tx, snap_rx, ev_tx);
        r.step_delay = delay;
        for _ in 0..3 {
            let before = r.sim.time_s();
            let steps = r.run_batch().expect("no fault");
            assert!((1..=most).contains(&steps), "{speed:?}: {steps} steps in one batch, at most {most}");
            assert_eq!(r.sim.time_s(), before + steps as f64);
        }
    }
}

/// A site that cannot keep up drops its debt beyond `MAX_LAG`: ten seconds behind at 1000×,
/// it owes 250 sim seconds, not 10,000, and still runs flat out (it does not stall either).
#[test]
fn pacing_drops_the_debt_it_cannot_make_up() {
    use super::{MAX_LAG, Runner};
    let (snap_tx, snap_rx) = crossbeam_channel::bounded(1);
    let (ev_tx, _ev_rx) = crossbeam_channel::unbounded();
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let mut r = Runner::new(sim, Speed::Times(1000.0), false, snap_tx, snap_rx, ev_tx);
    let before = std::time::Instant::now();
    r.anchor_wall = before.checked_sub(Duration::from_secs(10)).expect("the clock goes back 10 s");
    r.anchor_sim = 0.0;
    let due = r.steps_due();
    let slack = before.elapsed().as_secs_f64();
    let lag = MAX_LAG.as_secs_f64();
    assert!(due as f64 >= lag * 1000.0 - 1.0, "{due} steps due: it must keep running flat out");
    assert!(due as f64 <= (lag + slack) * 1000.0 + 1.0, "{due} steps due: the debt was not dropped");
    // Once dropped, it stays dropped.
    let again = r.steps_due();
    assert!(again as f64 <= (lag + before.elapsed().as_secs_f64()) * 1000.0 + 1.0, "{again}");
}

/// The case: a big site at a speed it cannot reach. Steps of at least 1 ms stand in for
/// the big site on any machine. Pause is seen within a batch (before: a batch of up to 100,000
/// steps, here over 100 s, ran before Pause was read), the thread says so, and sim time stops
/// where it stopped.
#[test]
fn pause_is_seen_promptly_on_a_big_site_at_an_unreachable_speed() {
    let site = demo();
    let ambient = site.ambient.dry_bulb_c;
    let sim = Simulation::new(site, Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn_with_step_delay(sim, Speed::Times(1e9), false, Duration::from_millis(1));
    let t = Duration::from_secs(20);
    // Running: wait for a batch to be done.
    let mut s = h.wait_snapshot(t).unwrap();
    while s.time_s == 0.0 {
        s = h.wait_snapshot(t).expect("no batch finished within 20 s");
    }
    h.send(SimCommand::Pause);
    events_until(&h, |e| matches!(e, SimEvent::RunState { paused: true, .. }));
    let paused_at = h.latest().expect("the snapshot where it paused").time_s;
    assert!(paused_at >= s.time_s);
    // Sim time does not move once paused: commands that publish show the same time.
    for _ in 0..2 {
        h.send(SimCommand::Apply(Action::Ambient(ambient)));
        assert_eq!(h.wait_snapshot(t).unwrap().time_s, paused_at);
    }
}

/// The same on a real big site (2,000 racks, 10^9×).
#[test]
fn pause_stops_a_big_site_where_it_says() {
    let site = generate(&GenerateOptions {
        racks: 2000,
        rack_type: "gb300-nvl72".into(),
        cooling: Cooling::Liquid,
        halls: 1,
        seed: 0,
    })
    .unwrap();
    let ambient = site.ambient.dry_bulb_c;
    let sim = Simulation::new(site, Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1e9), false);
    let t = Duration::from_secs(20);
    let mut s = h.wait_snapshot(t).unwrap();
    while s.time_s == 0.0 {
        s = h.wait_snapshot(t).expect("no batch finished within 20 s");
    }
    h.send(SimCommand::Pause);
    events_until(&h, |e| matches!(e, SimEvent::RunState { paused: true, .. }));
    let paused_at = h.latest().expect("the snapshot where it paused").time_s;
    h.send(SimCommand::Apply(Action::Ambient(ambient)));
    assert_eq!(h.wait_snapshot(t).unwrap().time_s, paused_at);
}

/// While running, the thread reports the speed it achieves; it is what sim time did.
#[test]
fn the_achieved_speed_is_reported_while_running() {
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(50.0), false);
    let seen = events_until(&h, |e| matches!(e, SimEvent::Achieved(_)));
    let Some(SimEvent::Achieved(x)) = seen.last() else { unreachable!() };
    // At most the asked speed plus the debt it may make up (MAX_LAG of a 0.5 s window) and a step.
    assert!(*x > 0.0 && *x <= 50.0 * 1.5 + 2.0, "{x}");
}

/// Near real time a measuring window must span several steps, or the bar reads "running at 0×"
/// between steps (it did, at 1×, with half-second windows).
#[test]
fn the_achieved_speed_near_real_time_is_not_read_between_steps() {
    use super::Runner;
    let (snap_tx, snap_rx) = crossbeam_channel::bounded(1);
    let (ev_tx, ev_rx) = crossbeam_channel::unbounded();
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let mut r = Runner::new(sim, Speed::Times(1.0), false, snap_tx, snap_rx, ev_tx);
    // Two wall seconds into a window at 1×: two steps at most, too few to say a speed.
    let t0 = std::time::Instant::now().checked_sub(Duration::from_secs(2)).expect("the clock goes back 2 s");
    r.window = (t0, 0.0);
    r.report_achieved();
    assert!(ev_rx.try_iter().next().is_none(), "a speed was reported from a window of two steps");
    // Ten steps in eleven seconds: reported, and close to 1×.
    let t0 = std::time::Instant::now().checked_sub(Duration::from_secs(11)).expect("the clock goes back 11 s");
    r.window = (t0, -10.0);
    r.report_achieved();
    match ev_rx.try_iter().next() {
        Some(SimEvent::Achieved(x)) => assert!((0.85..=1.0).contains(&x), "{x}"),
        other => panic!("expected the achieved speed, got {other:?}"),
    }
}

#[test]
fn sim_thread_records_a_live_run_on_request() {
    let path = std::env::temp_dir().join(format!("ft-live-rec-{}.mcap", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), true);
    h.send(SimCommand::StartRecording(path.clone()));
    for _ in 0..90 {
        h.send(SimCommand::Step);
    }
    h.send(SimCommand::StopRecording);
    let seen = events_until(&h, |e| matches!(e, SimEvent::RecordingSaved(_)));
    assert!(seen.contains(&SimEvent::RecordingStarted(path.clone())), "{seen:?}");
    assert_eq!(seen.last(), Some(&SimEvent::RecordingSaved(path.clone())));
    assert_eq!(seen.last().unwrap().to_string(), format!("recording saved to {}", path.display()));
    let mut p = crate::recording::Player::open(&path).unwrap();
    assert_eq!(p.time_range().end_s, 90.0);
    assert_eq!(p.seek(90.0).unwrap().step, 90);
    // A second start on the same path is refused, with the reason.
    h.send(SimCommand::StartRecording(path.clone()));
    match events_until(&h, |e| matches!(e, SimEvent::RecordingFailed { .. })).pop() {
        Some(SimEvent::RecordingFailed { path: p, error }) => {
            assert_eq!(p, path);
            assert!(error.contains("already exists"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_file(&path).unwrap();
}

/// A recording stores one scene, so a live edit finishes it first (saved before the edit is
/// applied, and the file holds the scene it was recorded with); a refused edit leaves it running.
#[test]
fn a_live_edit_finishes_the_recording_first() {
    let path = std::env::temp_dir().join(format!("ft-live-edit-rec-{}.mcap", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), true);
    h.send(SimCommand::StartRecording(path.clone()));
    for _ in 0..30 {
        h.send(SimCommand::Step);
    }
    let mut bad = demo();
    bad.halls[0].rows[0].racks[0].rack_type = Some("nope".into());
    h.send(SimCommand::EditSite(Box::new(bad)));
    let seen = events_until(&h, |e| matches!(e, SimEvent::EditRejected(_)));
    assert!(!seen.iter().any(|e| matches!(e, SimEvent::RecordingSaved(_))), "{seen:?}");
    for _ in 0..10 {
        h.send(SimCommand::Step);
    }
    let mut bigger = demo();
    bigger.halls[0].rows[1].racks.push(Rack {
        id: "rack-05".into(),
        rack_type: None,
        at: None,
        cdu: None,
        pdu: None,
        utilization: None,
    });
    bigger.power.pdus[0].capacity_kw = 1400.0;
    h.send(SimCommand::EditSite(Box::new(bigger)));
    let seen = events_until(&h, |e| matches!(e, SimEvent::EditApplied));
    let saved = seen.iter().position(|e| *e == SimEvent::RecordingSaved(path.clone()));
    assert_eq!(saved, Some(seen.len() - 2), "saved just before the edit applied: {seen:?}");
    for _ in 0..10 {
        h.send(SimCommand::Step);
    }
    h.send(SimCommand::StopRecording);
    h.send(SimCommand::Pause);
    let seen = events_until(&h, |e| matches!(e, SimEvent::RunState { .. }));
    assert!(!seen.iter().any(|e| matches!(e, SimEvent::RecordingSaved(_))), "nothing left to save: {seen:?}");
    let mut p = crate::recording::Player::open(&path).unwrap();
    assert_eq!(p.site, demo());
    assert_eq!(p.time_range().end_s, 40.0);
    assert_eq!(p.seek(40.0).unwrap().racks.gpu_c.len(), 8);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn reset_starts_over_from_time_zero_without_the_failures() {
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), true);
    let t = Duration::from_secs(10);
    let _ = h.wait_snapshot(t);
    h.send(SimCommand::Apply(Action::Fail(Failure { kind: FailureKind::Cdu, target: "all".into() })));
    for _ in 0..5 {
        h.send(SimCommand::Step);
    }
    let mut s = h.wait_snapshot(t).unwrap();
    while s.time_s < 5.0 {
        s = h.wait_snapshot(t).unwrap();
    }
    assert_eq!(s.cdus[0].flow_fraction, 0.0);
    h.send(SimCommand::Reset);
    let s = h.wait_snapshot(t).unwrap();
    assert_eq!(s.time_s, 0.0);
    assert_eq!(s.cdus[0].flow_fraction, 1.0, "the failure went with the reset");
}

/// Real time (1×, 1-s steps): the thread steps about once a wall second. The debt cap must not be
/// shorter than a step, or a step never falls due.
#[test]
fn real_time_runs_a_step_a_second() {
    let sim = Simulation::new(demo(), Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), false);
    // Waits on the event, not the clock: the first step's snapshot arrives after about a second.
    let snap = (0..100).find_map(|_| h.wait_snapshot(Duration::from_secs(1)).filter(|s| s.step >= 1));
    assert!(snap.is_some(), "no step ran at 1×");
}

/// The edit seam reaches the running simulation: a rack removed by id is gone from the next
/// snapshot; an edit naming a rack that does not exist is refused with its id.
#[test]
fn a_layout_edit_by_ids_reaches_the_running_simulation() {
    use crate::edit::Edit;
    let site = demo();
    let (hall, row) = (site.halls[0].id.clone(), site.halls[0].rows[0].id.clone());
    let rack_id = site.halls[0].rows[0].racks[0].id.clone();
    let racks = site.rack_count();
    let sim = Simulation::new(site, Scenario::default(), 1.0).unwrap();
    let h = SimHandle::spawn(sim, Speed::Times(1.0), true);
    events_until(&h, |e| matches!(e, SimEvent::RunState { .. }));
    h.send(SimCommand::Edits(vec![Edit::RemoveRack {
        hall: hall.clone(),
        row: row.clone(),
        rack_id: rack_id.clone(),
    }]));
    events_until(&h, |e| matches!(e, SimEvent::EditApplied));
    let snap = (0..20).find_map(|_| h.wait_snapshot(Duration::from_secs(1)).filter(|s| s.racks.gpu_c.len() != racks));
    assert_eq!(snap.map(|s| s.racks.gpu_c.len()), Some(racks - 1));
    h.send(SimCommand::Edits(vec![Edit::RemoveRack { hall, row, rack_id: rack_id.clone() }]));
    let seen = events_until(&h, |e| matches!(e, SimEvent::EditsOutOfStep(_)));
    let Some(SimEvent::EditsOutOfStep(why)) = seen.last() else { unreachable!() };
    assert!(why.contains(&rack_id), "{why}");
}
