//! Validation of NodePools, NodeClaims and EC2NodeClasses, mirroring the CEL rules of
//! Karpenter's CRDs and its runtime validation. Every violation is returned with its field path
//! (`spec.template.spec.requirements[2].minValues`), not only the first.

use crate::duration::{is_strict_duration, parse_duration, GoDuration, NillableDuration, NEVER};
use crate::ec2nodeclass::{AMIFamily, EC2NodeClass, EC2NodeClassSpec, KubeletConfiguration};
use crate::labels::{self, restricted_label_reason};
use crate::nodeclaim::{NodeClaim, NodeClassReference};
use crate::nodepool::{BudgetNodes, Disruption, NodePool};
use crate::quantity::parse_milli;
use crate::requirements::{NodeSelectorRequirementWithMinValues, Operator};
use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use regex::Regex;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

/// Most requirements a NodePool or NodeClaim may have.
pub const MAX_REQUIREMENTS: usize = 100;
/// Most labels a NodePool template may set.
pub const MAX_LABELS: usize = 100;
/// Most disruption budgets a NodePool may have.
pub const MAX_BUDGETS: usize = 50;
/// Bounds of `minValues`.
pub const MIN_VALUES_RANGE: std::ops::RangeInclusive<i32> = 1..=50;
/// Bounds of a NodePool's `weight`.
pub const WEIGHT_RANGE: std::ops::RangeInclusive<i32> = 1..=100;

/// One violation: the path of the offending field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub struct FieldError {
    /// The field path, e.g. `spec.template.spec.requirements[2].minValues`.
    pub field: String,
    /// What is wrong, e.g. `3 is more than the 2 values given`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Objects that can be validated.
pub trait Validate {
    /// Every violation, in field order; empty when the object is valid.
    fn validate(&self) -> Vec<FieldError>;
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

static LABEL_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").expect("valid regex")
});
static DNS_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("valid regex")
});

/// Checks a Kubernetes qualified name (label key, taint key): an optional DNS subdomain prefix
/// of at most 253 characters and `/`, then a name of at most 63 alphanumerics, `-`, `_`, `.`
/// starting and ending alphanumeric. Returns what is wrong, if anything.
pub fn qualified_name_error(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Some(format!(
                "invalid key {key:?}: prefix part must be non-empty"
            ));
        }
        if p.len() > 253 || !DNS_SUBDOMAIN.is_match(p) {
            return Some(format!(
                "invalid key {key:?}: prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters"
            ));
        }
    }
    if name.is_empty() {
        return Some(format!("invalid key {key:?}: name part must be non-empty"));
    }
    if name.len() > 63 {
        return Some(format!(
            "invalid key {key:?}: name part must be no more than 63 characters"
        ));
    }
    if !LABEL_NAME.is_match(name) {
        return Some(format!(
            "invalid key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    None
}

/// Checks a Kubernetes label value: empty, or at most 63 alphanumerics, `-`, `_`, `.` starting
/// and ending alphanumeric. Returns what is wrong, if anything.
pub fn label_value_error(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > 63 {
        return Some(format!(
            "invalid label value {value:?}: must be no more than 63 characters"
        ));
    }
    if !LABEL_NAME.is_match(value) {
        return Some(format!(
            "invalid label value {value:?}: must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    None
}

/// Checks a budget schedule: standard 5-field cron or `@yearly`, `@annually`, `@monthly`,
/// `@weekly`, `@daily`, `@midnight`, `@hourly`. Returns what is wrong, if anything.
pub fn cron_error(schedule: &str) -> Option<String> {
    let s = schedule.trim();
    let expr = if let Some(name) = s.strip_prefix('@') {
        match name {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "hourly" => s,
            "midnight" => "@daily",
            _ => {
                return Some(format!(
                    "invalid cron schedule {schedule:?}: unknown descriptor, expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
                ))
            }
        }
    } else {
        let fields = s.split_whitespace().count();
        if fields != 5 {
            return Some(format!(
                "invalid cron schedule {schedule:?}: expected 5 fields (minute hour day-of-month month day-of-week), got {fields}"
            ));
        }
        s
    };
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build();
    parser
        .parse(expr)
        .err()
        .map(|e| format!("invalid cron schedule {schedule:?}: {e}"))
}

fn quantity_error(q: &Quantity) -> Option<String> {
    parse_milli(&q.0).err().map(|e| e.to_string())
}

fn check_nillable(errs: &mut Errors, path: &str, d: &NillableDuration) {
    if d.0 != NEVER && !is_strict_duration(&d.0) {
        errs.push(
            path,
            format!(
                "invalid duration {:?}: expected a duration such as 720h, 1h30m or 30s, or Never",
                d.0
            ),
        );
    } else if d.0 != NEVER && parse_duration(&d.0).is_err() {
        errs.push(path, format!("duration {:?} is too large", d.0));
    }
}

fn check_go_duration(errs: &mut Errors, path: &str, d: &GoDuration) {
    if !is_strict_duration(&d.0) {
        errs.push(
            path,
            format!(
                "invalid duration {:?}: expected a duration such as 720h, 1h30m or 30s",
                d.0
            ),
        );
    } else if parse_duration(&d.0).is_err() {
        errs.push(path, format!("duration {:?} is too large", d.0));
    }
}

/// Where requirements and labels are being validated: NodePools may not name
/// `karpenter.sh/nodepool`, NodeClaims (which Karpenter creates with it) may.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    NodePool,
    NodeClaim,
}

fn check_label_key(errs: &mut Errors, path: &str, key: &str, owner: Owner) {
    if let Some(e) = qualified_name_error(key) {
        errs.push(path, e);
        return;
    }
    if owner == Owner::NodePool && key == labels::NODE_POOL {
        errs.push(path, format!("label {:?} is restricted", labels::NODE_POOL));
    } else if let Some(reason) = restricted_label_reason(key) {
        errs.push(path, reason);
    }
}

fn check_requirements(
    errs: &mut Errors,
    path: &str,
    reqs: &[NodeSelectorRequirementWithMinValues],
    owner: Owner,
) {
    if reqs.len() > MAX_REQUIREMENTS {
        errs.push(
            path,
            format!(
                "must have at most {MAX_REQUIREMENTS} requirements, got {}",
                reqs.len()
            ),
        );
    }
    for (i, r) in reqs.iter().enumerate() {
        let p = format!("{path}[{i}]");
        check_label_key(errs, &format!("{p}.key"), &r.key, owner);
        for (j, v) in r.values.iter().enumerate() {
            if let Some(e) = label_value_error(v) {
                errs.push(format!("{p}.values[{j}]"), e);
            }
        }
        match r.operator {
            Operator::In if r.values.is_empty() => {
                errs.push(
                    format!("{p}.values"),
                    "operator In must have at least one value",
                );
            }
            op if op.is_numeric() => {
                let ok = r.values.len() == 1 && r.values[0].parse::<i64>().is_ok_and(|v| v >= 0);
                if !ok {
                    errs.push(
                        format!("{p}.values"),
                        format!(
                            "operator {op} must have exactly one non-negative integer value, got {:?}",
                            r.values
                        ),
                    );
                }
            }
            _ => {}
        }
        if labels::normalize_label_key(&r.key) == labels::CAPACITY_TYPE
            && matches!(r.operator, Operator::In | Operator::NotIn)
        {
            for (j, v) in r.values.iter().enumerate() {
                if !labels::CAPACITY_TYPES.contains(&v.as_str()) {
                    errs.push(
                        format!("{p}.values[{j}]"),
                        format!(
                            "capacity type {v:?} is not one of {}",
                            labels::CAPACITY_TYPES.join(", ")
                        ),
                    );
                }
            }
        }
        if let Some(m) = r.min_values {
            if !MIN_VALUES_RANGE.contains(&m) {
                errs.push(
                    format!("{p}.minValues"),
                    format!(
                        "must be between {} and {}, got {m}",
                        MIN_VALUES_RANGE.start(),
                        MIN_VALUES_RANGE.end()
                    ),
                );
            } else if r.operator == Operator::In && m as usize > r.values.len() {
                errs.push(
                    format!("{p}.minValues"),
                    format!("{m} is more than the {} values given", r.values.len()),
                );
            }
        }
    }
}

const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

fn check_taints(errs: &mut Errors, path: &str, taints: &[Taint], startup: &[Taint]) {
    let mut seen: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for (field, list) in [("taints", taints), ("startupTaints", startup)] {
        for (i, t) in list.iter().enumerate() {
            let p = format!("{path}.{field}[{i}]");
            if let Some(e) = qualified_name_error(&t.key) {
                errs.push(format!("{p}.key"), e);
            }
            if let Some(v) = &t.value {
                if let Some(e) = label_value_error(v) {
                    errs.push(format!("{p}.value"), e);
                }
            }
            if !TAINT_EFFECTS.contains(&t.effect.as_str()) {
                errs.push(
                    format!("{p}.effect"),
                    format!(
                        "unsupported taint effect {:?}, must be one of {}",
                        t.effect,
                        TAINT_EFFECTS.join(", ")
                    ),
                );
            }
            let here = format!("{field}[{i}]");
            if let Some(first) = seen.get(&(t.key.as_str(), t.effect.as_str())) {
                errs.push(
                    p,
                    format!(
                        "duplicate taint key {:?} with effect {} (also {first})",
                        t.key, t.effect
                    ),
                );
            } else {
                seen.insert((t.key.as_str(), t.effect.as_str()), here);
            }
        }
    }
}

fn check_node_class_ref(errs: &mut Errors, path: &str, r: &NodeClassReference) {
    for (field, value) in [("group", &r.group), ("kind", &r.kind), ("name", &r.name)] {
        if value.is_empty() {
            errs.push(
                format!("{path}.{field}"),
                format!("{field} may not be empty"),
            );
        }
    }
}

fn check_resource_list(errs: &mut Errors, path: &str, list: &BTreeMap<String, Quantity>) {
    for (name, q) in list {
        if let Some(e) = quantity_error(q) {
            errs.push(format!("{path}[{name}]"), e);
        }
    }
}

fn check_name(errs: &mut Errors, name: Option<&str>) {
    match name {
        None | Some("") => errs.push("metadata.name", "name is required"),
        Some(n) if n.len() > 253 || !DNS_SUBDOMAIN.is_match(n) => errs.push(
            "metadata.name",
            format!("invalid name {n:?}: must be a lowercase RFC 1123 subdomain"),
        ),
        _ => {}
    }
}

fn check_disruption(errs: &mut Errors, path: &str, d: &Disruption) {
    check_nillable(
        errs,
        &format!("{path}.consolidateAfter"),
        &d.consolidate_after,
    );
    if d.budgets.len() > MAX_BUDGETS {
        errs.push(
            format!("{path}.budgets"),
            format!(
                "must have at most {MAX_BUDGETS} budgets, got {}",
                d.budgets.len()
            ),
        );
    }
    for (i, b) in d.budgets.iter().enumerate() {
        let p = format!("{path}.budgets[{i}]");
        if BudgetNodes::parse(&b.nodes).is_none() {
            errs.push(
                format!("{p}.nodes"),
                format!(
                    "invalid value {:?}: must be a node count (e.g. 5) or a percentage from 0% to 100%",
                    b.nodes
                ),
            );
        }
        match (&b.schedule, &b.duration) {
            (Some(_), None) => errs.push(
                format!("{p}.duration"),
                "duration is required when schedule is set",
            ),
            (None, Some(_)) => errs.push(
                format!("{p}.schedule"),
                "schedule is required when duration is set",
            ),
            _ => {}
        }
        if let Some(s) = &b.schedule {
            if let Some(e) = cron_error(s) {
                errs.push(format!("{p}.schedule"), e);
            }
        }
        if let Some(dur) = &b.duration {
            // Karpenter: ^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$ — hours and minutes only.
            let text = dur.0.strip_suffix("0s").unwrap_or(&dur.0);
            let hm_only = !text.is_empty() && is_strict_duration(text) && !text.contains('s');
            if !hm_only {
                errs.push(
                    format!("{p}.duration"),
                    format!(
                        "invalid duration {:?}: expected hours and minutes such as 8h, 30m or 1h30m",
                        dur.0
                    ),
                );
            }
        }
    }
}

impl Validate for NodePool {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        check_name(&mut errs, self.metadata.name.as_deref());
        let spec = &self.spec;
        let md = &spec.template.metadata;
        if md.labels.len() > MAX_LABELS {
            errs.push(
                "spec.template.metadata.labels",
                format!(
                    "must have at most {MAX_LABELS} labels, got {}",
                    md.labels.len()
                ),
            );
        }
        for (k, v) in &md.labels {
            let p = format!("spec.template.metadata.labels[{k}]");
            check_label_key(&mut errs, &p, k, Owner::NodePool);
            if let Some(e) = label_value_error(v) {
                errs.push(p, e);
            }
        }
        for k in md.annotations.keys() {
            if let Some(e) = qualified_name_error(k) {
                errs.push(format!("spec.template.metadata.annotations[{k}]"), e);
            }
        }
        let t = &spec.template.spec;
        check_requirements(
            &mut errs,
            "spec.template.spec.requirements",
            &t.requirements,
            Owner::NodePool,
        );
        check_taints(
            &mut errs,
            "spec.template.spec",
            &t.taints,
            &t.startup_taints,
        );
        check_node_class_ref(
            &mut errs,
            "spec.template.spec.nodeClassRef",
            &t.node_class_ref,
        );
        check_nillable(&mut errs, "spec.template.spec.expireAfter", &t.expire_after);
        if let Some(d) = &t.termination_grace_period {
            check_go_duration(&mut errs, "spec.template.spec.terminationGracePeriod", d);
        }
        check_disruption(&mut errs, "spec.disruption", &spec.disruption);
        check_resource_list(&mut errs, "spec.limits", &spec.limits);
        if let Some(w) = spec.weight {
            if !WEIGHT_RANGE.contains(&w) {
                errs.push(
                    "spec.weight",
                    format!(
                        "must be between {} and {}, got {w}",
                        WEIGHT_RANGE.start(),
                        WEIGHT_RANGE.end()
                    ),
                );
            }
        }
        if let Some(r) = spec.replicas {
            if r < 0 {
                errs.push("spec.replicas", format!("must not be negative, got {r}"));
            }
        }
        errs.0
    }
}

impl Validate for NodeClaim {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        check_name(&mut errs, self.metadata.name.as_deref());
        let spec = &self.spec;
        check_requirements(
            &mut errs,
            "spec.requirements",
            &spec.requirements,
            Owner::NodeClaim,
        );
        check_taints(&mut errs, "spec", &spec.taints, &spec.startup_taints);
        check_node_class_ref(&mut errs, "spec.nodeClassRef", &spec.node_class_ref);
        check_nillable(&mut errs, "spec.expireAfter", &spec.expire_after);
        if let Some(d) = &spec.termination_grace_period {
            check_go_duration(&mut errs, "spec.terminationGracePeriod", d);
        }
        check_resource_list(
            &mut errs,
            "spec.resources.requests",
            &spec.resources.requests,
        );
        errs.0
    }
}

fn check_tags(errs: &mut Errors, path: &str, tags: &BTreeMap<String, String>) {
    if tags.iter().any(|(k, v)| k.is_empty() || v.is_empty()) {
        errs.push(path, "empty tag keys or values aren't supported");
    }
}

/// Tag keys an EC2NodeClass may not set, because Karpenter sets them.
const RESTRICTED_TAGS: [&str; 4] = [
    labels::NODE_POOL,
    "karpenter.sh/nodeclaim",
    labels::AWS_EC2_NODE_CLASS,
    "eks:eks-cluster-name",
];

const EVICTION_SIGNALS: [&str; 6] = [
    "memory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "pid.available",
];

const RESERVED_RESOURCES: [&str; 4] = ["cpu", "memory", "ephemeral-storage", "pid"];

fn check_kubelet(errs: &mut Errors, path: &str, k: &KubeletConfiguration) {
    for (field, v) in [("maxPods", k.max_pods), ("podsPerCore", k.pods_per_core)] {
        if let Some(v) = v {
            if v < 0 {
                errs.push(
                    format!("{path}.{field}"),
                    format!("must not be negative, got {v}"),
                );
            }
        }
    }
    for (field, map) in [
        ("systemReserved", &k.system_reserved),
        ("kubeReserved", &k.kube_reserved),
    ] {
        for (name, q) in map {
            let p = format!("{path}.{field}[{name}]");
            if !RESERVED_RESOURCES.contains(&name.as_str()) {
                errs.push(
                    &p,
                    format!(
                        "invalid key {name:?}: valid keys for {field} are {}",
                        RESERVED_RESOURCES.join(", ")
                    ),
                );
            }
            if let Err(e) = parse_milli(q) {
                errs.push(p, e.to_string());
            }
        }
    }
    for (field, map) in [
        ("evictionHard", &k.eviction_hard),
        ("evictionSoft", &k.eviction_soft),
    ] {
        for (signal, threshold) in map {
            let p = format!("{path}.{field}[{signal}]");
            if !EVICTION_SIGNALS.contains(&signal.as_str()) {
                errs.push(
                    &p,
                    format!(
                        "invalid key {signal:?}: valid keys for {field} are {}",
                        EVICTION_SIGNALS.join(", ")
                    ),
                );
            }
            let ok = match threshold.strip_suffix('%') {
                Some(pct) => pct.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v)),
                None => parse_milli(threshold).is_ok(),
            };
            if !ok {
                errs.push(
                    p,
                    format!(
                        "invalid threshold {threshold:?}: expected a quantity (100Mi) or a percentage (10%)"
                    ),
                );
            }
        }
    }
    for (signal, grace) in &k.eviction_soft_grace_period {
        let p = format!("{path}.evictionSoftGracePeriod[{signal}]");
        if !EVICTION_SIGNALS.contains(&signal.as_str()) {
            errs.push(
                &p,
                format!(
                    "invalid key {signal:?}: valid keys for evictionSoftGracePeriod are {}",
                    EVICTION_SIGNALS.join(", ")
                ),
            );
        }
        if parse_duration(grace).is_err() {
            errs.push(&p, format!("invalid duration {grace:?}"));
        }
        if !k.eviction_soft.contains_key(signal) {
            errs.push(
                p,
                format!("{signal:?} has a grace period but no evictionSoft threshold"),
            );
        }
    }
    for signal in k.eviction_soft.keys() {
        if !k.eviction_soft_grace_period.contains_key(signal) {
            errs.push(
                format!("{path}.evictionSoft[{signal}]"),
                format!("{signal:?} has no matching evictionSoftGracePeriod"),
            );
        }
    }
    for (field, v) in [
        (
            "imageGCHighThresholdPercent",
            k.image_gc_high_threshold_percent,
        ),
        (
            "imageGCLowThresholdPercent",
            k.image_gc_low_threshold_percent,
        ),
    ] {
        if let Some(v) = v {
            if !(0..=100).contains(&v) {
                errs.push(
                    format!("{path}.{field}"),
                    format!("must be between 0 and 100, got {v}"),
                );
            }
        }
    }
    if let (Some(high), Some(low)) = (
        k.image_gc_high_threshold_percent,
        k.image_gc_low_threshold_percent,
    ) {
        if high <= low {
            errs.push(
                format!("{path}.imageGCHighThresholdPercent"),
                format!(
                    "imageGCHighThresholdPercent ({high}) must be greater than imageGCLowThresholdPercent ({low})"
                ),
            );
        }
    }
}

const ALIAS_FAMILIES: [&str; 5] = [
    "al2",
    "al2023",
    "bottlerocket",
    "windows2019",
    "windows2022",
];

fn check_ami_terms(errs: &mut Errors, spec: &EC2NodeClassSpec) {
    let path = "spec.amiSelectorTerms";
    let terms = &spec.ami_selector_terms;
    if terms.is_empty() {
        errs.push(path, "must have at least one term");
    }
    if terms.len() > 1 && terms.iter().any(|t| t.alias.is_some()) {
        errs.push(
            path,
            "'alias' is mutually exclusive, cannot be set with a combination of other amiSelectorTerms",
        );
    }
    for (i, t) in terms.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let others = !t.tags.is_empty()
            || t.id.is_some()
            || t.name.is_some()
            || t.owner.is_some()
            || t.ssm_parameter.is_some();
        if t.alias.is_none() && !others {
            errs.push(
                &p,
                "expected at least one, got none, ['tags', 'id', 'name', 'alias', 'ssmParameter']",
            );
        }
        if let Some(alias) = &t.alias {
            if others {
                errs.push(
                    format!("{p}.alias"),
                    "'alias' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms",
                );
            }
            match alias.split_once('@') {
                Some((family, version))
                    if !family.is_empty()
                        && family.bytes().all(|b| b.is_ascii_alphanumeric())
                        && !version.is_empty()
                        && alias.len() <= 30 =>
                {
                    if !ALIAS_FAMILIES.contains(&family) {
                        errs.push(
                            format!("{p}.alias"),
                            format!(
                                "family {family:?} is not supported, must be one of the following: 'al2', 'al2023', 'bottlerocket', 'windows2019', 'windows2022'"
                            ),
                        );
                    } else if family.starts_with("windows") && version != "latest" {
                        errs.push(
                            format!("{p}.alias"),
                            "windows families may only specify version 'latest'",
                        );
                    }
                }
                _ => errs.push(
                    format!("{p}.alias"),
                    format!(
                        "invalid alias {alias:?}: must be family@version (at most 30 characters), e.g. al2023@latest"
                    ),
                ),
            }
        }
        if t.id.is_some()
            && (!t.tags.is_empty()
                || t.name.is_some()
                || t.owner.is_some()
                || t.ssm_parameter.is_some())
        {
            errs.push(
                format!("{p}.id"),
                "'id' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms",
            );
        }
        if let Some(id) = &t.id {
            if !id.starts_with("ami-") || id.len() == 4 {
                errs.push(
                    format!("{p}.id"),
                    format!("invalid AMI id {id:?}: expected ami-..."),
                );
            }
        }
        check_tags(errs, &format!("{p}.tags"), &t.tags);
    }
    let alias_family = terms
        .iter()
        .find_map(|t| t.alias_parts())
        .and_then(|(f, _)| AMIFamily::from_alias_family(f));
    match (spec.ami_family, alias_family) {
        (None, None) if !terms.iter().any(|t| t.alias.is_some()) => errs.push(
            "spec.amiFamily",
            "must specify amiFamily if amiSelectorTerms does not contain an alias",
        ),
        (Some(family), Some(implied)) if family != implied && family != AMIFamily::Custom => errs
            .push(
                "spec.amiFamily",
                format!(
                "if set, amiFamily must be '{implied}' or 'Custom' when using an {implied} alias"
            ),
            ),
        _ => {}
    }
}

fn check_id_terms<'a>(
    errs: &mut Errors,
    path: &str,
    field_names: &str,
    prefix: &str,
    terms: impl Iterator<Item = (Option<&'a str>, &'a BTreeMap<String, String>, bool)>,
) {
    let name = path.rsplit('.').next().unwrap_or(path);
    for (i, (id, tags, other)) in terms.enumerate() {
        let p = format!("{path}[{i}]");
        if id.is_none() && tags.is_empty() && !other {
            errs.push(
                &p,
                format!("expected at least one, got none, {field_names}"),
            );
        }
        if let Some(id) = id {
            if !tags.is_empty() || other {
                errs.push(
                    format!("{p}.id"),
                    format!(
                        "'id' is mutually exclusive, cannot be set with a combination of other fields in {name}"
                    ),
                );
            }
            let rest = id.strip_prefix(prefix).unwrap_or("");
            if rest.is_empty()
                || !rest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            {
                errs.push(
                    format!("{p}.id"),
                    format!("invalid id {id:?}: expected {prefix}[0-9a-z]+"),
                );
            }
        }
        check_tags(errs, &format!("{p}.tags"), tags);
    }
}

impl Validate for EC2NodeClass {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        check_name(&mut errs, self.metadata.name.as_deref());
        let s = &self.spec;
        if s.subnet_selector_terms.is_empty() {
            errs.push("spec.subnetSelectorTerms", "must have at least one term");
        }
        check_id_terms(
            &mut errs,
            "spec.subnetSelectorTerms",
            "['tags', 'id']",
            "subnet-",
            s.subnet_selector_terms
                .iter()
                .map(|t| (t.id.as_deref(), &t.tags, false)),
        );
        if s.security_group_selector_terms.is_empty() {
            errs.push(
                "spec.securityGroupSelectorTerms",
                "must have at least one term",
            );
        }
        check_id_terms(
            &mut errs,
            "spec.securityGroupSelectorTerms",
            "['tags', 'id', 'name']",
            "sg-",
            s.security_group_selector_terms
                .iter()
                .map(|t| (t.id.as_deref(), &t.tags, t.name.is_some())),
        );
        check_id_terms(
            &mut errs,
            "spec.capacityReservationSelectorTerms",
            "['tags', 'id']",
            "cr-",
            s.capacity_reservation_selector_terms
                .iter()
                .map(|t| (t.id.as_deref(), &t.tags, t.owner_id.is_some())),
        );
        for (i, t) in s.capacity_reservation_selector_terms.iter().enumerate() {
            if let Some(owner) = &t.owner_id {
                if owner.len() != 12 || !owner.bytes().all(|b| b.is_ascii_digit()) {
                    errs.push(
                        format!("spec.capacityReservationSelectorTerms[{i}].ownerID"),
                        format!("invalid account id {owner:?}: expected 12 digits"),
                    );
                }
            }
        }
        check_ami_terms(&mut errs, s);
        match (&s.role, &s.instance_profile) {
            (Some(_), Some(_)) => errs.push(
                "spec.instanceProfile",
                "must specify exactly one of ['role', 'instanceProfile'], got both",
            ),
            (None, None) => errs.push(
                "spec.role",
                "must specify exactly one of ['role', 'instanceProfile'], got none",
            ),
            _ => {}
        }
        for (field, v) in [("role", &s.role), ("instanceProfile", &s.instance_profile)] {
            if v.as_deref() == Some("") {
                errs.push(format!("spec.{field}"), format!("{field} may not be empty"));
            }
        }
        for k in s.tags.keys() {
            let p = format!("spec.tags[{k}]");
            if k.is_empty() {
                errs.push(p, "empty tag keys aren't supported");
            } else if k.starts_with("kubernetes.io/cluster") {
                errs.push(
                    p,
                    "tag contains a restricted tag matching kubernetes.io/cluster/",
                );
            } else if RESTRICTED_TAGS.contains(&k.as_str()) {
                errs.push(p, format!("tag contains a restricted tag matching {k}"));
            }
        }
        if let Some(k) = &s.kubelet {
            check_kubelet(&mut errs, "spec.kubelet", k);
        }
        let mut root_seen = false;
        for (i, m) in s.block_device_mappings.iter().enumerate() {
            let p = format!("spec.blockDeviceMappings[{i}]");
            if m.root_volume {
                if root_seen {
                    errs.push(
                        format!("{p}.rootVolume"),
                        "must have only one blockDeviceMappings with rootVolume",
                    );
                }
                root_seen = true;
            }
            if let Some(ebs) = &m.ebs {
                if ebs.snapshot_id.is_none() && ebs.volume_size.is_none() {
                    errs.push(
                        format!("{p}.ebs"),
                        "snapshotID or volumeSize must be defined",
                    );
                }
                if let Some(size) = &ebs.volume_size {
                    match parse_milli(&size.0) {
                        Err(e) => errs.push(format!("{p}.ebs.volumeSize"), e.to_string()),
                        Ok(milli) => {
                            let max = 64_i64 * (1 << 40) * 1000;
                            if milli < (1 << 30) * 1000 || milli > max {
                                errs.push(
                                    format!("{p}.ebs.volumeSize"),
                                    format!(
                                        "volume size {:?} must be between 1Gi and 64Ti",
                                        size.0
                                    ),
                                );
                            }
                        }
                    }
                }
                for (field, v) in [("iops", ebs.iops), ("throughput", ebs.throughput)] {
                    if let Some(v) = v {
                        if v < 0 {
                            errs.push(
                                format!("{p}.ebs.{field}"),
                                format!("must not be negative, got {v}"),
                            );
                        }
                    }
                }
            }
        }
        let mo = &s.metadata_options;
        for (field, value, allowed) in [
            ("httpEndpoint", &mo.http_endpoint, ["enabled", "disabled"]),
            (
                "httpProtocolIPv6",
                &mo.http_protocol_ipv6,
                ["enabled", "disabled"],
            ),
            ("httpTokens", &mo.http_tokens, ["required", "optional"]),
        ] {
            if !allowed.contains(&value.as_str()) {
                errs.push(
                    format!("spec.metadataOptions.{field}"),
                    format!(
                        "unsupported value {value:?}, must be one of {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        if !(1..=64).contains(&mo.http_put_response_hop_limit) {
            errs.push(
                "spec.metadataOptions.httpPutResponseHopLimit",
                format!(
                    "must be between 1 and 64, got {}",
                    mo.http_put_response_hop_limit
                ),
            );
        }
        errs.0
    }
}
