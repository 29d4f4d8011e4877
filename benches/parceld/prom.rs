//! Reading the daemon's `/metrics` (Prometheus text format) before and after a run.

use crate::daemon::Daemon;

/// A snapshot of `/metrics`.
pub struct Snapshot(String);

impl Snapshot {
    /// Takes a snapshot of the daemon's metrics.
    pub async fn of(d: &Daemon) -> Snapshot {
        Snapshot(d.socket.metrics().await.unwrap_or_default())
    }

    /// The sum of every series named `name` whose labels include all of `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (n, rest) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest),
                    None => (series, ""),
                };
                if n != name {
                    return None;
                }
                let all = labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
                all.then(|| value.parse::<f64>().ok()).flatten()
            })
            .sum()
    }
}
