//! Each heuristic's choice on a crafted observation.

use cluster::{
    Action, FunctionView, MachineView, Mode, Observation, PendingView, Policy, Resources,
};
use des::{RngStreams, SimTime};
use scheduler::{Fcfs, Packer, RandomPolicy, Sjf, Tetris};

fn secs(s: u64) -> SimTime {
    SimTime::from_ms(s * 1000)
}

fn job(id: u64, ready_s: u64, len_s: u64, demand: [f64; 2]) -> PendingView {
    PendingView {
        invocation_id: id,
        function_idx: 0,
        ready: secs(ready_s),
        demand: Resources::new(&demand),
        duration_estimate: secs(len_s),
        slo: None,
    }
}

/// DeepRM mode, one machine with [5, 5] slots free for the whole horizon (capacity [10, 10]).
/// Jobs: 0 oldest, 10 steps, [2, 2]; 1, 1 step, [4, 1]; 2, 2 steps, [6, 1] (does not fit);
/// 3, 3 steps, [5, 5].
fn deeprm_state(jobs: Vec<PendingView>) -> Observation {
    let free = Resources::new(&[5.0, 5.0]);
    Observation {
        mode: Mode::DeepRm,
        now: secs(5),
        resource_scale: Resources::new(&[1.0, 1.0]),
        machines: vec![MachineView {
            capacity: Resources::new(&[10.0, 10.0]),
            free,
            free_profile: vec![free; 20],
            idle_memory_mb: 0.0,
            speed: 1.0,
        }],
        pending: jobs,
        pending_capacity: Some(10),
        n_backlog: 0,
        running: vec![],
        functions: vec![],
        warm_idle: vec![],
        function_edges: vec![],
        cpu_shared: false,
    }
}

fn standard_jobs() -> Vec<PendingView> {
    vec![
        job(0, 0, 10, [2.0, 2.0]),
        job(1, 1, 1, [4.0, 1.0]),
        job(2, 2, 2, [6.0, 1.0]),
        job(3, 3, 3, [5.0, 5.0]),
    ]
}

fn decide(p: &mut dyn Policy, obs: &Observation) -> Action {
    p.decide(obs, &mut RngStreams::new(0).stream("policy"))
}

fn place(p: usize) -> Action {
    Action::Place {
        pending_idx: p,
        machine_idx: 0,
    }
}

#[test]
fn deeprm_choices() {
    let obs = deeprm_state(standard_jobs());
    // FCFS: the oldest job, 0.
    assert_eq!(decide(&mut Fcfs, &obs), place(0));
    // SJF: the shortest that fits, 1 (1 step).
    assert_eq!(decide(&mut Sjf, &obs), place(1));
    // Packer: alignment free . demand = 20, 25, -, 50: job 3.
    assert_eq!(decide(&mut Packer, &obs), place(3));
    // Tetris* normalises both terms by their means over the candidates: alignment mean 95 / 3, SJF mean
    // (0.1 + 1 + 1/3) / 3 = 0.4778. Knob 0.5: job 0 0.420, job 1 1.441, job 3 1.138: job 1.
    assert_eq!(decide(&mut Tetris::default(), &obs), place(1));
    // Knob 0.9: job 1 0.9 * 0.789 + 0.1 * 2.093 = 0.920, job 3 0.9 * 1.579 + 0.1 * 0.698 = 1.491: job 3.
    assert_eq!(decide(&mut Tetris::new(0.9).unwrap(), &obs), place(3));
    // Knob 0 is SJF, knob 1 is Packer.
    assert_eq!(decide(&mut Tetris::new(0.0).unwrap(), &obs), place(1));
    assert_eq!(decide(&mut Tetris::new(1.0).unwrap(), &obs), place(3));
    assert!(Tetris::new(1.5).is_err());
}

#[test]
fn fcfs_waits_when_the_oldest_does_not_fit() {
    let mut jobs = standard_jobs();
    jobs[2].ready = SimTime::ZERO;
    jobs[2].invocation_id = 0;
    jobs[0].invocation_id = 9;
    let obs = deeprm_state(jobs);
    assert_eq!(decide(&mut Fcfs, &obs), Action::Wait);
    // The others skip it.
    assert_eq!(decide(&mut Sjf, &obs), place(1));
}

#[test]
fn nothing_fits_means_wait() {
    let obs = deeprm_state(vec![job(0, 0, 2, [6.0, 1.0]), job(1, 0, 15, [1.0, 7.0])]);
    for p in [
        &mut Fcfs as &mut dyn Policy,
        &mut Sjf,
        &mut Packer,
        &mut Tetris::default(),
    ] {
        assert_eq!(decide(p, &obs), Action::Wait, "{}", p.name());
    }
}

#[test]
fn serverless_prefers_warm_machines() {
    // Two identical machines; machine 1 holds an idle warm instance of function 0 (its memory is not free).
    let f = FunctionView {
        memory_mb: 512.0,
        cpu_millicores: 300.0,
        cold_start_s_mean: 0.3,
        duration_s_p50: 1.0,
        slo_s: 2.0,
        n_warm_idle: 1,
        n_busy: 0,
        n_arrivals: 1,
        last_arrival: None,
    };
    let m = |free_mem: f64, idle: f64| MachineView {
        capacity: Resources::new(&[1000.0, 2048.0]),
        free: Resources::new(&[1000.0, free_mem]),
        free_profile: vec![],
        idle_memory_mb: idle,
        speed: 1.0,
    };
    let obs = Observation {
        mode: Mode::Serverless,
        now: secs(1),
        resource_scale: Resources::new(&[100.0, 204.8]),
        machines: vec![m(2048.0, 0.0), m(1536.0, 512.0)],
        pending: vec![PendingView {
            invocation_id: 0,
            function_idx: 0,
            ready: secs(1),
            demand: Resources::new(&[300.0, 512.0]),
            duration_estimate: secs(1),
            slo: Some(secs(2)),
        }],
        pending_capacity: None,
        n_backlog: 0,
        running: vec![],
        functions: vec![f],
        warm_idle: vec![0, 1],
        function_edges: vec![],
        cpu_shared: false,
    };
    let warm = Action::Place {
        pending_idx: 0,
        machine_idx: 1,
    };
    assert_eq!(decide(&mut Fcfs, &obs), warm);
    assert_eq!(decide(&mut Sjf, &obs), warm);
    // Packer prefers the emptier machine 0 (alignment 10 * 2.5 + 10 * 2.5 = 50 against 10 * 2.5 + 7.5 * 2.5).
    assert_eq!(
        decide(&mut Packer, &obs),
        Action::Place {
            pending_idx: 0,
            machine_idx: 0
        }
    );
    // Random returns only actions that can be carried out.
    let mut rng = RngStreams::new(4).stream("policy");
    for _ in 0..50 {
        match RandomPolicy.decide(&obs, &mut rng) {
            Action::Place {
                pending_idx,
                machine_idx,
            } => assert!(obs.fits_now(pending_idx, machine_idx)),
            Action::Wait => {}
        }
    }
}
