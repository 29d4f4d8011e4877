//! `parcelctl health|poll|metrics`: operating the daemon.

use crate::table::{opt, print_json, table, ts};
use clap::Subcommand;
use parceld::api::dto::PollRequest;
use parceld::client::Client;

/// Operations commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Show the daemon's health: carriers, channels, the outbox.
    Health,
    /// Poll the carriers now: what is due, or every live parcel with --all.
    Poll {
        /// Every live parcel, not only those due.
        #[arg(long)]
        all: bool,
        /// Only this shop's parcels.
        #[arg(long)]
        shop: Option<String>,
    },
    /// Print the Prometheus metrics.
    Metrics,
}

/// Runs an operations command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: parceld::client::ClientError| e.to_string();
    match cmd {
        Cmd::Health => {
            let h = client.health().await.map_err(e)?;
            if json {
                print_json(&h);
                return Ok(());
            }
            println!(
                "parceld {}: {} (since {})",
                h.version, h.status, h.started_at
            );
            if let Some(err) = &h.store_error {
                println!("store error: {err}");
            }
            table(
                &[
                    "CARRIER",
                    "STATE",
                    "REQUESTS TODAY",
                    "LAST SUCCESS",
                    "LAST ERROR",
                ],
                h.carriers
                    .iter()
                    .map(|(n, c)| {
                        let state = match (&c.paused_until, &c.paused_reason, &c.stalled_since) {
                            (Some(u), Some(r), _) => {
                                format!("{} until {} ({r})", c.state, ts(&Some(*u)))
                            }
                            (_, _, Some(since)) => format!(
                                "{} since {} ({})",
                                c.state,
                                ts(&Some(*since)),
                                opt(&c.stalled_reason)
                            ),
                            _ => c.state.clone(),
                        };
                        vec![
                            n.clone(),
                            state,
                            match c.daily_limit {
                                Some(l) => format!("{}/{l}", c.requests_today),
                                None => c.requests_today.to_string(),
                            },
                            ts(&c.last_success_at),
                            opt(&c.last_error),
                        ]
                    })
                    .collect(),
            );
            println!();
            table(
                &[
                    "CHANNEL",
                    "TRANSPORT",
                    "PENDING",
                    "SENDING",
                    "DEAD",
                    "LAST ERROR",
                ],
                h.channels
                    .iter()
                    .map(|(n, c)| {
                        vec![
                            n.clone(),
                            c.transport.clone(),
                            c.pending.to_string(),
                            c.sending.to_string(),
                            c.dead.to_string(),
                            opt(&c.last_error),
                        ]
                    })
                    .collect(),
            );
            for (n, c) in &h.channels {
                for p in &c.paused {
                    println!("{n} paused: {p}");
                }
            }
        }
        Cmd::Poll { all, shop } => {
            let s = client
                .poll(&PollRequest {
                    shop: shop.clone(),
                    all: *all,
                })
                .await
                .map_err(e)?;
            if json {
                print_json(&s);
            } else {
                println!(
                    "polled {}, changed {}, notifications queued {}, failed {}, skipped {}",
                    s.polled, s.changed, s.messages, s.failed, s.skipped
                );
            }
        }
        Cmd::Metrics => {
            print!("{}", client.metrics().await.map_err(e)?);
        }
    }
    Ok(())
}
