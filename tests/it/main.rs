//! parceld's integration tests: the real daemon binary, on a temporary directory, driven only
//! through its control socket and shop listener, with real servers on loopback where it talks
//! to the outside.

// All of this crate is test code: its helpers, harness and fake servers stop a test with the
// reason when something is off, and they read the wall clock as the tests' own clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod fakes;
mod fault_support;
mod harness;
mod notify_support;
mod shopside_support;

mod api;
mod carriers_17track;
mod carriers_batch;
mod carriers_russian_post;
mod carriers_support;
mod config;
mod crash;
mod deadlines;
mod docs;
mod estimates;
mod exposure;
mod fault_carriers;
mod fault_crash;
mod fault_disk;
mod fault_input;
mod fault_security;
mod import;
mod lifecycle;
mod notify_crash;
mod notify_email;
mod notify_sandbox;
mod notify_sms;
mod notify_stop;
mod notify_templates;
mod notify_unsubscribe;
mod notify_window;
mod offices;
mod page;
mod page_browser;
mod reports;
mod statuses;
mod supervision;
mod updates;
mod upgrade;
mod webhooks;
