//! The simulation: power, cooling and heat of the whole factory, failures and factory output.
//! Plain Rust, no Bevy. `Simulation` steps; `SimHandle` runs one on its own thread.

pub mod engine;
pub mod handle;
pub mod network;
pub mod physics;
pub mod scenario;
pub mod snapshot;
pub mod state_copy;

#[cfg(test)]
mod alarm_tests;
#[cfg(test)]
mod tests;

pub use engine::Simulation;
pub use handle::{SimCommand, SimEvent, SimHandle};
pub use scenario::{Action, Event, Failure, FailureKind, Profile, Scenario, Workload};
pub use snapshot::{Alarm, AlarmKind, AlarmSeverity, Kpis, Snapshot};
pub use state_copy::StateCopy;
