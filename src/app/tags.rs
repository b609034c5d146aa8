//! The tag layout: which `MeshTag` (index into the colour buffer) is which object, where each
//! kind of object starts, and what picking, the camera and the panels need per object. Built by
//! `facility_view` from the scene; read by colours, picking, the inspector and the outliner.

use bevy::prelude::*;

/// Where each kind of object starts in the colour buffer, and what the view needs per rack.
#[derive(Resource, Debug, Default, Clone)]
pub struct FacilityTags {
    pub racks: usize,
    pub cdu_start: u32,
    pub crah_start: u32,
    pub dry_cooler_start: u32,
    pub chiller_start: u32,
    /// Tags from here on are overhead services (not pickable): pipes, then busways.
    pub pipe_start: u32,
    /// Per pipe: its CDU (index in the snapshot) and whether it is the supply.
    pub pipes: Vec<(usize, bool)>,
    pub busway_start: u32,
    /// Per busway: its PDU (index in the snapshot).
    pub busways: Vec<Option<usize>>,
    pub count: u32,
    pub has_gpus: Vec<bool>,
    /// World-space bounds of the whole site (min, max), for the camera.
    pub bounds: (Vec3, Vec3),
    /// World-space bounds of the halls alone: what the floor plan frames.
    pub hall_bounds: (Vec3, Vec3),
    /// Row labels for the floor plan: the row (hall index, row index), its text and the point
    /// beside the row's west (or south) end.
    pub row_labels: Vec<((usize, usize), String, Vec3)>,
    /// The outdoor plant stands mostly south of the halls (the camera then looks from the north).
    pub plant_south: bool,
    /// A cold aisle near the middle of the racks (eye-level focus) and the rows' length.
    pub aisle: (Vec3, f32),
    /// Per tag: the object's id and its world-space box (min, max), for picking and focus.
    pub ids: Vec<String>,
    pub boxes: Vec<(Vec3, Vec3)>,
    /// id → tag, for alarms and the outliner.
    pub index: std::collections::HashMap<String, u32>,
    /// Per rack: its type id.
    pub rack_types: Vec<String>,
    /// Per tag: how the shader draws it, `[look, facing]` (`look::*`, `look::facing`).
    pub looks: Vec<[f32; 2]>,
}

/// How the facility shader draws an object (the detail buffer's first value), and the bits a
/// pipe segment's `MeshTag` carries above its colour index.
pub mod look {
    pub const PLAIN: f32 = 0.0;
    pub const LIQUID_GPU_RACK: f32 = 1.0;
    pub const AIR_GPU_RACK: f32 = 2.0;
    pub const STORAGE_RACK: f32 = 3.0;
    pub const NETWORK_RACK: f32 = 4.0;
    pub const CDU: f32 = 5.0;
    pub const CRAH: f32 = 6.0;
    pub const DRY_COOLER: f32 = 7.0;
    pub const CHILLER: f32 = 8.0;
    pub const PIPE: f32 = 9.0;
    pub const BUSWAY: f32 = 10.0;
    /// Tag bit: the water in this segment flows toward its axis's negative end.
    pub const FLOW_REVERSED: u32 = 1 << 31;
    /// Tag bit: a fitting (elbow, tee) where segments meet, not a run of pipe.
    pub const FITTING: u32 = 1 << 30;
    /// The colour index below the bits.
    pub const INDEX: u32 = (1 << 30) - 1;

    /// Where a rack's front looks, as the shader numbers it.
    pub fn facing(f: crate::model::Facing) -> f32 {
        match f {
            crate::model::Facing::North => 0.0,
            crate::model::Facing::South => 1.0,
            crate::model::Facing::East => 2.0,
            crate::model::Facing::West => 3.0,
        }
    }

    /// A rack type's look: GPU racks by cooling, storage and network by name.
    pub fn of_rack(t: &crate::model::RackType) -> f32 {
        if t.gpus > 0 {
            if t.liquid_fraction > 0.0 { LIQUID_GPU_RACK } else { AIR_GPU_RACK }
        } else if t.id.contains("network") || t.id.contains("switch") {
            NETWORK_RACK
        } else {
            STORAGE_RACK
        }
    }
}

/// What kind of object a tag is, with its index among its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Rack(usize),
    Cdu(usize),
    Crah(usize),
    DryCooler(usize),
    Chiller(usize),
}

impl FacilityTags {
    pub fn kind(&self, tag: u32) -> Option<ObjectKind> {
        let t = tag as usize;
        let (c, r) = (self.cdu_start as usize, self.crah_start as usize);
        let (d, h) = (self.dry_cooler_start as usize, self.chiller_start as usize);
        Some(match t {
            _ if t < self.racks => ObjectKind::Rack(t),
            _ if t < r => ObjectKind::Cdu(t - c),
            _ if t < d => ObjectKind::Crah(t - r),
            _ if t < h => ObjectKind::DryCooler(t - d),
            _ if t < self.pipe_start as usize => ObjectKind::Chiller(t - h),
            _ => return None,
        })
    }

    /// Whether `s` has the objects these tags number (a snapshot from before an edit may not).
    pub fn fits(&self, s: &crate::sim::Snapshot) -> bool {
        let count = |a: u32, b: u32| (b - a) as usize;
        s.racks.gpu_c.len() == self.racks
            && s.cdus.len() == count(self.cdu_start, self.crah_start)
            && s.crahs.len() == count(self.crah_start, self.dry_cooler_start)
            && s.dry_coolers.len() == count(self.dry_cooler_start, self.chiller_start)
            && s.chillers.len() == count(self.chiller_start, self.pipe_start)
    }

    pub fn tag_of(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }
}
