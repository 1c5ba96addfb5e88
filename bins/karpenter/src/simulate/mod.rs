//! `karpenter simulate`: what would the autoscaler do with these manifests?
//!
//! The manifests become a snapshot ([`input`]), the instance-type catalog is built for each
//! EC2NodeClass (its kubelet and volume settings change allocatable), the scheduler plans, and
//! each planned NodeClaim is launched through the simulated cloud provider at its cheapest
//! offering, retrying the next-cheapest one after insufficient capacity as the controller does.
//! The result is reported as a table, JSON or YAML ([`output`]). The contract is
//! `docs/simulate.md`: same inputs, same bytes; exit 0 when the simulation ran, 2 for invalid
//! input, 1 for anything else.

pub mod input;
pub mod nodeclass;
pub mod output;
pub mod parse;
pub mod workload;

use crate::manifest::{DecodeError, Document, LoadError, Location};
use input::Inputs;
use k8s_openapi::api::core::v1::{Pod, Taint};
use karpenter_api::quantity::{parse_milli, ResourceList};
use karpenter_api::{NodeClaim, NodePool};
use karpenter_catalog::{CapacityType, Catalog};
use karpenter_cloudprovider::{
    CloudProviderError, LaunchCandidates, LaunchRequest, OfferingKey, Requirement as CpRequirement,
    SimulatedCloudProvider,
};
use karpenter_scheduling::{
    ExistingNode, NodePoolInput, Plan, Requirement as SchedRequirement, SchedulerInput,
};
use output::{
    ExistingNodeOutput, Format, NodeClaimOutput, SimulationOutput, Summary, TaintOutput,
    UnschedulableOutput,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `karpenter simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Manifest file, directory (every *.yaml, *.yml, *.json below it) or `-` for standard input.
    /// Repeatable.
    #[arg(short = 'f', long = "filename", required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Instance-type catalog file replacing the built-in catalog (see docs/simulate.md).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Region of the built-in catalog.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// Why a simulation did not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// Manifests could not be read or parsed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A document is not a valid object of its kind.
    #[error(transparent)]
    Invalid(#[from] DecodeError),
    /// The scheduler rejected an object (a quantity it cannot read), naming object and field.
    #[error("{0}")]
    Scheduler(#[from] karpenter_scheduling::InputError),
    /// The `--catalog` file is invalid.
    #[error("{path}: {message}")]
    Catalog {
        /// The catalog file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Anything else (an unreadable catalog file, an unknown region, a provider failure).
    #[error("{0}")]
    Other(String),
}

impl SimulateError {
    /// The process exit code: 2 for invalid input, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            SimulateError::Load(e) if e.is_invalid_input() => 2,
            SimulateError::Invalid(_)
            | SimulateError::Catalog { .. }
            | SimulateError::Scheduler(_) => 2,
            _ => 1,
        }
    }
}

/// How long each phase took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Reading and parsing the manifests into YAML documents.
    pub parse: Duration,
    /// Typed decoding, validation and workload expansion.
    pub decode: Duration,
    /// Catalogs, node classes, pools, existing nodes: the rest of the scheduler's input.
    pub prepare: Duration,
    /// The scheduler alone.
    pub schedule: Duration,
    /// Launching through the simulated provider and building the result.
    pub launch: Duration,
}

/// A finished simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The result document.
    pub output: SimulationOutput,
    /// Warning lines for standard error (ignored kinds and the like).
    pub warnings: Vec<String>,
    /// Phase timings.
    pub timings: Timings,
}

/// Options of a simulation besides its manifests.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The text of a `--catalog` file and its path, replacing the built-in catalog.
    pub catalog: Option<(String, String)>,
    /// Region of the built-in catalog.
    pub region: String,
}

/// `karpenter simulate`: runs and prints, returning the exit code.
pub fn run(args: Args) -> ExitCode {
    let started = Instant::now();
    let catalog = match &args.catalog {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Some((p.display().to_string(), text)),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return ExitCode::from(1);
            }
        },
    };
    let opts = Options {
        catalog,
        region: args.region.clone(),
    };
    let docs = match parse::load_paths(&args.files) {
        Ok(docs) => docs,
        Err(e) => {
            let e = SimulateError::from(e);
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let parse = started.elapsed();
    let result = simulate_documents(&docs, &opts).map(|mut s| {
        s.timings.parse = parse;
        s
    });
    // The process ends right after printing: freeing tens of thousands of parsed documents one
    // by one would only delay the exit.
    std::mem::forget(docs);
    match result {
        Ok(sim) => {
            for w in &sim.warnings {
                eprintln!("{w}");
            }
            tracing::info!(
                parse_ms = sim.timings.parse.as_millis() as u64,
                decode_ms = sim.timings.decode.as_millis() as u64,
                prepare_ms = sim.timings.prepare.as_millis() as u64,
                schedule_ms = sim.timings.schedule.as_millis() as u64,
                launch_ms = sim.timings.launch.as_millis() as u64,
                "simulation finished"
            );
            match output::render(&sim.output, args.output) {
                Ok(text) => {
                    use std::io::Write;
                    let mut stdout = std::io::stdout().lock();
                    if stdout
                        .write_all(text.as_bytes())
                        .and_then(|_| stdout.flush())
                        .is_err()
                    {
                        return ExitCode::from(1);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: rendering output: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Simulates already-parsed documents.
pub fn simulate_documents(docs: &[Document], opts: &Options) -> Result<Simulation, SimulateError> {
    let t0 = Instant::now();
    let mut inputs = input::load(docs)?;
    let decode = t0.elapsed();
    let t0 = Instant::now();
    let mut warnings = inputs.warnings();
    let region = if opts.region.is_empty() {
        "us-east-1"
    } else {
        opts.region.as_str()
    };

    // One catalog per node class (its kubelet settings change allocatable), plus a base catalog
    // for pricing existing nodes.
    let build = |o: &karpenter_catalog::AllocatableOptions| -> Result<Catalog, SimulateError> {
        match &opts.catalog {
            Some((path, text)) => {
                karpenter_catalog::parse_catalog_file_with(text, o).map_err(|e| {
                    SimulateError::Catalog {
                        path: path.clone(),
                        message: e.to_string(),
                    }
                })
            }
            None => Catalog::builtin(region, o).map_err(|e| SimulateError::Other(e.to_string())),
        }
    };
    let defaults = karpenter_catalog::AllocatableOptions::default();
    let mut class_catalogs: BTreeMap<String, Catalog> = BTreeMap::new();
    let mut base = None;
    for (loc, class) in &inputs.node_classes {
        let name = class.metadata.name.clone().unwrap_or_default();
        let o = nodeclass::allocatable_options(class).map_err(|e| DecodeError {
            location: loc.clone(),
            kind_name: format!("EC2NodeClass/{name}"),
            field: e.field,
            message: e.message,
        })?;
        let catalog = build(&o)?;
        if base.is_none() && o == defaults {
            base = Some(catalog.clone());
        }
        class_catalogs.insert(name, catalog);
    }
    let base = match base {
        Some(b) => b,
        None => build(&defaults)?,
    };
    let provider_region = if opts.catalog.is_some() {
        base.region.clone()
    } else {
        region.to_string()
    };
    let provider = SimulatedCloudProvider::new(provider_region);
    for (_, class) in &inputs.node_classes {
        let name = class.metadata.name.clone().unwrap_or_default();
        let catalog = &class_catalogs[&name];
        provider
            .register_node_class(
                &name,
                catalog.instance_types.clone(),
                nodeclass::image(class),
            )
            .map_err(|e| SimulateError::Other(e.to_string()))?;
        // Offerings the catalog marks unavailable are out of capacity in the simulated cloud: a
        // launch that tries one fails and the next-cheapest offering is tried.
        let ice = catalog.instance_types.iter().flat_map(|it| {
            it.offerings
                .iter()
                .filter(|o| !o.available)
                .map(|o| OfferingKey::new(&it.name, &o.zone, o.capacity_type))
        });
        provider
            .set_out_of_capacity(ice)
            .map_err(|e| SimulateError::Other(e.to_string()))?;
    }

    let mut pools = Vec::new();
    let mut pool_classes = Vec::new();
    for (loc, pool) in &inputs.node_pools {
        let (input, class) = pool_input(loc, pool, &class_catalogs)?;
        pools.push(input);
        pool_classes.push(class);
    }

    let (existing, existing_prices, unplaced_bound) =
        existing_nodes(&inputs, &base, &class_catalogs)?;
    if unplaced_bound > 0 {
        warnings.push(format!(
            "warning: ignoring {unplaced_bound} pod{} bound to nodes that are not in the input",
            if unplaced_bound == 1 { "" } else { "s" }
        ));
    }
    let pending = inputs.pending_pods.len();
    let sched_input = SchedulerInput {
        node_pools: pools,
        daemonsets: std::mem::take(&mut inputs.daemon_sets),
        existing_nodes: existing,
        pending_pods: std::mem::take(&mut inputs.pending_pods),
        persistent_volumes: std::mem::take(&mut inputs.persistent_volumes),
        persistent_volume_claims: std::mem::take(&mut inputs.persistent_volume_claims),
        storage_classes: std::mem::take(&mut inputs.storage_classes),
        ..Default::default()
    };
    let prepare = t0.elapsed();

    let t1 = Instant::now();
    let plan = karpenter_scheduling::schedule(&sched_input)?;
    let schedule = t1.elapsed();

    let t2 = Instant::now();
    let output = launch(
        &provider,
        &plan,
        &sched_input,
        &pool_classes,
        pending,
        existing_prices,
    )?;
    let launch = t2.elapsed();
    // Freeing the scheduler's input (every pending pod), the plan and the provider's instances
    // takes about as long as launching them; the result no longer needs them, so they are freed
    // on another thread while the caller renders (if that thread cannot start, right here).
    let scratch = (sched_input, plan, provider, inputs, class_catalogs, base);
    let _ = std::thread::Builder::new()
        .name("simulate-free".into())
        .spawn(move || drop(scratch));
    Ok(Simulation {
        output,
        warnings,
        timings: Timings {
            parse: Duration::ZERO,
            decode,
            prepare,
            schedule,
            launch,
        },
    })
}

fn sched_requirement(r: &karpenter_api::NodeSelectorRequirementWithMinValues) -> SchedRequirement {
    SchedRequirement {
        key: r.key.clone(),
        operator: karpenter_scheduling::Operator::parse(r.operator.as_str())
            .unwrap_or(karpenter_scheduling::Operator::In),
        values: r.values.clone(),
        min_values: r.min_values.and_then(|m| u32::try_from(m).ok()),
    }
}

fn cp_requirement(r: &SchedRequirement) -> CpRequirement {
    CpRequirement {
        key: r.key.clone(),
        operator: karpenter_cloudprovider::Operator::parse(r.operator.as_str())
            .unwrap_or(karpenter_cloudprovider::Operator::In),
        values: r.values.clone(),
    }
}

/// A NodePool as the scheduler's input, with its node class's instance types.
fn pool_input(
    loc: &Location,
    pool: &NodePool,
    catalogs: &BTreeMap<String, Catalog>,
) -> Result<(NodePoolInput, String), SimulateError> {
    let name = pool.metadata.name.clone().unwrap_or_default();
    let invalid = |field: &str, message: String| DecodeError {
        location: loc.clone(),
        kind_name: format!("NodePool/{name}"),
        field: field.to_string(),
        message,
    };
    let spec = &pool.spec.template.spec;
    let class = spec.node_class_ref.name.clone();
    let catalog = catalogs.get(&class).ok_or_else(|| {
        invalid(
            "spec.template.spec.nodeClassRef.name",
            format!("EC2NodeClass {class:?} is not in the input"),
        )
    })?;
    let limits = if pool.spec.limits.is_empty() {
        None
    } else {
        let mut l = ResourceList::new();
        for (k, q) in &pool.spec.limits {
            let v = parse_milli(&q.0)
                .map_err(|e| invalid(&format!("spec.limits.{k}"), e.to_string()))?;
            l.set(k.clone(), v);
        }
        Some(l)
    };
    Ok((
        NodePoolInput {
            name,
            weight: pool.spec.weight.unwrap_or(0),
            requirements: spec.requirements.iter().map(sched_requirement).collect(),
            labels: pool.spec.template.metadata.labels.clone(),
            taints: spec.taints.clone(),
            startup_taints: spec.startup_taints.clone(),
            limits,
            instance_types: catalog.instance_types.clone(),
        },
        class,
    ))
}

/// The hourly price of a node from its well-known labels, when the catalog knows its type.
fn node_price(labels: &BTreeMap<String, String>, catalog: &Catalog) -> Option<f64> {
    let it = catalog.get(labels.get("node.kubernetes.io/instance-type")?)?;
    let ct = labels
        .get("karpenter.sh/capacity-type")
        .and_then(|c| CapacityType::parse(c))
        .unwrap_or(CapacityType::OnDemand);
    let zone = labels.get("topology.kubernetes.io/zone");
    it.offerings
        .iter()
        .filter(|o| o.capacity_type == ct)
        .filter(|o| zone.is_none_or(|z| &o.zone == z))
        .map(|o| o.price)
        .min_by(f64::total_cmp)
        .or_else(|| it.cheapest(ct).map(|o| o.price))
}

/// Nodes and in-flight NodeClaims with their bound pods; the sum of the prices that are known;
/// how many bound pods name no known node.
fn existing_nodes(
    inputs: &Inputs,
    base: &Catalog,
    class_catalogs: &BTreeMap<String, Catalog>,
) -> Result<(Vec<ExistingNode>, f64, usize), SimulateError> {
    let mut by_node: BTreeMap<&str, Vec<Pod>> = BTreeMap::new();
    for p in &inputs.bound_pods {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            by_node.entry(n).or_default().push(p.clone());
        }
    }
    let mut out = Vec::new();
    let mut price = 0.0;
    for node in &inputs.nodes {
        let name = node.metadata.name.as_deref().unwrap_or("");
        let pods = by_node.remove(name).unwrap_or_default();
        let en = ExistingNode::from_node(node, pods)?;
        price += node_price(&en.labels, base).unwrap_or(0.0);
        out.push(en);
    }
    for (loc, claim) in &inputs.node_claims {
        let (en, p) = in_flight(loc, claim, &mut by_node, base, class_catalogs)?;
        price += p.unwrap_or(0.0);
        out.push(en);
    }
    let unplaced = by_node.values().map(Vec::len).sum();
    Ok((out, price, unplaced))
}

/// An in-flight NodeClaim as an existing node: its labels (plus requirements pinned to one
/// value), taints, and allocatable from its status, else from its instance type, else its
/// resource requests.
fn in_flight(
    loc: &Location,
    claim: &NodeClaim,
    by_node: &mut BTreeMap<&str, Vec<Pod>>,
    base: &Catalog,
    class_catalogs: &BTreeMap<String, Catalog>,
) -> Result<(ExistingNode, Option<f64>), SimulateError> {
    let name = claim.metadata.name.clone().unwrap_or_default();
    let mut labels = claim.metadata.labels.clone().unwrap_or_default();
    for r in &claim.spec.requirements {
        if let (karpenter_api::Operator::In, [v]) = (r.operator, r.values.as_slice()) {
            labels.entry(r.key.clone()).or_insert_with(|| v.clone());
        }
    }
    let parse =
        |field: &str,
         m: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>| {
            let mut l = ResourceList::new();
            for (k, q) in m {
                let v = parse_milli(&q.0).map_err(|e| DecodeError {
                    location: loc.clone(),
                    kind_name: format!("NodeClaim/{name}"),
                    field: format!("{field}.{k}"),
                    message: e.to_string(),
                })?;
                l.set(k.clone(), v);
            }
            Ok::<_, SimulateError>(l)
        };
    let status = claim.status.clone().unwrap_or_default();
    let catalog = class_catalogs
        .get(&claim.spec.node_class_ref.name)
        .unwrap_or(base);
    let type_info = labels
        .get("node.kubernetes.io/instance-type")
        .and_then(|t| catalog.get(t));
    let mut allocatable = parse("status.allocatable", &status.allocatable)?;
    if allocatable.0.is_empty() {
        allocatable = match type_info {
            Some(it) => it.allocatable(),
            None => parse("spec.resources.requests", &claim.spec.resources.requests)?,
        };
    }
    let mut capacity = parse("status.capacity", &status.capacity)?;
    if capacity.0.is_empty() {
        capacity = type_info
            .map(|it| it.capacity.clone())
            .unwrap_or_else(|| allocatable.clone());
    }
    let mut pods = by_node.remove(name.as_str()).unwrap_or_default();
    if let Some(node_name) = status.node_name.as_deref() {
        pods.extend(by_node.remove(node_name).unwrap_or_default());
    }
    let price = node_price(&labels, catalog);
    let node_pool = labels.get("karpenter.sh/nodepool").cloned();
    Ok((
        ExistingNode {
            name,
            labels,
            taints: claim.spec.taints.clone(),
            allocatable,
            capacity,
            pods,
            in_flight: true,
            node_pool,
        },
        price,
    ))
}

fn taint_output(t: &Taint) -> TaintOutput {
    TaintOutput {
        key: t.key.clone(),
        value: t.value.clone(),
        effect: t.effect.clone(),
    }
}

/// Launches every planned NodeClaim through the provider and builds the result document.
fn launch(
    provider: &SimulatedCloudProvider,
    plan: &Plan,
    input: &SchedulerInput,
    pool_classes: &[String],
    pending: usize,
    existing_price: f64,
) -> Result<SimulationOutput, SimulateError> {
    let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
    // Each retry rules out one offering, so a pool's offering count bounds the attempts.
    let offerings_per_pool: Vec<usize> = input
        .node_pools
        .iter()
        .map(|p| p.instance_types.iter().map(|t| t.offerings.len()).sum())
        .collect();
    let mut out = SimulationOutput::default();
    let mut launched_pods = 0;
    let mut cost = 0.0;
    // Claims with the same instance-type options (the scheduler shares one list between them),
    // pool and requirements launch from the same candidate offerings: the request's
    // requirements are built and evaluated once per such group, not once per claim.
    type Group = (Vec<SchedRequirement>, LaunchRequest, LaunchCandidates);
    let mut groups: HashMap<(usize, usize), Vec<Group>> = HashMap::new();
    for claim in &plan.new_node_claims {
        let n = counters.entry(claim.node_pool.as_str()).or_insert(0);
        *n += 1;
        let name = format!("{}-{}", claim.node_pool, n);
        let options_id = claim.instance_types.as_ptr() as usize;
        let same = groups
            .entry((options_id, claim.node_pool_index))
            .or_default();
        let at = match same.iter().position(|g| g.0 == claim.requirements) {
            Some(at) => at,
            None => {
                let mut requirements: Vec<CpRequirement> =
                    claim.requirements.iter().map(cp_requirement).collect();
                requirements.push(CpRequirement {
                    key: "node.kubernetes.io/instance-type".into(),
                    operator: karpenter_cloudprovider::Operator::In,
                    values: claim
                        .instance_types
                        .iter()
                        .map(|o| o.name.clone())
                        .collect(),
                });
                let request = LaunchRequest {
                    name: String::new(),
                    node_pool: claim.node_pool.clone(),
                    node_class: pool_classes
                        .get(claim.node_pool_index)
                        .cloned()
                        .unwrap_or_default(),
                    requirements,
                    labels: BTreeMap::new(),
                    resources: ResourceList::new(),
                };
                let candidates = provider
                    .launch_candidates(&request.node_class, &request.requirements)
                    .map_err(|e| SimulateError::Other(e.to_string()))?;
                same.push((claim.requirements.clone(), request, candidates));
                same.len() - 1
            }
        };
        let (_, request, candidates) = &mut same[at];
        request.name.clone_from(&name);
        request.labels.clone_from(&claim.labels);
        request.resources.clone_from(&claim.requests);
        let offerings = offerings_per_pool
            .get(claim.node_pool_index)
            .copied()
            .unwrap_or(0);
        let mut result = provider.create_with(request, candidates);
        let mut attempts = 1;
        while matches!(&result, Err(e) if e.is_insufficient_capacity() && !is_exhausted(e))
            && attempts <= offerings
        {
            result = provider.create_with(request, candidates);
            attempts += 1;
        }
        match result {
            Ok(instance) => {
                cost += instance.price;
                launched_pods += claim.pods.len();
                out.node_claims.push(NodeClaimOutput {
                    name,
                    node_pool: claim.node_pool.clone(),
                    instance_type: instance.instance_type,
                    capacity_type: instance.capacity_type.as_str().to_string(),
                    zone: instance.zone,
                    price_per_hour: instance.price,
                    instance_type_options: claim.instance_types.len(),
                    labels: instance.labels,
                    taints: claim.taints.iter().map(taint_output).collect(),
                    allocatable: instance.allocatable.to_strings(),
                    requests: claim.requests.to_strings(),
                    pods: claim.pods.clone(),
                });
            }
            Err(e) => {
                for pod in &claim.pods {
                    out.unschedulable.push(UnschedulableOutput {
                        pod: pod.clone(),
                        reason: format!(
                            "nodeclaim {name} of nodepool {} could not launch: {e}",
                            claim.node_pool
                        ),
                    });
                }
            }
        }
    }
    let mut existing_scheduled = 0;
    for p in &plan.existing_placements {
        existing_scheduled += p.pods.len();
        out.existing_nodes.push(ExistingNodeOutput {
            name: p.node.clone(),
            pods: p.pods.clone(),
        });
    }
    out.unschedulable
        .extend(plan.unschedulable.iter().map(|u| UnschedulableOutput {
            pod: u.pod.clone(),
            reason: u.reason.clone(),
        }));
    tracing::debug!(
        claims = plan.new_node_claims.len(),
        candidate_lists = groups.values().map(Vec::len).sum::<usize>(),
        "launched"
    );
    let (_, ice) = provider
        .launch_stats()
        .map_err(|e| SimulateError::Other(e.to_string()))?;
    out.summary = Summary {
        pods: pending,
        scheduled: launched_pods + existing_scheduled,
        new_nodes: out.node_claims.len(),
        cost_per_hour: output::round_price(cost + existing_price),
        lower_bound_per_hour: output::round_price(plan.lower_bound_per_hour + existing_price),
        insufficient_capacity_retries: ice,
    };
    Ok(out)
}

/// Insufficient capacity with no offering named: nothing compatible is left to try.
fn is_exhausted(e: &CloudProviderError) -> bool {
    matches!(e, CloudProviderError::InsufficientCapacity { offerings, .. } if offerings.is_empty())
}
