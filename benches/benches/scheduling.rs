//! The scheduler on Karpenter's scheduling benchmark workload.
//!
//! 400 fake instance types `fake-it-i` (cpu i+1, memory 2(i+1)Gi, pods 10(i+1), overhead
//! 100m/10Mi, price (i+1)×0.3147483648, spot in two zones, on-demand in three), one unconstrained
//! NodePool, pods in five equal kinds (plain; zone spread maxSkew 1 DoNotSchedule; hostname spread
//! maxSkew 1; zonal pod affinity to its own label; hostname anti-affinity to app=nginx), for 1,
//! 100, 1,000, 5,000 and 20,000 pods; plus 100,000 plain pods on the built-in us-east-1 catalog.
//! Each iteration is a full `schedule()`: conversion of the Kubernetes objects included.
//!
//! `scheduling/diverse` and `scheduling/plain_builtin_us_east_1` measure the scheduler itself
//! (`optimize_packing` and `compute_lower_bound` off); `scheduling/diverse_full` and
//! `scheduling/plain_builtin_us_east_1_full` run with the defaults (as `karpenter simulate`
//! does), adding the packing module's re-pack and lower bound.
//!
//! `cargo bench -p karpenter-benches --bench scheduling -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use karpenter_benches::{builtin_pool, diverse_input, plain_input};
use karpenter_scheduling::{schedule, SchedulerInput};
use std::hint::black_box;
use std::time::Duration;

fn core(mut input: SchedulerInput) -> SchedulerInput {
    input.options.optimize_packing = false;
    input.options.compute_lower_bound = false;
    input
}

fn diverse(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduling/diverse");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for n in [1usize, 100, 1_000, 5_000, 20_000] {
        let input = core(diverse_input(n));
        g.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, i| {
            b.iter(|| schedule(black_box(i)).expect("valid input"))
        });
    }
    g.finish();
}

fn diverse_full(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduling/diverse_full");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for n in [1usize, 100, 1_000, 5_000, 20_000] {
        let input = diverse_input(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, i| {
            b.iter(|| schedule(black_box(i)).expect("valid input"))
        });
    }
    g.finish();
}

fn plain_builtin(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduling/plain_builtin_us_east_1");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    let pool = builtin_pool();
    let n = 100_000usize;
    let input = core(plain_input(pool, n));
    g.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, i| {
        b.iter(|| schedule(black_box(i)).expect("valid input"))
    });
    g.finish();
}

fn plain_builtin_full(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduling/plain_builtin_us_east_1_full");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    let n = 100_000usize;
    let input = plain_input(builtin_pool(), n);
    g.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, i| {
        b.iter(|| schedule(black_box(i)).expect("valid input"))
    });
    g.finish();
}

criterion_group!(
    benches,
    diverse,
    plain_builtin,
    diverse_full,
    plain_builtin_full
);
criterion_main!(benches);
