//! `faastune fit --samples` with fewer samples than a case of Eq. 1 needs fits a simpler model with a
//! warning instead of panicking (it panicked with three samples at 1024, 2048 and 3008 MB).

use crate::faastune;

#[test]
fn fit_with_three_samples_warns_instead_of_panicking() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fit-few-samples");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("three.csv");
    std::fs::write(
        &csv,
        "function,memory_mb,duration_s\nf,1024,2.0\nf,2048,1.1\nf,3008,1.0\n",
    )
    .unwrap();
    let out = faastune(&["fit", "--samples", csv.to_str().unwrap(), "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: function 'f'") && stderr.contains("one case-2 curve"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["functions"][0];
    assert_eq!(f["n_samples"], 3);
    assert_eq!(f["n_heldout"], 3);
    assert!(!f["warnings"].as_array().unwrap().is_empty(), "{f}");
}
