//! factory-twin: a digital twin of an AI factory.
//!
//! The domain — [`model`], [`scene`], [`generate`] — is plain Rust and never imports Bevy; the
//! CLI in [`cli`] and, behind the `app` feature, the viewer in `app` are thin layers over it.

pub mod check;
pub mod cli;
pub mod demo;
pub mod diagnostic;
pub mod edit;
pub mod fsutil;
pub mod generate;
pub mod incident;
mod layering;
pub mod live;
pub mod metric;
pub mod model;
pub mod open;
pub mod recording;
pub mod report;
pub mod scene;
pub mod sim;
pub mod still;
pub mod weather;

#[cfg(feature = "app")]
pub mod app;
