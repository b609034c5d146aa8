//! Simulation step time on generated scenes, and a plain pass over a buffer the size of the sim
//! state, so the step can be reported as a ratio to the memory limit.
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use factory_twin::generate::{Cooling, GenerateOptions, generate};
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

criterion_group!(benches, step);
criterion_main!(benches);
