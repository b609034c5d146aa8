//! The simulation: power, cooling and heat of the whole factory, failures and factory output.
//! Plain Rust, no Bevy. `Simulation` steps; it never knows whether it is watched or recorded
//! (the `live` module runs one on its own thread and records it when asked).

pub mod chiller;
pub mod engine;
pub mod network;
pub mod physics;
pub mod scenario;
pub mod snapshot;
pub mod state_copy;

#[cfg(test)]
mod alarm_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod validation_tests;

pub use engine::{EnergyTotals, Simulation};
pub use scenario::{Action, Event, Failure, FailureKind, Profile, Scenario, Workload};
pub use snapshot::{Alarm, AlarmKind, AlarmSeverity, Kpis, Snapshot};
pub use state_copy::StateCopy;
