//! From the engine's state to the public [`Plan`], with reasons a person can act on.

// Resource vectors are parallel arrays indexed by dimension; index loops read best here.
#![allow(clippy::needless_range_loop)]

use crate::compile::{bits, TgKind, NODEPOOL};
use crate::engine::{Engine, Reason};
use crate::model::{
    ExistingPlacement, InstanceTypeOption, Launch, NewNodeClaim, Plan, SchedulerInput,
    Unschedulable,
};
use crate::pod::taint_string;
use crate::requirements::{Conflict, Req, Requirement};
use karpenter_api::quantity::{format_milli, ResourceList};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

impl Engine {
    fn rl(&self, v: &[i64]) -> ResourceList {
        let mut out = ResourceList::new();
        for (d, &x) in v.iter().enumerate().take(self.w.dims.len()) {
            if x != 0 {
                out.set(self.w.dims[d].clone(), x);
            }
        }
        out
    }

    fn req_text(&self, r: &Req) -> String {
        r.to_public(&self.w.keys, &self.w.vals)
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn topo_text(&self, tgi: u32) -> String {
        let tg = &self.w.tgs[tgi as usize];
        let key = self.w.keys.name(tg.k.key);
        match tg.k.kind {
            TgKind::Spread => format!(
                "topology spread on {key} (maxSkew {}) allows no domain it can reach",
                tg.k.max_skew
            ),
            TgKind::Affinity => {
                format!("pod affinity on {key}: no domain it can reach holds a matching pod")
            }
            TgKind::AntiAffinity => format!(
                "pod anti-affinity on {key}: every domain it can reach holds a conflicting pod"
            ),
        }
    }

    /// Why group `g` cannot start a new NodeClaim in pool `pi`.
    fn why_not_pool(&self, g: u32, pi: usize) -> String {
        let w = &self.w;
        let pool = &w.pools[pi];
        let grp = &self.groups[g as usize];
        let claim = match self.fresh_claim(g, pi) {
            Ok(c) => c,
            Err(f) => {
                return match f.reason {
                    Reason::PoolError => pool.error.clone().unwrap_or_default(),
                    Reason::Taint(t) => {
                        format!("taint {} not tolerated", taint_string(&pool.taints[t].orig))
                    }
                    Reason::Limits => "limits reached (nodes)".to_string(),
                    Reason::Req(Conflict::Undefined(k)) => {
                        let r = grp
                            .reqs
                            .get(k)
                            .map(|r| self.req_text(r))
                            .unwrap_or_default();
                        format!(
                            "requirement {r} not met: the nodepool does not define label {}",
                            w.keys.name(k)
                        )
                    }
                    Reason::Req(Conflict::Disjoint(k)) => {
                        let r = grp
                            .reqs
                            .get(k)
                            .map(|r| self.req_text(r))
                            .unwrap_or_default();
                        let pr = pool
                            .reqs
                            .get(k)
                            .map(|r| self.req_text(r))
                            .unwrap_or_default();
                        format!("requirement {r} conflicts with nodepool requirement {pr}")
                    }
                    _ => "cannot start a node".to_string(),
                };
            }
        };
        // Which requirement leaves no instance type.
        if bits(&claim.types).next().is_none() {
            if bits(&pool.all_types).next().is_none() {
                return "no instance type is compatible with the nodepool's requirements or has an available offering".to_string();
            }
            for r in &grp.reqs.0 {
                let mut one = pool.reqs.clone();
                one.add(r.clone(), &w.vals);
                if bits(&w.types_ok(pool, &one, &pool.all_types))
                    .next()
                    .is_none()
                {
                    return format!(
                        "requirement {} not met by any instance type",
                        self.req_text(r)
                    );
                }
            }
            if pool.remaining.is_some() {
                let rem = pool
                    .remaining
                    .as_ref()
                    .map(|r| self.rl(&r[..self.w.dims.len()]))
                    .unwrap_or_default();
                return format!("limits leave room for no instance type (remaining {rem})");
            }
            return "requirements are not met together by any instance type".to_string();
        }
        let nd = w.dims.len();
        let need: Vec<i64> = (0..nd).map(|d| grp.req[d] + pool.daemon[d]).collect();
        if !bits(&claim.types).any(|ti| (0..nd).all(|d| pool.alloc[ti * nd + d] >= need[d])) {
            for d in 0..nd {
                let max = bits(&claim.types)
                    .map(|ti| pool.alloc[ti * nd + d])
                    .max()
                    .unwrap_or(0);
                if need[d] > max {
                    let name = &w.dims[d];
                    if max == 0 {
                        return format!("no instance type has {name}");
                    }
                    return format!(
                        "no instance type has {} {name} allocatable (pod {} + daemons {}; largest {})",
                        format_milli(name, need[d]),
                        format_milli(name, grp.req[d]),
                        format_milli(name, pool.daemon[d]),
                        format_milli(name, max)
                    );
                }
            }
            return format!(
                "no single instance type fits {} (including daemon overhead)",
                self.rl(&need)
            );
        }
        let topo = self.topo(g);
        let slot = (w.ex.len() + self.claims.len()) as u32;
        match self.eval_claim_public(&claim, slot, g, &topo) {
            Ok(()) => "pod fits a new node only after other pending pods are placed".to_string(),
            Err(Reason::Topology(tg)) => self.topo_text(tg),
            Err(Reason::NoDomain(k)) => format!(
                "topology key {} is not a label the nodepool's nodes carry",
                w.keys.name(k)
            ),
            Err(Reason::MinValues(k)) => format!(
                "minValues for {} cannot be met by the compatible instance types",
                w.keys.name(k)
            ),
            Err(Reason::Ports) => "host port conflict".to_string(),
            Err(_) => "no compatible instance type has room".to_string(),
        }
    }

    /// Explains why pod `p` found no place.
    pub(crate) fn explain(&self, p: u32) -> String {
        let pc = &self.w.pods[p as usize];
        let spec = &self.w.specs[pc.spec as usize];
        if let Some(e) = &spec.volume_error {
            return e.clone();
        }
        if self.w.pools.is_empty() {
            return if self.w.ex.is_empty() {
                "no nodepool and no existing node".to_string()
            } else {
                "no existing node fits and there is no nodepool".to_string()
            };
        }
        let g = pc.group;
        let parts: Vec<String> = (0..self.w.pools.len())
            .map(|pi| {
                format!(
                    "nodepool {}: {}",
                    self.w.pools[pi].name,
                    self.why_not_pool(g, pi)
                )
            })
            .collect();
        parts.join("; ")
    }

    /// Builds the plan.
    pub(crate) fn plan(&self, input: &SchedulerInput) -> Plan {
        let w = &self.w;
        let mut plan = Plan::default();
        type OptionsKey = (usize, Vec<u64>, Option<Req>, Option<Req>);
        let mut cache: HashMap<OptionsKey, (Arc<[InstanceTypeOption]>, Option<Launch>)> =
            HashMap::new();
        for c in &self.claims {
            let pool = &w.pools[c.pool];
            let np = &input.node_pools[pool.input_idx];
            let zr = c.reqs.get(w.k_zone);
            let cr = c.reqs.get(w.k_ct);
            // Claims with the same types and zone / capacity-type requirements share one list.
            let key = (c.pool, c.types.clone(), zr.cloned(), cr.cloned());
            let (options, launch) = match cache.get(&key) {
                Some(v) => v.clone(),
                None => {
                    let mut opts: Vec<(f64, u32, usize, usize)> = bits(&c.types)
                        .filter_map(|ti| {
                            let best = pool.offers[ti].iter().find(|o| {
                                zr.is_none_or(|r| r.has(o.0, &w.vals))
                                    && cr.is_none_or(|r| r.has(o.1, &w.vals))
                            })?;
                            Some((best.2, pool.name_rank[ti], pool.type_idx[ti], best.3))
                        })
                        .collect();
                    opts.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                    opts.truncate(self_max(input));
                    let launch = opts.first().map(|&(price, _, idx, oi)| {
                        let o = &np.instance_types[idx].offerings[oi];
                        Launch {
                            instance_type_index: idx,
                            instance_type: np.instance_types[idx].name.clone(),
                            zone: o.zone.clone(),
                            capacity_type: o.capacity_type,
                            price,
                        }
                    });
                    let list: Arc<[InstanceTypeOption]> = opts
                        .iter()
                        .map(|&(price, _, idx, _)| InstanceTypeOption {
                            index: idx,
                            name: np.instance_types[idx].name.clone(),
                            price,
                        })
                        .collect();
                    cache.insert(key, (list.clone(), launch.clone()));
                    (list, launch)
                }
            };
            let mut labels: BTreeMap<String, String> = np.labels.clone();
            labels.insert(NODEPOOL.to_string(), np.name.clone());
            for r in &c.reqs.0 {
                if !r.complement && r.values.len() == 1 && r.key != w.k_host {
                    labels.insert(
                        w.keys.name(r.key).to_string(),
                        w.vals.name(r.values[0]).to_string(),
                    );
                }
            }
            let requirements: Vec<Requirement> = c
                .reqs
                .0
                .iter()
                .flat_map(|r| r.to_public(&w.keys, &w.vals))
                .collect();
            if let Some(l) = &launch {
                plan.cost_per_hour += l.price;
            }
            plan.new_node_claims.push(NewNodeClaim {
                node_pool: np.name.clone(),
                node_pool_index: pool.input_idx,
                requirements,
                instance_types: options,
                requests: self.rl(&c.used),
                daemon_requests: self.rl(&pool.daemon),
                pods: c
                    .pods
                    .iter()
                    .map(|p| w.pods[*p as usize].key.clone())
                    .collect(),
                labels,
                taints: np.taints.clone(),
                startup_taints: np.startup_taints.clone(),
                launch,
            });
        }
        for (i, n) in w.ex.iter().enumerate() {
            if !n.pods.is_empty() {
                plan.existing_placements.push(ExistingPlacement {
                    node: w.ex_names[i].clone(),
                    pods: n
                        .pods
                        .iter()
                        .map(|p| w.pods[*p as usize].key.clone())
                        .collect(),
                });
            }
        }
        for &p in &self.failed {
            debug_assert!(self.placed[p as usize].is_none());
            plan.unschedulable.push(Unschedulable {
                pod: w.pods[p as usize].key.clone(),
                reason: self.explain(p),
            });
        }
        plan
    }
}

fn self_max(input: &SchedulerInput) -> usize {
    input.options.max_instance_types.max(1)
}
