//! Fitting with fewer samples than a case or a memory segment needs, and with degenerate samples (one
//! memory size, duplicated rows, one sample): a fallback fit with a warning, never a panic; invalid
//! values are errors naming the sample.

use perfmodel::fit::{ErrorReport, FunctionFit, cross_validate, fit_function};
use perfmodel::{FitOptions, ModelChoice, PlatformFacts, Sample};
use platform::StepConfig;

fn facts() -> PlatformFacts {
    PlatformFacts::of(&platform::Platform::lambda())
}

fn sample(memory_mb: u32, duration_s: f64) -> Sample {
    Sample {
        function: "f".into(),
        memory_mb,
        fan_out: 1,
        workers: 1,
        jobs: 1,
        duration_s,
    }
}

fn all_options() -> [FitOptions; 4] {
    [
        FitOptions::default(),
        FitOptions::paper(),
        FitOptions {
            choice: ModelChoice::Eq1,
            ..FitOptions::default()
        },
        FitOptions {
            choice: ModelChoice::Amdahl,
            ..FitOptions::default()
        },
    ]
}

/// Fits and leave-one-out cross-validates like `faastune fit --samples` does.
fn fit_like_the_cli(samples: &[Sample], opts: FitOptions) -> (FunctionFit, ErrorReport) {
    let f = facts();
    let report = cross_validate("f", samples, &f, opts, samples.len()).unwrap();
    let fit = fit_function("f", samples, &f, opts).unwrap();
    (fit, report)
}

/// The reproduction: three samples at 1024, 2048 and 3008 MB used to panic (index out of
/// bounds) in the leave-one-out fold without the 1024 MB sample.
#[test]
fn three_samples_across_m_s_fit_with_a_warning() {
    let s = [sample(1024, 2.0), sample(2048, 1.1), sample(3008, 1.0)];
    for opts in all_options() {
        let (fit, report) = fit_like_the_cli(&s, opts);
        assert_eq!(report.n, 3);
        assert!(report.max_rel_error.is_finite(), "{report:?}");
        if opts.choice != ModelChoice::Amdahl {
            assert!(
                fit.warnings
                    .iter()
                    .any(|w| w.contains("function 'f'") && w.contains("one case-2 curve")),
                "{:?}",
                fit.warnings
            );
        }
        for m in [1024, 2048, 3008] {
            let d = fit.model.duration_s(&facts(), StepConfig::new(m, 1, 1));
            assert!(d.is_finite() && d > 0.0, "{m}: {d}");
        }
    }
}

#[test]
fn samples_only_above_m_s_fit_one_curve() {
    for s in [
        vec![sample(2048, 1.0)],
        vec![sample(2048, 1.0), sample(3008, 0.9)],
    ] {
        let fit = fit_function("f", &s, &facts(), FitOptions::default()).unwrap();
        assert!(!fit.warnings.is_empty());
        let d = fit.model.duration_s(&facts(), StepConfig::new(2048, 1, 1));
        if s.len() == 1 {
            // One sample is reproduced (tolerance 1e-6).
            assert!((d - 1.0).abs() < 1e-6, "{d}");
        } else {
            // Above m_s with one worker Eq. 1's k is capped at 1: both samples have the same
            // features, and the fit is their mean (relative least squares: between the two).
            assert!((0.9..=1.0).contains(&d), "{d}");
            fit_like_the_cli(&s, FitOptions::default());
        }
    }
}

#[test]
fn a_segment_with_two_samples_uses_the_other_segments_fit_with_a_warning() {
    let mut s: Vec<Sample> = [256, 512, 768, 1024]
        .iter()
        .map(|&m| sample(m, 1769.0 / f64::from(m)))
        .collect();
    s.extend([sample(2048, 1.0), sample(3008, 1.0)]);
    let fit = fit_function("f", &s, &facts(), FitOptions::default()).unwrap();
    assert!(
        fit.warnings
            .iter()
            .any(|w| w.contains("2 sample(s) at or above m_s = 1769 MB")),
        "{:?}",
        fit.warnings
    );
}

#[test]
fn case_1_needs_four_samples_in_its_segment() {
    let s = [sample(2048, 1.0), sample(2560, 0.9), sample(3008, 0.85)];
    let fit = fit_function("f", &s, &facts(), FitOptions::default()).unwrap();
    assert!(
        fit.warnings.iter().any(|w| w.contains("case 2 only")),
        "{:?}",
        fit.warnings
    );
    let perfmodel::DurationModel::Eq1 { high, .. } = fit.model.duration else {
        panic!("{:?}", fit.model)
    };
    assert!(matches!(high, perfmodel::Eq1::Case2 { .. }), "{high:?}");
}

#[test]
fn many_samples_fit_without_warnings() {
    let s: Vec<Sample> = (1..=16)
        .map(|i| {
            let m = 128 + 192 * (i - 1);
            sample(m, 0.2 + 1.0 / (f64::from(m) / 1769.0).min(1.0))
        })
        .collect();
    let fit = fit_function("f", &s, &facts(), FitOptions::default()).unwrap();
    assert!(fit.warnings.is_empty(), "{:?}", fit.warnings);
}

#[test]
fn samples_at_one_memory_size_fit() {
    for memory_mb in [512, 1769, 3008] {
        // Same memory, fan-outs and workers vary (jobs 8).
        let mut s = Vec::new();
        for (p, q) in [(1, 1), (2, 1), (4, 2), (8, 1)] {
            s.push(Sample {
                function: "f".into(),
                memory_mb,
                fan_out: p,
                workers: q,
                jobs: 8,
                duration_s: 0.1 + 8.0 / f64::from(p * q),
            });
        }
        for opts in all_options() {
            let (fit, report) = fit_like_the_cli(&s, opts);
            assert!(report.mean_rel_error.is_finite(), "{report:?}");
            let d = fit
                .model
                .duration_s(&facts(), StepConfig::new(memory_mb, 2, 1));
            assert!(d.is_finite() && d >= 0.0, "{d}");
        }
        // Identical configurations only: every feature constant.
        let same = vec![sample(memory_mb, 1.5); 4];
        for opts in all_options() {
            let (fit, _) = fit_like_the_cli(&same, opts);
            let d = fit
                .model
                .duration_s(&facts(), StepConfig::new(memory_mb, 1, 1));
            assert!((d - 1.5).abs() < 1e-3, "{d}");
        }
    }
}

#[test]
fn duplicated_rows_fit_like_the_originals() {
    let base: Vec<Sample> = [256, 512, 1024, 2048, 3008, 4096]
        .iter()
        .map(|&m| sample(m, 0.1 + 1.0 / (f64::from(m) / 1769.0).min(1.5)))
        .collect();
    let twice: Vec<Sample> = base.iter().chain(&base).cloned().collect();
    let a = fit_function("f", &base, &facts(), FitOptions::default()).unwrap();
    let b = fit_function("f", &twice, &facts(), FitOptions::default()).unwrap();
    for m in [256, 1024, 3008] {
        let cfg = StepConfig::new(m, 1, 1);
        let (da, db) = (
            a.model.duration_s(&facts(), cfg),
            b.model.duration_s(&facts(), cfg),
        );
        // Same points with double weight: the same curve to within 5% (not exactly: AICc's penalty
        // depends on the number of samples, so the chosen case and knee may differ).
        assert!((da - db).abs() <= 5e-2 * da, "{m}: {da} vs {db}");
    }
    fit_like_the_cli(&twice, FitOptions::default());
}

#[test]
fn invalid_and_out_of_range_samples_are_errors_naming_the_sample() {
    for (bad, what) in [
        (sample(1024, 0.0), "duration_s"),
        (sample(1024, -1.0), "duration_s"),
        (sample(1024, f64::NAN), "duration_s"),
        (sample(1024, f64::INFINITY), "duration_s"),
        (sample(1024, 1e308), "duration_s"),
        (sample(0, 1.0), "memory_mb"),
        (sample(u32::MAX, 1.0), "memory_mb"),
    ] {
        let s = [sample(512, 1.0), bad];
        let e = fit_function("f", &s, &facts(), FitOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("function 'f', sample 1:") && e.contains(what),
            "{e}"
        );
        let e = cross_validate("f", &s, &facts(), FitOptions::default(), 2)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("function 'f', sample 1:"), "{e}");
    }
}
