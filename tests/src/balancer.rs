//! A TCP load balancer for tests: one address in front of several relay
//! instances. Each connection goes to the first instance that accepts it
//! (Caddy's `lb_policy first`, as in docs/self-hosting.md), so when one is
//! killed its devices reconnect, through the same address, to the next.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The balancer; stops accepting when dropped.
pub struct Balancer {
    pub addr: String,
    stop: Arc<AtomicBool>,
}

impl Balancer {
    /// Listens on 127.0.0.1:0 in front of `backends` (`host:port`), tried
    /// in order for every connection.
    pub fn start(backends: &[String]) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the balancer");
        let addr = listener.local_addr().expect("balancer address").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let backends = backends.to_vec();
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                let Ok(client) = client else { continue };
                let backends = backends.clone();
                std::thread::spawn(move || forward(client, &backends));
            }
        });
        Balancer { addr, stop }
    }

    /// `ws://ADDR`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}

fn forward(client: TcpStream, backends: &[String]) {
    let Some(server) = backends.iter().find_map(|b| {
        let addr = b.parse().ok()?;
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
    }) else {
        return; // No instance up: the client sees the connection close.
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    std::thread::spawn(move || pipe(c2, s2));
    pipe(server, client);
}

/// Copies `from` to `to` until either end closes, then closes both ways.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
