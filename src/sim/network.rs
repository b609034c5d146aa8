//! The site flattened into index-linked arrays the engine steps through: racks → CDUs → facility
//! loops → heat rejection, and racks → PDUs → UPS → feeds. Derived again after every live edit.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::catalogue::RackKind;
use crate::model::{Condenser, Site, cdu_id, crah_id};

use super::chiller::{EirCurves, curves_for};
use super::physics::*;

pub const NONE: u32 = u32::MAX;

/// Where a mechanical load takes its power from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supply {
    Feed(u32),
    Ups(u32),
}

#[derive(Debug, Clone)]
pub struct RackNode {
    pub hall: u32,
    pub cdu: u32,
    pub pdu: u32,
    pub idle_kw: f64,
    pub dyn_kw: f64,
    pub liquid_fraction: f64,
    pub gpus: f64,
    /// W of heat per GPU for each kW of rack power (gpu_share / gpus × 1000).
    pub gpu_w_per_kw: f64,
    pub tokens_per_s: f64,
    /// Design coolant flow, kg/s (0 for air-cooled).
    pub flow_kg_s: f64,
    /// Design flow per GPU cold plate, L/min.
    pub plate_lpm: f64,
    /// Heat capacity of the rack's share of TCS coolant, J/K.
    pub c_coolant: f64,
    /// Air-cooled racks: server fan power and air flow at design flow (kW, m³/s); 0 for liquid.
    pub fan_kw: f64,
    pub air_flow_m3_s: f64,
    /// Supply air to rack inlet, K (EnergyPlus ITE "supply temperature difference").
    pub supply_approach_k: f64,
    pub base_util: f64,
    pub kind: RackKind,
}

#[derive(Debug, Clone)]
pub struct HallNode {
    /// Room air plus a share of structure, J/K.
    pub c_room: f64,
    /// Envelope conductance to outdoors, W/K.
    pub ua_env: f64,
    pub recirculation: f64,
    pub crahs: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct CduNode {
    pub capacity_kw: f64,
    pub setpoint_c: f64,
    pub duty: u32,
    pub pumps: u32,
    pub pump_kw: f64,
    pub loop_: u32,
    pub supply: Supply,
    pub hall: u32,
    /// Σ design flow of its racks, kg/s.
    pub design_flow_kg_s: f64,
    /// Facility water flow at rated loop flow, kg/s.
    pub fw_flow_kg_s: f64,
    pub ua_design: f64,
    pub racks: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct CrahNode {
    pub hall: u32,
    pub capacity_kw: f64,
    /// Air conductance ρ·c_p·V̇, W/K.
    pub g_air: f64,
    pub fan_kw: f64,
    pub supply_air_c: f64,
    pub loop_: u32,
    pub supply: Supply,
}

#[derive(Debug, Clone)]
pub struct LoopNode {
    pub setpoint_c: f64,
    pub flow_kg_s: f64,
    pub duty: u32,
    pub pumps: u32,
    pub pump_kw: f64,
    pub c_water: f64,
    pub dry_coolers: Vec<u32>,
    pub chillers: Vec<u32>,
    /// Waterside economiser: the dry coolers take what they can first and the chillers trim
    /// the rest (every chiller of the loop has `economiser: true` in the scene). Otherwise the
    /// chillers take the load first.
    pub dry_coolers_first: bool,
    pub supply: Supply,
}

#[derive(Debug, Clone)]
pub struct DryCoolerNode {
    /// Heat rejected per kelvin of fluid-in minus air, at full fan speed, W/K.
    pub kw_per_k: f64,
    pub fan_kw: f64,
    pub supply: Supply,
}

#[derive(Debug, Clone)]
pub struct ChillerNode {
    pub capacity_kw: f64,
    /// Its EIR curves at its own rating.
    pub curves: EirCurves,
    /// The part load its curves run most efficiently at: staging aims for it.
    pub best_plr: f64,
    /// The name of its curve set (the scene's or a built-in one).
    pub curve_set: String,
    pub air_cooled: bool,
    pub restart_s: f64,
    pub supply: Supply,
}

#[derive(Debug, Clone)]
pub struct FeedNode {
    pub capacity_kw: f64,
}

#[derive(Debug, Clone)]
pub struct UpsNode {
    pub feed: u32,
    pub capacity_kw: f64,
    pub efficiency: f64,
    pub battery_kj: f64,
}

#[derive(Debug, Clone)]
pub struct PduNode {
    pub ups: u32,
    /// The hall whose air takes its losses (the hall of its first rack); NONE: the electrical
    /// room.
    pub hall: u32,
    pub capacity_kw: f64,
    pub efficiency: f64,
}

/// Ids of every object, by kind, in index order: the names alarms and snapshots use.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    pub racks: Vec<String>,
    pub halls: Vec<String>,
    pub cdus: Vec<String>,
    pub crahs: Vec<String>,
    pub loops: Vec<String>,
    pub dry_coolers: Vec<String>,
    pub chillers: Vec<String>,
    pub feeds: Vec<String>,
    pub ups: Vec<String>,
    pub pdus: Vec<String>,
}

/// Ratings a recorded sample derives headroom and battery charge from. Shared (an `Arc`) with
/// the recording writer, so the sim thread copies only the values that move.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ratings {
    pub cdu_kw: Vec<f64>,
    pub feed_kw: Vec<f64>,
    pub ups_kw: Vec<f64>,
    pub ups_battery_kj: Vec<f64>,
    pub pdu_kw: Vec<f64>,
    /// The UPS each PDU hangs from.
    pub pdu_ups: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub ids: Ids,
    pub racks: Vec<RackNode>,
    pub halls: Vec<HallNode>,
    pub cdus: Vec<CduNode>,
    pub crahs: Vec<CrahNode>,
    pub loops: Vec<LoopNode>,
    pub dry_coolers: Vec<DryCoolerNode>,
    pub chillers: Vec<ChillerNode>,
    pub feeds: Vec<FeedNode>,
    pub ups: Vec<UpsNode>,
    pub pdus: Vec<PduNode>,
    pub ratings: Arc<Ratings>,
}

/// Utilization of a rack with none set in the scene.
pub const DEFAULT_UTILIZATION: f64 = 0.9;

impl Network {
    /// Builds the network from a site. The site should have passed `scene::validate`; anything
    /// still unresolvable here is reported as an error naming the object.
    pub fn build(site: &Site) -> Result<Network, String> {
        let catalogue = site.rack_catalogue();
        let types: HashMap<&str, _> = catalogue.iter().map(|t| (t.id.as_str(), t)).collect();
        let mut ids = Ids::default();
        let index = |v: &[String]| -> HashMap<String, u32> {
            v.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect()
        };

        ids.feeds = site.power.feeds.iter().map(|f| f.id.clone()).collect();
        ids.ups = site.power.ups.iter().map(|u| u.id.clone()).collect();
        ids.pdus = site.power.pdus.iter().map(|p| p.id.clone()).collect();
        ids.loops = site.plant.loops.iter().map(|l| l.id.clone()).collect();
        ids.dry_coolers = site.plant.dry_coolers.iter().map(|d| d.id.clone()).collect();
        ids.chillers = site.plant.chillers.iter().map(|c| c.id.clone()).collect();
        ids.halls = site.halls.iter().map(|h| h.id.clone()).collect();
        for h in &site.halls {
            ids.cdus.extend(h.cdus.iter().map(|c| cdu_id(h, c)));
            ids.crahs.extend(h.crahs.iter().map(|c| crah_id(h, c)));
        }
        let feed_ix = index(&ids.feeds);
        let ups_ix = index(&ids.ups);
        let pdu_ix = index(&ids.pdus);
        let loop_ix = index(&ids.loops);
        let dc_ix = index(&ids.dry_coolers);
        let ch_ix = index(&ids.chillers);
        let cdu_ix = index(&ids.cdus);

        let supply = |owner: &str, s: &str| -> Result<Supply, String> {
            if let Some(&u) = ups_ix.get(s) {
                Ok(Supply::Ups(u))
            } else if let Some(&f) = feed_ix.get(s) {
                Ok(Supply::Feed(f))
            } else {
                Err(format!("{owner}: supply \"{s}\" is neither a UPS nor a feed"))
            }
        };
        let get = |m: &HashMap<String, u32>, owner: &str, what: &str, s: &str| -> Result<u32, String> {
            m.get(s).copied().ok_or_else(|| format!("{owner}: {what} \"{s}\" does not exist"))
        };

        let mut feeds = Vec::new();
        for f in &site.power.feeds {
            feeds.push(FeedNode { capacity_kw: f.capacity_kw });
        }
        let mut ups = Vec::new();
        for u in &site.power.ups {
            ups.push(UpsNode {
                feed: get(&feed_ix, &u.id, "feed", &u.feed)?,
                capacity_kw: u.capacity_kw,
                efficiency: u.efficiency.clamp(0.5, 1.0),
                battery_kj: u.capacity_kw * u.battery_minutes * 60.0,
            });
        }
        let mut pdus = Vec::new();
        for p in &site.power.pdus {
            pdus.push(PduNode {
                ups: get(&ups_ix, &p.id, "ups", &p.ups)?,
                hall: NONE,
                capacity_kw: p.capacity_kw,
                efficiency: p.efficiency.clamp(0.5, 1.0),
            });
        }

        // Racks.
        let mut racks = Vec::with_capacity(site.rack_count());
        for p in site.racks() {
            let id = p.id();
            let tname = p.rack_type().ok_or_else(|| format!("{id}: no rack type"))?;
            let ty = types.get(tname).ok_or_else(|| format!("{id}: unknown rack type \"{tname}\""))?;
            let cdu = match (ty.is_liquid(), p.cdu()) {
                (true, Some(c)) => get(&cdu_ix, &id, "cdu", c)?,
                (true, None) => return Err(format!("{id}: liquid-cooled rack without a CDU")),
                (false, _) => NONE,
            };
            let pdu = get(&pdu_ix, &id, "pdu", p.pdu().ok_or_else(|| format!("{id}: no PDU"))?)?;
            let flow_kg_s = ty.coolant_flow_lpm / 60.0 * RHO_PG25;
            racks.push(RackNode {
                hall: p.hall_index as u32,
                cdu,
                pdu,
                idle_kw: ty.idle_kw,
                dyn_kw: (ty.max_kw - ty.idle_kw).max(0.0),
                liquid_fraction: ty.liquid_fraction.clamp(0.0, 1.0),
                gpus: ty.gpus as f64,
                gpu_w_per_kw: if ty.gpus > 0 { ty.gpu_power_share() / ty.gpus as f64 * 1e3 } else { 0.0 },
                tokens_per_s: crate::model::mlperf::rack_tokens_per_s(
                    site.benchmark.as_deref().unwrap_or(crate::model::mlperf::DEFAULT_BENCHMARK),
                    ty.gpu_model.as_deref(),
                    ty.gpus,
                    ty.tokens_per_s,
                ),
                flow_kg_s,
                // Coolant passes GPU plates two at a time in series within a tray (*estimate*),
                // so each plate sees twice the per-GPU share.
                plate_lpm: if ty.gpus > 0 { 2.0 * ty.coolant_flow_lpm / ty.gpus as f64 } else { 0.0 },
                c_coolant: 0.0,
                // EnergyPlus ITE:AirCooled for racks all on air.
                fan_kw: if ty.is_liquid() { 0.0 } else { ty.max_kw * ty.fan_power_fraction.clamp(0.0, 0.9) },
                air_flow_m3_s: if ty.is_liquid() { 0.0 } else { ty.max_kw * ty.airflow_m3_s_per_kw.max(1e-6) },
                supply_approach_k: ty.supply_approach_k,
                base_util: p.rack.utilization.unwrap_or(DEFAULT_UTILIZATION).clamp(0.0, 1.0),
                kind: ty.kind,
            });
            ids.racks.push(id);
        }

        // Loops (consumers filled in below).
        let mut loops = Vec::new();
        for l in &site.plant.loops {
            let mut dry_coolers = Vec::new();
            let mut chillers = Vec::new();
            for hr in &l.heat_rejection {
                if let Some(&d) = dc_ix.get(hr) {
                    dry_coolers.push(d);
                } else if let Some(&c) = ch_ix.get(hr) {
                    chillers.push(c);
                } else {
                    return Err(format!("{}: heat rejection \"{hr}\" does not exist", l.id));
                }
            }
            let dry_coolers_first = chillers.iter().all(|&c| site.plant.chillers[c as usize].economiser);
            loops.push(LoopNode {
                setpoint_c: l.supply_setpoint_c,
                flow_kg_s: l.rated_flow_kg_s,
                duty: l.pumps_duty.max(1),
                pumps: l.pumps,
                pump_kw: l.pump_kw,
                // At least a minute of flow: the supply node is stepped explicitly (what the
                // CDUs drew this step is what left it), stable up to 60 s steps. Real loops hold
                // minutes (the example scenes 3.5–4.5).
                c_water: (l.volume_m3 * RHO_WATER).max(l.rated_flow_kg_s * LOOP_MIN_RESIDENCE_S) * CP_WATER,
                dry_coolers,
                chillers,
                dry_coolers_first,
                supply: supply(&l.id, &l.supply)?,
            });
        }
        let dry_coolers = site
            .plant
            .dry_coolers
            .iter()
            .map(|d| {
                Ok(DryCoolerNode {
                    // Linear in the inlet temperature difference, anchored at the rating
                    // (BAC TDFS1238N: 2931 kW at 46.1 °C fluid / 35 °C air).
                    kw_per_k: d.capacity_kw / (d.design_fluid_in_c - d.design_air_c).max(1.0),
                    fan_kw: d.fan_kw,
                    supply: supply(&d.id, &d.supply)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let chillers = site
            .plant
            .chillers
            .iter()
            .map(|c| {
                let curves = curves_for(
                    c.curves.as_deref(),
                    c.condenser == Condenser::AirCooled,
                    &site.plant.chiller_curves,
                    c.capacity_kw,
                    c.cop,
                )
                .map_err(|e| format!("{}: {e}", c.id))?;
                let built_in = crate::model::BUILT_IN_CHILLER_CURVES;
                let default = if c.condenser == Condenser::AirCooled { built_in[1] } else { built_in[0] };
                Ok(ChillerNode {
                    capacity_kw: c.capacity_kw,
                    best_plr: curves.best_plr(),
                    curve_set: c.curves.clone().unwrap_or_else(|| default.to_string()),
                    curves,
                    air_cooled: c.condenser == Condenser::AirCooled,
                    restart_s: c.restart_s.max(0.0),
                    supply: supply(&c.id, &c.supply)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        // CDUs and CRAHs, with their racks and loop shares.
        let mut cdus = Vec::new();
        let mut crahs = Vec::new();
        let mut halls = Vec::new();
        let mut loop_capacity = vec![0.0; loops.len()];
        for (hi, h) in site.halls.iter().enumerate() {
            for c in &h.cdus {
                let id = cdu_id(h, c);
                let l = get(&loop_ix, &id, "facility loop", &c.facility_loop)?;
                loop_capacity[l as usize] += c.capacity_kw;
                cdus.push(CduNode {
                    capacity_kw: c.capacity_kw,
                    setpoint_c: c.supply_setpoint_c,
                    duty: c.pumps_duty.max(1),
                    pumps: c.pumps,
                    pump_kw: c.pump_kw,
                    loop_: l,
                    supply: supply(&id, &c.supply)?,
                    hall: hi as u32,
                    design_flow_kg_s: 0.0,
                    fw_flow_kg_s: 0.0,
                    ua_design: 0.0,
                    racks: Vec::new(),
                });
            }
            let mut hall_crahs = Vec::new();
            for c in &h.crahs {
                let id = crah_id(h, c);
                let l = match &c.facility_loop {
                    Some(l) => get(&loop_ix, &id, "facility loop", l)?,
                    None => NONE,
                };
                if l != NONE {
                    loop_capacity[l as usize] += c.capacity_kw;
                }
                hall_crahs.push(crahs.len() as u32);
                crahs.push(CrahNode {
                    hall: hi as u32,
                    capacity_kw: c.capacity_kw,
                    g_air: RHO_AIR * CP_AIR * c.airflow_m3_s,
                    fan_kw: c.fan_kw,
                    supply_air_c: c.supply_air_c,
                    loop_: l,
                    supply: supply(&id, &c.supply)?,
                });
            }
            let volume = h.size.0 * h.size.1 * h.ceiling_height_m;
            let envelope = 2.0 * (h.size.0 + h.size.1) * h.ceiling_height_m + 2.0 * h.size.0 * h.size.1;
            halls.push(HallNode {
                // Air alone would swing in seconds; walls, floor and equipment add thermal mass
                // (*estimate*: 10× the air, giving the minutes of physics.md §2).
                c_room: volume * RHO_AIR * CP_AIR * 10.0,
                // 0.5 W/(m²·K) *estimate* for an insulated envelope.
                ua_env: envelope * 0.5,
                recirculation: h.containment.recirculation(),
                crahs: hall_crahs,
            });
        }
        for (i, r) in racks.iter().enumerate() {
            let pdu = &mut pdus[r.pdu as usize];
            if pdu.hall == NONE {
                pdu.hall = r.hall;
            }
            if r.cdu != NONE {
                let c = &mut cdus[r.cdu as usize];
                c.racks.push(i as u32);
                c.design_flow_kg_s += r.flow_kg_s;
            }
        }
        // TCS volume is shared by the racks in proportion to their flow.
        let cdu_specs: Vec<(f64, f64)> =
            site.halls.iter().flat_map(|h| h.cdus.iter().map(|c| (c.tcs_volume_l, c.approach_k))).collect();
        for (ci, c) in cdus.iter_mut().enumerate() {
            let lp = &loops[c.loop_ as usize];
            c.fw_flow_kg_s = lp.flow_kg_s * c.capacity_kw / loop_capacity[c.loop_ as usize].max(1e-9);
            for &ri in &c.racks {
                let r = &mut racks[ri as usize];
                let share = r.flow_kg_s / c.design_flow_kg_s.max(1e-9);
                r.c_coolant = cdu_specs[ci].0 * share * RHO_PG25 * CP_PG25;
            }
            // UA from the rating: at rated load, TCS supply = facility supply + approach.
            let approach = cdu_specs[ci].1;
            let c_tcs = c.design_flow_kg_s.max(1e-3) * CP_PG25;
            let c_fw = c.fw_flow_kg_s.max(1e-3) * CP_WATER;
            let q = c.capacity_kw * 1e3;
            let (cmin, cmax) = (c_tcs.min(c_fw), c_tcs.max(c_fw));
            let eff = (q / (cmin * (approach + q / c_tcs))).min(0.95);
            c.ua_design = ntu_counterflow(eff, cmin / cmax) * cmin;
        }
        for r in &mut racks {
            if r.cdu != NONE && r.c_coolant <= 0.0 {
                r.c_coolant = 50.0 * RHO_PG25 * CP_PG25;
            }
        }
        let ratings = Arc::new(Ratings {
            cdu_kw: cdus.iter().map(|c| c.capacity_kw).collect(),
            feed_kw: feeds.iter().map(|f| f.capacity_kw).collect(),
            ups_kw: ups.iter().map(|u| u.capacity_kw).collect(),
            ups_battery_kj: ups.iter().map(|u| u.battery_kj).collect(),
            pdu_kw: pdus.iter().map(|p| p.capacity_kw).collect(),
            pdu_ups: pdus.iter().map(|p| p.ups).collect(),
        });
        Ok(Network { ids, racks, halls, cdus, crahs, loops, dry_coolers, chillers, feeds, ups, pdus, ratings })
    }
}
