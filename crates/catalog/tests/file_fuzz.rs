//! The catalog-file parser and requirement parser never panic, whatever the input.

use karpenter_catalog::{parse_catalog_file, Requirement};
use proptest::prelude::*;

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_string()),
        Just("-3".to_string()),
        Just("\"2Gi\"".to_string()),
        Just("1e400".to_string()),
        Just("99999999999999999999Ei".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just(".nan".to_string()),
        Just("true".to_string()),
        Just("9e15".to_string()),
        Just("9223372036854775".to_string()),
        "[a-zA-Z0-9.%-]{0,12}",
    ]
}

fn document() -> impl Strategy<Value = String> {
    (scalar(), scalar(), scalar(), scalar(), scalar(), scalar()).prop_map(
        |(cpu, mem, pods, price, zone, ct)| {
            format!(
                "region: r\ninstanceTypes:\n  - name: t{zone}\n    capacity: {{cpu: {cpu}, memory: {mem}, pods: {pods}}}\n    overhead: {{cpu: {pods}}}\n    labels: {{a: {zone}}}\n    offerings:\n      - {{zone: {zone}, capacityType: {ct}, price: {price}, available: {ct}}}\n"
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = parse_catalog_file(&s);
        let _ = Requirement::parse(&s);
    }

    #[test]
    fn structured_documents_never_panic(doc in document()) {
        if let Ok(c) = parse_catalog_file(&doc) {
            for it in &c.instance_types {
                prop_assert!(!it.offerings.is_empty());
                for o in &it.offerings {
                    prop_assert!(o.price.is_finite() && o.price >= 0.0);
                }
                let _ = it.allocatable();
            }
        }
    }
}
