//! The plot of cost against parcel count, drawn as SVG by the benchmark itself.

use crate::intake::Checkpoint;
use plotters::prelude::*;
use std::path::Path;

/// Draws intake rate and bytes per parcel (memory, disk) against the number of parcels stored.
pub fn cost(
    points: &[Checkpoint],
    baseline_rate: f64,
    out: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(out, (900, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(350);
    let max_n = points.iter().map(|p| p.parcels).max().unwrap_or(1) as f64;
    let min_n = points.iter().map(|p| p.parcels).min().unwrap_or(1).max(1) as f64;
    let x = (min_n * 0.8)..(max_n * 1.2);

    let max_rate = points.iter().map(|p| p.rate).fold(baseline_rate, f64::max) * 1.1;
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
    c.draw_series(LineSeries::new(
        points.iter().map(|p| (p.parcels as f64, p.rate)),
        &BLUE,
    ))?
    .label("parceld intake")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    c.draw_series(LineSeries::new(
        [(x.start, baseline_rate), (x.end, baseline_rate)],
        &RED,
    ))?
    .label("raw sled inserts (baseline)")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;

    let per = |v: u64, n: usize| v as f64 / n.max(1) as f64;
    let max_b = points
        .iter()
        .map(|p| per(p.rss, p.parcels).max(per(p.disk, p.parcels)))
        .fold(1.0, f64::max)
        * 1.2;
    let mut c = ChartBuilder::on(&bottom)
        .caption("Bytes per stored parcel", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(x.log_scale(), (1f64..max_b).log_scale())?;
    c.configure_mesh()
        .x_desc("parcels stored")
        .y_desc("bytes/parcel")
        .draw()?;
    c.draw_series(LineSeries::new(
        points
            .iter()
            .map(|p| (p.parcels as f64, per(p.rss, p.parcels))),
        &GREEN,
    ))?
    .label("resident memory")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    c.draw_series(LineSeries::new(
        points
            .iter()
            .map(|p| (p.parcels as f64, per(p.disk, p.parcels))),
        &MAGENTA,
    ))?
    .label("disk")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MAGENTA));
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}
