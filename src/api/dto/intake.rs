//! Handing parcels over: a parcel as the shop sends it (absent, `null` and set fields kept
//! apart) and what became of each.

use crate::domain::intake::FieldError;
use serde::{Deserialize, Deserializer, Serialize};

/// A field of a parcel handed over again: absent keeps what is stored, `null` clears it, a
/// value sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not in the request.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A value.
    Value(T),
}

impl<T> Field<T> {
    /// Whether the field was left out (it is then not written either).
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
}

impl<T> Field<T> {
    /// The value, when there is one.
    pub fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> Field<T> {
    /// The value, if there is one.
    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<Field<T>> for crate::domain::intake::Patch<T> {
    /// Absent keeps, `null` clears, a value sets.
    fn from(f: Field<T>) -> Self {
        use crate::domain::intake::Patch;
        match f {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(v) => Patch::Set(v),
        }
    }
}

impl<T> From<Option<T>> for Field<T> {
    /// `None` leaves the field out.
    fn from(v: Option<T>) -> Self {
        v.map_or(Field::Absent, Field::Value)
    }
}

impl<T> From<T> for Field<T> {
    fn from(v: T) -> Self {
        Field::Value(v)
    }
}

impl From<&str> for Field<String> {
    fn from(v: &str) -> Self {
        Field::Value(v.to_string())
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => s.serialize_some(v),
            Field::Absent | Field::Null => s.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Field::Null, Field::Value))
    }
}

/// A customer as handed over.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    /// Full name.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub name: Field<String>,
    /// Phone in any common form.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub phone: Field<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub email: Field<String>,
}

/// A parcel as handed over. Only `track` is required; for a parcel handed over before, an
/// absent field keeps what is stored and `null` clears it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ParcelIn {
    /// Track number.
    pub track: String,
    /// The shop's order number.
    #[serde(
        default,
        deserialize_with = "text_or_number",
        skip_serializing_if = "Field::is_absent"
    )]
    pub order_id: Field<String>,
    /// The customer (`null` clears name, phone and e-mail).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub customer: Field<CustomerIn>,
    /// Cash on delivery in roubles: `"1490.00"` or `1490`.
    #[serde(
        default,
        deserialize_with = "text_or_number",
        skip_serializing_if = "Field::is_absent"
    )]
    pub cod_amount: Field<String>,
    /// What is inside.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub contents: Field<String>,
    /// The carrier, when it is not to be guessed from the number (or to move the parcel to
    /// another carrier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// How long the office keeps it, in days, when the shop's contract sets it per parcel.
    #[serde(
        default,
        deserialize_with = "text_or_number",
        skip_serializing_if = "Field::is_absent"
    )]
    pub storage_days: Field<String>,
}

/// A present field that may be text or a number (`"1490.00"`, `1490`), or `null`.
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Field<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Int(u64),
        Float(f64),
    }
    Ok(match Option::<TextOrNumber>::deserialize(d)? {
        None => Field::Null,
        Some(TextOrNumber::Text(s)) => Field::Value(s),
        Some(TextOrNumber::Int(n)) => Field::Value(n.to_string()),
        Some(TextOrNumber::Float(f)) => Field::Value(f.to_string()),
    })
}

/// What happened to one handed-over parcel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// Stored as new.
    Created,
    /// It was there with the same details.
    AlreadyPresent,
    /// It was there; its details were updated.
    Updated,
    /// Refused; see `errors`.
    Rejected,
}

/// The result for one handed-over parcel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IntakeItem {
    /// Its position in the request (0-based).
    pub index: usize,
    /// Its track number as normalised, when it has one.
    pub track: Option<String>,
    /// What happened.
    pub outcome: IntakeOutcome,
    /// Why it was refused, per field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Doubts worth a look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For an update: the fields that changed, as the API names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// The answer to an intake request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct IntakeResponse {
    /// New parcels.
    pub created: usize,
    /// Parcels whose details changed.
    pub updated: usize,
    /// Parcels already present unchanged.
    pub unchanged: usize,
    /// Refused parcels.
    pub rejected: usize,
    /// One result per parcel, in request order.
    pub results: Vec<IntakeItem>,
}
