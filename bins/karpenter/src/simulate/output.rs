//! The simulation's result document (`--output json|yaml`) and the table for people.
//!
//! Field names are a contract (see `docs/simulate.md`): fields may be added, never renamed or
//! dropped. Maps are `BTreeMap`s and lists keep the simulation's order, so the same inputs always
//! print the same bytes.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The whole result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulationOutput {
    /// New nodes, after launch, in launch order.
    pub node_claims: Vec<NodeClaimOutput>,
    /// Existing Nodes and NodeClaims that received pending pods.
    pub existing_nodes: Vec<ExistingNodeOutput>,
    /// Pending pods that found no place, with why.
    pub unschedulable: Vec<UnschedulableOutput>,
    /// Totals and cost.
    pub summary: Summary,
}

/// A launched NodeClaim.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimOutput {
    /// `<pool>-<n>`, numbered per pool from 1.
    pub name: String,
    /// The NodePool it came from.
    pub node_pool: String,
    /// The instance type it launched as.
    pub instance_type: String,
    /// `on-demand`, `spot` or `reserved`.
    pub capacity_type: String,
    /// The zone it launched in.
    pub zone: String,
    /// USD per hour of the offering it launched at.
    pub price_per_hour: f64,
    /// How many instance types the claim could have launched as.
    pub instance_type_options: usize,
    /// The node's labels, well-known ones included.
    pub labels: BTreeMap<String, String>,
    /// The node's taints (the pool's taints; startup taints are not listed).
    pub taints: Vec<TaintOutput>,
    /// What pods can use on the node.
    pub allocatable: BTreeMap<String, String>,
    /// What its pods (and daemon overhead) request.
    pub requests: BTreeMap<String, String>,
    /// The pods placed on it, `namespace/name`.
    pub pods: Vec<String>,
}

/// A node taint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaintOutput {
    /// Taint key.
    pub key: String,
    /// Taint value, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// An existing node that received pending pods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExistingNodeOutput {
    /// The Node's (or in-flight NodeClaim's) name.
    pub name: String,
    /// The pending pods placed on it, `namespace/name`.
    pub pods: Vec<String>,
}

/// A pod that could not be placed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnschedulableOutput {
    /// `namespace/name`.
    pub pod: String,
    /// Which constraint, which pool, what was missing.
    pub reason: String,
}

/// Totals and cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Pending pods considered.
    pub pods: usize,
    /// Pending pods that found a place.
    pub scheduled: usize,
    /// NodeClaims launched.
    pub new_nodes: usize,
    /// Hourly price of every new node plus every existing node whose price is known.
    pub cost_per_hour: f64,
    /// A proven lower bound on the hourly cost of any placement of the same pods.
    pub lower_bound_per_hour: f64,
    /// Launch attempts that failed with insufficient capacity and were retried elsewhere.
    pub insufficient_capacity_retries: u64,
}

/// Rounds a price sum to 6 decimals so float noise (`0.30000000000000004`) never reaches output.
pub fn round_price(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// The result document as JSON.
    Json,
    /// The result document as YAML.
    Yaml,
}

/// Renders the result in the given format, ending with a newline.
pub fn render(out: &SimulationOutput, format: Format) -> Result<String, String> {
    match format {
        Format::Json => serde_json::to_string_pretty(out)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        Format::Yaml => serde_yaml::to_string(out).map_err(|e| e.to_string()),
        Format::Table => Ok(render_table(out)),
    }
}

fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}   ", w = widths[i]);
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// Lists pods compactly: all of them when few, else the first few and a count.
fn pod_list(pods: &[String]) -> String {
    const SHOWN: usize = 3;
    if pods.len() <= SHOWN {
        pods.join(",")
    } else {
        format!("{} (+{} more)", pods[..SHOWN].join(","), pods.len() - SHOWN)
    }
}

fn render_table(out: &SimulationOutput) -> String {
    let mut s = String::new();
    if out.node_claims.is_empty() {
        s.push_str("No new nodes.\n");
    } else {
        let mut rows = vec![[
            "NODECLAIM",
            "NODEPOOL",
            "INSTANCE-TYPE",
            "CAPACITY",
            "ZONE",
            "PRICE/H",
            "PODS",
        ]
        .map(String::from)
        .to_vec()];
        for c in &out.node_claims {
            rows.push(vec![
                c.name.clone(),
                c.node_pool.clone(),
                c.instance_type.clone(),
                c.capacity_type.clone(),
                c.zone.clone(),
                format!("{:.4}", c.price_per_hour),
                c.pods.len().to_string(),
            ]);
        }
        s.push_str(&table(&rows));
    }
    if !out.existing_nodes.is_empty() {
        s.push('\n');
        let mut rows = vec![vec![
            "EXISTING-NODE".to_string(),
            "NEW-PODS".to_string(),
            "PODS".to_string(),
        ]];
        for n in &out.existing_nodes {
            rows.push(vec![
                n.name.clone(),
                n.pods.len().to_string(),
                pod_list(&n.pods),
            ]);
        }
        s.push_str(&table(&rows));
    }
    if !out.unschedulable.is_empty() {
        s.push('\n');
        let mut rows = vec![vec!["UNSCHEDULABLE-POD".to_string(), "REASON".to_string()]];
        for u in &out.unschedulable {
            rows.push(vec![u.pod.clone(), u.reason.clone()]);
        }
        s.push_str(&table(&rows));
    }
    let sm = &out.summary;
    let gap = if sm.lower_bound_per_hour > 0.0 {
        format!(
            " ({:+.1}% over the bound)",
            (sm.cost_per_hour / sm.lower_bound_per_hour - 1.0) * 100.0
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "\n{} of {} pending pods scheduled, {} new nodes, ${:.4}/hour; lower bound ${:.4}/hour{}",
        sm.scheduled, sm.pods, sm.new_nodes, sm.cost_per_hour, sm.lower_bound_per_hour, gap
    );
    if sm.insufficient_capacity_retries > 0 {
        let _ = writeln!(
            s,
            "{} launch attempts hit insufficient capacity and were retried on the next-cheapest offering",
            sm.insufficient_capacity_retries
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SimulationOutput {
        SimulationOutput {
            node_claims: vec![NodeClaimOutput {
                name: "default-1".into(),
                node_pool: "default".into(),
                instance_type: "m6g.xlarge".into(),
                capacity_type: "spot".into(),
                zone: "us-east-1b".into(),
                price_per_hour: 0.0616,
                instance_type_options: 37,
                labels: [("karpenter.sh/nodepool".to_string(), "default".to_string())].into(),
                taints: vec![TaintOutput {
                    key: "dedicated".into(),
                    value: Some("gpu".into()),
                    effect: "NoSchedule".into(),
                }],
                allocatable: [("cpu".to_string(), "3920m".to_string())].into(),
                requests: [("cpu".to_string(), "3500m".to_string())].into(),
                pods: vec!["default/web-0".into(), "default/web-1".into()],
            }],
            existing_nodes: vec![ExistingNodeOutput {
                name: "ip-10-0-1-7".into(),
                pods: vec!["default/api-3".into()],
            }],
            unschedulable: vec![UnschedulableOutput {
                pod: "default/big-0".into(),
                reason: "no instance type in nodepool default has 200 cpu".into(),
            }],
            summary: Summary {
                pods: 4,
                scheduled: 3,
                new_nodes: 1,
                cost_per_hour: 0.0616,
                lower_bound_per_hour: 0.05,
                insufficient_capacity_retries: 0,
            },
        }
    }

    #[test]
    fn json_uses_the_contract_names() {
        let json = render(&sample(), Format::Json).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let c = &v["nodeClaims"][0];
        for key in [
            "name",
            "nodePool",
            "instanceType",
            "capacityType",
            "zone",
            "pricePerHour",
            "instanceTypeOptions",
            "labels",
            "taints",
            "allocatable",
            "requests",
            "pods",
        ] {
            assert!(c.get(key).is_some(), "missing {key}");
        }
        assert_eq!(c["taints"][0]["effect"], "NoSchedule");
        assert_eq!(v["existingNodes"][0]["pods"][0], "default/api-3");
        assert_eq!(v["unschedulable"][0]["pod"], "default/big-0");
        for key in [
            "pods",
            "scheduled",
            "newNodes",
            "costPerHour",
            "lowerBoundPerHour",
        ] {
            assert!(v["summary"].get(key).is_some(), "missing summary.{key}");
        }
        let yaml = render(&sample(), Format::Yaml).unwrap();
        let y: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(y, v);
    }

    #[test]
    fn table_has_every_section() {
        let t = render(&sample(), Format::Table).unwrap();
        assert!(t.contains("default-1"), "{t}");
        assert!(t.contains("m6g.xlarge"));
        assert!(t.contains("0.0616"));
        assert!(t.contains("ip-10-0-1-7"));
        assert!(t.contains("no instance type in nodepool default has 200 cpu"));
        assert!(t.contains("3 of 4 pending pods scheduled, 1 new nodes, $0.0616/hour"));
        assert!(t.contains("+23.2% over the bound"), "{t}");
    }

    #[test]
    fn prices_are_rounded() {
        assert_eq!(round_price(0.1 + 0.2), 0.3);
        assert_eq!(
            pod_list(&["a".into(), "b".into(), "c".into(), "d".into()]),
            "a,b,c (+1 more)"
        );
    }
}
