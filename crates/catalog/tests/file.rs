//! The `--catalog FILE` format of `karpenter simulate`.

use karpenter_catalog::allocatable::{GIB, MIB};
use karpenter_catalog::{
    parse_catalog_file, parse_catalog_file_with, AllocatableOptions, CapacityType,
    CatalogFileError, PriceSource, Requirement,
};

const SPEC_EXAMPLE: &str = r#"
region: test-region            # optional
instanceTypes:
  - name: small.2x
    capacity: {cpu: "2", memory: 4Gi, pods: "32"}       # any resource name, e.g. nvidia.com/gpu
    overhead: {cpu: 100m, memory: 100Mi}                # optional; default: the kubelet reservation formula
    labels:                                             # optional; extra labels, or overrides of derived ones
      kubernetes.io/arch: amd64
    offerings:
      - {zone: test-zone-a, capacityType: on-demand, price: 0.10}
      - {zone: test-zone-a, capacityType: spot, price: 0.03}
      - {zone: test-zone-b, capacityType: spot, price: 0.03, available: false}
"#;

#[test]
fn spec_example_parses() {
    let c = parse_catalog_file(SPEC_EXAMPLE).unwrap();
    assert_eq!(c.region, "test-region");
    assert_eq!(c.prices, PriceSource::File);
    assert_eq!(c.instance_types.len(), 1);
    let it = &c.instance_types[0];
    assert_eq!(it.name, "small.2x");
    assert_eq!(it.capacity.get("cpu"), 2000);
    assert_eq!(it.capacity.get("memory"), 4 * GIB);
    assert_eq!(it.capacity.get("pods"), 32_000);
    let alloc = it.allocatable();
    assert_eq!(alloc.get("cpu"), 1900);
    assert_eq!(alloc.get("memory"), 4 * GIB - 100 * MIB);
    assert_eq!(it.labels["node.kubernetes.io/instance-type"], "small.2x");
    assert_eq!(it.labels["kubernetes.io/arch"], "amd64");
    assert_eq!(it.labels["kubernetes.io/os"], "linux");
    assert_eq!(it.labels["karpenter.k8s.aws/instance-cpu"], "2");
    assert_eq!(it.labels["karpenter.k8s.aws/instance-memory"], "4096");
    assert_eq!(it.offerings.len(), 3);
    assert!(it.offerings[0].available);
    assert!(!it.offerings[2].available);
    assert_eq!(it.offerings[1].capacity_type, CapacityType::Spot);
    assert_eq!(it.cheapest(CapacityType::Spot).unwrap().zone, "test-zone-a");
    assert_eq!(
        c.zones().into_iter().collect::<Vec<_>>(),
        ["test-zone-a", "test-zone-b"]
    );
}

#[test]
fn defaults_formula_overhead_pods_and_labels() {
    let text = r#"
instanceTypes:
  - name: big
    capacity: {cpu: 4, memory: 16Gi, nvidia.com/gpu: 1, ephemeral-storage: 100Gi}
    labels: {kubernetes.io/arch: arm64, team: ml, karpenter.k8s.aws/instance-gpu-count: 1}
    offerings:
      - {zone: z1, zoneId: z1-id, capacityType: reserved, price: "0.5"}
"#;
    let c = parse_catalog_file(text).unwrap();
    assert_eq!(c.region, "custom");
    let it = &c.instance_types[0];
    assert_eq!(it.capacity.get("pods"), 110_000);
    assert_eq!(it.capacity.get("nvidia.com/gpu"), 1000);
    assert_eq!(it.overhead.kube_reserved.get("cpu"), 80);
    assert_eq!(
        it.overhead.kube_reserved.get("memory"),
        (11 * 110 + 255) * MIB
    );
    assert_eq!(it.overhead.kube_reserved.get("ephemeral-storage"), GIB);
    assert_eq!(it.overhead.eviction_threshold.get("memory"), 100 * MIB);
    assert_eq!(
        it.overhead.eviction_threshold.get("ephemeral-storage"),
        10 * GIB
    );
    assert_eq!(it.labels["kubernetes.io/arch"], "arm64");
    assert_eq!(it.labels["team"], "ml");
    assert_eq!(it.labels["karpenter.k8s.aws/instance-gpu-count"], "1");
    assert_eq!(it.offerings[0].capacity_type, CapacityType::Reserved);
    assert_eq!(it.offerings[0].zone_id.as_deref(), Some("z1-id"));
    assert_eq!(it.offerings[0].price, 0.5);
    let sel = c.filter(&[Requirement::parse("karpenter.k8s.aws/instance-gpu-count Gt 0").unwrap()]);
    assert_eq!(sel.len(), 1);

    let mut opts = AllocatableOptions::default();
    opts.kube_reserved.set("cpu", 1000);
    let c = parse_catalog_file_with(text, &opts).unwrap();
    assert_eq!(c.instance_types[0].allocatable().get("cpu"), 3000);
}

#[test]
fn json_is_accepted() {
    let text = r#"{"instanceTypes":[{"name":"a","capacity":{"cpu":"1","memory":"1Gi"},
        "offerings":[{"zone":"z","capacityType":"spot","price":0.01}]}]}"#;
    let c = parse_catalog_file(text).unwrap();
    assert_eq!(c.instance_types[0].offerings[0].price, 0.01);
}

fn invalid(text: &str) -> (usize, String, String, String) {
    match parse_catalog_file(text).unwrap_err() {
        CatalogFileError::Invalid {
            index,
            name,
            field,
            message,
        } => (index, name, field, message),
        other => panic!("expected Invalid, got {other}"),
    }
}

const OK_TYPE: &str = r#"
  - name: ok
    capacity: {cpu: 1, memory: 1Gi}
    offerings: [{zone: z, capacityType: on-demand, price: 0.1}]"#;

#[test]
fn errors_name_the_type_and_field() {
    let (i, n, f, m) = invalid(&format!(
        "instanceTypes:{OK_TYPE}\n  - name: bad\n    capacity: {{cpu: 1, memory: lots}}\n    offerings: [{{zone: z, capacityType: spot, price: 1}}]"
    ));
    assert_eq!((i, n.as_str(), f.as_str()), (1, "bad", "capacity.memory"));
    assert!(m.contains("lots"), "{m}");

    let (_, n, f, _) = invalid(
        "instanceTypes:\n  - name: x\n    capacity: {cpu: 1}\n    offerings: [{zone: z, capacityType: spot, price: 1}]",
    );
    assert_eq!((n.as_str(), f.as_str()), ("x", "capacity.memory"));

    let (_, _, f, m) = invalid(
        "instanceTypes:\n  - name: x\n    capacity: {cpu: 1, memory: 1Gi}\n    offerings: [{zone: z, capacityType: preemptible, price: 1}]",
    );
    assert_eq!(f, "offerings[0].capacityType");
    assert!(m.contains("preemptible"));

    let (_, _, f, _) = invalid(
        "instanceTypes:\n  - name: x\n    capacity: {cpu: 1, memory: 1Gi}\n    offerings: [{zone: z, capacityType: spot, price: -1}]",
    );
    assert_eq!(f, "offerings[0].price");

    let (_, _, f, _) = invalid(
        "instanceTypes:\n  - name: x\n    capacity: {cpu: 1, memory: 1Gi}\n    offerings: [{capacityType: spot, price: 1}]",
    );
    assert_eq!(f, "offerings[0].zone");

    let (_, _, f, _) = invalid(
        "instanceTypes:\n  - name: x\n    capacity: {cpu: 1, memory: 1Gi}\n    offerings: [{zone: z, capacityType: spot, price: abc}]",
    );
    assert_eq!(f, "offerings[0].price");

    let (_, _, f, _) = invalid(
        "instanceTypes:\n  - name: x\n    capacity: {cpu: 1, memory: 1Gi}\n    offerings: []",
    );
    assert_eq!(f, "offerings");

    let (_, n, f, _) = invalid(&format!("instanceTypes:{OK_TYPE}{OK_TYPE}"));
    assert_eq!((n.as_str(), f.as_str()), ("ok", "name"));

    let (_, n, f, _) = invalid(
        "instanceTypes:\n  - capacity: {cpu: 1, memory: 1Gi}\n    offerings: [{zone: z, capacityType: spot, price: 1}]",
    );
    assert_eq!((n.as_str(), f.as_str()), ("<unnamed>", "name"));

    let (_, _, f, _) = invalid(
        "instanceTypes:\n  - name: x\n    capacity: {cpu: 1, memory: 1Gi}\n    overhead: {cpu: x}\n    offerings: [{zone: z, capacityType: spot, price: 1}]",
    );
    assert_eq!(f, "overhead.cpu");
}

#[test]
fn syntax_and_unknown_fields_are_errors_not_panics() {
    for text in [
        "",
        "instanceTypes: 3",
        "[1, 2",
        "instanceTypes:\n  - name: x\n    capcity: {cpu: 1}",
        "region: r\nextra: 1\ninstanceTypes: []",
        "\u{0}\u{1}",
    ] {
        let e = parse_catalog_file(text).unwrap_err();
        assert!(matches!(e, CatalogFileError::Syntax(_)), "{text:?}: {e}");
    }
    let e = parse_catalog_file("instanceTypes:\n  - name: x\n    capcity: {cpu: 1}").unwrap_err();
    assert!(e.to_string().contains("capcity"), "{e}");
}
