//! Tests of the packing and the bound: feasibility, validity of the bound against brute-force
//! optima, determinism, degenerate inputs.

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// Exact optimum by dynamic programming over the vector of pods left, for tiny instances.
fn brute_optimum(groups: &[PodGroup], types: &[TypeOption]) -> f64 {
    fn rec(
        groups: &[PodGroup],
        types: &[TypeOption],
        left: Vec<u32>,
        memo: &mut HashMap<Vec<u32>, f64>,
    ) -> f64 {
        if left.iter().all(|&k| k == 0) {
            return 0.0;
        }
        if let Some(&v) = memo.get(&left) {
            return v;
        }
        let mut best = f64::INFINITY;
        for (ti, t) in types.iter().enumerate() {
            if !(t.price.is_finite() && t.price >= 0.0) {
                continue;
            }
            // Every non-empty pattern a ≤ left of groups compatible with ti fitting t.
            let mut a = vec![0u32; left.len()];
            loop {
                // Next vector in mixed radix.
                let mut i = 0;
                while i < a.len() {
                    if a[i] < left[i] {
                        a[i] += 1;
                        break;
                    }
                    a[i] = 0;
                    i += 1;
                }
                if i == a.len() {
                    break;
                }
                let ok = a
                    .iter()
                    .enumerate()
                    .all(|(g, &k)| k == 0 || groups[g].compatible.contains(&ti))
                    && (0..t.allocatable.len().max(groups[0].demand.len())).all(|d| {
                        let used: i64 = a
                            .iter()
                            .enumerate()
                            .map(|(g, &k)| {
                                i64::from(k) * groups[g].demand.get(d).copied().unwrap_or(0)
                            })
                            .sum();
                        used <= t.allocatable.get(d).copied().unwrap_or(0)
                    });
                if ok {
                    let rest: Vec<u32> = left.iter().zip(&a).map(|(l, k)| l - k).collect();
                    let v = t.price + rec(groups, types, rest, memo);
                    if v < best {
                        best = v;
                    }
                }
            }
        }
        memo.insert(left, best);
        best
    }
    rec(
        groups,
        types,
        groups.iter().map(|g| g.count).collect(),
        &mut HashMap::new(),
    )
}

/// Checks that `p` places every placeable pod exactly once, respects compatibility and
/// allocatable, and that its cost is the sum of its bins' prices.
fn check_feasible(groups: &[PodGroup], types: &[TypeOption], p: &Packing) {
    let mut placed = vec![0u64; groups.len()];
    let mut cost = 0.0;
    for b in &p.bins {
        let t = &types[b.type_index];
        cost += t.price;
        assert!(!b.counts.is_empty(), "empty bin");
        let dims = t
            .allocatable
            .len()
            .max(groups.iter().map(|g| g.demand.len()).max().unwrap_or(0));
        for d in 0..dims {
            let used: i64 = b
                .counts
                .iter()
                .map(|&(g, k)| i64::from(k) * groups[g].demand.get(d).copied().unwrap_or(0).max(0))
                .sum();
            assert!(
                used <= t.allocatable.get(d).copied().unwrap_or(0).max(0),
                "bin over allocatable in dim {d}: {b:?}"
            );
        }
        for &(g, k) in &b.counts {
            assert!(k > 0);
            assert!(
                groups[g].compatible.contains(&b.type_index),
                "group {g} on incompatible type"
            );
            placed[g] += u64::from(k);
        }
    }
    for (g, u) in &p.unplaceable {
        placed[*g] += u64::from(*u);
    }
    for (g, grp) in groups.iter().enumerate() {
        assert_eq!(
            placed[g],
            u64::from(grp.count),
            "group {g} placed {} of {}",
            placed[g],
            grp.count
        );
    }
    assert!(
        (cost - p.cost).abs() <= 1e-9 * cost.max(1.0),
        "cost {cost} reported {}",
        p.cost
    );
}

#[test]
fn empty_inputs_give_empty_packing_and_zero_bound() {
    let s = solve(&[], &[]);
    assert!(s.packing.bins.is_empty());
    assert_eq!(s.lower_bound, 0.0);
    let types = vec![TypeOption {
        allocatable: vec![1000],
        price: 1.0,
    }];
    assert_eq!(pack(&[], &types).bins.len(), 0);
    let g = vec![PodGroup {
        demand: vec![100],
        count: 3,
        compatible: vec![0],
    }];
    let p = pack(&g, &[]);
    assert_eq!(p.unplaceable, vec![(0, 3)]);
    assert_eq!(lower_bound(&g, &[]), 0.0);
}

#[test]
fn oversized_and_bad_inputs_do_not_panic() {
    let types = vec![
        TypeOption {
            allocatable: vec![1000, 1000],
            price: 1.0,
        },
        TypeOption {
            allocatable: vec![4000],
            price: f64::NAN,
        },
        TypeOption {
            allocatable: vec![-5, 9000],
            price: -1.0,
        },
    ];
    let groups = vec![
        PodGroup {
            demand: vec![2000, 10],
            count: 2,
            compatible: vec![0, 1, 2, 99],
        },
        PodGroup {
            demand: vec![500, 500, 0],
            count: 3,
            compatible: vec![0, 0],
        },
        PodGroup {
            demand: vec![-3, 100],
            count: 0,
            compatible: vec![0],
        },
    ];
    let s = solve(&groups, &types);
    assert_eq!(s.packing.unplaceable, vec![(0, 2)]);
    assert_eq!(s.packing.bins.len(), 2);
    assert!((s.packing.cost - 2.0).abs() < 1e-12);
    assert!(s.lower_bound <= s.packing.cost + 1e-9);
    assert!(s.lower_bound >= 1.5 - 1e-9);
}

#[test]
fn two_small_nodes_beat_one_large_when_cheaper() {
    // 4 pods of 1 cpu: a 4-cpu node costs 1.0, a 2-cpu node 0.4.
    let types = vec![
        TypeOption {
            allocatable: vec![4000],
            price: 1.0,
        },
        TypeOption {
            allocatable: vec![2000],
            price: 0.4,
        },
    ];
    let groups = vec![PodGroup {
        demand: vec![1000],
        count: 4,
        compatible: vec![0, 1],
    }];
    let s = solve(&groups, &types);
    check_feasible(&groups, &types, &s.packing);
    assert!((s.packing.cost - 0.8).abs() < 1e-12);
    assert!((s.lower_bound - 0.8).abs() < 1e-9);
}

#[test]
fn output_is_deterministic() {
    let (groups, types) = sample(5, 40, 12);
    let a = solve(&groups, &types);
    let b = solve(&groups, &types);
    assert_eq!(a, b);
}

/// A pseudo-random instance (deterministic in `seed`).
fn sample(seed: u64, pods: u32, ntypes: usize) -> (Vec<PodGroup>, Vec<TypeOption>) {
    let mut s = seed.wrapping_add(0x9e3779b97f4a7c15);
    let mut rnd = |n: u64| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) % n.max(1)
    };
    let types: Vec<TypeOption> = (0..ntypes)
        .map(|_| {
            let cpu = 1000 * (1 + rnd(16) as i64);
            let mem = cpu * (2 + 2 * rnd(3) as i64);
            TypeOption {
                allocatable: vec![cpu, mem, 8 + rnd(50) as i64],
                price: 0.02 * cpu as f64 / 1000.0 * (0.8 + rnd(5) as f64 / 10.0),
            }
        })
        .collect();
    let ng = 1 + rnd(4) as usize;
    let groups = (0..ng)
        .map(|_| {
            let cpu = 250 * (1 + rnd(8) as i64);
            let compatible: Vec<usize> = (0..ntypes).filter(|_| rnd(4) != 0).collect();
            PodGroup {
                demand: vec![cpu, cpu * (1 + rnd(4) as i64), 1],
                count: 1 + rnd(u64::from(pods)) as u32,
                compatible,
            }
        })
        .collect();
    (groups, types)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn bound_never_exceeds_packing_and_packing_is_feasible(seed in 0u64..u64::MAX, pods in 1u32..200, ntypes in 1usize..25) {
        let (groups, types) = sample(seed, pods, ntypes);
        let s = solve(&groups, &types);
        check_feasible(&groups, &types, &s.packing);
        prop_assert!(s.lower_bound <= s.packing.cost * (1.0 + 1e-9) + 1e-12);
        prop_assert!(s.lower_bound >= 0.0);
    }

    #[test]
    fn bound_never_exceeds_brute_force_optimum(seed in 0u64..u64::MAX, ntypes in 1usize..4) {
        let (mut groups, types) = sample(seed, 4, ntypes);
        groups.truncate(2);
        for g in &mut groups { g.count = g.count.min(4); }
        let opt = brute_optimum(&groups, &types);
        let s = solve(&groups, &types);
        check_feasible(&groups, &types, &s.packing);
        if opt.is_finite() {
            prop_assert!(s.lower_bound <= opt * (1.0 + 1e-9) + 1e-12, "bound {} > optimum {}", s.lower_bound, opt);
            prop_assert!(s.packing.cost >= opt * (1.0 - 1e-9) - 1e-12);
        }
    }
}

#[test]
fn tiny_instances_are_solved_exactly() {
    let mut total = 0;
    for seed in 0..300u64 {
        let (mut groups, types) = sample(seed * 7919 + 1, 5, 1 + (seed % 4) as usize);
        groups.truncate(3);
        for g in &mut groups {
            g.count = g.count.min(5);
        }
        let opt = brute_optimum(&groups, &types);
        if !opt.is_finite() {
            continue;
        }
        let s = solve(&groups, &types);
        check_feasible(&groups, &types, &s.packing);
        total += 1;
        assert!(s.stats.exact, "seed {seed}: not solved exactly");
        assert!(
            (s.packing.cost - opt).abs() <= 1e-9 * opt.max(1.0),
            "seed {seed}: cost {} optimum {opt}",
            s.packing.cost
        );
        assert!(
            (s.lower_bound - opt).abs() <= 1e-9 * opt.max(1.0),
            "seed {seed}: bound {} optimum {opt}",
            s.lower_bound
        );
    }
    assert!(total > 100);
}

#[test]
fn column_generation_bound_is_valid_on_small_instances_beyond_the_exact_limit() {
    // 3 groups of up to 12 pods: Π(n+1) > 512, so the LP path runs; the brute force still can.
    let mut checked = 0;
    for seed in 0..60u64 {
        let (mut groups, types) = sample(seed * 104729 + 3, 12, 2 + (seed % 3) as usize);
        groups.truncate(3);
        for g in &mut groups {
            g.count = 7 + g.count % 6;
        }
        let states: usize = groups.iter().map(|g| g.count as usize + 1).product();
        let opt = brute_optimum(&groups, &types);
        if !opt.is_finite() || states <= exact::MAX_STATES {
            continue;
        }
        let s = solve(&groups, &types);
        assert!(!s.stats.exact);
        check_feasible(&groups, &types, &s.packing);
        assert!(
            s.lower_bound <= opt * (1.0 + 1e-9) + 1e-12,
            "seed {seed}: bound {} > optimum {opt}",
            s.lower_bound
        );
        assert!(s.packing.cost >= opt * (1.0 - 1e-9) - 1e-12);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} instances checked");
}

/// Hostile values: huge, negative, zero, missing dimensions, bad prices, bad indices.
fn hostile_value() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(-1i64),
        Just(i64::MAX),
        Just(i64::MAX / 3),
        Just(i64::MIN),
        1i64..10_000,
        1_000_000_000_000i64..4_000_000_000_000_000,
    ]
}

fn hostile_price() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-1.0),
        Just(0.0),
        Just(1e300),
        0.001f64..50.0,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hostile_inputs_never_panic_and_stay_feasible(
        types in prop::collection::vec((prop::collection::vec(hostile_value(), 0..4), hostile_price()), 0..6),
        groups in prop::collection::vec(
            (prop::collection::vec(hostile_value(), 0..4), 0u32..40, prop::collection::vec(0usize..8, 0..6)),
            0..4,
        ),
    ) {
        let types: Vec<TypeOption> = types
            .into_iter()
            .map(|(allocatable, price)| TypeOption { allocatable, price })
            .collect();
        let groups: Vec<PodGroup> = groups
            .into_iter()
            .map(|(demand, count, compatible)| PodGroup { demand, count, compatible })
            .collect();
        let s = solve(&groups, &types);
        // Feasibility with the same reading of the input as the solver (padding, clamping).
        let mut placed = vec![0u64; groups.len()];
        for b in &s.packing.bins {
            let t = &types[b.type_index];
            prop_assert!(t.price.is_finite() && t.price >= 0.0);
            for d in 0..8 {
                let cap = t.allocatable.get(d).copied().unwrap_or(0).max(0);
                let used = b.counts.iter().fold(0i128, |acc, &(g, k)| {
                    acc + i128::from(k) * i128::from(groups[g].demand.get(d).copied().unwrap_or(0).max(0))
                });
                prop_assert!(used <= i128::from(cap));
            }
            for &(g, k) in &b.counts {
                prop_assert!(groups[g].compatible.contains(&b.type_index));
                placed[g] += u64::from(k);
            }
        }
        for &(g, k) in &s.packing.unplaceable {
            placed[g] += u64::from(k);
        }
        for (g, grp) in groups.iter().enumerate() {
            prop_assert_eq!(placed[g], u64::from(grp.count));
        }
        prop_assert!(s.lower_bound >= 0.0 && s.lower_bound <= s.packing.cost * (1.0 + 1e-9) + 1e-12);
    }
}

#[test]
fn two_pods_of_maximal_size_take_two_nodes() {
    let types = vec![TypeOption {
        allocatable: vec![i64::MAX, i64::MAX],
        price: 1e300,
    }];
    let groups = vec![PodGroup {
        demand: vec![i64::MAX],
        count: 2,
        compatible: vec![0],
    }];
    let s = solve(&groups, &types);
    assert_eq!(s.packing.bins.len(), 2, "{s:?}");
}

#[test]
fn bound_is_valid_and_packing_feasible_whatever_the_work_budget() {
    // The LP path (beyond the exact limit) stopped at every budget from nothing to plenty: the
    // bound must stay below the optimum and the packing must place every pod.
    let mut checked = 0;
    for seed in 0..40u64 {
        let (mut groups, types) = sample(seed * 7_368_787 + 11, 12, 2 + (seed % 3) as usize);
        groups.truncate(3);
        for g in &mut groups {
            g.count = 7 + g.count % 6;
        }
        let states: usize = groups.iter().map(|g| g.count as usize + 1).product();
        let opt = brute_optimum(&groups, &types);
        if !opt.is_finite() || states <= exact::MAX_STATES {
            continue;
        }
        for budget in [0u64, 1, 10, 100, 1_000, 10_000, u64::MAX] {
            let s = solve_with_budget(&groups, &types, budget);
            check_feasible(&groups, &types, &s.packing);
            assert!(
                s.lower_bound <= opt * (1.0 + 1e-9) + 1e-12,
                "seed {seed} budget {budget}: bound {} > optimum {opt}",
                s.lower_bound
            );
            assert!(s.packing.cost >= opt * (1.0 - 1e-9) - 1e-12);
            assert_eq!(
                s,
                solve_with_budget(&groups, &types, budget),
                "not deterministic"
            );
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} instances checked");
}

#[test]
fn spent_budget_keeps_the_bound_proven_on_a_large_instance() {
    // 2,000 pods over 25 types: with no budget the bound is at least the per-dimension one and
    // never above the packing; the default budget is at least as tight here.
    let (groups, types) = sample(99, 2_000, 25);
    let none = solve_with_budget(&groups, &types, 0);
    let full = solve(&groups, &types);
    check_feasible(&groups, &types, &none.packing);
    assert!(none.lower_bound > 0.0);
    assert!(none.lower_bound <= none.packing.cost * (1.0 + 1e-9));
    assert!(none.lower_bound <= full.packing.cost * (1.0 + 1e-9));
    assert!(full.lower_bound <= none.packing.cost * (1.0 + 1e-9));
    assert!(none.stats.work <= 2 * 25 * 16, "work {}", none.stats.work);
}
