//! What the simulation shows the world at one instant: per-object state, KPIs and alarms. The
//! viewer, the recorder and the headless report all read this one type.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Per-rack state as parallel arrays (index = rack index in the network: `Network::ids.racks`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RackStates {
    pub gpu_c: Vec<f32>,
    pub inlet_c: Vec<f32>,
    pub coolant_c: Vec<f32>,
    pub power_kw: Vec<f32>,
    pub utilization: Vec<f32>,
    /// Delivered work as a fraction of what was asked (throttling and shutdown), 0..1.
    pub output: Vec<f32>,
    /// Bit flags: see `RackStatus`.
    pub status: Vec<u8>,
}

/// Bits of `RackStates::status`.
pub struct RackStatus;
impl RackStatus {
    pub const THROTTLED: u8 = 1;
    pub const SHUTDOWN: u8 = 2;
    pub const NO_POWER: u8 = 4;
    pub const INLET_WARN: u8 = 8;
    pub const INLET_CRIT: u8 = 16;
    /// No liquid loop: `coolant_c` holds the inlet air temperature.
    pub const AIR_COOLED: u8 = 32;
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CduState {
    pub supply_c: f32,
    pub return_c: f32,
    pub flow_fraction: f32,
    pub heat_kw: f32,
    pub pumps_running: u8,
    pub pump_kw: f32,
    /// (capacity − heat) / capacity.
    pub headroom: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HallState {
    pub room_c: f32,
    pub supply_air_c: f32,
    pub air_heat_kw: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    pub supply_c: f32,
    pub return_c: f32,
    pub flow_fraction: f32,
    pub heat_kw: f32,
    pub pump_kw: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EquipmentState {
    /// Heat it moves, kW (taken from water or air).
    pub heat_kw: f32,
    /// Electrical power it draws, kW.
    pub power_kw: f32,
    pub running: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerState {
    pub load_kw: f32,
    pub headroom: f32,
    pub up: bool,
    /// UPS only: battery state of charge 0..1, and whether it is carrying the load.
    pub battery: f32,
    pub on_battery: bool,
}

/// The headline numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub it_power_kw: f64,
    pub facility_power_kw: f64,
    pub pue: f64,
    /// L of water evaporated per kWh of IT energy so far (0 without cooling towers).
    pub wue_l_per_kwh: f64,
    pub heat_rejected_kw: f64,
    pub cooling_power_kw: f64,
    pub electrical_loss_kw: f64,
    pub energy_balance_error: f64,
    pub max_gpu_temp_c: f64,
    pub mean_gpu_temp_c: f64,
    pub max_inlet_air_c: f64,
    pub max_coolant_c: f64,
    pub output_fraction: f64,
    pub tokens_per_s: f64,
    pub possible_tokens_per_s: f64,
    pub racks_throttled: u32,
    pub racks_shutdown: u32,
    pub ambient_c: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlarmSeverity {
    Warning,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlarmKind {
    GpuSlowdown,
    GpuShutdown,
    InletRecommended,
    InletAllowable,
    RackNoPower,
    CduOverCapacity,
    CduNoFlow,
    LoopSupplyHigh,
    OverCapacity,
    OnBattery,
    BatteryDepleted,
    EquipmentDown,
    RoomHot,
}

/// One alarm raised (or cleared) at a moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub time_s: f64,
    pub severity: AlarmSeverity,
    pub kind: AlarmKind,
    pub object: String,
    pub message: String,
    /// false when this entry records the alarm clearing.
    pub raised: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub time_s: f64,
    pub step: u64,
    pub kpis: Kpis,
    pub racks: RackStates,
    pub cdus: Vec<CduState>,
    pub halls: Vec<HallState>,
    pub loops: Vec<LoopState>,
    pub crahs: Vec<EquipmentState>,
    pub dry_coolers: Vec<EquipmentState>,
    pub chillers: Vec<EquipmentState>,
    pub feeds: Vec<PowerState>,
    pub ups: Vec<PowerState>,
    pub pdus: Vec<PowerState>,
    /// Alarms active now.
    pub active_alarms: Arc<Vec<Alarm>>,
}
