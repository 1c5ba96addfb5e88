//! Live data for the controller: EC2 responses converted into the catalog model, Price List and
//! spot price parsing with a refresh policy, and the insufficient-capacity cache. Pure: the
//! cloud provider makes the calls and passes responses and the current time in.

pub mod ec2;
pub mod ice;
pub mod prices;

pub use ec2::{catalog_from_ec2, LiveCatalog};
pub use ice::{UnavailableOfferings, ICE_TTL};
pub use prices::{PriceBook, PriceOrigin, RefreshOutcome, REFRESH_INTERVAL, RETRY_INTERVAL};

/// Live data that cannot be used, naming the object (instance type, or type and zone) and the
/// field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {field}: {message}")]
pub struct LiveDataError {
    /// The instance type (or `type in zone`) concerned.
    pub object: String,
    /// The response field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl LiveDataError {
    /// An error about `field` of `object`.
    pub fn field(object: &str, field: &str, message: &str) -> Self {
        Self {
            object: object.to_string(),
            field: field.to_string(),
            message: message.to_string(),
        }
    }
}
