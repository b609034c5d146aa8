//! egui panels: KPI bar, sim controls, colouring and legend, failure injection, alarms. Panels
//! only send `UiCommand`s; the sim thread decides what happens.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::OpenScene;
use super::camera::{RequestedView, View};
use super::colours::ColourSettings;
use super::facility_view::FacilityTags;
use super::sim_link::{LatestSnapshot, SimLink, UiCommand};
use crate::metric::{Metric, ramp};
use crate::sim::handle::Speed;
use crate::sim::scenario::{Failure, FailureKind};
use crate::sim::{Action, AlarmSeverity, SimCommand};

/// What the failure panel has selected.
#[derive(Resource, Debug, Clone)]
pub struct FailurePanel {
    pub kind: FailureKind,
    pub target: String,
    /// Where the next recording goes.
    pub record_path: String,
}

impl Default for FailurePanel {
    fn default() -> Self {
        FailurePanel { kind: FailureKind::Cdu, target: "all".into(), record_path: "factory-twin-recording.mcap".into() }
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<FailurePanel>().add_systems(EguiPrimaryContextPass, panels_ui);
}

fn si(v: f64, unit: &str) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2} G{unit}", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} M{unit}", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1} k{unit}", v / 1e3)
    } else {
        format!("{v:.0} {unit}")
    }
}

fn clock(t: f64) -> String {
    let t = t.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60)
}

#[allow(clippy::too_many_arguments)]
fn panels_ui(
    mut contexts: EguiContexts,
    scene: Res<OpenScene>,
    latest: Res<LatestSnapshot>,
    link: Option<Res<SimLink>>,
    tags: Option<Res<FacilityTags>>,
    mut colours: ResMut<ColourSettings>,
    mut failure: ResMut<FailurePanel>,
    mut view: ResMut<RequestedView>,
    mut commands: MessageWriter<UiCommand>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let snap = latest.snapshot.as_ref();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "viewport".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()),
    );

    egui::Panel::top("kpis").show(&mut root, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong(&scene.name);
            ui.separator();
            let Some(s) = snap else {
                ui.label("starting simulation…");
                return;
            };
            let k = &s.kpis;
            let kpi = |ui: &mut egui::Ui, label: &str, value: String, colour: Option<egui::Color32>| {
                ui.vertical(|ui| {
                    ui.small(label);
                    let text = egui::RichText::new(value).size(18.0).strong();
                    ui.label(match colour {
                        Some(c) => text.color(c),
                        None => text,
                    });
                });
                ui.separator();
            };
            let warn = egui::Color32::from_rgb(240, 160, 30);
            let bad = egui::Color32::from_rgb(230, 60, 50);
            kpi(ui, "sim time", clock(s.time_s), None);
            kpi(ui, "IT power", si(k.it_power_kw * 1e3, "W"), None);
            kpi(ui, "facility power", si(k.facility_power_kw * 1e3, "W"), None);
            kpi(ui, "PUE", format!("{:.3}", k.pue), None);
            let out_colour = if k.output_fraction < 0.9 {
                Some(bad)
            } else if k.output_fraction < 0.999 {
                Some(warn)
            } else {
                None
            };
            kpi(ui, "factory output", format!("{:.1} %", k.output_fraction * 100.0), out_colour);
            kpi(ui, "tokens/s", si(k.tokens_per_s, ""), out_colour);
            let gpu_colour = if k.max_gpu_temp_c >= 89.0 {
                Some(bad)
            } else if k.max_gpu_temp_c >= 85.0 {
                Some(warn)
            } else {
                None
            };
            kpi(ui, "max GPU", format!("{:.1} °C", k.max_gpu_temp_c), gpu_colour);
            kpi(ui, "max inlet", format!("{:.1} °C", k.max_inlet_air_c), None);
            let n = s.active_alarms.len();
            kpi(ui, "alarms", n.to_string(), (n > 0).then_some(bad));
        });
    });

    egui::Panel::left("controls").default_size(270.0).show(&mut root, |ui| {
        ui.heading("Simulation");
        if let Some(link) = &link {
            ui.horizontal(|ui| {
                if link.paused {
                    if ui.button("▶ Play").clicked() {
                        commands.write(UiCommand(SimCommand::Resume));
                    }
                } else if ui.button("⏸ Pause").clicked() {
                    commands.write(UiCommand(SimCommand::Pause));
                }
                if ui.add_enabled(link.paused, egui::Button::new("Step")).clicked() {
                    commands.write(UiCommand(SimCommand::Step));
                }
            });
            ui.horizontal_wrapped(|ui| {
                ui.label("Speed");
                for (label, speed) in [
                    ("1×", Speed::Times(1.0)),
                    ("10×", Speed::Times(10.0)),
                    ("100×", Speed::Times(100.0)),
                    ("1000×", Speed::Times(1000.0)),
                    ("10000×", Speed::Times(10_000.0)),
                    ("max", Speed::Max),
                ] {
                    if ui.selectable_label(link.speed == speed, label).clicked() {
                        commands.write(UiCommand(SimCommand::SetSpeed(speed)));
                    }
                }
            });
            ui.horizontal(|ui| {
                if link.recording {
                    if ui.button("⏹ Stop recording").clicked() {
                        commands.write(UiCommand(SimCommand::StopRecording));
                    }
                } else {
                    if ui.button("⏺ Record").clicked() {
                        commands.write(UiCommand(SimCommand::StartRecording(failure.record_path.trim().into())));
                    }
                    ui.text_edit_singleline(&mut failure.record_path);
                }
            });
            for m in link.messages.iter().rev().take(3) {
                // Recording news is information; everything else the sim thread says is a problem.
                let news = m.starts_with("recording to") || m.starts_with("recording saved");
                let colour =
                    if news { egui::Color32::from_rgb(150, 200, 150) } else { egui::Color32::from_rgb(230, 60, 50) };
                ui.colored_label(colour, m);
            }
        }
        ui.separator();
        ui.horizontal(|ui| {
            ui.label("View");
            for (label, v) in [("Overview", View::Overview), ("Aisle", View::Aisle), ("Plan", View::Plan)] {
                if ui.button(label).clicked() {
                    view.0 = Some(v);
                }
            }
        });
        ui.separator();
        ui.heading("Colour by");
        let before = colours.metric;
        egui::ComboBox::from_id_salt("metric").selected_text(colours.metric.label()).show_ui(ui, |ui| {
            for m in Metric::ALL {
                ui.selectable_value(&mut colours.metric, m, m.label());
            }
        });
        if colours.metric != before && !colours.auto_range {
            colours.range = colours.metric.fixed_range();
        }
        let mut auto = colours.auto_range;
        if ui.checkbox(&mut auto, "automatic range").changed() {
            colours.auto_range = auto;
            if !auto {
                colours.range = colours.metric.fixed_range();
            }
        }
        legend_ui(ui, &colours);
        ui.separator();

        ui.heading("Failures");
        egui::ComboBox::from_id_salt("fail-kind").selected_text(failure.kind.name()).show_ui(ui, |ui| {
            for (k, name) in FailureKind::ALL {
                ui.selectable_value(&mut failure.kind, k, name);
            }
        });
        ui.horizontal(|ui| {
            ui.label("target");
            ui.text_edit_singleline(&mut failure.target);
        });
        ui.small("an object id, a prefix such as hall-1, or all");
        ui.horizontal(|ui| {
            let f = Failure { kind: failure.kind, target: failure.target.trim().to_string() };
            if ui.button("Fail").clicked() {
                commands.write(UiCommand(SimCommand::Apply(Action::Fail(f.clone()))));
            }
            if ui.button("Restore").clicked() {
                commands.write(UiCommand(SimCommand::Apply(Action::Restore(f))));
            }
        });
        ui.separator();

        ui.heading("Alarms");
        if let Some(s) = snap {
            if s.active_alarms.is_empty() {
                ui.label("none");
            }
            egui::ScrollArea::vertical().max_height(ui.available_height() - 8.0).show(ui, |ui| {
                for a in s.active_alarms.iter().take(300) {
                    let c = match a.severity {
                        AlarmSeverity::Critical => egui::Color32::from_rgb(230, 60, 50),
                        AlarmSeverity::Warning => egui::Color32::from_rgb(240, 160, 30),
                    };
                    ui.colored_label(c, format!("{} {}", clock(a.time_s), a.object));
                    ui.small(&a.message);
                }
                if s.active_alarms.len() > 300 {
                    ui.small(format!("… and {} more", s.active_alarms.len() - 300));
                }
            });
        }
        if let Some(t) = &tags {
            ui.small(format!("{} racks", t.racks));
        }
    });
    Ok(())
}

/// Colour bar with the metric's unit and range.
fn legend_ui(ui: &mut egui::Ui, c: &ColourSettings) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width().min(240.0), 14.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let steps = 48;
    for i in 0..steps {
        let t = i as f32 / (steps - 1) as f32;
        let rgb = ramp(if c.metric.reversed() { 1.0 - t } else { t });
        let colour = egui::Rgba::from_rgb(rgb[0], rgb[1], rgb[2]);
        let x0 = rect.left() + rect.width() * i as f32 / steps as f32;
        let x1 = rect.left() + rect.width() * (i + 1) as f32 / steps as f32 + 0.5;
        painter.rect_filled(
            egui::Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom())),
            0.0,
            colour,
        );
    }
    ui.horizontal(|ui| {
        ui.small(format!("{:.0} {}", c.range.0, c.metric.unit()));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.small(format!("{:.0} {}", c.range.1, c.metric.unit()));
        });
    });
}
