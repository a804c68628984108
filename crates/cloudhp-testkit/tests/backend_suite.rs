//! `backend_suite!` expanded for real: one test per backend and suite function, each run on a
//! fresh backend from its opener, the opener's guard alive until the function returns, on a
//! multi-thread runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A backend of the test: its name, and whether its guard is still alive.
struct Backend {
    name: &'static str,
    guard_alive: Arc<AtomicBool>,
}

/// Keeps what the backend lives in; its drop marks the end of it.
struct Guard(Arc<AtomicBool>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn open(name: &'static str) -> (Backend, Guard) {
    let alive = Arc::new(AtomicBool::new(true));
    (
        Backend {
            name,
            guard_alive: alive.clone(),
        },
        Guard(alive),
    )
}

async fn first() -> (Backend, Guard) {
    open("first")
}

async fn second() -> (Backend, Guard) {
    open("second")
}

async fn gets_a_backend_whose_guard_is_alive(backend: Backend) {
    assert!(["first", "second"].contains(&backend.name));
    tokio::task::yield_now().await;
    assert!(backend.guard_alive.load(Ordering::SeqCst));
}

async fn runs_on_a_multi_thread_runtime_of_the_threads_asked(_: Backend) {
    let handle = tokio::runtime::Handle::current();
    assert_eq!(
        handle.runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread
    );
    assert_eq!(handle.metrics().num_workers(), 3);
}

cloudhp_testkit::backend_suite! {
    threads = 3,
    tests = [
        gets_a_backend_whose_guard_is_alive,
        runs_on_a_multi_thread_runtime_of_the_threads_asked,
    ],
    backends { first: first, second: second }
}
