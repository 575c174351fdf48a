//! Importers from other workflow formats into the native [`crate::WorkflowSpec`].
