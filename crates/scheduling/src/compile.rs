//! Conversion of the Kubernetes and catalog types into the compact forms the scheduler works on:
//! interned label keys and values, fixed resource vectors, instance-type bitsets, label sets,
//! constraint specs and topology groups. Everything string-shaped is touched here, once.

// Resource vectors are parallel arrays indexed by dimension; index loops read best here.
#![allow(clippy::needless_range_loop)]

use crate::model::{PreferencePolicy, SchedulerInput};
use crate::pod::{host_ports, pod_key, pod_requests, HostPort};
use crate::requirements::{label_of, Interner, Operator, Req, Reqs};
use crate::InputError;
use k8s_openapi::api::core::v1::{NodeSelectorTerm, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use karpenter_api::quantity::ResourceList;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(crate) const CPU: usize = 0;
pub(crate) const MEM: usize = 1;
pub(crate) const PODS: usize = 2;
/// One pod slot, in milli-units.
pub(crate) const POD_UNIT: i64 = 1000;

pub(crate) const ZONE: &str = "topology.kubernetes.io/zone";
pub(crate) const CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
pub(crate) const HOSTNAME: &str = "kubernetes.io/hostname";
pub(crate) const NODEPOOL: &str = "karpenter.sh/nodepool";
pub(crate) const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
pub(crate) const ARCH: &str = "kubernetes.io/arch";
pub(crate) const OS: &str = "kubernetes.io/os";

/// Labels that may be undefined on the NodePool side: instance types and offerings define them.
const WELL_KNOWN: [&str; 10] = [
    ZONE,
    "topology.kubernetes.io/region",
    INSTANCE_TYPE,
    ARCH,
    OS,
    CAPACITY_TYPE,
    NODEPOOL,
    "node.kubernetes.io/windows-build",
    "topology.k8s.aws/zone-id",
    "karpenter.k8s.aws/capacity-reservation-id",
];

/// Taints every in-flight node carries until it is ready; they never block scheduling onto it.
const EPHEMERAL_TAINTS: [&str; 4] = [
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.cloudprovider.kubernetes.io/uninitialized",
    "karpenter.sh/unregistered",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Effect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl Effect {
    fn parse(s: &str) -> Option<Effect> {
        match s {
            "NoSchedule" => Some(Effect::NoSchedule),
            "PreferNoSchedule" => Some(Effect::PreferNoSchedule),
            "NoExecute" => Some(Effect::NoExecute),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Tol {
    key: Option<u32>,
    exists: bool,
    value: u32,
    effect: Option<Effect>,
    /// An operator Kubernetes does not know: tolerates nothing.
    invalid: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaintC {
    pub key: u32,
    pub value: u32,
    pub effect: Effect,
    /// Index into the original taint list, for messages.
    pub orig: Taint,
}

impl Tol {
    fn tolerates(&self, t: &TaintC) -> bool {
        if self.invalid || self.effect.is_some_and(|e| e != t.effect) {
            return false;
        }
        match self.key {
            None => self.exists,
            Some(k) => k == t.key && (self.exists || self.value == t.value),
        }
    }
}

/// Whether the tolerations tolerate every taint that blocks scheduling.
pub(crate) fn tolerates_all(tols: &[Tol], taints: &[TaintC], tolerate_pns: bool) -> Option<usize> {
    taints.iter().position(|t| {
        (t.effect != Effect::PreferNoSchedule || !tolerate_pns)
            && !tols.iter().any(|x| x.tolerates(t))
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SelOp {
    In(Vec<u32>),
    NotIn(Vec<u32>),
    Exists,
    DoesNotExist,
    Never,
}

/// A compiled label selector; `nothing` for a nil selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Selector {
    nothing: bool,
    terms: Vec<(u32, SelOp)>,
}

impl Selector {
    pub(crate) fn matches(&self, labels: &[(u32, u32)]) -> bool {
        if self.nothing {
            return false;
        }
        self.terms.iter().all(|(k, op)| {
            let v = label_of(labels, *k);
            match op {
                SelOp::In(vs) => v.is_some_and(|v| vs.contains(&v)),
                SelOp::NotIn(vs) => v.is_none_or(|v| !vs.contains(&v)),
                SelOp::Exists => v.is_some(),
                SelOp::DoesNotExist => v.is_none(),
                SelOp::Never => false,
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum NsSet {
    All,
    Some(Vec<u32>),
}

impl NsSet {
    fn contains(&self, ns: u32) -> bool {
        match self {
            NsSet::All => true,
            NsSet::Some(v) => v.contains(&ns),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TgKind {
    Spread,
    Affinity,
    AntiAffinity,
}

/// Identity of a topology group: pods counted together for one constraint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TgKey {
    pub kind: TgKind,
    pub key: u32,
    pub ns: NsSet,
    pub selector: Selector,
    pub max_skew: i32,
    pub min_domains: i32,
    /// nodeAffinityPolicy Honor: only nodes matching these requirements count.
    pub filter_reqs: Option<Reqs>,
    /// nodeTaintsPolicy Honor: only nodes whose taints these tolerate count.
    pub filter_tols: Option<Vec<Tol>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Tg {
    pub k: TgKey,
    pub hostname: bool,
    /// Matching pods per domain (value id, or slot id for hostname).
    pub counts: HashMap<u32, u32>,
    /// Pods owning this (anti-affinity) term per domain.
    pub owners: HashMap<u32, u32>,
    pub total: u64,
    pub owners_total: u64,
}

/// A pod's identity for selectors: namespace and labels.
#[derive(Debug, Clone)]
pub(crate) struct LabelSet {
    pub ns: u32,
    pub labels: Vec<(u32, u32)>,
    /// Topology groups whose selector and namespaces match.
    pub counted_in: Vec<u32>,
    /// Anti-affinity groups that select this label set.
    pub anti_selecting: Vec<u32>,
}

/// The scheduling constraints of a pod before relaxation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct SpecC {
    /// nodeSelector and volume topology.
    pub base: Reqs,
    /// Required node affinity terms (ORed; all but the last may be dropped).
    pub required_terms: Vec<Reqs>,
    /// Preferred node affinity terms, heaviest first.
    pub preferred_node: Vec<Reqs>,
    pub tols: Vec<Tol>,
    /// (group, ScheduleAnyway)
    pub spreads: Vec<(u32, bool)>,
    pub affinity: Vec<u32>,
    pub pref_affinity: Vec<u32>,
    pub anti: Vec<u32>,
    pub pref_anti: Vec<u32>,
    pub ports: Vec<HostPort>,
    pub volume_error: Option<String>,
}

impl SpecC {
    pub(crate) fn anyway_count(&self) -> usize {
        self.spreads.iter().filter(|s| s.1).count()
    }
}

/// A compiled instance-type list of one NodePool, sorted by cheapest available offering.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoolC {
    pub name: String,
    pub input_idx: usize,
    /// Requirements, labels and the nodepool label.
    pub reqs: Reqs,
    pub taints: Vec<TaintC>,
    pub min_values: Vec<(u32, u32)>,
    /// Per type (in sorted order).
    pub type_idx: Vec<usize>,
    pub type_labels: Vec<Vec<(u32, u32)>>,
    /// Available offerings: (zone, capacity type, price, offering index).
    pub offers: Vec<Vec<(u32, u32, f64, usize)>>,
    /// Price of each type's cheapest available offering (types are sorted by it).
    pub price: Vec<f64>,
    /// Rank of each type's name in name order (for cheap tie-breaks).
    pub name_rank: Vec<u32>,
    /// Allocatable, flat `types × dims`.
    pub alloc: Vec<i64>,
    /// Capacity, flat `types × dims` (for limits).
    pub cap: Vec<i64>,
    /// Per type and dim, the largest allocatable of that type and every later (pricier) one,
    /// flat `types × dims`: no type from `ti` on can hold more.
    pub suffix_max: Vec<i64>,
    /// Per 64-type word of the type bitsets and dim, the largest allocatable of its types,
    /// flat `words × dims`: a word whose maximum is too small holds no fitting type.
    pub block_max: Vec<i64>,
    /// Types compatible with the pool's requirements and with an available offering.
    pub all_types: Vec<u64>,
    pub daemon: Vec<i64>,
    /// Remaining limits per dim plus nodes at index `dims`; `None` when unlimited.
    pub remaining: Option<Vec<i64>>,
    /// Types defining each label key.
    pub type_keys: BTreeSet<u32>,
    pub error: Option<String>,
    /// Bitsets over the types for evaluating requirements on all of them at once.
    pub index: TypeIndex,
}

/// Bitsets over a pool's types (one bit per type, in sorted order), built once at compile time so
/// that [`World::types_ok`] evaluates requirements with word-wide set algebra instead of type by
/// type.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeIndex {
    /// Per label key (other than zone and capacity type) carried by some type.
    keys: HashMap<u32, KeyIndex>,
    /// Per distinct available (zone, capacity type) offering: the types having it.
    offers: Vec<(u32, u32, Vec<u64>)>,
    /// Types with at least one available offering.
    any_offer: Vec<u64>,
}

/// The types carrying each value of one label key, and those lacking the key.
#[derive(Debug, Clone, Default)]
struct KeyIndex {
    absent: Vec<u64>,
    /// Sorted by value id.
    vals: Vec<(u32, Vec<u64>)>,
}

impl TypeIndex {
    /// Builds the index over `labels` and `offers` (per type) for `nt` types.
    fn build(
        nt: usize,
        labels: &[Vec<(u32, u32)>],
        offers: &[Vec<(u32, u32, f64, usize)>],
        skip: [u32; 2],
    ) -> TypeIndex {
        let words = nt.div_ceil(64);
        let mut keys: HashMap<u32, HashMap<u32, Vec<u64>>> = HashMap::new();
        for (ti, lv) in labels.iter().enumerate() {
            for &(k, v) in lv {
                if skip.contains(&k) {
                    continue;
                }
                let b = keys
                    .entry(k)
                    .or_default()
                    .entry(v)
                    .or_insert_with(|| vec![0; words]);
                bit_set(b, ti);
            }
        }
        let keys = keys
            .into_iter()
            .map(|(k, m)| {
                let mut vals: Vec<(u32, Vec<u64>)> = m.into_iter().collect();
                vals.sort_unstable_by_key(|(v, _)| *v);
                let mut absent = vec![0u64; words];
                for ti in 0..nt {
                    bit_set(&mut absent, ti);
                }
                for (_, b) in &vals {
                    for (a, x) in absent.iter_mut().zip(b) {
                        *a &= !x;
                    }
                }
                (k, KeyIndex { absent, vals })
            })
            .collect();
        let mut by_offer: HashMap<(u32, u32), Vec<u64>> = HashMap::new();
        let mut any_offer = vec![0u64; words];
        for (ti, os) in offers.iter().enumerate() {
            for o in os {
                bit_set(
                    by_offer.entry((o.0, o.1)).or_insert_with(|| vec![0; words]),
                    ti,
                );
                bit_set(&mut any_offer, ti);
            }
        }
        let mut offers: Vec<(u32, u32, Vec<u64>)> =
            by_offer.into_iter().map(|((z, c), b)| (z, c, b)).collect();
        offers.sort_unstable_by_key(|o| (o.0, o.1));
        TypeIndex {
            keys,
            offers,
            any_offer,
        }
    }
}

/// An existing or in-flight node.
#[derive(Debug, Clone)]
pub(crate) struct ExNode {
    pub labels: Vec<(u32, u32)>,
    pub taints: Vec<TaintC>,
    pub alloc: Vec<i64>,
    pub used: Vec<i64>,
    pub ports: Vec<HostPort>,
    pub pods: Vec<u32>,
}

/// A pending pod.
#[derive(Debug, Clone)]
pub(crate) struct PodC {
    pub key: String,
    pub req: Vec<i64>,
    pub ls: u32,
    pub spec: u32,
    pub relax: Relax,
    pub group: u32,
}

/// How far a pod's preferences have been relaxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Relax {
    pub req_terms: u8,
    pub pref_aff: u8,
    pub pref_anti: u8,
    pub pref_node: u8,
    pub anyway: u8,
    pub pns: bool,
}

/// Everything compiled, plus the state the scheduler mutates.
pub(crate) struct World {
    pub keys: Interner,
    pub vals: Interner,
    pub dims: Vec<String>,
    pub well_known: Vec<bool>,
    pub k_zone: u32,
    pub k_ct: u32,
    pub k_host: u32,
    pub pools: Vec<PoolC>,
    pub ex: Vec<ExNode>,
    pub ex_names: Vec<String>,
    pub tgs: Vec<Tg>,
    tg_index: HashMap<TgKey, u32>,
    pub lsets: Vec<LabelSet>,
    ls_index: HashMap<(u32, Vec<(u32, u32)>), u32>,
    pub specs: Vec<SpecC>,
    spec_index: HashMap<SpecC, u32>,
    pub pods: Vec<PodC>,
    /// Known domains per topology key (non-hostname).
    pub universe: HashMap<u32, Vec<u32>>,
    pub topo_keys: Vec<u32>,
    pub any_pns: bool,
    pub policy: PreferencePolicy,
    namespaces: Vec<(u32, Vec<(u32, u32)>)>,
}

fn qerr(
    object: String,
    field: String,
    source: karpenter_api::quantity::QuantityError,
) -> InputError {
    InputError::Quantity {
        object,
        field,
        source,
    }
}

impl World {
    pub(crate) fn is_well_known(&self, key: u32) -> bool {
        self.well_known.get(key as usize).copied().unwrap_or(false)
    }

    pub(crate) fn vec_of(&self, rl: &ResourceList) -> Vec<i64> {
        self.dims.iter().map(|d| rl.get(d)).collect()
    }

    fn labels_of(&mut self, m: &BTreeMap<String, String>) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = m
            .iter()
            .map(|(k, val)| (self.keys.intern(k), self.vals.intern(val)))
            .collect();
        v.sort_unstable();
        v
    }

    fn taint(&mut self, t: &Taint) -> Option<TaintC> {
        Some(TaintC {
            key: self.keys.intern(&t.key),
            value: self.vals.intern(t.value.as_deref().unwrap_or("")),
            effect: Effect::parse(&t.effect)?,
            orig: t.clone(),
        })
    }

    fn tol(&mut self, t: &Toleration) -> Tol {
        let op = t.operator.as_deref().unwrap_or("Equal");
        let key = t
            .key
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(|k| self.keys.intern(k));
        Tol {
            key,
            exists: op == "Exists",
            value: self.vals.intern(t.value.as_deref().unwrap_or("")),
            effect: t
                .effect
                .as_deref()
                .filter(|e| !e.is_empty())
                .and_then(Effect::parse),
            invalid: !(op == "Exists" || op == "Equal" || op.is_empty())
                || (key.is_none() && op != "Exists"),
        }
    }

    fn term_reqs(&mut self, t: &NodeSelectorTerm) -> Reqs {
        let mut r = Reqs::default();
        for e in t.match_expressions.iter().flatten() {
            let key = self.keys.intern(&e.key);
            let vals: Vec<String> = e.values.clone().unwrap_or_default();
            let req = Operator::parse(&e.operator)
                .and_then(|op| Req::build(key, op, &vals, &mut self.vals))
                // An operator or value Kubernetes would reject matches nothing.
                .unwrap_or_else(|| Req::is_in(key, Vec::new()));
            r.add(req, &self.vals);
        }
        for f in t.match_fields.iter().flatten() {
            if f.key == "metadata.name" {
                let key = self.k_host;
                let vals: Vec<String> = f.values.clone().unwrap_or_default();
                if let Some(req) = Operator::parse(&f.operator)
                    .and_then(|op| Req::build(key, op, &vals, &mut self.vals))
                {
                    r.add(req, &self.vals);
                }
            }
        }
        r
    }

    fn selector(&mut self, sel: Option<&LabelSelector>) -> Selector {
        let Some(sel) = sel else {
            return Selector {
                nothing: true,
                terms: Vec::new(),
            };
        };
        let mut terms = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            terms.push((self.keys.intern(k), SelOp::In(vec![self.vals.intern(v)])));
        }
        for e in sel.match_expressions.iter().flatten() {
            let k = self.keys.intern(&e.key);
            let mut vs: Vec<u32> = e
                .values
                .iter()
                .flatten()
                .map(|v| self.vals.intern(v))
                .collect();
            vs.sort_unstable();
            let op = match e.operator.as_str() {
                "In" => SelOp::In(vs),
                "NotIn" => SelOp::NotIn(vs),
                "Exists" => SelOp::Exists,
                "DoesNotExist" => SelOp::DoesNotExist,
                _ => SelOp::Never,
            };
            terms.push((k, op));
        }
        terms.sort_by_key(|t| t.0);
        Selector {
            nothing: false,
            terms,
        }
    }

    fn label_set(&mut self, ns: u32, labels: Vec<(u32, u32)>) -> u32 {
        let key = (ns, labels);
        if let Some(&id) = self.ls_index.get(&key) {
            return id;
        }
        let id = self.lsets.len() as u32;
        self.lsets.push(LabelSet {
            ns: key.0,
            labels: key.1.clone(),
            counted_in: Vec::new(),
            anti_selecting: Vec::new(),
        });
        self.ls_index.insert(key, id);
        id
    }

    fn tg(&mut self, k: TgKey) -> u32 {
        if let Some(&id) = self.tg_index.get(&k) {
            return id;
        }
        let id = self.tgs.len() as u32;
        self.tgs.push(Tg {
            hostname: k.key == self.k_host,
            k: k.clone(),
            counts: HashMap::new(),
            owners: HashMap::new(),
            total: 0,
            owners_total: 0,
        });
        self.tg_index.insert(k, id);
        id
    }

    fn ns_id(&mut self, ns: &str) -> u32 {
        let id = self.vals.intern(ns);
        if !self.namespaces.iter().any(|(n, _)| *n == id) {
            let name_key = self.keys.intern("kubernetes.io/metadata.name");
            self.namespaces.push((id, vec![(name_key, id)]));
        }
        id
    }

    /// The topology groups of a pod's required and preferred (anti-)affinity terms; preferred
    /// terms come heaviest first, the order in which they are relaxed.
    fn affinity_tgs(
        &mut self,
        kind: TgKind,
        required: &Option<Vec<k8s_openapi::api::core::v1::PodAffinityTerm>>,
        preferred: &Option<Vec<k8s_openapi::api::core::v1::WeightedPodAffinityTerm>>,
        own_ns: u32,
        pod_labels: &BTreeMap<String, String>,
    ) -> (Vec<u32>, Vec<u32>) {
        let req = required
            .iter()
            .flatten()
            .map(|t| self.affinity_tg(kind, t, own_ns, pod_labels))
            .collect();
        let mut prefs: Vec<_> = preferred.iter().flatten().collect();
        prefs.sort_by_key(|p| std::cmp::Reverse(p.weight));
        let pref = prefs
            .into_iter()
            .map(|p| self.affinity_tg(kind, &p.pod_affinity_term, own_ns, pod_labels))
            .collect();
        (req, pref)
    }

    fn affinity_tg(
        &mut self,
        kind: TgKind,
        term: &k8s_openapi::api::core::v1::PodAffinityTerm,
        own_ns: u32,
        pod_labels: &BTreeMap<String, String>,
    ) -> u32 {
        let mut selector = self.selector(term.label_selector.as_ref());
        if !selector.nothing {
            for (keys, is_match) in [
                (&term.match_label_keys, true),
                (&term.mismatch_label_keys, false),
            ] {
                for k in keys.iter().flatten() {
                    if let Some(v) = pod_labels.get(k) {
                        let kid = self.keys.intern(k);
                        let vid = self.vals.intern(v);
                        selector.terms.push((
                            kid,
                            if is_match {
                                SelOp::In(vec![vid])
                            } else {
                                SelOp::NotIn(vec![vid])
                            },
                        ));
                    }
                }
            }
            selector.terms.sort_by_key(|t| t.0);
        }
        let ns = match (&term.namespace_selector, &term.namespaces) {
            (Some(sel), names) => {
                let sel_c = self.selector(Some(sel));
                if sel_c.terms.is_empty() && !sel_c.nothing {
                    NsSet::All
                } else {
                    let mut ids: Vec<u32> = names.iter().flatten().map(|n| self.ns_id(n)).collect();
                    for (id, labels) in &self.namespaces {
                        if sel_c.matches(labels) {
                            ids.push(*id);
                        }
                    }
                    ids.sort_unstable();
                    ids.dedup();
                    NsSet::Some(ids)
                }
            }
            (None, Some(names)) if !names.is_empty() => {
                let mut ids: Vec<u32> = names.iter().map(|n| self.ns_id(n)).collect();
                ids.sort_unstable();
                ids.dedup();
                NsSet::Some(ids)
            }
            _ => NsSet::Some(vec![own_ns]),
        };
        let key = self.keys.intern(&term.topology_key);
        self.tg(TgKey {
            kind,
            key,
            ns,
            selector,
            max_skew: 0,
            min_domains: 0,
            filter_reqs: None,
            filter_tols: None,
        })
    }

    /// Compiles a pod's constraints (creating its topology groups).
    fn spec(&mut self, pod: &Pod, ns: u32, input: &SchedulerInput, volumes: &VolumeIndex) -> SpecC {
        let mut s = SpecC::default();
        let Some(ps) = &pod.spec else {
            return s;
        };
        let no_labels = BTreeMap::new();
        let labels = pod.metadata.labels.as_ref().unwrap_or(&no_labels);
        for (k, v) in ps.node_selector.iter().flatten() {
            let key = self.keys.intern(k);
            let val = self.vals.intern(v);
            s.base.add(Req::is_in(key, vec![val]), &self.vals);
        }
        match volumes.requirements(pod, input) {
            Ok(terms) => {
                for t in terms {
                    let r = self.term_reqs(&t);
                    s.base.add_all(&r, &self.vals);
                }
            }
            Err(e) => s.volume_error = Some(e),
        }
        let aff = ps.affinity.as_ref();
        if let Some(na) = aff.and_then(|a| a.node_affinity.as_ref()) {
            if let Some(req) = &na.required_during_scheduling_ignored_during_execution {
                for t in &req.node_selector_terms {
                    let r = self.term_reqs(t);
                    s.required_terms.push(r);
                }
            }
            let mut prefs: Vec<_> = na
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .collect();
            prefs.sort_by_key(|p| std::cmp::Reverse(p.weight));
            for p in prefs {
                let r = self.term_reqs(&p.preference);
                s.preferred_node.push(r);
            }
        }
        for t in ps.tolerations.iter().flatten() {
            let tol = self.tol(t);
            s.tols.push(tol);
        }
        // Requirements a spread constraint's nodeAffinityPolicy Honor filters nodes by.
        let mut honor_reqs = s.base.clone();
        if let Some(first) = s.required_terms.first() {
            honor_reqs.add_all(first, &self.vals);
        }
        for c in ps.topology_spread_constraints.iter().flatten() {
            let mut selector = self.selector(c.label_selector.as_ref());
            if !selector.nothing {
                for k in c.match_label_keys.iter().flatten() {
                    if let Some(v) = labels.get(k) {
                        let kid = self.keys.intern(k);
                        let vid = self.vals.intern(v);
                        selector.terms.push((kid, SelOp::In(vec![vid])));
                    }
                }
                selector.terms.sort_by_key(|t| t.0);
            }
            let key = self.keys.intern(&c.topology_key);
            let filter_reqs =
                if c.node_affinity_policy.as_deref() != Some("Ignore") && !honor_reqs.is_empty() {
                    Some(honor_reqs.clone())
                } else {
                    None
                };
            let filter_tols = if c.node_taints_policy.as_deref() == Some("Honor") {
                Some(s.tols.clone())
            } else {
                None
            };
            let id = self.tg(TgKey {
                kind: TgKind::Spread,
                key,
                ns: NsSet::Some(vec![ns]),
                selector,
                max_skew: c.max_skew.max(1),
                min_domains: c.min_domains.unwrap_or(0).max(0),
                filter_reqs,
                filter_tols,
            });
            s.spreads
                .push((id, c.when_unsatisfiable == "ScheduleAnyway"));
        }
        if let Some(pa) = aff.and_then(|a| a.pod_affinity.as_ref()) {
            let (req, pref) = self.affinity_tgs(
                TgKind::Affinity,
                &pa.required_during_scheduling_ignored_during_execution,
                &pa.preferred_during_scheduling_ignored_during_execution,
                ns,
                labels,
            );
            s.affinity.extend(req);
            s.pref_affinity.extend(pref);
        }
        if let Some(pa) = aff.and_then(|a| a.pod_anti_affinity.as_ref()) {
            let (req, pref) = self.affinity_tgs(
                TgKind::AntiAffinity,
                &pa.required_during_scheduling_ignored_during_execution,
                &pa.preferred_during_scheduling_ignored_during_execution,
                ns,
                labels,
            );
            s.anti.extend(req);
            s.pref_anti.extend(pref);
        }
        s.ports = host_ports(pod);
        s
    }

    fn intern_spec(&mut self, s: SpecC) -> u32 {
        if let Some(&id) = self.spec_index.get(&s) {
            return id;
        }
        let id = self.specs.len() as u32;
        self.specs.push(s.clone());
        self.spec_index.insert(s, id);
        id
    }

    /// Whether a node (existing: labels and taints) passes a topology group's node filter.
    pub(crate) fn ex_passes_filter(&self, tg: u32, node: usize) -> bool {
        let k = &self.tgs[tg as usize].k;
        let n = &self.ex[node];
        k.filter_reqs
            .as_ref()
            .is_none_or(|r| r.matches_labels(&n.labels, &self.vals))
            && k.filter_tols
                .as_ref()
                .is_none_or(|t| tolerates_all(t, &n.taints, true).is_none())
    }
}

/// Volume topology lookups.
pub(crate) struct VolumeIndex<'a> {
    pvcs: HashMap<(&'a str, &'a str), &'a k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    pvs: HashMap<&'a str, &'a k8s_openapi::api::core::v1::PersistentVolume>,
    scs: HashMap<&'a str, &'a k8s_openapi::api::storage::v1::StorageClass>,
}

impl<'a> VolumeIndex<'a> {
    pub(crate) fn new(input: &'a SchedulerInput) -> Self {
        VolumeIndex {
            pvcs: input
                .persistent_volume_claims
                .iter()
                .map(|p| {
                    (
                        (
                            p.metadata.namespace.as_deref().unwrap_or("default"),
                            p.metadata.name.as_deref().unwrap_or(""),
                        ),
                        p,
                    )
                })
                .collect(),
            pvs: input
                .persistent_volumes
                .iter()
                .map(|p| (p.metadata.name.as_deref().unwrap_or(""), p))
                .collect(),
            scs: input
                .storage_classes
                .iter()
                .map(|s| (s.metadata.name.as_deref().unwrap_or(""), s))
                .collect(),
        }
    }

    fn class_terms(
        &self,
        class: Option<&str>,
        what: &str,
    ) -> Result<Vec<NodeSelectorTerm>, String> {
        let Some(class) = class.filter(|c| !c.is_empty()) else {
            return Ok(Vec::new());
        };
        let Some(sc) = self.scs.get(class) else {
            return Err(format!("storageclass {class} of {what} not found"));
        };
        if sc.volume_binding_mode.as_deref() != Some("WaitForFirstConsumer") {
            return Ok(Vec::new());
        }
        // Allowed topologies: terms are ORed; the first term is used, as Karpenter does.
        let Some(term) = sc.allowed_topologies.iter().flatten().next() else {
            return Ok(Vec::new());
        };
        let exprs = term
            .match_label_expressions
            .iter()
            .flatten()
            .map(|e| k8s_openapi::api::core::v1::NodeSelectorRequirement {
                key: e.key.clone(),
                operator: "In".into(),
                values: Some(e.values.clone()),
            })
            .collect();
        Ok(vec![NodeSelectorTerm {
            match_expressions: Some(exprs),
            match_fields: None,
        }])
    }

    /// The node selector terms a pod's volumes impose (ANDed), or why they cannot be placed.
    fn requirements(
        &self,
        pod: &Pod,
        _input: &SchedulerInput,
    ) -> Result<Vec<NodeSelectorTerm>, String> {
        let mut out = Vec::new();
        let Some(spec) = &pod.spec else {
            return Ok(out);
        };
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let pod_name = pod.metadata.name.as_deref().unwrap_or("");
        for v in spec.volumes.iter().flatten() {
            let (claim, template_class) = if let Some(p) = &v.persistent_volume_claim {
                (p.claim_name.clone(), None)
            } else if let Some(e) = &v.ephemeral {
                let class = e
                    .volume_claim_template
                    .as_ref()
                    .and_then(|t| t.spec.storage_class_name.clone());
                (format!("{pod_name}-{}", v.name), Some(class))
            } else {
                continue;
            };
            let what = format!("persistentvolumeclaim {ns}/{claim}");
            match self.pvcs.get(&(ns, claim.as_str())) {
                None => match template_class {
                    Some(class) => out.extend(self.class_terms(class.as_deref(), &what)?),
                    None => return Err(format!("{what} not found")),
                },
                Some(pvc) => {
                    let spec = pvc.spec.as_ref();
                    match spec
                        .and_then(|s| s.volume_name.as_deref())
                        .filter(|n| !n.is_empty())
                    {
                        Some(pv_name) => {
                            let Some(pv) = self.pvs.get(pv_name) else {
                                return Err(format!(
                                    "persistentvolume {pv_name} bound to {what} not found"
                                ));
                            };
                            if let Some(term) = pv
                                .spec
                                .as_ref()
                                .and_then(|s| s.node_affinity.as_ref())
                                .and_then(|a| a.required.as_ref())
                                .and_then(|r| r.node_selector_terms.first())
                            {
                                out.push(term.clone());
                            }
                        }
                        None => out.extend(self.class_terms(
                            spec.and_then(|s| s.storage_class_name.as_deref()),
                            &what,
                        )?),
                    }
                }
            }
        }
        Ok(out)
    }
}

pub(crate) fn bit_set(b: &mut [u64], i: usize) {
    b[i / 64] |= 1 << (i % 64);
}

pub(crate) fn bits(b: &[u64]) -> impl Iterator<Item = usize> + '_ {
    b.iter().enumerate().flat_map(|(w, &word)| {
        let mut x = word;
        std::iter::from_fn(move || {
            if x == 0 {
                None
            } else {
                let t = x.trailing_zeros() as usize;
                x &= x - 1;
                Some(w * 64 + t)
            }
        })
    })
}

/// Compiles the whole input.
pub(crate) fn compile(input: &SchedulerInput) -> Result<World, InputError> {
    let mut keys = Interner::default();
    let mut vals = Interner::default();
    let k_zone = keys.intern(ZONE);
    let k_ct = keys.intern(CAPACITY_TYPE);
    let k_host = keys.intern(HOSTNAME);
    for k in WELL_KNOWN {
        keys.intern(k);
    }
    vals.intern("");
    let mut w = World {
        keys,
        vals,
        dims: Vec::new(),
        well_known: Vec::new(),
        k_zone,
        k_ct,
        k_host,
        pools: Vec::new(),
        ex: Vec::new(),
        ex_names: Vec::new(),
        tgs: Vec::new(),
        tg_index: HashMap::new(),
        lsets: Vec::new(),
        ls_index: HashMap::new(),
        specs: Vec::new(),
        spec_index: HashMap::new(),
        pods: Vec::new(),
        universe: HashMap::new(),
        topo_keys: Vec::new(),
        any_pns: false,
        policy: input.options.preference_policy,
        namespaces: Vec::new(),
    };
    for (ns, labels) in &input.namespace_labels {
        let id = w.vals.intern(ns);
        let mut l = labels.clone();
        l.insert("kubernetes.io/metadata.name".into(), ns.clone());
        let lv = w.labels_of(&l);
        w.namespaces.push((id, lv));
    }

    // Pass 1: resource names, to learn the dimensions.
    let mut extra: BTreeSet<String> = BTreeSet::new();
    for p in &input.pending_pods {
        resource_names(p, &mut extra);
    }
    let mut ds_rl = Vec::new();
    for ds in &input.daemonsets {
        let name = format!(
            "DaemonSet {}/{}",
            ds.metadata.namespace.as_deref().unwrap_or("default"),
            ds.metadata.name.as_deref().unwrap_or("")
        );
        let pod = daemon_pod(ds);
        let rl = pod_requests(&pod)
            .map_err(|e| qerr(name.clone(), format!("spec.template.{}", e.field), e.error))?;
        for k in rl.0.keys() {
            if k != "cpu" && k != "memory" && k != "pods" {
                extra.insert(k.clone());
            }
        }
        ds_rl.push((pod, rl));
    }
    for np in &input.node_pools {
        for k in np.limits.iter().flat_map(|l| l.0.keys()) {
            if k != "cpu" && k != "memory" && k != "pods" && k != "nodes" {
                extra.insert(k.clone());
            }
        }
    }
    w.dims = ["cpu", "memory", "pods"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    w.dims.extend(extra);
    let nd = w.dims.len();

    // Pools.
    let mut order: Vec<usize> = (0..input.node_pools.len()).collect();
    order.sort_by(|a, b| {
        let (pa, pb) = (&input.node_pools[*a], &input.node_pools[*b]);
        pb.weight
            .cmp(&pa.weight)
            .then_with(|| pa.name.cmp(&pb.name))
    });
    for &pi in &order {
        let np = &input.node_pools[pi];
        let mut pool = PoolC {
            name: np.name.clone(),
            input_idx: pi,
            ..Default::default()
        };
        for r in &np.requirements {
            let key = w.keys.intern(&r.key);
            match Req::build(key, r.operator, &r.values, &mut w.vals) {
                Some(mut req) => {
                    req.min_values = r.min_values;
                    if let Some(m) = r.min_values {
                        pool.min_values.push((key, m));
                    }
                    pool.reqs.add(req, &w.vals);
                }
                None => {
                    pool.error = Some(format!(
                        "requirement {r} has a non-integer value for a numeric operator"
                    ));
                }
            }
        }
        for (k, v) in &np.labels {
            let key = w.keys.intern(k);
            let val = w.vals.intern(v);
            pool.reqs.add(Req::is_in(key, vec![val]), &w.vals);
        }
        let kp = w.keys.intern(NODEPOOL);
        let vp = w.vals.intern(&np.name);
        pool.reqs.add(Req::is_in(kp, vec![vp]), &w.vals);
        for t in &np.taints {
            if let Some(tc) = w.taint(t) {
                pool.taints.push(tc);
            }
        }
        // Types, cheapest available offering first, ties by name.
        let mut types: Vec<(f64, &str, usize)> = np
            .instance_types
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let p = it
                    .offerings
                    .iter()
                    .filter(|o| o.available)
                    .map(|o| o.price)
                    .fold(f64::INFINITY, f64::min);
                (p, it.name.as_str(), i)
            })
            .collect();
        types.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let nt = types.len();
        pool.all_types = vec![0; nt.div_ceil(64)];
        for (ti, &(_, _, idx)) in types.iter().enumerate() {
            let it = &np.instance_types[idx];
            let mut labels = it.labels.clone();
            labels
                .entry(INSTANCE_TYPE.into())
                .or_insert_with(|| it.name.clone());
            labels.entry(ARCH.into()).or_insert_with(|| "amd64".into());
            labels.entry(OS.into()).or_insert_with(|| "linux".into());
            labels.remove(ZONE);
            labels.remove(CAPACITY_TYPE);
            let lv = w.labels_of(&labels);
            for (k, _) in &lv {
                pool.type_keys.insert(*k);
            }
            let mut offers: Vec<(u32, u32, f64, usize)> = it
                .offerings
                .iter()
                .enumerate()
                .filter(|(_, o)| o.available && o.price.is_finite() && o.price >= 0.0)
                .map(|(oi, o)| {
                    (
                        w.vals.intern(&o.zone),
                        w.vals.intern(o.capacity_type.as_str()),
                        o.price,
                        oi,
                    )
                })
                .collect();
            // Cheapest first, ties by zone then capacity type, so the first offering a claim's
            // requirements allow is the one to launch.
            offers.sort_by(|a, b| {
                a.2.total_cmp(&b.2)
                    .then_with(|| w.vals.name(a.0).cmp(w.vals.name(b.0)))
                    .then_with(|| w.vals.name(a.1).cmp(w.vals.name(b.1)))
            });
            let alloc = it.allocatable();
            let cap = &it.capacity;
            pool.alloc.extend(w.dims.iter().map(|d| alloc.get(d)));
            pool.cap.extend(w.dims.iter().map(|d| cap.get(d)));
            pool.type_idx.push(idx);
            pool.type_labels.push(lv);
            pool.price
                .push(offers.first().map_or(f64::INFINITY, |o| o.2));
            pool.offers.push(offers);
            let _ = ti;
        }
        let mut by_name: Vec<usize> = (0..nt).collect();
        by_name.sort_by(|a, b| types[*a].1.cmp(types[*b].1));
        pool.name_rank = vec![0; nt];
        for (rank, ti) in by_name.into_iter().enumerate() {
            pool.name_rank[ti] = rank as u32;
        }
        let nd = w.dims.len();
        pool.suffix_max = pool.alloc.clone();
        for ti in (0..nt.saturating_sub(1)).rev() {
            for d in 0..nd {
                let later = pool.suffix_max[(ti + 1) * nd + d];
                let m = &mut pool.suffix_max[ti * nd + d];
                *m = (*m).max(later);
            }
        }
        pool.block_max = vec![0; nt.div_ceil(64) * nd];
        for ti in 0..nt {
            for d in 0..nd {
                let m = &mut pool.block_max[(ti / 64) * nd + d];
                *m = (*m).max(pool.alloc[ti * nd + d]);
            }
        }
        pool.index = TypeIndex::build(nt, &pool.type_labels, &pool.offers, [w.k_zone, w.k_ct]);
        let mut every = vec![0u64; nt.div_ceil(64)];
        for ti in 0..nt {
            bit_set(&mut every, ti);
        }
        pool.all_types = w.types_ok(&pool, &pool.reqs, &every);
        if let Some(limits) = &np.limits {
            let mut rem: Vec<i64> = w
                .dims
                .iter()
                .map(|d| limits.0.get(d).copied().unwrap_or(i64::MAX))
                .collect();
            rem.push(limits.0.get("nodes").map(|n| n / 1000).unwrap_or(i64::MAX));
            pool.remaining = Some(rem);
        }
        w.pools.push(pool);
    }
    // Well-known keys: the fixed list, AWS instance labels and every instance-type label key.
    let mut wk: Vec<u32> = WELL_KNOWN.iter().filter_map(|k| w.keys.get(k)).collect();
    for p in &w.pools {
        wk.extend(p.type_keys.iter().copied());
    }

    // Existing nodes and their pods.
    let mut existing_pods: Vec<(usize, u32, Option<&Pod>)> = Vec::new();
    for (ni, n) in input.existing_nodes.iter().enumerate() {
        let labels = w.labels_of(&n.labels);
        let mut taints = Vec::new();
        for t in &n.taints {
            if n.in_flight && EPHEMERAL_TAINTS.contains(&t.key.as_str()) {
                continue;
            }
            if n.in_flight {
                let startup = input
                    .node_pools
                    .iter()
                    .filter(|p| Some(&p.name) == n.node_pool.as_ref())
                    .any(|p| {
                        p.startup_taints
                            .iter()
                            .any(|s| s.key == t.key && s.effect == t.effect)
                    });
                if startup {
                    continue;
                }
            }
            if let Some(tc) = w.taint(t) {
                if tc.effect == Effect::PreferNoSchedule {
                    w.any_pns = true;
                }
                taints.push(tc);
            }
        }
        let alloc = w.vec_of(&n.allocatable);
        let mut used = vec![0; nd];
        let mut ports = Vec::new();
        for p in &n.pods {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            if matches!(phase, Some("Succeeded") | Some("Failed")) {
                continue;
            }
            let rl = pod_requests(p).map_err(|e| {
                qerr(
                    format!("Pod {} on node {}", pod_key(p), n.name),
                    e.field,
                    e.error,
                )
            })?;
            for (d, u) in used.iter_mut().enumerate() {
                *u += rl.get(&w.dims[d]);
            }
            used[PODS] += POD_UNIT;
            ports.extend(host_ports(p));
            let ns = w.ns_id(p.metadata.namespace.as_deref().unwrap_or("default"));
            let lv = w.labels_of(&p.metadata.labels.clone().unwrap_or_default());
            let ls = w.label_set(ns, lv);
            existing_pods.push((ni, ls, Some(p)));
        }
        w.ex.push(ExNode {
            labels,
            taints,
            alloc,
            used,
            ports,
            pods: Vec::new(),
        });
        w.ex_names.push(n.name.clone());
    }
    // Pool limits: existing capacity counts.
    for pool in &mut w.pools {
        if let Some(rem) = &mut pool.remaining {
            for n in input
                .existing_nodes
                .iter()
                .filter(|n| n.node_pool.as_deref() == Some(pool.name.as_str()))
            {
                let cap = if n.capacity.0.is_empty() {
                    &n.allocatable
                } else {
                    &n.capacity
                };
                for (d, r) in rem.iter_mut().enumerate().take(nd) {
                    *r = r.saturating_sub(cap.get(&w.dims[d]));
                }
                rem[nd] = rem[nd].saturating_sub(1);
            }
        }
        if pool
            .taints
            .iter()
            .any(|t| t.effect == Effect::PreferNoSchedule)
        {
            w.any_pns = true;
        }
    }

    // Pending pods.
    let volumes = VolumeIndex::new(input);
    let mut ns_cache: HashMap<String, u32> = HashMap::new();
    let mut qcache: HashMap<&str, i64> = HashMap::new();
    for p in &input.pending_pods {
        let ns_name = p.metadata.namespace.as_deref().unwrap_or("default");
        let ns = match ns_cache.get(ns_name) {
            Some(&id) => id,
            None => {
                let id = w.ns_id(ns_name);
                ns_cache.insert(ns_name.to_string(), id);
                id
            }
        };
        let lv = match &p.metadata.labels {
            Some(l) => w.labels_of(l),
            None => Vec::new(),
        };
        let ls = w.label_set(ns, lv);
        let spec = w.spec(p, ns, input, &volumes);
        let spec_id = w.intern_spec(spec);
        let mut req = requests_vec(p, &w.dims, &mut qcache).map_err(|e| {
            // The slow path names the field.
            match pod_requests(p) {
                Err(fe) => qerr(format!("Pod {}", pod_key(p)), fe.field, fe.error),
                Ok(_) => qerr(format!("Pod {}", pod_key(p)), "spec".into(), e),
            }
        })?;
        req[PODS] += POD_UNIT;
        w.pods.push(PodC {
            key: pod_key(p),
            req,
            ls,
            spec: spec_id,
            relax: Relax::default(),
            group: 0,
        });
    }
    // Required anti-affinity of running pods.
    let mut ex_anti: Vec<(usize, u32)> = Vec::new();
    for &(ni, _, p) in &existing_pods {
        let Some(p) = p else { continue };
        let Some(terms) = p
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
        else {
            continue;
        };
        let ns = w.ns_id(p.metadata.namespace.as_deref().unwrap_or("default"));
        let labels = p.metadata.labels.clone().unwrap_or_default();
        for t in terms {
            let id = w.affinity_tg(TgKind::AntiAffinity, t, ns, &labels);
            ex_anti.push((ni, id));
        }
    }
    // Which groups select which label sets.
    for li in 0..w.lsets.len() {
        let (ns, labels) = (w.lsets[li].ns, w.lsets[li].labels.clone());
        let mut counted = Vec::new();
        let mut anti = Vec::new();
        for (ti, tg) in w.tgs.iter().enumerate() {
            if tg.k.ns.contains(ns) && tg.k.selector.matches(&labels) {
                counted.push(ti as u32);
                if tg.k.kind == TgKind::AntiAffinity {
                    anti.push(ti as u32);
                }
            }
        }
        w.lsets[li].counted_in = counted;
        w.lsets[li].anti_selecting = anti;
    }
    // Domains of every topology key.
    let mut tkeys: Vec<u32> = w
        .tgs
        .iter()
        .filter(|t| !t.hostname)
        .map(|t| t.k.key)
        .collect();
    tkeys.sort_unstable();
    tkeys.dedup();
    for &k in &tkeys {
        let mut set: BTreeSet<u32> = BTreeSet::new();
        for pool in &w.pools {
            let preq = pool.reqs.get(k);
            for ti in bits(&pool.all_types) {
                if k == w.k_zone || k == w.k_ct {
                    for o in &pool.offers[ti] {
                        let v = if k == w.k_zone { o.0 } else { o.1 };
                        if preq.is_none_or(|r| r.has(v, &w.vals)) {
                            set.insert(v);
                        }
                    }
                } else if let Some(v) = label_of(&pool.type_labels[ti], k) {
                    if preq.is_none_or(|r| r.has(v, &w.vals)) {
                        set.insert(v);
                    }
                } else if let Some(r) = preq.filter(|r| !r.complement) {
                    set.extend(r.values.iter().copied());
                }
            }
        }
        for n in &w.ex {
            if let Some(v) = label_of(&n.labels, k) {
                set.insert(v);
            }
        }
        w.universe.insert(k, set.into_iter().collect());
    }
    w.topo_keys = tkeys;
    // Existing pods count toward topology.
    for &(ni, ls, _) in &existing_pods {
        let counted = w.lsets[ls as usize].counted_in.clone();
        for tg in counted {
            if !w.ex_passes_filter(tg, ni) {
                continue;
            }
            let dom = if w.tgs[tg as usize].hostname {
                Some(ni as u32)
            } else {
                label_of(&w.ex[ni].labels, w.tgs[tg as usize].k.key)
            };
            if let Some(d) = dom {
                let t = &mut w.tgs[tg as usize];
                *t.counts.entry(d).or_insert(0) += 1;
                t.total += 1;
            }
        }
    }
    for (ni, tg) in ex_anti {
        let dom = if w.tgs[tg as usize].hostname {
            Some(ni as u32)
        } else {
            label_of(&w.ex[ni].labels, w.tgs[tg as usize].k.key)
        };
        if let Some(d) = dom {
            let t = &mut w.tgs[tg as usize];
            *t.owners.entry(d).or_insert(0) += 1;
            t.owners_total += 1;
        }
    }
    // Daemon overhead: per pool, and on in-flight nodes.
    for (pod, rl) in &ds_rl {
        let ps = pod.spec.clone().unwrap_or_default();
        let tols: Vec<Tol> = ps.tolerations.iter().flatten().map(|t| w.tol(t)).collect();
        let mut base = Reqs::default();
        for (k, v) in ps.node_selector.iter().flatten() {
            let key = w.keys.intern(k);
            let val = w.vals.intern(v);
            base.add(Req::is_in(key, vec![val]), &w.vals);
        }
        let terms: Vec<Reqs> = ps
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|n| {
                n.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(|r| {
                r.node_selector_terms
                    .iter()
                    .map(|t| w.term_reqs(t))
                    .collect()
            })
            .unwrap_or_default();
        let alts: Vec<Reqs> = if terms.is_empty() {
            vec![base.clone()]
        } else {
            terms
                .into_iter()
                .map(|mut t| {
                    t.add_all(&base, &w.vals);
                    t
                })
                .collect()
        };
        let mut req = w.vec_of(rl);
        req[PODS] += POD_UNIT;
        for pi in 0..w.pools.len() {
            let pool = &w.pools[pi];
            if tolerates_all(&tols, &pool.taints, true).is_some() {
                continue;
            }
            let ok = alts.iter().any(|a| {
                pool.reqs
                    .compatible(a, &w.vals, |k| w.well_known_key(&wk, k))
                    .is_ok()
            });
            if ok {
                let pool = &mut w.pools[pi];
                if pool.daemon.is_empty() {
                    pool.daemon = vec![0; nd];
                }
                for d in 0..nd {
                    pool.daemon[d] += req[d];
                }
            }
        }
        for (ni, n) in input.existing_nodes.iter().enumerate() {
            if !n.in_flight {
                continue;
            }
            let ds_name = pod.metadata.name.as_deref().unwrap_or("");
            let has_daemon_pod = n.pods.iter().any(|p| {
                p.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.kind == "DaemonSet" && o.name == ds_name)
            });
            let node = &w.ex[ni];
            if has_daemon_pod
                || tolerates_all(&tols, &node.taints, true).is_some()
                || !alts.iter().any(|a| a.matches_labels(&node.labels, &w.vals))
            {
                continue;
            }
            for d in 0..nd {
                w.ex[ni].used[d] += req[d];
            }
        }
    }
    for pool in &mut w.pools {
        if pool.daemon.is_empty() {
            pool.daemon = vec![0; nd];
        }
    }
    let mut wk_flags = vec![false; w.keys_len()];
    for k in wk {
        wk_flags[k as usize] = true;
    }
    for k in 0..wk_flags.len() as u32 {
        if w.keys.name(k).starts_with("karpenter.k8s.aws/instance-") {
            wk_flags[k as usize] = true;
        }
    }
    w.well_known = wk_flags;
    Ok(w)
}

/// The pod a DaemonSet would run (template metadata and spec, named after the DaemonSet).
pub(crate) fn daemon_pod(ds: &k8s_openapi::api::apps::v1::DaemonSet) -> Pod {
    let t = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let mut meta = t.metadata.unwrap_or_default();
    meta.name = ds.metadata.name.clone();
    meta.namespace = ds.metadata.namespace.clone();
    Pod {
        metadata: meta,
        spec: t.spec,
        status: None,
    }
}

impl World {
    fn keys_len(&self) -> usize {
        self.keys.len()
    }

    fn well_known_key(&self, wk: &[u32], k: u32) -> bool {
        wk.contains(&k) || self.keys.name(k).starts_with("karpenter.k8s.aws/instance-")
    }

    /// The types of `mask` (a bitset over `pool`'s types) that [`World::type_ok`] accepts:
    /// compatible with `reqs` (a type lacking a label passes) and with an available offering in
    /// the zones and capacity types they allow, computed with the pool's [`TypeIndex`].
    pub(crate) fn types_ok(&self, pool: &PoolC, reqs: &Reqs, mask: &[u64]) -> Vec<u64> {
        let ix = &pool.index;
        let mut out = mask.to_vec();
        let mut allowed = vec![0u64; out.len()];
        let or = |acc: &mut [u64], b: &[u64]| acc.iter_mut().zip(b).for_each(|(a, x)| *a |= x);
        for r in &reqs.0 {
            if r.key == self.k_zone || r.key == self.k_ct {
                continue;
            }
            // No type carries the key: every type passes.
            let Some(k) = ix.keys.get(&r.key) else {
                continue;
            };
            allowed.copy_from_slice(&k.absent);
            if !r.complement && r.gt.is_none() && r.lt.is_none() {
                for v in &r.values {
                    if let Ok(i) = k.vals.binary_search_by_key(v, |(x, _)| *x) {
                        or(&mut allowed, &k.vals[i].1);
                    }
                }
            } else {
                for (v, b) in &k.vals {
                    if r.has(*v, &self.vals) {
                        or(&mut allowed, b);
                    }
                }
            }
            out.iter_mut().zip(&allowed).for_each(|(o, a)| *o &= a);
        }
        let zr = reqs.get(self.k_zone);
        let cr = reqs.get(self.k_ct);
        if zr.is_none() && cr.is_none() {
            out.iter_mut().zip(&ix.any_offer).for_each(|(o, a)| *o &= a);
        } else {
            allowed.iter_mut().for_each(|a| *a = 0);
            for (z, c, b) in &ix.offers {
                if zr.is_none_or(|r| r.has(*z, &self.vals))
                    && cr.is_none_or(|r| r.has(*c, &self.vals))
                {
                    or(&mut allowed, b);
                }
            }
            out.iter_mut().zip(&allowed).for_each(|(o, a)| *o &= a);
        }
        out
    }

    /// Whether type `ti` of `pool` is compatible with `reqs` and has an available offering in
    /// the zones and capacity types they allow.
    #[cfg(test)]
    pub(crate) fn type_ok(&self, pool: &PoolC, ti: usize, reqs: &Reqs) -> bool {
        let labels = &pool.type_labels[ti];
        for r in &reqs.0 {
            if r.key == self.k_zone || r.key == self.k_ct {
                continue;
            }
            if let Some(v) = label_of(labels, r.key) {
                if !r.has(v, &self.vals) {
                    return false;
                }
            }
        }
        let zr = reqs.get(self.k_zone);
        let cr = reqs.get(self.k_ct);
        pool.offers[ti].iter().any(|o| {
            zr.is_none_or(|r| r.has(o.0, &self.vals)) && cr.is_none_or(|r| r.has(o.1, &self.vals))
        })
    }
}

/// Adds every resource name a pod requests or limits (other than cpu, memory, pods) to `out`.
fn resource_names(pod: &Pod, out: &mut BTreeSet<String>) {
    let Some(spec) = &pod.spec else { return };
    let mut add = |k: &String| {
        if k != "cpu" && k != "memory" && k != "pods" && !out.contains(k) {
            out.insert(k.clone());
        }
    };
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        if let Some(r) = &c.resources {
            r.requests.iter().flatten().for_each(|(k, _)| add(k));
            r.limits.iter().flatten().for_each(|(k, _)| add(k));
        }
    }
    spec.overhead.iter().flatten().for_each(|(k, _)| add(k));
}

fn cached_quantity<'a>(
    cache: &mut HashMap<&'a str, i64>,
    q: &'a str,
) -> Result<i64, karpenter_api::quantity::QuantityError> {
    if let Some(v) = cache.get(q) {
        return Ok(*v);
    }
    let v = karpenter_api::quantity::parse_milli(q)?;
    cache.insert(q, v);
    Ok(v)
}

/// [`pod_requests`] on resource vectors over `dims`, with parsed quantities cached: the same
/// semantics (containers plus sidecars, init containers with the sidecars started before them,
/// limits standing in for missing requests, plus overhead), without building maps.
pub(crate) fn requests_vec<'a>(
    pod: &'a Pod,
    dims: &[String],
    cache: &mut HashMap<&'a str, i64>,
) -> Result<Vec<i64>, karpenter_api::quantity::QuantityError> {
    let nd = dims.len();
    let mut reqs = vec![0i64; nd];
    let Some(spec) = &pod.spec else {
        return Ok(reqs);
    };
    let dim = |k: &str| dims.iter().position(|d| d == k);
    let mut container = |c: &'a k8s_openapi::api::core::v1::Container,
                         out: &mut Vec<i64>|
     -> Result<(), karpenter_api::quantity::QuantityError> {
        out.iter_mut().for_each(|x| *x = 0);
        if let Some(r) = &c.resources {
            for (k, q) in r.requests.iter().flatten() {
                if let Some(d) = dim(k) {
                    out[d] = cached_quantity(cache, &q.0)?;
                }
            }
            for (k, q) in r.limits.iter().flatten() {
                if r.requests.as_ref().is_some_and(|m| m.contains_key(k)) {
                    continue;
                }
                if let Some(d) = dim(k) {
                    out[d] = cached_quantity(cache, &q.0)?;
                }
            }
        }
        Ok(())
    };
    let mut tmp = vec![0i64; nd];
    for c in &spec.containers {
        container(c, &mut tmp)?;
        for d in 0..nd {
            reqs[d] = reqs[d].saturating_add(tmp[d]);
        }
    }
    if let Some(inits) = &spec.init_containers {
        let mut restartable = vec![0i64; nd];
        let mut init_max = vec![0i64; nd];
        for c in inits {
            container(c, &mut tmp)?;
            if c.restart_policy.as_deref() == Some("Always") {
                for d in 0..nd {
                    reqs[d] = reqs[d].saturating_add(tmp[d]);
                    restartable[d] = restartable[d].saturating_add(tmp[d]);
                    init_max[d] = init_max[d].max(restartable[d]);
                }
            } else {
                for d in 0..nd {
                    init_max[d] = init_max[d].max(tmp[d].saturating_add(restartable[d]));
                }
            }
        }
        for d in 0..nd {
            reqs[d] = reqs[d].max(init_max[d]);
        }
    }
    for (k, q) in spec.overhead.iter().flatten() {
        if let Some(d) = dim(k) {
            reqs[d] = reqs[d].saturating_add(cached_quantity(cache, &q.0)?);
        }
    }
    Ok(reqs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use proptest::prelude::*;

    fn container(cpu: Option<u32>, mem_lim: Option<u32>, sidecar: bool) -> Container {
        let mut req = BTreeMap::new();
        if let Some(c) = cpu {
            req.insert("cpu".to_string(), Quantity(format!("{c}m")));
        }
        let mut lim = BTreeMap::new();
        if let Some(m) = mem_lim {
            lim.insert("memory".to_string(), Quantity(format!("{m}Mi")));
        }
        Container {
            name: "c".into(),
            restart_policy: sidecar.then(|| "Always".to_string()),
            resources: Some(ResourceRequirements {
                requests: Some(req),
                limits: Some(lim),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    proptest! {
        /// The vector form used by the scheduler agrees with the public `pod_requests`.
        #[test]
        fn requests_vec_matches_pod_requests(
            main in prop::collection::vec((prop::option::of(0u32..4000), prop::option::of(0u32..4000)), 1..4),
            init in prop::collection::vec((prop::option::of(0u32..4000), prop::option::of(0u32..4000), any::<bool>()), 0..4),
        ) {
            let pod = Pod {
                spec: Some(PodSpec {
                    containers: main.iter().map(|(c, m)| container(*c, *m, false)).collect(),
                    init_containers: Some(init.iter().map(|(c, m, s)| container(*c, *m, *s)).collect()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let dims: Vec<String> = ["cpu", "memory", "pods"].iter().map(|s| s.to_string()).collect();
            let mut cache = HashMap::new();
            let v = requests_vec(&pod, &dims, &mut cache).unwrap();
            let rl = pod_requests(&pod).unwrap();
            prop_assert_eq!(v[CPU], rl.get("cpu"));
            prop_assert_eq!(v[MEM], rl.get("memory"));
        }

        /// The bitset evaluation agrees with evaluating every type on its own, for types with
        /// and without each label, numeric and other values, and partly unavailable offerings.
        #[test]
        fn types_ok_matches_type_ok(
            types in prop::collection::vec(
                (prop::option::of(0usize..4), prop::option::of(0usize..6), prop::collection::vec(0u8..3, 6)),
                1..140,
            ),
            reqs in prop::collection::vec(
                (0usize..6, 0usize..7, prop::collection::vec(0usize..12, 0..4)),
                0..5,
            ),
            mask_seed in any::<u64>(),
        ) {
            use crate::fixtures::instance_type;
            use karpenter_catalog::model::CapacityType;
            let zones = ["z1", "z2", "z3"];
            let cts = [CapacityType::OnDemand, CapacityType::Spot];
            let nums = ["1", "2", "5", "10", "x", "-3"];
            let catalog: Vec<_> = types
                .iter()
                .enumerate()
                .map(|(i, (a, n, offers))| {
                    let mut it = instance_type(&format!("t{i}"), 2, 4, 10, 0.1 + i as f64, &[], &[]);
                    if let Some(a) = a {
                        it.labels.insert("a".into(), format!("v{a}"));
                    }
                    if let Some(n) = n {
                        it.labels.insert("n".into(), nums[*n].into());
                    }
                    for (oi, state) in offers.iter().enumerate() {
                        if *state > 0 {
                            it.offerings.push(karpenter_catalog::model::Offering {
                                zone: zones[oi % 3].into(),
                                zone_id: None,
                                capacity_type: cts[oi / 3],
                                price: 0.1 + i as f64,
                                available: *state == 1,
                            });
                        }
                    }
                    it
                })
                .collect();
            let input = SchedulerInput {
                node_pools: vec![crate::model::NodePoolInput {
                    name: "p".into(),
                    instance_types: catalog,
                    ..Default::default()
                }],
                ..Default::default()
            };
            let mut w = compile(&input).unwrap();
            let keys = ["a", "n", "zz", ZONE, CAPACITY_TYPE, INSTANCE_TYPE];
            let values = [
                "v0", "v1", "v3", "1", "5", "x", "z1", "z3", "spot", "on-demand", "t0", "t7",
            ];
            let ops = [
                Operator::In,
                Operator::NotIn,
                Operator::Exists,
                Operator::DoesNotExist,
                Operator::Gt,
                Operator::Lt,
                Operator::Gte,
            ];
            let mut rs = Reqs::default();
            for (k, op, vs) in &reqs {
                let key = w.keys.intern(keys[*k]);
                let mut vs: Vec<String> = vs.iter().map(|v| values[*v].to_string()).collect();
                if matches!(ops[*op], Operator::Gt | Operator::Lt | Operator::Gte) {
                    vs = vec![vs.first().map_or(2, |v| v.len() as i64).to_string()];
                }
                if let Some(r) = Req::build(key, ops[*op], &vs, &mut w.vals) {
                    rs.add(r, &w.vals);
                }
            }
            let pool = &w.pools[0];
            let nt = pool.type_labels.len();
            let mut mask = vec![0u64; nt.div_ceil(64)];
            let mut x = mask_seed | 1;
            for ti in 0..nt {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x % 4 != 0 {
                    bit_set(&mut mask, ti);
                }
            }
            for m in [&mask, &pool.all_types] {
                let want: Vec<usize> = bits(m).filter(|&ti| w.type_ok(pool, ti, &rs)).collect();
                let got: Vec<usize> = bits(&w.types_ok(pool, &rs, m)).collect();
                prop_assert_eq!(got, want);
            }
            let every: Vec<usize> = (0..nt).filter(|&ti| w.type_ok(pool, ti, &pool.reqs)).collect();
            prop_assert_eq!(bits(&pool.all_types).collect::<Vec<_>>(), every);
        }
    }
}
