//! File imports: what became of each row, and which columns were read.

use super::IntakeOutcome;
use serde::{Deserialize, Serialize};

/// One error of an imported row: the column as the file names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowError {
    /// The column header as written in the file (empty when the error is not about a column).
    pub column: String,
    /// The field as the API names it (`customer.phone`, `plan`).
    pub field: String,
    /// Why.
    pub message: String,
}

/// What became of one row of an imported file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowResult {
    /// The row number as Excel shows it.
    pub row: usize,
    /// The track number, when it could be read.
    pub track: Option<String>,
    /// Created, already present, updated or rejected.
    pub outcome: IntakeOutcome,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RowError>,
    /// Doubts worth showing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A column the import used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ColumnUsed {
    /// The field (`track`, `customer.phone`).
    pub field: String,
    /// The header as written in the file.
    pub header: String,
}

/// A column the import did not read although its header looks like a parcel's field
/// ("Сумма заказа", "Дата заказа", a second phone column).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ColumnWarning {
    /// The header as written in the file.
    pub column: String,
    /// The fields it looks like or could be (`cod_amount`, `order_id`).
    pub looks_like: Vec<String>,
    /// Why it was not read, and what to do if it should be.
    pub message: String,
}

/// A row of an imported file passed over on purpose.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SkippedRow {
    /// The row number as Excel shows it.
    pub row: usize,
    /// Why: a total row ("Итого").
    pub reason: String,
}

/// The answer to `POST /v1/shops/{shop}/parcels/import`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ImportResponse {
    /// `csv` or `xlsx`.
    pub format: String,
    /// How it was read: encoding and separator, or the sheet.
    pub detected: Option<String>,
    /// The columns used.
    pub columns: Vec<ColumnUsed>,
    /// Headers that were not understood and were skipped.
    pub ignored_columns: Vec<String>,
    /// Ignored columns that look like a parcel's field (each is in `ignored_columns` too).
    #[serde(default)]
    pub warnings: Vec<ColumnWarning>,
    /// Rows passed over: total rows ("Итого", "Всего", "Total").
    #[serde(default)]
    pub skipped_rows: Vec<SkippedRow>,
    /// Data rows read (empty and skipped rows left out).
    pub rows: usize,
    /// New parcels.
    pub created: usize,
    /// Parcels whose details changed.
    pub updated: usize,
    /// Parcels already there with the same details.
    pub unchanged: usize,
    /// Rows refused.
    pub rejected: usize,
    /// One result per row.
    pub results: Vec<RowResult>,
}
