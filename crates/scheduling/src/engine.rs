//! The placement loop: pods largest first, existing and in-flight nodes first, then open
//! NodeClaims, then new NodeClaims from the NodePools in weight order; preferences relaxed one at
//! a time in Karpenter's order when a pod fits nowhere.

// Resource vectors are parallel arrays indexed by dimension; index loops read best here.
#![allow(clippy::needless_range_loop)]

use crate::compile::{bits, tolerates_all, PodC, Relax, TgKind, Tol, World, CPU, MEM};
use crate::freetree::FreeTree;
use crate::model::{MinValuesPolicy, PreferencePolicy, SchedulerOptions};
use crate::pod::HostPort;
use crate::requirements::{label_of, Conflict, Req, Reqs};
use std::collections::{HashMap, VecDeque};

/// Effective constraints of pods with the same requests, labels, spec and relaxation.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub req: Vec<i64>,
    pub ls: u32,
    pub spec: u32,
    pub reqs: Reqs,
    pub tols: Vec<Tol>,
    pub pns: bool,
    pub topo: Vec<u32>,
    pub ports: Vec<HostPort>,
    /// Per pool: index of the first pool taint not tolerated.
    pub pool_taint: Vec<Option<usize>>,
    /// Per pool: price of the cheapest type a new node holding one pod could be.
    pub fresh_price: Vec<f64>,
    pub batchable: bool,
    pub cur_ex: usize,
    pub cur_claim: usize,
}

/// A NodeClaim being formed.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub pool: usize,
    pub reqs: Reqs,
    pub types: Vec<u64>,
    pub max_alloc: Vec<i64>,
    pub used: Vec<i64>,
    pub ports: Vec<HostPort>,
    pub pods: Vec<u32>,
    pub reserved: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Ex(u32),
    Claim(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reason {
    Taint(usize),
    Ports,
    Resources,
    Req(Conflict),
    Topology(u32),
    NoDomain(u32),
    MinValues(u32),
    Limits,
    PoolError,
}

#[derive(Debug, Clone)]
pub(crate) struct Fail {
    pub perm: bool,
    pub reason: Reason,
}

fn perm(reason: Reason) -> Fail {
    Fail { perm: true, reason }
}

fn soft(reason: Reason) -> Fail {
    Fail {
        perm: false,
        reason,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct KeyCons {
    pub key: u32,
    pub allowed: Option<Vec<u32>>,
    pub forbidden: Vec<u32>,
    pub needs: bool,
    pub spread: Option<u32>,
    pub tg: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum HostKind {
    Spread { max: i32, selfc: u32 },
    Aff { any_ok: bool },
    Anti,
    Inverse,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Topo {
    pub keys: Vec<KeyCons>,
    pub hosts: Vec<(u32, HostKind)>,
}

impl KeyCons {
    fn ok(&self, d: u32) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|a| a.binary_search(&d).is_ok())
            && !self.forbidden.contains(&d)
    }
}

struct Commit {
    reqs: Option<Reqs>,
    types: Vec<u64>,
    k: u32,
}

/// The scheduler state.
pub(crate) struct Engine {
    pub w: World,
    pub groups: Vec<Group>,
    gindex: HashMap<(Vec<i64>, u32, u32, Relax), u32>,
    pub claims: Vec<Claim>,
    pub placed: Vec<Option<Slot>>,
    pub failed: Vec<u32>,
    /// Per (group, pool): the state of the last new claim formed for a batch, and its pod count.
    fresh_memo: HashMap<(u32, usize), (Claim, u32)>,
    /// Room left in each open claim's current cheapest type.
    free: FreeTree,
    opts: SchedulerOptions,
    nd: usize,
}

fn pinned(reqs: &Reqs, key: u32) -> Option<u32> {
    reqs.get(key)
        .filter(|r| !r.complement && r.values.len() == 1)
        .map(|r| r.values[0])
}

impl Engine {
    pub(crate) fn new(w: World, opts: SchedulerOptions) -> Engine {
        let nd = w.dims.len();
        let n = w.pods.len();
        Engine {
            w,
            groups: Vec::new(),
            gindex: HashMap::new(),
            claims: Vec::new(),
            placed: vec![None; n],
            failed: Vec::new(),
            fresh_memo: HashMap::new(),
            free: FreeTree::new(nd),
            opts,
            nd,
        }
    }

    fn initial_relax(&self, spec: u32) -> Relax {
        if self.w.policy == PreferencePolicy::Ignore {
            let s = &self.w.specs[spec as usize];
            Relax {
                req_terms: 0,
                pref_aff: s.pref_affinity.len() as u8,
                pref_anti: s.pref_anti.len() as u8,
                pref_node: s.preferred_node.len() as u8,
                anyway: s.anyway_count() as u8,
                pns: true,
            }
        } else {
            Relax::default()
        }
    }

    /// The next relaxation of a pod, in Karpenter's order; `None` when nothing is left.
    fn next_relax(&self, spec: u32, mut r: Relax) -> Option<Relax> {
        let s = &self.w.specs[spec as usize];
        if s.required_terms.len() > r.req_terms as usize + 1 {
            r.req_terms += 1;
        } else if (r.pref_aff as usize) < s.pref_affinity.len() {
            r.pref_aff += 1;
        } else if (r.pref_anti as usize) < s.pref_anti.len() {
            r.pref_anti += 1;
        } else if (r.pref_node as usize) < s.preferred_node.len() {
            r.pref_node += 1;
        } else if (r.anyway as usize) < s.anyway_count() {
            r.anyway += 1;
        } else if !r.pns && self.w.any_pns {
            r.pns = true;
        } else {
            return None;
        }
        Some(r)
    }

    fn group(&mut self, req: &[i64], ls: u32, spec: u32, relax: Relax) -> u32 {
        let key = (req.to_vec(), ls, spec, relax);
        if let Some(&g) = self.gindex.get(&key) {
            return g;
        }
        let w = &self.w;
        let s = &w.specs[spec as usize];
        let mut reqs = s.base.clone();
        if let Some(t) = s.required_terms.get(relax.req_terms as usize) {
            reqs.add_all(t, &w.vals);
        }
        if let Some(t) = s.preferred_node.get(relax.pref_node as usize) {
            reqs.add_all(t, &w.vals);
        }
        let mut topo = Vec::new();
        let mut anyway_seen = 0u8;
        for &(tg, anyway) in &s.spreads {
            if anyway {
                anyway_seen += 1;
                if anyway_seen <= relax.anyway {
                    continue;
                }
            }
            topo.push(tg);
        }
        topo.extend(s.affinity.iter().copied());
        topo.extend(
            s.pref_affinity
                .iter()
                .skip(relax.pref_aff as usize)
                .copied(),
        );
        topo.extend(s.anti.iter().copied());
        topo.extend(s.pref_anti.iter().skip(relax.pref_anti as usize).copied());
        topo.sort_unstable();
        topo.dedup();
        let pool_taint = w
            .pools
            .iter()
            .map(|p| tolerates_all(&s.tols, &p.taints, relax.pns))
            .collect();
        // Cheapest new node for one pod of the group, per pool.
        let nd = self.nd;
        let fresh_price: Vec<f64> = w
            .pools
            .iter()
            .map(|p| {
                let mut full = p.reqs.clone();
                if !reqs.is_empty() {
                    full.add_all(&reqs, &w.vals);
                }
                let ok = if reqs.is_empty() {
                    p.all_types.clone()
                } else {
                    w.types_ok(p, &full, &p.all_types)
                };
                let first = bits(&ok)
                    .find(|&ti| (0..nd).all(|d| p.alloc[ti * nd + d] >= p.daemon[d] + req[d]));
                first.map_or(f64::INFINITY, |ti| p.price[ti])
            })
            .collect();
        let batchable =
            topo.is_empty() && s.ports.is_empty() && w.lsets[ls as usize].anti_selecting.is_empty();
        let g = Group {
            req: req.to_vec(),
            ls,
            spec,
            reqs,
            tols: s.tols.clone(),
            pns: relax.pns,
            topo,
            ports: s.ports.clone(),
            pool_taint,
            fresh_price,
            batchable,
            cur_ex: 0,
            cur_claim: 0,
        };
        let id = self.groups.len() as u32;
        self.groups.push(g);
        self.gindex.insert(key, id);
        id
    }

    fn slot_id(&self, s: Slot) -> u32 {
        match s {
            Slot::Ex(i) => i,
            Slot::Claim(c) => self.w.ex.len() as u32 + c,
        }
    }

    pub(crate) fn topo(&self, g: u32) -> Topo {
        let grp = &self.groups[g as usize];
        let w = &self.w;
        let ls = &w.lsets[grp.ls as usize];
        let mut t = Topo::default();
        if grp.topo.is_empty() && ls.anti_selecting.is_empty() {
            return t;
        }
        let key_entry = |t: &mut Topo, key: u32, tg: u32| -> usize {
            match t.keys.iter().position(|k| k.key == key) {
                Some(i) => i,
                None => {
                    t.keys.push(KeyCons {
                        key,
                        allowed: None,
                        forbidden: Vec::new(),
                        needs: false,
                        spread: None,
                        tg,
                    });
                    t.keys.len() - 1
                }
            }
        };
        let narrow = |kc: &mut KeyCons, allowed: Vec<u32>| {
            kc.allowed = Some(match kc.allowed.take() {
                None => allowed,
                Some(a) => a
                    .into_iter()
                    .filter(|v| allowed.binary_search(v).is_ok())
                    .collect(),
            });
        };
        for &tgi in &grp.topo {
            let tg = &w.tgs[tgi as usize];
            let selfc = ls.counted_in.binary_search(&tgi).is_ok() as u32;
            if tg.hostname {
                let kind = match tg.k.kind {
                    TgKind::Spread => HostKind::Spread {
                        max: tg.k.max_skew,
                        selfc,
                    },
                    TgKind::Affinity => HostKind::Aff {
                        any_ok: tg.total == 0 && selfc > 0,
                    },
                    TgKind::AntiAffinity => HostKind::Anti,
                };
                t.hosts.push((tgi, kind));
                continue;
            }
            let universe: &[u32] = w
                .universe
                .get(&tg.k.key)
                .map(|v| v.as_slice())
                .unwrap_or(&[]);
            let i = key_entry(&mut t, tg.k.key, tgi);
            match tg.k.kind {
                TgKind::Spread => {
                    let eligible: Vec<u32> =
                        match tg.k.filter_reqs.as_ref().and_then(|r| r.get(tg.k.key)) {
                            Some(r) => universe
                                .iter()
                                .copied()
                                .filter(|d| r.has(*d, &w.vals))
                                .collect(),
                            None => universe.to_vec(),
                        };
                    let count = |d: &u32| tg.counts.get(d).copied().unwrap_or(0) as i64;
                    let min = if (eligible.len() as i32) < tg.k.min_domains {
                        0
                    } else {
                        eligible.iter().map(count).min().unwrap_or(0)
                    };
                    let allowed: Vec<u32> = eligible
                        .iter()
                        .copied()
                        .filter(|d| count(d) + selfc as i64 - min <= tg.k.max_skew as i64)
                        .collect();
                    let kc = &mut t.keys[i];
                    narrow(kc, allowed);
                    kc.needs = true;
                    kc.spread = Some(tgi);
                    kc.tg = tgi;
                }
                TgKind::Affinity => {
                    let kc = &mut t.keys[i];
                    kc.needs = true;
                    if !(tg.total == 0 && selfc > 0) {
                        let mut allowed: Vec<u32> = tg
                            .counts
                            .iter()
                            .filter(|(_, c)| **c > 0)
                            .map(|(d, _)| *d)
                            .collect();
                        allowed.sort_unstable();
                        narrow(kc, allowed);
                        kc.tg = tgi;
                    }
                }
                TgKind::AntiAffinity => {
                    let kc = &mut t.keys[i];
                    kc.forbidden
                        .extend(tg.counts.iter().filter(|(_, c)| **c > 0).map(|(d, _)| *d));
                }
            }
        }
        for &tgi in &ls.anti_selecting {
            let tg = &w.tgs[tgi as usize];
            if tg.owners_total == 0 {
                continue;
            }
            if tg.hostname {
                t.hosts.push((tgi, HostKind::Inverse));
            } else {
                let i = key_entry(&mut t, tg.k.key, tgi);
                t.keys[i]
                    .forbidden
                    .extend(tg.owners.iter().filter(|(_, c)| **c > 0).map(|(d, _)| *d));
            }
        }
        t
    }

    fn host_ok(&self, topo: &Topo, slot: u32) -> Result<(), Fail> {
        for (tgi, kind) in &topo.hosts {
            let tg = &self.w.tgs[*tgi as usize];
            let c = tg.counts.get(&slot).copied().unwrap_or(0);
            match kind {
                HostKind::Spread { max, selfc } => {
                    if (c + selfc) as i64 > *max as i64 {
                        return Err(perm(Reason::Topology(*tgi)));
                    }
                }
                HostKind::Aff { any_ok } => {
                    if c == 0 && !any_ok {
                        return Err(soft(Reason::Topology(*tgi)));
                    }
                }
                HostKind::Anti => {
                    if c > 0 {
                        return Err(perm(Reason::Topology(*tgi)));
                    }
                }
                HostKind::Inverse => {
                    if tg.owners.get(&slot).copied().unwrap_or(0) > 0 {
                        return Err(perm(Reason::Topology(*tgi)));
                    }
                }
            }
        }
        Ok(())
    }

    /// How many pods with `req` fit in type `ti` of `pool` on top of `used`.
    fn fit_count(&self, pool: usize, ti: usize, used: &[i64], req: &[i64]) -> u32 {
        let nd = self.nd;
        let alloc = &self.w.pools[pool].alloc[ti * nd..(ti + 1) * nd];
        let mut k = u32::MAX as i64;
        for d in 0..nd {
            let free = alloc[d] - used[d];
            if free < 0 {
                return 0;
            }
            if req[d] > 0 {
                k = k.min(free / req[d]);
            }
        }
        k.max(0) as u32
    }

    fn eval_ex(&self, i: usize, g: u32, want: u32, topo: &Topo) -> Result<u32, Fail> {
        let grp = &self.groups[g as usize];
        let n = &self.w.ex[i];
        if let Some(t) = tolerates_all(&grp.tols, &n.taints, grp.pns) {
            return Err(perm(Reason::Taint(t)));
        }
        if !grp.reqs.matches_labels(&n.labels, &self.w.vals) {
            return Err(perm(Reason::Req(Conflict::Disjoint(0))));
        }
        if grp
            .ports
            .iter()
            .any(|p| n.ports.iter().any(|q| p.conflicts(q)))
        {
            return Err(perm(Reason::Ports));
        }
        let mut k = want as i64;
        for d in 0..self.nd {
            let free = n.alloc[d] - n.used[d];
            if grp.req[d] > 0 {
                k = k.min(free / grp.req[d]);
            }
        }
        if k <= 0 {
            return Err(perm(Reason::Resources));
        }
        self.host_ok(topo, i as u32)?;
        for kc in &topo.keys {
            match label_of(&n.labels, kc.key) {
                None if kc.needs => return Err(perm(Reason::NoDomain(kc.key))),
                None => {}
                Some(d) if !kc.ok(d) => return Err(soft(Reason::Topology(kc.tg))),
                Some(_) => {}
            }
        }
        if !topo.keys.is_empty() || !topo.hosts.is_empty() || !grp.ports.is_empty() {
            k = k.min(1);
        }
        Ok(k as u32)
    }

    fn eval_claim(
        &self,
        c: &Claim,
        slot: u32,
        g: u32,
        want: u32,
        topo: &Topo,
        grow: bool,
    ) -> Result<Commit, Fail> {
        let grp = &self.groups[g as usize];
        let w = &self.w;
        let pool = &w.pools[c.pool];
        if let Some(t) = grp.pool_taint[c.pool] {
            return Err(perm(Reason::Taint(t)));
        }
        if !grp.ports.is_empty()
            && grp
                .ports
                .iter()
                .any(|p| c.ports.iter().any(|q| p.conflicts(q)))
        {
            return Err(perm(Reason::Ports));
        }
        for d in 0..self.nd {
            if c.used[d] + grp.req[d] > c.max_alloc[d] {
                return Err(perm(Reason::Resources));
            }
        }
        self.host_ok(topo, slot)?;
        let mut reqs: Option<Reqs> = None;
        if !grp.reqs.is_empty() && !c.reqs.implies(&grp.reqs, &w.vals) {
            c.reqs
                .compatible(&grp.reqs, &w.vals, |k| w.is_well_known(k))
                .map_err(|e| perm(Reason::Req(e)))?;
            let mut r = c.reqs.clone();
            r.add_all(&grp.reqs, &w.vals);
            reqs = Some(r);
        }
        let mut pinned_any = false;
        for kc in &topo.keys {
            let cur = reqs.as_ref().unwrap_or(&c.reqs);
            if let Some(d) = pinned(cur, kc.key) {
                if !kc.ok(d) {
                    return Err(soft(Reason::Topology(kc.tg)));
                }
                continue;
            }
            let creq = cur.get(kc.key);
            let defined = creq.is_some()
                || kc.key == w.k_zone
                || kc.key == w.k_ct
                || pool.type_keys.contains(&kc.key);
            if !defined {
                if kc.needs {
                    return Err(perm(Reason::NoDomain(kc.key)));
                }
                continue;
            }
            let universe: &[u32] = w.universe.get(&kc.key).map(|v| v.as_slice()).unwrap_or(&[]);
            let mut cands: Vec<u32> = universe
                .iter()
                .copied()
                .filter(|d| creq.is_none_or(|r| r.has(*d, &w.vals)) && kc.ok(*d))
                .collect();
            if cands.is_empty() {
                return Err(soft(Reason::Topology(kc.tg)));
            }
            if let Some(stg) = kc.spread {
                let counts = &w.tgs[stg as usize].counts;
                cands.sort_by(|a, b| {
                    counts
                        .get(a)
                        .unwrap_or(&0)
                        .cmp(counts.get(b).unwrap_or(&0))
                        .then_with(|| w.vals.name(*a).cmp(w.vals.name(*b)))
                });
            } else {
                cands.sort_by(|a, b| w.vals.name(*a).cmp(w.vals.name(*b)));
            }
            let mut chosen = None;
            for d in cands {
                let mut r2 = cur.clone();
                r2.add(Req::is_in(kc.key, vec![d]), &w.vals);
                if w.types_ok(pool, &r2, &c.types).iter().any(|x| *x != 0) {
                    chosen = Some(r2);
                    break;
                }
            }
            match chosen {
                Some(r2) => {
                    reqs = Some(r2);
                    pinned_any = true;
                }
                None => return Err(soft(Reason::Topology(kc.tg))),
            }
        }
        // Instance types still compatible, and how many pods fit.
        let mut types = match &reqs {
            Some(r) => w.types_ok(pool, r, &c.types),
            None => c.types.clone(),
        };
        let single = !topo.keys.is_empty() || !topo.hosts.is_empty() || !grp.ports.is_empty();
        let want = if single { 1 } else { want };
        let price = &pool.price;
        let k = if c.pods.is_empty() {
            // A fresh claim: the type with the lowest price per pod placed.
            let mut best: Option<(f64, u32)> = None;
            for ti in bits(&types) {
                let f = self.fit_count(c.pool, ti, &c.used, &grp.req).min(want);
                if f == 0 {
                    continue;
                }
                let per = price[ti] / f as f64;
                if best.is_none_or(|(bp, bf)| per < bp * (1.0 - 1e-12) || (per <= bp && f > bf)) {
                    best = Some((per, f));
                }
            }
            best.map_or(0, |b| b.1)
        } else {
            // Fill the claim's current cheapest type; grow to a pricier type only when that
            // costs no more than a new node for the pod would.
            match bits(&types).next() {
                None => 0,
                Some(cur) => {
                    let free = self.fit_count(c.pool, cur, &c.used, &grp.req);
                    if free > 0 {
                        free.min(want)
                    } else if !grow {
                        return Err(soft(Reason::Resources));
                    } else {
                        // The first (cheapest) type that holds one more pod. Types are in
                        // price order, so the search stops early when no later type is large
                        // enough, or when (without a pinned domain, where every outcome is the
                        // same permanent failure) later types already cost too much.
                        let nd = self.nd;
                        let limit = grp.fresh_price[c.pool] * (1.0 + 1e-9);
                        let need: Vec<i64> =
                            (0..nd).map(|d| c.used[d] + grp.req[d].max(0)).collect();
                        let mut found = None;
                        'search: for (wi, &word) in types.iter().enumerate() {
                            let bm = &pool.block_max[wi * nd..(wi + 1) * nd];
                            if word == 0 || (0..nd).any(|d| bm[d] < need[d]) {
                                continue;
                            }
                            for ti in bits(std::slice::from_ref(&word)).map(|b| wi * 64 + b) {
                                if !pinned_any && price[ti] - price[cur] > limit {
                                    return Err(perm(Reason::Resources));
                                }
                                let sm = &pool.suffix_max[ti * nd..(ti + 1) * nd];
                                if (0..nd).any(|d| sm[d] < need[d]) {
                                    break 'search;
                                }
                                if self.fit_count(c.pool, ti, &c.used, &grp.req) > 0 {
                                    found = Some(ti);
                                    break 'search;
                                }
                            }
                        }
                        match found {
                            None => 0,
                            Some(next) => {
                                if price[next] - price[cur] > grp.fresh_price[c.pool] * (1.0 + 1e-9)
                                {
                                    return Err(perm(Reason::Resources));
                                }
                                1
                            }
                        }
                    }
                }
            }
        };
        if k == 0 {
            return Err(Fail {
                perm: !pinned_any,
                reason: Reason::Resources,
            });
        }
        let mut used = c.used.clone();
        for d in 0..self.nd {
            used[d] += grp.req[d] * k as i64;
        }
        let nd = self.nd;
        let snapshot = types.clone();
        for ti in bits(&snapshot) {
            let alloc = &pool.alloc[ti * nd..(ti + 1) * nd];
            if (0..nd).any(|d| alloc[d] < used[d]) {
                types[ti / 64] &= !(1u64 << (ti % 64));
            }
        }
        if !pool.min_values.is_empty() && self.opts.min_values_policy == MinValuesPolicy::Strict {
            for &(key, min) in &pool.min_values {
                if self.distinct_values(c.pool, &types, key, reqs.as_ref().unwrap_or(&c.reqs))
                    < min as usize
                {
                    return Err(perm(Reason::MinValues(key)));
                }
            }
        }
        Ok(Commit { reqs, types, k })
    }

    /// Room left in claim `ci`'s current cheapest type.
    fn room(&self, ci: usize) -> Vec<i64> {
        let c = &self.claims[ci];
        let nd = self.nd;
        match bits(&c.types).next() {
            Some(ti) => {
                let alloc = &self.w.pools[c.pool].alloc[ti * nd..(ti + 1) * nd];
                (0..nd).map(|d| alloc[d] - c.used[d]).collect()
            }
            None => vec![-1; nd],
        }
    }

    /// Whether `minValues` is enforced strictly.
    pub(crate) fn opts_strict_min_values(&self) -> bool {
        self.opts.min_values_policy == MinValuesPolicy::Strict
    }

    /// Whether one pod of group `g` could join `c` (for explanations).
    pub(crate) fn eval_claim_public(
        &self,
        c: &Claim,
        slot: u32,
        g: u32,
        topo: &Topo,
    ) -> Result<(), Reason> {
        self.eval_claim(c, slot, g, 1, topo, true)
            .map(|_| ())
            .map_err(|f| f.reason)
    }

    /// Distinct values of `key` among the types (offerings for zone and capacity type).
    pub(crate) fn distinct_values(
        &self,
        pool: usize,
        types: &[u64],
        key: u32,
        reqs: &Reqs,
    ) -> usize {
        let w = &self.w;
        let p = &w.pools[pool];
        let mut vals: Vec<u32> = Vec::new();
        let zr = reqs.get(w.k_zone);
        let cr = reqs.get(w.k_ct);
        for ti in bits(types) {
            if key == w.k_zone || key == w.k_ct {
                for o in &p.offers[ti] {
                    if zr.is_none_or(|r| r.has(o.0, &w.vals))
                        && cr.is_none_or(|r| r.has(o.1, &w.vals))
                    {
                        vals.push(if key == w.k_zone { o.0 } else { o.1 });
                    }
                }
            } else if let Some(v) = label_of(&p.type_labels[ti], key) {
                vals.push(v);
            }
        }
        vals.sort_unstable();
        vals.dedup();
        vals.len()
    }

    fn max_alloc(&self, pool: usize, types: &[u64]) -> Vec<i64> {
        let nd = self.nd;
        let mut m = vec![0i64; nd];
        let alloc = &self.w.pools[pool].alloc;
        for ti in bits(types) {
            for d in 0..nd {
                m[d] = m[d].max(alloc[ti * nd + d]);
            }
        }
        m
    }

    fn reservation(&self, pool: usize, types: &[u64]) -> Vec<i64> {
        let nd = self.nd;
        let mut m = vec![0i64; nd + 1];
        let cap = &self.w.pools[pool].cap;
        for ti in bits(types) {
            for d in 0..nd {
                m[d] = m[d].max(cap[ti * nd + d]);
            }
        }
        m[nd] = 1;
        m
    }

    /// Counts `k` pods of label set `ls` (spec `spec`) on a slot for every group selecting them.
    fn record(&mut self, slot: Slot, ls: u32, spec: u32, k: u32, only_key: Option<u32>) {
        let sid = self.slot_id(slot);
        let counted = std::mem::take(&mut self.w.lsets[ls as usize].counted_in);
        for &tgi in &counted {
            let tg = &self.w.tgs[tgi as usize];
            if only_key.is_some_and(|key| tg.hostname || tg.k.key != key) {
                continue;
            }
            if let Some(d) = self.domain(slot, sid, tgi) {
                if self.passes_filter(slot, tgi) {
                    let tg = &mut self.w.tgs[tgi as usize];
                    *tg.counts.entry(d).or_insert(0) += k;
                    tg.total += k as u64;
                }
            }
        }
        self.w.lsets[ls as usize].counted_in = counted;
        if only_key.is_none() {
            let anti = self.w.specs[spec as usize].anti.clone();
            for tgi in anti {
                if let Some(d) = self.domain(slot, sid, tgi) {
                    let tg = &mut self.w.tgs[tgi as usize];
                    *tg.owners.entry(d).or_insert(0) += k;
                    tg.owners_total += k as u64;
                }
            }
        }
    }

    fn domain(&self, slot: Slot, sid: u32, tgi: u32) -> Option<u32> {
        let tg = &self.w.tgs[tgi as usize];
        if tg.hostname {
            return Some(sid);
        }
        match slot {
            Slot::Ex(i) => label_of(&self.w.ex[i as usize].labels, tg.k.key),
            Slot::Claim(c) => pinned(&self.claims[c as usize].reqs, tg.k.key),
        }
    }

    fn passes_filter(&self, slot: Slot, tgi: u32) -> bool {
        let k = &self.w.tgs[tgi as usize].k;
        if k.filter_reqs.is_none() && k.filter_tols.is_none() {
            return true;
        }
        match slot {
            Slot::Ex(i) => self.w.ex_passes_filter(tgi, i as usize),
            Slot::Claim(c) => {
                let c = &self.claims[c as usize];
                let pool = &self.w.pools[c.pool];
                k.filter_reqs.as_ref().is_none_or(|r| {
                    c.reqs
                        .compatible(r, &self.w.vals, |key| self.w.is_well_known(key))
                        .is_ok()
                }) && k
                    .filter_tols
                    .as_ref()
                    .is_none_or(|t| tolerates_all(t, &pool.taints, true).is_none())
            }
        }
    }

    fn commit_ex(&mut self, i: usize, g: u32, pods: &[u32]) {
        let grp = &self.groups[g as usize];
        let (ls, spec) = (grp.ls, grp.spec);
        let k = pods.len() as i64;
        let n = &mut self.w.ex[i];
        for d in 0..self.nd {
            n.used[d] += grp.req[d] * k;
        }
        n.ports.extend(grp.ports.iter().cloned());
        n.pods.extend_from_slice(pods);
        for &p in pods {
            self.placed[p as usize] = Some(Slot::Ex(i as u32));
        }
        self.record(Slot::Ex(i as u32), ls, spec, k as u32, None);
    }

    fn commit_claim(&mut self, ci: usize, g: u32, commit: Commit, pods: &[u32]) {
        let (ls, spec) = {
            let grp = &self.groups[g as usize];
            (grp.ls, grp.spec)
        };
        let k = pods.len() as i64;
        debug_assert!(k as u32 <= commit.k);
        let newly: Vec<u32> = match &commit.reqs {
            Some(r) => self
                .w
                .topo_keys
                .iter()
                .copied()
                .filter(|key| {
                    pinned(&self.claims[ci].reqs, *key).is_none() && pinned(r, *key).is_some()
                })
                .collect(),
            None => Vec::new(),
        };
        let pool = self.claims[ci].pool;
        let max_alloc = self.max_alloc(pool, &commit.types);
        let reservation = if self.w.pools[pool].remaining.is_some() {
            Some(self.reservation(pool, &commit.types))
        } else {
            None
        };
        {
            let req = self.groups[g as usize].req.clone();
            let ports = self.groups[g as usize].ports.clone();
            let c = &mut self.claims[ci];
            if let Some(r) = commit.reqs {
                c.reqs = r;
            }
            c.types = commit.types;
            c.max_alloc = max_alloc;
            for d in 0..self.nd {
                c.used[d] += req[d] * k;
            }
            c.ports.extend(ports);
        }
        if let Some(res) = reservation {
            let old = std::mem::replace(&mut self.claims[ci].reserved, res.clone());
            if let Some(rem) = &mut self.w.pools[pool].remaining {
                for d in 0..rem.len() {
                    let o = old.get(d).copied().unwrap_or(0);
                    rem[d] = rem[d].saturating_add(o).saturating_sub(res[d]);
                }
            }
        }
        // Pods already on the claim now have a domain for the newly pinned keys.
        for key in newly {
            let prev = self.claims[ci].pods.clone();
            for p in prev {
                let pc = &self.w.pods[p as usize];
                let (pls, pspec) = (pc.ls, pc.spec);
                self.record(Slot::Claim(ci as u32), pls, pspec, 1, Some(key));
            }
        }
        self.claims[ci].pods.extend_from_slice(pods);
        for &p in pods {
            self.placed[p as usize] = Some(Slot::Claim(ci as u32));
        }
        let room = self.room(ci);
        self.free.set(ci, &room);
        self.record(Slot::Claim(ci as u32), ls, spec, k as u32, None);
    }

    /// A fresh claim from pool `pi` for group `g`, before any pod is added.
    pub(crate) fn fresh_claim(&self, g: u32, pi: usize) -> Result<Claim, Fail> {
        let grp = &self.groups[g as usize];
        let w = &self.w;
        let pool = &w.pools[pi];
        if pool.error.is_some() {
            return Err(perm(Reason::PoolError));
        }
        if let Some(t) = grp.pool_taint[pi] {
            return Err(perm(Reason::Taint(t)));
        }
        if pool.remaining.as_ref().is_some_and(|r| r[self.nd] < 1) {
            return Err(perm(Reason::Limits));
        }
        pool.reqs
            .compatible(&grp.reqs, &w.vals, |k| w.is_well_known(k))
            .map_err(|e| perm(Reason::Req(e)))?;
        let mut reqs = pool.reqs.clone();
        reqs.add_all(&grp.reqs, &w.vals);
        let mut types = if grp.reqs.is_empty() {
            pool.all_types.clone()
        } else {
            w.types_ok(pool, &reqs, &pool.all_types)
        };
        let nd = self.nd;
        if let Some(rem) = &pool.remaining {
            for ti in bits(&types.clone()) {
                if !(0..nd).all(|d| pool.cap[ti * nd + d] <= rem[d]) {
                    types[ti / 64] &= !(1u64 << (ti % 64));
                }
            }
        }
        let max_alloc = self.max_alloc(pi, &types);
        Ok(Claim {
            pool: pi,
            reqs,
            types,
            max_alloc,
            used: pool.daemon.clone(),
            ports: Vec::new(),
            pods: Vec::new(),
            reserved: Vec::new(),
        })
    }

    /// Places up to `pods.len()` pods of group `g`; returns how many were placed.
    fn place(&mut self, g: u32, pods: &[u32]) -> usize {
        let topo = self.topo(g);
        let want = pods.len() as u32;
        // Existing and in-flight nodes.
        let mut i = self.groups[g as usize].cur_ex;
        let mut advancing = true;
        while i < self.w.ex.len() {
            match self.eval_ex(i, g, want, &topo) {
                Ok(k) => {
                    self.commit_ex(i, g, &pods[..k as usize]);
                    return k as usize;
                }
                Err(f) => {
                    if f.perm && advancing {
                        self.groups[g as usize].cur_ex = i + 1;
                    } else {
                        advancing = false;
                    }
                }
            }
            i += 1;
        }
        // Open NodeClaims: first one with room in its current type, then one that may grow.
        let ne = self.w.ex.len() as u32;
        let mut from = self.groups[g as usize].cur_claim;
        while let Some(i) = self.free.find(from, &self.groups[g as usize].req) {
            match self.eval_claim(&self.claims[i], ne + i as u32, g, want, &topo, false) {
                Ok(commit) => {
                    let k = commit.k as usize;
                    self.commit_claim(i, g, commit, &pods[..k]);
                    return k;
                }
                Err(_) => from = i + 1,
            }
        }
        {
            let grow = true;
            let mut i = self.groups[g as usize].cur_claim;
            let mut advancing = true;
            while i < self.claims.len() {
                match self.eval_claim(&self.claims[i], ne + i as u32, g, want, &topo, grow) {
                    Ok(commit) => {
                        let k = commit.k as usize;
                        self.commit_claim(i, g, commit, &pods[..k]);
                        return k;
                    }
                    Err(f) => {
                        if f.perm && advancing {
                            self.groups[g as usize].cur_claim = i + 1;
                        } else {
                            advancing = false;
                        }
                    }
                }
                i += 1;
            }
        }
        // New NodeClaims, pools in weight order.
        for pi in 0..self.w.pools.len() {
            // A batch of identical unconstrained pods forms identical new claims: reuse the
            // state of the last one.
            let memo_ok = self.groups[g as usize].batchable && self.w.pools[pi].remaining.is_none();
            if memo_ok {
                if let Some((tmpl, k)) = self.fresh_memo.get(&(g, pi)) {
                    if *k <= want {
                        let k = *k as usize;
                        let mut claim = tmpl.clone();
                        claim.pods = pods[..k].to_vec();
                        self.claims.push(claim);
                        let ci = self.claims.len() - 1;
                        let room = self.room(ci);
                        self.free.push(&room);
                        for &p in &pods[..k] {
                            self.placed[p as usize] = Some(Slot::Claim(ci as u32));
                        }
                        let grp = &self.groups[g as usize];
                        let (ls, spec) = (grp.ls, grp.spec);
                        self.record(Slot::Claim(ci as u32), ls, spec, k as u32, None);
                        return k;
                    }
                }
            }
            let Ok(claim) = self.fresh_claim(g, pi) else {
                continue;
            };
            let slot = ne + self.claims.len() as u32;
            if let Ok(commit) = self.eval_claim(&claim, slot, g, want, &topo, true) {
                let k = commit.k as usize;
                let res = if self.w.pools[pi].remaining.is_some() {
                    self.reservation(pi, &claim.types)
                } else {
                    Vec::new()
                };
                if let Some(rem) = &mut self.w.pools[pi].remaining {
                    for d in 0..rem.len() {
                        rem[d] = rem[d].saturating_sub(res[d]);
                    }
                }
                let mut claim = claim;
                claim.reserved = res;
                self.claims.push(claim);
                let ci = self.claims.len() - 1;
                self.free.push(&vec![-1; self.nd]);
                self.commit_claim(ci, g, commit, &pods[..k]);
                if memo_ok {
                    let mut tmpl = self.claims[ci].clone();
                    tmpl.pods.clear();
                    self.fresh_memo.insert((g, pi), (tmpl, k as u32));
                }
                return k;
            }
        }
        0
    }

    /// Runs the placement loop over every pending pod.
    pub(crate) fn run(&mut self) {
        let n = self.w.pods.len();
        let mut unschedulable_now: Vec<u32> = Vec::new();
        for p in 0..n {
            let (req, ls, spec) = {
                let pc = &self.w.pods[p];
                (pc.req.clone(), pc.ls, pc.spec)
            };
            let relax = self.initial_relax(spec);
            let g = self.group(&req, ls, spec, relax);
            let pc: &mut PodC = &mut self.w.pods[p];
            pc.relax = relax;
            pc.group = g;
            if self.w.specs[spec as usize].volume_error.is_some() {
                unschedulable_now.push(p as u32);
            }
        }
        let mut order: Vec<u32> = (0..n as u32)
            .filter(|p| {
                self.w.specs[self.w.pods[*p as usize].spec as usize]
                    .volume_error
                    .is_none()
            })
            .collect();
        {
            let pods = &self.w.pods;
            order.sort_by(|a, b| {
                let (pa, pb) = (&pods[*a as usize], &pods[*b as usize]);
                pb.req[CPU]
                    .cmp(&pa.req[CPU])
                    .then_with(|| pb.req[MEM].cmp(&pa.req[MEM]))
                    .then_with(|| pa.group.cmp(&pb.group))
                    .then_with(|| a.cmp(b))
            });
        }
        let mut queue: VecDeque<u32> = order.into();
        let mut failed: Vec<u32> = Vec::new();
        let mut rounds = 0;
        loop {
            let mut progressed = false;
            while let Some(p) = queue.pop_front() {
                let g = self.w.pods[p as usize].group;
                let mut run = vec![p];
                if self.groups[g as usize].batchable {
                    while let Some(&q) = queue.front() {
                        if self.w.pods[q as usize].group == g {
                            run.push(q);
                            queue.pop_front();
                        } else {
                            break;
                        }
                    }
                }
                let mut pos = 0;
                while pos < run.len() {
                    let k = self.place(g, &run[pos..]);
                    if k == 0 {
                        break;
                    }
                    progressed = true;
                    pos += k;
                }
                for &q in &run[pos..] {
                    let pc = &self.w.pods[q as usize];
                    let (req, ls, spec, relax) = (pc.req.clone(), pc.ls, pc.spec, pc.relax);
                    match self.next_relax(spec, relax) {
                        Some(r) => {
                            let g2 = self.group(&req, ls, spec, r);
                            let pc = &mut self.w.pods[q as usize];
                            pc.relax = r;
                            pc.group = g2;
                            queue.push_back(q);
                        }
                        None => failed.push(q),
                    }
                }
            }
            rounds += 1;
            if failed.is_empty() || !progressed || rounds >= 8 {
                break;
            }
            queue = std::mem::take(&mut failed).into();
        }
        failed.extend(unschedulable_now);
        failed.sort_unstable();
        self.failed = failed;
    }
}
