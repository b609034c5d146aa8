//! Incident review from a recording alone: its events, the spans from a failure to its restore,
//! a KPI strip for the timeline, and the incident report (`factory-twin report`, the app's
//! Report button): what failed, what followed, and what it cost in GPU work.
//!
//! Every figure comes from the recorded samples. A sample holds until the next one (the
//! recorder writes one per sim second), so an integral over the run is the sum of
//! value × (next time − this time): the same sum anyone can take over `export --csv`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::recording::Player;
use crate::sim::{Alarm, AlarmKind, AlarmSeverity, Snapshot};

/// A reviewer's note on a recording: a bookmark (a named time) or an annotation (text at a
/// time, or over `at_s..until_s`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub at_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_s: Option<f64>,
    pub text: String,
    #[serde(default)]
    pub bookmark: bool,
}

/// Notes live beside the recording (`RUN.mcap` → `RUN.mcap.notes.ron`): the recording itself is
/// never rewritten.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notes {
    pub version: u32,
    pub notes: Vec<Note>,
}

pub fn notes_path(recording: &Path) -> PathBuf {
    let mut name = recording.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".notes.ron");
    recording.with_file_name(name)
}

/// The notes beside `recording`: none when there is no file; a broken file is an error that
/// says where (the file is left as it is).
pub fn load_notes(recording: &Path) -> Result<Notes, String> {
    let path = notes_path(recording);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Notes { version: 1, notes: Vec::new() }),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    // `until_s: 300.0` as people write it, and `Some(300.0)` as older files had it.
    let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    options.from_str::<Notes>(&text).map_err(|e| {
        format!("{}:{}:{}: {}; fix or remove the file", path.display(), e.span.start.line, e.span.start.col, e.code)
    })
}

/// Writes the notes beside `recording`, atomically; notes in time order.
pub fn save_notes(recording: &Path, notes: &Notes) -> Result<(), String> {
    let mut sorted = notes.clone();
    sorted.version = 1;
    sorted.notes.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    // Tenths of a second: a note is put at a moment on a track, not at a float's last digit.
    let tenth = |t: f64| (t * 10.0).round() / 10.0;
    for n in &mut sorted.notes {
        n.at_s = tenth(n.at_s);
        n.until_s = n.until_s.map(tenth);
    }
    let pretty = ron::ser::PrettyConfig::default().extensions(ron::extensions::Extensions::IMPLICIT_SOME);
    let text = ron::ser::to_string_pretty(&sorted, pretty).map_err(|e| e.to_string())?;
    let path = notes_path(recording);
    crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A picture of the 3D view at a moment of the incident (drawn by `factory-twin render`).
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub caption: String,
    pub time_s: f64,
    /// The PNG file, beside the report.
    pub file: PathBuf,
}

/// The moments worth a picture: onset, the worst moment (lowest output, else the hottest GPU)
/// and back to full output, as (file stem, caption, time).
pub fn picture_moments(r: &Review) -> Vec<(&'static str, String, f64)> {
    let mut out = Vec::new();
    let Some(onset) = r.onset_s else { return out };
    // The sample at the failure's own time is the state just before it: show the next one.
    out.push(("onset", format!("just after onset, {}", clock(onset + 1.0)), onset + 1.0));
    let worst = if r.lowest_output.0 < FULL_OUTPUT { r.lowest_output.1 } else { r.peak_gpu_c.1 };
    if worst > onset {
        out.push(("worst", format!("worst moment, {}", clock(worst)), worst));
    }
    if let Some(t) = r.back_to_full_s {
        out.push(("recovery", format!("back to full output, {}", clock(t)), t));
    }
    out
}

/// Output at or above this fraction counts as full (a rounding hair below 1 is still full).
pub const FULL_OUTPUT: f64 = 0.999;

/// One thing that went wrong, from when it was raised until it cleared (or the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub kind: AlarmKind,
    pub severity: AlarmSeverity,
    pub object: String,
    pub message: String,
    pub start_s: f64,
    /// `None`: still raised when the recording ends.
    pub end_s: Option<f64>,
}

impl Span {
    /// A failure (equipment down) rather than a consequence of one.
    pub fn is_failure(&self) -> bool {
        self.kind == AlarmKind::EquipmentDown
    }
}

/// Pairs each raised event with the next clear of the same kind on the same object.
pub fn spans(events: &[Alarm]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for e in events {
        if e.raised {
            out.push(Span {
                kind: e.kind,
                severity: e.severity,
                object: e.object.clone(),
                message: e.message.clone(),
                start_s: e.time_s,
                end_s: None,
            });
        } else if let Some(open) =
            out.iter_mut().rev().find(|s| s.end_s.is_none() && s.kind == e.kind && s.object == e.object)
        {
            open.end_s = Some(e.time_s);
        }
    }
    out
}

/// The KPIs of one stretch of the run, for the timeline's sparklines: the worst of each
/// (lowest output, hottest GPU) so a one-second dip still shows at any zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StripPoint {
    pub time_s: f64,
    pub output_fraction: f64,
    pub max_gpu_c: f64,
    pub max_coolant_c: f64,
    pub max_inlet_c: f64,
    pub facility_kw: f64,
    pub it_kw: f64,
    pub pue: f64,
}

/// Everything the report says about a window of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub scene: String,
    /// What the tokens are of (`mlperf::tokens_of` of the recorded scene).
    pub tokens_of: String,
    pub from_s: f64,
    pub to_s: f64,
    pub samples: usize,
    pub gpus: u64,
    /// Events inside the window, in time order.
    pub events: Vec<Alarm>,
    pub spans: Vec<Span>,
    /// The first failure in the window, else the first alarm: where the incident starts.
    pub onset_s: Option<f64>,
    pub first_alarm_s: Option<f64>,
    pub first_throttle_s: Option<f64>,
    pub first_shutdown_s: Option<f64>,
    /// After output first fell below full: when it was full again and stayed so to the end.
    pub back_to_full_s: Option<f64>,
    pub lowest_output: (f64, f64),
    pub tokens_possible: f64,
    pub tokens_delivered: f64,
    pub tokens_lost: f64,
    pub gpu_hours_lost: f64,
    /// (value, time) of the peaks.
    pub peak_gpu_c: (f64, f64),
    pub peak_coolant_c: (f64, f64),
    pub peak_inlet_c: (f64, f64),
    pub peak_facility_kw: (f64, f64),
    pub facility_kwh: f64,
    pub it_kwh: f64,
    pub alarms_raised: (usize, usize),
    /// What was wrong with the file: the report covers its readable part.
    pub problems: Vec<String>,
    /// The KPI strip, at most `strip_points` long.
    pub strip: Vec<StripPoint>,
    /// The reviewers' notes of the window (bookmarks and annotations), when there are any.
    pub notes: Vec<Note>,
}

impl Review {
    /// Energy-weighted PUE over the window.
    pub fn pue(&self) -> f64 {
        if self.it_kwh > 0.0 { self.facility_kwh / self.it_kwh } else { f64::NAN }
    }

    pub fn had_incident(&self) -> bool {
        !self.events.is_empty() || self.tokens_lost > 0.0
    }
}

/// Reads the window `from_s..=to_s` (the whole run by default) of a recording once and works
/// out the review, with a strip of at most `strip_points` points.
pub fn review(
    player: &mut Player,
    from_s: Option<f64>,
    to_s: Option<f64>,
    strip_points: usize,
) -> Result<Review, String> {
    let range = player.time_range();
    let from = from_s.unwrap_or(range.start_s).max(range.start_s);
    let to = to_s.unwrap_or(range.end_s).min(range.end_s);
    if to < from {
        return Err(format!(
            "the window {from:.0}..{to:.0} s is empty: the recording runs {:.0}..{:.0} s",
            range.start_s, range.end_s
        ));
    }
    let mut problems = player.problems.clone();
    let events: Vec<Alarm> = match player.events() {
        Ok(e) => e,
        Err(e) => {
            problems.push(format!("events could not all be read: {e}"));
            Vec::new()
        }
    };
    let gpus = {
        let catalogue = player.site.rack_catalogue();
        player
            .site
            .racks()
            .filter_map(|p| p.rack_type().and_then(|t| catalogue.iter().find(|c| c.id == t)))
            .map(|t| t.gpus as u64)
            .sum()
    };
    let mut acc = Accumulator::new(from, to, strip_points.max(2));
    if let Err(e) = player.samples_between(from, to, |s| {
        acc.add(s);
        Ok(())
    }) {
        // A damaged chunk: what came before it still makes a report, with the reason in it.
        problems.push(format!("stopped reading at {:.0} s: {e}", acc.last_s()));
    }
    let in_window: Vec<Alarm> = events.into_iter().filter(|e| e.time_s >= from && e.time_s <= to).collect();
    let spans = spans(&in_window);
    let first_alarm_s = in_window.iter().find(|e| e.raised && e.kind != AlarmKind::EquipmentDown).map(|e| e.time_s);
    let onset_s = spans.iter().find(|s| s.is_failure()).map(|s| s.start_s).or(first_alarm_s);
    let raised = |sev| in_window.iter().filter(|e| e.raised && e.severity == sev).count();
    Ok(acc.finish(Review {
        scene: player.site.name.clone(),
        tokens_of: player.tokens_of(),
        from_s: from,
        to_s: to,
        samples: 0,
        gpus,
        alarms_raised: (raised(AlarmSeverity::Warning), raised(AlarmSeverity::Critical)),
        events: in_window,
        spans,
        onset_s,
        first_alarm_s,
        first_throttle_s: None,
        first_shutdown_s: None,
        back_to_full_s: None,
        lowest_output: (1.0, from),
        tokens_possible: 0.0,
        tokens_delivered: 0.0,
        tokens_lost: 0.0,
        gpu_hours_lost: 0.0,
        peak_gpu_c: (f64::NEG_INFINITY, from),
        peak_coolant_c: (f64::NEG_INFINITY, from),
        peak_inlet_c: (f64::NEG_INFINITY, from),
        peak_facility_kw: (f64::NEG_INFINITY, from),
        facility_kwh: 0.0,
        it_kwh: 0.0,
        problems,
        strip: Vec::new(),
        notes: Vec::new(),
    }))
}

/// One pass over the samples: integrals, peaks, firsts and the strip.
struct Accumulator {
    prev: Option<Snapshot>,
    samples: usize,
    first_throttle: Option<f64>,
    first_shutdown: Option<f64>,
    dipped: bool,
    full_since: Option<f64>,
    lowest: (f64, f64),
    possible: f64,
    delivered: f64,
    lost: f64,
    idle_fraction_s: f64,
    peak_gpu: (f64, f64),
    peak_coolant: (f64, f64),
    peak_inlet: (f64, f64),
    peak_facility: (f64, f64),
    facility_kj: f64,
    it_kj: f64,
    bucket_s: f64,
    bucket: Option<StripPoint>,
    bucket_n: usize,
    strip: Vec<StripPoint>,
}

impl Accumulator {
    fn new(from: f64, to: f64, points: usize) -> Accumulator {
        Accumulator {
            prev: None,
            samples: 0,
            first_throttle: None,
            first_shutdown: None,
            dipped: false,
            full_since: None,
            lowest: (f64::INFINITY, from),
            possible: 0.0,
            delivered: 0.0,
            lost: 0.0,
            idle_fraction_s: 0.0,
            peak_gpu: (f64::NEG_INFINITY, from),
            peak_coolant: (f64::NEG_INFINITY, from),
            peak_inlet: (f64::NEG_INFINITY, from),
            peak_facility: (f64::NEG_INFINITY, from),
            facility_kj: 0.0,
            it_kj: 0.0,
            bucket_s: ((to - from) / points as f64).max(1e-9),
            bucket: None,
            bucket_n: 0,
            strip: Vec::with_capacity(points + 1),
        }
    }

    fn last_s(&self) -> f64 {
        self.prev.as_ref().map_or(0.0, |s| s.time_s)
    }

    fn add(&mut self, s: &Snapshot) {
        let k = &s.kpis;
        let t = s.time_s;
        // The previous sample held until this one.
        if let Some(p) = &self.prev {
            let dt = t - p.time_s;
            let q = &p.kpis;
            self.possible += q.possible_tokens_per_s * dt;
            self.delivered += q.tokens_per_s * dt;
            self.lost += (q.possible_tokens_per_s - q.tokens_per_s) * dt;
            self.idle_fraction_s += (1.0 - q.output_fraction) * dt;
            self.facility_kj += q.facility_power_kw * dt;
            self.it_kj += q.it_power_kw * dt;
        }
        self.samples += 1;
        if k.racks_throttled > 0 && self.first_throttle.is_none() {
            self.first_throttle = Some(t);
        }
        if k.racks_shutdown > 0 && self.first_shutdown.is_none() {
            self.first_shutdown = Some(t);
        }
        if k.output_fraction < FULL_OUTPUT {
            self.dipped = true;
            self.full_since = None;
        } else if self.dipped && self.full_since.is_none() {
            self.full_since = Some(t);
        }
        let peak = |p: &mut (f64, f64), v: f64| {
            if v > p.0 {
                *p = (v, t);
            }
        };
        peak(&mut self.peak_gpu, k.max_gpu_temp_c);
        peak(&mut self.peak_coolant, k.max_coolant_c);
        peak(&mut self.peak_inlet, k.max_inlet_air_c);
        peak(&mut self.peak_facility, k.facility_power_kw);
        if k.output_fraction < self.lowest.0 {
            self.lowest = (k.output_fraction, t);
        }
        // The strip: the worst of each bucket; power and PUE averaged.
        let point = StripPoint {
            time_s: t,
            output_fraction: k.output_fraction,
            max_gpu_c: k.max_gpu_temp_c,
            max_coolant_c: k.max_coolant_c,
            max_inlet_c: k.max_inlet_air_c,
            facility_kw: k.facility_power_kw,
            it_kw: k.it_power_kw,
            pue: k.pue,
        };
        match &mut self.bucket {
            Some(b) if t < b.time_s + self.bucket_s => {
                self.bucket_n += 1;
                let n = self.bucket_n as f64;
                b.output_fraction = b.output_fraction.min(point.output_fraction);
                b.max_gpu_c = b.max_gpu_c.max(point.max_gpu_c);
                b.max_coolant_c = b.max_coolant_c.max(point.max_coolant_c);
                b.max_inlet_c = b.max_inlet_c.max(point.max_inlet_c);
                b.facility_kw += (point.facility_kw - b.facility_kw) / n;
                b.it_kw += (point.it_kw - b.it_kw) / n;
                b.pue += (point.pue - b.pue) / n;
            }
            slot => {
                if let Some(done) = slot.replace(point) {
                    self.strip.push(done);
                }
                self.bucket_n = 1;
            }
        }
        self.prev = Some(s.clone());
    }

    fn finish(mut self, mut r: Review) -> Review {
        if let Some(b) = self.bucket.take() {
            self.strip.push(b);
        }
        r.samples = self.samples;
        r.first_throttle_s = self.first_throttle;
        r.first_shutdown_s = self.first_shutdown;
        r.back_to_full_s = self.full_since;
        if self.lowest.0.is_finite() {
            r.lowest_output = self.lowest;
        }
        r.tokens_possible = self.possible;
        r.tokens_delivered = self.delivered;
        r.tokens_lost = self.lost;
        r.gpu_hours_lost = self.idle_fraction_s * r.gpus as f64 / 3600.0;
        r.peak_gpu_c = self.peak_gpu;
        r.peak_coolant_c = self.peak_coolant;
        r.peak_inlet_c = self.peak_inlet;
        r.peak_facility_kw = self.peak_facility;
        r.facility_kwh = self.facility_kj / 3600.0;
        r.it_kwh = self.it_kj / 3600.0;
        r.strip = self.strip;
        r
    }
}

// ---- The report files ------------------------------------------------------------------------

/// `h:mm:ss` of sim time.
pub fn clock(t: f64) -> String {
    let t = t.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

fn after(onset: Option<f64>, t: Option<f64>) -> String {
    match (onset, t) {
        (_, None) => "—".into(),
        (Some(o), Some(t)) => format!("{} (+{:.0} s)", clock(t), t - o),
        (None, Some(t)) => clock(t),
    }
}

/// Tokens in words a manager reads: 1.23 G, 456 M.
pub fn amount(x: f64) -> String {
    let a = x.abs();
    if a >= 1e12 {
        format!("{:.2} T", x / 1e12)
    } else if a >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if a >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// The headline figures as (label, value) rows, shared by the HTML and Markdown reports.
pub fn figures(r: &Review) -> Vec<(&'static str, String)> {
    let pct = if r.tokens_possible > 0.0 { 100.0 * r.tokens_lost / r.tokens_possible } else { 0.0 };
    vec![
        ("Window", format!("{} – {} ({} samples)", clock(r.from_s), clock(r.to_s), r.samples)),
        ("Incident starts", r.onset_s.map_or("—".into(), clock)),
        ("First alarm", after(r.onset_s, r.first_alarm_s)),
        ("First GPU throttling", after(r.onset_s, r.first_throttle_s)),
        ("First GPU shutdown", after(r.onset_s, r.first_shutdown_s)),
        ("Back to full output", after(r.onset_s, r.back_to_full_s)),
        ("Lowest output", format!("{:.1} % at {}", 100.0 * r.lowest_output.0, clock(r.lowest_output.1))),
        ("Output lost", format!("{:.2} GPU-hours of {} GPUs", r.gpu_hours_lost, r.gpus)),
        ("Tokens lost", format!("{} of {} possible ({pct:.3} %)", amount(r.tokens_lost), amount(r.tokens_possible))),
        ("Tokens are of", r.tokens_of.clone()),
        ("Peak GPU temperature", format!("{:.1} °C at {}", r.peak_gpu_c.0, clock(r.peak_gpu_c.1))),
        ("Peak coolant temperature", format!("{:.1} °C at {}", r.peak_coolant_c.0, clock(r.peak_coolant_c.1))),
        ("Peak rack inlet air", format!("{:.1} °C at {}", r.peak_inlet_c.0, clock(r.peak_inlet_c.1))),
        ("Alarms raised", format!("{} critical, {} warning", r.alarms_raised.1, r.alarms_raised.0)),
        ("PUE over the window", format!("{:.3}", r.pue())),
        (
            "Facility power",
            format!(
                "peak {:.0} kW at {}; {:.0} kWh in the window",
                r.peak_facility_kw.0,
                clock(r.peak_facility_kw.1),
                r.facility_kwh
            ),
        ),
    ]
}

fn note_time(n: &Note) -> String {
    match n.until_s {
        Some(u) => format!("{} – {}", clock(n.at_s), clock(u)),
        None => clock(n.at_s),
    }
}

fn note_text(n: &Note) -> String {
    if n.bookmark { format!("bookmark: {}", n.text) } else { n.text.clone() }
}

fn severity(s: AlarmSeverity) -> &'static str {
    match s {
        AlarmSeverity::Warning => "warning",
        AlarmSeverity::Critical => "critical",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A line chart as inline SVG: the series over the window, failures shaded from start to
/// restore, events as ticks along the bottom.
pub fn svg_chart(r: &Review, title: &str, unit: &str, series: &[(&str, &str, Vec<(f64, f64)>)]) -> String {
    let (w, h, left, right, top, bottom) = (860.0, 220.0, 56.0, 12.0, 26.0, 28.0);
    let (x0, x1) = (r.from_s, r.to_s.max(r.from_s + 1.0));
    let values = series.iter().flat_map(|s| s.2.iter().map(|p| p.1)).filter(|v| v.is_finite());
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    // Round ticks (1, 2 or 5 times a power of ten), the axis on whole ticks; quantities that
    // cannot go negative keep it at or above zero.
    let step = nice_step((hi - lo).max(1e-6) / 4.0);
    let floor = (lo / step).floor() * step;
    (lo, hi) = (if lo >= 0.0 { floor.max(0.0) } else { floor }, ((hi / step).ceil() * step).max(floor + step));
    let x = |t: f64| left + (t - x0) / (x1 - x0) * (w - left - right);
    let y = |v: f64| top + (hi - v) / (hi - lo) * (h - top - bottom);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"##
    );
    let _ = write!(s, r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##);
    let _ = write!(
        s,
        r##"<text x="{left}" y="16" font-size="13"><tspan font-weight="bold">{}</tspan> · {}</text>"##,
        escape(title),
        escape(unit)
    );
    for span in r.spans.iter().filter(|s| s.is_failure()) {
        let (a, b) = (x(span.start_s.max(x0)), x(span.end_s.unwrap_or(x1).min(x1)));
        let _ = write!(
            s,
            r##"<rect x="{a:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="#e8554e" fill-opacity="0.12"><title>{} down</title></rect>"##,
            (b - a).max(1.0),
            h - top - bottom,
            escape(&span.object)
        );
    }
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    let ticks = ((hi - lo) / step).round() as usize;
    for i in 0..=ticks.min(12) {
        let v = lo + step * i as f64;
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#dddddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{v:.decimals$}</text>"##,
            w - right,
            left - 4.0,
            y(v) + 4.0,
            yy = y(v)
        );
    }
    for i in 0..=4 {
        let t = x0 + (x1 - x0) * i as f64 / 4.0;
        let anchor = ["start", "middle", "middle", "middle", "end"][i];
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="{anchor}" fill="#555">{}</text>"##,
            x(t),
            h - 8.0,
            clock(t)
        );
    }
    for e in r.events.iter().filter(|e| e.raised) {
        let c = if e.severity == AlarmSeverity::Critical { "#d62728" } else { "#ff9f1a" };
        let _ = write!(
            s,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="2"><title>{} {}: {}</title></line>"##,
            h - bottom,
            h - bottom + 6.0,
            clock(e.time_s),
            escape(&e.object),
            escape(&e.message),
            xx = x(e.time_s)
        );
    }
    for (name, colour, points) in series {
        let mut d = String::new();
        for (i, (t, v)) in points.iter().filter(|p| p.1.is_finite()).enumerate() {
            let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, x(*t), y(*v));
        }
        let _ = write!(
            s,
            r##"<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6"><title>{}</title></path>"##,
            escape(name)
        );
    }
    let mut lx = w - right;
    for (name, colour, _) in series.iter().rev() {
        lx -= 26.0 + 6.5 * name.len() as f64;
        let _ = write!(
            s,
            r##"<rect x="{lx:.1}" y="8" width="10" height="3" fill="{colour}"/><text x="{:.1}" y="14">{}</text>"##,
            lx + 13.0,
            escape(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A tick step near `raw`: 1, 2 or 5 times a power of ten.
pub fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.log10().floor());
    let f = raw / p;
    p * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// The report's three charts: (file stem, title, svg).
pub fn charts(r: &Review) -> Vec<(&'static str, String)> {
    let col = |f: fn(&StripPoint) -> f64| r.strip.iter().map(|p| (p.time_s, f(p))).collect::<Vec<_>>();
    vec![
        (
            "output",
            svg_chart(
                r,
                "Factory output",
                "% of possible",
                &[("output", "#2a7de1", col(|p| 100.0 * p.output_fraction))],
            ),
        ),
        (
            "temperatures",
            svg_chart(
                r,
                "Hottest GPU, coolant and rack inlet",
                "°C",
                &[
                    ("GPU", "#d62728", col(|p| p.max_gpu_c)),
                    ("coolant", "#1f9e89", col(|p| p.max_coolant_c)),
                    ("inlet air", "#9467bd", col(|p| p.max_inlet_c)),
                ],
            ),
        ),
        (
            "power",
            svg_chart(
                r,
                "Facility and IT power",
                "kW",
                &[("facility", "#555555", col(|p| p.facility_kw)), ("IT", "#2a7de1", col(|p| p.it_kw))],
            ),
        ),
    ]
}

fn headline(r: &Review) -> String {
    if !r.had_incident() {
        return "No incident: no failure, no alarm and no output lost in this window.".into();
    }
    // A failure's own entry reads "<kind> failed (<target>)": name the kind with the target
    // ("cdu hall-1"), since a target may be a prefix naming a whole hall. Entries that follow
    // from one (a chiller out of service while it restarts) are not failures of their own.
    let mut names: Vec<String> = Vec::new();
    for s in r.spans.iter().filter(|s| s.is_failure()) {
        let name = match s.message.split_once(" failed (") {
            Some((kind, target)) => format!("{kind} {}", target.trim_end_matches(')')),
            None => s.object.clone(),
        };
        if !names.contains(&name) && !names.iter().any(|n| n.ends_with(&format!(" {}", s.object))) {
            names.push(name);
        }
    }
    let what = names.join(", ");
    let what = if what.is_empty() { "no equipment failed".into() } else { format!("{what} failed") };
    format!(
        "{what}; the site lost {:.2} GPU-hours of output ({} tokens), lowest output {:.1} %.",
        r.gpu_hours_lost,
        amount(r.tokens_lost),
        100.0 * r.lowest_output.0
    )
}

/// The whole report as one self-contained HTML page (pictures inlined).
pub fn html(r: &Review, recording: &str, pictures: &[Picture]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Incident report — {scene}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:900px;margin:24px auto;color:#222;padding:0 12px}}
h1{{font-size:22px;margin-bottom:4px}}.sub{{color:#666;margin-top:0}}.lead{{font-size:17px;background:#f4f6fa;padding:10px 14px;border-left:4px solid #2a7de1}}
table{{border-collapse:collapse;width:100%;margin:8px 0 18px}}td,th{{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:left;font-size:14px}}
th{{background:#fafafa}}.crit{{color:#c0262d;font-weight:600}}.warn{{color:#b26b00}}.ok{{color:#2a7d3a}}.problem{{background:#fff4e0;padding:8px 12px;border-left:4px solid #ff9f1a}}
svg{{max-width:100%;height:auto;margin:6px 0}}</style></head><body>
<h1>Incident report — {scene}</h1><p class="sub">{recording} · factory-twin</p>"##,
        scene = escape(&r.scene),
        recording = escape(recording)
    );
    for p in &r.problems {
        let _ = write!(s, r#"<p class="problem">Warning: {}. The report covers the readable part.</p>"#, escape(p));
    }
    let _ = write!(s, r#"<p class="lead">{}</p>"#, escape(&headline(r)));
    s.push_str("<h2>Figures</h2><table>");
    for (k, v) in figures(r) {
        let _ = write!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&v));
    }
    s.push_str("</table><h2>Charts</h2>");
    for (_, svg) in charts(r) {
        s.push_str(&svg);
    }
    if !pictures.is_empty() {
        use base64::Engine as _;
        s.push_str("<h2>The view</h2>");
        for p in pictures {
            let Ok(png) = std::fs::read(&p.file) else { continue };
            let data = base64::engine::general_purpose::STANDARD.encode(png);
            let _ = write!(
                s,
                r#"<figure><img alt="{c}" style="max-width:100%" src="data:image/png;base64,{data}"><figcaption>{c}</figcaption></figure>"#,
                c = escape(&p.caption)
            );
        }
    }
    if !r.notes.is_empty() {
        s.push_str("<h2>Notes</h2><table><tr><th>Time</th><th>Note</th></tr>");
        for n in &r.notes {
            let _ = write!(s, "<tr><td>{}</td><td>{}</td></tr>", escape(&note_time(n)), escape(&note_text(n)));
        }
        s.push_str("</table>");
    }
    s.push_str("<h2>Timeline</h2>");
    if r.events.is_empty() {
        s.push_str("<p>No events in this window.</p>");
    } else {
        s.push_str("<table><tr><th>Time</th><th>Severity</th><th>Object</th><th>What</th></tr>");
        for e in &r.events {
            let class = match (e.raised, e.severity) {
                (false, _) => "ok",
                (true, AlarmSeverity::Critical) => "crit",
                (true, AlarmSeverity::Warning) => "warn",
            };
            let what = if e.raised { e.message.clone() } else { format!("cleared: {}", e.message) };
            let _ = write!(
                s,
                r#"<tr><td>{}</td><td class="{class}">{}</td><td>{}</td><td>{}</td></tr>"#,
                clock(e.time_s),
                if e.raised { severity(e.severity) } else { "cleared" },
                escape(&e.object),
                escape(&what)
            );
        }
        s.push_str("</table>");
    }
    let _ = write!(
        s,
        "<p class=\"sub\">Tokens lost are the recording's possible tokens/s minus its delivered tokens/s, each sample held \
         until the next; GPU-hours lost are the {} GPUs times the output shortfall over the same time.</p></body></html>",
        r.gpus
    );
    s
}

/// The same report in Markdown, for wikis and postmortems; charts and pictures are the files
/// beside it.
pub fn markdown(r: &Review, recording: &str, pictures: &[Picture]) -> String {
    let mut s = format!("# Incident report — {}\n\n`{recording}`\n\n", r.scene);
    for p in &r.problems {
        let _ = writeln!(s, "> **Warning:** {p}. The report covers the readable part.\n");
    }
    let _ = writeln!(s, "**{}**\n\n## Figures\n\n| | |\n|---|---|", headline(r));
    for (k, v) in figures(r) {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    s.push_str("\n## Charts\n\n");
    for (name, _) in charts(r) {
        let _ = writeln!(s, "![{name}]({name}.svg)\n");
    }
    for p in pictures {
        let file = p.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = writeln!(s, "![{}]({file})\n", p.caption);
    }
    if !r.notes.is_empty() {
        s.push_str("## Notes\n\n| time | note |\n|---|---|\n");
        for n in &r.notes {
            let _ = writeln!(s, "| {} | {} |", note_time(n), note_text(n).replace('|', "/"));
        }
        s.push('\n');
    }
    s.push_str("## Timeline\n\n");
    if r.events.is_empty() {
        s.push_str("No events in this window.\n");
    } else {
        s.push_str("| time | severity | object | what |\n|---|---|---|---|\n");
        for e in &r.events {
            let sev = if e.raised { severity(e.severity) } else { "cleared" };
            let _ = writeln!(s, "| {} | {sev} | {} | {} |", clock(e.time_s), e.object, e.message.replace('|', "/"));
        }
    }
    s
}

/// Every event in the window as CSV: time, severity, kind, object, raised or cleared, message.
pub fn events_csv(r: &Review) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| e.to_string();
    w.write_record(["time_s", "severity", "kind", "object", "state", "message"]).map_err(err)?;
    for e in &r.events {
        w.write_record([
            format!("{}", e.time_s),
            severity(e.severity).to_string(),
            format!("{:?}", e.kind),
            e.object.clone(),
            if e.raised { "raised" } else { "cleared" }.to_string(),
            e.message.clone(),
        ])
        .map_err(err)?;
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

/// Writes `report.html`, `report.md`, `events.csv` and the charts as SVG into `dir` (each file
/// atomically); returns the files written.
pub fn write_report(r: &Review, recording: &Path, dir: &Path, pictures: &[Picture]) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = recording.display().to_string();
    let mut files: Vec<(String, String)> = vec![
        ("report.html".into(), html(r, &name, pictures)),
        ("report.md".into(), markdown(r, &name, pictures)),
        ("events.csv".into(), events_csv(r)?),
    ];
    files.extend(charts(r).into_iter().map(|(stem, svg)| (format!("{stem}.svg"), svg)));
    let mut written: Vec<PathBuf> = pictures.iter().map(|p| p.file.clone()).collect();
    for (file, text) in files {
        let path = dir.join(file);
        crate::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::Recorder;
    use crate::scene;
    use crate::sim::{Action, Event, Failure, FailureKind, Scenario, Simulation};

    fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ft-incident-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    /// The demo hall for `seconds`, its CDU failed at 60 s and restored at 300 s when `fail`.
    fn record(path: &Path, seconds: usize, fail: bool) {
        let cdu = Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() };
        let events = if fail {
            vec![
                Event { at_s: 60.0, action: Action::Fail(cdu.clone()) },
                Event { at_s: 300.0, action: Action::Restore(cdu) },
            ]
        } else {
            Vec::new()
        };
        let scenario = Scenario { events, ..Default::default() };
        let mut sim = Simulation::new(scene::parse(scene::DEMO_SCENE).unwrap().site, scenario.clone(), 1.0).unwrap();
        let mut rec = Recorder::create(path, &sim, &scenario, 1.0).unwrap();
        rec.record(&mut sim).unwrap();
        for _ in 0..seconds {
            sim.step();
            rec.record(&mut sim).unwrap();
        }
        rec.finish().unwrap();
    }

    fn alarm(t: f64, object: &str, kind: AlarmKind, raised: bool) -> Alarm {
        Alarm { time_s: t, severity: AlarmSeverity::Critical, kind, object: object.into(), message: "m".into(), raised }
    }

    #[test]
    fn chart_ticks_are_round_numbers() {
        assert_eq!([nice_step(27.0), nice_step(1.3), nice_step(0.04), nice_step(4_600.0)], [50.0, 2.0, 0.05, 5_000.0]);
    }

    #[test]
    fn spans_pair_each_raise_with_the_next_clear_of_the_same_kind_and_object() {
        let down = AlarmKind::EquipmentDown;
        let events = [
            alarm(1.0, "cdu-1", down, true),
            alarm(2.0, "cdu-2", down, false),
            alarm(3.0, "cdu-1", AlarmKind::CduNoFlow, true),
            alarm(4.0, "cdu-1", down, false),
            alarm(5.0, "cdu-1", down, true),
        ];
        let s = spans(&events);
        let got: Vec<(f64, Option<f64>, bool)> = s.iter().map(|s| (s.start_s, s.end_s, s.is_failure())).collect();
        assert_eq!(got, [(1.0, Some(4.0), true), (3.0, None, false), (5.0, None, true)]);
    }

    /// The report's tokens and GPU-hours lost are the sums anyone can take over `export --csv`:
    /// (possible − delivered tokens/s) and (1 − output) of each sample times the time to the next.
    #[test]
    fn output_lost_equals_the_sum_over_the_exported_csv() {
        let (rec, csv) = (tmp("lost.mcap"), tmp("lost.csv"));
        record(&rec, 480, true);
        let r = review(&mut Player::open(&rec).unwrap(), None, None, 100).unwrap();
        crate::report::export(&crate::report::ExportOptions { recording: rec.clone(), csv: csv.clone(), every: None })
            .unwrap();
        let mut rows: std::collections::BTreeMap<String, (f64, f64, f64, f64)> = Default::default();
        for row in csv::Reader::from_path(&csv).unwrap().records() {
            let row = row.unwrap();
            if &row[1] != "site" {
                continue;
            }
            let e = rows.entry(format!("{:012.3}", row[0].parse::<f64>().unwrap())).or_default();
            e.0 = row[0].parse().unwrap();
            let v: f64 = row[4].parse().unwrap();
            match &row[3] {
                "tokens_per_s" => e.1 = v,
                "possible_tokens_per_s" => e.2 = v,
                "output_fraction" => e.3 = v,
                _ => {}
            }
        }
        let samples: Vec<(f64, f64, f64, f64)> = rows.into_values().collect();
        let (mut lost, mut idle) = (0.0, 0.0);
        for w in samples.windows(2) {
            lost += (w[0].2 - w[0].1) * (w[1].0 - w[0].0);
            idle += (1.0 - w[0].3) * (w[1].0 - w[0].0);
        }
        assert!(r.tokens_lost > 1e6, "the failure cost output: {}", r.tokens_lost);
        assert_eq!(format!("{:.0}", r.tokens_lost), format!("{lost:.0}"));
        assert_eq!(format!("{:.4}", r.gpu_hours_lost), format!("{:.4}", idle * r.gpus as f64 / 3600.0));
        assert_eq!(r.samples, samples.len());
        // The story in order: the failure, then throttling, then full output again after the restore.
        let (onset, throttle, full) = (r.onset_s.unwrap(), r.first_throttle_s.unwrap(), r.back_to_full_s.unwrap());
        assert!(onset == 60.0 && throttle > onset && full > 300.0, "{onset} {throttle} {full}");
        assert!(r.spans.iter().any(|s| s.is_failure() && s.object == "hall-1/cdu-1" && s.end_s == Some(300.0)));
        let dir = tmp("lost-report");
        let files = write_report(&r, &rec, &dir, &[]).unwrap();
        assert_eq!(files.len(), 6);
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert!(html.contains("cdu hall-1/cdu-1 failed") && html.matches("<svg").count() == 3, "{html}");
        assert!(!html.contains("<script") && !html.contains("src=\"http"), "self-contained: no scripts, no fetches");
        let events = std::fs::read_to_string(dir.join("events.csv")).unwrap();
        assert_eq!(events.lines().count(), r.events.len() + 1);
        for p in [&rec, &csv] {
            std::fs::remove_file(p).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_run_without_events_says_so_plainly() {
        let rec = tmp("calm.mcap");
        record(&rec, 120, false);
        let r = review(&mut Player::open(&rec).unwrap(), None, None, 100).unwrap();
        assert!(!r.had_incident());
        assert_eq!((r.tokens_lost, r.onset_s, r.back_to_full_s), (0.0, None, None));
        assert!(html(&r, "calm", &[]).contains("No incident: no failure, no alarm and no output lost"));
        assert!(markdown(&r, "calm", &[]).contains("No events in this window."));
        std::fs::remove_file(&rec).unwrap();
    }

    /// A recording cut short (a killed recorder) still gives a report of what it holds, which
    /// says the file was damaged; a window outside the run is refused with the run's span.
    #[test]
    fn a_truncated_recording_gives_a_report_of_its_readable_part_with_a_warning() {
        let rec = tmp("cut.mcap");
        record(&rec, 400, true);
        let bytes = std::fs::read(&rec).unwrap();
        let mut p = Player::from_bytes(bytes[..bytes.len() * 2 / 3].to_vec()).unwrap();
        let r = review(&mut p, None, None, 100).unwrap();
        assert!(!r.problems.is_empty());
        assert!(r.samples > 60 && r.to_s < 400.0, "{} samples to {} s", r.samples, r.to_s);
        assert!(html(&r, "cut", &[]).contains("Warning: "));
        let e = review(&mut Player::open(&rec).unwrap(), Some(500.0), Some(600.0), 10).unwrap_err();
        assert!(e.contains("0..400 s"), "{e}");
        let w = review(&mut Player::open(&rec).unwrap(), Some(100.0), Some(200.0), 10).unwrap();
        assert_eq!((w.from_s, w.to_s, w.samples), (100.0, 200.0, 101));
        std::fs::remove_file(&rec).unwrap();
    }
}

#[cfg(test)]
mod notes_tests {
    use super::*;

    #[test]
    fn notes_round_trip_beside_the_recording_and_a_broken_file_says_where() {
        let dir = std::env::temp_dir().join(format!("ft-notes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rec = dir.join("run.mcap");
        assert_eq!(notes_path(&rec), dir.join("run.mcap.notes.ron"));
        assert!(load_notes(&rec).unwrap().notes.is_empty(), "no file: no notes");
        let notes = Notes {
            version: 1,
            notes: vec![
                Note { at_s: 900.0, until_s: Some(1200.0), text: "pumps back".into(), bookmark: false },
                Note { at_s: 600.0, until_s: None, text: "onset".into(), bookmark: true },
            ],
        };
        save_notes(&rec, &notes).unwrap();
        let back = load_notes(&rec).unwrap();
        assert_eq!(back.notes.iter().map(|n| n.at_s).collect::<Vec<_>>(), [600.0, 900.0], "in time order");
        let text = std::fs::read_to_string(notes_path(&rec)).unwrap();
        assert!(text.contains("until_s: 1200.0") && !text.contains("Some("), "as people write it: {text}");
        let mut r = Review {
            scene: "s".into(),
            tokens_of: String::new(),
            from_s: 0.0,
            to_s: 3600.0,
            samples: 0,
            gpus: 0,
            events: Vec::new(),
            spans: Vec::new(),
            onset_s: None,
            first_alarm_s: None,
            first_throttle_s: None,
            first_shutdown_s: None,
            back_to_full_s: None,
            lowest_output: (1.0, 0.0),
            tokens_possible: 0.0,
            tokens_delivered: 0.0,
            tokens_lost: 0.0,
            gpu_hours_lost: 0.0,
            peak_gpu_c: (0.0, 0.0),
            peak_coolant_c: (0.0, 0.0),
            peak_inlet_c: (0.0, 0.0),
            peak_facility_kw: (0.0, 0.0),
            facility_kwh: 0.0,
            it_kwh: 0.0,
            alarms_raised: (0, 0),
            problems: Vec::new(),
            strip: Vec::new(),
            notes: back.notes,
        };
        let page = html(&r, "run", &[]);
        assert!(page.contains("bookmark: onset") && page.contains("0:15:00 – 0:20:00"), "{page}");
        assert!(markdown(&r, "run", &[]).contains("| 0:10:00 | bookmark: onset |"));
        r.notes.clear();
        assert!(!html(&r, "run", &[]).contains("<h2>Notes</h2>"));
        std::fs::write(notes_path(&rec), "(version: 1, notes: [(at_s: \"x\")])").unwrap();
        let e = load_notes(&rec).unwrap_err();
        assert!(e.contains("run.mcap.notes.ron:1:") && e.contains("fix or remove"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
