//! The layout remembered between runs: colour metric and range mode, layers, panel widths.
//! RON in the user's config directory, written atomically a moment after a change and at exit;
//! a missing or unreadable file means the defaults (with a warning), never a failed start.

use std::path::PathBuf;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use super::colours::ColourSettings;
use super::facility_view::Layers;
use crate::metric::Metric;

/// What is remembered.
#[derive(Resource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiLayout {
    pub metric: String,
    pub auto_range: bool,
    pub pipes: bool,
    pub power: bool,
    pub left_width: f32,
    pub right_width: f32,
    /// The render quality the user chose; `None`: by the adapter (`quality`).
    #[serde(default)]
    pub quality: Option<super::quality::Quality>,
}

impl Default for UiLayout {
    fn default() -> Self {
        UiLayout {
            metric: Metric::GpuTemp.cli_name().into(),
            auto_range: false,
            pipes: true,
            power: false,
            left_width: 270.0,
            right_width: 320.0,
            quality: None,
        }
    }
}

/// Where the layout lives; tests point it at a temp file. Absent: nothing is read or written.
#[derive(Resource, Debug, Clone)]
pub struct LayoutFile(pub PathBuf);

impl LayoutFile {
    /// `$XDG_CONFIG_HOME/factory-twin/layout.ron`, else `~/.config/factory-twin/layout.ron`.
    pub fn user_default() -> Option<LayoutFile> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(LayoutFile(base.join("factory-twin").join("layout.ron")))
    }
}

/// Seconds a change waits before it is written, so dragging a panel edge writes once.
const SAVE_AFTER_S: f64 = 1.0;

#[derive(Resource, Default)]
struct PendingSave(Option<f64>);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<UiLayout>()
        .init_resource::<PendingSave>()
        .add_systems(PreStartup, load_layout)
        // After recolouring, which may move the automatic range in `ColourSettings`.
        .add_systems(Update, (apply_to_layout, save_when_settled).chain().after(super::AppSystems::Recolour))
        .add_systems(Last, save_on_exit);
}

pub fn read(path: &std::path::Path) -> Result<UiLayout, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    ron::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: {}", path.display(), e.span.start.line, e.span.start.col, e.code))
}

pub fn write(path: &std::path::Path, layout: &UiLayout) -> Result<(), String> {
    let text = ron::ser::to_string_pretty(layout, ron::ser::PrettyConfig::default()).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn load_layout(
    file: Option<Res<LayoutFile>>,
    mut layout: ResMut<UiLayout>,
    mut colours: ResMut<ColourSettings>,
    mut layers: ResMut<Layers>,
    mut quality: ResMut<super::quality::RenderQuality>,
) {
    let Some(file) = file else { return };
    if !file.0.exists() {
        return;
    }
    match read(&file.0) {
        Ok(l) => *layout = l,
        Err(e) => warn!("layout not restored ({e}); using the defaults, the file is rewritten on the next change"),
    }
    if let Some(m) = Metric::from_cli(&layout.metric) {
        colours.metric = m;
        colours.range = m.fixed_range();
    }
    colours.auto_range = layout.auto_range;
    *layers = Layers { pipes: layout.pipes, power: layout.power };
    if let Some(q) = layout.quality {
        *quality = super::quality::RenderQuality { quality: q, chosen: true };
    }
}

/// Copies what the panels changed into the layout.
fn apply_to_layout(
    colours: Res<ColourSettings>,
    layers: Res<Layers>,
    quality: Res<super::quality::RenderQuality>,
    mut layout: ResMut<UiLayout>,
) {
    if !colours.is_changed() && !layers.is_changed() && !quality.is_changed() {
        return;
    }
    let mut l = layout.clone();
    l.metric = colours.metric.cli_name().into();
    l.auto_range = colours.auto_range;
    l.pipes = layers.pipes;
    l.power = layers.power;
    l.quality = quality.chosen.then_some(quality.quality);
    if l != *layout {
        *layout = l;
    }
}

fn save_when_settled(
    time: Res<Time<Real>>,
    file: Option<Res<LayoutFile>>,
    layout: Res<UiLayout>,
    mut pending: ResMut<PendingSave>,
) {
    let Some(file) = file else { return };
    let now = time.elapsed_secs_f64();
    if layout.is_changed() && !layout.is_added() {
        pending.0 = Some(now);
    }
    if pending.0.is_some_and(|t| now - t >= SAVE_AFTER_S) {
        pending.0 = None;
        if let Err(e) = write(&file.0, &layout) {
            warn!("layout not saved: {e}");
        }
    }
}

fn save_on_exit(
    mut exits: MessageReader<AppExit>,
    file: Option<Res<LayoutFile>>,
    layout: Res<UiLayout>,
    pending: Res<PendingSave>,
) {
    if exits.read().next().is_some() && pending.0.is_some() {
        if let Some(file) = file {
            if let Err(e) = write(&file.0, &layout) {
                warn!("layout not saved: {e}");
            }
        }
    }
}
