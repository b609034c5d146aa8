//! Opening another scene or recording in this window: the system file dialog (rfd, through the
//! XDG portal) or a typed path, which always works — Xvfb and bare window managers have no
//! portal. The file is read once, on a thread of its own while the window keeps drawing (with a
//! spinner and the time so far); a broken file shows its file:line:col in the panel and the
//! current view stays. When it loads, the scene is rebuilt in place: the live simulation or the
//! replay is swapped, and the camera stays where it is when the site is the same.

use std::path::PathBuf;
use std::time::Instant;

use bevy::prelude::*;
use bevy_egui::egui;
use crossbeam_channel::Receiver;

use super::ViewerMode;
use super::sim_link::{LatestSnapshot, SimLink, SimStart};
use super::{OpenScene, replay_link::ReplayLink};
use crate::open::Opened;

/// A file being read off the frame.
pub struct Loading {
    pub path: PathBuf,
    pub started: Instant,
    rx: Receiver<Result<Opened, String>>,
}

/// The open-file panel's state.
#[derive(Resource, Default)]
pub struct FileOpen {
    pub typed: String,
    /// A dialog in progress: answers with the chosen path, or None when cancelled or when no
    /// dialog could be shown.
    dialog: Option<Receiver<Option<PathBuf>>>,
    pub message: Option<String>,
    /// A file to open: read on a thread by the next update.
    pub chosen: Option<PathBuf>,
    pub loading: Option<Loading>,
    /// New was pressed: an empty hall opens (through the same unsaved-changes question).
    pub new_scene: bool,
}

pub use super::OpenedFile;

pub fn plugin(app: &mut App) {
    app.init_resource::<FileOpen>()
        .add_systems(Update, (poll_dialog, start_loading, poll_loading, start_new).chain())
        .add_systems(First, apply_opened.run_if(resource_exists::<OpenedFile>));
}

pub fn file_ui(ui: &mut egui::Ui, f: &mut FileOpen) {
    ui.horizontal(|ui| {
        let busy = f.dialog.is_some() || f.loading.is_some();
        if ui
            .add_enabled(!busy, egui::Button::new("New"))
            .on_hover_text("an empty hall with cooling and power, to lay out from scratch")
            .clicked()
        {
            f.new_scene = true;
        }
        if ui
            .add_enabled(!busy, egui::Button::new("Open…"))
            .on_hover_text("a scene (.ron) or a recording (.mcap)")
            .clicked()
        {
            let (tx, rx) = crossbeam_channel::bounded(1);
            // The dialog blocks: keep it off the frame loop.
            std::thread::spawn(move || {
                let picked = rfd::FileDialog::new()
                    .add_filter("scenes and recordings", &["ron", "mcap"])
                    .add_filter("all files", &["*"])
                    .pick_file();
                let _ = tx.send(picked);
            });
            f.dialog = Some(rx);
        }
        let edit = ui.add(egui::TextEdit::singleline(&mut f.typed).hint_text("or type a path").desired_width(150.0));
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.add_enabled(!busy, egui::Button::new("Go")).clicked() || enter) && !busy && !f.typed.trim().is_empty() {
            f.chosen = Some(PathBuf::from(f.typed.trim()));
        }
    });
    if let Some(l) = &f.loading {
        ui.horizontal(|ui| {
            ui.spinner();
            let name = l.path.file_name().map_or_else(|| l.path.display().to_string(), |n| n.to_string_lossy().into());
            ui.label(format!("opening {name}… {:.1} s", l.started.elapsed().as_secs_f64()));
        });
        // Keep the spinner and the seconds moving while nothing else changes.
        ui.ctx().request_repaint();
    }
    if let Some(m) = &f.message {
        ui.colored_label(egui::Color32::from_rgb(230, 60, 50), m);
    }
}

fn poll_dialog(f: Option<ResMut<FileOpen>>) {
    let Some(mut f) = f else { return };
    let Some(rx) = &f.dialog else { return };
    match rx.try_recv() {
        Ok(Some(p)) => {
            f.dialog = None;
            f.chosen = Some(p);
        }
        Ok(None) | Err(crossbeam_channel::TryRecvError::Disconnected) => {
            f.dialog = None;
            f.message = Some("no file chosen (where no file dialog is available, type the path)".into());
        }
        Err(crossbeam_channel::TryRecvError::Empty) => {}
    }
}

/// New: the embedded empty hall, named `untitled` (Save asks where it goes).
fn start_new(mut commands: Commands, f: Option<ResMut<FileOpen>>) {
    let Some(mut f) = f.filter(|f| f.new_scene) else { return };
    f.new_scene = false;
    match crate::scene::parse(crate::scene::EMPTY_HALL_SCENE) {
        Ok(loaded) => {
            commands.insert_resource(OpenedFile(Opened::Scene { name: "untitled".into(), site: loaded.site }))
        }
        Err(e) => f.message = e.0.first().map(|d| d.message.clone()),
    }
}

/// Reads the chosen file on a thread: a recording of a large site takes seconds to index.
fn start_loading(f: Option<ResMut<FileOpen>>) {
    let Some(mut f) = f else { return };
    if f.loading.is_some() {
        return;
    }
    let Some(path) = f.chosen.take() else { return };
    let (tx, rx) = crossbeam_channel::bounded(1);
    let p = path.clone();
    std::thread::spawn(move || {
        let _ = tx.send(crate::open::open(Some(&p)));
    });
    f.message = None;
    f.loading = Some(Loading { path, started: Instant::now(), rx });
}

fn poll_loading(mut commands: Commands, f: Option<ResMut<FileOpen>>) {
    let Some(mut f) = f else { return };
    let Some(l) = &f.loading else { return };
    match l.rx.try_recv() {
        Ok(Ok(opened)) => {
            f.loading = None;
            commands.insert_resource(OpenedFile(opened));
        }
        Ok(Err(e)) => {
            f.loading = None;
            f.message = Some(e);
        }
        Err(crossbeam_channel::TryRecvError::Disconnected) => {
            f.loading = None;
            f.message = Some("the file could not be read (the reader stopped)".into());
        }
        Err(crossbeam_channel::TryRecvError::Empty) => {}
    }
}

/// Puts the opened file in place of the current one; the scene's systems rebuild on the changed
/// `OpenScene` (facility, network, outliner, colour buffer, simulation).
fn apply_opened(world: &mut World) {
    // Unsaved edits: the editor asks first, and puts the file back when the user says so.
    if world.get_resource::<super::editor::Editor>().is_some_and(|e| e.dirty) {
        let file = world.remove_resource::<OpenedFile>();
        world.resource_mut::<super::editor::Editor>().pending = file.map(super::editor::Pending::Open);
        return;
    }
    let Some(OpenedFile(opened)) = world.remove_resource::<OpenedFile>() else { return };
    let same_site = world.get_resource::<OpenScene>().is_some_and(|s| s.site == *opened.site());
    // Dropping the link shuts the old sim thread down (it reads commands every few ms).
    world.remove_resource::<SimLink>();
    world.remove_resource::<ReplayLink>();
    world.insert_resource(LatestSnapshot::default());
    world.insert_resource(super::camera::KeepCamera(same_site));
    // Tags and the recent past of the old scene mean nothing in the new one.
    world.insert_resource(super::selection::Selection::default());
    world.insert_resource(super::live_history::LiveRunHistory::default());
    world.insert_resource(super::outliner::OutlinerSearch::default());
    for p in match &opened {
        Opened::Recording { player, .. } => player.problems.clone(),
        Opened::Scene { .. } => Vec::new(),
    } {
        warn!("{p}");
    }
    let title = format!("factory-twin — {}", opened.name());
    match opened {
        Opened::Scene { name, site } => {
            world.insert_resource(SimStart::default());
            world.insert_resource(OpenScene { name, site });
            world.resource_mut::<NextState<ViewerMode>>().set(ViewerMode::Live);
        }
        Opened::Recording { name, player } => {
            let site = player.site.clone();
            world.insert_resource(ReplayLink::new(*player));
            world.insert_resource(OpenScene { name, site });
            world.resource_mut::<NextState<ViewerMode>>().set(ViewerMode::Replay);
        }
    }
    let mut windows = world.query_filtered::<&mut Window, With<bevy::window::PrimaryWindow>>();
    if let Ok(mut w) = windows.single_mut(world) {
        w.title = title;
    }
    if let Some(mut f) = world.get_resource_mut::<FileOpen>() {
        f.typed.clear();
    }
}
