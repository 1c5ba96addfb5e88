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
    #[allow(dead_code)]
    pub upper: f64,
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
    dims: usize,
    cur: Vec<u32>,
    cur_value: f64,
    best: Vec<u32>,
    best_value: f64,
    nodes: u64,
    node_limit: u64,
    aborted: bool,
}

impl Search<'_> {
    /// Upper bound on the value obtainable from the items at `order[depth..]` with `rem`.
    fn bound(&self, depth: usize, rem: &[i64]) -> f64 {
        let mut best = f64::INFINITY;
        for d in 0..self.dims {
            let mut cap = rem[d] as f64;
            let mut total = 0.0;
            for &i in &self.by_dim[d] {
                if self.pos[i] < depth {
                    continue;
                }
                let it = &self.items[i];
                let w = it.weight[d];
                if w == 0 {
                    total += it.value * f64::from(it.max);
                    continue;
                }
                if cap <= 0.0 {
                    break;
                }
                let take = (cap / w as f64).min(f64::from(it.max));
                total += take * it.value;
                cap -= take * w as f64;
            }
            if total < best {
                best = total;
            }
        }
        if best.is_finite() {
            best
        } else {
            // No dimensions: every item fits without limit other than `max`.
            self.order[depth..]
                .iter()
                .map(|&i| self.items[i].value * f64::from(self.items[i].max))
                .sum()
        }
    }

    fn dfs(&mut self, depth: usize, rem: &mut [i64]) {
        self.nodes += 1;
        if self.cur_value > self.best_value + 1e-12 {
            self.best_value = self.cur_value;
            self.best.clone_from(&self.cur);
        }
        if depth == self.order.len() {
            return;
        }
        if self.nodes > self.node_limit {
            self.aborted = true;
            return;
        }
        let ub = self.bound(depth, rem);
        if self.cur_value + ub <= self.best_value * (1.0 + 1e-12) + 1e-12 {
            return;
        }
        let i = self.order[depth];
        let it = &self.items[i];
        let mut kmax = it.max;
        for d in 0..self.dims {
            if it.weight[d] > 0 {
                let fit = rem[d] / it.weight[d];
                kmax = kmax.min(u32::try_from(fit.max(0)).unwrap_or(u32::MAX));
            }
        }
        let value = it.value;
        let weight = it.weight.clone();
        let mut k = kmax;
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
            if self.aborted || k == 0 {
                break;
            }
            k -= 1;
        }
    }
}

/// Maximises the total value of items fitting in `cap` (every dimension), taking at most
/// `item.max` copies of each. Items with non-positive value are ignored. `node_limit` caps the
/// search; when it is hit the returned solution is the best found and `upper` is the root bound.
pub(crate) fn solve(items: &[Item], cap: &[i64], node_limit: u64) -> Solution {
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
    let norm = |i: usize| -> f64 {
        let it = &items[i];
        let s: f64 = (0..dims)
            .filter(|&d| cap[d] > 0)
            .map(|d| it.weight[d] as f64 / cap[d] as f64)
            .sum();
        it.value / s.max(1e-12)
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
        dims,
        cur: vec![0; items.len()],
        cur_value: 0.0,
        best: vec![0; items.len()],
        best_value: 0.0,
        nodes: 0,
        node_limit,
        aborted: false,
    };
    let mut rem = cap.to_vec();
    let root = if s.order.is_empty() {
        0.0
    } else {
        s.bound(0, &rem)
    };
    s.dfs(0, &mut rem);
    let upper = if s.aborted {
        root.max(s.best_value)
    } else {
        s.best_value
    };
    Solution {
        counts: s.best,
        value: s.best_value,
        upper,
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
            let got = solve(&items, &cap, 1_000_000);
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
        let exact = solve(&items, &cap, u64::MAX);
        let cut = solve(&items, &cap, 5);
        assert!(cut.upper + 1e-9 >= exact.value);
        assert!(cut.value <= exact.value + 1e-9);
    }
}
