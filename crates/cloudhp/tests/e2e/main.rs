//! End-to-end tests: the real binary, on loopback, with fresh data dirs.

mod support;

mod bad_input;
mod concurrency;
mod flow;
mod multiprocess;
mod recovery;
mod worker_contract;
