//! The live run's recent past, in memory and packed by the recording codec, so a user who
//! breaks a pump can drag back, look, return to live, and save what was kept as a recording.
//! Samples go into chunks of `CHUNK_SAMPLES`, each opening with a keyframe (as in a file); when
//! the bytes pass the bound the oldest chunk goes. A change of shape (a layout edit) or of
//! direction (a reset) starts the history over.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use super::codec::{Columns, Prior, Shape, decode, encode_into, flatten, unflatten};
use super::{TimeRange, ns};
use crate::model::Site;
use crate::sim::{Alarm, Scenario, Snapshot};

/// Samples per chunk: a seek decodes at most this many.
pub const CHUNK_SAMPLES: usize = 60;
/// What the app keeps by default: 256 MB.
pub const DEFAULT_LIMIT_BYTES: usize = 256 << 20;

struct Chunk {
    /// (sim time, encoded sample); the first is a keyframe.
    samples: Vec<(f64, Vec<u8>)>,
    bytes: usize,
}

/// The recent past of a run.
pub struct RunHistory {
    chunks: VecDeque<Chunk>,
    bytes: usize,
    limit: usize,
    shape: Option<Shape>,
    last: Option<Columns>,
    before: Option<Columns>,
    alarms: Option<Arc<Vec<Alarm>>>,
    encoded: Vec<u8>,
}

impl RunHistory {
    pub fn new(limit_bytes: usize) -> RunHistory {
        RunHistory {
            chunks: VecDeque::new(),
            bytes: 0,
            limit: limit_bytes,
            shape: None,
            last: None,
            before: None,
            alarms: None,
            encoded: Vec::new(),
        }
    }

    pub fn clear(&mut self) {
        *self = RunHistory::new(self.limit);
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn samples(&self) -> usize {
        self.chunks.iter().map(|c| c.samples.len()).sum()
    }

    /// First and last sample times.
    pub fn range(&self) -> Option<TimeRange> {
        let start = self.chunks.front()?.samples.first()?.0;
        let end = self.chunks.back()?.samples.last()?.0;
        Some(TimeRange { start_s: start, end_s: end })
    }

    /// Adds the run's next sample. One at the last sample's time is ignored; one of another
    /// shape (a layout edit) or earlier than the last (a reset, a restart after a fault: the
    /// run took another course) starts the history over.
    pub fn push(&mut self, s: &Snapshot) {
        let shape = Shape::of(s);
        let last_t = self.range().map(|r| r.end_s);
        if last_t == Some(s.time_s) && self.shape == Some(shape) {
            return;
        }
        if self.shape.is_some_and(|sh| sh != shape) || last_t.is_some_and(|t| s.time_s < t) {
            self.clear();
        }
        self.shape = Some(shape);
        let cols = flatten(s);
        let keyframe = self.chunks.back().is_none_or(|c| c.samples.len() >= CHUNK_SAMPLES);
        if keyframe {
            self.chunks.push_back(Chunk { samples: Vec::with_capacity(CHUNK_SAMPLES), bytes: 0 });
            self.last = None;
            self.before = None;
        }
        let changed = self.alarms.as_ref().is_none_or(|a| !Arc::ptr_eq(a, &s.active_alarms) && **a != *s.active_alarms);
        let json =
            (keyframe || changed).then(|| serde_json::to_vec(&*s.active_alarms).unwrap_or_else(|_| b"[]".to_vec()));
        self.alarms = Some(s.active_alarms.clone());
        let prior = Prior { last: self.last.as_ref(), before: self.before.as_ref() };
        encode_into(&mut self.encoded, shape, &cols, prior, json.as_deref());
        let data = self.encoded.clone();
        self.bytes += data.len();
        if let Some(c) = self.chunks.back_mut() {
            c.bytes += data.len();
            c.samples.push((s.time_s, data));
        }
        self.before = self.last.replace(cols);
        // Over the bound: the oldest chunks go (never the one being filled).
        while self.bytes > self.limit && self.chunks.len() > 1 {
            if let Some(old) = self.chunks.pop_front() {
                self.bytes -= old.bytes;
            }
        }
    }

    /// The state at `t`: the last sample at or before it (the first if earlier).
    pub fn seek(&self, t: f64) -> Result<Snapshot, String> {
        let i = self.chunks.partition_point(|c| c.samples.first().is_some_and(|s| s.0 <= t)).saturating_sub(1);
        let mut found = None;
        self.decode_chunk(i, f64::NEG_INFINITY, t, true, |s| {
            found = Some(s);
            Ok(())
        })?;
        found.ok_or_else(|| "nothing kept yet".to_string())
    }

    /// Every kept sample with `from_s <= time <= to_s`, in order (the inspector's charts of
    /// the last minutes), decoding only the chunks that overlap.
    pub fn samples_between(
        &self,
        from_s: f64,
        to_s: f64,
        mut f: impl FnMut(Snapshot) -> Result<(), String>,
    ) -> Result<(), String> {
        for i in 0..self.chunks.len() {
            let c = &self.chunks[i];
            let (Some(first), Some(last)) = (c.samples.first(), c.samples.last()) else { continue };
            if last.0 >= from_s && first.0 <= to_s {
                self.decode_chunk(i, from_s, to_s, false, &mut f)?;
            }
        }
        Ok(())
    }

    /// Decodes chunk `i` up to `to_s`, handing over the samples from `from_s` on (only the last
    /// one when `last_only`: a seek).
    fn decode_chunk(
        &self,
        i: usize,
        from_s: f64,
        to_s: f64,
        last_only: bool,
        mut f: impl FnMut(Snapshot) -> Result<(), String>,
    ) -> Result<(), String> {
        let shape = self.shape.ok_or("nothing kept yet")?;
        let Some(chunk) = self.chunks.get(i) else { return Ok(()) };
        let (mut last, mut before): (Option<Columns>, Option<Columns>) = (None, None);
        let mut alarms: Arc<Vec<Alarm>> = Arc::new(Vec::new());
        let n = chunk.samples.iter().take_while(|(at, _)| *at <= to_s).count().max(1);
        for (k, (at, data)) in chunk.samples.iter().enumerate().take(n) {
            let mut d = decode(data, Prior { last: last.as_ref(), before: before.as_ref() })?;
            if let Some(json) = d.alarms.take() {
                alarms = Arc::new(serde_json::from_slice(&json).map_err(|e| format!("damaged alarm list: {e}"))?);
            }
            before = if d.keyframe { None } else { last.take() };
            last = Some(std::mem::take(&mut d.columns));
            let wanted = if last_only { k + 1 == n } else { *at >= from_s && *at <= to_s };
            if let (true, Some(cols)) = (wanted, last.as_ref()) {
                f(unflatten(shape, cols, alarms.clone())?)?;
            }
        }
        Ok(())
    }

    /// Writes what is kept as a recording that `Player` opens like any other (never over an
    /// existing file): the scene, the scenario, the samples chunk by chunk, and `events`.
    pub fn save(&self, path: &Path, site: &Site, scenario: &Scenario, events: &[Alarm]) -> Result<(), String> {
        let range = self.range().ok_or("nothing kept yet")?;
        let super::NewFile { mut mcap, state, events: events_ch } =
            super::new_file(path, site, scenario, range.start_s)?;
        let err = |e: mcap::McapError| format!("{}: {e}", path.display());
        let mut seq = 0u32;
        let mut write = |mcap: &mut mcap::Writer<_>, ch: u16, t: u64, data: &[u8]| {
            seq += 1;
            let header = mcap::records::MessageHeader { channel_id: ch, sequence: seq, log_time: t, publish_time: t };
            mcap.write_to_known_channel(&header, data).map_err(err)
        };
        let mut events = events.iter().filter(|e| e.time_s >= range.start_s && e.time_s <= range.end_s).peekable();
        for chunk in &self.chunks {
            // Each chunk of the file opens with its keyframe, as the player expects.
            mcap.flush().map_err(err)?;
            for (t, data) in &chunk.samples {
                while let Some(e) = events.next_if(|e| e.time_s <= *t) {
                    let json = serde_json::to_vec(e).map_err(|e| e.to_string())?;
                    write(&mut mcap, events_ch, ns(e.time_s), &json)?;
                }
                write(&mut mcap, state, ns(*t), data)?;
            }
        }
        for e in events {
            let json = serde_json::to_vec(e).map_err(|e| e.to_string())?;
            write(&mut mcap, events_ch, ns(e.time_s), &json)?;
        }
        mcap.finish().map_err(err)?;
        use std::io::Write as _;
        mcap.into_inner().flush().map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::Player;
    use crate::scene;
    use crate::sim::{Action, Event, Failure, FailureKind, Simulation};

    fn run(seconds: usize) -> (Simulation, Vec<Snapshot>) {
        let cdu = Failure { kind: FailureKind::Cdu, target: "hall-1/cdu-1".into() };
        let scenario = Scenario {
            events: vec![
                Event { at_s: 70.0, action: Action::Fail(cdu.clone()) },
                Event { at_s: 150.0, action: Action::Restore(cdu) },
            ],
            ..Default::default()
        };
        let mut sim = Simulation::new(scene::parse(scene::DEMO_SCENE).unwrap().site, scenario, 1.0).unwrap();
        let mut out = vec![sim.snapshot()];
        for _ in 0..seconds {
            sim.step();
            out.push(sim.snapshot());
        }
        (sim, out)
    }

    #[test]
    fn what_is_kept_seeks_back_exactly_and_saves_as_a_recording() {
        let (sim, live) = run(200);
        let mut h = RunHistory::new(DEFAULT_LIMIT_BYTES);
        for s in &live {
            h.push(s);
        }
        h.push(&live[200]);
        assert_eq!(h.samples(), 201, "the same sample again is ignored");
        for t in [0usize, 1, 59, 60, 61, 100, 149, 150, 200] {
            assert_eq!(h.seek(t as f64).unwrap(), live[t], "at {t} s");
        }
        let mut got = Vec::new();
        h.samples_between(50.0, 130.0, |s| {
            got.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, live[50..=130].to_vec(), "across chunk boundaries");
        let path = std::env::temp_dir().join(format!("ft-history-{}.mcap", std::process::id()));
        let _ = std::fs::remove_file(&path);
        h.save(&path, sim.site(), sim.scenario(), sim.alarm_log()).unwrap();
        let mut p = Player::open(&path).unwrap();
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        for t in [0usize, 75, 200] {
            assert_eq!(p.seek(t as f64).unwrap(), live[t], "saved, at {t} s");
        }
        assert_eq!(p.events().unwrap().len(), sim.alarm_log().len());
        assert!(h.save(&path, sim.site(), sim.scenario(), &[]).unwrap_err().contains("already exists"));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn the_bound_drops_the_oldest_chunks_and_a_new_shape_or_a_reset_starts_over() {
        let (_, live) = run(300);
        let mut h = RunHistory::new(DEFAULT_LIMIT_BYTES);
        for s in &live[..=120] {
            h.push(s);
        }
        let per_chunk = h.bytes() / 3;
        let mut small = RunHistory::new(per_chunk * 2);
        for s in &live {
            small.push(s);
        }
        let r = small.range().unwrap();
        assert!(r.start_s > 0.0 && r.end_s == 300.0 && small.bytes() <= per_chunk * 3, "{r:?} {}", small.bytes());
        assert_eq!(small.seek(300.0).unwrap(), live[300]);
        assert_eq!(small.seek(0.0).unwrap(), live[r.start_s as usize], "earlier than kept: the first kept");
        // A reset: time starts over at 0, and so does the history.
        small.push(&live[0]);
        assert_eq!(small.range().unwrap(), TimeRange { start_s: 0.0, end_s: 0.0 });
        // A layout edit: another shape.
        let mut other = live[1].clone();
        other.racks.gpu_c.pop();
        other.racks.inlet_c.pop();
        small.push(&other);
        assert_eq!(small.samples(), 1);
    }
}
