//! Inspector (right panel): the selected object's properties, live values and charts of its
//! temperatures, power and flow over the last minutes; the alarm list (click → select and
//! focus); and the hover tooltip.

use std::collections::VecDeque;

use bevy::prelude::*;
use bevy_egui::egui;
// Axis marks at 1, 5, 25…: base 10 labelled only 0 on a 10-minute chart and nothing on a
// 30–95 °C one.
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints, log_grid_spacer};

use super::AppSystems;
use super::SiteNetwork;
use super::clock;
use super::selection::{Select, Selection};
use super::sim_link::{LatestSnapshot, UiCommand};
use super::tags::{FacilityTags, ObjectKind};
use crate::live::SimCommand;
use crate::sim::network::NONE;
use crate::sim::scenario::{Failure, FailureKind};
use crate::sim::snapshot::RackStatus;
use crate::sim::{Action, AlarmSeverity, Snapshot};

/// Samples kept for the charts: 10 minutes at 1 Hz of sim time.
pub const HISTORY_LEN: usize = 600;

/// The selected object's recent values, one row per new snapshot.
#[derive(Resource, Debug, Default)]
pub struct History {
    pub tag: Option<u32>,
    pub samples: VecDeque<Sample>,
    /// The same object in a compared run B over the same stretch, at A's times (the timeline
    /// fills it while comparing).
    pub b_samples: Vec<Sample>,
}

/// One row of the charts; a value that does not apply to the object is NaN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub time_s: f64,
    /// Three temperatures, °C: GPU / coolant / inlet air for a rack; supply / return / – for a CDU.
    pub temps: [f32; 3],
    pub power_kw: f32,
    /// Coolant flow as a fraction of design (the rack's CDU for a rack).
    pub flow: f32,
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<History>()
        .add_systems(Update, record_history.after(AppSystems::PullSnapshot))
        .add_systems(Update, forget_history.run_if(super::scene_rebuilds).in_set(AppSystems::Rebuild));
}

/// The scene's objects changed (an edit added or removed some, or another file opened): past
/// snapshots no longer line up with the objects, so the charts start over.
fn forget_history(mut history: ResMut<History>) {
    history.tag = None;
    history.samples.clear();
    history.b_samples.clear();
}

/// The values of object `tag` in `s`.
pub fn sample(s: &Snapshot, tags: &FacilityTags, net: Option<&SiteNetwork>, tag: u32) -> Option<Sample> {
    let nan = f32::NAN;
    let (temps, power_kw, flow) = match tags.kind(tag)? {
        ObjectKind::Rack(i) => {
            let r = &s.racks;
            let cdu = net.and_then(|n| n.0.racks.get(i)).map_or(NONE, |r| r.cdu);
            let flow = s.cdus.get(cdu as usize).map_or(nan, |c| c.flow_fraction);
            ([*r.gpu_c.get(i)?, *r.coolant_c.get(i)?, *r.inlet_c.get(i)?], *r.power_kw.get(i)?, flow)
        }
        ObjectKind::Cdu(k) => {
            let c = s.cdus.get(k)?;
            ([c.supply_c, c.return_c, nan], c.heat_kw, c.flow_fraction)
        }
        ObjectKind::Crah(k) => (s.crahs.get(k).map(|_| [nan, nan, nan])?, s.crahs[k].power_kw, nan),
        ObjectKind::DryCooler(k) => (s.dry_coolers.get(k).map(|_| [nan, nan, nan])?, s.dry_coolers[k].power_kw, nan),
        ObjectKind::Chiller(k) => (s.chillers.get(k).map(|_| [nan, nan, nan])?, s.chillers[k].power_kw, nan),
    };
    Some(Sample { time_s: s.time_s, temps, power_kw, flow })
}

/// A replay jump further than this (sim seconds) refills the charts from the file.
const REFILL_JUMP_S: f64 = 120.0;

pub(super) fn record_history(
    latest: Res<LatestSnapshot>,
    selection: Res<Selection>,
    tags: Option<Res<FacilityTags>>,
    net: Option<Res<SiteNetwork>>,
    live: Option<Res<super::live_history::LiveRunHistory>>,
    mut replay: Option<ResMut<super::replay_link::ReplayLink>>,
    mut history: ResMut<History>,
) {
    let (Some(tags), Some(s)) = (tags, latest.snapshot.as_ref()) else {
        history.tag = selection.selected;
        history.samples.clear();
        return;
    };
    let last = history.samples.back().map(|x| x.time_s);
    let jumped = last.is_some_and(|t| s.time_s < t || s.time_s > t + REFILL_JUMP_S);
    if history.tag != selection.selected || jumped {
        history.tag = selection.selected;
        history.samples.clear();
        let Some(tag) = history.tag else { return };
        // The charts open on the last 10 minutes: from the file, or from the live run's past.
        let from = s.time_s - HISTORY_LEN as f64;
        let mut past = Vec::new();
        match replay.as_mut() {
            Some(r) => {
                let result = r.player.samples_between(from, s.time_s, |x| {
                    past.extend(sample(x, &tags, net.as_deref(), tag));
                    Ok(())
                });
                if let Err(e) = result {
                    r.messages.push(e);
                }
            }
            // Live: the run's history the timeline keeps (`live_history`).
            None => {
                if let Some(live) = &live {
                    let _ = live.history.samples_between(from, s.time_s, |x| {
                        past.extend(sample(&x, &tags, net.as_deref(), tag));
                        Ok(())
                    });
                }
            }
        }
        history.samples.extend(past.into_iter().filter(|x| x.time_s < s.time_s));
    }
    let Some(tag) = history.tag else { return };
    // Right after an edit the last snapshot may still be of the old layout: not this object's.
    if !tags.fits(s) {
        return;
    }
    if history.samples.back().map(|x| x.time_s) == Some(s.time_s) {
        return;
    }
    if let Some(x) = sample(s, &tags, net.as_deref(), tag) {
        while history.samples.len() >= HISTORY_LEN
            || history.samples.front().is_some_and(|f| f.time_s < s.time_s - HISTORY_LEN as f64)
        {
            history.samples.pop_front();
        }
        history.samples.push_back(x);
    }
}

fn kind_name(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::Rack(_) => "rack",
        ObjectKind::Cdu(_) => "CDU",
        ObjectKind::Crah(_) => "CRAH",
        ObjectKind::DryCooler(_) => "dry cooler",
        ObjectKind::Chiller(_) => "chiller",
    }
}

/// Lines of "label: value" for the tooltip and the inspector.
pub fn describe(s: &Snapshot, tags: &FacilityTags, net: Option<&SiteNetwork>, tag: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(kind) = tags.kind(tag) else { return out };
    let mut put = |k: &str, v: String| out.push((k.to_string(), v));
    match kind {
        ObjectKind::Rack(i) => {
            let r = &s.racks;
            if let Some(t) = tags.rack_types.get(i) {
                put("type", t.clone());
            }
            if let Some(n) = net.and_then(|n| n.0.racks.get(i).map(|r| (n, r))) {
                let (net, node) = n;
                put("CDU", net.0.ids.cdus.get(node.cdu as usize).cloned().unwrap_or_else(|| "none (air)".into()));
                put("PDU", net.0.ids.pdus.get(node.pdu as usize).cloned().unwrap_or_default());
                put("rated", format!("{:.0} kW", node.idle_kw + node.dyn_kw));
            }
            let get = |v: &Vec<f32>| v.get(i).copied().unwrap_or(f32::NAN);
            put("GPU", format!("{:.1} °C", get(&r.gpu_c)));
            let st = r.status.get(i).copied().unwrap_or(0);
            // Air-cooled racks: the coolant column holds the exhaust air (EnergyPlus ITE).
            let coolant = if st & RackStatus::AIR_COOLED == 0 { "coolant" } else { "exhaust air" };
            put(coolant, format!("{:.1} °C", get(&r.coolant_c)));
            put("inlet air", format!("{:.1} °C", get(&r.inlet_c)));
            put("power", format!("{:.1} kW", get(&r.power_kw)));
            put("utilization", format!("{:.0} %", get(&r.utilization) * 100.0));
            put("output", format!("{:.1} %", get(&r.output) * 100.0));
            let mut state = Vec::new();
            for (bit, name) in [
                (RackStatus::THROTTLED, "throttled"),
                (RackStatus::SHUTDOWN, "shut down"),
                (RackStatus::NO_POWER, "no power"),
                (RackStatus::INLET_CRIT, "inlet critical"),
                (RackStatus::INLET_WARN, "inlet warm"),
            ] {
                if st & bit != 0 {
                    state.push(name);
                }
            }
            put("state", if state.is_empty() { "ok".into() } else { state.join(", ") });
        }
        ObjectKind::Cdu(k) => {
            if let Some(c) = s.cdus.get(k) {
                if let Some(node) = net.and_then(|n| n.0.cdus.get(k)) {
                    put("capacity", format!("{:.0} kW", node.capacity_kw));
                    put("racks", node.racks.len().to_string());
                }
                put("supply", format!("{:.1} °C", c.supply_c));
                put("return", format!("{:.1} °C", c.return_c));
                put("heat", format!("{:.0} kW", c.heat_kw));
                put("flow", format!("{:.0} %", c.flow_fraction * 100.0));
                put("pumps running", c.pumps_running.to_string());
                // Without flow a CDU moves no heat: its spare capacity means nothing.
                put(
                    "headroom",
                    if c.flow_fraction > 0.0 { format!("{:.0} %", c.headroom * 100.0) } else { "— (no flow)".into() },
                );
            }
        }
        ObjectKind::Crah(k) => {
            if let Some(e) = s.crahs.get(k) {
                put("coil heat", format!("{:.0} kW", e.heat_kw));
                put("fan power", format!("{:.1} kW", e.fan_kw));
                if e.compressor_kw > 0.0 {
                    put("compressor", format!("{:.1} kW", e.compressor_kw));
                }
                put("in service", if e.running { "yes" } else { "no (failed, or no power or water)" }.into());
            }
        }
        ObjectKind::DryCooler(k) => {
            if let Some(e) = s.dry_coolers.get(k) {
                put("heat rejected", format!("{:.0} kW", e.heat_kw));
                put("fan power", format!("{:.1} kW", e.power_kw));
                put("fan speed", format!("{:.0} %", e.fan_speed * 100.0));
                put("in service", if e.running { "yes" } else { "no (failed, or no power)" }.into());
            }
        }
        ObjectKind::Chiller(k) => {
            if let Some(e) = s.chillers.get(k) {
                put("load", format!("{:.0} kW", e.heat_kw));
                put("available", format!("{:.0} kW", e.available_kw));
                put("power", format!("{:.1} kW", e.power_kw));
                let state = if e.running {
                    format!("{:.2}", e.cop)
                } else if e.available_kw > 0.0 {
                    "— (standing by)".into()
                } else {
                    "— (out of service)".into()
                };
                put("COP", state);
                put("part load", format!("{:.0} %", e.plr * 100.0));
                // What its curves were read at, and the rating they scale.
                if let Some(net) = net {
                    let n = &net.0;
                    if let Some(c) = n.chillers.get(k) {
                        let setpoint = n.loops.iter().find(|l| l.chillers.contains(&(k as u32))).map(|l| l.setpoint_c);
                        if let Some(sp) = setpoint {
                            let (lo, hi) = c.curves.t_chw_range_c;
                            let read = sp.clamp(lo, hi);
                            put(
                                "chilled water",
                                if read == sp {
                                    format!("{sp:.1} °C")
                                } else {
                                    format!("{sp:.1} °C (curves read at {read:.2} °C, the end of their range)")
                                },
                            );
                        }
                        let (lo, hi) = c.curves.t_cond_range_c;
                        let cond = e.condenser_c as f64;
                        let read = cond.clamp(lo, hi);
                        put(
                            if c.air_cooled { "condenser air" } else { "condenser water" },
                            if (read - cond).abs() < 0.005 {
                                format!("{cond:.1} °C")
                            } else {
                                format!("{cond:.1} °C (curves read at {read:.2} °C)")
                            },
                        );
                        put("rated", format!("{:.0} kW, COP {:.2}", c.capacity_kw, c.curves.cop));
                        put("curves", c.curve_set.clone());
                    }
                } else {
                    put("condenser", format!("{:.1} °C", e.condenser_c));
                }
            }
        }
    }
    out
}

/// "290 M tokens over the hour (25.0 %), 8th of 26" or "absorbed (spare held)", from a
/// finished Resilience check, for a unit it failed.
fn failure_cost(
    r: Option<&super::resilience::Resilience>,
    kind: Option<ObjectKind>,
    id: Option<&String>,
) -> Option<String> {
    let report = r?.report.as_ref()?;
    let name = match kind? {
        ObjectKind::Cdu(_) => "cdu",
        ObjectKind::Chiller(_) => "chiller",
        ObjectKind::DryCooler(_) => "dry-cooler",
        ObjectKind::Crah(_) => "crah",
        ObjectKind::Rack(_) => return None,
    };
    let want = format!("{name} {}", id?);
    let (rank, o) = report.results.iter().enumerate().find(|(_, o)| o.failure == want)?;
    Some(if o.costs_output {
        let window = report.healthy_tokens_per_s * report.options.duration_s;
        let pct = if window > 0.0 { 100.0 * o.tokens_lost / window } else { 0.0 };
        format!(
            "{} tokens in {:.0} min ({pct:.1} %), {} of {} by cost",
            crate::demo::si(o.tokens_lost),
            report.options.duration_s / 60.0,
            rank + 1,
            report.results.len()
        )
    } else if o.redundancy == crate::check::Redundancy::Held {
        "absorbed (spare held)".into()
    } else {
        "absorbed".into()
    })
}

/// The failure that takes this object out, if it can fail on its own.
fn failure_of(kind: ObjectKind, id: &str) -> Option<Failure> {
    let kind = match kind {
        ObjectKind::Rack(_) => return None,
        ObjectKind::Cdu(_) => FailureKind::Cdu,
        ObjectKind::Crah(_) => FailureKind::Crah,
        ObjectKind::DryCooler(_) => FailureKind::DryCooler,
        ObjectKind::Chiller(_) => FailureKind::Chiller,
    };
    Some(Failure { kind, target: id.to_string() })
}

/// What the inspector reads besides the snapshot.
#[derive(bevy::ecs::system::SystemParam)]
pub struct InspectorParams<'w> {
    selection: Res<'w, Selection>,
    history: Res<'w, History>,
    tags: Option<Res<'w, FacilityTags>>,
    net: Option<Res<'w, SiteNetwork>>,
}

/// The right panel and the hover tooltip; called by the panel layout after the other panels.
pub fn show(
    root: &mut egui::Ui,
    p: &mut InspectorParams,
    s: &Snapshot,
    live: bool,
    commands: &mut MessageWriter<UiCommand>,
    select: &mut MessageWriter<Select>,
    width: &mut f32,
    // The panels own it (mutably, for their Resilience section); the inspector only reads it.
    resilience: Option<&super::resilience::Resilience>,
) {
    let Some(tags) = p.tags.as_deref() else { return };
    let net = p.net.as_deref();
    let selection = p.selection.clone();
    // The panel makes room only when it has something to say.
    let wanted = selection.selected.is_some() || !s.active_alarms.is_empty();
    if wanted {
        let panel = egui::Panel::right("inspector").default_size(*width).show(root, |ui| {
            ui.heading("Inspector");
            match selection.selected {
                None => {
                    ui.label("Click an object, or pick one in the outliner.");
                }
                Some(tag) => {
                    let id = tags.ids.get(tag as usize).cloned().unwrap_or_default();
                    let kind = tags.kind(tag);
                    ui.horizontal(|ui| {
                        ui.strong(&id);
                        if let Some(k) = kind {
                            ui.label(kind_name(k));
                        }
                    });
                    ui.horizontal(|ui| {
                        if ui.small_button("Focus").clicked() {
                            select.write(Select { tag: Some(tag), focus: true });
                        }
                        if ui.small_button("Clear").clicked() {
                            select.write(Select { tag: None, focus: false });
                        }
                        if let (true, Some(f)) = (live, kind.and_then(|k| failure_of(k, &id))) {
                            if ui.small_button("Fail").clicked() {
                                commands.write(UiCommand(SimCommand::Apply(Action::Fail(f.clone()))));
                            }
                            if ui.small_button("Restore").clicked() {
                                commands.write(UiCommand(SimCommand::Apply(Action::Restore(f))));
                            }
                        }
                    });
                    egui::Grid::new("props").num_columns(2).striped(true).show(ui, |ui| {
                        for (k, v) in describe(s, tags, net, tag) {
                            ui.label(k);
                            ui.label(v);
                            ui.end_row();
                        }
                        // What the Resilience check found this unit's own failure costs.
                        if let Some(text) = failure_cost(resilience, kind, tags.ids.get(tag as usize)) {
                            ui.label("if it fails");
                            ui.label(text);
                            ui.end_row();
                        }
                    });
                    let air = match kind {
                        Some(ObjectKind::Rack(i)) => {
                            s.racks.status.get(i).is_some_and(|st| st & RackStatus::AIR_COOLED != 0)
                        }
                        _ => false,
                    };
                    charts(ui, &p.history, kind, air);
                }
            }
            ui.separator();
            alarms_ui(ui, s, tags, select);
        });
        *width = panel.response.rect.width();
    }

    // Tooltip for the hovered object, beside the pointer.
    let ctx = root.ctx().clone();
    if let (Some(tag), Some(pos)) = (selection.hovered, ctx.pointer_hover_pos()) {
        let lines = describe(s, tags, net, tag);
        egui::Area::new("hover-tip".into()).fixed_pos(pos + egui::vec2(16.0, 16.0)).interactable(false).show(
            &ctx,
            |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.strong(tags.ids.get(tag as usize).map_or("", |s| s.as_str()));
                    for (k, v) in lines.iter().take(8) {
                        ui.small(format!("{k}: {v}"));
                    }
                });
            },
        );
    }
}

/// One of the inspector's charts: time in minutes before now, no scroll zoom (the panel scrolls).
fn chart(id: &str, height: f32) -> Plot<'static> {
    Plot::new(id).x_grid_spacer(log_grid_spacer(5)).y_grid_spacer(log_grid_spacer(5)).height(height).allow_scroll(false)
}

/// `air`: an air-cooled rack, whose second temperature is its exhaust air.
fn charts(ui: &mut egui::Ui, history: &History, kind: Option<ObjectKind>, air: bool) {
    if history.samples.len() < 2 {
        ui.small("no history before this moment yet");
        return;
    }
    let now = history.samples.back().map_or(0.0, |x| x.time_s);
    let points = |samples: &mut dyn Iterator<Item = &Sample>, f: &dyn Fn(&Sample) -> f32| -> PlotPoints<'static> {
        samples.filter(|x| f(x).is_finite()).map(|x| [(x.time_s - now) / 60.0, f(x) as f64]).collect::<Vec<_>>().into()
    };
    let series = |f: &dyn Fn(&Sample) -> f32| points(&mut history.samples.iter(), f);
    // Run B, when comparing: dashed and paler, named "(B)".
    let b_series = |f: &dyn Fn(&Sample) -> f32| points(&mut history.b_samples.iter(), f);
    let compared = !history.b_samples.is_empty();
    let pale = |c: egui::Color32| c.gamma_multiply(0.55);
    let names = match kind {
        Some(ObjectKind::Rack(_)) if air => ["GPU", "exhaust air", "inlet air"],
        Some(ObjectKind::Rack(_)) => ["GPU", "coolant", "inlet air"],
        Some(ObjectKind::Cdu(_)) => ["supply", "return", ""],
        _ => ["", "", ""],
    };
    // A CDU's supply and return in the pipes' colours (supply blue, return green).
    let colours = match kind {
        Some(ObjectKind::Cdu(_)) => [
            egui::Color32::from_rgb(80, 170, 240),
            egui::Color32::from_rgb(120, 210, 120),
            egui::Color32::from_rgb(150, 220, 140),
        ],
        _ => [
            egui::Color32::from_rgb(240, 110, 60),
            egui::Color32::from_rgb(80, 170, 240),
            egui::Color32::from_rgb(150, 220, 140),
        ],
    };
    if !names[0].is_empty() {
        ui.small("temperature, °C (x: minutes before now)");
        chart("temps", 130.0).legend(Legend::default().position(Corner::LeftTop)).show(ui, |p| {
            for (k, name) in names.iter().enumerate() {
                if !name.is_empty() {
                    p.line(Line::new(*name, series(&|x| x.temps[k])).color(colours[k]));
                    if compared {
                        let line = Line::new(format!("{name} (B)"), b_series(&|x| x.temps[k]));
                        p.line(line.color(pale(colours[k])).style(egui_plot::LineStyle::dashed_loose()));
                    }
                }
            }
        });
    }
    ui.small(if matches!(kind, Some(ObjectKind::Cdu(_))) { "heat, kW" } else { "power, kW" });
    chart("power", 90.0).include_y(0.0).show(ui, |p| {
        let c = egui::Color32::from_rgb(230, 200, 80);
        p.line(Line::new("power", series(&|x| x.power_kw)).color(c));
        if compared {
            p.line(
                Line::new("power (B)", b_series(&|x| x.power_kw))
                    .color(pale(c))
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
        }
    });
    if history.samples.iter().any(|x| x.flow.is_finite()) {
        ui.small("coolant flow, % of design");
        chart("flow", 90.0).include_y(0.0).include_y(100.0).show(ui, |p| {
            p.line(Line::new("flow", series(&|x| x.flow * 100.0)).color(colours[1]));
            if compared {
                let line = Line::new("flow (B)", b_series(&|x| x.flow * 100.0));
                p.line(line.color(pale(colours[1])).style(egui_plot::LineStyle::dashed_loose()));
            }
        });
    }
}

/// One line of the alarm list: a single alarm, or the racks of one row down for one cause.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmLine {
    pub severity: AlarmSeverity,
    pub time_s: f64,
    /// What the line says ("hall-1/row-B: 8 racks shut down, GPU up to 92.4 °C").
    pub title: String,
    pub detail: String,
    /// The objects it stands for; a click selects the first.
    pub objects: Vec<String>,
}

/// Rack alarms of one kind in one row become one line: one failure is one cause, not a line per
/// rack. Other alarms stay one line each. Critical lines first, then by time.
pub fn group_alarms(s: &Snapshot, tags: &FacilityTags) -> Vec<AlarmLine> {
    use crate::sim::AlarmKind::*;
    let mut lines: Vec<AlarmLine> = Vec::new();
    let mut groups: std::collections::BTreeMap<(String, u8), usize> = std::collections::BTreeMap::new();
    for a in s.active_alarms.iter() {
        let what = match a.kind {
            GpuShutdown => Some((0u8, "shut down")),
            RackNoPower => Some((1, "without power")),
            GpuSlowdown => Some((2, "throttled")),
            InletAllowable => Some((3, "with inlet air over the A1 allowable")),
            InletRecommended => Some((4, "with inlet air over the recommended")),
            _ => None,
        };
        let row = a.object.rsplit_once('/').map(|(row, _)| row.to_string());
        match (what, row) {
            (Some((k, _)), Some(row)) => {
                let i = *groups.entry((row, k)).or_insert_with(|| {
                    lines.push(AlarmLine {
                        severity: a.severity,
                        time_s: a.time_s,
                        title: String::new(),
                        detail: a.message.clone(),
                        objects: Vec::new(),
                    });
                    lines.len() - 1
                });
                let l = &mut lines[i];
                l.objects.push(a.object.clone());
                l.time_s = l.time_s.min(a.time_s);
                if a.severity == AlarmSeverity::Critical {
                    l.severity = AlarmSeverity::Critical;
                }
            }
            _ => lines.push(AlarmLine {
                severity: a.severity,
                time_s: a.time_s,
                title: a.object.clone(),
                detail: a.message.clone(),
                objects: vec![a.object.clone()],
            }),
        }
    }
    for ((row, k), i) in groups {
        let what = [
            "shut down",
            "without power",
            "throttled",
            "with inlet air over the A1 allowable",
            "with inlet air over the recommended",
        ][k as usize];
        let l = &mut lines[i];
        let n = l.objects.len();
        let hottest = l
            .objects
            .iter()
            .filter_map(|o| tags.tag_of(o))
            .filter_map(|t| s.racks.gpu_c.get(t as usize).copied())
            .fold(f32::NAN, f32::max);
        let racks = if n == 1 { "1 rack".to_string() } else { format!("{n} racks") };
        l.title = format!("{row}: {racks} {what}");
        // Shutdowns and slowdowns are about GPU heat: say how hot the hottest got.
        if hottest.is_finite() && (k == 0 || k == 2) {
            l.detail = format!("hottest GPU now {hottest:.1} °C");
        }
    }
    // Critical first, then by what the line names: a stable order, so a line does not move under
    // the pointer when an alarm in it is raised again.
    lines.sort_by(|a, b| {
        let rank = |x: &AlarmLine| u8::from(x.severity != AlarmSeverity::Critical);
        rank(a).cmp(&rank(b)).then_with(|| a.title.cmp(&b.title))
    });
    lines
}

fn alarms_ui(ui: &mut egui::Ui, s: &Snapshot, tags: &FacilityTags, select: &mut MessageWriter<Select>) {
    ui.heading("Alarms");
    if s.active_alarms.is_empty() {
        ui.label("none");
        return;
    }
    let lines = group_alarms(s, tags);
    egui::ScrollArea::vertical().id_salt("alarms").show(ui, |ui| {
        for a in lines.iter().take(300) {
            let c = match a.severity {
                AlarmSeverity::Critical => egui::Color32::from_rgb(230, 60, 50),
                AlarmSeverity::Warning => egui::Color32::from_rgb(240, 160, 30),
            };
            let tag = a.objects.first().and_then(|o| tags.tag_of(o));
            let text = egui::RichText::new(format!("{} {}", clock(a.time_s), a.title)).color(c);
            let r = ui.add(egui::Label::new(text).sense(egui::Sense::click()));
            if tag.is_some() && r.on_hover_text("click to select and focus").clicked() {
                select.write(Select { tag, focus: true });
            }
            ui.small(&a.detail);
        }
        if lines.len() > 300 {
            ui.small(format!("… and {} more", lines.len() - 300));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit's line in the inspector from a finished check: the demo hall's CDU costs output,
    /// its CRAH's failure is absorbed, and racks have no line.
    #[test]
    fn a_units_failure_cost_reads_from_the_check() {
        use crate::check::{Check, CheckOptions};
        let site = crate::scene::parse(crate::scene::DEMO_SCENE).unwrap().site;
        let options = CheckOptions { duration_s: 1200.0, at_s: 300.0, ..Default::default() };
        let check = Check::prepare("demo".into(), site, options).unwrap();
        let all: Vec<usize> = (0..check.candidates().len()).collect();
        let mut r = super::super::resilience::Resilience::default();
        r.report = Some(std::sync::Arc::new(check.report(check.run(&all, 1, &|_, _| {}))));
        let cost = |kind, id: &str| failure_cost(Some(&r), Some(kind), Some(&id.to_string()));
        let cdu = cost(ObjectKind::Cdu(0), "hall-1/cdu-1").unwrap();
        assert!(cdu.contains("tokens in 20 min") && cdu.contains("of 8 by cost"), "{cdu}");
        assert_eq!(cost(ObjectKind::Crah(0), "hall-1/crah-1").as_deref(), Some("absorbed"));
        assert_eq!(cost(ObjectKind::Rack(0), "hall-1/row-A/rack-01"), None);
        assert_eq!(failure_cost(None, Some(ObjectKind::Cdu(0)), Some(&"hall-1/cdu-1".to_string())), None);
    }
}
