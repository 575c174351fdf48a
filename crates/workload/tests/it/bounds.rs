//! Huge but finite numbers in traces and settings are errors naming the file and line (or the
//! parameter), never `inf`, a panic or an allocation the input demands; byte-order marks, quoted fields
//! and invalid UTF-8 are read like every other user file.

use workload::{
    Azure2019Trace, Azure2021Trace, DeepRmJobDist, DeepRmJobSet, Pattern, SyntheticSpec,
    SyntheticWorkload,
};

use crate::scratch;

const DUR_HEADER: &str = "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100";
const MEM_HEADER: &str = "HashOwner,HashApp,HashFunction,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100";

fn dir_2019(name: &str, invocations: &str, durations: &str, memory: &str) -> std::path::PathBuf {
    let dir = scratch(&format!("{name}.keep"), "")
        .parent()
        .unwrap()
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("invocations.csv"), invocations).unwrap();
    std::fs::write(dir.join("durations.csv"), durations).unwrap();
    std::fs::write(dir.join("memory.csv"), memory).unwrap();
    dir
}

#[test]
fn azure2021_runtime_of_1e308_is_an_error_naming_the_line() {
    let p = scratch(
        "a21-huge.csv",
        "app,func,end_timestamp,duration\na,f,10.0,1.0\na,f,20.0,1e308\n",
    );
    let e = Azure2021Trace::read(&p, 128).unwrap_err().to_string();
    assert!(
        e.contains("a21-huge.csv:3:") && e.contains("duration"),
        "{e}"
    );
    let p = scratch(
        "a21-huge-end.csv",
        "app,func,end_timestamp,duration\na,f,1e300,1.0\n",
    );
    let e = Azure2021Trace::read(&p, 128).unwrap_err().to_string();
    assert!(
        e.contains("a21-huge-end.csv:2:") && e.contains("end_timestamp"),
        "{e}"
    );
    // At the bounds the trace reads and every time is finite.
    let p = scratch(
        "a21-max.csv",
        "app,func,end_timestamp,duration\na,f,1e9,1e7\n",
    );
    let t = Azure2021Trace::read(&p, 128).unwrap();
    assert!(t.functions[0].duration_ms.quantile(1.0).is_finite());
    assert!(t.invocations[0].arrival.as_secs_f64() > 0.0);
}

#[test]
fn azure2019_huge_counts_durations_and_memory_are_errors_naming_the_line() {
    let ok_dur = format!("{DUR_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1,1\n");
    let ok_mem = format!("{MEM_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1\n");
    let inv = "HashOwner,HashApp,HashFunction,Trigger,1\no,a,f1,http,4000000000\n";
    let e = Azure2019Trace::read(&dir_2019("huge-count", inv, &ok_dur, &ok_mem))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("invocations.csv:2:") && e.contains("minute 1"),
        "{e}"
    );
    let inv = "HashOwner,HashApp,HashFunction,Trigger,1\no,a,f1,http,1\n";
    let dur = format!("{DUR_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1,1e308\n");
    let e = Azure2019Trace::read(&dir_2019("huge-dur", inv, &dur, &ok_mem))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("durations.csv:2:") && e.contains("percentile_Average_100"),
        "{e}"
    );
    let mem = format!("{MEM_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1e300\n");
    let e = Azure2019Trace::read(&dir_2019("huge-mem", inv, &ok_dur, &mem))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("memory.csv:2:") && e.contains("AverageAllocatedMb_pct100"),
        "{e}"
    );
    let t = Azure2019Trace::read(&dir_2019("ok", inv, &ok_dur, &ok_mem)).unwrap();
    let e = t.stream(1, 1e300, None).err().unwrap().to_string();
    assert!(e.contains("load_scale"), "{e}");
}

#[test]
fn trace_files_with_a_bom_quotes_and_crlf_read() {
    let p = scratch(
        "a21-bom.csv",
        "\u{feff}app,func,end_timestamp,duration\r\n\"a,1\",f,10.0,1.0\r\n",
    );
    let t = Azure2021Trace::read(&p, 128).unwrap();
    assert_eq!(t.functions[0].app, "a,1");
    assert_eq!(t.invocations.len(), 1);
}

#[test]
fn invalid_utf8_in_a_trace_names_the_byte_and_line() {
    let dir = scratch("utf8.keep", "").parent().unwrap().to_path_buf();
    let p = dir.join("a21-utf8.csv");
    std::fs::write(&p, b"app,func,end_timestamp,duration\na\xff,f,1,1\n").unwrap();
    let e = Azure2021Trace::read(&p, 128).unwrap_err().to_string();
    assert!(
        e.contains("a21-utf8.csv") && e.contains("byte 33 (line 2)"),
        "{e}"
    );
}

#[test]
fn huge_generator_settings_are_errors_not_allocations() {
    let d = DeepRmJobDist {
        n_resources: usize::MAX,
        ..DeepRmJobDist::default()
    };
    assert!(
        d.validate()
            .unwrap_err()
            .to_string()
            .contains("n_resources")
    );
    let d = DeepRmJobDist {
        large_len_steps: (10, u32::MAX),
        ..DeepRmJobDist::default()
    };
    assert!(
        d.validate()
            .unwrap_err()
            .to_string()
            .contains("large_len_steps")
    );
    let e = DeepRmJobSet::generate(
        &DeepRmJobDist::default(),
        0.5,
        usize::MAX,
        Pattern::Steady,
        1,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("simu_len"), "{e}");
    for spec in [
        SyntheticSpec {
            n_functions: usize::MAX,
            ..SyntheticSpec::default()
        },
        SyntheticSpec {
            horizon_s: 1e300,
            ..SyntheticSpec::default()
        },
        SyntheticSpec {
            rate_per_s: 1e300,
            ..SyntheticSpec::default()
        },
    ] {
        assert!(SyntheticWorkload::generate(&spec, 1).is_err(), "{spec:?}");
    }
}
