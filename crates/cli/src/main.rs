//! The `faastune` binary: argument parsing, files, output tables and JSON, wiring of the library crates.
//! Each subcommand lives in its own `cmd_*.rs` module with a clap `Args` struct and a `run` function.

use clap::{Parser, Subcommand};

mod cmd_bench;
mod cmd_demo;
mod cmd_import;
mod cmd_simulate;
mod cmd_validate;
mod table;

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
        Command::Bench(a) => cmd_bench::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
