//! The instance-type catalog: EC2 instance types with their capacity, the allocatable left after
//! the kubelet's reservations, their well-known labels, and their offerings (zone, capacity type,
//! price). Built in (a dated snapshot embedded in the binary) and live (converted from EC2 and
//! Price List responses that the cloud provider fetches).
//!
//! Pure: no I/O, no clock. Time-dependent caches take the time as an argument.

pub mod model;

pub use model::{CapacityType, InstanceType, Offering, Overhead};
