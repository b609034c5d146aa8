//! Frame-time figures for BENCHMARKS.md: with `FACTORY_TWIN_FRAME_STATS=N` set, the viewer
//! measures the CPU time of the main schedule (every ECS system: ours, transforms, visibility,
//! egui) for N frames after a warm-up, counts the draw batches (visible meshes grouped by
//! mesh and material, which Bevy draws as one instanced call each), prints one JSON line and exits.
//! Rendering itself runs on the render thread and is not in the figure: under the software
//! rasteriser used here its time says nothing about a GPU.

use std::collections::HashSet;
use std::time::Instant;

use bevy::prelude::*;

use super::colours::FacilityMaterial;

/// With `FACTORY_TWIN_FRAME_STATS_NO_RENDER=1` (and frame stats on) no GPU device is created, so
/// the figure is the window's ECS and egui work with no renderer competing for the CPU.
pub fn render_creation() -> bevy::render::settings::RenderCreation {
    use bevy::render::settings::{RenderCreation, WgpuSettings};
    let off = std::env::var_os("FACTORY_TWIN_FRAME_STATS").is_some()
        && std::env::var_os("FACTORY_TWIN_FRAME_STATS_NO_RENDER").is_some();
    let mut settings = WgpuSettings::default();
    if off {
        settings.backends = None;
    }
    RenderCreation::Automatic(Box::new(settings))
}

/// Frames skipped before measuring (pipelines, first uploads).
const WARM_UP: u32 = 60;

#[derive(Resource)]
struct FrameStats {
    frames: u32,
    started: Option<Instant>,
    samples_ms: Vec<f64>,
    /// Wall time from one frame's start to the next: the frame rate the user sees, the
    /// renderer included (it runs beside the main schedule and holds it back when slower).
    last_start: Option<Instant>,
    intervals_ms: Vec<f64>,
}

pub(super) fn plugin(app: &mut App) {
    let Some(n) = std::env::var("FACTORY_TWIN_FRAME_STATS").ok().and_then(|v| v.parse::<u32>().ok()) else {
        return;
    };
    app.insert_resource(FrameStats {
        frames: n.max(1),
        started: None,
        samples_ms: Vec::new(),
        last_start: None,
        intervals_ms: Vec::new(),
    })
    .add_systems(First, frame_start)
    .add_systems(Last, frame_end);
}

fn frame_start(mut stats: ResMut<FrameStats>) {
    let now = Instant::now();
    if let Some(last) = stats.last_start.replace(now)
        && stats.samples_ms.len() >= WARM_UP as usize
    {
        stats.intervals_ms.push((now - last).as_secs_f64() * 1e3);
    }
    stats.started = Some(now);
}

type Drawn<'a> = (
    &'a Mesh3d,
    Option<&'a MeshMaterial3d<FacilityMaterial>>,
    Option<&'a MeshMaterial3d<StandardMaterial>>,
    &'a InheritedVisibility,
);

fn frame_end(mut stats: ResMut<FrameStats>, meshes: Query<Drawn>, mut exit: MessageWriter<AppExit>) {
    let Some(t0) = stats.started.take() else { return };
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    stats.samples_ms.push(ms);
    if stats.samples_ms.len() < (WARM_UP + stats.frames) as usize {
        return;
    }
    let mut s: Vec<f64> = stats.samples_ms[WARM_UP as usize..].to_vec();
    s.sort_by(f64::total_cmp);
    let pick = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let mut batches = HashSet::new();
    let mut visible = 0usize;
    for (mesh, fm, sm, vis) in &meshes {
        if vis.get() {
            visible += 1;
            batches.insert((mesh.id(), fm.map(|m| m.id().untyped()), sm.map(|m| m.id().untyped())));
        }
    }
    let wall = if stats.intervals_ms.is_empty() {
        0.0
    } else {
        stats.intervals_ms.iter().sum::<f64>() / stats.intervals_ms.len() as f64
    };
    let fps = if wall > 0.0 { 1000.0 / wall } else { 0.0 };
    println!(
        "{{\"frames\": {}, \"cpu_frame_ms_mean\": {mean:.3}, \"cpu_frame_ms_p50\": {:.3}, \"cpu_frame_ms_p95\": {:.3}, \"cpu_frame_ms_max\": {:.3}, \"wall_frame_ms_mean\": {wall:.3}, \"fps\": {fps:.2}, \"visible_meshes\": {visible}, \"draw_batches\": {}}}",
        s.len(),
        pick(0.5),
        pick(0.95),
        s[s.len() - 1],
        batches.len()
    );
    exit.write(AppExit::Success);
}

/// The viewer's own per-frame CPU work without a window or renderer (`factory-twin
/// bench-frames`, hidden): the scene's entities, a new snapshot every frame alternating between
/// two states that differ in every rack, recolouring, selection and inspector history, and the
/// ECS schedule around them. Returns (mean, p50, p95) milliseconds per frame over `frames`.
pub fn headless(site: crate::model::Site, frames: usize) -> Result<(f64, f64, f64), String> {
    use crate::sim::{Action, Scenario, Simulation};
    let mut sim = Simulation::new(site.clone(), Scenario::default(), 1.0)?;
    let a = sim.snapshot();
    sim.apply(&Action::Utilization { target: "all".into(), value: 0.4 });
    for _ in 0..30 {
        sim.step();
    }
    let b = sim.snapshot();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    super::insert_source(&mut app, "bench".into(), site, super::Source::Fixed(Box::new(a.clone())));
    app.add_plugins(super::plugin);
    app.update();
    // Select a rack so the inspector's history runs too.
    app.world_mut().write_message(super::selection::Select { tag: Some(0), focus: false });
    let mut ms = Vec::with_capacity(frames);
    for i in 0..frames + 20 {
        let next = if i % 2 == 0 { b.clone() } else { a.clone() };
        let t0 = Instant::now();
        app.world_mut().resource_mut::<super::sim_link::LatestSnapshot>().snapshot = Some(next);
        app.update();
        if i >= 20 {
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    let colours = &app.world().resource::<super::colours::CurrentColours>().0;
    if colours.is_empty() {
        return Err("nothing was coloured".into());
    }
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    Ok((mean, ms[ms.len() / 2], ms[(ms.len() * 95) / 100]))
}

/// `bench-frames RECORDING`: scrubbing, as a drag along the timeline does — each frame asks for a
/// time further on (the whole recording over `frames` frames, so every frame lands in another
/// chunk), seeks, recolours and runs the rest of the schedule. Returns (mean, p50, p95) ms.
pub fn headless_scrub(player: crate::recording::Player, frames: usize) -> Result<(f64, f64, f64), String> {
    use crate::recording::playback::PlaybackCommand;
    let range = player.time_range();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    super::insert_source(&mut app, "bench".into(), player.site.clone(), super::Source::Replay(Box::new(player)));
    app.add_plugins(super::plugin);
    app.update();
    app.world_mut().write_message(super::selection::Select { tag: Some(0), focus: false });
    let mut ms = Vec::with_capacity(frames);
    for i in 0..frames + 20 {
        let t = range.start_s + (range.end_s - range.start_s) * (i % (frames + 1)) as f64 / frames as f64;
        let t0 = Instant::now();
        app.world_mut().write_message(super::replay_link::ReplayCommand(PlaybackCommand::SetTime(t)));
        app.update();
        if i >= 20 {
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    if app.world().resource::<super::colours::CurrentColours>().0.is_empty() {
        return Err("nothing was coloured".into());
    }
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    Ok((mean, ms[ms.len() / 2], ms[(ms.len() * 95) / 100]))
}

/// `bench-frames --edit`: the main schedule's CPU per step of dragging a row (the editor applies
/// the edit, the hall's layout is checked, the row's entities move, the edits go to the sim as
/// a message), in ms per edit over the two updates it takes (mean, p50, p95). No simulation
/// thread runs (it applies the edits on its own core).
pub fn headless_edit(site: crate::model::Site, edits: usize) -> Result<(f64, f64, f64), String> {
    use crate::edit::Edit;
    let snapshot = crate::sim::Simulation::new(site.clone(), crate::sim::Scenario::default(), 1.0)?.snapshot();
    let hall = site.halls.first().ok_or("the scene has no hall")?.id.clone();
    let row = site.halls[0].rows.first().ok_or("the first hall has no row")?.clone();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    super::insert_source(&mut app, "bench".into(), site, super::Source::Fixed(Box::new(snapshot)));
    app.add_plugins(super::plugin);
    app.update();
    let mut ms = Vec::with_capacity(edits);
    for i in 0..edits + 4 {
        // Into the aisle and back: every edit is a real move the validator checks.
        let mut with = row.clone();
        with.origin.1 += if i % 2 == 0 { 0.6 } else { 0.0 };
        let edit = Edit::SetRow { hall: hall.clone(), row: row.id.clone(), with: Box::new(with) };
        let t0 = Instant::now();
        app.world_mut().write_message(super::editor::EditorCommand::Edit(edit));
        // The edit applies in this update; the view rebuilds in the next.
        app.update();
        app.update();
        if i >= 4 {
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        if let Some((why, true)) = &app.world().resource::<super::editor::Editor>().status {
            return Err(format!("the edit was refused: {why}"));
        }
    }
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    Ok((mean, ms[ms.len() / 2], ms[(ms.len() * 95) / 100]))
}
