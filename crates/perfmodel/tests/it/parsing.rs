//! Readers: every SLApp `App*_G.dot` graph in the shared data, CSV samples, and malformed input
//! reported with file and line.

use perfmodel::dot::{parse_dot, perf_profile_samples, read_dot};
use perfmodel::sample::parse_csv;

#[test]
fn reads_every_slapp_graph() {
    let mut n_graphs = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(crate::slapp_alg())
        .expect("shared data present")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let app = dir.file_name().unwrap().to_string_lossy().into_owned();
        let path = dir.join(format!("{app}_G.dot"));
        if !path.exists() {
            continue; // App4..App6 ship only optimisation curves, no graph.
        }
        let g = read_dot(&path).unwrap_or_else(|e| panic!("{e}"));
        let s = perf_profile_samples(&g, &path.display().to_string(), "").unwrap();
        // Every function node has a 16-point profile 128..3008 MB in steps of 192 MB, in ms -> s.
        let n_fn = g
            .nodes
            .iter()
            .filter(|n| n.attrs.contains_key("perf_profile"))
            .count();
        assert!(n_fn >= 1, "{app}");
        assert_eq!(s.len(), 16 * n_fn, "{app}");
        assert!(
            s.iter().all(|x| x.memory_mb >= 128
                && x.memory_mb <= 3008
                && x.duration_s > 0.1
                && x.duration_s < 10.0),
            "{app}"
        );
        assert!(
            g.nodes.iter().any(|n| n.id == "Start") && g.nodes.iter().any(|n| n.id == "End"),
            "{app}"
        );
        n_graphs += 1;
    }
    assert_eq!(n_graphs, 3, "App1..App3 carry graphs");
    // Spot check against the file: App1 node 2 at 128 MB is 2898.2189 ms; the edge 2 -> End has weight 0.9.
    let g = read_dot(&crate::slapp_alg().join("App1/App1_G.dot")).unwrap();
    let s = perf_profile_samples(&g, "App1", "").unwrap();
    assert!((s[0].duration_s - 2.898_218_899_999_999_4).abs() < 1e-12 && s[0].function == "2");
    assert!(
        g.edges
            .iter()
            .any(|e| e.from == "2" && e.to == "End" && e.attrs["weight"] == "0.9")
    );
}

#[test]
fn malformed_dot_names_the_line() {
    let cases = [
        (
            "digraph {\n  a [perf_profile=\"{128: 10, 256 20}\"];\n}\n",
            2,
            "entry 2",
        ),
        ("digraph {\n  a;\n  b [x=\"open\n\n", 3, "unterminated"),
        ("graph {\n  a -> b;\n}\n", 2, "edge operator"),
        (
            "digraph {\n  a [perf_profile=\"{128: -5}\"];\n}\n",
            2,
            "must be > 0",
        ),
        ("digraph {\n  subgraph s { a }\n}\n", 2, "subgraphs"),
        ("tree {\n}\n", 1, "expected 'graph' or 'digraph'"),
    ];
    for (text, line, what) in cases {
        let e = parse_dot(text, "bad.dot")
            .and_then(|g| perf_profile_samples(&g, "bad.dot", ""))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("bad.dot:{line}:")) && e.contains(what),
            "{text:?}: {e}"
        );
    }
}

#[test]
fn reads_csv_samples_with_defaults() {
    let text = "# measured on Lambda\nfunction,memory_mb,fan_out,workers,jobs,duration_s\nresize,1024,4,2,16,1.25\n\"with, comma\",2048,1,1,1,0.5\n";
    let s = parse_csv(text, "s.csv").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].fan_out, s[0].workers, s[0].jobs), (4, 2, 16));
    assert_eq!(s[1].function, "with, comma");
}

#[test]
fn malformed_csv_names_the_line() {
    let h = "function,memory_mb,fan_out,jobs,duration_s\n";
    let cases = [
        (
            format!("{h}f,1024,2,4,1.0\nf,1024,8,4,1.0\n"),
            3,
            "jobs = 4 < fan_out = 8",
        ),
        (format!("{h}f,1024,2,4\n"), 2, "4 fields, the header has 5"),
        (format!("{h}\n# c\nf,1024,0,4,1.0\n"), 4, "fan_out = 0"),
        (format!("{h}f,1024,2,4,-1\n"), 2, "duration_s = -1"),
        ("function,duration_s\nf,1\n".to_owned(), 1, "memory_mb"),
        (format!("{h}\"f,1024,2,4,1\n"), 2, "unterminated"),
    ];
    for (text, line, what) in cases {
        let e = parse_csv(&text, "bad.csv").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("bad.csv:{line}:")) && e.contains(what),
            "{text:?}: {e}"
        );
    }
    let e = perfmodel::sample::read_csv(std::path::Path::new("/nonexistent/s.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/s.csv"), "{e}");
}

#[test]
fn samples_csv_with_a_bom_quotes_and_comments_reads() {
    let text = "\u{feff}function,memory_mb,duration_s\n# a comment\n\n\"a,b\", 1024 ,1.5\nc,2048,\"0.5\"\n";
    let s = parse_csv(text, "s.csv").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].function, "a,b");
    assert_eq!((s[0].memory_mb, s[1].duration_s), (1024, 0.5));
    // Written samples read back, names with commas and quotes included.
    let back = parse_csv(&perfmodel::sample::to_csv(&s), "t").unwrap();
    assert_eq!(back, s);
}

#[test]
fn samples_csv_huge_values_are_errors_naming_the_line() {
    for (row, what) in [
        ("f,1024,1e308", "duration_s = 1e308"),
        ("f,99999999,1", "memory_mb = 99999999"),
        ("f,1024,inf", "duration_s = inf"),
    ] {
        let text = format!("function,memory_mb,duration_s\nf,512,1\n{row}\n");
        let e = parse_csv(&text, "s.csv").unwrap_err().to_string();
        assert!(e.starts_with("s.csv:3:") && e.contains(what), "{e}");
    }
    let e = parse_csv("function,memory_mb,duration_s\nf,512\n", "s.csv")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("s.csv:2:") && e.contains("2 fields"), "{e}");
}

#[test]
fn invalid_utf8_in_samples_and_dot_files_names_the_byte() {
    let dir = std::env::temp_dir().join(format!("perfmodel-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("s.csv");
    std::fs::write(&csv, b"function,memory_mb,duration_s\nf\xff,512,1\n").unwrap();
    let e = perfmodel::sample::read_csv(&csv).unwrap_err().to_string();
    assert!(e.contains("s.csv") && e.contains("byte 31 (line 2)"), "{e}");
    let dot = dir.join("g.dot");
    std::fs::write(&dot, b"\xef\xbb\xbfdigraph G {\n a;\n}\n").unwrap();
    assert_eq!(read_dot(&dot).unwrap().nodes.len(), 1);
    std::fs::write(&dot, b"digraph G {\n a\xfe;\n}\n").unwrap();
    let e = read_dot(&dot).unwrap_err().to_string();
    assert!(e.contains("byte 14 (line 2)"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
