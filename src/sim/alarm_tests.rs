//! The alarm log reads right: a cleared entry says it cleared and keeps its raise's severity, a
//! restore pairs with its failure, and a slowdown is only called one at the slowdown temperature.

use super::*;
use crate::scene;

fn cdu_outage() -> Simulation {
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let f = Failure { kind: FailureKind::Cdu, target: "all".into() };
    let events =
        vec![Event { at_s: 10.0, action: Action::Fail(f.clone()) }, Event { at_s: 400.0, action: Action::Restore(f) }];
    let mut sim = Simulation::new(site, Scenario { events, ..Default::default() }, 1.0).unwrap();
    sim.run_until(1200.0);
    sim
}

#[test]
fn cleared_alarms_say_so_with_the_severity_they_were_raised_with() {
    let sim = cdu_outage();
    let log = sim.alarm_log();
    let cleared: Vec<&Alarm> = log.iter().filter(|a| !a.raised).collect();
    assert!(!cleared.is_empty(), "the outage must raise and clear alarms: {log:?}");
    for c in &cleared {
        let raise = log
            .iter()
            .rev()
            .filter(|a| a.raised && a.object == c.object && a.kind == c.kind && a.time_s <= c.time_s)
            .next()
            .unwrap_or_else(|| panic!("cleared without a raise: {c:?}"));
        assert_eq!(raise.severity, c.severity, "{raise:?} then {c:?}");
        // A cleared entry says how it ended, not the raise's words with today's values.
        for raise_words in ["over its", "slowdown", "reached", "thermal shutdown at", "recovering"] {
            assert!(!c.message.contains(raise_words), "a cleared entry reads like a raise: {c:?}");
        }
        if c.kind == AlarmKind::GpuSlowdown {
            assert!(
                c.message.starts_with("full clocks") || c.message.starts_with("ended by the rack stopping"),
                "{c:?}"
            );
        }
    }
    // The restore closes the failure: same severity, not a "warning".
    let restore = log.iter().find(|a| a.message.contains("restored")).expect("restore logged");
    let failure = log.iter().find(|a| a.message.contains("failed")).expect("failure logged");
    assert_eq!(restore.severity, failure.severity);
    assert!(!restore.raised);
}

#[test]
fn a_slowdown_is_only_called_one_at_the_slowdown_temperature() {
    let sim = cdu_outage();
    let slowdowns: Vec<&Alarm> =
        sim.alarm_log().iter().filter(|a| a.raised && a.kind == AlarmKind::GpuSlowdown).collect();
    // Racks slow down when the CDU goes and ramp back after their shutdown: both kinds occur.
    assert!(slowdowns.iter().any(|a| a.message.contains("reached")), "{slowdowns:?}");
    assert!(slowdowns.iter().any(|a| a.message.starts_with("recovering")), "{slowdowns:?}");
    for a in slowdowns {
        // The message carries the GPU temperature it was raised at.
        if a.message.contains("reached") {
            let t: f64 = a.message.split("GPU ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
            assert!(t >= physics::GPU_SLOWDOWN_C, "{a:?}");
        } else {
            assert!(a.message.starts_with("recovering"), "{a:?}");
        }
    }
}

/// A CDU's flow alarm follows its pumps while it stays up: the second pump lost raises it at
/// 50 % (warning), the third restates it at 0 % (critical), so the active list never shows a
/// pump count that no longer holds.
#[test]
fn a_cdu_flow_alarm_is_restated_when_more_pumps_fail() {
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let pump = || Failure { kind: FailureKind::CduPump, target: "hall-1/cdu-1".into() };
    let events = [60.0, 120.0, 180.0].map(|at_s| Event { at_s, action: Action::Fail(pump()) }).to_vec();
    let mut sim = Simulation::new(site, Scenario { events, ..Default::default() }, 1.0).unwrap();
    sim.run_until(150.0);
    let active = |sim: &mut Simulation| {
        sim.snapshot().active_alarms.iter().find(|a| a.kind == AlarmKind::CduNoFlow).cloned().expect("flow alarm")
    };
    let half = active(&mut sim);
    assert!(half.message.contains("1 of 2 duty pumps") && half.severity == AlarmSeverity::Warning, "{half:?}");
    sim.run_until(200.0);
    let none = active(&mut sim);
    assert!(none.message.contains("TCS flow at 0 % (0 of 2") && none.severity == AlarmSeverity::Critical, "{none:?}");
    let raised: Vec<&Alarm> = sim.alarm_log().iter().filter(|a| a.kind == AlarmKind::CduNoFlow && a.raised).collect();
    assert_eq!(raised.iter().map(|a| a.time_s).collect::<Vec<_>>(), vec![120.0, 180.0], "{raised:?}");
}
