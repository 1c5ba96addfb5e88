//! Well-known label, annotation, taint and finalizer names of Karpenter and Kubernetes, the
//! restricted label domains, and normalisation of deprecated beta label aliases.

/// Label holding the name of the NodePool that launched a node (`karpenter.sh/nodepool`).
pub const NODE_POOL: &str = "karpenter.sh/nodepool";
/// Label holding the capacity type of a node: `on-demand`, `spot` or `reserved`.
pub const CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
/// Label set once a node has registered with the cluster.
pub const NODE_REGISTERED: &str = "karpenter.sh/registered";
/// Label set once a node is initialized (ready, startup taints gone, resources registered).
pub const NODE_INITIALIZED: &str = "karpenter.sh/initialized";
/// Annotation on pods or nodes that blocks voluntary disruption (`"true"`).
pub const DO_NOT_DISRUPT: &str = "karpenter.sh/do-not-disrupt";
/// Annotation holding the hash of the NodePool's template that a NodeClaim was made from.
pub const NODE_POOL_HASH: &str = "karpenter.sh/nodepool-hash";
/// Annotation holding the version of the hashing scheme of [`NODE_POOL_HASH`].
pub const NODE_POOL_HASH_VERSION: &str = "karpenter.sh/nodepool-hash-version";
/// Annotation with the time at which a NodeClaim's termination grace period ends.
pub const NODE_CLAIM_TERMINATION_TIMESTAMP: &str = "karpenter.sh/nodeclaim-termination-timestamp";
/// Tag Karpenter puts on the instances it launches, naming the cluster that manages them.
pub const MANAGED_BY: &str = "karpenter.sh/managed-by";
/// Taint key placed on a node chosen for disruption (effect `NoSchedule`).
pub const DISRUPTED_TAINT_KEY: &str = "karpenter.sh/disrupted";
/// Taint key placed on a node until it registers (effect `NoExecute`).
pub const UNREGISTERED_TAINT_KEY: &str = "karpenter.sh/unregistered";
/// Finalizer Karpenter puts on nodes and NodeClaims to drain and terminate them.
pub const TERMINATION_FINALIZER: &str = "karpenter.sh/termination";

/// Capacity type value: on-demand instances.
pub const CAPACITY_TYPE_ON_DEMAND: &str = "on-demand";
/// Capacity type value: spot instances.
pub const CAPACITY_TYPE_SPOT: &str = "spot";
/// Capacity type value: capacity reservations.
pub const CAPACITY_TYPE_RESERVED: &str = "reserved";
/// Every capacity type value Karpenter accepts.
pub const CAPACITY_TYPES: [&str; 3] = [
    CAPACITY_TYPE_ON_DEMAND,
    CAPACITY_TYPE_SPOT,
    CAPACITY_TYPE_RESERVED,
];

/// Zone label (`topology.kubernetes.io/zone`).
pub const TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";
/// Region label (`topology.kubernetes.io/region`).
pub const TOPOLOGY_REGION: &str = "topology.kubernetes.io/region";
/// Instance type label (`node.kubernetes.io/instance-type`).
pub const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
/// CPU architecture label (`kubernetes.io/arch`): `amd64` or `arm64`.
pub const ARCH: &str = "kubernetes.io/arch";
/// Operating system label (`kubernetes.io/os`): `linux` or `windows`.
pub const OS: &str = "kubernetes.io/os";
/// Hostname label (`kubernetes.io/hostname`), set by the kubelet; restricted in NodePools.
pub const HOSTNAME: &str = "kubernetes.io/hostname";
/// Windows build label (`node.kubernetes.io/windows-build`).
pub const WINDOWS_BUILD: &str = "node.kubernetes.io/windows-build";

/// Deprecated zone label, normalised to [`TOPOLOGY_ZONE`].
pub const BETA_ZONE: &str = "failure-domain.beta.kubernetes.io/zone";
/// Deprecated region label, normalised to [`TOPOLOGY_REGION`].
pub const BETA_REGION: &str = "failure-domain.beta.kubernetes.io/region";
/// Deprecated architecture label, normalised to [`ARCH`].
pub const BETA_ARCH: &str = "beta.kubernetes.io/arch";
/// Deprecated operating system label, normalised to [`OS`].
pub const BETA_OS: &str = "beta.kubernetes.io/os";
/// Deprecated instance type label, normalised to [`INSTANCE_TYPE`].
pub const BETA_INSTANCE_TYPE: &str = "beta.kubernetes.io/instance-type";

/// AWS zone ID label (`topology.k8s.aws/zone-id`).
pub const AWS_ZONE_ID: &str = "topology.k8s.aws/zone-id";
/// Label holding the EC2NodeClass name a node was launched with.
pub const AWS_EC2_NODE_CLASS: &str = "karpenter.k8s.aws/ec2nodeclass";
/// Annotation holding the hash of the EC2NodeClass a NodeClaim was made from.
pub const AWS_EC2_NODE_CLASS_HASH: &str = "karpenter.k8s.aws/ec2nodeclass-hash";
/// Instance hypervisor label (`nitro`, `xen`, or empty for metal).
pub const AWS_INSTANCE_HYPERVISOR: &str = "karpenter.k8s.aws/instance-hypervisor";
/// Whether the instance type encrypts traffic in transit.
pub const AWS_INSTANCE_ENCRYPTION_IN_TRANSIT_SUPPORTED: &str =
    "karpenter.k8s.aws/instance-encryption-in-transit-supported";
/// Instance category label (`c`, `m`, `r`, `g`, ...).
pub const AWS_INSTANCE_CATEGORY: &str = "karpenter.k8s.aws/instance-category";
/// Instance family label (`m5`, `c6g`, ...).
pub const AWS_INSTANCE_FAMILY: &str = "karpenter.k8s.aws/instance-family";
/// Instance generation label (`5`, `6`, ...).
pub const AWS_INSTANCE_GENERATION: &str = "karpenter.k8s.aws/instance-generation";
/// Local NVMe storage in GiB.
pub const AWS_INSTANCE_LOCAL_NVME: &str = "karpenter.k8s.aws/instance-local-nvme";
/// Instance size label (`large`, `xlarge`, `metal`, ...).
pub const AWS_INSTANCE_SIZE: &str = "karpenter.k8s.aws/instance-size";
/// Number of vCPUs.
pub const AWS_INSTANCE_CPU: &str = "karpenter.k8s.aws/instance-cpu";
/// CPU manufacturer (`intel`, `amd`, `aws`).
pub const AWS_INSTANCE_CPU_MANUFACTURER: &str = "karpenter.k8s.aws/instance-cpu-manufacturer";
/// Sustained clock speed in MHz.
pub const AWS_INSTANCE_CPU_SUSTAINED_CLOCK_SPEED_MHZ: &str =
    "karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz";
/// Memory in MiB.
pub const AWS_INSTANCE_MEMORY: &str = "karpenter.k8s.aws/instance-memory";
/// EBS bandwidth in Mbps.
pub const AWS_INSTANCE_EBS_BANDWIDTH: &str = "karpenter.k8s.aws/instance-ebs-bandwidth";
/// Network bandwidth in Mbps.
pub const AWS_INSTANCE_NETWORK_BANDWIDTH: &str = "karpenter.k8s.aws/instance-network-bandwidth";
/// GPU name (`t4`, `a10g`, ...).
pub const AWS_INSTANCE_GPU_NAME: &str = "karpenter.k8s.aws/instance-gpu-name";
/// GPU manufacturer (`nvidia`, ...).
pub const AWS_INSTANCE_GPU_MANUFACTURER: &str = "karpenter.k8s.aws/instance-gpu-manufacturer";
/// Number of GPUs.
pub const AWS_INSTANCE_GPU_COUNT: &str = "karpenter.k8s.aws/instance-gpu-count";
/// GPU memory in MiB.
pub const AWS_INSTANCE_GPU_MEMORY: &str = "karpenter.k8s.aws/instance-gpu-memory";
/// Accelerator name (`inferentia`, ...).
pub const AWS_INSTANCE_ACCELERATOR_NAME: &str = "karpenter.k8s.aws/instance-accelerator-name";
/// Accelerator manufacturer.
pub const AWS_INSTANCE_ACCELERATOR_MANUFACTURER: &str =
    "karpenter.k8s.aws/instance-accelerator-manufacturer";
/// Number of accelerators.
pub const AWS_INSTANCE_ACCELERATOR_COUNT: &str = "karpenter.k8s.aws/instance-accelerator-count";
/// Whether the instance type is a flex instance.
pub const AWS_INSTANCE_CAPABILITY_FLEX: &str = "karpenter.k8s.aws/instance-capability-flex";
/// Capacity reservation ID of a node launched into a reservation.
pub const AWS_CAPACITY_RESERVATION_ID: &str = "karpenter.k8s.aws/capacity-reservation-id";
/// Capacity reservation type (`default`, `capacity-block`).
pub const AWS_CAPACITY_RESERVATION_TYPE: &str = "karpenter.k8s.aws/capacity-reservation-type";

/// The AWS provider's instance labels (`karpenter.k8s.aws/instance-*` and friends).
pub const AWS_WELL_KNOWN_LABELS: [&str; 22] = [
    AWS_EC2_NODE_CLASS,
    AWS_INSTANCE_HYPERVISOR,
    AWS_INSTANCE_ENCRYPTION_IN_TRANSIT_SUPPORTED,
    AWS_INSTANCE_CATEGORY,
    AWS_INSTANCE_FAMILY,
    AWS_INSTANCE_GENERATION,
    AWS_INSTANCE_LOCAL_NVME,
    AWS_INSTANCE_SIZE,
    AWS_INSTANCE_CPU,
    AWS_INSTANCE_CPU_MANUFACTURER,
    AWS_INSTANCE_CPU_SUSTAINED_CLOCK_SPEED_MHZ,
    AWS_INSTANCE_MEMORY,
    AWS_INSTANCE_EBS_BANDWIDTH,
    AWS_INSTANCE_NETWORK_BANDWIDTH,
    AWS_INSTANCE_GPU_NAME,
    AWS_INSTANCE_GPU_MANUFACTURER,
    AWS_INSTANCE_GPU_COUNT,
    AWS_INSTANCE_GPU_MEMORY,
    AWS_INSTANCE_ACCELERATOR_NAME,
    AWS_INSTANCE_ACCELERATOR_MANUFACTURER,
    AWS_INSTANCE_ACCELERATOR_COUNT,
    AWS_INSTANCE_CAPABILITY_FLEX,
];

/// Labels Karpenter knows how to satisfy when launching a node (core plus AWS).
pub const WELL_KNOWN_LABELS: [&str; 11] = [
    NODE_POOL,
    TOPOLOGY_ZONE,
    TOPOLOGY_REGION,
    INSTANCE_TYPE,
    ARCH,
    OS,
    CAPACITY_TYPE,
    WINDOWS_BUILD,
    AWS_ZONE_ID,
    AWS_CAPACITY_RESERVATION_ID,
    AWS_CAPACITY_RESERVATION_TYPE,
];

/// Keys in the `kubernetes.io` domain that NodePool labels and requirements may use.
const KUBERNETES_IO_ALLOWED: [&str; 11] = [
    BETA_INSTANCE_TYPE,
    BETA_REGION,
    BETA_OS,
    BETA_ARCH,
    BETA_ZONE,
    TOPOLOGY_ZONE,
    TOPOLOGY_REGION,
    INSTANCE_TYPE,
    ARCH,
    OS,
    WINDOWS_BUILD,
];

/// Returns the canonical key for a deprecated beta alias, or the key itself.
///
/// `failure-domain.beta.kubernetes.io/zone` → `topology.kubernetes.io/zone`,
/// `failure-domain.beta.kubernetes.io/region` → `topology.kubernetes.io/region`,
/// `beta.kubernetes.io/arch` → `kubernetes.io/arch`, `beta.kubernetes.io/os` → `kubernetes.io/os`,
/// `beta.kubernetes.io/instance-type` → `node.kubernetes.io/instance-type`. The
/// `karpenter.k8s.aws/instance-*` labels have no aliases.
pub fn normalize_label_key(key: &str) -> &str {
    match key {
        BETA_ZONE => TOPOLOGY_ZONE,
        BETA_REGION => TOPOLOGY_REGION,
        BETA_ARCH => ARCH,
        BETA_OS => OS,
        BETA_INSTANCE_TYPE => INSTANCE_TYPE,
        other => other,
    }
}

/// Whether `key` is a label Karpenter knows (core or AWS, after alias normalisation).
pub fn is_well_known(key: &str) -> bool {
    let key = normalize_label_key(key);
    WELL_KNOWN_LABELS.contains(&key) || AWS_WELL_KNOWN_LABELS.contains(&key)
}

/// The domain (prefix before `/`) of a label key; empty when the key has none.
pub fn label_domain(key: &str) -> &str {
    key.split_once('/').map(|(d, _)| d).unwrap_or("")
}

/// Why a label key may not be set by a NodePool's template labels or requirements, if it may not.
///
/// Mirrors Karpenter's CRD rules: the `kubernetes.io` and `k8s.io` domains are restricted except
/// well-known node labels and `node.kubernetes.io`, `node-restriction.kubernetes.io` and
/// `kops.k8s.io`; `karpenter.sh` is restricted except `karpenter.sh/capacity-type` (and
/// `karpenter.sh/nodepool`, which callers restrict separately where appropriate);
/// `karpenter.k8s.aws` is restricted except its well-known instance labels; and
/// `kubernetes.io/hostname` is restricted.
pub fn restricted_label_reason(key: &str) -> Option<String> {
    if key == HOSTNAME {
        return Some(format!("label {HOSTNAME:?} is restricted"));
    }
    let domain = label_domain(key);
    if domain.ends_with("karpenter.sh") && key != CAPACITY_TYPE && key != NODE_POOL {
        return Some("label domain \"karpenter.sh\" is restricted".into());
    }
    if domain.ends_with("kubernetes.io")
        && !KUBERNETES_IO_ALLOWED.contains(&key)
        && !domain.ends_with("node.kubernetes.io")
        && !domain.ends_with("node-restriction.kubernetes.io")
    {
        return Some("label domain \"kubernetes.io\" is restricted".into());
    }
    if domain.ends_with("k8s.io") && !domain.ends_with("kops.k8s.io") {
        return Some("label domain \"k8s.io\" is restricted".into());
    }
    if domain.ends_with("karpenter.k8s.aws") && !AWS_WELL_KNOWN_LABELS.contains(&key) {
        return Some("label domain \"karpenter.k8s.aws\" is restricted".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_aliases_normalise() {
        assert_eq!(normalize_label_key(BETA_ZONE), TOPOLOGY_ZONE);
        assert_eq!(normalize_label_key(BETA_REGION), TOPOLOGY_REGION);
        assert_eq!(normalize_label_key(BETA_ARCH), ARCH);
        assert_eq!(normalize_label_key(BETA_OS), OS);
        assert_eq!(normalize_label_key(BETA_INSTANCE_TYPE), INSTANCE_TYPE);
        assert_eq!(
            normalize_label_key(AWS_INSTANCE_FAMILY),
            AWS_INSTANCE_FAMILY
        );
        assert!(is_well_known(BETA_ARCH));
        assert!(is_well_known(AWS_INSTANCE_GPU_COUNT));
        assert!(!is_well_known("team"));
    }

    #[test]
    fn restricted_domains() {
        assert!(restricted_label_reason(HOSTNAME).is_some());
        assert!(restricted_label_reason("karpenter.sh/custom").is_some());
        assert!(restricted_label_reason("sub.karpenter.sh/custom").is_some());
        assert!(restricted_label_reason(CAPACITY_TYPE).is_none());
        assert!(restricted_label_reason("kubernetes.io/custom").is_some());
        assert!(restricted_label_reason("node.kubernetes.io/custom").is_none());
        assert!(restricted_label_reason(BETA_ZONE).is_none());
        assert!(restricted_label_reason("x.k8s.io/y").is_some());
        assert!(restricted_label_reason("kops.k8s.io/y").is_none());
        assert!(restricted_label_reason("karpenter.k8s.aws/custom").is_some());
        assert!(restricted_label_reason(AWS_INSTANCE_FAMILY).is_none());
        assert!(restricted_label_reason("team").is_none());
        assert!(restricted_label_reason("example.com/team").is_none());
    }
}
