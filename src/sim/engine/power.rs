//! The power chain. At the start of a step: whether each UPS carries its load (feed, battery or
//! fault). At its end: PDUs → UPS → feeds, with their losses, and the battery drain.

use super::*;

/// What the power chain carried this step, kW.
pub(super) struct Electrical {
    /// IT power delivered by the PDUs.
    pub it_kw: f64,
    /// PDU and UPS conversion losses.
    pub losses_kw: f64,
    /// Pumps, fans, compressors: everything mechanical the chain feeds (the electrical
    /// rooms' cooling included).
    pub mechanical_kw: f64,
    /// UPS losses, released in the electrical rooms and rejected outdoors by their DX units.
    pub ups_losses_kw: f64,
    /// Those DX units' power.
    pub electrical_room_kw: f64,
    /// Into the UPS batteries (recharge), and out of them.
    pub recharge_kw: f64,
    pub discharge_kw: f64,
    /// Drawn from the utility feeds.
    pub utility_kw: f64,
}

impl Simulation {
    /// UPS output follows its feed, its battery, or a fault.
    pub(super) fn ups_availability(&mut self) {
        let dt = self.dt;
        for (u, node) in self.net.ups.iter().enumerate() {
            let feed_up = !self.fail.feed[node.feed as usize];
            let s = &mut self.s;
            s.ups_on_battery[u] = !feed_up && !self.fail.ups[u];
            s.ups_recharge[u] = 0.0;
            if feed_up && !self.fail.ups[u] {
                // Recharge at 10 % of rating (*estimate*), billed to the feed (`power_chain`).
                let to = (s.ups_battery_kj[u] + 0.1 * node.capacity_kw * dt).min(node.battery_kj);
                s.ups_recharge[u] = (to - s.ups_battery_kj[u]).max(0.0) / dt;
                s.ups_battery_kj[u] = to;
            }
            s.ups_out[u] = !self.fail.ups[u] && (feed_up || s.ups_battery_kj[u] > 0.0);
        }
    }

    pub(super) fn powered(&self, s: Supply) -> bool {
        match s {
            Supply::Feed(f) => !self.fail.feed[f as usize],
            Supply::Ups(u) => self.s.ups_out[u as usize],
        }
    }

    /// PDUs → UPS → feeds, with losses; a UPS on battery drains it instead of loading its feed.
    pub(super) fn power_chain(&mut self, pdu_it_kw: &[f64]) -> Electrical {
        let dt = self.dt;
        let pdu_it = pdu_it_kw;
        let s = &mut self.s;
        s.ups_load.iter_mut().for_each(|x| *x = 0.0);
        s.feed_load.iter_mut().for_each(|x| *x = 0.0);
        let mut losses = 0.0;
        let mut it = 0.0;
        for (p, node) in self.net.pdus.iter().enumerate() {
            let load = pdu_it[p];
            it += load;
            let input = load / node.efficiency;
            losses += input - load;
            s.pdu_load[p] = input;
            s.ups_load[node.ups as usize] += input;
        }
        let mut mech = 0.0;
        let mut add = |sup: Supply, kw: f64| {
            mech += kw;
            match sup {
                Supply::Ups(u) => s.ups_load[u as usize] += kw,
                Supply::Feed(f) => s.feed_load[f as usize] += kw,
            }
        };
        let n = &self.net;
        n.cdus.iter().zip(&s.cdu_pump).for_each(|(node, kw)| add(node.supply, *kw));
        n.loops.iter().zip(&s.loop_pump).for_each(|(node, kw)| add(node.supply, *kw));
        n.crahs.iter().zip(&s.crahs).for_each(|(node, e)| add(node.supply, e.power_kw as f64));
        n.dry_coolers.iter().zip(&s.dry_coolers).for_each(|(node, e)| add(node.supply, e.power_kw as f64));
        n.chillers.iter().zip(&s.chillers).for_each(|(node, e)| add(node.supply, e.power_kw as f64));
        let (mut ups_losses, mut room_kw, mut recharge, mut discharge) = (0.0, 0.0, 0.0, 0.0);
        for (u, node) in self.net.ups.iter().enumerate() {
            s.ups_load[u] += s.ups_recharge[u];
            recharge += s.ups_recharge[u];
            let load = s.ups_load[u];
            let input = load / node.efficiency;
            let loss = input - load;
            losses += loss;
            ups_losses += loss;
            if s.ups_on_battery[u] && s.ups_out[u] {
                let drawn = (input * dt).min(s.ups_battery_kj[u]);
                s.ups_battery_kj[u] -= drawn;
                discharge += drawn / dt;
            } else if s.ups_out[u] {
                s.feed_load[node.feed as usize] += input;
            }
            // The electrical room's cooling runs on the UPS's own feed, outside the UPS.
            if !self.fail.feed[node.feed as usize] {
                let kw = loss / ELECTRICAL_ROOM_COP;
                s.feed_load[node.feed as usize] += kw;
                room_kw += kw;
            }
        }
        let utility = s.feed_load.iter().sum();
        Electrical {
            it_kw: it,
            losses_kw: losses,
            mechanical_kw: mech + room_kw,
            ups_losses_kw: ups_losses,
            electrical_room_kw: room_kw,
            recharge_kw: recharge,
            discharge_kw: discharge,
            utility_kw: utility,
        }
    }
}

pub(super) fn powered_of(fail: &Failures, ups_out: &[bool], s: Supply) -> bool {
    match s {
        Supply::Feed(f) => !fail.feed[f as usize],
        Supply::Ups(u) => ups_out[u as usize],
    }
}
