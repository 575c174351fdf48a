//! The `faastune` binary: argument parsing, files, output tables and JSON, wiring of the library crates.
//! Each subcommand lives in its own `cmd_*.rs` module with a clap `Args` struct and a `run` function.

use clap::{Parser, Subcommand};

mod cmd_alloc;
mod cmd_bench;
#[cfg(feature = "gnn")]
mod cmd_bench_gnn;
mod cmd_compare;
mod cmd_demo;
mod cmd_fit;
mod cmd_import;
mod cmd_plan;
mod cmd_simulate;
mod cmd_sweep;
#[cfg(feature = "gnn")]
mod cmd_train;
mod cmd_validate;
mod predictor;
mod table;
mod timed;

/// faastune: make serverless workflows cheap and on time.
#[derive(Parser)]
#[command(name = "faastune", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job on the built-in simulator and print a table.
    Demo(cmd_demo::DemoArgs),
    /// Check a workflow file and report every problem with its place.
    Validate(cmd_validate::ValidateArgs),
    /// Import a workflow from another format and write the native YAML.
    Import(cmd_import::ImportArgs),
    /// Simulate many requests of a workflow under a per-step configuration.
    Simulate(cmd_simulate::SimulateArgs),
    /// Fit StepConf's performance model (Eq. 1) to samples, a .dot perf profile, or simulator profiling.
    Fit(cmd_fit::FitArgs),
    /// Explain the configuration a policy chooses for every step at an SLO.
    Plan(cmd_plan::PlanArgs),
    /// Run every configuration policy on the same request stream and compare them.
    Compare(cmd_compare::CompareArgs),
    /// Cost against SLO for every policy, and savings against no-no.
    Sweep(cmd_sweep::SweepArgs),
    /// Replay workloads against allocation and keep-alive policies (DeepRM or serverless mode).
    Alloc(cmd_alloc::AllocArgs),
    /// Train a learned allocation policy (GNN + REINFORCE/A3C/PPO, or DQN) and write a checkpoint.
    #[cfg(feature = "gnn")]
    Train(cmd_train::TrainArgs),
    /// Train a learned allocation policy (this binary was built without the `gnn` feature: see the
    /// error it prints).
    #[cfg(not(feature = "gnn"))]
    Train {
        /// Arguments, ignored.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks that write results (see bench/).
    #[command(subcommand)]
    Bench(cmd_bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => cmd_demo::run(a),
        Command::Validate(a) => cmd_validate::run(a),
        Command::Import(a) => cmd_import::run(a),
        Command::Simulate(a) => cmd_simulate::run(a),
        Command::Fit(a) => cmd_fit::run(a),
        Command::Plan(a) => cmd_plan::run(a),
        Command::Compare(a) => cmd_compare::run(a),
        Command::Sweep(a) => cmd_sweep::run(a),
        Command::Alloc(a) => cmd_alloc::run(a),
        Command::Bench(a) => cmd_bench::run(a),
        #[cfg(feature = "gnn")]
        Command::Train(a) => cmd_train::run(a),
        #[cfg(not(feature = "gnn"))]
        Command::Train { .. } => Err(anyhow::anyhow!(
            "faastune was built without the `gnn` feature (it adds the ML framework); run: \
             cargo run --release --features gnn -- train --scenario deeprm --algo ppo --out FILE"
        )),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
