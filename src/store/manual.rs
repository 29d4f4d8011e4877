//! Statuses set by hand ([`crate::domain::manual`]): the event goes into the parcel's history
//! and through the lifecycle in one transaction with the messages it causes, as a carrier's
//! report would, without counting as a poll.

use super::{Store, StoreError, SyncStore, Tx, TxResult};
use crate::domain::lifecycle::{self, Rules, ShopTerms};
use crate::domain::manual;
use crate::domain::outbox::SendTiming;
use crate::domain::parcel::{CarrierEvent, Parcel, ParcelKey};
use crate::domain::schedule::DailyWindow;
use jiff::Timestamp;

impl Tx<'_> {
    fn set_by_hand(
        &self,
        parcel: &ParcelKey,
        event: &CarrierEvent,
        now: Timestamp,
        rules: &Rules,
        timing: &SendTiming<'_>,
    ) -> TxResult<Option<(Parcel, usize)>> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        let Some(old) = self.get_parcel(shop, track)? else {
            return Ok(None);
        };
        let mut p = old.clone();
        let mut event = event.clone();
        if let Some(o) = event.office.as_mut() {
            self.complete_office(o)?;
        }
        let terms = self
            .shop_record(shop)?
            .map_or_else(ShopTerms::default, |s| ShopTerms::of(&s));
        let outcome = lifecycle::apply_events(&mut p, vec![event], now, rules, &terms);
        self.withdraw(&p, &outcome.withdraw, super::parcels::DEADLINE_MOVED)?;
        // Polling goes on as it was planned while the carrier may still contradict the hand.
        if manual::awaits_confirmation(&p) || !p.status.is_final() {
            p.next_poll_at = old.next_poll_at.or(Some(now));
        }
        let messages = self.enqueue_intents(&p, &outcome.intents, now, timing)?;
        self.hook_report(&old, &p, &outcome, now, rules)?;
        self.put_parcel(Some(&old), &p)?;
        Ok(Some((p, messages)))
    }
}

impl SyncStore {
    /// Records a status set by hand (`event`, made by [`manual::event`]) on a parcel and
    /// creates the messages it causes, in one transaction. Returns the parcel and how many
    /// messages were queued, or `None` if there is no such parcel.
    pub fn set_by_hand(
        &self,
        parcel: &ParcelKey,
        event: &CarrierEvent,
        now: Timestamp,
        rules: &Rules,
        timing: &SendTiming<'_>,
    ) -> Result<Option<(Parcel, usize)>, StoreError> {
        self.tx(|t| t.set_by_hand(parcel, event, now, rules, timing))
    }
}

impl Store {
    /// Records a status set by hand on a parcel and creates the messages it causes, customer
    /// messages timed for `send_window`. Returns the parcel and how many messages were queued,
    /// or `None` if there is no such parcel.
    pub async fn set_by_hand(
        &self,
        parcel: &ParcelKey,
        event: CarrierEvent,
        now: Timestamp,
        rules: &Rules,
        send_window: DailyWindow,
    ) -> Result<Option<(Parcel, usize)>, StoreError> {
        let (parcel, rules) = (parcel.clone(), rules.clone());
        self.run(move |s| {
            let timing = SendTiming {
                window: &send_window,
            };
            s.set_by_hand(&parcel, &event, now, &rules, &timing)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manual::Hand;
    use crate::domain::status::Status;
    use crate::store::test_support::{pk, store_with_parcel, t};
    use crate::store::{Report, ReportFor};

    #[test]
    fn a_delivery_set_by_hand_is_told_once_even_when_the_carrier_says_it_too() {
        let (_d, store) = store_with_parcel();
        let key = pk("acme", "SANDBOX-ARRIVED-1");
        let timing = SendTiming {
            window: &DailyWindow::ALWAYS,
        };
        let rules = Rules::default();
        let e = manual::event(Hand::Shop, Status::Delivered, "выдано", None, t(100)).unwrap();
        let (p, messages) = store
            .set_by_hand(&key, &e, t(100), &rules, &timing)
            .unwrap()
            .unwrap();
        assert_eq!(p.status, Status::Delivered);
        assert_eq!(messages, 1, "the customer's 'delivered' SMS");
        assert!(
            p.next_poll_at.is_some(),
            "still asked until the carrier says so"
        );
        let carrier = CarrierEvent {
            at: t(90),
            status: Status::Delivered,
            code: "2/1".into(),
            description: "Вручение адресату".into(),
            office: None,
            storage: None,
            presence: false,
        };
        let r = ReportFor {
            parcel: key.clone(),
            report: Report {
                events: vec![carrier],
                ..Report::default()
            },
            next_poll: t(200),
            unmapped: Vec::new(),
        };
        let out = store.apply_reports(&[r], t(150), &rules, &timing).unwrap();
        let o = out[0].clone().unwrap();
        assert_eq!((o.new_events, o.messages), (1, 0));
        let p = store.parcel(&key).unwrap().unwrap();
        assert_eq!(p.next_poll_at, None, "the carrier confirmed: polling stops");
        assert!(
            store
                .set_by_hand(&pk("acme", "NOPE"), &e, t(100), &rules, &timing)
                .unwrap()
                .is_none()
        );
    }
}
