//! Normalisation of the caller's input: pads dimensions, drops unusable types, separates pods
//! that fit no compatible type, and prunes dominated types.

use super::{PodGroup, TypeOption};

/// A pod group that can be placed, in the solver's own indexing.
#[derive(Debug, Clone)]
pub(crate) struct PGroup {
    /// Index in the caller's `groups`.
    pub orig: usize,
    /// Demand per pod, padded to `dims`, negative entries read as zero.
    pub demand: Vec<i64>,
    /// Pods to place.
    pub count: u32,
    /// Usable types (indices into `Prepared::types`) that are compatible and hold one pod.
    pub types: Vec<usize>,
}

/// A usable instance type, in the solver's own indexing.
#[derive(Debug, Clone)]
pub(crate) struct PType {
    /// Index in the caller's `types`.
    pub orig: usize,
    /// Allocatable, padded to `dims`, negative entries read as zero.
    pub alloc: Vec<i64>,
    /// USD per hour (finite, non-negative).
    pub price: f64,
    /// Groups (indices into `Prepared::groups`) that may use it and of which one pod fits.
    pub groups: Vec<usize>,
    /// Index of this type in `Prepared::all_types`.
    pub all: usize,
}

/// The normalised instance.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    /// Number of resource dimensions.
    pub dims: usize,
    /// Placeable groups with at least one pod.
    pub groups: Vec<PGroup>,
    /// Non-dominated usable types compatible with at least one placeable group.
    pub types: Vec<PType>,
    /// All usable types (not pruned), for the final down-sizing of nodes.
    pub all_types: Vec<PType>,
    /// `(caller group index, pods)` that fit no compatible usable type.
    pub unplaceable: Vec<(usize, u32)>,
    /// For each of `all_types`, the set of groups that may use it, as a bitset.
    pub all_sets: Vec<Vec<u64>>,
}

fn pad(v: &[i64], dims: usize) -> Vec<i64> {
    (0..dims)
        .map(|d| v.get(d).copied().unwrap_or(0).max(0))
        .collect()
}

fn fits(demand: &[i64], alloc: &[i64]) -> bool {
    demand.iter().zip(alloc).all(|(w, c)| w <= c)
}

/// True if `v` dominates `u`: no more expensive, at least as large everywhere, and usable by
/// every group that can use `u`. Exact ties are broken by index so that one of them survives.
fn dominates(v: &PType, vi: usize, u: &PType, ui: usize, sets: &[Vec<u64>]) -> bool {
    if v.price > u.price || !v.alloc.iter().zip(&u.alloc).all(|(a, b)| a >= b) {
        return false;
    }
    if !sets[ui].iter().zip(&sets[vi]).all(|(su, sv)| su & !sv == 0) {
        return false;
    }
    let strictly = v.price < u.price
        || v.alloc.iter().zip(&u.alloc).any(|(a, b)| a > b)
        || sets[vi].iter().zip(&sets[ui]).any(|(sv, su)| sv & !su != 0);
    strictly || vi < ui
}

/// Builds the normalised instance. Never panics: out-of-range compatibility indices are
/// ignored, types with a non-finite or negative price are unusable.
pub(crate) fn prepare(groups: &[PodGroup], types: &[TypeOption]) -> Prepared {
    let dims = groups
        .iter()
        .map(|g| g.demand.len())
        .chain(types.iter().map(|t| t.allocatable.len()))
        .max()
        .unwrap_or(0);
    let usable: Vec<Option<Vec<i64>>> = types
        .iter()
        .map(|t| (t.price.is_finite() && t.price >= 0.0).then(|| pad(&t.allocatable, dims)))
        .collect();

    let mut pgroups = Vec::new();
    let mut unplaceable = Vec::new();
    // Compatible caller type indices per prepared group.
    let mut compat: Vec<Vec<usize>> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        if g.count == 0 {
            continue;
        }
        let demand = pad(&g.demand, dims);
        let mut ts: Vec<usize> = g
            .compatible
            .iter()
            .copied()
            .filter(|&t| {
                usable
                    .get(t)
                    .and_then(|a| a.as_ref())
                    .is_some_and(|a| fits(&demand, a))
            })
            .collect();
        ts.sort_unstable();
        ts.dedup();
        if ts.is_empty() {
            unplaceable.push((gi, g.count));
            continue;
        }
        compat.push(ts);
        pgroups.push(PGroup {
            orig: gi,
            demand,
            count: g.count,
            types: Vec::new(),
        });
    }

    // Usable types with at least one placeable group, in caller order.
    let mut groups_of: Vec<Vec<usize>> = vec![Vec::new(); types.len()];
    for (pg, ts) in compat.iter().enumerate() {
        for &t in ts {
            groups_of[t].push(pg);
        }
    }
    let all_types: Vec<PType> = (0..types.len())
        .filter(|&t| !groups_of[t].is_empty())
        .filter_map(|t| {
            usable[t].as_ref().map(|alloc| PType {
                orig: t,
                alloc: alloc.clone(),
                price: types[t].price,
                groups: groups_of[t].clone(),
                all: 0,
            })
        })
        .collect();
    let mut all_types = all_types;
    for (i, t) in all_types.iter_mut().enumerate() {
        t.all = i;
    }

    // Dominance pruning, comparing against cheaper-or-equal types only.
    let words = pgroups.len().div_ceil(64).max(1);
    let sets: Vec<Vec<u64>> = all_types
        .iter()
        .map(|t| {
            let mut s = vec![0u64; words];
            for &g in &t.groups {
                s[g / 64] |= 1 << (g % 64);
            }
            s
        })
        .collect();
    let mut by_price: Vec<usize> = (0..all_types.len()).collect();
    by_price.sort_by(|&a, &b| {
        all_types[a]
            .price
            .total_cmp(&all_types[b].price)
            .then(a.cmp(&b))
    });
    let mut keep = vec![true; all_types.len()];
    for &u in &by_price {
        let pu = all_types[u].price;
        // Candidates: every type no more expensive than u (ties included).
        let dominated = by_price
            .iter()
            .take_while(|&&v| all_types[v].price <= pu)
            .any(|&v| v != u && keep[v] && dominates(&all_types[v], v, &all_types[u], u, &sets));
        if dominated {
            keep[u] = false;
        }
    }
    let ptypes: Vec<PType> = all_types
        .iter()
        .zip(&keep)
        .filter(|(_, &k)| k)
        .map(|(t, _)| t.clone())
        .collect();
    for (ti, t) in ptypes.iter().enumerate() {
        for &g in &t.groups {
            pgroups[g].types.push(ti);
        }
    }
    Prepared {
        dims,
        groups: pgroups,
        types: ptypes,
        all_types,
        unplaceable,
        all_sets: sets,
    }
}
