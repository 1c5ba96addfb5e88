//! `karpenter.sh/v1` NodePool: the template, limits and disruption policy Karpenter launches
//! nodes from.

use crate::duration::{GoDuration, NillableDuration};
use crate::nodeclaim::{default_expire_after, NodeClassReference};
use crate::requirements::NodeSelectorRequirementWithMinValues;
use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Condition types of a NodePool's status.
pub mod conditions {
    /// The NodePool can launch nodes (its node class is ready and it validated).
    pub const READY: &str = "Ready";
    /// The referenced node class exists and is ready.
    pub const NODE_CLASS_READY: &str = "NodeClassReady";
    /// The NodePool passed runtime validation.
    pub const VALIDATION_SUCCEEDED: &str = "ValidationSucceeded";
}

/// The desired state of a NodePool.
// kube's printcolumn(...) attributes repeat `type_`, which clippy takes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "karpenter.sh",
    version = "v1",
    kind = "NodePool",
    plural = "nodepools",
    status = "NodePoolStatus",
    category = "karpenter",
    derive = "PartialEq",
    doc = "NodePool is the Schema for the NodePools API",
    printcolumn(
        name = "NodeClass",
        type_ = "string",
        json_path = ".spec.template.spec.nodeClassRef.name"
    ),
    printcolumn(
        name = "Nodes",
        type_ = "string",
        json_path = ".status.resources.nodes"
    ),
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
        name = "Weight",
        type_ = "integer",
        json_path = ".spec.weight",
        priority = 1
    ),
    printcolumn(
        name = "CPU",
        type_ = "string",
        json_path = ".status.resources.cpu",
        priority = 1
    ),
    printcolumn(
        name = "Memory",
        type_ = "string",
        json_path = ".status.resources.memory",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    /// The template of the NodeClaims this pool creates.
    pub template: NodeClaimTemplate,
    /// How and when Karpenter may disrupt the pool's nodes.
    #[serde(default)]
    pub disruption: Disruption,
    /// Upper bounds on the total resources of the pool's nodes (`cpu`, `memory`, `nodes`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
    /// Priority among pools: higher weights are tried first (1..100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub weight: Option<i32>,
    /// Static capacity: keep exactly this many nodes, regardless of pending pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i64>,
}

/// The template of a NodePool's NodeClaims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeClaimTemplate {
    /// Labels and annotations put on the nodes.
    #[serde(default, skip_serializing_if = "NodeClaimTemplateMetadata::is_empty")]
    pub metadata: NodeClaimTemplateMetadata,
    /// The NodeClaim spec.
    pub spec: NodeClaimTemplateSpec,
}

/// Labels and annotations of a NodeClaim template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NodeClaimTemplateMetadata {
    /// Labels put on every node of the pool (and usable by pods' node selectors).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations put on every node of the pool.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl NodeClaimTemplateMetadata {
    /// Whether there are neither labels nor annotations.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty()
    }
}

/// The NodeClaim spec of a NodePool's template (a NodeClaim spec without resources).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimTemplateSpec {
    /// Taints the nodes are created with; pods must tolerate them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Taints the nodes start with and that a daemon removes; pods need not tolerate them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub startup_taints: Vec<Taint>,
    /// Requirements on the instances (instance types, zones, capacity types, ...).
    #[serde(default)]
    #[schemars(length(max = 100))]
    #[x_kube(
        validation = Rule::new("self.all(x, x.operator == 'In' ? (has(x.values) && x.values.size() != 0) : true)").message("requirements operator 'In' must have a value defined"),
        validation = Rule::new("self.all(x, (x.operator == 'Gt' || x.operator == 'Lt' || x.operator == 'Gte' || x.operator == 'Lte') ? (has(x.values) && x.values.size() == 1 && int(x.values[0]) >= 0) : true)").message("requirements operator 'Gt', 'Lt', 'Gte' or 'Lte' must have a single positive integer value"),
        validation = Rule::new("self.all(x, (x.operator == 'In' && has(x.minValues)) ? (has(x.values) && x.values.size() >= x.minValues) : true)").message("requirements with 'minValues' must have at least that many values specified in the 'values' field")
,
        validation = Rule::new("self.all(x, x.key != 'karpenter.sh/nodepool')").message("label \"karpenter.sh/nodepool\" is restricted"),
        validation = Rule::new("self.all(x, x.key != 'kubernetes.io/hostname')").message("label \"kubernetes.io/hostname\" is restricted")
    )]
    pub requirements: Vec<NodeSelectorRequirementWithMinValues>,
    /// The node class the nodes are launched with.
    #[serde(default)]
    pub node_class_ref: NodeClassReference,
    /// How long a node lives before it is replaced (default `720h`); `Never` disables expiry.
    #[serde(default = "default_expire_after")]
    pub expire_after: NillableDuration,
    /// How long a draining node may take before its pods are deleted regardless of PDBs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period: Option<GoDuration>,
}

/// When Karpenter consolidates a pool's nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConsolidationPolicy {
    /// Only remove nodes with no workload pods.
    WhenEmpty,
    /// Remove or replace nodes whose pods fit elsewhere or on a cheaper node.
    #[default]
    WhenEmptyOrUnderutilized,
    /// Like `WhenEmptyOrUnderutilized`, but only when the saving outweighs the disruption.
    Balanced,
}

impl fmt::Display for ConsolidationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConsolidationPolicy::WhenEmpty => "WhenEmpty",
            ConsolidationPolicy::WhenEmptyOrUnderutilized => "WhenEmptyOrUnderutilized",
            ConsolidationPolicy::Balanced => "Balanced",
        })
    }
}

/// A reason Karpenter disrupts a node, as budgets name them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum DisruptionReason {
    /// Consolidation of an underutilized node.
    Underutilized,
    /// Removal of an empty node.
    Empty,
    /// Replacement of a drifted node.
    Drifted,
}

impl fmt::Display for DisruptionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DisruptionReason::Underutilized => "Underutilized",
            DisruptionReason::Empty => "Empty",
            DisruptionReason::Drifted => "Drifted",
        })
    }
}

fn default_consolidate_after() -> NillableDuration {
    NillableDuration("0s".into())
}

fn default_budgets() -> Vec<Budget> {
    vec![Budget::default()]
}

fn default_budget_nodes() -> String {
    "10%".into()
}

/// A NodePool's disruption policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Disruption {
    /// How long a node must be consolidatable (no pod scheduled or removed) before Karpenter
    /// consolidates it (default `0s`); `Never` disables consolidation.
    #[serde(default = "default_consolidate_after")]
    pub consolidate_after: NillableDuration,
    /// Which nodes may be consolidated (default `WhenEmptyOrUnderutilized`).
    #[serde(default)]
    pub consolidation_policy: ConsolidationPolicy,
    /// Limits on how many nodes may be disrupted at once (default one budget of `10%`).
    #[serde(default = "default_budgets")]
    #[schemars(length(max = 50))]
    #[x_kube(validation = Rule::new("self.all(x, has(x.schedule) == has(x.duration))").message("'schedule' must be set with 'duration'"))]
    pub budgets: Vec<Budget>,
}

impl Default for Disruption {
    fn default() -> Self {
        Self {
            consolidate_after: default_consolidate_after(),
            consolidation_policy: ConsolidationPolicy::default(),
            budgets: default_budgets(),
        }
    }
}

/// How many of a pool's nodes may be disrupted at once, optionally only in a cron window and for
/// some reasons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    /// The reasons the budget applies to; all reasons when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<DisruptionReason>>,
    /// A node count (`5`) or a percentage of the pool's nodes (`10%`); default `10%`.
    #[serde(default = "default_budget_nodes")]
    #[schemars(regex(pattern = r"^((100|[0-9]{1,2})%|[0-9]+)$"))]
    pub nodes: String,
    /// Cron schedule (UTC) at which the budget's window starts; requires `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How long the window lasts from each `schedule` activation; requires `schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<GoDuration>,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            reasons: None,
            nodes: default_budget_nodes(),
            schedule: None,
            duration: None,
        }
    }
}

/// How many nodes a budget's `nodes` allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetNodes {
    /// An absolute number of nodes.
    Count(u64),
    /// A percentage (0..=100) of the pool's nodes, rounded up.
    Percent(u8),
}

impl BudgetNodes {
    /// Parses `5` or `10%`; `None` when the text is neither (validation reports it).
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(p) = text.strip_suffix('%') {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let v: u8 = p.parse().ok()?;
            (v <= 100).then_some(BudgetNodes::Percent(v))
        } else {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse().ok().map(BudgetNodes::Count)
        }
    }

    /// The number of nodes allowed out of `total`; percentages round up as Karpenter does.
    pub fn allowed(self, total: u64) -> u64 {
        match self {
            BudgetNodes::Count(n) => n,
            BudgetNodes::Percent(p) => (total * u64::from(p)).div_ceil(100),
        }
    }
}

impl Budget {
    /// The parsed `nodes`, or `None` when invalid.
    pub fn nodes(&self) -> Option<BudgetNodes> {
        BudgetNodes::parse(&self.nodes)
    }

    /// Whether the budget applies to `reason` (budgets without reasons apply to all).
    pub fn applies_to(&self, reason: DisruptionReason) -> bool {
        self.reasons.as_ref().is_none_or(|r| r.contains(&reason))
    }
}

/// The observed state of a NodePool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolStatus {
    /// Total resources of the pool's nodes, including `nodes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Quantity>,
    /// Number of nodes in the pool (static pools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<i64>,
    /// The node class generation the pool last observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_class_observed_generation: Option<i64>,
    /// Conditions (see [`conditions`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_nodes() {
        assert_eq!(BudgetNodes::parse("10%"), Some(BudgetNodes::Percent(10)));
        assert_eq!(BudgetNodes::parse("100%"), Some(BudgetNodes::Percent(100)));
        assert_eq!(BudgetNodes::parse("5"), Some(BudgetNodes::Count(5)));
        for bad in ["", "%", "101%", "1.5", "-1", "ten", "5 %"] {
            assert_eq!(BudgetNodes::parse(bad), None, "{bad}");
        }
        assert_eq!(BudgetNodes::Percent(10).allowed(11), 2);
        assert_eq!(BudgetNodes::Percent(10).allowed(0), 0);
        assert_eq!(BudgetNodes::Count(3).allowed(1), 3);
        let b = Budget {
            reasons: Some(vec![DisruptionReason::Drifted]),
            ..Budget::default()
        };
        assert!(b.applies_to(DisruptionReason::Drifted));
        assert!(!b.applies_to(DisruptionReason::Empty));
        assert!(Budget::default().applies_to(DisruptionReason::Empty));
    }
}
