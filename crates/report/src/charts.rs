//! One function per figure kind, each over plain data structs, and the shared XY panel they draw with.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::style::{
    AXIS_FONT, Area, DARK_GREY, FONT, GREY, Marker, TICK_FONT, color, draw_err, frame, marker, num,
    padded_range, text,
};
use crate::{Caption, Error, Figure, Table};

// ---------------------------------------------------------------------------------------------------
// Data types

/// A named series of `(x, y)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name (a policy, a metric).
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from a name and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
        }
    }
}

/// One configuration of a step with its predicted duration and cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOption {
    /// The configuration as text (`1769MB x4 q2`).
    pub label: String,
    /// Predicted duration, seconds.
    pub duration_s: f64,
    /// Predicted cost per request, USD.
    pub cost_usd: f64,
}

/// A step's configuration space: every feasible configuration and the chosen one.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpace {
    /// Step name.
    pub step: String,
    /// Every configuration considered.
    pub options: Vec<ConfigOption>,
    /// Index into `options` of the configuration the plan chose, if any.
    pub chosen: Option<usize>,
}

/// One point of a policy's cost-against-SLO curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SloPoint {
    /// The SLO, seconds.
    pub slo_s: f64,
    /// Mean cost per request, USD.
    pub cost_usd_mean: f64,
    /// Share of requests within the SLO (0..1).
    pub slo_attainment: f64,
}

/// A policy's cost against SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloCurve {
    /// Policy name.
    pub policy: String,
    /// Points, in SLO order.
    pub points: Vec<SloPoint>,
}

/// A distribution as drawn in a CDF: every sample, or some of its quantiles.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyDist {
    /// Every sample (drawn as an empirical step CDF).
    Samples(Vec<f64>),
    /// `(quantile in 0..=1, value)` pairs (drawn as points joined by lines), for data stored as
    /// percentiles only.
    Quantiles(Vec<(f64, f64)>),
}

/// A named distribution (a policy's latencies or slowdowns).
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// Legend name.
    pub name: String,
    /// The values.
    pub data: LatencyDist,
}

/// One held-out configuration of a fitted model: measured and predicted duration.
#[derive(Debug, Clone, PartialEq)]
pub struct FitPoint {
    /// Step name.
    pub step: String,
    /// Measured (simulated or real) duration, seconds.
    pub measured_s: f64,
    /// Predicted duration, seconds.
    pub predicted_s: f64,
}

/// One step of a plan on its time line.
#[derive(Debug, Clone, PartialEq)]
pub struct GanttStep {
    /// Step name.
    pub name: String,
    /// Predicted start, seconds after the request arrives.
    pub start_s: f64,
    /// Predicted duration, seconds.
    pub duration_s: f64,
    /// The step's time budget (sub-SLO), seconds from its start.
    pub sub_slo_s: f64,
    /// On the critical path.
    pub critical: bool,
    /// The configuration as text (empty for steps that run no function).
    pub config: String,
}

/// A plan as a Gantt chart.
#[derive(Debug, Clone, PartialEq)]
pub struct GanttPlan {
    /// The SLO, seconds.
    pub slo_s: f64,
    /// Steps in workflow order.
    pub steps: Vec<GanttStep>,
}

/// One panel of a multi-panel figure: a y axis and its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Y axis label with its unit.
    pub y_label: String,
    /// Series drawn in this panel.
    pub series: Vec<Series>,
}

/// Grouped horizontal bars: one row per category, one bar per series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// The value axis label with its unit.
    pub value_label: String,
    /// Category names (rows), top to bottom.
    pub categories: Vec<String>,
    /// `(series name, one value per category)`; `None` where a series has no value.
    pub series: Vec<(String, Vec<Option<f64>>)>,
}

/// A workflow topology drawn as a graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// Panel title (rank, score, what changed).
    pub title: String,
    /// Node names.
    pub nodes: Vec<String>,
    /// Edges `(from, to)` as node indices.
    pub edges: Vec<(usize, usize)>,
    /// Nodes to highlight (made by a transform).
    pub highlight: Vec<usize>,
}

// ---------------------------------------------------------------------------------------------------
// The shared XY panel

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Line,
    LinePoints,
    Points,
}

struct XySeries {
    name: String,
    points: Vec<(f64, f64)>,
    mark: Mark,
    color: RGBColor,
    marker: Marker,
    size: i32,
    /// Per point: drawn hollow (empty: all filled).
    hollow: Vec<bool>,
    legend: bool,
}

impl XySeries {
    fn new(idx: usize, name: &str, points: Vec<(f64, f64)>, mark: Mark) -> Self {
        XySeries {
            name: name.to_owned(),
            points,
            mark,
            color: color(idx),
            marker: marker(idx),
            size: 4,
            hollow: Vec::new(),
            legend: true,
        }
    }
}

#[derive(Clone, Copy)]
enum LegendAt {
    UpperLeft,
    UpperRight,
    LowerRight,
}

struct XyPanel {
    title: Option<String>,
    x_label: String,
    y_label: String,
    x_log: bool,
    y_log: bool,
    series: Vec<XySeries>,
    vlines: Vec<(f64, String)>,
    hlines: Vec<(f64, String)>,
    /// Extra dashed segments (e.g. y = x), in data coordinates.
    guides: Vec<Vec<(f64, f64)>>,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    legend: Option<LegendAt>,
}

impl XyPanel {
    fn new(x_label: &str, y_label: &str) -> Self {
        XyPanel {
            title: None,
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            x_log: false,
            y_log: false,
            series: Vec::new(),
            vlines: Vec::new(),
            hlines: Vec::new(),
            guides: Vec::new(),
            x_range: None,
            y_range: None,
            legend: Some(LegendAt::UpperRight),
        }
    }
}

fn tx(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

fn map_points(points: &[(f64, f64)], x_log: bool, y_log: bool) -> Vec<Option<(f64, f64)>> {
    points
        .iter()
        .map(|&(x, y)| Some((tx(x, x_log)?, tx(y, y_log)?)))
        .collect()
}

/// Whether values spanning `[lo, hi]` (positive) read better on a log axis.
fn wants_log(values: impl IntoIterator<Item = f64>) -> bool {
    wants_log_at(values, 30.0)
}

/// Whether positive values span more than `ratio` times.
fn wants_log_at(values: impl IntoIterator<Item = f64>, ratio: f64) -> bool {
    let mut lo = f64::INFINITY;
    let mut hi = 0.0f64;
    for v in values {
        if v.is_finite() && v > 0.0 {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    lo.is_finite() && hi / lo > ratio
}

fn draw_xy(area: &Area<'_>, p: &XyPanel) -> Result<(), Error> {
    let mapped: Vec<Vec<Option<(f64, f64)>>> = p
        .series
        .iter()
        .map(|s| map_points(&s.points, p.x_log, p.y_log))
        .collect();
    let xs = mapped.iter().flatten().flatten().map(|q| q.0);
    let ys = mapped.iter().flatten().flatten().map(|q| q.1);
    let x_extra = p.vlines.iter().filter_map(|(v, _)| tx(*v, p.x_log));
    let y_extra = p.hlines.iter().filter_map(|(v, _)| tx(*v, p.y_log));
    let what = || Error::Empty {
        what: format!(
            "no finite point in the panel '{}' against '{}'",
            p.y_label, p.x_label
        ),
    };
    if mapped.iter().flatten().flatten().next().is_none() {
        return Err(what());
    }
    let (x0, x1) = match p.x_range {
        Some(r) => r,
        None => padded_range(xs.chain(x_extra)).ok_or_else(what)?,
    };
    let (y0, y1) = match p.y_range {
        Some(r) => r,
        None => padded_range(ys.chain(y_extra)).ok_or_else(what)?,
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72);
    if let Some(t) = &p.title {
        builder.caption(t, (FONT, AXIS_FONT + 1).into_font().style(FontStyle::Bold));
    }
    let mut chart = builder
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    let (x_log, y_log) = (p.x_log, p.y_log);
    let fx = move |v: &f64| num(if x_log { 10f64.powf(*v) } else { *v });
    let fy = move |v: &f64| num(if y_log { 10f64.powf(*v) } else { *v });
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .axis_desc_style((FONT, AXIS_FONT))
        .label_style((FONT, TICK_FONT))
        .x_labels(8)
        .y_labels(7)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
        .light_line_style(RGBColor(0xF4, 0xF4, 0xF4))
        .draw()
        .map_err(draw_err)?;
    for g in &p.guides {
        let pts: Vec<(f64, f64)> = map_points(g, x_log, y_log).into_iter().flatten().collect();
        chart
            .draw_series(DashedLineSeries::new(pts, 6, 4, GREY.stroke_width(1)))
            .map_err(draw_err)?;
    }
    for (v, label) in &p.vlines {
        if let Some(x) = tx(*v, x_log) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x, y0), (x, y1)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(draw_err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x, y1),
                    text(TICK_FONT, BLACK, HPos::Left, VPos::Top),
                )))
                .map_err(draw_err)?;
        }
    }
    for (v, label) in &p.hlines {
        if let Some(y) = tx(*v, y_log) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, y), (x1, y)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(draw_err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x0, y),
                    text(TICK_FONT, BLACK, HPos::Left, VPos::Bottom),
                )))
                .map_err(draw_err)?;
        }
    }
    let mut any_legend = false;
    for (s, pts) in p.series.iter().zip(&mapped) {
        let c = s.color;
        let m = s.marker;
        let size = s.size;
        let line_pts: Vec<(f64, f64)> = pts.iter().flatten().copied().collect();
        if matches!(s.mark, Mark::Line | Mark::LinePoints) {
            chart
                .draw_series(LineSeries::new(line_pts.clone(), c.stroke_width(2)))
                .map_err(draw_err)?;
        }
        if matches!(s.mark, Mark::Points | Mark::LinePoints) {
            let pts_style: Vec<((f64, f64), ShapeStyle)> = pts
                .iter()
                .enumerate()
                .filter_map(|(i, q)| {
                    let q = (*q)?;
                    let filled = !s.hollow.get(i).copied().unwrap_or(false);
                    Some((
                        q,
                        // Not filled: outlined and faded (triangles and crosses have no inside).
                        if filled {
                            c.filled()
                        } else {
                            c.mix(0.45).stroke_width(2)
                        },
                    ))
                })
                .collect();
            let it = pts_style.into_iter();
            match m {
                Marker::Circle => chart.draw_series(
                    it.map(|(q, st)| EmptyElement::at(q) + Circle::new((0, 0), size, st)),
                ),
                Marker::Triangle => chart.draw_series(it.map(|(q, st)| {
                    EmptyElement::at(q) + TriangleMarker::new((0, 0), size + 1, st)
                })),
                Marker::Square => chart.draw_series(it.map(|(q, st)| {
                    EmptyElement::at(q) + Rectangle::new([(-size, -size), (size, size)], st)
                })),
                Marker::Cross => chart.draw_series(it.map(|(q, st)| {
                    EmptyElement::at(q) + Cross::new((0, 0), size, st.stroke_width(2))
                })),
            }
            .map_err(draw_err)?;
        }
        if s.legend && !s.name.is_empty() {
            any_legend = true;
            // An empty series carries the legend entry, so each entry shows line and marker.
            let line: Vec<(i32, i32)> = if s.mark == Mark::Points {
                vec![]
            } else {
                vec![(0, 0), (18, 0)]
            };
            let anno = chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(draw_err)?
                .label(s.name.clone());
            let k = 4;
            let path = move |(x, y)| {
                EmptyElement::at((x, y)) + PathElement::new(line.clone(), c.stroke_width(2))
            };
            match (s.mark, m) {
                (Mark::Line, _) => {
                    anno.legend(path);
                }
                (_, Marker::Circle) => {
                    anno.legend(move |p| path(p) + Circle::new((9, 0), k, c.filled()));
                }
                (_, Marker::Triangle) => {
                    anno.legend(move |p| path(p) + TriangleMarker::new((9, 0), k + 1, c.filled()));
                }
                (_, Marker::Square) => {
                    anno.legend(move |p| {
                        path(p) + Rectangle::new([(9 - k, -k), (9 + k, k)], c.filled())
                    });
                }
                (_, Marker::Cross) => {
                    anno.legend(move |p| path(p) + Cross::new((9, 0), k, c.stroke_width(2)));
                }
            }
        }
    }
    if let (Some(at), true) = (p.legend, any_legend) {
        let pos = match at {
            LegendAt::UpperLeft => SeriesLabelPosition::UpperLeft,
            LegendAt::UpperRight => SeriesLabelPosition::UpperRight,
            LegendAt::LowerRight => SeriesLabelPosition::LowerRight,
        };
        chart
            .configure_series_labels()
            .position(pos)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .label_font((FONT, TICK_FONT))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

const STRIP_ENTRY_PX: i32 = 190;

/// Height in pixels of a legend strip of `entries` across `width` pixels.
fn legend_strip_height(entries: &[(String, RGBColor, Marker)], width: u32) -> u32 {
    let per_row = ((width as i32 - 80) / STRIP_ENTRY_PX).max(1) as usize;
    8 + 22 * entries.len().div_ceil(per_row) as u32
}

/// A legend as rows of entries (line and marker, then the name) under a figure's panels.
fn draw_legend_strip(area: &Area<'_>, entries: &[(String, RGBColor, Marker)]) -> Result<(), Error> {
    let (w, _) = area.dim_in_pixel();
    let per_row = ((w as i32 - 80) / STRIP_ENTRY_PX).max(1) as usize;
    for (i, (name, c, m)) in entries.iter().enumerate() {
        let x = 80 + STRIP_ENTRY_PX * (i % per_row) as i32;
        let y = 12 + 22 * (i / per_row) as i32;
        area.draw(&PathElement::new(
            vec![(x, y), (x + 22, y)],
            c.stroke_width(2),
        ))
        .map_err(draw_err)?;
        let at = (x + 11, y);
        match m {
            Marker::Circle => area.draw(&Circle::new(at, 4, c.filled())),
            Marker::Triangle => area.draw(&TriangleMarker::new(at, 5, c.filled())),
            Marker::Square => area.draw(&Rectangle::new(
                [(x + 7, y - 4), (x + 15, y + 4)],
                c.filled(),
            )),
            Marker::Cross => area.draw(&Cross::new(at, 4, c.stroke_width(2))),
        }
        .map_err(draw_err)?;
        area.draw_text(
            name,
            &text(TICK_FONT, BLACK, HPos::Left, VPos::Center),
            (x + 30, y),
        )
        .map_err(draw_err)?;
    }
    Ok(())
}

/// Splits `area` into a grid of `n` cells, `cols` per row, left to right and top to bottom.
fn grid<'a>(area: &Area<'a>, n: usize, cols: usize) -> Vec<Area<'a>> {
    let rows = n.div_ceil(cols);
    let cells = area.split_evenly((rows, cols));
    cells.into_iter().take(n).collect()
}

fn empty(what: impl Into<String>) -> Error {
    Error::Empty { what: what.into() }
}

// ---------------------------------------------------------------------------------------------------
// Figure kinds

/// Per step, cost against duration of every configuration (grey), the Pareto front (line) and the
/// chosen configuration (cross): AWS Lambda Power Tuning's chart for a whole workflow. One panel per
/// step. Fails on no step or a step with no configuration.
pub fn config_space(steps: &[StepSpace], caption: &Caption) -> Result<Figure, Error> {
    if steps.is_empty() {
        return Err(empty("configuration space: no step"));
    }
    let mut table = Table::new([
        "step",
        "configuration",
        "duration (s)",
        "cost (USD)",
        "on the Pareto front",
        "chosen",
    ]);
    let mut panels = Vec::new();
    for s in steps {
        if s.options.is_empty() {
            return Err(empty(format!(
                "configuration space of step '{}': no configuration",
                s.step
            )));
        }
        let front = pareto_indices(&s.options);
        let mut p = XyPanel::new("duration (s)", "cost (USD)");
        p.title = Some(s.step.clone());
        p.x_log = wants_log(s.options.iter().map(|o| o.duration_s));
        p.y_log = wants_log(s.options.iter().map(|o| o.cost_usd));
        let mut all = XySeries::new(
            0,
            "every configuration",
            s.options
                .iter()
                .map(|o| (o.duration_s, o.cost_usd))
                .collect(),
            Mark::Points,
        );
        all.color = GREY;
        all.marker = Marker::Circle;
        all.size = 2;
        p.series.push(all);
        p.series.push(XySeries::new(
            0,
            "Pareto front",
            front
                .iter()
                .map(|&i| (s.options[i].duration_s, s.options[i].cost_usd))
                .collect(),
            Mark::LinePoints,
        ));
        if let Some(c) = s.chosen.filter(|&c| c < s.options.len()) {
            let mut ch = XySeries::new(
                3,
                "chosen",
                vec![(s.options[c].duration_s, s.options[c].cost_usd)],
                Mark::Points,
            );
            ch.marker = Marker::Cross;
            ch.size = 8;
            p.series.push(ch);
        }
        for (i, o) in s.options.iter().enumerate() {
            let on_front = front.contains(&i);
            let chosen = s.chosen == Some(i);
            if on_front || chosen {
                table.row(vec![
                    s.step.clone(),
                    o.label.clone(),
                    num(o.duration_s),
                    num(o.cost_usd),
                    if on_front { "yes" } else { "no" }.into(),
                    if chosen { "yes" } else { "" }.into(),
                ]);
            }
        }
        panels.push(p);
    }
    let cols = panels.len().min(3);
    let rows = panels.len().div_ceil(cols);
    let width = 400 * cols as u32;
    let height = 34 + 320 * rows as u32;
    let svg = frame(width.max(700), height, caption, |area| {
        for (cell, p) in grid(area, panels.len(), cols).iter().zip(&panels) {
            draw_xy(cell, p)?;
        }
        Ok(())
    })?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// Indices of the Pareto front (minimising duration and cost), by duration ascending; ties keep the
/// first option.
fn pareto_indices(opts: &[ConfigOption]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..opts.len())
        .filter(|&i| opts[i].duration_s.is_finite() && opts[i].cost_usd.is_finite())
        .collect();
    idx.sort_by(|&a, &b| {
        opts[a]
            .duration_s
            .total_cmp(&opts[b].duration_s)
            .then(opts[a].cost_usd.total_cmp(&opts[b].cost_usd))
            .then(a.cmp(&b))
    });
    let mut best = f64::INFINITY;
    let mut front = Vec::new();
    for i in idx {
        if opts[i].cost_usd < best {
            best = opts[i].cost_usd;
            front.push(i);
        }
    }
    front
}

/// Cost against SLO per policy (left) and SLO attainment against SLO (right); points whose attainment
/// is below `min_attainment` are hollow (the policy did not meet its SLO there). Fails on no curve or
/// no point.
pub fn cost_vs_slo(
    curves: &[SloCurve],
    min_attainment: Option<f64>,
    caption: &Caption,
) -> Result<Figure, Error> {
    if curves.iter().all(|c| c.points.is_empty()) {
        return Err(empty("cost against SLO: no policy has a point"));
    }
    let mut table = Table::new(["policy", "SLO (s)", "cost mean (USD)", "SLO attainment"]);
    let mut cost = XyPanel::new("SLO (s)", "mean cost per request (USD)");
    cost.title = Some("cost".into());
    let mut att = XyPanel::new("SLO (s)", "SLO attainment (share of requests)");
    att.title = Some("SLO attainment".into());
    // One legend for both panels, in a strip under them: inside either it would cover data.
    cost.legend = None;
    att.legend = None;
    cost.y_log = wants_log(
        curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.cost_usd_mean)),
    );
    for (i, c) in curves.iter().enumerate() {
        let mut s = XySeries::new(
            i,
            &c.policy,
            c.points
                .iter()
                .map(|p| (p.slo_s, p.cost_usd_mean))
                .collect(),
            Mark::LinePoints,
        );
        s.hollow = c
            .points
            .iter()
            .map(|p| min_attainment.is_some_and(|m| p.slo_attainment < m))
            .collect();
        cost.series.push(s);
        att.series.push(XySeries::new(
            i,
            &c.policy,
            c.points
                .iter()
                .map(|p| (p.slo_s, p.slo_attainment))
                .collect(),
            Mark::LinePoints,
        ));
        for p in &c.points {
            table.row(vec![
                c.policy.clone(),
                num(p.slo_s),
                num(p.cost_usd_mean),
                format!("{:.1}%", p.slo_attainment * 100.0),
            ]);
        }
    }
    if let Some(m) = min_attainment {
        att.hlines.push((m, format!("target {:.0}%", m * 100.0)));
    }
    att.y_range = Some((-0.03, 1.05));
    let mut caption_drawn = caption.clone();
    if let Some(m) = min_attainment {
        let hollow = format!(
            "Hollow, faded markers: SLO attainment below {:.0}% (the SLO was not met there).",
            m * 100.0
        );
        caption_drawn.note = Some(match &caption.note {
            Some(n) => format!("{n} {hollow}"),
            None => hollow,
        });
    }
    let entries: Vec<(String, RGBColor, Marker)> = (0..curves.len())
        .map(|i| (curves[i].policy.clone(), color(i), marker(i)))
        .collect();
    let strip = legend_strip_height(&entries, 1100);
    let svg = frame(1100, 470 + strip, &caption_drawn, |area| {
        let (panels, legend) = area.split_vertically(470 - 34);
        let (l, r) = panels.split_horizontally(550);
        draw_xy(&l, &cost)?;
        draw_xy(&r, &att)?;
        draw_legend_strip(&legend, &entries)
    })?;
    Ok(Figure {
        caption: caption_drawn,
        svg,
        table,
    })
}

/// Latency CDF per policy with the SLO as a vertical line; see [`cdf`].
pub fn latency_cdf(
    dists: &[Distribution],
    slo_s: Option<f64>,
    caption: &Caption,
) -> Result<Figure, Error> {
    cdf(
        dists,
        "latency (s)",
        slo_s.map(|s| (s, format!(" SLO {} s", num(s)))),
        caption,
    )
}

/// Empirical CDF per distribution (a step line through every sample, or points at the stored
/// quantiles), with an optional vertical line `(x, label)`; a log x axis when the values span more
/// than 30x. The table has p50, p95 and p99 (nearest rank for samples). Fails when every
/// distribution is empty.
pub fn cdf(
    dists: &[Distribution],
    x_label: &str,
    vline: Option<(f64, String)>,
    caption: &Caption,
) -> Result<Figure, Error> {
    let mut table = Table::new(["series", "n", "p50", "p95", "p99"]);
    let mut p = XyPanel::new(x_label, "share of values ≤ x (CDF)");
    p.legend = Some(LegendAt::LowerRight);
    let mut all_values = Vec::new();
    for (i, d) in dists.iter().enumerate() {
        let (pts, mark, n, qs) = match &d.data {
            LatencyDist::Samples(v) => {
                let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
                v.sort_by(f64::total_cmp);
                let n = v.len();
                let q = |p: f64| -> f64 {
                    if n == 0 {
                        f64::NAN
                    } else {
                        // Nearest rank, as des::stats.
                        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
                        v[rank - 1]
                    }
                };
                let qs = [q(0.5), q(0.95), q(0.99)];
                // At most about 2,000 steps drawn: every k-th sample and the last.
                let k = n.div_ceil(2000).max(1);
                let mut pts = Vec::new();
                let mut prev = 0.0;
                for (j, &x) in v.iter().enumerate() {
                    if j % k == 0 || j + 1 == n {
                        let y = (j + 1) as f64 / n as f64;
                        pts.push((x, prev));
                        pts.push((x, y));
                        prev = y;
                    }
                }
                all_values.extend(v.iter().copied());
                (pts, Mark::Line, n.to_string(), qs)
            }
            LatencyDist::Quantiles(qv) => {
                let mut qv: Vec<(f64, f64)> = qv
                    .iter()
                    .copied()
                    .filter(|(q, x)| q.is_finite() && x.is_finite())
                    .collect();
                qv.sort_by(|a, b| a.0.total_cmp(&b.0));
                let find = |q: f64| {
                    qv.iter()
                        .find(|(qq, _)| (qq - q).abs() < 1e-9)
                        .map_or(f64::NAN, |&(_, x)| x)
                };
                let qs = [find(0.5), find(0.95), find(0.99)];
                all_values.extend(qv.iter().map(|&(_, x)| x));
                let mark = if qv.len() > 12 {
                    Mark::Line
                } else {
                    Mark::LinePoints
                };
                (
                    qv.iter().map(|&(q, x)| (x, q)).collect(),
                    mark,
                    "-".to_owned(),
                    qs,
                )
            }
        };
        table.row(vec![d.name.clone(), n, num(qs[0]), num(qs[1]), num(qs[2])]);
        p.series.push(XySeries::new(i, &d.name, pts, mark));
    }
    if all_values.is_empty() {
        return Err(empty(format!(
            "CDF of {x_label}: every distribution is empty"
        )));
    }
    if let Some((x, _)) = &vline {
        all_values.push(*x);
    }
    p.x_log = wants_log_at(all_values.iter().copied(), 10.0);
    p.y_range = Some((0.0, 1.02));
    p.vlines.extend(vline);
    let svg = frame(900, 500, caption, |area| draw_xy(area, &p))?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// Predicted against measured duration (left, with the y = x line; one colour per step, up to eight
/// named) and the distribution of the relative error (right, a histogram). Fails on no finite point.
pub fn fit_accuracy(points: &[FitPoint], caption: &Caption) -> Result<Figure, Error> {
    let good: Vec<&FitPoint> = points
        .iter()
        .filter(|p| p.measured_s.is_finite() && p.predicted_s.is_finite() && p.measured_s > 0.0)
        .collect();
    if good.is_empty() {
        return Err(empty("fit accuracy: no held-out point"));
    }
    // Steps in first-seen order.
    let mut steps: Vec<&str> = Vec::new();
    for p in &good {
        if !steps.contains(&p.step.as_str()) {
            steps.push(&p.step);
        }
    }
    let mut table = Table::new([
        "step",
        "held-out points",
        "mean |error| (%)",
        "max |error| (%)",
    ]);
    let mut sc = XyPanel::new("measured duration (s)", "predicted duration (s)");
    sc.title = Some("predicted against measured".into());
    let n_steps = {
        let mut seen: Vec<&str> = Vec::new();
        for p in &good {
            if !seen.contains(&p.step.as_str()) {
                seen.push(&p.step);
            }
        }
        seen.len()
    };
    if n_steps > 8 {
        sc.title = Some(format!(
            "predicted against measured ({n_steps} steps, the first 8 named)"
        ));
    }
    sc.legend = Some(LegendAt::UpperLeft);
    let lo = good
        .iter()
        .map(|p| p.measured_s.min(p.predicted_s))
        .fold(f64::INFINITY, f64::min);
    let hi = good
        .iter()
        .map(|p| p.measured_s.max(p.predicted_s))
        .fold(0.0, f64::max);
    let log = wants_log(good.iter().flat_map(|p| [p.measured_s, p.predicted_s]));
    sc.x_log = log;
    sc.y_log = log;
    sc.guides.push(vec![(lo.max(1e-9), lo.max(1e-9)), (hi, hi)]);
    let mut errors = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let pts: Vec<&&FitPoint> = good.iter().filter(|p| p.step == *step).collect();
        let errs: Vec<f64> = pts
            .iter()
            .map(|p| (p.predicted_s - p.measured_s) / p.measured_s * 100.0)
            .collect();
        let mean = errs.iter().map(|e| e.abs()).sum::<f64>() / errs.len() as f64;
        let max = errs.iter().map(|e| e.abs()).fold(0.0, f64::max);
        table.row(vec![
            (*step).to_owned(),
            pts.len().to_string(),
            format!("{mean:.2}"),
            format!("{max:.2}"),
        ]);
        errors.extend(errs);
        let mut s = XySeries::new(
            i,
            if i < 8 { step } else { "" },
            pts.iter().map(|p| (p.measured_s, p.predicted_s)).collect(),
            Mark::Points,
        );
        s.size = 3;
        s.legend = i < 8;
        sc.series.push(s);
    }
    // Histogram of relative errors: about 20 bins of a round width.
    let (emin, emax) = errors
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &e| {
            (a.min(e), b.max(e))
        });
    let span = (emax - emin).max(1e-6);
    let raw = span / 20.0;
    let mag = 10f64.powf(raw.log10().floor());
    let width = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|w| *w >= raw)
        .unwrap_or(10.0 * mag);
    let start = (emin / width).floor() * width;
    let n_bins = (((emax - start) / width).floor() as usize + 1).min(200);
    let mut counts = vec![0usize; n_bins];
    for e in &errors {
        let b = (((e - start) / width).floor() as usize).min(n_bins - 1);
        counts[b] += 1;
    }
    let max_count = counts.iter().copied().max().unwrap_or(1) as f64;
    let svg = frame(1100, 480, caption, |area| {
        let (l, r) = area.split_horizontally(560);
        draw_xy(&l, &sc)?;
        let x0 = start;
        let x1 = start + width * n_bins as f64;
        let mut chart = ChartBuilder::on(&r)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .caption(
                "relative error of held-out predictions",
                (FONT, AXIS_FONT + 1).into_font().style(FontStyle::Bold),
            )
            .build_cartesian_2d(x0..x1, 0.0..max_count * 1.1)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("(predicted − measured) / measured (%)")
            .y_desc("held-out configurations")
            .axis_desc_style((FONT, AXIS_FONT))
            .label_style((FONT, TICK_FONT))
            .x_label_formatter(&|v| num(*v))
            .y_label_formatter(&|v| num(*v))
            .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
            .light_line_style(RGBColor(0xF4, 0xF4, 0xF4))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                let a = start + width * b as f64;
                Rectangle::new(
                    [(a, 0.0), (a + width, c as f64)],
                    color(0).mix(0.8).filled(),
                )
            }))
            .map_err(draw_err)?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, 0.0), (0.0, max_count * 1.1)],
                6,
                4,
                BLACK.stroke_width(1),
            ))
            .map_err(draw_err)?;
        Ok(())
    })?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// Draws category names right-aligned left of a chart's plotting area, one per row centred at
/// `y = idx + 0.5`.
fn draw_row_names(
    area: &Area<'_>,
    names: &[String],
    at: impl Fn(f64) -> (i32, i32),
) -> Result<(), Error> {
    let base = area.get_base_pixel();
    for (i, name) in names.iter().enumerate() {
        let (x, y) = at(i as f64 + 0.5);
        let short: String = if name.chars().count() > 30 {
            name.chars().take(29).chain(['…']).collect()
        } else {
            name.clone()
        };
        area.draw_text(
            &short,
            &text(TICK_FONT, BLACK, HPos::Right, VPos::Center),
            (x - base.0 - 6, y - base.1),
        )
        .map_err(draw_err)?;
    }
    Ok(())
}

/// The plan as a Gantt chart: one row per step (workflow order, top to bottom), a bar from its
/// predicted start for its predicted duration (critical path in vermillion), the sub-SLO budget as
/// an outline, the configuration after the bar, and the SLO as a vertical line. Fails on no step.
pub fn plan_gantt(plan: &GanttPlan, caption: &Caption) -> Result<Figure, Error> {
    if plan.steps.is_empty() {
        return Err(empty("plan: no step"));
    }
    let n = plan.steps.len();
    let mut table = Table::new([
        "step",
        "configuration",
        "start (s)",
        "duration (s)",
        "sub-SLO (s)",
        "critical path",
    ]);
    for s in &plan.steps {
        table.row(vec![
            s.name.clone(),
            if s.config.is_empty() {
                "-".into()
            } else {
                s.config.clone()
            },
            num(s.start_s),
            num(s.duration_s),
            num(s.sub_slo_s),
            if s.critical { "yes" } else { "" }.into(),
        ]);
    }
    let x_hi = plan
        .steps
        .iter()
        .flat_map(|s| [s.start_s + s.duration_s, s.start_s + s.sub_slo_s])
        .chain([plan.slo_s])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        * 1.12;
    let x_hi = if x_hi > 0.0 { x_hi } else { 1.0 };
    // Three empty rows under the steps hold the legend.
    let height = 34 + 110 + 26 * (n as u32 + 3);
    let names: Vec<String> = plan.steps.iter().map(|s| s.name.clone()).collect();
    let svg = frame(1000, height, caption, |area| {
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(160)
            .build_cartesian_2d(0.0..x_hi, (n + 3) as f64..0.0)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("time since the request arrived (s)")
            .axis_desc_style((FONT, AXIS_FONT))
            .label_style((FONT, TICK_FONT))
            .x_label_formatter(&|v| num(*v))
            .y_labels(0)
            .disable_y_mesh()
            .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
            .light_line_style(RGBColor(0xF4, 0xF4, 0xF4))
            .draw()
            .map_err(draw_err)?;
        for (i, s) in plan.steps.iter().enumerate() {
            let y = i as f64;
            let c = if s.critical { color(3) } else { color(0) };
            if s.sub_slo_s.is_finite() && s.sub_slo_s > 0.0 {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(s.start_s, y + 0.12), (s.start_s + s.sub_slo_s, y + 0.88)],
                        DARK_GREY.stroke_width(1),
                    )))
                    .map_err(draw_err)?;
            }
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(s.start_s, y + 0.25), (s.start_s + s.duration_s, y + 0.75)],
                    c.filled(),
                )))
                .map_err(draw_err)?;
            if !s.config.is_empty() {
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!(" {}", s.config),
                        (s.start_s + s.duration_s.max(s.sub_slo_s), y + 0.5),
                        text(TICK_FONT - 1, DARK_GREY, HPos::Left, VPos::Center),
                    )))
                    .map_err(draw_err)?;
            }
        }
        chart
            .draw_series(DashedLineSeries::new(
                vec![(plan.slo_s, 0.0), (plan.slo_s, n as f64)],
                6,
                4,
                BLACK.stroke_width(2),
            ))
            .map_err(draw_err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" SLO {} s", num(plan.slo_s)),
                (plan.slo_s, 0.0),
                text(TICK_FONT, BLACK, HPos::Left, VPos::Top),
            )))
            .map_err(draw_err)?;
        // Legend entries, drawn by hand: the bars are not series.
        for (label, c) in [
            ("critical path", color(3)),
            ("other steps", color(0)),
            ("sub-SLO (outline)", DARK_GREY),
        ] {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(draw_err)?
                .label(label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .label_font((FONT, TICK_FONT))
            .draw()
            .map_err(draw_err)?;
        draw_row_names(area, &names, |y| chart.backend_coord(&(0.0, y)))
    })?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// One line (with markers) per series over a shared x axis, with an optional horizontal line
/// `(y, label)`: slowdown against load per policy, or any y against x. Fails when no series has a
/// finite point.
pub fn lines(
    series: &[Series],
    x_label: &str,
    y_label: &str,
    hline: Option<(f64, String)>,
    caption: &Caption,
) -> Result<Figure, Error> {
    let mut p = XyPanel::new(x_label, y_label);
    p.legend = Some(LegendAt::UpperLeft);
    let mut table = Table::new(["series", x_label, y_label]);
    for (i, s) in series.iter().enumerate() {
        p.series.push(XySeries::new(
            i,
            &s.name,
            s.points.clone(),
            Mark::LinePoints,
        ));
        for &(x, y) in &s.points {
            table.row(vec![s.name.clone(), num(x), num(y)]);
        }
    }
    p.y_log = wants_log(series.iter().flat_map(|s| s.points.iter().map(|q| q.1)));
    p.hlines.extend(hline);
    let svg = frame(900, 500, caption, |area| draw_xy(area, &p))?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// Several panels over one x axis (training curves: one metric per panel; time series: load,
/// concurrency, throttles, cost and latency per policy), two columns when there are more than
/// three. Lines without markers; a legend where a panel has more than one series. Fails on no panel
/// or a panel with no finite point. The table has one row per x and one column per panel's series
/// (at most 200 rows: every k-th x).
pub fn panels(panels: &[Panel], x_label: &str, caption: &Caption) -> Result<Figure, Error> {
    if panels.is_empty() {
        return Err(empty("no panel"));
    }
    let mut xy = Vec::new();
    for pn in panels {
        let mut p = XyPanel::new(x_label, &pn.y_label);
        p.legend = (pn.series.len() > 1).then_some(LegendAt::UpperRight);
        for (i, s) in pn.series.iter().enumerate() {
            let mark = if s.points.len() > 40 {
                Mark::Line
            } else {
                Mark::LinePoints
            };
            p.series
                .push(XySeries::new(i, &s.name, s.points.clone(), mark));
        }
        xy.push(p);
    }
    // Table: the union of x values, one column per (panel, series).
    let mut headers = vec![x_label.to_owned()];
    let mut cols: Vec<&Series> = Vec::new();
    for pn in panels {
        for s in &pn.series {
            headers.push(if pn.series.len() > 1 {
                format!("{}: {}", pn.y_label, s.name)
            } else {
                pn.y_label.clone()
            });
            cols.push(s);
        }
    }
    let mut xs: Vec<f64> = cols
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.0))
        .filter(|x| x.is_finite())
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let k = xs.len().div_ceil(200).max(1);
    let mut table = Table::new(headers);
    for (j, &x) in xs.iter().enumerate() {
        if j % k != 0 && j + 1 != xs.len() {
            continue;
        }
        let mut row = vec![num(x)];
        for s in &cols {
            row.push(
                s.points
                    .iter()
                    .find(|q| q.0 == x)
                    .map_or("-".into(), |q| num(q.1)),
            );
        }
        table.row(row);
    }
    let cols_n = if xy.len() > 3 { 2 } else { 1 };
    let rows = xy.len().div_ceil(cols_n);
    let width = if cols_n == 2 { 1100 } else { 900 };
    let height = 34 + 260 * rows as u32;
    let svg = frame(width, height, caption, |area| {
        for (cell, p) in grid(area, xy.len(), cols_n).iter().zip(&xy) {
            draw_xy(cell, p)?;
        }
        Ok(())
    })?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// Grouped horizontal bars: one row per category (top to bottom), one bar per series with its
/// value written after it; a missing value draws nothing. Fails when there is no finite value.
pub fn bars(chart_data: &BarChart, caption: &Caption) -> Result<Figure, Error> {
    let values = chart_data
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !hi.is_finite() || chart_data.categories.is_empty() {
        return Err(empty(format!(
            "bar chart of {}: no value",
            chart_data.value_label
        )));
    }
    let mut headers = vec!["category".to_owned()];
    headers.extend(chart_data.series.iter().map(|(n, _)| n.clone()));
    let mut table = Table::new(headers);
    for (ci, c) in chart_data.categories.iter().enumerate() {
        let mut row = vec![c.clone()];
        for (_, v) in &chart_data.series {
            row.push(v.get(ci).copied().flatten().map_or("-".into(), num));
        }
        table.row(row);
    }
    let n = chart_data.categories.len();
    let k = chart_data.series.len().max(1);
    // Positive values spanning more than 30x: a log axis (bars start at its left edge).
    let all = || {
        chart_data
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten().copied())
            .filter(|v| v.is_finite())
    };
    let log = all().all(|v| v > 0.0) && wants_log(all());
    let tx = move |v: f64| if log { v.log10() } else { v };
    let (x0, x1) = if log {
        let (l0, l1) = (all().fold(f64::INFINITY, f64::min).log10(), hi.log10());
        let span = (l1 - l0).max(0.5);
        (l0 - span * 0.1, l1 + span * 0.18)
    } else {
        let span = (hi - lo).max(f64::MIN_POSITIVE);
        (
            if lo < 0.0 { lo - span * 0.15 } else { 0.0 },
            if hi > 0.0 {
                hi + span * 0.18
            } else {
                span * 0.05
            },
        )
    };
    let value_label = if log {
        format!("{} (log scale)", chart_data.value_label)
    } else {
        chart_data.value_label.clone()
    };
    let row_px = (10 + 14 * k as u32).max(28);
    // Empty rows under the categories hold the legend (one line per series).
    let legend_rows = if k > 1 {
        ((22 * k as u32 + 16).div_ceil(row_px)) as usize
    } else {
        0
    };
    let n_rows = n + legend_rows;
    let height = 34 + 110 + row_px * n_rows as u32;
    let svg = frame(1000, height, caption, |area| {
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(230)
            .build_cartesian_2d(x0..x1, n_rows as f64..0.0)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(value_label.as_str())
            .axis_desc_style((FONT, AXIS_FONT))
            .label_style((FONT, TICK_FONT))
            .x_label_formatter(&|v| num(if log { 10f64.powf(*v) } else { *v }))
            .y_labels(0)
            .disable_y_mesh()
            .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
            .light_line_style(RGBColor(0xF4, 0xF4, 0xF4))
            .draw()
            .map_err(draw_err)?;
        let band = 0.8 / k as f64;
        for (si, (name, vals)) in chart_data.series.iter().enumerate() {
            let c = color(si);
            let mut rects = Vec::new();
            let mut labels = Vec::new();
            for (ci, v) in vals.iter().enumerate().take(n) {
                let Some(v) = v.filter(|v| v.is_finite()) else {
                    continue;
                };
                let top = ci as f64 + 0.1 + band * si as f64;
                rects.push(Rectangle::new(
                    [
                        (if log { x0 } else { 0.0f64.max(x0) }, top + band * 0.1),
                        (tx(v), top + band * 0.9),
                    ],
                    c.filled(),
                ));
                // The value after the bar's end: right of a positive bar, left of a negative one.
                let (label, h) = if v < 0.0 {
                    (format!("{} ", num(v)), HPos::Right)
                } else {
                    (format!(" {}", num(v)), HPos::Left)
                };
                labels.push(Text::new(
                    label,
                    (tx(v), top + band * 0.5),
                    text(TICK_FONT - 1, DARK_GREY, h, VPos::Center),
                ));
            }
            chart
                .draw_series(rects)
                .map_err(draw_err)?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()));
            chart.draw_series(labels).map_err(draw_err)?;
        }
        if k > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(GREY)
                .label_font((FONT, TICK_FONT))
                .draw()
                .map_err(draw_err)?;
        }
        draw_row_names(area, &chart_data.categories, |y| {
            chart.backend_coord(&(x0, y))
        })
    })?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// Ranked topologies drawn as graphs, one panel each (two columns): nodes in layers by longest path
/// from a source, left to right, edges as arrows, highlighted nodes (made by a transform) in orange.
/// Fails on no topology or one with no node; an edge naming a missing node is skipped.
pub fn topologies(graphs: &[Topology], caption: &Caption) -> Result<Figure, Error> {
    if graphs.is_empty() {
        return Err(empty("topologies: none"));
    }
    let mut table = Table::new(["rank", "topology", "steps", "edges"]);
    for (i, g) in graphs.iter().enumerate() {
        if g.nodes.is_empty() {
            return Err(empty(format!("topology '{}': no step", g.title)));
        }
        table.row(vec![
            (i + 1).to_string(),
            g.title.clone(),
            g.nodes.join(", "),
            g.edges
                .iter()
                .filter(|(a, b)| *a < g.nodes.len() && *b < g.nodes.len())
                .map(|&(a, b)| format!("{}→{}", g.nodes[a], g.nodes[b]))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    let cols = graphs.len().min(2);
    let rows = graphs.len().div_ceil(cols);
    let layouts: Vec<Vec<(usize, usize, usize)>> = graphs.iter().map(layers).collect();
    let max_depth = layouts
        .iter()
        .flat_map(|l| l.iter().map(|&(_, _, d)| d))
        .max()
        .unwrap_or(1)
        .max(1);
    let cell_h = (60 + 46 * max_depth as u32).clamp(200, 600);
    let height = 34 + cell_h * rows as u32;
    let svg = frame(1100, height, caption, |area| {
        for ((cell, g), lay) in grid(area, graphs.len(), cols)
            .iter()
            .zip(graphs)
            .zip(&layouts)
        {
            draw_graph(cell, g, lay)?;
        }
        Ok(())
    })?;
    Ok(Figure {
        caption: caption.clone(),
        svg,
        table,
    })
}

/// Per node `(layer, row in layer, rows in that layer)`: layer = longest path from a source (nodes
/// on a cycle, which a valid workflow has not, go one layer after the deepest).
fn layers(g: &Topology) -> Vec<(usize, usize, usize)> {
    let n = g.nodes.len();
    let edges: Vec<(usize, usize)> = g
        .edges
        .iter()
        .copied()
        .filter(|&(a, b)| a < n && b < n && a != b)
        .collect();
    let mut indeg = vec![0usize; n];
    for &(_, b) in &edges {
        indeg[b] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut done = vec![false; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut head = 0;
    while head < ready.len() {
        let a = ready[head];
        head += 1;
        done[a] = true;
        for &(x, b) in &edges {
            if x == a {
                layer[b] = layer[b].max(layer[a] + 1);
                indeg[b] -= 1;
                if indeg[b] == 0 {
                    ready.push(b);
                }
            }
        }
    }
    let deepest = layer.iter().copied().max().unwrap_or(0);
    for i in 0..n {
        if !done[i] {
            layer[i] = deepest + 1;
        }
    }
    let n_layers = layer.iter().copied().max().unwrap_or(0) + 1;
    let mut count = vec![0usize; n_layers];
    let mut row = vec![0usize; n];
    for i in 0..n {
        row[i] = count[layer[i]];
        count[layer[i]] += 1;
    }
    (0..n)
        .map(|i| (layer[i], row[i], count[layer[i]]))
        .collect()
}

fn draw_graph(area: &Area<'_>, g: &Topology, lay: &[(usize, usize, usize)]) -> Result<(), Error> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    area.draw(&Rectangle::new(
        [(4, 4), (w - 4, h - 4)],
        GREY.stroke_width(1),
    ))
    .map_err(draw_err)?;
    area.draw_text(
        &g.title,
        &TextStyle::from((FONT, AXIS_FONT).into_font().style(FontStyle::Bold))
            .color(&BLACK)
            .pos(plotters::style::text_anchor::Pos::new(
                HPos::Left,
                VPos::Top,
            )),
        (12, 10),
    )
    .map_err(draw_err)?;
    let n_layers = lay.iter().map(|l| l.0).max().unwrap_or(0) + 1;
    let top = 34;
    let col_w = (w - 24) / n_layers as i32;
    let box_w = (col_w - 24).clamp(40, 170);
    let box_h = 26;
    let centre = |i: usize| -> (i32, i32) {
        let (l, r, k) = lay[i];
        let x = 12 + col_w * l as i32 + col_w / 2;
        let y = top + (h - top - 8) * (2 * r as i32 + 1) / (2 * k as i32);
        (x, y)
    };
    for &(a, b) in &g.edges {
        if a >= g.nodes.len() || b >= g.nodes.len() || a == b {
            continue;
        }
        let (ax, ay) = centre(a);
        let (bx, by) = centre(b);
        let (sx, ex) = (ax + box_w / 2, bx - box_w / 2);
        area.draw(&PathElement::new(
            vec![(sx, ay), (ex, by)],
            DARK_GREY.stroke_width(1),
        ))
        .map_err(draw_err)?;
        // Arrowhead along the edge's direction.
        let (dx, dy) = ((ex - sx) as f64, (by - ay) as f64);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let tip = (ex, by);
        let back = (ex as f64 - ux * 9.0, by as f64 - uy * 9.0);
        let l = ((back.0 - uy * 4.0) as i32, (back.1 + ux * 4.0) as i32);
        let r = ((back.0 + uy * 4.0) as i32, (back.1 - ux * 4.0) as i32);
        area.draw(&Polygon::new(vec![tip, l, r], DARK_GREY.filled()))
            .map_err(draw_err)?;
    }
    let max_chars = ((box_w - 8) / 7).max(3) as usize;
    for (i, name) in g.nodes.iter().enumerate() {
        let (x, y) = centre(i);
        let c = if g.highlight.contains(&i) {
            color(1)
        } else {
            RGBColor(0xD6, 0xEA, 0xF8)
        };
        area.draw(&Rectangle::new(
            [
                (x - box_w / 2, y - box_h / 2),
                (x + box_w / 2, y + box_h / 2),
            ],
            c.filled(),
        ))
        .map_err(draw_err)?;
        area.draw(&Rectangle::new(
            [
                (x - box_w / 2, y - box_h / 2),
                (x + box_w / 2, y + box_h / 2),
            ],
            color(0).stroke_width(1),
        ))
        .map_err(draw_err)?;
        let short: String = if name.chars().count() > max_chars {
            name.chars()
                .take(max_chars.saturating_sub(1))
                .chain(['…'])
                .collect()
        } else {
            name.clone()
        };
        area.draw_text(
            &short,
            &text(TICK_FONT, BLACK, HPos::Center, VPos::Center),
            (x, y),
        )
        .map_err(draw_err)?;
    }
    Ok(())
}
