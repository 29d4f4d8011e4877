//! Notifications: the delivery engine at the top, with rendering ([`render`]) and transports
//! ([`transport`]) beneath it.
//!
//! The engine owns claiming, rate limits, timeouts and retries ([`deliver`]), asks for
//! delivery reports and records what gateways push ([`receipts`]), and acts on replies from
//! phones that ask to stop ([`replies`]); a sender's [`round`] puts these together. It renders
//! each message with [`render`] and hands it to the channel's [`Transport`].

pub mod deliver;
pub mod receipts;
pub mod render;
pub mod replies;
pub mod round;
pub mod transport;

pub use render::{Attachment, Rendered};
pub use transport::{FILE_ROUTE, Lookup, Outgoing, Receipt, Transport, route, transports};
