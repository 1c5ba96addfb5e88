//! Packing quality: a proven lower bound on the hourly cost of placing a set of pods on a
//! catalog of instance types, and a near-optimal packing of those pods onto new nodes.
//!
//! The scheduler groups its pending pods into [`PodGroup`]s (pods with the same requests and
//! the same set of instance types they may run on) and describes each candidate instance type
//! (or type × capacity type, when spot and on-demand are both allowed) as a [`TypeOption`].
//! [`pack`] returns the nodes to launch; [`lower_bound`] returns a number no placement can beat;
//! [`solve`] returns both from one computation.
//!
//! Everything here is pure and deterministic: no I/O, no clock, no randomness. See
//! `docs/packing.md` for the proof of the bound and the algorithm.
//!
//! Conventions:
//! - Resource vectors are in milli-units (as in `karpenter_api::quantity`), one entry per
//!   dimension, e.g. `[cpu, memory, pods]`. Shorter vectors are padded with zeros, negative
//!   entries read as zero. A dimension a type lacks is a capacity of zero.
//! - Daemonset overhead is the caller's to subtract from `allocatable` beforehand.
//! - A type with a non-finite or negative price is never used.
//! - Pods of a group no compatible usable type can hold one of are reported in
//!   [`Packing::unplaceable`] and left out of the bound.

mod knapsack;
mod prep;

use prep::{PType, Prepared};

/// A set of identical pods: same requests, same instance types allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodGroup {
    /// Requests of one pod per dimension, in milli-units (e.g. `[cpu, memory, pods]`).
    pub demand: Vec<i64>,
    /// Number of pods in the group.
    pub count: u32,
    /// Indices into the `types` slice of the instance types these pods may run on.
    pub compatible: Vec<usize>,
}

/// One instance type (or type and capacity type) a node can be launched as.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeOption {
    /// What pods may use on a node of this type, per dimension, in milli-units.
    pub allocatable: Vec<i64>,
    /// Hourly price of the cheapest offering that can be used, USD.
    pub price: f64,
}

/// One node of a packing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bin {
    /// Index into the `types` slice.
    pub type_index: usize,
    /// `(group index, pods of that group on this node)`, by increasing group index, no zeros.
    pub counts: Vec<(usize, u32)>,
}

/// The nodes to launch and the pods that cannot be placed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Packing {
    /// Nodes, in a deterministic order.
    pub bins: Vec<Bin>,
    /// `(group index, pods)` that no compatible type can hold (each pod alone too big).
    pub unplaceable: Vec<(usize, u32)>,
    /// Sum of the prices of the bins' types, USD per hour.
    pub cost: f64,
}

/// A packing together with a proven lower bound on the cost of any placement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Solution {
    /// The packing found.
    pub packing: Packing,
    /// No placement of the placeable pods costs less than this (USD per hour).
    pub lower_bound: f64,
}

impl Solution {
    /// `packing.cost / lower_bound`, 1.0 when both are zero, infinite when only the bound is.
    pub fn ratio(&self) -> f64 {
        if self.lower_bound > 0.0 {
            self.packing.cost / self.lower_bound
        } else if self.packing.cost > 0.0 {
            f64::INFINITY
        } else {
            1.0
        }
    }
}

/// A node in the solver's indexing: a type of `Prepared::all_types` and pods per group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PBin {
    pub ty: usize,
    pub counts: Vec<u32>,
}

/// A proven lower bound on the hourly cost of any placement of the placeable pods of `groups`
/// on nodes of `types` (each node holding pods only of groups compatible with its type, within
/// its allocatable in every dimension). Never panics; 0 for empty input.
pub fn lower_bound(groups: &[PodGroup], types: &[TypeOption]) -> f64 {
    solve(groups, types).lower_bound
}

/// Packs the pods of `groups` onto new nodes of `types`, aiming at the lowest total price.
/// Every placeable pod is placed exactly once and no node exceeds its allocatable. Never panics.
pub fn pack(groups: &[PodGroup], types: &[TypeOption]) -> Packing {
    solve(groups, types).packing
}

/// [`pack`] and [`lower_bound`] from one computation.
pub fn solve(groups: &[PodGroup], types: &[TypeOption]) -> Solution {
    let prep = prep::prepare(groups, types);
    let bound = simple_bound(&prep);
    let mut remaining: Vec<u32> = prep.groups.iter().map(|g| g.count).collect();
    let values = pod_values(&prep);
    let mut bins = greedy(&prep, &mut remaining, &values);
    improve(&prep, &mut bins);
    let packing = to_packing(&prep, bins);
    Solution {
        lower_bound: bound.min(packing.cost),
        packing,
    }
}

/// Fraction of type `t` one pod of demand `w` needs at least: its largest share of any
/// dimension.
fn share(w: &[i64], t: &PType) -> f64 {
    w.iter()
        .zip(&t.alloc)
        .map(|(&w, &c)| if w == 0 { 0.0 } else { w as f64 / c as f64 })
        .fold(0.0, f64::max)
}

/// The per-dimension bound: in any placement, a node of type `t` holding pods `S` satisfies
/// `Σ_{p∈S} w_pd ≤ C_td`, so its price is at least `Σ_{p∈S} c_t w_pd / C_td`, and summing over
/// nodes the cost is at least `Σ_g n_g min_{t∈T_g} c_t w_gd / C_td` for every dimension `d`.
fn simple_bound(prep: &Prepared) -> f64 {
    (0..prep.dims)
        .map(|d| {
            prep.groups
                .iter()
                .map(|g| {
                    let per_pod = g
                        .types
                        .iter()
                        .map(|&t| {
                            let t = &prep.types[t];
                            if g.demand[d] == 0 {
                                0.0
                            } else {
                                t.price * g.demand[d] as f64 / t.alloc[d] as f64
                            }
                        })
                        .fold(f64::INFINITY, f64::min);
                    if per_pod.is_finite() {
                        f64::from(g.count) * per_pod
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
        })
        .fold(0.0, f64::max)
}

/// A dollar value per pod used to rank packings before any dual prices are known: the cheapest
/// price share a pod of the group can have on any compatible type (never zero).
fn pod_values(prep: &Prepared) -> Vec<f64> {
    prep.groups
        .iter()
        .map(|g| {
            let v = g
                .types
                .iter()
                .map(|&t| prep.types[t].price * share(&g.demand, &prep.types[t]))
                .fold(f64::INFINITY, f64::min);
            if v.is_finite() && v > 0.0 {
                v
            } else {
                1e-9
            }
        })
        .collect()
}

/// Node limit of one knapsack search in the greedy.
const GREEDY_NODE_LIMIT: u64 = 20_000;

/// Best packing of one node of type `t` for the pods in `remaining` valued by `values`.
fn fill(prep: &Prepared, t: &PType, remaining: &[u32], values: &[f64]) -> (Vec<u32>, f64) {
    let items: Vec<knapsack::Item> = t
        .groups
        .iter()
        .map(|&g| knapsack::Item {
            value: values[g],
            weight: prep.groups[g].demand.clone(),
            max: remaining[g],
        })
        .collect();
    let sol = knapsack::solve(&items, &t.alloc, GREEDY_NODE_LIMIT);
    let mut counts = vec![0u32; prep.groups.len()];
    for (&g, &k) in t.groups.iter().zip(&sol.counts) {
        counts[g] = k;
    }
    (counts, sol.value)
}

/// Greedy cover: repeatedly launches the node (type and contents) with the most value per
/// dollar, as many times as the remaining pods allow, until every pod in `remaining` is placed.
fn greedy(prep: &Prepared, remaining: &mut [u32], values: &[f64]) -> Vec<PBin> {
    let mut bins = Vec::new();
    while remaining.iter().any(|&r| r > 0) {
        let mut best: Option<(f64, usize, Vec<u32>)> = None;
        for (ti, t) in prep.types.iter().enumerate() {
            if !t.groups.iter().any(|&g| remaining[g] > 0) {
                continue;
            }
            let (counts, value) = fill(prep, t, remaining, values);
            if value <= 0.0 {
                continue;
            }
            let ratio = if t.price > 0.0 {
                value / t.price
            } else {
                f64::INFINITY
            };
            if best.as_ref().is_none_or(|(r, _, _)| ratio > *r) {
                best = Some((ratio, ti, counts));
            }
        }
        let Some((_, ti, counts)) = best else {
            break;
        };
        let repeat = counts
            .iter()
            .zip(remaining.iter())
            .filter(|(&k, _)| k > 0)
            .map(|(&k, &r)| r / k)
            .min()
            .unwrap_or(0)
            .max(1);
        for _ in 0..repeat {
            for (r, &k) in remaining.iter_mut().zip(&counts) {
                *r -= k.min(*r);
            }
            bins.push(PBin {
                ty: prep.types[ti].all,
                counts: counts.clone(),
            });
        }
    }
    bins
}

/// Whether `counts` fit on type `t` and every group in it may use `t`.
fn holds(prep: &Prepared, t: &PType, counts: &[u32]) -> bool {
    for (g, &k) in counts.iter().enumerate() {
        if k > 0 && t.groups.binary_search(&g).is_err() {
            return false;
        }
    }
    (0..prep.dims).all(|d| {
        let used: i64 = counts
            .iter()
            .zip(&prep.groups)
            .map(|(&k, g)| i64::from(k) * g.demand[d])
            .sum();
        used <= t.alloc[d]
    })
}

/// Local improvement: moves every node to the cheapest type that holds its pods.
fn improve(prep: &Prepared, bins: &mut [PBin]) {
    for b in bins.iter_mut() {
        let mut best = b.ty;
        for t in &prep.all_types {
            if t.price < prep.all_types[best].price && holds(prep, t, &b.counts) {
                best = t.all;
            }
        }
        b.ty = best;
    }
}

/// Converts to the caller's indexing, in a canonical order.
fn to_packing(prep: &Prepared, bins: Vec<PBin>) -> Packing {
    let cost = bins
        .iter()
        .filter(|b| b.counts.iter().any(|&k| k > 0))
        .map(|b| prep.all_types[b.ty].price)
        .sum();
    let mut out: Vec<Bin> = bins
        .into_iter()
        .filter(|b| b.counts.iter().any(|&k| k > 0))
        .map(|b| Bin {
            type_index: prep.all_types[b.ty].orig,
            counts: b
                .counts
                .iter()
                .enumerate()
                .filter(|(_, &k)| k > 0)
                .map(|(g, &k)| (prep.groups[g].orig, k))
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        a.type_index
            .cmp(&b.type_index)
            .then_with(|| a.counts.cmp(&b.counts))
    });
    Packing {
        bins: out,
        unplaceable: prep.unplaceable.clone(),
        cost,
    }
}

#[cfg(test)]
mod tests;
