//! The logic of the fuzz targets in `fuzz/`, as plain functions so an ordinary test can replay
//! the seed corpora through exactly the same code.
//!
//! Each function takes arbitrary bytes and must not panic; it returns an error only when an
//! invariant that must hold for every input is broken (the fuzz targets panic on it).

use crate::duration::{parse_duration, NillableDuration};
use crate::object::{self, KarpenterObject};
use crate::quantity::{format_milli, parse_milli};

/// An invariant broken by a fuzz input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvariantViolation {
    /// A decoded object did not serialise and read back to the same value.
    #[error("document {index}: {kind} does not round-trip: {detail}")]
    RoundTrip {
        /// Index of the YAML document.
        index: usize,
        /// The object's kind.
        kind: String,
        /// What differed.
        detail: String,
    },
    /// A parsed quantity, formatted and parsed again, changed value.
    #[error("quantity {input:?} parsed to {milli}m but its formatting {formatted:?} did not parse back to it")]
    Quantity {
        /// The input text.
        input: String,
        /// The parsed value in milli-units.
        milli: i64,
        /// The formatted text.
        formatted: String,
    },
    /// A parsed duration, formatted and parsed again, changed value.
    #[error("duration {input:?} parsed to {secs}s but its formatting {formatted:?} did not parse back to it")]
    Duration {
        /// The input text.
        input: String,
        /// The parsed value in whole seconds.
        secs: u64,
        /// The formatted text.
        formatted: String,
    },
}

/// What [`parse_and_validate`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// YAML documents read.
    pub documents: usize,
    /// Karpenter objects decoded.
    pub objects: usize,
    /// Validation or decode errors found.
    pub errors: usize,
}

/// Parses `data` as multi-document YAML, decodes every Karpenter object, validates it and checks
/// that it round-trips through YAML unchanged.
pub fn parse_and_validate(data: &[u8]) -> Result<Summary, InvariantViolation> {
    let text = String::from_utf8_lossy(data);
    let mut summary = Summary::default();
    for (index, de) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let Ok(value) = <serde_yaml::Value as serde::Deserialize>::deserialize(de) else {
            // serde_yaml stops at the first malformed document.
            break;
        };
        summary.documents += 1;
        let Some(decoded) = object::decode(&value) else {
            continue;
        };
        let obj = match decoded {
            Ok(o) => o,
            Err(_) => {
                summary.errors += 1;
                continue;
            }
        };
        summary.objects += 1;
        summary.errors += obj.validate().len();
        let again = match &obj {
            KarpenterObject::NodePool(o) => {
                object::round_trip(o.as_ref()).map(|o| KarpenterObject::NodePool(Box::new(o)))
            }
            KarpenterObject::NodeClaim(o) => {
                object::round_trip(o.as_ref()).map(|o| KarpenterObject::NodeClaim(Box::new(o)))
            }
            KarpenterObject::EC2NodeClass(o) => {
                object::round_trip(o.as_ref()).map(|o| KarpenterObject::EC2NodeClass(Box::new(o)))
            }
        };
        match again {
            Ok(again) if again == obj => {}
            Ok(again) => {
                return Err(InvariantViolation::RoundTrip {
                    index,
                    kind: obj.kind().to_string(),
                    detail: format!("{obj:?} became {again:?}"),
                })
            }
            Err(e) => {
                return Err(InvariantViolation::RoundTrip {
                    index,
                    kind: obj.kind().to_string(),
                    detail: e.to_string(),
                })
            }
        }
    }
    Ok(summary)
}

/// Parses every line of `data` as a quantity; a quantity that parses must format to text that
/// parses back to the same value.
pub fn quantity(data: &[u8]) -> Result<usize, InvariantViolation> {
    let text = String::from_utf8_lossy(data);
    let mut parsed = 0;
    for line in text.lines() {
        let Ok(milli) = parse_milli(line) else {
            continue;
        };
        parsed += 1;
        for resource in ["cpu", "memory"] {
            let formatted = format_milli(resource, milli);
            if parse_milli(&formatted) != Ok(milli) {
                return Err(InvariantViolation::Quantity {
                    input: line.to_string(),
                    milli,
                    formatted,
                });
            }
        }
    }
    Ok(parsed)
}

/// Parses every line of `data` as a duration; a duration that parses must format (to whole
/// seconds) as text that parses back to the same whole seconds.
pub fn duration(data: &[u8]) -> Result<usize, InvariantViolation> {
    let text = String::from_utf8_lossy(data);
    let mut parsed = 0;
    for line in text.lines() {
        let _ = NillableDuration(line.to_string()).parse();
        let Ok(d) = parse_duration(line) else {
            continue;
        };
        parsed += 1;
        let secs = d.as_secs();
        let formatted = NillableDuration::from_duration(std::time::Duration::from_secs(secs)).0;
        if parse_duration(&formatted).map(|d| d.as_secs()) != Ok(secs) {
            return Err(InvariantViolation::Duration {
                input: line.to_string(),
                secs,
                formatted,
            });
        }
    }
    Ok(parsed)
}
