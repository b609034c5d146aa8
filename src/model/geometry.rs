//! Where things stand: rack footprints in hall coordinates, and overlap search.

use super::{Facing, PlacedRack, RackType};

/// Axis-aligned rectangle, hall coordinates, metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    pub min: (f64, f64),
    pub max: (f64, f64),
}

impl Footprint {
    pub fn centre(&self) -> (f64, f64) {
        ((self.min.0 + self.max.0) / 2.0, (self.min.1 + self.max.1) / 2.0)
    }
    pub fn size(&self) -> (f64, f64) {
        (self.max.0 - self.min.0, self.max.1 - self.min.1)
    }
    /// Overlap with more than a millimetre of slack, so racks that touch are fine.
    pub fn overlaps(&self, o: &Footprint) -> bool {
        const EPS: f64 = 1e-3;
        self.min.0 < o.max.0 - EPS
            && o.min.0 < self.max.0 - EPS
            && self.min.1 < o.max.1 - EPS
            && o.min.1 < self.max.1 - EPS
    }
    pub fn inside(&self, w: f64, d: f64) -> bool {
        const EPS: f64 = 1e-6;
        self.min.0 >= -EPS && self.min.1 >= -EPS && self.max.0 <= w + EPS && self.max.1 <= d + EPS
    }
    pub fn square(centre: (f64, f64), w: f64, d: f64) -> Self {
        Footprint { min: (centre.0 - w / 2.0, centre.1 - d / 2.0), max: (centre.0 + w / 2.0, centre.1 + d / 2.0) }
    }
}

/// Plan footprints (x, y metres) of outdoor plant: a V-bank dry cooler of ~1.5 MW and a
/// centrifugal chiller skid of ~1 MW.
pub const DRY_COOLER_SIZE: (f64, f64) = (12.0, 2.4);
pub const CHILLER_SIZE: (f64, f64) = (6.0, 2.4);

/// Offsets along the row for each rack: explicit `at`, else side by side after the previous one.
pub fn row_offsets<'a>(widths: impl Iterator<Item = (f64, Option<f64>)> + 'a) -> impl Iterator<Item = f64> + 'a {
    let mut next = 0.0;
    widths.map(move |(w, at)| {
        let x = at.unwrap_or(next);
        next = x + w;
        x
    })
}

/// Footprint of a rack given its offset along the row.
pub fn rack_footprint(rack: &PlacedRack<'_>, ty: &RackType, offset: f64) -> Footprint {
    let (ox, oy) = rack.row.origin;
    match rack.row.facing {
        Facing::North | Facing::South => {
            Footprint { min: (ox + offset, oy), max: (ox + offset + ty.width_m, oy + ty.depth_m) }
        }
        Facing::East | Facing::West => {
            Footprint { min: (ox, oy + offset), max: (ox + ty.depth_m, oy + offset + ty.width_m) }
        }
    }
}

/// Pairs (i, j), i < j, of overlapping footprints. Sort-and-sweep on x: O(n log n + k).
pub fn overlapping_pairs(boxes: &[Footprint]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> =
        (0..boxes.len()).filter(|&i| boxes[i].min.0.is_finite() && boxes[i].max.0.is_finite()).collect();
    order.sort_unstable_by(|&a, &b| boxes[a].min.0.total_cmp(&boxes[b].min.0));
    let mut active: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for &i in &order {
        let b = boxes[i];
        active.retain(|&j| boxes[j].max.0 > b.min.0);
        for &j in &active {
            if b.overlaps(&boxes[j]) {
                out.push((i.min(j), i.max(j)));
            }
        }
        active.push(i);
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_racks_do_not_overlap_but_shifted_ones_do() {
        let a = Footprint { min: (0.0, 0.0), max: (0.6, 1.2) };
        let b = Footprint { min: (0.6, 0.0), max: (1.2, 1.2) };
        let c = Footprint { min: (0.3, 0.5), max: (0.9, 1.7) };
        assert!(overlapping_pairs(&[a, b]).is_empty());
        assert_eq!(overlapping_pairs(&[a, b, c]), vec![(0, 2), (1, 2)]);
    }

    #[test]
    fn sweep_matches_brute_force() {
        let mut boxes = Vec::new();
        let mut s = 7u64;
        for _ in 0..300 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = (s >> 33) as f64 / (1u64 << 31) as f64 * 30.0;
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let y = (s >> 33) as f64 / (1u64 << 31) as f64 * 30.0;
            boxes.push(Footprint { min: (x, y), max: (x + 0.6, y + 1.2) });
        }
        let mut brute = Vec::new();
        for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                if boxes[i].overlaps(&boxes[j]) {
                    brute.push((i, j));
                }
            }
        }
        assert_eq!(overlapping_pairs(&boxes), brute);
        assert!(!brute.is_empty());
    }
}
