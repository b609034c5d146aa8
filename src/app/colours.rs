//! Colouring: one material for every facility object, with a storage buffer of colours indexed
//! by `MeshTag`; rewritten from the newest snapshot by the chosen metric.

use bevy::asset::uuid_handle;
use bevy::prelude::*;
use bevy::reflect::TypePath;
use bevy::render::render_resource::AsBindGroup;
use bevy::render::storage::ShaderBuffer;
use bevy::shader::ShaderRef;

use super::AppSystems;
use super::selection::Selection;
use super::sim_link::LatestSnapshot;
use super::tags::FacilityTags;
use crate::metric::{Metric, colour_for, ramp};
use crate::sim::snapshot::RackStatus;

/// Embedded so the binary runs from any directory.
const SHADER: Handle<Shader> = uuid_handle!("6c1f4f8e-2d7b-4b8e-9a55-3f0d2c1b7a10");

#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct FacilityMaterial {
    #[storage(0, read_only)]
    pub colors: Handle<ShaderBuffer>,
    /// Per tag: `[look, facing, phase, level]`: what the object is (`tags::look`), where a
    /// rack's front looks, and its animated state (flow or fan phase, heat glow, status).
    #[storage(1, read_only)]
    pub details: Handle<ShaderBuffer>,
}

impl Material for FacilityMaterial {
    fn vertex_shader() -> ShaderRef {
        ShaderRef::Handle(SHADER)
    }
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(SHADER)
    }
}

/// What the user colours by.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct ColourSettings {
    pub metric: Metric,
    pub auto_range: bool,
    /// The range in use now (fixed, or the last automatic one).
    pub range: (f32, f32),
    /// Make alarmed racks pulse.
    pub pulse_alarms: bool,
}

impl Default for ColourSettings {
    fn default() -> Self {
        ColourSettings {
            metric: Metric::GpuTemp,
            auto_range: false,
            range: Metric::GpuTemp.fixed_range(),
            pulse_alarms: true,
        }
    }
}

/// The one material instance and its colour buffer.
#[derive(Resource, Clone)]
pub struct FacilityPalette {
    pub material: Handle<FacilityMaterial>,
    pub colors: Handle<ShaderBuffer>,
    pub details: Handle<ShaderBuffer>,
}

/// The colours last written, one per tag: read by tests and the legend.
#[derive(Resource, Default, Debug)]
pub struct CurrentColours(pub Vec<[f32; 4]>);

/// The detail buffer last written, one per tag (`FacilityMaterial::details`), and the phase of
/// each pipe's flow and each dry cooler's fans, moved on by the frame's time at their speed.
#[derive(Resource, Default, Debug)]
pub struct CurrentDetails {
    pub details: Vec<[f32; 4]>,
    phases: Vec<f32>,
}

/// How fast the stripes in a pipe run at full flow, m/s: about the water's speed in a CDU's
/// secondary pipework (ASHRAE TC 9.9 liquid-cooling guidance keeps it near 1.5–2 m/s).
const PIPE_STRIPE_SPEED: f32 = 1.5;
/// A dry cooler's fans at full speed, turns per second as drawn (slowed so the eye follows).
const FAN_TURNS_PER_S: f32 = 0.6;

pub(super) fn plugin(app: &mut App) {
    if let Some(mut shaders) = app.world_mut().get_resource_mut::<Assets<Shader>>() {
        let _ = shaders.insert(
            SHADER.id(),
            Shader::from_wgsl(include_str!("../../shaders/facility_object.wgsl"), "shaders/facility_object.wgsl"),
        );
    }
    if app.is_plugin_added::<bevy::pbr::PbrPlugin>() {
        app.add_plugins(MaterialPlugin::<FacilityMaterial>::default());
    }
    app.init_resource::<ColourSettings>()
        .init_resource::<CurrentColours>()
        .init_resource::<CurrentDetails>()
        .init_resource::<ColourDifference>()
        .add_systems(PreStartup, create_palette)
        .add_systems(Update, recolour.in_set(AppSystems::Recolour));
}

fn create_palette(
    mut commands: Commands,
    buffers: Option<ResMut<Assets<ShaderBuffer>>>,
    materials: Option<ResMut<Assets<FacilityMaterial>>>,
) {
    let (Some(mut buffers), Some(mut materials)) = (buffers, materials) else {
        // Headless tests without a renderer still get colours in `CurrentColours`.
        return;
    };
    let colors = buffers.add(ShaderBuffer::from(vec![[0.5f32, 0.5, 0.5, 1.0]]));
    let details = buffers.add(ShaderBuffer::from(vec![[0.0f32; 4]]));
    let material = materials.add(FacilityMaterial { colors: colors.clone(), details: details.clone() });
    commands.insert_resource(FacilityPalette { material, colors, details });
}

const NEUTRAL_RACK: [f32; 4] = [0.32, 0.34, 0.37, 1.0];
const UNIT_OK: [f32; 4] = [0.62, 0.66, 0.70, 0.5];
const UNIT_IDLE: [f32; 4] = [0.40, 0.42, 0.45, 0.5];
const UNIT_WARN: [f32; 4] = [0.95, 0.62, 0.08, 0.5];
const UNIT_DOWN: [f32; 4] = [0.85, 0.10, 0.08, 0.5];
const PIPE_DRY: [f32; 4] = [0.18, 0.19, 0.21, 1.0];

/// Colour by run A − run B: the compared run's snapshot at the aligned time, and for each of
/// this scene's racks its index in that run (matched by id; `None` when B has no such rack).
#[derive(Resource, Debug, Default)]
pub struct ColourDifference {
    pub b: Option<crate::sim::Snapshot>,
    pub map: Vec<Option<usize>>,
}

/// A difference on a diverging scale: blue where A is lower, white at zero, red where higher;
/// full colour at half the metric's range.
pub fn difference_colour(d: f32, half_span: f32) -> [f32; 3] {
    let t = if d.is_finite() && half_span > 0.0 { (d / half_span).clamp(-1.0, 1.0) } else { 0.0 };
    let (low, high) = ([0.10, 0.35, 0.90], [0.90, 0.12, 0.08]);
    let end = if t < 0.0 { low } else { high };
    let a = t.abs();
    [0.95 + (end[0] - 0.95) * a, 0.95 + (end[1] - 0.95) * a, 0.95 + (end[2] - 0.95) * a]
}

#[allow(clippy::too_many_arguments)]
fn recolour(
    time: Res<Time>,
    latest: Res<LatestSnapshot>,
    tags: Option<Res<FacilityTags>>,
    mut settings: ResMut<ColourSettings>,
    mut current: ResMut<CurrentColours>,
    palette: Option<ResMut<FacilityPalette>>,
    buffers: Option<ResMut<Assets<ShaderBuffer>>>,
    materials: Option<ResMut<Assets<FacilityMaterial>>>,
    selection: Option<Res<Selection>>,
    difference: Res<ColourDifference>,
    mut details: ResMut<CurrentDetails>,
    resilience: Option<Res<super::resilience::Resilience>>,
    network: Option<Res<super::SiteNetwork>>,
    mut unit_costs: Local<Option<(usize, Vec<(usize, [f32; 4])>)>>,
) {
    let (Some(tags), Some(snap)) = (tags, latest.snapshot.as_ref()) else { return };
    let metric = settings.metric;
    if settings.auto_range {
        let r = metric.auto_range(snap, &tags.has_gpus);
        if r != settings.range {
            settings.range = r;
        }
    }
    let range = settings.range;
    let pulse = if settings.pulse_alarms { 0.5 + 0.5 * (time.elapsed_secs() * 5.0).sin() } else { 0.0 };
    let out = &mut current.0;
    out.resize(tags.count as usize, NEUTRAL_RACK);
    let units_only = resilience.as_ref().is_some_and(|r| r.colour && r.report.is_some());
    for i in 0..tags.racks {
        let has_gpus = tags.has_gpus[i];
        let b = difference.b.as_ref().zip(difference.map.get(i).copied().flatten());
        let mut c = if units_only {
            // The Resilience colouring is of units: racks step back (their alarms still show).
            NEUTRAL_RACK
        } else if let (Some((b, j)), true) = (b, metric.applies(snap, i, has_gpus)) {
            let d = metric.rack_value(snap, i) - metric.rack_value(b, j);
            let rgb = difference_colour(d, ((range.1 - range.0) / 2.0).abs());
            [rgb[0], rgb[1], rgb[2], 1.0]
        } else if difference.b.is_some() {
            // Comparing, but run B has no such rack: grey.
            NEUTRAL_RACK
        } else if metric.applies(snap, i, has_gpus) {
            let v = metric.rack_value(snap, i);
            let rgb = colour_for(metric, v, range);
            [rgb[0], rgb[1], rgb[2], 1.0]
        } else {
            NEUTRAL_RACK
        };
        let status = snap.racks.status.get(i).copied().unwrap_or(0);
        if status & (RackStatus::SHUTDOWN | RackStatus::NO_POWER) != 0 {
            // Deep red, pulsing towards bright red: out of work whatever the metric says.
            c = [0.40 + 0.45 * pulse, 0.02, 0.03, 1.0];
        } else if status & RackStatus::THROTTLED != 0 {
            c = [
                c[0] + (1.0 - c[0]) * 0.5 * pulse,
                c[1] + (1.0 - c[1]) * 0.5 * pulse,
                c[2] + (1.0 - c[2]) * 0.5 * pulse,
                1.0,
            ];
        }
        out[i] = c;
    }
    // A snapshot never has more units than the scene (recordings are checked on open), but a
    // unit without a tag is skipped rather than trusted.
    for (k, cdu) in snap.cdus.iter().enumerate() {
        let c = if cdu.flow_fraction <= 0.0 {
            UNIT_DOWN
        } else if cdu.flow_fraction < 1.0 || cdu.headroom < 0.0 {
            UNIT_WARN
        } else {
            UNIT_OK
        };
        if let Some(slot) = out.get_mut(tags.cdu_start as usize + k) {
            *slot = c;
        }
    }
    // CRAHs and dry coolers run whenever they can: not running means failed or unpowered. A
    // chiller may stand by while the economiser carries the load, so only an alarm marks it down.
    let mut set = |start: u32, k: usize, c: [f32; 4]| {
        if let Some(slot) = out.get_mut(start as usize + k) {
            *slot = c;
        }
    };
    for (k, e) in snap.crahs.iter().enumerate() {
        set(tags.crah_start, k, if e.running { UNIT_OK } else { UNIT_DOWN });
    }
    for (k, e) in snap.dry_coolers.iter().enumerate() {
        set(tags.dry_cooler_start, k, if e.running { UNIT_OK } else { UNIT_DOWN });
    }
    for (k, e) in snap.chillers.iter().enumerate() {
        let id = tags.ids.get(tags.chiller_start as usize + k);
        let down = snap.active_alarms.iter().any(|a| Some(&a.object) == id);
        set(
            tags.chiller_start,
            k,
            if down {
                UNIT_DOWN
            } else if e.running {
                UNIT_OK
            } else {
                UNIT_IDLE
            },
        );
    }
    // Pipes show their water temperature on the coolant scale whatever the metric (supply
    // cool, return warm); a pipe without flow goes dark.
    let pipe_range = if metric == Metric::Coolant { range } else { Metric::Coolant.fixed_range() };
    for (k, &(cdu, supply)) in tags.pipes.iter().enumerate() {
        let Some(c) = snap.cdus.get(cdu) else { continue };
        let colour = if c.flow_fraction <= 0.0 {
            PIPE_DRY
        } else {
            let t = if supply { c.supply_c } else { c.return_c };
            let rgb = colour_for(Metric::Coolant, t, pipe_range);
            [rgb[0], rgb[1], rgb[2], 1.0]
        };
        set(tags.pipe_start, k, colour);
    }
    // Busways by their PDU's load (0–100 % of capacity); red without power.
    for (k, pdu) in tags.busways.iter().enumerate() {
        let colour = match pdu.and_then(|p| snap.pdus.get(p)) {
            Some(p) if !p.up => UNIT_DOWN,
            Some(p) => {
                let rgb = ramp(1.0 - p.headroom);
                [rgb[0], rgb[1], rgb[2], 1.0]
            }
            None => UNIT_IDLE,
        };
        set(tags.busway_start, k, colour);
    }
    // The Resilience panel's colouring: each unit by what its own failure costs (the tags
    // looked up once per report, not per frame).
    if let Some(r) = resilience.as_ref().filter(|r| r.colour) {
        if let Some(report) = &r.report {
            let key = std::sync::Arc::as_ptr(report) as usize;
            if unit_costs.as_ref().is_none_or(|(k, _)| *k != key) {
                let by_id: std::collections::HashMap<&str, usize> =
                    tags.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
                let pdus: Vec<String> = network.as_ref().map(|n| n.0.ids.pdus.clone()).unwrap_or_default();
                let mut list = Vec::new();
                for (id, cost) in r.unit_costs() {
                    let c = super::resilience::cost_colour(cost);
                    if let Some(&tag) = by_id.get(id.as_str()) {
                        list.push((tag, c));
                    }
                    // A PDU is drawn as its busways (one per row it feeds).
                    if let Some(p) = pdus.iter().position(|x| *x == id) {
                        for (k, b) in tags.busways.iter().enumerate() {
                            if *b == Some(p) {
                                list.push((tags.busway_start as usize + k, c));
                            }
                        }
                    }
                }
                *unit_costs = Some((key, list));
            }
            if let Some((_, list)) = unit_costs.as_ref() {
                for &(tag, c) in list {
                    if let Some(slot) = out.get_mut(tag) {
                        *slot = c;
                    }
                }
            }
        }
    }
    // The object under the cursor lights up.
    if let Some(slot) = selection.and_then(|s| s.hovered).and_then(|h| out.get_mut(h as usize)) {
        for c in slot.iter_mut().take(3) {
            *c += (1.0 - *c) * 0.45;
        }
    }
    fill_details(&mut details, &tags, snap, time.delta_secs());
    if let (Some(palette), Some(buffers), Some(materials)) = (palette, buffers, materials) {
        upload(palette, buffers, materials, out, &details.details);
    }
}

/// The detail buffer: each tag's look and facing, and what moves: a rack's status and heat
/// glow, a pipe's flow phase and speed, a dry cooler's fan phase, a CDU's flow.
fn fill_details(d: &mut CurrentDetails, tags: &FacilityTags, snap: &crate::sim::Snapshot, dt: f32) {
    let n = tags.count as usize;
    d.details.resize(n, [0.0; 4]);
    d.phases.resize(n, 0.0);
    for (i, out) in d.details.iter_mut().enumerate() {
        let l = tags.looks.get(i).copied().unwrap_or([0.0; 2]);
        *out = [l[0], l[1], 0.0, 0.0];
    }
    for i in 0..tags.racks.min(n) {
        let status = snap.racks.status.get(i).copied().unwrap_or(0);
        let state = if status & (RackStatus::SHUTDOWN | RackStatus::NO_POWER) != 0 {
            2.0
        } else if status & RackStatus::THROTTLED != 0 {
            1.0
        } else {
            0.0
        };
        // Glows from 75 °C toward the 89 °C slowdown of physics.md's GPU figures.
        let gpu = snap.racks.gpu_c.get(i).copied().unwrap_or(0.0);
        let glow =
            if tags.has_gpus.get(i).copied().unwrap_or(false) { ((gpu - 75.0) / 14.0).clamp(0.0, 1.0) } else { 0.0 };
        d.details[i][2] = state;
        d.details[i][3] = glow;
    }
    for (k, c) in snap.cdus.iter().enumerate() {
        if let Some(x) = d.details.get_mut(tags.cdu_start as usize + k) {
            x[3] = c.flow_fraction.clamp(0.0, 1.0);
        }
    }
    for (k, &(cdu, _)) in tags.pipes.iter().enumerate() {
        let i = tags.pipe_start as usize + k;
        let flow = snap.cdus.get(cdu).map_or(0.0, |c| c.flow_fraction.clamp(0.0, 1.5));
        if i < n {
            // Wrapped so the phase keeps its precision over a long session.
            d.phases[i] = (d.phases[i] + dt * flow * PIPE_STRIPE_SPEED) % 600.0;
            d.details[i][2] = d.phases[i];
            d.details[i][3] = flow;
        }
    }
    for (k, e) in snap.dry_coolers.iter().enumerate() {
        let i = tags.dry_cooler_start as usize + k;
        if i < n {
            let speed = if e.running { e.fan_speed } else { 0.0 };
            d.phases[i] = (d.phases[i] + dt * speed * FAN_TURNS_PER_S) % 1.0;
            d.details[i][2] = d.phases[i];
            d.details[i][3] = speed;
        }
    }
    for (k, e) in snap.crahs.iter().enumerate().map(|(k, e)| (tags.crah_start as usize + k, e)) {
        if let Some(x) = d.details.get_mut(k) {
            x[3] = if e.running { 1.0 } else { 0.0 };
        }
    }
    for (k, e) in snap.chillers.iter().enumerate().map(|(k, e)| (tags.chiller_start as usize + k, e)) {
        if let Some(x) = d.details.get_mut(k) {
            x[3] = if e.running { 1.0 } else { 0.0 };
        }
    }
}

/// Writes the colours into the material's buffer. A buffer that changes size becomes a new GPU
/// buffer, but the material's bind group keeps pointing at the old one (Bevy re-prepares a
/// material only when the material asset changes): the shader then read past the end of the
/// one-entry placeholder and drew every unit but the first black. So a new size gets a new
/// buffer asset and the material is pointed at it; the bind group is rebuilt, and waits for the
/// new buffer to reach the GPU.
fn upload(
    mut palette: ResMut<FacilityPalette>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
    mut materials: ResMut<Assets<FacilityMaterial>>,
    colours: &[[f32; 4]],
    details: &[[f32; 4]],
) {
    let palette = &mut *palette;
    let new_colours = put(&mut buffers, &mut palette.colors, colours);
    let new_details = put(&mut buffers, &mut palette.details, details);
    if (new_colours || new_details)
        && let Some(mut m) = materials.get_mut(&palette.material)
    {
        m.colors = palette.colors.clone();
        m.details = palette.details.clone();
    }
}

/// Writes `data` into the buffer `handle` names; a new size gets a new buffer (see `upload`),
/// and then it says so.
fn put(buffers: &mut Assets<ShaderBuffer>, handle: &mut Handle<ShaderBuffer>, data: &[[f32; 4]]) -> bool {
    let bytes = std::mem::size_of_val(data);
    let same_size = buffers.get(&*handle).is_some_and(|b| b.data.as_ref().is_some_and(|d| d.len() == bytes));
    if same_size {
        if let Some(mut buf) = buffers.get_mut(&*handle) {
            buf.set_data(data.to_vec());
        }
        return false;
    }
    let fresh = buffers.add(ShaderBuffer::from(data.to_vec()));
    let old = std::mem::replace(handle, fresh);
    buffers.remove(&old);
    true
}
