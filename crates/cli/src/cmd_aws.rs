//! `faastune aws`: the real-platform loop of StepConf on AWS Lambda and Step Functions (the `aws`
//! crate): `import` a state machine, `profile` its functions, (`fit` and `plan` as usual), `deploy` the
//! plan as aliases and a rewritten definition, or `export-asl` the definition for other deploy tools.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use aws::plan::{FunctionNow, PlanFile};
use aws::session::{Session, Settings};
use workflow::import::ImportOptions;

/// Where and as whom to call AWS (the standard configuration otherwise).
#[derive(clap::Args, Debug)]
pub struct AwsArgs {
    /// Named profile of the AWS config files (default: AWS_PROFILE, else `default`).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Region (default: AWS_REGION, else the profile's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Endpoint of every AWS service (a local API server); default: AWS_ENDPOINT_URL, else AWS's.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    #[command(subcommand)]
    pub command: AwsCommand,
}

/// `faastune aws` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AwsCommand {
    /// Import a state machine as a workflow, with each function's memory, timeout and architecture.
    Import(ImportArgs),
    /// Profile each function at each memory size (and worker count) and write the samples `fit` reads.
    Profile(ProfileArgs),
    /// Deploy a plan: aliases per configuration, Tasks pointed at them, Map MaxConcurrency = fan-out.
    Deploy(DeployArgs),
    /// Write a state machine's definition rewritten for a plan (deploy it with SAM, CDK, Terraform), or
    /// with `--dynamic`, for run-time configuration by the configurator (StepConf's dynamic mode).
    ExportAsl(ExportArgs),
}

/// Arguments of `faastune aws import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The state machine's ARN.
    #[arg(long, value_name = "ARN")]
    pub state_machine: String,
    /// Write the workflow here (YAML) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Single-core seconds per job of each task (ASL does not say).
    #[arg(long, value_name = "SECONDS", default_value_t = ImportOptions::default().work_s)]
    pub work_s: f64,
    /// Items of the arrays Map states iterate over.
    #[arg(long, default_value_t = ImportOptions::default().items)]
    pub items: u32,
    /// End-to-end SLO to write into the workflow, seconds.
    #[arg(long, value_name = "SECONDS")]
    pub slo_s: Option<f64>,
}

/// Arguments of `faastune aws profile`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["workflow", "functions"])))]
pub struct ProfileArgs {
    /// Profile every function of this workflow (its task steps' `function`, else their names).
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    /// Or these functions.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub functions: Vec<String>,
    /// Memory sizes, MB (128 to 10,240).
    #[arg(long, value_delimiter = ',', required = true, value_name = "MB,...")]
    pub memory: Vec<u32>,
    /// Worker counts (passed as FAASTUNE_WORKERS; see crates/aws/worker-py).
    #[arg(long, value_delimiter = ',', default_value = "1", value_name = "N,...")]
    pub workers: Vec<u32>,
    /// Warm runs per configuration.
    #[arg(long, default_value_t = 5)]
    pub reps: u32,
    /// JSON payload of every invocation (default `{}`); its `items` array's length is the jobs column.
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,
    /// Samples CSV for `faastune fit --samples` (mean warm duration per configuration).
    #[arg(long, value_name = "FILE", required_unless_present = "dry_run")]
    pub out: Option<PathBuf>,
    /// Every run (REPORT fields, cold or warm, outcome); default: OUT with `.runs.csv`.
    #[arg(long, value_name = "FILE")]
    pub runs: Option<PathBuf>,
    /// Print the configurations and the estimated cost, invoke nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the profiling aliases and versions (default: removed at the end).
    #[arg(long)]
    pub keep_aliases: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `faastune aws deploy`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["plan", "dynamic"])))]
pub struct DeployArgs {
    /// The plan (`faastune plan --json`): a static configuration.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Instead of a plan: StepConf at run time. Publishes an alias for every configuration the
    /// configurator may choose (the optimizer's memory sizes times its worker counts) on every function
    /// of the state machine, and replaces the definition by `export-asl --dynamic`'s.
    #[arg(long, requires = "configurator")]
    pub dynamic: bool,
    /// The configurator (with --dynamic): a Lambda function (ARN or name: `faastune-configurator`) or the
    /// base URL of `faastune serve` (needs `--connection-arn`).
    #[arg(long, value_name = "ARN|URL", requires = "dynamic")]
    pub configurator: Option<String>,
    /// The EventBridge connection an HTTP configurator is called with.
    #[arg(long, value_name = "ARN", requires = "dynamic")]
    pub connection_arn: Option<String>,
    /// The workflow name the configurator serves (default: the state machine's name).
    #[arg(long, requires = "dynamic")]
    pub workflow_name: Option<String>,
    /// The state machine's ARN.
    #[arg(long, value_name = "ARN")]
    pub state_machine: String,
    /// Make the changes (default: print the diff and change nothing).
    #[arg(long)]
    pub apply: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `faastune aws export-asl`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["state_machine", "definition"])))]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["plan", "dynamic"])))]
pub struct ExportArgs {
    /// The plan (`faastune plan --json`): a static configuration.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Instead of a plan: a configurator Task before each function step decides its configuration at
    /// run time (`--configurator`).
    #[arg(long, requires = "configurator")]
    pub dynamic: bool,
    /// The configurator: a Lambda function (ARN or name, the `faastune-configurator` handler) or the
    /// base URL of `faastune serve` (called through an HTTP Task; needs `--connection-arn`).
    #[arg(long, value_name = "ARN|URL")]
    pub configurator: Option<String>,
    /// The EventBridge connection an HTTP configurator is called with.
    #[arg(long, value_name = "ARN")]
    pub connection_arn: Option<String>,
    /// The workflow name the configurator serves (default: the state machine's name, or the file's stem).
    #[arg(long)]
    pub workflow_name: Option<String>,
    /// Read the definition from this state machine.
    #[arg(long, value_name = "ARN")]
    pub state_machine: Option<String>,
    /// Or from this file (no AWS call).
    #[arg(long, value_name = "FILE")]
    pub definition: Option<PathBuf>,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `faastune aws`.
pub fn run(args: AwsArgs) -> anyhow::Result<()> {
    let settings = Settings {
        profile: args.profile,
        region: args.region,
        endpoint_url: args.endpoint_url,
    };
    let session = || Session::new(&settings).context("configuring the AWS clients");
    match args.command {
        AwsCommand::Import(a) => import(&session()?, a),
        AwsCommand::Profile(a) => profile(&session, a),
        AwsCommand::Deploy(a) => deploy(&session()?, a),
        AwsCommand::ExportAsl(a) => export(&session, a),
    }
}

fn import(s: &Session, a: ImportArgs) -> anyhow::Result<()> {
    let opts = ImportOptions {
        work_s: a.work_s,
        items: a.items,
        slo_s: a.slo_s,
        ..ImportOptions::default()
    };
    let imported = aws::import::import_state_machine(s, &a.state_machine, &opts)
        .with_context(|| format!("importing state machine {}", a.state_machine))?;
    let text = imported.spec.to_yaml();
    match &a.out {
        Some(out) => {
            std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "imported state machine {} ({} steps) into {}",
                imported.machine,
                imported.spec.steps.len(),
                out.display()
            );
        }
        None => out!("{text}")?,
    }
    for f in &imported.functions {
        eprintln!(
            "  function {}: {} MB, timeout {} s, {}",
            f.name, f.memory_mb, f.timeout_s, f.architecture
        );
    }
    Ok(())
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn profile(session: &dyn Fn() -> anyhow::Result<Session>, a: ProfileArgs) -> anyhow::Result<()> {
    // Functions and a duration guess per function from the workflow (work at one vCPU, scaled by
    // Lambda's 1 vCPU per 1,769 MB) for the expected-cost line.
    let mut names: Vec<String> = a.functions.clone();
    let mut guess: Vec<(String, f64)> = Vec::new();
    if let Some(path) = &a.workflow {
        let wf = crate::cmd_simulate::load_workflow(path)?;
        for step in wf.steps() {
            if step.kind != workflow::StepKind::Task {
                continue;
            }
            let f = step.function.clone();
            if !names.contains(&f) {
                guess.push((f.clone(), step.work_s * f64::from(step.jobs)));
                names.push(f);
            }
        }
        if names.is_empty() {
            bail!(
                "{}: the workflow has no task step to profile",
                path.display()
            );
        }
    }
    let payload = match &a.payload {
        Some(p) => {
            let bytes = read_file(p)?;
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .with_context(|| format!("{}: the payload is not JSON", p.display()))?;
            bytes
        }
        None => b"{}".to_vec(),
    };
    let jobs = serde_json::from_slice::<serde_json::Value>(&payload)
        .ok()
        .and_then(|v| v.get("items").and_then(|i| i.as_array()).map(|i| i.len()))
        .map_or(1, |n| n.max(1) as u32);
    let s = session()?;
    let mut functions: Vec<FunctionNow> = Vec::new();
    for n in &names {
        functions.push(
            s.function_now(n)
                .with_context(|| format!("reading function {n}"))?,
        );
    }
    let spec = aws::profile::ProfileSpec {
        functions,
        memory: a.memory.clone(),
        workers: a.workers.clone(),
        reps: a.reps,
        payload,
        jobs,
        keep_aliases: a.keep_aliases,
    };
    spec.check()?;
    let (max_usd, exp_usd) = spec.estimate_usd(&|f, m| {
        let work = guess.iter().find(|(n, _)| n == f).map_or(1.0, |(_, w)| *w);
        work / (f64::from(m) / 1769.0).min(1.0)
    });
    eprintln!(
        "profiling {} configurations ({} functions x {} memory sizes x {} worker counts), at most {} \
         invocations: estimated {:.4} USD (at most {:.4} USD if every run hits its timeout)",
        spec.configurations().len(),
        spec.functions.len(),
        spec.memory.len(),
        spec.workers.len(),
        spec.max_invocations(),
        exp_usd,
        max_usd
    );
    if a.dry_run {
        for t in spec.configurations() {
            outln!(
                "{} {} MB {} workers -> alias {}",
                t.function,
                t.memory_mb,
                t.workers,
                t.alias
            )?;
        }
        return Ok(());
    }
    let out = a
        .out
        .clone()
        .expect("clap requires --out without --dry-run");
    let runs_path = a
        .runs
        .clone()
        .unwrap_or_else(|| out.with_extension("runs.csv"));
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(spec.max_invocations())
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} invocations {msg}")
            .expect("a valid template"),
    );
    let result = aws::profile::profile(&s, &spec, &mut |done, _, what| {
        bar.set_position(done);
        bar.set_message(what.to_owned());
    });
    bar.finish_and_clear();
    let p = result.context("profiling (every alias and version it made was removed)")?;
    let mut buf = Vec::new();
    p.write_samples(&mut buf, spec.jobs)?;
    std::fs::write(&out, &buf).with_context(|| format!("writing {}", out.display()))?;
    let mut buf = Vec::new();
    p.write_runs(&mut buf)?;
    std::fs::write(&runs_path, &buf).with_context(|| format!("writing {}", runs_path.display()))?;
    for c in &p.configs {
        match &c.result {
            Ok(d) => outln!(
                "{:<20} {:>6} MB {:>2} workers  {:>10.4} s  ({} warm, {} cold)",
                c.target.function,
                c.target.memory_mb,
                c.target.workers,
                d,
                c.warm,
                c.cold
            )?,
            Err(why) => outln!(
                "{:<20} {:>6} MB {:>2} workers  skipped: {why}",
                c.target.function,
                c.target.memory_mb,
                c.target.workers
            )?,
        }
    }
    eprintln!(
        "{} runs, billed {:.6} USD; samples in {}, runs in {}",
        p.runs.len(),
        p.billed_usd,
        out.display(),
        runs_path.display()
    );
    for f in &p.cleanup_failures {
        eprintln!("warning: could not remove a profiling alias or version: {f}");
    }
    Ok(())
}

/// The state machine's name and definition, its functions' configurations, and the changes a plan
/// makes.
fn changes(
    s: &Session,
    plan_path: &Path,
    arn: &str,
) -> anyhow::Result<(String, aws::plan::Changes)> {
    let plan = PlanFile::load(plan_path)?;
    let (name, text) = s.describe_state_machine(arn)?;
    let def =
        aws::definition::parse(&text).map_err(|e| anyhow::anyhow!("state machine {arn}: {e}"))?;
    let functions = functions_now(s, arn, &def)?;
    let machine = format!("'{name}' ({arn})");
    let c = aws::plan::changes(
        &plan,
        &plan_path.display().to_string(),
        &machine,
        &def,
        &functions,
    )?;
    Ok((text, c))
}

/// The configurator `--configurator` names: a URL is `faastune serve` (with `--connection-arn`), else
/// a Lambda function.
fn configurator(
    target: Option<&str>,
    connection_arn: Option<&str>,
) -> anyhow::Result<aws::dynamic::Configurator> {
    let target = target.context("--dynamic needs --configurator ARN|URL")?;
    Ok(
        if target.starts_with("http://") || target.starts_with("https://") {
            let connection_arn = connection_arn.with_context(|| {
                format!("--configurator {target}: an HTTP configurator needs --connection-arn (an EventBridge connection)")
            })?;
            aws::dynamic::Configurator::Http {
                url: target.to_owned(),
                connection_arn: connection_arn.to_owned(),
            }
        } else {
            aws::dynamic::Configurator::Lambda(target.to_owned())
        },
    )
}

/// The configurations a dynamic configurator may choose, as aliases need them: the optimizer's memory
/// sizes times its worker counts (`optimizer::ConfigSpace::paper`, what `faastune serve` and the
/// Lambda configurator plan over).
fn dynamic_configs() -> Vec<(u32, u32)> {
    let space = optimizer::ConfigSpace::paper();
    space
        .memory_mb
        .iter()
        .flat_map(|&m| space.workers.iter().map(move |&w| (m, w)))
        .collect()
}

/// What `deploy --dynamic` changes on state machine `a.state_machine`.
fn dynamic_changes(s: &Session, a: &DeployArgs) -> anyhow::Result<(String, aws::plan::Changes)> {
    let arn = &a.state_machine;
    let (name, text) = s.describe_state_machine(arn)?;
    let def =
        aws::definition::parse(&text).map_err(|e| anyhow::anyhow!("state machine {arn}: {e}"))?;
    let configurator = configurator(a.configurator.as_deref(), a.connection_arn.as_deref())?;
    let functions = functions_now(s, arn, &def)?;
    let workflow = a.workflow_name.clone().unwrap_or_else(|| name.clone());
    let c = aws::plan::dynamic_changes(
        &format!("'{name}' ({arn})"),
        &def,
        &functions,
        &dynamic_configs(),
        &configurator,
        &workflow,
    )?;
    Ok((text, c))
}

/// The current configuration of every function the definition names.
fn functions_now(
    s: &Session,
    arn: &str,
    def: &serde_json::Value,
) -> anyhow::Result<Vec<FunctionNow>> {
    let inv =
        aws::definition::inventory(def).map_err(|e| anyhow::anyhow!("state machine {arn}: {e}"))?;
    let mut functions: Vec<FunctionNow> = Vec::new();
    for t in &inv.tasks {
        if !functions.iter().any(|f| f.name == t.function.name) {
            functions.push(s.function_now(&t.function.name)?);
        }
    }
    Ok(functions)
}

fn deploy(s: &Session, a: DeployArgs) -> anyhow::Result<()> {
    let (text, c) = match &a.plan {
        Some(plan) => changes(s, plan, &a.state_machine)?,
        None => dynamic_changes(s, &a)?,
    };
    let plan_label = a
        .plan
        .as_ref()
        .map_or_else(|| "dynamic".to_owned(), |p| p.display().to_string());
    let applied = if a.apply {
        Some(aws::deploy::apply(s, &a.state_machine, &text, &c)?)
    } else {
        None
    };
    if a.json {
        let aliases: Vec<serde_json::Value> = applied
            .as_ref()
            .map(|ap| {
                ap.aliases
                    .iter()
                    .map(|(t, o)| {
                        let (action, version) = match o {
                            aws::deploy::AliasOutcome::Kept { version } => ("kept", version),
                            aws::deploy::AliasOutcome::Published { version } => ("published", version),
                        };
                        serde_json::json!({"function": t.function, "alias": t.alias, "action": action, "version": version})
                    })
                    .collect()
            })
            .unwrap_or_default();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "state_machine": a.state_machine,
                "plan": plan_label,
                "applied": a.apply,
                "changes": c,
                "aliases": aliases,
            }))?
        )?;
        return Ok(());
    }
    out!("{}", c.render())?;
    match applied {
        None => outln!("dry run: nothing was changed (add --apply to deploy)")?,
        Some(ap) => {
            for (t, o) in &ap.aliases {
                match o {
                    aws::deploy::AliasOutcome::Kept { version } => {
                        outln!("{} {}: kept (version {version})", t.function, t.alias)?
                    }
                    aws::deploy::AliasOutcome::Published { version } => {
                        outln!("{} {}: version {version} published", t.function, t.alias)?
                    }
                }
            }
            outln!(
                "deployed: {}",
                if ap.definition_updated {
                    "aliases and the state machine's definition"
                } else {
                    "aliases (the definition already matched)"
                }
            )?;
        }
    }
    Ok(())
}

fn export(session: &dyn Fn() -> anyhow::Result<Session>, a: ExportArgs) -> anyhow::Result<()> {
    let (source, name, text) = match (&a.state_machine, &a.definition) {
        (Some(arn), _) => {
            let (name, text) = session()?.describe_state_machine(arn)?;
            (arn.clone(), name, text)
        }
        (None, Some(p)) => (
            p.display().to_string(),
            p.file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
            String::from_utf8(read_file(p)?)
                .with_context(|| format!("{}: not UTF-8 text", p.display()))?,
        ),
        (None, None) => bail!("give --state-machine ARN or --definition FILE"),
    };
    let def = aws::definition::parse(&text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let (out_def, summary) = if let Some(plan_path) = &a.plan {
        let plan = PlanFile::load(plan_path)?;
        // Offline, the functions' current memory is unknown: the diff is not printed, only the definition.
        let c = aws::plan::changes(&plan, &plan_path.display().to_string(), &source, &def, &[])?;
        for w in &c.warnings {
            eprintln!("warning: {w}");
        }
        let summary = format!(
            "plan {} ({} fields changed); deploy the aliases with `faastune aws deploy --apply` or create \
             them yourself: {}",
            plan_path.display(),
            c.states.len(),
            c.targets
                .iter()
                .map(|t| format!("{}:{}", t.function, t.alias))
                .collect::<Vec<_>>()
                .join(", ")
        );
        (c.definition, summary)
    } else {
        let configurator = configurator(a.configurator.as_deref(), a.connection_arn.as_deref())?;
        let workflow = a.workflow_name.clone().unwrap_or(name);
        let (d, steps) =
            aws::dynamic::make_dynamic(&def, &workflow, &configurator).map_err(|errors| {
                anyhow::anyhow!(
                    "{source}: cannot be configured dynamically; nothing was written:\n  - {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n  - ")
                )
            })?;
        let summary = format!(
            "dynamic definition for workflow '{workflow}' ({} steps configured at run time: {}); the \
             aliases it selects are made by `faastune aws deploy --dynamic`",
            steps.len(),
            steps.join(", ")
        );
        (d, summary)
    };
    let text = serde_json::to_string_pretty(&out_def)? + "\n";
    match &a.out {
        Some(out) => {
            std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote the definition to {}: {summary}", out.display());
        }
        None => out!("{text}")?,
    }
    Ok(())
}
