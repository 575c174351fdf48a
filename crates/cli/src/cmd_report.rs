//! `faastune report`: every figure of the evaluation from the stored raw data (docs/evaluation/data)
//! or by re-running the quick commands (plan, fit), as one self-contained HTML page (`--out DIR`) and
//! in place in the docs (`--all`: every `figures/NAME.svg|png` that docs/evaluation/*.md embeds).
//! Also the helpers the commands' `--plot FILE` flags share (path check, writing, the command line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use report::{
    BarChart, Caption, Distribution, Figure, LatencyDist, Panel, Series, SloCurve, SloPoint,
};
use serde_json::Value;

/// Arguments of `faastune report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Write DIR/index.html: every figure (inline SVG) with its table, no script, no network.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The stored raw data the figures are drawn from.
    #[arg(long, value_name = "DIR", default_value = "docs/evaluation/data")]
    pub from: PathBuf,
    /// Regenerate, in place, every figure that the markdown files in --docs embed
    /// (`![...](figures/NAME.svg)` or `.png`).
    #[arg(long)]
    pub all: bool,
    /// The evaluation docs whose figures --all regenerates (figures go to DIR/figures/).
    #[arg(long, value_name = "DIR", default_value = "docs/evaluation")]
    pub docs: PathBuf,
    /// Workflow examples the re-run figures (plan, configuration space, fit) read.
    #[arg(long, value_name = "DIR", default_value = "examples")]
    pub examples: PathBuf,
}

// ---------------------------------------------------------------------------------------------------
// Shared by every `--plot FILE`

/// Fails unless `path` ends in `.svg` or `.png` (checked before a command runs, so a typo costs
/// nothing).
pub fn check_plot_path(path: &Path) -> anyhow::Result<()> {
    if !report::is_figure_path(path) {
        bail!(
            "--plot {}: unknown figure format (give a file ending in .svg or .png)",
            path.display()
        );
    }
    Ok(())
}

/// Writes a drawn figure (or its drawing error) to `path`, the error naming the file.
pub fn write_plot(fig: Result<Figure, report::Error>, path: &Path) -> anyhow::Result<()> {
    let fig = fig.with_context(|| format!("drawing figure {}", path.display()))?;
    fig.write(path)
        .with_context(|| format!("writing figure {}", path.display()))
}

/// The command line as run (`faastune ARGS`), without the `--plot*` flags, for captions.
pub fn command_line() -> String {
    let mut out = vec!["faastune".to_owned()];
    let mut skip = false;
    for a in std::env::args().skip(1) {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with("--plot") {
            skip = !a.contains('=');
            continue;
        }
        out.push(if a.contains(' ') { format!("'{a}'") } else { a });
    }
    out.join(" ")
}

// ---------------------------------------------------------------------------------------------------
// Data readers (each error names the file)

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = des::text::read_text(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}

fn read_jsonl(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = des::text::read_text(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not valid JSON", path.display(), i + 1))?,
        );
    }
    if out.is_empty() {
        bail!("{}: no record", path.display());
    }
    Ok(out)
}

fn field<'a>(v: &'a Value, key: &str, path: &Path) -> anyhow::Result<&'a Value> {
    v.get(key)
        .with_context(|| format!("{}: no field '{key}'", path.display()))
}

fn f64_field(v: &Value, key: &str, path: &Path) -> anyhow::Result<f64> {
    field(v, key, path)?
        .as_f64()
        .with_context(|| format!("{}: field '{key}' is not a number", path.display()))
}

fn str_field<'a>(v: &'a Value, key: &str, path: &Path) -> anyhow::Result<&'a str> {
    field(v, key, path)?
        .as_str()
        .with_context(|| format!("{}: field '{key}' is not a string", path.display()))
}

fn array<'a>(v: &'a Value, key: &str, path: &Path) -> anyhow::Result<&'a Vec<Value>> {
    let a = field(v, key, path)?
        .as_array()
        .with_context(|| format!("{}: field '{key}' is not an array", path.display()))?;
    if a.is_empty() {
        bail!("{}: '{key}' is empty (nothing to plot)", path.display());
    }
    Ok(a)
}

fn seed_of(v: &Value) -> Option<u64> {
    v.get("seed").and_then(Value::as_u64)
}

/// A policy name for a legend: `rl:DIR/NAME.safetensors` -> `rl:NAME` (the data file keeps the path).
fn short_policy(name: &str) -> String {
    match name.split_once(':') {
        Some((kind, path)) => {
            let file = path.rsplit('/').next().unwrap_or(path);
            format!("{kind}:{}", file.trim_end_matches(".safetensors"))
        }
        None => name.to_owned(),
    }
}

/// Names in first-seen order.
fn push_unique(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
}

fn draw(fig: Result<Figure, report::Error>, path: &Path) -> anyhow::Result<Figure> {
    fig.with_context(|| format!("drawing from {}", path.display()))
}

// ---------------------------------------------------------------------------------------------------
// Figures from stored data

/// `sweep --json` output: cost against SLO per policy.
pub fn sweep_figure(path: &Path, title: Option<&str>) -> anyhow::Result<Figure> {
    let v = read_json(path)?;
    let wf = str_field(&v, "workflow", path)?;
    let min = v.get("min_attainment").and_then(Value::as_f64);
    let mut curves: Vec<SloCurve> = Vec::new();
    for p in array(&v, "points", path)? {
        let name = str_field(p, "name", path)?;
        let point = SloPoint {
            slo_s: f64_field(p, "slo_s", path)?,
            cost_usd_mean: f64_field(p, "cost_usd_mean", path)?,
            slo_attainment: f64_field(p, "slo_attainment", path)?,
        };
        match curves.iter_mut().find(|c| c.policy == name) {
            Some(c) => c.points.push(point),
            None => curves.push(SloCurve {
                policy: name.to_owned(),
                points: vec![point],
            }),
        }
    }
    for c in &mut curves {
        c.points.sort_by(|a, b| a.slo_s.total_cmp(&b.slo_s));
    }
    let requests = v.get("requests").and_then(Value::as_u64).unwrap_or(0);
    let model = v.get("model").and_then(Value::as_str).unwrap_or("?");
    let caption = Caption::new(
        title.map_or_else(
            || format!("{wf}: cost against SLO per policy"),
            str::to_owned,
        ),
        format!(
            "faastune sweep --workflow {wf} --requests {requests} --model {model} --json, stored in {}",
            path.display()
        ),
        seed_of(&v),
    );
    draw(report::cost_vs_slo(&curves, min, &caption), path)
}

/// `compare --json` output: each policy's latency quantiles (p50, p95, p99, and the share within
/// the SLO at the SLO) as a CDF, with the SLO line.
pub fn compare_figure(path: &Path) -> anyhow::Result<Figure> {
    let v = read_json(path)?;
    let wf = str_field(&v, "workflow", path)?;
    let slo_s = f64_field(&v, "slo_s", path)?;
    let mut dists = Vec::new();
    for p in array(&v, "policies", path)? {
        let mut q = vec![
            (0.5, f64_field(p, "latency_s_p50", path)?),
            (0.95, f64_field(p, "latency_s_p95", path)?),
            (0.99, f64_field(p, "latency_s_p99", path)?),
        ];
        let att = f64_field(p, "slo_attainment", path)?;
        if att > 0.0 && att < 1.0 {
            q.push((att, slo_s));
        }
        dists.push(Distribution {
            name: str_field(p, "name", path)?.to_owned(),
            data: LatencyDist::Quantiles(q),
        });
    }
    let requests = v.get("requests").and_then(Value::as_u64).unwrap_or(0);
    let rate = v.get("rate_per_s").and_then(Value::as_f64).unwrap_or(0.0);
    let caption = Caption::new(
        format!("{wf}: latency distribution per policy at SLO {slo_s} s"),
        format!(
            "faastune compare --workflow {wf} --slo {slo_s} --requests {requests} --rate {rate} --json, stored in {}",
            path.display()
        ),
        seed_of(&v),
    )
    .with_note(
        "Stored as percentiles: points at p50, p95, p99 and at the SLO (the share of requests within it); `compare --plot` draws every request.",
    );
    draw(report::latency_cdf(&dists, Some(slo_s), &caption), path)
}

fn alloc_command(v: &Value) -> String {
    let mut parts = vec![format!(
        "faastune alloc --scenario {}",
        v.get("scenario").and_then(Value::as_str).unwrap_or("?")
    )];
    if let Some(s) = v.get("settings").and_then(Value::as_object) {
        for key in ["workload", "simu_len", "jobsets", "keep_alive", "minutes"] {
            if let Some(x) = s.get(key) {
                let x = match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                parts.push(format!("--{} {x}", key.replace('_', "-")));
            }
        }
    }
    parts.push("--json".into());
    parts.join(" ")
}

/// `alloc --json` output with several loads: mean slowdown against load per policy (DeepRM Fig. 4).
pub fn alloc_load_figure(path: &Path, title: &str) -> anyhow::Result<Figure> {
    let v = read_json(path)?;
    let mut series: Vec<Series> = Vec::new();
    for r in array(&v, "runs", path)? {
        let name = short_policy(str_field(r, "policy", path)?);
        let load = f64_field(r, "load", path)?;
        let Some(sd) = r.get("slowdown_mean").and_then(Value::as_f64) else {
            continue;
        };
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push((load, sd)),
            None => series.push(Series::new(name, vec![(load, sd)])),
        }
    }
    let caption = Caption::new(
        title,
        format!("{}, stored in {}", alloc_command(&v), path.display()),
        seed_of(&v),
    );
    draw(
        report::lines(
            &series,
            "load (share of cluster capacity)",
            "mean slowdown (finish − arrival) / duration",
            None,
            &caption,
        ),
        path,
    )
}

/// Several `alloc --json` outputs (one per category, e.g. arrival pattern): `metric` per policy as
/// grouped bars.
pub fn alloc_bars_figure(
    files: &[(String, PathBuf)],
    metric: &str,
    value_label: &str,
    title: &str,
) -> anyhow::Result<Figure> {
    let mut policies: Vec<String> = Vec::new();
    let mut values: BTreeMap<(usize, String), f64> = BTreeMap::new();
    let mut seed = None;
    let mut commands = Vec::new();
    for (ci, (_, path)) in files.iter().enumerate() {
        let v = read_json(path)?;
        seed = seed.or(seed_of(&v));
        commands.push(path.display().to_string());
        for r in array(&v, "runs", path)? {
            let name = short_policy(str_field(r, "policy", path)?);
            push_unique(&mut policies, &name);
            if let Some(x) = r.get(metric).and_then(Value::as_f64) {
                values.insert((ci, name), x);
            }
        }
    }
    // One file: one bar per policy (as many colours as policies would repeat the palette).
    let chart = if files.len() == 1 {
        BarChart {
            value_label: value_label.to_owned(),
            categories: policies.clone(),
            series: vec![(
                files[0].0.clone(),
                policies
                    .iter()
                    .map(|p| values.get(&(0, p.clone())).copied())
                    .collect(),
            )],
        }
    } else {
        BarChart {
            value_label: value_label.to_owned(),
            categories: files.iter().map(|(c, _)| c.clone()).collect(),
            series: policies
                .iter()
                .map(|p| {
                    (
                        p.clone(),
                        (0..files.len())
                            .map(|ci| values.get(&(ci, p.clone())).copied())
                            .collect(),
                    )
                })
                .collect(),
        }
    };
    let caption = Caption::new(
        title,
        format!(
            "faastune alloc ... --json, stored in {}",
            commands.join(", ")
        ),
        seed,
    );
    let first = &files[0].1;
    draw(report::bars(&chart, &caption), first)
}

/// A training curve CSV (`train`'s `.csv` beside the checkpoint): the first column (iteration or
/// episode) on x, one panel per other numeric column (at most six, the first ones).
pub fn training_curve_figure(
    path: &Path,
    title: &str,
    command: &str,
    seed: Option<u64>,
) -> anyhow::Result<Figure> {
    let text = des::text::read_text(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .with_context(|| format!("{}: empty file (no header)", path.display()))?
        .split(',')
        .map(str::trim)
        .collect();
    if header.len() < 2 {
        bail!(
            "{}: need a column for x and at least one more",
            path.display()
        );
    }
    let mut cols: Vec<Vec<(f64, f64)>> = vec![Vec::new(); header.len()];
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            bail!(
                "{}:{}: {} fields, the header has {}",
                path.display(),
                i + 2,
                cells.len(),
                header.len()
            );
        }
        let x: f64 = cells[0].parse().with_context(|| {
            format!(
                "{}:{}: '{}' is not a number",
                path.display(),
                i + 2,
                cells[0]
            )
        })?;
        for (c, cell) in cells.iter().enumerate().skip(1) {
            if let Ok(y) = cell.parse::<f64>() {
                cols[c].push((x, y));
            }
        }
    }
    let panels: Vec<Panel> = header
        .iter()
        .enumerate()
        .skip(1)
        // Columns that never change (episodes per iteration) say nothing as curves.
        .filter(|(c, _)| {
            cols[*c]
                .first()
                .is_some_and(|f| cols[*c].iter().any(|q| q.1 != f.1))
        })
        .take(6)
        .map(|(c, name)| Panel {
            y_label: column_label(name),
            series: vec![Series::new(*name, cols[c].clone())],
        })
        .collect();
    if panels.is_empty() {
        bail!("{}: no data row", path.display());
    }
    let caption = Caption::new(title, command, seed);
    draw(report::panels(&panels, header[0], &caption), path)
}

/// A CSV column name as an axis label with its unit.
fn column_label(name: &str) -> String {
    if let Some(base) = name.strip_suffix("_usd") {
        format!("{} (USD)", base.replace('_', " "))
    } else if let Some(base) = name.strip_suffix("_s") {
        format!("{} (s)", base.replace('_', " "))
    } else if name == "slo_attainment" {
        "SLO attainment (share)".into()
    } else {
        name.replace('_', " ")
    }
}

/// AutoFlow evaluation records (`*.jsonl`, one per workflow, load and seed): the agent's cost
/// against target tracking and KPA per (workflow, load), in percent of theirs, seed means.
pub fn autoflow_cost_figure(path: &Path, title: &str) -> anyhow::Result<Figure> {
    let recs = read_jsonl(path)?;
    // (workflow, load) in first-seen order -> policy -> costs over seeds.
    let mut cats: Vec<String> = Vec::new();
    let mut costs: BTreeMap<(usize, String), Vec<f64>> = BTreeMap::new();
    let mut seeds: Vec<u64> = Vec::new();
    for r in &recs {
        let wf = str_field(r, "workflow", path)?;
        let arrivals = str_field(r, "arrivals", path)?;
        let load = load_name(arrivals);
        let cat = format!("{wf}, {load}");
        push_unique(&mut cats, &cat);
        let ci = cats.iter().position(|c| *c == cat).unwrap_or(0);
        if let Some(s) = seed_of(r)
            && !seeds.contains(&s)
        {
            seeds.push(s);
        }
        for run in array(r, "runs", path)? {
            let p = str_field(run, "policy", path)?;
            let c = f64_field(run, "cost_usd_per_request", path)?;
            costs.entry((ci, p.to_owned())).or_default().push(c);
        }
    }
    let mean = |ci: usize, p: &str| -> Option<f64> {
        costs
            .get(&(ci, p.to_owned()))
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
    };
    let agent = if recs
        .iter()
        .flat_map(|r| r["runs"].as_array().into_iter().flatten())
        .any(|run| run["policy"] == "agent")
    {
        "agent"
    } else {
        "agent+reshape"
    };
    let mut series = Vec::new();
    for other in ["target-tracking", "kpa", "stepconf"] {
        let vals: Vec<Option<f64>> = (0..cats.len())
            .map(|ci| Some((mean(ci, agent)? / mean(ci, other)? - 1.0) * 100.0))
            .collect();
        if vals.iter().any(Option::is_some) {
            series.push((format!("{agent} against {other}"), vals));
        }
    }
    if series.is_empty() {
        bail!(
            "{}: no run of '{agent}' beside target-tracking, kpa or stepconf",
            path.display()
        );
    }
    seeds.sort_unstable();
    let seed_text = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let chart = BarChart {
        value_label: format!(
            "{agent}'s cost per request against the other policy (%, < 0: cheaper)"
        ),
        categories: cats,
        series,
    };
    let caption = Caption::new(
        title,
        format!(
            "faastune autoflow ... (records stored in {})",
            path.display()
        ),
        seeds.first().copied(),
    )
    .with_note(format!(
        "Mean cost per request over seeds {seed_text}; the seed below is the first."
    ));
    draw(report::bars(&chart, &caption), path)
}

/// A short name for an arrivals spec (`poisson:5` -> steady, `diurnal:azure2019:...` -> diurnal,
/// `schedule:bench/scenarios/x.txt` -> x.txt).
fn load_name(arrivals: &str) -> String {
    let kind = arrivals.split(':').next().unwrap_or(arrivals);
    match kind {
        "poisson" => "steady".into(),
        "schedule" => arrivals.rsplit('/').next().unwrap_or(arrivals).to_owned(),
        "load" => arrivals.to_owned(),
        k => k.to_owned(),
    }
}

/// `bench topology` output: per real workflow, the cost per request of the original and of the
/// chosen topology (measured), where a better one was found.
pub fn topology_figure(path: &Path, title: &str) -> anyhow::Result<Figure> {
    let v = read_json(path)?;
    let mut cats = Vec::new();
    let mut orig = Vec::new();
    let mut chosen = Vec::new();
    for r in array(&v, "real", path)? {
        let wf = str_field(r, "workflow", path)?;
        let o = field(r, "original", path)?;
        let c = field(r, "chosen_measured", path)?;
        let n_chosen = r
            .get("chosen")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let slo = r.get("slo_s").and_then(Value::as_f64).unwrap_or(f64::NAN);
        cats.push(format!("{wf} @ {} s", report_num(slo)));
        orig.push(o.get("cost_usd_per_request").and_then(Value::as_f64));
        chosen.push(if n_chosen == 0 {
            None
        } else {
            c.get("cost_usd_per_request").and_then(Value::as_f64)
        });
    }
    let chart = BarChart {
        value_label: "measured cost per request (USD)".into(),
        categories: cats,
        series: vec![
            ("original topology".into(), orig),
            ("chosen topology (where one was chosen)".into(), chosen),
        ],
    };
    let command = v
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or("faastune bench topology");
    let caption = Caption::new(
        title,
        format!("{command}, stored in {}", path.display()),
        seed_of(&v),
    );
    draw(report::bars(&chart, &caption), path)
}

fn report_num(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.1}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        "-".into()
    }
}

// ---------------------------------------------------------------------------------------------------
// Figures by re-running (fast commands on the examples)

fn rerun_plan(
    examples: &Path,
    wf_file: &str,
    slo_s: f64,
    policy: &str,
) -> anyhow::Result<(Figure, Figure)> {
    let path = examples.join(wf_file);
    let wf = crate::cmd_simulate::load_workflow(&path)?;
    let platform = platform::Platform::lambda();
    let model = crate::predictor::ModelArgs {
        model: crate::predictor::ModelKind::Fitted,
        model_file: None,
        seed: 1,
    };
    let predictor = crate::predictor::build_predictor(&model, &wf, &platform)?;
    let plan = optimizer::plan(&wf, &platform, predictor.as_ref(), slo_s, policy)
        .with_context(|| format!("planning '{}' with policy {policy}", wf.name))?;
    let command = format!(
        "faastune plan --workflow {} --slo {slo_s} --policy {policy} --seed 1",
        path.display()
    );
    let gantt = crate::cmd_plan::gantt_figure(
        &plan,
        &crate::cmd_plan::gantt_caption(&plan, "fitted", &command, 1),
    )
    .with_context(|| format!("drawing the plan of {}", path.display()))?;
    let caption = Caption::new(
        format!(
            "{}: configuration space per step, {policy} plan at SLO {slo_s} s",
            wf.name
        ),
        format!("{command} --plot-space FILE"),
        Some(1),
    )
    .with_note("Predicted by the fitted model; StepConf's grid of memory x fan-out x workers.");
    let space = crate::cmd_plan::space_figure(&wf, &platform, predictor.as_ref(), &plan, &caption)?;
    Ok((gantt, space))
}

// ---------------------------------------------------------------------------------------------------
// The registry

/// One figure of the evaluation: its file name (without extension), the doc it belongs to, and how
/// it is drawn.
struct Entry {
    id: String,
    section: &'static str,
    fig: Figure,
}

/// Sections of the report, in order, with the doc each belongs to.
const SECTIONS: [(&str, &str); 4] = [
    (
        "stepconf",
        "StepConf: configuring workflows to an SLO (docs/evaluation/stepconf.md)",
    ),
    (
        "learned",
        "Allocation: heuristics and learned policies (docs/evaluation/learned-allocation.md)",
    ),
    (
        "autoflow",
        "AutoFlow: the resource agent (docs/evaluation/autoflow-agent.md)",
    ),
    (
        "topology",
        "AutoFlow: topologies (docs/evaluation/autoflow-topology.md)",
    ),
];

const STEPCONF_WORKFLOWS: [&str; 4] = ["video", "synthetic16", "epigenomics", "app16"];

/// Draws every figure of the evaluation from `from` (and the examples for the re-run ones).
fn all_figures(from: &Path, examples: &Path) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut add = |id: String, section: &'static str, fig: Figure| {
        out.push(Entry { id, section, fig });
    };
    let sc = from.join("stepconf");
    for wf in STEPCONF_WORKFLOWS {
        add(
            format!("stepconf-sweep-{wf}"),
            "stepconf",
            sweep_figure(&sc.join(format!("sweep_{wf}.json")), None)?,
        );
    }
    for wf in ["video", "synthetic16", "epigenomics"] {
        let title = format!("{wf}: cost against SLO over the wide range");
        let f = sweep_figure(&sc.join(format!("wide_{wf}.json")), Some(&title))?;
        add(format!("stepconf-wide-{wf}"), "stepconf", f);
    }
    for wf in STEPCONF_WORKFLOWS {
        add(
            format!("stepconf-compare-{wf}"),
            "stepconf",
            compare_figure(&sc.join(format!("compare_{wf}.json")))?,
        );
    }
    let (gantt, space) = rerun_plan(examples, "video.yaml", 30.0, "stepconf")?;
    add("stepconf-plan-video".into(), "stepconf", gantt);
    add("stepconf-space-video".into(), "stepconf", space);
    for wf in ["video", "synthetic16"] {
        let path = examples.join(format!("{wf}.yaml"));
        let fig = crate::cmd_fit::workflow_fit_figure(&path, 1, 30, 200, None)?;
        add(format!("stepconf-fit-{wf}"), "stepconf", fig);
    }

    let ld = from.join("learned");
    for (name, title) in [
        (
            "e1-load-sweep-simu50",
            "DeepRM mode: mean slowdown against load (simu_len 50)",
        ),
        (
            "e1-load-sweep-simu200",
            "DeepRM mode: mean slowdown against load (simu_len 200)",
        ),
    ] {
        add(
            format!("learned-{name}"),
            "learned",
            alloc_load_figure(&ld.join(format!("{name}.json")), title)?,
        );
    }
    let patterns: Vec<(String, PathBuf)> = ["steady", "bursty", "periodic", "mixed"]
        .iter()
        .map(|p| (p.to_string(), ld.join(format!("e3-pattern-{p}.json"))))
        .collect();
    add(
        "learned-e3-patterns".into(),
        "learned",
        alloc_bars_figure(
            &patterns,
            "slowdown_mean",
            "mean slowdown",
            "DeepRM mode: mean slowdown per arrival pattern and policy",
        )?,
    );
    add(
        "learned-e2-algorithms".into(),
        "learned",
        alloc_bars_figure(
            &[("load 1.3".into(), ld.join("e2-algorithms-load130.json"))],
            "slowdown_mean",
            "mean slowdown",
            "DeepRM mode at load 1.3: mean slowdown per policy",
        )?,
    );
    let serverless: Vec<(String, PathBuf)> = [
        ("synthetic", "e6-serverless-synthetic"),
        ("Azure 2019 example", "e6-serverless-azure2019-example"),
        (
            "Azure 2019, 10 functions",
            "e6-serverless-azure2019-10fn-10min",
        ),
        ("Azure 2021, 200", "e6-serverless-azure2021-200"),
    ]
    .iter()
    .map(|(c, f)| (c.to_string(), ld.join(format!("{f}.json"))))
    .collect();
    add(
        "learned-e6-serverless".into(),
        "learned",
        alloc_bars_figure(
            &serverless,
            "slowdown_mean",
            "mean slowdown",
            "Serverless mode: mean slowdown per workload and policy",
        )?,
    );

    let af = from.join("autoflow");
    let a3c_json = read_json(&af.join("a3c-600.json")).ok();
    let a3c_cmd = a3c_json
        .as_ref()
        .and_then(|v| v.get("command").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "faastune train --scenario autoscale --algo a3c".into());
    add(
        "autoflow-a3c-curve".into(),
        "autoflow",
        training_curve_figure(
            &af.join("a3c-600-curve.csv"),
            "A3C training curve (600 iterations)",
            &format!(
                "{a3c_cmd} (curve stored in {})",
                af.join("a3c-600-curve.csv").display()
            ),
            a3c_json.as_ref().and_then(|v| v["config"]["seed"].as_u64()),
        )?,
    );
    for (name, title) in [
        (
            "seen",
            "Training workflows: the agent's cost against the autoscalers",
        ),
        (
            "unseen-workflows",
            "Unseen workflows: the agent's cost against the autoscalers",
        ),
        (
            "unseen-traces",
            "Unseen traces: the agent's cost against the autoscalers",
        ),
        (
            "anchor-cases",
            "Anchor complaint cases: the agent's cost against the autoscalers",
        ),
        (
            "loop",
            "Feedback loop (agent + reshape): cost against StepConf's plan",
        ),
    ] {
        add(
            format!("autoflow-{name}"),
            "autoflow",
            autoflow_cost_figure(&af.join(format!("{name}.jsonl")), title)?,
        );
    }

    let tp = from.join("topology");
    for (name, title) in [
        (
            "real-analytic",
            "Real workflows: original and chosen topology (analytic scorer)",
        ),
        (
            "real-sim",
            "Real workflows: original and chosen topology (simulation scorer)",
        ),
    ] {
        add(
            format!("topology-{name}"),
            "topology",
            topology_figure(&tp.join(format!("{name}.json")), title)?,
        );
    }
    Ok(out)
}

/// The markdown image links `](figures/NAME.svg)` / `.png` in `md`, in order.
fn figure_links(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = md;
    while let Some(i) = rest.find("](figures/") {
        let after = &rest[i + 2..];
        if let Some(end) = after.find(')') {
            let link = &after[..end];
            if link.ends_with(".svg") || link.ends_with(".png") {
                out.push(link.to_owned());
            }
        }
        rest = &rest[i + 2..];
    }
    out
}

/// Runs `faastune report`.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    if args.out.is_none() && !args.all {
        bail!("give --out DIR (the HTML report), --all (the figures in the docs), or both");
    }
    if !args.from.is_dir() {
        bail!(
            "{}: no such data directory (give --from DIR with the stored raw data)",
            args.from.display()
        );
    }
    // With --all, read every doc first, so an unknown figure name fails before anything is drawn.
    let mut wanted: Vec<(PathBuf, String)> = Vec::new();
    if args.all {
        let mut mds: Vec<PathBuf> = std::fs::read_dir(&args.docs)
            .with_context(|| format!("reading {}", args.docs.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        mds.sort();
        for md in &mds {
            let text =
                des::text::read_text(md).with_context(|| format!("reading {}", md.display()))?;
            for link in figure_links(&text) {
                wanted.push((md.clone(), link));
            }
        }
    }
    let figures = all_figures(&args.from, &args.examples)?;
    if args.all {
        for (md, link) in &wanted {
            let name = link.trim_start_matches("figures/");
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            if !figures.iter().any(|e| e.id == stem) {
                bail!(
                    "{}: embeds {link}, which no figure of `faastune report` draws (known: {})",
                    md.display(),
                    figures
                        .iter()
                        .map(|e| e.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let dir = args.docs.join("figures");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut written: Vec<&str> = Vec::new();
        for (_, link) in &wanted {
            if written.contains(&link.as_str()) {
                continue;
            }
            let name = link.trim_start_matches("figures/");
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            let e = figures
                .iter()
                .find(|e| e.id == stem)
                .expect("checked above");
            let path = dir.join(name);
            e.fig
                .write(&path)
                .with_context(|| format!("writing figure {}", path.display()))?;
            written.push(link);
        }
        outln!(
            "wrote {} figures to {} (every one embedded in {}/*.md)",
            written.len(),
            dir.display(),
            args.docs.display()
        )?;
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let sections: Vec<report::html::Section> = SECTIONS
            .iter()
            .map(|(key, title)| report::html::Section {
                title: (*title).to_owned(),
                text: None,
                figures: figures
                    .iter()
                    .filter(|e| e.section == *key)
                    .map(|e| (e.id.clone(), e.fig.clone()))
                    .collect(),
            })
            .filter(|s| !s.figures.is_empty())
            .collect();
        let html = report::html::page(
            "faastune: the evaluation in figures",
            &format!(
                "Every figure of docs/evaluation, drawn by `faastune report` from the stored raw data in {} (plans and fits re-run on the examples, seed 1), each with the table of the numbers it draws.",
                args.from.display()
            ),
            &sections,
        );
        let path = out.join("index.html");
        std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
        outln!("wrote {} ({} figures)", path.display(), figures.len())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_found() {
        let md = "x ![a](figures/a.svg) y [b](figures/b.png) ![c](other/c.svg) ![d](figures/d.txt)";
        assert_eq!(figure_links(md), vec!["figures/a.svg", "figures/b.png"]);
    }

    #[test]
    fn short_policies() {
        assert_eq!(
            short_policy("rl:/tmp/rl/c-ppo500.safetensors"),
            "rl:c-ppo500"
        );
        assert_eq!(
            short_policy("rl-sample:models/a.safetensors"),
            "rl-sample:a"
        );
        assert_eq!(short_policy("fcfs"), "fcfs");
    }

    #[test]
    fn load_names() {
        assert_eq!(load_name("poisson:5"), "steady");
        assert_eq!(load_name("diurnal:azure2019:abc:x1"), "diurnal");
        assert_eq!(
            load_name("schedule:bench/scenarios/burst-after-idle.txt"),
            "burst-after-idle.txt"
        );
    }
}
