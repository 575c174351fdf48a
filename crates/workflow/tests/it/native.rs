//! The native format around imports: format names, JSON accepted as is, and files written by
//! `import` read back by `validate`.

use std::str::FromStr;

use workflow::import::{Format, ImportOptions, import_file};
use workflow::{Workflow, WorkflowSpec};

use crate::shared_data;

#[test]
fn format_names_parse() {
    assert_eq!(Format::from_str("asl"), Ok(Format::Asl));
    assert_eq!(Format::from_str("WorkflowHub"), Ok(Format::WorkflowHub));
    assert_eq!(Format::from_str("sebs"), Ok(Format::Sebs));
    for f in Format::ALL {
        assert_eq!(Format::from_str(f.as_str()), Ok(f));
    }
    let err = Format::from_str("bpmn").unwrap_err();
    assert!(
        err.to_string().contains("unknown workflow format 'bpmn'"),
        "{err}"
    );
}

#[test]
fn imported_yaml_is_read_back_from_a_file() {
    let spec = import_file(
        Format::Sebs,
        &shared_data("sebs-workflows/650.vid_definition.json"),
        &ImportOptions::default(),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("faastune-workflow-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vid.yaml");
    std::fs::write(&path, spec.to_yaml()).unwrap();
    let loaded = Workflow::load(&path).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(loaded, Workflow::from_spec(&spec, "x").unwrap());
    // The description with its assumptions survives the file.
    assert_eq!(loaded.description, spec.description);
    // And the spec itself comes back unchanged.
    assert_eq!(
        WorkflowSpec::from_str_auto(&spec.to_yaml(), "y").unwrap(),
        spec
    );
    assert_eq!(
        WorkflowSpec::from_str_auto(&spec.to_json(), "j").unwrap(),
        spec
    );
}

#[test]
fn missing_files_name_the_path() {
    let err = import_file(
        Format::Asl,
        std::path::Path::new("/nonexistent/App1.json"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read /nonexistent/App1.json"),
        "{err}"
    );
}

#[test]
fn sebs_definition_json_is_named_by_its_folder() {
    let text =
        std::fs::read_to_string(shared_data("sebs-workflows/690.ml_definition.json")).unwrap();
    let spec = workflow::import::import_str(
        Format::Sebs,
        &text,
        "benchmarks/690.ml/definition.json",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(spec.name, "690.ml");
}
