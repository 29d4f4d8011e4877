//! `parcelctl webhook add|list|delete|rotate|enable|dead|replay`: a shop's webhooks, signed
//! event notices to its own systems.

use crate::table::{opt, print_json, table, ts};
use clap::Subcommand;
use parceld::api::dto::WebhookIn;
use parceld::client::{Client, ClientError};

/// Webhook commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Register an endpoint; prints its id and its signing secret (shown once).
    Add {
        /// The shop.
        shop: String,
        /// Where events are posted (https://…).
        url: String,
        /// Only these event types (repeat, or comma-separated); default: every type.
        #[arg(long = "event", value_delimiter = ',')]
        events: Vec<String>,
    },
    /// List a shop's endpoints (without secrets).
    List {
        /// The shop.
        shop: String,
    },
    /// Delete an endpoint and everything queued for it.
    Delete {
        /// The shop.
        shop: String,
        /// The endpoint's id (`we_…`).
        id: String,
    },
    /// Give an endpoint a new secret (the old one keeps signing for webhooks.rotation_overlap).
    Rotate {
        /// The shop.
        shop: String,
        /// The endpoint's id.
        id: String,
    },
    /// Enable an endpoint that was disabled for failing; what waited for it goes now.
    Enable {
        /// The shop.
        shop: String,
        /// The endpoint's id.
        id: String,
    },
    /// An endpoint's dead letters.
    Dead {
        /// The shop.
        shop: String,
        /// The endpoint's id.
        id: String,
    },
    /// Queue an endpoint's dead letters again.
    Replay {
        /// The shop.
        shop: String,
        /// The endpoint's id.
        id: String,
    },
}

/// Runs a webhook command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: ClientError| e.to_string();
    match cmd {
        Cmd::Add { shop, url, events } => {
            let req = WebhookIn {
                url: url.clone(),
                events: (!events.is_empty()).then(|| events.clone()),
            };
            let r = client.add_webhook(shop, &req).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!("webhook:  {}", r.id);
                println!("url:      {}", r.url);
                let events = if r.events.is_empty() {
                    "every type".to_string()
                } else {
                    r.events.join(", ")
                };
                println!("events:   {events}");
                println!("secret:   {}", r.secret);
                println!(
                    "Keep the secret: it is not shown again. It signs every request (Parceld-Signature)."
                );
            }
        }
        Cmd::List { shop } => {
            let r = client.webhooks(shop).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                table(
                    &[
                        "ID",
                        "URL",
                        "STATE",
                        "QUEUED",
                        "DEAD",
                        "EVENTS",
                        "FAILING SINCE",
                        "LAST ERROR",
                    ],
                    r.webhooks
                        .iter()
                        .map(|w| {
                            vec![
                                w.id.clone(),
                                w.url.clone(),
                                w.state.clone(),
                                w.queued.to_string(),
                                w.dead.to_string(),
                                if w.events.is_empty() {
                                    "all".into()
                                } else {
                                    w.events.join(",")
                                },
                                ts(&w.failing_since),
                                opt(&w.last_error),
                            ]
                        })
                        .collect(),
                );
            }
        }
        Cmd::Delete { shop, id } => {
            let r = client.delete_webhook(shop, id).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!("deleted webhook {}", r.deleted);
            }
        }
        Cmd::Rotate { shop, id } => {
            let r = client.rotate_webhook(shop, id).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!("secret:   {}", r.secret);
                match r.previous_secret_until {
                    Some(u) => println!("The old secret signs as well until {u}."),
                    None => println!("The old secret no longer signs."),
                }
            }
        }
        Cmd::Enable { shop, id } => {
            let r = client.enable_webhook(shop, id).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!(
                    "webhook {} enabled; {} waiting event(s) go now",
                    r.webhook.id, r.resumed
                );
            }
        }
        Cmd::Dead { shop, id } => {
            let r = client.webhook_dead(shop, id).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                table(
                    &[
                        "EVENT", "TYPE", "TRACK", "ATTEMPTS", "STATUS", "CREATED", "ERROR",
                    ],
                    r.dead
                        .iter()
                        .map(|d| {
                            vec![
                                d.event_id.clone(),
                                d.kind.clone(),
                                d.track.clone(),
                                d.attempts.to_string(),
                                d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                                d.created_at.to_string(),
                                opt(&d.last_error),
                            ]
                        })
                        .collect(),
                );
            }
        }
        Cmd::Replay { shop, id } => {
            let r = client.replay_webhook(shop, id).await.map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!("{} dead letter(s) queued again", r.replayed);
            }
        }
    }
    Ok(())
}
