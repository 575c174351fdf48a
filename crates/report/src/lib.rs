//! faastune's figures and its visual report (issue 16).
//!
//! One function per figure kind ([`config_space`], [`cost_vs_slo`], [`latency_cdf`], [`cdf`],
//! [`fit_accuracy`], [`plan_gantt`], [`lines`], [`panels`], [`bars`], [`topologies`]) takes plain data
//! structs (no CLI or simulator types) and a [`Caption`], and returns a [`Figure`]: the SVG text and the
//! table of the numbers drawn. [`Figure::write`] writes SVG or PNG by the file's extension;
//! [`html::page`] puts figures and their tables on one self-contained HTML page.
//!
//! Styling is shared (`style.rs`): the Okabe-Ito colour-blind-safe palette with a marker shape per
//! series, axis labels with units, a legend, and a caption line with the seed and the command.
//!
//! **Determinism:** the same data gives the same SVG bytes: no timestamps, no hash-map iteration,
//! coordinates rounded by plotters to whole pixels. The SVG is written by plotters' SVG backend with
//! text as SVG `<text>` (no font is loaded); PNG is rasterised by resvg with the embedded DejaVu Sans
//! subset (`fonts/`), so neither needs anything from the system.
//!
//! **Errors:** an empty data set or one with no finite value is [`Error::Empty`] naming what was
//! empty; nothing panics on user data.
#![warn(missing_docs)]

mod charts;
pub mod html;
mod png;
mod style;

use std::path::Path;

pub use charts::{
    BarChart, ConfigOption, Distribution, FitPoint, GanttPlan, GanttStep, LatencyDist, Panel,
    Series, SloCurve, SloPoint, StepSpace, Topology, bars, cdf, config_space, cost_vs_slo,
    fit_accuracy, latency_cdf, lines, panels, plan_gantt, topologies,
};
pub use png::{png_ink, svg_to_png};

/// Errors of figure drawing and writing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing to draw: `what` names the empty input (a series, a result set).
    #[error("nothing to plot: {what}")]
    Empty {
        /// What was empty.
        what: String,
    },
    /// The drawing backend failed (an internal error of plotters).
    #[error("drawing the figure: {0}")]
    Draw(String),
    /// Rasterising the SVG failed.
    #[error("rendering PNG: {0}")]
    Png(String),
    /// The output file's extension is neither `.svg` nor `.png`.
    #[error("{path}: unknown figure format (give a file ending in .svg or .png)")]
    Format {
        /// The file.
        path: String,
    },
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// What the caption under a figure says: the title above, the seed and the command below.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Caption {
    /// Title, drawn above the figure.
    pub title: String,
    /// The command that made the data (`faastune sweep --workflow ...`).
    pub command: String,
    /// The run's seed, where the data has one.
    pub seed: Option<u64>,
    /// An extra line (a note on what is drawn), if any.
    pub note: Option<String>,
}

impl Caption {
    /// A caption with a title, the command and the seed.
    pub fn new(title: impl Into<String>, command: impl Into<String>, seed: Option<u64>) -> Self {
        Caption {
            title: title.into(),
            command: command.into(),
            seed,
            note: None,
        }
    }

    /// The same caption with a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The text under the figure: the seed (or "no seed") and the command.
    pub fn footer(&self) -> String {
        let seed = match self.seed {
            Some(s) => format!("seed {s}"),
            None => "no seed".to_owned(),
        };
        format!("{seed} · {}", self.command)
    }
}

/// The numbers a figure draws, as rows of text (shown beside the figure in the report).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column headers (with units).
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }
}

/// One drawn figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The caption it was drawn with.
    pub caption: Caption,
    /// The SVG document (UTF-8 text).
    pub svg: String,
    /// The numbers drawn.
    pub table: Table,
}

impl Figure {
    /// Writes the figure to `path`: SVG for `.svg`, PNG (rasterised at twice the SVG's size) for
    /// `.png`; any other extension is [`Error::Format`]. Parent directories must exist.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let bytes = match ext.as_deref() {
            Some("svg") => self.svg.as_bytes().to_vec(),
            Some("png") => svg_to_png(&self.svg, 2.0)?,
            _ => {
                return Err(Error::Format {
                    path: path.display().to_string(),
                });
            }
        };
        std::fs::write(path, bytes).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Whether `path` names a figure format [`Figure::write`] writes (`.svg` or `.png`).
pub fn is_figure_path(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("svg" | "png")
    )
}
