//! After placement: re-pack unconstrained pods on new NodeClaims with the packing optimiser when
//! that lowers the total price, and compute the lower bound on the cost of new nodes.

// Resource vectors are parallel arrays indexed by dimension; index loops read best here.
#![allow(clippy::needless_range_loop)]

use crate::compile::bits;
use crate::engine::{Claim, Engine, Slot};
use crate::packing::{self, PodGroup, TypeOption};
use crate::requirements::Reqs;
use std::collections::HashMap;

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
        for ti in bits(&pool.all_types) {
            if !w.type_ok(pool, ti, reqs) {
                continue;
            }
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
    pub(crate) fn optimize(&mut self) {
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
                let packed = packing::pack(&pgroups, &topts);
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
            return;
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
    }

    /// A proven lower bound on the hourly price of new nodes for the pods placed on new
    /// NodeClaims: every such pod may use any type of any pool it is compatible with.
    pub(crate) fn lower_bound(&self) -> f64 {
        let w = &self.w;
        let nd = w.dims.len();
        // Global type options: (pool, type) pairs.
        let mut base: Vec<usize> = Vec::with_capacity(w.pools.len());
        let mut types: Vec<TypeOption> = Vec::new();
        for pool in &w.pools {
            base.push(types.len());
            for ti in 0..pool.type_idx.len() {
                let price = pool.offers[ti].first().map_or(f64::INFINITY, |o| o.2);
                let alloc: Vec<i64> = (0..nd)
                    .map(|d| (pool.alloc[ti * nd + d] - pool.daemon[d]).max(0))
                    .collect();
                types.push(TypeOption {
                    allocatable: alloc,
                    price,
                });
            }
        }
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
        let mut merged: HashMap<(Vec<i64>, Vec<usize>), u32> = HashMap::new();
        let mut order: Vec<(Vec<i64>, Vec<usize>)> = Vec::new();
        for g in gorder {
            let mut compat = Vec::new();
            for pi in 0..w.pools.len() {
                if let Ok(fresh) = self.fresh_claim(g, pi) {
                    compat.extend(bits(&fresh.types).map(|ti| base[pi] + ti));
                }
            }
            let key = (self.groups[g as usize].req.clone(), compat);
            let count = per_group[&g];
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
        packing::lower_bound(&groups, &types)
    }
}
