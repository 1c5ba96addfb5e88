//! The facts EC2 reports about an instance type, and the capacity and well-known labels Karpenter
//! derives from them. Built-in data and live DescribeInstanceTypes responses both become an
//! [`InstanceSpec`], so one function derives labels for both.

use karpenter_api::quantity::ResourceList;
use std::collections::BTreeMap;

use crate::allocatable::{self, resources, AllocatableOptions, MIB};
use crate::model::{InstanceType, Offering};

/// Well-known label keys.
pub mod labels {
    /// `node.kubernetes.io/instance-type`.
    pub const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
    /// `kubernetes.io/arch`.
    pub const ARCH: &str = "kubernetes.io/arch";
    /// `kubernetes.io/os`.
    pub const OS: &str = "kubernetes.io/os";
    /// `topology.kubernetes.io/zone` (per offering).
    pub const ZONE: &str = "topology.kubernetes.io/zone";
    /// `topology.k8s.aws/zone-id` (per offering).
    pub const ZONE_ID: &str = "topology.k8s.aws/zone-id";
    /// `karpenter.sh/capacity-type` (per offering).
    pub const CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
    /// `karpenter.k8s.aws/instance-category`.
    pub const CATEGORY: &str = "karpenter.k8s.aws/instance-category";
    /// `karpenter.k8s.aws/instance-family`.
    pub const FAMILY: &str = "karpenter.k8s.aws/instance-family";
    /// `karpenter.k8s.aws/instance-generation`.
    pub const GENERATION: &str = "karpenter.k8s.aws/instance-generation";
    /// `karpenter.k8s.aws/instance-size`.
    pub const SIZE: &str = "karpenter.k8s.aws/instance-size";
    /// `karpenter.k8s.aws/instance-cpu`.
    pub const CPU: &str = "karpenter.k8s.aws/instance-cpu";
    /// `karpenter.k8s.aws/instance-cpu-manufacturer`.
    pub const CPU_MANUFACTURER: &str = "karpenter.k8s.aws/instance-cpu-manufacturer";
    /// `karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz`.
    pub const CPU_CLOCK: &str = "karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz";
    /// `karpenter.k8s.aws/instance-memory` (MiB).
    pub const MEMORY: &str = "karpenter.k8s.aws/instance-memory";
    /// `karpenter.k8s.aws/instance-hypervisor`.
    pub const HYPERVISOR: &str = "karpenter.k8s.aws/instance-hypervisor";
    /// `karpenter.k8s.aws/instance-encryption-in-transit-supported`.
    pub const ENCRYPTION_IN_TRANSIT: &str =
        "karpenter.k8s.aws/instance-encryption-in-transit-supported";
    /// `karpenter.k8s.aws/instance-network-bandwidth` (Mbps).
    pub const NETWORK_BANDWIDTH: &str = "karpenter.k8s.aws/instance-network-bandwidth";
    /// `karpenter.k8s.aws/instance-ebs-bandwidth` (Mbps).
    pub const EBS_BANDWIDTH: &str = "karpenter.k8s.aws/instance-ebs-bandwidth";
    /// `karpenter.k8s.aws/instance-local-nvme` (GB).
    pub const LOCAL_NVME: &str = "karpenter.k8s.aws/instance-local-nvme";
    /// `karpenter.k8s.aws/instance-capability-flex`.
    pub const CAPABILITY_FLEX: &str = "karpenter.k8s.aws/instance-capability-flex";
    /// `karpenter.k8s.aws/instance-gpu-name`.
    pub const GPU_NAME: &str = "karpenter.k8s.aws/instance-gpu-name";
    /// `karpenter.k8s.aws/instance-gpu-manufacturer`.
    pub const GPU_MANUFACTURER: &str = "karpenter.k8s.aws/instance-gpu-manufacturer";
    /// `karpenter.k8s.aws/instance-gpu-count`.
    pub const GPU_COUNT: &str = "karpenter.k8s.aws/instance-gpu-count";
    /// `karpenter.k8s.aws/instance-gpu-memory` (MiB per GPU).
    pub const GPU_MEMORY: &str = "karpenter.k8s.aws/instance-gpu-memory";
    /// `karpenter.k8s.aws/instance-accelerator-name`.
    pub const ACCELERATOR_NAME: &str = "karpenter.k8s.aws/instance-accelerator-name";
    /// `karpenter.k8s.aws/instance-accelerator-manufacturer`.
    pub const ACCELERATOR_MANUFACTURER: &str =
        "karpenter.k8s.aws/instance-accelerator-manufacturer";
    /// `karpenter.k8s.aws/instance-accelerator-count`.
    pub const ACCELERATOR_COUNT: &str = "karpenter.k8s.aws/instance-accelerator-count";

    /// Keys that only offerings carry.
    pub const OFFERING_KEYS: [&str; 3] = [ZONE, ZONE_ID, CAPACITY_TYPE];

    /// Whether `key` is a label Karpenter derives for every EC2 instance type, so that a type
    /// without it *lacks* the property (rather than leaving it unconstrained).
    pub fn is_well_known(key: &str) -> bool {
        key.starts_with("karpenter.k8s.aws/instance-")
            || matches!(
                key,
                INSTANCE_TYPE | ARCH | OS | ZONE | ZONE_ID | CAPACITY_TYPE
            )
    }
}

/// CPU architecture as Kubernetes names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// `amd64` (EC2 `x86_64`).
    Amd64,
    /// `arm64`.
    Arm64,
}

impl Arch {
    /// The `kubernetes.io/arch` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// A GPU model fitted to an instance type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuSpec {
    /// EC2 name, e.g. `A10G`.
    pub name: String,
    /// EC2 manufacturer, e.g. `NVIDIA`.
    pub manufacturer: String,
    /// Number of GPUs.
    pub count: i64,
    /// Memory per GPU, MiB.
    pub memory_mib: i64,
}

/// A machine-learning accelerator fitted to an instance type (Inferentia, Trainium, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceleratorSpec {
    /// EC2 name, e.g. `Inferentia2`.
    pub name: String,
    /// EC2 manufacturer, e.g. `AWS`.
    pub manufacturer: String,
    /// Number of devices.
    pub count: i64,
    /// Neuron cores over all devices (0 for non-Neuron accelerators).
    pub neuron_cores: i64,
}

/// What EC2 reports about an instance type, reduced to what the catalog uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// EC2 name, e.g. `m5.large`.
    pub name: String,
    /// Default vCPUs.
    pub vcpu: i64,
    /// Memory EC2 reports, MiB.
    pub memory_mib: i64,
    /// Architecture.
    pub arch: Arch,
    /// CPU manufacturer as EC2 names it (`Intel`, `AMD`, `AWS`).
    pub cpu_manufacturer: String,
    /// Sustained clock speed, MHz (0 when unknown).
    pub clock_mhz: i64,
    /// `nitro`, `xen`, or empty for bare metal.
    pub hypervisor: String,
    /// Bare metal.
    pub bare_metal: bool,
    /// Burstable performance (T family).
    pub burstable: bool,
    /// EC2's current-generation flag.
    pub current_generation: bool,
    /// Network interfaces on the default network card.
    pub default_card_enis: i64,
    /// IPv4 addresses per interface.
    pub ipv4_per_eni: i64,
    /// Baseline network bandwidth, Mbps (0 when unknown).
    pub network_mbps: i64,
    /// Maximum EBS bandwidth, Mbps (0 when unknown).
    pub ebs_mbps: i64,
    /// Local NVMe instance storage, GB (0 for none).
    pub local_nvme_gb: i64,
    /// Encryption in transit between instances.
    pub encryption_in_transit: bool,
    /// GPUs, if any.
    pub gpu: Option<GpuSpec>,
    /// Accelerators, if any.
    pub accelerator: Option<AcceleratorSpec>,
    /// Maximum EFA interfaces (0 when EFA is unsupported).
    pub efa: i64,
    /// Whether EC2 sells it as spot.
    pub spot_supported: bool,
}

/// Lower-case with spaces as dashes, as Karpenter writes GPU and accelerator names.
fn kebab(s: &str) -> String {
    s.trim().to_lowercase().replace(' ', "-")
}

/// The parts of an instance type name: `(family, size, category, generation)`.
///
/// The family is the part before the dot and the size the part after. The category is the
/// family's leading letters and the generation the digits after them, skipping a `-<n>tb`
/// memory marker (`u-6tb1` is category `u`, generation `1`). Returns `None` for names that do
/// not have that shape.
pub fn parse_name(name: &str) -> Option<(&str, &str, &str, &str)> {
    let (family, size) = name.split_once('.')?;
    if family.is_empty() || size.is_empty() {
        return None;
    }
    let cat_end = family
        .find(|c: char| !c.is_ascii_lowercase())
        .unwrap_or(family.len());
    if cat_end == 0 {
        return None;
    }
    let category = &family[..cat_end];
    let mut rest = &family[cat_end..];
    // Skip `-<digits>tb` (u-6tb1).
    if let Some(r) = rest.strip_prefix('-') {
        let d = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        if d > 0 && r[d..].starts_with("tb") {
            rest = &r[d + 2..];
        }
    }
    let gen_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if gen_end == 0 {
        return None;
    }
    Some((family, size, category, &rest[..gen_end]))
}

impl InstanceSpec {
    /// The instance-type labels Karpenter derives from these facts (no zone or capacity type,
    /// which belong to offerings).
    pub fn labels(&self) -> BTreeMap<String, String> {
        use labels::*;
        let mut l = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            l.insert(k.to_string(), v);
        };
        put(INSTANCE_TYPE, self.name.clone());
        put(ARCH, self.arch.as_str().to_string());
        put(OS, "linux".to_string());
        if let Some((family, size, category, generation)) = parse_name(&self.name) {
            put(FAMILY, family.to_string());
            put(SIZE, size.to_string());
            put(CATEGORY, category.to_string());
            put(GENERATION, generation.to_string());
            if family.ends_with("-flex") {
                put(CAPABILITY_FLEX, "true".to_string());
            }
        }
        put(CPU, self.vcpu.to_string());
        if !self.cpu_manufacturer.is_empty() {
            put(CPU_MANUFACTURER, self.cpu_manufacturer.to_lowercase());
        }
        if self.clock_mhz > 0 {
            put(CPU_CLOCK, self.clock_mhz.to_string());
        }
        put(MEMORY, self.memory_mib.to_string());
        if !self.hypervisor.is_empty() {
            put(HYPERVISOR, self.hypervisor.clone());
        }
        put(
            ENCRYPTION_IN_TRANSIT,
            self.encryption_in_transit.to_string(),
        );
        if self.network_mbps > 0 {
            put(NETWORK_BANDWIDTH, self.network_mbps.to_string());
        }
        if self.ebs_mbps > 0 {
            put(EBS_BANDWIDTH, self.ebs_mbps.to_string());
        }
        if self.local_nvme_gb > 0 {
            put(LOCAL_NVME, self.local_nvme_gb.to_string());
        }
        if let Some(g) = &self.gpu {
            put(GPU_NAME, kebab(&g.name));
            put(GPU_MANUFACTURER, kebab(&g.manufacturer));
            put(GPU_COUNT, g.count.to_string());
            put(GPU_MEMORY, g.memory_mib.to_string());
        }
        if let Some(a) = &self.accelerator {
            put(ACCELERATOR_NAME, kebab(&a.name));
            put(ACCELERATOR_MANUFACTURER, kebab(&a.manufacturer));
            put(ACCELERATOR_COUNT, a.count.to_string());
        }
        l
    }

    /// Node capacity: cpu, memory after VM overhead, pods, ephemeral-storage and extended
    /// resources (GPUs, Neuron devices and cores, EFA). Zero-valued resources are left out.
    pub fn capacity(&self, opts: &AllocatableOptions) -> ResourceList {
        use resources::*;
        let mut c = ResourceList::new();
        c.set(CPU, self.vcpu.saturating_mul(1000));
        c.set(
            MEMORY,
            allocatable::memory_capacity_mib(self.memory_mib, opts.vm_memory_overhead_percent)
                .saturating_mul(MIB),
        );
        c.set(
            PODS,
            allocatable::max_pods(self.vcpu, self.default_card_enis, self.ipv4_per_eni, opts)
                .saturating_mul(1000),
        );
        let ephemeral = if opts.instance_store_raid0 && self.local_nvme_gb > 0 {
            self.local_nvme_gb.saturating_mul(1_000_000_000_000)
        } else {
            opts.root_volume_size
        };
        c.set(EPHEMERAL_STORAGE, ephemeral);
        if let Some(g) = &self.gpu {
            let resource = match g.manufacturer.to_ascii_lowercase().as_str() {
                "nvidia" => Some(NVIDIA_GPU),
                "amd" => Some(AMD_GPU),
                "habana" => Some(HABANA_GAUDI),
                _ => None,
            };
            if let Some(r) = resource.filter(|_| g.count > 0) {
                c.set(r, g.count.saturating_mul(1000));
            }
        }
        if let Some(a) = &self.accelerator {
            if a.neuron_cores > 0 || a.name.to_ascii_lowercase().starts_with("inferentia") {
                c.set(AWS_NEURON, a.count.saturating_mul(1000));
                if a.neuron_cores > 0 {
                    c.set(AWS_NEURON_CORE, a.neuron_cores.saturating_mul(1000));
                }
            }
        }
        if self.efa > 0 {
            c.set(EFA, self.efa.saturating_mul(1000));
        }
        c
    }

    /// The catalog entry for this type with the given offerings.
    pub fn to_instance_type(
        &self,
        opts: &AllocatableOptions,
        offerings: Vec<Offering>,
    ) -> InstanceType {
        let capacity = self.capacity(opts);
        let overhead = allocatable::overhead(&capacity, opts);
        InstanceType {
            name: self.name.clone(),
            capacity,
            overhead,
            labels: self.labels(),
            offerings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_into_family_size_category_generation() {
        assert_eq!(parse_name("m5.large"), Some(("m5", "large", "m", "5")));
        assert_eq!(
            parse_name("m7i-flex.xlarge"),
            Some(("m7i-flex", "xlarge", "m", "7"))
        );
        assert_eq!(
            parse_name("u-6tb1.112xlarge"),
            Some(("u-6tb1", "112xlarge", "u", "1"))
        );
        assert_eq!(
            parse_name("u7i-12tb.224xlarge"),
            Some(("u7i-12tb", "224xlarge", "u", "7"))
        );
        assert_eq!(
            parse_name("p6-b200.48xlarge"),
            Some(("p6-b200", "48xlarge", "p", "6"))
        );
        assert_eq!(
            parse_name("inf2.xlarge"),
            Some(("inf2", "xlarge", "inf", "2"))
        );
        assert_eq!(parse_name("small.2x"), None);
        assert_eq!(parse_name("nodot"), None);
    }

    #[test]
    fn kebab_case_names() {
        assert_eq!(kebab("RTX PRO Server 6000"), "rtx-pro-server-6000");
        assert_eq!(kebab("NVIDIA"), "nvidia");
    }
}
