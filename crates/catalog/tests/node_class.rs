//! Allocatable options from an EC2NodeClass and requirements from the API type.

use karpenter_api::{EC2NodeClass, NodeSelectorRequirementWithMinValues, Operator as ApiOp};
use karpenter_catalog::allocatable::{EvictionValue, GIB, MIB};
use karpenter_catalog::{AllocatableOptions, Catalog, Operator, Requirement};

fn node_class(yaml: &str) -> EC2NodeClass {
    serde_yaml::from_str(yaml).expect("EC2NodeClass yaml")
}

const FULL: &str = r#"
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: custom}
spec:
  role: KarpenterNodeRole
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: demo}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: demo}}]
  kubelet:
    maxPods: 110
    podsPerCore: 20
    kubeReserved: {cpu: 250m, memory: 1Gi}
    systemReserved: {memory: 200Mi}
    evictionHard: {memory.available: 5%, nodefs.available: 15%}
    evictionSoft: {memory.available: 500Mi}
  blockDeviceMappings:
    - deviceName: /dev/xvda
      rootVolume: true
      ebs: {volumeSize: 100Gi, volumeType: gp3}
"#;

#[test]
fn kubelet_and_root_volume_settings() {
    let o = AllocatableOptions::from_node_class(&node_class(FULL)).unwrap();
    assert_eq!(o.max_pods, Some(110));
    assert_eq!(o.pods_per_core, Some(20));
    assert_eq!(o.kube_reserved.get("cpu"), 250);
    assert_eq!(o.kube_reserved.get("memory"), GIB);
    assert_eq!(o.system_reserved.get("memory"), 200 * MIB);
    assert_eq!(
        o.eviction_hard["memory.available"],
        EvictionValue::Percent(5.0)
    );
    assert_eq!(
        o.eviction_soft["memory.available"],
        EvictionValue::Absolute(500 * MIB)
    );
    assert_eq!(o.root_volume_size, 100 * GIB);
    assert!(!o.instance_store_raid0);

    let c = Catalog::builtin("us-east-1", &o).unwrap();
    let it = c.get("m5.large").unwrap();
    assert_eq!(it.capacity.get("pods"), 40_000); // min(110, 20 × 2)
    assert_eq!(it.capacity.get("ephemeral-storage"), 100 * GIB);
    assert_eq!(it.overhead.kube_reserved.get("cpu"), 250);
    assert_eq!(it.overhead.system_reserved.get("memory"), 200 * MIB);
    // max(5% of 7577Mi, 500Mi soft) = 500Mi
    assert_eq!(it.overhead.eviction_threshold.get("memory"), 500 * MIB);
    assert_eq!(
        it.overhead.eviction_threshold.get("ephemeral-storage"),
        15 * GIB
    );
}

#[test]
fn defaults_bottlerocket_device_and_raid0() {
    let minimal = node_class(
        "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata: {name: d}\nspec:\n  role: r\n  amiSelectorTerms: [{alias: al2023@latest}]\n  subnetSelectorTerms: [{id: subnet-1}]\n  securityGroupSelectorTerms: [{id: sg-1}]\n",
    );
    assert_eq!(
        AllocatableOptions::from_node_class(&minimal).unwrap(),
        AllocatableOptions::default()
    );

    let br = node_class(
        "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata: {name: br}\nspec:\n  role: r\n  amiSelectorTerms: [{alias: bottlerocket@latest}]\n  subnetSelectorTerms: [{id: subnet-1}]\n  securityGroupSelectorTerms: [{id: sg-1}]\n  instanceStorePolicy: RAID0\n  blockDeviceMappings:\n    - {deviceName: /dev/xvda, ebs: {volumeSize: 4Gi}}\n    - {deviceName: /dev/xvdb, ebs: {volumeSize: 80Gi}}\n",
    );
    let o = AllocatableOptions::from_node_class(&br).unwrap();
    assert_eq!(o.root_volume_size, 80 * GIB);
    assert!(o.instance_store_raid0);
    let c = Catalog::builtin("us-east-1", &o).unwrap();
    assert_eq!(
        c.get("m5.large").unwrap().capacity.get("ephemeral-storage"),
        80 * GIB
    );
    // m5d.large: 75 GB local NVMe
    assert_eq!(
        c.get("m5d.large")
            .unwrap()
            .capacity
            .get("ephemeral-storage"),
        75_000_000_000_000
    );
}

#[test]
fn bad_settings_name_the_field() {
    let bad = FULL.replace("memory.available: 5%", "memory.available: lots");
    let e = AllocatableOptions::from_node_class(&node_class(&bad)).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("custom"), "{msg}");
    assert!(
        msg.contains("kubelet.evictionHard.memory.available"),
        "{msg}"
    );
    let bad = FULL.replace("cpu: 250m", "cpu: many");
    let msg = AllocatableOptions::from_node_class(&node_class(&bad))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("kubeReserved") && msg.contains("cpu"), "{msg}");
}

#[test]
fn api_requirements_convert() {
    let api =
        NodeSelectorRequirementWithMinValues::new("beta.kubernetes.io/arch", ApiOp::In, ["arm64"]);
    let r = Requirement::from(&api);
    assert_eq!(r.key, "kubernetes.io/arch");
    assert_eq!(r.operator, Operator::In);
    assert_eq!(r.values, vec!["arm64"]);
    let api = NodeSelectorRequirementWithMinValues::new(
        "karpenter.k8s.aws/instance-cpu",
        ApiOp::Gte,
        ["4"],
    );
    assert_eq!(Requirement::from(&api).operator, Operator::Gte);
}
