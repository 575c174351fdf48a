//! Profile and config files are read through `des::text::read_text`: a byte-order mark is dropped,
//! invalid UTF-8 names its byte offset and line, and a missing file names its path once.

use std::path::PathBuf;

use platform::{Platform, StaticConfig};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("platform-it-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn profile_with_a_byte_order_mark_loads() {
    let yaml = write("bom.yaml", b"\xef\xbb\xbfname: bom\nkeep_alive_s: 60\n");
    let p = Platform::load(&yaml).unwrap();
    assert_eq!((p.name(), p.spec().keep_alive_s), ("bom", 60.0));
    let json = write("bom.json", b"\xef\xbb\xbf{\"name\": \"bom-json\"}");
    assert_eq!(Platform::load(&json).unwrap().name(), "bom-json");
    let cfg = write(
        "bom.config.json",
        b"\xef\xbb\xbf{\"default\": {\"memory_mb\": 512}}",
    );
    assert_eq!(
        StaticConfig::load(&cfg).unwrap().default.unwrap().memory_mb,
        512
    );
}

#[test]
fn invalid_utf8_names_byte_offset_and_line() {
    let path = write("bad-utf8.yaml", b"name: x\nkeep_alive_s: 6\xff0\n");
    let e = Platform::load(&path).unwrap_err().to_string();
    assert!(
        e.contains(&path.display().to_string()) && e.contains("byte 23 (line 2)"),
        "{e}"
    );
    let e = StaticConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("byte 23 (line 2)"), "{e}");
}

#[test]
fn missing_file_names_its_path() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("platform-it-no-such-file.yaml");
    let e = Platform::load(&path).unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    // The operating-system cause is both in the message and the `source`: callers that print the
    // chain must print it once (the CLI does: see its `error_text`).
    let source = std::error::Error::source(&e)
        .expect("io source")
        .to_string();
    assert!(text.ends_with(&source), "{text}");
}
