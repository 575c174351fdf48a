//! Transforms on hand-built graphs, their undo, refusals and the canonical form.

use platform::Platform;
use proptest::prelude::*;
use topology::canon::{canonical_form, canonical_key, dedup};
use topology::objective::{EvalOptions, evaluate_report};
use topology::transform::{
    CandidateOptions, Transform, apply, apply_all, candidates, undo, unfuse,
};
use workflow::{StepKind, Workflow, WorkflowSpec};

fn wf(yaml: &str) -> Workflow {
    Workflow::from_str_auto(yaml, "test.yaml").unwrap()
}

fn t(text: &str) -> Transform {
    text.parse().unwrap()
}

/// a -> b -> c, then d reads a and c.
fn chain_with_reader() -> Workflow {
    wf("name: c\nslo_s: 30\nsteps:\n\
        - {name: a, jobs: 2, work_s: 1.0, parallel_fraction: 0.5, input_mb: 5, output_mb: 4}\n\
        - {name: b, after: [a], jobs: 2, work_s: 3.0, memory_mb_per_worker: 512, input_mb: 4, output_mb: 2}\n\
        - {name: c, after: [b], jobs: 2, work_s: 0.5, input_mb: 2, output_mb: 1}\n\
        - {name: d, after: [c], data_from: [a, c], jobs: 1, work_s: 0.2, input_mb: 1, output_mb: 1}\n")
}

#[test]
fn fusion_merges_a_chain_pair_and_unfuse_restores_it() {
    let g = chain_with_reader();
    let applied = apply(&g, &t("fuse(a,b)")).unwrap();
    let f = &applied.workflow;
    assert_eq!(f.n_steps(), 3);
    let ab = f.step(f.find("a+b").unwrap());
    assert_eq!(ab.function, "a+b");
    assert_eq!(ab.jobs, 2);
    assert!((ab.work_s - 4.0).abs() < 1e-12);
    // Work-weighted: (1 x 0.5 + 3 x 0) / 4.
    assert!((ab.parallel_fraction - 0.125).abs() < 1e-12);
    assert_eq!(ab.memory_mb_per_worker, 512);
    // a's output stays in memory for b, but d still reads it; b reads nothing else.
    assert!((ab.input_mb - 5.0).abs() < 1e-12);
    assert!((ab.output_mb - 6.0).abs() < 1e-12);
    let d = f.find("d").unwrap();
    let reads: Vec<&str> = f
        .step(d)
        .data_from
        .iter()
        .map(|&x| f.step(x).name.as_str())
        .collect();
    assert_eq!(reads, ["a+b", "c"]);
    assert_eq!(unfuse(f, &applied.record).unwrap(), g);
    assert!(applied.record.summary().contains("added a+b"));
}

#[test]
fn fusion_refuses_what_is_not_a_fusable_chain_pair_and_names_the_place() {
    let g = chain_with_reader();
    let e = apply(&g, &t("fuse(a,c)")).unwrap_err().to_string();
    assert!(e.contains("fuse(a,c)") && e.contains("a -> c"), "{e}");
    assert!(e.contains("not a predecessor"), "{e}");
    let e = apply(&g, &t("fuse(c,d)")).unwrap_err().to_string();
    assert!(e.contains("jobs"), "{e}");
    let e = apply(&g, &t("fuse(a,zz)")).unwrap_err().to_string();
    assert!(e.contains("'zz'") && e.contains("no such step"), "{e}");
    // A fork is not a chain.
    let fork = wf("name: f\nsteps:\n\
        - {name: a, jobs: 1, work_s: 1}\n\
        - {name: b, after: [a], jobs: 1, work_s: 1}\n\
        - {name: c, after: [a], jobs: 1, work_s: 1}\n");
    let e = apply(&fork, &t("fuse(a,b)")).unwrap_err().to_string();
    assert!(e.contains("2 successors"), "{e}");
}

#[test]
fn a_fused_chain_has_one_cold_start_and_one_transition_fewer_in_the_simulator() {
    let g = wf("name: p\nsteps:\n\
        - {name: a, jobs: 1, work_s: 0.5, max_fan_out: 1, input_mb: 1, output_mb: 1}\n\
        - {name: b, after: [a], jobs: 1, work_s: 0.5, max_fan_out: 1, input_mb: 1, output_mb: 1}\n");
    let fused = apply(&g, &t("fuse(a,b)")).unwrap().workflow;
    // One request every ~3 hours, evenly spaced: every instance starts cold.
    let mut opts = EvalOptions::new(Platform::lambda(), 60.0, 1e-4);
    opts.arrivals = platform::Arrivals::Fixed { rate_per_s: 1e-4 };
    opts.n_requests = 20;
    let (m0, r0) = evaluate_report(&g, &opts).unwrap();
    let (m1, r1) = evaluate_report(&fused, &opts).unwrap();
    let cold = |m: &topology::objective::Measured| m.cold_start_rate * m.invocations_per_request;
    assert!((cold(&m0) - 2.0).abs() < 1e-9, "{m0:?}");
    assert!((cold(&m1) - 1.0).abs() < 1e-9, "{m1:?}");
    let transitions = |r: &platform::SimReport| {
        r.steps.iter().map(|s| s.n_runs).sum::<u64>() as f64 / r.requests as f64
    };
    assert_eq!(transitions(&r0), 2.0);
    assert_eq!(transitions(&r1), 1.0);
    assert!(m1.latency_s_mean < m0.latency_s_mean, "{m0:?} {m1:?}");
}

#[test]
fn parallelize_drops_a_control_only_edge_and_refuses_one_that_carries_data() {
    let g = wf("name: q\nsteps:\n\
        - {name: a, jobs: 1, work_s: 1}\n\
        - {name: b, after: [a], jobs: 1, work_s: 1}\n\
        - {name: c, after: [b], data_from: [a], jobs: 1, work_s: 1}\n");
    let e = apply(&g, &t("parallelize(a,b)")).unwrap_err().to_string();
    assert!(e.contains("carries data") && e.contains("a -> b"), "{e}");
    let p = apply(&g, &t("parallelize(b,c)")).unwrap();
    let w = &p.workflow;
    let c = w.find("c").unwrap();
    // c still runs after the step it reads.
    let after: Vec<&str> = w
        .preds(c)
        .iter()
        .map(|&x| w.step(x).name.as_str())
        .collect();
    assert_eq!(after, ["a"]);
    assert!(w.succs(w.find("b").unwrap()).is_empty());
    assert_eq!(undo(w, &p.record).unwrap(), g);
    // A choice's branch keeps the choice above it.
    let ch = wf("name: ch\nsteps:\n\
        - {name: s, jobs: 1, work_s: 1}\n\
        - {name: k, kind: choice, after: [s], choices: [{next: x, probability: 0.5}, {next: y, probability: 0.5}]}\n\
        - {name: x, after: [k], data_from: [s], jobs: 1, work_s: 1}\n\
        - {name: y, after: [k], jobs: 1, work_s: 1}\n");
    let e = apply(&ch, &t("parallelize(k,x)")).unwrap_err().to_string();
    assert!(e.contains("choice"), "{e}");
}

#[test]
fn batch_and_shard_change_what_they_say_and_undo() {
    let g = wf("name: s\nsteps:\n\
        - {name: a, jobs: 8, work_s: 1, max_fan_out: 1, output_mb: 2}\n\
        - {name: b, after: [a], jobs: 1, work_s: 1}\n");
    let b = apply(&g, &t("batch(b,4,0.5)")).unwrap();
    let batch = b
        .workflow
        .step(b.workflow.find("b").unwrap())
        .batch
        .unwrap();
    assert_eq!((batch.size, batch.window_s), (4, 0.5));
    assert_eq!(undo(&b.workflow, &b.record).unwrap(), g);
    let e = apply(&b.workflow, &t("batch(b,8,1)"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already batched") && e.contains("'b'"), "{e}");
    let e = apply(&g, &t("batch(b,1,1)")).unwrap_err().to_string();
    assert!(e.contains("batch size 1"), "{e}");

    let s = apply(&g, &t("shard(a,4)")).unwrap();
    let w = &s.workflow;
    let a = w.find("a").unwrap();
    let m = w.find("a-merge").unwrap();
    assert_eq!(w.step(a).max_fan_out, Some(4));
    assert_eq!(w.succs(a), [m]);
    assert_eq!(w.preds(w.find("b").unwrap()), [m]);
    assert!((w.step(m).input_mb - 16.0).abs() < 1e-12);
    assert_eq!(undo(w, &s.record).unwrap(), g);
    let e = apply(&g, &t("shard(a,16)")).unwrap_err().to_string();
    assert!(e.contains("8 independent jobs"), "{e}");
    let e = apply(&g, &t("shard(b,2)")).unwrap_err().to_string();
    assert!(e.contains("'b'"), "{e}");
}

#[test]
fn transforms_parse_from_and_print_to_the_same_text() {
    for s in [
        "fuse(a,b)",
        "parallelize(x y,z)",
        "batch(s,16,1)",
        "batch(s,4,0.25)",
        "shard(m,8)",
    ] {
        assert_eq!(t(s).to_string(), s);
    }
    for bad in [
        "fuse(a)",
        "fuse a,b",
        "merge(a,b)",
        "batch(s,x,1)",
        "shard(s,)",
        "batch(s,4,inf)",
    ] {
        let e = bad.parse::<Transform>().unwrap_err().to_string();
        assert!(e.contains(bad), "{e}");
    }
}

#[test]
fn the_canonical_form_ignores_order_and_dedups_what_two_paths_reach() {
    let g = wf("name: c3\nsteps:\n\
        - {name: a, jobs: 2, work_s: 1.0, parallel_fraction: 0.5, input_mb: 5, output_mb: 4}\n\
        - {name: b, after: [a], jobs: 2, work_s: 0.3, input_mb: 4, output_mb: 2}\n\
        - {name: c, after: [b], jobs: 2, work_s: 0.7, parallel_fraction: 0.9, input_mb: 2, output_mb: 1}\n\
        - {name: d, after: [c], jobs: 1, work_s: 0.2, input_mb: 1, output_mb: 1}\n");
    let one = apply_all(&g, &[t("fuse(a,b)"), t("fuse(a+b,c)")])
        .unwrap()
        .0;
    let two = apply_all(&g, &[t("fuse(b,c)"), t("fuse(a,b+c)")])
        .unwrap()
        .0;
    assert_eq!(canonical_form(&one), canonical_form(&two));
    // File order of steps does not matter.
    let mut spec = g.to_spec();
    spec.steps.swap(0, 1);
    spec.steps.swap(2, 3);
    let shuffled = Workflow::from_spec(&spec, "x").unwrap();
    assert_eq!(canonical_key(&shuffled), canonical_key(&g));
    // An attribute does.
    let b = apply(&g, &t("batch(a,4,1)")).unwrap().workflow;
    assert_ne!(canonical_key(&b), canonical_key(&g));
    let kept = dedup(vec![g.clone(), shuffled, b.clone(), g.clone()]);
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1], b);
}

#[test]
fn candidates_are_deterministic_and_every_one_applies() {
    let g = chain_with_reader();
    let opts = CandidateOptions::default();
    let c = candidates(&g, &opts);
    assert_eq!(c, candidates(&g, &opts));
    let names: Vec<String> = c.iter().map(Transform::to_string).collect();
    assert!(names.contains(&"fuse(a,b)".to_string()), "{names:?}");
    assert!(names.contains(&"batch(d,16,1)".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("parallelize")),
        "{names:?}"
    );
    for x in &c {
        apply(&g, x).unwrap_or_else(|e| panic!("{x}: {e}"));
    }
}

/// A random DAG: each step after a subset of earlier ones, reading a subset of its predecessors.
fn random_workflow(seed: u64, n: usize) -> Workflow {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut yaml = String::from("name: r\nsteps:\n");
    for i in 0..n {
        let mut after = Vec::new();
        for j in 0..i {
            if next() % 3 == 0 || (j + 1 == i && next() % 2 == 0) {
                after.push(format!("s{j}"));
            }
        }
        let data: Vec<String> = after.iter().filter(|_| next() % 4 != 0).cloned().collect();
        let jobs = [1, 1, 4, 8][(next() % 4) as usize];
        let cap = if jobs > 1 && next() % 2 == 0 {
            ", max_fan_out: 1"
        } else {
            ""
        };
        yaml.push_str(&format!(
            "- {{name: s{i}, after: [{}], data_from: [{}], jobs: {jobs}, work_s: {}, input_mb: {}, output_mb: {}{cap}}}\n",
            after.join(", "),
            data.join(", "),
            0.1 + (next() % 50) as f64 / 10.0,
            (next() % 20) as f64,
            (next() % 20) as f64,
        ));
    }
    wf(&yaml)
}

/// Every step a transformed workflow reads is still an ancestor of the step that reads it.
fn data_flows_in_order(w: &Workflow) -> bool {
    w.step_ids().all(|id| {
        w.step(id).data_from.iter().all(|&d| {
            let mut stack = w.preds(id).to_vec();
            let mut seen = vec![false; w.n_steps()];
            while let Some(p) = stack.pop() {
                if p == d {
                    return true;
                }
                if !seen[p.idx()] {
                    seen[p.idx()] = true;
                    stack.extend_from_slice(w.preds(p));
                }
            }
            false
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn every_candidate_keeps_the_data_flow_and_undoes_exactly(seed in any::<u64>(), n in 2usize..9) {
        let g = random_workflow(seed, n);
        for c in candidates(&g, &CandidateOptions::default()) {
            let a = apply(&g, &c).unwrap();
            prop_assert!(data_flows_in_order(&a.workflow), "{c}");
            prop_assert_eq!(&undo(&a.workflow, &a.record).unwrap(), &g);
            // Round trip through the file format.
            let spec: WorkflowSpec = a.workflow.to_spec();
            prop_assert_eq!(&Workflow::from_spec(&spec, "x").unwrap(), &a.workflow);
            prop_assert!(a.workflow.steps().iter().filter(|s| s.kind == StepKind::Task).count() >= 1);
        }
    }
}
