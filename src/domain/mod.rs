//! The domain: parcels, shops, track numbers, statuses and the rules that turn carrier events
//! into notifications.
//!
//! Plain Rust with no I/O, no actors and no clock reads: every function that needs the time
//! takes it as an argument. The most tested code in the project.

pub mod brand;
pub mod carrier;
pub mod contact;
pub mod delivery;
pub mod inference;
pub mod intake;
pub mod lanes;
pub mod lifecycle;
pub mod manual;
pub mod money;
pub mod notification;
pub mod offices;
pub mod optout;
pub mod outage;
pub mod outbox;
pub mod outlook;
pub mod parcel;
pub mod phone;
pub mod plan;
pub mod polling;
pub mod postal_zone;
pub mod retention;
pub mod schedule;
pub mod shop;
pub mod status;
pub mod storage;
pub mod template;
pub mod track;
pub mod webhook;
