//! `faastune import --from asl|workflowhub|sebs FILE [--out FILE]`: converts a workflow from another
//! format into the native YAML (or JSON), recording the assumptions made in its `description`.

use std::path::PathBuf;

use anyhow::Context;
use workflow::import::{Format, ImportOptions, import_file};

/// Import a workflow from another format (asl, workflowhub, sebs, faasflow) and write the native
/// YAML; every assumption made is recorded in its `description`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// Source format: `asl` (AWS Step Functions), `workflowhub` (WorkflowHub/WfCommons instance, schemas
    /// 1.0-1.5) `sebs` (SeBS-Flow definition.json) or
    /// `faasflow` (FaaSFlow flat_workflow.yaml).
    #[arg(long = "from", value_name = "FORMAT")]
    pub from: Format,
    /// The file to import.
    pub file: PathBuf,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write JSON instead of YAML.
    #[arg(long)]
    pub json: bool,
    /// Workflow name (default: the file name without extension).
    #[arg(long)]
    pub name: Option<String>,
    /// Single-core seconds per job for tasks the format does not size (asl, sebs).
    #[arg(long, value_name = "SECONDS", default_value_t = ImportOptions::default().work_s)]
    pub work_s: f64,
    /// Jobs per task execution for tasks the format does not size (asl, sebs).
    #[arg(long, default_value_t = ImportOptions::default().jobs)]
    pub jobs: u32,
    /// Items of the array a Map or SeBS loop iterates over (asl, sebs).
    #[arg(long, default_value_t = ImportOptions::default().items)]
    pub items: u32,
    /// Memory one worker needs, MB, for every task (default: the native default, 128).
    #[arg(long, value_name = "MB")]
    pub memory_mb_per_worker: Option<u32>,
    /// End-to-end SLO to write into the workflow, seconds.
    #[arg(long, value_name = "SECONDS")]
    pub slo_s: Option<f64>,
    /// WorkflowHub: one step per job instead of one fan-out step per group of alike jobs.
    #[arg(long)]
    pub per_job: bool,
}

/// Imports the file and writes the native format.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let opts = ImportOptions {
        name: args.name,
        work_s: args.work_s,
        jobs: args.jobs,
        items: args.items,
        memory_mb_per_worker: args.memory_mb_per_worker,
        group_jobs: !args.per_job,
        slo_s: args.slo_s,
    };
    let spec = import_file(args.from, &args.file, &opts)
        .with_context(|| format!("importing {} as {}", args.file.display(), args.from))?;
    let text = if args.json {
        spec.to_json() + "\n"
    } else {
        spec.to_yaml()
    };
    match &args.out {
        Some(out) => {
            std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "imported {} ({}) into {} steps: {}",
                args.file.display(),
                args.from,
                spec.steps.len(),
                out.display()
            );
        }
        None => out!("{text}")?,
    }
    Ok(())
}
