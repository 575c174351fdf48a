//! Common random numbers: every instance draws from its own streams keyed by (seed, request, step,
//! instance), so changing one instance's warm state, or another step's configuration, leaves the other
//! draws exactly as they were.

use des::SimTime;
use platform::exec::{InstanceSource, run_step_keyed};
use platform::{Platform, StepConfig};

use crate::{task, workflow};

/// Instances warm or cold by a fixed pattern; records when each instance frees, in instance order.
struct Pattern {
    warm: Vec<bool>,
    next: usize,
    freed: Vec<SimTime>,
}

impl Pattern {
    fn new(warm: &[bool]) -> Self {
        Pattern {
            warm: warm.to_vec(),
            next: 0,
            freed: Vec::new(),
        }
    }
}

impl InstanceSource for Pattern {
    fn acquire(&mut self, _invoke: SimTime) -> bool {
        self.next += 1;
        self.warm[self.next - 1]
    }
    fn release(&mut self, free_at: SimTime) {
        self.freed.push(free_at);
    }
}

/// One step of 8 jobs with storage I/O on the noisy Lambda-like profile (log-normal cold starts and
/// storage latency, stragglers), fanned out to 4 instances.
fn run(warm: &[bool], step_key: u64) -> Vec<SimTime> {
    let mut spec = task("s", &[], 8, 0.5, 0.5);
    spec.input_mb = Some(4.0);
    spec.output_mb = Some(2.0);
    let wf = workflow(vec![spec]);
    let platform = Platform::lambda();
    let mut source = Pattern::new(warm);
    let mut scratch = Vec::new();
    run_step_keyed(
        &platform,
        &wf.steps()[0],
        StepConfig::new(2048, 4, 2),
        SimTime::ZERO,
        &mut source,
        step_key,
        &mut scratch,
    );
    source.freed
}

#[test]
fn a_cold_start_does_not_shift_other_instances_draws() {
    for step_key in [0, 1, 0xdead_beef, u64::MAX] {
        let all_cold = run(&[false; 4], step_key);
        let mixed = run(&[true, false, true, false], step_key);
        // Instances 1 and 3 are cold in both runs: their cold start and execution are the same draws.
        assert_eq!(all_cold[1], mixed[1], "key {step_key}");
        assert_eq!(all_cold[3], mixed[3], "key {step_key}");
        // Instances 0 and 2 lost exactly their cold start (a positive log-normal draw), nothing else:
        // the warm run frees them earlier, by the same amount as an all-warm run.
        let all_warm = run(&[true; 4], step_key);
        for j in [0, 2] {
            assert!(all_cold[j] > mixed[j], "key {step_key}, instance {j}");
            assert_eq!(mixed[j], all_warm[j], "key {step_key}, instance {j}");
        }
    }
}

#[test]
fn instances_draw_from_different_streams() {
    // With equal job counts and no warm/cold difference, instances differ only by their noise.
    let freed = run(&[true; 4], 7);
    assert!(
        freed.windows(2).any(|w| w[0] != w[1]),
        "every instance got the same draws: {freed:?}"
    );
    assert_ne!(run(&[true; 4], 8), freed, "another step key, other draws");
}

/// Two independent branches of different functions: changing `a`'s configuration changes none of
/// `b`'s durations, request by request (its start, warm pool and draws do not depend on `a`).
#[test]
fn another_steps_configuration_leaves_a_steps_durations_unchanged() {
    let mut a = task("a", &[], 6, 1.0, 0.5);
    a.function = Some("fa".into());
    let mut b = task("b", &[], 6, 1.0, 0.5);
    b.function = Some("fb".into());
    b.input_mb = Some(3.0);
    let wf = workflow(vec![a, b]);
    let platform = Platform::lambda();
    let run = |a_cfg: StepConfig| {
        crate::run_fixed(
            &wf,
            &platform,
            vec![a_cfg, StepConfig::new(1024, 3, 2)],
            60,
            0.5,
            11,
        )
    };
    let r1 = run(StepConfig::new(1769, 1, 1));
    let r2 = run(StepConfig::new(4096, 6, 2));
    let durations = |r: &platform::SimReport, step: usize| -> Vec<Option<f64>> {
        r.request_records
            .iter()
            .map(|rec| rec.step_duration_s[step])
            .collect()
    };
    assert_ne!(durations(&r1, 0), durations(&r2, 0), "a's change shows");
    assert_eq!(durations(&r1, 1), durations(&r2, 1));
}
