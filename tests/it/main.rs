//! parceld's integration tests: the real daemon binary, on a temporary directory, driven only
//! through its control socket and shop listener, with real servers on loopback where it talks
//! to the outside.

mod fakes;
mod harness;
mod notify_support;

mod api;
mod config;
mod crash;
mod lifecycle;
mod notify_crash;
mod notify_email;
mod notify_sms;
mod notify_templates;
mod notify_unsubscribe;
mod notify_window;
mod supervision;
