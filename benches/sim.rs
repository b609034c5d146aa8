//! Simulation step time on generated scenes, and a plain pass over a buffer the size of the sim
//! state, so the step can be reported as a ratio to the memory limit.
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use factory_twin::generate::{Cooling, GenerateOptions, generate};
use factory_twin::recording::codec::{Columns, Prior, Shape, columns_of, encode_into};
use factory_twin::sim::{Profile, Scenario, Simulation, StateCopy, Workload};

fn sim_for(racks: usize) -> Simulation {
    sim_with(racks, Scenario::default())
}

fn sim_with(racks: usize, scenario: Scenario) -> Simulation {
    let site = generate(&GenerateOptions {
        racks,
        rack_type: "gb300-nvl72".into(),
        cooling: Cooling::Liquid,
        halls: (racks / 1000).max(1),
        seed: 1,
    })
    .unwrap();
    Simulation::new(site, scenario, 1.0).unwrap()
}

fn step(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim_step");
    for racks in [1_000usize, 10_000] {
        let mut sim = sim_for(racks);
        g.bench_with_input(BenchmarkId::new("step", racks), &racks, |b, _| b.iter(|| sim.step()));
        // A read-modify-write pass over as many bytes as the step's state.
        let mut buf = vec![1.0f64; sim.state_bytes() / 8];
        g.bench_with_input(BenchmarkId::new("memory_pass", racks), &racks, |b, _| {
            b.iter(|| {
                for x in buf.iter_mut() {
                    *x = *x * 0.999_999 + 1e-9;
                }
                std::hint::black_box(&buf);
            })
        });
    }
    g.finish();
}

/// The two halves of recording one sample of 1,000 racks under a diurnal load (every value
/// moves every second): what the sim thread pays (copy the engine's arrays) and what the writer
/// thread pays (convert to columns, predict and bit-pack), and what zstd level 1 on top would
/// cost (left out: a third off the size for half a step).
/// Recording keeps up with the simulation while the writer's part is below a step.
fn recording(c: &mut Criterion) {
    let mut g = c.benchmark_group("recording_1000");
    let diurnal = Workload { target: "all".into(), profile: Profile::Diurnal { peak: 1.0, trough: 0.55 } };
    let mut sim = sim_with(1_000, Scenario { workloads: vec![diurnal], ..Scenario::default() });
    for _ in 0..600 {
        sim.step();
    }
    let mut samples = [Columns::default(), Columns::default(), Columns::default()];
    for s in &mut samples {
        sim.step();
        let mut copy = StateCopy::default();
        sim.copy_state_into(&mut copy);
        columns_of(&copy, s);
    }
    let mut copy = StateCopy::default();
    g.bench_function("sim_thread_copy", |b| b.iter(|| sim.copy_state_into(std::hint::black_box(&mut copy))));
    let [before, last, cur] = &mut samples;
    g.bench_function("writer_columns", |b| b.iter(|| columns_of(&copy, std::hint::black_box(cur))));
    let prior = Prior { last: Some(last), before: Some(before) };
    let mut buf = Vec::new();
    g.bench_function("writer_encode", |b| {
        b.iter(|| encode_into(&mut buf, Shape::of_network(sim.network()), cur, prior, None))
    });
    let mut z = zstd::bulk::Compressor::new(1).unwrap();
    encode_into(&mut buf, Shape::of_network(sim.network()), cur, prior, None);
    g.bench_function("zstd1_on_top_unused", |b| b.iter(|| z.compress(&buf).unwrap()));
    g.finish();
}

criterion_group!(benches, step, recording);
criterion_main!(benches);
