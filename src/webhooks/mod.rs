//! The webhook delivery engine: sends each queued event to its endpoint, signed, and records
//! the outcome; fires the stuck timers.
//!
//! A delivery is claimed before it is sent and recorded after the answer, each through the
//! store's group commit (on disk before the request leaves, and before the engine goes on), so
//! kill -9 loses nothing: a delivery in hand at a crash goes again, with the same id, at the
//! next start. Only the oldest unfinished event of a parcel to an endpoint is due (see
//! [`crate::domain::webhook::delivery`]), so a parcel's events arrive in order; different
//! parcels' go side by side, up to `webhooks.concurrency` at once.
//!
//! - [`address`]: where a webhook may go, and the resolver that pins every connection to an
//!   address that was checked;
//! - [`deliver`]: claim, sign, post, record.

pub mod address;
pub mod deliver;
