//! The plot of cost against parcel count, drawn as SVG by the benchmark itself.

use crate::intake::Checkpoint;
use plotters::prelude::*;
use std::path::Path;

/// Draws intake rates (JSON, CSV, raw sled) and bytes per parcel (memory, peak memory, disk)
/// against the number of parcels stored.
pub fn cost(
    json: &[Checkpoint],
    csv: &[Checkpoint],
    baseline_rate: f64,
    out: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(out, (900, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(380);
    let all = || json.iter().chain(csv);
    let max_n = all().map(|p| p.parcels).max().unwrap_or(1) as f64;
    let min_n = all().map(|p| p.parcels).min().unwrap_or(1).max(1) as f64;
    let x = (min_n * 0.8)..(max_n * 1.2);

    let max_rate = all().map(|p| p.rate).fold(baseline_rate, f64::max) * 1.1;
    let mut c = ChartBuilder::on(&top)
        .caption(
            "Intake through the control socket (parcels/s)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(x.clone().log_scale(), 0f64..max_rate)?;
    c.configure_mesh()
        .x_desc("parcels stored")
        .y_desc("parcels/s")
        .draw()?;
    for (points, color, label) in [
        (json, BLUE, "bulk JSON, 10 000 per request"),
        (csv, CYAN, "CSV files, 100 000 rows each"),
    ] {
        c.draw_series(LineSeries::new(
            points.iter().map(|p| (p.parcels as f64, p.rate)),
            &color,
        ))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    c.draw_series(LineSeries::new(
        [(x.start, baseline_rate), (x.end, baseline_rate)],
        &RED,
    ))?
    .label("raw sled inserts of the same records (baseline)")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;

    let per = |v: u64, n: usize| v as f64 / n.max(1) as f64;
    let max_b = json
        .iter()
        .map(|p| per(p.peak_rss, p.parcels).max(per(p.disk, p.parcels)))
        .fold(1.0, f64::max)
        * 1.5;
    let min_b = json
        .iter()
        .map(|p| per(p.rss, p.parcels).min(per(p.disk, p.parcels)))
        .fold(max_b, f64::min)
        * 0.7;
    let mut c = ChartBuilder::on(&bottom)
        .caption(
            "Bytes per stored parcel (bulk JSON intake, 64 MiB sled cache)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(x.log_scale(), (min_b.max(1.0)..max_b).log_scale())?;
    c.configure_mesh()
        .x_desc("parcels stored")
        .y_desc("bytes/parcel")
        .draw()?;
    let series: [(Measure, RGBColor, &str); 3] = [
        (|p| p.rss, GREEN, "resident memory"),
        (|p| p.peak_rss, BLACK, "peak resident memory"),
        (|p| p.disk, MAGENTA, "disk"),
    ];
    for (value, color, label) in series {
        c.draw_series(LineSeries::new(
            json.iter()
                .map(|p| (p.parcels as f64, per(value(p), p.parcels))),
            &color,
        ))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Reads one measure off a checkpoint.
type Measure = fn(&Checkpoint) -> u64;
