//! Column generation for the configuration LP, with a Farley bound at every iteration.
//!
//! Master LP (over packing patterns `p`, each a type `t_p` and pod counts `a_gp` that fit it):
//! `min Σ_p c_p x_p  s.t.  Σ_p a_gp x_p ≥ n_g  ∀g,  x ≥ 0`.
//! We solve its dual over the patterns generated so far,
//! `max Σ_g n_g y_g  s.t.  Σ_g a_gp y_g ≤ c_p  ∀p generated,  y ≥ 0`,
//! and price new patterns with a knapsack per type. For any `y ≥ 0`, with
//! `r = max over all patterns p of (a_p·y) / c_p`, the vector `y / r` is feasible for the full
//! dual, so `Σ n_g y_g / r` is a lower bound on the master LP, hence on any integer placement
//! (see docs/packing.md). `r` is taken from proven knapsack upper bounds, so the bound holds even
//! when the pricing search or the column generation stops early.

use super::knapsack;
use super::prep::Prepared;
use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOptions, Variable};
use std::cell::Cell;

/// Pricing effort spent, in work units: each knapsack costs `items² + nodes × items`.
/// Deterministic, unlike wall-clock time, so that the same input always gives the same answer.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    spent: Cell<u64>,
    /// Work units after which no more exact pricing or rounds are started.
    pub budget: u64,
}

impl Meter {
    /// A meter allowing `budget` work units.
    pub(crate) fn new(budget: u64) -> Self {
        Meter {
            spent: Cell::new(0),
            budget,
        }
    }

    fn add(&self, units: u64) {
        self.spent.set(self.spent.get().saturating_add(units));
    }

    /// Work units spent so far.
    pub(crate) fn spent(&self) -> u64 {
        self.spent.get()
    }

    /// Work units left.
    pub(crate) fn left(&self) -> u64 {
        self.budget.saturating_sub(self.spent.get())
    }

    /// Whether the budget is spent.
    pub(crate) fn exhausted(&self) -> bool {
        self.left() == 0
    }
}

/// A packing pattern: one node of a (pruned) type and how many pods of each group it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Column {
    /// Index into `Prepared::types`.
    pub ty: usize,
    /// Pods per group (dense, indexed like `Prepared::groups`).
    pub counts: Vec<u32>,
}

/// What the column generation established.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Patterns generated.
    pub columns: Vec<Column>,
    /// Dual prices of the last master solved (per group, ≥ 0).
    pub duals: Vec<f64>,
    /// Best proven lower bound found (USD/h).
    pub bound: f64,
    /// Master LP value over the generated columns, when it was solved.
    pub lp_value: Option<f64>,
    /// Rounds run.
    pub rounds: usize,
    /// Whether the bound met the master LP value (the LP is solved).
    pub converged: bool,
}

/// Node limit of one pricing knapsack.
const PRICING_NODE_LIMIT: u64 = 2_000;
/// Relative optimality gap of the pricing knapsacks (the bound accounts for it).
const PRICING_GAP: f64 = 1e-3;
/// Total knapsack nodes spent tightening the final bound.
const POLISH_BUDGET: u64 = 60_000;
/// Relative gap of the pricing knapsacks when polishing the final bound.
const POLISH_GAP: f64 = 5e-5;
/// Most types priced by branch and bound per round (the others count with their root bound).
const MAX_EXACT_PRICING: usize = 16;
/// Most column-generation rounds.
const MAX_ROUNDS: usize = 60;
/// Most improving columns added per round.
const COLUMNS_PER_ROUND: usize = 12;
/// Stop when the Farley bound is within this relative gap of the master LP value.
const GAP: f64 = 1e-5;
/// Stop when the bound proven beforehand (`floor`) is within this relative gap of the master LP
/// value.
pub(crate) const FLOOR_GAP: f64 = 0.005;

/// Best pattern for type `t` under values `y`: (counts, value, proven upper bound of value).
fn price_type(
    prep: &Prepared,
    meter: &Meter,
    t: usize,
    y: &[f64],
    node_limit: u64,
    gap: f64,
) -> (Vec<u32>, f64, f64) {
    let ty = &prep.types[t];
    let items = pricing_items(prep, t, y);
    let sol = knapsack::solve(&items, &ty.alloc, node_limit, gap);
    // The root (multipliers, greedy starts) costs about items², each node about items.
    let n = items.len() as u64;
    meter.add(
        n.saturating_mul(n)
            .saturating_add(sol.nodes.saturating_mul(n)),
    );
    let mut counts = vec![0u32; prep.groups.len()];
    for (&g, &k) in ty.groups.iter().zip(&sol.counts) {
        counts[g] = k;
    }
    (counts, sol.value, sol.upper)
}

/// The pricing knapsack of type `t`: one item per pod group the type can hold, valued at the
/// group's dual price `y[g]`.
fn pricing_items(prep: &Prepared, t: usize, y: &[f64]) -> Vec<knapsack::Item> {
    prep.types[t]
        .groups
        .iter()
        .map(|&g| knapsack::Item {
            value: y[g],
            weight: prep.groups[g].demand.clone(),
            max: prep.groups[g].count,
        })
        .collect()
}

/// Quick upper bound (fractional, one dimension at a time) of the pricing knapsack of type `t`.
fn quick_bound(prep: &Prepared, meter: &Meter, t: usize, y: &[f64]) -> f64 {
    let ty = &prep.types[t];
    let items = pricing_items(prep, t, y);
    meter.add(items.len() as u64);
    knapsack::quick_upper(&items, &ty.alloc)
}

/// Root (no-branching) upper bound of the pricing knapsack of type `t`.
fn root_bound(prep: &Prepared, meter: &Meter, t: usize, y: &[f64]) -> f64 {
    let (_, _, upper) = price_type(prep, meter, t, y, 0, PRICING_GAP);
    upper
}

/// The Farley bound of `y` and the improving columns found while computing it.
///
/// Returns `(bound, columns, root ratios)`; the bound is valid whatever `y ≥ 0` is. The root
/// ratios (proven upper bounds on value per dollar, per type) serve [`farley_polish`].
fn farley(
    prep: &Prepared,
    meter: &Meter,
    y: &[f64],
    want_columns: usize,
) -> (f64, Vec<(f64, Column)>, Vec<f64>) {
    let z: f64 = prep
        .groups
        .iter()
        .zip(y)
        .map(|(g, &v)| f64::from(g.count) * v)
        .sum();
    if z <= 0.0 {
        return (0.0, Vec::new(), Vec::new());
    }
    // Every type starts with its quick (fractional single-dimension) bound; the most promising
    // one is refined to its root bound, and, once its root bound is the largest left, solved by
    // branch and bound. The types never refined keep a quick bound below the largest root
    // bound left, so `r` is what computing every root bound would give.
    // (upper ratio, type, stage: 0 quick, 1 root, 2 priced)
    let mut open: Vec<(f64, usize, u8)> = (0..prep.types.len())
        .map(|t| {
            (
                ratio(quick_bound(prep, meter, t, y), prep.types[t].price),
                t,
                0,
            )
        })
        .collect();
    let mut r: f64 = 0.0;
    let mut found: Vec<(f64, Column)> = Vec::new();
    let mut best_exact: f64 = 0.0;
    let mut priced = 0usize;
    while let Some(k) = (0..open.len()).filter(|&k| open[k].2 < 2).max_by(|&a, &b| {
        open[a]
            .0
            .total_cmp(&open[b].0)
            .then(open[b].1.cmp(&open[a].1))
    }) {
        let (ub, t, stage) = open[k];
        if stage == 0 {
            let root = ratio(root_bound(prep, meter, t, y), prep.types[t].price);
            open[k] = (root.min(ub), t, 1);
            continue;
        }
        // Once enough columns are found, or nothing left can beat what is known, the remaining
        // types contribute their bounds (at most `ub`) to `r`.
        let capped = (priced >= MAX_EXACT_PRICING && !found.is_empty()) || meter.exhausted();
        if ub <= best_exact.max(1.0) || found.len() >= want_columns || capped {
            r = r.max(ub);
            break;
        }
        let (counts, value, upper) = price_type(prep, meter, t, y, PRICING_NODE_LIMIT, PRICING_GAP);
        priced += 1;
        let price = prep.types[t].price;
        r = r.max(ratio(upper, price));
        open[k] = (ratio(upper, price).min(ub), t, 2);
        let exact_ratio = ratio(value, price);
        best_exact = best_exact.max(exact_ratio);
        if value > price * (1.0 + 1e-9) + 1e-12 {
            found.push((exact_ratio, Column { ty: t, counts }));
        }
    }
    let mut roots = vec![0.0; prep.types.len()];
    for &(u, t, _) in &open {
        roots[t] = u;
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let bound = if r.is_finite() && r > 0.0 { z / r } else { 0.0 };
    // Keep the bound on the safe side of floating-point round-off.
    (bound * (1.0 - 1e-9), found, roots)
}

/// The Farley bound of `y`, tightened: repeatedly takes the type whose proven upper bound on
/// value per dollar is the largest and searches it harder (root bound, then branch and bound
/// with 4× more nodes each time, down to the polish gap), until that maximum is settled or the
/// budget is spent. The maximum left is `r`. Also returns the improving columns met on the way.
///
/// `roots` are the root ratios [`farley`] computed for the same `y`.
fn farley_polish(
    prep: &Prepared,
    meter: &Meter,
    y: &[f64],
    roots: &[f64],
) -> (f64, Vec<(f64, Column)>) {
    let z: f64 = prep
        .groups
        .iter()
        .zip(y)
        .map(|(g, &v)| f64::from(g.count) * v)
        .sum();
    if z <= 0.0 {
        return (0.0, Vec::new());
    }
    // (upper ratio, type, next node limit; 0 = settled).
    let mut open: Vec<(f64, usize, u64)> = (0..prep.types.len())
        .map(|t| {
            let root = match roots.get(t) {
                Some(&u) => u,
                None => ratio(root_bound(prep, meter, t, y), prep.types[t].price),
            };
            (root, t, PRICING_NODE_LIMIT)
        })
        .collect();
    let mut found: Vec<(f64, Column)> = Vec::new();
    let mut budget = POLISH_BUDGET.min(meter.left() / prep.groups.len().max(1) as u64);
    let r = loop {
        // The entry with the largest upper ratio (ties: lowest type index).
        let Some(k) = (0..open.len()).max_by(|&a, &b| {
            open[a]
                .0
                .total_cmp(&open[b].0)
                .then(open[b].1.cmp(&open[a].1))
        }) else {
            break 0.0;
        };
        let (ub, t, limit) = open[k];
        if limit == 0 || limit > budget || ub <= 1.0 {
            break ub;
        }
        budget -= limit;
        let (counts, value, upper) = price_type(prep, meter, t, y, limit, POLISH_GAP);
        let price = prep.types[t].price;
        if value > price * (1.0 + 1e-9) + 1e-12 && !found.iter().any(|(_, c)| c.ty == t) {
            found.push((ratio(value, price), Column { ty: t, counts }));
        }
        let settled = upper <= value * (1.0 + POLISH_GAP) + 1e-15;
        open[k] = (
            ratio(upper, price).min(ub),
            t,
            if settled { 0 } else { limit * 4 },
        );
    };
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let bound = if r.is_finite() && r > 0.0 { z / r } else { 0.0 };
    (bound * (1.0 - 1e-9), found)
}

fn ratio(value: f64, price: f64) -> f64 {
    if price > 0.0 {
        value / price
    } else if value > 1e-12 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// The dual master over `columns`, solved from scratch.
fn solve_dual(prep: &Prepared, columns: &[Column]) -> Option<(Vec<f64>, f64)> {
    let mut p = Problem::new(OptimizationDirection::Maximize);
    let vars: Vec<Variable> = prep
        .groups
        .iter()
        .map(|g| p.add_var(f64::from(g.count), (0.0, f64::INFINITY)))
        .collect();
    for c in columns {
        let row: Vec<(Variable, f64)> = c
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &k)| k > 0)
            .map(|(g, &k)| (vars[g], f64::from(k)))
            .collect();
        p.add_constraint(row.as_slice(), ComparisonOp::Le, prep.types[c.ty].price);
    }
    let sol = p.solve().ok()?.into_solution().ok()?;
    let y: Vec<f64> = vars.iter().map(|&v| sol.var_value(v).max(0.0)).collect();
    Some((y, sol.objective()))
}

/// The primal master over `columns`: `x_p` per column, solved from scratch.
pub(crate) fn solve_primal(prep: &Prepared, columns: &[Column]) -> Option<Vec<f64>> {
    let demand: Vec<u32> = prep.groups.iter().map(|g| g.count).collect();
    solve_primal_for(prep, columns, &demand)
}

/// The primal master over `columns` for the pods `demand` (groups with none left get no row).
pub(crate) fn solve_primal_for(
    prep: &Prepared,
    columns: &[Column],
    demand: &[u32],
) -> Option<Vec<f64>> {
    let mut p = Problem::new(OptimizationDirection::Minimize);
    let vars: Vec<Variable> = columns
        .iter()
        .map(|c| p.add_var(prep.types[c.ty].price, (0.0, f64::INFINITY)))
        .collect();
    for (g, &need) in demand.iter().enumerate() {
        if need == 0 {
            continue;
        }
        let row: Vec<(Variable, f64)> = columns
            .iter()
            .zip(&vars)
            .filter(|(c, _)| c.counts[g] > 0)
            .map(|(c, &v)| (v, f64::from(c.counts[g])))
            .collect();
        if row.is_empty() {
            return None;
        }
        p.add_constraint(row.as_slice(), ComparisonOp::Ge, f64::from(need));
    }
    let sol = p.solve().ok()?.into_solution().ok()?;
    Some(vars.iter().map(|&v| sol.var_value(v).max(0.0)).collect())
}

/// The restricted master as an integer program: how many nodes of each pattern, covering every
/// pod, at the least cost, searched by microlp's branch and bound with a node limit (so the
/// answer is deterministic). `None` when no integer solution was found within the limit.
pub(crate) fn solve_integer_master(
    prep: &Prepared,
    columns: &[Column],
    node_limit: u64,
) -> Option<Vec<u32>> {
    let mut p = Problem::new(OptimizationDirection::Minimize);
    let vars: Vec<Variable> = columns
        .iter()
        .map(|c| {
            let most = prep
                .groups
                .iter()
                .zip(&c.counts)
                .filter(|(_, &k)| k > 0)
                .map(|(g, &k)| g.count.div_ceil(k))
                .max()
                .unwrap_or(0);
            p.add_integer_var(
                prep.types[c.ty].price,
                (0, i32::try_from(most).unwrap_or(i32::MAX)),
            )
        })
        .collect();
    for (g, grp) in prep.groups.iter().enumerate() {
        let row: Vec<(Variable, f64)> = columns
            .iter()
            .zip(&vars)
            .filter(|(c, _)| c.counts[g] > 0)
            .map(|(c, &v)| (v, f64::from(c.counts[g])))
            .collect();
        if row.is_empty() {
            return None;
        }
        p.add_constraint(row.as_slice(), ComparisonOp::Ge, f64::from(grp.count));
    }
    let mut options = SolveOptions::default();
    options.node_limit = Some(node_limit);
    options.mip_gap = 1e-3;
    let sol = p.solve_with(options).ok()?.into_solution().ok()?;
    Some(
        vars.iter()
            .map(|&v| {
                let x = sol.var_value(v).round().max(0.0);
                // Bounded by the variable's upper bound above.
                x.min(f64::from(u32::MAX)) as u32
            })
            .collect(),
    )
}

/// Runs the column generation from `initial` columns (which must cover every group) and the
/// fallback values `proxy` (used for a first Farley bound).
///
/// `floor` is a bound already proven by other means (the per-dimension bound): once the
/// restricted master's value is within [`FLOOR_GAP`] of it, no further round can raise the
/// bound by more than that, and the column generation stops.
pub(crate) fn run(
    prep: &Prepared,
    meter: &Meter,
    initial: Vec<Column>,
    proxy: &[f64],
    floor: f64,
) -> Outcome {
    let mut columns: Vec<Column> = Vec::new();
    for c in initial {
        if c.counts.iter().any(|&k| k > 0) && !columns.contains(&c) {
            columns.push(c);
        }
    }
    let (mut bound, _, _) = farley(prep, meter, proxy, 0);
    let mut duals = proxy.to_vec();
    let mut lp_value = None;
    let mut rounds = 0;
    let mut converged = false;
    for _ in 0..MAX_ROUNDS {
        if meter.exhausted() {
            break;
        }
        rounds += 1;
        let Some((y, z)) = solve_dual(prep, &columns) else {
            break;
        };
        duals.clone_from(&y);
        lp_value = Some(z);
        if floor >= z * (1.0 - FLOOR_GAP) {
            converged = floor >= z * (1.0 - GAP);
            break;
        }
        let (mut b, mut found, roots) = farley(prep, meter, &y, COLUMNS_PER_ROUND);
        if found.is_empty() && b < z * (1.0 - GAP) && !meter.exhausted() {
            (b, found) = farley_polish(prep, meter, &y, &roots);
        }
        bound = bound.max(b);
        if found.is_empty() || bound >= z * (1.0 - GAP) {
            converged = bound >= z * (1.0 - GAP);
            break;
        }
        let before = columns.len();
        for (_, c) in found {
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
        if columns.len() == before {
            break;
        }
    }
    Outcome {
        columns,
        duals,
        bound,
        lp_value,
        rounds,
        converged,
    }
}
