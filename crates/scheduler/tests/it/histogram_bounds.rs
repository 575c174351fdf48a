//! The hybrid histogram keeps `range / bin` bins per function: huge counts are errors naming the
//! parameter, not allocations.

use des::SimTime;
use scheduler::{HistogramSettings, HybridHistogram};

#[test]
fn huge_histograms_are_errors_not_allocations() {
    let tiny_bins = HistogramSettings {
        bin: SimTime(1),
        range: SimTime::MAX,
        ..HistogramSettings::default()
    };
    let e = HybridHistogram::new(tiny_bins, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("bin") && e.contains("100000 bins"), "{e}");
    let e = HybridHistogram::new(HistogramSettings::default(), usize::MAX)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("bins x functions"), "{e}");
    // The paper's settings (240 one-minute bins) for 1,000 functions are fine.
    assert!(HybridHistogram::new(HistogramSettings::default(), 1_000).is_ok());
}
