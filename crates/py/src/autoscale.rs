//! `AutoscaleEnv`: the autoscaling environment of `platform::autoscale` (issue 12) for Python.
//!
//! Actions: one `(memory, concurrency)` knob pair per function, each `0` down, `1` keep, `2` up,
//! flattened as `[m0, c0, m1, c1, ...]`. Observations: the feature matrix (functions x
//! `platform::autoscale::N_FEATURES`, `f32` bytes) and the fixed function-level edges. Seeding:
//! `reset(seed)` starts episode 0 of root `seed` (arrivals from `episode_arrivals(pattern, rate,
//! horizon, seed, episode)`, the simulation seeded by `seed`'s `autoscale_episode` stream of the
//! episode); `reset(None)` the next episode.

use std::sync::Arc;

use platform::autoscale::{
    AutoscaleEnv as Env, AutoscaleObs, AutoscaleSettings, FunctionAction, Knob, LoadPattern,
    N_FEATURES, RewardBaseline, episode_arrivals, function_graph,
};
use platform::{Arrivals, SimOptions, StaticConfig};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::api::{Source, load_platform};
use crate::errors;

/// The autoscaling environment (see the module docs).
#[pyclass(unsendable, module = "faastune._native")]
pub struct AutoscaleEnv {
    env: Env,
    pattern: LoadPattern,
    rate_per_s: f64,
    horizon_s: f64,
    seed: u64,
    episode: u64,
    edges: Vec<(u32, u32)>,
    obs: Option<AutoscaleObs>,
}

fn knob(v: i64) -> PyResult<Knob> {
    match v {
        0 => Ok(Knob::Down),
        1 => Ok(Knob::Keep),
        2 => Ok(Knob::Up),
        other => Err(errors::option(
            "action",
            format!("{other}: each knob is 0 (down), 1 (keep) or 2 (up)"),
        )),
    }
}

#[pymethods]
impl AutoscaleEnv {
    /// An environment for `workflow` (path or spec dict) on `platform` with the initial per-step
    /// `config` (file or dict; default as `simulate`'s), load `pattern` (`steady`, `bursty`,
    /// `periodic`; `diurnal` needs an Azure trace and is not offered here) at mean `rate_per_s`,
    /// episodes of `horizon_s` with one decision every `interval_s`.
    #[new]
    #[pyo3(signature = (workflow, *, platform=None, config=None, rate_per_s=1.0, pattern="steady", horizon_s=600.0, interval_s=60.0, slo=None, reward_baseline="none"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        workflow: &Bound<'_, PyAny>,
        platform: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        rate_per_s: f64,
        pattern: &str,
        horizon_s: f64,
        interval_s: f64,
        slo: Option<f64>,
        reward_baseline: &str,
    ) -> PyResult<AutoscaleEnv> {
        let wf = Source::extract(workflow)?.workflow()?;
        let platform = load_platform(platform)?;
        let initial = match config {
            None => StaticConfig::default_for(&wf, &platform),
            Some(c) => match Source::extract(c)? {
                Source::Path(p) => {
                    let name = p.display().to_string();
                    StaticConfig::load(&p).and_then(|c| c.resolve(&wf, &platform, &name))
                }
                Source::Spec(text) => StaticConfig::from_str_auto(&text, "<config dict>")
                    .and_then(|c| c.resolve(&wf, &platform, "<config dict>")),
            },
        }
        .map_err(errors::platform)?;
        let pattern: LoadPattern = pattern.parse().map_err(errors::platform)?;
        if pattern == LoadPattern::Diurnal {
            return Err(errors::option(
                "pattern",
                "diurnal needs an Azure Functions 2019 trace: use steady, bursty or periodic",
            ));
        }
        let settings = AutoscaleSettings {
            interval_s,
            reward_baseline: reward_baseline
                .parse::<RewardBaseline>()
                .map_err(errors::platform)?,
            ..AutoscaleSettings::default()
        };
        let arrivals = episode_arrivals(pattern, rate_per_s, horizon_s, None, 0, 0)
            .map_err(errors::platform)?;
        let options = SimOptions {
            arrivals,
            seed: 0,
            slo_s: slo,
            horizon_s: Some(horizon_s),
            ..SimOptions::default()
        };
        let (_, edges) = function_graph(&wf);
        let env = Env::new(Arc::new(wf), Arc::new(platform), initial, options, settings)
            .map_err(errors::platform)?;
        Ok(AutoscaleEnv {
            env,
            pattern,
            rate_per_s,
            horizon_s,
            seed: 0,
            episode: 0,
            edges,
            obs: None,
        })
    }

    /// Functions, in the observation's row order.
    #[getter]
    fn function_names(&self) -> Vec<String> {
        self.env.function_names().to_vec()
    }

    /// Features per function.
    #[getter]
    fn n_features(&self) -> usize {
        N_FEATURES
    }

    /// The function-level dependency edges `(pred, succ)`.
    #[getter]
    fn edges(&self) -> Vec<(u32, u32)> {
        self.edges.clone()
    }

    /// Starts an episode (see the module docs); returns nothing, read `features()`.
    #[pyo3(signature = (seed=None))]
    fn reset(&mut self, seed: Option<u64>) -> PyResult<()> {
        match seed {
            Some(s) => {
                self.seed = s;
                self.episode = 0;
            }
            None => self.episode += 1,
        }
        let arrivals: Arrivals = episode_arrivals(
            self.pattern,
            self.rate_per_s,
            self.horizon_s,
            None,
            self.seed,
            self.episode,
        )
        .map_err(errors::platform)?;
        let sim_seed = des::stream_seed(self.seed, "autoscale_episode", self.episode);
        self.env
            .set_load(arrivals, sim_seed)
            .map_err(errors::platform)?;
        self.obs = Some(self.env.reset().map_err(errors::platform)?);
        Ok(())
    }

    /// Applies one knob pair per function (`[m0, c0, m1, c1, ...]`); returns `(reward, done)`.
    fn step(&mut self, actions: Vec<i64>) -> PyResult<(f64, bool)> {
        let n = self.env.n_functions();
        if actions.len() != 2 * n {
            return Err(errors::option(
                "action",
                format!(
                    "{} values: expected 2 per function ({})",
                    actions.len(),
                    2 * n
                ),
            ));
        }
        let acts = actions
            .chunks(2)
            .map(|c| {
                Ok(FunctionAction {
                    memory: knob(c[0])?,
                    concurrency: knob(c[1])?,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let s = self.env.step(&acts).map_err(errors::platform)?;
        self.obs = Some(s.obs);
        Ok((s.reward, s.done))
    }

    /// The current features, `f32` bytes, functions x `n_features`, row-major.
    fn features<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let obs = self
            .obs
            .as_ref()
            .ok_or_else(|| errors::option("environment", "call reset() first"))?;
        let bytes: Vec<u8> = obs.features.iter().flat_map(|x| x.to_le_bytes()).collect();
        Ok(PyBytes::new(py, &bytes))
    }

    /// Simulated time and the episode index.
    fn info(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let d = PyDict::new(py);
        d.set_item("now_s", self.obs.as_ref().map(|o| o.now_s))?;
        d.set_item("episode", self.episode)?;
        d.set_item("ref_cost_usd", self.env.ref_cost())?;
        d.set_item("ref_rate_per_s", self.env.ref_rate_per_s())?;
        Ok(d.unbind())
    }

    /// The finished episode's simulation report (as `simulate` returns), or `None` while it runs.
    fn report<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.env.report() {
            Some(r) => Ok(Some(crate::api::json_to_py(py, &r.to_json())?)),
            None => Ok(None),
        }
    }
}
