//! `parcelctl import|import-template`: hand over a CSV or XLSX parcel table, and get the template.

use crate::table::{print_json, table};
use clap::Subcommand;
use parceld::api::dto::IntakeOutcome;
use parceld::client::Client;
use std::path::PathBuf;

/// Import commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Hand over a parcel table: CSV (UTF-8 or Windows-1251, ';' or ',') or XLSX.
    Import {
        /// Shop id.
        shop: String,
        /// The file.
        file: PathBuf,
        /// Print every row, not only the refused ones.
        #[arg(long)]
        all: bool,
    },
    /// Save the import template (XLSX) to a file.
    #[command(name = "import-template")]
    ImportTemplate {
        /// Where to save it.
        #[arg(default_value = "parceld-import-template.xlsx")]
        out: PathBuf,
    },
}

fn content_type(file: &std::path::Path, bytes: &[u8]) -> &'static str {
    let xlsx = bytes.starts_with(b"PK\x03\x04")
        || file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        parceld::reports::send::XLSX_TYPE
    } else {
        "text/csv"
    }
}

/// Runs an import command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    match cmd {
        Cmd::Import { shop, file, all } => {
            let bytes =
                std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let ct = content_type(file, &bytes);
            let r = client
                .import_file(shop, bytes, ct)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                print_json(&r);
                return Ok(());
            }
            println!(
                "{}{}: {} rows: {} created, {} updated, {} unchanged, {} rejected",
                r.format,
                r.detected.map(|d| format!(" ({d})")).unwrap_or_default(),
                r.rows,
                r.created,
                r.updated,
                r.unchanged,
                r.rejected
            );
            if !r.ignored_columns.is_empty() {
                println!("ignored columns: {}", r.ignored_columns.join(", "));
            }
            for w in &r.warnings {
                println!("warning: {}", w.message);
            }
            for s in &r.skipped_rows {
                println!("skipped row {}: {}", s.row, s.reason);
            }
            let rows: Vec<Vec<String>> = r
                .results
                .iter()
                .filter(|x| *all || x.outcome == IntakeOutcome::Rejected || !x.warnings.is_empty())
                .map(|x| {
                    let why: Vec<String> = x
                        .errors
                        .iter()
                        .map(|e| {
                            let col = if e.column.is_empty() {
                                &e.field
                            } else {
                                &e.column
                            };
                            format!("{col}: {}", e.message)
                        })
                        .chain(x.warnings.iter().cloned())
                        .collect();
                    vec![
                        x.row.to_string(),
                        x.track.clone().unwrap_or_else(|| "-".into()),
                        serde_json::to_value(x.outcome)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        why.join("; "),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                table(&["ROW", "TRACK", "OUTCOME", "WHY"], rows);
            }
            if r.rejected > 0 {
                return Err(format!("{} rows were rejected", r.rejected));
            }
        }
        Cmd::ImportTemplate { out } => {
            let bytes = client.import_template().await.map_err(|e| e.to_string())?;
            std::fs::write(out, bytes)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!("template saved to {}", out.display());
        }
    }
    Ok(())
}
