//! One module per `karpenter` subcommand. Each exposes an `Args` (clap) and a `run` returning the
//! process exit code.

pub mod catalog;
pub mod crds;
pub mod validate;
