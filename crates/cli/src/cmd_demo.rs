//! `faastune demo`: the main job on the built-in simulator, with nothing to download or configure.
//! Loads the embedded video pipeline (StepConf's 5-step example), plans it with our `replan` policy
//! at its 30 s SLO, and compares every configuration policy on the same request stream.

use anyhow::Context;
use platform::{Platform, SimOptions};
use workflow::Workflow;

use crate::cmd_compare::{all_policies, render_rows, run_policy};
use crate::cmd_plan::render_plan;
use crate::predictor::{ModelArgs, prepare_simulation, render_calibration};

const VIDEO_YAML: &str = include_str!("../../../examples/video.yaml");

/// Arguments of `faastune demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Requests to simulate per policy.
    #[arg(long, default_value_t = 200)]
    pub requests: u64,
    /// End-to-end SLO, seconds.
    #[arg(long, default_value_t = 30.0)]
    pub slo: f64,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Also report wall-clock decision times; without this flag the output is byte-identical for the
    /// same seed.
    #[arg(long)]
    pub timings: bool,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    crate::bounds::check_slo("--slo", args.slo)?;
    crate::bounds::check_count(
        "--requests",
        args.requests,
        1,
        platform::limits::REQUESTS_MAX,
    )?;
    let wf = Workflow::from_str_auto(VIDEO_YAML, "examples/video.yaml")
        .context("embedded video workflow")?;
    let platform = Platform::lambda();
    let prepared = prepare_simulation(&args.model, &wf, &platform)?;
    // With a model file the policies run on the calibrated workflow (same names, structure, ids).
    let wf = &prepared.workflow;
    let predictor = &prepared.predictor;
    outln!(
        "faastune demo: the video pipeline (examples/video.yaml) on the built-in Lambda-like simulator\n"
    )?;
    if let Some(c) = &prepared.calibration {
        outln!("{}", render_calibration(c))?;
    }
    let plan = optimizer::plan(wf, &platform, predictor.as_ref(), args.slo, "replan")
        .context("planning the video workflow")?;
    out!(
        "{}",
        render_plan(&plan, wf, &args.model.label(), args.model.seed)
    )?;
    let rate = 0.5;
    outln!(
        "\nevery policy on the same {} requests (Poisson, {rate}/s, seed {}), SLO {} s:\n",
        args.requests,
        args.model.seed,
        args.slo
    )?;
    let opts = SimOptions {
        n_requests: args.requests,
        arrivals: platform::Arrivals::Poisson { rate_per_s: rate },
        seed: args.model.seed,
        slo_s: Some(args.slo),
        keep_records: false,
        ..SimOptions::default()
    };
    let mut rows = Vec::new();
    for name in all_policies() {
        rows.push(
            run_policy(
                &name,
                wf,
                &platform,
                predictor.as_ref(),
                args.slo,
                &opts,
                args.timings,
            )?
            .0,
        );
    }
    out!("{}", render_rows(&rows))?;
    Ok(())
}
