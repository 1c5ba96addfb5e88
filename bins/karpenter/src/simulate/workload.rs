//! The scheduling benchmark workload as manifests, for `simulate`'s performance test and the
//! `gen_workload` example.
//!
//! It mirrors Karpenter's own scheduling benchmark (`makeDiversePods`): a fifth each of generic
//! pods, pods spread over zones, pods spread over hostnames, pods with zonal affinity and pods
//! with hostname anti-affinity, with cpu drawn from {100m, 250m, 500m, 1, 1.5} and memory from
//! {100Mi, 256Mi, 512Mi, 1Gi, 2Gi, 4Gi}. Draws come from a fixed-seed generator, so the same
//! count always gives the same bytes.

use k8s_openapi::api::core::v1::{
    Affinity, Container, Pod, PodAffinity, PodAffinityTerm, PodAntiAffinity, PodSpec,
    ResourceRequirements, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The zone label key.
const ZONE: &str = "topology.kubernetes.io/zone";
/// The hostname label key.
const HOSTNAME: &str = "kubernetes.io/hostname";

/// A small deterministic generator (SplitMix64), enough to pick from short lists.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const CPU: [&str; 5] = ["100m", "250m", "500m", "1", "1500m"];
const MEMORY: [&str; 6] = ["100Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi"];
const VALUES: [&str; 7] = ["a", "b", "c", "d", "e", "f", "g"];

fn labels(key: &str, value: &str) -> BTreeMap<String, String> {
    [(key.to_string(), value.to_string())].into()
}

fn selector(key: &str, value: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels(key, value)),
        ..Default::default()
    }
}

fn pod(rng: &mut Rng, name: String, pod_labels: BTreeMap<String, String>) -> Pod {
    let requests: BTreeMap<String, Quantity> = [
        ("cpu".to_string(), Quantity(rng.pick(&CPU).to_string())),
        (
            "memory".to_string(),
            Quantity(rng.pick(&MEMORY).to_string()),
        ),
    ]
    .into();
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some("default".into()),
            labels: Some(pod_labels),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: Some("public.ecr.aws/eks-distro/kubernetes/pause:3.9".into()),
                resources: Some(ResourceRequirements {
                    requests: Some(requests),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    }
}

/// `count` pending pods of the benchmark mix, named `bench-<i>`.
pub fn benchmark_pods(count: usize) -> Vec<Pod> {
    let mut rng = Rng(20_000);
    let per_kind = count / 5;
    let mut pods = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("bench-{i}");
        // Remainder pods (count not divisible by five) are generic, as in Karpenter.
        let kind = if i < per_kind * 5 {
            i / per_kind.max(1)
        } else {
            0
        };
        let p = match kind {
            1 | 2 => {
                let key = if kind == 1 { ZONE } else { HOSTNAME };
                let v = rng_value(&mut rng);
                let mut p = pod(&mut rng, name, labels("my-label", v));
                if let Some(spec) = p.spec.as_mut() {
                    spec.topology_spread_constraints = Some(vec![TopologySpreadConstraint {
                        max_skew: 1,
                        topology_key: key.into(),
                        when_unsatisfiable: "DoNotSchedule".into(),
                        label_selector: Some(selector("my-label", rng_value(&mut rng))),
                        ..Default::default()
                    }]);
                }
                p
            }
            3 => {
                let v = rng_value(&mut rng);
                let mut p = pod(&mut rng, name, labels("my-affinity", v));
                let term = PodAffinityTerm {
                    label_selector: Some(selector("my-affinity", rng_value(&mut rng))),
                    topology_key: ZONE.into(),
                    ..Default::default()
                };
                if let Some(spec) = p.spec.as_mut() {
                    spec.affinity = Some(Affinity {
                        pod_affinity: Some(PodAffinity {
                            required_during_scheduling_ignored_during_execution: Some(vec![term]),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
                p
            }
            4 => {
                let v = rng_value(&mut rng);
                let mut p = pod(&mut rng, name, labels("my-anti-affinity", v));
                let term = PodAffinityTerm {
                    label_selector: Some(selector("my-anti-affinity", rng_value(&mut rng))),
                    topology_key: HOSTNAME.into(),
                    ..Default::default()
                };
                if let Some(spec) = p.spec.as_mut() {
                    spec.affinity = Some(Affinity {
                        pod_anti_affinity: Some(PodAntiAffinity {
                            required_during_scheduling_ignored_during_execution: Some(vec![term]),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
                p
            }
            _ => {
                let v = rng_value(&mut rng);
                pod(&mut rng, name, labels("my-label", v))
            }
        };
        pods.push(p);
    }
    pods
}

fn rng_value(rng: &mut Rng) -> &'static str {
    rng.pick(&VALUES)
}

/// The NodePool and EC2NodeClass the benchmark runs against: on-demand and spot, amd64, the
/// general-purpose, compute and memory families of generations after 2.
pub const BENCHMARK_POOL: &str = r#"apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      requirements:
        - key: kubernetes.io/arch
          operator: In
          values: ["amd64"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand", "spot"]
        - key: karpenter.k8s.aws/instance-category
          operator: In
          values: ["c", "m", "r"]
        - key: karpenter.k8s.aws/instance-generation
          operator: Gt
          values: ["2"]
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-bench
  amiSelectorTerms:
    - alias: al2023@latest
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: bench
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: bench
"#;

/// The whole workload as one multi-document YAML stream: the pool, its node class, then `count`
/// pods, one document each.
pub fn workload_yaml(count: usize) -> Result<String, serde_yaml::Error> {
    let mut out = String::with_capacity(count * 700 + BENCHMARK_POOL.len());
    out.push_str(BENCHMARK_POOL);
    for p in benchmark_pods(count) {
        out.push_str("---\n");
        let _ = write!(out, "{}", serde_yaml::to_string(&p)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_and_determinism() {
        let pods = benchmark_pods(12);
        assert_eq!(pods.len(), 12);
        let spread = pods
            .iter()
            .filter(|p| {
                p.spec
                    .as_ref()
                    .is_some_and(|s| s.topology_spread_constraints.is_some())
            })
            .count();
        assert_eq!(spread, 4, "two each of zonal and hostname spread");
        assert_eq!(benchmark_pods(12), pods);
        let yaml = workload_yaml(3).unwrap();
        assert_eq!(yaml.matches("kind: Pod").count(), 3);
        assert!(yaml.starts_with("apiVersion: karpenter.sh/v1"));
    }
}
