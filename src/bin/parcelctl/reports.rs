//! `parcelctl report|stats`: a shop's morning report now, and statistics.

use crate::table::{print_json, table};
use clap::Subcommand;
use parceld::api::dto::{ReportRequest, StatsView};
use parceld::client::Client;
use std::path::PathBuf;

/// Report commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Build a shop's morning report now and e-mail it (or save its workbook with --save).
    Report {
        /// Shop id.
        shop: String,
        /// Send it to this address instead of the shop's report address.
        #[arg(long)]
        to: Option<String>,
        /// Only build it and print the summary.
        #[arg(long)]
        dry_run: bool,
        /// Save the workbook to this file instead of sending anything.
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Statistics of a shop, or of every shop without one.
    Stats {
        /// Shop id.
        shop: Option<String>,
        /// From (YYYY-MM-DD or an RFC 3339 time); default: reports.compare_days ago.
        #[arg(long)]
        from: Option<String>,
        /// To (YYYY-MM-DD, inclusive, or an RFC 3339 time); default: now.
        #[arg(long)]
        to: Option<String>,
    },
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn days(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |d| format!("{d:.1}"))
}

fn print_stats(v: &StatsView) {
    println!(
        "{} {} .. {}",
        v.shop.as_deref().unwrap_or("all shops"),
        v.from.strftime("%Y-%m-%d %H:%M"),
        v.to.strftime("%Y-%m-%d %H:%M")
    );
    println!(
        "handed over {} parcels in {} orders; return rate {} (previous period {})",
        v.handed_over,
        v.orders,
        pct(v.return_rate),
        pct(v.previous_return_rate)
    );
    let fin: Vec<String> = v.finished.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "finished: {}",
        if fin.is_empty() {
            "-".into()
        } else {
            fin.join(", ")
        }
    );
    println!(
        "days accepted→arrived: median {}, p90 {} ({} parcels); arrived→pickup: median {}, p90 {} ({} parcels)",
        days(v.accepted_to_arrived_days.median),
        days(v.accepted_to_arrived_days.p90),
        v.accepted_to_arrived_days.count,
        days(v.arrived_to_pickup_days.median),
        days(v.arrived_to_pickup_days.p90),
        v.arrived_to_pickup_days.count
    );
    table(
        &[
            "CHANNEL",
            "TOTAL",
            "SENT",
            "FAILED",
            "CANCELLED",
            "PENDING",
            "DELIVERY RATE",
            "UNSUBSCRIBED",
        ],
        v.notifications
            .iter()
            .map(|(c, n)| {
                vec![
                    c.clone(),
                    n.total.to_string(),
                    n.sent.to_string(),
                    n.failed.to_string(),
                    n.cancelled.to_string(),
                    n.pending.to_string(),
                    pct(n.delivery_rate),
                    v.unsubscribed.get(c).copied().unwrap_or(0).to_string(),
                ]
            })
            .collect(),
    );
    if !v.estimates.is_empty() {
        table(
            &[
                "CARRIER",
                "ESTIMATES SCORED",
                "WITHIN RANGE",
                "MEAN ERROR DAYS",
                "PROBABLE",
                "CONFIRMED",
                "ELSEWHERE",
                "DAYS EARLIER",
            ],
            v.estimates
                .iter()
                .map(|(c, e)| {
                    vec![
                        c.clone(),
                        e.scored.to_string(),
                        pct(e.within_share),
                        days(e.mean_error_days),
                        e.probable.to_string(),
                        e.probable_confirmed.to_string(),
                        e.probable_elsewhere.to_string(),
                        days(e.probable_days_earlier),
                    ]
                })
                .collect(),
        );
    }
    if let Some(p) = &v.plan {
        println!(
            "plan {}: {} of {} this month ({})",
            p.name,
            p.used,
            p.monthly_quota
                .map_or_else(|| "no limit".into(), |q| q.to_string()),
            p.month
        );
    }
}

/// Runs a report command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: parceld::client::ClientError| e.to_string();
    match cmd {
        Cmd::Report {
            shop,
            save: Some(path),
            ..
        } => {
            let bytes = client.report_file(shop, "xlsx").await.map_err(e)?;
            std::fs::write(path, bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("report saved to {}", path.display());
        }
        Cmd::Report {
            shop, to, dry_run, ..
        } => {
            let r = client
                .report(
                    shop,
                    &ReportRequest {
                        to: to.clone(),
                        dry_run: *dry_run,
                    },
                )
                .await
                .map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!("{}", r.subject);
                println!(
                    "arrived {}, delivered {}, returning {}, stuck {} since yesterday",
                    r.arrived, r.delivered, r.returning, r.stuck
                );
                match &r.sent_to {
                    Some(to) => println!("sent to {to} with {}", r.attachment),
                    None => println!("not sent (dry run)"),
                }
            }
        }
        Cmd::Stats { shop, from, to } => {
            let v = client
                .stats(shop.as_deref(), from.as_deref(), to.as_deref())
                .await
                .map_err(e)?;
            if json {
                print_json(&v);
            } else {
                print_stats(&v);
            }
        }
    }
    Ok(())
}
