//! `faastune aws` against a real AWS API implementation: moto's server (installed and pinned by
//! `.ci/run`), started per test by `crates/aws/tests/moto/faastune_moto.py` on 127.0.0.1 with a fixture
//! (three Lambda functions and a Step Functions state machine) and Lambda's REPORT log tail added to
//! invocations (moto without Docker runs no code). Everything is read back through boto3, a client
//! independent of ours.
//!
//! `FAASTUNE_MOTO_PYTHON` names the Python with moto installed; without it the tests are skipped with a
//! message, except under `CI=true`, where they fail.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use crate::root;

/// A running local API server; killed on drop.
struct Moto {
    child: Child,
    python: String,
    endpoint: String,
    machine: String,
    users: serde_json::Value,
    /// Credentials that may read everything (the fixture's `admin` user under `--enforce-auth`).
    admin: (String, String),
    dir: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<String> {
    match std::env::var("FAASTUNE_MOTO_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI is set but FAASTUNE_MOTO_PYTHON is not: .ci/run installs moto and sets it"
            );
            eprintln!(
                "skipped: set FAASTUNE_MOTO_PYTHON to a Python with moto[server] (see .ci/run)"
            );
            None
        }
    }
}

impl Moto {
    fn start(name: &str, extra: &[&str]) -> Option<Moto> {
        let python = python()?;
        let dir = std::env::temp_dir().join(format!("faastune-aws-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(&python)
            .arg(root().join("crates/aws/tests/moto/faastune_moto.py"))
            .arg("--fixture")
            .arg(root().join("crates/aws/tests/moto/fixture.json"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the moto wrapper starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("moto wrapper did not start: {e}: {line:?}"));
        let admin = if extra.contains(&"--enforce-auth") {
            let a = &v["users"]["admin"];
            (
                a["key"].as_str().unwrap().to_owned(),
                a["secret"].as_str().unwrap().to_owned(),
            )
        } else {
            ("testing".to_owned(), "testing".to_owned())
        };
        Some(Moto {
            admin,
            child,
            python,
            endpoint: v["endpoint"].as_str().unwrap().to_owned(),
            machine: v["state_machines"]["orders"].as_str().unwrap().to_owned(),
            users: v["users"].clone(),
            dir,
        })
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Runs `faastune aws --endpoint-url ... <args>` (other subcommands: `plain`) with test
    /// credentials, isolated from any AWS configuration of the machine.
    fn run_as(&self, key: &str, secret: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_faastune"))
            .arg("aws")
            .arg("--endpoint-url")
            .arg(&self.endpoint)
            .args(args)
            .current_dir(root())
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/nonexistent/faastune-test")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/faastune-test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .expect("binary runs")
    }

    /// `import` of the fixture's state machine to `wf` with the work model every test uses (0.3 s per
    /// item, 4 items, SLO 6 s).
    fn import_args<'a>(&'a self, wf: &'a str) -> [&'a str; 11] {
        [
            "import",
            "--state-machine",
            &self.machine,
            "-o",
            wf,
            "--work-s",
            "0.3",
            "--items",
            "4",
            "--slo-s",
            "6",
        ]
    }

    fn aws(&self, args: &[&str]) -> Output {
        self.run_as("testing", "testing", args)
    }

    fn aws_ok(&self, args: &[&str]) -> String {
        let out = self.aws(args);
        assert!(
            out.status.success(),
            "faastune aws {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// What the server holds, read through boto3: per function its $LATEST memory and environment and
    /// its aliases (name -> (version, memory, FAASTUNE_WORKERS)), and the definition.
    fn read_back(&self) -> serde_json::Value {
        let script = r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4])
l = boto3.client("lambda", **kw)
out = {"functions": {}}
for f in ["split", "work", "merge"]:
    c = l.get_function_configuration(FunctionName=f)
    aliases = {}
    for a in l.list_aliases(FunctionName=f)["Aliases"]:
        v = l.get_function_configuration(FunctionName=f, Qualifier=a["FunctionVersion"])
        aliases[a["Name"]] = [a["FunctionVersion"], v["MemorySize"], v.get("Environment", {}).get("Variables", {}).get("FAASTUNE_WORKERS")]
    versions = [v["Version"] for v in l.list_versions_by_function(FunctionName=f)["Versions"]]
    out["functions"][f] = {"memory": c["MemorySize"], "env": c.get("Environment", {}).get("Variables", {}), "aliases": aliases, "versions": versions}
s = boto3.client("stepfunctions", **kw)
out["definition"] = json.loads(s.describe_state_machine(stateMachineArn=sys.argv[2])["definition"])
print(json.dumps(out))
"#;
        self.boto(script, &[])
    }

    /// Runs the state machine once through boto3: (status, output).
    fn execute(&self, input: &str) -> (String, String) {
        let script = r#"
import boto3, json, sys, time
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4])
s = boto3.client("stepfunctions", **kw)
e = s.start_execution(stateMachineArn=sys.argv[2], input=sys.argv[5])["executionArn"]
for _ in range(100):
    d = s.describe_execution(executionArn=e)
    if d["status"] != "RUNNING":
        break
    time.sleep(0.1)
print(json.dumps([d["status"], d.get("output") or d.get("error", "") + " " + d.get("cause", "")]))
"#;
        let v = self.boto(script, &[input]);
        serde_json::from_value(v).unwrap()
    }

    /// Writes a plan file for the fixture's `orders` workflow: (memory MB, fan-out, workers) of Split,
    /// Work and Merge.
    fn orders_plan(&self, name: &str, steps: [(u32, u32, u32); 3]) -> String {
        let steps: Vec<serde_json::Value> = ["Split", "Work", "Merge"]
            .iter()
            .zip(steps)
            .map(|(n, (m, p, q))| {
                serde_json::json!({"name": n, "memory_mb": m, "fan_out": p, "workers": q, "is_task": true})
            })
            .collect();
        let path = self.path(name);
        write(
            &path,
            &serde_json::json!({"workflow": "orders", "steps": steps}).to_string(),
        );
        path
    }

    /// Loads `definition` (a file) into the state machine, runs it once with `input`: (status, output,
    /// the FunctionName of every Lambda invocation in the history).
    fn run_definition(&self, definition: &str, input: &str) -> (String, String, Vec<String>) {
        let script = r#"
import boto3, json, sys, time, uuid
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4])
s = boto3.client("stepfunctions", **kw)
s.update_state_machine(stateMachineArn=sys.argv[2], definition=open(sys.argv[5]).read())
e = s.start_execution(stateMachineArn=sys.argv[2], name=str(uuid.uuid4()), input=sys.argv[6])["executionArn"]
for _ in range(100):
    d = s.describe_execution(executionArn=e)
    if d["status"] != "RUNNING":
        break
    time.sleep(0.1)
calls = []
for ev in s.get_execution_history(executionArn=e, maxResults=1000)["events"]:
    p = ev.get("taskScheduledEventDetails", {}).get("parameters")
    if p:
        calls.append(json.loads(p)["FunctionName"])
print(json.dumps([d["status"], d.get("output") or d.get("error", "") + " " + d.get("cause", ""), calls]))
"#;
        serde_json::from_value(self.boto(script, &[definition, input])).unwrap()
    }

    /// Makes the fixture's `faastune-configurator` function run the handler binary `bin` (the test
    /// server runs it per invocation) serving workflow file `wf` with the oracle model.
    fn run_configurator(&self, bin: &std::path::Path, wf: &str) {
        self.boto(
            r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4])
l = boto3.client("lambda", **kw)
l.update_function_configuration(FunctionName="faastune-configurator", Environment={"Variables": {
    "FAASTUNE_TEST_CONFIGURATOR_BIN": sys.argv[5], "FAASTUNE_WORKFLOW": sys.argv[6], "FAASTUNE_MODEL": "oracle"}})
print("{}")
"#,
            &[bin.to_str().unwrap(), wf],
        );
    }

    /// Runs a boto3 script with `endpoint machine key secret extra...` as its arguments; its stdout
    /// as JSON.
    fn boto(&self, script: &str, extra: &[&str]) -> serde_json::Value {
        let out = Command::new(&self.python)
            .args([
                "-c",
                script,
                &self.endpoint,
                &self.machine,
                &self.admin.0,
                &self.admin.1,
            ])
            .args(extra)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Asserts `text` contains every one of `wants`.
fn has(text: &str, wants: &[&str]) {
    for w in wants {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

fn plain_ok(args: &[&str]) -> String {
    crate::ok_stdout(args)
}

fn write(path: &str, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_whole_loop_import_profile_fit_plan_deploy_runs_against_the_local_api_server() {
    let Some(m) = Moto::start("loop", &[]) else {
        return;
    };
    let before = m.read_back();

    // 1. Import: the definition through the API, with each function's configuration.
    let wf = m.path("orders.yaml");
    let out = m.aws(&m.import_args(&wf));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    has(&err, &["function merge: 1024 MB, timeout 1 s, arm64"]);
    let yaml = std::fs::read_to_string(&wf).unwrap();
    has(&yaml, &["name: orders", "function: work"]);
    has(&yaml, &["Function split: 128 MB, timeout 30 s, x86_64"]);

    // 2. Profile: dry run first (nothing invoked), then for real.
    let dry = m.aws_ok(&[
        "profile",
        "--workflow",
        &wf,
        "--memory",
        "128,512,1024,2048",
        "--dry-run",
    ]);
    assert_eq!(dry.lines().count(), 12, "{dry}");
    assert_eq!(m.read_back(), before, "a dry run changes nothing");
    let samples = m.path("samples.csv");
    let payload = m.path("payload.json");
    write(&payload, r#"{"items": [1, 2, 3, 4]}"#);
    let table = m.aws_ok(&[
        "profile",
        "--workflow",
        &wf,
        "--memory",
        "128,512,1024,2048",
        "--workers",
        "1,2",
        "--reps",
        "2",
        "--payload",
        &payload,
        "--out",
        &samples,
        "--quiet",
    ]);
    // work runs out of memory below 256 MB; merge (timeout 1 s, 4 items of 100 ms at one vCPU) times
    // out at 128 and 512 MB: skipped, and the sizes above them are still profiled.
    has(&table, &["work", "skipped: out of memory"]);
    has(&table, &["skipped: timed out (timeout 1 s)"]);
    let csv = std::fs::read_to_string(&samples).unwrap();
    assert!(
        csv.starts_with("function,memory_mb,fan_out,workers,jobs,duration_s\n"),
        "{csv}"
    );
    // 3 functions x 4 sizes x 2 worker counts = 24, less work at 128 (2) and merge at 128/512 (4).
    assert_eq!(csv.lines().count(), 1 + 18, "{csv}");
    has(&csv, &["\nwork,2048,1,2,4,"]);
    let runs = std::fs::read_to_string(m.path("samples.runs.csv")).unwrap();
    assert!(
        runs.contains(",true,Ok,") && runs.contains(",false,Ok,"),
        "cold and warm runs: {runs}"
    );
    has(&runs, &[",OutOfMemory,", ",Timeout,"]);
    // Profiling changed nothing that runs: $LATEST as before, its aliases and versions removed.
    let after = m.read_back();
    for f in ["split", "work", "merge"] {
        assert_eq!(
            after["functions"][f]["memory"], before["functions"][f]["memory"],
            "{f}"
        );
        assert_eq!(
            after["functions"][f]["env"], before["functions"][f]["env"],
            "{f}"
        );
        assert_eq!(
            after["functions"][f]["aliases"],
            serde_json::json!({}),
            "{f}"
        );
    }

    // 3. Fit the measured samples and plan from them.
    let model = m.path("model.json");
    plain_ok(&["fit", "--samples", &samples, "--save", &model]);
    let plan_json = plain_ok(&[
        "plan",
        "--workflow",
        &wf,
        "--model-file",
        &model,
        "--policy",
        "optimal",
        "--json",
    ]);
    let plan_path = m.path("plan.json");
    write(&plan_path, &plan_json);
    let plan: serde_json::Value = serde_json::from_str(&plan_json).unwrap();
    let step = |name: &str| {
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    let work = step("Work");
    assert_eq!(plan["feasible"], true, "{plan_json}");
    // The plan comes from the measured model, not from profiling the imported workflow's guessed work
    // (--work-s 0.3) in the simulator.
    let simulated: serde_json::Value = serde_json::from_str(&plain_ok(&[
        "plan",
        "--workflow",
        &wf,
        "--policy",
        "optimal",
        "--json",
    ]))
    .unwrap();
    assert_ne!(plan["latency_s_pred"], simulated["latency_s_pred"]);

    // 4. Deploy: the diff changes nothing; --apply makes aliases and rewrites the definition.
    let diff = m.aws_ok(&[
        "deploy",
        "--plan",
        &plan_path,
        "--state-machine",
        &m.machine,
    ]);
    has(&diff, &["dry run: nothing was changed"]);
    has(&diff, &["Resource", "Parameters.FunctionName"]);
    assert_eq!(
        m.read_back(),
        before,
        "deploy without --apply changes nothing"
    );
    let applied = m.aws_ok(&[
        "deploy",
        "--plan",
        &plan_path,
        "--state-machine",
        &m.machine,
        "--apply",
    ]);
    has(&applied, &["published"]);
    let got = m.read_back();
    let alias = format!("faastune-{}mb-w{}", work["memory_mb"], work["workers"]);
    let a = &got["functions"]["work"]["aliases"][&alias];
    assert_eq!(
        a[1], work["memory_mb"],
        "the alias's version has the planned memory: {got}"
    );
    assert_eq!(a[2], work["workers"].to_string(), "{got}");
    // $LATEST is as it was.
    assert_eq!(
        got["functions"]["work"]["memory"],
        before["functions"]["work"]["memory"]
    );
    assert_eq!(
        got["functions"]["split"]["env"],
        before["functions"]["split"]["env"]
    );
    let def = &got["definition"];
    let fname =
        def["States"]["Each"]["ItemProcessor"]["States"]["Work"]["Parameters"]["FunctionName"]
            .as_str()
            .unwrap();
    assert!(
        fname.ends_with(&format!(":function:work:{alias}")),
        "{fname}"
    );
    assert_eq!(def["States"]["Each"]["MaxConcurrency"], work["fan_out"]);
    assert!(
        def["States"]["Merge"]["Resource"]
            .as_str()
            .unwrap()
            .contains(":function:merge:faastune-")
    );
    // Applying again is idempotent: every alias kept, no new version.
    let again = m.aws_ok(&[
        "deploy",
        "--plan",
        &plan_path,
        "--state-machine",
        &m.machine,
        "--apply",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert!(
        v["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] == "kept"),
        "{again}"
    );
    assert_eq!(m.read_back(), got);

    // 5. The deployed definition runs (moto's Step Functions interpreter, through the aliases).
    let (status, output) = m.execute(r#"{"items": [1, 2, 3]}"#);
    assert_eq!(status, "SUCCEEDED", "{output}");

    // export-asl offline gives the same definition as the one deployed.
    let exported = plain_ok(&[
        "aws",
        "export-asl",
        "--plan",
        &plan_path,
        "--definition",
        "crates/aws/tests/moto/orders.asl.json",
    ]);
    let e: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(e["States"]["Each"]["MaxConcurrency"], work["fan_out"]);
    assert_eq!(
        e["States"]["Each"]["ItemProcessor"]["States"]["Work"]["Parameters"]["FunctionName"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap(),
        alias
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let Some(m) = Moto::start("bad", &[]) else {
        return;
    };
    let before = m.read_back();
    // Unknown state machine.
    let out = m.aws(&[
        "import",
        "--state-machine",
        "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    has(&err, &["states:DescribeStateMachine", "stateMachine:nope"]);
    // A plan for another workflow, and one with an invalid memory size.
    let other = m.path("other.json");
    write(
        &other,
        r#"{"workflow": "video", "steps": [{"name": "Decode", "memory_mb": 1024, "fan_out": 1, "workers": 1, "is_task": true}]}"#,
    );
    for apply in [false, true] {
        let mut args = vec!["deploy", "--plan", &other, "--state-machine", &m.machine];
        if apply {
            args.push("--apply");
        }
        let out = m.aws(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        has(&err, &["does not fit state machine 'orders'"]);
        has(
            &err,
            &["Task state 'Split' (function split) has no step in the plan"],
        );
        has(
            &err,
            &["plan steps with no Task state in the state machine: Decode"],
        );
    }
    let bad_mem = m.orders_plan("badmem.json", [(64, 1, 1), (1024, 2, 1), (20000, 1, 1)]);
    let out = m.aws(&[
        "deploy",
        "--plan",
        &bad_mem,
        "--state-machine",
        &m.machine,
        "--apply",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    has(
        &err,
        &["step 'Split': memory 64 MB is outside Lambda's 128..=10240 MB"],
    );
    has(&err, &["step 'Merge': memory 20000 MB"]);
    // A plan file that is not a plan names the file.
    let junk = m.path("junk.json");
    write(&junk, "{\"steps\": 3}");
    let out = m.aws(&["deploy", "--plan", &junk, "--state-machine", &m.machine]);
    let err = String::from_utf8_lossy(&out.stderr);
    has(&err, &["junk.json", "not a faastune plan"]);
    // Profile settings name the flag; an unknown function names the function.
    let out = m.aws(&[
        "profile",
        "--functions",
        "split",
        "--memory",
        "64",
        "--out",
        &m.path("s.csv"),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--memory: memory 64 MB"));
    let out = m.aws(&[
        "profile",
        "--functions",
        "nosuch",
        "--memory",
        "128",
        "--out",
        &m.path("s.csv"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    has(
        &err,
        &["lambda:GetFunctionConfiguration on function nosuch"],
    );
    assert_eq!(m.read_back(), before, "nothing changed");
}

#[test]
fn missing_permissions_answered_by_the_server_change_nothing() {
    let Some(m) = Moto::start("auth", &["--enforce-auth"]) else {
        return;
    };
    let before = m.read_back();
    let reader = &m.users["reader"];
    let (key, secret) = (
        reader["key"].as_str().unwrap(),
        reader["secret"].as_str().unwrap(),
    );
    let plan = m.orders_plan("plan.json", [(256, 1, 1), (1024, 2, 2), (2048, 1, 1)]);
    // Reading is allowed: the diff works.
    let out = m.run_as(
        key,
        secret,
        &["deploy", "--plan", &plan, "--state-machine", &m.machine],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Writing is not: the server's AccessDenied is named, and nothing is left behind.
    let out = m.run_as(
        key,
        secret,
        &[
            "deploy",
            "--plan",
            &plan,
            "--state-machine",
            &m.machine,
            "--apply",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    has(
        &err,
        &["lambda:UpdateFunctionConfiguration", "AccessDenied"],
    );
    has(&err, &["every change made before the failure was undone"]);
    // Unknown credentials are refused by the server too.
    let out = m.run_as(
        "AKIANOTAKEY",
        "nope",
        &["import", "--state-machine", &m.machine],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("states:DescribeStateMachine"),
        "{err}"
    );
    assert_eq!(m.read_back(), before, "nothing changed");
}

#[test]
fn the_dynamic_definition_runs_with_the_configurator_and_round_trips_through_the_importer() {
    let Some(m) = Moto::start("dynamic", &[]) else {
        return;
    };
    // The aliases the stand-in configurator selects (faastune-1024mb-w1, fan-out 2), made by deploy.
    let plan = m.orders_plan("plan.json", [(1024, 1, 1), (1024, 2, 1), (1024, 1, 1)]);
    m.aws_ok(&[
        "deploy",
        "--plan",
        &plan,
        "--state-machine",
        &m.machine,
        "--apply",
    ]);
    let input = r#"{"items": [1, 2, 3], "order": "A-1"}"#;
    let (status, static_out, _) = m.run_definition("crates/aws/tests/moto/orders.asl.json", input);
    assert_eq!(status, "SUCCEEDED", "{static_out}");

    let dynamic = m.path("dynamic.json");
    let out = m.aws(&[
        "export-asl",
        "--dynamic",
        "--configurator",
        "faastune-configurator",
        "--state-machine",
        &m.machine,
        "-o",
        &dynamic,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    has(
        &String::from_utf8_lossy(&out.stderr),
        &["workflow 'orders'", "3 steps configured at run time"],
    );
    let (status, dyn_out, calls) = m.run_definition(&dynamic, input);
    assert_eq!(status, "SUCCEEDED", "{dyn_out}");
    // Same output as the static definition: the wrapping is invisible to the functions and the caller.
    assert_eq!(dyn_out, static_out);
    // The configurator ran before each step, and each step ran through the alias it chose.
    let configurator_calls = calls
        .iter()
        .filter(|c| c.as_str() == "faastune-configurator")
        .count();
    assert_eq!(configurator_calls, 3, "{calls:?}");
    for f in ["split", "work", "merge"] {
        let alias = format!(":function:{f}:faastune-1024mb-w1");
        assert!(calls.iter().any(|c| c.ends_with(&alias)), "{f}: {calls:?}");
    }

    // The rewritten definition imports to the same DAG plus the configurator states.
    let imported = plain_ok(&["import", "--from", "asl", &dynamic]);
    has(
        &imported,
        &[
            "name: Split (faastune input)",
            "name: Split (faastune configure)",
            "function: faastune-configurator",
            "name: Split\n",
            "name: Work\n",
            "name: Merge\n",
        ],
    );
    let wf = m.path("dynamic.yaml");
    write(&wf, &imported);
    plain_ok(&["validate", &wf]);

    // Bad input: an HTTP configurator without a connection, a definition --dynamic cannot rewrite.
    let out = m.aws(&[
        "export-asl",
        "--dynamic",
        "--configurator",
        "https://cfg.example.com",
        "--definition",
        "crates/aws/tests/moto/orders.asl.json",
    ]);
    has(
        &String::from_utf8_lossy(&out.stderr),
        &["needs --connection-arn"],
    );
    let bad = m.path("bad.json");
    write(
        &bad,
        r#"{"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.f"}, "End": true}}}"#,
    );
    let out = m.aws(&[
        "export-asl",
        "--dynamic",
        "--configurator",
        "c",
        "--definition",
        &bad,
    ]);
    assert!(!out.status.success());
    has(
        &String::from_utf8_lossy(&out.stderr),
        &[
            "cannot be configured dynamically; nothing was written",
            "/States/D",
        ],
    );
}

/// The `faastune-configurator` binary next to this test's (`cargo test --workspace` builds it); `None`
/// (skipped, with a message) when it was not built, except under CI.
fn configurator_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("faastune-configurator"))?;
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI is set but {} is missing: .ci/run builds the workspace",
        bin.display()
    );
    eprintln!(
        "skipped: {} is not built (cargo build -p faastune-configurator, or cargo test --workspace)",
        bin.display()
    );
    None
}

#[test]
fn deploy_dynamic_runs_stepconf_end_to_end_with_the_lambda_configurator() {
    let Some(bin) = configurator_bin() else {
        return;
    };
    let Some(m) = Moto::start("deploy-dynamic", &[]) else {
        return;
    };
    // The workflow the configurator serves: the state machine, imported.
    let wf = m.path("orders.yaml");
    m.aws_ok(&m.import_args(&wf));
    let before = m.read_back();
    let deploy = [
        "deploy",
        "--dynamic",
        "--configurator",
        "faastune-configurator",
        "--state-machine",
        &m.machine,
    ];
    // Dry run: every configuration the configurator may choose (8 memory sizes x 4 worker counts)
    // as aliases of each function, each step decided at run time; nothing changed.
    let dry = m.aws_ok(&deploy);
    has(
        &dry,
        &[
            "32 aliases, faastune-512mb-w1 ... faastune-10240mb-w8 (512-10240 MB, 1-8 workers)",
            "Split",
            "the alias Lambda faastune-configurator decides at run time",
            "dry run: nothing was changed",
        ],
    );
    assert_eq!(m.read_back(), before, "a dry run changes nothing");

    let mut args = deploy.to_vec();
    args.extend(["--apply", "--json"]);
    let out: serde_json::Value = serde_json::from_str(&m.aws_ok(&args)).unwrap();
    assert_eq!(out["applied"], true);
    assert_eq!(out["aliases"].as_array().unwrap().len(), 3 * 32, "{out}");
    let after = m.read_back();
    for f in ["split", "work", "merge"] {
        let aliases = after["functions"][f]["aliases"].as_object().unwrap();
        assert_eq!(aliases.len(), 32, "{f}");
        let a = &aliases["faastune-2048mb-w4"];
        assert_eq!(
            (a[1].as_u64(), a[2].as_str()),
            (Some(2048), Some("4")),
            "{f}"
        );
    }
    let def = after["definition"].to_string();
    has(
        &def,
        &["Split (faastune configure)", "Each (faastune configure)"],
    );

    // The configurator function runs the real handler binary with the imported workflow.
    m.run_configurator(&bin, &wf);
    let deployed = m.path("deployed.json");
    write(
        &deployed,
        &serde_json::to_string(&after["definition"]).unwrap(),
    );
    let input = r#"{"items": [1, 2, 3], "order": "A-1"}"#;
    let (status, output, calls) = m.run_definition(&deployed, input);
    assert_eq!(status, "SUCCEEDED", "{output}");
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.as_str() == "faastune-configurator")
            .count(),
        3,
        "{calls:?}"
    );
    // Each step ran through an alias the configurator chose, one that deploy published.
    for f in ["split", "work", "merge"] {
        let chosen: Vec<&String> = calls
            .iter()
            .filter(|c| c.contains(&format!(":function:{f}:faastune-")))
            .collect();
        assert!(!chosen.is_empty(), "{f}: {calls:?}");
        for c in chosen {
            let alias = c.rsplit(':').next().unwrap();
            assert!(
                after["functions"][f]["aliases"].get(alias).is_some(),
                "{f}: {alias} was not deployed"
            );
        }
    }

    // A refusal of the configurator fails the execution with its error type.
    m.run_configurator(&bin, "crates/aws/tests/moto/no-such-workflow.yaml");
    let (status, output, _) = m.run_definition(&deployed, input);
    assert_eq!(status, "FAILED", "{output}");
    has(&output, &["no-such-workflow.yaml"]);
}
