//! Reading files: a UTF-8 byte-order mark before the first key is dropped, invalid UTF-8 is named by its
//! byte offset and line.

use workflow::import::{Format, ImportOptions, import_file, import_str};
use workflow::{Error, Workflow, WorkflowSpec};

use crate::golden;

#[test]
fn bom_before_first_key_is_accepted() {
    for f in ["native/bom.yaml", "native/bom.json"] {
        let wf = Workflow::load(&golden(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(wf.name, "bom");
        assert_eq!(wf.n_steps(), 1);
    }
    // The from-str entry points drop it too.
    let yaml = "\u{feff}name: s\nsteps: [{name: a, jobs: 1, work_s: 1}]\n";
    assert_eq!(Workflow::from_str_auto(yaml, "s.yaml").unwrap().name, "s");
    let json =
        "\u{feff}{\"name\": \"s\", \"steps\": [{\"name\": \"a\", \"jobs\": 1, \"work_s\": 1}]}";
    assert_eq!(
        WorkflowSpec::from_json_str(json, "s.json").unwrap().name,
        "s"
    );
    assert_eq!(
        WorkflowSpec::from_str_auto(json, "s.json").unwrap().name,
        "s"
    );
    assert_eq!(
        WorkflowSpec::from_yaml_str(yaml, "s.yaml").unwrap().name,
        "s"
    );
}

#[test]
fn bom_before_an_imported_file_is_accepted() {
    let spec = import_file(
        Format::Asl,
        &golden("asl/hello.asl.json"),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.steps.len(), 2);
    let text = std::fs::read_to_string(golden("asl/hello.asl.json")).unwrap();
    assert!(
        text.starts_with('\u{feff}'),
        "the golden file keeps its BOM"
    );
    let again = import_str(Format::Asl, &text, "hello.json", &ImportOptions::default()).unwrap();
    assert_eq!(again.steps, spec.steps);
}

#[test]
fn invalid_utf8_names_byte_offset_and_line() {
    let path = golden("native/bad_utf8.yaml");
    let err = Workflow::load(&path).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("bad_utf8.yaml"), "{msg}");
    assert!(msg.contains("byte 26 (line 3)"), "{msg}");
    let err = import_file(Format::Asl, &path, &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("byte 26 (line 3)"), "{err}");
}
