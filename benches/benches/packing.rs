//! Packing quality and speed on the issue-4 workloads: for each workload prints the cost of
//! `packing::solve`, its proven lower bound and their ratio, and the same for a Karpenter-style
//! first-fit-decreasing packing; then times `solve` with criterion.

use criterion::Criterion;
use karpenter_benches::packing_workloads::{
    catalogs, first_fit_decreasing, instance, workloads, CatalogType,
};
use karpenter_scheduling::packing;
use std::hint::black_box;
use std::time::Instant;

fn report() {
    for (source, cat) in catalogs() {
        report_on(source, &cat);
    }
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
