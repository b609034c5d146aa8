//! Simulation tests: energy balance, the public validation cases of physics.md §4, failures,
//! determinism, live edits, the sim thread, and random scenes that must never give NaN or panic.

use proptest::prelude::*;

use super::*;
use crate::generate::{Cooling, GenerateOptions, generate};
use crate::model::*;
use crate::scene;
use crate::sim::network::Network;

pub(super) fn scene_file(name: &str) -> Site {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes").join(name);
    scene::load_file(&path).unwrap_or_else(|e| panic!("{name}: {:?}", e.0)).site
}

fn demo() -> Site {
    scene::parse(scene::DEMO_SCENE).unwrap().site
}

fn fail(kind: FailureKind, target: &str, at_s: f64) -> Event {
    Event { at_s, action: Action::Fail(Failure { kind, target: target.into() }) }
}

/// The outdoor dry bulb `t`, the wet bulb moved with it (what `simulate --ambient` does).
fn set_ambient(site: &mut Site, t: f64) {
    site.ambient.wet_bulb_c += t - site.ambient.dry_bulb_c;
    site.ambient.dry_bulb_c = t;
}

pub(super) fn run(site: Site, events: Vec<Event>, seconds: f64) -> Simulation {
    let mut sim = Simulation::new(site, Scenario { events, ..Default::default() }, 1.0).unwrap();
    sim.run_until(seconds);
    sim
}

fn assert_finite(s: &Snapshot) {
    let k = &s.kpis;
    for (name, v) in [
        ("it", k.it_power_kw),
        ("facility", k.facility_power_kw),
        ("pue", k.pue),
        ("rejected", k.heat_rejected_kw),
        ("balance", k.energy_balance_error),
        ("gpu", k.max_gpu_temp_c),
        ("inlet", k.max_inlet_air_c),
        ("output", k.output_fraction),
        ("tokens", k.tokens_per_s),
        ("wue", k.wue_l_per_kwh),
    ] {
        assert!(v.is_finite(), "{name} = {v}");
    }
    let r = &s.racks;
    for v in
        r.gpu_c.iter().chain(&r.inlet_c).chain(&r.coolant_c).chain(&r.power_kw).chain(&r.output).chain(&r.utilization)
    {
        assert!(v.is_finite());
    }
    for c in &s.cdus {
        assert!(c.supply_c.is_finite() && c.return_c.is_finite() && c.heat_kw.is_finite());
    }
    for l in &s.loops {
        assert!(l.supply_c.is_finite() && l.return_c.is_finite());
    }
    for h in &s.halls {
        assert!(h.room_c.is_finite());
    }
}

/// physics.md §4.1: at steady state, heat rejected = IT + cooling + electrical losses, ±0.5 %.
#[test]
fn energy_balance_closes_on_every_example_scene() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ron") {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let site = scene_file(&name);
            if site.rack_count() == 0 {
                // The editor's empty hall: nothing to balance, but it runs and stays finite.
                let mut sim = run(site, vec![], 600.0);
                assert_finite(&sim.snapshot());
                let k = sim.snapshot().kpis;
                assert_eq!((k.it_power_kw, k.max_inlet_air_c, k.max_gpu_temp_c), (0.0, 0.0, 0.0), "{name}");
                continue;
            }
            let mut sim = run(site, vec![], 7200.0);
            let k = sim.snapshot().kpis;
            assert!(k.it_power_kw > 0.0, "{name}");
            assert!(k.energy_balance_error < 0.005, "{name}: {:.4} %", k.energy_balance_error * 100.0);
            assert!(k.pue > 1.0 && k.pue < 2.0, "{name}: PUE {}", k.pue);
            n += 1;
        }
    }
    assert!(n >= 4);
}

/// Issue 16: energy in from the utility = heat rejected + heat stored (coolant, GPUs, room air,
/// loop water) + battery charge, at every step and over a run with a failure and restore of
/// every kind of equipment the scene has. The stored heat is read from the state at both ends
/// (`stored_heat_kj`), independently of the step's own bookkeeping.
#[test]
fn energy_balances_at_every_step_through_failures_on_every_example_scene() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "ron") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let site = scene_file(&name);
        if site.rack_count() == 0 {
            continue;
        }
        let ids = Network::build(&site).unwrap().ids;
        let mut events = Vec::new();
        let mut at = 60.0;
        let kinds: [(FailureKind, &[String]); 9] = [
            (FailureKind::CduPump, &ids.cdus),
            (FailureKind::Cdu, &ids.cdus),
            (FailureKind::FacilityPump, &ids.loops),
            (FailureKind::Chiller, &ids.chillers),
            (FailureKind::DryCooler, &ids.dry_coolers),
            (FailureKind::Crah, &ids.crahs),
            (FailureKind::Utility, &ids.feeds),
            (FailureKind::Ups, &ids.ups),
            (FailureKind::Pdu, &ids.pdus),
        ];
        for (kind, list) in kinds {
            if let Some(id) = list.first() {
                let f = Failure { kind, target: id.clone() };
                events.push(Event { at_s: at, action: Action::Fail(f.clone()) });
                events.push(Event { at_s: at + 120.0, action: Action::Restore(f) });
                at += 150.0;
            }
        }
        let mut sim = Simulation::new(site, Scenario { events, ..Default::default() }, 1.0).unwrap();
        let start = sim.stored_heat_kj();
        let mut worst: f64 = 0.0;
        while sim.time_s() < at + 300.0 {
            sim.step();
            worst = worst.max(sim.kpis().energy_balance_error);
        }
        let e = sim.energy_totals();
        let stored = sim.stored_heat_kj() - start;
        let error = (e.utility_kj - e.rejected_kj - stored).abs() / e.utility_kj;
        assert!(error < 1e-3, "{name}: {:.4} % of {:.0} kJ (stored {stored:.0} kJ)", error * 100.0, e.utility_kj);
        assert!(worst < 1e-4, "{name}: a step missed by {:.5} %", worst * 100.0);
        n += 1;
    }
    assert!(n >= 4);
}

/// A 1 MW liquid-only load on one CDU and one facility loop, for the Modelica design point.
pub(super) fn modelica_site(ambient: f64) -> Site {
    let mut site = demo();
    site.ambient = Ambient { dry_bulb_c: ambient, wet_bulb_c: ambient - 8.0 };
    site.rack_types.push(RackType {
        id: "mw-load".into(),
        name: "1 MW liquid load".into(),
        idle_kw: 0.0,
        max_kw: 1000.0,
        liquid_fraction: 1.0,
        gpus: 0,
        // 1 MW over 5 K of PG25: 51.3 kg/s.
        coolant_flow_lpm: 1000e3 / (physics::CP_PG25 * 5.0) / physics::RHO_PG25 * 60.0,
        tokens_per_s: 0.0,
        width_m: 1.2,
        depth_m: 1.2,
        height_m: 2.2,
        kind: catalogue::RackKind::Storage,
        gpu_share: 0.0,
        gpu_model: None,
        fan_power_fraction: catalogue::default_fan_power_fraction(),
        airflow_m3_s_per_kw: catalogue::default_airflow(),
        supply_approach_k: 0.0,
    });
    let hall = &mut site.halls[0];
    hall.rows.truncate(1);
    hall.rows[0].racks = vec![Rack {
        id: "load".into(),
        rack_type: Some("mw-load".into()),
        at: None,
        cdu: None,
        pdu: None,
        utilization: Some(1.0),
    }];
    hall.crahs.clear();
    let cdu = &mut hall.cdus[0];
    cdu.capacity_kw = 1000.0;
    cdu.approach_k = 3.0;
    cdu.supply_setpoint_c = 45.0;
    cdu.rated_flow_lpm = 4000.0;
    cdu.pump_kw = 0.0;
    let lp = &mut site.plant.loops[0];
    lp.supply_setpoint_c = 42.0;
    lp.rated_flow_kg_s = 1000e3 / (physics::CP_WATER * 5.0);
    lp.pump_kw = 0.0;
    site.power.pdus[0].capacity_kw = 1100.0;
    site
}

/// physics.md §4.5: a GB200-class rack whose TCS flow stops reaches slowdown well under 2 min.
#[test]
fn gb200_rack_without_flow_reaches_slowdown_well_under_two_minutes() {
    let mut sim = run(scene_file("superpod-hall.ron"), vec![fail(FailureKind::Cdu, "hall-1/cdu-a", 60.0)], 600.0);
    let onset = sim.throttle_onset_s().expect("no throttling");
    assert!(onset > 60.0 && onset - 60.0 < 90.0, "slowdown {onset} s, failure at 60 s");
    let s = sim.snapshot();
    // Only row A lost flow: its eight GB200 racks are down or throttled, the others run.
    let a: Vec<usize> = (0..8).collect();
    assert!(a.iter().all(|&i| s.racks.output[i] < 0.5), "{:?}", &s.racks.output[..9]);
    assert!(s.racks.output[9..17].iter().all(|&o| o > 0.99));
}

/// The case: losing all CDU pumps of a GB300 hall reaches slowdown within about two
/// minutes and output drops.
#[test]
fn losing_all_cdu_pumps_of_a_gb300_hall_throttles_and_output_drops() {
    let events = (0..3).map(|_| fail(FailureKind::CduPump, "hall-1", 60.0)).collect();
    let mut sim = Simulation::new(demo(), Scenario { events, ..Default::default() }, 1.0).unwrap();
    let before = sim.snapshot().kpis;
    sim.run_until(600.0);
    let onset = sim.throttle_onset_s().expect("no throttling");
    assert!(onset - 60.0 <= 120.0, "slowdown {} s after the failure", onset - 60.0);
    let after = sim.snapshot().kpis;
    assert!(before.output_fraction > 0.999);
    assert!(after.output_fraction < 0.5, "{}", after.output_fraction);
    assert!(after.tokens_per_s < before.tokens_per_s * 0.5);
    assert!(sim.alarm_log().iter().any(|a| a.kind == AlarmKind::GpuSlowdown));
}

/// N+1: one pump failing changes nothing that matters, against the same run without it; and
/// the spare is what saves it: the same failure on an N+0 CDU (two pumps, both on duty) costs
/// output.
#[test]
fn one_pump_failing_with_n_plus_1_changes_nothing_that_matters() {
    let one = || vec![fail(FailureKind::CduPump, "hall-1/cdu-1", 60.0)];
    let mut base = run(demo(), vec![], 1800.0);
    let mut hit = run(demo(), one(), 1800.0);
    assert!(
        hit.alarm_log().iter().any(|a| a.kind == AlarmKind::EquipmentDown && a.raised && a.time_s == 60.0),
        "the failure landed"
    );
    let (a, b) = (base.snapshot(), hit.snapshot());
    assert_eq!(a.cdus[0].pumps_running, 2, "two on duty");
    assert_eq!(b.cdus[0].pumps_running, 2, "the spare took over");
    let (a, b) = (a.kpis, b.kpis);
    assert!(a.output_fraction > 0.999, "{}", a.output_fraction);
    assert_eq!(a.output_fraction, b.output_fraction);
    assert!((a.max_gpu_temp_c - b.max_gpu_temp_c).abs() < 0.1);
    assert!((a.pue - b.pue).abs() < 0.001);
    // A second pump failing does matter.
    let two = (0..2).map(|_| fail(FailureKind::CduPump, "hall-1/cdu-1", 60.0)).collect();
    let mut worse = run(demo(), two, 1800.0);
    assert!(worse.snapshot().kpis.max_gpu_temp_c > a.max_gpu_temp_c + 1.0);
    // N+0, no spare: two pumps both on duty run hotter on one; one pump of the same total
    // power loses its flow and the output with it.
    let n0 = |pumps: u32| {
        let mut site = demo();
        let cdu = &mut site.halls[0].cdus[0];
        cdu.pump_kw *= cdu.pumps_duty as f64 / pumps as f64;
        (cdu.pumps, cdu.pumps_duty) = (pumps, pumps);
        site
    };
    let mut two_of_two = run(n0(2), one(), 1800.0);
    let e = two_of_two.snapshot();
    assert_eq!(e.cdus[0].pumps_running, 1);
    assert!(e.kpis.max_gpu_temp_c > a.max_gpu_temp_c + 1.0, "{} vs {}", e.kpis.max_gpu_temp_c, a.max_gpu_temp_c);
    let mut single = run(n0(1), vec![], 1800.0);
    let mut single_hit = run(n0(1), one(), 1800.0);
    let (c, d) = (single.snapshot().kpis, single_hit.snapshot().kpis);
    assert_eq!(c.output_fraction, a.output_fraction, "N+0 runs the same until its pump fails");
    assert!(
        d.output_fraction < c.output_fraction - 0.5,
        "N+0 lost no output: {} → {}",
        c.output_fraction,
        d.output_fraction
    );
}

/// Higher ambient costs a chiller plant more power: PUE rises.
#[test]
fn higher_ambient_raises_pue_of_a_chiller_plant() {
    let pue = |t: f64| {
        let mut site = scene_file("mixed-air-hall.ron");
        set_ambient(&mut site, t);
        run(site, vec![], 3600.0).snapshot().kpis.pue
    };
    let (cool, mild, hot) = (pue(10.0), pue(25.0), pue(38.0));
    assert!(cool < mild && mild < hot, "{cool} {mild} {hot}");
}

/// Staging: the lead chillers run, as few as carry the load near the York YT curve's most
/// efficient part load (0.72); the rest stand by with their capacity shown.
#[test]
fn chillers_stage_to_their_most_efficient_part_load() {
    let snap = |load_kw: f64| {
        let mut site = modelica_site(20.0);
        site.rack_types[0].max_kw = load_kw;
        site.plant.dry_coolers.clear();
        site.plant.chillers = (1..=3)
            .map(|k| Chiller {
                id: format!("ch-{k}"),
                capacity_kw: 1055.0,
                cop: 5.96,
                condenser: Condenser::CoolingTower,
                economiser: false,
                restart_s: 0.0,
                curves: None,
                supply: "feed-1".into(),
                position: None,
            })
            .collect();
        let lp = &mut site.plant.loops[0];
        lp.heat_rejection = vec!["ch-1".into(), "ch-2".into(), "ch-3".into()];
        lp.supply_setpoint_c = 7.0;
        lp.rated_flow_kg_s = 150.0;
        site.halls[0].cdus[0].supply_setpoint_c = 12.0;
        site.halls[0].cdus[0].capacity_kw = 3000.0;
        site.halls[0].cdus[0].rated_flow_lpm = 20_000.0;
        site.rack_types[0].coolant_flow_lpm = 6000.0;
        site.power.pdus[0].capacity_kw = 3000.0;
        site.power.ups[0].capacity_kw = 3500.0;
        site.power.feeds[0].capacity_kw = 6000.0;
        run(site, vec![], 3600.0).snapshot()
    };
    let running = |s: &Snapshot| s.chillers.iter().filter(|c| c.running).count();
    let light = snap(600.0);
    assert_eq!(running(&light), 1, "{:?}", light.chillers);
    assert!(light.chillers[1].available_kw > 900.0, "a standby chiller shows what it could take");
    let heavy = snap(1800.0);
    assert_eq!(running(&heavy), 3, "{:?}", heavy.chillers);
    assert!(heavy.chillers.iter().all(|c| (c.plr - heavy.chillers[0].plr).abs() < 1e-3), "equal part load");
}

/// A partial economiser: at 16 °C outside the mixed hall's dry cooler pre-cools part of the
/// 20 °C return at part fan speed and the chillers trim the rest, drawing less than the chillers
/// would alone (the dry cooler failed).
#[test]
fn the_economiser_pre_cools_when_it_cannot_carry_the_load_alone() {
    let mut site = scene_file("mixed-air-hall.ron");
    set_ambient(&mut site, 16.0);
    let mut both = run(site.clone(), vec![], 3600.0);
    let s = both.snapshot();
    let dc = &s.dry_coolers[0];
    assert!(dc.heat_kw > 50.0 && dc.fan_speed > 0.0 && dc.fan_speed < 1.0, "{dc:?}");
    assert!(s.chillers.iter().any(|c| c.running), "{:?}", s.chillers);
    let mut alone = run(site, vec![fail(FailureKind::DryCooler, "dc-1", 0.0)], 3600.0);
    assert!(s.kpis.cooling_power_kw < alone.snapshot().kpis.cooling_power_kw - 10.0);
}

#[test]
fn utility_loss_runs_on_battery_then_drops_everything_on_ups() {
    let mut sim = Simulation::new(
        demo(),
        Scenario { events: vec![fail(FailureKind::Utility, "all", 60.0)], ..Default::default() },
        1.0,
    )
    .unwrap();
    sim.run_until(120.0);
    let s = sim.snapshot();
    assert!(s.ups[0].on_battery && s.ups[0].battery < 1.0);
    assert!(s.kpis.it_power_kw > 900.0, "IT rides on the battery");
    assert!(!s.dry_coolers[0].running, "the dry cooler is on the feed, not the UPS");
    sim.run_until(1200.0);
    let s = sim.snapshot();
    assert!(!s.ups[0].up);
    assert_eq!(s.kpis.it_power_kw, 0.0);
    assert_eq!(s.kpis.output_fraction, 0.0);
}

#[test]
fn chiller_restarts_only_after_its_restart_time() {
    let events = vec![
        fail(FailureKind::Chiller, "all", 60.0),
        Event { at_s: 120.0, action: Action::Restore(Failure { kind: FailureKind::Chiller, target: "all".into() }) },
    ];
    let mut sim =
        Simulation::new(scene_file("mixed-air-hall.ron"), Scenario { events, ..Default::default() }, 1.0).unwrap();
    sim.run_until(130.0);
    assert!(sim.snapshot().chillers.iter().all(|c| !c.running));
    sim.run_until(120.0 + 300.0 + 5.0);
    assert!(sim.snapshot().chillers.iter().any(|c| c.running));
}

#[test]
fn same_scene_and_scenario_give_bit_identical_runs() {
    let scenario = Scenario {
        seed: 9,
        events: vec![fail(FailureKind::Cdu, "hall-1/cdu-b", 100.0), fail(FailureKind::Crah, "all", 200.0)],
        workloads: vec![Workload {
            target: "all".into(),
            profile: Profile::Bursts { period_s: 30.0, low: 0.3, high: 1.0 },
        }],
        ..Default::default()
    };
    let go = || {
        let mut sim = Simulation::new(scene_file("superpod-hall.ron"), scenario.clone(), 1.0).unwrap();
        sim.run_until(900.0);
        (sim.snapshot(), sim.alarm_log().to_vec())
    };
    let (a, la) = go();
    let (b, lb) = go();
    assert_eq!(a, b);
    assert_eq!(la, lb);
    assert!(!la.is_empty());
    // Bits, not just values within tolerance.
    assert_eq!(a.kpis.pue.to_bits(), b.kpis.pue.to_bits());
}

#[test]
fn workload_profiles_move_power() {
    let scenario = Scenario {
        workloads: vec![Workload {
            target: "hall-1/row-A".into(),
            profile: Profile::Training { every_s: 600.0, checkpoint_s: 60.0, level: 0.2 },
        }],
        ..Default::default()
    };
    let mut sim = Simulation::new(demo(), scenario, 1.0).unwrap();
    sim.run_until(500.0);
    let busy = sim.kpis().it_power_kw;
    sim.run_until(570.0);
    let checkpoint = sim.kpis().it_power_kw;
    assert!(checkpoint < busy - 200.0, "{busy} → {checkpoint}");
}

#[test]
fn live_edits_re_derive_the_network_and_keep_state() {
    let mut sim = run(demo(), vec![], 300.0);
    let before = sim.snapshot();
    let mut site = sim.site().clone();
    // Add a rack to row B and move rack-01 of row A along the row.
    site.halls[0].rows[1].racks.push(Rack {
        id: "rack-05".into(),
        rack_type: None,
        at: None,
        cdu: None,
        pdu: None,
        utilization: None,
    });
    site.halls[0].rows[0].racks[0].at = Some(-0.0);
    site.power.pdus[0].capacity_kw = 1400.0;
    sim.edit_site(site.clone()).unwrap();
    assert_eq!(sim.rack_count(), 9);
    let after = sim.snapshot();
    assert!(after.kpis.it_power_kw > before.kpis.it_power_kw + 100.0);
    assert!((after.racks.gpu_c[0] - before.racks.gpu_c[0]).abs() < 1.0, "racks keep their temperature");
    // Remove it again.
    site.halls[0].rows[1].racks.pop();
    sim.edit_site(site.clone()).unwrap();
    assert_eq!(sim.rack_count(), 8);
    // An impossible edit is refused with the reason, and the sim keeps running.
    site.halls[0].rows[0].racks[1].at = Some(0.1);
    let err = sim.edit_site(site).unwrap_err();
    assert!(err.contains("overlaps"), "{err}");
    sim.run_until(400.0);
    assert_eq!(sim.rack_count(), 8);
}

#[test]
fn bad_time_steps_are_refused() {
    for dt in [0.0, -1.0, f64::NAN, 1e9] {
        assert!(Simulation::new(demo(), Scenario::default(), dt).is_err());
    }
}

fn kind_strategy() -> impl Strategy<Value = FailureKind> {
    proptest::sample::select(FailureKind::ALL.iter().map(|(k, _)| *k).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random generated scenes under random failure and restore sequences: never NaN, never a panic.
    #[test]
    fn random_scenes_and_failures_stay_finite(
        racks in 1usize..40,
        ty in 0usize..5,
        halls in 1usize..3,
        seed in any::<u64>(),
        ambient in -20.0f64..48.0,
        events in proptest::collection::vec((kind_strategy(), any::<bool>(), 0.0f64..600.0), 0..12),
        dt in prop_oneof![Just(0.5), Just(1.0), Just(5.0)],
    ) {
        let (rack_type, cooling) = [("gb300-nvl72", Cooling::Liquid), ("gb200-nvl72", Cooling::Liquid), ("hgx-h100-air", Cooling::Air), ("storage", Cooling::Air), ("network", Cooling::Air)][ty];
        let halls = halls.min(racks);
        let mut site = generate(&GenerateOptions { racks, rack_type: rack_type.into(), cooling, halls, seed }).unwrap();
        set_ambient(&mut site, ambient);
        let events = events.into_iter().map(|(kind, restore, at_s)| {
            let f = Failure { kind, target: "all".into() };
            Event { at_s, action: if restore { Action::Restore(f) } else { Action::Fail(f) } }
        }).collect();
        let scenario = Scenario { seed, events, ..Default::default() };
        let mut sim = Simulation::new(site, scenario, dt).unwrap();
        for _ in 0..8 {
            sim.run_until(sim.time_s() + 90.0);
            assert_finite(&sim.snapshot());
        }
    }
}

/// What the tokens are of says which racks fall back to their own figure.
#[test]
fn the_description_names_the_racks_that_fall_back() {
    let mut site = demo();
    assert!(mlperf::tokens_of(&site).starts_with("Llama 3.1 405B (MLPerf"), "{}", mlperf::tokens_of(&site));
    assert!(!mlperf::tokens_of(&site).contains("no such result"));
    // GB300 has no Llama 2 70B result.
    site.benchmark = Some("llama2-70b".into());
    assert!(
        mlperf::tokens_of(&site)
            .ends_with("no such result for gb300-nvl72: their own tokens_per_s, not of this benchmark")
    );
    site.benchmark = Some(mlperf::OWN_FIGURES.into());
    assert!(mlperf::tokens_of(&site).starts_with("the rack types' own"));
}

/// A liquid rack without GPUs and without flow no longer warms without bound: its protection
/// trips at 65 °C coolant, the coolant then cools toward the room through the rack's skin, and
/// the rack restarts when flow is back and the coolant below 55 °C (above W45 supply).
#[test]
fn a_liquid_rack_without_gpus_trips_on_its_coolant_and_comes_back() {
    let cdu = Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() };
    let events = vec![
        Event { at_s: 60.0, action: Action::Fail(cdu.clone()) },
        Event { at_s: 1800.0, action: Action::Restore(cdu) },
    ];
    let mut sim = Simulation::new(modelica_site(20.0), Scenario { events, ..Default::default() }, 1.0).unwrap();
    let mut peak: f32 = 0.0;
    while sim.time_s() < 1790.0 {
        sim.step();
        peak = peak.max(sim.snapshot().racks.coolant_c[0]);
    }
    let s = sim.snapshot();
    assert!(s.racks.status[0] & crate::sim::snapshot::RackStatus::SHUTDOWN != 0, "tripped: {:?}", s.racks.status);
    assert!(peak < 67.0 && peak >= physics::RACK_COOLANT_TRIP_C as f32, "peak coolant {peak} °C");
    assert!(s.racks.coolant_c[0] < peak - 1.0, "cooling through the skin: {}", s.racks.coolant_c[0]);
    sim.run_until(2400.0);
    let s = sim.snapshot();
    assert_eq!(s.racks.status[0] & crate::sim::snapshot::RackStatus::SHUTDOWN, 0, "back after the restore");
    assert!(s.kpis.it_power_kw > 900.0);
}
