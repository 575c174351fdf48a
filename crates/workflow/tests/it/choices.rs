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
