//! A shop's webhook receiver on loopback: checks every request's `Parceld-Signature` as the
//! receivers in docs/api.md do (its own HMAC-SHA256 over `t.body`, a tolerance on `t`, any `v1` may
//! match), records what came, and answers as told: 200, a 5xx, slowly; it can be killed and
//! started again on the same port.

use super::Server;
use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200.
    Ok,
    /// This status, every time.
    Fail(u16),
    /// 200 after this long.
    Slow(Duration),
}

/// One request that came.
#[derive(Debug, Clone)]
pub struct Hit {
    /// `Idempotency-Key`.
    pub key: String,
    /// `Parceld-Event`.
    pub kind: String,
    /// `Parceld-Sequence`.
    pub sequence: u64,
    /// The body, parsed.
    pub body: serde_json::Value,
    /// The raw body.
    pub raw: String,
    /// Whether the signature checked out with one of the secrets.
    pub signed: bool,
    /// What it was answered (0: it hung up before answering).
    pub answered: u16,
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    mode: Option<Mode>,
    hits: Vec<Hit>,
}

/// The receiver.
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    port: u16,
    inner: Arc<Mutex<Inner>>,
    server: Option<Server>,
}

fn verify(header: &str, secret: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if (now - t).abs() > 300 {
        return false;
    }
    sigs.iter().any(|s| {
        let Ok(given) = hex::decode(s) else {
            return false;
        };
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(format!("{t}.").as_bytes());
        m.update(body);
        m.verify_slice(&given).is_ok()
    })
}

async fn hook(
    req: HttpRequest,
    body: web::Bytes,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (mode, secrets) = {
        let i = inner.lock().unwrap();
        (i.mode.unwrap_or(Mode::Ok), i.secrets.clone())
    };
    let signature = header("Parceld-Signature");
    let signed = secrets.iter().any(|s| verify(&signature, s, &body));
    let answered = match mode {
        Mode::Ok | Mode::Slow(_) => 200,
        Mode::Fail(s) => s,
    };
    let hit = Hit {
        key: header("Idempotency-Key"),
        kind: header("Parceld-Event"),
        sequence: header("Parceld-Sequence").parse().unwrap_or(u64::MAX),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        raw: String::from_utf8_lossy(&body).into_owned(),
        signed,
        answered: 0,
    };
    if let Mode::Slow(d) = mode {
        // Recorded as unanswered until the answer goes: a time limit may cut it.
        let n = {
            let mut i = inner.lock().unwrap();
            i.hits.push(hit);
            i.hits.len() - 1
        };
        tokio::time::sleep(d).await;
        inner.lock().unwrap().hits[n].answered = 200;
        return HttpResponse::Ok().body("ok");
    }
    inner.lock().unwrap().hits.push(Hit { answered, ..hit });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap())
        .body("{\"ok\":true}")
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub fn start() -> Receiver {
        let listener = super::server::free_port();
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let mut r = Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inner,
            server: None,
        };
        r.serve(listener);
        r
    }

    fn serve(&mut self, listener: std::net::TcpListener) {
        let inner = self.inner.clone();
        self.server = Some(Server::serve(listener, 2, move |cfg| {
            cfg.app_data(web::Data::new(inner.clone()))
                .app_data(web::PayloadConfig::new(1 << 20))
                .route("/hook", web::post().to(hook))
                .route(
                    "/redirect",
                    web::post().to(|| async {
                        HttpResponse::TemporaryRedirect()
                            .insert_header(("Location", "/hook"))
                            .finish()
                    }),
                );
        }));
    }

    /// The secrets signatures are checked with (the current one and, during a rotation, the
    /// old one).
    pub fn set_secrets(&self, secrets: &[&str]) {
        self.inner.lock().unwrap().secrets = secrets.iter().map(|s| s.to_string()).collect();
    }

    /// How to answer from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = Some(mode);
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.inner.lock().unwrap().hits.clone()
    }

    /// Requests answered 2xx.
    pub fn accepted(&self) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| (200..300).contains(&h.answered))
            .collect()
    }

    /// Stops listening (connections are refused until [`Receiver::restart`]).
    pub fn kill(&mut self) {
        self.server = None;
    }

    /// Listens again on the same port.
    pub fn restart(&mut self) {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", self.port)).expect("the same port");
        self.serve(listener);
    }
}
