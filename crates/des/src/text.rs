//! Reading user text files (workflows, profiles, traces, samples) the same way everywhere: a UTF-8
//! byte-order mark is dropped, and invalid UTF-8 is an error that names the byte offset and line.
//!
//! This lives in `des` because it is the one leaf every crate that reads files already depends on; it
//! knows nothing of the formats.

use std::io;
use std::path::Path;

/// The UTF-8 byte-order mark that some editors (Windows Notepad, PowerShell) write first.
pub const UTF8_BOM: &str = "\u{feff}";

/// Drops one leading UTF-8 byte-order mark, if present.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix(UTF8_BOM).unwrap_or(text)
}

/// Decodes bytes as UTF-8 text without a byte-order mark.
///
/// # Errors
/// `io::ErrorKind::InvalidData` whose message names the byte offset and the 1-based line of the first
/// invalid byte.
pub fn decode_text(bytes: Vec<u8>) -> io::Result<String> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with(UTF8_BOM) {
                text.drain(..UTF8_BOM.len());
            }
            Ok(text)
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count();
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not valid UTF-8 at byte {offset} (line {line})"),
            ))
        }
    }
}

/// Reads a whole file as UTF-8 text, dropping a leading byte-order mark.
///
/// # Errors
/// The operating system's error (missing file, permission), or `InvalidData` naming the byte offset and
/// line of the first invalid UTF-8 byte. The path is for the caller to add, once.
pub fn read_text(path: &Path) -> io::Result<String> {
    decode_text(std::fs::read(path)?)
}

/// 1-based line numbers of byte offsets in one text (a binary search over its newline offsets), for
/// readers whose parser reports byte offsets but miscounts lines (the `csv` crate leaves blank lines
/// out of its line count).
#[derive(Debug, Clone)]
pub struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line breaks (`\n`) of `text`.
    pub fn new(text: &str) -> Self {
        LineIndex {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// The 1-based line holding byte `offset` (an offset past the end is on the last line).
    pub fn line(&self, offset: usize) -> usize {
        1 + self.newlines.partition_point(|&nl| nl < offset)
    }
}

/// Every record of CSV `text` with the 1-based line it starts on (blank lines skipped), or the line
/// and message of the first problem, for the CSV readers of every crate (samples, traces). One record
/// per line: a quoted field that spans lines, or that runs to the end of the text with an odd number of
/// quotes, is an unterminated quote (the `csv` crate would silently swallow the rest of the file into
/// it). `trim` trims every field.
///
/// # Errors
/// `(line, message)` of the first malformed record.
pub fn csv_records(
    text: &str,
    trim: bool,
) -> Result<Vec<(usize, csv::StringRecord)>, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(if trim {
            csv::Trim::All
        } else {
            csv::Trim::None
        })
        .from_reader(text.as_bytes());
    let lines = LineIndex::new(text);
    // The `csv` crate reports a record at the offset before the blank lines it skipped (and leaves
    // them out of its own line count): the record starts at the first byte that is no line break.
    let start_of = |pos: Option<&csv::Position>| {
        let at = pos.map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        let at = at.min(text.len());
        at + text.as_bytes()[at..]
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count()
    };
    let unterminated = || "unterminated quoted field (a field may not span lines)".to_owned();
    let mut out = Vec::new();
    let mut last_start = None;
    let mut rec = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let start = start_of(rec.position());
                let line = lines.line(start);
                last_start = Some(start);
                if rec.iter().any(|f| f.contains(['\n', '\r'])) {
                    return Err((line, unterminated()));
                }
                out.push((line, rec.clone()));
            }
            Err(e) => return Err((lines.line(start_of(e.position())), e.to_string())),
        }
    }
    // The last record runs to the end of the text: an odd number of quotes there is a quote left
    // open (the `csv` crate closes it silently).
    if let Some(start) = last_start
        && text[start..].bytes().filter(|&b| b == b'"').count() % 2 == 1
    {
        return Err((lines.line(start), unterminated()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_dropped_once() {
        assert_eq!(strip_bom("\u{feff}a: 1"), "a: 1");
        assert_eq!(strip_bom("a: 1"), "a: 1");
        let text = decode_text(b"\xef\xbb\xbf{\"a\": 1}".to_vec()).unwrap();
        assert_eq!(text, "{\"a\": 1}");
    }

    #[test]
    fn line_index_counts_newlines_before_an_offset() {
        let idx = LineIndex::new("ab\n\ncd\n");
        assert_eq!([0, 2, 3, 4, 7, 99].map(|o| idx.line(o)), [1, 1, 2, 3, 4, 4]);
    }

    #[test]
    fn invalid_utf8_names_offset_and_line() {
        let err = decode_text(b"ab\ncd\xff".to_vec()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "not valid UTF-8 at byte 5 (line 2)");
    }
}
