//! Transforms on hand-built graphs.
