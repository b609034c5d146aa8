//! The sim thread's half of recording a sample: the engine's arrays copied out as plainly as
//! possible — rack columns converted to f32 in one vectorised pass each (half the bytes to write
//! into buffers that are cold in this core's cache, which is what the copy costs), everything
//! else a `memcpy` (`Vec::clone_from`, reusing the buffer). The recording writer turns the copy
//! into its columns on its own thread (`recording::codec::columns_of`), so a recorded run pays
//! for little more than the copy. The same copy makes the engine's `Snapshot`s, so what is
//! shown and what is recorded are one thing.

use std::sync::Arc;

use super::network::Ratings;
use super::snapshot::*;

/// One sample of the engine's state. Buffers are reused:
/// `Simulation::copy_state_into` overwrites without reallocating once sizes settle.
#[derive(Debug, Clone, Default)]
pub struct StateCopy {
    pub(super) time_s: f64,
    pub(super) step: u64,
    pub(super) kpis: Kpis,
    /// f32 bits of rack GPU, inlet, coolant, power, utilization, throttle.
    pub(super) rack: [Vec<u32>; 6],
    pub(super) status: Vec<u8>,
    /// CDU supply, return, flow fraction, heat, pump power.
    pub(super) cdu: [Vec<f64>; 5],
    pub(super) cdu_running: Vec<u8>,
    /// Hall room, supply air, air heat.
    pub(super) hall: [Vec<f64>; 3],
    /// Loop supply, return, flow fraction, heat, pump power.
    pub(super) loops: [Vec<f64>; 5],
    pub(super) crahs: Vec<CrahState>,
    pub(super) dry_coolers: Vec<DryCoolerState>,
    pub(super) chillers: Vec<ChillerState>,
    pub(super) feed_load: Vec<f64>,
    pub(super) feed_failed: Vec<bool>,
    pub(super) ups_load: Vec<f64>,
    pub(super) ups_battery_kj: Vec<f64>,
    pub(super) ups_out: Vec<bool>,
    pub(super) ups_on_battery: Vec<bool>,
    pub(super) pdu_load: Vec<f64>,
    pub(super) ratings: Arc<Ratings>,
}

/// `dst` becomes the f32 bits of `src`, reusing its allocation.
///
/// Most of the copy's time is this conversion. The baseline x86-64 target converts two values
/// per instruction; with AVX eight (AVX-512) or four, picked once at run time. Same bits on
/// every path: each is one IEEE round-to-nearest conversion.
pub(super) fn copy_f32(dst: &mut Vec<u32>, src: &[f64]) {
    dst.resize(src.len(), 0);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe { to_f32_bits_avx512(dst, src) };
        }
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX, checked just above.
            return unsafe { to_f32_bits_avx(dst, src) };
        }
    }
    to_f32_bits(dst, src);
}

#[inline(always)]
fn to_f32_bits(dst: &mut [u32], src: &[f64]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = (x as f32).to_bits();
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn to_f32_bits_avx512(dst: &mut [u32], src: &[f64]) {
    to_f32_bits(dst, src);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn to_f32_bits_avx(dst: &mut [u32], src: &[f64]) {
    to_f32_bits(dst, src);
}

impl StateCopy {
    pub fn time_s(&self) -> f64 {
        self.time_s
    }
    pub fn step(&self) -> u64 {
        self.step
    }
    pub fn kpis(&self) -> &Kpis {
        &self.kpis
    }
    pub fn rack_status(&self) -> &[u8] {
        &self.status
    }

    /// Appends the f32 bits of rack column `k` (`RackStates::VALUES` order) as the snapshot shows it.
    pub fn rack_column_into(&self, k: usize, out: &mut Vec<u32>) {
        let r = &self.rack;
        match k {
            // A dark rack delivers nothing, whatever its throttle says (0 is the bits of 0.0).
            5 => {
                let dark = RackStatus::SHUTDOWN | RackStatus::NO_POWER;
                out.extend(self.status.iter().zip(&r[5]).map(|(&b, &th)| if b & dark != 0 { 0 } else { th }))
            }
            _ => out.extend_from_slice(&r[k]),
        }
    }

    pub fn cdus(&self) -> impl Iterator<Item = CduState> + '_ {
        let [supply, ret, flow, heat, pump] = &self.cdu;
        (0..self.cdu_running.len()).map(move |i| CduState {
            supply_c: supply[i] as f32,
            return_c: ret[i] as f32,
            flow_fraction: flow[i] as f32,
            heat_kw: heat[i] as f32,
            pump_kw: pump[i] as f32,
            headroom: (1.0 - heat[i] / self.ratings.cdu_kw[i]) as f32,
            pumps_running: self.cdu_running[i],
        })
    }
    pub fn halls(&self) -> impl Iterator<Item = HallState> + '_ {
        let [room, supply_air, air_heat] = &self.hall;
        (0..room.len()).map(move |h| HallState {
            room_c: room[h] as f32,
            supply_air_c: supply_air[h] as f32,
            air_heat_kw: air_heat[h] as f32,
        })
    }
    pub fn loops(&self) -> impl Iterator<Item = LoopState> + '_ {
        let [supply, ret, flow, heat, pump] = &self.loops;
        (0..supply.len()).map(move |l| LoopState {
            supply_c: supply[l] as f32,
            return_c: ret[l] as f32,
            flow_fraction: flow[l] as f32,
            heat_kw: heat[l] as f32,
            pump_kw: pump[l] as f32,
        })
    }
    pub fn crahs(&self) -> impl Iterator<Item = CrahState> + '_ {
        self.crahs.iter().cloned()
    }
    pub fn dry_coolers(&self) -> impl Iterator<Item = DryCoolerState> + '_ {
        self.dry_coolers.iter().cloned()
    }
    pub fn chillers(&self) -> impl Iterator<Item = ChillerState> + '_ {
        self.chillers.iter().cloned()
    }
    pub fn feeds(&self) -> impl Iterator<Item = PowerState> + '_ {
        self.feed_load.iter().enumerate().map(|(i, &load)| PowerState {
            load_kw: load as f32,
            headroom: (1.0 - load / self.ratings.feed_kw[i]) as f32,
            battery: 0.0,
            up: !self.feed_failed[i],
            on_battery: false,
        })
    }
    pub fn ups(&self) -> impl Iterator<Item = PowerState> + '_ {
        self.ups_load.iter().enumerate().map(|(i, &load)| PowerState {
            load_kw: load as f32,
            headroom: (1.0 - load / self.ratings.ups_kw[i]) as f32,
            battery: (self.ups_battery_kj[i] / self.ratings.ups_battery_kj[i].max(1e-9)) as f32,
            up: self.ups_out[i],
            on_battery: self.ups_on_battery[i],
        })
    }
    pub fn pdus(&self) -> impl Iterator<Item = PowerState> + '_ {
        self.pdu_load.iter().enumerate().map(|(i, &load)| PowerState {
            load_kw: load as f32,
            headroom: (1.0 - load / self.ratings.pdu_kw[i]) as f32,
            battery: 0.0,
            up: self.ups_out[self.ratings.pdu_ups[i] as usize],
            on_battery: false,
        })
    }

    /// The sample as a `Snapshot`, with these alarms active.
    pub fn to_snapshot(&self, active_alarms: Arc<Vec<Alarm>>) -> Snapshot {
        let mut racks = RackStates { status: self.status.clone(), ..Default::default() };
        let mut bits = Vec::with_capacity(self.status.len());
        for (k, col) in racks.values_mut().into_iter().enumerate() {
            bits.clear();
            self.rack_column_into(k, &mut bits);
            *col = bits.iter().map(|&b| f32::from_bits(b)).collect();
        }
        macro_rules! collect_each_kind {
            ($($field:ident: $state:ty, $one:literal, $many:literal, $csv:literal;)*) => {
                Snapshot {
                    time_s: self.time_s,
                    step: self.step,
                    kpis: self.kpis.clone(),
                    racks,
                    $($field: self.$field().collect(),)*
                    active_alarms,
                }
            };
        }
        object_kinds!(collect_each_kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_conversion_gives_the_bits_of_a_plain_cast() {
        // Edge values, and lengths that leave a tail after whole vectors of 8 and of 4.
        let edges = [
            0.0,
            -0.0,
            1.0 / 3.0,
            -273.15,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e-310,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f32::MAX as f64 * 1.5,
            16_777_217.0,
        ];
        for n in [0, 1, 3, 7, 8, 9, 31, 1000, 1003] {
            let src: Vec<f64> = (0..n).map(|i| edges[i % edges.len()] * (1.0 + i as f64 * 1e-7)).collect();
            let expect: Vec<u32> = src.iter().map(|&x| (x as f32).to_bits()).collect();
            // A reused buffer, longer than needed, as the recorder's are.
            let mut dst = vec![7u32; n + 5];
            copy_f32(&mut dst, &src);
            assert_eq!(dst, expect, "{n} values");
            // Every path this CPU can run, not only the one `copy_f32` picks.
            #[cfg(target_arch = "x86_64")]
            {
                let mut each = vec![7u32; n];
                if std::arch::is_x86_feature_detected!("avx") {
                    // SAFETY: the CPU has AVX, checked just above.
                    unsafe { to_f32_bits_avx(&mut each, &src) };
                    assert_eq!(each, expect, "AVX, {n} values");
                }
                each.fill(7);
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F, checked just above.
                    unsafe { to_f32_bits_avx512(&mut each, &src) };
                    assert_eq!(each, expect, "AVX-512, {n} values");
                }
            }
        }
    }
}
