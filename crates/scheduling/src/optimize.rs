//! After placement: re-pack unconstrained pods on new NodeClaims with the packing optimiser when
//! that lowers the total price, and compute the lower bound on the cost of new nodes.

// Resource vectors are parallel arrays indexed by dimension; index loops read best here.
#![allow(clippy::needless_range_loop)]

use crate::compile::bits;
use crate::engine::{Claim, Engine, Slot};
use crate::packing::{self, PodGroup, TypeOption};
use crate::requirements::Reqs;
use std::collections::HashMap;

/// An order-independent description of a packing instance: per group (merged when demand and
/// compatible types agree) its demand, its pod count and the sorted `(allocatable, price bits)`
/// of its compatible types; groups sorted. Two instances with the same key are the same problem,
/// so a bound proven for one holds for the other.
pub(crate) type InstanceKey = Vec<(Vec<i64>, u32, TypeSet)>;

/// Compatible types as sorted `(allocatable, price bits)`.
pub(crate) type TypeSet = Vec<(Vec<i64>, u64)>;

/// Bounds proven while re-packing, by instance.
pub(crate) type SolvedBounds = Vec<(InstanceKey, f64)>;

fn instance_key(groups: &[PodGroup], types: &[TypeOption]) -> InstanceKey {
    let mut merged: InstanceKey = Vec::new();
    let mut index: HashMap<(Vec<i64>, TypeSet), usize> = HashMap::new();
    for g in groups {
        let mut ts: TypeSet = g
            .compatible
            .iter()
            .filter_map(|&t| types.get(t))
            .map(|t| (t.allocatable.clone(), t.price.to_bits()))
            .collect();
        ts.sort();
        ts.dedup();
        match index.get(&(g.demand.clone(), ts.clone())) {
            Some(&i) => merged[i].1 += g.count,
            None => {
                index.insert((g.demand.clone(), ts.clone()), merged.len());
                merged.push((g.demand.clone(), g.count, ts));
            }
        }
    }
    merged.sort();
    merged
}

impl Engine {
    /// The cheapest offering a claim's requirements allow among its types:
    /// `(price, type position in pool, offering index)`, ties by type name.
    pub(crate) fn claim_launch(&self, c: &Claim) -> Option<(f64, usize, usize)> {
        let w = &self.w;
        let pool = &w.pools[c.pool];
        let zr = c.reqs.get(w.k_zone);
        let cr = c.reqs.get(w.k_ct);
        let mut best: Option<(f64, u32, usize, usize)> = None;
        for ti in bits(&c.types) {
            if let Some(o) = pool.offers[ti].iter().find(|o| {
                zr.is_none_or(|r| r.has(o.0, &w.vals)) && cr.is_none_or(|r| r.has(o.1, &w.vals))
            }) {
                let cand = (o.2, pool.name_rank[ti], ti, o.3);
                if best.is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                    best = Some(cand);
                }
            }
        }
        best.map(|b| (b.0, b.2, b.3))
    }

    /// A pod may be moved between new NodeClaims of its pool when its constraints are only
    /// requirements, taints and resources (no topology, host ports or anti-affinity selecting it).
    fn movable(&self, p: u32) -> bool {
        self.groups[self.w.pods[p as usize].group as usize].batchable
    }

    /// Types of pool `pi` compatible with `reqs`, as packing options: allocatable minus the
    /// pool's daemon overhead, priced at the cheapest offering `reqs` allow.
    fn type_options(&self, pi: usize, reqs: &Reqs) -> (Vec<usize>, Vec<TypeOption>) {
        let w = &self.w;
        let pool = &w.pools[pi];
        let nd = w.dims.len();
        let zr = reqs.get(w.k_zone);
        let cr = reqs.get(w.k_ct);
        let mut idx = Vec::new();
        let mut opts = Vec::new();
        for ti in bits(&w.types_ok(pool, reqs, &pool.all_types)) {
            let Some(o) = pool.offers[ti].iter().find(|o| {
                zr.is_none_or(|r| r.has(o.0, &w.vals)) && cr.is_none_or(|r| r.has(o.1, &w.vals))
            }) else {
                continue;
            };
            let alloc: Vec<i64> = (0..nd)
                .map(|d| pool.alloc[ti * nd + d] - pool.daemon[d])
                .collect();
            if alloc.iter().any(|a| *a < 0) {
                continue;
            }
            idx.push(ti);
            opts.push(TypeOption {
                allocatable: alloc,
                price: o.2,
            });
        }
        (idx, opts)
    }

    /// Re-packs, per NodePool and requirement class, the NodeClaims that hold only movable pods,
    /// keeping the result when it is cheaper. Pools with limits are left as they are.
    ///
    /// Returns the bounds proven on the way, so that [`Engine::lower_bound`] can reuse one when
    /// its instance is the same (one pool, one class: the usual case).
    pub(crate) fn optimize(&mut self) -> SolvedBounds {
        let mut solved: SolvedBounds = Vec::new();
        let nd = self.w.dims.len();
        let mut removed = vec![false; self.claims.len()];
        let mut added: Vec<Claim> = Vec::new();
        for pi in 0..self.w.pools.len() {
            if self.w.pools[pi].remaining.is_some() {
                continue;
            }
            // Classes: identical effective requirements of every pod on the claim.
            let mut classes: Vec<(Reqs, Vec<usize>)> = Vec::new();
            for (ci, c) in self.claims.iter().enumerate() {
                if c.pool != pi || c.pods.is_empty() || !c.pods.iter().all(|p| self.movable(*p)) {
                    continue;
                }
                let reqs_of = |p: u32| &self.groups[self.w.pods[p as usize].group as usize].reqs;
                let first = reqs_of(c.pods[0]);
                if !c.pods.iter().all(|p| reqs_of(*p) == first) {
                    continue;
                }
                match classes.iter_mut().find(|(r, _)| r == first) {
                    Some((_, v)) => v.push(ci),
                    None => classes.push((first.clone(), vec![ci])),
                }
            }
            for (class_reqs, cis) in classes {
                let mut full = self.w.pools[pi].reqs.clone();
                full.add_all(&class_reqs, &self.w.vals);
                let (tidx, topts) = self.type_options(pi, &full);
                if topts.is_empty() {
                    continue;
                }
                // Pods by group, in placement order.
                let mut gorder: Vec<u32> = Vec::new();
                let mut gpods: HashMap<u32, Vec<u32>> = HashMap::new();
                for &ci in &cis {
                    for &p in &self.claims[ci].pods {
                        let g = self.w.pods[p as usize].group;
                        gpods
                            .entry(g)
                            .or_insert_with(|| {
                                gorder.push(g);
                                Vec::new()
                            })
                            .push(p);
                    }
                }
                let all: Vec<usize> = (0..topts.len()).collect();
                let pgroups: Vec<PodGroup> = gorder
                    .iter()
                    .map(|g| PodGroup {
                        demand: self.groups[*g as usize].req.clone(),
                        count: gpods[g].len() as u32,
                        compatible: all.clone(),
                    })
                    .collect();
                let old_cost: f64 = cis
                    .iter()
                    .map(|ci| self.claim_launch(&self.claims[*ci]).map_or(0.0, |l| l.0))
                    .sum();
                let sol = packing::solve(&pgroups, &topts);
                solved.push((instance_key(&pgroups, &topts), sol.lower_bound));
                let packed = sol.packing;
                if !packed.unplaceable.is_empty() || packed.cost >= old_cost - 1e-9 {
                    continue;
                }
                // Build the new claims; give up on the class if any violates minValues.
                let mut next: Vec<usize> = vec![0; gorder.len()];
                let mut fresh: Vec<Claim> = Vec::new();
                let mut ok = true;
                // Large packings repeat the same nodes: compute each distinct type set once.
                let mut types_of: HashMap<Vec<i64>, Vec<u64>> = HashMap::new();
                for bin in &packed.bins {
                    let pool = &self.w.pools[pi];
                    let mut used = pool.daemon.clone();
                    let mut pods = Vec::new();
                    for &(gi, n) in &bin.counts {
                        let g = gorder[gi];
                        for d in 0..nd {
                            used[d] += self.groups[g as usize].req[d] * n as i64;
                        }
                        let list = &gpods[&g];
                        pods.extend_from_slice(&list[next[gi]..next[gi] + n as usize]);
                        next[gi] += n as usize;
                    }
                    let types = types_of
                        .entry(used.clone())
                        .or_insert_with(|| {
                            let mut types = vec![0u64; pool.all_types.len()];
                            for &ti in &tidx {
                                if (0..nd).all(|d| pool.alloc[ti * nd + d] >= used[d]) {
                                    types[ti / 64] |= 1 << (ti % 64);
                                }
                            }
                            types
                        })
                        .clone();
                    for &(key, min) in &pool.min_values {
                        if self.opts_strict_min_values()
                            && self.distinct_values(pi, &types, key, &full) < min as usize
                        {
                            ok = false;
                        }
                    }
                    let mut max_alloc = vec![0i64; nd];
                    for ti in bits(&types) {
                        for d in 0..nd {
                            max_alloc[d] = max_alloc[d].max(pool.alloc[ti * nd + d]);
                        }
                    }
                    fresh.push(Claim {
                        pool: pi,
                        reqs: full.clone(),
                        types,
                        max_alloc,
                        used,
                        ports: Vec::new(),
                        pods,
                        reserved: Vec::new(),
                    });
                }
                if !ok {
                    continue;
                }
                tracing::debug!(
                    pool = %self.w.pools[pi].name,
                    before = old_cost,
                    after = packed.cost,
                    claims_before = cis.len(),
                    claims_after = fresh.len(),
                    "re-packed unconstrained pods"
                );
                for ci in cis {
                    removed[ci] = true;
                }
                added.extend(fresh);
            }
        }
        if added.is_empty() {
            return solved;
        }
        let old = std::mem::take(&mut self.claims);
        for (ci, c) in old.into_iter().enumerate() {
            if !removed[ci] {
                self.claims.push(c);
            }
        }
        self.claims.extend(added);
        for (ci, c) in self.claims.iter().enumerate() {
            for &p in &c.pods {
                self.placed[p as usize] = Some(Slot::Claim(ci as u32));
            }
        }
        solved
    }

    /// A proven lower bound on the hourly price of new nodes for the pods placed on new
    /// NodeClaims: every such pod may use any type of any pool it is compatible with, at the
    /// cheapest offering (zone, capacity type) its requirements and the pool's allow.
    ///
    /// A (pool, type) is offered to the packing once per distinct cheapest price among the groups
    /// that may use it, each option open to every group whose cheapest offering costs no more.
    /// That is a relaxation: a real node of that type at offering `o` holds only groups that
    /// allow `o`, so each of them has a cheapest price at most `o`'s, and the option at the price
    /// level of `o` (or a cheaper one holding them all) is open to all of them.
    ///
    /// `solved` are bounds proven by [`Engine::optimize`]; one whose instance is the same is
    /// reused instead of solving again.
    pub(crate) fn lower_bound(&self, solved: &SolvedBounds) -> f64 {
        let w = &self.w;
        let nd = w.dims.len();
        // Pods on new claims per scheduling group, groups in first-placement order.
        let mut per_group: HashMap<u32, u32> = HashMap::new();
        let mut gorder: Vec<u32> = Vec::new();
        for c in &self.claims {
            for &p in &c.pods {
                let g = self.w.pods[p as usize].group;
                let n = per_group.entry(g).or_insert_with(|| {
                    gorder.push(g);
                    0
                });
                *n += 1;
            }
        }
        // Per (pool, type): (cheapest allowed price, group position in `gorder`).
        let mut users: HashMap<(usize, usize), Vec<(f64, usize)>> = HashMap::new();
        let mut keys: Vec<(usize, usize)> = Vec::new();
        for (gi, &g) in gorder.iter().enumerate() {
            for pi in 0..w.pools.len() {
                let Ok(fresh) = self.fresh_claim(g, pi) else {
                    continue;
                };
                let pool = &w.pools[pi];
                let zr = fresh.reqs.get(w.k_zone);
                let cr = fresh.reqs.get(w.k_ct);
                for ti in bits(&fresh.types) {
                    // Offerings are sorted by price: the first allowed one is the cheapest.
                    let Some(o) = pool.offers[ti].iter().find(|o| {
                        zr.is_none_or(|r| r.has(o.0, &w.vals))
                            && cr.is_none_or(|r| r.has(o.1, &w.vals))
                    }) else {
                        continue;
                    };
                    users
                        .entry((pi, ti))
                        .or_insert_with(|| {
                            keys.push((pi, ti));
                            Vec::new()
                        })
                        .push((o.2, gi));
                }
            }
        }
        let mut types: Vec<TypeOption> = Vec::new();
        let mut compat: Vec<Vec<usize>> = vec![Vec::new(); gorder.len()];
        for key in keys {
            let (pi, ti) = key;
            let pool = &w.pools[pi];
            let mut list = users.remove(&key).unwrap_or_default();
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let alloc: Vec<i64> = (0..nd)
                .map(|d| (pool.alloc[ti * nd + d] - pool.daemon[d]).max(0))
                .collect();
            let mut open: Vec<usize> = Vec::new();
            let mut i = 0;
            while i < list.len() {
                let price = list[i].0;
                while i < list.len() && list[i].0 <= price {
                    open.push(list[i].1);
                    i += 1;
                }
                let t = types.len();
                types.push(TypeOption {
                    allocatable: alloc.clone(),
                    price,
                });
                for &gi in &open {
                    compat[gi].push(t);
                }
            }
        }
        let mut merged: HashMap<(Vec<i64>, Vec<usize>), u32> = HashMap::new();
        let mut order: Vec<(Vec<i64>, Vec<usize>)> = Vec::new();
        for (gi, g) in gorder.iter().enumerate() {
            let key = (
                self.groups[*g as usize].req.clone(),
                std::mem::take(&mut compat[gi]),
            );
            let count = per_group[g];
            match merged.get_mut(&key) {
                Some(n) => *n += count,
                None => {
                    merged.insert(key.clone(), count);
                    order.push(key);
                }
            }
        }
        let groups: Vec<PodGroup> = order
            .into_iter()
            .map(|k| PodGroup {
                count: merged[&k],
                demand: k.0,
                compatible: k.1,
            })
            .collect();
        if groups.is_empty() {
            return 0.0;
        }
        if !solved.is_empty() {
            let key = instance_key(&groups, &types);
            if let Some((_, b)) = solved.iter().find(|(k, _)| *k == key) {
                return *b;
            }
        }
        packing::lower_bound(&groups, &types)
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{instance_type, PodBuilder};
    use crate::{schedule, NodePoolInput, Operator, Requirement, SchedulerInput};
    use karpenter_catalog::model::{CapacityType, Offering};

    /// A 4-cpu type with one GPU, spot at 0.16 and on-demand at 0.526 in one zone.
    fn gpu_type() -> karpenter_catalog::model::InstanceType {
        let mut it = instance_type("g4dn.xlarge", 4, 16, 29, 0.526, &["zone-a"], &[]);
        it.capacity.set("nvidia.com/gpu", 1000);
        it.offerings.push(Offering {
            zone: "zone-a".into(),
            zone_id: None,
            capacity_type: CapacityType::Spot,
            price: 0.16,
            available: true,
        });
        it
    }

    fn gpu_input(pool_reqs: Vec<Requirement>, pod_ct: Option<&str>) -> SchedulerInput {
        let pods = (0..2)
            .map(|i| {
                let b =
                    PodBuilder::new(&format!("gpu-{i}"), "1", "2Gi").request("nvidia.com/gpu", "1");
                match pod_ct {
                    Some(ct) => b.node_selector("karpenter.sh/capacity-type", ct),
                    None => b,
                }
                .build()
            })
            .collect();
        SchedulerInput {
            node_pools: vec![NodePoolInput {
                name: "gpu".into(),
                requirements: pool_reqs,
                instance_types: vec![gpu_type()],
                ..Default::default()
            }],
            pending_pods: pods,
            ..Default::default()
        }
    }

    #[test]
    fn bound_uses_the_offerings_the_pool_allows() {
        // Two one-GPU pods need two one-GPU nodes; the pool allows on-demand only, so no
        // placement costs less than 2 × 0.526, whatever the spot price.
        let on_demand = Requirement::new("karpenter.sh/capacity-type", Operator::In, ["on-demand"]);
        let plan = schedule(&gpu_input(vec![on_demand], None)).expect("valid input");
        assert!(plan.unschedulable.is_empty());
        assert_eq!(plan.new_node_claims.len(), 2);
        assert!(
            (plan.cost_per_hour - 1.052).abs() < 1e-9,
            "{}",
            plan.cost_per_hour
        );
        assert!(
            plan.lower_bound_per_hour >= 1.052 - 1e-6,
            "bound {} below 2 on-demand GPU nodes",
            plan.lower_bound_per_hour
        );
    }

    #[test]
    fn bound_uses_the_offerings_the_pods_allow() {
        // The pool allows both capacity types, the pods select on-demand.
        let plan = schedule(&gpu_input(Vec::new(), Some("on-demand"))).expect("valid input");
        assert!(plan.unschedulable.is_empty());
        assert!(
            plan.lower_bound_per_hour >= 1.052 - 1e-6,
            "{}",
            plan.lower_bound_per_hour
        );
        // Without the selector the spot offering is allowed and bounds the cost.
        let plan = schedule(&gpu_input(Vec::new(), None)).expect("valid input");
        assert!(
            (plan.cost_per_hour - 0.32).abs() < 1e-9,
            "{}",
            plan.cost_per_hour
        );
        assert!(
            plan.lower_bound_per_hour >= 0.32 - 1e-6,
            "{}",
            plan.lower_bound_per_hour
        );
    }
}
