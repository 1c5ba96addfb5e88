//! Builders for instance types, pods and nodes, shared by tests, benchmarks and the fuzz target.
//!
//! [`fake_instance_types`] reproduces the catalog of Karpenter's scheduling benchmark:
//! `fake-it-i` with cpu `i+1`, memory `2(i+1)Gi`, pods `10(i+1)`, overhead 100m / 10Mi, price
//! `(i+1) × 0.3147483648`, spot offerings in two zones and on-demand in three.

use k8s_openapi::api::core::v1::{
    Affinity, Container, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    Pod, PodAffinity, PodAffinityTerm, PodAntiAffinity, PodSpec, ResourceRequirements, Taint,
    Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use karpenter_api::quantity::ResourceList;
use karpenter_catalog::model::{CapacityType, InstanceType, Offering, Overhead};
use std::collections::BTreeMap;

/// Zones of the fake catalog.
pub const FAKE_ZONES: [&str; 3] = ["test-zone-1", "test-zone-2", "test-zone-3"];

/// The `i`-th instance type of Karpenter's benchmark catalog.
pub fn fake_instance_type(i: usize) -> InstanceType {
    let n = (i + 1) as i64;
    let price = n as f64 * 0.3147483648;
    let mut capacity = ResourceList::new();
    capacity.set("cpu", n * 1000);
    capacity.set("memory", 2 * n * (1 << 30) * 1000);
    capacity.set("pods", 10 * n * 1000);
    let mut kube_reserved = ResourceList::new();
    kube_reserved.set("cpu", 100);
    kube_reserved.set("memory", 10 * (1 << 20) * 1000);
    let mut offerings = Vec::new();
    for z in &FAKE_ZONES[..2] {
        offerings.push(Offering {
            zone: z.to_string(),
            zone_id: None,
            capacity_type: CapacityType::Spot,
            price,
            available: true,
        });
    }
    for z in FAKE_ZONES {
        offerings.push(Offering {
            zone: z.to_string(),
            zone_id: None,
            capacity_type: CapacityType::OnDemand,
            price,
            available: true,
        });
    }
    InstanceType {
        name: format!("fake-it-{i}"),
        capacity,
        overhead: Overhead {
            kube_reserved,
            ..Default::default()
        },
        labels: BTreeMap::new(),
        offerings,
    }
}

/// `n` instance types of Karpenter's benchmark catalog.
pub fn fake_instance_types(n: usize) -> Vec<InstanceType> {
    (0..n).map(fake_instance_type).collect()
}

/// A simple instance type: `cpu` cores, `mem_gib` GiB, `pods` pods, one on-demand offering per
/// zone at `price`, plus extra labels. No overhead.
pub fn instance_type(
    name: &str,
    cpu: i64,
    mem_gib: i64,
    pods: i64,
    price: f64,
    zones: &[&str],
    labels: &[(&str, &str)],
) -> InstanceType {
    let mut capacity = ResourceList::new();
    capacity.set("cpu", cpu * 1000);
    capacity.set("memory", mem_gib * (1 << 30) * 1000);
    capacity.set("pods", pods * 1000);
    InstanceType {
        name: name.to_string(),
        capacity,
        overhead: Overhead::default(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        offerings: zones
            .iter()
            .map(|z| Offering {
                zone: z.to_string(),
                zone_id: None,
                capacity_type: CapacityType::OnDemand,
                price,
                available: true,
            })
            .collect(),
    }
}

/// A pod builder.
#[derive(Debug, Clone, Default)]
pub struct PodBuilder {
    pod: Pod,
}

fn q(s: &str) -> Quantity {
    Quantity(s.to_string())
}

fn selector(labels: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        match_expressions: None,
    }
}

impl PodBuilder {
    /// A pod `default/<name>` with one container requesting `cpu` and `memory`.
    pub fn new(name: &str, cpu: &str, memory: &str) -> Self {
        let requests: BTreeMap<String, Quantity> = [
            ("cpu".to_string(), q(cpu)),
            ("memory".to_string(), q(memory)),
        ]
        .into();
        PodBuilder {
            pod: Pod {
                metadata: ObjectMeta {
                    name: Some(name.to_string()),
                    namespace: Some("default".to_string()),
                    ..Default::default()
                },
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "main".into(),
                        resources: Some(ResourceRequirements {
                            requests: Some(requests),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                status: None,
            },
        }
    }

    fn spec(&mut self) -> &mut PodSpec {
        self.pod.spec.get_or_insert_with(Default::default)
    }

    fn affinity(&mut self) -> &mut Affinity {
        self.spec().affinity.get_or_insert_with(Default::default)
    }

    /// Sets the namespace.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.pod.metadata.namespace = Some(ns.to_string());
        self
    }

    /// Adds a label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.pod
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        self
    }

    /// Adds an extra resource request (e.g. `nvidia.com/gpu`).
    pub fn request(mut self, name: &str, qty: &str) -> Self {
        if let Some(r) = self.spec().containers[0]
            .resources
            .as_mut()
            .and_then(|r| r.requests.as_mut())
        {
            r.insert(name.into(), q(qty));
        }
        self
    }

    /// Adds a nodeSelector entry.
    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.spec()
            .node_selector
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        self
    }

    /// Adds a required node affinity term (terms are ORed) of `(key, operator, values)`.
    pub fn required_term(mut self, exprs: &[(&str, &str, &[&str])]) -> Self {
        let term = term(exprs);
        let na = self
            .affinity()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default);
        na.required_during_scheduling_ignored_during_execution
            .get_or_insert_with(|| NodeSelector {
                node_selector_terms: Vec::new(),
            })
            .node_selector_terms
            .push(term);
        self
    }

    /// Adds a preferred node affinity term.
    pub fn preferred_term(mut self, weight: i32, exprs: &[(&str, &str, &[&str])]) -> Self {
        let term = term(exprs);
        let na = self
            .affinity()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default);
        na.preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(k8s_openapi::api::core::v1::PreferredSchedulingTerm {
                preference: term,
                weight,
            });
        self
    }

    /// Adds a toleration (`Equal` when `value` is given, else `Exists`).
    pub fn toleration(mut self, key: &str, value: Option<&str>, effect: Option<&str>) -> Self {
        self.spec()
            .tolerations
            .get_or_insert_with(Vec::new)
            .push(Toleration {
                key: Some(key.into()),
                operator: Some(if value.is_some() { "Equal" } else { "Exists" }.into()),
                value: value.map(Into::into),
                effect: effect.map(Into::into),
                toleration_seconds: None,
            });
        self
    }

    /// Adds a topology spread constraint selecting `labels`.
    pub fn spread(
        mut self,
        key: &str,
        max_skew: i32,
        schedule_anyway: bool,
        labels: &[(&str, &str)],
    ) -> Self {
        self.spec()
            .topology_spread_constraints
            .get_or_insert_with(Vec::new)
            .push(TopologySpreadConstraint {
                topology_key: key.into(),
                max_skew,
                when_unsatisfiable: if schedule_anyway {
                    "ScheduleAnyway"
                } else {
                    "DoNotSchedule"
                }
                .into(),
                label_selector: Some(selector(labels)),
                ..Default::default()
            });
        self
    }

    /// Adds a full topology spread constraint.
    pub fn spread_constraint(mut self, c: TopologySpreadConstraint) -> Self {
        self.spec()
            .topology_spread_constraints
            .get_or_insert_with(Vec::new)
            .push(c);
        self
    }

    /// Adds a required pod affinity term.
    pub fn affinity_to(mut self, key: &str, labels: &[(&str, &str)]) -> Self {
        let t = affinity_term(key, labels);
        self.affinity()
            .pod_affinity
            .get_or_insert_with(PodAffinity::default)
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(t);
        self
    }

    /// Adds a required pod anti-affinity term.
    pub fn anti_affinity_to(mut self, key: &str, labels: &[(&str, &str)]) -> Self {
        let t = affinity_term(key, labels);
        self.affinity()
            .pod_anti_affinity
            .get_or_insert_with(PodAntiAffinity::default)
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(t);
        self
    }

    /// Adds a preferred pod anti-affinity term.
    pub fn preferred_anti_affinity_to(
        mut self,
        weight: i32,
        key: &str,
        labels: &[(&str, &str)],
    ) -> Self {
        let t = affinity_term(key, labels);
        self.affinity()
            .pod_anti_affinity
            .get_or_insert_with(PodAntiAffinity::default)
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(k8s_openapi::api::core::v1::WeightedPodAffinityTerm {
                pod_affinity_term: t,
                weight,
            });
        self
    }

    /// Adds a host port on the first container.
    pub fn host_port(mut self, port: i32) -> Self {
        self.spec().containers[0]
            .ports
            .get_or_insert_with(Vec::new)
            .push(k8s_openapi::api::core::v1::ContainerPort {
                container_port: port,
                host_port: Some(port),
                ..Default::default()
            });
        self
    }

    /// Mounts a PersistentVolumeClaim.
    pub fn pvc(mut self, claim: &str) -> Self {
        self.spec()
            .volumes
            .get_or_insert_with(Vec::new)
            .push(k8s_openapi::api::core::v1::Volume {
                name: claim.into(),
                persistent_volume_claim: Some(
                    k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                        claim_name: claim.into(),
                        read_only: None,
                    },
                ),
                ..Default::default()
            });
        self
    }

    /// The pod.
    pub fn build(self) -> Pod {
        self.pod
    }
}

fn term(exprs: &[(&str, &str, &[&str])]) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: Some(
            exprs
                .iter()
                .map(|(k, op, vals)| NodeSelectorRequirement {
                    key: k.to_string(),
                    operator: op.to_string(),
                    values: Some(vals.iter().map(|s| s.to_string()).collect()),
                })
                .collect(),
        ),
        match_fields: None,
    }
}

fn affinity_term(key: &str, labels: &[(&str, &str)]) -> PodAffinityTerm {
    PodAffinityTerm {
        topology_key: key.into(),
        label_selector: Some(selector(labels)),
        ..Default::default()
    }
}

/// A taint.
pub fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        value: value.map(Into::into),
        effect: effect.into(),
        time_added: None,
    }
}

/// Karpenter's benchmark workload: `count` pods in five equal kinds (plain; zone spread maxSkew 1
/// DoNotSchedule; hostname spread maxSkew 1; zonal pod affinity to its own label; hostname
/// anti-affinity to `app=nginx`), cpu from {100m, 250m, 500m, 1, 1.5}, memory from {100, 256,
/// 512, 1024, 2048, 4096}Mi, chosen by a fixed-seed generator. The remainder is plain pods.
pub fn benchmark_pods(count: usize, seed: u64) -> Vec<Pod> {
    let mut rng = SplitMix(seed);
    let cpus = ["100m", "250m", "500m", "1", "1.5"];
    let mems = ["100Mi", "256Mi", "512Mi", "1024Mi", "2048Mi", "4096Mi"];
    let values = ["a", "b", "c", "d", "e", "f", "g"];
    let per = count / 5;
    let mut pods = Vec::with_capacity(count);
    let mk = |kind: usize, i: usize, rng: &mut SplitMix| {
        let cpu = cpus[rng.below(cpus.len())];
        let mem = mems[rng.below(mems.len())];
        let name = format!("pod-{kind}-{i}");
        let b = PodBuilder::new(&name, cpu, mem);
        match kind {
            1 => {
                let own = values[rng.below(7)];
                let sel = values[rng.below(7)];
                b.label("my-label", own).spread(
                    "topology.kubernetes.io/zone",
                    1,
                    false,
                    &[("my-label", sel)],
                )
            }
            2 => {
                let own = values[rng.below(7)];
                let sel = values[rng.below(7)];
                b.label("my-label", own).spread(
                    "kubernetes.io/hostname",
                    1,
                    false,
                    &[("my-label", sel)],
                )
            }
            3 => {
                let v = values[rng.below(7)];
                b.label("my-affininity", v)
                    .affinity_to("topology.kubernetes.io/zone", &[("my-affininity", v)])
            }
            4 => b
                .label("app", "nginx")
                .anti_affinity_to("kubernetes.io/hostname", &[("app", "nginx")]),
            _ => {
                let own = values[rng.below(7)];
                b.label("my-label", own)
            }
        }
        .build()
    };
    for kind in 0..5 {
        for i in 0..per {
            pods.push(mk(kind, i, &mut rng));
        }
    }
    for i in 0..count - per * 5 {
        pods.push(mk(0, per + i, &mut rng));
    }
    pods
}

/// `count` plain pods with the benchmark's cpu and memory choices.
pub fn plain_pods(count: usize, seed: u64) -> Vec<Pod> {
    let mut rng = SplitMix(seed);
    let cpus = ["100m", "250m", "500m", "1", "1.5"];
    let mems = ["100Mi", "256Mi", "512Mi", "1024Mi", "2048Mi", "4096Mi"];
    (0..count)
        .map(|i| {
            let cpu = cpus[rng.below(cpus.len())];
            let mem = mems[rng.below(mems.len())];
            PodBuilder::new(&format!("plain-{i}"), cpu, mem).build()
        })
        .collect()
}

/// A small deterministic generator (SplitMix64), so workloads need no dependency.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}
