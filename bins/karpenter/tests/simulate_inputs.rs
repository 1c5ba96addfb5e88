//! `karpenter simulate`: one test per input kind of the contract, through the binary, against the
//! small test catalog (`tests/data/simulate/catalog.yaml`) and pool (`pool.yaml`).

mod simulate_support;

use simulate_support::{claim_pods, data, scratch, simulate, simulate_with_pool};

fn pod(name: &str, cpu: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - name: app\n    image: app\n    resources: {{requests: {{cpu: {cpu}, memory: 256Mi}}}}\n"
    )
}

#[test]
fn pending_pod_launches_the_cheapest_offering() {
    let (run, _) = simulate_with_pool(&pod("web", "500m"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let c = &v["nodeClaims"][0];
    assert_eq!(c["name"], "default-1");
    assert_eq!(c["nodePool"], "default");
    assert_eq!(c["instanceType"], "small.2x");
    assert_eq!(c["capacityType"], "spot");
    assert_eq!(c["zone"], "test-zone-a");
    assert_eq!(c["pricePerHour"], 0.03);
    assert_eq!(c["pods"], serde_json::json!(["default/web"]));
    assert_eq!(c["allocatable"]["cpu"], "1900m");
    assert_eq!(c["requests"]["cpu"], "500m");
    let labels = &c["labels"];
    assert_eq!(labels["karpenter.sh/nodepool"], "default");
    assert_eq!(labels["node.kubernetes.io/instance-type"], "small.2x");
    assert_eq!(labels["topology.kubernetes.io/zone"], "test-zone-a");
    assert_eq!(labels["karpenter.sh/capacity-type"], "spot");
    assert_eq!(labels["kubernetes.io/arch"], "amd64");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["karpenter.k8s.aws/instance-family"], "small");
    let s = &v["summary"];
    assert_eq!(s["pods"], 1);
    assert_eq!(s["scheduled"], 1);
    assert_eq!(s["newNodes"], 1);
    assert_eq!(s["costPerHour"], 0.03);
    assert!(s["lowerBoundPerHour"].as_f64().unwrap() <= 0.03);
    assert_eq!(v["unschedulable"], serde_json::json!([]));
    assert_eq!(v["existingNodes"], serde_json::json!([]));
}

#[test]
fn deployment_expands_to_named_replicas_in_its_namespace() {
    let (run, _) = simulate_with_pool(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: app\n        resources: {requests: {cpu: 250m}}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let mut pods = claim_pods(&v);
    pods.sort();
    assert_eq!(pods, ["shop/web-0", "shop/web-1", "shop/web-2"]);
    assert_eq!(v["summary"]["pods"], 3);
}

#[test]
fn replicaset_defaults_to_one_replica() {
    let (run, _) = simulate_with_pool(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec:\n  selector: {matchLabels: {app: rs}}\n  template:\n    metadata: {labels: {app: rs}}\n    spec:\n      containers: [{name: app, image: app, resources: {requests: {cpu: 100m}}}]\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(claim_pods(&run.json()), ["default/rs-0"]);
}

#[test]
fn statefulset_expands_with_its_volume_claims() {
    let (run, _) = simulate_with_pool(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: gp3}\nprovisioner: ebs.csi.aws.com\nvolumeBindingMode: WaitForFirstConsumer\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: 2\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n      containers: [{name: db, image: db, resources: {requests: {cpu: 500m, memory: 1Gi}}}]\n  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec:\n      accessModes: [ReadWriteOnce]\n      storageClassName: gp3\n      resources: {requests: {storage: 10Gi}}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let mut pods = claim_pods(&v);
    pods.sort();
    assert_eq!(pods, ["default/db-0", "default/db-1"], "{v:#}");
    assert_eq!(v["unschedulable"], serde_json::json!([]));
}

#[test]
fn job_expands_to_parallelism_capped_by_completions() {
    let job = |name: &str, extra: &str| {
        format!("apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n{extra}  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: c, resources: {{requests: {{cpu: 100m}}}}}}]\n")
    };
    let manifest = [
        job("wide", "  parallelism: 3\n"),
        job("capped", "  parallelism: 4\n  completions: 2\n"),
        job("single", ""),
    ]
    .join("---\n");
    let (run, _) = simulate_with_pool(&manifest);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut pods = claim_pods(&run.json());
    pods.sort();
    assert_eq!(
        pods,
        [
            "default/capped-0",
            "default/capped-1",
            "default/single-0",
            "default/wide-0",
            "default/wide-1",
            "default/wide-2"
        ]
    );
}

#[test]
fn daemonset_is_overhead_on_new_nodes() {
    let ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: kube-system}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      containers: [{name: agent, image: agent, resources: {requests: {cpu: 300m, memory: 128Mi}}}]\n---\n";
    let (run, _) = simulate_with_pool(&format!("{ds}{}", pod("web", "1")));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let c = &v["nodeClaims"][0];
    assert_eq!(c["requests"]["cpu"], "1300m", "{c:#}");
    assert_eq!(
        c["pods"],
        serde_json::json!(["default/web"]),
        "daemon pods are not listed"
    );
}

#[test]
fn node_with_bound_pods_is_existing_capacity() {
    let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: ip-10-0-1-7\n  labels:\n    node.kubernetes.io/instance-type: large.8x\n    topology.kubernetes.io/zone: test-zone-a\n    karpenter.sh/capacity-type: on-demand\n    kubernetes.io/hostname: ip-10-0-1-7\nstatus:\n  allocatable: {cpu: \"4\", memory: 8Gi, pods: \"20\"}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: running}\nspec:\n  nodeName: ip-10-0-1-7\n  containers: [{name: c, image: c, resources: {requests: {cpu: \"3\"}}}]\n---\n";
    let (run, _) = simulate_with_pool(&format!(
        "{node}{}---\n{}",
        pod("fits", "500m"),
        pod("spills", "1500m")
    ));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(
        v["existingNodes"],
        serde_json::json!([{"name": "ip-10-0-1-7", "pods": ["default/fits"]}]),
        "{v:#}"
    );
    assert_eq!(claim_pods(&v), ["default/spills"]);
    let s = &v["summary"];
    assert_eq!(s["pods"], 2, "the bound pod is not pending");
    assert_eq!(s["scheduled"], 2);
    // The existing large.8x on-demand node (0.40) plus the new spot small.2x (0.03).
    assert_eq!(s["costPerHour"], 0.43);
}

#[test]
fn node_claim_is_in_flight_capacity() {
    let claim = "apiVersion: karpenter.sh/v1\nkind: NodeClaim\nmetadata:\n  name: default-abcde\n  labels: {karpenter.sh/nodepool: default}\nspec:\n  nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n  requirements:\n  - {key: node.kubernetes.io/instance-type, operator: In, values: [large.8x]}\n  - {key: topology.kubernetes.io/zone, operator: In, values: [test-zone-b]}\n  - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}\n---\n";
    let (run, _) = simulate_with_pool(&format!("{claim}{}", pod("web", "2")));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(
        v["existingNodes"],
        serde_json::json!([{"name": "default-abcde", "pods": ["default/web"]}]),
        "{v:#}"
    );
    assert_eq!(v["summary"]["newNodes"], 0);
    assert_eq!(
        v["summary"]["costPerHour"], 0.13,
        "the in-flight spot large.8x in zone b"
    );
}

#[test]
fn pod_disruption_budget_is_accepted_without_warning() {
    let pdb = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: web}}\n---\n";
    let (run, _) = simulate_with_pool(&format!("{pdb}{}", pod("web", "100m")));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stderr.contains("PodDisruptionBudget"),
        "{}",
        run.stderr
    );
    assert_eq!(claim_pods(&run.json()), ["default/web"]);
}

#[test]
fn bound_persistent_volume_pins_the_zone() {
    let volumes = "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-1}\nspec:\n  capacity: {storage: 10Gi}\n  accessModes: [ReadWriteOnce]\n  claimRef: {namespace: default, name: data}\n  csi: {driver: ebs.csi.aws.com, volumeHandle: vol-1}\n  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions:\n        - {key: topology.kubernetes.io/zone, operator: In, values: [test-zone-b]}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  volumeName: pv-1\n  resources: {requests: {storage: 10Gi}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers: [{name: db, image: db, resources: {requests: {cpu: 500m}}}]\n  volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: data}\n";
    let (run, _) = simulate_with_pool(volumes);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["nodeClaims"][0]["zone"], "test-zone-b", "{v:#}");
    assert_eq!(v["nodeClaims"][0]["pricePerHour"], 0.04);
}

#[test]
fn missing_claim_is_unschedulable_not_an_error() {
    let (run, _) = simulate_with_pool(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: orphan}\nspec:\n  containers: [{name: c, image: c}]\n  volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: nowhere}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["unschedulable"][0]["pod"], "default/orphan", "{v:#}");
    assert!(v["unschedulable"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("nowhere"));
}

#[test]
fn ignored_kinds_warn_once_per_kind() {
    let others = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n";
    let (run, _) = simulate_with_pool(&format!("{others}{}", pod("web", "100m")));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(
        warnings[0].contains("2 objects of kind ConfigMap"),
        "{}",
        warnings[0]
    );
    assert!(warnings[1].contains("kind Service"), "{}", warnings[1]);
}

#[test]
fn list_items_from_standard_input() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {containers: [{name: c, image: c, resources: {requests: {cpu: 100m}}}]}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b, namespace: team}\n  spec: {containers: [{name: c, image: c, resources: {requests: {cpu: 100m}}}]}\n";
    let run = simulate(
        &[
            "-f",
            &data("pool.yaml"),
            "-f",
            "-",
            "--catalog",
            &data("catalog.yaml"),
            "-o",
            "json",
        ],
        Some(list),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut pods = claim_pods(&run.json());
    pods.sort();
    assert_eq!(pods, ["default/a", "team/b"]);
}

#[test]
fn directories_are_read_recursively() {
    let dir_file = scratch("pods.yaml", &pod("from-dir", "100m"));
    let dir = std::path::Path::new(&dir_file)
        .parent()
        .unwrap()
        .display()
        .to_string();
    std::fs::create_dir_all(format!("{dir}/nested")).unwrap();
    std::fs::write(format!("{dir}/nested/more.yml"), pod("nested", "100m")).unwrap();
    std::fs::write(format!("{dir}/README.md"), "not a manifest").unwrap();
    let run = simulate(
        &[
            "-f",
            &data("pool.yaml"),
            "-f",
            &dir,
            "--catalog",
            &data("catalog.yaml"),
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut pods = claim_pods(&run.json());
    pods.sort();
    assert_eq!(pods, ["default/from-dir", "default/nested"]);
}

#[test]
fn terminating_finished_and_daemon_pods_are_never_pending() {
    let manifest = format!(
        "{}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: leaving, deletionTimestamp: \"2026-01-01T00:00:00Z\"}}\nspec: {{containers: [{{name: c, image: c}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: done}}\nspec: {{containers: [{{name: c, image: c}}]}}\nstatus: {{phase: Succeeded}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: agent-x7k2p, ownerReferences: [{{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: u1}}]}}\nspec: {{containers: [{{name: c, image: c}}]}}\n",
        pod("web", "100m")
    );
    let (run, _) = simulate_with_pool(&manifest);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["summary"]["pods"], 1);
    assert_eq!(claim_pods(&v), ["default/web"]);
}

#[test]
fn too_big_pod_is_unschedulable_with_a_reason() {
    let (run, _) = simulate_with_pool(&pod("huge", "200"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["unschedulable"][0]["pod"], "default/huge");
    assert!(!v["unschedulable"][0]["reason"].as_str().unwrap().is_empty());
    assert_eq!(v["summary"]["scheduled"], 0);
    assert_eq!(v["summary"]["newNodes"], 0);
}

#[test]
fn every_output_format_carries_the_same_result() {
    let path = scratch("input.yaml", &pod("web", "500m"));
    let base = [
        "-f",
        &data("pool.yaml"),
        "-f",
        &path,
        "--catalog",
        &data("catalog.yaml"),
    ];
    let json = simulate(&[&base[..], &["-o", "json"]].concat(), None);
    let yaml = simulate(&[&base[..], &["--output", "yaml"]].concat(), None);
    let table = simulate(&base, None);
    for r in [&json, &yaml, &table] {
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let from_yaml: serde_json::Value = serde_yaml::from_str(&yaml.stdout).unwrap();
    assert_eq!(from_yaml, json.json());
    let t = &table.stdout;
    assert!(t.contains("NODECLAIM"), "{t}");
    assert!(t.contains("default-1"), "{t}");
    assert!(t.contains("small.2x"), "{t}");
    assert!(t.contains("test-zone-a"), "{t}");
    assert!(
        t.contains("1 of 1 pending pods scheduled, 1 new nodes, $0.0300/hour"),
        "{t}"
    );
}
