//! `SimHandle`: a simulation on its own thread. Commands go in over a crossbeam channel; the
//! latest snapshot comes out through a one-slot channel that the sim thread keeps fresh, so a
//! slow reader gets the newest state and neither side ever waits on the other. Everything else
//! the thread has to say comes out as typed `SimEvent`s.
//!
//! The thread runs the simulation in batches bounded by wall time (`MAX_BATCH_WALL`) and reads
//! its commands between them, so Pause is seen within a few tens of milliseconds at any speed and
//! site size. At a speed the site cannot reach it runs flat out, drops the time it cannot make up
//! (`MAX_LAG`) instead of owing it forever, and reports the speed it achieves.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};

use crate::model::Site;
use crate::sim::{Action, Simulation, Snapshot};

/// How fast sim time runs against wall time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Sim seconds per wall second (1 = real time, up to any multiplier).
    Times(f64),
    /// As fast as the machine goes.
    Max,
}

#[derive(Debug, Clone)]
pub enum SimCommand {
    Pause,
    Resume,
    SetSpeed(Speed),
    /// One step, when paused.
    Step,
    /// Inject or restore a failure, change ambient or utilization.
    Apply(Action),
    /// Replace the site (add, move or remove racks); the network re-derives without a restart.
    /// A recording in progress is finished first (`RecordingSaved`), because a recording stores
    /// one scene; a refused edit leaves it running.
    EditSite(Box<Site>),
    /// Layout edits by ids (`crate::edit`), applied in order to the current site, all or
    /// nothing, then taken as `EditSite` takes a site. The editor sends what its history did
    /// (`EditHistory::take_changes`), so a 10,000-rack site is not copied on the UI thread.
    Edits(Vec<crate::edit::Edit>),
    /// Go back to the last good state after an error and carry on.
    Restart,
    /// Start over from time zero (finishes a recording in progress first).
    Reset,
    /// Replay a what-if: carry on from `from` (a resilience check's steady state) with
    /// `failures` applied now (finishes a recording in progress first, as `Reset` does).
    WhatIf {
        from: Box<crate::sim::Simulation>,
        failures: Vec<crate::sim::Failure>,
    },
    /// Record from now on to this file (never overwriting an existing one), at 1 Hz of sim time.
    StartRecording(PathBuf),
    /// Finish the recording in progress.
    StopRecording,
    /// Test hook: make the next step panic, to prove the thread survives it.
    #[doc(hidden)]
    InjectPanic,
    Shutdown,
}

/// What the sim thread tells its owner besides snapshots. The viewer follows these; it never
/// reads meaning out of the text (`Display` is for people).
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// The thread's run state after any change (Pause/Resume/SetSpeed/Restart/Reset/fault). Also
    /// sent once at start, and after each of those commands even when nothing changed, so it
    /// doubles as their acknowledgement.
    RunState {
        paused: bool,
        speed: Speed,
    },
    /// The simulation panicked at `at_s`; rolled back to `rolled_back_to_s` and paused (a
    /// RunState{paused:true,..} follows).
    Fault {
        at_s: f64,
        rolled_back_to_s: f64,
        message: String,
    },
    /// A live edit was refused, with the reasons.
    EditRejected(String),
    /// `Edits` did not apply to the sim's copy of the site, which then differs from the
    /// sender's: the sender sends its whole site (`EditSite`).
    EditsOutOfStep(String),
    EditApplied,
    RecordingStarted(std::path::PathBuf),
    RecordingSaved(std::path::PathBuf),
    RecordingFailed {
        path: std::path::PathBuf,
        error: String,
    },
    /// Sim seconds per wall second actually achieved while running, sent about twice a second
    /// (wall) while running.
    Achieved(f64),
    /// The alarm log's entries from index `from` on (failures, restores, alarms raised and
    /// cleared), sent with the snapshots as it grows; a log that went back (a reset, a
    /// rollback) is sent from where it now ends, so the receiver cuts its copy there.
    Logged {
        from: usize,
        alarms: Vec<crate::sim::Alarm>,
    },
}

impl std::fmt::Display for SimEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimEvent::RunState { paused: true, .. } => write!(f, "paused"),
            SimEvent::RunState { speed: Speed::Max, .. } => write!(f, "running as fast as possible"),
            SimEvent::RunState { speed: Speed::Times(x), .. } => write!(f, "running at {x}×"),
            SimEvent::Fault { at_s, rolled_back_to_s, message } => write!(
                f,
                "simulation stopped at t = {at_s:.0} s: {message}; rolled back to t = {rolled_back_to_s:.0} s and paused"
            ),
            SimEvent::EditRejected(why) => write!(f, "edit refused: {why}"),
            SimEvent::EditsOutOfStep(why) => write!(f, "edit refused: {why}; the whole layout follows"),
            SimEvent::EditApplied => write!(f, "edit applied"),
            SimEvent::RecordingStarted(p) => write!(f, "recording to {}", p.display()),
            SimEvent::RecordingSaved(p) => write!(f, "recording saved to {}", p.display()),
            SimEvent::RecordingFailed { path, error } => write!(f, "recording {} failed: {error}", path.display()),
            SimEvent::Achieved(x) => write!(f, "achieved {x:.0}× (sim seconds per wall second)"),
            SimEvent::Logged { from, alarms } => write!(f, "{} log entries from {from}", alarms.len()),
        }
    }
}

pub struct SimHandle {
    commands: Sender<SimCommand>,
    snapshots: Receiver<Snapshot>,
    events: Receiver<SimEvent>,
    thread: Option<JoinHandle<()>>,
}

/// Snapshots are published at most this often (wall time) while running.
const PUBLISH_EVERY: Duration = Duration::from_millis(16);
/// A copy to roll back to is taken at most this often.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);
/// Longest a batch of steps runs before the thread reads its commands again. It overruns by at
/// most one clock check (`CHECK_EVERY`, or one step on a site whose steps are slower).
pub const MAX_BATCH_WALL: Duration = Duration::from_millis(15);
/// Wall time between two looks at the clock within a batch: the number of steps between looks
/// adapts to the step's cost so the look stays cheap on a small site.
const CHECK_EVERY: Duration = Duration::from_millis(1);
/// Most steps between two looks at the clock.
const MAX_STEPS_PER_CHECK: usize = 1024;
/// Most wall time the thread may be behind its pace. Beyond it the debt is dropped: a site that
/// cannot keep up runs flat out, and when it can again it does not sprint to make up minutes.
pub const MAX_LAG: Duration = Duration::from_millis(250);
/// How often (wall) the achieved speed is reported while running.
const ACHIEVED_EVERY: Duration = Duration::from_millis(500);

impl SimHandle {
    /// Starts the thread, paused or running at `speed`.
    pub fn spawn(sim: Simulation, speed: Speed, paused: bool) -> SimHandle {
        SimHandle::spawn_with(sim, speed, paused, |_| {})
    }

    /// Test hook: a thread whose steps take at least `delay` of wall time, standing in for a big
    /// site on any machine.
    #[cfg(test)]
    pub(super) fn spawn_with_step_delay(sim: Simulation, speed: Speed, paused: bool, delay: Duration) -> SimHandle {
        SimHandle::spawn_with(sim, speed, paused, move |r| r.step_delay = delay)
    }

    fn spawn_with(
        sim: Simulation,
        speed: Speed,
        paused: bool,
        setup: impl FnOnce(&mut Runner) + Send + 'static,
    ) -> SimHandle {
        let (cmd_tx, cmd_rx) = unbounded();
        let (snap_tx, snap_rx) = bounded(1);
        let (ev_tx, ev_rx) = unbounded();
        let snap_drain = snap_rx.clone();
        let thread = std::thread::Builder::new()
            .name("factory-sim".into())
            .spawn(move || {
                let mut r = Runner::new(sim, speed, paused, snap_tx, snap_drain, ev_tx);
                setup(&mut r);
                run(r, cmd_rx)
            })
            .ok();
        SimHandle { commands: cmd_tx, snapshots: snap_rx, events: ev_rx, thread }
    }

    pub fn send(&self, c: SimCommand) {
        // The thread only goes away on Shutdown or when the handle drops.
        let _ = self.commands.send(c);
    }

    /// The newest snapshot since the last call, if any.
    pub fn latest(&self) -> Option<Snapshot> {
        self.snapshots.try_recv().ok()
    }

    /// Waits up to `timeout` for a snapshot (for tools and tests, not the UI).
    pub fn wait_snapshot(&self, timeout: Duration) -> Option<Snapshot> {
        self.snapshots.recv_timeout(timeout).ok()
    }

    pub fn events(&self) -> Vec<SimEvent> {
        self.events.try_iter().collect()
    }

    pub fn wait_event(&self, timeout: Duration) -> Option<SimEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.commands.send(SimCommand::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Puts `snap` in the one-slot channel, replacing a snapshot nobody has read yet.
pub(super) fn publish(tx: &Sender<Snapshot>, drain: &Receiver<Snapshot>, snap: Snapshot) {
    if let Err(crossbeam_channel::TrySendError::Full(s)) = tx.try_send(snap) {
        let _ = drain.try_recv();
        let _ = tx.try_send(s);
    }
}

/// The sim thread's state.
pub(super) struct Runner {
    pub(super) sim: Simulation,
    recorder: Option<(PathBuf, crate::recording::Recorder)>,
    good: Simulation,
    /// The simulation as it started, for Reset.
    initial: Simulation,
    pub(super) speed: Speed,
    pub(super) paused: bool,
    panic_next: bool,
    /// Pacing: sim time `anchor_sim` corresponded to wall time `anchor_wall`.
    pub(super) anchor_wall: Instant,
    pub(super) anchor_sim: f64,
    /// Steps between looks at the clock within a batch (adapts to the step's cost).
    steps_per_check: usize,
    /// Achieved speed: sim and wall time when the current measuring window opened.
    pub(super) window: (Instant, f64),
    snaps: Sender<Snapshot>,
    drain: Receiver<Snapshot>,
    /// How much of the alarm log the owner has been sent.
    log_sent: usize,
    events: Sender<SimEvent>,
    /// Test hook: wall time each step takes at least, to stand in for a big site.
    #[cfg(test)]
    pub(super) step_delay: Duration,
}

impl Runner {
    pub(super) fn new(
        sim: Simulation,
        speed: Speed,
        paused: bool,
        snaps: Sender<Snapshot>,
        drain: Receiver<Snapshot>,
        events: Sender<SimEvent>,
    ) -> Runner {
        let now = Instant::now();
        let t = sim.time_s();
        Runner {
            recorder: None,
            good: sim.clone(),
            initial: sim.clone(),
            sim,
            speed,
            paused,
            panic_next: false,
            anchor_wall: now,
            anchor_sim: t,
            steps_per_check: 1,
            window: (now, t),
            snaps,
            drain,
            log_sent: 0,
            events,
            #[cfg(test)]
            step_delay: Duration::ZERO,
        }
    }

    fn re_anchor(&mut self) {
        let now = Instant::now();
        self.anchor_wall = now;
        self.anchor_sim = self.sim.time_s();
        self.window = (now, self.anchor_sim);
    }

    fn send(&self, e: SimEvent) {
        // The owner may be gone (the app closing); nothing to do then.
        let _ = self.events.send(e);
    }

    fn send_run_state(&self) {
        self.send(SimEvent::RunState { paused: self.paused, speed: self.speed });
    }

    fn publish(&mut self) {
        let snap = self.sim.snapshot();
        publish(&self.snaps, &self.drain, snap);
        let log = self.sim.alarm_log();
        if log.len() != self.log_sent {
            let from = self.log_sent.min(log.len());
            let alarms = log[from..].to_vec();
            self.log_sent = log.len();
            self.send(SimEvent::Logged { from, alarms });
        }
    }

    /// Returns false on Shutdown.
    fn handle(&mut self, c: SimCommand) -> bool {
        match c {
            SimCommand::Pause => {
                self.paused = true;
                // Show where it stopped, not the last snapshot of the batch before.
                self.publish();
                self.send_run_state();
            }
            SimCommand::Resume => {
                self.paused = false;
                self.re_anchor();
                self.send_run_state();
            }
            SimCommand::SetSpeed(s) => {
                self.speed = s;
                self.re_anchor();
                self.send_run_state();
            }
            SimCommand::Step => {
                // Stepped in order with the other commands, so `Step, Step, Apply` means what it says.
                if self.run_steps(1, None).is_some() {
                    self.publish();
                }
            }
            SimCommand::Apply(a) => {
                self.sim.apply(&a);
                self.publish();
            }
            SimCommand::EditSite(site) => self.edit_site(*site),
            SimCommand::Edits(edits) => {
                // The edit seam: applied to a copy of the site by id, then the copy goes in whole.
                let mut site = self.sim.site().clone();
                // Validated by `edit::apply`: the same check `check_edit` makes.
                match edits.iter().try_for_each(|edit| {
                    crate::edit::apply(&mut site, edit).map(drop).map_err(|e| format!("{edit}: {e}"))
                }) {
                    Ok(()) => self.take_site(site),
                    Err(why) => self.send(SimEvent::EditsOutOfStep(why)),
                }
            }
            SimCommand::Restart => {
                self.sim = self.good.clone();
                self.paused = false;
                self.steps_per_check = 1;
                self.re_anchor();
                self.send_run_state();
            }
            SimCommand::Reset => {
                self.stop_recording();
                self.sim = self.initial.clone();
                self.good = self.initial.clone();
                self.steps_per_check = 1;
                self.re_anchor();
                self.publish();
                self.send_run_state();
            }
            SimCommand::WhatIf { from, failures } => {
                self.stop_recording();
                let mut sim = *from;
                sim.set_dt(self.sim.dt());
                for f in failures {
                    sim.apply(&crate::sim::Action::Fail(f));
                }
                self.good = sim.clone();
                self.sim = sim;
                self.steps_per_check = 1;
                self.paused = false;
                self.re_anchor();
                self.publish();
                self.send_run_state();
            }
            SimCommand::StartRecording(path) => {
                self.stop_recording();
                let scenario = self.sim.scenario().clone();
                let started = crate::recording::Recorder::create(&path, &self.sim, &scenario, 1.0)
                    .and_then(|mut r| r.record(&mut self.sim).map(|()| r));
                match started {
                    Ok(r) => {
                        self.recorder = Some((path.clone(), r));
                        self.send(SimEvent::RecordingStarted(path));
                    }
                    Err(error) => self.send(SimEvent::RecordingFailed { path, error }),
                }
            }
            SimCommand::StopRecording => self.stop_recording(),
            SimCommand::InjectPanic => self.panic_next = true,
            SimCommand::Shutdown => {
                self.stop_recording();
                return false;
            }
        }
        true
    }

    /// Replaces the site if it passes the simulation's checks, finishing a recording first.
    fn edit_site(&mut self, site: Site) {
        match self.sim.check_edit(&site) {
            Ok(()) => self.take_site(site),
            Err(e) => self.send(SimEvent::EditRejected(e)),
        }
    }

    /// Takes a site that passed the validator (once: it is the costly part on a large site).
    fn take_site(&mut self, site: Site) {
        // A recording stores one scene: finish it before the scene changes.
        self.stop_recording();
        match self.sim.replace_site(site) {
            Ok(()) => {
                self.steps_per_check = 1;
                self.send(SimEvent::EditApplied);
                self.publish();
            }
            Err(e) => self.send(SimEvent::EditRejected(e)),
        }
    }

    fn stop_recording(&mut self) {
        if let Some((path, r)) = self.recorder.take() {
            match r.finish() {
                Ok(()) => self.send(SimEvent::RecordingSaved(path)),
                Err(error) => self.send(SimEvent::RecordingFailed { path, error }),
            }
        }
    }

    /// Steps due now to keep pace (`usize::MAX` at Max speed). When the thread is behind by more
    /// than `MAX_LAG`, the anchor moves so that only `MAX_LAG` of debt is left.
    pub(super) fn steps_due(&mut self) -> usize {
        if self.paused {
            return 0;
        }
        let x = match self.speed {
            Speed::Times(x) if x.is_nan() || x <= 0.0 => return 0,
            Speed::Times(x) if x.is_finite() => x,
            _ => return usize::MAX,
        };
        let now = Instant::now();
        let target = self.anchor_sim + now.saturating_duration_since(self.anchor_wall).as_secs_f64() * x;
        let behind_wall = (target - self.sim.time_s()) / x;
        // The debt kept is at least two steps' worth of wall time: at 1× with 1-s steps a step
        // falls due only after a second, and a cap below that would never let one run.
        let max_lag = MAX_LAG.as_secs_f64().max(2.0 * self.sim.dt() / x);
        if behind_wall > max_lag {
            self.anchor_wall += Duration::from_secs_f64(behind_wall - max_lag);
        }
        let target = self.anchor_sim + now.saturating_duration_since(self.anchor_wall).as_secs_f64() * x;
        let due = ((target - self.sim.time_s()) / self.sim.dt()).floor();
        if due >= 1.0 { due.min(usize::MAX as f64) as usize } else { 0 }
    }

    /// One batch while running: the steps due, but no longer than `MAX_BATCH_WALL` of wall time.
    /// Returns the steps run (None if the simulation faulted).
    pub(super) fn run_batch(&mut self) -> Option<usize> {
        let due = self.steps_due();
        if due == 0 {
            return Some(0);
        }
        let deadline = Instant::now() + MAX_BATCH_WALL;
        self.run_steps(due, Some(deadline))
    }

    /// Runs up to `steps`, stopping at the first look at the clock past `deadline`, and catches
    /// a panic: roll back to the last good state, pause, report. Returns the steps run, or None
    /// after a panic.
    fn run_steps(&mut self, steps: usize, deadline: Option<Instant>) -> Option<usize> {
        let inject = std::mem::take(&mut self.panic_next);
        let sim = &mut self.sim;
        let recorder = &mut self.recorder;
        let per_check = &mut self.steps_per_check;
        #[cfg(test)]
        let delay = self.step_delay;
        let mut record_error = None;
        let mut done = 0usize;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if inject {
                panic!("injected panic");
            }
            let mut last_look = Instant::now();
            while done < steps {
                let n = (steps - done).min(*per_check);
                for _ in 0..n {
                    sim.step();
                    #[cfg(test)]
                    if !delay.is_zero() {
                        std::thread::sleep(delay);
                    }
                    if let Some((path, r)) = recorder.as_mut() {
                        if let Err(e) = r.record(sim) {
                            record_error = Some((path.clone(), e));
                            *recorder = None;
                        }
                    }
                }
                done += n;
                let Some(deadline) = deadline else { continue };
                let now = Instant::now();
                // Steps per look: about CHECK_EVERY of work; grows at most twofold per look so a
                // sudden slow step (a bigger site) is caught soon.
                let per_step = now.duration_since(last_look).as_secs_f64() / n as f64;
                let fit = if per_step > 0.0 { CHECK_EVERY.as_secs_f64() / per_step } else { f64::INFINITY };
                *per_check = (fit.min((*per_check * 2) as f64) as usize).clamp(1, MAX_STEPS_PER_CHECK);
                last_look = now;
                if now >= deadline {
                    break;
                }
            }
        }));
        if let Some((path, error)) = record_error {
            self.send(SimEvent::RecordingFailed { path, error });
        }
        if let Err(p) = result {
            let message = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let at_s = self.sim.time_s();
            self.sim = self.good.clone();
            self.paused = true;
            self.steps_per_check = 1;
            self.send(SimEvent::Fault { at_s, rolled_back_to_s: self.sim.time_s(), message });
            self.send_run_state();
            self.publish();
            return None;
        }
        Some(done)
    }

    /// Reports the achieved speed once a window of `ACHIEVED_EVERY` has passed.
    pub(super) fn report_achieved(&mut self) {
        let (wall0, sim0) = self.window;
        let wall = wall0.elapsed();
        // A window holds at least ten steps' worth of wall time: at 1× with 1-s steps a
        // half-second window sees one step or none, and read 0× or 2× by turns; with ten, a step
        // more or less at the window's edges is at most a tenth.
        let steps_wall = match self.speed {
            Speed::Times(x) if x > 0.0 && x.is_finite() => Duration::from_secs_f64(10.0 * self.sim.dt() / x),
            _ => Duration::ZERO,
        };
        if wall >= ACHIEVED_EVERY.max(steps_wall) {
            let now_sim = self.sim.time_s();
            self.send(SimEvent::Achieved((now_sim - sim0) / wall.as_secs_f64()));
            self.window = (Instant::now(), now_sim);
        }
    }
}

fn run(mut r: Runner, cmds: Receiver<SimCommand>) {
    let mut last_checkpoint = Instant::now();
    let mut last_publish: Option<Instant> = None;
    r.publish();
    r.send_run_state();

    loop {
        // Commands: block while paused, poll while running.
        if r.paused {
            match cmds.recv() {
                Ok(c) => {
                    if !r.handle(c) {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
        loop {
            match cmds.try_recv() {
                Ok(c) => {
                    if !r.handle(c) {
                        return;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        if r.paused {
            continue;
        }

        match r.run_batch() {
            None => continue,
            Some(0) => {
                // Nothing due yet at this speed: wait for the next step or a command.
                let wait = match r.speed {
                    Speed::Times(x) if x > 0.0 => Duration::from_secs_f64((r.sim.dt() / x).clamp(0.0005, 0.05)),
                    _ => Duration::from_millis(5),
                };
                match cmds.recv_timeout(wait) {
                    Ok(c) => {
                        if !r.handle(c) {
                            return;
                        }
                    }
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                }
            }
            Some(_) => {
                if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
                    r.good = r.sim.clone();
                    last_checkpoint = Instant::now();
                }
                if last_publish.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY) {
                    r.publish();
                    last_publish = Some(Instant::now());
                }
            }
        }
        if !r.paused {
            r.report_achieved();
        }
    }
}

#[cfg(test)]
mod tests;
