//! parceld watches online shops' parcels at the carriers and tells the shops' customers, by SMS
//! and e-mail, when to go and pick them up.
//!
//! # Layout
//! Each layer uses only those below it; [`domain`], [`clock`] and [`config`] are used by all.
//!
//! ```text
//!  api (handlers, dto/)      actors (mailboxes, timers)      daemon (start-up, shutdown)
//!        │                          │ each handler calls one engine function
//!        ▼                          ▼
//!  engines: carriers::poll    notify (deliver, round)    reports    page    import
//!        │                    │              │
//!        ▼                    ▼              ▼
//!  carriers::{russian_post,  notify::render  notify::transport
//!   track17, sandbox}
//!        │
//!        ▼
//!  store: Store (async, typed keys) over SyncStore (blocking; the only module that knows sled)
//!        │
//!        ▼
//!  domain (pure)      clock (the one place the time is read)      config
//! ```
//!
//! - [`domain`]: track numbers, statuses, the parcel lifecycle, the typed keys (`ShopId`,
//!   `TrackNumber`, `ParcelKey`); pure, no I/O, no clock reads.
//! - [`clock`]: the [`Clock`](clock::Clock) every layer asks for the time.
//! - [`store`]: the only module that knows sled; versioned records and transactions behind
//!   [`Store`](store::Store), an `async` facade with typed keys.
//! - [`carriers`]: the `Carrier` trait, one folder per carrier, and the poll engine every
//!   carrier shares ([`carriers::poll`]).
//! - [`notify`]: the delivery engine ([`notify::deliver`], [`notify::round`]), rendering
//!   ([`notify::render`]) and the transports that deliver ([`notify::transport`]).
//! - [`reports`], [`page`], [`import`]: the morning report and statistics, the customers'
//!   tracking page, parcel tables as files.
//! - [`actors`]: thin actix shells (scheduler, pollers, reminder timer, senders, reporter,
//!   janitor, watchdog) that own mailboxes and timers and call the engines.
//! - [`api`]: the HTTP/JSON control API on the Unix socket and the shops' TCP listener; its
//!   DTOs ([`api::dto`]) are what `parcelctl` ([`client`]) shares.
//! - [`config`], [`daemon`]: validated settings; start-up, signals, systemd, shutdown.
//! - [`webhooks`]: the delivery engine of the shops' webhooks (signed, in order per parcel).
//! - [`health`], [`faults`], [`fuzzing`]: the health board, fault points for tests, and entry
//!   points that feed arbitrary bytes to the parsers of outside input.

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
