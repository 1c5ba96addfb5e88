//! Node requirements: the public string form ([`Requirement`]) and the compact interned form the
//! scheduler's hot loop works on ([`Req`], [`Reqs`]).
//!
//! The algebra follows Karpenter's `scheduling.Requirement`: a requirement is a set of allowed
//! values, either listed (`In`) or the complement of a list (`NotIn`, `Exists`), optionally bounded
//! by integer comparisons (`Gt`, `Lt`, `Gte`, `Lte`). Intersection narrows; two requirements are
//! compatible when their intersection is non-empty, or when both only exclude values.

use std::collections::HashMap;
use std::fmt;

pub use karpenter_api::Operator;

/// A node requirement in string form, with Karpenter's optional `minValues`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub operator: Operator,
    /// Values (one integer for the numeric operators, none for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
    /// Minimum number of distinct values of `key` the instance types of a NodeClaim must keep.
    pub min_values: Option<u32>,
}

impl Requirement {
    /// A requirement without `minValues`.
    pub fn new<I, S>(key: impl Into<String>, operator: Operator, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement {
            key: key.into(),
            operator,
            values: values.into_iter().map(Into::into).collect(),
            min_values: None,
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operator {
            Operator::Exists | Operator::DoesNotExist => {
                write!(f, "{} {}", self.key, self.operator)
            }
            Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte => write!(
                f,
                "{} {} {}",
                self.key,
                self.operator,
                self.values.first().map(String::as_str).unwrap_or("")
            ),
            _ => write!(
                f,
                "{} {} [{}]",
                self.key,
                self.operator,
                self.values.join(", ")
            ),
        }
    }
}

/// Interns strings into dense `u32` ids; values also keep their integer reading for `Gt`/`Lt`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    map: HashMap<String, u32>,
    names: Vec<String>,
    ints: Vec<Option<i64>>,
}

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ints.push(s.parse::<i64>().ok());
        self.map.insert(s.to_string(), id);
        id
    }

    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub(crate) fn int(&self, id: u32) -> Option<i64> {
        self.ints[id as usize]
    }
}

/// A compact requirement over interned key and values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Req {
    pub key: u32,
    /// When true the set is "every value except `values`".
    pub complement: bool,
    /// Whether a node without the label satisfies it (`NotIn`, `DoesNotExist`).
    pub allow_absent: bool,
    /// Sorted value ids.
    pub values: Vec<u32>,
    /// Exclusive integer lower bound.
    pub gt: Option<i64>,
    /// Exclusive integer upper bound.
    pub lt: Option<i64>,
    pub min_values: Option<u32>,
}

impl Req {
    /// `key In [values]`.
    pub(crate) fn is_in(key: u32, mut values: Vec<u32>) -> Req {
        values.sort_unstable();
        values.dedup();
        Req {
            key,
            complement: false,
            allow_absent: false,
            values,
            gt: None,
            lt: None,
            min_values: None,
        }
    }

    /// Builds a requirement from an operator and string values, interning the values.
    /// Returns `None` when a numeric operator's value is not an integer.
    pub(crate) fn build(
        key: u32,
        op: Operator,
        values: &[String],
        vals: &mut Interner,
    ) -> Option<Req> {
        let ids: Vec<u32> = values.iter().map(|v| vals.intern(v)).collect();
        let num = || -> Option<i64> { values.first().and_then(|v| v.trim().parse::<i64>().ok()) };
        let mut r = Req::is_in(key, ids);
        match op {
            Operator::In => {}
            Operator::NotIn => {
                r.complement = true;
                r.allow_absent = true;
            }
            Operator::Exists => {
                r.complement = true;
                r.values.clear();
            }
            Operator::DoesNotExist => {
                r.values.clear();
                r.allow_absent = true;
            }
            Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
                let n = num()?;
                r.complement = true;
                r.values.clear();
                match op {
                    Operator::Gt => r.gt = Some(n),
                    Operator::Gte => r.gt = Some(n.saturating_sub(1)),
                    Operator::Lt => r.lt = Some(n),
                    _ => r.lt = Some(n.saturating_add(1)),
                }
            }
        }
        Some(r)
    }

    fn in_bounds(&self, v: u32, vals: &Interner) -> bool {
        if self.gt.is_none() && self.lt.is_none() {
            return true;
        }
        match vals.int(v) {
            Some(n) => self.gt.is_none_or(|g| n > g) && self.lt.is_none_or(|l| n < l),
            None => false,
        }
    }

    /// Whether the value is allowed.
    pub(crate) fn has(&self, v: u32, vals: &Interner) -> bool {
        if !self.in_bounds(v, vals) {
            return false;
        }
        let found = self.values.binary_search(&v).is_ok();
        found != self.complement
    }

    /// Whether a node label (or its absence) satisfies the requirement, with Kubernetes' label
    /// semantics.
    pub(crate) fn matches_label(&self, label: Option<u32>, vals: &Interner) -> bool {
        match label {
            Some(v) => self.has(v, vals),
            None => self.allow_absent,
        }
    }

    /// Karpenter's operator of the set: `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub(crate) fn operator(&self) -> Operator {
        match (self.complement, self.values.is_empty()) {
            (true, false) => Operator::NotIn,
            (true, true) => Operator::Exists,
            (false, false) => Operator::In,
            (false, true) => Operator::DoesNotExist,
        }
    }

    fn excludes_only(&self) -> bool {
        matches!(self.operator(), Operator::NotIn | Operator::DoesNotExist)
    }

    /// Whether no value is allowed.
    pub(crate) fn is_empty(&self) -> bool {
        if self.complement {
            matches!((self.gt, self.lt), (Some(g), Some(l)) if l <= g.saturating_add(1))
        } else {
            self.values.is_empty()
        }
    }

    /// The intersection of two requirements on the same key.
    pub(crate) fn intersect(&self, o: &Req, vals: &Interner) -> Req {
        let gt = match (self.gt, o.gt) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let lt = match (self.lt, o.lt) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut r = Req {
            key: self.key,
            complement: self.complement && o.complement,
            allow_absent: self.allow_absent && o.allow_absent,
            values: Vec::new(),
            gt,
            lt,
            min_values: match (self.min_values, o.min_values) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        };
        match (self.complement, o.complement) {
            (true, true) => {
                r.values = self.values.clone();
                r.values.extend_from_slice(&o.values);
                r.values.sort_unstable();
                r.values.dedup();
            }
            (true, false) => {
                r.values = o
                    .values
                    .iter()
                    .copied()
                    .filter(|v| self.has(*v, vals))
                    .collect();
            }
            (false, true) => {
                r.values = self
                    .values
                    .iter()
                    .copied()
                    .filter(|v| o.has(*v, vals))
                    .collect();
            }
            (false, false) => {
                r.values = self
                    .values
                    .iter()
                    .copied()
                    .filter(|v| o.values.binary_search(v).is_ok() && r.in_bounds(*v, vals))
                    .collect();
            }
        }
        if !r.complement {
            r.gt = None;
            r.lt = None;
        } else if r.is_empty() {
            r.complement = false;
            r.values.clear();
            r.gt = None;
            r.lt = None;
        }
        r
    }

    /// Whether every value `self` allows is allowed by `o` (so intersecting with `o` changes
    /// nothing).
    pub(crate) fn implies(&self, o: &Req, vals: &Interner) -> bool {
        if !self.complement && !o.complement && self.allow_absent == o.allow_absent {
            // Fast path, no allocation: listed values all allowed by `o`.
            return self
                .values
                .iter()
                .all(|v| o.values.binary_search(v).is_ok())
                && self.min_values >= o.min_values;
        }
        &self.intersect(o, vals) == self
    }

    /// The public string form (two requirements when both integer bounds are set).
    pub(crate) fn to_public(&self, keys: &Interner, vals: &Interner) -> Vec<Requirement> {
        let key = keys.name(self.key).to_string();
        let mut names: Vec<String> = self
            .values
            .iter()
            .map(|i| vals.name(*i).to_string())
            .collect();
        names.sort();
        let none = Vec::<String>::new;
        let mut out = Vec::new();
        if !self.complement {
            if names.is_empty() {
                out.push(Requirement::new(key, Operator::DoesNotExist, none()));
            } else {
                out.push(Requirement::new(key, Operator::In, names));
            }
        } else {
            if let Some(g) = self.gt {
                out.push(Requirement::new(key.clone(), Operator::Gt, [g.to_string()]));
            }
            if let Some(l) = self.lt {
                out.push(Requirement::new(key.clone(), Operator::Lt, [l.to_string()]));
            }
            if !names.is_empty() {
                out.push(Requirement::new(key, Operator::NotIn, names));
            } else if out.is_empty() {
                out.push(Requirement::new(key, Operator::Exists, none()));
            }
        }
        for r in &mut out {
            r.min_values = self.min_values;
        }
        out
    }
}

/// Why a set of requirements is not compatible with another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// A custom label the pod requires is not defined by the node side.
    Undefined(u32),
    /// The two requirements on the key share no value.
    Disjoint(u32),
}

/// A set of requirements, at most one per key, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Reqs(pub Vec<Req>);

impl Reqs {
    pub(crate) fn get(&self, key: u32) -> Option<&Req> {
        self.0
            .binary_search_by_key(&key, |r| r.key)
            .ok()
            .map(|i| &self.0[i])
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a requirement, intersecting with an existing one on the same key.
    pub(crate) fn add(&mut self, r: Req, vals: &Interner) {
        match self.0.binary_search_by_key(&r.key, |x| x.key) {
            Ok(i) => {
                let n = self.0[i].intersect(&r, vals);
                self.0[i] = n;
            }
            Err(i) => self.0.insert(i, r),
        }
    }

    /// Intersects with every requirement of `o`.
    pub(crate) fn add_all(&mut self, o: &Reqs, vals: &Interner) {
        for r in &o.0 {
            self.add(r.clone(), vals);
        }
    }

    /// Whether adding `o` would leave `self` unchanged.
    pub(crate) fn implies(&self, o: &Reqs, vals: &Interner) -> bool {
        o.0.iter()
            .all(|r| self.get(r.key).is_some_and(|s| s.implies(r, vals)))
    }

    /// Karpenter's `Compatible`: every key `pod` constrains must be defined by `self` (unless
    /// `allow_undefined(key)` or the pod only excludes values), and shared keys must intersect.
    pub(crate) fn compatible(
        &self,
        pod: &Reqs,
        vals: &Interner,
        allow_undefined: impl Fn(u32) -> bool,
    ) -> Result<(), Conflict> {
        for p in &pod.0 {
            match self.get(p.key) {
                None => {
                    if !(allow_undefined(p.key) || p.excludes_only()) {
                        return Err(Conflict::Undefined(p.key));
                    }
                }
                Some(n) => {
                    if n.intersect(p, vals).is_empty() && !(p.excludes_only() && n.excludes_only())
                    {
                        return Err(Conflict::Disjoint(p.key));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a node's labels (sorted `(key, value)` ids) satisfy every requirement.
    pub(crate) fn matches_labels(&self, labels: &[(u32, u32)], vals: &Interner) -> bool {
        self.0
            .iter()
            .all(|r| r.matches_label(label_of(labels, r.key), vals))
    }
}

/// The value of `key` in sorted `(key, value)` label ids.
pub(crate) fn label_of(labels: &[(u32, u32)], key: u32) -> Option<u32> {
    labels
        .binary_search_by_key(&key, |(k, _)| *k)
        .ok()
        .map(|i| labels[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Interner, Interner) {
        (Interner::default(), Interner::default())
    }

    fn req(k: &mut Interner, v: &mut Interner, key: &str, op: Operator, vals: &[&str]) -> Req {
        let key = k.intern(key);
        let vals_s: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
        Req::build(key, op, &vals_s, v).expect("valid requirement")
    }

    #[test]
    fn in_and_not_in_intersect() {
        let (mut k, mut v) = setup();
        let a = req(&mut k, &mut v, "zone", Operator::In, &["a", "b", "c"]);
        let b = req(&mut k, &mut v, "zone", Operator::NotIn, &["b"]);
        let i = a.intersect(&b, &v);
        assert_eq!(i.operator(), Operator::In);
        assert_eq!(i.values.len(), 2);
        assert!(i.has(v.get("a").unwrap(), &v));
        assert!(!i.has(v.get("b").unwrap(), &v));
    }

    #[test]
    fn numeric_operators() {
        let (mut k, mut v) = setup();
        let gt = req(&mut k, &mut v, "cpu", Operator::Gt, &["4"]);
        let lte = req(&mut k, &mut v, "cpu", Operator::Lte, &["8"]);
        let both = gt.intersect(&lte, &v);
        let four = v.intern("4");
        let five = v.intern("5");
        let eight = v.intern("8");
        let nine = v.intern("9");
        let word = v.intern("x");
        assert!(!both.has(four, &v));
        assert!(both.has(five, &v));
        assert!(both.has(eight, &v));
        assert!(!both.has(nine, &v));
        assert!(!both.has(word, &v), "non-integers never satisfy Gt/Lt");
        let gte = req(&mut k, &mut v, "cpu", Operator::Gte, &["4"]);
        assert!(gte.has(four, &v));
        let empty = req(&mut k, &mut v, "cpu", Operator::Gt, &["8"])
            .intersect(&req(&mut k, &mut v, "cpu", Operator::Lt, &["9"]), &v);
        assert!(empty.is_empty());
        assert!(Req::build(0, Operator::Gt, &["x".to_string()], &mut v).is_none());
    }

    #[test]
    fn exists_and_does_not_exist() {
        let (mut k, mut v) = setup();
        let ex = req(&mut k, &mut v, "gpu", Operator::Exists, &[]);
        let dne = req(&mut k, &mut v, "gpu", Operator::DoesNotExist, &[]);
        assert!(ex.intersect(&dne, &v).is_empty());
        assert!(!ex.matches_label(None, &v));
        assert!(dne.matches_label(None, &v));
        let notin = req(&mut k, &mut v, "gpu", Operator::NotIn, &["a"]);
        assert!(notin.matches_label(None, &v));
        assert!(!notin.matches_label(Some(v.get("a").unwrap()), &v));
    }

    #[test]
    fn compatibility_follows_karpenter() {
        let (mut k, mut v) = setup();
        let zone = k.intern("topology.kubernetes.io/zone");
        let mut node = Reqs::default();
        node.add(
            req(
                &mut k,
                &mut v,
                "topology.kubernetes.io/zone",
                Operator::In,
                &["a"],
            ),
            &v,
        );
        let mut pod = Reqs::default();
        pod.add(
            req(
                &mut k,
                &mut v,
                "topology.kubernetes.io/zone",
                Operator::In,
                &["b"],
            ),
            &v,
        );
        assert_eq!(
            node.compatible(&pod, &v, |_| true),
            Err(Conflict::Disjoint(zone))
        );
        // Custom label undefined on the node side.
        let mut pod2 = Reqs::default();
        pod2.add(req(&mut k, &mut v, "team", Operator::In, &["x"]), &v);
        let team = k.get("team").unwrap();
        assert_eq!(
            node.compatible(&pod2, &v, |key| key == zone),
            Err(Conflict::Undefined(team))
        );
        // ... unless the pod only excludes values.
        let mut pod3 = Reqs::default();
        pod3.add(req(&mut k, &mut v, "team", Operator::NotIn, &["x"]), &v);
        assert!(node.compatible(&pod3, &v, |key| key == zone).is_ok());
        // Well-known labels may be undefined.
        let mut pod4 = Reqs::default();
        pod4.add(
            req(
                &mut k,
                &mut v,
                "kubernetes.io/arch",
                Operator::In,
                &["arm64"],
            ),
            &v,
        );
        assert!(node.compatible(&pod4, &v, |_| true).is_ok());
        // Both only exclude: compatible even when the intersection is empty.
        let mut n2 = Reqs::default();
        n2.add(req(&mut k, &mut v, "team", Operator::DoesNotExist, &[]), &v);
        assert!(n2.compatible(&pod3, &v, |_| false).is_ok());
    }

    #[test]
    fn implies_detects_no_change() {
        let (mut k, mut v) = setup();
        let a = req(&mut k, &mut v, "zone", Operator::In, &["a"]);
        let ab = req(&mut k, &mut v, "zone", Operator::In, &["a", "b"]);
        assert!(a.implies(&ab, &v));
        assert!(!ab.implies(&a, &v));
        let not_c = req(&mut k, &mut v, "zone", Operator::NotIn, &["c"]);
        assert!(a.implies(&not_c, &v));
        assert!(!not_c.implies(&a, &v));
    }

    #[test]
    fn public_form_round_trips() {
        let (mut k, mut v) = setup();
        let r = req(
            &mut k,
            &mut v,
            "kubernetes.io/arch",
            Operator::In,
            &["arm64"],
        );
        assert_eq!(
            r.to_public(&k, &v)[0].to_string(),
            "kubernetes.io/arch In [arm64]"
        );
        let g = req(&mut k, &mut v, "cpu", Operator::Gt, &["4"]);
        assert_eq!(g.to_public(&k, &v)[0].to_string(), "cpu Gt 4");
    }
}
