//! Picking: the object under the cursor (hover), click to select, double-click to focus the
//! camera on it, Esc to clear. Objects are boxes, so a ray against their bounds is exact and
//! costs ~10 µs for 10,000 racks; no mesh ray casting is needed. The selected object gets an
//! outline (a slightly larger box drawn inside-out, so only its rim shows).

use bevy::prelude::*;
use bevy::render::render_resource::Face;
use bevy::window::PrimaryWindow;

use super::camera::RequestedFocus;
use super::tags::FacilityTags;

/// Hovered and selected objects, by tag; the selected one by id too, so it stays selected when
/// an edit renumbers the tags (and is let go when the edit removed it).
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct Selection {
    pub hovered: Option<u32>,
    pub selected: Option<u32>,
    pub selected_id: Option<String>,
}

/// Select an object (from the outliner, the alarm list or a click); `focus` also moves the camera.
#[derive(Message, Debug, Clone, Copy)]
pub struct Select {
    pub tag: Option<u32>,
    pub focus: bool,
}

/// The outline shown around the selected object.
#[derive(Component)]
pub struct SelectionOutline;

/// Where a left press started and when the last click was (wall time, frame, tag), to tell
/// clicks, drags and double-clicks apart.
#[derive(Resource, Default)]
struct ClickState {
    pressed_at: Option<Vec2>,
    last_click: Option<(f64, u64, u32)>,
    frame: u64,
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Selection>()
        .init_resource::<RequestedFocus>()
        .init_resource::<ClickState>()
        .add_message::<Select>()
        // Read by picking; InputPlugin registers it too (headless tests may run without it).
        .add_message::<bevy::input::mouse::MouseButtonInput>()
        .add_systems(Startup, spawn_outline)
        .add_systems(
            Update,
            (
                // A still image (`render`) shows no pointer: nothing is hovered.
                pick_under_cursor.run_if(not(in_state(super::ViewerMode::Still))),
                apply_selection,
                place_outline,
            )
                .chain()
                .in_set(super::AppSystems::Input),
        )
        .add_systems(
            Update,
            reselect.run_if(super::scene_rebuilds).after(super::AppSystems::Rebuild).before(super::AppSystems::Input),
        );
}

/// After the scene was rebuilt (an edit, another file): the selected object by its id.
fn reselect(tags: Option<Res<FacilityTags>>, mut selection: ResMut<Selection>) {
    let tag = selection.selected_id.as_deref().and_then(|id| tags.as_ref()?.tag_of(id));
    if tag.is_none() {
        selection.selected_id = None;
    }
    selection.selected = tag;
    selection.hovered = None;
}

/// The nearest box the ray hits: (index, distance along the ray).
pub fn pick(origin: Vec3, dir: Vec3, boxes: &[(Vec3, Vec3)]) -> Option<(usize, f32)> {
    let inv = dir.recip();
    let mut best: Option<(usize, f32)> = None;
    for (i, (lo, hi)) in boxes.iter().enumerate() {
        // Slab test.
        let t1 = (*lo - origin) * inv;
        let t2 = (*hi - origin) * inv;
        let near = t1.min(t2).max_element();
        let far = t1.max(t2).min_element();
        if near <= far && far >= 0.0 {
            let t = near.max(0.0);
            if best.is_none_or(|(_, b)| t < b) {
                best = Some((i, t));
            }
        }
    }
    best
}

/// Seconds between two clicks on the same object that count as a double-click.
const DOUBLE_CLICK_S: f64 = 0.4;
/// Frames between two clicks that count as a double-click however long the frames take: the
/// software renderer at 10,000 racks draws a frame in ~0.3 s, and press, release, press, release
/// need four of them.
const DOUBLE_CLICK_FRAMES: u64 = 6;

/// Whether a click at (`now` s, `frame`) on `tag` follows `last` closely enough to be a double-click.
pub fn is_double_click(last: Option<(f64, u64, u32)>, now: f64, frame: u64, tag: Option<u32>) -> bool {
    match (last, tag) {
        (Some((t, f, last_tag)), Some(h)) => {
            last_tag == h && (now - t < DOUBLE_CLICK_S || frame.saturating_sub(f) <= DOUBLE_CLICK_FRAMES)
        }
        _ => false,
    }
}
/// A press that moves further than this (pixels) is a drag (orbit), not a click.
const CLICK_SLOP_PX: f32 = 4.0;

#[allow(clippy::too_many_arguments)]
fn pick_under_cursor(
    time: Res<Time<Real>>,
    buttons: Option<Res<ButtonInput<MouseButton>>>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    windows: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    pointer: Res<super::pointer::ScenePointer>,
    tags: Option<Res<FacilityTags>>,
    mut selection: ResMut<Selection>,
    mut click: ResMut<ClickState>,
    mut select: MessageWriter<Select>,
    mut mouse_events: MessageReader<bevy::input::mouse::MouseButtonInput>,
) {
    // Two clicks inside one slow frame leave one `just_released`: count the releases themselves.
    let releases = mouse_events
        .read()
        .filter(|e| e.button == MouseButton::Left && e.state == bevy::input::ButtonState::Released)
        .count();
    // Headless (tests) there is no input: selection then comes only from `Select` messages.
    let (Some(buttons), Some(keys)) = (buttons, keys) else { return };
    click.frame += 1;
    let typing = pointer.typing;
    if keys.just_pressed(KeyCode::Escape) && !typing {
        select.write(Select { tag: None, focus: false });
    }
    let (Ok(window), Some(tags)) = (windows.single(), tags) else { return };
    // Over a panel, a popup or a widget being dragged the scene sees no pointer: nothing is
    // hovered there and a press there is not a click in the scene.
    let cursor = window.cursor_position().filter(|c| pointer.accepts(*c));
    let hovered = cursor.and_then(|c| {
        let (camera, at) = cameras.iter().find(|(c, _)| c.is_active)?;
        let ray = camera.viewport_to_world(at, c).ok()?;
        pick(ray.origin, *ray.direction, &tags.boxes).map(|(i, _)| i as u32)
    });
    if selection.hovered != hovered {
        selection.hovered = hovered;
    }
    if buttons.just_pressed(MouseButton::Left) {
        click.pressed_at = cursor;
    }
    if buttons.just_released(MouseButton::Left) {
        let (Some(from), Some(to)) = (click.pressed_at.take(), cursor) else { return };
        if from.distance(to) > CLICK_SLOP_PX {
            return;
        }
        let now = time.elapsed_secs_f64();
        let double = releases >= 2 && hovered.is_some() || is_double_click(click.last_click, now, click.frame, hovered);
        // A double-click's second click does not start a third.
        click.last_click = if double { None } else { hovered.map(|h| (now, click.frame, h)) };
        // A click on empty floor clears the selection.
        select.write(Select { tag: hovered, focus: double });
    }
}

pub(super) fn apply_selection(
    mut reader: MessageReader<Select>,
    tags: Option<Res<FacilityTags>>,
    mut selection: ResMut<Selection>,
    mut focus: ResMut<RequestedFocus>,
) {
    for s in reader.read() {
        selection.selected = s.tag;
        selection.selected_id = s.tag.and_then(|t| tags.as_ref()?.ids.get(t as usize).cloned());
        if let (true, Some(tag), Some(tags)) = (s.focus, s.tag, &tags) {
            if let Some((lo, hi)) = tags.boxes.get(tag as usize) {
                let size = (*hi - *lo).length();
                focus.0 = Some(((*lo + *hi) / 2.0, (size * 2.5).max(6.0)));
            }
        }
    }
}

fn spawn_outline(
    mut commands: Commands,
    meshes: Option<ResMut<Assets<Mesh>>>,
    materials: Option<ResMut<Assets<StandardMaterial>>>,
) {
    let mut e = commands.spawn((SelectionOutline, Transform::default(), Visibility::Hidden));
    // Tests run without a renderer: the outline is then only a transform.
    if let (Some(mut meshes), Some(mut materials)) = (meshes, materials) {
        e.insert((
            Mesh3d(meshes.add(Cuboid::new(1.0, 1.0, 1.0))),
            MeshMaterial3d(materials.add(StandardMaterial {
                // Magenta: in no metric ramp and unlike the blue and green pipes.
                base_color: Color::srgb(1.0, 0.2, 0.85),
                unlit: true,
                // Inside-out: only the back faces draw, so the object shows through with a rim.
                cull_mode: Some(Face::Front),
                ..default()
            })),
        ));
    }
}

fn place_outline(
    selection: Res<Selection>,
    tags: Option<Res<FacilityTags>>,
    mut outline: Query<(&mut Transform, &mut Visibility), With<SelectionOutline>>,
) {
    let target = selection.selected.zip(tags.as_ref()).and_then(|(t, tags)| tags.boxes.get(t as usize).copied());
    for (mut transform, mut vis) in &mut outline {
        match target {
            Some((lo, hi)) => {
                let m = 0.08 + 0.03 * (hi - lo).max_element();
                // Wider than the object and resting just above the floor, so from straight
                // above (the plan) its inside bottom shows as a rim around the object.
                let (lo, hi) = (Vec3::new(lo.x - m, lo.y.max(0.0) + 0.03, lo.z - m), hi + Vec3::splat(m));
                let want = Transform::from_translation((lo + hi) / 2.0).with_scale(hi - lo);
                if *transform != want {
                    *transform = want;
                }
                vis.set_if_neq(Visibility::Visible);
            }
            None => {
                vis.set_if_neq(Visibility::Hidden);
            }
        }
    }
}
