//! What OAuth says: requests parsed once into types, the grant and client-auth
//! enums, and the error catalog. No I/O, no async, no clock.

pub mod authorize;
pub mod catalog;
pub mod client_auth;
pub mod device;
pub mod dpop;
pub mod error;
pub mod form;
pub mod grant;
pub mod hint;
pub mod jwks_uri;
pub mod links;
pub mod redirect_uri;
pub mod registration;
pub mod requests;
pub mod scope;
pub mod secret;
pub mod token;

pub use catalog::{Code, Entry, RfcError};
pub use client_auth::ClientAuth;
pub use error::{Challenge, OAuthError};
pub use form::Params;
pub use grant::{Grant, GrantType, PlatformType};
pub use redirect_uri::RedirectUri;
pub use scope::Scopes;
pub use secret::Secret;
pub use token::{IssueParams, TokenRequest, TokenResponse};
