//! An in-memory cloud provider: launches are bookkeeping, ids come from a counter, and capacity
//! shortages are whatever the caller says they are.
//!
//! Each node class is registered with the instance types it can launch (their allocatable
//! already reflects its kubelet settings) and the image it resolves to. A launch picks the
//! cheapest offering the claim allows — lowest price, then instance-type name, zone and capacity
//! type — as EC2 Fleet does with the lowest-price strategy. Offerings marked out of capacity fail
//! with [`CloudProviderError::InsufficientCapacity`] the first time they are tried and are then
//! remembered as unavailable, so the caller's retry moves on to the next-cheapest offering, as
//! Karpenter's unavailable-offerings cache makes it do.

use crate::{
    CloudProvider, CloudProviderError, DriftReason, Instance, LaunchRequest, OfferingKey,
    LABEL_CAPACITY_TYPE, LABEL_INSTANCE_TYPE, LABEL_NODECLASS, LABEL_NODEPOOL, LABEL_ZONE,
    LABEL_ZONE_ID,
};
use async_trait::async_trait;
use karpenter_api::quantity::ResourceList;
use karpenter_catalog::{InstanceType, Offering};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// A node class as the simulated provider knows it.
#[derive(Debug, Clone)]
struct NodeClassState {
    instance_types: Vec<InstanceType>,
    /// Instance type name → index in `instance_types`.
    by_name: HashMap<String, usize>,
    /// Each instance type's allocatable, computed once.
    allocatable: Vec<ResourceList>,
    image: String,
    /// Every label key an instance type or offering of this class can carry.
    known_keys: BTreeSet<String>,
    /// Every (instance type index, offering index), best first: launch candidates are this
    /// order filtered by a request's requirements.
    order: Vec<(usize, usize)>,
    /// Changes each time a class of this name is registered, so candidates computed for an
    /// earlier registration are recognised as stale.
    generation: u64,
}

/// The offerings a launch may use, best first (lowest price, then instance-type name, zone and
/// capacity type), from [`SimulatedCloudProvider::launch_candidates`].
///
/// Computing them once and launching many NodeClaims with the same node class and requirements
/// through [`SimulatedCloudProvider::create_with`] avoids evaluating the requirements against
/// every instance type and offering on each launch. Resource fit and offerings learned to be
/// unavailable are still checked at each launch, so the result is exactly that of
/// [`CloudProvider::create`].
#[derive(Debug, Clone)]
pub struct LaunchCandidates {
    node_class: String,
    generation: u64,
    /// (instance type index, offering index), best first.
    order: Vec<(usize, usize)>,
}

impl LaunchCandidates {
    /// How many offerings the requirements allow (before resource fit and availability).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the requirements allow no offering at all.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[derive(Debug, Default)]
struct State {
    node_classes: BTreeMap<String, NodeClassState>,
    /// Registrations so far; each node class records the count at its registration.
    registrations: u64,
    ledger: Ledger,
}

/// What launches change: capacity knowledge, instances, counters.
#[derive(Debug, Default)]
struct Ledger {
    /// Offerings that fail when tried (the cloud's truth, set by the caller).
    out_of_capacity: BTreeSet<OfferingKey>,
    /// Offerings that failed and are skipped from now on (what the provider has learned).
    unavailable: BTreeSet<OfferingKey>,
    instances: BTreeMap<String, Instance>,
    next_id: u64,
    launch_attempts: u64,
    insufficient_capacity_errors: u64,
}

/// The simulated provider. Deterministic: the same calls in the same order give the same
/// instances and ids.
#[derive(Debug)]
pub struct SimulatedCloudProvider {
    region: String,
    state: Mutex<State>,
}

impl SimulatedCloudProvider {
    /// An empty provider for a region (used in the `topology.kubernetes.io/region` label).
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            state: Mutex::new(State::default()),
        }
    }

    /// Registers (or replaces) a node class, making it ready: the instance types it launches
    /// and the image it resolves to.
    pub fn register_node_class(
        &self,
        name: impl Into<String>,
        instance_types: Vec<InstanceType>,
        image: impl Into<String>,
    ) -> Result<(), CloudProviderError> {
        let mut known_keys: BTreeSet<String> = [
            LABEL_INSTANCE_TYPE,
            LABEL_ZONE,
            LABEL_CAPACITY_TYPE,
            crate::LABEL_ARCH,
            crate::LABEL_OS,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for it in &instance_types {
            known_keys.extend(it.labels.keys().cloned());
            if it.offerings.iter().any(|o| o.zone_id.is_some()) {
                known_keys.insert(LABEL_ZONE_ID.to_string());
            }
        }
        let by_name = instance_types
            .iter()
            .enumerate()
            .map(|(i, it)| (it.name.clone(), i))
            .collect();
        let allocatable = instance_types
            .iter()
            .map(InstanceType::allocatable)
            .collect();
        let mut order: Vec<(usize, usize)> = instance_types
            .iter()
            .enumerate()
            .flat_map(|(i, it)| (0..it.offerings.len()).map(move |j| (i, j)))
            .collect();
        order.sort_by(|&(ia, ja), &(ib, jb)| {
            let (ta, tb) = (&instance_types[ia], &instance_types[ib]);
            offering_order((ta, &ta.offerings[ja]), (tb, &tb.offerings[jb]))
        });
        let mut state = self.lock()?;
        state.registrations += 1;
        let generation = state.registrations;
        state.node_classes.insert(
            name.into(),
            NodeClassState {
                by_name,
                allocatable,
                instance_types,
                image: image.into(),
                known_keys,
                order,
                generation,
            },
        );
        Ok(())
    }

    /// Changes the image a registered node class resolves to; instances booted from the old
    /// image become drifted.
    pub fn set_image(
        &self,
        node_class: &str,
        image: impl Into<String>,
    ) -> Result<(), CloudProviderError> {
        let mut state = self.lock()?;
        let class = state
            .node_classes
            .get_mut(node_class)
            .ok_or_else(|| not_ready(node_class))?;
        class.image = image.into();
        Ok(())
    }

    /// Declares offerings out of capacity: launching at them fails with insufficient capacity.
    pub fn set_out_of_capacity(
        &self,
        offerings: impl IntoIterator<Item = OfferingKey>,
    ) -> Result<(), CloudProviderError> {
        self.lock()?.ledger.out_of_capacity.extend(offerings);
        Ok(())
    }

    /// Offerings that failed with insufficient capacity and are no longer tried.
    pub fn unavailable_offerings(&self) -> Result<Vec<OfferingKey>, CloudProviderError> {
        Ok(self.lock()?.ledger.unavailable.iter().cloned().collect())
    }

    /// How many launches were attempted, and how many of them failed for lack of capacity.
    pub fn launch_stats(&self) -> Result<(u64, u64), CloudProviderError> {
        let s = self.lock()?;
        Ok((
            s.ledger.launch_attempts,
            s.ledger.insufficient_capacity_errors,
        ))
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, CloudProviderError> {
        self.state
            .lock()
            .map_err(|_| CloudProviderError::Other("simulated provider state is poisoned".into()))
    }

    /// The offerings a node class may launch for these requirements, best first, to launch any
    /// number of requests with the same node class and requirements through
    /// [`SimulatedCloudProvider::create_with`].
    pub fn launch_candidates(
        &self,
        node_class: &str,
        requirements: &[crate::Requirement],
    ) -> Result<LaunchCandidates, CloudProviderError> {
        let state = self.lock()?;
        let class = state
            .node_classes
            .get(node_class)
            .ok_or_else(|| not_ready(node_class))?;
        let filter = RequirementFilter::new(class, requirements);
        let mut allowed = vec![false; class.instance_types.len()];
        for &i in &filter.indices {
            allowed[i] = filter.type_ok(&class.instance_types[i]);
        }
        let order = class
            .order
            .iter()
            .copied()
            .filter(|&(i, j)| {
                allowed[i] && filter.offering_ok(&class.instance_types[i].offerings[j])
            })
            .collect();
        Ok(LaunchCandidates {
            node_class: node_class.to_string(),
            generation: class.generation,
            order,
        })
    }

    /// Launches a request at the first of `candidates` its resources fit and that is not known
    /// to be unavailable: the same instance, error and bookkeeping as [`CloudProvider::create`],
    /// provided `candidates` were computed for the request's node class and requirements. When
    /// they were computed for another node class, or before the class was registered again,
    /// the request is evaluated from scratch.
    pub fn create_with(
        &self,
        request: &LaunchRequest,
        candidates: &LaunchCandidates,
    ) -> Result<Instance, CloudProviderError> {
        let mut state = self.lock()?;
        let state = &mut *state;
        let class = state
            .node_classes
            .get(&request.node_class)
            .ok_or_else(|| not_ready(&request.node_class))?;
        let chosen = if candidates.node_class == request.node_class
            && candidates.generation == class.generation
        {
            // A type that does not fit fails for all its offerings; remember it.
            let mut last_unfit = None;
            candidates.order.iter().find_map(|&(i, j)| {
                if last_unfit == Some(i) {
                    return None;
                }
                if !request.resources.fits_in(&class.allocatable[i]) {
                    last_unfit = Some(i);
                    return None;
                }
                let it = &class.instance_types[i];
                let o = &it.offerings[j];
                let unavailable = !state.ledger.unavailable.is_empty()
                    && state.ledger.unavailable.contains(&OfferingKey::new(
                        &it.name,
                        &o.zone,
                        o.capacity_type,
                    ));
                (!unavailable).then_some((it, o))
            })
        } else {
            Self::cheapest(class, request, &state.ledger.unavailable)
        };
        Self::launch_at(
            &self.region,
            &mut state.ledger,
            class,
            &request.node_class,
            request,
            chosen,
        )
    }

    /// The offering a request launches at: the cheapest compatible one (ties by type, zone,
    /// capacity type), skipping ones already known to be unavailable.
    fn cheapest<'a>(
        class: &'a NodeClassState,
        request: &LaunchRequest,
        unavailable: &BTreeSet<OfferingKey>,
    ) -> Option<(&'a InstanceType, &'a Offering)> {
        let filter = RequirementFilter::new(class, &request.requirements);
        let mut best: Option<(&InstanceType, &Offering)> = None;
        for &i in &filter.indices {
            let it = &class.instance_types[i];
            if !filter.type_ok(it) || !request.resources.fits_in(&class.allocatable[i]) {
                continue;
            }
            for o in &it.offerings {
                if best.is_some_and(|b| !offering_order((it, o), b).is_lt()) {
                    continue;
                }
                if filter.offering_ok(o)
                    && (unavailable.is_empty()
                        || !unavailable.contains(&OfferingKey::new(
                            &it.name,
                            &o.zone,
                            o.capacity_type,
                        )))
                {
                    best = Some((it, o));
                }
            }
        }
        best
    }

    /// Records a launch attempt at `chosen` (`None`: nothing compatible is left) and, unless the
    /// offering is out of capacity, the instance.
    fn launch_at(
        region: &str,
        ledger: &mut Ledger,
        class: &NodeClassState,
        node_class: &str,
        request: &LaunchRequest,
        chosen: Option<(&InstanceType, &Offering)>,
    ) -> Result<Instance, CloudProviderError> {
        ledger.launch_attempts += 1;
        let Some((it, offering)) = chosen else {
            ledger.insufficient_capacity_errors += 1;
            return Err(CloudProviderError::InsufficientCapacity {
                claim: request.name.clone(),
                offerings: Vec::new(),
            });
        };
        let key = OfferingKey::new(&it.name, &offering.zone, offering.capacity_type);
        if ledger.out_of_capacity.contains(&key) {
            tracing::debug!(claim = %request.name, offering = %key, "insufficient capacity");
            ledger.insufficient_capacity_errors += 1;
            ledger.unavailable.insert(key.clone());
            return Err(CloudProviderError::InsufficientCapacity {
                claim: request.name.clone(),
                offerings: vec![key],
            });
        }
        ledger.next_id += 1;
        let provider_id = format!("sim:///{}/i-{:017x}", offering.zone, ledger.next_id);
        let mut labels = request.labels.clone();
        for r in &request.requirements {
            if let Some(v) = r.single_value() {
                labels.insert(r.key.clone(), v.to_string());
            }
        }
        labels.extend(it.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        labels.insert(LABEL_INSTANCE_TYPE.into(), it.name.clone());
        labels
            .entry(crate::LABEL_ARCH.into())
            .or_insert_with(|| "amd64".into());
        labels
            .entry(crate::LABEL_OS.into())
            .or_insert_with(|| "linux".into());
        labels.insert(LABEL_ZONE.into(), offering.zone.clone());
        if let Some(zone_id) = &offering.zone_id {
            labels.insert(LABEL_ZONE_ID.into(), zone_id.clone());
        }
        if !region.is_empty() {
            labels.insert(crate::LABEL_REGION.into(), region.to_string());
        }
        labels.insert(
            LABEL_CAPACITY_TYPE.into(),
            offering.capacity_type.as_str().into(),
        );
        labels.insert(LABEL_NODEPOOL.into(), request.node_pool.clone());
        labels.insert(LABEL_NODECLASS.into(), node_class.to_string());
        let instance = Instance {
            provider_id: provider_id.clone(),
            name: request.name.clone(),
            node_pool: request.node_pool.clone(),
            node_class: node_class.to_string(),
            instance_type: it.name.clone(),
            zone: offering.zone.clone(),
            capacity_type: offering.capacity_type,
            price: offering.price,
            capacity: it.capacity.clone(),
            allocatable: it.allocatable(),
            labels,
            image: class.image.clone(),
        };
        ledger.instances.insert(provider_id, instance.clone());
        Ok(instance)
    }
}

/// The launch order of offerings: lowest price, then instance-type name, zone, capacity type.
fn offering_order(
    (ta, oa): (&InstanceType, &Offering),
    (tb, ob): (&InstanceType, &Offering),
) -> std::cmp::Ordering {
    oa.price
        .total_cmp(&ob.price)
        .then_with(|| ta.name.cmp(&tb.name))
        .then_with(|| oa.zone.cmp(&ob.zone))
        .then_with(|| oa.capacity_type.cmp(&ob.capacity_type))
}

/// A request's requirements split for evaluation against one node class: the instance types an
/// `In` list names (else all), the other requirements on type labels, and those on offerings.
struct RequirementFilter<'a> {
    indices: Vec<usize>,
    type_reqs: Vec<&'a crate::Requirement>,
    offering_reqs: Vec<&'a crate::Requirement>,
}

impl<'a> RequirementFilter<'a> {
    fn new(class: &NodeClassState, requirements: &'a [crate::Requirement]) -> Self {
        // An `In` list of instance types (what a scheduled claim carries) is looked up by name
        // rather than compared against every type.
        let named = requirements
            .iter()
            .position(|r| r.key == LABEL_INSTANCE_TYPE && r.operator == crate::Operator::In);
        let indices: Vec<usize> = match named {
            Some(i) => {
                let mut v: Vec<usize> = requirements[i]
                    .values
                    .iter()
                    .filter_map(|n| class.by_name.get(n).copied())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            }
            None => (0..class.instance_types.len()).collect(),
        };
        let type_reqs = requirements
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                Some(*i) != named && !is_offering_key(&r.key) && class.known_keys.contains(&r.key)
            })
            .map(|(_, r)| r)
            .collect();
        let offering_reqs = requirements
            .iter()
            .filter(|r| is_offering_key(&r.key) && class.known_keys.contains(&r.key))
            .collect();
        Self {
            indices,
            type_reqs,
            offering_reqs,
        }
    }

    fn type_ok(&self, it: &InstanceType) -> bool {
        self.type_reqs.iter().all(|r| {
            let v = it.labels.get(&r.key).map(String::as_str);
            r.matches_value(if r.key == LABEL_INSTANCE_TYPE {
                v.or(Some(&it.name))
            } else {
                v
            })
        })
    }

    fn offering_ok(&self, o: &Offering) -> bool {
        self.offering_reqs.iter().all(|r| {
            r.matches_value(match r.key.as_str() {
                LABEL_ZONE => Some(o.zone.as_str()),
                LABEL_CAPACITY_TYPE => Some(o.capacity_type.as_str()),
                _ => o.zone_id.as_deref(),
            })
        })
    }
}

fn is_offering_key(key: &str) -> bool {
    matches!(key, LABEL_ZONE | LABEL_CAPACITY_TYPE | LABEL_ZONE_ID)
}

fn not_ready(node_class: &str) -> CloudProviderError {
    CloudProviderError::NodeClassNotReady {
        node_class: node_class.to_string(),
        reason: "not registered with the simulated provider".into(),
    }
}

#[async_trait]
impl CloudProvider for SimulatedCloudProvider {
    fn name(&self) -> &str {
        "simulated"
    }

    async fn create(&self, request: &LaunchRequest) -> Result<Instance, CloudProviderError> {
        let mut state = self.lock()?;
        let state = &mut *state;
        let class = state
            .node_classes
            .get(&request.node_class)
            .ok_or_else(|| not_ready(&request.node_class))?;
        let chosen = Self::cheapest(class, request, &state.ledger.unavailable);
        Self::launch_at(
            &self.region,
            &mut state.ledger,
            class,
            &request.node_class,
            request,
            chosen,
        )
    }

    async fn delete(&self, provider_id: &str) -> Result<(), CloudProviderError> {
        self.lock()?
            .ledger
            .instances
            .remove(provider_id)
            .map(|_| ())
            .ok_or_else(|| CloudProviderError::NotFound {
                provider_id: provider_id.to_string(),
            })
    }

    async fn get(&self, provider_id: &str) -> Result<Instance, CloudProviderError> {
        self.lock()?
            .ledger
            .instances
            .get(provider_id)
            .cloned()
            .ok_or_else(|| CloudProviderError::NotFound {
                provider_id: provider_id.to_string(),
            })
    }

    async fn list(&self) -> Result<Vec<Instance>, CloudProviderError> {
        Ok(self.lock()?.ledger.instances.values().cloned().collect())
    }

    async fn instance_types(
        &self,
        _node_pool: &str,
        node_class: &str,
    ) -> Result<Vec<InstanceType>, CloudProviderError> {
        let state = self.lock()?;
        let class = state
            .node_classes
            .get(node_class)
            .ok_or_else(|| not_ready(node_class))?;
        let mut types = class.instance_types.clone();
        for it in &mut types {
            for o in &mut it.offerings {
                if state.ledger.unavailable.contains(&OfferingKey::new(
                    &it.name,
                    &o.zone,
                    o.capacity_type,
                )) {
                    o.available = false;
                }
            }
        }
        Ok(types)
    }

    async fn is_drifted(
        &self,
        provider_id: &str,
    ) -> Result<Option<DriftReason>, CloudProviderError> {
        let state = self.lock()?;
        let instance = state.ledger.instances.get(provider_id).ok_or_else(|| {
            CloudProviderError::NotFound {
                provider_id: provider_id.to_string(),
            }
        })?;
        let class = state
            .node_classes
            .get(&instance.node_class)
            .ok_or_else(|| not_ready(&instance.node_class))?;
        if class.image != instance.image {
            return Ok(Some(DriftReason::Image {
                running: instance.image.clone(),
                wanted: class.image.clone(),
            }));
        }
        if !class
            .instance_types
            .iter()
            .any(|it| it.name == instance.instance_type)
        {
            return Ok(Some(DriftReason::InstanceTypeRemoved {
                instance_type: instance.instance_type.clone(),
            }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
        Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect()).unwrap()
    }
    use crate::{Operator, Requirement};
    use karpenter_api::quantity::ResourceList;
    use karpenter_catalog::{CapacityType, Overhead};

    fn it(name: &str, cpu: &str, offerings: &[(&str, CapacityType, f64)]) -> InstanceType {
        InstanceType {
            name: name.into(),
            capacity: ResourceList::parse([("cpu", cpu), ("memory", "8Gi"), ("pods", "32")])
                .unwrap(),
            overhead: Overhead::default(),
            labels: [(
                "karpenter.k8s.aws/instance-family".to_string(),
                "m5".to_string(),
            )]
            .into(),
            offerings: offerings
                .iter()
                .map(|(zone, ct, price)| Offering {
                    zone: zone.to_string(),
                    zone_id: None,
                    capacity_type: *ct,
                    price: *price,
                    available: true,
                })
                .collect(),
        }
    }

    fn provider() -> SimulatedCloudProvider {
        let p = SimulatedCloudProvider::new("test-region");
        p.register_node_class(
            "default",
            vec![
                it(
                    "b.large",
                    "2",
                    &[
                        ("zone-a", CapacityType::OnDemand, 0.10),
                        ("zone-b", CapacityType::Spot, 0.03),
                    ],
                ),
                it(
                    "a.large",
                    "2",
                    &[
                        ("zone-b", CapacityType::Spot, 0.03),
                        ("zone-a", CapacityType::Spot, 0.04),
                    ],
                ),
                it("c.xlarge", "4", &[("zone-a", CapacityType::OnDemand, 0.20)]),
            ],
            "al2023-v1",
        )
        .unwrap();
        p
    }

    fn request(reqs: Vec<Requirement>, cpu: &str) -> LaunchRequest {
        LaunchRequest {
            name: "default-1".into(),
            node_pool: "default".into(),
            node_class: "default".into(),
            requirements: reqs,
            labels: [("team".to_string(), "x".to_string())].into(),
            resources: ResourceList::parse([("cpu", cpu)]).unwrap(),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn launches_the_cheapest_offering_ties_by_name() {
        let p = provider();
        let i = block_on(p.create(&request(vec![], "1"))).unwrap();
        assert_eq!(
            (i.instance_type.as_str(), i.zone.as_str(), i.capacity_type),
            ("a.large", "zone-b", CapacityType::Spot)
        );
        assert_eq!(i.provider_id, "sim:///zone-b/i-00000000000000001");
        assert_eq!(i.labels["karpenter.sh/nodepool"], "default");
        assert_eq!(i.labels["karpenter.sh/capacity-type"], "spot");
        assert_eq!(i.labels["node.kubernetes.io/instance-type"], "a.large");
        assert_eq!(i.labels["kubernetes.io/arch"], "amd64");
        assert_eq!(i.labels["team"], "x");
        assert_eq!(i.labels["karpenter.k8s.aws/instance-family"], "m5");
    }

    #[test]
    fn requirements_and_resources_narrow_the_choice() {
        let p = provider();
        let reqs = vec![req(
            "karpenter.sh/capacity-type",
            Operator::In,
            &["on-demand"],
        )];
        let i = block_on(p.create(&request(reqs, "1"))).unwrap();
        assert_eq!((i.instance_type.as_str(), i.price), ("b.large", 0.10));
        let i = block_on(p.create(&request(vec![], "3"))).unwrap();
        assert_eq!(i.instance_type, "c.xlarge");
        let err = block_on(p.create(&request(vec![], "64"))).unwrap_err();
        assert!(err.is_insufficient_capacity());
        assert!(err.to_string().contains("no compatible offering"), "{err}");
        let reqs = vec![req(
            "node.kubernetes.io/instance-type",
            Operator::NotIn,
            &["a.large", "b.large"],
        )];
        let i = block_on(p.create(&request(reqs, "1"))).unwrap();
        assert_eq!(i.instance_type, "c.xlarge");
        let reqs = vec![req(
            "node.kubernetes.io/instance-type",
            Operator::In,
            &["c.xlarge", "b.large", "not-in-catalog"],
        )];
        let i = block_on(p.create(&request(reqs, "1"))).unwrap();
        assert_eq!((i.instance_type.as_str(), i.price), ("b.large", 0.03));
    }

    #[test]
    fn insufficient_capacity_then_next_cheapest() {
        let p = provider();
        p.set_out_of_capacity([OfferingKey::new("a.large", "zone-b", CapacityType::Spot)])
            .unwrap();
        let err = block_on(p.create(&request(vec![], "1"))).unwrap_err();
        match &err {
            CloudProviderError::InsufficientCapacity { claim, offerings } => {
                assert_eq!(claim, "default-1");
                assert_eq!(offerings[0].to_string(), "a.large/zone-b/spot");
            }
            other => panic!("unexpected {other:?}"),
        }
        let i = block_on(p.create(&request(vec![], "1"))).unwrap();
        assert_eq!(
            (i.instance_type.as_str(), i.zone.as_str()),
            ("b.large", "zone-b")
        );
        assert_eq!(p.launch_stats().unwrap(), (2, 1));
        let types = block_on(p.instance_types("default", "default")).unwrap();
        let a = types.iter().find(|t| t.name == "a.large").unwrap();
        assert!(
            !a.offerings
                .iter()
                .find(|o| o.zone == "zone-b")
                .unwrap()
                .available
        );
    }

    #[test]
    fn lifecycle_get_list_delete_and_drift() {
        let p = provider();
        let i = block_on(p.create(&request(vec![], "1"))).unwrap();
        assert_eq!(block_on(p.get(&i.provider_id)).unwrap(), i);
        assert_eq!(block_on(p.list()).unwrap().len(), 1);
        assert_eq!(block_on(p.is_drifted(&i.provider_id)).unwrap(), None);
        p.set_image("default", "al2023-v2").unwrap();
        assert!(matches!(
            block_on(p.is_drifted(&i.provider_id)).unwrap(),
            Some(DriftReason::Image { .. })
        ));
        p.register_node_class("default", vec![], "al2023-v1")
            .unwrap();
        assert!(matches!(
            block_on(p.is_drifted(&i.provider_id)).unwrap(),
            Some(DriftReason::InstanceTypeRemoved { .. })
        ));
        block_on(p.delete(&i.provider_id)).unwrap();
        assert!(block_on(p.get(&i.provider_id)).unwrap_err().is_not_found());
        assert!(block_on(p.delete(&i.provider_id))
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn unknown_node_class_is_not_ready() {
        let p = provider();
        let mut r = request(vec![], "1");
        r.node_class = "missing".into();
        let err = block_on(p.create(&r)).unwrap_err();
        assert!(matches!(err, CloudProviderError::NodeClassNotReady { .. }));
        assert!(block_on(p.instance_types("default", "missing")).is_err());
    }

    #[test]
    fn launches_from_a_node_claim() {
        let claim: karpenter_api::NodeClaim = serde_json::from_value(serde_json::json!({
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodeClaim",
            "metadata": {"name": "pool-7", "labels": {"karpenter.sh/nodepool": "pool"}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "requirements": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-a"]}],
                "resources": {"requests": {"cpu": "1500m"}}
            }
        }))
        .unwrap();
        let req = LaunchRequest::from_node_claim(&claim).unwrap();
        assert_eq!(req.node_pool, "pool");
        assert_eq!(req.resources.get("cpu"), 1500);
        let i = block_on(provider().create(&req)).unwrap();
        assert_eq!(
            (i.instance_type.as_str(), i.zone.as_str()),
            ("a.large", "zone-a")
        );
        assert_eq!(i.name, "pool-7");
    }

    #[test]
    fn candidates_launch_exactly_as_create() {
        let scenarios: Vec<(Vec<Requirement>, &str)> = vec![
            (vec![], "1"),
            (vec![], "3"),
            (vec![], "64"),
            (
                vec![req(
                    "karpenter.sh/capacity-type",
                    Operator::In,
                    &["on-demand"],
                )],
                "1",
            ),
            (
                vec![req(
                    "node.kubernetes.io/instance-type",
                    Operator::In,
                    &["c.xlarge", "b.large", "not-in-catalog"],
                )],
                "1",
            ),
            (
                vec![req(
                    "topology.kubernetes.io/zone",
                    Operator::In,
                    &["zone-a"],
                )],
                "1",
            ),
        ];
        let ice = [
            OfferingKey::new("a.large", "zone-b", CapacityType::Spot),
            OfferingKey::new("b.large", "zone-b", CapacityType::Spot),
        ];
        for (reqs, cpu) in scenarios {
            let (a, b) = (provider(), provider());
            a.set_out_of_capacity(ice.clone()).unwrap();
            b.set_out_of_capacity(ice.clone()).unwrap();
            let r = request(reqs, cpu);
            let candidates = b.launch_candidates("default", &r.requirements).unwrap();
            for _ in 0..4 {
                assert_eq!(
                    block_on(a.create(&r)),
                    b.create_with(&r, &candidates),
                    "{:?} cpu {cpu}",
                    r.requirements
                );
            }
            assert_eq!(a.launch_stats().unwrap(), b.launch_stats().unwrap());
        }
        let p = provider();
        let r = request(vec![], "1");
        let candidates = p.launch_candidates("default", &r.requirements).unwrap();
        assert_eq!(candidates.len(), 5);
        // Re-registered with other types: stale candidates are not used.
        p.register_node_class(
            "default",
            vec![it("d.large", "2", &[("zone-c", CapacityType::Spot, 0.5)])],
            "al2023-v1",
        )
        .unwrap();
        let i = p.create_with(&r, &candidates).unwrap();
        assert_eq!(
            (i.instance_type.as_str(), i.zone.as_str()),
            ("d.large", "zone-c")
        );
        assert!(p.launch_candidates("missing", &[]).is_err());
    }

    #[test]
    fn candidates_match_create_on_the_builtin_catalog() {
        let catalog = karpenter_catalog::Catalog::builtin(
            "us-east-1",
            &karpenter_catalog::AllocatableOptions::default(),
        )
        .unwrap();
        let types = catalog.instance_types.clone();
        // The cheapest offerings of the catalog are out of capacity, so retries walk on.
        let mut all: Vec<(f64, OfferingKey)> = types
            .iter()
            .flat_map(|it| {
                it.offerings.iter().map(|o| {
                    (
                        o.price,
                        OfferingKey::new(&it.name, &o.zone, o.capacity_type),
                    )
                })
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let ice: Vec<OfferingKey> = all
            .iter()
            .step_by(3)
            .take(40)
            .map(|x| x.1.clone())
            .collect();
        let named: Vec<&str> = types.iter().step_by(7).map(|t| t.name.as_str()).collect();
        let scenarios: Vec<Vec<Requirement>> = vec![
            vec![],
            vec![req("karpenter.sh/capacity-type", Operator::In, &["spot"])],
            vec![
                req(
                    "topology.kubernetes.io/zone",
                    Operator::In,
                    &["us-east-1a", "us-east-1c"],
                ),
                req("kubernetes.io/arch", Operator::In, &["arm64"]),
            ],
            vec![req(
                "node.kubernetes.io/instance-type",
                Operator::In,
                &named,
            )],
            vec![
                req("karpenter.k8s.aws/instance-cpu", Operator::Gt, &["7"]),
                req("karpenter.sh/capacity-type", Operator::NotIn, &["spot"]),
            ],
        ];
        let mut retries = 0;
        for reqs in scenarios {
            for cpu in ["1", "6", "30"] {
                let (a, b) = (
                    SimulatedCloudProvider::new("us-east-1"),
                    SimulatedCloudProvider::new("us-east-1"),
                );
                for p in [&a, &b] {
                    p.register_node_class("default", types.clone(), "ami")
                        .unwrap();
                    p.set_out_of_capacity(ice.iter().cloned()).unwrap();
                }
                let mut r = request(reqs.clone(), cpu);
                let candidates = b.launch_candidates("default", &r.requirements).unwrap();
                for n in 0..25 {
                    r.name = format!("default-{n}");
                    assert_eq!(
                        block_on(a.create(&r)),
                        b.create_with(&r, &candidates),
                        "{reqs:?} cpu {cpu} launch {n}"
                    );
                }
                assert_eq!(a.launch_stats().unwrap(), b.launch_stats().unwrap());
                retries += b.launch_stats().unwrap().1;
            }
        }
        assert!(retries > 0, "no launch met insufficient capacity");
    }

    #[test]
    fn ids_are_deterministic() {
        let run = || {
            let p = provider();
            (0..3)
                .map(|_| {
                    block_on(p.create(&request(vec![], "1")))
                        .unwrap()
                        .provider_id
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
