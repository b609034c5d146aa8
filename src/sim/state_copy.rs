//! The sim thread's half of recording a sample: the engine's arrays copied out as plainly as
//! possible — rack columns converted to f32 in one vectorised pass each (half the bytes to write
//! into buffers that are cold in this core's cache, which is what the copy costs), everything
//! else a `memcpy` (`Vec::clone_from`, reusing the buffer). The recording writer turns the copy
//! into `Columns` on its own thread (`StateCopy::columns_into`), so a recorded run pays for
//! little more than the copy.

use std::sync::Arc;

use crate::recording::codec::{self, Columns};

use super::network::Ratings;
use super::snapshot::{EquipmentState, Kpis, RackStatus};

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
    /// CRAHs, dry coolers, chillers.
    pub(super) equipment: [Vec<EquipmentState>; 3],
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
    /// Writes the sample as `Columns` (cleared first), in the order of
    /// `codec::flatten(&simulation.snapshot())`; a test holds the two equal.
    pub fn columns_into(&self, c: &mut Columns) {
        c.f32s.clear();
        c.f64s.clear();
        c.u8s.clear();
        let bits = |x: f64| (x as f32).to_bits();
        let f = &mut c.f32s;
        let r = &self.rack;
        let n = self.status.len();
        f.reserve(6 * n + 6 * self.cdu_running.len() + 64);
        f.extend_from_slice(&r[0]);
        f.extend_from_slice(&r[1]);
        // Air-cooled racks report their inlet air as "coolant".
        f.extend(
            self.status
                .iter()
                .zip(r[2].iter().zip(&r[1]))
                .map(|(&b, (&tc, &ti))| if b & RackStatus::AIR_COOLED != 0 { ti } else { tc }),
        );
        f.extend_from_slice(&r[3]);
        f.extend_from_slice(&r[4]);
        // A dark rack delivers nothing, whatever its throttle says (0 is the bits of 0.0).
        let dark = RackStatus::SHUTDOWN | RackStatus::NO_POWER;
        f.extend(self.status.iter().zip(&r[5]).map(|(&b, &th)| if b & dark != 0 { 0 } else { th }));
        c.u8s.extend_from_slice(&self.status);
        let k = &self.ratings;
        let [sup, ret, frac, heat, pump] = &self.cdu;
        for i in 0..self.cdu_running.len() {
            let headroom = 1.0 - heat[i] / k.cdu_kw[i];
            f.extend([sup[i], ret[i], frac[i], heat[i], pump[i], headroom].map(bits));
            c.u8s.push(self.cdu_running[i]);
        }
        let [room, sup_air, air_heat] = &self.hall;
        for h in 0..room.len() {
            f.extend([room[h], sup_air[h], air_heat[h]].map(bits));
        }
        let [sup, ret, frac, heat, pump] = &self.loops;
        for l in 0..sup.len() {
            f.extend([sup[l], ret[l], frac[l], heat[l], pump[l]].map(bits));
        }
        for list in &self.equipment {
            for x in list {
                f.extend([x.heat_kw.to_bits(), x.power_kw.to_bits()]);
                c.u8s.push(u8::from(x.running));
            }
        }
        for (i, &load) in self.feed_load.iter().enumerate() {
            f.extend([load, 1.0 - load / k.feed_kw[i], 0.0].map(bits));
            c.u8s.extend([u8::from(!self.feed_failed[i]), 0]);
        }
        for (i, &load) in self.ups_load.iter().enumerate() {
            let battery = self.ups_battery_kj[i] / k.ups_battery_kj[i].max(1e-9);
            f.extend([load, 1.0 - load / k.ups_kw[i], battery].map(bits));
            c.u8s.extend([u8::from(self.ups_out[i]), u8::from(self.ups_on_battery[i])]);
        }
        for (i, &load) in self.pdu_load.iter().enumerate() {
            f.extend([load, 1.0 - load / k.pdu_kw[i], 0.0].map(bits));
            c.u8s.extend([u8::from(self.ups_out[k.pdu_ups[i] as usize]), 0]);
        }
        c.f64s.push(self.time_s.to_bits());
        c.f64s.push(self.step);
        c.f64s.extend(codec::kpis_to(&self.kpis).map(f64::to_bits));
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
