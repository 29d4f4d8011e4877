//! The API's request and response bodies, one file per area. They are separate from the domain
//! types so the wire format can stay stable while the domain changes; `parcelctl` and the tests
//! use the same types, all re-exported here.

mod carriers;
mod error;
mod hooks;
mod imports;
mod intake;
mod manual;
mod notify;
mod offices;
mod ops;
mod outlook;
mod parcels;
mod plans;
mod reports;
mod shops;

pub use carriers::*;
pub use error::*;
pub use hooks::*;
pub use imports::*;
pub use intake::*;
pub use manual::*;
pub use notify::*;
pub use offices::*;
pub use ops::*;
pub use outlook::*;
pub use parcels::*;
pub use plans::*;
pub use reports::*;
pub use shops::*;
