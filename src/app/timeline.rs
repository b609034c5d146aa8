//! The timeline of a recording (bottom, full width), shaped like Rerun's time panel: the
//! transport (play, reverse, speeds 0.1×–10,000× and max, steps, jumps, loop), a track with
//! every event and every failure until its restore, and a KPI strip (lowest output, hottest
//! GPU) so the incident shows before anyone presses play. Keys: Space, ←/→, Shift+←/→ (a
//! minute), Ctrl+←/→ (previous/next event), Home/End. An event log window filters events and
//! seeks to them; Report writes the incident report beside the recording. Everything here only
//! sends `ReplayCommand`s; `replay_link` applies them.

use std::path::PathBuf;
use std::sync::Arc;

use bevy::prelude::*;
use bevy_egui::egui;
use crossbeam_channel::Receiver;

use super::replay_link::{ReplayCommand, ReplayLink};
use super::selection::Select;
use super::tags::FacilityTags;
use super::{AppSystems, OpenScene, ViewerMode, clock};
use crate::incident::{Note, Notes, Review, review};
use crate::recording::playback::{MAX_SPEED, MIN_SPEED, PlaybackCommand};
use crate::sim::{AlarmKind, AlarmSeverity};

/// Points in the KPI strip: about one per pixel of a wide window.
const STRIP_POINTS: usize = 1600;

/// The timeline's state beside the playback: the recording's review (read on a thread when a
/// recording opens), the event log's filters, a loop being dragged, a report being written.
#[derive(Resource, Default)]
pub struct Timeline {
    pub review: Option<Arc<Review>>,
    /// The recording the review is of (or is being read for).
    pub of: Option<String>,
    loading: Option<Receiver<Result<Review, String>>>,
    report: Option<Receiver<Result<PathBuf, String>>>,
    /// News for the bar: the review failed, a report was written.
    pub message: Option<(String, bool)>,
    pub log_open: bool,
    pub show_critical: bool,
    pub show_warning: bool,
    pub show_cleared: bool,
    pub kind: Option<AlarmKind>,
    pub object: String,
    /// Where a shift-drag on the track started (sim seconds).
    loop_from: Option<f64>,
    /// Bookmarks and annotations, kept in the sidecar file beside the recording.
    pub notes: Notes,
    /// The recording's file, when it is one (notes and the report go beside it).
    pub file: Option<PathBuf>,
    /// The text of the next annotation.
    pub note_text: String,
    /// Run B, to compare this run (A) with.
    pub compare: Option<Compare>,
    pub compare_path: String,
    compare_loading: Option<Receiver<Result<Compare, String>>>,
}

/// A second recording of the same scene (or an edited one: racks matched by id), shown beside
/// this one: its strip on the track, its output lost, and the view coloured by A − B.
pub struct Compare {
    pub name: String,
    pub player: crate::recording::Player,
    pub review: Arc<Review>,
    /// Line the runs up on their first failures instead of time zero.
    pub align_failures: bool,
    pub colour_difference: bool,
}

impl Compare {
    /// The time in run B that matches time `t` of run A.
    pub fn b_time(&self, a: &Review, t: f64) -> f64 {
        match (self.align_failures, a.onset_s, self.review.onset_s) {
            (true, Some(oa), Some(ob)) => t - oa + ob,
            _ => t,
        }
    }
}

/// Which of `b`'s racks each of `a`'s racks is, by id.
pub fn match_racks(a: &crate::model::Site, b: &crate::model::Site) -> Vec<Option<usize>> {
    let index: std::collections::HashMap<String, usize> = b.racks().enumerate().map(|(i, p)| (p.id(), i)).collect();
    a.racks().map(|p| index.get(&p.id()).copied()).collect()
}

impl Timeline {
    fn fresh(of: String) -> Timeline {
        let path = recording_path(&of);
        let file = path.is_file().then_some(path);
        let mut tl = Timeline {
            of: Some(of),
            show_critical: true,
            show_warning: true,
            show_cleared: false,
            file,
            ..Default::default()
        };
        if let Some(f) = &tl.file {
            match crate::incident::load_notes(f) {
                Ok(n) => tl.notes = n,
                Err(e) => tl.message = Some((e, true)),
            }
        }
        tl
    }

    /// Adds a note and writes the notes beside the recording.
    pub fn add_note(&mut self, note: Note) {
        self.notes.notes.push(note);
        self.notes.notes.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        self.save_notes();
    }

    fn save_notes(&mut self) {
        match &self.file {
            Some(f) => {
                if let Err(e) = crate::incident::save_notes(f, &self.notes) {
                    self.message = Some((e, true));
                }
            }
            None => {
                self.message =
                    Some(("notes are kept only while the app runs: the recording is not a file".into(), true))
            }
        }
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Timeline>().add_systems(
        Update,
        compare_colours
            .run_if(in_state(ViewerMode::Replay))
            .after(AppSystems::PullSnapshot)
            .after(super::inspector::record_history)
            .before(AppSystems::Recolour),
    );
    app.add_systems(
        Update,
        (read_review, timeline_keys)
            .chain()
            .run_if(in_state(ViewerMode::Replay))
            .in_set(AppSystems::Input)
            .before(super::editor::apply_commands),
    );
}

/// Reads the recording's review on a thread when a recording opens; hands its event times to
/// the playback (Ctrl+←/→) when it is ready.
fn read_review(scene: Res<OpenScene>, link: Option<ResMut<ReplayLink>>, mut tl: ResMut<Timeline>) {
    let Some(mut link) = link else { return };
    if tl.of.as_deref() != Some(scene.name.as_str()) {
        *tl = Timeline::fresh(scene.name.clone());
        // A copy of the open recording, read once on a thread: seconds for a day of 1,000 racks.
        let mut player = link.player.clone();
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let _ = tx.send(review(&mut player, None, None, STRIP_POINTS));
        });
        tl.loading = Some(rx);
    }
    if let Some(rx) = &tl.loading {
        match rx.try_recv() {
            Ok(Ok(r)) => {
                let times: Vec<f64> = r.events.iter().map(|e| e.time_s).collect();
                link.playback = link.playback.clone().with_events(times);
                tl.review = Some(Arc::new(r));
                tl.loading = None;
            }
            Ok(Err(e)) => {
                tl.message = Some((format!("no timeline: {e}"), true));
                tl.loading = None;
            }
            Err(crossbeam_channel::TryRecvError::Empty) => {}
            Err(crossbeam_channel::TryRecvError::Disconnected) => tl.loading = None,
        }
    }
    if let Some(rx) = &tl.compare_loading {
        if let Ok(r) = rx.try_recv() {
            match r {
                Ok(c) => {
                    tl.message = Some((format!("comparing with {}", c.name), false));
                    tl.compare = Some(c);
                }
                Err(e) => tl.message = Some((format!("cannot compare: {e}"), true)),
            }
            tl.compare_loading = None;
        }
    }
    if let Some(rx) = &tl.report {
        if let Ok(r) = rx.try_recv() {
            tl.message = Some(match r {
                Ok(dir) => (format!("report written to {}", dir.join("report.html").display()), false),
                Err(e) => (format!("no report: {e}"), true),
            });
            tl.report = None;
        }
    }
}

/// While comparing with colours: run B's snapshot at the matching time, for `colours`.
#[allow(clippy::too_many_arguments)]
fn compare_colours(
    link: Option<Res<ReplayLink>>,
    scene: Res<OpenScene>,
    mut tl: ResMut<Timeline>,
    mut diff: ResMut<super::colours::ColourDifference>,
    mut history: ResMut<super::inspector::History>,
    tags: Option<Res<FacilityTags>>,
    net: Option<Res<super::SiteNetwork>>,
    mut charted: Local<Option<(u32, f64, f64)>>,
) {
    let (Some(link), Some(a)) = (link, tl.review.clone()) else {
        diff.b = None;
        return;
    };
    compare_charts(&mut tl, &a, &mut history, tags.as_deref(), net.as_deref(), &scene, &mut charted);
    let Some(c) = tl.compare.as_mut().filter(|c| c.colour_difference) else {
        if diff.b.is_some() {
            diff.b = None;
        }
        return;
    };
    let t = c.b_time(&a, link.playback.time_s);
    match c.player.seek(t) {
        Ok(b) => {
            if diff.map.len() != scene.site.rack_count() || diff.b.is_none() {
                diff.map = match_racks(&scene.site, &c.player.site);
            }
            diff.b = Some(b);
        }
        Err(e) => {
            c.colour_difference = false;
            diff.b = None;
            tl.message = Some((format!("run B: {e}"), true));
        }
    }
}

/// While comparing: the selected object's samples in run B over the stretch its charts show,
/// worked out again when the selection or the stretch changes by more than ten seconds. Racks
/// are matched by id; other objects by their place in the list when B has as many of them.
fn compare_charts(
    tl: &mut Timeline,
    a: &Review,
    history: &mut super::inspector::History,
    tags: Option<&FacilityTags>,
    net: Option<&super::SiteNetwork>,
    scene: &OpenScene,
    charted: &mut Option<(u32, f64, f64)>,
) {
    let (Some(c), Some(tags), Some(tag)) = (tl.compare.as_mut(), tags, history.tag) else {
        history.b_samples.clear();
        *charted = None;
        return;
    };
    let (Some(first), Some(last)) =
        (history.samples.front().map(|x| x.time_s), history.samples.back().map(|x| x.time_s))
    else {
        return;
    };
    if charted.is_some_and(|(t, f, l)| t == tag && (f - first).abs() < 10.0 && (l - last).abs() < 10.0) {
        return;
    }
    *charted = Some((tag, first, last));
    let offset = c.b_time(a, 0.0);
    let rack = match tags.kind(tag) {
        Some(super::tags::ObjectKind::Rack(i)) => match_racks(&scene.site, &c.player.site).get(i).copied().flatten(),
        _ => None,
    };
    let mut out = Vec::new();
    let _ = c.player.samples_between(first + offset, last + offset, |x| {
        // B's state, renumbered to A's object where racks differ.
        let sample = match (tags.kind(tag), rack) {
            (Some(super::tags::ObjectKind::Rack(i)), Some(j)) if i != j => {
                let mut moved = x.clone();
                for (col, b) in moved.racks.values_mut().into_iter().zip(x.racks.values()) {
                    if let (Some(to), Some(v)) = (col.get_mut(i), b.get(j)) {
                        *to = *v;
                    }
                }
                super::inspector::sample(&moved, tags, net, tag)
            }
            (Some(super::tags::ObjectKind::Rack(_)), None) => None,
            _ if tags.fits(x) => super::inspector::sample(x, tags, net, tag),
            _ => None,
        };
        out.extend(sample.map(|s| super::inspector::Sample { time_s: s.time_s - offset, ..s }));
        Ok(())
    });
    history.b_samples = out;
}

/// The timeline's keys, while no text field has the keyboard.
fn timeline_keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    pointer: Res<super::pointer::ScenePointer>,
    mut out: MessageWriter<ReplayCommand>,
) {
    let Some(keys) = keys else { return };
    if pointer.typing {
        return;
    }
    // A chord typed within one slow frame arrives pressed and released at once: count both.
    let held = |a, b| {
        let k = [a, b];
        keys.any_pressed(k) || keys.any_just_pressed(k) || keys.any_just_released(k)
    };
    let (ctrl, shift) =
        (held(KeyCode::ControlLeft, KeyCode::ControlRight), held(KeyCode::ShiftLeft, KeyCode::ShiftRight));
    for c in keys_to_commands(&keys.get_just_pressed().copied().collect::<Vec<_>>(), ctrl, shift) {
        out.write(ReplayCommand(c));
    }
}

/// What the timeline's keys mean (pure, for tests).
pub fn keys_to_commands(pressed: &[KeyCode], ctrl: bool, shift: bool) -> Vec<PlaybackCommand> {
    let mut out = Vec::new();
    for k in pressed {
        out.push(match k {
            KeyCode::Space => PlaybackCommand::TogglePlay,
            KeyCode::Home => PlaybackCommand::ToStart,
            KeyCode::End => PlaybackCommand::ToEnd,
            KeyCode::ArrowRight if ctrl => PlaybackCommand::NextEvent,
            KeyCode::ArrowLeft if ctrl => PlaybackCommand::PrevEvent,
            KeyCode::ArrowRight if shift => PlaybackCommand::Jump(60.0),
            KeyCode::ArrowLeft if shift => PlaybackCommand::Jump(-60.0),
            KeyCode::ArrowRight => PlaybackCommand::StepForward,
            KeyCode::ArrowLeft => PlaybackCommand::StepBack,
            _ => continue,
        });
    }
    out
}

/// The playback time a pointer at `x` on a track spanning `left..right` points at.
pub fn time_at(x: f32, left: f32, right: f32, start_s: f64, end_s: f64) -> f64 {
    let f = if right > left { ((x - left) / (right - left)).clamp(0.0, 1.0) } else { 0.0 };
    start_s + (end_s - start_s) * f as f64
}

fn severity_colour(s: AlarmSeverity, raised: bool) -> egui::Color32 {
    match (raised, s) {
        (false, _) => egui::Color32::from_rgb(90, 190, 110),
        (true, AlarmSeverity::Critical) => egui::Color32::from_rgb(235, 70, 60),
        (true, AlarmSeverity::Warning) => egui::Color32::from_rgb(245, 170, 40),
    }
}

fn speed_text(s: f64) -> String {
    let a = s.abs();
    let n = if a >= 1.0 { format!("{a:.0}") } else { format!("{a:.1}") };
    if s < 0.0 { format!("◀ {n}×") } else { format!("{n}×") }
}

/// The whole timeline: transport row, then the track with the KPI strip.
pub fn timeline_ui(
    ui: &mut egui::Ui,
    link: &ReplayLink,
    tl: &mut Timeline,
    out: &mut MessageWriter<ReplayCommand>,
    metric: crate::metric::Metric,
) {
    let pb = &link.playback;
    let mut send = |c| {
        out.write(ReplayCommand(c));
    };
    ui.horizontal(|ui| {
        if ui.button("⏮").on_hover_text("to the start (Home)").clicked() {
            send(PlaybackCommand::ToStart);
        }
        if ui.button("⏪ event").on_hover_text("previous event (Ctrl+←)").clicked() {
            send(PlaybackCommand::PrevEvent);
        }
        if ui.button("◀").on_hover_text("one sample back (←; Shift+← a minute)").clicked() {
            send(PlaybackCommand::StepBack);
        }
        let label = if pb.playing { "⏸ Pause" } else { "▶ Play" };
        if ui.button(label).on_hover_text("Space").clicked() {
            send(PlaybackCommand::TogglePlay);
        }
        if ui.button("▶").on_hover_text("one sample on (→; Shift+→ a minute)").clicked() {
            send(PlaybackCommand::StepForward);
        }
        if ui.button("event ⏩").on_hover_text("next event (Ctrl+→)").clicked() {
            send(PlaybackCommand::NextEvent);
        }
        if ui.button("⏭").on_hover_text("to the end (End)").clicked() {
            send(PlaybackCommand::ToEnd);
        }
        ui.separator();
        let backwards = pb.speed < 0.0;
        if ui.selectable_label(backwards, "◀ reverse").on_hover_text("play backwards").clicked() {
            send(PlaybackCommand::Reverse);
        }
        let shown = if pb.max_speed { format!("max ({})", speed_text(pb.speed)) } else { speed_text(pb.speed) };
        egui::ComboBox::from_id_salt("replay-speed").selected_text(shown).width(92.0).show_ui(ui, |ui| {
            let sign = if backwards { -1.0 } else { 1.0 };
            for s in [MIN_SPEED, 1.0, 10.0, 100.0, 1000.0, MAX_SPEED] {
                if ui.selectable_label(!pb.max_speed && pb.speed == sign * s, speed_text(sign * s)).clicked() {
                    send(PlaybackCommand::SetSpeed(sign * s));
                }
            }
            if ui.selectable_label(pb.max_speed, "max").on_hover_text("the whole recording in 10 s").clicked() {
                send(PlaybackCommand::SetMaxSpeed);
            }
        });
        if let Some((a, b)) = pb.looping {
            ui.label(format!("loop {} – {}", clock(a), clock(b)));
            if ui.small_button("×").on_hover_text("stop looping").clicked() {
                send(PlaybackCommand::SetLoop(None));
            }
        }
        if let Some(got) = link.achieved.filter(|g| pb.playing && (g - pb.speed).abs() > pb.speed.abs() * 0.1) {
            ui.colored_label(egui::Color32::from_rgb(240, 160, 30), format!("playing at {}", speed_text(got)));
        }
        ui.separator();
        ui.monospace(format!("{} / {}", clock(pb.time_s), clock(pb.range.end_s)));
        ui.separator();
        let n = tl.review.as_ref().map_or(0, |r| r.events.len());
        if ui.selectable_label(tl.log_open, format!("Events ({n})")).clicked() {
            tl.log_open = !tl.log_open;
        }
        let now = pb.time_s;
        if ui.button("Bookmark").on_hover_text("bookmark this moment (kept beside the recording)").clicked() {
            let n = tl.notes.notes.iter().filter(|n| n.bookmark).count() + 1;
            tl.add_note(Note { at_s: now, until_s: None, text: format!("bookmark {n}"), bookmark: true });
        }
        let edit = ui.add(egui::TextEdit::singleline(&mut tl.note_text).hint_text("note…").desired_width(120.0));
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let over = pb.looping;
        let hint = if over.is_some() { "annotate the loop range" } else { "annotate this moment" };
        if (ui.button("+ note").on_hover_text(hint).clicked() || enter) && !tl.note_text.trim().is_empty() {
            let text = std::mem::take(&mut tl.note_text).trim().to_string();
            let (at_s, until_s) = over.map_or((now, None), |(a, b)| (a, Some(b)));
            tl.add_note(Note { at_s, until_s, text, bookmark: false });
        }
        let busy = tl.report.is_some();
        if ui
            .add_enabled(tl.review.is_some() && !busy, egui::Button::new("Report"))
            .on_hover_text("write the incident report (HTML, Markdown, CSV, charts) beside the recording")
            .clicked()
        {
            start_report(tl);
        }
        if tl.loading.is_some() || busy {
            ui.spinner();
        }
        if let Some((m, problem)) = &tl.message {
            let c =
                if *problem { egui::Color32::from_rgb(240, 160, 30) } else { egui::Color32::from_rgb(150, 200, 150) };
            ui.colored_label(c, m);
        }
    });
    compare_row(ui, tl);
    track(ui, link, tl, &mut send, metric);
    for m in link.messages.iter().rev().take(2) {
        ui.colored_label(egui::Color32::from_rgb(240, 160, 30), m);
    }
}

/// Run B: a path to open, or what it is and how it compares.
fn compare_row(ui: &mut egui::Ui, tl: &mut Timeline) {
    ui.horizontal(|ui| {
        ui.label("Compare");
        match (&mut tl.compare, tl.review.as_ref()) {
            (Some(c), Some(a)) => {
                ui.label(egui::RichText::new(format!("B: {}", c.name)).color(egui::Color32::from_gray(200)));
                ui.checkbox(&mut c.align_failures, "align first failures")
                    .on_hover_text("line the runs up on their first failures, not on time zero");
                ui.checkbox(&mut c.colour_difference, "colour A − B")
                    .on_hover_text("the view's metric as this run minus run B: red higher here, blue lower");
                let (la, lb) = (a.gpu_hours_lost, c.review.gpu_hours_lost);
                ui.label(format!(
                    "output lost: A {la:.2} GPU-h, B {lb:.2} GPU-h (A − B {:+.2}); tokens A {} B {}",
                    la - lb,
                    crate::incident::amount(a.tokens_lost),
                    crate::incident::amount(c.review.tokens_lost)
                ));
                if ui.small_button("×").on_hover_text("stop comparing").clicked() {
                    tl.compare = None;
                }
            }
            _ => {
                ui.add(
                    egui::TextEdit::singleline(&mut tl.compare_path)
                        .hint_text("another recording (.mcap) as run B")
                        .desired_width(260.0),
                );
                let busy = tl.compare_loading.is_some();
                if ui.add_enabled(!busy && !tl.compare_path.trim().is_empty(), egui::Button::new("Open as B")).clicked()
                {
                    let path = PathBuf::from(tl.compare_path.trim());
                    let (tx, rx) = crossbeam_channel::bounded(1);
                    std::thread::spawn(move || {
                        let r = crate::recording::Player::open(&path).and_then(|mut player| {
                            let review = review(&mut player, None, None, STRIP_POINTS)?;
                            let name =
                                path.file_name().map_or(path.display().to_string(), |n| n.to_string_lossy().into());
                            Ok(Compare {
                                name,
                                player,
                                review: Arc::new(review),
                                align_failures: false,
                                colour_difference: false,
                            })
                        });
                        let _ = tx.send(r);
                    });
                    tl.compare_loading = Some(rx);
                }
                if busy {
                    ui.spinner();
                }
            }
        }
    });
}

/// The file of a recording opened as `name` (`open` names it "PATH (recording)").
fn recording_path(name: &str) -> PathBuf {
    PathBuf::from(name.strip_suffix(" (recording)").unwrap_or(name))
}

/// Writes the report of the whole recording on a thread, into `<recording>-report/` beside it.
fn start_report(tl: &mut Timeline) {
    let (Some(r), Some(of)) = (tl.review.clone(), tl.of.clone()) else { return };
    let mut r = (*r).clone();
    r.notes = tl.notes.notes.clone();
    let path = recording_path(&of);
    let dir = path.with_file_name(format!(
        "{}-report",
        path.file_stem().map_or("recording".into(), |s| s.to_string_lossy().into_owned())
    ));
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        // Pictures of the view come with `factory-twin report` (it draws them with `render`).
        let _ = tx.send(crate::incident::write_report(&r, &path, &dir, &[]).map(|_| dir));
    });
    tl.report = Some(rx);
    tl.message = Some(("writing the report…".into(), false));
}

/// The track: failures as bars, events as ticks (the most severe on top), the KPI strip, the
/// loop range and the playhead. Click or drag to seek; Shift-drag to loop a range.
fn track(
    ui: &mut egui::Ui,
    link: &ReplayLink,
    tl: &mut Timeline,
    send: &mut impl FnMut(PlaybackCommand),
    metric: crate::metric::Metric,
) {
    let pb = &link.playback;
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 92.0), egui::Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let (t0, t1) = (pb.range.start_s, pb.range.end_s.max(pb.range.start_s + 1e-9));
    let x = |t: f64| rect.left() + (((t - t0) / (t1 - t0)).clamp(0.0, 1.0) as f32) * rect.width();
    let time_at = |px: f32| time_at(px, rect.left(), rect.right(), t0, t1);
    // Bands, top to bottom: failures 3..11, alarms 12..17, output 19..43, GPU 45..61, the view's
    // metric 63..79 (when it is neither), ticks 80..91.
    let band = |a: f32, b: f32| (rect.top() + a, rect.top() + b);
    if let Some((a, b)) = pb.looping {
        let r = egui::Rect::from_x_y_ranges(x(a)..=x(b), rect.y_range());
        painter.rect_filled(r, 0.0, egui::Color32::from_rgba_unmultiplied(90, 140, 255, 38));
    }
    let mut tip: Option<String> = None;
    let hover = response.hover_pos();
    if let Some(r) = &tl.review {
        for s in &r.spans {
            let (ya, yb) = if s.is_failure() { band(3.0, 11.0) } else { band(12.0, 17.0) };
            let (xa, xb) = (x(s.start_s), x(s.end_s.unwrap_or(t1)));
            let c = severity_colour(s.severity, true);
            let bar = egui::Rect::from_min_max(egui::pos2(xa, ya), egui::pos2(xb.max(xa + 2.0), yb));
            painter.rect_filled(bar, 1.0, c.gamma_multiply(if s.is_failure() { 0.9 } else { 0.45 }));
            if s.is_failure() && hover.is_some_and(|h| bar.expand(2.0).contains(h)) {
                let until = s.end_s.map_or("the end".into(), clock);
                tip = Some(format!("{} down {} – {}", s.object, clock(s.start_s), until));
            }
        }
        let line = |ya: f32, yb: f32, lo: f64, hi: f64, v: &dyn Fn(&crate::incident::StripPoint) -> f64, c| {
            let pts: Vec<egui::Pos2> = r
                .strip
                .iter()
                .map(|p| {
                    let f = ((v(p) - lo) / (hi - lo).max(1e-9)).clamp(0.0, 1.0) as f32;
                    egui::pos2(x(p.time_s), yb - f * (yb - ya))
                })
                .collect();
            painter.add(egui::Shape::line(pts, egui::Stroke::new(1.4, c)));
        };
        let (ya, yb) = band(19.0, 43.0);
        line(ya, yb, 0.0, 1.0, &|p| p.output_fraction, egui::Color32::from_rgb(90, 160, 255));
        painter.text(
            egui::pos2(rect.left() + 3.0, ya),
            egui::Align2::LEFT_TOP,
            "output",
            egui::FontId::proportional(10.0),
            egui::Color32::from_rgb(90, 160, 255),
        );
        let (lo, hi) = r
            .strip
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.max_gpu_c), b.max(p.max_gpu_c)));
        let (ga, gb) = band(45.0, 61.0);
        if lo.is_finite() {
            line(ga, gb, lo - 1.0, hi + 1.0, &|p| p.max_gpu_c, egui::Color32::from_rgb(235, 90, 80));
            painter.text(
                egui::pos2(rect.left() + 3.0, ga),
                egui::Align2::LEFT_TOP,
                format!("max GPU {lo:.0}–{hi:.0} °C"),
                egui::FontId::proportional(10.0),
                egui::Color32::from_rgb(235, 90, 80),
            );
        }
        // The metric the view is coloured by, as the site's worst (or total) of it.
        use crate::metric::Metric;
        let third: Option<(&str, fn(&crate::incident::StripPoint) -> f64)> = match metric {
            Metric::InletAir => Some(("hottest rack inlet", |p| p.max_inlet_c)),
            Metric::Coolant => Some(("hottest coolant", |p| p.max_coolant_c)),
            Metric::Power => Some(("IT power", |p| p.it_kw)),
            _ => None,
        };
        if let Some((name, v)) = third {
            let (lo3, hi3) =
                r.strip.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(v(p)), b.max(v(p))));
            if lo3.is_finite() {
                let (ma, mb) = band(63.0, 79.0);
                let pad = ((hi3 - lo3) * 0.05).max(1e-6);
                line(ma, mb, lo3 - pad, hi3 + pad, &v, egui::Color32::from_rgb(190, 150, 255));
                painter.text(
                    egui::pos2(rect.left() + 3.0, ma),
                    egui::Align2::LEFT_TOP,
                    format!("{name} {lo3:.0}–{hi3:.0} {}", metric.unit()),
                    egui::FontId::proportional(10.0),
                    egui::Color32::from_rgb(190, 150, 255),
                );
            }
        }
        // Run B's strip, dashed, at the matching times.
        if let Some(c) = &tl.compare {
            let grey = egui::Color32::from_gray(190);
            let shift = |t: f64| match (c.align_failures, r.onset_s, c.review.onset_s) {
                (true, Some(oa), Some(ob)) => t - ob + oa,
                _ => t,
            };
            let dashed = |ya: f32, yb: f32, lo: f64, hi: f64, v: &dyn Fn(&crate::incident::StripPoint) -> f64| {
                let pts: Vec<egui::Pos2> = c
                    .review
                    .strip
                    .iter()
                    .filter(|p| (t0..=t1).contains(&shift(p.time_s)))
                    .map(|p| {
                        let f = ((v(p) - lo) / (hi - lo).max(1e-9)).clamp(0.0, 1.0) as f32;
                        egui::pos2(x(shift(p.time_s)), yb - f * (yb - ya))
                    })
                    .collect();
                painter.extend(egui::Shape::dashed_line(&pts, egui::Stroke::new(1.2, grey), 4.0, 3.0));
            };
            let (ya, yb) = band(19.0, 43.0);
            dashed(ya, yb, 0.0, 1.0, &|p| p.output_fraction);
            if lo.is_finite() {
                dashed(ga, gb, lo - 1.0, hi + 1.0, &|p| p.max_gpu_c);
            }
        }
        // Ticks: cleared first, then warnings, critical last (on top).
        let (ta, tb) = band(80.0, 91.0);
        for pass in 0..3 {
            for e in &r.events {
                let rank = match (e.raised, e.severity) {
                    (false, _) => 0,
                    (true, AlarmSeverity::Warning) => 1,
                    (true, AlarmSeverity::Critical) => 2,
                };
                if rank != pass {
                    continue;
                }
                let ex = x(e.time_s);
                let top = if e.raised { ta } else { ta + 5.0 };
                painter.line_segment(
                    [egui::pos2(ex, top), egui::pos2(ex, tb)],
                    egui::Stroke::new(2.0, severity_colour(e.severity, e.raised)),
                );
                if tip.is_none() && hover.is_some_and(|h| (h.x - ex).abs() <= 3.0 && h.y >= ta - 2.0) {
                    let state = if e.raised { "" } else { "cleared: " };
                    tip = Some(format!("{} {}: {state}{}", clock(e.time_s), e.object, e.message));
                }
            }
        }
    } else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            if tl.loading.is_some() { "reading the recording's events…" } else { "" },
            egui::FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
    }
    // Notes along the top edge: bookmarks as flags, annotations as a line over their range.
    let note_colour = egui::Color32::from_rgb(120, 200, 255);
    for n in &tl.notes.notes {
        let (xa, xb) = (x(n.at_s), x(n.until_s.unwrap_or(n.at_s)));
        if n.until_s.is_some() {
            painter.line_segment(
                [egui::pos2(xa, rect.top() + 1.0), egui::pos2(xb, rect.top() + 1.0)],
                egui::Stroke::new(2.0, note_colour),
            );
        }
        let flag =
            [egui::pos2(xa, rect.top()), egui::pos2(xa + 6.0, rect.top() + 3.0), egui::pos2(xa, rect.top() + 6.0)];
        painter.add(egui::Shape::convex_polygon(flag.to_vec(), note_colour, egui::Stroke::NONE));
        if hover.is_some_and(|h| h.y <= rect.top() + 8.0 && h.x >= xa - 3.0 && h.x <= xb.max(xa + 7.0)) {
            tip = Some(format!("{} {}", clock(n.at_s), n.text));
        }
    }
    let px = x(pb.time_s);
    painter.line_segment(
        [egui::pos2(px, rect.top()), egui::pos2(px, rect.bottom())],
        egui::Stroke::new(2.0, egui::Color32::WHITE),
    );
    // Shift-drag marks a loop; a plain press or drag seeks.
    let shift = ui.input(|i| i.modifiers.shift);
    let at = response.interact_pointer_pos().map(|p| time_at(p.x));
    if response.drag_started() && shift {
        // From where the button went down: a quick drag is already away by now.
        let origin = ui.input(|i| i.pointer.press_origin());
        tl.loop_from = origin.map(|p| time_at(p.x)).or(at);
    }
    if let (Some(from), Some(now)) = (tl.loop_from, at) {
        let r = egui::Rect::from_x_y_ranges(x(from.min(now))..=x(from.max(now)), rect.y_range());
        painter.rect_stroke(
            r,
            0.0,
            egui::Stroke::new(1.0, egui::Color32::from_rgb(120, 160, 255)),
            egui::StrokeKind::Inside,
        );
        if response.drag_stopped() {
            send(PlaybackCommand::SetLoop(Some((from, now))));
            tl.loop_from = None;
        }
    } else if let Some(t) =
        at.filter(|_| response.is_pointer_button_down_on() || response.clicked() || response.drag_stopped())
    {
        send(PlaybackCommand::SetTime(t));
    }
    if !response.dragged() {
        tl.loop_from = None;
    }
    let response = response.on_hover_cursor(egui::CursorIcon::PointingHand);
    if let Some(t) = tip {
        response.on_hover_text_at_pointer(t);
    }
}

/// The event log: filter by severity, kind and object; a click seeks there and selects it.
pub fn event_log(
    ctx: &egui::Context,
    tl: &mut Timeline,
    tags: Option<&FacilityTags>,
    out: &mut MessageWriter<ReplayCommand>,
    select: &mut MessageWriter<Select>,
) {
    let Some(r) = tl.review.clone() else { return };
    let mut open = tl.log_open;
    // Below the KPI bar, right of the side panel: over the scene, not over the figures.
    let window = egui::Window::new("Events").open(&mut open).default_size([560.0, 360.0]);
    window.default_pos([300.0, 56.0]).show(ctx, |ui| {
        ui.horizontal(|ui| {
            ui.checkbox(&mut tl.show_critical, "critical");
            ui.checkbox(&mut tl.show_warning, "warning");
            ui.checkbox(&mut tl.show_cleared, "cleared");
            let mut kinds: Vec<AlarmKind> = r.events.iter().map(|e| e.kind).collect();
            kinds.sort_by_key(|k| format!("{k:?}"));
            kinds.dedup();
            egui::ComboBox::from_id_salt("event-kind")
                .selected_text(tl.kind.map_or("every kind".into(), |k| format!("{k:?}")))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut tl.kind, None, "every kind");
                    for k in kinds {
                        ui.selectable_value(&mut tl.kind, Some(k), format!("{k:?}"));
                    }
                });
            ui.add(egui::TextEdit::singleline(&mut tl.object).hint_text("object id contains…").desired_width(150.0));
        });
        if !tl.notes.notes.is_empty() {
            let mut remove = None;
            egui::CollapsingHeader::new(format!("Notes ({})", tl.notes.notes.len())).default_open(true).show(
                ui,
                |ui| {
                    for (i, n) in tl.notes.notes.iter().enumerate() {
                        ui.horizontal(|ui| {
                            let when = n.until_s.map_or(clock(n.at_s), |u| format!("{}–{}", clock(n.at_s), clock(u)));
                            let mark = if n.bookmark { "bookmark" } else { "note" };
                            if ui
                                .add(egui::Label::new(format!("{mark} {when}  {}", n.text)).sense(egui::Sense::click()))
                                .clicked()
                            {
                                out.write(ReplayCommand(PlaybackCommand::SetTime(n.at_s)));
                            }
                            if ui.small_button("×").on_hover_text("remove this note").clicked() {
                                remove = Some(i);
                            }
                        });
                    }
                },
            );
            if let Some(i) = remove {
                tl.notes.notes.remove(i);
                tl.save_notes();
            }
            ui.separator();
        }
        let shown: Vec<&crate::sim::Alarm> = r
            .events
            .iter()
            .filter(|e| match (e.raised, e.severity) {
                (false, _) => tl.show_cleared,
                (true, AlarmSeverity::Critical) => tl.show_critical,
                (true, AlarmSeverity::Warning) => tl.show_warning,
            })
            .filter(|e| tl.kind.is_none_or(|k| k == e.kind))
            .filter(|e| tl.object.trim().is_empty() || e.object.contains(tl.object.trim()))
            .collect();
        ui.small(format!("{} of {} events; click one to go there and select its object", shown.len(), r.events.len()));
        ui.separator();
        let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        egui::ScrollArea::vertical().auto_shrink([false, false]).show_rows(ui, row_h, shown.len(), |ui, rows| {
            for e in &shown[rows] {
                let c = severity_colour(e.severity, e.raised);
                let state = if e.raised { "" } else { "cleared: " };
                let text =
                    egui::RichText::new(format!("{}  {}  {state}{}", clock(e.time_s), e.object, e.message)).color(c);
                if ui.add(egui::Label::new(text).truncate().sense(egui::Sense::click())).clicked() {
                    out.write(ReplayCommand(PlaybackCommand::SetTime(e.time_s)));
                    let tag = tags.and_then(|t| t.tag_of(&e.object));
                    if tag.is_some() {
                        select.write(Select { tag, focus: true });
                    }
                }
            }
        });
    });
    tl.log_open = open && tl.log_open;
}
