//! Scheduled actions: changes at given simulated times, read from a file (stub: issue 10).

use super::{Change, ControlState, Controller};
use crate::monitor::MonitorWindow;

/// Scheduled actions controller.
#[derive(Debug, Clone, Default)]
pub struct ScheduledActions {
    actions: Vec<(f64, Change)>,
}

impl Controller for ScheduledActions {
    fn name(&self) -> &str {
        "schedule"
    }
    fn control(&mut self, _w: &MonitorWindow, _s: &ControlState<'_>) -> Vec<Change> {
        let _ = &self.actions;
        Vec::new()
    }
}
