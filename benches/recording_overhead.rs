//! How much recording slows a simulation running flat out: one 1,000-rack site under a diurnal
//! load, stepped in one-hour segments alternately without and with a `Recorder` (1 Hz, so every
//! step is a sample). Alternating short segments in one process keeps most of a VM's drifting
//! speed out of the ratio, which separate runs of the CLI could not; on a noisy VM repeat it and
//! compare runs (BENCHMARKS.md). Prints the median ratio of recorded to plain speed over pairs of
//! neighbouring segments, with its quartiles.
//!
//! `cargo bench --no-default-features --bench recording_overhead [-- PAIRS]`
use std::time::Instant;

use factory_twin::generate::{Cooling, GenerateOptions, generate};
use factory_twin::recording::Recorder;
use factory_twin::sim::{Profile, Scenario, Simulation, Workload};

const STEPS: usize = 3_600;

fn main() {
    let pairs: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(40).max(1);
    let site = generate(&GenerateOptions {
        racks: 1_000,
        rack_type: "gb300-nvl72".into(),
        cooling: Cooling::Liquid,
        halls: 1,
        seed: 1,
    })
    .expect("generated site");
    let diurnal = Workload { target: "all".into(), profile: Profile::Diurnal { peak: 1.0, trough: 0.55 } };
    let scenario = Scenario { workloads: vec![diurnal], ..Scenario::default() };
    let mut sim = Simulation::new(site, scenario.clone(), 1.0).expect("simulation");
    let dir = std::env::temp_dir().join(format!("factory-twin-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plain = |sim: &mut Simulation| {
        let t = Instant::now();
        for _ in 0..STEPS {
            sim.step();
        }
        t.elapsed().as_secs_f64()
    };
    let recorded = |sim: &mut Simulation, i: usize| {
        let path = dir.join(format!("{i}.mcap"));
        let mut rec = Recorder::create(&path, sim, &scenario, 1.0).expect("recorder");
        let t = Instant::now();
        for _ in 0..STEPS {
            sim.step();
            rec.record(sim).expect("record");
        }
        let wall = t.elapsed().as_secs_f64();
        rec.finish().expect("finish");
        std::fs::remove_file(&path).expect("remove");
        wall
    };
    plain(&mut sim);
    let mut ratios = Vec::with_capacity(pairs);
    let (mut sum_plain, mut sum_rec) = (0.0, 0.0);
    for i in 0..pairs {
        // Alternate which goes first, so neither always follows the other's cache state.
        let (p, r) = if i % 2 == 0 {
            let p = plain(&mut sim);
            (p, recorded(&mut sim, i))
        } else {
            let r = recorded(&mut sim, i);
            (plain(&mut sim), r)
        };
        sum_plain += p;
        sum_rec += r;
        ratios.push(p / r);
    }
    let _ = std::fs::remove_dir(&dir);
    ratios.sort_by(f64::total_cmp);
    let q = |f: f64| ratios[((ratios.len() - 1) as f64 * f).round() as usize];
    println!(
        "recording_overhead 1000 racks, {pairs} pairs of {STEPS} steps: recorded/plain speed median {:.3} \
         (quartiles {:.3}..{:.3}); plain {:.0}x, recorded {:.0}x real time",
        q(0.5),
        q(0.25),
        q(0.75),
        pairs as f64 * STEPS as f64 / sum_plain,
        pairs as f64 * STEPS as f64 / sum_rec,
    );
}
