//! The post office directory: an office, and what loading a directory file did.

use serde::{Deserialize, Serialize};

/// An office of the post office directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DirectoryOfficeView {
    /// Postal index.
    pub index: String,
    /// Street address.
    pub address: String,
    /// Opening hours.
    pub hours: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// One bad line of an office directory file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CsvProblemView {
    /// Line number (1 is the header).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// The answer to `POST /v1/offices`: 200 when imported, 422 with the problems (and nothing
/// imported) otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct OfficesImported {
    /// Offices read from the file and stored.
    pub imported: usize,
    /// Offices in the directory now.
    pub total: usize,
    /// Bad lines.
    #[serde(default)]
    pub problems: Vec<CsvProblemView>,
}
