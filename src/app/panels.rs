//! egui panels: KPI bar (top), transport bar (bottom: sim controls, or the time slider of a
//! recording), and the left panel (view, colouring and legend, failure injection, outliner).
//! Panels only send commands; the sim thread (or the replay) decides what happens.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::camera::{RequestedView, View};
use super::colours::ColourSettings;
use super::outliner::{OutlinerSearch, OutlinerTree, outliner_ui};
use super::replay_link::{ReplayCommand, ReplayLink};
use super::selection::{Select, Selection};
use super::sim_link::{LatestSnapshot, SimLink, UiCommand};
use super::tags::FacilityTags;
use super::{OpenScene, clock};
use crate::live::SimCommand;
use crate::live::Speed;
use crate::metric::{Metric, ramp};
use crate::sim::Action;
use crate::sim::scenario::{Failure, FailureKind};

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
    app.init_resource::<FailurePanel>().add_plugins(super::outliner::plugin).add_systems(
        EguiPrimaryContextPass,
        // A demo's overlay takes the panels' place until Esc.
        ((panels_ui, row_labels).run_if(not(super::demo::presenting)), super::editor::overlay_and_dialogs).chain(),
    );
}

/// Row names on the floor plan, beside each row's end, clipped to the scene.
fn row_labels(
    mut contexts: EguiContexts,
    tags: Option<Res<FacilityTags>>,
    pointer: Res<super::pointer::ScenePointer>,
    cameras: Query<(&Camera, &GlobalTransform, &Projection)>,
) -> Result {
    let Some(tags) = tags else { return Ok(()) };
    let Some((camera, at, _)) =
        cameras.iter().find(|(c, _, p)| c.is_active && matches!(p, Projection::Orthographic(_)))
    else {
        return Ok(());
    };
    let ctx = contexts.ctx_mut()?;
    let clip = pointer.scene_rect.map_or(ctx.viewport_rect(), |r| {
        egui::Rect::from_min_max(egui::pos2(r.min.x, r.min.y), egui::pos2(r.max.x, r.max.y))
    });
    let painter = ctx
        .layer_painter(egui::LayerId::new(egui::Order::Background, egui::Id::new("row-labels")))
        .with_clip_rect(clip);
    for (_, label, pos) in &tags.row_labels {
        if let Ok(p) = camera.world_to_viewport(at, *pos) {
            // Light text on a dark tag: legible on the light floor and on the dark ground alike.
            let galley = painter.layout_no_wrap(
                label.clone(),
                egui::FontId::proportional(13.0),
                egui::Color32::from_rgb(235, 238, 242),
            );
            let size = galley.size();
            let rect = egui::Rect::from_min_size(
                egui::pos2(p.x - size.x - 6.0, p.y - size.y / 2.0 - 2.0),
                size + egui::vec2(6.0, 4.0),
            );
            painter.rect_filled(rect, 3.0, egui::Color32::from_rgba_unmultiplied(20, 24, 28, 210));
            painter.galley(rect.min + egui::vec2(3.0, 2.0), galley, egui::Color32::WHITE);
        }
    }
    Ok(())
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

/// What the panels read and write besides the egui context.
#[derive(bevy::ecs::system::SystemParam)]
pub struct PanelState<'w> {
    selection: Res<'w, Selection>,
    tree: Option<Res<'w, OutlinerTree>>,
    search: ResMut<'w, OutlinerSearch>,
    select: MessageWriter<'w, Select>,
    replay: Option<Res<'w, ReplayLink>>,
    replay_commands: MessageWriter<'w, ReplayCommand>,
    timeline: ResMut<'w, super::timeline::Timeline>,
    difference: Res<'w, super::colours::ColourDifference>,
    live_history: ResMut<'w, super::live_history::LiveRunHistory>,
    sim_start: Option<Res<'w, super::sim_link::SimStart>>,
    layers: ResMut<'w, super::facility_view::Layers>,
    layout: ResMut<'w, super::layout_store::UiLayout>,
    files: Option<ResMut<'w, super::files::FileOpen>>,
    pointer: ResMut<'w, super::pointer::ScenePointer>,
    editor: super::editor::EditorParams<'w>,
    quality: ResMut<'w, super::quality::RenderQuality>,
    demo: Option<ResMut<'w, super::demo::DemoShow>>,
    resilience: ResMut<'w, super::resilience::Resilience>,
}

#[allow(clippy::too_many_arguments)]
pub fn panels_ui(
    mut contexts: EguiContexts,
    scene: Res<OpenScene>,
    latest: Res<LatestSnapshot>,
    link: Option<Res<SimLink>>,
    tags: Option<Res<FacilityTags>>,
    mut colours: ResMut<ColourSettings>,
    mut failure: ResMut<FailurePanel>,
    mut view: ResMut<RequestedView>,
    mut commands: MessageWriter<UiCommand>,
    mut state: PanelState,
    mut inspector: super::inspector::InspectorParams,
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
                let r = ui
                    .vertical(|ui| {
                        ui.small(label);
                        let text = egui::RichText::new(value).size(18.0).strong();
                        ui.label(match colour {
                            Some(c) => text.color(c),
                            None => text,
                        });
                    })
                    .response;
                ui.separator();
                r
            };
            let warn = egui::Color32::from_rgb(240, 160, 30);
            let bad = egui::Color32::from_rgb(230, 60, 50);
            kpi(ui, "sim time", clock(s.time_s), None);
            kpi(ui, "IT power", si(k.it_power_kw * 1e3, "W"), None);
            kpi(ui, "facility power", si(k.facility_power_kw * 1e3, "W"), None);
            // PUE is undefined while no IT load runs.
            let pue = if k.it_power_kw > 0.0 { format!("{:.3}", k.pue) } else { "—".into() };
            kpi(ui, "PUE", pue, None);
            let out_colour = if k.output_fraction < 0.9 {
                Some(bad)
            } else if k.output_fraction < 0.999 {
                Some(warn)
            } else {
                None
            };
            // A site without racks has no output, no GPUs and no rack inlets to speak of.
            let racks = !s.racks.gpu_c.is_empty();
            let or_dash = |text: String| if racks { text } else { "—".to_string() };
            kpi(ui, "factory output", or_dash(format!("{:.1} %", k.output_fraction * 100.0)), out_colour);
            kpi(ui, "tokens/s", si(k.tokens_per_s, ""), out_colour).on_hover_ui(|ui| {
                ui.label(format!("Tokens of {}", crate::model::mlperf::tokens_of(&scene.site)));
            });
            let gpu_colour = if k.max_gpu_temp_c >= 89.0 {
                Some(bad)
            } else if k.max_gpu_temp_c >= 85.0 {
                Some(warn)
            } else {
                None
            };
            kpi(ui, "max GPU", or_dash(format!("{:.1} °C", k.max_gpu_temp_c)), gpu_colour);
            kpi(ui, "max inlet", or_dash(format!("{:.1} °C", k.max_inlet_air_c)), None);
            let n = s.active_alarms.len();
            kpi(ui, "alarms", n.to_string(), (n > 0).then_some(bad));
        });
    });

    let has_transport = state.replay.is_some() || link.is_some();
    egui::Panel::bottom("transport").show_separator_line(has_transport).show(&mut root, |ui| {
        ui.add_space(2.0);
        if let Some(replay) = &state.replay {
            super::timeline::timeline_ui(ui, replay, &mut state.timeline, &mut state.replay_commands, colours.metric);
        } else if let Some(link) = &link {
            live_bar(ui, link, &mut failure, &mut commands);
            super::live_history::history_ui(
                ui,
                &mut state.live_history,
                &scene,
                state.sim_start.as_deref(),
                &link.alarm_log,
            );
        }
        ui.add_space(2.0);
    });

    let left_width = state.layout.left_width;
    let left = egui::Panel::left("controls").default_size(left_width).show(&mut root, |ui| {
        egui::ScrollArea::vertical().id_salt("left").show(ui, |ui| {
            if let Some(f) = state.files.as_mut() {
                super::files::file_ui(ui, f);
                ui.separator();
            }
            ui.horizontal(|ui| {
                ui.label("View");
                for (label, v) in [("Overview", View::Overview), ("Aisle", View::Aisle), ("Plan", View::Plan)] {
                    if ui.button(label).clicked() {
                        view.0 = Some(v);
                    }
                }
            });
            ui.horizontal(|ui| {
                use super::quality::{Quality, RenderQuality};
                ui.label("Quality");
                for q in [Quality::Low, Quality::High] {
                    let hint = match q {
                        Quality::Low => "no shadows, no anti-aliasing: for software rendering",
                        Quality::High => "sun shadows and 4× MSAA: for a GPU",
                    };
                    if ui.selectable_label(state.quality.quality == q, q.name()).on_hover_text(hint).clicked() {
                        *state.quality = RenderQuality { quality: q, chosen: true };
                    }
                }
                if let Some(d) = state.demo.as_mut()
                    && ui.button("▶ Present").on_hover_text("back to the demo's story (Esc leaves it again)").clicked()
                {
                    d.presenting = true;
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
            if state.difference.b.is_some() {
                difference_legend(ui, &colours);
            } else {
                legend_ui(ui, &colours);
            }
            ui.horizontal(|ui| {
                ui.label("Show");
                let mut l = *state.layers;
                ui.checkbox(&mut l.pipes, "pipes").on_hover_text("supply and return, coloured by water temperature");
                ui.checkbox(&mut l.power, "power").on_hover_text("busways over the rows, coloured by PDU load");
                if l != *state.layers {
                    *state.layers = l;
                }
            });
            ui.separator();

            if link.is_some() {
                super::editor::editor_ui(ui, &mut state.editor, tags.as_deref(), &mut state.select);
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
                super::resilience::resilience_ui(ui, &mut state.resilience, &scene, &mut commands);
                ui.separator();
            }
            ui.heading("Outliner");
            if let (Some(tree), Some(tags)) = (&state.tree, &tags) {
                outliner_ui(ui, tree, tags, &state.selection, &mut state.search, &mut state.select);
            }
            ui.separator();
            if let Some(t) = &tags {
                ui.small(format!("{} racks", t.racks));
            }
        });
    });
    // Widths the user dragged to are remembered (layout_store).
    let w = left.response.rect.width();
    if (w - left_width).abs() > 1.0 {
        state.layout.left_width = w;
    }
    if let Some(s) = snap {
        let mut right = state.layout.right_width;
        super::inspector::show(
            &mut root,
            &mut inspector,
            s,
            link.is_some(),
            &mut commands,
            &mut state.select,
            &mut right,
            Some(&*state.resilience),
        );
        if (right - state.layout.right_width).abs() > 1.0 {
            state.layout.right_width = right;
        }
    }
    if state.replay.is_some() && state.timeline.log_open {
        super::timeline::event_log(
            ctx,
            &mut state.timeline,
            tags.as_deref(),
            &mut state.replay_commands,
            &mut state.select,
        );
    }
    // What the panels left is the scene's: picking, the camera and tooltips ask this.
    let pointer = super::pointer::ScenePointer::after_layout(ctx, &root);
    state.pointer.set_if_neq(pointer);
    Ok(())
}

/// Live simulation: play/pause, step, speed, reset, record.
fn live_bar(ui: &mut egui::Ui, link: &SimLink, failure: &mut FailurePanel, commands: &mut MessageWriter<UiCommand>) {
    ui.horizontal_wrapped(|ui| {
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
        if ui.button("⟲ Reset").on_hover_text("start over from time zero").clicked() {
            commands.write(UiCommand(SimCommand::Reset));
        }
        ui.separator();
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
        ui.separator();
        // The thread says what it achieves; a shortfall shows, so no one waits on a speed the
        // machine cannot reach.
        if let (Speed::Times(asked), Some(got), false) = (link.speed, link.achieved, link.paused) {
            // Measured over ten steps or more, a step at either edge of the window is ≤ 10 %.
            if got < asked * 0.8 {
                ui.colored_label(egui::Color32::from_rgb(240, 160, 30), format!("running at {}", speed_label(got)))
                    .on_hover_text("the fastest this machine simulates this site");
            }
        } else if let (Speed::Max, Some(got), false) = (link.speed, link.achieved, link.paused) {
            // Flat out: say how fast that is on this machine.
            ui.label(format!("at {}", speed_label(got)));
        }
        ui.separator();
        if link.recording.is_some() {
            if ui.button("⏹ Stop recording").clicked() {
                commands.write(UiCommand(SimCommand::StopRecording));
            }
        } else {
            if ui.button("⏺ Record").clicked() {
                commands.write(UiCommand(SimCommand::StartRecording(failure.record_path.trim().into())));
            }
            ui.add(egui::TextEdit::singleline(&mut failure.record_path).desired_width(220.0));
        }
        if let Some(m) = link.messages.last() {
            let colour =
                if m.problem { egui::Color32::from_rgb(230, 60, 50) } else { egui::Color32::from_rgb(150, 200, 150) };
            ui.colored_label(colour, &m.text);
        }
    });
}

/// A speed as the bar shows it: "4100×", "12.5×", "0.98×".
pub fn speed_label(x: f64) -> String {
    if x >= 100.0 {
        format!("{:.0}×", x)
    } else if x >= 10.0 {
        format!("{x:.1}×")
    } else {
        format!("{x:.2}×")
    }
}

/// While comparing runs: the diverging bar of run A − run B, in the metric's unit.
fn difference_legend(ui: &mut egui::Ui, c: &ColourSettings) {
    let half = (c.range.1 - c.range.0).abs() / 2.0;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width().min(240.0), 14.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let steps = 48;
    for i in 0..steps {
        let d = -half + 2.0 * half * (i as f32 + 0.5) / steps as f32;
        let rgb = super::colours::difference_colour(d, half);
        let x0 = rect.left() + rect.width() * i as f32 / steps as f32;
        let x1 = rect.left() + rect.width() * (i + 1) as f32 / steps as f32 + 0.5;
        let r = egui::Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom()));
        painter.rect_filled(r, 0.0, egui::Rgba::from_rgb(rgb[0], rgb[1], rgb[2]));
    }
    let unit = c.metric.unit();
    ui.horizontal(|ui| {
        ui.small(format!("−{half:.0} {unit}"));
        ui.small(format!("run A − run B ({})", c.metric.label()));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.small(format!("+{half:.0} {unit}"));
        });
    });
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
