//! Russian Post's operation codes: every operation type (OperType) and attribute (OperAttr)
//! mapped to what it means for parceld, following the service's dictionary "Коды операций над
//! отправлениями и атрибутов операций".
//!
//! Keys are the numeric ids, never the names (names depend on the language and differ between
//! dictionaries). Attribute 0 on a type that needs an attribute means "attribute unknown", and
//! the operation is classified by its type alone; only on type 8 (Обработка) is attribute 0 a
//! real one (Сортировка).
//!
//! Many type-8 attributes are reported while a parcel waits at the pickup office (notices,
//! storage extensions, storage expiring): they carry [`OpClass::Info`] so that they do not turn
//! a waiting parcel back into one in transit.

use crate::domain::status::Status;
use crate::domain::storage::{Extender, MailClass, StorageSignal};

/// What an operation means for parceld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpClass {
    /// The post has the parcel (1 Приём).
    Accepted,
    /// The post knows about the parcel but does not have it yet (electronic registration).
    PreAdvice,
    /// On its way: sorting, transport, redirection, export and import.
    InTransit,
    /// At customs.
    Customs,
    /// At the office, parcel locker or pickup point, waiting for the customer.
    Arrived,
    /// The storage period is running out (a reminder of the office's own).
    StorageExpiring,
    /// With a postman or courier for delivery.
    OutForDelivery,
    /// Handed to the addressee.
    Delivered,
    /// A delivery attempt failed.
    FailedAttempt,
    /// On its way back to the sender (type 3, the attribute is the reason).
    ReturnStarted,
    /// Handed back to the sender.
    ReturnedToSender,
    /// Lost, seized, destroyed, or sent to unclaimed mail.
    Lost,
    /// Re-registered under a new number (8/26).
    BarcodeChanged,
    /// The cash on delivery was paid (63).
    CodPaid,
    /// Anything else: informational, changes nothing.
    Info,
}

impl OpClass {
    /// The normalised status an event of this class carries. Events that say nothing about
    /// where the parcel is carry [`Status::Registered`], which the lifecycle leaves alone.
    pub fn status(self) -> Status {
        match self {
            OpClass::Accepted => Status::Accepted,
            OpClass::InTransit | OpClass::Customs => Status::InTransit,
            OpClass::Arrived => Status::ArrivedAtPickup,
            OpClass::Delivered => Status::Delivered,
            OpClass::FailedAttempt => Status::DeliveryFailed,
            OpClass::ReturnStarted => Status::Returning,
            OpClass::ReturnedToSender => Status::ReturnedToSender,
            OpClass::Lost => Status::Lost,
            OpClass::PreAdvice
            | OpClass::StorageExpiring
            | OpClass::OutForDelivery
            | OpClass::BarcodeChanged
            | OpClass::CodPaid
            | OpClass::Info => Status::Registered,
        }
    }
}

/// 2 Вручение attributes that mean the addressee got it.
const TO_ADDRESSEE: &[u32] = &[
    1, 3, 5, 6, 8, 10, 11, 12, 13, 15, 17, 18, 19, 21, 23, 25, 26, 27,
];
/// 2 Вручение attributes that mean the sender got it back.
const TO_SENDER: &[u32] = &[2, 4, 7, 9, 16, 20, 22, 24, 28, 29, 30, 31];

/// What 8 Обработка means, by attribute.
fn processing(attr: u32) -> OpClass {
    use OpClass::*;
    match attr {
        // Sorting, leaving and reaching sorting centres, exchange and transit points, the
        // country, the carrier's hubs; sent on to a locker, a pickup point or an office.
        0 | 1 | 3..=8 | 11 | 12 | 13 | 17 | 20 | 30 | 31 | 32 | 44 | 49 | 68..=73 | 75..=77 => {
            InTransit
        }
        // Arrived at the delivery office, a parcel locker, a parcel centre, a pickup point, a
        // locker cell.
        2 | 9 | 14 | 39 | 60 | 74 => Arrived,
        // The storage period runs out (in the locker; 25, 5, 23, 10, 1 and 2 days left).
        10 | 27 | 28 | 33 | 35 | 42 | 43 => StorageExpiring,
        // Handed to a courier or postman, awaiting courier delivery.
        15 | 18 | 22 => OutForDelivery,
        26 => BarcodeChanged,
        // Notices, storage, extensions, applications, checks, storage expired (a return
        // usually follows as type 3), reservations, and whatever comes next.
        _ => Info,
    }
}

/// Classifies an operation by type and attribute.
pub fn classify(oper_type: u32, attr: u32) -> OpClass {
    use OpClass::*;
    match oper_type {
        1 => Accepted,
        2 if TO_SENDER.contains(&attr) => ReturnedToSender,
        2 if TO_ADDRESSEE.contains(&attr) => Delivered,
        // Unknown attribute: handed over, to whom is not said (see `classify_history`).
        2 if attr == 0 => Delivered,
        // 14 "for digitisation" and attributes the dictionary does not have yet.
        2 => Info,
        3 => ReturnStarted,
        4 => InTransit,
        5 => match attr {
            1 | 2 => Lost,
            3 => InTransit,
            8 => Customs,
            _ => Info,
        },
        6 => Arrived,
        7 => Lost,
        8 => processing(attr),
        9 | 10 | 29 | 31 | 33 | 61 => InTransit,
        11 | 14 | 19 | 24 | 39 | 40 | 41 => Customs,
        12 | 22 | 35 | 42 | 50 | 51 => FailedAttempt,
        13 | 20 | 27 | 28 | 37 | 47 => PreAdvice,
        15..=18 => Lost,
        21 | 48 => Delivered,
        56 if attr == 1 || attr == 0 => Arrived,
        63 => CodPaid,
        _ => Info,
    }
}

/// What an operation says about the storage period (PROTOCOLS §3; the office's own count of
/// days left, extensions asked for, granted and refused, expiry).
pub fn storage_signal(oper_type: u32, attr: u32) -> Option<StorageSignal> {
    use StorageSignal::*;
    match (oper_type, attr) {
        (8, 27) => Some(DaysLeft(25)),
        (8, 33) => Some(DaysLeft(23)),
        (8, 35) => Some(DaysLeft(10)),
        (8, 28) => Some(DaysLeft(5)),
        // "Истек срок хранения (осталось 2 дня)", as the dictionary names it.
        (8, 43) => Some(DaysLeft(2)),
        (8, 42) => Some(DaysLeft(1)),
        (8, 10) => Some(LockerExpiring),
        (8, 23) | (6, 4) => Some(Extended(Extender::Addressee)),
        (6, 5) => Some(Extended(Extender::Sender)),
        (8, 37) => Some(ExtensionRequested(Extender::Sender)),
        (8, 38) => Some(ExtensionRequested(Extender::Addressee)),
        (49, _) => Some(ExtensionRefused),
        (8, 40) => Some(Expired),
        _ => None,
    }
}

/// Whether an operation happens only to an item waiting at that office for its addressee: a
/// notice sent or delivered (8/24, 8/25), a hand-off to the office's courier or postman (8/15,
/// 8/18, 8/22), storage running out (8/10, 8/27, 8/28, 8/33, 8/35, 8/42, 8/43). Evidence of an
/// arrival the service may not have recorded.
pub fn implies_presence(oper_type: u32, attr: u32) -> bool {
    oper_type == 8
        && matches!(
            attr,
            10 | 15 | 18 | 22 | 24 | 25 | 27 | 28 | 33 | 35 | 42 | 43
        )
}

/// [`storage_signal`] of a code written `type/attr` (`8/28`).
pub fn storage_signal_of(code: &str) -> Option<StorageSignal> {
    let (t, a) = code.split_once('/')?;
    storage_signal(t.parse().ok()?, a.parse().ok()?)
}

/// The storage class of a `MailType` id (PROTOCOLS §1.3's dictionary): 2 letter, 3 printed
/// matter, 6 postcard and 1 money order form are written correspondence; 4 and 47 parcels; 5
/// small packets; 7 and 34 EMS; 23 and 24 online-shop parcels; 53 and 54 ECOM.
pub fn mail_class(mail_type: u16) -> MailClass {
    match mail_type {
        4 | 47 => MailClass::Parcel,
        7 | 34 => MailClass::Ems,
        1 | 2 | 3 | 6 => MailClass::Letter,
        5 => MailClass::SmallPacket,
        23 | 24 => MailClass::ParcelOnline,
        53 | 54 => MailClass::Ecom,
        _ => MailClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::dictionary::DICTIONARY as TABLE;
    use super::*;

    #[test]
    fn every_operation_of_the_dictionary_maps_to_its_status() {
        let mut pairs = 0;
        for (oper_type, attrs, status) in TABLE {
            for &attr in *attrs {
                assert_eq!(
                    classify(*oper_type, attr).status(),
                    *status,
                    "{oper_type}/{attr} ({:?})",
                    classify(*oper_type, attr)
                );
                pairs += 1;
            }
        }
        assert!(pairs > 450, "{pairs} pairs");
        // Every type of the dictionary is in the table.
        let types: std::collections::BTreeSet<u32> = TABLE.iter().map(|(t, _, _)| *t).collect();
        for t in (1..=63).chain([1027]) {
            assert!(types.contains(&t), "type {t} missing from the table");
        }
    }

    #[test]
    fn the_events_the_daemon_acts_on() {
        use OpClass::*;
        assert_eq!(classify(8, 2), Arrived);
        assert_eq!(classify(2, 1), Delivered);
        assert_eq!(classify(2, 2), ReturnedToSender);
        assert_eq!(classify(8, 26), BarcodeChanged);
        assert_eq!(
            classify(8, 0),
            InTransit,
            "8/0 is sorting, not an unknown attribute"
        );
        assert_eq!(classify(1, 0), Accepted, "attribute unknown: by type");
        assert_eq!(classify(63, 0), CodPaid);
        assert_eq!(classify(8, 27), StorageExpiring);
        assert_eq!(classify(8, 18), OutForDelivery);
        assert_eq!(classify(13, 0), PreAdvice);
        assert_eq!(classify(999, 1), Info, "an unknown type changes nothing");
        assert_eq!(
            classify(8, 999),
            Info,
            "an unknown attribute of 8 changes nothing"
        );
    }

    #[test]
    fn storage_operations_and_mail_types() {
        use crate::domain::storage::StorageSignal as S;
        for (t, a, days) in [
            (8, 27, 25),
            (8, 33, 23),
            (8, 35, 10),
            (8, 28, 5),
            (8, 43, 2),
            (8, 42, 1),
        ] {
            assert_eq!(storage_signal(t, a), Some(S::DaysLeft(days)), "{t}/{a}");
        }
        assert_eq!(
            storage_signal(8, 23),
            Some(S::Extended(Extender::Addressee))
        );
        assert_eq!(storage_signal(6, 5), Some(S::Extended(Extender::Sender)));
        assert_eq!(storage_signal(49, 3), Some(S::ExtensionRefused));
        assert_eq!(storage_signal(8, 40), Some(S::Expired));
        assert_eq!(storage_signal(8, 2), None);
        assert_eq!(
            storage_signal(3, 1),
            None,
            "a return ends storage through its status"
        );
        assert_eq!(mail_class(4), MailClass::Parcel);
        assert_eq!(mail_class(23), MailClass::ParcelOnline);
        assert_eq!(mail_class(5), MailClass::SmallPacket);
        assert_eq!(mail_class(0), MailClass::Other);
    }
}
