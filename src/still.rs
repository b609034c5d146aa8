//! A still image to draw (`factory-twin render`): the scene, the state at the chosen time, and
//! how to show it. Prepared by the headless commands without a window; drawn by the viewer.

use crate::model::Site;
use crate::sim::Snapshot;

/// The camera presets a still image can be drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewPreset {
    Overview,
    Aisle,
    Plan,
}

/// Everything `render` draws.
pub struct Shot {
    pub name: String,
    pub site: Site,
    pub snapshot: Snapshot,
    pub metric: crate::metric::Metric,
    pub size: (u32, u32),
    pub view: ViewPreset,
    pub out: std::path::PathBuf,
}
