//! The command line: `open` (the default), `validate`, `generate`, and the headless commands
//! that share the domain code. Flags and report keys are promises to users: see README.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};

use crate::generate::{Cooling, GenerateOptions, generate};
use crate::{report, scene};

#[derive(Parser, Debug)]
#[command(name = "factory-twin", version, about = "Digital twin of an AI factory: power, cooling, heat and GPU output")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open a scene in the 3D viewer (the embedded demo hall when no file is given).
    Open(OpenArgs),
    /// Check scene files; prints every problem with file:line:col and exits 1 if any is an error.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print nothing for files that are fine.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Write a valid scene of N racks with cooling and power sized to the load.
    Generate {
        #[arg(long)]
        racks: usize,
        #[arg(long, default_value = "gb300-nvl72")]
        rack_type: String,
        #[arg(long, value_enum, default_value_t = CoolingArg::Liquid)]
        cooling: CoolingArg,
        #[arg(long, default_value_t = 1)]
        halls: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Apply a list of layout edits (RON) to a scene, validate, and write the new scene.
    Edit {
        scene: PathBuf,
        edits: PathBuf,
        /// Where to write the edited scene (never over SCENE unless --in-place).
        #[arg(long, required_unless_present = "in_place", conflicts_with = "in_place")]
        out: Option<PathBuf>,
        /// Write the edited scene over SCENE.
        #[arg(long)]
        in_place: bool,
    },
    /// Run a scene headless as fast as possible and print a report.
    Simulate(SimulateArgs),
    /// Read a recording: the state at a time, or its events.
    Replay(ReplayArgs),
    /// Write a recording's time series for analysts.
    Export(ExportArgs),
    /// Resilience check: every single failure of a design (or every pair) simulated from the
    /// healthy steady state, ranked by the GPU work it costs; on all cores, or sliced for a
    /// Slurm array job or a Kubernetes Indexed Job (--plan) and put back together (--merge).
    Check(CheckArgs),
    /// Write an incident report of a recording: report.html, report.md, events.csv and charts.
    Report(IncidentArgs),
    /// Write a PNG of the default view: a scene simulated to --at, or a recording seeked to it;
    /// with --demo, a demo's story as numbered PNG frames.
    Render(RenderArgs),
    /// Present a demo full screen (the embedded GB300 story when no file is given): ←/→ or
    /// PageUp/PageDown step beats, P pauses, F11 toggles full screen, Esc leaves into the app.
    Demo {
        /// A demo file (RON); see scenes/demos/gb300-story.ron.
        demo: Option<PathBuf>,
    },
    /// Benchmark tool (BENCHMARKS.md): the viewer's per-frame CPU work without a renderer (a
    /// recording: scrubbing across it).
    #[command(hide = true)]
    BenchFrames {
        scene: PathBuf,
        #[arg(long, default_value_t = 300)]
        frames: usize,
        /// Measure layout edits instead: a row moved back and forth, one edit per two frames.
        #[arg(long)]
        edit: bool,
    },
}

/// What happens during a run: shared by `open` and `simulate`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ScenarioArgs {
    /// Scenario file (RON) with timed events and workload profiles.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// KIND[:TARGET]@TIME, e.g. cdu:hall-1/cdu-1@60 or utility@5m; may repeat.
    #[arg(long = "fail", value_name = "KIND[:TARGET]@TIME")]
    pub fail: Vec<String>,
    /// KIND[:TARGET]@TIME: undo a failure; may repeat.
    #[arg(long = "restore", value_name = "KIND[:TARGET]@TIME")]
    pub restore: Vec<String>,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct OpenArgs {
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub run: ScenarioArgs,
    /// Sim seconds per wall second to start at (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The scene to check (not with --merge).
    #[arg(required_unless_present = "merge")]
    pub scene: Option<PathBuf>,
    /// Window each what-if runs after its failure: 90s, 15m, 1h.
    #[arg(long, default_value = "1h")]
    pub duration: String,
    /// When the failure happens, after a healthy run from t = 0 (the steady state).
    #[arg(long, default_value = "600s")]
    pub at: String,
    /// Kinds to try, comma-separated: cdu-pump, cdu, facility-pump, chiller, dry-cooler, crah,
    /// utility, ups, pdu (default: all).
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// 1: every single failure; 2: every pair (refused beyond 20,000 pairs without --yes).
    #[arg(long, default_value_t = 1)]
    pub depth: u8,
    /// Threads (default: every core). Results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Time step: 1s by default.
    #[arg(long, default_value = "1s")]
    pub dt: String,
    /// Outdoor dry bulb, °C, instead of the scene's (a hot day; wet bulb moves with it).
    #[arg(long)]
    pub ambient: Option<f64>,
    #[arg(long, value_enum, default_value_t = CheckReportFormat::Text)]
    pub report: CheckReportFormat,
    /// Run only slice I of N (0-based) and print it as JSON for --merge: what an array task runs.
    #[arg(long, conflicts_with_all = ["plan", "merge"])]
    pub slice: Option<String>,
    /// Write a scheduler job that runs the check in slices: slurm (an sbatch --array script) or
    /// k8s (an Indexed Job manifest), into --out.
    #[arg(long, value_enum, requires = "out", conflicts_with = "merge")]
    pub plan: Option<PlanKind>,
    /// The folder a plan writes to, where its tasks put result-I.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Tasks in the plan (default: one per 64 candidates, at least 2).
    #[arg(long)]
    pub slices: Option<usize>,
    /// Put a plan's result-*.json slices in DIR back into the report a local run gives.
    #[arg(long, value_name = "DIR")]
    pub merge: Option<PathBuf>,
    /// Run a depth-2 check beyond 20,000 pairs.
    #[arg(long)]
    pub yes: bool,
    /// Draw the progress bar even when stderr is not a terminal.
    #[arg(long)]
    pub progress: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckReportFormat {
    Json,
    Text,
    Csv,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    Slurm,
    K8s,
}

impl From<&CheckArgs> for report::CheckCommand {
    fn from(a: &CheckArgs) -> Self {
        report::CheckCommand {
            scene: a.scene.clone(),
            duration: a.duration.clone(),
            at: a.at.clone(),
            kinds: a.kinds.clone(),
            depth: a.depth,
            jobs: a.jobs,
            dt: a.dt.clone(),
            ambient: a.ambient,
            report: match a.report {
                CheckReportFormat::Json => report::CheckFormat::Json,
                CheckReportFormat::Text => report::CheckFormat::Text,
                CheckReportFormat::Csv => report::CheckFormat::Csv,
            },
            slice: a.slice.clone(),
            plan: a.plan.map(|p| match p {
                PlanKind::Slurm => report::Plan::Slurm,
                PlanKind::K8s => report::Plan::K8s,
            }),
            out: a.out.clone(),
            slices: a.slices,
            merge: a.merge.clone(),
            yes: a.yes,
            progress: a.progress,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    pub scene: PathBuf,
    #[command(flatten)]
    pub run: ScenarioArgs,
    /// Outdoor dry bulb, °C, instead of the scene's (wet bulb moves with it).
    #[arg(long)]
    pub ambient: Option<f64>,
    /// Utilization 0..1 of every rack instead of the scene's.
    #[arg(long)]
    pub utilization: Option<f64>,
    /// An EnergyPlus weather file (.epw): the outdoor air follows its hours from 1 January, and
    /// the report adds the year's figures (`weather` key). Not with --ambient.
    #[arg(long, conflicts_with = "ambient")]
    pub weather: Option<PathBuf>,
    /// What the tokens/s are of, instead of the scene's `benchmark`: llama3.1-405b,
    /// llama2-70b, deepseek-r1 (MLPerf Inference v5.1 Server per GPU), or own.
    #[arg(long)]
    pub benchmark: Option<String>,
    /// Sim time to run: 90s, 15m, 2h, 1d, 365d.
    #[arg(long, default_value = "1h")]
    pub duration: String,
    /// Time step: 1s by default.
    #[arg(long, default_value = "1s")]
    pub dt: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub report: ReportFormat,
    /// Record the run to this MCAP file (never overwrites an existing file).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Samples per sim second in the recording.
    #[arg(long, default_value_t = 1.0)]
    pub record_rate: f64,
    /// Draw the progress bar on stderr even when it is not a terminal (for a script watching a
    /// long run).
    #[arg(long)]
    pub progress: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    pub recording: PathBuf,
    /// Print the state at this sim time (90s, 15m, 2h…).
    #[arg(long, conflicts_with = "events")]
    pub at: Option<String>,
    /// List failures, restores and alarms with their times.
    #[arg(long)]
    pub events: bool,
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub report: ReportFormat,
}

#[derive(clap::Args, Debug, Clone)]
pub struct IncidentArgs {
    pub recording: PathBuf,
    /// The folder the report goes to (made if missing; its report files are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Start of the window (sim time: 90s, 15m, 2h…); the recording's start by default.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window; the recording's end by default.
    #[arg(long)]
    pub to: Option<String>,
    /// Leave out the pictures of the view (they need a display and take seconds each).
    #[arg(long)]
    pub no_pictures: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    pub recording: PathBuf,
    /// Write tidy per-object time series (time_s, object, kind, metric, value) as CSV.
    #[arg(long)]
    pub csv: PathBuf,
    /// Keep one sample every this many sim seconds (default: every sample).
    #[arg(long)]
    pub every: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RenderArgs {
    /// A scene (RON) or a recording (MCAP); the embedded demo hall when omitted.
    pub input: Option<PathBuf>,
    /// PNG to write (replaced atomically).
    #[arg(long, required_unless_present = "demo")]
    pub out: Option<PathBuf>,
    /// Render this demo's story (use `embedded` for the default demo) as PNG frames to --frames.
    #[arg(long, requires = "frames", conflicts_with_all = ["input", "out", "at", "view"])]
    pub demo: Option<PathBuf>,
    /// Directory for the demo's frames: frame-00001.png, frame-00002.png, …
    #[arg(long, requires = "demo")]
    pub frames: Option<PathBuf>,
    /// Render quality: high (sun shadows, 4× MSAA) or low (neither).
    #[arg(long, value_enum, default_value_t = QualityArg::High)]
    pub quality: QualityArg,
    /// Frames per second of presentation time in the demo's frames.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
    /// Sim time to show (90s, 15m, 2h…). Default: 0 for a scene (its steady state), the last
    /// sample for a recording.
    #[arg(long)]
    pub at: Option<String>,
    /// Colour by: gpu-temp, inlet-air, coolant, power, utilization, output, headroom.
    #[arg(long, default_value = "gpu-temp")]
    pub metric: String,
    /// Image size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x900")]
    pub size: String,
    /// Camera preset.
    #[arg(long, value_enum, default_value_t = ViewArg::Overview)]
    pub view: ViewArg,
    #[command(flatten)]
    pub run: ScenarioArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewArg {
    Overview,
    Aisle,
    Plan,
}

impl From<ViewArg> for crate::still::ViewPreset {
    fn from(v: ViewArg) -> Self {
        match v {
            ViewArg::Overview => Self::Overview,
            ViewArg::Aisle => Self::Aisle,
            ViewArg::Plan => Self::Plan,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Text,
}

// The headless commands take plain options; clap's structs convert here.
impl From<ReportFormat> for report::ReportFormat {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Json => Self::Json,
            ReportFormat::Text => Self::Text,
        }
    }
}

impl From<&ScenarioArgs> for report::RunOptions {
    fn from(a: &ScenarioArgs) -> Self {
        report::RunOptions { scenario: a.scenario.clone(), fail: a.fail.clone(), restore: a.restore.clone() }
    }
}

impl From<&SimulateArgs> for report::SimulateOptions {
    fn from(a: &SimulateArgs) -> Self {
        report::SimulateOptions {
            scene: a.scene.clone(),
            run: (&a.run).into(),
            ambient: a.ambient,
            utilization: a.utilization,
            weather: a.weather.clone(),
            benchmark: a.benchmark.clone(),
            duration: a.duration.clone(),
            dt: a.dt.clone(),
            report: a.report.into(),
            record: a.record.clone(),
            record_rate: a.record_rate,
            progress: a.progress,
        }
    }
}

impl From<&ReplayArgs> for report::ReplayOptions {
    fn from(a: &ReplayArgs) -> Self {
        report::ReplayOptions {
            recording: a.recording.clone(),
            at: a.at.clone(),
            events: a.events,
            report: a.report.into(),
        }
    }
}

impl From<&ExportArgs> for report::ExportOptions {
    fn from(a: &ExportArgs) -> Self {
        report::ExportOptions { recording: a.recording.clone(), csv: a.csv.clone(), every: a.every.clone() }
    }
}

impl From<&RenderArgs> for report::RenderOptions {
    fn from(a: &RenderArgs) -> Self {
        report::RenderOptions {
            input: a.input.clone(),
            out: a.out.clone().unwrap_or_default(),
            at: a.at.clone(),
            metric: a.metric.clone(),
            size: a.size.clone(),
            view: a.view.into(),
            run: (&a.run).into(),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QualityArg {
    Low,
    High,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum CoolingArg {
    Liquid,
    Air,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => open(OpenArgs { speed: 1.0, ..Default::default() }),
        Some(Command::Open(args)) => open(args),
        Some(Command::Validate { files, quiet }) => validate(&files, quiet),
        Some(Command::Generate { racks, rack_type, cooling, halls, seed, out }) => {
            let cooling = match cooling {
                CoolingArg::Liquid => Cooling::Liquid,
                CoolingArg::Air => Cooling::Air,
            };
            generate_cmd(&GenerateOptions { racks, rack_type, cooling, halls, seed }, &out)
        }
        Some(Command::Edit { scene, edits, out, in_place }) => {
            let out = if in_place { scene.clone() } else { out.unwrap_or_default() };
            edit_cmd(&scene, &edits, &out)
        }
        Some(Command::Simulate(args)) => done(report::simulate(&(&args).into())),
        Some(Command::Replay(args)) => done(report::replay(&(&args).into())),
        Some(Command::Export(args)) => done(report::export(&(&args).into())),
        Some(Command::Check(args)) => done(report::check(&(&args).into())),
        Some(Command::Report(args)) => done(incident_report(&args)),
        Some(Command::Render(args)) => render(args),
        Some(Command::Demo { demo }) => demo_cmd(demo.as_deref()),
        Some(Command::BenchFrames { scene, frames, edit }) => bench_frames(&scene, frames, edit),
    }
}

/// `report`: reads the recording once and writes the report files; prints a JSON summary.
fn incident_report(args: &IncidentArgs) -> Result<(), String> {
    let time = |s: &Option<String>, flag: &str| {
        s.as_deref().map(crate::sim::scenario::parse_duration).transpose().map_err(|e| format!("{flag}: {e}"))
    };
    let (from, to) = (time(&args.from, "--from")?, time(&args.to, "--to")?);
    let started = std::time::Instant::now();
    let mut player = crate::recording::Player::open(&args.recording)?;
    let mut r = crate::incident::review(&mut player, from, to, 1200)?;
    // The reviewers' notes beside the recording go into the report (a broken file is a warning).
    match crate::incident::load_notes(&args.recording) {
        Ok(n) => r.notes = n.notes.into_iter().filter(|n| n.at_s >= r.from_s && n.at_s <= r.to_s).collect(),
        Err(e) => r.problems.push(e),
    }
    for p in &r.problems {
        eprintln!("warning: {}: {p}", args.recording.display());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let pictures = if args.no_pictures { Vec::new() } else { draw_pictures(&r, args) };
    let files = crate::incident::write_report(&r, &args.recording, &args.out, &pictures)?;
    let opt = |t: Option<f64>| t.map_or("null".to_string(), |t| format!("{t}"));
    emit(&format!(
        "{{\"from_s\": {}, \"to_s\": {}, \"samples\": {}, \"events\": {}, \"onset_s\": {}, \"first_throttle_s\": {}, \"first_shutdown_s\": {}, \"back_to_full_s\": {}, \"gpu_hours_lost\": {:.4}, \"tokens_lost\": {:.0}, \"tokens_possible\": {:.0}, \"peak_gpu_c\": {:.2}, \"pue\": {:.4}, \"problems\": {}, \"files\": {}, \"seconds\": {:.2}}}",
        r.from_s,
        r.to_s,
        r.samples,
        r.events.len(),
        opt(r.onset_s),
        opt(r.first_throttle_s),
        opt(r.first_shutdown_s),
        opt(r.back_to_full_s),
        r.gpu_hours_lost,
        r.tokens_lost,
        r.tokens_possible,
        r.peak_gpu_c.0,
        r.pue(),
        r.problems.len(),
        files.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// The view at onset, worst moment and recovery, each drawn by this program's `render` (a
/// display is needed: under Xvfb on a server). What cannot be drawn is said on stderr.
fn draw_pictures(r: &crate::incident::Review, args: &IncidentArgs) -> Vec<crate::incident::Picture> {
    let moments = crate::incident::picture_moments(r);
    if moments.is_empty() {
        return Vec::new();
    }
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!("note: no pictures of the view: they need a display (run under xvfb-run -a), or pass --no-pictures");
        return Vec::new();
    }
    let Ok(me) = std::env::current_exe() else { return Vec::new() };
    let mut out = Vec::new();
    for (stem, caption, t) in moments {
        let file = args.out.join(format!("{stem}.png"));
        let drawn = std::process::Command::new(&me)
            .args(["render", &args.recording.display().to_string(), "--at", &format!("{t}s"), "--size", "1200x675"])
            .arg("--out")
            .arg(&file)
            .output();
        match drawn {
            Ok(o) if o.status.success() => out.push(crate::incident::Picture { caption, time_s: t, file }),
            Ok(o) => {
                let why = String::from_utf8_lossy(&o.stderr);
                let why = why.lines().filter(|l| l.contains("error")).last().unwrap_or("").to_string();
                eprintln!("note: the {stem} picture was not drawn (render exited {}): {why}", o.status)
            }
            Err(e) => eprintln!("note: the {stem} picture was not drawn: {e}"),
        }
    }
    out
}

/// Prints to stdout; a closed pipe (`| head`) ends the program quietly instead of panicking.
pub use crate::report::emit;

fn done(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn validate(files: &[PathBuf], quiet: bool) -> ExitCode {
    let mut failed = false;
    for f in files {
        let name = f.display().to_string();
        let t = Instant::now();
        match scene::load_file(f) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    eprintln!("{}", w.display(&name));
                }
                if !quiet {
                    emit(&format!(
                        "{name}: ok — {} racks in {} halls ({} warnings, {:.1} ms)",
                        loaded.site.rack_count(),
                        loaded.site.halls.len(),
                        loaded.warnings.len(),
                        t.elapsed().as_secs_f64() * 1e3
                    ));
                }
            }
            Err(errors) => {
                failed = true;
                let n = errors.0.iter().filter(|d| d.is_error()).count();
                for d in &errors.0 {
                    eprintln!("{}", d.display(&name));
                }
                eprintln!("{name}: {n} error(s)");
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn generate_cmd(opts: &GenerateOptions, out: &Path) -> ExitCode {
    let t = Instant::now();
    let site = match generate(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = scene::save(&site, out) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "wrote {} ({} racks, {} halls) in {:.0} ms",
        out.display(),
        site.rack_count(),
        site.halls.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}

/// `edit`: exit 1 with `EDITS.ron:line:col` on a bad script or a refused step; nothing is
/// written then.
fn edit_cmd(scene_path: &Path, edits: &Path, out: &Path) -> ExitCode {
    let name = scene_path.display().to_string();
    let mut site = match scene::load_file(scene_path) {
        Ok(l) => l.site,
        Err(e) => {
            for d in &e.0 {
                eprintln!("{}", d.display(&name));
            }
            return ExitCode::FAILURE;
        }
    };
    let text = match std::fs::read_to_string(edits) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", edits.display());
            return ExitCode::FAILURE;
        }
    };
    match crate::edit::script::run(&mut site, &text) {
        Ok(report) => {
            if let Err(e) = scene::save(&site, out) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
            eprintln!("applied {} edits: {} racks; wrote {}", report.steps, report.racks, out.display());
            ExitCode::SUCCESS
        }
        Err(d) => {
            eprintln!("{}", d.display(&edits.display().to_string()));
            ExitCode::FAILURE
        }
    }
}

pub use crate::open::{is_recording, load_scene_or_demo};

#[cfg(feature = "app")]
fn open(args: OpenArgs) -> ExitCode {
    use crate::open::Opened;
    let opened = crate::open::open(args.file.as_deref()).and_then(|o| match o {
        Opened::Scene { name, site } => {
            let scenario = report::scenario_from_args(&(&args.run).into())?;
            Ok((name, site, crate::app::Source::Live { scenario, speed: args.speed }))
        }
        Opened::Recording { name, player } => {
            for p in &player.problems {
                eprintln!("warning: {}: {p}", args.file.as_deref().unwrap_or(Path::new("")).display());
            }
            Ok((name, player.site.clone(), crate::app::Source::Replay(player)))
        }
    });
    match opened {
        Ok((name, site, source)) => crate::app::run(name, site, source),
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

/// The demo file named, or the embedded default (no file, or `embedded`).
fn load_demo(file: Option<&Path>) -> Result<crate::demo::LoadedDemo, String> {
    crate::demo::load(file.filter(|f| *f != Path::new("embedded")))
}

#[cfg(feature = "app")]
fn needs_display(what: &str) -> Option<ExitCode> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!(
            "error: {what} needs a display (X11 or Wayland) to draw on; without one, run it under Xvfb: \
             xvfb-run -a factory-twin {what} ..."
        );
        return Some(ExitCode::from(2));
    }
    None
}

#[cfg(feature = "app")]
fn demo_cmd(file: Option<&Path>) -> ExitCode {
    match load_demo(file) {
        Ok(d) => needs_display("demo").unwrap_or_else(|| crate::app::run_demo(d)),
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "app"))]
fn demo_cmd(file: Option<&Path>) -> ExitCode {
    if let Err(msg) = load_demo(file) {
        eprintln!("{msg}");
        return ExitCode::FAILURE;
    }
    eprintln!("this build has no viewer (built without the `app` feature), so it cannot present a demo");
    ExitCode::FAILURE
}

#[cfg(feature = "app")]
fn render_demo(args: &RenderArgs) -> ExitCode {
    let (Some(demo), Some(dir)) = (&args.demo, &args.frames) else { return ExitCode::from(2) };
    let prepared = load_demo(Some(demo)).and_then(|d| {
        let size = report::parse_size(&args.size)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create the frames directory: {e}", dir.display()))?;
        Ok((d, size))
    });
    match prepared {
        Ok((d, size)) => {
            if let Some(code) = needs_display("render") {
                return code;
            }
            crate::app::render_demo(d, dir.clone(), args.fps, size, args.quality == QualityArg::High)
        }
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "app")]
fn render(args: RenderArgs) -> ExitCode {
    if args.demo.is_some() {
        return render_demo(&args);
    }
    let shot = match report::render_input(&(&args).into()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(code) = needs_display("render") {
        return code;
    }
    crate::app::render(shot, args.quality == QualityArg::High)
}

#[cfg(feature = "app")]
fn bench_frames(scene: &Path, frames: usize, edit: bool) -> ExitCode {
    if scene.extension().is_some_and(|e| e == "mcap") {
        let r = crate::recording::Player::open(scene).and_then(|p| {
            let racks = p.site.rack_count();
            crate::app::frame_stats::headless_scrub(p, frames.max(10)).map(|m| (racks, m))
        });
        return match r {
            Ok((racks, (mean, p50, p95))) => {
                emit(&format!(
                    "{{\"racks\": {racks}, \"frames\": {frames}, \"scrub_ms_mean\": {mean:.3}, \"scrub_ms_p50\": {p50:.3}, \"scrub_ms_p95\": {p95:.3}}}"
                ));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let r = load_scene_or_demo(Some(scene)).and_then(|(_, site)| {
        let racks = site.racks().count();
        let m = if edit {
            crate::app::frame_stats::headless_edit(site, frames.max(10))
        } else {
            crate::app::frame_stats::headless(site, frames.max(10))
        };
        m.map(|m| (racks, m))
    });
    let what = if edit { "edit" } else { "frame" };
    match r {
        Ok((racks, (mean, p50, p95))) => {
            emit(&format!(
                "{{\"racks\": {racks}, \"frames\": {frames}, \"{what}_ms_mean\": {mean:.3}, \"{what}_ms_p50\": {p50:.3}, \"{what}_ms_p95\": {p95:.3}}}"
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "app"))]
fn bench_frames(_scene: &Path, _frames: usize, _edit: bool) -> ExitCode {
    eprintln!("this build has no viewer (built without the `app` feature)");
    ExitCode::from(2)
}

#[cfg(not(feature = "app"))]
fn render(_args: RenderArgs) -> ExitCode {
    eprintln!("this build has no viewer (built without the `app` feature), so it cannot render");
    ExitCode::from(2)
}

#[cfg(not(feature = "app"))]
fn open(_args: OpenArgs) -> ExitCode {
    eprintln!("this build has no viewer (built without the `app` feature); use validate, generate or simulate");
    ExitCode::from(2)
}
