//! Edits to a site, for the layout editor: each names its objects by their scene ids (hall, row,
//! rack), so it still means the same rack after other racks were added, removed or reordered.
//! Applying an edit returns its inverse, the edit that undoes it exactly; undo and redo are just
//! more edits, checked like any other.

use std::collections::VecDeque;
use std::fmt;

use crate::diagnostic::Diagnostic;
use crate::model::{Hall, Plant, Power, Rack, Row, Site};

pub mod script;

/// One change to a site's layout. Indices are positions within a row, counted in the row as it
/// is when the edit is applied; everything else is an id.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Puts `rack` into the row at `index` (0: first; the row's length: last).
    AddRack {
        hall: String,
        row: String,
        rack: Rack,
        index: usize,
    },
    RemoveRack {
        hall: String,
        row: String,
        rack_id: String,
    },
    /// Takes the rack out of its row and puts it into `to_row` at `index`, counted without the
    /// rack itself: `index` is where the rack ends up. It keeps its fields, `at` included.
    MoveRack {
        hall: String,
        row: String,
        rack_id: String,
        to_hall: String,
        to_row: String,
        index: usize,
    },
    /// Sets the rack's offset along its row in metres; `None`: side by side after the previous one.
    SetRackAt {
        hall: String,
        row: String,
        rack_id: String,
        at: Option<f64>,
    },
    /// Puts a whole row into the hall at `index` (0: first; the hall's row count: last).
    InsertRow {
        hall: String,
        index: usize,
        row: Box<Row>,
    },
    RemoveRow {
        hall: String,
        row: String,
    },
    /// Replaces row `row` with `with` (whose id may differ: a rename). Every change to a row's
    /// own fields or its racks' fields is one: move, rotate, rack type, CDU and PDU.
    SetRow {
        hall: String,
        row: String,
        with: Box<Row>,
    },
    /// Replaces hall `hall` with `with`: size, containment, its CDUs and CRAHs.
    SetHall {
        hall: String,
        with: Box<Hall>,
    },
    InsertHall {
        index: usize,
        hall: Box<Hall>,
    },
    RemoveHall {
        hall: String,
    },
    /// Replaces the electrical side (feeds, UPSs, PDUs) with `with`.
    SetPower {
        with: Box<Power>,
    },
    /// Replaces the plant outside the halls (facility loops, dry coolers, chillers) with `with`.
    SetPlant {
        with: Box<Plant>,
    },
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::AddRack { hall, row, rack, index } => {
                write!(f, "add rack {hall}/{row}/{} at index {index}", rack.id)
            }
            Edit::RemoveRack { hall, row, rack_id } => write!(f, "remove rack {hall}/{row}/{rack_id}"),
            Edit::MoveRack { hall, row, rack_id, to_hall, to_row, index } => {
                write!(f, "move rack {hall}/{row}/{rack_id} to {to_hall}/{to_row} at index {index}")
            }
            Edit::SetRackAt { hall, row, rack_id, at: Some(at) } => {
                write!(f, "set rack {hall}/{row}/{rack_id} at {at} m along its row")
            }
            Edit::SetRackAt { hall, row, rack_id, at: None } => {
                write!(f, "set rack {hall}/{row}/{rack_id} side by side with the one before")
            }
            Edit::InsertRow { hall, index, row } => {
                write!(f, "add row {hall}/{} of {} at index {index}", row.id, count_racks(row.racks.len()))
            }
            Edit::RemoveRow { hall, row } => write!(f, "remove row {hall}/{row}"),
            Edit::SetRow { hall, row, with } if with.id == *row => write!(f, "change row {hall}/{row}"),
            Edit::SetRow { hall, row, with } => write!(f, "change row {hall}/{row} (renamed {})", with.id),
            Edit::SetHall { hall, .. } => write!(f, "change hall {hall}"),
            Edit::InsertHall { index, hall } => write!(f, "add hall {} at index {index}", hall.id),
            Edit::RemoveHall { hall } => write!(f, "remove hall {hall}"),
            Edit::SetPower { with } => write!(f, "change the power ({} PDUs)", with.pdus.len()),
            Edit::SetPlant { with } => {
                write!(f, "change the plant ({} dry coolers, {} chillers)", with.dry_coolers.len(), with.chillers.len())
            }
        }
    }
}

/// Why an edit was refused. The site is then exactly as it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("no hall {0}")]
    NoHall(String),
    #[error("no row {0}")]
    NoRow(String),
    #[error("no rack {0}")]
    NoRack(String),
    #[error("a rack {0} already exists")]
    RackExists(String),
    #[error("index {index} is past the end of row {row} ({})", count_racks(*.racks))]
    PastEnd { row: String, index: usize, racks: usize },
    #[error("a row {0} already exists")]
    RowExists(String),
    #[error("a hall {0} already exists")]
    HallExists(String),
    #[error("index {index} is past the end of {within} ({count})")]
    PastEndOf { within: String, index: usize, count: usize },
    /// An id in an edit script that names nothing (or not the kind the edit needs).
    #[error("{0}")]
    NoObject(String),
    /// The edit fits, but the scene validator finds errors in the result (the same check the sim
    /// thread makes before it takes a site).
    #[error("the edit would leave the scene with errors:\n{}", lines(.0))]
    Invalid(Vec<Diagnostic>),
}

fn count_racks(n: usize) -> String {
    if n == 1 { "1 rack".into() } else { format!("{n} racks") }
}

fn lines(errors: &[Diagnostic]) -> String {
    errors.iter().map(|d| d.display("edit").to_string()).collect::<Vec<_>>().join("\n")
}

/// Applies `edit` and returns its inverse. All or nothing: on an error the site is unchanged,
/// including when the result would not validate.
pub fn apply(site: &mut Site, edit: &Edit) -> Result<Edit, EditError> {
    let mut changes = Changes::default();
    apply_noting(site, edit, &mut changes)
}

/// What edits did to a site since `EditHistory::take_changes`, for whoever keeps another copy
/// of the site (the sim thread takes `edits`) or draws it (`moved` rows only need moving).
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// The edits applied, in order: applied to a copy of the site as it was, they give the
    /// site as it is.
    pub edits: Vec<Edit>,
    /// True while every edit only moved or turned rows or racks within their halls.
    pub layout_only: bool,
    /// The rows (hall index, row index) those moves touched.
    pub moved: Vec<(usize, usize)>,
    /// The warnings of the whole-site validation of the last edit that needed one.
    pub warnings: Option<Vec<Diagnostic>>,
}

impl Default for Changes {
    fn default() -> Self {
        Changes { edits: Vec::new(), layout_only: true, moved: Vec::new(), warnings: None }
    }
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }
}

/// `apply`, noting what changed in `changes`.
fn apply_noting(site: &mut Site, edit: &Edit, changes: &mut Changes) -> Result<Edit, EditError> {
    let (inverse, saved) = change(site, edit)?;
    // What `Simulation::check_edit` refuses, so the sim thread takes every site this returns.
    // A move or turn of rows in a valid site can only break its hall's layout: only that is
    // checked (a 10,000-rack site validates in ~2.6 ms, one of its halls' layouts in ~0.07 ms).
    let moved = saved.layout_only(site);
    let diagnostics = match &moved {
        Some(rows) => {
            let mut halls: Vec<usize> = rows.iter().map(|&(h, _)| h).collect();
            halls.dedup();
            halls.into_iter().flat_map(|h| crate::scene::validate_hall_layout(site, h)).collect()
        }
        None => crate::scene::validate(site),
    };
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diagnostics.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        // Put back what was there rather than trust the inverse on a refused site.
        saved.restore(site);
        return Err(EditError::Invalid(errors));
    }
    changes.edits.push(edit.clone());
    match moved {
        Some(rows) => {
            for r in rows {
                if !changes.moved.contains(&r) {
                    changes.moved.push(r);
                }
            }
        }
        None => {
            changes.layout_only = false;
            changes.warnings = Some(warnings);
        }
    }
    Ok(inverse)
}

/// What an edit touched, as it was: rows (hall index, row index, row), all the halls, the
/// power or the plant.
enum Saved {
    Rows(Vec<(usize, usize, Row)>),
    Halls(Vec<Hall>),
    Power(Power),
    Plant(Plant),
}

impl Saved {
    /// The rows (hall, row) that changed only where they stand (origin, facing, rack
    /// offsets), or `None` if anything else changed.
    fn layout_only(&self, site: &Site) -> Option<Vec<(usize, usize)>> {
        let Saved::Rows(rows) = self else { return None };
        let mut moved = Vec::new();
        for (h, r, old) in rows {
            let new = site.halls.get(*h)?.rows.get(*r)?;
            let same_racks = old.racks.len() == new.racks.len()
                && old.racks.iter().zip(&new.racks).all(|(a, b)| Rack { at: b.at, ..a.clone() } == *b);
            let same_row =
                old.id == new.id && old.rack_type == new.rack_type && old.cdu == new.cdu && old.pdu == new.pdu;
            if !(same_racks && same_row) {
                return None;
            }
            moved.push((*h, *r));
        }
        moved.sort_unstable();
        Some(moved)
    }

    fn restore(self, site: &mut Site) {
        match self {
            Saved::Rows(rows) => {
                for (h, r, row) in rows {
                    site.halls[h].rows[r] = row;
                }
            }
            Saved::Halls(halls) => site.halls = halls,
            Saved::Power(power) => site.power = power,
            Saved::Plant(plant) => site.plant = plant,
        }
    }
}

/// Checks everything the edit needs before changing anything, then changes the site.
fn change(site: &mut Site, edit: &Edit) -> Result<(Edit, Saved), EditError> {
    match edit {
        Edit::AddRack { hall, row, rack, index } => {
            let (h, r) = find_row(site, hall, row)?;
            let racks = &site.halls[h].rows[r].racks;
            if racks.iter().any(|k| k.id == rack.id) {
                return Err(EditError::RackExists(format!("{hall}/{row}/{}", rack.id)));
            }
            if *index > racks.len() {
                return Err(past_end(hall, row, *index, racks.len()));
            }
            let saved = save(site, &[(h, r)]);
            site.halls[h].rows[r].racks.insert(*index, rack.clone());
            let inverse = Edit::RemoveRack { hall: hall.clone(), row: row.clone(), rack_id: rack.id.clone() };
            Ok((inverse, saved))
        }
        Edit::RemoveRack { hall, row, rack_id } => {
            let (h, r, k) = find_rack(site, hall, row, rack_id)?;
            let saved = save(site, &[(h, r)]);
            let rack = site.halls[h].rows[r].racks.remove(k);
            Ok((Edit::AddRack { hall: hall.clone(), row: row.clone(), rack, index: k }, saved))
        }
        Edit::MoveRack { hall, row, rack_id, to_hall, to_row, index } => {
            let (h, r, k) = find_rack(site, hall, row, rack_id)?;
            let (h2, r2) = find_row(site, to_hall, to_row)?;
            let same_row = (h, r) == (h2, r2);
            let dest = &site.halls[h2].rows[r2].racks;
            if !same_row && dest.iter().any(|x| x.id == *rack_id) {
                return Err(EditError::RackExists(format!("{to_hall}/{to_row}/{rack_id}")));
            }
            let room = if same_row { dest.len() - 1 } else { dest.len() };
            if *index > room {
                return Err(past_end(to_hall, to_row, *index, dest.len()));
            }
            let saved = if same_row { save(site, &[(h, r)]) } else { save(site, &[(h, r), (h2, r2)]) };
            let rack = site.halls[h].rows[r].racks.remove(k);
            site.halls[h2].rows[r2].racks.insert(*index, rack);
            let inverse = Edit::MoveRack {
                hall: to_hall.clone(),
                row: to_row.clone(),
                rack_id: rack_id.clone(),
                to_hall: hall.clone(),
                to_row: row.clone(),
                index: k,
            };
            Ok((inverse, saved))
        }
        Edit::SetRackAt { hall, row, rack_id, at } => {
            let (h, r, k) = find_rack(site, hall, row, rack_id)?;
            let saved = save(site, &[(h, r)]);
            let old = std::mem::replace(&mut site.halls[h].rows[r].racks[k].at, *at);
            Ok((Edit::SetRackAt { hall: hall.clone(), row: row.clone(), rack_id: rack_id.clone(), at: old }, saved))
        }
        Edit::InsertRow { hall, index, row } => {
            let h = find_hall(site, hall)?;
            let rows = &site.halls[h].rows;
            if rows.iter().any(|r| r.id == row.id) {
                return Err(EditError::RowExists(format!("{hall}/{}", row.id)));
            }
            if *index > rows.len() {
                return Err(EditError::PastEndOf { within: format!("hall {hall}"), index: *index, count: rows.len() });
            }
            let saved = Saved::Halls(site.halls.clone());
            site.halls[h].rows.insert(*index, (**row).clone());
            Ok((Edit::RemoveRow { hall: hall.clone(), row: row.id.clone() }, saved))
        }
        Edit::RemoveRow { hall, row } => {
            let (h, r) = find_row(site, hall, row)?;
            let saved = Saved::Halls(site.halls.clone());
            let removed = site.halls[h].rows.remove(r);
            Ok((Edit::InsertRow { hall: hall.clone(), index: r, row: Box::new(removed) }, saved))
        }
        Edit::SetRow { hall, row, with } => {
            let (h, r) = find_row(site, hall, row)?;
            if with.id != *row && site.halls[h].rows.iter().any(|x| x.id == with.id) {
                return Err(EditError::RowExists(format!("{hall}/{}", with.id)));
            }
            let saved = save(site, &[(h, r)]);
            let old = std::mem::replace(&mut site.halls[h].rows[r], (**with).clone());
            Ok((Edit::SetRow { hall: hall.clone(), row: with.id.clone(), with: Box::new(old) }, saved))
        }
        Edit::SetHall { hall, with } => {
            let h = find_hall(site, hall)?;
            if with.id != *hall && site.halls.iter().any(|x| x.id == with.id) {
                return Err(EditError::HallExists(with.id.clone()));
            }
            let saved = Saved::Halls(site.halls.clone());
            let old = std::mem::replace(&mut site.halls[h], (**with).clone());
            Ok((Edit::SetHall { hall: with.id.clone(), with: Box::new(old) }, saved))
        }
        Edit::InsertHall { index, hall } => {
            if site.halls.iter().any(|x| x.id == hall.id) {
                return Err(EditError::HallExists(hall.id.clone()));
            }
            if *index > site.halls.len() {
                return Err(EditError::PastEndOf { within: "the site".into(), index: *index, count: site.halls.len() });
            }
            let saved = Saved::Halls(site.halls.clone());
            site.halls.insert(*index, (**hall).clone());
            Ok((Edit::RemoveHall { hall: hall.id.clone() }, saved))
        }
        Edit::RemoveHall { hall } => {
            let h = find_hall(site, hall)?;
            let saved = Saved::Halls(site.halls.clone());
            let removed = site.halls.remove(h);
            Ok((Edit::InsertHall { index: h, hall: Box::new(removed) }, saved))
        }
        Edit::SetPower { with } => {
            let old = std::mem::replace(&mut site.power, (**with).clone());
            Ok((Edit::SetPower { with: Box::new(old.clone()) }, Saved::Power(old)))
        }
        Edit::SetPlant { with } => {
            let old = std::mem::replace(&mut site.plant, (**with).clone());
            Ok((Edit::SetPlant { with: Box::new(old.clone()) }, Saved::Plant(old)))
        }
    }
}

fn past_end(hall: &str, row: &str, index: usize, racks: usize) -> EditError {
    EditError::PastEnd { row: format!("{hall}/{row}"), index, racks }
}

fn save(site: &Site, rows: &[(usize, usize)]) -> Saved {
    Saved::Rows(rows.iter().map(|&(h, r)| (h, r, site.halls[h].rows[r].clone())).collect())
}

fn find_hall(site: &Site, hall: &str) -> Result<usize, EditError> {
    site.halls.iter().position(|x| x.id == hall).ok_or_else(|| EditError::NoHall(hall.to_string()))
}

fn find_row(site: &Site, hall: &str, row: &str) -> Result<(usize, usize), EditError> {
    let h = find_hall(site, hall)?;
    let r =
        site.halls[h].rows.iter().position(|x| x.id == row).ok_or_else(|| EditError::NoRow(format!("{hall}/{row}")))?;
    Ok((h, r))
}

fn find_rack(site: &Site, hall: &str, row: &str, rack: &str) -> Result<(usize, usize, usize), EditError> {
    let (h, r) = find_row(site, hall, row)?;
    let k = site.halls[h].rows[r]
        .racks
        .iter()
        .position(|x| x.id == rack)
        .ok_or_else(|| EditError::NoRack(format!("{hall}/{row}/{rack}")))?;
    Ok((h, r, k))
}

/// Undo steps kept by `EditHistory::default()`.
pub const DEFAULT_UNDO_STEPS: usize = 200;

/// Undo and redo over `apply`. A step is the inverses of one edit, or of a group of edits (a
/// drag), kept in the order the edits were made and applied last first.
#[derive(Debug, Clone)]
pub struct EditHistory {
    undo: VecDeque<Vec<Edit>>,
    redo: Vec<Vec<Edit>>,
    cap: usize,
    /// The open group's inverses so far.
    group: Option<Vec<Edit>>,
    /// `begin_group` calls not yet ended: the group closes at 0.
    depth: usize,
    /// What each step did, in words (the first edit of a group, and how many more), beside
    /// `undo` and `redo`.
    undo_labels: VecDeque<String>,
    redo_labels: Vec<String>,
    group_label: Option<(String, usize)>,
    changes: Changes,
}

impl Default for EditHistory {
    fn default() -> Self {
        EditHistory::new(DEFAULT_UNDO_STEPS)
    }
}

impl EditHistory {
    /// Keeps at most `cap` undo steps; the oldest go first.
    pub fn new(cap: usize) -> Self {
        EditHistory {
            undo: VecDeque::new(),
            redo: Vec::new(),
            cap,
            group: None,
            depth: 0,
            undo_labels: VecDeque::new(),
            redo_labels: Vec::new(),
            group_label: None,
            changes: Changes::default(),
        }
    }

    /// Applies the edit and records how to undo it. A refused edit records nothing.
    pub fn apply(&mut self, site: &mut Site, edit: &Edit) -> Result<(), EditError> {
        let inverse = apply_noting(site, edit, &mut self.changes)?;
        self.redo.clear();
        match &mut self.group {
            Some(group) => {
                push_merged(group, inverse);
                match &mut self.group_label {
                    Some((_, n)) => *n += 1,
                    None => self.group_label = Some((edit.to_string(), 1)),
                }
            }
            None => self.push(vec![inverse], edit.to_string()),
        }
        Ok(())
    }

    /// Edits from here to the matching `end_group` undo as one step. Groups may nest; only the
    /// outermost counts.
    pub fn begin_group(&mut self) {
        self.depth += 1;
        self.group.get_or_insert_with(Vec::new);
    }

    /// Closes a group; an extra call does nothing, so undo in the middle of a drag is safe.
    pub fn end_group(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.close_group();
        }
    }

    /// Undoes the last step: `None` if there is none. On an error (the site was changed outside
    /// this history) nothing is undone and the step stays.
    pub fn undo(&mut self, site: &mut Site) -> Option<Result<(), EditError>> {
        self.depth = 0;
        self.close_group();
        let step = self.undo.pop_back()?;
        let label = self.undo_labels.pop_back().unwrap_or_default();
        Some(match replay(site, &step, &mut self.changes) {
            Ok(back) => {
                self.redo.push(back);
                self.redo_labels.push(label);
                Ok(())
            }
            Err(e) => {
                self.undo.push_back(step);
                self.undo_labels.push_back(label);
                Err(e)
            }
        })
    }

    /// Redoes the last undone step: `None` if there is none, or if an edit came since.
    pub fn redo(&mut self, site: &mut Site) -> Option<Result<(), EditError>> {
        self.depth = 0;
        self.close_group();
        let step = self.redo.pop()?;
        let label = self.redo_labels.pop().unwrap_or_default();
        Some(match replay(site, &step, &mut self.changes) {
            Ok(back) => {
                self.push_undo(back, label);
                Ok(())
            }
            Err(e) => {
                self.redo.push(step);
                self.redo_labels.push(label);
                Err(e)
            }
        })
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty() || self.group.as_ref().is_some_and(|g| !g.is_empty())
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// What the edits, undos and redos since the last call did to the site.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    /// Forgets everything: for when the site is replaced (another file opened).
    pub fn clear(&mut self) {
        *self = EditHistory::new(self.cap);
    }

    /// What the steps did, in words: those undo would take back (oldest first) and those redo
    /// would make again (next first).
    pub fn labels(&self) -> (Vec<&str>, Vec<&str>) {
        (
            self.undo_labels.iter().map(String::as_str).collect(),
            self.redo_labels.iter().rev().map(String::as_str).collect(),
        )
    }

    fn close_group(&mut self) {
        let label = match self.group_label.take() {
            Some((first, 1)) => first,
            Some((first, n)) => format!("{first} (and {} more edits)", n - 1),
            None => String::new(),
        };
        if let Some(group) = self.group.take()
            && !group.is_empty()
        {
            self.push(group, label);
        }
    }

    /// A new step: redo no longer applies.
    fn push(&mut self, step: Vec<Edit>, label: String) {
        self.redo.clear();
        self.redo_labels.clear();
        self.push_undo(step, label);
    }

    fn push_undo(&mut self, step: Vec<Edit>, label: String) {
        self.undo.push_back(step);
        self.undo_labels.push_back(label);
        while self.undo.len() > self.cap {
            self.undo.pop_front();
            self.undo_labels.pop_front();
        }
    }
}

/// Applies a step's edits last first, all or nothing; returns the step that goes back.
fn replay(site: &mut Site, step: &[Edit], changes: &mut Changes) -> Result<Vec<Edit>, EditError> {
    // One edit is all-or-nothing already; several need the site as it was to go back to.
    let before = (step.len() > 1).then(|| (site.clone(), changes.clone()));
    let mut back = Vec::with_capacity(step.len());
    for edit in step.iter().rev() {
        match apply_noting(site, edit, changes) {
            Ok(inverse) => back.push(inverse),
            Err(e) => {
                if let Some((site_before, changes_before)) = before {
                    *site = site_before;
                    *changes = changes_before;
                }
                return Err(e);
            }
        }
    }
    Ok(back)
}

/// Adds an inverse to an open group, folding it into the previous one when both move or both
/// set the same rack, so a drag of hundreds of small moves keeps one inverse, not hundreds.
fn push_merged(group: &mut Vec<Edit>, inverse: Edit) {
    match (group.last_mut(), &inverse) {
        // The previous inverse takes the rack from where the last edit found it back to where
        // the group found it; the new one only leads to that first. One move does both.
        (
            Some(Edit::MoveRack { hall, row, rack_id, .. }),
            Edit::MoveRack { hall: from_hall, row: from_row, rack_id: id, to_hall, to_row, .. },
        ) if rack_id == id && hall == to_hall && row == to_row => {
            *hall = from_hall.clone();
            *row = from_row.clone();
        }
        // The previous inverse already restores the offset the group started from.
        (Some(Edit::SetRackAt { hall, row, rack_id, .. }), Edit::SetRackAt { hall: h, row: r, rack_id: id, .. })
            if hall == h && row == r && rack_id == id => {}
        // Dragging a row: the first inverse already puts the row back as the group found it.
        (Some(Edit::SetRow { hall, row, with }), Edit::SetRow { hall: h, row: r, with: w })
            if hall == h && row == r && with.id == w.id => {}
        _ => group.push(inverse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Facing;
    use crate::scene::{DEMO_SCENE, parse, to_ron};
    use proptest::prelude::*;
    use std::path::Path;
    use std::sync::LazyLock;

    fn demo() -> Site {
        parse(DEMO_SCENE).unwrap().site
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    /// The rack ids of a row, in order.
    fn ids(site: &Site, hall: &str, row: &str) -> Vec<String> {
        let (h, r) = find_row(site, hall, row).unwrap();
        site.halls[h].rows[r].racks.iter().map(|k| k.id.clone()).collect()
    }

    fn rack(id: &str, rack_type: Option<&str>) -> Rack {
        Rack { id: s(id), rack_type: rack_type.map(s), at: None, cdu: None, pdu: None, utilization: None }
    }

    /// A small air-cooled rack: fits the demo's PDU, which has no room for another GB300.
    fn switch(id: &str) -> Rack {
        rack(id, Some("network"))
    }

    fn add(row: &str, rack: Rack, index: usize) -> Edit {
        Edit::AddRack { hall: s("hall-1"), row: s(row), rack, index }
    }
    fn remove(row: &str, id: &str) -> Edit {
        Edit::RemoveRack { hall: s("hall-1"), row: s(row), rack_id: s(id) }
    }
    fn mv(row: &str, id: &str, to_row: &str, index: usize) -> Edit {
        Edit::MoveRack {
            hall: s("hall-1"),
            row: s(row),
            rack_id: s(id),
            to_hall: s("hall-1"),
            to_row: s(to_row),
            index,
        }
    }
    fn set_at(row: &str, id: &str, at: Option<f64>) -> Edit {
        Edit::SetRackAt { hall: s("hall-1"), row: s(row), rack_id: s(id), at }
    }

    /// Applies the edit, then its inverse: the site must be as it was, byte for byte.
    fn round_trip(site: &mut Site, edit: &Edit) -> Edit {
        let before = to_ron(site).unwrap();
        let inverse = apply(site, edit).unwrap_or_else(|e| panic!("{edit}: {e}"));
        assert_ne!(to_ron(site).unwrap(), before, "{edit} changed nothing");
        let again = apply(site, &inverse).unwrap_or_else(|e| panic!("{inverse}: {e}"));
        assert_eq!(to_ron(site).unwrap(), before, "{inverse} did not undo {edit}");
        assert_eq!(&again, edit, "the inverse of the inverse is the edit");
        inverse
    }

    /// Applies an edit that must be refused; the site must be untouched. Returns the message.
    fn refused(site: &mut Site, edit: &Edit) -> EditError {
        let before = site.clone();
        let e = apply(site, edit).expect_err(&format!("{edit} should be refused"));
        assert_eq!(*site, before, "{edit} was refused but changed the site");
        e
    }

    #[test]
    fn add_rack_inserts_at_the_index_and_its_inverse_removes_it() {
        let mut site = demo();
        let inverse = round_trip(&mut site, &add("row-A", switch("net-1"), 2));
        assert_eq!(inverse, remove("row-A", "net-1"));
        apply(&mut site, &add("row-A", switch("net-1"), 2)).unwrap();
        assert_eq!(ids(&site, "hall-1", "row-A"), ["rack-01", "rack-02", "net-1", "rack-03", "rack-04"]);
        apply(&mut site, &add("row-B", switch("net-2"), 4)).unwrap();
        assert_eq!(ids(&site, "hall-1", "row-B").last().unwrap(), "net-2");
    }

    #[test]
    fn remove_rack_and_its_inverse_put_it_back_where_it_was() {
        let mut site = demo();
        // rack-04 of row B has a field of its own: the inverse must carry the whole rack.
        let inverse = round_trip(&mut site, &remove("row-B", "rack-04"));
        let Edit::AddRack { rack, index, .. } = &inverse else { panic!("{inverse:?}") };
        assert_eq!((rack.utilization, *index), (Some(0.6), 3));
        round_trip(&mut site, &remove("row-A", "rack-01"));
        apply(&mut site, &remove("row-A", "rack-02")).unwrap();
        assert_eq!(ids(&site, "hall-1", "row-A"), ["rack-01", "rack-03", "rack-04"]);
    }

    #[test]
    fn move_rack_within_a_row_and_between_rows() {
        let mut site = demo();
        let inverse = round_trip(&mut site, &mv("row-A", "rack-01", "row-A", 3));
        assert_eq!(inverse, mv("row-A", "rack-01", "row-A", 0));
        apply(&mut site, &mv("row-A", "rack-01", "row-A", 3)).unwrap();
        assert_eq!(ids(&site, "hall-1", "row-A"), ["rack-02", "rack-03", "rack-04", "rack-01"]);

        apply(&mut site, &add("row-A", switch("net-1"), 1)).unwrap();
        let inverse = round_trip(&mut site, &mv("row-A", "net-1", "row-B", 0));
        assert_eq!(inverse, mv("row-B", "net-1", "row-A", 1));
        apply(&mut site, &mv("row-A", "net-1", "row-B", 0)).unwrap();
        assert_eq!(ids(&site, "hall-1", "row-B")[0], "net-1");
    }

    #[test]
    fn move_rack_between_halls() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/campus-1152.ron");
        let mut site = crate::scene::load_file(&path).unwrap().site;
        let (hall, row) = (site.halls[0].id.clone(), site.halls[0].rows[0].id.clone());
        let (to_hall, to_row) = (site.halls[1].id.clone(), site.halls[1].rows[0].id.clone());
        let rack_id = site.halls[0].rows[0].racks[0].id.clone();
        // Racks are numbered alike in every row: free the id at the far end first.
        apply(&mut site, &Edit::RemoveRack { hall: to_hall.clone(), row: to_row.clone(), rack_id: rack_id.clone() })
            .unwrap();
        let edit = Edit::MoveRack { hall, row, rack_id, to_hall, to_row, index: 0 };
        round_trip(&mut site, &edit);
    }

    #[test]
    fn set_rack_at_changes_the_offset_and_its_inverse_restores_it() {
        let mut site = demo();
        // rack-04 is the last in its row: 0.4 m further along it still stops short of the CDU.
        let inverse = round_trip(&mut site, &set_at("row-A", "rack-04", Some(2.2)));
        assert_eq!(inverse, set_at("row-A", "rack-04", None));
        apply(&mut site, &set_at("row-A", "rack-04", Some(2.2))).unwrap();
        round_trip(&mut site, &set_at("row-A", "rack-04", None));
    }

    #[test]
    fn missing_hall_row_or_rack_is_named() {
        let mut site = demo();
        let e = refused(&mut site, &remove("row-B", "rack-09"));
        assert_eq!(e, EditError::NoRack(s("hall-1/row-B/rack-09")));
        assert_eq!(e.to_string(), "no rack hall-1/row-B/rack-09");
        let e = refused(&mut site, &set_at("row-Z", "rack-01", None));
        assert_eq!(e.to_string(), "no row hall-1/row-Z");
        let e = refused(&mut site, &mv("row-A", "rack-09", "row-B", 0));
        assert_eq!(e.to_string(), "no rack hall-1/row-A/rack-09");
        let e = refused(&mut site, &mv("row-A", "rack-01", "row-Z", 0));
        assert_eq!(e.to_string(), "no row hall-1/row-Z");
        let e = refused(&mut site, &Edit::AddRack { hall: s("hall-9"), row: s("row-A"), rack: switch("x"), index: 0 });
        assert_eq!(e.to_string(), "no hall hall-9");
    }

    #[test]
    fn a_rack_id_that_is_taken_is_refused() {
        let mut site = demo();
        let e = refused(&mut site, &add("row-A", switch("rack-03"), 0));
        assert_eq!(e.to_string(), "a rack hall-1/row-A/rack-03 already exists");
        // Every row of the demo numbers its racks from rack-01.
        let e = refused(&mut site, &mv("row-A", "rack-03", "row-B", 0));
        assert_eq!(e.to_string(), "a rack hall-1/row-B/rack-03 already exists");
    }

    #[test]
    fn an_index_past_the_end_of_the_row_is_refused() {
        let mut site = demo();
        let e = refused(&mut site, &add("row-A", switch("net-1"), 12));
        assert_eq!(e.to_string(), "index 12 is past the end of row hall-1/row-A (4 racks)");
        // Within its own row a rack can go to index 3 of 4 at most: it leaves its place first.
        let e = refused(&mut site, &mv("row-A", "rack-01", "row-A", 4));
        assert_eq!(e.to_string(), "index 4 is past the end of row hall-1/row-A (4 racks)");
        apply(&mut site, &add("row-A", switch("net-1"), 0)).unwrap();
        let e = refused(&mut site, &mv("row-A", "net-1", "row-B", 5));
        assert_eq!(e.to_string(), "index 5 is past the end of row hall-1/row-B (4 racks)");
        for _ in 0..3 {
            let first = ids(&site, "hall-1", "row-B")[0].clone();
            apply(&mut site, &remove("row-B", &first)).unwrap();
        }
        let e = refused(&mut site, &mv("row-A", "net-1", "row-B", 2));
        assert_eq!(e.to_string(), "index 2 is past the end of row hall-1/row-B (1 rack)");
    }

    #[test]
    fn an_edit_the_validator_refuses_leaves_the_site_unchanged() {
        let mut site = demo();
        // A ninth GB300 overloads the 1,250 kW PDU.
        let e = refused(&mut site, &add("row-A", rack("rack-05", None), 4));
        let EditError::Invalid(errors) = &e else { panic!("{e:?}") };
        assert!(errors.iter().any(|d| d.object.as_deref() == Some("pdu-A") && d.message.contains("over capacity")));
        assert!(e.to_string().contains("over capacity"), "{e}");
        // Onto its neighbour, out of the hall, an unknown type, an unusable id.
        let e = refused(&mut site, &set_at("row-A", "rack-02", Some(0.3)));
        assert!(e.to_string().contains("overlaps hall-1/row-A/rack-0"), "{e}");
        let e = refused(&mut site, &set_at("row-B", "rack-04", Some(40.0)));
        assert!(e.to_string().contains("outside its hall"), "{e}");
        let e = refused(&mut site, &set_at("row-B", "rack-04", Some(f64::NAN)));
        assert!(e.to_string().contains("`at` is NaN"), "{e}");
        let e = refused(&mut site, &add("row-A", switch("net 1"), 0));
        assert!(e.to_string().contains("is not usable"), "{e}");
        let e = refused(&mut site, &add("row-A", rack("net-1", Some("netwrok")), 0));
        assert!(e.to_string().contains("did you mean \"network\""), "{e}");
        // A move that turns a liquid-cooled rack into one without a CDU: row C has none.
        let mut row_c = site.halls[0].rows[0].clone();
        (row_c.id, row_c.origin, row_c.cdu, row_c.racks) = (s("row-C"), (3.0, 7.2), None, vec![]);
        site.halls[0].rows.push(row_c);
        let e = refused(&mut site, &mv("row-A", "rack-01", "row-C", 0));
        assert!(e.to_string().contains("fed by no CDU"), "{e}");
    }

    #[test]
    fn edits_read_as_sentences() {
        assert_eq!(
            mv("row-A", "rack-03", "row-B", 2).to_string(),
            "move rack hall-1/row-A/rack-03 to hall-1/row-B at index 2"
        );
        assert_eq!(
            set_at("row-A", "rack-03", None).to_string(),
            "set rack hall-1/row-A/rack-03 side by side with the one before"
        );
    }

    #[test]
    fn undo_and_redo_round_trip() {
        let original = demo();
        let mut site = original.clone();
        let mut history = EditHistory::default();
        assert!(history.undo(&mut site).is_none());
        let edits = [
            remove("row-B", "rack-04"),
            add("row-A", switch("net-1"), 0),
            mv("row-A", "net-1", "row-B", 3),
            set_at("row-A", "rack-04", Some(2.2)),
        ];
        let mut states = vec![to_ron(&site).unwrap()];
        for e in &edits {
            history.apply(&mut site, e).unwrap();
            states.push(to_ron(&site).unwrap());
        }
        for want in states.iter().rev().skip(1) {
            history.undo(&mut site).unwrap().unwrap();
            assert_eq!(&to_ron(&site).unwrap(), want);
        }
        assert!(history.undo(&mut site).is_none() && !history.can_undo());
        assert_eq!(site, original);
        for want in states.iter().skip(1) {
            history.redo(&mut site).unwrap().unwrap();
            assert_eq!(&to_ron(&site).unwrap(), want);
        }
        assert!(history.redo(&mut site).is_none());
        // Undo twice, then a new edit: the undone steps cannot be redone any more.
        history.undo(&mut site).unwrap().unwrap();
        history.undo(&mut site).unwrap().unwrap();
        assert!(history.can_redo());
        history.apply(&mut site, &remove("row-A", "rack-01")).unwrap();
        assert!(!history.can_redo() && history.redo(&mut site).is_none());
    }

    /// The history says what each step did, and moves the words with the steps.
    #[test]
    fn the_history_lists_its_steps_in_words() {
        let mut site = demo();
        let mut h = EditHistory::default();
        h.apply(&mut site, &remove("row-A", "rack-01")).unwrap();
        h.begin_group();
        for at in [Some(1.0), Some(1.2), Some(1.4)] {
            h.apply(&mut site, &set_at("row-B", "rack-01", at)).unwrap();
        }
        h.end_group();
        let (undo, redo) = h.labels();
        assert_eq!(
            undo,
            [
                "remove rack hall-1/row-A/rack-01",
                "set rack hall-1/row-B/rack-01 at 1 m along its row (and 2 more edits)"
            ]
        );
        assert!(redo.is_empty());
        h.undo(&mut site).unwrap().unwrap();
        let (undo, redo) = h.labels();
        assert_eq!((undo.len(), redo[0]), (1, "set rack hall-1/row-B/rack-01 at 1 m along its row (and 2 more edits)"));
        h.apply(&mut site, &remove("row-A", "rack-02")).unwrap();
        assert_eq!(h.labels().1.len(), 0, "a new edit ends what redo could do");
    }

    #[test]
    fn a_refused_edit_records_nothing() {
        let mut site = demo();
        let mut history = EditHistory::default();
        history.apply(&mut site, &remove("row-A", "rack-01")).unwrap();
        history.undo(&mut site).unwrap().unwrap();
        assert!(history.apply(&mut site, &remove("row-A", "rack-09")).is_err());
        assert!(!history.can_undo());
        assert!(history.can_redo(), "a refused edit does not cost the redo");
    }

    #[test]
    fn a_drag_of_five_moves_is_one_undo_step() {
        let original = demo();
        let mut site = original.clone();
        let mut history = EditHistory::default();
        history.apply(&mut site, &add("row-A", switch("net-1"), 0)).unwrap();
        let after_add = site.clone();
        history.begin_group();
        // Along row A, over to row B and back along it: the way a dragged rack goes.
        for (row, to, i) in [
            ("row-A", "row-A", 1),
            ("row-A", "row-A", 3),
            ("row-A", "row-B", 4),
            ("row-B", "row-B", 2),
            ("row-B", "row-A", 4),
        ] {
            history.apply(&mut site, &mv(row, "net-1", to, i)).unwrap();
        }
        history.end_group();
        assert_eq!(ids(&site, "hall-1", "row-A"), ["rack-01", "rack-02", "rack-03", "rack-04", "net-1"]);
        let dragged = site.clone();
        // Five moves fold into one inverse.
        assert_eq!(history.undo.back().map(Vec::len), Some(1));
        history.undo(&mut site).unwrap().unwrap();
        assert_eq!(site, after_add);
        history.redo(&mut site).unwrap().unwrap();
        assert_eq!(site, dragged);
        history.undo(&mut site).unwrap().unwrap();
        history.undo(&mut site).unwrap().unwrap();
        assert_eq!(site, original);
    }

    #[test]
    fn a_group_of_different_edits_undoes_last_first() {
        let original = demo();
        let mut site = original.clone();
        let mut history = EditHistory::default();
        history.begin_group();
        history.apply(&mut site, &remove("row-A", "rack-02")).unwrap();
        history.begin_group(); // nested: still the one step
        history.apply(&mut site, &add("row-A", rack("rack-02b", None), 0)).unwrap();
        history.end_group();
        history.apply(&mut site, &mv("row-A", "rack-02b", "row-A", 1)).unwrap();
        history.apply(&mut site, &set_at("row-A", "rack-04", Some(2.2))).unwrap();
        history.apply(&mut site, &set_at("row-A", "rack-04", Some(2.0))).unwrap();
        history.end_group();
        history.end_group(); // one too many: harmless
        assert_eq!(history.undo.len(), 1);
        let edited = site.clone();
        history.undo(&mut site).unwrap().unwrap();
        assert_eq!(site, original);
        history.redo(&mut site).unwrap().unwrap();
        assert_eq!(site, edited);
    }

    #[test]
    fn undo_in_the_middle_of_a_drag_closes_it() {
        let original = demo();
        let mut site = original.clone();
        let mut history = EditHistory::default();
        history.begin_group();
        history.apply(&mut site, &mv("row-A", "rack-01", "row-A", 1)).unwrap();
        history.apply(&mut site, &mv("row-A", "rack-01", "row-A", 2)).unwrap();
        assert!(history.can_undo());
        history.undo(&mut site).unwrap().unwrap();
        assert_eq!(site, original);
        history.end_group();
        assert!(!history.can_undo());
    }

    #[test]
    fn the_history_keeps_at_most_its_cap() {
        let mut site = demo();
        let mut history = EditHistory::new(3);
        for i in 1..=4 {
            history.apply(&mut site, &mv("row-A", "rack-01", "row-A", i % 4)).unwrap();
        }
        let undone = std::iter::from_fn(|| history.undo(&mut site)).map(Result::unwrap).count();
        assert_eq!(undone, 3);
        assert_eq!(ids(&site, "hall-1", "row-A")[1], "rack-01", "the first move stays");
    }

    #[test]
    fn an_undo_that_no_longer_fits_changes_nothing() {
        let mut site = demo();
        let mut history = EditHistory::default();
        history.begin_group();
        history.apply(&mut site, &mv("row-A", "rack-01", "row-A", 3)).unwrap();
        history.apply(&mut site, &remove("row-B", "rack-01")).unwrap();
        history.end_group();
        // Changed behind the history's back: the move's rack is gone.
        apply(&mut site, &remove("row-A", "rack-01")).unwrap();
        let before = site.clone();
        assert_eq!(history.undo(&mut site), Some(Err(EditError::NoRack(s("hall-1/row-A/rack-01")))));
        assert_eq!(site, before);
        assert!(history.can_undo());
    }

    static SCENES: LazyLock<Vec<(&'static str, Site)>> = LazyLock::new(|| {
        ["demo-hall", "superpod-hall", "mixed-air-hall"]
            .into_iter()
            .map(|name| {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenes/{name}.ron"));
                (name, crate::scene::load_file(&path).unwrap_or_else(|e| panic!("{name}: {:?}", e.0)).site)
            })
            .collect()
    });

    /// One random edit, picked against the site as it is: `pick` and `to` choose a rack and a
    /// row, `index` may fall past the end, and one in eight names a rack that is not there.
    fn random_edit(site: &Site, kind: u8, pick: usize, to: usize, index: usize, at: f64, n: usize) -> Edit {
        let racks: Vec<(String, String, Rack)> =
            site.racks().map(|p| (p.hall.id.clone(), p.row.id.clone(), p.rack.clone())).collect();
        let rows: Vec<(String, String, usize)> = site
            .halls
            .iter()
            .flat_map(|h| h.rows.iter().map(|r| (h.id.clone(), r.id.clone(), r.racks.len())))
            .collect();
        let (to_hall, to_row, len) = rows[to % rows.len()].clone();
        if racks.is_empty() {
            return Edit::RemoveRack { hall: to_hall, row: to_row, rack_id: s("rack-99") };
        }
        let (hall, row, rack) = racks[pick % racks.len()].clone();
        let index = index % (len + 2);
        let rack_id = if pick % 8 == 7 { s("rack-99") } else { rack.id.clone() };
        match kind % 5 {
            0 => Edit::RemoveRack { hall, row, rack_id },
            1 => Edit::MoveRack { hall: hall.clone(), row: row.clone(), rack_id, to_hall: hall, to_row: row, index },
            2 => Edit::MoveRack { hall, row, rack_id, to_hall, to_row, index },
            // A copy with a fresh id, or now and then with one that is taken.
            3 => {
                let id = if pick % 5 == 4 { rack.id.clone() } else { format!("copy-{n}") };
                Edit::AddRack { hall: to_hall, row: to_row, rack: Rack { id, ..rack }, index }
            }
            _ => Edit::SetRackAt { hall, row, rack_id, at: (at >= 0.0).then_some(at) },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Random edits, refused or not, then the inverses of those that went through, last
        /// first: the scene saves byte for byte as it was. A refused edit changes nothing.
        #[test]
        fn random_edits_undone_in_reverse_give_back_the_scene(
            scene in 0usize..3,
            edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>(), -4.0f64..12.0), 1..=12),
        ) {
            let (name, original) = &SCENES[scene];
            let mut site = original.clone();
            let mut inverses = Vec::new();
            for (n, &(kind, pick, to, index, at)) in edits.iter().enumerate() {
                let edit = random_edit(&site, kind, pick, to, index, at, n);
                let before = site.clone();
                match apply(&mut site, &edit) {
                    Ok(inverse) => inverses.push(inverse),
                    Err(_) => prop_assert_eq!(&site, &before, "{}: refused {} but changed the site", name, edit),
                }
            }
            for inverse in inverses.iter().rev() {
                if let Err(e) = apply(&mut site, inverse) {
                    return Err(TestCaseError::fail(format!("{name}: the inverse {inverse} was refused: {e}")));
                }
            }
            prop_assert_eq!(to_ron(&site).unwrap(), to_ron(original).unwrap(), "{}", name);
        }

        /// The edits a history reports, applied to another copy of the site (as the sim thread
        /// does), give the same site, through edits, undos and redos alike.
        #[test]
        fn the_changes_a_history_reports_rebuild_the_site_elsewhere(
            scene in 0usize..3,
            edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>(), -4.0f64..12.0, 0u8..6), 1..=12),
        ) {
            let (name, original) = &SCENES[scene];
            let (mut site, mut copy) = (original.clone(), original.clone());
            let mut history = EditHistory::default();
            for (n, &(kind, pick, to, index, at, what)) in edits.iter().enumerate() {
                let _ = match what {
                    0 => history.undo(&mut site).unwrap_or(Ok(())),
                    1 => history.redo(&mut site).unwrap_or(Ok(())),
                    _ => {
                        let edit = random_edit(&site, kind, pick, to, index, at, n);
                        history.apply(&mut site, &edit)
                    }
                };
                let changes = history.take_changes();
                let before = copy.clone();
                for e in &changes.edits {
                    if let Err(err) = apply(&mut copy, e) {
                        return Err(TestCaseError::fail(format!("{name}: {e} refused on the copy: {err}")));
                    }
                }
                prop_assert_eq!(&copy, &site, "{}", name);
                // "Layout only" means: nothing but where rows and racks stand changed.
                let unplaced = |s: &Site| {
                    let mut s = s.clone();
                    for row in s.halls.iter_mut().flat_map(|h| h.rows.iter_mut()) {
                        (row.origin, row.facing) = ((0.0, 0.0), Facing::North);
                        row.racks.iter_mut().for_each(|k| k.at = None);
                    }
                    s
                };
                if changes.layout_only {
                    prop_assert_eq!(unplaced(&before), unplaced(&site), "{}: {:?}", name, changes.edits);
                }
            }
        }

        /// Moves and turns are checked by their hall's layout alone: accepted exactly when
        /// the whole validator finds no error in the result, refused with the same errors.
        #[test]
        fn a_move_is_refused_exactly_when_the_whole_site_would_not_validate(
            scene in 0usize..3,
            moves in proptest::collection::vec((any::<usize>(), -3.0f64..20.0, -3.0f64..20.0, 0u8..4, any::<bool>(), -1.0f64..8.0), 1..=8),
        ) {
            let (name, original) = &SCENES[scene];
            let mut site = original.clone();
            for &(pick, x, y, facing, rack, at) in &moves {
                let rows: Vec<(usize, usize)> = site.halls.iter().enumerate()
                    .flat_map(|(h, hall)| (0..hall.rows.len()).map(move |r| (h, r))).collect();
                let (h, r) = rows[pick % rows.len()];
                let old = site.halls[h].rows[r].clone();
                let (hall, row) = (site.halls[h].id.clone(), old.id.clone());
                let edit = if rack && !old.racks.is_empty() {
                    let rack_id = old.racks[pick % old.racks.len()].id.clone();
                    Edit::SetRackAt { hall, row, rack_id, at: (at >= 0.0).then_some(at) }
                } else {
                    let facing = [Facing::North, Facing::East, Facing::South, Facing::West][facing as usize];
                    Edit::SetRow { hall, row, with: Box::new(Row { origin: (x, y), facing, ..old }) }
                };
                let mut whole = site.clone();
                change(&mut whole, &edit).unwrap();
                let expected: Vec<String> = crate::scene::validate(&whole).iter()
                    .filter(|d| d.is_error()).map(|d| d.display("x").to_string()).collect();
                match apply(&mut site, &edit) {
                    Ok(_) => prop_assert!(expected.is_empty(), "{}: {} accepted, but {:?}", name, edit, expected),
                    Err(EditError::Invalid(errors)) => {
                        let got: Vec<String> = errors.iter().map(|d| d.display("x").to_string()).collect();
                        prop_assert_eq!(got, expected, "{}: {}", name, edit);
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{name}: {edit}: {e}"))),
                }
            }
        }
    }
}
