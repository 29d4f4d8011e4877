//! `parcelctl`: the command-line client of parceld's control socket. Every command prints a
//! human-readable table, or the API's JSON with `--json`.

use clap::{Args, Parser, Subcommand};
use parceld::api::dto::*;
use parceld::client::{Client, ClientError};
use parceld::domain::shop::Language;
use std::path::PathBuf;
use std::process::ExitCode;

/// Control a running parceld through its control socket.
#[derive(Parser)]
#[command(name = "parcelctl", version, about)]
struct Cli {
    /// The control socket (default: the one named in --config, else /run/parceld/control.sock if
    /// it exists, else var/run/parceld/control.sock).
    #[arg(long, short, env = "PARCELD_SOCKET", global = true)]
    socket: Option<PathBuf>,
    /// Read the socket path from this parceld config file.
    #[arg(long, short, env = "PARCELD_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the daemon's health: carriers, channels, the outbox.
    Health,
    /// Manage shops.
    #[command(subcommand)]
    Shop(ShopCmd),
    /// Hand over one parcel (or a JSON file of parcels with --file).
    Add(AddArgs),
    /// Show one parcel with its events and notifications.
    Show {
        /// Shop id.
        shop: String,
        /// Track number.
        track: String,
    },
    /// Find a shop's parcels by order number.
    Find {
        /// Shop id.
        shop: String,
        /// The shop's order number.
        #[arg(long)]
        order: String,
    },
    /// List a shop's parcels.
    List {
        /// Shop id.
        shop: String,
        /// Only this status (registered, accepted, in_transit, arrived_at_pickup, …).
        #[arg(long)]
        status: Option<String>,
        /// Only parcels with no carrier event for longer than `stuck_after`.
        #[arg(long)]
        stuck: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Continue after this track number.
        #[arg(long)]
        after: Option<String>,
    },
    /// Delete a parcel: nothing more is sent about it.
    Delete {
        /// Shop id.
        shop: String,
        /// Track number.
        track: String,
    },
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

#[derive(Subcommand)]
enum ShopCmd {
    /// Create a shop and print its API token (shown once).
    Create {
        /// Shop id (a-z, 0-9, '_', '-').
        id: String,
        /// Its name as customers know it.
        #[arg(long)]
        name: String,
        /// Where reports and alerts go.
        #[arg(long)]
        report_email: Option<String>,
        /// IANA time zone (default: the daemon's).
        #[arg(long)]
        timezone: Option<String>,
        /// Phone for customers.
        #[arg(long)]
        phone: Option<String>,
        /// Message language: ru or en.
        #[arg(long)]
        language: Option<String>,
    },
    /// Show a shop.
    Show {
        /// Shop id.
        id: String,
    },
    /// List shops.
    List,
    /// Change a shop.
    Set {
        /// Shop id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New report address ("" removes it).
        #[arg(long)]
        report_email: Option<String>,
        /// New time zone.
        #[arg(long)]
        timezone: Option<String>,
        /// New phone ("" removes it).
        #[arg(long)]
        phone: Option<String>,
        /// New language: ru or en.
        #[arg(long)]
        language: Option<String>,
        /// Issue a new API token (the old one stops working).
        #[arg(long)]
        rotate_token: bool,
    },
}

#[derive(Args)]
struct AddArgs {
    /// Shop id.
    shop: String,
    /// Track number.
    #[arg(long, required_unless_present = "file")]
    track: Option<String>,
    /// The shop's order number.
    #[arg(long)]
    order: Option<String>,
    /// Customer's full name.
    #[arg(long)]
    name: Option<String>,
    /// Customer's phone.
    #[arg(long)]
    phone: Option<String>,
    /// Customer's e-mail.
    #[arg(long)]
    email: Option<String>,
    /// Cash on delivery in roubles, e.g. 1490.00.
    #[arg(long)]
    cod: Option<String>,
    /// What is inside.
    #[arg(long)]
    contents: Option<String>,
    /// Carrier (default: guessed from the track number).
    #[arg(long)]
    carrier: Option<String>,
    /// A JSON file with one parcel object or an array of them, as the API takes them.
    #[arg(long, conflicts_with = "track")]
    file: Option<PathBuf>,
}

fn socket_path(cli: &Cli) -> Result<PathBuf, String> {
    if let Some(s) = &cli.socket {
        return Ok(s.clone());
    }
    if let Some(c) = &cli.config {
        return parceld::config::load(c)
            .map(|s| s.daemon.control_socket)
            .map_err(|e| e.to_string());
    }
    let system = PathBuf::from("/run/parceld/control.sock");
    if system.exists() {
        return Ok(system);
    }
    Ok(PathBuf::from("var/run/parceld/control.sock"))
}

fn language(s: &Option<String>) -> Result<Option<Language>, String> {
    match s.as_deref() {
        None => Ok(None),
        Some("ru") => Ok(Some(Language::Ru)),
        Some("en") => Ok(Some(Language::En)),
        Some(other) => Err(format!("--language must be ru or en, not {other:?}")),
    }
}

/// Prints rows as aligned columns.
fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    for r in rows {
        line(r);
    }
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

fn ts(t: &Option<jiff::Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn parcel_rows(parcels: &[ParcelView]) -> Vec<Vec<String>> {
    parcels
        .iter()
        .map(|p| {
            vec![
                p.track.clone(),
                opt(&p.order_id),
                format!("{}{}", p.status, if p.stuck { " (stuck)" } else { "" }),
                p.customer.name.clone(),
                opt(&p.customer.phone),
                p.cod_amount.clone(),
                ts(&p.last_event_at),
            ]
        })
        .collect()
}

const PARCEL_HEADER: [&str; 7] = [
    "TRACK",
    "ORDER",
    "STATUS",
    "CUSTOMER",
    "PHONE",
    "COD",
    "LAST EVENT",
];

fn print_intake(r: &IntakeResponse) {
    println!(
        "created {}, updated {}, already present {}, rejected {}",
        r.created, r.updated, r.unchanged, r.rejected
    );
    for item in &r.results {
        for e in &item.errors {
            println!(
                "  #{} {}: {}: {}",
                item.index,
                item.track.as_deref().unwrap_or("-"),
                e.field,
                e.message
            );
        }
        for w in &item.warnings {
            println!(
                "  #{} {}: warning: {w}",
                item.index,
                item.track.as_deref().unwrap_or("-")
            );
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let socket = socket_path(&cli)?;
    let client = Client::unix(&socket).map_err(|e| e.to_string())?;
    let e = |e: ClientError| e.to_string();
    match &cli.command {
        Command::Health => {
            let h = client.health().await.map_err(e)?;
            if cli.json {
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
                &["CARRIER", "STATE", "LAST SUCCESS", "LAST ERROR"],
                h.carriers
                    .iter()
                    .map(|(n, c)| {
                        vec![
                            n.clone(),
                            c.state.clone(),
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
        }
        Command::Shop(cmd) => match cmd {
            ShopCmd::Create {
                id,
                name,
                report_email,
                timezone,
                phone,
                language: lang,
            } => {
                let r = client
                    .create_shop(&CreateShop {
                        id: id.clone(),
                        name: name.clone(),
                        report_email: report_email.clone(),
                        timezone: timezone.clone(),
                        phone: phone.clone(),
                        language: language(lang)?,
                    })
                    .await
                    .map_err(e)?;
                if cli.json {
                    print_json(&r);
                } else {
                    println!("shop {} created", r.id);
                    println!("token: {}", r.token);
                    println!(
                        "(the token is shown once; shops send it as 'Authorization: Bearer <token>')"
                    );
                }
            }
            ShopCmd::Show { id } => {
                let s = client.shop(id).await.map_err(e)?;
                if cli.json {
                    print_json(&s);
                } else {
                    table(
                        &["ID", "NAME", "REPORT E-MAIL", "TIME ZONE", "PHONE"],
                        vec![vec![
                            s.id,
                            s.name,
                            opt(&s.report_email),
                            s.timezone,
                            opt(&s.phone),
                        ]],
                    );
                }
            }
            ShopCmd::List => {
                let shops = client.shops().await.map_err(e)?;
                if cli.json {
                    print_json(&shops);
                } else {
                    table(
                        &["ID", "NAME", "REPORT E-MAIL", "TIME ZONE", "PHONE"],
                        shops
                            .into_iter()
                            .map(|s| {
                                vec![
                                    s.id,
                                    s.name,
                                    opt(&s.report_email),
                                    s.timezone,
                                    opt(&s.phone),
                                ]
                            })
                            .collect(),
                    );
                }
            }
            ShopCmd::Set {
                id,
                name,
                report_email,
                timezone,
                phone,
                language: lang,
                rotate_token,
            } => {
                let s = client
                    .patch_shop(
                        id,
                        &PatchShop {
                            name: name.clone(),
                            report_email: report_email.clone(),
                            timezone: timezone.clone(),
                            phone: phone.clone(),
                            language: language(lang)?,
                            rotate_token: *rotate_token,
                        },
                    )
                    .await
                    .map_err(e)?;
                if cli.json {
                    print_json(&s);
                } else {
                    println!("shop {} updated", s.id);
                    if let Some(t) = &s.token {
                        println!("new token: {t}");
                    }
                }
            }
        },
        Command::Add(a) => {
            let r = match &a.file {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|err| format!("{}: {err}", path.display()))?;
                    let v: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|err| format!("{}: not JSON: {err}", path.display()))?;
                    client.add_json(&a.shop, &v).await.map_err(e)?
                }
                None => {
                    let p = ParcelIn {
                        track: a.track.clone().unwrap_or_default(),
                        order_id: a.order.clone(),
                        customer: Some(CustomerIn {
                            name: a.name.clone(),
                            phone: a.phone.clone(),
                            email: a.email.clone(),
                        }),
                        cod_amount: a.cod.clone(),
                        contents: a.contents.clone(),
                        carrier: a.carrier.clone(),
                    };
                    client.add_parcels(&a.shop, &[p]).await.map_err(e)?
                }
            };
            if cli.json {
                print_json(&r);
            } else {
                print_intake(&r);
            }
            if r.rejected > 0 {
                return Err(format!("{} parcel(s) rejected", r.rejected));
            }
        }
        Command::Show { shop, track } => {
            let p = client.parcel(shop, track).await.map_err(e)?;
            if cli.json {
                print_json(&p);
                return Ok(());
            }
            println!("{} ({}), order {}", p.track, p.carrier, opt(&p.order_id));
            println!(
                "status:    {} — {}{}",
                p.status,
                p.status_label,
                if p.stuck { " — STUCK" } else { "" }
            );
            println!(
                "customer:  {} {} {}",
                p.customer.name,
                opt(&p.customer.phone),
                opt(&p.customer.email)
            );
            println!(
                "cod:       {} ₽   contents: {}",
                p.cod_amount,
                opt(&p.contents)
            );
            if let Some(a) = &p.arrival {
                println!(
                    "waiting:   {} {} ({}), until {} ({} days left)",
                    opt(&a.office.index),
                    a.office.address.clone().unwrap_or(a.office.name.clone()),
                    opt(&a.office.hours),
                    a.deadline,
                    a.days_left
                );
            }
            if let Some(w) = &p.track_warning {
                println!("warning:   {w}");
            }
            println!(
                "next poll: {}   next reminder: {}",
                ts(&p.next_poll_at),
                ts(&p.next_reminder_at)
            );
            println!();
            table(
                &["WHEN", "STATUS", "CODE", "DESCRIPTION", "WHERE"],
                p.events
                    .iter()
                    .map(|ev| {
                        vec![
                            ts(&Some(ev.at)),
                            ev.status.clone(),
                            ev.code.clone(),
                            ev.description.clone(),
                            ev.office
                                .as_ref()
                                .map(|o| o.name.clone())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect(),
            );
            println!();
            table(
                &[
                    "NOTIFICATION",
                    "CHANNEL",
                    "TO",
                    "STATE",
                    "ATTEMPTS",
                    "SENT",
                    "ERROR",
                ],
                p.notifications
                    .iter()
                    .map(|n| {
                        vec![
                            format!("{} #{}", n.kind, n.occurrence),
                            n.channel.clone(),
                            n.recipient.clone(),
                            n.state.clone(),
                            n.attempts.to_string(),
                            ts(&n.sent_at),
                            opt(&n.last_error),
                        ]
                    })
                    .collect(),
            );
        }
        Command::Find { shop, order } => {
            let l = client
                .list(shop, &[("order_id", order.clone())])
                .await
                .map_err(e)?;
            if cli.json {
                print_json(&l);
            } else {
                table(&PARCEL_HEADER, parcel_rows(&l.parcels));
            }
        }
        Command::List {
            shop,
            status,
            stuck,
            limit,
            after,
        } => {
            let mut q = vec![("limit", limit.to_string())];
            if let Some(s) = status {
                q.push(("status", s.clone()));
            }
            if *stuck {
                q.push(("stuck", "true".into()));
            }
            if let Some(a) = after {
                q.push(("after", a.clone()));
            }
            let l = client.list(shop, &q).await.map_err(e)?;
            if cli.json {
                print_json(&l);
            } else {
                table(&PARCEL_HEADER, parcel_rows(&l.parcels));
                if let Some(n) = &l.next {
                    println!("(more: --after {n})");
                }
            }
        }
        Command::Delete { shop, track } => {
            let v = client.delete(shop, track).await.map_err(e)?;
            if cli.json {
                print_json(&v);
            } else {
                println!("deleted {track}");
            }
        }
        Command::Poll { all, shop } => {
            let s = client
                .poll(&PollRequest {
                    shop: shop.clone(),
                    all: *all,
                })
                .await
                .map_err(e)?;
            if cli.json {
                print_json(&s);
            } else {
                println!(
                    "polled {}, changed {}, notifications queued {}, failed {}, skipped {}",
                    s.polled, s.changed, s.messages, s.failed, s.skipped
                );
            }
        }
        Command::Metrics => {
            print!("{}", client.metrics().await.map_err(e)?);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("parcelctl: {err}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("parcelctl: {err}");
            ExitCode::FAILURE
        }
    }
}
