//! Demo files: a scripted story of a site for presenting it (`factory-twin demo`) and for
//! rendering it to frames (`factory-twin render --demo`). A demo names a scene and a list of
//! beats: where the camera goes, the caption, the KPI cards, what happens to the site, and what
//! the story waits for. `Director` walks the beats; the viewer carries out its cues.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::model::Site;
use crate::sim::scenario::{Action, Failure, Scenario};

pub const DEMO_VERSION: u32 = 1;

/// The story `factory-twin demo` tells without a file; its source is `scenes/demos/gb300-story.ron`.
pub const DEFAULT_DEMO: &str = include_str!("../scenes/demos/gb300-story.ron");
const DEFAULT_DEMO_SCENE: &str = include_str!("../scenes/gb300-factory.ron");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demo {
    pub version: u32,
    #[serde(default)]
    pub title: String,
    /// The scene, relative to the demo file.
    pub scene: PathBuf,
    /// A scenario file (events, workloads), relative to the demo file.
    #[serde(default)]
    pub scenario: Option<PathBuf>,
    /// A PNG shown in the overlay's corner, relative to the demo file.
    #[serde(default)]
    pub logo: Option<PathBuf>,
    /// Sim seconds per presentation second at the start.
    #[serde(default = "one")]
    pub speed: f64,
    /// The KPI cards of every beat that names none.
    #[serde(default = "default_cards")]
    pub cards: Vec<Card>,
    pub beats: Vec<Beat>,
}

fn one() -> f64 {
    1.0
}

fn default_cards() -> Vec<Card> {
    vec![Card::TokensPerS, Card::Output, Card::Pue, Card::ItMw, Card::TokensPerKwh]
}

/// One step of the story. It starts by carrying out `actions` and `speed`, flies the camera to
/// `camera` over `move_s`, and ends when `hold_s` has passed, the move is done and `until` holds
/// (or `timeout_s` has passed since the beat began, so a story never hangs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beat {
    #[serde(default)]
    pub caption: String,
    /// Where the camera is at the end of the move; `None`: it stays where it is.
    #[serde(default)]
    pub camera: Option<Shot>,
    #[serde(default = "default_move")]
    pub move_s: f64,
    #[serde(default)]
    pub easing: Easing,
    #[serde(default)]
    pub cards: Option<Vec<Card>>,
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Sim seconds per presentation second from this beat on.
    #[serde(default)]
    pub speed: Option<f64>,
    /// Presentation seconds the beat lasts at least.
    #[serde(default = "default_hold")]
    pub hold_s: f64,
    #[serde(default)]
    pub until: Option<Until>,
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
}

fn default_move() -> f64 {
    4.0
}
fn default_hold() -> f64 {
    6.0
}
fn default_timeout() -> f64 {
    60.0
}

/// A camera pose by what it shows. Plan coordinates: x east, y north, metres; `h` height.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Shot {
    /// The whole site from the south-west, as the viewer opens.
    Overview,
    /// High above the whole site, looking down at it.
    Aerial,
    /// Eye level in an aisle near the middle of the racks.
    Aisle,
    /// An object (a hall, a row, a rack, a unit) by id, seen from `distance` metres, from
    /// `yaw_deg` (0: from the south, 90: from the east) and `pitch_deg` above the horizon.
    Object {
        id: String,
        distance: f64,
        #[serde(default = "default_yaw")]
        yaw_deg: f64,
        #[serde(default = "default_pitch")]
        pitch_deg: f64,
    },
    /// From a point, looking at another: `(x, y, h)` each.
    Look { from: (f64, f64, f64), at: (f64, f64, f64) },
}

fn default_yaw() -> f64 {
    -30.0
}
fn default_pitch() -> f64 {
    30.0
}

/// How a camera move speeds up and slows down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Easing {
    Linear,
    /// Starts and ends at rest: no jolt where two moves meet.
    #[default]
    InOut,
    In,
    Out,
}

impl Easing {
    /// Progress 0..1 of a move at time fraction `t` (0..1, clamped).
    pub fn apply(self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        match self {
            Easing::Linear => t,
            // Cubic: the same curves as `bevy_math`'s `EaseFunction::Cubic*`.
            Easing::In => t * t * t,
            Easing::Out => 1.0 - (1.0 - t).powi(3),
            Easing::InOut => {
                if t < 0.5 {
                    4.0 * t * t * t
                } else {
                    1.0 - (-2.0 * t + 2.0).powi(3) / 2.0
                }
            }
        }
    }
}

/// What a beat waits for besides its hold time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Until {
    /// Factory output (0..1) below this.
    OutputBelow(f64),
    /// Factory output at or above this.
    OutputAbove(f64),
    /// Sim time at or past this, seconds.
    Time(f64),
}

/// A KPI card of the presentation overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Card {
    TokensPerS,
    Output,
    Pue,
    Wue,
    ItMw,
    TokensPerKwh,
    /// Tokens not produced since the story began, against what the site could have made.
    TokensLost,
    MaxGpu,
}

impl Card {
    pub fn title(self) -> &'static str {
        match self {
            Card::TokensPerS => "tokens / s",
            Card::Output => "factory output",
            Card::Pue => "PUE",
            Card::Wue => "WUE",
            Card::ItMw => "IT power",
            Card::TokensPerKwh => "tokens / kWh",
            Card::TokensLost => "tokens lost",
            Card::MaxGpu => "hottest GPU",
        }
    }

    /// The card's value as shown, from the KPIs and the story's tally.
    pub fn value(self, k: &crate::sim::snapshot::Kpis, tally: &Tally) -> String {
        match self {
            Card::TokensPerS => si(k.tokens_per_s),
            Card::Output => format!("{:.1} %", k.output_fraction * 100.0),
            Card::Pue => format!("{:.3}", k.pue),
            Card::Wue => format!("{:.2} L/kWh", k.wue_l_per_kwh),
            Card::ItMw => format!("{:.2} MW", k.it_power_kw / 1000.0),
            Card::TokensPerKwh => {
                if k.facility_power_kw > 0.0 {
                    si(k.tokens_per_s * 3600.0 / k.facility_power_kw)
                } else {
                    "—".into()
                }
            }
            Card::TokensLost => si(tally.tokens_lost),
            Card::MaxGpu => format!("{:.1} °C", k.max_gpu_temp_c),
        }
    }

    /// Whether the value is bad news now (drawn in the alarm colour).
    pub fn alarming(self, k: &crate::sim::snapshot::Kpis, tally: &Tally) -> bool {
        match self {
            Card::Output | Card::TokensPerS | Card::TokensPerKwh => k.output_fraction < 0.995,
            Card::TokensLost => tally.tokens_lost > 0.0,
            Card::MaxGpu => k.racks_throttled > 0 || k.racks_shutdown > 0,
            _ => false,
        }
    }
}

/// 18.4 M, 1.23 B: a large count in three figures.
pub fn si(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        return "0".into();
    }
    // Tokens are counted in billions and trillions (B, T), as the industry writes them.
    let (d, s) = if a >= 1e12 {
        (1e12, " T")
    } else if a >= 1e9 {
        (1e9, " B")
    } else if a >= 1e6 {
        (1e6, " M")
    } else if a >= 1e3 {
        (1e3, " k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    if x.abs() >= 100.0 {
        format!("{x:.0}{s}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}{s}")
    } else {
        format!("{x:.2}{s}")
    }
}

/// A demo file's problems, each with line:col where the file says it.
#[derive(Debug, Clone)]
pub struct DemoErrors(pub Vec<Diagnostic>);

impl DemoErrors {
    pub fn display(&self, file: &str) -> String {
        self.0.iter().map(|d| d.display(file).to_string()).collect::<Vec<_>>().join("\n")
    }
}

fn line_col(src: &str, byte: usize) -> (usize, usize) {
    let before = &src[..byte.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |n| before.len() - n - 1) + 1;
    (line, col)
}

/// Where `needle` first appears in `src` (line, col), to point at a value serde accepted but the
/// scene refuses.
fn find(src: &str, needle: &str) -> Option<(usize, usize)> {
    src.find(needle).map(|b| line_col(src, b))
}

impl Demo {
    /// Parses a demo file's text. Never panics; every error says line:col.
    pub fn parse(src: &str) -> Result<Demo, DemoErrors> {
        if src.trim().is_empty() {
            return Err(DemoErrors(vec![
                Diagnostic::error("the demo file is empty").at(1, 1).hint("start from scenes/demos/gb300-story.ron"),
            ]));
        }
        // Optional fields take their value bare (`camera: Aerial`), as in the example demo.
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let demo: Demo = options.from_str(src).map_err(|e| {
            DemoErrors(vec![
                Diagnostic::error(e.code.to_string())
                    .at(e.span.start.line, e.span.start.col)
                    .hint("see scenes/demos/gb300-story.ron for the shape of a demo"),
            ])
        })?;
        let mut errors = Vec::new();
        let at = |needle: &str, d: Diagnostic| match find(src, needle) {
            Some((l, c)) => d.at(l, c),
            None => d,
        };
        if demo.version != DEMO_VERSION {
            errors.push(at(
                "version:",
                Diagnostic::error(format!(
                    "demo version {} is not one this build reads ({DEMO_VERSION})",
                    demo.version
                ))
                .hint(if demo.version > DEMO_VERSION {
                    "update factory-twin"
                } else {
                    "set version: 1"
                }),
            ));
        }
        if demo.beats.is_empty() {
            errors.push(at("beats:", Diagnostic::error("the demo has no beats").hint("add at least one beat")));
        }
        if !(demo.speed.is_finite() && demo.speed > 0.0) {
            errors.push(at("speed:", Diagnostic::error("speed must be a positive number of sim seconds per second")));
        }
        for (i, b) in demo.beats.iter().enumerate() {
            let n = i + 1;
            let bad = |v: f64| !v.is_finite() || v < 0.0;
            for (name, v) in [("move_s", b.move_s), ("hold_s", b.hold_s), ("timeout_s", b.timeout_s)] {
                if bad(v) {
                    errors
                        .push(at(&format!("{name}: {v}"), Diagnostic::error(format!("beat {n}: {name} must be ≥ 0"))));
                }
            }
            if let Some(s) = b.speed.filter(|s| !(s.is_finite() && *s > 0.0)) {
                errors.push(at(&format!("speed: {s}"), Diagnostic::error(format!("beat {n}: speed must be > 0"))));
            }
            if let Some(Until::OutputBelow(f) | Until::OutputAbove(f)) = &b.until
                && !(0.0..=1.0).contains(f)
            {
                errors.push(at(
                    "Output",
                    Diagnostic::error(format!("beat {n}: output is a fraction 0..1, not {f}")).hint("90 % is 0.9"),
                ));
            }
        }
        if errors.is_empty() { Ok(demo) } else { Err(DemoErrors(errors)) }
    }

    /// Checks the demo against its scene: every object it names exists (line:col of the id).
    pub fn check(&self, src: &str, site: &Site) -> Result<(), DemoErrors> {
        let ids = object_ids(site);
        let mut errors = Vec::new();
        let mut seen = |id: &str, what: &str| {
            if id != "all" && !ids.iter().any(|k| k == id || k.starts_with(&format!("{id}/"))) {
                let mut d = Diagnostic::error(format!("{what} `{id}` is not in the demo's scene")).object(id);
                if let Some(m) = crate::diagnostic::did_you_mean(id, ids.iter().map(String::as_str)) {
                    d = d.hint(format!("did you mean `{m}`?"));
                }
                if let Some((l, c)) = find(src, &format!("\"{id}\"")) {
                    d = d.at(l, c);
                }
                errors.push(d);
            }
        };
        for b in &self.beats {
            if let Some(Shot::Object { id, .. }) = &b.camera {
                seen(id, "camera object");
            }
            for a in &b.actions {
                match a {
                    Action::Fail(f) | Action::Restore(f) => seen(&f.target, "failure target"),
                    Action::Utilization { target, .. } => seen(target, "utilization target"),
                    _ => {}
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(DemoErrors(errors)) }
    }

    /// The failures the story injects, each once: the overlay's what-if buttons.
    pub fn failures(&self) -> Vec<Failure> {
        let mut out: Vec<Failure> = Vec::new();
        for a in self.beats.iter().flat_map(|b| &b.actions) {
            if let Action::Fail(f) = a
                && !out.contains(f)
            {
                out.push(f.clone());
            }
        }
        out
    }

    /// The cards beat `i` shows.
    pub fn cards_of(&self, i: usize) -> &[Card] {
        self.beats.get(i).and_then(|b| b.cards.as_deref()).unwrap_or(&self.cards)
    }
}

/// Every object id of a site that a demo may name: halls, rows, racks, CDUs, CRAHs, PDUs,
/// UPSes, feeds, loops and outdoor plant.
fn object_ids(site: &Site) -> Vec<String> {
    let mut ids = Vec::new();
    for h in &site.halls {
        ids.push(h.id.clone());
        for r in &h.rows {
            ids.push(format!("{}/{}", h.id, r.id));
            ids.extend(r.racks.iter().map(|k| format!("{}/{}/{}", h.id, r.id, k.id)));
        }
        ids.extend(h.cdus.iter().map(|c| crate::model::cdu_id(h, c)));
        ids.extend(h.crahs.iter().map(|c| crate::model::crah_id(h, c)));
    }
    let p = &site.power;
    ids.extend(p.pdus.iter().map(|x| x.id.clone()));
    ids.extend(p.ups.iter().map(|x| x.id.clone()));
    ids.extend(p.feeds.iter().map(|x| x.id.clone()));
    ids.extend(site.plant.loops.iter().map(|x| x.id.clone()));
    ids.extend(site.plant.dry_coolers.iter().map(|x| x.id.clone()));
    ids.extend(site.plant.chillers.iter().map(|x| x.id.clone()));
    ids
}

/// A demo ready to run: the story, its scene and scenario, and where its files are.
pub struct LoadedDemo {
    pub name: String,
    pub demo: Demo,
    pub scene_name: String,
    pub site: Site,
    pub scenario: Scenario,
    /// The logo's PNG bytes, when the demo names one.
    pub logo: Option<Vec<u8>>,
}

/// Loads a demo file and what it names, or the embedded default demo. Errors say file:line:col.
pub fn load(file: Option<&Path>) -> Result<LoadedDemo, String> {
    let (name, src, dir) = match file {
        None => ("gb300-story (embedded)".to_string(), DEFAULT_DEMO.to_string(), None),
        Some(f) => {
            let src =
                std::fs::read_to_string(f).map_err(|e| format!("{}: error: cannot read the demo: {e}", f.display()))?;
            (f.display().to_string(), src, Some(f.parent().unwrap_or(Path::new(".")).to_path_buf()))
        }
    };
    let demo = Demo::parse(&src).map_err(|e| e.display(&name))?;
    let resolve = |p: &Path| dir.as_ref().map_or(p.to_path_buf(), |d| d.join(p));
    let (scene_name, site) = match &dir {
        // The embedded demo's scene is embedded too, so it runs from any directory.
        None => {
            let site = crate::scene::parse(DEFAULT_DEMO_SCENE)
                .map_err(|e| {
                    e.0.iter().map(|d| d.display("embedded campus").to_string()).collect::<Vec<_>>().join("\n")
                })?
                .site;
            ("gb300-factory (embedded)".to_string(), site)
        }
        Some(_) => {
            let path = resolve(&demo.scene);
            if !path.is_file() {
                let quoted = format!("{:?}", demo.scene.display().to_string());
                let at = find(&src, &quoted).map_or(String::new(), |(l, c)| format!(":{l}:{c}"));
                return Err(format!(
                    "{name}{at}: error: the demo's scene {} is not there ({})\n    hint: `scene` is a path relative to the demo file; copy the scene beside it or point to where it is",
                    demo.scene.display(),
                    path.display()
                ));
            }
            crate::open::load_scene_or_demo(Some(&path))?
        }
    };
    demo.check(&src, &site).map_err(|e| e.display(&name))?;
    let scenario = match &demo.scenario {
        None => Scenario::default(),
        Some(p) => {
            let path = resolve(p);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: error: cannot read the demo's scenario: {e}", path.display()))?;
            Scenario::from_ron(&text).map_err(|d| d.display(&path.display().to_string()).to_string())?
        }
    };
    let logo = match &demo.logo {
        None => None,
        Some(p) => {
            let path = resolve(p);
            Some(
                std::fs::read(&path)
                    .map_err(|e| format!("{}: error: cannot read the demo's logo: {e}", path.display()))?,
            )
        }
    };
    Ok(LoadedDemo { name, demo, scene_name, site, scenario, logo })
}

/// What the director reads of the run each frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Watch {
    pub sim_time_s: f64,
    pub output: f64,
}

/// What the viewer must do for the story.
#[derive(Debug, Clone, PartialEq)]
pub enum Cue {
    /// Beat `i` began (the camera flies from where it is to the beat's shot).
    Beat(usize),
    Apply(Action),
    Speed(f64),
}

/// Walks a demo's beats in presentation time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Director {
    /// The beat on show; `None` before the first `advance`.
    pub beat: Option<usize>,
    /// Presentation seconds since the beat began (paused time does not count).
    pub beat_s: f64,
    pub paused: bool,
}

impl Director {
    /// Moves presentation time on by `dt` seconds. The first call starts beat 0; a beat whose
    /// ending holds gives way to the next (the last one stays on).
    pub fn advance(&mut self, demo: &Demo, dt: f64, watch: Watch) -> Vec<Cue> {
        let Some(i) = self.beat else {
            let mut cues = vec![Cue::Speed(demo.speed)];
            cues.extend(self.enter(demo, 0));
            return cues;
        };
        if self.paused {
            return Vec::new();
        }
        self.beat_s += dt.max(0.0);
        let Some(b) = demo.beats.get(i) else { return Vec::new() };
        if i + 1 < demo.beats.len() && self.beat_done(b, watch) { self.enter(demo, i + 1) } else { Vec::new() }
    }

    fn beat_done(&self, b: &Beat, w: Watch) -> bool {
        if self.beat_s >= b.timeout_s.max(b.move_s) {
            return true;
        }
        let held = self.beat_s >= b.hold_s.max(b.move_s);
        let met = match b.until {
            None => true,
            Some(Until::OutputBelow(f)) => w.output < f,
            Some(Until::OutputAbove(f)) => w.output >= f,
            Some(Until::Time(t)) => w.sim_time_s >= t,
        };
        held && met
    }

    fn enter(&mut self, demo: &Demo, i: usize) -> Vec<Cue> {
        let Some(b) = demo.beats.get(i) else { return Vec::new() };
        self.beat = Some(i);
        self.beat_s = 0.0;
        let mut cues = vec![Cue::Beat(i)];
        cues.extend(b.actions.iter().cloned().map(Cue::Apply));
        cues.extend(b.speed.map(Cue::Speed));
        cues
    }

    /// The presenter's next beat (a clicker's PageDown): its actions happen now.
    pub fn next(&mut self, demo: &Demo) -> Vec<Cue> {
        match self.beat {
            Some(i) if i + 1 < demo.beats.len() => self.enter(demo, i + 1),
            None => self.enter(demo, 0),
            _ => Vec::new(),
        }
    }

    /// The presenter's previous beat: its camera and caption again, and its actions again (the
    /// run is not rewound: the story goes on from the state the site is in).
    pub fn previous(&mut self, demo: &Demo) -> Vec<Cue> {
        match self.beat {
            Some(i) if i > 0 => self.enter(demo, i - 1),
            _ => Vec::new(),
        }
    }

    /// The story has told its last beat: that beat has run its course (`render --demo` stops).
    pub fn finished(&self, demo: &Demo, watch: Watch) -> bool {
        match self.beat {
            Some(i) if i + 1 >= demo.beats.len() => demo.beats.get(i).is_none_or(|b| self.beat_done(b, watch)),
            _ => false,
        }
    }

    /// How far the current beat's camera move is: 0..1, eased.
    pub fn move_progress(&self, demo: &Demo) -> f64 {
        let Some(b) = self.beat.and_then(|i| demo.beats.get(i)) else { return 0.0 };
        if b.move_s <= 0.0 { 1.0 } else { b.easing.apply(self.beat_s / b.move_s) }
    }
}

/// What the story has cost so far: tokens the site could have made and did not.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tally {
    pub tokens_lost: f64,
    last_t: Option<f64>,
}

impl Tally {
    /// Adds the shortfall since the last snapshot (the rate at `t` held since then).
    pub fn add(&mut self, t: f64, k: &crate::sim::snapshot::Kpis) {
        if let Some(last) = self.last_t
            && t > last
        {
            self.tokens_lost += (k.possible_tokens_per_s - k.tokens_per_s).max(0.0) * (t - last);
        }
        self.last_t = Some(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_demo() -> Demo {
        Demo::parse(DEFAULT_DEMO).unwrap()
    }

    #[test]
    fn the_default_demo_loads_and_names_only_real_objects() {
        let d = load(None).unwrap();
        assert!(d.demo.beats.len() >= 5);
        assert!(!d.demo.failures().is_empty());
        assert!(d.site.halls.len() > 1, "the story ends on a campus");
    }

    #[test]
    fn the_shipped_demo_file_finds_its_scene_beside_it() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demos/gb300-story.ron");
        let d = load(Some(&p)).unwrap();
        assert_eq!(d.demo, load(None).unwrap().demo);
        assert_eq!(d.site.rack_count(), 108);
        let missing = load(Some(std::path::Path::new("/nonexistent/demo.ron"))).err().unwrap();
        assert!(missing.contains("cannot read the demo"), "{missing}");
    }

    #[test]
    fn errors_say_line_and_col() {
        let src = DEFAULT_DEMO.replacen("hold_s:", "hodl_s:", 1);
        let e = Demo::parse(&src).unwrap_err();
        let (line, _) = e.0[0].position.unwrap();
        let want = src.lines().position(|l| l.contains("hodl_s")).unwrap() + 1;
        assert_eq!(line, want, "{}", e.display("d.ron"));
        assert!(e.display("d.ron").starts_with(&format!("d.ron:{want}:")));

        let e = Demo::parse("").unwrap_err();
        assert_eq!(e.0[0].position, Some((1, 1)));
        let e = Demo::parse(&DEFAULT_DEMO[..DEFAULT_DEMO.len() / 2]).unwrap_err();
        assert!(e.0[0].position.is_some());
        let e = Demo::parse(&DEFAULT_DEMO.replacen("version: 1", "version: 7", 1)).unwrap_err();
        assert!(e.display("d").contains("update factory-twin"), "{}", e.display("d"));
    }

    #[test]
    fn unknown_objects_are_named_with_their_place() {
        let src = DEFAULT_DEMO.replacen("\"hall-1/cdu-1\"", "\"hall-1/cdu-9\"", 1);
        let demo = Demo::parse(&src).unwrap();
        let site = crate::scene::parse(DEFAULT_DEMO_SCENE).unwrap().site;
        let e = demo.check(&src, &site).unwrap_err();
        let msg = e.display("d.ron");
        assert!(msg.contains("hall-1/cdu-9") && msg.contains("did you mean"), "{msg}");
        let want = src.lines().position(|l| l.contains("cdu-9")).unwrap() + 1;
        assert_eq!(e.0[0].position.unwrap().0, want);
    }

    #[test]
    fn bad_numbers_are_refused() {
        let src = DEFAULT_DEMO.replacen("hold_s: ", "hold_s: -", 1);
        assert!(Demo::parse(&src).unwrap_err().display("d").contains("hold_s must be ≥ 0"));
        let src = DEFAULT_DEMO.replacen("OutputBelow(0.", "OutputBelow(9", 1);
        assert_ne!(src, DEFAULT_DEMO);
        assert!(Demo::parse(&src).unwrap_err().display("d").contains("fraction"));
    }

    fn watch(t: f64, output: f64) -> Watch {
        Watch { sim_time_s: t, output }
    }

    fn beat(hold: f64, until: Option<Until>) -> Beat {
        Beat {
            caption: String::new(),
            camera: None,
            move_s: 1.0,
            easing: Easing::InOut,
            cards: None,
            actions: vec![],
            speed: None,
            hold_s: hold,
            until,
            timeout_s: 30.0,
        }
    }

    fn story(beats: Vec<Beat>) -> Demo {
        Demo {
            version: 1,
            title: String::new(),
            scene: "s.ron".into(),
            scenario: None,
            logo: None,
            speed: 5.0,
            cards: default_cards(),
            beats,
        }
    }

    #[test]
    fn beats_wait_for_hold_and_condition_and_time_out() {
        let mut a = beat(2.0, None);
        a.actions = vec![Action::Ambient(30.0)];
        a.speed = Some(20.0);
        let d = story(vec![a, beat(1.0, Some(Until::OutputBelow(0.9))), beat(1.0, Some(Until::Time(100.0)))]);
        let mut dir = Director::default();
        let cues = dir.advance(&d, 0.5, watch(0.0, 1.0));
        assert_eq!(cues, vec![Cue::Speed(5.0), Cue::Beat(0), Cue::Apply(Action::Ambient(30.0)), Cue::Speed(20.0)]);
        assert!(dir.advance(&d, 1.9, watch(0.0, 1.0)).is_empty());
        assert_eq!(dir.advance(&d, 0.2, watch(0.0, 1.0)), vec![Cue::Beat(1)]);
        // Held long enough, but output has not fallen yet.
        assert!(dir.advance(&d, 5.0, watch(10.0, 0.95)).is_empty());
        assert_eq!(dir.advance(&d, 0.1, watch(11.0, 0.85)), vec![Cue::Beat(2)]);
        // Paused: nothing moves.
        dir.paused = true;
        assert!(dir.advance(&d, 100.0, watch(200.0, 1.0)).is_empty());
        assert_eq!(dir.beat_s, 0.0);
        dir.paused = false;
        // The last beat stays, and says when it has run its course.
        assert!(!dir.finished(&d, watch(99.0, 1.0)));
        assert!(dir.advance(&d, 100.0, watch(200.0, 1.0)).is_empty());
        assert_eq!(dir.beat, Some(2));
        assert!(dir.finished(&d, watch(200.0, 1.0)));
        // A wait that never comes true times out.
        let d = story(vec![beat(1.0, Some(Until::OutputBelow(0.5))), beat(1.0, None)]);
        let mut dir = Director::default();
        dir.advance(&d, 0.0, watch(0.0, 1.0));
        assert!(dir.advance(&d, 29.0, watch(0.0, 1.0)).is_empty());
        assert_eq!(dir.advance(&d, 1.0, watch(0.0, 1.0)), vec![Cue::Beat(1)]);
    }

    #[test]
    fn presenter_steps_both_ways_and_repeats_actions() {
        let mut a = beat(1.0, None);
        a.actions = vec![Action::Ambient(40.0)];
        let d = story(vec![beat(1.0, None), a, beat(1.0, None)]);
        let mut dir = Director::default();
        dir.advance(&d, 0.0, watch(0.0, 1.0));
        assert_eq!(dir.next(&d), vec![Cue::Beat(1), Cue::Apply(Action::Ambient(40.0))]);
        assert_eq!(dir.next(&d), vec![Cue::Beat(2)]);
        assert!(dir.next(&d).is_empty());
        assert_eq!(dir.previous(&d), vec![Cue::Beat(1), Cue::Apply(Action::Ambient(40.0))]);
        dir.previous(&d);
        assert!(dir.previous(&d).is_empty());
        assert_eq!(dir.beat, Some(0));
    }

    #[test]
    fn easing_starts_and_ends_at_rest() {
        for e in [Easing::Linear, Easing::In, Easing::Out, Easing::InOut] {
            assert_eq!(e.apply(0.0), 0.0);
            assert!((e.apply(1.0) - 1.0).abs() < 1e-12);
            assert_eq!(e.apply(2.0), e.apply(1.0));
            let mut last = 0.0;
            for k in 1..=100 {
                let v = e.apply(k as f64 / 100.0);
                assert!(v >= last, "{e:?} is monotonic");
                last = v;
            }
        }
        // In-out: slow at both ends (a small step of time moves it much less than linearly).
        assert!(Easing::InOut.apply(0.05) < 0.01);
        assert!(1.0 - Easing::InOut.apply(0.95) < 0.01);
        assert!((Easing::InOut.apply(0.5) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn tally_counts_the_shortfall() {
        let k = crate::sim::snapshot::Kpis { tokens_per_s: 80.0, possible_tokens_per_s: 100.0, ..Default::default() };
        let mut t = Tally::default();
        t.add(0.0, &k);
        t.add(10.0, &k);
        t.add(10.0, &k);
        assert_eq!(t.tokens_lost, 200.0);
    }

    #[test]
    fn default_demo_tells_the_story_in_about_two_minutes() {
        let d = default_demo();
        let total: f64 = d.beats.iter().map(|b| b.hold_s.max(b.move_s)).sum();
        assert!((90.0..=150.0).contains(&total), "{total} s");
        assert!(matches!(d.beats.last().unwrap().camera, Some(Shot::Aerial)));
    }

    #[test]
    fn si_is_three_figures() {
        assert_eq!(si(18_360_000.0), "18.4 M");
        assert_eq!(si(1_230_000_000.0), "1.23 B");
        assert_eq!(si(950.0), "950");
        assert_eq!(si(0.0), "0");
    }
}
