//! Edit scripts: the editor's edits as a RON list a designer or CI can write by hand
//! (`factory-twin edit SCENE EDITS.ron`). Each step names objects by their full ids
//! (`hall-1/row-B/rack-03`, `hall-1/cdu-1`) and becomes one `Edit` against the site as it is
//! when the step runs, so the app's palette and a script make the same edits.

use serde::Deserialize;

use super::{Edit, EditError, EditHistory};
use crate::diagnostic::Diagnostic;
use crate::model::{Cdu, Chiller, Containment, Crah, DryCooler, Facing, Hall, Pdu, Rack, Row, Site};

/// One step of an edit script.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Step {
    /// Removes a rack, a row, a hall, a hall's CDU or CRAH, a PDU, a dry cooler or a chiller.
    Remove {
        id: String,
    },
    /// Adds a rack at the end of a row (or at `index`); its id defaults to the next `rack-NN`.
    AddRack {
        row: String,
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        rack_type: Option<String>,
        #[serde(default)]
        index: Option<usize>,
    },
    /// A new row of `racks` racks named `rack-01`…, at `origin` (hall coordinates, metres).
    AddRow {
        hall: String,
        id: String,
        origin: (f64, f64),
        #[serde(default)]
        facing: Facing,
        rack_type: String,
        racks: usize,
        #[serde(default)]
        cdu: Option<String>,
        #[serde(default)]
        pdu: Option<String>,
    },
    /// A row: its origin goes to `to`. A rack: its offset along the row becomes the distance of
    /// `to` from the row's origin along the row. A CDU or CRAH: its position.
    Move {
        id: String,
        to: (f64, f64),
    },
    /// Turns a row to face `facing` (its racks' fronts).
    Rotate {
        id: String,
        facing: Facing,
    },
    /// The type of a rack, or of every rack of a row.
    SetRackType {
        id: String,
        rack_type: String,
    },
    /// The CDU and/or PDU of a rack, or of every rack of a row.
    Assign {
        id: String,
        #[serde(default)]
        cdu: Option<String>,
        #[serde(default)]
        pdu: Option<String>,
    },
    AddCdu {
        hall: String,
        cdu: Cdu,
    },
    AddCrah {
        hall: String,
        crah: Crah,
    },
    AddHall {
        hall: Hall,
    },
    /// A PDU on the electrical side (racks and rows are put on it with `Assign`).
    AddPdu {
        pdu: Pdu,
    },
    /// A dry cooler outside; it rejects heat for `facility_loop` (by default the site's first
    /// loop).
    AddDryCooler {
        dry_cooler: DryCooler,
        #[serde(default)]
        facility_loop: Option<String>,
    },
    /// A chiller outside, on `facility_loop` (by default the site's first loop).
    AddChiller {
        chiller: Chiller,
        #[serde(default)]
        facility_loop: Option<String>,
    },
    ResizeHall {
        id: String,
        size: (f64, f64),
    },
    SetContainment {
        id: String,
        containment: Containment,
    },
    /// A copy of a row, moved by `offset` (metres); its id defaults to the next free letter or
    /// number (`row-C` → `row-D`); its racks keep their numbering.
    Duplicate {
        id: String,
        #[serde(default)]
        new_id: Option<String>,
        offset: (f64, f64),
    },
    /// Undoes the last step that changed the site (a whole step, whatever it was).
    Undo,
    Redo,
}

/// What a full id names in a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Hall(usize),
    Row(usize, usize),
    Rack(usize, usize, usize),
    Cdu(usize, usize),
    Crah(usize, usize),
    Pdu(usize),
    DryCooler(usize),
    Chiller(usize),
}

/// Finds `id` (`hall`, `hall/row`, `hall/row/rack`, `hall/cdu`, `hall/crah`, or the id of a
/// PDU, dry cooler or chiller).
pub fn resolve(site: &Site, id: &str) -> Result<Target, EditError> {
    let parts: Vec<&str> = id.split('/').collect();
    let unknown = || {
        EditError::NoObject(format!(
            "{id}: no such hall, row, rack, CDU, CRAH, PDU, dry cooler or chiller in the scene"
        ))
    };
    let Some(h) = site.halls.iter().position(|x| x.id == parts[0]) else {
        let plant = &site.plant;
        return if let Some(i) = site.power.pdus.iter().position(|x| x.id == id) {
            Ok(Target::Pdu(i))
        } else if let Some(i) = plant.dry_coolers.iter().position(|x| x.id == id) {
            Ok(Target::DryCooler(i))
        } else if let Some(i) = plant.chillers.iter().position(|x| x.id == id) {
            Ok(Target::Chiller(i))
        } else {
            Err(unknown())
        };
    };
    let hall = &site.halls[h];
    match parts[1..] {
        [] => Ok(Target::Hall(h)),
        [second] => {
            if let Some(r) = hall.rows.iter().position(|x| x.id == second) {
                Ok(Target::Row(h, r))
            } else if let Some(c) = hall.cdus.iter().position(|x| x.id == second) {
                Ok(Target::Cdu(h, c))
            } else if let Some(c) = hall.crahs.iter().position(|x| x.id == second) {
                Ok(Target::Crah(h, c))
            } else {
                Err(unknown())
            }
        }
        [row, rack] => {
            let r = hall.rows.iter().position(|x| x.id == row).ok_or_else(unknown)?;
            let k = hall.rows[r].racks.iter().position(|x| x.id == rack).ok_or_else(unknown)?;
            Ok(Target::Rack(h, r, k))
        }
        _ => Err(unknown()),
    }
}

fn loop_ids(site: &Site) -> String {
    site.plant.loops.iter().map(|l| l.id.as_str()).collect::<Vec<_>>().join(", ")
}

fn wrong_kind(id: &str, want: &str) -> EditError {
    EditError::NoObject(format!("{id}: this step needs {want}"))
}

/// The next free id after `id`: its trailing letter or number counted up (`row-C` → `row-D`,
/// `rack-09` → `rack-10`), skipping ids `taken` says are in use.
pub fn next_id(id: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut cur = id.to_string();
    for _ in 0..10_000 {
        cur = bump(&cur);
        if !taken(&cur) {
            return cur;
        }
    }
    format!("{id}-copy")
}

fn bump(id: &str) -> String {
    let digits = id.chars().rev().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let (stem, num) = id.split_at(id.len() - digits);
        let n: u64 = num.parse().unwrap_or(0) + 1;
        return format!("{stem}{n:0digits$}");
    }
    match id.chars().last() {
        Some(c @ 'A'..='Y') | Some(c @ 'a'..='y') => format!("{}{}", &id[..id.len() - 1], (c as u8 + 1) as char),
        _ => format!("{id}-2"),
    }
}

/// Racks `rack-01` … `rack-NN` (two digits at least).
pub fn numbered_racks(n: usize) -> Vec<Rack> {
    (1..=n)
        .map(|i| Rack {
            id: format!("rack-{i:02}"),
            rack_type: None,
            at: None,
            cdu: None,
            pdu: None,
            utilization: None,
        })
        .collect()
}

/// The CDU and PDU a new row at `origin` in hall `hall` gets when none is named: those of the
/// hall's nearest row, or the hall's first CDU and the site's first PDU. Air-cooled racks get no
/// CDU.
pub fn default_supply(
    site: &Site,
    hall: usize,
    origin: (f64, f64),
    rack_type: &str,
) -> (Option<String>, Option<String>) {
    let h = &site.halls[hall];
    let near = h.rows.iter().min_by(|a, b| {
        let d = |r: &Row| (r.origin.0 - origin.0).powi(2) + (r.origin.1 - origin.1).powi(2);
        d(a).total_cmp(&d(b))
    });
    let (cdu, pdu) = near.map_or_else(
        || (h.cdus.first().map(|c| format!("{}/{}", h.id, c.id)), site.power.pdus.first().map(|p| p.id.clone())),
        |r| (r.cdu.clone(), r.pdu.clone()),
    );
    let liquid = site.rack_catalogue().iter().find(|t| t.id == rack_type).is_some_and(|t| t.is_liquid());
    (if liquid { cdu } else { None }, pdu)
}

/// A step in words, for the editor's status line.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Remove { id } => format!("removed {id}"),
        Step::AddRack { row, .. } => format!("added a rack to {row}"),
        Step::AddRow { hall, id, racks, rack_type, .. } => format!("added row {hall}/{id}: {racks} × {rack_type}"),
        Step::Move { id, to } => format!("moved {id} to ({:.2}, {:.2}) m", to.0, to.1),
        Step::Rotate { id, facing } => format!("turned {id} to face {facing:?}"),
        Step::SetRackType { id, rack_type } => format!("{id} is now {rack_type}"),
        Step::Assign { id, cdu, pdu } => {
            let parts: Vec<String> =
                [cdu.as_ref().map(|c| format!("CDU {c}")), pdu.as_ref().map(|p| format!("PDU {p}"))]
                    .into_iter()
                    .flatten()
                    .collect();
            format!("{id} on {}", parts.join(" and "))
        }
        Step::AddCdu { hall, cdu } => format!("added CDU {hall}/{}", cdu.id),
        Step::AddCrah { hall, crah } => format!("added CRAH {hall}/{}", crah.id),
        Step::AddHall { hall } => format!("added hall {}", hall.id),
        Step::AddPdu { pdu } => format!("added PDU {}", pdu.id),
        Step::AddDryCooler { dry_cooler, .. } => format!("added dry cooler {}", dry_cooler.id),
        Step::AddChiller { chiller, .. } => format!("added chiller {}", chiller.id),
        Step::ResizeHall { id, size } => format!("hall {id} is now {:.1} × {:.1} m", size.0, size.1),
        Step::SetContainment { id, containment } => format!("hall {id}: containment {containment:?}"),
        Step::Duplicate { id, .. } => format!("duplicated {id}"),
        Step::Undo => "undone".into(),
        Step::Redo => "redone".into(),
    }
}

/// The `Edit` a step makes on `site` as it is now. (`Undo` and `Redo` are the history's.)
pub fn to_edit(site: &Site, step: &Step) -> Result<Edit, EditError> {
    let row_of = |h: usize, r: usize| site.halls[h].rows[r].clone();
    let set_row = |h: usize, r: usize, with: Row| Edit::SetRow {
        hall: site.halls[h].id.clone(),
        row: site.halls[h].rows[r].id.clone(),
        with: Box::new(with),
    };
    let set_hall = |h: usize, with: Hall| Edit::SetHall { hall: site.halls[h].id.clone(), with: Box::new(with) };
    let set_plant = |with: crate::model::Plant| Edit::SetPlant { with: Box::new(with) };
    let set_power = |with: crate::model::Power| Edit::SetPower { with: Box::new(with) };
    // A new dry cooler or chiller joins a loop's heat rejection (the first loop by default).
    let join_loop = |plant: &mut crate::model::Plant, facility_loop: &Option<String>, id: &str| {
        let l = match facility_loop {
            Some(l) => plant.loops.iter().position(|x| x.id == *l).ok_or_else(|| {
                EditError::NoObject(format!("{l}: no such facility loop (loops: {})", loop_ids(site)))
            })?,
            None if plant.loops.is_empty() => {
                return Err(EditError::NoObject(format!("{id}: the site has no facility loop to join")));
            }
            None => 0,
        };
        plant.loops[l].heat_rejection.push(id.to_string());
        Ok(())
    };
    let taken = |id: &str| {
        site.power.pdus.iter().any(|x| x.id == id)
            || site.plant.dry_coolers.iter().any(|x| x.id == id)
            || site.plant.chillers.iter().any(|x| x.id == id)
            || site.plant.loops.iter().any(|x| x.id == id)
            || site.power.ups.iter().any(|x| x.id == id)
            || site.power.feeds.iter().any(|x| x.id == id)
            || site.halls.iter().any(|x| x.id == id)
    };
    let exists = |id: &str| EditError::NoObject(format!("{id}: an object with this id already exists"));
    let hall_index = |id: &str| match resolve(site, id)? {
        Target::Hall(h) => Ok(h),
        _ => Err(wrong_kind(id, "a hall")),
    };
    Ok(match step {
        Step::Remove { id } => match resolve(site, id)? {
            Target::Hall(h) => Edit::RemoveHall { hall: site.halls[h].id.clone() },
            Target::Row(h, r) => {
                Edit::RemoveRow { hall: site.halls[h].id.clone(), row: site.halls[h].rows[r].id.clone() }
            }
            Target::Rack(h, r, k) => Edit::RemoveRack {
                hall: site.halls[h].id.clone(),
                row: site.halls[h].rows[r].id.clone(),
                rack_id: site.halls[h].rows[r].racks[k].id.clone(),
            },
            Target::Cdu(h, c) => {
                let mut hall = site.halls[h].clone();
                hall.cdus.remove(c);
                set_hall(h, hall)
            }
            Target::Crah(h, c) => {
                let mut hall = site.halls[h].clone();
                hall.crahs.remove(c);
                set_hall(h, hall)
            }
            Target::Pdu(i) => {
                let mut power = site.power.clone();
                power.pdus.remove(i);
                set_power(power)
            }
            Target::DryCooler(i) | Target::Chiller(i) => {
                let mut plant = site.plant.clone();
                let gone = match resolve(site, id)? {
                    Target::DryCooler(_) => plant.dry_coolers.remove(i).id,
                    _ => plant.chillers.remove(i).id,
                };
                plant.loops.iter_mut().for_each(|l| l.heat_rejection.retain(|x| *x != gone));
                set_plant(plant)
            }
        },
        Step::AddRack { row, id, rack_type, index } => {
            let Target::Row(h, r) = resolve(site, row)? else { return Err(wrong_kind(row, "a row")) };
            let racks = &site.halls[h].rows[r].racks;
            let id = match id {
                Some(id) => id.clone(),
                None => next_id(&format!("rack-{:02}", racks.len()), |x| racks.iter().any(|k| k.id == x)),
            };
            let rack = Rack { id, rack_type: rack_type.clone(), at: None, cdu: None, pdu: None, utilization: None };
            Edit::AddRack {
                hall: site.halls[h].id.clone(),
                row: site.halls[h].rows[r].id.clone(),
                rack,
                index: index.unwrap_or(racks.len()),
            }
        }
        Step::AddRow { hall, id, origin, facing, rack_type, racks, cdu, pdu } => {
            let h = hall_index(hall)?;
            // Unnamed: as the app's palette does it.
            let (default_cdu, default_pdu) = default_supply(site, h, *origin, rack_type);
            let row = Row {
                id: id.clone(),
                origin: *origin,
                facing: *facing,
                rack_type: Some(rack_type.clone()),
                cdu: cdu.clone().or(default_cdu),
                pdu: pdu.clone().or(default_pdu),
                racks: numbered_racks(*racks),
            };
            Edit::InsertRow { hall: site.halls[h].id.clone(), index: site.halls[h].rows.len(), row: Box::new(row) }
        }
        Step::Move { id, to } => match resolve(site, id)? {
            Target::Row(h, r) => {
                let mut row = row_of(h, r);
                row.origin = *to;
                set_row(h, r, row)
            }
            Target::Rack(h, r, k) => {
                let row = &site.halls[h].rows[r];
                let along = match row.facing {
                    Facing::North | Facing::South => to.0 - row.origin.0,
                    Facing::East | Facing::West => to.1 - row.origin.1,
                };
                Edit::SetRackAt {
                    hall: site.halls[h].id.clone(),
                    row: row.id.clone(),
                    rack_id: row.racks[k].id.clone(),
                    at: Some(along),
                }
            }
            Target::Cdu(h, c) => {
                let mut hall = site.halls[h].clone();
                hall.cdus[c].position = Some(*to);
                set_hall(h, hall)
            }
            Target::Crah(h, c) => {
                let mut hall = site.halls[h].clone();
                hall.crahs[c].position = Some(*to);
                set_hall(h, hall)
            }
            Target::Hall(h) => {
                let mut hall = site.halls[h].clone();
                hall.origin = *to;
                set_hall(h, hall)
            }
            Target::DryCooler(i) => {
                let mut plant = site.plant.clone();
                plant.dry_coolers[i].position = Some(*to);
                set_plant(plant)
            }
            Target::Chiller(i) => {
                let mut plant = site.plant.clone();
                plant.chillers[i].position = Some(*to);
                set_plant(plant)
            }
            Target::Pdu(_) => return Err(wrong_kind(id, "something that stands somewhere (a PDU has no place)")),
        },
        Step::Rotate { id, facing } => {
            let Target::Row(h, r) = resolve(site, id)? else { return Err(wrong_kind(id, "a row")) };
            let mut row = row_of(h, r);
            row.facing = *facing;
            set_row(h, r, row)
        }
        Step::SetRackType { id, rack_type } => match resolve(site, id)? {
            Target::Row(h, r) => {
                let mut row = row_of(h, r);
                row.rack_type = Some(rack_type.clone());
                row.racks.iter_mut().for_each(|k| k.rack_type = None);
                set_row(h, r, row)
            }
            Target::Rack(h, r, k) => {
                let mut row = row_of(h, r);
                row.racks[k].rack_type = Some(rack_type.clone());
                set_row(h, r, row)
            }
            _ => return Err(wrong_kind(id, "a rack or a row")),
        },
        Step::Assign { id, cdu, pdu } => {
            if cdu.is_none() && pdu.is_none() {
                return Err(EditError::NoObject(format!("{id}: Assign needs a cdu, a pdu or both")));
            }
            match resolve(site, id)? {
                Target::Row(h, r) => {
                    let mut row = row_of(h, r);
                    if cdu.is_some() {
                        row.cdu = cdu.clone();
                        row.racks.iter_mut().for_each(|k| k.cdu = None);
                    }
                    if pdu.is_some() {
                        row.pdu = pdu.clone();
                        row.racks.iter_mut().for_each(|k| k.pdu = None);
                    }
                    set_row(h, r, row)
                }
                Target::Rack(h, r, k) => {
                    let mut row = row_of(h, r);
                    if cdu.is_some() {
                        row.racks[k].cdu = cdu.clone();
                    }
                    if pdu.is_some() {
                        row.racks[k].pdu = pdu.clone();
                    }
                    set_row(h, r, row)
                }
                _ => return Err(wrong_kind(id, "a rack or a row")),
            }
        }
        Step::AddCdu { hall, cdu } => {
            let h = hall_index(hall)?;
            let mut with = site.halls[h].clone();
            if with.cdus.iter().any(|c| c.id == cdu.id) {
                return Err(EditError::NoObject(format!("{hall}/{}: a CDU with this id already exists", cdu.id)));
            }
            with.cdus.push(cdu.clone());
            set_hall(h, with)
        }
        Step::AddCrah { hall, crah } => {
            let h = hall_index(hall)?;
            let mut with = site.halls[h].clone();
            if with.crahs.iter().any(|c| c.id == crah.id) {
                return Err(EditError::NoObject(format!("{hall}/{}: a CRAH with this id already exists", crah.id)));
            }
            with.crahs.push(crah.clone());
            set_hall(h, with)
        }
        Step::AddHall { hall } => Edit::InsertHall { index: site.halls.len(), hall: Box::new(hall.clone()) },
        Step::AddPdu { pdu } => {
            if taken(&pdu.id) {
                return Err(exists(&pdu.id));
            }
            let mut power = site.power.clone();
            power.pdus.push(pdu.clone());
            set_power(power)
        }
        Step::AddDryCooler { dry_cooler, facility_loop } => {
            if taken(&dry_cooler.id) {
                return Err(exists(&dry_cooler.id));
            }
            let mut plant = site.plant.clone();
            plant.dry_coolers.push(dry_cooler.clone());
            join_loop(&mut plant, facility_loop, &dry_cooler.id)?;
            set_plant(plant)
        }
        Step::AddChiller { chiller, facility_loop } => {
            if taken(&chiller.id) {
                return Err(exists(&chiller.id));
            }
            let mut plant = site.plant.clone();
            plant.chillers.push(chiller.clone());
            join_loop(&mut plant, facility_loop, &chiller.id)?;
            set_plant(plant)
        }
        Step::ResizeHall { id, size } => {
            let h = hall_index(id)?;
            let mut with = site.halls[h].clone();
            with.size = *size;
            set_hall(h, with)
        }
        Step::SetContainment { id, containment } => {
            let h = hall_index(id)?;
            let mut with = site.halls[h].clone();
            with.containment = *containment;
            set_hall(h, with)
        }
        Step::Duplicate { id, new_id, offset } => {
            let Target::Row(h, r) = resolve(site, id)? else { return Err(wrong_kind(id, "a row")) };
            let rows = &site.halls[h].rows;
            let mut row = rows[r].clone();
            row.id = match new_id {
                Some(n) => n.clone(),
                None => next_id(&row.id, |x| rows.iter().any(|o| o.id == x)),
            };
            row.origin = (row.origin.0 + offset.0, row.origin.1 + offset.1);
            Edit::InsertRow { hall: site.halls[h].id.clone(), index: rows.len(), row: Box::new(row) }
        }
        Step::Undo | Step::Redo => {
            return Err(EditError::NoObject("Undo and Redo act on the history, not the site".into()));
        }
    })
}

/// Runs one step through `history` (which applies it to `site`).
pub fn run_step(site: &mut Site, history: &mut EditHistory, step: &Step) -> Result<(), EditError> {
    let nothing = |what: &str| EditError::NoObject(format!("nothing to {what}"));
    match step {
        Step::Undo => history.undo(site).unwrap_or_else(|| Err(nothing("undo"))),
        Step::Redo => history.redo(site).unwrap_or_else(|| Err(nothing("redo"))),
        _ => {
            let edit = to_edit(site, step)?;
            history.apply(site, &edit)
        }
    }
}

/// A script's steps, each with the 1-based line and column where it starts.
pub fn parse(text: &str) -> Result<Vec<(Step, usize, usize)>, Diagnostic> {
    let elements = split_list(text)?;
    let mut out = Vec::with_capacity(elements.len());
    for (start, end) in elements {
        let src = &text[start..end];
        // Optional fields take plain values (`cdu: "hall-1/cdu-1"`), as in scene files.
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        match options.from_str::<Step>(src) {
            Ok(step) => {
                let (line, col) = line_col(text, start);
                out.push((step, line, col));
            }
            Err(e) => {
                // The error's position inside the element, moved to where the element starts.
                let (el, ec) = (e.span.start.line, e.span.start.col);
                let (sl, sc) = line_col(text, start);
                let (line, col) = if el <= 1 { (sl, sc + ec.saturating_sub(1)) } else { (sl + el - 1, ec) };
                return Err(error_at(line, col, e.code.to_string(), "see the README's list of edit kinds"));
            }
        }
    }
    Ok(out)
}

fn error_at(line: usize, col: usize, message: impl Into<String>, hint: &str) -> Diagnostic {
    Diagnostic::error(message).at(line, col).hint(hint)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The byte ranges of the top-level list's elements: the text between the outer `[` `]` split
/// at commas outside brackets, parentheses, strings and comments.
fn split_list(text: &str) -> Result<Vec<(usize, usize)>, Diagnostic> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut depth = 0i32;
    let mut open = None;
    let mut elements = Vec::new();
    let mut start = None;
    let mut closed = false;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'"' => {
                start.get_or_insert(i);
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'(' | b'{' => {
                if open.is_none() {
                    if c != b'[' {
                        let (l, col) = line_col(text, i);
                        return Err(error_at(
                            l,
                            col,
                            "an edit script is a list: it starts with `[`",
                            "write the edits as [ Step(...), Step(...), ]",
                        ));
                    }
                    open = Some(i);
                } else {
                    start.get_or_insert(i);
                    depth += 1;
                }
            }
            b']' | b')' | b'}' => {
                if depth == 0 && c == b']' && open.is_some() {
                    if let Some(s) = start.take() {
                        elements.push((s, trim_end(text, i)));
                    }
                    closed = true;
                    i += 1;
                    break;
                }
                depth -= 1;
            }
            b',' if depth == 0 && open.is_some() => {
                if let Some(s) = start.take() {
                    elements.push((s, trim_end(text, i)));
                }
            }
            c if c.is_ascii_whitespace() => {}
            _ => {
                if open.is_none() {
                    let (l, col) = line_col(text, i);
                    return Err(error_at(
                        l,
                        col,
                        "an edit script is a list: it starts with `[`",
                        "write the edits as [ Step(...), Step(...), ]",
                    ));
                }
                start.get_or_insert(i);
            }
        }
        i += 1;
    }
    if !closed {
        let (l, col) = line_col(text, text.len());
        return Err(error_at(l, col, "the list of edits is not closed with `]`", "end the script with ]"));
    }
    if let Some(rest) = text[i.min(text.len())..].find(|c: char| !c.is_whitespace()) {
        let (l, col) = line_col(text, i + rest);
        return Err(error_at(l, col, "text after the list of edits", "remove it, or put it inside the list"));
    }
    Ok(elements)
}

fn trim_end(text: &str, end: usize) -> usize {
    text[..end].trim_end().len()
}

/// Runs a whole script on `site`: all or nothing. On a bad step, the site is as it was and the
/// error names the step's line and column.
pub fn run(site: &mut Site, text: &str) -> Result<ScriptReport, Diagnostic> {
    let steps = parse(text)?;
    let before = site.clone();
    let mut history = EditHistory::new(usize::MAX);
    for (n, (step, line, col)) in steps.iter().enumerate() {
        if let Err(e) = run_step(site, &mut history, step) {
            *site = before;
            return Err(Diagnostic::error(format!("step {} ({}): {e}", n + 1, step_name(step)))
                .at(*line, *col)
                .hint("nothing was written; fix this step and run the script again"));
        }
    }
    Ok(ScriptReport { steps: steps.len(), racks: site.rack_count() })
}

/// What a script did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptReport {
    pub steps: usize,
    pub racks: usize,
}

fn step_name(step: &Step) -> String {
    let full = format!("{step:?}");
    let name: String = full.chars().take_while(|c| c.is_alphanumeric()).collect();
    match step {
        Step::Remove { id }
        | Step::Move { id, .. }
        | Step::Rotate { id, .. }
        | Step::SetRackType { id, .. }
        | Step::Assign { id, .. }
        | Step::ResizeHall { id, .. }
        | Step::SetContainment { id, .. }
        | Step::Duplicate { id, .. } => format!("{name} {id}"),
        Step::AddRack { row, .. } => format!("{name} to {row}"),
        Step::AddRow { hall, id, .. } => format!("{name} {hall}/{id}"),
        Step::AddCdu { hall, cdu } => format!("{name} {hall}/{}", cdu.id),
        Step::AddCrah { hall, crah } => format!("{name} {hall}/{}", crah.id),
        Step::AddHall { hall } => format!("{name} {}", hall.id),
        Step::AddPdu { pdu } => format!("{name} {}", pdu.id),
        Step::AddDryCooler { dry_cooler, .. } => format!("{name} {}", dry_cooler.id),
        Step::AddChiller { chiller, .. } => format!("{name} {}", chiller.id),
        Step::Undo | Step::Redo => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::{DEMO_SCENE, parse as parse_scene, to_ron};
    use proptest::prelude::*;
    use std::path::Path;

    const EXAMPLE: &str = include_str!("../../scenes/edits/demo-row-c.ron");

    fn scene(name: &str) -> Site {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenes/{name}.ron"));
        crate::scene::load_file(&path).unwrap_or_else(|e| panic!("{name}: {:?}", e.0)).site
    }

    fn demo() -> Site {
        parse_scene(DEMO_SCENE).unwrap().site
    }

    #[test]
    fn the_readme_example_gives_row_c_and_seven_racks() {
        let mut site = scene("demo-hall");
        let report = run(&mut site, EXAMPLE).unwrap_or_else(|d| panic!("{}", d.display("demo-row-c.ron")));
        assert_eq!(report, ScriptReport { steps: 7, racks: 7 });
        let row_c = site.halls[0].rows.iter().find(|r| r.id == "row-C").unwrap();
        assert_eq!((row_c.origin, row_c.racks.len()), ((3.6, 7.2), 1));
        assert!(crate::scene::validate(&site).iter().all(|d| !d.is_error()));
        // What it writes loads again as the same site.
        assert_eq!(parse_scene(&to_ron(&site).unwrap()).unwrap().site, site);
    }

    #[test]
    fn a_third_rack_in_row_c_is_refused_for_capacity_at_its_line() {
        let text = "[\n    Remove(id: \"hall-1/row-B/rack-03\"),\n    Remove(id: \"hall-1/row-B/rack-04\"),\n    AddRow(hall: \"hall-1\", id: \"row-C\", origin: (3.0, 7.2), facing: South, rack_type: \"gb300-nvl72\",\n           racks: 2, cdu: \"hall-1/cdu-1\", pdu: \"pdu-A\"),\n    AddRack(row: \"hall-1/row-C\"),\n]\n";
        let mut site = scene("demo-hall");
        let before = site.clone();
        let d = run(&mut site, text).unwrap_err();
        assert_eq!(site, before, "a refused script changes nothing");
        assert_eq!(d.position, Some((6, 5)));
        assert!(d.message.contains("step 4 (AddRack to hall-1/row-C)"), "{}", d.message);
        assert!(d.message.contains("over capacity"), "{}", d.message);
    }

    #[test]
    fn bad_scripts_say_where() {
        let mut site = demo();
        let at = |text: &str, site: &mut Site| {
            let d = run(site, text).unwrap_err();
            (d.position, d.message)
        };
        // Syntax: the position of the bad token in the file, not in the step.
        let (pos, msg) =
            at("[\n  Remove(id: \"hall-1/row-A\"),\n  Move(id: \"hall-1/row-B\", to: (1.0 2.0)),\n]", &mut site);
        assert_eq!(pos.map(|p| p.0), Some(3), "{msg}");
        // An unknown id is named.
        let (pos, msg) = at("[Remove(id: \"hall-1/row-Q\")]", &mut site);
        assert_eq!(pos, Some((1, 2)));
        assert!(msg.contains("hall-1/row-Q"), "{msg}");
        // An unknown kind of step.
        let (pos, msg) = at("[\n  Explode(id: \"hall-1\"),\n]", &mut site);
        assert_eq!(pos.map(|p| p.0), Some(2), "{msg}");
        // Overlap: a row on top of row A.
        let (_, msg) = at(
            "[AddRow(hall: \"hall-1\", id: \"row-X\", origin: (3.0, 2.4), rack_type: \"network\", racks: 1)]",
            &mut site,
        );
        assert!(msg.contains("overlap"), "{msg}");
        // Not a list, or not closed.
        assert_eq!(at("Remove(id: \"x\")", &mut site).0, Some((1, 1)));
        assert!(at("[Remove(id: \"hall-1/row-A\")", &mut site).1.contains("not closed"));
        assert_eq!(site, demo());
    }

    /// Every kind of step, applied, undone and redone: the scene saves byte for byte as before
    /// and as after.
    #[test]
    fn every_step_kind_round_trips_through_undo_and_redo() {
        let cdu = demo().halls[0].cdus[0].clone();
        let crah = demo().halls[0].crahs[0].clone();
        let mut hall2 = demo().halls[0].clone();
        hall2.id = "hall-2".into();
        hall2.origin = (0.0, 20.0);
        hall2.rows.clear();
        hall2.cdus.clear();
        hall2.crahs.clear();
        let steps = [
            Step::Remove { id: "hall-1/row-B/rack-04".into() },
            Step::Remove { id: "hall-1/row-B".into() },
            Step::Remove { id: "hall-1/crah-1".into() },
            Step::AddRack { row: "hall-1/row-A".into(), id: None, rack_type: Some("network".into()), index: None },
            Step::AddRow {
                hall: "hall-1".into(),
                id: "row-C".into(),
                origin: (3.0, 7.2),
                facing: Facing::South,
                rack_type: "network".into(),
                racks: 2,
                cdu: None,
                pdu: Some("pdu-A".into()),
            },
            Step::Move { id: "hall-1/row-B".into(), to: (3.6, 4.8) },
            Step::Move { id: "hall-1/row-A/rack-04".into(), to: (5.0, 2.4) },
            Step::Move { id: "hall-1/cdu-1".into(), to: (7.0, 3.0) },
            Step::Rotate { id: "hall-1/row-B".into(), facing: Facing::South },
            Step::SetRackType { id: "hall-1/row-B/rack-01".into(), rack_type: "network".into() },
            Step::SetRackType { id: "hall-1/row-A".into(), rack_type: "gb200-nvl72".into() },
            Step::Assign { id: "hall-1/row-A/rack-02".into(), cdu: None, pdu: Some("pdu-A".into()) },
            Step::AddCdu { hall: "hall-1".into(), cdu: Cdu { id: "cdu-2".into(), position: Some((2.0, 7.0)), ..cdu } },
            Step::AddCrah {
                hall: "hall-1".into(),
                crah: Crah { id: "crah-2".into(), position: Some((1.0, 8.0)), ..crah },
            },
            Step::AddHall { hall: hall2 },
            Step::ResizeHall { id: "hall-1".into(), size: (13.2, 9.0) },
            Step::SetContainment { id: "hall-1".into(), containment: Containment::ColdAisle },
            Step::Duplicate { id: "hall-1/row-A".into(), new_id: None, offset: (0.0, 2.4) },
            Step::AddPdu { pdu: Pdu { id: "pdu-B".into(), ..demo().power.pdus[0].clone() } },
            Step::AddDryCooler {
                dry_cooler: DryCooler {
                    id: "dc-2".into(),
                    position: Some((30.0, -10.0)),
                    ..demo().plant.dry_coolers[0].clone()
                },
                facility_loop: None,
            },
            Step::AddChiller {
                chiller: Chiller {
                    id: "ch-1".into(),
                    capacity_kw: 1055.0,
                    cop: 5.96,
                    condenser: Default::default(),
                    economiser: true,
                    restart_s: 300.0,
                    curves: None,
                    supply: "ups-A".into(),
                    position: None,
                },
                facility_loop: Some("fw-1".into()),
            },
            Step::Move { id: "dc-1".into(), to: (12.0, -8.0) },
        ];
        for step in steps {
            let mut site = demo();
            if matches!(step, Step::Duplicate { .. }) {
                // The demo's CDU and PDU carry two rows: make room for the copy.
                site.halls[0].rows.pop();
            }
            let before = to_ron(&site).unwrap();
            let mut history = EditHistory::default();
            run_step(&mut site, &mut history, &step).unwrap_or_else(|e| panic!("{step:?}: {e}"));
            let after = to_ron(&site).unwrap();
            assert_ne!(after, before, "{step:?} changed nothing");
            run_step(&mut site, &mut history, &Step::Undo).unwrap();
            assert_eq!(to_ron(&site).unwrap(), before, "undo of {step:?}");
            run_step(&mut site, &mut history, &Step::Redo).unwrap();
            assert_eq!(to_ron(&site).unwrap(), after, "redo of {step:?}");
        }
    }

    /// A row added without a CDU or PDU takes the nearest row's, as the editor's palette does;
    /// an air-cooled one takes no CDU.
    #[test]
    fn add_row_without_cdu_or_pdu_takes_the_nearest_rows() {
        let mut site = demo();
        let text = "[Remove(id: \"hall-1/row-B\"),\n AddRow(hall: \"hall-1\", id: \"row-C\", origin: (3.0, 4.8), facing: North, rack_type: \"gb300-nvl72\", racks: 4),\n AddRow(hall: \"hall-1\", id: \"row-D\", origin: (3.0, 7.8), rack_type: \"network\", racks: 1)]";
        run(&mut site, text).unwrap_or_else(|d| panic!("{}", d.display("t")));
        let row = |id: &str| site.halls[0].rows.iter().find(|r| r.id == id).unwrap().clone();
        assert_eq!((row("row-C").cdu, row("row-C").pdu), (Some("hall-1/cdu-1".into()), Some("pdu-A".into())));
        assert_eq!((row("row-D").cdu, row("row-D").pdu), (None, Some("pdu-A".into())));
    }

    /// Plant and power from the palette: a dry cooler joins the first loop (or the one named),
    /// a removed one leaves its loop; a PDU with a taken id and an unknown loop are refused.
    #[test]
    fn plant_and_power_steps_keep_the_loops_right() {
        let mut site = demo();
        let dc = DryCooler { id: "dc-2".into(), ..site.plant.dry_coolers[0].clone() };
        let text = "[AddDryCooler(dry_cooler: (id: \"dc-2\", capacity_kw: 1500.0, design_air_c: 35.0, design_fluid_in_c: 45.0, fans: 8, fan_kw: 30.0, supply: \"ups-A\", position: (20.0, -12.0))), Remove(id: \"dc-1\")]";
        run(&mut site, text).unwrap_or_else(|d| panic!("{}", d.display("t")));
        assert_eq!(site.plant.loops[0].heat_rejection, ["dc-2"]);
        assert_eq!(site.plant.dry_coolers.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["dc-2"]);
        // The loop's last heat rejection cannot go.
        let mut history = EditHistory::default();
        let before = site.clone();
        run_step(&mut site, &mut history, &Step::Remove { id: "dc-2".into() }).unwrap_err();
        assert_eq!(site, before, "a loop without heat rejection is refused");
        let taken = Step::AddPdu { pdu: site.power.pdus[0].clone() };
        assert!(run_step(&mut site, &mut history, &taken).unwrap_err().to_string().contains("already exists"));
        let lost = Step::AddDryCooler {
            dry_cooler: DryCooler { id: "dc-3".into(), ..dc },
            facility_loop: Some("fw-9".into()),
        };
        let e = run_step(&mut site, &mut history, &lost).unwrap_err().to_string();
        assert!(e.contains("fw-9") && e.contains("fw-1"), "{e}");
    }

    #[test]
    fn duplicates_take_the_next_free_id() {
        assert_eq!(next_id("row-C", |_| false), "row-D");
        assert_eq!(next_id("row-C", |x| x == "row-D"), "row-E");
        assert_eq!(next_id("rack-09", |_| false), "rack-10");
        assert_eq!(next_id("row-Z", |_| false), "row-Z-2");
        let mut site = demo();
        let mut history = EditHistory::default();
        let dup = Step::Duplicate { id: "hall-1/row-A".into(), new_id: None, offset: (0.0, 4.8) };
        // Row B is taken: the copy of row A is row C.
        run_step(&mut site, &mut history, &dup).unwrap_err();
        assert_eq!(site, demo(), "the copy overlaps row B and over-fills the CDU: refused whole");
        let remove = Step::Remove { id: "hall-1/row-B".into() };
        run_step(&mut site, &mut history, &remove).unwrap();
        run_step(&mut site, &mut history, &dup).unwrap();
        assert_eq!(site.halls[0].rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["row-A", "row-B"]);
    }

    /// A random step against the site as it is: any kind, on any object, sometimes on an id
    /// that is not there.
    fn random_step(site: &Site, kind: u8, pick: usize, x: f64, y: f64) -> Step {
        let mut ids: Vec<String> = Vec::new();
        for h in &site.halls {
            ids.push(h.id.clone());
            for r in &h.rows {
                ids.push(format!("{}/{}", h.id, r.id));
                ids.extend(r.racks.iter().map(|k| format!("{}/{}/{}", h.id, r.id, k.id)));
            }
            ids.extend(h.cdus.iter().map(|c| format!("{}/{}", h.id, c.id)));
            ids.extend(h.crahs.iter().map(|c| format!("{}/{}", h.id, c.id)));
        }
        ids.push("hall-9/row-Q".into());
        let id = ids[pick % ids.len()].clone();
        let hall = site.halls.first().map_or("hall-1".to_string(), |h| h.id.clone());
        let facing = [Facing::North, Facing::South, Facing::East, Facing::West][pick % 4];
        let types = ["gb300-nvl72", "hgx-h100-air", "storage", "network"];
        match kind % 12 {
            0 => Step::Remove { id },
            1 => Step::AddRack { row: id, id: None, rack_type: Some(types[pick % 4].into()), index: None },
            2 => Step::AddRow {
                hall,
                id: format!("row-{pick}"),
                origin: (x, y),
                facing,
                rack_type: types[pick % 4].into(),
                racks: 1 + pick % 4,
                cdu: None,
                pdu: None,
            },
            3 => Step::Move { id, to: (x, y) },
            4 => Step::Rotate { id, facing },
            5 => Step::SetRackType { id, rack_type: types[pick % 4].into() },
            6 => Step::ResizeHall { id: hall, size: (x.abs() + 1.0, y.abs() + 1.0) },
            7 => Step::SetContainment { id: hall, containment: Containment::ColdAisle },
            8 => Step::Duplicate { id, new_id: None, offset: (x / 4.0, y / 4.0) },
            9 => Step::Assign { id, cdu: None, pdu: Some("pdu-A".into()) },
            10 => Step::Undo,
            _ => Step::Redo,
        }
    }

    static SCENES: std::sync::LazyLock<Vec<(&'static str, Site)>> = std::sync::LazyLock::new(|| {
        ["demo-hall", "superpod-hall", "mixed-air-hall", "campus-1152"].into_iter().map(|n| (n, scene(n))).collect()
    });

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Random steps of every kind on every example scene, then undo until there is nothing
        /// left to undo: the scene saves byte for byte as it was; a refused step changes nothing.
        #[test]
        fn random_steps_undone_give_back_the_scene(
            scene in 0usize..4,
            steps in proptest::collection::vec((any::<u8>(), any::<usize>(), -5.0f64..40.0, -5.0f64..40.0), 1..=10),
        ) {
            let (name, original) = &SCENES[scene];
            let mut site = original.clone();
            let mut history = EditHistory::default();
            for (kind, pick, x, y) in steps {
                let step = random_step(&site, kind, pick, x, y);
                let before = site.clone();
                if run_step(&mut site, &mut history, &step).is_err() {
                    prop_assert!(site == before, "{}: refused {:?} but changed the site", name, step);
                }
            }
            while let Some(r) = history.undo(&mut site) {
                prop_assert!(r.is_ok(), "{}: undo refused: {:?}", name, r);
            }
            prop_assert_eq!(to_ron(&site).unwrap(), to_ron(original).unwrap(), "{}", name);
        }

        /// Any text, and the example with bytes changed: an answer, never a panic.
        #[test]
        fn scripts_of_any_text_never_panic(
            junk in ".{0,200}",
            cuts in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        ) {
            let mut site = demo();
            let _ = run(&mut site, &junk);
            let mut bytes = EXAMPLE.as_bytes().to_vec();
            for (at, b) in cuts {
                let i = at % bytes.len();
                bytes[i] = b" ,()[]\":/0a"[b as usize % 11];
            }
            let _ = run(&mut demo(), &String::from_utf8_lossy(&bytes));
        }
    }
}
