//! An HTTP server on loopback with its own thread and actix system, stopped and joined when
//! dropped: the fake carriers and gateways of the tests run on it, and so do the benchmarks'
//! fakes (`benches/parceld` includes this file).

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use std::thread::JoinHandle;

/// An HTTP server on 127.0.0.1 with its own actix system thread.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server on a free port with the routes `configure` registers.
    pub fn start(configure: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static) -> Server {
        Server::serve(free_port(), 2, configure)
    }

    /// Serves the routes `configure` registers on `listener` with `workers` threads.
    pub fn serve(
        listener: std::net::TcpListener,
        workers: usize,
        configure: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    ) -> Server {
        let addr = listener.local_addr().expect("the listener's address");
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let server = HttpServer::new(move || App::new().configure(configure.clone()))
                    .workers(workers)
                    .disable_signals()
                    .listen(listener)
                    .expect("serve on the listener")
                    .run();
                tx.send(server.handle()).expect("report the handle");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("the fake server starts");
        Server {
            base: format!("http://{addr}"),
            handle,
            thread: Some(thread),
        }
    }
}

/// A listener on a free loopback port.
pub fn free_port() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a fake server")
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
