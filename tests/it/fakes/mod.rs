//! Servers that stand in for the outside world on loopback, each speaking the real protocol and
//! each able to be told to fail: fake carriers (Russian Post's SOAP 1.2 and 1.1 envelopes,
//! 17TRACK's JSON, built from the fixtures in `tests/fixtures/carriers`; each runs an actix-web
//! server on its own thread and records every request with the time it arrived), an SMTP server
//! (mailin-embedded) and an SMS gateway speaking the SMS.ru and SMSC.ru HTTP protocols.

pub mod front;
pub mod russian_post;
pub mod sms_gateway;
pub mod smtp;
pub mod track17;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::path::PathBuf;
use std::thread::JoinHandle;

/// A fixture file's text.
pub fn fixture(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/carriers")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An HTTP server on 127.0.0.1 with its own actix system thread.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server with the routes `configure` registers.
    pub fn start(configure: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static) -> Server {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let server = HttpServer::new(move || App::new().configure(configure.clone()))
                    .workers(2)
                    .disable_signals()
                    .bind("127.0.0.1:0")
                    .expect("bind a fake carrier");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle()))
                    .expect("report the address");
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv().expect("the fake carrier starts");
        Server {
            base: format!("http://{addr}"),
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One element of an XML request, flattened: namespace URI, local name, text, attributes.
#[derive(Debug, Clone)]
pub struct Node {
    pub ns: Option<String>,
    pub name: String,
    pub text: String,
    pub attrs: Vec<(String, String)>,
}

/// Every element of a document in order, with namespaces resolved (a fake's own reading of
/// requests, independent of the daemon's parser).
pub fn scan(xml: &str) -> Vec<Node> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut out: Vec<Node> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    while let Ok((ns, ev)) = reader.read_resolved_event() {
        let ns = match ns {
            ResolveResult::Bound(n) => Some(n.0.to_string()),
            _ => None,
        };
        match ev {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                let attrs = e
                    .attributes()
                    .flatten()
                    .map(|a| (a.key.local_name().as_ref().to_string(), a.value.to_string()))
                    .collect();
                out.push(Node {
                    ns,
                    name,
                    text: String::new(),
                    attrs,
                });
                open.push(out.len() - 1);
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(&i) = open.last() {
                    let s = match &*r {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "?",
                    };
                    out[i].text.push_str(s);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}
