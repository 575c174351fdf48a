//! `faastune._native`: the Python extension module (pyo3, built by maturin; the pure-Python package
//! around it is `crates/py/python/faastune`). Workflow functions in [`api`], the allocation
//! environment in [`alloc`], the autoscaling environment in [`autoscale`], errors in [`errors`].
//!
//! Every function returns what the CLI's `--json` prints for the same arguments, built by the same
//! library calls, so the same seed gives the same numbers from Python and from the command line.
#![warn(missing_docs)]

pub mod alloc;
pub mod api;
pub mod autoscale;
pub mod errors;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FaastuneError", py.get_type::<errors::FaastuneError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(api::load_workflow, m)?)?;
    m.add_function(wrap_pyfunction!(api::validate_workflow, m)?)?;
    m.add_function(wrap_pyfunction!(api::import_workflow, m)?)?;
    m.add_function(wrap_pyfunction!(api::save_workflow, m)?)?;
    m.add_function(wrap_pyfunction!(api::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(api::plan, m)?)?;
    m.add_function(wrap_pyfunction!(api::compare, m)?)?;
    m.add_function(wrap_pyfunction!(api::fit, m)?)?;
    m.add_function(wrap_pyfunction!(api::policies, m)?)?;
    m.add_class::<alloc::AllocEnv>()?;
    m.add_class::<autoscale::AutoscaleEnv>()?;
    Ok(())
}
