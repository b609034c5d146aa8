//! Racks: workload, power, coolant and GPU thermal nodes, throttling and shutdown, status bits,
//! and the sums the rest of the step and the KPIs need — one pass over the racks, the hot loop
//! of the whole simulation.

use super::*;

/// The sums over one CDU's flowing racks. Its returning heat is H(T_sup) = `h0_w` − `g_w_k`·T_sup,
/// W: the heat the racks' coolant carries back above the supply temperature the CDU settles on
/// this step (what the racks do not store), linear in it because each coolant node is.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CoolantSums {
    pub flow_kg_s: f64,
    pub h0_w: f64,
    pub g_w_k: f64,
    /// Heat into the coolant nodes this step, W.
    pub q_w: f64,
}

/// What one pass over the racks hands the rest of the step.
pub(super) struct RackSums {
    /// Heat each hall's air takes from its racks, kW.
    pub hall_air_kw: Vec<f64>,
    /// What each CDU's flowing racks send back (`CoolantSums`).
    pub cdu: Vec<CoolantSums>,
    /// IT load on each PDU, kW.
    pub pdu_it_kw: Vec<f64>,
    pub gpu_max_c: f64,
    pub gpu_sum_c: f64,
    /// Racks with GPUs.
    pub gpus: usize,
    /// Tokens/s delivered and asked for.
    pub work: f64,
    pub possible: f64,
    pub throttled: u32,
    pub down: u32,
    pub inlet_max_c: f64,
    pub coolant_max_c: f64,
    /// Heat the racks' coolant and GPUs stored this step, W.
    pub stored_w: f64,
    /// Air-cooled servers' fan power (part of IT power), kW.
    pub server_fans_kw: f64,
}

impl Simulation {
    pub(super) fn rack_step(&mut self, live: bool) -> RackSums {
        let (dt, t) = (self.dt, self.time_s);
        let inv_dt = 1.0 / dt;
        let nh = self.net.halls.len();
        let mut hall_air_in = vec![0.0; nh];
        let mut cdu = vec![CoolantSums::default(); self.net.cdus.len()];
        let mut server_fans = 0.0;
        let mut stored_w = 0.0;
        let mut pdu_it = vec![0.0; self.net.pdus.len()];
        let pdu_up: Vec<bool> = self
            .net
            .pdus
            .iter()
            .enumerate()
            .map(|(k, p)| self.s.ups_out[p.ups as usize] && !self.fail.pdu[k])
            .collect();
        let hall_inlet: Vec<(f64, f64)> = (0..nh).map(|h| (self.s.hall_supply_air[h], self.s.room[h])).collect();
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
                (&mut s.coolant[..n], &mut s.gpu[..n], &mut s.throttle[..n], &mut s.on[..n]);
            let (util, power, inlets, status) =
                (&mut s.utilization[..n], &mut s.power[..n], &mut s.inlet[..n], &mut s.status[..n]);
            let (flow, decay_gpu) = (&s.flow[..n], &s.decay_gpu[..n]);
            let (r_gpu, inv_mcp, rack_profile) = (&s.r_gpu[..n], &s.inv_mcp[..n], &self.rack_profile[..n]);
            let (g_cool, q_cool) = (&s.g_cool[..n], &mut s.q_cool[..n]);
            for (i, r) in racks.iter().enumerate() {
                let pf = if rack_profile[i] == NONE { 1.0 } else { profile_factor[rack_profile[i] as usize] };
                let u = r.base_util * pf;
                util[i] = u;
                let h = r.hall as usize;
                let (sup_air, room) = hall_inlet[h];
                let rec = self.net.halls[h].recirculation;
                // EnergyPlus ITE: supply air warmed by the rack's supply approach, mixed with
                // room air by the hall's recirculation.
                let inlet = (sup_air + r.supply_approach_k) * (1.0 - rec) + room * rec;
                inlets[i] = inlet;
                let powered = pdu_up[r.pdu as usize];
                let running = powered && on[i];
                let mut theta = throttle[i];
                let mut p = if running { r.idle_kw + r.dyn_kw * u * theta } else { 0.0 };
                // Air-cooled servers, EnergyPlus ITE:AirCooled: the linear power curve is the
                // CPUs' and GPUs' share (1 − fan fraction); fans follow the load between 40 %
                // and full design flow (*estimate*) and draw as flow cubed; the air leaves at
                // T_in + P/(V̇·ρ·c_p).
                let mut exhaust = inlet;
                if r.fan_kw > 0.0 && running {
                    let load = if r.dyn_kw > 0.0 { (u * theta).clamp(0.0, 1.0) } else { 1.0 };
                    let flow = ITE_FLOW_AT_IDLE + (1.0 - ITE_FLOW_AT_IDLE) * load;
                    let fan = r.fan_kw * flow * flow * flow;
                    p = p * (1.0 - r.fan_kw / (r.idle_kw + r.dyn_kw)) + fan;
                    server_fans += fan;
                    exhaust = inlet + p * 1e3 / (r.air_flow_m3_s * flow * RHO_AIR * CP_AIR);
                }
                // W from here on: each node's outflow is its inflow less what it stored, so the
                // step's energy balance holds exactly.
                let q_liq = p * r.liquid_fraction * 1e3;
                let mut q_air = (p * 1e3) - q_liq;
                pdu_it[r.pdu as usize] += p;

                // GPU node first, against the coolant (or inlet air) as it was: what it stores
                // is taken from the heat its cold plates (or heat sinks) pass on.
                let t_ref = if r.cdu != NONE { t_cool[i] } else { inlet };
                let mut gpu_store = 0.0;
                if r.gpus > 0.0 {
                    let q_gpu = p * r.gpu_w_per_kw;
                    let target = t_ref + r_gpu[i] * q_gpu;
                    let tg = relax(t_gpu[i], target, decay_gpu[i]);
                    gpu_store = r.gpus * GPU_HEAT_CAPACITY * (tg - t_gpu[i]) * inv_dt;
                    t_gpu[i] = tg;
                }

                // Coolant node. With flow it relaxes toward T_sup + q/(ṁ c_p), T_sup being the
                // supply its CDU settles on this step (`cdu_heat_exchange`, which then updates
                // it); here only its share of the CDU's sums. Without flow it relaxes toward
                // the room through the rack's skin.
                if r.cdu != NONE {
                    let c = r.cdu as usize;
                    let m = flow[i];
                    let q_in = q_liq - gpu_store;
                    let old = t_cool[i];
                    if m > 1e-9 {
                        q_cool[i] = q_in;
                        let sums = &mut cdu[c];
                        sums.h0_w += q_in - g_cool[i] * (q_in * inv_mcp[i] - old);
                        sums.g_w_k += g_cool[i];
                        sums.q_w += q_in;
                        sums.flow_kg_s += m;
                    } else {
                        let tc = relax(old, room + q_in / RACK_SKIN_UA, (-RACK_SKIN_UA * dt / r.c_coolant).exp());
                        t_cool[i] = tc;
                        let store = r.c_coolant * (tc - old) * inv_dt;
                        stored_w += store;
                        q_air += q_in - store;
                        cool_max = cool_max.max(tc);
                    }
                } else {
                    q_air -= gpu_store;
                    t_cool[i] = exhaust;
                }
                stored_w += gpu_store;
                hall_air_in[h] += q_air / 1e3;

                // Throttling (slowdown 89 °C, shutdown 92 °C).
                if r.gpus > 0.0 {
                    let tg = t_gpu[i];
                    if on[i] && tg >= GPU_SHUTDOWN_C {
                        on[i] = false;
                        theta = 0.0;
                    } else if !on[i] && tg <= GPU_RESTART_C {
                        on[i] = true;
                        theta = 0.3;
                    } else if on[i] && tg >= GPU_SLOWDOWN_C && u > 0.0 {
                        // The throttle whose steady GPU temperature sits just under slowdown.
                        let q_ok = (GPU_SLOWDOWN_C - 0.5 - t_ref).max(0.0) / r_gpu[i];
                        let p_ok = q_ok / r.gpu_w_per_kw;
                        let theta_ok = ((p_ok - r.idle_kw) / (r.dyn_kw * u).max(1e-9)).clamp(0.0, 1.0);
                        theta = theta.min(theta_ok);
                    } else if on[i] {
                        theta = (theta + THROTTLE_RECOVERY_PER_S * dt).min(1.0);
                    }
                } else {
                    // Without GPUs to throttle, a liquid rack's own protection trips on its
                    // coolant (and it restarts once cool): its heat is bounded without flow.
                    if r.cdu != NONE {
                        if on[i] && t_cool[i] >= RACK_COOLANT_TRIP_C {
                            on[i] = false;
                        } else if !on[i] && t_cool[i] <= RACK_COOLANT_RESTART_C {
                            on[i] = true;
                        }
                    }
                    // They show their coolant (as it was before this step's CDU pass) or their
                    // inlet air.
                    t_gpu[i] = if r.cdu != NONE { t_cool[i] } else { inlet };
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
                // A rack that stops this step still carries the throttle bit: counted as down only.
                throttled += u32::from(st & RackStatus::THROTTLED != 0 && out);
                down += u32::from(!out);
                inlet_max = inlet_max.max(inlet);
            }
        }
        if live && any_throttled && self.first_throttle_s.is_none() {
            self.first_throttle_s = Some(t);
        }
        RackSums {
            hall_air_kw: hall_air_in,
            cdu,
            server_fans_kw: server_fans,
            pdu_it_kw: pdu_it,
            gpu_max_c: gmax,
            gpu_sum_c: gsum,
            gpus: gn,
            work,
            possible,
            throttled,
            down,
            inlet_max_c: inlet_max,
            coolant_max_c: cool_max,
            stored_w,
        }
    }
}
