//! Tokens/s per GPU from published MLPerf Inference results: the headline number's source.
//!
//! MLCommons, MLPerf Inference v5.1 (2025), datacenter division, closed, **Server** scenario
//! (requests arrive as a Poisson stream and must meet the benchmark's latency limits: the
//! figure closest to serving users). Each figure is the submission's "Completed tokens per
//! second" (`mlperf_log_summary.txt`, or the round's `summary_results.json`), divided by the
//! accelerators in the submitted system. Results live in github.com/mlcommons/
//! inference_results_v5.1 under `closed/<submitter>/results/<system>/<benchmark>/server/`.

/// One published result: a system's tokens/s on a benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlperfResult {
    pub benchmark: &'static str,
    /// The rack types' `gpu_model` key.
    pub gpu: &'static str,
    /// MLCommons result id, submitter and system as submitted.
    pub result_id: &'static str,
    pub submitter: &'static str,
    pub system: &'static str,
    pub accelerators: u32,
    /// Completed tokens/s of the whole system.
    pub tokens_per_s: f64,
}

impl MlperfResult {
    pub fn per_gpu(&self) -> f64 {
        self.tokens_per_s / self.accelerators.max(1) as f64
    }
}

/// A benchmark a scene can name in `benchmark`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Benchmark {
    pub id: &'static str,
    pub name: &'static str,
}

/// The default: the one benchmark every GPU of the catalogue has a v5.1 Server result on.
pub const DEFAULT_BENCHMARK: &str = "llama3.1-405b";
/// Not a benchmark: each rack type's own `tokens_per_s` (the scene's figure).
pub const OWN_FIGURES: &str = "own";

pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark { id: "llama3.1-405b", name: "Llama 3.1 405B" },
    Benchmark { id: "llama2-70b", name: "Llama 2 70B" },
    Benchmark { id: "deepseek-r1", name: "DeepSeek-R1" },
];

/// GPUs the results cover (the rack types' `gpu_model`).
pub const GPUS: &[&str] = &["GB300", "GB200", "B200", "H200-SXM", "H100-SXM"];

const NV_B200: &str = "B200-SXM-180GBx8_TRT";
const NV_GB200: &str = "GB200-NVL72_GB200-186GB_aarch64x72_TRT";
const NV_GB300: &str = "GB300-NVL72_GB300-288GB_aarch64x72_TRT";
const CISCO_H100: &str = "HGX-H100_H100-SXM-80GBx16_TRT";
const NEBIUS_H200: &str = "H200-SXM-141GBx8_TRT";

/// MLPerf Inference v5.1, closed datacenter, Server. NVIDIA submitted no H100 or H200 system in
/// v5.1; those rows are partners' (Cisco, Nebius), within ~3 % of NVIDIA's own v5.0 per-GPU
/// figures on Llama 2 70B.
pub const RESULTS: &[MlperfResult] = &[
    // Llama 3.1 405B.
    r("llama3.1-405b", "GB300", "5.1-0072", "NVIDIA", NV_GB300, 72, 12_248.42),
    r("llama3.1-405b", "GB200", "5.1-0071", "NVIDIA", NV_GB200, 72, 11_614.28),
    r("llama3.1-405b", "B200", "5.1-0069", "NVIDIA", NV_B200, 8, 1_240.42),
    r("llama3.1-405b", "H200-SXM", "5.1-0075", "Nebius", NEBIUS_H200, 8, 295.36),
    r("llama3.1-405b", "H100-SXM", "5.1-0015", "Cisco", CISCO_H100, 16, 563.365),
    // Llama 2 70B (GB300 was not submitted on it).
    r("llama2-70b", "GB200", "5.1-0070", "NVIDIA", "GB200-NVL72_GB200-186GB_aarch64x4_TRT", 4, 49_359.61),
    r("llama2-70b", "B200", "5.1-0069", "NVIDIA", NV_B200, 8, 99_123.04),
    r("llama2-70b", "H200-SXM", "5.1-0075", "Nebius", NEBIUS_H200, 8, 34_029.4),
    r("llama2-70b", "H100-SXM", "5.1-0015", "Cisco", CISCO_H100, 16, 61_101.3),
    // DeepSeek-R1 (new in v5.1; no H100 or H200 result).
    r("deepseek-r1", "GB300", "5.1-0072", "NVIDIA", NV_GB300, 72, 209_327.68),
    r("deepseek-r1", "GB200", "5.1-0071", "NVIDIA", NV_GB200, 72, 167_578.06),
    r("deepseek-r1", "B200", "5.1-0069", "NVIDIA", NV_B200, 8, 18_592.24),
];

const fn r(
    benchmark: &'static str,
    gpu: &'static str,
    result_id: &'static str,
    submitter: &'static str,
    system: &'static str,
    accelerators: u32,
    tokens_per_s: f64,
) -> MlperfResult {
    MlperfResult { benchmark, gpu, result_id, submitter, system, accelerators, tokens_per_s }
}

pub fn benchmark(id: &str) -> Option<&'static Benchmark> {
    BENCHMARKS.iter().find(|b| b.id == id)
}

/// The published result for `gpu` on `benchmark`, if there is one.
pub fn result(benchmark: &str, gpu: &str) -> Option<&'static MlperfResult> {
    RESULTS.iter().find(|r| r.benchmark == benchmark && r.gpu == gpu)
}

/// A rack's tokens/s at full utilization: its GPUs × the published per-GPU figure, or its
/// type's own figure (`OWN_FIGURES`, no `gpu_model`, or no result for that GPU).
pub fn rack_tokens_per_s(benchmark: &str, gpu_model: Option<&str>, gpus: u32, own: f64) -> f64 {
    match gpu_model.and_then(|g| result(benchmark, g)) {
        Some(r) if benchmark != OWN_FIGURES => r.per_gpu() * gpus as f64,
        _ => own,
    }
}

/// What the tokens are of, for reports: the benchmark and round, or the scene's own figures.
pub fn describe(benchmark: &str) -> String {
    match self::benchmark(benchmark) {
        Some(b) => format!("{} (MLPerf Inference v5.1, datacenter, Server, per GPU)", b.name),
        None => "the rack types' own tokens_per_s (the scene's figures)".into(),
    }
}

/// What a site's tokens are of: its benchmark (or the default), and which of the rack types its
/// racks use fall back to their own figure (no `gpu_model`, or no result for their GPU).
pub fn tokens_of(site: &super::Site) -> String {
    let benchmark = site.benchmark.as_deref().unwrap_or(DEFAULT_BENCHMARK);
    let mut out = describe(benchmark);
    if benchmark == OWN_FIGURES {
        return out;
    }
    let catalogue = site.rack_catalogue();
    let mut own: Vec<String> = Vec::new();
    for rack in site.racks() {
        let Some(ty) = rack.rack_type().and_then(|id| catalogue.iter().find(|t| t.id == id)) else { continue };
        if ty.gpus == 0 || ty.tokens_per_s <= 0.0 && ty.gpu_model.is_none() || own.contains(&ty.id) {
            continue;
        }
        if ty.gpu_model.as_deref().and_then(|g| result(benchmark, g)).is_none() {
            own.push(ty.id.clone());
        }
    }
    if !own.is_empty() {
        out.push_str(&format!(
            "; no such result for {}: their own tokens_per_s, not of this benchmark",
            own.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_gpu_has_the_default_benchmark_and_ids_are_known() {
        for g in GPUS {
            assert!(result(DEFAULT_BENCHMARK, g).is_some(), "{g}");
        }
        for r in RESULTS {
            assert!(benchmark(r.benchmark).is_some() && GPUS.contains(&r.gpu), "{r:?}");
            assert!(r.per_gpu() > 0.0);
        }
        // GB300 NVL72 on Llama 3.1 405B, Server: 12,248.42 tokens/s over 72 GPUs.
        assert!((result("llama3.1-405b", "GB300").unwrap().per_gpu() - 170.117).abs() < 1e-3);
    }

    #[test]
    fn a_missing_result_or_own_figures_fall_back_to_the_type() {
        assert_eq!(rack_tokens_per_s("llama2-70b", Some("GB300"), 72, 5.0), 5.0);
        assert_eq!(rack_tokens_per_s(OWN_FIGURES, Some("GB300"), 72, 5.0), 5.0);
        assert_eq!(rack_tokens_per_s("deepseek-r1", None, 8, 7.0), 7.0);
        let b200 = rack_tokens_per_s("deepseek-r1", Some("B200"), 8, 0.0);
        assert!((b200 - 18_592.24).abs() < 1e-6);
    }
}
