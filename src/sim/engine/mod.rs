//! The time-stepping engine: power → racks → CDUs → halls → facility loops → heat rejection.
//!
//! Every thermal node is updated exponentially (exact for inputs held over the step), so the
//! stiff ~1–2 s nodes are stable at Δt = 1 s and beyond. One thread, fixed order: bit-identical
//! results for the same scene, scenario and step.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::Site;

use super::network::{NONE, Network, Supply};
use super::physics::*;
use super::scenario::{Action, Event, Failure, FailureKind, Profile, Scenario, matches};
use super::snapshot::*;
use super::state_copy::{StateCopy, copy_f32};

mod air;
mod alarms;
mod cdus;
mod heat_rejection;
mod live_edit;
mod power;
mod racks;
mod snapshot;

use power::powered_of;

/// Which kinds of object an alarm can be about.
const CLASSES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Rack,
    Cdu,
    Hall,
    Loop,
    Feed,
    Ups,
    Pdu,
    Chiller,
    DryCooler,
    Crah,
}

/// Failure state injected by events.
#[derive(Debug, Clone, Default)]
struct Failures {
    cdu_pumps: Vec<u32>,
    cdu: Vec<bool>,
    loop_pumps: Vec<u32>,
    chillers: Vec<bool>,
    dry_coolers: Vec<bool>,
    crahs: Vec<bool>,
    feed: Vec<bool>,
    ups: Vec<bool>,
    pdu: Vec<bool>,
}

/// Dynamic state. Temperatures °C, powers kW unless named otherwise.
#[derive(Debug, Clone, Default)]
struct State {
    coolant: Vec<f64>,
    gpu: Vec<f64>,
    throttle: Vec<f64>,
    on: Vec<bool>,
    utilization: Vec<f64>,
    power: Vec<f64>,
    inlet: Vec<f64>,
    status: Vec<u8>,
    // Per-rack coefficients that change only with flow.
    flow: Vec<f64>,
    decay_cool: Vec<f64>,
    /// c_coolant·(1 − decay_cool)/dt, W/K: how the coolant node's return heat falls with the
    /// supply temperature (`cdu_heat_exchange`).
    g_cool: Vec<f64>,
    /// Heat into the coolant node this step, W (kept for the CDUs' second pass).
    q_cool: Vec<f64>,
    /// 1 / (ṁ·c_p) of the rack's coolant, K/W (0 without flow).
    inv_mcp: Vec<f64>,
    /// Rack status as last seen by the alarm book.
    alarm_status: Vec<u8>,
    decay_gpu: Vec<f64>,
    r_gpu: Vec<f64>,
    cdu_flow_fraction_cached: Vec<f64>,
    loop_flow_fraction_cached: Vec<f64>,
    /// Step length the per-rack coefficients were computed for.
    coeff_dt: f64,
    /// CDU heat exchanger ε·C_min, W/K, for the current flows (changes only with flow).
    cdu_eff_cmin: Vec<f64>,

    cdu_supply: Vec<f64>,
    cdu_return: Vec<f64>,
    cdu_heat: Vec<f64>,
    cdu_pump: Vec<f64>,
    cdu_flow_fraction: Vec<f64>,
    cdu_running: Vec<u8>,

    room: Vec<f64>,
    hall_supply_air: Vec<f64>,
    hall_air_heat: Vec<f64>,

    loop_supply: Vec<f64>,
    loop_return: Vec<f64>,
    loop_heat: Vec<f64>,
    loop_flow_fraction: Vec<f64>,
    loop_pump: Vec<f64>,

    crahs: Vec<CrahState>,
    dry_coolers: Vec<DryCoolerState>,
    chillers: Vec<ChillerState>,
    chiller_restart_s: Vec<f64>,

    ups_battery_kj: Vec<f64>,
    ups_on_battery: Vec<bool>,
    /// What each UPS put into its battery this step, kW.
    ups_recharge: Vec<f64>,
    ups_out: Vec<bool>,
    ups_load: Vec<f64>,
    pdu_load: Vec<f64>,
    feed_load: Vec<f64>,

    kpis: Kpis,
}

/// A simulation of one site under one scenario.
#[derive(Debug, Clone)]
pub struct Simulation {
    site: Site,
    net: Network,
    scenario: Scenario,
    events: Vec<Event>,
    next_event: usize,
    time_s: f64,
    step: u64,
    dt: f64,
    ambient_dry: f64,
    ambient_wet: f64,
    heat_waves: Vec<(f64, f64, f64)>,
    /// Workload profile index per rack (NONE: constant).
    rack_profile: Vec<u32>,
    profiles: Vec<Profile>,
    fail: Failures,
    s: State,
    /// Active alarm bits per object, by class.
    flags: [Vec<u16>; CLASSES],
    active: BTreeMap<(Class, u32, u16), Alarm>,
    active_arc: Arc<Vec<Alarm>>,
    active_dirty: bool,
    log: Vec<Alarm>,
    first_throttle_s: Option<f64>,
    water_kg: f64,
    it_kwh: f64,
    energy: EnergyTotals,
}

/// Energy through the site since t = 0, kJ: what `stored_heat_kj` must account for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EnergyTotals {
    /// Drawn from the utility feeds.
    pub utility_kj: f64,
    /// Rejected as heat (plant, walls, DX units, electrical rooms).
    pub rejected_kj: f64,
}

const DX_COP: f64 = 3.5; // *estimate*: DX CRAH compressor COP
/// Throttled GPUs regain clocks at this fraction per second once below slowdown (*estimate*).
const THROTTLE_RECOVERY_PER_S: f64 = 0.02;

impl Simulation {
    /// Builds the network and settles it to steady state at the scene's conditions (t = 0).
    pub fn new(site: Site, scenario: Scenario, dt: f64) -> Result<Simulation, String> {
        if !(dt.is_finite() && dt > 0.0 && dt <= 60.0) {
            return Err(format!("time step {dt} s: use 0 < dt ≤ 60 s"));
        }
        let mut site = site;
        if let Some(b) = &scenario.benchmark {
            site.benchmark = Some(b.clone());
        }
        let net = Network::build(&site)?;
        let events = scenario.sorted_events();
        let mut sim = Simulation {
            ambient_dry: site.ambient.dry_bulb_c,
            ambient_wet: site.ambient.wet_bulb_c,
            site,
            net,
            scenario,
            events,
            next_event: 0,
            time_s: 0.0,
            step: 0,
            dt,
            heat_waves: Vec::new(),
            rack_profile: Vec::new(),
            profiles: Vec::new(),
            fail: Failures::default(),
            s: State::default(),
            flags: Default::default(),
            active: BTreeMap::new(),
            active_arc: Arc::new(Vec::new()),
            active_dirty: false,
            log: Vec::new(),
            first_throttle_s: None,
            water_kg: 0.0,
            it_kwh: 0.0,
            energy: EnergyTotals::default(),
        };
        sim.reset_state();
        sim.assign_profiles();
        sim.settle();
        Ok(sim)
    }

    fn reset_state(&mut self) {
        let n = &self.net;
        let nr = n.racks.len();
        let f = &mut self.fail;
        f.cdu_pumps = vec![0; n.cdus.len()];
        f.cdu = vec![false; n.cdus.len()];
        f.loop_pumps = vec![0; n.loops.len()];
        f.chillers = vec![false; n.chillers.len()];
        f.dry_coolers = vec![false; n.dry_coolers.len()];
        f.crahs = vec![false; n.crahs.len()];
        f.feed = vec![false; n.feeds.len()];
        f.ups = vec![false; n.ups.len()];
        f.pdu = vec![false; n.pdus.len()];
        let s = &mut self.s;
        let start = |sp: f64| sp;
        s.cdu_supply = n.cdus.iter().map(|c| start(c.setpoint_c)).collect();
        s.coolant =
            n.racks.iter().map(|r| if r.cdu != NONE { n.cdus[r.cdu as usize].setpoint_c } else { 0.0 }).collect();
        s.gpu = vec![40.0; nr];
        s.throttle = vec![1.0; nr];
        s.on = vec![true; nr];
        s.utilization = n.racks.iter().map(|r| r.base_util).collect();
        s.power = vec![0.0; nr];
        s.inlet = vec![22.0; nr];
        s.status = vec![0; nr];
        s.flow = vec![0.0; nr];
        s.decay_cool = vec![1.0; nr];
        s.g_cool = vec![0.0; nr];
        s.q_cool = vec![0.0; nr];
        s.inv_mcp = vec![0.0; nr];
        s.alarm_status = vec![0; nr];
        s.decay_gpu = vec![1.0; nr];
        s.r_gpu = vec![AIR_GPU_R; nr];
        s.cdu_flow_fraction_cached = vec![f64::NAN; n.cdus.len()];
        s.loop_flow_fraction_cached = vec![f64::NAN; n.loops.len()];
        s.cdu_eff_cmin = vec![0.0; n.cdus.len()];
        s.cdu_return = s.cdu_supply.clone();
        s.cdu_heat = vec![0.0; n.cdus.len()];
        s.cdu_pump = vec![0.0; n.cdus.len()];
        s.cdu_flow_fraction = vec![1.0; n.cdus.len()];
        s.cdu_running = vec![0; n.cdus.len()];
        s.room = vec![25.0; n.halls.len()];
        s.hall_supply_air = vec![22.0; n.halls.len()];
        s.hall_air_heat = vec![0.0; n.halls.len()];
        s.loop_supply = n.loops.iter().map(|l| l.setpoint_c).collect();
        s.loop_return = s.loop_supply.clone();
        s.loop_heat = vec![0.0; n.loops.len()];
        s.loop_flow_fraction = vec![1.0; n.loops.len()];
        s.loop_pump = vec![0.0; n.loops.len()];
        s.crahs = vec![CrahState::default(); n.crahs.len()];
        s.dry_coolers = vec![DryCoolerState::default(); n.dry_coolers.len()];
        s.chillers = vec![ChillerState::default(); n.chillers.len()];
        s.chiller_restart_s = vec![0.0; n.chillers.len()];
        s.ups_battery_kj = n.ups.iter().map(|u| u.battery_kj).collect();
        s.ups_on_battery = vec![false; n.ups.len()];
        s.ups_recharge = vec![0.0; n.ups.len()];
        s.ups_out = vec![true; n.ups.len()];
        s.ups_load = vec![0.0; n.ups.len()];
        s.pdu_load = vec![0.0; n.pdus.len()];
        s.feed_load = vec![0.0; n.feeds.len()];
    }

    fn assign_profiles(&mut self) {
        self.profiles = self.scenario.workloads.iter().map(|w| w.profile.clone()).collect();
        self.rack_profile = self
            .net
            .ids
            .racks
            .iter()
            .map(|id| {
                // The last matching assignment wins, so a scenario can refine a hall-wide profile.
                self.scenario.workloads.iter().rposition(|w| matches(&w.target, id)).map_or(NONE, |i| i as u32)
            })
            .collect();
    }

    /// Runs to steady state before t = 0 with long steps (stable: every node is exponential).
    fn settle(&mut self) {
        let dt = self.dt;
        self.dt = 30.0;
        for _ in 0..480 {
            self.physics_step(false);
        }
        self.dt = dt;
        self.physics_step(true);
    }

    pub fn time_s(&self) -> f64 {
        self.time_s
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }
    pub fn set_dt(&mut self, dt: f64) {
        if dt.is_finite() && dt > 0.0 && dt <= 60.0 {
            self.dt = dt;
        }
    }
    pub fn site(&self) -> &Site {
        &self.site
    }
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn network(&self) -> &Network {
        &self.net
    }
    pub fn kpis(&self) -> &Kpis {
        &self.s.kpis
    }
    pub fn rack_count(&self) -> usize {
        self.net.racks.len()
    }
    /// Every alarm raised or cleared so far, in time order.
    pub fn alarm_log(&self) -> &[Alarm] {
        &self.log
    }
    /// Energy through the site since t = 0.
    pub fn energy_totals(&self) -> EnergyTotals {
        self.energy
    }

    /// Heat held in the site now, kJ (relative to 0 °C): racks' coolant and GPUs, room air,
    /// loop water, and the UPS batteries' charge. Read from the state, not summed by the step,
    /// so a test can hold the step's bookkeeping against it.
    pub fn stored_heat_kj(&self) -> f64 {
        let (n, s) = (&self.net, &self.s);
        let mut j = 0.0;
        for (i, r) in n.racks.iter().enumerate() {
            j += r.c_coolant * s.coolant[i] + r.gpus * GPU_HEAT_CAPACITY * s.gpu[i];
        }
        for (h, hall) in n.halls.iter().enumerate() {
            j += hall.c_room * s.room[h];
        }
        for (l, lp) in n.loops.iter().enumerate() {
            j += lp.c_water * s.loop_supply[l];
        }
        j / 1e3 + s.ups_battery_kj.iter().sum::<f64>()
    }

    /// First time any GPU throttled, seconds.
    pub fn throttle_onset_s(&self) -> Option<f64> {
        self.first_throttle_s
    }
    /// Bytes of dynamic state: what one step reads and writes at least once.
    pub fn state_bytes(&self) -> usize {
        let r = self.net.racks.len();
        r * (14 * 8 + 2) + self.net.cdus.len() * 6 * 8
    }

    /// Advances one step of `dt` seconds, applying events due by the end of it.
    pub fn step(&mut self) {
        self.apply_due_events();
        self.physics_step(true);
        self.time_s += self.dt;
        self.step += 1;
    }

    /// Runs until `t` (seconds), in whole steps.
    pub fn run_until(&mut self, t: f64) {
        while self.time_s + 1e-9 < t {
            self.step();
        }
    }

    /// Applies a failure, restore or other action now (from the UI or the CLI).
    pub fn apply(&mut self, action: &Action) {
        match action {
            Action::Fail(f) => self.set_failure(f, true),
            Action::Restore(f) => self.set_failure(f, false),
            Action::Ambient(c) => {
                let d = c - self.ambient_dry;
                self.ambient_dry = *c;
                self.ambient_wet += d;
            }
            Action::HeatWave { rise_c, duration_s } => self.heat_waves.push((self.time_s, *rise_c, *duration_s)),
            Action::Utilization { target, value } => {
                let v = value.clamp(0.0, 1.0);
                for (i, id) in self.net.ids.racks.iter().enumerate() {
                    if matches(target, id) {
                        self.net.racks[i].base_util = v;
                    }
                }
            }
        }
    }

    /// Sets the outdoor air (a weather file's hour): dry and wet bulb, °C. Heat waves still add.
    pub fn set_outdoor(&mut self, dry_bulb_c: f64, wet_bulb_c: f64) {
        if dry_bulb_c.is_finite() && wet_bulb_c.is_finite() {
            self.ambient_dry = dry_bulb_c;
            self.ambient_wet = wet_bulb_c.min(dry_bulb_c);
        }
    }

    /// Whether any chiller takes load now, and whether one does on a loop that has dry coolers
    /// (an economiser loop needing its chillers).
    pub fn chillers_running(&self) -> (bool, bool) {
        let mut any = false;
        let mut on_economiser = false;
        for l in &self.net.loops {
            let running = l.chillers.iter().any(|&c| self.s.chillers[c as usize].running);
            any |= running;
            on_economiser |= running && !l.dry_coolers.is_empty();
        }
        (any, on_economiser)
    }

    fn apply_due_events(&mut self) {
        while let Some(e) = self.events.get(self.next_event) {
            if e.at_s > self.time_s + 1e-9 {
                break;
            }
            let a = e.action.clone();
            self.next_event += 1;
            self.apply(&a);
        }
    }

    fn set_failure(&mut self, f: &Failure, failed: bool) {
        let ids = &self.net.ids;
        let fl = &mut self.fail;
        let hit = |list: &[String]| -> Vec<usize> {
            list.iter().enumerate().filter(|(_, id)| matches(&f.target, id)).map(|(i, _)| i).collect()
        };
        match f.kind {
            FailureKind::CduPump => {
                for i in hit(&ids.cdus) {
                    let total = self.net.cdus[i].pumps;
                    fl.cdu_pumps[i] =
                        if failed { (fl.cdu_pumps[i] + 1).min(total) } else { fl.cdu_pumps[i].saturating_sub(1) };
                }
            }
            FailureKind::Cdu => hit(&ids.cdus).into_iter().for_each(|i| fl.cdu[i] = failed),
            FailureKind::FacilityPump => {
                for i in hit(&ids.loops) {
                    let total = self.net.loops[i].pumps;
                    fl.loop_pumps[i] =
                        if failed { (fl.loop_pumps[i] + 1).min(total) } else { fl.loop_pumps[i].saturating_sub(1) };
                }
            }
            FailureKind::Chiller => hit(&ids.chillers).into_iter().for_each(|i| fl.chillers[i] = failed),
            FailureKind::DryCooler => hit(&ids.dry_coolers).into_iter().for_each(|i| fl.dry_coolers[i] = failed),
            FailureKind::Crah => hit(&ids.crahs).into_iter().for_each(|i| fl.crahs[i] = failed),
            FailureKind::Utility => hit(&ids.feeds).into_iter().for_each(|i| fl.feed[i] = failed),
            FailureKind::Ups => hit(&ids.ups).into_iter().for_each(|i| fl.ups[i] = failed),
            FailureKind::Pdu => hit(&ids.pdus).into_iter().for_each(|i| fl.pdu[i] = failed),
        }
        let verb = if failed { "failed" } else { "restored" };
        self.log.push(Alarm {
            time_s: self.time_s,
            // A restore clears the failure: same severity, `raised: false`.
            severity: AlarmSeverity::Critical,
            kind: AlarmKind::EquipmentDown,
            object: f.target.clone(),
            message: format!("{} {verb} ({})", f.kind.name(), f.target),
            raised: failed,
        });
    }

    fn ambient(&self) -> (f64, f64) {
        let mut rise = 0.0;
        for &(start, r, dur) in &self.heat_waves {
            let x = (self.time_s - start) / dur.max(1.0);
            if (0.0..=1.0).contains(&x) {
                rise += r * (1.0 - (2.0 * x - 1.0).abs());
            }
        }
        (self.ambient_dry + rise, self.ambient_wet + rise)
    }

    /// One step of the whole site, in the order heat and power flow. Units: every power and
    /// heat flow the state holds and the subsystems hand each other is kW (temperatures °C,
    /// flows kg/s); W appears only inside a formula where it meets c_p in J/(kg·K) or UA in
    /// W/K (`loop_in`, the CDU and loop heat balances), converted at that edge. Making it W
    /// throughout would move the last bit of results and with it every recording's bytes.
    fn physics_step(&mut self, live: bool) {
        let dt = self.dt;
        let (t_amb, t_wet) = self.ambient();
        self.ups_availability();
        self.pumps_and_flows();
        let mut racks = self.rack_step(live);
        let mut stored_w = racks.stored_w;
        let (mut loop_in, coolant_max) = self.cdu_heat_exchange(&racks, &mut stored_w);
        racks.coolant_max_c = coolant_max;
        // PDUs stand in the white space: their losses warm the hall they feed.
        let mut hall_air = racks.hall_air_kw.clone();
        let mut room_losses = 0.0;
        for (p, node) in self.net.pdus.iter().enumerate() {
            let loss = racks.pdu_it_kw[p] / node.efficiency - racks.pdu_it_kw[p];
            match hall_air.get_mut(node.hall as usize) {
                Some(h) => *h += loss,
                None => room_losses += loss,
            }
        }
        let air = self.air_side(&hall_air, t_amb, &mut loop_in);
        stored_w += air.stored_w;
        let plant = self.heat_rejection(&loop_in, t_amb, t_wet, air.dx_heat_kw + air.dx_power_kw + air.envelope_kw);
        stored_w += plant.stored_w;
        let e = self.power_chain(&racks.pdu_it_kw);
        let (it, losses, mech) = (e.it_kw, e.losses_kw, e.mechanical_kw);
        // UPS losses (and PDUs' without a hall) go to the electrical rooms, whose DX units
        // reject them outdoors with their own power.
        let rejected = plant.rejected_kw + e.ups_losses_kw + room_losses + e.electrical_room_kw;
        let cooling = mech;
        let facility = it + cooling + losses + e.recharge_kw;
        // Energy in from the utility = heat rejected + heat stored + what the batteries kept.
        let stored_kw = stored_w / 1e3;
        let residual = e.utility_kw - rejected - stored_kw - (e.recharge_kw - e.discharge_kw);
        if live {
            self.it_kwh += it * dt / 3600.0;
            self.water_kg += plant.condenser_kw * 1e3 * dt / H_FG;
            let a = &mut self.energy;
            a.utility_kj += e.utility_kw * dt;
            a.rejected_kj += rejected * dt;
        }
        let r = &racks;
        let k = &mut self.s.kpis;
        k.it_power_kw = it;
        k.facility_power_kw = facility;
        k.pue = if it > 0.0 { facility / it } else { 0.0 };
        k.wue_l_per_kwh = if self.it_kwh > 0.0 { self.water_kg / self.it_kwh } else { 0.0 };
        k.heat_rejected_kw = rejected;
        k.cooling_power_kw = cooling;
        k.electrical_loss_kw = losses;
        k.energy_balance_error = if e.utility_kw > 0.0 { residual.abs() / e.utility_kw } else { 0.0 };
        k.max_gpu_temp_c = if r.gpus > 0 { r.gpu_max_c } else { 0.0 };
        k.mean_gpu_temp_c = if r.gpus > 0 { r.gpu_sum_c / r.gpus as f64 } else { 0.0 };
        // No racks: the sum started at f64::MIN, which is finite.
        k.max_inlet_air_c = if r.inlet_max_c > f64::MIN { r.inlet_max_c } else { 0.0 };
        k.max_coolant_c = r.coolant_max_c;
        k.output_fraction = if r.possible > 0.0 { r.work / r.possible } else { 1.0 };
        k.tokens_per_s = r.work;
        k.possible_tokens_per_s = r.possible;
        k.racks_throttled = r.throttled;
        k.racks_shutdown = r.down;
        k.ambient_c = t_amb;
        k.server_fan_kw = r.server_fans_kw;

        if live {
            self.update_alarms();
        }
    }
}
