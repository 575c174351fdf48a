//! `faastune demo`: the main job on the built-in simulator, with nothing to download or configure.
//! Loads the embedded video pipeline (StepConf's 5-step example) and simulates it under its static
//! configuration.

use anyhow::Context;
use platform::{Arrivals, Platform, SimOptions, Simulation, StaticConfig, StaticPolicy};
use workflow::Workflow;

use crate::cmd_simulate::render_report;

const VIDEO_YAML: &str = include_str!("../../../examples/video.yaml");
const VIDEO_CONFIG_YAML: &str = include_str!("../../../examples/video.config.yaml");

/// Arguments of `faastune demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Requests to simulate.
    #[arg(long, default_value_t = 200)]
    pub requests: u64,
    /// Root seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let wf = Workflow::from_str_auto(VIDEO_YAML, "examples/video.yaml").context("embedded video workflow")?;
    let platform = Platform::lambda();
    let configs = StaticConfig::from_str_auto(VIDEO_CONFIG_YAML, "examples/video.config.yaml")
        .and_then(|c| c.resolve(&wf, &platform, "examples/video.config.yaml"))
        .context("embedded video config")?;
    let rate = 0.5;
    let opts = SimOptions {
        n_requests: args.requests,
        arrivals: Arrivals::Poisson { rate_per_s: rate },
        seed: args.seed,
        slo_s: None,
        keep_records: false,
    };
    let report = Simulation::new(&wf, &platform, opts)?.run(&mut StaticPolicy::new("static-config", configs.clone()))?;
    println!("faastune demo: the video pipeline (examples/video.yaml) on the built-in Lambda-like simulator\n");
    print!("{}", render_report(&report, &wf, Some(&configs), "examples/video.config.yaml", rate));
    Ok(())
}
