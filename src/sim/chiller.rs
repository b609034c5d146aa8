//! Chillers from their published curves: the EnergyPlus `Chiller:Electric:EIR` model (DOE-2.1),
//! as Modelica Buildings implements it in `Fluid.Chillers.BaseClasses.PartialElectric`
//! (physics.md §2):
//!
//! - available capacity  Q_avail = Q_ref · CAPFT(T_chw,lvg, T_cond,ent)
//! - part load           PLR1 = min(Q_load / Q_avail, PLR_max); compressor PLR2 = max(PLR_min,unl, PLR1);
//!   cycling ratio CR = min(PLR1 / PLR_min, 1) (below PLR_min,unl hot-gas bypass: the compressor
//!   draws as at PLR_min,unl)
//! - electric power      P = Q_avail / COP_ref · EIRFT(T_chw,lvg, T_cond,ent) · EIRFPLR(PLR2) · CR
//!
//! CAPFT and EIRFT are biquadratic in the leaving chilled-water and entering condenser-water
//! temperatures (°C), EIRFPLR quadratic; temperatures are held to the curve set's range, as the
//! curves are only fitted there (a warm-water trim chiller read with a curve fitted at
//! 4–9 °C chilled water is read at 8.89 °C: conservative; give it a curve set fitted to its
//! range in the scene's `chiller_curves`).

/// A chiller's published performance: the reference point, the curves' validity ranges and
/// coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct EirCurves {
    /// Reference capacity, kW, and COP at the reference temperatures.
    pub capacity_kw: f64,
    pub cop: f64,
    /// Reference leaving chilled water and entering condenser water, °C.
    pub t_chw_ref_c: f64,
    pub t_cond_ref_c: f64,
    /// The range the curves were fitted over, °C.
    pub t_chw_range_c: (f64, f64),
    pub t_cond_range_c: (f64, f64),
    pub plr_min: f64,
    pub plr_min_unloading: f64,
    pub plr_max: f64,
    /// a + b·x + c·x² + d·y + e·y² + f·x·y, x = T_chw,lvg, y = T_cond,ent (°C).
    pub cap_ft: [f64; 6],
    pub eir_ft: [f64; 6],
    /// a + b·PLR + c·PLR².
    pub eir_fplr: [f64; 3],
}

/// York YT 1055 kW / 5.96 COP / inlet vanes: Modelica Buildings record
/// `Fluid.Chillers.Data.ElectricEIR.ElectricEIRChiller_York_YT_1055kW_5_96COP_Vanes`, which
/// carries the EnergyPlus `Chiller:Electric:EIR` object of the same name (EnergyPlus DataSets).
pub const YORK_YT_1055KW: EirCurves = EirCurves {
    capacity_kw: 1055.0,
    cop: 5.96,
    t_chw_ref_c: 6.67,
    t_cond_ref_c: 29.44,
    t_chw_range_c: (4.44, 8.89),
    t_cond_range_c: (12.78, 35.00),
    plr_min: 0.10,
    plr_min_unloading: 0.10,
    plr_max: 1.05,
    cap_ft: [1.785912E-01, -5.900023E-02, -5.946963E-04, 9.297889E-02, -2.841024E-03, 4.974221E-03],
    eir_ft: [5.245110E-01, -2.850126E-02, 8.034720E-04, 1.893133E-02, 1.151629E-04, -9.340642E-05],
    eir_fplr: [2.619878E-01, 2.393605E-01, 4.988306E-01],
};

/// The curve set a scene's chiller names (`None`: York YT if water-cooled, York YCAL if
/// air-cooled), scaled to the chiller's own
/// rated capacity and COP: the curves are normalised, the rating is the chiller's.
pub fn curves_for(
    name: Option<&str>,
    air_cooled: bool,
    defined: &[crate::model::ChillerCurves],
    capacity_kw: f64,
    cop: f64,
) -> Result<EirCurves, String> {
    let built_in = crate::model::BUILT_IN_CHILLER_CURVES;
    let name = name.unwrap_or(if air_cooled { built_in[1] } else { built_in[0] });
    let mut c = if let Some(d) = defined.iter().find(|d| d.id == name) {
        let six = |v: &[f64], field: &str| -> Result<[f64; 6], String> {
            v.try_into().map_err(|_| format!("{}: `{field}` has {} coefficients, not 6", d.id, v.len()))
        };
        EirCurves {
            capacity_kw,
            cop,
            t_chw_ref_c: YORK_YT_1055KW.t_chw_ref_c,
            t_cond_ref_c: YORK_YT_1055KW.t_cond_ref_c,
            t_chw_range_c: d.chilled_water_c,
            t_cond_range_c: d.condenser_c,
            plr_min: d.plr_min,
            plr_min_unloading: d.plr_min_unloading,
            plr_max: d.plr_max,
            cap_ft: six(&d.cap_ft, "cap_ft")?,
            eir_ft: six(&d.eir_ft, "eir_ft")?,
            eir_fplr: d
                .eir_fplr
                .as_slice()
                .try_into()
                .map_err(|_| format!("{}: `eir_fplr` has {} coefficients, not 3", d.id, d.eir_fplr.len()))?,
        }
    } else if name == built_in[0] {
        YORK_YT_1055KW
    } else if name == built_in[1] {
        YORK_YCAL0019EE
    } else {
        return Err(format!("chiller curve set \"{name}\" does not exist"));
    };
    c.capacity_kw = capacity_kw;
    c.cop = cop;
    Ok(c)
}

/// York YCAL0019EE 54.2 kW / 2.9 COP, air-cooled scroll: EnergyPlus reference data set
/// `datasets/AirCooledChiller.idf` ("ElectricEIRChiller York YCAL0019EE 54.2kW/2.9COP"); y is
/// the condenser's entering air temperature (the outdoor dry bulb). The set air-cooled
/// chillers take unless they name another: its curves are normalised, so they scale to the
/// scene's capacity and COP.
pub const YORK_YCAL0019EE: EirCurves = EirCurves {
    capacity_kw: 54.16,
    cop: 2.9,
    t_chw_ref_c: 6.67,
    t_cond_ref_c: 35.0,
    t_chw_range_c: (4.44, 10.0),
    t_cond_range_c: (23.89, 51.67),
    plr_min: 0.10,
    plr_min_unloading: 0.10,
    plr_max: 1.15,
    cap_ft: [-0.4444262475, 0.1047270584, -0.0021697935, 0.0769278202, -0.0011992838, -0.0014306494],
    eir_ft: [-0.5031197853, 0.0419759636, -0.0008110133, 0.0556014617, -0.0002121322, -0.0016587157],
    eir_fplr: [0.0, 1.0, 0.0],
};

fn biquadratic(c: &[f64; 6], x: f64, y: f64) -> f64 {
    c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y
}

/// One chiller at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChillerPoint {
    /// What it can take at these temperatures, kW.
    pub available_kw: f64,
    /// What it takes of the load asked (at most `available · PLR_max`), kW.
    pub load_kw: f64,
    /// Compressor power, kW.
    pub power_kw: f64,
    /// Part load ratio (load over available capacity).
    pub plr: f64,
    /// Load over power; 0 when it takes nothing.
    pub cop: f64,
}

impl EirCurves {
    /// The part load ratio at which the chiller makes the most cooling per kW (the largest
    /// PLR / EIRFPLR(PLR)), between PLR_min and full load; of equals, the highest (fewer
    /// chillers running). York YT: 0.72.
    pub fn best_plr(&self) -> f64 {
        let f = &self.eir_fplr;
        let (lo, hi) = (self.plr_min.max(0.01), self.plr_max.min(1.0).max(self.plr_min.max(0.01)));
        let mut best = (hi, f64::MIN);
        for k in 0..=200 {
            let plr = lo + (hi - lo) * k as f64 / 200.0;
            let p = plr.max(self.plr_min_unloading);
            let eir = f[0] + f[1] * p + f[2] * p * p;
            let per_kw = if eir > 0.0 { plr / eir } else { 0.0 };
            if per_kw >= best.1 - 1e-12 {
                best = (plr, per_kw.max(best.1));
            }
        }
        best.0
    }

    /// The chiller asked to take `load_kw` with chilled water leaving at `t_chw_c` and condenser
    /// water entering at `t_cond_c`.
    pub fn operate(&self, t_chw_c: f64, t_cond_c: f64, load_kw: f64) -> ChillerPoint {
        // A temperature that is not a number is read as the reference one.
        let t_chw_c = if t_chw_c.is_finite() { t_chw_c } else { self.t_chw_ref_c };
        let t_cond_c = if t_cond_c.is_finite() { t_cond_c } else { self.t_cond_ref_c };
        let x = t_chw_c.clamp(self.t_chw_range_c.0, self.t_chw_range_c.1);
        let y = t_cond_c.clamp(self.t_cond_range_c.0, self.t_cond_range_c.1);
        let available_kw = self.capacity_kw * biquadratic(&self.cap_ft, x, y).max(0.0);
        let asked = if load_kw.is_finite() { load_kw.max(0.0) } else { 0.0 };
        if available_kw <= 0.0 || asked <= 0.0 {
            return ChillerPoint { available_kw, load_kw: 0.0, power_kw: 0.0, plr: 0.0, cop: 0.0 };
        }
        let plr1 = (asked / available_kw).min(self.plr_max);
        let plr2 = plr1.max(self.plr_min_unloading);
        let cycling = (plr1 / self.plr_min).min(1.0);
        let f = &self.eir_fplr;
        let eir_fplr = f[0] + f[1] * plr2 + f[2] * plr2 * plr2;
        let power_kw = available_kw / self.cop * biquadratic(&self.eir_ft, x, y).max(0.0) * eir_fplr * cycling;
        let load_kw = plr1 * available_kw;
        ChillerPoint {
            available_kw,
            load_kw,
            power_kw,
            plr: plr1,
            cop: if power_kw > 0.0 { load_kw / power_kw } else { 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: &EirCurves = &YORK_YT_1055KW;

    #[test]
    fn the_reference_point_gives_the_rated_capacity_and_cop() {
        // The curves are normalised to about 1 at the reference temperatures (EnergyPlus
        // convention): this set gives CAPFT 1.0103 and EIRFT 1.0090 there, so the rating point
        // comes out at 1066 kW available and COP 5.92 at 1055 kW, within 1.1 % of the rating.
        let p = Y.operate(Y.t_chw_ref_c, Y.t_cond_ref_c, Y.capacity_kw);
        assert!((p.available_kw / Y.capacity_kw - 1.0).abs() < 0.015, "{p:?}");
        assert!((p.cop / Y.cop - 1.0).abs() < 0.015, "{p:?}");
        assert!((p.available_kw - 1065.9).abs() < 0.1 && (p.cop - 5.920).abs() < 0.001, "{p:?}");
    }

    #[test]
    fn cop_rises_as_condenser_water_cools() {
        let mut last = 0.0;
        for t_cond in [35.0, 32.0, 29.44, 26.0, 22.0, 18.0] {
            let p = Y.operate(6.67, t_cond, 900.0);
            assert!(p.cop > last, "COP {:.2} at {t_cond} °C condenser water, was {last:.2}", p.cop);
            last = p.cop;
        }
    }

    #[test]
    fn part_load_follows_eirfplr_and_cycles_below_the_minimum() {
        let full = Y.operate(6.67, 29.44, 10_000.0);
        // More than it can take: held at PLR_max of what is available.
        assert!((full.plr - Y.plr_max).abs() < 1e-12 && full.load_kw < 10_000.0);
        let half = Y.operate(6.67, 29.44, full.available_kw * 0.5);
        let f = &Y.eir_fplr;
        let want = full.available_kw / Y.cop * biquadratic(&Y.eir_ft, 6.67, 29.44) * (f[0] + f[1] * 0.5 + f[2] * 0.25);
        assert!((half.power_kw - want).abs() < 1e-9, "{} vs {want}", half.power_kw);
        // EIRFPLR's constant term: at half load the chiller draws more than half the power.
        assert!(half.power_kw > full.power_kw * 0.5 / Y.plr_max);
        // Below PLR_min it cycles: power falls in proportion to the load.
        let a = Y.operate(6.67, 29.44, full.available_kw * 0.05);
        let b = Y.operate(6.67, 29.44, full.available_kw * 0.025);
        assert!((a.power_kw / b.power_kw - 2.0).abs() < 1e-9);
    }

    #[test]
    fn the_most_efficient_part_load_is_where_eirfplr_says() {
        // x / (a + b·x + c·x²) peaks at x = √(a/c): 0.7246 for the York YT set.
        let f = &Y.eir_fplr;
        assert!((Y.best_plr() - (f[0] / f[2]).sqrt()).abs() < 0.005, "{}", Y.best_plr());
        // EIRFPLR = PLR: every part load is as good; the highest (full load) is taken.
        assert_eq!(YORK_YCAL0019EE.best_plr(), 1.0);
    }

    #[test]
    fn out_of_range_inputs_stay_finite() {
        for (t_chw, t_cond, load) in [
            (-40.0, 80.0, 500.0),
            (30.0, -10.0, 500.0),
            (6.67, 29.44, -5.0),
            (f64::NAN, 29.44, 500.0),
            (6.67, 29.44, f64::NAN),
        ] {
            let p = Y.operate(t_chw, t_cond, load);
            assert!(p.power_kw.is_finite() && p.cop.is_finite() && p.power_kw >= 0.0, "{p:?}");
        }
        assert_eq!(Y.operate(6.67, 29.44, 0.0).power_kw, 0.0);
    }
}
