//! Capacity and kubelet overhead, computed the way Karpenter computes them for EKS nodes.
//!
//! # Formulas
//!
//! For an instance type with `vcpu` vCPUs, `mib` MiB of memory reported by EC2, `enis` network
//! interfaces on its default network card and `ipv4` IPv4 addresses per interface:
//!
//! | quantity | formula |
//! | --- | --- |
//! | cpu capacity | `vcpu` |
//! | memory capacity | `mib − ceil(mib × vm_memory_overhead_percent)` MiB (7.5% by default) |
//! | pods capacity | `(enis − reserved_enis) × (ipv4 − 1) + 2`; `kubelet.maxPods` replaces it; when `kubelet.podsPerCore` is set, `min(pods, podsPerCore × vcpu)` |
//! | ephemeral-storage capacity | the root volume of the EC2NodeClass `blockDeviceMappings` (20Gi when unset); with `instanceStorePolicy: RAID0`, the local NVMe size (GB) on types that have it |
//! | kube-reserved cpu | 6% of the first core + 1% of the second + 0.5% of cores 3–4 + 0.25% of every further core (each range truncated to whole millicores) |
//! | kube-reserved memory | `11 MiB × pods + 255 MiB` |
//! | kube-reserved ephemeral-storage | `1Gi` |
//! | system-reserved | none |
//! | eviction threshold | `memory.available` 100Mi, `nodefs.available` 10% of ephemeral-storage |
//!
//! `kubelet.kubeReserved` and `kubelet.systemReserved` replace the computed value of each resource
//! they name; `kubelet.evictionHard` and `kubelet.evictionSoft` replace the default signal they
//! name, and the larger of the hard and soft threshold counts. Allocatable is capacity minus the
//! sum of kube-reserved, system-reserved and the eviction threshold.
//!
//! Reference figures (asserted in the tests): m5.large (2 vCPU, 8 GiB, 3 ENIs × 10 IPv4) has 29
//! pods and 1930m allocatable cpu; m5.xlarge reserves 80m cpu and 893Mi memory; a 96-vCPU type
//! reserves 310m cpu.

use karpenter_api::quantity::{parse_milli, QuantityError, ResourceList};
use std::collections::BTreeMap;

use crate::model::Overhead;

/// One MiB in milli-units.
pub const MIB: i64 = 1000 << 20;
/// One GiB in milli-units.
pub const GIB: i64 = 1000 << 30;

/// Resource names used by the catalog.
pub mod resources {
    /// `cpu`.
    pub const CPU: &str = "cpu";
    /// `memory`.
    pub const MEMORY: &str = "memory";
    /// `pods`.
    pub const PODS: &str = "pods";
    /// `ephemeral-storage`.
    pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
    /// NVIDIA GPUs.
    pub const NVIDIA_GPU: &str = "nvidia.com/gpu";
    /// AMD GPUs.
    pub const AMD_GPU: &str = "amd.com/gpu";
    /// Habana Gaudi accelerators.
    pub const HABANA_GAUDI: &str = "habana.ai/gaudi";
    /// AWS Neuron devices (Inferentia, Trainium).
    pub const AWS_NEURON: &str = "aws.amazon.com/neuron";
    /// AWS Neuron cores.
    pub const AWS_NEURON_CORE: &str = "aws.amazon.com/neuroncore";
    /// Elastic Fabric Adapter interfaces.
    pub const EFA: &str = "vpc.amazonaws.com/efa";
}

/// A kubelet eviction threshold value: an absolute quantity or a percentage of capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvictionValue {
    /// An absolute amount in milli-units (`100Mi`).
    Absolute(i64),
    /// A percentage of the resource's capacity (`10%` is `10.0`).
    Percent(f64),
}

/// A malformed kubelet setting, naming the setting and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingError {
    /// An eviction threshold that is neither a quantity nor a percentage in [0, 100].
    #[error("eviction threshold {signal}: invalid value {value:?}: expected a quantity (100Mi) or a percentage (10%)")]
    EvictionValue {
        /// The eviction signal, e.g. `memory.available`.
        signal: String,
        /// The rejected text.
        value: String,
    },
    /// A reservation quantity that does not parse.
    #[error("{field}.{resource}: {source}")]
    Quantity {
        /// `kubeReserved` or `systemReserved`.
        field: String,
        /// The resource name.
        resource: String,
        /// The parse failure.
        source: QuantityError,
    },
    /// A numeric setting out of range.
    #[error("{field}: {message}")]
    Range {
        /// The setting.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl EvictionValue {
    /// Parses `100Mi` or `10%`; `signal` names the threshold in errors.
    pub fn parse(signal: &str, value: &str) -> Result<Self, SettingError> {
        let err = || SettingError::EvictionValue {
            signal: signal.to_string(),
            value: value.to_string(),
        };
        let v = value.trim();
        if let Some(p) = v.strip_suffix('%') {
            let pct: f64 = p.trim().parse().map_err(|_| err())?;
            if !(0.0..=100.0).contains(&pct) {
                return Err(err());
            }
            Ok(EvictionValue::Percent(pct))
        } else {
            parse_milli(v)
                .map(EvictionValue::Absolute)
                .map_err(|_| err())
        }
    }

    /// The threshold in milli-units for a resource of `capacity` milli-units.
    pub fn resolve(self, capacity: i64) -> i64 {
        match self {
            EvictionValue::Absolute(v) => v,
            EvictionValue::Percent(p) => ((capacity as f64) * p / 100.0).ceil() as i64,
        }
    }
}

/// The eviction signal that reserves memory.
pub const SIGNAL_MEMORY: &str = "memory.available";
/// The eviction signal that reserves ephemeral storage.
pub const SIGNAL_NODEFS: &str = "nodefs.available";

/// Settings that change capacity and overhead: Karpenter's VM memory overhead and the
/// EC2NodeClass kubelet and block-device settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocatableOptions {
    /// Share of EC2-reported memory the hypervisor and OS keep (Karpenter's
    /// `VM_MEMORY_OVERHEAD_PERCENT`), as a fraction: `0.075` is 7.5%.
    pub vm_memory_overhead_percent: f64,
    /// Network interfaces held back from pod networking (Karpenter's `RESERVED_ENIS`).
    pub reserved_enis: i64,
    /// `kubelet.maxPods`: replaces the ENI-limited pod count.
    pub max_pods: Option<i64>,
    /// `kubelet.podsPerCore`: caps pods at this many per vCPU.
    pub pods_per_core: Option<i64>,
    /// `kubelet.kubeReserved`: replaces the computed reservation of each resource it names.
    pub kube_reserved: ResourceList,
    /// `kubelet.systemReserved`.
    pub system_reserved: ResourceList,
    /// `kubelet.evictionHard`, by signal (`memory.available`, `nodefs.available`); merged over
    /// the defaults (100Mi and 10%).
    pub eviction_hard: BTreeMap<String, EvictionValue>,
    /// `kubelet.evictionSoft`, by signal; the larger of hard and soft counts.
    pub eviction_soft: BTreeMap<String, EvictionValue>,
    /// Root volume size in milli-units (bytes × 1000): the ephemeral-storage capacity.
    pub root_volume_size: i64,
    /// EC2NodeClass `instanceStorePolicy: RAID0`: types with local NVMe use it (its size in GB)
    /// as ephemeral storage instead of the root volume.
    pub instance_store_raid0: bool,
}

impl Default for AllocatableOptions {
    fn default() -> Self {
        Self {
            vm_memory_overhead_percent: 0.075,
            reserved_enis: 0,
            max_pods: None,
            pods_per_core: None,
            kube_reserved: ResourceList::new(),
            system_reserved: ResourceList::new(),
            eviction_hard: BTreeMap::new(),
            eviction_soft: BTreeMap::new(),
            root_volume_size: 20 * GIB,
            instance_store_raid0: false,
        }
    }
}

impl AllocatableOptions {
    /// Checks ranges: overhead percent in [0, 1), non-negative counts and sizes.
    pub fn validate(&self) -> Result<(), SettingError> {
        let range = |field: &str, message: String| SettingError::Range {
            field: field.to_string(),
            message,
        };
        if !(0.0..1.0).contains(&self.vm_memory_overhead_percent) {
            return Err(range(
                "vmMemoryOverheadPercent",
                format!(
                    "{} is not a fraction in [0, 1)",
                    self.vm_memory_overhead_percent
                ),
            ));
        }
        if self.reserved_enis < 0 {
            return Err(range("reservedENIs", "must not be negative".into()));
        }
        if matches!(self.max_pods, Some(n) if n < 0) {
            return Err(range("kubelet.maxPods", "must not be negative".into()));
        }
        if matches!(self.pods_per_core, Some(n) if n < 0) {
            return Err(range("kubelet.podsPerCore", "must not be negative".into()));
        }
        if self.root_volume_size < 0 {
            return Err(range(
                "blockDeviceMappings.rootVolume.volumeSize",
                "must not be negative".into(),
            ));
        }
        Ok(())
    }

    /// The eviction threshold for `signal`: max(hard, soft), falling back to the default.
    fn eviction(&self, signal: &str, default: EvictionValue, capacity: i64) -> i64 {
        let hard = self
            .eviction_hard
            .get(signal)
            .copied()
            .unwrap_or(default)
            .resolve(capacity);
        let soft = self
            .eviction_soft
            .get(signal)
            .map(|v| v.resolve(capacity))
            .unwrap_or(0);
        hard.max(soft)
    }
}

/// Memory capacity in MiB after the VM overhead: `mib − ceil(mib × percent)`.
pub fn memory_capacity_mib(mib: i64, vm_memory_overhead_percent: f64) -> i64 {
    let overhead = ((mib as f64) * vm_memory_overhead_percent).ceil() as i64;
    mib.saturating_sub(overhead).max(0)
}

/// The ENI-limited pod count: `enis × (ipv4_per_eni − 1) + 2`.
pub fn eni_limited_pods(enis: i64, ipv4_per_eni: i64) -> i64 {
    enis.max(0)
        .saturating_mul(ipv4_per_eni.saturating_sub(1).max(0))
        .saturating_add(2)
}

/// Pods capacity for a type: the ENI limit (less reserved ENIs), replaced by `maxPods`, capped
/// by `podsPerCore × vcpu`.
pub fn max_pods(vcpu: i64, enis: i64, ipv4_per_eni: i64, opts: &AllocatableOptions) -> i64 {
    let mut pods = opts
        .max_pods
        .unwrap_or_else(|| eni_limited_pods(enis.saturating_sub(opts.reserved_enis), ipv4_per_eni));
    if let Some(ppc) = opts.pods_per_core.filter(|p| *p > 0) {
        pods = pods.min(ppc.saturating_mul(vcpu));
    }
    pods
}

/// Kube-reserved cpu in millicores for `cpu_milli` millicores of capacity.
pub fn kube_reserved_cpu_milli(cpu_milli: i64) -> i64 {
    // (start, end, numerator, denominator): the reserved share of each range.
    const RANGES: [(i64, i64, i64, i64); 4] = [
        (0, 1000, 6, 100),
        (1000, 2000, 1, 100),
        (2000, 4000, 5, 1000),
        (4000, i64::MAX, 25, 10_000),
    ];
    RANGES
        .iter()
        .filter(|(start, ..)| cpu_milli >= *start)
        .map(|&(start, end, num, den)| {
            let width = cpu_milli.min(end) - start;
            width.saturating_mul(num) / den
        })
        .sum()
}

/// Kube-reserved memory in milli-units for a node of `pods` pods: `11Mi × pods + 255Mi`.
pub fn kube_reserved_memory(pods: i64) -> i64 {
    pods.max(0)
        .saturating_mul(11)
        .saturating_add(255)
        .saturating_mul(MIB)
}

/// The kubelet overhead for a node with `capacity` (which must hold cpu, pods and, when
/// present, ephemeral-storage), with the EC2NodeClass overrides in `opts`.
pub fn overhead(capacity: &ResourceList, opts: &AllocatableOptions) -> Overhead {
    use resources::*;
    let mut kube = ResourceList::new();
    kube.set(CPU, kube_reserved_cpu_milli(capacity.get(CPU)));
    kube.set(MEMORY, kube_reserved_memory(capacity.get(PODS) / 1000));
    if capacity.0.contains_key(EPHEMERAL_STORAGE) {
        kube.set(EPHEMERAL_STORAGE, GIB);
    }
    for (k, v) in &opts.kube_reserved.0 {
        kube.set(k.clone(), *v);
    }
    let mut eviction = ResourceList::new();
    eviction.set(
        MEMORY,
        opts.eviction(
            SIGNAL_MEMORY,
            EvictionValue::Absolute(100 * MIB),
            capacity.get(MEMORY),
        ),
    );
    if capacity.0.contains_key(EPHEMERAL_STORAGE) {
        eviction.set(
            EPHEMERAL_STORAGE,
            opts.eviction(
                SIGNAL_NODEFS,
                EvictionValue::Percent(10.0),
                capacity.get(EPHEMERAL_STORAGE),
            ),
        );
    }
    Overhead {
        kube_reserved: kube,
        system_reserved: opts.system_reserved.clone(),
        eviction_threshold: eviction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_reserved_cpu_reference_figures() {
        assert_eq!(kube_reserved_cpu_milli(1000), 60);
        assert_eq!(kube_reserved_cpu_milli(2000), 70);
        assert_eq!(kube_reserved_cpu_milli(4000), 80);
        assert_eq!(kube_reserved_cpu_milli(96_000), 310);
        assert_eq!(kube_reserved_cpu_milli(5000), 82);
        assert_eq!(kube_reserved_cpu_milli(0), 0);
    }

    #[test]
    fn memory_and_pods_formulas() {
        assert_eq!(memory_capacity_mib(8192, 0.075), 7577);
        assert_eq!(eni_limited_pods(3, 10), 29);
        assert_eq!(eni_limited_pods(4, 15), 58);
        assert_eq!(kube_reserved_memory(58), 893 * MIB);
        let mut o = AllocatableOptions {
            max_pods: Some(110),
            ..Default::default()
        };
        assert_eq!(max_pods(2, 3, 10, &o), 110);
        o.pods_per_core = Some(10);
        assert_eq!(max_pods(2, 3, 10, &o), 20);
        o.max_pods = None;
        o.reserved_enis = 1;
        assert_eq!(max_pods(4, 3, 10, &o), 20);
        o.pods_per_core = None;
        assert_eq!(max_pods(4, 3, 10, &o), 20);
    }

    #[test]
    fn eviction_values_parse_and_resolve() {
        assert_eq!(
            EvictionValue::parse("memory.available", "200Mi").unwrap(),
            EvictionValue::Absolute(200 * MIB)
        );
        assert_eq!(
            EvictionValue::parse("nodefs.available", "15%").unwrap(),
            EvictionValue::Percent(15.0)
        );
        let err = EvictionValue::parse("memory.available", "lots").unwrap_err();
        assert!(err.to_string().contains("memory.available"));
        assert!(EvictionValue::parse("x", "150%").is_err());
        assert_eq!(EvictionValue::Percent(10.0).resolve(20 * GIB), 2 * GIB);
    }

    #[test]
    fn overrides_replace_named_resources_only() {
        let mut cap = ResourceList::new();
        cap.set("cpu", 4000);
        cap.set("memory", 15_000 * MIB);
        cap.set("pods", 58_000);
        cap.set("ephemeral-storage", 20 * GIB);
        let mut opts = AllocatableOptions::default();
        opts.kube_reserved.set("cpu", 500);
        opts.system_reserved.set("memory", 100 * MIB);
        opts.eviction_hard
            .insert(SIGNAL_MEMORY.into(), EvictionValue::Absolute(500 * MIB));
        opts.eviction_soft
            .insert(SIGNAL_NODEFS.into(), EvictionValue::Percent(15.0));
        let o = overhead(&cap, &opts);
        assert_eq!(o.kube_reserved.get("cpu"), 500);
        assert_eq!(o.kube_reserved.get("memory"), 893 * MIB);
        assert_eq!(o.kube_reserved.get("ephemeral-storage"), GIB);
        assert_eq!(o.system_reserved.get("memory"), 100 * MIB);
        assert_eq!(o.eviction_threshold.get("memory"), 500 * MIB);
        assert_eq!(o.eviction_threshold.get("ephemeral-storage"), 3 * GIB);
    }

    #[test]
    fn validate_rejects_out_of_range() {
        assert!(AllocatableOptions::default().validate().is_ok());
        let o = AllocatableOptions {
            vm_memory_overhead_percent: 1.5,
            ..Default::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("vmMemoryOverheadPercent"));
        let o = AllocatableOptions {
            max_pods: Some(-1),
            ..Default::default()
        };
        assert!(o.validate().is_err());
    }
}
