//! The `CloudProvider` trait the controller launches and deletes capacity through, the in-memory
//! simulated provider used by `karpenter simulate` and tests, and (later) the EC2 provider.
//!
//! The controller never talks to a cloud directly: it asks a [`CloudProvider`] for the instance
//! types a NodePool can use, launches a NodeClaim with [`CloudProvider::create`], and deletes,
//! lists and drift-checks instances through it. Failures come back as a typed
//! [`CloudProviderError`] so the controller can tell insufficient capacity (retry another
//! offering) from a missing instance, a node class that is not ready, and everything else.

pub mod requirements;
pub mod simulated;

use async_trait::async_trait;
use karpenter_api::quantity::ResourceList;
use karpenter_catalog::{CapacityType, InstanceType};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

pub use requirements::{Operator, Requirement};
pub use simulated::{LaunchCandidates, SimulatedCloudProvider};

/// Well-known label: the node's instance type.
pub const LABEL_INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
/// Well-known label: the node's availability zone.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// Well-known label: the node's availability zone id.
pub const LABEL_ZONE_ID: &str = "topology.k8s.aws/zone-id";
/// Well-known label: the node's region.
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
/// Well-known label: how the node was bought.
pub const LABEL_CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
/// Well-known label: the NodePool that launched the node.
pub const LABEL_NODEPOOL: &str = "karpenter.sh/nodepool";
/// Well-known label: the CPU architecture.
pub const LABEL_ARCH: &str = "kubernetes.io/arch";
/// Well-known label: the operating system.
pub const LABEL_OS: &str = "kubernetes.io/os";
/// Well-known label: the EC2NodeClass the node was launched from.
pub const LABEL_NODECLASS: &str = "karpenter.k8s.aws/ec2nodeclass";

/// What a provider needs from a NodeClaim to launch it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaunchRequest {
    /// The NodeClaim's name; the instance keeps it.
    pub name: String,
    /// The NodePool the claim belongs to.
    pub node_pool: String,
    /// The node class (EC2NodeClass name) the claim launches from.
    pub node_class: String,
    /// The claim's requirements: instance types, zones, capacity types and any other label.
    pub requirements: Vec<Requirement>,
    /// Labels the node gets from the claim (the pool template's labels).
    pub labels: BTreeMap<String, String>,
    /// The resources the instance must be able to allocate (the claim's pods and daemon overhead).
    pub resources: ResourceList,
}

impl LaunchRequest {
    /// The launch request for a NodeClaim: its name, NodePool (from the `karpenter.sh/nodepool`
    /// label), node class, requirements, labels and resource requests.
    pub fn from_node_claim(claim: &karpenter_api::NodeClaim) -> Result<Self, CloudProviderError> {
        let name = claim.metadata.name.clone().unwrap_or_default();
        let labels = claim.metadata.labels.clone().unwrap_or_default();
        let mut resources = ResourceList::new();
        for (resource, q) in &claim.spec.resources.requests {
            let milli = karpenter_api::quantity::parse_milli(&q.0).map_err(|e| {
                CloudProviderError::Other(format!(
                    "nodeclaim {name}: spec.resources.requests.{resource}: {e}"
                ))
            })?;
            resources.set(resource.clone(), milli);
        }
        Ok(Self {
            node_pool: labels.get(LABEL_NODEPOOL).cloned().unwrap_or_default(),
            node_class: claim.spec.node_class_ref.name.clone(),
            requirements: claim
                .spec
                .requirements
                .iter()
                .map(Requirement::from)
                .collect(),
            labels,
            resources,
            name,
        })
    }
}

/// A launched instance, as the provider reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The provider id (`sim:///ZONE/i-...` for the simulated provider, `aws:///ZONE/i-...` on EC2).
    pub provider_id: String,
    /// The NodeClaim the instance was launched for.
    pub name: String,
    /// The NodePool of that claim.
    pub node_pool: String,
    /// The node class it was launched from.
    pub node_class: String,
    /// The instance type it launched as.
    pub instance_type: String,
    /// The zone it runs in.
    pub zone: String,
    /// How it was bought.
    pub capacity_type: CapacityType,
    /// USD per hour of the offering it launched at.
    pub price: f64,
    /// The node's capacity.
    pub capacity: ResourceList,
    /// What pods can use: capacity minus the kubelet's reservations.
    pub allocatable: ResourceList,
    /// The node's labels, well-known ones included.
    pub labels: BTreeMap<String, String>,
    /// The machine image it booted.
    pub image: String,
}

/// One offering, named: an instance type in a zone bought a given way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferingKey {
    /// Instance type name.
    pub instance_type: String,
    /// Zone.
    pub zone: String,
    /// Capacity type.
    pub capacity_type: CapacityType,
}

impl OfferingKey {
    /// An offering key from its parts.
    pub fn new(instance_type: &str, zone: &str, capacity_type: CapacityType) -> Self {
        Self {
            instance_type: instance_type.to_string(),
            zone: zone.to_string(),
            capacity_type,
        }
    }
}

impl fmt::Display for OfferingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.instance_type,
            self.zone,
            self.capacity_type.as_str()
        )
    }
}

/// Why an instance no longer matches what its node class would launch today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftReason {
    /// The node class resolves to a different image than the instance booted.
    Image {
        /// The image the instance runs.
        running: String,
        /// The image the node class resolves to now.
        wanted: String,
    },
    /// The instance's type is no longer offered for its node class.
    InstanceTypeRemoved {
        /// The instance type.
        instance_type: String,
    },
}

impl fmt::Display for DriftReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriftReason::Image { running, wanted } => {
                write!(
                    f,
                    "image drifted: running {running}, node class wants {wanted}"
                )
            }
            DriftReason::InstanceTypeRemoved { instance_type } => {
                write!(f, "instance type {instance_type} is no longer offered")
            }
        }
    }
}

/// What can go wrong talking to a cloud provider.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CloudProviderError {
    /// Nothing could launch: every offering tried was out of capacity, or none was compatible.
    #[error("{}", insufficient_capacity_message(claim, offerings))]
    InsufficientCapacity {
        /// The NodeClaim that could not launch.
        claim: String,
        /// The offerings that were out of capacity (empty when none was compatible and available).
        offerings: Vec<OfferingKey>,
    },
    /// No instance has this provider id.
    #[error("instance {provider_id} not found")]
    NotFound {
        /// The provider id asked for.
        provider_id: String,
    },
    /// The node class is unknown or not ready to launch from.
    #[error("node class {node_class} is not ready: {reason}")]
    NodeClassNotReady {
        /// The node class name.
        node_class: String,
        /// Why it is not ready.
        reason: String,
    },
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}

fn insufficient_capacity_message(claim: &str, offerings: &[OfferingKey]) -> String {
    if offerings.is_empty() {
        format!("insufficient capacity for nodeclaim {claim}: no compatible offering is available")
    } else {
        let list: Vec<String> = offerings.iter().map(ToString::to_string).collect();
        format!(
            "insufficient capacity for nodeclaim {claim}: {}",
            list.join(", ")
        )
    }
}

impl CloudProviderError {
    /// Whether the error is insufficient capacity (the caller may retry other offerings).
    pub fn is_insufficient_capacity(&self) -> bool {
        matches!(self, CloudProviderError::InsufficientCapacity { .. })
    }

    /// Whether the error says the instance does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CloudProviderError::NotFound { .. })
    }
}

/// The interface between the controller and a cloud.
///
/// Implementations are shared between tasks, so every method takes `&self`.
#[async_trait]
pub trait CloudProvider: Send + Sync {
    /// The provider's name (`simulated`, `aws`).
    fn name(&self) -> &str;

    /// Launches an instance for a NodeClaim at the cheapest available offering its
    /// requirements allow.
    async fn create(&self, request: &LaunchRequest) -> Result<Instance, CloudProviderError>;

    /// Terminates an instance.
    async fn delete(&self, provider_id: &str) -> Result<(), CloudProviderError>;

    /// The instance with this provider id.
    async fn get(&self, provider_id: &str) -> Result<Instance, CloudProviderError>;

    /// Every instance the provider launched and has not deleted, by provider id.
    async fn list(&self) -> Result<Vec<Instance>, CloudProviderError>;

    /// The instance types a NodePool can launch with its node class, with their offerings'
    /// current availability.
    async fn instance_types(
        &self,
        node_pool: &str,
        node_class: &str,
    ) -> Result<Vec<InstanceType>, CloudProviderError>;

    /// Whether an instance has drifted from what its node class would launch today.
    async fn is_drifted(
        &self,
        provider_id: &str,
    ) -> Result<Option<DriftReason>, CloudProviderError>;
}
