//! Where the sending benchmark's messages go, and the plain clients that measure how fast those
//! sinks take messages on their own: an SMTP server (mailin-embedded, counting what it receives
//! and keeping nothing) and an SMS gateway speaking SMS.ru's HTTP protocol (`/sms/send`, form
//! in, JSON out), both on loopback.

use crate::server::{self, Server};
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Sends in flight at once, for the daemon (`notify.concurrency`) and the plain clients.
pub const CONCURRENCY: usize = 8;

#[derive(Clone)]
struct Counting {
    messages: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    size: u64,
}

impl Handler for Counting {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        self.size = 0;
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.size += buf.len() as u64;
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.bytes.fetch_add(self.size, Ordering::Relaxed);
        self.messages.fetch_add(1, Ordering::Relaxed);
        OK
    }
}

/// An SMTP server that counts the messages it accepts.
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    messages: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl SmtpSink {
    /// Starts the server with enough threads for the daemon and a plain client at once.
    pub fn start() -> SmtpSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handler = Counting {
            messages: Arc::new(AtomicU64::new(0)),
            bytes: Arc::new(AtomicU64::new(0)),
            size: 0,
        };
        let (messages, bytes) = (handler.messages.clone(), handler.bytes.clone());
        let mut server = mailin_embedded::Server::new(handler);
        server
            .with_name("localhost")
            .with_num_threads(4 * CONCURRENCY as u32)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpSink {
            port,
            messages,
            bytes,
        }
    }

    /// Messages accepted so far.
    pub fn count(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    /// Bytes of message data accepted so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// `n` messages of `size` bytes (text and HTML parts) through a plain client: [`CONCURRENCY`]
/// lettre connections (TCP_NODELAY, as the daemon's), each sending its share one after the
/// other. Returns the time taken.
pub async fn plain_smtp(port: u16, n: usize, size: usize) -> Duration {
    let half = "Ваша посылка ждёт вас в отделении. ".repeat(size / 2 / 60 + 1);
    let hello = ClientId::Domain("localhost".into());
    let started = Instant::now();
    let workers = (0..CONCURRENCY).map(|w| {
        let (half, hello) = (&half, &hello);
        async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            tcp.set_nodelay(true).expect("nodelay");
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), hello)
                .await
                .expect("hello");
            let mut sent = 0;
            for i in (w..n).step_by(CONCURRENCY) {
                let m = lettre::Message::builder()
                    .from("Bench <parceld@localhost>".parse().expect("from"))
                    .to(format!("customer{i}@example.ru").parse().expect("to"))
                    .subject("Заказ ждёт вас")
                    .multipart(lettre::message::MultiPart::alternative_plain_html(
                        half.clone(),
                        format!("<p>{half}</p>"),
                    ))
                    .expect("message");
                if conn.send(m.envelope(), &m.formatted()).await.is_ok() {
                    sent += 1;
                }
            }
            let _ = conn.quit().await;
            sent
        }
    });
    let sent: usize = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .sum();
    let took = started.elapsed();
    assert_eq!(sent, n, "the plain client sent every message");
    took
}

#[derive(Default)]
struct GatewayState {
    accepted: AtomicU64,
}

/// An SMS gateway speaking SMS.ru's send protocol that accepts everything.
pub struct SmsGateway {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<GatewayState>,
    _server: Server,
}

async fn send(
    state: web::Data<Arc<GatewayState>>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let to = form
        .iter()
        .find(|(k, _)| k == "to")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let id = state.accepted.fetch_add(1, Ordering::Relaxed) + 1;
    HttpResponse::Ok().json(serde_json::json!({
        "status": "OK", "status_code": 100, "balance": 1000,
        "sms": { to: { "status": "OK", "status_code": 100, "sms_id": format!("000000-{id:08}") } }
    }))
}

impl SmsGateway {
    /// Starts the gateway on 127.0.0.1 with `workers` threads.
    pub fn start(workers: usize) -> SmsGateway {
        let state = Arc::new(GatewayState::default());
        let s = state.clone();
        let server = Server::serve(server::free_port(), workers, move |cfg| {
            cfg.app_data(web::Data::new(s.clone()))
                .route("/sms/send", web::post().to(send));
        });
        SmsGateway {
            url: server.base.clone(),
            state,
            _server: server,
        }
    }

    /// Messages accepted so far.
    pub fn count(&self) -> u64 {
        self.state.accepted.load(Ordering::Relaxed)
    }
}

/// `n` SMS through a plain HTTP client with [`CONCURRENCY`] requests in flight, as SMS.ru's
/// protocol asks (form with `api_id`, `to`, `msg`, `json=1`). Returns the time taken.
pub async fn plain_sms(url: &str, n: usize) -> Duration {
    let http = reqwest::Client::new();
    let url = format!("{url}/sms/send");
    let started = Instant::now();
    let ok: usize = futures_util::stream::iter(0..n)
        .map(|i| {
            let (http, url) = (&http, &url);
            async move {
                let to = format!("7912{:07}", i);
                let form = [
                    ("api_id", "bench"),
                    ("to", to.as_str()),
                    (
                        "msg",
                        "Заказ B-1 ждёт вас в отделении 630099 до 25 декабря. Трек 10000000000001",
                    ),
                    ("json", "1"),
                ];
                let r = http.post(url).form(&form).send().await;
                match r {
                    Ok(r) => usize::from(r.bytes().await.is_ok()),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |a, b| async move { a + b })
        .await;
    let took = started.elapsed();
    assert_eq!(ok, n, "the plain client sent every message");
    took
}
