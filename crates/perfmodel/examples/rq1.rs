//! RQ1 (prediction accuracy): profiles every step of the example workflows in the simulator, fits
//! the model, and prints held-out errors on the paper's configuration grid; then fits the AWS Lambda
//! profiles of the SLApp graphs with leave-one-out. Usage:
//! `cargo run --release -p perfmodel --example rq1 -- [seed] [auto|eq1|amdahl] [rounds|paper] [tail|notail] [reps_train] [reps_truth] [probe|joint] [saturation|nosaturation]`.

use perfmodel::fit::{ModelChoice, by_function, cross_validate};
use perfmodel::model::Features;
use perfmodel::profile::{ProfileOptions, evaluate, fit_workflow};
use perfmodel::{FitOptions, PlatformFacts};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).map_or(Ok(1), |s| s.parse())?;
    let choice = match args.get(2).map_or("auto", String::as_str) {
        "eq1" => ModelChoice::Eq1,
        "amdahl" => ModelChoice::Amdahl,
        _ => ModelChoice::Auto,
    };
    let features = if args.get(3).map(String::as_str) == Some("paper") {
        Features::Paper
    } else {
        Features::Rounds
    };
    let tail = args.get(4).map(String::as_str) != Some("notail");
    let fit = FitOptions {
        choice,
        features,
        tail,
        mapping: None,
        saturation: args.get(8).map(String::as_str) != Some("nosaturation"),
    };
    let reps_train: u32 = args.get(5).map_or(Ok(10), |s| s.parse())?;
    let reps_truth: u32 = args.get(6).map_or(Ok(200), |s| s.parse())?;
    let probe_mapping = args.get(7).map(String::as_str) != Some("joint");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let platform = platform::Platform::lambda();
    println!("seed {seed}, model {choice:?}, features {features:?}, tail {tail}");
    for name in ["video", "synthetic16"] {
        let wf = workflow::Workflow::load(&root.join(format!("examples/{name}.yaml")))?;
        let opts = ProfileOptions {
            seed,
            reps_train,
            reps_truth,
            probe_mapping,
            ..ProfileOptions::default()
        };
        let model = fit_workflow(&platform, &wf, &opts, fit)?;
        let ev = evaluate(&platform, &wf, &model, &opts)?;
        let (mut mx, mut sum, mut n) = (0.0f64, 0.0, 0usize);
        let (mut cmx, mut csum) = (0.0f64, 0.0);
        for (e, m) in ev.iter().zip(model.steps.iter()) {
            let form = match &m.duration {
                perfmodel::DurationModel::Eq1 { low, high, .. } => {
                    format!("eq1 c{}/c{}", low.case(), high.case())
                }
                perfmodel::DurationModel::Amdahl { .. } => "amdahl".into(),
                perfmodel::DurationModel::Fixed { .. } => "fixed".into(),
            };
            println!(
                "  {name:12} {:18} {form:12} train {:3} heldout {:3} dur max {:6.2}% mean {:5.2}%  cost max {:6.2}% mean {:5.2}%  worst {:?}",
                e.step,
                e.n_train,
                e.duration.n,
                100.0 * e.duration.max_rel_error,
                100.0 * e.duration.mean_rel_error,
                100.0 * e.cost.max_rel_error,
                100.0 * e.cost.mean_rel_error,
                e.worst
            );
            mx = mx.max(e.duration.max_rel_error);
            sum += e.duration.mean_rel_error * e.duration.n as f64;
            n += e.duration.n;
            cmx = cmx.max(e.cost.max_rel_error);
            csum += e.cost.mean_rel_error * e.cost.n as f64;
        }
        println!(
            "  {name}: duration max {:.2}% mean {:.2}% (n = {n}); cost max {:.2}% mean {:.2}%",
            100.0 * mx,
            100.0 * sum / n as f64,
            100.0 * cmx,
            100.0 * csum / n as f64
        );
    }
    let facts = PlatformFacts::of(&platform);
    let alg = root.join("../shared/data/slapp-perfcost/evaluations/alg");
    for app in ["App1", "App2", "App3"] {
        let path = alg.join(format!("{app}/{app}_G.dot"));
        let g = perfmodel::dot::read_dot(&path)?;
        let samples = perfmodel::dot::perf_profile_samples(
            &g,
            &path.display().to_string(),
            &format!("{app}/"),
        )?;
        for (f, s) in by_function(&samples) {
            let r = cross_validate(&f, &s, &facts, fit, s.len())?;
            println!(
                "  {f:8} LOO n {:2} max {:6.2}% mean {:5.2}%",
                r.n,
                100.0 * r.max_rel_error,
                100.0 * r.mean_rel_error
            );
        }
    }
    Ok(())
}
