//! Decides where pending pods go: onto existing or in-flight nodes, or onto new NodeClaims from
//! the NodePools, with the instance types that fit.
//!
//! Pure: no I/O, no async, no clock. The same input always gives the same plan.

pub mod packing;
