//! Parse + validate a generated 10,000-rack scene (goal ≤ 300 ms in release).
use criterion::{Criterion, criterion_group, criterion_main};
use factory_twin::generate::{Cooling, GenerateOptions, generate};
use factory_twin::scene;

/// The generated 10,000-rack GB300 campus every bench here uses.
fn campus() -> factory_twin::model::Site {
    generate(&GenerateOptions {
        racks: 10_000,
        rack_type: "gb300-nvl72".into(),
        cooling: Cooling::Liquid,
        halls: 10,
        seed: 1,
    })
    .unwrap()
}

fn parse_and_validate(c: &mut Criterion) {
    let site = campus();
    let text = scene::to_ron(&site).unwrap();
    let mut g = c.benchmark_group("scene");
    g.sample_size(10);
    g.bench_function("parse_validate_10k_racks", |b| b.iter(|| scene::parse(std::hint::black_box(&text)).unwrap()));
    g.bench_function("generate_10k_racks", |b| b.iter(campus));
    g.finish();
}

/// One step of dragging a row across a 10,000-rack campus, in its parts: the edit
/// (checked by the whole-site validator, as every edit is), and the running simulation taking
/// the new site (network re-derived, state carried by id). The view's rebuild is measured by
/// `factory-twin bench-frames --edit` (BENCHMARKS.md).
fn drag_a_row(c: &mut Criterion) {
    use factory_twin::edit::{Edit, EditHistory};
    use factory_twin::sim::{Scenario, Simulation};
    let mut site = campus();
    let hall = site.halls[0].id.clone();
    let row = site.halls[0].rows[0].clone();
    // The generator's rows are long (in-row CDUs between groups): this one has more racks than
    // the 20, which costs the edit nothing extra (the validator reads the whole site).
    assert!(row.racks.len() >= 20, "a row of {} racks", row.racks.len());
    let mut sim = Simulation::new(site.clone(), Scenario::default(), 1.0).unwrap();
    let mut history = EditHistory::default();
    let mut g = c.benchmark_group("edit_10k_racks");
    g.sample_size(10);
    g.bench_function("validate_site", |b| b.iter(|| scene::validate(std::hint::black_box(&site))));
    // Back and forth by one tile, so every iteration is a real move that validates.
    let mut step = 0usize;
    g.bench_function("apply_move_row", |b| {
        b.iter(|| {
            step += 1;
            let mut with = row.clone();
            // Across the row into its aisle and back (along it, the in-row CDUs are in the way).
            with.origin.1 += if step % 2 == 1 { 0.6 } else { 0.0 };
            let edit = Edit::SetRow { hall: hall.clone(), row: row.id.clone(), with: Box::new(with) };
            history.apply(&mut site, &edit).unwrap();
        })
    });
    // What the sim thread does with an edit: validate once, then take the site.
    g.bench_function("sim_takes_the_site", |b| b.iter(|| sim.edit_site(site.clone()).unwrap()));
    g.bench_function("sim_takes_a_validated_site", |b| b.iter(|| sim.replace_site(site.clone()).unwrap()));
    g.finish();
}

criterion_group!(benches, parse_and_validate, drag_a_row);
criterion_main!(benches);
