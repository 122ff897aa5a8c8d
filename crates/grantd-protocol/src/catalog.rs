//! The error catalog: every rejection grantd makes, with its RFC error, HTTP
//! status, short message, explanation and fix. One table renders the JSON error
//! body, the `/docs/errors/{code}` pages, `grantd explain` and docs/errors.md.

use std::fmt;

/// The RFC error codes grantd uses (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
/// RFC 7009 §2.2.1; RFC 8628 §3.5; RFC 8707 §2; OIDC Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RfcError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    InvalidTarget,
    AccessDenied,
    InvalidToken,
    InsufficientScope,
    LoginRequired,
    ConsentRequired,
    ServerError,
    TemporarilyUnavailable,
    NotFound,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    /// RFC 9449 §5, §7.1.
    InvalidDpopProof,
    /// RFC 9449 §8.
    UseDpopNonce,
    /// RFC 9126 §2.2, RFC 9101 §6.2.
    InvalidRequestUri,
    /// RFC 9101 §6.2.
    InvalidRequestObject,
    /// RFC 7591 §3.2.2.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2.
    InvalidClientMetadata,
    /// RFC 7591 §3.2.2.
    InvalidSoftwareStatement,
}

impl RfcError {
    pub fn as_str(self) -> &'static str {
        match self {
            RfcError::InvalidRequest => "invalid_request",
            RfcError::InvalidClient => "invalid_client",
            RfcError::InvalidGrant => "invalid_grant",
            RfcError::UnauthorizedClient => "unauthorized_client",
            RfcError::UnsupportedGrantType => "unsupported_grant_type",
            RfcError::UnsupportedResponseType => "unsupported_response_type",
            RfcError::InvalidScope => "invalid_scope",
            RfcError::InvalidTarget => "invalid_target",
            RfcError::AccessDenied => "access_denied",
            RfcError::InvalidToken => "invalid_token",
            RfcError::InsufficientScope => "insufficient_scope",
            RfcError::LoginRequired => "login_required",
            RfcError::ConsentRequired => "consent_required",
            RfcError::ServerError => "server_error",
            RfcError::TemporarilyUnavailable => "temporarily_unavailable",
            RfcError::NotFound => "not_found",
            RfcError::AuthorizationPending => "authorization_pending",
            RfcError::SlowDown => "slow_down",
            RfcError::ExpiredToken => "expired_token",
            RfcError::InvalidDpopProof => "invalid_dpop_proof",
            RfcError::UseDpopNonce => "use_dpop_nonce",
            RfcError::InvalidRequestUri => "invalid_request_uri",
            RfcError::InvalidRequestObject => "invalid_request_object",
            RfcError::InvalidRedirectUri => "invalid_redirect_uri",
            RfcError::InvalidClientMetadata => "invalid_client_metadata",
            RfcError::InvalidSoftwareStatement => "invalid_software_statement",
        }
    }
}

impl fmt::Display for RfcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the catalog.
#[derive(Debug)]
pub struct Entry {
    pub code: &'static str,
    pub error: RfcError,
    pub status: u16,
    pub message: &'static str,
    pub explanation: &'static str,
    pub fix: &'static str,
}

macro_rules! catalog {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $error:ident, $status:literal,
        $message:literal, $explanation:literal, $fix:literal; )*) => {
        /// A catalog code. Its [`Entry`] holds everything said about it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $( $(#[$doc])* $variant ),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$( Code::$variant ),*];

            pub fn entry(self) -> &'static Entry {
                match self {
                    $( Code::$variant => &Entry {
                        code: $code,
                        error: RfcError::$error,
                        status: $status,
                        message: $message,
                        explanation: $explanation,
                        fix: $fix,
                    }, )*
                }
            }
        }
    };
}

impl Code {
    /// Looks a code up by its name (`OAU-251`), case-insensitively.
    pub fn find(name: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.entry().code.eq_ignore_ascii_case(name.trim()))
    }

    pub fn as_str(self) -> &'static str {
        self.entry().code
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.entry().code)
    }
}

catalog! {
    // --- How the request was sent (the seed's second cause) -------------------
    MethodNotAllowed = "GRD-101", InvalidRequest, 405,
        "Method not allowed",
        "The endpoint was called with an HTTP method it does not serve. OAuth endpoints that take credentials or grant parameters accept POST only (RFC 6749 §3.2), so that secrets travel in the body and not in a URL that proxies and logs keep.",
        "Send the request with the method named in the Allow header (POST for the token, revocation and introspection endpoints), with the parameters form-encoded in the body.";
    CredentialsInQuery = "GRD-102", InvalidRequest, 400,
        "Parameters in the URL",
        "The token, revocation and introspection endpoints read their parameters from the POST body only (RFC 6749 §3.2), so every parameter found in the URL query string is named and the request refused, rather than silently ignored (a scope in the URL would otherwise be dropped and the token issued broader than asked). URLs are written to server logs, proxy logs and browser history, so grantd does not log such a URL with its query; credentials in a URL should be treated as exposed. The one exception is RingCentral's documented POST /restapi/oauth/revoke?token=…, which is accepted on that path only.",
        "Move every parameter named in the description into the request body, form-encoded (Content-Type: application/x-www-form-urlencoded), and send the client credentials in an Authorization: Basic header. Rotate any secret or password that was sent in a URL.";
    JsonBody = "GRD-103", InvalidRequest, 400,
        "JSON body where a form was expected",
        "The body is JSON. OAuth token, revocation and introspection requests are form-encoded (RFC 6749 §4.1.3, Appendix B), so the parameters in a JSON body are not seen at all.",
        "Send the parameters as application/x-www-form-urlencoded, e.g. grant_type=client_credentials&scope=ReadAccounts, with the header Content-Type: application/x-www-form-urlencoded. With curl use -d or --data-urlencode, not --json.";
    WrongContentType = "GRD-104", InvalidRequest, 400,
        "Body is not form-encoded",
        "The request body was sent without Content-Type: application/x-www-form-urlencoded (or with a body that is not valid form encoding), so its parameters cannot be read.",
        "Set Content-Type: application/x-www-form-urlencoded and encode the body as name=value pairs joined by &, percent-encoding reserved characters.";
    MissingParameter = "GRD-105", InvalidRequest, 400,
        "Required parameter missing",
        "A parameter that this request requires is absent (an empty value counts as absent).",
        "Add the parameter named in the error to the form body.";
    InvalidParameter = "GRD-106", InvalidRequest, 400,
        "Invalid parameter value",
        "A parameter has a value that cannot be used, for the reason given in the description.",
        "Correct the value of the parameter named in the error.";
    DuplicateParameter = "OAU-111", InvalidRequest, 400,
        "Request parameter duplicated",
        "A parameter appears more than once in the request. RFC 6749 §3.1 and §3.2 forbid repeated parameters, because a server and a proxy could read different values.",
        "Send each parameter once. Check that the client library does not add a parameter that your code also adds (grant_type and client_id are the usual ones).";
    BodyTooLarge = "GRD-107", InvalidRequest, 413,
        "Request body too large",
        "The request body is larger than grantd accepts on this endpoint. OAuth requests are small; a large body usually means the wrong data was sent.",
        "Send only the OAuth parameters in the body. The limit is given in the description.";
    HeadersTooLarge = "GRD-108", InvalidRequest, 431,
        "Request headers too large",
        "The request headers are larger than grantd accepts.",
        "Remove oversized headers (large cookies are the usual cause) and retry.";
    UnknownEndpoint = "GRD-109", NotFound, 404,
        "No such endpoint",
        "Nothing is served at this path.",
        "Use one of the paths listed in the server metadata at /.well-known/oauth-authorization-server; the description names the closest one.";
    BodyTimeout = "GRD-110", InvalidRequest, 408,
        "Request body too slow",
        "The request headers arrived but the body did not arrive in full within the time grantd waits for it. A client that announces a body and then stalls holds a connection open, so grantd stops waiting.",
        "Send the whole body right after the headers. If the network is this slow, retry; operators can raise the limit (body_read_timeout).";
    BodyIncomplete = "GRD-111", InvalidRequest, 400,
        "Request body incomplete",
        "The connection closed or failed before the whole request body arrived (fewer bytes than Content-Length, or a broken chunked encoding). Nothing in the request was processed.",
        "Retry the request; check that the client or a proxy in between does not cut requests short.";
    TooManyParameters = "GRD-112", InvalidRequest, 400,
        "Too many parameters",
        "The request carries more parameters than grantd reads (the cap is in the description). OAuth requests have a handful of parameters; this many means the request was built wrongly or is an attempt to make the server work hard.",
        "Send only the parameters of the request.";
    ParameterTooLong = "GRD-113", InvalidRequest, 400,
        "Parameter too long",
        "A parameter name or value is longer than grantd accepts for it. Values are capped (most at 4096 bytes; nonce at 512, state at 2048; token, assertion and refresh_token at 8192) because they are stored, echoed into redirects and shown in pages.",
        "Shorten the parameter named in the description. For state and nonce send a short random value and keep any data on the app's side.";
    OriginNotAllowed = "GRD-140", InvalidRequest, 403,
        "Origin not allowed (CORS)",
        "A page from a web origin that no app allows called grantd from a browser (a cross-origin request, CORS). grantd answers a browser's request only for origins an app allows: the origins of a browser app's registered redirect URIs, the origins listed in an app's allowed_origins, and the server's cors.allowed_origins. A preflight (OPTIONS) carries no client id, so the origin is checked against every app. The request was not processed.",
        "Add the page's origin (scheme://host[:port], exactly as the browser sends it in Origin) to the app's allowed_origins (admin API PATCH /admin/v1/apps/{client_id} or grantd app update CLIENT_ID --allowed-origin ORIGIN), register a redirect URI on that origin for a browser app, or have the operator add it to cors.allowed_origins.";
    WsNotConfigured = "GRD-600", NotFound, 404,
        "No WebSocket gateway configured",
        "POST /restapi/oauth/wstoken gives a short-lived token for the platform's WebSocket gateway (the RingCentral SDKs' WebSocket subscriptions ask for one), together with the gateway's URI. This grantd has no gateway URI configured, so it cannot say where to connect.",
        "Operators: set ws.uri (--ws-uri, GRANTD_WS_URI, or uri under [ws] in the config file) to the gateway's wss:// URI. Developers: use webhook subscriptions instead, or ask the operator to configure the gateway.";
    AccessTokenSentTwice = "GRD-142", InvalidRequest, 400,
        "Access token sent twice",
        "The request carries an access token both in the Authorization header and in the access_token query parameter. RFC 6750 §2 allows a client one way of sending the token per request, so grantd does not guess which one is meant. grantd's API resources accept RingCentral's documented ?access_token= only for links that cannot carry a header (the JS SDK's signUrl()), and answer it with a Deprecation header.",
        "Send the token once, in Authorization: Bearer, and remove access_token from the URL.";
    InteropScopeMissing = "GRD-601", InsufficientScope, 403,
        "Interoperability permission missing",
        "POST /restapi/v1.0/interop/generate-code lets an app that holds a user's token mint an authorization code for another app of the same account (RingCentral's cross-app sign-in). The token presented does not carry the Interoperability permission, so it may not.",
        "Add Interoperability to the calling app's scopes (admin API PATCH /admin/v1/apps/{client_id}), then sign the user in again so the new token carries it.";
    InteropTargetUnknown = "GRD-602", InvalidRequest, 400,
        "No such app for cross-app sign-in",
        "The clientId sent to generate-code names no app of the calling app's account (apps of other accounts are answered alike), or a private app the user's account may not use.",
        "Send the client id of an app registered in the same account as the calling app (GET /admin/v1/apps lists them).";
    InteropTargetTakesNoCode = "GRD-603", UnauthorizedClient, 400,
        "The target app takes no authorization code",
        "An authorization code is exchanged by its app at the token endpoint with grant_type=authorization_code, and sent to one of its redirect URIs. The target app is not enabled for authorization_code or has no redirect URI.",
        "Enable authorization_code for the target app (a server-web, browser, desktop or mobile app) and register a redirect URI.";
    AdminCrossOrigin = "GRD-141", InvalidRequest, 403,
        "Admin API called from a web page",
        "The admin API was called with an Origin header from another origin: a web page tried to use it. The admin token would give that page the whole server, so the admin API never answers cross-origin requests, whatever the origin.",
        "Call the admin API from a server, a script or the CLI (grantd app …), never from a page's JavaScript. Same-origin pages served by grantd itself are not affected.";

    // --- Client assertions (private_key_jwt, RFC 7523 §2.2, §3) ---------------------
    ClientAssertionTypeUnsupported = "GRD-640", InvalidClient, 401,
        "Unsupported client_assertion_type",
        "The request authenticates the client with a client assertion (RFC 7521 §4.2), but client_assertion_type names a kind of assertion grantd does not take. grantd takes JWT client assertions only.",
        "Send client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and the signed JWT in client_assertion.";
    ClientAssertionIncomplete = "GRD-641", InvalidRequest, 400,
        "client_assertion and client_assertion_type go together",
        "A client assertion is sent as two parameters (RFC 7521 §4.2): client_assertion_type says what kind it is and client_assertion carries it. The request sent one without the other.",
        "Send both: client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and client_assertion=<the signed JWT>.";
    ClientAssertionWithOtherAuth = "GRD-642", InvalidRequest, 400,
        "Client assertion combined with another client authentication",
        "The request authenticates the client with a client assertion and also with an Authorization header or a client_secret. RFC 6749 §2.3 allows exactly one method per request, so grantd does not guess which one is meant.",
        "Keep the client assertion and remove the Authorization header and client_secret (or drop the assertion and use the secret).";
    ClientAssertionMalformed = "GRD-643", InvalidClient, 401,
        "Client assertion is not a readable JWT",
        "client_assertion must be a signed JWT (three base64url parts separated by dots, the first two JSON objects). The value sent cannot be read as one, for the reason given in the description.",
        "Send the JWT exactly as your library produced it (header.payload.signature), form-encoded once.";
    ClientAssertionWrongIssuer = "GRD-644", InvalidClient, 401,
        "Client assertion's iss or sub is not the client id",
        "A client assertion is issued by the app about itself (RFC 7523 §3): both iss and sub must be the app's client id, and a client_id sent in the body must be the same.",
        "Set iss and sub to the app's client id (and send the same client_id in the body, or none).";
    ClientAssertionWrongAudience = "GRD-645", InvalidClient, 401,
        "Client assertion is meant for another server",
        "The assertion's aud must name this server (RFC 7523 §3): its token endpoint URL or its issuer. It names neither, so the assertion may have been made for another server and replayed here.",
        "Set aud to the token endpoint URL shown in the description (or to the issuer from /.well-known/openid-configuration).";
    ClientAssertionExpired = "GRD-646", InvalidClient, 401,
        "Client assertion expired",
        "The assertion's exp is in the past (beyond the allowed clock leeway). Client assertions are short-lived and made fresh for each request.",
        "Make a new assertion for each request with exp a minute or so ahead, and check the clock of the machine that signs it.";
    ClientAssertionTooLong = "GRD-647", InvalidClient, 401,
        "Client assertion lives too long",
        "The assertion's exp is further in the future than grantd accepts. A client assertion is single-use and remembered until it expires, so a long-lived one is refused rather than kept for days.",
        "Set exp at most the number of seconds ahead shown in the description (a minute or so is usual).";
    ClientAssertionJtiMissing = "GRD-648", InvalidClient, 401,
        "Client assertion has no jti",
        "grantd requires a jti (a unique id) in every client assertion (RFC 7523 §3, OIDC Core §9), so that an assertion can be used only once.",
        "Put a fresh random value (a UUID, for instance) in jti each time you make an assertion.";
    ClientAssertionReplayed = "GRD-649", InvalidClient, 401,
        "Client assertion already used",
        "An assertion with this jti was already used by this app and has not expired: a client assertion is good for one request. Using it again looks like a replay by someone who captured it.",
        "Make a new assertion, with a new jti, for each request.";
    ClientAssertionNoKeys = "GRD-650", InvalidClient, 401,
        "App has no keys for client assertions",
        "The app authenticated with a private_key_jwt client assertion, but no JSON Web Key Set is registered for it (neither inline, jwks, nor by URL, jwks_uri), so grantd has no public key to check the signature with.",
        "Register the app's public keys: admin API PATCH /admin/v1/apps/{client_id} with {\"jwks\": {\"keys\": [...]}} or {\"jwks_uri\": \"https://…\"}, or grantd app update CLIENT_ID --jwks-file FILE (or --jwks-uri URL). Or authenticate with the client secret.";
    ClientAssertionUnknownKey = "GRD-651", InvalidClient, 401,
        "Client assertion signed by an unregistered key",
        "The assertion's kid names no key in the app's registered key set, or it has no kid and the set holds more than one key, so grantd cannot tell which key signed it.",
        "Put the kid of one of the registered keys in the JWT header, or register the key you sign with in the app's jwks.";
    ClientAssertionAlgorithm = "GRD-652", InvalidClient, 401,
        "Client assertion algorithm not accepted",
        "A private_key_jwt assertion must be signed with an asymmetric algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA) that matches the registered key. 'none' is never accepted.",
        "Sign the assertion with the private key of a registered key, with an algorithm from token_endpoint_auth_signing_alg_values_supported.";
    ClientAssertionBadSignature = "GRD-653", InvalidClient, 401,
        "Client assertion signature invalid",
        "The assertion's signature does not verify with the registered key it names: it was signed with another key or changed after signing.",
        "Sign with the private key matching the registered public key (same kid), and send the JWT unchanged.";
    ClientSecretJwtUnsupported = "GRD-654", InvalidClient, 401,
        "client_secret_jwt is not supported",
        "The assertion is signed with an HMAC algorithm (HS256, HS384, HS512): client_secret_jwt, keyed with the client secret. grantd stores only a hash of each client secret, never the secret itself, so it cannot check an HMAC made with it.",
        "Use private_key_jwt: register the app's public key (jwks) and sign the assertion with the private key (RS256 or ES256), or send the client secret with Authorization: Basic.";
    ClientAssertionExpMissing = "GRD-655", InvalidClient, 401,
        "Client assertion has no exp",
        "A client assertion must say when it expires (exp, RFC 7523 §3), so that it cannot be used forever.",
        "Set exp to a minute or so after the time you make the assertion.";
    ClientAssertionNotYetValid = "GRD-656", InvalidClient, 401,
        "Client assertion not yet valid",
        "The assertion's nbf or iat is in the future (beyond the allowed clock leeway): the clock of the machine that made it is ahead.",
        "Correct the clock of the machine that signs the assertion (use NTP).";
    JwksWithJwksUri = "GRD-657", InvalidRequest, 400,
        "jwks and jwks_uri together",
        "An app registers its private_key_jwt keys one way: inline (jwks) or at a URL grantd fetches them from (jwks_uri, RFC 7591 §2). The request would leave the app with both, and grantd would not know which set is meant.",
        "Send one of them, and null for the other to remove it: {\"jwks_uri\": \"https://…\", \"jwks\": null} (CLI: --jwks-uri URL --no-jwks, or --jwks-file FILE --no-jwks-uri).";
    JwksUriInvalid = "GRD-658", InvalidRequest, 400,
        "jwks_uri not accepted",
        "jwks_uri must be an absolute https URL without a fragment, at most 2000 characters: the keys that authenticate the app must not be readable or changeable on the way. http is accepted only for a loopback host (127.0.0.1, ::1, localhost), for development and tests.",
        "Publish the key set at an https URL and register that URL (for example https://app.example.com/.well-known/jwks.json).";
    KeySetUnreachable = "GRD-659", InvalidClient, 401,
        "App's jwks_uri unreachable",
        "The app authenticates with private_key_jwt and its keys are at its jwks_uri, but grantd could not connect to it (the host is unknown, refuses the connection, or its TLS certificate is not valid). A failure is remembered for a few seconds, so a dead URL is not asked again for every request.",
        "Make the jwks_uri reachable from grantd's host over https with a certificate from a public CA (curl the URL from there), or register the keys inline (jwks).";
    KeySetTimeout = "GRD-660", InvalidClient, 401,
        "App's jwks_uri did not answer in time",
        "grantd asked the app's jwks_uri for its keys, and the answer had not fully arrived within the time limit given in the description. grantd waits no longer, so that a slow key server cannot hold up client authentication.",
        "Serve the key set quickly (a static file or a CDN), or register the keys inline (jwks).";
    KeySetStatus = "GRD-661", InvalidClient, 401,
        "App's jwks_uri answered with an error status",
        "grantd fetched the app's jwks_uri and got an HTTP status other than 200 OK, so it has no keys to check the client assertion with.",
        "Serve the key set at the registered URL with 200 OK (check the path), or register the URL where it is served.";
    KeySetRedirect = "GRD-662", InvalidClient, 401,
        "App's jwks_uri redirects where grantd does not follow",
        "grantd follows at most a few redirects from a jwks_uri, and only to https URLs (http only from and to a loopback host): keys fetched over plain http could have been swapped on the way.",
        "Register the final https URL of the key set as jwks_uri, so no redirect is needed.";
    KeySetTooBig = "GRD-663", InvalidClient, 401,
        "App's key set too big",
        "The document at the app's jwks_uri is larger than grantd reads. A key set of a few public keys is a few kilobytes; a larger answer is not a key set or is padded.",
        "Serve only the public keys in use (at most 20) at the jwks_uri.";
    KeySetNotJwks = "GRD-664", InvalidClient, 401,
        "App's jwks_uri does not serve a JSON Web Key Set",
        "The body at the app's jwks_uri is not a JSON Web Key Set (RFC 7517 §5: a JSON object with a \"keys\" array of JWKs), for the reason given in the description.",
        "Serve {\"keys\": [ …public JWKs… ]} as JSON at the jwks_uri (a page, a PEM file or a single JWK is not a key set).";
    KeySetInvalid = "GRD-665", InvalidClient, 401,
        "App's key set has a key grantd cannot use",
        "The JSON Web Key Set at the app's jwks_uri breaks a rule every private_key_jwt key set must follow: public asymmetric keys (RSA, EC, OKP) only, each readable, kids unique, a kid on every key when there are several, at most 20 keys. The description says which.",
        "Correct the key set served at the jwks_uri as the description says.";
    KeySetUnknownKey = "GRD-666", InvalidClient, 401,
        "Client assertion's key not at the app's jwks_uri",
        "The assertion's kid names no key in the set at the app's jwks_uri, even after grantd fetched the set again (it does so at most every 30 seconds, for key rotation), or the assertion has no kid and the set holds more than one key.",
        "Publish the new public key at the jwks_uri before signing with it (and keep the old one until no assertion uses it), and put its kid in the JWT header.";

    // --- Who the client is -------------------------------------------------------
    ClientAuthMissing = "OAU-123", InvalidClient, 401,
        "Client authentication required",
        "The request did not authenticate the app. A confidential app (server-web, server-only) proves itself with its client secret on every token, revocation and introspection request; a public app names itself with client_id.",
        "Send the header Authorization: Basic base64(client_id:client_secret), i.e. the client id, a colon and the client secret, base64-encoded (curl -u CLIENT_ID:CLIENT_SECRET does this). Public apps may instead send client_id in the body.";
    AuthHeaderMalformed = "OAU-134", InvalidClient, 401,
        "Invalid Authorization header",
        "The Authorization header could not be read as HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617), for the reason given in the description.",
        "Build the header as: Authorization: Basic <base64 of client_id:client_secret>. The scheme is Basic, followed by one space and standard base64 (with padding) of the id, a colon and the secret.";
    ClientUnknown = "OAU-153", InvalidClient, 401,
        "Invalid client",
        "No app with this client id is registered on this server. The usual causes are a client id from another environment (sandbox versus production), a deleted app, or a typing error.",
        "Copy the client id from the app's page in the developer console (or grantd app list) of the server you are calling.";
    ClientSecretWrong = "OAU-146", InvalidClient, 401,
        "Invalid client credentials",
        "The client secret does not match the app's current secret. Secrets are shown once, when the app is created or the secret rotated; an old secret stops working at rotation.",
        "Use the app's current client secret, or rotate it (grantd app rotate-secret CLIENT_ID) and update your configuration.";
    ClientIdMismatch = "GRD-201", InvalidClient, 401,
        "Client ids disagree",
        "The client id in the Authorization header and the client_id in the body name different apps. grantd cannot tell which app is asking.",
        "Send the same client id in both places, or drop client_id from the body.";
    MultipleClientAuth = "GRD-202", InvalidRequest, 400,
        "More than one client authentication method",
        "The request authenticates the client in more than one way (an Authorization header and client_secret in the body). RFC 6749 §2.3 allows exactly one.",
        "Keep the Authorization: Basic header and remove client_secret from the body (or the reverse).";
    SecretRequired = "GRD-203", InvalidClient, 401,
        "Confidential app sent no secret",
        "The app is confidential (its platform type holds a client secret), but the request carried only its client id.",
        "Authenticate with Authorization: Basic base64(client_id:client_secret).";

    PublicAppSentSecret = "GRD-114", InvalidClient, 401,
        "Public app sent a client secret",
        "The app is public (browser, desktop, mobile or device): it has no client secret, because an app that runs on the user's machine cannot keep one. The request nevertheless carried a secret, which grantd refuses rather than ignore: it is a sign that the wrong app or the wrong credentials are configured.",
        "Send no secret: client_id alone in the body, or Authorization: Basic base64(client_id:) with nothing after the colon. If the app should hold a secret, register it with a confidential platform type (server-web, server-only).";
    AssertionAlgorithm = "GRD-115", InvalidGrant, 400,
        "JWT credential not signed by grantd's algorithms",
        "The assertion's header names an algorithm grantd never signs credentials with: alg none (an unsigned JWT, never accepted, RFC 8725 §3.1), or an HMAC or other algorithm. grantd's JWT credentials are signed with ES256, EdDSA or RS256 by one of its own keys.",
        "Send the JWT credential exactly as grantd issued it (POST /admin/v1/users/{id}/jwt-credentials or grantd jwt create); do not build or re-sign it yourself.";
    CodeVerifierMalformed = "GRD-116", InvalidRequest, 400,
        "Malformed code_verifier",
        "RFC 7636 §4.1 requires a code_verifier of 43 to 128 characters, each one of A–Z, a–z, 0–9 and the four characters - . _ ~. This one is not, so grantd refuses it before comparing it with the challenge, even if its hash would match.",
        "Create the verifier as 32 random bytes encoded with base64url without padding (43 characters), and send it unchanged; the description names what is wrong with this one.";
    RefreshScopeTooWide = "GRD-117", InvalidScope, 400,
        "Refresh asked for more than the session was granted",
        "A refresh may keep or narrow the scope of the session, never widen it (RFC 6749 §6). The scope asked includes a scope the session was not granted (the app may have it; the user never granted it to this session), or one the app has lost since.",
        "Refresh without scope, or with scopes of the session (listed in the description). To get a scope the session lacks, start a new grant that asks for it (sign the user in again).";
    NotARefreshToken = "GRD-118", InvalidGrant, 400,
        "Not a refresh token",
        "The refresh_token parameter carries another of grantd's tokens: an access token, an ID token or a JWT credential. Each is used in its own place; only the refresh_token of a token response refreshes a session.",
        "Send the refresh_token field of the last token response (not access_token or id_token). If the app was given no refresh token, it is not set up for refresh (see GRD-330).";

    // --- The grant (the seed's first cause) ---------------------------------------
    UnsupportedGrantType = "OAU-250", UnsupportedGrantType, 400,
        "Unsupported grant type",
        "The grant_type value is not one this server implements. The usual causes are a typing error, a grant name from another product, or the short name of a grant where the full URN is required (JWT bearer).",
        "Use one of the grant_type values listed in the description (and in grant_types_supported of /.well-known/oauth-authorization-server).";
    GrantNotEnabled = "OAU-251", UnauthorizedClient, 400,
        "Unauthorized for this grant type",
        "The grant is one grantd supports, but this app is not enabled for it. Which grants an app may use depends on its platform type: server-web apps use the authorization code flow, server-only apps JWT bearer or client credentials, desktop and mobile apps authorization code with PKCE (and the legacy password grant), browser apps authorization code with PKCE, device apps (and desktop apps that opt in) the device flow.",
        "Use a grant the app is enabled for (the description lists them), or enable this grant in the app's settings (grantd app update CLIENT_ID --grants ...). If its platform type cannot have the grant, register a new app with a platform type that can.";
    ScopeNotPermitted = "GRD-301", InvalidScope, 400,
        "Scope not permitted for this app",
        "The request asked for a scope that the app has not been granted.",
        "Ask only for scopes in the app's permissions (listed in the description), or add the scope to the app's permissions.";
    ScopeMalformed = "GRD-302", InvalidScope, 400,
        "Malformed scope",
        "The scope parameter is not a space-separated list of scope names (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes).",
        "Send scope names separated by single spaces (form-encoded as + or %20), e.g. scope=ReadAccounts+SMS.";

    LegacyGrantRetired = "GRD-304", UnsupportedGrantType, 400,
        "Legacy grant retired",
        "The grant is a legacy one (the password grant, RFC 6749 §4.3, or the implicit flow, §4.2) that RFC 9700 deprecates, and this server's policy retired it on the date in the description. It is no longer accepted from any app.",
        "Move to the replacement named in the description: the JWT flow (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with a JWT credential) for server-side apps without a user present, or the authorization code flow with PKCE for apps where a user signs in.";

    // --- The password grant and users ---------------------------------------------
    InvalidUserCredentials = "OAU-140", InvalidGrant, 400,
        "Invalid resource owner credentials",
        "The username and password do not match a user who may sign in. The username is the user's email, or their E.164 phone number with the extension as +16505550100*101 or in a separate extension parameter. For safety, grantd does not say which part was wrong.",
        "Check the username (email, or phone with extension), the extension and the password. After repeated failures the user is locked for a while (OAU-147).";
    UserLocked = "OAU-147", InvalidGrant, 400,
        "Account locked after failed logins",
        "Too many wrong passwords were tried for this user within a short window, so password sign-in is paused until the time in the description.",
        "Wait until the lock ends, then sign in with the right password. Operators can change the threshold and duration (lockout settings).";
    UserDisabled = "GRD-320", InvalidGrant, 400,
        "User disabled",
        "The user exists but is disabled, so no token can be issued for them.",
        "Ask an administrator of the account to enable the user.";

    UserOtherAccount = "GRD-321", InvalidGrant, 400,
        "User not allowed for this private app",
        "The app is private: only users of the account that owns it may sign in to it. This user belongs to another account.",
        "Sign in with a user of the app's own account, or make the app public (distribution: public) if users of other accounts should use it.";

    // --- The JWT bearer grant (RFC 7523) -------------------------------------------
    AssertionNotJwt = "GRD-310", InvalidGrant, 400,
        "Assertion is not a JWT",
        "The assertion parameter must be a JWT credential: three base64url parts separated by dots, as issued by grantd (POST /admin/v1/users/{id}/jwt-credentials or grantd jwt create).",
        "Send the JWT credential itself in assertion, unmodified (no quotes, no 'Bearer ' prefix, no line breaks).";
    AssertionWrongKind = "GRD-311", InvalidGrant, 400,
        "Assertion is a token, not a JWT credential",
        "The assertion is a JWT of another kind (an access token or an ID token), not a JWT credential.",
        "Send the JWT credential created for the user, not a token issued by the token endpoint.";
    AssertionForeignIssuer = "GRD-312", InvalidGrant, 400,
        "JWT credential from another issuer",
        "The JWT credential was issued by another authorization server (its iss is not this server's issuer): usually a credential from another environment, such as sandbox versus production.",
        "Create a JWT credential on this server and use it, or call the token endpoint of the server that issued the credential.";
    AssertionUnknownKey = "GRD-313", InvalidGrant, 400,
        "JWT credential signed by an unknown key",
        "The credential names this server as issuer but is signed with a key that is not among this server's signing keys (it was removed long after rotation, or the data directory was replaced).",
        "Create a new JWT credential for the user.";
    AssertionBadSignature = "GRD-314", InvalidGrant, 400,
        "JWT credential signature invalid",
        "The credential's signature does not verify: it was modified after it was issued.",
        "Use the credential exactly as it was issued, or create a new one.";
    AssertionWrongAudience = "GRD-315", InvalidGrant, 400,
        "JWT credential for another token endpoint",
        "The credential's aud is not this server's token endpoint.",
        "Use a credential created on this server (its aud is this server's token endpoint URL).";
    AssertionExpired = "GRD-316", InvalidGrant, 400,
        "JWT credential expired",
        "The JWT credential's expiry (exp) has passed.",
        "Create a new JWT credential for the user (optionally without an expiry) and update the app's configuration.";
    AssertionNotYetValid = "GRD-317", InvalidGrant, 400,
        "JWT credential not yet valid",
        "The credential's nbf or iat lies in the future beyond the allowed clock skew: the clocks of the issuing and receiving servers disagree, or the credential was built by hand.",
        "Check the system clock; use a credential issued by this server.";
    AssertionRevoked = "GRD-318", InvalidGrant, 400,
        "JWT credential revoked",
        "The JWT credential was revoked (or deleted) and can no longer be exchanged for tokens.",
        "Create a new JWT credential for the user and update the app's configuration.";
    AssertionAppNotAllowed = "GRD-319", InvalidGrant, 400,
        "JWT credential not allowed for this app",
        "The JWT credential is restricted to certain apps (or to the apps of the user's account), and the app making this request is not one of them.",
        "Use the credential with an app it allows, or create a credential that allows this app.";

    // --- Refresh tokens and sessions --------------------------------------------------
    RefreshNotIssued = "GRD-330", UnauthorizedClient, 400,
        "App does not use refresh tokens",
        "The app is not set up to issue refresh tokens, so it has none to refresh with. In the RingCentral console this is the 'Issue refresh tokens' setting, off by default.",
        "Enable refresh tokens for the app (grantd app update CLIENT_ID --grants …,refresh_token --issue-refresh-tokens true), then sign in again to get a refresh token. Or get a new access token with the app's grant when the old one expires.";
    RefreshUnknown = "OAU-213", InvalidGrant, 400,
        "Token not found",
        "No refresh token with this value exists: it was never issued by this server, it was purged after it expired, or it was mistyped. A frequent cause is a second process or instance that refreshed and stored a newer token, so the one in hand is stale.",
        "Use the most recent refresh token. When several processes share a session, share the token store too, and refresh in one place.";
    RefreshExpired = "OAU-210", InvalidGrant, 400,
        "Refresh token expired",
        "The refresh token's lifetime has passed (by default 7 days after it was issued).",
        "Sign the user in again (JWT flow or authorization code flow) to start a new session. Refresh before the expiry given in refresh_token_expires_in.";
    SessionEnded = "OAU-211", InvalidGrant, 400,
        "Token revoked",
        "The token belongs to a session that has ended: one of its tokens was revoked (logout), the user signed in too many times to this app (the oldest session ends), the session was ended for refresh-token reuse, or the user was disabled.",
        "Sign the user in again to start a new session.";
    RefreshReused = "GRD-331", InvalidGrant, 400,
        "Refresh token reused: session ended",
        "A refresh token that had already been exchanged was presented again after its grace window. That is how a stolen refresh token shows itself (RFC 9700 §4.14.2), so grantd ended the whole session and every token of it.",
        "Sign the user in again. Keep only the newest refresh token after each refresh, and make sure two processes do not refresh the same session (or retry within the grace window, which returns the same new pair).";
    RefreshOtherClient = "GRD-332", InvalidGrant, 400,
        "Refresh token issued to another app",
        "The refresh token was issued to a different app than the one authenticating this request.",
        "Refresh with the credentials of the app the token was issued to.";

    // --- Bearer tokens at the API -------------------------------------------------------
    BearerMissing = "GRD-340", InvalidToken, 401,
        "Access token required",
        "This API needs an access token in the Authorization header.",
        "Send Authorization: Bearer <access_token>, with an access token from the token endpoint.";
    AccessTokenExpired = "OAU-128", InvalidToken, 401,
        "Access token expired",
        "The access token's lifetime has passed.",
        "Refresh it with the refresh token (grant_type=refresh_token), or get a new one.";
    AccessTokenCorrupted = "OAU-129", InvalidToken, 401,
        "Access token corrupted",
        "The access token's signature does not verify, or it was not issued by this server.",
        "Send the access token exactly as the token endpoint returned it.";
    AccessTokenUnparsable = "OAU-149", InvalidToken, 401,
        "Unparsable access token",
        "The bearer value is not an access token this server issued.",
        "Send the access_token field of a token response, without quotes or extra characters.";
    AccessTokenRevoked = "GRD-341", InvalidToken, 401,
        "Access token revoked",
        "The access token was revoked, replaced by a refresh, or its session ended.",
        "Use the newest access token of the session, or sign in again.";
    NoUserInToken = "GRD-343", InsufficientScope, 403,
        "Token has no user",
        "This API answers for the user the token was issued to, but the token was issued to the app itself (client_credentials) and has no user.",
        "Get a token for a user (JWT flow, authorization code flow) to call this API.";
    CredentialAsBearer = "GRD-342", InvalidToken, 401,
        "JWT credential sent as an access token",
        "The bearer value is a JWT credential. A JWT credential is not an access token: it is exchanged for one at the token endpoint (the seed's 'wrong endpoint' mistake, the other way round).",
        "POST grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<the JWT credential> to the token endpoint with the app's Basic credentials, and send the access_token of the answer as the bearer token.";

    // --- The authorization endpoint and codes (RFC 6749 §4.1, RFC 7636) -------------
    CodeAtAuthorizeEndpoint = "GRD-350", InvalidRequest, 400,
        "Code exchange sent to the authorization endpoint",
        "A token request (grant_type, or a code without response_type) was sent to the authorization endpoint. The authorization endpoint is where the user's browser goes to sign in; the code it returns is exchanged for tokens at the token endpoint (RFC 6749 §4.1.3).",
        "POST grant_type=authorization_code&code=…&redirect_uri=…&code_verifier=… to the token endpoint named in the description, form-encoded, with the app's Basic credentials (or client_id for public apps).";
    NoRedirectUriRegistered = "OAU-113", InvalidRequest, 400,
        "No redirect URI registered",
        "The app has no redirect URI, so the authorization endpoint has nowhere to send the user back to.",
        "Register the app's redirect URI (grantd app update CLIENT_ID --redirect-uri https://…/callback), exactly as the app will send it.";
    RedirectUriNotRegistered = "GRD-351", InvalidRequest, 400,
        "Redirect URI not registered",
        "The redirect_uri does not exactly match any of the app's registered redirect URIs. grantd compares them character for character (RFC 9700 §4.1.1); only loopback URIs may differ in port (RFC 8252 §7.3). The user is not sent back to an unregistered URI, so this is shown as a page.",
        "Send one of the registered redirect URIs exactly (scheme, host, port, path, trailing slash), or register the one you send.";
    RedirectUriRequired = "GRD-352", InvalidRequest, 400,
        "redirect_uri required",
        "The app has several registered redirect URIs, so the request must say which one to use.",
        "Add redirect_uri with one of the registered URIs to the authorization request (and send the same value at the token endpoint).";
    UnsupportedResponseType = "GRD-353", UnsupportedResponseType, 400,
        "Unsupported response type",
        "The response_type is missing or not one this server supports: code (the authorization code flow), or token (the legacy implicit flow, where allowed).",
        "Use response_type=code, with PKCE (code_challenge and code_challenge_method=S256).";
    ResponseTypeNotAllowed = "OAU-112", UnauthorizedClient, 400,
        "Client unauthorized for this response type",
        "The app may not use this response type: the authorization code flow needs the authorization_code grant; the implicit flow (response_type=token) needs a browser app with the implicit grant enabled, while the operator's policy still allows it.",
        "Use response_type=code with PKCE, which every app with a user interface can use; enable the authorization_code grant for the app if it is missing.";
    PkceRequired = "GRD-354", InvalidRequest, 400,
        "PKCE required",
        "The app is public (browser, desktop or mobile) and cannot keep a secret, so it must prove with PKCE that the code exchange comes from the same client that started the flow (RFC 7636, RFC 9700 §2.1.1).",
        "Create a random code_verifier (43–128 characters), send code_challenge=BASE64URL(SHA256(code_verifier)) and code_challenge_method=S256 to the authorization endpoint, and the code_verifier to the token endpoint.";
    PkceMethodRefused = "GRD-355", InvalidRequest, 400,
        "PKCE method not allowed",
        "The code_challenge_method is plain (or was left out, which means plain), and this app accepts only S256. plain gives no protection if the challenge leaks.",
        "Send code_challenge_method=S256 with code_challenge=BASE64URL(SHA256(code_verifier)). An operator can allow plain for an app that cannot do SHA-256 (allow_plain_pkce).";
    PkceChallengeInvalid = "GRD-356", InvalidRequest, 400,
        "Invalid code_challenge",
        "The code_challenge does not have the form RFC 7636 requires: for S256, 43 base64url characters (a SHA-256 digest); for plain, 43–128 characters of A–Z, a–z, 0–9 and -._~.",
        "Compute code_challenge = BASE64URL-NOPAD(SHA256(ASCII(code_verifier))).";
    AccessDeniedByUser = "GRD-357", AccessDenied, 400,
        "The user denied access",
        "The user declined the app's request on the consent page.",
        "Nothing is wrong with the request. The app can explain why it needs access and ask again.";
    AccountNotAllowed = "GRD-358", AccessDenied, 400,
        "User's account may not use this private app",
        "The app is private: only users of the account that owns it may sign in. The user who signed in belongs to another account.",
        "Sign in with a user of the app's account, or make the app public if other accounts should use it.";
    LoginRequired = "GRD-359", LoginRequired, 400,
        "Sign-in required",
        "The request had prompt=none, but no user is signed in to grantd in this browser, so the user would have to see a page.",
        "Send the user to the authorization endpoint without prompt=none, so they can sign in.";
    ConsentRequired = "GRD-360", ConsentRequired, 400,
        "Consent required",
        "The request had prompt=none, but the user has not yet granted this app the scopes asked, so they would have to see the consent page.",
        "Send the user to the authorization endpoint without prompt=none, so they can consent.";
    CodeInvalid = "OAU-106", InvalidGrant, 400,
        "Invalid authorization code",
        "The code is not one this server issued (it was mistyped, truncated, or URL-decoded twice).",
        "Send the code parameter of the redirect exactly as received, once.";
    CodeExpired = "OAU-108", InvalidGrant, 400,
        "Authorization code expired",
        "Authorization codes live 60 seconds; this one is older.",
        "Exchange the code as soon as the redirect arrives; start the flow again to get a new one.";
    CodeOtherClient = "OAU-110", InvalidGrant, 400,
        "Authorization code was not issued for this app",
        "The code was issued to another app than the one authenticating the token request.",
        "Exchange the code with the credentials of the app that started the flow (the client_id sent to the authorization endpoint).";
    CodeReplayed = "GRD-361", InvalidGrant, 400,
        "Authorization code already used",
        "The code was exchanged before. Codes are single-use (RFC 6749 §4.1.2); a second use can mean the code was intercepted, so grantd revoked every token issued from the first exchange (RFC 9700 §4.2.4).",
        "Exchange each code once. If your client retries token requests, do not retry a code exchange that reached the server; start the flow again.";
    RedirectUriMismatch = "OAU-109", InvalidGrant, 400,
        "Redirect URIs do not match",
        "The redirect_uri of the token request must be exactly the one sent to the authorization endpoint (RFC 6749 §4.1.3).",
        "Send the same redirect_uri, character for character, in both requests.";
    PkceVerifierMissing = "GRD-362", InvalidGrant, 400,
        "code_verifier missing",
        "The authorization request sent a code_challenge, so the token request must send the code_verifier it was made from.",
        "Add code_verifier to the token request: the random value whose S256 hash was the code_challenge. Keep it across the redirect (e.g. in the session or sessionStorage).";
    PkceVerifierMismatch = "GRD-363", InvalidGrant, 400,
        "code_verifier does not match",
        "BASE64URL(SHA256(code_verifier)) is not the code_challenge of the authorization request (or, for plain, the verifier differs).",
        "Send the code_verifier the challenge was computed from; check that the challenge was base64url without padding, and that the verifier of this flow was used (not one of another tab or attempt).";
    PkceDowngrade = "GRD-364", InvalidGrant, 400,
        "code_verifier without a code_challenge",
        "The token request sent a code_verifier, but the authorization request had no code_challenge. Accepting it would let an attacker strip PKCE from the first request (a downgrade, RFC 9700 §4.8.2).",
        "Send code_challenge and code_challenge_method=S256 in the authorization request, or no code_verifier at the token endpoint.";
    OpenIdScopeMissing = "GRD-365", InsufficientScope, 403,
        "Token lacks the openid scope",
        "The userinfo endpoint answers only for tokens issued with the openid scope (OpenID Connect Core §5.3).",
        "Ask for scope=openid (and profile, email as needed) in the authorization request.";

    // --- The device authorization grant (RFC 8628) ---------------------------------
    DevicePending = "GRD-370", AuthorizationPending, 400,
        "Authorization pending",
        "The user has not yet approved or denied the device on the verification page. This is the normal answer while the device waits (RFC 8628 §3.5), not a failure.",
        "Keep polling the token endpoint with the same device_code, waiting the interval given in the description (the interval of the device authorization response) between polls, until the user decides or the code expires.";
    DeviceSlowDown = "GRD-371", SlowDown, 400,
        "Polling too fast",
        "The device polled again sooner than its interval allows. RFC 8628 §3.5: the interval for this device code is now 5 seconds longer, for this poll and every later one.",
        "Poll slower: wait the new interval given in the description between polls (add 5 seconds to the interval after every slow_down).";
    DeviceDenied = "GRD-372", AccessDenied, 400,
        "The user denied the device",
        "The user declined, on the verification page, to let this device access their account. The device code is finished.",
        "Stop polling. If the user wants to try again, start the flow again: a new device authorization request, and show the new user code.";
    DeviceCodeExpired = "GRD-373", ExpiredToken, 400,
        "Device code expired",
        "The device code's lifetime (expires_in of the device authorization response) passed before the user approved it and the device exchanged it.",
        "Stop polling and restart the flow: a new device authorization request, and show the user the new user code (and verification_uri_complete).";
    DeviceCodeUnknown = "GRD-374", InvalidGrant, 400,
        "Unknown device code",
        "The device_code is not one this server issued: it was mistyped or cut short, comes from another server, or was purged long after it expired.",
        "Send the device_code of the device authorization response exactly as received, or start the flow again.";
    DeviceCodeOtherClient = "GRD-375", InvalidGrant, 400,
        "Device code issued to another app",
        "The device code was issued to a different app than the one authenticating this token request.",
        "Poll with the client_id of the app that made the device authorization request.";
    DeviceCodeUsed = "GRD-376", InvalidGrant, 400,
        "Device code already used",
        "The device code was already exchanged for tokens. A device code is single-use: once the device has its tokens, it refreshes them (refresh_token grant) instead of polling again.",
        "Use the tokens of the first exchange. To sign in again, start the flow again with a new device authorization request.";
    UserCodeUnknown = "GRD-377", InvalidRequest, 400,
        "Code not recognised",
        "The code typed on the verification page is not the code of any device waiting for approval (or is not a code at all: codes are 10 letters, consonants only, such as BCDFG-HJKLM). Wrong codes count towards the failure limit of the address, so codes cannot be guessed.",
        "Type the code exactly as the device shows it (case and dashes do not matter). If the device shows no code or a new one, use that; if it keeps failing, start again on the device.";
    UserCodeExpired = "GRD-378", InvalidRequest, 400,
        "Code expired",
        "The code was right, but the device's request has expired (device codes live 10 minutes), so it can no longer be approved.",
        "Start again on the device: it shows a new code to type.";
    UserCodeDecided = "GRD-379", InvalidRequest, 400,
        "Code already used",
        "The device's request was already approved or denied (in this browser or another), so its code cannot be used again.",
        "Nothing to do if you decided it. If you did not, someone else used the code first: start again on the device for a new code, and never type a code that someone else sent you (RFC 8628 §5.4: device codes are a phishing lure).";

    // --- Token exchange (RFC 8693) ---------------------------------------------------
    // RFC 8693 §2.2.2: a subject or actor token that is invalid, or unacceptable
    // by policy, is `invalid_request`; a target refused is `invalid_target`.
    ExchangeTokenTypeUnsupported = "GRD-380", InvalidRequest, 400,
        "Token type not supported",
        "A token exchange names the type of each token it sends (subject_token_type, actor_token_type) and may name the type it wants (requested_token_type), as a URI of RFC 8693 §3. The value given is not one grantd takes for that parameter. grantd exchanges its own access tokens (urn:ietf:params:oauth:token-type:access_token, JWT or opaque), its ID tokens (urn:ietf:params:oauth:token-type:id_token) and any JWT it signed (urn:ietf:params:oauth:token-type:jwt: JWT access tokens, ID tokens, JWT credentials). It issues access tokens (urn:ietf:params:oauth:token-type:access_token, in the app's access token format, the default) or JWT access tokens (urn:ietf:params:oauth:token-type:jwt). SAML assertions are neither accepted nor issued.",
        "Send one of the URIs the description lists for the parameter, spelled in full.";
    ExchangeRefreshToken = "GRD-381", InvalidRequest, 400,
        "Refresh tokens are not exchanged",
        "A refresh token was sent as subject_token or actor_token, or asked for with requested_token_type. grantd neither exchanges refresh tokens nor issues one by exchange: a refresh token belongs to the app and the session it was issued to and rotates on every use (RFC 9700 §4.14), and one held by a second app would keep the user's session going without the user or the first app. An exchange issues one short-lived access token that ends with the session of the token it came from.",
        "Exchange the session's access token instead (subject_token_type=urn:ietf:params:oauth:token-type:access_token). When the exchanged token expires, exchange a current access token again; the app the session belongs to keeps it going with its refresh token.";
    ExchangeTokenTypeMismatch = "GRD-382", InvalidRequest, 400,
        "Token is not of the type named",
        "The token is one of grantd's, but of another type than its subject_token_type or actor_token_type says: for example an access token sent as an ID token, an opaque access token sent as a JWT, or a JWT credential sent as an access token.",
        "Name the token's real type: urn:ietf:params:oauth:token-type:access_token for access tokens (JWT or opaque), urn:ietf:params:oauth:token-type:id_token for ID tokens, urn:ietf:params:oauth:token-type:jwt for any JWT grantd signed (access token, ID token, JWT credential).";
    ExchangeTokenInvalid = "GRD-383", InvalidRequest, 400,
        "Token not issued by this server",
        "The subject_token or actor_token is not a token this server issued: not a JWT signed by one of its keys for its issuer, nor an opaque token it stores. It was altered, comes from another server or environment, or was purged after it expired.",
        "Send the token exactly as this server issued it (the access_token or id_token of a token response, or the JWT credential as created).";
    ExchangeTokenExpired = "GRD-384", InvalidRequest, 400,
        "Token expired",
        "The subject_token or actor_token is past its expiry (exp) and can no longer be exchanged. An exchanged token never outlives the tokens it came from either.",
        "Exchange a current token: refresh the access token (or sign in again) first.";
    ExchangeTokenRevoked = "GRD-385", InvalidRequest, 400,
        "Token no longer valid",
        "The subject_token or actor_token was revoked, its session ended (logout, the session cap, refresh-token reuse, a disabled user), its JWT credential was revoked, or the app it was issued to was deleted. The description says which.",
        "Sign the user in again (or get a new token for the app) and exchange the new token.";
    ExchangeNotAllowed = "GRD-386", InvalidRequest, 400,
        "Exchange not allowed by the app's policy",
        "The app may not exchange this token. An app enabled for token_exchange may exchange the tokens its policy (token_exchange.allowed_subject_apps) names the apps of; with no policy, only tokens issued to itself. A JWT credential must allow the app, as for the JWT grant. The actor_token says who acts, so it must be a token of the requesting app itself, and a delegation chain (nested act) holds at most 5 actors. The description names the rule that refused.",
        "Exchange a token the policy allows, or widen the policy: grantd app update CLIENT_ID --exchange-subject-apps OTHER_CLIENT_ID (admin API: token_exchange.allowed_subject_apps).";
    ExchangeTargetNotAllowed = "GRD-387", InvalidTarget, 400,
        "Audience not allowed",
        "audience (or resource, RFC 8707) names where the exchanged token will be used: a resource server registered in grantd (an app with resource_server: true), by its client id. Either that app is not a registered resource server, or the requesting app's policy (token_exchange.audiences) does not list it. With no policy, an exchange may issue tokens for grantd's own API only (no audience).",
        "Name a resource server the policy lists, or add it (grantd app update CLIENT_ID --exchange-audiences RESOURCE_SERVER_ID; admin API: token_exchange.audiences). Leave audience out for a token for grantd's own API.";
    TokenForOtherAudience = "GRD-388", InvalidToken, 401,
        "Access token for another API",
        "The access token was issued by token exchange for another resource server (its aud names that app), so grantd's own API does not accept it: a token is used only where its audience says (RFC 8707 §2, RFC 9068 §4).",
        "Send the token to the resource server it names, or exchange for a token without audience to call grantd's API.";
    ExchangeScopeTooWide = "GRD-389", InvalidScope, 400,
        "Scope wider than the exchange allows",
        "An exchange never widens what the subject token allowed: the new token's scope must lie within the subject token's scope (ID tokens and JWT credentials carry none, so within the app's own scopes) and within the policy's max_scope when it sets one. The description names the limit that refused and what it allows.",
        "Ask for a narrower scope, or leave scope out to get everything the limits allow; or raise the policy's max_scope (grantd app update CLIENT_ID --exchange-max-scope …).";

    // --- The admin API -----------------------------------------------------------
    AdminAuthMissing = "GRD-401", InvalidToken, 401,
        "Admin token required",
        "The admin API needs the admin token as a bearer token.",
        "Send Authorization: Bearer <admin token>. The token is GRANTD_ADMIN_TOKEN, or the one printed at grantd's first start.";
    AdminAuthWrong = "GRD-402", InvalidToken, 401,
        "Admin token not accepted",
        "The bearer token sent to the admin API is not this server's admin token.",
        "Use the admin token of this server (GRANTD_ADMIN_TOKEN, or the one printed at first start); restart with GRANTD_ADMIN_TOKEN set to choose a new one.";
    AdminBodyInvalid = "GRD-403", InvalidRequest, 400,
        "Request body is not valid JSON for this call",
        "The admin API takes a JSON body; this one could not be read, for the reason given in the description.",
        "Send Content-Type: application/json and a body with the fields documented in /admin/v1/openapi.json.";
    InvalidAppField = "GRD-410", InvalidRequest, 400,
        "Invalid app setting",
        "A field of the app is missing or has a value grantd does not accept.",
        "Correct the field named in the description; the accepted values are listed there.";
    GrantNotAllowedForPlatform = "GRD-411", InvalidRequest, 400,
        "Grant not allowed for this platform type",
        "An app's platform type decides which grants it may enable: server-web: authorization_code, refresh_token; browser: authorization_code, refresh_token, implicit (legacy); desktop: authorization_code, refresh_token, password (legacy), device_code; mobile: authorization_code, refresh_token, password (legacy); server-only: jwt_bearer, client_credentials, refresh_token, password (legacy); device: device_code, refresh_token.",
        "Enable only grants the platform type allows, or choose a platform type that allows the grant you need.";
    RedirectUriInvalid = "GRD-412", InvalidRequest, 400,
        "Invalid redirect URI",
        "Redirect URIs must be absolute URIs without a fragment and without wildcards, using https (http is allowed only for loopback addresses: 127.0.0.1, [::1], localhost), or a private-use scheme for native apps. They are compared exactly.",
        "Register the exact URI your app redirects to, e.g. https://app.example.com/oauth/callback or http://127.0.0.1:8000/callback.";
    TooManyRedirectUris = "GRD-413", InvalidRequest, 400,
        "Too many redirect URIs",
        "An app may register at most 10 redirect URIs.",
        "Remove redirect URIs the app no longer uses.";
    AppNotFound = "GRD-414", NotFound, 404,
        "App not found",
        "No app with this client id exists.",
        "List the apps with GET /admin/v1/apps or grantd app list.";
    AccountNotFound = "GRD-415", NotFound, 404,
        "Account not found",
        "No account with this id exists.",
        "Create the account first (POST /admin/v1/accounts), or omit account_id to use the default account.";

    InvalidUserField = "GRD-416", InvalidRequest, 400,
        "Invalid user setting",
        "A field of the user is missing, malformed or already taken.",
        "Correct the field named in the description.";
    UserNotFound = "GRD-417", NotFound, 404,
        "User not found",
        "No user with this id exists.",
        "List the users with grantd user list.";
    JwtCredentialNotFound = "GRD-418", NotFound, 404,
        "JWT credential not found",
        "No JWT credential with this id exists.",
        "List a user's credentials with GET /admin/v1/users/{id}/jwt-credentials.";
    ConsentNotFound = "GRD-419", NotFound, 404,
        "Consent not found",
        "The user has not granted this app anything (or the consent was already withdrawn).",
        "List the user's consents with GET /admin/v1/users/{id}/consents.";
    KeyNotFound = "GRD-420", NotFound, 404,
        "Signing key not found",
        "No signing key with this key id (kid) is published: it never existed here, or it was revoked already.",
        "List the published keys at /oauth/jwks, or with grantd keys list.";
    RejectionNotFound = "GRD-430", NotFound, 404,
        "Rejected request not found",
        "No rejected request with this request id is in the rejection log. The log keeps the last 1,000 rejections of each registered app at the OAuth endpoints; a request that named no registered app, one that succeeded, or one older than the app's last 1,000 rejections is not there.",
        "Take the request id from the X-Request-Id header (or errors[0].requestId) of an error response of the token, authorize, revoke, introspect, device authorization or userinfo endpoint, or list an app's rejections with GET /admin/v1/apps/{client_id}/rejections.";
    InvalidRejectionFilter = "GRD-431", InvalidRequest, 400,
        "Invalid rejection filter",
        "A query parameter of the rejection list is not one it takes, or its value is malformed.",
        "Filter with code (a catalog code such as OAU-251), endpoint (such as /oauth/token) and limit (1 to 1000); see the description for the parameter at fault.";

    // --- The developer console ---------------------------------------------------
    ConsoleRoleRequired = "GRD-700", AccessDenied, 403,
        "The console needs the developer or admin role",
        "The developer console (/console) is for users with the role developer or admin; the signed-in user has another role.",
        "Sign out and sign in as a developer or admin of the account, or ask an administrator to give this user the developer role (PATCH /admin/v1/users/{id} or grantd user).";
    ConsoleAppOfAnotherAccount = "GRD-701", AccessDenied, 403,
        "App of another account",
        "The console shows a user only the apps of their own account; this app belongs to another account (or does not exist).",
        "Open the app from the console's app list, or sign in as a developer of the account that owns it.";
    ConsoleAdminRequired = "GRD-702", AccessDenied, 403,
        "The page needs the admin role",
        "The console's account pages (users, every user's JWT credentials) are for administrators of the account; the signed-in user is a developer.",
        "Ask an administrator of the account to do it, or to give this user the admin role (the console's Users page, PATCH /admin/v1/users/{id} or grantd user).";
    ConsoleUserOfAnotherAccount = "GRD-703", AccessDenied, 403,
        "User of another account",
        "An administrator manages the users of their own account only; this user belongs to another account (or does not exist).",
        "Open the user from the console's Users page, or sign in as an administrator of the account the user belongs to.";
    ConsoleOwnUser = "GRD-704", InvalidRequest, 409,
        "An administrator cannot change their own access",
        "Disabling yourself or changing your own role from the console could leave the account with no administrator, and would end the session doing it. Nothing was changed.",
        "Ask another administrator of the account to do it, or use the admin API (PATCH /admin/v1/users/{id}) or grantd user.";
    ConsoleCredentialOfAnotherAccount = "GRD-705", AccessDenied, 403,
        "JWT credential of another account",
        "An administrator manages the JWT credentials of their own account's users only; this credential belongs to a user of another account (or does not exist).",
        "Open the credential from the user's page in the console (Users, then the user).";
    ConsoleAppChanged = "GRD-740", InvalidRequest, 409,
        "App changed since the form was loaded",
        "The console's app settings form carries the app's revision from when the page was loaded; the app has been changed since (by another developer, the admin API or the CLI), so saving the form would undo that change. Nothing was saved.",
        "Reload the app page to see the current settings, make the change again and save.";

    RateExceeded = "CMN-301", TemporarilyUnavailable, 429,
        "Request rate exceeded",
        "One of two limits was reached; the description says which. Failed authentications: too many requests from this address failed authentication (wrong client credentials, passwords or admin tokens) within the window, so grantd pauses them. Failures are counted per client id (or username on the sign-in form) and address: only the credentials under attack are paused for that address, other apps and users are not. A looser ceiling counts all of an address's failures, so one address cannot try unlimited identities; requests that authenticate do not count. Request quotas (RingCentral's rate-limit groups Auth, Light, Medium, Heavy, when the operator turns them on): the app has made as many requests of the group as its quota allows in the window, counted per app and user, or per app for requests without a user.",
        "Wait the number of seconds in Retry-After. After failed authentications, fix the credentials: the earlier error responses say what was wrong with them. For a quota, pace requests by the X-Rate-Limit-Remaining and X-Rate-Limit-Window headers; the operator can raise the app's quota (its rate_limits setting).";

    // --- The server --------------------------------------------------------------
    ServerError = "GRD-500", ServerError, 500,
        "Internal error",
        "grantd failed while handling the request. The details are in the server log under the request id of this response.",
        "Retry the request. If it keeps failing, give the operator the X-Request-Id header of the response.";
    PasswordChecksBusy = "GRD-502", TemporarilyUnavailable, 503,
        "Too many password checks at once",
        "Password checks are deliberately expensive (argon2id), so grantd runs only a few at a time; this one waited too long for its turn.",
        "Retry after the number of seconds in Retry-After. If this happens under normal load, the operator should add CPU or nodes.";
    StoreUnavailable = "GRD-503", TemporarilyUnavailable, 503,
        "Storage unavailable",
        "grantd could not reach its database.",
        "Retry after a short wait. Operators: check /readyz and the database.";

    // --- Pushed authorization requests (RFC 9126)
    ParRequestUriPushed = "GRD-920", InvalidRequest, 400,
        "request_uri sent to the pushed authorization request endpoint",
        "The pushed authorization request endpoint takes the authorization request's own parameters and answers a request_uri for them (RFC 9126 §2.1). A request_uri sent to it cannot be pushed again.",
        "Send response_type, redirect_uri, scope, state, code_challenge and the other parameters themselves to /oauth/par, then send the request_uri it answers with your client_id to /oauth/authorize.";
    ParClientMismatch = "GRD-921", InvalidRequest, 400,
        "client_id differs from the authenticated client",
        "The pushed request names one client_id but the request authenticated as another app (RFC 9126 §2.1: the client_id must be the authenticated client's).",
        "Send the client_id of the app whose credentials authenticate the request, or leave client_id out.";
    RequestUriMalformed = "GRD-922", InvalidRequestUri, 400,
        "request_uri is not one grantd issued",
        "grantd takes at the authorization endpoint only request_uri values it answered from its pushed authorization request endpoint: urn:ietf:params:oauth:request_uri: followed by a random reference. The value sent has another form (grantd does not fetch request objects from URLs).",
        "Push the authorization request to /oauth/par first and send the request_uri of its answer unchanged.";
    RequestUriUnknown = "GRD-923", InvalidRequestUri, 400,
        "request_uri unknown",
        "No pushed authorization request has this request_uri: it was never issued by this server, or it expired long enough ago to be deleted.",
        "Push the authorization request again (POST /oauth/par) and send the browser to the authorization endpoint with the new request_uri within its expires_in.";
    RequestUriExpired = "GRD-924", InvalidRequestUri, 400,
        "request_uri expired",
        "A pushed authorization request lives 60 seconds (its expires_in): the browser reached the authorization endpoint after that.",
        "Push the authorization request just before sending the browser to the authorization endpoint, and send it there at once.";
    RequestUriUsed = "GRD-925", InvalidRequestUri, 400,
        "request_uri already used",
        "A pushed authorization request is used once (RFC 9126 §4): this request_uri reached the authorization endpoint before. A second use is a replay, or the browser reloaded the page.",
        "Push the authorization request again for every sign-in; never reuse a request_uri.";
    RequestUriWrongClient = "GRD-926", InvalidRequestUri, 400,
        "request_uri was pushed by another app",
        "The request_uri was pushed by one app, but the authorization request names another client_id. A pushed request is bound to the app that pushed it (RFC 9126 §4).",
        "Send the client_id of the app that pushed the request with its request_uri.";
    ParRequired = "GRD-927", InvalidRequest, 400,
        "This app takes authorization requests only through PAR",
        "The app requires pushed authorization requests (its require_par setting, or its fapi2 profile): its authorization requests must be pushed to /oauth/par by the authenticated client, and the authorization endpoint then takes only client_id and the request_uri answered.",
        "Push the request to the pushed_authorization_request_endpoint of the discovery document, then send the browser to /oauth/authorize?client_id=…&request_uri=…; or turn off require_par for the app.";

    // --- JAR: signed request objects (RFC 9101)
    RequestObjectMalformed = "GRD-990", InvalidRequestObject, 400,
        "Request object is not a readable JWT",
        "The request parameter holds one signed JWT (RFC 9101 §4): three base64url parts, the header and the claims JSON objects, the claims being the authorization request's parameters (strings; max_age a number; claims an object; resource a string or an array of strings), typ oauth-authz-req+jwt or none, and no request or request_uri inside. The description says what could not be read.",
        "Sign the authorization request's parameters as a JWT with your OAuth library's request-object support (e.g. openid-client's buildAuthorizationUrlWithJAR) and send it unchanged as request.";
    RequestObjectAlg = "GRD-991", InvalidRequestObject, 400,
        "Request object unsigned or signed with an algorithm grantd does not take",
        "grantd takes only request objects signed with an asymmetric key the app registered, with an algorithm of request_object_signing_alg_values_supported (discovery): unsigned (alg none) and HMAC-signed objects are refused, since whoever reads the URL could make or replay them. The algorithm must also fit the key (an EC key signs ES256 or ES384).",
        "Sign the request object with the private key whose public half is in the app's jwks or jwks_uri, with ES256, PS256 or another listed algorithm.";
    RequestObjectNoKeys = "GRD-992", InvalidRequestObject, 400,
        "The app has no keys to verify its request object",
        "A request object is verified with the app's registered public keys (jwks or jwks_uri), and this app has none.",
        "Register the app's public key set (the console's key set field, or jwks / jwks_uri through the admin API), then sign request objects with its private key.";
    RequestObjectSignature = "GRD-993", InvalidRequestObject, 400,
        "Request object's signature does not verify",
        "The request object's signature does not verify with the app's key the description names, or its header names a kid the app did not register: it was signed with another key, or changed after signing.",
        "Sign with the private key of a registered key (its kid in the header), and send the JWT unchanged.";
    RequestObjectClaims = "GRD-994", InvalidRequestObject, 400,
        "Request object's client_id, iss or aud is wrong",
        "A request object names the client that signed it and the server it is for (RFC 9101 §4, §5, §6.3): its client_id must equal the client_id sent beside it, iss (when present) the client_id, and aud must be grantd's issuer. The description names the claim, the value sent and the value expected.",
        "Set client_id and iss to your client id and aud to the issuer of grantd's discovery document, and send the same client_id beside request.";
    RequestObjectLifetime = "GRD-995", InvalidRequestObject, 400,
        "Request object expired, not yet valid, or without exp",
        "A request object carries exp and is taken until then; nbf, when present, must have passed; and it may live at most 60 minutes from nbf (or from now) to exp (FAPI 2.0 Message Signing §5.3.1). The description gives the times.",
        "Sign a fresh request object for each authorization request, with exp a few minutes ahead, and keep the signer's clock in sync.";
    RequestObjectRequired = "GRD-996", InvalidRequest, 400,
        "This app sends authorization requests only as signed request objects",
        "The app requires signed request objects (its require_signed_request_object setting): the parameters of its authorization requests must come in a JWT signed by its key, as request at the authorization endpoint or at /oauth/par.",
        "Sign the parameters as a request object and send it as request (with client_id); or turn off require_signed_request_object for the app.";
    RequestWithRequestUri = "GRD-997", InvalidRequest, 400,
        "Both request and request_uri sent",
        "An authorization request carries its request object by value (request) or its pushed request by reference (request_uri), not both (RFC 9101 §5).",
        "Send one: the signed request object as request, or the request_uri answered by /oauth/par.";

    // --- DPoP (RFC 9449)
    DpopProofMalformed = "GRD-930", InvalidDpopProof, 400,
        "DPoP proof is not a readable JWT",
        "The DPoP header must hold one JWT (RFC 9449 §4.2): three base64url parts, the first two JSON objects. The value sent cannot be read as one, or the request carried more than one DPoP header. At a resource the answer is 401 with a DPoP challenge.",
        "Send exactly one DPoP header with a proof made for this request by your DPoP library.";
    DpopProofTyp = "GRD-931", InvalidDpopProof, 400,
        "DPoP proof's typ is not dpop+jwt",
        "A DPoP proof's header must carry typ=dpop+jwt (RFC 9449 §4.2), so that no other JWT can be presented as one.",
        "Set typ to dpop+jwt in the proof's header.";
    DpopProofAlg = "GRD-932", InvalidDpopProof, 400,
        "DPoP proof signed with an algorithm grantd does not take",
        "A DPoP proof is signed with an asymmetric algorithm listed in dpop_signing_alg_values_supported (RFC 9449 §4.2); none and HMAC algorithms are refused.",
        "Sign proofs with ES256 (or another algorithm the discovery document lists).";
    DpopProofJwk = "GRD-933", InvalidDpopProof, 400,
        "DPoP proof's jwk header is missing, private or unusable",
        "A DPoP proof carries the public key it is signed with in its jwk header (RFC 9449 §4.2); that key must be a public key of the proof's algorithm and must hold no private part.",
        "Put the public JWK of the proof's key pair (never its private part) in the jwk header.";
    DpopProofSignature = "GRD-934", InvalidDpopProof, 400,
        "DPoP proof's signature does not verify",
        "The proof's signature does not verify with the key in its jwk header: the proof was altered or signed with another key.",
        "Sign the proof with the private key whose public half is in its jwk header.";
    DpopProofHtm = "GRD-935", InvalidDpopProof, 400,
        "DPoP proof's htm is not this request's method",
        "A DPoP proof names the HTTP method of the request it is made for in htm (RFC 9449 §4.2); this one names another, so it was made for another request.",
        "Make a new proof for every request, with htm set to its method (POST for the token endpoint).";
    DpopProofHtu = "GRD-936", InvalidDpopProof, 400,
        "DPoP proof's htu is not this request's URL",
        "A DPoP proof names the URL of the request it is made for in htu (RFC 9449 §4.2), compared without query and fragment; this one names another URL.",
        "Set htu to the URL the request is sent to, as the discovery document spells it (scheme, host, path).";
    DpopProofIat = "GRD-937", InvalidDpopProof, 400,
        "DPoP proof's iat is missing or outside the accepted window",
        "A DPoP proof is accepted only shortly after it is made (RFC 9449 §11.1): its iat must be within the window shown in the description around the server's time.",
        "Make a new proof for each request, and keep the client's clock in sync (NTP); or use the server nonce to bind proofs to the server's time.";
    DpopProofJti = "GRD-938", InvalidDpopProof, 400,
        "DPoP proof has no jti",
        "Every DPoP proof carries a unique jti (RFC 9449 §4.2), by which the server refuses a proof presented twice.",
        "Give every proof a new random jti.";
    DpopProofReplayed = "GRD-939", InvalidDpopProof, 400,
        "DPoP proof used before",
        "This proof's jti was presented with the same key before (RFC 9449 §11.1): a proof is used once. A second use is a replay of a captured request, or a client that reuses proofs.",
        "Make a new proof, with a new jti, for every request, retries included.";
    DpopProofAth = "GRD-940", InvalidDpopProof, 400,
        "DPoP proof's ath does not match the access token",
        "A proof sent to a resource with an access token carries ath, the base64url SHA-256 of that access token (RFC 9449 §4.2); this one has none or another token's.",
        "Set ath to base64url(SHA-256(access token)) when calling an API with a DPoP-bound token.";
    DpopNonceRequired = "GRD-941", UseDpopNonce, 400,
        "DPoP proof needs the server's nonce",
        "grantd binds DPoP proofs to a nonce it issues (RFC 9449 §8): the proof has no nonce, or one that is no longer current. The response carries the current nonce in its DPoP-Nonce header. At a resource the answer is 401 with a DPoP challenge.",
        "Make the proof again with the nonce claim set to the DPoP-Nonce header's value and retry; DPoP libraries do this by themselves.";
    DpopRequired = "GRD-942", InvalidRequest, 400,
        "This app's tokens must be DPoP-bound",
        "The app requires DPoP (its require_dpop setting, or its fapi2 profile): every token request must carry a DPoP proof so the tokens issued are bound to the client's key.",
        "Send a DPoP header with a proof for this request (RFC 9449 §4); or turn off require_dpop for the app.";
    DpopKeyMismatch = "GRD-943", InvalidGrant, 400,
        "DPoP proof's key is not the key the grant is bound to",
        "The code (through dpop_jkt at the authorization endpoint) or the refresh token (a public client's, bound when issued) is bound to one DPoP key, and the proof is signed with another (RFC 9449 §5, §10).",
        "Sign the proof with the key the flow started with: the one whose thumbprint was sent as dpop_jkt, or the one the refresh token was first issued with.";
    DpopBoundTokenAsBearer = "GRD-944", InvalidToken, 401,
        "DPoP-bound token sent as a bearer token",
        "The access token is bound to a DPoP key (its cnf.jkt), so it is accepted only with Authorization: DPoP and a proof signed by that key (RFC 9449 §7.1), never as a bearer token.",
        "Send Authorization: DPoP <token> and a DPoP header with a proof for this request, signed with the token's key and carrying ath.";
    DpopJktInvalid = "GRD-945", InvalidRequest, 400,
        "dpop_jkt is not a JWK thumbprint",
        "dpop_jkt at the authorization endpoint is the base64url SHA-256 JWK thumbprint (RFC 7638) of the key the client will prove at the token endpoint (RFC 9449 §10): 43 base64url characters.",
        "Send the thumbprint of the DPoP public key, or leave dpop_jkt out.";
    DpopKeyNotTokenKey = "GRD-946", InvalidToken, 401,
        "DPoP proof's key is not the access token's key",
        "The access token is bound to one DPoP key (cnf.jkt) and the proof is signed with another; only the holder of the token's key may use it (RFC 9449 §7.1).",
        "Sign the proof with the key the token was issued to.";

    // --- FAPI 2.0 Security Profile
    Fapi2PkceS256 = "GRD-950", InvalidRequest, 400,
        "FAPI 2.0: PKCE with S256 is required",
        "The app follows the fapi2 profile, under which every authorization request carries a PKCE code_challenge with code_challenge_method=S256 (FAPI 2.0 Security Profile §5.3.2.2).",
        "Send code_challenge=BASE64URL(SHA-256(code_verifier)) and code_challenge_method=S256 in the pushed request.";
    Fapi2ClientAuth = "GRD-951", InvalidClient, 401,
        "FAPI 2.0: private_key_jwt client authentication is required",
        "The app follows the fapi2 profile, under which it authenticates only with a client assertion signed by one of its registered keys (private_key_jwt; FAPI 2.0 Security Profile §5.3.3.4): client secrets and public clients are refused.",
        "Authenticate with client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and a client_assertion signed by a key of the app's jwks.";
    Fapi2GrantRefused = "GRD-952", UnauthorizedClient, 400,
        "FAPI 2.0: this grant or response type is not allowed",
        "The app follows the fapi2 profile, which allows only response_type=code with PAR and the authorization_code, refresh_token and client_credentials grants (FAPI 2.0 Security Profile §5.3.2.2, §5.3.3): the implicit flow and the password grant are refused.",
        "Use the authorization code flow with PAR, PKCE S256 and DPoP.";
    Fapi2AppSettings = "GRD-953", InvalidRequest, 400,
        "FAPI 2.0: the app's settings break the profile",
        "An app with profile fapi2 must be confidential (server-web or server-only platform) and must not be enabled for the implicit or password grants; the description names the setting.",
        "Change the setting named in the description, or register the app without profile fapi2.";

    // --- OpenID Connect logout (RP-Initiated, Back-Channel) and resource indicators (RFC 8707)
    LogoutHintInvalid = "GRD-970", InvalidRequest, 400,
        "The logout request's id_token_hint is not an ID token grantd issued",
        "The id_token_hint of a logout request (OpenID Connect RP-Initiated Logout 1.0 §2) must be an ID token this grantd signed: a JWT whose signature verifies with a key of /oauth/jwks, whose iss is this issuer, and which carries the sign-in claims of an ID token. An expired ID token is accepted here; a malformed one, one signed by another server, an access token or a JWT credential is not.",
        "Send the ID token grantd issued to the app at sign-in (the id_token of the token response), unchanged, or leave id_token_hint out and send client_id.";
    LogoutHintOtherClient = "GRD-971", InvalidRequest, 400,
        "The id_token_hint was issued to another app than client_id",
        "The logout request names an app in client_id, but its id_token_hint was issued to a different app (the ID token's aud). grantd refuses it rather than guess which app asks, since the post-logout redirect is checked against that app's registration.",
        "Send the ID token issued to the app named in client_id, or send only one of them.";
    LogoutClientUnknown = "GRD-972", InvalidRequest, 400,
        "The logout request's client_id names no app",
        "The client_id of the logout request is not the client id of a registered app, so neither its post_logout_redirect_uri nor anything else of the request can be checked.",
        "Send the app's client id as registered (the console's app page, or GET /admin/v1/apps).";
    LogoutRedirectWithoutClient = "GRD-973", InvalidRequest, 400,
        "post_logout_redirect_uri without client_id or id_token_hint",
        "A post_logout_redirect_uri is only followed when it is registered for the app the request comes from (OpenID Connect RP-Initiated Logout 1.0 §3), and the request named no app: neither client_id nor an id_token_hint.",
        "Send client_id (or the ID token in id_token_hint) with the post_logout_redirect_uri.";
    LogoutRedirectUnregistered = "GRD-974", InvalidRequest, 400,
        "post_logout_redirect_uri is not registered for the app",
        "The post_logout_redirect_uri must equal one of the app's post_logout_redirect_uris exactly (OpenID Connect RP-Initiated Logout 1.0 §3): grantd never redirects after a logout to a URI it has not been told of, so a logout link cannot become an open redirector.",
        "Register the URI in the app's post_logout_redirect_uris (console app settings, PATCH /admin/v1/apps/{client_id}, or grantd app update --post-logout-redirect-uri), or send one that is registered.";
    ResourceInvalid = "GRD-980", InvalidTarget, 400,
        "resource is not an absolute URI without a fragment",
        "Each resource parameter (RFC 8707 §2) must be an absolute URI (a scheme and, for http and https, a host) and must not contain a fragment. It names the protected resource the access token is for.",
        "Send the resource server's URI, e.g. resource=https://api.example.com/, once per resource.";
    ResourceNotAllowed = "GRD-981", InvalidTarget, 400,
        "resource is not one of the app's resources",
        "An access token can be restricted only to grantd's own API or to a resource the app lists in its resource_uris setting (RFC 8707 §2: invalid_target). The description names the resource and the app's allowed ones.",
        "Add the resource to the app's resource_uris (console app settings, PATCH /admin/v1/apps/{client_id}, or grantd app update --resource-uri), or ask for one that is listed.";
    ResourceWidened = "GRD-982", InvalidTarget, 400,
        "resource was not granted to this refresh token",
        "A refresh request may narrow the resources of the original grant but not add to them (RFC 8707 §2.2): the resource named was not among those the authorization (or the first token request) asked for.",
        "Ask only for resources of the original grant, or send the user through the authorization endpoint again with the new resource.";
    ResourceAmbiguous = "GRD-983", InvalidTarget, 400,
        "Several resources were granted: name one",
        "The authorization named several resources, and an access token is for one resource (its aud): the token request must say which with one resource parameter (RFC 8707 §2.2).",
        "Send resource= with one of the granted resources; ask again with another for a token for it.";
    ResourceOnePerToken = "GRD-984", InvalidTarget, 400,
        "One resource per token request",
        "The token request named several resources, and grantd issues an access token for one resource (its aud holds one value): RFC 8707 §2.2 lets the client ask for a token per resource.",
        "Send one resource parameter per token request; repeat the request (with the same refresh token's successor, or at authorization) for each resource.";
    // --- Dynamic client registration (RFC 7591, RFC 7592)
    RegistrationRedirectUri = "GRD-960", InvalidRedirectUri, 400,
        "Redirect URI not allowed for a self-registered client",
        "A client that registers itself (RFC 7591) may register redirect URIs of three kinds only: https URIs; for a public (native) client, http on a loopback host (127.0.0.1, [::1] or localhost, any port, RFC 8252 §7.3) and a private-use scheme in reverse domain order (com.example.app:/callback, RFC 8252 §7.1). No wildcard, no fragment, no user information; each URI is matched exactly. The description names the URI and the rule it breaks.",
        "Register the exact https URI your app receives the code at; a native app registers a loopback URI (http://127.0.0.1/callback, the port may change at each sign-in) or a private-use scheme named after a domain you own.";
    RegistrationMetadata = "GRD-961", InvalidClientMetadata, 400,
        "Client metadata value invalid",
        "A field of the registration request (RFC 7591 §2) has a value grantd cannot take: the wrong JSON type, an unknown value, too long, or a URL that is not https. The description names the field, what was sent and what is accepted.",
        "Correct the field named in the description and register again.";
    RegistrationPolicy = "GRD-962", InvalidClientMetadata, 400,
        "Grant, response type or authentication method not allowed for a self-registered client",
        "A client that registers itself gets the authorization_code and refresh_token grants (response type code); client_credentials only with an initial access token from the operator, and only for a confidential client that does not also use the code flow (grantd keeps such clients apart as server-only apps). token_endpoint_auth_method is none (a public client, which proves itself with PKCE), client_secret_basic, client_secret_post or private_key_jwt (with jwks or jwks_uri). The description names the value refused and what would be accepted.",
        "Ask for the grants and method named in the description, or ask the operator to register the app (admin API or console) if it needs more.";
    SoftwareStatementUnsupported = "GRD-963", InvalidSoftwareStatement, 400,
        "Software statements are not accepted",
        "The registration request carries a software_statement (RFC 7591 §2.3). grantd does not trust any software statement issuer, so it cannot take the statement's claims.",
        "Send the client metadata as plain fields of the JSON body and leave software_statement out; operators vouch for clients with initial access tokens instead.";
    RegistrationClosed = "GRD-964", InvalidToken, 401,
        "Registration needs an initial access token",
        "This grantd does not take open registration (registration.open is off, the default): a client may register itself only with an initial access token the operator issued (RFC 7591 §3), sent as Authorization: Bearer <token>.",
        "Ask the operator for an initial access token (grantd registration-token create, or POST /admin/v1/registration-tokens) and send it as a bearer token; operators who want anyone to register set registration.open = true.";
    InitialTokenInvalid = "GRD-965", InvalidToken, 401,
        "Initial access token unknown or revoked",
        "The bearer token sent to the registration endpoint is not an initial access token of this grantd, or the operator revoked it.",
        "Ask the operator for a current initial access token (grantd registration-token list shows which are live).";
    InitialTokenSpent = "GRD-966", InvalidToken, 401,
        "Initial access token expired or used up",
        "The initial access token is valid only until its expiry and for as many registrations as the operator allowed (max uses); this one is past its expiry or has registered its last client.",
        "Ask the operator for a new initial access token (grantd registration-token create --max-uses N --expires 7d).";
    RegistrationAccessTokenInvalid = "GRD-967", InvalidToken, 401,
        "Registration access token missing or wrong",
        "The client configuration endpoint (RFC 7592) reads and changes a registration only with the registration access token answered when the client registered, sent as Authorization: Bearer <token>. None was sent, or the one sent is not this client's (or the client no longer exists). Tokens are compared by hash in constant time.",
        "Send the registration_access_token from the registration response as a bearer token to the registration_client_uri it came with. A lost token cannot be shown again: the operator can delete the app, and the client registers anew.";
    RegistrationBody = "GRD-968", InvalidClientMetadata, 400,
        "Registration body is not a JSON object",
        "A registration request (RFC 7591 §3.1) and an update (RFC 7592 §2.2) carry the client metadata as one JSON object with Content-Type: application/json. This body is not one (the wrong content type, broken JSON, or JSON of another shape).",
        "POST the metadata as a JSON object, e.g. {\"redirect_uris\": [\"https://app.example.com/cb\"], \"client_name\": \"My app\"}, with Content-Type: application/json.";
    RegistrationTokenRequest = "GRD-969", InvalidRequest, 400,
        "Initial access token request invalid",
        "The operator's request to issue or revoke an initial access token (admin API /admin/v1/registration-tokens or grantd registration-token) has a field grantd cannot take, or names a token that does not exist or is already revoked.",
        "Give a label of 1 to 100 printable characters, expires_in in seconds (at least 60) and max_uses of at least 1, or name a live token's id (grantd registration-token list).";

    // --- Diagnoses only `grantd doctor` makes (of a request it reads, not one it answers)
    NoOAuthRequest = "GRD-800", InvalidRequest, 400,
        "No OAuth request in the input",
        "grantd doctor read the input (a HAR file, a curl command line or raw HTTP) but found no request to an OAuth endpoint in it: no request to an authorization, token, revocation, introspection or device authorization endpoint, and none carrying grant_type or response_type.",
        "Export the HAR with the failing request in it (in the browser's network panel, keep 'Preserve log' on while reproducing the failure, then 'Save all as HAR'), or give doctor the failing request itself.";
    NoHostHeader = "GRD-801", InvalidRequest, 400,
        "Request has no Host header",
        "The raw HTTP request has no Host header. HTTP/1.1 requires one (RFC 9112 §3.2), and servers answer a request without it with 400 before any OAuth check, so the OAuth error never appears.",
        "Add Host: followed by the server's host name (and port, if not the default) on the line after the request line. HTTP libraries and curl add it from the URL.";
    RequestLineBroken = "GRD-802", InvalidRequest, 400,
        "Request line split across lines",
        "The request line (method, target, HTTP version) runs over more than one line: the URL contains a line break, which is usually a line wrapped by an editor or a chat message when the request was copied. A server reads the first line alone and the rest as a malformed header.",
        "Put the method, the whole URL and the HTTP version on one line; better, send the parameters in the body, where line breaks do not matter.";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_complete() {
        let mut seen = HashSet::new();
        for c in Code::ALL {
            let e = c.entry();
            assert!(seen.insert(e.code), "duplicate code {}", e.code);
            assert!(!e.message.is_empty() && !e.explanation.is_empty() && !e.fix.is_empty());
            assert!((400..600).contains(&e.status));
        }
    }

    #[test]
    fn find_is_case_insensitive() {
        assert_eq!(Code::find("oau-251"), Some(Code::GrantNotEnabled));
        assert_eq!(Code::find("NOPE-1"), None);
    }

    #[test]
    fn rfc_codes_are_right() {
        assert_eq!(
            Code::UnsupportedGrantType.entry().error.as_str(),
            "unsupported_grant_type"
        );
        assert_eq!(
            Code::GrantNotEnabled.entry().error.as_str(),
            "unauthorized_client"
        );
        assert_eq!(Code::ClientAuthMissing.entry().status, 401);
    }
}
