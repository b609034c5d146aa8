//! Recordings: every run to an MCAP file (chunked, indexed) that stands alone — the scene and
//! scenario are embedded — and a `Player` that seeks to any time and yields the same `Snapshot`
//! as the live simulation.
//!
//! Layout: channel `/scene` (RON), `/scenario` (RON), `/state` (codec.rs: a keyframe at the start
//! of every chunk, bit-packed prediction residuals between), `/events` (JSON alarms, failures and
//! restores). A chunk is closed before each keyframe, so seeking is a binary search over chunk
//! start times plus at most one chunk's deltas, and a killed recorder loses at most the chunk in
//! progress.

pub mod codec;
pub mod history;
pub mod playback;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mcap::records::{ChunkHeader, Record};

use crate::model::Site;
use crate::scene;
use crate::sim::{Alarm, Scenario, Simulation, Snapshot, StateCopy};
use codec::{Columns, Layout, Prior, Shape, decode_in, encode_into, unflatten_in};

/// Sim seconds between keyframes (and chunk boundaries).
pub const KEYFRAME_EVERY_S: f64 = 60.0;
/// Largest uncompressed chunk accepted when reading (ours: ~15 MB for 10,000 racks).
const MAX_CHUNK_BYTES: u64 = 512 << 20;
/// v4: chillers, dry coolers and CRAHs carry their own columns (issue 16); v3 (f32 values
/// bit-packed as residuals of a straight-line prediction) and v2 (byte-plane differences) files
/// still read, their equipment with the two values it had then (`codec::Layout`).
const STATE_ENCODING: &str = "factory-twin-state-v4";
const OLDER_STATE_ENCODINGS: [&str; 2] = ["factory-twin-state-v3", "factory-twin-state-v2"];

fn ns(t: f64) -> u64 {
    (t.max(0.0) * 1e9).round() as u64
}

/// Writes a recording while a simulation runs. The sim thread only copies the engine's arrays
/// into a recycled buffer (`Simulation::copy_state_into`: rack columns converted to f32, the rest
/// a memcpy); the rest of the conversion, the encoding and the I/O run on a writer thread.
pub struct Recorder {
    tx: Option<crossbeam_channel::Sender<WriterMsg>>,
    /// Copies the writer is done with, reused so the sim thread does not allocate.
    spare: crossbeam_channel::Receiver<StateCopy>,
    writer: Option<std::thread::JoinHandle<Result<(), String>>>,
    period_s: f64,
    next_sample_s: f64,
    prev_alarms: Option<Arc<Vec<Alarm>>>,
    events_written: usize,
    batch: Vec<Sample>,
    batch_size: usize,
}

/// Most samples handed to the writer per message: one hand-over (and, if the writer sleeps, one
/// wake-up: microseconds in a VM, a fair share of a 15 µs step) per batch instead of per
/// sample. Large sites get smaller batches (`batch_for`): their steps dwarf a hand-over.
const BATCH: usize = 32;
/// Batches queued for the writer before the sim waits. With the batch being filled and the one
/// the writer works on, this bounds the copies in flight, and the spare pool holds them all, so
/// a sim that runs ahead of the writer waits instead of allocating.
const QUEUED_BATCHES: usize = 2;

/// Samples per batch for a site of `racks`: about 1 MB of copies at most.
fn batch_for(racks: usize) -> usize {
    (40_000 / racks.max(1)).clamp(1, BATCH)
}

struct Sample {
    t: f64,
    shape: Shape,
    copy: StateCopy,
    alarms: Option<Arc<Vec<Alarm>>>,
}

enum WriterMsg {
    States(Vec<Sample>),
    Event(Alarm),
    Finish,
}

/// The writer thread's side: owns the file.
struct Writer {
    mcap: mcap::Writer<BufWriter<File>>,
    state: u16,
    events: u16,
    seq: u32,
    next_keyframe_s: f64,
    /// The last sample written and the one before it in this chunk: what the next is predicted
    /// from.
    last: Option<Columns>,
    before: Option<Columns>,
    /// The active alarms as last sent: every keyframe carries them in full.
    alarms: Arc<Vec<Alarm>>,
    encoded: Vec<u8>,
    spare: crossbeam_channel::Sender<StateCopy>,
    /// Column buffers no longer needed as a prior.
    free: Vec<Columns>,
}

impl Writer {
    fn state(&mut self, t: f64, shape: Shape, copy: StateCopy, alarms: Option<Arc<Vec<Alarm>>>) -> Result<(), String> {
        let mut cols = self.free.pop().unwrap_or_default();
        codec::columns_of(&copy, &mut cols);
        // Full means the sim has enough buffers: let this one go.
        let _ = self.spare.try_send(copy);
        // A live edit changes the shape: the next sample starts a chunk with a keyframe.
        let keyframe = t + 1e-9 >= self.next_keyframe_s || self.last.as_ref().is_none_or(|l| !l.same_shape(&cols));
        if keyframe {
            // Close the chunk so the next one starts with this keyframe, predicted from nothing.
            self.mcap.flush().map_err(|e| e.to_string())?;
            self.next_keyframe_s = t + KEYFRAME_EVERY_S;
            self.free.extend(self.last.take());
            self.free.extend(self.before.take());
        }
        if let Some(a) = &alarms {
            self.alarms = a.clone();
        }
        let alarms = if keyframe { Some(self.alarms.clone()) } else { alarms };
        let alarms_json = match alarms {
            Some(a) => Some(serde_json::to_vec(&*a).map_err(|e| e.to_string())?),
            None => None,
        };
        let prior = Prior { last: self.last.as_ref(), before: self.before.as_ref() };
        encode_into(&mut self.encoded, shape, &cols, prior, alarms_json.as_deref());
        self.seq += 1;
        let header = mcap::records::MessageHeader {
            channel_id: self.state,
            sequence: self.seq,
            log_time: ns(t),
            publish_time: ns(t),
        };
        self.mcap.write_to_known_channel(&header, &self.encoded).map_err(|e| e.to_string())?;
        let before = std::mem::replace(&mut self.before, self.last.replace(cols));
        self.free.extend(before);
        Ok(())
    }

    fn event(&mut self, a: &Alarm) -> Result<(), String> {
        self.seq += 1;
        let data = serde_json::to_vec(a).map_err(|e| e.to_string())?;
        let at = ns(a.time_s);
        let header = mcap::records::MessageHeader {
            channel_id: self.events,
            sequence: self.seq,
            log_time: at,
            publish_time: at,
        };
        self.mcap.write_to_known_channel(&header, &data).map_err(|e| e.to_string())
    }

    fn run(mut self, rx: crossbeam_channel::Receiver<WriterMsg>) -> Result<(), String> {
        while let Some(msg) = next_message(&rx) {
            match msg {
                WriterMsg::States(batch) => {
                    for Sample { t, shape, copy, alarms } in batch {
                        self.state(t, shape, copy, alarms)?;
                    }
                }
                WriterMsg::Event(a) => self.event(&a)?,
                WriterMsg::Finish => {
                    self.mcap.finish().map_err(|e| e.to_string())?;
                    // The last buffered bytes: a failed write (a full disk) is reported here
                    // rather than lost in a drop.
                    return self.mcap.into_inner().flush().map_err(|e| e.to_string());
                }
            }
        }
        // Dropped without Finish: leave the file as a crash would, readable up to its last chunk.
        Ok(())
    }
}

/// How often an idle writer looks for work while samples keep coming.
const POLL: Duration = Duration::from_micros(200);
/// How long without work before the writer blocks instead (a slow run: waking it costs nothing
/// that matters then).
const IDLE_BEFORE_BLOCKING: Duration = Duration::from_millis(50);

/// The writer's next message. While a simulation runs fast the writer polls, so the sim thread
/// never pays for waking it (a futex wake is microseconds in a VM, a tenth of a step); when no
/// work has come for a while it blocks until some does.
fn next_message(rx: &crossbeam_channel::Receiver<WriterMsg>) -> Option<WriterMsg> {
    let mut idle = Duration::ZERO;
    loop {
        match rx.try_recv() {
            Ok(msg) => return Some(msg),
            Err(crossbeam_channel::TryRecvError::Disconnected) => return None,
            Err(crossbeam_channel::TryRecvError::Empty) if idle < IDLE_BEFORE_BLOCKING => {
                std::thread::sleep(POLL);
                idle += POLL;
            }
            Err(crossbeam_channel::TryRecvError::Empty) => return rx.recv().ok(),
        }
    }
}

/// A new recording file with its channels, the scene and the scenario written.
struct NewFile {
    mcap: mcap::Writer<BufWriter<File>>,
    state: u16,
    events: u16,
}

/// Creates `path` (never over an existing file), adds the channels and writes the scene and
/// scenario at `t0`: what `Recorder` and `RunHistory::save` both start with.
fn new_file(path: &Path, site: &Site, scenario: &Scenario, t0: f64) -> Result<NewFile, String> {
    let file = File::options().write(true).create_new(true).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{} already exists: choose another name or remove it first (recordings are never overwritten)",
                path.display()
            )
        } else {
            format!("cannot create {}: {e}", path.display())
        }
    })?;
    let mcap_err = |e: mcap::McapError| format!("{}: {e}", path.display());
    let mut mcap = mcap::WriteOptions::new()
        .profile("factory-twin")
        // No chunk compression: the state is already bit-packed (codec.rs). zstd on top took
        // another third off the size but cost the writer half a simulation step per sample,
        // which is what decided whether recording slowed the simulation.
        .compression(None)
        // Chunks end at keyframes (flush), not at a size.
        .chunk_size(Some(u64::MAX))
        // Uncompressed records go straight to the file: buffer them. The writer seeks back to
        // finish each chunk's header, which flushes the buffer at least once a chunk.
        .create(BufWriter::with_capacity(1 << 20, file))
        .map_err(mcap_err)?;
    let scene_ch = mcap.add_channel(0, "/scene", "ron", &BTreeMap::new()).map_err(mcap_err)?;
    let scenario_ch = mcap.add_channel(0, "/scenario", "ron", &BTreeMap::new()).map_err(mcap_err)?;
    let state = mcap.add_channel(0, "/state", STATE_ENCODING, &BTreeMap::new()).map_err(mcap_err)?;
    let events = mcap.add_channel(0, "/events", "json", &BTreeMap::new()).map_err(mcap_err)?;
    let scene_text = scene::to_ron(site).map_err(|e| e.to_string())?;
    let scenario_text =
        ron::ser::to_string_pretty(scenario, ron::ser::PrettyConfig::default()).map_err(|e| e.to_string())?;
    let t0 = ns(t0);
    for (ch, data) in [(scene_ch, scene_text.as_bytes()), (scenario_ch, scenario_text.as_bytes())] {
        let header = mcap::records::MessageHeader { channel_id: ch, sequence: 0, log_time: t0, publish_time: t0 };
        mcap.write_to_known_channel(&header, data).map_err(mcap_err)?;
    }
    Ok(NewFile { mcap, state, events })
}

impl Recorder {
    /// Creates `path` (never overwriting an existing file) and writes the scene and scenario.
    /// `period_s` is the sample period in sim seconds (1 s = 1 Hz).
    pub fn create(path: &Path, sim: &Simulation, scenario: &Scenario, period_s: f64) -> Result<Recorder, String> {
        if !(period_s.is_finite() && period_s > 0.0) {
            return Err(format!("record rate: a period of {period_s} s is not positive"));
        }
        let NewFile { mcap, state, events } = new_file(path, sim.site(), scenario, sim.time_s())?;
        let batch_size = batch_for(Shape::of_network(sim.network()).racks as usize);
        // Copies in flight: the batch being filled, the queued ones, the one being written.
        let (spare_tx, spare) = crossbeam_channel::bounded((QUEUED_BATCHES + 2) * batch_size);
        let writer = Writer {
            mcap,
            state,
            events,
            seq: 0,
            next_keyframe_s: sim.time_s(),
            last: None,
            before: None,
            alarms: Arc::new(Vec::new()),
            encoded: Vec::new(),
            spare: spare_tx,
            free: Vec::new(),
        };
        // Bounded: a writer that falls far behind slows the sim rather than filling memory.
        let (tx, rx) = crossbeam_channel::bounded(QUEUED_BATCHES);
        let handle = std::thread::Builder::new()
            .name("factory-recorder".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| format!("cannot start the recording thread: {e}"))?;
        Ok(Recorder {
            tx: Some(tx),
            spare,
            writer: Some(handle),
            period_s,
            next_sample_s: sim.time_s(),
            prev_alarms: None,
            events_written: 0,
            batch: Vec::with_capacity(batch_size),
            batch_size,
        })
    }

    fn send(&mut self, msg: WriterMsg) -> Result<(), String> {
        let ok = self.tx.as_ref().is_some_and(|tx| tx.send(msg).is_ok());
        if ok {
            return Ok(());
        }
        // The writer stopped: its result says why.
        self.tx = None;
        match self.writer.take().map(|h| h.join()) {
            Some(Ok(Err(e))) => Err(format!("recording stopped: {e}")),
            Some(Err(_)) => Err("recording stopped: the writer thread panicked".into()),
            _ => Err("recording stopped".into()),
        }
    }

    fn flush_batch(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
        self.send(WriterMsg::States(batch))
    }

    /// Call after every step: hands a sample to the writer when one is due, and any new events.
    pub fn record(&mut self, sim: &mut Simulation) -> Result<(), String> {
        let t = sim.time_s();
        if t + 1e-9 < self.next_sample_s {
            return Ok(());
        }
        self.next_sample_s +=
            self.period_s * ((t - self.next_sample_s) / self.period_s + 1e-9).floor().max(0.0) + self.period_s;
        let mut copy = self.spare.try_recv().unwrap_or_default();
        sim.copy_state_into(&mut copy);
        // The alarm list travels only when it changed (the engine swaps the Arc when it does).
        let active = sim.active_alarms();
        let changed = !self.prev_alarms.as_ref().is_some_and(|a| Arc::ptr_eq(a, &active));
        let alarms = changed.then(|| active.clone());
        self.prev_alarms = Some(active);
        self.batch.push(Sample { t, shape: Shape::of_network(sim.network()), copy, alarms });
        if self.batch.len() >= self.batch_size {
            self.flush_batch()?;
        }
        // A rollback after a caught panic shortens the log.
        self.events_written = self.events_written.min(sim.alarm_log().len());
        if sim.alarm_log().len() > self.events_written {
            // States first, so the file keeps the order things happened in.
            self.flush_batch()?;
            let new: Vec<Alarm> = sim.alarm_log()[self.events_written..].to_vec();
            self.events_written += new.len();
            for a in new {
                self.send(WriterMsg::Event(a))?;
            }
        }
        Ok(())
    }

    /// Writes the summary and index; a recording that is never finished is still readable.
    pub fn finish(mut self) -> Result<(), String> {
        self.flush_batch()?;
        self.send(WriterMsg::Finish)?;
        self.tx = None;
        match self.writer.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("recording: the writer thread panicked".into()),
            None => Ok(()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.flush_batch();
        // Let the writer drain what it has; without Finish the file stays unfinished.
        self.tx = None;
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

/// A chunk of the file: its header and its compressed records.
#[derive(Clone)]
struct ChunkRef {
    start_ns: u64,
    end_ns: u64,
    header: ChunkHeader,
    body: Vec<u8>,
}

/// Reads a recording: seek anywhere, list events, yield `Snapshot`s. A clone holds its own
/// copy of the (compressed) file, for reading it on another thread.
#[derive(Clone)]
pub struct Player {
    chunks: Vec<ChunkRef>,
    channels: BTreeMap<u16, String>,
    /// The columns the file's state messages have (older builds recorded fewer).
    layout: Layout,
    pub site: Site,
    pub scenario: Scenario,
    /// What was wrong with the file, if anything (truncated, damaged chunks).
    pub problems: Vec<String>,
    /// The counts of objects in `site`: every sample must have them, since the viewer and the
    /// exporter index the state by the scene's objects.
    scene_shape: Shape,
    /// The last chunk decoded: its index and its state messages (time, bytes).
    cache: Option<(usize, Vec<(u64, Vec<u8>)>)>,
}

/// Times of the first and last state sample, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    pub start_s: f64,
    pub end_s: f64,
}

impl Player {
    /// Recorded by a build before issue 16: CRAHs, dry coolers and chillers have only their
    /// heat, power and running state (the rest reads 0).
    pub fn recorded_equipment_values_only(&self) -> bool {
        self.layout == Layout::EquipmentV3
    }

    /// What the recorded tokens are of: the recorded scene's benchmark, or, for a file from
    /// before tokens came from MLPerf results, the rack types' own figures of then.
    pub fn tokens_of(&self) -> String {
        if self.recorded_equipment_values_only() {
            "the rack types' own tokens_per_s (recorded before tokens came from MLPerf results)".into()
        } else {
            crate::model::mlperf::tokens_of(&self.site)
        }
    }

    pub fn open(path: &Path) -> Result<Player, String> {
        let data = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Player::from_bytes(data).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Opens a recording held in memory. Uses the file's index when it has one; a file cut short
    /// (a killed recorder) is scanned instead, and everything up to the damage is kept.
    pub fn from_bytes(data: Vec<u8>) -> Result<Player, String> {
        if data.len() < 8 || &data[..8] != mcap::MAGIC {
            return Err("not a factory-twin recording (no MCAP magic at the start)".into());
        }
        let mut problems = Vec::new();
        let mut chunks = Vec::new();
        let summary = match mcap::Summary::read(&data) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("the recording has no index ({e}: it was not finished, e.g. the recorder was killed); recovered by scanning"));
                None
            }
        };
        match summary {
            Some(s) if !s.chunk_indexes.is_empty() => {
                for ci in &s.chunk_indexes {
                    let off = ci.chunk_start_offset as usize;
                    let end = off.checked_add(ci.chunk_length as usize).filter(|&e| e <= data.len() && off + 9 <= e);
                    let Some(end) = end else {
                        problems.push(format!("chunk at byte {off} lies outside the file"));
                        continue;
                    };
                    match mcap::read::parse_record(data[off], &data[off + 9..end]) {
                        Ok(Record::Chunk { header, data: body }) => {
                            chunks.push(ChunkRef {
                                start_ns: ci.message_start_time,
                                end_ns: ci.message_end_time,
                                header,
                                body: body.into_owned(),
                            });
                        }
                        Ok(_) | Err(_) => problems.push(format!("chunk at byte {off} is damaged")),
                    }
                }
            }
            _ => {
                if problems.is_empty() {
                    problems.push("the recording has no index (it was not finished, e.g. the recorder was killed); recovered by scanning".into());
                }
                let reader =
                    mcap::read::LinearReader::new_with_options(&data, mcap::read::Options::IgnoreEndMagic.into())
                        .map_err(|e| e.to_string())?;
                for rec in reader {
                    match rec {
                        Ok(Record::Chunk { header, data: body }) => {
                            chunks.push(ChunkRef {
                                start_ns: header.message_start_time,
                                end_ns: header.message_end_time,
                                header,
                                body: body.into_owned(),
                            });
                        }
                        Ok(Record::DataEnd(_)) => break,
                        Ok(_) => {}
                        Err(e) => {
                            problems.push(format!(
                                "the file is damaged or cut short after {} complete chunks ({e}); what follows is lost",
                                chunks.len()
                            ));
                            break;
                        }
                    }
                }
            }
        }
        chunks.sort_by_key(|c| c.start_ns);
        drop(data);
        let mut p = Player {
            chunks,
            channels: BTreeMap::new(),
            layout: Layout::Current,
            site: Site {
                version: 0,
                name: String::new(),
                location: String::new(),
                ambient: crate::model::Ambient { dry_bulb_c: 0.0, wet_bulb_c: 0.0 },
                benchmark: None,
                rack_types: Vec::new(),
                halls: Vec::new(),
                plant: Default::default(),
                power: Default::default(),
            },
            scenario: Scenario::default(),
            problems,
            scene_shape: Shape::default(),
            cache: None,
        };
        if p.chunks.is_empty() {
            return Err(format!(
                "no complete chunk of data in the recording{}",
                p.problems.first().map(|s| format!(": {s}")).unwrap_or_default()
            ));
        }
        // The first chunk carries the channels, the scene and the scenario.
        let mut scene_text = None;
        let mut scenario_text = None;
        for rec in p.chunk_records(0)? {
            match rec {
                Rec::Channel(id, topic, encoding) => {
                    if topic == "/state" {
                        p.layout = match encoding.as_str() {
                            STATE_ENCODING => Layout::Current,
                            e if OLDER_STATE_ENCODINGS.contains(&e) => {
                                p.problems.push(format!(
                                    "recorded by an earlier build ({e}): chillers, dry coolers and CRAHs show their \
                                     heat, power and running state only (available capacity, COP, fan speed and the \
                                     like were not recorded)"
                                ));
                                Layout::EquipmentV3
                            }
                            e => {
                                return Err(format!(
                                    "its state is in an unknown format \"{e}\" (a newer factory-twin?): open it \
                                     with the build that recorded it"
                                ));
                            }
                        };
                    }
                    p.channels.insert(id, topic);
                }
                Rec::Message(ch, _, body) => match p.channels.get(&ch).map(String::as_str) {
                    Some("/scene") => scene_text = Some(body),
                    Some("/scenario") => scenario_text = Some(body),
                    _ => {}
                },
            }
        }
        let scene_text = scene_text.ok_or("the recording has no scene")?;
        let text = String::from_utf8(scene_text).map_err(|_| "the embedded scene is not text")?;
        p.site = scene::parse(&text)
            .map_err(|e| {
                format!(
                    "the embedded scene does not load: {}",
                    e.0.first().map(|d| d.message.clone()).unwrap_or_default()
                )
            })?
            .site;
        if let Some(s) = scenario_text {
            let text = String::from_utf8(s).map_err(|_| "the embedded scenario is not text")?;
            p.scenario =
                Scenario::from_ron(&text).map_err(|d| format!("the embedded scenario does not load: {}", d.message))?;
        }
        let net = crate::sim::network::Network::build(&p.site)
            .map_err(|e| format!("the embedded scene does not load: {e}"))?;
        p.scene_shape = Shape::of_network(&net);
        p.check_first_sample()?;
        Ok(p)
    }

    /// Refuses a recording whose state does not fit its scene (a crafted file, or one recorded
    /// across a live edit by an older build): the first sample is checked here, every later one
    /// as it is decoded.
    fn check_first_sample(&self) -> Result<(), String> {
        let Some(state) = self.state_channel() else { return Ok(()) };
        for i in 0..self.chunks.len() {
            let first = self.chunk_records(i)?.into_iter().find_map(|r| match r {
                Rec::Message(ch, at, body) if ch == state => Some((at, body)),
                _ => None,
            });
            if let Some((at, body)) = first {
                let d = ChunkDecoder::new(self.layout).next(&body)?;
                return self.fits(at, d.shape);
            }
        }
        Ok(())
    }

    /// Err with what differs when a sample at `at_ns` does not have the scene's shape.
    fn fits(&self, at_ns: u64, shape: Shape) -> Result<(), String> {
        match shape.mismatch(&self.scene_shape) {
            None => Ok(()),
            Some(m) => Err(format!(
                "the recorded state at {:.0} s does not fit the recording's scene: {m}; the file is damaged or was not written by this version",
                at_ns as f64 / 1e9
            )),
        }
    }

    /// First and last sample time.
    pub fn time_range(&self) -> TimeRange {
        let start = self.chunks.first().map_or(0, |c| c.start_ns);
        let end = self.chunks.last().map_or(0, |c| c.end_ns);
        TimeRange { start_s: start as f64 / 1e9, end_s: end as f64 / 1e9 }
    }

    /// Decompresses chunk `i` and splits it into records, checking every length and the CRC
    /// ourselves so a damaged file gives a message, never a huge allocation or a panic.
    fn chunk_records(&self, i: usize) -> Result<Vec<Rec>, String> {
        let c = &self.chunks[i];
        let size = c.header.uncompressed_size;
        if size > MAX_CHUNK_BYTES {
            return Err(self.damaged(i, format!("chunk claims {size} bytes uncompressed")));
        }
        let bytes = match c.header.compression.as_str() {
            "zstd" => zstd::bulk::decompress(&c.body, size as usize).map_err(|e| self.damaged(i, e))?,
            "" => c.body.clone(),
            other => return Err(self.damaged(i, format!("unknown compression {other:?}"))),
        };
        if bytes.len() as u64 != size {
            return Err(self.damaged(i, "chunk size does not match its header"));
        }
        if c.header.uncompressed_crc != 0 && crc32fast::hash(&bytes) != c.header.uncompressed_crc {
            return Err(self.damaged(i, "chunk checksum does not match"));
        }
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pos < bytes.len() {
            let head = bytes.get(pos..pos + 9).ok_or_else(|| self.damaged(i, "record header cut short"))?;
            let op = head[0];
            let len = u64::from_le_bytes([head[1], head[2], head[3], head[4], head[5], head[6], head[7], head[8]]);
            let body_start = pos + 9;
            let body_end =
                usize::try_from(len).ok().and_then(|l| body_start.checked_add(l)).filter(|&e| e <= bytes.len());
            let body_end = body_end.ok_or_else(|| self.damaged(i, "record runs past the end of its chunk"))?;
            match mcap::read::parse_record(op, &bytes[body_start..body_end]).map_err(|e| self.damaged(i, e))? {
                Record::Channel(ch) => out.push(Rec::Channel(ch.id, ch.topic, ch.message_encoding)),
                Record::Message { header, data } => {
                    out.push(Rec::Message(header.channel_id, header.log_time, data.into_owned()))
                }
                _ => {}
            }
            pos = body_end;
        }
        Ok(out)
    }

    fn damaged(&self, i: usize, e: impl std::fmt::Display) -> String {
        let c = &self.chunks[i];
        format!(
            "the recording is damaged between {:.0} s and {:.0} s ({e})",
            c.start_ns as f64 / 1e9,
            c.end_ns as f64 / 1e9
        )
    }

    fn state_channel(&self) -> Option<u16> {
        self.channels.iter().find(|(_, t)| t.as_str() == "/state").map(|(id, _)| *id)
    }

    /// The state at `t` seconds: the last sample at or before it (the first sample if `t` is
    /// earlier, the last if later). O(log chunks) to find the keyframe, then its deltas.
    pub fn seek(&mut self, t: f64) -> Result<Snapshot, String> {
        let t_ns = if t.is_finite() {
            ns(t)
        } else if t > 0.0 {
            u64::MAX
        } else {
            0
        };
        let i = self.chunks.partition_point(|c| c.start_ns <= t_ns).saturating_sub(1);
        if self.cache.as_ref().is_none_or(|(ci, _)| *ci != i) {
            let state = self.state_channel().ok_or("the recording has no state channel")?;
            let msgs: Vec<(u64, Vec<u8>)> = self
                .chunk_records(i)?
                .into_iter()
                .filter_map(|r| match r {
                    Rec::Message(ch, at, body) if ch == state => Some((at, body)),
                    _ => None,
                })
                .collect();
            if msgs.is_empty() {
                return Err(self.damaged(i, "no state in this chunk"));
            }
            self.cache = Some((i, msgs));
        }
        let Some((_, msgs)) = &self.cache else { return Err("internal: no chunk".into()) };
        let mut chunk = ChunkDecoder::new(self.layout);
        let mut shape = Shape::default();
        let mut alarms: Option<Vec<u8>> = None;
        for (k, (at, body)) in msgs.iter().enumerate() {
            if k > 0 && *at > t_ns {
                break;
            }
            let d = chunk.next(body)?;
            if k == 0 && !d.keyframe {
                return Err("a chunk does not start with a keyframe".into());
            }
            self.fits(*at, d.shape)?;
            shape = d.shape;
            if d.alarms.is_some() {
                alarms = d.alarms;
            }
        }
        let cols = chunk.last.ok_or("no state")?;
        let list: Vec<Alarm> = match alarms {
            Some(json) => serde_json::from_slice(&json).map_err(|e| format!("damaged alarm list: {e}"))?,
            None => Vec::new(),
        };
        unflatten_in(self.layout, shape, &cols, Arc::new(list))
    }

    /// Every failure, restore and alarm event in the recording, in time order.
    pub fn events(&self) -> Result<Vec<Alarm>, String> {
        let events = self.channels.iter().find(|(_, t)| t.as_str() == "/events").map(|(id, _)| *id);
        let mut out = Vec::new();
        for i in 0..self.chunks.len() {
            for r in self.chunk_records(i)? {
                if let Rec::Message(ch, _, body) = r {
                    if Some(ch) == events {
                        out.push(serde_json::from_slice::<Alarm>(&body).map_err(|e| format!("damaged event: {e}"))?);
                    }
                }
            }
        }
        out.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        Ok(out)
    }

    /// Sample times of one chunk at a time, for export: calls `f` with every state sample.
    pub fn for_each_sample(&mut self, mut f: impl FnMut(&Snapshot) -> Result<(), String>) -> Result<(), String> {
        let state = self.state_channel().ok_or("the recording has no state channel")?;
        let shape_alarms = Arc::new(Vec::new());
        for i in 0..self.chunks.len() {
            let mut chunk = ChunkDecoder::new(self.layout);
            for r in self.chunk_records(i)? {
                if let Rec::Message(ch, at, body) = r {
                    if ch == state {
                        let d = chunk.next(&body)?;
                        self.fits(at, d.shape)?;
                        let cols = chunk.last.as_ref().ok_or("no state")?;
                        f(&unflatten_in(self.layout, d.shape, cols, shape_alarms.clone())?)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Every state sample with `from_s <= time <= to_s`, in order, decoding only the chunks that
    /// overlap the range and each of them once (the inspector's charts of the last minutes).
    pub fn samples_between(
        &mut self,
        from_s: f64,
        to_s: f64,
        mut f: impl FnMut(&Snapshot) -> Result<(), String>,
    ) -> Result<(), String> {
        let state = self.state_channel().ok_or("the recording has no state channel")?;
        let (from, to) = (ns(from_s.max(0.0)), ns(to_s.max(0.0)));
        let no_alarms = Arc::new(Vec::new());
        for i in 0..self.chunks.len() {
            if self.chunks[i].end_ns < from || self.chunks[i].start_ns > to {
                continue;
            }
            let mut chunk = ChunkDecoder::new(self.layout);
            for r in self.chunk_records(i)? {
                if let Rec::Message(ch, at, body) = r {
                    if ch == state {
                        let d = chunk.next(&body)?;
                        if at >= from && at <= to {
                            self.fits(at, d.shape)?;
                            let cols = chunk.last.as_ref().ok_or("no state")?;
                            f(&unflatten_in(self.layout, d.shape, cols, no_alarms.clone())?)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Decodes one chunk's state messages in order, keeping the two samples the next message is
/// predicted from (as the writer did).
struct ChunkDecoder {
    layout: Layout,
    last: Option<Columns>,
    before: Option<Columns>,
}

impl ChunkDecoder {
    fn new(layout: Layout) -> ChunkDecoder {
        ChunkDecoder { layout, last: None, before: None }
    }

    /// Decodes the next message; its columns are then `self.last` (the returned `columns` are
    /// left empty).
    fn next(&mut self, body: &[u8]) -> Result<codec::Decoded, String> {
        let mut d = decode_in(self.layout, body, Prior { last: self.last.as_ref(), before: self.before.as_ref() })?;
        self.before = if d.keyframe { None } else { self.last.take() };
        self.last = Some(std::mem::take(&mut d.columns));
        Ok(d)
    }
}

enum Rec {
    /// Id, topic, message encoding.
    Channel(u16, String, String),
    Message(u16, u64, Vec<u8>),
}

#[cfg(test)]
mod tests;
