//! State messages: a `Snapshot` flattened into columns of f32, f64 and u8, stored as a keyframe
//! or as residuals from the samples before (see `encode_into`): a steady value costs nothing and
//! a smoothly moving one a few bits. Decoding is exact, so a replay equals the live run.

use std::ops::Range;
use std::sync::Arc;

use bitpacking::{BitPacker, BitPacker1x, BitPacker4x};

use crate::sim::StateCopy;
use crate::sim::snapshot::*;

/// Declares `Shape` and its counting from `object_kinds!`: racks first, then every kind in the
/// list's order (the order a message header stores the counts).
macro_rules! declare_shape {
    ($($field:ident: $state:ty, $one:literal, $many:literal, $csv:literal;)*) => {
        /// Counts of each kind of object: the shape of a snapshot.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Shape {
            pub racks: u32,
            $(pub $field: u32,)*
        }

        /// Kinds including racks.
        const KINDS: usize = 1 $(+ { let _ = stringify!($field); 1 })*;

        impl Shape {
            pub fn of(s: &Snapshot) -> Shape {
                Shape { racks: s.racks.gpu_c.len() as u32, $($field: s.$field.len() as u32,)* }
            }
            /// The shape a simulation of this network records: what a recording's samples must match.
            pub fn of_network(n: &crate::sim::network::Network) -> Shape {
                Shape { racks: n.racks.len() as u32, $($field: n.$field.len() as u32,)* }
            }
            /// Each kind's count with its names and its values and flags per object.
            fn kinds(&self) -> [(u32, &'static str, &'static str, usize, usize); KINDS] {
                self.kinds_in(Layout::Current)
            }
            fn kinds_in(&self, layout: Layout) -> [(u32, &'static str, &'static str, usize, usize); KINDS] {
                [
                    (self.racks, "rack", "racks", RackStates::VALUES.len(), 1),
                    $({
                        let (v, f) = layout.per_object(stringify!($field), <$state>::VALUES.len(), <$state>::FLAGS.len());
                        (self.$field, $one, $many, v, f)
                    },)*
                ]
            }
            fn counts(&self) -> [u32; KINDS] {
                self.kinds().map(|k| k.0)
            }
            fn from_counts(c: [u32; KINDS]) -> Shape {
                let mut next = c.into_iter();
                Shape { racks: next.next().unwrap_or(0), $($field: next.next().unwrap_or(0),)* }
            }
        }
    };
}
object_kinds!(declare_shape);

impl Shape {
    /// What differs from `scene`'s shape, in words ("the state has 12 racks, the recorded scene
    /// has 8"), or None when they agree.
    pub fn mismatch(&self, scene: &Shape) -> Option<String> {
        let count = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let (mut state, mut want) = (Vec::new(), Vec::new());
        for ((a, one, many, ..), (b, ..)) in self.kinds().into_iter().zip(scene.kinds()) {
            if a != b {
                state.push(count(a, one, many));
                want.push(count(b, one, many));
            }
        }
        (!state.is_empty())
            .then(|| format!("the state has {}, the recorded scene has {}", state.join(", "), want.join(", ")))
    }

    /// How many f32 values a snapshot of this shape flattens to in `layout` (`None` past
    /// `usize`).
    fn values_in(&self, layout: Layout) -> Option<usize> {
        let kinds = self.kinds_in(layout);
        kinds.iter().try_fold(0usize, |sum, &(c, _, _, per, _)| sum.checked_add((c as usize).checked_mul(per)?))
    }
}

/// Which columns each object had when the recording was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    #[default]
    Current,
    /// State v2 and v3 (before issue 16): CRAHs, dry coolers and chillers had two values (heat,
    /// power) and one flag (running).
    EquipmentV3,
}

impl Layout {
    /// Values and flags per object of the kind named `field`, given the current ones.
    fn per_object(self, field: &str, values: usize, flags: usize) -> (usize, usize) {
        match (self, field) {
            (Layout::EquipmentV3, "crahs" | "dry_coolers" | "chillers") => (2, 1),
            _ => (values, flags),
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

impl Columns {
    pub fn same_shape(&self, other: &Columns) -> bool {
        (self.f32s.len(), self.f64s.len(), self.u8s.len()) == (other.f32s.len(), other.f64s.len(), other.u8s.len())
    }
}

pub fn flatten(s: &Snapshot) -> Columns {
    let mut c = Columns::default();
    for col in s.racks.values() {
        c.f32s.extend(col.iter().map(|v| v.to_bits()));
    }
    c.u8s.extend_from_slice(&s.racks.status);
    macro_rules! put_each_kind {
        ($($field:ident: $state:ty, $one:literal, $many:literal, $csv:literal;)*) => {
            $(for x in &s.$field {
                x.put(&mut c.f32s, &mut c.u8s);
            })*
        };
    }
    object_kinds!(put_each_kind);
    put_time_and_kpis(&mut c, s.time_s, s.step, &s.kpis);
    c
}

fn put_time_and_kpis(c: &mut Columns, time_s: f64, step: u64, kpis: &Kpis) {
    c.f64s.push(time_s.to_bits());
    c.f64s.push(step);
    c.f64s.extend(kpis.to_array().map(f64::to_bits));
}

/// The recorder's copy of the engine's state (`StateCopy`, made on the sim thread) as `Columns`
/// (cleared first), in `flatten`'s order; a test holds the two equal.
pub fn columns_of(copy: &StateCopy, c: &mut Columns) {
    c.f32s.clear();
    c.f64s.clear();
    c.u8s.clear();
    c.f32s.reserve(RackStates::VALUES.len() * copy.rack_status().len() + 64);
    for k in 0..RackStates::VALUES.len() {
        copy.rack_column_into(k, &mut c.f32s);
    }
    c.u8s.extend_from_slice(copy.rack_status());
    macro_rules! put_each_kind {
        ($($field:ident: $state:ty, $one:literal, $many:literal, $csv:literal;)*) => {
            $(for x in copy.$field() {
                x.put(&mut c.f32s, &mut c.u8s);
            })*
        };
    }
    object_kinds!(put_each_kind);
    put_time_and_kpis(c, copy.time_s(), copy.step(), copy.kpis());
}

/// Reads columns back into a snapshot of the given shape.
pub fn unflatten(shape: Shape, c: &Columns, alarms: Arc<Vec<Alarm>>) -> Result<Snapshot, String> {
    unflatten_in(Layout::Current, shape, c, alarms)
}

/// `unflatten` for columns recorded in `layout`: a value an older layout did not have reads 0.
pub fn unflatten_in(layout: Layout, shape: Shape, c: &Columns, alarms: Arc<Vec<Alarm>>) -> Result<Snapshot, String> {
    let short = || "state message is shorter than its shape".to_string();
    let f32s: Vec<f32> = c.f32s.iter().map(|&b| f32::from_bits(b)).collect();
    let (mut values, mut flags) = (&f32s[..], &c.u8s[..]);
    let mut take = |nv: usize, nf: usize| {
        let (Some((v, rest_v)), Some((f, rest_f))) = (values.split_at_checked(nv), flags.split_at_checked(nf)) else {
            return Err(short());
        };
        (values, flags) = (rest_v, rest_f);
        Ok((v, f))
    };
    let mut s = Snapshot::default();
    let n = shape.racks as usize;
    for col in s.racks.values_mut() {
        *col = take(n, 0)?.0.to_vec();
    }
    s.racks.status = take(0, n)?.1.to_vec();
    macro_rules! take_each_kind {
        ($($field:ident: $state:ty, $one:literal, $many:literal, $csv:literal;)*) => {
            $(for _ in 0..shape.$field {
                let (nv, nf) = layout.per_object(stringify!($field), <$state>::VALUES.len(), <$state>::FLAGS.len());
                let (v, f) = take(nv, nf)?;
                s.$field.push(<$state>::take(v, f));
            })*
        };
    }
    object_kinds!(take_each_kind);
    if c.f64s.len() != 2 + Kpis::COUNT {
        return Err(short());
    }
    s.time_s = f64::from_bits(c.f64s[0]);
    s.step = c.f64s[1];
    let k: Vec<f64> = c.f64s[2..].iter().map(|&b| f64::from_bits(b)).collect();
    s.kpis = Kpis::from_array(&k);
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

/// Raw byte planes (files written before PACKED_KEYFRAME).
const KEYFRAME: u8 = 0;
/// Byte planes of bit differences from the previous sample (files written before PREDICTED).
const DELTA: u8 = 2;
/// f32 values as bit-packed residuals from a straight-line prediction (see `encode_into`).
const PREDICTED: u8 = 3;
/// A keyframe: the first f32 as it is, then each bit-packed as its difference from the value
/// before it (neighbouring racks read alike); f64 and u8 bit-packed as they are.
const PACKED_KEYFRAME: u8 = 4;
/// Marks "active alarms unchanged since the previous message".
const ALARMS_UNCHANGED: u32 = u32::MAX;
/// Values per bit-packed block (`pack_blocks`), and per block of what is left over.
const BLOCK: usize = BitPacker4x::BLOCK_LEN;
const SMALL_BLOCK: usize = BitPacker1x::BLOCK_LEN;

/// The samples a delta is predicted from: the previous one, and the one before it when the
/// chunk has one. Encoder and decoder must see the same prior.
#[derive(Debug, Clone, Copy, Default)]
pub struct Prior<'a> {
    pub last: Option<&'a Columns>,
    pub before: Option<&'a Columns>,
}

impl<'a> Prior<'a> {
    /// `last` and `before` for the f32 column, with `before` falling back to `last` (a plain
    /// difference) when missing or of another length.
    fn f32s(&self, n: usize) -> Option<(&'a [u32], &'a [u32])> {
        let last = self.last.filter(|l| l.f32s.len() == n)?;
        let before = self.before.filter(|b| b.f32s.len() == n).unwrap_or(last);
        Some((&last.f32s, &before.f32s))
    }
}

/// Straight-line prediction on the bits: a value moving steadily within one binade predicts
/// exactly, so the residual stays a few bits wide where a plain difference would not.
#[inline]
fn predict(last: u32, before: u32) -> u32 {
    last.wrapping_mul(2).wrapping_sub(before)
}

/// Encodes `cur` as a keyframe (no `prior.last`) or as a prediction from the prior samples.
/// `alarms` is the JSON of the active alarm list when it changed.
pub fn encode(shape: Shape, cur: &Columns, prior: Prior, alarms: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, shape, cur, prior, alarms);
    out
}

/// `encode` into a reused buffer (cleared first): the writer thread's hot path.
///
/// A predicted message stores each f32 as the zigzag of its bits minus the straight-line
/// prediction from the two samples before, bit-packed 128 at a time (crate `bitpacking`): most
/// of a site's values move smoothly, so the residuals are a few bits wide and packing them
/// costs about a microsecond per 1,000 racks, where a general-purpose compressor on the raw
/// differences cost 30 µs — more than a simulation step. The few f64 KPIs are packed as plain
/// differences and the u8 flags as XOR with the previous sample's.
pub fn encode_into(out: &mut Vec<u8>, shape: Shape, cur: &Columns, prior: Prior, alarms: Option<&[u8]>) {
    out.clear();
    let n = cur.f32s.len();
    let f32_prior = prior.f32s(n);
    let last = prior.last.filter(|l| l.f64s.len() == cur.f64s.len() && l.u8s.len() == cur.u8s.len());
    let predicted = f32_prior.zip(last);
    out.reserve(64 + n * 4 + n.div_ceil(BLOCK) + cur.f64s.len() * 8 + cur.u8s.len() + alarms.map_or(0, <[u8]>::len));
    out.push(if predicted.is_some() { PREDICTED } else { PACKED_KEYFRAME });
    for c in shape.counts() {
        out.extend_from_slice(&c.to_le_bytes());
    }
    for c in [n, cur.f64s.len(), cur.u8s.len()] {
        out.extend_from_slice(&(c as u32).to_le_bytes());
    }
    out.extend_from_slice(&alarms.map_or(ALARMS_UNCHANGED, |a| a.len() as u32).to_le_bytes());
    match predicted {
        Some(((l32, b32), last)) => {
            let (cur32, cur64) = (&cur.f32s, &cur.f64s);
            pack_blocks(out, n, |range, block| {
                let values = cur32[range.clone()].iter().zip(&l32[range.clone()]).zip(&b32[range]);
                for (r, ((&c, &l), &b)) in block.iter_mut().zip(values) {
                    *r = zigzag32(c.wrapping_sub(predict(l, b)));
                }
            });
            // The f64s (time, KPIs) as plain differences.
            pack_u64s(out, cur64.len(), |i| zigzag64(cur64[i].wrapping_sub(last.f64s[i])));
            pack_blocks(out, cur.u8s.len(), |range, block| {
                let flags = cur.u8s[range.clone()].iter().zip(&last.u8s[range]);
                block.iter_mut().zip(flags).for_each(|(r, (a, b))| *r = u32::from(a ^ b));
            });
        }
        None => {
            // The first value as it is, then every value as its difference from the one before.
            let f = &cur.f32s;
            out.extend_from_slice(&f.first().copied().unwrap_or(0).to_le_bytes());
            pack_blocks(out, n, |range, block| {
                let before = f[range.start.saturating_sub(1)];
                let prev = std::iter::once(before).chain(f[range.clone()].iter().copied());
                block
                    .iter_mut()
                    .zip(f[range].iter().zip(prev))
                    .for_each(|(r, (&v, p))| *r = zigzag32(v.wrapping_sub(p)));
            });
            pack_u64s(out, cur.f64s.len(), |i| cur.f64s[i]);
            pack_blocks(out, cur.u8s.len(), |range, block| {
                block.iter_mut().zip(&cur.u8s[range]).for_each(|(r, &b)| *r = u32::from(b))
            });
        }
    }
    if let Some(a) = alarms {
        out.extend_from_slice(a);
    }
}

/// Bit-packs `n` values: 128 at a time, then the rest 32 at a time (so a short column does not
/// pay for a whole block of 128). `fill` writes the values of `range` into the block's first
/// `range.len()` slots; each block is stored as its width in bits (one byte), then
/// block length × width / 8 bytes.
fn pack_blocks(out: &mut Vec<u8>, n: usize, mut fill: impl FnMut(Range<usize>, &mut [u32])) {
    let (wide, narrow) = (BitPacker4x::new(), BitPacker1x::new());
    let mut buffer = [0u32; BLOCK];
    let mut start = 0;
    while start < n {
        let block_len = if n - start >= BLOCK { BLOCK } else { SMALL_BLOCK };
        let end = (start + block_len).min(n);
        let block = &mut buffer[..block_len];
        fill(start..end, &mut block[..end - start]);
        block[end - start..].fill(0);
        let width = if block_len == BLOCK { wide.num_bits(block) } else { narrow.num_bits(block) };
        out.push(width);
        let at = out.len();
        out.resize(at + block_len * width as usize / 8, 0);
        if block_len == BLOCK {
            wide.compress(block, &mut out[at..], width);
        } else {
            narrow.compress(block, &mut out[at..], width);
        }
        start = end;
    }
}

/// Reads what `pack_blocks` wrote for `n` values from `data[*pos..]`, handing each block's
/// values to `take` with their range; `*pos` moves past them.
fn unpack_blocks(
    data: &[u8],
    pos: &mut usize,
    n: usize,
    mut take: impl FnMut(Range<usize>, &[u32]),
) -> Result<(), String> {
    let (wide, narrow) = (BitPacker4x::new(), BitPacker1x::new());
    let mut buffer = [0u32; BLOCK];
    let mut start = 0;
    while start < n {
        let block_len = if n - start >= BLOCK { BLOCK } else { SMALL_BLOCK };
        let width = *data.get(*pos).ok_or_else(damaged_short)?;
        if width > 32 {
            return Err(format!("state message is damaged (a block {width} bits wide)"));
        }
        let len = block_len * width as usize / 8;
        let packed = data.get(*pos + 1..*pos + 1 + len).ok_or_else(damaged_short)?;
        let block = &mut buffer[..block_len];
        if block_len == BLOCK {
            wide.decompress(packed, block, width);
        } else {
            narrow.decompress(packed, block, width);
        }
        *pos += 1 + len;
        let end = (start + block_len).min(n);
        take(start..end, &block[..end - start]);
        start = end;
    }
    Ok(())
}

/// `n` u64 values as two packed runs, low halves then high halves: the high halves of a small
/// difference are zero.
fn pack_u64s(out: &mut Vec<u8>, n: usize, value: impl Fn(usize) -> u64) {
    for half in [0, 32] {
        pack_blocks(out, n, |range, block| {
            range.zip(block.iter_mut()).for_each(|(i, r)| *r = (value(i) >> half) as u32)
        });
    }
}

fn unpack_u64s(data: &[u8], pos: &mut usize, n: usize) -> Result<Vec<u64>, String> {
    let mut values = vec![0u64; n];
    for half in [0, 32] {
        unpack_blocks(data, pos, n, |range, v| {
            values[range].iter_mut().zip(v).for_each(|(d, &x)| *d |= u64::from(x) << half);
        })?;
    }
    Ok(values)
}

fn damaged_short() -> String {
    "state message is damaged (shorter than its header says)".to_string()
}

/// One decoded state message.
#[derive(Debug)]
pub struct Decoded {
    pub keyframe: bool,
    pub shape: Shape,
    pub columns: Columns,
    /// JSON of the active alarms, when they changed.
    pub alarms: Option<Vec<u8>>,
}

/// Decodes a message; a delta needs the prior samples it was encoded against.
pub fn decode(data: &[u8], prior: Prior) -> Result<Decoded, String> {
    decode_in(Layout::Current, data, prior)
}

/// `decode` of a message recorded in `layout`.
pub fn decode_in(layout: Layout, data: &[u8], prior: Prior) -> Result<Decoded, String> {
    let bad = damaged_short;
    let mut pos = 0usize;
    let u32_at = |pos: &mut usize| -> Result<u32, String> {
        let b = data.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let kind = *data.first().ok_or_else(bad)?;
    pos += 1;
    let mut counts = [0u32; KINDS];
    for c in &mut counts {
        *c = u32_at(&mut pos)?;
    }
    let n32 = u32_at(&mut pos)? as usize;
    let n64 = u32_at(&mut pos)? as usize;
    let n8 = u32_at(&mut pos)? as usize;
    let alarms_len = u32_at(&mut pos)?;
    let keyframe = match kind {
        KEYFRAME | PACKED_KEYFRAME => true,
        DELTA | PREDICTED => false,
        k => return Err(format!("unknown state message kind {k}")),
    };
    let last = match prior.last {
        _ if keyframe => None,
        None => return Err("a delta state message without the keyframe before it".into()),
        // Checked before anything is allocated: a damaged count cannot ask for gigabytes.
        Some(p) if p.f32s.len() != n32 || p.f64s.len() != n64 || p.u8s.len() != n8 => {
            return Err("a delta state message does not match the state before it".into());
        }
        Some(p) => Some(p),
    };
    let (f32s, f64s, u8s) = match (kind, last) {
        (PACKED_KEYFRAME, _) => {
            // Every 128 values take at least a byte: a damaged count cannot ask for more.
            let at_most = BLOCK * (data.len() - pos);
            if n32 > at_most
                || n64 > at_most
                || n8 > at_most
                || Shape::from_counts(counts).values_in(layout) != Some(n32)
            {
                return Err("state message is damaged (its counts disagree)".into());
            }
            let mut f32s = vec![0u32; n32];
            let first = data.get(pos..pos + 4).ok_or_else(bad)?;
            let mut prev = u32::from_le_bytes([first[0], first[1], first[2], first[3]]);
            pos += 4;
            unpack_blocks(data, &mut pos, n32, |range, residuals| {
                for (v, &r) in f32s[range].iter_mut().zip(residuals) {
                    prev = unzigzag32(r).wrapping_add(prev);
                    *v = prev;
                }
            })?;
            let f64s = unpack_u64s(data, &mut pos, n64)?;
            let mut u8s = vec![0u8; n8];
            unpack_blocks(data, &mut pos, n8, |range, v| {
                u8s[range].iter_mut().zip(v).for_each(|(f, &x)| *f = x as u8)
            })?;
            (f32s, f64s, u8s)
        }
        (PREDICTED, Some(last)) => {
            let Some((l32, b32)) = prior.f32s(n32) else { return Err(bad()) };
            let mut f32s = vec![0u32; n32];
            unpack_blocks(data, &mut pos, n32, |range, residuals| {
                let prior = l32[range.clone()].iter().zip(&b32[range.clone()]);
                for ((v, &r), (&l, &b)) in f32s[range].iter_mut().zip(residuals).zip(prior) {
                    *v = unzigzag32(r).wrapping_add(predict(l, b));
                }
            })?;
            let d64 = unpack_u64s(data, &mut pos, n64)?;
            let f64s = d64.iter().zip(&last.f64s).map(|(&d, &b)| unzigzag64(d).wrapping_add(b)).collect();
            let mut u8s = last.u8s.clone();
            unpack_blocks(data, &mut pos, n8, |range, v| {
                u8s[range].iter_mut().zip(v).for_each(|(f, &x)| *f ^= x as u8);
            })?;
            (f32s, f64s, u8s)
        }
        _ => {
            // A keyframe, or a difference in byte planes (files from before PREDICTED).
            let need = n32.checked_mul(4).and_then(|a| a.checked_add(n64.checked_mul(8)?)?.checked_add(n8));
            if need.is_none_or(|need| data.len().saturating_sub(pos) < need) {
                return Err(bad());
            }
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
            if let Some(p) = last {
                f32s.iter_mut().zip(&p.f32s).for_each(|(a, b)| *a = unzigzag32(*a).wrapping_add(*b));
                f64s.iter_mut().zip(&p.f64s).for_each(|(a, b)| *a = unzigzag64(*a).wrapping_add(*b));
                u8s.iter_mut().zip(&p.u8s).for_each(|(a, b)| *a ^= b);
            }
            (f32s, f64s, u8s)
        }
    };
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

    fn cols(f32s: Vec<u32>, f64s: Vec<u64>, u8s: Vec<u8>) -> Columns {
        Columns { f32s, f64s, u8s }
    }

    #[test]
    fn predicted_messages_decode_to_the_same_bits() {
        let a =
            cols(vec![1.0f32.to_bits(), f32::NAN.to_bits(), 0x3F7F_FFFF], vec![2.5f64.to_bits(), u64::MAX], vec![3, 9]);
        let b = cols(vec![1.000_001f32.to_bits(), 0, 0x3F80_0000], vec![(-2.5f64).to_bits(), 0], vec![4, 9]);
        let c = cols(vec![u32::MAX, 7, 0x3F80_0001], vec![0, 1], vec![0, 255]);
        let shape = Shape { halls: 1, ..Shape::default() };
        // A plain difference (no sample before the last) and a straight-line prediction.
        for (prior, cur) in
            [(Prior { last: Some(&a), before: None }, &b), (Prior { last: Some(&b), before: Some(&a) }, &c)]
        {
            let msg = encode(shape, cur, prior, None);
            assert_eq!(msg[0], PREDICTED);
            let d = decode(&msg, prior).unwrap();
            assert!(!d.keyframe);
            assert_eq!(&d.columns, cur);
        }
        for cur in [&a, &b, &c] {
            let msg = encode(shape, cur, Prior::default(), Some(b"[]"));
            assert_eq!(msg[0], PACKED_KEYFRAME);
            let key = decode(&msg, Prior::default()).unwrap();
            assert!(key.keyframe);
            assert_eq!(&key.columns, cur);
            assert_eq!(key.alarms.as_deref(), Some(&b"[]"[..]));
        }
    }

    #[test]
    fn a_shape_counts_the_values_flatten_writes() {
        let site = crate::scene::parse(crate::scene::DEMO_SCENE).unwrap().site;
        let mut sim = crate::sim::Simulation::new(site, Default::default(), 1.0).unwrap();
        let snap = sim.snapshot();
        assert_eq!(Shape::of(&snap).values_in(Layout::Current), Some(flatten(&snap).f32s.len()));
    }

    #[test]
    fn keyframes_pack_neighbouring_values_as_differences() {
        // 600 rack temperatures a little apart: each value costs a few bits, not 32.
        let shape = Shape { racks: 100, ..Shape::default() };
        let f32s: Vec<u32> = (0..600).map(|i| (45.0f32 + (i % 7) as f32 * 0.01).to_bits()).collect();
        let key = cols(f32s, vec![7f64.to_bits()], vec![0; 100]);
        let msg = encode(shape, &key, Prior::default(), None);
        assert!(msg.len() < 600 * 4 * 6 / 10, "{} bytes", msg.len());
        assert_eq!(decode(&msg, Prior::default()).unwrap().columns, key);
        for cut in 0..msg.len() {
            assert!(decode(&msg[..cut], Prior::default()).is_err(), "cut at {cut}");
        }
        // Counts that disagree with the shape, or ask for more values than the bytes can hold.
        let mut lying = msg.clone();
        lying[1 + 4 * 10..1 + 4 * 11].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&lying, Prior::default()).unwrap_err().contains("counts disagree"));
        let mut lying = msg.clone();
        lying[1..5].copy_from_slice(&101u32.to_le_bytes());
        assert!(decode(&lying, Prior::default()).unwrap_err().contains("counts disagree"));
    }

    #[test]
    fn steady_lines_pack_to_almost_nothing() {
        // 1,000 values each rising by a fixed step: the prediction is exact, so each block is
        // one width byte.
        let at = |k: u32| cols((0..1000).map(|i| 0x4200_0000 + 1000 * i + 37 * k).collect(), vec![], vec![]);
        let (a, b, c) = (at(0), at(1), at(2));
        let shape = Shape { loops: 200, ..Shape::default() };
        let msg = encode(shape, &c, Prior { last: Some(&b), before: Some(&a) }, None);
        let header = 1 + 4 * 14;
        assert_eq!(msg.len(), header + 1000 / BLOCK + (1000 % BLOCK).div_ceil(SMALL_BLOCK));
        let plain = encode(shape, &c, Prior { last: Some(&b), before: None }, None);
        assert!(plain.len() > header + 800, "a plain difference needs 7 bits for a step of 37");
    }

    /// A message in the layout of files from before bit-packing: header, then byte planes of
    /// the f32s and f64s, then the u8s.
    fn legacy(kind: u8, c: &Columns) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend([0u8; 40]);
        for n in [c.f32s.len(), c.f64s.len(), c.u8s.len()] {
            out.extend((n as u32).to_le_bytes());
        }
        out.extend(ALARMS_UNCHANGED.to_le_bytes());
        for plane in 0..4 {
            out.extend(c.f32s.iter().map(|v| (v >> (plane * 8)) as u8));
        }
        for plane in 0..8 {
            out.extend(c.f64s.iter().map(|v| (v >> (plane * 8)) as u8));
        }
        out.extend(&c.u8s);
        out
    }

    #[test]
    fn messages_written_before_bit_packing_still_decode() {
        let a = cols(vec![10, 20, 30], vec![5], vec![1, 0]);
        let b = cols(vec![11, 18, 30], vec![4], vec![1, 1]);
        let diff = cols(
            b.f32s.iter().zip(&a.f32s).map(|(x, y)| zigzag32(x.wrapping_sub(*y))).collect(),
            b.f64s.iter().zip(&a.f64s).map(|(x, y)| zigzag64(x.wrapping_sub(*y))).collect(),
            b.u8s.iter().zip(&a.u8s).map(|(x, y)| x ^ y).collect(),
        );
        let key = decode(&legacy(KEYFRAME, &a), Prior::default()).unwrap();
        assert!(key.keyframe);
        assert_eq!(key.columns, a);
        let delta = decode(&legacy(DELTA, &diff), Prior { last: Some(&a), before: None }).unwrap();
        assert_eq!(delta.columns, b);
    }

    #[test]
    fn damaged_predicted_messages_are_errors() {
        let a = cols((0..300).collect(), vec![1], vec![0; 4]);
        let b = cols((0..300).map(|i| i * 7919).collect(), vec![2], vec![1; 4]);
        let prior = Prior { last: Some(&a), before: None };
        let msg = encode(Shape::default(), &b, prior, None);
        for cut in 0..msg.len() {
            assert!(decode(&msg[..cut], prior).is_err(), "cut at {cut}");
        }
        let width_at = 1 + 4 * 14;
        let mut wide = msg.clone();
        wide[width_at] = 33;
        assert!(decode(&wide, prior).unwrap_err().contains("33 bits"));
        assert!(decode(&msg, Prior::default()).is_err(), "a delta without its keyframe");
        let other = cols(vec![0; 5], vec![1], vec![0; 4]);
        assert!(decode(&msg, Prior { last: Some(&other), before: None }).is_err(), "a prior of another shape");
    }
}
