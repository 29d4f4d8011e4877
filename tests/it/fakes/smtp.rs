//! A real SMTP server on loopback (mailin-embedded, in a thread of the test binary) that keeps
//! what it receives and can refuse recipients, permanently (550) or a few times (451), and ask
//! for STARTTLS and AUTH.

use mailin_embedded::response::{
    AUTH_OK, AUTHENTICATION_REQUIRED, INTERNAL_ERROR, INVALID_CREDENTIALS, NO_MAILBOX, OK,
};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One message received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The message.
    pub data: Vec<u8>,
    /// Who authenticated.
    pub user: Option<String>,
}

impl Received {
    /// The message parsed.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message")
    }

    /// The raw message as text.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The Message-ID header.
    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_string()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    reject: Vec<String>,
    busy: HashMap<String, u32>,
    login: Option<(String, String)>,
}

/// The running server.
#[derive(Clone)]
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    state: Arc<Mutex<State>>,
}

#[derive(Clone)]
struct H {
    state: Arc<Mutex<State>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    user: Option<String>,
}

impl Handler for H {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        let needs_login = self.state.lock().unwrap().login.is_some();
        if needs_login && self.user.is_none() {
            return AUTHENTICATION_REQUIRED;
        }
        self.from = from.to_string();
        self.to.clear();
        self.data.clear();
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let mut s = self.state.lock().unwrap();
        if s.reject.iter().any(|r| r == to) {
            return NO_MAILBOX;
        }
        if let Some(n) = s.busy.get_mut(to)
            && *n > 0
        {
            *n -= 1;
            return INTERNAL_ERROR;
        }
        self.to.push(to.to_string());
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let r = Received {
            from: self.from.clone(),
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
            user: self.user.clone(),
        };
        self.state.lock().unwrap().received.push(r);
        OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        let ok = self
            .state
            .lock()
            .unwrap()
            .login
            .as_ref()
            .is_some_and(|(u, p)| u == user && p == password);
        if ok {
            self.user = Some(user.to_string());
            AUTH_OK
        } else {
            INVALID_CREDENTIALS
        }
    }
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/smtp/{name}", env!("CARGO_MANIFEST_DIR"))
}

impl SmtpSink {
    /// A plain server (for `tls = "none"`).
    pub fn start() -> SmtpSink {
        Self::start_with(false, None)
    }

    /// A server offering STARTTLS with the fixture certificate and requiring AUTH PLAIN with
    /// this user and password.
    pub fn start_tls(user: &str, password: &str) -> SmtpSink {
        Self::start_with(true, Some((user.to_string(), password.to_string())))
    }

    fn start_with(tls: bool, login: Option<(String, String)>) -> SmtpSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            login,
            ..State::default()
        }));
        let handler = H {
            state: state.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
            user: None,
        };
        let mut server = Server::new(handler);
        server
            .with_name("localhost")
            .with_num_threads(32)
            .with_tcp_listener(listener);
        if tls {
            server
                .with_ssl(SslConfig::SelfSigned {
                    cert_path: fixture("server.pem"),
                    key_path: fixture("server.key"),
                })
                .expect("tls");
            server.with_auth(AuthMechanism::Plain);
        }
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpSink { port, state }
    }

    /// Refuses this recipient for good (550).
    pub fn reject(&self, to: &str) {
        self.state.lock().unwrap().reject.push(to.to_string());
    }

    /// Refuses this recipient `times` times for now (451).
    pub fn busy(&self, to: &str, times: u32) {
        self.state
            .lock()
            .unwrap()
            .busy
            .insert(to.to_string(), times);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The config lines that point the daemon at this server without TLS.
    pub fn config(&self, c: &str) -> String {
        let c = crate::harness::set(c, "email", "transport", "\"smtp\"");
        let c = crate::harness::set(&c, "email.smtp", "host", "\"127.0.0.1\"");
        let c = crate::harness::set(&c, "email.smtp", "port", &self.port.to_string());
        crate::harness::set(&c, "email.smtp", "tls", "\"none\"")
    }

    /// The config lines that point the daemon at this server by name with STARTTLS (trusting
    /// the fixture CA) and AUTH as `mailer` with the password in `password_file`.
    pub fn starttls_config(&self, c: &str, password_file: &Path) -> String {
        use crate::harness::set;
        let c = set(c, "email", "transport", "\"smtp\"");
        let c = set(&c, "email.smtp", "host", "\"localhost\"");
        let c = set(&c, "email.smtp", "port", &self.port.to_string());
        let c = set(&c, "email.smtp", "tls", "\"starttls\"");
        let c = set(&c, "email.smtp", "username", "\"mailer\"");
        let c = set(
            &c,
            "email.smtp",
            "password_file",
            &format!("{:?}", password_file.display().to_string()),
        );
        set(
            &c,
            "email.smtp",
            "ca_file",
            &format!("\"{}\"", fixture_path("smtp", "ca.pem")),
        )
    }
}

/// Counts messages per Message-ID: more than one is a duplicate.
pub fn copies(received: &[Received]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for m in received {
        *n.entry(m.message_id()).or_default() += 1;
    }
    n
}

/// The path of a fixture file.
pub fn fixture_path(dir: &str, name: &str) -> String {
    format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"))
}
