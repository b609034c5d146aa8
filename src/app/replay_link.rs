//! A recording behind the viewer: the same `LatestSnapshot` the live simulation fills, filled by
//! seeking a `Player` to the playback time each frame, so the view cannot tell the two apart.

use bevy::prelude::*;

use super::sim_link::LatestSnapshot;
use super::{AppSystems, ViewerMode};
use crate::recording::Player;
use crate::recording::playback::{Playback, PlaybackCommand};

/// The open recording and its time control.
#[derive(Resource)]
pub struct ReplayLink {
    pub player: Player,
    pub playback: Playback,
    /// Sim time of the snapshot on show (NaN before the first).
    pub shown_s: f64,
    /// Problems with the file (damage, truncation) and seek errors, newest last.
    pub messages: Vec<String>,
    /// Sim seconds per wall second over the last second of playing, when it could be measured.
    pub achieved: Option<f64>,
    /// Playback time and wall seconds gathered towards the next `achieved`.
    window: (f64, f64),
}

impl ReplayLink {
    pub fn new(player: Player) -> ReplayLink {
        let playback = Playback::new(player.time_range(), 1.0);
        let messages = player.problems.clone();
        ReplayLink { player, playback, shown_s: f64::NAN, messages, achieved: None, window: (0.0, 0.0) }
    }
}

/// A time-control command from the panels.
#[derive(Message, Debug, Clone, Copy)]
pub struct ReplayCommand(pub PlaybackCommand);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LatestSnapshot>()
        .add_message::<ReplayCommand>()
        // Only one source runs at a time; the order only keeps the schedule unambiguous.
        .add_systems(
            Update,
            drive_playback
                .run_if(in_state(ViewerMode::Replay))
                .in_set(AppSystems::PullSnapshot)
                .after(super::sim_link::pull_snapshot),
        );
}

/// Playback follows the wall clock, not Bevy's virtual time: that one is clamped to 250 ms a
/// frame, so a replay at 10× fell to ~2× whenever frames took longer.
pub(super) fn drive_playback(
    time: Res<Time<Real>>,
    mut reader: MessageReader<ReplayCommand>,
    link: Option<ResMut<ReplayLink>>,
    mut latest: ResMut<LatestSnapshot>,
) {
    let Some(mut link) = link else {
        reader.clear();
        return;
    };
    for ReplayCommand(c) in reader.read() {
        link.playback.apply(*c);
    }
    let before = link.playback.time_s;
    let wall = time.delta_secs_f64();
    let t = link.playback.advance(wall);
    if link.playback.playing {
        link.window.0 += t - before;
        link.window.1 += wall;
        if link.window.1 >= 1.0 {
            link.achieved = Some(link.window.0 / link.window.1);
            link.window = (0.0, 0.0);
        }
    } else {
        link.achieved = None;
        link.window = (0.0, 0.0);
    }
    if t == link.shown_s {
        latest.frames_since_update += 1;
        return;
    }
    match link.player.seek(t) {
        Ok(s) => {
            link.shown_s = t;
            latest.snapshot = Some(s);
            latest.frames_since_update = 0;
        }
        Err(e) => {
            // Stop rather than retry a damaged spot every frame.
            link.playback.playing = false;
            link.shown_s = t;
            warn!("{e}");
            link.messages.push(e);
        }
    }
}
