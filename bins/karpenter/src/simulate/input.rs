//! Manifests → the typed snapshot `simulate` works on.
//!
//! Every document is sorted by kind: NodePools, EC2NodeClasses and NodeClaims are Karpenter's
//! objects; Pods are pending (no `spec.nodeName`) or bound; Deployments, ReplicaSets,
//! StatefulSets and Jobs expand to the pods their controllers would create; DaemonSets are
//! per-node overhead; Nodes are existing capacity; PodDisruptionBudgets and volume objects are
//! kept for the scheduler and disruption. Anything else is counted and reported once per kind.
//! A document that is not a valid object of its kind is an input error naming the file, the
//! document's index, kind/name and the field.

use crate::manifest::{DecodeError, Document, Location};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Container, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec, PodTemplateSpec,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use karpenter_api::quantity::parse_milli;
use karpenter_api::{EC2NodeClass, NodeClaim, NodePool};
use std::collections::BTreeMap;

/// Everything `simulate` read, by kind, in input order.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    /// `karpenter.sh/v1` NodePools, with where each was read.
    pub node_pools: Vec<(Location, NodePool)>,
    /// `karpenter.k8s.aws/v1` EC2NodeClasses, with where each was read.
    pub node_classes: Vec<(Location, EC2NodeClass)>,
    /// `karpenter.sh/v1` NodeClaims (in-flight capacity), with where each was read.
    pub node_claims: Vec<(Location, NodeClaim)>,
    /// Pods waiting for a node (no `spec.nodeName`, not terminating, not finished), including
    /// those expanded from workloads.
    pub pending_pods: Vec<Pod>,
    /// Pods bound to a node (`spec.nodeName` set), including terminating ones.
    pub bound_pods: Vec<Pod>,
    /// DaemonSets: overhead on every node their pods would land on.
    pub daemon_sets: Vec<DaemonSet>,
    /// Existing Nodes.
    pub nodes: Vec<Node>,
    /// PodDisruptionBudgets.
    pub pod_disruption_budgets: Vec<PodDisruptionBudget>,
    /// PersistentVolumeClaims.
    pub persistent_volume_claims: Vec<PersistentVolumeClaim>,
    /// PersistentVolumes.
    pub persistent_volumes: Vec<PersistentVolume>,
    /// StorageClasses.
    pub storage_classes: Vec<StorageClass>,
    /// Documents of kinds `simulate` does not use: kind → how many.
    pub ignored: BTreeMap<String, usize>,
}

impl Inputs {
    /// One warning line per ignored kind, sorted by kind.
    pub fn warnings(&self) -> Vec<String> {
        self.ignored
            .iter()
            .map(|(kind, n)| {
                let kind = if kind.is_empty() { "<no kind>" } else { kind };
                let s = if *n == 1 { "" } else { "s" };
                format!("warning: ignoring {n} object{s} of kind {kind}: simulate does not use it")
            })
            .collect()
    }
}

/// Sorts documents into a snapshot; the first invalid document is the error.
pub fn load(docs: &[Document]) -> Result<Inputs, DecodeError> {
    let mut inputs = Inputs::default();
    for doc in docs {
        match doc.kind() {
            "NodePool" => {
                let pool: NodePool = decode_karpenter(doc)?;
                inputs.node_pools.push((doc.location.clone(), pool));
            }
            "EC2NodeClass" => {
                let class: EC2NodeClass = decode_karpenter(doc)?;
                inputs.node_classes.push((doc.location.clone(), class));
            }
            "NodeClaim" => {
                let claim: NodeClaim = decode_karpenter(doc)?;
                inputs.node_claims.push((doc.location.clone(), claim));
            }
            "Pod" => {
                let mut pod: Pod = decode(doc)?;
                require_name(doc, &pod.metadata)?;
                if let Some(spec) = &pod.spec {
                    check_pod_spec(doc, "spec", spec)?;
                }
                pod.metadata
                    .namespace
                    .get_or_insert_with(|| "default".to_string());
                add_pod(&mut inputs, pod);
            }
            "Deployment" => {
                let d: Deployment = decode(doc)?;
                require_name(doc, &d.metadata)?;
                let spec = d.spec.as_ref().ok_or_else(|| missing(doc, "spec"))?;
                let n = replicas(doc, "spec.replicas", spec.replicas)?;
                expand(
                    doc,
                    &mut inputs,
                    &d.metadata,
                    "Deployment",
                    &spec.template,
                    n,
                )?;
            }
            "ReplicaSet" => {
                let r: ReplicaSet = decode(doc)?;
                require_name(doc, &r.metadata)?;
                let spec = r.spec.as_ref().ok_or_else(|| missing(doc, "spec"))?;
                let n = replicas(doc, "spec.replicas", spec.replicas)?;
                let template = spec
                    .template
                    .as_ref()
                    .ok_or_else(|| missing(doc, "spec.template"))?;
                expand(doc, &mut inputs, &r.metadata, "ReplicaSet", template, n)?;
            }
            "StatefulSet" => {
                let s: StatefulSet = decode(doc)?;
                require_name(doc, &s.metadata)?;
                let spec = s.spec.as_ref().ok_or_else(|| missing(doc, "spec"))?;
                let n = replicas(doc, "spec.replicas", spec.replicas)?;
                let first = inputs.pending_pods.len();
                expand(
                    doc,
                    &mut inputs,
                    &s.metadata,
                    "StatefulSet",
                    &spec.template,
                    n,
                )?;
                // Each replica gets its own claim from every volumeClaimTemplate, named
                // `<template>-<pod>` as the StatefulSet controller names and creates them.
                if let Some(templates) = &spec.volume_claim_templates {
                    let mut claims = Vec::new();
                    for pod in &mut inputs.pending_pods[first..] {
                        let pod_name = pod.metadata.name.clone().unwrap_or_default();
                        claims.extend(add_claim_template_volumes(pod, &pod_name, templates));
                    }
                    for c in claims {
                        let exists = inputs.persistent_volume_claims.iter().any(|p| {
                            p.metadata.name == c.metadata.name
                                && p.metadata.namespace == c.metadata.namespace
                        });
                        if !exists {
                            inputs.persistent_volume_claims.push(c);
                        }
                    }
                }
            }
            "Job" => {
                let j: Job = decode(doc)?;
                require_name(doc, &j.metadata)?;
                let spec = j.spec.as_ref().ok_or_else(|| missing(doc, "spec"))?;
                let mut n = replicas(doc, "spec.parallelism", spec.parallelism)?;
                if let Some(c) = spec.completions {
                    n = n.min(replicas(doc, "spec.completions", Some(c))?);
                }
                expand(doc, &mut inputs, &j.metadata, "Job", &spec.template, n)?;
            }
            "DaemonSet" => {
                let d: DaemonSet = decode(doc)?;
                require_name(doc, &d.metadata)?;
                let spec = d.spec.as_ref().ok_or_else(|| missing(doc, "spec"))?;
                if let Some(pod_spec) = &spec.template.spec {
                    check_pod_spec(doc, "spec.template.spec", pod_spec)?;
                }
                inputs.daemon_sets.push(d);
            }
            "Node" => {
                let node: Node = decode(doc)?;
                require_name(doc, &node.metadata)?;
                if let Some(status) = &node.status {
                    check_quantities(doc, "status.allocatable", status.allocatable.as_ref())?;
                    check_quantities(doc, "status.capacity", status.capacity.as_ref())?;
                }
                inputs.nodes.push(node);
            }
            "PodDisruptionBudget" => {
                let pdb: PodDisruptionBudget = decode(doc)?;
                require_name(doc, &pdb.metadata)?;
                inputs.pod_disruption_budgets.push(pdb);
            }
            "PersistentVolumeClaim" => {
                let mut pvc: PersistentVolumeClaim = decode(doc)?;
                require_name(doc, &pvc.metadata)?;
                pvc.metadata
                    .namespace
                    .get_or_insert_with(|| "default".to_string());
                // A claim given explicitly replaces one synthesized from a StatefulSet template.
                inputs.persistent_volume_claims.retain(|p| {
                    p.metadata.name != pvc.metadata.name
                        || p.metadata.namespace != pvc.metadata.namespace
                });
                inputs.persistent_volume_claims.push(pvc);
            }
            "PersistentVolume" => {
                let pv: PersistentVolume = decode(doc)?;
                require_name(doc, &pv.metadata)?;
                inputs.persistent_volumes.push(pv);
            }
            "StorageClass" => {
                let sc: StorageClass = decode(doc)?;
                require_name(doc, &sc.metadata)?;
                inputs.storage_classes.push(sc);
            }
            other => *inputs.ignored.entry(other.to_string()).or_insert(0) += 1,
        }
    }
    Ok(inputs)
}

fn decode<T: serde::de::DeserializeOwned>(doc: &Document) -> Result<T, DecodeError> {
    doc.decode()
}

/// Decodes a Karpenter object (which applies the CRD defaults) and runs the API's validation,
/// reporting the first violation.
fn decode_karpenter<T>(doc: &Document) -> Result<T, DecodeError>
where
    T: serde::de::DeserializeOwned + karpenter_api::Validate,
{
    let obj: T = doc.decode()?;
    if let Some(v) = obj.validate().into_iter().next() {
        return Err(error(doc, &v.field, &v.message));
    }
    Ok(obj)
}

fn error(doc: &Document, field: &str, message: &str) -> DecodeError {
    DecodeError {
        location: doc.location.clone(),
        kind_name: doc.kind_name(),
        field: field.to_string(),
        message: message.to_string(),
    }
}

fn missing(doc: &Document, field: &str) -> DecodeError {
    error(doc, field, "required")
}

fn require_name(doc: &Document, meta: &ObjectMeta) -> Result<(), DecodeError> {
    match meta.name.as_deref() {
        Some(n) if !n.is_empty() => Ok(()),
        _ => Err(missing(doc, "metadata.name")),
    }
}

fn replicas(doc: &Document, field: &str, value: Option<i32>) -> Result<usize, DecodeError> {
    let v = value.unwrap_or(1);
    usize::try_from(v).map_err(|_| error(doc, field, &format!("must not be negative, got {v}")))
}

fn add_pod(inputs: &mut Inputs, pod: Pod) {
    let spec = pod.spec.as_ref();
    let bound = spec
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    if bound {
        inputs.bound_pods.push(pod);
        return;
    }
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let finished = matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    if !terminating && !finished {
        inputs.pending_pods.push(pod);
    }
}

/// Expands a workload into `count` pods named `<name>-<i>` from its template.
fn expand(
    doc: &Document,
    inputs: &mut Inputs,
    owner: &ObjectMeta,
    kind: &str,
    template: &PodTemplateSpec,
    count: usize,
) -> Result<(), DecodeError> {
    let spec = template
        .spec
        .as_ref()
        .ok_or_else(|| missing(doc, "spec.template.spec"))?;
    check_pod_spec(doc, "spec.template.spec", spec)?;
    let name = owner.name.clone().unwrap_or_default();
    let namespace = owner
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let api_version = if kind == "Job" { "batch/v1" } else { "apps/v1" };
    let template_meta = template.metadata.clone().unwrap_or_default();
    for i in 0..count {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(format!("{name}-{i}")),
                namespace: Some(namespace.clone()),
                labels: template_meta.labels.clone(),
                annotations: template_meta.annotations.clone(),
                owner_references: Some(vec![OwnerReference {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    name: name.clone(),
                    controller: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            spec: Some(spec.clone()),
            status: None,
        };
        add_pod(inputs, pod);
    }
    Ok(())
}

/// Mounts a claim from every template on a StatefulSet pod and returns the claims the
/// controller would create for it (unbound, with the template's spec).
fn add_claim_template_volumes(
    pod: &mut Pod,
    pod_name: &str,
    templates: &[PersistentVolumeClaim],
) -> Vec<PersistentVolumeClaim> {
    use k8s_openapi::api::core::v1::{PersistentVolumeClaimVolumeSource, Volume};
    let namespace = pod.metadata.namespace.clone();
    let Some(spec) = pod.spec.as_mut() else {
        return Vec::new();
    };
    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    let mut claims = Vec::new();
    for t in templates {
        let Some(tname) = t.metadata.name.as_deref() else {
            continue;
        };
        if volumes.iter().any(|v| v.name == tname) {
            continue;
        }
        let claim_name = format!("{tname}-{pod_name}");
        volumes.push(Volume {
            name: tname.to_string(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name.clone(),
                read_only: None,
            }),
            ..Default::default()
        });
        claims.push(PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(claim_name),
                namespace: namespace.clone(),
                labels: t.metadata.labels.clone(),
                ..Default::default()
            },
            spec: t.spec.clone(),
            status: None,
        });
    }
    claims
}

fn check_quantities(
    doc: &Document,
    field: &str,
    list: Option<&BTreeMap<String, Quantity>>,
) -> Result<(), DecodeError> {
    for (name, q) in list.into_iter().flatten() {
        parse_milli(&q.0).map_err(|e| error(doc, &format!("{field}.{name}"), &e.to_string()))?;
    }
    Ok(())
}

fn check_containers(
    doc: &Document,
    field: &str,
    containers: &[Container],
) -> Result<(), DecodeError> {
    for (i, c) in containers.iter().enumerate() {
        if let Some(r) = &c.resources {
            let base = format!("{field}[{i}].resources");
            check_quantities(doc, &format!("{base}.requests"), r.requests.as_ref())?;
            check_quantities(doc, &format!("{base}.limits"), r.limits.as_ref())?;
        }
    }
    Ok(())
}

/// Checks every resource quantity of a pod spec, naming the field of the first bad one.
fn check_pod_spec(doc: &Document, field: &str, spec: &PodSpec) -> Result<(), DecodeError> {
    check_containers(doc, &format!("{field}.containers"), &spec.containers)?;
    if let Some(init) = &spec.init_containers {
        check_containers(doc, &format!("{field}.initContainers"), init)?;
    }
    check_quantities(doc, &format!("{field}.overhead"), spec.overhead.as_ref())
}
