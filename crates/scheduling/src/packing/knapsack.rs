//! Bounded multi-dimensional integer knapsack, solved by depth-first branch and bound.
//!
//! This is the pricing subproblem of the column generation: for one instance type, which
//! multiset of pods (at most `max` of each group) fitting in its allocatable has the largest
//! total dual value. The bound at each node is the smallest, over the dimensions, of the
//! fractional (Dantzig) single-dimension knapsack bound, which is a valid upper bound on the
//! integer optimum of the remaining items. When the node limit stops the search early the
//! answer still carries a valid upper bound (the root bound), so callers can keep their lower
//! bounds proven.

#![allow(clippy::needless_range_loop)]

/// One item kind: a pod group as seen by the knapsack.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Value of one copy (a dual price); items with value ≤ 0 are never taken.
    pub value: f64,
    /// Size of one copy in each dimension (non-negative).
    pub weight: Vec<i64>,
    /// Most copies that may be taken.
    pub max: u32,
}

/// The best multiset found and what is proven about the optimum.
#[derive(Debug, Clone)]
pub(crate) struct Solution {
    /// Copies taken of each item, in the order of the items given.
    pub counts: Vec<u32>,
    /// Total value of `counts`.
    pub value: f64,
    /// A proven upper bound on the optimum (equal to `value` when the search finished).
    pub upper: f64,
    /// Branch-and-bound nodes visited (the search effort, for work budgets).
    pub nodes: u64,
}

struct Search<'a> {
    items: &'a [Item],
    /// Item indices in branching order (highest value per normalised size first).
    order: Vec<usize>,
    /// Per dimension, the item indices sorted by value per unit of that dimension (descending);
    /// items of zero weight in the dimension come first.
    by_dim: Vec<Vec<usize>>,
    /// Position of each item in `order`, to skip items already branched on.
    pos: Vec<usize>,
    /// Lagrangian multipliers of the capacity constraints, fixed at the root.
    lambda: Vec<f64>,
    dims: usize,
    cur: Vec<u32>,
    cur_value: f64,
    best: Vec<u32>,
    best_value: f64,
    nodes: u64,
    node_limit: u64,
    aborted: bool,
    /// After an abort: the largest `cur_value + bound` of the subtrees left unexplored.
    open_max: f64,
    /// Relative optimality gap: subtrees that cannot beat the incumbent by more than this
    /// factor are pruned.
    gap: f64,
    /// Whether a subtree was pruned only thanks to `gap`.
    gap_pruned: bool,
}

/// Copies of `it` that fit in `rem`, at most `it.max`.
fn fit(it: &Item, rem: &[i64]) -> u32 {
    fit_max(it, rem, it.max)
}

/// Copies of `it` that fit in `rem`, at most `max`.
fn fit_max(it: &Item, rem: &[i64], max: u32) -> u32 {
    let mut k = max.min(it.max);
    for (w, r) in it.weight.iter().zip(rem) {
        if *w > 0 {
            k = k.min(u32::try_from((r / w).max(0)).unwrap_or(u32::MAX));
        }
    }
    k
}

/// Lagrangian bound `λ·rem + Σ_i u_i max(0, v_i − λ·w_i)` over `items`, valid for any λ ≥ 0
/// (`u_i` = copies of item `i` that fit in `rem`).
fn lagrangian<'i>(items: impl Iterator<Item = &'i Item>, rem: &[i64], lambda: &[f64]) -> f64 {
    lagrangian_capped(items, rem, lambda, u32::MAX)
}

/// [`lagrangian`] with the first item limited to `first_max` copies.
fn lagrangian_capped<'i>(
    items: impl Iterator<Item = &'i Item>,
    rem: &[i64],
    lambda: &[f64],
    first_max: u32,
) -> f64 {
    let mut total: f64 = lambda.iter().zip(rem).map(|(l, r)| l * *r as f64).sum();
    for (n, it) in items.enumerate() {
        let max = if n == 0 { first_max } else { u32::MAX };
        let reduced = it.value
            - it.weight
                .iter()
                .zip(lambda)
                .map(|(w, l)| *w as f64 * l)
                .sum::<f64>();
        if reduced > 0.0 {
            total += reduced * f64::from(fit_max(it, rem, max));
        }
    }
    total
}

/// Multipliers making the Lagrangian bound small, by coordinate descent with exact line
/// minimisation (the bound is convex and piecewise linear in each multiplier).
///
/// With `vertices`, the descent starts from the best vertex of the function among those where
/// two items break even on two dimensions (the optimum lies at a vertex; with the pod-slot
/// dimension rarely binding, these pairs usually contain it).
fn optimise_lambda(items: &[Item], useful: &[usize], cap: &[i64], vertices: bool) -> Vec<f64> {
    let dims = cap.len();
    let eval = |l: &[f64]| lagrangian(useful.iter().map(|&i| &items[i]), cap, l);
    let mut lambda = vec![0.0; dims];
    let mut current = eval(&lambda);
    if vertices {
        let mut trial = vec![0.0; dims];
        for d in 0..dims {
            for e in d + 1..dims {
                for (a, &i) in useful.iter().enumerate() {
                    for &j in &useful[a + 1..] {
                        let (wi, wj) = (&items[i].weight, &items[j].weight);
                        let (a11, a12) = (wi[d] as f64, wi[e] as f64);
                        let (a21, a22) = (wj[d] as f64, wj[e] as f64);
                        let det = a11 * a22 - a12 * a21;
                        if det.abs() <= 1e-12 * (a11 * a22).abs().max((a12 * a21).abs()) {
                            continue;
                        }
                        let (vi, vj) = (items[i].value, items[j].value);
                        let ld = (vi * a22 - a12 * vj) / det;
                        let le = (a11 * vj - a21 * vi) / det;
                        if !(ld >= 0.0 && le >= 0.0 && ld.is_finite() && le.is_finite()) {
                            continue;
                        }
                        trial.iter_mut().for_each(|x| *x = 0.0);
                        trial[d] = ld;
                        trial[e] = le;
                        let value = eval(&trial);
                        if value < current {
                            current = value;
                            lambda.clone_from(&trial);
                        }
                    }
                }
            }
        }
    }
    for _ in 0..8 {
        let before = current;
        for d in 0..dims {
            // Breakpoints b_i where item i stops being profitable as λ_d grows.
            let mut bps: Vec<(f64, f64)> = Vec::new();
            for &i in useful {
                let it = &items[i];
                let w = it.weight[d];
                if w == 0 {
                    continue;
                }
                let other: f64 = (0..dims)
                    .filter(|&e| e != d)
                    .map(|e| it.weight[e] as f64 * lambda[e])
                    .sum();
                let b = (it.value - other) / w as f64;
                if b > 0.0 {
                    bps.push((b, f64::from(fit(it, cap)) * w as f64));
                }
            }
            bps.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut used = 0.0;
            let mut best = 0.0;
            for (b, uw) in bps {
                used += uw;
                if used > cap[d] as f64 {
                    best = b;
                    break;
                }
            }
            let mut trial = lambda.clone();
            trial[d] = best;
            let value = eval(&trial);
            if value < current {
                current = value;
                lambda = trial;
            }
        }
        if current >= before * (1.0 - 1e-9) {
            break;
        }
    }
    lambda
}

/// A good first solution: adds one copy at a time of the item with the most value per unit of
/// its size measured against the room left (each dimension weighted by the inverse of what
/// remains), which keeps the dimensions balanced; then fills what room is left.
fn balanced_greedy(items: &[Item], useful: &[usize], cap: &[i64]) -> (Vec<u32>, f64) {
    let dims = cap.len();
    let mut counts = vec![0u32; items.len()];
    let mut rem = cap.to_vec();
    let mut value = 0.0;
    loop {
        let mut best: Option<(f64, usize)> = None;
        for &i in useful {
            let it = &items[i];
            if counts[i] >= it.max || (0..dims).any(|d| it.weight[d] > rem[d]) {
                continue;
            }
            let size: f64 = (0..dims)
                .filter(|&d| it.weight[d] > 0)
                .map(|d| it.weight[d] as f64 / rem[d] as f64)
                .sum();
            let score = it.value / size.max(1e-300);
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, i));
            }
        }
        let Some((_, i)) = best else {
            break;
        };
        // Take a chunk of copies at once (an eighth of what fits) to keep this linear-ish.
        let it = &items[i];
        let k = (fit_max(it, &rem, it.max - counts[i]) / 8).max(1);
        counts[i] += k;
        value += f64::from(k) * it.value;
        for d in 0..dims {
            rem[d] -= i64::from(k) * it.weight[d];
        }
    }
    (counts, value)
}

/// Value of `counts`.
fn total(items: &[Item], counts: &[u32]) -> f64 {
    items
        .iter()
        .zip(counts)
        .map(|(it, &k)| f64::from(k) * it.value)
        .sum()
}

/// Adds to `counts` as many copies as fit of each item of `order`, in that order.
fn fill_in_order(items: &[Item], order: &[usize], counts: &mut [u32], rem: &mut [i64]) {
    for &i in order {
        let it = &items[i];
        let k = fit_max(it, rem, it.max - counts[i]);
        if k > 0 {
            counts[i] += k;
            for (r, w) in rem.iter_mut().zip(&it.weight) {
                *r -= i64::from(k) * w;
            }
        }
    }
}

/// Improves `counts` by exchanges: take out 1, 2, 4 or 8 copies of one item, put in as many
/// copies of another as fit, refill in `order`; keeps the first exchange that gains, until none
/// does (at most `passes` times).
fn local_search(
    items: &[Item],
    order: &[usize],
    cap: &[i64],
    counts: &mut Vec<u32>,
    passes: usize,
) {
    let rem_of = |counts: &[u32]| -> Vec<i64> {
        (0..cap.len())
            .map(|d| {
                cap[d]
                    - items
                        .iter()
                        .zip(counts)
                        .map(|(it, &k)| i64::from(k) * it.weight[d])
                        .sum::<i64>()
            })
            .collect()
    };
    let mut value = total(items, counts);
    for _ in 0..passes {
        let mut improved = false;
        'search: for &a in order {
            for t in [1u32, 2, 4, 8] {
                if counts[a] < t {
                    break;
                }
                for &b in order {
                    if b == a {
                        continue;
                    }
                    let mut trial = counts.clone();
                    trial[a] -= t;
                    let mut rem = rem_of(&trial);
                    fill_in_order(items, &[b], &mut trial, &mut rem);
                    fill_in_order(items, order, &mut trial, &mut rem);
                    let v = total(items, &trial);
                    if v > value * (1.0 + 1e-12) + 1e-15 {
                        *counts = trial;
                        value = v;
                        improved = true;
                        break 'search;
                    }
                }
            }
        }
        if !improved {
            break;
        }
    }
}

impl Search<'_> {
    /// Upper bound on the value obtainable from the items at `order[depth..]` with `rem`,
    /// taking at most `first_max` copies of the item `order[depth]`.
    ///
    /// The per-dimension bounds are only computed when the Lagrangian bound alone would not
    /// let the caller prune (the subtree is pruned when `cur_value + bound` is at most
    /// `best_value × (1 + gap)`), which gives the same decisions for less work.
    fn bound(&self, depth: usize, rem: &[i64], first_max: u32) -> f64 {
        let first = self.order.get(depth).copied();
        let mut best = lagrangian_capped(
            self.order[depth..].iter().map(|&i| &self.items[i]),
            rem,
            &self.lambda,
            first_max,
        );
        if self.cur_value + best <= self.best_value * (1.0 + self.gap) {
            return best;
        }
        for d in 0..self.dims {
            let mut cap = rem[d] as f64;
            let mut total = 0.0;
            for &i in &self.by_dim[d] {
                if self.pos[i] < depth {
                    continue;
                }
                let it = &self.items[i];
                let w = it.weight[d];
                let max = if Some(i) == first {
                    f64::from(fit_max(it, rem, first_max))
                } else {
                    f64::from(fit(it, rem))
                };
                if w == 0 {
                    total += it.value * max;
                    continue;
                }
                if cap <= 0.0 {
                    break;
                }
                let take = (cap / w as f64).min(max);
                total += take * it.value;
                cap -= take * w as f64;
            }
            if total < best {
                best = total;
            }
        }
        best
    }

    /// Whether a set of solutions worth at most `potential` can be dropped.
    fn prunable(&mut self, potential: f64) -> bool {
        if potential <= self.best_value * (1.0 + 1e-12) + 1e-12 {
            return true;
        }
        if potential <= self.best_value * (1.0 + self.gap) {
            self.gap_pruned = true;
            return true;
        }
        false
    }

    /// Bound on the children of the node at `depth` taking at least `m` (of at most `kmax`)
    /// copies of its item.
    fn bound_at_least(&mut self, depth: usize, rem: &mut [i64], m: u32, kmax: u32) -> f64 {
        self.nodes += 1;
        let it = &self.items[self.order[depth]];
        for d in 0..self.dims {
            rem[d] -= i64::from(m) * it.weight[d];
        }
        let taken = f64::from(m) * it.value;
        self.cur_value += taken;
        let b = self.bound(depth, rem, kmax - m);
        self.cur_value -= taken;
        let it = &self.items[self.order[depth]];
        for d in 0..self.dims {
            rem[d] += i64::from(m) * it.weight[d];
        }
        self.cur_value + taken + b
    }

    fn dfs(&mut self, depth: usize, rem: &mut [i64]) {
        if self.cur_value > self.best_value + 1e-12 {
            self.best_value = self.cur_value;
            self.best.clone_from(&self.cur);
        }
        if depth == self.order.len() {
            return;
        }
        self.nodes += 1;
        let potential = self.cur_value + self.bound(depth, rem, u32::MAX);
        if self.prunable(potential) {
            return;
        }
        if self.nodes > self.node_limit {
            // Leave this subtree unexplored, remembering what it could hold.
            self.aborted = true;
            self.open_max = self.open_max.max(potential);
            return;
        }
        let i = self.order[depth];
        let it = &self.items[i];
        let kmax = fit(it, rem);
        let value = it.value;
        let weight = it.weight.clone();
        // Skip the children with many copies that cannot win: find by bisection an `m` such
        // that the children taking at least `m` copies are all dominated.
        let (mut lo, mut hi) = (1u32, kmax + 1);
        while lo < hi {
            let m = lo + (hi - lo) / 2;
            let b = self.bound_at_least(depth, rem, m, kmax);
            if self.prunable(b) {
                hi = m;
            } else {
                lo = m + 1;
            }
        }
        let mut k = hi - 1;
        loop {
            for d in 0..self.dims {
                rem[d] -= i64::from(k) * weight[d];
            }
            self.cur[i] = k;
            self.cur_value += f64::from(k) * value;
            self.dfs(depth + 1, rem);
            self.cur_value -= f64::from(k) * value;
            self.cur[i] = 0;
            for d in 0..self.dims {
                rem[d] += i64::from(k) * weight[d];
            }
            if k == 0 {
                break;
            }
            k -= 1;
            // All the remaining children together: at most k copies of this item.
            self.nodes += 1;
            let rest = self.cur_value + self.bound(depth, rem, k);
            if self.aborted {
                self.open_max = self.open_max.max(rest);
                break;
            }
            if self.prunable(rest) {
                break;
            }
        }
    }
}

/// A quick upper bound on the knapsack optimum: the smallest over the dimensions of the
/// fractional single-dimension bound (no search, no multipliers).
pub(crate) fn quick_upper(items: &[Item], cap: &[i64]) -> f64 {
    let useful: Vec<&Item> = items
        .iter()
        .filter(|it| {
            it.value > 0.0
                && it.max > 0
                && it.weight.len() >= cap.len()
                && it.weight.iter().zip(cap).all(|(w, c)| *w >= 0 && w <= c)
        })
        .collect();
    let mut best = useful
        .iter()
        .map(|it| it.value * f64::from(fit(it, cap)))
        .sum::<f64>();
    for d in 0..cap.len() {
        let mut v: Vec<&&Item> = useful.iter().collect();
        let ratio = |it: &Item| {
            if it.weight[d] == 0 {
                f64::INFINITY
            } else {
                it.value / it.weight[d] as f64
            }
        };
        v.sort_by(|a, b| ratio(b).total_cmp(&ratio(a)));
        let mut room = cap[d] as f64;
        let mut total = 0.0;
        for it in v {
            let max = f64::from(fit(it, cap));
            let w = it.weight[d] as f64;
            let take = if w == 0.0 { max } else { (room / w).min(max) };
            total += take * it.value;
            room -= take * w;
            if room <= 0.0 {
                break;
            }
        }
        best = best.min(total);
    }
    best
}

/// Maximises the total value of items fitting in `cap` (every dimension), taking at most
/// `item.max` copies of each. Items with non-positive value are ignored. `node_limit` caps the
/// number of nodes branched on; past it, subtrees are bounded instead of searched, and `upper`
/// is the largest bound among them (or the value found, if larger). Subtrees that cannot beat
/// the incumbent by more than the relative `gap` are pruned too, and then `upper` is at least
/// `value × (1 + gap)`.
pub(crate) fn solve(items: &[Item], cap: &[i64], node_limit: u64, gap: f64) -> Solution {
    let dims = cap.len();
    let useful: Vec<usize> = (0..items.len())
        .filter(|&i| {
            let it = &items[i];
            it.value > 0.0
                && it.max > 0
                && it.weight.len() >= dims
                && (0..dims).all(|d| it.weight[d] >= 0 && it.weight[d] <= cap[d])
        })
        .collect();
    let lambda = optimise_lambda(items, &useful, cap, true);
    // Branch first on the items that are most profitable at the Lagrangian prices of the
    // resources (the surrogate-dual efficiency), so that the first dive is a good greedy
    // solution; fall back to sizes normalised by capacity when the prices are all zero.
    let priced = lambda.iter().any(|&l| l > 0.0);
    let norm = |i: usize| -> f64 {
        let it = &items[i];
        let s: f64 = (0..dims)
            .filter(|&d| cap[d] > 0)
            .map(|d| {
                let share = it.weight[d] as f64 / cap[d] as f64;
                if priced {
                    it.weight[d] as f64 * lambda[d] + 1e-9 * share
                } else {
                    share
                }
            })
            .sum();
        it.value / s.max(1e-300)
    };
    let mut order = useful.clone();
    order.sort_by(|&a, &b| norm(b).total_cmp(&norm(a)).then(a.cmp(&b)));
    let mut pos = vec![usize::MAX; items.len()];
    for (p, &i) in order.iter().enumerate() {
        pos[i] = p;
    }
    let by_dim = (0..dims)
        .map(|d| {
            let ratio = |i: usize| {
                let w = items[i].weight[d];
                if w == 0 {
                    f64::INFINITY
                } else {
                    items[i].value / w as f64
                }
            };
            let mut v = useful.clone();
            v.sort_by(|&a, &b| ratio(b).total_cmp(&ratio(a)).then(a.cmp(&b)));
            v
        })
        .collect();
    let mut s = Search {
        items,
        order,
        by_dim,
        pos,
        lambda,
        dims,
        cur: vec![0; items.len()],
        cur_value: 0.0,
        best: vec![0; items.len()],
        best_value: 0.0,
        nodes: 0,
        node_limit,
        aborted: false,
        open_max: 0.0,
        gap: gap.max(0.0),
        gap_pruned: false,
    };
    let mut rem = cap.to_vec();
    if node_limit > 0 {
        // Two greedy starts (balanced, and by Lagrangian efficiency), then exchanges.
        let (mut counts, mut value) = balanced_greedy(items, &useful, cap);
        let mut by_efficiency = vec![0u32; items.len()];
        fill_in_order(items, &s.order, &mut by_efficiency, &mut cap.to_vec());
        let v = total(items, &by_efficiency);
        if v > value {
            counts = by_efficiency;
        }
        local_search(items, &s.order, cap, &mut counts, 20);
        value = total(items, &counts);
        s.best = counts;
        s.best_value = value;
    }
    s.dfs(0, &mut rem);
    let mut upper = s.best_value;
    if s.aborted {
        upper = upper.max(s.open_max);
    }
    if s.gap_pruned {
        upper = upper.max(s.best_value * (1.0 + s.gap));
    }
    Solution {
        counts: s.best,
        value: s.best_value,
        upper,
        nodes: s.nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(items: &[Item], cap: &[i64]) -> f64 {
        fn rec(items: &[Item], cap: &mut Vec<i64>, i: usize) -> f64 {
            if i == items.len() {
                return 0.0;
            }
            let mut best = 0.0f64;
            let mut k = 0u32;
            loop {
                if k > items[i].max {
                    break;
                }
                let fits = (0..cap.len()).all(|d| i64::from(k) * items[i].weight[d] <= cap[d]);
                if !fits {
                    break;
                }
                for d in 0..cap.len() {
                    cap[d] -= i64::from(k) * items[i].weight[d];
                }
                let v = f64::from(k) * items[i].value.max(0.0) + rec(items, cap, i + 1);
                for d in 0..cap.len() {
                    cap[d] += i64::from(k) * items[i].weight[d];
                }
                best = best.max(v);
                k += 1;
            }
            best
        }
        rec(items, &mut cap.to_vec(), 0)
    }

    #[test]
    fn matches_brute_force_on_small_cases() {
        let mut seed = 7u64;
        let mut rnd = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..300 {
            let dims = 1 + rnd(3) as usize;
            let cap: Vec<i64> = (0..dims).map(|_| 5 + rnd(20) as i64).collect();
            let items: Vec<Item> = (0..1 + rnd(4))
                .map(|_| Item {
                    value: 1.0 + rnd(10) as f64,
                    weight: (0..dims).map(|_| rnd(8) as i64).collect(),
                    max: rnd(5) as u32,
                })
                .collect();
            let got = solve(&items, &cap, 1_000_000, 0.0);
            let want = brute(&items, &cap);
            assert!(
                (got.value - want).abs() < 1e-9,
                "got {} want {}",
                got.value,
                want
            );
            assert!((got.upper - want).abs() < 1e-9);
            for d in 0..dims {
                let used: i64 = items
                    .iter()
                    .zip(&got.counts)
                    .map(|(it, &k)| i64::from(k) * it.weight[d])
                    .sum();
                assert!(used <= cap[d]);
            }
            for (it, &k) in items.iter().zip(&got.counts) {
                assert!(k <= it.max);
            }
        }
    }

    #[test]
    fn node_limit_keeps_a_valid_upper_bound() {
        let items: Vec<Item> = (0..8)
            .map(|i| Item {
                value: 3.0 + i as f64,
                weight: vec![7 + i, 11 - i],
                max: 50,
            })
            .collect();
        let cap = vec![200, 190];
        let exact = solve(&items, &cap, u64::MAX, 0.0);
        let cut = solve(&items, &cap, 5, 0.0);
        let gapped = solve(&items, &cap, u64::MAX, 0.05);
        assert!(gapped.upper + 1e-9 >= exact.value);
        assert!(gapped.value * 1.05 + 1e-9 >= exact.value);
        assert!(cut.upper + 1e-9 >= exact.value);
        assert!(cut.value <= exact.value + 1e-9);
    }
}
