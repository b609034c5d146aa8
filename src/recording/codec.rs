//! State messages: a `Snapshot` flattened into columns of f32, f64 and u8, stored as a keyframe
//! or as the difference of each value's bits from the previous sample's (wrapping, zigzag), so a
//! steady value is zero and a slowly moving one is a small integer; the chunk compressor squeezes
//! both. Decoding is exact, so a replay equals the live run.

use std::sync::Arc;

use crate::sim::snapshot::*;

/// Counts of each kind of object: the shape of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    pub racks: u32,
    pub cdus: u32,
    pub halls: u32,
    pub loops: u32,
    pub crahs: u32,
    pub dry_coolers: u32,
    pub chillers: u32,
    pub feeds: u32,
    pub ups: u32,
    pub pdus: u32,
}

impl Shape {
    pub fn of(s: &Snapshot) -> Shape {
        Shape {
            racks: s.racks.gpu_c.len() as u32,
            cdus: s.cdus.len() as u32,
            halls: s.halls.len() as u32,
            loops: s.loops.len() as u32,
            crahs: s.crahs.len() as u32,
            dry_coolers: s.dry_coolers.len() as u32,
            chillers: s.chillers.len() as u32,
            feeds: s.feeds.len() as u32,
            ups: s.ups.len() as u32,
            pdus: s.pdus.len() as u32,
        }
    }
    fn counts(&self) -> [u32; 10] {
        [
            self.racks,
            self.cdus,
            self.halls,
            self.loops,
            self.crahs,
            self.dry_coolers,
            self.chillers,
            self.feeds,
            self.ups,
            self.pdus,
        ]
    }
    fn from_counts(c: [u32; 10]) -> Shape {
        Shape {
            racks: c[0],
            cdus: c[1],
            halls: c[2],
            loops: c[3],
            crahs: c[4],
            dry_coolers: c[5],
            chillers: c[6],
            feeds: c[7],
            ups: c[8],
            pdus: c[9],
        }
    }
}

/// The snapshot as flat columns, in a fixed order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    pub f32s: Vec<u32>,
    pub f64s: Vec<u64>,
    pub u8s: Vec<u8>,
}

const KPI_COUNT: usize = 20;

pub(crate) fn kpis_to(k: &Kpis) -> [f64; KPI_COUNT] {
    [
        k.it_power_kw,
        k.facility_power_kw,
        k.pue,
        k.wue_l_per_kwh,
        k.heat_rejected_kw,
        k.cooling_power_kw,
        k.electrical_loss_kw,
        k.energy_balance_error,
        k.max_gpu_temp_c,
        k.mean_gpu_temp_c,
        k.max_inlet_air_c,
        k.max_coolant_c,
        k.output_fraction,
        k.tokens_per_s,
        k.possible_tokens_per_s,
        k.racks_throttled as f64,
        k.racks_shutdown as f64,
        k.ambient_c,
        0.0,
        0.0,
    ]
}

fn kpis_from(v: &[f64]) -> Kpis {
    Kpis {
        it_power_kw: v[0],
        facility_power_kw: v[1],
        pue: v[2],
        wue_l_per_kwh: v[3],
        heat_rejected_kw: v[4],
        cooling_power_kw: v[5],
        electrical_loss_kw: v[6],
        energy_balance_error: v[7],
        max_gpu_temp_c: v[8],
        mean_gpu_temp_c: v[9],
        max_inlet_air_c: v[10],
        max_coolant_c: v[11],
        output_fraction: v[12],
        tokens_per_s: v[13],
        possible_tokens_per_s: v[14],
        racks_throttled: v[15] as u32,
        racks_shutdown: v[16] as u32,
        ambient_c: v[17],
    }
}

pub fn flatten(s: &Snapshot) -> Columns {
    let mut c = Columns::default();
    let f = &mut c.f32s;
    let r = &s.racks;
    for col in [&r.gpu_c, &r.inlet_c, &r.coolant_c, &r.power_kw, &r.utilization, &r.output] {
        f.extend(col.iter().map(|v| v.to_bits()));
    }
    c.u8s.extend_from_slice(&r.status);
    for x in &s.cdus {
        f.extend([x.supply_c, x.return_c, x.flow_fraction, x.heat_kw, x.pump_kw, x.headroom].map(f32::to_bits));
        c.u8s.push(x.pumps_running);
    }
    for x in &s.halls {
        f.extend([x.room_c, x.supply_air_c, x.air_heat_kw].map(f32::to_bits));
    }
    for x in &s.loops {
        f.extend([x.supply_c, x.return_c, x.flow_fraction, x.heat_kw, x.pump_kw].map(f32::to_bits));
    }
    for list in [&s.crahs, &s.dry_coolers, &s.chillers] {
        for x in list.iter() {
            f.extend([x.heat_kw, x.power_kw].map(f32::to_bits));
            c.u8s.push(u8::from(x.running));
        }
    }
    for list in [&s.feeds, &s.ups, &s.pdus] {
        for x in list.iter() {
            f.extend([x.load_kw, x.headroom, x.battery].map(f32::to_bits));
            c.u8s.extend([u8::from(x.up), u8::from(x.on_battery)]);
        }
    }
    c.f64s.push(s.time_s.to_bits());
    c.f64s.push(s.step);
    c.f64s.extend(kpis_to(&s.kpis).map(f64::to_bits));
    c
}

/// Reads columns back into a snapshot of the given shape.
pub fn unflatten(shape: Shape, c: &Columns, alarms: Arc<Vec<Alarm>>) -> Result<Snapshot, String> {
    let mut fi = c.f32s.iter().map(|&b| f32::from_bits(b));
    let mut ui = c.u8s.iter().copied();
    let n = shape.racks as usize;
    let mut take = |k: usize| -> Result<Vec<f32>, String> {
        let v: Vec<f32> = fi.by_ref().take(k).collect();
        if v.len() == k { Ok(v) } else { Err("state message is shorter than its shape".into()) }
    };
    let short = || "state message is shorter than its shape".to_string();
    let mut s = Snapshot {
        racks: RackStates {
            gpu_c: take(n)?,
            inlet_c: take(n)?,
            coolant_c: take(n)?,
            power_kw: take(n)?,
            utilization: take(n)?,
            output: take(n)?,
            status: Vec::new(),
        },
        ..Default::default()
    };
    s.racks.status = ui.by_ref().take(n).collect();
    if s.racks.status.len() != n {
        return Err(short());
    }
    for _ in 0..shape.cdus {
        let v = take(6)?;
        s.cdus.push(CduState {
            supply_c: v[0],
            return_c: v[1],
            flow_fraction: v[2],
            heat_kw: v[3],
            pump_kw: v[4],
            headroom: v[5],
            pumps_running: ui.next().ok_or_else(short)?,
        });
    }
    for _ in 0..shape.halls {
        let v = take(3)?;
        s.halls.push(HallState { room_c: v[0], supply_air_c: v[1], air_heat_kw: v[2] });
    }
    for _ in 0..shape.loops {
        let v = take(5)?;
        s.loops.push(LoopState { supply_c: v[0], return_c: v[1], flow_fraction: v[2], heat_kw: v[3], pump_kw: v[4] });
    }
    for (count, which) in [(shape.crahs, 0), (shape.dry_coolers, 1), (shape.chillers, 2)] {
        for _ in 0..count {
            let v = take(2)?;
            let e = EquipmentState { heat_kw: v[0], power_kw: v[1], running: ui.next().ok_or_else(short)? != 0 };
            [&mut s.crahs, &mut s.dry_coolers, &mut s.chillers][which].push(e);
        }
    }
    for (count, which) in [(shape.feeds, 0), (shape.ups, 1), (shape.pdus, 2)] {
        for _ in 0..count {
            let v = take(3)?;
            let up = ui.next().ok_or_else(short)? != 0;
            let on_battery = ui.next().ok_or_else(short)? != 0;
            let p = PowerState { load_kw: v[0], headroom: v[1], battery: v[2], up, on_battery };
            [&mut s.feeds, &mut s.ups, &mut s.pdus][which].push(p);
        }
    }
    if c.f64s.len() != 2 + KPI_COUNT {
        return Err(short());
    }
    s.time_s = f64::from_bits(c.f64s[0]);
    s.step = c.f64s[1];
    let k: Vec<f64> = c.f64s[2..].iter().map(|&b| f64::from_bits(b)).collect();
    s.kpis = kpis_from(&k);
    s.active_alarms = alarms;
    Ok(s)
}

/// Small negative differences become small numbers: 0, −1, 1, −2 … → 0, 1, 2, 3 …
fn zigzag32(d: u32) -> u32 {
    let d = d as i32;
    ((d << 1) ^ (d >> 31)) as u32
}
fn unzigzag32(z: u32) -> u32 {
    ((z >> 1) as i32 ^ -((z & 1) as i32)) as u32
}
fn zigzag64(d: u64) -> u64 {
    let d = d as i64;
    ((d << 1) ^ (d >> 63)) as u64
}
fn unzigzag64(z: u64) -> u64 {
    ((z >> 1) as i64 ^ -((z & 1) as i64)) as u64
}

const KEYFRAME: u8 = 0;
const DELTA: u8 = 2;
/// Marks "active alarms unchanged since the previous message".
const ALARMS_UNCHANGED: u32 = u32::MAX;

/// Encodes `cur` as a keyframe (no `prev`) or as a delta from `prev`. `alarms` is the JSON of the
/// active alarm list when it changed.
pub fn encode(shape: Shape, cur: &Columns, prev: Option<&Columns>, alarms: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, shape, cur, prev, alarms);
    out
}

/// `encode` into a reused buffer (cleared first): the writer thread's hot path.
pub fn encode_into(out: &mut Vec<u8>, shape: Shape, cur: &Columns, prev: Option<&Columns>, alarms: Option<&[u8]>) {
    out.clear();
    out.reserve(64 + cur.f32s.len() * 4 + cur.f64s.len() * 8 + cur.u8s.len() + alarms.map_or(0, <[u8]>::len));
    out.push(if prev.is_some() { DELTA } else { KEYFRAME });
    for n in shape.counts() {
        out.extend_from_slice(&n.to_le_bytes());
    }
    for n in [cur.f32s.len(), cur.f64s.len(), cur.u8s.len()] {
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    out.extend_from_slice(&alarms.map_or(ALARMS_UNCHANGED, |a| a.len() as u32).to_le_bytes());
    // Byte planes: all lowest bytes, then the next, … so runs of zeros line up for the compressor.
    // Written in one pass over the values.
    let n = cur.f32s.len();
    let base = out.len();
    out.resize(base + 4 * n, 0);
    {
        let (p0, rest) = out[base..].split_at_mut(n);
        let (p1, rest) = rest.split_at_mut(n);
        let (p2, p3) = rest.split_at_mut(n);
        let mut put = |i: usize, z: u32| {
            let b = z.to_le_bytes();
            p0[i] = b[0];
            p1[i] = b[1];
            p2[i] = b[2];
            p3[i] = b[3];
        };
        match prev {
            Some(p) if p.f32s.len() == n => {
                for (i, (a, b)) in cur.f32s.iter().zip(&p.f32s).enumerate() {
                    put(i, zigzag32(a.wrapping_sub(*b)));
                }
            }
            _ => {
                for (i, a) in cur.f32s.iter().enumerate() {
                    put(i, *a);
                }
            }
        }
    }
    let d64: Vec<u64> = match prev {
        Some(p) if p.f64s.len() == cur.f64s.len() => {
            cur.f64s.iter().zip(&p.f64s).map(|(a, b)| zigzag64(a.wrapping_sub(*b))).collect()
        }
        _ => cur.f64s.clone(),
    };
    for plane in 0..8 {
        out.extend(d64.iter().map(|v| (v >> (plane * 8)) as u8));
    }
    match prev {
        Some(p) if p.u8s.len() == cur.u8s.len() => out.extend(cur.u8s.iter().zip(&p.u8s).map(|(a, b)| a ^ b)),
        _ => out.extend_from_slice(&cur.u8s),
    }
    if let Some(a) = alarms {
        out.extend_from_slice(a);
    }
}

/// One decoded state message.
pub struct Decoded {
    pub keyframe: bool,
    pub shape: Shape,
    pub columns: Columns,
    /// JSON of the active alarms, when they changed.
    pub alarms: Option<Vec<u8>>,
}

/// Decodes a message; a delta needs the previous columns.
pub fn decode(data: &[u8], prev: Option<&Columns>) -> Result<Decoded, String> {
    let bad = || "state message is damaged (shorter than its header says)".to_string();
    let mut pos = 0usize;
    let u32_at = |pos: &mut usize| -> Result<u32, String> {
        let b = data.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let kind = *data.first().ok_or_else(bad)?;
    pos += 1;
    let mut counts = [0u32; 10];
    for c in &mut counts {
        *c = u32_at(&mut pos)?;
    }
    let n32 = u32_at(&mut pos)? as usize;
    let n64 = u32_at(&mut pos)? as usize;
    let n8 = u32_at(&mut pos)? as usize;
    let alarms_len = u32_at(&mut pos)?;
    let need = n32
        .checked_mul(4)
        .and_then(|a| a.checked_add(n64.checked_mul(8)?))
        .and_then(|a| a.checked_add(n8))
        .ok_or_else(bad)?;
    if data.len() < pos + need {
        return Err(bad());
    }
    let keyframe = match kind {
        KEYFRAME => true,
        DELTA => false,
        k => return Err(format!("unknown state message kind {k}")),
    };
    let mut f32s = vec![0u32; n32];
    for plane in 0..4 {
        for (i, v) in f32s.iter_mut().enumerate() {
            *v |= (data[pos + plane * n32 + i] as u32) << (plane * 8);
        }
    }
    pos += 4 * n32;
    let mut f64s = vec![0u64; n64];
    for plane in 0..8 {
        for (i, v) in f64s.iter_mut().enumerate() {
            *v |= (data[pos + plane * n64 + i] as u64) << (plane * 8);
        }
    }
    pos += 8 * n64;
    let mut u8s = data[pos..pos + n8].to_vec();
    pos += n8;
    if !keyframe {
        let p = prev.ok_or("a delta state message without the keyframe before it")?;
        if p.f32s.len() != n32 || p.f64s.len() != n64 || p.u8s.len() != n8 {
            return Err("a delta state message does not match the state before it".into());
        }
        f32s.iter_mut().zip(&p.f32s).for_each(|(a, b)| *a = unzigzag32(*a).wrapping_add(*b));
        f64s.iter_mut().zip(&p.f64s).for_each(|(a, b)| *a = unzigzag64(*a).wrapping_add(*b));
        u8s.iter_mut().zip(&p.u8s).for_each(|(a, b)| *a ^= b);
    }
    let alarms = if alarms_len == ALARMS_UNCHANGED {
        None
    } else {
        let end = pos.checked_add(alarms_len as usize).ok_or_else(bad)?;
        Some(data.get(pos..end).ok_or_else(bad)?.to_vec())
    };
    Ok(Decoded { keyframe, shape: Shape::from_counts(counts), columns: Columns { f32s, f64s, u8s }, alarms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_at_the_edges() {
        for d in [0u32, 1, u32::MAX, i32::MAX as u32, i32::MIN as u32, 12345] {
            assert_eq!(unzigzag32(zigzag32(d)), d);
        }
        for d in [0u64, 1, u64::MAX, i64::MAX as u64, i64::MIN as u64] {
            assert_eq!(unzigzag64(zigzag64(d)), d);
        }
        assert_eq!(zigzag32(u32::MAX), 1, "−1 is small");
    }

    #[test]
    fn deltas_decode_to_the_same_bits() {
        let a = Columns {
            f32s: vec![1.0f32.to_bits(), f32::NAN.to_bits(), 0x3F7F_FFFF],
            f64s: vec![2.5f64.to_bits(), u64::MAX],
            u8s: vec![3, 9],
        };
        let b = Columns {
            f32s: vec![1.000_001f32.to_bits(), 0, 0x3F80_0000],
            f64s: vec![(-2.5f64).to_bits(), 0],
            u8s: vec![4, 9],
        };
        let shape = Shape::default();
        let msg = encode(shape, &b, Some(&a), None);
        let d = decode(&msg, Some(&a)).unwrap();
        assert!(!d.keyframe);
        assert_eq!(d.columns, b);
        let key = decode(&encode(shape, &b, None, Some(b"[]")), None).unwrap();
        assert!(key.keyframe);
        assert_eq!(key.columns, b);
        assert_eq!(key.alarms.as_deref(), Some(&b"[]"[..]));
    }
}
