//! An HTTP fake on its own thread and actix system, on a free loopback port, stopped and joined
//! when dropped: the fake Russian Post and the SMS gateway fake both run on it.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use std::net::SocketAddr;
use std::thread::JoinHandle;

/// A running fake.
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

/// Serves the routes `configure` sets up with `workers` threads on 127.0.0.1.
pub fn serve<F>(what: &str, workers: usize, configure: F) -> Served
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let name = what.to_string();
    let thread = std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let server = HttpServer::new(move || App::new().configure(configure.clone()))
                .workers(workers)
                .disable_signals()
                .bind("127.0.0.1:0")
                .unwrap_or_else(|e| panic!("bind {name}: {e}"));
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle()))
                .expect("report the address");
            let _ = server.await;
        });
    });
    let (addr, handle) = rx
        .recv()
        .unwrap_or_else(|_| panic!("{what} does not start"));
    Served {
        addr,
        handle,
        thread: Some(thread),
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
