//! `parcelctl status`: setting a parcel's status by hand.

use crate::table::{print_json, ts};
use clap::Subcommand;
use parceld::api::dto::SetStatus;
use parceld::client::Client;

/// Commands that set a status by hand.
#[derive(Subcommand)]
pub enum Cmd {
    /// Set a parcel's status by hand (delivered, returned_to_sender, lost, arrived_at_pickup):
    /// kept in its history with the reason, it sends what the carrier's event would.
    Status {
        /// Shop id.
        shop: String,
        /// Track number.
        track: String,
        /// delivered, returned_to_sender (returned), lost or arrived_at_pickup (arrived).
        status: String,
        /// Why, in a few words.
        #[arg(long)]
        reason: String,
        /// For arrived_at_pickup: the office's postal index.
        #[arg(long)]
        office: Option<String>,
        /// For arrived_at_pickup: the office's name.
        #[arg(long)]
        office_name: Option<String>,
    },
}

/// Runs a command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    match cmd {
        Cmd::Status {
            shop,
            track,
            status,
            reason,
            office,
            office_name,
        } => {
            let req = SetStatus {
                status: status.clone(),
                reason: reason.clone(),
                office_index: office.clone(),
                office_name: office_name.clone(),
            };
            let p = client
                .set_status(shop, track, &req)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                print_json(&p);
            } else {
                println!(
                    "{track} is {} (set by hand); next poll {}",
                    p.status,
                    ts(&p.next_poll_at)
                );
            }
        }
    }
    Ok(())
}
