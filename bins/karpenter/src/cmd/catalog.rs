//! `karpenter catalog`: list instance types with allocatable and the cheapest on-demand and spot
//! prices, filtered by NodePool-style requirements.
//!
//! ```text
//! karpenter catalog [--region R] [--requirement 'KEY OP VALUES']... [--catalog FILE]
//!                   [--node-class FILE] [--output table|json]
//! ```
//!
//! Exit status: 0 on success, 2 for invalid input (requirement, region, catalog file), 1 for
//! any other failure.

use clap::{Args as ClapArgs, ValueEnum};
use karpenter_api::quantity::format_milli;
use karpenter_catalog::{
    parse_catalog_file, AllocatableOptions, CapacityType, Catalog, InstanceType, Requirement,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// One JSON document: region, price source and one object per instance type.
    Json,
}

/// Arguments of `karpenter catalog`.
#[derive(Debug, Clone, ClapArgs)]
#[command(
    about = "List instance types with allocatable and the cheapest on-demand and spot prices",
    long_about = "List the built-in instance-type catalog of a region (or a --catalog file) with \
                  capacity, allocatable and the cheapest on-demand and spot prices, filtered by \
                  NodePool-style requirements. Built-in prices are a dated snapshot, not live prices."
)]
pub struct Args {
    /// AWS region of the built-in catalog.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// A NodePool-style requirement, `KEY OPERATOR [VALUES]`, e.g.
    /// 'karpenter.k8s.aws/instance-category In c,m,r' or 'karpenter.k8s.aws/instance-cpu Lt 33'.
    /// Repeat for several; all must hold.
    #[arg(long = "requirement", short = 'r', value_name = "KEY OP VALUES")]
    pub requirements: Vec<String>,
    /// Use this catalog file (the `simulate --catalog` format) instead of the built-in catalog.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<std::path::PathBuf>,
    /// An EC2NodeClass manifest (YAML, the first EC2NodeClass document is used) whose kubelet
    /// settings and block device mappings change capacity and allocatable.
    #[arg(long, value_name = "FILE")]
    pub node_class: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: Output,
}

/// The allocatable options of the first EC2NodeClass in a YAML file.
fn node_class_options(path: &std::path::Path) -> Result<AllocatableOptions, CatalogCmdError> {
    use serde::Deserialize as _;
    let input = |m: String| CatalogCmdError::Input(format!("--node-class {}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| input(e.to_string()))?;
    for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let value =
            serde_yaml::Value::deserialize(doc).map_err(|e| input(format!("document {i}: {e}")))?;
        if value.get("kind").and_then(|k| k.as_str()) != Some("EC2NodeClass") {
            continue;
        }
        let nc: karpenter_api::EC2NodeClass = serde_yaml::from_value(value)
            .map_err(|e| input(format!("document {i} (EC2NodeClass): {e}")))?;
        return AllocatableOptions::from_node_class(&nc)
            .map_err(|e| input(format!("document {i}: {e}")));
    }
    Err(input("no EC2NodeClass document".to_string()))
}

/// Why the command failed: invalid input (exit 2) or anything else (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CatalogCmdError {
    /// A bad requirement, region or catalog file.
    #[error("{0}")]
    Input(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Loads the catalog the arguments name and renders it.
pub fn render(args: &Args) -> Result<String, CatalogCmdError> {
    let reqs = args
        .requirements
        .iter()
        .map(|r| {
            Requirement::parse(r).map_err(|e| CatalogCmdError::Input(format!("--requirement: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let catalog = match &args.catalog {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CatalogCmdError::Input(format!("--catalog {}: {e}", path.display()))
            })?;
            parse_catalog_file(&text)
                .map_err(|e| CatalogCmdError::Input(format!("{}: {e}", path.display())))?
        }
        None => {
            let opts = match &args.node_class {
                Some(path) => node_class_options(path)?,
                None => AllocatableOptions::default(),
            };
            Catalog::builtin(&args.region, &opts)
                .map_err(|e| CatalogCmdError::Input(format!("--region: {e}")))?
        }
    };
    let mut catalog = catalog.into_filtered(&reqs);
    catalog.instance_types.sort_by_cached_key(sort_key);
    let types = &catalog.instance_types;
    match args.output {
        Output::Table => Ok(table(&catalog, types)),
        Output::Json => serde_json::to_string_pretty(&document(&catalog, types))
            .map(|s| s + "\n")
            .map_err(|e| CatalogCmdError::Other(format!("encoding JSON: {e}"))),
    }
}

/// Runs the command, printing to standard output.
pub fn run(args: Args) -> ExitCode {
    match render(&args) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                CatalogCmdError::Input(_) => 2,
                CatalogCmdError::Other(_) => 1,
            })
        }
    }
}

/// Family, then size by cpu and memory, then name: `m5.large` … `m5.24xlarge`, `m5.metal`.
fn sort_key(it: &InstanceType) -> (String, i64, i64, String) {
    (
        it.labels
            .get("karpenter.k8s.aws/instance-family")
            .cloned()
            .unwrap_or_else(|| it.name.clone()),
        it.capacity.get("cpu"),
        it.capacity.get("memory"),
        it.name.clone(),
    )
}

fn price(it: &InstanceType, ct: CapacityType) -> Option<f64> {
    it.cheapest(ct).map(|o| o.price)
}

fn fmt_price(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.4}"))
        .unwrap_or_else(|| "-".to_string())
}

fn table(catalog: &Catalog, types: &[InstanceType]) -> String {
    let header = [
        "NAME",
        "ARCH",
        "CPU",
        "MEMORY",
        "PODS",
        "ALLOC CPU",
        "ALLOC MEMORY",
        "GPU",
        "ZONES",
        "ON-DEMAND $/H",
        "SPOT $/H",
    ];
    let rows: Vec<Vec<String>> = types
        .iter()
        .map(|it| {
            let alloc = it.allocatable();
            let gpus: i64 = [
                "nvidia.com/gpu",
                "amd.com/gpu",
                "aws.amazon.com/neuron",
                "habana.ai/gaudi",
            ]
            .iter()
            .map(|r| it.capacity.get(r))
            .sum();
            let zones: std::collections::BTreeSet<&str> = it
                .offerings
                .iter()
                .filter(|o| o.available)
                .map(|o| o.zone.as_str())
                .collect();
            vec![
                it.name.clone(),
                it.labels
                    .get("kubernetes.io/arch")
                    .cloned()
                    .unwrap_or_default(),
                format_milli("cpu", it.capacity.get("cpu")),
                format_milli("memory", it.capacity.get("memory")),
                format_milli("pods", it.capacity.get("pods")),
                format_milli("cpu", alloc.get("cpu")),
                format_milli("memory", alloc.get("memory")),
                if gpus > 0 {
                    format_milli("gpu", gpus)
                } else {
                    "-".to_string()
                },
                zones.len().to_string(),
                fmt_price(price(it, CapacityType::OnDemand)),
                fmt_price(price(it, CapacityType::Spot)),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&mut out, &header.map(String::from));
    for r in &rows {
        line(&mut out, r);
    }
    let _ = writeln!(
        out,
        "\n{} instance types in {}; {}.",
        types.len(),
        catalog.region,
        catalog.prices.describe()
    );
    out
}

fn document(catalog: &Catalog, types: &[InstanceType]) -> Value {
    let rows: Vec<Value> = types
        .iter()
        .map(|it| {
            json!({
                "name": it.name,
                "capacity": it.capacity.to_strings(),
                "allocatable": it.allocatable().to_strings(),
                "overhead": {
                    "kubeReserved": it.overhead.kube_reserved.to_strings(),
                    "systemReserved": it.overhead.system_reserved.to_strings(),
                    "evictionThreshold": it.overhead.eviction_threshold.to_strings(),
                },
                "labels": it.labels.iter().collect::<BTreeMap<_, _>>(),
                "cheapestOnDemandPerHour": price(it, CapacityType::OnDemand),
                "cheapestSpotPerHour": price(it, CapacityType::Spot),
                "offerings": it.offerings,
            })
        })
        .collect();
    json!({
        "region": catalog.region,
        "prices": catalog.prices.describe(),
        "count": rows.len(),
        "instanceTypes": rows,
    })
}
