//! Exact optimum for tiny instances, by dynamic programming over the vector of pods left.
//!
//! `OPT(r) = min over node contents a ≤ r (a ≠ 0, containing a pod of the first group left) of
//! cheapest(a) + OPT(r − a)`, where `cheapest(a)` is the lowest price of a type that every group
//! in `a` may use and whose allocatable holds `a`. Requiring the first group left to be on the
//! node removes only reorderings of the same placement, so the recursion is exact. Used when the
//! number of count vectors is small, so that both the packing and the bound are the optimum.

use super::prep::Prepared;
use super::PBin;

/// Most count vectors (`Π (n_g + 1)`) for which the exact search runs.
pub(crate) const MAX_STATES: usize = 512;

/// Decodes the mixed-radix index `idx` into a count vector.
fn decode(mut idx: usize, radix: &[usize], out: &mut [u32]) {
    for (o, &r) in out.iter_mut().zip(radix) {
        *o = u32::try_from(idx % r).unwrap_or(0);
        idx /= r;
    }
}

/// The optimal packing and its cost, if the instance is small enough.
pub(crate) fn solve(prep: &Prepared) -> Option<(f64, Vec<PBin>)> {
    let radix: Vec<usize> = prep.groups.iter().map(|g| g.count as usize + 1).collect();
    let mut states: usize = 1;
    for &r in &radix {
        states = states.checked_mul(r).filter(|&s| s <= MAX_STATES)?;
    }
    let ng = prep.groups.len();
    let mut place = vec![1usize; ng];
    for g in 1..ng {
        place[g] = place[g - 1] * radix[g - 1];
    }
    // Cheapest type (index into `prep.types`) holding each count vector.
    let mut a = vec![0u32; ng];
    let cheapest: Vec<Option<usize>> = (0..states)
        .map(|idx| {
            decode(idx, &radix, &mut a);
            let mut best: Option<usize> = None;
            for (ti, t) in prep.types.iter().enumerate() {
                let compatible = a
                    .iter()
                    .enumerate()
                    .all(|(g, &k)| k == 0 || t.groups.binary_search(&g).is_ok());
                let fits = (0..prep.dims).all(|d| {
                    a.iter()
                        .zip(&prep.groups)
                        .map(|(&k, g)| i128::from(k) * i128::from(g.demand[d]))
                        .sum::<i128>()
                        <= i128::from(t.alloc[d])
                });
                if compatible && fits && best.is_none_or(|b| t.price < prep.types[b].price) {
                    best = Some(ti);
                }
            }
            best
        })
        .collect();
    // dp[s] = (cost, index of the node contents chosen).
    let mut dp: Vec<(f64, usize)> = vec![(f64::INFINITY, 0); states];
    dp[0] = (0.0, 0);
    let mut r = vec![0u32; ng];
    let mut sub = vec![0u32; ng];
    for s in 1..states {
        decode(s, &radix, &mut r);
        let Some(first) = r.iter().position(|&k| k > 0) else {
            continue;
        };
        // Enumerate sub-vectors of r with at least one pod of `first`.
        sub.iter_mut().for_each(|x| *x = 0);
        sub[first] = 1;
        loop {
            let idx: usize = sub.iter().zip(&place).map(|(&k, &p)| k as usize * p).sum();
            if let Some(t) = cheapest[idx] {
                let cand = prep.types[t].price + dp[s - idx].0;
                if cand < dp[s].0 {
                    dp[s] = (cand, idx);
                }
            }
            // Next sub-vector in mixed radix, bounded by r (sub[first] stays ≥ 1).
            let mut g = 0;
            loop {
                if g == ng {
                    break;
                }
                let low = u32::from(g == first);
                if sub[g] < r[g] {
                    sub[g] += 1;
                    break;
                }
                sub[g] = low;
                g += 1;
            }
            if g == ng {
                break;
            }
        }
    }
    let top = states - 1;
    if !dp[top].0.is_finite() {
        return None;
    }
    let mut bins = Vec::new();
    let mut s = top;
    while s > 0 {
        let idx = dp[s].1;
        let t = cheapest[idx]?;
        let mut counts = vec![0u32; ng];
        decode(idx, &radix, &mut counts);
        bins.push(PBin {
            ty: prep.types[t].all,
            counts,
        });
        s -= idx;
    }
    Some((dp[top].0, bins))
}
