//! The logic of the `scheduler` fuzz target, kept here so the ordinary test suite can replay the
//! checked-in corpus (`fuzz/corpus/scheduler`).
//!
//! [`schedule_bytes`] turns arbitrary bytes into a cluster (NodePools with taints, labels, zone
//! requirements and limits; existing nodes; pending pods with selectors, tolerations, topology
//! spread, pod (anti-)affinity, host ports and occasionally raw quantity text), schedules it twice
//! and checks that the scheduler did not panic, placed every pod exactly once, kept every claim
//! within its instance types' allocatable, and gave the same plan both times.

use crate::fixtures::{instance_type, taint, PodBuilder};
use crate::model::{ExistingNode, NodePoolInput, Plan, SchedulerInput, SchedulerOptions};
use crate::pod::pod_key;
use crate::requirements::{Operator, Requirement};
use karpenter_api::quantity::ResourceList;
use std::collections::BTreeSet;

/// What one fuzz input produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Pending pods generated.
    pub pods: usize,
    /// Pods placed on new or existing nodes.
    pub scheduled: usize,
    /// New NodeClaims.
    pub claims: usize,
    /// Whether the input was rejected as invalid (bad quantity).
    pub invalid: bool,
}

struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn below(&mut self, n: u8) -> u8 {
        self.byte() % n.max(1)
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

const ZONES: [&str; 3] = ["z1", "z2", "z3"];
const ZONE: &str = "topology.kubernetes.io/zone";
const HOST: &str = "kubernetes.io/hostname";

/// Builds a cluster from `data`.
pub fn cluster(data: &[u8]) -> SchedulerInput {
    let mut b = Bytes { data, pos: 0 };
    let catalog = vec![
        instance_type("s", 2, 4, 8, 0.1, &ZONES, &[]),
        instance_type("m", 4, 16, 20, 0.2, &ZONES[..2], &[]),
        instance_type("l", 16, 64, 60, 0.8, &ZONES, &[]),
        instance_type(
            "g",
            8,
            32,
            30,
            0.3,
            &ZONES[1..],
            &[("kubernetes.io/arch", "arm64")],
        ),
    ];
    let mut pools = Vec::new();
    for i in 0..1 + b.below(2) {
        let mut p = NodePoolInput {
            name: format!("pool-{i}"),
            weight: b.below(3) as i32,
            instance_types: catalog.clone(),
            ..Default::default()
        };
        if b.flag() {
            p.taints.push(taint(
                "dedicated",
                Some("x"),
                if b.flag() {
                    "NoSchedule"
                } else {
                    "PreferNoSchedule"
                },
            ));
        }
        if b.flag() {
            p.labels.insert("team".into(), "red".into());
        }
        if b.flag() {
            p.requirements.push(Requirement::new(
                ZONE,
                Operator::In,
                [ZONES[b.below(3) as usize]],
            ));
        }
        if b.flag() {
            let cpu = (1 + b.below(40)).to_string();
            p.limits = ResourceList::parse([("cpu", cpu.as_str())]).ok();
        }
        pools.push(p);
    }
    let mut existing = Vec::new();
    for n in 0..b.below(3) {
        existing.push(ExistingNode {
            name: format!("n{n}"),
            labels: [
                (ZONE.to_string(), ZONES[b.below(3) as usize].to_string()),
                (HOST.to_string(), format!("n{n}")),
            ]
            .into(),
            allocatable: ResourceList::parse([("cpu", "4"), ("memory", "8Gi"), ("pods", "10")])
                .unwrap_or_default(),
            in_flight: b.flag(),
            pods: vec![PodBuilder::new(&format!("r{n}"), "1", "1Gi")
                .label("app", "a")
                .build()],
            ..Default::default()
        });
    }
    let cpus = ["100m", "500m", "1", "3", "20"];
    let mems = ["64Mi", "1Gi", "4Gi", "30Gi"];
    let mut pods = Vec::new();
    let mut i = 0;
    while !b.done() && pods.len() < 64 {
        let raw = b.below(16) == 0;
        let cpu = if raw {
            let len = b.below(6) as usize;
            (0..len)
                .map(|_| (b.below(95) + 32) as char)
                .collect::<String>()
        } else {
            cpus[b.below(5) as usize].to_string()
        };
        let mut p = PodBuilder::new(&format!("p{i}"), &cpu, mems[b.below(4) as usize]);
        let app = ["a", "b"][b.below(2) as usize];
        p = p.label("app", app);
        if b.flag() {
            p = p.toleration("dedicated", None, None);
        }
        match b.below(8) {
            1 => p = p.spread(ZONE, 1 + b.below(2) as i32, b.flag(), &[("app", app)]),
            2 => p = p.spread(HOST, 1, b.flag(), &[("app", app)]),
            3 => p = p.anti_affinity_to(HOST, &[("app", app)]),
            4 => p = p.anti_affinity_to(ZONE, &[("app", app)]),
            5 => p = p.affinity_to(ZONE, &[("app", app)]),
            6 => p = p.node_selector("team", "red"),
            7 => {
                p = p
                    .required_term(&[("kubernetes.io/arch", "In", &["arm64"])])
                    .required_term(&[(ZONE, "In", &[ZONES[b.below(3) as usize]])])
            }
            _ => {}
        }
        if b.below(8) == 0 {
            p = p.host_port(8080);
        }
        if b.below(8) == 0 {
            p = p.preferred_term(10, &[(ZONE, "In", &["z3"])]);
        }
        pods.push(p.build());
        i += 1;
    }
    SchedulerInput {
        node_pools: pools,
        existing_nodes: existing,
        pending_pods: pods,
        options: SchedulerOptions {
            compute_lower_bound: false,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Schedules the cluster built from `data` twice and checks the invariants; `Err` names the
/// violated invariant.
pub fn schedule_bytes(data: &[u8]) -> Result<Summary, String> {
    let input = cluster(data);
    let mut summary = Summary {
        pods: input.pending_pods.len(),
        ..Default::default()
    };
    let plan = match crate::schedule(&input) {
        Ok(p) => p,
        Err(e) => {
            if !e.to_string().starts_with("Pod ") {
                return Err(format!("input error does not name the pod: {e}"));
            }
            summary.invalid = true;
            return Ok(summary);
        }
    };
    check(&input, &plan)?;
    let again = crate::schedule(&input).map_err(|e| format!("second run failed: {e}"))?;
    if again != plan {
        return Err("two runs gave different plans".into());
    }
    summary.claims = plan.new_node_claims.len();
    summary.scheduled = summary.pods - plan.unschedulable.len();
    Ok(summary)
}

fn check(input: &SchedulerInput, plan: &Plan) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for k in plan
        .new_node_claims
        .iter()
        .flat_map(|c| c.pods.iter())
        .chain(plan.existing_placements.iter().flat_map(|e| e.pods.iter()))
        .chain(plan.unschedulable.iter().map(|u| &u.pod))
    {
        if !seen.insert(k.clone()) {
            return Err(format!("pod {k} placed twice"));
        }
    }
    let expected: BTreeSet<String> = input.pending_pods.iter().map(pod_key).collect();
    if seen != expected {
        return Err("some pending pod is missing from the plan".into());
    }
    for c in &plan.new_node_claims {
        if c.pods.is_empty() {
            return Err("empty new claim".into());
        }
        let pool = &input.node_pools[c.node_pool_index];
        if c.instance_types.is_empty() || c.launch.is_none() {
            return Err(format!("claim in {} has no instance type", c.node_pool));
        }
        for o in c.instance_types.iter() {
            if !c
                .requests
                .fits_in(&pool.instance_types[o.index].allocatable())
            {
                return Err(format!("{} cannot hold {}", o.name, c.requests));
            }
        }
    }
    for u in &plan.unschedulable {
        if u.reason.is_empty() {
            return Err(format!("{} unschedulable without a reason", u.pod));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_small_inputs() {
        assert_eq!(schedule_bytes(&[]).unwrap().pods, 0);
        let s = schedule_bytes(&[7; 40]).unwrap();
        assert!(s.pods >= 1, "{s:?}");
        let all: Vec<u8> = (0..=255).collect();
        let s = schedule_bytes(&all).unwrap();
        assert!(s.pods > 5 && s.scheduled > 0, "{s:?}");
    }
}
