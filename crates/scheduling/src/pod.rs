//! Pod-level Kubernetes semantics on the string types: effective resource requests, host ports,
//! taint toleration and label selectors.

use k8s_openapi::api::core::v1::{Container, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use karpenter_api::quantity::{parse_milli, QuantityError, ResourceList};
use std::collections::BTreeMap;

/// `namespace/name` of a pod (`default` when the namespace is unset).
pub fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

/// A quantity that failed to parse, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `spec.containers[0].resources.requests.cpu`.
    pub field: String,
    /// The parse failure.
    pub error: QuantityError,
}

fn parse_map(
    m: Option<&BTreeMap<String, Quantity>>,
    field: &str,
    out: &mut ResourceList,
) -> Result<(), FieldError> {
    if let Some(m) = m {
        for (k, q) in m {
            let v = parse_milli(&q.0).map_err(|error| FieldError {
                field: format!("{field}.{k}"),
                error,
            })?;
            out.set(k.clone(), v);
        }
    }
    Ok(())
}

/// A container's requests, with limits standing in for missing requests.
fn container_requests(c: &Container, field: &str) -> Result<ResourceList, FieldError> {
    let mut req = ResourceList::new();
    if let Some(r) = &c.resources {
        let mut lim = ResourceList::new();
        parse_map(
            r.limits.as_ref(),
            &format!("{field}.resources.limits"),
            &mut lim,
        )?;
        parse_map(
            r.requests.as_ref(),
            &format!("{field}.resources.requests"),
            &mut req,
        )?;
        for (k, v) in lim.0 {
            req.0.entry(k).or_insert(v);
        }
    }
    Ok(req)
}

fn max_into(acc: &mut ResourceList, o: &ResourceList) {
    for (k, v) in &o.0 {
        let e = acc.0.entry(k.clone()).or_insert(0);
        *e = (*e).max(*v);
    }
}

/// The pod's effective requests, as Kubernetes computes them: the larger of (each init container
/// plus the restartable (sidecar) init containers started before it) and (all containers plus all
/// sidecars), plus `spec.overhead`. Containers with limits but no requests request their limits.
/// The `pods` resource is not included.
pub fn pod_requests(pod: &Pod) -> Result<ResourceList, FieldError> {
    let mut reqs = ResourceList::new();
    let Some(spec) = &pod.spec else {
        return Ok(reqs);
    };
    for (i, c) in spec.containers.iter().enumerate() {
        reqs.add(&container_requests(c, &format!("spec.containers[{i}]"))?);
    }
    let mut restartable = ResourceList::new();
    let mut init_max = ResourceList::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let r = container_requests(c, &format!("spec.initContainers[{i}]"))?;
        if c.restart_policy.as_deref() == Some("Always") {
            reqs.add(&r);
            restartable.add(&r);
            max_into(&mut init_max, &restartable);
        } else {
            let mut tmp = r;
            tmp.add(&restartable);
            max_into(&mut init_max, &tmp);
        }
    }
    max_into(&mut reqs, &init_max);
    let mut overhead = ResourceList::new();
    parse_map(spec.overhead.as_ref(), "spec.overhead", &mut overhead)?;
    reqs.add(&overhead);
    reqs.0.retain(|_, v| *v != 0);
    Ok(reqs)
}

/// A host port a pod binds: `(ip, protocol, port)`; ip `0.0.0.0` conflicts with every ip.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// Host IP (`0.0.0.0` when unset).
    pub ip: String,
    /// Protocol (`TCP` when unset).
    pub protocol: String,
    /// Port number.
    pub port: i32,
}

impl HostPort {
    /// Whether two host ports cannot be bound on the same node.
    pub fn conflicts(&self, o: &HostPort) -> bool {
        self.port == o.port
            && self.protocol == o.protocol
            && (self.ip == o.ip || self.ip == "0.0.0.0" || o.ip == "0.0.0.0")
    }
}

/// The host ports of every container (init containers included).
pub fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let mut out = Vec::new();
    if let Some(spec) = &pod.spec {
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for p in c.ports.iter().flatten() {
                if let Some(port) = p.host_port.filter(|p| *p > 0) {
                    out.push(HostPort {
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".to_string()),
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                        port,
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a toleration tolerates a taint (Kubernetes `ToleratesTaint`).
pub fn toleration_tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        if e != taint.effect {
            return false;
        }
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => {
            !key.is_empty()
                && t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    }
}

/// Whether any of the tolerations tolerates the taint.
pub fn tolerates(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| toleration_tolerates(t, taint))
}

/// Formats a taint as `key=value:Effect`.
pub fn taint_string(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={}:{}", t.key, v, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

/// Whether a label selector matches labels (`None` matches nothing, `{}` everything).
pub fn selector_matches(sel: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = sel else {
        return false;
    };
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let val = labels.get(&e.key);
        let vals = e.values.as_deref().unwrap_or(&[]);
        let ok = match e.operator.as_str() {
            "In" => val.is_some_and(|v| vals.contains(v)),
            "NotIn" => val.is_none_or(|v| !vals.contains(v)),
            "Exists" => val.is_some(),
            "DoesNotExist" => val.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerPort, PodSpec, ResourceRequirements};

    fn container(name: &str, req: &[(&str, &str)], lim: &[(&str, &str)]) -> Container {
        let m = |x: &[(&str, &str)]| {
            if x.is_empty() {
                None
            } else {
                Some(
                    x.iter()
                        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                        .collect(),
                )
            }
        };
        Container {
            name: name.into(),
            resources: Some(ResourceRequirements {
                requests: m(req),
                limits: m(lim),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn requests_sum_containers_and_use_limits_when_missing() {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![
                    container("a", &[("cpu", "500m")], &[("memory", "1Gi")]),
                    container("b", &[("cpu", "250m"), ("memory", "256Mi")], &[]),
                ],
                overhead: Some([("cpu".to_string(), Quantity("100m".into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = pod_requests(&pod).unwrap();
        assert_eq!(r.get("cpu"), 850);
        assert_eq!(r.get("memory"), (1024 + 256) * 1024 * 1024 * 1000);
    }

    #[test]
    fn init_and_sidecar_containers() {
        // Sidecar 100m started before a 2-cpu init container: init phase needs 2.1 cpu;
        // steady state needs 1 + 0.1.
        let mut sidecar = container("s", &[("cpu", "100m")], &[]);
        sidecar.restart_policy = Some("Always".into());
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![container("main", &[("cpu", "1")], &[])],
                init_containers: Some(vec![sidecar, container("init", &[("cpu", "2")], &[])]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(pod_requests(&pod).unwrap().get("cpu"), 2100);
        // A small init container does not raise the steady state.
        let pod2 = Pod {
            spec: Some(PodSpec {
                containers: vec![container("main", &[("cpu", "1")], &[])],
                init_containers: Some(vec![container("init", &[("cpu", "200m")], &[])]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(pod_requests(&pod2).unwrap().get("cpu"), 1000);
    }

    #[test]
    fn bad_quantity_names_the_field() {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![container("a", &[("cpu", "lots")], &[])],
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = pod_requests(&pod).unwrap_err();
        assert_eq!(e.field, "spec.containers[0].resources.requests.cpu");
    }

    #[test]
    fn tolerations() {
        let taint = Taint {
            key: "gpu".into(),
            value: Some("true".into()),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let eq = Toleration {
            key: Some("gpu".into()),
            value: Some("true".into()),
            operator: Some("Equal".into()),
            ..Default::default()
        };
        assert!(toleration_tolerates(&eq, &taint));
        let wrong = Toleration {
            value: Some("false".into()),
            ..eq.clone()
        };
        assert!(!toleration_tolerates(&wrong, &taint));
        let all = Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(toleration_tolerates(&all, &taint));
        let other_effect = Toleration {
            effect: Some("NoExecute".into()),
            ..eq
        };
        assert!(!toleration_tolerates(&other_effect, &taint));
        assert_eq!(taint_string(&taint), "gpu=true:NoSchedule");
    }

    #[test]
    fn host_port_conflicts() {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "a".into(),
                    ports: Some(vec![ContainerPort {
                        container_port: 80,
                        host_port: Some(8080),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let ports = host_ports(&pod);
        assert_eq!(ports.len(), 1);
        let specific = HostPort {
            ip: "10.0.0.1".into(),
            protocol: "TCP".into(),
            port: 8080,
        };
        assert!(ports[0].conflicts(&specific));
        let udp = HostPort {
            protocol: "UDP".into(),
            ..specific.clone()
        };
        assert!(!ports[0].conflicts(&udp));
    }

    #[test]
    fn selectors() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        assert!(!selector_matches(None, &labels));
        assert!(selector_matches(Some(&LabelSelector::default()), &labels));
        let sel = LabelSelector {
            match_labels: Some([("app".to_string(), "db".to_string())].into()),
            ..Default::default()
        };
        assert!(!selector_matches(Some(&sel), &labels));
    }
}
