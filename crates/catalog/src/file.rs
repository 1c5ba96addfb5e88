//! The `--catalog FILE` format of `karpenter simulate` (YAML or JSON):
//!
//! ```yaml
//! region: test-region            # optional
//! instanceTypes:
//!   - name: small.2x
//!     capacity: {cpu: "2", memory: 4Gi, pods: "32"}       # any resource name
//!     overhead: {cpu: 100m, memory: 100Mi}                # optional
//!     labels: {kubernetes.io/arch: amd64}                 # optional
//!     offerings:
//!       - {zone: test-zone-a, capacityType: on-demand, price: 0.10}
//!       - {zone: test-zone-b, capacityType: spot, price: 0.03, available: false}
//! ```
//!
//! - `capacity` needs `cpu` and `memory`; `pods` defaults to 110 (the kubelet default).
//! - `overhead`, when given, is the whole reservation (kept as kube-reserved). When absent, the
//!   kubelet reservation formula of [`crate::allocatable`] applies to the capacity as given (no
//!   VM memory overhead is subtracted from file capacities), with the kubelet overrides of the
//!   [`AllocatableOptions`] passed to [`parse_catalog_file_with`].
//! - Labels: `node.kubernetes.io/instance-type` (the name), `kubernetes.io/arch` (`amd64`),
//!   `kubernetes.io/os` (`linux`), `karpenter.k8s.aws/instance-cpu` (whole cpus) and
//!   `karpenter.k8s.aws/instance-memory` (MiB) are derived; `labels:` adds to or overrides them.
//! - Offerings need `zone`, `capacityType` (`on-demand`, `spot`, `reserved`) and a finite,
//!   non-negative `price`; `available` defaults to true; `zoneId` is optional.
//!
//! Errors name the instance type (index and name) and the field.

use karpenter_api::quantity::{parse_milli, ResourceList};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::allocatable::{self, resources, AllocatableOptions, MIB};
use crate::catalog::{Catalog, PriceSource};
use crate::model::{CapacityType, InstanceType, Offering, Overhead};
use crate::spec::labels;

/// Default pods capacity when a file entry does not give one.
pub const DEFAULT_PODS: i64 = 110;

/// A catalog file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogFileError {
    /// Not YAML/JSON of the expected shape (serde's message names the location).
    #[error("catalog file: {0}")]
    Syntax(String),
    /// A field of an instance type is invalid.
    #[error("catalog file: instanceTypes[{index}] ({name}): {field}: {message}")]
    Invalid {
        /// Position in `instanceTypes`.
        index: usize,
        /// Instance type name (or `<unnamed>`).
        name: String,
        /// The field path, e.g. `capacity.memory` or `offerings[1].price`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Invalid allocatable options passed by the caller.
    #[error("catalog file: allocatable options: {0}")]
    Options(String),
}

/// A scalar as YAML writes it: `2`, `"2"`, `0.5`, `true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    region: Option<String>,
    instance_types: Vec<RawType>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawType {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    capacity: BTreeMap<String, Scalar>,
    #[serde(default)]
    overhead: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    offerings: Vec<RawOffering>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawOffering {
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    zone_id: Option<String>,
    #[serde(default)]
    capacity_type: Option<String>,
    #[serde(default)]
    price: Option<Scalar>,
    #[serde(default)]
    available: Option<bool>,
}

/// Parses a catalog file with the default kubelet reservation formula.
pub fn parse_catalog_file(text: &str) -> Result<Catalog, CatalogFileError> {
    parse_catalog_file_with(text, &AllocatableOptions::default())
}

/// Parses a catalog file; entries without `overhead` get the reservation formula with the
/// kubelet overrides (`maxPods`/`podsPerCore` do not change file capacities; kube-reserved,
/// system-reserved and eviction thresholds do).
pub fn parse_catalog_file_with(
    text: &str,
    opts: &AllocatableOptions,
) -> Result<Catalog, CatalogFileError> {
    opts.validate()
        .map_err(|e| CatalogFileError::Options(e.to_string()))?;
    let raw: RawFile =
        serde_yaml::from_str(text).map_err(|e| CatalogFileError::Syntax(e.to_string()))?;
    let mut seen = BTreeSet::new();
    let mut instance_types = Vec::with_capacity(raw.instance_types.len());
    for (index, t) in raw.instance_types.into_iter().enumerate() {
        let name = t.name.clone().unwrap_or_default();
        let invalid = |field: &str, message: String| CatalogFileError::Invalid {
            index,
            name: if name.is_empty() {
                "<unnamed>".to_string()
            } else {
                name.clone()
            },
            field: field.to_string(),
            message,
        };
        if name.trim().is_empty() {
            return Err(invalid("name", "is required and must not be empty".into()));
        }
        if !seen.insert(name.clone()) {
            return Err(invalid(
                "name",
                "duplicate: another instance type has this name".into(),
            ));
        }
        let quantities = |field: &str,
                          map: &BTreeMap<String, Scalar>|
         -> Result<ResourceList, CatalogFileError> {
            let mut out = ResourceList::new();
            for (k, v) in map {
                let q = parse_milli(&v.text())
                    .map_err(|e| invalid(&format!("{field}.{k}"), e.to_string()))?;
                out.set(k.clone(), q);
            }
            Ok(out)
        };
        let mut capacity = quantities("capacity", &t.capacity)?;
        for required in [resources::CPU, resources::MEMORY] {
            if !capacity.0.contains_key(required) {
                return Err(invalid(
                    &format!("capacity.{required}"),
                    "is required".into(),
                ));
            }
        }
        if !capacity.0.contains_key(resources::PODS) {
            capacity.set(resources::PODS, DEFAULT_PODS * 1000);
        }
        let overhead = match &t.overhead {
            Some(map) => Overhead {
                kube_reserved: quantities("overhead", map)?,
                ..Overhead::default()
            },
            None => allocatable::overhead(&capacity, opts),
        };
        let mut type_labels = BTreeMap::new();
        type_labels.insert(labels::INSTANCE_TYPE.to_string(), name.clone());
        type_labels.insert(labels::ARCH.to_string(), "amd64".to_string());
        type_labels.insert(labels::OS.to_string(), "linux".to_string());
        type_labels.insert(
            labels::CPU.to_string(),
            (capacity.get(resources::CPU) / 1000).to_string(),
        );
        type_labels.insert(
            labels::MEMORY.to_string(),
            (capacity.get(resources::MEMORY) / MIB).to_string(),
        );
        for (k, v) in &t.labels {
            if k.trim().is_empty() {
                return Err(invalid("labels", "a label key is empty".into()));
            }
            type_labels.insert(k.clone(), v.text());
        }
        if t.offerings.is_empty() {
            return Err(invalid(
                "offerings",
                "at least one offering is required".into(),
            ));
        }
        let mut offerings = Vec::with_capacity(t.offerings.len());
        for (i, o) in t.offerings.iter().enumerate() {
            let f = |leaf: &str| format!("offerings[{i}].{leaf}");
            let zone = o
                .zone
                .clone()
                .filter(|z| !z.trim().is_empty())
                .ok_or_else(|| invalid(&f("zone"), "is required".into()))?;
            let ct_text = o
                .capacity_type
                .as_deref()
                .ok_or_else(|| invalid(&f("capacityType"), "is required".into()))?;
            let capacity_type = CapacityType::parse(ct_text).ok_or_else(|| {
                invalid(
                    &f("capacityType"),
                    format!("{ct_text:?} is not one of on-demand, spot, reserved"),
                )
            })?;
            let price_scalar = o
                .price
                .as_ref()
                .ok_or_else(|| invalid(&f("price"), "is required".into()))?;
            let price = match price_scalar {
                Scalar::Int(i) => *i as f64,
                Scalar::Float(x) => *x,
                Scalar::Str(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| invalid(&f("price"), format!("{s:?} is not a number")))?,
                Scalar::Bool(b) => {
                    return Err(invalid(&f("price"), format!("{b} is not a number")))
                }
            };
            if !price.is_finite() || price < 0.0 {
                return Err(invalid(
                    &f("price"),
                    format!("{price} must be a finite, non-negative USD/hour"),
                ));
            }
            offerings.push(Offering {
                zone,
                zone_id: o.zone_id.clone(),
                capacity_type,
                price,
                available: o.available.unwrap_or(true),
            });
        }
        instance_types.push(InstanceType {
            name,
            capacity,
            overhead,
            labels: type_labels,
            offerings,
        });
    }
    instance_types.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Catalog {
        region: raw.region.unwrap_or_else(|| "custom".to_string()),
        instance_types,
        prices: PriceSource::File,
    })
}
