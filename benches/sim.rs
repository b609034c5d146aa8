//! Simulation step time on generated scenes, and a plain pass over a buffer the size of the sim
//! state, so the step can be reported as a ratio to the memory limit.
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use factory_twin::generate::{Cooling, GenerateOptions, generate};
use factory_twin::recording::codec::{Columns, encode_into};
use factory_twin::sim::{Scenario, Simulation};

fn sim_for(racks: usize) -> Simulation {
    let site = generate(&GenerateOptions {
        racks,
        rack_type: "gb300-nvl72".into(),
        cooling: Cooling::Liquid,
        halls: (racks / 1000).max(1),
        seed: 1,
    })
    .unwrap();
    Simulation::new(site, Scenario::default(), 1.0).unwrap()
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

/// The two halves of recording one sample of 1,000 racks: what the sim thread pays (copy the
/// state out of the engine) and what the writer thread pays (delta-encode, zstd level 1 as the
/// recorder uses). Recording keeps up with the simulation while the second is below a step.
fn recording(c: &mut Criterion) {
    let mut g = c.benchmark_group("recording_1000");
    let mut sim = sim_for(1_000);
    for _ in 0..600 {
        sim.step();
    }
    let mut prev = Columns::default();
    sim.flatten_into(&mut prev);
    sim.step();
    let mut cur = Columns::default();
    g.bench_function("sim_thread_flatten", |b| b.iter(|| sim.flatten_into(std::hint::black_box(&mut cur))));
    let mut buf = Vec::new();
    g.bench_function("writer_encode", |b| b.iter(|| encode_into(&mut buf, sim.shape(), &cur, Some(&prev), None)));
    let mut z = zstd::bulk::Compressor::new(1).unwrap();
    encode_into(&mut buf, sim.shape(), &cur, Some(&prev), None);
    g.bench_function("writer_zstd1", |b| b.iter(|| z.compress(&buf).unwrap()));
    g.finish();
}

criterion_group!(benches, step, recording);
criterion_main!(benches);
