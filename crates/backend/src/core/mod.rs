//! The domain core: the only place state changes. Operations ([`Mutation`]) are checked
//! against the current state and turned into events; the commit step
//! ([`commit::Core`]) makes them durable, folds them into the read model and publishes
//! them. Nothing else writes state, so nothing can change without an event.

pub mod access;
pub mod calls;
pub mod commit;
mod error;
pub mod ops;
pub mod pricing;
pub mod projection;
pub mod read_model;
pub mod replicated;
pub mod rules;
pub mod snapshot;
pub mod start_watch;

pub use access::{Reach, Visible};
pub use commit::{CommitConfig, Core, Fanout, Publisher, rebuild};
pub use error::CoreError;
pub use ops::{By, Mutation, Outcome, Pruned};
pub use read_model::{ReadModel, SessionFilter};
pub use start_watch::StartWatch;

#[cfg(test)]
mod tests;
