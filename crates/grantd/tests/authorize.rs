//! The authorization-code flow over HTTP with a cookie jar: sign-in and
//! consent pages, PKCE, OpenID Connect, redirect-URI rules, prompt, implicit,
//! and the wrong-endpoint diagnosis.

mod common;

use common::{form_pairs, hidden_fields, location, query_of, App, Browser, Reply, Server};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use reqwest::Method;
use serde_json::{json, Value};

const CB: &str = "http://127.0.0.1:8765/callback";

async fn setup(server: &Server) -> Value {
    server
        .create_user(json!({"email": "alice@example.com", "name": "Alice Smith", "password": "correct horse battery", "extension_number": "101"}))
        .await
}

fn oauth2_client(
    server: &Server,
    app: &App,
    redirect: &str,
) -> oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    let mut c = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_auth_uri(AuthUrl::new(server.url("/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.url("/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap());
    if !app.secret.is_empty() {
        c = c.set_client_secret(ClientSecret::new(app.secret.clone()));
    } else {
        c = c.set_auth_type(AuthType::RequestBody);
    }
    c
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn server_side_app_full_flow_with_the_oauth2_crate() {
    let server = Server::start();
    let user = setup(&server).await;
    let app = App::from(
        server
            .create_app(json!({"name": "Acme Web", "platform_type": "server-web", "redirect_uris": [CB], "scopes": ["ReadAccounts"]}))
            .await,
    );
    let client = oauth2_client(&server, &app, CB);
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("ReadAccounts".into()))
        .url();
    let b = Browser::new(&server);
    let page = b.get(url.as_str()).await;
    // Secure headers on the pages.
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:8765"),
        "{csp}"
    );
    assert!(page.text.contains("Acme Web"));
    let cookies: Vec<&str> = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(cookies.iter().any(|c| c.starts_with("grantd_csrf=")
        && c.contains("HttpOnly")
        && c.contains("SameSite=Lax")));

    let consent = b
        .sign_in(&page, "alice@example.com", "correct horse battery")
        .await;
    assert_eq!(consent.status, 200, "{}", consent.text);
    let cookies: Vec<&str> = consent
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(cookies.iter().any(|c| c.starts_with("grantd_session=")
        && c.contains("HttpOnly")
        && c.contains("SameSite=Lax")
        && !c.contains("Secure")));
    assert!(consent.text.contains("ReadAccounts") && consent.text.contains("Alice Smith"));
    let done = b.consent(&consent, "allow").await;
    assert_eq!(done.status, 303);
    let loc = location(&done);
    assert!(loc.starts_with(CB), "{loc}");
    let q = query_of(&loc);
    assert_eq!(q["state"], *state.secret());
    assert_eq!(q["expires_in"], "60");
    assert_eq!(q["iss"], server.base);

    let token = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .request_async(&http())
        .await
        .expect("code exchange");
    assert!(token.refresh_token().is_some());
    assert_eq!(token.scopes().unwrap()[0].as_str(), "ReadAccounts");
    let me = server
        .get_bearer(
            "/restapi/v1.0/account/~/extension/~",
            token.access_token().secret(),
        )
        .await;
    assert_eq!(
        me.json["id"].to_string().trim_matches('"'),
        user["id"].as_str().unwrap()
    );

    // Consent is remembered: the next flow in this browser goes straight back.
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("ReadAccounts".into()))
        .url();
    let r = b.get(url.as_str()).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(query_of(&location(&r)).contains_key("code"));
    // prompt=consent shows the page again; deny sends access_denied back.
    let r = b.get(&format!("{url}&prompt=consent")).await;
    let denied = b.consent(&r, "deny").await;
    let q = query_of(&location(&denied));
    assert_eq!(q["error"], "access_denied");
    assert!(q["error_uri"].ends_with("/docs/errors/GRD-357"));
    // prompt=login asks for the password again.
    let r = b.get(&format!("{url}&prompt=login")).await;
    assert!(r.text.contains("action=\"/oauth/authorize/login\""));
}

#[tokio::test]
async fn public_app_with_pkce_and_openid_connect() {
    let server = Server::start();
    let user = setup(&server).await;
    let app = App::from(
        server
            .create_app(json!({"name": "Acme SPA", "platform_type": "browser", "redirect_uris": [CB, "https://spa.example.com/cb"], "scopes": ["ReadAccounts"]}))
            .await,
    );
    assert!(app.secret.is_empty());
    let client = oauth2_client(&server, &app, CB);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(["openid", "profile", "email", "ReadAccounts"].map(|s| Scope::new(s.into())))
        .add_extra_param("nonce", "n-0S6_WzA2Mj")
        .set_pkce_challenge(challenge)
        .url();
    let b = Browser::new(&server);
    let loc = b
        .authorize(url.as_str(), "alice@example.com", "correct horse battery")
        .await;
    let code = query_of(&loc)["code"].clone();
    // A raw exchange, to read the id_token.
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &format!("grant_type=authorization_code&client_id={}&code={code}&redirect_uri={}&code_verifier={}", app.client_id, urlencode(CB), verifier.secret()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id_token = r.json["id_token"].as_str().expect("id_token");
    let access = r.json["access_token"].as_str().unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[app.client_id.as_str()]);
    v.set_issuer(&[server.base.as_str()]);
    let claims: Value = jsonwebtoken::decode(id_token, &key, &v).unwrap().claims;
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["name"], "Alice Smith");
    assert!(claims["auth_time"].as_i64().unwrap() > 1_700_000_000);
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access.as_bytes());
    assert_eq!(
        claims["at_hash"],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
    );

    // An ID token is not a JWT credential.
    let jwt_app = server
        .server_only_app(json!({"name": "JWT", "grants": ["jwt_bearer"]}))
        .await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&jwt_app.client_id, &jwt_app.secret)),
            &format!("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={id_token}"),
        )
        .await;
    r.assert_error(400, "invalid_grant", "GRD-311", &["id_token"]);
    let info = server.get_bearer("/oauth/userinfo", access).await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.json["sub"], user["id"]);
    assert_eq!(info.json["email"], "alice@example.com");

    // The oauth2 crate with PKCE, as a public client.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("ReadAccounts".into()))
        .set_pkce_challenge(challenge)
        .url();
    let r = b.get(url.as_str()).await;
    let loc = if r.status == 303 {
        location(&r)
    } else {
        location(&b.consent(&r, "allow").await)
    };
    let token = client
        .exchange_code(AuthorizationCode::new(query_of(&loc)["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("PKCE exchange");
    let info = server
        .get_bearer("/oauth/userinfo", token.access_token().secret())
        .await;
    info.assert_error(403, "insufficient_scope", "GRD-365", &["openid"]);
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn auth_url(server: &Server, client_id: &str, extra: &str) -> String {
    server.url(&format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&state=xyz{extra}"
    ))
}

#[tokio::test]
async fn code_replay_revokes_what_the_first_exchange_issued() {
    let server = Server::start();
    setup(&server).await;
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let loc = b
        .authorize(
            &auth_url(&server, &app.client_id, ""),
            "alice@example.com",
            "correct horse battery",
        )
        .await;
    let code = query_of(&loc)["code"].clone();
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let body = format!("grant_type=authorization_code&code={}", urlencode(&code));
    let first = server.post_form("/oauth/token", auth, &body).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second = server.post_form("/oauth/token", auth, &body).await;
    second.assert_error(
        400,
        "invalid_grant",
        "GRD-361",
        &["already exchanged", "revoked"],
    );
    for k in ["access_token", "refresh_token"] {
        let r = server
            .post_form(
                "/oauth/introspect",
                auth,
                &format!("token={}", first.json[k].as_str().unwrap()),
            )
            .await;
        assert_eq!(r.json["active"], false, "{k} after replay");
    }
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            "grant_type=authorization_code&code=made-up",
        )
        .await;
    r.assert_error(400, "invalid_grant", "OAU-106", &[]);
}

#[tokio::test]
async fn redirect_uri_rules() {
    let server = Server::start();
    setup(&server).await;
    let two = App::from(
        server
            .create_app(json!({"name": "Two", "platform_type": "server-web", "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:9000/cb"]}))
            .await,
    );
    let none = App::from(
        server
            .create_app(json!({"name": "None", "platform_type": "server-web"}))
            .await,
    );
    let b = Browser::new(&server);
    // Unregistered: a page, never a redirect (no open redirect).
    let r = b
        .get(&auth_url(
            &server,
            &two.client_id,
            "&redirect_uri=https://evil.example/cb",
        ))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        r.text.contains("GRD-351") && r.text.contains("https://app.example.com/cb"),
        "{}",
        r.text
    );
    // The same as JSON for a client that does not ask for HTML.
    let res = server
        .http
        .get(auth_url(
            &server,
            &two.client_id,
            "&redirect_uri=https://app.example.com/cb/",
        ))
        .send()
        .await
        .unwrap();
    Reply::from(res).await.assert_error(
        400,
        "invalid_request",
        "GRD-351",
        &["'https://app.example.com/cb/'", "exactly"],
    );
    // Several registered and none sent.
    let r = Reply::from(
        server
            .http
            .get(auth_url(&server, &two.client_id, ""))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(400, "invalid_request", "GRD-352", &["2 registered"]);
    // None registered.
    let r = Reply::from(
        server
            .http
            .get(auth_url(&server, &none.client_id, ""))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(400, "invalid_request", "OAU-113", &["grantd app update"]);
    // Unknown client.
    let r = Reply::from(
        server
            .http
            .get(auth_url(&server, "nope", ""))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.code(), "OAU-153");
    // Loopback may vary the port, nothing else: user-info tricks that would
    // send the browser to another host are refused as a page.
    for evil in [
        "http://127.0.0.1:1@evil.example/cb",
        "http://127.0.0.1:1;%20form-action%20*;x@evil.example/cb",
        "http://127.0.0.1:9000/cb?x=1",
        "http://127.0.0.1:9000/cb/",
    ] {
        let r = b
            .get(&auth_url(
                &server,
                &two.client_id,
                &format!("&redirect_uri={}", urlencode(evil)),
            ))
            .await;
        assert_eq!(r.status, 400, "{evil}: {}", r.text);
        assert!(r.header("location").is_none(), "{evil}");
        assert!(r.text.contains("GRD-351"), "{evil}");
    }
    // Loopback: any port.
    let loc = b
        .authorize(
            &auth_url(
                &server,
                &two.client_id,
                "&redirect_uri=http://127.0.0.1:54321/cb",
            ),
            "alice@example.com",
            "correct horse battery",
        )
        .await;
    assert!(loc.starts_with("http://127.0.0.1:54321/cb?code="), "{loc}");
    // At the token endpoint the redirect_uri must be the one used at authorize.
    let code = query_of(&loc)["code"].clone();
    let auth = Some((two.client_id.as_str(), two.secret.as_str()));
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}",
                urlencode(&code),
                urlencode("http://127.0.0.1:9000/cb")
            ),
        )
        .await;
    r.assert_error(
        400,
        "invalid_grant",
        "OAU-109",
        &["'http://127.0.0.1:9000/cb'", "'http://127.0.0.1:54321/cb'"],
    );
}

#[tokio::test]
async fn pkce_failures() {
    let server = Server::start();
    setup(&server).await;
    let spa = App::from(
        server
            .create_app(json!({"name": "SPA", "platform_type": "browser", "redirect_uris": [CB]}))
            .await,
    );
    let web = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let redirected_error = |r: &Reply| {
        assert_eq!(r.status, 303, "{}", r.text);
        query_of(&location(r))
    };
    // Public app without a challenge: the error goes back to the app, with state.
    let q = redirected_error(&b.get(&auth_url(&server, &spa.client_id, "")).await);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "xyz");
    assert!(q["error_description"].contains("PKCE is required"));
    assert!(q["error_uri"].ends_with("GRD-354"));
    // plain (or no method) is refused unless the app allows it.
    let plain = "a".repeat(43);
    let q = redirected_error(
        &b.get(&auth_url(
            &server,
            &spa.client_id,
            &format!("&code_challenge={plain}"),
        ))
        .await,
    );
    assert!(
        q["error_uri"].ends_with("GRD-355") && q["error_description"].contains("means plain"),
        "{q:?}"
    );
    let q = redirected_error(
        &b.get(&auth_url(
            &server,
            &spa.client_id,
            "&code_challenge=tooshort&code_challenge_method=S256",
        ))
        .await,
    );
    assert!(q["error_uri"].ends_with("GRD-356"), "{q:?}");

    // A verifier that does not match, and a missing one.
    let verifier = "dBjftJeZ4CVP-mJ92K9Ak6_H3qg0K9gBWkQJ2e2zC5Wq9f0";
    use base64::Engine;
    use sha2::Digest;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let url = auth_url(
        &server,
        &spa.client_id,
        &format!("&code_challenge={challenge}&code_challenge_method=S256"),
    );
    let code_for = |loc: String| query_of(&loc)["code"].clone();
    let code = code_for(
        b.authorize(&url, "alice@example.com", "correct horse battery")
            .await,
    );
    let r = server
        .post_form("/oauth/token", None, &format!("grant_type=authorization_code&client_id={}&code={}&code_verifier=wrong-verifier-wrong-verifier-wrong-verifier", spa.client_id, urlencode(&code)))
        .await;
    r.assert_error(400, "invalid_grant", "GRD-363", &["S256"]);
    let r2 = b.get(&url).await;
    let code = code_for(location(&r2));
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &format!(
                "grant_type=authorization_code&client_id={}&code={}",
                spa.client_id,
                urlencode(&code)
            ),
        )
        .await;
    r.assert_error(400, "invalid_grant", "GRD-362", &["code_verifier"]);
    // A verifier where no challenge was sent: a downgrade.
    let loc = b
        .authorize(
            &auth_url(&server, &web.client_id, ""),
            "alice@example.com",
            "correct horse battery",
        )
        .await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&web.client_id, &web.secret)),
            &format!(
                "grant_type=authorization_code&code={}&code_verifier={verifier}",
                urlencode(&code_for(loc))
            ),
        )
        .await;
    r.assert_error(400, "invalid_grant", "GRD-364", &["no code_challenge"]);
}

#[tokio::test]
async fn prompt_none_private_apps_and_sign_in_errors() {
    let server = Server::start();
    setup(&server).await;
    let (_, other_account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Other Co"})),
        )
        .await;
    server
        .create_user(json!({"email": "mallory@other.example", "name": "Mallory", "password": "correct horse battery", "account_id": other_account["id"]}))
        .await;
    let app = App::from(server.create_app(json!({"name": "Private Web", "platform_type": "server-web", "redirect_uris": [CB]})).await);
    let b = Browser::new(&server);
    // prompt=none without a signed-in browser.
    let r = b
        .get(&auth_url(&server, &app.client_id, "&prompt=none"))
        .await;
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "login_required");
    // A wrong password shows the page again with the reason, never the password.
    let page = b.get(&auth_url(&server, &app.client_id, "")).await;
    let r = b
        .sign_in(&page, "alice@example.com", "not-the-password")
        .await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("OAU-140") && r.text.contains("username or password is wrong"));
    assert!(!r.text.contains("not-the-password"));
    assert!(
        r.text.contains("value=\"alice@example.com\""),
        "the username stays filled in"
    );
    // A form without its CSRF token is refused.
    let mut fields: Vec<(String, String)> = hidden_fields(&page.text)
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .collect();
    fields.push(("username".into(), "alice@example.com".into()));
    fields.push(("password".into(), "correct horse battery".into()));
    let r = b.post("/oauth/authorize/login", &fields).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("anti-forgery"));
    // Signed in, but no consent yet: prompt=none says consent_required.
    let r = b
        .sign_in(&page, "alice@example.com", "correct horse battery")
        .await;
    assert_eq!(r.status, 200);
    let r = b
        .get(&auth_url(&server, &app.client_id, "&prompt=none"))
        .await;
    assert_eq!(query_of(&location(&r))["error"], "consent_required");
    // A user of another account cannot use a private app.
    let other = Browser::new(&server);
    let page = other.get(&auth_url(&server, &app.client_id, "")).await;
    let r = other
        .sign_in(&page, "mallory@other.example", "correct horse battery")
        .await;
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "access_denied");
    assert!(q["error_uri"].ends_with("GRD-358"));
}

#[tokio::test]
async fn implicit_before_and_after_its_sunset() {
    for (args, works) in [
        (vec!["--implicit-sunset", "2099-12-31"], true),
        (vec![], false),
    ] {
        let server = Server::start_with(&args, &[]);
        setup(&server).await;
        let spa = App::from(
            server
                .create_app(json!({"name": "Old SPA", "platform_type": "browser", "grants": ["authorization_code", "implicit"], "redirect_uris": [CB]}))
                .await,
        );
        let no_implicit = App::from(
            server
                .create_app(
                    json!({"name": "New SPA", "platform_type": "browser", "redirect_uris": [CB]}),
                )
                .await,
        );
        let b = Browser::new(&server);
        let url = server.url(&format!(
            "/oauth/authorize?response_type=token&client_id={}&state=s1",
            spa.client_id
        ));
        if works {
            let page = b.get(&url).await;
            let consent = b
                .sign_in(&page, "alice@example.com", "correct horse battery")
                .await;
            let done = b.consent(&consent, "allow").await;
            assert_eq!(done.header("sunset"), Some("Thu, 31 Dec 2099 00:00:00 GMT"));
            assert!(done.header("deprecation").is_some());
            let loc = location(&done);
            let (_, fragment) = loc.split_once('#').expect("fragment");
            let f = form_pairs(fragment);
            assert_eq!(f["token_type"], "bearer");
            assert_eq!(f["state"], "s1");
            assert_eq!(f["iss"], server.base, "RFC 9207 in the implicit answer too");
            assert!(!f.contains_key("refresh_token") && !f.contains_key("id_token"));
            let me = server
                .get_bearer("/restapi/v1.0/account/~/extension/~", &f["access_token"])
                .await;
            assert_eq!(me.status, 200);
            let doc: Value = server
                .http
                .get(server.url("/.well-known/openid-configuration"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(doc["response_types_supported"], json!(["code", "token"]));
        } else {
            let r = b.get(&url).await;
            let loc = location(&r);
            let f = form_pairs(
                loc.split_once('#')
                    .expect("errors of the implicit flow go in the fragment")
                    .1,
            );
            assert_eq!(f["error"], "unauthorized_client");
            assert!(f["error_uri"].ends_with("OAU-112"));
            assert!(
                f["error_description"].contains("retired on 2024-03-31")
                    && f["error_description"].contains("PKCE")
            );
            let doc: Value = server
                .http
                .get(server.url("/.well-known/openid-configuration"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(doc["response_types_supported"], json!(["code"]));
            assert_eq!(
                doc["authorization_endpoint"],
                server.url("/oauth/authorize")
            );
            assert_eq!(
                doc["code_challenge_methods_supported"],
                json!(["S256", "plain"])
            );
        }
        let r = b
            .get(&server.url(&format!(
                "/oauth/authorize?response_type=token&client_id={}&state=s1",
                no_implicit.client_id
            )))
            .await;
        let loc = location(&r);
        let f = form_pairs(loc.split_once('#').unwrap().1);
        if works {
            assert_eq!(f["error"], "unauthorized_client");
            assert!(
                f["error_uri"].ends_with("OAU-112")
                    && f["error_description"].contains("[IMPLICIT]")
            );
        }
    }
}

#[tokio::test]
async fn a_code_exchange_at_the_authorization_endpoint_is_explained() {
    let server = Server::start();
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let r = server
        .post_form(
            "/restapi/oauth/authorize",
            Some((&app.client_id, &app.secret)),
            &format!(
                "grant_type=authorization_code&code=abc&redirect_uri={}",
                urlencode(CB)
            ),
        )
        .await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-350",
        &[
            "exchanged at the token endpoint",
            &server.url("/oauth/token"),
        ],
    );
    let res = server
        .http
        .get(server.url("/oauth/authorize?code=abc&client_id=x"))
        .send()
        .await
        .unwrap();
    Reply::from(res)
        .await
        .assert_error(400, "invalid_request", "GRD-350", &[]);
}

#[tokio::test]
async fn consent_is_remembered_until_withdrawn() {
    let server = Server::start();
    let user = setup(&server).await;
    let uid = user["id"].as_str().unwrap();
    let app = App::from(server.create_app(json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB], "scopes": ["ReadAccounts"]})).await);
    let b = Browser::new(&server);
    let url = auth_url(&server, &app.client_id, "");
    b.authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    let (status, list) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/users/{uid}/consents"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["consents"][0]["client_id"], app.client_id.as_str());
    assert_eq!(list["consents"][0]["scope"], "ReadAccounts");
    assert_eq!(b.get(&url).await.status, 303, "remembered");
    let path = format!("/admin/v1/users/{uid}/consents/{}", app.client_id);
    assert_eq!(server.admin(Method::DELETE, &path, None).await.0, 204);
    let (status, body) = server.admin(Method::DELETE, &path, None).await;
    assert_eq!(
        (status, body["errors"][0]["errorCode"].as_str()),
        (404, Some("GRD-419"))
    );
    let r = b.get(&url).await;
    assert!(
        r.text.contains("action=\"/oauth/authorize/consent\""),
        "asks again after withdrawal"
    );
}

#[tokio::test]
async fn max_age_asks_for_the_password_again() {
    let server = Server::start();
    setup(&server).await;
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let url = auth_url(&server, &app.client_id, "");
    b.authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    assert_eq!(b.get(&url).await.status, 303, "signed in and consented");
    server.advance(2);
    let r = b.get(&format!("{url}&max_age=0")).await;
    assert!(
        r.text.contains("action=\"/oauth/authorize/login\""),
        "a sign-in older than max_age is repeated"
    );
    let r = Reply::from(
        server
            .http
            .get(format!("{url}&max_age=soon"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(400, "invalid_request", "GRD-106", &["max_age"]);
    // response_type missing is invalid_request, sent back to the app.
    let r = b
        .get(&server.url(&format!("/oauth/authorize?client_id={}", app.client_id)))
        .await;
    assert_eq!(query_of(&location(&r))["error"], "invalid_request");
}

#[tokio::test]
async fn not_you_signs_the_browser_out() {
    let server = Server::start();
    setup(&server).await;
    server
        .create_user(
            json!({"email": "bob@example.com", "name": "Bob", "password": "correct horse battery"}),
        )
        .await;
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let url = auth_url(&server, &app.client_id, "");
    let page = b.get(&url).await;
    let consent = b
        .sign_in(&page, "alice@example.com", "correct horse battery")
        .await;
    assert!(consent.text.contains("Not Alice Smith?"));
    let fields = hidden_fields(
        consent
            .text
            .split("action=\"/oauth/authorize/signout\"")
            .nth(1)
            .unwrap(),
    );
    let r = b.post("/oauth/authorize/signout", &fields).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains("action=\"/oauth/authorize/login\""),
        "back to the sign-in page"
    );
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("grantd_session=;") && c.contains("Max-Age=0")));
    // The old session cookie no longer signs anyone in.
    let again = b.get(&url).await;
    assert!(again.text.contains("action=\"/oauth/authorize/login\""));
    let next = b
        .sign_in(&again, "bob@example.com", "correct horse battery")
        .await;
    assert!(next.text.contains("Signed in as <strong>Bob</strong>"));
}

/// Two exchanges of one code racing: whichever way they interleave, the
/// tokens of the one that succeeded do not survive the other.
#[tokio::test]
async fn racing_code_exchanges_leave_no_live_tokens() {
    let server = Server::start();
    setup(&server).await;
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let url = auth_url(&server, &app.client_id, "");
    b.authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    let auth = common::basic_header(&app.client_id, &app.secret);
    for _ in 0..10 {
        let code = query_of(&location(&b.get(&url).await))["code"].clone();
        let body = format!("grant_type=authorization_code&code={}", urlencode(&code));
        let send = || {
            server
                .http
                .post(server.url("/oauth/token"))
                .header("authorization", &auth)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
        };
        let (a, b2) = tokio::join!(send(), send());
        let replies = [
            Reply::from(a.unwrap()).await,
            Reply::from(b2.unwrap()).await,
        ];
        assert!(
            replies.iter().any(|r| r.code() == "GRD-361"),
            "one of them is a replay"
        );
        for r in replies.iter().filter(|r| r.status == 200) {
            let i = server
                .post_form(
                    "/oauth/introspect",
                    Some((&app.client_id, &app.secret)),
                    &format!("token={}", r.json["access_token"].as_str().unwrap()),
                )
                .await;
            assert_eq!(
                i.json["active"], false,
                "tokens from a replayed code are revoked"
            );
        }
    }
}

#[tokio::test]
async fn over_https_cookies_are_secure_and_host_prefixed() {
    let server = Server::start_with(&["--issuer", "https://auth.example.test"], &[]);
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let r = Browser::new(&server)
        .get(&auth_url(&server, &app.client_id, ""))
        .await;
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-grantd_csrf="), "{cookie}");
    for attr in ["Path=/;", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
}

/// Parameter caps: a request with thousands of parameters, or a nonce of
/// tens of kilobytes, is refused at parsing, before a code (which would
/// store the nonce) is issued.
#[tokio::test]
async fn oversized_authorization_requests_are_refused_and_nothing_is_stored() {
    let server = Server::start();
    setup(&server).await;
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let url = auth_url(&server, &app.client_id, "");
    b.authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    // Signed in and consented: a good request is answered with a code.
    assert_eq!(b.get(&url).await.status, 303);

    // ~10,000 distinct parameters in a 60 KB query.
    let many: String = (0..10_000u32)
        .map(|i| format!("&{}=1", radix36(i)))
        .collect();
    assert!(many.len() > 50_000 && many.len() < 64_000, "{}", many.len());
    let started = std::time::Instant::now();
    let res = server
        .http
        .get(format!("{url}{many}"))
        .send()
        .await
        .unwrap();
    let r = Reply::from(res).await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-112",
        &["more than 100 parameters"],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));

    // A 63 KB nonce: refused, named, and never stored.
    let marker = "nonce-marker-5b1e";
    let nonce = format!("{marker}{}", "n".repeat(63 * 1024));
    let r = b.get(&format!("{url}&nonce={nonce}")).await;
    assert_eq!(r.status, 400, "{}", &r.text[..r.text.len().min(300)]);
    assert_eq!(r.header("x-error-code"), Some("GRD-113"));
    assert!(r.header("location").is_none());
    assert!(r.text.contains("nonce") && r.text.contains("at most 512 bytes"));
    let dir = server.dir.clone();
    let tmp = server.stop();
    let mut db = std::fs::read(dir.join("grantd.db")).unwrap();
    db.extend(std::fs::read(dir.join("grantd.db-wal")).unwrap_or_default());
    assert!(
        !db.windows(marker.len()).any(|w| w == marker.as_bytes()),
        "the nonce was stored"
    );
    drop(tmp);
}

fn radix36(mut n: u32) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Request values quoted in a redirected error_description are escaped: an
/// app that shows the description cannot be made to render markup.
#[tokio::test]
async fn redirected_errors_escape_request_values() {
    let server = Server::start();
    let web = App::from(server.create_app(json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB], "scopes": ["ReadAccounts"]})).await);
    let spa = App::from(
        server
            .create_app(json!({"name": "SPA", "platform_type": "browser", "redirect_uris": [CB]}))
            .await,
    );
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let cases = [
        (
            format!(
                "/oauth/authorize?response_type=code&client_id={}&scope={}",
                web.client_id,
                urlencode("<img src=x onerror=alert(1)>")
            ),
            "GRD-301",
            "%3Cimg",
        ),
        (
            format!(
                "/oauth/authorize?response_type=code&client_id={}&scope={}",
                web.client_id,
                urlencode("a\"b\\c")
            ),
            "GRD-302",
            "double quotes",
        ),
        (
            format!(
                "/oauth/authorize?response_type={}&client_id={}",
                urlencode("<b>\"'\\"),
                web.client_id
            ),
            "GRD-353",
            "%3Cb%3E%22%27%5C",
        ),
        (
            format!(
                "/oauth/authorize?response_type=code&client_id={}&code_challenge={challenge}&code_challenge_method={}",
                spa.client_id,
                urlencode("<s>")
            ),
            "GRD-355",
            "%3Cs%3E",
        ),
    ];
    for (path, code, shows) in cases {
        let r = Reply::from(server.http.get(server.url(&path)).send().await.unwrap()).await;
        assert_eq!(r.status, 303, "{path}: {}", r.text);
        let q = query_of(&location(&r));
        assert!(q["error_uri"].ends_with(code), "{path}: {q:?}");
        let d = &q["error_description"];
        assert!(d.contains(shows), "{path}: {d}");
        for c in ['<', '>', '"', '\\', '`'] {
            assert!(!d.contains(c), "{path}: {c:?} echoed in {d}");
        }
    }
}

/// On the sign-in form failures count per username: guessing one username
/// pauses that username from this address, and another user still signs in.
#[tokio::test]
async fn sign_in_failures_pause_the_username_not_the_address() {
    let server = Server::start_with(&["--auth-failure-limit", "3"], &[]);
    setup(&server).await;
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let url = auth_url(&server, &app.client_id, "");
    let b = Browser::new(&server);
    let page = b.get(&url).await;
    for _ in 0..3 {
        let r = b.sign_in(&page, "Mallory@example.com", "guess").await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = b.sign_in(&page, "mallory@example.com", "guess").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.text.contains("CMN-301") && r.text.contains("for this username"));
    assert!(!r.text.contains("More than 3 requests for client id"));
    assert!(r.header("retry-after").is_some());
    let loc = b
        .authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    assert!(query_of(&loc).contains_key("code"), "{loc}");
}

#[tokio::test]
async fn withdrawing_consent_ends_the_apps_tokens_for_the_user() {
    let server = Server::start();
    let user = setup(&server).await;
    let uid = user["id"].as_str().unwrap();
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let loc = b
        .authorize(
            &auth_url(&server, &app.client_id, ""),
            "alice@example.com",
            "correct horse battery",
        )
        .await;
    let code = query_of(&loc)["code"].clone();
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let body = format!("grant_type=authorization_code&code={}", urlencode(&code));
    let tokens = server.post_form("/oauth/token", auth, &body).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let path = format!("/admin/v1/users/{uid}/consents/{}", app.client_id);
    assert_eq!(server.admin(Method::DELETE, &path, None).await.0, 204);
    for k in ["access_token", "refresh_token"] {
        let r = server
            .post_form(
                "/oauth/introspect",
                auth,
                &format!("token={}", tokens.json[k].as_str().unwrap()),
            )
            .await;
        assert_eq!(
            r.json["active"], false,
            "{k} after the consent was withdrawn"
        );
    }
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                tokens.json["refresh_token"].as_str().unwrap()
            ),
        )
        .await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["consent withdrawn"]);
}

#[tokio::test]
async fn prompt_login_and_max_age_hold_at_the_consent_step() {
    let server = Server::start();
    setup(&server).await;
    let app = App::from(
        server
            .create_app(
                json!({"name": "Web", "platform_type": "server-web", "redirect_uris": [CB]}),
            )
            .await,
    );
    let b = Browser::new(&server);
    let url = auth_url(&server, &app.client_id, "");
    b.authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    server.advance(600);
    // A consent page for an ordinary request, then its form posted with the
    // stricter request: the stale sign-in must not get a code.
    let page = b.get(&format!("{url}&prompt=consent")).await;
    let form = page
        .text
        .split("action=\"/oauth/authorize/signout\"")
        .next()
        .unwrap_or("")
        .to_string();
    for (name, value) in [("prompt", "login"), ("max_age", "60")] {
        let mut fields: Vec<(String, String)> = hidden_fields(&form)
            .into_iter()
            .filter(|(n, _)| n != "prompt")
            .collect();
        fields.push((name.into(), value.into()));
        fields.push(("decision".into(), "allow".into()));
        let r = b.post("/oauth/authorize/consent", &fields).await;
        assert_eq!(r.status, 200, "{name}={value}: {}", r.text);
        assert!(
            r.text.contains("action=\"/oauth/authorize/login\""),
            "{name}={value} must ask for the password again"
        );
    }
}

#[tokio::test]
async fn expired_codes_and_codes_of_another_app_are_refused() {
    let server = Server::start();
    setup(&server).await;
    let web =
        |name: &str| json!({"name": name, "platform_type": "server-web", "redirect_uris": [CB]});
    let app = App::from(server.create_app(web("Web")).await);
    let other = App::from(server.create_app(web("Other")).await);
    let b = Browser::new(&server);
    let url = auth_url(&server, &app.client_id, "");
    for (who, wait, code) in [(&app, 61, "OAU-108"), (&other, 0, "OAU-110")] {
        let loc = b
            .authorize(&url, "alice@example.com", "correct horse battery")
            .await;
        let body = format!(
            "grant_type=authorization_code&code={}",
            urlencode(&query_of(&loc)["code"])
        );
        server.advance(wait);
        server
            .post_form("/oauth/token", Some((&who.client_id, &who.secret)), &body)
            .await
            .assert_error(400, "invalid_grant", code, &[]);
    }
}
