//! Node selector requirements with Karpenter's `minValues` extension, and their evaluation
//! against a node's labels.

use crate::labels::normalize_label_key;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A requirement operator. Karpenter accepts Kubernetes' six and adds `Gte` and `Lte`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Operator {
    /// The label's value is one of `values`.
    In,
    /// The label is absent or its value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label's value is an integer greater than the single value.
    Gt,
    /// The label's value is an integer less than the single value.
    Lt,
    /// The label's value is an integer greater than or equal to the single value.
    Gte,
    /// The label's value is an integer less than or equal to the single value.
    Lte,
}

impl Operator {
    /// Parses the operator as written in manifests (`In`, `NotIn`, `Exists`, `DoesNotExist`,
    /// `Gt`, `Lt`, `Gte`, `Lte`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::Gt,
            "Lt" => Operator::Lt,
            "Gte" => Operator::Gte,
            "Lte" => Operator::Lte,
            _ => return None,
        })
    }

    /// The operator as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
            Operator::Gt => "Gt",
            Operator::Lt => "Lt",
            Operator::Gte => "Gte",
            Operator::Lte => "Lte",
        }
    }

    /// Whether the operator compares integers (`Gt`, `Lt`, `Gte`, `Lte`).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte
        )
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node selector requirement with an optional `minValues`: the minimum number of distinct
/// values of `key` the set of instance types Karpenter considers must keep (for flexibility).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorRequirementWithMinValues {
    /// The label key the requirement applies to.
    pub key: String,
    /// How the label's value is compared with `values`.
    pub operator: Operator,
    /// The values compared with. `In`/`NotIn` take any number (`In` at least one), `Exists` and
    /// `DoesNotExist` none, the numeric operators exactly one non-negative integer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// The minimum number of distinct values of `key` that must remain schedulable (1..50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50))]
    pub min_values: Option<i32>,
}

impl NodeSelectorRequirementWithMinValues {
    /// A requirement without `minValues`.
    pub fn new<I, S>(key: impl Into<String>, operator: Operator, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            key: key.into(),
            operator,
            values: values.into_iter().map(Into::into).collect(),
            min_values: None,
        }
    }

    /// The key with deprecated beta aliases normalised (see [`normalize_label_key`]).
    pub fn normalized_key(&self) -> &str {
        normalize_label_key(&self.key)
    }

    /// Whether a node with `labels` satisfies the requirement, with Karpenter's semantics:
    /// `NotIn` and `DoesNotExist` hold when the label is absent; the numeric operators hold only
    /// when both the label and the single value are integers. Keys are compared after
    /// normalising deprecated beta aliases on both sides.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let key = self.normalized_key();
        let value = labels.get(key).or_else(|| {
            labels
                .iter()
                .find(|(k, _)| normalize_label_key(k) == key)
                .map(|(_, v)| v)
        });
        match (self.operator, value) {
            (Operator::In, Some(v)) => self.values.iter().any(|x| x == v),
            (Operator::In, None) => false,
            (Operator::NotIn, Some(v)) => !self.values.iter().any(|x| x == v),
            (Operator::NotIn, None) => true,
            (Operator::Exists, v) => v.is_some(),
            (Operator::DoesNotExist, v) => v.is_none(),
            (op, Some(v)) => {
                let (Ok(actual), Some(Ok(bound))) = (
                    v.parse::<i64>(),
                    self.values.first().map(|b| b.parse::<i64>()),
                ) else {
                    return false;
                };
                match op {
                    Operator::Gt => actual > bound,
                    Operator::Lt => actual < bound,
                    Operator::Gte => actual >= bound,
                    _ => actual <= bound,
                }
            }
            (_, None) => false,
        }
    }
}

impl fmt::Display for NodeSelectorRequirementWithMinValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key, self.operator)?;
        if !self.values.is_empty() {
            write!(f, " [{}]", self.values.join(", "))?;
        }
        if let Some(m) = self.min_values {
            write!(f, " minValues={m}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_operators() {
        let node = labels(&[(labels::CAPACITY_TYPE, "spot")]);
        let r = |op, vals: &[&str]| {
            NodeSelectorRequirementWithMinValues::new(labels::CAPACITY_TYPE, op, vals.to_vec())
        };
        assert!(r(Operator::In, &["spot", "on-demand"]).matches(&node));
        assert!(!r(Operator::In, &["on-demand"]).matches(&node));
        assert!(!r(Operator::In, &["spot"]).matches(&BTreeMap::new()));
        assert!(r(Operator::NotIn, &["on-demand"]).matches(&node));
        assert!(!r(Operator::NotIn, &["spot"]).matches(&node));
        assert!(r(Operator::NotIn, &["spot"]).matches(&BTreeMap::new()));
        assert!(r(Operator::Exists, &[]).matches(&node));
        assert!(!r(Operator::Exists, &[]).matches(&BTreeMap::new()));
        assert!(r(Operator::DoesNotExist, &[]).matches(&BTreeMap::new()));
        assert!(!r(Operator::DoesNotExist, &[]).matches(&node));
    }

    #[test]
    fn numeric_operators() {
        let node = labels(&[(labels::AWS_INSTANCE_GENERATION, "5")]);
        let r = |op, v: &str| {
            NodeSelectorRequirementWithMinValues::new(labels::AWS_INSTANCE_GENERATION, op, [v])
        };
        assert!(r(Operator::Gt, "4").matches(&node));
        assert!(!r(Operator::Gt, "5").matches(&node));
        assert!(r(Operator::Gte, "5").matches(&node));
        assert!(r(Operator::Lt, "6").matches(&node));
        assert!(!r(Operator::Lt, "5").matches(&node));
        assert!(r(Operator::Lte, "5").matches(&node));
        assert!(!r(Operator::Gt, "x").matches(&node));
        assert!(!r(Operator::Gt, "1").matches(&BTreeMap::new()));
        let odd = labels(&[(labels::AWS_INSTANCE_GENERATION, "five")]);
        assert!(!r(Operator::Lt, "9").matches(&odd));
    }

    #[test]
    fn beta_aliases_match_both_ways() {
        let node = labels(&[(labels::BETA_ARCH, "arm64")]);
        let r = NodeSelectorRequirementWithMinValues::new(labels::ARCH, Operator::In, ["arm64"]);
        assert!(r.matches(&node));
        let node = labels(&[(labels::TOPOLOGY_ZONE, "us-east-1a")]);
        let r = NodeSelectorRequirementWithMinValues::new(
            labels::BETA_ZONE,
            Operator::In,
            ["us-east-1a"],
        );
        assert!(r.matches(&node));
        assert_eq!(r.normalized_key(), labels::TOPOLOGY_ZONE);
    }
}
