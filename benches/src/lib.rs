//! Shared workload generators for the criterion benchmarks live here as they are added.

pub mod packing_workloads;
