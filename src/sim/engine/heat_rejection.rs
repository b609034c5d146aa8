//! Heat rejection: each facility loop's return water through its dry coolers (fans slowed to
//! hold the setpoint, power ∝ speed³) and chillers (ahead of or behind the dry coolers, as the
//! loop's `dry_coolers_first` says), then its supply node.

use super::*;

/// What the plant rejected this step, kW.
pub(super) struct HeatRejected {
    /// Everything leaving the site as heat so far this step (starting from what the caller had).
    pub rejected_kw: f64,
    /// What water-cooled chillers' condensers rejected (it evaporates in cooling towers).
    pub condenser_kw: f64,
}

impl Simulation {
    /// `loop_in`: heat into each loop, W. `rejected`: heat already rejected this step, kW (the
    /// sum continues in the same order, so results stay bit for bit).
    pub(super) fn heat_rejection(&mut self, loop_in: &[f64], t_amb: f64, t_wet: f64, rejected: f64) -> HeatRejected {
        let dt = self.dt;
        let mut rejected = rejected;
        for (l, node) in self.net.loops.iter().enumerate() {
            let s = &mut self.s;
            let m = node.flow_kg_s * s.loop_flow_fraction[l];
            let pump_w = s.loop_pump[l] * 1e3;
            for &d in &node.dry_coolers {
                s.dry_coolers[d as usize] = EquipmentState::default();
            }
            for &c in &node.chillers {
                s.chillers[c as usize] = EquipmentState::default();
            }
            // Chiller restart timers run whatever the flow.
            for &c in &node.chillers {
                let chiller = &self.net.chillers[c as usize];
                let available = !self.fail.chillers[c as usize] && powered_of(&self.fail, &s.ups_out, chiller.supply);
                s.chiller_restart_s[c as usize] =
                    if available { (s.chiller_restart_s[c as usize] - dt).max(0.0) } else { chiller.restart_s };
            }
            if m <= 1e-9 {
                s.loop_heat[l] = 0.0;
                s.loop_return[l] = s.loop_supply[l];
                continue;
            }
            let c_w = m * CP_WATER;
            let q_in = loop_in[l] + pump_w;
            let t_ret = s.loop_supply[l] + q_in / c_w;
            let mut t = t_ret;
            let sp = node.setpoint_c;

            let run_chillers = |t: &mut f64, s: &mut State| {
                let mut cap = 0.0;
                for &c in &node.chillers {
                    let chiller = &self.net.chillers[c as usize];
                    if s.chiller_restart_s[c as usize] <= 0.0
                        && !self.fail.chillers[c as usize]
                        && powered_of(&self.fail, &s.ups_out, chiller.supply)
                    {
                        cap += chiller.capacity_kw * 1e3;
                    }
                }
                let q = (c_w * (*t - sp)).clamp(0.0, cap);
                if q > 0.0 {
                    for &c in &node.chillers {
                        let chiller = &self.net.chillers[c as usize];
                        if s.chiller_restart_s[c as usize] <= 0.0
                            && !self.fail.chillers[c as usize]
                            && powered_of(&self.fail, &s.ups_out, chiller.supply)
                        {
                            let share = q * chiller.capacity_kw * 1e3 / cap;
                            let cop = chiller_cop(chiller.cop, sp, condenser_c(chiller.air_cooled, t_amb, t_wet));
                            let p = share / cop;
                            let st = &mut s.chillers[c as usize];
                            st.running = true;
                            st.heat_kw = (share / 1e3) as f32;
                            st.power_kw = (p / 1e3) as f32;
                        }
                    }
                }
                *t -= q / c_w;
            };
            if !node.dry_coolers_first {
                run_chillers(&mut t, s);
            }
            // Dry coolers as one bank; fans slow down to hold the setpoint (power ∝ speed³).
            let mut q_max = 0.0;
            for &d in &node.dry_coolers {
                let cooler = &self.net.dry_coolers[d as usize];
                if !self.fail.dry_coolers[d as usize] && powered_of(&self.fail, &s.ups_out, cooler.supply) {
                    q_max += cooler.kw_per_k * 1e3 * (t - t_amb).max(0.0);
                }
            }
            let bank = q_max;
            q_max = q_max.min(c_w * (t - t_amb).max(0.0));
            let q_dc = (c_w * (t - sp)).clamp(0.0, q_max);
            let speed = if q_max > 0.0 { (q_dc / q_max).clamp(0.0, 1.0) } else { 0.0 };
            for &d in &node.dry_coolers {
                let cooler = &self.net.dry_coolers[d as usize];
                if !self.fail.dry_coolers[d as usize] && powered_of(&self.fail, &s.ups_out, cooler.supply) {
                    let share =
                        if bank > 0.0 { q_dc * cooler.kw_per_k * 1e3 * (t - t_amb).max(0.0) / bank } else { 0.0 };
                    let st = &mut s.dry_coolers[d as usize];
                    st.running = true;
                    st.heat_kw = (share / 1e3) as f32;
                    st.power_kw = (cooler.fan_kw * speed.powi(3)) as f32;
                }
            }
            t -= q_dc / c_w;
            if node.dry_coolers_first {
                run_chillers(&mut t, s);
            }
            // Supply node: the loop's water volume mixes what leaves the plant.
            let decay = (-m * CP_WATER * dt / node.c_water).exp();
            s.loop_supply[l] = relax(s.loop_supply[l], t, decay);
            s.loop_return[l] = t_ret;
            s.loop_heat[l] = q_in / 1e3;
        }
        for d in &self.s.dry_coolers {
            rejected += d.heat_kw as f64 + d.power_kw as f64;
        }
        let mut condenser = 0.0;
        for (c, st) in self.s.chillers.iter().enumerate() {
            let q = st.heat_kw as f64 + st.power_kw as f64;
            rejected += q;
            if !self.net.chillers[c].air_cooled {
                condenser += q;
            }
        }
        HeatRejected { rejected_kw: rejected, condenser_kw: condenser }
    }
}
