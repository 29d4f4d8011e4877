//! `parceld`: the daemon. `parceld run --config FILE` serves until SIGTERM;
//! `parceld check-config --config FILE` validates a config file and says what is wrong.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// sled allocates and frees for every page it reads or writes; jemalloc serves that churn with
/// less CPU than the system allocator (BENCHMARKS.md, "What changed").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Watches shops' parcels at the carriers and tells customers when to pick them up.
#[derive(Parser)]
#[command(name = "parceld", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// The config file.
        #[arg(
            long,
            short,
            env = "PARCELD_CONFIG",
            default_value = "config/parceld.toml"
        )]
        config: PathBuf,
    },
    /// Check a config file and print what is wrong, without starting.
    CheckConfig {
        /// The config file.
        #[arg(
            long,
            short,
            env = "PARCELD_CONFIG",
            default_value = "config/parceld.toml"
        )]
        config: PathBuf,
    },
}

/// sysexits' EX_CONFIG: systemd's unit does not restart on it.
const EX_CONFIG: u8 = 78;
/// sysexits' EX_TEMPFAIL: parceld could not start afresh by itself; systemd restarts it.
const EX_TEMPFAIL: u8 = 75;

/// Starts parceld afresh in this process (same pid, same arguments): the store is reopened.
/// Returns only if that failed.
fn start_afresh() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let error = match std::env::current_exe() {
        Ok(exe) => std::process::Command::new(exe).args(args).exec(),
        Err(e) => e,
    };
    tracing::error!(error = %error, "Cannot start afresh; exiting so that systemd restarts parceld");
    eprintln!("parceld: cannot start afresh: {error}");
    ExitCode::from(EX_TEMPFAIL)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match parceld::config::load(&config) {
            Ok(s) => {
                println!("{}: OK", config.display());
                println!("  state:   {}", s.daemon.state_dir.display());
                println!("  socket:  {}", s.daemon.control_socket.display());
                if let Some(l) = s.api.listen {
                    println!("  listen:  {l}");
                }
                if let Some(e) = &s.email {
                    match &e.transport {
                        parceld::config::EmailTransport::File => {
                            println!("  email:   .eml files in {}", e.outbox_dir.display())
                        }
                        parceld::config::EmailTransport::Smtp(m) => println!(
                            "  email:   smtp {}:{} ({:?}){}",
                            m.host,
                            m.port,
                            m.tls,
                            if e.dkim.is_some() { ", DKIM" } else { "" }
                        ),
                    }
                }
                if let Some(m) = &s.sms {
                    println!(
                        "  sms:     {} (gateways: {})",
                        m.transport.as_str(),
                        parceld::config::SmsTransport::ALL
                            .iter()
                            .filter(|t| m.has(**t))
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                for (id, c) in &s.carriers {
                    println!(
                        "  carrier: {id} rate {} window {} every {}{}{}",
                        c.rate,
                        c.window,
                        humantime::format_duration(c.poll_every),
                        c.daily_limit
                            .map(|l| format!(" daily limit {l}"))
                            .unwrap_or_default(),
                        if c.tickets.is_some() {
                            " batch tickets"
                        } else {
                            ""
                        }
                    );
                }
                for w in s.warnings() {
                    println!("  warning: {w}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EX_CONFIG)
            }
        },
        Command::Run { config } => {
            let settings = match parceld::config::load(&config) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EX_CONFIG);
                }
            };
            let target =
                parceld::daemon::logging::init(settings.daemon.log, &settings.daemon.log_filter);
            parceld::daemon::install_panic_hook();
            tracing::info!(config = %config.display(), logs = target, "Starting parceld");
            match parceld::daemon::run(settings) {
                Ok(parceld::daemon::Stopped::Signal) => ExitCode::SUCCESS,
                Ok(parceld::daemon::Stopped::Reopen) => start_afresh(),
                Err(e) => {
                    tracing::error!(error = %e, "parceld stopped");
                    eprintln!("parceld: {e}");
                    ExitCode::from(e.exit_code() as u8)
                }
            }
        }
    }
}
