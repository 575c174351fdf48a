//! Each figure kind on a small fixed input.

use report::{
    BarChart, Caption, ConfigOption, Distribution, Figure, FitPoint, GanttPlan, GanttStep,
    LatencyDist, Panel, Series, SloCurve, SloPoint, StepSpace, Topology,
};

fn cap(title: &str) -> Caption {
    Caption::new(title, "faastune test --seed 7", Some(7))
}

/// Every SVG: a document with the title, the seed and command, and these labels.
fn check(fig: &Figure, labels: &[&str]) {
    assert!(fig.svg.starts_with("<svg"), "{}", &fig.svg[..80]);
    assert!(fig.svg.trim_end().ends_with("</svg>"));
    assert!(fig.svg.contains(&fig.caption.title), "title missing");
    assert!(fig.svg.contains("seed 7"), "seed missing");
    assert!(
        fig.svg.contains("faastune test --seed 7"),
        "command missing"
    );
    for l in labels {
        assert!(fig.svg.contains(l), "label {l:?} missing");
    }
    assert!(!fig.table.rows.is_empty());
    for r in &fig.table.rows {
        assert_eq!(r.len(), fig.table.headers.len());
    }
    // Written out too, for looking at (`target/tmp/figures/`).
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("figures");
    std::fs::create_dir_all(&dir).unwrap();
    let name: String = fig
        .caption
        .title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    fig.write(&dir.join(format!("{name}.svg"))).unwrap();
    fig.write(&dir.join(format!("{name}.png"))).unwrap();
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

pub fn space() -> Vec<StepSpace> {
    let opt = |m: u32, d: f64, c: f64| ConfigOption {
        label: format!("{m}MB"),
        duration_s: d,
        cost_usd: c,
    };
    vec![
        StepSpace {
            step: "split".into(),
            options: vec![
                opt(128, 10.0, 2.0e-5),
                opt(512, 4.0, 3.0e-5),
                opt(1024, 2.5, 4.0e-5),
                opt(2048, 2.4, 8.0e-5),
                opt(3008, 3.0, 9.0e-5),
            ],
            chosen: Some(1),
        },
        StepSpace {
            step: "encode".into(),
            options: vec![opt(128, 30.0, 1.0e-4), opt(1769, 5.0, 1.2e-4)],
            chosen: Some(1),
        },
    ]
}

#[test]
fn config_space_marks_front_and_choice() {
    let fig = report::config_space(&space(), &cap("configuration space")).unwrap();
    check(
        &fig,
        &[
            "split",
            "encode",
            "duration (s)",
            "cost (USD)",
            "Pareto front",
            "chosen",
        ],
    );
    // The front of `split`: 128 (10 s), 512 (4 s), 1024 (2.5 s), 2048 (2.4 s); 3008 is dominated.
    let split: Vec<&Vec<String>> = fig.table.rows.iter().filter(|r| r[0] == "split").collect();
    assert_eq!(split.len(), 4, "{split:?}");
    assert!(split.iter().all(|r| r[1] != "3008MB"));
    assert_eq!(split.iter().filter(|r| r[5] == "yes").count(), 1);
}

pub fn curves() -> Vec<SloCurve> {
    let pt = |slo_s, cost_usd_mean, slo_attainment| SloPoint {
        slo_s,
        cost_usd_mean,
        slo_attainment,
    };
    vec![
        SloCurve {
            policy: "stepconf".into(),
            points: vec![
                pt(10.0, 0.03, 0.9),
                pt(20.0, 0.02, 0.97),
                pt(30.0, 0.015, 0.99),
            ],
        },
        SloCurve {
            policy: "static".into(),
            points: vec![
                pt(10.0, 0.028, 0.6),
                pt(20.0, 0.019, 0.8),
                pt(30.0, 0.014, 0.96),
            ],
        },
    ]
}

#[test]
fn cost_vs_slo_has_both_panels_and_hollow_misses() {
    let fig = report::cost_vs_slo(&curves(), Some(0.95), &cap("cost against SLO")).unwrap();
    check(
        &fig,
        &[
            "SLO (s)",
            "mean cost per request (USD)",
            "SLO attainment",
            "stepconf",
            "static",
            "target 95%",
            "Hollow, faded markers",
        ],
    );
    assert_eq!(fig.table.rows.len(), 6);
}

#[test]
fn latency_cdf_draws_samples_and_quantiles() {
    let dists = vec![
        Distribution {
            name: "stepconf".into(),
            data: LatencyDist::Samples((1..=100).map(|i| 20.0 + f64::from(i) * 0.1).collect()),
        },
        Distribution {
            name: "static".into(),
            data: LatencyDist::Quantiles(vec![(0.5, 25.0), (0.95, 35.0), (0.99, 40.0)]),
        },
    ];
    let fig = report::latency_cdf(&dists, Some(30.0), &cap("latency CDF")).unwrap();
    check(
        &fig,
        &["latency (s)", "CDF", "SLO 30 s", "stepconf", "static"],
    );
    // Nearest rank over 20.1..=30.0: p50 is the 50th sample.
    assert_eq!(
        fig.table.rows[0],
        vec!["stepconf", "100", "25", "29.5", "29.9"]
    );
    assert_eq!(fig.table.rows[1][2..], ["25", "35", "40"]);
}

#[test]
fn fit_accuracy_scatter_and_histogram() {
    let pts: Vec<FitPoint> = (0..20)
        .map(|i| FitPoint {
            step: if i % 2 == 0 { "a".into() } else { "b".into() },
            measured_s: 1.0 + f64::from(i),
            predicted_s: (1.0 + f64::from(i)) * (1.0 + 0.01 * f64::from(i % 5) - 0.02),
        })
        .collect();
    let fig = report::fit_accuracy(&pts, &cap("fit accuracy")).unwrap();
    check(
        &fig,
        &[
            "measured duration (s)",
            "predicted duration (s)",
            "relative error",
            "held-out configurations",
        ],
    );
    assert_eq!(fig.table.rows.len(), 2);
}

pub fn gantt() -> GanttPlan {
    let st = |name: &str, start_s, duration_s, sub_slo_s, critical, config: &str| GanttStep {
        name: name.into(),
        start_s,
        duration_s,
        sub_slo_s,
        critical,
        config: config.into(),
    };
    GanttPlan {
        slo_s: 30.0,
        steps: vec![
            st("split", 0.0, 4.0, 5.0, true, "512MB x1 q1"),
            st("encode", 4.0, 20.0, 22.0, true, "3008MB x8 q2"),
            st("thumbs", 4.0, 3.0, 22.0, false, "128MB x1 q1"),
            st("merge", 24.0, 2.0, 3.0, true, ""),
        ],
    }
}

#[test]
fn plan_gantt_names_every_step() {
    let fig = report::plan_gantt(&gantt(), &cap("plan")).unwrap();
    check(
        &fig,
        &[
            "split",
            "encode",
            "thumbs",
            "merge",
            "SLO 30 s",
            "critical path",
            "sub-SLO",
            "time since the request arrived (s)",
            "3008MB x8 q2",
        ],
    );
    assert_eq!(fig.table.rows.len(), 4);
}

#[test]
fn lines_and_panels() {
    let s = vec![
        Series::new("fcfs", vec![(0.5, 1.2), (1.0, 2.0), (1.5, 4.0)]),
        Series::new("sjf", vec![(0.5, 1.1), (1.0, 1.5), (1.5, 2.5)]),
    ];
    let fig = report::lines(
        &s,
        "load",
        "mean slowdown",
        None,
        &cap("slowdown against load"),
    )
    .unwrap();
    check(&fig, &["load", "mean slowdown", "fcfs", "sjf"]);
    let p = vec![
        Panel {
            y_label: "mean reward".into(),
            series: vec![Series::new(
                "a3c",
                (1..=50)
                    .map(|i| (f64::from(i), -1.0 + 0.01 * f64::from(i)))
                    .collect(),
            )],
        },
        Panel {
            y_label: "cost per request (USD)".into(),
            series: vec![
                Series::new("agent", vec![(1.0, 1e-4), (2.0, 1.1e-4)]),
                Series::new("static", vec![(1.0, 2e-4), (2.0, 2.1e-4)]),
            ],
        },
    ];
    let fig = report::panels(&p, "iteration", &cap("training")).unwrap();
    check(
        &fig,
        &[
            "iteration",
            "mean reward",
            "cost per request (USD)",
            "agent",
            "static",
        ],
    );
    assert_eq!(fig.table.headers.len(), 4);
}

#[test]
fn bars_and_topologies() {
    let b = BarChart {
        value_label: "mean slowdown".into(),
        categories: vec!["steady".into(), "bursty".into()],
        series: vec![
            ("fcfs".into(), vec![Some(2.0), Some(3.0)]),
            ("rl".into(), vec![Some(1.5), None]),
        ],
    };
    let fig = report::bars(&b, &cap("slowdown per pattern")).unwrap();
    check(&fig, &["steady", "bursty", "fcfs", "rl", "mean slowdown"]);
    assert_eq!(fig.table.rows[1], vec!["bursty", "3", "-"]);
    let t = vec![
        Topology {
            title: "original".into(),
            nodes: vec!["a".into(), "b".into(), "c".into()],
            edges: vec![(0, 1), (1, 2)],
            highlight: vec![],
        },
        Topology {
            title: "1. fuse(a,b)".into(),
            nodes: vec!["a+b".into(), "c".into()],
            edges: vec![(0, 1), (0, 7)],
            highlight: vec![0],
        },
    ];
    let fig = report::topologies(&t, &cap("topologies")).unwrap();
    check(&fig, &["original", "fuse(a,b)", "a+b"]);
    // Two arrows drawn in the first graph, one in the second (the edge to node 7 is skipped).
    assert_eq!(count(&fig.svg, "<polygon"), 3);
}

#[test]
fn same_data_same_bytes() {
    let a = report::plan_gantt(&gantt(), &cap("plan")).unwrap();
    let b = report::plan_gantt(&gantt(), &cap("plan")).unwrap();
    assert_eq!(a.svg, b.svg);
    let a = report::config_space(&space(), &cap("space")).unwrap();
    let b = report::config_space(&space(), &cap("space")).unwrap();
    assert_eq!(a.svg, b.svg);
    assert_eq!(
        report::svg_to_png(&a.svg, 1.0).unwrap(),
        report::svg_to_png(&b.svg, 1.0).unwrap()
    );
}

#[test]
fn png_has_text_and_size() {
    let fig = report::cost_vs_slo(&curves(), Some(0.95), &cap("png")).unwrap();
    let png = report::svg_to_png(&fig.svg, 1.0).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let png2 = report::svg_to_png(&fig.svg, 2.0).unwrap();
    assert!(png2.len() > png.len());
    // Text rendered with the embedded font: the PNG of a caption-only change differs.
    let other =
        report::cost_vs_slo(&curves(), Some(0.95), &Caption::new("png", "x", Some(8))).unwrap();
    assert_ne!(report::svg_to_png(&other.svg, 1.0).unwrap(), png);
}

#[test]
fn empty_input_is_an_error_naming_it() {
    let e = report::cost_vs_slo(&[], None, &cap("x")).unwrap_err();
    assert!(e.to_string().contains("no policy has a point"), "{e}");
    let e = report::latency_cdf(
        &[Distribution {
            name: "a".into(),
            data: LatencyDist::Samples(vec![]),
        }],
        Some(1.0),
        &cap("x"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("every distribution is empty"), "{e}");
    let e = report::config_space(
        &[StepSpace {
            step: "s1".into(),
            options: vec![],
            chosen: None,
        }],
        &cap("x"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("'s1'"), "{e}");
    let e = report::lines(
        &[Series::new("a", vec![(f64::NAN, 1.0)])],
        "x",
        "y",
        None,
        &cap("x"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no finite point"), "{e}");
    let e = report::plan_gantt(
        &GanttPlan {
            slo_s: 1.0,
            steps: vec![],
        },
        &cap("x"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no step"), "{e}");
    let fig = report::plan_gantt(&gantt(), &cap("x")).unwrap();
    let e = fig.write(std::path::Path::new("/tmp/fig.jpg")).unwrap_err();
    assert!(e.to_string().contains("/tmp/fig.jpg"), "{e}");
}

#[test]
fn text_is_escaped() {
    let fig = report::lines(
        &[Series::new("a<b&c", vec![(1.0, 1.0), (2.0, 2.0)])],
        "x",
        "y",
        None,
        &Caption::new("t<&>", "cmd --flag 'x'", Some(7)),
    )
    .unwrap();
    assert!(!fig.svg.contains("a<b&c"));
    report::svg_to_png(&fig.svg, 1.0).unwrap();
}

#[test]
fn png_ink_counts_drawn_pixels() {
    let fig = report::plan_gantt(&gantt(), &cap("ink")).unwrap();
    let png = report::svg_to_png(&fig.svg, 1.0).unwrap();
    let (w, h, ink) = report::png_ink(&png).unwrap();
    assert_eq!(w, 1000);
    assert!(h > 200);
    assert!(ink > 0.01 && ink < 0.5, "{ink}");
    let blank = report::svg_to_png(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>",
        1.0,
    )
    .unwrap();
    assert_eq!(report::png_ink(&blank).unwrap().2, 0.0);
    assert!(report::png_ink(b"not a png").is_err());
}

#[test]
fn bars_on_a_log_axis_start_at_its_left_edge() {
    let b = BarChart {
        value_label: "cost (USD)".into(),
        categories: vec!["a".into(), "b".into()],
        series: vec![("x".into(), vec![Some(1e-4), Some(0.04)])],
    };
    let fig = report::bars(&b, &cap("log bars")).unwrap();
    check(&fig, &["cost (USD) (log scale)"]);
    // Both bars start at the same pixel (the axis's left edge), and the smaller one is shorter.
    let rects: Vec<(i32, i32)> = fig
        .svg
        .match_indices("<rect")
        .filter_map(|(i, _)| {
            let r = &fig.svg[i..i + fig.svg[i..].find("/>")?];
            let get = |k: &str| -> Option<i32> {
                let at = r.find(&format!(" {k}=\""))? + k.len() + 3;
                r[at..].split('"').next()?.parse().ok()
            };
            if r.contains("fill=\"#0072B2\"") {
                Some((get("x")?, get("width")?))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(rects.len(), 2, "{rects:?}");
    assert_eq!(rects[0].0, rects[1].0);
    assert!(rects[0].1 < rects[1].1, "{rects:?}");
}
