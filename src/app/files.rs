//! Opening another scene or recording: the system file dialog (rfd, through the XDG portal)
//! or a typed path, which always works — Xvfb and bare window managers have no portal. The file
//! is checked here first, so a broken scene shows its file:line:col in the panel instead of a
//! failed start; then the viewer starts again on it (the layout is kept, see layout_store).

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_egui::egui;
use crossbeam_channel::Receiver;

/// The open-file panel's state.
#[derive(Resource, Default)]
pub struct FileOpen {
    pub typed: String,
    /// A dialog in progress: answers with the chosen path, or None when cancelled or when no
    /// dialog could be shown.
    dialog: Option<Receiver<Option<PathBuf>>>,
    pub message: Option<String>,
    /// A checked file to reopen the viewer on.
    pub chosen: Option<PathBuf>,
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<FileOpen>().add_systems(Update, (poll_dialog, reopen).chain());
}

/// Checks that `path` opens as a recording or a scene; the error says where and what.
pub fn check(path: &std::path::Path) -> Result<(), String> {
    if crate::cli::is_recording(path) {
        crate::recording::Player::open(path).map(|_| ())
    } else {
        crate::cli::load_scene_or_demo(Some(path)).map(|_| ())
    }
}

pub fn file_ui(ui: &mut egui::Ui, f: &mut FileOpen) {
    ui.horizontal(|ui| {
        let busy = f.dialog.is_some();
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
        if (ui.button("Go").clicked() || enter) && !f.typed.trim().is_empty() {
            let p = PathBuf::from(f.typed.trim());
            choose(f, p);
        }
    });
    if let Some(m) = &f.message {
        ui.colored_label(egui::Color32::from_rgb(230, 60, 50), m);
    }
}

fn choose(f: &mut FileOpen, p: PathBuf) {
    match check(&p) {
        Ok(()) => {
            f.message = None;
            f.chosen = Some(p);
        }
        Err(e) => f.message = Some(e),
    }
}

fn poll_dialog(f: Option<ResMut<FileOpen>>) {
    let Some(mut f) = f else { return };
    let Some(rx) = &f.dialog else { return };
    match rx.try_recv() {
        Ok(Some(p)) => {
            f.dialog = None;
            choose(&mut f, p);
        }
        Ok(None) | Err(crossbeam_channel::TryRecvError::Disconnected) => {
            f.dialog = None;
            f.message = Some("no file chosen (where no file dialog is available, type the path)".into());
        }
        Err(crossbeam_channel::TryRecvError::Empty) => {}
    }
}

/// Starts the viewer on the chosen file and closes this one.
fn reopen(f: Option<ResMut<FileOpen>>, mut exit: MessageWriter<AppExit>) {
    let Some(mut f) = f else { return };
    let Some(path) = f.chosen.take() else { return };
    let started =
        std::env::current_exe().and_then(|exe| std::process::Command::new(exe).arg("open").arg(&path).spawn());
    match started {
        Ok(_) => {
            exit.write(AppExit::Success);
        }
        Err(e) => f.message = Some(format!("cannot start the viewer on {}: {e}", path.display())),
    }
}
