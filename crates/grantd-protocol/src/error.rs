//! `OAuthError`: a catalog code plus the concrete cause. Every rejection is
//! built by one of the named constructors below, so each message is written once.

use crate::catalog::{Code, Entry};
use crate::grant::{join, Grant, PlatformType};
use std::fmt;

/// How the client should authenticate when the error is a 401
/// (`WWW-Authenticate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer,
    /// RFC 9449 §7.1: a resource's answer to a missing or failed DPoP proof.
    DPoP,
}

/// Whose failed authentications paused a request (CMN-301).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused<'a> {
    /// One client id, from one address.
    Client(&'a str),
    /// One username on the sign-in form, from one address (not echoed).
    Login,
    /// Requests that named no client, from one address.
    Anonymous,
    /// Every identity from one address together (the looser ceiling).
    Address,
    /// Wrong admin tokens, from one address.
    Admin,
}

/// A rejection: what went wrong (the catalog code), in this request's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: Code,
    /// The concrete cause with the values involved and the fix. Never holds a
    /// secret, password, code, token or assertion.
    pub description: String,
    /// The request parameter at fault, if one is.
    pub parameter: Option<&'static str>,
    pub challenge: Option<Challenge>,
    /// For 405: the methods the endpoint serves.
    pub allow: Option<&'static str>,
    /// A status other than the catalog's: DPoP proof errors are 400 at the
    /// token endpoint and 401 at a resource (RFC 9449 §5, §7.1).
    pub status_override: Option<u16>,
}

impl OAuthError {
    pub fn new(code: Code, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            parameter: None,
            challenge: None,
            allow: None,
            status_override: None,
        }
    }

    /// This error as a resource answers it: 401 with a DPoP challenge.
    pub fn at_dpop_resource(mut self) -> Self {
        self.status_override = Some(401);
        self.challenge = Some(Challenge::DPoP);
        self
    }

    pub fn entry(&self) -> &'static Entry {
        self.code.entry()
    }

    pub fn status(&self) -> u16 {
        self.status_override.unwrap_or(self.entry().status)
    }

    pub fn with_parameter(mut self, name: &'static str) -> Self {
        self.parameter = Some(name);
        self
    }

    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    // --- pushed authorization requests (RFC 9126) --------------------------------

    pub fn par_request_uri_pushed() -> Self {
        Self::new(
            Code::ParRequestUriPushed,
            "The pushed authorization request carries request_uri. /oauth/par takes the authorization request's own parameters (response_type, redirect_uri, scope, state, code_challenge, …) and answers the request_uri; send those instead.",
        )
        .with_parameter("request_uri")
    }

    pub fn par_client_mismatch(sent: &str, authenticated: &str) -> Self {
        Self::new(
            Code::ParClientMismatch,
            format!(
                "client_id in the pushed request is '{}' but the request authenticated as app {}. Send client_id={} or leave it out.",
                echo(sent, 60),
                sanitize(authenticated, 60),
                sanitize(authenticated, 60)
            ),
        )
        .with_parameter("client_id")
    }

    pub fn request_uri_malformed(sent: &str) -> Self {
        Self::new(
            Code::RequestUriMalformed,
            format!(
                "request_uri '{}' is not one grantd issued: its request_uris start with urn:ietf:params:oauth:request_uri: and come from POST /oauth/par. Push the authorization request there and send the request_uri it answers.",
                echo(sent, 80)
            ),
        )
        .with_parameter("request_uri")
    }

    pub fn request_uri_unknown() -> Self {
        Self::new(
            Code::RequestUriUnknown,
            "No pushed authorization request has this request_uri (never issued here, or long expired). Push the request again with POST /oauth/par and use the new request_uri at once.",
        )
        .with_parameter("request_uri")
    }

    pub fn request_uri_expired(age: i64, ttl: i64) -> Self {
        Self::new(
            Code::RequestUriExpired,
            format!(
                "The pushed authorization request expired: it was pushed {age} s ago and lives {ttl} s. Push it again just before sending the browser here."
            ),
        )
        .with_parameter("request_uri")
    }

    pub fn request_uri_used(ago: i64) -> Self {
        Self::new(
            Code::RequestUriUsed,
            format!(
                "This request_uri was used at the authorization endpoint {ago} s ago; a pushed request is used once (RFC 9126 §4). Push the request again for a new sign-in."
            ),
        )
        .with_parameter("request_uri")
    }

    pub fn request_uri_wrong_client(pushed_by: &str, sent: &str) -> Self {
        Self::new(
            Code::RequestUriWrongClient,
            format!(
                "The request_uri was pushed by app {} but this request names client_id '{}'. Send the pushing app's client_id with it.",
                sanitize(pushed_by, 60),
                echo(sent, 60)
            ),
        )
        .with_parameter("client_id")
    }

    /// `why`: the setting that requires PAR (`require_par` or the profile).
    pub fn par_required(name: &str, client_id: &str, why: &str) -> Self {
        Self::new(
            Code::ParRequired,
            format!(
                "App '{}' ({}) takes authorization requests only through PAR ({why}): push the request to /oauth/par with the client's authentication, then send the browser to /oauth/authorize with client_id and the request_uri answered.",
                sanitize(name, 60),
                sanitize(client_id, 60)
            ),
        )
        .with_parameter("request_uri")
    }

    // --- Logout (OpenID Connect RP-Initiated Logout 1.0) ---------------------------

    /// `why`: what is wrong with the hint (never the hint itself).
    pub fn logout_hint_invalid(why: &str) -> Self {
        Self::new(
            Code::LogoutHintInvalid,
            format!(
                "The id_token_hint is not an ID token this grantd issued: {why}. Send the id_token of the app's token response unchanged (an expired one is fine), or leave id_token_hint out and send client_id."
            ),
        )
        .with_parameter("id_token_hint")
    }

    pub fn logout_hint_other_client(client_id: &str, hint_aud: &str) -> Self {
        Self::new(
            Code::LogoutHintOtherClient,
            format!(
                "client_id is '{}' but the id_token_hint was issued to app '{}'. Send the ID token issued to '{}', or only one of client_id and id_token_hint.",
                sanitize(client_id, 64),
                sanitize(hint_aud, 64),
                sanitize(client_id, 64)
            ),
        )
        .with_parameter("client_id")
    }

    pub fn logout_client_unknown(client_id: &str) -> Self {
        Self::new(
            Code::LogoutClientUnknown,
            format!(
                "client_id '{}' names no registered app, so the logout request cannot be checked. Send the app's client id as registered.",
                crate::hint::redacted(client_id)
            ),
        )
        .with_parameter("client_id")
    }

    pub fn logout_redirect_without_client(uri: &str) -> Self {
        Self::new(
            Code::LogoutRedirectWithoutClient,
            format!(
                "post_logout_redirect_uri '{}' was sent without client_id or id_token_hint, so it cannot be checked against an app's registration. Send client_id (or id_token_hint) with it.",
                echo(uri, 200)
            ),
        )
        .with_parameter("post_logout_redirect_uri")
    }

    pub fn logout_redirect_unregistered(uri: &str, client_id: &str, registered: &[String]) -> Self {
        let listed = if registered.is_empty() {
            "none".to_string()
        } else {
            registered
                .iter()
                .map(|u| format!("'{}'", sanitize(u, 200)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Self::new(
            Code::LogoutRedirectUnregistered,
            format!(
                "post_logout_redirect_uri '{}' is not registered for app '{}' (its post_logout_redirect_uris: {listed}); it must match one exactly. Register it in the app's post_logout_redirect_uris, or send a registered one.",
                echo(uri, 200),
                sanitize(client_id, 64)
            ),
        )
        .with_parameter("post_logout_redirect_uri")
    }

    // --- Resource indicators (RFC 8707) ---------------------------------------------

    pub fn resource_invalid(resource: &str, why: &str) -> Self {
        Self::new(
            Code::ResourceInvalid,
            format!(
                "resource '{}' {why}: each resource must be an absolute URI without a fragment (RFC 8707 §2), e.g. https://api.example.com/.",
                echo(resource, 200)
            ),
        )
        .with_parameter("resource")
    }

    pub fn resource_not_allowed(resource: &str, client_id: &str, allowed: &[String]) -> Self {
        Self::new(
            Code::ResourceNotAllowed,
            format!(
                "resource '{}' is not one of app '{}''s resources (grantd's own API and its resource_uris setting: {}). Add it to the app's resource_uris, or ask for a listed one.",
                echo(resource, 200),
                sanitize(client_id, 64),
                allowed
                    .iter()
                    .map(|u| format!("'{}'", sanitize(u, 200)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_parameter("resource")
    }

    pub fn resource_one_per_token(sent: &[&str]) -> Self {
        Self::new(
            Code::ResourceOnePerToken,
            format!(
                "{} resources were sent ({}); an access token is for one: send one resource per token request.",
                sent.len(),
                sent.iter()
                    .map(|u| format!("'{}'", echo(u, 200)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_parameter("resource")
    }

    pub fn resource_ambiguous(granted: &[String]) -> Self {
        Self::new(
            Code::ResourceAmbiguous,
            format!(
                "The authorization granted several resources ({}) and an access token is for one: send resource= with one of them.",
                granted
                    .iter()
                    .map(|u| format!("'{}'", sanitize(u, 200)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_parameter("resource")
    }

    pub fn resource_widened(resource: &str, granted: &[String]) -> Self {
        Self::new(
            Code::ResourceWidened,
            format!(
                "resource '{}' was not part of the original grant (its resources: {}); a refresh may narrow the resources, never add one. Ask for granted resources only, or authorize again.",
                echo(resource, 200),
                if granted.is_empty() {
                    "grantd's own API only".to_string()
                } else {
                    granted
                        .iter()
                        .map(|u| format!("'{}'", sanitize(u, 200)))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        )
        .with_parameter("resource")
    }

    // --- JAR (RFC 9101) -----------------------------------------------------------

    /// `what`: what could not be read, in grantd's words.
    pub fn request_object_malformed(what: &str) -> Self {
        Self::new(
            Code::RequestObjectMalformed,
            format!("The request object cannot be read: {what}. Send one JWT signed by the app's key, its claims the authorization request's parameters."),
        )
        .with_parameter("request")
    }

    /// `alg`: the header's; `key`: the key family it does not fit, if that is the fault.
    pub fn request_object_alg(alg: &str, key: Option<&str>) -> Self {
        let why = match key {
            Some(k) => format!("it does not fit the app's key, {k}"),
            None if alg.is_empty() || alg.eq_ignore_ascii_case("none") => {
                "an unsigned request object could be made by anyone".into()
            }
            None if alg.starts_with("HS") => {
                "an HMAC is not a signature by the app's registered key".into()
            }
            None => "grantd does not take it".into(),
        };
        Self::new(
            Code::RequestObjectAlg,
            format!(
                "The request object is signed with alg '{}': {why}. Sign it with the app's private key using one of request_object_signing_alg_values_supported (ES256, PS256, RS256, EdDSA, ...).",
                echo(alg, 20)
            ),
        )
        .with_parameter("request")
    }

    pub fn request_object_no_keys(client_id: &str, name: &str) -> Self {
        Self::new(
            Code::RequestObjectNoKeys,
            format!(
                "App '{}' ({}) sent a signed request object but registered no public keys to verify it: set the app's jwks or jwks_uri (admin API, CLI `grantd app update --jwks`, or the console's key set field).",
                sanitize(name, 60),
                sanitize(client_id, 60)
            ),
        )
        .with_parameter("request")
    }

    /// `kid`: the key tried; `registered`: the app's kids, when the header named another.
    pub fn request_object_signature(kid: &str, registered: Option<&[String]>) -> Self {
        let text = match registered {
            Some(kids) => format!(
                "The request object's header names kid '{}', which is not one of the app's keys ({}). Sign with a registered key and name its kid.",
                sanitize(kid, 60),
                if kids.is_empty() { "none have a kid".to_string() } else { kids.iter().map(|k| sanitize(k, 60)).collect::<Vec<_>>().join(", ") }
            ),
            None => format!(
                "The request object's signature does not verify with the app's registered key '{}': it was signed with another private key or changed after signing.",
                sanitize(kid, 60)
            ),
        };
        Self::new(Code::RequestObjectSignature, text).with_parameter("request")
    }

    /// `claim` sent `sent` (None: absent) where `expected` was due.
    pub fn request_object_claims(claim: &str, sent: Option<&str>, expected: &str) -> Self {
        let sent = match sent {
            Some(s) => format!("'{}'", echo(s, 80)),
            None => "nothing".into(),
        };
        Self::new(
            Code::RequestObjectClaims,
            format!("The request object's {claim} is {sent}; grantd expects '{}'. Set it so, and sign again.", sanitize(expected, 120)),
        )
        .with_parameter("request")
    }

    pub fn request_object_lifetime(what: String) -> Self {
        Self::new(Code::RequestObjectLifetime, what).with_parameter("request")
    }

    pub fn request_object_required(name: &str, client_id: &str) -> Self {
        Self::new(
            Code::RequestObjectRequired,
            format!(
                "App '{}' ({}) takes authorization requests only as signed request objects (its require_signed_request_object setting): send the parameters in a JWT signed by the app's key as request, with client_id beside it, at /oauth/authorize or /oauth/par.",
                sanitize(name, 60),
                sanitize(client_id, 60)
            ),
        )
        .with_parameter("request")
    }

    pub fn request_with_request_uri() -> Self {
        Self::new(
            Code::RequestWithRequestUri,
            "The authorization request carries both request and request_uri: send the signed request object as request, or the request_uri /oauth/par answered, not both.",
        )
        .with_parameter("request_uri")
    }

    // --- DPoP (RFC 9449) ---------------------------------------------------------

    pub fn dpop_proof_malformed(why: &str) -> Self {
        Self::new(
            Code::DpopProofMalformed,
            format!("The DPoP header cannot be read as one proof JWT: {why}. Send exactly one DPoP header with a proof made for this request."),
        )
    }

    pub fn dpop_proof_typ(found: Option<&str>) -> Self {
        Self::new(
            Code::DpopProofTyp,
            format!(
                "The DPoP proof's typ header is {}; it must be dpop+jwt (RFC 9449 §4.2).",
                found.map_or_else(|| "missing".to_string(), |t| format!("'{}'", echo(t, 40)))
            ),
        )
    }

    pub fn dpop_proof_alg(found: &str, supported: &[&str]) -> Self {
        Self::new(
            Code::DpopProofAlg,
            format!(
                "The DPoP proof is signed with alg '{}'; grantd takes {} (dpop_signing_alg_values_supported).",
                echo(found, 20),
                supported.join(", ")
            ),
        )
    }

    pub fn dpop_proof_jwk(why: &str) -> Self {
        Self::new(
            Code::DpopProofJwk,
            format!("The DPoP proof's jwk header {why}. Put the public JWK of the signing key pair in it, without its private part."),
        )
    }

    pub fn dpop_proof_signature() -> Self {
        Self::new(
            Code::DpopProofSignature,
            "The DPoP proof's signature does not verify with the key in its jwk header. Sign the proof with the private key of that public key.",
        )
    }

    pub fn dpop_proof_htm(found: Option<&str>, method: &str) -> Self {
        Self::new(
            Code::DpopProofHtm,
            format!(
                "The DPoP proof's htm is {} but this request is a {method}. Make the proof for this request: htm={method}.",
                found.map_or_else(|| "missing".to_string(), |t| format!("'{}'", echo(t, 20)))
            ),
        )
    }

    pub fn dpop_proof_htu(found: Option<&str>, url: &str) -> Self {
        Self::new(
            Code::DpopProofHtu,
            format!(
                "The DPoP proof's htu is {} but this request was sent to {url} (compared without query and fragment). Set htu to that URL.",
                found.map_or_else(|| "missing".to_string(), |t| format!("'{}'", echo(t, 120)))
            ),
        )
    }

    pub fn dpop_proof_iat(iat: Option<i64>, now: i64, window: i64) -> Self {
        let what = match iat {
            None => "has no iat".to_string(),
            Some(t) if t > now => format!("was made {} s in the future (iat {t})", t - now),
            Some(t) => format!("was made {} s ago (iat {t})", now - t),
        };
        Self::new(
            Code::DpopProofIat,
            format!(
                "The DPoP proof {what}; grantd accepts proofs made within {window} s of its time ({now}). Make a new proof for each request and keep the client's clock in sync."
            ),
        )
    }

    pub fn dpop_proof_jti() -> Self {
        Self::new(
            Code::DpopProofJti,
            "The DPoP proof has no jti. Give every proof a new random jti (RFC 9449 §4.2).",
        )
    }

    pub fn dpop_proof_replayed() -> Self {
        Self::new(
            Code::DpopProofReplayed,
            "This DPoP proof (its jti, with the same key) was presented before; a proof is used once. Make a new proof for every request, retries included.",
        )
    }

    pub fn dpop_proof_ath(present: bool) -> Self {
        Self::new(
            Code::DpopProofAth,
            if present {
                "The DPoP proof's ath is not the hash of the access token sent with it. Set ath to base64url(SHA-256(access token)) of this token."
            } else {
                "The DPoP proof sent with an access token has no ath. Set ath to base64url(SHA-256(access token)) (RFC 9449 §4.2)."
            },
        )
    }

    pub fn dpop_nonce_required(stale: bool) -> Self {
        Self::new(
            Code::DpopNonceRequired,
            if stale {
                "The DPoP proof's nonce is not current (nonces rotate). Make the proof again with nonce set to the DPoP-Nonce header of this response and retry."
            } else {
                "grantd requires a server nonce in DPoP proofs. Make the proof again with nonce set to the DPoP-Nonce header of this response and retry."
            },
        )
    }

    pub fn dpop_required(name: &str, client_id: &str, why: &str) -> Self {
        Self::new(
            Code::DpopRequired,
            format!(
                "App '{}' ({}) requires DPoP-bound tokens ({why}), and this request carries no DPoP proof. Send a DPoP header with a proof for this request.",
                sanitize(name, 60),
                sanitize(client_id, 60)
            ),
        )
    }

    /// `bound`: what is bound ("the authorization code (dpop_jkt)", "the refresh token").
    pub fn dpop_key_mismatch(bound: &str, expected: &str, found: &str) -> Self {
        Self::new(
            Code::DpopKeyMismatch,
            format!(
                "{bound} is bound to the DPoP key with thumbprint {}, but the proof is signed with the key {}. Sign the proof with the key the flow started with.",
                sanitize(expected, 60),
                sanitize(found, 60)
            ),
        )
    }

    pub fn dpop_bound_token_as_bearer() -> Self {
        Self::new(
            Code::DpopBoundTokenAsBearer,
            "The access token is DPoP-bound (cnf.jkt) and was sent as a bearer token. Send it as Authorization: DPoP <token> with a DPoP proof signed by the token's key.",
        )
        .with_challenge(Challenge::DPoP)
    }

    pub fn dpop_key_not_token_key(expected: &str, found: &str) -> Self {
        Self::new(
            Code::DpopKeyNotTokenKey,
            format!(
                "The access token is bound to the DPoP key {} but the proof is signed with the key {}. Sign the proof with the token's key.",
                sanitize(expected, 60),
                sanitize(found, 60)
            ),
        )
        .with_challenge(Challenge::DPoP)
    }

    pub fn dpop_jkt_invalid(sent: &str) -> Self {
        Self::new(
            Code::DpopJktInvalid,
            format!(
                "dpop_jkt '{}' is not a JWK SHA-256 thumbprint (43 base64url characters). Send the thumbprint of the DPoP public key, or leave dpop_jkt out.",
                echo(sent, 60)
            ),
        )
        .with_parameter("dpop_jkt")
    }

    // --- FAPI 2.0 Security Profile ---------------------------------------------

    pub fn fapi2_pkce_s256(sent: Option<&str>) -> Self {
        Self::new(
            Code::Fapi2PkceS256,
            format!(
                "FAPI 2.0 profile rule 'PKCE S256': the app follows the fapi2 profile, and this request has {}. Send code_challenge with code_challenge_method=S256.",
                match sent {
                    None => "no code_challenge".to_string(),
                    Some(m) => format!("code_challenge_method '{}'", echo(m, 20)),
                }
            ),
        )
        .with_parameter("code_challenge_method")
    }

    pub fn fapi2_client_auth(client_id: &str, used: &str) -> Self {
        Self::new(
            Code::Fapi2ClientAuth,
            format!(
                "FAPI 2.0 profile rule 'private_key_jwt only': app {} follows the fapi2 profile and authenticated with {used}. Authenticate with a client assertion signed by one of the app's registered keys (client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer).",
                sanitize(client_id, 60)
            ),
        )
        .with_challenge(Challenge::Basic)
    }

    pub fn fapi2_grant_refused(what: &str) -> Self {
        Self::new(
            Code::Fapi2GrantRefused,
            format!(
                "FAPI 2.0 profile rule 'no implicit or password': the app follows the fapi2 profile, which refuses {what}. Use the authorization code flow with PAR, PKCE S256 and DPoP."
            ),
        )
    }

    pub fn fapi2_app_settings(why: &str) -> Self {
        Self::new(Code::Fapi2AppSettings, format!("FAPI 2.0 profile: {why}."))
            .with_parameter("profile")
    }

    // --- dynamic client registration (RFC 7591, RFC 7592) ---------------------------

    /// A redirect URI a self-registered client may not have; `why` names the rule.
    pub fn registration_redirect_uri(sent: &str, why: &str) -> Self {
        Self::new(
            Code::RegistrationRedirectUri,
            format!(
                "redirect_uris holds '{}', which a self-registered client may not use: {why}.",
                echo(sent, 120)
            ),
        )
        .with_parameter("redirect_uris")
    }

    /// A client metadata field with a value grantd cannot take.
    pub fn registration_metadata(field: &'static str, why: impl fmt::Display) -> Self {
        Self::new(
            Code::RegistrationMetadata,
            format!("The client metadata field '{field}' is invalid: {why}."),
        )
        .with_parameter(field)
    }

    /// A grant, response type or authentication method a self-registered client may not have.
    pub fn registration_policy(field: &'static str, why: impl fmt::Display) -> Self {
        Self::new(Code::RegistrationPolicy, format!("{field}: {why}.")).with_parameter(field)
    }

    pub fn software_statement_unsupported() -> Self {
        Self::new(
            Code::SoftwareStatementUnsupported,
            "The request carries a software_statement; grantd trusts no software statement issuer. Send the metadata as plain JSON fields and leave software_statement out.",
        )
        .with_parameter("software_statement")
    }

    pub fn registration_closed() -> Self {
        Self::new(
            Code::RegistrationClosed,
            "No initial access token was sent, and this server takes registrations only with one (registration.open is off). Send Authorization: Bearer <initial access token> from the operator (grantd registration-token create).",
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn initial_token_invalid(revoked: bool) -> Self {
        let what = if revoked {
            "was revoked by the operator"
        } else {
            "is not an initial access token of this server"
        };
        Self::new(
            Code::InitialTokenInvalid,
            format!("The bearer token sent to the registration endpoint {what}. Ask the operator for a current one (grantd registration-token list)."),
        )
        .with_challenge(Challenge::Bearer)
    }

    /// `expired_at`: RFC 3339 time it expired; else `max_uses` were made.
    pub fn initial_token_spent(label: &str, expired_at: Option<&str>, max_uses: i64) -> Self {
        let why = match expired_at {
            Some(at) => format!("expired at {at}"),
            None => format!("has registered its {max_uses} client(s), its max uses"),
        };
        Self::new(
            Code::InitialTokenSpent,
            format!(
                "The initial access token '{}' {why}. Ask the operator for a new one (grantd registration-token create).",
                sanitize(label, 100)
            ),
        )
        .with_challenge(Challenge::Bearer)
    }

    /// `why`: what was wrong (none sent, not this client's).
    pub fn registration_access_token_invalid(client_id: &str, why: &str) -> Self {
        Self::new(
            Code::RegistrationAccessTokenInvalid,
            format!(
                "The client configuration endpoint of '{}' needs its registration access token as Authorization: Bearer <token>: {why}. Send the registration_access_token answered when the client registered.",
                sanitize(client_id, 60)
            ),
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn registration_body(why: &str) -> Self {
        Self::new(
            Code::RegistrationBody,
            format!("The registration body is not a JSON object of client metadata: {why}. POST the metadata as one JSON object with Content-Type: application/json."),
        )
    }

    pub fn registration_token_request(why: impl fmt::Display) -> Self {
        Self::new(
            Code::RegistrationTokenRequest,
            format!("The initial access token request is invalid: {why}."),
        )
    }

    // --- request transmission ----------------------------------------------------

    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        let mut e = Self::new(
            Code::MethodNotAllowed,
            format!(
                "{path} accepts {allow} only; this request used {method}. Send a {allow} request with the parameters form-encoded in the body (Content-Type: application/x-www-form-urlencoded), not in the URL."
            ),
        );
        e.allow = Some(allow);
        e
    }

    /// A browser request from an origin that no app (and not the server) allows.
    pub fn origin_not_allowed(origin: &str, path: &str) -> Self {
        Self::new(
            Code::OriginNotAllowed,
            format!(
                "The page at origin '{}' may not call {path} from a browser: no app lists that origin. Add it to your app's allowed_origins (PATCH /admin/v1/apps/{{client_id}} with {{\"allowed_origins\": [\"{}\"]}}, or grantd app update CLIENT_ID --allowed-origin {}), or register a redirect URI on that origin for a browser app; operators can allow it server-wide in cors.allowed_origins.",
                sanitize(origin, 120),
                sanitize(origin, 120),
                sanitize(origin, 120),
            ),
        )
    }

    /// A WebSocket token asked of a grantd with no gateway.
    pub fn ws_not_configured() -> Self {
        Self::new(
            Code::WsNotConfigured,
            "This grantd has no WebSocket gateway configured, so it issues no wstoken. The operator sets the gateway's wss:// URI with ws.uri (--ws-uri or GRANTD_WS_URI); until then, subscribe with webhooks instead.",
        )
    }

    pub fn interop_scope_missing(client_id: &str) -> Self {
        Self::new(
            Code::InteropScopeMissing,
            format!(
                "The access token of app {} does not carry the Interoperability permission, so it cannot mint codes for other apps. Add Interoperability to the app's scopes and sign the user in again.",
                sanitize(client_id, 60)
            ),
        )
    }

    pub fn interop_target_unknown(client_id: &str) -> Self {
        Self::new(
            Code::InteropTargetUnknown,
            format!(
                "clientId '{}' is not an app of the calling app's account that this user may use. Cross-app sign-in works between apps of one account: send the client id of one of them.",
                sanitize(client_id, 60)
            ),
        )
        .with_parameter("clientId")
    }

    pub fn interop_target_takes_no_code(name: &str, client_id: &str) -> Self {
        Self::new(
            Code::InteropTargetTakesNoCode,
            format!(
                "App '{}' ({}) cannot take an authorization code: it needs the authorization_code grant and a registered redirect URI. Enable the grant and register a redirect URI for it.",
                sanitize(name, 60),
                sanitize(client_id, 60)
            ),
        )
        .with_parameter("clientId")
    }

    /// The admin API called from another origin's page.
    pub fn admin_cross_origin(origin: &str) -> Self {
        Self::new(
            Code::AdminCrossOrigin,
            format!(
                "A page at origin '{}' called the admin API. The admin API never answers cross-origin requests: call it from a server, a script or the grantd CLI.",
                sanitize(origin, 120)
            ),
        )
    }

    /// Parameters in the URL of a token, revocation or introspection
    /// request: every one is named (never its value). `credentials` says
    /// whether any of them carries a secret, password, code, token or
    /// assertion, which must then be treated as exposed.
    pub fn credentials_in_query<S: AsRef<str>>(names: &[S], credentials: bool) -> Self {
        let shown: Vec<String> = names.iter().map(|n| echo(n.as_ref(), 40)).collect();
        let exposed = if credentials {
            " Treat any secret, password, code or token that was in the URL as exposed: rotate the secret, change the password, revoke the token."
        } else {
            ""
        };
        Self::new(
            Code::CredentialsInQuery,
            format!(
                "The URL query carries {} ({}); this endpoint reads parameters from the POST body only (RFC 6749 §3.2), so grantd refused the request instead of ignoring {}. Move {} into the body, form-encoded (Content-Type: application/x-www-form-urlencoded), with the client credentials in an Authorization: Basic header, and send the request to the URL without a query.{exposed}",
                if names.len() == 1 { "a parameter" } else { "parameters" },
                shown.join(", "),
                if names.len() == 1 { "it" } else { "them" },
                if names.len() == 1 { "it" } else { "all of them" },
            ),
        )
        .with_parameter_opt(names.first().map(AsRef::as_ref))
    }

    fn with_parameter_opt(mut self, name: Option<&str>) -> Self {
        // Parameter names come from a fixed list; keep the static one.
        self.parameter = name.and_then(crate::form::static_param_name);
        self
    }

    pub fn json_body() -> Self {
        Self::new(
            Code::JsonBody,
            "The body is JSON, but this endpoint reads application/x-www-form-urlencoded parameters, so none of them were seen. Send e.g. grant_type=client_credentials&scope=ReadAccounts with Content-Type: application/x-www-form-urlencoded (curl: -d 'grant_type=client_credentials').",
        )
    }

    pub fn wrong_content_type(content_type: Option<&str>) -> Self {
        let sent = match content_type {
            Some(ct) => format!("Content-Type '{}'", sanitize(ct, 80)),
            None => "no Content-Type header".to_string(),
        };
        Self::new(
            Code::WrongContentType,
            format!(
                "The body was sent with {sent}. This endpoint reads the body as application/x-www-form-urlencoded: set Content-Type: application/x-www-form-urlencoded and encode the parameters as name=value pairs joined by &."
            ),
        )
    }

    pub fn body_not_form(reason: &str) -> Self {
        Self::new(
            Code::WrongContentType,
            format!("The body is not valid application/x-www-form-urlencoded: {reason}. Encode it as name=value pairs joined by &, percent-encoding reserved characters, in UTF-8."),
        )
    }

    pub fn missing_parameter(name: &'static str, context: &str) -> Self {
        Self::new(
            Code::MissingParameter,
            format!("The parameter '{name}' is required {context} and was absent or empty. Add {name}=… to the form body."),
        )
        .with_parameter(name)
    }

    /// A parameter missing from a request whose parameters travel in the
    /// URL (the authorization endpoint, a GET).
    pub fn missing_query_parameter(name: &'static str, context: &str) -> Self {
        Self::new(
            Code::MissingParameter,
            format!("The parameter '{name}' is required {context} and was absent or empty. Add {name}=… to the query string of the authorization URL."),
        )
        .with_parameter(name)
    }

    pub fn invalid_parameter(name: &'static str, reason: impl fmt::Display) -> Self {
        Self::new(
            Code::InvalidParameter,
            format!("The parameter '{name}' is invalid: {reason}."),
        )
        .with_parameter(name)
    }

    pub fn duplicate_parameter(name: &str) -> Self {
        Self::new(
            Code::DuplicateParameter,
            format!(
                "The parameter '{}' appears more than once (RFC 6749 §3.2 forbids repeats). Send it once; check that your client library does not already add it.",
                echo(name, 64)
            ),
        )
        .with_parameter_opt(Some(name))
    }

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            Code::BodyTooLarge,
            format!("The request body is larger than {limit} bytes, the most this endpoint accepts. Send only the OAuth parameters."),
        )
    }

    pub fn body_timeout(seconds: u64) -> Self {
        Self::new(
            Code::BodyTimeout,
            format!("The request body did not arrive in full within {seconds} seconds of the headers, so grantd stopped waiting. Send the whole body right after the headers."),
        )
    }

    pub fn body_incomplete() -> Self {
        Self::new(
            Code::BodyIncomplete,
            "The connection ended before the whole request body arrived, so nothing was processed. Retry the request.",
        )
    }

    pub fn too_many_parameters(max: usize) -> Self {
        Self::new(
            Code::TooManyParameters,
            format!("The request has more than {max} parameters, the most grantd reads. Send only the parameters of the request."),
        )
    }

    pub fn parameter_name_too_long(max: usize) -> Self {
        Self::new(
            Code::ParameterTooLong,
            format!("A parameter name is longer than {max} bytes, the most grantd reads. Send only the parameters of the request."),
        )
    }

    pub fn parameter_too_long(name: &str, len: usize, max: usize) -> Self {
        let hint = if name == "state" || name == "nonce" {
            " Send a short random value and keep any data the app needs on its own side."
        } else {
            ""
        };
        Self::new(
            Code::ParameterTooLong,
            format!(
                "The parameter '{}' is {len} bytes long; grantd accepts at most {max} bytes for it. Shorten it.{hint}",
                echo(name, 64)
            ),
        )
        .with_parameter_opt(Some(name))
    }

    pub fn headers_too_large(limit: usize) -> Self {
        Self::new(
            Code::HeadersTooLarge,
            format!("The request headers add up to more than {limit} bytes, the most grantd accepts. Remove oversized headers or cookies."),
        )
    }

    pub fn unknown_endpoint(method: &str, path: &str, closest: Option<&str>) -> Self {
        let hint = match closest {
            Some(c) => format!(" Did you mean {c}?"),
            None => String::new(),
        };
        Self::new(
            Code::UnknownEndpoint,
            format!(
                "Nothing is served at {method} {}.{hint} The endpoints are listed in /.well-known/oauth-authorization-server.",
                sanitize(path, 200)
            ),
        )
    }

    // --- client authentication ---------------------------------------------------

    pub fn client_auth_missing() -> Self {
        Self::new(
            Code::ClientAuthMissing,
            "No client authentication was sent. Send Authorization: Basic base64(client_id:client_secret) — the client id, a colon and the client secret, base64-encoded (curl -u CLIENT_ID:CLIENT_SECRET). A public app (browser, desktop, mobile) may send client_id in the body instead.",
        )
        .with_challenge(Challenge::Basic)
    }

    pub fn auth_header_malformed(reason: &str) -> Self {
        Self::new(
            Code::AuthHeaderMalformed,
            format!("The Authorization header is malformed: {reason}. Expected: Authorization: Basic base64(client_id:client_secret)."),
        )
        .with_challenge(Challenge::Basic)
    }

    /// No app has this client id. The id is shown only as a short redacted
    /// prefix: a value in the client id position that is not a registered
    /// id may be a secret (id and secret swapped). `hint` is what grantd
    /// could tell about the value (an invisible character, a swap).
    pub fn client_unknown(client_id: &str, challenge: Option<Challenge>) -> Self {
        Self::client_unknown_hint(client_id, challenge, None)
    }

    pub fn client_unknown_hint(
        client_id: &str,
        challenge: Option<Challenge>,
        hint: Option<&str>,
    ) -> Self {
        let hint = match hint {
            Some(h) => format!(" {h}"),
            None => " Check that the client id belongs to this environment (sandbox or production) and that the app was not deleted; copy it from grantd app list or the developer console.".to_string(),
        };
        let mut e = Self::new(
            Code::ClientUnknown,
            format!(
                "No app with the client id sent ({}) is registered on this server.{hint}",
                crate::hint::redacted(client_id)
            ),
        )
        .with_parameter("client_id");
        e.challenge = challenge;
        e
    }

    /// `hint`: what grantd could tell about the secret sent without showing
    /// it (e.g. "it ends with a newline (\n): remove it").
    pub fn client_secret_wrong(
        client_id: &str,
        app_name: &str,
        challenge: Option<Challenge>,
        hint: Option<&str>,
    ) -> Self {
        let description = match hint {
            Some(h) => format!(
                "The client secret sent for app '{app_name}' ({client_id}) is not its current secret: {h}"
            ),
            None => format!(
                "The client secret sent for app '{app_name}' ({client_id}) is not its current secret. Use the secret shown when the app was created or last rotated, or rotate it with grantd app rotate-secret {client_id}."
            ),
        };
        let mut e = Self::new(Code::ClientSecretWrong, description);
        e.challenge = challenge;
        e
    }

    pub fn client_id_mismatch(header_id: &str, body_id: &str) -> Self {
        Self::new(
            Code::ClientIdMismatch,
            format!(
                "The Authorization header names client {} but the body's client_id is {}. Send the same client id in both, or drop client_id from the body.",
                crate::hint::redacted(header_id),
                crate::hint::redacted(body_id)
            ),
        )
        .with_parameter("client_id")
        .with_challenge(Challenge::Basic)
    }

    /// Describes the assertion by its claims only: the JWT itself is never echoed.
    pub fn client_assertion_type_unsupported(sent: &str) -> Self {
        Self::new(
            Code::ClientAssertionTypeUnsupported,
            format!(
                "client_assertion_type is '{}'; grantd takes only {}. Send that value with the signed JWT in client_assertion.",
                echo(sent, 80),
                crate::client_auth::JWT_ASSERTION_TYPE
            ),
        )
        .with_parameter("client_assertion_type")
    }

    pub fn client_assertion_incomplete(missing: &'static str) -> Self {
        Self::new(
            Code::ClientAssertionIncomplete,
            format!(
                "The request sent {} without {missing}. A client assertion takes both: client_assertion_type={} and client_assertion=<the signed JWT>.",
                if missing == "client_assertion" { "client_assertion_type" } else { "client_assertion" },
                crate::client_auth::JWT_ASSERTION_TYPE
            ),
        )
        .with_parameter(missing)
    }

    pub fn client_assertion_with_other_auth(other: &str) -> Self {
        Self::new(
            Code::ClientAssertionWithOtherAuth,
            format!(
                "The client authenticated twice: with a client assertion and with {other}. RFC 6749 §2.3 allows one method per request: keep the assertion and remove {other} (or drop the assertion)."
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_malformed(why: &str) -> Self {
        Self::new(
            Code::ClientAssertionMalformed,
            format!("client_assertion cannot be read as a signed JWT: {why}. Send the JWT exactly as your library produced it (header.payload.signature)."),
        )
        .with_parameter("client_assertion")
    }

    /// `claim` is "iss" or "sub"; `found` what it holds (None: absent).
    pub fn client_assertion_wrong_issuer(
        claim: &str,
        found: Option<&str>,
        client_id: &str,
    ) -> Self {
        let found = match found {
            Some(f) => format!("is '{}'", echo(f, 80)),
            None => "is missing".to_string(),
        };
        Self::new(
            Code::ClientAssertionWrongIssuer,
            format!(
                "The client assertion's {claim} {found}, but it must be the app's client id {}: a client assertion is issued by the app about itself (RFC 7523 §3). Set both iss and sub to the client id.",
                crate::hint::redacted(client_id)
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_wrong_audience(aud: &str, token_endpoint: &str, issuer: &str) -> Self {
        Self::new(
            Code::ClientAssertionWrongAudience,
            format!(
                "The client assertion's aud is {}, which names neither this server's token endpoint ({token_endpoint}) nor its issuer ({issuer}). Set aud to {token_endpoint}.",
                if aud.is_empty() { "missing".to_string() } else { format!("'{}'", echo(aud, 200)) }
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_expired(exp: &str, now: &str) -> Self {
        Self::new(
            Code::ClientAssertionExpired,
            format!("The client assertion expired at {exp} (it is now {now}). Make a new assertion for each request, with exp a minute or so ahead."),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_too_long(ahead: u64, max: u64) -> Self {
        Self::new(
            Code::ClientAssertionTooLong,
            format!("The client assertion's exp is {ahead} seconds ahead; grantd accepts at most {max}. Set exp at most {max} seconds after the time you sign it."),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_jti_missing() -> Self {
        Self::new(
            Code::ClientAssertionJtiMissing,
            "The client assertion has no jti. grantd requires one so that each assertion is used once: put a fresh random value (a UUID) in jti every time.",
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_exp_missing() -> Self {
        Self::new(
            Code::ClientAssertionExpMissing,
            "The client assertion has no exp (or it is not a number of seconds since 1970). Set exp to a minute or so after the time you sign it.",
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_not_yet_valid(claim: &str, at: &str) -> Self {
        Self::new(
            Code::ClientAssertionNotYetValid,
            format!("The client assertion's {claim} is {at}, in the future: the clock of the machine that signs it is ahead. Correct it (NTP)."),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_replayed(jti: &str, client_id: &str) -> Self {
        Self::new(
            Code::ClientAssertionReplayed,
            format!(
                "App {} already used a client assertion with jti '{}', and it has not expired: an assertion is good for one request. Make a new one, with a new jti, for each request.",
                crate::hint::redacted(client_id),
                echo(jti, 80)
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_no_keys(client_id: &str, app_name: &str) -> Self {
        Self::new(
            Code::ClientAssertionNoKeys,
            format!(
                "App '{app_name}' ({client_id}) has no public keys registered (neither jwks nor jwks_uri), so its private_key_jwt assertion cannot be checked. Register them (PATCH /admin/v1/apps/{client_id} with {{\"jwks\": {{\"keys\": [...]}}}} or {{\"jwks_uri\": \"https://…\"}}, or grantd app update {client_id} --jwks-file FILE or --jwks-uri URL), or authenticate with the client secret."
            ),
        )
        .with_parameter("client_assertion")
    }

    /// `kid` as sent (None: the header has none); `known` the registered kids.
    pub fn client_assertion_unknown_key(kid: Option<&str>, known: &[String]) -> Self {
        let known = if known.is_empty() {
            "none has a kid".to_string()
        } else {
            known
                .iter()
                .map(|k| format!("'{}'", sanitize(k, 60)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let why = match kid {
            Some(k) => format!("is signed with kid '{}', which is not among the app's registered keys ({known})", sanitize(k, 60)),
            None => format!("has no kid and the app has more than one registered key ({known}), so grantd cannot tell which one signed it"),
        };
        Self::new(
            Code::ClientAssertionUnknownKey,
            format!("The client assertion {why}. Put the kid of the key you sign with in the JWT header, and register that key in the app's jwks."),
        )
        .with_parameter("client_assertion")
    }

    /// `key_alg` is what the registered key allows, when the mismatch is with it.
    pub fn client_assertion_algorithm(alg: &str, key_alg: Option<&str>) -> Self {
        let why = match key_alg {
            Some(k) => format!("the registered key it names is for {k}"),
            None => "private_key_jwt takes only asymmetric signatures (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)".to_string(),
        };
        Self::new(
            Code::ClientAssertionAlgorithm,
            format!("The client assertion is signed with alg '{}', but {why}. Sign it with the private key of a registered key.", sanitize(alg, 20)),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_assertion_bad_signature(kid: &str) -> Self {
        Self::new(
            Code::ClientAssertionBadSignature,
            format!("The client assertion's signature does not verify with the app's registered key '{}': it was signed with another private key or changed after signing. Sign with the private key of that public key and send the JWT unchanged.", sanitize(kid, 60)),
        )
        .with_parameter("client_assertion")
    }

    /// `set` was sent while `other` is (or stays) registered; both are
    /// "jwks" or "jwks_uri".
    pub fn jwks_with_jwks_uri(set: &'static str, other: &'static str) -> Self {
        let flag = |f: &str| {
            if f == "jwks" {
                "--jwks-file FILE"
            } else {
                "--jwks-uri URL"
            }
        };
        let no_flag = |f: &str| {
            if f == "jwks" {
                "--no-jwks"
            } else {
                "--no-jwks-uri"
            }
        };
        Self::new(
            Code::JwksWithJwksUri,
            format!(
                "The app cannot have both '{set}' and '{other}': its private_key_jwt keys are registered either inline (jwks) or at a URL grantd fetches them from (jwks_uri). To switch to {set}, remove {other} in the same request: {{\"{set}\": …, \"{other}\": null}} (CLI: {} {}).",
                flag(set),
                no_flag(other)
            ),
        )
        .with_parameter(set)
    }

    /// `uri` as given (quoted sanitized and cut short); `why` names the rule broken.
    pub fn jwks_uri_invalid(uri: &str, why: &str) -> Self {
        Self::new(
            Code::JwksUriInvalid,
            format!(
                "jwks_uri '{}' is not accepted: {why}. Register an absolute https URL without a fragment (http only for 127.0.0.1, ::1 or localhost), for example https://app.example.com/.well-known/jwks.json.",
                sanitize(uri, 200)
            ),
        )
        .with_parameter("jwks_uri")
    }

    /// The app's keys could not be fetched: `uri` is the jwks_uri as shown
    /// (without its query), `why` the cause, `retry_in` the seconds until
    /// grantd asks again when the failure is remembered.
    pub fn key_set_unreachable(uri: &str, why: &str, retry_in: Option<i64>) -> Self {
        Self::new(
            Code::KeySetUnreachable,
            format!(
                "grantd could not fetch the app's keys from its jwks_uri {}: {}.{} Make the URL reachable from grantd's host over https (try curl {} there), or register the keys inline (jwks).",
                sanitize(uri, 200),
                sanitize(why, 200),
                retry_note(retry_in),
                sanitize(uri, 200)
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn key_set_timeout(uri: &str, seconds: u64, retry_in: Option<i64>) -> Self {
        Self::new(
            Code::KeySetTimeout,
            format!(
                "The app's jwks_uri {} did not send its key set within {seconds} seconds.{} Serve the key set quickly (a static file), or register the keys inline (jwks).",
                sanitize(uri, 200),
                retry_note(retry_in)
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn key_set_status(uri: &str, status: u16, retry_in: Option<i64>) -> Self {
        Self::new(
            Code::KeySetStatus,
            format!(
                "The app's jwks_uri {} answered HTTP {status}, not 200, so grantd has no keys to check the client assertion with.{} Serve the key set there with 200 OK, or register the URL where it is served.",
                sanitize(uri, 200),
                retry_note(retry_in)
            ),
        )
        .with_parameter("client_assertion")
    }

    /// `to` is where the redirect pointed (without its query); `why` why it was not followed.
    pub fn key_set_redirect(uri: &str, to: &str, why: &str, retry_in: Option<i64>) -> Self {
        Self::new(
            Code::KeySetRedirect,
            format!(
                "The app's jwks_uri {} redirects to {}, which grantd does not follow: {}.{} Register the key set's final https URL as jwks_uri.",
                sanitize(uri, 200),
                sanitize(to, 200),
                sanitize(why, 200),
                retry_note(retry_in)
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn key_set_too_big(uri: &str, limit: usize, retry_in: Option<i64>) -> Self {
        Self::new(
            Code::KeySetTooBig,
            format!(
                "The document at the app's jwks_uri {} is larger than {} KiB, more than any key set of up to 20 public keys needs.{} Serve only the public keys in use there.",
                sanitize(uri, 200),
                limit / 1024,
                retry_note(retry_in)
            ),
        )
        .with_parameter("client_assertion")
    }

    /// `why` is grantd's own words, any value from the document in it
    /// already quoted with [`sanitize`] (as for [`Self::key_set_invalid`]).
    pub fn key_set_not_jwks(uri: &str, why: &str, retry_in: Option<i64>) -> Self {
        Self::new(
            Code::KeySetNotJwks,
            format!(
                "The document at the app's jwks_uri {} is not a JSON Web Key Set: {why}.{} Serve {{\"keys\": [ …public JWKs… ]}} as JSON there.",
                sanitize(uri, 200),
                retry_note(retry_in)
            ),
        )
        .with_parameter("client_assertion")
    }

    pub fn key_set_invalid(uri: &str, why: &str, retry_in: Option<i64>) -> Self {
        Self::new(
            Code::KeySetInvalid,
            format!(
                "The key set at the app's jwks_uri {} cannot be used: {why}.{} Correct the key set served there.",
                sanitize(uri, 200),
                retry_note(retry_in)
            ),
        )
        .with_parameter("client_assertion")
    }

    /// `kid` as sent (None: none); `known` the kids the fetched set holds;
    /// `fetched_ago` seconds since the set was fetched; `refetch_in` seconds
    /// until grantd may fetch it again for an unknown kid (0: it just did).
    pub fn key_set_unknown_key(
        uri: &str,
        kid: Option<&str>,
        known: &[String],
        fetched_ago: i64,
        refetch_in: i64,
    ) -> Self {
        let known = if known.is_empty() {
            "none has a kid".to_string()
        } else {
            known
                .iter()
                .map(|k| format!("'{}'", sanitize(k, 60)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let why = match kid {
            Some(k) => format!("is signed with kid '{}', which is not among the keys at the app's jwks_uri {} ({known})", sanitize(k, 60), sanitize(uri, 200)),
            None => format!("has no kid and the key set at the app's jwks_uri {} holds more than one key ({known}), so grantd cannot tell which one signed it", sanitize(uri, 200)),
        };
        let when = if refetch_in <= 0 {
            "grantd just fetched the set".to_string()
        } else {
            format!("grantd fetched the set {fetched_ago} seconds ago and fetches it again for an unknown kid at most every 30 seconds (next in {refetch_in} s)")
        };
        Self::new(
            Code::KeySetUnknownKey,
            format!("The client assertion {why}; {when}. Publish the public key at the jwks_uri before signing with it, and put its kid in the JWT header."),
        )
        .with_parameter("client_assertion")
    }

    pub fn client_secret_jwt_unsupported(alg: &str) -> Self {
        Self::new(
            Code::ClientSecretJwtUnsupported,
            format!("The client assertion is signed with {} (client_secret_jwt, keyed with the client secret). grantd stores only a hash of client secrets, so it cannot check it. Use private_key_jwt (register the app's public key as jwks, sign with RS256 or ES256), or send the secret with Authorization: Basic.", sanitize(alg, 20)),
        )
        .with_parameter("client_assertion")
    }

    pub fn multiple_client_auth() -> Self {
        Self::new(
            Code::MultipleClientAuth,
            "The client authenticated twice: with an Authorization header and with client_secret in the body. Use one method: keep the Basic header and remove client_secret from the body.",
        )
        .with_parameter("client_secret")
    }

    pub fn public_app_sent_secret(client_id: &str, app_name: &str, platform: PlatformType) -> Self {
        Self::new(
            Code::PublicAppSentSecret,
            format!(
                "App '{app_name}' ({client_id}) is a {platform} app, which is public: it has no client secret, yet the request sent one. Send none: client_id={client_id} alone in the body, or Authorization: Basic base64({client_id}:) with nothing after the colon."
            ),
        )
        .with_parameter("client_secret")
        .with_challenge(Challenge::Basic)
    }

    pub fn secret_required(client_id: &str, app_name: &str, platform: PlatformType) -> Self {
        Self::new(
            Code::SecretRequired,
            format!(
                "App '{app_name}' ({client_id}) is a {platform} app, which is confidential: it must authenticate with its client secret. Send Authorization: Basic base64({client_id}:client_secret)."
            ),
        )
        .with_challenge(Challenge::Basic)
    }

    // --- grants ------------------------------------------------------------------

    /// `supported`: the grant types served now (legacy ones past their
    /// sunset left out), so a near miss of a retired one says so.
    pub fn unsupported_grant_type(value: &str, supported: &[&str]) -> Self {
        let raw = value;
        let value = echo(value, 80);
        let all = crate::grant::supported_grant_types();
        let near = crate::hint::near_miss(raw, all.iter().copied());
        let hint = if let Some((known, miss)) = near {
            let retired = if supported.contains(&known) {
                format!(" Send grant_type={known}.")
            } else {
                format!(" But '{known}' is retired on this server (see GRD-304); use one of the supported grant types below.")
            };
            format!(
                " Did you mean '{known}'? {}.{retired}",
                capitalize(&miss.describe())
            )
        } else if let Some(urn) = all.iter().find(|t| {
            t.starts_with("urn:")
                && (t.ends_with(&format!(":{value}"))
                    || t.ends_with(&format!(":{}", value.replace('_', "-"))))
        }) {
            format!(" This grant's grant_type is the full URN: send grant_type={urn}.")
        } else if value == "jwt" || value == "jwt_bearer" || value == "jwt-bearer" {
            format!(
                " For the JWT flow the grant_type is the full URN {}.",
                crate::grant::JWT_BEARER_URN
            )
        } else if value == "code" {
            " For the authorization code flow the grant_type is authorization_code.".to_string()
        } else if value == "implicit" || value == "token" {
            " The implicit flow has no token request, and it is legacy (RFC 9700): use the authorization code flow with PKCE, response_type=code at the authorization endpoint, then grant_type=authorization_code here.".to_string()
        } else {
            String::new()
        };
        Self::new(
            Code::UnsupportedGrantType,
            format!(
                "grant_type '{value}' is not supported by this server.{hint} Supported grant types: {}.",
                supported.join(", ")
            ),
        )
        .with_parameter("grant_type")
    }

    pub fn grant_not_enabled(
        app_name: &str,
        client_id: &str,
        platform: PlatformType,
        grant: Grant,
        enabled: &[Grant],
    ) -> Self {
        let fix = if platform.allows(grant) {
            format!(
                "Use one of them, or enable '{grant}' for the app (grantd app update {client_id} --grants {},{grant})",
                enabled.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(",")
            )
        } else {
            format!(
                "Use one of them. A {platform} app cannot enable '{grant}'; register an app with a platform type that allows it ({})",
                join(PlatformType::allowing(grant))
            )
        };
        Self::new(
            Code::GrantNotEnabled,
            format!(
                "App '{app_name}' ({platform}) is not enabled for grant_type '{}'. Its enabled grants: {}. {fix}.",
                grant.grant_type_param().unwrap_or(grant.as_str()),
                join(enabled.iter())
            ),
        )
        .with_parameter("grant_type")
    }

    pub fn scope_not_permitted(app_name: &str, missing: &[&str], permitted: &[String]) -> Self {
        let hints = scope_hints(missing, permitted);
        let fix = if hints.is_empty() {
            " Ask only for those, or add the scope to the app's permissions.".to_string()
        } else {
            format!(" {}", hints.join(" "))
        };
        Self::new(
            Code::ScopeNotPermitted,
            format!(
                "App '{app_name}' asked for {} {} that it does not have. Its permissions: {}.{fix}",
                if missing.len() == 1 {
                    "scope"
                } else {
                    "scopes"
                },
                missing
                    .iter()
                    .map(|s| format!("'{}'", echo(s, 128)))
                    .collect::<Vec<_>>()
                    .join(", "),
                join(permitted.iter())
            ),
        )
        .with_parameter("scope")
    }

    /// A refresh asked for scopes the session was not granted.
    pub fn refresh_scope_too_wide(
        missing: &[&str],
        session: &[String],
        app_lacks: &[&str],
    ) -> Self {
        let hints = scope_hints(missing, session);
        let lost = if app_lacks.is_empty() {
            String::new()
        } else {
            format!(" The app itself no longer has {}.", quoted(app_lacks))
        };
        Self::new(
            Code::RefreshScopeTooWide,
            format!(
                "The refresh asked for {} {} that this session was not granted; a refresh keeps or narrows the session's scope, never widens it (RFC 6749 §6). The session's scopes: {}.{lost}{} Refresh without scope (or with some of the session's scopes); to get more, sign the user in again with a new grant that asks for them.",
                if missing.len() == 1 { "scope" } else { "scopes" },
                quoted(missing),
                join(session),
                if hints.is_empty() { String::new() } else { format!(" {}", hints.join(" ")) }
            ),
        )
        .with_parameter("scope")
    }

    pub fn scope_malformed(reason: &str) -> Self {
        Self::new(
            Code::ScopeMalformed,
            format!("The scope parameter is malformed: {reason}. Send scope names separated by single spaces."),
        )
        .with_parameter("scope")
    }

    pub fn legacy_grant_retired(grant: Grant, sunset: &str, replacement: &str) -> Self {
        Self::new(
            Code::LegacyGrantRetired,
            format!(
                "The {} grant was retired on {sunset} by this server's policy (legacy.{}), following RFC 9700. Use {replacement} instead.",
                grant.as_str(),
                grant.as_str()
            ),
        )
        .with_parameter(if grant == Grant::Implicit { "response_type" } else { "grant_type" })
    }

    // --- users and the password grant ---------------------------------------------

    pub fn invalid_user_credentials(extra: &str) -> Self {
        Self::new(
            Code::InvalidUserCredentials,
            format!(
                "The username or password is wrong.{extra} The username is an email, or an E.164 phone number such as +16505550100 with the extension as +16505550100*101 or in the extension parameter."
            ),
        )
    }

    pub fn user_locked(until: &str) -> Self {
        Self::new(
            Code::UserLocked,
            format!("Password sign-in for this user is locked after repeated failures, until {until}. Try again after that time."),
        )
    }

    pub fn user_disabled() -> Self {
        Self::new(
            Code::UserDisabled,
            "The user is disabled; no tokens are issued for them. An administrator of the account can enable the user again.",
        )
    }

    pub fn user_other_account(app_name: &str) -> Self {
        Self::new(
            Code::UserOtherAccount,
            format!("App '{app_name}' is private to its own account and this user belongs to another account. Sign in with a user of the app's account, or make the app public."),
        )
    }

    pub fn no_user_in_token() -> Self {
        Self::new(
            Code::NoUserInToken,
            "The access token was issued to the app itself (client_credentials) and names no user, so there is no extension to show. Use a token obtained with the JWT flow or the authorization code flow.",
        )
        .with_challenge(Challenge::Bearer)
    }

    // --- JWT bearer ----------------------------------------------------------------------

    pub fn assertion_not_jwt(why: &str) -> Self {
        Self::new(
            Code::AssertionNotJwt,
            format!("The assertion is not a JWT credential: {why}. Send the credential exactly as grantd issued it."),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_wrong_kind(typ: &str) -> Self {
        Self::new(
            Code::AssertionWrongKind,
            format!(
                "The assertion is a JWT of type '{}' (a token this server issued), not a JWT credential. Send the user's JWT credential as assertion.",
                sanitize(typ, 20)
            ),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_foreign_issuer(theirs: &str, ours: &str) -> Self {
        Self::new(
            Code::AssertionForeignIssuer,
            format!(
                "The JWT credential was issued by '{}', but this server is '{ours}'. Create a credential on this server, or send it to the token endpoint of the server that issued it.",
                sanitize(theirs, 120)
            ),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_unknown_key(kid: &str) -> Self {
        Self::new(
            Code::AssertionUnknownKey,
            format!(
                "The JWT credential is signed with key '{}', which this server does not have (any more). Create a new JWT credential for the user.",
                sanitize(kid, 40)
            ),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_bad_signature() -> Self {
        Self::new(
            Code::AssertionBadSignature,
            "The JWT credential's signature does not verify: it was changed after it was issued. Use it exactly as issued.",
        )
        .with_parameter("assertion")
    }

    /// `aud` as the credential says it (a string, or the list of its strings).
    pub fn assertion_wrong_audience(aud: &str, expected: &str) -> Self {
        Self::new(
            Code::AssertionWrongAudience,
            format!(
                "The JWT credential's audience (aud) is {}, not this server's token endpoint {expected}: it was made for another server or environment. Create a JWT credential on this server (grantd jwt create, or POST /admin/v1/users/{{id}}/jwt-credentials) and send that, or send this one to the token endpoint it names.",
                if aud.is_empty() { "missing".to_string() } else { format!("'{}'", sanitize(aud, 120)) }
            ),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_algorithm(alg: &str) -> Self {
        let what = if alg.eq_ignore_ascii_case("none") {
            "alg 'none': it is unsigned, and an unsigned JWT is never accepted (RFC 8725 §3.1)"
                .to_string()
        } else if alg.is_empty() {
            "no alg".to_string()
        } else {
            format!(
                "alg '{}', an algorithm grantd never signs credentials with",
                sanitize(alg, 20)
            )
        };
        Self::new(
            Code::AssertionAlgorithm,
            format!("The assertion's header names {what}. grantd's JWT credentials are signed with ES256, EdDSA or RS256 by its own keys: send the credential exactly as grantd issued it, not one built or re-signed by hand."),
        )
        .with_parameter("assertion")
    }

    pub fn code_verifier_malformed(reason: &str) -> Self {
        Self::new(
            Code::CodeVerifierMalformed,
            format!("The code_verifier {reason}; RFC 7636 §4.1 requires 43 to 128 characters of A–Z, a–z, 0–9 and - . _ ~. Create it as 32 random bytes in base64url without padding (43 characters), compute code_challenge=BASE64URL(SHA256(code_verifier)) from it at the authorization endpoint, and send it here unchanged."),
        )
        .with_parameter("code_verifier")
    }

    /// Another of grantd's tokens sent as `refresh_token`: `what` names it.
    pub fn not_a_refresh_token(what: &str) -> Self {
        Self::new(
            Code::NotARefreshToken,
            format!("The refresh_token is {what} issued by this server, not a refresh token. Send the refresh_token field of the last token response (not its access_token or id_token)."),
        )
        .with_parameter("refresh_token")
    }

    pub fn assertion_expired(credential_id: &str, at: &str) -> Self {
        Self::new(
            Code::AssertionExpired,
            format!(
                "JWT credential '{}' expired at {at}. Create a new credential for the user.",
                sanitize(credential_id, 40)
            ),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_not_yet_valid(at: &str) -> Self {
        Self::new(
            Code::AssertionNotYetValid,
            format!("The JWT credential is not valid before {at}. Check the clocks, or use a credential issued by this server."),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_revoked(credential_id: &str, at: Option<&str>) -> Self {
        let when = at
            .map(|t| format!(" at {t}"))
            .unwrap_or_else(|| " (or deleted)".into());
        Self::new(
            Code::AssertionRevoked,
            format!(
                "JWT credential '{}' was revoked{when}. Create a new credential for the user.",
                sanitize(credential_id, 40)
            ),
        )
        .with_parameter("assertion")
    }

    pub fn assertion_app_not_allowed(
        credential_id: &str,
        app_name: &str,
        client_id: &str,
        allowed: &str,
    ) -> Self {
        Self::new(
            Code::AssertionAppNotAllowed,
            format!(
                "JWT credential '{}' may not be used by app '{app_name}' ({client_id}). It allows: {allowed}. Use one of those apps, or create a credential for this one.",
                sanitize(credential_id, 40)
            ),
        )
        .with_parameter("assertion")
    }

    // --- refresh and sessions -------------------------------------------------------------

    /// `grants`: the app's grants when it lacks the refresh_token grant, so
    /// the one command given enables both.
    pub fn refresh_not_issued(app_name: &str, client_id: &str, grants: Option<&[Grant]>) -> Self {
        let command = match grants {
            Some(g) => {
                let mut list: Vec<&str> = g.iter().map(|g| g.as_str()).collect();
                list.push("refresh_token");
                format!(
                    "grantd app update {client_id} --grants {} --issue-refresh-tokens true (the app lacks the refresh_token grant too)",
                    list.join(",")
                )
            }
            None => format!("grantd app update {client_id} --issue-refresh-tokens true"),
        };
        Self::new(
            Code::RefreshNotIssued,
            format!(
                "App '{app_name}' ({client_id}) does not issue refresh tokens, so there is nothing to refresh. Enable them with {command}, then sign in again."
            ),
        )
        .with_parameter("grant_type")
    }

    pub fn refresh_unknown() -> Self {
        Self::new(
            Code::RefreshUnknown,
            "No such refresh token: it was never issued here, was purged after expiring, or is not the newest one (another process may have refreshed the session and kept the new token). Use the most recent refresh token.",
        )
        .with_parameter("refresh_token")
    }

    pub fn refresh_expired(at: &str) -> Self {
        Self::new(
            Code::RefreshExpired,
            format!(
                "The refresh token expired at {at}. Sign the user in again to start a new session."
            ),
        )
        .with_parameter("refresh_token")
    }

    pub fn session_ended(session_id: &str, reason: &str) -> Self {
        Self::new(
            Code::SessionEnded,
            format!(
                "Session '{}' has ended ({reason}); its tokens no longer work. Sign the user in again.",
                sanitize(session_id, 40)
            ),
        )
    }

    /// A confidential client's stale refresh token (RingCentral's rule: the
    /// session goes on).
    pub fn refresh_stale(rotated_at: &str) -> Self {
        Self::new(
            Code::RefreshUnknown,
            format!(
                "This refresh token was already exchanged at {rotated_at} (by this app, perhaps another of its workers or instances) and its grace window has passed, so it no longer works. The session lives on: load the newest token pair your app stored after that refresh and use its refresh token; share one token store between workers and refresh in one place."
            ),
        )
        .with_parameter("refresh_token")
    }

    pub fn refresh_reused(session_id: &str, rotated_at: &str) -> Self {
        Self::new(
            Code::RefreshReused,
            format!(
                "This refresh token was already exchanged at {rotated_at} and its grace window has passed. Reuse of a refresh token is how theft shows itself, so session '{}' and all its tokens were ended. Sign the user in again, and keep only the newest refresh token after each refresh.",
                sanitize(session_id, 40)
            ),
        )
        .with_parameter("refresh_token")
    }

    pub fn refresh_other_client(client_id: &str) -> Self {
        Self::new(
            Code::RefreshOtherClient,
            format!("The refresh token was not issued to app {client_id}. Refresh with the credentials of the app it was issued to."),
        )
        .with_parameter("refresh_token")
    }

    // --- bearer tokens ------------------------------------------------------------------

    /// An access token both in `Authorization` and in `?access_token=`.
    pub fn access_token_sent_twice() -> Self {
        Self::new(
            Code::AccessTokenSentTwice,
            "The request carries an access token both in the Authorization header and in the access_token query parameter; RFC 6750 §2 allows one method per request. Send it once, in the Authorization: Bearer header, and drop access_token from the URL (URLs end up in logs and browser history).",
        )
        .with_parameter("access_token")
    }

    pub fn bearer_missing() -> Self {
        Self::new(
            Code::BearerMissing,
            "No access token was sent. Send Authorization: Bearer <access_token>.",
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn access_token_expired(at: &str) -> Self {
        Self::new(
            Code::AccessTokenExpired,
            format!("The access token expired at {at}. Refresh it (grant_type=refresh_token) or get a new one."),
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn access_token_corrupted() -> Self {
        Self::new(
            Code::AccessTokenCorrupted,
            "The access token's signature does not verify or it was issued by another server. Send it exactly as the token endpoint returned it.",
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn access_token_unparsable() -> Self {
        Self::new(
            Code::AccessTokenUnparsable,
            "The bearer value is not an access token issued by this server. Send the access_token of a token response.",
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn refresh_as_bearer(token_endpoint: &str) -> Self {
        Self::new(
            Code::AccessTokenUnparsable,
            format!("The bearer value is a refresh token issued by this server, not an access token: refresh tokens go to the token endpoint only. POST {token_endpoint} with grant_type=refresh_token&refresh_token=<it> and the app's credentials, then send the access_token of the answer."),
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn access_token_revoked(why: &str) -> Self {
        Self::new(
            Code::AccessTokenRevoked,
            format!("The access token no longer works: {why}. Use the newest access token of the session, or sign in again."),
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn credential_as_bearer(token_endpoint: &str) -> Self {
        Self::new(
            Code::CredentialAsBearer,
            format!(
                "The bearer token is a JWT credential, not an access token. Exchange it first: POST {token_endpoint} with grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<the credential> and the app's Basic credentials, then send the access_token of the answer."
            ),
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn invalid_user_field(field: &'static str, reason: impl fmt::Display) -> Self {
        Self::new(
            Code::InvalidUserField,
            format!("The user field '{field}' is invalid: {reason}."),
        )
        .with_parameter(field)
    }

    pub fn user_not_found(id: &str) -> Self {
        Self::new(
            Code::UserNotFound,
            format!("No user with id '{}' exists.", sanitize(id, 64)),
        )
    }

    pub fn key_not_found(kid: &str) -> Self {
        Self::new(
            Code::KeyNotFound,
            format!("No signing key '{}' is published.", sanitize(kid, 64)),
        )
    }

    pub fn consent_not_found(user_id: &str, client_id: &str) -> Self {
        Self::new(
            Code::ConsentNotFound,
            format!(
                "User '{}' has no consent for app '{}'.",
                sanitize(user_id, 64),
                sanitize(client_id, 64)
            ),
        )
    }

    pub fn jwt_credential_not_found(id: &str) -> Self {
        Self::new(
            Code::JwtCredentialNotFound,
            format!("No JWT credential with id '{}' exists.", sanitize(id, 64)),
        )
    }

    // --- the authorization endpoint and codes ----------------------------------------

    pub fn code_at_authorize_endpoint(token_endpoint: &str) -> Self {
        Self::new(
            Code::CodeAtAuthorizeEndpoint,
            format!(
                "This is a token request (it has grant_type, or a code without response_type), sent to the authorization endpoint. Codes are exchanged at the token endpoint: POST {token_endpoint} with grant_type=authorization_code&code=…&redirect_uri=…&code_verifier=…, form-encoded, with the app's Basic credentials."
            ),
        )
    }

    pub fn no_redirect_uri_registered(app_name: &str, client_id: &str) -> Self {
        Self::new(
            Code::NoRedirectUriRegistered,
            format!("App '{app_name}' has no redirect URI registered. Register the one the app uses: grantd app update {client_id} --redirect-uri https://…/callback."),
        )
        .with_parameter("redirect_uri")
    }

    pub fn redirect_uri_not_registered(sent: &str, registered: &[String]) -> Self {
        Self::redirect_uri_not_registered_hint(sent, registered, None)
    }

    /// `near`: the registered URI the one sent nearly is, and how it misses.
    pub fn redirect_uri_not_registered_hint(
        sent: &str,
        registered: &[String],
        near: Option<(&str, String)>,
    ) -> Self {
        let hint = match near {
            Some((known, why)) => format!(" Did you mean '{known}'? {}.", capitalize(&why)),
            None => String::new(),
        };
        Self::new(
            Code::RedirectUriNotRegistered,
            format!(
                "redirect_uri '{}' is not registered for this app. Registered: {}. They are compared exactly (only loopback URIs may differ in port).{hint} Send a registered URI exactly, or register this one (grantd app update CLIENT_ID --redirect-uri …).",
                echo(sent, 200),
                registered.join(", ")
            ),
        )
        .with_parameter("redirect_uri")
    }

    /// An app whose platform type cannot use the authorization endpoint
    /// at all (server-only, device).
    pub fn authorize_not_for_platform(
        app_name: &str,
        client_id: &str,
        platform: PlatformType,
        grants: &[Grant],
    ) -> Self {
        Self::new(
            Code::ResponseTypeNotAllowed,
            format!(
                "App '{app_name}' ({client_id}) is a {platform} app, which cannot use the authorization endpoint: a {platform} app cannot have the authorization_code grant, so registering a redirect URI would not help. Its grants are used at the token endpoint instead ({}). For a flow where a user signs in through the browser, register an app with a platform type that allows authorization_code ({}).",
                join(grants.iter()),
                join(PlatformType::allowing(Grant::AuthorizationCode))
            ),
        )
        .with_parameter("client_id")
    }

    /// No redirect URI, and whatever else stands in the way of the
    /// authorization code flow for this app (`grants`: the app is not
    /// enabled for authorization_code; its grants).
    pub fn no_redirect_uri_registered_and(
        app_name: &str,
        client_id: &str,
        grants: Option<&[Grant]>,
    ) -> Self {
        match grants {
            None => Self::no_redirect_uri_registered(app_name, client_id),
            Some(g) => {
                let mut list: Vec<&str> = g.iter().map(|g| g.as_str()).collect();
                list.push("authorization_code");
                Self::new(
                    Code::NoRedirectUriRegistered,
                    format!(
                        "App '{app_name}' has no redirect URI registered, and it is not enabled for the authorization_code grant (its grants: {}). Fix both at once: grantd app update {client_id} --redirect-uri https://…/callback --grants {}.",
                        join(g.iter()),
                        list.join(",")
                    ),
                )
                .with_parameter("redirect_uri")
            }
        }
    }

    pub fn redirect_uri_required(registered: &[String]) -> Self {
        Self::new(
            Code::RedirectUriRequired,
            format!(
                "The app has {} registered redirect URIs ({}); add redirect_uri to say which one.",
                registered.len(),
                registered.join(", ")
            ),
        )
        .with_parameter("redirect_uri")
    }

    pub fn unsupported_response_type(value: Option<&str>, supported: &[&str]) -> Self {
        let what = match value {
            Some(v) => {
                let near = match crate::hint::near_miss(v, supported.iter().copied()) {
                    Some((known, miss)) => {
                        format!(" (did you mean '{known}'? {})", miss.describe())
                    }
                    None => String::new(),
                };
                format!("response_type '{}' is not supported{near}", echo(v, 40))
            }
            None => "response_type is missing".to_string(),
        };
        Self::new(
            Code::UnsupportedResponseType,
            format!(
                "{what}. Supported: {}. Use response_type=code with PKCE.",
                supported.join(", ")
            ),
        )
        .with_parameter("response_type")
    }

    pub fn response_type_not_allowed(
        app_name: &str,
        platform: PlatformType,
        response_type: &str,
        why: &str,
    ) -> Self {
        Self::new(
            Code::ResponseTypeNotAllowed,
            format!(
                "App '{app_name}' ({platform}) may not use response_type={response_type}: {why}"
            ),
        )
        .with_parameter("response_type")
    }

    pub fn pkce_required(app_name: &str, platform: PlatformType) -> Self {
        Self::new(
            Code::PkceRequired,
            format!("App '{app_name}' is a {platform} app, which is public, so PKCE is required: send code_challenge=BASE64URL(SHA256(code_verifier)) and code_challenge_method=S256."),
        )
        .with_parameter("code_challenge")
    }

    pub fn pkce_method_refused(sent: Option<&str>) -> Self {
        let what = match sent {
            Some(m) => format!("code_challenge_method '{}' is not accepted for this app", echo(m, 20)),
            None => "code_challenge_method is missing, which means plain, and plain is not accepted for this app".to_string(),
        };
        Self::new(
            Code::PkceMethodRefused,
            format!("{what}. Send code_challenge_method=S256."),
        )
        .with_parameter("code_challenge_method")
    }

    pub fn pkce_challenge_invalid(reason: &str) -> Self {
        Self::new(
            Code::PkceChallengeInvalid,
            format!("The code_challenge is invalid: {reason}."),
        )
        .with_parameter("code_challenge")
    }

    pub fn access_denied_by_user(app_name: &str) -> Self {
        Self::new(
            Code::AccessDeniedByUser,
            format!("The user declined to give '{app_name}' access."),
        )
    }

    pub fn account_not_allowed(app_name: &str) -> Self {
        Self::new(
            Code::AccountNotAllowed,
            format!("App '{app_name}' is private to its own account, and the user who signed in belongs to another account."),
        )
    }

    pub fn login_required() -> Self {
        Self::new(
            Code::LoginRequired,
            "prompt=none was sent but no user is signed in to grantd in this browser, so signing in needs a page. Send the user to the authorization endpoint again without prompt=none (same parameters otherwise), so they can sign in.",
        )
    }

    pub fn consent_required(scopes: &str) -> Self {
        Self::new(
            Code::ConsentRequired,
            format!(
                "prompt=none was sent but the user has not granted this app: {}. Send the user to the authorization endpoint again without prompt=none (same parameters otherwise), so they can consent.",
                sanitize(scopes, 1000)
            ),
        )
    }

    pub fn code_invalid() -> Self {
        Self::new(Code::CodeInvalid, "The authorization code is not one this server issued. Send the code of the redirect exactly as received.")
            .with_parameter("code")
    }

    pub fn code_expired(at: &str) -> Self {
        Self::new(
            Code::CodeExpired,
            format!("The authorization code expired at {at} (codes live 60 seconds). Start the flow again."),
        )
        .with_parameter("code")
    }

    pub fn code_other_client(client_id: &str) -> Self {
        Self::new(
            Code::CodeOtherClient,
            format!("The authorization code was not issued to app {client_id}. Exchange it with the app that started the flow."),
        )
        .with_parameter("code")
    }

    pub fn code_replayed(used_at: &str) -> Self {
        Self::new(
            Code::CodeReplayed,
            format!("The authorization code was already exchanged at {used_at}. Codes are single-use; the tokens issued from it have been revoked. Start the flow again."),
        )
        .with_parameter("code")
    }

    pub fn redirect_uri_mismatch(sent: Option<&str>, used: &str) -> Self {
        let sent = match sent {
            Some(s) => format!("'{}'", echo(s, 200)),
            None => "none".to_string(),
        };
        Self::new(
            Code::RedirectUriMismatch,
            format!("The token request's redirect_uri is {sent}, but the authorization request used '{used}'. Send exactly '{used}'."),
        )
        .with_parameter("redirect_uri")
    }

    pub fn pkce_verifier_missing() -> Self {
        Self::new(
            Code::PkceVerifierMissing,
            "The authorization request sent a code_challenge, so this token request needs the code_verifier it was computed from.",
        )
        .with_parameter("code_verifier")
    }

    pub fn pkce_verifier_mismatch(method: &str) -> Self {
        Self::new(
            Code::PkceVerifierMismatch,
            format!("The code_verifier does not match the code_challenge (method {method}). Send the verifier of this flow; the challenge must be BASE64URL-NOPAD(SHA256(verifier))."),
        )
        .with_parameter("code_verifier")
    }

    pub fn pkce_downgrade() -> Self {
        Self::new(
            Code::PkceDowngrade,
            "A code_verifier was sent, but the authorization request had no code_challenge. Send code_challenge with code_challenge_method=S256 at the authorization endpoint.",
        )
        .with_parameter("code_verifier")
    }

    pub fn openid_scope_missing() -> Self {
        Self::new(
            Code::OpenIdScopeMissing,
            "The access token was not issued with the openid scope, so userinfo has nothing to say. Ask for scope=openid (plus profile, email) when the user signs in.",
        )
        .with_challenge(Challenge::Bearer)
    }

    // --- token exchange (RFC 8693) ------------------------------------------------------

    pub fn exchange_token_type_unsupported(
        parameter: &'static str,
        value: &str,
        reason: &str,
        accepted: &[&str],
    ) -> Self {
        Self::new(
            Code::ExchangeTokenTypeUnsupported,
            format!(
                "{parameter} '{}' is not a token type grantd takes there: {reason}. Use one of {}.",
                echo(value, 100),
                join(accepted)
            ),
        )
        .with_parameter(parameter)
    }

    /// A refresh token named (`…_token_type`), sent (`…_token`) or asked for
    /// (`requested_token_type`).
    pub fn exchange_refresh_token(parameter: &'static str) -> Self {
        const WHY: &str = "grantd neither exchanges refresh tokens nor issues one by exchange: a refresh token stays with the app and the session it was issued to";
        let description = match parameter {
            "requested_token_type" => format!(
                "requested_token_type asks for a refresh token, but {WHY}, and an exchange issues one access token that ends with the session it came from. Ask for urn:ietf:params:oauth:token-type:access_token (the default) or urn:ietf:params:oauth:token-type:jwt."
            ),
            "subject_token" | "actor_token" => format!(
                "The {parameter} is a refresh token, and {WHY}. Send the session's access token instead, with {parameter}_type=urn:ietf:params:oauth:token-type:access_token."
            ),
            _ => format!(
                "{parameter} names a refresh token, and {WHY}. Send the session's access token instead, with {parameter}=urn:ietf:params:oauth:token-type:access_token."
            ),
        };
        Self::new(Code::ExchangeRefreshToken, description).with_parameter(parameter)
    }

    pub fn exchange_token_type_mismatch(
        parameter: &'static str,
        declared: &str,
        actual: &str,
        fits: &[&str],
    ) -> Self {
        Self::new(
            Code::ExchangeTokenTypeMismatch,
            format!(
                "The {parameter} is {actual}, but {parameter}_type says {declared}. Send {parameter}_type={}.",
                fits.join(" or ")
            ),
        )
        .with_parameter(parameter)
    }

    pub fn exchange_token_invalid(parameter: &'static str, why: &str) -> Self {
        Self::new(
            Code::ExchangeTokenInvalid,
            format!(
                "The {parameter} is not a token this server issued: {why}. Send it exactly as this server issued it."
            ),
        )
        .with_parameter(parameter)
    }

    pub fn exchange_token_expired(parameter: &'static str, what: &str, at: &str) -> Self {
        Self::new(
            Code::ExchangeTokenExpired,
            format!(
                "The {parameter} ({what}) expired at {at}. Exchange a current one: refresh it, or sign in again."
            ),
        )
        .with_parameter(parameter)
    }

    pub fn exchange_token_revoked(parameter: &'static str, what: &str, why: &str) -> Self {
        Self::new(
            Code::ExchangeTokenRevoked,
            format!(
                "The {parameter} ({what}) no longer works: {why}. Sign in again (or get a new token for the app) and exchange the new token."
            ),
        )
        .with_parameter(parameter)
    }

    /// The subject token was issued to an app the policy does not name.
    pub fn exchange_subject_app_not_allowed(
        app_name: &str,
        client_id: &str,
        token_app: &str,
        allowed: Option<&[String]>,
    ) -> Self {
        let description = match allowed {
            Some(allowed) => {
                let mut widened: Vec<&str> = allowed.iter().map(String::as_str).collect();
                widened.push(token_app);
                format!(
                    "App '{app_name}' may not exchange tokens issued to app {token_app}: its token_exchange policy (allowed_subject_apps) allows tokens of itself and of {}. Exchange a token of one of those apps, or add {token_app} to the policy (grantd app update {client_id} --exchange-subject-apps {}).",
                    join(allowed),
                    widened.join(",")
                )
            }
            None => format!(
                "App '{app_name}' has no token_exchange policy, so it may exchange only tokens issued to itself ({client_id}); this subject_token was issued to app {token_app}. Give it a policy that allows that app (grantd app update {client_id} --exchange-subject-apps {token_app})."
            ),
        };
        Self::new(Code::ExchangeNotAllowed, description).with_parameter("subject_token")
    }

    pub fn exchange_credential_not_allowed(
        parameter: &'static str,
        app_name: &str,
        client_id: &str,
        credential_id: &str,
        allowed: &str,
    ) -> Self {
        Self::new(
            Code::ExchangeNotAllowed,
            format!(
                "JWT credential {credential_id} may be used by {allowed}, not by app '{app_name}' ({client_id}): a credential allows the same apps for token exchange as for the JWT grant. Use a credential that allows the app, or create one (grantd jwt create --user USER_ID --app {client_id})."
            ),
        )
        .with_parameter(parameter)
    }

    pub fn exchange_actor_not_own(app_name: &str, client_id: &str, actor_app: &str) -> Self {
        Self::new(
            Code::ExchangeNotAllowed,
            format!(
                "The actor_token says who acts, so it must be a token of the requesting app '{app_name}' ({client_id}): its client_credentials token, or a token a user got through it. This one was issued to app {actor_app}. Send a token of app {client_id} as actor_token, or leave actor_token out for impersonation."
            ),
        )
        .with_parameter("actor_token")
    }

    pub fn exchange_chain_too_long(actors: usize, max: usize) -> Self {
        Self::new(
            Code::ExchangeNotAllowed,
            format!(
                "The exchanged token would name {actors} actors in its act chain (the actor, then those before it); grantd allows at most {max}. Exchange a token nearer the start of the chain."
            ),
        )
        .with_parameter("actor_token")
    }

    pub fn exchange_target_unknown(parameter: &'static str, value: &str) -> Self {
        Self::new(
            Code::ExchangeTargetNotAllowed,
            format!(
                "{parameter} '{}' is not a registered resource server. Name a resource server by its client id (an app registered with resource_server: true), or leave {parameter} out for a token for grantd's own API.",
                echo(value, 100)
            ),
        )
        .with_parameter(parameter)
    }

    pub fn exchange_target_not_allowed(
        app_name: &str,
        client_id: &str,
        target: &str,
        allowed: Option<&[String]>,
    ) -> Self {
        let description = match allowed {
            Some(allowed) => {
                let mut widened: Vec<&str> = allowed.iter().map(String::as_str).collect();
                widened.push(target);
                format!(
                    "App '{app_name}' may not exchange for resource server {target}: its token_exchange policy (audiences) allows {}. Name one of those, leave audience out for grantd's own API, or add {target} to the policy (grantd app update {client_id} --exchange-audiences {}).",
                    join(allowed),
                    widened.join(",")
                )
            }
            None => format!(
                "App '{app_name}' has no token_exchange policy, so its exchanged tokens are for grantd's own API only (no audience). Leave audience out, or allow {target} (grantd app update {client_id} --exchange-audiences {target})."
            ),
        };
        Self::new(Code::ExchangeTargetNotAllowed, description).with_parameter("audience")
    }

    pub fn exchange_targets_differ(audience: &str, resource: &str) -> Self {
        Self::new(
            Code::ExchangeTargetNotAllowed,
            format!(
                "audience '{}' and resource '{}' name different resource servers, and an exchanged token has one audience. Send one of them (or the same client id in both).",
                echo(audience, 100),
                echo(resource, 100)
            ),
        )
        .with_parameter("resource")
    }

    pub fn token_for_other_audience(audience: &str) -> Self {
        Self::new(
            Code::TokenForOtherAudience,
            format!(
                "This access token is for resource server {audience} (its aud), not for grantd's API. Send it to that API, or exchange for a token without audience to call grantd."
            ),
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn exchange_scope_beyond_subject(missing: &[&str], allowed: &[String]) -> Self {
        Self::new(
            Code::ExchangeScopeTooWide,
            format!(
                "The exchange asked for {} {} beyond the subject token's scope ({}): an exchange never widens what the subject token allowed. Ask only for those, or leave scope out.",
                if missing.len() == 1 { "scope" } else { "scopes" },
                quoted(missing),
                join(allowed)
            ),
        )
        .with_parameter("scope")
    }

    pub fn exchange_scope_beyond_policy(
        app_name: &str,
        client_id: &str,
        missing: &[&str],
        max: &[String],
    ) -> Self {
        Self::new(
            Code::ExchangeScopeTooWide,
            format!(
                "App '{app_name}' asked for {} {} beyond its token_exchange policy's max_scope ({}). Ask only for those, leave scope out, or raise the policy (grantd app update {client_id} --exchange-max-scope …).",
                if missing.len() == 1 { "scope" } else { "scopes" },
                quoted(missing),
                join(max)
            ),
        )
        .with_parameter("scope")
    }

    pub fn exchange_scope_none_left(subject_scope: &str, allowed: &[String]) -> Self {
        Self::new(
            Code::ExchangeScopeTooWide,
            format!(
                "None of the subject token's scopes ({}) may be passed on: the app's scopes and its token_exchange policy allow {}. Exchange a token with one of those scopes, or widen the app's scopes or its policy's max_scope.",
                sanitize(subject_scope, 400),
                join(allowed)
            ),
        )
        .with_parameter("scope")
    }

    // --- the device authorization grant (RFC 8628) -----------------------------------

    pub fn device_pending(interval: i64, expires_at: &str) -> Self {
        Self::new(
            Code::DevicePending,
            format!("The user has not yet approved or denied this device on the verification page. Keep polling every {interval} seconds with the same device_code; the code expires at {expires_at}."),
        )
    }

    pub fn device_slow_down(interval: i64) -> Self {
        Self::new(
            Code::DeviceSlowDown,
            format!("This poll came sooner than the interval allows. Poll slower: the interval for this device code is now {interval} seconds, for this and every later poll."),
        )
    }

    pub fn device_denied(app_name: &str) -> Self {
        Self::new(
            Code::DeviceDenied,
            format!("The user declined to let this device use '{app_name}' with their account. Stop polling; to try again, restart the flow with a new device authorization request."),
        )
    }

    pub fn device_code_expired(at: &str) -> Self {
        Self::new(
            Code::DeviceCodeExpired,
            format!("The device code expired at {at}. Stop polling and restart the flow: a new device authorization request, and show the user the new code."),
        )
        .with_parameter("device_code")
    }

    pub fn device_code_unknown() -> Self {
        Self::new(
            Code::DeviceCodeUnknown,
            "The device_code is not one this server issued. Send the device_code of the device authorization response exactly as received, or restart the flow.",
        )
        .with_parameter("device_code")
    }

    pub fn device_code_other_client(client_id: &str) -> Self {
        Self::new(
            Code::DeviceCodeOtherClient,
            format!("The device code was not issued to app {client_id}. Poll with the app that made the device authorization request."),
        )
        .with_parameter("device_code")
    }

    pub fn device_code_used() -> Self {
        Self::new(
            Code::DeviceCodeUsed,
            "The device code was already exchanged for tokens; a device code is single-use. Use the tokens of that exchange (refresh them with the refresh_token grant), or restart the flow to sign in again.",
        )
        .with_parameter("device_code")
    }

    pub fn user_code_malformed(reason: &str) -> Self {
        Self::new(
            Code::UserCodeUnknown,
            format!("That is not a code: {reason}. Type the code your device shows: 10 letters, such as BCDFG-HJKLM (case and dashes do not matter)."),
        )
        .with_parameter("user_code")
    }

    pub fn user_code_unknown() -> Self {
        Self::new(
            Code::UserCodeUnknown,
            "No device is waiting for this code. Check the code on your device's screen and type it again; if the device shows a new code, type that one.",
        )
        .with_parameter("user_code")
    }

    pub fn user_code_expired(at: &str) -> Self {
        Self::new(
            Code::UserCodeExpired,
            format!("This code expired at {at}, so the device can no longer be approved with it. Start again on the device: it will show a new code."),
        )
        .with_parameter("user_code")
    }

    pub fn user_code_decided(decision: &str) -> Self {
        Self::new(
            Code::UserCodeDecided,
            format!("This code was already used: the device's request was {decision}. If that was not you, start again on the device for a new code, and never type a code someone else sent you."),
        )
        .with_parameter("user_code")
    }

    // --- admin API -----------------------------------------------------------------

    pub fn admin_auth_missing() -> Self {
        Self::new(
            Code::AdminAuthMissing,
            "The admin API needs Authorization: Bearer <admin token> (GRANTD_ADMIN_TOKEN, or the token printed at grantd's first start).",
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn admin_auth_wrong() -> Self {
        Self::new(
            Code::AdminAuthWrong,
            "The bearer token is not this server's admin token. Use GRANTD_ADMIN_TOKEN or the token printed at first start.",
        )
        .with_challenge(Challenge::Bearer)
    }

    pub fn admin_body_invalid(reason: &str) -> Self {
        Self::new(
            Code::AdminBodyInvalid,
            format!(
                "The JSON body could not be read: {}. See /admin/v1/openapi.json for the fields.",
                sanitize(reason, 300)
            ),
        )
    }

    pub fn invalid_app_field(field: &'static str, reason: impl fmt::Display) -> Self {
        Self::new(
            Code::InvalidAppField,
            format!("The app field '{field}' is invalid: {reason}."),
        )
        .with_parameter(field)
    }

    pub fn grant_not_allowed_for_platform(platform: PlatformType, refused: &[Grant]) -> Self {
        Self::new(
            Code::GrantNotAllowedForPlatform,
            format!(
                "A {platform} app cannot enable {} (allowed for {platform}: {}). Platform types and their grants — {}. {}",
                refused.iter().map(|g| format!("'{g}'")).collect::<Vec<_>>().join(", "),
                join(platform.allowed_grants().iter()),
                PlatformType::ALL
                    .iter()
                    .map(|p| format!("{p}: {}", join(p.allowed_grants())))
                    .collect::<Vec<_>>()
                    .join("; "),
                refused
                    .iter()
                    .map(|g| format!("'{g}' is allowed for: {}.", join(PlatformType::allowing(*g))))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        )
        .with_parameter("grants")
    }

    pub fn redirect_uri_invalid(uri: &str, reason: &str) -> Self {
        Self::new(
            Code::RedirectUriInvalid,
            format!(
                "Redirect URI '{}' is not accepted: {reason}.",
                sanitize(uri, 200)
            ),
        )
        .with_parameter("redirect_uris")
    }

    pub fn too_many_redirect_uris(count: usize, max: usize) -> Self {
        Self::new(
            Code::TooManyRedirectUris,
            format!("{count} redirect URIs were given; an app may have at most {max}."),
        )
        .with_parameter("redirect_uris")
    }

    pub fn console_role_required(role: &str) -> Self {
        Self::new(
            Code::ConsoleRoleRequired,
            format!(
                "The developer console is for developers and administrators; you are signed in as a user with the role '{}'. Sign in as a developer or admin, or ask an administrator to make you a developer.",
                sanitize(role, 20)
            ),
        )
    }

    pub fn console_app_of_another_account(client_id: &str) -> Self {
        Self::new(
            Code::ConsoleAppOfAnotherAccount,
            format!(
                "App '{}' is not an app of your account; the console shows only your account's apps. Open an app from the app list.",
                sanitize(client_id, 64)
            ),
        )
    }

    pub fn console_admin_required(role: &str) -> Self {
        Self::new(
            Code::ConsoleAdminRequired,
            format!(
                "This page is for administrators of the account; you are signed in as a user with the role '{}', and it needs the role 'admin'. Ask an administrator of your account to do this, or to make you an admin.",
                sanitize(role, 20)
            ),
        )
    }

    pub fn console_user_of_another_account(user_id: &str) -> Self {
        Self::new(
            Code::ConsoleUserOfAnotherAccount,
            format!(
                "User '{}' is not a user of your account; an administrator manages only their own account's users. Open a user from the Users page.",
                sanitize(user_id, 64)
            ),
        )
    }

    pub fn console_own_user(what: &str) -> Self {
        Self::new(
            Code::ConsoleOwnUser,
            format!(
                "You cannot {} yourself from the console: the account could be left without an administrator. Nothing was changed; ask another administrator of the account.",
                sanitize(what, 40)
            ),
        )
    }

    pub fn console_credential_of_another_account(id: &str) -> Self {
        Self::new(
            Code::ConsoleCredentialOfAnotherAccount,
            format!(
                "JWT credential '{}' does not belong to a user of your account; an administrator manages only their own account's credentials. Open it from the user's page.",
                sanitize(id, 64)
            ),
        )
    }

    pub fn console_app_changed(client_id: &str, loaded: i64, current: i64) -> Self {
        Self::new(
            Code::ConsoleAppChanged,
            format!(
                "App '{}' was changed after this form was loaded (revision {loaded} then, {current} now); nothing was saved. Reload the page, check the current settings and make your change again.",
                sanitize(client_id, 64)
            ),
        )
        .with_parameter("revision")
    }

    pub fn rejection_not_found(request_id: &str) -> Self {
        Self::new(
            Code::RejectionNotFound,
            format!(
                "No rejected request with request id '{}' is in the rejection log.",
                sanitize(request_id, 64)
            ),
        )
    }

    pub fn invalid_rejection_filter(parameter: &str, why: &str) -> Self {
        Self::new(
            Code::InvalidRejectionFilter,
            format!(
                "The rejection filter '{}' {why}. Filter with code (e.g. code=OAU-251), endpoint (e.g. endpoint=/oauth/token) and limit (1 to 1000).",
                sanitize(parameter, 40)
            ),
        )
    }

    pub fn app_not_found(client_id: &str) -> Self {
        Self::new(
            Code::AppNotFound,
            format!(
                "No app with client id '{}' exists.",
                sanitize(client_id, 64)
            ),
        )
    }

    pub fn account_not_found(account_id: &str) -> Self {
        Self::new(
            Code::AccountNotFound,
            format!("No account with id '{}' exists.", sanitize(account_id, 64)),
        )
    }

    // --- server --------------------------------------------------------------------

    pub fn server_error() -> Self {
        Self::new(
            Code::ServerError,
            "grantd failed while handling this request. Retry; if it persists, give the operator the X-Request-Id of this response.",
        )
    }

    pub fn too_many_failures(
        paused: Paused<'_>,
        limit: u32,
        window: u64,
        retry_after: u64,
    ) -> Self {
        let whose = match paused {
            Paused::Client(id) => format!("for client id {}", crate::hint::redacted(id)),
            Paused::Login => "for this username".to_string(),
            Paused::Anonymous => "without naming a client".to_string(),
            Paused::Address => "for any client or user".to_string(),
            Paused::Admin => "for the admin API".to_string(),
        };
        let e = Self::new(
            Code::RateExceeded,
            format!("More than {limit} requests {whose} from this address failed authentication within {window} seconds. Retry after {retry_after} seconds, with correct credentials."),
        );
        match paused {
            Paused::Client(_) => e.with_parameter("client_id"),
            Paused::Login => e.with_parameter("username"),
            _ => e,
        }
    }

    /// A request quota of a rate-limit group is used up (RingCentral's
    /// CMN-301): `per_user` when it counts one user's requests through the
    /// app, else the app's own.
    pub fn rate_limited(
        group: &str,
        requests: u32,
        window: u32,
        per_user: bool,
        retry_after: u64,
    ) -> Self {
        let whose = if per_user {
            "This app's requests for this user"
        } else {
            "This app's requests"
        };
        Self::new(
            Code::RateExceeded,
            format!("{whose} in rate-limit group {group} are limited to {requests} per {window} seconds, and this window's {requests} have been made. The window resets in {retry_after} seconds: retry after that (Retry-After), and pace requests by the X-Rate-Limit-Remaining header."),
        )
    }

    pub fn password_checks_busy() -> Self {
        Self::new(
            Code::PasswordChecksBusy,
            "grantd is checking too many passwords at once; retry in a few seconds.",
        )
    }

    // --- grantd doctor's own diagnoses ---------------------------------------------

    pub fn no_oauth_request(read: usize, what: &str) -> Self {
        Self::new(
            Code::NoOAuthRequest,
            format!("The {what} holds {read} request{} and none of them is an OAuth request (authorization, token, revocation, introspection or device authorization endpoint, or a request with grant_type or response_type). Capture the failing request itself.", if read == 1 { "" } else { "s" }),
        )
    }

    pub fn no_host_header() -> Self {
        Self::new(
            Code::NoHostHeader,
            "The request has no Host header, which HTTP/1.1 requires; a server refuses it with 400 before looking at the OAuth parameters. Add Host: <server host> after the request line.",
        )
    }

    pub fn request_line_broken(lines: usize) -> Self {
        Self::new(
            Code::RequestLineBroken,
            format!("The request line runs over {lines} lines: the URL contains a line break, so a server sees a truncated URL and a malformed header. Put the method, URL and HTTP version on one line."),
        )
    }

    pub fn store_unavailable() -> Self {
        Self::new(
            Code::StoreUnavailable,
            "grantd could not reach its database. Retry after a short wait.",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.code,
            self.entry().error,
            self.description
        )
    }
}

impl std::error::Error for OAuthError {}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// What can be told about scope names asked that are not allowed: a
/// comma-separated list (the separator is a space), a near miss of an
/// allowed name (case, a typo, an invisible character).
fn scope_hints(missing: &[&str], allowed: &[String]) -> Vec<String> {
    let mut hints = Vec::new();
    for m in missing {
        let parts: Vec<&str> = m.split([',', ';']).filter(|p| !p.is_empty()).collect();
        if parts.len() > 1 {
            let fixed: Vec<&str> = parts.iter().map(|p| p.trim()).collect();
            hints.push(format!(
                "'{}' is one name with {} in it: scopes are separated by spaces, not commas (send scope={}, form-encoded).",
                echo(m, 128),
                if m.contains(',') { "commas" } else { "semicolons" },
                fixed.iter().map(|p| echo(p, 64)).collect::<Vec<_>>().join("+")
            ));
        } else if let Some((known, miss)) = crate::hint::near_miss(m, allowed.iter()) {
            hints.push(format!(
                "Did you mean '{known}' for '{}'? {}.",
                echo(m, 128),
                capitalize(&miss.describe())
            ));
        }
    }
    hints
}

/// Client-supplied names, each quoted and sanitized, joined by ", ".
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|s| format!("'{}'", echo(s, 128)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sentence a remembered key-set failure ends with.
fn retry_note(retry_in: Option<i64>) -> String {
    match retry_in {
        Some(n) if n > 0 => {
            format!(" grantd remembers this failure and asks the URL again in {n} s.")
        }
        _ => String::new(),
    }
}

/// A client-supplied value to quote in a message: as [`sanitize`], unless
/// it looks like a credential sent in the wrong place
/// ([`crate::hint::looks_secret`]), which is shown only as its first few
/// characters and its length. Every value a client chose is quoted through
/// this, so no secret comes back whatever parameter it was sent in.
pub fn echo(value: &str, max: usize) -> String {
    if crate::hint::looks_secret(value) {
        let n = value.chars().count();
        let prefix: String = value.chars().take((n / 4).min(4)).collect();
        format!("{}…[{n} characters, not shown]", sanitize(&prefix, 4))
    } else {
        sanitize(value, max)
    }
}

/// Makes a client-supplied value safe to quote in a message: printable ASCII
/// only (anything else is written as an escape: `\n`, `\t`, `\r`,
/// `\u{00A0}`, so invisible characters show), cut to `max` characters, and the
/// characters that could close a quote or open markup wherever the message
/// is shown (`<`, `>`, `"`, `'`, `\`, `` ` ``) percent-encoded, as in a URL.
/// Descriptions travel in redirects to apps, which may show them unescaped.
pub fn sanitize(value: &str, max: usize) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(value.len().min(max) + 3);
    for c in value.chars().take(max) {
        match c {
            '<' | '>' | '"' | '\'' | '\\' | '`' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            // Shown, not hidden: an invisible character is often the mistake.
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            }
        }
    }
    if value.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_not_enabled_names_everything() {
        let e = OAuthError::grant_not_enabled(
            "Acme Sync",
            "abc",
            PlatformType::ServerWeb,
            Grant::Password,
            &[Grant::AuthorizationCode, Grant::RefreshToken],
        );
        assert_eq!(e.code, Code::GrantNotEnabled);
        assert!(e
            .description
            .contains("App 'Acme Sync' (server-web) is not enabled for grant_type 'password'"));
        assert!(e.description.contains("authorization_code, refresh_token"));
        assert!(e.description.contains("desktop, mobile, server-only"));
    }

    #[test]
    fn sanitize_cuts_and_masks() {
        assert_eq!(sanitize("ab\ncd", 10), "ab\\ncd");
        assert_eq!(sanitize("a\u{a0}", 10), "a\\u{00A0}");
        assert_eq!(sanitize("abcdef", 3), "abc…");
        assert_eq!(sanitize("abc", 3), "abc");
    }

    #[test]
    fn the_audience_is_quoted_once_with_a_fix() {
        let e = OAuthError::assertion_wrong_audience(
            "https://other.example.com/restapi/oauth/token",
            "https://grantd.example.com/restapi/oauth/token",
        );
        assert!(
            e.description
                .contains("is 'https://other.example.com/restapi/oauth/token', not"),
            "{}",
            e.description
        );
        assert!(!e.description.contains('"'), "{}", e.description);
        assert!(e
            .description
            .contains("Create a JWT credential on this server"));
    }

    #[test]
    fn values_that_look_like_secrets_are_not_echoed() {
        let secret = "ugxCiygK1MT6SCwmyjM60O3vDmSMUu9ej89PturqcQw";
        let e = OAuthError::unsupported_grant_type(secret, &["client_credentials"]);
        assert!(!e.description.contains(secret), "{}", e.description);
        assert!(e.description.contains("[43 characters, not shown]"));
        let e = OAuthError::unsupported_grant_type("client_credential", &["client_credentials"]);
        assert!(
            e.description.contains("'client_credential'"),
            "{}",
            e.description
        );
        assert!(e.description.contains("Did you mean 'client_credentials'"));
    }

    #[test]
    fn sanitize_escapes_quotes_and_markup() {
        assert_eq!(
            sanitize("<img src=x onerror=\"a('b')\">\\`", 100),
            "%3Cimg src=x onerror=%22a(%27b%27)%22%3E%5C%60"
        );
    }
}
