//! Knative's pod autoscaler (KPA) driving provisioned concurrency (stub: issue 10).

use super::{Change, ControlState, Controller};
use crate::monitor::MonitorWindow;

/// KPA settings.
#[derive(Debug, Clone, PartialEq)]
pub struct KpaSettings {
    /// Target concurrency per instance.
    pub target: f64,
}

/// The KPA controller.
#[derive(Debug, Clone)]
pub struct Kpa {
    settings: KpaSettings,
}

impl Kpa {
    /// A controller with these settings.
    pub fn new(settings: KpaSettings) -> Self {
        Kpa { settings }
    }
}

impl Controller for Kpa {
    fn name(&self) -> &str {
        "kpa"
    }
    fn control(&mut self, _w: &MonitorWindow, _s: &ControlState<'_>) -> Vec<Change> {
        let _ = &self.settings;
        Vec::new()
    }
}
