//! Live prices: the AWS Price List API (GetProducts) for on-demand, DescribeSpotPriceHistory for
//! spot, and the refresh policy that keeps the last good figures and falls back to the built-in
//! snapshot.
//!
//! The policy is a pure state machine: the caller asks [`PriceBook::on_demand_refresh_due`] /
//! [`PriceBook::spot_refresh_due`] with the current time, performs the call, and hands the
//! result (or the failure) to [`PriceBook::apply_on_demand`] / [`PriceBook::apply_spot`] with
//! the time again. A success is used for [`REFRESH_INTERVAL`] (12 hours); a failure keeps the
//! previous prices (live if any, else built-in) and is retried after [`RETRY_INTERVAL`].

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

use crate::allocatable::AllocatableOptions;
use crate::builtin;
use crate::catalog::Catalog;
use crate::live::LiveDataError;
use crate::model::CapacityType;

/// How long a successful refresh is used before the next one.
pub const REFRESH_INTERVAL: SignedDuration = SignedDuration::from_hours(12);
/// How long after a failed refresh to try again.
pub const RETRY_INTERVAL: SignedDuration = SignedDuration::from_mins(5);

/// The GetProducts filters the controller sends for on-demand Linux prices, as (field, value)
/// pairs of `TERM_MATCH` filters (`regionCode` is added per region).
pub const PRICE_LIST_FILTERS: [(&str, &str); 4] = [
    ("operatingSystem", "Linux"),
    ("preInstalledSw", "NA"),
    ("tenancy", "Shared"),
    ("capacitystatus", "Used"),
];

/// A GetProducts response page: `PriceList` holds one JSON document per product, as strings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetProductsOutput {
    /// `aws_v1`.
    #[serde(default)]
    pub format_version: Option<String>,
    /// Product documents (JSON text).
    #[serde(default)]
    pub price_list: Vec<String>,
    /// Pagination token.
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PriceDocument {
    product: PriceProduct,
    #[serde(default)]
    terms: PriceTerms,
}

#[derive(Debug, Deserialize)]
struct PriceProduct {
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct PriceTerms {
    #[serde(rename = "OnDemand", default)]
    on_demand: BTreeMap<String, PriceTerm>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceTerm {
    #[serde(default)]
    price_dimensions: BTreeMap<String, PriceDimension>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceDimension {
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    price_per_unit: BTreeMap<String, String>,
}

/// Parses one GetProducts price-list document into `(instance type, USD per hour)`.
///
/// `Ok(None)` when the document is not an on-demand Linux / shared / no-software / used-capacity
/// hourly price for `region` (the filters should already exclude those) or has no positive USD
/// price. Errors name the document's instance type (when known) and the field.
pub fn parse_price_list_document(
    doc: &str,
    region: &str,
) -> Result<Option<(String, f64)>, LiveDataError> {
    let d: PriceDocument = serde_json::from_str(doc)
        .map_err(|e| LiveDataError::field("<price list document>", "json", &e.to_string()))?;
    let attrs = &d.product.attributes;
    let Some(name) = attrs.get("instanceType").filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let matches = |k: &str, v: &str| attrs.get(k).is_some_and(|x| x == v);
    if !PRICE_LIST_FILTERS.iter().all(|(k, v)| matches(k, v))
        || attrs.get("regionCode").is_some_and(|r| r != region)
    {
        return Ok(None);
    }
    let mut best: Option<f64> = None;
    for term in d.terms.on_demand.values() {
        for dim in term.price_dimensions.values() {
            if dim.unit.as_deref().is_some_and(|u| u != "Hrs") {
                continue;
            }
            let Some(usd) = dim.price_per_unit.get("USD") else {
                continue;
            };
            let p: f64 = usd.trim().parse().map_err(|_| {
                LiveDataError::field(
                    name,
                    "terms.OnDemand.priceDimensions.pricePerUnit.USD",
                    &format!("{usd:?} is not a number"),
                )
            })?;
            if p.is_finite() && p > 0.0 {
                best = Some(best.map_or(p, |b: f64| b.min(p)));
            }
        }
    }
    Ok(best.map(|p| (name.clone(), p)))
}

/// On-demand prices from GetProducts pages; malformed documents are returned as errors beside
/// the prices that did parse.
pub fn on_demand_prices(
    pages: &[GetProductsOutput],
    region: &str,
) -> (HashMap<String, f64>, Vec<LiveDataError>) {
    let mut prices = HashMap::new();
    let mut errors = Vec::new();
    for doc in pages.iter().flat_map(|p| &p.price_list) {
        match parse_price_list_document(doc, region) {
            Ok(Some((name, p))) => {
                let e = prices.entry(name).or_insert(p);
                *e = e.min(p);
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    (prices, errors)
}

/// A DescribeSpotPriceHistory response page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSpotPriceHistoryOutput {
    /// Price points.
    #[serde(default)]
    pub spot_price_history: Vec<SpotPrice>,
    /// Pagination token.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// One spot price point.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SpotPrice {
    /// `us-east-1a`.
    pub availability_zone: String,
    /// `m5.large`.
    pub instance_type: String,
    /// `Linux/UNIX`, `Linux/UNIX (Amazon VPC)`, `Windows`, ...
    #[serde(default)]
    pub product_description: Option<String>,
    /// USD per hour, as text.
    pub spot_price: String,
    /// RFC 3339 time of the price change.
    pub timestamp: String,
}

/// The latest Linux spot price per (instance type, zone). Entries for other products are
/// ignored; an unparsable price or timestamp is an error naming the type and zone.
pub fn latest_spot_prices(
    pages: &[DescribeSpotPriceHistoryOutput],
) -> Result<HashMap<(String, String), f64>, LiveDataError> {
    let mut latest: HashMap<(String, String), (Timestamp, f64)> = HashMap::new();
    for e in pages.iter().flat_map(|p| &p.spot_price_history) {
        if e.product_description
            .as_deref()
            .is_some_and(|d| !d.starts_with("Linux/UNIX"))
        {
            continue;
        }
        let what = format!("{} in {}", e.instance_type, e.availability_zone);
        let price: f64 = e
            .spot_price
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p > 0.0)
            .ok_or_else(|| {
                LiveDataError::field(
                    &what,
                    "SpotPrice",
                    &format!("{:?} is not a price", e.spot_price),
                )
            })?;
        let at: Timestamp = e.timestamp.trim().parse().map_err(|err: jiff::Error| {
            LiveDataError::field(&what, "Timestamp", &format!("{:?}: {err}", e.timestamp))
        })?;
        let key = (e.instance_type.clone(), e.availability_zone.clone());
        match latest.get(&key) {
            Some((t, _)) if *t >= at => {}
            _ => {
                latest.insert(key, (at, price));
            }
        }
    }
    Ok(latest.into_iter().map(|(k, (_, p))| (k, p)).collect())
}

/// Where a set of prices came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceOrigin {
    /// The built-in snapshot.
    Builtin,
    /// A live refresh at this time.
    Live(Timestamp),
}

/// What applying a refresh result did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// New live prices are in use for this many types (or type-zone pairs).
    Updated(usize),
    /// The refresh failed or returned nothing; the previous prices stay.
    KeptPrevious {
        /// Why.
        reason: String,
    },
}

/// The prices the controller uses: live figures where a refresh succeeded, the built-in
/// snapshot otherwise.
#[derive(Debug, Clone)]
pub struct PriceBook {
    region: String,
    builtin_on_demand: HashMap<String, f64>,
    builtin_spot: HashMap<(String, String), f64>,
    live_on_demand: HashMap<String, f64>,
    live_spot: HashMap<(String, String), f64>,
    on_demand_origin: PriceOrigin,
    spot_origin: PriceOrigin,
    on_demand_next: Option<Timestamp>,
    spot_next: Option<Timestamp>,
}

impl PriceBook {
    /// A book seeded with the built-in prices of `region` (us-east-1's when the region is not
    /// built in, as Karpenter does), due for its first refresh immediately.
    pub fn builtin(region: &str) -> Self {
        let source = if builtin::REGIONS.contains(&region) {
            region
        } else {
            "us-east-1"
        };
        let mut od = HashMap::new();
        let mut spot = HashMap::new();
        if let Ok(c) = Catalog::builtin(source, &AllocatableOptions::default()) {
            for it in c.instance_types {
                for o in it.offerings {
                    match o.capacity_type {
                        CapacityType::OnDemand => {
                            od.insert(it.name.clone(), o.price);
                        }
                        CapacityType::Spot => {
                            // Zones are region-specific; keep the built-in estimate by the
                            // zone's letter so another region's zones still find one.
                            let letter = o.zone.trim_start_matches(source).to_string();
                            spot.insert((it.name.clone(), letter), o.price);
                        }
                        CapacityType::Reserved => {}
                    }
                }
            }
        }
        PriceBook {
            region: region.to_string(),
            builtin_on_demand: od,
            builtin_spot: spot,
            live_on_demand: HashMap::new(),
            live_spot: HashMap::new(),
            on_demand_origin: PriceOrigin::Builtin,
            spot_origin: PriceOrigin::Builtin,
            on_demand_next: None,
            spot_next: None,
        }
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The on-demand price of a type: live if known, else built-in.
    pub fn on_demand(&self, instance_type: &str) -> Option<f64> {
        self.live_on_demand
            .get(instance_type)
            .or_else(|| self.builtin_on_demand.get(instance_type))
            .copied()
    }

    /// The spot price of a type in a zone: the latest live price, else the built-in estimate
    /// (by zone letter), else the on-demand price (what Karpenter uses before any spot data).
    pub fn spot(&self, instance_type: &str, zone: &str) -> Option<f64> {
        if let Some(p) = self
            .live_spot
            .get(&(instance_type.to_string(), zone.to_string()))
        {
            return Some(*p);
        }
        let letter = zone.trim_start_matches(self.region.as_str()).to_string();
        self.builtin_spot
            .get(&(instance_type.to_string(), letter))
            .copied()
            .or_else(|| self.on_demand(instance_type))
    }

    /// Where the on-demand prices in use came from.
    pub fn on_demand_origin(&self) -> PriceOrigin {
        self.on_demand_origin
    }

    /// Where the spot prices in use came from.
    pub fn spot_origin(&self) -> PriceOrigin {
        self.spot_origin
    }

    /// Whether the on-demand prices should be refreshed at `now`.
    pub fn on_demand_refresh_due(&self, now: Timestamp) -> bool {
        self.on_demand_next.is_none_or(|t| now >= t)
    }

    /// Whether the spot prices should be refreshed at `now`.
    pub fn spot_refresh_due(&self, now: Timestamp) -> bool {
        self.spot_next.is_none_or(|t| now >= t)
    }

    /// Applies the result of a GetProducts refresh made at `now`. A non-empty result replaces
    /// the live on-demand prices (types it lacks keep their built-in price); a failure or an
    /// empty result keeps the previous prices and schedules a retry.
    pub fn apply_on_demand(
        &mut self,
        now: Timestamp,
        result: Result<HashMap<String, f64>, String>,
    ) -> RefreshOutcome {
        match result {
            Ok(prices) if !prices.is_empty() => {
                let n = prices.len();
                self.live_on_demand = prices
                    .into_iter()
                    .filter(|(_, p)| p.is_finite() && *p > 0.0)
                    .collect();
                self.on_demand_origin = PriceOrigin::Live(now);
                self.on_demand_next = now.checked_add(REFRESH_INTERVAL).ok();
                RefreshOutcome::Updated(n)
            }
            other => {
                let reason = match other {
                    Err(e) => e,
                    Ok(_) => "the price list returned no prices".to_string(),
                };
                tracing::warn!(region = %self.region, %reason, "on-demand price refresh failed; keeping previous prices");
                self.on_demand_next = now.checked_add(RETRY_INTERVAL).ok();
                RefreshOutcome::KeptPrevious { reason }
            }
        }
    }

    /// Applies the result of a DescribeSpotPriceHistory refresh made at `now`; same policy as
    /// [`PriceBook::apply_on_demand`]. New points update their (type, zone); others are kept.
    pub fn apply_spot(
        &mut self,
        now: Timestamp,
        result: Result<HashMap<(String, String), f64>, String>,
    ) -> RefreshOutcome {
        match result {
            Ok(prices) if !prices.is_empty() => {
                let n = prices.len();
                self.live_spot.extend(
                    prices
                        .into_iter()
                        .filter(|(_, p)| p.is_finite() && *p > 0.0),
                );
                self.spot_origin = PriceOrigin::Live(now);
                self.spot_next = now.checked_add(REFRESH_INTERVAL).ok();
                RefreshOutcome::Updated(n)
            }
            other => {
                let reason = match other {
                    Err(e) => e,
                    Ok(_) => "the spot price history returned no prices".to_string(),
                };
                tracing::warn!(region = %self.region, %reason, "spot price refresh failed; keeping previous prices");
                self.spot_next = now.checked_add(RETRY_INTERVAL).ok();
                RefreshOutcome::KeptPrevious { reason }
            }
        }
    }
}
