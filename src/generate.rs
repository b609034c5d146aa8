//! Scene generator: a valid site of N racks with cooling and power sized to the load, N+1 where a
//! designer would put it (CDU pumps, loop pumps, chillers, CRAHs, UPS modules).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::catalogue::FLOW_LPM_PER_KW;
use crate::model::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cooling {
    Liquid,
    Air,
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub racks: usize,
    pub rack_type: String,
    pub cooling: Cooling,
    pub halls: usize,
    pub seed: u64,
}

/// Vertiv Liebert XDU 1350 class: 1368 kW, 4 K approach (Modelica Buildings CDU data record).
const CDU_KW: f64 = 1368.0;
const CDU_APPROACH_K: f64 = 4.0;
/// Google Deschutes draws 74 kW of pumps for 2 MW (3.7 %, physics.md): per duty pump of a
/// 1368 kW unit with two duty pumps, 3.7 % / 2.
const CDU_PUMP_SHARE: f64 = 0.037 / 2.0;
/// BAC Trillium TDFS1238N: 2931 kW at 35 °C air, fluid in 46.1 °C, 117.7 kW of fans.
const DRY_COOLER_KW: f64 = 2931.0;
const DRY_COOLER_FAN_KW: f64 = 117.7;
/// Chillers are sized in 1055 kW modules (the York YT record's size).
const CHILLER_KW: f64 = 1055.0;
/// Air-cooled trim chillers: the York YCAL curve set's reference COP (2.9 at 35 °C air).
const CHILLER_COP: f64 = 2.9;
/// CRAH module: *estimate* for a large chilled-water unit: 250 kW, 20 m³/s, 15 kW of fans.
const CRAH_KW: f64 = 250.0;
/// Most heat one facility loop carries: one pump set of 2+1 pumps of ~300 kW at ~1,200 kg/s
/// (*estimate*: pumps of that size are the largest commonly built). A bigger hall gets several
/// loops, each with its own dry coolers and chillers, as a real plant would be split.
const LOOP_MAX_KW: f64 = 50_000.0;
const ROW_PITCH_M: f64 = 3.0;
const MARGIN_M: f64 = 3.0;

pub fn generate(opts: &GenerateOptions) -> Result<Site, String> {
    let catalogue = builtin_rack_types();
    let ty = catalogue
        .iter()
        .find(|t| t.id == opts.rack_type)
        .ok_or_else(|| {
            format!(
                "unknown rack type \"{}\"; built-in types: {}",
                opts.rack_type,
                catalogue.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")
            )
        })?
        .clone();
    if opts.racks == 0 {
        return Err("--racks must be at least 1".into());
    }
    if opts.halls == 0 || opts.halls > opts.racks {
        return Err(format!("--halls must be between 1 and the number of racks ({})", opts.racks));
    }
    if opts.cooling == Cooling::Liquid && !ty.is_liquid() {
        return Err(format!("\"{}\" is air-cooled; use --cooling air or a liquid-cooled type", ty.id));
    }
    if opts.cooling == Cooling::Air && ty.is_liquid() {
        return Err(format!(
            "\"{}\" is liquid-cooled ({:.0} % of its heat goes to liquid); use --cooling liquid or an air-cooled type",
            ty.id,
            ty.liquid_fraction * 100.0
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut site = Site {
        version: SCENE_VERSION,
        name: format!("Generated {} × {}", opts.racks, ty.id),
        location: "generated".into(),
        ambient: Ambient { dry_bulb_c: 25.0, wet_bulb_c: 18.0 },
        benchmark: None,
        rack_types: Vec::new(),
        halls: Vec::new(),
        plant: Plant::default(),
        power: Power::default(),
    };
    let per_hall_base = opts.racks / opts.halls;
    let extra = opts.racks % opts.halls;
    // Halls on a square-ish grid, each with its outdoor plant on its south side.
    let cols = (opts.halls as f64).sqrt().ceil() as usize;
    let mut pitch = (0.0, 0.0);
    // Every hall's plant is laid out in the first hall's lane (the first hall has the most racks,
    // so the widest floor and the deepest plant): no other hall's plant reaches past the pitch.
    let mut lane = None;
    for h in 0..opts.halls {
        let n = per_hall_base + usize::from(h < extra);
        let origin = ((h % cols) as f64 * pitch.0, (h / cols) as f64 * pitch.1);
        let (w, d, l) = add_hall(&mut site, &ty, opts.cooling, h, n, origin, lane, &mut rng);
        if h == 0 {
            pitch = (w + 20.0, d + 12.0);
            lane = Some(l);
        }
    }
    Ok(site)
}

fn round_up(x: f64, step: f64) -> f64 {
    (x / step).ceil() * step
}

#[allow(clippy::too_many_arguments)]
/// Adds one hall with its plant and power at `origin`, the plant in rows no wider than `lane`
/// (the hall's width and the gap beside it by default); returns the width and depth of the hall
/// with its plant, and the lane used.
fn add_hall(
    site: &mut Site,
    ty: &RackType,
    cooling: Cooling,
    h: usize,
    racks: usize,
    origin: (f64, f64),
    lane: Option<f64>,
    rng: &mut ChaCha8Rng,
) -> (f64, f64, f64) {
    let (x0, y0) = origin;
    let hall_id = format!("hall-{}", h + 1);
    let liquid_kw = ty.max_kw * ty.liquid_fraction;
    let liquid = cooling == Cooling::Liquid;
    // Racks per group: one in-row CDU and one busway per group.
    let per_group = if liquid {
        let by_heat = (CDU_KW * 0.95 / liquid_kw).floor();
        let by_flow = (CDU_KW * FLOW_LPM_PER_KW / ty.coolant_flow_lpm.max(1e-9)).floor();
        by_heat.min(by_flow).clamp(1.0, 24.0) as usize
    } else {
        // A 400 kW busway section.
        ((400.0 / ty.max_kw).floor() as usize).clamp(1, 24)
    };
    let groups = racks.div_ceil(per_group);
    let group_len = per_group as f64 * ty.width_m + if liquid { 0.6 } else { 0.0 };
    // Squarish hall: groups_per_row ≈ sqrt(groups × pitch / group length).
    let per_row = ((groups as f64 * ROW_PITCH_M / group_len).sqrt().ceil() as usize).clamp(1, groups);
    let rows = groups.div_ceil(per_row);
    let air_kw = racks as f64 * ty.max_kw * (1.0 - ty.liquid_fraction);
    let crah_n = (air_kw / CRAH_KW).ceil() as usize;
    let crah_total = if crah_n == 0 { 0 } else { crah_n + 1 };
    let crah_wall = 1.2 + crah_total.div_ceil(2) as f64 * 2.0 + 1.2;
    let width = round_up((2.0 * MARGIN_M + per_row as f64 * group_len).max(crah_wall), 0.6);
    let depth = round_up(2.0 * MARGIN_M + rows as f64 * ROW_PITCH_M + 3.0, 0.6);

    let ups_id = |k: usize| format!("{hall_id}-ups-{}", k + 1);
    let feed_id = format!("feed-{}", h + 1);
    // Facility loops: as few as carry the heat, each a contiguous block of CDU groups (liquid)
    // or of CRAHs (air). One loop keeps the plain id.
    let loop_heat_kw = if liquid { racks as f64 * liquid_kw } else { crah_total as f64 * CRAH_KW };
    let loops = ((loop_heat_kw / LOOP_MAX_KW).ceil() as usize).max(1);
    let loop_id = |k: usize| if loops == 1 { format!("{hall_id}-fw") } else { format!("{hall_id}-fw-{}", k + 1) };
    let mut loop_kw = vec![0.0; loops];

    let mut hall = Hall {
        id: hall_id.clone(),
        origin: (x0, y0),
        size: (width, depth),
        ceiling_height_m: 6.0,
        tile_m: 0.6,
        containment: Containment::HotAisle,
        rows: Vec::new(),
        cdus: Vec::new(),
        crahs: Vec::new(),
    };

    let group_it_kw = per_group as f64 * ty.max_kw;
    let ups_module_kw = 1500.0_f64.max(group_it_kw * 1.1);
    let hall_it_kw = racks as f64 * ty.max_kw;
    let ups_count = ((hall_it_kw / (ups_module_kw * 0.8)).ceil().max(1.0) as usize).min(groups);
    let mut pdus = Vec::new();
    let mut placed = 0;
    let mut group = 0;
    let mut ups_load = vec![0.0; ups_count];
    for r in 0..rows {
        let row_name = row_name(r);
        let facing = if r % 2 == 0 { Facing::South } else { Facing::North };
        let y = MARGIN_M + r as f64 * ROW_PITCH_M;
        let mut row = Row {
            id: format!("row-{row_name}"),
            origin: (MARGIN_M, y),
            facing,
            rack_type: Some(ty.id.clone()),
            cdu: None,
            pdu: None,
            racks: Vec::new(),
        };
        for g in 0..per_row {
            if placed >= racks {
                break;
            }
            let n = per_group.min(racks - placed);
            let gx = g as f64 * group_len;
            let cdu = liquid.then(|| format!("{hall_id}/cdu-{}", group + 1));
            let pdu = format!("{hall_id}/pdu-{}", group + 1);
            for k in 0..n {
                let u: f64 = rng.random_range(0.8..=1.0);
                row.racks.push(Rack {
                    id: format!("rack-{:02}", g * per_group + k + 1),
                    rack_type: None,
                    at: Some(((gx + k as f64 * ty.width_m) * 1000.0).round() / 1000.0),
                    cdu: cdu.clone(),
                    pdu: Some(pdu.clone()),
                    utilization: Some((u * 100.0).round() / 100.0),
                });
            }
            let ups = group % ups_count;
            let load = n as f64 * ty.max_kw;
            ups_load[ups] += load / 0.99;
            pdus.push(Pdu { id: pdu, ups: ups_id(ups), capacity_kw: round_up(load * 1.1, 10.0), efficiency: 0.99 });
            if liquid {
                let heat = n as f64 * liquid_kw;
                let lp = group * loops / groups;
                loop_kw[lp] += heat;
                let flow = n as f64 * ty.coolant_flow_lpm;
                let pump_kw = (CDU_KW * CDU_PUMP_SHARE * 10.0).round() / 10.0;
                ups_load[ups] += 2.0 * pump_kw;
                let cx = MARGIN_M + gx + n as f64 * ty.width_m + 0.3;
                hall.cdus.push(Cdu {
                    id: format!("cdu-{}", group + 1),
                    kind: CduKind::InRow,
                    capacity_kw: CDU_KW.max(heat),
                    approach_k: CDU_APPROACH_K,
                    supply_setpoint_c: 35.0,
                    rated_flow_lpm: round_up((CDU_KW * FLOW_LPM_PER_KW).max(flow), 10.0),
                    pumps: 3,
                    pumps_duty: 2,
                    pump_kw,
                    tcs_volume_l: round_up(100.0 + n as f64 * 60.0, 10.0),
                    facility_loop: loop_id(lp),
                    supply: ups_id(ups),
                    position: Some((cx, y + ty.depth_m / 2.0)),
                });
            }
            placed += n;
            group += 1;
        }
        hall.rows.push(row);
    }

    // Air side: N+1 CRAHs along the south and north walls. Liquid halls use DX units (their
    // loop is too warm for air); air halls use chilled water.
    let mut mech_feed_kw = 0.0;
    for c in 0..crah_total {
        let x = 1.2 + (c / 2) as f64 * 2.0 + 0.9;
        let y = if c % 2 == 0 { 0.9 } else { hall.size.1 - 0.9 };
        let lp = c * loops / crah_total;
        if !liquid {
            // What the validator counts: each CRAH's capacity, up to the hall's air heat.
            loop_kw[lp] += CRAH_KW.min(air_kw);
        }
        hall.crahs.push(Crah {
            id: format!("crah-{}", c + 1),
            capacity_kw: CRAH_KW,
            airflow_m3_s: 20.0,
            fan_kw: 15.0,
            supply_air_c: 22.0,
            facility_loop: (!liquid).then(|| loop_id(lp)),
            supply: feed_id.clone(),
            position: Some((x, y)),
        });
        // DX units: compressor at COP 3.5 (*estimate*).
        mech_feed_kw += 15.0 + if liquid { CRAH_KW / 3.5 } else { 0.0 };
    }

    // Facility loops and their heat rejection, N+1 chillers as trim with economiser.
    let setpoint = if liquid { 30.0 } else { 12.0 };
    let (mut dcs, mut chs) = (0usize, 0usize);
    // Dry coolers carry the whole load at 25 °C air with a 40 °C return (15 K vs the rated 11.1 K).
    let per_dc = DRY_COOLER_KW * (40.0 - 25.0) / (46.1 - 35.0);
    let dc_count = |kw: f64| if liquid { (kw / per_dc).ceil().max(1.0) as usize } else { 0 };
    let ch_count = |kw: f64| (kw / CHILLER_KW).ceil().max(1.0) as usize + 1;
    // The plant stands south of its hall in rows no wider than the hall and the lane beside it
    // (the next hall's plant starts there): dry coolers, then chillers behind them.
    let lane = lane.unwrap_or(hall.size.0 + 14.0);
    let (dc_cols, ch_cols) = ((lane / 13.0).floor().max(1.0) as usize, (lane / 6.5).floor().max(1.0) as usize);
    let dc_rows = loop_kw.iter().map(|&kw| dc_count(kw)).sum::<usize>().div_ceil(dc_cols);
    let ch_rows = loop_kw.iter().map(|&kw| ch_count(kw)).sum::<usize>().div_ceil(ch_cols);
    let ch_y0 = y0 - 8.0 - dc_rows as f64 * 4.0 - 1.0;
    let plant_depth = 8.0 + dc_rows as f64 * 4.0 + 1.0 + ch_rows as f64 * 3.5;
    for (k, &kw) in loop_kw.iter().enumerate() {
        let mut rejection = Vec::new();
        if liquid {
            for _ in 0..dc_count(kw) {
                let id = format!("{hall_id}-dc-{}", dcs + 1);
                rejection.push(id.clone());
                site.plant.dry_coolers.push(DryCooler {
                    id,
                    capacity_kw: DRY_COOLER_KW,
                    design_air_c: 35.0,
                    design_fluid_in_c: 46.1,
                    fans: 12,
                    fan_kw: DRY_COOLER_FAN_KW,
                    supply: feed_id.clone(),
                    position: Some((x0 + 6.0 + (dcs % dc_cols) as f64 * 13.0, y0 - 8.0 - (dcs / dc_cols) as f64 * 4.0)),
                });
                mech_feed_kw += DRY_COOLER_FAN_KW;
                dcs += 1;
            }
        }
        for _ in 0..ch_count(kw) {
            let id = format!("{hall_id}-ch-{}", chs + 1);
            rejection.push(id.clone());
            site.plant.chillers.push(Chiller {
                id,
                capacity_kw: CHILLER_KW,
                cop: CHILLER_COP,
                condenser: Condenser::AirCooled,
                economiser: true,
                restart_s: 300.0,
                curves: None,
                supply: feed_id.clone(),
                position: Some((x0 + 3.0 + (chs % ch_cols) as f64 * 6.5, ch_y0 - (chs / ch_cols) as f64 * 3.5)),
            });
            mech_feed_kw += CHILLER_KW / CHILLER_COP;
            chs += 1;
        }
        // ΔT 10 K across the loop at full load.
        let flow = round_up(kw.max(50.0) / (4.186 * 10.0), 1.0);
        let pump_kw = round_up(flow * 0.25, 0.5);
        let ups = k % ups_count;
        site.plant.loops.push(CoolantLoop {
            id: loop_id(k),
            supply_setpoint_c: setpoint,
            rated_flow_kg_s: flow,
            pumps: 3,
            pumps_duty: 2,
            pump_kw,
            volume_m3: round_up(5.0 + kw / 200.0, 1.0),
            heat_rejection: rejection,
            supply: ups_id(ups),
        });
        ups_load[ups] += 2.0 * pump_kw;
    }

    site.power.pdus.extend(pdus);
    let mut feed_kw = mech_feed_kw;
    for (k, load) in ups_load.iter().enumerate() {
        let cap = round_up(load * 1.2, 50.0);
        site.power.ups.push(Ups {
            id: ups_id(k),
            feed: feed_id.clone(),
            capacity_kw: cap,
            efficiency: 0.96,
            battery_minutes: 5.0,
        });
        feed_kw += load / 0.96;
    }
    site.power.feeds.push(UtilityFeed { id: feed_id, capacity_kw: round_up(feed_kw * 1.2, 100.0) });
    let depth = hall.size.1;
    site.halls.push(hall);
    (width, depth + plant_depth, lane)
}

/// A, B, …, Z, AA, AB, …
fn row_name(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(racks: usize, ty: &str, cooling: Cooling, halls: usize) -> GenerateOptions {
        GenerateOptions { racks, rack_type: ty.into(), cooling, halls, seed: 1 }
    }

    #[test]
    fn generated_scenes_validate_and_have_every_rack() {
        for (n, ty, c, h) in [
            (1, "gb300-nvl72", Cooling::Liquid, 1),
            (8, "gb300-nvl72", Cooling::Liquid, 1),
            (37, "gb200-nvl72", Cooling::Liquid, 2),
            (50, "hgx-h100-air", Cooling::Air, 1),
            (12, "storage", Cooling::Air, 1),
            (1000, "gb300-nvl72", Cooling::Liquid, 4),
        ] {
            let site = generate(&opts(n, ty, c, h)).unwrap();
            assert_eq!(site.rack_count(), n);
            let errors: Vec<_> = crate::scene::validate(&site).into_iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "{n} {ty}: {errors:#?}");
        }
    }

    fn errors(site: &Site) -> Vec<crate::diagnostic::Diagnostic> {
        crate::scene::validate(site).into_iter().filter(|d| d.is_error()).collect()
    }

    /// The case and the corners: 1 and 10,000 racks in 1 and 10 halls, every built-in
    /// type with the cooling it takes. (10,000 racks in one hall needed a 7.9 MW loop pump.)
    #[test]
    fn the_largest_and_smallest_requests_validate() {
        for ty in builtin_rack_types() {
            let cooling = if ty.is_liquid() { Cooling::Liquid } else { Cooling::Air };
            // 8,689 in 4: its narrower halls once laid their plant out deeper than the first's,
            // into the hall behind.
            for (n, h) in [(1, 1), (10_000, 1), (10, 10), (10_000, 10), (8_689, 4)] {
                let site = generate(&opts(n, &ty.id, cooling, h)).unwrap();
                assert_eq!(site.rack_count(), n);
                let e = errors(&site);
                assert!(e.is_empty(), "{n} {} in {h} halls: {e:#?}", ty.id);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// Any rack count up to 10,000, 1–10 halls, either cooling and every built-in type: a
        /// scene with no validation error, or a refusal that says why (air type on liquid).
        #[test]
        fn every_generated_scene_validates(
            racks in 1usize..=10_000,
            halls in 1usize..=10,
            ty in 0usize..5,
            liquid in proptest::prelude::any::<bool>(),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let ty = builtin_rack_types()[ty].clone();
            let cooling = if liquid { Cooling::Liquid } else { Cooling::Air };
            let o = GenerateOptions { racks, rack_type: ty.id.clone(), cooling, halls, seed };
            match generate(&o) {
                Ok(site) => {
                    proptest::prop_assert!(halls <= racks && ty.is_liquid() == liquid);
                    proptest::prop_assert_eq!(site.rack_count(), racks);
                    let e = errors(&site);
                    proptest::prop_assert!(e.is_empty(), "{} {} in {} halls: {:#?}", racks, ty.id, halls, e);
                }
                Err(why) => {
                    proptest::prop_assert!(halls > racks || ty.is_liquid() != liquid, "refused: {}", why);
                    proptest::prop_assert!(why.contains("--halls") || why.contains("--cooling"), "{}", why);
                }
            }
        }
    }

    #[test]
    fn same_seed_same_scene_other_seed_differs() {
        let a = generate(&opts(40, "gb300-nvl72", Cooling::Liquid, 1)).unwrap();
        let b = generate(&opts(40, "gb300-nvl72", Cooling::Liquid, 1)).unwrap();
        let mut o = opts(40, "gb300-nvl72", Cooling::Liquid, 1);
        o.seed = 2;
        let c = generate(&o).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(generate(&opts(0, "gb300-nvl72", Cooling::Liquid, 1)).is_err());
        assert!(generate(&opts(10, "nope", Cooling::Liquid, 1)).is_err());
        assert!(generate(&opts(10, "hgx-h100-air", Cooling::Liquid, 1)).is_err());
        assert!(generate(&opts(2, "gb300-nvl72", Cooling::Liquid, 3)).is_err());
        assert!(generate(&opts(10, "gb300-nvl72", Cooling::Air, 1)).unwrap_err().contains("liquid-cooled"));
    }

    #[test]
    fn row_names() {
        assert_eq!(row_name(0), "A");
        assert_eq!(row_name(25), "Z");
        assert_eq!(row_name(26), "AA");
        assert_eq!(row_name(27), "AB");
    }
}
