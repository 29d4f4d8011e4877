//! `parcelctl shop plan|delete`: a shop's plan and quota, and erasing a shop.

use crate::table::{opt, print_json, table};
use clap::Subcommand;
use parceld::api::dto::{PlanIn, PlanView};
use parceld::client::Client;

/// Plan and erasure commands (under `parcelctl shop`).
#[derive(Subcommand)]
pub enum Cmd {
    /// Show a shop's plan and this month's use, or change it with --name.
    Plan {
        /// Shop id.
        id: String,
        /// New plan name (changes the plan; the other options apply with it).
        #[arg(long)]
        name: Option<String>,
        /// New parcels allowed per month (0: no limit).
        #[arg(long, default_value_t = 0)]
        quota: u64,
        /// Last day of the trial, YYYY-MM-DD (none when left out).
        #[arg(long)]
        trial_ends: Option<String>,
    },
    /// Erase a shop and everything of it: parcels, messages, token, counters.
    Delete {
        /// Shop id.
        id: String,
        /// Confirm: nothing of the shop can be recovered.
        #[arg(long)]
        yes: bool,
    },
}

fn print_plan(v: &PlanView) {
    table(
        &[
            "PLAN",
            "QUOTA/MONTH",
            "TRIAL ENDS",
            "MONTH",
            "USED",
            "REMAINING",
        ],
        vec![vec![
            v.name.clone(),
            v.monthly_quota
                .map_or_else(|| "no limit".into(), |q| q.to_string()),
            opt(&v.trial_ends),
            v.month.clone(),
            v.used.to_string(),
            v.remaining.map_or_else(|| "-".into(), |q| q.to_string()),
        ]],
    );
}

/// Runs a plan or erasure command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: parceld::client::ClientError| e.to_string();
    match cmd {
        Cmd::Plan { id, name: None, .. } => {
            let v = client.stats(Some(id), None, None).await.map_err(e)?;
            let plan = v.plan.unwrap_or_default();
            if json {
                print_json(&plan);
            } else {
                print_plan(&plan);
            }
        }
        Cmd::Plan {
            id,
            name: Some(name),
            quota,
            trial_ends,
        } => {
            let v = client
                .set_plan(
                    id,
                    &PlanIn {
                        name: name.clone(),
                        monthly_quota: Some(*quota),
                        trial_ends: trial_ends.clone(),
                    },
                )
                .await
                .map_err(e)?;
            if json {
                print_json(&v);
            } else {
                print_plan(&v);
            }
        }
        Cmd::Delete { id, yes } => {
            if !yes {
                return Err(format!(
                    "erasing shop {id} deletes all its parcels and messages for good; add --yes"
                ));
            }
            let v = client.erase_shop(id).await.map_err(e)?;
            if json {
                print_json(&v);
            } else {
                println!("shop {} erased with {} parcels", v.erased, v.parcels);
            }
        }
    }
    Ok(())
}
