//! Recognising and decoding Karpenter objects in generic manifests.

use crate::validation::{FieldError, Validate};
use crate::{EC2NodeClass, NodeClaim, NodePool};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

/// The Karpenter kinds this crate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `karpenter.sh/v1` NodePool.
    NodePool,
    /// `karpenter.sh/v1` NodeClaim.
    NodeClaim,
    /// `karpenter.k8s.aws/v1` EC2NodeClass.
    EC2NodeClass,
}

impl Kind {
    /// The kind named `kind`, if it is a Karpenter kind.
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "NodePool" => Some(Kind::NodePool),
            "NodeClaim" => Some(Kind::NodeClaim),
            "EC2NodeClass" => Some(Kind::EC2NodeClass),
            _ => None,
        }
    }

    /// The `apiVersion` this crate reads the kind in.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::NodePool | Kind::NodeClaim => "karpenter.sh/v1",
            Kind::EC2NodeClass => "karpenter.k8s.aws/v1",
        }
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NodePool => "NodePool",
            Kind::NodeClaim => "NodeClaim",
            Kind::EC2NodeClass => "EC2NodeClass",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded Karpenter object, with CRD defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub enum KarpenterObject {
    /// A NodePool.
    NodePool(Box<NodePool>),
    /// A NodeClaim.
    NodeClaim(Box<NodeClaim>),
    /// An EC2NodeClass.
    EC2NodeClass(Box<EC2NodeClass>),
}

impl KarpenterObject {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            KarpenterObject::NodePool(_) => Kind::NodePool,
            KarpenterObject::NodeClaim(_) => Kind::NodeClaim,
            KarpenterObject::EC2NodeClass(_) => Kind::EC2NodeClass,
        }
    }

    /// Every validation error of the object.
    pub fn validate(&self) -> Vec<FieldError> {
        match self {
            KarpenterObject::NodePool(o) => o.validate(),
            KarpenterObject::NodeClaim(o) => o.validate(),
            KarpenterObject::EC2NodeClass(o) => o.validate(),
        }
    }

    /// The object as YAML.
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        match self {
            KarpenterObject::NodePool(o) => serde_yaml::to_string(o),
            KarpenterObject::NodeClaim(o) => serde_yaml::to_string(o),
            KarpenterObject::EC2NodeClass(o) => serde_yaml::to_string(o),
        }
    }

    /// The object as a YAML value.
    pub fn to_value(&self) -> Result<serde_yaml::Value, serde_yaml::Error> {
        match self {
            KarpenterObject::NodePool(o) => serde_yaml::to_value(o),
            KarpenterObject::NodeClaim(o) => serde_yaml::to_value(o),
            KarpenterObject::EC2NodeClass(o) => serde_yaml::to_value(o),
        }
    }
}

/// Decodes `value` into `T`, naming the offending field on failure.
pub fn decode_as<T: DeserializeOwned>(value: &serde_yaml::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        FieldError {
            field: if path == "." { String::new() } else { path },
            message: e.into_inner().to_string(),
        }
    })
}

/// Decodes a generic manifest object into a Karpenter object.
///
/// Returns `None` when `kind` is not a Karpenter kind (other objects are not this crate's
/// business), and an error naming `apiVersion` when the kind is Karpenter's but the version is
/// not v1, or naming the field that does not decode.
pub fn decode(value: &serde_yaml::Value) -> Option<Result<KarpenterObject, FieldError>> {
    let kind = Kind::from_kind(value.get("kind")?.as_str()?)?;
    let api_version = value
        .get("apiVersion")
        .and_then(serde_yaml::Value::as_str)
        .unwrap_or("");
    if api_version != kind.api_version() {
        return Some(Err(FieldError {
            field: "apiVersion".into(),
            message: format!(
                "unsupported apiVersion {api_version:?} for {kind}, expected {}",
                kind.api_version()
            ),
        }));
    }
    Some(match kind {
        Kind::NodePool => decode_as(value).map(|o| KarpenterObject::NodePool(Box::new(o))),
        Kind::NodeClaim => decode_as(value).map(|o| KarpenterObject::NodeClaim(Box::new(o))),
        Kind::EC2NodeClass => decode_as(value).map(|o| KarpenterObject::EC2NodeClass(Box::new(o))),
    })
}

/// Decodes and validates a generic manifest object: `None` for non-Karpenter kinds, otherwise
/// every error (a decode error alone, or every validation error).
pub fn check(value: &serde_yaml::Value) -> Option<Vec<FieldError>> {
    decode(value).map(|r| match r {
        Ok(o) => o.validate(),
        Err(e) => vec![e],
    })
}

/// Serialises `value` to YAML and reads it back, returning the re-read value. Used to check that
/// objects round-trip.
pub fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> Result<T, serde_yaml::Error> {
    serde_yaml::from_str(&serde_yaml::to_string(value)?)
}
