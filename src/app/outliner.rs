//! Outliner: halls → rows → racks, each hall's units, and the outdoor plant; a search box
//! filters every object by id. Clicking selects; double-clicking also focuses the camera.

use bevy::prelude::*;
use bevy_egui::egui;

use super::OpenScene;
use super::selection::{Select, Selection};
use super::tags::FacilityTags;

/// The tree, built once per scene: tags grouped the way the site is.
#[derive(Resource, Debug, Default)]
pub struct OutlinerTree {
    pub halls: Vec<HallNode>,
    pub plant: Vec<u32>,
    /// Every pickable object's id in lower case, by tag: searched as the user types.
    pub lower_ids: Vec<String>,
}

#[derive(Debug, Default)]
pub struct HallNode {
    pub id: String,
    pub rows: Vec<(String, Vec<u32>)>,
    pub units: Vec<u32>,
}

/// What the user typed in the search box.
#[derive(Resource, Debug, Default)]
pub struct OutlinerSearch(pub String);

pub(super) fn plugin(app: &mut App) {
    // FacilityTags change when the scene is built, at start and when another file opens.
    app.init_resource::<OutlinerSearch>().add_systems(
        Update,
        build_tree.run_if(resource_exists_and_changed::<FacilityTags>).after(super::AppSystems::Rebuild),
    );
}

pub fn build_tree(mut commands: Commands, scene: Res<OpenScene>, tags: Option<Res<FacilityTags>>) {
    let Some(tags) = tags else { return };
    let site = &scene.site;
    let mut halls: Vec<HallNode> = site
        .halls
        .iter()
        .map(|h| HallNode {
            id: h.id.clone(),
            rows: h.rows.iter().map(|r| (format!("{}/{}", h.id, r.id), Vec::new())).collect(),
            units: Vec::new(),
        })
        .collect();
    for p in site.racks() {
        if let Some(tag) = tags.tag_of(&p.id()) {
            halls[p.hall_index].rows[p.row_index].1.push(tag);
        }
    }
    let prefix_of = |tag: u32| tags.ids[tag as usize].split('/').next().unwrap_or("").to_string();
    let mut plant = Vec::new();
    for tag in tags.cdu_start..tags.pipe_start {
        match halls.iter_mut().find(|h| h.id == prefix_of(tag)) {
            Some(h) if tag < tags.dry_cooler_start => h.units.push(tag),
            _ => plant.push(tag),
        }
    }
    let lower_ids = tags.ids.iter().map(|id| id.to_lowercase()).collect();
    commands.insert_resource(OutlinerTree { halls, plant, lower_ids });
}

/// At most this many search hits are listed.
const MAX_HITS: usize = 200;

pub fn outliner_ui(
    ui: &mut egui::Ui,
    tree: &OutlinerTree,
    tags: &FacilityTags,
    selection: &Selection,
    search: &mut OutlinerSearch,
    select: &mut MessageWriter<Select>,
) {
    let short = |tag: u32| tags.ids[tag as usize].rsplit('/').next().unwrap_or("");
    ui.horizontal(|ui| {
        ui.label("🔍");
        ui.add(egui::TextEdit::singleline(&mut search.0).hint_text("search ids, e.g. row-B or cdu"));
    });
    let mut item = |ui: &mut egui::Ui, tag: u32, label: &str| {
        let id = &tags.ids[tag as usize];
        let r = ui.selectable_label(selection.selected == Some(tag), label).on_hover_text(id.as_str());
        if r.double_clicked() {
            select.write(Select { tag: Some(tag), focus: true });
        } else if r.clicked() {
            select.write(Select { tag: Some(tag), focus: false });
        }
    };
    egui::ScrollArea::vertical().id_salt("outliner").max_height(320.0).show(ui, |ui| {
        let needle = search.0.trim().to_lowercase();
        if !needle.is_empty() {
            let hits: Vec<u32> =
                (0..tree.lower_ids.len() as u32).filter(|&t| tree.lower_ids[t as usize].contains(&needle)).collect();
            if hits.is_empty() {
                ui.label("nothing matches");
            }
            for &tag in hits.iter().take(MAX_HITS) {
                let id = &tags.ids[tag as usize];
                item(ui, tag, id.as_str());
            }
            if hits.len() > MAX_HITS {
                ui.small(format!("… {} more; type more of the id", hits.len() - MAX_HITS));
            }
            return;
        }
        for hall in &tree.halls {
            egui::CollapsingHeader::new(&hall.id).id_salt(("hall", &hall.id)).show(ui, |ui| {
                for (row_id, racks) in &hall.rows {
                    let name = format!("{} ({} racks)", row_id.rsplit('/').next().unwrap_or(row_id), racks.len());
                    egui::CollapsingHeader::new(name).id_salt(("row", row_id)).show(ui, |ui| {
                        for &tag in racks {
                            item(ui, tag, short(tag));
                        }
                    });
                }
                if !hall.units.is_empty() {
                    egui::CollapsingHeader::new("CDUs and CRAHs").id_salt(("units", &hall.id)).show(ui, |ui| {
                        for &tag in &hall.units {
                            item(ui, tag, short(tag));
                        }
                    });
                }
            });
        }
        if !tree.plant.is_empty() {
            egui::CollapsingHeader::new("Plant (outdoor)").show(ui, |ui| {
                for &tag in &tree.plant {
                    item(ui, tag, short(tag));
                }
            });
        }
    });
}
