//! The live run's recent past, kept in memory by the recording codec (`RunHistory`, bounded to
//! 256 MB: ~1.8 KB a rack-hour for a steady run, BENCHMARKS.md), so a user who breaks a pump
//! can drag back, look, and return to live while the simulation goes on — then save what was
//! kept as a recording. The view shows the past by putting it in `LatestSnapshot` after the
//! live snapshot was kept.

use bevy::prelude::*;
use bevy_egui::egui;

use super::sim_link::{LatestSnapshot, SimStart};
use super::{AppSystems, OpenScene, ViewerMode, clock};
use crate::recording::history::{DEFAULT_LIMIT_BYTES, RunHistory};
use crate::sim::Alarm;

/// What is kept of the live run, and whether the view is looking back.
#[derive(Resource)]
pub struct LiveRunHistory {
    pub history: RunHistory,
    /// The sim time on show while looking back; `None`: live.
    pub looking_at: Option<f64>,
    /// The view shows a past state (until the next live snapshot or Back to live).
    showing_past: bool,
    pub save_path: String,
    pub message: Option<(String, bool)>,
}

impl Default for LiveRunHistory {
    fn default() -> Self {
        LiveRunHistory {
            history: RunHistory::new(DEFAULT_LIMIT_BYTES),
            looking_at: None,
            showing_past: false,
            save_path: "live-history.mcap".into(),
            message: None,
        }
    }
}

impl LiveRunHistory {
    fn clear(&mut self) {
        self.history.clear();
        self.looking_at = None;
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LiveRunHistory>()
        .add_systems(Update, forget.run_if(super::scene_rebuilds).in_set(AppSystems::Rebuild))
        .add_systems(
            Update,
            (keep, show_the_past)
                .chain()
                .run_if(in_state(ViewerMode::Live))
                .in_set(AppSystems::PullSnapshot)
                .after(super::sim_link::pull_snapshot)
                // Never in the same mode; ordered only to keep the schedule unambiguous.
                .before(super::replay_link::drive_playback),
        );
}

/// Another scene, or a layout that changed: the past no longer fits the objects.
fn forget(mut h: ResMut<LiveRunHistory>) {
    h.clear();
}

/// A new snapshot from the sim thread goes into the history.
fn keep(latest: Res<LatestSnapshot>, mut h: ResMut<LiveRunHistory>) {
    if let Some(s) = latest.snapshot.as_ref().filter(|_| latest.frames_since_update == 0) {
        h.history.push(s);
    }
}

/// While looking back: the view shows the kept state at that time; back to live, the newest.
fn show_the_past(mut h: ResMut<LiveRunHistory>, mut latest: ResMut<LatestSnapshot>) {
    let Some(t) = h.looking_at else {
        if std::mem::take(&mut h.showing_past) {
            // A paused run sends nothing new: show the newest state kept, which is the live one.
            if let Some(now) = h.history.range().and_then(|r| h.history.seek(r.end_s).ok()) {
                latest.snapshot = Some(now);
            }
        }
        return;
    };
    h.showing_past = true;
    match h.history.seek(t) {
        Ok(s) => {
            if latest.snapshot.as_ref().is_none_or(|l| l.time_s != s.time_s) {
                latest.snapshot = Some(s);
            }
        }
        Err(e) => {
            h.looking_at = None;
            h.message = Some((e, true));
        }
    }
}

/// The history row of the live bar: what is kept, a track to drag back on, back to live, save.
pub fn history_ui(
    ui: &mut egui::Ui,
    h: &mut LiveRunHistory,
    scene: &OpenScene,
    start: Option<&SimStart>,
    log: &[Alarm],
) {
    let Some(range) = h.history.range() else { return };
    ui.horizontal(|ui| {
        let mb = h.history.bytes() as f64 / (1 << 20) as f64;
        ui.label(format!("History: {} – {} kept ({mb:.1} MB)", clock(range.start_s), clock(range.end_s)))
            .on_hover_text("the live run's recent past, in memory: drag on the track to look back");
        let w = (ui.available_width() - 600.0).max(160.0);
        let (rect, response) = ui.allocate_exact_size(egui::vec2(w, 16.0), egui::Sense::click_and_drag());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
        let span = (range.end_s - range.start_s).max(1e-9);
        let x = |t: f64| rect.left() + (((t - range.start_s) / span).clamp(0.0, 1.0) as f32) * rect.width();
        for e in log.iter().filter(|e| e.raised && e.time_s >= range.start_s) {
            let c = match e.severity {
                crate::sim::AlarmSeverity::Critical => egui::Color32::from_rgb(235, 70, 60),
                crate::sim::AlarmSeverity::Warning => egui::Color32::from_rgb(245, 170, 40),
            };
            let ex = x(e.time_s);
            painter.line_segment(
                [egui::pos2(ex, rect.top() + 2.0), egui::pos2(ex, rect.bottom() - 2.0)],
                egui::Stroke::new(1.5, c),
            );
        }
        let at = h.looking_at.unwrap_or(range.end_s);
        let px = x(at);
        painter.line_segment(
            [egui::pos2(px, rect.top()), egui::pos2(px, rect.bottom())],
            egui::Stroke::new(2.0, egui::Color32::WHITE),
        );
        // Where the button went down, then where it is (or was let go: a quick drag's last
        // move and release can come in one frame).
        let down = response.is_pointer_button_down_on() || response.clicked() || response.drag_stopped();
        if let Some(p) = response.interact_pointer_pos().or(response.hover_pos()).filter(|_| down) {
            let f = ((p.x - rect.left()) / rect.width()).clamp(0.0, 1.0) as f64;
            h.looking_at = Some(range.start_s + f * span);
        }
        // Save first, so the buttons that come and go while looking back never move it.
        ui.add(egui::TextEdit::singleline(&mut h.save_path).desired_width(130.0))
            .on_hover_text("a path; a bare name is written in the folder the app was started from");
        if ui.button("Save history").on_hover_text("write what is kept as a recording (never over a file)").clicked() {
            let scenario = start.map(|s| s.scenario.clone()).unwrap_or_default();
            let path = std::path::PathBuf::from(h.save_path.trim());
            h.message = Some(match h.history.save(&path, &scene.site, &scenario, log) {
                Ok(()) => (format!("saved {} (open it to review)", path.display()), false),
                Err(e) => (e, true),
            });
        }
        if let Some(t) = h.looking_at {
            ui.colored_label(egui::Color32::from_rgb(120, 200, 255), format!("looking back at {}", clock(t)));
            if ui.button("Back to live").on_hover_text("the run went on meanwhile").clicked() {
                h.looking_at = None;
            }
        }
        if let Some((m, problem)) = &h.message {
            let c =
                if *problem { egui::Color32::from_rgb(240, 160, 30) } else { egui::Color32::from_rgb(150, 200, 150) };
            ui.colored_label(c, m);
        }
    });
}
