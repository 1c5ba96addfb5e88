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
    /// Pods waiting for a node (no `spec.nodeName`, not terminating, not finished, not owned by
    /// a DaemonSet), including those expanded from workloads.
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

/// One document, decoded and checked. Expansion happens when the snapshot is assembled, in
/// document order.
enum Decoded {
    NodePool(Location, Box<NodePool>),
    EC2NodeClass(Location, Box<EC2NodeClass>),
    NodeClaim(Location, Box<NodeClaim>),
    Pod(Box<Pod>),
    Workload(Box<Workload>),
    DaemonSet(Box<DaemonSet>),
    Node(Box<Node>),
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    PersistentVolume(Box<PersistentVolume>),
    StorageClass(Box<StorageClass>),
    Ignored(String),
}

/// A Deployment, ReplicaSet, StatefulSet or Job, reduced to what expansion needs.
struct Workload {
    kind: &'static str,
    meta: ObjectMeta,
    template: PodTemplateSpec,
    count: usize,
    claim_templates: Vec<PersistentVolumeClaim>,
}

/// Documents below this count are decoded on one thread.
const PARALLEL_MIN_DOCS: usize = 512;

/// Sorts documents into a snapshot; the first invalid document (in input order) is the error.
/// Large inputs are decoded on every core.
pub fn load(docs: &[Document]) -> Result<Inputs, DecodeError> {
    let threads = super::parse::threads_for(docs.len(), PARALLEL_MIN_DOCS);
    let decoded: Vec<Decoded> = if threads <= 1 {
        docs.iter().map(decode_one).collect::<Result<_, _>>()?
    } else {
        let chunk = docs.len().div_ceil(threads);
        let parts: Vec<Result<Vec<Decoded>, DecodeError>> = std::thread::scope(|s| {
            let handles: Vec<_> = docs
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(decode_one).collect()))
                .collect();
            handles
                .into_iter()
                .zip(docs.chunks(chunk))
                .map(|(h, c)| {
                    h.join().unwrap_or_else(|_| {
                        Err(error(
                            &c[0],
                            "",
                            "internal error while decoding this part of the input",
                        ))
                    })
                })
                .collect()
        });
        let mut all = Vec::with_capacity(docs.len());
        for p in parts {
            all.extend(p?);
        }
        all
    };
    Ok(assemble(decoded))
}

/// Decodes and checks one document.
fn decode_one(doc: &Document) -> Result<Decoded, DecodeError> {
    Ok(match doc.kind() {
        "NodePool" => Decoded::NodePool(doc.location.clone(), Box::new(decode_karpenter(doc)?)),
        "EC2NodeClass" => {
            Decoded::EC2NodeClass(doc.location.clone(), Box::new(decode_karpenter(doc)?))
        }
        "NodeClaim" => Decoded::NodeClaim(doc.location.clone(), Box::new(decode_karpenter(doc)?)),
        "Pod" => {
            let mut pod: Pod = decode(doc)?;
            require_name(doc, &pod.metadata)?;
            if let Some(spec) = &pod.spec {
                check_pod_spec(doc, "spec", spec)?;
            }
            pod.metadata
                .namespace
                .get_or_insert_with(|| "default".to_string());
            Decoded::Pod(Box::new(pod))
        }
        "Deployment" => {
            let d: Deployment = decode(doc)?;
            require_name(doc, &d.metadata)?;
            let spec = d.spec.ok_or_else(|| missing(doc, "spec"))?;
            let count = replicas(doc, "spec.replicas", spec.replicas)?;
            workload(
                doc,
                "Deployment",
                d.metadata,
                spec.template,
                count,
                Vec::new(),
            )?
        }
        "ReplicaSet" => {
            let r: ReplicaSet = decode(doc)?;
            require_name(doc, &r.metadata)?;
            let spec = r.spec.ok_or_else(|| missing(doc, "spec"))?;
            let count = replicas(doc, "spec.replicas", spec.replicas)?;
            let template = spec.template.ok_or_else(|| missing(doc, "spec.template"))?;
            workload(doc, "ReplicaSet", r.metadata, template, count, Vec::new())?
        }
        "StatefulSet" => {
            let s: StatefulSet = decode(doc)?;
            require_name(doc, &s.metadata)?;
            let spec = s.spec.ok_or_else(|| missing(doc, "spec"))?;
            let count = replicas(doc, "spec.replicas", spec.replicas)?;
            let claims = spec.volume_claim_templates.unwrap_or_default();
            workload(doc, "StatefulSet", s.metadata, spec.template, count, claims)?
        }
        "Job" => {
            let j: Job = decode(doc)?;
            require_name(doc, &j.metadata)?;
            let spec = j.spec.ok_or_else(|| missing(doc, "spec"))?;
            let mut count = replicas(doc, "spec.parallelism", spec.parallelism)?;
            if let Some(c) = spec.completions {
                count = count.min(replicas(doc, "spec.completions", Some(c))?);
            }
            workload(doc, "Job", j.metadata, spec.template, count, Vec::new())?
        }
        "DaemonSet" => {
            let d: DaemonSet = decode(doc)?;
            require_name(doc, &d.metadata)?;
            let spec = d.spec.as_ref().ok_or_else(|| missing(doc, "spec"))?;
            if let Some(pod_spec) = &spec.template.spec {
                check_pod_spec(doc, "spec.template.spec", pod_spec)?;
            }
            Decoded::DaemonSet(Box::new(d))
        }
        "Node" => {
            let node: Node = decode(doc)?;
            require_name(doc, &node.metadata)?;
            if let Some(status) = &node.status {
                check_quantities(doc, "status.allocatable", status.allocatable.as_ref())?;
                check_quantities(doc, "status.capacity", status.capacity.as_ref())?;
            }
            Decoded::Node(Box::new(node))
        }
        "PodDisruptionBudget" => {
            let pdb: PodDisruptionBudget = decode(doc)?;
            require_name(doc, &pdb.metadata)?;
            Decoded::PodDisruptionBudget(Box::new(pdb))
        }
        "PersistentVolumeClaim" => {
            let mut pvc: PersistentVolumeClaim = decode(doc)?;
            require_name(doc, &pvc.metadata)?;
            pvc.metadata
                .namespace
                .get_or_insert_with(|| "default".to_string());
            Decoded::PersistentVolumeClaim(Box::new(pvc))
        }
        "PersistentVolume" => {
            let pv: PersistentVolume = decode(doc)?;
            require_name(doc, &pv.metadata)?;
            Decoded::PersistentVolume(Box::new(pv))
        }
        "StorageClass" => {
            let sc: StorageClass = decode(doc)?;
            require_name(doc, &sc.metadata)?;
            Decoded::StorageClass(Box::new(sc))
        }
        other => Decoded::Ignored(other.to_string()),
    })
}

fn workload(
    doc: &Document,
    kind: &'static str,
    meta: ObjectMeta,
    template: PodTemplateSpec,
    count: usize,
    claim_templates: Vec<PersistentVolumeClaim>,
) -> Result<Decoded, DecodeError> {
    let spec = template
        .spec
        .as_ref()
        .ok_or_else(|| missing(doc, "spec.template.spec"))?;
    check_pod_spec(doc, "spec.template.spec", spec)?;
    Ok(Decoded::Workload(Box::new(Workload {
        kind,
        meta,
        template,
        count,
        claim_templates,
    })))
}

/// Builds the snapshot from decoded documents, in order: workloads expand to pods, StatefulSets
/// get their claims, explicit claims replace synthesized ones.
fn assemble(decoded: Vec<Decoded>) -> Inputs {
    let mut inputs = Inputs::default();
    // (namespace, name) → index in `persistent_volume_claims`.
    let mut claims: BTreeMap<(String, String), usize> = BTreeMap::new();
    let claim_key = |c: &PersistentVolumeClaim| {
        (
            c.metadata.namespace.clone().unwrap_or_default(),
            c.metadata.name.clone().unwrap_or_default(),
        )
    };
    for d in decoded {
        match d {
            Decoded::NodePool(l, p) => inputs.node_pools.push((l, *p)),
            Decoded::EC2NodeClass(l, c) => inputs.node_classes.push((l, *c)),
            Decoded::NodeClaim(l, c) => inputs.node_claims.push((l, *c)),
            Decoded::Pod(p) => add_pod(&mut inputs, *p),
            Decoded::Workload(w) => {
                let first = inputs.pending_pods.len();
                expand(&mut inputs, &w);
                // Each replica gets its own claim from every volumeClaimTemplate, named
                // `<template>-<pod>` as the StatefulSet controller names and creates them.
                if !w.claim_templates.is_empty() {
                    let mut made = Vec::new();
                    for pod in &mut inputs.pending_pods[first..] {
                        let pod_name = pod.metadata.name.clone().unwrap_or_default();
                        made.extend(add_claim_template_volumes(
                            pod,
                            &pod_name,
                            &w.claim_templates,
                        ));
                    }
                    for c in made {
                        if let std::collections::btree_map::Entry::Vacant(e) =
                            claims.entry(claim_key(&c))
                        {
                            e.insert(inputs.persistent_volume_claims.len());
                            inputs.persistent_volume_claims.push(c);
                        }
                    }
                }
            }
            Decoded::DaemonSet(d) => inputs.daemon_sets.push(*d),
            Decoded::Node(n) => inputs.nodes.push(*n),
            Decoded::PodDisruptionBudget(p) => inputs.pod_disruption_budgets.push(*p),
            Decoded::PersistentVolumeClaim(c) => {
                // A claim given explicitly replaces one synthesized from a StatefulSet template.
                let key = claim_key(&c);
                match claims.get(&key) {
                    Some(&i) => inputs.persistent_volume_claims[i] = *c,
                    None => {
                        claims.insert(key, inputs.persistent_volume_claims.len());
                        inputs.persistent_volume_claims.push(*c);
                    }
                }
            }
            Decoded::PersistentVolume(v) => inputs.persistent_volumes.push(*v),
            Decoded::StorageClass(c) => inputs.storage_classes.push(*c),
            Decoded::Ignored(kind) => *inputs.ignored.entry(kind).or_insert(0) += 1,
        }
    }
    inputs
}

/// Decodes without copying the document; only a failure is decoded again, with field-path
/// tracking, to name the field.
fn decode<T: serde::de::DeserializeOwned>(doc: &Document) -> Result<T, DecodeError> {
    match T::deserialize(&doc.value) {
        Ok(v) => Ok(v),
        Err(_) => doc.decode(),
    }
}

/// Decodes a Karpenter object (which applies the CRD defaults) and runs the API's validation,
/// reporting the first violation.
fn decode_karpenter<T>(doc: &Document) -> Result<T, DecodeError>
where
    T: serde::de::DeserializeOwned + karpenter_api::Validate,
{
    let obj: T = decode(doc)?;
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
    // A DaemonSet's own pods wait for the nodes they belong to; they are overhead (from the
    // DaemonSet), never a reason to launch one, as in Karpenter's provisioner.
    let daemon = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet");
    if !terminating && !finished && !daemon {
        inputs.pending_pods.push(pod);
    }
}

/// Expands a workload into `count` pods named `<name>-<i>` from its template, in the
/// workload's namespace (default `default`), owned by it.
fn expand(inputs: &mut Inputs, w: &Workload) {
    let name = w.meta.name.clone().unwrap_or_default();
    let namespace = w
        .meta
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let api_version = if w.kind == "Job" {
        "batch/v1"
    } else {
        "apps/v1"
    };
    let template_meta = w.template.metadata.clone().unwrap_or_default();
    for i in 0..w.count {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(format!("{name}-{i}")),
                namespace: Some(namespace.clone()),
                labels: template_meta.labels.clone(),
                annotations: template_meta.annotations.clone(),
                owner_references: Some(vec![OwnerReference {
                    api_version: api_version.to_string(),
                    kind: w.kind.to_string(),
                    name: name.clone(),
                    controller: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            spec: w.template.spec.clone(),
            status: None,
        };
        add_pod(inputs, pod);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_documents;

    fn docs(text: &str) -> Vec<Document> {
        let mut out = Vec::new();
        parse_documents("f.yaml", text, &mut out).unwrap();
        out
    }

    fn pod(name: &str, cpu: &str) -> String {
        format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{containers: [{{name: c, resources: {{requests: {{cpu: \"{cpu}\"}}}}}}]}}\n")
    }

    #[test]
    fn large_inputs_keep_order_and_report_the_first_error() {
        let many: String = (0..2000).map(|i| pod(&format!("p{i}"), "100m")).collect();
        let inputs = load(&docs(&many)).unwrap();
        let names: Vec<&str> = inputs
            .pending_pods
            .iter()
            .map(|p| p.metadata.name.as_deref().unwrap())
            .collect();
        let expected: Vec<String> = (0..2000).map(|i| format!("p{i}")).collect();
        assert_eq!(names, expected);
        // Two bad documents in different parts: the earlier one is reported.
        let text: String = (0..2000)
            .map(|i| match i {
                150 => pod("early", "x"),
                1900 => pod("late", "y"),
                _ => pod(&format!("p{i}"), "100m"),
            })
            .collect();
        let err = load(&docs(&text)).unwrap_err();
        assert_eq!(err.kind_name, "Pod/early");
        assert_eq!(err.location.index, 150);
        assert_eq!(err.field, "spec.containers[0].resources.requests.cpu");
    }

    #[test]
    fn claims_from_templates_and_explicit_claims() {
        let text = "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: data}\nspec:\n  replicas: 2\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template:\n    spec: {containers: [{name: c}]}\n  volumeClaimTemplates:\n  - metadata: {name: vol}\n    spec: {storageClassName: gp3, resources: {requests: {storage: 1Gi}}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: vol-db-1, namespace: data}\nspec: {volumeName: pv-9, resources: {requests: {storage: 1Gi}}}\n";
        let inputs = load(&docs(text)).unwrap();
        let claims: Vec<(String, Option<String>)> = inputs
            .persistent_volume_claims
            .iter()
            .map(|c| {
                (
                    c.metadata.name.clone().unwrap(),
                    c.spec.as_ref().and_then(|s| s.volume_name.clone()),
                )
            })
            .collect();
        assert_eq!(
            claims,
            [
                ("vol-db-0".to_string(), None),
                ("vol-db-1".to_string(), Some("pv-9".to_string()))
            ],
            "the explicit claim replaces the synthesized one in place"
        );
        let vols = inputs.pending_pods[1]
            .spec
            .as_ref()
            .unwrap()
            .volumes
            .as_ref()
            .unwrap();
        assert_eq!(
            vols[0].persistent_volume_claim.as_ref().unwrap().claim_name,
            "vol-db-1"
        );
        let owner = &inputs.pending_pods[0]
            .metadata
            .owner_references
            .as_ref()
            .unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("StatefulSet", "db")
        );
    }
}
