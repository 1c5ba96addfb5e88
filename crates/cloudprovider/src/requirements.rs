//! Label requirements as a cloud provider evaluates them against instance types and offerings.
//!
//! A NodeClaim narrows what may launch with node-selector requirements (`key`, `operator`,
//! `values`). The provider evaluates the ones whose key it knows (the labels its instance types
//! and offerings carry); requirements on other keys are satisfied by the node's own labels, which
//! come from the claim, and do not restrict which offering launches.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use karpenter_api::Operator;

/// One node-selector requirement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// How the label is compared.
    pub operator: Operator,
    /// The values compared against (one integer for `Gt`/`Lt`/`Gte`/`Lte`, none for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
}

impl Requirement {
    /// A requirement from its parts.
    pub fn new(key: impl Into<String>, operator: Operator, values: &[&str]) -> Self {
        Self {
            key: key.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    /// Whether a label value (or its absence) satisfies the requirement.
    pub fn matches(&self, value: Option<&str>) -> bool {
        match (self.operator, value) {
            (Operator::In, Some(v)) => self.values.iter().any(|x| x == v),
            (Operator::In, None) => false,
            (Operator::NotIn, Some(v)) => !self.values.iter().any(|x| x == v),
            (Operator::NotIn, None) => true,
            (Operator::Exists, v) => v.is_some(),
            (Operator::DoesNotExist, v) => v.is_none(),
            (Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte, None) => false,
            (op, Some(v)) => {
                let (Ok(have), Some(Ok(bound))) = (
                    v.parse::<i64>(),
                    self.values.first().map(|b| b.parse::<i64>()),
                ) else {
                    return false;
                };
                match op {
                    Operator::Gt => have > bound,
                    Operator::Gte => have >= bound,
                    Operator::Lt => have < bound,
                    _ => have <= bound,
                }
            }
        }
    }

    /// The single value an `In` requirement with exactly one value pins the label to.
    pub fn single_value(&self) -> Option<&str> {
        match (self.operator, self.values.as_slice()) {
            (Operator::In, [v]) => Some(v.as_str()),
            _ => None,
        }
    }
}

impl From<&karpenter_api::NodeSelectorRequirementWithMinValues> for Requirement {
    fn from(r: &karpenter_api::NodeSelectorRequirementWithMinValues) -> Self {
        let operator = match r.operator {
            karpenter_api::Operator::In => Operator::In,
            karpenter_api::Operator::NotIn => Operator::NotIn,
            karpenter_api::Operator::Exists => Operator::Exists,
            karpenter_api::Operator::DoesNotExist => Operator::DoesNotExist,
            karpenter_api::Operator::Gt => Operator::Gt,
            karpenter_api::Operator::Lt => Operator::Lt,
            karpenter_api::Operator::Gte => Operator::Gte,
            karpenter_api::Operator::Lte => Operator::Lte,
        };
        Self {
            key: r.key.clone(),
            operator,
            values: r.values.clone(),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key, self.operator)?;
        if !self.values.is_empty() {
            write!(f, " [{}]", self.values.join(","))?;
        }
        Ok(())
    }
}

/// Evaluates requirements against label sets, considering only the keys in `known`.
///
/// `known` is every label key the provider's catalog can define. A requirement on any other key
/// is about the node's own labels and is left to the caller.
pub fn satisfies(
    requirements: &[Requirement],
    known: &BTreeSet<String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    satisfies_with(requirements, known, |k| labels.get(k).map(String::as_str))
}

/// [`satisfies`] with the labels given as a lookup function, so callers can layer label sets
/// (an instance type's, then an offering's) without building a map per candidate.
pub fn satisfies_with<'a>(
    requirements: &[Requirement],
    known: &BTreeSet<String>,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> bool {
    requirements
        .iter()
        .filter(|r| known.contains(&r.key))
        .all(|r| r.matches(lookup(&r.key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators() {
        let r = Requirement::new("k", Operator::In, &["a", "b"]);
        assert!(r.matches(Some("a")));
        assert!(!r.matches(Some("c")));
        assert!(!r.matches(None));
        let r = Requirement::new("k", Operator::NotIn, &["a"]);
        assert!(r.matches(None));
        assert!(!r.matches(Some("a")));
        assert!(Requirement::new("k", Operator::Exists, &[]).matches(Some("x")));
        assert!(Requirement::new("k", Operator::DoesNotExist, &[]).matches(None));
        let gt = Requirement::new("k", Operator::Gt, &["4"]);
        assert!(gt.matches(Some("8")));
        assert!(!gt.matches(Some("4")));
        assert!(!gt.matches(Some("x")));
        let lt = Requirement::new("k", Operator::Lt, &["4"]);
        assert!(lt.matches(Some("2")));
        assert!(Requirement::new("k", Operator::Gte, &["4"]).matches(Some("4")));
        assert!(Requirement::new("k", Operator::Lte, &["4"]).matches(Some("4")));
        assert!(!Requirement::new("k", Operator::Lte, &["4"]).matches(Some("5")));
        assert_eq!(Operator::parse("NotIn"), Some(Operator::NotIn));
        assert_eq!(Operator::parse("in"), None);
        assert_eq!(
            Requirement::new("zone", Operator::In, &["a", "b"]).to_string(),
            "zone In [a,b]"
        );
    }

    #[test]
    fn unknown_keys_are_left_to_the_caller() {
        let known: BTreeSet<String> = ["zone".to_string()].into();
        let labels: BTreeMap<String, String> = [("zone".to_string(), "a".to_string())].into();
        let reqs = vec![
            Requirement::new("zone", Operator::In, &["a"]),
            Requirement::new("team", Operator::In, &["x"]),
        ];
        assert!(satisfies(&reqs, &known, &labels));
        let reqs = vec![Requirement::new("zone", Operator::In, &["b"])];
        assert!(!satisfies(&reqs, &known, &labels));
    }
}
