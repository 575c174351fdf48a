//! The CSV layer of the trace readers: the `csv` crate (RFC 4180, one record per line: quoted fields
//! may hold commas and quotes) over text read by [`des::text::read_text`], keeping the 1-based line
//! number of every record so errors can name it.

use std::path::Path;

use crate::Error;

/// A file split into records: the header and the data rows with their 1-based line numbers.
pub(crate) struct CsvFile {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl CsvFile {
    /// Reads `path` through [`des::text::read_text`] (a UTF-8 byte-order mark is dropped; invalid UTF-8
    /// is an error naming its byte offset and line). Blank lines are skipped, `\r\n` endings accepted.
    pub fn read(path: &Path) -> Result<CsvFile, Error> {
        let text = des::text::read_text(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<CsvFile, Error> {
        let text = des::text::strip_bom(text);
        let parse_err = |line: usize, message: String| Error::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        let records = des::text::csv_records(text, false)
            .map_err(|(line, message)| parse_err(line, message))?;
        let mut header = None;
        let mut rows = Vec::new();
        for (line, record) in records {
            // A line of spaces is a record of one blank field: skipped like an empty line.
            if record.len() == 1 && record[0].trim().is_empty() {
                continue;
            }
            if header.is_none() {
                header = Some(record.iter().map(|f| f.trim().to_string()).collect());
            } else {
                rows.push((line, record.iter().map(str::to_string).collect()));
            }
        }
        let header = header.ok_or_else(|| parse_err(1, "empty file, expected a header".into()))?;
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

/// Parses a finite, non-negative float field of at most `max` (a documented bound of the format).
pub(crate) fn parse_nonneg_f64(
    path: &Path,
    line: usize,
    column: &str,
    text: &str,
    max: f64,
) -> Result<f64, Error> {
    let v: f64 = text.trim().parse().map_err(|_| Error::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("column {column}: {text:?} is not a number"),
    })?;
    if !(0.0..=max).contains(&v) {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line,
            message: format!("column {column}: {text:?} must be in [0, {max:e}]"),
        });
    }
    Ok(v)
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
        for text in ["a\n\n\"open\n", "a\n\n\"open", "a\n\n\"open\nb\n"] {
            let e = CsvFile::parse(Path::new("x.csv"), text).err().unwrap();
            assert_eq!(
                e.to_string(),
                "x.csv:3: unterminated quoted field (a field may not span lines)"
            );
        }
    }
}
