//! CDUs and facility loops as hydraulics: how many pumps run, the flows that follows, the
//! per-rack coefficients that change only with flow, and the CDU heat exchangers (rack coolant
//! → facility water).

use super::racks::RackSums;
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
                s.r_gpu[i] = AIR_GPU_R;
            } else {
                let frac = s.cdu_flow_fraction[r.cdu as usize];
                let m = r.flow_kg_s * frac;
                s.flow[i] = m;
                s.inv_mcp[i] = if m > 1e-9 { 1.0 / (m * CP_PG25) } else { 0.0 };
                s.decay_cool[i] = (-m * CP_PG25 * dt / r.c_coolant).exp();
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

    /// CDUs: rack coolant return → heat exchanger → supply, limited to the setpoint. Returns the
    /// heat each facility loop takes in, W.
    pub(super) fn cdu_heat_exchange(&mut self, racks: &RackSums) -> Vec<f64> {
        let nl = self.net.loops.len();
        let mut loop_in = vec![0.0; nl];
        let (cdu_m, cdu_mt) = (&racks.cdu_flow_kg_s, &racks.cdu_flow_temp);
        for (c, node) in self.net.cdus.iter().enumerate() {
            let s = &mut self.s;
            let m = cdu_m[c];
            let pump_w = s.cdu_pump[c] * 1e3;
            if m <= 1e-9 {
                s.cdu_heat[c] = 0.0;
                s.cdu_return[c] = s.cdu_supply[c];
                continue;
            }
            let c_tcs = m * CP_PG25;
            // Pump work ends up in the coolant.
            let t_ret = cdu_mt[c] / m + pump_w / c_tcs;
            let l = node.loop_ as usize;
            let m_fw = node.fw_flow_kg_s * s.loop_flow_fraction[l];
            let c_fw = m_fw * CP_WATER;
            let t_fws = s.loop_supply[l];
            let q_max = if c_fw > 1e-9 { (s.cdu_eff_cmin[c] * (t_ret - t_fws)).max(0.0) } else { 0.0 };
            let q_needed = (c_tcs * (t_ret - node.setpoint_c)).max(0.0);
            let q = q_max.min(q_needed);
            s.cdu_heat[c] = q / 1e3;
            s.cdu_return[c] = t_ret;
            s.cdu_supply[c] = t_ret - q / c_tcs;
            loop_in[l] += q;
        }
        loop_in
    }
}
