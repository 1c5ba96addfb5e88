//! `karpenter validate`: exit codes and the `FILE:DOC-INDEX KIND/NAME: FIELD: MESSAGE` format.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn karpenter(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_karpenter"))
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("karpenter-validate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const INVALID: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: broken
spec:
  weight: 0
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: kubernetes.io/arch, operator: In, values: [amd64]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}
        - {key: node.kubernetes.io/instance-type, operator: In, values: [m5.large, m5.xlarge], minValues: 3}
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-demo
  instanceProfile: KarpenterNodeInstanceProfile-demo
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: demo}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: demo}}]
"#;

#[test]
fn examples_are_valid() {
    let out = karpenter(&["validate", "-f", "examples/"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 EC2NodeClass, 4 NodePool"), "{stdout}");
    assert!(stdout.contains("0 problem(s)"), "{stdout}");
}

#[test]
fn errors_name_file_document_object_and_field() {
    let dir = temp_dir("invalid");
    let file = dir.join("pools.yaml");
    std::fs::write(&file, INVALID).unwrap();
    let out = karpenter(&["validate", "-f", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let f = file.display();
    for line in [
        format!("{f}:1 NodePool/broken: spec.template.spec.requirements[2].minValues: 3 is more than the 2 values given"),
        format!("{f}:1 NodePool/broken: spec.weight: must be between 1 and 100, got 0"),
        format!("{f}:2 EC2NodeClass/default: spec.instanceProfile: must specify exactly one of ['role', 'instanceProfile'], got both"),
    ] {
        assert!(stderr.lines().any(|l| l == line), "missing {line:?} in:\n{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn standard_input_and_lists() {
    let list = r#"apiVersion: v1
kind: List
items:
  - apiVersion: karpenter.sh/v1
    kind: NodeClaim
    metadata: {name: claim-1}
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: ""}
      requirements: []
"#;
    let out = karpenter(&["validate", "-f", "-"], Some(list));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "-:0:items[0] NodeClaim/claim-1: spec.nodeClassRef.name: name may not be empty"
        ),
        "{stderr}"
    );
}

#[test]
fn repeatable_files_and_skipped_kinds() {
    let out = karpenter(
        &[
            "validate",
            "-f",
            "examples/ec2nodeclass.yaml",
            "-f",
            "examples/workloads",
            "--filename",
            "examples/nodepools/gpu.yaml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("checked 1 EC2NodeClass, 1 NodePool"),
        "{stdout}"
    );
    assert!(stdout.contains("5 other document(s) skipped"), "{stdout}");
    let quiet = karpenter(&["validate", "-q", "-f", "examples/"], None);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(quiet.stdout.is_empty());
}

#[test]
fn invalid_yaml_and_decode_errors_exit_2() {
    let out = karpenter(&["validate", "-f", "-"], Some("kind: [unclosed\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-:0: invalid YAML"));
    let doc = "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: p}\nspec:\n  template:\n    spec:\n      requirements: [{key: a, operator: Near}]\n";
    let out = karpenter(&["validate", "-f", "-"], Some(doc));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "-:0 NodePool/p: spec.template.spec.requirements[0].operator: unknown variant `Near`"
        ),
        "{stderr}"
    );
}

#[test]
fn unreadable_path_exits_1_and_other_files_are_still_checked() {
    let out = karpenter(
        &["validate", "-f", "does-not-exist.yaml", "-f", "-"],
        Some(INVALID),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("does-not-exist.yaml"), "{stderr}");
    assert!(
        stderr.contains("-:1 NodePool/broken: spec.weight"),
        "{stderr}"
    );
}

#[test]
fn validate_requires_a_file() {
    let out = karpenter(&["validate"], None);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--filename"));
}
