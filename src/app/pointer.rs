//! Who owns the pointer: the 3D scene or the panels. The panels are drawn into our own
//! background `egui::Ui` (egui 0.36 panels take a `Ui`), so egui itself cannot tell that the
//! pointer is over one: `is_pointer_over_egui()` compares against the root `Ui` that bevy_egui
//! leaves empty. The panel layout therefore records the rectangle left over for the scene, and
//! every pointer consumer (picking, camera, clicks, tooltips) asks `ScenePointer` first.

use bevy::prelude::*;
use bevy_egui::egui;

/// The part of the window the 3D scene owns, in logical pixels, and whether egui holds the
/// pointer anyway (a drag that started on a widget, an open popup, a window over the scene).
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub struct ScenePointer {
    /// None until the panels have been laid out once (and always in headless tests): then the
    /// whole window is the scene.
    pub scene_rect: Option<Rect>,
    /// egui is using the pointer or shows a popup: the scene gets nothing this frame.
    pub egui_busy: bool,
    /// A text box has the keyboard (or a popup is open): keys are not shortcuts. A button that
    /// merely has focus after a click does not count (egui's own `wants_keyboard_input` does).
    pub typing: bool,
}

impl ScenePointer {
    /// Whether a pointer at `cursor` (logical window pixels) belongs to the scene.
    pub fn accepts(&self, cursor: Vec2) -> bool {
        !self.egui_busy && self.scene_rect.is_none_or(|r| r.contains(cursor))
    }

    /// Read off egui after the panels were laid out in `root`: what is left of `root` is the scene.
    pub fn after_layout(ctx: &egui::Context, root: &egui::Ui) -> ScenePointer {
        let free = root.available_rect_before_wrap();
        // A layer above the background at the pointer is a popup, a tooltip-free area or a window.
        let above = ctx
            .pointer_latest_pos()
            .and_then(|p| ctx.layer_id_at(p))
            .is_some_and(|l| l.order != egui::Order::Background);
        ScenePointer {
            scene_rect: Some(Rect::new(free.min.x, free.min.y, free.max.x, free.max.y)),
            egui_busy: ctx.egui_is_using_pointer() || ctx.any_popup_open() || above,
            typing: ctx.text_edit_focused() || ctx.any_popup_open(),
        }
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ScenePointer>().init_resource::<EditorHoldsLeftDrag>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One egui pass laid out like the viewer's panels (left and top) with the pointer at `at`:
    /// the context afterwards and what `ScenePointer` read off it.
    fn layout_with_pointer(at: egui::Pos2) -> (egui::Context, ScenePointer) {
        let ctx = egui::Context::default();
        let mut input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1000.0, 600.0))),
            ..Default::default()
        };
        input.events.push(egui::Event::PointerMoved(at));
        let mut out = ScenePointer::default();
        let output = ctx.run_ui(input, |_| {
            let mut root = egui::Ui::new(
                ctx.clone(),
                "viewport".into(),
                egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()),
            );
            egui::Panel::left("controls").exact_size(200.0).show(&mut root, |ui| ui.label("left"));
            egui::Panel::top("kpis").exact_size(40.0).show(&mut root, |ui| ui.label("top"));
            out = ScenePointer::after_layout(&ctx, &root);
        });
        // No renderer takes the font atlas here.
        output.drop_without_applying_deltas();
        (ctx, out)
    }

    #[test]
    fn the_pointer_over_a_panel_is_not_the_scenes() {
        let (_, over_panel) = layout_with_pointer(egui::pos2(100.0, 300.0));
        assert!(!over_panel.accepts(Vec2::new(100.0, 300.0)), "{over_panel:?}");
        assert!(!over_panel.accepts(Vec2::new(500.0, 20.0)), "top panel: {over_panel:?}");
        let (_, over_scene) = layout_with_pointer(egui::pos2(600.0, 300.0));
        assert!(over_scene.accepts(Vec2::new(600.0, 300.0)), "{over_scene:?}");
    }

    #[test]
    fn egui_alone_does_not_know_about_panels_in_our_own_ui() {
        // The cause of clicks through panels: egui reports the pointer over a panel drawn into
        // a hand-made background Ui as not over egui. If a future egui fixes this, this test
        // says so and ScenePointer may go.
        let (ctx, _) = layout_with_pointer(egui::pos2(100.0, 300.0));
        assert!(!ctx.is_pointer_over_egui());
    }
}

/// The layout editor took this left-button press (placing, a box, moving a row): the camera
/// must not orbit or pan with it.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EditorHoldsLeftDrag(pub bool);
