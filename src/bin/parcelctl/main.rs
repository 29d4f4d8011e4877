//! `parcelctl`: the command-line client of parceld's control socket. Every command prints a
//! human-readable table, or the API's JSON with `--json`. Each area of commands is a module.

mod carriers;
mod imports;
mod manual;
mod notifications;
mod offices;
mod ops;
mod parcels;
mod plans;
mod reports;
mod shops;
mod table;
mod templates;
mod webhooks;

use clap::{Parser, Subcommand};
use parceld::client::Client;
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
    #[command(flatten)]
    Ops(ops::Cmd),
    #[command(flatten)]
    Carriers(carriers::Cmd),
    #[command(flatten)]
    Manual(manual::Cmd),
    /// Manage shops.
    #[command(subcommand)]
    Shop(shops::Cmd),
    #[command(flatten)]
    Parcels(parcels::Cmd),
    #[command(flatten)]
    Imports(imports::Cmd),
    #[command(flatten)]
    Reports(reports::Cmd),
    /// Manage the post office directory (addresses and opening hours for arrival messages).
    #[command(subcommand)]
    Offices(offices::Cmd),
    /// A shop's message templates.
    #[command(subcommand)]
    Template(templates::Cmd),
    #[command(flatten)]
    Notifications(notifications::Cmd),
    /// A shop's webhooks: signed event notices to its own systems.
    #[command(subcommand)]
    Webhook(webhooks::Cmd),
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

async fn run(cli: Cli) -> Result<(), String> {
    let socket = socket_path(&cli)?;
    let client = Client::unix(&socket).map_err(|e| e.to_string())?;
    match &cli.command {
        Command::Ops(c) => ops::run(&client, c, cli.json).await,
        Command::Carriers(c) => carriers::run(&client, c, cli.json).await,
        Command::Manual(c) => manual::run(&client, c, cli.json).await,
        Command::Shop(c) => shops::run(&client, c, cli.json).await,
        Command::Parcels(c) => parcels::run(&client, c, cli.json).await,
        Command::Imports(c) => imports::run(&client, c, cli.json).await,
        Command::Reports(c) => reports::run(&client, c, cli.json).await,
        Command::Offices(c) => offices::run(&client, c, cli.json).await,
        Command::Template(c) => templates::run(&client, c, cli.json).await,
        Command::Notifications(c) => notifications::run(&client, c, cli.json).await,
        Command::Webhook(c) => webhooks::run(&client, c, cli.json).await,
    }
}

fn main() -> ExitCode {
    // Behave like other command-line tools when the reader goes away (`parcelctl list | head`):
    // end quietly on SIGPIPE instead of failing on the next write.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
