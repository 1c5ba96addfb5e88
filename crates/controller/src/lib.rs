//! kube-rs controllers that wire the pure crates to a cluster: provisioning (batch, solve,
//! launch), the NodeClaim lifecycle (launch, register, initialize, liveness), termination (cordon,
//! drain, delete) and disruption, each a `reconcile` + `error_policy` pair sharing a `Context` of
//! clients and metrics.
//!
//! Nothing in this crate yet: the controllers arrive with the controller issue, once the
//! scheduler, catalog and cloud provider they drive exist.
