//! `parcelctl offices import|show`: the post office directory that arrival messages take street
//! addresses and opening hours from.

use crate::table::{opt, print_json, table};
use clap::Subcommand;
use parceld::api::dto::{DirectoryOfficeView, OfficesImported};
use parceld::client::{Client, ClientError, decode};
use reqwest::Method;
use std::path::PathBuf;

/// Office directory commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Load offices from a CSV file with the header `index,address,hours,phone`.
    Import {
        /// The CSV file (comma or semicolon separated, UTF-8).
        file: PathBuf,
        /// Drop offices that are not in the file.
        #[arg(long)]
        replace: bool,
    },
    /// Show one office of the directory.
    Show {
        /// Postal index, six digits.
        index: String,
    },
}

/// Runs an office directory command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: ClientError| e.to_string();
    match cmd {
        Cmd::Import { file, replace } => {
            let body = std::fs::read(file).map_err(|err| format!("{}: {err}", file.display()))?;
            let path = if *replace {
                "/v1/offices?replace=true"
            } else {
                "/v1/offices"
            };
            let raw = client
                .raw(
                    Method::POST,
                    path,
                    Some(body),
                    Some("text/csv; charset=utf-8"),
                )
                .await
                .map_err(e)?;
            let status = raw.status;
            let r: OfficesImported = if status == 422 {
                serde_json::from_slice(&raw.body).map_err(|err| err.to_string())?
            } else {
                decode(raw).map_err(e)?
            };
            if json {
                print_json(&r);
            } else if r.problems.is_empty() {
                println!(
                    "imported {} offices; the directory has {}",
                    r.imported, r.total
                );
            } else {
                table(
                    &["LINE", "PROBLEM"],
                    r.problems
                        .iter()
                        .map(|p| vec![p.line.to_string(), p.message.clone()])
                        .collect(),
                );
            }
            if !r.problems.is_empty() {
                return Err(format!(
                    "{}: {} bad line(s); nothing was imported",
                    file.display(),
                    r.problems.len()
                ));
            }
        }
        Cmd::Show { index } => {
            let raw = client
                .raw(
                    Method::GET,
                    &format!(
                        "/v1/offices/{}",
                        percent_encoding::utf8_percent_encode(
                            index,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                    None,
                    None,
                )
                .await
                .map_err(e)?;
            let o: DirectoryOfficeView = decode(raw).map_err(e)?;
            if json {
                print_json(&o);
            } else {
                println!("{}  {}", o.index, o.address);
                println!("hours: {}", opt(&o.hours));
                println!("phone: {}", opt(&o.phone));
            }
        }
    }
    Ok(())
}
