//! Decides where pending pods go: onto existing or in-flight nodes, or onto new NodeClaims from
//! the NodePools, with the instance types that fit.
//!
//! Pure: no I/O, no async, no clock. The same input always gives the same plan.
//!
//! The entry point is [`schedule`]: a [`SchedulerInput`] (NodePools with their instance types,
//! DaemonSets, existing nodes with their pods, pending pods, volumes, options) in, a [`Plan`]
//! (new NodeClaims, placements on existing nodes, unschedulable pods with reasons) out.
//! Kubernetes objects are converted once, at the boundary, into interned label ids, fixed
//! resource vectors and instance-type bitsets; the placement loop touches no strings or maps of
//! strings. See `docs/scheduling.md` for the data flow and invariants.

mod compile;
mod engine;
pub mod fixtures;
mod freetree;
pub mod fuzzing;
pub mod model;
mod optimize;
mod output;
pub mod packing;
pub mod pod;
pub mod requirements;

pub use model::{
    ExistingNode, ExistingPlacement, InstanceTypeOption, Launch, MinValuesPolicy, NewNodeClaim,
    NodePoolInput, Plan, PreferencePolicy, SchedulerInput, SchedulerOptions, Unschedulable,
};
pub use requirements::{Operator, Requirement};

/// Input the scheduler cannot interpret, naming the object and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A resource quantity does not parse.
    #[error("{object}: {field}: {source}")]
    Quantity {
        /// The object, e.g. `Pod default/web-0`.
        object: String,
        /// The field, e.g. `spec.containers[0].resources.requests.cpu`.
        field: String,
        /// The parse failure.
        source: karpenter_api::quantity::QuantityError,
    },
}

/// Decides where every pending pod goes. Deterministic: the same input gives the same plan.
pub fn schedule(input: &SchedulerInput) -> Result<Plan, InputError> {
    let world = compile::compile(input)?;
    let mut engine = engine::Engine::new(world, input.options.clone());
    engine.run();
    let solved = if input.options.optimize_packing {
        engine.optimize()
    } else {
        Vec::new()
    };
    let bound = if input.options.compute_lower_bound {
        engine.lower_bound(&solved)
    } else {
        0.0
    };
    let mut plan = engine.plan(input);
    if bound > plan.cost_per_hour + 1e-6 {
        tracing::warn!(
            bound,
            cost = plan.cost_per_hour,
            "lower bound above the plan's cost"
        );
    }
    plan.lower_bound_per_hour = bound.min(plan.cost_per_hour);
    Ok(plan)
}
