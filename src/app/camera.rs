//! Orbit camera: drag to orbit, right- or middle-drag to pan, wheel to zoom; Home frames the site,
//! 1/2/3 switch to the overview, aisle and plan presets.
//! (No maintained orbit-camera crate is on Bevy 0.19 yet, so this is our own small controller.)

use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;

use super::tags::FacilityTags;

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

    /// Straight down on the floor plan (drawn orthographic, see `plan_projection`).
    pub fn plan(bounds: (Vec3, Vec3)) -> Self {
        let (lo, hi) = bounds;
        let size = (hi - lo).max(Vec3::splat(1.0));
        let focus = Vec3::new((lo.x + hi.x) / 2.0, 0.0, (lo.z + hi.z) / 2.0);
        OrbitCamera { focus, yaw: 0.0, pitch: PLAN_PITCH, distance: size.x.max(size.z) + hi.y.max(10.0) + 20.0 }
    }

    pub fn preset(view: View, tags: &FacilityTags) -> Self {
        match view {
            View::Overview => Self::overview(tags.bounds, tags.plant_south),
            View::Aisle => Self::aisle(tags.aisle),
            View::Plan => Self::plan(tags.hall_bounds),
        }
    }

    pub fn transform(&self) -> Transform {
        let dir = Vec3::new(self.pitch.cos() * self.yaw.sin(), self.pitch.sin(), self.pitch.cos() * self.yaw.cos());
        Transform::from_translation(self.focus + dir * self.distance).looking_at(self.focus, Vec3::Y)
    }
}

/// Just short of straight down: `looking_at` with Y up needs the view not exactly vertical.
const PLAN_PITCH: f32 = 1.5703;

/// An orthographic floor plan that fits the halls into the part of the window the panels leave
/// free (`scene`, logical pixels) of a window `window` pixels wide and high, with a margin.
pub fn plan_projection(hall_bounds: (Vec3, Vec3), distance: f32, scene: Option<Rect>, window: Vec2) -> Projection {
    let (lo, hi) = hall_bounds;
    let (w, d) = ((hi.x - lo.x).max(1.0) * 1.1, (hi.z - lo.z).max(1.0) * 1.1);
    let mut p = OrthographicProjection { far: distance * 2.0 + 200.0, ..OrthographicProjection::default_3d() };
    match scene.filter(|r| r.width() > 10.0 && r.height() > 10.0 && window.min_element() > 10.0) {
        Some(r) => {
            // World metres per pixel so both sides fit; the focus drawn at the free area's centre.
            p.scaling_mode = bevy::camera::ScalingMode::WindowSize;
            p.scale = (w / r.width()).max(d / r.height());
            p.viewport_origin = r.center() / window;
        }
        None => p.scaling_mode = bevy::camera::ScalingMode::AutoMin { min_width: w, min_height: d },
    }
    Projection::Orthographic(p)
}

/// Preset views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Aisle,
    Plan,
}

/// Set when another file opened: whether its site is the one on show, so the camera stays.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepCamera(pub bool);

/// A preset the panels asked for; the camera takes it on its next update.
#[derive(Resource, Default)]
pub struct RequestedView(pub Option<View>);

/// A point to orbit around and the distance to stand at (focus on an object).
#[derive(Resource, Default)]
pub struct RequestedFocus(pub Option<(Vec3, f32)>);

pub fn plugin(app: &mut App) {
    app.init_resource::<RequestedView>()
        .init_resource::<RequestedFocus>()
        .init_resource::<CameraDrag>()
        .init_resource::<super::pointer::ScenePointer>()
        .add_systems(PostStartup, spawn_camera)
        .add_systems(
            Update,
            (reframe_after_open.run_if(resource_exists::<KeepCamera>), control)
                .chain()
                .in_set(super::AppSystems::Camera),
        );
}

/// Another file opened in the window: a different site gets the overview; the same site (a
/// recording of the scene on show, say) keeps the camera where the user left it.
fn reframe_after_open(
    mut commands: Commands,
    keep: Res<KeepCamera>,
    tags: Option<Res<FacilityTags>>,
    mut cameras: Query<(&mut OrbitCamera, &mut Transform, Option<&mut Projection>)>,
) {
    commands.remove_resource::<KeepCamera>();
    let (false, Some(tags)) = (keep.0, tags) else { return };
    for (mut orbit, mut transform, projection) in &mut cameras {
        *orbit = OrbitCamera::overview(tags.bounds, tags.plant_south);
        *transform = orbit.transform();
        if let Some(mut p) = projection {
            *p = Projection::Perspective(PerspectiveProjection::default());
        }
    }
}

fn spawn_camera(mut commands: Commands, tags: Option<Res<FacilityTags>>) {
    let bounds = tags.as_ref().map_or((Vec3::splat(-10.0), Vec3::splat(10.0)), |t| t.bounds);
    let orbit = OrbitCamera::overview(bounds, tags.is_some_and(|t| t.plant_south));
    // Colours carry data: keep them as computed rather than tone-mapped.
    commands.spawn((Camera3d::default(), Tonemapping::None, orbit.transform(), orbit));
}

/// The drag in progress: whether it started over the scene (a drag that started on a panel
/// never moves the camera, wherever the pointer goes), and where the pointer was last frame.
#[derive(Resource, Default)]
pub struct CameraDrag {
    from_scene: bool,
    last_cursor: Option<Vec2>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn control(
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    pointer: Res<super::pointer::ScenePointer>,
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    tags: Option<Res<FacilityTags>>,
    mut requested: ResMut<RequestedView>,
    mut focus: ResMut<RequestedFocus>,
    mut drag: ResMut<CameraDrag>,
    mut cameras: Query<(&mut OrbitCamera, &mut Transform, Option<&mut Projection>)>,
    editor_drag: Option<Res<super::pointer::EditorHoldsLeftDrag>>,
) {
    // The layout editor owns this left press (placing, a box, moving a row).
    let editor_left = editor_drag.is_some_and(|d| d.0);
    // Keys typed into a text box are not camera keys.
    let typing = pointer.typing;
    let keys_on = !typing;
    let keyed = [
        (KeyCode::Home, View::Overview),
        (KeyCode::Digit1, View::Overview),
        (KeyCode::Digit2, View::Aisle),
        (KeyCode::Digit3, View::Plan),
    ]
    .into_iter()
    .find(|(k, _)| keys_on && keys.just_pressed(*k))
    .map(|(_, v)| v);
    let view = requested.0.take().or(keyed);
    let focus = focus.0.take();
    let window = windows.single().ok();
    let cursor = window.and_then(|w| w.cursor_position());
    let in_scene = cursor.is_some_and(|c| pointer.accepts(c));
    let any = [MouseButton::Left, MouseButton::Right, MouseButton::Middle];
    if buttons.any_just_pressed(any) {
        drag.from_scene = in_scene;
    } else if !buttons.any_pressed(any) {
        drag.from_scene = false;
    }
    // How far the pointer moved: from its window position where it has one (X servers without
    // raw input, e.g. Xvfb and remote desktops, send no raw mouse motion), else raw motion.
    // The frame a button goes down counts no motion: the pointer may have travelled to the press
    // point within that frame, and that travel is not part of the drag.
    let moved = match (cursor, drag.last_cursor) {
        _ if buttons.any_just_pressed(any) => Vec2::ZERO,
        (Some(now), Some(before)) => now - before,
        (None, _) => motion.delta,
        (Some(_), None) => Vec2::ZERO,
    };
    drag.last_cursor = cursor;
    for (mut orbit, mut transform, mut projection) in &mut cameras {
        let before = *orbit;
        if let (Some(v), Some(t)) = (view, &tags) {
            *orbit = OrbitCamera::preset(v, t);
            if let Some(p) = projection.as_mut() {
                **p = match v {
                    View::Plan => plan_projection(
                        t.hall_bounds,
                        orbit.distance,
                        pointer.scene_rect,
                        window.map_or(Vec2::ZERO, |w| w.size()),
                    ),
                    _ => Projection::Perspective(PerspectiveProjection::default()),
                };
            }
        }
        if let Some((at, distance)) = focus {
            orbit.focus = at;
            orbit.distance = distance;
            orbit.pitch = orbit.pitch.max(0.35);
        }
        let ortho = projection.as_ref().is_some_and(|p| matches!(**p, Projection::Orthographic(_)));
        let d = moved;
        if drag.from_scene {
            // A floor plan pans with either button; a perspective view orbits with the left one.
            if buttons.pressed(MouseButton::Left) && editor_left {
                // Not the camera's.
            } else if buttons.pressed(MouseButton::Left) && !ortho {
                orbit.yaw -= d.x * 0.005;
                orbit.pitch = (orbit.pitch + d.y * 0.005).clamp(0.05, PLAN_PITCH);
            } else if buttons.any_pressed(any) {
                let right = transform.right();
                let forward = if ortho {
                    Vec3::new(transform.up().x, 0.0, transform.up().z).normalize_or_zero()
                } else {
                    Vec3::new(transform.forward().x, 0.0, transform.forward().z).normalize_or_zero()
                };
                // World metres per pixel: the orthographic scale (plan_projection sets it so), or
                // a share of the distance in perspective.
                let k = match projection.as_deref() {
                    Some(Projection::Orthographic(o)) => o.scale.max(1e-4),
                    _ => orbit.distance * 0.0015,
                };
                orbit.focus += (-right * d.x + forward * d.y) * k;
            }
        }
        let lines = match scroll.unit {
            MouseScrollUnit::Line => scroll.delta.y,
            MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
        };
        if lines != 0.0 && in_scene {
            match projection.as_deref_mut() {
                Some(Projection::Orthographic(o)) => o.scale = (o.scale * (1.0 - lines * 0.1)).clamp(1e-3, 1e3),
                _ => orbit.distance = (orbit.distance * (1.0 - lines * 0.1)).clamp(2.0, 5000.0),
            }
        }
        if *orbit != before {
            *transform = orbit.transform();
        }
    }
}
