//! A TCP front door for a fake server: it forwards every connection to the fake, or, when told,
//! resets it (RST, as a crashing load balancer does) on the next request it sees, which an HTTP
//! server inside actix cannot do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct State {
    always: AtomicBool,
    resets: AtomicUsize,
    stop: AtomicBool,
}

impl State {
    fn reset_now(&self) -> bool {
        let reset = self.always.load(Ordering::SeqCst);
        if reset {
            self.resets.fetch_add(1, Ordering::SeqCst);
        }
        reset
    }
}

/// The front door.
pub struct Front {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<State>,
    thread: Option<std::thread::JoinHandle<()>>,
    addr: SocketAddr,
}

enum Ev {
    Client(std::io::Result<usize>),
    Server(std::io::Result<usize>),
}

async fn relay(mut client: TcpStream, backend: SocketAddr, state: Arc<State>) {
    let Ok(mut server) = TcpStream::connect(backend).await else {
        return;
    };
    let mut cbuf = vec![0u8; 16 * 1024];
    let mut sbuf = vec![0u8; 16 * 1024];
    loop {
        let ev = tokio::select! {
            r = client.read(&mut cbuf) => Ev::Client(r),
            r = server.read(&mut sbuf) => Ev::Server(r),
        };
        match ev {
            Ev::Client(Ok(n)) if n > 0 => {
                if state.reset_now() {
                    let _ = client.set_zero_linger();
                    return;
                }
                if server.write_all(&cbuf[..n]).await.is_err() {
                    return;
                }
            }
            Ev::Server(Ok(n)) if n > 0 => {
                if client.write_all(&sbuf[..n]).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

impl Front {
    /// Starts a front door for the server at `backend` (`http://127.0.0.1:<port>`).
    pub fn start(backend: &str) -> Front {
        let backend: SocketAddr = backend
            .trim_start_matches("http://")
            .parse()
            .expect("a backend address");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the front");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(State::default());
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                while !st.stop.load(Ordering::SeqCst) {
                    if let Ok((c, _)) = listener.accept().await {
                        tokio::spawn(relay(c, backend, st.clone()));
                    }
                }
            });
        });
        Front {
            base: format!("http://{addr}"),
            state,
            thread: Some(thread),
            addr,
        }
    }

    /// Resets every request from now on (`true`) or forwards them again (`false`).
    pub fn reset_always(&self, on: bool) {
        self.state.always.store(on, Ordering::SeqCst);
    }

    /// Connections reset so far.
    pub fn resets(&self) -> usize {
        self.state.resets.load(Ordering::SeqCst)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
