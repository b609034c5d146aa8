//! Alarms: each object's alarm bits compared with the last step's, raised and cleared entries
//! in the log, the active list, and the words they are shown with.

use super::*;

impl Simulation {
    pub(super) fn update_alarms(&mut self) {
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
            if s.cdu_flow_fraction[c] < 1.0 {
                f |= bit(AlarmKind::CduNoFlow);
            }
            // Nothing takes the heat out (facility water lost): the coolant warms on its racks'
            // and pumps' heat.
            if s.cdu_supply[c] > node.setpoint_c + 5.0 {
                f |= bit(AlarmKind::LoopSupplyHigh);
            }
            pending.push((Class::Cdu, c as u32, f));
        }
        for (l, node) in n.loops.iter().enumerate() {
            let mut f = if s.loop_supply[l] > node.setpoint_c + 3.0 { bit(AlarmKind::LoopSupplyHigh) } else { 0 };
            if s.loop_flow_fraction[l] <= 0.0 {
                f |= bit(AlarmKind::EquipmentDown);
            }
            pending.push((Class::Loop, l as u32, f));
        }
        for h in 0..n.halls.len() {
            let f = if s.room[h] > 35.0 { bit(AlarmKind::RoomHot) } else { 0 };
            pending.push((Class::Hall, h as u32, f));
        }
        for (p, node) in n.pdus.iter().enumerate() {
            let mut f = if s.pdu_load[p] > node.capacity_kw * 1.001 { bit(AlarmKind::OverCapacity) } else { 0 };
            if fail.pdu[p] {
                f |= bit(AlarmKind::EquipmentDown);
            }
            pending.push((Class::Pdu, p as u32, f));
        }
        for (u, node) in n.ups.iter().enumerate() {
            let mut f = 0u16;
            if s.ups_load[u] > node.capacity_kw * 1.001 {
                f |= bit(AlarmKind::OverCapacity);
            }
            if s.ups_on_battery[u] && s.ups_out[u] {
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
            let f = if s.chiller_restart_s[c] > 0.0 { bit(AlarmKind::EquipmentDown) } else { 0 };
            pending.push((Class::Chiller, c as u32, f));
        }
        for d in 0..n.dry_coolers.len() {
            let f = if fail.dry_coolers[d] { bit(AlarmKind::EquipmentDown) } else { 0 };
            pending.push((Class::DryCooler, d as u32, f));
        }
        for c in 0..n.crahs.len() {
            let f = if !s.crahs[c].running { bit(AlarmKind::EquipmentDown) } else { 0 };
            pending.push((Class::Crah, c as u32, f));
        }
        for (class, i, f) in pending {
            // Most objects keep their flags from one step to the next: only changes need work.
            if self.flags[class as usize].get(i as usize).copied().unwrap_or(0) != f {
                self.set_flags(class, i, f, t);
            }
        }
        self.restate_cdu_flow(t);
    }

    /// A CDU whose TCS flow alarm is up and whose running pumps changed since (a second pump
    /// lost, or one back): the alarm is raised again with what holds now ("0 of 2 duty pumps",
    /// critical), so the active list never shows a count that is no longer true.
    fn restate_cdu_flow(&mut self, t: f64) {
        let b = bit(AlarmKind::CduNoFlow);
        let mut restate = Vec::new();
        for (&(class, i, kb), a) in self.active.range((Class::Cdu, 0, 0)..=(Class::Cdu, u32::MAX, u16::MAX)) {
            if class == Class::Cdu && kb == b {
                let (severity, message) = self.describe(AlarmKind::CduNoFlow, Class::Cdu, i as usize);
                if message != a.message {
                    restate.push((i, Alarm { time_s: t, severity, message, raised: true, ..a.clone() }));
                }
            }
        }
        for (i, alarm) in restate {
            self.active.insert((Class::Cdu, i, b), alarm.clone());
            self.log.push(alarm);
            self.active_dirty = true;
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
    fn describe_cleared(&self, kind: AlarmKind, class: Class, i: usize) -> String {
        let s = &self.s;
        match kind {
            // A rack that shut down or lost power is no longer throttled, but not recovered either.
            AlarmKind::GpuSlowdown if s.status[i] & (RackStatus::SHUTDOWN | RackStatus::NO_POWER) != 0 => {
                format!("ended by the rack stopping, GPU {:.1} °C", s.gpu[i])
            }
            AlarmKind::GpuSlowdown => format!("full clocks again, GPU {:.1} °C", s.gpu[i]),
            AlarmKind::GpuShutdown => format!("GPU back on at {:.1} °C", s.gpu[i]),
            AlarmKind::RackNoPower => "power back".into(),
            AlarmKind::InletRecommended | AlarmKind::InletAllowable => format!("inlet air {:.1} °C", s.inlet[i]),
            AlarmKind::CduOverCapacity => {
                format!("CDU back within its {:.0} kW rating ({:.0} kW)", self.net.cdus[i].capacity_kw, s.cdu_heat[i])
            }
            AlarmKind::CduNoFlow => format!("TCS flow back at {:.0} %", s.cdu_flow_fraction[i] * 100.0),
            AlarmKind::LoopSupplyHigh if class == Class::Cdu => format!("TCS supply {:.1} °C", s.cdu_supply[i]),
            AlarmKind::LoopSupplyHigh => format!("facility supply {:.1} °C", s.loop_supply[i]),
            AlarmKind::EquipmentDown if class == Class::Loop => "flow back".into(),
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
            AlarmKind::GpuSlowdown if s.gpu[i] < GPU_SLOWDOWN_C => (
                Warning,
                format!(
                    "recovering: clocks back to {:.0} % of the asked work, GPU {:.1} °C",
                    s.throttle[i] * 100.0,
                    s.gpu[i]
                ),
            ),
            // Throttled all the way down: the coolant (or inlet air) itself is too warm for work.
            AlarmKind::GpuSlowdown if s.throttle[i] <= 0.0 => {
                let (what, t) =
                    if self.net.racks[i].cdu != NONE { ("coolant", s.coolant[i]) } else { ("inlet air", s.inlet[i]) };
                (
                    Warning,
                    format!(
                        "GPU {:.1} °C reached the {GPU_SLOWDOWN_C} °C slowdown: held at idle, its {what} at {t:.1} °C leaves no headroom",
                        s.gpu[i]
                    ),
                )
            }
            AlarmKind::GpuSlowdown => (
                Warning,
                format!(
                    "GPU {:.1} °C reached the {GPU_SLOWDOWN_C} °C slowdown: throttled to {:.0} % of the asked work",
                    s.gpu[i],
                    s.throttle[i] * 100.0
                ),
            ),
            AlarmKind::GpuShutdown => {
                (Critical, format!("GPU {:.1} °C: thermal shutdown at {GPU_SHUTDOWN_C} °C", s.gpu[i]))
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
                if s.cdu_flow_fraction[i] == 0.0 { Critical } else { Warning },
                format!(
                    "TCS flow at {:.0} % ({} of {} duty pumps running)",
                    s.cdu_flow_fraction[i] * 100.0,
                    s.cdu_running[i],
                    self.net.cdus[i].duty
                ),
            ),
            AlarmKind::LoopSupplyHigh if class == Class::Cdu => (
                Critical,
                format!(
                    "TCS supply {:.1} °C, setpoint {:.1} °C: its exchanger is not taking the heat out",
                    s.cdu_supply[i], self.net.cdus[i].setpoint_c
                ),
            ),
            AlarmKind::EquipmentDown if class == Class::Loop => {
                (Critical, "no flow: none of its pumps runs (failed, or without power)".into())
            }
            AlarmKind::LoopSupplyHigh => (
                Warning,
                format!("facility supply {:.1} °C, setpoint {:.1} °C", s.loop_supply[i], self.net.loops[i].setpoint_c),
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
                format!("on battery, {:.0} % left", 100.0 * s.ups_battery_kj[i] / self.net.ups[i].battery_kj.max(1e-9)),
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
