//! Headless runs: `simulate` builds a simulation from a scene and flags, runs it as fast as it
//! can and prints one report. The JSON keys are documented in README.md.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use serde::Serialize;

use crate::model::Site;
use crate::recording::{Player, Recorder};
use crate::scene;
use crate::sim::Snapshot;
use crate::sim::scenario::{Action, Event, Scenario, parse_duration, parse_failure};
use crate::sim::snapshot::{ObjectState, RackStates, object_kinds};
use crate::sim::{Alarm, Simulation};
use crate::still::Shot;

/// Alarms listed in a report at most; the rest are counted in `alarms_omitted`.
pub const MAX_REPORTED_ALARMS: usize = 1000;

/// The KPI keys `simulate` and `replay` share: one struct so their names cannot drift apart.
#[derive(Debug, Serialize)]
pub struct KpiKeys {
    pub it_power_kw: f64,
    pub facility_power_kw: f64,
    pub pue: f64,
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
    pub server_fan_kw: f64,
}

impl From<&crate::sim::Kpis> for KpiKeys {
    fn from(k: &crate::sim::Kpis) -> Self {
        KpiKeys {
            it_power_kw: k.it_power_kw,
            facility_power_kw: k.facility_power_kw,
            pue: k.pue,
            wue_l_per_kwh: k.wue_l_per_kwh,
            heat_rejected_kw: k.heat_rejected_kw,
            cooling_power_kw: k.cooling_power_kw,
            electrical_loss_kw: k.electrical_loss_kw,
            energy_balance_error: k.energy_balance_error,
            max_gpu_temp_c: k.max_gpu_temp_c,
            mean_gpu_temp_c: k.mean_gpu_temp_c,
            max_inlet_air_c: k.max_inlet_air_c,
            max_coolant_c: k.max_coolant_c,
            output_fraction: k.output_fraction,
            tokens_per_s: k.tokens_per_s,
            possible_tokens_per_s: k.possible_tokens_per_s,
            racks_throttled: k.racks_throttled,
            racks_shutdown: k.racks_shutdown,
            server_fan_kw: k.server_fan_kw,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub scene: String,
    pub sim_seconds: f64,
    pub wall_seconds: f64,
    pub speedup: f64,
    pub racks: usize,
    #[serde(flatten)]
    pub kpis: KpiKeys,
    /// What the tokens are of: the MLPerf benchmark, or the scene's own figures.
    pub tokens_of: String,
    pub min_output_fraction: f64,
    pub throttle_onset_s: Option<f64>,
    pub alarm_count: usize,
    pub alarms_omitted: usize,
    pub alarms: Vec<Alarm>,
    /// With `--weather`: the period's energy and hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weather: Option<WeatherReport>,
}

/// A run through a weather file: energy, PUE and WUE over the period, and how its hours went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WeatherReport {
    pub file: String,
    pub location: String,
    pub hours: u32,
    /// Hours of the file whose dry bulb or humidity was missing and took the hour before's.
    pub hours_filled: usize,
    pub it_mwh: f64,
    pub facility_mwh: f64,
    /// Facility energy over IT energy.
    pub pue: f64,
    /// Water evaporated per IT kWh over the period, L/kWh.
    pub wue_l_per_kwh: f64,
    /// Hours the loops with dry coolers ran on them alone (no chiller trimmed); hours any
    /// chiller ran (a chilled-water loop without dry coolers runs its chillers always); the
    /// site's chillers' count.
    pub economiser_hours: u32,
    pub chiller_hours: u32,
    pub chillers: usize,
    /// Hours in which any GPU throttled at some step, and in which any rack was down.
    pub throttled_hours: u32,
    pub shutdown_hours: u32,
    /// GPU work delivered over work asked, over the period.
    pub output_fraction: f64,
    pub worst_hour: Option<WorstHour>,
    /// Σ |utility − rejected − Δstored| over the period, over the utility energy.
    pub energy_balance_error: f64,
}

/// The hour with the least output (or, when output never fell, the highest PUE).
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorstHour {
    /// Hour of the year counted from 0, and the weather file's month-day and hour (EPW counts
    /// hours 1–24, each the hour ending then): "08-10 16:00" is 15:00–16:00 on 10 August.
    pub hour_of_year: u32,
    pub date: String,
    pub dry_bulb_c: f64,
    pub wet_bulb_c: f64,
    pub pue: f64,
    pub output_fraction: f64,
    pub max_gpu_temp_c: f64,
}

/// One hour's sums while a weather run goes on.
#[derive(Default)]
struct HourSums {
    it_kj: f64,
    facility_kj: f64,
    work: f64,
    asked: f64,
    chiller: bool,
    economiser_trim: bool,
    throttled: bool,
    down: bool,
    max_gpu: f64,
}

/// Sums a weather run hour by hour.
pub struct Annual {
    weather: crate::weather::Weather,
    file: String,
    hour: Option<(u32, HourSums)>,
    report: WeatherReport,
    worst: Option<(f64, f64, u32, f64)>,
    start_kj: f64,
    totals: (f64, f64, f64, f64),
}

impl Annual {
    fn new(weather: crate::weather::Weather, file: String, sim: &Simulation) -> Annual {
        let report = WeatherReport {
            file: file.clone(),
            location: weather.location.clone(),
            hours_filled: weather.filled,
            chillers: sim.network().chillers.len(),
            ..Default::default()
        };
        Annual {
            weather,
            file,
            hour: None,
            report,
            worst: None,
            start_kj: sim.stored_heat_kj(),
            totals: Default::default(),
        }
    }

    /// Sets the outdoor air for the step about to run.
    fn before(&self, sim: &mut Simulation) {
        let (dry, wet) = self.weather.at(sim.time_s() + sim.dt() / 2.0);
        sim.set_outdoor(dry, wet);
    }

    /// Adds the step just run.
    fn after(&mut self, sim: &Simulation) {
        let dt = sim.dt();
        let h = ((sim.time_s() - dt / 2.0) / 3600.0).floor().max(0.0) as u32;
        if self.hour.as_ref().is_some_and(|(k, _)| *k != h) {
            self.close_hour();
        }
        let k = sim.kpis();
        let (_, sums) = self.hour.get_or_insert_with(|| (h, HourSums::default()));
        sums.it_kj += k.it_power_kw * dt;
        sums.facility_kj += k.facility_power_kw * dt;
        sums.work += k.tokens_per_s * dt;
        sums.asked += k.possible_tokens_per_s * dt;
        let (any, on_economiser) = sim.chillers_running();
        sums.chiller |= any;
        sums.economiser_trim |= on_economiser;
        sums.throttled |= k.racks_throttled > 0;
        sums.down |= k.racks_shutdown > 0;
        sums.max_gpu = sums.max_gpu.max(k.max_gpu_temp_c);
    }

    fn close_hour(&mut self) {
        let Some((h, s)) = self.hour.take() else { return };
        let r = &mut self.report;
        r.hours += 1;
        r.chiller_hours += u32::from(s.chiller);
        r.economiser_hours += u32::from(!s.economiser_trim);
        r.throttled_hours += u32::from(s.throttled);
        r.shutdown_hours += u32::from(s.down);
        let t = &mut self.totals;
        t.0 += s.it_kj;
        t.1 += s.facility_kj;
        t.2 += s.work;
        t.3 += s.asked;
        let output = if s.asked > 0.0 { s.work / s.asked } else { 1.0 };
        let pue = if s.it_kj > 0.0 { s.facility_kj / s.it_kj } else { 0.0 };
        // Worst: least output first, then highest PUE.
        let key = (-output, pue);
        if self.worst.is_none_or(|(o, p, _, _)| key > (o, p)) {
            self.worst = Some((key.0, key.1, h, s.max_gpu));
        }
    }

    fn finish(mut self, sim: &Simulation) -> WeatherReport {
        self.close_hour();
        let (it, facility, work, asked) = self.totals;
        let mut r = self.report;
        r.file = self.file;
        r.it_mwh = it / 3.6e6;
        r.facility_mwh = facility / 3.6e6;
        r.pue = if it > 0.0 { facility / it } else { 0.0 };
        r.wue_l_per_kwh = sim.kpis().wue_l_per_kwh;
        r.output_fraction = if asked > 0.0 { work / asked } else { 1.0 };
        let e = sim.energy_totals();
        let stored = sim.stored_heat_kj() - self.start_kj;
        r.energy_balance_error =
            if e.utility_kj > 0.0 { (e.utility_kj - e.rejected_kj - stored).abs() / e.utility_kj } else { 0.0 };
        r.worst_hour = self.worst.map(|(o, pue, h, gpu)| {
            let n = self.weather.hours.len();
            let w = &self.weather.hours[h as usize % n];
            // The hour's middle, as the step saw it.
            let (dry, wet) = self.weather.at(h as f64 * 3600.0 + 1800.0);
            WorstHour {
                hour_of_year: h,
                date: format!("{:02}-{:02} {:02}:00", w.month, w.day, w.hour),
                dry_bulb_c: dry,
                wet_bulb_c: wet,
                pue,
                output_fraction: -o,
                max_gpu_temp_c: gpu,
            }
        });
        r
    }
}

/// What happens during a run: a scenario file, and failures and restores to add
/// (`KIND[:TARGET]@TIME`, as the command line writes them).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub scenario: Option<std::path::PathBuf>,
    pub fail: Vec<String>,
    pub restore: Vec<String>,
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Text,
}

/// `simulate`: run a scene headless and report.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub scene: std::path::PathBuf,
    pub run: RunOptions,
    pub ambient: Option<f64>,
    pub utilization: Option<f64>,
    /// An EPW weather file the outdoor air follows.
    pub weather: Option<std::path::PathBuf>,
    /// What the tokens/s are of, instead of the scene's.
    pub benchmark: Option<String>,
    /// Durations as users write them: `90s`, `15m`, `2h`, `1d`.
    pub duration: String,
    pub dt: String,
    pub report: ReportFormat,
    pub record: Option<std::path::PathBuf>,
    pub record_rate: f64,
    /// Draw the progress bar even when stderr is not a terminal.
    pub progress: bool,
}

/// `replay`: the state at a time, or the events, of a recording.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub recording: std::path::PathBuf,
    pub at: Option<String>,
    pub events: bool,
    pub report: ReportFormat,
}

/// `export`: a recording as tidy CSV.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub recording: std::path::PathBuf,
    pub csv: std::path::PathBuf,
    pub every: Option<String>,
}

/// `render`: what to draw and where to write it.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub input: Option<std::path::PathBuf>,
    pub out: std::path::PathBuf,
    pub at: Option<String>,
    pub metric: String,
    pub size: String,
    pub view: crate::still::ViewPreset,
    pub run: RunOptions,
}

/// Prints one report to stdout; a closed pipe (`| head`) ends the program quietly.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Builds the scenario from a file and the CLI's flags (flags add to the file's events).
pub fn scenario_from_args(args: &RunOptions) -> Result<Scenario, String> {
    let mut scenario = match &args.scenario {
        Some(p) => {
            let name = p.display().to_string();
            let src = std::fs::read_to_string(p).map_err(|e| format!("{name}: cannot read the scenario: {e}"))?;
            Scenario::from_ron(&src).map_err(|d| d.display(&name).to_string())?
        }
        None => Scenario::default(),
    };
    for (flags, fail) in [(&args.fail, true), (&args.restore, false)] {
        for f in flags {
            let (failure, at_s) =
                parse_failure(f).map_err(|e| format!("--{}: {e}", if fail { "fail" } else { "restore" }))?;
            let action = if fail { Action::Fail(failure) } else { Action::Restore(failure) };
            scenario.events.push(Event { at_s, action });
        }
    }
    Ok(scenario)
}

/// Applies `--ambient` and `--utilization` to the site before the run settles.
pub fn apply_overrides(site: &mut Site, ambient: Option<f64>, utilization: Option<f64>) -> Result<(), String> {
    if let Some(a) = ambient {
        if !(a.is_finite() && (-60.0..=60.0).contains(&a)) {
            return Err(format!("--ambient {a}: use a dry bulb between -60 and 60 °C"));
        }
        let d = a - site.ambient.dry_bulb_c;
        site.ambient.dry_bulb_c = a;
        site.ambient.wet_bulb_c += d;
    }
    if let Some(u) = utilization {
        if !(u.is_finite() && (0.0..=1.0).contains(&u)) {
            return Err(format!("--utilization {u}: use a value between 0 and 1"));
        }
        for h in &mut site.halls {
            for r in &mut h.rows {
                for k in &mut r.racks {
                    k.utilization = Some(u);
                }
            }
        }
    }
    Ok(())
}

pub fn load_site(path: &std::path::Path) -> Result<Site, String> {
    let name = path.display().to_string();
    match scene::load_file(path) {
        Ok(l) => Ok(l.site),
        Err(e) => Err(e.0.iter().map(|d| d.display(&name).to_string()).collect::<Vec<_>>().join("\n")),
    }
}

pub fn simulate(args: &SimulateOptions) -> Result<(), String> {
    let mut site = load_site(&args.scene)?;
    apply_overrides(&mut site, args.ambient, args.utilization)?;
    let scenario = scenario_from_args(&args.run)?;
    let duration = parse_duration(&args.duration).map_err(|e| format!("--duration: {e}"))?;
    let dt = parse_duration(&args.dt).map_err(|e| format!("--dt: {e}"))?;
    if let Some(b) = &args.benchmark {
        use crate::model::mlperf;
        if b != mlperf::OWN_FIGURES && mlperf::benchmark(b).is_none() {
            let known: Vec<&str> = mlperf::BENCHMARKS.iter().map(|b| b.id).chain([mlperf::OWN_FIGURES]).collect();
            return Err(format!("--benchmark {b}: not an MLPerf benchmark we carry; use one of {}", known.join(", ")));
        }
        site.benchmark = Some(b.clone());
    }
    let weather = match &args.weather {
        Some(path) => Some(crate::weather::Weather::load(path)?),
        None => None,
    };
    if let Some(w) = &weather {
        // Settle at the first hour's air, not the scene's.
        let (dry, wet) = w.at(dt / 2.0);
        site.ambient.dry_bulb_c = dry;
        site.ambient.wet_bulb_c = wet;
    }
    let mut sim = Simulation::new(site, scenario.clone(), dt)?;
    let annual = weather.zip(args.weather.as_ref()).map(|(w, p)| Annual::new(w, p.display().to_string(), &sim));
    let mut recorder = match &args.record {
        Some(path) => {
            if !(args.record_rate.is_finite() && args.record_rate > 0.0) {
                return Err(format!("--record-rate {}: use a positive number of samples per second", args.record_rate));
            }
            Some(Recorder::create(path, &sim, &scenario, 1.0 / args.record_rate)?)
        }
        None => None,
    };
    let report = run_report(
        &mut sim,
        args.scene.display().to_string(),
        duration,
        args.progress || std::io::stderr().is_terminal(),
        recorder.as_mut(),
        annual,
    )?;
    if let Some(r) = recorder {
        r.finish()?;
    }
    match args.report {
        ReportFormat::Json => emit(&serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
        ReportFormat::Text => emit(text(&report).trim_end()),
    }
    Ok(())
}

/// Runs `sim` for `duration` seconds and reports; with `progress`, draws a bar on stderr.
pub fn run_report(
    sim: &mut Simulation,
    scene: String,
    duration: f64,
    progress: bool,
    mut recorder: Option<&mut Recorder>,
    mut annual: Option<Annual>,
) -> Result<Report, String> {
    let t0 = Instant::now();
    let start = sim.time_s();
    let mut min_output = sim.kpis().output_fraction;
    let mut last_draw = Instant::now();
    if let Some(r) = recorder.as_deref_mut() {
        r.record(sim)?;
    }
    while sim.time_s() + 1e-9 < start + duration {
        if let Some(a) = &annual {
            a.before(sim);
        }
        sim.step();
        if let Some(a) = &mut annual {
            a.after(sim);
        }
        if let Some(r) = recorder.as_deref_mut() {
            r.record(sim)?;
        }
        min_output = min_output.min(sim.kpis().output_fraction);
        if progress && last_draw.elapsed().as_millis() >= 200 {
            last_draw = Instant::now();
            let f = ((sim.time_s() - start) / duration).clamp(0.0, 1.0);
            let bar = "#".repeat((f * 40.0) as usize);
            eprint!("\r[{bar:<40}] {:>5.1} % sim {:.0} s", f * 100.0, sim.time_s());
            let _ = std::io::stderr().flush();
        }
    }
    if progress {
        eprintln!("\r{:60}\r", "");
    }
    let wall = t0.elapsed().as_secs_f64();
    let k = sim.kpis().clone();
    let log = sim.alarm_log();
    let sim_seconds = sim.time_s() - start;
    Ok(Report {
        scene,
        sim_seconds,
        wall_seconds: wall,
        speedup: if wall > 0.0 { sim_seconds / wall } else { f64::INFINITY },
        racks: sim.rack_count(),
        kpis: KpiKeys::from(&k),
        tokens_of: crate::model::mlperf::tokens_of(sim.site()),
        min_output_fraction: min_output,
        throttle_onset_s: sim.throttle_onset_s(),
        alarm_count: log.len(),
        alarms_omitted: log.len().saturating_sub(MAX_REPORTED_ALARMS),
        alarms: log.iter().take(MAX_REPORTED_ALARMS).cloned().collect(),
        weather: annual.map(|a| a.finish(sim)),
    })
}

/// The state of a recording at one time, with the same KPI keys as `simulate`.
#[derive(Debug, Serialize)]
pub struct ReplayReport {
    pub recording: String,
    pub time_s: f64,
    pub seek_ms: f64,
    pub start_s: f64,
    pub end_s: f64,
    pub racks: usize,
    #[serde(flatten)]
    pub kpis: KpiKeys,
    /// What the tokens are of (the recorded scene's benchmark).
    pub tokens_of: String,
    /// First GPU slowdown at or before `time_s`, from the recorded events.
    pub throttle_onset_s: Option<f64>,
    /// Alarms active at `time_s`.
    pub alarms: Vec<Alarm>,
    pub problems: Vec<String>,
}

pub fn replay(args: &ReplayOptions) -> Result<(), String> {
    let mut player = Player::open(&args.recording)?;
    for p in &player.problems {
        eprintln!("warning: {}: {p}", args.recording.display());
    }
    if args.events {
        let events = player.events()?;
        match args.report {
            ReportFormat::Json => emit(&serde_json::to_string_pretty(&events).map_err(|e| e.to_string())?),
            ReportFormat::Text => {
                for a in &events {
                    emit(&format!(
                        "{:>10.1} s  {:<8} {:<7} {:<28} {}",
                        a.time_s,
                        format!("{:?}", a.severity),
                        if a.raised { "raised" } else { "cleared" },
                        a.object,
                        a.message
                    ));
                }
            }
        }
        return Ok(());
    }
    let range = player.time_range();
    let at = match &args.at {
        Some(s) => parse_duration(s).map_err(|e| format!("--at: {e}"))?,
        None => range.end_s,
    };
    if at > range.end_s + 1e-9 || at < range.start_s - 1e-9 {
        eprintln!(
            "warning: --at {at} s is outside the recording ({:.0}–{:.0} s); showing the nearest sample",
            range.start_s, range.end_s
        );
    }
    let t0 = Instant::now();
    let snap = player.seek(at)?;
    let seek_ms = t0.elapsed().as_secs_f64() * 1e3;
    let onset = player
        .events()?
        .iter()
        .find(|a| a.raised && a.kind == crate::sim::AlarmKind::GpuSlowdown && a.time_s <= snap.time_s)
        .map(|a| a.time_s);
    let mut r =
        replay_report(args.recording.display().to_string(), &snap, seek_ms, range, onset, player.problems.clone());
    r.tokens_of = player.tokens_of();
    match args.report {
        ReportFormat::Json => emit(&serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?),
        ReportFormat::Text => {
            emit(&format!(
                "{} at {:.0} s (seek {:.2} ms): IT {:.1} kW, facility {:.1} kW, PUE {:.3}, output {:.1} %, max GPU {:.1} °C, {} active alarms",
                r.recording,
                r.time_s,
                r.seek_ms,
                r.kpis.it_power_kw,
                r.kpis.facility_power_kw,
                r.kpis.pue,
                r.kpis.output_fraction * 100.0,
                r.kpis.max_gpu_temp_c,
                r.alarms.len()
            ));
        }
    }
    Ok(())
}

fn replay_report(
    recording: String,
    s: &Snapshot,
    seek_ms: f64,
    range: crate::recording::TimeRange,
    onset: Option<f64>,
    problems: Vec<String>,
) -> ReplayReport {
    ReplayReport {
        recording,
        time_s: s.time_s,
        seek_ms,
        start_s: range.start_s,
        end_s: range.end_s,
        racks: s.racks.gpu_c.len(),
        kpis: KpiKeys::from(&s.kpis),
        tokens_of: String::new(),
        throttle_onset_s: onset,
        alarms: s.active_alarms.to_vec(),
        problems,
    }
}

/// Tidy CSV: one row per (time, object, metric). Written to a temp file and renamed.
pub fn export(args: &ExportOptions) -> Result<(), String> {
    let mut player = Player::open(&args.recording)?;
    for p in &player.problems {
        eprintln!("warning: {}: {p}", args.recording.display());
    }
    let every = match &args.every {
        Some(s) => parse_duration(s).map_err(|e| format!("--every: {e}"))?,
        None => 0.0,
    };
    let net = crate::sim::network::Network::build(&player.site)?;
    let ids = net.ids.clone();
    let tmp = args.csv.with_extension("csv.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let err = |e: csv::Error| e.to_string();
    w.write_record(["time_s", "object", "kind", "metric", "value"]).map_err(err)?;
    let mut next = f64::NEG_INFINITY;
    let mut rows = 0u64;
    // An earlier build recorded only heat, power and running for CRAHs, dry coolers, chillers.
    let legacy = player.recorded_equipment_values_only();
    let unrecorded = |kind: &str, metric: &str| {
        legacy
            && matches!(kind, "crah" | "dry_cooler" | "chiller")
            && !matches!(metric, "heat_kw" | "power_kw" | "running")
    };
    let written = player.for_each_sample(|s| {
        if s.time_s + 1e-9 < next {
            return Ok(());
        }
        next = s.time_s + every;
        let t = format!("{}", s.time_s);
        let mut row = |object: &str, kind: &str, metric: &str, v: &str| -> Result<(), String> {
            rows += 1;
            w.write_record([t.as_str(), object, kind, metric, v]).map_err(err)
        };
        let k = &s.kpis;
        for (m, v) in [
            ("it_power_kw", k.it_power_kw),
            ("facility_power_kw", k.facility_power_kw),
            ("pue", k.pue),
            ("output_fraction", k.output_fraction),
            ("tokens_per_s", k.tokens_per_s),
            ("possible_tokens_per_s", k.possible_tokens_per_s),
            ("max_gpu_temp_c", k.max_gpu_temp_c),
            ("heat_rejected_kw", k.heat_rejected_kw),
        ] {
            row("site", "site", m, &v.to_string())?;
        }
        // Every recorded column of every object, named as `sim::snapshot` lists them.
        let r = &s.racks;
        for (i, id) in ids.racks.iter().enumerate() {
            for (m, col) in RackStates::VALUES.iter().zip(r.values()) {
                if let Some(v) = col.get(i) {
                    row(id, "rack", m, &v.to_string())?;
                }
            }
        }
        let mut result = Ok(());
        macro_rules! rows_of_each_kind {
            ($($field:ident: $state:ty, $one:literal, $many:literal, $csv:literal;)*) => {
                $(for (x, id) in s.$field.iter().zip(&ids.$field) {
                    x.each(&mut |m, v| {
                        // Recorded as f32 (flags as small integers): printed as the f32 it is.
                        if result.is_ok() && !unrecorded($csv, m) {
                            result = row(id, $csv, m, &(v as f32).to_string());
                        }
                    });
                })*
            };
        }
        object_kinds!(rows_of_each_kind);
        result?;
        Ok(())
    });
    if let Err(e) = written {
        // A recording refused halfway leaves no partial CSV behind.
        drop(w);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let file = w.into_inner().map_err(|e| e.to_string())?;
    file.into_inner().map_err(|e| e.to_string())?.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &args.csv).map_err(|e| format!("cannot write {}: {e}", args.csv.display()))?;
    eprintln!("wrote {} rows to {}", rows, args.csv.display());
    Ok(())
}

fn text(r: &Report) -> String {
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "{}: {} racks, {:.0} s simulated in {:.2} s ({:.0}× real time)",
        r.scene, r.racks, r.sim_seconds, r.wall_seconds, r.speedup
    );
    let _ = writeln!(
        s,
        "  at the end: IT {:.1} kW, facility {:.1} kW, PUE {:.3}",
        r.kpis.it_power_kw, r.kpis.facility_power_kw, r.kpis.pue
    );
    let _ = writeln!(
        s,
        "  output {:.1} % ({:.0} of {:.0} tokens/s of {}), lowest {:.1} %",
        r.kpis.output_fraction * 100.0,
        r.kpis.tokens_per_s,
        r.kpis.possible_tokens_per_s,
        r.tokens_of,
        r.min_output_fraction * 100.0
    );
    let _ = writeln!(
        s,
        "  max GPU {:.1} °C, max inlet {:.1} °C, max coolant {:.1} °C",
        r.kpis.max_gpu_temp_c, r.kpis.max_inlet_air_c, r.kpis.max_coolant_c
    );
    let _ = writeln!(
        s,
        "  heat rejected {:.1} kW, energy balance error {:.4} %",
        r.kpis.heat_rejected_kw,
        r.kpis.energy_balance_error * 100.0
    );
    match r.throttle_onset_s {
        Some(t) => {
            let _ = writeln!(s, "  first GPU throttled at {t:.0} s");
        }
        None => {
            let _ = writeln!(s, "  no GPU throttled");
        }
    }
    let _ = writeln!(s, "  {} alarm events", r.alarm_count);
    if let Some(w) = &r.weather {
        let _ = writeln!(s, "  weather {} ({}), {} hours:", w.location, w.file, w.hours);
        if w.hours_filled > 0 {
            let _ = writeln!(
                s,
                "    {} hours of the file had no dry bulb or humidity and took the hour before's",
                w.hours_filled
            );
        }
        let _ = writeln!(
            s,
            "    IT {:.1} MWh, facility {:.1} MWh, PUE {:.3}, WUE {:.2} L/kWh, output {:.2} %",
            w.it_mwh,
            w.facility_mwh,
            w.pue,
            w.wue_l_per_kwh,
            w.output_fraction * 100.0
        );
        let _ = writeln!(
            s,
            "    {} h on full economiser, {} h with a chiller running ({} chillers); {} h with a GPU throttled, {} h with a rack down",
            w.economiser_hours, w.chiller_hours, w.chillers, w.throttled_hours, w.shutdown_hours
        );
        if let Some(h) = &w.worst_hour {
            let _ = writeln!(
                s,
                "    worst hour {} (hour ending; hour {} of the year from 0): {:.1} °C dry bulb, {:.1} °C wet bulb, PUE {:.3}, output {:.1} %, GPU {:.1} °C",
                h.date,
                h.hour_of_year,
                h.dry_bulb_c,
                h.wet_bulb_c,
                h.pue,
                h.output_fraction * 100.0,
                h.max_gpu_temp_c
            );
        }
        let _ = writeln!(s, "    energy balance over the period {:.5} %", w.energy_balance_error * 100.0);
    }
    const LISTED: usize = 20;
    for a in r.alarms.iter().take(LISTED) {
        let _ = writeln!(
            s,
            "    {:>8.0} s {:?} {} {}: {}",
            a.time_s,
            a.severity,
            if a.raised { "raised" } else { "cleared" },
            a.object,
            a.message
        );
    }
    if r.alarm_count > LISTED {
        let _ = writeln!(s, "    … and {} more (`--report json` lists up to 1000)", r.alarm_count - LISTED);
    }
    s
}

/// Parses `WIDTHxHEIGHT`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("--size {s:?}: expected WIDTHxHEIGHT, e.g. 1600x900, each 64..=8192");
    let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if !(64..=8192).contains(&w) || !(64..=8192).contains(&h) {
        return Err(bad());
    }
    Ok((w, h))
}

/// Simulates a scene to `--at` (or seeks a recording to it) for `render`.
pub fn render_input(args: &RenderOptions) -> Result<Shot, String> {
    let metric = crate::metric::Metric::from_cli(&args.metric).ok_or_else(|| {
        let names: Vec<&str> = crate::metric::Metric::ALL.iter().map(|m| m.cli_name()).collect();
        format!("--metric {:?}: unknown; one of {}", args.metric, names.join(", "))
    })?;
    let size = parse_size(&args.size)?;
    let at = args.at.as_deref().map(parse_duration).transpose().map_err(|e| format!("--at: {e}"))?;
    if let Some(path) = args.input.as_deref().filter(|p| crate::open::is_recording(p)) {
        let mut player = Player::open(path)?;
        for p in &player.problems {
            eprintln!("warning: {}: {p}", path.display());
        }
        let t = at.unwrap_or(player.time_range().end_s);
        let snapshot = player.seek(t)?;
        let name = format!("{} at {:.0} s", path.display(), snapshot.time_s);
        return Ok(Shot {
            name,
            site: player.site.clone(),
            snapshot,
            metric,
            size,
            view: args.view,
            out: args.out.clone(),
        });
    }
    let (name, site) = crate::open::load_scene_or_demo(args.input.as_deref())?;
    let scenario = scenario_from_args(&args.run)?;
    let mut sim = Simulation::new(site.clone(), scenario, 1.0)?;
    let t = at.unwrap_or(0.0);
    while sim.time_s() + 1e-9 < t {
        sim.step();
    }
    let snapshot = sim.snapshot();
    let name = format!("{name} at {:.0} s", snapshot.time_s);
    Ok(Shot { name, site, snapshot, metric, size, view: args.view, out: args.out.clone() })
}

/// `check`: the resilience check (`crate::check`), local, one slice, a plan, or a merge.
#[derive(Debug, Clone)]
pub struct CheckCommand {
    pub scene: Option<std::path::PathBuf>,
    pub duration: String,
    pub at: String,
    pub kinds: Vec<String>,
    pub depth: u8,
    pub jobs: Option<usize>,
    pub dt: String,
    pub ambient: Option<f64>,
    pub report: CheckFormat,
    pub slice: Option<String>,
    pub plan: Option<Plan>,
    pub out: Option<std::path::PathBuf>,
    pub slices: Option<usize>,
    pub merge: Option<std::path::PathBuf>,
    pub yes: bool,
    pub progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    Json,
    Text,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Slurm,
    K8s,
}

pub fn check(args: &CheckCommand) -> Result<(), String> {
    use crate::check::{Check, CheckOptions, SliceResult};
    if let Some(dir) = &args.merge {
        let report = crate::check::merge(read_slices(dir)?)?;
        return emit_check(&report, args.report);
    }
    let scene_path = args.scene.as_ref().ok_or("check: give a SCENE (or --merge DIR)")?;
    let mut kinds = Vec::new();
    for k in &args.kinds {
        let k = k.trim();
        match crate::sim::FailureKind::ALL.iter().find(|(_, n)| *n == k) {
            Some((kind, _)) => kinds.push(*kind),
            None => {
                let known: Vec<&str> = crate::sim::FailureKind::ALL.iter().map(|(_, n)| *n).collect();
                return Err(format!("--kinds: \"{k}\" is not a failure kind; use {}", known.join(", ")));
            }
        }
    }
    let options = CheckOptions {
        duration_s: parse_duration(&args.duration).map_err(|e| format!("--duration: {e}"))?,
        at_s: parse_duration(&args.at).map_err(|e| format!("--at: {e}"))?,
        kinds,
        depth: args.depth,
        dt: parse_duration(&args.dt).map_err(|e| format!("--dt: {e}"))?,
    };
    crate::check::validate_options(&options)?;
    let mut site = load_site(scene_path)?;
    apply_overrides(&mut site, args.ambient, None)?;
    let scene_name = scene_path.display().to_string();
    let net = crate::sim::network::Network::build(&site)?;
    let total = crate::check::candidate_count(&net, &options.kinds, options.depth);
    if total == 0 {
        return Err(format!("{scene_name}: no equipment of the kinds asked for: nothing to fail"));
    }
    if net.racks.is_empty() {
        return Err(format!("{scene_name}: the site has no racks: there is no output to lose"));
    }
    // A plan, and its tasks' slices, are the way to run many pairs: only a local run is held back.
    let local = args.plan.is_none() && args.slice.is_none();
    if options.depth == 2 && total > crate::check::MAX_PAIRS_WITHOUT_YES && !args.yes && local {
        return Err(format!(
            "depth 2 on {scene_name} is {total} pairs of failures (over {}): narrow --kinds, plan it for a cluster \
             (--plan slurm|k8s), or add --yes",
            crate::check::MAX_PAIRS_WITHOUT_YES
        ));
    }
    if let Some(plan) = args.plan {
        let out = args.out.as_ref().ok_or("--plan needs --out DIR")?;
        return write_plan(plan, out, scene_path, args, total);
    }
    let slice = match &args.slice {
        Some(s) => Some(parse_slice(s)?),
        None => None,
    };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err("--jobs 0: use at least 1".into());
    }
    let mine = crate::check::slice_indices(total, slice).len();
    eprintln!(
        "{scene_name}: {}{} on {}",
        plural(mine, "what-if"),
        slice.map(|(i, n)| format!(" (slice {i} of {n}, of {total} in all)")).unwrap_or_default(),
        plural(jobs, "thread")
    );
    let t0 = Instant::now();
    let check = Check::prepare(scene_name, site.clone(), options)?;
    let indices = crate::check::slice_indices(total, slice);
    let draw = args.progress || std::io::stderr().is_terminal();
    let last = std::sync::Mutex::new(Instant::now());
    let outcomes = check.run(&indices, jobs, &|done, of| {
        if !draw {
            return;
        }
        let Ok(mut last) = last.lock() else { return };
        if done < of && last.elapsed().as_millis() < 200 {
            return;
        }
        *last = Instant::now();
        let elapsed = t0.elapsed().as_secs_f64();
        let left = if done > 0 { elapsed / done as f64 * (of - done) as f64 } else { 0.0 };
        let bar = "#".repeat(done * 40 / of.max(1));
        eprint!("\r[{bar:<40}] {done}/{of}, {left:.0} s left ");
        let _ = std::io::stderr().flush();
    });
    if draw {
        eprintln!();
    }
    eprintln!("ran {} in {:.2} s", plural(indices.len(), "what-if"), t0.elapsed().as_secs_f64());
    match slice {
        Some((i, n)) => {
            let text = scene::to_ron(&site).map_err(|e| e.to_string())?;
            let result: SliceResult = check.slice_result(&text, i, n, outcomes);
            emit(&serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?);
            Ok(())
        }
        None => emit_check(&check.report(outcomes), args.report),
    }
}

/// "I/N", 0 ≤ I < N.
fn parse_slice(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--slice {s}: write I/N with 0 ≤ I < N, e.g. 3/16 (Slurm's $SLURM_ARRAY_TASK_ID/N)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 {
        return Err(bad());
    }
    if i >= n {
        return Err(format!("--slice {s}: there are {n} slices, numbered 0 to {}", n - 1));
    }
    Ok((i, n))
}

/// "1 what-if", "3 what-ifs".
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Every `result-*.json` in `dir`, read and parsed; a damaged one is named.
fn read_slices(dir: &std::path::Path) -> Result<Vec<(String, crate::check::SliceResult)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("--merge {}: {e}", dir.display()))?;
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            name.starts_with("result-") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{name}: {e}"))?;
        let slice = serde_json::from_str(&text).map_err(|e| {
            format!("{name}:{}:{}: not a complete check slice ({e}): run that task again", e.line(), e.column())
        })?;
        out.push((name, slice));
    }
    Ok(out)
}

fn emit_check(r: &crate::check::CheckReport, format: CheckFormat) -> Result<(), String> {
    match format {
        CheckFormat::Json => emit(&serde_json::to_string_pretty(r).map_err(|e| e.to_string())?),
        CheckFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let err = |e: csv::Error| e.to_string();
            w.write_record([
                "rank",
                "index",
                "failure",
                "kinds",
                "tokens_lost",
                "gpu_hours_lost",
                "first_throttle_after_s",
                "first_shutdown_after_s",
                "peak_gpu_c",
                "peak_coolant_c",
                "peak_inlet_c",
                "racks_affected",
                "redundancy",
                "costs_output",
            ])
            .map_err(err)?;
            let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
            for (k, o) in r.results.iter().enumerate() {
                w.write_record([
                    (k + 1).to_string(),
                    o.index.to_string(),
                    o.failure.clone(),
                    o.kinds.join("+"),
                    o.tokens_lost.to_string(),
                    o.gpu_hours_lost.to_string(),
                    opt(o.first_throttle_after_s),
                    opt(o.first_shutdown_after_s),
                    o.peak_gpu_c.to_string(),
                    o.peak_coolant_c.to_string(),
                    o.peak_inlet_c.to_string(),
                    o.racks_affected.to_string(),
                    format!("{:?}", o.redundancy),
                    o.costs_output.to_string(),
                ])
                .map_err(err)?;
            }
            let bytes = w.into_inner().map_err(|e| e.to_string())?;
            emit(String::from_utf8_lossy(&bytes).trim_end());
        }
        CheckFormat::Text => emit(check_text(r).trim_end()),
    }
    Ok(())
}

fn check_text(r: &crate::check::CheckReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let o = &r.options;
    let _ = writeln!(
        s,
        "{}: {} {} failures, each from the healthy steady state at {:.0} s for {:.0} s; healthy output {:.0} tokens/s \
         (% out: the tokens lost over what the window would deliver)",
        r.scene,
        r.candidates,
        if o.depth == 2 { "pairs of" } else { "single" },
        o.at_s,
        o.duration_s,
        r.healthy_tokens_per_s
    );
    for k in &r.summary {
        let _ = writeln!(s, "  {}", k.text);
    }
    if o.depth == 2 {
        // Pairs: the summary's line says how many cost output; single failures were not run.
    } else if r.single_points_of_failure.is_empty() {
        let _ = writeln!(s, "  no single failure costs output");
    } else {
        let _ = writeln!(s, "  single points of failure ({}):", r.single_points_of_failure.len());
        for chunk in r.single_points_of_failure.chunks(6) {
            let _ = writeln!(s, "    {}", chunk.join(", "));
        }
    }
    let window = r.healthy_tokens_per_s * o.duration_s;
    let _ = writeln!(
        s,
        "\n{:>4}  {:<40} {:>14} {:>7} {:>10} {:>9} {:>9} {:>8} {:>6}  redundancy",
        "rank", "failure", "tokens lost", "% out", "GPU-h", "throttle", "shutdown", "peak GPU", "racks"
    );
    let when = |t: Option<f64>| t.map_or("—".to_string(), |t| format!("{t:.0} s"));
    for (k, x) in r.results.iter().enumerate() {
        let pair = x.kinds.len() > 1;
        let red = match x.redundancy {
            crate::check::Redundancy::None if x.costs_output && pair => "no spare left: the pair costs output",
            crate::check::Redundancy::None if x.costs_output => "none: single point of failure",
            crate::check::Redundancy::None => "none (no loss)",
            crate::check::Redundancy::Held => "spare held",
            crate::check::Redundancy::Failed => "spare stated, did not hold",
        };
        let pct = if window > 0.0 { 100.0 * x.tokens_lost / window } else { 0.0 };
        let _ = writeln!(
            s,
            "{:>4}  {:<40} {:>14.0} {:>6.1}% {:>10.2} {:>9} {:>9} {:>6.1} °C {:>6}  {red}",
            k + 1,
            x.failure,
            x.tokens_lost,
            pct,
            x.gpu_hours_lost,
            when(x.first_throttle_after_s),
            when(x.first_shutdown_after_s),
            x.peak_gpu_c,
            x.racks_affected
        );
    }
    s
}

/// Writes a scheduler job (atomically) whose task I runs `check --slice I/N` and writes
/// `OUT/result-I.json`; then says how to submit it and merge.
fn write_plan(
    plan: Plan,
    out: &std::path::Path,
    scene: &std::path::Path,
    args: &CheckCommand,
    total: usize,
) -> Result<(), String> {
    let slices = args.slices.unwrap_or_else(|| total.div_ceil(64).max(2)).clamp(1, total.max(1));
    if args.slices == Some(0) {
        return Err("--slices 0: use at least 1".into());
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let abs = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (scene, out_abs) = (abs(scene), abs(out));
    let exe = std::env::current_exe().map(|p| abs(&p)).unwrap_or_else(|_| "factory-twin".into());
    let mut flags = format!("--duration {} --at {} --dt {} --depth {}", args.duration, args.at, args.dt, args.depth);
    if let Some(a) = args.ambient {
        flags.push_str(&format!(" --ambient {a}"));
    }
    if !args.kinds.is_empty() {
        flags.push_str(&format!(" --kinds {}", args.kinds.join(",")));
    }
    if args.yes {
        flags.push_str(" --yes");
    }
    let q = |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let (file, text, submit) = match plan {
        Plan::Slurm => (
            out.join("check.sbatch"),
            format!(
                "#!/bin/bash\n\
                 # factory-twin resilience check: {total} what-ifs in {slices} array tasks.\n\
                 # Submit: sbatch {file}; when all tasks are done: factory-twin check --merge {out}\n\
                 # The binary, the scene and the output folder below must be on a filesystem the\n\
                 # compute nodes share (edit the paths if not); --cpus-per-task is --jobs per task.\n\
                 #SBATCH --job-name=factory-twin-check\n\
                 #SBATCH --array=0-{last}\n\
                 #SBATCH --cpus-per-task={cpus}\n\
                 #SBATCH --output={out}/slurm-%A_%a.out\n\
                 set -euo pipefail\n\
                 i=$SLURM_ARRAY_TASK_ID\n\
                 {exe} check {scene} {flags} --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" --slice \"$i/{slices}\" \\\n  \
                 > {out}/result-$i.json.part\n\
                 mv {out}/result-$i.json.part {out}/result-$i.json\n",
                last = slices - 1,
                cpus = args.jobs.unwrap_or(2).max(1),
                file = q(&out_abs.join("check.sbatch")),
                out = q(&out_abs),
                exe = q(&exe),
                scene = q(&scene),
            ),
            format!("sbatch {}", out_abs.join("check.sbatch").display()),
        ),
        Plan::K8s => (
            out.join("check-job.yaml"),
            format!(
                "# factory-twin resilience check: {total} what-ifs in {slices} indexed pods.\n\
                 # Put the scene and the factory-twin binary in an image (or mount them), mount a\n\
                 # volume at {out} shared by the pods, then: kubectl apply -f check-job.yaml;\n\
                 # when the Job completes: factory-twin check --merge {out}\n\
                 # {out} is the mount path inside the pods; give each run its own Job name.\n\
                 apiVersion: batch/v1\n\
                 kind: Job\n\
                 metadata:\n  name: factory-twin-check-{hash}\n\
                 spec:\n  completionMode: Indexed\n  completions: {slices}\n  parallelism: {slices}\n  backoffLimitPerIndex: 2\n\
                 \x20 template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: check\n        \
                 image: factory-twin:latest  # an image with the binary and the scene\n        \
                 resources:\n          requests:\n            cpu: \"{cpus}\"\n        \
                 command: [\"/bin/sh\", \"-c\"]\n        \
                 args:\n        - >-\n          factory-twin check {scene} {flags} --jobs {cpus} --slice \"$JOB_COMPLETION_INDEX/{slices}\"\n          \
                 > {out}/result-$JOB_COMPLETION_INDEX.json.part &&\n          \
                 mv {out}/result-$JOB_COMPLETION_INDEX.json.part {out}/result-$JOB_COMPLETION_INDEX.json\n        \
                 volumeMounts:\n        - name: results\n          mountPath: {out}\n      \
                 volumes:\n      - name: results\n        persistentVolumeClaim:\n          claimName: factory-twin-check  # ReadWriteMany\n",
                out = out_abs.display(),
                scene = scene.display(),
                hash = &crate::check::fnv(&format!("{} {flags}", scene.display()))[..8],
                cpus = args.jobs.unwrap_or(2).max(1),
            ),
            format!("kubectl apply -f {}", out_abs.join("check-job.yaml").display()),
        ),
    };
    crate::fsutil::write_atomic(&file, text.as_bytes()).map_err(|e| format!("{}: {e}", file.display()))?;
    emit(&format!(
        "wrote {} ({total} what-ifs in {slices} tasks)\nsubmit: {submit}\nthen:   factory-twin check --merge {}",
        file.display(),
        out_abs.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16: a whole year of Chicago's weather on the demo hall (dry coolers) and the mixed
    /// hall (tower chillers behind a dry cooler): the energy taken in from the utility is what
    /// left as heat plus what the site holds more at the end, within 0.5 % (it is ~1e-8), and
    /// the year's hours add up.
    #[test]
    fn a_year_of_weather_balances_and_counts_its_hours() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let weather =
            crate::weather::Weather::load(&root.join("assets/weather/USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw"))
                .unwrap();
        for scene in ["demo-hall.ron", "mixed-air-hall.ron"] {
            let mut site = load_site(&root.join("scenes").join(scene)).unwrap();
            let (dry, wet) = weather.at(30.0);
            site.ambient = crate::model::Ambient { dry_bulb_c: dry, wet_bulb_c: wet };
            let mut sim = Simulation::new(site, Scenario::default(), 60.0).unwrap();
            let annual = Annual::new(weather.clone(), "chicago.epw".into(), &sim);
            let r = run_report(&mut sim, scene.into(), 365.0 * 86400.0, false, None, Some(annual)).unwrap();
            let w = r.weather.unwrap();
            assert_eq!(w.hours, 8760, "{scene}");
            assert!(w.energy_balance_error < 0.005, "{scene}: {}", w.energy_balance_error);
            assert!(w.pue > 1.05 && w.pue < 1.5, "{scene}: PUE {}", w.pue);
            assert!(w.economiser_hours <= 8760 && w.chiller_hours <= 8760);
            if scene == "mixed-air-hall.ron" {
                // Chicago's winter runs on the dry cooler alone, its summer needs the chillers.
                assert!(w.economiser_hours > 2000 && w.chiller_hours > 2000, "{w:?}");
                assert!(w.wue_l_per_kwh > 0.0);
            } else {
                assert_eq!((w.economiser_hours, w.chiller_hours, w.chillers), (8760, 0, 0));
            }
        }
    }
}
