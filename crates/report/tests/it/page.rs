//! The HTML page.

use report::html::{Section, page};
use report::{Caption, Series};

#[test]
fn page_lists_every_figure_with_its_table() {
    let figs: Vec<(String, report::Figure)> = (0..3)
        .map(|i| {
            let f = report::lines(
                &[Series::new("s", vec![(0.0, f64::from(i)), (1.0, 2.0)])],
                "x (s)",
                "y (USD)",
                None,
                &Caption::new(format!("figure {i}"), "faastune x", Some(1)),
            )
            .unwrap();
            (format!("fig-{i}"), f)
        })
        .collect();
    let html = page(
        "title <1>",
        "intro",
        &[Section {
            title: "one".into(),
            text: Some("a & b".into()),
            figures: figs,
        }],
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("title &lt;1&gt;") && html.contains("a &amp; b"));
    for i in 0..3 {
        assert!(html.contains(&format!("<a href=\"#fig-{i}\">figure {i}</a>")));
        assert!(html.contains(&format!("<figure id=\"fig-{i}\"")));
    }
    assert_eq!(html.matches("<svg").count(), 3);
    assert_eq!(html.matches("<table>").count(), 3);
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
}
