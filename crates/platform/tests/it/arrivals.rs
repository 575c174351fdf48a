//! Time-varying arrivals: schedule streams (Poisson per segment and exact counts), schedule files and
//! their errors, `workload` patterns and Azure Functions 2019 traces (a synthetic one written here and
//! the shared sample when `../shared` is present).

use std::path::{Path, PathBuf};

use des::{RngStreams, SimRng, SimTime};
use platform::{Arrivals, Error, RateSchedule};
use rand_distr::{Distribution as _, Exp};

fn rng(seed: u64) -> SimRng {
    RngStreams::new(seed).stream("arrivals")
}

/// Every arrival of a stream that ends by itself (at most `max`, so a broken stream fails, not hangs).
fn times(a: &Arrivals, seed: u64, max: usize) -> Vec<SimTime> {
    let mut s = a.stream(rng(seed));
    let mut out = Vec::new();
    while let Some(t) = s.next() {
        out.push(t);
        assert!(out.len() <= max, "more than {max} arrivals");
    }
    assert_eq!(s.next(), None, "an ended stream stays ended");
    out
}

fn schedule(starts_s: &[f64], rates_per_s: &[f64], end_s: Option<f64>, exact: bool) -> Arrivals {
    Arrivals::schedule(RateSchedule {
        name: "test".into(),
        starts_s: starts_s.to_vec(),
        rates_per_s: rates_per_s.to_vec(),
        end_s,
        exact_counts: exact,
    })
}

fn count_in(times: &[SimTime], lo_s: f64, hi_s: f64) -> usize {
    times
        .iter()
        .filter(|t| t.as_secs_f64() >= lo_s && t.as_secs_f64() < hi_s)
        .count()
}

/// A fresh directory under the system's temporary directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "faastune-it-arrivals-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn poisson_and_fixed_streams_draw_as_before() {
    // The pre-schedule code, written out: time zero, then one Exp(rate) gap per arrival, each rounded to
    // whole microseconds and added.
    for (seed, rate) in [(1, 0.5), (7, 10.0), (42, 3_000.0)] {
        let mut old = rng(seed);
        let mut t = SimTime::ZERO;
        let mut expected = vec![t];
        for _ in 0..2_000 {
            t += SimTime::from_secs_f64(Exp::new(rate).unwrap().sample(&mut old));
            expected.push(t);
        }
        let poisson = Arrivals::poisson(rate);
        let mut s = poisson.stream(rng(seed));
        let got: Vec<SimTime> = (0..expected.len()).map(|_| s.next().unwrap()).collect();
        assert_eq!(got, expected, "poisson:{rate} seed {seed}");

        let gap = SimTime::from_secs_f64(1.0 / rate);
        let fixed = Arrivals::Fixed { rate_per_s: rate };
        let mut s = fixed.stream(rng(seed));
        for k in 0..2_000u64 {
            assert_eq!(
                s.next(),
                Some(SimTime(gap.as_us() * k)),
                "fixed:{rate} #{k}"
            );
        }
    }
}

#[test]
fn schedule_segment_counts_match_their_rates() {
    // Expected counts 5,000, 0 and 20,000; Poisson standard deviations 71 and 141. Tolerance: 5 standard
    // deviations (a correct stream fails with probability below 1e-6 per seed).
    let a = schedule(
        &[0.0, 100.0, 200.0],
        &[50.0, 0.0, 200.0],
        Some(300.0),
        false,
    );
    for seed in [1, 2, 3] {
        let t = times(&a, seed, 100_000);
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "nondecreasing");
        let (n0, n1, n2) = (
            count_in(&t, 0.0, 100.0),
            count_in(&t, 100.0, 200.0),
            count_in(&t, 200.0, 300.0),
        );
        assert!((n0 as f64 - 5_000.0).abs() <= 5.0 * 5_000f64.sqrt(), "{n0}");
        assert_eq!(n1, 0, "a zero-rate segment yields nothing");
        assert!(
            (n2 as f64 - 20_000.0).abs() <= 5.0 * 20_000f64.sqrt(),
            "{n2}"
        );
        assert_eq!(n0 + n1 + n2, t.len(), "nothing at or after the end");
    }
}

#[test]
fn gaps_crossing_many_short_segments_keep_the_rate() {
    // 10,000 segments of 0.1 s alternating 10 and 30 per second: a gap almost always crosses a boundary,
    // so a stream that carried gaps over (or dropped the redraw) would miss the counts. Expected 5,000
    // and 15,000; tolerance 5 standard deviations (354 and 612).
    let n = 10_000;
    let starts: Vec<f64> = (0..n).map(|i| i as f64 * 0.1).collect();
    let rates: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 10.0 } else { 30.0 })
        .collect();
    let a = schedule(&starts, &rates, Some(n as f64 * 0.1), false);
    a.check().unwrap();
    let t = times(&a, 5, 100_000);
    let (mut slow, mut fast) = (0usize, 0usize);
    for x in &t {
        // Whole microseconds: the segment of an arrival is exact in integers.
        if (x.as_us() / 100_000) % 2 == 0 {
            slow += 1;
        } else {
            fast += 1;
        }
    }
    assert!(
        (slow as f64 - 5_000.0).abs() <= 5.0 * 5_000f64.sqrt(),
        "{slow}"
    );
    assert!(
        (fast as f64 - 15_000.0).abs() <= 5.0 * 15_000f64.sqrt(),
        "{fast}"
    );
}

#[test]
fn exact_counts_are_exact() {
    // round(rate x length): 90, 15, 0, round(0.75) = 1, and 7.5 s of 2 per second = 15.
    let a = schedule(
        &[0.0, 60.0, 120.0, 180.0, 240.0],
        &[1.5, 0.25, 0.0, 0.0125, 2.0],
        Some(247.5),
        true,
    );
    a.check().unwrap();
    for seed in [1, 2] {
        let t = times(&a, seed, 1_000);
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "sorted");
        assert_eq!(count_in(&t, 0.0, 60.0), 90);
        assert_eq!(count_in(&t, 60.0, 120.0), 15);
        assert_eq!(count_in(&t, 120.0, 180.0), 0);
        assert_eq!(count_in(&t, 180.0, 240.0), 1);
        assert_eq!(count_in(&t, 240.0, 247.5), 15);
        assert_eq!(t.len(), 121);
    }
    // Uniform within the segment: 10,000 arrivals in [0, 100) s, each decile 1,000 (binomial standard
    // deviation 30; tolerance 5 of them).
    let u = schedule(&[0.0], &[100.0], Some(100.0), true);
    let t = times(&u, 3, 20_000);
    assert_eq!(t.len(), 10_000);
    for d in 0..10 {
        let c = count_in(&t, d as f64 * 10.0, (d + 1) as f64 * 10.0);
        assert!((c as f64 - 1_000.0).abs() <= 150.0, "decile {d}: {c}");
    }
}

#[test]
fn the_end_is_respected() {
    let end_s = 50.5;
    for exact in [false, true] {
        let a = schedule(&[0.0, 50.0], &[1_000.0, 2_000.0], Some(end_s), exact);
        let t = times(&a, 11, 100_000);
        assert!(!t.is_empty());
        assert!(
            t.iter().all(|x| *x <= SimTime::from_secs_f64(end_s)),
            "exact {exact}: last {:?}",
            t.last()
        );
        assert_eq!(a.end_s(), Some(end_s));
    }
    // Without an end the last rate lasts forever.
    let open = schedule(&[0.0, 1.0], &[0.0, 5.0], None, false);
    let mut s = open.stream(rng(1));
    for _ in 0..10_000 {
        assert!(s.next().unwrap() >= SimTime::from_secs_f64(1.0));
    }
    assert_eq!(open.end_s(), None);
    assert_eq!(open.mean_rate_per_s(), 5.0);
}

#[test]
fn same_seed_same_times() {
    for exact in [false, true] {
        let a = schedule(&[0.0, 30.0, 60.0], &[4.0, 0.5, 9.0], Some(120.0), exact);
        let first = times(&a, 21, 10_000);
        assert_eq!(first, times(&a, 21, 10_000), "exact {exact}");
        assert_ne!(first, times(&a, 22, 10_000), "exact {exact}");
    }
}

/// Writes `text` to a schedule file and parses it.
fn parse_file(dir: &Path, name: &str, text: &[u8]) -> Result<RateSchedule, Error> {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    RateSchedule::from_file(&path)
}

#[test]
fn schedule_files_parse() {
    let dir = temp_dir("parse");
    let s = parse_file(
        &dir,
        "ok.txt",
        b"\xef\xbb\xbf# a comment\r\nstart_s,rate_per_s\r\n\r\n0, 5  # five\r\n600 50\r\n660\t0\r\n720,5\r\n4320 end\r\n# done\r\n",
    )
    .unwrap();
    assert_eq!(s.starts_s, [0.0, 600.0, 660.0, 720.0]);
    assert_eq!(s.rates_per_s, [5.0, 50.0, 0.0, 5.0]);
    assert_eq!(s.end_s, Some(4320.0));
    assert!(!s.exact_counts);
    let path = dir.join("ok.txt");
    let a = Arrivals::parse(&format!("schedule:{}", path.display()), None, 1).unwrap();
    assert_eq!(a.describe(), format!("schedule:{}", path.display()));
    // (600 x 5 + 60 x 50 + 3600 x 5) / 4320
    let mean = (3_000.0 + 3_000.0 + 18_000.0) / 4_320.0;
    assert!((a.mean_rate_per_s() - mean).abs() < 1e-12);

    let open = RateSchedule::from_str("0 2\n10 3\n", "inline").unwrap();
    assert_eq!(open.end_s, None);
    assert_eq!(open.name, "schedule:inline");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_schedule_file_error_names_file_and_line() {
    let dir = temp_dir("errors");
    let cases: [(&str, &str, usize, &str); 13] = [
        ("one_number", "0 5\n10\n", 2, "expected two numbers"),
        ("three_numbers", "0 5 6\n", 1, "expected two numbers"),
        ("empty_field", "0,,5\n", 1, "expected two numbers"),
        ("not_a_number", "# c\n0 abc\n", 2, "not a number"),
        ("negative_rate", "0 1\n5 -1\n", 2, "rate -1"),
        ("infinite_rate", "0 inf\n", 1, "rate inf"),
        ("nan_rate", "0 1\n\n3 NaN\n", 3, "rate NaN"),
        ("rate_too_high", "0 2e6\n", 1, "rate 2000000"),
        ("first_not_zero", "5 1\n", 1, "must start at 0"),
        (
            "not_increasing",
            "0 1\n10 2\n10 3\n",
            3,
            "not after the previous",
        ),
        (
            "end_not_after",
            "0 1\n10 2\n10 end\n",
            3,
            "not after the last",
        ),
        ("after_end", "0 1\n10 end\n20 1\n", 3, "follow the end line"),
        ("negative_start", "0 1\n-5 1\n", 2, "start -5"),
    ];
    for (name, text, line, needle) in cases {
        let path = dir.join(format!("{name}.txt"));
        let e = parse_file(&dir, &format!("{name}.txt"), text.as_bytes()).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::Parse { line: Some(l), .. } if *l == line),
            "{name}: {msg}"
        );
        assert!(
            msg.starts_with(&format!("{}:{line}: ", path.display())),
            "{name}: {msg}"
        );
        assert!(msg.contains(needle), "{name}: {msg} lacks {needle:?}");
        // The same error through the spec.
        let spec = format!("schedule:{}", path.display());
        let e2 = Arrivals::parse(&spec, None, 1).unwrap_err().to_string();
        assert_eq!(e2, msg, "{name}");
    }
    // Several bad lines: one error, the first line's place, every other line listed.
    let msg = parse_file(&dir, "many.txt", b"0 1\n5 x\n6 -2\n6 1\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("many.txt:2: "), "{msg}");
    assert!(
        msg.contains("line 3: rate -2") && msg.contains("and 1 more"),
        "{msg}"
    );
    // Whole-file problems name the file.
    for (name, text, needle) in [
        ("empty", "# nothing\n\n", "no segments"),
        ("all_zero", "0 0\n10 0\n", "every rate is zero"),
    ] {
        let msg = parse_file(&dir, &format!("{name}.txt"), text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with(&format!("{}: ", dir.join(format!("{name}.txt")).display())),
            "{msg}"
        );
        assert!(msg.contains(needle), "{msg}");
    }
    // Invalid UTF-8 and a missing file: errors naming the file (and the line of the bad byte).
    let msg = parse_file(&dir, "latin1.txt", b"0 1\n10 \xe9\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("latin1.txt") && msg.contains("line 2"),
        "{msg}"
    );
    let missing = dir.join("missing.txt");
    let msg = RateSchedule::from_file(&missing).unwrap_err().to_string();
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pattern_means_hold_over_a_long_horizon() {
    // Two days at a mean of 5 per second: 864,000 expected arrivals (Poisson standard deviation 930,
    // 0.11%); tolerance 1% of the mean.
    let horizon_s = 2.0 * 86_400.0;
    for name in ["steady", "bursty", "periodic", "mixed"] {
        let spec = format!("pattern:{name}:5");
        let a = Arrivals::parse(&spec, Some(horizon_s), 9).unwrap();
        assert_eq!(a.describe(), spec);
        assert_eq!(a.end_s(), Some(horizon_s));
        assert!(
            (a.mean_rate_per_s() - 5.0).abs() < 1e-9,
            "{name}: {}",
            a.mean_rate_per_s()
        );
        let t = times(&a, 9, 2_000_000);
        let rate = t.len() as f64 / horizon_s;
        assert!((rate - 5.0).abs() <= 0.05, "{name}: {rate} per second");
        assert_eq!(a, Arrivals::parse(&spec, Some(horizon_s), 9).unwrap());
    }
    // Bursty spikes come from the seed.
    let a = Arrivals::parse("pattern:bursty:5", Some(86_400.0), 1).unwrap();
    let b = Arrivals::parse("pattern:bursty:5", Some(86_400.0), 2).unwrap();
    assert_ne!(a, b);
    // A horizon that is no whole number of segments still ends there.
    let short = RateSchedule::from_pattern(workload::Pattern::Steady, 2.0, 90.0, 1).unwrap();
    assert_eq!(short.starts_s, [0.0, 60.0]);
    assert_eq!(short.end_s, Some(90.0));
    assert!(RateSchedule::from_pattern(workload::Pattern::Steady, 0.0, 90.0, 1).is_err());
    assert!(RateSchedule::from_pattern(workload::Pattern::Steady, 1.0, f64::NAN, 1).is_err());
    let e = RateSchedule::from_pattern(workload::Pattern::Steady, 1.0, 1e12, 1).unwrap_err();
    assert!(e.to_string().contains("SCHEDULE_SEGMENTS_MAX"), "{e}");
}

const DURATIONS_HEADER: &str = "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,\
percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,\
percentile_Average_75,percentile_Average_99,percentile_Average_100";
const MEMORY_HEADER: &str = "HashOwner,HashApp,HashFunction,SampleCount,AverageAllocatedMb,\
AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,\
AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100";

/// A three-minute trace of three functions: `aaa1` (0, 3, 1: 4 in all), `bbb2` (6, 0, 0: 6) and
/// `bbb3` (2, 2, 2: 6, tied with `bbb2`).
fn write_trace(dir: &Path) {
    let rows = [("aaa1", "0,3,1"), ("bbb2", "6,0,0"), ("bbb3", "2,2,2")];
    let mut inv = String::from("HashOwner,HashApp,HashFunction,Trigger,1,2,3\n");
    let mut dur = format!("{DURATIONS_HEADER}\n");
    let mut mem = format!("{MEMORY_HEADER}\n");
    for (f, counts) in rows {
        inv.push_str(&format!("o,a,{f},http,{counts}\n"));
        dur.push_str(&format!("o,a,{f},10,5,1,20,1,2,5,10,12,18,20\n"));
        mem.push_str(&format!("o,a,{f},5,128,100,110,120,128,130,140,150,160\n"));
    }
    std::fs::write(dir.join("invocations.csv"), inv).unwrap();
    std::fs::write(dir.join("durations.csv"), dur).unwrap();
    std::fs::write(dir.join("memory.csv"), mem).unwrap();
}

/// Arrivals per minute of a stream.
fn per_minute(t: &[SimTime], n_minutes: usize) -> Vec<usize> {
    (0..n_minutes)
        .map(|m| count_in(t, m as f64 * 60.0, (m + 1) as f64 * 60.0))
        .collect()
}

#[test]
fn azure_trace_functions_become_exact_minute_counts() {
    let dir = temp_dir("azure");
    write_trace(&dir);
    let d = dir.display();
    for (spec, name, expected) in [
        // The busiest, ties to the lowest index.
        (format!("azure2019:{d}"), "azure2019:bbb2:x1", vec![6, 0, 0]),
        (
            format!("azure2019:{d}:aaa1"),
            "azure2019:aaa1:x1",
            vec![0, 3, 1],
        ),
        (
            format!("azure2019:{d}:2"),
            "azure2019:bbb3:x1",
            vec![2, 2, 2],
        ),
        (
            format!("azure2019:{d}:aa"),
            "azure2019:aaa1:x1",
            vec![0, 3, 1],
        ),
        (
            format!("azure2019:{d}:bbb3:x2"),
            "azure2019:bbb3:x2",
            vec![4, 4, 4],
        ),
        (
            format!("azure2019:{d}::2.5"),
            "azure2019:bbb2:x2.5",
            vec![15, 0, 0],
        ),
        // round(3 x 0.4) = 1, round(1 x 0.4) = 0.
        (
            format!("azure2019:{d}:0:0.4"),
            "azure2019:aaa1:x0.4",
            vec![0, 1, 0],
        ),
    ] {
        let a = Arrivals::parse(&spec, None, 1).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(a.describe(), name, "{spec}");
        assert_eq!(a.end_s(), Some(180.0), "{spec}");
        for seed in [1, 2] {
            let t = times(&a, seed, 100);
            assert_eq!(per_minute(&t, 3), expected, "{spec} seed {seed}");
            assert_eq!(t.len(), expected.iter().sum::<usize>(), "{spec}");
            assert!(t.windows(2).all(|w| w[0] <= w[1]), "{spec}");
        }
    }
    // A horizon cuts the trace: minute 1 gets two thirds of its 3 arrivals.
    let a = Arrivals::parse(&format!("azure2019:{d}:aaa1"), Some(100.0), 1).unwrap();
    assert_eq!(a.end_s(), Some(100.0));
    assert_eq!(per_minute(&times(&a, 1, 100), 2), [0, 2]);

    // Errors: unknown and ambiguous functions say how to name one; bad scales; a function without
    // invocations; a bad trace file names its file and line.
    for (spec, needle) in [
        (format!("azure2019:{d}:zzz"), "0-based row index"),
        (format!("azure2019:{d}:zzz"), "row 1, bbb2"),
        (format!("azure2019:{d}:7"), "no function \"7\""),
        (format!("azure2019:{d}:bbb"), "matches rows 1, 2"),
        (format!("azure2019:{d}:0:fast"), "not a number"),
        (format!("azure2019:{d}:0:-1"), "scale -1"),
        (format!("azure2019:{d}:0:0"), "every rate is zero"),
    ] {
        let e = Arrivals::parse(&spec, None, 1).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOption { field, .. } if field == "arrivals"),
            "{spec}: {e}"
        );
        assert!(
            e.to_string().contains(needle),
            "{spec}: {e} lacks {needle:?}"
        );
    }
    let inv = dir.join("invocations.csv");
    let text = std::fs::read_to_string(&inv).unwrap();
    std::fs::write(
        &inv,
        text.replace("o,a,bbb3,http,2,2,2", "o,a,bbb3,http,2,x,2"),
    )
    .unwrap();
    let e = Arrivals::parse(&format!("azure2019:{d}"), None, 1).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("{}:4: ", inv.display())),
        "{e}"
    );
    let e = Arrivals::parse(&format!("azure2019:{d}/nowhere"), None, 1).unwrap_err();
    assert!(e.to_string().contains("nowhere"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn azure_shared_sample_replays_the_busiest_function() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/azure-functions-samples/azure2019_sampled_at_65cf381/10");
    if !dir.join("invocations.csv").is_file() {
        println!(
            "note: {} is absent; the shared Azure 2019 sample check is skipped",
            dir.display()
        );
        return;
    }
    let trace = workload::Azure2019Trace::read(&dir).unwrap();
    let totals: Vec<u64> = trace
        .counts
        .iter()
        .map(|r| r.iter().map(|&c| u64::from(c)).sum())
        .collect();
    let max = *totals.iter().max().unwrap();
    let busiest = totals.iter().position(|&t| t == max).unwrap();
    let a = Arrivals::parse(&format!("azure2019:{}", dir.display()), None, 3).unwrap();
    assert_eq!(
        a.describe(),
        format!("azure2019:{}:x1", trace.functions[busiest].name)
    );
    assert_eq!(a.end_s(), Some(1440.0 * 60.0));
    // One hour of a 24-hour trace: the first 60 minutes, each exact.
    let one_hour =
        Arrivals::parse(&format!("azure2019:{}", dir.display()), Some(3_600.0), 3).unwrap();
    let t = times(&one_hour, 3, 10_000_000);
    let expected: Vec<usize> = trace.counts[busiest][..60]
        .iter()
        .map(|&c| c as usize)
        .collect();
    assert_eq!(per_minute(&t, 60), expected);
    assert_eq!(t.len(), expected.iter().sum::<usize>());
    // The whole day of the quietest function, by index: as many arrivals as its invocations.
    let min = *totals.iter().min().unwrap();
    let quietest = totals.iter().position(|&t| t == min).unwrap();
    let a = Arrivals::parse(&format!("azure2019:{}:{quietest}", dir.display()), None, 3).unwrap();
    assert_eq!(times(&a, 3, 100_000_000).len() as u64, totals[quietest]);
}
