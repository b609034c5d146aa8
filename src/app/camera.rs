//! Orbit camera: drag to orbit, right- or middle-drag to pan, wheel to zoom; Home frames the site,
//! 1/2/3 switch to the overview, aisle and plan presets.
//! (No maintained orbit-camera crate is on Bevy 0.19 yet, so this is our own small controller.)

use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;

use super::facility_view::FacilityTags;

#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    pub focus: Vec3,
    pub yaw: f32,
    pub pitch: f32,
    pub distance: f32,
}

impl OrbitCamera {
    /// A view of the whole site from the south-west, 35° above the horizon (from the north-east
    /// when the outdoor plant stands south of the halls, so it never hides the racks).
    pub fn overview(bounds: (Vec3, Vec3), plant_south: bool) -> Self {
        let (lo, hi) = bounds;
        let size = (hi - lo).max(Vec3::splat(1.0));
        let yaw = if plant_south { -0.55 + std::f32::consts::PI } else { -0.55 };
        OrbitCamera { focus: (lo + hi) / 2.0, yaw, pitch: 0.62, distance: size.x.max(size.z) * 1.3 + 6.0 }
    }

    /// Eye level in a cold aisle near the middle of the racks, looking along the rows from the
    /// west end.
    pub fn aisle(aisle: (Vec3, f32)) -> Self {
        let (focus, length) = aisle;
        OrbitCamera { focus, yaw: -std::f32::consts::FRAC_PI_2, pitch: 0.08, distance: (length * 0.6).clamp(4.0, 40.0) }
    }

    /// Straight down on the floor plan.
    pub fn plan(bounds: (Vec3, Vec3)) -> Self {
        let (lo, hi) = bounds;
        let size = (hi - lo).max(Vec3::splat(1.0));
        OrbitCamera { focus: (lo + hi) / 2.0, yaw: 0.0, pitch: 1.55, distance: size.x.max(size.z) * 1.1 + 6.0 }
    }

    pub fn preset(view: View, tags: &FacilityTags) -> Self {
        match view {
            View::Overview => Self::overview(tags.bounds, tags.plant_south),
            View::Aisle => Self::aisle(tags.aisle),
            View::Plan => Self::plan(tags.bounds),
        }
    }

    pub fn transform(&self) -> Transform {
        let dir = Vec3::new(self.pitch.cos() * self.yaw.sin(), self.pitch.sin(), self.pitch.cos() * self.yaw.cos());
        Transform::from_translation(self.focus + dir * self.distance).looking_at(self.focus, Vec3::Y)
    }
}

/// Preset views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Aisle,
    Plan,
}

/// A preset the panels asked for; the camera takes it on its next update.
#[derive(Resource, Default)]
pub struct RequestedView(pub Option<View>);

/// A point to orbit around and the distance to stand at (focus on an object).
#[derive(Resource, Default)]
pub struct RequestedFocus(pub Option<(Vec3, f32)>);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<RequestedView>()
        .init_resource::<RequestedFocus>()
        .add_systems(PostStartup, spawn_camera)
        .add_systems(Update, control);
}

fn spawn_camera(mut commands: Commands, tags: Option<Res<FacilityTags>>) {
    let bounds = tags.as_ref().map_or((Vec3::splat(-10.0), Vec3::splat(10.0)), |t| t.bounds);
    let orbit = OrbitCamera::overview(bounds, tags.is_some_and(|t| t.plant_south));
    // Colours carry data: keep them as computed rather than tone-mapped.
    commands.spawn((Camera3d::default(), Tonemapping::None, orbit.transform(), orbit));
}

fn control(
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    egui_input: Option<Res<bevy_egui::input::EguiWantsInput>>,
    tags: Option<Res<FacilityTags>>,
    mut requested: ResMut<RequestedView>,
    mut focus: ResMut<RequestedFocus>,
    mut cameras: Query<(&mut OrbitCamera, &mut Transform)>,
) {
    let keyed = [
        (KeyCode::Home, View::Overview),
        (KeyCode::Digit1, View::Overview),
        (KeyCode::Digit2, View::Aisle),
        (KeyCode::Digit3, View::Plan),
    ]
    .into_iter()
    .find(|(k, _)| keys.just_pressed(*k))
    .map(|(_, v)| v);
    let view = requested.0.take().or(keyed);
    let focus = focus.0.take();
    let over_ui = egui_input.is_some_and(|e| e.wants_any_pointer_input());
    for (mut orbit, mut transform) in &mut cameras {
        let before = *orbit;
        if let (Some(v), Some(t)) = (view, &tags) {
            *orbit = OrbitCamera::preset(v, t);
        }
        if let Some((at, distance)) = focus {
            orbit.focus = at;
            orbit.distance = distance;
            orbit.pitch = orbit.pitch.max(0.35);
        }
        if !over_ui {
            let d = motion.delta;
            if buttons.pressed(MouseButton::Left) {
                orbit.yaw -= d.x * 0.005;
                orbit.pitch = (orbit.pitch + d.y * 0.005).clamp(0.05, 1.55);
            } else if buttons.pressed(MouseButton::Right) || buttons.pressed(MouseButton::Middle) {
                let right = transform.right();
                let forward = Vec3::new(transform.forward().x, 0.0, transform.forward().z).normalize_or_zero();
                let k = orbit.distance * 0.0015;
                orbit.focus += (-right * d.x + forward * d.y) * k;
            }
            let lines = match scroll.unit {
                MouseScrollUnit::Line => scroll.delta.y,
                MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
            };
            if lines != 0.0 {
                orbit.distance = (orbit.distance * (1.0 - lines * 0.1)).clamp(2.0, 5000.0);
            }
        }
        if *orbit != before {
            *transform = orbit.transform();
        }
    }
}
