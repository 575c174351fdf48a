//! `--model-file`: plans from a model fitted to measured samples (`fit --samples ... --save`), applied
//! to the workflow by step and function names; compare simulates on a platform calibrated to it; bad
//! model files and models without a step are errors naming the file and the step.

use std::path::PathBuf;

use perfmodel::{PerfModel, PlatformFacts};
use platform::{Platform, StepConfig};
use workflow::{StepId, Workflow};

use crate::{err_stderr, faastune, ok_stdout};

/// A scratch folder of this module's files.
fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-file");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Two task steps; `thumb` runs the function `encode`, so its model is found by function name.
const WORKFLOW: &str = "name: two
slo_s: 20
steps:
  - name: resize
    jobs: 4
    work_s: 0.5
    parallel_fraction: 0.5
  - name: thumb
    function: encode
    after: [resize]
    jobs: 2
    work_s: 0.3
";

/// Measured samples of `functions`, one job on one instance, 128..3008 MB: a duration law far from
/// the workflow's own parameters (seconds = 30 / vCPU share + 0.5 for the first, a third of it for
/// the others), so a plan from them differs from one from simulator profiling.
fn samples_csv(functions: &[&str]) -> String {
    let mut s = String::from("function,memory_mb,fan_out,workers,jobs,duration_s\n");
    for (i, f) in functions.iter().enumerate() {
        let scale = if i == 0 { 1.0 } else { 1.0 / 3.0 };
        for m in (128..=3008).step_by(192) {
            let share = f64::from(m).min(1769.0) / 1769.0;
            s.push_str(&format!("{f},{m},1,1,1,{}\n", scale * (3.0 / share + 0.5)));
        }
    }
    s
}

/// Writes the workflow and fits and saves a model of `functions`; returns (workflow, model) paths.
fn setup(name: &str, functions: &[&str]) -> (String, String) {
    let d = dir().join(name);
    std::fs::create_dir_all(&d).unwrap();
    let wf = d.join("two.yaml");
    std::fs::write(&wf, WORKFLOW).unwrap();
    let csv = d.join("samples.csv");
    std::fs::write(&csv, samples_csv(functions)).unwrap();
    let model = d.join("model.json");
    ok_stdout(&[
        "fit",
        "--samples",
        csv.to_str().unwrap(),
        "--save",
        model.to_str().unwrap(),
    ]);
    (
        wf.to_str().unwrap().to_owned(),
        model.to_str().unwrap().to_owned(),
    )
}

fn plan_json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok_stdout(args)).unwrap()
}

#[test]
fn plan_from_a_fitted_samples_model_predicts_with_that_model() {
    let (wf_path, model_path) = setup("plan", &["resize", "encode"]);
    let from_file = plan_json(&[
        "plan",
        "--workflow",
        &wf_path,
        "--model-file",
        &model_path,
        "--json",
    ]);
    let profiled = plan_json(&["plan", "--workflow", &wf_path, "--json"]);
    // The saved model, applied as the CLI does, predicts every planned duration (plus the
    // platform's transition delay, which the plan adds to each step).
    let platform = Platform::lambda();
    let wf = Workflow::load(std::path::Path::new(&wf_path)).unwrap();
    let (model, _) = PerfModel::load(std::path::Path::new(&model_path))
        .unwrap()
        .for_workflow(&wf, PlatformFacts::of(&platform), "m")
        .unwrap();
    let transition_s = platform.spec().transition_delay_s;
    let steps = from_file["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    for (i, s) in steps.iter().enumerate() {
        let cfg = StepConfig::new(
            s["memory_mb"].as_u64().unwrap() as u32,
            s["fan_out"].as_u64().unwrap() as u32,
            s["workers"].as_u64().unwrap() as u32,
        );
        let want = model.predict_duration_s(StepId(i as u32), cfg) + transition_s;
        let got = s["duration_s_pred"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "step {i}: {got} vs {want}");
    }
    // And the plan differs from the one fitted to simulator profiling of the workflow's parameters.
    let lat = |v: &serde_json::Value| v["latency_s_pred"].as_f64().unwrap();
    assert!(
        (lat(&from_file) - lat(&profiled)).abs() > 0.1 * lat(&profiled),
        "{} vs {}",
        lat(&from_file),
        lat(&profiled)
    );
    // The table names the model file.
    let table = ok_stdout(&["plan", "--workflow", &wf_path, "--model-file", &model_path]);
    assert!(
        table.contains(&format!("model file {model_path}")),
        "{table}"
    );
}

#[test]
fn a_model_without_a_step_is_an_error_naming_the_step() {
    let (wf_path, model_path) = setup("missing", &["resize", "other"]);
    let e = err_stderr(&["plan", "--workflow", &wf_path, "--model-file", &model_path]);
    assert!(
        e.contains("no model for step(s) 'thumb' of workflow 'two'")
            && e.contains("the model has: 'other', 'resize'"),
        "{e}"
    );
}

#[test]
fn a_corrupt_or_missing_model_file_is_an_error_naming_the_file() {
    let (wf_path, model_path) = setup("corrupt", &["resize", "encode"]);
    let bad = dir().join("corrupt").join("bad.json");
    let text = std::fs::read_to_string(&model_path).unwrap();
    std::fs::write(&bad, &text[..text.len() / 2]).unwrap();
    let bad = bad.to_str().unwrap();
    let e = err_stderr(&["plan", "--workflow", &wf_path, "--model-file", bad]);
    assert!(
        e.contains(&format!("reading model file {bad}: {bad}: invalid model:"))
            && e.contains("line"),
        "{e}"
    );
    // A negative parameter names its field.
    let negative = dir().join("corrupt").join("negative.json");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["steps"][0]["mapping"]["per_instance_s"] = serde_json::json!(-1.0);
    std::fs::write(&negative, v.to_string()).unwrap();
    let negative = negative.to_str().unwrap();
    let e = err_stderr(&["compare", "--workflow", &wf_path, "--model-file", negative]);
    assert!(
        e.contains(negative) && e.contains("mapping.per_instance_s = -1"),
        "{e}"
    );
    let missing = dir().join("corrupt").join("absent.json");
    let missing = missing.to_str().unwrap();
    let e = err_stderr(&[
        "sweep",
        "--workflow",
        &wf_path,
        "--slo-from",
        "5",
        "--slo-to",
        "9",
        "--model-file",
        missing,
    ]);
    assert!(e.contains(&format!("cannot read {missing}")), "{e}");
}

#[test]
fn compare_with_a_model_file_simulates_on_a_calibrated_platform_and_says_so() {
    let (wf_path, model_path) = setup("compare", &["resize", "encode"]);
    let args = [
        "compare",
        "--workflow",
        &wf_path,
        "--model-file",
        &model_path,
        "--requests",
        "40",
        "--policies",
        "stepconf,replan",
    ];
    let table = ok_stdout(&args);
    let says = format!("simulated on a platform calibrated to model {model_path}");
    assert!(table.contains(&says), "{table}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(&json_args)).unwrap();
    assert_eq!(v["model"], "file");
    assert_eq!(v["simulated_on"], says.as_str());
    assert_eq!(v["model_file"], model_path.as_str());
    let cal = v["calibration"].as_array().unwrap();
    assert_eq!(cal.len(), 2);
    assert_eq!(cal[1]["step"], "thumb");
    // The samples follow the simulator's own law (time-sliced below one vCPU, a fixed part per
    // job), so the calibrated means match the model closely.
    for c in cal {
        assert!(c["max_rel_error"].as_f64().unwrap() < 0.05, "{c}");
    }
    // The simulated latencies are those of the model (about 2.5 s and 0.8 s per job at one vCPU),
    // not of the workflow's own parameters (0.5 s and 0.3 s).
    let p50 = v["policies"][0]["latency_s_p50"].as_f64().unwrap();
    assert!(p50 > 2.0, "{p50}");
    // The same seed gives the same bytes.
    assert_eq!(ok_stdout(&json_args), ok_stdout(&json_args));
    // Without a model file nothing is said about calibration.
    let plain = ok_stdout(&[
        "compare",
        "--workflow",
        &wf_path,
        "--requests",
        "10",
        "--policies",
        "replan",
        "--json",
    ]);
    assert!(!plain.contains("calibrat"), "{plain}");
}

#[test]
fn a_model_fitted_for_another_platform_warns_and_a_workflow_model_works() {
    let (wf_path, _) = setup("platform", &["resize", "encode"]);
    let d = dir().join("platform");
    // A model fitted with --workflow has the step names.
    let model = d.join("profiled.json");
    ok_stdout(&[
        "fit",
        "--workflow",
        &wf_path,
        "--reps",
        "3",
        "--reps-truth",
        "3",
        "--save",
        model.to_str().unwrap(),
    ]);
    let arm = d.join("arm.yaml");
    std::fs::write(&arm, "name: arm\nprice_usd_per_gb_s: 0.0000133334\n").unwrap();
    let out = faastune(&[
        "plan",
        "--workflow",
        &wf_path,
        "--model-file",
        model.to_str().unwrap(),
        "--platform",
        arm.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: model")
            && stderr.contains("planning on 'arm'")
            && stderr.contains("price_usd_per_gb_s: 0.0000166667 vs 0.0000133334"),
        "{stderr}"
    );
    // --model and --model-file exclude each other.
    let e = err_stderr(&[
        "plan",
        "--workflow",
        &wf_path,
        "--model",
        "oracle",
        "--model-file",
        model.to_str().unwrap(),
    ]);
    assert!(e.contains("cannot be used with"), "{e}");
}
