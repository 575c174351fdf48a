//! ASL in JSONata form: `Seconds`, `MaxConcurrency`, `Items` and `Arguments.FunctionName` read like their
//! JSONPath forms; an expression only known at run time is an assumption in the description.

use workflow::import::{Format, ImportOptions, import_file};

use crate::{golden, round_trip, step};

#[test]
fn jsonata_expressions_read_like_jsonpath() {
    let spec = import_file(
        Format::Asl,
        &golden("asl/jsonata.json"),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(step(&wf, "Pause").wait_s, 7.0);
    assert_eq!(step(&wf, "Later").wait_s, 0.0);
    // `{% 3 %}` bounds the fan-out; an `Items` expression leaves the default of 10 items.
    let one = step(&wf, "One");
    assert_eq!(
        (one.jobs, one.max_fan_out, one.function.as_str()),
        (10, Some(3), "resize")
    );
    // A literal `Items` array gives the count; a MaxConcurrency expression leaves it unbounded.
    let two = step(&wf, "Two");
    assert_eq!(
        (two.jobs, two.max_fan_out, two.function.as_str()),
        (9, None, "Two")
    );
    let d = spec.description.unwrap();
    assert!(
        d.contains("Wait 'Later' waits 0 s (its Seconds expression is only known at run time)"),
        "{d}"
    );
    assert!(d.contains("Map 'Fan' runs all items at once"), "{d}");
}
