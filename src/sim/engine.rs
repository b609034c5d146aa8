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
    chiller: Vec<bool>,
    dry_cooler: Vec<bool>,
    crah: Vec<bool>,
    feed: Vec<bool>,
    ups: Vec<bool>,
}

/// Dynamic state. Temperatures °C, powers kW unless named otherwise.
#[derive(Debug, Clone, Default)]
struct State {
    t_cool: Vec<f64>,
    t_gpu: Vec<f64>,
    throttle: Vec<f64>,
    on: Vec<bool>,
    util: Vec<f64>,
    power: Vec<f64>,
    inlet: Vec<f64>,
    status: Vec<u8>,
    // Per-rack coefficients that change only with flow.
    flow: Vec<f64>,
    decay_cool: Vec<f64>,
    /// 1 / (ṁ·c_p) of the rack's coolant, K/W (0 without flow).
    inv_mcp: Vec<f64>,
    /// Rack status as last seen by the alarm book.
    alarm_status: Vec<u8>,
    decay_gpu: Vec<f64>,
    r_gpu: Vec<f64>,
    cdu_frac_cached: Vec<f64>,
    loop_frac_cached: Vec<f64>,
    /// Step length the per-rack coefficients were computed for.
    coeff_dt: f64,
    /// CDU heat exchanger ε·C_min, W/K, for the current flows (changes only with flow).
    cdu_eff_cmin: Vec<f64>,

    cdu_sup: Vec<f64>,
    cdu_ret: Vec<f64>,
    cdu_heat: Vec<f64>,
    cdu_pump: Vec<f64>,
    cdu_frac: Vec<f64>,
    cdu_running: Vec<u8>,

    room: Vec<f64>,
    hall_sup_air: Vec<f64>,
    hall_air_heat: Vec<f64>,

    loop_sup: Vec<f64>,
    loop_ret: Vec<f64>,
    loop_heat: Vec<f64>,
    loop_frac: Vec<f64>,
    loop_pump: Vec<f64>,

    crah: Vec<EquipmentState>,
    dc: Vec<EquipmentState>,
    ch: Vec<EquipmentState>,
    ch_timer: Vec<f64>,

    ups_batt_kj: Vec<f64>,
    ups_on_batt: Vec<bool>,
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
        f.chiller = vec![false; n.chillers.len()];
        f.dry_cooler = vec![false; n.dry_coolers.len()];
        f.crah = vec![false; n.crahs.len()];
        f.feed = vec![false; n.feeds.len()];
        f.ups = vec![false; n.ups.len()];
        let s = &mut self.s;
        let start = |sp: f64| sp;
        s.cdu_sup = n.cdus.iter().map(|c| start(c.setpoint_c)).collect();
        s.t_cool =
            n.racks.iter().map(|r| if r.cdu != NONE { n.cdus[r.cdu as usize].setpoint_c } else { 0.0 }).collect();
        s.t_gpu = vec![40.0; nr];
        s.throttle = vec![1.0; nr];
        s.on = vec![true; nr];
        s.util = n.racks.iter().map(|r| r.base_util).collect();
        s.power = vec![0.0; nr];
        s.inlet = vec![22.0; nr];
        s.status = vec![0; nr];
        s.flow = vec![0.0; nr];
        s.decay_cool = vec![1.0; nr];
        s.inv_mcp = vec![0.0; nr];
        s.alarm_status = vec![0; nr];
        s.decay_gpu = vec![1.0; nr];
        s.r_gpu = vec![AIR_GPU_R; nr];
        s.cdu_frac_cached = vec![f64::NAN; n.cdus.len()];
        s.loop_frac_cached = vec![f64::NAN; n.loops.len()];
        s.cdu_eff_cmin = vec![0.0; n.cdus.len()];
        s.cdu_ret = s.cdu_sup.clone();
        s.cdu_heat = vec![0.0; n.cdus.len()];
        s.cdu_pump = vec![0.0; n.cdus.len()];
        s.cdu_frac = vec![1.0; n.cdus.len()];
        s.cdu_running = vec![0; n.cdus.len()];
        s.room = vec![25.0; n.halls.len()];
        s.hall_sup_air = vec![22.0; n.halls.len()];
        s.hall_air_heat = vec![0.0; n.halls.len()];
        s.loop_sup = n.loops.iter().map(|l| l.setpoint_c).collect();
        s.loop_ret = s.loop_sup.clone();
        s.loop_heat = vec![0.0; n.loops.len()];
        s.loop_frac = vec![1.0; n.loops.len()];
        s.loop_pump = vec![0.0; n.loops.len()];
        s.crah = vec![EquipmentState::default(); n.crahs.len()];
        s.dc = vec![EquipmentState::default(); n.dry_coolers.len()];
        s.ch = vec![EquipmentState::default(); n.chillers.len()];
        s.ch_timer = vec![0.0; n.chillers.len()];
        s.ups_batt_kj = n.ups.iter().map(|u| u.battery_kj).collect();
        s.ups_on_batt = vec![false; n.ups.len()];
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
    /// First time any GPU throttled, seconds.
    pub fn throttle_onset_s(&self) -> Option<f64> {
        self.first_throttle_s
    }
    /// Bytes of dynamic state: what one step reads and writes at least once.
    pub fn state_bytes(&self) -> usize {
        let r = self.net.racks.len();
        r * (12 * 8 + 2) + self.net.cdus.len() * 6 * 8
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
            FailureKind::Chiller => hit(&ids.chillers).into_iter().for_each(|i| fl.chiller[i] = failed),
            FailureKind::DryCooler => hit(&ids.dry_coolers).into_iter().for_each(|i| fl.dry_cooler[i] = failed),
            FailureKind::Crah => hit(&ids.crahs).into_iter().for_each(|i| fl.crah[i] = failed),
            FailureKind::Utility => hit(&ids.feeds).into_iter().for_each(|i| fl.feed[i] = failed),
            FailureKind::Ups => hit(&ids.ups).into_iter().for_each(|i| fl.ups[i] = failed),
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

    fn powered(&self, s: Supply) -> bool {
        match s {
            Supply::Feed(f) => !self.fail.feed[f as usize],
            Supply::Ups(u) => self.s.ups_out[u as usize],
        }
    }

    #[allow(clippy::too_many_lines)]
    fn physics_step(&mut self, live: bool) {
        let dt = self.dt;
        let t = self.time_s;
        let (t_amb, t_wet) = self.ambient();

        // ---- Power availability: UPS output follows feed, battery, or fault.
        for (u, node) in self.net.ups.iter().enumerate() {
            let feed_up = !self.fail.feed[node.feed as usize];
            let s = &mut self.s;
            s.ups_on_batt[u] = !feed_up && !self.fail.ups[u];
            if feed_up {
                // Recharge at 10 % of rating (*estimate*).
                s.ups_batt_kj[u] = (s.ups_batt_kj[u] + 0.1 * node.capacity_kw * dt).min(node.battery_kj);
            }
            s.ups_out[u] = !self.fail.ups[u] && (feed_up || s.ups_batt_kj[u] > 0.0);
        }

        // ---- Pumps and flows.
        let mut flows_changed = false;
        for (c, node) in self.net.cdus.iter().enumerate() {
            let running = if self.fail.cdu[c] || !self.powered(node.supply) {
                0
            } else {
                (node.pumps - self.fail.cdu_pumps[c].min(node.pumps)).min(node.duty)
            };
            let frac = running as f64 / node.duty as f64;
            self.s.cdu_running[c] = running as u8;
            self.s.cdu_frac[c] = frac;
            self.s.cdu_pump[c] = running as f64 * node.pump_kw;
            if self.s.cdu_frac_cached[c] != frac {
                flows_changed = true;
            }
        }
        for (l, node) in self.net.loops.iter().enumerate() {
            let running = if !self.powered(node.supply) {
                0
            } else {
                (node.pumps - self.fail.loop_pumps[l].min(node.pumps)).min(node.duty)
            };
            self.s.loop_frac[l] = running as f64 / node.duty as f64;
            self.s.loop_pump[l] = running as f64 * node.pump_kw;
            if self.s.loop_frac_cached[l] != self.s.loop_frac[l] {
                flows_changed = true;
            }
        }
        // The coefficients depend on flow and on the step length (settling uses long steps).
        if flows_changed || self.s.coeff_dt != dt {
            self.update_flow_coefficients();
        }

        // ---- Racks.
        let nh = self.net.halls.len();
        let mut hall_air_in = vec![0.0; nh];
        let mut cdu_mt = vec![0.0; self.net.cdus.len()];
        let mut cdu_m = vec![0.0; self.net.cdus.len()];
        let mut pdu_it = vec![0.0; self.net.pdus.len()];
        let pdu_up: Vec<bool> = self.net.pdus.iter().map(|p| self.s.ups_out[p.ups as usize]).collect();
        let hall_inlet: Vec<(f64, f64)> = (0..nh).map(|h| (self.s.hall_sup_air[h], self.s.room[h])).collect();
        let profile_factor: Vec<f64> =
            self.profiles.iter().enumerate().map(|(i, p)| p.factor(t, self.scenario.seed, i as u64)).collect();
        let mut any_throttled = false;
        // KPI sums gathered in the same pass over the racks.
        let (mut gmax, mut gsum, mut gn) = (f64::MIN, 0.0, 0usize);
        let (mut work, mut possible) = (0.0, 0.0);
        let (mut throttled, mut down) = (0u32, 0u32);
        let (mut inlet_max, mut cool_max) = (f64::MIN, 0.0f64);
        {
            let s = &mut self.s;
            // Every per-rack array sliced to the rack count up front, so the loop indexes them
            // without bounds checks.
            let racks = &self.net.racks[..];
            let n = racks.len();
            let (t_cool, t_gpu, throttle, on) =
                (&mut s.t_cool[..n], &mut s.t_gpu[..n], &mut s.throttle[..n], &mut s.on[..n]);
            let (util, power, inlets, status) =
                (&mut s.util[..n], &mut s.power[..n], &mut s.inlet[..n], &mut s.status[..n]);
            let (flow, decay_cool, decay_gpu) = (&s.flow[..n], &s.decay_cool[..n], &s.decay_gpu[..n]);
            let (r_gpu, inv_mcp, rack_profile) = (&s.r_gpu[..n], &s.inv_mcp[..n], &self.rack_profile[..n]);
            let cdu_sup = &s.cdu_sup;
            for (i, r) in racks.iter().enumerate() {
                let pf = if rack_profile[i] == NONE { 1.0 } else { profile_factor[rack_profile[i] as usize] };
                let u = r.base_util * pf;
                util[i] = u;
                let h = r.hall as usize;
                let (sup_air, room) = hall_inlet[h];
                let rec = self.net.halls[h].recirculation;
                let inlet = sup_air * (1.0 - rec) + room * rec;
                inlets[i] = inlet;
                let powered = pdu_up[r.pdu as usize];
                let running = powered && on[i];
                let mut theta = throttle[i];
                let p = if running { r.idle_kw + r.dyn_kw * u * theta } else { 0.0 };
                let q_liq = p * r.liquid_fraction;
                hall_air_in[h] += p - q_liq;
                pdu_it[r.pdu as usize] += p;

                // Coolant node: relax toward T_sup + q/(ṁ c_p); with no flow it only warms.
                let t_local = if r.cdu != NONE {
                    let c = r.cdu as usize;
                    let m = flow[i];
                    let tc = if m > 1e-9 {
                        let target = cdu_sup[c] + q_liq * 1e3 * inv_mcp[i];
                        relax(t_cool[i], target, decay_cool[i])
                    } else {
                        t_cool[i] + q_liq * 1e3 * dt / r.c_coolant
                    };
                    t_cool[i] = tc;
                    cdu_mt[c] += m * tc;
                    cdu_m[c] += m;
                    tc
                } else {
                    inlet
                };

                // GPU node and throttling (slowdown 89 °C, shutdown 92 °C).
                if r.gpus > 0.0 {
                    let q_gpu = p * r.gpu_w_per_kw;
                    let target = t_local + r_gpu[i] * q_gpu;
                    let tg = relax(t_gpu[i], target, decay_gpu[i]);
                    t_gpu[i] = tg;
                    if on[i] && tg >= GPU_SHUTDOWN_C {
                        on[i] = false;
                        theta = 0.0;
                    } else if !on[i] && tg <= GPU_RESTART_C {
                        on[i] = true;
                        theta = 0.3;
                    } else if on[i] && tg >= GPU_SLOWDOWN_C && u > 0.0 {
                        // The throttle whose steady GPU temperature sits just under slowdown.
                        let q_ok = (GPU_SLOWDOWN_C - 0.5 - t_local).max(0.0) / r_gpu[i];
                        let p_ok = q_ok / r.gpu_w_per_kw;
                        let theta_ok = ((p_ok - r.idle_kw) / (r.dyn_kw * u).max(1e-9)).clamp(0.0, 1.0);
                        theta = theta.min(theta_ok);
                    } else if on[i] {
                        theta = (theta + THROTTLE_RECOVERY_PER_S * dt).min(1.0);
                    }
                } else {
                    t_gpu[i] = t_local;
                }
                throttle[i] = theta;
                power[i] = p;
                let mut st = if r.cdu == NONE { RackStatus::AIR_COOLED } else { 0 };
                if running && theta < 0.999 {
                    st |= RackStatus::THROTTLED;
                    any_throttled = true;
                }
                if !on[i] {
                    st |= RackStatus::SHUTDOWN;
                }
                if !powered {
                    st |= RackStatus::NO_POWER;
                }
                if inlet > ASHRAE_RECOMMENDED_MAX_C {
                    st |= RackStatus::INLET_WARN;
                }
                if inlet > ASHRAE_A1_MAX_C {
                    st |= RackStatus::INLET_CRIT;
                }
                status[i] = st;

                if r.gpus > 0.0 {
                    gmax = gmax.max(t_gpu[i]);
                    gsum += t_gpu[i];
                    gn += 1;
                }
                let asked = r.tokens_per_s * u;
                possible += asked;
                let out = st & (RackStatus::SHUTDOWN | RackStatus::NO_POWER) == 0;
                work += if out { asked * theta } else { 0.0 };
                throttled += u32::from(st & RackStatus::THROTTLED != 0);
                down += u32::from(!out);
                inlet_max = inlet_max.max(inlet);
                if r.cdu != NONE {
                    cool_max = cool_max.max(t_local);
                }
            }
        }
        if live && any_throttled && self.first_throttle_s.is_none() {
            self.first_throttle_s = Some(t);
        }

        // ---- CDUs: TCS return → heat exchanger → supply, limited to the setpoint.
        let nl = self.net.loops.len();
        let mut loop_in = vec![0.0; nl];
        for (c, node) in self.net.cdus.iter().enumerate() {
            let s = &mut self.s;
            let m = cdu_m[c];
            let pump_w = s.cdu_pump[c] * 1e3;
            if m <= 1e-9 {
                s.cdu_heat[c] = 0.0;
                s.cdu_ret[c] = s.cdu_sup[c];
                continue;
            }
            let c_tcs = m * CP_PG25;
            // Pump work ends up in the coolant.
            let t_ret = cdu_mt[c] / m + pump_w / c_tcs;
            let l = node.loop_ as usize;
            let m_fw = node.fw_flow_kg_s * s.loop_frac[l];
            let c_fw = m_fw * CP_WATER;
            let t_fws = s.loop_sup[l];
            let q_max = if c_fw > 1e-9 { (s.cdu_eff_cmin[c] * (t_ret - t_fws)).max(0.0) } else { 0.0 };
            let q_needed = (c_tcs * (t_ret - node.setpoint_c)).max(0.0);
            let q = q_max.min(q_needed);
            s.cdu_heat[c] = q / 1e3;
            s.cdu_ret[c] = t_ret;
            s.cdu_sup[c] = t_ret - q / c_tcs;
            loop_in[l] += q;
        }

        // ---- Halls: room air node, CRAHs (backward Euler: stable for any step).
        let mut dx_heat = 0.0;
        let mut dx_power = 0.0;
        let mut envelope = 0.0;
        for (h, hall) in self.net.halls.iter().enumerate() {
            let mut g_total = 0.0;
            let mut g_t = 0.0;
            let mut fan = 0.0;
            let mut running = Vec::new();
            for &ci in &hall.crahs {
                let c = &self.net.crahs[ci as usize];
                let on = !self.fail.crah[ci as usize]
                    && self.powered(c.supply)
                    && (c.loop_ == NONE || self.s.loop_frac[c.loop_ as usize] > 0.0);
                if on {
                    let t_sa = if c.loop_ == NONE {
                        c.supply_air_c
                    } else {
                        c.supply_air_c.max(self.s.loop_sup[c.loop_ as usize] + 2.0)
                    };
                    g_total += c.g_air;
                    g_t += c.g_air * t_sa;
                    fan += c.fan_kw;
                    running.push((ci, t_sa));
                }
            }
            let s = &mut self.s;
            let q_in = (hall_air_in[h] + fan) * 1e3;
            let c_room = hall.c_room;
            let ua = hall.ua_env;
            // C (T' − T)/dt = Q_in − Σ G (T' − T_sa) − UA (T' − T_amb)
            let mut t_new = (c_room * s.room[h] / dt + q_in + g_t + ua * t_amb) / (c_room / dt + g_total + ua);
            let cap: f64 = running.iter().map(|&(ci, _)| self.net.crahs[ci as usize].capacity_kw * 1e3).sum();
            let g_avg_sa = if g_total > 0.0 { g_t / g_total } else { s.room[h] };
            if g_total > 0.0 && g_total * (t_new - g_avg_sa) > cap {
                t_new = (c_room * s.room[h] / dt + q_in - cap + ua * t_amb) / (c_room / dt + ua);
            }
            s.room[h] = t_new;
            s.hall_sup_air[h] = if g_total > 0.0 { g_avg_sa } else { t_new };
            s.hall_air_heat[h] = hall_air_in[h];
            envelope += ua * (t_new - t_amb) / 1e3;
            for &ci in &hall.crahs {
                s.crah[ci as usize] = EquipmentState::default();
            }
            for &(ci, t_sa) in &running {
                let c = &self.net.crahs[ci as usize];
                let share =
                    if g_total * (t_new - g_avg_sa) > cap { c.capacity_kw * 1e3 } else { c.g_air * (t_new - t_sa) };
                let q = share.max(0.0);
                let st = &mut s.crah[ci as usize];
                st.running = true;
                st.heat_kw = (q / 1e3) as f32;
                st.power_kw = c.fan_kw as f32;
                if c.loop_ == NONE {
                    dx_heat += q / 1e3;
                    let p = q / 1e3 / DX_COP;
                    dx_power += p;
                    st.power_kw += p as f32;
                } else {
                    loop_in[c.loop_ as usize] += q;
                }
            }
        }

        // ---- Facility loops: return → dry coolers → chillers → supply node.
        let mut rejected = dx_heat + dx_power + envelope;
        for (l, node) in self.net.loops.iter().enumerate() {
            let s = &mut self.s;
            let m = node.flow_kg_s * s.loop_frac[l];
            let pump_w = s.loop_pump[l] * 1e3;
            for &d in &node.dry_coolers {
                s.dc[d as usize] = EquipmentState::default();
            }
            for &c in &node.chillers {
                s.ch[c as usize] = EquipmentState::default();
            }
            // Chiller restart timers run whatever the flow.
            for &c in &node.chillers {
                let ch = &self.net.chillers[c as usize];
                let available = !self.fail.chiller[c as usize] && powered_of(&self.fail, &s.ups_out, ch.supply);
                s.ch_timer[c as usize] = if available { (s.ch_timer[c as usize] - dt).max(0.0) } else { ch.restart_s };
            }
            if m <= 1e-9 {
                s.loop_heat[l] = 0.0;
                s.loop_ret[l] = s.loop_sup[l];
                continue;
            }
            let c_w = m * CP_WATER;
            let q_in = loop_in[l] + pump_w;
            let t_ret = s.loop_sup[l] + q_in / c_w;
            let mut t = t_ret;
            let sp = node.setpoint_c;

            let run_chillers = |t: &mut f64, s: &mut State| {
                let mut cap = 0.0;
                for &c in &node.chillers {
                    let ch = &self.net.chillers[c as usize];
                    if s.ch_timer[c as usize] <= 0.0
                        && !self.fail.chiller[c as usize]
                        && powered_of(&self.fail, &s.ups_out, ch.supply)
                    {
                        cap += ch.capacity_kw * 1e3;
                    }
                }
                let q = (c_w * (*t - sp)).clamp(0.0, cap);
                if q > 0.0 {
                    for &c in &node.chillers {
                        let ch = &self.net.chillers[c as usize];
                        if s.ch_timer[c as usize] <= 0.0
                            && !self.fail.chiller[c as usize]
                            && powered_of(&self.fail, &s.ups_out, ch.supply)
                        {
                            let share = q * ch.capacity_kw * 1e3 / cap;
                            let cop = chiller_cop(ch.cop, sp, condenser_c(ch.air_cooled, t_amb, t_wet));
                            let p = share / cop;
                            let st = &mut s.ch[c as usize];
                            st.running = true;
                            st.heat_kw = (share / 1e3) as f32;
                            st.power_kw = (p / 1e3) as f32;
                        }
                    }
                }
                *t -= q / c_w;
            };
            if !node.economiser {
                run_chillers(&mut t, s);
            }
            // Dry coolers as one bank; fans slow down to hold the setpoint (power ∝ speed³).
            let mut q_max = 0.0;
            for &d in &node.dry_coolers {
                let dc = &self.net.dry_coolers[d as usize];
                if !self.fail.dry_cooler[d as usize] && powered_of(&self.fail, &s.ups_out, dc.supply) {
                    q_max += dc.kw_per_k * 1e3 * (t - t_amb).max(0.0);
                }
            }
            let bank = q_max;
            q_max = q_max.min(c_w * (t - t_amb).max(0.0));
            let q_dc = (c_w * (t - sp)).clamp(0.0, q_max);
            let speed = if q_max > 0.0 { (q_dc / q_max).clamp(0.0, 1.0) } else { 0.0 };
            for &d in &node.dry_coolers {
                let dc = &self.net.dry_coolers[d as usize];
                if !self.fail.dry_cooler[d as usize] && powered_of(&self.fail, &s.ups_out, dc.supply) {
                    let share = if bank > 0.0 { q_dc * dc.kw_per_k * 1e3 * (t - t_amb).max(0.0) / bank } else { 0.0 };
                    let st = &mut s.dc[d as usize];
                    st.running = true;
                    st.heat_kw = (share / 1e3) as f32;
                    st.power_kw = (dc.fan_kw * speed.powi(3)) as f32;
                }
            }
            t -= q_dc / c_w;
            if node.economiser {
                run_chillers(&mut t, s);
            }
            // Supply node: the loop's water volume mixes what leaves the plant.
            let decay = (-m * CP_WATER * dt / node.c_water).exp();
            s.loop_sup[l] = relax(s.loop_sup[l], t, decay);
            s.loop_ret[l] = t_ret;
            s.loop_heat[l] = q_in / 1e3;
        }
        for d in &self.s.dc {
            rejected += d.heat_kw as f64 + d.power_kw as f64;
        }
        let mut condenser = 0.0;
        for (c, st) in self.s.ch.iter().enumerate() {
            let q = st.heat_kw as f64 + st.power_kw as f64;
            rejected += q;
            if !self.net.chillers[c].air_cooled {
                condenser += q;
            }
        }

        // ---- Electrical: PDUs → UPS → feeds, with losses; battery drains while on battery.
        let s = &mut self.s;
        s.ups_load.iter_mut().for_each(|x| *x = 0.0);
        s.feed_load.iter_mut().for_each(|x| *x = 0.0);
        let mut losses = 0.0;
        let mut it = 0.0;
        for (p, node) in self.net.pdus.iter().enumerate() {
            let load = pdu_it[p];
            it += load;
            let input = load / node.efficiency;
            losses += input - load;
            s.pdu_load[p] = input;
            s.ups_load[node.ups as usize] += input;
        }
        let mut mech = 0.0;
        let mut add = |sup: Supply, kw: f64| {
            mech += kw;
            match sup {
                Supply::Ups(u) => s.ups_load[u as usize] += kw,
                Supply::Feed(f) => s.feed_load[f as usize] += kw,
            }
        };
        let n = &self.net;
        n.cdus.iter().zip(&s.cdu_pump).for_each(|(node, kw)| add(node.supply, *kw));
        n.loops.iter().zip(&s.loop_pump).for_each(|(node, kw)| add(node.supply, *kw));
        n.crahs.iter().zip(&s.crah).for_each(|(node, e)| add(node.supply, e.power_kw as f64));
        n.dry_coolers.iter().zip(&s.dc).for_each(|(node, e)| add(node.supply, e.power_kw as f64));
        n.chillers.iter().zip(&s.ch).for_each(|(node, e)| add(node.supply, e.power_kw as f64));
        for (u, node) in self.net.ups.iter().enumerate() {
            let load = s.ups_load[u];
            let input = load / node.efficiency;
            losses += input - load;
            if s.ups_on_batt[u] && s.ups_out[u] {
                s.ups_batt_kj[u] = (s.ups_batt_kj[u] - input * dt).max(0.0);
            } else if s.ups_out[u] {
                s.feed_load[node.feed as usize] += input;
            }
        }
        rejected += losses;
        // Pumps' and CRAH fans' power is inside the loop and room heat already; DX and chiller
        // compressors and dry cooler fans are in what the plant rejects.
        let cooling = mech;
        let facility = it + cooling + losses;
        if live {
            self.it_kwh += it * dt / 3600.0;
            self.water_kg += condenser * 1e3 * dt / H_FG;
        }

        // ---- KPIs.
        let k = &mut s.kpis;
        k.it_power_kw = it;
        k.facility_power_kw = facility;
        k.pue = if it > 0.0 { facility / it } else { 0.0 };
        k.wue_l_per_kwh = if self.it_kwh > 0.0 { self.water_kg / self.it_kwh } else { 0.0 };
        k.heat_rejected_kw = rejected;
        k.cooling_power_kw = cooling;
        k.electrical_loss_kw = losses;
        k.energy_balance_error = if it > 0.0 { (rejected - facility).abs() / it } else { 0.0 };
        k.max_gpu_temp_c = if gn > 0 { gmax } else { 0.0 };
        k.mean_gpu_temp_c = if gn > 0 { gsum / gn as f64 } else { 0.0 };
        k.max_inlet_air_c = if inlet_max.is_finite() { inlet_max } else { 0.0 };
        k.max_coolant_c = cool_max;
        k.output_fraction = if possible > 0.0 { work / possible } else { 1.0 };
        k.tokens_per_s = work;
        k.possible_tokens_per_s = possible;
        k.racks_throttled = throttled;
        k.racks_shutdown = down;
        k.ambient_c = t_amb;

        if live {
            self.update_alarms();
        }
    }

    /// Per-rack flow, coolant-node decay and cold-plate resistance: they change only with flow.
    fn update_flow_coefficients(&mut self) {
        let dt = self.dt;
        let s = &mut self.s;
        for (i, r) in self.net.racks.iter().enumerate() {
            if r.cdu == NONE {
                s.flow[i] = 0.0;
                s.decay_cool[i] = 1.0;
                s.r_gpu[i] = AIR_GPU_R;
            } else {
                let frac = s.cdu_frac[r.cdu as usize];
                let m = r.flow_kg_s * frac;
                s.flow[i] = m;
                s.inv_mcp[i] = if m > 1e-9 { 1.0 / (m * CP_PG25) } else { 0.0 };
                s.decay_cool[i] = (-m * CP_PG25 * dt / r.c_coolant).exp();
                s.r_gpu[i] = cold_plate_r(r.plate_lpm * frac);
            }
            s.decay_gpu[i] = (-dt / (s.r_gpu[i] * GPU_HEAT_CAPACITY)).exp();
        }
        s.cdu_frac_cached.clone_from(&s.cdu_frac);
        s.loop_frac_cached.clone_from(&s.loop_frac);
        s.coeff_dt = dt;
        // CDU exchangers: ε·C_min at these flows; hA ∝ ṁ^0.8 on each side, equal at the rating
        // (physics.md §2).
        for (c, node) in self.net.cdus.iter().enumerate() {
            let m = node.design_flow_kg_s * s.cdu_frac[c];
            let lf = s.loop_frac[node.loop_ as usize];
            let c_tcs = m * CP_PG25;
            let c_fw = node.fw_flow_kg_s * lf * CP_WATER;
            s.cdu_eff_cmin[c] = if c_tcs > 1e-9 && c_fw > 1e-9 {
                let rt = (m / node.design_flow_kg_s.max(1e-9)).max(1e-6).powf(0.8);
                let rf = lf.max(1e-6).powf(0.8);
                let ua = 1.0 / (1.0 / (2.0 * node.ua_design * rt) + 1.0 / (2.0 * node.ua_design * rf));
                let (cmin, cmax) = (c_tcs.min(c_fw), c_tcs.max(c_fw));
                effectiveness_counterflow(ua / cmin, cmin / cmax) * cmin
            } else {
                0.0
            };
        }
    }

    fn update_alarms(&mut self) {
        let t = self.time_s;
        // Racks: their alarms follow from their status bits, so only racks whose status changed
        // need a look.
        for i in 0..self.net.racks.len() {
            let st = self.s.status[i];
            if st == self.s.alarm_status[i] {
                continue;
            }
            self.s.alarm_status[i] = st;
            let mut f = 0u16;
            if st & RackStatus::THROTTLED != 0 {
                f |= bit(AlarmKind::GpuSlowdown);
            }
            if st & RackStatus::SHUTDOWN != 0 {
                f |= bit(AlarmKind::GpuShutdown);
            }
            if st & RackStatus::NO_POWER != 0 {
                f |= bit(AlarmKind::RackNoPower);
            }
            if st & RackStatus::INLET_CRIT != 0 {
                f |= bit(AlarmKind::InletAllowable);
            } else if st & RackStatus::INLET_WARN != 0 {
                f |= bit(AlarmKind::InletRecommended);
            }
            self.set_flags(Class::Rack, i as u32, f, t);
        }
        let mut pending: Vec<(Class, u32, u16)> = Vec::new();
        let (s, n, fail) = (&self.s, &self.net, &self.fail);
        for (c, node) in n.cdus.iter().enumerate() {
            let mut f = 0u16;
            if s.cdu_heat[c] > node.capacity_kw * 1.001 {
                f |= bit(AlarmKind::CduOverCapacity);
            }
            if s.cdu_frac[c] < 1.0 {
                f |= bit(AlarmKind::CduNoFlow);
            }
            pending.push((Class::Cdu, c as u32, f));
        }
        for (l, node) in n.loops.iter().enumerate() {
            let f = if s.loop_sup[l] > node.setpoint_c + 3.0 { bit(AlarmKind::LoopSupplyHigh) } else { 0 };
            pending.push((Class::Loop, l as u32, f));
        }
        for h in 0..n.halls.len() {
            let f = if s.room[h] > 35.0 { bit(AlarmKind::RoomHot) } else { 0 };
            pending.push((Class::Hall, h as u32, f));
        }
        for (p, node) in n.pdus.iter().enumerate() {
            let f = if s.pdu_load[p] > node.capacity_kw * 1.001 { bit(AlarmKind::OverCapacity) } else { 0 };
            pending.push((Class::Pdu, p as u32, f));
        }
        for (u, node) in n.ups.iter().enumerate() {
            let mut f = 0u16;
            if s.ups_load[u] > node.capacity_kw * 1.001 {
                f |= bit(AlarmKind::OverCapacity);
            }
            if s.ups_on_batt[u] && s.ups_out[u] {
                f |= bit(AlarmKind::OnBattery);
            }
            if !s.ups_out[u] {
                f |= bit(AlarmKind::BatteryDepleted);
            }
            pending.push((Class::Ups, u as u32, f));
        }
        for (fi, node) in n.feeds.iter().enumerate() {
            let mut f = 0u16;
            if s.feed_load[fi] > node.capacity_kw * 1.001 {
                f |= bit(AlarmKind::OverCapacity);
            }
            if fail.feed[fi] {
                f |= bit(AlarmKind::EquipmentDown);
            }
            pending.push((Class::Feed, fi as u32, f));
        }
        for c in 0..n.chillers.len() {
            let f = if s.ch_timer[c] > 0.0 { bit(AlarmKind::EquipmentDown) } else { 0 };
            pending.push((Class::Chiller, c as u32, f));
        }
        for d in 0..n.dry_coolers.len() {
            let f = if fail.dry_cooler[d] { bit(AlarmKind::EquipmentDown) } else { 0 };
            pending.push((Class::DryCooler, d as u32, f));
        }
        for c in 0..n.crahs.len() {
            let f = if !s.crah[c].running { bit(AlarmKind::EquipmentDown) } else { 0 };
            pending.push((Class::Crah, c as u32, f));
        }
        for (class, i, f) in pending {
            // Most objects keep their flags from one step to the next: only changes need work.
            if self.flags[class as usize].get(i as usize).copied().unwrap_or(0) != f {
                self.set_flags(class, i, f, t);
            }
        }
    }

    fn set_flags(&mut self, class: Class, index: u32, new: u16, t: f64) {
        let slot = &mut self.flags[class as usize];
        if slot.len() <= index as usize {
            slot.resize(index as usize + 1, 0);
        }
        let old = slot[index as usize];
        if old == new {
            return;
        }
        slot[index as usize] = new;
        let changed = old ^ new;
        for kind in ALL_KINDS {
            let b = bit(kind);
            if changed & b == 0 {
                continue;
            }
            let raised = new & b != 0;
            let object = self.object_id(class, index);
            // A cleared alarm keeps the severity it was raised with and says so; describing the
            // values now ("carries 1344 kW, over its 1368 kW rating") would contradict itself.
            let (severity, message) = match self.active.get(&(class, index, b)).filter(|_| !raised) {
                Some(was) => (was.severity, self.describe_cleared(kind, class, index as usize)),
                None => self.describe(kind, class, index as usize),
            };
            let alarm = Alarm { time_s: t, severity, kind, object, message, raised };
            if raised {
                self.active.insert((class, index, b), alarm.clone());
            } else {
                self.active.remove(&(class, index, b));
            }
            self.log.push(alarm);
            self.active_dirty = true;
        }
    }

    fn object_id(&self, class: Class, i: u32) -> String {
        let ids = &self.net.ids;
        let i = i as usize;
        match class {
            Class::Rack => &ids.racks[i],
            Class::Cdu => &ids.cdus[i],
            Class::Hall => &ids.halls[i],
            Class::Loop => &ids.loops[i],
            Class::Feed => &ids.feeds[i],
            Class::Ups => &ids.ups[i],
            Class::Pdu => &ids.pdus[i],
            Class::Chiller => &ids.chillers[i],
            Class::DryCooler => &ids.dry_coolers[i],
            Class::Crah => &ids.crahs[i],
        }
        .clone()
    }

    /// What a cleared alarm's entry says: the condition is over, with the value now.
    fn describe_cleared(&self, kind: AlarmKind, _class: Class, i: usize) -> String {
        let s = &self.s;
        match kind {
            // A rack that shut down or lost power is no longer throttled, but not recovered either.
            AlarmKind::GpuSlowdown if s.status[i] & (RackStatus::SHUTDOWN | RackStatus::NO_POWER) != 0 => {
                format!("ended by the rack stopping, GPU {:.1} °C", s.t_gpu[i])
            }
            AlarmKind::GpuSlowdown => format!("full clocks again, GPU {:.1} °C", s.t_gpu[i]),
            AlarmKind::GpuShutdown => format!("GPU back on at {:.1} °C", s.t_gpu[i]),
            AlarmKind::RackNoPower => "power back".into(),
            AlarmKind::InletRecommended | AlarmKind::InletAllowable => format!("inlet air {:.1} °C", s.inlet[i]),
            AlarmKind::CduOverCapacity => {
                format!("CDU back within its {:.0} kW rating ({:.0} kW)", self.net.cdus[i].capacity_kw, s.cdu_heat[i])
            }
            AlarmKind::CduNoFlow => format!("TCS flow back at {:.0} %", s.cdu_frac[i] * 100.0),
            AlarmKind::LoopSupplyHigh => format!("facility supply {:.1} °C", s.loop_sup[i]),
            AlarmKind::RoomHot => format!("room air {:.1} °C", s.room[i]),
            AlarmKind::OverCapacity => "load back within capacity".into(),
            AlarmKind::OnBattery => "off battery".into(),
            AlarmKind::BatteryDepleted => "UPS output back".into(),
            AlarmKind::EquipmentDown => "back in service".into(),
        }
    }

    fn describe(&self, kind: AlarmKind, class: Class, i: usize) -> (AlarmSeverity, String) {
        use AlarmSeverity::*;
        let s = &self.s;
        match kind {
            // Throttled below the slowdown temperature means ramping back up after a shutdown
            // or a slowdown, not a new slowdown.
            AlarmKind::GpuSlowdown if s.t_gpu[i] < GPU_SLOWDOWN_C => (
                Warning,
                format!(
                    "recovering: clocks back to {:.0} % of the asked work, GPU {:.1} °C",
                    s.throttle[i] * 100.0,
                    s.t_gpu[i]
                ),
            ),
            // Throttled all the way down: the coolant (or inlet air) itself is too warm for work.
            AlarmKind::GpuSlowdown if s.throttle[i] <= 0.0 => {
                let (what, t) =
                    if self.net.racks[i].cdu != NONE { ("coolant", s.t_cool[i]) } else { ("inlet air", s.inlet[i]) };
                (
                    Warning,
                    format!(
                        "GPU {:.1} °C reached the {GPU_SLOWDOWN_C} °C slowdown: held at idle, its {what} at {t:.1} °C leaves no headroom",
                        s.t_gpu[i]
                    ),
                )
            }
            AlarmKind::GpuSlowdown => (
                Warning,
                format!(
                    "GPU {:.1} °C reached the {GPU_SLOWDOWN_C} °C slowdown: throttled to {:.0} % of the asked work",
                    s.t_gpu[i],
                    s.throttle[i] * 100.0
                ),
            ),
            AlarmKind::GpuShutdown => {
                (Critical, format!("GPU {:.1} °C: thermal shutdown at {GPU_SHUTDOWN_C} °C", s.t_gpu[i]))
            }
            AlarmKind::RackNoPower => (Critical, "rack has no power".into()),
            AlarmKind::InletRecommended => (
                Warning,
                format!("inlet air {:.1} °C above the ASHRAE recommended {ASHRAE_RECOMMENDED_MAX_C} °C", s.inlet[i]),
            ),
            AlarmKind::InletAllowable => {
                (Critical, format!("inlet air {:.1} °C above ASHRAE A1 allowable {ASHRAE_A1_MAX_C} °C", s.inlet[i]))
            }
            AlarmKind::CduOverCapacity => (
                Warning,
                format!("CDU carries {:.0} kW, over its {:.0} kW rating", s.cdu_heat[i], self.net.cdus[i].capacity_kw),
            ),
            AlarmKind::CduNoFlow => (
                if s.cdu_frac[i] == 0.0 { Critical } else { Warning },
                format!(
                    "TCS flow at {:.0} % ({} of {} duty pumps running)",
                    s.cdu_frac[i] * 100.0,
                    s.cdu_running[i],
                    self.net.cdus[i].duty
                ),
            ),
            AlarmKind::LoopSupplyHigh => (
                Warning,
                format!("facility supply {:.1} °C, setpoint {:.1} °C", s.loop_sup[i], self.net.loops[i].setpoint_c),
            ),
            AlarmKind::RoomHot => (Warning, format!("room air {:.1} °C", s.room[i])),
            AlarmKind::OverCapacity => {
                let (load, cap) = match class {
                    Class::Pdu => (s.pdu_load[i], self.net.pdus[i].capacity_kw),
                    Class::Ups => (s.ups_load[i], self.net.ups[i].capacity_kw),
                    _ => (s.feed_load[i], self.net.feeds[i].capacity_kw),
                };
                (Critical, format!("load {load:.0} kW over capacity {cap:.0} kW"))
            }
            AlarmKind::OnBattery => (
                Critical,
                format!("on battery, {:.0} % left", 100.0 * s.ups_batt_kj[i] / self.net.ups[i].battery_kj.max(1e-9)),
            ),
            AlarmKind::BatteryDepleted => (Critical, "UPS output lost".into()),
            AlarmKind::EquipmentDown => (Critical, "out of service".into()),
        }
    }

    /// The current state as a `Snapshot`.
    /// The active alarms (a new `Arc` only when the list changed, so callers can compare pointers).
    pub fn active_alarms(&mut self) -> Arc<Vec<Alarm>> {
        if self.active_dirty {
            self.active_arc = Arc::new(self.active.values().cloned().collect());
            self.active_dirty = false;
        }
        self.active_arc.clone()
    }

    /// Copies the state out of the engine's arrays into `c` (allocations reused): the
    /// recorder's part on the sim thread (`recording::codec::columns_of` finishes it elsewhere),
    /// and what `snapshot` is made from.
    pub fn copy_state_into(&self, c: &mut StateCopy) {
        let s = &self.s;
        c.time_s = self.time_s;
        c.step = self.step;
        c.kpis.clone_from(&s.kpis);
        for (dst, src) in c.rack.iter_mut().zip([&s.t_gpu, &s.inlet, &s.t_cool, &s.power, &s.util, &s.throttle]) {
            copy_f32(dst, src);
        }
        c.status.clone_from(&s.status);
        for (dst, src) in c.cdu.iter_mut().zip([&s.cdu_sup, &s.cdu_ret, &s.cdu_frac, &s.cdu_heat, &s.cdu_pump]) {
            dst.clone_from(src);
        }
        c.cdu_running.clone_from(&s.cdu_running);
        for (dst, src) in c.hall.iter_mut().zip([&s.room, &s.hall_sup_air, &s.hall_air_heat]) {
            dst.clone_from(src);
        }
        for (dst, src) in c.loops.iter_mut().zip([&s.loop_sup, &s.loop_ret, &s.loop_frac, &s.loop_heat, &s.loop_pump]) {
            dst.clone_from(src);
        }
        for (dst, src) in c.equipment.iter_mut().zip([&s.crah, &s.dc, &s.ch]) {
            dst.clone_from(src);
        }
        c.feed_load.clone_from(&s.feed_load);
        c.feed_failed.clone_from(&self.fail.feed);
        c.ups_load.clone_from(&s.ups_load);
        c.ups_battery_kj.clone_from(&s.ups_batt_kj);
        c.ups_out.clone_from(&s.ups_out);
        c.ups_on_battery.clone_from(&s.ups_on_batt);
        c.pdu_load.clone_from(&s.pdu_load);
        if !Arc::ptr_eq(&c.ratings, &self.net.ratings) {
            c.ratings = self.net.ratings.clone();
        }
    }

    /// What the simulation shows now: the same copy a recorder takes, as a `Snapshot`.
    pub fn snapshot(&mut self) -> Snapshot {
        let alarms = self.active_alarms();
        let mut copy = StateCopy::default();
        self.copy_state_into(&mut copy);
        copy.to_snapshot(alarms)
    }

    pub fn check_edit(&self, site: &Site) -> Result<(), String> {
        let errors: Vec<String> = crate::scene::validate(site)
            .into_iter()
            .filter(|d| d.is_error())
            .map(|d| d.display("edit").to_string())
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
    }

    /// Replaces the site (a live edit) and re-derives the network. Racks that keep their id keep
    /// their temperatures and throttle; new racks start at their CDU's supply temperature.
    pub fn edit_site(&mut self, site: Site) -> Result<(), String> {
        self.check_edit(&site)?;
        let net = Network::build(&site)?;
        let old_ids = std::mem::take(&mut self.net.ids.racks);
        let old = std::mem::take(&mut self.s);
        let old_fail = std::mem::take(&mut self.fail);
        let old_net = std::mem::replace(&mut self.net, net);
        self.site = site;
        self.reset_state();
        self.assign_profiles();
        let by_id: std::collections::HashMap<&str, usize> =
            old_ids.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
        for (i, id) in self.net.ids.racks.iter().enumerate() {
            if let Some(&j) = by_id.get(id.as_str()) {
                self.s.t_cool[i] = old.t_cool[j];
                self.s.t_gpu[i] = old.t_gpu[j];
                self.s.throttle[i] = old.throttle[j];
                self.s.on[i] = old.on[j];
            }
        }
        // Keep whole-object state (loops, rooms, failures) where the same id survives.
        carry(&old_net.ids.halls, &self.net.ids.halls, &old.room, &mut self.s.room);
        carry(&old_net.ids.loops, &self.net.ids.loops, &old.loop_sup, &mut self.s.loop_sup);
        carry(&old_net.ids.cdus, &self.net.ids.cdus, &old.cdu_sup, &mut self.s.cdu_sup);
        carry(&old_net.ids.cdus, &self.net.ids.cdus, &old_fail.cdu_pumps, &mut self.fail.cdu_pumps);
        carry(&old_net.ids.cdus, &self.net.ids.cdus, &old_fail.cdu, &mut self.fail.cdu);
        carry(&old_net.ids.loops, &self.net.ids.loops, &old_fail.loop_pumps, &mut self.fail.loop_pumps);
        carry(&old_net.ids.chillers, &self.net.ids.chillers, &old_fail.chiller, &mut self.fail.chiller);
        carry(&old_net.ids.chillers, &self.net.ids.chillers, &old.ch_timer, &mut self.s.ch_timer);
        carry(&old_net.ids.dry_coolers, &self.net.ids.dry_coolers, &old_fail.dry_cooler, &mut self.fail.dry_cooler);
        carry(&old_net.ids.crahs, &self.net.ids.crahs, &old_fail.crah, &mut self.fail.crah);
        carry(&old_net.ids.feeds, &self.net.ids.feeds, &old_fail.feed, &mut self.fail.feed);
        carry(&old_net.ids.ups, &self.net.ids.ups, &old_fail.ups, &mut self.fail.ups);
        carry(&old_net.ids.ups, &self.net.ids.ups, &old.ups_batt_kj, &mut self.s.ups_batt_kj);
        // Alarms refer to indices: clear the bookkeeping and let the next step raise what holds.
        for (_, a) in std::mem::take(&mut self.active) {
            self.log.push(Alarm { raised: false, time_s: self.time_s, ..a });
        }
        self.flags = Default::default();
        self.active_dirty = true;
        self.physics_step(true);
        Ok(())
    }
}

fn carry<T: Clone>(old_ids: &[String], new_ids: &[String], old: &[T], new: &mut [T]) {
    let by_id: std::collections::HashMap<&str, usize> =
        old_ids.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    for (i, id) in new_ids.iter().enumerate() {
        if let (Some(&j), Some(slot)) = (by_id.get(id.as_str()), new.get_mut(i)) {
            if let Some(v) = old.get(j) {
                *slot = v.clone();
            }
        }
    }
}

fn powered_of(fail: &Failures, ups_out: &[bool], s: Supply) -> bool {
    match s {
        Supply::Feed(f) => !fail.feed[f as usize],
        Supply::Ups(u) => ups_out[u as usize],
    }
}

const ALL_KINDS: [AlarmKind; 13] = [
    AlarmKind::GpuSlowdown,
    AlarmKind::GpuShutdown,
    AlarmKind::InletRecommended,
    AlarmKind::InletAllowable,
    AlarmKind::RackNoPower,
    AlarmKind::CduOverCapacity,
    AlarmKind::CduNoFlow,
    AlarmKind::LoopSupplyHigh,
    AlarmKind::OverCapacity,
    AlarmKind::OnBattery,
    AlarmKind::BatteryDepleted,
    AlarmKind::EquipmentDown,
    AlarmKind::RoomHot,
];

fn bit(k: AlarmKind) -> u16 {
    1 << (ALL_KINDS.iter().position(|&x| x == k).unwrap_or(0) as u16)
}
