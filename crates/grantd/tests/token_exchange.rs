//! Token exchange (RFC 8693) over HTTP: impersonation, delegation and its
//! chains, the requested token type, resource-server audiences and their
//! introspection, each policy, and every refusal.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{App, Reply, Server};
use reqwest::Method;
use serde_json::{json, Value};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const EXTENSION: &str = "/restapi/v1.0/account/~/extension/~";
const SCOPES: [&str; 3] = ["ReadAccounts", "SMS", "EditAccounts"];

/// A user signed in to a front-end app, two services behind it and an API.
struct World {
    user_id: String,
    credential: String,
    /// Signs the user in (JWT grant); enabled for token exchange, no policy.
    front: App,
    /// May exchange the front end's tokens.
    service_a: App,
    /// May exchange service A's tokens, for the billing API.
    service_b: App,
    billing_api: App,
    /// The front end's session: access, refresh and ID token.
    login: Value,
}

async fn world(server: &Server) -> World {
    let billing_api = server
        .server_only_app(json!({"name": "Billing API", "resource_server": true}))
        .await;
    let front = server
        .server_only_app(json!({"name": "Front", "scopes": SCOPES,
            "grants": ["jwt_bearer", "refresh_token", "token_exchange"]}))
        .await;
    let service_a = server
        .server_only_app(json!({"name": "Service A", "scopes": SCOPES,
            "grants": ["client_credentials", "token_exchange"],
            "token_exchange": {"allowed_subject_apps": [front.client_id]}}))
        .await;
    let service_b = server
        .server_only_app(json!({"name": "Service B", "scopes": SCOPES,
            "grants": ["client_credentials", "token_exchange"],
            "token_exchange": {"allowed_subject_apps": [service_a.client_id],
                               "audiences": [billing_api.client_id]}}))
        .await;
    let user = server
        .create_user(
            json!({"email": "alice@example.com", "name": "Alice Smith", "extension_number": "101"}),
        )
        .await;
    let user_id = s(&user, "id");
    let (_, credential) = server.create_credential(&user_id, json!({})).await;
    let login = token(
        server,
        &front,
        &[
            ("grant_type", JWT_GRANT),
            ("assertion", &credential),
            ("scope", "ReadAccounts SMS openid"),
        ],
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.text);
    World {
        user_id,
        credential,
        front,
        service_a,
        service_b,
        billing_api,
        login: login.json,
    }
}

async fn token(server: &Server, app: &App, params: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    server
        .post_form("/oauth/token", Some((&app.client_id, &app.secret)), &body)
        .await
}

/// An exchange of `subject` (an access token unless `extra` says otherwise).
async fn exchange(server: &Server, app: &App, subject: &str, extra: &[(&str, &str)]) -> Reply {
    let mut params = vec![("grant_type", EXCHANGE), ("subject_token", subject)];
    if !extra.iter().any(|(k, _)| *k == "subject_token_type") {
        params.push(("subject_token_type", ACCESS_TOKEN));
    }
    params.extend_from_slice(extra);
    token(server, app, &params).await
}

async fn client_token(server: &Server, app: &App) -> String {
    let r = token(server, app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    s(&r.json, "access_token")
}

async fn introspect(server: &Server, caller: &App, token: &str) -> Value {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    let r = server
        .post_form(
            "/oauth/introspect",
            Some((&caller.client_id, &caller.secret)),
            &body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

async fn revoke(server: &Server, caller: &App, token: &str) {
    let r = server
        .post_form(
            "/oauth/revoke",
            Some((&caller.client_id, &caller.secret)),
            &format!("token={token}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A JWT's claims (the signature is grantd's to check; see introspection).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

#[tokio::test]
async fn impersonation_keeps_the_subject_and_ends_with_its_session() {
    let server = Server::start();
    let w = world(&server).await;
    let subject = s(&w.login, "access_token");

    // The front end exchanges its own token (no policy needed) for a narrower one.
    let r = exchange(&server, &w.front, &subject, &[("scope", "ReadAccounts")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(r.json["token_type"], "bearer");
    assert_eq!(r.json["scope"], "ReadAccounts");
    assert!(
        r.json.get("refresh_token").is_none(),
        "an exchange never issues a refresh token: {}",
        r.text
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let exchanged = s(&r.json, "access_token");
    let c = claims(&exchanged);
    assert_eq!(c["sub"], w.user_id.as_str());
    assert_eq!(c["client_id"], w.front.client_id.as_str());
    assert_eq!(c["session_id"], w.login["session_id"]);
    assert!(c.get("act").is_none(), "impersonation names no actor: {c}");
    assert!(c["exp"].as_i64() <= claims(&subject)["exp"].as_i64());

    // It works at grantd's API as the user, and introspects as the front end's.
    let me = server.get_bearer(EXTENSION, &exchanged).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["id"].to_string().trim_matches('"'), w.user_id);
    let i = introspect(&server, &w.front, &exchanged).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["sub"], w.user_id.as_str());
    assert!(i.get("act").is_none());

    // The same scope is allowed; leaving scope out keeps the subject's.
    let r = exchange(&server, &w.front, &subject, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["scope"], "ReadAccounts SMS openid");

    // Logging out of the session ends the exchanged token too.
    revoke(&server, &w.front, &subject).await;
    assert_eq!(
        introspect(&server, &w.front, &exchanged).await["active"],
        false
    );
    server.get_bearer(EXTENSION, &exchanged).await.assert_error(
        401,
        "invalid_token",
        "GRD-341",
        &["session has ended"],
    );
}

#[tokio::test]
async fn delegation_names_the_actor_and_chains_nest() {
    let server = Server::start();
    let w = world(&server).await;
    let subject = s(&w.login, "access_token");

    // Service A acts for Alice: its own token is the actor.
    let actor_a = client_token(&server, &w.service_a).await;
    let r = exchange(
        &server,
        &w.service_a,
        &subject,
        &[
            ("actor_token", &actor_a),
            ("actor_token_type", ACCESS_TOKEN),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t1 = s(&r.json, "access_token");
    let c = claims(&t1);
    assert_eq!(c["sub"], w.user_id.as_str());
    assert_eq!(c["client_id"], w.service_a.client_id.as_str());
    let a = w.service_a.client_id.as_str();
    assert_eq!(c["act"], json!({"sub": a, "client_id": a}));
    let i = introspect(&server, &w.service_a, &t1).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["act"], json!({"sub": a, "client_id": a}));

    // Service B takes over from A: B is the actor now, A the one before it.
    let actor_b = client_token(&server, &w.service_b).await;
    let r = exchange(
        &server,
        &w.service_b,
        &t1,
        &[("actor_token", &actor_b), ("actor_token_type", JWT)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t2 = s(&r.json, "access_token");
    let b = w.service_b.client_id.as_str();
    assert_eq!(
        claims(&t2)["act"],
        json!({"sub": b, "client_id": b, "act": {"sub": a, "client_id": a}})
    );
    assert_eq!(claims(&t2)["sub"], w.user_id.as_str());

    // Without an actor the chain stays: a delegated token never passes for the user's own.
    let r = exchange(&server, &w.service_b, &t1, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(&s(&r.json, "access_token"))["act"],
        json!({"sub": a, "client_id": a})
    );

    // The actor must be the requesting app: B may not claim A acts.
    exchange(
        &server,
        &w.service_b,
        &t1,
        &[
            ("actor_token", &actor_a),
            ("actor_token_type", ACCESS_TOKEN),
        ],
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "GRD-386",
        &["actor_token says who acts", a],
    );

    // Revoking the delegated token revokes it alone: the user's session goes on.
    revoke(&server, &w.service_a, &t1).await;
    assert_eq!(
        introspect(&server, &w.service_a, &t1).await["active"],
        false
    );
    assert_eq!(
        introspect(&server, &w.front, &subject).await["active"],
        true
    );
    assert_eq!(introspect(&server, &w.service_b, &t2).await["active"], true);
    // Revoking the session's own token ends the session and every exchanged token of it.
    revoke(&server, &w.front, &subject).await;
    assert_eq!(
        introspect(&server, &w.service_b, &t2).await["active"],
        false
    );
}

#[tokio::test]
async fn requested_token_type_jwt_or_access_token() {
    let server = Server::start();
    let w = world(&server).await;
    let opaque = server
        .server_only_app(
            json!({"name": "Opaque Service", "scopes": SCOPES, "access_token_format": "opaque",
            "grants": ["jwt_bearer", "client_credentials", "token_exchange"]}),
        )
        .await;
    let login = token(
        &server,
        &opaque,
        &[("grant_type", JWT_GRANT), ("assertion", &w.credential)],
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let subject = s(&login.json, "access_token");
    let actor = client_token(&server, &opaque).await;
    assert_eq!(actor.matches('.').count(), 0, "the app's tokens are opaque");

    // access_token (the default): the app's format, opaque here; act is kept with it.
    let r = exchange(
        &server,
        &opaque,
        &subject,
        &[("actor_token", &actor), ("actor_token_type", ACCESS_TOKEN)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["issued_token_type"], ACCESS_TOKEN);
    let t = s(&r.json, "access_token");
    assert_eq!(t.matches('.').count(), 0, "an opaque token: {t}");
    let i = introspect(&server, &opaque, &t).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["sub"], w.user_id.as_str());
    assert_eq!(i["session_id"], login.json["session_id"]);
    let o = opaque.client_id.as_str();
    assert_eq!(i["act"], json!({"sub": o, "client_id": o}));
    let me = server.get_bearer(EXTENSION, &t).await;
    assert_eq!(me.status, 200, "{}", me.text);

    // jwt: a JWT access token whatever the app's format.
    let r = exchange(&server, &opaque, &subject, &[("requested_token_type", JWT)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["issued_token_type"], JWT);
    let t = s(&r.json, "access_token");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims(&t)["sub"], w.user_id.as_str());
    // The default is access_token, said in full.
    let r = exchange(
        &server,
        &w.front,
        &s(&w.login, "access_token"),
        &[("requested_token_type", ACCESS_TOKEN)],
    )
    .await;
    assert_eq!(r.json["issued_token_type"], ACCESS_TOKEN, "{}", r.text);
}

#[tokio::test]
async fn an_audience_is_a_resource_server_and_only_it_introspects() {
    let server = Server::start();
    let w = world(&server).await;
    let r = exchange(&server, &w.service_a, &s(&w.login, "access_token"), &[]).await;
    let t1 = s(&r.json, "access_token");

    let r = exchange(
        &server,
        &w.service_b,
        &t1,
        &[("audience", &w.billing_api.client_id)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let for_billing = s(&r.json, "access_token");
    assert_eq!(
        claims(&for_billing)["aud"],
        w.billing_api.client_id.as_str()
    );

    // The billing API introspects it; another resource server does not see it.
    let i = introspect(&server, &w.billing_api, &for_billing).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["aud"], w.billing_api.client_id.as_str());
    assert_eq!(i["sub"], w.user_id.as_str());
    assert_eq!(i["client_id"], w.service_b.client_id.as_str());
    let other_api = server
        .server_only_app(json!({"name": "Other API", "resource_server": true}))
        .await;
    assert_eq!(
        introspect(&server, &other_api, &for_billing).await["active"],
        false
    );
    // Tokens for grantd's own API stay visible to every resource server.
    assert_eq!(introspect(&server, &other_api, &t1).await["active"], true);
    // grantd's own API refuses a token for another API.
    server
        .get_bearer(EXTENSION, &for_billing)
        .await
        .assert_error(401, "invalid_token", "GRD-388", &[&w.billing_api.client_id]);

    // resource (RFC 8707) names it the same way; two different targets are refused.
    let r = exchange(
        &server,
        &w.service_b,
        &t1,
        &[("resource", &w.billing_api.client_id)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(&s(&r.json, "access_token"))["aud"],
        w.billing_api.client_id.as_str()
    );
    exchange(
        &server,
        &w.service_b,
        &t1,
        &[
            ("audience", &w.billing_api.client_id),
            ("resource", &other_api.client_id),
        ],
    )
    .await
    .assert_error(
        400,
        "invalid_target",
        "GRD-387",
        &["different resource servers"],
    );
}

#[tokio::test]
async fn id_tokens_and_jwt_credentials_sign_the_user_in() {
    let server = Server::start();
    let w = world(&server).await;

    // The front end's own ID token: the app's scopes stand in for the token's.
    let r = exchange(
        &server,
        &w.front,
        &s(&w.login, "id_token"),
        &[("subject_token_type", ID_TOKEN), ("scope", "SMS")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = s(&r.json, "access_token");
    let c = claims(&t);
    assert_eq!(c["sub"], w.user_id.as_str());
    assert_ne!(
        c["session_id"], w.login["session_id"],
        "a session of its own"
    );
    let me = server.get_bearer(EXTENSION, &t).await;
    assert_eq!(me.status, 200, "{}", me.text);

    // A JWT credential (type jwt), allowed for the app as with the JWT grant.
    let r = exchange(
        &server,
        &w.front,
        &w.credential,
        &[("subject_token_type", JWT)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(&s(&r.json, "access_token"))["sub"],
        w.user_id.as_str()
    );
    assert!(r.json.get("refresh_token").is_none());
}

#[tokio::test]
async fn every_refusal_names_its_cause() {
    let server = Server::start();
    let w = world(&server).await;
    let subject = s(&w.login, "access_token");
    let front = w.front.client_id.as_str();

    // Token types: unknown, SAML, a refresh token named, sent or asked for, a mismatch.
    exchange(
        &server,
        &w.front,
        &subject,
        &[("subject_token_type", "bearer")],
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "GRD-380",
        &[ACCESS_TOKEN, ID_TOKEN, JWT],
    );
    exchange(
        &server,
        &w.front,
        &subject,
        &[(
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:saml2",
        )],
    )
    .await
    .assert_error(400, "invalid_request", "GRD-380", &["SAML"]);
    let refresh = s(&w.login, "refresh_token");
    exchange(
        &server,
        &w.front,
        &refresh,
        &[("subject_token_type", REFRESH_TOKEN)],
    )
    .await
    .assert_error(400, "invalid_request", "GRD-381", &["session"]);
    exchange(&server, &w.front, &refresh, &[])
        .await
        .assert_error(400, "invalid_request", "GRD-381", &["is a refresh token"]);
    exchange(
        &server,
        &w.front,
        &subject,
        &[("requested_token_type", REFRESH_TOKEN)],
    )
    .await
    .assert_error(400, "invalid_request", "GRD-381", &["requested_token_type"]);
    exchange(
        &server,
        &w.front,
        &subject,
        &[("subject_token_type", ID_TOKEN)],
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "GRD-382",
        &["a JWT access token", ACCESS_TOKEN],
    );
    exchange(&server, &w.front, "not-a-token", &[])
        .await
        .assert_error(
            400,
            "invalid_request",
            "GRD-383",
            &["not a token this server issued"],
        );
    exchange(&server, &w.front, &subject, &[("actor_token", &subject)])
        .await
        .assert_error(400, "invalid_request", "GRD-105", &["actor_token_type"]);

    // Whose tokens: another app's without a policy, an app the policy does not name.
    let stranger = server
        .server_only_app(json!({"name": "Stranger", "scopes": SCOPES,
            "grants": ["client_credentials", "token_exchange"]}))
        .await;
    exchange(&server, &stranger, &subject, &[])
        .await
        .assert_error(
            400,
            "invalid_request",
            "GRD-386",
            &["no token_exchange policy", front, "--exchange-subject-apps"],
        );
    exchange(&server, &w.service_b, &subject, &[])
        .await
        .assert_error(
            400,
            "invalid_request",
            "GRD-386",
            &["allowed_subject_apps", &w.service_a.client_id, front],
        );

    // Audiences: none without a policy, only those the policy lists.
    let billing = w.billing_api.client_id.as_str();
    exchange(&server, &w.front, &subject, &[("audience", billing)])
        .await
        .assert_error(
            400,
            "invalid_target",
            "GRD-387",
            &["no token_exchange policy", billing],
        );
    exchange(&server, &w.service_a, &subject, &[("audience", billing)])
        .await
        .assert_error(400, "invalid_target", "GRD-387", &["audiences", billing]);
    // grantd's own audience is always allowed (it is the default).
    let own = server.base.clone();
    let r = exchange(&server, &w.front, &subject, &[("audience", &own)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A listed app that stopped being a resource server.
    let (status, body) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{billing}"),
            Some(json!({"resource_server": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let t1 = s(
        &exchange(&server, &w.service_a, &subject, &[]).await.json,
        "access_token",
    );
    exchange(&server, &w.service_b, &t1, &[("audience", billing)])
        .await
        .assert_error(
            400,
            "invalid_target",
            "GRD-387",
            &["not a registered resource server"],
        );

    // Scopes: never wider than the subject token's, nor than the policy's max_scope.
    exchange(
        &server,
        &w.front,
        &subject,
        &[("scope", "ReadAccounts EditAccounts")],
    )
    .await
    .assert_error(
        400,
        "invalid_scope",
        "GRD-389",
        &["'EditAccounts'", "subject token's scope"],
    );
    let (status, body) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{}", w.service_a.client_id),
            Some(json!({"token_exchange": {"max_scope": ["ReadAccounts"]}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["token_exchange"]["allowed_subject_apps"],
        json!([front]),
        "fields left out stay: {body}"
    );
    exchange(&server, &w.service_a, &subject, &[("scope", "SMS")])
        .await
        .assert_error(
            400,
            "invalid_scope",
            "GRD-389",
            &["'SMS'", "max_scope", "ReadAccounts"],
        );
    let r = exchange(&server, &w.service_a, &subject, &[]).await;
    assert_eq!(r.json["scope"], "ReadAccounts", "{}", r.text);

    // An app not enabled for token exchange is refused as for any grant.
    let not_enabled = server.server_only_app(json!({"name": "Plain"})).await;
    exchange(&server, &not_enabled, &subject, &[])
        .await
        .assert_error(400, "unauthorized_client", "OAU-251", &["token_exchange"]);

    // A revoked subject, one whose session ended, then an expired one.
    let r = token(
        &server,
        &w.front,
        &[("grant_type", JWT_GRANT), ("assertion", &w.credential)],
    )
    .await;
    let second = s(&r.json, "access_token");
    let delegated = s(
        &exchange(&server, &w.service_a, &subject, &[]).await.json,
        "access_token",
    );
    revoke(&server, &w.front, &subject).await;
    exchange(&server, &w.service_a, &subject, &[])
        .await
        .assert_error(400, "invalid_request", "GRD-385", &["it was revoked"]);
    exchange(&server, &w.service_b, &delegated, &[])
        .await
        .assert_error(
            400,
            "invalid_request",
            "GRD-385",
            &["its session", "ended (revoked)"],
        );
    server.advance(3700);
    exchange(&server, &w.service_a, &second, &[])
        .await
        .assert_error(
            400,
            "invalid_request",
            "GRD-384",
            &["a JWT access token", "expired at"],
        );
}

#[tokio::test]
async fn the_policy_is_checked_when_set_and_the_cli_sets_it() {
    let server = Server::start();
    let api = server
        .server_only_app(json!({"name": "API", "resource_server": true}))
        .await;
    let plain = server.server_only_app(json!({"name": "Plain"})).await;
    let spec = |policy: Value| {
        json!({"name": "X", "platform_type": "server-only",
               "grants": ["client_credentials", "token_exchange"], "token_exchange": policy})
    };
    for (policy, says) in [
        (
            json!({"audiences": [plain.client_id]}),
            "not a registered resource server",
        ),
        (
            json!({"allowed_subject_apps": ["nope"]}),
            "not a registered app",
        ),
        (json!({"surprise": true}), "surprise"),
    ] {
        let (status, body) = server
            .admin(Method::POST, "/admin/v1/apps", Some(spec(policy)))
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains(says), "{body}");
    }
    // Without the grant, a policy is refused; token_exchange is never on by default.
    let (status, body) = server
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "Y", "platform_type": "server-only",
                        "token_exchange": {"audiences": [api.client_id]}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("token_exchange grant"), "{body}");
    let (_, body) = server
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "Z", "platform_type": "server-web",
                        "redirect_uris": ["https://z.example/cb"]})),
        )
        .await;
    assert_eq!(
        body["grants"],
        json!(["authorization_code", "refresh_token"])
    );

    let cli = |args: &[&str]| {
        std::process::Command::new(common::bin())
            .arg("--data-dir")
            .arg(&server.dir)
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "app",
        "create",
        "--name",
        "CLI Service",
        "--platform-type",
        "server-only",
        "--grants",
        "client_credentials,token_exchange",
        "--exchange-subject-apps",
        &plain.client_id,
        "--exchange-audiences",
        &api.client_id,
        "--exchange-max-scope",
        "ReadAccounts,SMS",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        created["token_exchange"],
        json!({"allowed_subject_apps": [plain.client_id], "audiences": [api.client_id],
               "max_scope": ["ReadAccounts", "SMS"]})
    );
    let id = s(&created, "client_id");
    let out = cli(&["app", "update", &id, "--exchange-max-scope", "", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let updated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(updated["token_exchange"]["max_scope"], Value::Null);
    assert_eq!(
        updated["token_exchange"]["audiences"],
        json!([api.client_id])
    );
    let out = cli(&["app", "update", &id, "--no-exchange-policy", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cleared: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cleared["token_exchange"], Value::Null);
    let out = cli(&[
        "app",
        "update",
        &id,
        "--exchange-audiences",
        &plain.client_id,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a registered resource server"));
}

#[tokio::test]
async fn discovery_lists_token_exchange() {
    let server = Server::start();
    let doc: Value = server
        .http
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(EXCHANGE)),
        "{doc}"
    );
}
