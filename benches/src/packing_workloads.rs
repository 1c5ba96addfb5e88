//! Workloads for the packing-quality benchmark: a catalog of instance types turned into
//! [`TypeOption`]s (on-demand and spot separately), realistic pod mixes as [`PodGroup`]s, and a
//! Karpenter-style first-fit-decreasing baseline to compare against.

use karpenter_catalog::{AllocatableOptions, CapacityType, Catalog, InstanceType};
use karpenter_scheduling::packing::{Bin, Packing, PodGroup, TypeOption};

/// CPU architecture of an instance type or a deployment's node selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64.
    Amd64,
    /// Graviton.
    Arm64,
}

/// One instance type as the benchmark needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogType {
    /// EC2 name.
    pub name: String,
    /// CPU architecture.
    pub arch: Arch,
    /// Allocatable `[cpu milli, memory milli-bytes, pods milli]` before daemonsets.
    pub allocatable: [i64; 3],
    /// Cheapest on-demand price, USD/h.
    pub on_demand: Option<f64>,
    /// Cheapest spot price, USD/h.
    pub spot: Option<f64>,
}

/// Capacity type a deployment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// On-demand only.
    OnDemand,
    /// Spot only.
    Spot,
}

/// Memory in milli-units for `mib` MiB.
pub const fn mib(mib: i64) -> i64 {
    mib * 1024 * 1024 * 1000
}

/// One deployment: `count` pods of `cpu` milli-cpu and `mem_mib` MiB, on an architecture (or
/// either) and a capacity type.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// Pod cpu request, milli.
    pub cpu: i64,
    /// Pod memory request, MiB.
    pub mem_mib: i64,
    /// Replicas.
    pub count: u32,
    /// Required architecture, `None` for either.
    pub arch: Option<Arch>,
    /// Capacity type.
    pub capacity: Capacity,
}

/// A named benchmark workload.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name for reports.
    pub name: &'static str,
    /// The deployments.
    pub deployments: Vec<Deployment>,
}

/// Daemonset requests subtracted from every node: aws-node, kube-proxy, ebs-csi-node.
pub const DAEMONSETS: [i64; 3] = [150 + 100 + 30, 256 * 1024 * 1024 * 1000, 3000];

/// The options and the groups of `workload` on `catalog`: each type appears twice, on-demand
/// (index `2i`) and spot (index `2i + 1`), with a price of `f64::INFINITY` (never used) when the
/// type has no such offering.
pub fn instance(catalog: &[CatalogType], workload: &Workload) -> (Vec<PodGroup>, Vec<TypeOption>) {
    let mut types = Vec::with_capacity(catalog.len() * 2);
    for t in catalog {
        let alloc: Vec<i64> = t
            .allocatable
            .iter()
            .zip(DAEMONSETS)
            .map(|(a, d)| (a - d).max(0))
            .collect();
        types.push(TypeOption {
            allocatable: alloc.clone(),
            price: t.on_demand.unwrap_or(f64::INFINITY),
        });
        types.push(TypeOption {
            allocatable: alloc,
            price: t.spot.unwrap_or(f64::INFINITY),
        });
    }
    let groups = workload
        .deployments
        .iter()
        .map(|d| PodGroup {
            demand: vec![d.cpu, mib(d.mem_mib), 1000],
            count: d.count,
            compatible: catalog
                .iter()
                .enumerate()
                .filter(|(_, t)| d.arch.is_none_or(|a| a == t.arch))
                .map(|(i, _)| match d.capacity {
                    Capacity::OnDemand => 2 * i,
                    Capacity::Spot => 2 * i + 1,
                })
                .filter(|&i| types[i].price.is_finite())
                .collect(),
        })
        .collect();
    (groups, types)
}

fn dep(cpu: i64, mem_mib: i64, count: u32, arch: Option<Arch>, capacity: Capacity) -> Deployment {
    Deployment {
        cpu,
        mem_mib,
        count,
        arch,
        capacity,
    }
}

/// The workloads of issue 4: web services of 250m/512Mi and 1 cpu/2Gi pods, batch pods of
/// 2 cpu/4Gi on spot, mixed arm64-only and amd64-only deployments, 400 to 2,000 pods.
pub fn workloads() -> Vec<Workload> {
    use Arch::*;
    use Capacity::*;
    vec![
        Workload {
            name: "web-400",
            deployments: vec![
                dep(250, 512, 300, None, OnDemand),
                dep(1000, 2048, 100, None, OnDemand),
            ],
        },
        Workload {
            name: "web+batch-1000",
            deployments: vec![
                dep(250, 512, 500, None, OnDemand),
                dep(1000, 2048, 200, None, OnDemand),
                dep(2000, 4096, 300, None, Spot),
            ],
        },
        Workload {
            name: "mixed-arch-1200",
            deployments: vec![
                dep(250, 512, 300, Some(Arm64), OnDemand),
                dep(1000, 2048, 150, Some(Arm64), OnDemand),
                dep(250, 512, 250, Some(Amd64), OnDemand),
                dep(1000, 2048, 200, Some(Amd64), OnDemand),
                dep(2000, 4096, 300, None, Spot),
            ],
        },
        Workload {
            name: "mixed-2000",
            deployments: vec![
                dep(250, 512, 400, None, OnDemand),
                dep(1000, 2048, 300, None, OnDemand),
                dep(500, 1024, 200, Some(Arm64), OnDemand),
                dep(250, 512, 150, Some(Arm64), OnDemand),
                dep(1000, 2048, 150, Some(Amd64), OnDemand),
                dep(1500, 3072, 100, Some(Amd64), OnDemand),
                dep(500, 4096, 100, Some(Amd64), OnDemand),
                dep(2000, 4096, 400, None, Spot),
                dep(2000, 4096, 100, Some(Arm64), Spot),
                dep(4000, 8192, 100, Some(Amd64), Spot),
            ],
        },
        Workload {
            name: "many-groups-2000",
            deployments: (0..20u32)
                .map(|i| {
                    let cpu = [250, 500, 1000, 1500, 2000][(i % 5) as usize];
                    let ratio = [2, 4, 1, 8][(i % 4) as usize];
                    let arch = [None, Some(Arm64), Some(Amd64)][(i % 3) as usize];
                    let capacity = if i % 4 == 3 { Spot } else { OnDemand };
                    dep(cpu, cpu * ratio * 1024 / 1000, 60 + 7 * i, arch, capacity)
                })
                .collect(),
        },
    ]
}

/// `n` seeded pseudo-random workloads in the style of issue 4: between 2 and 12 deployments
/// drawn from web (250m/512Mi, 1 cpu/2Gi, 500m/1Gi), batch on spot (2 cpu/4Gi, 4 cpu/8Gi) and
/// memory-heavy (500m/4Gi) shapes, each arm64-only, amd64-only or either, with 400 to 2,000 pods
/// in total. Deterministic in `seed`.
pub fn random_workloads(seed: u64, n: usize) -> Vec<Workload> {
    let mut s = seed ^ 0x2545_f491_4f6c_dd1d;
    let mut rnd = move |m: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % m.max(1)
    };
    let shapes: [(i64, i64, Capacity); 6] = [
        (250, 512, Capacity::OnDemand),
        (1000, 2048, Capacity::OnDemand),
        (500, 1024, Capacity::OnDemand),
        (2000, 4096, Capacity::Spot),
        (4000, 8192, Capacity::Spot),
        (500, 4096, Capacity::OnDemand),
    ];
    (0..n)
        .map(|_| {
            let k = 2 + rnd(11) as usize;
            let total = 400 + rnd(1601) as u32;
            let mut weights: Vec<u32> = (0..k).map(|_| 1 + rnd(10) as u32).collect();
            let sum: u32 = weights.iter().sum();
            for w in &mut weights {
                *w = (*w * total / sum).max(1);
            }
            Workload {
                name: "random",
                deployments: weights
                    .into_iter()
                    .map(|count| {
                        let (cpu, mem, capacity) = shapes[rnd(shapes.len() as u64) as usize];
                        let arch = [None, Some(Arch::Arm64), Some(Arch::Amd64)][rnd(3) as usize];
                        dep(cpu, mem, count, arch, capacity)
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Karpenter-style packing: pods sorted by cpu then memory, largest first; each pod goes onto
/// the first open node claim whose remaining candidate types still fit everything on it plus
/// the pod, otherwise onto a new claim with every compatible type that fits it; each claim
/// finally launches the cheapest of its remaining candidates.
pub fn first_fit_decreasing(groups: &[PodGroup], types: &[TypeOption]) -> Packing {
    struct Claim {
        used: Vec<i64>,
        candidates: Vec<usize>,
        counts: Vec<u32>,
    }
    let dims = groups.iter().map(|g| g.demand.len()).max().unwrap_or(0);
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| groups[b].demand.cmp(&groups[a].demand).then(a.cmp(&b)));
    let fits = |t: usize, used: &[i64]| -> bool {
        (0..dims).all(|d| used[d] <= types[t].allocatable.get(d).copied().unwrap_or(0))
    };
    let mut claims: Vec<Claim> = Vec::new();
    let mut unplaceable = Vec::new();
    for g in order {
        let grp = &groups[g];
        let usable: Vec<usize> = grp
            .compatible
            .iter()
            .copied()
            .filter(|&t| t < types.len() && types[t].price.is_finite())
            .collect();
        for _ in 0..grp.count {
            let mut placed = false;
            for c in claims.iter_mut() {
                let used: Vec<i64> = (0..dims).map(|d| c.used[d] + grp.demand[d]).collect();
                let cands: Vec<usize> = c
                    .candidates
                    .iter()
                    .copied()
                    .filter(|t| usable.contains(t) && fits(*t, &used))
                    .collect();
                if !cands.is_empty() {
                    c.used = used;
                    c.candidates = cands;
                    c.counts[g] += 1;
                    placed = true;
                    break;
                }
            }
            if placed {
                continue;
            }
            let cands: Vec<usize> = usable
                .iter()
                .copied()
                .filter(|&t| fits(t, &grp.demand))
                .collect();
            if cands.is_empty() {
                match unplaceable.last_mut() {
                    Some((lg, n)) if *lg == g => *n += 1,
                    _ => unplaceable.push((g, 1)),
                }
                continue;
            }
            let mut counts = vec![0; groups.len()];
            counts[g] = 1;
            claims.push(Claim {
                used: grp.demand.clone(),
                candidates: cands,
                counts,
            });
        }
    }
    let mut cost = 0.0;
    let bins = claims
        .into_iter()
        .filter_map(|c| {
            let t = c
                .candidates
                .iter()
                .copied()
                .min_by(|&a, &b| types[a].price.total_cmp(&types[b].price).then(a.cmp(&b)))?;
            cost += types[t].price;
            Some(Bin {
                type_index: t,
                counts: c
                    .counts
                    .iter()
                    .enumerate()
                    .filter(|(_, &k)| k > 0)
                    .map(|(g, &k)| (g, k))
                    .collect(),
            })
        })
        .collect();
    Packing {
        bins,
        unplaceable,
        cost,
    }
}

/// A generated stand-in for the us-east-1 catalog: general purpose, compute and memory
/// families of several generations on both architectures, sizes large to 48xlarge, with
/// on-demand prices per vCPU close to the published ones and spot at 30–45 % of on-demand.
pub fn generated_catalog() -> Vec<CatalogType> {
    // (family, arch, GiB per vCPU, on-demand USD per vCPU-hour)
    let families: [(&str, Arch, i64, f64); 15] = [
        ("m5", Arch::Amd64, 4, 0.048),
        ("m5a", Arch::Amd64, 4, 0.043),
        ("m6i", Arch::Amd64, 4, 0.048),
        ("m6a", Arch::Amd64, 4, 0.0432),
        ("m7i", Arch::Amd64, 4, 0.0504),
        ("m6g", Arch::Arm64, 4, 0.0385),
        ("m7g", Arch::Arm64, 4, 0.0408),
        ("c5", Arch::Amd64, 2, 0.0425),
        ("c6i", Arch::Amd64, 2, 0.0425),
        ("c6a", Arch::Amd64, 2, 0.0383),
        ("c6g", Arch::Arm64, 2, 0.034),
        ("c7g", Arch::Arm64, 2, 0.0363),
        ("r5", Arch::Amd64, 8, 0.063),
        ("r6i", Arch::Amd64, 8, 0.063),
        ("r6g", Arch::Arm64, 8, 0.0504),
    ];
    let sizes: [(&str, i64); 9] = [
        ("large", 2),
        ("xlarge", 4),
        ("2xlarge", 8),
        ("4xlarge", 16),
        ("8xlarge", 32),
        ("12xlarge", 48),
        ("16xlarge", 64),
        ("24xlarge", 96),
        ("48xlarge", 192),
    ];
    let mut out = Vec::new();
    for (fi, (fam, arch, gib, per_vcpu)) in families.iter().enumerate() {
        for (si, (size, vcpu)) in sizes.iter().enumerate() {
            if *vcpu > 64 && *arch == Arch::Arm64 {
                continue;
            }
            let cpu = vcpu * 1000;
            let mem_mib = vcpu * gib * 1024;
            let pods: i64 = if *vcpu <= 2 {
                29
            } else if *vcpu <= 4 {
                58
            } else if *vcpu <= 16 {
                234
            } else {
                737
            };
            // kube-reserved: cpu 6% of the first core, 1% of the next, 0.5% of the next two,
            // 0.25% above; memory 11 MiB per pod + 255 MiB; eviction 100 MiB; VM overhead 7.5%.
            let reserved_cpu = 60 + 10 + 10 + (cpu - 4000).max(0) / 400;
            let reserved_mem = 11 * pods + 255 + 100;
            let mem = (mem_mib as f64 * 0.925) as i64 - reserved_mem;
            let od = per_vcpu * *vcpu as f64;
            let spot_factor = 0.30 + 0.15 * (((fi * 7 + si * 3) % 10) as f64 / 10.0);
            out.push(CatalogType {
                name: format!("{fam}.{size}"),
                arch: *arch,
                allocatable: [cpu - reserved_cpu, mib(mem), pods * 1000],
                on_demand: Some((od * 10000.0).round() / 10000.0),
                spot: Some((od * spot_factor * 10000.0).round() / 10000.0),
            });
        }
    }
    out
}

/// Whether an instance type is allowed by Karpenter's documented default NodePool example:
/// categories c, m and r, generation above 2.
pub fn default_nodepool_allows(it: &InstanceType) -> bool {
    let category = it.labels.get("karpenter.k8s.aws/instance-category");
    let generation = it
        .labels
        .get("karpenter.k8s.aws/instance-generation")
        .and_then(|g| g.parse::<u32>().ok());
    matches!(category.map(String::as_str), Some("c" | "m" | "r"))
        && generation.is_some_and(|g| g > 2)
}

/// The instance types of a catalog that `keep` allows, with their allocatable (default kubelet
/// settings) and their cheapest available on-demand and spot prices.
pub fn from_catalog(catalog: &Catalog, keep: impl Fn(&InstanceType) -> bool) -> Vec<CatalogType> {
    catalog
        .instance_types
        .iter()
        .filter(|it| keep(it))
        .filter_map(|it| {
            let arch = match it.labels.get("kubernetes.io/arch").map(String::as_str) {
                Some("arm64") => Arch::Arm64,
                Some("amd64") => Arch::Amd64,
                _ => return None,
            };
            let cheapest = |ct: CapacityType| {
                it.offerings
                    .iter()
                    .filter(|o| o.available && o.capacity_type == ct)
                    .map(|o| o.price)
                    .min_by(f64::total_cmp)
            };
            let alloc = it.allocatable();
            Some(CatalogType {
                name: it.name.clone(),
                arch,
                allocatable: [alloc.get("cpu"), alloc.get("memory"), alloc.get("pods")],
                on_demand: cheapest(CapacityType::OnDemand),
                spot: cheapest(CapacityType::Spot),
            })
        })
        .collect()
}

/// The catalogs the benchmark runs on, named: the built-in us-east-1 catalog as Karpenter's
/// default NodePool sees it (c/m/r, generation > 2) and whole; or the generated stand-in if the
/// built-in one cannot be built.
pub fn catalogs() -> Vec<(&'static str, Vec<CatalogType>)> {
    match Catalog::builtin("us-east-1", &AllocatableOptions::default()) {
        Ok(c) => vec![
            (
                "us-east-1 c/m/r gen>2",
                from_catalog(&c, default_nodepool_allows),
            ),
            ("us-east-1 all types", from_catalog(&c, |_| true)),
        ],
        Err(_) => vec![("generated stand-in", generated_catalog())],
    }
}
