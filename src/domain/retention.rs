//! Retention: a finished parcel's personal data (the customer's name, phone and e-mail) is
//! erased some time after it finished; what is left (statuses, dates, offices, amounts,
//! notification counts) is anonymous and keeps feeding the statistics.

use super::outbox::OutboxEntry;
use super::parcel::{Customer, Parcel};
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// What an erased recipient reads as.
pub const ERASED: &str = "(erased)";

/// Whether the parcel finished more than `after` ago and still holds personal data.
pub fn due_for_erasure(p: &Parcel, now: Timestamp, after: Duration) -> bool {
    let holds_data =
        !p.customer.name.is_empty() || p.customer.phone.is_some() || p.customer.email.is_some();
    let after = SignedDuration::try_from(after).unwrap_or(SignedDuration::MAX);
    holds_data
        && p.status.is_final()
        && p.last_activity()
            .checked_add(after)
            .is_ok_and(|until| until <= now)
}

/// Erases the customer's personal data from a parcel.
pub fn erase_parcel(p: &mut Parcel, now: Timestamp) {
    p.customer = Customer::default();
    p.updated_at = now;
}

/// Erases the recipient and the names from a message; a message not yet sent is withdrawn.
pub fn erase_entry(e: &mut OutboxEntry) {
    e.recipient = ERASED.into();
    e.facts.customer_name.clear();
    e.facts.first_name.clear();
    e.cancel("the customer's personal data was erased");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, Upsert, upsert, validate};
    use crate::domain::parcel::CarrierEvent;
    use crate::domain::shop::ShopId;
    use crate::domain::status::Status;

    fn t(days: i64) -> Timestamp {
        Timestamp::from_second(1_741_000_000 + days * 86_400).unwrap()
    }

    fn parcel() -> Parcel {
        let v = validate(&ParcelDraft {
            track: "SANDBOX-DELIVERED-1".into(),
            name: crate::domain::intake::Patch::Set("Иванов Иван".into()),
            phone: crate::domain::intake::Patch::Set("+79123456789".into()),
            ..ParcelDraft::default()
        })
        .unwrap();
        let Upsert::Created(p) = upsert(None, &v, &ShopId::from_trusted("a"), 1, t(0), t(0)) else {
            panic!()
        };
        *p
    }

    #[test]
    fn only_finished_parcels_past_the_period_are_erased() {
        let ninety = Duration::from_secs(90 * 86_400);
        let mut p = parcel();
        assert!(!due_for_erasure(&p, t(200), ninety), "not finished");
        p.status = Status::Delivered;
        p.events.push(CarrierEvent {
            at: t(10),
            status: Status::Delivered,
            code: "2/1".into(),
            description: String::new(),
            office: None,
            storage: None,
            presence: false,
        });
        assert!(!due_for_erasure(&p, t(99), ninety));
        assert!(due_for_erasure(&p, t(100), ninety));
        erase_parcel(&mut p, t(100));
        assert_eq!(p.customer, Customer::default());
        assert_eq!(p.status, Status::Delivered, "the anonymous part stays");
        assert!(
            !due_for_erasure(&p, t(300), ninety),
            "nothing left to erase"
        );
    }
}
