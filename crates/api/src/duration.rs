//! Durations as Karpenter's API writes them: Go-style `720h`, `1h30m`, `10s`, and `Never` where
//! a duration may be disabled.
//!
//! The types keep the text as written (so manifests round-trip unchanged) and parse on demand;
//! validation reports text that does not parse, with its field path.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The text that disables a [`NillableDuration`].
pub const NEVER: &str = "Never";

/// A duration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a sequence of `<integer><unit>` with units `h`, `m`, `s`.
    #[error("invalid duration {0:?}: expected a Go duration such as 720h, 1h30m or 10s")]
    Syntax(String),
    /// `Never` where a finite duration is required.
    #[error("invalid duration {0:?}: Never is not allowed here")]
    NeverNotAllowed(String),
    /// The value does not fit in 64-bit seconds.
    #[error("duration {0:?} is too large")]
    Overflow(String),
}

/// Parses Karpenter's duration syntax (`^([0-9]+(s|m|h))+$`, as its CRDs require) into a
/// [`Duration`]. Go's fractional and sub-second forms (`1.5h`, `10ms`) are also accepted, as
/// Go's `time.ParseDuration` accepts them, and are truncated to whole milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax(text.to_string());
    let overflow = || DurationError::Overflow(text.to_string());
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(syntax());
    }
    let mut rest = text;
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(syntax)?;
        let (num, tail) = rest.split_at(num_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(syntax()),
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return Err(syntax());
        }
        if int_part.len() > 20 || frac_part.len() > 18 {
            return Err(overflow());
        }
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| syntax())?
        };
        let mut nanos = int.checked_mul(unit_nanos).ok_or_else(overflow)?;
        if !frac_part.is_empty() {
            let frac: u128 = frac_part.parse().map_err(|_| syntax())?;
            let scale = 10u128.pow(frac_part.len() as u32);
            nanos += frac * unit_nanos / scale;
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(overflow)?;
        rest = tail;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| overflow())?;
    Ok(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

/// Whether `text` has the strict form Karpenter's CRDs accept: `^([0-9]+(s|m|h))+$`.
pub fn is_strict_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits == rest.len() {
            return false;
        }
        if !matches!(rest.as_bytes()[digits], b's' | b'm' | b'h') {
            return false;
        }
        rest = &rest[digits + 1..];
    }
    true
}

/// Formats a duration the way Go's `time.Duration.String` does for whole seconds (`720h0m0s`
/// is written `720h`, `90m` as `1h30m`): the shortest `h`/`m`/`s` form.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// A duration that may be `Never` (`expireAfter`, `consolidateAfter`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NillableDuration(pub String);

impl NillableDuration {
    /// `Never`.
    pub fn never() -> Self {
        Self(NEVER.into())
    }

    /// A finite duration, written in the shortest `h`/`m`/`s` form.
    pub fn from_duration(d: Duration) -> Self {
        Self(format_duration(d))
    }

    /// Whether the text is `Never`.
    pub fn is_never(&self) -> bool {
        self.0 == NEVER
    }

    /// Parses the text: `Ok(None)` for `Never`, `Ok(Some(d))` for a duration.
    pub fn parse(&self) -> Result<Option<Duration>, DurationError> {
        if self.is_never() {
            Ok(None)
        } else {
            parse_duration(&self.0).map(Some)
        }
    }

    /// The finite duration; `None` for `Never` or text that does not parse (which validation
    /// reports).
    pub fn duration(&self) -> Option<Duration> {
        self.parse().ok().flatten()
    }
}

impl fmt::Display for NillableDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for NillableDuration {
    fn schema_name() -> Cow<'static, str> {
        "NillableDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(([0-9]+(s|m|h))+|Never)$"
        })
    }
}

/// A finite Go duration (`terminationGracePeriod`, budget `duration`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GoDuration(pub String);

impl GoDuration {
    /// A duration written in the shortest `h`/`m`/`s` form.
    pub fn from_duration(d: Duration) -> Self {
        Self(format_duration(d))
    }

    /// Parses the text; `Never` is an error.
    pub fn parse(&self) -> Result<Duration, DurationError> {
        if self.0 == NEVER {
            return Err(DurationError::NeverNotAllowed(self.0.clone()));
        }
        parse_duration(&self.0)
    }

    /// The duration, or `None` when the text does not parse (which validation reports).
    pub fn duration(&self) -> Option<Duration> {
        self.parse().ok()
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for GoDuration {
    fn schema_name() -> Cow<'static, str> {
        "GoDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+(s|m|h))+$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("720h"), Ok(Duration::from_secs(720 * 3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "h", "10", "10x", "1h30", "-5s", "1..5h", "Never", "1 h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_duration("99999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn strict_form() {
        assert!(is_strict_duration("720h"));
        assert!(is_strict_duration("1h30m10s"));
        assert!(!is_strict_duration("1.5h"));
        assert!(!is_strict_duration("10ms"));
        assert!(!is_strict_duration("10"));
        assert!(!is_strict_duration(""));
    }

    #[test]
    fn nillable_and_formatting() {
        assert_eq!(NillableDuration::never().parse(), Ok(None));
        assert_eq!(
            NillableDuration("720h".into()).duration(),
            Some(Duration::from_secs(2_592_000))
        );
        assert_eq!(
            GoDuration("Never".into()).parse(),
            Err(DurationError::NeverNotAllowed("Never".into()))
        );
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(
            NillableDuration::from_duration(Duration::from_secs(2_592_000)).0,
            "720h"
        );
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
