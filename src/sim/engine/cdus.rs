//! CDUs and facility loops as hydraulics: how many pumps run, the flows that follows, the
//! per-rack coefficients that change only with flow, and the CDU heat exchangers (rack coolant
//! → facility water).

use super::racks::{CoolantSums, RackSums};
use super::*;

impl Simulation {
    /// Pumps running and flow fractions of every CDU and loop; coefficients recomputed when a
    /// flow or the step length changed.
    pub(super) fn pumps_and_flows(&mut self) {
        let dt = self.dt;
        let mut flows_changed = false;
        for (c, node) in self.net.cdus.iter().enumerate() {
            let running = if self.fail.cdu[c] || !self.powered(node.supply) {
                0
            } else {
                (node.pumps - self.fail.cdu_pumps[c].min(node.pumps)).min(node.duty)
            };
            let frac = running as f64 / node.duty as f64;
            self.s.cdu_running[c] = running as u8;
            self.s.cdu_flow_fraction[c] = frac;
            self.s.cdu_pump[c] = running as f64 * node.pump_kw;
            if self.s.cdu_flow_fraction_cached[c] != frac {
                flows_changed = true;
            }
        }
        for (l, node) in self.net.loops.iter().enumerate() {
            let running = if !self.powered(node.supply) {
                0
            } else {
                (node.pumps - self.fail.loop_pumps[l].min(node.pumps)).min(node.duty)
            };
            self.s.loop_flow_fraction[l] = running as f64 / node.duty as f64;
            self.s.loop_pump[l] = running as f64 * node.pump_kw;
            if self.s.loop_flow_fraction_cached[l] != self.s.loop_flow_fraction[l] {
                flows_changed = true;
            }
        }
        // The coefficients depend on flow and on the step length (settling uses long steps).
        if flows_changed || self.s.coeff_dt != dt {
            self.update_flow_coefficients();
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
                s.g_cool[i] = 0.0;
                s.r_gpu[i] = AIR_GPU_R;
            } else {
                let frac = s.cdu_flow_fraction[r.cdu as usize];
                let m = r.flow_kg_s * frac;
                s.flow[i] = m;
                s.inv_mcp[i] = if m > 1e-9 { 1.0 / (m * CP_PG25) } else { 0.0 };
                s.decay_cool[i] = (-m * CP_PG25 * dt / r.c_coolant).exp();
                s.g_cool[i] = r.c_coolant * (1.0 - s.decay_cool[i]) / dt;
                s.r_gpu[i] = cold_plate_r(r.plate_lpm * frac);
            }
            s.decay_gpu[i] = (-dt / (s.r_gpu[i] * GPU_HEAT_CAPACITY)).exp();
        }
        s.cdu_flow_fraction_cached.clone_from(&s.cdu_flow_fraction);
        s.loop_flow_fraction_cached.clone_from(&s.loop_flow_fraction);
        s.coeff_dt = dt;
        // CDU exchangers: ε·C_min at these flows; hA ∝ ṁ^0.8 on each side, equal at the rating
        // (physics.md §2).
        for (c, node) in self.net.cdus.iter().enumerate() {
            let m = node.design_flow_kg_s * s.cdu_flow_fraction[c];
            let lf = s.loop_flow_fraction[node.loop_ as usize];
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

    /// CDUs: rack coolant return → heat exchanger → supply, limited to the setpoint, solved
    /// together with the racks' coolant nodes (implicitly: stable at any step). Every coolant
    /// node's return heat is linear in the supply temperature T it is given (`RackSums`), so
    /// each CDU finds the T at which its exchanger passes exactly what comes back: at the
    /// setpoint when it can, else where the exchanger's limit meets the return. The supply is
    /// not a store of its own, so what reaches the facility water is exactly what the racks did
    /// not store plus the pumps' work. Then the coolant nodes are stepped with that T. Returns
    /// the heat each facility loop takes in, W; adds what the coolant stored to `stored_w`.
    pub(super) fn cdu_heat_exchange(&mut self, racks: &RackSums, stored_w: &mut f64) -> (Vec<f64>, f64) {
        let nl = self.net.loops.len();
        let mut loop_in = vec![0.0; nl];
        for (c, node) in self.net.cdus.iter().enumerate() {
            let s = &mut self.s;
            let CoolantSums { flow_kg_s: m, h0_w: h0, g_w_k: g, q_w } = racks.cdu[c];
            let pump_w = s.cdu_pump[c] * 1e3;
            let l = node.loop_ as usize;
            if m <= 1e-9 || g <= 0.0 {
                // No rack flow (pumps stopped, or a CDU without racks): whatever its pumps
                // still do ends up in the facility water.
                s.cdu_heat[c] = pump_w / 1e3;
                s.cdu_return[c] = s.cdu_supply[c];
                loop_in[l] += pump_w;
                continue;
            }
            let c_tcs = m * CP_PG25;
            let back = |t: f64| h0 + pump_w - g * t;
            // What the exchanger can pass with the return at T + back(T)/c_tcs: k·(return − T_fw).
            let k = if node.fw_flow_kg_s * s.loop_flow_fraction[l] > 1e-9 { s.cdu_eff_cmin[c] } else { 0.0 };
            let t_fws = s.loop_supply[l];
            let sp = node.setpoint_c;
            let t = if back(sp) <= 0.0 {
                // Nothing to remove at the setpoint: the exchanger idles, the racks take up
                // their own heat (and the pumps').
                (h0 + pump_w) / g
            } else if back(sp) <= k * (sp + back(sp) / c_tcs - t_fws) {
                sp
            } else {
                // Exchanger-limited: back(T)·(1 − k/c_tcs) = k·(T − T_fw).
                let r = 1.0 - (k / c_tcs).min(1.0);
                ((h0 + pump_w) * r + k * t_fws) / (g * r + k)
            };
            let q = back(t);
            s.cdu_heat[c] = q / 1e3;
            s.cdu_return[c] = t + back(t) / c_tcs;
            s.cdu_supply[c] = t;
            loop_in[l] += q;
            // Racks' coolant stored what they took in and did not hand back.
            *stored_w += q_w - (h0 - g * t);
        }
        // The coolant nodes, stepped with their CDU's supply: CDU by CDU over its racks'
        // indices, so only the state arrays are read (not the racks' static data).
        let s = &mut self.s;
        let mut coolant_max = racks.coolant_max_c;
        let n = s.coolant.len();
        let (coolant, flow, q_cool) = (&mut s.coolant[..n], &s.flow[..n], &s.q_cool[..n]);
        let (inv_mcp, decay_cool) = (&s.inv_mcp[..n], &s.decay_cool[..n]);
        for (c, node) in self.net.cdus.iter().enumerate() {
            let t_sup = s.cdu_supply[c];
            for &i in &node.racks {
                let i = i as usize;
                if flow[i] > 1e-9 {
                    let tc = relax(coolant[i], t_sup + q_cool[i] * inv_mcp[i], decay_cool[i]);
                    coolant[i] = tc;
                    coolant_max = coolant_max.max(tc);
                }
            }
        }
        (loop_in, coolant_max)
    }
}
