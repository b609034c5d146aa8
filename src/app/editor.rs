//! The layout editor. A palette places rows of racks by clicking the floor (a ghost shows where,
//! green when the row fits, red with the reason when not); selected racks and rows move, turn,
//! duplicate and go with keys or a drag; every edit goes through `crate::edit` (validated, all
//! or nothing, undoable) and replaces the open scene, and the running simulation takes the new
//! site without a restart (`SimCommand::EditSite`). Save writes the scene atomically; unsaved
//! work goes to a recovery file every 30 s.

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui;

use super::sim_link::{LatestSnapshot, UiCommand};
use super::tags::{FacilityTags, ObjectKind};
use super::{AppSystems, OpenScene, SiteEdited};
use crate::edit::script::{Step, Target, next_id, numbered_racks, resolve, run_step};
use crate::edit::{Edit, EditHistory};
use crate::live::SimCommand;
use crate::model::geometry::{CHILLER_SIZE, DRY_COOLER_SIZE, Footprint, rack_footprint, row_offsets};
use crate::model::{Facing, PlacedRack, Row, Site};

/// One floor tile: what snapping and the arrow keys move by (ASHRAE/raised-floor 600 mm).
pub const TILE_M: f64 = 0.6;
/// How often unsaved work is written to the recovery file (wall time).
pub const AUTOSAVE_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// Click to select (Ctrl adds), Shift-drag a box, drag a selected row to move it.
    #[default]
    Select,
    /// Click the floor to place a row of `row_racks` racks of `rack_type`.
    PlaceRow,
    /// Click the floor to place a CDU like the hall's first (or the site's first), or a CRAH.
    PlaceCdu,
    PlaceCrah,
    /// Click the ground to place a dry cooler or a chiller like the site's first; it joins the
    /// first facility loop.
    PlaceDryCooler,
    PlaceChiller,
    /// Click the floor (of any hall) to place the copied rows there.
    Paste,
}

impl Tool {
    fn outdoor(self) -> bool {
        matches!(self, Tool::PlaceDryCooler | Tool::PlaceChiller)
    }
}

/// Where the next row would go and whether it fits.
#[derive(Debug, Clone, PartialEq)]
pub struct Ghost {
    pub hall: usize,
    /// Row origin, hall coordinates (snapped).
    pub origin: (f64, f64),
    /// Footprint on the site plan (min, max), metres.
    pub plan: ((f64, f64), (f64, f64)),
    /// Ok, or why the row cannot go there.
    pub fits: Result<(), String>,
    pub edit: Edit,
    /// Further edits placed with it, as one undo step (the other rows of a paste).
    pub more: Vec<Edit>,
}

/// The editor's state: what is being placed, the undo history, where the scene is saved.
#[derive(Resource)]
pub struct Editor {
    pub active: bool,
    pub tool: Tool,
    pub rack_type: String,
    pub row_racks: usize,
    pub facing: Facing,
    pub history: EditHistory,
    /// Edits since the last save (or since the file opened).
    pub dirty: bool,
    /// Where Save writes: the scene's file, or what Save As chose.
    pub path: Option<PathBuf>,
    pub save_as: String,
    /// The last thing the editor has to say, and whether it is a problem.
    pub status: Option<(String, bool)>,
    pub ghost: Option<Ghost>,
    /// The cell just placed at: no ghost there until the pointer moves on (it would only say
    /// that it overlaps what was just placed).
    placed_at: Option<(usize, (f64, f64))>,
    /// Racks (tags) picked with a click, Ctrl-click or a box: what keys and the properties act on.
    pub picked: Vec<u32>,
    /// A Shift-drag box in progress: start and current pointer (window pixels).
    pub boxing: Option<(Vec2, Vec2)>,
    /// The system's Save dialog, while it is open (off the frame loop).
    pub save_dialog: Option<crossbeam_channel::Receiver<Option<PathBuf>>>,
    /// Copied rows, as they stood in `clipboard_hall` (its id).
    pub clipboard: Vec<Row>,
    pub clipboard_hall: Option<String>,
    /// A unit clicked with the Select tool (CDU, CRAH, dry cooler, chiller): Delete removes it.
    pub unit: Option<String>,
    /// The pointer in the frame before (window pixels): where a press that arrives with a drag
    /// already under way started.
    pub last_cursor: Option<Vec2>,
    /// What the ghost was worked out for (tool, hall, tile, palette settings).
    pub ghost_key: Option<String>,
    /// A row being dragged: its hall and row ids, and where on the floor the drag started.
    pub dragging: Option<(String, String, (f64, f64), (f64, f64))>,
    /// Validator warnings of the scene as it is (errors are refused before they happen).
    pub problems: Vec<crate::diagnostic::Diagnostic>,
    /// Ids of the picked racks across an edit: the tags are renumbered when the view rebuilds.
    repick: Option<Vec<String>>,
    /// A recovery file found at start, offered to the user.
    pub recovery_offer: Option<PathBuf>,
    /// A file to open or a close once the user says what to do with unsaved changes.
    pub pending: Option<Pending>,
    last_autosave: Option<Duration>,
}

/// What waits on "save your changes?".
#[derive(Debug)]
pub enum Pending {
    Open(super::OpenedFile),
    Close,
}

impl Default for Editor {
    fn default() -> Self {
        Editor {
            active: false,
            tool: Tool::Select,
            rack_type: "gb300-nvl72".into(),
            row_racks: 4,
            facing: Facing::South,
            history: EditHistory::default(),
            dirty: false,
            path: None,
            save_as: String::new(),
            status: None,
            ghost: None,
            placed_at: None,
            picked: Vec::new(),
            boxing: None,
            dragging: None,
            ghost_key: None,
            last_cursor: None,
            unit: None,
            clipboard: Vec::new(),
            clipboard_hall: None,
            save_dialog: None,
            problems: Vec::new(),
            repick: None,
            recovery_offer: None,
            pending: None,
            last_autosave: None,
        }
    }
}

/// What the editor panel, keys and tests ask the editor to do.
#[derive(Message, Debug, Clone)]
pub enum EditorCommand {
    /// A step as in an edit script (by full ids).
    Step(Step),
    Edit(Edit),
    /// Place the current palette row with its origin at this point of the site plan.
    PlaceAt((f64, f64)),
    Undo,
    Redo,
    /// The picked racks (a whole row when all its racks are picked).
    DeletePicked,
    /// The rows of the picked racks, by whole tiles.
    NudgePicked(i32, i32),
    RotatePicked,
    DuplicatePicked,
    /// The picked racks to the clipboard, with their rows (whole rows when all racks are picked).
    CopyPicked,
    /// Several edits as one undo step, all or nothing (a paste).
    Edits(Vec<Edit>),
    /// Picks the racks whose centres lie in this box of the site plan.
    PickInPlanBox((f64, f64), (f64, f64)),
    Save,
    SaveAs(PathBuf),
    BeginGroup,
    EndGroup,
}

/// The recovery file: beside the layout file, `$XDG_CONFIG_HOME/factory-twin/recovery.ron`.
#[derive(Resource, Clone)]
pub struct RecoveryFile(pub PathBuf);

impl RecoveryFile {
    pub fn user_default() -> Option<RecoveryFile> {
        super::layout_store::LayoutFile::user_default().map(|f| RecoveryFile(f.0.with_file_name("recovery.ron")))
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Editor>()
        .add_message::<EditorCommand>()
        .add_systems(Startup, (take_scene_path, offer_recovery))
        .add_systems(
            Update,
            (apply_commands, autosave).chain().in_set(AppSystems::Input).after(super::selection::apply_selection),
        )
        .add_systems(
            Update,
            (take_scene_path, repick, done_rebuilding)
                .chain()
                .after(AppSystems::Rebuild)
                .before(AppSystems::Input)
                .run_if(super::scene_reopened),
        );
}

/// The window's close button: the app exits, unless there are unsaved edits (then the editor
/// asks). The window does not close by itself (`close_when_requested: false`).
fn close_requests(
    mut close: MessageReader<bevy::window::WindowCloseRequested>,
    mut editor: ResMut<Editor>,
    mut exit: MessageWriter<AppExit>,
) {
    if close.read().count() == 0 {
        return;
    }
    if editor.dirty {
        editor.pending = Some(Pending::Close);
    } else {
        exit.write(AppExit::Success);
    }
}

/// The windowed editor: pointer and keys (the headless tests drive `EditorCommand`s), and the
/// window's close button.
pub fn input_plugin(app: &mut App) {
    app.add_message::<bevy::window::WindowCloseRequested>()
        .add_systems(
            Update,
            (close_requests, keys, place_and_pick, poll_save_dialog)
                .chain()
                .in_set(AppSystems::Input)
                .before(apply_commands)
                .after(super::selection::apply_selection),
        )
        .add_systems(Startup, spawn_ghost)
        .add_systems(Update, window_title.run_if(resource_changed::<OpenScene>).in_set(AppSystems::Recolour))
        .add_systems(Update, show_ghost.in_set(AppSystems::Recolour));
}

/// Save goes to the scene's own file when it came from one.
fn take_scene_path(scene: Res<OpenScene>, mut editor: ResMut<Editor>, edited: Option<Res<SiteEdited>>) {
    if edited.is_some() {
        return;
    }
    let p = PathBuf::from(&scene.name);
    editor.path = (p.extension().is_some_and(|e| e == "ron") && p.exists()).then_some(p);
    editor.history.clear();
    editor.dirty = false;
    editor.picked.clear();
    editor.ghost = None;
    editor.ghost_key = None;
    editor.unit = None;
    editor.status = None;
    editor.problems = warnings(&scene.site);
}

fn done_rebuilding(mut commands: Commands) {
    commands.remove_resource::<SiteEdited>();
}

fn warnings(site: &Site) -> Vec<crate::diagnostic::Diagnostic> {
    crate::scene::validate(site).into_iter().filter(|d| !d.is_error()).collect()
}

/// The full id of a rack tag (`hall/row/rack`), and its hall and row ids.
fn rack_ids(tags: &FacilityTags, tag: u32) -> Option<(String, String, String)> {
    let id = tags.ids.get(tag as usize)?;
    let mut parts = id.splitn(3, '/');
    Some((parts.next()?.to_string(), parts.next()?.to_string(), id.clone()))
}

/// The rows (hall id, row id) of the picked racks, each once, and whether all its racks are picked.
fn picked_rows(site: &Site, tags: &FacilityTags, picked: &[u32]) -> Vec<(String, String, bool)> {
    let mut rows: Vec<(String, String, bool)> = Vec::new();
    for &t in picked {
        let Some((hall, row, _)) = rack_ids(tags, t) else { continue };
        if rows.iter().any(|(h, r, _)| *h == hall && *r == row) {
            continue;
        }
        let all =
            site.halls.iter().find(|h| h.id == hall).and_then(|h| h.rows.iter().find(|r| r.id == row)).is_some_and(
                |r| {
                    r.racks
                        .iter()
                        .all(|k| tags.tag_of(&format!("{hall}/{row}/{}", k.id)).is_some_and(|t| picked.contains(&t)))
                },
            );
        rows.push((hall, row, all));
    }
    rows
}

/// The first free row id: row-A, row-B, …, then row-Z-2, …
fn free_row_id(taken: impl Fn(&str) -> bool) -> String {
    ('A'..='Z').map(|c| format!("row-{c}")).find(|x| !taken(x)).unwrap_or_else(|| next_id("row-Z", taken))
}

/// The row `palette` would place with its origin at `origin` (hall coordinates).
pub fn palette_row(
    site: &Site,
    hall: usize,
    origin: (f64, f64),
    rack_type: &str,
    racks: usize,
    facing: Facing,
) -> Edit {
    let h = &site.halls[hall];
    let taken = |x: &str| h.rows.iter().any(|r| r.id == x);
    let id = free_row_id(taken);
    let (cdu, pdu) = crate::edit::script::default_supply(site, hall, origin, rack_type);
    Edit::InsertRow {
        hall: h.id.clone(),
        index: h.rows.len(),
        row: Box::new(Row {
            id,
            origin,
            facing,
            rack_type: Some(rack_type.to_string()),
            cdu,
            pdu,
            racks: numbered_racks(racks.max(1)),
        }),
    }
}

/// The hall that holds plan point `p`, with `p` in its coordinates.
fn hall_at(site: &Site, p: (f64, f64)) -> Option<(usize, (f64, f64))> {
    site.halls.iter().enumerate().find_map(|(i, h)| {
        let local = (p.0 - h.origin.0, p.1 - h.origin.1);
        (local.0 >= 0.0 && local.1 >= 0.0 && local.0 <= h.size.0 && local.1 <= h.size.1).then_some((i, local))
    })
}

fn snap(v: f64, on: bool) -> f64 {
    // Whole centimetres either way, so a scene file reads 7.2, not 7.199999999999999.
    round_cm(if on { (v / TILE_M).round() * TILE_M } else { v })
}

/// Where the rows of hall `hall` stand (hall coordinates), but row `skip`.
pub fn row_extents(site: &Site, hall: usize, skip: Option<usize>) -> Vec<Footprint> {
    (0..site.halls[hall].rows.len()).filter(|&r| Some(r) != skip).filter_map(|r| row_extent(site, hall, r)).collect()
}

/// Where row `r` of hall `hall` stands (hall coordinates); `None` without racks of known types.
pub fn row_extent(site: &Site, hall: usize, r: usize) -> Option<Footprint> {
    let catalogue = site.rack_catalogue();
    let ty = |n: Option<&str>| n.and_then(|n| catalogue.iter().find(|t| t.id == n));
    let h = &site.halls[hall];
    let row = &h.rows[r];
    let placed: Vec<PlacedRack<'_>> = row
        .racks
        .iter()
        .enumerate()
        .map(|(ki, rack)| PlacedRack { hall_index: hall, row_index: r, rack_index: ki, hall: h, row, rack })
        .collect();
    let offsets = row_offsets(placed.iter().map(|p| (ty(p.rack_type()).map_or(0.6, |t| t.width_m), p.rack.at)));
    placed.iter().zip(offsets).filter_map(|(p, off)| Some(rack_footprint(p, ty(p.rack_type())?, off))).reduce(|a, b| {
        Footprint {
            min: (a.min.0.min(b.min.0), a.min.1.min(b.min.1)),
            max: (a.max.0.max(b.max.0), a.max.1.max(b.max.1)),
        }
    })
}

/// Lines a row with corner `origin` and footprint `size` up with its neighbours when it is
/// within half a tile of it: ends in line or butting, fronts and backs touching or in line.
pub fn snap_to_rows(rows: &[Footprint], origin: (f64, f64), size: (f64, f64)) -> (f64, f64) {
    let nearest = |pos: f64, len: f64, edges: &mut dyn Iterator<Item = (f64, f64)>| {
        let mut best = (TILE_M / 2.0, pos);
        for (lo, hi) in edges {
            for c in [lo, hi, lo - len, hi - len] {
                if (c - pos).abs() < best.0 {
                    best = ((c - pos).abs(), c);
                }
            }
        }
        round_cm(best.1)
    };
    (
        nearest(origin.0, size.0, &mut rows.iter().map(|f| (f.min.0, f.max.0))),
        nearest(origin.1, size.1, &mut rows.iter().map(|f| (f.min.1, f.max.1))),
    )
}

/// The ghost for a row at plan point `p`: where it goes and whether it fits.
pub fn ghost_at(
    site: &Site,
    p: (f64, f64),
    rack_type: &str,
    racks: usize,
    facing: Facing,
    snapping: bool,
) -> Option<Ghost> {
    let (hall, local) = hall_at(site, p)?;
    let ty = site.rack_catalogue().into_iter().find(|t| t.id == rack_type);
    let (w, d) = ty.map_or((0.6, 1.2), |t| (t.width_m, t.depth_m));
    let n = racks.max(1) as f64;
    let (dx, dy) = match facing {
        Facing::North | Facing::South => (w * n, d),
        Facing::East | Facing::West => (d, w * n),
    };
    let mut origin = (snap(local.0, snapping), snap(local.1, snapping));
    if snapping {
        origin = snap_to_rows(&row_extents(site, hall, None), origin, (dx, dy));
    }
    let edit = palette_row(site, hall, origin, rack_type, racks, facing);
    let o = site.halls[hall].origin;
    let min = (o.0 + origin.0, o.1 + origin.1);
    let mut trial = site.clone();
    let fits = crate::edit::apply(&mut trial, &edit).map(|_| ()).map_err(|e| first_reason(&e.to_string()));
    Some(Ghost { hall, origin, plan: (min, (min.0 + dx, min.1 + dy)), fits, edit, more: Vec::new() })
}

/// The ghost for a CDU or CRAH centred at plan point `p`: a copy of the hall's first unit of
/// that kind (or the site's first), with the next free id.
pub fn unit_ghost_at(site: &Site, p: (f64, f64), crah: bool, snapping: bool) -> Option<Ghost> {
    let (hall, local) = hall_at(site, p)?;
    let pos = (snap(local.0, snapping), snap(local.1, snapping));
    let h = &site.halls[hall];
    let step = if crah {
        let template = h.crahs.first().or_else(|| site.halls.iter().flat_map(|h| &h.crahs).next())?.clone();
        let id = next_id(&template.id, |x| h.crahs.iter().any(|c| c.id == x));
        Step::AddCrah { hall: h.id.clone(), crah: crate::model::Crah { id, position: Some(pos), ..template } }
    } else {
        let template = h.cdus.first().or_else(|| site.halls.iter().flat_map(|h| &h.cdus).next())?.clone();
        let id = next_id(&template.id, |x| h.cdus.iter().any(|c| c.id == x));
        Step::AddCdu { hall: h.id.clone(), cdu: crate::model::Cdu { id, position: Some(pos), ..template } }
    };
    let edit = crate::edit::script::to_edit(site, &step).ok()?;
    // The footprints the validator gives units (scene.rs).
    let (w, d) = if crah { (1.8, 0.9) } else { (0.6, 1.2) };
    let c = (h.origin.0 + pos.0, h.origin.1 + pos.1);
    let mut trial = site.clone();
    let fits = crate::edit::apply(&mut trial, &edit).map(|_| ()).map_err(|e| first_reason(&e.to_string()));
    Some(Ghost {
        hall,
        origin: pos,
        plan: ((c.0 - w / 2.0, c.1 - d / 2.0), (c.0 + w / 2.0, c.1 + d / 2.0)),
        fits,
        edit,
        more: Vec::new(),
    })
}

/// The ghost for a dry cooler or chiller centred at plan point `p` (site coordinates, outside):
/// a copy of the site's first of that kind (or a published unit), with the next free id.
pub fn plant_ghost_at(site: &Site, p: (f64, f64), chiller: bool, snapping: bool) -> Option<Ghost> {
    use crate::model::{Chiller, DryCooler};
    let pos = (snap(p.0, snapping), snap(p.1, snapping));
    let supply =
        site.power.ups.first().map(|u| u.id.clone()).or_else(|| site.power.feeds.first().map(|f| f.id.clone()))?;
    let taken = |x: &str| crate::edit::script::resolve(site, x).is_ok();
    let (step, (w, d)) = if chiller {
        // An air-cooled 1,055 kW chiller on the York YCAL curves (COP 2.9 at 35 °C air), when
        // the site has none.
        let template = site.plant.chillers.first().cloned().unwrap_or(Chiller {
            id: "ch-0".into(),
            capacity_kw: 1055.0,
            cop: 2.9,
            condenser: Default::default(),
            economiser: true,
            restart_s: 300.0,
            curves: None,
            supply,
            position: None,
        });
        let id = next_id(&template.id, taken);
        (
            Step::AddChiller { chiller: Chiller { id, position: Some(pos), ..template }, facility_loop: None },
            CHILLER_SIZE,
        )
    } else {
        let template = site.plant.dry_coolers.first().cloned()?;
        let id = next_id(&template.id, taken);
        let dry_cooler = DryCooler { id, position: Some(pos), ..template };
        (Step::AddDryCooler { dry_cooler, facility_loop: None }, DRY_COOLER_SIZE)
    };
    let edit = crate::edit::script::to_edit(site, &step).ok()?;
    let mut trial = site.clone();
    let fits = crate::edit::apply(&mut trial, &edit).map(|_| ()).map_err(|e| first_reason(&e.to_string()));
    Some(Ghost {
        hall: usize::MAX,
        origin: pos,
        plan: ((pos.0 - w / 2.0, pos.1 - d / 2.0), (pos.0 + w / 2.0, pos.1 + d / 2.0)),
        fits,
        edit,
        more: Vec::new(),
    })
}

/// The picked racks to the clipboard: each picked row whole when all its racks are picked, else
/// a row of only the picked racks, side by side from the row's origin.
fn copy_picked(site: &Site, editor: &mut Editor, tags: &FacilityTags) {
    let rows = picked_rows(site, tags, &editor.picked);
    let mut copied = Vec::new();
    let mut from_hall = None;
    for (hall, row, all) in &rows {
        let Ok(Target::Row(h, r)) = resolve(site, &format!("{hall}/{row}")) else { continue };
        let mut copy = site.halls[h].rows[r].clone();
        if !*all {
            let ids: Vec<String> = editor
                .picked
                .iter()
                .filter_map(|&t| rack_ids(tags, t))
                .filter(|(a, b, _)| a == hall && b == row)
                .map(|x| x.2)
                .collect();
            copy.racks.retain(|k| ids.iter().any(|id| id.ends_with(&format!("/{}", k.id))));
            copy.racks.iter_mut().for_each(|k| k.at = None);
        }
        from_hall.get_or_insert_with(|| hall.clone());
        copied.push(copy);
    }
    if copied.is_empty() {
        editor.status = Some(("pick racks to copy first".into(), true));
        return;
    }
    let racks: usize = copied.iter().map(|r| r.racks.len()).sum();
    editor.status = Some((
        format!(
            "copied {} ({}): Ctrl+V, then click where they go",
            plural(copied.len(), "row", "rows"),
            plural(racks, "rack", "racks")
        ),
        false,
    ));
    editor.clipboard = copied;
    editor.clipboard_hall = from_hall;
}

/// The clipboard's rows placed with their south-west corner at plan point `p`, in the hall
/// there: new row ids (the next free letters); in another hall than they came from, liquid
/// rows take that hall's CDU and every row its nearest row's PDU, as the palette does.
pub fn paste_ghost_at(
    site: &Site,
    p: (f64, f64),
    clipboard: &[Row],
    from_hall: Option<&str>,
    snapping: bool,
) -> Option<Ghost> {
    let (hall, local) = hall_at(site, p)?;
    let h = &site.halls[hall];
    let low = clipboard.iter().fold((f64::INFINITY, f64::INFINITY), |a, r| (a.0.min(r.origin.0), a.1.min(r.origin.1)));
    if !low.0.is_finite() {
        return None;
    }
    let at = (snap(local.0, snapping), snap(local.1, snapping));
    let mut taken: Vec<String> = h.rows.iter().map(|r| r.id.clone()).collect();
    let mut rows = Vec::new();
    for row in clipboard {
        let mut r = row.clone();
        let free = |x: &str| !taken.iter().any(|t| t == x);
        r.id = free_row_id(|x| !free(x));
        taken.push(r.id.clone());
        r.origin = (round_cm(at.0 + row.origin.0 - low.0), round_cm(at.1 + row.origin.1 - low.1));
        if from_hall != Some(h.id.as_str()) {
            let ty =
                r.rack_type.clone().or_else(|| r.racks.first().and_then(|k| k.rack_type.clone())).unwrap_or_default();
            let (cdu, pdu) = crate::edit::script::default_supply(site, hall, r.origin, &ty);
            (r.cdu, r.pdu) = (cdu, pdu);
            r.racks.iter_mut().for_each(|k| (k.cdu, k.pdu) = (None, None));
        }
        rows.push(r);
    }
    let mut edits: Vec<Edit> = rows
        .iter()
        .enumerate()
        .map(|(k, r)| Edit::InsertRow { hall: h.id.clone(), index: h.rows.len() + k, row: Box::new(r.clone()) })
        .collect();
    // Where the rows would stand, from a copy with them in (not validated).
    let mut shape = site.clone();
    shape.halls[hall].rows.extend(rows);
    let extent =
        (h.rows.len()..shape.halls[hall].rows.len()).filter_map(|r| row_extent(&shape, hall, r)).reduce(|a, b| {
            Footprint {
                min: (a.min.0.min(b.min.0), a.min.1.min(b.min.1)),
                max: (a.max.0.max(b.max.0), a.max.1.max(b.max.1)),
            }
        })?;
    let o = h.origin;
    let mut trial = site.clone();
    let fits = edits
        .iter()
        .try_for_each(|e| crate::edit::apply(&mut trial, e).map(drop))
        .map_err(|e| first_reason(&e.to_string()));
    let edit = edits.remove(0);
    Some(Ghost {
        hall,
        origin: at,
        plan: ((extent.min.0 + o.0, extent.min.1 + o.1), (extent.max.0 + o.0, extent.max.1 + o.1)),
        fits,
        edit,
        more: edits,
    })
}

/// A PDU like the site's first, on the same UPS, with the next free id.
fn new_pdu(site: &Site) -> Result<Step, String> {
    let template = site.power.pdus.first().cloned().ok_or("the site has no PDU to copy; add one in the scene file")?;
    let id = next_id(&template.id, |x| crate::edit::script::resolve(site, x).is_ok());
    Ok(Step::AddPdu { pdu: crate::model::Pdu { id, ..template } })
}

/// Why an edit was refused, every reason on its own line (not "the edit would leave …").
fn first_reason(message: &str) -> String {
    let reasons: Vec<&str> =
        message.lines().map(|l| l.trim()).filter_map(|l| l.strip_prefix("edit: error:").map(str::trim)).collect();
    if reasons.is_empty() { message.lines().next().unwrap_or("").to_string() } else { reasons.join("\n") }
}

/// Applies the editor's commands: each edit validated, the scene replaced, the sim told.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_commands(
    mut commands: Commands,
    mut reader: MessageReader<EditorCommand>,
    mut editor: ResMut<Editor>,
    mut scene: ResMut<OpenScene>,
    tags: Option<Res<FacilityTags>>,
    mut to_sim: MessageWriter<UiCommand>,
    recovery: Option<Res<RecoveryFile>>,
) {
    let mut changed = false;
    // Edits are all or nothing, so they go straight into the scene: no copy of a 10,000-rack
    // site per edit. Change detection is set below, only when something changed.
    let scene_name = scene.name.clone();
    let mut renamed = None;
    let mut edits = Vec::new();
    // Rows that only moved, while nothing else changed.
    let mut moved: Option<Vec<(usize, usize)>> = Some(Vec::new());
    for c in reader.read() {
        let site = &mut scene.bypass_change_detection().site;
        let result: Result<Option<String>, String> = match c {
            EditorCommand::Step(step) => {
                let said = crate::edit::script::describe(step);
                run_step(site, &mut editor.history, step).map(|_| Some(said)).map_err(|e| e.to_string())
            }
            EditorCommand::Edit(edit) => {
                editor.history.apply(site, edit).map(|_| Some(edit.to_string())).map_err(|e| e.to_string())
            }
            EditorCommand::PlaceAt(p) => {
                match ghost_at(site, *p, &editor.rack_type, editor.row_racks, editor.facing, true) {
                    Some(g) => {
                        let text = g.edit.to_string();
                        editor.history.apply(site, &g.edit).map(|_| Some(text)).map_err(|e| e.to_string())
                    }
                    None => Err("place rows inside a hall".into()),
                }
            }
            EditorCommand::Undo => match editor.history.undo(site) {
                Some(r) => r.map(|_| Some("undone".into())).map_err(|e| e.to_string()),
                None => Err("nothing to undo".into()),
            },
            EditorCommand::Redo => match editor.history.redo(site) {
                Some(r) => r.map(|_| Some("redone".into())).map_err(|e| e.to_string()),
                None => Err("nothing to redo".into()),
            },
            EditorCommand::CopyPicked => {
                if let Some(tags) = &tags {
                    copy_picked(site, &mut editor, tags);
                }
                continue;
            }
            EditorCommand::Edits(edits) => {
                // All or nothing, one undo step: on a refusal the site and history go back.
                let (site_before, history_before) = (site.clone(), editor.history.clone());
                editor.history.begin_group();
                let result = edits.iter().try_for_each(|e| editor.history.apply(site, e));
                editor.history.end_group();
                match result {
                    Ok(()) => Ok(Some(format!("placed {}", plural(edits.len(), "row", "rows")))),
                    Err(e) => {
                        *site = site_before;
                        editor.history = history_before;
                        Err(e.to_string())
                    }
                }
            }
            EditorCommand::DeletePicked
            | EditorCommand::NudgePicked(..)
            | EditorCommand::RotatePicked
            | EditorCommand::DuplicatePicked => {
                let Some(tags) = &tags else { continue };
                group_on_picked(site, &mut editor, tags, c)
            }
            EditorCommand::PickInPlanBox(a, b) => {
                if let Some(tags) = &tags {
                    editor.picked = racks_in_plan_box(tags, *a, *b);
                    let n = editor.picked.len();
                    editor.status = Some((format!("{} picked", plural(n, "rack", "racks")), false));
                }
                continue;
            }
            EditorCommand::BeginGroup => {
                editor.history.begin_group();
                continue;
            }
            EditorCommand::EndGroup => {
                editor.history.end_group();
                continue;
            }
            EditorCommand::Save | EditorCommand::SaveAs(_) => {
                let to = if let EditorCommand::SaveAs(p) = c { Some(p.clone()) } else { None };
                let r = save(&mut editor, site, to, recovery.as_deref());
                // The window shows the file it is now: renamed without a restart.
                let name = editor.path.as_ref().map(|p| p.display().to_string());
                if let (Ok(_), Some(name)) = (&r, name) {
                    if scene_name != name {
                        renamed = Some(name);
                    }
                }
                r
            }
        };
        let changes = editor.history.take_changes();
        if !changes.is_empty() {
            changed = true;
            editor.dirty = true;
            edits.extend(changes.edits);
            moved = match (moved.take(), changes.layout_only) {
                (Some(mut rows), true) => {
                    for r in changes.moved {
                        if !rows.contains(&r) {
                            rows.push(r);
                        }
                    }
                    Some(rows)
                }
                _ => None,
            };
            if let Some(w) = changes.warnings {
                editor.problems = w.into_iter().filter(|d| !d.is_error()).collect();
            }
        }
        match result {
            Ok(Some(text)) => editor.status = Some((text, false)),
            Ok(None) => {}
            Err(e) => editor.status = Some((first_reason(&e), true)),
        }
    }
    if let Some(name) = renamed {
        scene.name = name;
        if !changed {
            commands.insert_resource(SiteEdited::default());
            commands.insert_resource(super::camera::KeepCamera(true));
        }
    }
    if changed {
        scene.set_changed();
        // The scene's systems rebuild next frame (facility, network, outliner), or only the
        // moved rows move; the sim applies the same edits to its own copy as it runs, and the
        // camera stays.
        commands.insert_resource(SiteEdited { moved });
        commands.insert_resource(super::camera::KeepCamera(true));
        to_sim.write(UiCommand(SimCommand::Edits(edits)));
        editor.ghost = None;
        editor.ghost_key = None;
        editor.unit = None;
        if let Some(tags) = &tags {
            let ids = editor.picked.iter().filter_map(|&t| tags.ids.get(t as usize).cloned()).collect();
            editor.repick = Some(ids);
        }
        editor.picked.clear();
    }
}

/// After the view rebuilt for an edit: the picked racks again, by id (gone ones drop out).
fn repick(mut editor: ResMut<Editor>, tags: Option<Res<FacilityTags>>) {
    let (Some(ids), Some(tags)) = (editor.repick.take(), tags) else { return };
    editor.picked = ids.iter().filter_map(|id| tags.tag_of(id)).collect();
}

/// Delete, nudge, rotate or duplicate what is picked, as one undo step.
fn group_on_picked(
    site: &mut Site,
    editor: &mut Editor,
    tags: &FacilityTags,
    c: &EditorCommand,
) -> Result<Option<String>, String> {
    if editor.picked.is_empty() {
        if let (EditorCommand::DeletePicked, Some(unit)) = (c, editor.unit.take()) {
            let step = Step::Remove { id: unit.clone() };
            return run_step(site, &mut editor.history, &step).map(|_| Some(format!("removed {unit}"))).map_err(|e| {
                editor.unit = Some(unit);
                e.to_string()
            });
        }
        return Err("pick racks first (click, Ctrl-click, or Shift-drag a box)".into());
    }
    let rows = picked_rows(site, tags, &editor.picked);
    let mut steps = Vec::new();
    match c {
        EditorCommand::DeletePicked => {
            for (hall, row, all) in &rows {
                if *all {
                    steps.push(Step::Remove { id: format!("{hall}/{row}") });
                }
            }
            for &t in &editor.picked {
                if let Some((hall, row, id)) = rack_ids(tags, t) {
                    if !rows.iter().any(|(h, r, all)| *all && *h == hall && *r == row) {
                        steps.push(Step::Remove { id });
                    }
                }
            }
        }
        EditorCommand::NudgePicked(dx, dy) => {
            for (hall, row, _) in &rows {
                let Ok(Target::Row(h, r)) = resolve(site, &format!("{hall}/{row}")) else { continue };
                let o = site.halls[h].rows[r].origin;
                let to = (o.0 + *dx as f64 * TILE_M, o.1 + *dy as f64 * TILE_M);
                steps.push(Step::Move { id: format!("{hall}/{row}"), to: (round_cm(to.0), round_cm(to.1)) });
            }
        }
        EditorCommand::RotatePicked => {
            for (hall, row, _) in &rows {
                let Ok(Target::Row(h, r)) = resolve(site, &format!("{hall}/{row}")) else { continue };
                let facing = match site.halls[h].rows[r].facing {
                    Facing::North => Facing::East,
                    Facing::East => Facing::South,
                    Facing::South => Facing::West,
                    Facing::West => Facing::North,
                };
                steps.push(Step::Rotate { id: format!("{hall}/{row}"), facing });
            }
        }
        _ => {
            for (hall, row, _) in &rows {
                let Ok(Target::Row(h, r)) = resolve(site, &format!("{hall}/{row}")) else { continue };
                // Beside the original: one row pitch (a rack depth and an aisle) across the row.
                let offset = match site.halls[h].rows[r].facing {
                    Facing::North | Facing::South => (0.0, 2.4),
                    Facing::East | Facing::West => (2.4, 0.0),
                };
                steps.push(Step::Duplicate { id: format!("{hall}/{row}"), new_id: None, offset });
            }
        }
    }
    // All or nothing, one undo step: on a refusal the site and the history go back as they were.
    let (site_before, history_before) = (site.clone(), editor.history.clone());
    editor.history.begin_group();
    for step in &steps {
        if let Err(e) = run_step(site, &mut editor.history, step) {
            *site = site_before;
            editor.history = history_before;
            return Err(e.to_string());
        }
    }
    editor.history.end_group();
    Ok(Some(format!("{} on {}", plural(steps.len(), "edit", "edits"), plural(rows.len(), "row", "rows"))))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn round_cm(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Rack tags whose centres lie inside the plan box (corners in any order).
pub fn racks_in_plan_box(tags: &FacilityTags, a: (f64, f64), b: (f64, f64)) -> Vec<u32> {
    let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
    let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
    (0..tags.racks)
        .filter(|&i| {
            let (lo, hi) = tags.boxes[i];
            let c = (lo + hi) / 2.0;
            // World (x, -z) is the plan (x, y).
            let (px, py) = (c.x as f64, -c.z as f64);
            px >= x0 && px <= x1 && py >= y0 && py <= y1
        })
        .map(|i| i as u32)
        .collect()
}

fn save(
    editor: &mut Editor,
    site: &Site,
    to: Option<PathBuf>,
    recovery: Option<&RecoveryFile>,
) -> Result<Option<String>, String> {
    let Some(path) = to.or_else(|| editor.path.clone()) else {
        open_save_dialog(editor);
        return Ok(Some("choose where to save (or type a path and press Save as)".into()));
    };
    crate::scene::save(site, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    editor.path = Some(path.clone());
    editor.dirty = false;
    if let Some(r) = recovery {
        let _ = std::fs::remove_file(&r.0);
    }
    Ok(Some(format!("saved {}", path.display())))
}

/// The system's Save dialog (rfd, through the XDG portal) on a thread of its own; where there
/// is none (Xvfb, bare window managers) the typed path stays.
fn open_save_dialog(editor: &mut Editor) {
    if editor.save_dialog.is_some() {
        return;
    }
    let (tx, rx) = crossbeam_channel::bounded(1);
    let start = editor.path.as_ref().and_then(|p| p.parent().map(|d| d.to_path_buf()));
    std::thread::spawn(move || {
        let mut dialog = rfd::FileDialog::new().add_filter("scenes", &["ron"]).set_file_name("layout.ron");
        if let Some(dir) = start {
            dialog = dialog.set_directory(dir);
        }
        let _ = tx.send(dialog.save_file());
    });
    editor.save_dialog = Some(rx);
}

/// The Save dialog answered: save there, or say how to save without one.
fn poll_save_dialog(mut editor: ResMut<Editor>, mut out: MessageWriter<EditorCommand>) {
    let Some(rx) = &editor.save_dialog else { return };
    match rx.try_recv() {
        Ok(Some(path)) => {
            editor.save_dialog = None;
            out.write(EditorCommand::SaveAs(path));
        }
        Ok(None) | Err(crossbeam_channel::TryRecvError::Disconnected) => {
            editor.save_dialog = None;
            editor.status =
                Some(("not saved: no file chosen (where no dialog shows, type a path and press Save as)".into(), true));
        }
        Err(crossbeam_channel::TryRecvError::Empty) => {}
    }
}

/// Unsaved work goes to the recovery file every `AUTOSAVE_EVERY`.
fn autosave(
    time: Res<Time<Real>>,
    mut editor: ResMut<Editor>,
    scene: Res<OpenScene>,
    recovery: Option<Res<RecoveryFile>>,
) {
    let Some(recovery) = recovery else { return };
    let now = time.elapsed();
    if !editor.dirty {
        editor.last_autosave = Some(now);
        return;
    }
    if editor.last_autosave.is_some_and(|t| now - t < AUTOSAVE_EVERY) {
        return;
    }
    editor.last_autosave = Some(now);
    if let Some(dir) = recovery.0.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = crate::scene::save(&scene.site, &recovery.0) {
        editor.status = Some((format!("autosave to {} failed: {e}", recovery.0.display()), true));
    }
}

/// A recovery file left by a run that did not save: offered at start.
fn offer_recovery(mut editor: ResMut<Editor>, recovery: Option<Res<RecoveryFile>>) {
    if let Some(r) = recovery.filter(|r| r.0.exists()) {
        editor.recovery_offer = Some(r.0.clone());
    }
}

/// A modifier that is down, or went down or up this frame: a fast chord (xdotool, remote
/// desktops) may press and release Ctrl within one frame, and still means Ctrl+Z.
fn held(keys: &ButtonInput<KeyCode>, either: [KeyCode; 2]) -> bool {
    keys.any_pressed(either) || keys.any_just_pressed(either) || keys.any_just_released(either)
}

/// Keys while editing: undo/redo, delete, nudge, rotate, duplicate, save.
fn keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    pointer: Res<super::pointer::ScenePointer>,
    mut editor: ResMut<Editor>,
    mut out: MessageWriter<EditorCommand>,
) {
    let Some(keys) = keys else { return };
    if pointer.typing {
        return;
    }
    let ctrl = held(&keys, [KeyCode::ControlLeft, KeyCode::ControlRight]);
    let shift = held(&keys, [KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    if ctrl && keys.just_pressed(KeyCode::KeyS) {
        out.write(EditorCommand::Save);
    }
    if !editor.active {
        return;
    }
    if ctrl && (keys.just_pressed(KeyCode::KeyY) || shift && keys.just_pressed(KeyCode::KeyZ)) {
        out.write(EditorCommand::Redo);
    } else if ctrl && keys.just_pressed(KeyCode::KeyZ) {
        out.write(EditorCommand::Undo);
    }
    if keys.any_just_pressed([KeyCode::Delete, KeyCode::Backspace]) {
        out.write(EditorCommand::DeletePicked);
    }
    if ctrl && keys.just_pressed(KeyCode::KeyD) {
        out.write(EditorCommand::DuplicatePicked);
    }
    if ctrl && keys.just_pressed(KeyCode::KeyC) {
        out.write(EditorCommand::CopyPicked);
    }
    if ctrl && keys.just_pressed(KeyCode::KeyV) && !editor.clipboard.is_empty() {
        editor.tool = Tool::Paste;
        editor.ghost = None;
        editor.ghost_key = None;
    }
    if !ctrl && keys.just_pressed(KeyCode::KeyR) {
        if editor.tool == Tool::PlaceRow {
            editor.facing = match editor.facing {
                Facing::North => Facing::East,
                Facing::East => Facing::South,
                Facing::South => Facing::West,
                Facing::West => Facing::North,
            };
            editor.ghost = None;
        } else {
            out.write(EditorCommand::RotatePicked);
        }
    }
    for (k, d) in [
        (KeyCode::ArrowLeft, (-1, 0)),
        (KeyCode::ArrowRight, (1, 0)),
        (KeyCode::ArrowUp, (0, 1)),
        (KeyCode::ArrowDown, (0, -1)),
    ] {
        if keys.just_pressed(k) {
            out.write(EditorCommand::NudgePicked(d.0, d.1));
        }
    }
    if keys.just_pressed(KeyCode::Escape) {
        editor.tool = Tool::Select;
        editor.ghost = None;
        editor.picked.clear();
    }
}

/// The floor point under the pointer, on the site plan (x east, y north).
fn floor_point(
    windows: &Query<&Window, With<PrimaryWindow>>,
    cameras: &Query<(&Camera, &GlobalTransform)>,
    pointer: &super::pointer::ScenePointer,
) -> Option<(f64, f64)> {
    let cursor = windows.single().ok()?.cursor_position().filter(|c| pointer.accepts(*c))?;
    floor_at(cameras, cursor)
}

/// The floor point under window position `cursor`.
fn floor_at(cameras: &Query<(&Camera, &GlobalTransform)>, cursor: Vec2) -> Option<(f64, f64)> {
    let (camera, at) = cameras.iter().find(|(c, _)| c.is_active)?;
    let ray = camera.viewport_to_world(at, cursor).ok()?;
    let d = ray.intersect_plane(Vec3::ZERO, InfinitePlane3d::new(Vec3::Y))?;
    let p = ray.get_point(d);
    Some((p.x as f64, -p.z as f64))
}

/// The pointer while editing: the palette's ghost and click to place; Ctrl-click picks more;
/// Shift-drag picks a box; a drag that starts on a picked rack moves its row (one undo step).
#[allow(clippy::too_many_arguments)]
fn place_and_pick(
    buttons: Option<Res<ButtonInput<MouseButton>>>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    windows: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    pointer: Res<super::pointer::ScenePointer>,
    mut hold: ResMut<super::pointer::EditorHoldsLeftDrag>,
    selection: Res<super::selection::Selection>,
    scene: Res<OpenScene>,
    tags: Option<Res<FacilityTags>>,
    mut editor: ResMut<Editor>,
    mut out: MessageWriter<EditorCommand>,
) {
    let (Some(buttons), Some(keys)) = (buttons, keys) else { return };
    if !editor.active {
        hold.0 = false;
        return;
    }
    let ctrl = held(&keys, [KeyCode::ControlLeft, KeyCode::ControlRight]);
    let shift = held(&keys, [KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    let alt = held(&keys, [KeyCode::AltLeft, KeyCode::AltRight]);
    let floor = floor_point(&windows, &cameras, &pointer);
    let cursor = windows.single().ok().and_then(|w| w.cursor_position());
    let previous = std::mem::replace(&mut editor.last_cursor, cursor);
    let pressed = buttons.just_pressed(MouseButton::Left) && floor.is_some();
    match editor.tool {
        tool @ (Tool::PlaceRow
        | Tool::PlaceCdu
        | Tool::PlaceCrah
        | Tool::PlaceDryCooler
        | Tool::PlaceChiller
        | Tool::Paste) => {
            // Whether a ghost fits is a trial edit on a copy of the site: worked out when the
            // pointer reaches another tile or the palette changes, not every frame.
            let cell = |p: (f64, f64)| {
                if tool.outdoor() { Some((usize::MAX, p)) } else { hall_at(&scene.site, p) }
            };
            let key = floor.and_then(cell).map(|(h, l)| {
                let (x, y) = (snap(l.0, !alt), snap(l.1, !alt));
                format!("{:?} {h} {x} {y} {} {} {:?}", editor.tool, editor.rack_type, editor.row_racks, editor.facing)
            });
            let ghost = if key.is_some() && key == editor.ghost_key {
                editor.ghost.clone()
            } else {
                floor.and_then(|p| match editor.tool {
                    Tool::PlaceRow => {
                        ghost_at(&scene.site, p, &editor.rack_type, editor.row_racks, editor.facing, !alt)
                    }
                    Tool::PlaceDryCooler | Tool::PlaceChiller => {
                        plant_ghost_at(&scene.site, p, tool == Tool::PlaceChiller, !alt)
                    }
                    Tool::Paste => {
                        paste_ghost_at(&scene.site, p, &editor.clipboard, editor.clipboard_hall.as_deref(), !alt)
                    }
                    tool => unit_ghost_at(&scene.site, p, tool == Tool::PlaceCrah, !alt),
                })
            };
            editor.ghost_key = key;
            let cell = ghost.as_ref().map(|g| (g.hall, g.origin));
            let ghost = if cell.is_some() && cell == editor.placed_at {
                None
            } else {
                editor.placed_at = None;
                ghost
            };
            if ghost.as_ref().map(|g| (g.hall, g.origin)) != editor.ghost.as_ref().map(|g| (g.hall, g.origin)) {
                editor.ghost = ghost;
            }
            if pressed {
                hold.0 = true;
            }
            if buttons.just_released(MouseButton::Left) && hold.0 {
                hold.0 = false;
                if let Some(g) = &editor.ghost {
                    match &g.fits {
                        Ok(()) => {
                            if g.more.is_empty() {
                                out.write(EditorCommand::Edit(g.edit.clone()));
                            } else {
                                out.write(EditorCommand::Edits([vec![g.edit.clone()], g.more.clone()].concat()));
                            }
                            editor.placed_at = Some((g.hall, g.origin));
                        }
                        Err(why) => editor.status = Some((format!("cannot place here: {why}"), true)),
                    }
                }
            }
        }
        Tool::Select => {
            editor.ghost = None;
            let Some(tags) = tags else { return };
            // A click picks (Ctrl adds or removes); selection.rs has already selected it.
            if buttons.just_released(MouseButton::Left) && editor.boxing.is_none() && editor.dragging.is_none() {
                let unit = selection.selected.filter(|&t| !matches!(tags.kind(t), Some(ObjectKind::Rack(_)) | None));
                editor.unit = unit.and_then(|t| tags.ids.get(t as usize).cloned());
                if let Some(t) = selection.selected.filter(|&t| matches!(tags.kind(t), Some(ObjectKind::Rack(_)))) {
                    if ctrl {
                        if let Some(i) = editor.picked.iter().position(|&p| p == t) {
                            editor.picked.remove(i);
                        } else {
                            editor.picked.push(t);
                        }
                    } else {
                        editor.picked = vec![t];
                    }
                } else if !ctrl {
                    editor.picked.clear();
                }
            }
            if pressed && shift {
                hold.0 = true;
                editor.boxing = cursor.map(|c| (c, c));
            } else if pressed {
                // A press on a picked rack starts moving its row. Where the press was: the
                // pointer of the frame before, since a quick drag is gone from the rack by the
                // frame that sees the press (slow frames, software rendering).
                let at = previous.filter(|c| pointer.accepts(*c)).or(cursor);
                let under = at.and_then(|c| {
                    let (camera, from) = cameras.iter().find(|(c, _)| c.is_active)?;
                    let ray = camera.viewport_to_world(from, c).ok()?;
                    super::selection::pick(ray.origin, *ray.direction, &tags.boxes).map(|(i, _)| i as u32)
                });
                let hovered = under.or(selection.hovered).filter(|t| editor.picked.contains(t));
                let floor = at.and_then(|c| floor_at(&cameras, c)).or(floor);
                if let (Some(t), Some(p)) = (hovered, floor) {
                    if let Some((hall, row, _)) = rack_ids(&tags, t) {
                        if let Ok(Target::Row(h, r)) = resolve(&scene.site, &format!("{hall}/{row}")) {
                            hold.0 = true;
                            editor.dragging = Some((hall, row, p, scene.site.halls[h].rows[r].origin));
                            out.write(EditorCommand::BeginGroup);
                        }
                    }
                }
            }
            if let (Some((start, _)), Some(c)) = (editor.boxing, cursor) {
                editor.boxing = Some((start, c));
            }
            if let Some((hall, row, from, origin)) = editor.dragging.clone() {
                if let Some(p) = floor {
                    let mut to = (snap(origin.0 + p.0 - from.0, !alt), snap(origin.1 + p.1 - from.1, !alt));
                    let at = resolve(&scene.site, &format!("{hall}/{row}"))
                        .ok()
                        .and_then(|t| if let Target::Row(h, r) = t { Some((h, r)) } else { None });
                    let current = at.map(|(h, r)| scene.site.halls[h].rows[r].origin);
                    if let (Some((h, r)), false) = (at, alt) {
                        // Lined up with the other rows; the row's own extent gives its size.
                        if let Some(own) = row_extent(&scene.site, h, r) {
                            let (w, d) = own.size();
                            let corner = (
                                own.min.0 - scene.site.halls[h].rows[r].origin.0,
                                own.min.1 - scene.site.halls[h].rows[r].origin.1,
                            );
                            let snapped = snap_to_rows(
                                &row_extents(&scene.site, h, Some(r)),
                                (to.0 + corner.0, to.1 + corner.1),
                                (w, d),
                            );
                            to = (round_cm(snapped.0 - corner.0), round_cm(snapped.1 - corner.1));
                        }
                    }
                    if current.is_some_and(|c| c != to) {
                        out.write(EditorCommand::Step(Step::Move { id: format!("{hall}/{row}"), to }));
                    }
                }
            }
            if buttons.just_released(MouseButton::Left) {
                hold.0 = false;
                if editor.dragging.take().is_some() {
                    out.write(EditorCommand::EndGroup);
                }
                if let Some((a, b)) = editor.boxing.take() {
                    let corner = |c: Vec2| {
                        let (camera, at) = cameras.iter().find(|(c, _)| c.is_active)?;
                        let ray = camera.viewport_to_world(at, c).ok()?;
                        let d = ray.intersect_plane(Vec3::ZERO, InfinitePlane3d::new(Vec3::Y))?;
                        let p = ray.get_point(d);
                        Some((p.x as f64, -p.z as f64))
                    };
                    if let (Some(pa), Some(pb)) = (corner(a), corner(b)) {
                        out.write(EditorCommand::PickInPlanBox(pa, pb));
                    }
                }
            }
        }
    }
}

#[derive(Component)]
struct GhostBox;

/// The window's title follows the file (a Save as renames the scene without reopening it).
fn window_title(scene: Res<OpenScene>, mut windows: Query<&mut Window, With<PrimaryWindow>>) {
    let title = format!("factory-twin — {}", scene.name);
    for mut w in &mut windows {
        if w.title != title {
            w.title = title.clone();
        }
    }
}

fn spawn_ghost(
    mut commands: Commands,
    meshes: Option<ResMut<Assets<Mesh>>>,
    materials: Option<ResMut<Assets<StandardMaterial>>>,
) {
    let (Some(mut meshes), Some(mut materials)) = (meshes, materials) else { return };
    commands.spawn((
        GhostBox,
        Mesh3d(meshes.add(Cuboid::new(1.0, 1.0, 1.0))),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: Color::srgba(0.2, 0.9, 0.3, 0.45),
            alpha_mode: AlphaMode::Blend,
            unlit: true,
            ..default()
        })),
        Transform::default(),
        Visibility::Hidden,
    ));
}

fn show_ghost(
    editor: Res<Editor>,
    mut ghosts: Query<(&mut Transform, &mut Visibility, &MeshMaterial3d<StandardMaterial>), With<GhostBox>>,
    materials: Option<ResMut<Assets<StandardMaterial>>>,
) {
    let Ok((mut transform, mut visibility, material)) = ghosts.single_mut() else { return };
    let Some(g) = editor.ghost.as_ref().filter(|_| editor.active && editor.tool != Tool::Select) else {
        visibility.set_if_neq(Visibility::Hidden);
        return;
    };
    let ((x0, y0), (x1, y1)) = g.plan;
    let h = 2.3;
    let centre = super::facility_view::plan_to_world((x0 + x1) / 2.0, (y0 + y1) / 2.0, h / 2.0);
    *transform = Transform::from_translation(centre).with_scale(Vec3::new((x1 - x0) as f32, h, (y1 - y0) as f32));
    visibility.set_if_neq(Visibility::Inherited);
    if let Some(mut materials) = materials {
        if let Some(mut m) = materials.get_mut(&material.0) {
            let c =
                if g.fits.is_ok() { Color::srgba(0.2, 0.9, 0.3, 0.45) } else { Color::srgba(0.95, 0.2, 0.15, 0.45) };
            if m.base_color != c {
                m.base_color = c;
            }
        }
    }
}

/// Everything the editor panel reads and writes.
#[derive(bevy::ecs::system::SystemParam)]
pub struct EditorParams<'w> {
    pub editor: ResMut<'w, Editor>,
    pub out: MessageWriter<'w, EditorCommand>,
    pub scene: Res<'w, OpenScene>,
    pub latest: Res<'w, LatestSnapshot>,
    pub network: Option<Res<'w, super::SiteNetwork>>,
}

/// The editor's section of the left panel.
pub fn editor_ui(
    ui: &mut egui::Ui,
    p: &mut EditorParams,
    tags: Option<&FacilityTags>,
    select: &mut MessageWriter<super::selection::Select>,
) {
    let e = &mut p.editor;
    let site = &p.scene.site;
    ui.horizontal(|ui| {
        ui.heading("Layout");
        let label = if e.active { "Done editing" } else { "Edit layout" };
        if ui.button(label).on_hover_text("place, move and remove racks; the simulation follows every edit").clicked() {
            e.active = !e.active;
            e.ghost = None;
            e.tool = Tool::Select;
        }
    });
    if !e.active {
        if e.dirty {
            ui.colored_label(egui::Color32::from_rgb(240, 160, 30), "unsaved changes");
        }
        return;
    }
    ui.horizontal(|ui| {
        if ui.add_enabled(e.history.can_undo(), egui::Button::new("Undo")).on_hover_text("Ctrl+Z").clicked() {
            p.out.write(EditorCommand::Undo);
        }
        if ui
            .add_enabled(e.history.can_redo(), egui::Button::new("Redo"))
            .on_hover_text("Ctrl+Shift+Z or Ctrl+Y")
            .clicked()
        {
            p.out.write(EditorCommand::Redo);
        }
        if ui.button("Save").on_hover_text("Ctrl+S").clicked() {
            p.out.write(EditorCommand::Save);
        }
        if ui.add_enabled(e.save_dialog.is_none(), egui::Button::new("Save as…")).clicked() {
            open_save_dialog(e);
        }
    });
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(&mut e.save_as).hint_text("new-scene.ron").desired_width(140.0));
        if ui.button("Save as").clicked() && !e.save_as.trim().is_empty() {
            p.out.write(EditorCommand::SaveAs(PathBuf::from(e.save_as.trim())));
        }
    });
    ui.small(match (&e.path, e.dirty) {
        (Some(path), true) => format!("{} — unsaved changes", path.display()),
        (Some(path), false) => format!("{} — saved", path.display()),
        (None, _) => "not saved to a file yet".into(),
    });
    ui.separator();
    let tool_before = e.tool;
    ui.horizontal(|ui| {
        ui.selectable_value(&mut e.tool, Tool::Select, "Select")
            .on_hover_text("click, Ctrl-click, Shift-drag a box; drag a picked rack to move its row");
        ui.selectable_value(&mut e.tool, Tool::PlaceRow, "Place row")
            .on_hover_text("click the floor; R turns it, Alt places off the 0.6 m grid");
        ui.selectable_value(&mut e.tool, Tool::PlaceCdu, "CDU").on_hover_text("place a CDU like the hall's first");
        ui.selectable_value(&mut e.tool, Tool::PlaceCrah, "CRAH").on_hover_text("place a CRAH like the hall's first");
    });
    ui.horizontal(|ui| {
        ui.selectable_value(&mut e.tool, Tool::PlaceDryCooler, "Dry cooler")
            .on_hover_text("click the ground outside: a dry cooler like the site's first, on the first facility loop");
        ui.selectable_value(&mut e.tool, Tool::PlaceChiller, "Chiller")
            .on_hover_text("click the ground outside: a chiller like the site's first (else a 1,055 kW York YT)");
        if !e.clipboard.is_empty() {
            let n: usize = e.clipboard.iter().map(|r| r.racks.len()).sum();
            ui.selectable_value(&mut e.tool, Tool::Paste, format!("Paste ({n})"))
                .on_hover_text("Ctrl+V: click the floor of any hall where the copied rows go");
        }
        if ui
            .button("+ PDU")
            .on_hover_text("a PDU like the site's first, on the same UPS; assign racks to it below")
            .clicked()
        {
            match new_pdu(site) {
                Ok(step) => {
                    p.out.write(EditorCommand::Step(step));
                }
                Err(why) => e.status = Some((why, true)),
            }
        }
    });
    if e.tool != tool_before {
        e.ghost = None;
        e.status = None;
    }
    // The palette: every rack type of the catalogue and the scene, with its power.
    let types = site.rack_catalogue();
    let chosen = types.iter().find(|t| t.id == e.rack_type);
    egui::ComboBox::from_id_salt("palette-type")
        .selected_text(chosen.map_or(e.rack_type.clone(), |t| format!("{} ({:.0} kW)", t.name, t.max_kw)))
        .width(ui.available_width().min(220.0))
        .show_ui(ui, |ui| {
            for t in &types {
                if ui
                    .selectable_value(&mut e.rack_type, t.id.clone(), format!("{} — {:.0} kW", t.name, t.max_kw))
                    .changed()
                {
                    e.tool = Tool::PlaceRow;
                    e.ghost = None;
                }
            }
        });
    ui.horizontal(|ui| {
        ui.label("row of");
        if ui.add(egui::DragValue::new(&mut e.row_racks).range(1..=40)).changed() {
            e.ghost = None;
        }
        ui.label("racks, facing");
        for (f, label) in [(Facing::North, "N"), (Facing::East, "E"), (Facing::South, "S"), (Facing::West, "W")] {
            let hint = format!("fronts look {f:?} (R turns)");
            if ui.selectable_label(e.facing == f, label).on_hover_text(hint).clicked() && e.facing != f {
                e.facing = f;
                e.ghost = None;
            }
        }
    });
    if let Some(g) = &e.ghost {
        match &g.fits {
            Ok(()) => ui.colored_label(
                egui::Color32::from_rgb(120, 210, 120),
                format!("fits at ({:.1}, {:.1})", g.origin.0, g.origin.1),
            ),
            Err(why) => ui.colored_label(egui::Color32::from_rgb(230, 90, 70), format!("does not fit: {why}")),
        };
    }
    let (done, undone) = e.history.labels();
    if !done.is_empty() || !undone.is_empty() {
        egui::CollapsingHeader::new(format!("History ({})", plural(done.len(), "step", "steps")))
            .id_salt("edit-history")
            .show(ui, |ui| {
                for label in undone.iter().rev() {
                    ui.small(egui::RichText::new(format!("(undone) {label}")).weak());
                }
                for label in done.iter().rev().take(12) {
                    ui.small(*label);
                }
            });
    }
    if let Some((text, problem)) = &e.status {
        let c = if *problem { egui::Color32::from_rgb(230, 90, 70) } else { egui::Color32::from_rgb(150, 200, 150) };
        ui.colored_label(c, text);
    }
    ui.separator();
    // The picked racks: what they are, and their type, CDU and PDU as edits.
    if let Some(tags) = tags {
        properties_ui(ui, e, &mut p.out, site, tags);
    }
    ui.separator();
    hall_ui(ui, e, &mut p.out, site, tags);
    ui.separator();
    capacity_ui(ui, p.latest.snapshot.as_ref(), p.network.as_deref());
    if !p.editor.problems.is_empty() {
        ui.separator();
        ui.label(format!("Problems ({})", p.editor.problems.len()));
        for d in p.editor.problems.iter().take(20) {
            let text = format!("⚠ {}: {}", d.object.as_deref().unwrap_or("site"), d.message);
            let r = ui.add(
                egui::Label::new(egui::RichText::new(text).small().color(egui::Color32::from_rgb(240, 160, 30)))
                    .sense(egui::Sense::click()),
            );
            if r.clicked() {
                let tag = d.object.as_deref().and_then(|o| tags.and_then(|t| t.tag_of(o)));
                if tag.is_some() {
                    select.write(super::selection::Select { tag, focus: true });
                }
            }
        }
    }
}

/// The hall of the picked racks (or the first): its size and containment, and a new hall.
fn hall_ui(
    ui: &mut egui::Ui,
    e: &Editor,
    out: &mut MessageWriter<EditorCommand>,
    site: &Site,
    tags: Option<&FacilityTags>,
) {
    let picked_hall = tags.and_then(|t| e.picked.first().and_then(|&p| rack_ids(t, p))).map(|(h, _, _)| h);
    let Some(hall) = picked_hall.and_then(|id| site.halls.iter().find(|h| h.id == id)).or(site.halls.first()) else {
        return;
    };
    let id = hall.id.clone();
    ui.horizontal(|ui| {
        ui.label(format!("Hall {id}"));
        let mut size = hall.size;
        let a = ui.add(egui::DragValue::new(&mut size.0).speed(TILE_M).range(1.2..=500.0).suffix(" m"));
        ui.label("×");
        let b = ui.add(egui::DragValue::new(&mut size.1).speed(TILE_M).range(1.2..=500.0).suffix(" m"));
        if (a.drag_stopped() || a.lost_focus() || b.drag_stopped() || b.lost_focus()) && size != hall.size {
            out.write(EditorCommand::Step(Step::ResizeHall {
                id: id.clone(),
                size: (round_cm(size.0), round_cm(size.1)),
            }));
        }
    });
    ui.horizontal(|ui| {
        use crate::model::Containment;
        egui::ComboBox::from_id_salt("hall-containment")
            .selected_text(format!("containment: {:?}", hall.containment))
            .show_ui(ui, |ui| {
                for c in [Containment::None, Containment::HotAisle, Containment::ColdAisle] {
                    if ui.selectable_label(hall.containment == c, format!("{c:?}")).clicked() && hall.containment != c {
                        out.write(EditorCommand::Step(Step::SetContainment { id: id.clone(), containment: c }));
                    }
                }
            });
        if ui.button("Add hall").on_hover_text("an empty hall east of the last one, with its CDUs and CRAHs").clicked()
        {
            if let Some(last) = site.halls.last() {
                let mut new = last.clone();
                new.id = next_id(&last.id, |x| site.halls.iter().any(|h| h.id == x));
                new.origin = (round_cm(last.origin.0 + last.size.0 + 6.0), last.origin.1);
                new.rows.clear();
                out.write(EditorCommand::Step(Step::AddHall { hall: new }));
            }
        }
    });
}

fn properties_ui(
    ui: &mut egui::Ui,
    e: &mut Editor,
    out: &mut MessageWriter<EditorCommand>,
    site: &Site,
    tags: &FacilityTags,
) {
    if e.picked.is_empty() {
        if let Some(unit) = e.unit.clone() {
            ui.horizontal(|ui| {
                ui.label(&unit);
                if ui.button("Remove").on_hover_text("Delete").clicked() {
                    out.write(EditorCommand::DeletePicked);
                }
            });
        }
        ui.small("pick racks to change them: Delete removes, arrows nudge a tile, R turns, Ctrl+D duplicates the row");
        return;
    }
    let rows = picked_rows(site, tags, &e.picked);
    ui.label(format!("{} picked in {}", plural(e.picked.len(), "rack", "racks"), plural(rows.len(), "row", "rows")));
    let Some((hall, row, _)) = rows.first() else { return };
    let Ok(Target::Row(h, r)) = resolve(site, &format!("{hall}/{row}")) else { return };
    let the_row = &site.halls[h].rows[r];
    let one_rack = (e.picked.len() == 1).then(|| rack_ids(tags, e.picked[0])).flatten();
    let target = one_rack.as_ref().map_or(format!("{hall}/{row}"), |(_, _, id)| id.clone());
    ui.small(format!(
        "{target} — row origin ({:.2}, {:.2}) m, facing {:?}",
        the_row.origin.0, the_row.origin.1, the_row.facing
    ));
    let mut origin = the_row.origin;
    ui.horizontal(|ui| {
        ui.label("row at x");
        let a = ui.add(egui::DragValue::new(&mut origin.0).speed(TILE_M).suffix(" m"));
        ui.label("y");
        let b = ui.add(egui::DragValue::new(&mut origin.1).speed(TILE_M).suffix(" m"));
        if (a.drag_stopped() || a.lost_focus() || b.drag_stopped() || b.lost_focus()) && origin != the_row.origin {
            out.write(EditorCommand::Step(Step::Move {
                id: format!("{hall}/{row}"),
                to: (round_cm(origin.0), round_cm(origin.1)),
            }));
        }
    });
    let types = site.rack_catalogue();
    let current = one_rack
        .as_ref()
        .and_then(|(_, _, id)| tags.tag_of(id))
        .and_then(|t| tags.rack_types.get(t as usize).cloned())
        .or_else(|| the_row.rack_type.clone())
        .unwrap_or_default();
    egui::ComboBox::from_id_salt("prop-type").selected_text(format!("type {current}")).show_ui(ui, |ui| {
        for t in &types {
            let label = format!("{} — {:.0} kW", t.id, t.max_kw);
            if ui.selectable_label(t.id == current, label).clicked() && t.id != current {
                out.write(EditorCommand::Step(Step::SetRackType { id: target.clone(), rack_type: t.id.clone() }));
            }
        }
    });
    let cdus: Vec<String> = site.halls[h].cdus.iter().map(|c| format!("{}/{}", site.halls[h].id, c.id)).collect();
    let pdus: Vec<String> = site.power.pdus.iter().map(|p| p.id.clone()).collect();
    let rack = one_rack.as_ref().and_then(|(_, _, id)| {
        let k = id.rsplit('/').next()?;
        the_row.racks.iter().find(|x| x.id == k)
    });
    let air = types.iter().find(|t| t.id == current).is_some_and(|t| !t.is_liquid());
    let cdu_now = if air {
        "none (air-cooled)".to_string()
    } else {
        rack.and_then(|k| k.cdu.clone()).or_else(|| the_row.cdu.clone()).unwrap_or_else(|| "none".into())
    };
    let pdu_now = rack.and_then(|k| k.pdu.clone()).or_else(|| the_row.pdu.clone()).unwrap_or_else(|| "none".into());
    egui::ComboBox::from_id_salt("prop-cdu").selected_text(format!("CDU {cdu_now}")).show_ui(ui, |ui| {
        for c in &cdus {
            if ui.selectable_label(*c == cdu_now, c).clicked() && *c != cdu_now {
                out.write(EditorCommand::Step(Step::Assign { id: target.clone(), cdu: Some(c.clone()), pdu: None }));
            }
        }
    });
    egui::ComboBox::from_id_salt("prop-pdu").selected_text(format!("PDU {pdu_now}")).show_ui(ui, |ui| {
        for c in &pdus {
            if ui.selectable_label(*c == pdu_now, c).clicked() && *c != pdu_now {
                out.write(EditorCommand::Step(Step::Assign { id: target.clone(), cdu: None, pdu: Some(c.clone()) }));
            }
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Turn 90°").clicked() {
            out.write(EditorCommand::RotatePicked);
        }
        if ui.button("Duplicate row").clicked() {
            out.write(EditorCommand::DuplicatePicked);
        }
        if ui.button("Copy").on_hover_text("Ctrl+C; Ctrl+V then pastes into any hall").clicked() {
            out.write(EditorCommand::CopyPicked);
        }
        if ui.button("Delete").clicked() {
            out.write(EditorCommand::DeletePicked);
        }
    });
}

/// Load against rating of every CDU, PDU, UPS and feed, from the running simulation.
fn capacity_ui(ui: &mut egui::Ui, snap: Option<&crate::sim::Snapshot>, net: Option<&super::SiteNetwork>) {
    let (Some(s), Some(net)) = (snap, net) else { return };
    let ids = &net.0.ids;
    ui.label("Capacity (load / rating, live)");
    let bar = |ui: &mut egui::Ui, id: &str, used: f32, extra: String| {
        let colour = if used > 1.0 {
            egui::Color32::from_rgb(220, 60, 50)
        } else if used > 0.9 {
            egui::Color32::from_rgb(240, 160, 30)
        } else {
            egui::Color32::from_rgb(90, 170, 110)
        };
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(70.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, ui.visuals().widgets.inactive.bg_fill);
            let mut fill = rect;
            fill.set_width(rect.width() * used.clamp(0.0, 1.0));
            ui.painter().rect_filled(fill, 2.0, colour);
            ui.small(format!("{id} {:.0} %{extra}", used * 100.0));
        });
    };
    // Zipped, not indexed: for a frame after an edit the network is new and the snapshot is not.
    for ((c, node), id) in s.cdus.iter().zip(&net.0.cdus).zip(&ids.cdus) {
        let spare = node.pumps.saturating_sub(node.duty);
        let n1 = if c.pumps_running as u32 >= node.duty && spare >= 1 { ", N+1" } else { "" };
        bar(ui, id, 1.0 - c.headroom, format!(" ({}+{spare} pumps{n1})", node.duty));
    }
    for (list, names) in [(&s.pdus, &ids.pdus), (&s.ups, &ids.ups), (&s.feeds, &ids.feeds)] {
        for (p, id) in list.iter().zip(names) {
            bar(ui, id, 1.0 - p.headroom, String::new());
        }
    }
}

/// Markers at the objects the validator warns about, and the Shift-drag box, over the scene.
pub fn overlay(
    ctx: &egui::Context,
    editor: &Editor,
    tags: Option<&FacilityTags>,
    camera: Option<(&Camera, &GlobalTransform)>,
) {
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::new("editor-overlay")));
    if let Some((a, b)) = editor.boxing {
        let rect = egui::Rect::from_two_pos(egui::pos2(a.x, a.y), egui::pos2(b.x, b.y));
        painter.rect_stroke(
            rect,
            0.0,
            egui::Stroke::new(1.5, egui::Color32::from_rgb(230, 80, 230)),
            egui::StrokeKind::Middle,
        );
    }
    let (Some(tags), Some((camera, at))) = (tags, camera) else { return };
    if !editor.active {
        return;
    }
    for d in &editor.problems {
        let Some(tag) = d.object.as_deref().and_then(|o| tags.tag_of(o)) else { continue };
        let Some((lo, hi)) = tags.boxes.get(tag as usize) else { continue };
        let top = Vec3::new((lo.x + hi.x) / 2.0, hi.y + 0.3, (lo.z + hi.z) / 2.0);
        if let Ok(p) = camera.world_to_viewport(at, top) {
            let c = egui::pos2(p.x, p.y);
            painter.circle_filled(c, 9.0, egui::Color32::from_rgb(240, 160, 30));
            painter.text(c, egui::Align2::CENTER_CENTER, "!", egui::FontId::proportional(13.0), egui::Color32::BLACK);
        }
    }
    for &t in &editor.picked {
        let Some((lo, hi)) = tags.boxes.get(t as usize) else { continue };
        let top = Vec3::new((lo.x + hi.x) / 2.0, hi.y, (lo.z + hi.z) / 2.0);
        if let Ok(p) = camera.world_to_viewport(at, top) {
            painter.circle_stroke(
                egui::pos2(p.x, p.y),
                5.0,
                egui::Stroke::new(2.0, egui::Color32::from_rgb(230, 80, 230)),
            );
        }
    }
}

/// The editor's overlay (problem markers, the picked racks, the box being dragged) and its
/// questions, drawn after the panels (`panels` schedules it) (a recovery file to restore; unsaved changes before another file opens or the
/// window closes).
#[allow(clippy::too_many_arguments)]
pub fn overlay_and_dialogs(
    mut contexts: bevy_egui::EguiContexts,
    mut commands: Commands,
    mut editor: ResMut<Editor>,
    scene: Res<OpenScene>,
    tags: Option<Res<FacilityTags>>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    recovery: Option<Res<RecoveryFile>>,
    mut exit: MessageWriter<AppExit>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let camera = cameras.iter().find(|(c, _)| c.is_active);
    overlay(ctx, &editor, tags.as_deref(), camera);
    if let Some(path) = editor.recovery_offer.clone() {
        egui::Window::new("Unsaved layout found").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label(format!("The last session left unsaved edits in {}.", path.display()));
            ui.horizontal(|ui| {
                if ui.button("Restore").clicked() {
                    match crate::scene::load_file(&path) {
                        Ok(l) => {
                            commands.insert_resource(super::OpenedFile(crate::open::Opened::Scene {
                                name: format!("{} (recovered)", path.display()),
                                site: l.site,
                            }));
                        }
                        Err(e) => {
                            editor.status =
                                Some((format!("cannot restore: {:?}", e.0.first().map(|d| d.message.clone())), true))
                        }
                    }
                    editor.recovery_offer = None;
                }
                if ui.button("Discard").clicked() {
                    let _ = std::fs::remove_file(&path);
                    editor.recovery_offer = None;
                }
            });
        });
    }
    if editor.pending.is_some() {
        let what = match &editor.pending {
            Some(Pending::Open(f)) => format!("open {}", f.0.name()),
            _ => "close the window".to_string(),
        };
        let mut answer = None;
        egui::Window::new("Unsaved changes").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label(format!("The layout has edits that are not saved. Save them before you {what}?"));
            ui.horizontal(|ui| {
                if ui.add_enabled(editor.path.is_some(), egui::Button::new("Save")).clicked() {
                    answer = Some(true);
                }
                if ui.button("Discard changes").clicked() {
                    answer = Some(false);
                }
                if ui.button("Cancel").clicked() {
                    editor.pending = None;
                }
            });
            if editor.path.is_none() {
                ui.small("no file yet: Cancel, then Save as");
            }
        });
        if let Some(save_first) = answer {
            if save_first {
                if let Err(e) = save(&mut editor, &scene.site, None, recovery.as_deref()) {
                    editor.status = Some((e, true));
                    editor.pending = None;
                    return Ok(());
                }
            }
            editor.dirty = false;
            if let Some(r) = &recovery {
                let _ = std::fs::remove_file(&r.0);
            }
            match editor.pending.take() {
                Some(Pending::Open(f)) => commands.insert_resource(f),
                Some(Pending::Close) => {
                    exit.write(AppExit::Success);
                }
                None => {}
            }
        }
    }
    Ok(())
}
