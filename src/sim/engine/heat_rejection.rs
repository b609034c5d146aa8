//! Heat rejection: each facility loop's return water through its dry coolers (fans slowed to
//! hold the setpoint, power ∝ speed³) and chillers (EnergyPlus EIR curves, `sim::chiller`;
//! ahead of or behind the dry coolers, as the loop's `dry_coolers_first` says), then its
//! supply node.

use super::*;

/// What the plant rejected this step, kW.
pub(super) struct HeatRejected {
    /// Everything leaving the site as heat so far this step (starting from what the caller had).
    pub rejected_kw: f64,
    /// What water-cooled chillers' condensers rejected (it evaporates in cooling towers).
    pub condenser_kw: f64,
    /// What the loops' water stored, W.
    pub stored_w: f64,
}

impl Simulation {
    /// `loop_in`: heat into each loop, W. `rejected`: heat already rejected this step, kW (the
    /// sum continues in the same order).
    pub(super) fn heat_rejection(&mut self, loop_in: &[f64], t_amb: f64, t_wet: f64, rejected: f64) -> HeatRejected {
        let dt = self.dt;
        let mut rejected = rejected;
        let mut stored = 0.0;
        for (l, node) in self.net.loops.iter().enumerate() {
            let s = &mut self.s;
            let m = node.flow_kg_s * s.loop_flow_fraction[l];
            let pump_w = s.loop_pump[l] * 1e3;
            for &d in &node.dry_coolers {
                s.dry_coolers[d as usize] = DryCoolerState::default();
            }
            // Chiller restart timers run whatever the flow; what each could take is shown
            // even while it stands by.
            let mut up = Vec::with_capacity(node.chillers.len());
            for &c in &node.chillers {
                let ci = c as usize;
                let chiller = &self.net.chillers[ci];
                let available = !self.fail.chillers[ci] && powered_of(&self.fail, &s.ups_out, chiller.supply);
                s.chiller_restart_s[ci] =
                    if available { (s.chiller_restart_s[ci] - dt).max(0.0) } else { chiller.restart_s };
                let t_cond = condenser_c(chiller.air_cooled, t_amb, t_wet);
                let avail = chiller.curves.operate(node.setpoint_c, t_cond, 0.0).available_kw;
                let ready = available && s.chiller_restart_s[ci] <= 0.0;
                s.chillers[ci] = ChillerState {
                    available_kw: if ready { avail as f32 } else { 0.0 },
                    condenser_c: t_cond as f32,
                    ..ChillerState::default()
                };
                if ready {
                    up.push((ci, avail * 1e3, t_cond));
                }
            }
            if m <= 1e-9 {
                // Still water: what comes in warms it.
                let t_old = s.loop_supply[l];
                s.loop_supply[l] = t_old + (loop_in[l] + pump_w) * dt / node.c_water;
                stored += loop_in[l] + pump_w;
                s.loop_heat[l] = (loop_in[l] + pump_w) / 1e3;
                s.loop_return[l] = s.loop_supply[l];
                continue;
            }
            let c_w = m * CP_WATER;
            let q_in = loop_in[l] + pump_w;
            let t_ret = s.loop_supply[l] + q_in / c_w;
            let mut t = t_ret;
            let sp = node.setpoint_c;

            // Staging: the lead chillers (in the loop's order) run, as few as carry the load at
            // their curve's most efficient part load (`EirCurves::best_plr`), sharing it in
            // proportion to what each can take; all run when that is not enough, up to PLR_max.
            // What they take of bringing water at `t` to the setpoint, how many run, their kW.
            let chillers_at = |t: f64| -> (f64, usize, f64) {
                let cap: f64 = up.iter().map(|&(ci, a, _)| a * self.net.chillers[ci].curves.plr_max).sum();
                let q = (c_w * (t - sp)).clamp(0.0, cap);
                if q <= 0.0 {
                    return (0.0, 0, 0.0);
                }
                let mut n = up.len();
                let mut at_best = 0.0;
                for (k, &(ci, a, _)) in up.iter().enumerate() {
                    at_best += a * self.net.chillers[ci].best_plr;
                    if at_best >= q {
                        n = k + 1;
                        break;
                    }
                }
                let staged = &up[..n];
                let (avail, cap_n): (f64, f64) = staged
                    .iter()
                    .map(|&(ci, a, _)| (a, a * self.net.chillers[ci].curves.plr_max))
                    .fold((0.0, 0.0), |(x, y), (a, c)| (x + a, y + c));
                let staged = if cap_n >= q { staged } else { &up[..] };
                let avail = if cap_n >= q { avail } else { up.iter().map(|&(_, a, _)| a).sum() };
                let power = staged
                    .iter()
                    .map(|&(ci, a, t_cond)| {
                        self.net.chillers[ci].curves.operate(sp, t_cond, q * a / avail / 1e3).power_kw
                    })
                    .sum();
                (q, staged.len(), power)
            };
            let run_chillers = |t: &mut f64, s: &mut State| {
                let (q, n, _) = chillers_at(*t);
                if q > 0.0 {
                    let avail: f64 = up[..n].iter().map(|&(_, a, _)| a).sum();
                    for &(ci, a, t_cond) in &up[..n] {
                        let p = self.net.chillers[ci].curves.operate(sp, t_cond, q * a / avail / 1e3);
                        let st = &mut s.chillers[ci];
                        st.running = true;
                        st.heat_kw = p.load_kw as f32;
                        st.power_kw = p.power_kw as f32;
                        st.cop = p.cop as f32;
                        st.plr = p.plr as f32;
                    }
                }
                *t -= q / c_w;
            };
            if !node.dry_coolers_first {
                run_chillers(&mut t, s);
            }
            // Dry coolers as one bank: at fan speed x they reject x of what they could at full
            // speed, for fan power ∝ x³.
            let mut q_max = 0.0;
            let mut fan_max = 0.0;
            for &d in &node.dry_coolers {
                let cooler = &self.net.dry_coolers[d as usize];
                if !self.fail.dry_coolers[d as usize] && powered_of(&self.fail, &s.ups_out, cooler.supply) {
                    q_max += cooler.kw_per_k * 1e3 * (t - t_amb).max(0.0);
                    fan_max += cooler.fan_kw;
                }
            }
            let bank = q_max;
            q_max = q_max.min(c_w * (t - t_amb).max(0.0));
            let needed = (c_w * (t - sp)).max(0.0);
            let mut q_dc = needed.min(q_max);
            // Ahead of chillers (an economiser), the fans run at the speed that makes the plant
            // draw least: at full speed near the changeover they can cost more than the chiller
            // work they spare, so the bank pre-cools part of the load, or stops. A speed whose
            // remainder the chillers cannot carry is not a choice (unless none is).
            if node.dry_coolers_first && q_max > 0.0 && !up.is_empty() {
                let hold = needed / q_max;
                let mut best: Option<(f64, f64)> = None;
                for x in [0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, hold] {
                    if !(0.0..=1.0).contains(&x) {
                        continue;
                    }
                    let q = (x * q_max).min(needed);
                    let t_after = t - q / c_w;
                    let (q_ch, _, p_ch) = chillers_at(t_after);
                    if q_ch + 1e-6 < c_w * (t_after - sp) {
                        continue;
                    }
                    let total = fan_max * 1e3 * (q / q_max).powi(3) + p_ch * 1e3;
                    if best.is_none_or(|(_, b)| total < b - 1e-9) {
                        best = Some((q, total));
                    }
                }
                if let Some((q, _)) = best {
                    q_dc = q;
                }
            }
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
                    st.fan_speed = speed as f32;
                }
            }
            t -= q_dc / c_w;
            if node.dry_coolers_first {
                run_chillers(&mut t, s);
            }
            // Supply node: the loop's water mixes what leaves the plant. Stepped explicitly:
            // the CDUs and CRAHs drew the supply as it was, so that is what left it; the loop
            // holds at least a minute of flow (`LOOP_MIN_RESIDENCE_S`), so this is stable.
            let t_old = s.loop_supply[l];
            s.loop_supply[l] = t_old + (c_w * dt / node.c_water).min(1.0) * (t - t_old);
            stored += node.c_water * (s.loop_supply[l] - t_old) / dt;
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
        HeatRejected { rejected_kw: rejected, condenser_kw: condenser, stored_w: stored }
    }
}
