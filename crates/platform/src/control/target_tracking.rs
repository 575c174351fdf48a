//! AWS Application Auto Scaling target tracking on `ProvisionedConcurrencyUtilization` (stub: issue 10).

use super::{Change, ControlState, Controller};
use crate::monitor::MonitorWindow;

/// Target tracking settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTrackingSettings {
    /// Target utilisation.
    pub target: f64,
}

/// Target tracking controller.
#[derive(Debug, Clone)]
pub struct TargetTracking {
    settings: TargetTrackingSettings,
}

impl TargetTracking {
    /// A controller with these settings.
    pub fn new(settings: TargetTrackingSettings) -> Self {
        TargetTracking { settings }
    }
}

impl Controller for TargetTracking {
    fn name(&self) -> &str {
        "target-tracking"
    }
    fn control(&mut self, _w: &MonitorWindow, _s: &ControlState<'_>) -> Vec<Change> {
        let _ = &self.settings;
        Vec::new()
    }
}
