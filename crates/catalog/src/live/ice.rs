//! Unavailable offerings: (instance type, zone, capacity type) triples that just failed to
//! launch for insufficient capacity, kept for [`ICE_TTL`] (3 minutes) and marked unavailable in
//! catalogs. Time is passed in.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::model::CapacityType;

/// How long an insufficient-capacity error keeps an offering unavailable.
pub const ICE_TTL: SignedDuration = SignedDuration::from_mins(3);

/// The cache of offerings that recently failed with insufficient capacity.
#[derive(Debug, Clone, Default)]
pub struct UnavailableOfferings {
    entries: HashMap<(String, String, CapacityType), Timestamp>,
}

impl UnavailableOfferings {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an insufficient-capacity failure at `now`; the offering is unavailable until
    /// `now + ICE_TTL`. A later failure extends it.
    pub fn mark(
        &mut self,
        instance_type: &str,
        zone: &str,
        capacity_type: CapacityType,
        now: Timestamp,
    ) {
        let until = now.checked_add(ICE_TTL).unwrap_or(now);
        let e = self
            .entries
            .entry((instance_type.to_string(), zone.to_string(), capacity_type))
            .or_insert(until);
        if *e < until {
            *e = until;
        }
    }

    /// Whether the offering is unavailable at `now` (marked less than `ICE_TTL` ago).
    pub fn is_unavailable(
        &self,
        instance_type: &str,
        zone: &str,
        capacity_type: CapacityType,
        now: Timestamp,
    ) -> bool {
        self.entries
            .get(&(instance_type.to_string(), zone.to_string(), capacity_type))
            .is_some_and(|until| now < *until)
    }

    /// Drops expired entries.
    pub fn prune(&mut self, now: Timestamp) {
        self.entries.retain(|_, until| now < *until);
    }

    /// Number of entries still in force at `now`.
    pub fn len_at(&self, now: Timestamp) -> usize {
        self.entries.values().filter(|until| now < **until).count()
    }

    /// Marks the cached offerings unavailable in `catalog` at `now`; returns how many offerings
    /// it marked. Offerings are never marked available here (other reasons may hold).
    pub fn apply(&self, catalog: &mut Catalog, now: Timestamp) -> usize {
        if self.entries.is_empty() {
            return 0;
        }
        let mut n = 0;
        for it in &mut catalog.instance_types {
            for o in &mut it.offerings {
                if o.available && self.is_unavailable(&it.name, &o.zone, o.capacity_type, now) {
                    o.available = false;
                    n += 1;
                }
            }
        }
        n
    }
}
