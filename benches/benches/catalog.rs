//! Loading the built-in catalog and filtering it for a NodePool.
//!
//! `cargo bench -p karpenter-benches --bench catalog -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion};
use karpenter_catalog::{AllocatableOptions, Catalog, Requirement};
use std::hint::black_box;

fn nodepool() -> Vec<Requirement> {
    [
        "karpenter.k8s.aws/instance-category In c,m,r",
        "karpenter.k8s.aws/instance-generation Gt 5",
        "karpenter.k8s.aws/instance-cpu Lt 33",
        "kubernetes.io/arch In amd64,arm64",
        "karpenter.sh/capacity-type In spot,on-demand",
    ]
    .iter()
    .map(|r| Requirement::parse(r).expect("valid requirement"))
    .collect()
}

fn bench(c: &mut Criterion) {
    let reqs = nodepool();
    let opts = AllocatableOptions::default();
    c.bench_function("catalog/load_builtin_us_east_1", |b| {
        b.iter(|| Catalog::builtin(black_box("us-east-1"), &opts).expect("built-in"))
    });
    c.bench_function("catalog/load_and_filter_nodepool", |b| {
        b.iter(|| {
            let cat = Catalog::builtin(black_box("us-east-1"), &opts).expect("built-in");
            cat.into_filtered(black_box(&reqs))
        })
    });
    c.bench_function("catalog/parse_embedded_specs", |b| {
        b.iter(|| karpenter_catalog::builtin::specs().expect("specs"))
    });
    c.bench_function("catalog/parse_embedded_prices", |b| {
        b.iter(|| karpenter_catalog::builtin::PriceTable::load().expect("prices"))
    });
    let cat = Catalog::builtin("us-east-1", &opts).expect("built-in");
    c.bench_function("catalog/filter_nodepool_by_reference", |b| {
        b.iter(|| cat.matching(black_box(&reqs)).count())
    });
    c.bench_function("catalog/filter_nodepool_cloned", |b| {
        b.iter(|| cat.filter(black_box(&reqs)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
