//! Shop reports and statistics, read-only over the store: [`stats`] (pure numbers over parcels
//! and messages), [`morning`] (what the shop reads every morning: counts, what happened since
//! yesterday, the stuck parcels), rendered as an e-mail ([`html`]) with a workbook attached
//! ([`workbook`]), with the shop's webhooks in trouble ([`webhooks`]), and [`send`], which builds it from the store and mails it once per day.

pub mod html;
pub mod morning;
pub mod send;
pub mod stats;
pub mod webhooks;
pub mod workbook;
