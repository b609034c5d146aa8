//! The viewer: a thin layer of Bevy plugins over the domain, one per file. Data flows one way:
//! panels → `SimCommand` → sim thread → `Snapshot` → ECS → colours.

pub mod camera;
pub mod colours;
pub mod demo;
pub mod editor;
pub mod facility_view;
pub mod files;
pub mod frame_stats;
pub mod inspector;
pub mod layout_store;
pub mod live_history;
pub mod outliner;
pub mod panels;
pub mod pointer;
pub mod quality;
pub mod replay_link;
pub mod resilience;
pub mod selection;
pub mod shot;
pub mod sim_link;
pub mod tags;
pub mod timeline;

use std::process::ExitCode;

use bevy::prelude::*;
use bevy::window::WindowResolution;

use crate::model::Site;

/// Sim time as hh:mm:ss, for the panels and the alarm list.
pub fn clock(t: f64) -> String {
    let t = t.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60)
}

/// The scene the app shows, and its display name.
#[derive(Resource, Clone)]
pub struct OpenScene {
    pub name: String,
    pub site: Site,
}

/// The site's network (ids, which CDU and PDU feed each rack, ratings) for the inspector.
#[derive(Resource)]
pub struct SiteNetwork(pub crate::sim::network::Network);

/// Order of the per-frame work: rebuild after another file opened, pointer input (hover, click,
/// selection, outline), the camera, pull the newest snapshot, recolour; the egui pass follows in
/// `PostUpdate`. A test checks that `Update` has no ambiguous order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppSystems {
    Rebuild,
    Input,
    Camera,
    PullSnapshot,
    Recolour,
}

/// Run condition: another file was opened into this window (not the first scene, which the
/// `Startup` systems build).
pub fn scene_reopened(scene: Option<Res<OpenScene>>) -> bool {
    scene.is_some_and(|s| s.is_changed() && !s.is_added())
}

/// What the viewer shows, which decides the systems that run (`run_if(in_state(..))`): the
/// live link runs only `Live`, playback only `Replay`, the PNG capture only `Still`. Opening a
/// file switches it (`files`). The layout editor is not a mode: it edits the live run while
/// `editor::Editor::active`.
#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ViewerMode {
    /// A live simulation on its own thread (`sim_link`).
    #[default]
    Live,
    /// A recording played back (`replay_link`).
    Replay,
    /// One fixed state drawn to a PNG (`shot`, the `render` command).
    Still,
}

/// States need `StatesPlugin`: `DefaultPlugins` has it, headless tests' `MinimalPlugins` not.
fn ensure_states(app: &mut App) {
    if !app.is_plugin_added::<bevy::state::app::StatesPlugin>() {
        app.add_plugins(bevy::state::app::StatesPlugin);
    }
}

/// Set for the frame after a layout edit: the scene's systems rebuild, but the running sim is
/// told (`SimCommand::Edits`), not restarted.
#[derive(Resource, Debug, Default)]
pub struct SiteEdited {
    /// Rows (hall index, row index) that only moved or turned, when that is all the edit did:
    /// the view moves them and nothing else rebuilds. `None`: everything rebuilds.
    pub moved: Option<Vec<(usize, usize)>>,
}

/// Run condition: the scene's derived state (the 3D facility, the network) must be built anew:
/// another file opened, or an edit did more than move rows.
pub fn scene_rebuilds(scene: Option<Res<OpenScene>>, edited: Option<Res<SiteEdited>>) -> bool {
    scene.is_some_and(|s| s.is_changed() && !s.is_added()) && !edited.is_some_and(|e| e.moved.is_some())
}

/// A file that loaded and is applied to this window at the start of the next update (`files`).
#[derive(Resource)]
pub struct OpenedFile(pub crate::open::Opened);

impl std::fmt::Debug for OpenedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenedFile({})", self.0.name())
    }
}

/// Where the viewer's snapshots come from: a live simulation or a recording.
pub enum Source {
    Live {
        scenario: crate::sim::Scenario,
        speed: f64,
    },
    Replay(Box<crate::recording::Player>),
    /// One fixed state (the `render` command).
    Fixed(Box<crate::sim::Snapshot>),
}

/// Every plugin of the viewer except windowing and rendering, so headless tests can use it.
pub fn plugin(app: &mut App) {
    ensure_states(app);
    // Kept when `insert_source` chose the mode already.
    app.init_state::<ViewerMode>();
    app.configure_sets(
        Update,
        (AppSystems::Rebuild, AppSystems::Input, AppSystems::Camera, AppSystems::PullSnapshot, AppSystems::Recolour)
            .chain(),
    );
    app.add_plugins((
        pointer::plugin,
        sim_link::plugin,
        replay_link::plugin,
        facility_view::plugin,
        colours::plugin,
        selection::plugin,
        inspector::plugin,
        layout_store::plugin,
        quality::plugin,
        editor::plugin,
        timeline::plugin,
        live_history::plugin,
        demo::plugin,
        resilience::plugin,
    ))
    .add_systems(Startup, build_network)
    .add_systems(Update, build_network.run_if(scene_rebuilds).in_set(AppSystems::Rebuild));
}

fn build_network(mut commands: Commands, scene: Res<OpenScene>) {
    match crate::sim::network::Network::build(&scene.site) {
        Ok(n) => commands.insert_resource(SiteNetwork(n)),
        Err(e) => error!("{}: {e}", scene.name),
    }
}

/// Puts the scene and its snapshot source into `app`: a live sim starts at `Startup`; a
/// recording starts paused at its first sample.
pub fn insert_source(app: &mut App, name: String, site: Site, source: Source) {
    ensure_states(app);
    app.insert_resource(OpenScene { name, site });
    match source {
        Source::Live { scenario, speed } => {
            app.insert_resource(sim_link::SimStart { paused: false, scenario, speed });
            app.insert_state(ViewerMode::Live);
        }
        Source::Replay(player) => {
            app.insert_resource(replay_link::ReplayLink::new(*player));
            app.insert_state(ViewerMode::Replay);
        }
        Source::Fixed(snapshot) => {
            app.insert_resource(sim_link::LatestSnapshot { snapshot: Some(*snapshot), frames_since_update: 0 });
            app.insert_state(ViewerMode::Still);
        }
    }
}

/// The window and plugins every windowed mode shares.
fn windowed_app(title: String, size: (u32, u32), synchronous_pipelines: bool) -> App {
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window { title, resolution: WindowResolution::new(size.0, size.1), ..default() }),
                // The editor asks about unsaved changes first (`editor::overlay_and_dialogs`).
                close_when_requested: false,
                ..default()
            })
            .set(bevy::render::RenderPlugin {
                synchronous_pipeline_compilation: synchronous_pipelines,
                render_creation: frame_stats::render_creation(),
                ..default()
            }),
    )
    .insert_resource(ClearColor(quality::HAZE))
    .add_plugins(bevy_egui::EguiPlugin::default())
    .add_plugins((
        plugin,
        camera::plugin,
        panels::plugin,
        files::plugin,
        frame_stats::plugin,
        editor::input_plugin,
    ));
    app
}

fn exit_code(e: AppExit) -> ExitCode {
    match e {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(_) => ExitCode::FAILURE,
    }
}

/// Opens the window on `site` and runs until it is closed.
pub fn run(name: String, site: Site, source: Source) -> ExitCode {
    let mut app = windowed_app(format!("factory-twin — {name}"), (1600, 900), false);
    if let Some(f) = layout_store::LayoutFile::user_default() {
        app.insert_resource(f);
    }
    if let Some(f) = editor::RecoveryFile::user_default() {
        app.insert_resource(f);
    }
    insert_source(&mut app, name, site, source);
    exit_code(app.run())
}

/// Draws one state in the default view and writes it to a PNG (`factory-twin render`).
pub fn render(shot: crate::still::Shot, high_quality: bool) -> ExitCode {
    let mut app = windowed_app(format!("factory-twin render — {}", shot.name), shot.size, true);
    app.insert_resource(quality::RenderQuality::chosen(high_quality));
    app.add_plugins(shot::plugin)
        .insert_resource(shot::ShotRequest { out: shot.out, frames: 0, taken: false })
        .insert_resource(colours::ColourSettings { metric: shot.metric, range: shot.metric.fixed_range(), ..default() })
        .insert_resource(camera::RequestedView(Some(match shot.view {
            crate::still::ViewPreset::Overview => camera::View::Overview,
            crate::still::ViewPreset::Aisle => camera::View::Aisle,
            crate::still::ViewPreset::Plan => camera::View::Plan,
        })));
    // A still image has nothing to open.
    app.world_mut().remove_resource::<files::FileOpen>();
    insert_source(&mut app, shot.name, shot.site, Source::Fixed(Box::new(shot.snapshot)));
    exit_code(app.run())
}

/// `factory-twin demo`: the story full screen over the live run; `Esc` leaves it into the app.
pub fn run_demo(loaded: crate::demo::LoadedDemo) -> ExitCode {
    let mut app = windowed_app(format!("factory-twin — {}", loaded.demo.title), (1600, 900), false);
    if let Some(f) = layout_store::LayoutFile::user_default() {
        app.insert_resource(f);
    }
    let ambient = loaded.site.ambient.dry_bulb_c;
    let mut show = demo::DemoShow::new(loaded.name, loaded.demo.clone(), loaded.logo, ambient);
    show.fill_screen = true;
    app.insert_resource(show);
    let speed = loaded.demo.speed;
    insert_source(&mut app, loaded.scene_name, loaded.site, Source::Live { scenario: loaded.scenario, speed });
    exit_code(app.run())
}

/// `factory-twin render --demo`: the story as numbered PNGs at `fps`, the run stepped with the
/// frames (the same files every run).
pub fn render_demo(
    loaded: crate::demo::LoadedDemo,
    dir: std::path::PathBuf,
    fps: u32,
    size: (u32, u32),
    high_quality: bool,
) -> ExitCode {
    let sim = match crate::sim::Simulation::new(loaded.site.clone(), loaded.scenario.clone(), 1.0) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot simulate {}: {e}", loaded.scene_name);
            return ExitCode::FAILURE;
        }
    };
    let mut app = windowed_app(format!("factory-twin render — {}", loaded.demo.title), size, true);
    app.insert_resource(quality::RenderQuality::chosen(high_quality));
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(std::time::Duration::from_secs_f64(
        1.0 / fps.max(1) as f64,
    )));
    app.world_mut().remove_resource::<files::FileOpen>();
    let ambient = loaded.site.ambient.dry_bulb_c;
    app.insert_resource(demo::DemoShow::new(loaded.name, loaded.demo.clone(), loaded.logo, ambient));
    let mut sim = sim;
    let first = sim.snapshot();
    app.insert_resource(demo::DemoFrames {
        dir,
        fps,
        sim,
        speed: loaded.demo.speed,
        settle: shot::SETTLE_FRAMES,
        spawned: 0,
        written: 0,
        failed: None,
        finished: false,
    });
    insert_source(&mut app, loaded.scene_name, loaded.site, Source::Fixed(Box::new(first)));
    exit_code(app.run())
}
