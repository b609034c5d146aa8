//! A year of weather: EnergyPlus weather files (EPW), the hourly dry bulb and humidity the
//! simulation's outdoor plant sees.
//!
//! EPW (EnergyPlus "Auxiliary Programs", Weather Converter: EnergyPlus Weather File Data
//! Dictionary): eight header records (LOCATION … DATA PERIODS), then one row per hour of 35
//! fields; field 7 is the dry bulb (°C), 9 the relative humidity (%), 10 the station pressure
//! (Pa). 99.9, 999 and 999999 mark missing values. EPW carries no wet bulb: it is worked out
//! from the dry bulb and humidity with Stull's formula.

use std::path::Path;

/// One hour of outdoor air.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hour {
    pub month: u8,
    pub day: u8,
    /// 1..=24, the hour ending at this time (EPW's convention).
    pub hour: u8,
    pub dry_bulb_c: f64,
    pub relative_humidity: f64,
    pub wet_bulb_c: f64,
}

/// A weather file read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Weather {
    /// City, region, country and source, from the LOCATION record.
    pub location: String,
    pub hours: Vec<Hour>,
    /// Hours whose dry bulb or humidity was missing and took the previous hour's.
    pub filled: usize,
}

/// Wet bulb from dry bulb (°C) and relative humidity (%) at sea-level pressure: Stull (2011),
/// "Wet-Bulb Temperature from Relative Humidity and Air Temperature", J. Appl. Meteor.
/// Climatol. 50, 2267–2269; within 0.3 K for RH 5–99 % and −20…50 °C. Outside that range the
/// humidity is held to it and the result kept at or below the dry bulb.
pub fn wet_bulb_c(dry_bulb_c: f64, relative_humidity: f64) -> f64 {
    let t = dry_bulb_c;
    let rh = relative_humidity.clamp(5.0, 99.0);
    let tw = t * (0.151_977 * (rh + 8.313_659).sqrt()).atan() + (t + rh).atan() - (rh - 1.676_331).atan()
        + 0.003_918_38 * rh.powf(1.5) * (0.023_101 * rh).atan()
        - 4.686_035;
    tw.min(t)
}

impl Weather {
    pub fn load(path: &Path) -> Result<Weather, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        Weather::parse(&text).map_err(|e| format!("{}:{e}", path.display()))
    }

    /// Reads EPW text; an error starts with `line:col: `.
    pub fn parse(text: &str) -> Result<Weather, String> {
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        let first = lines.first().copied().unwrap_or("");
        if !first.starts_with("LOCATION,") {
            return Err("1:1: not an EnergyPlus weather file: the first line must be the LOCATION record \
                 (download the .epw, not the .zip, .stat or .ddy)"
                .into());
        }
        let location: Vec<&str> = first.split(',').skip(1).take(4).collect();
        let headers = ["LOCATION", "DESIGN CONDITIONS", "TYPICAL/EXTREME PERIODS", "GROUND TEMPERATURES"];
        let mut data_start = None;
        for (i, l) in lines.iter().enumerate().take(12) {
            if l.starts_with("DATA PERIODS") {
                data_start = Some(i + 1);
                break;
            }
        }
        let Some(data_start) = data_start else {
            let n = lines.len().min(8);
            return Err(format!(
                "{n}:1: no DATA PERIODS record among the header lines (expected {} … DATA PERIODS): the file is cut \
                 short or not an EPW",
                headers.join(", ")
            ));
        };
        let mut hours = Vec::with_capacity(8784);
        let mut filled = 0;
        let mut last: Option<(f64, f64)> = None;
        for (i, line) in lines.iter().enumerate().skip(data_start) {
            if line.trim().is_empty() {
                continue;
            }
            let n = i + 1;
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() < 10 {
                return Err(format!(
                    "{n}:{}: this row has {} fields; an EPW row has 35 (year, month, day, hour, minute, flags, dry \
                     bulb, dew point, relative humidity, pressure, …): the file is cut short or damaged",
                    line.len() + 1,
                    fields.len()
                ));
            }
            let col = |k: usize| fields[..k].iter().map(|f| f.len() + 1).sum::<usize>() + 1;
            let int = |k: usize, what: &str, lo: u8, hi: u8| -> Result<u8, String> {
                match fields[k].trim().parse::<u8>() {
                    Ok(v) if (lo..=hi).contains(&v) => Ok(v),
                    _ => Err(format!("{n}:{}: {what} \"{}\" is not {lo}–{hi}", col(k), fields[k])),
                }
            };
            let month = int(1, "month", 1, 12)?;
            let day = int(2, "day", 1, 31)?;
            let hour = int(3, "hour", 1, 24)?;
            let num = |k: usize, what: &str| -> Result<f64, String> {
                fields[k]
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("{n}:{}: {what} \"{}\" is not a number", col(k), fields[k]))
            };
            let dry = num(6, "dry bulb")?;
            let rh = num(8, "relative humidity")?;
            let (dry, rh) = match (dry >= 99.9 || dry < -90.0, !(0.0..=110.0).contains(&rh), last) {
                (false, false, _) => (dry, rh),
                (d, r, Some((ld, lr))) => {
                    filled += 1;
                    (if d { ld } else { dry }, if r { lr } else { rh })
                }
                (_, _, None) => {
                    return Err(format!("{n}:{}: the first hour's dry bulb or humidity is missing", col(6)));
                }
            };
            last = Some((dry, rh));
            hours.push(Hour {
                month,
                day,
                hour,
                dry_bulb_c: dry,
                relative_humidity: rh,
                wet_bulb_c: wet_bulb_c(dry, rh),
            });
        }
        if hours.len() != 8760 && hours.len() != 8784 {
            return Err(format!(
                "{}:1: {} hourly rows; a year of weather has 8760 (8784 in a leap year): the file is cut short \
                 (download it again) or holds another period",
                lines.len() + 1,
                hours.len()
            ));
        }
        Ok(Weather { location: location.join(", "), hours, filled })
    }

    /// Outdoor dry and wet bulb at `t_s` seconds into the year, linear between hourly values
    /// (as EnergyPlus does for sub-hourly steps); the year repeats.
    pub fn at(&self, t_s: f64) -> (f64, f64) {
        let n = self.hours.len();
        // Row k is the hour ending at k+1 h: its value stands for the time k + 1 h.
        let x = (t_s / 3600.0 - 1.0).rem_euclid(n as f64);
        let i = x.floor() as usize % n;
        let j = (i + 1) % n;
        let f = x - x.floor();
        let (a, b) = (&self.hours[i], &self.hours[j]);
        (a.dry_bulb_c + (b.dry_bulb_c - a.dry_bulb_c) * f, a.wet_bulb_c + (b.wet_bulb_c - a.wet_bulb_c) * f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phoenix() -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/weather/USA_AZ_Phoenix-Sky.Harbor.Intl.AP.722780_TMY3.epw");
        std::fs::read_to_string(p).unwrap()
    }

    /// Stull (2011) gives 13.7 °C for 20 °C at 50 % (the paper's worked example).
    #[test]
    fn wet_bulb_matches_stulls_example_and_stays_below_dry_bulb() {
        assert!((wet_bulb_c(20.0, 50.0) - 13.7).abs() < 0.05, "{}", wet_bulb_c(20.0, 50.0));
        for t in [-20.0, 0.0, 25.0, 45.0] {
            for rh in [0.0, 5.0, 50.0, 100.0] {
                let w = wet_bulb_c(t, rh);
                assert!(w.is_finite() && w <= t, "{t} {rh}: {w}");
            }
        }
    }

    #[test]
    fn reads_the_shipped_phoenix_year() {
        let w = Weather::parse(&phoenix()).unwrap();
        assert_eq!(w.hours.len(), 8760);
        assert_eq!(w.filled, 0);
        assert!(w.location.starts_with("Phoenix Sky Harbor Intl Ap"), "{}", w.location);
        // The first row: 1 Jan, hour 1, 10.0 °C at 74 %.
        assert_eq!((w.hours[0].month, w.hours[0].day, w.hours[0].hour), (1, 1, 1));
        assert_eq!((w.hours[0].dry_bulb_c, w.hours[0].relative_humidity), (10.0, 74.0));
        let max = w.hours.iter().map(|h| h.dry_bulb_c).fold(f64::MIN, f64::max);
        assert_eq!(max, 44.4);
        // Between hours the value is interpolated; at an hour it is that row's.
        assert_eq!(w.at(3600.0).0, 10.0);
        let (a, b) = (w.hours[0].dry_bulb_c, w.hours[1].dry_bulb_c);
        assert!((w.at(5400.0).0 - (a + b) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn bad_files_say_where() {
        let text = phoenix();
        let lines: Vec<&str> = text.lines().collect();
        // Truncated: half the year.
        let cut = lines[..4000].join("\n");
        let e = Weather::parse(&cut).unwrap_err();
        assert!(e.contains("3992 hourly rows") && e.contains("cut short"), "{e}");
        // A row with columns missing.
        let mut damaged: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        damaged[20] = "2002,1,1,13,0,?9".into();
        let e = Weather::parse(&damaged.join("\n")).unwrap_err();
        assert!(e.starts_with("21:17: this row has 6 fields"), "{e}");
        // A dry bulb that is not a number.
        let mut damaged: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        damaged[10] = damaged[10].replacen(",8.9,", ",8.g,", 1);
        let e = Weather::parse(&damaged.join("\n")).unwrap_err();
        assert!(e.starts_with("11:") && e.contains("dry bulb \"8.g\""), "{e}");
        // Not an EPW at all.
        let e = Weather::parse("Date,Time,Temp\n").unwrap_err();
        assert!(e.starts_with("1:1: not an EnergyPlus weather file"), "{e}");
        // A missing value mid-year takes the hour before.
        let mut gap: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let f: Vec<&str> = gap[100].split(',').collect();
        let mut f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        f[6] = "99.9".into();
        gap[100] = f.join(",");
        let w = Weather::parse(&gap.join("\n")).unwrap();
        assert_eq!(w.filled, 1);
        assert_eq!(w.hours[92].dry_bulb_c, w.hours[91].dry_bulb_c);
    }
}
