//! `karpenter crds`: output matches the checked-in CRDs (drift test) and parses as CRDs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chart_crds() -> PathBuf {
    repo_root().join("charts/karpenter/crds")
}

const FILES: [&str; 3] = [
    "karpenter.sh_nodepools.yaml",
    "karpenter.sh_nodeclaims.yaml",
    "karpenter.k8s.aws_ec2nodeclasses.yaml",
];

#[test]
fn printed_crds_match_the_checked_in_chart() {
    let out = Command::new(env!("CARGO_BIN_EXE_karpenter"))
        .arg("crds")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let mut checked_in = String::new();
    for f in FILES {
        checked_in.push_str(&std::fs::read_to_string(chart_crds().join(f)).unwrap());
    }
    assert!(
        printed == checked_in,
        "charts/karpenter/crds/ is out of date with the API types; regenerate it with \
         `cargo run -p karpenter -- crds --output-dir charts/karpenter/crds`"
    );
}

#[test]
fn output_dir_writes_one_file_per_crd_identical_to_the_chart() {
    let dir = std::env::temp_dir().join(format!("karpenter-crds-test-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_karpenter"))
        .args(["crds", "--output-dir"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(written, expected);
    for f in FILES {
        let generated = std::fs::read_to_string(dir.join(f)).unwrap();
        let checked_in = std::fs::read_to_string(chart_crds().join(f)).unwrap();
        assert!(generated == checked_in, "{f} drifted from the generator");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checked_in_crds_are_crds_with_the_known_columns() {
    for (f, kind, columns) in [
        (
            FILES[0],
            "NodePool",
            vec!["NodeClass", "Nodes", "Ready", "Age"],
        ),
        (
            FILES[1],
            "NodeClaim",
            vec!["Type", "Capacity", "Zone", "Node", "Ready", "Age"],
        ),
        (FILES[2], "EC2NodeClass", vec!["Ready", "Age"]),
    ] {
        let text = std::fs::read_to_string(chart_crds().join(f)).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(v["apiVersion"], "apiextensions.k8s.io/v1");
        assert_eq!(v["kind"], "CustomResourceDefinition");
        assert_eq!(v["spec"]["names"]["kind"], kind);
        assert_eq!(v["spec"]["scope"], "Cluster");
        let version = &v["spec"]["versions"][0];
        assert_eq!(version["name"], "v1");
        assert!(version["subresources"]["status"].is_mapping());
        let cols: Vec<&str> = version["additionalPrinterColumns"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|c| c.get("priority").is_none())
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(cols, columns, "{kind}");
    }
}

#[test]
fn help_lists_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_karpenter"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in ["crds", "validate"] {
        assert!(help.contains(cmd), "{help}");
    }
}
