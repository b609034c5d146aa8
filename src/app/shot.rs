//! `factory-twin render`: wait until the view is drawn, capture the window, write the PNG
//! atomically, exit. Pipelines compile synchronously in this mode (see `app::render`), so a
//! fixed number of frames is enough for everything to be on screen.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};

use super::sim_link::LatestSnapshot;

/// Frames to draw before capturing: meshes, the colour buffer and egui's font atlas reach the
/// GPU over the first few frames.
pub const SETTLE_FRAMES: u32 = 12;

#[derive(Resource, Debug, Clone)]
pub struct ShotRequest {
    pub out: PathBuf,
    pub frames: u32,
    pub taken: bool,
}

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Update, take_shot.run_if(in_state(super::ViewerMode::Still)));
}

fn take_shot(mut commands: Commands, request: Option<ResMut<ShotRequest>>, latest: Res<LatestSnapshot>) {
    let Some(mut req) = request else { return };
    if req.taken || latest.snapshot.is_none() {
        return;
    }
    req.frames += 1;
    if req.frames < SETTLE_FRAMES {
        return;
    }
    req.taken = true;
    let out = req.out.clone();
    commands.spawn(Screenshot::primary_window()).observe(
        move |captured: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| match save_png(&captured.image, &out)
        {
            Ok((w, h)) => {
                println!("wrote {} ({w}×{h})", out.display());
                exit.write(AppExit::Success);
            }
            Err(e) => {
                eprintln!("error: {}: {e}", out.display());
                exit.write(AppExit::error());
            }
        },
    );
}

/// Encodes the captured frame as an RGB PNG (alpha dropped) and writes it atomically.
pub(super) fn save_png(img: &Image, out: &std::path::Path) -> Result<(u32, u32), String> {
    let rgb = img.clone().try_into_dynamic().map_err(|e| format!("cannot read the captured frame: {e}"))?.to_rgb8();
    let mut bytes = Vec::new();
    rgb.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).map_err(|e| e.to_string())?;
    crate::fsutil::write_atomic(out, &bytes).map_err(|e| e.to_string())?;
    Ok((rgb.width(), rgb.height()))
}
