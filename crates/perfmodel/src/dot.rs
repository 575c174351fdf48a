//! A small reader for Graphviz DOT files as written by networkx for the SLApp graphs
//! (`slapp-perfcost/evaluations/alg/App*/App*_G.dot`): nodes and edges with attribute lists, and the
//! `perf_profile` node attribute (`"{memory MB: mean duration ms, ...}"`, measured on AWS Lambda).
//!
//! Supported: `strict`, `graph`/`digraph` with an optional name, node statements `ID [k=v, ...]`, edge
//! chains `A -> B -> C [..]` (or `--`), graph-level `k=v` and `graph/node/edge [..]` defaults (read
//! and ignored), quoted strings with `\"` escapes and backslash-newline continuations, comments
//! (`//`, `/* */`, `#` lines). Not supported: subgraphs and HTML strings (an error with the line).
//! Why hand-written: the format subset is small and a dependency would not give line numbers for
//! `perf_profile` errors.

use std::collections::BTreeMap;

use crate::{Error, Sample};

/// A node statement with its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct DotNode {
    /// The node's id.
    pub id: String,
    /// Attributes (unquoted values); a later statement for the same id adds to them.
    pub attrs: BTreeMap<String, String>,
    /// 1-based line of the node's first statement.
    pub line: usize,
}

/// An edge with its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct DotEdge {
    /// Tail node id.
    pub from: String,
    /// Head node id.
    pub to: String,
    /// Attributes (unquoted values).
    pub attrs: BTreeMap<String, String>,
    /// 1-based line of the edge statement.
    pub line: usize,
}

/// A parsed DOT graph: nodes in order of first appearance, edges in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DotGraph {
    /// The graph's name (empty if none).
    pub name: String,
    /// Nodes, in order of first appearance (also nodes that appear only in edges).
    pub nodes: Vec<DotNode>,
    /// Edges, in file order.
    pub edges: Vec<DotEdge>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Id(String),
    Punct(&'static str),
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
    name: &'a str,
}

impl Lexer<'_> {
    fn err(&self, line: usize, message: String) -> Error {
        Error::Dot {
            source_name: self.name.to_owned(),
            line,
            message,
        }
    }

    fn next(&mut self) -> Result<Option<(Tok, usize)>, Error> {
        loop {
            let Some(&c) = self.src.get(self.pos) else {
                return Ok(None);
            };
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                c if c.is_ascii_whitespace() => self.pos += 1,
                b'#' if self.at_line_start() => self.skip_to_eol(),
                b'/' if self.src.get(self.pos + 1) == Some(&b'/') => self.skip_to_eol(),
                b'/' if self.src.get(self.pos + 1) == Some(&b'*') => {
                    let start = self.line;
                    self.pos += 2;
                    loop {
                        match self.src.get(self.pos) {
                            None => return Err(self.err(start, "unterminated /* comment".into())),
                            Some(b'*') if self.src.get(self.pos + 1) == Some(&b'/') => {
                                self.pos += 2;
                                break;
                            }
                            Some(b'\n') => {
                                self.line += 1;
                                self.pos += 1;
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => break,
            }
        }
        let line = self.line;
        let c = self.src[self.pos];
        let punct = |s: &'static str| Some((Tok::Punct(s), line));
        let two = self.src.get(self.pos..self.pos + 2);
        if two == Some(b"->") || two == Some(b"--") {
            self.pos += 2;
            return Ok(if two == Some(b"->") {
                punct("->")
            } else {
                punct("--")
            });
        }
        for p in ["{", "}", "[", "]", "=", ";", ",", ":"] {
            if c == p.as_bytes()[0] {
                self.pos += 1;
                return Ok(punct(p));
            }
        }
        if c == b'"' {
            self.pos += 1;
            let mut s = Vec::new();
            loop {
                match self.src.get(self.pos) {
                    None => return Err(self.err(line, "unterminated quoted string".into())),
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') if self.src.get(self.pos + 1) == Some(&b'\n') => {
                        // A backslash-newline inside a string is a line continuation (removed).
                        self.pos += 2;
                        self.line += 1;
                    }
                    Some(b'\\') if self.src.get(self.pos + 1) == Some(&b'"') => {
                        s.push(b'"');
                        self.pos += 2;
                    }
                    Some(&b) => {
                        if b == b'\n' {
                            self.line += 1;
                        }
                        s.push(b);
                        self.pos += 1;
                    }
                }
            }
            let s = String::from_utf8(s)
                .map_err(|_| self.err(line, "quoted string is not UTF-8".into()))?;
            return Ok(Some((Tok::Id(s), line)));
        }
        if c == b'<' {
            return Err(self.err(line, "HTML strings are not supported".into()));
        }
        let is_id =
            |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-' || b >= 0x80;
        if is_id(c) {
            let start = self.pos;
            while self.pos < self.src.len() && is_id(self.src[self.pos]) {
                // `-` only continues a numeral (as in `-1.5`), never an `->`/`--` operator.
                if self.src[self.pos] == b'-'
                    && (self.pos > start || matches!(self.src.get(self.pos + 1), Some(b'>' | b'-')))
                {
                    break;
                }
                self.pos += 1;
            }
            let s = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
            return Ok(Some((Tok::Id(s), line)));
        }
        Err(self.err(line, format!("unexpected character '{}'", char::from(c))))
    }

    fn at_line_start(&self) -> bool {
        self.src[..self.pos]
            .iter()
            .rev()
            .take_while(|&&b| b != b'\n')
            .all(|b| b.is_ascii_whitespace())
    }

    fn skip_to_eol(&mut self) {
        while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
            self.pos += 1;
        }
    }
}

/// Reads a DOT file through [`des::text::read_text`] (byte-order mark dropped, invalid UTF-8 named with
/// its byte offset and line).
pub fn read_dot(path: &std::path::Path) -> Result<DotGraph, Error> {
    let text = des::text::read_text(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_dot(&text, &path.display().to_string())
}

/// Parses DOT text labelled `source_name` in errors (a leading byte-order mark is dropped).
pub fn parse_dot(text: &str, source_name: &str) -> Result<DotGraph, Error> {
    let text = des::text::strip_bom(text);
    let mut lx = Lexer {
        src: text.as_bytes(),
        pos: 0,
        line: 1,
        name: source_name,
    };
    let mut toks = Vec::new();
    while let Some(t) = lx.next()? {
        toks.push(t);
    }
    let last_line = lx.line;
    let mut p = Parser {
        toks,
        idx: 0,
        name: source_name,
        last_line,
    };
    p.graph()
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    idx: usize,
    name: &'a str,
    last_line: usize,
}

impl Parser<'_> {
    fn err(&self, message: String) -> Error {
        let line = self
            .toks
            .get(self.idx)
            .map(|t| t.1)
            .unwrap_or(self.last_line);
        Error::Dot {
            source_name: self.name.to_owned(),
            line,
            message,
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.idx).map(|t| &t.0)
    }
    fn line(&self) -> usize {
        self.toks
            .get(self.idx)
            .map(|t| t.1)
            .unwrap_or(self.last_line)
    }
    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }
    fn expect(&mut self, p: &str) -> Result<(), Error> {
        if self.is(p) {
            self.idx += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected '{p}', found {}", self.describe())))
        }
    }
    fn describe(&self) -> String {
        match self.peek() {
            None => "end of file".into(),
            Some(Tok::Id(s)) => format!("'{s}'"),
            Some(Tok::Punct(p)) => format!("'{p}'"),
        }
    }
    fn id(&mut self) -> Result<String, Error> {
        match self.peek() {
            Some(Tok::Id(s)) => {
                let s = s.clone();
                self.idx += 1;
                Ok(s)
            }
            _ => Err(self.err(format!("expected an id, found {}", self.describe()))),
        }
    }

    fn graph(&mut self) -> Result<DotGraph, Error> {
        let mut g = DotGraph::default();
        if matches!(self.peek(), Some(Tok::Id(s)) if s.eq_ignore_ascii_case("strict")) {
            self.idx += 1;
        }
        let kind = self.id()?;
        let edge_op = match kind.to_ascii_lowercase().as_str() {
            "digraph" => "->",
            "graph" => "--",
            _ => {
                return Err(Error::Dot {
                    source_name: self.name.into(),
                    line: self.toks[self.idx - 1].1,
                    message: format!("expected 'graph' or 'digraph', found '{kind}'"),
                });
            }
        };
        if let Some(Tok::Id(_)) = self.peek() {
            g.name = self.id()?;
        }
        self.expect("{")?;
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        loop {
            if self.is("}") {
                self.idx += 1;
                break;
            }
            if self.peek().is_none() {
                return Err(self.err("expected '}' before the end of the file".into()));
            }
            if self.is(";") {
                self.idx += 1;
                continue;
            }
            let line = self.line();
            let first = self.id()?;
            if first.eq_ignore_ascii_case("subgraph") {
                return Err(Error::Dot {
                    source_name: self.name.into(),
                    line,
                    message: "subgraphs are not supported".into(),
                });
            }
            if self.is("=") {
                // Graph attribute `k = v`.
                self.idx += 1;
                self.id()?;
                continue;
            }
            if ["graph", "node", "edge"]
                .iter()
                .any(|k| first.eq_ignore_ascii_case(k))
                && self.is("[")
            {
                self.attrs()?;
                continue;
            }
            self.port()?;
            let mut chain = vec![first];
            while self.is("->") || self.is("--") {
                if !self.is(edge_op) {
                    return Err(self.err(format!("edge operator must be '{edge_op}' in a {kind}")));
                }
                self.idx += 1;
                chain.push(self.id()?);
                self.port()?;
            }
            let attrs = if self.is("[") {
                self.attrs()?
            } else {
                BTreeMap::new()
            };
            let mut touch =
                |g: &mut DotGraph, id: &str, attrs: Option<&BTreeMap<String, String>>| {
                    let i = *index.entry(id.to_owned()).or_insert_with(|| {
                        g.nodes.push(DotNode {
                            id: id.to_owned(),
                            attrs: BTreeMap::new(),
                            line,
                        });
                        g.nodes.len() - 1
                    });
                    if let Some(a) = attrs {
                        g.nodes[i]
                            .attrs
                            .extend(a.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                };
            if chain.len() == 1 {
                touch(&mut g, &chain[0], Some(&attrs));
            } else {
                for w in chain.windows(2) {
                    touch(&mut g, &w[0], None);
                    touch(&mut g, &w[1], None);
                    g.edges.push(DotEdge {
                        from: w[0].clone(),
                        to: w[1].clone(),
                        attrs: attrs.clone(),
                        line,
                    });
                }
            }
        }
        if self.peek().is_some() {
            return Err(self.err(format!(
                "unexpected {} after the closing '}}'",
                self.describe()
            )));
        }
        Ok(g)
    }

    fn port(&mut self) -> Result<(), Error> {
        while self.is(":") {
            self.idx += 1;
            self.id()?;
        }
        Ok(())
    }

    fn attrs(&mut self) -> Result<BTreeMap<String, String>, Error> {
        let mut out = BTreeMap::new();
        while self.is("[") {
            self.idx += 1;
            loop {
                if self.is("]") {
                    self.idx += 1;
                    break;
                }
                let k = self.id()?;
                self.expect("=")?;
                let v = self.id()?;
                out.insert(k, v);
                if self.is(",") || self.is(";") {
                    self.idx += 1;
                }
            }
        }
        Ok(out)
    }
}

/// Parses a `perf_profile` value `{128: 2898.2, 256: 1500.0}` (memory MB: mean duration ms) into
/// `(memory_mb, duration_s)` pairs in file order. `line` is the node's line, for errors.
pub fn parse_perf_profile(
    value: &str,
    source_name: &str,
    line: usize,
) -> Result<Vec<(u32, f64)>, Error> {
    let err = |message: String| Error::Dot {
        source_name: source_name.to_owned(),
        line,
        message,
    };
    let inner = value
        .trim()
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| {
            err(format!(
                "perf_profile must be '{{memory: ms, ...}}', found '{value}'"
            ))
        })?;
    let mut out = Vec::new();
    for (i, item) in inner.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() && inner.trim().is_empty() {
            break;
        }
        let (m, t) = item.split_once(':').ok_or_else(|| {
            err(format!(
                "perf_profile entry {} '{item}': expected 'memory: ms'",
                i + 1
            ))
        })?;
        let memory_mb: u32 = m.trim().parse().map_err(|_| {
            err(format!(
                "perf_profile entry {} memory '{}': expected MB as an integer",
                i + 1,
                m.trim()
            ))
        })?;
        let ms: f64 = t.trim().parse().map_err(|_| {
            err(format!(
                "perf_profile entry {} duration '{}': expected ms",
                i + 1,
                t.trim()
            ))
        })?;
        let max_ms = crate::sample::MAX_DURATION_S * 1e3;
        if memory_mb == 0 || memory_mb > crate::sample::MAX_MEMORY_MB || !(ms > 0.0 && ms <= max_ms)
        {
            return Err(err(format!(
                "perf_profile entry {} ({memory_mb}: {ms}): memory and duration must be > 0 (memory at most {} MB, duration at most {max_ms:e} ms)",
                i + 1,
                crate::sample::MAX_MEMORY_MB
            )));
        }
        out.push((memory_mb, ms / 1e3));
    }
    if out.is_empty() {
        return Err(err("perf_profile is empty".into()));
    }
    Ok(out)
}

/// Samples from every node of `graph` with a `perf_profile` (one job, one instance, one worker per
/// sample; the function is `prefix` + the node id). Nodes without the attribute are skipped.
pub fn perf_profile_samples(
    graph: &DotGraph,
    source_name: &str,
    prefix: &str,
) -> Result<Vec<Sample>, Error> {
    let mut out = Vec::new();
    for node in &graph.nodes {
        if let Some(v) = node.attrs.get("perf_profile") {
            for (memory_mb, duration_s) in parse_perf_profile(v, source_name, node.line)? {
                out.push(Sample {
                    function: format!("{prefix}{}", node.id),
                    memory_mb,
                    fan_out: 1,
                    workers: 1,
                    jobs: 1,
                    duration_s,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nodes_edges_and_continued_strings() {
        let text = "strict digraph G {\n  a [pos=\"(0, 1)\"];\n  b [perf_profile=\"{128: 1000.0, \\\n256: 500}\"];\n  a -> b -> c [weight=0.5];\n}\n";
        let g = parse_dot(text, "t.dot").unwrap();
        assert_eq!(g.name, "G");
        assert_eq!(
            g.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(g.edges.len(), 2);
        assert_eq!(g.edges[1].attrs["weight"], "0.5");
        assert_eq!(g.edges[1].line, 5);
        let s = perf_profile_samples(&g, "t.dot", "").unwrap();
        assert_eq!(s.len(), 2);
        assert!((s[1].duration_s - 0.5).abs() < 1e-15 && s[1].memory_mb == 256);
    }

    #[test]
    fn errors_carry_line_numbers() {
        let e = parse_dot("digraph {\n a [x=1];\n b [y=\n}\n", "t.dot")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.dot:4:"), "{e}");
        let e = parse_dot(
            "digraph {\n a;\n b [perf_profile=\"{128 1000}\"];\n}",
            "t.dot",
        )
        .unwrap();
        let e = perf_profile_samples(&e, "t.dot", "")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.dot:3:") && e.contains("entry 1"), "{e}");
        let e = parse_dot("digraph {\n a -> b\n", "t.dot")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.dot:3:") || e.starts_with("t.dot:2:"),
            "{e}"
        );
    }
}
