//! Integration tests of the figures: each kind on small fixed inputs (structure: axes, series, labels,
//! caption), the same data giving the same bytes, PNG output, the HTML page, and errors on empty data.

mod figures;
mod page;
