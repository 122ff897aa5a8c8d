//! The corpus of broken requests: one table, every endpoint. Each case
//! asserts the RFC error, the catalog code, the cause named with the values
//! involved, the fix, and that no secret of the run is echoed. Cases whose
//! path starts with `{oauth}` run on both `/oauth/…` and RingCentral's
//! `/restapi/oauth/…`. Adding a case is one entry in `CASES`.
//!
//! Also here: following each error's fix in turn reaches success or a
//! different cause, and no secret a test run uses, sent in any position,
//! comes back in a response or a log line.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{basic_header, Reply, Server, ADMIN_TOKEN};
use serde_json::{json, Value};
use std::collections::HashMap;

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const WEB_CB: &str = "https://app.example.com/cb";
const SPA_CB: &str = "https://spa.example.com/cb";
const PASSWORD: &str = "correct horse battery staple";

/// How a case authenticates. Strings are templates (see [`Fixture::fill`]).
#[derive(Clone, Copy)]
enum Auth {
    None,
    /// `Authorization: Basic base64(id:secret)`.
    Basic(&'static str, &'static str),
    /// A raw Authorization header value.
    Header(&'static str),
    /// `Authorization: Bearer …`.
    Bearer(&'static str),
    /// The admin API's token.
    Admin,
}

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    method: &'static str,
    /// `{oauth}` runs the case on both path families.
    path: &'static str,
    auth: Auth,
    /// A form body (token-side) or a JSON body (admin, when it starts with `{`).
    body: &'static str,
    status: u16,
    error: &'static str,
    code: &'static str,
    /// The cause, with the values involved: each must be in the description.
    says: &'static [&'static str],
    /// Words of the fix that must be in the description.
    fix: &'static str,
}

// One positional line per case keeps the table one case to a line.
#[allow(clippy::too_many_arguments)]
const fn case(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    auth: Auth,
    body: &'static str,
    expect: (u16, &'static str, &'static str),
    says: &'static [&'static str],
    fix: &'static str,
) -> Case {
    Case {
        name,
        method,
        path,
        auth,
        body,
        status: expect.0,
        error: expect.1,
        code: expect.2,
        says,
        fix,
    }
}

const CC: Auth = Auth::Basic("{cc}", "{cc_secret}");
const WEB: Auth = Auth::Basic("{web}", "{web_secret}");
const XCH: Auth = Auth::Basic("{xch}", "{xch_secret}");
const TOKEN: &str = "{oauth}/token";
const REVOKE: &str = "{oauth}/revoke";
const INTROSPECT: &str = "{oauth}/introspect";
const EXT: &str = "/restapi/v1.0/account/~/extension/~";

const fn e(
    status: u16,
    error: &'static str,
    code: &'static str,
) -> (u16, &'static str, &'static str) {
    (status, error, code)
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- the token endpoint: how the request was sent ---------------------------------
    case("no grant_type", "POST", TOKEN, CC, "scope=ReadAccounts", e(400, "invalid_request", "GRD-105"), &["'grant_type'"], "Add grant_type="),
    case("scope in the query of a POST", "POST", "{oauth}/token?scope=SMS", CC, "grant_type=client_credentials", e(400, "invalid_request", "GRD-102"), &["(scope)"], "into the body"),
    case("grant_type and scope in the query", "POST", "{oauth}/token?grant_type=client_credentials&scope=SMS", CC, "", e(400, "invalid_request", "GRD-102"), &["(grant_type, scope)"], "all of them into the body"),
    case("client_secret in the query", "POST", "{oauth}/token?client_id={cc}&client_secret={cc_secret}", Auth::None, "grant_type=client_credentials", e(400, "invalid_request", "GRD-102"), &["(client_id, client_secret)"], "rotate the secret"),
    case("an unknown parameter in the query", "POST", "{oauth}/token?debug=1", CC, "grant_type=client_credentials", e(400, "invalid_request", "GRD-102"), &["(debug)"], "without a query"),
    case("a valueless query parameter", "POST", "{oauth}/token?verbose", CC, "grant_type=client_credentials", e(400, "invalid_request", "GRD-102"), &["(verbose)"], "into the body"),
    case("GET on the token endpoint", "GET", TOKEN, CC, "", e(405, "invalid_request", "GRD-101"), &["accepts POST only", "used GET"], "Send a POST request"),
    case("PUT on the token endpoint", "PUT", TOKEN, CC, "grant_type=client_credentials", e(405, "invalid_request", "GRD-101"), &["used PUT"], "Send a POST request"),
    case("a JSON body", "POST", TOKEN, CC, "{\"grant_type\":\"client_credentials\"}", e(400, "invalid_request", "GRD-103"), &["The body is JSON"], "Content-Type: application/x-www-form-urlencoded"),
    case("grant_type repeated", "POST", TOKEN, CC, "grant_type=client_credentials&grant_type=client_credentials", e(400, "invalid_request", "OAU-111"), &["'grant_type' appears more than once"], "Send it once"),
    case("a scope far too long", "POST", TOKEN, CC, "grant_type=client_credentials&scope={long_scope}", e(400, "invalid_request", "GRD-113"), &["'scope' is 5000 bytes long", "at most 4096"], "Shorten"),
    case("endpoint_id with a slash", "POST", TOKEN, CC, "grant_type=client_credentials&endpoint_id=a/b", e(400, "invalid_request", "GRD-106"), &["'endpoint_id'"], "at most 64 letters, digits"),

    // --- grant_type: unknown, near misses, invisible differences ----------------------------
    case("grant_type passwd", "POST", TOKEN, CC, "grant_type=passwd", e(400, "unsupported_grant_type", "OAU-250"), &["'passwd' is not supported", "Did you mean 'password'"], "retired on this server"),
    case("grant_type with a trailing space", "POST", TOKEN, CC, "grant_type=client_credentials%20", e(400, "unsupported_grant_type", "OAU-250"), &["'client_credentials '", "ends with a space"], "Send grant_type=client_credentials."),
    case("grant_type with a trailing newline", "POST", TOKEN, CC, "grant_type=client_credentials%0A", e(400, "unsupported_grant_type", "OAU-250"), &["'client_credentials\\n'", "ends with a newline"], "Send grant_type=client_credentials."),
    case("grant_type with a leading tab", "POST", TOKEN, CC, "grant_type=%09client_credentials", e(400, "unsupported_grant_type", "OAU-250"), &["begins with a tab"], "Send grant_type=client_credentials."),
    case("grant_type with a zero-width space", "POST", TOKEN, CC, "grant_type=client_%E2%80%8Bcredentials", e(400, "unsupported_grant_type", "OAU-250"), &["'client_\\u{200B}credentials'", "zero-width space"], "Send grant_type=client_credentials."),
    case("grant_type in the wrong case", "POST", TOKEN, CC, "grant_type=Client_Credentials", e(400, "unsupported_grant_type", "OAU-250"), &["'Client_Credentials'", "upper/lower case"], "Send grant_type=client_credentials."),
    case("grant_type Password (case, and retired)", "POST", TOKEN, CC, "grant_type=Password", e(400, "unsupported_grant_type", "OAU-250"), &["Did you mean 'password'", "upper/lower case"], "'password' is retired"),
    case("grant_type with a dash", "POST", TOKEN, CC, "grant_type=client-credentials", e(400, "unsupported_grant_type", "OAU-250"), &["'client-credentials'", "'-', '_'"], "Send grant_type=client_credentials."),
    case("grant_type with a typo", "POST", TOKEN, CC, "grant_type=refresh_tokn", e(400, "unsupported_grant_type", "OAU-250"), &["Did you mean 'refresh_token'"], "Send grant_type=refresh_token."),
    case("grant_type jwt", "POST", TOKEN, CC, "grant_type=jwt", e(400, "unsupported_grant_type", "OAU-250"), &["'jwt' is not supported"], JWT_GRANT),
    case("grant_type jwt-bearer (short name)", "POST", TOKEN, CC, "grant_type=jwt-bearer", e(400, "unsupported_grant_type", "OAU-250"), &["'jwt-bearer'"], "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer"),
    case("grant_type device_code (short name)", "POST", TOKEN, CC, "grant_type=device_code", e(400, "unsupported_grant_type", "OAU-250"), &["'device_code'"], "grant_type=urn:ietf:params:oauth:grant-type:device_code"),
    case("grant_type token-exchange (short name)", "POST", TOKEN, CC, "grant_type=token-exchange", e(400, "unsupported_grant_type", "OAU-250"), &["'token-exchange'"], "grant_type=urn:ietf:params:oauth:grant-type:token-exchange"),
    case("grant_type code", "POST", TOKEN, CC, "grant_type=code", e(400, "unsupported_grant_type", "OAU-250"), &["'code' is not supported"], "grant_type is authorization_code"),
    case("grant_type implicit", "POST", TOKEN, CC, "grant_type=implicit", e(400, "unsupported_grant_type", "OAU-250"), &["'implicit'", "legacy"], "response_type=code at the authorization endpoint, then grant_type=authorization_code"),
    case("the retired password grant", "POST", TOKEN, CC, "grant_type=password&username=alice%40example.com&password={password}", e(400, "unsupported_grant_type", "GRD-304"), &["password grant was retired on 2024-03-31"], "JWT flow"),
    case("a grant the app is not enabled for", "POST", TOKEN, Auth::Basic("{jonly}", "{jonly_secret}"), "grant_type=client_credentials", e(400, "unauthorized_client", "OAU-251"), &["App 'Acme JWT' (server-only) is not enabled for grant_type 'client_credentials'", "Its enabled grants: jwt_bearer"], "grantd app update {jonly} --grants jwt_bearer,client_credentials"),
    case("a grant not enabled and a scope not permitted", "POST", TOKEN, Auth::Basic("{jonly}", "{jonly_secret}"), "grant_type=client_credentials&scope=Contacts", e(400, "unauthorized_client", "OAU-251"), &["not enabled for grant_type 'client_credentials'", "Also: App 'Acme JWT' asked for scope 'Contacts'"], "--grants jwt_bearer,client_credentials"),
    case("a grant the platform cannot have", "POST", TOKEN, Auth::None, "grant_type=client_credentials&client_id={spa}", e(400, "unauthorized_client", "OAU-251"), &["App 'Acme SPA' (browser)"], "A browser app cannot enable 'client_credentials'"),
    case("token exchange not enabled", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=x&subject_token_type=urn:ietf:params:oauth:token-type:access_token", e(400, "unauthorized_client", "OAU-251"), &["'urn:ietf:params:oauth:grant-type:token-exchange'"], "--grants"),

    // --- who the client is ------------------------------------------------------------------
    case("no client authentication", "POST", TOKEN, Auth::None, "grant_type=client_credentials", e(401, "invalid_client", "OAU-123"), &["No client authentication was sent"], "Authorization: Basic base64(client_id:client_secret)"),
    case("an unknown client id", "POST", TOKEN, Auth::Basic("nosuchclient-000", "whatever-secret"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-153"), &["'nosu…' (16 characters)"], "grantd app list"),
    case("id and secret swapped", "POST", TOKEN, Auth::Basic("{cc_secret}", "{cc}"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-153"), &["swapped", "'Acme Sync' ({cc})"], "client_id:client_secret in that order"),
    case("a client id with a trailing newline", "POST", TOKEN, Auth::Basic("{cc}\n", "{cc_secret}"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-153"), &["ends with a newline", "'Acme Sync' ({cc})"], "Remove the extra character"),
    case("a wrong secret", "POST", TOKEN, Auth::Basic("{cc}", "not-the-secret-at-all"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-146"), &["app 'Acme Sync' ({cc}) is not its current secret"], "grantd app rotate-secret {cc}"),
    case("a secret with a trailing newline", "POST", TOKEN, Auth::Basic("{cc}", "{cc_secret}\n"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-146"), &["ends with a newline", "'Acme Sync'"], "Remove it"),
    case("a secret with a leading space", "POST", TOKEN, Auth::Basic("{cc}", " {cc_secret}"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-146"), &["begins with a space"], "Remove it"),
    case("a secret with CRLF (a Windows file)", "POST", TOKEN, Auth::Basic("{cc}", "{cc_secret}\r\n"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-146"), &["ends with a newline"], "Remove it"),
    case("a quoted secret", "POST", TOKEN, Auth::Basic("{cc}", "\"{cc_secret}\""), "grant_type=client_credentials", e(401, "invalid_client", "OAU-146"), &["is in quotes"], "without the quotes"),
    case("a quoted client id", "POST", TOKEN, Auth::Basic("'{cc}'", "{cc_secret}"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-153"), &["It is in quotes", "'Acme Sync' ({cc})"], "without quotes"),
    case("the client id as the secret", "POST", TOKEN, Auth::Basic("{cc}", "{cc}"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-146"), &["client id was sent as the secret"], "client_id:client_secret"),
    case("a wrong secret that also ends with a newline", "POST", TOKEN, Auth::Basic("{cc}", "wrong-secret\n"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-146"), &["ends with a newline", "does not match even without it"], "rotate-secret {cc}"),
    case("a secret in the body too", "POST", TOKEN, CC, "grant_type=client_credentials&client_secret={cc_secret}", e(400, "invalid_request", "GRD-202"), &["authenticated twice"], "remove client_secret from the body"),
    case("client ids that disagree", "POST", TOKEN, CC, "grant_type=client_credentials&client_id=other-client-id", e(401, "invalid_client", "GRD-201"), &["'oth…' (15 characters)"], "Send the same client id in both"),
    case("client_secret without client_id", "POST", TOKEN, Auth::None, "grant_type=client_credentials&client_secret={cc_secret}", e(400, "invalid_request", "GRD-105"), &["'client_id'", "when client_secret is sent"], "Add client_id="),
    case("a public app sending a secret (body)", "POST", TOKEN, Auth::None, "grant_type=authorization_code&code=abc&client_id={spa}&client_secret=made-up-secret", e(401, "invalid_client", "GRD-114"), &["'Acme SPA' ({spa}) is a browser app, which is public"], "Send none"),
    case("a public app sending a secret (Basic)", "POST", TOKEN, Auth::Basic("{spa}", "made-up-secret"), "grant_type=authorization_code&code=abc", e(401, "invalid_client", "GRD-114"), &["'Acme SPA'"], "with nothing after the colon"),
    case("a confidential app without its secret", "POST", TOKEN, Auth::None, "grant_type=authorization_code&code=abc&client_id={web}", e(401, "invalid_client", "GRD-203"), &["App 'Acme Web' ({web}) is a server-web app, which is confidential"], "Authorization: Basic base64({web}:client_secret)"),
    case("a JWT credential as Bearer", "POST", TOKEN, Auth::Bearer("{jwt}"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-134"), &["sends a JWT with the Bearer scheme"], "assertion=<the JWT>"),
    case("an opaque value as Bearer", "POST", TOKEN, Auth::Bearer("some-api-token"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-134"), &["Bearer scheme"], "Basic scheme"),
    case("Basic not base64", "POST", TOKEN, Auth::Header("Basic !!!not-base64!!!"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-134"), &["not valid base64"], "Authorization: Basic base64(client_id:client_secret)"),
    case("Basic without a colon", "POST", TOKEN, Auth::Header("Basic bm9jb2xvbg=="), "grant_type=client_credentials", e(401, "invalid_client", "OAU-134"), &["has no colon"], "client_id:client_secret"),
    case("Basic with nothing after it", "POST", TOKEN, Auth::Header("Basic"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-134"), &["nothing follows 'Basic '"], "Authorization: Basic"),
    case("the Digest scheme", "POST", TOKEN, Auth::Header("Digest username=x"), "grant_type=client_credentials", e(401, "invalid_client", "OAU-134"), &["the scheme is 'Digest', not Basic"], "Authorization: Basic"),

    // --- scopes ---------------------------------------------------------------------------
    case("scopes joined by a comma", "POST", TOKEN, CC, "grant_type=client_credentials&scope=ReadAccounts,SMS", e(400, "invalid_scope", "GRD-301"), &["'ReadAccounts,SMS'", "separated by spaces, not commas"], "scope=ReadAccounts+SMS"),
    case("scopes joined by a semicolon", "POST", TOKEN, CC, "grant_type=client_credentials&scope=ReadAccounts;SMS", e(400, "invalid_scope", "GRD-301"), &["semicolons"], "scope=ReadAccounts+SMS"),
    case("a scope in the wrong case", "POST", TOKEN, CC, "grant_type=client_credentials&scope=readaccounts", e(400, "invalid_scope", "GRD-301"), &["'readaccounts'", "Did you mean 'ReadAccounts'", "upper/lower case"], "Did you mean 'ReadAccounts'"),
    case("a scope with a typo", "POST", TOKEN, CC, "grant_type=client_credentials&scope=ReadAcounts", e(400, "invalid_scope", "GRD-301"), &["Did you mean 'ReadAccounts' for 'ReadAcounts'"], "Did you mean"),
    case("a scope the app lacks", "POST", TOKEN, CC, "grant_type=client_credentials&scope=Contacts", e(400, "invalid_scope", "GRD-301"), &["'Contacts'", "Its permissions: ReadAccounts, SMS"], "add the scope to the app's permissions"),
    case("scopes joined by a newline", "POST", TOKEN, CC, "grant_type=client_credentials&scope=ReadAccounts%0ASMS", e(400, "invalid_scope", "GRD-302"), &["a newline (\\n)"], "single space"),
    case("scopes joined by a tab", "POST", TOKEN, CC, "grant_type=client_credentials&scope=ReadAccounts%09SMS", e(400, "invalid_scope", "GRD-302"), &["a tab (\\t)"], "single space"),
    case("a quoted scope", "POST", TOKEN, CC, "grant_type=client_credentials&scope=%22ReadAccounts%22", e(400, "invalid_scope", "GRD-302"), &["double quotes"], "separated by single spaces"),

    // --- the JWT bearer grant -----------------------------------------------------------------
    case("no assertion", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer", e(400, "invalid_request", "GRD-105"), &["'assertion'", "JWT credential"], "Add assertion="),
    case("an assertion that is not a JWT", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=abcdef", e(400, "invalid_grant", "GRD-310"), &["1 dot-separated part"], "exactly as grantd issued it"),
    case("an assertion with Bearer in front", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=Bearer%20{jwt}", e(400, "invalid_grant", "GRD-310"), &["starts with 'Bearer '"], "send the credential alone"),
    case("an unsigned assertion (alg none)", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={jwt_none}", e(400, "invalid_grant", "GRD-115"), &["alg 'none'", "unsigned"], "exactly as grantd issued it"),
    case("an HMAC-signed assertion", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={jwt_hs256}", e(400, "invalid_grant", "GRD-115"), &["alg 'HS256'"], "ES256, EdDSA or RS256"),
    case("an assertion with a changed payload", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={jwt_tampered}", e(400, "invalid_grant", "GRD-314"), &["signature does not verify"], "Use it exactly as issued"),
    case("an access token as assertion", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={access}", e(400, "invalid_grant", "GRD-311"), &["JWT of type 'at+jwt'"], "Send the user's JWT credential as assertion"),
    case("an assertion from another issuer", "POST", TOKEN, CC, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={jwt_foreign}", e(400, "invalid_grant", "GRD-312"), &["issued by 'https://other.example.com'"], "Create a credential on this server"),

    // --- the refresh_token grant ----------------------------------------------------------------
    case("no refresh_token", "POST", TOKEN, CC, "grant_type=refresh_token", e(400, "invalid_request", "GRD-105"), &["'refresh_token'"], "Add refresh_token="),
    case("an unknown refresh token", "POST", TOKEN, CC, "grant_type=refresh_token&refresh_token=never-issued-refresh-token", e(400, "invalid_grant", "OAU-213"), &["No such refresh token"], "Use the most recent refresh token"),
    case("an access token as refresh_token", "POST", TOKEN, CC, "grant_type=refresh_token&refresh_token={access}", e(400, "invalid_grant", "GRD-118"), &["is an access token issued by this server"], "Send the refresh_token field"),
    case("a JWT credential as refresh_token", "POST", TOKEN, CC, "grant_type=refresh_token&refresh_token={jwt}", e(400, "invalid_grant", "GRD-118"), &["is a JWT credential"], "grant-type:jwt-bearer&assertion="),
    case("a refresh wider than the session", "POST", TOKEN, CC, "grant_type=refresh_token&refresh_token={refresh}&scope=ReadAccounts+SMS", e(400, "invalid_scope", "GRD-117"), &["'SMS' that this session was not granted", "The session's scopes: ReadAccounts"], "sign the user in again"),
    case("a refresh with a comma-separated scope", "POST", TOKEN, CC, "grant_type=refresh_token&refresh_token={refresh}&scope=ReadAccounts,SMS", e(400, "invalid_scope", "GRD-301"), &["'ReadAccounts,SMS'", "separated by spaces, not commas"], "send scope=ReadAccounts+SMS"),
    case("refresh by an app without refresh tokens", "POST", TOKEN, Auth::Basic("{jonly}", "{jonly_secret}"), "grant_type=refresh_token&refresh_token={refresh}", e(400, "unauthorized_client", "GRD-330"), &["App 'Acme JWT' ({jonly}) does not issue refresh tokens"], "--grants jwt_bearer,refresh_token --issue-refresh-tokens true"),
    case("refresh by another app", "POST", TOKEN, Auth::Basic("{cc2}", "{cc2_secret}"), "grant_type=refresh_token&refresh_token={refresh}", e(400, "invalid_grant", "GRD-332"), &["not issued to app {cc2}"], "credentials of the app it was issued to"),

    // --- the authorization_code grant -----------------------------------------------------------
    case("no code", "POST", TOKEN, WEB, "grant_type=authorization_code", e(400, "invalid_request", "GRD-105"), &["'code'"], "Add code="),
    case("an unknown code", "POST", TOKEN, WEB, "grant_type=authorization_code&code=not-a-code&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb", e(400, "invalid_grant", "OAU-106"), &["not one this server issued"], "exactly as received"),
    case("a code_verifier of 20 characters", "POST", TOKEN, Auth::None, "grant_type=authorization_code&client_id={spa}&code=abc&code_verifier=aaaaaaaaaaaaaaaaaaaa", e(400, "invalid_request", "GRD-116"), &["is 20 characters long", "at least 43"], "32 random bytes in base64url"),
    case("a code_verifier of 129 characters", "POST", TOKEN, Auth::None, "grant_type=authorization_code&client_id={spa}&code=abc&code_verifier={verifier129}", e(400, "invalid_request", "GRD-116"), &["is 129 characters long", "at most 128"], "43 to 128 characters"),
    case("a code_verifier in standard base64", "POST", TOKEN, Auth::None, "grant_type=authorization_code&client_id={spa}&code=abc&code_verifier=abcdefghijklmnopqrstuvwxyz%2BABCDEFGHIJKLMNOPQ%2F", e(400, "invalid_request", "GRD-116"), &["'+' or '/'"], "base64url"),
    case("a padded code_verifier", "POST", TOKEN, Auth::None, "grant_type=authorization_code&client_id={spa}&code=abc&code_verifier=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR%3D", e(400, "invalid_request", "GRD-116"), &["'=' (padding"], "without padding"),
    case("a code_verifier with a space", "POST", TOKEN, Auth::None, "grant_type=authorization_code&client_id={spa}&code=abc&code_verifier=abcdefghijklmnopqrstuvwxyz+ABCDEFGHIJKLMNOPQR", e(400, "invalid_request", "GRD-116"), &["contains a space"], "send it here unchanged"),
    case("a code_verifier with a trailing newline", "POST", TOKEN, Auth::None, "grant_type=authorization_code&client_id={spa}&code=abc&code_verifier=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR%0A", e(400, "invalid_request", "GRD-116"), &["ends with a newline"], "send it here unchanged"),
    case("a short code_verifier with odd characters", "POST", TOKEN, Auth::None, "grant_type=authorization_code&client_id={spa}&code=abc&code_verifier=ab%21cd", e(400, "invalid_request", "GRD-116"), &["is 5 characters long", "contains '!'"], "43 to 128 characters"),

    // --- the device grant -----------------------------------------------------------------------
    case("no device_code", "POST", TOKEN, Auth::None, "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id={tv}", e(400, "invalid_request", "GRD-105"), &["'device_code'"], "Add device_code="),
    case("an unknown device_code", "POST", TOKEN, Auth::None, "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id={tv}&device_code=not-a-device-code", e(400, "invalid_grant", "GRD-374"), &["not one this server issued"], "restart the flow"),
    case("a device poll before approval", "POST", "/restapi/oauth/token", Auth::None, "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id={tv}&device_code={device_code}", e(400, "authorization_pending", "GRD-370"), &["has not yet approved"], "Keep polling every"),

    // --- token exchange (RFC 8693) ------------------------------------------------------------
    case("exchange without subject_token_type", "POST", TOKEN, XCH, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token={access}", e(400, "invalid_request", "GRD-105"), &["'subject_token_type'"], "Add subject_token_type="),
    case("exchange without subject_token", "POST", TOKEN, XCH, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange", e(400, "invalid_request", "GRD-105"), &["'subject_token'"], "Add subject_token="),
    case("exchange of a SAML assertion", "POST", TOKEN, XCH, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=abc&subject_token_type=urn:ietf:params:oauth:token-type:saml2", e(400, "invalid_request", "GRD-380"), &["'urn:ietf:params:oauth:token-type:saml2'", "SAML"], "urn:ietf:params:oauth:token-type:access_token"),
    case("exchange of a refresh token", "POST", TOKEN, XCH, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token={refresh}&subject_token_type=urn:ietf:params:oauth:token-type:refresh_token", e(400, "invalid_request", "GRD-381"), &["names a refresh token"], "Send the session's access token instead"),
    case("exchange of garbage", "POST", TOKEN, XCH, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=not-a-token&subject_token_type=urn:ietf:params:oauth:token-type:access_token", e(400, "invalid_request", "GRD-383"), &["subject_token is not a token this server issued"], "exactly as this server issued it"),
    case("exchange of another app's token", "POST", TOKEN, XCH, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token={access}&subject_token_type=urn:ietf:params:oauth:token-type:access_token", e(400, "invalid_request", "GRD-386"), &["App 'Acme Exchange' has no token_exchange policy", "issued to app {cc}"], "--exchange-subject-apps {cc}"),
    case("exchange of another app's token for an unknown audience", "POST", TOKEN, XCH, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token={access}&subject_token_type=urn:ietf:params:oauth:token-type:access_token&audience=billing-api", e(400, "invalid_request", "GRD-386"), &["issued to app {cc}", "Also: audience 'billing-api' is not a registered resource server"], "leave audience out"),

    // --- revocation -----------------------------------------------------------------------------
    case("revoke without token", "POST", REVOKE, CC, "", e(400, "invalid_request", "GRD-105"), &["'token'", "to say which token to revoke"], "Add token="),
    case("revoke without client authentication", "POST", REVOKE, Auth::None, "token=abc", e(401, "invalid_client", "OAU-123"), &["No client authentication"], "Authorization: Basic"),
    case("revoke with a parameter in the query", "POST", "{oauth}/revoke?token_type_hint=refresh_token", CC, "token=abc", e(400, "invalid_request", "GRD-102"), &["(token_type_hint)"], "into the body"),
    case("revoke by a public app with a secret", "POST", REVOKE, Auth::Basic("{spa}", "made-up-secret"), "token=abc", e(401, "invalid_client", "GRD-114"), &["'Acme SPA'"], "Send none"),
    case("revoke with a newline in the secret", "POST", REVOKE, Auth::Basic("{cc}", "{cc_secret}\n"), "token=abc", e(401, "invalid_client", "OAU-146"), &["ends with a newline"], "Remove it"),
    case("revoke with GET", "GET", REVOKE, CC, "", e(405, "invalid_request", "GRD-101"), &["used GET"], "Send a POST request"),
    case("revoke with a JSON body", "POST", REVOKE, CC, "{\"token\":\"abc\"}", e(400, "invalid_request", "GRD-103"), &["The body is JSON"], "application/x-www-form-urlencoded"),
    case("revoke with token twice", "POST", REVOKE, CC, "token=a&token=b", e(400, "invalid_request", "OAU-111"), &["'token' appears more than once"], "Send it once"),

    // --- introspection --------------------------------------------------------------------------
    case("introspect without token", "POST", INTROSPECT, CC, "", e(400, "invalid_request", "GRD-105"), &["'token'", "to say which token to introspect"], "Add token="),
    case("introspect without client authentication", "POST", INTROSPECT, Auth::None, "token=abc", e(401, "invalid_client", "OAU-123"), &["No client authentication"], "Authorization: Basic"),
    case("introspect with the token in the query", "POST", "{oauth}/introspect?token={access}", CC, "", e(400, "invalid_request", "GRD-102"), &["(token)"], "revoke the token"),
    case("introspect with an unknown client", "POST", INTROSPECT, Auth::Basic("unknown-client-id", "secret"), "token=abc", e(401, "invalid_client", "OAU-153"), &["(17 characters)"], "grantd app list"),
    case("introspect with a wrong secret", "POST", INTROSPECT, Auth::Basic("{cc}", "wrong"), "token=abc", e(401, "invalid_client", "OAU-146"), &["'Acme Sync'"], "rotate-secret {cc}"),
    case("introspect with a text body", "POST_TEXT", INTROSPECT, CC, "token=abc", e(400, "invalid_request", "GRD-104"), &["text/plain"], "Content-Type: application/x-www-form-urlencoded"),

    // --- the authorization endpoint ---------------------------------------------------------------
    case("authorize without client_id", "GET", "{oauth}/authorize?response_type=code", Auth::None, "", e(400, "invalid_request", "GRD-105"), &["'client_id'"], "query string of the authorization URL"),
    case("authorize with an unknown client", "GET", "{oauth}/authorize?response_type=code&client_id=no-such-app-id", Auth::None, "", e(401, "invalid_client", "OAU-153"), &["(14 characters)"], "grantd app list"),
    case("authorize with a client id and a space", "GET", "{oauth}/authorize?response_type=code&client_id={web}%20", Auth::None, "", e(401, "invalid_client", "OAU-153"), &["ends with a space", "'Acme Web' ({web})"], "Remove the extra character"),
    case("authorize with a server-only app", "GET", "{oauth}/authorize?response_type=code&client_id={cc}", Auth::None, "", e(400, "unauthorized_client", "OAU-112"), &["'Acme Sync' ({cc}) is a server-only app, which cannot use the authorization endpoint"], "register an app with a platform type that allows authorization_code"),
    case("authorize with a device app", "GET", "{oauth}/authorize?response_type=code&client_id={tv}", Auth::None, "", e(400, "unauthorized_client", "OAU-112"), &["is a device app"], "register an app"),
    case("authorize, no redirect URI registered", "GET", "{oauth}/authorize?response_type=code&client_id={bare}", Auth::None, "", e(400, "invalid_request", "OAU-113"), &["App 'Bare Web' has no redirect URI registered"], "grantd app update {bare} --redirect-uri"),
    case("authorize, no redirect URI and no code grant", "GET", "{oauth}/authorize?response_type=code&client_id={bare2}", Auth::None, "", e(400, "invalid_request", "OAU-113"), &["no redirect URI registered, and it is not enabled for the authorization_code grant"], "--redirect-uri https://…/callback --grants refresh_token,authorization_code"),
    case("authorize with a trailing slash", "GET", "{oauth}/authorize?response_type=code&client_id={web}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%2F", Auth::None, "", e(400, "invalid_request", "GRD-351"), &["'https://app.example.com/cb/' is not registered", "Did you mean 'https://app.example.com/cb'"], "Send a registered URI exactly"),
    case("authorize with http for https", "GET", "{oauth}/authorize?response_type=code&client_id={web}&redirect_uri=http%3A%2F%2Fapp.example.com%2Fcb", Auth::None, "", e(400, "invalid_request", "GRD-351"), &["Did you mean 'https://app.example.com/cb'"], "or register this one"),
    case("authorize with a redirect URI and a newline", "GET", "{oauth}/authorize?response_type=code&client_id={web}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%0A", Auth::None, "", e(400, "invalid_request", "GRD-351"), &["'https://app.example.com/cb\\n'", "ends with a newline"], "Send a registered URI exactly"),
    case("authorize with an unknown redirect URI", "GET", "{oauth}/authorize?response_type=code&client_id={web}&redirect_uri=https%3A%2F%2Fevil.example.net%2F", Auth::None, "", e(400, "invalid_request", "GRD-351"), &["'https://evil.example.net/' is not registered", "Registered: https://app.example.com/cb"], "register this one"),
    case("authorize without response_type", "GET", "{oauth}/authorize?client_id={web}&state=s1", Auth::None, "", e(303, "invalid_request", "GRD-105"), &["'response_type'"], "query string of the authorization URL"),
    case("authorize with response_type Code", "GET", "{oauth}/authorize?client_id={web}&response_type=Code", Auth::None, "", e(303, "unsupported_response_type", "GRD-353"), &["'Code' is not supported", "did you mean 'code'"], "Use response_type=code"),
    case("authorize with response_type id_token", "GET", "{oauth}/authorize?client_id={web}&response_type=id_token", Auth::None, "", e(303, "unsupported_response_type", "GRD-353"), &["'id_token' is not supported"], "Use response_type=code"),
    case("authorize with a scope the app lacks", "GET", "{oauth}/authorize?client_id={web}&response_type=code&scope=SMS", Auth::None, "", e(303, "invalid_scope", "GRD-301"), &["'SMS'", "Its permissions: ReadAccounts"], "add the scope"),
    case("authorize with comma-separated scopes", "GET", "{oauth}/authorize?client_id={web}&response_type=code&scope=ReadAccounts,openid", Auth::None, "", e(303, "invalid_scope", "GRD-301"), &["not commas"], "scope=ReadAccounts+openid"),
    case("a public app without PKCE", "GET", "{oauth}/authorize?client_id={spa}&response_type=code", Auth::None, "", e(303, "invalid_request", "GRD-354"), &["App 'Acme SPA' is a browser app"], "code_challenge_method=S256"),
    case("a public app with plain PKCE", "GET", "{oauth}/authorize?client_id={spa}&response_type=code&code_challenge=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ&code_challenge_method=plain", Auth::None, "", e(303, "invalid_request", "GRD-355"), &["'plain' is not accepted"], "Send code_challenge_method=S256"),
    case("a short S256 challenge", "GET", "{oauth}/authorize?client_id={spa}&response_type=code&code_challenge=short&code_challenge_method=S256", Auth::None, "", e(303, "invalid_request", "GRD-356"), &["code_challenge is invalid"], ""),
    case("prompt=none without a session", "GET", "{oauth}/authorize?client_id={web}&response_type=code&prompt=none", Auth::None, "", e(303, "login_required", "GRD-359"), &["no user is signed in"], "without prompt=none"),
    case("an unknown prompt", "GET", "{oauth}/authorize?client_id={web}&response_type=code&prompt=always", Auth::None, "", e(400, "invalid_request", "GRD-106"), &["'always' is not none, login, consent"], ""),
    case("a code exchange sent to authorize", "GET", "{oauth}/authorize?grant_type=authorization_code&code=abc", Auth::None, "", e(400, "invalid_request", "GRD-350"), &["token request"], "grant_type=authorization_code&code="),
    case("client_id twice at authorize", "GET", "{oauth}/authorize?client_id=a&client_id=b&response_type=code", Auth::None, "", e(400, "invalid_request", "OAU-111"), &["'client_id' appears more than once"], "Send it once"),

    // --- userinfo -------------------------------------------------------------------------------
    case("userinfo without a token", "GET", "{oauth}/userinfo", Auth::None, "", e(401, "invalid_token", "GRD-340"), &["No access token was sent"], "Authorization: Bearer"),
    case("userinfo with garbage", "GET", "{oauth}/userinfo", Auth::Bearer("garbage-value"), "", e(401, "invalid_token", "OAU-149"), &["not an access token issued by this server"], "access_token of a token response"),
    case("userinfo with a JWT credential", "GET", "{oauth}/userinfo", Auth::Bearer("{jwt}"), "", e(401, "invalid_token", "GRD-342"), &["is a JWT credential, not an access token"], "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion="),
    case("userinfo without openid", "GET", "{oauth}/userinfo", Auth::Bearer("{access}"), "", e(403, "insufficient_scope", "GRD-365"), &["not issued with the openid scope"], "scope=openid"),

    // --- the API resource -------------------------------------------------------------------------
    case("API without a token", "GET", EXT, Auth::None, "", e(401, "invalid_token", "GRD-340"), &["No access token was sent"], "Authorization: Bearer"),
    case("API with a JWT credential", "GET", EXT, Auth::Bearer("{jwt}"), "", e(401, "invalid_token", "GRD-342"), &["is a JWT credential"], "assertion=<the credential>"),
    case("API with an app-only token", "GET", EXT, Auth::Bearer("{cc_token}"), "", e(403, "insufficient_scope", "GRD-343"), &["issued to the app itself"], "Use a token obtained with the JWT flow"),
    case("API with garbage", "GET", EXT, Auth::Bearer("not-a-token"), "", e(401, "invalid_token", "OAU-149"), &["not an access token issued by this server"], "access_token of a token response"),
    case("API with a refresh token", "GET", EXT, Auth::Bearer("{refresh}"), "", e(401, "invalid_token", "OAU-149"), &["is a refresh token issued by this server, not an access token"], "grant_type=refresh_token&refresh_token=<it>"),
    case("userinfo with a refresh token", "GET", "{oauth}/userinfo", Auth::Bearer("{refresh}"), "", e(401, "invalid_token", "OAU-149"), &["is a refresh token"], "send the access_token of the answer"),

    // --- device authorization ---------------------------------------------------------------------
    case("device authorization without a client", "POST", "/oauth/device_authorization", Auth::None, "scope=ReadAccounts", e(401, "invalid_client", "OAU-123"), &["No client authentication"], "client_id in the body"),
    case("device authorization by an unknown client", "POST", "/oauth/device_authorization", Auth::None, "client_id=unknown-device-app", e(401, "invalid_client", "OAU-153"), &["(18 characters)"], "grantd app list"),
    case("device authorization by a server-only app", "POST", "/oauth/device_authorization", CC, "", e(400, "unauthorized_client", "OAU-251"), &["App 'Acme Sync' (server-only) is not enabled"], "device"),
    case("device authorization with the client in the query", "POST", "/oauth/device_authorization?client_id={tv}", Auth::None, "", e(400, "invalid_request", "GRD-102"), &["(client_id)"], "into the body"),
    case("device authorization with a scope the app lacks", "POST", "/oauth/device_authorization", Auth::None, "client_id={tv}&scope=SMS", e(400, "invalid_scope", "GRD-301"), &["'SMS'"], "Ask only for those"),
    case("device authorization with a secret from a public app", "POST", "/oauth/device_authorization", Auth::Basic("{tv}", "made-up-secret"), "", e(401, "invalid_client", "GRD-114"), &["'Acme TV'"], "Send none"),

    // --- the admin API ----------------------------------------------------------------------------
    case("admin without a token", "GET", "/admin/v1/apps", Auth::None, "", e(401, "invalid_token", "GRD-401"), &["needs Authorization: Bearer <admin token>"], "GRANTD_ADMIN_TOKEN"),
    case("admin with a wrong token", "GET", "/admin/v1/apps", Auth::Bearer("{cc_secret}"), "", e(401, "invalid_token", "GRD-402"), &["not this server's admin token"], "GRANTD_ADMIN_TOKEN"),
    case("admin with a broken JSON body", "POST", "/admin/v1/apps", Auth::Admin, "{\"name\": ", e(400, "invalid_request", "GRD-403"), &["could not be read"], "/admin/v1/openapi.json"),
    case("admin: no such app", "GET", "/admin/v1/apps/no-such-app", Auth::Admin, "", e(404, "not_found", "GRD-414"), &["'no-such-app'"], ""),
    case("admin: grant not allowed for the platform", "POST", "/admin/v1/apps", Auth::Admin, "{\"name\":\"X\",\"platform_type\":\"browser\",\"grants\":[\"client_credentials\"]}", e(400, "invalid_request", "GRD-411"), &["A browser app cannot enable 'client_credentials'"], "'client_credentials' is allowed for: server-only"),
    case("admin: a plain-http redirect URI", "POST", "/admin/v1/apps", Auth::Admin, "{\"name\":\"X\",\"platform_type\":\"server-web\",\"redirect_uris\":[\"http://app.example.com/cb\"]}", e(400, "invalid_request", "GRD-412"), &["'http://app.example.com/cb'"], ""),

    // --- the docs and unknown paths ----------------------------------------------------------------
    case("registration without an initial access token", "POST", "{oauth}/register", Auth::None, "{\"redirect_uris\":[\"https://a.example.com/cb\"]}", e(401, "invalid_token", "GRD-964"), &["No initial access token was sent", "registration.open"], "grantd registration-token create"),
    case("registration with a made-up initial access token", "POST", "{oauth}/register", Auth::Bearer("not-an-initial-token"), "{\"redirect_uris\":[\"https://a.example.com/cb\"]}", e(401, "invalid_token", "GRD-965"), &["is not an initial access token of this server"], "grantd registration-token list"),
    case("registration metadata as a form", "POST", "{oauth}/register", Auth::None, "client_name=x", e(400, "invalid_client_metadata", "GRD-968"), &["Content-Type 'application/x-www-form-urlencoded'"], "Content-Type: application/json"),
    case("client configuration without its token", "GET", "{oauth}/register/{web}", Auth::None, "", e(401, "invalid_token", "GRD-967"), &["no bearer token was sent"], "registration_access_token"),
    case("an error page that does not decode", "GET", "/docs/errors/%ff%fe", Auth::None, "", e(404, "not_found", "GRD-109"), &["/docs/errors/%ff%fe"], "/.well-known/oauth-authorization-server"),
    case("an unknown error code page", "GET", "/docs/errors/NOPE-1", Auth::None, "", e(404, "not_found", "GRD-109"), &["Did you mean /docs/errors?"], ""),
    case("a near-miss endpoint", "GET", "{oauth}/tokens", Auth::None, "", e(404, "not_found", "GRD-109"), &["Did you mean"], "/.well-known/oauth-authorization-server"),
];

/// The run's apps, users and tokens, and every secret it uses.
struct Fixture {
    server: Server,
    vars: HashMap<&'static str, String>,
    secrets: Vec<String>,
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

impl Fixture {
    async fn new() -> Self {
        let server = Server::start();
        let mut vars: HashMap<&'static str, String> = HashMap::new();
        let cc = server
            .server_only_app(
                json!({"grants": ["client_credentials", "jwt_bearer", "refresh_token"]}),
            )
            .await;
        let cc2 = server
            .server_only_app(
                json!({"name": "Acme Other", "grants": ["jwt_bearer", "refresh_token"]}),
            )
            .await;
        let jonly = server
            .server_only_app(json!({"name": "Acme JWT", "grants": ["jwt_bearer"]}))
            .await;
        let web = common::App::from(
            server
                .create_app(json!({"name": "Acme Web", "platform_type": "server-web", "redirect_uris": [WEB_CB], "scopes": ["ReadAccounts"]}))
                .await,
        );
        let bare = common::App::from(
            server
                .create_app(json!({"name": "Bare Web", "platform_type": "server-web"}))
                .await,
        );
        let bare2 = common::App::from(
            server
                .create_app(json!({"name": "Bare Refresh", "platform_type": "server-web", "grants": ["refresh_token"]}))
                .await,
        );
        let spa = common::App::from(
            server
                .create_app(json!({"name": "Acme SPA", "platform_type": "browser", "redirect_uris": [SPA_CB], "scopes": ["ReadAccounts"]}))
                .await,
        );
        let tv = common::App::from(
            server
                .create_app(json!({"name": "Acme TV", "platform_type": "device", "scopes": ["ReadAccounts"]}))
                .await,
        );
        let xch = common::App::from(
            server
                .create_app(json!({"name": "Acme Exchange", "platform_type": "server-web", "redirect_uris": [WEB_CB], "grants": ["authorization_code", "token_exchange"], "scopes": ["ReadAccounts"]}))
                .await,
        );
        let user = server
            .create_user(json!({"email": "alice@example.com", "name": "Alice Smith", "password": PASSWORD, "extension_number": "101"}))
            .await;
        let (_, jwt) = server
            .create_credential(&s(&user, "id"), json!({"label": "corpus"}))
            .await;
        let login = server
            .post_form(
                "/oauth/token",
                Some((&cc.client_id, &cc.secret)),
                &format!("grant_type={JWT_GRANT}&assertion={jwt}&scope=ReadAccounts"),
            )
            .await;
        assert_eq!(login.status, 200, "{}", login.text);
        let cc_token = server
            .post_form(
                "/oauth/token",
                Some((&cc.client_id, &cc.secret)),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(cc_token.status, 200, "{}", cc_token.text);
        let device = server
            .post_form(
                "/oauth/device_authorization",
                None,
                &format!("client_id={}", tv.client_id),
            )
            .await;
        assert_eq!(device.status, 200, "{}", device.text);

        // Forged credentials: the real one's claims under other headers.
        let parts: Vec<&str> = jwt.split('.').collect();
        let payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let jwt_none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            parts[1]
        );
        let jwt_hs256 = format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(&json!({"alg": "HS256", "typ": "JWT"})),
            parts[1]
        );
        let mut changed = payload.clone();
        changed["sub"] = json!("someone-else");
        let jwt_tampered = format!("{}.{}.{}", parts[0], b64(&changed), parts[2]);
        let mut foreign = payload.clone();
        foreign["iss"] = json!("https://other.example.com");
        let jwt_foreign = format!("{}.{}.{}", parts[0], b64(&foreign), parts[2]);

        let put = |vars: &mut HashMap<&'static str, String>, k: &'static str, v: &str| {
            vars.insert(k, v.to_string());
        };
        put(&mut vars, "cc", &cc.client_id);
        put(&mut vars, "cc_secret", &cc.secret);
        put(&mut vars, "cc2", &cc2.client_id);
        put(&mut vars, "cc2_secret", &cc2.secret);
        put(&mut vars, "jonly", &jonly.client_id);
        put(&mut vars, "jonly_secret", &jonly.secret);
        put(&mut vars, "web", &web.client_id);
        put(&mut vars, "web_secret", &web.secret);
        put(&mut vars, "xch", &xch.client_id);
        put(&mut vars, "xch_secret", &xch.secret);
        put(&mut vars, "bare", &bare.client_id);
        put(&mut vars, "bare2", &bare2.client_id);
        put(&mut vars, "spa", &spa.client_id);
        put(&mut vars, "tv", &tv.client_id);
        put(&mut vars, "password", PASSWORD);
        put(&mut vars, "jwt", &jwt);
        put(&mut vars, "jwt_none", &jwt_none);
        put(&mut vars, "jwt_hs256", &jwt_hs256);
        put(&mut vars, "jwt_tampered", &jwt_tampered);
        put(&mut vars, "jwt_foreign", &jwt_foreign);
        put(&mut vars, "access", &s(&login.json, "access_token"));
        put(&mut vars, "refresh", &s(&login.json, "refresh_token"));
        put(&mut vars, "cc_token", &s(&cc_token.json, "access_token"));
        put(&mut vars, "device_code", &s(&device.json, "device_code"));
        put(&mut vars, "long_scope", &"S".repeat(5000));
        put(&mut vars, "verifier129", &"v".repeat(129));
        let secrets = vec![
            cc.secret.clone(),
            cc2.secret.clone(),
            jonly.secret.clone(),
            web.secret.clone(),
            xch.secret.clone(),
            PASSWORD.to_string(),
            ADMIN_TOKEN.to_string(),
            jwt.clone(),
            jwt_none,
            jwt_hs256,
            jwt_tampered,
            jwt_foreign,
            s(&login.json, "access_token"),
            s(&login.json, "refresh_token"),
            s(&cc_token.json, "access_token"),
            s(&device.json, "device_code"),
        ];
        Self {
            server,
            vars,
            secrets,
        }
    }

    /// Replaces every `{name}` of the run's values in `template`.
    fn fill(&self, template: &str, oauth: &str) -> String {
        let mut out = template.replace("{oauth}", oauth);
        // Longest names first, so {cc} does not eat {cc_secret}.
        let mut names: Vec<&&str> = self.vars.keys().collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for n in names {
            out = out.replace(&format!("{{{n}}}"), &self.vars[*n]);
        }
        out
    }

    async fn send(&self, c: &Case, oauth: &str) -> Reply {
        let url = self.server.url(&self.fill(c.path, oauth));
        let body = self.fill(c.body, oauth);
        let http = &self.server.http;
        let mut req = match c.method {
            "GET" => http.get(&url),
            "PUT" => http.put(&url),
            _ => http.post(&url),
        };
        if c.method == "POST_TEXT" {
            req = req.header("content-type", "text/plain");
        } else if body.starts_with('{') {
            req = req.header("content-type", "application/json");
        } else if !body.is_empty() || c.method == "POST" {
            req = req.header("content-type", "application/x-www-form-urlencoded");
        }
        if !body.is_empty() {
            req = req.body(body);
        }
        req = match c.auth {
            Auth::None => req,
            Auth::Basic(id, secret) => req.header(
                "authorization",
                basic_header(&self.fill(id, oauth), &self.fill(secret, oauth)),
            ),
            Auth::Header(h) => req.header("authorization", self.fill(h, oauth)),
            Auth::Bearer(t) => {
                req.header("authorization", format!("Bearer {}", self.fill(t, oauth)))
            }
            Auth::Admin => req.header("authorization", format!("Bearer {ADMIN_TOKEN}")),
        };
        Reply::from(req.send().await.expect("request")).await
    }

    /// No secret of the run in the response's body or headers.
    #[track_caller]
    fn assert_nothing_echoed(&self, what: &str, r: &Reply) {
        let headers: String = r
            .headers
            .iter()
            .filter(|(k, _)| k.as_str() != "x-request-id")
            .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        for secret in &self.secrets {
            assert!(
                !r.text.contains(secret.as_str()) && !headers.contains(secret.as_str()),
                "{what}: a secret is echoed: {} {headers}",
                r.text
            );
        }
    }
}

/// The error a response carries: from the JSON body, or from the redirect's
/// query (authorization errors that go back to the app).
fn error_of(r: &Reply) -> (String, String, String) {
    if r.status == 303 {
        let location = r.header("location").unwrap_or_default();
        let q: HashMap<String, String> = form_urlencoded::parse(
            location
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .as_bytes(),
        )
        .into_owned()
        .collect();
        let uri = q.get("error_uri").cloned().unwrap_or_default();
        let code = uri.rsplit('/').next().unwrap_or("").to_string();
        return (
            q.get("error").cloned().unwrap_or_default(),
            code,
            q.get("error_description").cloned().unwrap_or_default(),
        );
    }
    (
        r.json["error"].as_str().unwrap_or("").to_string(),
        r.code().to_string(),
        r.json["error_description"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[tokio::test]
async fn every_broken_request_is_answered_precisely() {
    let f = Fixture::new().await;
    let mut sent = 0;
    let mut failures = Vec::new();
    for c in CASES {
        let families: &[&str] = if c.path.starts_with("{oauth}") {
            &["/oauth", "/restapi/oauth"]
        } else {
            &[""]
        };
        for oauth in families {
            let r = f.send(c, oauth).await;
            sent += 1;
            let what = format!("{} ({oauth})", c.name);
            let (error, code, description) = error_of(&r);
            let mut wrong = Vec::new();
            if r.status != c.status {
                wrong.push(format!("status {} (want {})", r.status, c.status));
            }
            if error != c.error {
                wrong.push(format!("error {error} (want {})", c.error));
            }
            if !c.code.is_empty() && code != c.code {
                wrong.push(format!("code {code} (want {})", c.code));
            }
            for say in c.says {
                let say = f.fill(say, oauth);
                if !description.contains(&say) {
                    wrong.push(format!("lacks {say:?}"));
                }
            }
            let fix = f.fill(c.fix, oauth);
            if !description.contains(&fix) {
                wrong.push(format!("lacks the fix {fix:?}"));
            }
            if r.status != 303 && !c.code.is_empty() {
                let uri = r.json["error_uri"].as_str().unwrap_or("");
                if !uri.ends_with(&format!("/docs/errors/{}", c.code)) {
                    wrong.push(format!("error_uri {uri}"));
                }
            }
            f.assert_nothing_echoed(&what, &r);
            if !wrong.is_empty() {
                failures.push(format!("{what}: {}\n    {description}", wrong.join("; ")));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(sent >= 150, "the corpus has {sent} requests");
    let log = format!("{}{}", f.server.log(), f.server.stdout());
    for secret in &f.secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the server's output"
        );
    }
}

/// RingCentral's documented `POST /restapi/oauth/revoke?token=…` works on
/// that path only, and the token is never logged; anywhere else a token in
/// the URL is named and refused.
#[tokio::test]
async fn revoke_takes_the_token_in_the_query_on_the_ringcentral_path_only() {
    let f = Fixture::new().await;
    let (cc, secret) = (&f.vars["cc"], &f.vars["cc_secret"]);
    let access = f.vars["access"].clone();
    let r = f
        .server
        .post_form(
            &format!("/oauth/revoke?token={access}"),
            Some((cc, secret)),
            "",
        )
        .await;
    r.assert_error(400, "invalid_request", "GRD-102", &["(token)"]);
    f.assert_nothing_echoed("revoke ?token on /oauth", &r);
    // Introspection has no such exception, on either path.
    let r = f
        .server
        .post_form(
            &format!("/restapi/oauth/introspect?token={access}"),
            Some((cc, secret)),
            "",
        )
        .await;
    r.assert_error(400, "invalid_request", "GRD-102", &["(token)"]);
    // The token both in the query and the body: a duplicate.
    let r = f
        .server
        .post_form(
            &format!("/restapi/oauth/revoke?token={access}"),
            Some((cc, secret)),
            &format!("token={access}"),
        )
        .await;
    r.assert_error(
        400,
        "invalid_request",
        "OAU-111",
        &["'token' appears more than once"],
    );
    // Any other query parameter is still refused there.
    let r = f
        .server
        .post_form(
            &format!("/restapi/oauth/revoke?token={access}&token_type_hint=access_token"),
            Some((cc, secret)),
            "",
        )
        .await;
    r.assert_error(400, "invalid_request", "GRD-102", &["(token_type_hint)"]);
    // The exception itself: the session ends.
    let before = f
        .server
        .post_form(
            "/oauth/introspect",
            Some((cc, secret)),
            &format!("token={access}"),
        )
        .await;
    assert_eq!(before.json["active"], true, "{}", before.text);
    let r = f
        .server
        .post_form(
            &format!("/restapi/oauth/revoke?token={access}"),
            Some((cc, secret)),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let after = f
        .server
        .post_form(
            "/oauth/introspect",
            Some((cc, secret)),
            &format!("token={access}"),
        )
        .await;
    assert_eq!(after.json["active"], false, "{}", after.text);
    let log = format!("{}{}", f.server.log(), f.server.stdout());
    assert!(
        log.contains("/restapi/oauth/revoke"),
        "the request is logged"
    );
    assert!(!log.contains(&access), "the token is never logged");
}

/// A token request with every mistake at once: following each answer's
/// fix, as the description words it, reaches a token.
#[tokio::test]
async fn following_each_fix_reaches_a_token() {
    let f = Fixture::new().await;
    let (cc, secret) = (f.vars["cc"].clone(), f.vars["cc_secret"].clone());
    // Secret and id swapped, the secret read from a file with its newline,
    // scope in the URL, grant type in the wrong case, scopes comma-joined.
    let mut query: Vec<(String, String)> = vec![("scope".into(), "ReadAccounts,SMS".into())];
    let mut body: Vec<(String, String)> = vec![("grant_type".into(), "Client_Credentials".into())];
    let mut basic = (format!("{secret}\n"), cc.clone());
    let mut seen = Vec::new();
    for _ in 0..10 {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&query)
            .finish();
        let path = if q.is_empty() {
            "/oauth/token".to_string()
        } else {
            format!("/oauth/token?{q}")
        };
        let b = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&body)
            .finish();
        let r = f
            .server
            .post_form(&path, Some((&basic.0, &basic.1)), &b)
            .await;
        f.assert_nothing_echoed("follow the fix", &r);
        if r.status == 200 {
            assert_eq!(r.json["scope"], "ReadAccounts SMS", "{}", r.text);
            break;
        }
        let code = r.code().to_string();
        let d = r.json["error_description"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(!seen.contains(&code), "{code} came back after its fix: {d}");
        seen.push(code.clone());
        match code.as_str() {
            // "Move it into the body"
            "GRD-102" => {
                assert!(d.contains("Move it into the body"), "{d}");
                body.append(&mut query);
            }
            // "Did you mean 'client_credentials'? … Send grant_type=client_credentials."
            "OAU-250" => {
                let v = d
                    .split("Send grant_type=")
                    .nth(1)
                    .and_then(|s| s.split('.').next())
                    .expect(&d);
                body.retain(|(k, _)| k != "grant_type");
                body.push(("grant_type".into(), v.to_string()));
            }
            // "the client id and the secret are swapped"
            "OAU-153" => {
                assert!(d.contains("swapped"), "{d}");
                basic = (basic.1.clone(), basic.0.clone());
            }
            // "ends with a newline … Remove it"
            "OAU-146" => {
                assert!(
                    d.contains("ends with a newline") && d.contains("Remove it"),
                    "{d}"
                );
                basic.1 = basic.1.trim_end_matches('\n').to_string();
            }
            // "send scope=ReadAccounts+SMS"
            "GRD-301" => {
                let v = d
                    .split("send scope=")
                    .nth(1)
                    .and_then(|s| s.split(',').next())
                    .expect(&d);
                body.retain(|(k, _)| k != "scope");
                body.push(("scope".into(), v.replace('+', " ")));
            }
            other => panic!("no fix to follow for {other}: {d}"),
        }
    }
    assert_eq!(
        seen,
        ["GRD-102", "OAU-250", "OAU-153", "OAU-146", "GRD-301"]
    );

    // A refresh: the access token sent, then a wider scope; each fix followed.
    let mut refresh_body = format!(
        "grant_type=refresh_token&refresh_token={}&scope=ReadAccounts+SMS",
        f.vars["access"]
    );
    let r = f
        .server
        .post_form("/restapi/oauth/token", Some((&cc, &secret)), &refresh_body)
        .await;
    r.assert_error(
        400,
        "invalid_grant",
        "GRD-118",
        &["Send the refresh_token field"],
    );
    refresh_body = refresh_body.replace(&f.vars["access"], &f.vars["refresh"]);
    let r = f
        .server
        .post_form("/restapi/oauth/token", Some((&cc, &secret)), &refresh_body)
        .await;
    r.assert_error(400, "invalid_scope", "GRD-117", &["Refresh without scope"]);
    refresh_body = refresh_body.replace("&scope=ReadAccounts+SMS", "");
    let r = f
        .server
        .post_form("/restapi/oauth/token", Some((&cc, &secret)), &refresh_body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The authorization endpoint: an app with neither a redirect URI nor
    // the code grant is told both at once; the one update it names works,
    // then a near-miss redirect URI is corrected as suggested.
    let bare2 = f.vars["bare2"].clone();
    let url = f.server.url(&format!("/oauth/authorize?response_type=code&client_id={bare2}&redirect_uri=https%3A%2F%2Fbare.example.com%2Fcb%2F"));
    let r = Reply::from(f.server.http.get(&url).send().await.unwrap()).await;
    r.assert_error(
        400,
        "invalid_request",
        "OAU-113",
        &["--grants refresh_token,authorization_code"],
    );
    let (status, body) = f
        .server
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/apps/{bare2}"),
            Some(json!({"redirect_uris": ["https://bare.example.com/cb"], "grants": ["refresh_token", "authorization_code"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r = Reply::from(f.server.http.get(&url).send().await.unwrap()).await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-351",
        &["Did you mean 'https://bare.example.com/cb'"],
    );
    let d = r.json["error_description"].as_str().unwrap_or("");
    let suggested = d
        .split("Did you mean '")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap();
    let url = f.server.url(&format!(
        "/oauth/authorize?response_type=code&client_id={bare2}&redirect_uri={}",
        form_urlencoded::byte_serialize(suggested.as_bytes()).collect::<String>()
    ));
    let r = Reply::from(
        f.server
            .http
            .get(&url)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "the sign-in page: {}", r.text);
    assert!(r.text.contains("/oauth/authorize/login"), "{}", r.text);
}

/// Every secret, password, code, token and assertion of the run, sent in
/// every parameter and header position to every endpoint: none comes back
/// in a response, and none is in the server's log or output.
#[tokio::test]
async fn no_secret_is_ever_echoed_or_logged() {
    let f = Fixture::new().await;
    let endpoints = [
        ("POST", "/oauth/token"),
        ("POST", "/restapi/oauth/token"),
        ("POST", "/oauth/revoke"),
        ("POST", "/restapi/oauth/revoke"),
        ("POST", "/oauth/introspect"),
        ("POST", "/restapi/oauth/introspect"),
        ("POST", "/oauth/device_authorization"),
        ("GET", "/oauth/authorize"),
        ("GET", "/restapi/oauth/authorize"),
        ("GET", "/oauth/userinfo"),
        ("GET", EXT),
        ("GET", "/admin/v1/apps"),
    ];
    // Every parameter but the two whose value the protocol returns as sent:
    // `state` (RFC 6749 §4.1.2) and RingCentral's `endpoint_id`.
    let params = [
        "client_id",
        "client_secret",
        "grant_type",
        "scope",
        "code",
        "code_verifier",
        "refresh_token",
        "assertion",
        "token",
        "username",
        "password",
        "redirect_uri",
        "device_code",
        "subject_token",
        "actor_token",
        "response_type",
        "prompt",
        "code_challenge",
        "code_challenge_method",
        "audience",
        "resource",
        "subject_token_type",
        "token_type_hint",
        "extension",
        "nonce",
    ];
    let cc = f.vars["cc"].clone();
    // Each parameter with the grant that reads it, so it is read, not skipped.
    let grant_of = |p: &str| match p {
        "refresh_token" => "refresh_token",
        "code" | "code_verifier" | "redirect_uri" => "authorization_code",
        "assertion" => JWT_GRANT,
        "device_code" => "urn:ietf:params:oauth:grant-type:device_code",
        "username" | "password" => "password",
        "subject_token" => "urn:ietf:params:oauth:grant-type:token-exchange",
        _ => "client_credentials",
    };
    let mut sent = 0;
    // One of each kind (the forged assertions and the other apps' secrets
    // are only checked for in what comes back).
    let kinds = [
        "cc_secret",
        "web_secret",
        "password",
        "jwt",
        "access",
        "refresh",
        "cc_token",
        "device_code",
    ];
    let sending: Vec<String> = kinds
        .iter()
        .map(|k| f.vars[*k].clone())
        .chain([ADMIN_TOKEN.to_string()])
        .collect();
    for secret in &sending {
        let enc: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for (method, path) in endpoints {
            let mut requests: Vec<reqwest::RequestBuilder> = Vec::new();
            let http = &f.server.http;
            let build = |m: &str, url: String| {
                if m == "GET" {
                    http.get(url)
                } else {
                    http.post(url)
                }
            };
            // In each parameter, in the body (with each grant) and in the query.
            for p in params {
                let body = if p == "grant_type" {
                    format!("grant_type={enc}")
                } else {
                    format!("grant_type={}&{p}={enc}", grant_of(p))
                };
                let q = if method == "GET" {
                    format!("?client_id={}&response_type=code&{p}={enc}", f.vars["web"])
                } else {
                    String::new()
                };
                requests.push(
                    build(method, f.server.url(&format!("{path}{q}")))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("authorization", basic_header(&cc, &f.vars["cc_secret"]))
                        .body(body),
                );
                requests.push(build(method, f.server.url(&format!("{path}?{p}={enc}"))));
            }
            // In each header position.
            for auth in [
                basic_header(secret, "x"),
                basic_header(&cc, secret),
                basic_header(secret, &cc),
                format!("Bearer {secret}"),
                format!("bearer {secret}"),
                format!("Basic {secret}"),
                format!("Digest {secret}"),
                secret.to_string(),
            ] {
                requests.push(
                    build(method, f.server.url(path))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("authorization", auth)
                        .body("grant_type=client_credentials&token=x"),
                );
            }
            requests.push(
                build(method, f.server.url(path))
                    .header(
                        "cookie",
                        format!("grantd_session={secret}; grantd_csrf={secret}"),
                    )
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("client_id={enc}")),
            );
            requests.push(
                build(method, f.server.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("{enc}={enc}")),
            );
            requests.push(
                build(method, f.server.url(path))
                    .header("content-type", "application/json")
                    .body(json!({"password": secret, "client_secret": secret}).to_string()),
            );
            for req in requests {
                let r = Reply::from(req.send().await.expect("request")).await;
                // The sign-in page carries the authorization request on, in
                // its form, to the user who sent it: not an answer about it.
                if method == "GET" && path.ends_with("/authorize") && r.status == 200 {
                    sent += 1;
                    continue;
                }
                f.assert_nothing_echoed(&format!("{method} {path}"), &r);
                sent += 1;
            }
        }
    }
    assert!(sent > 4000, "{sent} requests");
    let out = format!("{}{}", f.server.log(), f.server.stdout());
    for (i, secret) in f.secrets.iter().enumerate() {
        assert!(
            !out.contains(secret.as_str()),
            "secret #{i} is in the server's output"
        );
        // A prefix long enough to be usable is not either.
        let head: String = secret.chars().take(16).collect();
        if secret.len() > 24 && !head.starts_with("eyJ") && !head.starts_with("correct") {
            assert!(
                !out.contains(&head),
                "secret #{i}'s first 16 characters are in the server's output"
            );
        }
    }
}
