//! Live edits: a new layout taken without a restart, keeping whatever state survives by id.

use super::*;

impl Simulation {
    /// Whether `edit_site` would take `site`: its validation errors, one per line, if not.
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
        self.replace_site(site)
    }

    /// `edit_site` for a site the caller has just validated (`check_edit`, or `edit::apply`,
    /// which runs the same validator): the whole-site check is the costly part of an edit on
    /// a large site, and is not run twice.
    pub fn replace_site(&mut self, site: Site) -> Result<(), String> {
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
                self.s.coolant[i] = old.coolant[j];
                self.s.gpu[i] = old.gpu[j];
                self.s.throttle[i] = old.throttle[j];
                self.s.on[i] = old.on[j];
            }
        }
        // Keep whole-object state (loops, rooms, failures) where the same id survives.
        carry(&old_net.ids.halls, &self.net.ids.halls, &old.room, &mut self.s.room);
        carry(&old_net.ids.loops, &self.net.ids.loops, &old.loop_supply, &mut self.s.loop_supply);
        carry(&old_net.ids.cdus, &self.net.ids.cdus, &old.cdu_supply, &mut self.s.cdu_supply);
        carry(&old_net.ids.cdus, &self.net.ids.cdus, &old_fail.cdu_pumps, &mut self.fail.cdu_pumps);
        carry(&old_net.ids.cdus, &self.net.ids.cdus, &old_fail.cdu, &mut self.fail.cdu);
        carry(&old_net.ids.loops, &self.net.ids.loops, &old_fail.loop_pumps, &mut self.fail.loop_pumps);
        carry(&old_net.ids.chillers, &self.net.ids.chillers, &old_fail.chillers, &mut self.fail.chillers);
        carry(&old_net.ids.chillers, &self.net.ids.chillers, &old.chiller_restart_s, &mut self.s.chiller_restart_s);
        carry(&old_net.ids.dry_coolers, &self.net.ids.dry_coolers, &old_fail.dry_coolers, &mut self.fail.dry_coolers);
        carry(&old_net.ids.crahs, &self.net.ids.crahs, &old_fail.crahs, &mut self.fail.crahs);
        carry(&old_net.ids.feeds, &self.net.ids.feeds, &old_fail.feed, &mut self.fail.feed);
        carry(&old_net.ids.ups, &self.net.ids.ups, &old_fail.ups, &mut self.fail.ups);
        carry(&old_net.ids.pdus, &self.net.ids.pdus, &old_fail.pdu, &mut self.fail.pdu);
        carry(&old_net.ids.ups, &self.net.ids.ups, &old.ups_battery_kj, &mut self.s.ups_battery_kj);
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
