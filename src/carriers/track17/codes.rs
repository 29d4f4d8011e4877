//! 17TRACK's status names as data: the main statuses, their sub-statuses and the milestone
//! stages its documentation lists (PROTOCOLS, "Main statuses (9) and sub-statuses (30)").
//!
//! An event's code is its sub-status (or its stage, when it has none). A code outside these
//! lists still gets a status by its main part ([`super::wire::status_of`]), but it is noticed
//! as unmapped (counted, shown to the operator, mappable in `[carriers.china_post.codes]`).

/// The main statuses.
pub const STATUSES: &[&str] = &[
    "NotFound",
    "InfoReceived",
    "InTransit",
    "Expired",
    "AvailableForPickup",
    "OutForDelivery",
    "DeliveryFailure",
    "Delivered",
    "Exception",
];

/// The sub-statuses.
pub const SUB_STATUSES: &[&str] = &[
    "NotFound_Other",
    "NotFound_InvalidCode",
    "InfoReceived",
    "InTransit_PickedUp",
    "InTransit_Other",
    "InTransit_Departure",
    "InTransit_Arrival",
    "InTransit_CustomsProcessing",
    "InTransit_CustomsReleased",
    "InTransit_CustomsRequiringInformation",
    "Expired_Other",
    "AvailableForPickup_Other",
    "OutForDelivery_Other",
    "DeliveryFailure_Other",
    "DeliveryFailure_NoBody",
    "DeliveryFailure_Security",
    "DeliveryFailure_Rejected",
    "DeliveryFailure_InvalidAddress",
    "Delivered_Other",
    "Exception_Other",
    "Exception_Returning",
    "Exception_Returned",
    "Exception_NoBody",
    "Exception_Security",
    "Exception_Damage",
    "Exception_Rejected",
    "Exception_Delayed",
    "Exception_Lost",
    "Exception_Destroyed",
    "Exception_Cancel",
];

/// The milestone stages an event may carry instead of a sub-status.
pub const STAGES: &[&str] = &[
    "InfoReceived",
    "PickedUp",
    "Departure",
    "Arrival",
    "AvailableForPickup",
    "OutForDelivery",
    "Delivered",
    "Returning",
    "Returned",
];

/// Whether `code` is one of the documented names.
pub fn knows(code: &str) -> bool {
    [STATUSES, SUB_STATUSES, STAGES]
        .iter()
        .any(|list| list.contains(&code))
}

/// Whether `code` looks like a 17TRACK status name (letters, digits and `_`), a code the config
/// may map.
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_names_are_known() {
        assert_eq!(SUB_STATUSES.len(), 30);
        assert!(knows("Exception_Returned"));
        assert!(knows("Delivered"));
        assert!(knows("Departure"));
        assert!(!knows("Exception_Held"), "listed only by some clients");
        assert!(!knows("InTransit_Teleported"));
        assert!(is_code("Exception_Held"));
        assert!(!is_code("8/99"));
        assert!(!is_code(""));
    }
}
