//! Render quality, low or high, remembered with the panel layout. High: shadows from the sun
//! (cascaded shadow maps sized to the site) and 4× MSAA. Low: neither, so Mesa's software
//! renderer stays usable. Without a choice the app picks by the adapter: low on a CPU
//! (software) adapter, high on a GPU. Colours are never tone-mapped in either, so the legend's
//! colours are the ones on screen (see BENCHMARKS.md for what each setting costs).

use bevy::light::CascadeShadowConfigBuilder;
use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use super::tags::FacilityTags;

/// The sky behind the site, and the haze the ground fades into.
pub const HAZE: Color = Color::srgb(0.60, 0.66, 0.72);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quality {
    Low,
    High,
}

impl Quality {
    pub fn name(self) -> &'static str {
        match self {
            Quality::Low => "low",
            Quality::High => "high",
        }
    }
}

/// The quality in use, and whether the user chose it (remembered) or the adapter did.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderQuality {
    pub quality: Quality,
    pub chosen: bool,
}

impl RenderQuality {
    /// A setting given on the command line (`render --quality`).
    pub fn chosen(high: bool) -> Self {
        RenderQuality { quality: if high { Quality::High } else { Quality::Low }, chosen: true }
    }
}

impl Default for RenderQuality {
    fn default() -> Self {
        RenderQuality { quality: Quality::Low, chosen: false }
    }
}

pub(super) fn plugin(app: &mut App) {
    // Kept when `render` chose it already.
    app.init_resource::<RenderQuality>()
        .add_systems(Startup, pick_by_adapter)
        .add_systems(Update, apply.in_set(super::AppSystems::Camera));
}

/// The materials of the floors and the ground, which low quality draws unlit.
#[derive(Resource, Debug, Default)]
pub struct GroundMaterials(pub Vec<Handle<StandardMaterial>>);

/// Without a remembered choice: low on a software adapter, high on a GPU.
fn pick_by_adapter(mut q: ResMut<RenderQuality>, adapter: Option<Res<bevy::render::renderer::RenderAdapterInfo>>) {
    if q.chosen {
        return;
    }
    // wgpu's `DeviceType` is not re-exported by Bevy; its name is stable.
    let software = adapter.is_none_or(|a| format!("{:?}", a.device_type) == "Cpu");
    q.quality = if software { Quality::Low } else { Quality::High };
}

/// Puts the quality on the cameras (MSAA) and the sun (shadows), when it changes or when a new
/// scene brought a new sun.
#[allow(clippy::type_complexity)]
fn apply(
    mut commands: Commands,
    q: Res<RenderQuality>,
    tags: Option<Res<FacilityTags>>,
    cameras: Query<(Entity, Ref<Camera3d>)>,
    mut suns: Query<(Entity, &mut DirectionalLight)>,
    ground: Option<Res<GroundMaterials>>,
    mut materials: Option<ResMut<Assets<StandardMaterial>>>,
) {
    let new_sun = suns.iter_mut().any(|(_, l)| l.is_added());
    let new_camera = cameras.iter().any(|(_, c)| c.is_added());
    if !q.is_changed() && !new_sun && !new_camera {
        return;
    }
    let high = q.quality == Quality::High;
    // Low: the floors and the ground (most of the picture's pixels) skip lighting; their
    // textures carry their look. A fifth of a software-rendered frame (BENCHMARKS.md).
    if let (Some(ground), Some(mats)) = (ground, materials.as_mut()) {
        for h in &ground.0 {
            if let Some(mut m) = mats.get_mut(h) {
                m.unlit = !high;
            }
        }
    }
    // Shadows reach across the whole site, the first cascade over a hall.
    let span = tags.map_or(100.0, |t| (t.bounds.1 - t.bounds.0).length().max(20.0));
    for (e, _) in &cameras {
        // The ground fades into the haze of the sky behind it (cheap: kept at both settings).
        let fog = DistanceFog {
            color: HAZE,
            falloff: FogFalloff::Linear { start: span * 1.5 + 60.0, end: span * 5.0 + 250.0 },
            ..default()
        };
        commands.entity(e).insert((if high { Msaa::Sample4 } else { Msaa::Off }, fog));
    }
    for (e, mut light) in &mut suns {
        light.shadow_maps_enabled = high;
        if high {
            commands.entity(e).insert(
                CascadeShadowConfigBuilder {
                    num_cascades: 3,
                    first_cascade_far_bound: (span * 0.15).clamp(15.0, 80.0),
                    maximum_distance: span * 2.0 + 50.0,
                    ..default()
                }
                .build(),
            );
        }
    }
}
