//! Shared workload generators for the criterion benchmarks live here as they are added.

pub mod packing_workloads;
pub mod scheduling_workloads;

pub use scheduling_workloads::{builtin_pool, diverse_input, diverse_on, plain_input};
