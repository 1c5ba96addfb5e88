//! Karpenter's v1 API as Rust types: `karpenter.sh/v1` NodePool and NodeClaim and
//! `karpenter.k8s.aws/v1` EC2NodeClass, with the defaults the API server applies, the validation
//! Karpenter's CRDs and webhooks perform, and CRD generation.
//!
//! This crate is pure data: no I/O beyond (de)serialisation, no clock.

pub mod quantity;
