//! How the supervisor of a process ([`crate::App::run_until_stopped`]) runs its parts: each
//! comes back with its name, whether it returned or panicked, so that the log line and the
//! error the process stops with always say which part ended.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

/// Runs the part `name`, answering with its name and its result. A panic is caught and
/// becomes an error (`panicked: <message>`): the name is not lost with the task.
pub async fn named(
    name: &'static str,
    part: impl Future<Output = anyhow::Result<()>>,
) -> (&'static str, anyhow::Result<()>) {
    let result = AssertUnwindSafe(part)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(anyhow::anyhow!("panicked: {}", panic_message(&*panic))));
    (name, result)
}

/// The message a panic was raised with (`panic!("…")`), when it is text.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Logs that the part `name` ended, which stops the whole process, and returns the error the
/// process stops with, naming the part.
pub fn failure(name: &'static str, result: anyhow::Result<()>) -> anyhow::Error {
    let err = result
        .err()
        .unwrap_or_else(|| anyhow::anyhow!("stopped unexpectedly"));
    tracing::error!(part = name, error = %format!("{err:#}"), "a part of the process failed; stopping everything");
    err.context(format!("{name} failed"))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tokio::task::JoinSet;

    use super::*;

    #[tokio::test]
    async fn a_part_that_panics_is_named_in_the_error() {
        let mut set = JoinSet::new();
        set.spawn(named("event relay", async {
            if true {
                panic!("the relay broke down");
            }
            Ok(())
        }));
        let (name, result) = set.join_next().await.unwrap().expect("the panic is caught");
        assert_eq!(name, "event relay");
        let err = failure(name, result);
        assert_eq!(err.to_string(), "event relay failed");
        assert_eq!(
            format!("{err:#}"),
            "event relay failed: panicked: the relay broke down"
        );
    }

    #[tokio::test]
    async fn panics_with_formatted_messages_and_plain_ends_are_named_too() {
        let n = 3;
        let (name, result) = named("notifier", async move {
            if n > 2 {
                panic!("entry {n} is corrupt");
            }
            Ok(())
        })
        .await;
        assert_eq!(
            format!("{:#}", failure(name, result)),
            "notifier failed: panicked: entry 3 is corrupt"
        );
        // A part that returns while the process runs stops it too, named.
        let (name, result) = named("recovery sweeper", async { Ok(()) }).await;
        assert_eq!(
            format!("{:#}", failure(name, result)),
            "recovery sweeper failed: stopped unexpectedly"
        );
        let (name, result) = named("metrics upkeep", async {
            Err(anyhow::anyhow!("no exporter"))
        })
        .await;
        assert_eq!(
            format!("{:#}", failure(name, result)),
            "metrics upkeep failed: no exporter"
        );
    }

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_log_line_names_the_part() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            failure("event relay", Err(anyhow::anyhow!("panicked: boom")));
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("part=\"event relay\""), "{log}");
        assert!(log.contains("panicked: boom"), "{log}");
        assert!(log.contains("stopping everything"), "{log}");
    }
}
