//! The tracking page behind every customer message: one page that answers what customers call
//! about (where the office is and when it is open, where the parcel is, until when it is kept
//! and how to keep it longer), in the shop's language, readable on a phone.
//!
//! Two ways in, both on the shops' listener without a token:
//! - the short link in every customer message, `<public_url>/t/<code>` ([`code`]): a code made
//!   with the link secret and recorded in the store when its first message is claimed;
//! - the shop's order form, `/t/<shop>`: the order number and the last four digits of the
//!   customer's phone, limited per client address and per order ([`limits`]), with one neutral
//!   "not found" that never tells a wrong order number from a wrong phone.
//!
//! What the page says is worked out in [`view`] (pure, over the parcels, the shop and the office
//! directory, with [`hours`] read into a week and personal data masked by [`mask`]), in the
//! words of [`words`], and laid out by [`html`]. The HTTP side is `crate::api::page`.

pub mod code;
pub mod hours;
pub mod html;
pub mod limits;
pub mod mask;
pub mod view;
pub mod words;
