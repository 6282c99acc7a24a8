//! Chainwatch's wire types: the single source of every type that crosses a process
//! boundary (REST bodies, stored events, socket frames). The backend serializes these,
//! the web app imports the TypeScript that `cargo xtask gen-types` generates from them,
//! and the OpenAPI document describes them. This crate does no I/O.

pub mod api;
pub mod event;
pub mod ids;
pub mod model;
pub mod notify;
pub mod socket;

pub use api::*;
pub use event::*;
pub use ids::*;
pub use model::*;
pub use notify::*;
pub use socket::*;
