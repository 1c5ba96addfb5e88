//! The `CloudProvider` trait the controller launches and deletes capacity through, the in-memory
//! simulated provider used by `karpenter simulate` and tests, and (later) the EC2 provider.
