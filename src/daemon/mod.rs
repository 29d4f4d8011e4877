//! The daemon: start-up, the actor system, signals, systemd notification and shutdown.
//!
//! Start-up order: config (already validated), logging, the panic policy, the store (schema
//! check, leases of polls that were in flight released), metrics, actors, the control socket and
//! the shops' listener; then `READY=1`. SIGTERM or SIGINT: stop accepting requests, stop
//! scheduling, let in-flight polls and sends finish (or leave them in the store) within
//! `shutdown_timeout`, flush the store, exit 0.
//!
//! A panic anywhere aborts the process: actix cannot catch it, and a half-alive daemon is worse
//! than a restart by systemd, which resumes from the store.
//!
//! A disk that refuses the store's writes (full, read-only) does not stop the daemon: it keeps
//! serving reads, refuses changes with 503, says so in `GET /v1/health`, and once the disk
//! takes writes again it stops in order and [`run`] returns [`Stopped::Reopen`], so that
//! `parceld` starts afresh in the same process and reopens the store (see [`store_guard`]).

pub mod logging;
pub mod store_guard;

use crate::actors::{self, Services};
use crate::api::{self, AppState, Listener};
use crate::clock::Clock;
use crate::config::Settings;
use crate::health::Health;
use crate::notify::render::templates::Templates;
use crate::store::Store;
use actix_web::{App, HttpServer, web};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

/// Why the daemon could not run; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store cannot be opened or used.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// A file or socket cannot be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Another parceld is already serving the control socket.
    #[error("another parceld is already listening on {0}")]
    AlreadyRunning(String),
    /// Something else.
    #[error("{0}")]
    Other(String),
}

impl DaemonError {
    /// The process exit code: sysexits-style, so systemd can tell a config problem from a crash.
    pub fn exit_code(&self) -> i32 {
        match self {
            DaemonError::Store(
                crate::store::StoreError::Schema { .. } | crate::store::StoreError::Foreign { .. },
            ) => 65,
            DaemonError::AlreadyRunning(_)
            | DaemonError::Store(crate::store::StoreError::Locked { .. }) => 75,
            DaemonError::Store(_) => 74,
            DaemonError::Io { .. } => 74,
            DaemonError::Other(_) => 70,
        }
    }
}

/// How the daemon stopped, when it stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM or SIGINT: the store is flushed.
    Signal,
    /// The store's disk refused writes and takes them again: start afresh to reopen the store.
    Reopen,
}

/// How often the store is asked whether it still takes writes.
const STORE_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Io { what, source }
}

/// Makes every panic abort the process after logging it.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "Panic; aborting so that systemd restarts the daemon from the store");
        default(info);
        std::process::abort();
    }));
}

fn notify(states: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "Cannot notify systemd");
    }
}

/// Binds the control socket: refuses if another daemon answers on it, removes a stale file,
/// creates its folder, and sets its permissions.
fn bind_socket(path: &Path, mode: u32) -> Result<std::os::unix::net::UnixListener, DaemonError> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(DaemonError::AlreadyRunning(path.display().to_string()));
        }
        std::fs::remove_file(path).map_err(io(format!(
            "cannot remove the stale socket {}",
            path.display()
        )))?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .map_err(io(format!("cannot listen on {}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(format!(
        "cannot set the permissions of {}",
        path.display()
    )))?;
    Ok(listener)
}

/// Runs the daemon until SIGTERM or SIGINT, or until the store must be reopened.
pub fn run(settings: Settings) -> Result<Stopped, DaemonError> {
    let settings = Arc::new(settings);
    for warning in settings.warnings() {
        tracing::warn!(config = %settings.file.display(), "{warning}");
    }
    let clock = Clock::system();
    std::fs::create_dir_all(&settings.daemon.state_dir).map_err(io(format!(
        "cannot create the state directory {}",
        settings.daemon.state_dir.display()
    )))?;
    notify(&[sd_notify::NotifyState::Status("Opening the store")]);
    let store = Store::open(&settings.db_path(), settings.daemon.cache_bytes)?;
    // Before the runtime runs, start-up steps use the store's blocking calls directly.
    // Deadlines written by release 1 were arrival + one fixed period: work them out again under
    // the storage rules, once.
    if let Some(moved) = store.sync().once("deadlines-by-mail-type", |s| {
        s.refresh_deadlines(None, &settings.rules, clock.now())
    })? {
        tracing::info!(
            deadlines_moved = moved,
            "Storage deadlines of waiting parcels worked out under the storage rules"
        );
    }
    let released = store.sync().release_leases(clock.now())?;
    if released > 0 {
        tracing::info!(
            polls = released,
            "Polls that were in flight at the last stop are due again"
        );
    }
    let templates = Arc::new(Templates::new().map_err(|e| DaemonError::Other(e.to_string()))?);
    let links = Arc::new(
        crate::notify::render::links::LinkSigner::load(&settings)
            .map_err(|e| DaemonError::Other(e.to_string()))?,
    );
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| tracing::warn!(error = %e, "Metrics are not available"))
        .ok();
    let transports = crate::notify::transports(&settings, &clock)
        .map_err(io("cannot set up the notification transports"))?;
    let carriers =
        crate::carriers::build(&settings, &clock).map_err(|e| DaemonError::Other(e.to_string()))?;

    let system = actix::System::new();
    system.block_on(async move {
        let health = Arc::new(Health::default());
        metrics::gauge!("parceld_store_writable").set(1.0);
        let guard = store_guard::StoreGuard {
            store: store.clone(),
            health: health.clone(),
            clock: clock.clone(),
            state_dir: settings.daemon.state_dir.clone(),
            every: STORE_CHECK_EVERY,
        };
        let committer =
            crate::store::Committer::start(&store).map_err(io("cannot start a thread"))?;
        let svc = Arc::new(Services {
            store: store.clone(),
            committer,
            clock: clock.clone(),
            settings: settings.clone(),
            health,
            templates,
            notifier: actors::Notifier::default(),
            links,
            started_at: clock.now(),
        });
        let running = actors::start(svc.clone(), carriers, transports).await;
        let state = web::Data::new(AppState {
            svc: svc.clone(),
            scheduler: running.scheduler.clone(),
            reporter: running.reporter.clone(),
            metrics,
        });

        let uds = bind_socket(&settings.daemon.control_socket, settings.daemon.socket_mode)?;
        let st = state.clone();
        let socket_server = HttpServer::new(move || {
            App::new()
                .app_data(st.clone())
                .app_data(Listener::Socket)
                .configure(api::routes)
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(settings.daemon.shutdown_timeout.as_secs().max(1))
        .listen_uds(uds)
        .map_err(io("cannot serve the control socket"))?
        .run();
        let socket_handle = socket_server.handle();
        actix::spawn(socket_server);

        let tcp_handle = match settings.api.listen {
            None => None,
            Some(addr) => {
                let st = state.clone();
                let throttle = web::Data::new(api::throttle::Throttle::new(&settings.api));
                let form_limits =
                    web::Data::new(crate::page::limits::FormLimits::new(&settings.page));
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(st.clone())
                        .app_data(Listener::Tcp)
                        .app_data(throttle.clone())
                        .app_data(form_limits.clone())
                        .wrap(actix_web::middleware::from_fn(api::throttle::limit))
                        .configure(api::routes)
                })
                .workers(2)
                .disable_signals()
                .shutdown_timeout(settings.daemon.shutdown_timeout.as_secs().max(1))
                .bind(addr)
                .map_err(io(format!("cannot listen on {addr} (api.listen)")))?
                .run();
                let h = server.handle();
                actix::spawn(server);
                Some(h)
            }
        };

        tracing::info!(
            socket = %settings.daemon.control_socket.display(),
            listen = ?settings.api.listen,
            carriers = ?settings.carriers.keys().map(|c| c.as_str()).collect::<Vec<_>>(),
            version = env!("CARGO_PKG_VERSION"),
            "parceld is ready"
        );
        notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status("Serving"),
        ]);

        let stopped = tokio::select! {
            signal = wait_for_signal() => {
                tracing::info!(signal, "Shutting down");
                notify(&[sd_notify::NotifyState::Stopping, sd_notify::NotifyState::Status("Draining")]);
                Stopped::Signal
            }
            () = guard.wait_until_reopen_needed() => {
                notify(&[sd_notify::NotifyState::Status("Reopening the store")]);
                Stopped::Reopen
            }
        };
        socket_handle.stop(true).await;
        if let Some(h) = tcp_handle {
            h.stop(true).await;
        }
        let busy = running.shutdown(settings.daemon.shutdown_timeout).await;
        if !busy.is_empty() {
            tracing::warn!(still_busy = ?busy, "Shutdown deadline passed; work in flight stays in the store and resumes at the next start");
        }
        let _ = std::fs::remove_file(&settings.daemon.control_socket);
        let flushed = store.flush().await;
        actix::System::current().stop();
        match (stopped, flushed) {
            (Stopped::Signal, Err(e)) => return Err(e.into()),
            (Stopped::Signal, Ok(_)) => tracing::info!("Store flushed; goodbye"),
            // Everything acknowledged was flushed before it was acknowledged; the rest is
            // done again after the restart.
            (Stopped::Reopen, _) => tracing::info!("Stopped; starting afresh"),
        }
        Ok::<Stopped, DaemonError>(stopped)
    })
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return "none",
    };
    let mut int = match signal(SignalKind::interrupt()) {
        Ok(s) => s,
        Err(_) => return "none",
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
