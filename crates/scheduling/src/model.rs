//! The scheduler's public input and output.

use crate::requirements::{Operator, Requirement};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod, Taint};
use k8s_openapi::api::storage::v1::StorageClass;
use karpenter_api::quantity::ResourceList;
use karpenter_catalog::model::{CapacityType, InstanceType};
use std::collections::BTreeMap;

/// Whether soft constraints (preferred affinities, `ScheduleAnyway` spread, `PreferNoSchedule`
/// taints) are honoured, then relaxed one at a time, or ignored from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreferencePolicy {
    /// Treat preferences as requirements first and relax them in Karpenter's order.
    #[default]
    Respect,
    /// Ignore preferences entirely.
    Ignore,
}

/// How `minValues` on NodePool requirements is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MinValuesPolicy {
    /// A NodeClaim whose instance types would fall below `minValues` is not formed.
    #[default]
    Strict,
    /// `minValues` is kept when possible and dropped when it cannot be met.
    BestEffort,
}

/// Scheduler options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// Preference policy (default `Respect`).
    pub preference_policy: PreferencePolicy,
    /// `minValues` policy (default `Strict`).
    pub min_values_policy: MinValuesPolicy,
    /// Maximum instance types listed per NodeClaim (default 600).
    pub max_instance_types: usize,
    /// Re-pack unconstrained pods on new NodeClaims with the packing optimiser when it lowers the
    /// total price (default true).
    pub optimize_packing: bool,
    /// Compute [`Plan::lower_bound_per_hour`] with the packing module's bound (default true).
    pub compute_lower_bound: bool,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            preference_policy: PreferencePolicy::Respect,
            min_values_policy: MinValuesPolicy::Strict,
            max_instance_types: 600,
            optimize_packing: true,
            compute_lower_bound: true,
        }
    }
}

/// A NodePool as the scheduler needs it, with the instance types it may launch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodePoolInput {
    /// NodePool name.
    pub name: String,
    /// Weight: higher weights are tried first (default 0); ties go by name.
    pub weight: i32,
    /// `spec.template.spec.requirements`.
    pub requirements: Vec<Requirement>,
    /// `spec.template.metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.template.spec.taints`.
    pub taints: Vec<Taint>,
    /// `spec.template.spec.startupTaints` (do not block scheduling).
    pub startup_taints: Vec<Taint>,
    /// `spec.limits`, when set: the pool's nodes' capacity may not exceed it (`nodes` counts
    /// nodes).
    pub limits: Option<ResourceList>,
    /// Instance types the pool may launch, with allocatable already adjusted for the pool's node
    /// class (the caller applies kubelet settings).
    pub instance_types: Vec<InstanceType>,
}

/// A node already in the cluster, or a NodeClaim already launching (in flight).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExistingNode {
    /// Node (or NodeClaim) name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<Taint>,
    /// What pods may use (`status.allocatable`, else capacity).
    pub allocatable: ResourceList,
    /// Capacity, counted toward its NodePool's limits (defaults to allocatable when empty).
    pub capacity: ResourceList,
    /// Pods bound to it.
    pub pods: Vec<Pod>,
    /// True for a NodeClaim that has not registered yet: its startup and not-ready taints are
    /// ignored, and the daemon pods that will land on it are counted.
    pub in_flight: bool,
    /// The NodePool that manages it (`karpenter.sh/nodepool` label), if any.
    pub node_pool: Option<String>,
}

impl ExistingNode {
    /// Builds an existing node from a Kubernetes Node and the pods bound to it.
    pub fn from_node(node: &Node, pods: Vec<Pod>) -> Result<ExistingNode, crate::InputError> {
        let name = node.metadata.name.clone().unwrap_or_default();
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let status = node.status.as_ref();
        let parse = |field: &str,
                     m: Option<
            &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
        >| {
            let mut out = ResourceList::new();
            if let Some(m) = m {
                for (k, q) in m {
                    let v = karpenter_api::quantity::parse_milli(&q.0).map_err(|e| {
                        crate::InputError::Quantity {
                            object: format!("Node {name}"),
                            field: format!("status.{field}.{k}"),
                            source: e,
                        }
                    })?;
                    out.set(k.clone(), v);
                }
            }
            Ok::<_, crate::InputError>(out)
        };
        let capacity = parse("capacity", status.and_then(|s| s.capacity.as_ref()))?;
        let mut allocatable = parse("allocatable", status.and_then(|s| s.allocatable.as_ref()))?;
        if allocatable.0.is_empty() {
            allocatable = capacity.clone();
        }
        let node_pool = labels.get("karpenter.sh/nodepool").cloned();
        Ok(ExistingNode {
            name,
            labels,
            taints: node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default(),
            allocatable,
            capacity,
            pods,
            in_flight: false,
            node_pool,
        })
    }
}

/// Everything the scheduler decides from.
#[derive(Debug, Clone, Default)]
pub struct SchedulerInput {
    /// NodePools with their instance types.
    pub node_pools: Vec<NodePoolInput>,
    /// DaemonSets: their pods add overhead to every new node they would land on.
    pub daemonsets: Vec<DaemonSet>,
    /// Existing nodes and in-flight NodeClaims, with their bound pods.
    pub existing_nodes: Vec<ExistingNode>,
    /// Pods to place.
    pub pending_pods: Vec<Pod>,
    /// PersistentVolumes.
    pub persistent_volumes: Vec<PersistentVolume>,
    /// PersistentVolumeClaims.
    pub persistent_volume_claims: Vec<PersistentVolumeClaim>,
    /// StorageClasses.
    pub storage_classes: Vec<StorageClass>,
    /// Namespace labels, for `namespaceSelector` in pod affinity terms. A namespace missing here
    /// has only `kubernetes.io/metadata.name`.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Options.
    pub options: SchedulerOptions,
}

/// One instance type a new NodeClaim may launch as.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceTypeOption {
    /// Index into the NodePool's `instance_types`.
    pub index: usize,
    /// Instance type name.
    pub name: String,
    /// Price of its cheapest available offering compatible with the claim's requirements.
    pub price: f64,
}

/// The offering the simulated cloud provider launches: the cheapest available offering among
/// the claim's instance types, zones and capacity types, ties by type name, zone, capacity type.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// Index into the NodePool's `instance_types`.
    pub instance_type_index: usize,
    /// Instance type name.
    pub instance_type: String,
    /// Zone.
    pub zone: String,
    /// Capacity type.
    pub capacity_type: CapacityType,
    /// Price, USD per hour.
    pub price: f64,
}

/// A NodeClaim to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNodeClaim {
    /// NodePool name.
    pub node_pool: String,
    /// Index of the NodePool in the input.
    pub node_pool_index: usize,
    /// The pool's requirements narrowed by its pods' requirements and topology choices.
    pub requirements: Vec<Requirement>,
    /// Compatible instance types, cheapest first, truncated to `max_instance_types`. Claims
    /// with the same options share the list.
    pub instance_types: std::sync::Arc<[InstanceTypeOption]>,
    /// Requests of its pods plus daemon overhead.
    pub requests: ResourceList,
    /// The daemon overhead included in `requests`.
    pub daemon_requests: ResourceList,
    /// Pod keys (`namespace/name`).
    pub pods: Vec<String>,
    /// Node labels known before launch: the pool's labels and every requirement narrowed to one
    /// value (zone, capacity type, ... when pinned), plus `karpenter.sh/nodepool`.
    pub labels: BTreeMap<String, String>,
    /// The pool's taints.
    pub taints: Vec<Taint>,
    /// The pool's startup taints.
    pub startup_taints: Vec<Taint>,
    /// Cheapest launch, when any offering is available.
    pub launch: Option<Launch>,
}

/// Pending pods placed on an existing node or in-flight NodeClaim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPlacement {
    /// Node name.
    pub node: String,
    /// Pod keys (`namespace/name`).
    pub pods: Vec<String>,
}

/// A pod that found no place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unschedulable {
    /// Pod key (`namespace/name`).
    pub pod: String,
    /// Why, naming the constraint and the pool.
    pub reason: String,
}

/// The scheduler's decision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// New NodeClaims, in creation order.
    pub new_node_claims: Vec<NewNodeClaim>,
    /// Existing nodes that received pods, in input order.
    pub existing_placements: Vec<ExistingPlacement>,
    /// Pods that found no place, in input order.
    pub unschedulable: Vec<Unschedulable>,
    /// Sum of the launch prices of the new NodeClaims, USD per hour.
    pub cost_per_hour: f64,
    /// A proven lower bound on the hourly cost of new nodes for the pods placed on new NodeClaims.
    pub lower_bound_per_hour: f64,
}

impl Plan {
    /// Where a pod went: `Some(Ok(claim index))`, `Some(Err(node name))` for an existing node,
    /// `None` when unschedulable or unknown.
    pub fn placement_of(&self, pod_key: &str) -> Option<Result<usize, &str>> {
        for (i, c) in self.new_node_claims.iter().enumerate() {
            if c.pods.iter().any(|p| p == pod_key) {
                return Some(Ok(i));
            }
        }
        for e in &self.existing_placements {
            if e.pods.iter().any(|p| p == pod_key) {
                return Some(Err(e.node.as_str()));
            }
        }
        None
    }
}

impl NodePoolInput {
    /// Converts a `karpenter.sh/v1` NodePool and the instance types its node class allows.
    /// Limit quantities that do not parse are an error naming the field.
    pub fn from_api(
        pool: &karpenter_api::nodepool::NodePool,
        instance_types: Vec<InstanceType>,
    ) -> Result<NodePoolInput, crate::InputError> {
        let name = pool.metadata.name.clone().unwrap_or_default();
        let spec = &pool.spec.template.spec;
        let requirements = spec
            .requirements
            .iter()
            .map(|r| Requirement {
                key: r.key.clone(),
                operator: Operator::parse(r.operator.as_str()).unwrap_or(Operator::In),
                values: r.values.clone(),
                min_values: r.min_values.and_then(|m| u32::try_from(m).ok()),
            })
            .collect();
        let limits = if pool.spec.limits.is_empty() {
            None
        } else {
            let mut l = ResourceList::new();
            for (k, q) in &pool.spec.limits {
                let v = karpenter_api::quantity::parse_milli(&q.0).map_err(|e| {
                    crate::InputError::Quantity {
                        object: format!("NodePool {name}"),
                        field: format!("spec.limits.{k}"),
                        source: e,
                    }
                })?;
                l.set(k.clone(), v);
            }
            Some(l)
        };
        Ok(NodePoolInput {
            weight: pool.spec.weight.unwrap_or(0),
            requirements,
            labels: pool.spec.template.metadata.labels.clone(),
            taints: spec.taints.clone(),
            startup_taints: spec.startup_taints.clone(),
            limits,
            instance_types,
            name,
        })
    }
}
