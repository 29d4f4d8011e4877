//! `parcelctl add|show|find|list|delete`: a shop's parcels.

use crate::table::{
    PARCEL_HEADER, office_time, opt, parcel_rows, print_intake, print_json, table, ts,
};
use clap::{Args, Subcommand};
use parceld::api::dto::{CustomerIn, Field, ParcelIn};
use parceld::client::Client;
use std::path::PathBuf;

/// Parcel commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Hand over one parcel (or a JSON file of parcels with --file).
    Add(Box<AddArgs>),
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
    /// Poll a parcel again that was given up on (no carrier event for `rules.give_up_after`).
    Revive {
        /// Shop id.
        shop: String,
        /// Track number.
        track: String,
    },
}

#[derive(Args)]
pub struct AddArgs {
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
    /// How long the office keeps it, in days, when the shop's contract sets it per parcel.
    #[arg(long)]
    storage_days: Option<String>,
    /// Clear a field of a parcel handed over before (repeatable): order, name, phone, email,
    /// cod, contents, storage-days. Fields not named and not given keep their values.
    #[arg(long, value_name = "FIELD")]
    clear: Vec<String>,
    /// A JSON file with one parcel object or an array of them, as the API takes them.
    #[arg(long, conflicts_with = "track")]
    file: Option<PathBuf>,
}

impl AddArgs {
    /// The parcel the flags describe: a flag given sets its field, `--clear` clears one, and
    /// the rest keep what is stored.
    fn parcel(&self) -> Result<ParcelIn, String> {
        const CLEARABLE: [&str; 7] = [
            "order",
            "name",
            "phone",
            "email",
            "cod",
            "contents",
            "storage-days",
        ];
        if let Some(bad) = self.clear.iter().find(|c| !CLEARABLE.contains(&c.as_str())) {
            return Err(format!(
                "--clear {bad}: not a field; use one of {}",
                CLEARABLE.join(", ")
            ));
        }
        let field = |name: &str, v: &Option<String>| match v {
            Some(v) => Field::Value(v.clone()),
            None if self.clear.iter().any(|c| c == name) => Field::Null,
            None => Field::Absent,
        };
        let customer = CustomerIn {
            name: field("name", &self.name),
            phone: field("phone", &self.phone),
            email: field("email", &self.email),
        };
        let untouched =
            customer.name.is_absent() && customer.phone.is_absent() && customer.email.is_absent();
        Ok(ParcelIn {
            track: self.track.clone().unwrap_or_default(),
            order_id: field("order", &self.order),
            customer: if untouched {
                Field::Absent
            } else {
                customer.into()
            },
            cod_amount: field("cod", &self.cod),
            contents: field("contents", &self.contents),
            carrier: self.carrier.clone(),
            storage_days: field("storage-days", &self.storage_days),
        })
    }
}

/// Runs a parcel command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: parceld::client::ClientError| e.to_string();
    match cmd {
        Cmd::Add(a) => {
            let r = match &a.file {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|err| format!("{}: {err}", path.display()))?;
                    let v: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|err| format!("{}: not JSON: {err}", path.display()))?;
                    client.add_json(&a.shop, &v).await.map_err(e)?
                }
                None => client
                    .add_parcels(&a.shop, &[a.parcel()?])
                    .await
                    .map_err(e)?,
            };
            if json {
                print_json(&r);
            } else {
                print_intake(&r);
            }
            if r.rejected > 0 {
                return Err(format!("{} parcel(s) rejected", r.rejected));
            }
        }
        Cmd::Show { shop, track } => {
            let p = client.parcel(shop, track).await.map_err(e)?;
            if json {
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
                "cod:       {} ₽{}   contents: {}",
                p.cod_amount,
                p.cod_paid_at
                    .map(|t| format!(", paid on {}", t.strftime("%Y-%m-%d")))
                    .unwrap_or_default(),
                opt(&p.contents)
            );
            if let Some(n) = &p.tracked_as {
                println!("now:       tracked as {n} (the carrier re-registered it)");
            }
            if let Some(m) = &p.mail_type {
                println!("item:      {} ({} {})", m.class, m.code, m.name);
            }
            if let Some(d) = p.storage_days {
                println!("storage:   {d} days (the shop's period for this parcel)");
            }
            if let Some(a) = &p.arrival {
                println!(
                    "waiting:   {} {} ({}), until {} ({} days left)",
                    opt(&a.office.index),
                    a.office.address.clone().unwrap_or(a.office.name.clone()),
                    opt(&a.office.hours),
                    office_time(a.timezone.as_deref(), a.deadline),
                    a.days_left
                );
                println!("deadline:  {}", a.deadline_basis);
                for n in &a.storage_notes {
                    println!("           {n}");
                }
            }
            if let Some(e) = &p.expected {
                println!(
                    "expected:  at the office {} .. {} (likely {}; lane {}, {} journeys)",
                    e.earliest.strftime("%Y-%m-%d"),
                    e.latest.strftime("%Y-%m-%d"),
                    e.likely.strftime("%Y-%m-%d"),
                    e.lane,
                    e.samples
                );
            }
            if let Some(pr) = &p.probably_arrived {
                println!(
                    "probably:  at office {} since {} ({}: {})",
                    opt(&pr.office_index),
                    pr.since.strftime("%Y-%m-%d %H:%M"),
                    pr.reason,
                    pr.detail
                );
            }
            if let Some(at) = &p.abandoned_at {
                println!(
                    "abandoned: {} — no carrier event for too long; `parcelctl revive` polls it again",
                    ts(&Some(*at))
                );
            }
            if let Some(w) = &p.track_warning {
                println!("warning:   {w}");
            }
            if let Some(c) = &p.contradiction {
                println!(
                    "CONTRADICTED: {} set by the {} on {} ({}); the carrier says otherwise:",
                    c.status,
                    c.set_by,
                    ts(&Some(c.at)),
                    c.reason
                );
                for ev in &c.carrier_events {
                    println!(
                        "           {} {} {} {}",
                        ts(&Some(ev.at)),
                        ev.status,
                        ev.code,
                        ev.description
                    );
                }
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
                            match &ev.set_by {
                                Some(by) => format!("{} (by hand, {by})", ev.code),
                                None => ev.code.clone(),
                            },
                            ev.description.clone(),
                            ev.office
                                .as_ref()
                                .map(|o| o.name.clone())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect(),
            );
            if !p.unsubscribed.is_empty() {
                println!("unsubscribed from: {}", p.unsubscribed.join(", "));
            }
            for o in &p.optouts {
                let scope = match o.scope.as_str() {
                    "shop" => "every message of this shop to this customer",
                    _ => "this parcel",
                };
                println!(
                    "opted out: {} ({scope}), by {} on {}",
                    o.channel,
                    o.source,
                    ts(&Some(o.at))
                );
            }
            println!();
            table(
                &[
                    "NOTIFICATION",
                    "CHANNEL",
                    "TO",
                    "STATE",
                    "ATTEMPTS",
                    "SENT",
                    "VIA",
                    "DELIVERY",
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
                            opt(&n.provider),
                            opt(&n.delivery_status),
                            opt(&n.last_error),
                        ]
                    })
                    .collect(),
            );
        }
        Cmd::Find { shop, order } => {
            let l = client
                .list(shop, &[("order_id", order.clone())])
                .await
                .map_err(e)?;
            if json {
                print_json(&l);
            } else {
                table(&PARCEL_HEADER, parcel_rows(&l.parcels));
            }
        }
        Cmd::List {
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
            if json {
                print_json(&l);
            } else {
                table(&PARCEL_HEADER, parcel_rows(&l.parcels));
                if let Some(n) = &l.next {
                    println!("(more: --after {n})");
                }
            }
        }
        Cmd::Delete { shop, track } => {
            let v = client.delete(shop, track).await.map_err(e)?;
            if json {
                print_json(&v);
            } else {
                println!("deleted {track}");
            }
        }
        Cmd::Revive { shop, track } => {
            let p = client.revive(shop, track).await.map_err(e)?;
            if json {
                print_json(&p);
            } else {
                println!("{track} is polled again from {}", ts(&p.next_poll_at));
            }
        }
    }
    Ok(())
}
