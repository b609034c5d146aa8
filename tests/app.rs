//! Headless `App` tests of the viewer plugins: MinimalPlugins, no window, no GPU.

#![cfg(feature = "app")]

use bevy::prelude::*;
use factory_twin::app::colours::CurrentColours;
use factory_twin::app::facility_view::{FacilityObject, FacilityTags};
use factory_twin::app::sim_link::{LatestSnapshot, SimStart, UiCommand};
use factory_twin::app::{OpenScene, plugin};
use factory_twin::scene;
use factory_twin::sim::{Action, Failure, FailureKind, SimCommand};

fn app() -> App {
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(OpenScene { name: "demo".into(), site })
        .insert_resource(SimStart { paused: true, ..Default::default() })
        .add_plugins(plugin);
    app.update();
    app
}

/// Updates until `done` holds; the sim thread answers in its own time, so this waits on the
/// condition (bounded by a count), not on the clock.
fn update_until(app: &mut App, mut done: impl FnMut(&mut App) -> bool) {
    for _ in 0..2_000_000 {
        app.update();
        if done(app) {
            return;
        }
        std::thread::yield_now();
    }
    panic!("condition never held");
}

fn step(app: &App) -> Option<u64> {
    app.world().resource::<LatestSnapshot>().snapshot.as_ref().map(|s| s.step)
}

#[test]
fn the_scene_spawns_one_tagged_object_per_rack_and_unit() {
    let mut app = app();
    let tags = app.world().resource::<FacilityTags>().clone();
    // Demo hall: 8 racks, 1 CDU, 1 CRAH, 1 dry cooler.
    assert_eq!(tags.racks, 8);
    assert_eq!(tags.count, 11);
    let mut q = app.world_mut().query::<(&FacilityObject, &bevy::mesh::MeshTag)>();
    let mut seen: Vec<(String, u32)> = q.iter(app.world()).map(|(o, t)| (o.id.clone(), t.0)).collect();
    seen.sort_by_key(|x| x.1);
    assert_eq!(seen.len(), 11);
    assert!(seen.iter().enumerate().all(|(i, (_, t))| *t == i as u32));
    assert_eq!(seen[0].0, "hall-1/row-A/rack-01");
    assert_eq!(seen[8].0, "hall-1/cdu-1");
}

#[test]
fn ui_commands_reach_the_sim_and_snapshots_come_back() {
    let mut app = app();
    update_until(&mut app, |a| step(a) == Some(0));
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| step(a) == Some(1));
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| step(a) == Some(3));
}

#[test]
fn a_snapshot_changes_colours() {
    let mut app = app();
    update_until(&mut app, |a| !a.world().resource::<CurrentColours>().0.is_empty());
    let before = app.world().resource::<CurrentColours>().0.clone();
    assert_eq!(before.len(), 11);
    // Lose the CDU and run two minutes: the GPUs heat up and the racks change colour.
    app.world_mut().write_message(UiCommand(SimCommand::Apply(Action::Fail(Failure {
        kind: FailureKind::Cdu,
        target: "all".into(),
    }))));
    for _ in 0..120 {
        app.world_mut().write_message(UiCommand(SimCommand::Step));
    }
    update_until(&mut app, |a| step(a) == Some(120));
    app.update();
    let after = app.world().resource::<CurrentColours>().0.clone();
    assert_ne!(before[0], after[0], "rack colour did not change");
    // The CDU lost its flow: drawn as down (red).
    let cdu = after[8];
    assert!(cdu[0] > 0.7 && cdu[1] < 0.3, "{cdu:?}");
}
