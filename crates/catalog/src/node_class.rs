//! [`AllocatableOptions`] from an EC2NodeClass, and [`Requirement`]s from the API's
//! NodePool requirements.

use karpenter_api::ec2nodeclass::{AMIFamily, InstanceStorePolicy};
use karpenter_api::quantity::{parse_milli, ResourceList};
use karpenter_api::{EC2NodeClass, NodeSelectorRequirementWithMinValues};

use crate::allocatable::{AllocatableOptions, EvictionValue, SettingError};
use crate::requirements::Requirement;

impl From<&NodeSelectorRequirementWithMinValues> for Requirement {
    /// The catalog form of a NodePool requirement, with deprecated beta label keys normalised
    /// (`minValues` is a scheduling concern and is dropped).
    fn from(r: &NodeSelectorRequirementWithMinValues) -> Self {
        Requirement {
            key: r.normalized_key().to_string(),
            operator: r.operator,
            values: r.values.clone(),
        }
    }
}

/// The AMI family a node class launches: `spec.amiFamily`, else the family of the first
/// `amiSelectorTerms` alias (`al2023@latest`).
fn ami_family(nc: &EC2NodeClass) -> Option<AMIFamily> {
    nc.spec.ami_family.or_else(|| {
        nc.spec
            .ami_selector_terms
            .iter()
            .find_map(|t| t.alias_parts())
            .and_then(|(family, _)| AMIFamily::from_alias_family(family))
    })
}

impl AllocatableOptions {
    /// The options an EC2NodeClass implies, on top of `AllocatableOptions::default()`:
    /// `kubelet.maxPods`, `podsPerCore`, `kubeReserved`, `systemReserved`, `evictionHard`,
    /// `evictionSoft`; the ephemeral-storage size from the `blockDeviceMappings` entry marked
    /// `rootVolume` (else the AMI family's ephemeral device: `/dev/xvdb` for Bottlerocket,
    /// `/dev/xvda` otherwise; else 20Gi); and `instanceStorePolicy: RAID0`, which makes local
    /// NVMe the ephemeral storage on types that have it.
    pub fn from_node_class(nc: &EC2NodeClass) -> Result<AllocatableOptions, SettingError> {
        let mut o = AllocatableOptions::default();
        let name = nc.metadata.name.as_deref().unwrap_or("<unnamed>");
        let field = |f: &str| format!("EC2NodeClass {name}: spec.{f}");
        if let Some(k) = &nc.spec.kubelet {
            o.max_pods = k.max_pods.map(i64::from);
            o.pods_per_core = k.pods_per_core.map(i64::from);
            let list = |f: &str, m: &std::collections::BTreeMap<String, String>| {
                let mut out = ResourceList::new();
                for (res, q) in m {
                    let v = parse_milli(q).map_err(|source| SettingError::Quantity {
                        field: field(&format!("kubelet.{f}")),
                        resource: res.clone(),
                        source,
                    })?;
                    out.set(res.clone(), v);
                }
                Ok::<_, SettingError>(out)
            };
            o.kube_reserved = list("kubeReserved", &k.kube_reserved)?;
            o.system_reserved = list("systemReserved", &k.system_reserved)?;
            for (signal, v) in &k.eviction_hard {
                o.eviction_hard.insert(
                    signal.clone(),
                    EvictionValue::parse(&field(&format!("kubelet.evictionHard.{signal}")), v)?,
                );
            }
            for (signal, v) in &k.eviction_soft {
                o.eviction_soft.insert(
                    signal.clone(),
                    EvictionValue::parse(&field(&format!("kubelet.evictionSoft.{signal}")), v)?,
                );
            }
        }
        let device = match ami_family(nc) {
            Some(AMIFamily::Bottlerocket) => "/dev/xvdb",
            _ => "/dev/xvda",
        };
        let bdms = &nc.spec.block_device_mappings;
        let root = bdms
            .iter()
            .enumerate()
            .find(|(_, b)| b.root_volume)
            .or_else(|| {
                bdms.iter()
                    .enumerate()
                    .find(|(_, b)| b.device_name.as_deref() == Some(device))
            });
        if let Some((i, b)) = root {
            if let Some(size) = b.ebs.as_ref().and_then(|e| e.volume_size.as_ref()) {
                o.root_volume_size =
                    parse_milli(&size.0).map_err(|source| SettingError::Quantity {
                        field: field(&format!("blockDeviceMappings[{i}].ebs")),
                        resource: "volumeSize".to_string(),
                        source,
                    })?;
            }
        }
        o.instance_store_raid0 = nc.spec.instance_store_policy == Some(InstanceStorePolicy::RAID0);
        o.validate()?;
        Ok(o)
    }
}
