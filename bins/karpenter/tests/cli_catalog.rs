//! `karpenter catalog` end to end, through the built binary.

use std::process::{Command, Output};

fn karpenter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_karpenter"))
        .args(args)
        .output()
        .expect("run karpenter")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn m5_family_lists_every_size_with_prices() {
    let o = karpenter(&[
        "catalog",
        "--requirement",
        "karpenter.k8s.aws/instance-family In m5",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "m5.large",
            "m5.xlarge",
            "m5.2xlarge",
            "m5.4xlarge",
            "m5.8xlarge",
            "m5.12xlarge",
            "m5.16xlarge",
            "m5.24xlarge",
            "m5.metal"
        ]
    );
    let large = out.lines().find(|l| l.starts_with("m5.large ")).unwrap();
    assert!(large.contains("1930m"), "{large}");
    assert!(large.contains("0.0960"), "{large}");
    assert!(out.contains("dated snapshot"), "{out}");
}

#[test]
fn json_rows_carry_the_model() {
    let o = karpenter(&[
        "catalog",
        "--region",
        "us-west-2",
        "-r",
        "karpenter.k8s.aws/instance-category In c,m,r",
        "-r",
        "karpenter.k8s.aws/instance-generation Gt 5",
        "-r",
        "karpenter.k8s.aws/instance-cpu Lt 33",
        "-r",
        "karpenter.sh/capacity-type In spot",
        "--output",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(doc["region"], "us-west-2");
    assert!(doc["prices"].as_str().unwrap().contains("dated snapshot"));
    let rows = doc["instanceTypes"].as_array().unwrap();
    assert!(rows.len() > 100, "{}", rows.len());
    assert_eq!(doc["count"].as_u64().unwrap() as usize, rows.len());
    for row in rows {
        for key in ["name", "capacity", "allocatable", "labels", "offerings"] {
            assert!(!row[key].is_null(), "{key} missing in {row}");
        }
        let labels = &row["labels"];
        let cat = labels["karpenter.k8s.aws/instance-category"]
            .as_str()
            .unwrap();
        assert!(["c", "m", "r"].contains(&cat));
        let gen: i64 = labels["karpenter.k8s.aws/instance-generation"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(gen > 5);
        let cpu: i64 = labels["karpenter.k8s.aws/instance-cpu"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(cpu < 33);
        for off in row["offerings"].as_array().unwrap() {
            assert_eq!(off["capacityType"], "spot");
            assert!(off["price"].as_f64().unwrap() > 0.0);
        }
        assert!(row["cheapestOnDemandPerHour"].is_null());
        assert!(row["cheapestSpotPerHour"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn catalog_file_is_listed() {
    let dir = std::env::temp_dir().join(format!("karpenter-cli-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("catalog.yaml");
    std::fs::write(
        &path,
        "region: test-region\ninstanceTypes:\n  - name: small.2x\n    capacity: {cpu: \"2\", memory: 4Gi, pods: \"32\"}\n    overhead: {cpu: 100m, memory: 100Mi}\n    offerings:\n      - {zone: test-zone-a, capacityType: on-demand, price: 0.10}\n      - {zone: test-zone-a, capacityType: spot, price: 0.03}\n",
    )
    .unwrap();
    let o = karpenter(&["catalog", "--catalog", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("small.2x"), "{out}");
    assert!(out.contains("1900m"), "{out}");
    assert!(out.contains("test-region"), "{out}");
    std::fs::write(
        &path,
        "instanceTypes:\n  - name: bad\n    capacity: {cpu: 1}\n    offerings: []\n",
    )
    .unwrap();
    let o = karpenter(&["catalog", "--catalog", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad") && err.contains("capacity.memory"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_input_exits_2_with_a_message() {
    let o = karpenter(&["catalog", "-r", "karpenter.k8s.aws/instance-cpu Gt many"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("instance-cpu"));
    let o = karpenter(&["catalog", "--region", "mars-north-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mars-north-1"));
}

#[test]
fn node_class_kubelet_settings_change_allocatable() {
    let dir = std::env::temp_dir().join(format!("karpenter-cli-nodeclass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nodeclass.yaml");
    std::fs::write(
        &path,
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: x}\n---\napiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata: {name: default}\nspec:\n  role: r\n  amiSelectorTerms: [{alias: al2023@latest}]\n  subnetSelectorTerms: [{id: subnet-1}]\n  securityGroupSelectorTerms: [{id: sg-1}]\n  kubelet: {maxPods: 110}\n",
    )
    .unwrap();
    let o = karpenter(&[
        "catalog",
        "--node-class",
        path.to_str().unwrap(),
        "-r",
        "node.kubernetes.io/instance-type In m5.large",
        "-o",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["instanceTypes"][0]["capacity"]["pods"], "110");
    std::fs::write(&path, "kind: EC2NodeClass\nspec: 3\n").unwrap();
    let o = karpenter(&["catalog", "--node-class", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--node-class"));
    let _ = std::fs::remove_dir_all(&dir);
}
