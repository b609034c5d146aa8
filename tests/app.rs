//! Headless `App` tests of the viewer plugins: MinimalPlugins, no window, no GPU.

#![cfg(feature = "app")]

use std::path::Path;

use bevy::prelude::*;
use factory_twin::app::colours::CurrentColours;
use factory_twin::app::facility_view::FacilityObject;
use factory_twin::app::sim_link::{LatestSnapshot, SimStart, UiCommand};
use factory_twin::app::tags::FacilityTags;
use factory_twin::app::{OpenScene, ViewerMode, plugin};
use factory_twin::live::SimCommand;
use factory_twin::scene;
use factory_twin::sim::{Action, Failure, FailureKind};

/// An app whose clock advances 1/60 s per update, whatever the machine's speed: app tests never
/// depend on the wall clock (`TimePlugin` keeps a strategy already there).
fn headless() -> App {
    let mut app = App::new();
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(std::time::Duration::from_micros(16_667)));
    app
}

fn app() -> App {
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let mut app = headless();
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

/// Fails every CDU of a paused app at time zero and steps `seconds` one by one.
fn fail_cdus_and_step(app: &mut App, seconds: u64) {
    let fail = Failure { kind: FailureKind::Cdu, target: "all".into() };
    app.world_mut().write_message(UiCommand(SimCommand::Apply(Action::Fail(fail))));
    for _ in 0..seconds {
        app.world_mut().write_message(UiCommand(SimCommand::Step));
    }
    update_until(app, |a| step(a) == Some(seconds));
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
    fail_cdus_and_step(&mut app, 120);
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
    let c = (lo + hi) / 2.0;
    assert!(t.translation.xz().distance(c.xz()) < 1e-4, "outline not on the rack");
    assert!(t.scale.cmpgt(hi - lo).all(), "outline must enclose the rack");
    let (bottom, top) = (t.translation.y - t.scale.y / 2.0, t.translation.y + t.scale.y / 2.0);
    assert!(
        top > hi.y && bottom > 0.0 && bottom < lo.y + 0.1,
        "outline from the floor to over the top: {bottom}..{top}"
    );
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

    let mut app = headless();
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
    let mut app = headless();
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
    let mut app = headless();
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
    // What Open… reads a file with (on its own thread), the error as the panel shows it.
    let check = |p: &Path| factory_twin::open::open(Some(p)).map(|_| ());
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

// ---- Issue 11: defects every user hits -------------------------------------------------------

/// The headless app with input, the camera, Open… and the editor's pointer and keys, not yet
/// updated.
fn app_with_input_unstarted() -> App {
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let mut app = headless();
    app.add_plugins((MinimalPlugins, bevy::input::InputPlugin))
        .insert_resource(OpenScene { name: "demo".into(), site })
        .insert_resource(SimStart { paused: true, ..Default::default() })
        .add_plugins((
            plugin,
            factory_twin::app::camera::plugin,
            factory_twin::app::files::plugin,
            factory_twin::app::editor::input_plugin,
        ));
    app
}

/// The headless app with input and the camera: what pointer tests need.
fn app_with_input() -> App {
    let mut app = app_with_input_unstarted();
    app.update();
    app
}

/// A primary window of 1000×600 logical pixels with the pointer at `at`.
fn window_with_cursor(app: &mut App, at: Vec2) -> Entity {
    let mut w = Window { resolution: bevy::window::WindowResolution::new(1000, 600), ..default() };
    w.set_cursor_position(Some(at));
    app.world_mut().spawn((w, bevy::window::PrimaryWindow)).id()
}

fn click(app: &mut App, window: Entity) {
    use bevy::input::ButtonState;
    use bevy::input::mouse::MouseButtonInput;
    for state in [ButtonState::Pressed, ButtonState::Released] {
        app.world_mut().write_message(MouseButtonInput { button: MouseButton::Left, state, window });
        app.update();
    }
}

fn wheel(app: &mut App, window: Entity) {
    use bevy::input::mouse::{MouseScrollUnit, MouseWheel};
    app.world_mut().write_message(MouseWheel {
        unit: MouseScrollUnit::Line,
        x: 0.0,
        y: 3.0,
        window,
        phase: bevy::input::touch::TouchPhase::Moved,
    });
    app.update();
}

#[test]
fn clicks_and_the_wheel_over_a_panel_do_not_reach_the_scene() {
    use factory_twin::app::camera::OrbitCamera;
    use factory_twin::app::pointer::ScenePointer;
    use factory_twin::app::selection::{Select, Selection};
    let mut app = app_with_input();
    // The panels left this part of the 1000×600 window to the scene (as `panels_ui` records it).
    let pointer =
        ScenePointer { scene_rect: Some(Rect::new(250.0, 50.0, 750.0, 560.0)), egui_busy: false, typing: false };
    app.insert_resource(pointer);
    let window = window_with_cursor(&mut app, Vec2::new(100.0, 300.0));
    app.world_mut().write_message(Select { tag: Some(3), focus: false });
    app.update();
    let distance = |app: &mut App| app.world_mut().query::<&OrbitCamera>().single(app.world()).unwrap().distance;
    let before = distance(&mut app);
    // A click on a panel button (here: over the left panel) must not clear the selection.
    click(&mut app, window);
    assert_eq!(app.world().resource::<Selection>().selected, Some(3), "a click on a panel reached the scene");
    wheel(&mut app, window);
    assert_eq!(distance(&mut app), before, "the wheel over a panel zoomed the camera");
    // A popup or a widget in use holds the pointer even over the scene.
    app.insert_resource(ScenePointer { egui_busy: true, ..pointer });
    app.world_mut().entity_mut(window).get_mut::<Window>().unwrap().set_cursor_position(Some(Vec2::new(500.0, 300.0)));
    click(&mut app, window);
    assert_eq!(app.world().resource::<Selection>().selected, Some(3), "a click into a popup reached the scene");
    // Over the scene both work: a click on empty floor clears, the wheel zooms.
    app.insert_resource(pointer);
    app.update();
    wheel(&mut app, window);
    assert!(distance(&mut app) < before, "the wheel over the scene must zoom");
    click(&mut app, window);
    assert_eq!(app.world().resource::<Selection>().selected, None, "a click on the floor clears the selection");
}

#[test]
fn the_colour_buffer_bound_to_the_material_never_changes_size() {
    use bevy::render::storage::ShaderBuffer;
    use factory_twin::app::colours::{FacilityMaterial, FacilityPalette};
    use std::collections::HashMap;
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let mut app = headless();
    app.add_plugins((MinimalPlugins, bevy::asset::AssetPlugin::default()))
        .init_asset::<ShaderBuffer>()
        .init_asset::<FacilityMaterial>()
        .insert_resource(OpenScene { name: "demo".into(), site })
        .insert_resource(SimStart { paused: true, ..Default::default() })
        .add_plugins((plugin, factory_twin::app::files::plugin));
    // The GPU binds the buffer a material names once; a buffer that then grows is a different
    // GPU buffer the bind group never sees. So each buffer the material names keeps one size.
    let mut sizes: HashMap<AssetId<ShaderBuffer>, usize> = HashMap::new();
    let mut check = |app: &App| {
        let palette = app.world().resource::<FacilityPalette>();
        let material = app.world().resource::<Assets<FacilityMaterial>>().get(&palette.material).unwrap();
        let Some(buf) = app.world().resource::<Assets<ShaderBuffer>>().get(&material.colors) else { return None };
        let len = buf.data.as_ref().map_or(0, |d| d.len());
        let first = *sizes.entry(material.colors.id()).or_insert(len);
        assert_eq!(first, len, "the material's colour buffer changed size under it");
        Some(len)
    };
    // Until the sim thread's first snapshot has been coloured, however long it takes to start.
    update_until(&mut app, |a| a.world().resource::<LatestSnapshot>().snapshot.is_some());
    for _ in 0..5 {
        app.update();
        check(&app);
    }
    let count = app.world().resource::<FacilityTags>().count as usize;
    assert_eq!(check(&app), Some(count * 16), "one RGBA f32 entry per tagged object");
    // Another scene in the same window: a different count, a new buffer, bound anew.
    let superpod = scene::load_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/superpod-hall.ron").as_path())
        .unwrap()
        .site;
    app.insert_resource(factory_twin::app::files::OpenedFile(factory_twin::open::Opened::Scene {
        name: "superpod".into(),
        site: superpod,
    }));
    app.update();
    update_until(&mut app, |a| {
        a.world().resource::<LatestSnapshot>().snapshot.as_ref().is_some_and(|s| s.racks.gpu_c.len() != 8)
    });
    for _ in 0..5 {
        app.update();
        check(&app);
    }
    let count2 = app.world().resource::<FacilityTags>().count as usize;
    assert_ne!(count, count2);
    assert_eq!(check(&app), Some(count2 * 16));
}

#[test]
fn the_ui_follows_the_sim_thread_when_it_pauses_itself_after_a_fault() {
    use factory_twin::app::sim_link::SimLink;
    let mut app = app();
    update_until(&mut app, |a| step(a) == Some(0));
    assert!(app.world().resource::<SimLink>().paused);
    app.world_mut().write_message(UiCommand(SimCommand::InjectPanic));
    app.world_mut().write_message(UiCommand(SimCommand::Resume));
    // The thread runs, its next step panics, it rolls back and pauses: the bar must say paused
    // (and offer Step) with the fault as a problem, without any string being parsed.
    update_until(&mut app, |a| {
        let link = a.world().resource::<SimLink>();
        link.paused && link.messages.iter().any(|m| m.problem)
    });
    let link = app.world().resource::<SimLink>();
    assert!(link.messages.last().unwrap().text.contains("injected panic"), "{:?}", link.messages);
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| step(a) == Some(1));
}

/// A recording of the demo hall, `seconds` long at 1 Hz, in a temp file.
fn demo_recording(seconds: usize, tag: &str) -> std::path::PathBuf {
    recording_of(seconds, tag, factory_twin::sim::Scenario::default())
}

fn recording_of(seconds: usize, tag: &str, scenario: factory_twin::sim::Scenario) -> std::path::PathBuf {
    use factory_twin::recording::Recorder;
    use factory_twin::sim::Simulation;
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let path = std::env::temp_dir().join(format!("ft-app-{tag}-{}.mcap", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut sim = Simulation::new(site, scenario.clone(), 1.0).unwrap();
    let mut rec = Recorder::create(&path, &sim, &scenario, 1.0).unwrap();
    rec.record(&mut sim).unwrap();
    for _ in 0..seconds {
        sim.step();
        rec.record(&mut sim).unwrap();
    }
    rec.finish().unwrap();
    path
}

#[test]
fn open_loads_a_file_into_the_same_window_off_the_frame() {
    use factory_twin::app::camera::OrbitCamera;
    use factory_twin::app::files::FileOpen;
    use factory_twin::app::replay_link::ReplayLink;
    use factory_twin::app::sim_link::SimLink;
    let mut app = app_with_input();
    let path = demo_recording(30, "open");
    let objects = |app: &mut App| app.world_mut().query::<&FacilityObject>().iter(app.world()).count();
    let before = objects(&mut app);
    // Move the camera: the recording is of the same site, so the camera stays.
    app.world_mut().query::<&mut OrbitCamera>().single_mut(app.world_mut()).unwrap().distance = 33.0;
    app.world_mut().resource_mut::<FileOpen>().chosen = Some(path.clone());
    update_until(&mut app, |a| {
        a.world().get_resource::<ReplayLink>().is_some() && a.world().resource::<LatestSnapshot>().snapshot.is_some()
    });
    assert!(app.world().get_resource::<SimLink>().is_none(), "the live sim must stop");
    assert_eq!(*app.world().resource::<State<ViewerMode>>().get(), ViewerMode::Replay);
    assert!(app.world().resource::<Messages<AppExit>>().is_empty(), "the window must stay");
    assert_eq!(objects(&mut app), before, "the scene is rebuilt once, not added twice");
    app.update();
    assert_eq!(app.world_mut().query::<&OrbitCamera>().single(app.world()).unwrap().distance, 33.0);
    // A different site replaces the objects and starts a live simulation of it; the camera
    // frames it.
    let superpod = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/superpod-hall.ron");
    app.world_mut().resource_mut::<FileOpen>().chosen = Some(superpod);
    update_until(&mut app, |a| a.world().get_resource::<SimLink>().is_some());
    assert_eq!(*app.world().resource::<State<ViewerMode>>().get(), ViewerMode::Live);
    app.update();
    let tags = app.world().resource::<FacilityTags>().clone();
    assert_eq!(objects(&mut app), tags.pipe_start as usize);
    assert_ne!(objects(&mut app), before);
    assert_ne!(app.world_mut().query::<&OrbitCamera>().single(app.world()).unwrap().distance, 33.0);
    // A broken file leaves what is open and says where.
    let broken = std::env::temp_dir().join(format!("ft-open-broken-{}.ron", std::process::id()));
    std::fs::write(&broken, "(version: 1, site: (halls: [oops]))").unwrap();
    app.world_mut().resource_mut::<FileOpen>().chosen = Some(broken.clone());
    update_until(&mut app, |a| a.world().resource::<FileOpen>().message.is_some());
    let msg = app.world().resource::<FileOpen>().message.clone().unwrap();
    assert!(msg.contains("ft-open-broken") && msg.contains(":1:"), "{msg}");
    assert!(app.world().get_resource::<SimLink>().is_some());
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&broken);
}

/// The headless app replaying a 200-s recording of the demo hall (`setup` runs before the
/// plugins, e.g. to set the clock).
fn replay_app(tag: &str, setup: impl FnOnce(&mut App)) -> App {
    replay_app_of(demo_recording(200, tag), setup)
}

fn replay_app_of(path: std::path::PathBuf, setup: impl FnOnce(&mut App)) -> App {
    use factory_twin::app::{Source, insert_source};
    use factory_twin::recording::Player;
    let player = Player::open(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut app = headless();
    app.add_plugins(MinimalPlugins);
    setup(&mut app);
    insert_source(&mut app, "rec".into(), player.site.clone(), Source::Replay(Box::new(player)));
    app.add_plugins(plugin);
    app.update();
    app
}

#[test]
fn a_replay_plays_at_the_asked_speed_whatever_the_frame_time() {
    use bevy::time::TimeUpdateStrategy;
    use factory_twin::app::replay_link::{ReplayCommand, ReplayLink};
    use factory_twin::recording::playback::PlaybackCommand;
    // Frames of half a second: Bevy's virtual clock counts only 250 ms of each.
    let mut app = replay_app("speed", |app| {
        app.insert_resource(TimeUpdateStrategy::ManualDuration(std::time::Duration::from_millis(500)));
    });
    app.update();
    app.world_mut().write_message(ReplayCommand(PlaybackCommand::SetSpeed(10.0)));
    app.world_mut().write_message(ReplayCommand(PlaybackCommand::Play));
    app.update();
    let t0 = app.world().resource::<ReplayLink>().playback.time_s;
    for _ in 0..4 {
        app.update();
    }
    let t1 = app.world().resource::<ReplayLink>().playback.time_s;
    assert!((t1 - t0 - 20.0).abs() < 1e-9, "4 frames of 0.5 s at 10× must play 20 s, played {}", t1 - t0);
}

#[test]
fn charts_open_on_the_last_minutes_from_the_recording_and_the_live_run() {
    use factory_twin::app::inspector::History;
    use factory_twin::app::replay_link::ReplayCommand;
    use factory_twin::app::selection::Select;
    use factory_twin::recording::playback::PlaybackCommand;
    // A recording: selecting at 150 s shows 150 s of samples at once.
    let mut app = replay_app("charts", |_| {});
    app.world_mut().write_message(ReplayCommand(PlaybackCommand::SetTime(150.0)));
    app.update();
    app.world_mut().write_message(Select { tag: Some(2), focus: false });
    app.update();
    let h = app.world().resource::<History>();
    assert_eq!(h.samples.len(), 151, "samples 0..=150 s from the file");
    assert_eq!(h.samples.front().unwrap().time_s, 0.0);
    assert_eq!(h.samples.back().unwrap().time_s, 150.0);
    // Live: select after 60 s and the charts already hold the coarse past.
    let mut live = self::app();
    update_until(&mut live, |a| step(a) == Some(0));
    // Each step seen by the viewer (the snapshot channel keeps only the newest), as on screen at 1×.
    for n in 1..=60 {
        live.world_mut().write_message(UiCommand(SimCommand::Step));
        update_until(&mut live, |a| step(a) == Some(n));
    }
    live.world_mut().write_message(Select { tag: Some(2), focus: false });
    live.update();
    let h = live.world().resource::<History>();
    assert!(h.samples.len() >= 4, "live charts must start with the run's recent past, got {}", h.samples.len());
    assert_eq!(h.samples.front().unwrap().time_s, 0.0);
    assert_eq!(h.samples.back().unwrap().time_s, 60.0);
}

#[test]
fn the_plan_view_is_orthographic_and_framed_to_the_halls() {
    use factory_twin::app::camera::{RequestedView, View};
    let mut app = app_with_input();
    app.world_mut().resource_mut::<RequestedView>().0 = Some(View::Plan);
    app.update();
    let mut q = app.world_mut().query::<&Projection>();
    assert!(matches!(q.single(app.world()).unwrap(), Projection::Orthographic(_)));
    app.world_mut().resource_mut::<RequestedView>().0 = Some(View::Overview);
    app.update();
    assert!(matches!(q.single(app.world()).unwrap(), Projection::Perspective(_)));
    let tags = app.world().resource::<FacilityTags>();
    assert_eq!(tags.row_labels.len(), 2);
    assert_eq!(tags.row_labels[0].1, "row-A");
    // The hall alone, not the dry cooler outside it.
    assert!(tags.hall_bounds.1.z - tags.hall_bounds.0.z < tags.bounds.1.z - tags.bounds.0.z);
}

#[test]
fn small_things_a_user_trips_on() {
    use factory_twin::app::inspector::group_alarms;
    use factory_twin::app::selection::is_double_click;
    use factory_twin::app::timeline::time_at;
    // A click on the time track seeks where it lands.
    assert_eq!(time_at(150.0, 100.0, 300.0, 0.0, 3600.0), 900.0);
    assert_eq!(time_at(50.0, 100.0, 300.0, 0.0, 3600.0), 0.0);
    // Two clicks four slow frames apart are a double-click; far apart they are not.
    assert!(is_double_click(Some((0.0, 10, 3)), 1.2, 14, Some(3)));
    assert!(is_double_click(Some((0.0, 10, 3)), 0.2, 100, Some(3)));
    assert!(!is_double_click(Some((0.0, 10, 3)), 1.2, 40, Some(3)));
    assert!(!is_double_click(Some((0.0, 10, 3)), 0.1, 11, Some(4)));
    // One CDU lost: its row's racks shut down, one alarm line for the cause, not one per rack.
    let mut app = app();
    update_until(&mut app, |a| step(a) == Some(0));
    fail_cdus_and_step(&mut app, 240);
    let snap = app.world().resource::<LatestSnapshot>().snapshot.clone().unwrap();
    let tags = app.world().resource::<FacilityTags>();
    let rack_alarms = snap.active_alarms.iter().filter(|a| a.object.contains("/rack-")).count();
    let lines = group_alarms(&snap, tags);
    let grouped: Vec<_> = lines.iter().filter(|l| l.objects.len() > 1).collect();
    assert!(rack_alarms >= 2, "{:?}", snap.active_alarms);
    assert!(!grouped.is_empty(), "{lines:?}");
    assert!(lines.len() < snap.active_alarms.len(), "{lines:?}");
    assert!(grouped.iter().all(|l| l.title.contains("racks")), "{grouped:?}");
    // A stable order (critical first, then by name), so a line does not move under the pointer.
    let key = |l: &factory_twin::app::inspector::AlarmLine| {
        (l.severity != factory_twin::sim::AlarmSeverity::Critical, l.title.clone())
    };
    assert!(lines.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "{lines:?}");
}

#[test]
fn a_drag_over_the_scene_orbits_and_one_from_a_panel_does_not() {
    use bevy::input::ButtonState;
    use bevy::input::mouse::MouseButtonInput;
    use factory_twin::app::camera::OrbitCamera;
    use factory_twin::app::pointer::ScenePointer;
    let mut app = app_with_input();
    app.insert_resource(ScenePointer {
        scene_rect: Some(Rect::new(250.0, 50.0, 750.0, 560.0)),
        egui_busy: false,
        typing: false,
    });
    let yaw = |app: &mut App| app.world_mut().query::<&OrbitCamera>().single(app.world()).unwrap().yaw;
    // Under Xvfb there is no raw mouse motion: the drag is read off the pointer's position.
    let drag = |app: &mut App, from: Vec2, to: Vec2| {
        let window = window_with_cursor(app, from);
        app.world_mut().write_message(MouseButtonInput {
            button: MouseButton::Left,
            state: ButtonState::Pressed,
            window,
        });
        app.update();
        app.world_mut().entity_mut(window).get_mut::<Window>().unwrap().set_cursor_position(Some(to));
        app.update();
        app.world_mut().write_message(MouseButtonInput {
            button: MouseButton::Left,
            state: ButtonState::Released,
            window,
        });
        app.update();
        app.world_mut().despawn(window);
    };
    let before = yaw(&mut app);
    drag(&mut app, Vec2::new(100.0, 300.0), Vec2::new(400.0, 300.0));
    assert_eq!(yaw(&mut app), before, "a drag that started on a panel moved the camera");
    drag(&mut app, Vec2::new(500.0, 300.0), Vec2::new(560.0, 300.0));
    let after = yaw(&mut app);
    assert!((after - before).abs() > 0.1, "a drag over the scene must orbit");
    // The pointer travels to the press point within the frame the button goes down: that travel
    // is not part of the drag (it threw the plan off screen).
    let window = window_with_cursor(&mut app, Vec2::new(700.0, 300.0));
    app.update();
    app.world_mut().entity_mut(window).get_mut::<Window>().unwrap().set_cursor_position(Some(Vec2::new(400.0, 300.0)));
    app.world_mut().write_message(MouseButtonInput { button: MouseButton::Left, state: ButtonState::Pressed, window });
    app.update();
    assert_eq!(yaw(&mut app), after, "the travel before the press moved the camera");
}

/// Systems that touch the same data run in a named order: Bevy finds no ambiguity in `Update`
/// (as Avian checks its own schedules).
#[test]
fn update_has_no_ambiguous_system_order() {
    use bevy::ecs::schedule::{LogLevel, ScheduleBuildSettings};
    let mut app = app_with_input_unstarted();
    app.edit_schedule(Update, |s| {
        s.set_build_settings(ScheduleBuildSettings { ambiguity_detection: LogLevel::Error, ..Default::default() });
    });
    // Panics listing the pairs when two systems touch the same data in no named order.
    app.update();
}

/// A still image (`render`) is its own mode: no sim thread starts, playback does not run, and
/// the state shown stays the one given.
#[test]
fn a_still_image_starts_no_simulation_and_keeps_its_state() {
    use factory_twin::app::sim_link::SimLink;
    use factory_twin::app::{Source, insert_source};
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let mut sim = factory_twin::sim::Simulation::new(site.clone(), Default::default(), 1.0).unwrap();
    sim.run_until(30.0);
    let snapshot = sim.snapshot();
    let mut app = headless();
    app.add_plugins(MinimalPlugins);
    insert_source(&mut app, "still".into(), site, Source::Fixed(Box::new(snapshot.clone())));
    app.add_plugins(plugin);
    for _ in 0..5 {
        app.update();
    }
    assert_eq!(*app.world().resource::<State<ViewerMode>>().get(), ViewerMode::Still);
    assert!(app.world().get_resource::<SimLink>().is_none(), "a still image must not start a simulation");
    assert_eq!(app.world().resource::<LatestSnapshot>().snapshot.as_ref().map(|s| s.step), Some(snapshot.step));
}

// ---- Issue 13: the layout editor ------------------------------------------------------------

fn racks_in_scene(app: &App) -> usize {
    app.world().resource::<OpenScene>().site.rack_count()
}

fn snapshot_racks(app: &App) -> Option<usize> {
    app.world().resource::<LatestSnapshot>().snapshot.as_ref().map(|s| s.racks.gpu_c.len())
}

/// A row placed from the palette becomes part of the scene and of the view, and the running
/// simulation (not restarted: its clock goes on) sends snapshots of it; undo takes it away
/// again, everywhere.
#[test]
fn placing_from_the_palette_reaches_the_sim_and_undo_removes_it() {
    use factory_twin::app::editor::{Editor, EditorCommand};
    let mut app = app();
    fail_cdus_and_step(&mut app, 3);
    let objects = |app: &mut App| app.world_mut().query::<&FacilityObject>().iter(app.world()).count();
    let before = objects(&mut app);
    {
        let mut e = app.world_mut().resource_mut::<Editor>();
        e.active = true;
        e.rack_type = "network".into();
        e.row_racks = 2;
    }
    // The demo hall's free floor north of row B (plan coordinates: the hall starts at 0, 0).
    app.world_mut().write_message(EditorCommand::PlaceAt((3.0, 7.2)));
    update_until(&mut app, |a| snapshot_racks(a) == Some(10));
    assert_eq!(racks_in_scene(&app), 10);
    app.update();
    assert_eq!(objects(&mut app), before + 2, "two more racks in the view");
    assert!(app.world().resource::<Editor>().dirty);
    let row = app.world().resource::<OpenScene>().site.halls[0].rows.last().cloned().unwrap();
    assert_eq!((row.id.as_str(), row.origin, row.racks.len()), ("row-C", (3.0, 7.2), 2));
    // The sim took the edit where it was (t = 3 s), not from a fresh start.
    assert!(step(&app).is_some_and(|s| s >= 3), "the simulation restarted: {:?}", step(&app));
    app.world_mut().write_message(EditorCommand::Undo);
    update_until(&mut app, |a| snapshot_racks(a) == Some(8));
    app.update();
    assert_eq!(racks_in_scene(&app), 8);
    assert_eq!(objects(&mut app), before);
    // Redo brings it back; a row where it cannot go is refused and changes nothing.
    app.world_mut().write_message(EditorCommand::Redo);
    update_until(&mut app, |a| snapshot_racks(a) == Some(10));
    app.world_mut().write_message(EditorCommand::PlaceAt((3.0, 2.4)));
    app.update();
    app.update();
    assert_eq!(racks_in_scene(&app), 10);
    let (status, problem) = app.world().resource::<Editor>().status.clone().unwrap();
    assert!(problem && status.contains("overlap"), "{status}");
    // A row the CDU and the PDU cannot carry: the refusal names both, not only the first.
    {
        let mut e = app.world_mut().resource_mut::<Editor>();
        e.rack_type = "gb300-nvl72".into();
        e.row_racks = 4;
    }
    app.world_mut().write_message(EditorCommand::PlaceAt((7.2, 5.4)));
    app.update();
    let (status, problem) = app.world().resource::<Editor>().status.clone().unwrap();
    assert!(problem && status.contains("the CDU is rated") && status.contains("the PDU is rated"), "{status}");
    assert_eq!(racks_in_scene(&app), 10);
}

/// A box on the floor plan picks the racks inside it, and Delete removes them (a whole row
/// when all its racks are picked) as one undo step.
#[test]
fn a_box_select_picks_what_is_inside_and_delete_removes_it() {
    use factory_twin::app::editor::{Editor, EditorCommand};
    let mut app = app();
    app.world_mut().resource_mut::<Editor>().active = true;
    // Row A stands at y 2.4 from x 3.0, four racks of 0.6 m facing south.
    app.world_mut().write_message(EditorCommand::PickInPlanBox((2.9, 2.3), (5.5, 3.8)));
    app.update();
    let tags = app.world().resource::<FacilityTags>().clone();
    let picked: Vec<String> =
        app.world().resource::<Editor>().picked.iter().map(|&t| tags.ids[t as usize].clone()).collect();
    assert_eq!(
        picked,
        ["hall-1/row-A/rack-01", "hall-1/row-A/rack-02", "hall-1/row-A/rack-03", "hall-1/row-A/rack-04"]
    );
    // Nudged one tile west twice: the picks follow the racks through the rebuild.
    for x in [2.4, 1.8] {
        app.world_mut().write_message(EditorCommand::NudgePicked(-1, 0));
        update_until(&mut app, |a| a.world().resource::<OpenScene>().site.halls[0].rows[0].origin.0 == x);
        app.update();
        assert_eq!(app.world().resource::<Editor>().picked.len(), 4);
    }
    app.world_mut().write_message(EditorCommand::DeletePicked);
    update_until(&mut app, |a| snapshot_racks(a) == Some(4));
    assert!(app.world().resource::<OpenScene>().site.halls[0].rows.iter().all(|r| r.id != "row-A"));
    app.world_mut().write_message(EditorCommand::Undo);
    update_until(&mut app, |a| snapshot_racks(a) == Some(8));
    // Two more undos take back the nudges: the demo as it was.
    for x in [2.4, 3.0] {
        app.world_mut().write_message(EditorCommand::Undo);
        update_until(&mut app, |a| a.world().resource::<OpenScene>().site.halls[0].rows[0].origin.0 == x);
    }
    assert_eq!(app.world().resource::<OpenScene>().site, scene::parse(scene::DEMO_SCENE).unwrap().site);
}

/// Unsaved edits are not thrown away by Open…: the file waits for the user's answer, and the
/// open scene stays.
#[test]
fn opening_another_file_with_unsaved_edits_asks_first() {
    use factory_twin::app::OpenedFile;
    use factory_twin::app::editor::{Editor, EditorCommand, Pending};
    let mut app = app_with_input();
    app.world_mut().write_message(EditorCommand::Step(factory_twin::edit::script::Step::Remove {
        id: "hall-1/row-B/rack-04".into(),
    }));
    app.update();
    assert!(app.world().resource::<Editor>().dirty);
    let superpod = scene::load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/superpod-hall.ron")).unwrap();
    app.insert_resource(OpenedFile(factory_twin::open::Opened::Scene { name: "superpod".into(), site: superpod.site }));
    app.update();
    app.update();
    assert_eq!(racks_in_scene(&app), 7, "the edited scene stays open");
    assert!(matches!(app.world().resource::<Editor>().pending, Some(Pending::Open(_))), "the file waits for an answer");
    assert!(app.world().get_resource::<OpenedFile>().is_none());
}

/// A group edit on picked racks that is refused part way leaves the scene and the undo history
/// as they were: Undo then takes back the edit before it, not a phantom.
#[test]
fn a_refused_group_edit_changes_nothing_and_undo_still_works() {
    use factory_twin::app::editor::{Editor, EditorCommand};
    let mut app = app();
    app.world_mut().resource_mut::<Editor>().active = true;
    app.world_mut().write_message(EditorCommand::Step(factory_twin::edit::script::Step::Remove {
        id: "hall-1/row-B/rack-04".into(),
    }));
    update_until(&mut app, |a| snapshot_racks(a) == Some(7));
    // Both rows picked; duplicating them over-fills the CDU: refused.
    app.world_mut().write_message(EditorCommand::PickInPlanBox((0.0, 0.0), (12.0, 9.0)));
    app.update();
    let before = app.world().resource::<OpenScene>().site.clone();
    app.world_mut().write_message(EditorCommand::DuplicatePicked);
    app.update();
    let (status, problem) = app.world().resource::<Editor>().status.clone().unwrap();
    assert!(problem, "{status}");
    assert_eq!(app.world().resource::<OpenScene>().site, before);
    assert_eq!(app.world().resource::<Editor>().history.labels().0.len(), 1);
    app.world_mut().write_message(EditorCommand::Undo);
    update_until(&mut app, |a| snapshot_racks(a) == Some(8));
    assert_eq!(app.world().resource::<OpenScene>().site, scene::parse(scene::DEMO_SCENE).unwrap().site);
}

/// The window's close button exits, unless there are unsaved edits: then the editor asks.
#[test]
fn closing_the_window_exits_unless_edits_are_unsaved() {
    use bevy::window::WindowCloseRequested;
    use factory_twin::app::editor::{Editor, EditorCommand, Pending};
    let mut app = app_with_input();
    let window = app.world_mut().spawn(Window::default()).id();
    app.world_mut().write_message(EditorCommand::Step(factory_twin::edit::script::Step::Remove {
        id: "hall-1/row-B/rack-04".into(),
    }));
    app.update();
    app.world_mut().write_message(WindowCloseRequested { window });
    app.update();
    assert!(matches!(app.world().resource::<Editor>().pending, Some(Pending::Close)));
    assert!(app.world().resource::<Messages<AppExit>>().is_empty(), "unsaved edits: ask, do not exit");
    app.world_mut().resource_mut::<Editor>().dirty = false;
    app.world_mut().write_message(WindowCloseRequested { window });
    app.update();
    assert!(!app.world().resource::<Messages<AppExit>>().is_empty(), "nothing unsaved: the app exits");
}

/// Moving a row moves its racks, pipes, busway and label in place (the same entities; nothing
/// else rebuilds), to exactly where a fresh build of the moved layout puts them.
#[test]
fn a_moved_row_moves_in_place_to_where_a_fresh_build_puts_it() {
    use factory_twin::app::editor::EditorCommand;
    use factory_twin::app::facility_view::RowService;
    use factory_twin::edit::script::Step;
    fn objects(app: &mut App) -> Vec<(u32, Entity, Transform)> {
        let mut v: Vec<_> = app
            .world_mut()
            .query::<(Entity, &FacilityObject, &Transform)>()
            .iter(app.world())
            .map(|(e, o, t)| (o.tag, e, *t))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }
    fn services(app: &mut App) -> Vec<(u32, String)> {
        let mut v: Vec<_> = app
            .world_mut()
            .query::<(&RowService, &Transform)>()
            .iter(app.world())
            .map(|(s, t)| (s.tag, format!("{:?} {:?}", t.translation, t.scale)))
            .collect();
        v.sort();
        v
    }
    let mut app = app();
    let before = objects(&mut app);
    let services_before = services(&mut app);
    app.world_mut().write_message(EditorCommand::Step(Step::Move { id: "hall-1/row-A".into(), to: (2.4, 2.4) }));
    app.update();
    app.update();
    let moved = app.world().resource::<OpenScene>().site.clone();
    assert_eq!(moved.halls[0].rows[0].origin, (2.4, 2.4));
    let after = objects(&mut app);
    // Same entities, and only row A's four racks moved.
    assert_eq!(after.iter().map(|x| x.1).collect::<Vec<_>>(), before.iter().map(|x| x.1).collect::<Vec<_>>());
    let changed: Vec<u32> = before.iter().zip(&after).filter(|(a, b)| a.2 != b.2).map(|(a, _)| a.0).collect();
    assert_eq!(changed, [0, 1, 2, 3]);
    assert_ne!(services(&mut app), services_before, "row A's pipes and busway follow it");

    let mut fresh = headless();
    fresh
        .add_plugins(MinimalPlugins)
        .insert_resource(OpenScene { name: "demo".into(), site: moved })
        .insert_resource(SimStart { paused: true, ..Default::default() })
        .add_plugins(plugin);
    fresh.update();
    let transforms = |v: &[(u32, Entity, Transform)]| v.iter().map(|x| (x.0, x.2)).collect::<Vec<_>>();
    assert_eq!(transforms(&objects(&mut app)), transforms(&objects(&mut fresh)));
    assert_eq!(services(&mut app), services(&mut fresh));
    let (a, b) = (app.world().resource::<FacilityTags>(), fresh.world().resource::<FacilityTags>());
    assert_eq!((&a.boxes, &a.row_labels), (&b.boxes, &b.row_labels));
}

/// The palette's outdoor plant and PDUs: a dry cooler placed on the ground joins the site, its
/// loop and the running sim; Delete on it (clicked with Select) takes it out again; a PDU
/// comes from "+ PDU"; New opens an empty hall.
#[test]
fn plant_and_pdus_from_the_palette_reach_the_sim_and_new_opens_an_empty_hall() {
    use factory_twin::app::editor::{Editor, EditorCommand, plant_ghost_at};
    use factory_twin::app::files::FileOpen;
    let dry_coolers =
        |app: &App| app.world().resource::<LatestSnapshot>().snapshot.as_ref().map(|s| s.dry_coolers.len());
    let mut app = app_with_input();
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| dry_coolers(a) == Some(1));
    let site = app.world().resource::<OpenScene>().site.clone();
    let ghost = plant_ghost_at(&site, (20.0, -15.0), false, true).expect("a dry cooler to copy");
    assert_eq!(ghost.fits, Ok(()));
    app.world_mut().write_message(EditorCommand::Edit(ghost.edit));
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| dry_coolers(a) == Some(2));
    let plant = app.world().resource::<OpenScene>().site.plant.clone();
    assert_eq!(plant.dry_coolers[1].id, "dc-2");
    assert_eq!(plant.dry_coolers[1].position, Some((19.8, -15.0)));
    assert_eq!(plant.loops[0].heat_rejection, ["dc-1", "dc-2"]);
    let tags = app.world().resource::<FacilityTags>();
    assert!(tags.tag_of("dc-2").is_some(), "the view shows it");

    app.world_mut().resource_mut::<Editor>().unit = Some("dc-2".into());
    app.world_mut().write_message(EditorCommand::DeletePicked);
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| dry_coolers(a) == Some(1));
    assert_eq!(app.world().resource::<OpenScene>().site.plant, site.plant);

    app.world_mut().write_message(EditorCommand::Step(factory_twin::edit::script::Step::AddPdu {
        pdu: factory_twin::model::Pdu { id: "pdu-B".into(), ..site.power.pdus[0].clone() },
    }));
    app.update();
    assert_eq!(app.world().resource::<OpenScene>().site.power.pdus.len(), 2);

    // New asks first (unsaved edits), like Open…; answered, the empty hall opens.
    app.world_mut().resource_mut::<Editor>().dirty = false;
    app.world_mut().resource_mut::<FileOpen>().new_scene = true;
    update_until(&mut app, |a| a.world().resource::<OpenScene>().name == "untitled");
    assert_eq!(racks_in_scene(&app), 0);
}

/// A row placed or dragged near another lines up with it: ends in line, backs touching; far
/// from every row it stays on the tile it was put on.
#[test]
fn rows_snap_to_their_neighbours_within_half_a_tile() {
    use factory_twin::app::editor::{row_extents, snap_to_rows};
    let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    let rows = row_extents(&site, 0, None);
    // Row A: x 3.0..5.4, y 2.4..3.6 (four racks facing south).
    let cm = |v: f64| (v * 100.0).round() as i64;
    assert_eq!([rows[0].min.0, rows[0].min.1, rows[0].max.0, rows[0].max.1].map(cm), [300, 240, 540, 360]);
    assert_eq!(snap_to_rows(&rows, (3.2, 7.0), (2.4, 1.2)), (3.0, 7.0), "start in line with the rows");
    assert_eq!(snap_to_rows(&rows, (5.6, 3.7), (2.4, 1.2)), (5.4, 3.6), "butting the end, in line with the fronts");
    assert_eq!(snap_to_rows(&rows, (9.0, 7.8), (1.2, 1.2)), (9.0, 7.8));
}

/// Containment is drawn where the hall has it: a roof and two end doors over the aisle between
/// two rows' backs (hot aisle) or fronts (cold aisle); none for the other kind or none at all.
#[test]
fn containment_closes_the_aisle_the_hall_contains() {
    use factory_twin::app::facility_view::{containment_panels, place};
    use factory_twin::model::{Containment, Facing};
    let mut site = scene::parse(scene::DEMO_SCENE).unwrap().site;
    assert_eq!(site.halls[0].containment, Containment::HotAisle);
    let panels = containment_panels(&site, &place(&site).rows);
    assert_eq!(panels.len(), 3, "a roof and two doors");
    assert!(panels.iter().all(|p| p.2), "the aisle between the backs is hot");
    // The roof spans the rows' common length (2.4 m) and the aisle (1.2 m), over the racks.
    let roof = panels[0];
    assert!((roof.1.x - 2.4).abs() < 1e-4 && (roof.1.z - 1.2).abs() < 1e-4 && roof.0.y > 2.0, "{roof:?}");
    site.halls[0].containment = Containment::ColdAisle;
    assert!(containment_panels(&site, &place(&site).rows).is_empty(), "no cold aisle between two backs");
    for (row, facing) in site.halls[0].rows.iter_mut().zip([Facing::North, Facing::South]) {
        row.facing = facing;
    }
    let panels = containment_panels(&site, &place(&site).rows);
    assert_eq!((panels.len(), panels.iter().any(|p| p.2)), (3, false), "fronts facing each other: a cold aisle");
    site.halls[0].containment = Containment::None;
    assert!(containment_panels(&site, &place(&site).rows).is_empty());
}

/// An edit that renumbers the objects (a CDU added before the CRAHs) keeps the selection on
/// the same object, and its charts start over instead of mixing in another object's past;
/// removing the selected object lets the selection go.
#[test]
fn the_selection_follows_its_object_through_edits_that_renumber_the_view() {
    use factory_twin::app::editor::EditorCommand;
    use factory_twin::app::inspector::History;
    use factory_twin::app::selection::{Select, Selection};
    use factory_twin::edit::script::Step;
    let mut app = app();
    let tag = |app: &App, id: &str| app.world().resource::<FacilityTags>().tag_of(id);
    let crah = tag(&app, "hall-1/crah-1");
    app.world_mut().write_message(Select { tag: crah, focus: false });
    for _ in 0..3 {
        app.world_mut().write_message(UiCommand(SimCommand::Step));
    }
    update_until(&mut app, |a| step(a) == Some(3));
    assert!(app.world().resource::<History>().samples.len() >= 2, "{:?}", app.world().resource::<History>().samples);
    let cdu = app.world().resource::<OpenScene>().site.halls[0].cdus[0].clone();
    let cdu = factory_twin::model::Cdu { id: "cdu-2".into(), position: Some((1.0, 8.0)), ..cdu };
    app.world_mut().write_message(EditorCommand::Step(Step::AddCdu { hall: "hall-1".into(), cdu }));
    let cdus = |a: &App| a.world().resource::<LatestSnapshot>().snapshot.as_ref().map(|s| s.cdus.len());
    update_until(&mut app, |a| cdus(a) == Some(2));
    app.update();
    let moved = tag(&app, "hall-1/crah-1");
    assert_eq!(moved, crah.map(|t| t + 1), "CDUs come before CRAHs: the CRAH's tag moved");
    let selection = app.world().resource::<Selection>().clone();
    assert_eq!((selection.selected, selection.selected_id.as_deref()), (moved, Some("hall-1/crah-1")));
    // The charts start over: nothing from before the edit, whose objects were numbered otherwise.
    assert!(app.world().resource::<History>().samples.len() <= 1, "{:?}", app.world().resource::<History>().samples);
    app.world_mut().write_message(EditorCommand::Step(Step::Remove { id: "hall-1/crah-1".into() }));
    app.update();
    app.update();
    let selection = app.world().resource::<Selection>().clone();
    assert_eq!((selection.selected, selection.selected_id), (None, None));
}

/// The timeline reads the recording's events off the frame; then Ctrl+→ and Ctrl+← go from
/// event to event, End and Home to the ends, and a loop keeps playing inside its range.
#[test]
fn the_timeline_knows_the_events_and_its_keys_move_between_them() {
    use factory_twin::app::replay_link::{ReplayCommand, ReplayLink};
    use factory_twin::app::timeline::{Timeline, keys_to_commands};
    use factory_twin::recording::playback::PlaybackCommand as P;
    assert_eq!(
        keys_to_commands(&[KeyCode::ArrowRight, KeyCode::Space, KeyCode::KeyQ], true, false),
        [P::NextEvent, P::TogglePlay]
    );
    assert_eq!(keys_to_commands(&[KeyCode::ArrowLeft], false, true), [P::Jump(-60.0)]);
    assert_eq!(keys_to_commands(&[KeyCode::ArrowLeft, KeyCode::End], false, false), [P::StepBack, P::ToEnd]);
    // A recording with the CDU failing at 30 s: alarms follow.
    let fail = factory_twin::sim::Event {
        at_s: 30.0,
        action: Action::Fail(Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() }),
    };
    let scenario = factory_twin::sim::Scenario { events: vec![fail], ..Default::default() };
    let mut app = replay_app_of(recording_of(200, "timeline", scenario), |_| {});
    update_until(&mut app, |a| a.world().resource::<Timeline>().review.is_some());
    let review = app.world().resource::<Timeline>().review.clone().unwrap();
    let first = review.events.first().map(|e| e.time_s).expect("the recording has events");
    assert_eq!(review.samples, 201);
    app.world_mut().write_message(ReplayCommand(P::NextEvent));
    app.update();
    assert_eq!(app.world().resource::<ReplayLink>().playback.time_s, first);
    app.world_mut().write_message(ReplayCommand(P::ToEnd));
    app.world_mut().write_message(ReplayCommand(P::PrevEvent));
    app.update();
    let last = review.events.last().unwrap().time_s;
    assert_eq!(app.world().resource::<ReplayLink>().playback.time_s, last);
    app.world_mut().write_message(ReplayCommand(P::SetLoop(Some((50.0, 60.0)))));
    app.world_mut().write_message(ReplayCommand(P::SetSpeed(10_000.0)));
    app.world_mut().write_message(ReplayCommand(P::Play));
    for _ in 0..5 {
        app.update();
        let pb = &app.world().resource::<ReplayLink>().playback;
        assert!(pb.playing && (50.0..=60.0).contains(&pb.time_s), "{}", pb.time_s);
    }
}

/// Copy and paste: a picked row goes to the clipboard and is placed, renamed, where the ghost
/// says; pasted into another hall it takes that hall's CDU; a paste that does not fit is
/// refused whole, and one undo takes a paste back.
#[test]
fn copied_rows_paste_into_any_hall_renamed_and_on_its_cdu() {
    use factory_twin::app::editor::{Editor, EditorCommand, paste_ghost_at};
    use factory_twin::edit::script::Step;
    let mut app = app();
    app.world_mut().resource_mut::<Editor>().active = true;
    // Room: row B goes, so the hall's CDU and PDU carry one more row.
    app.world_mut().write_message(EditorCommand::Step(Step::Remove { id: "hall-1/row-B".into() }));
    app.update();
    app.update();
    app.world_mut().write_message(EditorCommand::PickInPlanBox((2.9, 2.3), (5.5, 3.8)));
    app.world_mut().write_message(EditorCommand::CopyPicked);
    app.update();
    let (clipboard, from) = {
        let e = app.world().resource::<Editor>();
        (e.clipboard.clone(), e.clipboard_hall.clone())
    };
    assert_eq!((clipboard.len(), clipboard[0].racks.len(), from.as_deref()), (1, 4, Some("hall-1")));
    let site = app.world().resource::<OpenScene>().site.clone();
    let ghost = paste_ghost_at(&site, (3.0, 6.0), &clipboard, from.as_deref(), true).unwrap();
    assert_eq!(ghost.fits, Ok(()));
    let mut edits = vec![ghost.edit.clone()];
    edits.extend(ghost.more.clone());
    app.world_mut().write_message(EditorCommand::Edits(edits));
    app.update();
    let rows: Vec<(String, (f64, f64))> =
        app.world().resource::<OpenScene>().site.halls[0].rows.iter().map(|r| (r.id.clone(), r.origin)).collect();
    assert_eq!(rows, [("row-A".to_string(), (3.0, 2.4)), ("row-B".to_string(), (3.0, 6.0))]);
    // Onto row A itself: refused whole.
    let site = app.world().resource::<OpenScene>().site.clone();
    let bad = paste_ghost_at(&site, (3.0, 2.4), &clipboard, from.as_deref(), true).unwrap();
    assert!(bad.fits.as_ref().is_err_and(|why| why.contains("overlaps")), "{:?}", bad.fits);
    app.world_mut().write_message(EditorCommand::Undo);
    app.update();
    assert_eq!(app.world().resource::<OpenScene>().site.halls[0].rows.len(), 1);
    // Into a second hall: the row takes that hall's CDU.
    let mut hall2 = site.halls[0].clone();
    hall2.id = "hall-2".into();
    hall2.origin = (20.0, 0.0);
    hall2.rows.clear();
    app.world_mut().write_message(EditorCommand::Step(Step::AddHall { hall: hall2 }));
    app.update();
    let site = app.world().resource::<OpenScene>().site.clone();
    let there = paste_ghost_at(&site, (23.0, 2.4), &clipboard, from.as_deref(), true).unwrap();
    let factory_twin::edit::Edit::InsertRow { hall, row, .. } = &there.edit else { panic!("{:?}", there.edit) };
    assert_eq!((hall.as_str(), row.id.as_str(), row.cdu.as_deref()), ("hall-2", "row-A", Some("hall-2/cdu-1")));
}

/// Bookmarks and notes made on the timeline are written beside the recording (never into it)
/// and read again when it opens.
#[test]
fn bookmarks_and_notes_are_kept_beside_the_recording() {
    use factory_twin::app::timeline::Timeline;
    use factory_twin::app::{Source, insert_source};
    use factory_twin::incident::{Note, load_notes, notes_path};
    use factory_twin::recording::Player;
    let path = demo_recording(60, "notes");
    let before = std::fs::read(&path).unwrap();
    let open = |path: &std::path::Path| {
        let player = Player::open(path).unwrap();
        let mut app = headless();
        app.add_plugins(MinimalPlugins);
        insert_source(
            &mut app,
            format!("{} (recording)", path.display()),
            player.site.clone(),
            Source::Replay(Box::new(player)),
        );
        app.add_plugins(plugin);
        update_until(&mut app, |a| a.world().resource::<Timeline>().review.is_some());
        app
    };
    let mut app = open(&path);
    let note = Note { at_s: 30.0, until_s: Some(45.0), text: "look here".into(), bookmark: false };
    app.world_mut().resource_mut::<Timeline>().add_note(note.clone());
    assert_eq!(load_notes(&path).unwrap().notes, [note.clone()]);
    assert_eq!(std::fs::read(&path).unwrap(), before, "the recording is never rewritten");
    let app = open(&path);
    assert_eq!(app.world().resource::<Timeline>().notes.notes, [note]);
    let _ = std::fs::remove_file(notes_path(&path));
    let _ = std::fs::remove_file(&path);
}

/// Compare two runs: run B (the same hall, nothing failed) beside run A (its CDU failed at
/// 30 s): before the failure the view coloured by A − B is white, after it the hot racks are
/// red; aligning on first failures shifts B's times; B's output lost is known.
#[test]
fn a_second_run_colours_the_view_by_the_difference() {
    use factory_twin::app::colours::CurrentColours;
    use factory_twin::app::replay_link::ReplayCommand;
    use factory_twin::app::timeline::{Compare, Timeline, match_racks};
    use factory_twin::recording::Player;
    use factory_twin::recording::playback::PlaybackCommand as P;
    use std::sync::Arc;
    let fail = factory_twin::sim::Event {
        at_s: 30.0,
        action: Action::Fail(Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() }),
    };
    let scenario = factory_twin::sim::Scenario { events: vec![fail], ..Default::default() };
    let mut app = replay_app_of(recording_of(120, "compare-a", scenario), |_| {});
    update_until(&mut app, |a| a.world().resource::<Timeline>().review.is_some());
    let calm = demo_recording(120, "compare-b");
    let mut player = Player::open(&calm).unwrap();
    let _ = std::fs::remove_file(&calm);
    let review = factory_twin::incident::review(&mut player, None, None, 100).unwrap();
    assert_eq!(review.gpu_hours_lost, 0.0);
    let site = app.world().resource::<OpenScene>().site.clone();
    assert_eq!(match_racks(&site, &player.site), (0..8).map(Some).collect::<Vec<_>>());
    let compare = Compare {
        name: "calm".into(),
        player,
        review: Arc::new(review),
        align_failures: false,
        colour_difference: true,
    };
    let a = app.world().resource::<Timeline>().review.clone().unwrap();
    assert_eq!(compare.b_time(&a, 70.0), 70.0, "B has no failure to align on");
    app.world_mut().resource_mut::<Timeline>().compare = Some(compare);
    let rack = |app: &mut App, t: f64| {
        app.world_mut().write_message(ReplayCommand(P::SetTime(t)));
        app.update();
        app.update();
        app.world().resource::<CurrentColours>().0[0]
    };
    let before = rack(&mut app, 10.0);
    assert!(before[..3].iter().all(|c| (c - 0.95).abs() < 0.02), "same state, white: {before:?}");
    let after = rack(&mut app, 100.0);
    assert!(after[0] > 0.3 && after[0] > after[2] + 0.2, "hotter in A, red: {after:?}");
    // The inspector charts the selected rack in both runs over the same minutes.
    use factory_twin::app::inspector::History;
    use factory_twin::app::selection::Select;
    app.world_mut().write_message(Select { tag: Some(0), focus: false });
    app.update();
    app.update();
    let h = app.world().resource::<History>();
    let (a_last, b_last) = (h.samples.back().unwrap(), h.b_samples.last().unwrap());
    assert_eq!(h.samples.front().unwrap().time_s, h.b_samples.first().unwrap().time_s);
    assert_eq!((a_last.time_s, b_last.time_s), (100.0, 100.0));
    assert!(a_last.temps[0] > b_last.temps[0] + 10.0, "A's GPU hotter: {a_last:?} vs {b_last:?}");
}

/// The live run's past is kept: looking back shows the state of then while the run goes on,
/// Back to live shows the newest again, and what is kept saves as a recording with its alarms.
#[test]
fn a_live_run_can_be_scrubbed_back_and_its_history_saved() {
    use factory_twin::app::live_history::LiveRunHistory;
    use factory_twin::recording::Player;
    let mut app = app();
    let fail = Failure { kind: FailureKind::Cdu, target: "all".into() };
    app.world_mut().write_message(UiCommand(SimCommand::Apply(Action::Fail(fail))));
    // One step at a time: the view keeps the states it was shown.
    for i in 1..=40 {
        app.world_mut().write_message(UiCommand(SimCommand::Step));
        update_until(&mut app, |a| step(a) == Some(i));
    }
    let kept = app.world().resource::<LiveRunHistory>().history.range().unwrap();
    assert_eq!((kept.start_s, kept.end_s), (0.0, 40.0));
    let gpu = |app: &App| {
        app.world().resource::<LatestSnapshot>().snapshot.as_ref().map(|s| (s.time_s, s.kpis.max_gpu_temp_c))
    };
    let now = gpu(&app).unwrap();
    app.world_mut().resource_mut::<LiveRunHistory>().looking_at = Some(2.0);
    app.update();
    let then = gpu(&app).unwrap();
    assert!(then.0 == 2.0 && then.1 < now.1, "the past is cooler: {then:?} vs {now:?}");
    // The run goes on while we look back.
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| a.world().resource::<LiveRunHistory>().history.range().unwrap().end_s == 41.0);
    assert_eq!(gpu(&app).unwrap().0, 2.0, "still looking back");
    app.world_mut().resource_mut::<LiveRunHistory>().looking_at = None;
    app.update();
    assert_eq!(gpu(&app).unwrap().0, 41.0, "back to live");
    let path = std::env::temp_dir().join(format!("ft-live-history-{}.mcap", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (site, events) = {
        use factory_twin::app::sim_link::SimLink;
        (app.world().resource::<OpenScene>().site.clone(), app.world().resource::<SimLink>().alarm_log.clone())
    };
    // The sim's own log: the failure itself, not only the alarms that followed.
    let failed = |e: &factory_twin::sim::Alarm| e.raised && e.kind == factory_twin::sim::AlarmKind::EquipmentDown;
    assert!(events.iter().any(failed), "{events:?}");
    app.world().resource::<LiveRunHistory>().history.save(&path, &site, &Default::default(), &events).unwrap();
    let mut p = Player::open(&path).unwrap();
    assert_eq!(p.time_range().end_s, 41.0);
    assert_eq!(p.seek(2.0).unwrap().kpis.max_gpu_temp_c, then.1);
    assert_eq!(p.events().unwrap().len(), events.len());
    let review = factory_twin::incident::review(&mut p, None, None, 10).unwrap();
    assert!(review.spans.iter().any(|s| s.is_failure()), "the report knows what failed");
    std::fs::remove_file(&path).unwrap();
}

// ---- Issue 15: demo mode ---------------------------------------------------------------------

fn press(app: &mut App, window: Entity, key: KeyCode) {
    use bevy::input::ButtonState;
    use bevy::input::keyboard::{Key, KeyboardInput};
    for state in [ButtonState::Pressed, ButtonState::Released] {
        app.world_mut().write_message(KeyboardInput {
            key_code: key,
            logical_key: Key::Unidentified(bevy::input::keyboard::NativeKey::Unidentified),
            state,
            text: None,
            repeat: false,
            window,
        });
        app.update();
    }
}

/// A story runs the live sim: its speed and actions reach the sim thread, its camera flies to
/// each beat's shot, the presenter's keys step beats, and Esc hands the app back as it stands.
#[test]
fn a_demo_drives_the_run_and_the_camera_and_esc_hands_the_app_back() {
    use factory_twin::app::camera::OrbitCamera;
    use factory_twin::app::demo::DemoShow;
    use factory_twin::app::sim_link::SimLink;
    use factory_twin::demo::Demo;
    use factory_twin::live::Speed;
    let demo = Demo::parse(
        r#"Demo(version: 1, title: "t", scene: "x.ron", speed: 4.0, beats: [
            (caption: "row A", camera: Object(id: "hall-1/row-A", distance: 8.0, yaw_deg: 0.0, pitch_deg: 30.0), move_s: 1.0, hold_s: 1.0),
            (caption: "a pump", camera: Aerial, actions: [Fail((kind: CduPump, target: "hall-1/cdu-1"))], speed: 9.0, move_s: 1.0, hold_s: 30.0),
            (caption: "end", hold_s: 1.0),
        ])"#,
    )
    .unwrap();
    let mut app = app_with_input_unstarted();
    app.insert_resource(DemoShow::new("t".into(), demo, None, 24.0));
    app.update();
    let window = window_with_cursor(&mut app, Vec2::new(500.0, 300.0));
    // The story's speed starts the (paused) sim.
    update_until(&mut app, |a| {
        a.world().get_resource::<SimLink>().is_some_and(|l| !l.paused && l.speed == Speed::Times(4.0))
    });
    let orbit = |a: &mut App| *a.world_mut().query::<&OrbitCamera>().single(a.world()).unwrap();
    // One second of the first beat: the camera stands 8 m from row A's middle, from the south.
    for _ in 0..61 {
        app.update();
    }
    let tags = app.world().resource::<FacilityTags>().clone();
    let row_a: Vec<_> = (0..4).map(|i| tags.boxes[i]).collect();
    let centre = row_a.iter().fold(Vec3::ZERO, |s, b| s + (b.0 + b.1) / 2.0) / 4.0;
    let o = orbit(&mut app);
    assert!(o.focus.distance(centre) < 0.05 && (o.distance - 8.0).abs() < 0.05 && o.yaw.abs() < 0.01, "{o:?}");
    // The second beat: its failure reaches the sim (one of three pumps stops) and its speed.
    update_until(&mut app, |a| {
        a.world().resource::<SimLink>().alarm_log.iter().any(|l| l.raised && l.message.starts_with("cdu-pump failed"))
    });
    update_until(&mut app, |a| a.world().resource::<SimLink>().speed == Speed::Times(9.0));
    assert_eq!(app.world().resource::<DemoShow>().director.beat, Some(1));
    for _ in 0..70 {
        app.update();
    }
    assert!((orbit(&mut app).pitch - 0.95).abs() < 0.01, "the aerial shot");
    // → goes to the next beat at once (its hold is 30 s); ← back.
    press(&mut app, window, KeyCode::ArrowRight);
    assert_eq!(app.world().resource::<DemoShow>().director.beat, Some(2));
    press(&mut app, window, KeyCode::PageUp);
    assert_eq!(app.world().resource::<DemoShow>().director.beat, Some(1));
    // Esc: the overlay goes, the camera stays where the story left it and is the user's again.
    let left_at = orbit(&mut app);
    press(&mut app, window, KeyCode::Escape);
    assert!(!app.world().resource::<DemoShow>().presenting);
    for _ in 0..30 {
        app.update();
    }
    let o = orbit(&mut app);
    assert!(o.focus.distance(left_at.focus) < 0.5 && (o.distance - left_at.distance).abs() < 0.5, "{o:?}");
    assert!(!app.world().resource::<SimLink>().paused, "the run goes on");
}

/// The quality the user picks is remembered with the layout; without a choice, a machine
/// without a GPU adapter gets low.
#[test]
fn the_render_quality_is_remembered() {
    use factory_twin::app::layout_store::{LayoutFile, UiLayout, read};
    use factory_twin::app::quality::{Quality, RenderQuality};
    let path = std::env::temp_dir().join(format!("ft-quality-{}/layout.ron", std::process::id()));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    let start = |path: &Path| {
        let site = scene::parse(scene::DEMO_SCENE).unwrap().site;
        let mut app = headless();
        app.add_plugins(MinimalPlugins)
            .insert_resource(OpenScene { name: "demo".into(), site })
            .insert_resource(SimStart { paused: true, ..Default::default() })
            .insert_resource(LayoutFile(path.to_path_buf()))
            .add_plugins(plugin);
        app.update();
        app
    };
    let mut app = start(&path);
    assert_eq!(*app.world().resource::<RenderQuality>(), RenderQuality { quality: Quality::Low, chosen: false });
    *app.world_mut().resource_mut::<RenderQuality>() = RenderQuality { quality: Quality::High, chosen: true };
    app.update();
    app.world_mut().write_message(AppExit::Success);
    app.update();
    assert_eq!(read(&path).unwrap().quality, Some(Quality::High));
    let app = start(&path);
    assert_eq!(*app.world().resource::<RenderQuality>(), RenderQuality { quality: Quality::High, chosen: true });
    assert_eq!(UiLayout::default().quality, None);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// The Resilience panel's work: the check of the open site on its thread, the CDU coloured by
/// what its failure costs, and a result replayed live from the check's steady state (the sim
/// jumps to the failure time with that CDU down).
#[test]
fn the_resilience_check_colours_units_and_replays_a_what_if_live() {
    use factory_twin::app::resilience::{Resilience, cost_colour};
    let mut app = app();
    let site = app.world().resource::<OpenScene>().site.clone();
    {
        let mut r = app.world_mut().resource_mut::<Resilience>();
        r.start("demo".into(), site);
        assert!(r.running());
        r.wait();
        assert!(r.error.is_none(), "{:?}", r.error);
    }
    let r = app.world().resource::<Resilience>();
    let report = r.report.clone().expect("a report");
    let rank = report.results.iter().position(|o| o.failure == "cdu hall-1/cdu-1").expect("the CDU");
    assert!(report.results[rank].costs_output);
    let cdu_cost = r.unit_costs().into_iter().find(|(id, _)| id == "hall-1/cdu-1").expect("the CDU's cost").1;
    assert!(cdu_cost > 0.0);
    let command = r.what_if(rank).expect("a what-if");
    // The CDU is drawn in its failure's colour.
    app.update();
    let tags = app.world().resource::<FacilityTags>().clone();
    let colours = app.world().resource::<CurrentColours>().0.clone();
    assert_eq!(colours[tags.cdu_start as usize], cost_colour(cdu_cost));
    // Replayed live: the run carries on from the steady state (600 s) with the CDU failed.
    app.world_mut().write_message(UiCommand(command));
    app.world_mut().write_message(UiCommand(SimCommand::Step));
    update_until(&mut app, |a| {
        a.world().resource::<LatestSnapshot>().snapshot.as_ref().is_some_and(|s| s.time_s >= 600.0)
    });
    let s = app.world().resource::<LatestSnapshot>().snapshot.clone().unwrap();
    assert!(s.time_s < 700.0, "{}", s.time_s);
    assert_eq!(s.cdus[0].flow_fraction, 0.0, "the CDU is down in the replay");
}
