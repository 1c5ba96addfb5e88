//! The instance-type model the scheduler consumes: what a type can hold, what it is, and where and
//! at what price it launches.

use karpenter_api::quantity::ResourceList;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an instance is bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    /// Pay by the hour, never reclaimed.
    OnDemand,
    /// Spare capacity at a discount, reclaimed with a two-minute warning.
    Spot,
    /// Capacity reserved ahead (On-Demand Capacity Reservations).
    Reserved,
}

impl CapacityType {
    /// The value of the `karpenter.sh/capacity-type` label.
    pub fn as_str(self) -> &'static str {
        match self {
            CapacityType::OnDemand => "on-demand",
            CapacityType::Spot => "spot",
            CapacityType::Reserved => "reserved",
        }
    }

    /// Parses a `karpenter.sh/capacity-type` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "on-demand" => Some(CapacityType::OnDemand),
            "spot" => Some(CapacityType::Spot),
            "reserved" => Some(CapacityType::Reserved),
            _ => None,
        }
    }
}

/// One place and way an instance type can launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offering {
    /// Availability zone name, e.g. `us-east-1a` (the `topology.kubernetes.io/zone` label).
    pub zone: String,
    /// Availability zone id, e.g. `use1-az1`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// On-demand, spot or reserved.
    pub capacity_type: CapacityType,
    /// USD per hour.
    pub price: f64,
    /// False when the offering is known but cannot launch now (e.g. after insufficient capacity).
    pub available: bool,
}

/// What the kubelet and the OS keep back from an instance's capacity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overhead {
    /// `kube-reserved`.
    pub kube_reserved: ResourceList,
    /// `system-reserved`.
    pub system_reserved: ResourceList,
    /// Hard eviction thresholds, as absolute amounts.
    pub eviction_threshold: ResourceList,
}

impl Overhead {
    /// The sum of the three reservations.
    pub fn total(&self) -> ResourceList {
        let mut t = self.kube_reserved.clone();
        t.add(&self.system_reserved);
        t.add(&self.eviction_threshold);
        t
    }
}

/// An instance type as the scheduler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    /// EC2 name, e.g. `m5.large`.
    pub name: String,
    /// What the node reports as capacity (cpu, memory after VM overhead, pods, ephemeral-storage,
    /// extended resources).
    pub capacity: ResourceList,
    /// What the kubelet reserves.
    pub overhead: Overhead,
    /// Instance-type labels (not zone or capacity type, which belong to offerings).
    pub labels: BTreeMap<String, String>,
    /// Where and how it can launch, and at what price.
    pub offerings: Vec<Offering>,
}

impl InstanceType {
    /// capacity − overhead, floored at zero.
    pub fn allocatable(&self) -> ResourceList {
        self.capacity.saturating_sub(&self.overhead.total())
    }

    /// The cheapest available offering, ties broken by zone then capacity type.
    pub fn cheapest_offering(&self) -> Option<&Offering> {
        self.offerings
            .iter()
            .filter(|o| o.available)
            .min_by(|a, b| {
                a.price
                    .total_cmp(&b.price)
                    .then_with(|| a.zone.cmp(&b.zone))
                    .then_with(|| a.capacity_type.cmp(&b.capacity_type))
            })
    }
}
