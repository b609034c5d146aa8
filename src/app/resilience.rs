//! The Resilience panel: the resilience check (`crate::check`) of the open site run on a
//! background thread with its progress, the results ranked, every unit coloured by the output
//! its failure costs, and a click on a result replaying that what-if live from the check's
//! steady state.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bevy::prelude::*;
use bevy_egui::egui;

use crate::check::{Check, CheckOptions, CheckReport};
use crate::live::SimCommand;
use crate::sim::Simulation;

use super::OpenScene;
use super::sim_link::UiCommand;

/// What a finished check leaves: the report, and the steady state its what-ifs start from.
type Finished = Result<(CheckReport, Simulation), String>;

/// The check of the open site: running (progress, a channel for the result) or done.
#[derive(Resource, Default)]
pub struct Resilience {
    progress: Option<Arc<(AtomicUsize, AtomicUsize)>>,
    result: Option<crossbeam_channel::Receiver<Finished>>,
    pub report: Option<Arc<CheckReport>>,
    steady: Option<Arc<Simulation>>,
    pub error: Option<String>,
    /// Colour units by what their failure costs (the panel's toggle).
    pub colour: bool,
    /// The what-if being replayed, by its rank.
    pub replaying: Option<usize>,
}

impl Resilience {
    pub fn running(&self) -> bool {
        self.result.is_some()
    }

    /// Blocks until a started check is done and takes its result (tests; the app polls).
    pub fn wait(&mut self) {
        if let Some(rx) = self.result.take() {
            if let Ok(result) = rx.recv() {
                self.take(result);
            }
        }
    }

    fn take(&mut self, result: Finished) {
        self.result = None;
        self.progress = None;
        match result {
            Ok((report, steady)) => {
                self.report = Some(Arc::new(report));
                self.steady = Some(Arc::new(steady));
                self.colour = true;
                self.replaying = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Starts the check of `site` (single failures, an hour each from a steady state at 600 s)
    /// on its own thread, leaving a core to the view and the live run.
    pub fn start(&mut self, name: String, site: crate::model::Site) {
        let progress = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let (tx, rx) = crossbeam_channel::bounded(1);
        let p = progress.clone();
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1).max(1);
        let spawned = std::thread::Builder::new().name("resilience-check".into()).spawn(move || {
            let result = Check::prepare(name, site, CheckOptions::default()).map(|check| {
                let all: Vec<usize> = (0..check.candidates().len()).collect();
                p.1.store(all.len(), Ordering::Relaxed);
                let outcomes = check.run(&all, jobs, &|done, _| p.0.store(done, Ordering::Relaxed));
                (check.report(outcomes), check.steady().clone())
            });
            let _ = tx.send(result);
        });
        match spawned {
            Ok(_) => {
                self.progress = Some(progress);
                self.result = Some(rx);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("cannot start the check: {e}")),
        }
    }

    /// The command that replays result `rank` live: the steady state with its failures.
    pub fn what_if(&self, rank: usize) -> Option<SimCommand> {
        let (steady, o) = (self.steady.as_ref()?, self.report.as_ref()?.results.get(rank)?);
        let failures = o
            .failure
            .split(" + ")
            .filter_map(|part| {
                let (kind, target) = part.split_once(' ')?;
                let (kind, _) = crate::sim::FailureKind::ALL.iter().find(|(_, n)| *n == kind)?;
                Some(crate::sim::Failure { kind: *kind, target: target.to_string() })
            })
            .collect();
        Some(SimCommand::WhatIf { from: Box::new((**steady).clone()), failures })
    }

    /// The unit ids and what their own failure costs, 0..1 of the worst (for the colours).
    pub fn unit_costs(&self) -> Vec<(String, f32)> {
        let Some(r) = &self.report else { return Vec::new() };
        let worst = r.results.iter().map(|o| o.tokens_lost).fold(0.0, f64::max);
        r.results
            .iter()
            // Busways carry their PDU's id: the power layer shows what a PDU's failure costs.
            .filter(|o| {
                o.kinds.len() == 1 && matches!(o.kinds[0].as_str(), "cdu" | "chiller" | "dry-cooler" | "crah" | "pdu")
            })
            .filter_map(|o| {
                let id = o.failure.split_once(' ')?.1.to_string();
                let cost = if worst > 0.0 { (o.tokens_lost / worst) as f32 } else { 0.0 };
                Some((id, cost))
            })
            .collect()
    }
}

/// A unit's colour for what its failure costs: green when absorbed, through amber to red for the
/// worst failure of the site.
pub fn cost_colour(cost: f32) -> [f32; 4] {
    if cost <= 0.0 {
        return [0.20, 0.72, 0.35, 0.5];
    }
    let t = cost.clamp(0.0, 1.0);
    let (amber, red) = ([0.98, 0.70, 0.10], [0.88, 0.10, 0.08]);
    [amber[0] + (red[0] - amber[0]) * t, amber[1] + (red[1] - amber[1]) * t, amber[2] + (red[2] - amber[2]) * t, 0.5]
}

fn poll(mut r: ResMut<Resilience>) {
    let Some(rx) = &r.result else { return };
    if let Ok(result) = rx.try_recv() {
        r.take(result);
    }
}

/// A new site (another file, a layout edit) makes an old check's answers stale.
fn forget_on_new_site(scene: Res<OpenScene>, mut r: ResMut<Resilience>) {
    if scene.is_changed() && !scene.is_added() && r.report.is_some() {
        *r = Resilience::default();
    }
}

pub fn plugin(app: &mut App) {
    // After the input (which may open another file or edit the layout), before the colours.
    app.init_resource::<Resilience>()
        .add_systems(Update, (forget_on_new_site, poll).chain().in_set(super::AppSystems::PullSnapshot));
}

fn amount(x: f64) -> String {
    crate::demo::si(x)
}

/// The panel section (live runs only: replaying a what-if drives the live simulation).
pub fn resilience_ui(
    ui: &mut egui::Ui,
    r: &mut Resilience,
    scene: &OpenScene,
    commands: &mut MessageWriter<UiCommand>,
) {
    ui.heading("Resilience");
    if let Some(p) = &r.progress {
        let (done, total) = (p.0.load(Ordering::Relaxed), p.1.load(Ordering::Relaxed));
        let f = if total > 0 { done as f32 / total as f32 } else { 0.0 };
        let text =
            if total > 0 { format!("{done} of {total} failures") } else { "settling the steady state…".into() };
        ui.add(egui::ProgressBar::new(f).text(text));
        ui.ctx().request_repaint();
        return;
    }
    if ui
        .button("Check every single failure")
        .on_hover_text(
            "each unit failed in turn for an hour from the healthy steady state, ranked by the output it costs",
        )
        .clicked()
    {
        r.start(scene.name.clone(), scene.site.clone());
    }
    if let Some(e) = &r.error {
        ui.colored_label(egui::Color32::from_rgb(230, 90, 80), e);
    }
    let Some(report) = r.report.clone() else { return };
    ui.checkbox(&mut r.colour, "colour units by what their failure costs").on_hover_text(
        "racks turn grey (their alarms still show); UPS and feeds have no object in the view: see the list",
    );
    if r.colour {
        ui.horizontal(|ui| {
            for (c, label) in [(0.0, "absorbed"), (0.3, ""), (1.0, "worst")] {
                let [red, g, b, _] = cost_colour(c);
                let colour = egui::Color32::from_rgb((red * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8);
                ui.colored_label(colour, "■");
                if !label.is_empty() {
                    ui.small(label);
                }
            }
        });
    }
    for k in &report.summary {
        let bad = k.costing_output > 0;
        let text = egui::RichText::new(&k.text).small();
        ui.label(if bad { text.color(egui::Color32::from_rgb(240, 160, 60)) } else { text });
    }
    ui.small("click a failure to replay it live from the steady state");
    egui::ScrollArea::vertical().id_salt("resilience-results").max_height(220.0).show(ui, |ui| {
        for (rank, o) in report.results.iter().enumerate() {
            let label = if o.costs_output {
                format!("{}. {} — {} tokens, {:.1} GPU-h", rank + 1, o.failure, amount(o.tokens_lost), o.gpu_hours_lost)
            } else {
                format!("{}. {} — absorbed", rank + 1, o.failure)
            };
            let selected = r.replaying == Some(rank);
            let response = ui.selectable_label(selected, egui::RichText::new(label).small());
            if response.clicked() {
                if let Some(command) = r.what_if(rank) {
                    commands.write(UiCommand(command));
                    r.replaying = Some(rank);
                }
            }
        }
    });
}
