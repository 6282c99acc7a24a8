//! The live socket: the hub (topics and fan-out), the upgrade service that takes an
//! accepted socket's stream from actix-http, and one future per connection that reads,
//! answers and writes it. The protocol is in docs/CONTRACT.md and the `socket` module
//! of the shared crate. The HTTP handshake is `api::socket`'s; this module does not
//! know the application state.

pub mod body;
pub mod connection;
pub mod frame;
pub mod hub;
pub mod inbound;
pub mod pair;
pub mod queue;
pub mod replay;
pub mod upgrade;
