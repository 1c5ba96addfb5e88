//! Inputs for the scheduler benchmarks and the peak-memory example.

use karpenter_catalog::{AllocatableOptions, Catalog};
use karpenter_scheduling::fixtures::{benchmark_pods, fake_instance_types, plain_pods};
use karpenter_scheduling::{NodePoolInput, SchedulerInput};

/// Karpenter's benchmark: 400 fake types, one unconstrained pool, `n` diverse pods.
pub fn diverse_input(n: usize) -> SchedulerInput {
    SchedulerInput {
        node_pools: vec![NodePoolInput {
            name: "default".into(),
            instance_types: fake_instance_types(400),
            ..Default::default()
        }],
        pending_pods: benchmark_pods(n, 42),
        ..Default::default()
    }
}

/// An unconstrained pool over the built-in us-east-1 catalog.
pub fn builtin_pool() -> NodePoolInput {
    let cat = Catalog::builtin("us-east-1", &AllocatableOptions::default())
        .expect("built-in us-east-1 catalog");
    NodePoolInput {
        name: "default".into(),
        instance_types: cat.instance_types,
        ..Default::default()
    }
}

/// `n` plain pods on `pool`.
pub fn plain_input(pool: NodePoolInput, n: usize) -> SchedulerInput {
    SchedulerInput {
        node_pools: vec![pool],
        pending_pods: plain_pods(n, 42),
        ..Default::default()
    }
}

/// Karpenter's benchmark pods (`n`, five kinds) on `pool`, e.g. the built-in catalog.
pub fn diverse_on(pool: NodePoolInput, n: usize) -> SchedulerInput {
    SchedulerInput {
        node_pools: vec![pool],
        pending_pods: benchmark_pods(n, 42),
        ..Default::default()
    }
}
