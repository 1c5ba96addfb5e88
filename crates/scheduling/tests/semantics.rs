//! One test (or a few) per scheduling semantic, written from the Kubernetes and Karpenter docs.

use k8s_openapi::api::core::v1::{
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeSpec, Pod,
    TopologySpreadConstraint, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use karpenter_api::quantity::ResourceList;
use karpenter_catalog::model::{CapacityType, InstanceType, Offering};
use karpenter_scheduling::fixtures::*;
use karpenter_scheduling::*;
use std::collections::{BTreeMap, BTreeSet};

const ZONE: &str = "topology.kubernetes.io/zone";
const HOST: &str = "kubernetes.io/hostname";
const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

/// Small, medium and large amd64 types plus an arm64 type, in three zones.
fn types() -> Vec<InstanceType> {
    vec![
        instance_type(
            "small",
            2,
            4,
            10,
            0.10,
            &ZONES,
            &[("karpenter.k8s.aws/instance-family", "s")],
        ),
        instance_type(
            "medium",
            4,
            16,
            30,
            0.20,
            &ZONES,
            &[("karpenter.k8s.aws/instance-family", "m")],
        ),
        instance_type(
            "large",
            16,
            64,
            110,
            0.80,
            &ZONES,
            &[("karpenter.k8s.aws/instance-family", "l")],
        ),
        instance_type(
            "arm",
            4,
            16,
            30,
            0.15,
            &ZONES,
            &[
                ("kubernetes.io/arch", "arm64"),
                ("karpenter.k8s.aws/instance-family", "g"),
            ],
        ),
    ]
}

fn amd64_only() -> Vec<InstanceType> {
    types().into_iter().filter(|t| t.name != "arm").collect()
}

fn pool(name: &str, types: Vec<InstanceType>) -> NodePoolInput {
    NodePoolInput {
        name: name.into(),
        instance_types: types,
        ..Default::default()
    }
}

fn input(pools: Vec<NodePoolInput>, pods: Vec<Pod>) -> SchedulerInput {
    SchedulerInput {
        node_pools: pools,
        pending_pods: pods,
        // The bound has its own test below; the packing module's tests cover it in depth.
        options: SchedulerOptions {
            compute_lower_bound: false,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn run(i: &SchedulerInput) -> Plan {
    schedule(i).expect("valid input")
}

fn claim_of<'p>(plan: &'p Plan, pod: &str) -> &'p NewNodeClaim {
    let key = format!("default/{pod}");
    plan.new_node_claims
        .iter()
        .find(|c| c.pods.contains(&key))
        .unwrap_or_else(|| panic!("{pod} not on a new claim: {plan:#?}"))
}

fn zone_of(plan: &Plan, pod: &str) -> String {
    let c = claim_of(plan, pod);
    c.labels
        .get(ZONE)
        .cloned()
        .or_else(|| c.launch.as_ref().map(|l| l.zone.clone()))
        .expect("zone")
}

fn reason(plan: &Plan, pod: &str) -> String {
    let key = format!("default/{pod}");
    plan.unschedulable
        .iter()
        .find(|u| u.pod == key)
        .map(|u| u.reason.clone())
        .unwrap_or_else(|| panic!("{pod} was scheduled: {plan:#?}"))
}

fn pods(n: usize, cpu: &str, mem: &str) -> Vec<Pod> {
    (0..n)
        .map(|i| PodBuilder::new(&format!("p{i}"), cpu, mem).build())
        .collect()
}

#[test]
fn packs_pods_onto_the_cheapest_type_that_fits() {
    let plan = run(&input(
        vec![pool("default", amd64_only())],
        pods(3, "500m", "1Gi"),
    ));
    assert!(plan.unschedulable.is_empty());
    assert_eq!(plan.new_node_claims.len(), 1);
    let c = &plan.new_node_claims[0];
    assert_eq!(c.pods.len(), 3);
    assert_eq!(c.instance_types[0].name, "small");
    assert_eq!(c.requests.get("cpu"), 1500);
    assert_eq!(c.requests.get("pods"), 3000);
    // Options are ordered by price.
    let prices: Vec<f64> = c.instance_types.iter().map(|t| t.price).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(c.launch.as_ref().unwrap().instance_type, "small");
    assert!((plan.cost_per_hour - 0.10).abs() < 1e-9);
}

#[test]
fn too_large_pod_names_the_resource_and_pool() {
    let plan = run(&input(
        vec![pool("default", amd64_only())],
        pods(1, "100", "1Gi"),
    ));
    let r = reason(&plan, "p0");
    assert!(r.contains("nodepool default"), "{r}");
    assert!(r.contains("cpu"), "{r}");
}

#[test]
fn extended_resource_must_exist_on_the_type() {
    let p = PodBuilder::new("gpu", "1", "1Gi")
        .request("nvidia.com/gpu", "1")
        .build();
    let plan = run(&input(vec![pool("default", amd64_only())], vec![p]));
    let r = reason(&plan, "gpu");
    assert!(r.contains("no instance type has nvidia.com/gpu"), "{r}");
    let mut gpu = instance_type("gpu", 8, 32, 50, 2.0, &ZONES, &[]);
    gpu.capacity.set("nvidia.com/gpu", 1000);
    let p = PodBuilder::new("gpu", "1", "1Gi")
        .request("nvidia.com/gpu", "1")
        .build();
    let mut ts = amd64_only();
    ts.push(gpu);
    let plan = run(&input(vec![pool("default", ts)], vec![p]));
    assert_eq!(claim_of(&plan, "gpu").instance_types[0].name, "gpu");
    assert_eq!(claim_of(&plan, "gpu").instance_types.len(), 1);
}

#[test]
fn node_selector_on_well_known_label_filters_types() {
    let p = PodBuilder::new("a", "1", "1Gi")
        .node_selector("kubernetes.io/arch", "arm64")
        .build();
    let plan = run(&input(vec![pool("default", types())], vec![p.clone()]));
    let c = claim_of(&plan, "a");
    assert_eq!(c.instance_types.len(), 1);
    assert_eq!(c.instance_types[0].name, "arm");
    assert_eq!(
        c.labels.get("kubernetes.io/arch").map(String::as_str),
        Some("arm64")
    );
    let plan = run(&input(vec![pool("default", amd64_only())], vec![p]));
    let r = reason(&plan, "a");
    assert!(
        r.contains("nodepool default: requirement kubernetes.io/arch In [arm64] not met by any instance type"),
        "{r}"
    );
}

#[test]
fn taints_block_unless_tolerated_and_startup_taints_do_not() {
    let mut gpu = pool("gpu", amd64_only());
    gpu.taints = vec![taint("nvidia.com/gpu", Some("true"), "NoSchedule")];
    let plan = run(&input(vec![gpu.clone()], pods(1, "1", "1Gi")));
    let r = reason(&plan, "p0");
    assert!(
        r.contains("nodepool gpu: taint nvidia.com/gpu=true:NoSchedule not tolerated"),
        "{r}"
    );
    let tol = PodBuilder::new("t", "1", "1Gi")
        .toleration("nvidia.com/gpu", Some("true"), Some("NoSchedule"))
        .build();
    let plan = run(&input(vec![gpu], vec![tol]));
    assert_eq!(claim_of(&plan, "t").taints.len(), 1);
    let mut st = pool("startup", amd64_only());
    st.startup_taints = vec![taint("example.com/init", None, "NoSchedule")];
    let plan = run(&input(vec![st], pods(1, "1", "1Gi")));
    assert!(plan.unschedulable.is_empty());
    assert_eq!(plan.new_node_claims[0].startup_taints.len(), 1);
}

#[test]
fn custom_labels_must_be_defined_by_the_pool() {
    let p = PodBuilder::new("a", "1", "1Gi")
        .node_selector("team", "blue")
        .build();
    let plan = run(&input(vec![pool("default", amd64_only())], vec![p.clone()]));
    let r = reason(&plan, "a");
    assert!(r.contains("does not define label team"), "{r}");
    let mut labeled = pool("blue", amd64_only());
    labeled.labels.insert("team".into(), "blue".into());
    let plan = run(&input(vec![labeled], vec![p]));
    assert_eq!(
        claim_of(&plan, "a").labels.get("team").map(String::as_str),
        Some("blue")
    );
    // NotIn on an undefined custom label is allowed.
    let p = PodBuilder::new("n", "1", "1Gi")
        .required_term(&[("team", "NotIn", &["red"])])
        .build();
    let plan = run(&input(vec![pool("default", amd64_only())], vec![p]));
    assert!(plan.unschedulable.is_empty());
}

#[test]
fn pool_requirement_with_numeric_operators() {
    let mut p = pool("default", amd64_only());
    for t in &mut p.instance_types {
        let cpu = (t.capacity.get("cpu") / 1000).to_string();
        t.labels
            .insert("karpenter.k8s.aws/instance-cpu".into(), cpu);
    }
    p.requirements = vec![Requirement::new(
        "karpenter.k8s.aws/instance-cpu",
        Operator::Gt,
        ["2"],
    )];
    let plan = run(&input(vec![p.clone()], pods(1, "100m", "100Mi")));
    assert_eq!(plan.new_node_claims[0].instance_types[0].name, "medium");
    p.requirements = vec![Requirement::new(
        "karpenter.k8s.aws/instance-cpu",
        Operator::Lte,
        ["4"],
    )];
    let plan = run(&input(vec![p], pods(1, "100m", "100Mi")));
    let names: Vec<&str> = plan.new_node_claims[0]
        .instance_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["small", "medium"]);
}

#[test]
fn required_node_affinity_terms_are_ored() {
    let p = PodBuilder::new("a", "1", "1Gi")
        .required_term(&[("kubernetes.io/arch", "In", &["s390x"])])
        .required_term(&[(ZONE, "In", &["zone-b"])])
        .build();
    let plan = run(&input(vec![pool("default", amd64_only())], vec![p]));
    assert_eq!(zone_of(&plan, "a"), "zone-b");
}

#[test]
fn preferred_node_affinity_is_honoured_then_relaxed() {
    let p = PodBuilder::new("a", "1", "1Gi")
        .preferred_term(10, &[(ZONE, "In", &["zone-c"])])
        .preferred_term(50, &[(ZONE, "In", &["zone-b"])])
        .build();
    let plan = run(&input(vec![pool("default", amd64_only())], vec![p]));
    assert_eq!(zone_of(&plan, "a"), "zone-b", "heaviest preference first");
    let p = PodBuilder::new("b", "1", "1Gi")
        .preferred_term(10, &[(ZONE, "In", &["zone-nowhere"])])
        .build();
    let plan = run(&input(vec![pool("default", amd64_only())], vec![p.clone()]));
    assert!(plan.unschedulable.is_empty());
    // With preferences ignored the pod never asks for the zone.
    let mut i = input(vec![pool("default", amd64_only())], vec![p]);
    i.options.preference_policy = PreferencePolicy::Ignore;
    assert!(run(&i).unschedulable.is_empty());
}

#[test]
fn zone_spread_balances_domains() {
    let ps: Vec<Pod> = (0..6)
        .map(|i| {
            PodBuilder::new(&format!("s{i}"), "1", "1Gi")
                .label("app", "web")
                .spread(ZONE, 1, false, &[("app", "web")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], ps));
    assert!(plan.unschedulable.is_empty());
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..6 {
        *per.entry(zone_of(&plan, &format!("s{i}"))).or_default() += 1;
    }
    assert_eq!(per.len(), 3, "{per:?}");
    assert!(per.values().all(|c| *c == 2), "{per:?}");
}

#[test]
fn zone_spread_counts_existing_pods() {
    // Two matching pods already run in zone-a: new pods go to b and c first.
    let node = ExistingNode {
        name: "n1".into(),
        labels: [
            (ZONE.to_string(), "zone-a".to_string()),
            (HOST.to_string(), "n1".to_string()),
        ]
        .into(),
        allocatable: ResourceList::parse([("cpu", "1"), ("memory", "1Gi"), ("pods", "10")])
            .unwrap(),
        pods: (0..2)
            .map(|i| {
                PodBuilder::new(&format!("old{i}"), "100m", "100Mi")
                    .label("app", "web")
                    .build()
            })
            .collect(),
        ..Default::default()
    };
    let ps: Vec<Pod> = (0..2)
        .map(|i| {
            PodBuilder::new(&format!("s{i}"), "1", "1Gi")
                .label("app", "web")
                .spread(ZONE, 1, false, &[("app", "web")])
                .build()
        })
        .collect();
    let mut i = input(vec![pool("default", amd64_only())], ps);
    i.existing_nodes = vec![node];
    let plan = run(&i);
    let zones: BTreeSet<String> = (0..2).map(|k| zone_of(&plan, &format!("s{k}"))).collect();
    assert_eq!(zones, ["zone-b".to_string(), "zone-c".to_string()].into());
}

#[test]
fn min_domains_forces_spreading_to_empty_domains() {
    // Only zone-a and zone-b offered but minDomains 3: min counts as 0, maxSkew 1 allows at most
    // one matching pod per domain; the third pod cannot be placed.
    let two_zone: Vec<InstanceType> = amd64_only()
        .into_iter()
        .map(|mut t| {
            t.offerings.retain(|o| o.zone != "zone-c");
            t
        })
        .collect();
    let ps: Vec<Pod> = (0..3)
        .map(|i| {
            PodBuilder::new(&format!("m{i}"), "1", "1Gi")
                .label("app", "db")
                .spread_constraint(TopologySpreadConstraint {
                    topology_key: ZONE.into(),
                    max_skew: 1,
                    min_domains: Some(3),
                    when_unsatisfiable: "DoNotSchedule".into(),
                    label_selector: Some(LabelSelector {
                        match_labels: Some([("app".to_string(), "db".to_string())].into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", two_zone)], ps));
    assert_eq!(plan.unschedulable.len(), 1, "{plan:#?}");
    assert!(
        plan.unschedulable[0].reason.contains("topology spread"),
        "{:?}",
        plan.unschedulable
    );
}

#[test]
fn schedule_anyway_spread_is_relaxed_when_impossible() {
    let ps: Vec<Pod> = (0..3)
        .map(|i| {
            PodBuilder::new(&format!("w{i}"), "1", "1Gi")
                .label("app", "w")
                .node_selector(ZONE, "zone-a")
                .spread(ZONE, 1, true, &[("app", "w")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], ps.clone()));
    assert!(plan.unschedulable.is_empty(), "{plan:#?}");
    // The same with DoNotSchedule leaves pods pending (skew would exceed 1 in zone-a).
    let strict: Vec<Pod> = (0..3)
        .map(|i| {
            PodBuilder::new(&format!("w{i}"), "1", "1Gi")
                .label("app", "w")
                .node_selector(ZONE, "zone-a")
                .spread_constraint(TopologySpreadConstraint {
                    topology_key: ZONE.into(),
                    max_skew: 1,
                    when_unsatisfiable: "DoNotSchedule".into(),
                    node_affinity_policy: Some("Ignore".into()),
                    label_selector: Some(LabelSelector {
                        match_labels: Some([("app".to_string(), "w".to_string())].into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], strict));
    assert_eq!(plan.unschedulable.len(), 2, "{plan:#?}");
}

#[test]
fn node_affinity_policy_honor_ignores_unreachable_domains() {
    // Default nodeAffinityPolicy Honor: zones the pod cannot reach do not count toward min.
    let ps: Vec<Pod> = (0..3)
        .map(|i| {
            PodBuilder::new(&format!("h{i}"), "1", "1Gi")
                .label("app", "h")
                .node_selector(ZONE, "zone-a")
                .spread(ZONE, 1, false, &[("app", "h")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], ps));
    assert!(plan.unschedulable.is_empty(), "{plan:#?}");
}

#[test]
fn hostname_spread_and_anti_affinity_put_one_pod_per_node() {
    let spread: Vec<Pod> = (0..4)
        .map(|i| {
            PodBuilder::new(&format!("s{i}"), "100m", "100Mi")
                .label("app", "s")
                .spread(HOST, 1, false, &[("app", "s")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], spread));
    assert_eq!(plan.new_node_claims.len(), 4);
    let anti: Vec<Pod> = (0..4)
        .map(|i| {
            PodBuilder::new(&format!("a{i}"), "100m", "100Mi")
                .label("app", "nginx")
                .anti_affinity_to(HOST, &[("app", "nginx")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], anti));
    assert_eq!(plan.new_node_claims.len(), 4);
    assert!(plan.new_node_claims.iter().all(|c| c.pods.len() == 1));
}

#[test]
fn zone_anti_affinity_uses_distinct_zones_and_fails_beyond_them() {
    let anti: Vec<Pod> = (0..4)
        .map(|i| {
            PodBuilder::new(&format!("z{i}"), "100m", "100Mi")
                .label("app", "z")
                .anti_affinity_to(ZONE, &[("app", "z")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], anti));
    assert_eq!(plan.unschedulable.len(), 1);
    assert!(
        plan.unschedulable[0].reason.contains("anti-affinity"),
        "{:?}",
        plan.unschedulable
    );
    let zones: BTreeSet<String> = plan
        .new_node_claims
        .iter()
        .map(|c| c.labels[ZONE].clone())
        .collect();
    assert_eq!(zones.len(), 3);
}

#[test]
fn pod_affinity_collocates_in_a_zone() {
    let ps: Vec<Pod> = (0..5)
        .map(|i| {
            PodBuilder::new(&format!("f{i}"), "3", "4Gi")
                .label("app", "f")
                .affinity_to(ZONE, &[("app", "f")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], ps));
    assert!(plan.unschedulable.is_empty());
    let zones: BTreeSet<String> = (0..5).map(|i| zone_of(&plan, &format!("f{i}"))).collect();
    assert_eq!(zones.len(), 1);
    // Affinity to pods that exist nowhere cannot be satisfied.
    let lonely = PodBuilder::new("l", "1", "1Gi")
        .affinity_to(ZONE, &[("app", "ghost")])
        .build();
    let plan = run(&input(vec![pool("default", amd64_only())], vec![lonely]));
    assert!(reason(&plan, "l").contains("pod affinity"));
}

#[test]
fn pod_affinity_to_an_existing_pods_zone() {
    let node = ExistingNode {
        name: "db-node".into(),
        labels: [(ZONE.to_string(), "zone-c".to_string())].into(),
        allocatable: ResourceList::parse([("cpu", "1"), ("memory", "1Gi"), ("pods", "10")])
            .unwrap(),
        pods: vec![PodBuilder::new("db", "900m", "100Mi")
            .label("app", "db")
            .build()],
        ..Default::default()
    };
    let p = PodBuilder::new("web", "1", "1Gi")
        .affinity_to(ZONE, &[("app", "db")])
        .build();
    let mut i = input(vec![pool("default", amd64_only())], vec![p]);
    i.existing_nodes = vec![node];
    let plan = run(&i);
    assert_eq!(zone_of(&plan, "web"), "zone-c");
}

#[test]
fn affinity_namespaces_and_namespace_selector() {
    // The matching pod runs in namespace "data"; a term without namespaces only looks in the
    // pod's own namespace.
    let node = ExistingNode {
        name: "n".into(),
        labels: [(ZONE.to_string(), "zone-b".to_string())].into(),
        allocatable: ResourceList::parse([("cpu", "1"), ("memory", "1Gi"), ("pods", "10")])
            .unwrap(),
        pods: vec![PodBuilder::new("db", "900m", "100Mi")
            .namespace("data")
            .label("app", "db")
            .build()],
        ..Default::default()
    };
    let own_ns = PodBuilder::new("a", "1", "1Gi")
        .affinity_to(ZONE, &[("app", "db")])
        .build();
    let mut i = input(vec![pool("default", amd64_only())], vec![own_ns]);
    i.existing_nodes = vec![node.clone()];
    assert_eq!(run(&i).unschedulable.len(), 1);
    let mut with_ns = PodBuilder::new("b", "1", "1Gi")
        .affinity_to(ZONE, &[("app", "db")])
        .build();
    let term = &mut with_ns
        .spec
        .as_mut()
        .unwrap()
        .affinity
        .as_mut()
        .unwrap()
        .pod_affinity
        .as_mut()
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .as_mut()
        .unwrap()[0];
    term.namespace_selector = Some(LabelSelector {
        match_labels: Some([("tier".to_string(), "storage".to_string())].into()),
        ..Default::default()
    });
    let mut i = input(vec![pool("default", amd64_only())], vec![with_ns]);
    i.existing_nodes = vec![node];
    i.namespace_labels.insert(
        "data".into(),
        [("tier".to_string(), "storage".to_string())].into(),
    );
    let plan = run(&i);
    assert_eq!(zone_of(&plan, "b"), "zone-b");
}

#[test]
fn running_pods_anti_affinity_blocks_incoming_pods() {
    let mut guard = PodBuilder::new("guard", "100m", "100Mi")
        .anti_affinity_to(HOST, &[("app", "noisy")])
        .build();
    guard.metadata.labels = None;
    let node = ExistingNode {
        name: "n".into(),
        labels: [(HOST.to_string(), "n".to_string())].into(),
        allocatable: ResourceList::parse([("cpu", "8"), ("memory", "16Gi"), ("pods", "10")])
            .unwrap(),
        pods: vec![guard],
        ..Default::default()
    };
    let noisy = PodBuilder::new("noisy", "1", "1Gi")
        .label("app", "noisy")
        .build();
    let quiet = PodBuilder::new("quiet", "1", "1Gi").build();
    let mut i = input(vec![pool("default", amd64_only())], vec![noisy, quiet]);
    i.existing_nodes = vec![node];
    let plan = run(&i);
    assert_eq!(plan.existing_placements.len(), 1);
    assert_eq!(
        plan.existing_placements[0].pods,
        vec!["default/quiet".to_string()]
    );
    claim_of(&plan, "noisy");
}

#[test]
fn existing_capacity_is_used_first_and_largest_pods_first() {
    let node = ExistingNode {
        name: "n".into(),
        allocatable: ResourceList::parse([("cpu", "2"), ("memory", "4Gi"), ("pods", "10")])
            .unwrap(),
        ..Default::default()
    };
    let ps = vec![
        PodBuilder::new("small", "500m", "256Mi").build(),
        PodBuilder::new("big", "2", "1Gi").build(),
    ];
    let mut i = input(vec![pool("default", amd64_only())], ps);
    i.existing_nodes = vec![node];
    let plan = run(&i);
    assert_eq!(
        plan.existing_placements[0].pods,
        vec!["default/big".to_string()]
    );
    claim_of(&plan, "small");
}

#[test]
fn in_flight_nodes_ignore_not_ready_taints_but_not_others() {
    let mut node = ExistingNode {
        name: "claim-1".into(),
        allocatable: ResourceList::parse([("cpu", "4"), ("memory", "8Gi"), ("pods", "10")])
            .unwrap(),
        taints: vec![taint("node.kubernetes.io/not-ready", None, "NoSchedule")],
        in_flight: true,
        ..Default::default()
    };
    let mut i = input(vec![], pods(1, "1", "1Gi"));
    i.existing_nodes = vec![node.clone()];
    assert_eq!(run(&i).existing_placements.len(), 1);
    node.in_flight = false;
    i.existing_nodes = vec![node];
    let plan = run(&i);
    assert_eq!(plan.unschedulable.len(), 1);
    assert!(plan.unschedulable[0].reason.contains("no existing node"));
}

#[test]
fn host_ports_conflict_on_a_node() {
    let ps: Vec<Pod> = (0..3)
        .map(|i| {
            PodBuilder::new(&format!("h{i}"), "100m", "100Mi")
                .host_port(8080)
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], ps));
    assert_eq!(plan.new_node_claims.len(), 3);
}

#[test]
fn daemonset_overhead_is_added_to_new_nodes() {
    let ds = k8s_openapi::api::apps::v1::DaemonSet {
        metadata: ObjectMeta {
            name: Some("logs".into()),
            namespace: Some("kube-system".into()),
            ..Default::default()
        },
        spec: Some(k8s_openapi::api::apps::v1::DaemonSetSpec {
            template: k8s_openapi::api::core::v1::PodTemplateSpec {
                metadata: None,
                spec: PodBuilder::new("x", "1", "1Gi").build().spec,
            },
            ..Default::default()
        }),
        status: None,
    };
    // 1.5 cpu pod + 1 cpu daemon does not fit the 2-cpu small type.
    let mut i = input(vec![pool("default", amd64_only())], pods(1, "1500m", "1Gi"));
    i.daemonsets = vec![ds.clone()];
    let plan = run(&i);
    let c = &plan.new_node_claims[0];
    assert_eq!(c.instance_types[0].name, "medium");
    assert_eq!(c.requests.get("cpu"), 2500);
    assert_eq!(c.daemon_requests.get("cpu"), 1000);
    // A daemon that does not tolerate the pool's taint adds nothing.
    let mut tainted = pool("t", amd64_only());
    tainted.taints = vec![taint("dedicated", Some("x"), "NoSchedule")];
    let p = PodBuilder::new("p", "1500m", "1Gi")
        .toleration("dedicated", Some("x"), None)
        .build();
    let mut i = input(vec![tainted], vec![p]);
    i.daemonsets = vec![ds];
    let plan = run(&i);
    assert_eq!(plan.new_node_claims[0].instance_types[0].name, "small");
}

#[test]
fn pools_are_tried_in_weight_order() {
    let mut low = pool("low", amd64_only());
    low.weight = 1;
    let mut high = pool("high", amd64_only());
    high.weight = 10;
    let plan = run(&input(vec![low.clone(), high], pods(1, "1", "1Gi")));
    assert_eq!(plan.new_node_claims[0].node_pool, "high");
    // Ties go by name.
    let other = pool("aaa", amd64_only());
    low.weight = 0;
    let plan = run(&input(vec![low, other], pods(1, "1", "1Gi")));
    assert_eq!(plan.new_node_claims[0].node_pool, "aaa");
}

#[test]
fn pool_limits_count_existing_capacity() {
    let mut limited = pool("default", amd64_only());
    limited.limits = Some(ResourceList::parse([("cpu", "6")]).unwrap());
    let node = ExistingNode {
        name: "n".into(),
        allocatable: ResourceList::parse([("cpu", "4"), ("memory", "8Gi"), ("pods", "10")])
            .unwrap(),
        capacity: ResourceList::parse([("cpu", "4"), ("memory", "8Gi"), ("pods", "10")]).unwrap(),
        node_pool: Some("default".into()),
        taints: vec![taint("full", None, "NoSchedule")],
        ..Default::default()
    };
    let mut i = input(vec![limited], pods(3, "1500m", "1Gi"));
    i.existing_nodes = vec![node];
    let plan = run(&i);
    // 2 cpu left: one small node (1 pod); the rest do not fit.
    assert_eq!(plan.new_node_claims.len(), 1);
    assert_eq!(plan.new_node_claims[0].instance_types.len(), 1);
    assert_eq!(plan.unschedulable.len(), 2);
    assert!(
        plan.unschedulable[0].reason.contains("limits"),
        "{:?}",
        plan.unschedulable
    );
    let mut nodes_limited = pool("default", amd64_only());
    nodes_limited.limits = Some(ResourceList::parse([("nodes", "1")]).unwrap());
    let plan = run(&input(
        vec![nodes_limited],
        pods(2, "100m", "100Mi")
            .into_iter()
            .chain((0..1).map(|_| PodBuilder::new("big", "15", "1Gi").build()))
            .collect(),
    ));
    assert_eq!(plan.new_node_claims.len(), 1);
}

#[test]
fn volume_topology_pins_zones() {
    let pv = PersistentVolume {
        metadata: ObjectMeta {
            name: Some("pv-1".into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(k8s_openapi::api::core::v1::NodeSelector {
                    node_selector_terms: vec![k8s_openapi::api::core::v1::NodeSelectorTerm {
                        match_expressions: Some(vec![
                            k8s_openapi::api::core::v1::NodeSelectorRequirement {
                                key: ZONE.into(),
                                operator: "In".into(),
                                values: Some(vec!["zone-c".into()]),
                            },
                        ]),
                        match_fields: None,
                    }],
                }),
            }),
            ..Default::default()
        }),
        status: None,
    };
    let bound = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            volume_name: Some("pv-1".into()),
            ..Default::default()
        }),
        status: None,
    };
    let unbound = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("fresh".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            storage_class_name: Some("wffc".into()),
            ..Default::default()
        }),
        status: None,
    };
    let sc = StorageClass {
        metadata: ObjectMeta {
            name: Some("wffc".into()),
            ..Default::default()
        },
        provisioner: "ebs.csi.aws.com".into(),
        volume_binding_mode: Some("WaitForFirstConsumer".into()),
        allowed_topologies: Some(vec![k8s_openapi::api::core::v1::TopologySelectorTerm {
            match_label_expressions: Some(vec![
                k8s_openapi::api::core::v1::TopologySelectorLabelRequirement {
                    key: ZONE.into(),
                    values: vec!["zone-b".into()],
                },
            ]),
        }]),
        ..Default::default()
    };
    let ps = vec![
        PodBuilder::new("a", "1", "1Gi").pvc("data").build(),
        PodBuilder::new("b", "1", "1Gi").pvc("fresh").build(),
        PodBuilder::new("c", "1", "1Gi").pvc("missing").build(),
    ];
    let mut i = input(vec![pool("default", amd64_only())], ps);
    i.persistent_volumes = vec![pv];
    i.persistent_volume_claims = vec![bound, unbound];
    i.storage_classes = vec![sc];
    let plan = run(&i);
    assert_eq!(zone_of(&plan, "a"), "zone-c");
    assert_eq!(zone_of(&plan, "b"), "zone-b");
    assert!(reason(&plan, "c").contains("persistentvolumeclaim default/missing not found"));
}

#[test]
fn prefer_no_schedule_taints_are_avoided_then_tolerated() {
    let mut soft = pool("soft", amd64_only());
    soft.weight = 10;
    soft.taints = vec![taint("spot-only", None, "PreferNoSchedule")];
    let plain = pool("plain", amd64_only());
    let plan = run(&input(vec![soft.clone(), plain], pods(1, "1", "1Gi")));
    assert_eq!(plan.new_node_claims[0].node_pool, "plain");
    let plan = run(&input(vec![soft], pods(1, "1", "1Gi")));
    assert_eq!(plan.new_node_claims[0].node_pool, "soft");
}

#[test]
fn preferred_anti_affinity_is_relaxed() {
    let ps: Vec<Pod> = (0..2)
        .map(|i| {
            PodBuilder::new(&format!("p{i}"), "100m", "100Mi")
                .label("app", "x")
                .node_selector(ZONE, "zone-a")
                .preferred_anti_affinity_to(100, ZONE, &[("app", "x")])
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], ps));
    assert!(plan.unschedulable.is_empty(), "{plan:#?}");
}

#[test]
fn max_instance_types_truncates_cheapest_first() {
    let mut i = input(
        vec![pool("default", fake_instance_types(50))],
        pods(1, "100m", "100Mi"),
    );
    i.options.max_instance_types = 5;
    let plan = run(&i);
    let names: Vec<&str> = plan.new_node_claims[0]
        .instance_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "fake-it-0",
            "fake-it-1",
            "fake-it-2",
            "fake-it-3",
            "fake-it-4"
        ]
    );
}

#[test]
fn min_values_strict_keeps_flexibility() {
    let mut p = pool("default", amd64_only());
    let mut r = Requirement::new(
        "karpenter.k8s.aws/instance-family",
        Operator::In,
        ["s", "m", "l"],
    );
    r.min_values = Some(2);
    p.requirements = vec![r];
    // A 3-cpu pod fits medium and large: two families, ok.
    let plan = run(&input(vec![p.clone()], pods(1, "3", "1Gi")));
    assert!(plan.unschedulable.is_empty());
    assert_eq!(plan.new_node_claims[0].instance_types.len(), 2);
    // A 10-cpu pod fits only large: one family < 2.
    let plan = run(&input(vec![p.clone()], pods(1, "10", "1Gi")));
    assert_eq!(plan.unschedulable.len(), 1);
    assert!(
        plan.unschedulable[0].reason.contains("minValues"),
        "{:?}",
        plan.unschedulable
    );
    let mut i = input(vec![p], pods(1, "10", "1Gi"));
    i.options.min_values_policy = MinValuesPolicy::BestEffort;
    assert!(run(&i).unschedulable.is_empty());
}

#[test]
fn capacity_type_and_spot_offerings() {
    let mut t = instance_type("m", 4, 16, 30, 0.2, &ZONES, &[]);
    t.offerings.push(Offering {
        zone: "zone-a".into(),
        zone_id: None,
        capacity_type: CapacityType::Spot,
        price: 0.05,
        available: true,
    });
    let plan = run(&input(
        vec![pool("default", vec![t.clone()])],
        pods(1, "1", "1Gi"),
    ));
    let l = plan.new_node_claims[0].launch.clone().unwrap();
    assert_eq!(
        (l.capacity_type, l.zone.as_str()),
        (CapacityType::Spot, "zone-a")
    );
    let p = PodBuilder::new("od", "1", "1Gi")
        .node_selector("karpenter.sh/capacity-type", "on-demand")
        .build();
    let plan = run(&input(vec![pool("default", vec![t])], vec![p]));
    let l = plan.new_node_claims[0].launch.clone().unwrap();
    assert_eq!(l.capacity_type, CapacityType::OnDemand);
    assert!((l.price - 0.2).abs() < 1e-9);
}

#[test]
fn same_input_same_plan() {
    let i = input(
        vec![pool("default", fake_instance_types(100))],
        benchmark_pods(500, 3),
    );
    assert_eq!(run(&i), run(&i));
}

#[test]
fn invalid_quantity_is_an_input_error() {
    let p = PodBuilder::new("bad", "lots", "1Gi").build();
    let e = schedule(&input(vec![pool("default", amd64_only())], vec![p])).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("Pod default/bad") && s.contains("spec.containers[0].resources.requests.cpu"),
        "{s}"
    );
}

#[test]
fn node_pool_from_api() {
    let yaml = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: gpu
spec:
  weight: 5
  limits:
    cpu: "100"
  template:
    metadata:
      labels:
        team: ml
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      requirements:
        - key: karpenter.k8s.aws/instance-family
          operator: In
          values: ["s", "m"]
          minValues: 2
      taints:
        - key: nvidia.com/gpu
          value: "true"
          effect: NoSchedule
"#;
    let np: karpenter_api::nodepool::NodePool = serde_yaml::from_str(yaml).expect("valid NodePool");
    let p = NodePoolInput::from_api(&np, amd64_only()).unwrap();
    assert_eq!(p.name, "gpu");
    assert_eq!(p.weight, 5);
    assert_eq!(p.limits.as_ref().unwrap().get("cpu"), 100_000);
    assert_eq!(p.requirements[0].min_values, Some(2));
    assert_eq!(p.requirements[0].operator, Operator::In);
    assert_eq!(p.labels["team"], "ml");
    assert_eq!(p.taints[0].key, "nvidia.com/gpu");
    let ok = PodBuilder::new("a", "1", "1Gi")
        .toleration("nvidia.com/gpu", Some("true"), Some("NoSchedule"))
        .build();
    let plan = run(&input(vec![p], vec![ok]));
    let names: Vec<&str> = plan.new_node_claims[0]
        .instance_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["small", "medium"]);
}

#[test]
fn lower_bound_and_repacking() {
    // Eight 1-cpu pods: a 16-cpu node costs 0.80, four 4-cpu nodes cost 0.80, two 4-cpu nodes
    // hold them for 0.40.
    let mut i = input(vec![pool("default", amd64_only())], pods(8, "1", "1Gi"));
    i.options.compute_lower_bound = true;
    let plan = run(&i);
    assert!(plan.unschedulable.is_empty());
    assert!(plan.lower_bound_per_hour > 0.0);
    assert!(plan.lower_bound_per_hour <= plan.cost_per_hour + 1e-9);
    assert!(plan.cost_per_hour <= 0.40 + 1e-9, "{}", plan.cost_per_hour);
    let total: usize = plan.new_node_claims.iter().map(|c| c.pods.len()).sum();
    assert_eq!(total, 8);
}

fn spread_on(key: &str, labels: &[(&str, &str)]) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        topology_key: key.into(),
        max_skew: 1,
        when_unsatisfiable: "DoNotSchedule".into(),
        label_selector: Some(LabelSelector {
            match_labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn spread_over_capacity_types() {
    let mut t = instance_type("m", 4, 16, 30, 0.2, &ZONES, &[]);
    t.offerings.push(Offering {
        zone: "zone-a".into(),
        zone_id: None,
        capacity_type: CapacityType::Spot,
        price: 0.05,
        available: true,
    });
    let ps: Vec<Pod> = (0..4)
        .map(|i| {
            PodBuilder::new(&format!("c{i}"), "3", "1Gi")
                .label("app", "ct")
                .spread_constraint(spread_on("karpenter.sh/capacity-type", &[("app", "ct")]))
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", vec![t])], ps));
    assert!(plan.unschedulable.is_empty(), "{plan:#?}");
    let mut per: BTreeMap<CapacityType, usize> = BTreeMap::new();
    for c in &plan.new_node_claims {
        *per.entry(c.launch.as_ref().unwrap().capacity_type)
            .or_default() += c.pods.len();
    }
    assert_eq!(per.get(&CapacityType::Spot), Some(&2), "{per:?}");
    assert_eq!(per.get(&CapacityType::OnDemand), Some(&2), "{per:?}");
}

#[test]
fn spread_over_a_custom_pool_label() {
    let mut r1 = pool("rack-1", amd64_only());
    r1.labels.insert("rack".into(), "r1".into());
    let mut r2 = pool("rack-2", amd64_only());
    r2.labels.insert("rack".into(), "r2".into());
    let ps: Vec<Pod> = (0..4)
        .map(|i| {
            PodBuilder::new(&format!("r{i}"), "3", "1Gi")
                .label("app", "r")
                .spread_constraint(spread_on("rack", &[("app", "r")]))
                .build()
        })
        .collect();
    let plan = run(&input(vec![r1, r2], ps));
    assert!(plan.unschedulable.is_empty());
    let per: BTreeMap<String, usize> =
        plan.new_node_claims
            .iter()
            .fold(BTreeMap::new(), |mut m, c| {
                *m.entry(c.labels["rack"].clone()).or_default() += c.pods.len();
                m
            });
    assert_eq!(
        per.values().copied().collect::<Vec<_>>(),
        vec![2, 2],
        "{per:?}"
    );
}

#[test]
fn match_label_keys_spread_each_version_separately() {
    // Two versions, three pods each, zone spread over app=web with matchLabelKeys [version]:
    // each version is spread over the three zones on its own.
    let ps: Vec<Pod> = (0..6)
        .map(|i| {
            let mut c = spread_on(ZONE, &[("app", "web")]);
            c.match_label_keys = Some(vec!["version".into()]);
            PodBuilder::new(&format!("v{i}"), "1", "1Gi")
                .label("app", "web")
                .label("version", if i < 3 { "1" } else { "2" })
                .spread_constraint(c)
                .build()
        })
        .collect();
    let plan = run(&input(vec![pool("default", amd64_only())], ps));
    for v in [0..3, 3..6] {
        let zones: BTreeSet<String> = v.map(|i| zone_of(&plan, &format!("v{i}"))).collect();
        assert_eq!(zones.len(), 3, "{zones:?}");
    }
}

#[test]
fn node_taints_policy_honor_skips_untolerated_nodes() {
    // An existing tainted node in zone-a holds two matching pods. With nodeTaintsPolicy Honor
    // (and no toleration) they do not count, so zone-a is as empty as the others.
    let node = ExistingNode {
        name: "tainted".into(),
        labels: [(ZONE.to_string(), "zone-a".to_string())].into(),
        taints: vec![taint("special", None, "NoSchedule")],
        allocatable: ResourceList::parse([("cpu", "1"), ("memory", "1Gi"), ("pods", "10")])
            .unwrap(),
        pods: (0..2)
            .map(|i| {
                PodBuilder::new(&format!("old{i}"), "100m", "100Mi")
                    .label("app", "t")
                    .build()
            })
            .collect(),
        ..Default::default()
    };
    let mut honor = spread_on(ZONE, &[("app", "t")]);
    honor.node_taints_policy = Some("Honor".into());
    let ps: Vec<Pod> = (0..3)
        .map(|i| {
            PodBuilder::new(&format!("t{i}"), "1", "1Gi")
                .label("app", "t")
                .spread_constraint(honor.clone())
                .build()
        })
        .collect();
    let mut i = input(vec![pool("default", amd64_only())], ps.clone());
    i.existing_nodes = vec![node.clone()];
    let plan = run(&i);
    let zones: BTreeSet<String> = (0..3).map(|k| zone_of(&plan, &format!("t{k}"))).collect();
    assert_eq!(zones.len(), 3, "Honor: zone-a counts 0 {zones:?}");
    // Default Ignore: zone-a already has 2, so at most one lands there... none can (2+1-0 > 1).
    let ignore: Vec<Pod> = (0..3)
        .map(|k| {
            PodBuilder::new(&format!("t{k}"), "1", "1Gi")
                .label("app", "t")
                .spread_constraint(spread_on(ZONE, &[("app", "t")]))
                .build()
        })
        .collect();
    let mut i = input(vec![pool("default", amd64_only())], ignore);
    i.existing_nodes = vec![node];
    let plan = run(&i);
    assert!(
        (0..3).all(|k| zone_of(&plan, &format!("t{k}")) != "zone-a"),
        "Ignore: zone-a is full"
    );
}

#[test]
fn pod_operators_does_not_exist_and_gte() {
    let mut ts = amd64_only();
    for t in &mut ts {
        let cpu = (t.capacity.get("cpu") / 1000).to_string();
        t.labels
            .insert("karpenter.k8s.aws/instance-cpu".into(), cpu);
    }
    ts[0]
        .labels
        .insert("example.com/legacy".into(), "true".into());
    let p = PodBuilder::new("a", "100m", "100Mi")
        .required_term(&[
            ("karpenter.k8s.aws/instance-cpu", "Gte", &["2"]),
            ("example.com/legacy", "DoesNotExist", &[]),
        ])
        .build();
    let plan = run(&input(vec![pool("default", ts)], vec![p]));
    let names: Vec<&str> = plan.new_node_claims[0]
        .instance_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["medium", "large"]);
}
