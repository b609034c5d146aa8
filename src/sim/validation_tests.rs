//! The validation table (README, "Validation"): each published reference case, the published
//! figure, ours, the difference and the tolerance. Every row is computed here by running the
//! simulation; one test per case checks its rows against their tolerance, and one checks that
//! the README shows exactly the rows computed here (so the table cannot go stale).

use super::tests::{modelica_site, run, scene_file};
use super::*;
use crate::model::*;
use crate::sim::chiller::{YORK_YCAL0019EE, YORK_YT_1055KW};
use crate::sim::network::Network;
use crate::sim::physics;

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    case: &'static str,
    source: &'static str,
    quantity: String,
    published: f64,
    ours: f64,
    unit: &'static str,
    /// Allowed |ours − published|, in `unit`.
    tolerance: f64,
    decimals: usize,
}

impl Row {
    fn passes(&self) -> bool {
        (self.ours - self.published).abs() <= self.tolerance
    }
    fn markdown(&self) -> String {
        let d = self.decimals;
        format!(
            "| {} | {} | {} | {:.d$} {u} | {:.d$} {u} | {:+.d$} | ±{:.d$} | {} |",
            self.case,
            self.source,
            self.quantity,
            self.published,
            self.ours,
            self.ours - self.published,
            self.tolerance,
            if self.passes() { "pass" } else { "**fails**" },
            u = self.unit,
        )
        .replace("  |", " |")
    }
}

fn check(rows: &[Row]) {
    for r in rows {
        assert!(r.passes(), "{}", r.markdown());
    }
}

/// Modelica `ChillerWSEDesignConditionsWater` (physics.md §4.2): 1 MW, full economiser, 36 °C
/// outdoors → rack supply 45, return 50; plant return 47 from a plant holding 42 °C. The inputs
/// are theirs (1 MW, 5 K design rises, a 3 K CDU approach, the plant's 42 °C); the CDU is asked
/// for 30 °C, which it cannot reach, so the rack-side temperatures come out of its heat exchanger
/// and the energy balance, not out of a setpoint. (Their dry cooler runs on an intermediate loop
/// at 44 → 39 °C that this plant does not have, so that pair is not compared.)
fn modelica_rows() -> Vec<Row> {
    let mut site = modelica_site(36.0);
    site.halls[0].cdus[0].supply_setpoint_c = 30.0;
    let mut sim = run(site, vec![], 7200.0);
    let s = sim.snapshot();
    let (cdu, lp) = (&s.cdus[0], &s.loops[0]);
    let row = |quantity: &str, published: f64, ours: f32| Row {
        case: "Modelica liquid-cooled design point",
        source: "Buildings `ChillerWSEDesignConditionsWater`",
        quantity: quantity.into(),
        published,
        ours: ours as f64,
        unit: "°C",
        tolerance: 0.5,
        decimals: 2,
    };
    vec![
        row("rack supply at 1 MW", 45.0, cdu.supply_c),
        row("rack return", 50.0, cdu.return_c),
        row("plant return", 47.0, lp.return_c),
    ]
}

/// The two CDU data records (physics.md §1, §4.4): XDU1350 1368 kW, 4 K approach, 20.6 kg/s each
/// side → facility ΔT ≈ 15.9 K; Deschutes 2 MW, 3 K approach, IT side 31.48 kg/s, facility 32.30
/// kg/s entering at 26.8 °C → facility ΔT ≈ 14.8 K. The CDU is asked for a supply it cannot
/// reach, so both the ΔT and the approach are what its exchanger and energy balance make of the
/// rated load.
fn cdu_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (name, capacity, approach, it_kg_s, fw_kg_s, fw_in, want_dt) in
        [("XDU1350 CDU", 1368.0, 4.0, 20.6, 20.6, 25.0, 15.9), ("Deschutes CDU", 2000.0, 3.0, 31.48, 32.30, 26.8, 14.8)]
    {
        let mut site = modelica_site(20.0);
        site.rack_types[0].max_kw = capacity;
        site.rack_types[0].coolant_flow_lpm = it_kg_s / physics::RHO_PG25 * 60.0;
        let cdu = &mut site.halls[0].cdus[0];
        cdu.capacity_kw = capacity;
        cdu.approach_k = approach;
        cdu.rated_flow_lpm = 20_000.0;
        cdu.supply_setpoint_c = 10.0;
        site.plant.loops[0].rated_flow_kg_s = fw_kg_s;
        site.plant.loops[0].supply_setpoint_c = fw_in;
        site.power.pdus[0].capacity_kw = capacity * 1.1;
        site.power.ups[0].capacity_kw = capacity * 1.2;
        site.power.feeds[0].capacity_kw = capacity * 2.0;
        let mut sim = run(site, vec![], 7200.0);
        let s = sim.snapshot();
        let (cdu, lp) = (&s.cdus[0], &s.loops[0]);
        let source = if capacity < 1500.0 { "Vertiv XDU1350 data (physics.md §1)" } else { "OCP Deschutes CDU spec" };
        rows.push(Row {
            case: name,
            source,
            quantity: format!("facility ΔT at {capacity:.0} kW"),
            published: want_dt,
            ours: (lp.return_c - lp.supply_c) as f64,
            unit: "K",
            tolerance: 0.2,
            decimals: 2,
        });
        rows.push(Row {
            case: name,
            source,
            quantity: "approach (TCS supply − facility supply)".into(),
            published: approach,
            ours: (cdu.supply_c - lp.supply_c) as f64,
            unit: "K",
            tolerance: 0.2,
            decimals: 2,
        });
    }
    rows
}

/// OCP 1 kW OAM cold plate with PG25 (physics.md §4.3): case − inlet at three flows.
fn cold_plate_rows() -> Vec<Row> {
    [(0.4, 38.9), (1.0, 24.5), (2.4, 19.7)]
        .into_iter()
        .map(|(flow, dt)| Row {
            case: "OCP cold plate",
            source: "OCP OAM plate, Modelica `ColdPlateR_P`",
            quantity: format!("T_case − T_in, 1 kW at {flow} L/min"),
            published: dt,
            ours: physics::cold_plate_r(flow) * 1000.0,
            unit: "K",
            tolerance: 0.5,
            decimals: 2,
        })
        .collect()
}

/// A biquadratic as the records write it, evaluated here from the records' coefficients (not the
/// engine's code): a + b·x + c·x² + d·y + e·y² + f·x·y.
fn record_curve(c: [f64; 6], x: f64, y: f64) -> f64 {
    c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y
}

/// Chillers at several (chilled water, condenser) points: the COP a running chiller reports
/// against the record's own curves, evaluated at the same point and part load.
fn chiller_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    // (curves, air-cooled, record name, chilled water °C, condenser °C, load kW)
    let york_yt = ("York YT 1055 kW", "Buildings `ElectricEIRChiller_York_YT_1055kW_5_96COP_Vanes`");
    let ycal = ("York YCAL0019EE (air)", "EnergyPlus `AirCooledChiller.idf`");
    for (curves, air, (name, source), t_chw, t_cond, load) in [
        (&YORK_YT_1055KW, false, york_yt, 6.67, 29.44, 900.0),
        (&YORK_YT_1055KW, false, york_yt, 5.0, 24.0, 900.0),
        (&YORK_YT_1055KW, false, york_yt, 8.0, 18.0, 500.0),
        (&YORK_YT_1055KW, false, york_yt, 6.67, 29.44, 300.0),
        (&YORK_YCAL0019EE, true, ycal, 6.67, 35.0, 900.0),
        (&YORK_YCAL0019EE, true, ycal, 7.0, 25.0, 700.0),
        (&YORK_YCAL0019EE, true, ycal, 10.0, 45.0, 800.0),
    ] {
        let mut site = modelica_site(20.0);
        // One 1055 kW chiller alone on the loop, at the rated COP of its curve set.
        site.rack_types[0].max_kw = load;
        site.plant.dry_coolers.clear();
        let cop = if air { 2.9 } else { 5.96 };
        site.plant.chillers = vec![Chiller {
            id: "ch-1".into(),
            capacity_kw: 1055.0,
            cop,
            condenser: if air { Condenser::AirCooled } else { Condenser::CoolingTower },
            economiser: false,
            restart_s: 0.0,
            curves: None,
            supply: "feed-1".into(),
            position: None,
        }];
        let lp = &mut site.plant.loops[0];
        lp.heat_rejection = vec!["ch-1".into()];
        lp.supply_setpoint_c = t_chw;
        site.halls[0].cdus[0].supply_setpoint_c = t_chw + 5.0;
        // The condenser side: outdoor dry bulb (air-cooled) or wet bulb + 5 K (tower).
        site.ambient = if air {
            Ambient { dry_bulb_c: t_cond, wet_bulb_c: t_cond - 10.0 }
        } else {
            Ambient { dry_bulb_c: t_cond, wet_bulb_c: t_cond - 5.0 }
        };
        let mut sim = run(site, vec![], 3600.0);
        let st = sim.snapshot().chillers[0].clone();
        let (x, y) = (t_chw.clamp(curves.t_chw_range_c.0, curves.t_chw_range_c.1), t_cond);
        let available = 1055.0 * record_curve(curves.cap_ft, x, y);
        let plr = st.heat_kw as f64 / available;
        let f = curves.eir_fplr;
        let part = plr.max(curves.plr_min_unloading);
        let power = available / cop * record_curve(curves.eir_ft, x, y) * (f[0] + f[1] * part + f[2] * part * part);
        rows.push(Row {
            case: name,
            source,
            quantity: format!("COP at {t_chw} °C / {t_cond} °C, PLR {plr:.2}"),
            published: st.heat_kw as f64 / power,
            ours: st.cop as f64,
            unit: "",
            tolerance: 0.01,
            decimals: 3,
        });
    }
    rows
}

/// EnergyPlus ITE:AirCooled equations on a hand case: an HGX H100 rack (idle 12 kW, max 44 kW,
/// fans 10 % of max at design flow, 0.05616 m³/s per kW) at half load. By hand: CPU/GPU part
/// (12 + 32·0.5)·0.9 = 25.2 kW; flow fraction 0.4 + 0.6·0.5 = 0.7; fans 4.4·0.7³ = 1.5092 kW;
/// power 26.7092 kW; air 2.4711·0.7 = 1.7298 m³/s; ΔT = 26709.2 / (1.7298·1.18·1006) = 13.007 K.
fn ite_rows() -> Vec<Row> {
    let mut site = scene_file("mixed-air-hall.ron");
    for h in &mut site.halls {
        for r in &mut h.rows {
            for k in &mut r.racks {
                k.utilization = Some(0.5);
            }
        }
    }
    let net = Network::build(&site).unwrap();
    let i = net.racks.iter().position(|r| r.fan_kw > 0.0 && r.gpus > 0.0).expect("an air-cooled GPU rack");
    let mut sim = run(site, vec![], 3600.0);
    let s = sim.snapshot();
    let airflow = 1.0 / (1.18 * 1006.0 * 15.0) * 1000.0 * 44.0 * 0.7;
    let power = (12.0 + 32.0 * 0.5) * 0.9 + 4.4 * 0.7f64.powi(3);
    let row = |quantity: &str, published: f64, ours: f64, unit, tolerance, decimals| Row {
        case: "EnergyPlus ITE:AirCooled",
        source: "hand case of its equations (HGX H100 rack, half load)",
        quantity: quantity.into(),
        published,
        ours,
        unit,
        tolerance,
        decimals,
    };
    vec![
        row("rack power", power, s.racks.power_kw[i] as f64, "kW", 0.01, 3),
        row(
            "exhaust − inlet",
            power * 1e3 / (airflow * physics::RHO_AIR * physics::CP_AIR),
            (s.racks.coolant_c[i] - s.racks.inlet_c[i]) as f64,
            "K",
            0.01,
            3,
        ),
    ]
}

/// A dry cooler at its rating: rejecting its rated 2931 kW into 35 °C air takes fluid entering at
/// its rated 46.1 °C (demo hall's dry cooler).
fn dry_cooler_rows() -> Vec<Row> {
    let mut site = modelica_site(35.0);
    let rated = site.plant.dry_coolers[0].capacity_kw;
    site.rack_types[0].max_kw = rated;
    site.rack_types[0].coolant_flow_lpm = rated * 1e3 / (physics::CP_PG25 * 8.0) / physics::RHO_PG25 * 60.0;
    let cdu = &mut site.halls[0].cdus[0];
    cdu.capacity_kw = rated * 1.2;
    cdu.rated_flow_lpm = 50_000.0;
    cdu.supply_setpoint_c = 20.0;
    let lp = &mut site.plant.loops[0];
    lp.supply_setpoint_c = 20.0;
    lp.rated_flow_kg_s = 200.0;
    site.power.pdus[0].capacity_kw = rated * 1.1;
    site.power.ups[0].capacity_kw = rated * 1.2;
    site.power.feeds[0].capacity_kw = rated * 2.0;
    let mut sim = run(site, vec![], 7200.0);
    let s = sim.snapshot();
    vec![Row {
        case: "Dry cooler rating point",
        source: "demo hall's dry cooler: 2931 kW, 35 °C air, 46.1 °C fluid in",
        quantity: format!("fluid in at {rated:.0} kW, 35 °C air"),
        published: 46.1,
        ours: s.loops[0].return_c as f64,
        unit: "°C",
        tolerance: 0.2,
        decimals: 2,
    }]
}

/// A dead TCS loop (physics.md §3): with the CDU down, a rack's coolant warms at P/(m·c_p). A
/// 1 MW rack without GPUs (nothing throttles; it trips at 65 °C coolant): the time to use 10 K of
/// margin against the estimate m·c_p·10 K / P.
fn ride_through_rows() -> Vec<Row> {
    let site = modelica_site(20.0);
    let c = Network::build(&site).unwrap().racks[0].c_coolant;
    let fail =
        Event { at_s: 600.0, action: Action::Fail(Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() }) };
    let mut sim = Simulation::new(site, Scenario { events: vec![fail], ..Default::default() }, 0.25).unwrap();
    sim.run_until(600.0);
    let t0 = sim.snapshot().racks.coolant_c[0] as f64;
    while (sim.snapshot().racks.coolant_c[0] as f64) < t0 + 10.0 && sim.time_s() < 900.0 {
        sim.step();
    }
    let estimate = c * 10.0 / 1e6;
    vec![Row {
        case: "Dead TCS loop ride-through",
        source: "physics.md §3: dT/dt = P/(m·c_p)",
        quantity: "seconds to +10 K, 1 MW rack".into(),
        published: estimate,
        ours: sim.time_s() - 600.0,
        unit: "s",
        tolerance: (estimate * 0.05).max(0.5),
        decimals: 2,
    }]
}

#[test]
fn validation_modelica_design_point() {
    check(&modelica_rows());
}

#[test]
fn validation_cdu_data_records() {
    check(&cdu_rows());
}

#[test]
fn validation_ocp_cold_plate() {
    check(&cold_plate_rows());
}

#[test]
fn validation_chiller_curves() {
    check(&chiller_rows());
}

#[test]
fn validation_energyplus_ite() {
    check(&ite_rows());
}

#[test]
fn validation_dry_cooler_rating() {
    check(&dry_cooler_rows());
}

#[test]
fn validation_dead_loop_ride_through() {
    check(&ride_through_rows());
}

/// The README shows the rows as computed now (`cargo test -- validation_table --nocapture`
/// prints them).
#[test]
fn validation_table_in_the_readme_is_current() {
    let rows: Vec<Row> = [
        modelica_rows(),
        cdu_rows(),
        cold_plate_rows(),
        chiller_rows(),
        ite_rows(),
        dry_cooler_rows(),
        ride_through_rows(),
    ]
    .concat();
    let table: Vec<String> = rows.iter().map(Row::markdown).collect();
    println!("{}", table.join("\n"));
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for line in &table {
        assert!(readme.contains(line.as_str()), "README.md lacks the row:\n{line}");
    }
}
