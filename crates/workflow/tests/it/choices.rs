//! Choice probabilities that do not sum to 1 are an error, never silently renormalised.

use workflow::Workflow;

#[test]
fn choice_probabilities_below_one_are_an_error() {
    let yaml = "name: c\nsteps:\n\
        - {name: ch, kind: choice, choices: [{next: x, probability: 0.3}, {next: y, probability: 0.3}]}\n\
        - {name: x, after: [ch], jobs: 1, work_s: 1}\n\
        - {name: y, after: [ch], jobs: 1, work_s: 1}\n";
    let err = Workflow::from_str_auto(yaml, "c.yaml").unwrap_err();
    let text = err.to_string();
    assert_eq!(err.problems().len(), 1, "{text}");
    assert!(
        text.contains("step 'ch' (steps[0]): choice probabilities sum to 0.6, less than 1"),
        "{text}"
    );
}

#[test]
fn choice_probabilities_above_one_are_an_error() {
    let yaml = "name: c\nsteps:\n\
        - {name: ch, kind: choice, choices: [{next: x, probability: 0.7}, {next: y, probability: 0.7}]}\n\
        - {name: x, after: [ch], jobs: 1, work_s: 1}\n\
        - {name: y, after: [ch], jobs: 1, work_s: 1}\n";
    let err = Workflow::from_str_auto(yaml, "c.yaml").unwrap_err();
    assert!(err.to_string().contains("more than 1"), "{err}");
}

#[test]
fn a_branch_without_probability_takes_the_rest() {
    let yaml = "name: c\nsteps:\n\
        - {name: ch, kind: choice, choices: [{next: x, probability: 0.3}, {next: y}]}\n\
        - {name: x, after: [ch], jobs: 1, work_s: 1}\n\
        - {name: y, after: [ch], jobs: 1, work_s: 1}\n";
    let wf = Workflow::from_str_auto(yaml, "c.yaml").unwrap();
    let p: Vec<f64> = wf.steps()[0].choices.iter().map(|c| c.1).collect();
    assert!(
        (p[0] - 0.3).abs() < 1e-12 && (p[1] - 0.7).abs() < 1e-12,
        "{p:?}"
    );
}

#[test]
fn imported_choice_probabilities_below_one_are_an_error() {
    use workflow::import::{Format, ImportOptions, import_str};
    let asl = r#"{"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "A", "Probability": 0.3}],
              "Default": "B", "DefaultProbability": 0.3},
        "A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}"#;
    let err = import_str(Format::Asl, asl, "c.json", &ImportOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("state 'C': choice probabilities sum to 0.6, less than 1"),
        "{text}"
    );
    // Leaving the Default without one gives it the rest.
    let asl = asl.replace(r#", "DefaultProbability": 0.3"#, "");
    let spec = import_str(Format::Asl, &asl, "c.json", &ImportOptions::default()).unwrap();
    let wf = Workflow::from_spec(&spec, "c").unwrap();
    let p: Vec<f64> = wf.steps()[0].choices.iter().map(|c| c.1).collect();
    assert!(
        (p[0] - 0.3).abs() < 1e-12 && (p[1] - 0.7).abs() < 1e-12,
        "{p:?}"
    );
}
