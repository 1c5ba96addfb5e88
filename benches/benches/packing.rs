//! Packing quality and speed on the issue-4 workloads: for each workload prints the cost of
//! `packing::solve`, its proven lower bound and their ratio, and the same for a Karpenter-style
//! first-fit-decreasing packing; then times `solve` with criterion.

use criterion::Criterion;
use karpenter_benches::packing_workloads::{
    catalogs, first_fit_decreasing, instance, random_workloads, workloads, CatalogType,
};
use karpenter_scheduling::packing;
use std::hint::black_box;
use std::time::Instant;

fn report() {
    for (source, cat) in catalogs() {
        report_on(source, &cat);
        sweep(source, &cat);
    }
}

/// Ratios over 30 seeded random workloads of the same kind.
fn sweep(source: &str, cat: &[CatalogType]) {
    let mut ours: Vec<f64> = Vec::new();
    let mut ffd: Vec<f64> = Vec::new();
    let mut ms: Vec<f64> = Vec::new();
    for w in random_workloads(42, 30) {
        let (groups, types) = instance(cat, &w);
        let start = Instant::now();
        let s = packing::solve(&groups, &types);
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(s.packing.unplaceable.is_empty());
        ours.push(s.ratio());
        ffd.push(first_fit_decreasing(&groups, &types).cost / s.lower_bound);
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (v[0], mean, v[v.len() - 1])
    };
    let above_2 = ours.iter().filter(|&&r| r > 1.02).count();
    let above_3 = ours.iter().filter(|&&r| r > 1.03).count();
    let (omin, omean, omax) = stats(&mut ours);
    let (fmin, fmean, fmax) = stats(&mut ffd);
    let (_, tmean, tmax) = stats(&mut ms);
    println!(
        "sweep on {source}: 30 random workloads (400-2000 pods, 2-12 deployments): \
         ours/lb min {omin:.4} mean {omean:.4} max {omax:.4} (above 1.02: {above_2}, above 1.03: {above_3}); ffd/lb min {fmin:.4} mean {fmean:.4} max {fmax:.4}; \
         solve ms mean {tmean:.1} max {tmax:.1}"
    );
}

fn report_on(source: &str, cat: &[CatalogType]) {
    println!("catalog: {source}, {} instance types", cat.len());
    println!(
        "{:<18} {:>5} {:>6} {:>10} {:>10} {:>8} {:>10} {:>8} {:>6} {:>6} {:>9} {:>6} {:>5} {:>4} {:>10} {:>10} {:>10}",
        "workload", "pods", "groups", "bound", "ours", "ours/lb", "ffd", "ffd/lb", "nodes", "ffd-n", "solve ms", "rounds", "cols", "conv", "greedy", "rounded", "lp"
    );
    for w in workloads() {
        let (groups, types) = instance(cat, &w);
        let start = Instant::now();
        let s = packing::solve(&groups, &types);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let ffd = first_fit_decreasing(&groups, &types);
        let pods: u32 = groups.iter().map(|g| g.count).sum();
        println!(
            "{:<18} {:>5} {:>6} {:>10.4} {:>10.4} {:>8.4} {:>10.4} {:>8.4} {:>6} {:>6} {:>9.1} {:>6} {:>5} {:>4} {:>10.4} {:>10.4} {:>10.4}",
            w.name,
            pods,
            groups.len(),
            s.lower_bound,
            s.packing.cost,
            s.ratio(),
            ffd.cost,
            ffd.cost / s.lower_bound,
            s.packing.bins.len(),
            ffd.bins.len(),
            ms,
            s.stats.rounds,
            s.stats.columns,
            s.stats.converged,
            s.stats.greedy_cost,
            s.stats.rounded_cost.unwrap_or(f64::NAN),
            s.stats.lp_value.unwrap_or(f64::NAN),
        );
        assert!(
            s.packing.unplaceable.is_empty(),
            "{}: unplaceable pods",
            w.name
        );
        assert!(s.lower_bound <= s.packing.cost + 1e-9);
    }
}

fn bench(c: &mut Criterion) {
    for (i, (_, cat)) in catalogs().into_iter().enumerate() {
        let mut g = c.benchmark_group(if i == 0 {
            "packing_solve"
        } else {
            "packing_solve_all_types"
        });
        for w in workloads() {
            let (groups, types) = instance(&cat, &w);
            g.bench_function(w.name, |b| {
                b.iter(|| packing::solve(black_box(&groups), black_box(&types)))
            });
        }
        g.finish();
    }
}

fn main() {
    report();
    if std::env::args().any(|a| a == "--report-only") {
        return;
    }
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    bench(&mut c);
    c.final_summary();
}
