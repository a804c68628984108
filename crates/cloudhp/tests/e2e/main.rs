//! End-to-end tests: the real binary, on loopback, with fresh data dirs.

/// The accounts of the Swift and S3 test servers, shared with the object store's own suite.
#[path = "../../../cloudhp-objects/tests/backends/mod.rs"]
mod backends;
mod proxy;
mod support;

mod admin;
mod bad_input;
mod browser;
mod concurrency;
mod delivery;
mod edge;
mod flow;
mod import;
mod languages;
mod mailing;
mod multiprocess;
mod prizes;
mod recovery;
mod role_api;
mod rotation;
mod shop;
mod storage;
mod worker_contract;
