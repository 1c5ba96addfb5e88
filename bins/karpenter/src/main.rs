//! `karpenter`: the command line of karpenter-rs.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// karpenter-rs: a Kubernetes node autoscaler for EKS that speaks Karpenter's v1 API.
#[derive(Parser)]
#[command(name = "karpenter", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // One variant per subcommand, each `Name(karpenter::cmd::name::Args)`.
    /// List instance types with allocatable and prices, filtered by NodePool requirements.
    Catalog(karpenter::cmd::catalog::Args),
    /// Print the NodePool, NodeClaim and EC2NodeClass CRDs generated from the API types.
    Crds(karpenter::cmd::crds::Args),
    /// Validate NodePools, NodeClaims and EC2NodeClasses in manifests (exit 2 when invalid).
    Validate(karpenter::cmd::validate::Args),
    /// Simulate provisioning offline: what would launch, what it costs, what stays pending.
    Simulate(karpenter::simulate::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        // One arm per subcommand: `Command::Name(args) => karpenter::cmd::name::run(args),`
        Command::Catalog(args) => karpenter::cmd::catalog::run(args),
        Command::Crds(args) => karpenter::cmd::crds::run(args),
        Command::Validate(args) => karpenter::cmd::validate::run(args),
        Command::Simulate(args) => karpenter::simulate::run(args),
    }
}
