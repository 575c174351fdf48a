//! Fuzzes the Azure Functions 2019 trace reader (`workload::Azure2019Trace::read`). One input holds the
//! three files `invocations.csv`, `durations.csv` and `memory.csv`, separated by lines `%%`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = faastune_fuzz::split_files(data, 3);
    let dir = faastune_fuzz::scratch_dir().join("azure2019");
    for (name, bytes) in ["invocations.csv", "durations.csv", "memory.csv"]
        .iter()
        .zip(&files)
    {
        faastune_fuzz::write_scratch(&format!("azure2019/{name}"), bytes);
    }
    if let Ok(trace) = workload::Azure2019Trace::read(&dir) {
        let _ = trace.n_invocations();
        // The stream is lazy: draw a bounded prefix.
        if let Ok(stream) = trace.stream(1, 1.0, Some(2)) {
            for inv in stream.take(1_000) {
                assert!(inv.memory_mb >= 1, "invocation memory {inv:?}");
            }
        }
    }
});
