//! The live simulation behind the viewer: owns the `SimHandle`, takes the newest snapshot each
//! frame, and carries the panels' commands to the sim thread.

use bevy::prelude::*;

use super::{AppSystems, OpenScene, ViewerMode};
use crate::live::Speed;
use crate::live::{SimCommand, SimEvent, SimHandle};
use crate::sim::{Scenario, Simulation, Snapshot};

/// The sim thread and what the viewer knows of it. Every field follows the thread's own typed
/// events, so the panels show what the thread does, not what was asked of it.
#[derive(Resource)]
pub struct SimLink {
    pub handle: SimHandle,
    pub paused: bool,
    pub speed: Speed,
    /// Sim seconds per wall second the thread last achieved while running.
    pub achieved: Option<f64>,
    /// Errors, refused edits and recording news from the sim thread, newest last.
    pub messages: Vec<LinkMessage>,
    /// The recording in progress.
    pub recording: Option<std::path::PathBuf>,
    /// The sim's copy of the layout fell out of step with the editor's: send it whole.
    pub resend_site: bool,
    /// The run's alarm log as the sim thread keeps it (failures, restores, alarms raised and
    /// cleared): what a saved live history carries as its events.
    pub alarm_log: Vec<crate::sim::Alarm>,
}

/// A line for the transport bar: news (a recording started or saved) or a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkMessage {
    pub text: String,
    pub problem: bool,
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

/// A command from the UI for the sim thread. Systems write these; one system sends them.
#[derive(Message, Debug, Clone)]
pub struct UiCommand(pub SimCommand);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LatestSnapshot>()
        .add_message::<UiCommand>()
        .add_systems(Startup, start_sim.run_if(in_state(ViewerMode::Live)))
        .add_systems(
            Update,
            start_sim
                .run_if(
                    super::scene_reopened
                        .and_then(in_state(ViewerMode::Live))
                        // An edit reaches the running sim as `EditSite`: no restart.
                        .and_then(not(resource_exists::<super::SiteEdited>)),
                )
                .in_set(AppSystems::Rebuild),
        )
        .add_systems(
            Update,
            (send_commands, pull_snapshot, resend_site)
                .chain()
                .run_if(in_state(ViewerMode::Live))
                .in_set(AppSystems::PullSnapshot),
        );
}

fn start_sim(mut commands: Commands, scene: Res<OpenScene>, start: Option<Res<SimStart>>) {
    let start = start.map(|s| s.clone()).unwrap_or_default();
    match Simulation::new(scene.site.clone(), start.scenario, 1.0) {
        Ok(sim) => {
            let speed = Speed::Times(start.speed.max(0.0));
            commands.insert_resource(SimLink {
                handle: SimHandle::spawn(sim, speed, start.paused),
                paused: start.paused,
                speed,
                achieved: None,
                messages: Vec::new(),
                recording: None,
                resend_site: false,
                alarm_log: Vec::new(),
            });
        }
        Err(e) => error!("cannot simulate {}: {e}", scene.name),
    }
}

/// After `EditsOutOfStep`: the sim takes the editor's whole layout.
fn resend_site(link: Option<ResMut<SimLink>>, scene: Res<OpenScene>) {
    if let Some(mut link) = link.filter(|l| l.resend_site) {
        link.resend_site = false;
        link.handle.send(SimCommand::EditSite(Box::new(scene.site.clone())));
    }
}

fn send_commands(mut reader: MessageReader<UiCommand>, link: Option<Res<SimLink>>) {
    let Some(link) = link else {
        reader.clear();
        return;
    };
    // The link's paused/speed change only when the thread says so (`SimEvent::RunState`).
    for UiCommand(c) in reader.read() {
        link.handle.send(c.clone());
    }
}

/// Applies one event from the sim thread to what the viewer shows.
pub fn apply_event(link: &mut SimLink, e: SimEvent) {
    let problem = match &e {
        SimEvent::RunState { paused, speed } => {
            link.paused = *paused;
            link.speed = *speed;
            if *paused {
                link.achieved = None;
            }
            return;
        }
        SimEvent::Achieved(x) => {
            link.achieved = Some(*x);
            return;
        }
        SimEvent::EditApplied => return,
        SimEvent::Logged { from, alarms } => {
            link.alarm_log.truncate(*from);
            link.alarm_log.extend(alarms.iter().cloned());
            return;
        }
        SimEvent::RecordingStarted(p) => {
            link.recording = Some(p.clone());
            false
        }
        SimEvent::RecordingSaved(_) => {
            link.recording = None;
            false
        }
        SimEvent::RecordingFailed { .. } => {
            link.recording = None;
            true
        }
        SimEvent::EditsOutOfStep(_) => {
            link.resend_site = true;
            true
        }
        SimEvent::Fault { .. } | SimEvent::EditRejected(_) => true,
    };
    let text = e.to_string();
    if problem {
        warn!("{text}");
    } else {
        info!("{text}");
    }
    link.messages.push(LinkMessage { text, problem });
}

pub(super) fn pull_snapshot(link: Option<ResMut<SimLink>>, mut latest: ResMut<LatestSnapshot>) {
    let Some(mut link) = link else { return };
    for e in link.handle.events() {
        apply_event(&mut link, e);
    }
    match link.handle.latest() {
        Some(s) => {
            latest.snapshot = Some(s);
            latest.frames_since_update = 0;
        }
        None => latest.frames_since_update += 1,
    }
}
