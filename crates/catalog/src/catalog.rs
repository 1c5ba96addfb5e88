//! A region's instance types and the queries the scheduler and the CLI run on them.

use std::collections::BTreeSet;

use crate::allocatable::SettingError;
use crate::model::{CapacityType, InstanceType, Offering};
use crate::requirements::{instance_type_matches, offering_matches, Requirement};

/// Where a catalog's prices come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceSource {
    /// The built-in snapshot: on-demand prices from a public price list of that date, regional
    /// factors and a spot estimate.
    BuiltinSnapshot {
        /// Date of the price list (`YYYY-MM-DD`).
        as_of: String,
    },
    /// A user-supplied catalog file.
    File,
    /// Live EC2 / Price List data.
    Live,
}

impl PriceSource {
    /// A one-line description for people, e.g. for CLI output.
    pub fn describe(&self) -> String {
        match self {
            PriceSource::BuiltinSnapshot { as_of } => format!(
                "built-in prices are a dated snapshot ({as_of} public on-demand list; spot prices are a deterministic estimate), not live prices"
            ),
            PriceSource::File => "prices from the catalog file".to_string(),
            PriceSource::Live => "live prices (AWS Price List API, spot price history)".to_string(),
        }
    }
}

/// Why a catalog could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// The built-in data has no such region.
    #[error("region {region:?} is not in the built-in catalog (built-in regions: {})", known.join(", "))]
    UnknownRegion {
        /// The requested region.
        region: String,
        /// The built-in regions.
        known: Vec<String>,
    },
    /// Invalid allocatable options.
    #[error("allocatable options: {0}")]
    Options(#[from] SettingError),
    /// The embedded data is malformed (a build defect, reported rather than panicking).
    #[error("built-in catalog data {file} line {line}: {message}")]
    Data {
        /// Embedded file.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A region's instance types.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// AWS region (or the catalog file's `region`).
    pub region: String,
    /// Instance types, sorted by name.
    pub instance_types: Vec<InstanceType>,
    /// Where the prices come from.
    pub prices: PriceSource,
}

impl Catalog {
    /// The instance type named `name`.
    pub fn get(&self, name: &str) -> Option<&InstanceType> {
        self.instance_types
            .binary_search_by(|it| it.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.instance_types[i])
            .or_else(|| self.instance_types.iter().find(|it| it.name == name))
    }

    /// The zones any offering names, sorted.
    pub fn zones(&self) -> BTreeSet<&str> {
        self.instance_types
            .iter()
            .flat_map(|it| it.offerings.iter().map(|o| o.zone.as_str()))
            .collect()
    }

    /// The instance types that satisfy `reqs` (labels, and at least one available offering
    /// matching the zone / capacity-type requirements), by reference.
    pub fn matching<'a>(
        &'a self,
        reqs: &'a [Requirement],
    ) -> impl Iterator<Item = &'a InstanceType> + 'a {
        self.instance_types
            .iter()
            .filter(move |it| instance_type_matches(it, reqs))
    }

    /// The instance types that satisfy `reqs`, each with its offerings narrowed to those that
    /// satisfy the zone / capacity-type requirements.
    pub fn filter(&self, reqs: &[Requirement]) -> Vec<InstanceType> {
        self.matching(reqs)
            .map(|it| {
                let mut it = it.clone();
                it.offerings.retain(|o| offering_matches(o, reqs));
                it
            })
            .collect()
    }

    /// This catalog reduced to the instance types that satisfy `reqs` (offerings narrowed),
    /// without copying them.
    pub fn into_filtered(mut self, reqs: &[Requirement]) -> Catalog {
        self.instance_types
            .retain(|it| instance_type_matches(it, reqs));
        for it in &mut self.instance_types {
            it.offerings.retain(|o| offering_matches(o, reqs));
        }
        self
    }

    /// A copy keeping only the instance types that satisfy `reqs` (offerings narrowed).
    pub fn filtered(&self, reqs: &[Requirement]) -> Catalog {
        Catalog {
            region: self.region.clone(),
            instance_types: self.filter(reqs),
            prices: self.prices.clone(),
        }
    }
}

impl InstanceType {
    /// The cheapest available offering of `capacity_type`.
    pub fn cheapest(&self, capacity_type: CapacityType) -> Option<&Offering> {
        self.offerings
            .iter()
            .filter(|o| o.available && o.capacity_type == capacity_type)
            .min_by(|a, b| {
                a.price
                    .total_cmp(&b.price)
                    .then_with(|| a.zone.cmp(&b.zone))
            })
    }
}
