//! Every manifest in examples/ and in Karpenter's documentation style parses, validates,
//! serialises and parses again to the same value.

use karpenter_api::object::{decode, KarpenterObject, Kind};
use karpenter_api::{EC2NodeClass, NodeClaim, NodePool};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            manifests(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
    out.sort();
}

fn documents(path: &Path) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn assert_round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: &T) {
    let yaml = serde_yaml::to_string(v).unwrap();
    let again: T = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(&again, v, "round trip through:\n{yaml}");
    let json = serde_json::to_string(v).unwrap();
    let again: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&again, v, "round trip through JSON:\n{json}");
}

/// Decodes, validates and round-trips every Karpenter object in `paths`; returns counts by kind.
fn check_all(paths: &[PathBuf]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for path in paths {
        for (i, doc) in documents(path).iter().enumerate() {
            let Some(decoded) = decode(doc) else {
                continue;
            };
            let obj = decoded.unwrap_or_else(|e| panic!("{}:{i}: {e}", path.display()));
            let errors = obj.validate();
            assert!(errors.is_empty(), "{}:{i}: {errors:#?}", path.display());
            match &obj {
                KarpenterObject::NodePool(o) => assert_round_trip::<NodePool>(o),
                KarpenterObject::NodeClaim(o) => assert_round_trip::<NodeClaim>(o),
                KarpenterObject::EC2NodeClass(o) => assert_round_trip::<EC2NodeClass>(o),
            }
            // Re-reading the serialised object gives the same object (defaults are stable).
            let reread = decode(&obj.to_value().unwrap()).unwrap().unwrap();
            assert_eq!(reread, obj);
            *counts.entry(obj.kind().as_str()).or_default() += 1;
        }
    }
    counts
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn examples_parse_validate_and_round_trip() {
    let mut paths = Vec::new();
    manifests(&examples_dir(), &mut paths);
    let counts = check_all(&paths);
    assert_eq!(counts.get("NodePool"), Some(&4));
    assert_eq!(counts.get("EC2NodeClass"), Some(&1));
}

#[test]
fn documentation_style_manifests_round_trip() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/docs-style.yaml");
    let counts = check_all(&[path]);
    assert_eq!(
        counts,
        BTreeMap::from([("EC2NodeClass", 1), ("NodeClaim", 1), ("NodePool", 1)])
    );
}

#[test]
fn example_workloads_are_kubernetes_objects() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::batch::v1::Job;
    let mut paths = Vec::new();
    manifests(&examples_dir().join("workloads"), &mut paths);
    let mut kinds = Vec::new();
    for path in &paths {
        for doc in documents(path) {
            let kind = doc["kind"].as_str().unwrap().to_string();
            assert!(Kind::from_kind(&kind).is_none());
            let requests_ok = match kind.as_str() {
                "Deployment" => {
                    let d: Deployment = serde_yaml::from_value(doc).unwrap();
                    let spec = d.spec.unwrap();
                    assert!(spec.replicas.unwrap_or(1) > 0);
                    spec.template.spec.unwrap().containers.iter().all(|c| {
                        c.resources
                            .as_ref()
                            .and_then(|r| r.requests.as_ref())
                            .is_some_and(|r| r.contains_key("cpu"))
                    })
                }
                "Job" => {
                    let j: Job = serde_yaml::from_value(doc).unwrap();
                    let spec = j.spec.unwrap();
                    let pod = spec.template.spec.unwrap();
                    assert_eq!(
                        pod.node_selector.unwrap()["karpenter.sh/capacity-type"],
                        "spot"
                    );
                    pod.containers.iter().all(|c| c.resources.is_some())
                }
                other => panic!("unexpected kind {other} in {}", path.display()),
            };
            assert!(
                requests_ok,
                "{} has containers without cpu requests",
                path.display()
            );
            kinds.push(kind);
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "Deployment",
            "Deployment",
            "Deployment",
            "Job"
        ]
    );
}

#[test]
fn example_pools_say_what_the_issue_asks() {
    let pool = |name: &str| -> NodePool {
        let path = examples_dir().join(format!("nodepools/{name}.yaml"));
        serde_yaml::from_value(documents(&path).remove(0)).unwrap()
    };
    let values = |p: &NodePool, key: &str| -> Vec<String> {
        p.spec
            .template
            .spec
            .requirements
            .iter()
            .find(|r| r.key == key)
            .map(|r| r.values.clone())
            .unwrap_or_default()
    };
    let gp = pool("general-purpose");
    assert_eq!(
        values(&gp, "karpenter.sh/capacity-type"),
        ["on-demand", "spot"]
    );
    assert_eq!(
        values(&gp, "karpenter.k8s.aws/instance-family"),
        ["c5", "m5"]
    );
    assert_eq!(
        values(&gp, "karpenter.k8s.aws/instance-size"),
        ["large", "xlarge"]
    );
    assert!(gp.spec.limits.contains_key("cpu"));
    assert_eq!(values(&pool("arm64"), "kubernetes.io/arch"), ["arm64"]);
    let spot = pool("spot");
    assert_eq!(values(&spot, "karpenter.sh/capacity-type"), ["spot"]);
    assert_eq!(
        values(&spot, "karpenter.k8s.aws/instance-family"),
        ["m5", "m5a", "m5n", "m6i"]
    );
    let gpu = pool("gpu");
    assert_eq!(gpu.spec.template.spec.taints[0].key, "nvidia.com/gpu");
}
