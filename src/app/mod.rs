//! The viewer: a thin layer of Bevy plugins over the domain, one per file. Data flows one way:
//! panels → `SimCommand` → sim thread → `Snapshot` → ECS → colours.

pub mod camera;
pub mod colours;
pub mod facility_view;
pub mod panels;
pub mod sim_link;

use std::process::ExitCode;

use bevy::prelude::*;
use bevy::window::WindowResolution;

use crate::model::Site;

/// The scene the app shows, and its display name.
#[derive(Resource, Clone)]
pub struct OpenScene {
    pub name: String,
    pub site: Site,
}

/// Order of the per-frame work: pull the newest snapshot, then recolour, then UI.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppSystems {
    PullSnapshot,
    Recolour,
}

/// Every plugin of the viewer except windowing and rendering, so headless tests can use it.
pub fn plugin(app: &mut App) {
    app.configure_sets(Update, (AppSystems::PullSnapshot, AppSystems::Recolour).chain());
    app.add_plugins((sim_link::plugin, facility_view::plugin, colours::plugin));
}

/// Opens the window on `site` and runs until it is closed.
pub fn run(name: String, site: Site, scenario: crate::sim::Scenario, speed: f64) -> ExitCode {
    let title = format!("factory-twin — {name}");
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window { title, resolution: WindowResolution::new(1600, 900), ..default() }),
        ..default()
    }))
    .insert_resource(ClearColor(Color::srgb(0.055, 0.06, 0.07)))
    .insert_resource(OpenScene { name, site })
    .insert_resource(sim_link::SimStart { paused: false, scenario, speed })
    .add_plugins(bevy_egui::EguiPlugin::default())
    .add_plugins((plugin, camera::plugin, panels::plugin));
    match app.run() {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(_) => ExitCode::FAILURE,
    }
}
