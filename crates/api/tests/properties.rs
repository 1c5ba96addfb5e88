//! Property tests: requirement semantics, duration formatting and NodePool round trips.

use karpenter_api::duration::{format_duration, parse_duration};
use karpenter_api::object::round_trip;
use karpenter_api::{NodePool, NodeSelectorRequirementWithMinValues as Req, Operator, Validate};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("amd64".to_string()),
        Just("arm64".to_string()),
        Just("spot".to_string()),
        "[a-z0-9]{1,8}",
        (0u32..200).prop_map(|n| n.to_string()),
    ]
}

fn operator() -> impl Strategy<Value = Operator> {
    prop_oneof![
        Just(Operator::In),
        Just(Operator::NotIn),
        Just(Operator::Exists),
        Just(Operator::DoesNotExist),
        Just(Operator::Gt),
        Just(Operator::Lt),
        Just(Operator::Gte),
        Just(Operator::Lte),
    ]
}

proptest! {
    #[test]
    fn in_and_not_in_are_complements_when_the_label_is_present(
        v in value(),
        values in prop::collection::vec(value(), 0..5),
    ) {
        let labels = BTreeMap::from([("k".to_string(), v)]);
        let r_in = Req::new("k", Operator::In, values.clone());
        let r_not_in = Req::new("k", Operator::NotIn, values);
        prop_assert_eq!(r_in.matches(&labels), !r_not_in.matches(&labels));
    }

    #[test]
    fn exists_and_does_not_exist_are_complements(present in any::<bool>(), v in value()) {
        let labels: BTreeMap<String, String> =
            if present { BTreeMap::from([("k".to_string(), v)]) } else { BTreeMap::new() };
        let exists = Req::new("k", Operator::Exists, Vec::<String>::new()).matches(&labels);
        let absent = Req::new("k", Operator::DoesNotExist, Vec::<String>::new()).matches(&labels);
        prop_assert_eq!(exists, present);
        prop_assert_eq!(absent, !present);
    }

    #[test]
    fn numeric_operators_compare_integers(actual in 0i64..1000, bound in 0i64..1000) {
        let labels = BTreeMap::from([("k".to_string(), actual.to_string())]);
        let m = |op| Req::new("k", op, [bound.to_string()]).matches(&labels);
        prop_assert_eq!(m(Operator::Gt), actual > bound);
        prop_assert_eq!(m(Operator::Lt), actual < bound);
        prop_assert_eq!(m(Operator::Gte), actual >= bound);
        prop_assert_eq!(m(Operator::Lte), actual <= bound);
    }

    #[test]
    fn durations_format_and_parse_back(secs in 0u64..10_000_000_000) {
        let text = format_duration(Duration::from_secs(secs));
        prop_assert_eq!(parse_duration(&text), Ok(Duration::from_secs(secs)));
    }

    #[test]
    fn node_pools_round_trip_and_validation_is_deterministic(
        reqs in prop::collection::vec(
            ("[a-z]{1,6}(/[a-z]{1,6})?", operator(), prop::collection::vec(value(), 0..4), prop::option::of(-2i32..60)),
            0..8,
        ),
        weight in prop::option::of(-5i32..120),
        consolidate_after in prop_oneof![Just("Never".to_string()), "[0-9]{1,4}[smh]", "[a-z0-9.]{0,5}"],
    ) {
        let requirements: Vec<serde_json::Value> = reqs
            .iter()
            .map(|(key, op, values, min)| {
                let mut r = serde_json::json!({"key": key, "operator": op.as_str(), "values": values});
                if let Some(m) = min {
                    r["minValues"] = serde_json::json!(m);
                }
                r
            })
            .collect();
        let mut spec = serde_json::json!({
            "template": {"spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "requirements": requirements,
            }},
            "disruption": {"consolidateAfter": consolidate_after},
        });
        if let Some(w) = weight {
            spec["weight"] = serde_json::json!(w);
        }
        let pool: NodePool = serde_json::from_value(serde_json::json!({
            "apiVersion": "karpenter.sh/v1", "kind": "NodePool",
            "metadata": {"name": "p"}, "spec": spec,
        })).unwrap();
        let again = round_trip(&pool).unwrap();
        prop_assert_eq!(&again, &pool);
        prop_assert_eq!(again.validate(), pool.validate());
        let weight_error = pool.validate().iter().any(|e| e.field == "spec.weight");
        prop_assert_eq!(weight_error, weight.is_some_and(|w| !(1..=100).contains(&w)));
    }
}
