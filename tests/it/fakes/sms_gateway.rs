//! A fake SMS gateway on loopback that speaks the wire protocols of SMS.ru (`/sms/send`,
//! `/sms/status`, form in, JSON out) and SMSC.ru (`/sys/send.php`, `/sys/status.php`, `fmt=3`
//! JSON). It keeps every message it accepted, answers delivery-status questions, and can be
//! told to fail the next send requests: an HTTP status, a gateway error code, a per-number error,
//! or a slow answer (accepted, but after a delay). Like the real gateways it calls the daemon
//! back: SMS.ru posts `data[]` entries (a delivery report, a reply from a phone) and wants
//! `100` in answer; SMSC.ru posts a reply as form fields.

use super::Server;
use actix_web::{HttpResponse, web};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The SMS.ru `api_id` and SMSC password the fake accepts.
pub const SECRET: &str = "test-secret-0123";

/// SMSC login the fake accepts.
pub const LOGIN: &str = "acme-login";

/// One message the gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// `smsru` or `smsc`.
    pub gateway: &'static str,
    /// The gateway's message id.
    pub id: String,
    /// Digits of the phone.
    pub phone: String,
    /// The text.
    pub text: String,
    /// The sender name.
    pub sender: String,
}

/// How the gateway answers the next send request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This HTTP status, nothing accepted.
    Http(u16),
    /// A request-level error code (SMS.ru `status_code`, SMSC `error_code`), nothing accepted.
    Code(i64),
    /// SMS.ru: the request is OK but this number failed with this code.
    NumberCode(i64),
    /// Accept the message, but answer only after this delay.
    Slow(Duration),
}

#[derive(Default)]
struct State {
    sent: Vec<Sms>,
    faults: VecDeque<Fault>,
    delivery: Option<i64>,
    status_requests: usize,
    next_id: u64,
}

/// The running fake.
#[derive(Clone)]
pub struct Gateway {
    /// Its base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    state: Arc<Mutex<State>>,
    /// Stopped when the last clone is dropped.
    _server: Arc<Server>,
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

type Shared = web::Data<Arc<Mutex<State>>>;

async fn fault(state: &Shared) -> Option<Fault> {
    let f = state.lock().unwrap().faults.pop_front();
    if let Some(Fault::Slow(d)) = &f {
        actix_web::rt::time::sleep(*d).await;
        return None;
    }
    f
}

fn accept(
    state: &Shared,
    gateway: &'static str,
    id: Option<String>,
    phone: &str,
    text: &str,
    sender: &str,
) -> String {
    let mut s = state.lock().unwrap();
    s.next_id += 1;
    let id = id.unwrap_or_else(|| format!("000000-{:08}", s.next_id));
    s.sent.push(Sms {
        gateway,
        id: id.clone(),
        phone: phone.to_string(),
        text: text.to_string(),
        sender: sender.to_string(),
    });
    id
}

async fn smsru_send(state: Shared, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = form.into_inner();
    if field(&form, "api_id") != SECRET {
        return HttpResponse::Ok()
            .json(json!({"status":"ERROR","status_code":200,"status_text":"Неправильный api_id"}));
    }
    let phone = field(&form, "to").to_string();
    match fault(&state).await {
        Some(Fault::Http(code)) => {
            return HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                .body("gateway trouble");
        }
        Some(Fault::Code(code)) => {
            return HttpResponse::Ok()
                .json(json!({"status":"ERROR","status_code":code,"status_text":"fault"}));
        }
        Some(Fault::NumberCode(code)) => {
            return HttpResponse::Ok().json(json!({"status":"OK","status_code":100,"sms":{phone.clone():{"status":"ERROR","status_code":code,"status_text":"Нет маршрута"}},"balance":10}));
        }
        _ => {}
    }
    let id = accept(
        &state,
        "smsru",
        None,
        &phone,
        field(&form, "msg"),
        field(&form, "from"),
    );
    // Keys come back without a plus, as the real gateway writes them.
    HttpResponse::Ok().json(json!({"status":"OK","status_code":100,"sms":{phone:{"status":"OK","status_code":100,"sms_id":id}},"balance":"10.00"}))
}

async fn smsru_status(state: Shared, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = form.into_inner();
    let mut s = state.lock().unwrap();
    s.status_requests += 1;
    let code = s.delivery.unwrap_or(103);
    let mut sms = serde_json::Map::new();
    for id in field(&form, "sms_id").split(',') {
        let known = s.sent.iter().any(|m| m.gateway == "smsru" && m.id == id);
        sms.insert(
            id.to_string(),
            if known {
                json!({"status":"OK","status_code":code,"cost":"3.50"})
            } else {
                json!({"status":"ERROR","status_code":-1,"status_text":"not found"})
            },
        );
    }
    HttpResponse::Ok().json(json!({"status":"OK","status_code":100,"sms":sms,"balance":10}))
}

async fn smsc_send(state: Shared, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = form.into_inner();
    let id = field(&form, "id").to_string();
    if field(&form, "login") != LOGIN || field(&form, "psw") != SECRET {
        return HttpResponse::Ok().json(json!({"error":"authorise error","error_code":2,"id":id}));
    }
    match fault(&state).await {
        Some(Fault::Http(code)) => {
            return HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                .body("gateway trouble");
        }
        Some(Fault::Code(code) | Fault::NumberCode(code)) => {
            return HttpResponse::Ok().json(json!({"error":"fault","error_code":code,"id":id}));
        }
        _ => {}
    }
    let text = field(&form, "mes").to_string();
    let parts = text.chars().count().div_ceil(67).max(1);
    accept(
        &state,
        "smsc",
        Some(id.clone()),
        field(&form, "phones"),
        &text,
        field(&form, "sender"),
    );
    HttpResponse::Ok().json(json!({"id": id.parse::<u64>().unwrap_or(0), "cnt": parts}))
}

async fn smsc_status(state: Shared, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = form.into_inner();
    let mut s = state.lock().unwrap();
    s.status_requests += 1;
    let (id, phone) = (field(&form, "id"), field(&form, "phone"));
    let known = s
        .sent
        .iter()
        .any(|m| m.gateway == "smsc" && m.id == id && m.phone == phone);
    let status = if known {
        s.delivery.map_or(1, |c| if c == 103 { 1 } else { 0 })
    } else {
        -3
    };
    HttpResponse::Ok().json(json!({"status": status, "last_date": "01.01.2027 12:00:00", "last_timestamp": 1798794000, "err": 0}))
}

impl Gateway {
    /// A gateway on a free port.
    pub fn start() -> Gateway {
        Self::start_on(std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
    }

    /// A gateway on this listener.
    pub fn start_on(listener: std::net::TcpListener) -> Gateway {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let server = Server::serve(listener, 2, move |cfg| {
            cfg.app_data(web::Data::new(st.clone()))
                .route("/sms/send", web::post().to(smsru_send))
                .route("/sms/status", web::post().to(smsru_status))
                .route("/sys/send.php", web::post().to(smsc_send))
                .route("/sys/status.php", web::post().to(smsc_status));
        });
        Gateway {
            url: server.base.clone(),
            state,
            _server: Arc::new(server),
        }
    }

    /// Makes the next send requests fail (or answer slowly), in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// What status questions are answered with: an SMS.ru code (103 delivered, 102 in transit);
    /// SMSC answers 1 for 103 and 0 otherwise.
    pub fn deliver_as(&self, code: i64) {
        self.state.lock().unwrap().delivery = Some(code);
    }

    /// Every message accepted so far.
    pub fn sent(&self) -> Vec<Sms> {
        self.state.lock().unwrap().sent.clone()
    }

    /// How many status questions were asked.
    pub fn status_requests(&self) -> usize {
        self.state.lock().unwrap().status_requests
    }

    /// Config lines for SMS.ru through this fake (the key file is written into `dir`).
    pub fn smsru_config(&self, c: &str, dir: &std::path::Path) -> String {
        let key = dir.join("smsru.key");
        std::fs::write(&key, format!("{SECRET}\n")).expect("key file");
        let c = crate::harness::set(c, "sms.smsru", "url", &format!("\"{}\"", self.url));
        crate::harness::set(
            &c,
            "sms.smsru",
            "api_id_file",
            &format!("\"{}\"", key.display()),
        )
    }

    /// Config lines for SMSC.ru through this fake.
    pub fn smsc_config(&self, c: &str, dir: &std::path::Path) -> String {
        let pw = dir.join("smsc.password");
        std::fs::write(&pw, SECRET).expect("password file");
        let c = crate::harness::set(c, "sms.smsc", "url", &format!("\"{}\"", self.url));
        let c = crate::harness::set(&c, "sms.smsc", "login", &format!("\"{LOGIN}\""));
        crate::harness::set(
            &c,
            "sms.smsc",
            "password_file",
            &format!("\"{}\"", pw.display()),
        )
    }
}

/// What the daemon answered a callback with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

impl Gateway {
    fn next_id(&self) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        s.next_id
    }

    /// Posts form fields to a callback URL, as the gateways do.
    async fn call_back(&self, url: &str, form: &[(&str, String)]) -> Answer {
        let r = reqwest::Client::new()
            .post(url)
            .form(form)
            .send()
            .await
            .expect("the daemon takes the callback");
        Answer {
            status: r.status().as_u16(),
            body: r.text().await.unwrap_or_default(),
        }
    }

    /// SMS.ru pushes a delivery report: `data[]` = `sms_status`, the message id, the code and
    /// the unix time.
    pub async fn smsru_report(&self, url: &str, id: &str, code: i64) -> Answer {
        let entry = format!(
            "sms_status\n{id}\n{code}\n{}",
            jiff::Timestamp::now().as_second()
        );
        self.call_back(url, &[("data[]", entry)]).await
    }

    /// SMS.ru forwards a reply from `phone` (digits), written to the sender name or number `to`
    /// (empty: not said): `data[]` = `sms_incoming`, its id, the phone, `to`, the unix time and
    /// the text.
    pub async fn smsru_reply(&self, url: &str, phone: &str, to: &str, text: &str) -> Answer {
        let entry = format!(
            "sms_incoming\n{:06}-{:06}\n{phone}\n{to}\n{}\n{text}",
            self.next_id(),
            self.next_id(),
            jiff::Timestamp::now().as_second()
        );
        self.call_back(url, &[("data[]", entry)]).await
    }

    /// SMSC.ru forwards a reply from `phone` (digits): fields `phone`, `mes`, `to` (the number
    /// or name it was written to; left out when `None`), with its id and time.
    pub async fn smsc_reply(&self, url: &str, phone: &str, to: Option<&str>, text: &str) -> Answer {
        let mut form = vec![
            ("id", self.next_id().to_string()),
            ("phone", phone.to_string()),
            ("mes", text.to_string()),
            ("sent", jiff::Timestamp::now().as_second().to_string()),
        ];
        if let Some(to) = to {
            form.push(("to", to.to_string()));
        }
        self.call_back(url, &form).await
    }
}

/// Counts messages per (phone, text): more than one is a duplicate.
pub fn copies(sent: &[Sms]) -> HashMap<(String, String), usize> {
    let mut n = HashMap::new();
    for s in sent {
        *n.entry((s.phone.clone(), s.text.clone())).or_default() += 1;
    }
    n
}
