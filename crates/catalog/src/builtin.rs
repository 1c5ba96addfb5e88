//! The built-in catalog: instance-type facts and zone offerings generated from moto's EC2
//! snapshots, us-east-1 on-demand prices as per-family rates plus exceptions, regional price
//! factors, and a deterministic spot estimate. Everything is embedded with `include_str!`.
//!
//! Built-in prices are a dated snapshot ([`PRICES_AS_OF`]); the controller refreshes them from
//! the AWS Price List API and DescribeSpotPriceHistory.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use crate::allocatable::AllocatableOptions;
use crate::catalog::{Catalog, CatalogError, PriceSource};
use crate::model::{CapacityType, Offering};
use crate::spec::{parse_name, AcceleratorSpec, Arch, GpuSpec, InstanceSpec};

const INSTANCE_TYPES_CSV: &str = include_str!("../data/instance_types.csv");
const OFFERINGS_CSV: &str = include_str!("../data/offerings.csv");
const ZONES_CSV: &str = include_str!("../data/zones.csv");
const PRICES_CSV: &str = include_str!("../data/prices.csv");
const REGIONAL_FACTORS_CSV: &str = include_str!("../data/regional_factors.csv");

/// The date of the public price list the built-in us-east-1 on-demand prices come from.
pub const PRICES_AS_OF: &str = "2026-01-19";

/// The regions the built-in catalog covers.
pub const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
];

/// Spot price estimate: `on-demand × (SPOT_BASE + SPOT_SPREAD × u)`, where `u` in [0, 1) comes
/// from the FNV-1a hash of `region/zone/instance-type`. So every type and zone has a stable spot
/// price between 30% and 55% of on-demand (a 45–70% discount, the range AWS advertises).
pub const SPOT_BASE: f64 = 0.30;
/// See [`SPOT_BASE`].
pub const SPOT_SPREAD: f64 = 0.25;

fn data_err(file: &'static str, line: usize, message: impl Into<String>) -> CatalogError {
    CatalogError::Data {
        file,
        line,
        message: message.into(),
    }
}

/// Data rows of an embedded CSV file: skips `#` comments and the header, yields `(line, fields)`.
fn rows(text: &'static str) -> impl Iterator<Item = (usize, Vec<&'static str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|(i, l)| (i + 1, l.split(',').collect()))
}

fn int(file: &'static str, line: usize, field: &str, v: &str) -> Result<i64, CatalogError> {
    v.parse()
        .map_err(|_| data_err(file, line, format!("{field}: {v:?} is not an integer")))
}

fn boolean(file: &'static str, line: usize, field: &str, v: &str) -> Result<bool, CatalogError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(data_err(
            file,
            line,
            format!("{field}: {v:?} is not true/false"),
        )),
    }
}

/// The instance-type facts of the built-in data, sorted by name.
pub fn specs() -> Result<Vec<InstanceSpec>, CatalogError> {
    const F: &str = "instance_types.csv";
    let mut out = Vec::with_capacity(1400);
    for (line, f) in rows(INSTANCE_TYPES_CSV) {
        if f.len() != 26 {
            return Err(data_err(
                F,
                line,
                format!("expected 26 fields, found {}", f.len()),
            ));
        }
        let i = |idx: usize, name: &str| int(F, line, name, f[idx]);
        let b = |idx: usize, name: &str| boolean(F, line, name, f[idx]);
        let arch = match f[3] {
            "amd64" => Arch::Amd64,
            "arm64" => Arch::Arm64,
            other => return Err(data_err(F, line, format!("arch: unknown {other:?}"))),
        };
        let gpu_count = i(18, "gpu_count")?;
        let acc_count = i(22, "accelerator_count")?;
        out.push(InstanceSpec {
            name: f[0].to_string(),
            vcpu: i(1, "vcpu")?,
            memory_mib: i(2, "memory_mib")?,
            arch,
            cpu_manufacturer: f[4].to_string(),
            clock_mhz: i(5, "clock_mhz")?,
            hypervisor: f[6].to_string(),
            bare_metal: b(7, "bare_metal")?,
            burstable: b(8, "burstable")?,
            current_generation: b(9, "current_generation")?,
            default_card_enis: i(10, "default_card_enis")?,
            ipv4_per_eni: i(11, "ipv4_per_eni")?,
            network_mbps: i(12, "network_mbps")?,
            ebs_mbps: i(13, "ebs_mbps")?,
            local_nvme_gb: i(14, "local_nvme_gb")?,
            encryption_in_transit: b(15, "encryption_in_transit")?,
            gpu: (gpu_count > 0).then(|| GpuSpec {
                name: f[16].to_string(),
                manufacturer: f[17].to_string(),
                count: gpu_count,
                memory_mib: f[19].parse().unwrap_or(0),
            }),
            accelerator: (acc_count > 0).then(|| AcceleratorSpec {
                name: f[20].to_string(),
                manufacturer: f[21].to_string(),
                count: acc_count,
                neuron_cores: f[23].parse().unwrap_or(0),
            }),
            efa: i(24, "efa")?,
            spot_supported: b(25, "spot")?,
        });
    }
    Ok(out)
}

/// The built-in us-east-1 on-demand price list: per-family rates and per-type exceptions.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    /// family → (basis is memory GiB rather than vCPU, USD per unit-hour).
    families: HashMap<&'static str, (bool, f64)>,
    /// instance type → USD/h.
    exceptions: HashMap<&'static str, f64>,
    /// (region, category or `*`) → factor.
    factors: HashMap<(&'static str, &'static str), f64>,
}

impl PriceTable {
    /// Parses the embedded price files.
    pub fn load() -> Result<Self, CatalogError> {
        const F: &str = "prices.csv";
        let mut t = PriceTable::default();
        for (line, f) in rows(PRICES_CSV) {
            if f.len() != 4 {
                return Err(data_err(F, line, "expected kind,key,basis,value"));
            }
            let value: f64 = f[3]
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v > 0.0)
                .ok_or_else(|| data_err(F, line, format!("value: {:?} is not a price", f[3])))?;
            match (f[0], f[2]) {
                ("family", "vcpu") => {
                    t.families.insert(f[1], (false, value));
                }
                ("family", "mem") => {
                    t.families.insert(f[1], (true, value));
                }
                ("type", "") => {
                    t.exceptions.insert(f[1], value);
                }
                (k, b) => return Err(data_err(F, line, format!("unknown kind/basis {k:?}/{b:?}"))),
            }
        }
        const R: &str = "regional_factors.csv";
        for (line, f) in rows(REGIONAL_FACTORS_CSV) {
            if f.len() != 4 {
                return Err(data_err(R, line, "expected region,category,factor,note"));
            }
            let factor: f64 = f[2]
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v > 0.0)
                .ok_or_else(|| data_err(R, line, format!("factor: {:?} is not positive", f[2])))?;
            t.factors.insert((f[0], f[1]), factor);
        }
        Ok(t)
    }

    /// The us-east-1 on-demand price: the exception if listed, else the family rate × units.
    /// `None` when the family has no rate.
    pub fn us_east_1(&self, spec: &InstanceSpec) -> Option<f64> {
        if let Some(p) = self.exceptions.get(spec.name.as_str()) {
            return Some(*p);
        }
        let family = spec.name.split_once('.').map(|(f, _)| f)?;
        let (by_memory, rate) = *self.families.get(family)?;
        let units = if by_memory {
            spec.memory_mib as f64 / 1024.0
        } else {
            spec.vcpu as f64
        };
        Some(round6(rate * units)).filter(|p| *p > 0.0)
    }

    /// The regional factor for a type's category; `None` for a region without factors.
    pub fn factor(&self, region: &str, spec: &InstanceSpec) -> Option<f64> {
        let category = parse_name(&spec.name).map(|(_, _, c, _)| c).unwrap_or("*");
        self.factors
            .iter()
            .find(|((r, c), _)| *r == region && *c == category)
            .or_else(|| {
                self.factors
                    .iter()
                    .find(|((r, c), _)| *r == region && *c == "*")
            })
            .map(|(_, f)| *f)
    }

    /// The on-demand price in `region`: the us-east-1 price × the regional factor.
    pub fn on_demand(&self, region: &str, spec: &InstanceSpec) -> Option<f64> {
        Some(round6(self.us_east_1(spec)? * self.factor(region, spec)?))
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// 64-bit FNV-1a over the parts joined by `/`.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        let sep: &[u8] = if i == 0 { b"" } else { b"/" };
        for b in sep.iter().chain(part.as_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The built-in spot estimate for a type in a zone (see [`SPOT_BASE`]).
pub fn spot_estimate(on_demand: f64, region: &str, zone: &str, instance_type: &str) -> f64 {
    let u = (fnv1a(&[region, zone, instance_type]) >> 11) as f64 / (1u64 << 53) as f64;
    round6(on_demand * (SPOT_BASE + SPOT_SPREAD * u)).max(0.000001)
}

/// Zone name → zone id for the built-in regions.
pub fn zones(region: &str) -> Result<Vec<(String, String)>, CatalogError> {
    let mut out = Vec::new();
    for (line, f) in rows(ZONES_CSV) {
        if f.len() != 3 {
            return Err(data_err("zones.csv", line, "expected region,zone,zone_id"));
        }
        if f[0] == region {
            out.push((f[1].to_string(), f[2].to_string()));
        }
    }
    Ok(out)
}

/// The embedded data, parsed once per process (it never changes).
struct Parsed {
    specs: Vec<InstanceSpec>,
    prices: PriceTable,
    /// region → (instance type → zone letters).
    offered: HashMap<&'static str, HashMap<&'static str, &'static str>>,
    /// region → zone name → zone id.
    zone_ids: HashMap<&'static str, BTreeMap<String, String>>,
}

fn parse_all() -> Result<Parsed, CatalogError> {
    let mut offered: HashMap<&'static str, HashMap<&'static str, &'static str>> = HashMap::new();
    for (line, f) in rows(OFFERINGS_CSV) {
        if f.len() != 3 {
            return Err(data_err(
                "offerings.csv",
                line,
                "expected region,instance_type,zones",
            ));
        }
        offered.entry(f[0]).or_default().insert(f[1], f[2]);
    }
    let mut zone_ids = HashMap::new();
    for region in REGIONS {
        zone_ids.insert(region, zones(region)?.into_iter().collect());
    }
    Ok(Parsed {
        specs: specs()?,
        prices: PriceTable::load()?,
        offered,
        zone_ids,
    })
}

fn parsed() -> Result<&'static Parsed, CatalogError> {
    static PARSED: OnceLock<Result<Parsed, CatalogError>> = OnceLock::new();
    PARSED.get_or_init(parse_all).as_ref().map_err(Clone::clone)
}

impl Catalog {
    /// The built-in catalog for `region`: every instance type offered there that has a built-in
    /// price, with capacity and overhead computed with `opts`, an on-demand offering in every
    /// zone that offers it and a spot offering where EC2 sells it as spot. Prices are a dated
    /// snapshot ([`PRICES_AS_OF`]). The embedded data is parsed on the first call only.
    pub fn builtin(region: &str, opts: &AllocatableOptions) -> Result<Catalog, CatalogError> {
        if !REGIONS.contains(&region) {
            return Err(CatalogError::UnknownRegion {
                region: region.to_string(),
                known: REGIONS.iter().map(|s| s.to_string()).collect(),
            });
        }
        opts.validate().map_err(CatalogError::Options)?;
        let data = parsed()?;
        let empty = HashMap::new();
        let offered = data.offered.get(region).unwrap_or(&empty);
        let no_zones = BTreeMap::new();
        let zone_ids = data.zone_ids.get(region).unwrap_or(&no_zones);
        let mut instance_types = Vec::with_capacity(offered.len());
        for spec in &data.specs {
            let Some(letters) = offered.get(spec.name.as_str()) else {
                continue;
            };
            let Some(od) = data.prices.on_demand(region, spec) else {
                continue;
            };
            let mut offerings = Vec::with_capacity(letters.len() * 2);
            for letter in letters.chars() {
                let mut zone = String::with_capacity(region.len() + 1);
                zone.push_str(region);
                zone.push(letter);
                let zone_id = zone_ids.get(&zone).cloned();
                if spec.spot_supported {
                    offerings.push(Offering {
                        price: spot_estimate(od, region, &zone, &spec.name),
                        zone: zone.clone(),
                        zone_id: zone_id.clone(),
                        capacity_type: CapacityType::Spot,
                        available: true,
                    });
                }
                offerings.push(Offering {
                    zone,
                    zone_id,
                    capacity_type: CapacityType::OnDemand,
                    price: od,
                    available: true,
                });
            }
            instance_types.push(spec.to_instance_type(opts, offerings));
        }
        Ok(Catalog {
            region: region.to_string(),
            instance_types,
            prices: PriceSource::BuiltinSnapshot {
                as_of: PRICES_AS_OF.to_string(),
            },
        })
    }
}
