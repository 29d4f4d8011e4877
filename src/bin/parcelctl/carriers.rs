//! `parcelctl unmapped`: the carriers' codes no mapping knows.

use crate::table::{print_json, table, ts};
use clap::Subcommand;
use parceld::client::Client;

/// Carrier commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Codes the carriers sent that parceld does not map, the most frequent first, with a few
    /// parcels each came for (map one in [carriers.<carrier>.codes]).
    Unmapped,
}

/// Runs a carrier command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    match cmd {
        Cmd::Unmapped => {
            let codes = client.unmapped_codes().await.map_err(|e| e.to_string())?;
            if json {
                print_json(&codes);
                return Ok(());
            }
            if codes.is_empty() {
                println!("no unmapped codes");
                return Ok(());
            }
            table(
                &[
                    "CARRIER",
                    "CODE",
                    "COUNT",
                    "LAST SEEN",
                    "DESCRIPTION",
                    "SAMPLES",
                ],
                codes
                    .iter()
                    .map(|c| {
                        vec![
                            c.carrier.clone(),
                            if c.mapped_now {
                                format!("{} (mapped now)", c.code)
                            } else {
                                c.code.clone()
                            },
                            c.count.to_string(),
                            ts(&Some(c.last_seen)),
                            c.description.clone(),
                            c.samples.join(" "),
                        ]
                    })
                    .collect(),
            );
        }
    }
    Ok(())
}
