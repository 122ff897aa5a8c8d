//! Resource indicators (RFC 8707) over HTTP: `resource` at the authorization,
//! PAR and token endpoints; access tokens' `aud` restricted to it; a refresh
//! that narrows but never widens; each refusal `invalid_target` with its code.

mod common;

use common::{query_of, Browser, Reply, Server};
use serde_json::{json, Value};

const CB: &str = "http://127.0.0.1:8765/callback";
const BILLING: &str = "https://billing.example.com/api";
const REPORTS: &str = "https://reports.example.com/";
const PASSWORD: &str = "correct horse battery";

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

async fn web_app(server: &Server) -> common::App {
    server
        .create_user(
            json!({"email": "alice@example.com", "name": "Alice Smith", "password": PASSWORD}),
        )
        .await;
    common::App::from(
        server
            .create_app(json!({"name": "Acme Web", "platform_type": "server-web", "redirect_uris": [CB],
                               "scopes": ["ReadAccounts"], "grants": ["authorization_code", "refresh_token"],
                               "resource_uris": [BILLING, REPORTS]}))
            .await,
    )
}

fn authorize_url(server: &Server, app: &common::App, resources: &[&str]) -> String {
    let mut url = server.url(&format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=ReadAccounts&state=s1",
        app.client_id,
        urlencode(CB)
    ));
    for r in resources {
        url.push_str(&format!("&resource={}", urlencode(r)));
    }
    url
}

async fn code_for(server: &Server, app: &common::App, resources: &[&str]) -> String {
    let b = Browser::new(server);
    let loc = b
        .authorize(
            &authorize_url(server, app, resources),
            "alice@example.com",
            PASSWORD,
        )
        .await;
    query_of(&loc)["code"].clone()
}

async fn token(server: &Server, app: &common::App, body: &str) -> Reply {
    server
        .post_form("/oauth/token", Some((&app.client_id, &app.secret)), body)
        .await
}

fn exchange(code: &str, resource: Option<&str>) -> String {
    let mut body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        urlencode(CB)
    );
    if let Some(r) = resource {
        body.push_str(&format!("&resource={}", urlencode(r)));
    }
    body
}

#[tokio::test]
async fn a_resource_named_at_authorization_becomes_the_access_tokens_audience() {
    let server = Server::start();
    let app = web_app(&server).await;
    let code = code_for(&server, &app, &[BILLING]).await;
    let r = token(&server, &app, &exchange(&code, None)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["aud"], BILLING);
    // A token for another resource is refused by grantd's own API.
    let api = server.get_bearer("/oauth/userinfo", access).await;
    assert_eq!(api.status, 401, "{}", api.text);
    assert!(api.text.contains(BILLING), "{}", api.text);
    // Its refresh keeps the resource.
    let refresh = r.json["refresh_token"].as_str().unwrap();
    let r = token(
        &server,
        &app,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(r.json["access_token"].as_str().unwrap())["aud"],
        BILLING
    );
}

#[tokio::test]
async fn several_resources_need_one_named_and_a_refresh_narrows_but_never_widens() {
    let server = Server::start();
    let app = web_app(&server).await;
    let code = code_for(&server, &app, &[BILLING, REPORTS]).await;
    // Which one? The token request must say.
    let r = token(&server, &app, &exchange(&code, None)).await;
    r.assert_error(400, "invalid_target", "GRD-983", &[BILLING, REPORTS]);
    let code = code_for(&server, &app, &[BILLING, REPORTS]).await;
    let r = token(&server, &app, &exchange(&code, Some(REPORTS))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(r.json["access_token"].as_str().unwrap())["aud"],
        REPORTS
    );
    let refresh = r.json["refresh_token"].as_str().unwrap().to_string();

    // Narrowed to the other granted resource.
    let r = token(
        &server,
        &app,
        &format!(
            "grant_type=refresh_token&refresh_token={refresh}&resource={}",
            urlencode(BILLING)
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(r.json["access_token"].as_str().unwrap())["aud"],
        BILLING
    );
    let refresh = r.json["refresh_token"].as_str().unwrap().to_string();

    // One resource per token request.
    let r = token(
        &server,
        &app,
        &format!(
            "grant_type=refresh_token&refresh_token={refresh}&resource={}&resource={}",
            urlencode(BILLING),
            urlencode(REPORTS)
        ),
    )
    .await;
    r.assert_error(400, "invalid_target", "GRD-984", &[BILLING, REPORTS]);

    // grantd's own API was not granted: a refresh cannot add it.
    let r = token(
        &server,
        &app,
        &format!(
            "grant_type=refresh_token&refresh_token={refresh}&resource={}",
            urlencode(&server.base)
        ),
    )
    .await;
    r.assert_error(
        400,
        "invalid_target",
        "GRD-982",
        &[&server.base, BILLING, REPORTS],
    );
}

#[tokio::test]
async fn without_resource_at_authorization_the_token_request_may_name_any_of_the_apps() {
    let server = Server::start();
    let app = web_app(&server).await;
    let code = code_for(&server, &app, &[]).await;
    let r = token(&server, &app, &exchange(&code, Some(REPORTS))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(r.json["access_token"].as_str().unwrap())["aud"],
        REPORTS
    );
    // None named anywhere: grantd's own API, as before.
    let code = code_for(&server, &app, &[]).await;
    let r = token(&server, &app, &exchange(&code, None)).await;
    let access = r.json["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["aud"], server.base);
    // grantd's own API named explicitly (its audience, or a resource its
    // protected resource metadata names, as MCP clients send) is the same audience.
    for own in [server.base.clone(), server.url("/restapi")] {
        let code = code_for(&server, &app, &[&own]).await;
        let r = token(&server, &app, &exchange(&code, None)).await;
        let access = r.json["access_token"].as_str().expect("a token");
        assert_eq!(claims(access)["aud"], server.base, "{own}");
        let api = server
            .get_bearer("/restapi/v1.0/account/~/extension/~", access)
            .await;
        assert_eq!(api.status, 200, "{own}: {}", api.text);
    }
}

#[tokio::test]
async fn an_unregistered_resource_is_invalid_target_naming_it_and_the_setting() {
    let server = Server::start();
    let app = web_app(&server).await;
    let other = "https://other.example.com/";
    // At the authorization endpoint: redirected to the app (client and
    // redirect URI are checked), with the catalog's description.
    let b = Browser::new(&server);
    let r = b.get(&authorize_url(&server, &app, &[other])).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let q = query_of(&common::location(&r));
    assert_eq!(q["error"], "invalid_target");
    assert_eq!(q["state"], "s1");
    let d = &q["error_description"];
    assert!(
        d.contains(other) && d.contains("resource_uris") && d.contains(BILLING),
        "{d}"
    );

    // At the token endpoint.
    let code = code_for(&server, &app, &[]).await;
    let r = token(&server, &app, &exchange(&code, Some(other))).await;
    r.assert_error(
        400,
        "invalid_target",
        "GRD-981",
        &[other, "resource_uris", &app.client_id],
    );
    // Not an absolute URI, or with a fragment.
    for (bad, says) in [
        ("/api", "absolute"),
        ("https://billing.example.com/api#x", "fragment"),
    ] {
        let code = code_for(&server, &app, &[]).await;
        let r = token(&server, &app, &exchange(&code, Some(bad))).await;
        r.assert_error(400, "invalid_target", "GRD-980", &[says]);
    }
    // The app setting is checked when registered.
    let (status, body) = server
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/apps/{}", app.client_id),
            Some(json!({"resource_uris": ["not a uri"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("resource_uris"));
}

#[tokio::test]
async fn client_credentials_tokens_are_restricted_and_the_resource_server_introspects_them() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"resource_uris": [BILLING], "access_token_format": "opaque"}))
        .await;
    let api = server
        .server_only_app(
            json!({"name": "Billing API", "resource_server": true, "resource_uris": [BILLING]}),
        )
        .await;
    let other_api = server
        .server_only_app(json!({"name": "Other API", "resource_server": true}))
        .await;
    let r = token(
        &server,
        &app,
        &format!(
            "grant_type=client_credentials&resource={}",
            urlencode(BILLING)
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json["access_token"].as_str().unwrap().to_string();
    let introspect = |who: &common::App| {
        let (id, secret) = (who.client_id.clone(), who.secret.clone());
        let access = access.clone();
        let server = &server;
        async move {
            server
                .post_form(
                    "/oauth/introspect",
                    Some((&id, &secret)),
                    &format!("token={access}"),
                )
                .await
        }
    };
    let seen = introspect(&api).await;
    assert_eq!(seen.json["active"], true, "{}", seen.text);
    assert_eq!(seen.json["aud"], BILLING);
    // A resource server that does not list the resource sees nothing.
    let unseen = introspect(&other_api).await;
    assert_eq!(unseen.json["active"], false, "{}", unseen.text);
}

#[tokio::test]
async fn a_pushed_request_carries_its_resources() {
    let server = Server::start();
    let app = web_app(&server).await;
    let body = format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=ReadAccounts&state=s1&resource={}&resource={}",
        app.client_id,
        urlencode(CB),
        urlencode(REPORTS),
        urlencode(BILLING)
    );
    let pushed = token_like(&server, &app, "/oauth/par", &body).await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    let request_uri = pushed.json["request_uri"].as_str().unwrap();
    let b = Browser::new(&server);
    let loc = b
        .authorize(
            &server.url(&format!(
                "/oauth/authorize?client_id={}&request_uri={}",
                app.client_id,
                urlencode(request_uri)
            )),
            "alice@example.com",
            PASSWORD,
        )
        .await;
    let code = query_of(&loc)["code"].clone();
    // Both pushed resources were granted: the token request names one.
    let r = token(&server, &app, &exchange(&code, Some(REPORTS))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        claims(r.json["access_token"].as_str().unwrap())["aud"],
        REPORTS
    );

    // An unregistered resource is refused at the push.
    let body = format!(
        "response_type=code&client_id={}&redirect_uri={}&resource={}",
        app.client_id,
        urlencode(CB),
        urlencode("https://nope.example.com/")
    );
    let r = token_like(&server, &app, "/oauth/par", &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_target");
}

async fn token_like(server: &Server, app: &common::App, path: &str, body: &str) -> Reply {
    server
        .post_form(path, Some((&app.client_id, &app.secret)), body)
        .await
}
