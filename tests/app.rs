//! Headless `App` tests of the viewer plugins: MinimalPlugins, no window, no GPU.

#![cfg(feature = "app")]

use std::path::Path;

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
    // Demo hall: 8 racks, 1 CDU, 1 CRAH, 1 dry cooler; then a supply and a return pipe and a
    // busway for each of its 2 rows.
    assert_eq!(tags.racks, 8);
    assert_eq!(tags.pipe_start, 11);
    assert_eq!(tags.pipes, vec![(0, true), (0, false), (0, true), (0, false)]);
    assert_eq!(tags.busways, vec![Some(0), Some(0)]);
    assert_eq!(tags.count, 17);
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
    assert_eq!(before.len(), 17);
    // Supply pipes show cooler water than return pipes.
    let (supply, ret) = (before[11], before[12]);
    assert!(supply[2] > ret[2] || supply[0] < ret[0], "supply {supply:?} should read cooler than return {ret:?}");
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
    // Its pipes carry no flow: drawn dark.
    assert!(after[11][..3].iter().all(|c| *c < 0.3), "{:?}", after[11]);
}

#[test]
fn selecting_an_object_outlines_it_focuses_it_and_charts_it() {
    use factory_twin::app::camera::RequestedFocus;
    use factory_twin::app::inspector::History;
    use factory_twin::app::selection::{Select, Selection, SelectionOutline};
    let mut app = app();
    update_until(&mut app, |a| step(a) == Some(0));
    app.world_mut().write_message(Select { tag: Some(3), focus: true });
    app.update();
    assert_eq!(app.world().resource::<Selection>().selected, Some(3));
    let (lo, hi) = app.world().resource::<FacilityTags>().boxes[3];
    let mut q = app.world_mut().query_filtered::<(&Transform, &Visibility), With<SelectionOutline>>();
    let (t, vis) = q.single(app.world()).unwrap();
    assert_eq!(*vis, Visibility::Visible);
    assert!(t.translation.distance((lo + hi) / 2.0) < 1e-4, "outline not on the rack");
    assert!(t.scale.cmpgt(hi - lo).all(), "outline must enclose the rack");
    let focus = app.world().resource::<RequestedFocus>().0.expect("focus requested");
    assert!(focus.0.distance((lo + hi) / 2.0) < 1e-4);
    // The inspector's history follows the selected rack's values, one row per new snapshot.
    for _ in 0..3 {
        app.world_mut().write_message(UiCommand(SimCommand::Step));
    }
    update_until(&mut app, |a| step(a) == Some(3));
    app.update();
    let snap = app.world().resource::<LatestSnapshot>().snapshot.clone().unwrap();
    let history = app.world().resource::<History>();
    let last = history.samples.back().unwrap();
    assert_eq!(last.time_s, 3.0);
    assert_eq!(last.temps[0], snap.racks.gpu_c[3]);
    assert_eq!(last.power_kw, snap.racks.power_kw[3]);
    assert!(history.samples.len() >= 2 && history.samples.len() <= 4);
    // Clearing hides the outline and empties the charts.
    app.world_mut().write_message(Select { tag: None, focus: false });
    app.update();
    app.update();
    let (_, vis) = q.single(app.world()).unwrap();
    assert_eq!(*vis, Visibility::Hidden);
    assert!(app.world().resource::<History>().samples.is_empty());
}

#[test]
fn a_ray_picks_the_nearest_object_it_hits() {
    use factory_twin::app::selection::pick;
    let app = app();
    let tags = app.world().resource::<FacilityTags>();
    for target in [0usize, 5, 8] {
        let (lo, hi) = tags.boxes[target];
        let above = Vec3::new((lo.x + hi.x) / 2.0, 50.0, (lo.z + hi.z) / 2.0);
        assert_eq!(pick(above, Vec3::NEG_Y, &tags.boxes).map(|p| p.0), Some(target));
    }
    // Looking along a row from outside hits the first rack, not the ones behind it.
    let (lo0, hi0) = tags.boxes[0];
    let (lo1, _) = tags.boxes[1];
    let along = (lo1 - lo0).normalize();
    let start = (lo0 + hi0) / 2.0 - along * 20.0;
    assert_eq!(pick(start, along, &tags.boxes).map(|p| p.0), Some(0));
    assert_eq!(pick(Vec3::new(0.0, 50.0, 0.0), Vec3::Y, &tags.boxes), None, "looking up hits nothing");
}

#[test]
fn a_recording_feeds_the_view_through_the_same_snapshot() {
    use factory_twin::app::replay_link::{ReplayCommand, ReplayLink};
    use factory_twin::app::sim_link::SimLink;
    use factory_twin::app::{Source, insert_source};
    use factory_twin::recording::playback::PlaybackCommand;
    use factory_twin::recording::{Player, Recorder};
    use factory_twin::sim::{Scenario, Simulation};

    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let path = std::env::temp_dir().join(format!("ft-app-replay-{}.mcap", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut sim = Simulation::new(site.clone(), Scenario::default(), 1.0).unwrap();
    let mut rec = Recorder::create(&path, &sim, &Scenario::default(), 1.0).unwrap();
    rec.record(&mut sim).unwrap();
    let mut live_at_20 = None;
    for _ in 0..40 {
        sim.step();
        rec.record(&mut sim).unwrap();
        if sim.time_s() == 20.0 {
            live_at_20 = Some(sim.snapshot());
        }
    }
    rec.finish().unwrap();
    let player = Player::open(&path).unwrap();
    let _ = std::fs::remove_file(&path);

    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    insert_source(&mut app, "rec".into(), player.site.clone(), Source::Replay(Box::new(player)));
    app.add_plugins(plugin);
    app.update();
    app.update();
    assert!(app.world().get_resource::<SimLink>().is_none(), "a replay must not start a live sim");
    let first = app.world().resource::<LatestSnapshot>().snapshot.clone().expect("first sample shown");
    assert_eq!(first.time_s, 0.0);
    app.world_mut().write_message(ReplayCommand(PlaybackCommand::SetTime(20.0)));
    app.update();
    let shown = app.world().resource::<LatestSnapshot>().snapshot.clone().unwrap();
    assert_eq!(shown, live_at_20.unwrap(), "replay at 20 s must equal the live run at 20 s");
    assert_eq!(app.world().resource::<ReplayLink>().playback.time_s, 20.0);
    // Colours follow the replayed snapshot like a live one.
    assert_eq!(app.world().resource::<CurrentColours>().0.len(), 17);
}

#[test]
fn the_layout_is_remembered_and_a_broken_file_means_defaults() {
    use factory_twin::app::colours::ColourSettings;
    use factory_twin::app::facility_view::Layers;
    use factory_twin::app::layout_store::{LayoutFile, UiLayout, read, write};
    use factory_twin::metric::Metric;
    let path = std::env::temp_dir().join(format!("ft-layout-{}/layout.ron", std::process::id()));
    let saved =
        UiLayout { metric: "coolant".into(), pipes: false, power: true, left_width: 333.0, ..Default::default() };
    write(&path, &saved).unwrap();
    assert_eq!(read(&path).unwrap(), saved);
    // A new app starts with what was saved.
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(OpenScene { name: "demo".into(), site: site.clone() })
        .insert_resource(SimStart { paused: true, ..Default::default() })
        .insert_resource(LayoutFile(path.clone()))
        .add_plugins(plugin);
    app.update();
    assert_eq!(app.world().resource::<ColourSettings>().metric, Metric::Coolant);
    assert_eq!(*app.world().resource::<Layers>(), Layers { pipes: false, power: true });
    assert_eq!(app.world().resource::<UiLayout>().left_width, 333.0);
    // A damaged file: the message says where, and the app starts with the defaults.
    std::fs::write(&path, "(metric: \"coolant\", pipes: maybe)").unwrap();
    let e = read(&path).unwrap_err();
    assert!(e.contains("layout.ron:1:"), "{e}");
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(OpenScene { name: "demo".into(), site })
        .insert_resource(SimStart { paused: true, ..Default::default() })
        .insert_resource(LayoutFile(path.clone()))
        .add_plugins(plugin);
    app.update();
    assert_eq!(app.world().resource::<ColourSettings>().metric, Metric::GpuTemp);
    assert_eq!(*app.world().resource::<Layers>(), Layers::default());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn opening_a_file_checks_it_first_and_says_where_it_is_broken() {
    use factory_twin::app::files::check;
    let dir = std::env::temp_dir().join(format!("ft-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo-hall.ron");
    assert!(check(&good).is_ok());
    let broken = dir.join("broken.ron");
    std::fs::write(&broken, scene::DEMO_SCENE.replacen("capacity_kw: 2500.0", "capacity_kw: \"lots\"", 1)).unwrap();
    let e = check(&broken).unwrap_err();
    assert!(e.contains("broken.ron:") && e.chars().filter(|c| *c == ':').count() >= 2, "{e}");
    let missing = check(&dir.join("nope.ron")).unwrap_err();
    assert!(missing.contains("nope.ron"), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}
