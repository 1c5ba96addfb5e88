//! EC2 DescribeInstanceTypes / DescribeInstanceTypeOfferings / DescribeAvailabilityZones
//! responses (their JSON shapes, as the AWS CLI and SDKs serialise them) converted into the
//! catalog model. The calls themselves belong to the cloud provider.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::allocatable::AllocatableOptions;
use crate::catalog::{Catalog, PriceSource};
use crate::live::prices::PriceBook;
use crate::live::LiveDataError;
use crate::model::{CapacityType, Offering};
use crate::spec::{AcceleratorSpec, Arch, GpuSpec, InstanceSpec};

/// A DescribeInstanceTypes response page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceTypesOutput {
    /// The instance types on this page.
    #[serde(default)]
    pub instance_types: Vec<InstanceTypeInfo>,
    /// Pagination token.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// One `InstanceTypeInfo` (the fields the catalog reads; the rest are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceTypeInfo {
    /// `m5.large`.
    pub instance_type: Option<String>,
    /// vCPU facts.
    pub v_cpu_info: Option<VCpuInfo>,
    /// Memory facts.
    pub memory_info: Option<MemoryInfo>,
    /// Processor facts.
    pub processor_info: Option<ProcessorInfo>,
    /// `nitro` or `xen` (absent on bare metal).
    pub hypervisor: Option<String>,
    /// Bare metal.
    pub bare_metal: Option<bool>,
    /// Burstable performance.
    pub burstable_performance_supported: Option<bool>,
    /// Current generation.
    pub current_generation: Option<bool>,
    /// Network facts.
    pub network_info: Option<NetworkInfo>,
    /// EBS facts.
    pub ebs_info: Option<EbsInfo>,
    /// Instance store facts.
    pub instance_storage_info: Option<InstanceStorageInfo>,
    /// GPUs.
    pub gpu_info: Option<GpuInfo>,
    /// Neuron devices (Inferentia 2, Trainium; newer responses for Inferentia 1 too).
    pub neuron_info: Option<NeuronInfo>,
    /// Inference accelerators (older shape for Inferentia).
    pub inference_accelerator_info: Option<InferenceAcceleratorInfo>,
    /// `on-demand`, `spot`, `capacity-block`.
    #[serde(default)]
    pub supported_usage_classes: Vec<String>,
}

/// `VCpuInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VCpuInfo {
    /// Default vCPUs.
    pub default_v_cpus: Option<i64>,
}

/// `MemoryInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MemoryInfo {
    /// Memory, MiB.
    #[serde(rename = "SizeInMiB")]
    pub size_in_mib: Option<i64>,
}

/// `ProcessorInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorInfo {
    /// `x86_64`, `arm64`, `i386`, `x86_64_mac`, `arm64_mac`.
    #[serde(default)]
    pub supported_architectures: Vec<String>,
    /// `Intel`, `AMD`, `AWS`.
    pub manufacturer: Option<String>,
    /// GHz.
    pub sustained_clock_speed_in_ghz: Option<f64>,
}

/// `NetworkInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInfo {
    /// ENIs over all network cards.
    pub maximum_network_interfaces: Option<i64>,
    /// IPv4 addresses per ENI.
    pub ipv4_addresses_per_interface: Option<i64>,
    /// Index of the default network card.
    pub default_network_card_index: Option<i64>,
    /// Per-card limits.
    #[serde(default)]
    pub network_cards: Vec<NetworkCardInfo>,
    /// EFA limits.
    pub efa_info: Option<EfaInfo>,
    /// Encryption in transit.
    pub encryption_in_transit_supported: Option<bool>,
    /// `Up to 10 Gigabit`, `25 Gigabit`, `4x 100 Gigabit`, `Moderate`.
    pub network_performance: Option<String>,
}

/// `NetworkCardInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCardInfo {
    /// Card index.
    pub network_card_index: Option<i64>,
    /// ENIs on this card.
    pub maximum_network_interfaces: Option<i64>,
    /// Baseline bandwidth, Gbps.
    pub baseline_bandwidth_in_gbps: Option<f64>,
}

/// `EfaInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EfaInfo {
    /// EFA interfaces.
    pub maximum_efa_interfaces: Option<i64>,
}

/// `EbsInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsInfo {
    /// EBS-optimized limits.
    pub ebs_optimized_info: Option<EbsOptimizedInfo>,
}

/// `EbsOptimizedInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsOptimizedInfo {
    /// Maximum EBS bandwidth, Mbps.
    pub maximum_bandwidth_in_mbps: Option<i64>,
}

/// `InstanceStorageInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceStorageInfo {
    /// Total instance storage, GB.
    #[serde(rename = "TotalSizeInGB")]
    pub total_size_in_gb: Option<i64>,
    /// `required`, `supported`, `unsupported`.
    pub nvme_support: Option<String>,
}

/// `GpuInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GpuInfo {
    /// GPU models.
    #[serde(default)]
    pub gpus: Vec<GpuDeviceInfo>,
}

/// `GpuDeviceInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GpuDeviceInfo {
    /// `A10G`.
    pub name: Option<String>,
    /// `NVIDIA`.
    pub manufacturer: Option<String>,
    /// Number of GPUs.
    pub count: Option<i64>,
    /// Memory per GPU.
    pub memory_info: Option<MemoryInfo>,
}

/// `NeuronInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NeuronInfo {
    /// Neuron devices.
    #[serde(default)]
    pub neuron_devices: Vec<NeuronDeviceInfo>,
}

/// `NeuronDeviceInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NeuronDeviceInfo {
    /// `Inferentia2`, `Trainium`.
    pub name: Option<String>,
    /// Number of devices.
    pub count: Option<i64>,
    /// Cores per device.
    pub core_info: Option<NeuronCoreInfo>,
}

/// `NeuronDeviceCoreInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NeuronCoreInfo {
    /// Cores per device.
    pub count: Option<i64>,
}

/// `InferenceAcceleratorInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InferenceAcceleratorInfo {
    /// Accelerators.
    #[serde(default)]
    pub accelerators: Vec<InferenceDeviceInfo>,
}

/// `InferenceDeviceInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InferenceDeviceInfo {
    /// `Inferentia`.
    pub name: Option<String>,
    /// `AWS`.
    pub manufacturer: Option<String>,
    /// Number of devices.
    pub count: Option<i64>,
}

/// A DescribeInstanceTypeOfferings response page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceTypeOfferingsOutput {
    /// Offerings on this page.
    #[serde(default)]
    pub instance_type_offerings: Vec<InstanceTypeOffering>,
    /// Pagination token.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// One `InstanceTypeOffering` (location type `availability-zone`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceTypeOffering {
    /// `m5.large`.
    pub instance_type: String,
    /// `us-east-1a`.
    pub location: String,
    /// `availability-zone` (other location types are ignored).
    #[serde(default)]
    pub location_type: Option<String>,
}

/// A DescribeAvailabilityZones response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAvailabilityZonesOutput {
    /// Zones.
    #[serde(default)]
    pub availability_zones: Vec<AvailabilityZone>,
}

/// One `AvailabilityZone`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AvailabilityZone {
    /// `us-east-1a`.
    pub zone_name: String,
    /// `use1-az6`.
    #[serde(default)]
    pub zone_id: Option<String>,
    /// `available`, `impaired`, ...
    #[serde(default)]
    pub state: Option<String>,
}

/// Baseline network bandwidth in Mbps as the EC2 documentation states it (the value of
/// `karpenter.k8s.aws/instance-network-bandwidth`): a fixed `N Gigabit` or `Kx N Gigabit`
/// performance figure when EC2 reports one, else the sum of the network cards' baseline
/// bandwidth (`cards_baseline_gbps`), truncated to whole Mbps. The generator applies the same
/// rule to the built-in data.
pub fn network_bandwidth_mbps(performance: Option<&str>, cards_baseline_gbps: f64) -> i64 {
    let gigabit = |s: &str| -> Option<f64> {
        s.strip_suffix(" Gigabit")?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(p) = performance.map(str::trim) {
        if let Some((k, rest)) = p.split_once("x ") {
            if let (Ok(k), Some(n)) = (k.parse::<f64>(), gigabit(rest)) {
                return (k * n * 1000.0).round() as i64;
            }
        }
        if !p.starts_with("Up to") {
            if let Some(n) = gigabit(p) {
                return (n * 1000.0).round() as i64;
            }
        }
    }
    (cards_baseline_gbps * 1000.0 + 1e-6).floor() as i64
}

impl TryFrom<&InstanceTypeInfo> for InstanceSpec {
    type Error = LiveDataError;

    /// Converts one DescribeInstanceTypes item; the error names the type and the missing or
    /// invalid field. Architectures other than `x86_64`/`arm64` (Mac) are rejected.
    fn try_from(info: &InstanceTypeInfo) -> Result<Self, LiveDataError> {
        let name = info
            .instance_type
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| LiveDataError::field("<unnamed>", "InstanceType", "missing"))?;
        let missing = |field: &str| LiveDataError::field(&name, field, "missing");
        let vcpu = info
            .v_cpu_info
            .as_ref()
            .and_then(|v| v.default_v_cpus)
            .filter(|v| *v > 0)
            .ok_or_else(|| missing("VCpuInfo.DefaultVCpus"))?;
        let memory_mib = info
            .memory_info
            .as_ref()
            .and_then(|m| m.size_in_mib)
            .filter(|v| *v > 0)
            .ok_or_else(|| missing("MemoryInfo.SizeInMiB"))?;
        let proc = info
            .processor_info
            .as_ref()
            .ok_or_else(|| missing("ProcessorInfo"))?;
        let archs = &proc.supported_architectures;
        let arch = if archs.iter().any(|a| a == "arm64") {
            Arch::Arm64
        } else if archs.iter().any(|a| a == "x86_64") {
            Arch::Amd64
        } else {
            return Err(LiveDataError::field(
                &name,
                "ProcessorInfo.SupportedArchitectures",
                &format!("{archs:?} has neither x86_64 nor arm64"),
            ));
        };
        let net = info
            .network_info
            .as_ref()
            .ok_or_else(|| missing("NetworkInfo"))?;
        let ipv4_per_eni = net
            .ipv4_addresses_per_interface
            .ok_or_else(|| missing("NetworkInfo.Ipv4AddressesPerInterface"))?;
        let default_idx = net.default_network_card_index.unwrap_or(0);
        let default_card_enis = net
            .network_cards
            .iter()
            .find(|c| c.network_card_index.unwrap_or(0) == default_idx)
            .and_then(|c| c.maximum_network_interfaces)
            .or(net.maximum_network_interfaces)
            .ok_or_else(|| missing("NetworkInfo.MaximumNetworkInterfaces"))?;
        let network_mbps = network_bandwidth_mbps(
            net.network_performance.as_deref(),
            net.network_cards
                .iter()
                .filter_map(|c| c.baseline_bandwidth_in_gbps)
                .sum::<f64>(),
        );
        let storage = info.instance_storage_info.as_ref();
        let local_nvme_gb = storage
            .filter(|s| s.nvme_support.as_deref().unwrap_or("unsupported") != "unsupported")
            .and_then(|s| s.total_size_in_gb)
            .unwrap_or(0);
        let gpus = info
            .gpu_info
            .as_ref()
            .map(|g| g.gpus.as_slice())
            .unwrap_or(&[]);
        let gpu = gpus.first().map(|g| GpuSpec {
            name: g.name.clone().unwrap_or_default(),
            manufacturer: g.manufacturer.clone().unwrap_or_default(),
            count: gpus
                .iter()
                .filter_map(|g| g.count)
                .fold(0i64, i64::saturating_add),
            memory_mib: g
                .memory_info
                .as_ref()
                .and_then(|m| m.size_in_mib)
                .unwrap_or(0),
        });
        let neuron = info
            .neuron_info
            .as_ref()
            .map(|n| n.neuron_devices.as_slice())
            .unwrap_or(&[]);
        let infer = info
            .inference_accelerator_info
            .as_ref()
            .map(|i| i.accelerators.as_slice())
            .unwrap_or(&[]);
        let accelerator = if let Some(first) = neuron.first() {
            Some(AcceleratorSpec {
                name: first.name.clone().unwrap_or_default(),
                manufacturer: "AWS".to_string(),
                count: neuron
                    .iter()
                    .filter_map(|n| n.count)
                    .fold(0i64, i64::saturating_add),
                neuron_cores: neuron
                    .iter()
                    .map(|n| {
                        n.count
                            .unwrap_or(0)
                            .saturating_mul(n.core_info.as_ref().and_then(|c| c.count).unwrap_or(0))
                    })
                    .fold(0i64, i64::saturating_add),
            })
        } else {
            infer.first().map(|a| AcceleratorSpec {
                name: a.name.clone().unwrap_or_default(),
                manufacturer: a.manufacturer.clone().unwrap_or_default(),
                count: infer
                    .iter()
                    .filter_map(|a| a.count)
                    .fold(0i64, i64::saturating_add),
                neuron_cores: 0,
            })
        };
        Ok(InstanceSpec {
            vcpu,
            memory_mib,
            arch,
            cpu_manufacturer: proc.manufacturer.clone().unwrap_or_default(),
            clock_mhz: proc
                .sustained_clock_speed_in_ghz
                .map(|g| (g * 1000.0).round() as i64)
                .unwrap_or(0),
            hypervisor: info.hypervisor.clone().unwrap_or_default(),
            bare_metal: info.bare_metal.unwrap_or(false),
            burstable: info.burstable_performance_supported.unwrap_or(false),
            current_generation: info.current_generation.unwrap_or(false),
            default_card_enis,
            ipv4_per_eni,
            network_mbps,
            ebs_mbps: info
                .ebs_info
                .as_ref()
                .and_then(|e| e.ebs_optimized_info.as_ref())
                .and_then(|e| e.maximum_bandwidth_in_mbps)
                .unwrap_or(0),
            local_nvme_gb,
            encryption_in_transit: net.encryption_in_transit_supported.unwrap_or(false),
            gpu: gpu.filter(|g| g.count > 0),
            accelerator: accelerator.filter(|a| a.count > 0),
            efa: net
                .efa_info
                .as_ref()
                .and_then(|e| e.maximum_efa_interfaces)
                .unwrap_or(0),
            spot_supported: info.supported_usage_classes.iter().any(|u| u == "spot"),
            name,
        })
    }
}

/// The result of converting live EC2 data: the catalog and the instance types left out, each
/// with the reason.
#[derive(Debug, Clone)]
pub struct LiveCatalog {
    /// The catalog.
    pub catalog: Catalog,
    /// Instance types that could not be converted or have no price.
    pub skipped: Vec<LiveDataError>,
}

/// Builds a region's catalog from live EC2 responses and a price book.
///
/// Every type that converts and has an on-demand price gets an on-demand offering in each zone
/// that offers it, and a spot offering (the zone's spot price, else the price book's fallback)
/// where EC2 sells it as spot. Zones whose state is not `available` are left out.
pub fn catalog_from_ec2(
    region: &str,
    instance_types: &[InstanceTypeInfo],
    offerings: &[InstanceTypeOffering],
    zones: &[AvailabilityZone],
    prices: &PriceBook,
    opts: &AllocatableOptions,
) -> Result<LiveCatalog, LiveDataError> {
    opts.validate()
        .map_err(|e| LiveDataError::field("<options>", "AllocatableOptions", &e.to_string()))?;
    let zone_ids: BTreeMap<&str, Option<&str>> = zones
        .iter()
        .filter(|z| z.state.as_deref().is_none_or(|s| s == "available"))
        .map(|z| (z.zone_name.as_str(), z.zone_id.as_deref()))
        .collect();
    let mut offered: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for o in offerings {
        if o.location_type
            .as_deref()
            .is_some_and(|t| t != "availability-zone")
        {
            continue;
        }
        if zones.is_empty() || zone_ids.contains_key(o.location.as_str()) {
            offered
                .entry(o.instance_type.as_str())
                .or_default()
                .insert(o.location.as_str());
        }
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for info in instance_types {
        let spec = match InstanceSpec::try_from(info) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "skipping instance type");
                skipped.push(e);
                continue;
            }
        };
        let Some(zs) = offered.get(spec.name.as_str()) else {
            continue;
        };
        let Some(od) = prices.on_demand(&spec.name) else {
            skipped.push(LiveDataError::field(
                &spec.name,
                "price",
                "no on-demand price (live or built-in)",
            ));
            continue;
        };
        let mut offs = Vec::with_capacity(zs.len() * 2);
        for zone in zs {
            let zone_id = zone_ids.get(zone).copied().flatten().map(String::from);
            offs.push(Offering {
                zone: zone.to_string(),
                zone_id: zone_id.clone(),
                capacity_type: CapacityType::OnDemand,
                price: od,
                available: true,
            });
            if spec.spot_supported {
                if let Some(spot) = prices.spot(&spec.name, zone) {
                    offs.push(Offering {
                        zone: zone.to_string(),
                        zone_id,
                        capacity_type: CapacityType::Spot,
                        price: spot,
                        available: true,
                    });
                }
            }
        }
        out.push(spec.to_instance_type(opts, offs));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    Ok(LiveCatalog {
        catalog: Catalog {
            region: region.to_string(),
            instance_types: out,
            prices: PriceSource::Live,
        },
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::network_bandwidth_mbps;

    #[test]
    fn bandwidth_rule() {
        assert_eq!(network_bandwidth_mbps(Some("Up to 10 Gigabit"), 0.75), 750);
        assert_eq!(
            network_bandwidth_mbps(Some("Up to 12.5 Gigabit"), 0.781),
            781
        );
        assert_eq!(network_bandwidth_mbps(Some("25 Gigabit"), 25.0), 25000);
        assert_eq!(network_bandwidth_mbps(Some("33.33 Gigabit"), 33.333), 33330);
        assert_eq!(
            network_bandwidth_mbps(Some("4x 100 Gigabit"), 400.0),
            400_000
        );
        assert_eq!(network_bandwidth_mbps(Some("200 Gigabit"), 400.0), 200_000);
        assert_eq!(network_bandwidth_mbps(Some("Moderate"), 0.3), 300);
        assert_eq!(network_bandwidth_mbps(None, 0.0), 0);
    }
}
