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

impl RackStates {
    /// Names of the rack value columns, in the order recordings store them (each column whole,
    /// rack after rack), then `status`.
    pub const VALUES: [&'static str; 6] = ["gpu_c", "inlet_c", "coolant_c", "power_kw", "utilization", "output"];

    /// The value columns in `VALUES` order.
    pub fn values(&self) -> [&Vec<f32>; 6] {
        [&self.gpu_c, &self.inlet_c, &self.coolant_c, &self.power_kw, &self.utilization, &self.output]
    }
    pub fn values_mut(&mut self) -> [&mut Vec<f32>; 6] {
        [
            &mut self.gpu_c,
            &mut self.inlet_c,
            &mut self.coolant_c,
            &mut self.power_kw,
            &mut self.utilization,
            &mut self.output,
        ]
    }
}

/// Bits of `RackStates::status`.
pub struct RackStatus;
impl RackStatus {
    pub const THROTTLED: u8 = 1;
    pub const SHUTDOWN: u8 = 2;
    pub const NO_POWER: u8 = 4;
    pub const INLET_WARN: u8 = 8;
    pub const INLET_CRIT: u8 = 16;
    /// No liquid loop: `coolant_c` holds the exhaust air temperature (EnergyPlus ITE:AirCooled).
    pub const AIR_COOLED: u8 = 32;
}

/// One object's state as recorded: its values (f32) and then its flags (a byte each), in the
/// order `object_state!` lists them. The snapshot, the recording (flatten, unflatten, the
/// recorder's copy, `Shape`) and the CSV export all read that one list, so a new field is one
/// edit here (and the engine computing it).
pub trait ObjectState: Sized {
    /// Names of the values, in column order (also the CSV export's metric names).
    const VALUES: &'static [&'static str];
    /// Names of the flags, in column order.
    const FLAGS: &'static [&'static str];
    /// Appends the values' f32 bits and the flags.
    fn put(&self, values: &mut Vec<u32>, flags: &mut Vec<u8>);
    /// Reads one object back from exactly `VALUES.len()` values and `FLAGS.len()` flags.
    fn take(values: &[f32], flags: &[u8]) -> Self;
    /// Every value and flag by name, as f64 (flags as 0/1 or their number).
    fn each(&self, out: &mut dyn FnMut(&'static str, f64));
}

/// A flag column: a byte in the recording.
pub trait Flag: Copy {
    fn byte(self) -> u8;
    fn from_byte(b: u8) -> Self;
}
impl Flag for u8 {
    fn byte(self) -> u8 {
        self
    }
    fn from_byte(b: u8) -> u8 {
        b
    }
}
impl Flag for bool {
    fn byte(self) -> u8 {
        u8::from(self)
    }
    fn from_byte(b: u8) -> bool {
        b != 0
    }
}

/// Declares a per-object state struct from its values (f32) and its flags, and derives its
/// `ObjectState` column layout from the same list.
macro_rules! object_state {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            values { $( $(#[$vmeta:meta])* $value:ident, )* }
            flags { $( $(#[$fmeta:meta])* $flag:ident: $fty:ty, )* }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            $( $(#[$vmeta])* pub $value: f32, )*
            $( $(#[$fmeta])* pub $flag: $fty, )*
        }

        impl ObjectState for $name {
            const VALUES: &'static [&'static str] = &[$(stringify!($value)),*];
            const FLAGS: &'static [&'static str] = &[$(stringify!($flag)),*];
            #[inline]
            #[allow(unused_variables)]
            fn put(&self, values: &mut Vec<u32>, flags: &mut Vec<u8>) {
                // One copy of each group: a push per value checks the capacity each time
                // (the recorder's writer runs this for every object of every sample).
                values.extend_from_slice(&[$(self.$value.to_bits()),*]);
                flags.extend_from_slice(&[$(Flag::byte(self.$flag)),*]);
            }
            #[allow(unused_variables, unused_mut)]
            fn take(values: &[f32], flags: &[u8]) -> Self {
                let (mut v, mut f) = (values.iter().copied(), flags.iter().copied());
                $name {
                    $( $value: v.next().unwrap_or_default(), )*
                    $( $flag: Flag::from_byte(f.next().unwrap_or_default()), )*
                }
            }
            fn each(&self, out: &mut dyn FnMut(&'static str, f64)) {
                $( out(stringify!($value), self.$value as f64); )*
                $( out(stringify!($flag), f64::from(Flag::byte(self.$flag))); )*
            }
        }
    };
}

object_state! {
    pub struct CduState {
        values {
            supply_c,
            return_c,
            flow_fraction,
            heat_kw,
            pump_kw,
            /// (capacity − heat) / capacity.
            headroom,
        }
        flags {
            pumps_running: u8,
        }
    }
}

object_state! {
    pub struct HallState {
        values {
            room_c,
            supply_air_c,
            air_heat_kw,
        }
        flags {}
    }
}

object_state! {
    pub struct LoopState {
        values {
            supply_c,
            return_c,
            flow_fraction,
            heat_kw,
            pump_kw,
        }
        flags {}
    }
}

object_state! {
    /// A CRAH: its coil takes heat from the room air into a facility loop, or (DX) a
    /// compressor rejects it outdoors.
    pub struct CrahState {
        values {
            /// Heat its coil takes from the air, kW.
            heat_kw,
            /// Electrical power it draws (fans and compressor), kW.
            power_kw,
            fan_kw,
            /// DX units only.
            compressor_kw,
        }
        flags {
            running: bool,
        }
    }
}

object_state! {
    /// A dry cooler (its fans slowed to hold the loop's setpoint).
    pub struct DryCoolerState {
        values {
            /// Heat it rejects from the water, kW.
            heat_kw,
            /// Fan power, kW.
            power_kw,
            /// Fan speed 0..1 (power ∝ speed³).
            fan_speed,
        }
        flags {
            running: bool,
        }
    }
}

object_state! {
    /// A chiller on its EIR curves (`sim::chiller`).
    pub struct ChillerState {
        values {
            /// Heat it takes from the loop's water (its load), kW.
            heat_kw,
            /// Compressor power, kW.
            power_kw,
            /// What it could take at the present chilled and condenser water temperatures, kW.
            available_kw,
            /// Load over power (0 when it takes nothing).
            cop,
            /// Part load ratio: load over available capacity.
            plr,
            /// Condenser temperature the curves were read at, °C.
            condenser_c,
        }
        flags {
            running: bool,
        }
    }
}

object_state! {
    /// A utility feed, UPS or PDU.
    pub struct PowerState {
        values {
            load_kw,
            headroom,
            /// UPS only: battery state of charge 0..1.
            battery,
        }
        flags {
            up: bool,
            /// UPS only: carrying the load from its battery.
            on_battery: bool,
        }
    }
}

/// Every kind of object with per-object state besides racks, in the order snapshots are
/// flattened and recordings store them: `field: State, "one", "many", "csv kind"`. Code that
/// walks every kind (`Shape`, flatten/unflatten, the recorder's copy, the CSV export) expands
/// this list instead of naming the kinds again.
macro_rules! object_kinds {
    ($then:ident) => {
        $then! {
            cdus: CduState, "CDU", "CDUs", "cdu";
            halls: HallState, "hall", "halls", "hall";
            loops: LoopState, "facility loop", "facility loops", "loop";
            crahs: CrahState, "CRAH", "CRAHs", "crah";
            dry_coolers: DryCoolerState, "dry cooler", "dry coolers", "dry_cooler";
            chillers: ChillerState, "chiller", "chillers", "chiller";
            feeds: PowerState, "utility feed", "utility feeds", "feed";
            ups: PowerState, "UPS", "UPS", "ups";
            pdus: PowerState, "PDU", "PDUs", "pdu";
        }
    };
}
pub(crate) use object_kinds;

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
    /// Air-cooled servers' own fans (EnergyPlus ITE:AirCooled), part of IT power, kW.
    pub server_fan_kw: f64,
}

impl Kpis {
    /// How many f64s a recording stores for the KPIs (one spare, written as 0).
    pub const COUNT: usize = 20;

    /// The KPIs in the order recordings store them.
    pub fn to_array(&self) -> [f64; Kpis::COUNT] {
        let k = self;
        [
            k.it_power_kw,
            k.facility_power_kw,
            k.pue,
            k.wue_l_per_kwh,
            k.heat_rejected_kw,
            k.cooling_power_kw,
            k.electrical_loss_kw,
            k.energy_balance_error,
            k.max_gpu_temp_c,
            k.mean_gpu_temp_c,
            k.max_inlet_air_c,
            k.max_coolant_c,
            k.output_fraction,
            k.tokens_per_s,
            k.possible_tokens_per_s,
            k.racks_throttled as f64,
            k.racks_shutdown as f64,
            k.ambient_c,
            k.server_fan_kw,
            0.0,
        ]
    }

    /// Reads `to_array`'s order back (at least `COUNT - 2` values).
    pub fn from_array(v: &[f64]) -> Kpis {
        Kpis {
            it_power_kw: v[0],
            facility_power_kw: v[1],
            pue: v[2],
            wue_l_per_kwh: v[3],
            heat_rejected_kw: v[4],
            cooling_power_kw: v[5],
            electrical_loss_kw: v[6],
            energy_balance_error: v[7],
            max_gpu_temp_c: v[8],
            mean_gpu_temp_c: v[9],
            max_inlet_air_c: v[10],
            max_coolant_c: v[11],
            output_fraction: v[12],
            tokens_per_s: v[13],
            possible_tokens_per_s: v[14],
            racks_throttled: v[15] as u32,
            racks_shutdown: v[16] as u32,
            ambient_c: v[17],
            // Recordings made before it was recorded hold 0 there.
            server_fan_kw: v.get(18).copied().unwrap_or(0.0),
        }
    }
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
    pub crahs: Vec<CrahState>,
    pub dry_coolers: Vec<DryCoolerState>,
    pub chillers: Vec<ChillerState>,
    pub feeds: Vec<PowerState>,
    pub ups: Vec<PowerState>,
    pub pdus: Vec<PowerState>,
    /// Alarms active now.
    pub active_alarms: Arc<Vec<Alarm>>,
}
