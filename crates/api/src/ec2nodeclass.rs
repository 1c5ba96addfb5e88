//! `karpenter.k8s.aws/v1` EC2NodeClass: how Karpenter launches EC2 instances (AMIs, subnets,
//! security groups, IAM, kubelet, volumes, instance metadata).

use k8s_openapi::api::core::v1::NodeSelectorRequirement;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The API group of EC2NodeClass.
pub const GROUP: &str = "karpenter.k8s.aws";

/// Condition types of an EC2NodeClass's status.
pub mod conditions {
    /// Subnets, security groups, AMIs and the instance profile all resolved.
    pub const READY: &str = "Ready";
    /// Subnets resolved.
    pub const SUBNETS_READY: &str = "SubnetsReady";
    /// Security groups resolved.
    pub const SECURITY_GROUPS_READY: &str = "SecurityGroupsReady";
    /// AMIs resolved.
    pub const AMIS_READY: &str = "AMIsReady";
    /// The instance profile exists.
    pub const INSTANCE_PROFILE_READY: &str = "InstanceProfileReady";
    /// Capacity reservations resolved.
    pub const CAPACITY_RESERVATIONS_READY: &str = "CapacityReservationsReady";
    /// The node class passed runtime validation.
    pub const VALIDATION_SUCCEEDED: &str = "ValidationSucceeded";
}

/// The desired state of an EC2NodeClass.
// kube's printcolumn(...) attributes repeat `type_`, which clippy takes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "karpenter.k8s.aws",
    version = "v1",
    kind = "EC2NodeClass",
    plural = "ec2nodeclasses",
    status = "EC2NodeClassStatus",
    category = "karpenter",
    shortname = "ec2nc",
    shortname = "ec2ncs",
    derive = "PartialEq",
    doc = "EC2NodeClass is the Schema for the EC2NodeClass API",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Role",
        type_ = "string",
        json_path = ".spec.role",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("(has(self.role) && !has(self.instanceProfile)) || (!has(self.role) && has(self.instanceProfile))").message("must specify exactly one of ['role', 'instanceProfile']"),
    validation = Rule::new("self.amiSelectorTerms.exists(x, has(x.alias)) ? true : has(self.amiFamily)").message("must specify amiFamily if amiSelectorTerms does not contain an alias")
)]
pub struct EC2NodeClassSpec {
    /// How subnets are found; instances launch in one of them (at least one term).
    #[serde(default)]
    #[schemars(length(min = 1, max = 30))]
    pub subnet_selector_terms: Vec<SubnetSelectorTerm>,
    /// How security groups are found (at least one term).
    #[serde(default)]
    #[schemars(length(min = 1, max = 30))]
    pub security_group_selector_terms: Vec<SecurityGroupSelectorTerm>,
    /// How capacity reservations are found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 30))]
    pub capacity_reservation_selector_terms: Vec<CapacityReservationSelectorTerm>,
    /// Whether instances get a public IP address (the subnet's setting when absent).
    #[serde(
        default,
        rename = "associatePublicIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub associate_public_ip_address: Option<bool>,
    /// How AMIs are found: an alias (`al2023@latest`) or id/name/owner/tags/ssmParameter terms.
    #[serde(default)]
    #[schemars(length(min = 1, max = 30))]
    #[x_kube(validation = Rule::new("!(self.exists(x, has(x.alias)) && self.size() != 1)").message("'alias' is mutually exclusive, cannot be set with a combination of other amiSelectorTerms"))]
    pub ami_selector_terms: Vec<AMISelectorTerm>,
    /// The AMI family, which decides bootstrap user data; implied by an alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_family: Option<AMIFamily>,
    /// User data merged with Karpenter's bootstrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// IAM role for which Karpenter manages an instance profile (exclusive with
    /// `instanceProfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Existing IAM instance profile (exclusive with `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// Tags applied to instances, volumes and launch templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Kubelet settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet: Option<KubeletConfiguration>,
    /// Volumes attached at launch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    #[x_kube(validation = Rule::new("self.filter(x, has(x.rootVolume) ? x.rootVolume == true : false).size() <= 1").message("must have only one blockDeviceMappings with rootVolume"))]
    pub block_device_mappings: Vec<BlockDeviceMapping>,
    /// How instance store volumes are used (`RAID0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_store_policy: Option<InstanceStorePolicy>,
    /// Whether detailed CloudWatch monitoring is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_monitoring: Option<bool>,
    /// Instance metadata service options (defaults: enabled, IMDSv2 required, hop limit 1).
    #[serde(default)]
    pub metadata_options: MetadataOptions,
    /// Launch context for Reserved/ODCR-style launches (passed through to EC2 Fleet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// A subnet selector term: tags or an id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    validation = Rule::new("has(self.tags) || has(self.id)").message("expected at least one, got none, ['tags', 'id']"),
    validation = Rule::new("!has(self.id) || !has(self.tags)").message("'id' is mutually exclusive, cannot be set with a combination of other fields in subnetSelectorTerms")
)]
pub struct SubnetSelectorTerm {
    /// Tags the subnet must have (`*` matches any value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(length(max = 20))]
    pub tags: BTreeMap<String, String>,
    /// The subnet id (`subnet-...`); exclusive with other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^subnet-[0-9a-z]+$"))]
    pub id: Option<String>,
}

/// A security group selector term: tags, an id or a name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    validation = Rule::new("has(self.tags) || has(self.id) || has(self.name)").message("expected at least one, got none, ['tags', 'id', 'name']"),
    validation = Rule::new("!has(self.id) || !(has(self.tags) || has(self.name))").message("'id' is mutually exclusive, cannot be set with a combination of other fields in securityGroupSelectorTerms")
)]
pub struct SecurityGroupSelectorTerm {
    /// Tags the security group must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(length(max = 20))]
    pub tags: BTreeMap<String, String>,
    /// The security group id (`sg-...`); exclusive with other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^sg-[0-9a-z]+$"))]
    pub id: Option<String>,
    /// The security group name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A capacity reservation selector term: tags (optionally with an owner) or an id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    validation = Rule::new("has(self.tags) || has(self.id)").message("expected at least one, got none, ['tags', 'id']"),
    validation = Rule::new("!has(self.id) || !(has(self.tags) || has(self.ownerID))").message("'id' is mutually exclusive, cannot be set with a combination of other fields in capacityReservationSelectorTerms")
)]
pub struct CapacityReservationSelectorTerm {
    /// Tags the reservation must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(length(max = 20))]
    pub tags: BTreeMap<String, String>,
    /// The reservation id (`cr-...`); exclusive with other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^cr-[0-9a-z]+$"))]
    pub id: Option<String>,
    /// The 12-digit account that owns the reservation.
    #[serde(default, rename = "ownerID", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]{12}$"))]
    pub owner_id: Option<String>,
}

/// An AMI selector term: an alias alone, an id alone, or a combination of name, owner, tags and
/// SSM parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.tags) || has(self.id) || has(self.name) || has(self.alias) || has(self.ssmParameter)").message("expected at least one, got none, ['tags', 'id', 'name', 'alias', 'ssmParameter']"),
    validation = Rule::new("!has(self.id) || !(has(self.tags) || has(self.name) || has(self.alias) || has(self.owner) || has(self.ssmParameter))").message("'id' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms"),
    validation = Rule::new("!has(self.alias) || !(has(self.tags) || has(self.name) || has(self.owner) || has(self.ssmParameter))").message("'alias' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms")
)]
pub struct AMISelectorTerm {
    /// `family@version`, e.g. `al2023@latest` or `bottlerocket@v1.20.0`; exclusive with other
    /// fields and terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 30))]
    pub alias: Option<String>,
    /// Tags the AMI must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(length(max = 20))]
    pub tags: BTreeMap<String, String>,
    /// The AMI id (`ami-...`); exclusive with other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^ami-[0-9a-z]+$"))]
    pub id: Option<String>,
    /// The AMI name (wildcards allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The owner account id or alias (`self`, `amazon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// An SSM parameter holding the AMI id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_parameter: Option<String>,
}

impl AMISelectorTerm {
    /// The alias split into `(family, version)`, when the term is an alias of that form.
    pub fn alias_parts(&self) -> Option<(&str, &str)> {
        self.alias.as_deref()?.split_once('@')
    }
}

/// The AMI families Karpenter knows how to bootstrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AMIFamily {
    /// Amazon Linux 2.
    AL2,
    /// Amazon Linux 2023.
    AL2023,
    /// Bottlerocket.
    Bottlerocket,
    /// Windows Server 2019.
    Windows2019,
    /// Windows Server 2022.
    Windows2022,
    /// A custom AMI; user data must bootstrap the node.
    Custom,
}

impl AMIFamily {
    /// The family an alias's prefix names (`al2023` → `AL2023`).
    pub fn from_alias_family(family: &str) -> Option<Self> {
        match family {
            "al2" => Some(AMIFamily::AL2),
            "al2023" => Some(AMIFamily::AL2023),
            "bottlerocket" => Some(AMIFamily::Bottlerocket),
            "windows2019" => Some(AMIFamily::Windows2019),
            "windows2022" => Some(AMIFamily::Windows2022),
            _ => None,
        }
    }
}

impl fmt::Display for AMIFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AMIFamily::AL2 => "AL2",
            AMIFamily::AL2023 => "AL2023",
            AMIFamily::Bottlerocket => "Bottlerocket",
            AMIFamily::Windows2019 => "Windows2019",
            AMIFamily::Windows2022 => "Windows2022",
            AMIFamily::Custom => "Custom",
        })
    }
}

/// How instance store volumes are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum InstanceStorePolicy {
    /// Combine instance store volumes in RAID0 and use them for ephemeral storage.
    RAID0,
}

/// Kubelet settings of an EC2NodeClass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeletConfiguration {
    /// Cluster DNS server addresses.
    #[serde(default, rename = "clusterDNS", skip_serializing_if = "Vec::is_empty")]
    pub cluster_dns: Vec<String>,
    /// Maximum pods per node (overrides the ENI-based default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_pods: Option<i32>,
    /// Maximum pods per vCPU; the smaller of this and `maxPods` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub pods_per_core: Option<i32>,
    /// Resources reserved for system daemons (`cpu`, `memory`, `ephemeral-storage`, `pid`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub system_reserved: BTreeMap<String, String>,
    /// Resources reserved for Kubernetes daemons (`cpu`, `memory`, `ephemeral-storage`, `pid`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kube_reserved: BTreeMap<String, String>,
    /// Hard eviction thresholds (`memory.available: 100Mi`, `nodefs.available: 10%`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub eviction_hard: BTreeMap<String, String>,
    /// Soft eviction thresholds; each needs a grace period.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub eviction_soft: BTreeMap<String, String>,
    /// Grace periods of the soft eviction thresholds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub eviction_soft_grace_period: BTreeMap<String, String>,
    /// Maximum pod termination grace period, in seconds, for soft evictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_max_pod_grace_period: Option<i32>,
    /// Disk usage percentage above which image garbage collection always runs.
    #[serde(
        default,
        rename = "imageGCHighThresholdPercent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0, max = 100))]
    pub image_gc_high_threshold_percent: Option<i32>,
    /// Disk usage percentage below which image garbage collection never runs.
    #[serde(
        default,
        rename = "imageGCLowThresholdPercent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0, max = 100))]
    pub image_gc_low_threshold_percent: Option<i32>,
    /// Whether CPU CFS quota enforcement is enabled for containers with limits.
    #[serde(
        default,
        rename = "cpuCFSQuota",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_cfs_quota: Option<bool>,
}

/// A volume attached at launch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockDeviceMapping {
    /// The device name, e.g. `/dev/xvda`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The EBS volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs: Option<BlockDevice>,
    /// Whether this is the root volume (at most one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root_volume: bool,
}

/// An EBS volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockDevice {
    /// Whether the volume is deleted with the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_on_termination: Option<bool>,
    /// Whether the volume is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// Provisioned IOPS (io1, io2, gp3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<i64>,
    /// KMS key for encryption.
    #[serde(default, rename = "kmsKeyID", skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Snapshot to create the volume from.
    #[serde(
        default,
        rename = "snapshotID",
        skip_serializing_if = "Option::is_none"
    )]
    pub snapshot_id: Option<String>,
    /// Throughput in MiB/s (gp3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<i64>,
    /// Size, e.g. `20Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_size: Option<Quantity>,
    /// Volume type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeType>,
}

/// EBS volume types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeType {
    /// Magnetic.
    Standard,
    /// Provisioned IOPS SSD.
    Io1,
    /// Provisioned IOPS SSD, newer.
    Io2,
    /// General purpose SSD.
    Gp2,
    /// Cold HDD.
    Sc1,
    /// Throughput-optimised HDD.
    St1,
    /// General purpose SSD, newer.
    Gp3,
}

fn default_enabled() -> String {
    "enabled".into()
}
fn default_disabled() -> String {
    "disabled".into()
}
fn default_required() -> String {
    "required".into()
}
fn default_hop_limit() -> i64 {
    1
}

/// Instance metadata service options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetadataOptions {
    /// `enabled` (default) or `disabled`.
    #[serde(default = "default_enabled")]
    pub http_endpoint: String,
    /// IPv6 endpoint: `enabled` or `disabled` (default).
    #[serde(default = "default_disabled", rename = "httpProtocolIPv6")]
    pub http_protocol_ipv6: String,
    /// Hop limit of metadata responses (1..64, default 1).
    #[serde(default = "default_hop_limit")]
    #[schemars(range(min = 1, max = 64))]
    pub http_put_response_hop_limit: i64,
    /// `required` (IMDSv2, default) or `optional`.
    #[serde(default = "default_required")]
    pub http_tokens: String,
}

impl Default for MetadataOptions {
    fn default() -> Self {
        Self {
            http_endpoint: default_enabled(),
            http_protocol_ipv6: default_disabled(),
            http_put_response_hop_limit: default_hop_limit(),
            http_tokens: default_required(),
        }
    }
}

/// The observed state of an EC2NodeClass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EC2NodeClassStatus {
    /// The subnets found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<Subnet>,
    /// The security groups found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<SecurityGroup>,
    /// The capacity reservations found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_reservations: Vec<CapacityReservation>,
    /// The AMIs found, each with the requirements of the instances it suits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amis: Vec<AMI>,
    /// The instance profile in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// Conditions (see [`conditions`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A resolved subnet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    /// Subnet id.
    pub id: String,
    /// Availability zone, e.g. `us-east-1a`.
    pub zone: String,
    /// Availability zone id, e.g. `use1-az1`.
    #[serde(default, rename = "zoneID", skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
}

/// A resolved security group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecurityGroup {
    /// Security group id.
    pub id: String,
    /// Security group name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A resolved capacity reservation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReservation {
    /// Reservation id.
    pub id: String,
    /// Availability zone.
    pub availability_zone: String,
    /// Instance type reserved.
    pub instance_type: String,
    /// Owning account.
    #[serde(rename = "ownerID")]
    pub owner_id: String,
    /// Instance match criteria (`open` or `targeted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_match_criteria: Option<String>,
    /// `default` or `capacity-block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_type: Option<String>,
    /// `active` or `expiring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// When the reservation ends (RFC 3339), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
}

/// A resolved AMI.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AMI {
    /// AMI id.
    pub id: String,
    /// AMI name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Requirements of the instances the AMI suits (architecture, GPU, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<NodeSelectorRequirement>,
    /// Whether the AMI is deprecated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
}
