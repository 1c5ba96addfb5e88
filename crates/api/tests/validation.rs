//! Every validation rule, each with an invalid manifest and the field path it must name.

use karpenter_api::object::{check, decode, KarpenterObject};
use karpenter_api::{ConsolidationPolicy, FieldError};
use serde_yaml::Value;

const NODE_POOL: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      requirements:
        - key: kubernetes.io/arch
          operator: In
          values: ["amd64"]
"#;

const NODE_CLAIM: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodeClaim
metadata:
  name: default-abcde
spec:
  nodeClassRef:
    group: karpenter.k8s.aws
    kind: EC2NodeClass
    name: default
  requirements:
    - key: karpenter.sh/nodepool
      operator: In
      values: ["default"]
  resources:
    requests:
      cpu: 1500m
      memory: 2Gi
"#;

const NODE_CLASS: &str = r#"
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-demo
  amiSelectorTerms:
    - alias: al2023@latest
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: demo
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: demo
"#;

/// Deep-merges `patch` into `base`: mappings merge key by key, anything else replaces; a `~`
/// value deletes the key.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Mapping(b), Value::Mapping(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else if let Some(slot) = b.get_mut(&k) {
                    merge(slot, v);
                } else {
                    b.insert(k, v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

fn errors_of(base: &str, patch: &str) -> Vec<FieldError> {
    let mut v: Value = serde_yaml::from_str(base).unwrap();
    if !patch.trim().is_empty() {
        merge(&mut v, serde_yaml::from_str(patch).unwrap());
    }
    check(&v).expect("a Karpenter kind")
}

fn np(patch: &str) -> Vec<FieldError> {
    errors_of(NODE_POOL, patch)
}
fn nc(patch: &str) -> Vec<FieldError> {
    errors_of(NODE_CLAIM, patch)
}
fn ec2(patch: &str) -> Vec<FieldError> {
    errors_of(NODE_CLASS, patch)
}

/// Asserts that `errors` has one at `field` whose message contains `message`.
#[track_caller]
fn assert_error(errors: &[FieldError], field: &str, message: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.field == field && e.message.contains(message)),
        "no error at {field:?} containing {message:?} in {errors:#?}"
    );
}

fn requirements(reqs: &str) -> String {
    format!("spec:\n  template:\n    spec:\n      requirements: {reqs}\n")
}

#[test]
fn valid_objects_have_no_errors_and_get_defaults() {
    assert_eq!(np(""), []);
    assert_eq!(nc(""), []);
    assert_eq!(ec2(""), []);
    let v: Value = serde_yaml::from_str(NODE_POOL).unwrap();
    let Some(Ok(KarpenterObject::NodePool(pool))) = decode(&v) else {
        panic!("NodePool expected")
    };
    assert_eq!(pool.spec.template.spec.expire_after.0, "720h");
    assert_eq!(pool.spec.disruption.consolidate_after.0, "0s");
    assert_eq!(
        pool.spec.disruption.consolidation_policy,
        ConsolidationPolicy::WhenEmptyOrUnderutilized
    );
    assert_eq!(pool.spec.disruption.budgets.len(), 1);
    assert_eq!(pool.spec.disruption.budgets[0].nodes, "10%");
    let v: Value = serde_yaml::from_str(NODE_CLASS).unwrap();
    let Some(Ok(KarpenterObject::EC2NodeClass(class))) = decode(&v) else {
        panic!("EC2NodeClass expected")
    };
    let mo = &class.spec.metadata_options;
    assert_eq!(
        (
            mo.http_endpoint.as_str(),
            mo.http_tokens.as_str(),
            mo.http_put_response_hop_limit
        ),
        ("enabled", "required", 1)
    );
    let v: Value = serde_yaml::from_str(NODE_CLAIM).unwrap();
    let Some(Ok(KarpenterObject::NodeClaim(claim))) = decode(&v) else {
        panic!("NodeClaim expected")
    };
    assert_eq!(claim.spec.expire_after.0, "720h");
}

#[test]
fn other_kinds_are_not_checked() {
    let v: Value =
        serde_yaml::from_str("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n").unwrap();
    assert!(check(&v).is_none());
}

#[test]
fn wrong_api_version_is_named() {
    let errs = np("apiVersion: karpenter.sh/v1beta1");
    assert_error(&errs, "apiVersion", "expected karpenter.sh/v1");
}

#[test]
fn decode_errors_name_the_field() {
    let errs = np(&requirements("[{key: a, operator: Near, values: [x]}]"));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.template.spec.requirements[0].operator");
    let errs = np("spec: {weight: heavy}");
    assert_eq!(errs[0].field, "spec.weight");
}

#[test]
fn metadata_name_is_required() {
    assert_error(&np("metadata: {name: ~}"), "metadata.name", "required");
    assert_error(
        &np("metadata: {name: Bad_Name}"),
        "metadata.name",
        "RFC 1123",
    );
}

#[test]
fn restricted_label_domains_in_labels() {
    let errs = np(r#"
spec:
  template:
    metadata:
      labels:
        karpenter.sh/team: a
        kubernetes.io/hostname: b
        kubernetes.io/custom: c
        x.k8s.io/y: d
        karpenter.k8s.aws/custom: e
        karpenter.sh/capacity-type: spot
        node.kubernetes.io/role: ok
        team: ok
"#);
    assert_error(
        &errs,
        "spec.template.metadata.labels[karpenter.sh/team]",
        "label domain \"karpenter.sh\" is restricted",
    );
    assert_error(
        &errs,
        "spec.template.metadata.labels[kubernetes.io/hostname]",
        "is restricted",
    );
    assert_error(
        &errs,
        "spec.template.metadata.labels[kubernetes.io/custom]",
        "label domain \"kubernetes.io\" is restricted",
    );
    assert_error(
        &errs,
        "spec.template.metadata.labels[x.k8s.io/y]",
        "\"k8s.io\"",
    );
    assert_error(
        &errs,
        "spec.template.metadata.labels[karpenter.k8s.aws/custom]",
        "\"karpenter.k8s.aws\"",
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
}

#[test]
fn restricted_label_domains_in_requirements() {
    let errs = np(&requirements(
        "[{key: kubernetes.io/hostname, operator: Exists}, {key: karpenter.sh/foo, operator: Exists}, {key: karpenter.sh/capacity-type, operator: In, values: [spot]}]",
    ));
    assert_error(
        &errs,
        "spec.template.spec.requirements[0].key",
        "\"kubernetes.io/hostname\" is restricted",
    );
    assert_error(
        &errs,
        "spec.template.spec.requirements[1].key",
        "label domain \"karpenter.sh\" is restricted",
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn nodepool_label_is_forbidden_in_nodepools_only() {
    let errs = np(&requirements(
        "[{key: karpenter.sh/nodepool, operator: In, values: [x]}]",
    ));
    assert_error(
        &errs,
        "spec.template.spec.requirements[0].key",
        "\"karpenter.sh/nodepool\" is restricted",
    );
    let errs = np("spec: {template: {metadata: {labels: {karpenter.sh/nodepool: x}}}}");
    assert_error(
        &errs,
        "spec.template.metadata.labels[karpenter.sh/nodepool]",
        "\"karpenter.sh/nodepool\" is restricted",
    );
    // NodeClaims carry it.
    assert_eq!(nc(""), []);
}

#[test]
fn label_syntax() {
    let errs = np(r#"
spec:
  template:
    metadata:
      labels:
        "-bad": x
        "Example.com/x": y
        good: "not valid!"
        long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
"#);
    assert_error(&errs, "spec.template.metadata.labels[-bad]", "name part");
    assert_error(
        &errs,
        "spec.template.metadata.labels[Example.com/x]",
        "prefix part",
    );
    assert_error(
        &errs,
        "spec.template.metadata.labels[good]",
        "invalid label value",
    );
    assert_error(
        &errs,
        "spec.template.metadata.labels[long]",
        "63 characters",
    );
    let errs = np(&requirements(
        "[{key: 'a b', operator: Exists}, {key: team, operator: In, values: [ok, 'no good']}]",
    ));
    assert_error(
        &errs,
        "spec.template.spec.requirements[0].key",
        "invalid key",
    );
    assert_error(
        &errs,
        "spec.template.spec.requirements[1].values[1]",
        "invalid label value",
    );
}

#[test]
fn in_requires_values() {
    let errs = np(&requirements("[{key: team, operator: In}]"));
    assert_error(
        &errs,
        "spec.template.spec.requirements[0].values",
        "operator In must have at least one value",
    );
    assert_eq!(np(&requirements("[{key: team, operator: NotIn}]")), []);
}

#[test]
fn numeric_operators_need_one_non_negative_integer() {
    let errs = np(&requirements(
        r#"[
  {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["4", "5"]},
  {key: karpenter.k8s.aws/instance-cpu, operator: Lt, values: ["-1"]},
  {key: karpenter.k8s.aws/instance-memory, operator: Gte, values: ["lots"]},
  {key: karpenter.k8s.aws/instance-gpu-count, operator: Lte},
  {key: karpenter.k8s.aws/instance-generation, operator: Gte, values: ["5"]}
]"#,
    ));
    for i in 0..4 {
        assert_error(
            &errs,
            &format!("spec.template.spec.requirements[{i}].values"),
            "exactly one non-negative integer value",
        );
    }
    // "-1" is also not a valid label value.
    assert_error(
        &errs,
        "spec.template.spec.requirements[1].values[0]",
        "invalid label value",
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
}

#[test]
fn min_values_bounds() {
    let errs = np(&requirements(
        r#"[
  {key: karpenter.k8s.aws/instance-family, operator: Exists, minValues: 0},
  {key: karpenter.k8s.aws/instance-family, operator: Exists, minValues: 51},
  {key: node.kubernetes.io/instance-type, operator: In, values: [m5.large, m5.xlarge], minValues: 3},
  {key: node.kubernetes.io/instance-type, operator: In, values: [m5.large, m5.xlarge], minValues: 2}
]"#,
    ));
    assert_error(
        &errs,
        "spec.template.spec.requirements[0].minValues",
        "must be between 1 and 50, got 0",
    );
    assert_error(
        &errs,
        "spec.template.spec.requirements[1].minValues",
        "got 51",
    );
    assert!(errs.contains(&FieldError {
        field: "spec.template.spec.requirements[2].minValues".into(),
        message: "3 is more than the 2 values given".into(),
    }));
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

#[test]
fn capacity_type_values() {
    let errs = np(&requirements(
        "[{key: karpenter.sh/capacity-type, operator: In, values: [spot, preemptible, reserved, on-demand]}]",
    ));
    assert_error(
        &errs,
        "spec.template.spec.requirements[0].values[1]",
        "\"preemptible\" is not one of on-demand, spot, reserved",
    );
    assert_eq!(errs.len(), 1);
}

#[test]
fn at_most_100_requirements() {
    let reqs: Vec<String> = (0..101)
        .map(|i| format!("{{key: example.com/k{i}, operator: Exists}}"))
        .collect();
    let errs = np(&requirements(&format!("[{}]", reqs.join(", "))));
    assert_error(
        &errs,
        "spec.template.spec.requirements",
        "at most 100 requirements, got 101",
    );
}

#[test]
fn duplicate_taints_across_taints_and_startup_taints() {
    let errs = np(r#"
spec:
  template:
    spec:
      taints:
        - {key: nvidia.com/gpu, effect: NoSchedule}
        - {key: nvidia.com/gpu, value: "true", effect: NoExecute}
        - {key: dedicated, effect: NoSchedule}
        - {key: dedicated, value: x, effect: NoSchedule}
      startupTaints:
        - {key: nvidia.com/gpu, effect: NoSchedule}
        - {key: 'bad key', effect: Sometimes}
"#);
    assert_error(
        &errs,
        "spec.template.spec.taints[3]",
        "duplicate taint key \"dedicated\" with effect NoSchedule (also taints[2])",
    );
    assert_error(
        &errs,
        "spec.template.spec.startupTaints[0]",
        "duplicate taint key \"nvidia.com/gpu\" with effect NoSchedule (also taints[0])",
    );
    assert_error(
        &errs,
        "spec.template.spec.startupTaints[1].key",
        "invalid key",
    );
    assert_error(
        &errs,
        "spec.template.spec.startupTaints[1].effect",
        "unsupported taint effect",
    );
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let errs = nc("spec: {taints: [{key: a, effect: NoSchedule}], startupTaints: [{key: a, effect: NoSchedule}]}");
    assert_error(&errs, "spec.startupTaints[0]", "duplicate taint");
}

#[test]
fn budget_schedule_and_duration_go_together() {
    let errs = np(r#"
spec:
  disruption:
    budgets:
      - {nodes: "0", schedule: "0 9 * * mon-fri"}
      - {nodes: "0", duration: 8h}
      - {nodes: "0", schedule: "@daily", duration: 10m}
"#);
    assert_error(
        &errs,
        "spec.disruption.budgets[0].duration",
        "duration is required when schedule is set",
    );
    assert_error(
        &errs,
        "spec.disruption.budgets[1].schedule",
        "schedule is required when duration is set",
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn cron_schedules() {
    let errs = np(r#"
spec:
  disruption:
    budgets:
      - {nodes: "0", schedule: "0 25 * * *", duration: 1h}
      - {nodes: "0", schedule: "every day", duration: 1h}
      - {nodes: "0", schedule: "@fortnightly", duration: 1h}
      - {nodes: "0", schedule: "0 0 9 * * *", duration: 1h}
      - {nodes: "0", schedule: "@midnight", duration: 1h}
      - {nodes: "0", schedule: "@annually", duration: 1h}
      - {nodes: "0", schedule: "*/15 0-6 1,15 * 0", duration: 1h30m}
"#);
    for i in 0..4 {
        assert_error(
            &errs,
            &format!("spec.disruption.budgets[{i}].schedule"),
            "invalid cron schedule",
        );
    }
    assert_eq!(errs.len(), 4, "{errs:#?}");
}

#[test]
fn duration_syntax() {
    let errs = np(r#"
spec:
  template:
    spec:
      expireAfter: 30 days
      terminationGracePeriod: Never
  disruption:
    consolidateAfter: 1.5h
    budgets:
      - {nodes: "1", schedule: "@daily", duration: 30s}
"#);
    assert_error(
        &errs,
        "spec.template.spec.expireAfter",
        "invalid duration \"30 days\"",
    );
    assert_error(
        &errs,
        "spec.template.spec.terminationGracePeriod",
        "invalid duration \"Never\"",
    );
    assert_error(
        &errs,
        "spec.disruption.consolidateAfter",
        "invalid duration \"1.5h\"",
    );
    assert_error(
        &errs,
        "spec.disruption.budgets[0].duration",
        "hours and minutes",
    );
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert_eq!(
        np("spec: {template: {spec: {expireAfter: Never}}, disruption: {consolidateAfter: Never}}"),
        []
    );
    assert_error(
        &nc("spec: {expireAfter: 10x}"),
        "spec.expireAfter",
        "invalid duration",
    );
}

#[test]
fn budget_nodes_is_a_count_or_percent() {
    let errs = np(r#"
spec:
  disruption:
    budgets:
      - {nodes: ten}
      - {nodes: "150%"}
      - {nodes: "5"}
      - {nodes: "100%"}
"#);
    assert_error(
        &errs,
        "spec.disruption.budgets[0].nodes",
        "invalid value \"ten\"",
    );
    assert_error(
        &errs,
        "spec.disruption.budgets[1].nodes",
        "invalid value \"150%\"",
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn weight_bounds() {
    assert_error(
        &np("spec: {weight: 0}"),
        "spec.weight",
        "between 1 and 100, got 0",
    );
    assert_error(&np("spec: {weight: 101}"), "spec.weight", "got 101");
    assert_eq!(np("spec: {weight: 100}"), []);
}

#[test]
fn node_class_ref_fields_may_not_be_empty() {
    let errs = np("spec: {template: {spec: {nodeClassRef: {group: '', kind: ~, name: ''}}}}");
    assert_error(
        &errs,
        "spec.template.spec.nodeClassRef.group",
        "group may not be empty",
    );
    assert_error(
        &errs,
        "spec.template.spec.nodeClassRef.kind",
        "kind may not be empty",
    );
    assert_error(
        &errs,
        "spec.template.spec.nodeClassRef.name",
        "name may not be empty",
    );
    let errs = nc("spec: {nodeClassRef: {name: ''}}");
    assert_error(&errs, "spec.nodeClassRef.name", "name may not be empty");
}

#[test]
fn limits_and_requests_are_quantities() {
    let errs = np("spec: {limits: {cpu: lots, memory: 1000Gi, nodes: 10}}");
    assert_error(&errs, "spec.limits[cpu]", "invalid quantity \"lots\"");
    assert_eq!(errs.len(), 1);
    let errs = nc("spec: {resources: {requests: {memory: -1Gi}}}");
    assert_error(&errs, "spec.resources.requests[memory]", "negative");
}

#[test]
fn every_violation_is_reported() {
    let errs = np(r#"
spec:
  weight: 0
  template:
    metadata:
      labels: {karpenter.sh/x: y}
    spec:
      expireAfter: soon
      requirements:
        - {key: team, operator: In}
"#);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.template.metadata.labels[karpenter.sh/x]",
            "spec.template.spec.requirements[0].values",
            "spec.template.spec.expireAfter",
            "spec.weight"
        ]
    );
}

#[test]
fn ec2nodeclass_needs_subnet_and_security_group_terms() {
    let errs = ec2("spec: {subnetSelectorTerms: [], securityGroupSelectorTerms: ~}");
    assert_error(&errs, "spec.subnetSelectorTerms", "at least one term");
    assert_error(
        &errs,
        "spec.securityGroupSelectorTerms",
        "at least one term",
    );
    let errs = ec2("spec: {subnetSelectorTerms: [{}], securityGroupSelectorTerms: [{tags: {}}]}");
    assert_error(
        &errs,
        "spec.subnetSelectorTerms[0]",
        "expected at least one, got none, ['tags', 'id']",
    );
    assert_error(
        &errs,
        "spec.securityGroupSelectorTerms[0]",
        "expected at least one, got none, ['tags', 'id', 'name']",
    );
}

#[test]
fn role_xor_instance_profile() {
    assert_error(
        &ec2("spec: {instanceProfile: KarpenterNodeInstanceProfile}"),
        "spec.instanceProfile",
        "exactly one of ['role', 'instanceProfile'], got both",
    );
    assert_error(
        &ec2("spec: {role: ~}"),
        "spec.role",
        "exactly one of ['role', 'instanceProfile'], got none",
    );
    assert_eq!(ec2("spec: {role: ~, instanceProfile: profile}"), []);
}

#[test]
fn selector_terms_may_not_mix_id_with_other_fields() {
    let errs = ec2(r#"
spec:
  subnetSelectorTerms:
    - {id: subnet-0123abc, tags: {Name: private}}
    - {id: subnet-0456def}
    - {id: sn-bad}
  securityGroupSelectorTerms:
    - {id: sg-0123, name: default}
  capacityReservationSelectorTerms:
    - {id: cr-0123, ownerID: "123456789012"}
    - {tags: {team: a}, ownerID: "1234"}
  amiSelectorTerms:
    - {id: ami-0123, name: my-ami}
  amiFamily: AL2023
"#);
    let id_msg = "'id' is mutually exclusive, cannot be set with a combination of other fields in";
    assert_error(&errs, "spec.subnetSelectorTerms[0].id", id_msg);
    assert_error(
        &errs,
        "spec.subnetSelectorTerms[2].id",
        "invalid id \"sn-bad\"",
    );
    assert_error(&errs, "spec.securityGroupSelectorTerms[0].id", id_msg);
    assert_error(&errs, "spec.capacityReservationSelectorTerms[0].id", id_msg);
    assert_error(
        &errs,
        "spec.capacityReservationSelectorTerms[1].ownerID",
        "12 digits",
    );
    assert_error(&errs, "spec.amiSelectorTerms[0].id", id_msg);
    assert_eq!(errs.len(), 6, "{errs:#?}");
    let errs = ec2("spec: {subnetSelectorTerms: [{tags: {'': x}}]}");
    assert_error(
        &errs,
        "spec.subnetSelectorTerms[0].tags",
        "empty tag keys or values",
    );
}

#[test]
fn at_most_one_root_volume() {
    let errs = ec2(r#"
spec:
  blockDeviceMappings:
    - {deviceName: /dev/xvda, rootVolume: true, ebs: {volumeSize: 20Gi, volumeType: gp3}}
    - {deviceName: /dev/xvdb, rootVolume: true, ebs: {volumeSize: 100Gi}}
    - {deviceName: /dev/xvdc, ebs: {encrypted: true}}
    - {deviceName: /dev/xvdd, ebs: {volumeSize: 100Ti}}
"#);
    assert_error(
        &errs,
        "spec.blockDeviceMappings[1].rootVolume",
        "must have only one blockDeviceMappings with rootVolume",
    );
    assert_error(
        &errs,
        "spec.blockDeviceMappings[2].ebs",
        "snapshotID or volumeSize must be defined",
    );
    assert_error(
        &errs,
        "spec.blockDeviceMappings[3].ebs.volumeSize",
        "between 1Gi and 64Ti",
    );
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

#[test]
fn ami_alias_form_and_exclusivity() {
    let errs = ec2("spec: {amiSelectorTerms: [{alias: al2023}]}");
    assert_error(
        &errs,
        "spec.amiSelectorTerms[0].alias",
        "must be family@version",
    );
    let errs = ec2("spec: {amiSelectorTerms: [{alias: ubuntu@latest}]}");
    assert_error(
        &errs,
        "spec.amiSelectorTerms[0].alias",
        "family \"ubuntu\" is not supported",
    );
    let errs = ec2("spec: {amiSelectorTerms: [{alias: windows2022@v1}]}");
    assert_error(
        &errs,
        "spec.amiSelectorTerms[0].alias",
        "only specify version 'latest'",
    );
    let errs = ec2("spec: {amiSelectorTerms: [{alias: al2023@latest, tags: {a: b}}]}");
    assert_error(
        &errs,
        "spec.amiSelectorTerms[0].alias",
        "'alias' is mutually exclusive, cannot be set with a combination of other fields",
    );
    let errs = ec2("spec: {amiSelectorTerms: [{alias: al2023@latest}, {name: my-ami}]}");
    assert_error(
        &errs,
        "spec.amiSelectorTerms",
        "cannot be set with a combination of other amiSelectorTerms",
    );
    let errs = ec2("spec: {amiSelectorTerms: [{}]}");
    assert_error(
        &errs,
        "spec.amiSelectorTerms[0]",
        "expected at least one, got none",
    );
    let errs = ec2("spec: {amiSelectorTerms: []}");
    assert_error(&errs, "spec.amiSelectorTerms", "at least one term");
    assert_eq!(
        ec2("spec: {amiSelectorTerms: [{alias: bottlerocket@v1.20.0}]}"),
        []
    );
}

#[test]
fn ami_family_rules() {
    let errs = ec2("spec: {amiSelectorTerms: [{name: my-ami, owner: self}]}");
    assert_error(
        &errs,
        "spec.amiFamily",
        "must specify amiFamily if amiSelectorTerms does not contain an alias",
    );
    let errs = ec2("spec: {amiFamily: Bottlerocket}");
    assert_error(&errs, "spec.amiFamily", "must be 'AL2023' or 'Custom'");
    assert_eq!(ec2("spec: {amiFamily: Custom}"), []);
    assert_eq!(
        ec2("spec: {amiFamily: AL2, amiSelectorTerms: [{tags: {team: a}}]}"),
        []
    );
}

#[test]
fn metadata_options() {
    let errs = ec2("spec: {metadataOptions: {httpTokens: maybe, httpPutResponseHopLimit: 0}}");
    assert_error(
        &errs,
        "spec.metadataOptions.httpTokens",
        "unsupported value \"maybe\"",
    );
    assert_error(
        &errs,
        "spec.metadataOptions.httpPutResponseHopLimit",
        "between 1 and 64, got 0",
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn kubelet_rules() {
    let errs = ec2(r#"
spec:
  kubelet:
    maxPods: -1
    systemReserved: {cpu: 100m, gpu: "1"}
    kubeReserved: {memory: lots}
    evictionHard: {memory.available: 5%, disk.available: 10%}
    evictionSoft: {nodefs.available: 15%}
    evictionSoftGracePeriod: {memory.available: 1m}
    imageGCHighThresholdPercent: 50
    imageGCLowThresholdPercent: 60
"#);
    assert_error(&errs, "spec.kubelet.maxPods", "must not be negative");
    assert_error(
        &errs,
        "spec.kubelet.systemReserved[gpu]",
        "invalid key \"gpu\"",
    );
    assert_error(
        &errs,
        "spec.kubelet.kubeReserved[memory]",
        "invalid quantity",
    );
    assert_error(
        &errs,
        "spec.kubelet.evictionHard[disk.available]",
        "invalid key",
    );
    assert_error(
        &errs,
        "spec.kubelet.evictionSoft[nodefs.available]",
        "no matching evictionSoftGracePeriod",
    );
    assert_error(
        &errs,
        "spec.kubelet.evictionSoftGracePeriod[memory.available]",
        "no evictionSoft threshold",
    );
    assert_error(
        &errs,
        "spec.kubelet.imageGCHighThresholdPercent",
        "must be greater than imageGCLowThresholdPercent",
    );
    assert_eq!(errs.len(), 7, "{errs:#?}");
}

#[test]
fn restricted_tags() {
    let errs = ec2(r#"
spec:
  tags:
    kubernetes.io/cluster/demo: owned
    karpenter.sh/nodepool: x
    eks:eks-cluster-name: demo
    team: platform
"#);
    assert_error(
        &errs,
        "spec.tags[kubernetes.io/cluster/demo]",
        "kubernetes.io/cluster/",
    );
    assert_error(&errs, "spec.tags[karpenter.sh/nodepool]", "restricted tag");
    assert_error(&errs, "spec.tags[eks:eks-cluster-name]", "restricted tag");
    assert_eq!(errs.len(), 3, "{errs:#?}");
}
