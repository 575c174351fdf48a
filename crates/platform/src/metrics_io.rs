//! Writing the monitoring stream (stub: issue 10).
