//! edge-host: a local edge node that runs this app's Spin components from
//! `spin.toml` on wasmtime, the way `spin up` would, for development, the
//! black-box tests and CI where the Spin CLI cannot be installed.
//!
//! Architecture invariant: the manifest and the compiled components are the
//! only inputs. edge-host adds no routes, stores or permissions of its own
//! (apart from Spin's `/.well-known/spin/*` and the opt-in test clock), so
//! the same artefacts run unchanged under `spin up`.
//!
//! Read first: `manifest` (what is accepted), `runtime` (engine, cache,
//! pre-instantiation), `server` (one request's path), `db` (SQLite semantics).

pub mod bindings;
pub mod clock;
pub mod db;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod pg;
pub mod problem;
pub mod routes;
pub mod runtime;
pub mod runtime_config;
pub mod schedule;
pub mod server;
pub mod sqlite;
pub mod state;
pub mod variables;
