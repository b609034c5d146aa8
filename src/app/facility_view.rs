//! Scene → 3D: hall floors with their tile grid, cut-away walls, racks sized and styled by type,
//! CDUs and CRAHs inside, heat rejection outside. Every coloured object shares one mesh and one
//! material and carries a `MeshTag` into the colour buffer.

use bevy::asset::RenderAssetUsages;
use bevy::camera::visibility::NoFrustumCulling;
use bevy::image::{ImageAddressMode, ImageSampler, ImageSamplerDescriptor};
use bevy::mesh::{MeshTag, VertexAttributeValues};
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

use super::OpenScene;
use super::colours::FacilityPalette;
use super::tags::FacilityTags;
use crate::model::geometry::{CHILLER_SIZE, DRY_COOLER_SIZE, Footprint, rack_footprint, row_offsets};
use crate::model::{Containment, Facing, PlacedRack, cdu_id, crah_id};

/// Everything the scene put in the world (objects, services, floors, walls, lights): removed
/// when another file opens in the same window.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct SceneEntity;

/// A facility object in the world: its id and its tag in the colour buffer.
#[derive(Component, Debug, Clone)]
pub struct FacilityObject {
    pub id: String,
    pub tag: u32,
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Layers>()
        .add_systems(Startup, spawn_facility)
        .add_systems(
            Update,
            (despawn_facility, spawn_facility).chain().run_if(super::scene_rebuilds).in_set(super::AppSystems::Rebuild),
        )
        .add_systems(
            Update,
            move_rows
                .run_if(super::scene_reopened.and_then(resource_exists::<super::SiteEdited>))
                .in_set(super::AppSystems::Rebuild),
        )
        .add_systems(Update, show_layers.in_set(super::AppSystems::Camera));
}

/// Another file opened in this window: the old scene goes.
fn despawn_facility(mut commands: Commands, old: Query<Entity, With<SceneEntity>>) {
    for e in &old {
        commands.entity(e).despawn();
    }
}

fn show_layers(
    layers: Res<Layers>,
    mut pipes: Query<&mut Visibility, (With<PipeLayer>, Without<PowerLayer>)>,
    mut power: Query<&mut Visibility, (With<PowerLayer>, Without<PipeLayer>)>,
) {
    if !layers.is_changed() {
        return;
    }
    let vis = |on: bool| if on { Visibility::Inherited } else { Visibility::Hidden };
    for mut v in &mut pipes {
        v.set_if_neq(vis(layers.pipes));
    }
    for mut v in &mut power {
        v.set_if_neq(vis(layers.power));
    }
}

/// Site plan (x east, y north, metres) → world (x east, y up, z south), so the plan view has
/// north at the top and the default camera stands in the south-west.
pub fn plan_to_world(x: f64, y: f64, height: f32) -> Vec3 {
    Vec3::new(x as f32, height, -y as f32)
}

/// Everything placed, in plan coordinates: computed once, used for meshes and tags.
pub struct PlacedFacility {
    pub racks: Vec<PlacedRackBox>,
    pub cdus: Vec<(String, Footprint)>,
    pub crahs: Vec<(String, Footprint)>,
    pub dry_coolers: Vec<(String, Footprint)>,
    pub chillers: Vec<(String, Footprint)>,
    pub rows: Vec<RowRun>,
}

/// A row as the overhead services see it: its extent, the top of its racks, and the CDU and
/// PDU that feed it.
#[derive(Debug, Clone)]
pub struct RowRun {
    /// The row's hall and its index there, in the site.
    pub at: (usize, usize),
    /// The row's id within its hall (`row-A`), its label on the floor plan.
    pub label: String,
    pub extent: Footprint,
    pub top: f32,
    /// Index into `PlacedFacility::cdus`.
    pub cdu: Option<usize>,
    pub pdu: Option<String>,
    /// Where the racks' fronts look.
    pub facing: Facing,
}

/// A pipe or busway segment in world space: centre and size.
pub type Segment = (Vec3, Vec3);

/// Axis-aligned boxes along the waypoints (consecutive points differ in one axis).
fn segments(points: &[Vec3], thickness: f32) -> Vec<Segment> {
    points
        .windows(2)
        .filter(|w| w[0].distance(w[1]) > 1e-3)
        .map(|w| {
            let size = (w[1] - w[0]).abs() + Vec3::splat(thickness);
            ((w[0] + w[1]) / 2.0, size)
        })
        .collect()
}

/// A row's own frame: `u` along the row, `v` across it, whichever plan axis the row runs on.
struct RowFrame {
    along_x: bool,
}

impl RowFrame {
    fn of(row: &RowRun) -> RowFrame {
        RowFrame { along_x: row.extent.size().0 >= row.extent.size().1 }
    }
    /// Plan (x, y) → (u, v).
    fn uv(&self, p: (f64, f64)) -> (f64, f64) {
        if self.along_x { p } else { (p.1, p.0) }
    }
    fn world(&self, u: f64, v: f64, height: f32) -> Vec3 {
        if self.along_x { plan_to_world(u, v, height) } else { plan_to_world(v, u, height) }
    }
}

/// Supply and return pipes of one row, overhead from the row's CDU along the row: the supply
/// runs lower and on one side, the return higher on the other, so both show from any angle.
pub fn pipe_route(row: &RowRun, cdu: &Footprint, supply: bool) -> Vec<Segment> {
    let f = RowFrame::of(row);
    let (lo, hi) = (f.uv(row.extent.min), f.uv(row.extent.max));
    let (lift, side) = if supply { (0.30, -0.18) } else { (0.55, 0.18) };
    let h = row.top + lift;
    let (cu, cv) = f.uv(cdu.centre());
    let v = (lo.1 + hi.1) / 2.0 + side;
    let near_u = cu.clamp(lo.0, hi.0);
    let far_u = if (cu - lo.0).abs() < (cu - hi.0).abs() { hi.0 } else { lo.0 };
    let pts = [
        f.world(far_u, v, h),
        f.world(near_u, v, h),
        f.world(near_u, cv + side, h),
        f.world(cu + side, cv + side, h),
        // Down to the top of the CDU.
        f.world(cu + side, cv + side, 2.0),
    ];
    segments(&pts, PIPE_THICKNESS)
}

const PIPE_THICKNESS: f32 = 0.11;

/// A pipe as drawn: its segments, each with the tag bits of the way its water flows (supply
/// from the CDU out along the row, return back to it), and a fitting where two segments meet.
pub fn pipe_pieces(row: &RowRun, cdu: &Footprint, supply: bool) -> Vec<(Segment, u32)> {
    use super::tags::look::{FITTING, FLOW_REVERSED};
    let segs = pipe_route(row, cdu, supply);
    let mut out = Vec::with_capacity(segs.len() * 2);
    for (k, &(centre, size)) in segs.iter().enumerate() {
        // The route runs from the row's far end to the CDU: return water flows that way.
        let toward_cdu = match (segs.get(k + 1), k.checked_sub(1).and_then(|j| segs.get(j))) {
            (Some(next), _) => next.0 - centre,
            (None, Some(prev)) => centre - prev.0,
            _ => Vec3::X,
        };
        let flow = if supply { -toward_cdu } else { toward_cdu };
        // The segment's axis is its longest side; reversed when the water runs toward its minus end.
        let axis = if size.x >= size.y && size.x >= size.z {
            flow.x
        } else if size.y >= size.z {
            flow.y
        } else {
            flow.z
        };
        out.push(((centre, size), if axis < 0.0 { FLOW_REVERSED } else { 0 }));
        if k + 1 < segs.len() {
            // Where this segment ends and the next begins: the end nearer the next one.
            let next = segs[k + 1];
            let ends = [
                centre - (size - Vec3::splat(PIPE_THICKNESS)) / 2.0,
                centre + (size - Vec3::splat(PIPE_THICKNESS)) / 2.0,
            ];
            let joint = if ends[0].distance(next.0) < ends[1].distance(next.0) { ends[0] } else { ends[1] };
            out.push(((joint, Vec3::splat(PIPE_THICKNESS * 1.6)), FITTING));
        }
    }
    out
}

/// The busway over a row, above the pipes.
pub fn busway(row: &RowRun) -> Vec<Segment> {
    let f = RowFrame::of(row);
    let (lo, hi) = (f.uv(row.extent.min), f.uv(row.extent.max));
    let (v, h) = ((lo.1 + hi.1) / 2.0, row.top + 0.85);
    let mut seg = segments(&[f.world(lo.0, v, h), f.world(hi.0, v, h)], 0.0);
    for s in &mut seg {
        // A flat bar: 0.25 m wide, 0.12 m deep.
        s.1 = Vec3::new(s.1.x.max(0.25), 0.12, s.1.z.max(0.25));
    }
    seg
}

/// Which overhead layers show.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct Layers {
    pub pipes: bool,
    pub power: bool,
}

impl Default for Layers {
    fn default() -> Self {
        Layers { pipes: true, power: false }
    }
}

#[derive(Component)]
pub struct PipeLayer;

#[derive(Component)]
pub struct PowerLayer;

/// One row's racks (pushed to `racks`, in site order) and its run for the overhead services.
fn place_row(
    site: &crate::model::Site,
    catalogue: &[crate::model::RackType],
    cdu_names: &[String],
    (hi, ri): (usize, usize),
    racks: &mut Vec<PlacedRackBox>,
) -> Option<RowRun> {
    let ty = |name: Option<&str>| name.and_then(|n| catalogue.iter().find(|t| t.id == n));
    let hall = &site.halls[hi];
    let row = &hall.rows[ri];
    let o = hall.origin;
    let placed: Vec<PlacedRack<'_>> = row
        .racks
        .iter()
        .enumerate()
        .map(|(ki, rack)| PlacedRack { hall_index: hi, row_index: ri, rack_index: ki, hall, row, rack })
        .collect();
    let offsets: Vec<f64> =
        row_offsets(placed.iter().map(|p| (ty(p.rack_type()).map_or(0.6, |t| t.width_m), p.rack.at))).collect();
    let mut run: Option<RowRun> = None;
    for (p, off) in placed.iter().zip(offsets) {
        let Some(t) = ty(p.rack_type()) else { continue };
        let f = rack_footprint(p, t, off);
        let f = Footprint { min: (f.min.0 + o.0, f.min.1 + o.1), max: (f.max.0 + o.0, f.max.1 + o.1) };
        racks.push(PlacedRackBox {
            id: p.id(),
            footprint: f,
            height: t.height_m as f32,
            gpus: t.gpus > 0,
            rack_type: t.id.clone(),
            look: super::tags::look::of_rack(t),
            facing: row.facing,
        });
        let r = run.get_or_insert(RowRun {
            at: (hi, ri),
            label: row.id.clone(),
            extent: f,
            top: 0.0,
            cdu: None,
            pdu: None,
            facing: row.facing,
        });
        r.extent.min = (r.extent.min.0.min(f.min.0), r.extent.min.1.min(f.min.1));
        r.extent.max = (r.extent.max.0.max(f.max.0), r.extent.max.1.max(f.max.1));
        r.top = r.top.max(t.height_m as f32);
        if r.cdu.is_none() && t.liquid_fraction > 0.0 {
            r.cdu = p.cdu().and_then(|c| cdu_names.iter().position(|n| n == c));
        }
        if r.pdu.is_none() {
            r.pdu = p.pdu().map(str::to_string);
        }
    }
    run
}

/// A unit inside a hall, site coordinates: where it stands, else in a line along the hall's
/// south wall.
fn in_hall(h: &crate::model::Hall, pos: Option<(f64, f64)>, w: f64, d: f64, k: usize) -> Footprint {
    let p = pos.unwrap_or((1.0 + k as f64 * (w + 0.4), 0.8));
    Footprint::square((p.0 + h.origin.0, p.1 + h.origin.1), w, d)
}

fn cdu_footprint(h: &crate::model::Hall, k: usize) -> Footprint {
    in_hall(h, h.cdus[k].position, 0.6, 1.2, k)
}

/// A placed rack: where it stands and how it is drawn.
#[derive(Debug, Clone)]
pub struct PlacedRackBox {
    pub id: String,
    pub footprint: Footprint,
    pub height: f32,
    pub gpus: bool,
    pub rack_type: String,
    /// `tags::look::*`.
    pub look: f32,
    pub facing: Facing,
}

/// Lays out the site: rack footprints from rows, units from their positions, and outdoor plant
/// without a position in a line north of the halls.
pub fn place(site: &crate::model::Site) -> PlacedFacility {
    let catalogue = site.rack_catalogue();
    let mut racks = Vec::new();
    let mut rows = Vec::new();
    let cdu_names: Vec<String> = site.halls.iter().flat_map(|h| h.cdus.iter().map(move |c| cdu_id(h, c))).collect();
    for (hi, hall) in site.halls.iter().enumerate() {
        for ri in 0..hall.rows.len() {
            rows.extend(place_row(site, &catalogue, &cdu_names, (hi, ri), &mut racks));
        }
    }
    let mut cdus = Vec::new();
    let mut crahs = Vec::new();
    for h in &site.halls {
        for (k, c) in h.cdus.iter().enumerate() {
            cdus.push((cdu_id(h, c), cdu_footprint(h, k)));
        }
        for (k, c) in h.crahs.iter().enumerate() {
            crahs.push((crah_id(h, c), in_hall(h, c.position, 1.8, 0.9, k)));
        }
    }
    // Plant without a position stands in a line north of the halls: behind them as the default
    // camera (from the south-west) sees the site, so it never hides the racks.
    let max_y = site.halls.iter().map(|h| h.origin.1 + h.size.1).fold(0.0, f64::max);
    let outdoor = |pos: Option<(f64, f64)>, w: f64, d: f64, k: usize, lane: f64| {
        let p = pos.unwrap_or((k as f64 * (w + 2.0) + w / 2.0, max_y + lane));
        Footprint::square(p, w, d)
    };
    let dry_coolers = site
        .plant
        .dry_coolers
        .iter()
        .enumerate()
        .map(|(k, d)| (d.id.clone(), outdoor(d.position, DRY_COOLER_SIZE.0, DRY_COOLER_SIZE.1, k, 10.0)))
        .collect();
    let chillers = site
        .plant
        .chillers
        .iter()
        .enumerate()
        .map(|(k, c)| (c.id.clone(), outdoor(c.position, CHILLER_SIZE.0, CHILLER_SIZE.1, k, 20.0)))
        .collect();
    PlacedFacility { racks, cdus, crahs, dry_coolers, chillers, rows }
}

#[allow(clippy::too_many_arguments)]
fn spawn_facility(
    mut commands: Commands,
    scene: Res<OpenScene>,
    palette: Option<Res<FacilityPalette>>,
    mut meshes: Option<ResMut<Assets<Mesh>>>,
    mut std_materials: Option<ResMut<Assets<StandardMaterial>>>,
    mut images: Option<ResMut<Assets<Image>>>,
    layers: Option<Res<Layers>>,
) {
    let site = &scene.site;
    let placed = place(site);
    let unit_box = meshes.as_mut().map(|m| m.add(Cuboid::new(1.0, 1.0, 1.0)));

    let mut tag = 0u32;
    let mut has_gpus = Vec::new();
    let mut lo = Vec3::splat(f32::INFINITY);
    let mut hi = Vec3::splat(f32::NEG_INFINITY);
    let mut ids = Vec::new();
    let mut boxes = Vec::new();
    let mut entities = Vec::new();
    let mut spawn_box = |commands: &mut Commands, id: &str, f: &Footprint, height: f32, tag: u32| {
        let b = world_box(f, height);
        lo = lo.min(b.0);
        hi = hi.max(b.1);
        ids.push(id.to_string());
        boxes.push(b);
        let mut e = commands.spawn((
            SceneEntity,
            FacilityObject { id: id.to_string(), tag },
            MeshTag(tag),
            object_transform(f, height),
            Visibility::default(),
        ));
        if let (Some(mesh), Some(p)) = (&unit_box, &palette) {
            // Culling 14,000 small boxes one by one costs more CPU than drawing the few off
            // screen costs the GPU: they are one instanced batch either way.
            e.insert((Mesh3d(mesh.clone()), MeshMaterial3d(p.material.clone()), NoFrustumCulling));
        }
        entities.push(e.id());
    };
    use super::tags::look;
    let mut looks = Vec::new();
    for r in &placed.racks {
        spawn_box(&mut commands, &r.id, &r.footprint, r.height, tag);
        has_gpus.push(r.gpus);
        looks.push([r.look, look::facing(r.facing)]);
        tag += 1;
    }
    let cdu_start = tag;
    for (id, f) in &placed.cdus {
        spawn_box(&mut commands, id, f, 2.0, tag);
        looks.push([look::CDU, 0.0]);
        tag += 1;
    }
    let crah_start = tag;
    for (id, f) in &placed.crahs {
        spawn_box(&mut commands, id, f, 2.2, tag);
        looks.push([look::CRAH, 0.0]);
        tag += 1;
    }
    let dry_cooler_start = tag;
    for (id, f) in &placed.dry_coolers {
        spawn_box(&mut commands, id, f, 2.5, tag);
        looks.push([look::DRY_COOLER, 0.0]);
        tag += 1;
    }
    let chiller_start = tag;
    for (id, f) in &placed.chillers {
        spawn_box(&mut commands, id, f, 2.6, tag);
        looks.push([look::CHILLER, 0.0]);
        tag += 1;
    }

    // Overhead services share the mesh and material; each pipe or busway is one tag, its
    // segments several entities with that tag.
    let service = ServiceLook { mesh: unit_box.clone(), material: palette.as_ref().map(|p| p.material.clone()) };
    let layers = layers.map(|l| *l).unwrap_or_default();
    let pipe_start = tag;
    let mut pipes = Vec::new();
    for row in &placed.rows {
        let Some(cdu) = row.cdu else { continue };
        for supply in [true, false] {
            let pieces = pipe_pieces(row, &placed.cdus[cdu].1, supply);
            service.spawn(&mut commands, pieces, RowService { row: row.at, tag }, true, layers.pipes);
            pipes.push((cdu, supply));
            looks.push([look::PIPE, 0.0]);
            tag += 1;
        }
    }
    let busway_start = tag;
    let mut busways = Vec::new();
    for row in &placed.rows {
        let pieces = busway(row).into_iter().map(|s| (s, 0)).collect();
        service.spawn(&mut commands, pieces, RowService { row: row.at, tag }, false, layers.power);
        busways.push(row.pdu.as_ref().and_then(|id| site.power.pdus.iter().position(|p| &p.id == id)));
        looks.push([look::BUSWAY, 0.0]);
        tag += 1;
    }

    // Floors, cut-away walls and the ground need the renderer's assets; tests run without them.
    if let (Some(meshes), Some(mats), Some(images)) = (meshes.as_mut(), std_materials.as_mut(), images.as_mut()) {
        let tile = images.add(tile_image());
        let wall_box = meshes.add(Cuboid::new(1.0, 1.0, 1.0));
        // A raised floor with a light, slightly glossy finish.
        let floor_mat = mats.add(StandardMaterial {
            base_color_texture: Some(tile.clone()),
            perceptual_roughness: 0.45,
            reflectance: 0.35,
            ..default()
        });
        let wall_mat = mats.add(StandardMaterial {
            base_color: Color::srgb(0.78, 0.80, 0.82),
            perceptual_roughness: 0.9,
            ..default()
        });
        for h in &site.halls {
            let (w, d) = (h.size.0 as f32, h.size.1 as f32);
            let centre = plan_to_world(h.origin.0 + h.size.0 / 2.0, h.origin.1 + h.size.1 / 2.0, 0.0);
            let mut floor = Plane3d::default().mesh().size(w, d).build();
            let (rx, ry) = (w / h.tile_m as f32, d / h.tile_m as f32);
            if let Some(VertexAttributeValues::Float32x2(uvs)) = floor.attribute_mut(Mesh::ATTRIBUTE_UV_0) {
                for uv in uvs.iter_mut() {
                    uv[0] *= rx;
                    uv[1] *= ry;
                }
            }
            commands.spawn((
                SceneEntity,
                Mesh3d(meshes.add(floor)),
                MeshMaterial3d(floor_mat.clone()),
                Transform::from_translation(centre + Vec3::Y * 0.01),
            ));
            // Walls cut away to a third of the ceiling so the racks stay visible.
            let wh = (h.ceiling_height_m as f32 / 3.0).max(0.8);
            let t = 0.25;
            for (size, offset) in [
                (Vec3::new(w + t, wh, t), Vec3::new(0.0, wh / 2.0, -d / 2.0)),
                (Vec3::new(w + t, wh, t), Vec3::new(0.0, wh / 2.0, d / 2.0)),
                (Vec3::new(t, wh, d + t), Vec3::new(-w / 2.0, wh / 2.0, 0.0)),
                (Vec3::new(t, wh, d + t), Vec3::new(w / 2.0, wh / 2.0, 0.0)),
            ] {
                // One scaled unit cube and one material for every wall: a single batched draw.
                commands.spawn((
                    SceneEntity,
                    Mesh3d(wall_box.clone()),
                    MeshMaterial3d(wall_mat.clone()),
                    Transform::from_translation(centre + offset).with_scale(size),
                ));
            }
        }
        let span = (hi - lo).max(Vec3::splat(10.0));
        let (gw, gd) = (span.x * 4.0 + 200.0, span.z * 4.0 + 200.0);
        let mut ground = Plane3d::default().mesh().size(gw, gd).build();
        // Concrete slabs 6 m square around the halls.
        if let Some(VertexAttributeValues::Float32x2(uvs)) = ground.attribute_mut(Mesh::ATTRIBUTE_UV_0) {
            for uv in uvs.iter_mut() {
                uv[0] *= gw / 6.0;
                uv[1] *= gd / 6.0;
            }
        }
        let ground_mat = mats.add(StandardMaterial {
            base_color_texture: Some(images.add(slab_image())),
            perceptual_roughness: 0.95,
            ..default()
        });
        commands.insert_resource(super::quality::GroundMaterials(vec![floor_mat.clone(), ground_mat.clone()]));
        commands.spawn((
            SceneEntity,
            Mesh3d(meshes.add(ground)),
            MeshMaterial3d(ground_mat),
            Transform::from_translation(Vec3::new((lo.x + hi.x) / 2.0, 0.0, (lo.z + hi.z) / 2.0)),
        ));
        commands.spawn((
            SceneEntity,
            DirectionalLight { illuminance: 3500.0, shadow_maps_enabled: false, ..default() },
            Transform::from_xyz(0.3, 1.0, 0.6).looking_at(Vec3::ZERO, Vec3::Y),
        ));
        commands.insert_resource(GlobalAmbientLight { brightness: 250.0, ..default() });
    }
    let hall_y = site.halls.iter().map(|h| h.origin.1 + h.size.1 / 2.0).sum::<f64>() / site.halls.len().max(1) as f64;
    let outdoor: Vec<f64> = placed.dry_coolers.iter().chain(&placed.chillers).map(|(_, f)| f.centre().1).collect();
    let plant_south = !outdoor.is_empty() && outdoor.iter().sum::<f64>() / (outdoor.len() as f64) < hall_y;
    let mut hall_lo = Vec3::splat(f32::INFINITY);
    let mut hall_hi = Vec3::splat(f32::NEG_INFINITY);
    for h in &site.halls {
        let a = plan_to_world(h.origin.0, h.origin.1, 0.0);
        let b = plan_to_world(h.origin.0 + h.size.0, h.origin.1 + h.size.1, h.ceiling_height_m as f32);
        hall_lo = hall_lo.min(a.min(b));
        hall_hi = hall_hi.max(a.max(b));
    }
    if site.halls.is_empty() {
        (hall_lo, hall_hi) = (lo, hi);
    }
    lo = lo.min(hall_lo);
    hi = hi.max(hall_hi);
    let row_labels = placed.rows.iter().map(row_label).collect();
    let containment = std_materials.as_mut().map(|mats| {
        let mut panel = |c: Color| {
            mats.add(StandardMaterial {
                base_color: c,
                alpha_mode: AlphaMode::Blend,
                perceptual_roughness: 0.3,
                double_sided: true,
                cull_mode: None,
                ..default()
            })
        };
        let hot = panel(Color::srgba(0.95, 0.55, 0.35, 0.28));
        (hot, panel(Color::srgba(0.45, 0.7, 1.0, 0.28)))
    });
    let facility_entities = FacilityEntities { by_tag: entities, unit_box: unit_box.clone(), containment };
    for h in 0..site.halls.len() {
        let runs: Vec<RowRun> = placed.rows.iter().filter(|r| r.at.0 == h).cloned().collect();
        spawn_containment(&mut commands, &facility_entities, site, h, &runs);
    }
    commands.insert_resource(facility_entities);
    commands.insert_resource(FacilityTags {
        racks: placed.racks.len(),
        cdu_start,
        crah_start,
        dry_cooler_start,
        chiller_start,
        pipe_start,
        pipes,
        busway_start,
        busways,
        plant_south,
        aisle: aisle_of(&boxes[..placed.racks.len()]),
        count: tag,
        has_gpus,
        bounds: (lo, hi),
        hall_bounds: (hall_lo, hall_hi),
        row_labels,
        index: ids.iter().enumerate().map(|(i, id)| (id.clone(), i as u32)).collect(),
        rack_types: placed.racks.iter().map(|r| r.rack_type.clone()).collect(),
        looks,
        ids,
        boxes,
    });
}

/// Containment as it stands: over each aisle the hall contains (hot: between two rows' backs,
/// cold: between their fronts) a roof at the racks' top and doors at both ends, as world-space
/// boxes (centre, size) with whether the aisle is hot.
pub fn containment_panels(site: &crate::model::Site, rows: &[RowRun]) -> Vec<(Vec3, Vec3, bool)> {
    let mut out = Vec::new();
    for (a, ra) in rows.iter().enumerate() {
        let contained = site.halls[ra.at.0].containment;
        if contained == Containment::None {
            continue;
        }
        for rb in &rows[a + 1..] {
            let f = RowFrame::of(ra);
            if rb.at.0 != ra.at.0 || f.along_x != RowFrame::of(rb).along_x {
                continue;
            }
            // In the rows' frame: u along them, v across; `lo` is the row on the low-v side.
            let (lo, hi) = if f.uv(ra.extent.min).1 <= f.uv(rb.extent.min).1 { (ra, rb) } else { (rb, ra) };
            let (lo_min, lo_max) = (f.uv(lo.extent.min), f.uv(lo.extent.max));
            let (hi_min, hi_max) = (f.uv(hi.extent.min), f.uv(hi.extent.max));
            let gap = hi_min.1 - lo_max.1;
            let (u0, u1) = (lo_min.0.max(hi_min.0), lo_max.0.min(hi_max.0));
            if !(0.3..=3.0).contains(&gap) || u1 - u0 < 0.6 {
                continue;
            }
            // A third row in the gap means these two do not share an aisle.
            let between = rows.iter().any(|c| {
                let (c0, c1) = (f.uv(c.extent.min), f.uv(c.extent.max));
                c.at != lo.at
                    && c.at != hi.at
                    && c.at.0 == lo.at.0
                    && c0.1 >= lo_max.1 - 1e-6
                    && c1.1 <= hi_min.1 + 1e-6
                    && c1.0 > u0
                    && c0.0 < u1
            });
            if between {
                continue;
            }
            // Fronts toward +v are North for rows along x, East for rows along y.
            let up = |d: Facing| if f.along_x { d == Facing::North } else { d == Facing::East };
            let down = |d: Facing| if f.along_x { d == Facing::South } else { d == Facing::West };
            let hot = if down(lo.facing) && up(hi.facing) {
                true
            } else if up(lo.facing) && down(hi.facing) {
                false
            } else {
                continue;
            };
            if hot != (contained == Containment::HotAisle) {
                continue;
            }
            let top = lo.top.max(hi.top);
            let v = (lo_max.1 + hi_min.1) / 2.0;
            let span = |du: f64, dv: f64, dh: f32| (f.world(du, dv, dh) - f.world(0.0, 0.0, 0.0)).abs();
            out.push((f.world((u0 + u1) / 2.0, v, top + 0.03), span(u1 - u0, gap, 0.04), hot));
            for u in [u0, u1] {
                out.push((f.world(u, v, top / 2.0), span(0.04, gap, top), hot));
            }
        }
    }
    out
}

/// A containment panel of hall `hall` (its index): see-through, tinted by the aisle it closes.
#[derive(Component, Debug, Clone, Copy)]
pub struct ContainmentPanel {
    pub hall: usize,
}

/// Spawns hall `hall`'s containment panels from its rows' runs, with the shared cube and the
/// two tinted materials.
fn spawn_containment(
    commands: &mut Commands,
    entities: &FacilityEntities,
    site: &crate::model::Site,
    hall: usize,
    runs: &[RowRun],
) {
    let (Some(mesh), Some((hot_mat, cold_mat))) = (&entities.unit_box, &entities.containment) else { return };
    for (centre, size, hot) in containment_panels(site, runs) {
        commands.spawn((
            SceneEntity,
            ContainmentPanel { hall },
            Mesh3d(mesh.clone()),
            MeshMaterial3d(if hot { hot_mat.clone() } else { cold_mat.clone() }),
            Transform::from_translation(centre).with_scale(size),
        ));
    }
}

/// A row's label: just past the row's low end, on its centre line.
fn row_label(r: &RowRun) -> ((usize, usize), String, Vec3) {
    let f = RowFrame::of(r);
    let (a, b) = (f.uv(r.extent.min), f.uv(r.extent.max));
    (r.at, r.label.clone(), f.world(a.0 - 0.9, (a.1 + b.1) / 2.0, r.top))
}

/// A facility object's world-space box (min, max).
fn world_box(f: &Footprint, height: f32) -> (Vec3, Vec3) {
    let (cx, cy) = f.centre();
    let (w, d) = f.size();
    let pos = plan_to_world(cx, cy, height / 2.0);
    let half = Vec3::new(w as f32, height, d as f32) / 2.0;
    (pos - half, pos + half)
}

/// A unit cube scaled to the object, a hair narrower so neighbours show a seam.
fn object_transform(f: &Footprint, height: f32) -> Transform {
    let (cx, cy) = f.centre();
    let (w, d) = f.size();
    Transform::from_translation(plan_to_world(cx, cy, height / 2.0)).with_scale(Vec3::new(
        w as f32 * 0.98,
        height,
        d as f32 * 0.98,
    ))
}

/// The entity of each rack and unit, by tag, and the cube they share: a move updates a row's
/// racks in place and respawns its services.
#[derive(Resource, Debug, Default)]
pub struct FacilityEntities {
    pub by_tag: Vec<Entity>,
    pub unit_box: Option<Handle<Mesh>>,
    /// The see-through materials of hot- and cold-aisle containment (none in headless tests).
    pub containment: Option<(Handle<StandardMaterial>, Handle<StandardMaterial>)>,
}

/// A pipe or busway segment: the row it serves (hall index, row index) and its tag.
#[derive(Component, Debug, Clone, Copy)]
pub struct RowService {
    pub row: (usize, usize),
    pub tag: u32,
}

/// How overhead services are drawn: the shared cube and material (none in headless tests).
struct ServiceLook {
    mesh: Option<Handle<Mesh>>,
    material: Option<Handle<super::colours::FacilityMaterial>>,
}

impl ServiceLook {
    fn spawn(
        &self,
        commands: &mut Commands,
        pieces: Vec<(Segment, u32)>,
        service: RowService,
        pipe: bool,
        visible: bool,
    ) {
        for ((centre, size), bits) in pieces {
            let mut e = commands.spawn((
                SceneEntity,
                MeshTag(service.tag | bits),
                service,
                Transform::from_translation(centre).with_scale(size),
                if visible { Visibility::Inherited } else { Visibility::Hidden },
            ));
            if pipe {
                e.insert(PipeLayer);
            } else {
                e.insert(PowerLayer);
            }
            if let (Some(mesh), Some(material)) = (&self.mesh, &self.material) {
                e.insert((Mesh3d(mesh.clone()), MeshMaterial3d(material.clone()), NoFrustumCulling));
            }
        }
    }
}

/// After an edit that only moved rows: their racks, pipes, busways and labels move; nothing
/// else is rebuilt (on a 10,000-rack site a rebuild is ~14,000 entities).
#[allow(clippy::too_many_arguments)]
fn move_rows(
    mut commands: Commands,
    edited: Res<super::SiteEdited>,
    scene: Res<OpenScene>,
    mut tags: ResMut<FacilityTags>,
    entities: Res<FacilityEntities>,
    mut transforms: Query<&mut Transform, With<FacilityObject>>,
    services: Query<(Entity, &RowService, Has<PipeLayer>)>,
    panels: Query<(Entity, &ContainmentPanel)>,
    palette: Option<Res<FacilityPalette>>,
    layers: Option<Res<Layers>>,
) {
    let Some(moved) = &edited.moved else { return };
    let site = &scene.site;
    let catalogue = site.rack_catalogue();
    let cdu_names: Vec<String> = site.halls.iter().flat_map(|h| h.cdus.iter().map(move |c| cdu_id(h, c))).collect();
    let layers = layers.map(|l| *l).unwrap_or_default();
    let look = ServiceLook { mesh: entities.unit_box.clone(), material: palette.map(|p| p.material.clone()) };
    for &(h, r) in moved {
        let mut racks = Vec::new();
        let run = place_row(site, &catalogue, &cdu_names, (h, r), &mut racks);
        for r in &racks {
            let Some(tag) = tags.tag_of(&r.id) else { continue };
            if let Some(mut t) = entities.by_tag.get(tag as usize).and_then(|&e| transforms.get_mut(e).ok()) {
                *t = object_transform(&r.footprint, r.height);
            }
            tags.boxes[tag as usize] = world_box(&r.footprint, r.height);
            // A turned row's fronts look the other way.
            if let Some(l) = tags.looks.get_mut(tag as usize) {
                l[1] = super::tags::look::facing(r.facing);
            }
        }
        let Some(run) = run else { continue };
        if let Some(label) = tags.row_labels.iter_mut().find(|l| l.0 == (h, r)) {
            *label = row_label(&run);
        }
        // Pipes and busways are a few segments each: respawned with the same tags.
        let mut done: Vec<(u32, bool)> = Vec::new();
        for (e, service, pipe) in &services {
            if service.row != (h, r) {
                continue;
            }
            commands.entity(e).despawn();
            if done.iter().any(|d| d.0 == service.tag) {
                continue;
            }
            done.push((service.tag, pipe));
            let segs = if pipe {
                let i = (service.tag - tags.pipe_start) as usize;
                let (cdu, supply) = tags.pipes[i];
                let (ch, ck) = cdu_at(site, cdu);
                pipe_pieces(&run, &cdu_footprint(&site.halls[ch], ck), supply)
            } else {
                busway(&run).into_iter().map(|s| (s, 0)).collect()
            };
            look.spawn(&mut commands, segs, *service, pipe, if pipe { layers.pipes } else { layers.power });
        }
    }
    // Containment follows the rows: the moved rows' halls' few panels, rebuilt from their rows.
    let mut halls: Vec<usize> = moved.iter().map(|&(h, _)| h).collect();
    halls.sort_unstable();
    halls.dedup();
    for (e, panel) in &panels {
        if halls.contains(&panel.hall) {
            commands.entity(e).despawn();
        }
    }
    for &h in halls.iter().filter(|&&h| site.halls[h].containment != Containment::None) {
        let mut scratch = Vec::new();
        let runs: Vec<RowRun> = (0..site.halls[h].rows.len())
            .filter_map(|r| place_row(site, &catalogue, &cdu_names, (h, r), &mut scratch))
            .collect();
        spawn_containment(&mut commands, &entities, site, h, &runs);
    }
    let (lo, hi) =
        tags.boxes.iter().fold((Vec3::INFINITY, Vec3::NEG_INFINITY), |(lo, hi), b| (lo.min(b.0), hi.max(b.1)));
    tags.bounds = (tags.bounds.0.min(lo), tags.bounds.1.max(hi));
}

/// The hall and index within it of the site's `i`-th CDU.
fn cdu_at(site: &crate::model::Site, mut i: usize) -> (usize, usize) {
    for (h, hall) in site.halls.iter().enumerate() {
        if i < hall.cdus.len() {
            return (h, i);
        }
        i -= hall.cdus.len();
    }
    (0, 0)
}

/// The gap between the two rows nearest the middle of the racks, at eye level.
fn aisle_of(racks: &[(Vec3, Vec3)]) -> (Vec3, f32) {
    if racks.is_empty() {
        return (Vec3::new(0.0, 1.6, 0.0), 10.0);
    }
    let lo = racks.iter().fold(Vec3::splat(f32::INFINITY), |a, b| a.min(b.0));
    let hi = racks.iter().fold(Vec3::splat(f32::NEG_INFINITY), |a, b| a.max(b.1));
    let mid = (lo + hi) / 2.0;
    // Row fronts and backs across the rows (z), nearest the middle: the widest gap there.
    let mut edges: Vec<(f32, f32)> = racks.iter().map(|(a, b)| (a.z, b.z)).collect();
    edges.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(f32, f32)> = None;
    let mut reach = edges[0].1;
    for &(a, b) in &edges[1..] {
        if a > reach + 0.3 {
            let centre = (a + reach) / 2.0;
            if best.is_none_or(|(c, _)| (centre - mid.z).abs() < (c - mid.z).abs()) {
                best = Some((centre, a - reach));
            }
        }
        reach = reach.max(b);
    }
    let z = best.map_or(hi.z + 1.2, |(c, _)| c);
    (Vec3::new(mid.x, 1.6, z), hi.x - lo.x)
}

/// A raised-floor tile, repeated per 0.6 m: light grey with a bevelled edge (lit on two sides,
/// shaded on two) and a dark seam, a faint speckle so a wide floor is not flat.
fn tile_image() -> Image {
    const N: u32 = 64;
    repeating_image(N, |x, y| {
        let speckle = ((x.wrapping_mul(73) ^ y.wrapping_mul(151)).wrapping_mul(2654435761) >> 28) as u8;
        let v = if x == 0 || y == 0 {
            118
        } else if x == 1 || y == 1 {
            232
        } else if x == N - 1 || y == N - 1 {
            168
        } else {
            204 + speckle / 3
        };
        [v, v, v.saturating_add(5)]
    })
}

/// An outdoor concrete slab, repeated per 6 m: mid grey with a dark joint and a faint mottle.
fn slab_image() -> Image {
    repeating_image(64, |x, y| {
        let mottle = ((x.wrapping_mul(31) ^ y.wrapping_mul(97)).wrapping_mul(2246822519) >> 28) as u8;
        let v = if x == 0 || y == 0 { 70 } else { 112 + mottle / 2 };
        [v, v.saturating_add(2), v.saturating_add(4)]
    })
}

/// An `n`×`n` sRGB texture that repeats, each texel from `texel(x, y)`.
fn repeating_image(n: u32, texel: impl Fn(u32, u32) -> [u8; 3]) -> Image {
    let mut data = Vec::with_capacity((n * n * 4) as usize);
    for y in 0..n {
        for x in 0..n {
            let [r, g, b] = texel(x, y);
            data.extend_from_slice(&[r, g, b, 255]);
        }
    }
    let mut img = Image::new(
        Extent3d { width: n, height: n, depth_or_array_layers: 1 },
        TextureDimension::D2,
        data,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    img.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
        address_mode_u: ImageAddressMode::Repeat,
        address_mode_v: ImageAddressMode::Repeat,
        ..ImageSamplerDescriptor::linear()
    });
    img
}
