//! A recording behind the viewer: the same `LatestSnapshot` the live simulation fills, filled by
//! seeking a `Player` to the playback time each frame, so the view cannot tell the two apart.

use bevy::prelude::*;

use super::AppSystems;
use super::sim_link::LatestSnapshot;
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
}

impl ReplayLink {
    pub fn new(player: Player) -> ReplayLink {
        let playback = Playback::new(player.time_range(), 1.0);
        let messages = player.problems.clone();
        ReplayLink { player, playback, shown_s: f64::NAN, messages }
    }
}

/// A time-control command from the panels.
#[derive(Message, Debug, Clone, Copy)]
pub struct ReplayCommand(pub PlaybackCommand);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LatestSnapshot>()
        .add_message::<ReplayCommand>()
        .add_systems(Update, drive_playback.in_set(AppSystems::PullSnapshot));
}

fn drive_playback(
    time: Res<Time>,
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
    let t = link.playback.advance(time.delta_secs_f64());
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
