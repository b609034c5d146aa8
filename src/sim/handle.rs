//! `SimHandle`: a simulation on its own thread. Commands go in over a crossbeam channel; the
//! latest snapshot comes out through a one-slot channel that the sim thread keeps fresh, so a
//! slow reader gets the newest state and neither side ever waits on the other.

use std::panic::AssertUnwindSafe;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};

use super::{Action, Simulation, Snapshot};
use crate::model::Site;

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
    EditSite(Box<Site>),
    /// Go back to the last good state after an error and carry on.
    Restart,
    /// Start over from time zero (finishes a recording in progress first).
    Reset,
    /// Record from now on to this file (never overwriting an existing one), at 1 Hz of sim time.
    StartRecording(std::path::PathBuf),
    /// Finish the recording in progress.
    StopRecording,
    /// Test hook: make the next step panic, to prove the thread survives it.
    #[doc(hidden)]
    InjectPanic,
    Shutdown,
}

/// What the sim thread tells its owner besides snapshots.
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// The simulation panicked; it was rolled back to the last good state and paused.
    Error(String),
    /// A live edit was refused, with the reasons.
    EditRejected(String),
    EditApplied,
    /// A recording started, or finished (with its path), or failed.
    Recording(String),
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

impl SimHandle {
    /// Starts the thread, paused or running at `speed`.
    pub fn spawn(sim: Simulation, speed: Speed, paused: bool) -> SimHandle {
        let (cmd_tx, cmd_rx) = unbounded();
        let (snap_tx, snap_rx) = bounded(1);
        let (ev_tx, ev_rx) = unbounded();
        let snap_drain = snap_rx.clone();
        let thread = std::thread::Builder::new()
            .name("factory-sim".into())
            .spawn(move || run(sim, speed, paused, cmd_rx, snap_tx, snap_drain, ev_tx))
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
fn publish(tx: &Sender<Snapshot>, drain: &Receiver<Snapshot>, snap: Snapshot) {
    if let Err(crossbeam_channel::TrySendError::Full(s)) = tx.try_send(snap) {
        let _ = drain.try_recv();
        let _ = tx.try_send(s);
    }
}

/// The sim thread's state.
struct Runner {
    sim: Simulation,
    recorder: Option<(std::path::PathBuf, crate::recording::Recorder)>,
    good: Simulation,
    /// The simulation as it started, for Reset.
    initial: Simulation,
    speed: Speed,
    paused: bool,
    panic_next: bool,
    /// Pacing: sim time `anchor_sim` corresponded to wall time `anchor_wall`.
    anchor_wall: Instant,
    anchor_sim: f64,
    snaps: Sender<Snapshot>,
    drain: Receiver<Snapshot>,
    events: Sender<SimEvent>,
}

impl Runner {
    fn re_anchor(&mut self) {
        self.anchor_wall = Instant::now();
        self.anchor_sim = self.sim.time_s();
    }

    /// Returns false on Shutdown.
    fn handle(&mut self, c: SimCommand) -> bool {
        match c {
            SimCommand::Pause => self.paused = true,
            SimCommand::Resume => {
                self.paused = false;
                self.re_anchor();
            }
            SimCommand::SetSpeed(s) => {
                self.speed = s;
                self.re_anchor();
            }
            SimCommand::Step => {
                // Stepped in order with the other commands, so `Step, Step, Apply` means what it says.
                if self.run_steps(1) {
                    publish(&self.snaps, &self.drain, self.sim.snapshot());
                }
            }
            SimCommand::Apply(a) => {
                self.sim.apply(&a);
                publish(&self.snaps, &self.drain, self.sim.snapshot());
            }
            SimCommand::EditSite(site) => match self.sim.edit_site(*site) {
                Ok(()) => {
                    let _ = self.events.send(SimEvent::EditApplied);
                    publish(&self.snaps, &self.drain, self.sim.snapshot());
                }
                Err(e) => {
                    let _ = self.events.send(SimEvent::EditRejected(e));
                }
            },
            SimCommand::Restart => {
                self.sim = self.good.clone();
                self.paused = false;
                self.re_anchor();
            }
            SimCommand::Reset => {
                self.stop_recording();
                self.sim = self.initial.clone();
                self.good = self.initial.clone();
                self.re_anchor();
                publish(&self.snaps, &self.drain, self.sim.snapshot());
            }
            SimCommand::StartRecording(path) => {
                self.stop_recording();
                let scenario = self.sim.scenario().clone();
                let msg = match crate::recording::Recorder::create(&path, &self.sim, &scenario, 1.0) {
                    Ok(mut r) => match r.record(&mut self.sim) {
                        Ok(()) => {
                            let m = format!("recording to {}", path.display());
                            self.recorder = Some((path, r));
                            m
                        }
                        Err(e) => e,
                    },
                    Err(e) => e,
                };
                let _ = self.events.send(SimEvent::Recording(msg));
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

    fn stop_recording(&mut self) {
        if let Some((path, r)) = self.recorder.take() {
            let msg = match r.finish() {
                Ok(()) => format!("recording saved to {}", path.display()),
                Err(e) => format!("recording {} failed: {e}", path.display()),
            };
            let _ = self.events.send(SimEvent::Recording(msg));
        }
    }

    fn steps_due(&self) -> usize {
        if self.paused {
            0
        } else {
            match self.speed {
                Speed::Max => 256,
                Speed::Times(x) => {
                    let target = self.anchor_sim + self.anchor_wall.elapsed().as_secs_f64() * x.max(0.0);
                    (((target - self.sim.time_s()) / self.sim.dt()).floor().max(0.0) as usize).min(100_000)
                }
            }
        }
    }

    /// Runs `steps`, catching a panic: roll back to the last good state, pause, report.
    fn run_steps(&mut self, steps: usize) -> bool {
        let inject = std::mem::take(&mut self.panic_next);
        let sim = &mut self.sim;
        let recorder = &mut self.recorder;
        let mut record_error = None;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if inject {
                panic!("injected panic");
            }
            for _ in 0..steps {
                sim.step();
                if let Some((_, r)) = recorder.as_mut() {
                    if let Err(e) = r.record(sim) {
                        record_error = Some(e);
                        *recorder = None;
                    }
                }
            }
        }));
        if let Some(e) = record_error {
            let _ = self.events.send(SimEvent::Recording(format!("recording stopped: {e}")));
        }
        if let Err(p) = result {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let at = self.sim.time_s();
            self.sim = self.good.clone();
            self.paused = true;
            let _ = self.events.send(SimEvent::Error(format!(
                "simulation stopped at t = {at:.0} s: {msg}; rolled back to t = {:.0} s and paused",
                self.sim.time_s()
            )));
            publish(&self.snaps, &self.drain, self.sim.snapshot());
            return false;
        }
        true
    }
}

fn run(
    sim: Simulation,
    speed: Speed,
    paused: bool,
    cmds: Receiver<SimCommand>,
    snaps: Sender<Snapshot>,
    drain: Receiver<Snapshot>,
    events: Sender<SimEvent>,
) {
    let mut r = Runner {
        recorder: None,
        good: sim.clone(),
        initial: sim.clone(),
        sim,
        speed,
        paused,
        panic_next: false,
        anchor_wall: Instant::now(),
        anchor_sim: 0.0,
        snaps,
        drain,
        events,
    };
    r.re_anchor();
    let mut last_checkpoint = Instant::now();
    let mut last_publish: Option<Instant> = None;
    publish(&r.snaps, &r.drain, r.sim.snapshot());

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

        let steps = r.steps_due();
        if steps > 0 {
            if !r.run_steps(steps) {
                continue;
            }
            if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
                r.good = r.sim.clone();
                last_checkpoint = Instant::now();
            }
            if r.paused || last_publish.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY) {
                publish(&r.snaps, &r.drain, r.sim.snapshot());
                last_publish = Some(Instant::now());
            }
        } else if !r.paused {
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
    }
}
