//! Parse + validate a generated 10,000-rack scene (goal ≤ 300 ms in release).
use criterion::{Criterion, criterion_group, criterion_main};
use factory_twin::generate::{Cooling, GenerateOptions, generate};
use factory_twin::scene;

fn parse_and_validate(c: &mut Criterion) {
    let site = generate(&GenerateOptions {
        racks: 10_000,
        rack_type: "gb300-nvl72".into(),
        cooling: Cooling::Liquid,
        halls: 10,
        seed: 1,
    })
    .unwrap();
    let text = scene::to_ron(&site).unwrap();
    let mut g = c.benchmark_group("scene");
    g.sample_size(10);
    g.bench_function("parse_validate_10k_racks", |b| b.iter(|| scene::parse(std::hint::black_box(&text)).unwrap()));
    g.bench_function("generate_10k_racks", |b| {
        b.iter(|| {
            generate(&GenerateOptions {
                racks: 10_000,
                rack_type: "gb300-nvl72".into(),
                cooling: Cooling::Liquid,
                halls: 10,
                seed: 1,
            })
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, parse_and_validate);
criterion_main!(benches);
