//! A canonical form of a workflow graph, to deduplicate candidate topologies.
//!
//! Two workflows have the same form when they have the same steps (by name) with the same attributes
//! and the same control and data edges, whatever the file order of the steps and of their `after` and
//! `data_from` lists. Numbers are written with 9 significant digits, so that the same topology reached
//! by two transform orders (`fuse(a,b)` then `fuse(a+b,c)`, or `fuse(b,c)` then `fuse(a,b+c)`) has
//! one form although its sums were added in another order. Transforms name the steps they make
//! deterministically (`a+b`, `s-merge`), so names identify steps across candidates.

use std::fmt::Write;

use workflow::Workflow;

/// The canonical text of `wf` (one line per step, sorted by name).
pub fn canonical_form(wf: &Workflow) -> String {
    let name = |id: workflow::StepId| wf.step(id).name.as_str();
    let mut lines: Vec<String> = wf
        .step_ids()
        .map(|id| {
            let s = wf.step(id);
            let mut after: Vec<&str> = wf.preds(id).iter().map(|&p| name(p)).collect();
            after.sort_unstable();
            let mut data: Vec<&str> = s.data_from.iter().map(|&p| name(p)).collect();
            data.sort_unstable();
            let mut choices: Vec<String> = s
                .choices
                .iter()
                .map(|(c, p)| format!("{}:{}", name(*c), num(*p)))
                .collect();
            choices.sort_unstable();
            let mut line = String::new();
            let _ = write!(
                line,
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{}|{:?}|after={}|data={}|choices={}",
                s.name,
                s.kind.as_str(),
                s.function,
                s.jobs,
                num(s.work_s),
                num(s.parallel_fraction),
                s.memory_mb_per_worker,
                num(s.input_mb),
                num(s.output_mb),
                num(s.wait_s),
                s.cold_start_s.map(num),
                s.max_fan_out,
                s.max_concurrency,
                s.batch
                    .map(|b| format!("{}/{}", b.size, num(b.window_s)))
                    .unwrap_or_default(),
                s.retry,
                after.join(","),
                data.join(","),
                choices.join(","),
            );
            line
        })
        .collect();
    lines.sort_unstable();
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// A 64-bit FNV-1a hash of [`canonical_form`].
pub fn canonical_key(wf: &Workflow) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical_form(wf).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Keeps the first workflow of every canonical form, in order.
pub fn dedup(wfs: Vec<Workflow>) -> Vec<Workflow> {
    let mut seen = std::collections::BTreeSet::new();
    wfs.into_iter()
        .filter(|w| seen.insert(canonical_form(w)))
        .collect()
}

fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.8e}")
    }
}
