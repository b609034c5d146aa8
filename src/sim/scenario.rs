//! What happens during a run: timed failures and restores, weather, utilization, workload profiles.
//! Read from a RON scenario file or built from CLI flags (`--fail cdu:hall-1/cdu-1@60`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub name: String,
    /// Seed for the `Bursts` workload profile.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub workloads: Vec<Workload>,
    /// What the tokens/s are of, instead of the scene's `benchmark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub at_s: f64,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    Fail(Failure),
    Restore(Failure),
    /// Outdoor dry bulb steps to this value, °C (wet bulb moves with it).
    Ambient(f64),
    /// Ambient rises by `rise_c` over the first half of `duration_s` and falls back over the second.
    HeatWave {
        rise_c: f64,
        duration_s: f64,
    },
    /// Base utilization of the matching racks steps to `value`.
    Utilization {
        target: String,
        value: f64,
    },
}

/// A failure (or its restore) of one kind of equipment, on one object, a prefix of ids, or `all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    #[serde(default = "all")]
    pub target: String,
}

fn all() -> String {
    "all".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureKind {
    /// One pump of each matching CDU.
    CduPump,
    /// The whole CDU: no flow, no heat exchange.
    Cdu,
    /// One pump of each matching facility water loop.
    FacilityPump,
    /// Chiller trips; after a restore it needs its `restart_s` before it cools again.
    Chiller,
    /// Dry cooler fans stop.
    DryCooler,
    Crah,
    /// Utility feed lost: UPS loads ride on batteries, everything else stops.
    Utility,
    /// UPS fault: every load it carries loses power.
    Ups,
    /// PDU (or busway) fault: its racks lose power.
    Pdu,
}

impl FailureKind {
    pub const ALL: [(FailureKind, &'static str); 9] = [
        (FailureKind::CduPump, "cdu-pump"),
        (FailureKind::Cdu, "cdu"),
        (FailureKind::FacilityPump, "facility-pump"),
        (FailureKind::Chiller, "chiller"),
        (FailureKind::DryCooler, "dry-cooler"),
        (FailureKind::Crah, "crah"),
        (FailureKind::Utility, "utility"),
        (FailureKind::Ups, "ups"),
        (FailureKind::Pdu, "pdu"),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(k, _)| *k == self).map_or("?", |(_, n)| n)
    }
}

/// How utilization varies over time, as a multiplier 0..1 of each rack's base utilization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Profile {
    Constant,
    /// Inference following the day: `trough` at 04:00, `peak` at 16:00 (sim time 0 = midnight).
    Diurnal {
        peak: f64,
        trough: f64,
    },
    /// Training with periodic checkpoints: GPUs drop to `level` for `checkpoint_s` every `every_s`.
    Training {
        every_s: f64,
        checkpoint_s: f64,
        level: f64,
    },
    /// Piecewise-constant random load between `low` and `high`, a new level every `period_s`.
    Bursts {
        period_s: f64,
        low: f64,
        high: f64,
    },
}

/// A profile applied to racks whose id starts with `target` (`all` for every rack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub target: String,
    pub profile: Profile,
}

impl Profile {
    pub fn factor(&self, t: f64, seed: u64, group: u64) -> f64 {
        let f = match *self {
            Profile::Constant => 1.0,
            Profile::Diurnal { peak, trough } => {
                let phase = (t - 4.0 * 3600.0) / 86_400.0 * std::f64::consts::TAU;
                trough + (peak - trough) * (0.5 - 0.5 * phase.cos())
            }
            Profile::Training { every_s, checkpoint_s, level } => {
                if every_s > 0.0 && t.rem_euclid(every_s) >= every_s - checkpoint_s { level } else { 1.0 }
            }
            Profile::Bursts { period_s, low, high } => {
                let k = if period_s > 0.0 { (t / period_s).floor() as u64 } else { 0 };
                let r = splitmix(seed ^ splitmix(group) ^ splitmix(k.wrapping_add(0x9E37)));
                low + (high - low) * ((r >> 11) as f64 / (1u64 << 53) as f64)
            }
        };
        if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.0 }
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Does `id` fall under `target` (an id, a prefix of whole path parts, or `all`)?
pub fn matches(target: &str, id: &str) -> bool {
    target == "all" || id == target || (id.starts_with(target) && id.as_bytes().get(target.len()) == Some(&b'/'))
}

/// Parses `90`, `90s`, `15m`, `2h`, `1d` (or combinations like `1h30m`) to seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(format!("\"{s}\" is not a duration ≥ 0")) };
    }
    let mut total = 0.0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            _ => return Err(format!("\"{s}\": unknown unit '{c}' (use s, m, h or d, e.g. 90s, 15m, 2h)")),
        };
        let v: f64 = num.parse().map_err(|_| format!("\"{s}\" is not a duration (e.g. 90s, 15m, 2h)"))?;
        total += v * unit;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("\"{s}\": a number without a unit at the end (e.g. 90s, 15m, 2h)"));
    }
    if s.is_empty() { Err("empty duration".into()) } else { Ok(total) }
}

/// Parses `KIND[:TARGET]@TIME`, e.g. `cdu-pump:hall-1/cdu-1@60`, `utility@5m`.
pub fn parse_failure(s: &str) -> Result<(Failure, f64), String> {
    let (head, at) = s
        .rsplit_once('@')
        .ok_or_else(|| format!("\"{s}\": expected KIND[:TARGET]@SECONDS, e.g. cdu:hall-1/cdu-1@60"))?;
    let (kind, target) = match head.split_once(':') {
        Some((k, t)) => (k, t.to_string()),
        None => (head, "all".to_string()),
    };
    let kind = FailureKind::ALL.iter().find(|(_, n)| *n == kind).map(|(k, _)| *k).ok_or_else(|| {
        format!("\"{kind}\" is not a failure kind; use one of {}", FailureKind::ALL.map(|(_, n)| n).join(", "))
    })?;
    if target.is_empty() {
        return Err(format!("\"{s}\": empty target after ':' (use an object id or all)"));
    }
    Ok((Failure { kind, target }, parse_duration(at)?))
}

impl Scenario {
    pub fn from_ron(src: &str) -> Result<Scenario, crate::diagnostic::Diagnostic> {
        ron::Options::default().from_str::<Scenario>(src).map_err(|e| {
            crate::diagnostic::Diagnostic::error(e.code.to_string())
                .at(e.span.start.line, e.span.start.col)
                .hint("a scenario is `(events: [(at_s: 60, action: Fail((kind: Cdu, target: \"hall-1/cdu-1\")))])`")
        })
    }

    /// Events sorted by time; ties keep file order.
    pub fn sorted_events(&self) -> Vec<Event> {
        let mut e: Vec<Event> = self.events.iter().filter(|e| e.at_s.is_finite()).cloned().collect();
        e.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), 90.0);
        assert_eq!(parse_duration("2h").unwrap(), 7200.0);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("1.5m").unwrap(), 90.0);
        for bad in ["", "x", "5y", "-3", "2h5", "NaN"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn failure_flags() {
        let (f, t) = parse_failure("cdu-pump:hall-1/cdu-1@60").unwrap();
        assert_eq!((f.kind, f.target.as_str(), t), (FailureKind::CduPump, "hall-1/cdu-1", 60.0));
        let (f, t) = parse_failure("utility@5m").unwrap();
        assert_eq!((f.kind, f.target.as_str(), t), (FailureKind::Utility, "all", 300.0));
        assert!(parse_failure("pump@3").unwrap_err().contains("cdu-pump"));
        assert!(parse_failure("cdu:@3").is_err());
        assert!(parse_failure("cdu").is_err());
    }

    #[test]
    fn id_matching_respects_path_parts() {
        assert!(matches("hall-1", "hall-1/row-A/rack-01"));
        assert!(!matches("hall-1", "hall-10/row-A/rack-01"));
        assert!(matches("all", "x"));
        assert!(matches("hall-1/cdu-1", "hall-1/cdu-1"));
    }

    #[test]
    fn profiles_stay_in_range_and_checkpoints_dip() {
        let p = Profile::Training { every_s: 1800.0, checkpoint_s: 60.0, level: 0.3 };
        assert_eq!(p.factor(100.0, 0, 0), 1.0);
        assert_eq!(p.factor(1790.0, 0, 0), 0.3);
        let d = Profile::Diurnal { peak: 1.0, trough: 0.4 };
        assert!((d.factor(4.0 * 3600.0, 0, 0) - 0.4).abs() < 1e-9);
        assert!((d.factor(16.0 * 3600.0, 0, 0) - 1.0).abs() < 1e-9);
        let b = Profile::Bursts { period_s: 60.0, low: 0.2, high: 0.9 };
        for t in 0..500 {
            let f = b.factor(t as f64 * 7.0, 3, 1);
            assert!((0.2..=0.9).contains(&f));
        }
        assert_eq!(b.factor(10.0, 3, 1), b.factor(50.0, 3, 1));
    }

    #[test]
    fn scenario_file_errors_have_positions() {
        let ok =
            Scenario::from_ron("(events: [(at_s: 60, action: Fail((kind: Cdu, target: \"hall-1/cdu-1\")))])").unwrap();
        assert_eq!(ok.events.len(), 1);
        let e = Scenario::from_ron("(events: [(at_s: 60, action: Explode)])").unwrap_err();
        assert!(e.position.is_some());
    }
}
