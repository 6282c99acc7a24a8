//! Chainwatch's server, hook client and command line, as a library so that tests (and
//! the thin `main.rs`) start the real thing. The map of modules and the path of one
//! event from POST to browser are in docs/ARCHITECTURE.md.

pub mod core;
pub mod store;
