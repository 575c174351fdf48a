//! The Azure readers on every file of the shared samples they claim to read.

use workload::{Azure2019Trace, Azure2021Trace};

use crate::samples;

#[test]
fn reads_every_azure2019_sample() {
    for (dir, n_functions) in [
        ("azure2019_sampled_at_65cf381/1", 1),
        ("azure2019_sampled_at_65cf381/5", 5),
        ("azure2019_sampled_at_65cf381/10", 10),
        ("example_at_a1df629", 4),
    ] {
        let t = Azure2019Trace::read(&samples().join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(t.functions.len(), n_functions, "{dir}");
        assert_eq!(t.n_minutes(), 1440, "{dir}");
        for f in &t.functions {
            assert!(
                f.memory_mb > 0 && f.duration_ms.quantile(1.0) >= f.duration_ms.quantile(0.0),
                "{dir} {}",
                f.name
            );
        }
    }
}

#[test]
fn ten_function_sample_matches_its_row_sums() {
    let t = Azure2019Trace::read(&samples().join("azure2019_sampled_at_65cf381/10")).unwrap();
    // Row sums computed with awk over columns 5..1444 of invocations.csv.
    let sums: Vec<u64> = t
        .counts
        .iter()
        .map(|r| r.iter().map(|&c| c as u64).sum())
        .collect();
    assert_eq!(
        sums,
        vec![
            281_962, 1_093_671, 355_556, 575_863, 27_056, 900_001, 6_171_429, 30_527, 900_998,
            2_700_001
        ]
    );
    // The first function's p50 duration and p99 memory come from durations.csv and memory.csv.
    assert_eq!(t.functions[0].duration_ms.quantile(0.5), 282.0);
    assert_eq!(t.functions[0].memory_mb, 245);
}

#[test]
fn stream_emits_the_recorded_counts_in_order() {
    let t = Azure2019Trace::read(&samples().join("azure2019_sampled_at_65cf381/10")).unwrap();
    let n_minutes = 10;
    let expected: u64 = t
        .counts
        .iter()
        .map(|r| r[..n_minutes].iter().map(|&c| c as u64).sum::<u64>())
        .sum();
    let invs: Vec<_> = t.stream(9, 1.0, Some(n_minutes)).unwrap().collect();
    assert_eq!(invs.len() as u64, expected);
    assert!(
        invs.windows(2)
            .all(|w| w[0].arrival <= w[1].arrival && w[1].id == w[0].id + 1)
    );
    assert!(
        invs.iter()
            .all(|i| i.arrival.as_us() < n_minutes as u64 * 60_000_000
                && i.duration.as_us() >= 1_000)
    );
    let again: Vec<_> = t.stream(9, 1.0, Some(n_minutes)).unwrap().collect();
    assert_eq!(invs, again);
    let doubled = t.stream(9, 2.0, Some(n_minutes)).unwrap().count() as u64;
    assert_eq!(doubled, 2 * expected);
}

#[test]
fn reads_every_azure2021_sample() {
    // Data rows counted with awk (the files end without a final newline).
    for (file, n_rows) in [("Azure2021_30.csv", 29), ("Azure2021_200.csv", 199)] {
        let p = samples().join("example_at_a1df629/Azure2021").join(file);
        let t = Azure2021Trace::read(&p, 256).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(t.invocations.len(), n_rows, "{file}");
        assert!(
            t.invocations
                .windows(2)
                .all(|w| w[0].arrival <= w[1].arrival)
        );
        assert!(!t.functions.is_empty());
        let max_f = t.invocations.iter().map(|i| i.function_idx).max().unwrap() as usize;
        assert_eq!(max_f + 1, t.functions.len());
    }
}
