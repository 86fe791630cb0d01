//! The HTTP API's request and response bodies.
//!
//! The axum handlers serialize these and the WASM client deserializes the very same types, so a
//! field can never be renamed on one side only. Nothing in this module depends on Leptos: it is the
//! wire contract of `docs/ARCHITECTURE.md` written down as types, and its tests pin the JSON shapes.
//!
//! - [`ids`]: the values a body carries — file ids, job ids, instants — each checked once when it
//!   is made.
//! - [`bodies`]: the requests and responses, route by route.
//! - [`admin`]: the operator console's bodies.
//! - `schemas` (server only): the OpenAPI schemas that derive macros cannot express.

pub mod admin;
pub mod bodies;
pub mod ids;
#[cfg(feature = "ssr")]
mod schemas;

pub use admin::*;
pub use bodies::*;
pub use ids::*;

#[cfg(test)]
mod tests;
