//! The resilience check: every single failure of a design (or every pair) simulated from the
//! healthy steady state, ranked by the GPU work it costs.
//!
//! The steady state is computed once: a healthy run to `at_s`, cloned for each what-if, which
//! then fails its candidate at `at_s` and runs the window. Each what-if is compared step by
//! step with the healthy run over the same window (computed once too), so a design that loses
//! output anyway (a hot day) is not charged to the failure. What-ifs are independent and
//! deterministic: they run on scoped threads, results are kept by candidate index, and the
//! report does not depend on how many threads ran them (nor on how the candidates were sliced
//! across machines: `merge` puts slices back into exactly the local report).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::model::Site;
use crate::sim::Simulation;
use crate::sim::network::Network;
use crate::sim::scenario::{Action, Failure, FailureKind, Scenario};

/// Pairs beyond this need `--yes`: at ~0.1 s a what-if of a 1,000-rack hall, an hour on two cores.
pub const MAX_PAIRS_WITHOUT_YES: usize = 20_000;

/// What to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// Window each what-if runs after its failure, seconds.
    pub duration_s: f64,
    /// When the failure happens (the healthy run before it is the steady state), seconds.
    pub at_s: f64,
    /// Kinds of failure to try (empty: every kind).
    pub kinds: Vec<FailureKind>,
    /// 1: every single failure; 2: every pair.
    pub depth: u8,
    /// Time step, seconds.
    pub dt: f64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { duration_s: 3600.0, at_s: 600.0, kinds: Vec::new(), depth: 1, dt: 1.0 }
    }
}

/// One what-if: the failures it applies at `at_s` (one, or two at depth 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub failures: Vec<Failure>,
}

impl Candidate {
    /// "cdu-pump hall-1/cdu-a", or two joined by " + ".
    pub fn name(&self) -> String {
        self.failures.iter().map(|f| format!("{} {}", f.kind.name(), f.target)).collect::<Vec<_>>().join(" + ")
    }
}

/// Every single-failure candidate of the site's kinds in `kinds` (all when empty), in a fixed
/// order: kind by kind (`FailureKind::ALL`'s order), objects in scene order. A CDU pump or a
/// facility pump is one pump of that unit (a unit without pumps has none to fail).
pub fn single_candidates(net: &Network, kinds: &[FailureKind]) -> Vec<Candidate> {
    let ids = &net.ids;
    let mut out = Vec::new();
    for (kind, _) in FailureKind::ALL {
        if !kinds.is_empty() && !kinds.contains(&kind) {
            continue;
        }
        let targets: Vec<&String> = match kind {
            FailureKind::CduPump => {
                ids.cdus.iter().zip(&net.cdus).filter(|(_, c)| c.pumps > 0).map(|(i, _)| i).collect()
            }
            FailureKind::Cdu => ids.cdus.iter().collect(),
            FailureKind::FacilityPump => {
                ids.loops.iter().zip(&net.loops).filter(|(_, l)| l.pumps > 0).map(|(i, _)| i).collect()
            }
            FailureKind::Chiller => ids.chillers.iter().collect(),
            FailureKind::DryCooler => ids.dry_coolers.iter().collect(),
            FailureKind::Crah => ids.crahs.iter().collect(),
            FailureKind::Utility => ids.feeds.iter().collect(),
            FailureKind::Ups => ids.ups.iter().collect(),
            FailureKind::Pdu => ids.pdus.iter().collect(),
        };
        out.extend(targets.into_iter().map(|t| Candidate { failures: vec![Failure { kind, target: t.clone() }] }));
    }
    out
}

/// The candidates at `depth`: the singles, or every unordered pair of them (i < j).
pub fn candidates(net: &Network, kinds: &[FailureKind], depth: u8) -> Vec<Candidate> {
    let singles = single_candidates(net, kinds);
    if depth < 2 {
        return singles;
    }
    let mut out = Vec::with_capacity(singles.len() * singles.len().saturating_sub(1) / 2);
    for (i, a) in singles.iter().enumerate() {
        for b in &singles[i + 1..] {
            out.push(Candidate { failures: [a.failures.clone(), b.failures.clone()].concat() });
        }
    }
    out
}

/// How many candidates a site has at `depth`, without building them.
pub fn candidate_count(net: &Network, kinds: &[FailureKind], depth: u8) -> usize {
    let n = single_candidates(net, kinds).len();
    if depth < 2 { n } else { n * n.saturating_sub(1) / 2 }
}

/// Whether the design states redundancy for a failure: a spare inside the unit (pumps beyond
/// duty), or another unit of the same kind on the same loop, in the same hall, on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Redundancy {
    /// No spare stated: this unit is the only path.
    None,
    /// A spare is stated and the failure cost no output.
    Held,
    /// A spare is stated, yet the failure cost output.
    Failed,
}

/// What one what-if cost, against the healthy run over the same window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Index in the check's candidate list (what slices and merges key on).
    pub index: usize,
    pub failure: String,
    pub kinds: Vec<String>,
    pub gpu_hours_lost: f64,
    pub tokens_lost: f64,
    /// Seconds after the failure until the first extra rack throttled / shut down (or lost
    /// power), if any did.
    pub first_throttle_after_s: Option<f64>,
    pub first_shutdown_after_s: Option<f64>,
    pub peak_gpu_c: f64,
    pub peak_coolant_c: f64,
    pub peak_inlet_c: f64,
    /// Most racks throttled or down at once, beyond the healthy run's.
    pub racks_affected: u32,
    pub redundancy: Redundancy,
    /// This failure alone costs output.
    pub costs_output: bool,
}

/// A kind's line: how many of its failures cost output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindSummary {
    pub kind: String,
    pub candidates: usize,
    pub costing_output: usize,
    pub text: String,
}

/// The whole check: what was run and what each what-if cost, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub scene: String,
    pub options: CheckOptions,
    pub candidates: usize,
    /// The healthy run over the window: tokens/s it delivers and the GPUs it has.
    pub healthy_tokens_per_s: f64,
    pub gpus: u64,
    /// Ranked: most tokens lost first, then GPU-hours, then the candidate's order.
    pub results: Vec<Outcome>,
    pub summary: Vec<KindSummary>,
    /// Single failures that cost output, by name, ranked (empty at depth 2, which runs pairs).
    pub single_points_of_failure: Vec<String>,
}

/// One slice's results, as `check --slice i/N` writes them and `--merge` reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceResult {
    pub format: String,
    pub scene: String,
    /// FNV-1a 64 of the scene's RON text: slices of other scenes are refused.
    pub scene_hash: String,
    pub options: CheckOptions,
    pub slice: usize,
    pub slices: usize,
    pub candidates: usize,
    pub healthy_tokens_per_s: f64,
    pub gpus: u64,
    pub outcomes: Vec<Outcome>,
}

pub const SLICE_FORMAT: &str = "factory-twin-check-slice-v1";

/// The healthy run over the window: per-step KPIs the what-ifs are compared with.
struct Healthy {
    tokens: Vec<f64>,
    output: Vec<f64>,
    affected: u32,
    throttled: Vec<u32>,
    down: Vec<u32>,
    tokens_per_s: f64,
}

/// The indices of slice `i` of `n` (0-based): every n-th candidate from i, so each slice gets a
/// like mix of kinds.
pub fn slice_indices(total: usize, slice: Option<(usize, usize)>) -> Vec<usize> {
    match slice {
        Some((i, n)) => (i..total).step_by(n.max(1)).collect(),
        None => (0..total).collect(),
    }
}

/// Checks `options` before anything runs: a clear message for each bad input.
pub fn validate_options(o: &CheckOptions) -> Result<(), String> {
    if !(o.duration_s.is_finite() && o.duration_s > 0.0) {
        return Err(format!("--duration {} s: use a positive duration", o.duration_s));
    }
    if !(o.at_s.is_finite() && o.at_s >= 0.0) {
        return Err(format!("--at {} s: use a time at or after 0", o.at_s));
    }
    if !(1..=2).contains(&o.depth) {
        return Err(format!("--depth {}: use 1 (single failures) or 2 (every pair)", o.depth));
    }
    if !(o.dt.is_finite() && o.dt > 0.0 && o.dt <= 60.0) {
        return Err(format!("--dt {} s: use 0 < dt ≤ 60 s", o.dt));
    }
    Ok(())
}

/// The prepared check: the steady state and the healthy window, computed once.
pub struct Check {
    scene: String,
    options: CheckOptions,
    steady: Simulation,
    healthy: Healthy,
    gpus: u64,
    racks: u32,
    candidates: Vec<Candidate>,
    /// Per single candidate: whether the design states a spare for it.
    stated: Vec<bool>,
}

impl Check {
    /// Settles the site, runs it healthy to `at_s` (the steady state every what-if starts
    /// from) and then over the window (what each is compared with).
    pub fn prepare(scene: String, site: Site, options: CheckOptions) -> Result<Check, String> {
        validate_options(&options)?;
        let net = Network::build(&site)?;
        if net.racks.is_empty() {
            return Err(format!("{scene}: the site has no racks: there is no output to lose"));
        }
        let candidates = candidates(&net, &options.kinds, options.depth);
        if candidates.is_empty() {
            return Err(format!("{scene}: no equipment of the kinds asked for: nothing to fail"));
        }
        let stated = candidates.iter().map(|c| c.failures.iter().all(|f| spare_stated(&net, f, &c.failures))).collect();
        let gpus = net.racks.iter().map(|r| r.gpus as u64).sum();
        let racks = net.racks.len() as u32;
        let mut steady = Simulation::new(site, Scenario::default(), options.dt)?;
        steady.run_until(options.at_s);
        let mut run = steady.clone();
        let steps = (options.duration_s / options.dt).ceil() as usize;
        let mut healthy = Healthy {
            tokens: Vec::with_capacity(steps),
            output: Vec::with_capacity(steps),
            affected: 0,
            throttled: Vec::with_capacity(steps),
            down: Vec::with_capacity(steps),
            tokens_per_s: 0.0,
        };
        for _ in 0..steps {
            run.step();
            let k = run.kpis();
            healthy.tokens.push(k.tokens_per_s);
            healthy.output.push(k.output_fraction);
            healthy.throttled.push(k.racks_throttled);
            healthy.down.push(k.racks_shutdown);
            healthy.affected = healthy.affected.max((k.racks_throttled + k.racks_shutdown).min(racks));
        }
        healthy.tokens_per_s = healthy.tokens.iter().sum::<f64>() / steps.max(1) as f64;
        Ok(Check { scene, options, steady, healthy, gpus, racks, candidates, stated })
    }

    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The healthy state at `at_s` every what-if starts from (the app replays one from it).
    pub fn steady(&self) -> &Simulation {
        &self.steady
    }

    /// Runs the candidates at `indices` on `jobs` threads; `progress(done, total)` is called as
    /// each finishes (from the worker threads). Results come back in `indices`' order.
    pub fn run(&self, indices: &[usize], jobs: usize, progress: &(dyn Fn(usize, usize) + Sync)) -> Vec<Outcome> {
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Outcome>>> = indices.iter().map(|_| Mutex::new(None)).collect();
        let jobs = jobs.clamp(1, indices.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&index) = indices.get(k) else { break };
                        let outcome = self.what_if(index);
                        if let Ok(mut slot) = slots[k].lock() {
                            *slot = Some(outcome);
                        }
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, indices.len());
                    }
                });
            }
        });
        slots.into_iter().filter_map(|m| m.into_inner().ok().flatten()).collect()
    }

    /// One what-if: the steady state, the candidate's failures at `at_s`, the window.
    fn what_if(&self, index: usize) -> Outcome {
        let c = &self.candidates[index];
        let mut sim = self.steady.clone();
        for f in &c.failures {
            sim.apply(&Action::Fail(f.clone()));
        }
        let dt = self.options.dt;
        let h = &self.healthy;
        let (mut tokens_lost, mut output_lost) = (0.0, 0.0);
        let (mut first_throttle, mut first_down) = (None, None);
        let (mut gpu, mut coolant, mut inlet) = (f64::MIN, f64::MIN, f64::MIN);
        let mut affected = 0u32;
        for step in 0..h.tokens.len() {
            sim.step();
            let k = sim.kpis();
            tokens_lost += (h.tokens[step] - k.tokens_per_s) * dt;
            output_lost += (h.output[step] - k.output_fraction) * dt;
            // From the failure to the start of the step it showed in (`simulate`'s throttle
            // onset counts the same way).
            let after = step as f64 * dt;
            if first_throttle.is_none() && k.racks_throttled > h.throttled[step] {
                first_throttle = Some(after);
            }
            if first_down.is_none() && k.racks_shutdown > h.down[step] {
                first_down = Some(after);
            }
            gpu = gpu.max(k.max_gpu_temp_c);
            coolant = coolant.max(k.max_coolant_c);
            inlet = inlet.max(k.max_inlet_air_c);
            // A rack that shuts down shows as throttled too in that step: count it once.
            affected = affected.max((k.racks_throttled + k.racks_shutdown).min(self.racks));
        }
        // Rounding over an hour of steps leaves ~1e-9 where nothing was lost.
        let tokens_lost = if tokens_lost.abs() < 1e-6 * (h.tokens_per_s * self.options.duration_s).max(1.0) {
            0.0
        } else {
            tokens_lost
        };
        let gpu_hours_lost = if tokens_lost == 0.0 { 0.0 } else { output_lost * self.gpus as f64 / 3600.0 };
        let costs_output = tokens_lost > 0.0 || gpu_hours_lost > 1e-9;
        let redundancy = match (self.stated[index], costs_output) {
            (false, _) => Redundancy::None,
            (true, false) => Redundancy::Held,
            (true, true) => Redundancy::Failed,
        };
        Outcome {
            index,
            failure: c.name(),
            kinds: c.failures.iter().map(|f| f.kind.name().to_string()).collect(),
            gpu_hours_lost,
            tokens_lost,
            first_throttle_after_s: first_throttle,
            first_shutdown_after_s: first_down,
            peak_gpu_c: gpu,
            peak_coolant_c: coolant,
            peak_inlet_c: inlet,
            racks_affected: affected.saturating_sub(h.affected),
            redundancy,
            costs_output,
        }
    }

    /// This process's slice of the check, for `--merge` to combine.
    pub fn slice_result(&self, site_text: &str, slice: usize, slices: usize, outcomes: Vec<Outcome>) -> SliceResult {
        SliceResult {
            format: SLICE_FORMAT.into(),
            scene: self.scene.clone(),
            scene_hash: fnv(site_text),
            options: self.options.clone(),
            slice,
            slices,
            candidates: self.candidates.len(),
            healthy_tokens_per_s: self.healthy.tokens_per_s,
            gpus: self.gpus,
            outcomes,
        }
    }

    /// The report of outcomes covering every candidate.
    pub fn report(&self, outcomes: Vec<Outcome>) -> CheckReport {
        build_report(
            self.scene.clone(),
            self.options.clone(),
            self.candidates.len(),
            self.healthy.tokens_per_s,
            self.gpus,
            outcomes,
        )
    }
}

/// FNV-1a 64 of `text`, as hex.
pub fn fnv(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{h:016x}")
}

/// Ranks outcomes and sums them up by kind: shared by a local run and a merge, so the two give
/// the same report.
pub fn build_report(
    scene: String,
    options: CheckOptions,
    candidates: usize,
    healthy_tokens_per_s: f64,
    gpus: u64,
    mut results: Vec<Outcome>,
) -> CheckReport {
    results.sort_by(|a, b| {
        b.tokens_lost
            .total_cmp(&a.tokens_lost)
            .then(b.gpu_hours_lost.total_cmp(&a.gpu_hours_lost))
            .then(a.index.cmp(&b.index))
    });
    let mut summary = Vec::new();
    for (kind, name) in FailureKind::ALL {
        let _ = kind;
        let of: Vec<&Outcome> = results.iter().filter(|o| o.kinds.len() == 1 && o.kinds[0] == name).collect();
        if of.is_empty() {
            continue;
        }
        let costing = of.iter().filter(|o| o.costs_output).count();
        let text = match costing {
            0 => format!("every single {name} failure is absorbed ({} of {})", of.len(), of.len()),
            n if n == of.len() => {
                format!("every {name} failure costs output ({n} of {n}): each is a single point of failure")
            }
            n => format!("{n} of {} {name} failures cost output", of.len()),
        };
        summary.push(KindSummary { kind: name.to_string(), candidates: of.len(), costing_output: costing, text });
    }
    if options.depth == 2 {
        let costing = results.iter().filter(|o| o.costs_output).count();
        summary.push(KindSummary {
            kind: "pairs".into(),
            candidates: results.len(),
            costing_output: costing,
            text: format!("{costing} of {} failure pairs cost output", results.len()),
        });
    }
    let single_points_of_failure =
        results.iter().filter(|o| o.kinds.len() == 1 && o.costs_output).map(|o| o.failure.clone()).collect();
    CheckReport { scene, options, candidates, healthy_tokens_per_s, gpus, results, summary, single_points_of_failure }
}

/// Slices from `check --slice` put back together: exactly the report a local run gives. Refuses
/// slices of different checks, a missing or repeated slice, or outcomes that do not cover every
/// candidate once.
pub fn merge(slices: Vec<(String, SliceResult)>) -> Result<CheckReport, String> {
    let Some((_, first)) = slices.first() else {
        return Err(
            "no result-*.json slices found: run the array job first, or point --merge at its --out folder".into()
        );
    };
    let first = first.clone();
    let first_file = slices[0].0.clone();
    let mut seen: Vec<Option<String>> = vec![None; first.slices];
    let mut outcomes = Vec::with_capacity(first.candidates);
    for (file, s) in slices {
        if s.format != SLICE_FORMAT {
            return Err(format!("{file}: not a check slice ({:?})", s.format));
        }
        let differs = [
            (s.scene_hash != first.scene_hash, "its scene (edited between tasks?)"),
            (s.options != first.options, "its options"),
            (s.slices != first.slices, "its slice count"),
        ];
        if let Some((_, what)) = differs.iter().find(|(d, _)| *d) {
            return Err(format!("{file}: a slice of another check: {what} differs from {first_file}'s"));
        }
        match seen.get_mut(s.slice) {
            Some(x @ None) => *x = Some(file.clone()),
            Some(Some(other)) => return Err(format!("{file}: slice {} appears twice (also in {other})", s.slice)),
            None => return Err(format!("{file}: slice {} of {} is out of range", s.slice, s.slices)),
        }
        let want = slice_indices(first.candidates, Some((s.slice, s.slices)));
        let got: Vec<usize> = s.outcomes.iter().map(|o| o.index).collect();
        if got != want {
            return Err(format!(
                "{file}: slice {} holds {} of its {} results: it was cut short; run that task again",
                s.slice,
                got.len(),
                want.len()
            ));
        }
        outcomes.extend(s.outcomes);
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(format!(
            "slice {missing} of {} is missing (result-{missing}.json): run that task again, then merge",
            first.slices
        ));
    }
    Ok(build_report(first.scene, first.options, first.candidates, first.healthy_tokens_per_s, first.gpus, outcomes))
}

/// Whether the design states a spare for `f` that the candidate's other failures (`all`, which
/// holds `f`) leave standing (see `Redundancy`): pumps beyond duty, or another chiller or dry
/// cooler on the loop, another CRAH in the hall.
fn spare_stated(net: &Network, f: &Failure, all: &[Failure]) -> bool {
    let ids = &net.ids;
    let find = |list: &[String], target: &str| list.iter().position(|x| x == target);
    // How many of the candidate's failures of this kind hit object `i` of `list`.
    let failed = |kind: FailureKind, list: &[String], i: usize| {
        all.iter().filter(|g| g.kind == kind && find(list, &g.target) == Some(i)).count()
    };
    match f.kind {
        FailureKind::CduPump => find(&ids.cdus, &f.target)
            .is_some_and(|i| net.cdus[i].pumps >= net.cdus[i].duty + failed(FailureKind::CduPump, &ids.cdus, i) as u32),
        FailureKind::FacilityPump => find(&ids.loops, &f.target).is_some_and(|i| {
            net.loops[i].pumps >= net.loops[i].duty + failed(FailureKind::FacilityPump, &ids.loops, i) as u32
        }),
        FailureKind::Chiller => find(&ids.chillers, &f.target).is_some_and(|i| {
            net.loops.iter().filter(|l| l.chillers.contains(&(i as u32))).any(|l| {
                let down: usize =
                    l.chillers.iter().map(|&c| failed(FailureKind::Chiller, &ids.chillers, c as usize)).sum();
                l.chillers.len() > down
            })
        }),
        FailureKind::DryCooler => find(&ids.dry_coolers, &f.target).is_some_and(|i| {
            net.loops.iter().filter(|l| l.dry_coolers.contains(&(i as u32))).any(|l| {
                let down: usize =
                    l.dry_coolers.iter().map(|&d| failed(FailureKind::DryCooler, &ids.dry_coolers, d as usize)).sum();
                l.dry_coolers.len() > down
            })
        }),
        FailureKind::Crah => find(&ids.crahs, &f.target).is_some_and(|i| {
            let hall = net.crahs[i].hall;
            let in_hall = net.crahs.iter().enumerate().filter(|(_, c)| c.hall == hall);
            let (n, down) =
                in_hall.fold((0, 0), |(n, d), (k, _)| (n + 1, d + failed(FailureKind::Crah, &ids.crahs, k)));
            n > down
        }),
        // A UPS takes one feed, and a rack one CDU, one PDU, one UPS in this model: no
        // alternate path (another feed to other UPS is no spare for these).
        FailureKind::Utility | FailureKind::Cdu | FailureKind::Ups | FailureKind::Pdu => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene;

    fn scene_file(name: &str) -> Site {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes").join(name);
        scene::load_file(&path).unwrap_or_else(|e| panic!("{name}: {:?}", e.0)).site
    }

    fn short() -> CheckOptions {
        CheckOptions { duration_s: 1800.0, at_s: 300.0, ..Default::default() }
    }

    fn local(name: &str, options: CheckOptions, jobs: usize) -> CheckReport {
        let check = Check::prepare(name.into(), scene_file(name), options).unwrap();
        let all: Vec<usize> = (0..check.candidates().len()).collect();
        check.report(check.run(&all, jobs, &|_, _| {}))
    }

    /// The cases: the demo hall's only CDU stops its racks, one pump of its 2+1 CDU is
    /// absorbed.
    #[test]
    fn the_demo_halls_only_cdu_is_a_single_point_of_failure_and_a_pump_is_absorbed() {
        let r = local("demo-hall.ron", short(), 2);
        let get = |name: &str| r.results.iter().find(|o| o.failure == name).unwrap_or_else(|| panic!("{name}"));
        let cdu = get("cdu hall-1/cdu-1");
        assert!(cdu.costs_output && cdu.redundancy == Redundancy::None, "{cdu:?}");
        assert_eq!(cdu.racks_affected, 8, "every rack of the hall: {cdu:?}");
        assert!(cdu.first_shutdown_after_s.is_some_and(|t| t < 120.0), "{cdu:?}");
        let pump = get("cdu-pump hall-1/cdu-1");
        assert!(!pump.costs_output && pump.redundancy == Redundancy::Held && pump.tokens_lost == 0.0, "{pump:?}");
        assert!(r.single_points_of_failure.contains(&"cdu hall-1/cdu-1".to_string()));
        assert!(
            r.summary.iter().any(|k| k.text == "every single cdu-pump failure is absorbed (1 of 1)"),
            "{:?}",
            r.summary
        );
        // Ranked by tokens lost.
        assert!(r.results.windows(2).all(|w| w[0].tokens_lost >= w[1].tokens_lost));
    }

    /// Every single point of failure of the SuperPOD hall, by name: its four CDUs, four busways,
    /// two UPS and its one utility feed; every pump, chiller, dry cooler and CRAH has a spare
    /// that holds.
    #[test]
    fn the_superpod_halls_single_points_of_failure_are_named() {
        let r = local("superpod-hall.ron", short(), 2);
        let mut spof = r.single_points_of_failure.clone();
        spof.sort();
        assert_eq!(
            spof,
            [
                "cdu hall-1/cdu-a",
                "cdu hall-1/cdu-b",
                "cdu hall-1/cdu-c",
                "cdu hall-1/cdu-d",
                "pdu busway-A",
                "pdu busway-B",
                "pdu busway-C",
                "pdu busway-D",
                "ups ups-1",
                "ups ups-2",
                "utility feed-1",
            ]
        );
        for kind in ["cdu-pump", "facility-pump", "chiller", "dry-cooler", "crah"] {
            assert!(r.results.iter().filter(|o| o.kinds == [kind]).all(|o| o.redundancy == Redundancy::Held), "{kind}");
        }
    }

    /// Results do not depend on the thread count, nor on slicing: the merge of slices equals
    /// the local run, to the byte of its JSON.
    #[test]
    fn threads_and_slices_give_the_same_report() {
        let one = local("demo-hall.ron", short(), 1);
        let two = local("demo-hall.ron", short(), 2);
        let json = |r: &CheckReport| serde_json::to_string_pretty(r).unwrap();
        assert_eq!(json(&one), json(&two));
        let site = scene_file("demo-hall.ron");
        let text = scene::to_ron(&site).unwrap();
        let check = Check::prepare("demo-hall.ron".into(), site, short()).unwrap();
        let n = 3;
        let slices: Vec<(String, SliceResult)> = (0..n)
            .rev()
            .map(|i| {
                let idx = slice_indices(check.candidates().len(), Some((i, n)));
                (format!("result-{i}.json"), check.slice_result(&text, i, n, check.run(&idx, 1, &|_, _| {})))
            })
            .collect();
        // Through JSON, as the files carry them.
        let read: Vec<(String, SliceResult)> = slices
            .iter()
            .map(|(f, s)| (f.clone(), serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap()))
            .collect();
        assert_eq!(json(&merge(read).unwrap()), json(&one));

        // A missing, a repeated, a cut-short and a foreign slice are each refused by name.
        let e = merge(slices[..2].to_vec()).unwrap_err();
        assert!(e.contains("slice 0 of 3 is missing"), "{e}");
        let e = merge(vec![slices[0].clone(), slices[0].clone()]).unwrap_err();
        assert!(e.contains("appears twice"), "{e}");
        let mut cut = slices[1].clone();
        cut.1.outcomes.pop();
        let e = merge(vec![slices[0].clone(), cut, slices[2].clone()]).unwrap_err();
        assert!(e.contains("cut short"), "{e}");
        let mut other = slices[2].clone();
        other.1.options.duration_s = 60.0;
        let e = merge(vec![slices[0].clone(), slices[1].clone(), other]).unwrap_err();
        assert!(e.contains("another check"), "{e}");
        assert!(merge(Vec::new()).unwrap_err().contains("no result-*.json"));
    }

    #[test]
    fn pairs_are_counted_before_they_run_and_bad_options_are_refused() {
        let net = Network::build(&scene_file("superpod-hall.ron")).unwrap();
        assert_eq!(candidate_count(&net, &[], 1), 26);
        assert_eq!(candidate_count(&net, &[], 2), 26 * 25 / 2);
        assert_eq!(candidates(&net, &[FailureKind::Chiller], 2).len(), 6);
        assert_eq!(candidates(&net, &[FailureKind::Chiller], 2)[0].name(), "chiller ch-1 + chiller ch-2");
        for (o, want) in [
            (CheckOptions { depth: 3, ..short() }, "--depth 3"),
            (CheckOptions { duration_s: 0.0, ..short() }, "--duration"),
            (CheckOptions { at_s: -1.0, ..short() }, "--at"),
            (CheckOptions { dt: 120.0, ..short() }, "--dt"),
        ] {
            assert!(validate_options(&o).unwrap_err().contains(want), "{o:?}");
        }
        let e = Check::prepare("empty".into(), scene_file("empty-hall.ron"), short()).err().unwrap();
        assert!(e.contains("no racks"), "{e}");
        assert_eq!(slice_indices(7, Some((2, 3))), vec![2, 5]);
    }
}
