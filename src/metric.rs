//! What the viewer colours by: a metric per rack from a `Snapshot`, its unit and range, and the
//! colour ramp. Plain Rust so the CLI's renderer and the tests use the same mapping.

use crate::sim::Snapshot;
use crate::sim::snapshot::RackStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    #[default]
    GpuTemp,
    InletAir,
    Coolant,
    Power,
    Utilization,
    Output,
    /// Kelvin left before the GPUs slow down.
    Headroom,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::GpuTemp,
        Metric::InletAir,
        Metric::Coolant,
        Metric::Power,
        Metric::Utilization,
        Metric::Output,
        Metric::Headroom,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Metric::GpuTemp => "GPU temperature",
            Metric::InletAir => "Inlet air",
            Metric::Coolant => "Coolant (rack return)",
            Metric::Power => "Rack power",
            Metric::Utilization => "Utilization",
            Metric::Output => "Output (throttling)",
            Metric::Headroom => "Thermal headroom",
        }
    }

    /// The CLI name (`--metric gpu-temp`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Metric::GpuTemp => "gpu-temp",
            Metric::InletAir => "inlet-air",
            Metric::Coolant => "coolant",
            Metric::Power => "power",
            Metric::Utilization => "utilization",
            Metric::Output => "output",
            Metric::Headroom => "headroom",
        }
    }

    pub fn from_cli(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.cli_name() == s)
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::GpuTemp | Metric::InletAir | Metric::Coolant => "°C",
            Metric::Power => "kW",
            Metric::Utilization | Metric::Output => "%",
            Metric::Headroom => "K",
        }
    }

    /// Fixed range: chosen so the limits users care about sit near the top (GPU slowdown 89 °C,
    /// ASHRAE A1 32 °C inlet).
    pub fn fixed_range(self) -> (f32, f32) {
        match self {
            Metric::GpuTemp => (30.0, 95.0),
            Metric::InletAir => (15.0, 40.0),
            Metric::Coolant => (25.0, 65.0),
            Metric::Power => (0.0, 150.0),
            Metric::Utilization | Metric::Output => (0.0, 100.0),
            Metric::Headroom => (0.0, 40.0),
        }
    }

    /// High values are bad (red) for temperatures and power; for output and headroom, low is bad.
    pub fn reversed(self) -> bool {
        matches!(self, Metric::Output | Metric::Headroom)
    }

    /// The metric's value for rack `i`, in its display unit.
    pub fn rack_value(self, s: &Snapshot, i: usize) -> f32 {
        let r = &s.racks;
        let get = |v: &Vec<f32>| v.get(i).copied().unwrap_or(0.0);
        match self {
            Metric::GpuTemp => get(&r.gpu_c),
            Metric::InletAir => get(&r.inlet_c),
            Metric::Coolant => get(&r.coolant_c),
            Metric::Power => get(&r.power_kw),
            Metric::Utilization => get(&r.utilization) * 100.0,
            Metric::Output => get(&r.output) * 100.0,
            // Slowdown threshold from sim::physics (NVIDIA's published GPU slowdown temperature).
            Metric::Headroom => crate::sim::physics::GPU_SLOWDOWN_C as f32 - get(&r.gpu_c),
        }
    }

    /// Whether rack `i` has this metric at all (no GPU temperature on a storage rack, say).
    pub fn applies(self, s: &Snapshot, i: usize, has_gpus: bool) -> bool {
        match self {
            Metric::GpuTemp | Metric::Output | Metric::Headroom => has_gpus,
            Metric::Coolant => s.racks.status.get(i).is_some_and(|st| st & RackStatus::AIR_COOLED == 0),
            _ => true,
        }
    }

    /// Range to use: fixed, or the min/max over racks the metric applies to.
    pub fn auto_range(self, s: &Snapshot, has_gpus: &[bool]) -> (f32, f32) {
        let mut lo = f32::INFINITY;
        let mut hi = f32::NEG_INFINITY;
        for i in 0..s.racks.gpu_c.len() {
            if self.applies(s, i, has_gpus.get(i).copied().unwrap_or(false)) {
                let v = self.rack_value(s, i);
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if !lo.is_finite() || !hi.is_finite() {
            return self.fixed_range();
        }
        if hi - lo < 1.0 {
            let mid = (hi + lo) / 2.0;
            return (mid - 0.5, mid + 0.5);
        }
        (lo, hi)
    }
}

/// Colour ramp from cool blue through teal, green and amber to red (linear RGB).
pub fn ramp(t: f32) -> [f32; 3] {
    const STOPS: [[f32; 3]; 5] =
        [[0.05, 0.25, 0.85], [0.05, 0.65, 0.75], [0.20, 0.75, 0.25], [0.95, 0.70, 0.08], [0.90, 0.10, 0.08]];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 } * (STOPS.len() - 1) as f32;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f32;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]
}

/// Colour of a value within a range, with the metric's direction.
pub fn colour_for(metric: Metric, value: f32, range: (f32, f32)) -> [f32; 3] {
    let span = (range.1 - range.0).max(1e-6);
    let mut t = (value - range.0) / span;
    if metric.reversed() {
        t = 1.0 - t;
    }
    ramp(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_ends_and_never_nan() {
        let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        assert!(close(ramp(0.0), [0.05, 0.25, 0.85]));
        assert!(close(ramp(1.0), [0.90, 0.10, 0.08]));
        assert!(close(ramp(0.5), [0.20, 0.75, 0.25]));
        for v in [f32::NAN, -5.0, 7.0, f32::INFINITY] {
            assert!(ramp(v).iter().all(|c| c.is_finite()));
        }
    }

    #[test]
    fn hot_is_red_and_low_output_is_red() {
        let hot = colour_for(Metric::GpuTemp, 95.0, Metric::GpuTemp.fixed_range());
        assert!(hot[0] > 0.8 && hot[2] < 0.2);
        let starved = colour_for(Metric::Output, 0.0, Metric::Output.fixed_range());
        assert!(starved[0] > 0.8);
    }

    #[test]
    fn cli_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_cli(m.cli_name()), Some(m));
        }
    }
}
