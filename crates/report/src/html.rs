//! The self-contained HTML report: every figure as inline SVG with its table, no script, no network.

use crate::Figure;

/// A report section: a heading, an optional paragraph, its figures.
#[derive(Debug, Clone)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// A paragraph under the heading (plain text, escaped).
    pub text: Option<String>,
    /// `(anchor id, figure)` pairs, drawn in order.
    pub figures: Vec<(String, Figure)>,
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em}\
figure{margin:1.5em 0 2.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#444;font-size:.9em;margin:.3em 0}\
details{margin:.4em 0}table{border-collapse:collapse;font-size:.85em}\
td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}th{background:#f4f4f4}\
td:first-child,th:first-child{text-align:left}nav li{margin:.15em 0}";

/// The whole page: a title, a table of contents, then each section's figures, each with its caption
/// and its table (in a `<details>` element, open without script). Deterministic: the same sections
/// give the same bytes.
pub fn page(title: &str, intro: &str, sections: &[Section]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!("<title>{}</title>\n", escape(title)));
    h.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    h.push_str(&format!(
        "<h1>{}</h1>\n<p>{}</p>\n",
        escape(title),
        escape(intro)
    ));
    h.push_str("<nav><ul>\n");
    for s in sections {
        h.push_str(&format!("<li>{}<ul>\n", escape(&s.title)));
        for (id, f) in &s.figures {
            h.push_str(&format!(
                "<li><a href=\"#{}\">{}</a></li>\n",
                escape(id),
                escape(&f.caption.title)
            ));
        }
        h.push_str("</ul></li>\n");
    }
    h.push_str("</ul></nav>\n");
    for s in sections {
        h.push_str(&format!("<h2>{}</h2>\n", escape(&s.title)));
        if let Some(t) = &s.text {
            h.push_str(&format!("<p>{}</p>\n", escape(t)));
        }
        for (id, f) in &s.figures {
            h.push_str(&format!(
                "<figure id=\"{}\" class=\"figure\">\n<h3>{}</h3>\n",
                escape(id),
                escape(&f.caption.title)
            ));
            h.push_str(strip_xml_decl(&f.svg));
            h.push('\n');
            h.push_str(&format!(
                "<figcaption>{}{}</figcaption>\n",
                f.caption
                    .note
                    .as_deref()
                    .map(|n| format!("{} ", escape(n)))
                    .unwrap_or_default(),
                escape(&f.caption.footer())
            ));
            h.push_str("<details open><summary>table</summary>\n<table>\n<tr>");
            for c in &f.table.headers {
                h.push_str(&format!("<th>{}</th>", escape(c)));
            }
            h.push_str("</tr>\n");
            for r in &f.table.rows {
                h.push_str("<tr>");
                for c in r {
                    h.push_str(&format!("<td>{}</td>", escape(c)));
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n</details>\n</figure>\n");
        }
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn strip_xml_decl(svg: &str) -> &str {
    let s = svg.trim_start();
    if s.starts_with("<?xml") {
        s.find("?>").map_or(s, |i| s[i + 2..].trim_start())
    } else {
        s
    }
}
