//! Chainwatch's server, hook client and command line, as a library so that tests (and
//! the thin `main.rs`) start the real thing. The map of modules and the path of one
//! event from POST to browser are in docs/ARCHITECTURE.md.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod core;
pub mod export;
pub mod front;
pub mod hook;
pub mod notify;
pub mod search;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod watch;
pub mod web;
pub mod ws;
