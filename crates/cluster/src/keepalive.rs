//! The keep-alive policy trait: how long an idle instance stays warm, and whether to unload it and load
//! it again later (pre-warm), as in Shahrad et al. (ATC'20).

use des::SimTime;

/// What to do with an instance that just became idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAliveDecision {
    /// Zero: keep the instance warm now. Positive: unload it now and load a warm instance this long
    /// after the idle start (the pre-warm window).
    pub pre_warm: SimTime,
    /// How long the (kept or pre-warmed) instance stays warm before it is unloaded.
    pub keep_alive: SimTime,
}

/// A keep-alive policy. The environment reports every arrival and every instance that becomes idle;
/// per-function state is the policy's own.
pub trait KeepAlivePolicy {
    /// A short name (`fixed`, `histogram`).
    fn name(&self) -> String;
    /// An invocation of `function_idx` arrived at `now`.
    fn on_arrival(&mut self, function_idx: u32, now: SimTime);
    /// An instance of `function_idx` became idle at `now`: decide its windows.
    fn on_idle(&mut self, function_idx: u32, now: SimTime) -> KeepAliveDecision;
}
