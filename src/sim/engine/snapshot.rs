//! The engine's state copied out: the recorder's copy (`StateCopy`) and the `Snapshot` made from
//! it.

use super::*;

impl Simulation {
    /// Copies the state out of the engine's arrays into `c` (allocations reused): the
    /// recorder's part on the sim thread (`recording::codec::columns_of` finishes it elsewhere),
    /// and what `snapshot` is made from.
    pub fn copy_state_into(&self, c: &mut StateCopy) {
        let s = &self.s;
        c.time_s = self.time_s;
        c.step = self.step;
        c.kpis.clone_from(&s.kpis);
        for (dst, src) in c.rack.iter_mut().zip([&s.gpu, &s.inlet, &s.coolant, &s.power, &s.utilization, &s.throttle]) {
            copy_f32(dst, src);
        }
        c.status.clone_from(&s.status);
        for (dst, src) in
            c.cdu.iter_mut().zip([&s.cdu_supply, &s.cdu_return, &s.cdu_flow_fraction, &s.cdu_heat, &s.cdu_pump])
        {
            dst.clone_from(src);
        }
        c.cdu_running.clone_from(&s.cdu_running);
        for (dst, src) in c.hall.iter_mut().zip([&s.room, &s.hall_supply_air, &s.hall_air_heat]) {
            dst.clone_from(src);
        }
        for (dst, src) in
            c.loops.iter_mut().zip([&s.loop_supply, &s.loop_return, &s.loop_flow_fraction, &s.loop_heat, &s.loop_pump])
        {
            dst.clone_from(src);
        }
        c.crahs.clone_from(&s.crahs);
        c.dry_coolers.clone_from(&s.dry_coolers);
        c.chillers.clone_from(&s.chillers);
        c.feed_load.clone_from(&s.feed_load);
        c.feed_failed.clone_from(&self.fail.feed);
        c.ups_load.clone_from(&s.ups_load);
        c.ups_battery_kj.clone_from(&s.ups_battery_kj);
        c.ups_out.clone_from(&s.ups_out);
        c.ups_on_battery.clone_from(&s.ups_on_battery);
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
}
