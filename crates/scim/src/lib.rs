//! SCIM 2.0 (RFC 7643 schemas, RFC 7644 protocol) as Keyroll speaks it, on
//! resources kept as JSON documents. Shared by `keyroll-server` (which
//! answers SCIM) and Keyroll's sync client (which speaks it), so the school
//! extension and the rules about attributes are written once.
//!
//! The parsing of filters and PATCH paths is `scim_v2`'s; what is ours is
//! how they act on a resource:
//!
//! - [`schema`]: the User, Group, enterprise and school schemas, and each
//!   attribute's type, case rule, mutability and when it is returned.
//! - [`filter`]: whether a resource matches a filter.
//! - [`patch`]: a PATCH request applied to a resource.
//! - [`select`]: `attributes` / `excludedAttributes` and `returned` rules.
//! - [`resource`]: an incoming resource checked and normalised (Entra's
//!   `"False"` strings made booleans, read-only attributes dropped).
//! - [`error`]: SCIM error documents.
//! - [`credentials`]: activation codes' stored form and the rules for a
//!   chosen password, which Keyroll and its server share.

pub mod credentials;
pub mod error;
pub mod filter;
pub mod patch;
pub mod resource;
pub mod schema;
pub mod select;

mod path;

pub use error::{ScimError, ScimType};
pub use schema::Kind;

/// The media type of every SCIM request and response body.
pub const CONTENT_TYPE: &str = "application/scim+json";
