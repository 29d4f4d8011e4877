//! Which carrier codes parceld maps, and the operator's own mapping on top.
//!
//! Every carrier turns its codes into statuses as its dictionary says (Russian Post's
//! operation types and attributes, 17TRACK's sub-statuses). A code outside the dictionary
//! still gets the carrier's fallback status (by the operation type, by the main status, or "no
//! change"), and is *unmapped*: the poll engine counts it ([`crate::store::UnmappedCode`]) so the
//! operator sees it. The config's `[carriers.<carrier>.codes]` maps a code to a status without a
//! new release; it wins over the dictionary, and a code it maps is no longer unmapped.

use crate::carriers::russian_post::dictionary;
use crate::carriers::track17::codes as track17_codes;
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::CarrierEvent;
use crate::domain::status::Status;
use std::collections::BTreeMap;

/// Whether `carrier`'s dictionary has `code`. The sandbox's scripts use only codes it knows.
pub fn known(carrier: CarrierId, code: &str) -> bool {
    match carrier {
        CarrierId::RussianPost | CarrierId::Ems => dictionary::knows_code(code),
        CarrierId::ChinaPost => track17_codes::knows(code),
        CarrierId::Sandbox => true,
    }
}

/// Gives the events whose code `overrides` maps that status, and returns the codes of the
/// others that `carrier`'s dictionary does not know (each once, in order of appearance).
pub fn remap(
    carrier: CarrierId,
    overrides: &BTreeMap<String, Status>,
    events: &mut [CarrierEvent],
) -> Vec<String> {
    let mut unmapped: Vec<String> = Vec::new();
    for e in events {
        if let Some(status) = overrides.get(&e.code) {
            e.status = *status;
        } else if !known(carrier, &e.code) && !unmapped.contains(&e.code) {
            unmapped.push(e.code.clone());
        }
    }
    unmapped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(code: &str, status: Status) -> CarrierEvent {
        CarrierEvent {
            at: jiff::Timestamp::UNIX_EPOCH,
            status,
            code: code.into(),
            description: String::new(),
            office: None,
            storage: None,
            presence: false,
        }
    }

    #[test]
    fn codes_outside_the_dictionary_are_unmapped_unless_the_config_maps_them() {
        let mut events = vec![
            event("8/2", Status::ArrivedAtPickup),
            event("8/99", Status::Registered),
            event("64/0", Status::Registered),
            event("8/99", Status::Registered),
        ];
        let none = BTreeMap::new();
        assert_eq!(
            remap(CarrierId::RussianPost, &none, &mut events.clone()),
            ["8/99", "64/0"]
        );
        let map = BTreeMap::from([("8/99".to_string(), Status::InTransit)]);
        assert_eq!(remap(CarrierId::RussianPost, &map, &mut events), ["64/0"]);
        let statuses: Vec<Status> = events.iter().map(|e| e.status).collect();
        assert_eq!(
            statuses,
            [
                Status::ArrivedAtPickup,
                Status::InTransit,
                Status::Registered,
                Status::InTransit
            ]
        );
        // EMS parcels speak Russian Post's dictionary.
        assert!(known(CarrierId::Ems, "8/2"));
    }

    #[test]
    fn the_config_may_remap_a_known_code_and_17track_has_its_own_names() {
        let mut events = vec![
            event("Exception_Held", Status::Registered),
            event("InTransit_Other", Status::InTransit),
        ];
        let map = BTreeMap::from([("InTransit_Other".to_string(), Status::Accepted)]);
        assert_eq!(
            remap(CarrierId::ChinaPost, &map, &mut events),
            ["Exception_Held"]
        );
        assert_eq!(events[1].status, Status::Accepted);
        assert!(remap(CarrierId::Sandbox, &BTreeMap::new(), &mut events).is_empty());
    }
}
