//! Kubernetes resource quantities (`500m`, `1.5`, `512Mi`, `2G`, `1e3`) as exact integers.
//!
//! Every quantity is held in *milli-units* (`i64`): `1` cpu is `1000`, `1Ki` of memory is
//! `1_024_000`. Milli-units keep cpu exact and still hold 9 PB of memory, so the scheduler can add
//! and compare resources as plain integers. Values finer than a milli-unit round up, as Kubernetes
//! rounds requests up.

use std::collections::BTreeMap;
use std::fmt;

/// A parse failure for a quantity string, with the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string is empty.
    #[error("empty quantity")]
    Empty,
    /// The string is not `<number><suffix>` in Kubernetes notation.
    #[error("invalid quantity {0:?}: expected a number with an optional suffix (m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei)")]
    Syntax(String),
    /// The string is negative.
    #[error("invalid quantity {0:?}: must not be negative")]
    Negative(String),
    /// The value does not fit in 64-bit milli-units.
    #[error("quantity {0:?} is too large")]
    Overflow(String),
}

/// Parses a Kubernetes quantity into milli-units, rounding sub-milli fractions up.
pub fn parse_milli(s: &str) -> Result<i64, QuantityError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(QuantityError::Empty);
    }
    let syntax = || QuantityError::Syntax(s.to_string());
    let (sign, body) = match t.as_bytes()[0] {
        b'-' => (-1i128, &t[1..]),
        b'+' => (1i128, &t[1..]),
        _ => (1i128, t),
    };
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return Err(syntax());
    }
    // Scale as (numerator, denominator) so binary and decimal suffixes stay exact.
    let (mul, div): (i128, i128) = match suffix {
        "" => (1000, 1),
        "m" => (1, 1),
        "k" => (1000 * 1000, 1),
        "M" => (1000 * 1_000_000, 1),
        "G" => (1000 * 1_000_000_000, 1),
        "T" => (1000 * 1_000_000_000_000, 1),
        "P" => (1000 * 1_000_000_000_000_000, 1),
        "E" => (1000 * 1_000_000_000_000_000_000, 1),
        "Ki" => (1000 << 10, 1),
        "Mi" => (1000 << 20, 1),
        "Gi" => (1000 << 30, 1),
        "Ti" => (1000 << 40, 1),
        "Pi" => (1000 << 50, 1),
        "Ei" => (1000 << 60, 1),
        "n" => (1, 1_000_000),
        "u" => (1, 1000),
        _ if suffix.starts_with(['e', 'E']) => {
            let exp: i32 = suffix[1..].parse().map_err(|_| syntax())?;
            if !(-18..=18).contains(&exp) {
                return Err(QuantityError::Overflow(s.to_string()));
            }
            if exp >= 0 {
                (1000 * 10i128.pow(exp as u32), 1)
            } else {
                (1000, 10i128.pow((-exp) as u32))
            }
        }
        _ => return Err(syntax()),
    };
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if int_part.len() + frac_part.len() > 30 {
        return Err(QuantityError::Overflow(s.to_string()));
    }
    let digits = format!("{int_part}{frac_part}");
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| syntax())?
    };
    let frac_scale = 10i128.pow(frac_part.len() as u32);
    let numerator = mantissa
        .checked_mul(mul)
        .ok_or_else(|| QuantityError::Overflow(s.to_string()))?;
    let denominator = frac_scale * div;
    let value = (numerator + denominator - 1) / denominator; // round up
    if sign < 0 && value != 0 {
        return Err(QuantityError::Negative(s.to_string()));
    }
    i64::try_from(value).map_err(|_| QuantityError::Overflow(s.to_string()))
}

/// Whether a resource is counted in bytes (memory, storage) and so printed with binary suffixes.
pub fn is_byte_resource(name: &str) -> bool {
    name == "memory"
        || name.ends_with("storage")
        || name.starts_with("hugepages-")
        || name.ends_with("memory")
}

/// Formats milli-units for display the way a person reads Kubernetes resources.
///
/// Byte resources use the largest binary suffix that divides exactly (`14162Mi`), then `Ki`, then
/// plain bytes; other resources print whole units (`58`) or milli-units (`3920m`).
pub fn format_milli(resource: &str, milli: i64) -> String {
    if is_byte_resource(resource) && milli % 1000 == 0 {
        let bytes = milli / 1000;
        for (suffix, shift) in [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
            let unit = 1i64 << shift;
            if bytes != 0 && bytes % unit == 0 {
                return format!("{}{}", bytes / unit, suffix);
            }
        }
        return bytes.to_string();
    }
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// A resource list (`cpu`, `memory`, `pods`, `nvidia.com/gpu`, ...) in milli-units, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceList(pub BTreeMap<String, i64>);

impl ResourceList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a Kubernetes `{name: quantity}` map; the error names the resource.
    pub fn parse<'a, I>(items: I) -> Result<Self, (String, QuantityError)>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut out = BTreeMap::new();
        for (name, q) in items {
            let v = parse_milli(q).map_err(|e| (name.to_string(), e))?;
            out.insert(name.to_string(), v);
        }
        Ok(Self(out))
    }

    /// The amount of `name` in milli-units (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Sets `name` to `milli` milli-units.
    pub fn set(&mut self, name: impl Into<String>, milli: i64) {
        self.0.insert(name.into(), milli);
    }

    /// Adds every entry of `other` to this list, saturating.
    pub fn add(&mut self, other: &ResourceList) {
        for (k, v) in &other.0 {
            let e = self.0.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    /// Subtracts every entry of `other`, flooring each at zero.
    pub fn saturating_sub(&self, other: &ResourceList) -> ResourceList {
        let mut out = self.clone();
        for (k, v) in &other.0 {
            if let Some(e) = out.0.get_mut(k) {
                *e = (*e - *v).max(0);
            }
        }
        out
    }

    /// Whether every entry of `self` fits in `capacity` (a missing entry in `capacity` is zero).
    pub fn fits_in(&self, capacity: &ResourceList) -> bool {
        self.0.iter().all(|(k, v)| *v <= capacity.get(k))
    }

    /// The list as Kubernetes quantity strings, for output.
    pub fn to_strings(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), format_milli(k, *v)))
            .collect()
    }
}

impl fmt::Display for ResourceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{k}={}", format_milli(k, *v)))
            .collect();
        write!(f, "{}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_notation() {
        assert_eq!(parse_milli("500m"), Ok(500));
        assert_eq!(parse_milli("1.5"), Ok(1500));
        assert_eq!(parse_milli("2"), Ok(2000));
        assert_eq!(parse_milli("512Mi"), Ok(512 * 1024 * 1024 * 1000));
        assert_eq!(parse_milli("2G"), Ok(2_000_000_000_000));
        assert_eq!(parse_milli("1e3"), Ok(1_000_000));
        assert_eq!(parse_milli("1.5Gi"), Ok(1536 * 1024 * 1024 * 1000));
        assert_eq!(parse_milli("0.1m"), Ok(1), "sub-milli rounds up");
        assert_eq!(parse_milli("100n"), Ok(1));
        assert_eq!(parse_milli(".5"), Ok(500));
    }

    #[test]
    fn rejects_bad_quantities() {
        assert_eq!(parse_milli(""), Err(QuantityError::Empty));
        assert!(matches!(parse_milli("abc"), Err(QuantityError::Syntax(_))));
        assert!(matches!(parse_milli("1Xi"), Err(QuantityError::Syntax(_))));
        assert!(matches!(parse_milli("1..2"), Err(QuantityError::Syntax(_))));
        assert!(matches!(parse_milli("-1"), Err(QuantityError::Negative(_))));
        assert!(matches!(
            parse_milli("9Ei"),
            Err(QuantityError::Overflow(_))
        ));
        assert!(matches!(
            parse_milli("1e99"),
            Err(QuantityError::Overflow(_))
        ));
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(
            format_milli("memory", 14162 * 1024 * 1024 * 1000),
            "14162Mi"
        );
        assert_eq!(format_milli("memory", 6 * 1024 * 1024 * 1024 * 1000), "6Gi");
        assert_eq!(format_milli("cpu", 3920), "3920m");
        assert_eq!(format_milli("pods", 58_000), "58");
    }

    #[test]
    fn resource_list_arithmetic() {
        let cap = ResourceList::parse([("cpu", "2"), ("memory", "4Gi")]).unwrap();
        let req = ResourceList::parse([("cpu", "1500m"), ("memory", "1Gi")]).unwrap();
        assert!(req.fits_in(&cap));
        let left = cap.saturating_sub(&req);
        assert_eq!(left.get("cpu"), 500);
        let gpu = ResourceList::parse([("nvidia.com/gpu", "1")]).unwrap();
        assert!(!gpu.fits_in(&cap));
        assert_eq!(ResourceList::parse([("cpu", "x")]).unwrap_err().0, "cpu");
    }
}
