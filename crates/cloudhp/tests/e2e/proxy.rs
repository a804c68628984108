//! A TCP proxy the tests put between a role and its database, to make the database go away,
//! hang, and come back.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Bytes flow both ways.
    Pass,
    /// Connections are cut, new ones closed at once: the server is down.
    Down,
    /// Connections stay open and nothing flows: the server hangs.
    Hang,
}

pub struct Proxy {
    pub port: u16,
    mode: Arc<AtomicU8>,
    changes: watch::Sender<u8>,
}

fn code(mode: Mode) -> u8 {
    match mode {
        Mode::Pass => 0,
        Mode::Down => 1,
        Mode::Hang => 2,
    }
}

impl Proxy {
    /// Forwards a free loopback port to `target` (`host:port`).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(0));
        let (changes, _) = watch::channel(0u8);
        let (m, tx) = (mode.clone(), changes.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let current = m.load(Ordering::SeqCst);
                if current == code(Mode::Down) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let rx = tx.subscribe();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&target).await {
                        relay(client, server, rx).await;
                    }
                });
            }
        });
        Proxy {
            port,
            mode,
            changes,
        }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(code(mode), Ordering::SeqCst);
        // send_replace: the value changes even when no connection is listening.
        self.changes.send_replace(code(mode));
    }
}

/// Copies bytes both ways while the mode is Pass; stops copying on Hang; drops both sockets
/// on Down.
async fn relay(client: TcpStream, server: TcpStream, mut rx: watch::Receiver<u8>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let mut a = [0u8; 16 * 1024];
    let mut b = [0u8; 16 * 1024];
    loop {
        let mode = *rx.borrow();
        if mode == code(Mode::Down) {
            return;
        }
        if mode == code(Mode::Hang) {
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            n = cr.read(&mut a) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if sw.write_all(&a[..n]).await.is_err() { return },
            },
            n = sr.read(&mut b) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if cw.write_all(&b[..n]).await.is_err() { return },
            },
        }
    }
}
