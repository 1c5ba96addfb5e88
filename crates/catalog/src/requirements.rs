//! NodePool-style requirements (`karpenter.k8s.aws/instance-category In [c,m,r]`) matched against
//! an instance type's labels and offerings.
//!
//! Semantics, as Karpenter applies them to instance types:
//! - `In` / `NotIn`: the label value is (not) one of the values.
//! - `Exists` / `DoesNotExist`: the label is (not) present.
//! - `Gt` / `Lt` (and `Gte` / `Lte`): the label value and the single requirement value are
//!   integers and compare so; a non-integer or missing label fails.
//! - A key that is a well-known instance-type label (see
//!   [`is_well_known`](crate::spec::labels::is_well_known)) but absent from a type means the
//!   type lacks that property: `instance-gpu-count Gt 0` rejects `m5.large`. Any other key
//!   (a custom NodePool label) does not constrain instance types.
//! - Zone, zone id and capacity type are offering properties: a type matches when at least one
//!   of its available offerings satisfies all of them at once.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::model::{InstanceType, Offering};
use crate::spec::labels;

pub use karpenter_api::Operator;

/// A malformed requirement, with the text and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("requirement {text:?}: {message}")]
pub struct RequirementError {
    /// The requirement as written.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

/// One requirement: `key operator values`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub operator: Operator,
    /// Values (empty for `Exists` / `DoesNotExist`; one integer for `Gt` / `Lt`).
    #[serde(default)]
    pub values: Vec<String>,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key, self.operator.as_str())?;
        if !self.values.is_empty() {
            write!(f, " [{}]", self.values.join(","))?;
        }
        Ok(())
    }
}

impl Requirement {
    /// A requirement, checked: `In`/`NotIn` need at least one value, `Exists`/`DoesNotExist`
    /// none, `Gt`/`Lt`/`Gte`/`Lte` exactly one integer.
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, RequirementError> {
        let r = Requirement {
            key: key.into(),
            operator,
            values,
        };
        r.validate()?;
        Ok(r)
    }

    /// Checks the value count and, for numeric operators, that the value is an integer.
    pub fn validate(&self) -> Result<(), RequirementError> {
        let err = |m: &str| RequirementError {
            text: self.to_string(),
            message: m.to_string(),
        };
        if self.key.trim().is_empty() {
            return Err(err("the key is empty"));
        }
        match self.operator {
            Operator::In | Operator::NotIn if self.values.is_empty() => {
                Err(err("In and NotIn need at least one value"))
            }
            Operator::Exists | Operator::DoesNotExist if !self.values.is_empty() => {
                Err(err("Exists and DoesNotExist take no values"))
            }
            Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte => {
                if self.values.len() != 1 || self.values[0].trim().parse::<i64>().is_err() {
                    Err(err("Gt, Lt, Gte and Lte need exactly one integer value"))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Parses `KEY OP [VALUES]`, e.g. `karpenter.k8s.aws/instance-category In [c,m,r]`,
    /// `karpenter.k8s.aws/instance-cpu Lt 33`, `karpenter.k8s.aws/instance-gpu-name Exists`.
    /// Values are separated by commas and/or spaces; brackets are optional.
    pub fn parse(text: &str) -> Result<Self, RequirementError> {
        let err = |m: &str| RequirementError {
            text: text.to_string(),
            message: m.to_string(),
        };
        let mut parts = text.split_whitespace();
        let key = parts
            .next()
            .ok_or_else(|| err("expected `KEY OPERATOR [VALUES]`"))?;
        let op_text = parts
            .next()
            .ok_or_else(|| err("missing operator (In, NotIn, Exists, DoesNotExist, Gt, Lt)"))?;
        let operator = Operator::parse(op_text).ok_or_else(|| {
            err(&format!(
                "unknown operator {op_text:?}: expected In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte or Lte"
            ))
        })?;
        let rest: Vec<&str> = parts.collect();
        let values: Vec<String> = rest
            .join(" ")
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let r = Requirement {
            key: key.to_string(),
            operator,
            values,
        };
        r.validate().map_err(|e| err(&e.message))?;
        Ok(r)
    }

    /// Whether a label value (`None` when absent) satisfies this requirement.
    pub fn matches_value(&self, value: Option<&str>) -> bool {
        let int = |s: &str| s.trim().parse::<i64>().ok();
        let cmp = |f: fn(i64, i64) -> bool| match (
            value.and_then(int),
            self.values.first().and_then(|v| int(v)),
        ) {
            (Some(a), Some(b)) => f(a, b),
            _ => false,
        };
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::Gt => cmp(|a, b| a > b),
            Operator::Lt => cmp(|a, b| a < b),
            Operator::Gte => cmp(|a, b| a >= b),
            Operator::Lte => cmp(|a, b| a <= b),
        }
    }

    /// The single value an `In` requirement with exactly one value pins the label to.
    pub fn single_value(&self) -> Option<&str> {
        match (self.operator, self.values.as_slice()) {
            (Operator::In, [v]) => Some(v.as_str()),
            _ => None,
        }
    }

    /// Whether this requirement is about offerings (zone, zone id, capacity type).
    pub fn is_offering_requirement(&self) -> bool {
        labels::OFFERING_KEYS.contains(&self.key.as_str())
    }

    /// Whether an instance type's labels satisfy this (non-offering) requirement. Keys that are
    /// neither present nor well-known do not constrain the type.
    pub fn matches_labels(&self, type_labels: &BTreeMap<String, String>) -> bool {
        match type_labels.get(&self.key) {
            Some(v) => self.matches_value(Some(v)),
            None if labels::is_well_known(&self.key) => self.matches_value(None),
            None => true,
        }
    }

    /// Whether an offering satisfies this offering requirement.
    pub fn matches_offering(&self, o: &Offering) -> bool {
        let value = match self.key.as_str() {
            labels::ZONE => Some(o.zone.as_str()),
            labels::ZONE_ID => o.zone_id.as_deref(),
            labels::CAPACITY_TYPE => Some(o.capacity_type.as_str()),
            _ => return true,
        };
        self.matches_value(value)
    }
}

/// Whether an offering satisfies every offering requirement in `reqs`.
pub fn offering_matches(o: &Offering, reqs: &[Requirement]) -> bool {
    reqs.iter()
        .filter(|r| r.is_offering_requirement())
        .all(|r| r.matches_offering(o))
}

/// Whether an instance type satisfies every label requirement in `reqs` (ignoring offerings).
pub fn labels_match(it: &InstanceType, reqs: &[Requirement]) -> bool {
    reqs.iter()
        .filter(|r| !r.is_offering_requirement())
        .all(|r| r.matches_labels(&it.labels))
}

/// Whether an instance type satisfies `reqs`: its labels match and at least one available
/// offering matches every offering requirement.
pub fn instance_type_matches(it: &InstanceType, reqs: &[Requirement]) -> bool {
    labels_match(it, reqs)
        && it
            .offerings
            .iter()
            .any(|o| o.available && offering_matches(o, reqs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let r = Requirement::parse("karpenter.k8s.aws/instance-category In [c,m,r]").unwrap();
        assert_eq!(r.operator, Operator::In);
        assert_eq!(r.values, vec!["c", "m", "r"]);
        let r = Requirement::parse("k In a, b c").unwrap();
        assert_eq!(r.values, vec!["a", "b", "c"]);
        let r = Requirement::parse("karpenter.k8s.aws/instance-cpu Lt 33").unwrap();
        assert_eq!(r.operator, Operator::Lt);
        assert!(Requirement::parse("k Exists").unwrap().values.is_empty());
        assert!(Requirement::parse("k Foo a").is_err());
        assert!(Requirement::parse("k In").is_err());
        assert!(Requirement::parse("k Gt x").is_err());
        assert!(Requirement::parse("k Exists a").is_err());
        assert!(Requirement::parse("").is_err());
        let e = Requirement::parse("k Gt 1 2").unwrap_err();
        assert!(e.to_string().contains("k Gt 1 2"));
    }

    #[test]
    fn value_matching() {
        let r = Requirement::parse("k Gt 5").unwrap();
        assert!(r.matches_value(Some("6")));
        assert!(!r.matches_value(Some("5")));
        assert!(!r.matches_value(Some("x")));
        assert!(!r.matches_value(None));
        let r = Requirement::parse("k NotIn a").unwrap();
        assert!(r.matches_value(None));
        assert!(!r.matches_value(Some("a")));
        let r = Requirement::parse("k Lte 4").unwrap();
        assert!(r.matches_value(Some("4")));
        let mut l = BTreeMap::new();
        l.insert(
            "karpenter.k8s.aws/instance-cpu".to_string(),
            "2".to_string(),
        );
        assert!(Requirement::parse("custom.io/team In a")
            .unwrap()
            .matches_labels(&l));
        assert!(
            !Requirement::parse("karpenter.k8s.aws/instance-gpu-count Gt 0")
                .unwrap()
                .matches_labels(&l)
        );
    }
}
