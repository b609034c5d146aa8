//! Scene files (RON): load with exact positions for every problem, validate the layout, save atomically.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::model::geometry::{
    CHILLER_SIZE, DRY_COOLER_SIZE, Footprint, overlapping_pairs, rack_footprint, row_offsets,
};
use crate::model::{Hall, PlacedRack, RackType, SCENE_VERSION, Site, cdu_id, crah_id};

/// The default scene, embedded so the app opens with no arguments from any directory.
pub const DEMO_SCENE: &str = include_str!("../scenes/demo-hall.ron");
/// What File → New opens: the demo hall's cooling and power with no racks.
pub const EMPTY_HALL_SCENE: &str = include_str!("../scenes/empty-hall.ron");

/// A scene that loaded, with the warnings worth showing.
#[derive(Debug, Clone)]
pub struct LoadedScene {
    pub site: Site,
    pub warnings: Vec<Diagnostic>,
}

/// Everything wrong with a scene, errors first in file order.
#[derive(Debug, Clone)]
pub struct SceneErrors(pub Vec<Diagnostic>);

/// Reads and parses a file. I/O problems become a diagnostic too.
pub fn load_file(path: &Path) -> Result<LoadedScene, SceneErrors> {
    let bytes = std::fs::read(path).map_err(|e| {
        SceneErrors(vec![
            Diagnostic::error(format!("cannot read the file: {e}")).hint("check the path and permissions"),
        ])
    })?;
    parse_bytes(&bytes)
}

pub fn parse_bytes(bytes: &[u8]) -> Result<LoadedScene, SceneErrors> {
    match std::str::from_utf8(bytes) {
        Ok(s) => parse(s),
        Err(e) => {
            let (line, col) = line_col_of(bytes, e.valid_up_to());
            Err(SceneErrors(vec![
                Diagnostic::error("the file is not UTF-8 text")
                    .at(line, col)
                    .hint("a scene is a RON text file; this looks like a binary or a differently encoded file"),
            ]))
        }
    }
}

fn line_col_of(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

#[derive(Deserialize)]
#[serde(rename = "Site")]
struct VersionProbe {
    #[serde(default)]
    version: Option<u32>,
}

fn ron_error(e: ron::error::SpannedError, hint: &str) -> Diagnostic {
    Diagnostic::error(e.code.to_string()).at(e.span.start.line, e.span.start.col).hint(hint)
}

/// Parses RON text, migrates older versions and validates. Never panics.
pub fn parse(src: &str) -> Result<LoadedScene, SceneErrors> {
    if src.trim().is_empty() {
        return Err(SceneErrors(vec![
            Diagnostic::error("the file is empty")
                .at(1, 1)
                .hint("start from `factory-twin generate` or a file in scenes/"),
        ]));
    }
    let options = ron::Options::default();
    // Fast path: a current-version scene parses in one pass. Only when that fails is the version
    // probed, to migrate an older file or to say that a newer build wrote it.
    let site: Site = match options.from_str::<Site>(src) {
        Ok(site) if site.version == SCENE_VERSION => site,
        first => {
            let version = options.from_str::<VersionProbe>(src).ok().and_then(|p| p.version);
            match (first, version) {
                (_, Some(v)) if v > SCENE_VERSION => {
                    return Err(SceneErrors(vec![
                        Diagnostic::error(format!(
                            "scene version {v} is newer than this build understands ({SCENE_VERSION})"
                        ))
                        .at(1, 1)
                        .hint("update factory-twin"),
                    ]));
                }
                (_, Some(v)) if v < SCENE_VERSION => {
                    let migrated = migrate(src, v)?;
                    options.from_str(&migrated).map_err(|e| {
                        SceneErrors(vec![ron_error(e, "the migrated scene did not parse; please report this")])
                    })?
                }
                (Err(e), _) => {
                    return Err(SceneErrors(vec![ron_error(
                        e,
                        "see scenes/demo-hall.ron for the expected shape of a scene",
                    )]));
                }
                (Ok(site), _) => site,
            }
        }
    };
    let mut diags = validate(&site);
    let locator = Locator::new(src);
    for d in &mut diags {
        if d.position.is_none() {
            if let Some(obj) = &d.object {
                d.position = locator.find_object(obj);
            }
        }
    }
    diags.sort_by_key(|d| std::cmp::Reverse(d.severity));
    if diags.iter().any(Diagnostic::is_error) {
        Err(SceneErrors(diags))
    } else {
        Ok(LoadedScene { site, warnings: diags })
    }
}

/// Brings an older scene up to `SCENE_VERSION`. Version 1 is the first, so there is nothing to do
/// yet; each future format change adds a step here (`1 => rewrite to 2`, and so on).
fn migrate(src: &str, from: u32) -> Result<String, SceneErrors> {
    match from {
        SCENE_VERSION => Ok(src.to_string()),
        v => Err(SceneErrors(vec![
            Diagnostic::error(format!("unknown scene version {v}"))
                .at(1, 1)
                .hint(format!("this build reads version {SCENE_VERSION}")),
        ])),
    }
}

/// Finds the line of an object by its id path (`hall-1/row-B/rack-07`): each part is looked up as
/// an `id: "part"` field after the previous part, so ids repeated in other halls do not confuse it.
struct Locator<'a> {
    src: &'a str,
}

impl<'a> Locator<'a> {
    fn new(src: &'a str) -> Self {
        Locator { src }
    }

    fn find_object(&self, path: &str) -> Option<(usize, usize)> {
        let mut from = 0;
        let mut found = None;
        for part in path.split('/') {
            let at = self.find_id_field(part, from)?;
            found = Some(at);
            from = at;
        }
        found.map(|at| line_col_of(self.src.as_bytes(), at))
    }

    fn find_id_field(&self, part: &str, from: usize) -> Option<usize> {
        let needle = format!("\"{part}\"");
        let mut start = from;
        while let Some(rel) = self.src.get(start..)?.find(&needle) {
            let at = start + rel;
            let before = self.src[..at].trim_end();
            if let Some(b) = before.strip_suffix(':') {
                if b.trim_end().ends_with("id") {
                    return Some(at);
                }
            }
            start = at + needle.len();
        }
        None
    }
}

/// Writes the scene to a temp file beside `path`, then renames it over: a crash never leaves a
/// half-written scene.
pub fn save(site: &Site, path: &Path) -> std::io::Result<()> {
    let mut text = to_ron(site).map_err(std::io::Error::other)?;
    // A text file ends with a newline (diffs and `cat` expect one).
    if !text.ends_with('\n') {
        text.push('\n');
    }
    crate::fsutil::write_atomic(path, text.as_bytes())
}

pub fn to_ron(site: &Site) -> Result<String, ron::Error> {
    let config = ron::ser::PrettyConfig::new()
        .depth_limit(6)
        .struct_names(false)
        .extensions(ron::extensions::Extensions::IMPLICIT_SOME)
        .indentor("    ".to_string());
    ron::Options::default().to_string_pretty(site, config)
}

// ------------------------------------------------------------------------------------------------
// Validation

/// Checks a site for everything that would make it impossible or misleading to simulate.
/// Returns every problem, not just the first.
pub fn validate(site: &Site) -> Vec<Diagnostic> {
    let mut v = Validator { out: Vec::new(), reported: HashSet::new() };
    v.site(site);
    v.out
}

struct Validator {
    out: Vec<Diagnostic>,
    reported: HashSet<(String, String)>,
}

/// What a reference may point at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Feed,
    Ups,
    Pdu,
    Cdu,
    Loop,
    DryCooler,
    Chiller,
    ChillerCurves,
}

impl Validator {
    fn err(&mut self, id: &str, msg: impl Into<String>, hint: impl Into<String>) {
        self.out.push(Diagnostic::error(msg).object(id).hint(hint));
    }
    fn warn(&mut self, id: &str, msg: impl Into<String>, hint: impl Into<String>) {
        self.out.push(Diagnostic::warning(msg).object(id).hint(hint));
    }

    /// `value` must be finite and within [lo, hi].
    fn range(&mut self, id: &str, field: &str, value: f64, lo: f64, hi: f64, unit: &str) {
        if !value.is_finite() || value < lo || value > hi {
            let u = if unit.is_empty() { String::new() } else { format!(" {unit}") };
            self.err(
                id,
                format!("`{field}` is {value}{u}, outside {lo}..{hi}{u}"),
                format!("set `{field}` to a value between {lo} and {hi}"),
            );
        }
    }

    fn local_id(&mut self, owner: &str, id: &str) {
        if !usable_local_id(id) {
            self.err(
                owner,
                format!("id {id:?} is not usable"),
                "ids are non-empty, without spaces or `/`, e.g. \"rack-07\"",
            );
        }
    }

    fn site<'s>(&mut self, site: &'s Site) {
        if site.version != SCENE_VERSION {
            self.err("site", format!("version {} is not {SCENE_VERSION}", site.version), "");
        }
        self.range("site", "ambient.dry_bulb_c", site.ambient.dry_bulb_c, -60.0, 60.0, "°C");
        self.range("site", "ambient.wet_bulb_c", site.ambient.wet_bulb_c, -60.0, 60.0, "°C");
        if site.ambient.wet_bulb_c > site.ambient.dry_bulb_c {
            self.err("site", "wet bulb is above dry bulb", "wet bulb ≤ dry bulb always; check the two values");
        }
        if site.halls.is_empty() {
            self.err("site", "the site has no halls", "add a hall with at least one row of racks");
        }

        // Registry of ids → kind, with duplicate detection. Racks are not in it: nothing refers
        // to a rack, and their ids (10,000 at campus scale) are checked row by row without
        // building a string each, so an edit's validation stays cheap.
        let mut ids: HashMap<String, Kind> = HashMap::new();
        let mut all_ids: HashSet<String> = HashSet::new();
        let dup = |v: &mut Self, all_ids: &mut HashSet<String>, id: String| {
            if !all_ids.insert(id.clone()) {
                v.err(&id, "duplicate id", "every object needs its own id");
            }
        };

        if let Some(b) = &site.benchmark {
            use crate::model::mlperf;
            if b != mlperf::OWN_FIGURES && mlperf::benchmark(b).is_none() {
                let known = mlperf::BENCHMARKS.iter().map(|b| b.id).chain([mlperf::OWN_FIGURES]);
                let hint = match did_you_mean(b, known.clone()) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("use one of {}", known.collect::<Vec<_>>().join(", ")),
                };
                self.err("site", format!("`benchmark` \"{b}\" is not an MLPerf benchmark we carry"), hint);
            }
        }
        for t in &site.rack_types {
            self.rack_type(t);
        }
        for f in &site.power.feeds {
            self.local_id(&f.id, &f.id);
            dup(self, &mut all_ids, f.id.clone());
            ids.insert(f.id.clone(), Kind::Feed);
            self.range(&f.id, "capacity_kw", f.capacity_kw, 1.0, 5.0e6, "kW");
        }
        for u in &site.power.ups {
            self.local_id(&u.id, &u.id);
            dup(self, &mut all_ids, u.id.clone());
            ids.insert(u.id.clone(), Kind::Ups);
            self.range(&u.id, "capacity_kw", u.capacity_kw, 1.0, 1.0e6, "kW");
            self.range(&u.id, "efficiency", u.efficiency, 0.5, 1.0, "");
            self.range(&u.id, "battery_minutes", u.battery_minutes, 0.0, 240.0, "min");
        }
        for p in &site.power.pdus {
            dup(self, &mut all_ids, p.id.clone());
            ids.insert(p.id.clone(), Kind::Pdu);
            self.range(&p.id, "capacity_kw", p.capacity_kw, 1.0, 1.0e5, "kW");
            self.range(&p.id, "efficiency", p.efficiency, 0.5, 1.0, "");
        }
        for l in &site.plant.loops {
            self.local_id(&l.id, &l.id);
            dup(self, &mut all_ids, l.id.clone());
            ids.insert(l.id.clone(), Kind::Loop);
        }
        for d in &site.plant.dry_coolers {
            self.local_id(&d.id, &d.id);
            dup(self, &mut all_ids, d.id.clone());
            ids.insert(d.id.clone(), Kind::DryCooler);
        }
        for c in &site.plant.chillers {
            self.local_id(&c.id, &c.id);
            dup(self, &mut all_ids, c.id.clone());
            ids.insert(c.id.clone(), Kind::Chiller);
        }
        for name in crate::model::BUILT_IN_CHILLER_CURVES {
            ids.entry(name.to_string()).or_insert(Kind::ChillerCurves);
        }
        for cc in &site.plant.chiller_curves {
            self.local_id(&cc.id, &cc.id);
            dup(self, &mut all_ids, cc.id.clone());
            ids.insert(cc.id.clone(), Kind::ChillerCurves);
            self.chiller_curves(cc);
        }
        for h in &site.halls {
            self.local_id(&h.id, &h.id);
            dup(self, &mut all_ids, h.id.clone());
            for c in &h.cdus {
                let id = cdu_id(h, c);
                self.local_id(&id, &c.id);
                dup(self, &mut all_ids, id.clone());
                ids.insert(id, Kind::Cdu);
            }
            for c in &h.crahs {
                let id = crah_id(h, c);
                self.local_id(&id, &c.id);
                dup(self, &mut all_ids, id);
            }
            for r in &h.rows {
                let rid = format!("{}/{}", h.id, r.id);
                self.local_id(&rid, &r.id);
                dup(self, &mut all_ids, rid.clone());
            }
        }
        // A rack's id is `hall/row/rack` with three usable parts, so it can equal only another
        // rack's id (same hall, same row, same local id) or an id with two slashes in it.
        let rack_like = all_ids.iter().any(|id| id.matches('/').count() == 2);
        let mut local: Vec<&str> = Vec::new();
        for h in &site.halls {
            for r in &h.rows {
                local.clear();
                local.extend(r.racks.iter().map(|k| k.id.as_str()));
                local.sort_unstable();
                let repeated = local.windows(2).any(|w| w[0] == w[1]);
                let unusable = r.racks.iter().any(|k| !usable_local_id(&k.id));
                if !(repeated || unusable || rack_like) {
                    continue;
                }
                for k in &r.racks {
                    let kid = format!("{}/{}/{}", h.id, r.id, k.id);
                    self.local_id(&kid, &k.id);
                    dup(self, &mut all_ids, kid);
                }
            }
        }

        let catalogue = site.rack_catalogue();
        let types: HashMap<&str, &RackType> = catalogue.iter().map(|t| (t.id.as_str(), t)).collect();

        // Loads at max power, summed per CDU (liquid heat, flow), per PDU (electrical).
        let mut cdu_heat: HashMap<&str, f64> = HashMap::new();
        let mut cdu_flow: HashMap<&str, f64> = HashMap::new();
        let mut pdu_load: HashMap<&str, f64> = HashMap::new();
        let mut hall_air: Vec<f64> = vec![0.0; site.halls.len()];
        let is = |target: &str, kind: Kind| ids.get(target) == Some(&kind);

        for (hi, h) in site.halls.iter().enumerate() {
            self.hall_layout(hi, h, &types);
            for (ri, row) in h.rows.iter().enumerate() {
                let rid = format!("{}/{}", h.id, row.id);
                // Racks of a row mostly share a type, a CDU and a PDU: the last lookup is kept,
                // and loads are summed per run of racks on the same unit.
                let mut type_of = TypeOf::new(&types);
                let mut cdu_run: Option<(&str, f64, f64)> = None;
                let mut pdu_run: Option<(&str, f64)> = None;
                for (ki, rack) in row.racks.iter().enumerate() {
                    let p = PlacedRack { hall_index: hi, row_index: ri, rack_index: ki, hall: h, row, rack };
                    if let Some(u) = p.rack.utilization {
                        if !(0.0..=1.0).contains(&u) {
                            self.range(&p.id(), "utilization", u, 0.0, 1.0, "");
                        }
                    }
                    let Some(tname) = p.rack_type() else {
                        self.err(
                            &p.id(),
                            "the rack has no type",
                            "give the rack or its row a `type`, e.g. \"gb300-nvl72\"",
                        );
                        continue;
                    };
                    let Some(ty) = type_of.get(Some(tname)) else {
                        let hint = match did_you_mean(tname, types.keys().copied()) {
                            Some(s) => {
                                format!("did you mean \"{s}\"? Known types: {}", known(&types))
                            }
                            None => format!("known types: {}; or add it under `rack_types`", known(&types)),
                        };
                        self.err(&p.id(), format!("unknown rack type \"{tname}\""), hint);
                        continue;
                    };
                    hall_air[hi] += ty.max_kw * (1.0 - ty.liquid_fraction);
                    // A reference inherited from the row is checked (and reported) once, at the row.
                    if ty.is_liquid() {
                        match p.cdu() {
                            None => self.err(
                                &p.id(),
                                "liquid-cooled rack is fed by no CDU",
                                "set `cdu` on the rack or its row",
                            ),
                            Some(c) => {
                                let found = match cdu_run {
                                    Some((r, _, _)) if r == c => true,
                                    _ => {
                                        is(c, Kind::Cdu) || {
                                            let owner = if p.rack.cdu.is_some() { p.id() } else { rid.clone() };
                                            self.reference_once(&owner, "cdu", c, &ids, &[Kind::Cdu])
                                        }
                                    }
                                };
                                if found {
                                    let (heat, flow) = (ty.max_kw * ty.liquid_fraction, ty.coolant_flow_lpm);
                                    match &mut cdu_run {
                                        Some((r, h, f)) if *r == c => {
                                            *h += heat;
                                            *f += flow;
                                        }
                                        run => {
                                            if let Some((r, h, f)) = run.replace((c, heat, flow)) {
                                                *cdu_heat.entry(r).or_default() += h;
                                                *cdu_flow.entry(r).or_default() += f;
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    match p.pdu() {
                        None => self.err(&p.id(), "the rack is fed by no PDU", "set `pdu` on the rack or its row"),
                        Some(d) => {
                            let found = match pdu_run {
                                Some((r, _)) if r == d => true,
                                _ => {
                                    is(d, Kind::Pdu) || {
                                        let owner = if p.rack.pdu.is_some() { p.id() } else { rid.clone() };
                                        self.reference_once(&owner, "pdu", d, &ids, &[Kind::Pdu])
                                    }
                                }
                            };
                            if found {
                                match &mut pdu_run {
                                    Some((r, l)) if *r == d => *l += ty.max_kw,
                                    run => {
                                        if let Some((r, l)) = run.replace((d, ty.max_kw)) {
                                            *pdu_load.entry(r).or_default() += l;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if let Some((r, h, f)) = cdu_run {
                    *cdu_heat.entry(r).or_default() += h;
                    *cdu_flow.entry(r).or_default() += f;
                }
                if let Some((r, l)) = pdu_run {
                    *pdu_load.entry(r).or_default() += l;
                }
            }
        }

        // Mechanical loads, by the UPS or feed they hang on (design power).
        let mut supply_load: HashMap<String, f64> = HashMap::new();
        let mut loop_heat: HashMap<String, f64> = HashMap::new();
        for (hi, h) in site.halls.iter().enumerate() {
            for c in &h.cdus {
                let id = cdu_id(h, c);
                self.range(&id, "capacity_kw", c.capacity_kw, 1.0, 20_000.0, "kW");
                self.range(&id, "approach_k", c.approach_k, 0.5, 20.0, "K");
                self.range(&id, "supply_setpoint_c", c.supply_setpoint_c, 5.0, 60.0, "°C");
                self.range(&id, "rated_flow_lpm", c.rated_flow_lpm, 1.0, 100_000.0, "L/min");
                self.range(&id, "pump_kw", c.pump_kw, 0.0, 1000.0, "kW");
                self.range(&id, "tcs_volume_l", c.tcs_volume_l, 1.0, 1.0e6, "L");
                self.pumps(&id, c.pumps, c.pumps_duty);
                let heat = cdu_heat.get(id.as_str()).copied().unwrap_or(0.0);
                if heat == 0.0 {
                    self.warn(&id, "the CDU feeds no racks", "point racks at it with `cdu`, or remove it");
                }
                if heat > c.capacity_kw * 1.0001 {
                    self.err(&id, format!("over capacity: its racks reject {heat:.0} kW to liquid at max power, the CDU is rated {:.0} kW", c.capacity_kw), "add a CDU and move racks to it, or use a bigger unit");
                }
                let flow = cdu_flow.get(id.as_str()).copied().unwrap_or(0.0);
                if flow > c.rated_flow_lpm * 1.0001 {
                    self.err(
                        &id,
                        format!(
                            "over capacity: its racks need {flow:.0} L/min, the CDU delivers {:.0} L/min",
                            c.rated_flow_lpm
                        ),
                        "raise `rated_flow_lpm` or move racks to another CDU",
                    );
                }
                if self.reference(&id, "facility_loop", &c.facility_loop, &ids, &[Kind::Loop]) {
                    *loop_heat.entry(c.facility_loop.clone()).or_default() += heat;
                }
                if self.reference(&id, "supply", &c.supply, &ids, &[Kind::Ups, Kind::Feed]) {
                    *supply_load.entry(c.supply.clone()).or_default() += c.pump_kw * c.pumps_duty as f64;
                }
            }
            let mut crah_cap = 0.0;
            for c in &h.crahs {
                let id = crah_id(h, c);
                self.range(&id, "capacity_kw", c.capacity_kw, 1.0, 5_000.0, "kW");
                self.range(&id, "airflow_m3_s", c.airflow_m3_s, 0.1, 500.0, "m³/s");
                self.range(&id, "fan_kw", c.fan_kw, 0.0, 500.0, "kW");
                self.range(&id, "supply_air_c", c.supply_air_c, 10.0, 35.0, "°C");
                crah_cap += c.capacity_kw;
                if let Some(l) = &c.facility_loop {
                    if self.reference(&id, "facility_loop", l, &ids, &[Kind::Loop]) {
                        *loop_heat.entry(l.clone()).or_default() += c.capacity_kw.min(hall_air[hi]);
                    }
                }
                if self.reference(&id, "supply", &c.supply, &ids, &[Kind::Ups, Kind::Feed]) {
                    *supply_load.entry(c.supply.clone()).or_default() += c.fan_kw;
                }
            }
            let air = hall_air[hi];
            if air > 1.0 && crah_cap < air * 0.999 {
                self.warn(
                    &h.id,
                    format!("{air:.0} kW of heat goes to room air at max power but CRAHs remove only {crah_cap:.0} kW"),
                    "add CRAH capacity, or the room will warm until racks throttle",
                );
            }
        }

        let rejection_kw: HashMap<&str, f64> = (site.plant.dry_coolers.iter().map(|d| (d.id.as_str(), d.capacity_kw)))
            .chain(site.plant.chillers.iter().map(|c| (c.id.as_str(), c.capacity_kw)))
            .collect();
        for l in &site.plant.loops {
            self.range(&l.id, "supply_setpoint_c", l.supply_setpoint_c, 4.0, 50.0, "°C");
            self.range(&l.id, "rated_flow_kg_s", l.rated_flow_kg_s, 0.1, 1.0e5, "kg/s");
            self.range(&l.id, "pump_kw", l.pump_kw, 0.0, 5000.0, "kW");
            self.range(&l.id, "volume_m3", l.volume_m3, 0.01, 1.0e5, "m³");
            self.pumps(&l.id, l.pumps, l.pumps_duty);
            if l.heat_rejection.is_empty() {
                self.err(&l.id, "the loop has no heat rejection", "list a dry cooler or chiller in `heat_rejection`");
            }
            let mut capacity = 0.0;
            for hr in &l.heat_rejection {
                if self.reference(&l.id, "heat_rejection", hr, &ids, &[Kind::DryCooler, Kind::Chiller]) {
                    capacity += rejection_kw.get(hr.as_str()).copied().unwrap_or(0.0);
                }
            }
            let heat = loop_heat.get(&l.id).copied().unwrap_or(0.0);
            if !l.heat_rejection.is_empty() && capacity > 0.0 && heat > capacity * 1.0001 {
                self.err(
                    &l.id,
                    format!("over capacity: {heat:.0} kW of design load on {capacity:.0} kW of heat rejection"),
                    "add dry coolers or chillers to the loop",
                );
            }
            if self.reference(&l.id, "supply", &l.supply, &ids, &[Kind::Ups, Kind::Feed]) {
                *supply_load.entry(l.supply.clone()).or_default() += l.pump_kw * l.pumps_duty as f64;
            }
        }
        // Outdoor plant with a position stands outside every hall and clear of other plant.
        let mut outdoor: Vec<(Footprint, &str)> = site
            .halls
            .iter()
            .map(|h| (Footprint { min: h.origin, max: (h.origin.0 + h.size.0, h.origin.1 + h.size.1) }, h.id.as_str()))
            .collect();
        let halls = outdoor.len();
        let plant = site.plant.dry_coolers.iter().map(|d| (d.position, DRY_COOLER_SIZE, d.id.as_str()));
        let plant = plant.chain(site.plant.chillers.iter().map(|c| (c.position, CHILLER_SIZE, c.id.as_str())));
        outdoor.extend(plant.filter_map(|(p, (w, d), id)| Some((Footprint::square(p?, w, d), id))));
        let boxes: Vec<Footprint> = outdoor.iter().map(|o| o.0).collect();
        for (i, j) in overlapping_pairs(&boxes) {
            if j >= halls {
                let what = if i < halls { "stands inside hall" } else { "overlaps" };
                self.err(
                    outdoor[j].1,
                    format!("{what} {}", outdoor[i].1),
                    "outdoor plant stands outside the halls, clear of other plant: move its `position`",
                );
            }
        }
        let used_rejection: HashSet<&str> =
            site.plant.loops.iter().flat_map(|l| l.heat_rejection.iter().map(String::as_str)).collect();
        for d in &site.plant.dry_coolers {
            self.range(&d.id, "capacity_kw", d.capacity_kw, 1.0, 50_000.0, "kW");
            self.range(&d.id, "fan_kw", d.fan_kw, 0.0, 5_000.0, "kW");
            self.range(&d.id, "design_air_c", d.design_air_c, -20.0, 55.0, "°C");
            self.range(&d.id, "design_fluid_in_c", d.design_fluid_in_c, 5.0, 80.0, "°C");
            if d.design_fluid_in_c <= d.design_air_c + 1.0 {
                self.err(
                    &d.id,
                    "design fluid temperature is not above design air temperature",
                    "a dry cooler needs warmer fluid than air; check both design values",
                );
            }
            if d.fans == 0 {
                self.err(&d.id, "the dry cooler has no fans", "set `fans` ≥ 1");
            }
            if !used_rejection.contains(d.id.as_str()) {
                self.warn(&d.id, "no loop uses this dry cooler", "list it in a loop's `heat_rejection`");
            }
            if self.reference(&d.id, "supply", &d.supply, &ids, &[Kind::Ups, Kind::Feed]) {
                *supply_load.entry(d.supply.clone()).or_default() += d.fan_kw;
            }
        }
        for c in &site.plant.chillers {
            self.range(&c.id, "capacity_kw", c.capacity_kw, 1.0, 50_000.0, "kW");
            self.range(&c.id, "cop", c.cop, 1.0, 15.0, "");
            self.range(&c.id, "restart_s", c.restart_s, 0.0, 7200.0, "s");
            if let Some(curves) = &c.curves {
                self.reference(&c.id, "curves", curves, &ids, &[Kind::ChillerCurves]);
            }
            if !used_rejection.contains(c.id.as_str()) {
                self.warn(&c.id, "no loop uses this chiller", "list it in a loop's `heat_rejection`");
            }
            if self.reference(&c.id, "supply", &c.supply, &ids, &[Kind::Ups, Kind::Feed]) {
                *supply_load.entry(c.supply.clone()).or_default() += c.capacity_kw / c.cop.max(1.0);
            }
        }

        // Electrical: PDU → UPS → feed, at max rack power plus design mechanical load.
        for p in &site.power.pdus {
            let load = pdu_load.get(p.id.as_str()).copied().unwrap_or(0.0);
            if load > p.capacity_kw * 1.0001 {
                self.err(
                    &p.id,
                    format!("over capacity: racks draw up to {load:.0} kW, the PDU is rated {:.0} kW", p.capacity_kw),
                    "add a PDU and move racks to it",
                );
            }
            if self.reference(&p.id, "ups", &p.ups, &ids, &[Kind::Ups]) {
                *supply_load.entry(p.ups.clone()).or_default() += load / p.efficiency.clamp(0.5, 1.0);
            }
        }
        for u in &site.power.ups {
            let load = supply_load.get(&u.id).copied().unwrap_or(0.0);
            if load > u.capacity_kw * 1.0001 {
                self.err(
                    &u.id,
                    format!("over capacity: {load:.0} kW of load on a {:.0} kW UPS", u.capacity_kw),
                    "add a UPS or move loads to another",
                );
            }
            if self.reference(&u.id, "feed", &u.feed, &ids, &[Kind::Feed]) {
                *supply_load.entry(u.feed.clone()).or_default() += load / u.efficiency.clamp(0.5, 1.0);
            }
        }
        if site.power.feeds.is_empty() {
            self.err("power", "the site has no utility feed", "add a feed under `power.feeds`");
        }
        for f in &site.power.feeds {
            let load = supply_load.get(&f.id).copied().unwrap_or(0.0);
            if load > f.capacity_kw * 1.0001 {
                self.err(
                    &f.id,
                    format!("over capacity: {load:.0} kW of design load on a {:.0} kW feed", f.capacity_kw),
                    "raise the feed capacity or split the load over feeds",
                );
            }
        }
    }

    /// Where things stand in one hall: its size, its rows' and racks' positions, footprints
    /// inside the hall and not overlapping. The part of validation a move or rotation changes.
    fn hall_layout(&mut self, hi: usize, h: &Hall, types: &HashMap<&str, &RackType>) {
        self.range(&h.id, "size.0", h.size.0, 1.0, 2000.0, "m");
        self.range(&h.id, "size.1", h.size.1, 1.0, 2000.0, "m");
        self.range(&h.id, "ceiling_height_m", h.ceiling_height_m, 2.5, 30.0, "m");
        self.range(&h.id, "tile_m", h.tile_m, 0.3, 1.2, "m");
        self.range(&h.id, "origin.0", h.origin.0, -1.0e5, 1.0e5, "m");
        self.range(&h.id, "origin.1", h.origin.1, -1.0e5, 1.0e5, "m");
        /// What a footprint belongs to; its id is spelt out only for a message.
        enum Owner {
            Rack(usize, usize),
            Cdu(usize),
            Crah(usize),
        }
        let mut boxes: Vec<Footprint> = Vec::new();
        let mut owners: Vec<Owner> = Vec::new();
        for (ri, row) in h.rows.iter().enumerate() {
            let rid = || format!("{}/{}", h.id, row.id);
            if row.racks.is_empty() {
                self.warn(&rid(), "the row has no racks", "add racks or remove the row");
            }
            if !(-1.0e4..=1.0e4).contains(&row.origin.0) || !(-1.0e4..=1.0e4).contains(&row.origin.1) {
                self.range(&rid(), "origin.0", row.origin.0, -1.0e4, 1.0e4, "m");
                self.range(&rid(), "origin.1", row.origin.1, -1.0e4, 1.0e4, "m");
            }
            let mut type_of = TypeOf::new(types);
            let widths: Vec<(f64, Option<f64>)> = row
                .racks
                .iter()
                .map(|k| {
                    (type_of.get(k.rack_type.as_deref().or(row.rack_type.as_deref())).map_or(0.6, |t| t.width_m), k.at)
                })
                .collect();
            for ((ki, rack), off) in row.racks.iter().enumerate().zip(row_offsets(widths.into_iter())) {
                let p = PlacedRack { hall_index: hi, row_index: ri, rack_index: ki, hall: h, row, rack };
                if let Some(at) = p.rack.at {
                    if !(0.0..=2000.0).contains(&at) {
                        self.range(&p.id(), "at", at, 0.0, 2000.0, "m");
                    }
                }
                // A rack without a known type is reported with the loads; it takes no floor.
                let Some(ty) = type_of.get(p.rack_type()) else { continue };
                let fp = rack_footprint(&p, ty, off);
                if !fp.inside(h.size.0, h.size.1) {
                    self.err(
                        &p.id(),
                        format!(
                            "the rack stands outside its hall ({:.2}..{:.2} × {:.2}..{:.2} m in a {} × {} m hall)",
                            fp.min.0, fp.max.0, fp.min.1, fp.max.1, h.size.0, h.size.1
                        ),
                        "move the row's origin or make the hall bigger",
                    );
                }
                boxes.push(fp);
                owners.push(Owner::Rack(ri, ki));
            }
        }
        for (ci, c) in h.cdus.iter().enumerate() {
            if let Some(pos) = c.position {
                boxes.push(Footprint::square(pos, 0.6, 1.2));
                owners.push(Owner::Cdu(ci));
            }
        }
        for (ci, c) in h.crahs.iter().enumerate() {
            if let Some(pos) = c.position {
                boxes.push(Footprint::square(pos, 1.8, 0.9));
                owners.push(Owner::Crah(ci));
            }
        }
        let name = |o: &Owner| match *o {
            Owner::Rack(r, k) => format!("{}/{}/{}", h.id, h.rows[r].id, h.rows[r].racks[k].id),
            Owner::Cdu(c) => cdu_id(h, &h.cdus[c]),
            Owner::Crah(c) => crah_id(h, &h.crahs[c]),
        };
        for (i, j) in overlapping_pairs(&boxes) {
            self.err(
                &name(&owners[j]),
                format!("overlaps {}", name(&owners[i])),
                "move one of them: footprints in a hall may touch but not overlap",
            );
        }
    }

    fn pumps(&mut self, id: &str, pumps: u32, duty: u32) {
        if duty == 0 || duty > pumps {
            self.err(
                id,
                format!("{duty} duty pumps of {pumps} installed"),
                "need 1 ≤ pumps_duty ≤ pumps (N+1: pumps = pumps_duty + 1)",
            );
        } else if pumps > 64 {
            self.err(id, format!("{pumps} pumps is absurd"), "use at most 64");
        }
    }

    fn rack_type(&mut self, t: &RackType) {
        let id = format!("rack_types/{}", t.id);
        self.range(&id, "max_kw", t.max_kw, 0.1, 2000.0, "kW");
        self.range(&id, "idle_kw", t.idle_kw, 0.0, 2000.0, "kW");
        if t.idle_kw > t.max_kw {
            self.err(&id, "idle_kw is above max_kw", "idle power must not exceed max power");
        }
        self.range(&id, "liquid_fraction", t.liquid_fraction, 0.0, 1.0, "");
        self.range(&id, "coolant_flow_lpm", t.coolant_flow_lpm, 0.0, 5000.0, "L/min");
        if t.liquid_fraction > 0.0 && t.coolant_flow_lpm <= 0.0 {
            self.err(&id, "a liquid-cooled type needs coolant flow", "set `coolant_flow_lpm` (≈ 1.5 L/min per kW)");
        }
        self.range(&id, "tokens_per_s", t.tokens_per_s, 0.0, 1.0e12, "tokens/s");
        self.range(&id, "width_m", t.width_m, 0.2, 5.0, "m");
        self.range(&id, "depth_m", t.depth_m, 0.2, 5.0, "m");
        self.range(&id, "height_m", t.height_m, 0.2, 5.0, "m");
        self.range(&id, "gpu_share", t.gpu_share, 0.0, 1.0, "");
        self.range(&id, "fan_power_fraction", t.fan_power_fraction, 0.0, 0.9, "");
        self.range(&id, "airflow_m3_s_per_kw", t.airflow_m3_s_per_kw, 0.005, 1.0, "m³/s per kW");
        self.range(&id, "supply_approach_k", t.supply_approach_k, 0.0, 15.0, "K");
        if let Some(g) = &t.gpu_model {
            let gpus = crate::model::mlperf::GPUS;
            if !gpus.contains(&g.as_str()) {
                let hint = match did_you_mean(g, gpus.iter().copied()) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("use one of {}, or leave it out to use `tokens_per_s`", gpus.join(", ")),
                };
                self.err(&id, format!("`gpu_model` \"{g}\" has no MLPerf results here"), hint);
            }
        }
    }

    /// A curve set: the coefficient counts EnergyPlus's curve forms have, finite numbers, a
    /// fitted range, and part-load limits that make sense.
    fn chiller_curves(&mut self, cc: &crate::model::ChillerCurves) {
        for (field, v, n, form) in [
            ("cap_ft", &cc.cap_ft, 6, "a biquadratic (a + b·x + c·x² + d·y + e·y² + f·x·y)"),
            ("eir_ft", &cc.eir_ft, 6, "a biquadratic (a + b·x + c·x² + d·y + e·y² + f·x·y)"),
            ("eir_fplr", &cc.eir_fplr, 3, "a quadratic (a + b·PLR + c·PLR²)"),
        ] {
            if v.len() != n {
                self.err(
                    &cc.id,
                    format!("`{field}` has {} coefficients; {form} has {n}", v.len()),
                    format!("give the {n} coefficients in EnergyPlus's order"),
                );
            } else if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                self.err(&cc.id, format!("`{field}` coefficient {} is not a number", i + 1), "give a finite number");
            }
        }
        for (field, (lo, hi)) in [("chilled_water_c", cc.chilled_water_c), ("condenser_c", cc.condenser_c)] {
            if !(lo.is_finite() && hi.is_finite() && lo < hi && lo > -30.0 && hi < 80.0) {
                self.err(
                    &cc.id,
                    format!("`{field}` ({lo}, {hi}) is not a range of temperatures"),
                    "give the (lowest, highest) °C the curves were fitted over",
                );
            }
        }
        // Over the fitted range the curves must give a capacity and a power: a set that goes to
        // zero or below there is mistyped (a sign, a power of ten).
        let (xs, ys) = (cc.chilled_water_c, cc.condenser_c);
        if cc.cap_ft.len() == 6 && cc.eir_ft.len() == 6 && xs.0 < xs.1 && ys.0 < ys.1 {
            for (field, c) in [("cap_ft", &cc.cap_ft), ("eir_ft", &cc.eir_ft)] {
                let bad = (0..=4).flat_map(|i| (0..=4).map(move |j| (i, j))).find_map(|(i, j)| {
                    let x = xs.0 + (xs.1 - xs.0) * i as f64 / 4.0;
                    let y = ys.0 + (ys.1 - ys.0) * j as f64 / 4.0;
                    let v = c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y;
                    (!(v > 0.0)).then_some((x, y, v))
                });
                if let Some((x, y, v)) = bad {
                    self.err(
                        &cc.id,
                        format!(
                            "`{field}` gives {v:.3} at {x:.1} °C chilled water, {y:.1} °C condenser, inside its range"
                        ),
                        "check the coefficients' signs and order: the curve must stay above 0 where it was fitted",
                    );
                }
            }
        }
        if cc.eir_fplr.len() == 3 {
            let f = &cc.eir_fplr;
            let lo = cc.plr_min_unloading.clamp(0.0, 1.0);
            if let Some(p) = (0..=4)
                .map(|k| lo + (cc.plr_max - lo) * k as f64 / 4.0)
                .find(|&p| !(f[0] + f[1] * p + f[2] * p * p > 0.0))
            {
                self.err(&cc.id, format!("`eir_fplr` gives 0 or less at part load {p:.2}"), "check its coefficients");
            }
        }
        self.range(&cc.id, "plr_min", cc.plr_min, 0.01, 1.0, "");
        self.range(&cc.id, "plr_min_unloading", cc.plr_min_unloading, 0.01, 1.0, "");
        self.range(&cc.id, "plr_max", cc.plr_max, 1.0, 1.5, "");
    }

    /// Like `reference`, but a failing (owner, target) pair is reported only the first time.
    fn reference_once(
        &mut self,
        owner: &str,
        field: &str,
        target: &str,
        ids: &HashMap<String, Kind>,
        allowed: &[Kind],
    ) -> bool {
        if ids.get(target).is_some_and(|k| allowed.contains(k)) {
            return true;
        }
        if self.reported.insert((owner.to_string(), target.to_string())) {
            self.reference(owner, field, target, ids, allowed);
        }
        false
    }

    /// Checks that `target` exists and is of an allowed kind; says which kinds fit if not.
    fn reference(
        &mut self,
        owner: &str,
        field: &str,
        target: &str,
        ids: &HashMap<String, Kind>,
        allowed: &[Kind],
    ) -> bool {
        match ids.get(target) {
            Some(k) if allowed.contains(k) => true,
            Some(k) => {
                self.err(
                    owner,
                    format!("`{field}` points at \"{target}\", which is a {k:?}"),
                    format!("`{field}` must name a {}", kinds(allowed)),
                );
                false
            }
            None => {
                let candidates: Vec<&str> =
                    ids.iter().filter(|(_, k)| allowed.contains(k)).map(|(id, _)| id.as_str()).collect();
                let hint = match did_you_mean(target, candidates.iter().copied()) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("`{field}` must name an existing {}", kinds(allowed)),
                };
                self.err(owner, format!("`{field}` points at \"{target}\", which does not exist"), hint);
                false
            }
        }
    }
}

/// Rack type by name, remembering the last one asked: a row's racks mostly share a type.
struct TypeOf<'t, 'n> {
    types: &'t HashMap<&'t str, &'t RackType>,
    last: Option<(&'n str, Option<&'t RackType>)>,
}

impl<'t, 'n> TypeOf<'t, 'n> {
    fn new(types: &'t HashMap<&'t str, &'t RackType>) -> Self {
        TypeOf { types, last: None }
    }
    fn get(&mut self, name: Option<&'n str>) -> Option<&'t RackType> {
        let name = name?;
        match self.last {
            Some((n, t)) if n == name => t,
            _ => {
                let t = self.types.get(name).copied();
                self.last = Some((name, t));
                t
            }
        }
    }
}

/// Checks only what moving or turning rows and racks in hall `hall` can change: positions,
/// footprints inside the hall, overlaps. For a site that validated before such a change this
/// gives the same errors as `validate`, at a fraction of its cost on a large site.
pub fn validate_hall_layout(site: &Site, hall: usize) -> Vec<Diagnostic> {
    let mut v = Validator { out: Vec::new(), reported: HashSet::new() };
    let catalogue = site.rack_catalogue();
    let types: HashMap<&str, &RackType> = catalogue.iter().map(|t| (t.id.as_str(), t)).collect();
    if let Some(h) = site.halls.get(hall) {
        v.hall_layout(hall, h, &types);
    }
    v.out
}

fn usable_local_id(id: &str) -> bool {
    !(id.is_empty() || id.contains('/') || id.chars().any(char::is_whitespace))
}

fn kinds(k: &[Kind]) -> String {
    k.iter()
        .map(|k| match k {
            Kind::ChillerCurves => {
                "chiller curve set (the scene's `chiller_curves`, york-yt-1055kw or york-ycal0019ee-54kw)".into()
            }
            k => format!("{k:?}"),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn known(types: &HashMap<&str, &RackType>) -> String {
    let mut v: Vec<&str> = types.keys().copied().collect();
    v.sort_unstable();
    v.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn errors(src: &str) -> Vec<Diagnostic> {
        match parse(src) {
            Ok(_) => panic!("expected errors"),
            Err(e) => e.0.into_iter().filter(Diagnostic::is_error).collect(),
        }
    }

    /// A scene's own chiller curve set: wrong coefficient counts, an inverted range and a
    /// misspelt name are refused at the curve set's (or chiller's) place; a good one is used.
    #[test]
    fn chiller_curve_sets_are_checked_and_named() {
        let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenes/mixed-air-hall.ron")).unwrap();
        let with = |curves: &str, name: &str| {
            base.replacen(
                "        chillers: [",
                &format!("        chiller_curves: [{curves}],\n        chillers: ["),
                1,
            )
            .replacen("(id: \"ch-1\", ", &format!("(id: \"ch-1\", curves: \"{name}\", "), 1)
        };
        let good = "(id: \"my-screw\", cap_ft: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], eir_ft: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], \
                    eir_fplr: [0.2, 0.8, 0.0], chilled_water_c: (5.0, 20.0), condenser_c: (20.0, 45.0))";
        assert!(parse(&with(good, "my-screw")).is_ok());
        let e = errors(&with(&good.replace("cap_ft: [1.0, 0.0, ", "cap_ft: ["), "my-screw"));
        let line = with(good, "my-screw").lines().position(|l| l.contains("chiller_curves")).unwrap() + 1;
        assert!(e.iter().any(|d| d.message.contains("`cap_ft` has 4 coefficients")), "{e:?}");
        assert!(e.iter().all(|d| d.display("s.ron").to_string().starts_with(&format!("s.ron:{line}:"))), "{e:?}");
        let e = errors(&with(&good.replace("(20.0, 45.0)", "(45.0, 20.0)"), "my-screw"));
        assert!(e[0].message.contains("`condenser_c` (45, 20) is not a range"), "{e:?}");
        let e = errors(&with(good, "my-scew"));
        assert!(e[0].message.contains("\"my-scew\", which does not exist"), "{e:?}");
        assert!(e[0].hint.as_deref().is_some_and(|h| h.contains("my-screw")), "{e:?}");
        // A set that gives no capacity inside its own range.
        let e = errors(&with(&good.replace("cap_ft: [1.0, ", "cap_ft: [-1.0, "), "my-screw"));
        assert!(e[0].message.contains("`cap_ft` gives -1.000 at 5.0 °C chilled water"), "{e:?}");
        // Built-in sets need no definition.
        assert!(parse(&with("", "york-ycal0019ee-54kw")).is_ok());
    }

    #[test]
    fn outdoor_plant_inside_a_hall_or_on_other_plant_is_refused() {
        let mut site = parse(DEMO_SCENE).unwrap().site;
        let mut dc2 = site.plant.dry_coolers[0].clone();
        dc2.id = "dc-2".into();
        dc2.position = Some((6.0, 4.0));
        site.plant.dry_coolers.push(dc2.clone());
        site.plant.loops[0].heat_rejection.push("dc-2".into());
        let errors: Vec<String> =
            validate(&site).iter().filter(|d| d.is_error()).map(|d| d.display("x").to_string()).collect();
        assert!(errors.iter().any(|e| e.contains("stands inside hall hall-1") && e.contains("[dc-2]")), "{errors:?}");
        site.plant.dry_coolers[1].position = site.plant.dry_coolers[0].position.map(|(x, y)| (x + 3.0, y));
        let errors: Vec<String> =
            validate(&site).iter().filter(|d| d.is_error()).map(|d| d.display("x").to_string()).collect();
        assert!(errors.iter().any(|e| e.contains("overlaps dc-1")), "{errors:?}");
    }

    #[test]
    fn the_new_scene_loads_without_errors() {
        let site = parse(EMPTY_HALL_SCENE).unwrap_or_else(|e| panic!("{:?}", e.0)).site;
        assert_eq!(site.rack_count(), 0);
    }

    #[test]
    fn demo_scene_is_valid_and_round_trips() {
        let loaded = parse(DEMO_SCENE).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(loaded.site.rack_count(), 8);
        let text = to_ron(&loaded.site).unwrap();
        assert_eq!(parse(&text).unwrap().site, loaded.site);
    }

    #[test]
    fn misspelt_rack_type_names_the_rack_its_line_and_a_suggestion() {
        let src = DEMO_SCENE.replacen("(id: \"rack-03\")", "(id: \"rack-03\", type: \"gb300-nvl27\")", 1);
        let e = errors(&src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].object.as_deref(), Some("hall-1/row-A/rack-03"));
        assert!(e[0].message.contains("gb300-nvl27"));
        assert!(e[0].hint.as_deref().unwrap_or("").contains("did you mean \"gb300-nvl72\""));
        let line = src.lines().position(|l| l.contains("gb300-nvl27")).unwrap() + 1;
        assert_eq!(e[0].position.map(|p| p.0), Some(line));
    }

    #[test]
    fn truncated_file_gives_a_position() {
        let src = &DEMO_SCENE[..DEMO_SCENE.len() / 2];
        let e = errors(src);
        assert_eq!(e.len(), 1);
        let (line, _) = e[0].position.unwrap();
        assert!(line > 1, "{e:?}");
    }

    #[test]
    fn empty_and_binary_files_are_refused_with_a_position() {
        for src in ["", "   \n\n"] {
            let e = errors(src);
            assert_eq!(e[0].position, Some((1, 1)));
            assert!(e[0].message.contains("empty"));
        }
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let e = parse_bytes(&garbage).unwrap_err();
        assert!(e.0[0].position.is_some());
    }

    #[test]
    fn field_of_the_wrong_type_points_at_it() {
        let src = DEMO_SCENE.replace("capacity_kw: 1368.0", "capacity_kw: \"big\"");
        let e = errors(&src);
        let line = src.lines().position(|l| l.contains("\"big\"")).unwrap() + 1;
        assert_eq!(e[0].position.map(|p| p.0), Some(line), "{e:?}");
    }

    #[test]
    fn unknown_field_is_an_error_at_its_line() {
        let src = DEMO_SCENE.replace("approach_k: 4.0,", "approach_k: 4.0,\n                    aproach: 4.0,");
        let e = errors(&src);
        let line = src.lines().position(|l| l.contains("aproach:")).unwrap() + 1;
        assert_eq!(e[0].position.map(|p| p.0), Some(line), "{e:?}");
    }

    #[test]
    fn overlapping_racks_are_named() {
        let src = DEMO_SCENE.replacen("(id: \"rack-02\")", "(id: \"rack-02\", at: 0.3)", 1);
        let e = errors(&src);
        assert!(e.iter().any(|d| d.message.contains("overlaps hall-1/row-A/rack-0")), "{e:?}");
        assert!(e.iter().all(|d| d.position.is_some()));
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let src = DEMO_SCENE
            .replacen("pdu: \"pdu-A\",\n                    racks", "pdu: \"pdu-X\",\n                    racks", 1)
            .replace("heat_rejection: [\"dc-1\"]", "heat_rejection: []")
            .replace("capacity_kw: 1250.0", "capacity_kw: 500.0")
            .replace("size: (12.0, 9.0)", "size: (5.0, 9.0)")
            .replace("(id: \"rack-04\", utilization: 0.6)", "(id: \"rack-03\", utilization: 1.6)");
        let e = errors(&src);
        let text: Vec<String> = e.iter().map(|d| d.display("x.ron").to_string()).collect();
        let all = text.join("\n");
        for expect in ["pdu-X", "no heat rejection", "duplicate id", "outside its hall", "utilization", "over capacity"]
        {
            assert!(all.contains(expect), "missing {expect:?} in\n{all}");
        }
    }

    #[test]
    fn newer_version_is_refused_older_unknown_too() {
        let e = errors(&DEMO_SCENE.replace("version: 1,", "version: 9,"));
        assert!(e[0].message.contains("newer"));
        let e = errors(&DEMO_SCENE.replace("version: 1,", "version: 0,"));
        assert!(e[0].message.contains("unknown scene version 0"));
    }

    #[test]
    fn absurd_values_are_errors() {
        for (from, to) in [
            ("approach_k: 4.0", "approach_k: -4.0"),
            ("ceiling_height_m: 5.0", "ceiling_height_m: 500.0"),
            ("efficiency: 0.96", "efficiency: 1.5"),
            ("pumps_duty: 2,\n                    pump_kw: 25.0", "pumps_duty: 4,\n                    pump_kw: 25.0"),
            ("dry_bulb_c: 24.0", "dry_bulb_c: NaN"),
        ] {
            let src = DEMO_SCENE.replacen(from, to, 1);
            assert_ne!(src, DEMO_SCENE, "{from}");
            assert!(!errors(&src).is_empty(), "{to}");
        }
    }

    #[test]
    fn liquid_rack_without_cdu_and_cdu_over_capacity() {
        let e = errors(&DEMO_SCENE.replacen("cdu: \"hall-1/cdu-1\",\n", "", 1));
        assert!(e.iter().any(|d| d.message.contains("fed by no CDU")));
        let e = errors(&DEMO_SCENE.replace("capacity_kw: 1368.0", "capacity_kw: 500.0"));
        assert!(e.iter().any(|d| d.object.as_deref() == Some("hall-1/cdu-1") && d.message.contains("over capacity")));
    }

    #[test]
    fn save_is_atomic_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("ft-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.ron");
        let site = parse(DEMO_SCENE).unwrap().site;
        save(&site, &path).unwrap();
        save(&site, &path).unwrap();
        assert_eq!(load_file(&path).unwrap().site, site);
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// How many lines of the saved form differ between two sites (None if even the number of
    /// lines differs): one changed value is one changed line.
    fn changed_lines(a: &Site, b: &Site) -> Option<usize> {
        let (a, b) = (to_ron(a).unwrap(), to_ron(b).unwrap());
        let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
        (a.len() == b.len()).then(|| a.iter().zip(&b).filter(|(x, y)| x != y).count())
    }

    /// A refusal says what and where: its first entry is an error with a position or an object.
    fn says_where(e: &SceneErrors) -> Result<(), String> {
        match e.0.first() {
            Some(d) if d.is_error() && !d.message.is_empty() && (d.position.is_some() || d.object.is_some()) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_are_refused_with_a_position(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let e = parse_bytes(&bytes).err().expect("random bytes are not a scene");
            prop_assert!(e.0.first().is_some_and(|d| d.is_error() && d.position.is_some()), "{:?}", e.0.first());
        }

        /// Flipped bits: the scene as written, differing from the undamaged one in at most one
        /// value per flip (a flip in a comment or a space changes nothing), or a refusal that
        /// says where. Never a panic, never a scene that silently lost or gained something.
        #[test]
        fn bit_flipped_scenes_load_as_written_or_say_where(flips in proptest::collection::vec((0usize..100_000, 0u8..8), 1..4)) {
            let original = parse(DEMO_SCENE).unwrap().site;
            let mut b = DEMO_SCENE.as_bytes().to_vec();
            for &(pos, bit) in &flips {
                let i = pos % b.len();
                b[i] ^= 1 << bit;
            }
            match parse_bytes(&b) {
                Ok(l) => {
                    let changed = changed_lines(&original, &l.site);
                    prop_assert!(changed.is_some_and(|n| n <= flips.len()), "{:?} lines changed by {} flips", changed, flips.len());
                }
                Err(e) => prop_assert!(says_where(&e).is_ok(), "{}", says_where(&e).unwrap_err()),
            }
        }

        /// Bytes replaced, cut out, the file truncated: a scene that saves and loads back the
        /// same, or a refusal that says where.
        #[test]
        fn mutated_scenes_load_consistently_or_say_where(cut in 0usize..4000, pos in 0usize..4000, byte in any::<u8>(), del in 0usize..40) {
            let mut b = DEMO_SCENE.as_bytes().to_vec();
            let p = pos % b.len();
            b[p] = byte;
            let d = (p + del).min(b.len());
            b.drain(p..d);
            b.truncate(cut.max(1).min(b.len()));
            match parse_bytes(&b) {
                Ok(l) => prop_assert_eq!(&parse(&to_ron(&l.site).unwrap()).unwrap().site, &l.site),
                Err(e) => prop_assert!(says_where(&e).is_ok(), "{}", says_where(&e).unwrap_err()),
            }
        }

        /// One number replaced by a numeric-looking token: the scene with that one value
        /// changed, or a refusal that says where.
        #[test]
        fn mutated_numbers_change_one_value_or_say_where(digits in "[-0-9.eE]{1,12}", which in 0usize..60) {
            // Replace the n-th number in the demo with an arbitrary numeric-looking token.
            let src = DEMO_SCENE;
            let starts: Vec<usize> = src.char_indices().filter(|(i, c)| c.is_ascii_digit() && !src[..*i].ends_with(|p: char| p.is_ascii_alphanumeric() || p == '.' || p == '-')).map(|(i, _)| i).collect();
            let s = starts[which % starts.len()];
            let e = s + src[s..].find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(0);
            let mutated = format!("{}{}{}", &src[..s], digits, &src[e..]);
            match parse(&mutated) {
                Ok(l) => {
                    let changed = changed_lines(&parse(DEMO_SCENE).unwrap().site, &l.site);
                    prop_assert!(changed.is_some_and(|n| n <= 1), "{:?} lines changed by one number", changed);
                }
                Err(e) => prop_assert!(says_where(&e).is_ok(), "{}", says_where(&e).unwrap_err()),
            }
        }
    }
}
