//! A fake Russian Post tracking service for the benchmarks: it generates its answers instead of
//! reading fixtures, so it answers a million numbers, and it keeps up. Single access (`/rtm34`,
//! SOAP 1.2) answers each number with a fixture history carrying that number; batch access
//! (`/fc`, SOAP 1.1) issues a ticket for any number of numbers and answers it at once (no
//! 15-minute wait), each number with a journey chosen by a hash of the number:
//!
//! | share | answer | notifications |
//! |---|---|---|
//! | 10 % | "nothing known" (ErrorTypeID 12) | none |
//! | 40 % | accepted | "accepted", SMS and e-mail |
//! | 30 % | accepted, sorting centre | "accepted", SMS and e-mail |
//! | 20 % | accepted, sorting centre, arrived at the pickup office | "arrived", SMS and e-mail |
//!
//! It records when every request arrived, for the rate measurement. Credentials are not
//! checked.

use crate::server::{self, Server};
use actix_web::{HttpResponse, web};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
struct State {
    tickets: Mutex<HashMap<String, Vec<String>>>,
    times: Mutex<Vec<Instant>>,
    next: AtomicU64,
    answered: AtomicU64,
}

/// The running fake.
pub struct FakePost {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<State>,
    _server: Server,
}

/// A valid 14-digit Russian Post number for `i` (GS1 check digit).
pub fn track(i: usize) -> String {
    let first13 = format!("1{:012}", i);
    let digits: Vec<u8> = first13.bytes().map(|b| b - b'0').collect();
    let check = parceld::domain::track::domestic_check_digit(&digits);
    format!("{first13}{check}")
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/carriers/russian_post")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The barcode the fixtures are written for.
const FIXTURE_BARCODE: &str = "10100012000016";

/// A hash of a number; the high half, as FNV-1a's low bits follow the last digit's parity.
fn hash(s: &str) -> u64 {
    parceld::domain::polling::stable_hash(s) >> 32
}

/// Every `attr="…"` value in `body`, in order.
fn attr_values<'a>(body: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!("{attr}=\"");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        if let Some(end) = rest.find('"') {
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out
}

/// The text of the first element whose name ends in `local` (`data:Barcode`).
fn element_text<'a>(body: &'a str, local: &str) -> Option<&'a str> {
    let open = format!(":{local}>");
    let i = body.find(&open)? + open.len();
    let rest = &body[i..];
    Some(rest[..rest.find('<')?].trim())
}

fn moscow(t: jiff::Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Moscow").unwrap_or(jiff::tz::TimeZone::UTC);
    t.to_zoned(tz).strftime("%d.%m.%Y %H:%M:%S").to_string()
}

/// The batch answer for these numbers.
fn answer(barcodes: &[String]) -> String {
    let now = jiff::Timestamp::now();
    let day = jiff::SignedDuration::from_hours(24);
    let (d3, d2, d1) = (
        moscow(now - day * 3),
        moscow(now - day * 2),
        moscow(now - day),
    );
    let mut out = String::with_capacity(barcodes.len() * 400 + 1000);
    out.push_str(
        "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>\
<ns2:answerByTicketResponse xmlns:ns2=\"http://fclient.russianpost.org/postserver\" xmlns:ns3=\"http://fclient.russianpost.org\">\
<value FileName=\"\" FileTypeID=\"2\" FileNumber=\"1\" RecipientID=\"1\" DatePreparation=\"01.01.2026 03:00:00\">",
    );
    for b in barcodes {
        let journey = hash(b) % 10;
        let _ = write!(out, "<ns3:Item Barcode=\"{b}\">");
        if journey == 0 {
            out.push_str("<ns3:Error ErrorTypeID=\"12\" ErrorName=\"Сообщение не найдено\"/>");
        } else {
            let _ = write!(
                out,
                "<ns3:Operation OperTypeID=\"1\" OperCtgID=\"1\" OperName=\"Приём\" DateOper=\"{d3}\" IndexOper=\"101000\"/>"
            );
            if journey >= 5 {
                let _ = write!(
                    out,
                    "<ns3:Operation OperTypeID=\"8\" OperCtgID=\"3\" OperName=\"Обработка\" DateOper=\"{d2}\" IndexOper=\"140980\"/>"
                );
            }
            if journey >= 8 {
                let _ = write!(
                    out,
                    "<ns3:Operation OperTypeID=\"8\" OperCtgID=\"2\" OperName=\"Обработка\" DateOper=\"{d1}\" IndexOper=\"630099\"/>"
                );
            }
        }
        out.push_str("</ns3:Item>");
    }
    out.push_str("</value></ns2:answerByTicketResponse></S:Body></S:Envelope>");
    out
}

fn soap11(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml;charset=utf-8")
        .body(body)
}

async fn fc(body: web::Bytes, state: web::Data<Arc<State>>) -> HttpResponse {
    state.times.lock().unwrap().push(Instant::now());
    let text = String::from_utf8_lossy(&body);
    if text.contains("ticketRequest") {
        let barcodes: Vec<String> = attr_values(&text, "Barcode")
            .into_iter()
            .map(str::to_string)
            .collect();
        let id = format!("BENCH{:012}", state.next.fetch_add(1, Ordering::Relaxed));
        state.tickets.lock().unwrap().insert(id.clone(), barcodes);
        return soap11(format!(
            "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>\
<ns2:ticketResponse xmlns:ns2=\"http://fclient.russianpost.org/postserver\"><value>{id}</value></ns2:ticketResponse></S:Body></S:Envelope>"
        ));
    }
    let ticket = text
        .find("<ticket>")
        .map(|i| &text[i + "<ticket>".len()..])
        .and_then(|rest| rest.find('<').map(|end| rest[..end].to_string()))
        .unwrap_or_default();
    let Some(barcodes) = state.tickets.lock().unwrap().remove(&ticket) else {
        return soap11(format!(
            "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>\
<ns2:answerByTicketResponse xmlns:ns2=\"http://fclient.russianpost.org/postserver\"><error ErrorTypeID=\"17\" ErrorName=\"unknown ticket {ticket}\"/></ns2:answerByTicketResponse></S:Body></S:Envelope>"
        ));
    };
    state
        .answered
        .fetch_add(barcodes.len() as u64, Ordering::Relaxed);
    soap11(answer(&barcodes))
}

async fn rtm34(
    body: web::Bytes,
    state: web::Data<Arc<State>>,
    histories: web::Data<Arc<[String; 2]>>,
) -> HttpResponse {
    state.times.lock().unwrap().push(Instant::now());
    let text = String::from_utf8_lossy(&body);
    let barcode = element_text(&text, "Barcode").unwrap_or_default();
    let doc = &histories[(hash(barcode) % 2) as usize];
    state.answered.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("application/soap+xml;charset=utf-8")
        .body(doc.replace(FIXTURE_BARCODE, barcode))
}

impl FakePost {
    /// Starts the fake on 127.0.0.1 with `workers` threads.
    pub fn start(workers: usize) -> FakePost {
        let state = Arc::new(State::default());
        let histories = Arc::new([
            fixture("history_accepted.xml"),
            fixture("history_in_transit.xml"),
        ]);
        let s = state.clone();
        let server = Server::serve(server::free_port(), workers, move |cfg| {
            cfg.app_data(web::Data::new(s.clone()))
                .app_data(web::Data::new(histories.clone()))
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/fc", web::post().to(fc))
                .route("/rtm34", web::post().to(rtm34));
        });
        FakePost {
            base: server.base.clone(),
            state,
            _server: server,
        }
    }

    /// When every request so far arrived.
    pub fn request_times(&self) -> Vec<Instant> {
        self.state.times.lock().unwrap().clone()
    }

    /// Numbers answered so far.
    pub fn answered(&self) -> u64 {
        self.state.answered.load(Ordering::Relaxed)
    }
}
