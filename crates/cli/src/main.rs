//! The `faastune` binary: argument parsing, files, output tables and JSON, wiring of the library crates.
//! Each subcommand lives in its own `cmd_*.rs` module with a clap `Args` struct and a `run` function.

use std::io::Write as _;

use clap::{Parser, Subcommand};

/// `print!` to standard output that returns the `io::Result` instead of panicking when the reader has
/// gone (`faastune ... | head -1`): call it with `?`, and `main` ends quietly on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `println!` that returns the `io::Result`; see `out!`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod bounds;
mod cmd_alloc;
#[cfg(feature = "gnn")]
mod cmd_autoflow;
#[cfg(feature = "aws")]
mod cmd_aws;
mod cmd_bench;
#[cfg(feature = "gnn")]
mod cmd_bench_gnn;
mod cmd_bench_topology;
mod cmd_compare;
mod cmd_demo;
mod cmd_fit;
mod cmd_import;
mod cmd_plan;
mod cmd_report;
mod cmd_reshape;
#[cfg(feature = "serve")]
mod cmd_serve;
mod cmd_simulate;
mod cmd_sweep;
#[cfg(feature = "gnn")]
mod cmd_train;
#[cfg(feature = "gnn")]
mod cmd_train_topology;
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
    /// Rank alternative topologies of a workflow (fuse, parallelize, batch, shard) and verify them.
    Reshape(cmd_reshape::ReshapeArgs),
    /// Train a learned allocation policy (GNN + REINFORCE/A3C/PPO, or DQN) or the topology scorer.
    #[cfg(feature = "gnn")]
    Train(Box<cmd_train::TrainArgs>),
    /// Train a learned allocation policy (this binary was built without the `gnn` feature: see the
    /// error it prints).
    #[cfg(not(feature = "gnn"))]
    Train {
        /// Arguments, ignored.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// AutoFlow's feedback loop: the resource agent on the monitoring stream, beside the baselines.
    #[cfg(feature = "gnn")]
    Autoflow(cmd_autoflow::AutoflowArgs),
    /// Every figure of the evaluation: one self-contained HTML page (--out) and the docs' figures
    /// in place (--all), from the stored raw data.
    Report(cmd_report::ReportArgs),
    /// Benchmarks that write results (see bench/).
    #[command(subcommand)]
    Bench(cmd_bench::BenchCommand),
    /// The decision service: StepConf's dynamic per-step configurator over HTTP for real executions.
    #[cfg(feature = "serve")]
    Serve(Box<cmd_serve::ServeArgs>),
    /// The decision service (this binary was built without the `serve` feature: see the error it
    /// prints).
    #[cfg(not(feature = "serve"))]
    Serve {
        /// Arguments, ignored.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// AWS Lambda + Step Functions: import, profile, deploy a plan, export the definition.
    #[cfg(feature = "aws")]
    Aws(cmd_aws::AwsArgs),
    /// AWS Lambda + Step Functions (this binary was built without the `aws` feature: see the error it
    /// prints).
    #[cfg(not(feature = "aws"))]
    Aws {
        /// Arguments, ignored.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
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
        Command::Reshape(a) => cmd_reshape::run(a),
        Command::Report(a) => cmd_report::run(a),
        Command::Bench(a) => cmd_bench::run(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => cmd_serve::run(*a),
        #[cfg(not(feature = "serve"))]
        Command::Serve { .. } => Err(anyhow::anyhow!(
            "faastune was built without the `serve` feature (it adds an HTTP server and a Redis \
             client); run: cargo build --release -p faastune --features serve"
        )),
        #[cfg(feature = "aws")]
        Command::Aws(a) => cmd_aws::run(a),
        #[cfg(not(feature = "aws"))]
        Command::Aws { .. } => Err(anyhow::anyhow!(
            "faastune was built without the `aws` feature (it adds the AWS SDK); run: \
             cargo build --release -p faastune --features aws"
        )),
        #[cfg(feature = "gnn")]
        Command::Train(a) => cmd_train::run(*a),
        #[cfg(feature = "gnn")]
        Command::Autoflow(a) => cmd_autoflow::run(a),
        #[cfg(not(feature = "gnn"))]
        Command::Train { .. } => Err(anyhow::anyhow!(
            "faastune was built without the `gnn` feature (it adds the ML framework); run: \
             cargo run --release --features gnn -- train --scenario deeprm --algo ppo --out FILE"
        )),
    };
    let result = result.and_then(|()| std::io::stdout().flush().map_err(anyhow::Error::from));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of standard output has gone (`| head -1`): what it wanted was written; end
        // quietly, as `cat` and ripgrep do.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Standard error may be closed too; there is nowhere left to report that.
            let _ = writeln!(std::io::stderr(), "error: {}", error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether the error comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes joined by `: `, each cause once: library errors that name their source
/// in their message (`cannot read FILE: No such file or directory`) also return it as `source()`,
/// so a cause whose text the previous message already contains is skipped.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    let mut previous = String::new();
    for cause in e.chain() {
        let message = cause.to_string();
        if !previous.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        previous = message;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_prints_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let lib = platform::Error::Io {
            path: "p.yaml".into(),
            source: io,
        };
        let e = anyhow::Error::new(lib).context("loading platform profile p.yaml");
        assert_eq!(
            error_text(&e),
            "loading platform profile p.yaml: cannot read p.yaml: no such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_text(&plain), "outer: inner");
    }
}
