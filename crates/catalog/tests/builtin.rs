//! The built-in catalog: reference allocatable figures, label derivation, coverage and prices.

use karpenter_catalog::allocatable::{GIB, MIB};
use karpenter_catalog::{AllocatableOptions, CapacityType, Catalog, InstanceType, Requirement};
use std::collections::HashMap;

fn catalog() -> Catalog {
    Catalog::builtin("us-east-1", &AllocatableOptions::default()).expect("built-in us-east-1")
}

fn get<'a>(c: &'a Catalog, name: &str) -> &'a InstanceType {
    c.get(name)
        .unwrap_or_else(|| panic!("{name} missing from the built-in catalog"))
}

fn label<'a>(it: &'a InstanceType, key: &str) -> Option<&'a str> {
    it.labels.get(key).map(String::as_str)
}

#[test]
fn m5_large_reference_figures() {
    let c = catalog();
    let it = get(&c, "m5.large");
    assert_eq!(it.capacity.get("pods"), 29_000);
    assert_eq!(it.capacity.get("cpu"), 2000);
    assert_eq!(it.capacity.get("memory"), 7577 * MIB);
    assert_eq!(it.capacity.get("ephemeral-storage"), 20 * GIB);
    let alloc = it.allocatable();
    assert_eq!(alloc.get("cpu"), 1930);
    // 7577Mi − (11×29+255)Mi − 100Mi eviction
    assert_eq!(alloc.get("memory"), (7577 - 574 - 100) * MIB);
    // 20Gi − 1Gi − 10%
    assert_eq!(alloc.get("ephemeral-storage"), 20 * GIB - GIB - 2 * GIB);
}

#[test]
fn m5_xlarge_kube_reserved() {
    let c = catalog();
    let it = get(&c, "m5.xlarge");
    assert_eq!(it.overhead.kube_reserved.get("cpu"), 80);
    assert_eq!(it.overhead.kube_reserved.get("memory"), 893 * MIB);
    assert_eq!(it.overhead.kube_reserved.get("ephemeral-storage"), GIB);
    assert_eq!(it.overhead.eviction_threshold.get("memory"), 100 * MIB);
    assert!(it.overhead.system_reserved.0.is_empty());
}

#[test]
fn ninety_six_vcpu_reserves_310m() {
    let c = catalog();
    let it = get(&c, "m5.24xlarge");
    assert_eq!(it.capacity.get("cpu"), 96_000);
    assert_eq!(it.overhead.kube_reserved.get("cpu"), 310);
}

#[test]
fn kubelet_overrides_change_allocatable() {
    let mut opts = AllocatableOptions {
        max_pods: Some(110),
        root_volume_size: 100 * GIB,
        ..Default::default()
    };
    opts.kube_reserved.set("cpu", 200);
    let c = Catalog::builtin("us-east-1", &opts).unwrap();
    let it = get(&c, "m5.large");
    assert_eq!(it.capacity.get("pods"), 110_000);
    assert_eq!(it.capacity.get("ephemeral-storage"), 100 * GIB);
    assert_eq!(
        it.overhead.kube_reserved.get("memory"),
        (11 * 110 + 255) * MIB
    );
    assert_eq!(it.allocatable().get("cpu"), 1800);
    opts.pods_per_core = Some(4);
    let c = Catalog::builtin("us-east-1", &opts).unwrap();
    assert_eq!(get(&c, "m5.large").capacity.get("pods"), 8000);
}

/// (type, category, family, generation, size, cpu, memory MiB, arch, cpu manufacturer,
/// hypervisor)
#[allow(clippy::type_complexity)]
const LABEL_CASES: &[(
    &str,
    &str,
    &str,
    &str,
    &str,
    &str,
    &str,
    &str,
    &str,
    Option<&str>,
)] = &[
    (
        "m5.large",
        "m",
        "m5",
        "5",
        "large",
        "2",
        "8192",
        "amd64",
        "intel",
        Some("nitro"),
    ),
    (
        "c6g.xlarge",
        "c",
        "c6g",
        "6",
        "xlarge",
        "4",
        "8192",
        "arm64",
        "aws",
        Some("nitro"),
    ),
    (
        "r6a.2xlarge",
        "r",
        "r6a",
        "6",
        "2xlarge",
        "8",
        "65536",
        "amd64",
        "amd",
        Some("nitro"),
    ),
    (
        "t3.medium",
        "t",
        "t3",
        "3",
        "medium",
        "2",
        "4096",
        "amd64",
        "intel",
        Some("nitro"),
    ),
    (
        "t2.micro",
        "t",
        "t2",
        "2",
        "micro",
        "1",
        "1024",
        "amd64",
        "intel",
        Some("xen"),
    ),
    (
        "m5.metal", "m", "m5", "5", "metal", "96", "393216", "amd64", "intel", None,
    ),
    (
        "g5.xlarge",
        "g",
        "g5",
        "5",
        "xlarge",
        "4",
        "16384",
        "amd64",
        "amd",
        Some("nitro"),
    ),
    (
        "p4d.24xlarge",
        "p",
        "p4d",
        "4",
        "24xlarge",
        "96",
        "1179648",
        "amd64",
        "intel",
        Some("nitro"),
    ),
    (
        "inf2.xlarge",
        "inf",
        "inf2",
        "2",
        "xlarge",
        "4",
        "16384",
        "amd64",
        "amd",
        Some("nitro"),
    ),
    (
        "i3.large",
        "i",
        "i3",
        "3",
        "large",
        "2",
        "15616",
        "amd64",
        "intel",
        Some("xen"),
    ),
    (
        "m7i-flex.large",
        "m",
        "m7i-flex",
        "7",
        "large",
        "2",
        "8192",
        "amd64",
        "intel",
        Some("nitro"),
    ),
    (
        "c4.large",
        "c",
        "c4",
        "4",
        "large",
        "2",
        "3840",
        "amd64",
        "intel",
        Some("xen"),
    ),
];

#[test]
fn labels_derived_for_representative_types() {
    let c = catalog();
    for &(name, cat, fam, gen, size, cpu, mem, arch, maker, hyp) in LABEL_CASES {
        let it = get(&c, name);
        let ctx = format!("{name}: {:?}", it.labels);
        assert_eq!(
            label(it, "node.kubernetes.io/instance-type"),
            Some(name),
            "{ctx}"
        );
        assert_eq!(label(it, "kubernetes.io/os"), Some("linux"), "{ctx}");
        assert_eq!(label(it, "kubernetes.io/arch"), Some(arch), "{ctx}");
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-category"),
            Some(cat),
            "{ctx}"
        );
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-family"),
            Some(fam),
            "{ctx}"
        );
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-generation"),
            Some(gen),
            "{ctx}"
        );
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-size"),
            Some(size),
            "{ctx}"
        );
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-cpu"),
            Some(cpu),
            "{ctx}"
        );
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-memory"),
            Some(mem),
            "{ctx}"
        );
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-cpu-manufacturer"),
            Some(maker),
            "{ctx}"
        );
        assert_eq!(
            label(it, "karpenter.k8s.aws/instance-hypervisor"),
            hyp,
            "{ctx}"
        );
        assert!(
            label(
                it,
                "karpenter.k8s.aws/instance-encryption-in-transit-supported"
            )
            .is_some(),
            "{ctx}"
        );
        assert!(
            !it.labels.contains_key("topology.kubernetes.io/zone"),
            "{ctx}"
        );
    }
}

#[test]
fn specific_labels_and_extended_resources() {
    let c = catalog();
    let m5 = get(&c, "m5.large");
    assert_eq!(
        label(m5, "karpenter.k8s.aws/instance-network-bandwidth"),
        Some("750")
    );
    assert_eq!(
        label(m5, "karpenter.k8s.aws/instance-ebs-bandwidth"),
        Some("4750")
    );
    assert_eq!(
        label(
            m5,
            "karpenter.k8s.aws/instance-encryption-in-transit-supported"
        ),
        Some("false")
    );
    assert_eq!(label(m5, "karpenter.k8s.aws/instance-gpu-count"), None);
    assert_eq!(m5.capacity.get("nvidia.com/gpu"), 0);

    let g5 = get(&c, "g5.xlarge");
    assert_eq!(
        label(g5, "karpenter.k8s.aws/instance-gpu-name"),
        Some("a10g")
    );
    assert_eq!(
        label(g5, "karpenter.k8s.aws/instance-gpu-manufacturer"),
        Some("nvidia")
    );
    assert_eq!(label(g5, "karpenter.k8s.aws/instance-gpu-count"), Some("1"));
    assert_eq!(
        label(g5, "karpenter.k8s.aws/instance-gpu-memory"),
        Some("22888")
    ); // EC2 reports 22888 MiB per A10G
    assert_eq!(
        label(g5, "karpenter.k8s.aws/instance-local-nvme"),
        Some("250")
    );
    assert_eq!(g5.capacity.get("nvidia.com/gpu"), 1000);

    let p4d = get(&c, "p4d.24xlarge");
    assert_eq!(p4d.capacity.get("nvidia.com/gpu"), 8000);
    assert_eq!(p4d.capacity.get("vpc.amazonaws.com/efa"), 4000);
    // 15 ENIs on the default card × 49 + 2, not 60 ENIs over all cards.
    assert_eq!(p4d.capacity.get("pods"), (15 * 49 + 2) * 1000);

    let inf2 = get(&c, "inf2.xlarge");
    assert_eq!(
        label(inf2, "karpenter.k8s.aws/instance-accelerator-name"),
        Some("inferentia2")
    );
    assert_eq!(
        label(inf2, "karpenter.k8s.aws/instance-accelerator-manufacturer"),
        Some("aws")
    );
    assert_eq!(
        label(inf2, "karpenter.k8s.aws/instance-accelerator-count"),
        Some("1")
    );
    assert_eq!(inf2.capacity.get("aws.amazon.com/neuron"), 1000);
    assert_eq!(inf2.capacity.get("aws.amazon.com/neuroncore"), 2000);

    let flex = get(&c, "m7i-flex.large");
    assert_eq!(
        label(flex, "karpenter.k8s.aws/instance-capability-flex"),
        Some("true")
    );
}

#[test]
fn coverage_and_positive_prices() {
    let c = catalog();
    assert!(
        c.instance_types.len() >= 700,
        "only {} built-in us-east-1 types",
        c.instance_types.len()
    );
    for it in &c.instance_types {
        assert!(!it.offerings.is_empty(), "{} has no offerings", it.name);
        for o in &it.offerings {
            assert!(o.price > 0.0 && o.price.is_finite(), "{} {:?}", it.name, o);
            assert!(o.zone.starts_with("us-east-1"), "{} {:?}", it.name, o);
            assert!(o
                .zone_id
                .as_deref()
                .is_some_and(|z| z.starts_with("use1-az")));
        }
        let od = it.cheapest(CapacityType::OnDemand).expect("on-demand");
        if let Some(spot) = it.cheapest(CapacityType::Spot) {
            assert!(spot.price < od.price, "{}: spot above on-demand", it.name);
        }
    }
    for fam in [
        "c4", "m4", "r4", "t2", "a1", "x2idn", "hpc7g", "d3", "z1d", "u7i-6tb",
    ] {
        assert!(
            c.instance_types
                .iter()
                .any(|it| it.name.starts_with(&format!("{fam}."))),
            "family {fam} missing"
        );
    }
    assert!(c.get("m3.large").is_none(), "retired families are left out");
    // names sorted so that get() can binary search
    assert!(c.instance_types.windows(2).all(|w| w[0].name < w[1].name));
}

#[test]
fn every_builtin_region_loads_with_zones() {
    for region in karpenter_catalog::builtin::REGIONS {
        let c = Catalog::builtin(region, &AllocatableOptions::default()).unwrap();
        assert!(
            c.instance_types.len() > 300,
            "{region}: {}",
            c.instance_types.len()
        );
        assert!(c.zones().len() >= 3, "{region}: {:?}", c.zones());
        let m5 = c.get("m5.large").expect("m5.large everywhere");
        assert!(m5.cheapest(CapacityType::OnDemand).unwrap().price >= 0.096);
    }
    let frankfurt = Catalog::builtin("eu-central-1", &AllocatableOptions::default()).unwrap();
    let p = frankfurt
        .get("m5.large")
        .unwrap()
        .cheapest(CapacityType::OnDemand)
        .unwrap()
        .price;
    assert!((p - 0.115).abs() < 0.002, "eu-central-1 m5.large {p}");
    let err = Catalog::builtin("mars-north-1", &AllocatableOptions::default()).unwrap_err();
    assert!(err.to_string().contains("mars-north-1"));
    assert!(err.to_string().contains("us-east-1"));
}

#[test]
fn spot_estimate_is_deterministic_and_in_range() {
    let a = catalog();
    let b = catalog();
    assert_eq!(a, b);
    for it in &a.instance_types {
        let od = it.cheapest(CapacityType::OnDemand).unwrap().price;
        for o in it
            .offerings
            .iter()
            .filter(|o| o.capacity_type == CapacityType::Spot)
        {
            let ratio = o.price / od;
            assert!(
                (0.29..0.56).contains(&ratio),
                "{} {} {ratio}",
                it.name,
                o.zone
            );
        }
    }
}

fn req(s: &str) -> Requirement {
    Requirement::parse(s).unwrap()
}

#[test]
fn nodepool_requirements_select_exactly() {
    let c = catalog();
    let reqs = vec![
        req("karpenter.k8s.aws/instance-category In [c,m,r]"),
        req("karpenter.k8s.aws/instance-generation Gt 5"),
        req("karpenter.k8s.aws/instance-cpu Lt 33"),
    ];
    let selected = c.filter(&reqs);
    assert!(selected.len() > 100, "{}", selected.len());
    for it in &c.instance_types {
        let cat = label(it, "karpenter.k8s.aws/instance-category").unwrap_or("");
        let gen: i64 = label(it, "karpenter.k8s.aws/instance-generation")
            .and_then(|g| g.parse().ok())
            .unwrap_or(0);
        let cpu = it.capacity.get("cpu") / 1000;
        let expect = ["c", "m", "r"].contains(&cat) && gen > 5 && cpu < 33;
        let got = selected.iter().any(|s| s.name == it.name);
        assert_eq!(expect, got, "{}", it.name);
    }
    assert!(selected.iter().any(|it| it.name == "m6i.8xlarge"));
    assert!(!selected.iter().any(|it| it.name == "m6i.12xlarge"));
    assert!(!selected.iter().any(|it| it.name == "m5.large"));

    // Offering requirements narrow offerings.
    let spot_a = c.filter(&[
        req("karpenter.k8s.aws/instance-family In m5"),
        req("karpenter.sh/capacity-type In spot"),
        req("topology.kubernetes.io/zone In us-east-1a"),
    ]);
    assert!(!spot_a.is_empty());
    for it in &spot_a {
        assert!(it
            .offerings
            .iter()
            .all(|o| o.capacity_type == CapacityType::Spot && o.zone == "us-east-1a"));
    }
    // Arch and GPU selection.
    let arm = c.filter(&[req("kubernetes.io/arch In arm64")]);
    assert!(arm
        .iter()
        .all(|it| label(it, "kubernetes.io/arch") == Some("arm64")));
    assert!(arm.iter().any(|it| it.name == "m7g.large"));
    let gpus = c.filter(&[req("karpenter.k8s.aws/instance-gpu-count Gt 0")]);
    assert!(gpus.iter().all(|it| it.capacity.get("nvidia.com/gpu") > 0));
    assert!(gpus.iter().any(|it| it.name == "g5.xlarge"));
    let no_gpu = c.filter(&[req("karpenter.k8s.aws/instance-gpu-name DoesNotExist")]);
    assert!(no_gpu.iter().any(|it| it.name == "m5.large"));
    assert!(!no_gpu.iter().any(|it| it.name == "g5.xlarge"));
}

#[test]
fn m5_family_lists_all_sizes() {
    let c = catalog();
    let m5: Vec<String> = c
        .filter(&[req("karpenter.k8s.aws/instance-family In m5")])
        .into_iter()
        .map(|it| it.name)
        .collect();
    for size in [
        "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge",
        "metal",
    ] {
        assert!(
            m5.contains(&format!("m5.{size}")),
            "m5.{size} missing: {m5:?}"
        );
    }
    assert_eq!(m5.len(), 9);
}

/// At least 95% of the built-in us-east-1 on-demand prices must be within 2% of Karpenter's
/// public static price table (kept outside the repository, beside the workspace).
#[test]
fn us_east_1_prices_match_the_public_reference() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/aws/ondemand_prices.csv"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("note: {path} is absent; skipping the reference price check");
        return;
    };
    let reference: HashMap<&str, f64> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let (region, name, price) = (f.next()?, f.next()?, f.next()?);
            (region == "us-east-1").then_some((name, price.parse().ok()?))
        })
        .collect();
    let c = catalog();
    let (mut compared, mut within, mut missing) = (0usize, 0usize, 0usize);
    let mut off = Vec::new();
    for it in &c.instance_types {
        let ours = it.cheapest(CapacityType::OnDemand).unwrap().price;
        match reference.get(it.name.as_str()) {
            Some(theirs) => {
                compared += 1;
                if ((ours - theirs) / theirs).abs() <= 0.02 {
                    within += 1;
                } else {
                    off.push(format!("{} {ours} vs {theirs}", it.name));
                }
            }
            None => missing += 1,
        }
    }
    let share = within as f64 / compared as f64;
    println!(
        "reference check: {within}/{compared} within 2% ({:.2}%), {missing} types not in the reference; off: {off:?}",
        share * 100.0
    );
    assert!(compared >= 700, "only {compared} types compared");
    assert!(share >= 0.95, "{:.2}% within 2%: {off:?}", share * 100.0);
}

fn reference_csv(name: &str) -> Option<Vec<HashMap<String, String>>> {
    let path = format!(
        "{}/../../../shared/reference/aws/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("note: {path} is absent; skipping this reference check");
        return None;
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    Some(
        lines
            .map(|l| {
                header
                    .iter()
                    .zip(l.split(','))
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect(),
    )
}

/// Max pods and the network-bandwidth label agree with Karpenter's public tables.
#[test]
fn pods_and_bandwidth_match_the_public_reference() {
    let c = catalog();
    if let Some(rows) = reference_csv("eni_limits.csv") {
        let (mut n, mut same) = (0, 0);
        for r in rows {
            if let Some(it) = c.get(&r["instance_type"]) {
                n += 1;
                let theirs: i64 = r["eni_limited_max_pods"].parse().unwrap();
                same += usize::from(it.capacity.get("pods") == theirs * 1000);
            }
        }
        println!("pods: {same}/{n} equal to the reference");
        assert!(n >= 700 && same * 100 >= n * 99, "pods {same}/{n}");
    }
    if let Some(rows) = reference_csv("bandwidth.csv") {
        let (mut n, mut same) = (0, 0);
        for r in rows {
            if let Some(it) = c.get(&r["instance_type"]) {
                n += 1;
                same += usize::from(
                    label(it, "karpenter.k8s.aws/instance-network-bandwidth")
                        == Some(r["mbps"].as_str()),
                );
            }
        }
        println!("network bandwidth: {same}/{n} equal to the reference");
        assert!(n >= 700 && same * 100 >= n * 98, "bandwidth {same}/{n}");
    }
}

#[test]
fn into_filtered_equals_filter() {
    let c = catalog();
    let reqs = vec![
        req("karpenter.k8s.aws/instance-category In [c,m,r]"),
        req("karpenter.sh/capacity-type In spot"),
    ];
    let a = c.filter(&reqs);
    let b = c.clone().into_filtered(&reqs);
    assert_eq!(a, b.instance_types);
    assert_eq!(c.matching(&reqs).count(), a.len());
}
