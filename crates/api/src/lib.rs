//! Karpenter's v1 API as Rust types: `karpenter.sh/v1` NodePool and NodeClaim and
//! `karpenter.k8s.aws/v1` EC2NodeClass, with the defaults the API server applies, the validation
//! Karpenter's CRDs and webhooks perform, and CRD generation.
//!
//! This crate is pure data: no I/O beyond (de)serialisation, no clock.
//!
//! Defaults are applied by deserialisation: reading a manifest into [`NodePool`],
//! [`NodeClaim`] or [`EC2NodeClass`] fills in every CRD default, as the API server would.

pub mod crd;
pub mod duration;
pub mod ec2nodeclass;
pub mod fuzzing;
pub mod labels;
pub mod nodeclaim;
pub mod nodepool;
pub mod object;
pub mod quantity;
pub mod requirements;
pub mod validation;

pub use duration::{GoDuration, NillableDuration};
pub use ec2nodeclass::{
    AMIFamily, AMISelectorTerm, BlockDevice, BlockDeviceMapping, EC2NodeClass, EC2NodeClassSpec,
    EC2NodeClassStatus, KubeletConfiguration, MetadataOptions, SecurityGroupSelectorTerm,
    SubnetSelectorTerm,
};
pub use k8s_openapi::api::core::v1::Taint;
pub use nodeclaim::{NodeClaim, NodeClaimSpec, NodeClaimStatus, NodeClassReference};
pub use nodepool::{
    Budget, BudgetNodes, ConsolidationPolicy, Disruption, DisruptionReason, NodeClaimTemplate,
    NodeClaimTemplateMetadata, NodeClaimTemplateSpec, NodePool, NodePoolSpec, NodePoolStatus,
};
pub use requirements::{NodeSelectorRequirementWithMinValues, Operator};
pub use validation::{FieldError, Validate};
