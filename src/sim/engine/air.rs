//! The air side: each hall's room air node and its CRAHs (backward Euler: stable for any
//! step). Chilled-water CRAHs hand their heat to a facility loop; DX CRAHs reject it themselves.

use super::*;

/// What the halls reject without a facility loop, kW.
pub(super) struct AirSide {
    /// Heat DX CRAHs take from the rooms, and their compressors' power.
    pub dx_heat_kw: f64,
    pub dx_power_kw: f64,
    /// Through the halls' walls to outdoors.
    pub envelope_kw: f64,
    /// What the room air stored, W.
    pub stored_w: f64,
}

impl Simulation {
    /// `hall_air_in`: each hall's heat into its air (racks, PDU losses), kW; `loop_in`: heat
    /// into each facility loop, W (chilled-water CRAHs add theirs).
    pub(super) fn air_side(&mut self, hall_air_in: &[f64], t_amb: f64, loop_in: &mut [f64]) -> AirSide {
        let dt = self.dt;
        let mut dx_heat = 0.0;
        let mut dx_power = 0.0;
        let mut envelope = 0.0;
        let mut stored = 0.0;
        for (h, hall) in self.net.halls.iter().enumerate() {
            let mut fan = 0.0;
            // CRAHs that can run, with their supply air temperature.
            let mut running = Vec::new();
            for &ci in &hall.crahs {
                let c = &self.net.crahs[ci as usize];
                let on = !self.fail.crahs[ci as usize]
                    && self.powered(c.supply)
                    && (c.loop_ == NONE || self.s.loop_flow_fraction[c.loop_ as usize] > 0.0);
                if on {
                    let t_sa = if c.loop_ == NONE {
                        c.supply_air_c
                    } else {
                        c.supply_air_c.max(self.s.loop_supply[c.loop_ as usize] + 2.0)
                    };
                    fan += c.fan_kw;
                    running.push((ci, t_sa, true));
                }
            }
            let s = &mut self.s;
            let q_in = (hall_air_in[h] + fan) * 1e3;
            let c_room = hall.c_room;
            let ua = hall.ua_env;
            let t_old = s.room[h];
            // C (T' − T)/dt = Q_in − Σ G (T' − T_sa) − UA (T' − T_amb), over the CRAHs that
            // cool. A coil cannot heat: a CRAH whose supply air is warmer than the room it
            // would reach only moves air, and the room is solved again without it.
            let (t_new, capped, g_total, g_t) = loop {
                let (mut g_total, mut g_t, mut cap) = (0.0, 0.0, 0.0);
                for &(ci, t_sa, cooling) in &running {
                    if cooling {
                        let c = &self.net.crahs[ci as usize];
                        g_total += c.g_air;
                        g_t += c.g_air * t_sa;
                        cap += c.capacity_kw * 1e3;
                    }
                }
                let mut t_new = (c_room * t_old / dt + q_in + g_t + ua * t_amb) / (c_room / dt + g_total + ua);
                let capped = g_total > 0.0 && g_total * t_new - g_t > cap;
                if capped {
                    t_new = (c_room * t_old / dt + q_in - cap + ua * t_amb) / (c_room / dt + ua);
                }
                let mut dropped = false;
                for r in running.iter_mut() {
                    if r.2 && r.1 > t_new {
                        r.2 = false;
                        dropped = true;
                    }
                }
                if !dropped {
                    break (t_new, capped, g_total, g_t);
                }
            };
            s.room[h] = t_new;
            stored += c_room * (t_new - t_old) / dt;
            s.hall_supply_air[h] = if g_total > 0.0 { g_t / g_total } else { t_new };
            s.hall_air_heat[h] = hall_air_in[h];
            envelope += ua * (t_new - t_amb) / 1e3;
            for &ci in &hall.crahs {
                s.crahs[ci as usize] = CrahState::default();
            }
            for &(ci, t_sa, cooling) in &running {
                let c = &self.net.crahs[ci as usize];
                let q = match (cooling, capped) {
                    (false, _) => 0.0,
                    (true, true) => c.capacity_kw * 1e3,
                    (true, false) => c.g_air * (t_new - t_sa),
                };
                let st = &mut s.crahs[ci as usize];
                st.running = true;
                st.heat_kw = (q / 1e3) as f32;
                st.fan_kw = c.fan_kw as f32;
                st.power_kw = c.fan_kw as f32;
                if c.loop_ == NONE {
                    dx_heat += q / 1e3;
                    let p = q / 1e3 / DX_COP;
                    dx_power += p;
                    st.compressor_kw = p as f32;
                    st.power_kw += p as f32;
                } else {
                    loop_in[c.loop_ as usize] += q;
                }
            }
        }
        AirSide { dx_heat_kw: dx_heat, dx_power_kw: dx_power, envelope_kw: envelope, stored_w: stored }
    }
}
