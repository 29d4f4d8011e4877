//! parceld watches online shops' parcels at the carriers and tells the shops' customers, by SMS
//! and e-mail, when to go and pick them up.
//!
//! # Layout
//! Dependencies point downwards only:
//! - [`domain`]: track numbers, statuses, the parcel lifecycle; pure, no I/O.
//! - [`store`]: the only module that knows sled; versioned records, transactions, behind an
//!   `async` facade with typed keys.
//! - [`carriers`]: the `Carrier` trait and one module per carrier.
//! - [`notify`]: message rendering and the channels that deliver them.
//! - [`actors`]: thin actix shells (scheduler, pollers, reminder timer, senders) that own timers
//!   and I/O and call the layers above.
//! - [`page`]: the customers' tracking page (content, wording, HTML; read-only over the store).
//! - [`api`]: the HTTP/JSON control API on the Unix socket and the shops' TCP listener, with
//!   the DTOs `parcelctl` shares.
//! - [`clock`]: the one place the time is read; every layer asks it.
//! - [`config`], [`daemon`]: validated settings; start-up, signals, systemd, shutdown.
//! - [`webhooks`]: the delivery engine of the shops' webhooks (signed, in order per parcel).
//! - [`fuzzing`]: entry points that feed arbitrary bytes to the parsers of outside input.

pub mod actors;
pub mod api;
pub mod carriers;
pub mod client;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod faults;
pub mod fuzzing;
pub mod health;
pub mod import;
pub mod notify;
pub mod page;
pub mod reports;
pub mod store;
pub mod webhooks;
