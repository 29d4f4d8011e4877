//! A fake 17TRACK Tracking API v2.2: `POST /track/v2.2/{register|gettrackinfo|stoptrack}` with
//! the `17token` header, answering from the fixtures: unregistered numbers are rejected with
//! -18019902 until registered, registered ones get their scripted `track_info` one step per
//! request.

use super::{Server, fixture};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The API key the fake accepts (the one the push fixture is signed with).
pub const TOKEN: &str = "TEST17TOKEN0000000000000000000000";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `register`, `gettrackinfo`, `stoptrack`.
    pub op: String,
    /// The request's items.
    pub items: Vec<Value>,
}

#[derive(Default)]
struct State {
    registered: HashMap<String, Value>,
    infos: HashMap<String, (Vec<Value>, usize)>,
    stopped: Vec<String>,
    seen: Vec<Seen>,
}

/// The fake API.
pub struct FakeTrack17 {
    server: Server,
    state: Arc<Mutex<State>>,
    creds: tempfile::TempDir,
}

async fn api(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let op = path.into_inner();
    let items: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
    let mut s = state.lock().unwrap();
    s.seen.push(Seen {
        op: op.clone(),
        items: items.clone(),
    });
    let token = req.headers().get("17token").and_then(|v| v.to_str().ok());
    if token != Some(TOKEN) {
        return HttpResponse::Unauthorized()
            .content_type("application/json")
            .body(fixture("track17/bad_key.json"));
    }
    if items.len() > 40 {
        return HttpResponse::Ok().json(json!({"code": -18010014, "data": {"errors": [{"code": -18010014, "message": "The submitted numbers exceed the 40 limit."}]}}));
    }
    let number = |v: &Value| v["number"].as_str().unwrap_or_default().to_string();
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for item in &items {
        let n = number(item);
        match op.as_str() {
            "register" => {
                if s.registered.contains_key(&n) {
                    rejected.push(json!({"number": n, "error": {"code": -18019901, "message": format!("Tracking number {n} is already registered.")}}));
                } else {
                    s.registered.insert(n.clone(), item.clone());
                    accepted.push(json!({"origin": 2, "number": n, "carrier": item["carrier"]}));
                }
            }
            "gettrackinfo" => {
                if !s.registered.contains_key(&n) {
                    rejected.push(json!({"number": n, "error": {"code": -18019902, "message": format!("Tracking number {n} is not registered yet. Register first.")}}));
                } else if let Some((seq, served)) = s.infos.get_mut(&n) {
                    let i = (*served).min(seq.len() - 1);
                    *served += 1;
                    accepted.push(seq[i].clone());
                } else {
                    rejected.push(json!({"number": n, "error": {"code": -18019909, "message": "No tracking information at this time."}}));
                }
            }
            "stoptrack" => {
                s.stopped.push(n.clone());
                accepted.push(json!({"number": n}));
            }
            _ => return HttpResponse::NotFound().finish(),
        }
    }
    HttpResponse::Ok()
        .json(json!({"code": 0, "data": {"accepted": accepted, "rejected": rejected}}))
}

impl FakeTrack17 {
    /// Starts the fake.
    pub fn start() -> FakeTrack17 {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let server = Server::start(move |cfg| {
            cfg.app_data(data.clone())
                .route("/track/v2.2/{op}", web::post().to(api));
        });
        let creds = tempfile::tempdir().expect("temp dir");
        std::fs::write(creds.path().join("token"), format!("{TOKEN}\n")).unwrap();
        FakeTrack17 {
            server,
            state,
            creds,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The file the daemon reads the API key from.
    pub fn token_file(&self) -> PathBuf {
        self.creds.path().join("token")
    }

    /// The config of a daemon that uses this fake.
    pub fn config(&self, cfg: String, extra: &[(&str, &str)]) -> String {
        let keys = vec![
            (
                "token_file",
                format!("{:?}", self.token_file().display().to_string()),
            ),
            ("endpoint", format!("\"{}/track/v2.2\"", self.server.base)),
            ("rate", "\"50/s\"".into()),
            ("window", "\"always\"".into()),
            ("poll_every", "\"1h\"".into()),
            ("timeout", "\"2s\"".into()),
            ("retry_base", "\"1s\"".into()),
            ("retry_cap", "\"2s\"".into()),
        ];
        crate::harness::set_all(cfg, "carriers.china_post", keys, extra)
    }

    /// Scripts `number`'s tracking information: the `accepted` item of each fixture (written
    /// for RR123456785CN), one per `gettrackinfo`, the last one from then on.
    pub fn script(&self, number: &str, fixtures: &[&str]) {
        let seq = fixtures
            .iter()
            .map(|f| {
                let text = fixture(&format!("track17/{f}")).replace("RR123456785CN", number);
                let v: Value = serde_json::from_str(&text).expect("fixture JSON");
                v["data"]["accepted"][0].clone()
            })
            .collect();
        self.lock().infos.insert(number.into(), (seq, 0));
    }

    /// How a number was registered, if it was.
    pub fn registration(&self, number: &str) -> Option<Value> {
        self.lock().registered.get(number).cloned()
    }

    /// Numbers whose tracking was stopped.
    pub fn stopped(&self) -> Vec<String> {
        self.lock().stopped.clone()
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }
}
