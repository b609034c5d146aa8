//! Equations and constants, each with its source (see ../shared/guide/physics.md).

/// Water, J/(kg·K) (physics.md §2).
pub const CP_WATER: f64 = 4186.0;
/// PG25 on the rack side, J/(kg·K) (*estimate*, physics.md §2).
pub const CP_PG25: f64 = 3900.0;
/// PG25 density, kg/L (*estimate*).
pub const RHO_PG25: f64 = 1.02;
/// Water density, kg/m³.
pub const RHO_WATER: f64 = 1000.0;
/// Air: density kg/m³ and c_p J/(kg·K) at ~25 °C.
pub const RHO_AIR: f64 = 1.18;
pub const CP_AIR: f64 = 1006.0;
/// Latent heat of evaporation for cooling-tower water use, J/kg.
pub const H_FG: f64 = 2.43e6;

/// GPU limits from nvidia-smi of A100 SXM4 / H100 PCIe (physics.md §1): no published B200/GB300
/// figure, so these are the defaults.
pub const GPU_SLOWDOWN_C: f64 = 89.0;
pub const GPU_SHUTDOWN_C: f64 = 92.0;
/// GPUs that shut down come back once this cool (*estimate*: automatic restart policy).
pub const GPU_RESTART_C: f64 = 70.0;

/// ASHRAE inlet: recommended up to 27 °C, allowable A1 up to 32 °C (physics.md §1).
pub const ASHRAE_RECOMMENDED_MAX_C: f64 = 27.0;
pub const ASHRAE_A1_MAX_C: f64 = 32.0;

/// Cold plate thermal resistance, K/W, against flow per plate in L/min.
///
/// Fitted to the OCP 1 kW OAM plate with PG25 (Modelica `ColdPlateR_P`, physics.md §2):
/// R = 0.0389 / 0.0245 / 0.0197 K/W at 0.4 / 1.0 / 2.4 L/min. The form R = a + b·V̇^−1.2 (a
/// conduction part plus a convective part falling with flow) passes within 0.6 % of all three.
/// Below 0.05 L/min (pumps stopped) natural circulation is assumed to keep that much going.
pub fn cold_plate_r(flow_lpm: f64) -> f64 {
    const A: f64 = 0.017_31;
    const B: f64 = 0.007_19;
    let v = flow_lpm.max(0.05);
    A + B * v.powf(-1.2)
}

/// Heat capacity of one GPU with its plate and spreader, J/K: a die-to-coolant time constant of
/// ~20 s at design flow (physics.md §2 lists 1–2 s for the die alone, ~30 s for the chassis).
pub const GPU_HEAT_CAPACITY: f64 = 20.0 / 0.0197;

/// Die-to-inlet-air resistance of an air-cooled GPU, K/W (*estimate*: a 700 W H100 SXM runs ~45 K
/// above its inlet air at full load).
pub const AIR_GPU_R: f64 = 0.065;

/// Effectiveness of a counterflow heat exchanger (ε-NTU, physics.md §2), Z = C_min/C_max.
pub fn effectiveness_counterflow(ntu: f64, z: f64) -> f64 {
    if ntu <= 0.0 {
        return 0.0;
    }
    let z = z.clamp(0.0, 1.0);
    if (1.0 - z).abs() < 1e-9 {
        ntu / (1.0 + ntu)
    } else {
        let e = (-ntu * (1.0 - z)).exp();
        (1.0 - e) / (1.0 - z * e)
    }
}

/// Inverse of [`effectiveness_counterflow`]: the NTU that gives ε.
pub fn ntu_counterflow(eff: f64, z: f64) -> f64 {
    let eff = eff.clamp(1e-6, 0.999_999);
    let z = z.clamp(0.0, 1.0);
    if (1.0 - z).abs() < 1e-9 { eff / (1.0 - eff) } else { ((1.0 - eff * z) / (1.0 - eff)).ln() / (1.0 - z) }
}

/// What a chiller's curves read as its condenser temperature: an air-cooled condenser's
/// entering air is the outdoor dry bulb (EnergyPlus `Chiller:Electric:EIR`); a cooling tower
/// returns water ~5 K above the wet bulb (*estimate*: a typical tower approach), not below its
/// minimum.
pub fn condenser_c(air_cooled: bool, dry_bulb: f64, wet_bulb: f64) -> f64 {
    if air_cooled { dry_bulb } else { (wet_bulb + 5.0).max(TOWER_MIN_CONDENSER_C) }
}

/// Towers are held at or above this condenser water temperature (fans cycled or bypassed): the
/// usual minimum entering condenser water of centrifugal chillers, 55 °F (*estimate*; also the
/// York YT curve set's lower limit, 12.78 °C).
pub const TOWER_MIN_CONDENSER_C: f64 = 12.78;

/// A facility loop holds at least this many seconds of its rated flow (*estimate*; the example
/// scenes hold 3.5–4.5 min): its supply node is stepped explicitly, stable up to 60 s steps.
pub const LOOP_MIN_RESIDENCE_S: f64 = 60.0;

/// Conductance from a liquid rack's coolant to the room air when its flow has stopped: the
/// manifolds, hoses and chassis by natural convection, W/K (*estimate*: ~10 m² at ~10 W/(m²·K)).
/// Without it a rack that has no GPUs to shut down would warm without bound.
pub const RACK_SKIN_UA: f64 = 100.0;

/// A liquid-cooled rack without GPUs (storage, a network spine, a generic load) shuts itself
/// down when its coolant reaches this, and restarts below the second (*estimates*: hardware
/// over-temperature protection; GPU racks stop on their GPUs at 92 °C first).
pub const RACK_COOLANT_TRIP_C: f64 = 65.0;
pub const RACK_COOLANT_RESTART_C: f64 = 55.0;

/// COP of the DX units cooling the electrical rooms, where UPS losses are released
/// (*estimate*, as for DX CRAHs).
pub const ELECTRICAL_ROOM_COP: f64 = 3.5;

/// Air-cooled servers' fans at idle run at this fraction of design flow (*estimate*; EnergyPlus
/// leaves the air-flow curve to the user).
pub const ITE_FLOW_AT_IDLE: f64 = 0.4;

/// Exponential (exact for constant inputs) update of a first-order node toward `target`:
/// stable at any step, unlike explicit Euler for τ ≈ 1–2 s at Δt = 1 s (physics.md §2).
#[inline]
pub fn relax(value: f64, target: f64, decay: f64) -> f64 {
    target + (value - target) * decay
}

#[cfg(test)]
mod tests {
    use super::*;

    /// physics.md §4 case 3: T_case − T_in = 38.9 / 24.5 / 19.7 K at 0.4 / 1.0 / 2.4 L/min, 1 kW.
    #[test]
    fn cold_plate_matches_ocp_data_within_half_a_kelvin() {
        for (flow, dt) in [(0.4, 38.9), (1.0, 24.5), (2.4, 19.7)] {
            let got = cold_plate_r(flow) * 1000.0;
            assert!((got - dt).abs() < 0.5, "{flow} L/min: {got:.2} K vs {dt} K");
        }
        assert!(cold_plate_r(0.0).is_finite());
        assert!(cold_plate_r(0.0) > cold_plate_r(0.4));
    }

    #[test]
    fn effectiveness_inverts_and_is_bounded() {
        for z in [0.0, 0.3, 0.8, 1.0] {
            for ntu in [0.1, 1.0, 3.0, 8.0] {
                let e = effectiveness_counterflow(ntu, z);
                assert!((0.0..1.0).contains(&e));
                assert!((ntu_counterflow(e, z) - ntu).abs() < 1e-6 * ntu.max(1.0), "z {z} ntu {ntu}");
            }
        }
    }
}
