//! A fake Russian Post tracking service: `POST /rtm34` (SOAP 1.2: `getOperationHistory`,
//! `PostalOrderEventsForMail`) and `POST /fc` (SOAP 1.1: `getTicket`, `getResponseByTicket`),
//! answering from the fixtures, checking the credentials in the body as the real one does, and
//! failing on request (500, garbage, a hang, the limit fault). Wrong credentials get
//! `AuthorizationFault`, as from the real service.

use super::{Node, Server, fixture, scan};
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OPER: &str = "http://russianpost.org/operationhistory";
const DATA: &str = "http://russianpost.org/operationhistory/data";
const ESPP: &str = "http://www.russianpost.org/RTM/DataExchangeESPP/Data";
const POSTSERVER: &str = "http://fclient.russianpost.org/postserver";
const FCLIENT: &str = "http://fclient.russianpost.org";

/// The login the fake accepts.
pub const LOGIN: &str = "shop_login";
/// The password the fake accepts.
pub const PASSWORD: &str = "shop_password";

/// A way to fail.
#[derive(Debug, Clone)]
pub enum Fault {
    /// HTTP 500 with an HTML page.
    Status500,
    /// HTTP 200 with something that is not XML.
    Garbage,
    /// No answer for this long.
    Hang(Duration),
    /// The daily limit fault.
    Limit,
    /// HTTP 429 with `Retry-After: 1`.
    TooMany,
    /// HTTP 200 with an HTML page (a proxy's or a maintenance page) instead of XML.
    Html,
    /// HTTP 200 with the first half of the right answer.
    Truncated,
    /// The right answer, after this long.
    Slow(Duration),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When it arrived.
    pub at: Instant,
    /// The operation element's local name.
    pub op: String,
    /// The number asked about (single access).
    pub barcode: Option<String>,
    /// The numbers of a ticket request.
    pub barcodes: Vec<String>,
    /// The ticket asked about.
    pub ticket: Option<String>,
    /// The request's content type.
    pub content_type: Option<String>,
}

#[derive(Default)]
struct State {
    password: String,
    histories: HashMap<String, (Vec<String>, usize)>,
    cod: HashMap<String, String>,
    faults: VecDeque<Fault>,
    sticky: Option<Fault>,
    seen: Vec<Seen>,
    tickets: HashMap<String, Vec<String>>,
    issued: u32,
    not_ready: u32,
    asks: HashMap<String, u32>,
    expire: u32,
    holds: HashMap<String, Arc<tokio::sync::Semaphore>>,
}

/// The fake service.
pub struct FakeRussianPost {
    server: Server,
    state: Arc<Mutex<State>>,
    creds: tempfile::TempDir,
}

fn xml(status: u16, content_type: &str, body: String) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .content_type(content_type)
        .body(body)
}

const SOAP12_TYPE: &str = "application/soap+xml;charset=utf-8";
const SOAP11_TYPE: &str = "text/xml;charset=utf-8";

fn text_of(nodes: &[super::Node], ns: Option<&str>, name: &str) -> Option<String> {
    nodes
        .iter()
        .find(|n| n.name == name && n.ns.as_deref() == ns)
        .map(|n| n.text.trim().to_string())
}

async fn fail(f: Fault, soap12: bool) -> HttpResponse {
    let t = if soap12 { SOAP12_TYPE } else { SOAP11_TYPE };
    match f {
        Fault::Status500 => HttpResponse::InternalServerError()
            .content_type("text/html")
            .body("<html><body><h1>500 Internal Server Error</h1></body></html>"),
        Fault::Garbage => xml(200, t, "<<<this is not XML at all &&&".into()),
        Fault::Hang(d) => {
            actix_web::rt::time::sleep(d).await;
            xml(200, t, String::new())
        }
        Fault::Limit => xml(500, t, fixture("russian_post/fault_limit.xml")),
        Fault::TooMany => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "1"))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Fault::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body("<!DOCTYPE html><html><head><title>Технические работы</title></head><body><h1>Сервис временно недоступен</h1></body></html>"),
        // Handled where the right answer is known.
        Fault::Truncated | Fault::Slow(_) => xml(200, t, String::new()),
    }
}

/// The first half of a text, cut on a character boundary.
fn half(body: &str) -> String {
    let mut cut = body.len() / 2;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    body[..cut].to_string()
}

/// A request's elements, its operation (the first element in the namespace `ns`) and its
/// content type.
fn read_request(req: &HttpRequest, body: &[u8], ns: &str) -> (Vec<Node>, String, Option<String>) {
    let nodes = scan(&String::from_utf8_lossy(body));
    let op = nodes
        .iter()
        .find(|n| n.ns.as_deref() == Some(ns))
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (nodes, op, content_type)
}

async fn rtm34(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let (nodes, op, content_type) = read_request(&req, &body, OPER);
    let barcode = match op.as_str() {
        "getOperationHistory" => text_of(&nodes, Some(DATA), "Barcode"),
        "PostalOrderEventsForMail" => nodes
            .iter()
            .find(|n| n.name == "PostalOrderEventsForMailInput" && n.ns.as_deref() == Some(ESPP))
            .and_then(|n| n.attrs.iter().find(|(k, _)| k == "Barcode"))
            .map(|(_, v)| v.clone()),
        _ => None,
    };
    let hold = barcode
        .as_ref()
        .and_then(|b| state.lock().unwrap().holds.get(b).cloned());
    if let Some(gate) = hold {
        // The answer about this number waits until the test lets it go.
        let _ = gate.acquire().await.map(|p| p.forget());
    }
    let (fault, answer) = {
        let mut s = state.lock().unwrap();
        s.seen.push(Seen {
            at: Instant::now(),
            op: op.clone(),
            barcode: barcode.clone(),
            barcodes: Vec::new(),
            ticket: None,
            content_type: content_type.clone(),
        });
        let fault = s.faults.pop_front().or_else(|| s.sticky.clone());
        let creds_ok = text_of(&nodes, Some(DATA), "login").as_deref() == Some(LOGIN)
            && text_of(&nodes, Some(DATA), "password").as_deref() == Some(s.password.as_str());
        let answer = if !creds_ok {
            Some((500, fixture("russian_post/fault_auth.xml")))
        } else {
            match (op.as_str(), &barcode) {
                ("getOperationHistory", Some(b)) => Some(match s.histories.get_mut(b) {
                    Some((seq, served)) => {
                        let i = (*served).min(seq.len() - 1);
                        *served += 1;
                        (200, seq[i].clone())
                    }
                    None if b.len() < 13 => {
                        (500, fixture("russian_post/fault_malformed_barcode.xml"))
                    }
                    None => (200, fixture("russian_post/history_empty.xml")),
                }),
                ("PostalOrderEventsForMail", Some(b)) => Some((
                    200,
                    s.cod.get(b).cloned().unwrap_or_else(|| {
                        fixture("russian_post/cod_events.xml")
                            .lines()
                            .filter(|l| !l.contains("<PostalOrderEvent "))
                            .collect::<Vec<_>>()
                            .join("\n")
                    }),
                )),
                _ => None,
            }
        };
        (fault, answer)
    };
    if !content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/soap+xml"))
    {
        return HttpResponse::UnsupportedMediaType().body("expected application/soap+xml");
    }
    let answer = match (fault, answer) {
        (Some(Fault::Truncated), Some((_, body))) => Some((200, half(&body))),
        (Some(Fault::Slow(d)), answer) => {
            actix_web::rt::time::sleep(d).await;
            answer
        }
        (Some(f), _) => return fail(f, true).await,
        (None, answer) => answer,
    };
    match answer {
        Some((status, body)) => xml(status, SOAP12_TYPE, body),
        None => HttpResponse::BadRequest().body("unknown operation"),
    }
}

fn fc_error(wrapper: &str, id: u32, name: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>\
<ns2:{wrapper} xmlns:ns2=\"{POSTSERVER}\" xmlns:ns3=\"{FCLIENT}\"><error ErrorTypeID=\"{id}\" ErrorName=\"{name}\"/></ns2:{wrapper}></S:Body></S:Envelope>"
    )
}

async fn fc(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let (nodes, op, content_type) = read_request(&req, &body, POSTSERVER);
    let barcodes: Vec<String> = nodes
        .iter()
        .filter(|n| n.name == "Item" && n.ns.as_deref() == Some(FCLIENT))
        .filter_map(|n| {
            n.attrs
                .iter()
                .find(|(k, _)| k == "Barcode")
                .map(|(_, v)| v.clone())
        })
        .collect();
    let ticket = text_of(&nodes, None, "ticket");
    let mut s = state.lock().unwrap();
    s.seen.push(Seen {
        at: Instant::now(),
        op: op.clone(),
        barcode: None,
        barcodes: barcodes.clone(),
        ticket: ticket.clone(),
        content_type: content_type.clone(),
    });
    // The batch service takes text/xml, the SOAP 1.2 type, or no content type at all.
    if content_type
        .as_deref()
        .is_some_and(|t| !(t.starts_with("text/xml") || t.starts_with("application/soap+xml")))
    {
        return HttpResponse::UnsupportedMediaType().finish();
    }
    let creds_ok = text_of(&nodes, None, "login").as_deref() == Some(LOGIN)
        && text_of(&nodes, None, "password").as_deref() == Some(s.password.as_str());
    match op.as_str() {
        "ticketRequest" => {
            if !creds_ok {
                return xml(
                    200,
                    SOAP11_TYPE,
                    fixture("russian_post/fc_ticket_error.xml"),
                );
            }
            s.issued += 1;
            let id = format!("202503120315{:05}SHOP_LOGIN", s.issued);
            s.tickets.insert(id.clone(), barcodes);
            let body =
                fixture("russian_post/fc_ticket.xml").replace("20250312031500123SHOP_LOGIN", &id);
            xml(200, SOAP11_TYPE, body)
        }
        "answerByTicketRequest" => {
            let wrapper = "answerByTicketResponse";
            if !creds_ok {
                return xml(
                    200,
                    SOAP11_TYPE,
                    fc_error(
                        wrapper,
                        3,
                        "Неуспешная авторизация клиента при вызове метода",
                    ),
                );
            }
            let Some(t) = ticket.filter(|t| s.tickets.contains_key(t)) else {
                return xml(
                    200,
                    SOAP11_TYPE,
                    fc_error(wrapper, 16, "Внутренняя ошибка работы Сервиса отслеживания"),
                );
            };
            if s.expire > 0 {
                s.expire -= 1;
                s.tickets.remove(&t);
                return xml(200, SOAP11_TYPE, fixture("russian_post/fc_expired.xml"));
            }
            let asks = s.asks.entry(t.clone()).or_default();
            *asks += 1;
            if *asks <= s.not_ready {
                return xml(200, SOAP11_TYPE, fixture("russian_post/fc_not_ready.xml"));
            }
            xml(200, SOAP11_TYPE, fixture("russian_post/fc_ready.xml"))
        }
        _ => HttpResponse::BadRequest().body("unknown operation"),
    }
}

impl FakeRussianPost {
    /// Starts the fake.
    pub fn start() -> FakeRussianPost {
        let state = Arc::new(Mutex::new(State {
            password: PASSWORD.into(),
            ..State::default()
        }));
        let data = web::Data::new(state.clone());
        let server = Server::start(move |cfg| {
            cfg.app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/rtm34", web::post().to(rtm34))
                .route("/fc", web::post().to(fc));
        });
        let creds = tempfile::tempdir().expect("temp dir");
        std::fs::write(creds.path().join("password"), format!("{PASSWORD}\n")).unwrap();
        FakeRussianPost {
            server,
            state,
            creds,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The service's address (`http://127.0.0.1:<port>`).
    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// Makes the service accept another password (the daemon's own stays as it is).
    pub fn accept_password(&self, pw: &str) {
        self.lock().password = pw.into();
    }

    /// The file the daemon reads the password from.
    pub fn password_file(&self) -> PathBuf {
        self.creds.path().join("password")
    }

    /// Writes another password into the daemon's password file.
    pub fn write_password(&self, pw: &str) {
        std::fs::write(self.password_file(), pw).unwrap();
    }

    /// The config of a daemon that uses this fake, with extra keys of its section.
    pub fn config(&self, cfg: String, extra: &[(&str, &str)]) -> String {
        let keys = vec![
            ("login", format!("\"{LOGIN}\"")),
            (
                "password_file",
                format!("{:?}", self.password_file().display().to_string()),
            ),
            ("endpoint", format!("\"{}/rtm34\"", self.server.base)),
            ("batch_endpoint", format!("\"{}/fc\"", self.server.base)),
            ("rate", "\"50/s\"".into()),
            ("concurrency", "2".into()),
            ("window", "\"always\"".into()),
            ("poll_every", "\"1h\"".into()),
            ("timeout", "\"2s\"".into()),
            ("retry_base", "\"1s\"".into()),
            ("retry_cap", "\"2s\"".into()),
        ];
        crate::harness::set_all(cfg, "carriers.russian_post", keys, extra)
    }

    /// Serves these fixtures for `barcode`, one per request, the last one from then on.
    pub fn history(&self, barcode: &str, fixtures: &[&str]) {
        let seq = fixtures
            .iter()
            .map(|f| fixture(&format!("russian_post/{f}")))
            .collect();
        self.lock().histories.insert(barcode.into(), (seq, 0));
    }

    /// Serves a fixture written for `original` as the history of `barcode`.
    pub fn history_as(&self, barcode: &str, fixtures: &[&str], original: &str) {
        let seq = fixtures
            .iter()
            .map(|f| fixture(&format!("russian_post/{f}")).replace(original, barcode))
            .collect();
        self.lock().histories.insert(barcode.into(), (seq, 0));
    }

    /// Serves these histories for `barcode`, one per request, the last one from then on; each
    /// is the list of operations the service knows at that point.
    pub fn records(&self, barcode: &str, histories: &[&[Op]]) {
        let seq = histories
            .iter()
            .map(|ops| history_xml(barcode, ops))
            .collect();
        self.lock().histories.insert(barcode.into(), (seq, 0));
    }

    /// Serves these fixtures for `barcode`, one per request and the last one from then on, each
    /// with the number it was written for replaced by `barcode`, and its operations moved by
    /// whole days so that the journey's last one happened within the last day (a parcel that
    /// moves now, as the sandbox's do).
    pub fn journey(&self, barcode: &str, fixtures: &[&str]) {
        let texts: Vec<String> = fixtures
            .iter()
            .map(|f| {
                let text = fixture(&format!("russian_post/{f}"));
                let original = text
                    .split("Barcode>")
                    .nth(1)
                    .and_then(|r| r.split('<').next())
                    .unwrap_or_else(|| panic!("{f} names no barcode"))
                    .to_string();
                text.replace(&original, barcode)
            })
            .collect();
        let latest = texts
            .iter()
            .flat_map(|t| oper_dates(t))
            .map(|(_, at)| at)
            .max()
            .expect("operations with dates");
        let day = jiff::SignedDuration::from_hours(24);
        let days = jiff::Timestamp::now().duration_since(latest).as_secs() / 86_400;
        let shift = day * i32::try_from(days).expect("days");
        let seq = texts
            .into_iter()
            .map(|t| {
                oper_dates(&t)
                    .into_iter()
                    .fold(t.clone(), |out, (text, at)| {
                        out.replace(&text, &moved(&text, at + shift))
                    })
            })
            .collect();
        self.lock().histories.insert(barcode.into(), (seq, 0));
    }

    /// Holds every answer about `barcode` until the returned gate gets a permit (one answer
    /// per permit).
    pub fn hold(&self, barcode: &str) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        self.lock().holds.insert(barcode.into(), gate.clone());
        gate
    }

    /// Serves cash-on-delivery events for `barcode`.
    pub fn cod(&self, barcode: &str, fixture_name: &str) {
        let body = fixture(&format!("russian_post/{fixture_name}"));
        self.lock().cod.insert(barcode.into(), body);
    }

    /// Fails the next requests, one fault each.
    pub fn fail_next(&self, faults: Vec<Fault>) {
        self.lock().faults.extend(faults);
    }

    /// Fails every request this way (or stops failing with `None`).
    pub fn fail_always(&self, fault: Option<Fault>) {
        self.lock().sticky = fault;
    }

    /// Answers "not ready" to the first `n` asks of every ticket.
    pub fn not_ready_for(&self, n: u32) {
        self.lock().not_ready = n;
    }

    /// Answers "expired" to the next `n` asks (and forgets those tickets).
    pub fn expire_next(&self, n: u32) {
        self.lock().expire = n;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// History requests for `barcode` so far.
    pub fn asked(&self, barcode: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.op == "getOperationHistory" && s.barcode.as_deref() == Some(barcode))
            .count()
    }

    /// Requests of an operation so far.
    pub fn count(&self, op: &str) -> usize {
        self.seen().iter().filter(|s| s.op == op).count()
    }
}

/// One operation of a history written by a test: type and attribute, when (as the office's
/// local time with its offset, as the service writes it), where, and the item's MailType.
#[derive(Debug, Clone)]
pub struct Op {
    /// OperType id.
    pub oper_type: u32,
    /// OperAttr id.
    pub attr: u32,
    /// The operation's name as the dictionary gives it.
    pub name: &'static str,
    /// When.
    pub at: jiff::Timestamp,
    /// The office's index.
    pub index: &'static str,
    /// The office's short name.
    pub place: &'static str,
    /// `ItemParameters/MailType` (id, name), when the record carries it.
    pub mail_type: Option<(u16, &'static str)>,
}

impl Op {
    /// An operation at Novosibirsk 630099 (UTC+7), of a parcel (MailType 4).
    pub fn at_office(oper_type: u32, attr: u32, name: &'static str, at: jiff::Timestamp) -> Op {
        Op {
            oper_type,
            attr,
            name,
            at,
            index: "630099",
            place: "Новосибирск 630099",
            mail_type: Some((4, "Посылка")),
        }
    }

    /// The same operation with another MailType (or none).
    pub fn typed(self, mail_type: Option<(u16, &'static str)>) -> Op {
        Op { mail_type, ..self }
    }
}

/// A `getOperationHistory` answer with these operations, as the service writes it (SOAP 1.2,
/// JAX-WS prefixes, dates with the office's offset).
pub fn history_xml(barcode: &str, ops: &[Op]) -> String {
    let tz = jiff::tz::TimeZone::get("Asia/Novosibirsk").expect("zone");
    let mut records = String::new();
    for op in ops {
        let date = op
            .at
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string();
        let mail = op
            .mail_type
            .map(|(id, name)| {
                format!(
                    "<ns3:MailType><ns3:Id>{id}</ns3:Id><ns3:Name>{name}</ns3:Name></ns3:MailType>"
                )
            })
            .unwrap_or_default();
        records.push_str(&format!(
            "<ns3:historyRecord><ns3:AddressParameters><ns3:DestinationAddress><ns3:Index>630099</ns3:Index><ns3:Description>Новосибирск 630099</ns3:Description></ns3:DestinationAddress>\
<ns3:OperationAddress><ns3:Index>{index}</ns3:Index><ns3:Description>{place}</ns3:Description></ns3:OperationAddress></ns3:AddressParameters>\
<ns3:ItemParameters><ns3:Barcode>{barcode}</ns3:Barcode>{mail}</ns3:ItemParameters>\
<ns3:OperationParameters><ns3:OperType><ns3:Id>{t}</ns3:Id><ns3:Name>{name}</ns3:Name></ns3:OperType><ns3:OperAttr><ns3:Id>{a}</ns3:Id><ns3:Name>{name}</ns3:Name></ns3:OperAttr>\
<ns3:OperDate>{date}</ns3:OperDate></ns3:OperationParameters></ns3:historyRecord>",
            index = op.index,
            place = op.place,
            t = op.oper_type,
            a = op.attr,
            name = op.name,
        ));
    }
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\"><S:Body>\
<ns7:getOperationHistoryResponse xmlns:ns3=\"{DATA}\" xmlns:ns7=\"{OPER}\"><ns3:OperationHistoryData>{records}</ns3:OperationHistoryData>\
</ns7:getOperationHistoryResponse></S:Body></S:Envelope>"
    )
}

/// Every `OperDate` of a history (`2025-03-08T09:12:00.000+07:00`) with the moment it names.
fn oper_dates(text: &str) -> Vec<(String, jiff::Timestamp)> {
    text.split("OperDate>")
        .skip(1)
        .filter_map(|r| r.split('<').next())
        .filter(|d| d.starts_with(|c: char| c.is_ascii_digit()))
        .map(|d| (d.to_string(), d.parse().expect("an RFC 3339 date")))
        .collect()
}

/// `at` written as `original` is: same offset, milliseconds.
fn moved(original: &str, at: jiff::Timestamp) -> String {
    let hm = &original[original.len() - 6..];
    let minutes = |s: &str| s.parse::<i32>().expect("offset digits");
    let secs = (minutes(&hm[1..3]) * 60 + minutes(&hm[4..6])) * 60;
    let secs = if hm.starts_with('-') { -secs } else { secs };
    let offset = jiff::tz::Offset::from_seconds(secs).expect("an offset");
    at.to_zoned(jiff::tz::TimeZone::fixed(offset))
        .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}
