//! `faastune bench topology`: how well topology scorers rank candidates against the simulator
//! (Kendall's tau on held-out generated workflows, top-1 regret against exhaustive enumeration under
//! two pricing models, candidates scored per second) and what reshaping gains on real workflows.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use topology::dataset::{DatasetOptions, build_dataset};
use topology::evaluation::{
    RankingQuality, RealCase, RegretCase, Summary, default_slo, ranking_quality, real_case,
    regret_case,
};
use topology::generate::GenOptions;
use topology::objective::EvalOptions;
use topology::search::{BeamOptions, Scorer};
use topology::transform::CandidateOptions;
use workflow::Workflow;
use workflow::import::{Format, ImportOptions, import_file};

use crate::cmd_simulate::load_platform;
use crate::table::{Table, pct, usd};

/// Arguments of `faastune bench topology`.
#[derive(clap::Args, Debug)]
pub struct BenchTopologyArgs {
    /// Scorers to measure, comma-separated: analytic, sim, gnn:FILE.
    #[arg(long, value_delimiter = ',', default_value = "analytic")]
    pub scorers: Vec<String>,
    /// Held-out generated workflows (indices from 1,000,000: never used in training).
    #[arg(long, default_value_t = 30)]
    pub heldout: usize,
    /// Most candidates per held-out workflow.
    #[arg(long, default_value_t = 24)]
    pub max_candidates: usize,
    /// Generated workflows of at most 8 steps for the regret measurement (per pricing model).
    #[arg(long, default_value_t = 8)]
    pub regret: usize,
    /// Transforms deep for the regret measurement (enumeration and beam search alike).
    #[arg(long, default_value_t = 2)]
    pub regret_depth: usize,
    /// The second pricing model's platform profile (the first is the built-in x86 one).
    #[arg(long, default_value = "bench/profiles/lambda-arm64.yaml")]
    pub second_platform: PathBuf,
    /// Real workflows: `asl:FILE`, `sebs:FILE`, `workflowhub:FILE` or a native workflow file.
    #[arg(long, value_delimiter = ',')]
    pub real: Vec<String>,
    /// Arrival rate of the real workflows, requests per second.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Requests simulated per candidate.
    #[arg(long, default_value_t = 100)]
    pub requests: u64,
    /// Root seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the JSON result to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
struct RegretReport {
    platform: String,
    cases: Vec<RegretCase>,
    per_scorer: Vec<(String, Summary, f64)>,
}

#[derive(Serialize)]
struct Output {
    seed: u64,
    requests_per_candidate: u64,
    heldout_workflows: usize,
    heldout_candidates: usize,
    heldout_ground_truth_s: f64,
    ranking: Vec<RankingQuality>,
    sim_candidates_per_s: f64,
    regret: Vec<RegretReport>,
    real_rate_per_s: f64,
    real: Vec<RealCase>,
    real_cheaper: usize,
    real_cheaper_strict: usize,
    command: String,
}

fn make_scorer(spec: &str, opts: &EvalOptions) -> anyhow::Result<Box<dyn Scorer>> {
    crate::cmd_reshape::build_scorer(spec, opts).with_context(|| "--scorers".to_string())
}

/// Reads `asl:FILE`, `sebs:FILE`, `workflowhub:FILE` or a native file.
pub fn load_real(spec: &str) -> anyhow::Result<Workflow> {
    if let Some((fmt, path)) = spec.split_once(':')
        && let Ok(format) = fmt.parse::<Format>()
    {
        let s = import_file(format, Path::new(path), &ImportOptions::default())
            .with_context(|| format!("importing {spec}"))?;
        return Workflow::from_spec(&s, path).with_context(|| format!("importing {spec}"));
    }
    crate::cmd_simulate::load_workflow(Path::new(spec))
}

fn now(start: &Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// Runs `faastune bench topology`.
pub fn run(args: BenchTopologyArgs) -> anyhow::Result<()> {
    use crate::bounds::{check_count, check_f64};
    check_count("--heldout", args.heldout as u64, 0, 100_000)?;
    check_count("--regret", args.regret as u64, 0, 10_000)?;
    check_count("--regret-depth", args.regret_depth as u64, 1, 3)?;
    check_count("--requests", args.requests, 1, 1_000_000)?;
    check_f64("--rate", args.rate, 1e-6, platform::limits::RATE_PER_S_MAX)?;
    let command = format!(
        "faastune {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    // Wall clock: scoring speed only; every other output is determined by the seed.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let x86 = load_platform(None)?;
    let second = load_platform(Some(&args.second_platform))?;
    let candidates = CandidateOptions::default();

    // Held-out ranking quality.
    let mut data = DatasetOptions::new(x86.clone());
    data.n_workflows = args.heldout;
    data.max_candidates = args.max_candidates;
    data.n_requests = args.requests;
    data.seed = args.seed;
    let t0 = now(&start);
    let groups = build_dataset(&data, 1_000_000, &mut |done, total| {
        eprint!("\rheld-out ground truth {done}/{total}");
    })?;
    eprintln!();
    let truth_s = now(&start) - t0;
    let n_cands: usize = groups.iter().map(|g| g.samples.len()).sum();
    let mut ranking = Vec::new();
    for spec in &args.scorers {
        // Each group has its own SLO and load: score it with a scorer made for them.
        let mut per_group = Vec::new();
        let mut secs = 0.0;
        let mut n = 0usize;
        for g in &groups {
            let mut e = EvalOptions::new(x86.clone(), g.slo_s, g.rate_per_s);
            e.n_requests = args.requests;
            let mut s = make_scorer(spec, &e)?;
            let mut clock = || now(&start);
            let q = ranking_quality(s.as_mut(), std::slice::from_ref(g), &mut clock)?;
            secs += g.samples.len() as f64 / q.candidates_per_s;
            n += g.samples.len();
            per_group.push(q);
        }
        let taus: Vec<f64> = per_group.iter().map(|q| q.kendall_tau.mean).collect();
        let regrets: Vec<f64> = per_group.iter().map(|q| q.top1_regret.mean).collect();
        ranking.push(RankingQuality {
            scorer: per_group.first().map_or(spec.clone(), |q| q.scorer.clone()),
            kendall_tau: Summary::of(&taus),
            top1_regret: Summary::of(&regrets),
            top1_within_5pct: regrets.iter().filter(|&&r| r <= 0.05).count() as f64
                / regrets.len().max(1) as f64,
            candidates_per_s: if secs > 0.0 {
                n as f64 / secs
            } else {
                f64::INFINITY
            },
        });
    }
    let sim_per_s = if truth_s > 0.0 {
        n_cands as f64 / truth_s
    } else {
        f64::INFINITY
    };

    // Regret against exhaustive enumeration, under two pricing models.
    let mut regret = Vec::new();
    for platform in [&x86, &second] {
        let gen_opts = GenOptions {
            max_steps: 8,
            ..GenOptions::default()
        };
        let mut cases = Vec::new();
        for k in 0..args.regret as u64 {
            let wf = topology::generate::generate(&gen_opts, args.seed, 2_000_000 + k);
            let slo = wf.slo_s.unwrap_or(60.0);
            let mut e = EvalOptions::new(platform.clone(), slo, args.rate);
            e.n_requests = args.requests;
            e.seed = args.seed;
            let mut scorers: Vec<Box<dyn Scorer>> = args
                .scorers
                .iter()
                .map(|s| make_scorer(s, &e))
                .collect::<anyhow::Result<_>>()?;
            match regret_case(
                &wf,
                &e,
                args.regret_depth,
                4,
                &candidates,
                &mut scorers,
                5_000,
            ) {
                Ok(c) => cases.push(c),
                Err(err) => eprintln!("regret: {} skipped: {err}", wf.name),
            }
            eprint!("\rregret {} {}/{}", platform.name(), k + 1, args.regret);
        }
        eprintln!();
        let per_scorer = args
            .scorers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let r: Vec<f64> = cases.iter().map(|c| c.chosen[i].2).collect();
                let within =
                    r.iter().filter(|&&x| x <= 0.05).count() as f64 / r.len().max(1) as f64;
                (s.clone(), Summary::of(&r), within)
            })
            .collect();
        regret.push(RegretReport {
            platform: platform.name().to_owned(),
            cases,
            per_scorer,
        });
    }

    // Real workflows.
    let mut real = Vec::new();
    for spec in &args.real {
        let wf = load_real(spec)?;
        let probe = EvalOptions::new(x86.clone(), 1.0, args.rate);
        let slo = match wf.slo_s {
            Some(s) => s,
            None => default_slo(&wf, &probe, 1.5)?,
        };
        let mut e = EvalOptions::new(x86.clone(), slo, args.rate);
        e.n_requests = args.requests;
        e.seed = args.seed;
        let mut s = make_scorer(&args.scorers[args.scorers.len() - 1], &e)?;
        let beam = BeamOptions::default();
        match real_case(&wf, spec, &e, s.as_mut(), &beam, 5) {
            Ok(c) => real.push(c),
            Err(err) => eprintln!("real: {spec} skipped: {err}"),
        }
    }
    let real_cheaper = real.iter().filter(|c| c.cheaper).count();
    let real_cheaper_strict = real.iter().filter(|c| c.cheaper_strict).count();

    let out = Output {
        seed: args.seed,
        requests_per_candidate: args.requests,
        heldout_workflows: groups.len(),
        heldout_candidates: n_cands,
        heldout_ground_truth_s: truth_s,
        ranking,
        sim_candidates_per_s: sim_per_s,
        regret,
        real_rate_per_s: args.rate,
        real,
        real_cheaper,
        real_cheaper_strict,
        command,
    };
    let json = serde_json::to_string_pretty(&out)?;
    if let Some(p) = &args.out {
        std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
    }
    let mut t = Table::new([
        "scorer",
        "Kendall tau (mean)",
        "median",
        "top-1 regret (median)",
        "top-1 within 5%",
        "candidates/s",
    ]);
    for q in &out.ranking {
        t.row([
            q.scorer.clone(),
            format!("{:.3}", q.kendall_tau.mean),
            format!("{:.3}", q.kendall_tau.median),
            pct(q.top1_regret.median),
            pct(q.top1_within_5pct),
            format!("{:.0}", q.candidates_per_s),
        ]);
    }
    outln!(
        "held-out: {} workflows, {} candidates; simulator ground truth {:.0} candidates/s\n",
        out.heldout_workflows,
        out.heldout_candidates,
        out.sim_candidates_per_s
    )?;
    out!("{}", t.render())?;
    for r in &out.regret {
        for (s, sum, within) in &r.per_scorer {
            outln!(
                "regret on {} ({} workflows of <= 8 steps, depth {}): {s}: median {}, mean {}, max {}, within 5% {}",
                r.platform,
                r.cases.len(),
                args.regret_depth,
                pct(sum.median),
                pct(sum.mean),
                pct(sum.max),
                pct(*within)
            )?;
        }
    }
    if !out.real.is_empty() {
        let mut t = Table::new([
            "workflow",
            "steps",
            "chosen",
            "cost/request",
            "original",
            "SLO met",
            "original",
            "cheaper",
        ]);
        for c in &out.real {
            t.row([
                c.workflow.clone(),
                c.n_steps.to_string(),
                if c.chosen.is_empty() {
                    "(original)".into()
                } else {
                    c.chosen.join(" ; ")
                },
                usd(c.chosen_measured.cost_usd_per_request),
                usd(c.original.cost_usd_per_request),
                pct(c.chosen_measured.slo_attainment),
                pct(c.original.slo_attainment),
                match (c.cheaper, c.cheaper_strict) {
                    (true, true) => "yes",
                    (true, false) => "yes (uses headroom)",
                    _ => "no",
                }
                .into(),
            ]);
        }
        outln!("\nreal workflows at {}/s:", args.rate)?;
        out!("{}", t.render())?;
        outln!(
            "{} of {} real workflows: a topology the simulator confirms cheaper at the same SLO attainment target; {} also within one point of the original's attainment",
            out.real_cheaper,
            out.real.len(),
            out.real_cheaper_strict
        )?;
    }
    Ok(())
}
