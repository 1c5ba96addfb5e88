//! `karpenter.sh/v1` NodeClaim: a request for one node, made by Karpenter from a NodePool.

use crate::duration::{GoDuration, NillableDuration};
use crate::requirements::NodeSelectorRequirementWithMinValues;
use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Condition types of a NodeClaim's status.
pub mod conditions {
    /// The cloud provider launched the instance.
    pub const LAUNCHED: &str = "Launched";
    /// The node registered with the cluster.
    pub const REGISTERED: &str = "Registered";
    /// The node is ready, its startup taints are gone and its resources are registered.
    pub const INITIALIZED: &str = "Initialized";
    /// Launched, registered and initialized.
    pub const READY: &str = "Ready";
    /// The node may be consolidated (its `consolidateAfter` has elapsed).
    pub const CONSOLIDATABLE: &str = "Consolidatable";
    /// The node no longer matches its NodePool or node class.
    pub const DRIFTED: &str = "Drifted";
    /// Why the node is being disrupted.
    pub const DISRUPTION_REASON: &str = "DisruptionReason";
    /// The node has been drained.
    pub const DRAINED: &str = "Drained";
    /// The node's volumes have been detached.
    pub const VOLUMES_DETACHED: &str = "VolumesDetached";
    /// The instance is terminating.
    pub const INSTANCE_TERMINATING: &str = "InstanceTerminating";
}

/// A reference to the provider-specific node class (for AWS, an EC2NodeClass).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, KubeSchema)]
pub struct NodeClassReference {
    /// API group of the node class, e.g. `karpenter.k8s.aws`.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self != ''").message("group may not be empty"))]
    pub group: String,
    /// Kind of the node class, e.g. `EC2NodeClass`.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self != ''").message("kind may not be empty"))]
    pub kind: String,
    /// Name of the node class.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self != ''").message("name may not be empty"))]
    pub name: String,
}

impl NodeClassReference {
    /// A reference to the EC2NodeClass `name`.
    pub fn ec2_node_class(name: impl Into<String>) -> Self {
        Self {
            group: crate::ec2nodeclass::GROUP.into(),
            kind: "EC2NodeClass".into(),
            name: name.into(),
        }
    }
}

/// Resource requests of a NodeClaim.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRequirements {
    /// The resources the node must provide (the sum of the pods it was made for).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
}

/// The default `expireAfter`: 30 days.
pub fn default_expire_after() -> NillableDuration {
    NillableDuration("720h".into())
}

/// The desired state of a NodeClaim.
// kube's printcolumn(...) attributes repeat `type_`, which clippy takes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "karpenter.sh",
    version = "v1",
    kind = "NodeClaim",
    plural = "nodeclaims",
    status = "NodeClaimStatus",
    category = "karpenter",
    derive = "PartialEq",
    doc = "NodeClaim is the Schema for the NodeClaims API",
    printcolumn(
        name = "Type",
        type_ = "string",
        json_path = ".metadata.labels.node\\.kubernetes\\.io/instance-type"
    ),
    printcolumn(
        name = "Capacity",
        type_ = "string",
        json_path = ".metadata.labels.karpenter\\.sh/capacity-type"
    ),
    printcolumn(
        name = "Zone",
        type_ = "string",
        json_path = ".metadata.labels.topology\\.kubernetes\\.io/zone"
    ),
    printcolumn(name = "Node", type_ = "string", json_path = ".status.nodeName"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "ID",
        type_ = "string",
        json_path = ".status.providerID",
        priority = 1
    ),
    printcolumn(
        name = "NodePool",
        type_ = "string",
        json_path = ".metadata.labels.karpenter\\.sh/nodepool",
        priority = 1
    ),
    printcolumn(
        name = "NodeClass",
        type_ = "string",
        json_path = ".spec.nodeClassRef.name",
        priority = 1
    ),
    printcolumn(
        name = "Drifted",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Drifted\")].status",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimSpec {
    /// Taints the node is created with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Taints the node starts with and that something else (a daemon) removes; pods need not
    /// tolerate them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub startup_taints: Vec<Taint>,
    /// Requirements the instance must satisfy.
    #[serde(default)]
    #[schemars(length(max = 100))]
    #[x_kube(
        validation = Rule::new("self.all(x, x.operator == 'In' ? (has(x.values) && x.values.size() != 0) : true)").message("requirements operator 'In' must have a value defined"),
        validation = Rule::new("self.all(x, (x.operator == 'Gt' || x.operator == 'Lt' || x.operator == 'Gte' || x.operator == 'Lte') ? (has(x.values) && x.values.size() == 1 && int(x.values[0]) >= 0) : true)").message("requirements operator 'Gt', 'Lt', 'Gte' or 'Lte' must have a single positive integer value"),
        validation = Rule::new("self.all(x, (x.operator == 'In' && has(x.minValues)) ? (has(x.values) && x.values.size() >= x.minValues) : true)").message("requirements with 'minValues' must have at least that many values specified in the 'values' field")
    )]
    pub requirements: Vec<NodeSelectorRequirementWithMinValues>,
    /// Resources the node must provide.
    #[serde(default, skip_serializing_if = "is_default")]
    pub resources: ResourceRequirements,
    /// The node class to launch with.
    #[serde(default)]
    pub node_class_ref: NodeClassReference,
    /// How long a draining node may take before its pods are deleted regardless of PDBs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period: Option<GoDuration>,
    /// How long the node lives before it is replaced; `Never` disables expiry.
    #[serde(default = "default_expire_after")]
    pub expire_after: NillableDuration,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The observed state of a NodeClaim.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimStatus {
    /// Name of the node the instance registered as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Provider ID of the instance, e.g. `aws:///us-east-1a/i-0123456789abcdef0`.
    #[serde(
        default,
        rename = "providerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    /// The image the instance was launched from.
    #[serde(default, rename = "imageID", skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The instance's capacity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, Quantity>,
    /// The capacity left for pods after system and kubelet overhead.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: BTreeMap<String, Quantity>,
    /// Conditions (see [`conditions`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// When a pod was last scheduled to or removed from the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pod_event_time: Option<Time>,
}
