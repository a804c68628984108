//! The HTTP listeners of a process, with their connections bounded: a cap on concurrent
//! connections (past it a connection's request is answered 503 and the connection closed), a
//! deadline for the headers of each request (slowloris), and an idle deadline for kept-alive
//! connections. Each request carries its peer address (`ConnectInfo`) for the rate limits.
//!
//! axum's own `serve` has none of these knobs, so this is its accept loop on hyper-util's
//! connection builder, as the axum examples do for low-level control.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The bounds of every connection of a listener.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// The whole head of a request must arrive within this.
    pub header_read_timeout: Duration,
    /// A connection with no bytes either way for this long is closed (between requests).
    pub idle_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
}

/// What a connection refused for being one too many is told.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Retry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 42\r\n\
Connection: close\r\n\r\nThe server is busy. Please try again soon.";

/// Serves `router` on `listener` until `stop` is cancelled, then lets the connections finish
/// what they are doing (the caller bounds that by the shutdown grace).
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was accepted: the
                // listener itself is fine; breathe and go on.
                tracing::warn!(listener = name, error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            count_connection(name, "refused");
            connections.spawn(refuse(stream));
            continue;
        };
        count_connection(name, "accepted");
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            name,
            stream,
            peer,
            router.clone(),
            limits.clone(),
            stop.clone(),
            permit,
        ));
    }
    connections.close();
    connections.wait().await;
}

fn count_connection(listener: &'static str, outcome: &'static str) {
    metrics::counter!("cloudhp_http_connections_total", "listener" => listener, "outcome" => outcome)
        .increment(1);
}

/// How long a connection over the cap is given to send its request head before it is told
/// to come back later all the same.
const REFUSED_HEAD_WAIT: Duration = Duration::from_secs(1);

/// The end of a request head (an empty line, `\r\n\r\n`) in bytes that arrive piece by piece,
/// the end possibly split between two pieces: `matched` is how much of it the bytes so far
/// end with.
#[derive(Default)]
struct HeadEnd {
    matched: u8,
}

impl HeadEnd {
    /// Reads the next piece; true once the head has ended within it.
    fn ends_in(&mut self, piece: &[u8]) -> bool {
        for &byte in piece {
            self.matched = match (self.matched, byte) {
                (0 | 2, b'\r') | (1 | 3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if self.matched == 4 {
                return true;
            }
        }
        false
    }
}

/// Tells a connection over the cap to come back later, without serving its request.
///
/// The 503 answers the request: it is sent once the request head has arrived (or after
/// [`REFUSED_HEAD_WAIT`]), since HTTP clients take an answer that comes before their request
/// for a broken connection, not for a refusal. Then the connection is closed in stages (RFC
/// 9112 section 9.6): what the client still sends is read and dropped until it closes its side
/// (a second, 64 KB at most), since a socket closed with unread bytes is reset by the kernel,
/// and a reset can reach the client before it has read the 503.
async fn refuse(mut stream: TcpStream) {
    // Small: a flood of refused connections holds one of these each.
    let mut chunk = [0u8; 512];
    let _ = tokio::time::timeout(REFUSED_HEAD_WAIT, async {
        let mut head = HeadEnd::default();
        let mut read = 0;
        while read < 8 * 1024 {
            let n = match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            read += n;
            if head.ends_in(&chunk[..n]) {
                break;
            }
        }
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(TOO_MANY).await?;
        stream.shutdown().await?;
        let mut read = 0;
        while read < 64 * 1024 {
            match stream.read(&mut chunk).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

async fn connection(
    name: &'static str,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let _open = OpenConnection::enter(name);
    let state = Arc::new(ConnState::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        state: state.clone(),
    });
    let in_service = state.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let busy = Busy::enter(in_service.clone());
        let response = router.clone().oneshot(request);
        async move {
            let response = response.await;
            drop(busy);
            response
        }
    });
    let mut builder = Builder::new(TokioExecutor::new());
    // hyper's own header timeout also runs while a kept-alive connection waits for its next
    // request, which would make it the idle timeout too: the two are told apart here instead.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);

    let shortest = limits.header_read_timeout.min(limits.idle_timeout);
    let check_every = (shortest / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut tick = tokio::time::interval(check_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Why the server is closing the connection, and since when (ms).
    let mut closing: Option<(&'static str, u64)> = None;
    let reason = loop {
        tokio::select! {
            ended = conn.as_mut() => break match ended {
                Ok(()) => closing.map_or("closed", |(why, _)| why),
                Err(e) => {
                    tracing::debug!(listener = name, %peer, error = %e, "connection ended with an error");
                    closing.map_or("error", |(why, _)| why)
                }
            },
            () = stop.cancelled(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(("shutdown", now_millis()));
            }
            _ = tick.tick() => {
                let now = now_millis();
                let since = |t: u64| Duration::from_millis(now.saturating_sub(t));
                match closing {
                    // A head still unfinished when told to close: hyper waits for it, we do not.
                    Some((why, at)) if why != "shutdown" && since(at) >= limits.header_read_timeout => break why,
                    Some(_) => {}
                    None => {
                        let head = state.head_started.load(Ordering::Relaxed);
                        if head != 0 && since(head) >= limits.header_read_timeout {
                            // Slowloris: the head never ends. Dropping the connection closes it.
                            break "header_timeout";
                        }
                        let idle = head == 0
                            && state.busy.load(Ordering::Relaxed) == 0
                            && since(state.last_activity.load(Ordering::Relaxed)) >= limits.idle_timeout;
                        if idle {
                            conn.as_mut().graceful_shutdown();
                            closing = Some(("idle", now));
                        }
                    }
                }
            }
        }
    };
    metrics::counter!("cloudhp_http_connections_closed_total", "listener" => name, "reason" => reason)
        .increment(1);
}

/// What the deadlines of a connection look at (milliseconds of [`now_millis`]).
struct ConnState {
    /// When bytes last went either way.
    last_activity: AtomicU64,
    /// When the first byte of a request head came in, 0 when no head is being read.
    head_started: AtomicU64,
    /// Requests handed to the router and not yet answered.
    busy: AtomicU64,
}

impl ConnState {
    fn new() -> Self {
        Self {
            last_activity: AtomicU64::new(now_millis()),
            head_started: AtomicU64::new(0),
            busy: AtomicU64::new(0),
        }
    }

    fn read(&self) {
        let now = now_millis().max(1);
        self.last_activity.store(now, Ordering::Relaxed);
        // Bytes while no request is being served: the head of the next one.
        if self.busy.load(Ordering::Relaxed) == 0 {
            let _ =
                self.head_started
                    .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last_activity.store(now_millis(), Ordering::Relaxed);
    }
}

/// A request being served: its head is complete.
struct Busy(Arc<ConnState>);

impl Busy {
    fn enter(state: Arc<ConnState>) -> Self {
        state.busy.fetch_add(1, Ordering::Relaxed);
        state.head_started.store(0, Ordering::Relaxed);
        Self(state)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.last_activity.store(now_millis(), Ordering::Relaxed);
    }
}

/// Counts an open connection in the gauge for as long as it lives.
struct OpenConnection(&'static str);

impl OpenConnection {
    fn enter(listener: &'static str) -> Self {
        metrics::gauge!("cloudhp_http_connections_open", "listener" => listener).increment(1.0);
        Self(listener)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("cloudhp_http_connections_open", "listener" => self.0).decrement(1.0);
    }
}

/// Milliseconds since the first call: a cheap clock for the last activity of connections.
fn now_millis() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A stream that tells its connection's deadlines when bytes go either way.
struct Tracked {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.state.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.state.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::HeadEnd;

    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    /// The end of the head is seen in the piece that completes it, wherever the head is cut,
    /// and not before.
    #[test]
    fn a_head_ends_at_its_empty_line_however_it_is_cut() {
        for cut in 0..=HEAD.len() {
            let mut head = HeadEnd::default();
            let (first, second) = HEAD.split_at(cut);
            let in_first = head.ends_in(first);
            assert_eq!(in_first, cut == HEAD.len(), "cut at {cut}");
            assert_eq!(head.ends_in(second), !in_first, "cut at {cut}");
        }
    }

    #[test]
    fn line_ends_alone_do_not_end_a_head() {
        for piece in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n"[..],
            b"\r\n\r",
            b"\r\r\n\r\r",
            b"\n\r\n",
        ] {
            assert!(!HeadEnd::default().ends_in(piece), "{piece:?}");
        }
        let mut head = HeadEnd::default();
        assert!(!head.ends_in(b"x\r\n\r"));
        assert!(
            !head.ends_in(b"y\n"),
            "the end was broken by a byte between"
        );
    }
}
