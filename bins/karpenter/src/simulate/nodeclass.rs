//! What an EC2NodeClass changes in a simulation: the allocatable of every instance type (kubelet
//! `maxPods`, `podsPerCore`, `kubeReserved`, `systemReserved`, eviction thresholds, and the root
//! volume's size as ephemeral storage) and the image its nodes boot (for drift).

use karpenter_api::{AMIFamily, EC2NodeClass};
use karpenter_catalog::{AllocatableOptions, SettingError as CatalogSettingError};

/// A setting of a node class that cannot be used, with its field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// Field path inside the EC2NodeClass, e.g. `spec.kubelet.kubeReserved.cpu`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(field: String, message: impl ToString) -> SettingError {
    SettingError {
        field,
        message: message.to_string(),
    }
}

/// The family the node class boots, from its alias or `amiFamily` (AL2023 when neither says).
pub fn ami_family(class: &EC2NodeClass) -> AMIFamily {
    class
        .spec
        .ami_selector_terms
        .iter()
        .find_map(|t| {
            t.alias_parts()
                .and_then(|(f, _)| AMIFamily::from_alias_family(f))
        })
        .or(class.spec.ami_family)
        .unwrap_or(AMIFamily::AL2023)
}

/// The image a node class resolves to in the simulation: its alias, AMI id or name, as written.
pub fn image(class: &EC2NodeClass) -> String {
    for t in &class.spec.ami_selector_terms {
        if let Some(a) = t.alias.as_deref().or(t.id.as_deref()).or(t.name.as_deref()) {
            return a.to_string();
        }
        if let Some(p) = &t.ssm_parameter {
            return format!("ssm:{p}");
        }
    }
    format!("{}@latest", ami_family(class)).to_lowercase()
}

/// The catalog options a node class implies (kubelet settings, root volume, instance-store
/// policy), with a failure's field path relative to the object.
pub fn allocatable_options(class: &EC2NodeClass) -> Result<AllocatableOptions, SettingError> {
    let name = class.metadata.name.as_deref().unwrap_or("<unnamed>");
    let prefix = format!("EC2NodeClass {name}: ");
    let strip = |f: &str| f.strip_prefix(&prefix).unwrap_or(f).to_string();
    AllocatableOptions::from_node_class(class).map_err(|e| match &e {
        CatalogSettingError::Quantity {
            field,
            resource,
            source,
        } => err(format!("{}.{resource}", strip(field)), source),
        CatalogSettingError::EvictionValue { signal, value } => err(
            strip(signal),
            format!("invalid value {value:?}: expected a quantity (100Mi) or a percentage (10%)"),
        ),
        CatalogSettingError::Range { field, message } => {
            let f = strip(field);
            let f = if f.starts_with("spec.") {
                f
            } else {
                format!("spec.{f}")
            };
            err(f, message)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(spec: serde_json::Value) -> EC2NodeClass {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "karpenter.k8s.aws/v1",
            "kind": "EC2NodeClass",
            "metadata": {"name": "c"},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn kubelet_and_volume_settings() {
        let c = class(serde_json::json!({
            "amiSelectorTerms": [{"alias": "bottlerocket@latest"}],
            "kubelet": {
                "maxPods": 20,
                "kubeReserved": {"cpu": "200m"},
                "evictionHard": {"memory.available": "5%"}
            },
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"volumeSize": "4Gi"}},
                {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": "100Gi"}}
            ]
        }));
        let o = allocatable_options(&c).unwrap();
        assert_eq!(o.max_pods, Some(20));
        assert_eq!(o.kube_reserved.get("cpu"), 200);
        assert_eq!(o.root_volume_size, 100 * (1 << 30) * 1000);
        assert_eq!(image(&c), "bottlerocket@latest");
    }

    #[test]
    fn bad_settings_name_the_field() {
        let c = class(serde_json::json!({"kubelet": {"systemReserved": {"memory": "lots"}}}));
        let e = allocatable_options(&c).unwrap_err();
        assert_eq!(e.field, "spec.kubelet.systemReserved.memory");
        let c =
            class(serde_json::json!({"kubelet": {"evictionHard": {"memory.available": "lots"}}}));
        let e = allocatable_options(&c).unwrap_err();
        assert_eq!(e.field, "spec.kubelet.evictionHard.memory.available");
        assert!(e.message.contains("lots"), "{}", e.message);
        assert_eq!(image(&c), "al2023@latest");
    }
}
