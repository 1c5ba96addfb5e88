//! The instance-type catalog: EC2 instance types with their capacity, the allocatable left after
//! the kubelet's reservations, their well-known labels, and their offerings (zone, capacity type,
//! price). Built in (a dated snapshot embedded in the binary) and live (converted from EC2 and
//! Price List responses that the cloud provider fetches).
//!
//! Pure: no I/O, no clock. Time-dependent caches take the time as an argument.
//!
//! - [`Catalog::builtin`] loads the embedded catalog for a region with [`AllocatableOptions`].
//! - [`Catalog::filter`] / [`Catalog::matching`] select types by NodePool-style
//!   [`Requirement`]s.
//! - [`file::parse_catalog_file`] reads `karpenter simulate --catalog FILE`.
//! - [`allocatable`] holds the capacity and overhead formulas.

pub mod allocatable;
pub mod builtin;
pub mod catalog;
pub mod file;
pub mod live;
pub mod model;
pub mod node_class;
pub mod requirements;
pub mod spec;

pub use allocatable::{AllocatableOptions, EvictionValue, SettingError};
pub use catalog::{Catalog, CatalogError, PriceSource};
pub use file::{parse_catalog_file, parse_catalog_file_with, CatalogFileError};
pub use model::{CapacityType, InstanceType, Offering, Overhead};
pub use requirements::{Operator, Requirement, RequirementError};
pub use spec::InstanceSpec;
