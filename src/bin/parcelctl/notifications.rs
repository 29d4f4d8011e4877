//! `parcelctl dead|retry-dead|unsubscribe|callbacks`: the messages that could not be sent,
//! unsubscribing a customer on their behalf, and the URLs to give SMS gateways.

use crate::table::{opt, print_json, table, ts};
use clap::Subcommand;
use parceld::api::dto::RetryDead;
use parceld::client::Client;

/// Notification commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// List dead letters: messages given up after a permanent error or every attempt.
    Dead {
        /// Only this channel (sms, email).
        #[arg(long)]
        channel: Option<String>,
        /// Only this shop.
        #[arg(long)]
        shop: Option<String>,
    },
    /// Queue dead letters again (after fixing what made them fail).
    RetryDead {
        /// Only this channel (sms, email).
        #[arg(long)]
        channel: Option<String>,
        /// Only this shop.
        #[arg(long)]
        shop: Option<String>,
    },
    /// Unsubscribe a parcel's customer (every unsent message on those channels is withdrawn).
    Unsubscribe {
        /// Shop id.
        shop: String,
        /// Track number.
        track: String,
        /// A channel (sms, email); both when absent. Repeat for several.
        #[arg(long)]
        channel: Vec<String>,
    },
    /// Print the callback URL to register at each SMS gateway (delivery reports, STOP replies).
    Callbacks,
}

/// Runs a notification command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: parceld::client::ClientError| e.to_string();
    match cmd {
        Cmd::Dead { channel, shop } => {
            let d = client
                .dead_letters(channel.as_deref(), shop.as_deref())
                .await
                .map_err(e)?;
            if json {
                print_json(&d);
                return Ok(());
            }
            table(
                &[
                    "SHOP", "TRACK", "MESSAGE", "CHANNEL", "TO", "ATTEMPTS", "QUEUED", "ERROR",
                ],
                d.dead
                    .into_iter()
                    .map(|x| {
                        vec![
                            x.shop,
                            x.track,
                            format!("{} #{}", x.kind, x.occurrence),
                            x.channel,
                            x.recipient,
                            x.attempts.to_string(),
                            ts(&Some(x.created_at)),
                            opt(&x.last_error),
                        ]
                    })
                    .collect(),
            );
        }
        Cmd::RetryDead { channel, shop } => {
            let r = client
                .retry_dead(&RetryDead {
                    channel: channel.clone(),
                    shop: shop.clone(),
                })
                .await
                .map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!("{} dead letters queued again", r.requeued);
            }
        }
        Cmd::Unsubscribe {
            shop,
            track,
            channel,
        } => {
            let channels = (!channel.is_empty()).then(|| channel.clone());
            let r = client.unsubscribe(shop, track, channels).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!(
                    "{} unsubscribed from {}; {} unsent messages withdrawn",
                    r.track,
                    r.unsubscribed.join(", "),
                    r.cancelled
                );
            }
        }
        Cmd::Callbacks => {
            let urls = client.callback_urls().await.map_err(e)?;
            if json {
                print_json(&urls);
            } else if urls.is_empty() {
                println!("no SMS gateway with callbacks is configured");
            } else {
                table(
                    &["GATEWAY", "CALLBACK URL"],
                    urls.into_iter().map(|(g, u)| vec![g, u]).collect(),
                );
            }
        }
    }
    Ok(())
}
