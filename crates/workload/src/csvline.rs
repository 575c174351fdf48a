//! A minimal CSV reader for the trace formats (RFC 4180 fields, one record per line), which keeps the
//! line number of every record so errors can name it.

use std::path::Path;

use crate::Error;

/// A file split into records: the header and the data rows with their 1-based line numbers.
pub(crate) struct CsvFile {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl CsvFile {
    /// Reads `path`; a UTF-8 byte-order mark and blank lines are skipped, `\r\n` endings accepted.
    pub fn read(path: &Path) -> Result<CsvFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<CsvFile, Error> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut header = None;
        let mut rows = Vec::new();
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.trim().is_empty() {
                continue;
            }
            let fields = split(raw).map_err(|message| Error::Parse {
                path: path.to_path_buf(),
                line: line_no,
                message,
            })?;
            if header.is_none() {
                header = Some(fields.into_iter().map(|f| f.trim().to_string()).collect());
            } else {
                rows.push((line_no, fields));
            }
        }
        let header = header.ok_or_else(|| Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            message: "empty file, expected a header".into(),
        })?;
        Ok(CsvFile { header, rows })
    }

    /// The index of column `name`, or an error naming the header line.
    pub fn column(&self, path: &Path, name: &str) -> Result<usize, Error> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Parse {
                path: path.to_path_buf(),
                line: 1,
                message: format!("missing column {name:?} in header"),
            })
    }

    /// Checks that every row has as many fields as the header.
    pub fn check_widths(&self, path: &Path) -> Result<(), Error> {
        for (line, fields) in &self.rows {
            if fields.len() != self.header.len() {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: *line,
                    message: format!(
                        "expected {} fields, found {}",
                        self.header.len(),
                        fields.len()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Parses a finite, non-negative float field.
pub(crate) fn parse_nonneg_f64(
    path: &Path,
    line: usize,
    column: &str,
    text: &str,
) -> Result<f64, Error> {
    let v: f64 = text.trim().parse().map_err(|_| Error::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("column {column}: {text:?} is not a number"),
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line,
            message: format!("column {column}: {text:?} must be finite and non-negative"),
        });
    }
    Ok(v)
}

fn split(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_field_start {
            in_quotes = true;
            at_field_start = false;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
            at_field_start = true;
        } else {
            cur.push(c);
            at_field_start = false;
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".into());
    }
    fields.push(cur);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields_and_keeps_line_numbers() {
        let f = CsvFile::parse(Path::new("x.csv"), "\u{feff}a,b\r\n\n1,\"x,\"\"y\"\"\"\n").unwrap();
        assert_eq!(f.header, vec!["a", "b"]);
        assert_eq!(
            f.rows,
            vec![(3, vec!["1".to_string(), "x,\"y\"".to_string()])]
        );
        let e = CsvFile::parse(Path::new("x.csv"), "a\n\"open\n")
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "x.csv:2: unterminated quoted field");
    }
}
