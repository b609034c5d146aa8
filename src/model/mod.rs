//! The facility model: what a designer lays out. Plain data + serde; never imports Bevy.
//!
//! Object ids are hierarchical and readable: `hall-1/row-B/rack-07`, `hall-1/cdu-1`. Plant and
//! power objects (`fw-1`, `dc-1`, `ups-A`) are site-wide and named as written. References between objects use these full ids.

pub mod catalogue;
pub mod geometry;
pub mod mlperf;

use serde::{Deserialize, Serialize};

pub use catalogue::{RackType, builtin_rack_types};

/// The scene format version this build writes. Older versions are migrated on load.
pub const SCENE_VERSION: u32 = 1;

/// A whole site: one or more halls, the outdoor plant and the power chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub location: String,
    pub ambient: Ambient,
    /// What the tokens/s are of: an MLPerf Inference benchmark (`mlperf::BENCHMARKS`:
    /// "llama3.1-405b", the default, "llama2-70b", "deepseek-r1"), or "own" for each rack
    /// type's own `tokens_per_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<String>,
    /// Rack types beyond the built-in catalogue (or overriding one with the same id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rack_types: Vec<RackType>,
    pub halls: Vec<Hall>,
    pub plant: Plant,
    pub power: Power,
}

/// Outdoor design conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ambient {
    pub dry_bulb_c: f64,
    pub wet_bulb_c: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Containment {
    #[default]
    None,
    HotAisle,
    ColdAisle,
}

impl Containment {
    /// Fraction of rack inlet air that is recirculated room air (T_in = T_sup·(1−r) + T_room·r,
    /// EnergyPlus ITE:AirCooled). *estimate*: typical CFD figures for open vs contained aisles.
    pub fn recirculation(self) -> f64 {
        match self {
            Containment::None => 0.25,
            Containment::HotAisle | Containment::ColdAisle => 0.05,
        }
    }
}

/// A data hall: a rectangle on the site with rows of racks and the units that cool them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hall {
    pub id: String,
    /// South-west corner on the site plan, metres.
    #[serde(default)]
    pub origin: (f64, f64),
    /// Width (x) and depth (y), metres.
    pub size: (f64, f64),
    pub ceiling_height_m: f64,
    #[serde(default = "default_tile")]
    pub tile_m: f64,
    #[serde(default)]
    pub containment: Containment,
    #[serde(default)]
    pub rows: Vec<Row>,
    #[serde(default)]
    pub cdus: Vec<Cdu>,
    #[serde(default)]
    pub crahs: Vec<Crah>,
}

fn default_tile() -> f64 {
    0.6
}

/// Which way rack fronts (air inlets) face. Racks in a row run along x when facing north or
/// south, along y when facing east or west.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Facing {
    #[default]
    North,
    South,
    East,
    West,
}

/// A row of racks. `rack_type`, `cdu` and `pdu` are defaults each rack may override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub id: String,
    /// Corner of the first rack, hall coordinates, metres.
    pub origin: (f64, f64),
    #[serde(default)]
    pub facing: Facing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdu: Option<String>,
    pub racks: Vec<Rack>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rack {
    pub id: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub rack_type: Option<String>,
    /// Offset along the row, metres; by default racks stand side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdu: Option<String>,
    /// Utilization 0..1 the rack runs at unless a scenario says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CduKind {
    #[default]
    InRow,
    Facility,
}

/// Coolant distribution unit: liquid-to-liquid heat exchanger between a technology cooling
/// loop (CDU → racks) and a facility water loop, with N+1 pumps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cdu {
    pub id: String,
    #[serde(default)]
    pub kind: CduKind,
    pub capacity_kw: f64,
    /// Facility-water-supply to TCS-supply approach at rated load, K.
    pub approach_k: f64,
    /// TCS supply temperature setpoint, °C.
    pub supply_setpoint_c: f64,
    /// TCS flow at rated speed with the duty pumps running, L/min.
    pub rated_flow_lpm: f64,
    /// Pumps installed, and how many carry the rated flow (N of N+1).
    pub pumps: u32,
    pub pumps_duty: u32,
    /// Electrical power of one pump at rated flow, kW.
    pub pump_kw: f64,
    /// Coolant in the TCS loop (pipes, CDU, manifolds), litres.
    pub tcs_volume_l: f64,
    pub facility_loop: String,
    /// Id of the UPS or utility feed that powers the pumps.
    pub supply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(f64, f64)>,
}

/// Computer-room air handler: removes the air-side heat of a hall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crah {
    pub id: String,
    pub capacity_kw: f64,
    pub airflow_m3_s: f64,
    pub fan_kw: f64,
    pub supply_air_c: f64,
    /// Chilled water loop for the coil; `None` means a self-contained (DX) unit rejecting to ambient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_loop: Option<String>,
    pub supply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(f64, f64)>,
}

/// Everything outdoors: facility water loops and what rejects their heat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Plant {
    #[serde(default)]
    pub loops: Vec<CoolantLoop>,
    #[serde(default)]
    pub dry_coolers: Vec<DryCooler>,
    #[serde(default)]
    pub chillers: Vec<Chiller>,
    /// Chiller curve sets this scene defines, for its chillers' `curves` to name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chiller_curves: Vec<ChillerCurves>,
}

/// Chiller curve sets every scene can name (their coefficients: `sim::chiller`).
/// The first is water-cooled chillers' default, the second air-cooled ones'.
pub const BUILT_IN_CHILLER_CURVES: &[&str] = &["york-yt-1055kw", "york-ycal0019ee-54kw"];

/// A chiller's published part-load performance as EnergyPlus `Chiller:Electric:EIR` curves:
/// normalised to the chiller's own rated capacity and COP (physics.md §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChillerCurves {
    pub id: String,
    /// Where the coefficients come from (a catalogue, a record, a test report).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// CAPFT: six coefficients of a + b·x + c·x² + d·y + e·y² + f·x·y, x the leaving chilled
    /// water and y the entering condenser temperature, °C.
    pub cap_ft: Vec<f64>,
    /// EIRFT: six coefficients, same form.
    pub eir_ft: Vec<f64>,
    /// EIRFPLR: three coefficients of a + b·PLR + c·PLR².
    pub eir_fplr: Vec<f64>,
    /// The range the curves were fitted over, °C (inputs are held to it).
    pub chilled_water_c: (f64, f64),
    pub condenser_c: (f64, f64),
    #[serde(default = "default_plr_min")]
    pub plr_min: f64,
    #[serde(default = "default_plr_min")]
    pub plr_min_unloading: f64,
    #[serde(default = "default_plr_max")]
    pub plr_max: f64,
}

fn default_plr_min() -> f64 {
    0.1
}
fn default_plr_max() -> f64 {
    1.0
}

/// Facility water loop: CDUs and CRAH coils → heat rejection → back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoolantLoop {
    pub id: String,
    /// Supply temperature setpoint, °C (ASHRAE W-class: W32 means ≤ 32 °C).
    pub supply_setpoint_c: f64,
    pub rated_flow_kg_s: f64,
    pub pumps: u32,
    pub pumps_duty: u32,
    pub pump_kw: f64,
    pub volume_m3: f64,
    /// Ids of the dry coolers and chillers on this loop, in flow order.
    pub heat_rejection: Vec<String>,
    pub supply: String,
}

/// Dry cooler (fluid-to-air), rated at a design point like the BAC Trillium TDFS1238N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryCooler {
    pub id: String,
    pub capacity_kw: f64,
    /// Design entering-air temperature and entering fluid temperature, °C.
    pub design_air_c: f64,
    pub design_fluid_in_c: f64,
    pub fans: u32,
    /// Fan power at full speed, all fans, kW.
    pub fan_kw: f64,
    pub supply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Condenser {
    #[default]
    AirCooled,
    /// Condenser water from a cooling tower: evaporates water (counted in WUE).
    CoolingTower,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chiller {
    pub id: String,
    pub capacity_kw: f64,
    /// COP at its curve set's reference point (York YT: 5.96 at 6.67 °C chilled water and
    /// 29.44 °C condenser water; York YCAL, air-cooled: 2.9 at 6.67 °C and 35 °C air).
    pub cop: f64,
    #[serde(default)]
    pub condenser: Condenser,
    /// Waterside economiser: the loop's dry coolers take what they can first and this chiller
    /// trims the rest (idle when they reach the setpoint alone). A loop runs so when all its
    /// chillers say so.
    #[serde(default)]
    pub economiser: bool,
    /// Seconds from a trip until it cools again (4–8 min typical, physics.md §3).
    #[serde(default = "default_restart")]
    pub restart_s: f64,
    /// Its curve set: one of the scene's `chiller_curves` or a built-in one; none means York
    /// YT 1055 kW (water-cooled) or York YCAL0019EE (air-cooled), `sim::chiller`. `cop` is its
    /// COP at the curve set's reference point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curves: Option<String>,
    pub supply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(f64, f64)>,
}

fn default_restart() -> f64 {
    300.0
}

/// Power chain: utility feeds → UPS → PDUs → racks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Power {
    pub feeds: Vec<UtilityFeed>,
    #[serde(default)]
    pub ups: Vec<Ups>,
    #[serde(default)]
    pub pdus: Vec<Pdu>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UtilityFeed {
    pub id: String,
    pub capacity_kw: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ups {
    pub id: String,
    pub feed: String,
    pub capacity_kw: f64,
    /// 0.94–0.96 double conversion, 0.98–0.99 eco mode (physics.md §1).
    pub efficiency: f64,
    pub battery_minutes: f64,
}

/// PDU or busway feeding racks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pdu {
    pub id: String,
    pub ups: String,
    pub capacity_kw: f64,
    #[serde(default = "default_pdu_eff")]
    pub efficiency: f64,
}

fn default_pdu_eff() -> f64 {
    0.99
}

impl Site {
    /// Full ids of every rack with its resolved fields, in file order.
    pub fn racks(&self) -> impl Iterator<Item = PlacedRack<'_>> + '_ {
        self.halls.iter().enumerate().flat_map(move |(hi, hall)| {
            hall.rows.iter().enumerate().flat_map(move |(ri, row)| {
                row.racks.iter().enumerate().map(move |(ki, rack)| PlacedRack {
                    hall_index: hi,
                    row_index: ri,
                    rack_index: ki,
                    hall,
                    row,
                    rack,
                })
            })
        })
    }

    pub fn rack_count(&self) -> usize {
        self.halls.iter().flat_map(|h| &h.rows).map(|r| r.racks.len()).sum()
    }

    /// Built-in catalogue plus the scene's own types (which win on equal ids).
    pub fn rack_catalogue(&self) -> Vec<RackType> {
        let mut all = builtin_rack_types();
        for t in &self.rack_types {
            match all.iter_mut().find(|b| b.id == t.id) {
                Some(b) => *b = t.clone(),
                None => all.push(t.clone()),
            }
        }
        all
    }
}

/// A rack together with its hall and row, and the defaults it inherits from the row.
#[derive(Debug, Clone, Copy)]
pub struct PlacedRack<'a> {
    pub hall_index: usize,
    pub row_index: usize,
    pub rack_index: usize,
    pub hall: &'a Hall,
    pub row: &'a Row,
    pub rack: &'a Rack,
}

impl<'a> PlacedRack<'a> {
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.hall.id, self.row.id, self.rack.id)
    }
    pub fn rack_type(&self) -> Option<&'a str> {
        self.rack.rack_type.as_deref().or(self.row.rack_type.as_deref())
    }
    pub fn cdu(&self) -> Option<&'a str> {
        self.rack.cdu.as_deref().or(self.row.cdu.as_deref())
    }
    pub fn pdu(&self) -> Option<&'a str> {
        self.rack.pdu.as_deref().or(self.row.pdu.as_deref())
    }
}

pub fn cdu_id(hall: &Hall, cdu: &Cdu) -> String {
    format!("{}/{}", hall.id, cdu.id)
}

pub fn crah_id(hall: &Hall, crah: &Crah) -> String {
    format!("{}/{}", hall.id, crah.id)
}
