//! Property tests on generated clusters: every placement respects resources, taints, selectors,
//! required node affinity, topology spread, anti-affinity, host ports and NodePool limits; two
//! runs give the same plan; no input panics.

use k8s_openapi::api::core::v1::{Pod, Taint};
use karpenter_api::quantity::ResourceList;
use karpenter_catalog::model::{CapacityType, InstanceType, Offering};
use karpenter_scheduling::fixtures::*;
use karpenter_scheduling::pod::{host_ports, pod_requests, selector_matches, tolerates};
use karpenter_scheduling::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const ZONE: &str = "topology.kubernetes.io/zone";
const HOST: &str = "kubernetes.io/hostname";
const ARCH: &str = "kubernetes.io/arch";
const ZONES: [&str; 3] = ["z1", "z2", "z3"];

fn catalog() -> Vec<InstanceType> {
    let mut v = vec![
        instance_type("a.small", 2, 4, 8, 0.08, &ZONES, &[]),
        instance_type("a.medium", 4, 8, 16, 0.16, &ZONES[..2], &[]),
        instance_type("a.large", 8, 32, 40, 0.40, &ZONES, &[]),
        instance_type("g.medium", 4, 16, 20, 0.13, &ZONES, &[(ARCH, "arm64")]),
        instance_type(
            "g.xlarge",
            16,
            64,
            60,
            0.50,
            &ZONES[1..],
            &[(ARCH, "arm64")],
        ),
    ];
    for t in &mut v {
        t.offerings.push(Offering {
            zone: "z1".into(),
            zone_id: None,
            capacity_type: CapacityType::Spot,
            price: t.offerings[0].price * 0.4,
            available: true,
        });
    }
    v
}

#[derive(Debug, Clone)]
struct PodSpec {
    cpu_m: u32,
    mem_mi: u32,
    arch: Option<&'static str>,
    team: Option<&'static str>,
    tolerate: bool,
    kind: u8,
    app: u8,
    port: bool,
}

fn pod_spec() -> impl Strategy<Value = PodSpec> {
    (
        prop::sample::select(vec![100u32, 250, 500, 1000, 1500, 3000, 7000]),
        prop::sample::select(vec![128u32, 512, 1024, 4096, 16384]),
        prop::option::weighted(0.2, prop::sample::select(vec!["amd64", "arm64"])),
        prop::option::weighted(0.2, prop::sample::select(vec!["red", "blue"])),
        any::<bool>(),
        0u8..7,
        0u8..2,
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(cpu_m, mem_mi, arch, team, tolerate, kind, app, port)| PodSpec {
                cpu_m,
                mem_mi,
                arch,
                team,
                tolerate,
                kind,
                app,
                port,
            },
        )
}

fn build_pod(i: usize, s: &PodSpec) -> Pod {
    let app = ["a", "b"][s.app as usize];
    let mut b = PodBuilder::new(
        &format!("p{i}"),
        &format!("{}m", s.cpu_m),
        &format!("{}Mi", s.mem_mi),
    );
    // Zone-spread pods carry no node selector: with nodeAffinityPolicy Honor each selector
    // would make its own counting domain, and the final-state skew check below assumes one.
    if s.kind != 1 {
        if let Some(a) = s.arch {
            b = b.node_selector(ARCH, a);
        }
        if let Some(t) = s.team {
            b = b.node_selector("team", t);
        }
    }
    if s.tolerate {
        b = b.toleration("dedicated", None, None);
    }
    if s.port {
        b = b.host_port(9000);
    }
    match s.kind {
        1 => b
            .label("spread-zone", app)
            .spread(ZONE, 1, false, &[("spread-zone", app)]),
        2 => b
            .label("spread-host", app)
            .spread(HOST, 1, false, &[("spread-host", app)]),
        3 => b
            .label("anti-host", app)
            .anti_affinity_to(HOST, &[("anti-host", app)]),
        4 => b
            .label("anti-zone", app)
            .anti_affinity_to(ZONE, &[("anti-zone", app)]),
        5 => b.label("aff", app).affinity_to(ZONE, &[("aff", app)]),
        _ => b.label("plain", app),
    }
    .build()
}

#[derive(Debug, Clone)]
struct Cluster {
    input: SchedulerInput,
}

fn cluster() -> impl Strategy<Value = Cluster> {
    (
        prop::collection::vec(pod_spec(), 1..40),
        any::<bool>(),
        any::<bool>(),
        prop::option::weighted(0.3, 4u32..40),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(
            |(specs, tainted, team_pool, cpu_limit, existing, zone_limited)| {
                let mut pools = vec![NodePoolInput {
                    name: "general".into(),
                    weight: 10,
                    instance_types: catalog(),
                    limits: cpu_limit
                        .map(|c| ResourceList::parse([("cpu", c.to_string().as_str())]).unwrap()),
                    requirements: if zone_limited {
                        vec![Requirement::new(ZONE, Operator::In, ["z1", "z2"])]
                    } else {
                        Vec::new()
                    },
                    ..Default::default()
                }];
                let mut special = NodePoolInput {
                    name: "special".into(),
                    instance_types: catalog(),
                    ..Default::default()
                };
                if tainted {
                    special.taints = vec![taint("dedicated", Some("x"), "NoSchedule")];
                }
                if team_pool {
                    special.labels.insert("team".into(), "red".into());
                }
                pools.push(special);
                let existing_nodes = (0..existing)
                    .map(|n| ExistingNode {
                        name: format!("node-{n}"),
                        labels: [
                            (ZONE.to_string(), ZONES[n % 3].to_string()),
                            (HOST.to_string(), format!("node-{n}")),
                            (ARCH.to_string(), "amd64".to_string()),
                        ]
                        .into(),
                        allocatable: ResourceList::parse([
                            ("cpu", "4"),
                            ("memory", "8Gi"),
                            ("pods", "20"),
                        ])
                        .unwrap(),
                        capacity: ResourceList::parse([
                            ("cpu", "4"),
                            ("memory", "8Gi"),
                            ("pods", "20"),
                        ])
                        .unwrap(),
                        node_pool: Some("general".into()),
                        pods: vec![PodBuilder::new(&format!("run-{n}"), "500m", "512Mi")
                            .label("existing", "yes")
                            .build()],
                        ..Default::default()
                    })
                    .collect();
                let pending_pods = specs
                    .iter()
                    .enumerate()
                    .map(|(i, s)| build_pod(i, s))
                    .collect();
                Cluster {
                    input: SchedulerInput {
                        node_pools: pools,
                        existing_nodes,
                        pending_pods,
                        options: SchedulerOptions {
                            compute_lower_bound: false,
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                }
            },
        )
}

/// A placed node as a person would see it after launch.
struct NodeView {
    labels: BTreeMap<String, String>,
    taints: Vec<Taint>,
    allocatable: ResourceList,
    pods: Vec<Pod>,
    pool: Option<String>,
}

fn nodes(input: &SchedulerInput, plan: &Plan) -> Vec<NodeView> {
    let by_key: BTreeMap<String, &Pod> = input
        .pending_pods
        .iter()
        .map(|p| (karpenter_scheduling::pod::pod_key(p), p))
        .collect();
    let mut out = Vec::new();
    for (i, c) in plan.new_node_claims.iter().enumerate() {
        let launch = c.launch.as_ref().expect("every new claim can launch");
        let pool = &input.node_pools[c.node_pool_index];
        let it = &pool.instance_types[launch.instance_type_index];
        let mut labels = c.labels.clone();
        labels.extend(it.labels.clone());
        labels.entry(ARCH.into()).or_insert_with(|| "amd64".into());
        labels.insert(ZONE.into(), launch.zone.clone());
        labels.insert(
            "karpenter.sh/capacity-type".into(),
            launch.capacity_type.as_str().into(),
        );
        labels.insert(HOST.into(), format!("claim-{i}"));
        out.push(NodeView {
            labels,
            taints: c.taints.clone(),
            allocatable: it.allocatable(),
            pods: c.pods.iter().map(|k| by_key[k].clone()).collect(),
            pool: Some(c.node_pool.clone()),
        });
    }
    for n in &input.existing_nodes {
        let mut pods = n.pods.clone();
        if let Some(p) = plan.existing_placements.iter().find(|e| e.node == n.name) {
            pods.extend(p.pods.iter().map(|k| by_key[k].clone()));
        }
        out.push(NodeView {
            labels: n.labels.clone(),
            taints: n.taints.clone(),
            allocatable: n.allocatable.clone(),
            pods,
            pool: n.node_pool.clone(),
        });
    }
    out
}

fn term_matches(
    t: &k8s_openapi::api::core::v1::NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
) -> bool {
    t.match_expressions.iter().flatten().all(|e| {
        let v = labels.get(&e.key);
        let vals = e.values.clone().unwrap_or_default();
        match e.operator.as_str() {
            "In" => v.is_some_and(|v| vals.contains(v)),
            "NotIn" => v.is_none_or(|v| !vals.contains(v)),
            "Exists" => v.is_some(),
            "DoesNotExist" => v.is_none(),
            _ => false,
        }
    })
}

fn check(input: &SchedulerInput, plan: &Plan) {
    // Every pending pod exactly once.
    let mut seen = BTreeSet::new();
    for k in plan
        .new_node_claims
        .iter()
        .flat_map(|c| c.pods.iter())
        .chain(plan.existing_placements.iter().flat_map(|e| e.pods.iter()))
        .chain(plan.unschedulable.iter().map(|u| &u.pod))
    {
        assert!(seen.insert(k.clone()), "{k} placed twice");
    }
    assert_eq!(seen.len(), input.pending_pods.len());
    for c in &plan.new_node_claims {
        let mut sum = c.daemon_requests.clone();
        for k in &c.pods {
            let p = input
                .pending_pods
                .iter()
                .find(|p| &karpenter_scheduling::pod::pod_key(p) == k)
                .unwrap();
            sum.add(&pod_requests(p).unwrap());
            sum.set("pods", sum.get("pods") + 1000);
        }
        assert_eq!(sum, c.requests, "claim requests are its pods plus daemons");
        let pool = &input.node_pools[c.node_pool_index];
        for o in c.instance_types.iter() {
            assert!(
                c.requests
                    .fits_in(&pool.instance_types[o.index].allocatable()),
                "option {} cannot hold {}",
                o.name,
                c.requests
            );
        }
    }
    let views = nodes(input, plan);
    for n in &views {
        assert!(
            n.pods
                .iter()
                .map(|p| {
                    let mut r = pod_requests(p).unwrap();
                    r.set("pods", 1000);
                    r
                })
                .fold(ResourceList::new(), |mut a, r| {
                    a.add(&r);
                    a
                })
                .fits_in(&n.allocatable)
                || n.pool.is_some() && n.pods.is_empty(),
            "node over allocatable"
        );
        let mut ports = BTreeSet::new();
        for p in &n.pods {
            let spec = p.spec.as_ref().unwrap();
            let tols = spec.tolerations.clone().unwrap_or_default();
            for t in &n.taints {
                if t.effect == "NoSchedule" || t.effect == "NoExecute" {
                    assert!(tolerates(&tols, t), "taint {t:?} not tolerated");
                }
            }
            for (k, v) in spec.node_selector.iter().flatten() {
                assert_eq!(n.labels.get(k), Some(v), "nodeSelector {k}={v}");
            }
            if let Some(req) = spec
                .affinity
                .as_ref()
                .and_then(|a| a.node_affinity.as_ref())
                .and_then(|a| {
                    a.required_during_scheduling_ignored_during_execution
                        .as_ref()
                })
            {
                assert!(req
                    .node_selector_terms
                    .iter()
                    .any(|t| term_matches(t, &n.labels)));
            }
            for hp in host_ports(p) {
                assert!(
                    ports.insert(hp.port),
                    "host port {} twice on a node",
                    hp.port
                );
            }
            // Required anti-affinity on hostname: no other selected pod on the node.
            for t in spec
                .affinity
                .as_ref()
                .and_then(|a| a.pod_anti_affinity.as_ref())
                .and_then(|a| {
                    a.required_during_scheduling_ignored_during_execution
                        .as_ref()
                })
                .into_iter()
                .flatten()
            {
                if t.topology_key == HOST {
                    let others = n
                        .pods
                        .iter()
                        .filter(|o| o.metadata.name != p.metadata.name)
                        .filter(|o| {
                            selector_matches(
                                t.label_selector.as_ref(),
                                &o.metadata.labels.clone().unwrap_or_default(),
                            )
                        })
                        .count();
                    assert_eq!(others, 0, "hostname anti-affinity violated");
                }
            }
        }
    }
    // Zone-level anti-affinity and spread, by label value.
    for (label, key) in [
        ("anti-zone", ZONE),
        ("spread-zone", ZONE),
        ("spread-host", HOST),
    ] {
        for app in ["a", "b"] {
            let mut per: BTreeMap<String, usize> = BTreeMap::new();
            for n in &views {
                let c = n
                    .pods
                    .iter()
                    .filter(|p| {
                        p.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get(label))
                            .map(String::as_str)
                            == Some(app)
                    })
                    .count();
                if c > 0 {
                    *per.entry(n.labels.get(key).cloned().unwrap_or_default())
                        .or_default() += c;
                }
            }
            match label {
                "anti-zone" => assert!(per.values().all(|c| *c <= 1), "zone anti-affinity {per:?}"),
                "spread-host" => assert!(per.values().all(|c| *c <= 1), "hostname spread {per:?}"),
                _ => {
                    // Domains: zones the pools can launch in.
                    let zones: BTreeSet<String> = input
                        .node_pools
                        .iter()
                        .flat_map(|p| {
                            let allowed: Option<Vec<String>> = p
                                .requirements
                                .iter()
                                .find(|r| r.key == ZONE)
                                .map(|r| r.values.clone());
                            p.instance_types
                                .iter()
                                .flat_map(|t| t.offerings.iter().map(|o| o.zone.clone()))
                                .filter(move |z| allowed.as_ref().is_none_or(|a| a.contains(z)))
                                .collect::<Vec<_>>()
                        })
                        .chain(
                            input
                                .existing_nodes
                                .iter()
                                .filter_map(|n| n.labels.get(ZONE).cloned()),
                        )
                        .collect();
                    let max = per.values().copied().max().unwrap_or(0);
                    let min = zones
                        .iter()
                        .map(|z| per.get(z).copied().unwrap_or(0))
                        .min()
                        .unwrap_or(0);
                    assert!(max <= min + 1, "zone spread skew {per:?} over {zones:?}");
                }
            }
        }
    }
    // NodePool limits: launched capacity plus existing capacity.
    for pool in &input.node_pools {
        if let Some(l) = &pool.limits {
            let existing: i64 = input
                .existing_nodes
                .iter()
                .filter(|n| n.node_pool.as_deref() == Some(pool.name.as_str()))
                .map(|n| n.capacity.get("cpu"))
                .sum();
            let launched: i64 = plan
                .new_node_claims
                .iter()
                .filter(|c| c.node_pool == pool.name)
                .map(|c| {
                    let l = c.launch.as_ref().unwrap();
                    pool.instance_types[l.instance_type_index]
                        .capacity
                        .get("cpu")
                })
                .sum();
            assert!(
                launched == 0 || existing + launched <= l.get("cpu"),
                "pool {} cpu {existing}+{launched} over limit {}",
                pool.name,
                l.get("cpu")
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn placements_respect_every_constraint(c in cluster()) {
        let plan = schedule(&c.input).expect("generated input is valid");
        check(&c.input, &plan);
        let again = schedule(&c.input).expect("generated input is valid");
        prop_assert_eq!(plan, again);
    }

    #[test]
    fn placements_hold_without_packing_optimisation(c in cluster()) {
        let mut input = c.input.clone();
        input.options.optimize_packing = false;
        let plan = schedule(&input).expect("generated input is valid");
        check(&input, &plan);
    }

    #[test]
    fn arbitrary_quantities_never_panic(cpu in "[0-9a-zA-Z.+-]{0,8}", mem in "[0-9a-zA-Z.]{0,8}") {
        let input = SchedulerInput {
            node_pools: vec![NodePoolInput { name: "p".into(), instance_types: catalog(), ..Default::default() }],
            pending_pods: vec![PodBuilder::new("x", &cpu, &mem).build()],
            ..Default::default()
        };
        match schedule(&input) {
            Ok(plan) => prop_assert_eq!(plan.new_node_claims.len() + plan.unschedulable.len(), 1),
            Err(e) => prop_assert!(e.to_string().contains("Pod default/x")),
        }
    }
}
