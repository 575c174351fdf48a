//! Malformed trace files give errors that name the file and the line.

use workload::{Azure2019Trace, Azure2021Trace};

use crate::scratch;

fn dir_2019(name: &str, invocations: &str, durations: &str, memory: &str) -> std::path::PathBuf {
    let inv = scratch(&format!("{name}-invocations.csv"), invocations);
    let dir = inv.parent().unwrap().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("invocations.csv"), invocations).unwrap();
    std::fs::write(dir.join("durations.csv"), durations).unwrap();
    std::fs::write(dir.join("memory.csv"), memory).unwrap();
    dir
}

const DUR_HEADER: &str = "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100";
const MEM_HEADER: &str = "HashOwner,HashApp,HashFunction,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100";

#[test]
fn azure2019_bad_count_names_line() {
    let dir = dir_2019(
        "bad-count",
        "HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f1,http,1,2\no,a,f2,http,3,x\n",
        &format!("{DUR_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1,1\no,a,f2,1,1,1,1,1,1,1,1,1,1,1\n"),
        &format!("{MEM_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1\no,a,f2,1,1,1,1,1,1,1,1,1,1\n"),
    );
    let e = Azure2019Trace::read(&dir).unwrap_err().to_string();
    assert!(
        e.contains("invocations.csv:3:") && e.contains("minute 2"),
        "{e}"
    );
}

#[test]
fn azure2019_decreasing_percentiles_and_missing_rows() {
    let dir = dir_2019(
        "bad-pct",
        "HashOwner,HashApp,HashFunction,Trigger,1\no,a,f1,http,1\n",
        &format!("{DUR_HEADER}\no,a,f1,1,1,1,1,5,4,3,2,1,1,1\n"),
        &format!("{MEM_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1\n"),
    );
    let e = Azure2019Trace::read(&dir).unwrap_err().to_string();
    assert!(
        e.contains("durations.csv:2:") && e.contains("non-decreasing"),
        "{e}"
    );

    let dir = dir_2019(
        "missing-mem",
        "HashOwner,HashApp,HashFunction,Trigger,1\no,a,f1,http,1\n",
        &format!("{DUR_HEADER}\no,a,f1,1,1,1,1,1,1,1,1,1,1,1\n"),
        &format!("{MEM_HEADER}\n"),
    );
    let e = Azure2019Trace::read(&dir).unwrap_err().to_string();
    assert!(e.contains("memory.csv") && e.contains("f1"), "{e}");
}

#[test]
fn azure2019_short_row_and_missing_file() {
    let dir = dir_2019(
        "short-row",
        "HashOwner,HashApp,HashFunction,Trigger,1\no,a,f1,http,1\no,a,f2\n",
        &format!("{DUR_HEADER}\n"),
        &format!("{MEM_HEADER}\n"),
    );
    let e = Azure2019Trace::read(&dir).unwrap_err().to_string();
    assert!(
        e.contains("invocations.csv:3: expected 5 fields, found 3"),
        "{e}"
    );
    let e = Azure2019Trace::read(&dir.join("nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope") && e.contains("invocations.csv"), "{e}");
}

#[test]
fn azure2021_bad_rows_name_line() {
    let p = scratch(
        "a21-nan.csv",
        "app,func,end_timestamp,duration\na,f,10.0,1.0\na,f,NaN,1.0\n",
    );
    let e = Azure2021Trace::read(&p, 128).unwrap_err().to_string();
    assert!(
        e.contains("a21-nan.csv:3:") && e.contains("end_timestamp"),
        "{e}"
    );
    let p = scratch(
        "a21-neg.csv",
        "app,func,end_timestamp,duration\n\na,f,10.0,-1\n",
    );
    let e = Azure2021Trace::read(&p, 128).unwrap_err().to_string();
    assert!(
        e.contains("a21-neg.csv:3:") && e.contains("duration"),
        "{e}"
    );
    let p = scratch("a21-hdr.csv", "app,func,end\na,f,1\n");
    let e = Azure2021Trace::read(&p, 128).unwrap_err().to_string();
    assert!(
        e.contains("a21-hdr.csv:1:") && e.contains("end_timestamp"),
        "{e}"
    );
}
