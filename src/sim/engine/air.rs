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
}

impl Simulation {
    /// `hall_air_in`: each hall's heat from its racks, kW; `loop_in`: heat into each facility
    /// loop, W (chilled-water CRAHs add theirs).
    pub(super) fn air_side(&mut self, hall_air_in: &[f64], t_amb: f64, loop_in: &mut [f64]) -> AirSide {
        let dt = self.dt;
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
                let on = !self.fail.crahs[ci as usize]
                    && self.powered(c.supply)
                    && (c.loop_ == NONE || self.s.loop_flow_fraction[c.loop_ as usize] > 0.0);
                if on {
                    let t_sa = if c.loop_ == NONE {
                        c.supply_air_c
                    } else {
                        c.supply_air_c.max(self.s.loop_supply[c.loop_ as usize] + 2.0)
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
            s.hall_supply_air[h] = if g_total > 0.0 { g_avg_sa } else { t_new };
            s.hall_air_heat[h] = hall_air_in[h];
            envelope += ua * (t_new - t_amb) / 1e3;
            for &ci in &hall.crahs {
                s.crahs[ci as usize] = EquipmentState::default();
            }
            for &(ci, t_sa) in &running {
                let c = &self.net.crahs[ci as usize];
                let share =
                    if g_total * (t_new - g_avg_sa) > cap { c.capacity_kw * 1e3 } else { c.g_air * (t_new - t_sa) };
                let q = share.max(0.0);
                let st = &mut s.crahs[ci as usize];
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
        AirSide { dx_heat_kw: dx_heat, dx_power_kw: dx_power, envelope_kw: envelope }
    }
}
