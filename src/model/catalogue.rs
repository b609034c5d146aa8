//! Rack types: the built-in catalogue, with where each figure comes from.

use serde::{Deserialize, Serialize};

/// How a rack turns power into heat and work. Scenes may add or override types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RackType {
    pub id: String,
    pub name: String,
    pub idle_kw: f64,
    pub max_kw: f64,
    /// Fraction of rack heat carried away by liquid (rest goes to room air).
    pub liquid_fraction: f64,
    pub gpus: u32,
    /// Coolant flow the rack needs at max power, L/min (0 for air-cooled racks).
    pub coolant_flow_lpm: f64,
    /// Work at full utilization, tokens/s (0 for racks without GPUs).
    pub tokens_per_s: f64,
    /// Footprint along the row, depth across it, and height, metres.
    pub width_m: f64,
    pub depth_m: f64,
    pub height_m: f64,
    #[serde(default)]
    pub kind: RackKind,
    /// Share of rack power drawn by the GPUs (the rest: CPUs, NICs, switches, fans, shelves).
    #[serde(default = "default_gpu_share")]
    pub gpu_share: f64,
    /// The GPU whose published MLPerf throughput gives the rack's tokens/s (`model::mlperf`):
    /// "GB300", "GB200", "B200", "H200-SXM" or "H100-SXM". Without it, `tokens_per_s` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    /// Air-cooled servers (EnergyPlus `ElectricEquipment:ITE:AirCooled`): the server fans' share
    /// of max power at design air flow ("design fan power input fraction").
    #[serde(default = "default_fan_power_fraction")]
    pub fan_power_fraction: f64,
    /// Design air flow per kW of max power, m³/s ("design fan air flow rate per power input").
    #[serde(default = "default_airflow")]
    pub airflow_m3_s_per_kw: f64,
    /// Supply air warms by this much before it reaches the rack's inlet, K (EnergyPlus ITE
    /// "supply temperature difference": leaks, bypass, the floor's plenum); 0 by default.
    #[serde(default)]
    pub supply_approach_k: f64,
}

/// *estimate*: server fans draw ~10 % of a GPU server's max power at full speed.
pub fn default_fan_power_fraction() -> f64 {
    0.10
}

/// Air flow for a 15 K rise through the servers at max power (ASHRAE TC 9.9 cites 10–20 K for
/// current servers): 1 / (ρ·c_p·ΔT) = 1 / (1.18 · 1006 · 15) m³/s per kW (*estimate*).
pub fn default_airflow() -> f64 {
    1.0 / (1.18 * 1006.0 * 15.0) * 1000.0
}

/// *estimate*: 72 GPUs × ~1.4 kW of a ~135 kW GB300 NVL72.
fn default_gpu_share() -> f64 {
    0.75
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RackKind {
    #[default]
    Gpu,
    Storage,
    Network,
}

impl RackType {
    pub fn is_liquid(&self) -> bool {
        self.liquid_fraction > 0.0
    }
    pub fn gpu_power_share(&self) -> f64 {
        if self.gpus == 0 { 0.0 } else { self.gpu_share.clamp(0.0, 1.0) }
    }
}

/// OCP guidance: ~1.5 L/min per kW for a 10 °C rise (physics.md §1, TCS).
pub const FLOW_LPM_PER_KW: f64 = 1.5;

pub fn builtin_rack_types() -> Vec<RackType> {
    vec![
        // GB300 NVL72: 132–140 kW typical, ~142 kW peak; ~94 % to liquid (Supermicro via
        // serversimply; derived from a 6.6 kW tray sending ~6.2 kW to liquid). Idle is an estimate.
        // Tokens/s: *estimate*, ~1.4× the GB200 figure below; override per scene for your model.
        RackType {
            id: "gb300-nvl72".into(),
            name: "NVIDIA GB300 NVL72".into(),
            idle_kw: 35.0,
            max_kw: 140.0,
            liquid_fraction: 0.94,
            gpus: 72,
            coolant_flow_lpm: 140.0 * 0.94 * FLOW_LPM_PER_KW,
            tokens_per_s: 1_200_000.0,
            width_m: 0.6,
            depth_m: 1.2,
            height_m: 2.24,
            kind: RackKind::Gpu,
            gpu_share: 0.75,
            gpu_model: Some("GB300".into()),
            fan_power_fraction: default_fan_power_fraction(),
            airflow_m3_s_per_kw: default_airflow(),
            supply_approach_k: 0.0,
        },
        // GB200 NVL72: ~120 kW steady (vendor deployment blogs: introl, leviathansystems).
        // Tokens/s: *estimate* of the order of published MLPerf Inference Llama-2-70B offline
        // results for one NVL72 rack.
        RackType {
            id: "gb200-nvl72".into(),
            name: "NVIDIA GB200 NVL72".into(),
            idle_kw: 30.0,
            max_kw: 120.0,
            liquid_fraction: 0.92,
            gpus: 72,
            coolant_flow_lpm: 120.0 * 0.92 * FLOW_LPM_PER_KW,
            tokens_per_s: 850_000.0,
            width_m: 0.6,
            depth_m: 1.2,
            height_m: 2.24,
            kind: RackKind::Gpu,
            gpu_share: 0.75,
            gpu_model: Some("GB200".into()),
            fan_power_fraction: default_fan_power_fraction(),
            airflow_m3_s_per_kw: default_airflow(),
            supply_approach_k: 0.0,
        },
        // Air-cooled 8-GPU HGX H100 servers, four per rack: 40–60 kW *estimate* (physics.md), all
        // heat to air. Tokens/s *estimate*: ~25k per 8-GPU server on a 70B model.
        RackType {
            id: "hgx-h100-air".into(),
            name: "HGX H100 8-GPU air-cooled (4 servers)".into(),
            idle_kw: 12.0,
            max_kw: 44.0,
            liquid_fraction: 0.0,
            gpus: 32,
            coolant_flow_lpm: 0.0,
            tokens_per_s: 100_000.0,
            width_m: 0.6,
            depth_m: 1.2,
            height_m: 2.0,
            kind: RackKind::Gpu,
            // 32 × 700 W H100 SXM of 44 kW.
            gpu_share: 0.51,
            gpu_model: Some("H100-SXM".into()),
            fan_power_fraction: default_fan_power_fraction(),
            airflow_m3_s_per_kw: default_airflow(),
            supply_approach_k: 0.0,
        },
        // Storage and network racks: *estimates* for a dense all-flash rack and a spine rack.
        RackType {
            id: "storage".into(),
            name: "All-flash storage".into(),
            idle_kw: 8.0,
            max_kw: 15.0,
            liquid_fraction: 0.0,
            gpus: 0,
            coolant_flow_lpm: 0.0,
            tokens_per_s: 0.0,
            width_m: 0.6,
            depth_m: 1.2,
            height_m: 2.0,
            kind: RackKind::Storage,
            gpu_share: 0.0,
            gpu_model: None,
            fan_power_fraction: default_fan_power_fraction(),
            airflow_m3_s_per_kw: default_airflow(),
            supply_approach_k: 0.0,
        },
        RackType {
            id: "network".into(),
            name: "Network spine".into(),
            idle_kw: 6.0,
            max_kw: 10.0,
            liquid_fraction: 0.0,
            gpus: 0,
            coolant_flow_lpm: 0.0,
            tokens_per_s: 0.0,
            width_m: 0.6,
            depth_m: 1.2,
            height_m: 2.0,
            kind: RackKind::Network,
            gpu_share: 0.0,
            gpu_model: None,
            fan_power_fraction: default_fan_power_fraction(),
            airflow_m3_s_per_kw: default_airflow(),
            supply_approach_k: 0.0,
        },
    ]
}
