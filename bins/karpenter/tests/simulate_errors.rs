//! `karpenter simulate`: invalid input exits 2 naming file, document index, kind/name and field;
//! other failures exit 1; nothing panics.

mod simulate_support;

use simulate_support::{data, scratch, simulate};

/// Simulates the test pool plus `manifest`; asserts exit 2 and that standard error names
/// `FILE:LOCATION KIND/NAME: FIELD`.
fn assert_invalid(manifest: &str, location: &str, kind_name: &str, field: &str) -> String {
    let path = scratch("bad.yaml", manifest);
    let run = simulate(
        &[
            "-f",
            &data("pool.yaml"),
            "-f",
            &path,
            "--catalog",
            &data("catalog.yaml"),
        ],
        None,
    );
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let expected = format!("{path}:{location} {kind_name}: {field}: ");
    assert!(
        run.stderr.contains(&expected),
        "expected {expected:?} in:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no result on invalid input: {}",
        run.stdout
    );
    run.stderr
}

#[test]
fn bad_quantity_in_a_pod() {
    let err = assert_invalid(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: c}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers:\n  - name: c\n    resources: {requests: {cpu: lots}}\n",
        "1",
        "Pod/bad",
        "spec.containers[0].resources.requests.cpu",
    );
    assert!(err.contains("lots"), "{err}");
}

#[test]
fn bad_quantity_in_a_deployment_template() {
    assert_invalid(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    spec:\n      initContainers:\n      - name: init\n        resources: {limits: {memory: 12Qi}}\n      containers: [{name: c}]\n",
        "0",
        "Deployment/web",
        "spec.template.spec.initContainers[0].resources.limits.memory",
    );
}

#[test]
fn negative_replicas() {
    assert_invalid(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: -1\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template:\n    spec: {containers: [{name: c}]}\n",
        "0",
        "StatefulSet/db",
        "spec.replicas",
    );
}

#[test]
fn wrong_type_names_the_field() {
    assert_invalid(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  priority: high\n",
        "0",
        "Pod/p",
        "spec.priority",
    );
}

#[test]
fn pod_without_a_name() {
    assert_invalid(
        "apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\nspec: {containers: [{name: c}]}\n",
        "0",
        "Pod/",
        "metadata.name",
    );
}

#[test]
fn invalid_node_pool_operator() {
    let err = assert_invalid(
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: broken}\nspec:\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n      requirements:\n      - {key: karpenter.sh/capacity-type, operator: Inn, values: [spot]}\n",
        "0",
        "NodePool/broken",
        "spec.template.spec.requirements[0].operator",
    );
    assert!(err.contains("Inn"), "{err}");
}

#[test]
fn node_pool_failing_validation() {
    assert_invalid(
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: heavy}\nspec:\n  weight: 1000\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n",
        "0",
        "NodePool/heavy",
        "spec.weight",
    );
}

#[test]
fn node_pool_without_its_node_class() {
    assert_invalid(
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: orphan}\nspec:\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: missing}\n",
        "0",
        "NodePool/orphan",
        "spec.template.spec.nodeClassRef.name",
    );
}

#[test]
fn bad_kubelet_setting_in_a_node_class() {
    assert_invalid(
        "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata: {name: odd}\nspec:\n  role: r\n  amiSelectorTerms: [{alias: al2023@latest}]\n  subnetSelectorTerms: [{tags: {a: b}}]\n  securityGroupSelectorTerms: [{tags: {a: b}}]\n  kubelet:\n    kubeReserved: {cpu: much}\n",
        "0",
        "EC2NodeClass/odd",
        "spec.kubelet.kubeReserved[cpu]",
    );
}

#[test]
fn bad_node_allocatable() {
    assert_invalid(
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus:\n  allocatable: {cpu: four}\n",
        "0",
        "Node/n",
        "status.allocatable.cpu",
    );
}

#[test]
fn bad_node_claim_allocatable() {
    assert_invalid(
        "apiVersion: karpenter.sh/v1\nkind: NodeClaim\nmetadata: {name: c1, labels: {karpenter.sh/nodepool: default}}\nspec:\n  nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n  requirements: [{key: karpenter.sh/capacity-type, operator: In, values: [spot]}]\nstatus:\n  allocatable: {memory: plenty}\n",
        "0",
        "NodeClaim/c1",
        "status.allocatable.memory",
    );
}

#[test]
fn invalid_list_item_is_located_in_the_list() {
    assert_invalid(
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c}]}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {containers: [{name: c, resources: {requests: {memory: x}}}]}}\n",
        "0:items[1]",
        "Pod/b",
        "spec.containers[0].resources.requests.memory",
    );
}

#[test]
fn invalid_yaml_names_the_document() {
    let path = scratch(
        "broken.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: [unclosed\n",
    );
    let run = simulate(&["-f", &path], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{path}:1: invalid YAML")),
        "{}",
        run.stderr
    );
}

#[test]
fn invalid_catalog_file_is_invalid_input() {
    let catalog = scratch(
        "catalog.yaml",
        "instanceTypes:\n- name: t\n  capacity: {cpu: \"2\", memory: 4Gi}\n  offerings: [{zone: z, capacityType: cheap, price: 1}]\n",
    );
    let run = simulate(&["-f", &data("pool.yaml"), "--catalog", &catalog], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&catalog), "{}", run.stderr);
    assert!(run.stderr.contains("capacityType"), "{}", run.stderr);
}

#[test]
fn unreadable_inputs_exit_1() {
    let run = simulate(&["-f", "/nonexistent/karpenter/manifests.yaml"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/karpenter/manifests.yaml"));
    let run = simulate(
        &[
            "-f",
            &data("pool.yaml"),
            "--catalog",
            "/nonexistent/catalog.yaml",
        ],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let run = simulate(
        &["-f", &data("pool.yaml"), "--region", "mars-north-1"],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("mars-north-1"), "{}", run.stderr);
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "---\n---\n",
        "42\n",
        "- a\n- b\n",
        "kind: Pod\n",
        "kind: Pod\nmetadata: {name: p}\nspec: 7\n",
        "kind: Deployment\nmetadata: {name: d}\n",
        "kind: NodePool\nmetadata: {name: p}\nspec: {}\n",
        "kind: List\nitems: 3\n",
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {capacity: {cpu: \"1e999\"}}\n",
        "\u{0}\u{1}binary",
    ];
    for text in inputs {
        let path = scratch("garbage.yaml", text);
        let run = simulate(
            &[
                "-f",
                &data("pool.yaml"),
                "-f",
                &path,
                "--catalog",
                &data("catalog.yaml"),
            ],
            None,
        );
        assert!(matches!(run.code, 0..=2), "{text:?}: exit {}", run.code);
        assert!(!run.stderr.contains("panicked"), "{text:?}: {}", run.stderr);
    }
}
