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

mod colgen;
mod exact;
mod knapsack;
mod prep;

use colgen::Column;
use prep::{PType, Prepared};
use std::collections::HashMap;

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
    /// How the computation went.
    pub stats: Stats,
}

/// Figures about one [`solve`], for logs and benchmarks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Types left after pruning dominated ones.
    pub types_considered: usize,
    /// Column-generation rounds run.
    pub rounds: usize,
    /// Packing patterns generated.
    pub columns: usize,
    /// Value of the configuration LP over the generated patterns (an upper bound on the LP
    /// optimum; equal to it when `converged`).
    pub lp_value: Option<f64>,
    /// Whether column generation proved the configuration LP optimal (within 0.001 %).
    pub converged: bool,
    /// Cost of the greedy packing before rounding the LP (USD/h).
    pub greedy_cost: f64,
    /// Cost of the rounded LP packing after local improvement (USD/h), when the LP was solved.
    pub rounded_cost: Option<f64>,
    /// Whether the instance was small enough to be solved exactly (then the packing is optimal
    /// and the bound equals its cost).
    pub exact: bool,
    /// Pricing work units spent (see [`solve_with_budget`]).
    pub work: u64,
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

/// Pricing work units allowed to an instance of `pods` pods by [`solve`]: a fixed part plus a
/// part per pod, so that the optimiser's effort grows with the input like the scheduler's does.
/// Roughly ten million units run per second on one core.
pub fn default_work_budget(pods: u64) -> u64 {
    WORK_BASE.saturating_add(WORK_PER_POD.saturating_mul(pods))
}

/// Fixed part of [`default_work_budget`].
const WORK_BASE: u64 = 2_500_000;
/// Per-pod part of [`default_work_budget`].
const WORK_PER_POD: u64 = 100;

/// [`pack`] and [`lower_bound`] from one computation, with the [`default_work_budget`].
pub fn solve(groups: &[PodGroup], types: &[TypeOption]) -> Solution {
    let pods: u64 = groups.iter().map(|g| u64::from(g.count)).sum();
    solve_with_budget(groups, types, default_work_budget(pods))
}

/// [`solve`] with an explicit budget of pricing work (knapsack effort, counted deterministically:
/// the same input and budget always give the same answer). Once the budget is spent, column
/// generation stops and the bound is the Farley bound of the last dual prices (still proven);
/// the LP-based roundings that re-solve the master many times are skipped.
pub fn solve_with_budget(groups: &[PodGroup], types: &[TypeOption], work: u64) -> Solution {
    let prep = prep::prepare(groups, types);
    if prep.groups.is_empty() {
        return Solution {
            packing: to_packing(&prep, Vec::new()),
            lower_bound: 0.0,
            stats: Stats::default(),
        };
    }
    if let Some((opt, bins)) = exact::solve(&prep) {
        let packing = to_packing(&prep, bins);
        return Solution {
            lower_bound: opt.min(packing.cost),
            packing,
            stats: Stats {
                types_considered: prep.types.len(),
                exact: true,
                ..Stats::default()
            },
        };
    }
    let proxy = pod_values(&prep);

    // A first packing: the greedy on per-pod dollar values. Its patterns seed the master.
    let mut remaining: Vec<u32> = prep.groups.iter().map(|g| g.count).collect();
    let first = greedy(&prep, &mut remaining, &proxy);
    let simple = simple_bound(&prep);
    let mut best = to_bins(&prep, &first);
    improve(&prep, &mut best);
    // The per-dimension bound already proves the greedy packing near-optimal: column
    // generation could not raise the bound or lower the cost by more than the gap.
    if simple >= cost(&prep, &best) * (1.0 - colgen::FLOOR_GAP) {
        let packing = to_packing(&prep, best);
        return Solution {
            lower_bound: simple.min(packing.cost).max(0.0),
            stats: Stats {
                types_considered: prep.types.len(),
                greedy_cost: packing.cost,
                ..Stats::default()
            },
            packing,
        };
    }
    let mut initial = first.clone();
    initial.extend(single_group_columns(&prep));

    let meter = colgen::Meter::new(work);
    let cg = colgen::run(&prep, &meter, initial, &proxy, simple);
    let bound = simple.max(cg.bound);

    let mut stats = Stats {
        types_considered: prep.types.len(),
        rounds: cg.rounds,
        columns: cg.columns.len(),
        lp_value: cg.lp_value,
        converged: cg.converged,
        greedy_cost: cost(&prep, &best),
        rounded_cost: None,
        exact: false,
        work: meter.spent(),
    };
    if let Some(x) = colgen::solve_primal(&prep, &cg.columns) {
        // Small positive values for groups whose dual is zero keep them worth placing.
        let values: Vec<f64> = cg
            .duals
            .iter()
            .zip(&proxy)
            .map(|(&y, &p)| y + 1e-6 * p)
            .collect();
        let mut rounded = round(&prep, &cg.columns, &x, &values);
        improve(&prep, &mut rounded);
        // When the rounding lost more than a little against the LP, also try re-solving the
        // LP on what is left after each rounding step.
        let lp = cg.lp_value.unwrap_or(0.0);
        if cost(&prep, &rounded) > lp * (1.0 + SEQUENTIAL_TRIGGER) && !meter.exhausted() {
            let mut seq = round_sequential(&prep, &cg.columns, &values);
            improve(&prep, &mut seq);
            if cost(&prep, &seq) < cost(&prep, &rounded) - 1e-12 {
                rounded = seq;
            }
        }
        if cost(&prep, &rounded) > lp * (1.0 + SEQUENTIAL_TRIGGER) && !meter.exhausted() {
            if let Some(n) = colgen::solve_integer_master(&prep, &cg.columns, INTEGER_MASTER_NODES)
            {
                let copies: Vec<f64> = n.iter().map(|&k| f64::from(k)).collect();
                let mut int = round(&prep, &cg.columns, &copies, &values);
                improve(&prep, &mut int);
                if cost(&prep, &int) < cost(&prep, &rounded) - 1e-12 {
                    rounded = int;
                }
            }
        }
        stats.rounded_cost = Some(cost(&prep, &rounded));
        if cost(&prep, &rounded) < cost(&prep, &best) - 1e-12 {
            best = rounded;
        }
    }
    let packing = to_packing(&prep, best);
    Solution {
        lower_bound: bound.min(packing.cost).max(0.0),
        packing,
        stats,
    }
}

/// For each group, the pattern holding as many of its pods as fit on the type with the lowest
/// price per pod, so that the master is feasible from the start.
fn single_group_columns(prep: &Prepared) -> Vec<Column> {
    let mut out = Vec::new();
    for (g, grp) in prep.groups.iter().enumerate() {
        let mut best: Option<(f64, usize, u32)> = None;
        for &t in &grp.types {
            let ty = &prep.types[t];
            let fit = (0..prep.dims)
                .filter(|&d| grp.demand[d] > 0)
                .map(|d| ty.alloc[d] / grp.demand[d])
                .min()
                .unwrap_or(i64::from(grp.count))
                .clamp(0, i64::from(grp.count));
            let fit = u32::try_from(fit).unwrap_or(0);
            if fit == 0 {
                continue;
            }
            let per_pod = ty.price / f64::from(fit);
            if best.is_none_or(|(b, _, _)| per_pod < b) {
                best = Some((per_pod, t, fit));
            }
        }
        if let Some((_, t, fit)) = best {
            let mut counts = vec![0u32; prep.groups.len()];
            counts[g] = fit;
            out.push(Column { ty: t, counts });
        }
    }
    out
}

/// Rounds the master LP solution `x` over `columns`: whole copies of each pattern first (largest
/// `x` first, counts trimmed to the pods still unplaced), then the greedy for the rest.
fn round(prep: &Prepared, columns: &[Column], x: &[f64], values: &[f64]) -> Vec<PBin> {
    let mut remaining: Vec<u32> = prep.groups.iter().map(|g| g.count).collect();
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
    let mut bins = Vec::new();
    for p in order {
        let copies = (x[p] + 1e-7).floor();
        if copies < 1.0 {
            continue;
        }
        // Bounded by the pods of the instance, so the conversion cannot overflow.
        let copies = copies.min(f64::from(u32::MAX)) as u32;
        for _ in 0..copies {
            let counts: Vec<u32> = columns[p]
                .counts
                .iter()
                .zip(&remaining)
                .map(|(&a, &r)| a.min(r))
                .collect();
            if counts.iter().all(|&k| k == 0) {
                break;
            }
            for (r, &k) in remaining.iter_mut().zip(&counts) {
                *r -= k;
            }
            bins.push(PBin {
                ty: prep.types[columns[p].ty].all,
                counts,
            });
        }
    }
    let rest = greedy(prep, &mut remaining, values);
    bins.extend(to_bins(prep, &rest));
    bins
}

/// Relative excess of the rounded packing over the LP value above which the sequential
/// rounding is tried too.
const SEQUENTIAL_TRIGGER: f64 = 0.004;
/// Branch-and-bound nodes of the integer master.
const INTEGER_MASTER_NODES: u64 = 300;
/// Most LP re-solves of the sequential rounding.
const SEQUENTIAL_ROUNDS: usize = 40;

/// Sequential rounding: solve the LP over the patterns (trimmed to the pods left), launch the
/// whole copies of its patterns, or one copy of its largest pattern when none is whole, and
/// repeat on what is left; the greedy places anything the patterns no longer cover.
fn round_sequential(prep: &Prepared, columns: &[Column], values: &[f64]) -> Vec<PBin> {
    let mut remaining: Vec<u32> = prep.groups.iter().map(|g| g.count).collect();
    let mut bins = Vec::new();
    let trim = |c: &Column, remaining: &[u32]| Column {
        ty: c.ty,
        counts: c
            .counts
            .iter()
            .zip(remaining)
            .map(|(&a, &r)| a.min(r))
            .collect(),
    };
    for _ in 0..SEQUENTIAL_ROUNDS {
        if remaining.iter().all(|&r| r == 0) {
            break;
        }
        let mut cols: Vec<Column> = columns
            .iter()
            .map(|c| trim(c, &remaining))
            .filter(|c| c.counts.iter().any(|&k| k > 0))
            .collect();
        cols.sort();
        cols.dedup();
        let Some(x) = colgen::solve_primal_for(prep, &cols, &remaining) else {
            break;
        };
        let mut order: Vec<usize> = (0..cols.len()).collect();
        order.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
        let mut took = false;
        for &p in &order {
            let copies = (x[p] + 1e-7).floor();
            if copies < 1.0 {
                break;
            }
            // Bounded by the pods of the instance, so the conversion cannot overflow.
            for _ in 0..copies.min(f64::from(u32::MAX)) as u32 {
                let c = trim(&cols[p], &remaining);
                if c.counts.iter().all(|&k| k == 0) {
                    break;
                }
                for (r, &k) in remaining.iter_mut().zip(&c.counts) {
                    *r -= k;
                }
                bins.push(PBin {
                    ty: prep.types[c.ty].all,
                    counts: c.counts,
                });
                took = true;
            }
        }
        if !took {
            let Some(&p) = order.first().filter(|&&p| x[p] > 1e-9) else {
                break;
            };
            let c = trim(&cols[p], &remaining);
            for (r, &k) in remaining.iter_mut().zip(&c.counts) {
                *r -= k;
            }
            bins.push(PBin {
                ty: prep.types[c.ty].all,
                counts: c.counts,
            });
        }
    }
    let rest = greedy(prep, &mut remaining, values);
    bins.extend(to_bins(prep, &rest));
    bins
}

fn to_bins(prep: &Prepared, columns: &[Column]) -> Vec<PBin> {
    columns
        .iter()
        .map(|c| PBin {
            ty: prep.types[c.ty].all,
            counts: c.counts.clone(),
        })
        .collect()
}

fn cost(prep: &Prepared, bins: &[PBin]) -> f64 {
    bins.iter()
        .filter(|b| b.counts.iter().any(|&k| k > 0))
        .map(|b| prep.all_types[b.ty].price)
        .sum()
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
const GREEDY_NODE_LIMIT: u64 = 500;

/// The knapsack items of type `t` for the pods in `remaining` valued by `values`.
fn items_of(prep: &Prepared, t: &PType, remaining: &[u32], values: &[f64]) -> Vec<knapsack::Item> {
    t.groups
        .iter()
        .map(|&g| knapsack::Item {
            value: values[g],
            weight: prep.groups[g].demand.clone(),
            max: remaining[g],
        })
        .collect()
}

/// Best packing of one node of type `t` for the pods in `remaining` valued by `values`.
fn fill(prep: &Prepared, t: &PType, remaining: &[u32], values: &[f64]) -> (Vec<u32>, f64) {
    let items = items_of(prep, t, remaining, values);
    let sol = knapsack::solve(&items, &t.alloc, GREEDY_NODE_LIMIT, 1e-3);
    let mut counts = vec![0u32; prep.groups.len()];
    for (&g, &k) in t.groups.iter().zip(&sol.counts) {
        counts[g] = k;
    }
    (counts, sol.value)
}

/// Types searched per greedy step (those with the best quick bound per dollar).
const GREEDY_CANDIDATES: usize = 8;

/// Greedy cover: repeatedly launches the node (type and contents) with the most value per
/// dollar, as many times as the remaining pods allow, until every pod in `remaining` is placed.
/// Each step ranks the types by a quick upper bound on their value per dollar and searches the
/// most promising few.
fn greedy(prep: &Prepared, remaining: &mut [u32], values: &[f64]) -> Vec<Column> {
    let mut bins = Vec::new();
    while remaining.iter().any(|&r| r > 0) {
        let mut ranked: Vec<(f64, usize)> = prep
            .types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.groups.iter().any(|&g| remaining[g] > 0))
            .map(|(ti, t)| {
                let ub = knapsack::quick_upper(&items_of(prep, t, remaining, values), &t.alloc);
                (per_dollar(ub, t.price), ti)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut best: Option<(f64, usize, Vec<u32>)> = None;
        for &(ub, ti) in ranked.iter().take(GREEDY_CANDIDATES) {
            if best.as_ref().is_some_and(|(r, _, _)| *r >= ub) {
                break;
            }
            let t = &prep.types[ti];
            let (counts, value) = fill(prep, t, remaining, values);
            if value <= 0.0 {
                continue;
            }
            let ratio = per_dollar(value, t.price);
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
            bins.push(Column {
                ty: ti,
                counts: counts.clone(),
            });
        }
    }
    bins
}

/// Value per dollar; infinite for a free type with positive value.
fn per_dollar(value: f64, price: f64) -> f64 {
    if price > 0.0 {
        value / price
    } else if value > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// Cheapest type (index into `all_types`) holding `counts`, if any costs less than `below`:
/// every group present may use it and the pods fit its allocatable.
fn cheapest_holding(
    prep: &Prepared,
    by_price: &[usize],
    counts: &[u32],
    below: f64,
) -> Option<usize> {
    let need = used(prep, counts);
    let words = prep.all_sets.first().map_or(0, Vec::len);
    let mut present = vec![0u64; words];
    for (g, &k) in counts.iter().enumerate() {
        if k > 0 {
            if let Some(w) = present.get_mut(g / 64) {
                *w |= 1 << (g % 64);
            }
        }
    }
    by_price
        .iter()
        .take_while(|&&t| prep.all_types[t].price < below)
        .copied()
        .find(|&t| {
            prep.all_types[t]
                .alloc
                .iter()
                .zip(&need)
                .all(|(&a, &n)| n <= i128::from(a))
                && present
                    .iter()
                    .zip(&prep.all_sets[t])
                    .all(|(p, s)| p & !s == 0)
        })
}

/// Resources used by `counts` per dimension (in `i128`, so that sums of hostile requests cannot
/// overflow).
fn used(prep: &Prepared, counts: &[u32]) -> Vec<i128> {
    (0..prep.dims)
        .map(|d| {
            counts
                .iter()
                .zip(&prep.groups)
                .map(|(&k, g)| i128::from(k) * i128::from(g.demand[d]))
                .sum()
        })
        .collect()
}

/// Most nodes (the least used ones) considered by the elimination step.
const ELIMINATE_CANDIDATES: usize = 512;

/// Most bins considered by the pairwise merge.
const MERGE_CANDIDATES: usize = 48;

/// Local improvement, repeated while it helps (bounded):
/// 1. move every node to the cheapest type that holds its pods;
/// 2. empty nodes whose pods fit in the free room of the other nodes;
/// 3. merge two nodes into one node of a type cheaper than the two together.
fn improve(prep: &Prepared, bins: &mut Vec<PBin>) {
    let mut by_price: Vec<usize> = (0..prep.all_types.len()).collect();
    by_price.sort_by(|&a, &b| {
        prep.all_types[a]
            .price
            .total_cmp(&prep.all_types[b].price)
            .then(a.cmp(&b))
    });
    for _ in 0..4 {
        let before = cost(prep, bins);
        downsize(prep, &by_price, bins);
        eliminate(prep, bins);
        downsize(prep, &by_price, bins);
        merge_pairs(prep, &by_price, bins);
        if cost(prep, bins) >= before - 1e-12 {
            break;
        }
    }
}

fn downsize(prep: &Prepared, by_price: &[usize], bins: &mut [PBin]) {
    // Large packings repeat the same few nodes many times: search each distinct node once.
    let mut seen: HashMap<(usize, Vec<u32>), Option<usize>> = HashMap::new();
    for b in bins.iter_mut() {
        let price = prep.all_types[b.ty].price;
        let to = *seen
            .entry((b.ty, b.counts.clone()))
            .or_insert_with(|| cheapest_holding(prep, by_price, &b.counts, price));
        if let Some(t) = to {
            b.ty = t;
        }
    }
}

/// How full a node is: its largest share of any dimension of its type.
fn fill_ratio(prep: &Prepared, b: &PBin) -> f64 {
    let t = &prep.all_types[b.ty];
    let u = used(prep, &b.counts);
    (0..prep.dims)
        .filter(|&d| t.alloc[d] > 0)
        .map(|d| u[d] as f64 / t.alloc[d] as f64)
        .fold(0.0, f64::max)
}

/// Bin indices from the least to the most full.
fn by_fill(prep: &Prepared, bins: &[PBin]) -> Vec<usize> {
    let fill: Vec<f64> = bins.iter().map(|b| fill_ratio(prep, b)).collect();
    let mut order: Vec<usize> = (0..bins.len()).collect();
    order.sort_by(|&a, &b| fill[a].total_cmp(&fill[b]).then(a.cmp(&b)));
    order
}

/// Tries to empty each node (least used first) into the free room of the others, among the
/// [`ELIMINATE_CANDIDATES`] least used nodes (all of them in packings up to that size).
fn eliminate(prep: &Prepared, bins: &mut Vec<PBin>) {
    let mut order = by_fill(prep, bins);
    order.truncate(ELIMINATE_CANDIDATES);
    let mut targets = order.clone();
    targets.sort_unstable();
    let mut free: Vec<Vec<i64>> = bins
        .iter()
        .map(|b| {
            let u = used(prep, &b.counts);
            prep.all_types[b.ty]
                .alloc
                .iter()
                .zip(&u)
                .map(|(&c, &u)| i64::try_from(i128::from(c) - u).unwrap_or(0))
                .collect()
        })
        .collect();
    let mut removed = vec![false; bins.len()];
    let mut moves: Vec<(usize, usize, u32)> = Vec::new();
    for &i in &order {
        // Tentative moves (target bin, group, pods), applied to `free` and undone on failure.
        moves.clear();
        let mut ok = true;
        for (g, &k) in bins[i].counts.iter().enumerate() {
            let mut left = k;
            let demand = &prep.groups[g].demand;
            for &j in &targets {
                if left == 0 {
                    break;
                }
                if j == i || removed[j] || prep.all_sets[bins[j].ty][g / 64] & (1 << (g % 64)) == 0
                {
                    continue;
                }
                let fit = (0..prep.dims)
                    .filter(|&d| demand[d] > 0)
                    .map(|d| free[j][d].max(0) / demand[d])
                    .min()
                    .unwrap_or(i64::from(left));
                let m = u32::try_from(fit.clamp(0, i64::from(left))).unwrap_or(0);
                if m > 0 {
                    for d in 0..prep.dims {
                        free[j][d] -= i64::from(m) * demand[d];
                    }
                    moves.push((j, g, m));
                    left -= m;
                }
            }
            if left > 0 {
                ok = false;
                break;
            }
        }
        if ok {
            for &(j, g, m) in &moves {
                bins[j].counts[g] += m;
            }
            bins[i].counts.iter_mut().for_each(|k| *k = 0);
            removed[i] = true;
        } else {
            for &(j, g, m) in &moves {
                for (f, w) in free[j].iter_mut().zip(&prep.groups[g].demand) {
                    *f += i64::from(m) * w;
                }
            }
        }
    }
    let mut idx = 0;
    bins.retain(|_| {
        idx += 1;
        !removed[idx - 1]
    });
}

/// Merges pairs among the least-filled nodes into one node when a cheaper type holds both.
fn merge_pairs(prep: &Prepared, by_price: &[usize], bins: &mut Vec<PBin>) {
    let mut order = by_fill(prep, bins);
    order.truncate(MERGE_CANDIDATES);
    let mut removed = vec![false; bins.len()];
    for a in 0..order.len() {
        let i = order[a];
        if removed[i] {
            continue;
        }
        for &j in &order[a + 1..] {
            if removed[j] || removed[i] {
                continue;
            }
            let both = prep.all_types[bins[i].ty].price + prep.all_types[bins[j].ty].price;
            let union: Vec<u32> = bins[i]
                .counts
                .iter()
                .zip(&bins[j].counts)
                .map(|(a, b)| a + b)
                .collect();
            if let Some(t) = cheapest_holding(prep, by_price, &union, both - 1e-9) {
                bins[i] = PBin {
                    ty: t,
                    counts: union,
                };
                bins[j].counts.iter_mut().for_each(|k| *k = 0);
                removed[j] = true;
            }
        }
    }
    let mut idx = 0;
    bins.retain(|_| {
        idx += 1;
        !removed[idx - 1]
    });
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
