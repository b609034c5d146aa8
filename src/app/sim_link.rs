//! The live simulation behind the viewer: owns the `SimHandle`, takes the newest snapshot each
//! frame, and carries the panels' commands to the sim thread.

use bevy::prelude::*;

use super::{AppSystems, OpenScene};
use crate::sim::handle::Speed;
use crate::sim::{Scenario, SimCommand, SimEvent, SimHandle, Simulation, Snapshot};

/// The sim thread and what the viewer knows of it.
#[derive(Resource)]
pub struct SimLink {
    pub handle: SimHandle,
    pub paused: bool,
    pub speed: Speed,
    /// Errors, refused edits and recording news from the sim thread, newest last.
    pub messages: Vec<String>,
    /// Whether a recording is in progress.
    pub recording: bool,
}

/// The snapshot the view shows now; `changed` is set when a new one arrived this frame.
#[derive(Resource, Default)]
pub struct LatestSnapshot {
    pub snapshot: Option<Snapshot>,
    pub frames_since_update: u32,
}

/// How the sim thread starts: running at 1× (the app) or paused (tests, replays).
#[derive(Resource, Debug, Clone)]
pub struct SimStart {
    pub paused: bool,
    pub scenario: Scenario,
    /// Sim seconds per wall second.
    pub speed: f64,
}

impl Default for SimStart {
    fn default() -> Self {
        SimStart { paused: false, scenario: Scenario::default(), speed: 1.0 }
    }
}

/// Present when the viewer shows a recording: no live simulation is started.
#[derive(Resource)]
pub struct NoLiveSim;

/// A command from the UI for the sim thread. Systems write these; one system sends them.
#[derive(Message, Debug, Clone)]
pub struct UiCommand(pub SimCommand);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LatestSnapshot>()
        .add_message::<UiCommand>()
        .add_systems(Startup, start_sim)
        .add_systems(Update, (send_commands, pull_snapshot).chain().in_set(AppSystems::PullSnapshot));
}

fn start_sim(
    mut commands: Commands,
    scene: Res<OpenScene>,
    start: Option<Res<SimStart>>,
    replay: Option<Res<NoLiveSim>>,
) {
    if replay.is_some() {
        return;
    }
    let start = start.map(|s| s.clone()).unwrap_or_default();
    match Simulation::new(scene.site.clone(), start.scenario, 1.0) {
        Ok(sim) => {
            let speed = Speed::Times(start.speed.max(0.0));
            commands.insert_resource(SimLink {
                handle: SimHandle::spawn(sim, speed, start.paused),
                paused: start.paused,
                speed,
                messages: Vec::new(),
                recording: false,
            });
        }
        Err(e) => error!("cannot simulate {}: {e}", scene.name),
    }
}

fn send_commands(mut reader: MessageReader<UiCommand>, link: Option<ResMut<SimLink>>) {
    let Some(mut link) = link else {
        reader.clear();
        return;
    };
    for UiCommand(c) in reader.read() {
        match c {
            SimCommand::Pause => link.paused = true,
            SimCommand::Resume => link.paused = false,
            SimCommand::SetSpeed(s) => link.speed = *s,
            _ => {}
        }
        link.handle.send(c.clone());
    }
}

fn pull_snapshot(link: Option<ResMut<SimLink>>, mut latest: ResMut<LatestSnapshot>) {
    let Some(mut link) = link else { return };
    for e in link.handle.events() {
        match e {
            SimEvent::Error(m) | SimEvent::EditRejected(m) => {
                warn!("{m}");
                link.messages.push(m);
            }
            SimEvent::Recording(m) => {
                info!("{m}");
                link.recording = m.starts_with("recording to");
                link.messages.push(m);
            }
            SimEvent::EditApplied => {}
        }
    }
    match link.handle.latest() {
        Some(s) => {
            latest.snapshot = Some(s);
            latest.frames_since_update = 0;
        }
        None => latest.frames_since_update += 1,
    }
}
