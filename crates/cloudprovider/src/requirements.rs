//! Label requirements as a cloud provider evaluates them against instance types and offerings.
//!
//! A NodeClaim narrows what may launch with node-selector requirements (`key`, `operator`,
//! `values`). The provider evaluates the ones whose key it knows (the labels its instance types
//! and offerings carry); requirements on other keys are satisfied by the node's own labels, which
//! come from the claim, and do not restrict which offering launches.

use std::collections::{BTreeMap, BTreeSet};

pub use karpenter_api::Operator;
pub use karpenter_catalog::requirements::Requirement;

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
        .all(|r| r.matches_value(lookup(&r.key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
        Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect()).unwrap()
    }

    #[test]
    fn unknown_keys_are_left_to_the_caller() {
        let known: BTreeSet<String> = ["zone".to_string()].into();
        let labels: BTreeMap<String, String> = [("zone".to_string(), "a".to_string())].into();
        let reqs = vec![
            req("zone", Operator::In, &["a"]),
            req("team", Operator::In, &["x"]),
        ];
        assert!(satisfies(&reqs, &known, &labels));
        let reqs = vec![req("zone", Operator::In, &["b"])];
        assert!(!satisfies(&reqs, &known, &labels));
        let reqs = vec![req("zone", Operator::NotIn, &["b"])];
        assert!(satisfies(&reqs, &known, &labels));
    }
}
