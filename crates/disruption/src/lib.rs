//! Disruption decisions: which nodes are empty, drifted, expired or worth consolidating, within
//! the NodePools' disruption budgets.
//!
//! Pure: takes a snapshot of the cluster and the time, returns commands. Nothing in this crate
//! yet: it arrives with the disruption issue, after the scheduler that consolidation simulates
//! against.
