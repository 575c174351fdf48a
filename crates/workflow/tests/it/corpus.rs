//! Every file in the shared data folder of a kind we import (ASL state machines, SeBS-Flow definitions,
//! WorkflowHub and WfCommons instances, FaaSFlow apps) imports and validates. Skipped, with a message, when
//! `../shared/data` is absent.

use std::path::{Path, PathBuf};

use workflow::import::{Format, ImportOptions, import_file};

use crate::{round_trip, shared_data};

/// Every `.json` file under `dir`, at any depth, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_shared_file_of_an_imported_kind_imports_and_validates() {
    let root = shared_data("");
    if !root.exists() {
        eprintln!("skipped: {} is absent", root.display());
        return;
    }
    let mut n = [0usize; 4];
    let asl = json_files(&shared_data("slapp-perfcost"))
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("App"));
    let sebs = json_files(&shared_data("sebs-workflows")).into_iter();
    let hub = json_files(&shared_data("workflowhub")).into_iter();
    let faasflow = ["fileprocessing", "illgal_recognizer", "video", "wordcount"]
        .map(|app| shared_data(&format!("faasflow-apps/{app}/flat_workflow.yaml")));
    let all = asl
        .map(|p| (Format::Asl, p))
        .chain(sebs.map(|p| (Format::Sebs, p)))
        .chain(hub.map(|p| (Format::WorkflowHub, p)))
        .chain(faasflow.map(|p| (Format::FaaSFlow, p)));
    for (format, path) in all {
        let spec = import_file(format, &path, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{format} {}: {e}", path.display()));
        round_trip(&spec);
        n[format as usize] += 1;
    }
    // ASL App8..App16, five SeBS definitions, six WorkflowHub traces and one WfCommons 1.5 instance,
    // four FaaSFlow apps.
    assert_eq!(
        n,
        [5, 7, 5, 4],
        "files per format (asl, workflowhub, sebs, faasflow)"
    );
}
