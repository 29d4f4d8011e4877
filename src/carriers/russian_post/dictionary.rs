//! Russian Post's dictionary of operations as data: every OperType/OperAttr pair the service's
//! dictionary "Коды операций над отправлениями и атрибутов операций" lists (PROTOCOLS §3.1–3.2),
//! with the status each gives (§3.3).
//!
//! [`super::ops::classify`] decides what an operation means; this table says which pairs the
//! dictionary has, so that a pair outside it is noticed as unmapped (counted, shown to the
//! operator, mappable in `[carriers.russian_post.codes]`) instead of passing silently as
//! "no change". The classifier's tests check it against this table pair by pair.

use crate::domain::status::Status;
use Status::*;

/// "No change": informational operations carry `Registered`, which the lifecycle ignores.
const NONE: Status = Status::Registered;

/// Every OperType/OperAttr pair of the dictionary (PROTOCOLS §3.1–3.2) and the status it
/// must give, written out per §3.3: (type, attributes, status).
pub const DICTIONARY: &[(u32, &[u32], Status)] = &[
    (1, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], Accepted),
    (
        2,
        &[
            0, 1, 3, 5, 6, 8, 10, 11, 12, 13, 15, 17, 18, 19, 21, 23, 25, 26, 27,
        ],
        Delivered,
    ),
    (
        2,
        &[2, 4, 7, 9, 16, 20, 22, 24, 28, 29, 30, 31],
        ReturnedToSender,
    ),
    (2, &[14], NONE),
    (
        3,
        &[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
        ],
        Returning,
    ),
    (
        4,
        &[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
        ],
        InTransit,
    ),
    (5, &[1, 2], Lost),
    (5, &[3, 8], InTransit),
    (5, &[0, 9], NONE),
    (6, &[0, 1, 2, 3, 4, 5], ArrivedAtPickup),
    (7, &[0, 1, 2, 3, 4], Lost),
    (
        8,
        &[
            0, 1, 3, 4, 5, 6, 7, 8, 11, 12, 13, 17, 20, 30, 31, 32, 44, 49, 68, 69, 70, 71, 72, 73,
            75, 76, 77,
        ],
        InTransit,
    ),
    (8, &[2, 9, 14, 39, 60, 74], ArrivedAtPickup),
    (
        8,
        &[
            10, 15, 16, 18, 19, 21, 22, 23, 24, 25, 26, 27, 28, 29, 33, 34, 35, 36, 37, 38, 40, 41,
            42, 43, 45, 46, 47, 48, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 61, 62, 63, 64, 65, 66,
            67, 78,
        ],
        NONE,
    ),
    (9, &[0, 1, 2], InTransit),
    (10, &[0], InTransit),
    (11, &[0], InTransit),
    (
        12,
        &[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
            24, 25, 26, 27, 28, 29, 30,
        ],
        DeliveryFailed,
    ),
    (13, &[0], NONE),
    (
        14,
        &[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
            24, 25, 26,
        ],
        InTransit,
    ),
    (15, &[0], Lost),
    (16, &[0], Lost),
    (17, &[0], Lost),
    (18, &[0], Lost),
    (19, &[0], InTransit),
    (20, &[0], NONE),
    (21, &[0, 1, 2, 3], Delivered),
    (22, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], DeliveryFailed),
    (23, &[0], NONE),
    (
        24,
        &[
            0, 1, 2, 3, 4, 5, 1019, 1020, 1050, 1051, 1052, 1053, 1054, 1055, 1056, 1057, 1058,
            1059, 1060, 1061, 1062, 1063, 1064, 1065, 1070, 1073, 1099,
        ],
        InTransit,
    ),
    (25, &[0], NONE),
    (26, &[0, 1, 2], NONE),
    (27, &[0], NONE),
    (28, &[0], NONE),
    (29, &[0], InTransit),
    (30, &[0], NONE),
    (
        31,
        &[
            0, 1, 5, 6, 7, 14, 21, 23, 24, 31, 40, 41, 42, 43, 48, 57, 59, 74, 82,
        ],
        InTransit,
    ),
    (32, &[0], NONE),
    (33, &[0, 1, 2, 3], InTransit),
    (34, &[0], NONE),
    (35, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], DeliveryFailed),
    (36, &[0, 1, 2], NONE),
    (37, &[0], NONE),
    (38, &[0, 4, 13, 25], NONE),
    (39, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], InTransit),
    (40, &[0, 1, 2, 3], InTransit),
    (41, &[0, 1, 2, 3, 4, 5, 6], InTransit),
    (
        42,
        &[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
            24, 25, 26, 27, 28, 29, 30,
        ],
        DeliveryFailed,
    ),
    (43, &[0], NONE),
    (
        44,
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        NONE,
    ),
    (45, &[0], NONE),
    (46, &[0], NONE),
    (47, &[0], NONE),
    (48, &[0], Delivered),
    (49, &[0, 1, 2, 3, 4, 5, 6], NONE),
    (50, &[0, 1, 2, 3, 4, 5, 6, 7, 8], DeliveryFailed),
    (51, &[0, 1, 2, 3, 4, 5, 6], DeliveryFailed),
    (52, &[0], NONE),
    (53, &[0, 1, 2, 3], NONE),
    (54, &[0, 1, 2], NONE),
    (55, &[0, 1, 2, 3, 4, 5, 6], NONE),
    (56, &[0, 1], ArrivedAtPickup),
    (57, &[0], NONE),
    (58, &[0], NONE),
    (59, &[0], NONE),
    (60, &[0, 1, 2, 3, 4, 5], NONE),
    (61, &[0], InTransit),
    (62, &[0], NONE),
    (63, &[0], NONE),
    (1027, &[0, 1, 2, 3, 4], NONE),
];

/// Whether the dictionary has the pair `oper_type`/`attr`.
pub fn knows(oper_type: u32, attr: u32) -> bool {
    DICTIONARY
        .iter()
        .any(|(t, attrs, _)| *t == oper_type && attrs.contains(&attr))
}

/// Whether the dictionary has the pair of a code written `type/attr` (`8/2`); anything else is
/// not a Russian Post operation code.
pub fn knows_code(code: &str) -> bool {
    code.split_once('/')
        .and_then(|(t, a)| Some((t.trim().parse().ok()?, a.trim().parse().ok()?)))
        .is_some_and(|(t, a)| knows(t, a))
}

/// Whether `code` is written `type/attr` with two whole numbers (a code the config may map).
pub fn is_code(code: &str) -> bool {
    code.split_once('/')
        .is_some_and(|(t, a)| t.parse::<u32>().is_ok() && a.parse::<u32>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_knows_its_pairs_and_nothing_else() {
        assert!(knows(8, 2));
        assert!(knows(1027, 4));
        assert!(!knows(8, 99), "8/99 is not in the dictionary");
        assert!(!knows(64, 0), "type 64 is not in the dictionary");
        assert!(knows_code("8/2"));
        assert!(!knows_code("8/99"));
        assert!(!knows_code("8-2"));
        assert!(is_code("8/99"));
        assert!(!is_code("8/"));
        assert!(!is_code(" 8/2"));
        assert!(!is_code("InTransit_Other"));
    }
}
