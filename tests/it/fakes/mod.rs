//! Servers that stand in for the outside world on loopback, each speaking the real protocol and
//! each able to be told to fail: fake carriers (Russian Post's SOAP 1.2 and 1.1 envelopes,
//! 17TRACK's JSON, built from the fixtures in `tests/fixtures/carriers`; each runs an actix-web
//! server on its own thread and records every request with the time it arrived), an SMTP server
//! (mailin-embedded) and an SMS gateway speaking the SMS.ru and SMSC.ru HTTP protocols.

pub mod front;
pub mod receiver;
pub mod russian_post;
mod server;
pub mod sms_gateway;
pub mod smtp;
pub mod track17;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
pub use server::Server;
use std::path::PathBuf;

/// A fixture file's text.
pub fn fixture(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/carriers")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
