//! Demo mode: a scripted story (`crate::demo`) presented full screen over the live run, or
//! rendered to numbered PNGs at fixed time steps (`render --demo`). The director walks the
//! beats; this plugin flies the camera along a Catmull-Rom path through the beats' shots,
//! carries out their actions, and draws the presentation overlay (KPI cards, caption, beat
//! progress, logo, live what-if controls) in place of the editing panels.

use std::path::PathBuf;

use bevy::math::cubic_splines::{CubicCardinalSpline, CubicCurve, CubicGenerator};
use bevy::prelude::*;
use bevy::window::{MonitorSelection, PrimaryWindow, WindowMode};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::camera::OrbitCamera;
use super::sim_link::{LatestSnapshot, UiCommand};
use super::tags::FacilityTags;
use super::{OpenScene, clock};
use crate::demo::{Cue, Demo, Director, Shot, Tally, Watch};
use crate::live::{SimCommand, Speed};
use crate::sim::Action;

/// The story on show and how far it is.
#[derive(Resource)]
pub struct DemoShow {
    pub name: String,
    pub demo: Demo,
    pub director: Director,
    pub tally: Tally,
    /// The overlay is up and the story drives the camera; `Esc` clears it (the normal app, at
    /// the same state).
    pub presenting: bool,
    pub path: Option<CameraPath>,
    /// The pose the story last put the camera in.
    pub pose: Option<Pose>,
    /// Where the last move started: the spline's control point before this move's start.
    pub last_from: Option<Pose>,
    pub logo: Option<Vec<u8>>,
    logo_texture: Option<egui::TextureHandle>,
    /// A beat step asked for by the overlay's buttons: `true` next, `false` previous.
    pub request: Option<bool>,
    /// The overlay's Restart button was pressed.
    pub request_restart: bool,
    /// Full screen asked for: the window is sized to its monitor once one is known (a display
    /// without a window manager ignores the borderless mode alone).
    pub fill_screen: bool,
    /// Per failure of `Demo::failures`: how many are in effect now (the story's and the buttons').
    pub failed: Vec<u32>,
    /// The what-if controls' values.
    pub utilization: f64,
    pub ambient_c: f64,
}

impl DemoShow {
    pub fn new(name: String, demo: Demo, logo: Option<Vec<u8>>, ambient_c: f64) -> Self {
        DemoShow {
            name,
            demo,
            director: Director::default(),
            tally: Tally::default(),
            presenting: true,
            path: None,
            pose: None,
            last_from: None,
            logo,
            logo_texture: None,
            request: None,
            request_restart: false,
            fill_screen: false,
            failed: Vec::new(),
            utilization: 1.0,
            ambient_c,
        }
    }
}

impl DemoShow {
    /// Keeps the what-if panel true to the run after an action (the story's or its own).
    fn follow(&mut self, a: &Action) {
        let failures = self.demo.failures();
        self.failed.resize(failures.len(), 0);
        match a {
            Action::Fail(f) | Action::Restore(f) => {
                if let Some(k) = failures.iter().position(|x| x == f) {
                    self.failed[k] = if matches!(a, Action::Fail(_)) {
                        self.failed[k] + 1
                    } else {
                        self.failed[k].saturating_sub(1)
                    };
                }
            }
            Action::Ambient(c) => self.ambient_c = *c,
            Action::Utilization { target, value } if target == "all" => self.utilization = *value,
            _ => {}
        }
    }

    /// Starts the story over: beat 0 on a run started again from time zero.
    fn restart(&mut self, ambient_c: f64) {
        self.director = Director::default();
        self.tally = Tally::default();
        self.failed.clear();
        self.ambient_c = ambient_c;
        self.utilization = 1.0;
    }
}

/// Run condition: the demo overlay is up (the editing panels stand aside).
pub fn presenting(show: Option<Res<DemoShow>>) -> bool {
    show.is_some_and(|s| s.presenting)
}

/// Rendering the story to frames (`render --demo`): the run is stepped here, in step with the
/// frames, instead of on the sim thread, so every run writes the same files.
#[derive(Resource)]
pub struct DemoFrames {
    pub dir: PathBuf,
    pub fps: u32,
    pub sim: crate::sim::Simulation,
    pub speed: f64,
    /// Frames drawn before the first one is written (meshes and fonts reach the GPU).
    pub settle: u32,
    pub spawned: u32,
    pub written: u32,
    pub failed: Option<String>,
    pub finished: bool,
}

/// A camera pose: where the eye is and what it looks at (world space).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub eye: Vec3,
    pub at: Vec3,
}

impl Pose {
    pub fn of(orbit: &OrbitCamera) -> Pose {
        Pose { eye: orbit.transform().translation, at: orbit.focus }
    }

    /// The orbit camera standing here, so the user takes over where the story left it.
    pub fn orbit(&self) -> OrbitCamera {
        let d = self.eye - self.at;
        let distance = d.length().max(0.5);
        let pitch = (d.y / distance).clamp(-1.0, 1.0).asin().clamp(0.02, 1.5703);
        OrbitCamera { focus: self.at, yaw: d.x.atan2(d.z), pitch, distance }
    }
}

/// One camera move: the Catmull-Rom segment from `from` to `to` with the poses before and after
/// as its tangents' neighbours, so consecutive moves join smoothly through the shots.
#[derive(Debug, Clone)]
pub struct CameraPath {
    eye: CubicCurve<Vec3>,
    at: CubicCurve<Vec3>,
}

impl CameraPath {
    pub fn new(prev: Pose, from: Pose, to: Pose, next: Pose) -> Option<CameraPath> {
        let eye = CubicCardinalSpline::new_catmull_rom([prev.eye, from.eye, to.eye, next.eye]).to_curve().ok()?;
        let at = CubicCardinalSpline::new_catmull_rom([prev.at, from.at, to.at, next.at]).to_curve().ok()?;
        Some(CameraPath { eye, at })
    }

    /// The pose at eased progress `u` (0: `from`, 1: `to`).
    pub fn at(&self, u: f64) -> Pose {
        // Segment 1 of the four points' curve runs from `from` to `to` (0 and 2 are the mirrored ends).
        let t = 1.0 + u.clamp(0.0, 1.0) as f32;
        Pose { eye: self.eye.position(t), at: self.at.position(t) }
    }
}

/// The pose a shot names, on this site; `None` when it names nothing there.
pub fn resolve(shot: &Shot, tags: &FacilityTags, scene: &OpenScene) -> Option<Pose> {
    let orbit = match shot {
        Shot::Overview => OrbitCamera::overview(tags.bounds, tags.plant_south),
        Shot::Aerial => {
            let mut o = OrbitCamera::overview(tags.bounds, tags.plant_south);
            o.pitch = 0.95;
            o.distance *= 0.78;
            o
        }
        Shot::Aisle => OrbitCamera::aisle(tags.aisle),
        Shot::Object { id, distance, yaw_deg, pitch_deg } => {
            let (lo, hi) = object_bounds(id, tags, scene)?;
            OrbitCamera {
                focus: (lo + hi) / 2.0,
                yaw: (*yaw_deg as f32).to_radians(),
                pitch: (*pitch_deg as f32).to_radians().clamp(0.02, 1.5703),
                distance: (*distance as f32).max(1.0),
            }
        }
        Shot::Look { from, at } => {
            let p = |v: &(f64, f64, f64)| super::facility_view::plan_to_world(v.0, v.1, v.2 as f32);
            return Some(Pose { eye: p(from), at: p(at) });
        }
    };
    Some(Pose::of(&orbit))
}

/// A hall's box, or the boxes of every object whose id is `id` or starts with `id/`.
fn object_bounds(id: &str, tags: &FacilityTags, scene: &OpenScene) -> Option<(Vec3, Vec3)> {
    if let Some(h) = scene.site.halls.iter().find(|h| h.id == id) {
        let a = super::facility_view::plan_to_world(h.origin.0, h.origin.1, 0.0);
        let b = super::facility_view::plan_to_world(h.origin.0 + h.size.0, h.origin.1 + h.size.1, 2.4);
        return Some((a.min(b), a.max(b)));
    }
    let prefix = format!("{id}/");
    tags.ids
        .iter()
        .zip(&tags.boxes)
        .filter(|(k, _)| *k == id || k.starts_with(&prefix))
        .map(|(_, b)| *b)
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

pub(super) fn plugin(app: &mut App) {
    // Keys, then the story's clock, then (rendering frames) the run and the capture, all after
    // the user's camera control so the story's camera wins while it presents.
    app.add_systems(
        Update,
        (
            (presenter_keys, direct).chain().run_if(resource_exists::<DemoShow>),
            (step_frames_sim, write_frames).chain().run_if(resource_exists::<DemoFrames>),
        )
            .chain()
            .in_set(super::AppSystems::Camera)
            .after(super::camera::control),
    )
    .add_systems(EguiPrimaryContextPass, overlay.run_if(presenting));
}

/// The story's clock: walks the director, carries out its cues, flies the camera.
#[allow(clippy::too_many_arguments)]
fn direct(
    time: Res<Time>,
    mut show: ResMut<DemoShow>,
    latest: Res<LatestSnapshot>,
    tags: Option<Res<FacilityTags>>,
    scene: Res<OpenScene>,
    mut frames: Option<ResMut<DemoFrames>>,
    mut commands: MessageWriter<UiCommand>,
    mut cameras: Query<(&mut OrbitCamera, &mut Transform)>,
) {
    if !show.presenting {
        return;
    }
    // Rendering to frames waits until the view is on screen before the story starts.
    if let Some(f) = frames.as_mut()
        && f.settle > 0
    {
        f.settle -= 1;
        return;
    }
    // Before the first snapshot (a paused run) the story starts on a site at full output.
    let watch = latest.snapshot.as_ref().map_or(Watch { sim_time_s: 0.0, output: 1.0 }, |s| Watch {
        sim_time_s: s.time_s,
        output: s.kpis.output_fraction,
    });
    let show = &mut *show;
    if let Some(snap) = latest.snapshot.as_ref() {
        show.tally.add(snap.time_s, &snap.kpis);
    }
    let dt = frames.as_ref().map_or(time.delta_secs_f64(), |f| 1.0 / f.fps.max(1) as f64);
    let cues = show.director.advance(&show.demo, dt, watch);
    handle_cues(show, cues, frames.as_deref_mut(), &mut commands, tags.as_deref(), &scene, &cameras);
    if let Some(path) = &show.path {
        let pose = path.at(show.director.move_progress(&show.demo));
        show.pose = Some(pose);
        for (mut orbit, mut transform) in &mut cameras {
            *orbit = pose.orbit();
            *transform = Transform::from_translation(pose.eye).looking_at(pose.at, Vec3::Y);
        }
    }
}

/// Carries out the director's cues: actions and speed to the run, a new camera move per beat.
fn handle_cues(
    show: &mut DemoShow,
    cues: Vec<Cue>,
    mut frames: Option<&mut DemoFrames>,
    commands: &mut MessageWriter<UiCommand>,
    tags: Option<&FacilityTags>,
    scene: &OpenScene,
    cameras: &Query<(&mut OrbitCamera, &mut Transform)>,
) {
    for cue in cues {
        if let Cue::Apply(a) = &cue {
            show.follow(a);
        }
        match cue {
            Cue::Apply(a) => match frames.as_deref_mut() {
                Some(f) => f.sim.apply(&a),
                None => {
                    commands.write(UiCommand(SimCommand::Apply(a)));
                }
            },
            Cue::Speed(s) => match frames.as_deref_mut() {
                Some(f) => f.speed = s,
                None => {
                    commands.write(UiCommand(SimCommand::SetSpeed(Speed::Times(s))));
                    commands.write(UiCommand(SimCommand::Resume));
                }
            },
            Cue::Beat(i) => {
                let Some(tags) = tags else { continue };
                let Some((orbit, _)) = cameras.iter().next() else { continue };
                let from = show.pose.unwrap_or(Pose::of(orbit));
                let shot_of = |k: usize| show.demo.beats.get(k).and_then(|b| b.camera.as_ref());
                // A beat that names no shot leaves the camera where it is (a spline from a
                // pose to itself would swing out toward its neighbours and back).
                let Some(to) = shot_of(i).and_then(|s| resolve(s, tags, scene)) else {
                    show.path = None;
                    continue;
                };
                let next = (i + 1..show.demo.beats.len())
                    .find_map(|k| shot_of(k).and_then(|s| resolve(s, tags, scene)))
                    .unwrap_or(to);
                let prev = show.last_from.unwrap_or(from);
                show.path = CameraPath::new(prev, from, to, next);
                show.last_from = Some(from);
            }
        }
    }
}

/// Presenter keys: → / PageDown next beat, ← / PageUp previous, P pause, F11 full screen, Esc
/// leaves the demo into the normal app.
#[allow(clippy::too_many_arguments)]
fn presenter_keys(
    keys: Res<ButtonInput<KeyCode>>,
    mut show: ResMut<DemoShow>,
    frames: Option<Res<DemoFrames>>,
    tags: Option<Res<FacilityTags>>,
    scene: Res<OpenScene>,
    mut commands: MessageWriter<UiCommand>,
    mut windows: Query<&mut Window, With<PrimaryWindow>>,
    monitors: Query<(&bevy::window::Monitor, Has<bevy::window::PrimaryMonitor>)>,
    cameras: Query<(&mut OrbitCamera, &mut Transform)>,
) {
    if frames.is_some() {
        return;
    }
    if keys.just_pressed(KeyCode::F11) {
        for mut w in &mut windows {
            if w.mode == WindowMode::Windowed {
                show.fill_screen = true;
            } else {
                w.mode = WindowMode::Windowed;
                w.resolution.set(1600.0, 900.0);
            }
        }
    }
    if show.fill_screen {
        // Full screen, and sized to the monitor as well: without a window manager (a bare X
        // server, a kiosk) the borderless mode alone leaves the window as it was.
        if let Some((m, _)) = monitors.iter().max_by_key(|(_, primary)| *primary) {
            for mut w in &mut windows {
                w.mode = WindowMode::BorderlessFullscreen(MonitorSelection::Primary);
                w.resolution.set_physical_resolution(m.physical_width, m.physical_height);
                w.position = bevy::window::WindowPosition::At(m.physical_position);
            }
            show.fill_screen = false;
        }
    }
    if !show.presenting {
        return;
    }
    if keys.just_pressed(KeyCode::Escape) {
        show.presenting = false;
        // The camera is the user's now: back in the story, the next beat flies from wherever
        // they leave it.
        (show.pose, show.path, show.last_from) = (None, None, None);
        for mut w in &mut windows {
            w.mode = WindowMode::Windowed;
        }
        return;
    }
    if keys.just_pressed(KeyCode::Home) || show.request_restart {
        // The story from the top, on the run started over (the scene's own state at time zero).
        show.request_restart = false;
        show.restart(scene.site.ambient.dry_bulb_c);
        show.path = None;
        commands.write(UiCommand(SimCommand::Reset));
        return;
    }
    if keys.just_pressed(KeyCode::KeyP) {
        show.director.paused = !show.director.paused;
    }
    let show = &mut *show;
    let request = show.request.take();
    let cues =
        if request == Some(true) || keys.any_just_pressed([KeyCode::ArrowRight, KeyCode::PageDown, KeyCode::Space]) {
            show.director.next(&show.demo)
        } else if request == Some(false) || keys.any_just_pressed([KeyCode::ArrowLeft, KeyCode::PageUp]) {
            show.director.previous(&show.demo)
        } else {
            return;
        };
    handle_cues(show, cues, None, &mut commands, tags.as_deref(), &scene, &cameras);
}

/// `render --demo`: the run advances by the story's speed for one frame's time.
fn step_frames_sim(mut frames: ResMut<DemoFrames>, mut latest: ResMut<LatestSnapshot>, show: Res<DemoShow>) {
    if frames.settle > 0 || show.director.beat.is_none() {
        return;
    }
    let target = frames.sim.time_s() + frames.speed / frames.fps.max(1) as f64;
    frames.sim.run_until(target);
    latest.snapshot = Some(frames.sim.snapshot());
    latest.frames_since_update = 0;
}

/// `render --demo`: captures every frame of the story to `DIR/frame-00001.png`…, and exits once
/// the last beat has played and every file is written.
fn write_frames(
    mut commands: Commands,
    mut frames: ResMut<DemoFrames>,
    show: Res<DemoShow>,
    latest: Res<LatestSnapshot>,
    mut exit: MessageWriter<AppExit>,
) {
    if let Some(e) = frames.failed.take() {
        eprintln!("error: {e}");
        exit.write(AppExit::error());
        return;
    }
    if frames.finished {
        if frames.written == frames.spawned {
            println!("wrote {} frames to {}", frames.written, frames.dir.display());
            exit.write(AppExit::Success);
        }
        return;
    }
    if frames.settle > 0 || show.director.beat.is_none() {
        return;
    }
    let watch = latest.snapshot.as_ref().map(|s| Watch { sim_time_s: s.time_s, output: s.kpis.output_fraction });
    if watch.is_some_and(|w| show.director.finished(&show.demo, w)) {
        frames.finished = true;
        return;
    }
    frames.spawned += 1;
    let out = frames.dir.join(format!("frame-{:05}.png", frames.spawned));
    commands.spawn(bevy::render::view::screenshot::Screenshot::primary_window()).observe(
        move |captured: On<bevy::render::view::screenshot::ScreenshotCaptured>, mut frames: ResMut<DemoFrames>| {
            match super::shot::save_png(&captured.image, &out) {
                Ok(_) => frames.written += 1,
                Err(e) => frames.failed = Some(format!("{}: {e}", out.display())),
            }
        },
    );
}

const CARD_FILL: egui::Color32 = egui::Color32::from_rgba_premultiplied(14, 18, 24, 240);
const ACCENT: egui::Color32 = egui::Color32::from_rgb(118, 185, 0);
const ALARM: egui::Color32 = egui::Color32::from_rgb(255, 92, 72);

/// The presentation overlay: title and logo, KPI cards, caption, beat progress, what-if.
fn overlay(
    mut contexts: EguiContexts,
    mut show: ResMut<DemoShow>,
    latest: Res<LatestSnapshot>,
    frames: Option<Res<DemoFrames>>,
    mut commands: MessageWriter<UiCommand>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let show = &mut *show;
    if show.logo_texture.is_none()
        && let Some(bytes) = &show.logo
    {
        match image::load_from_memory(bytes) {
            Ok(img) => {
                let rgba = img.to_rgba8();
                let size = [rgba.width() as usize, rgba.height() as usize];
                let image = egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw());
                show.logo_texture = Some(ctx.load_texture("demo-logo", image, egui::TextureOptions::LINEAR));
            }
            Err(e) => {
                warn!("the demo's logo is not an image: {e}");
                show.logo = None;
            }
        }
    }
    let screen = ctx.content_rect();
    // Sized for the screen: the same layout on a laptop, a projector and a 4K frame.
    let z = (screen.height() / 900.0).clamp(0.55, 2.4);
    let margin = 24.0 * z;
    let Some(snap) = latest.snapshot.as_ref() else { return Ok(()) };
    let k = &snap.kpis;
    let beat = show.director.beat.unwrap_or(0);

    // Title (and logo) top left.
    egui::Area::new(egui::Id::new("demo-title")).fixed_pos(egui::pos2(margin, margin)).show(ctx, |ui| {
        let inner = egui::Margin::symmetric((14.0 * z) as i8, (8.0 * z) as i8);
        egui::Frame::new().fill(CARD_FILL).corner_radius(10.0 * z).inner_margin(inner).show(ui, |ui| {
            ui.horizontal(|ui| {
                if let Some(t) = &show.logo_texture {
                    let s = t.size_vec2();
                    let h = 44.0 * z;
                    ui.image((t.id(), egui::vec2(s.x * h / s.y.max(1.0), h)));
                }
                ui.vertical(|ui| {
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(&show.demo.title).size(22.0 * z).strong().color(egui::Color32::WHITE),
                        )
                        .extend(),
                    );
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(format!("live simulation · sim time {}", clock(snap.time_s)))
                                .size(13.0 * z)
                                .color(egui::Color32::from_gray(190)),
                        )
                        .extend(),
                    );
                });
            })
        });
    });

    // KPI cards, top right.
    let cards = show.demo.cards_of(beat).to_vec();
    // Sized so five cards and the title share the top of a 16:9 screen.
    egui::Area::new(egui::Id::new("demo-cards")).anchor(egui::Align2::RIGHT_TOP, egui::vec2(-margin, margin)).show(
        ctx,
        |ui| {
            ui.horizontal(|ui| {
                for c in &cards {
                    egui::Frame::new()
                        .fill(CARD_FILL)
                        .corner_radius(10.0 * z)
                        .inner_margin(egui::Margin::symmetric((16.0 * z) as i8, (10.0 * z) as i8))
                        .show(ui, |ui| {
                            ui.set_min_width(120.0 * z);
                            ui.vertical(|ui| {
                                ui.label(
                                    egui::RichText::new(c.title()).size(13.0 * z).color(egui::Color32::from_gray(175)),
                                );
                                let colour = if c.alarming(k, &show.tally) { ALARM } else { egui::Color32::WHITE };
                                ui.label(
                                    egui::RichText::new(c.value(k, &show.tally)).size(30.0 * z).strong().color(colour),
                                );
                            });
                        });
                }
            });
        },
    );

    // Caption and beat progress, bottom centre (a beat without a caption shows only the progress).
    let caption = show.demo.beats.get(beat).map(|b| b.caption.clone()).unwrap_or_default();
    let width = (screen.width() * 0.62).max(300.0);
    egui::Area::new(egui::Id::new("demo-caption"))
        .anchor(egui::Align2::CENTER_BOTTOM, egui::vec2(0.0, -margin * 1.5))
        .show(ctx, |ui| {
            ui.set_max_width(width);
            egui::Frame::new()
                .fill(CARD_FILL)
                .corner_radius(12.0 * z)
                .inner_margin(egui::Margin::symmetric((22.0 * z) as i8, (14.0 * z) as i8))
                .show(ui, |ui| {
                    ui.set_width(width);
                    ui.vertical_centered(|ui| {
                        if !caption.is_empty() {
                            ui.label(egui::RichText::new(caption).size(24.0 * z).color(egui::Color32::WHITE));
                            ui.add_space(8.0 * z);
                        }
                        let n = show.demo.beats.len();
                        let (rect, _) =
                            ui.allocate_exact_size(egui::vec2(n as f32 * 18.0 * z, 10.0 * z), egui::Sense::hover());
                        for i in 0..n {
                            let c = egui::pos2(rect.left() + (9.0 + i as f32 * 18.0) * z, rect.center().y);
                            if i == beat {
                                ui.painter().circle_filled(c, 5.0 * z, ACCENT);
                            } else if i < beat {
                                ui.painter().circle_filled(c, 3.5 * z, egui::Color32::from_gray(200));
                            } else {
                                ui.painter().circle_stroke(
                                    c,
                                    3.5 * z,
                                    egui::Stroke::new(1.2, egui::Color32::from_gray(140)),
                                );
                            }
                        }
                        if show.director.paused {
                            ui.label(
                                egui::RichText::new("paused — P to go on")
                                    .size(13.0 * z)
                                    .color(egui::Color32::from_gray(190)),
                            );
                        }
                    });
                });
        });

    // Live what-if, bottom right: the presenter answers "what if…" on the spot. Not in frames.
    if frames.is_none() {
        egui::Area::new(egui::Id::new("demo-whatif"))
            .anchor(egui::Align2::RIGHT_CENTER, egui::vec2(-margin, 0.0))
            .show(ctx, |ui| {
                egui::Frame::new()
                    .fill(CARD_FILL)
                    .corner_radius(10.0)
                    .inner_margin(egui::Margin::same(12))
                    .show(ui, |ui| what_if(ui, show, &mut commands, z));
            });
    }
    Ok(())
}

/// The what-if panel: load and outside temperature, the story's failures with how many are in
/// effect, beat buttons and the keys.
fn what_if(ui: &mut egui::Ui, show: &mut DemoShow, commands: &mut MessageWriter<UiCommand>, z: f32) {
    ui.visuals_mut().override_text_color = Some(egui::Color32::from_gray(225));
    ui.label(egui::RichText::new("What if…").strong().color(egui::Color32::WHITE));
    let util = ui.add(egui::Slider::new(&mut show.utilization, 0.2..=1.0).text("GPU load").fixed_decimals(2));
    if util.drag_stopped() || (util.changed() && !util.dragged()) {
        commands
            .write(UiCommand(SimCommand::Apply(Action::Utilization { target: "all".into(), value: show.utilization })));
    }
    let amb = ui.add(egui::Slider::new(&mut show.ambient_c, -10.0..=45.0).text("outside °C").fixed_decimals(0));
    if amb.drag_stopped() || (amb.changed() && !amb.dragged()) {
        commands.write(UiCommand(SimCommand::Apply(Action::Ambient(show.ambient_c))));
    }
    let failures = show.demo.failures();
    show.failed.resize(failures.len(), 0);
    for (k, f) in failures.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("{} {}", f.kind.name(), f.target));
            let mut act = None;
            if ui.button("Fail").clicked() {
                act = Some(Action::Fail(f.clone()));
            }
            if ui.button("Restore").clicked() {
                act = Some(Action::Restore(f.clone()));
            }
            // How many of this failure are in effect (a pump failure counts per pump).
            let (text, colour) = match show.failed[k] {
                0 => ("ok".to_string(), ACCENT),
                n => (format!("{n} failed"), ALARM),
            };
            ui.label(egui::RichText::new(text).strong().color(colour));
            if let Some(a) = act {
                show.follow(&a);
                commands.write(UiCommand(SimCommand::Apply(a)));
            }
        });
    }
    ui.horizontal(|ui| {
        if ui.button("Back").clicked() {
            show.request = Some(false);
        }
        let pause = if show.director.paused { "Go on" } else { "Pause" };
        if ui.button(pause).clicked() {
            show.director.paused = !show.director.paused;
        }
        if ui.button("Next").clicked() {
            show.request = Some(true);
        }
        if ui.button("Restart").on_hover_text("the story from the top, the run from time zero (Home)").clicked() {
            show.request_restart = true;
        }
    });
    ui.label(
        egui::RichText::new("Left/Right: beats · P: pause · Home: restart · F11: full screen · Esc: leave the demo")
            .size(11.0 * z)
            .color(egui::Color32::from_gray(160)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::Easing;

    fn pose(x: f32, z: f32) -> Pose {
        Pose { eye: Vec3::new(x, 10.0 + x * 0.1, z), at: Vec3::new(x * 0.5, 0.0, z * 0.5 - 3.0) }
    }

    /// The moves of a story through `keys`, each as the director drives it: from where the last
    /// one ended to the next shot, sampled every frame with in-out easing.
    fn fly(keys: &[Pose], frames_per_move: usize) -> Vec<Vec<Pose>> {
        let mut moves = Vec::new();
        let mut last_from: Option<Pose> = None;
        let mut at = keys[0];
        for i in 1..keys.len() {
            let from = at;
            let next = keys.get(i + 1).copied().unwrap_or(keys[i]);
            let path = CameraPath::new(last_from.unwrap_or(from), from, keys[i], next).unwrap();
            last_from = Some(from);
            let samples: Vec<Pose> = (0..=frames_per_move)
                .map(|f| path.at(Easing::InOut.apply(f as f64 / frames_per_move as f64)))
                .collect();
            at = *samples.last().unwrap();
            moves.push(samples);
        }
        moves
    }

    #[test]
    fn the_path_passes_through_every_shot() {
        let keys = [pose(0.0, 0.0), pose(30.0, 5.0), pose(35.0, 40.0), pose(-20.0, 60.0)];
        for (i, m) in fly(&keys, 60).iter().enumerate() {
            assert!(
                m[0].eye.distance(keys[i].eye) < 1e-3 && m[0].at.distance(keys[i].at) < 1e-3,
                "move {i} starts at shot {i}"
            );
            let end = m.last().unwrap();
            assert!(
                end.eye.distance(keys[i + 1].eye) < 1e-3 && end.at.distance(keys[i + 1].at) < 1e-3,
                "and ends at shot {}",
                i + 1
            );
        }
    }

    #[test]
    fn no_jump_where_moves_meet_and_each_move_is_eased() {
        let keys = [pose(0.0, 0.0), pose(30.0, 5.0), pose(35.0, 40.0), pose(-20.0, 60.0)];
        let moves = fly(&keys, 60);
        let step = |a: &Pose, b: &Pose| a.eye.distance(b.eye).max(a.at.distance(b.at));
        let largest = moves.iter().flat_map(|m| m.windows(2).map(|w| step(&w[0], &w[1]))).fold(0.0, f32::max);
        for (i, pair) in moves.windows(2).enumerate() {
            let (a, b) = (&pair[0], &pair[1]);
            // The frame before the boundary, the boundary, the frame after: small steps only.
            let across = step(&a[a.len() - 2], &b[1]);
            assert!(across < largest * 0.05, "boundary {i}: {across} against {largest}");
            assert!(step(a.last().unwrap(), &b[0]) < 1e-4, "boundary {i} is continuous");
        }
        for m in &moves {
            let first = step(&m[0], &m[1]);
            let middle = step(&m[29], &m[30]);
            assert!(first < middle * 0.05, "eased in: {first} against {middle}");
        }
    }

    #[test]
    fn an_orbit_camera_takes_over_at_the_same_pose() {
        for p in [pose(3.0, 7.0), pose(-40.0, 12.0), Pose { eye: Vec3::new(0.0, 80.0, 50.0), at: Vec3::ZERO }] {
            let o = p.orbit();
            let t = o.transform();
            assert!(t.translation.distance(p.eye) < 1e-2, "{:?} vs {:?}", t.translation, p.eye);
            assert!(o.focus.distance(p.at) < 1e-4);
        }
    }
}
