//! The developer's view of rejections: every refused request to an OAuth
//! endpoint that names a registered app is kept with its cause, fix and
//! decision trace (never a secret), found by request id, listed per app
//! (bounded), over the admin API and `grantd explain <request-id>`.

mod common;

use common::{Reply, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// The rejection log is written off the request path: wait for it.
async fn rejections_until(
    server: &Server,
    client_id: &str,
    query: &str,
    want: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..100 {
        let (status, body) = server
            .admin(
                Method::GET,
                &format!("/admin/v1/apps/{client_id}/rejections{query}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        last = body["rejections"].as_array().cloned().unwrap_or_default();
        if want(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rejections of {client_id}{query} never as expected: {last:?}");
}

fn request_id(r: &Reply) -> String {
    let header = r.header("x-request-id").expect("x-request-id").to_string();
    assert_eq!(
        r.json["errors"][0]["requestId"], header,
        "errors[0].requestId is the X-Request-Id header: {}",
        r.text
    );
    header
}

#[tokio::test]
async fn a_rejection_is_kept_with_its_cause_fix_and_trace_and_no_secret() {
    let server = Server::start_with(&["--password-grant-sunset", "2099-12-31"], &[]);
    let app = server
        .server_only_app(
            json!({"name": "Nightly Sync", "grants": ["jwt_bearer", "client_credentials"]}),
        )
        .await;
    let password = "correct-horse-battery-staple-42";
    let r = server
        .http
        .post(server.url("/restapi/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            common::basic_header(&app.client_id, &app.secret),
        )
        .header("user-agent", "RC-Python-SDK/0.1 test")
        .body(format!(
            "grant_type=password&username=carol%40example.com&password={password}"
        ))
        .send()
        .await
        .unwrap();
    let r = Reply::from(r).await;
    r.assert_error(400, "unauthorized_client", "OAU-251", &["password"]);
    let id = request_id(&r);

    let list = rejections_until(&server, &app.client_id, "", |l| !l.is_empty()).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let got = &list[0];
    assert_eq!(got["request_id"], id);
    assert_eq!(got["client_id"], app.client_id.as_str());
    assert_eq!(
        got["endpoint"], "/oauth/token",
        "the RingCentral alias is recorded as the endpoint it is"
    );
    assert_eq!(got["grant"], "password");
    assert_eq!(got["code"], "OAU-251");
    assert_eq!(
        got["description"], r.json["error_description"],
        "the cause as the response said it"
    );
    assert!(!got["fix"].as_str().unwrap().is_empty());
    assert!(got["error_uri"]
        .as_str()
        .unwrap()
        .ends_with("/docs/errors/OAU-251"));
    assert_eq!(got["client_ip"], "127.0.0.1");
    assert_eq!(got["user_agent"], "RC-Python-SDK/0.1 test");
    assert!(got["time"].as_str().unwrap().ends_with('Z'));

    // The trace: each check in order, the failing one with what it compared.
    let steps = got["trace"]["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["check"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "read_request",
            "authenticate_client",
            "check_dpop_proof",
            "check_legacy_policy",
            "check_grant_enabled"
        ],
        "{steps:?}"
    );
    assert!(steps[..4].iter().all(|s| s["passed"] == true));
    let failed = &steps[4];
    assert_eq!(failed["passed"], false);
    assert_eq!(failed["code"], "OAU-251");
    let values = failed["values"].to_string();
    assert!(values.contains("app's grants") && values.contains("jwt_bearer client_credentials"));
    assert!(values.contains("grant requested") && values.contains("password"));
    assert!(steps[1]["values"].to_string().contains("[redacted]"));

    // Nothing secret is kept: not the password, not the client secret.
    let (_, one) = server
        .admin(Method::GET, &format!("/admin/v1/rejections/{id}"), None)
        .await;
    assert_eq!(&one, got, "the same record by request id");
    for record in [one.to_string(), Value::Array(list.clone()).to_string()] {
        assert!(!record.contains(password), "password stored: {record}");
        assert!(!record.contains(&app.secret), "secret stored: {record}");
    }

    // Filters.
    let by_code =
        rejections_until(&server, &app.client_id, "?code=oau-251", |l| l.len() == 1).await;
    assert_eq!(by_code[0]["request_id"], id);
    let none = rejections_until(&server, &app.client_id, "?endpoint=/oauth/revoke", |l| {
        l.is_empty()
    })
    .await;
    assert!(none.is_empty());
    let (status, body) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/apps/{}/rejections?code=NOPE-1", app.client_id),
            None,
        )
        .await;
    assert_eq!(
        (status, body["errors"][0]["errorCode"].as_str()),
        (400, Some("GRD-431")),
        "{body}"
    );
    let (status, body) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/apps/{}/rejections?sort=asc", app.client_id),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("'sort'"));
    let (status, body) = server
        .admin(Method::GET, "/admin/v1/apps/no-such-app/rejections", None)
        .await;
    assert_eq!(
        (status, body["errors"][0]["errorCode"].as_str()),
        (404, Some("GRD-414"))
    );
    let (status, body) = server
        .admin(Method::GET, "/admin/v1/rejections/no-such-request-1", None)
        .await;
    assert_eq!(
        (status, body["errors"][0]["errorCode"].as_str()),
        (404, Some("GRD-430"))
    );

    // A success is not recorded; a client id naming no app is not kept.
    let ok = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.json.get("errors").is_none());
    let stranger = server
        .post_form(
            "/oauth/token",
            Some(("no-such-client", "x")),
            "grant_type=client_credentials",
        )
        .await;
    let stranger_id = request_id(&stranger);
    // A later rejection of the app shows the writer got past both.
    let revoke = server
        .post_form(
            "/oauth/revoke",
            Some((&app.client_id, "wrong-secret-value")),
            "token=abc",
        )
        .await;
    assert_eq!(revoke.status, 401, "{}", revoke.text);
    let revoke_id = request_id(&revoke);
    let list = rejections_until(&server, &app.client_id, "", |l| l.len() == 2).await;
    assert_eq!(list[0]["request_id"], revoke_id, "newest first");
    assert_eq!(list[0]["endpoint"], "/oauth/revoke");
    assert!(!list.to_vec().iter().any(|r| r["request_id"] == stranger_id));
    let (status, _) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/rejections/{stranger_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(!Value::Array(list)
        .to_string()
        .contains("wrong-secret-value"));

    // `grantd explain <request-id>`, from the running server.
    let out = std::process::Command::new(common::bin())
        .args(["explain", &id, "--server", &server.base])
        .env("GRANTD_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        id.as_str(),
        "OAU-251",
        "check_grant_enabled FAILED OAU-251",
        "app's grants: jwt_bearer client_credentials",
        "How to fix it:",
        "/docs/errors/OAU-251",
    ] {
        assert!(text.contains(want), "explain lacks {want:?}:\n{text}");
    }
    assert!(!text.contains(password));
    // A code is still explained as a code.
    let out = std::process::Command::new(common::bin())
        .args(["explain", "OAU-251"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("What it means"));
}

#[tokio::test]
async fn the_authorize_trace_compares_the_redirect_uri_and_explain_reads_the_data_dir() {
    let mut server = Server::start();
    let app = common::App::from(
        server
            .create_app(json!({"name": "Web", "platform_type": "server-web",
                "grants": ["authorization_code", "refresh_token"],
                "redirect_uris": ["https://app.example.com/callback"]}))
            .await,
    );
    let r = server
        .http
        .get(server.url(&format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example.net%2Fcb",
            app.client_id
        )))
        .send()
        .await
        .unwrap();
    let r = Reply::from(r).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let id = request_id(&r);
    let list = rejections_until(&server, &app.client_id, "?endpoint=/oauth/authorize", |l| {
        !l.is_empty()
    })
    .await;
    let got = &list[0];
    assert_eq!(got["request_id"], id);
    assert_eq!(got["grant"], "code");
    let failed = got["trace"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["passed"] == false)
        .unwrap()
        .clone();
    assert_eq!(failed["check"], "check_redirect_uri");
    let values = failed["values"].to_string();
    assert!(values.contains("https://evil.example.net/cb"), "{values}");
    assert!(
        values.contains("https://app.example.com/callback"),
        "{values}"
    );

    // A redirected authorization error is kept too (the app and URI are known).
    let r = server
        .http
        .get(server.url(&format!(
            "/oauth/authorize?response_type=token&client_id={}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state=s1",
            app.client_id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let redirected = r.headers()["x-request-id"].to_str().unwrap().to_string();
    rejections_until(&server, &app.client_id, "", |l| {
        l.iter().any(|x| x["request_id"] == redirected.as_str())
    })
    .await;

    // From the data directory, with the server stopped.
    server.kill();
    let out = std::process::Command::new(common::bin())
        .arg("--data-dir")
        .arg(&server.dir)
        .args(["explain", &id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("check_redirect_uri FAILED"), "{text}");
    assert!(
        text.contains("redirect_uri sent: https://evil.example.net/cb"),
        "{text}"
    );
    let out = std::process::Command::new(common::bin())
        .arg("--data-dir")
        .arg(&server.dir)
        .args(["explain", "no-such-request-7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GRD-430"));
}

#[tokio::test]
async fn the_rejection_log_keeps_the_last_thousand_per_app() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"grants": ["client_credentials"]}))
        .await;
    let other = server
        .server_only_app(json!({"grants": ["client_credentials"]}))
        .await;
    let bad = |n: usize| {
        let server = &server;
        let app = &app;
        async move {
            let r = server
                .post_form(
                    "/oauth/token",
                    Some((&app.client_id, &app.secret)),
                    &format!("grant_type=password&username=u{n}&password=p"),
                )
                .await;
            assert_eq!(r.status, 400, "{}", r.text);
            request_id(&r)
        }
    };
    let r = server
        .post_form(
            "/oauth/token",
            Some((&other.client_id, &other.secret)),
            "grant_type=password&username=x&password=p",
        )
        .await;
    assert_eq!(r.status, 400);
    let first = bad(0).await;
    let started = std::time::Instant::now();
    let mut last = String::new();
    for chunk in (1..1_001).collect::<Vec<_>>().chunks(50) {
        let ids = join_all(chunk.iter().map(|n| bad(*n)).collect()).await;
        last = ids.last().cloned().unwrap_or_default();
    }
    eprintln!("1,000 rejected requests in {:?}", started.elapsed());
    // Success is not slowed by the flood's writes.
    let t = std::time::Instant::now();
    let ok = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(ok.status, 200);
    eprintln!("a token request right after: {:?}", t.elapsed());

    let list = rejections_until(&server, &app.client_id, "?limit=1000", |l| {
        l.len() == 1_000 && l.iter().any(|r| r["request_id"] == last.as_str())
    })
    .await;
    assert!(
        !list.iter().any(|r| r["request_id"] == first.as_str()),
        "the 1,001st dropped the oldest"
    );
    let (status, _) = server
        .admin(Method::GET, &format!("/admin/v1/rejections/{first}"), None)
        .await;
    assert_eq!(status, 404);
    let list = rejections_until(&server, &other.client_id, "", |l| l.len() == 1).await;
    assert_eq!(list.len(), 1, "another app keeps its own");
    let few = rejections_until(&server, &app.client_id, "", |l| l.len() == 100).await;
    assert_eq!(few.len(), 100, "a page is 100 unless limit says more");
}

/// Runs the futures together (50 requests in flight).
async fn join_all<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = fs.into_iter().map(Box::pin).collect();
    let mut outs: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(outs.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outs.into_iter().flatten().collect()
}

/// A browser: cookies kept, redirects not followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

async fn page(b: &reqwest::Client, server: &Server, path: &str) -> (u16, String) {
    let r = b.get(server.url(path)).send().await.unwrap();
    (r.status().as_u16(), unescape(&r.text().await.unwrap()))
}

async fn sign_in(
    b: &reqwest::Client,
    server: &Server,
    email: &str,
    password: &str,
) -> (u16, String) {
    let (_, html) = page(b, server, "/console").await;
    let r = b
        .post(server.url("/console/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), unescape(&r.text().await.unwrap()))
}

/// Page text as read (askama escapes quotes).
fn unescape(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_console_shows_a_developer_their_apps_and_why_requests_failed() {
    let server = Server::start_with(&["--password-grant-sunset", "2099-12-31"], &[]);
    let (_, other_account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    let ours = server
        .server_only_app(
            json!({"name": "Nightly Sync", "grants": ["jwt_bearer", "client_credentials"]}),
        )
        .await;
    let theirs = server
        .server_only_app(json!({"name": "Their App", "account_id": other_account["id"]}))
        .await;
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    server
        .create_user(json!({"email": "plain@example.com", "name": "Pat User", "role": "user", "password": "plain user password"}))
        .await;

    // Signed out: the sign-in form, with a CSRF cookie.
    let b = browser();
    let (status, html) = page(&b, &server, "/console").await;
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/console/login\""));

    // CSRF refusal: a form without the token (or with another) signs no one in.
    let r = b
        .post(server.url("/console/login"))
        .form(&[
            ("username", "dev@example.com"),
            ("password", "developer password 1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("anti-forgery token"));
    let fresh = browser();
    let r = fresh
        .post(server.url("/console/login"))
        .form(&[
            ("csrf", "forged"),
            ("username", "dev@example.com"),
            ("password", "developer password 1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Validation errors beside the form: wrong password, missing username, not a developer.
    let (status, html) = sign_in(&b, &server, "dev@example.com", "wrong password here").await;
    assert_eq!(status, 401);
    assert!(html.contains("OAU-140"), "{html}");
    let (status, html) = sign_in(&b, &server, "", "x").await;
    assert_eq!(status, 401, "{html}");
    assert!(html.contains("username"), "{html}");
    let plain = browser();
    let (status, html) = sign_in(&plain, &server, "plain@example.com", "plain user password").await;
    assert_eq!(status, 403);
    assert!(
        html.contains("GRD-700") && html.contains("role 'user'"),
        "{html}"
    );

    // A developer signs in and sees their account's apps only.
    let (status, _) = sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    assert_eq!(status, 303);
    let (status, html) = page(&b, &server, "/console?done=signed-in").await;
    assert_eq!(status, 200);
    assert!(html.contains("Signed in."), "a flash message");
    assert!(html.contains("Nightly Sync") && html.contains(&ours.client_id));
    assert!(
        !html.contains(&theirs.client_id),
        "another account's app is not listed"
    );

    // Another account's app is refused.
    let (status, html) = page(&b, &server, &format!("/console/apps/{}", theirs.client_id)).await;
    assert_eq!(status, 403);
    assert!(html.contains("GRD-701"), "{html}");

    // A rejected request appears in the troubleshooter with its cause, and its trace opens.
    let r = server
        .post_form(
            "/oauth/token",
            Some((&ours.client_id, &ours.secret)),
            "grant_type=password&username=dev%40example.com&password=developer+password+1",
        )
        .await;
    r.assert_error(400, "unauthorized_client", "OAU-251", &[]);
    let id = request_id(&r);
    rejections_until(&server, &ours.client_id, "", |l| !l.is_empty()).await;
    let path = format!("/console/apps/{}", ours.client_id);
    let (status, html) = page(&b, &server, &path).await;
    assert_eq!(status, 200);
    assert!(html.contains(&id) && html.contains("OAU-251"), "{html}");
    assert!(
        html.contains("is not enabled for grant_type 'password'"),
        "{html}"
    );
    assert!(
        html.contains("/docs/errors/OAU-251"),
        "links the error reference"
    );
    // Ready-to-paste requests for each enabled grant, secrets as placeholders.
    assert!(html.contains("Token requests"));
    assert!(
        html.contains("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=$JWT"),
        "{html}"
    );
    assert!(
        html.contains("platform.login(jwt=os.environ[\"JWT\"])"),
        "{html}"
    );
    assert!(
        html.contains("await platform.login({ jwt: process.env.JWT });"),
        "{html}"
    );
    assert!(html.contains("grant_type=client_credentials"));
    assert!(
        !html.contains("grant_type=password"),
        "no snippet for a grant the app lacks"
    );
    assert!(
        !html.contains(&ours.secret),
        "the secret is never on the page"
    );
    assert!(html.contains("Rejected requests</th>"), "usage per day");
    assert!(
        !html.contains("developer password 1"),
        "no password on the page"
    );
    let (_, filtered) = page(&b, &server, &format!("{path}?code=OAU-123")).await;
    assert!(!filtered.contains(&id) && filtered.contains("match this filter"));
    let (_, filtered) = page(&b, &server, &format!("{path}?endpoint=%2Foauth%2Ftoken")).await;
    assert!(filtered.contains(&id));
    let (status, bad) = page(&b, &server, &format!("{path}?code=nonsense")).await;
    assert_eq!(status, 400);
    assert!(
        bad.contains("GRD-431") && bad.contains("is not a catalog code"),
        "{bad}"
    );
    let (status, trace) = page(&b, &server, &format!("/console/requests/{id}")).await;
    assert_eq!(status, 200);
    for want in [
        "Decision trace",
        "check_grant_enabled",
        "authenticate_client",
        "app's grants",
        "jwt_bearer client_credentials",
    ] {
        assert!(trace.contains(want), "trace page lacks {want}: {trace}");
    }
    // Another account's request id is as unknown as a missing one.
    let r = server
        .post_form(
            "/oauth/token",
            Some((&theirs.client_id, &theirs.secret)),
            "grant_type=password&username=a&password=b",
        )
        .await;
    let theirs_id = request_id(&r);
    rejections_until(&server, &theirs.client_id, "", |l| !l.is_empty()).await;
    let (status, html) = page(&b, &server, &format!("/console/requests/{theirs_id}")).await;
    assert_eq!(status, 404);
    assert!(html.contains("GRD-430"));

    // Sign out: CSRF checked; then the console asks to sign in again.
    let r = b
        .post(server.url("/console/signout"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let (_, html) = page(&b, &server, "/console").await;
    let r = b
        .post(server.url("/console/signout"))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, html) = page(&b, &server, &path).await;
    assert!(html.contains("action=\"/console/login\""));
}

async fn post_page(
    b: &reqwest::Client,
    server: &Server,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let r = b.post(server.url(path)).form(form).send().await.unwrap();
    (r.status().as_u16(), unescape(&r.text().await.unwrap()))
}

#[tokio::test]
async fn a_developer_creates_lists_and_revokes_jwt_credentials_and_bad_forms_save_nothing() {
    let server = Server::start();
    let (_, other_account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    let app = server
        .server_only_app(json!({"name": "Nightly Sync", "grants": ["jwt_bearer"]}))
        .await;
    let theirs = server
        .server_only_app(
            json!({"name": "Their App", "grants": ["jwt_bearer"], "account_id": other_account["id"]}),
        )
        .await;
    let dev = server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    let (status, _) = sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    assert_eq!(status, 303);
    let (status, html) = page(&b, &server, "/console/credentials").await;
    assert_eq!(status, 200);
    assert!(html.contains("You have no JWT credentials yet."));
    assert!(html.contains(&format!("name=\"app.{}\"", app.client_id)));
    assert!(
        !html.contains(&theirs.client_id),
        "only the account's apps are offered"
    );
    let csrf = csrf_of(&html);
    let app_field = format!("app.{}", app.client_id);
    let count = || async {
        let (_, body) = server
            .admin(
                Method::GET,
                &format!(
                    "/admin/v1/users/{}/jwt-credentials",
                    dev["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        body["jwt_credentials"].as_array().map_or(0, Vec::len)
    };

    // Each field's error beside it; nothing saved.
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: [Case; 5] = [
        (
            vec![
                ("csrf", &csrf),
                ("label", ""),
                (&app_field, "yes"),
                ("expires", "90"),
            ],
            "label",
            "1 to 100 characters",
        ),
        (
            vec![("csrf", &csrf), ("label", "ci"), ("expires", "90")],
            "apps",
            "at least one app",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("label", "ci"),
                (&app_field, "yes"),
                ("expires", "0"),
            ],
            "expires",
            "from 1 to 3650",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("label", "ci"),
                (&app_field, "yes"),
                ("expires", "soon"),
            ],
            "expires",
            "from 1 to 3650",
        ),
        (
            vec![
                ("csrf", "forged"),
                ("label", "ci"),
                (&app_field, "yes"),
                ("expires", "90"),
            ],
            "csrf",
            "anti-forgery token",
        ),
    ];
    for (form, field, says) in cases {
        let (status, html) = post_page(&b, &server, "/console/credentials", &form).await;
        assert_eq!(status, 400, "{field}: {html}");
        assert!(html.contains(says), "{field}: {html}");
        assert!(
            html.contains("/docs/errors/GRD-106"),
            "the catalog code is shown: {html}"
        );
        if field != "csrf" {
            assert!(
                html.contains("class=\"field-error\""),
                "{field}: the error is beside the field"
            );
        }
    }
    // Another account's app cannot be named.
    let their_field = format!("app.{}", theirs.client_id);
    let (status, html) = post_page(
        &b,
        &server,
        "/console/credentials",
        &[
            ("csrf", &csrf),
            ("label", "ci"),
            (&their_field, "yes"),
            ("expires", "90"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert!(html.contains("GRD-701"));
    assert_eq!(count().await, 0, "no invalid form saved anything");

    // Created: the JWT is shown once, and works.
    let (status, html) = post_page(
        &b,
        &server,
        "/console/credentials",
        &[
            ("csrf", &csrf),
            ("label", "nightly server"),
            (&app_field, "yes"),
            ("expires", "30"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("shown this once") && html.contains("Credential created."));
    let at = html.find("<code id=\"new-jwt\">").unwrap() + 19;
    let jwt = html[at..].split('<').next().unwrap().to_string();
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, listed) = page(&b, &server, "/console/credentials").await;
    assert!(listed.contains("nightly server") && listed.contains("active"));
    assert!(!listed.contains(&jwt), "the JWT is not shown again");
    let (_, body) = server
        .admin(
            Method::GET,
            &format!(
                "/admin/v1/users/{}/jwt-credentials",
                dev["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let id = body["jwt_credentials"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Revoking needs the confirmation box.
    let (status, html) = post_page(
        &b,
        &server,
        "/console/credentials/revoke",
        &[("csrf", &csrf), ("id", &id)],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("tick the box to confirm"));
    let r = b
        .post(server.url("/console/credentials/revoke"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("id", id.as_str()),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = page(&b, &server, "/console/credentials?done=revoked").await;
    assert!(html.contains("Credential revoked") && html.contains("revoked"));
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
            ),
        )
        .await;
    assert_eq!(r.status, 400, "a revoked credential no longer works");
}

#[tokio::test]
async fn a_developer_registers_apps_from_the_platform_type_and_bad_forms_save_nothing() {
    let server = Server::start();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    let (status, _) = sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    assert_eq!(status, 303);
    let apps = || async {
        let (_, body) = server.admin(Method::GET, "/admin/v1/apps", None).await;
        body["apps"].as_array().map_or(0, Vec::len)
    };
    let before = apps().await;

    // The platform types in plain words, each with its grants.
    let (status, html) = page(&b, &server, "/console/apps/new").await;
    assert_eq!(status, 200);
    for p in [
        "server-web",
        "browser",
        "desktop",
        "mobile",
        "server-only",
        "device",
    ] {
        assert!(html.contains(&format!("?platform={p}")), "{p}");
    }
    assert!(html.contains("The password grant is not offered"));
    // A browser app's form does not offer password.
    let (_, html) = page(&b, &server, "/console/apps/new?platform=browser").await;
    assert!(html.contains("name=\"grant.authorization_code\""));
    assert!(
        !html.contains("name=\"grant.password\""),
        "password is not offered to a browser app"
    );
    let csrf = csrf_of(&html);

    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: [Case; 6] = [
        (
            vec![
                ("csrf", "forged"),
                ("platform", "browser"),
                ("name", "Web"),
                ("grant.authorization_code", "yes"),
                ("redirect_uris", "https://app.example.com/cb"),
            ],
            400,
            "anti-forgery token",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("platform", "browser"),
                ("name", "Web"),
                ("redirect_uris", "https://app.example.com/cb"),
            ],
            400,
            "choose at least one grant",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("platform", "browser"),
                ("name", "Web"),
                ("grant.password", "yes"),
                ("redirect_uris", "https://app.example.com/cb"),
            ],
            400,
            "GRD-411",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("platform", "browser"),
                ("name", "Web"),
                ("grant.authorization_code", "yes"),
                ("redirect_uris", "https://app.example.com/cb#fragment"),
            ],
            400,
            "GRD-412",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("platform", "browser"),
                ("name", ""),
                ("grant.authorization_code", "yes"),
                ("redirect_uris", "https://app.example.com/cb"),
            ],
            400,
            "GRD-410",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("platform", "spaceship"),
                ("name", "Web"),
                ("grant.authorization_code", "yes"),
            ],
            400,
            "GRD-410",
        ),
    ];
    for (form, want_status, says) in cases {
        let (status, html) = post_page(&b, &server, "/console/apps/new", &form).await;
        assert_eq!(status, want_status, "{says}: {html}");
        assert!(html.contains(says), "{says}: {html}");
    }
    assert_eq!(apps().await, before, "no invalid form saved an app");

    // A server-only app with JWT: the secret shown once; it is in the list.
    let (status, html) = post_page(
        &b,
        &server,
        "/console/apps/new",
        &[
            ("csrf", &csrf),
            ("platform", "server-only"),
            ("name", "Nightly Sync"),
            ("grant.jwt_bearer", "yes"),
            ("scopes", "ReadAccounts"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("shown this once"));
    let at = html.find("<code id=\"client-secret\">").unwrap() + 25;
    let secret = html[at..].split('<').next().unwrap().to_string();
    assert!(secret.len() > 20);
    let (_, list) = page(&b, &server, "/console").await;
    assert!(list.contains("Nightly Sync"));
    assert_eq!(apps().await, before + 1);
    let (_, body) = server.admin(Method::GET, "/admin/v1/apps", None).await;
    let created = body["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Nightly Sync")
        .unwrap()
        .clone();
    assert_eq!(created["grants"], json!(["jwt_bearer"]));
    let (_, app_page) = page(
        &b,
        &server,
        &format!("/console/apps/{}", created["client_id"].as_str().unwrap()),
    )
    .await;
    assert!(!app_page.contains(&secret), "the secret is not shown again");
}

/// The app as the admin API shows it.
async fn admin_app(server: &Server, client_id: &str) -> Value {
    let (status, body) = server
        .admin(Method::GET, &format!("/admin/v1/apps/{client_id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn the_register_form_takes_distribution_lifetimes_refresh_tokens_format_and_origins() {
    let server = Server::start();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    let (status, _) = sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    assert_eq!(status, 303);
    let (_, html) = page(&b, &server, "/console/apps/new?platform=server-web").await;
    for field in [
        "name=\"distribution\"",
        "name=\"issue_refresh_tokens\"",
        "name=\"access_token_ttl\"",
        "name=\"refresh_token_ttl\"",
        "name=\"access_token_format\"",
        "name=\"allowed_origins\"",
    ] {
        assert!(html.contains(field), "{field}: {html}");
    }
    let csrf = csrf_of(&html);
    let count = || async {
        let (_, body) = server.admin(Method::GET, "/admin/v1/apps", None).await;
        body["apps"].as_array().map_or(0, Vec::len)
    };
    let before = count().await;
    let good: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("platform", "server-web"),
        ("name", "Web Portal"),
        ("grant.authorization_code", "yes"),
        ("grant.refresh_token", "yes"),
        ("redirect_uris", "https://portal.example.com/cb"),
        ("distribution", "public"),
        ("issue_refresh_tokens", "yes"),
        ("access_token_ttl", "600"),
        ("refresh_token_ttl", "7200"),
        ("access_token_format", "opaque"),
        (
            "allowed_origins",
            "https://portal.example.com\nhttps://admin.example.com",
        ),
    ];
    // Each invalid field: the catalog's error beside it, nothing saved.
    let bad: [(&str, &str, &str); 7] = [
        ("distribution", "everyone", "use 'private' or 'public'"),
        ("access_token_ttl", "10", "10 seconds is outside 60–86400"),
        ("access_token_ttl", "an hour", "not a number of seconds"),
        (
            "refresh_token_ttl",
            "60",
            "60 seconds is outside 3600–7776000",
        ),
        ("access_token_format", "paseto", "use 'jwt' or 'opaque'"),
        (
            "allowed_origins",
            "https://portal.example.com/path",
            "allowed_origins",
        ),
        ("issue_refresh_tokens", "maybe", "use yes or no"),
    ];
    for (field, value, says) in bad {
        let form: Vec<(&str, &str)> = good
            .iter()
            .map(|&(k, v)| if k == field { (k, value) } else { (k, v) })
            .collect();
        let (status, html) = post_page(&b, &server, "/console/apps/new", &form).await;
        assert_eq!(status, 400, "{field}={value}: {html}");
        assert!(html.contains("GRD-410"), "{field}={value}: {html}");
        assert!(html.contains(says), "{field}={value}: {html}");
        assert!(
            html.contains("<span class=\"field-error\">"),
            "{field}: the error is beside the field"
        );
    }
    // Refresh tokens without the refresh_token grant.
    let form: Vec<(&str, &str)> = good
        .iter()
        .copied()
        .filter(|(k, _)| *k != "grant.refresh_token")
        .collect();
    let (status, html) = post_page(&b, &server, "/console/apps/new", &form).await;
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains("refresh tokens need the refresh_token grant"),
        "{html}"
    );
    assert_eq!(count().await, before, "no invalid form saved an app");

    let (status, html) = post_page(&b, &server, "/console/apps/new", &good).await;
    assert_eq!(status, 201, "{html}");
    let (_, body) = server.admin(Method::GET, "/admin/v1/apps", None).await;
    let app = body["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Web Portal")
        .unwrap()
        .clone();
    assert_eq!(app["distribution"], "public");
    assert_eq!(app["issue_refresh_tokens"], true);
    assert_eq!(app["access_token_ttl"], 600);
    assert_eq!(app["refresh_token_ttl"], 7200);
    assert_eq!(app["access_token_format"], "opaque");
    assert_eq!(
        app["allowed_origins"],
        json!(["https://admin.example.com", "https://portal.example.com"])
    );
}

#[tokio::test]
async fn a_developer_edits_an_app_and_rotates_its_secret_from_the_app_page() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"name": "Nightly Sync", "grants": ["client_credentials"]}))
        .await;
    let id = app.client_id.clone();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let (_, other_account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    server
        .create_user(json!({"email": "eve@example.com", "name": "Eve Else", "role": "developer", "password": "elsewhere password 1", "account_id": other_account["id"]}))
        .await;
    let b = browser();
    let (status, _) = sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    assert_eq!(status, 303);
    let path = format!("/console/apps/{id}");
    let (status, html) = page(&b, &server, &path).await;
    assert_eq!(status, 200);
    // Platform type and distribution shown but fixed; only the platform's grants offered.
    assert!(html.contains("server-only (confidential"), "{html}");
    assert!(html.contains("private; fixed"), "{html}");
    assert!(html.contains("name=\"grant.jwt_bearer\""));
    assert!(!html.contains("name=\"grant.authorization_code\""));
    assert!(!html.contains("name=\"platform_type\"") && !html.contains("name=\"distribution\""));
    let csrf = csrf_of(&html);

    let good: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("name", "Nightly Sync v2"),
        ("grant.client_credentials", "yes"),
        ("grant.jwt_bearer", "yes"),
        ("grant.refresh_token", "yes"),
        ("redirect_uris", ""),
        ("scopes", "ReadAccounts ReadMessages"),
        ("allowed_origins", "https://ops.example.com"),
        ("issue_refresh_tokens", "yes"),
        ("access_token_ttl", "900"),
        ("refresh_token_ttl", "86400"),
        ("access_token_format", "opaque"),
    ];
    let saved_before = admin_app(&server, &id).await;
    let bad: [(&str, &str, &str, &str); 8] = [
        ("name", "", "GRD-410", "give 1 to 100 printable characters"),
        (
            "grant.authorization_code",
            "yes",
            "GRD-411",
            "authorization_code",
        ),
        (
            "redirect_uris",
            "https://x.example.com/cb#frag",
            "GRD-412",
            "fragment",
        ),
        ("scopes", "Read\"Accounts", "GRD-410", "double quotes"),
        (
            "allowed_origins",
            "ftp://ops.example.com",
            "GRD-410",
            "allowed_origins",
        ),
        (
            "access_token_ttl",
            "999999",
            "GRD-410",
            "999999 seconds is outside",
        ),
        (
            "refresh_token_ttl",
            "x",
            "GRD-410",
            "not a number of seconds",
        ),
        (
            "access_token_format",
            "paseto",
            "GRD-410",
            "use 'jwt' or 'opaque'",
        ),
    ];
    for (field, value, code, says) in bad {
        let mut form: Vec<(&str, &str)> = good
            .iter()
            .map(|&(k, v)| if k == field { (k, value) } else { (k, v) })
            .collect();
        if !form.iter().any(|(k, _)| *k == field) {
            form.push((field, value));
        }
        let (status, html) = post_page(&b, &server, &path, &form).await;
        assert_eq!(status, 400, "{field}={value}: {html}");
        assert!(html.contains(code), "{field}={value}: {html}");
        assert!(html.contains(says), "{field}={value}: {html}");
        assert!(
            html.contains("<span class=\"field-error\">"),
            "{field}: the error is beside the field: {html}"
        );
        assert_eq!(
            admin_app(&server, &id).await,
            saved_before,
            "{field}: nothing saved"
        );
    }
    // No grant at all.
    let form: Vec<(&str, &str)> = good
        .iter()
        .copied()
        .filter(|(k, _)| !k.starts_with("grant."))
        .collect();
    let (status, html) = post_page(&b, &server, &path, &form).await;
    assert_eq!(status, 400);
    assert!(html.contains("choose at least one grant"), "{html}");
    // CSRF: a forged token saves nothing.
    let mut forged = good.clone();
    forged[0] = ("csrf", "forged");
    let (status, html) = post_page(&b, &server, &path, &forged).await;
    assert_eq!(status, 400);
    assert!(html.contains("anti-forgery token"), "{html}");
    assert_eq!(
        admin_app(&server, &id).await,
        saved_before,
        "CSRF: nothing saved"
    );

    // Another account's developer: refused, nothing saved.
    let eve = browser();
    let (status, _) = sign_in(&eve, &server, "eve@example.com", "elsewhere password 1").await;
    assert_eq!(status, 303);
    let (_, eve_html) = page(&eve, &server, "/console").await;
    let eve_csrf = csrf_of(&eve_html);
    let mut theirs = good.clone();
    theirs[0] = ("csrf", &eve_csrf);
    let (status, html) = post_page(&eve, &server, &path, &theirs).await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("GRD-701"), "{html}");
    let (status, html) = post_page(
        &eve,
        &server,
        &format!("{path}/secret"),
        &[("csrf", &eve_csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("GRD-701"), "{html}");
    assert_eq!(
        admin_app(&server, &id).await,
        saved_before,
        "another account: nothing saved"
    );

    // A form loaded before another change is refused (GRD-740), nothing saved.
    let (_, html) = page(&b, &server, &path).await;
    let at = html
        .find("name=\"revision\" value=\"")
        .expect("a revision field")
        + 23;
    let loaded = html[at..].split('"').next().unwrap().to_string();
    let (status, body) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{id}"),
            Some(json!({"scopes": ["ReadAccounts"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let changed = admin_app(&server, &id).await;
    let mut stale = good.clone();
    stale.push(("revision", &loaded));
    let (status, html) = post_page(&b, &server, &path, &stale).await;
    assert_eq!(status, 409, "{html}");
    assert!(
        html.contains("GRD-740") && html.contains("nothing was saved"),
        "{html}"
    );
    assert_eq!(
        admin_app(&server, &id).await,
        changed,
        "a stale form: nothing saved"
    );

    // A good edit: saved (the revision moves on), flashed, visible via the admin API.
    let (_, html) = page(&b, &server, &path).await;
    let at = html.find("name=\"revision\" value=\"").unwrap() + 23;
    let current = html[at..].split('"').next().unwrap().to_string();
    assert_ne!(current, loaded);
    let mut good = good.clone();
    good.push(("revision", &current));
    let r = b.post(server.url(&path)).form(&good).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (status, html) = page(&b, &server, &to).await;
    assert_eq!(status, 200);
    assert!(html.contains("Settings saved."), "{html}");
    assert!(html.contains("value=\"Nightly Sync v2\""), "{html}");
    let saved = admin_app(&server, &id).await;
    assert_eq!(saved["name"], "Nightly Sync v2");
    assert_eq!(
        saved["grants"],
        json!(["refresh_token", "jwt_bearer", "client_credentials"])
    );
    assert_eq!(saved["scopes"], json!(["ReadAccounts", "ReadMessages"]));
    assert_eq!(saved["allowed_origins"], json!(["https://ops.example.com"]));
    assert_eq!(saved["issue_refresh_tokens"], true);
    assert_eq!(saved["access_token_ttl"], 900);
    assert_eq!(saved["refresh_token_ttl"], 86400);
    assert_eq!(saved["access_token_format"], "opaque");
    assert_eq!(saved["platform_type"], "server-only");
    assert_eq!(saved["distribution"], "private");

    // Rotation: refused without the tick box or with a forged token; the old secret still works.
    let token = |secret: String| {
        let server = &server;
        let id = id.clone();
        async move {
            server
                .http
                .post(server.url("/oauth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", common::basic_header(&id, &secret))
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let secret_path = format!("{path}/secret");
    let (status, html) = post_page(&b, &server, &secret_path, &[("csrf", &csrf)]).await;
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains("GRD-106") && html.contains("tick the box"),
        "{html}"
    );
    let (status, _) = post_page(
        &b,
        &server,
        &secret_path,
        &[("csrf", "forged"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        token(app.secret.clone()).await,
        200,
        "the old secret still works"
    );

    let (status, html) = post_page(
        &b,
        &server,
        &secret_path,
        &[("csrf", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("shown this once"), "{html}");
    let at = html.find("<code id=\"client-secret\">").unwrap() + 25;
    let secret = html[at..].split('<').next().unwrap().to_string();
    assert!(secret.len() > 20 && secret != app.secret, "{secret}");
    assert_eq!(
        token(app.secret.clone()).await,
        401,
        "the old secret stops working"
    );
    let r = server
        .http
        .post(server.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", common::basic_header(&id, &secret))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let r = Reply::from(r).await;
    assert_eq!(r.status, 200, "the new secret works: {}", r.text);
    let (_, html) = page(&b, &server, &path).await;
    assert!(!html.contains(&secret), "the secret is not shown again");
}

#[tokio::test]
async fn a_public_app_has_no_secret_to_rotate_in_the_console() {
    let server = Server::start();
    let (_, created) = server
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "Phone", "platform_type": "mobile", "redirect_uris": ["com.example.phone:/cb"]})),
        )
        .await;
    let id = created["client_id"].as_str().unwrap().to_string();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    let (_, html) = page(&b, &server, &format!("/console/apps/{id}")).await;
    assert!(!html.contains("/secret\""), "no rotation form: {html}");
    let (status, html) = post_page(
        &b,
        &server,
        &format!("/console/apps/{id}/secret"),
        &[("csrf", &csrf_of(&html)), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains("GRD-410") && html.contains("public"),
        "{html}"
    );
}

/// The users the admin API lists in an account.
async fn users_of(server: &Server, account_id: &str) -> Vec<Value> {
    let (status, body) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/users?account_id={account_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["users"].as_array().cloned().unwrap_or_default()
}

/// The text of the element with this id (a secret shown once).
fn shown(html: &str, id: &str) -> String {
    let open = format!("<code id=\"{id}\">");
    let at = html
        .find(&open)
        .unwrap_or_else(|| panic!("no {id}: {html}"))
        + open.len();
    html[at..].split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn an_admin_manages_the_users_of_their_account_and_a_developer_cannot() {
    let server = Server::start();
    let (_, other_account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    let admin = server
        .create_user(json!({"email": "ada@example.com", "name": "Ada Admin", "role": "admin", "password": "admin password 1"}))
        .await;
    let dev = server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let theirs = server
        .create_user(json!({"email": "them@example.com", "name": "Their User", "role": "developer", "password": "their password 12", "account_id": other_account["id"]}))
        .await;
    let account = admin["account_id"].as_str().unwrap().to_string();
    let dev_id = dev["id"].as_str().unwrap().to_string();
    let theirs_id = theirs["id"].as_str().unwrap().to_string();

    // A developer is refused every account page, naming the role needed.
    let d = browser();
    sign_in(&d, &server, "dev@example.com", "developer password 1").await;
    let (_, apps) = page(&d, &server, "/console").await;
    assert!(
        !apps.contains("href=\"/console/users\""),
        "no Users link for a developer"
    );
    let dev_csrf = csrf_of(&apps);
    for path in [
        "/console/users".to_string(),
        format!("/console/users/{dev_id}"),
    ] {
        let (status, html) = page(&d, &server, &path).await;
        assert_eq!(status, 403, "{path}: {html}");
        assert!(
            html.contains("GRD-702") && html.contains("'admin'"),
            "{html}"
        );
    }
    let (status, html) = post_page(
        &d,
        &server,
        "/console/users",
        &[
            ("csrf", &dev_csrf),
            ("name", "Sneaky"),
            ("email", "sneaky@example.com"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("GRD-702"));
    let (status, _) = post_page(
        &d,
        &server,
        &format!("/console/users/{dev_id}"),
        &[("csrf", &dev_csrf), ("action", "role"), ("role", "admin")],
    )
    .await;
    assert_eq!(status, 403, "a developer cannot make themselves admin");
    assert_eq!(users_of(&server, &account).await.len(), 2);

    // The admin sees the account's users, not another account's.
    let b = browser();
    let (status, _) = sign_in(&b, &server, "ada@example.com", "admin password 1").await;
    assert_eq!(status, 303);
    let (status, html) = page(&b, &server, "/console/users").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("href=\"/console/users\""), "the Users link");
    assert!(
        html.contains("Ada Admin") && html.contains("Dana Dev") && html.contains("dev@example.com")
    );
    assert!(!html.contains("Their User") && !html.contains(&theirs_id));
    let csrf = csrf_of(&html);

    // Each field's error beside it, the catalog's code linked; nothing saved.
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: [Case; 6] = [
        (
            vec![
                ("csrf", &csrf),
                ("name", ""),
                ("email", "new@example.com"),
                ("role", "developer"),
            ],
            "GRD-416",
            "'name'",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("name", "New"),
                ("email", "not-an-email"),
                ("role", "developer"),
            ],
            "GRD-416",
            "'email'",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("name", "New"),
                ("email", "new@example.com"),
                ("role", "root"),
            ],
            "GRD-416",
            "use admin, developer or user",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("name", "New"),
                ("email", "new@example.com"),
                ("role", "user"),
                ("password", "short"),
            ],
            "GRD-416",
            "8 to 1024 characters",
        ),
        (
            vec![
                ("csrf", &csrf),
                ("name", "New"),
                ("email", "dev@example.com"),
                ("role", "user"),
            ],
            "GRD-416",
            "already taken",
        ),
        (
            vec![
                ("csrf", "forged"),
                ("name", "New"),
                ("email", "new@example.com"),
                ("role", "user"),
            ],
            "GRD-106",
            "anti-forgery token",
        ),
    ];
    for (form, code, says) in cases {
        let (status, html) = post_page(&b, &server, "/console/users", &form).await;
        assert_eq!(status, 400, "{says}: {html}");
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains(&format!("/docs/errors/{code}")), "{html}");
        if code != "GRD-106" {
            assert!(
                html.contains("class=\"field-error\""),
                "{says}: beside the field"
            );
        }
        assert!(
            !html.contains("short\""),
            "the password is not put back in the form"
        );
    }
    assert_eq!(users_of(&server, &account).await.len(), 2, "nothing saved");

    // Created with a password grantd makes, shown once; it signs in.
    let (status, html) = post_page(
        &b,
        &server,
        "/console/users",
        &[
            ("csrf", &csrf),
            ("name", "Nico New"),
            ("email", "Nico@Example.com"),
            ("role", "developer"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("User Nico New created as developer."));
    let made = shown(&html, "new-password");
    assert!(made.len() >= 20, "{made}");
    assert!(html.contains("data-copy=\"new-password\""), "a copy button");
    let users = users_of(&server, &account).await;
    let nico = users
        .iter()
        .find(|u| u["email"] == "nico@example.com")
        .expect("created in the admin's account");
    let nico_id = nico["id"].as_str().unwrap().to_string();
    assert_eq!(nico["role"], "developer");
    let n = browser();
    let (status, _) = sign_in(&n, &server, "nico@example.com", &made).await;
    assert_eq!(status, 303, "the shown password signs in");
    let (_, again) = page(&b, &server, "/console/users").await;
    assert!(!again.contains(&made), "shown once");

    // Another account's user: refused alike, read or changed.
    let (status, html) = page(&b, &server, &format!("/console/users/{theirs_id}")).await;
    assert_eq!(status, 403);
    assert!(html.contains("GRD-703"), "{html}");
    let (status, html) = post_page(
        &b,
        &server,
        &format!("/console/users/{theirs_id}"),
        &[
            ("csrf", &csrf),
            ("action", "status"),
            ("status", "disabled"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert!(html.contains("GRD-703"));
    let (_, them) = server
        .admin(Method::GET, &format!("/admin/v1/users/{theirs_id}"), None)
        .await;
    assert_eq!(
        them["status"], "enabled",
        "another account's user untouched"
    );

    // Disabling needs the confirmation; then the user cannot sign in.
    let nico_page = format!("/console/users/{nico_id}");
    let (status, html) = post_page(
        &b,
        &server,
        &nico_page,
        &[
            ("csrf", &csrf),
            ("action", "status"),
            ("status", "disabled"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("tick the box to confirm") && html.contains("class=\"field-error\""));
    let (status, html) = post_page(
        &b,
        &server,
        &nico_page,
        &[
            ("csrf", "forged"),
            ("action", "status"),
            ("status", "disabled"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("anti-forgery token"));
    let (_, still) = server
        .admin(Method::GET, &format!("/admin/v1/users/{nico_id}"), None)
        .await;
    assert_eq!(still["status"], "enabled", "refused forms change nothing");
    let r = b
        .post(server.url(&nico_page))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "status"),
            ("status", "disabled"),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = page(&b, &server, &format!("{nico_page}?done=disabled")).await;
    assert!(
        html.contains("User disabled") && html.contains("Enable user"),
        "{html}"
    );
    let (status, _) = sign_in(&browser(), &server, "nico@example.com", &made).await;
    assert_ne!(status, 303, "a disabled user cannot sign in");
    let r = b
        .post(server.url(&nico_page))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "status"),
            ("status", "enabled"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);

    // The role changes; a wrong one is refused beside the field.
    let (status, html) = post_page(
        &b,
        &server,
        &nico_page,
        &[("csrf", &csrf), ("action", "role"), ("role", "owner")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        html.contains("use admin, developer or user") && html.contains("class=\"field-error\"")
    );
    let r = b
        .post(server.url(&nico_page))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "role"),
            ("role", "user"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, nico) = server
        .admin(Method::GET, &format!("/admin/v1/users/{nico_id}"), None)
        .await;
    assert_eq!(nico["role"], "user");
    let (status, html) = page(&n, &server, "/console").await;
    assert_eq!(status, 403, "the new role holds at once, signed in or not");
    assert!(html.contains("GRD-700"));

    // An administrator cannot disable themselves or change their own role.
    let own = format!("/console/users/{}", admin["id"].as_str().unwrap());
    for form in [
        vec![
            ("csrf", csrf.as_str()),
            ("action", "status"),
            ("status", "disabled"),
            ("confirm", "yes"),
        ],
        vec![
            ("csrf", csrf.as_str()),
            ("action", "role"),
            ("role", "developer"),
        ],
    ] {
        let (status, html) = post_page(&b, &server, &own, &form).await;
        assert_eq!(status, 409, "{html}");
        assert!(html.contains("GRD-704"));
    }

    // A password reset: confirmed, checked, then the new one signs in.
    let (status, html) = post_page(
        &b,
        &server,
        &nico_page,
        &[
            ("csrf", &csrf),
            ("action", "password"),
            ("password", "a new password 9"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("tick the box to confirm"));
    let (status, html) = post_page(
        &b,
        &server,
        &nico_page,
        &[
            ("csrf", &csrf),
            ("action", "password"),
            ("password", "tiny"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("8 to 1024 characters") && html.contains("class=\"field-error\""));
    let (status, html) = post_page(
        &b,
        &server,
        &nico_page,
        &[
            ("csrf", &csrf),
            ("action", "password"),
            ("password", "a new password 9"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Password reset"));
    assert!(
        !html.contains("a new password 9"),
        "a password the admin set is not shown"
    );
    // Nico is a plain user now: the new password is right, the role is not.
    let (status, html) = sign_in(&browser(), &server, "nico@example.com", "a new password 9").await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("GRD-700"));
    let (status, _) = sign_in(&browser(), &server, "nico@example.com", &made).await;
    assert_eq!(status, 401, "the old password no longer works");

    // The audit log names the administrator for each action.
    let (_, audit) = server
        .admin(Method::GET, "/admin/v1/audit?limit=1000", None)
        .await;
    let entries = audit["entries"].as_array().unwrap();
    for kind in [
        "user_created",
        "user_disabled",
        "user_enabled",
        "role_changed",
        "password_reset",
    ] {
        let e = entries
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} entry: {audit}"));
        assert_eq!(e["actor"], admin["id"], "{e}");
        assert_eq!(e["subject"], nico_id.as_str(), "{e}");
        assert_eq!(e["source"], "127.0.0.1", "{e}");
    }
    assert!(
        !audit.to_string().contains(&made),
        "no password in the audit log"
    );
}

#[tokio::test]
async fn an_admin_manages_every_users_jwt_credentials() {
    let server = Server::start();
    let (_, other_account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    let app = server
        .server_only_app(json!({"name": "Nightly Sync", "grants": ["jwt_bearer"]}))
        .await;
    server
        .create_user(json!({"email": "ada@example.com", "name": "Ada Admin", "role": "admin", "password": "admin password 1"}))
        .await;
    let dev = server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let theirs = server
        .create_user(json!({"email": "them@example.com", "name": "Their User", "role": "developer", "password": "their password 12", "account_id": other_account["id"]}))
        .await;
    let dev_id = dev["id"].as_str().unwrap().to_string();
    let (_, their_cred) = server
        .admin(
            Method::POST,
            &format!(
                "/admin/v1/users/{}/jwt-credentials",
                theirs["id"].as_str().unwrap()
            ),
            Some(json!({"label": "theirs"})),
        )
        .await;
    let their_cred_id = their_cred["id"].as_str().unwrap().to_string();
    let count = || async {
        let (_, body) = server
            .admin(
                Method::GET,
                &format!("/admin/v1/users/{dev_id}/jwt-credentials"),
                None,
            )
            .await;
        body["jwt_credentials"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    let b = browser();
    sign_in(&b, &server, "ada@example.com", "admin password 1").await;
    let dev_page = format!("/console/users/{dev_id}");
    let (status, html) = page(&b, &server, &dev_page).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Dana Dev has no JWT credentials."));
    let csrf = csrf_of(&html);
    let app_field = format!("app.{}", app.client_id);

    // The credential form's errors beside their fields; nothing saved.
    for (form, says) in [
        (
            vec![
                ("csrf", csrf.as_str()),
                ("action", "credential"),
                ("label", "ci"),
                ("expires", "90"),
            ],
            "at least one app",
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("action", "credential"),
                ("label", ""),
                (app_field.as_str(), "yes"),
                ("expires", "90"),
            ],
            "1 to 100 characters",
        ),
        (
            vec![
                ("csrf", "forged"),
                ("action", "credential"),
                ("label", "ci"),
                (app_field.as_str(), "yes"),
                ("expires", "90"),
            ],
            "anti-forgery token",
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("action", "launch"),
                ("label", "ci"),
            ],
            "use role, status, password, credential or revoke",
        ),
    ] {
        let (status, html) = post_page(&b, &server, &dev_page, &form).await;
        assert_eq!(status, 400, "{says}: {html}");
        assert!(
            html.contains(says) && html.contains("/docs/errors/GRD-106"),
            "{says}: {html}"
        );
    }
    assert!(count().await.is_empty());

    // Created for the developer: shown once, with a copy button; it works.
    let (status, html) = post_page(
        &b,
        &server,
        &dev_page,
        &[
            ("csrf", &csrf),
            ("action", "credential"),
            ("label", "dana's server"),
            (&app_field, "yes"),
            ("expires", "30"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("Credential created.") && html.contains("data-copy=\"new-jwt\""));
    let jwt = shown(&html, "new-jwt");
    let creds = count().await;
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["label"], "dana's server");
    let cred_id = creds[0]["id"].as_str().unwrap().to_string();
    let body =
        format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}");
    let exchange = || server.post_form("/oauth/token", Some((&app.client_id, &app.secret)), &body);
    assert_eq!(
        exchange().await.status,
        200,
        "the credential signs in as the developer"
    );

    // Revoking: confirmed, only this account's, then it stops working.
    let (status, html) = post_page(
        &b,
        &server,
        &dev_page,
        &[("csrf", &csrf), ("action", "revoke"), ("id", &cred_id)],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("tick the box to confirm"));
    let (status, html) = post_page(
        &b,
        &server,
        &dev_page,
        &[
            ("csrf", &csrf),
            ("action", "revoke"),
            ("id", &their_cred_id),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("GRD-705"));
    let (_, theirs_now) = server
        .admin(
            Method::GET,
            &format!(
                "/admin/v1/users/{}/jwt-credentials",
                theirs["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert!(
        theirs_now["jwt_credentials"][0]["revoked_at"].is_null(),
        "another account's credential stays"
    );
    assert!(
        count().await[0]["revoked_at"].is_null(),
        "refused forms revoke nothing"
    );
    let r = b
        .post(server.url(&dev_page))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "revoke"),
            ("id", cred_id.as_str()),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = page(&b, &server, &format!("{dev_page}?done=revoked")).await;
    assert!(html.contains("Credential revoked") && html.contains("revoked"));
    assert!(!html.contains(&jwt), "the JWT is not shown again");
    assert_eq!(
        exchange().await.status,
        400,
        "a revoked credential no longer works"
    );

    let (_, audit) = server
        .admin(Method::GET, "/admin/v1/audit?limit=1000", None)
        .await;
    let entries = audit["entries"].as_array().unwrap();
    let admin_id = users_of(&server, dev["account_id"].as_str().unwrap())
        .await
        .into_iter()
        .find(|u| u["role"] == "admin")
        .unwrap()["id"]
        .clone();
    for kind in ["credential_created", "credential_revoked"] {
        assert!(
            entries.iter().any(|e| e["kind"] == kind
                && e["subject"] == cred_id.as_str()
                && e["actor"] == admin_id),
            "{kind} by the admin: {audit}"
        );
    }
}

/// Tokens are counted off the request path: wait for the flush.
async fn usage_until(
    server: &Server,
    client_id: &str,
    want: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..200 {
        let (status, body) = server
            .admin(
                Method::GET,
                &format!("/admin/v1/apps/{client_id}/usage"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        last = body["days"].as_array().cloned().unwrap_or_default();
        if want(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("usage of {client_id} never as expected: {last:?}");
}

#[tokio::test]
async fn tokens_issued_per_day_are_counted_and_shown_beside_rejections() {
    let server = Server::start_with(&["--password-grant-sunset", "2099-12-31"], &[]);
    let app = server
        .server_only_app(json!({"name": "Nightly Sync", "grants": ["client_credentials"]}))
        .await;
    let quiet = server
        .server_only_app(json!({"name": "Quiet", "grants": ["client_credentials"]}))
        .await;
    let token = || {
        server.post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
    };
    for _ in 0..3 {
        assert_eq!(token().await.status, 200);
    }
    let refused = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=password&username=a%40example.com&password=whatever1",
        )
        .await;
    assert_eq!(refused.status, 400);

    let days = usage_until(&server, &app.client_id, |d| {
        d.first()
            .is_some_and(|t| t["tokens_issued"] == 3 && t["rejections"] == 1)
    })
    .await;
    assert_eq!(
        days.len(),
        14,
        "the last 14 days, every day listed: {days:?}"
    );
    assert!(days[1..]
        .iter()
        .all(|d| d["tokens_issued"] == 0 && d["rejections"] == 0));
    let today = days[0]["day"].as_str().unwrap().to_string();
    assert_eq!(today.len(), 10);
    let (_, q) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/apps/{}/usage", quiet.client_id),
            None,
        )
        .await;
    assert_eq!(q["days"][0]["tokens_issued"], 0, "each app its own count");
    let (status, _) = server
        .admin(Method::GET, "/admin/v1/apps/no-such-app/usage", None)
        .await;
    assert_eq!(status, 404);

    // The next day counts on its own; yesterday keeps its count.
    server.advance(86_400);
    assert_eq!(token().await.status, 200);
    let days = usage_until(&server, &app.client_id, |d| {
        d.first().is_some_and(|t| t["tokens_issued"] == 1)
    })
    .await;
    assert_eq!(days[1]["day"], today.as_str());
    assert_eq!(days[1]["tokens_issued"], 3);

    // The app page shows both.
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    let (status, html) = page(&b, &server, &format!("/console/apps/{}", app.client_id)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<th>Tokens issued</th><th>Rejected requests</th>"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<tr><td>{today}</td><td>3</td><td>1</td></tr>")),
        "{html}"
    );
}

#[tokio::test]
async fn the_console_has_one_script_of_its_own_and_the_copy_buttons_it_shows() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"name": "Nightly Sync", "grants": ["client_credentials"]}))
        .await;
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    let r = b
        .get(server.url(&format!("/console/apps/{}", app.client_id)))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains("<script src=\"/assets/console.js\" defer></script>"));
    assert_eq!(html.matches("<script").count(), 1, "no inline script");
    // Each snippet has its copy button, hidden until the script shows it.
    assert!(
        html.contains("data-copy=\"snippet-1-curl\" hidden"),
        "{html}"
    );
    assert!(html.contains("<code id=\"snippet-1-curl\">"));

    let js = b
        .get(server.url("/assets/console.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.text().await.unwrap().contains("navigator.clipboard"));

    // The authorization pages stay without any script.
    let signin = b
        .get(server.url(&format!(
            "/oauth/authorize?response_type=code&client_id={}",
            app.client_id
        )))
        .send()
        .await
        .unwrap();
    if let Some(csp) = signin.headers().get("content-security-policy") {
        assert!(!csp.to_str().unwrap().contains("script-src"), "{csp:?}");
    }
}

/// A public EC P-256 key as a JWK, made here.
fn public_jwk(kid: &str) -> Value {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let p = pair.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
           "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])})
}

#[tokio::test]
async fn the_app_forms_take_a_key_set_checked_beside_the_field() {
    let server = Server::start();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    let (_, html) = page(&b, &server, "/console/apps/new?platform=server-only").await;
    assert!(
        html.contains("name=\"jwks\""),
        "the register form has the key set field"
    );
    let csrf = csrf_of(&html);
    let (_, before) = server.admin(Method::GET, "/admin/v1/apps", None).await;
    let apps_before = before["apps"].as_array().unwrap().len();
    for (jwks, says) in [
        ("not json".to_string(), "not a JSON Web Key Set"),
        ("{\"keys\": []}".to_string(), "has no keys"),
    ] {
        let (status, html) = register_with_jwks(&b, &server, &csrf, &jwks).await;
        assert_eq!(status, 400, "{html}");
        assert!(
            html.contains(says) && html.contains("GRD-410"),
            "{says}: {html}"
        );
        assert!(html.contains("class=\"field-error\""), "beside the field");
    }
    let (_, after) = server.admin(Method::GET, "/admin/v1/apps", None).await;
    assert_eq!(
        after["apps"].as_array().unwrap().len(),
        apps_before,
        "nothing saved"
    );

    let key = public_jwk("k1");
    let (status, html) =
        register_with_jwks(&b, &server, &csrf, &json!({"keys": [key]}).to_string()).await;
    assert_eq!(status, 201, "{html}");
    let at = html.find("Client id</dt><dd><code>").unwrap() + 24;
    let client_id = html[at..].split('<').next().unwrap().to_string();
    let app = admin_app(&server, &client_id).await;
    assert_eq!(app["jwks"]["keys"][0]["kid"], "k1", "{app}");

    // The settings form shows the set; a broken one is refused; empty removes it.
    let app_page = format!("/console/apps/{client_id}");
    let (_, html) = page(&b, &server, &app_page).await;
    assert!(html.contains("\"kid\": \"k1\""), "{html}");
    let revision = {
        let at = html.find("name=\"revision\" value=\"").unwrap() + 23;
        html[at..].split('"').next().unwrap().to_string()
    };
    let (status, html) = save_jwks(
        &b,
        &server,
        &app_page,
        &csrf,
        &revision,
        "{\"keys\": [{\"kty\": \"EC\"}]}",
    )
    .await;
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains("GRD-410") && html.contains("class=\"field-error\""),
        "{html}"
    );
    assert_eq!(
        admin_app(&server, &client_id).await["jwks"]["keys"][0]["kid"],
        "k1"
    );
    let (status, _) = save_jwks(&b, &server, &app_page, &csrf, &revision, "").await;
    assert_eq!(status, 303);
    assert!(
        admin_app(&server, &client_id).await["jwks"].is_null(),
        "empty removes the set"
    );
}

async fn register_with_jwks(
    b: &reqwest::Client,
    server: &Server,
    csrf: &str,
    jwks: &str,
) -> (u16, String) {
    post_page(
        b,
        server,
        "/console/apps/new",
        &[
            ("csrf", csrf),
            ("platform", "server-only"),
            ("name", "Signed Sync"),
            ("grant.client_credentials", "yes"),
            ("jwks", jwks),
        ],
    )
    .await
}

async fn save_jwks(
    b: &reqwest::Client,
    server: &Server,
    app_page: &str,
    csrf: &str,
    revision: &str,
    jwks: &str,
) -> (u16, String) {
    post_page(
        b,
        server,
        app_page,
        &[
            ("csrf", csrf),
            ("revision", revision),
            ("name", "Signed Sync"),
            ("grant.client_credentials", "yes"),
            ("jwks", jwks),
        ],
    )
    .await
}

#[tokio::test]
async fn the_settings_form_edits_logout_uris_and_resources() {
    let server = Server::start();
    let app = server
        .create_app(json!({"name": "Web Portal", "platform_type": "server-web",
                           "redirect_uris": ["https://portal.example.com/cb"],
                           "post_logout_redirect_uris": ["https://portal.example.com/bye"]}))
        .await;
    let id = app["client_id"].as_str().unwrap().to_string();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    let (status, _) = sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    assert_eq!(status, 303);
    let path = format!("/console/apps/{id}");
    let (_, html) = page(&b, &server, &path).await;
    for field in [
        "name=\"post_logout_redirect_uris\"",
        "name=\"backchannel_logout_uri\"",
        "name=\"resource_uris\"",
    ] {
        assert!(html.contains(field), "{field}: {html}");
    }
    assert!(
        html.contains("https://portal.example.com/bye"),
        "shown as saved"
    );
    let csrf = csrf_of(&html);
    let form = |backchannel: &'static str| -> Vec<(String, String)> {
        [
            ("csrf", csrf.as_str()),
            ("name", "Web Portal"),
            ("grant.authorization_code", "yes"),
            ("redirect_uris", "https://portal.example.com/cb"),
            ("scopes", ""),
            ("allowed_origins", ""),
            ("issue_refresh_tokens", "no"),
            ("access_token_ttl", "3600"),
            ("refresh_token_ttl", "604800"),
            ("access_token_format", "jwt"),
            (
                "post_logout_redirect_uris",
                "https://portal.example.com/bye\nhttps://portal.example.com/again",
            ),
            ("backchannel_logout_uri", backchannel),
            ("resource_uris", "https://billing.example.com/api"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let post = |fields: Vec<(String, String)>| {
        let b = b.clone();
        let url = server.url(&path);
        async move {
            let r = b.post(url).form(&fields).send().await.unwrap();
            (r.status().as_u16(), unescape(&r.text().await.unwrap()))
        }
    };
    // A plain-http back-channel URI is refused beside its field, nothing saved.
    let (status, html) = post(form("http://portal.example.com/bc")).await;
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains("backchannel_logout_uri") && html.contains("loopback"),
        "{html}"
    );
    assert!(html.contains("<span class=\"field-error\">"), "{html}");
    assert_eq!(
        admin_app(&server, &id).await["post_logout_redirect_uris"],
        json!(["https://portal.example.com/bye"])
    );
    let (status, html) = post(form("https://portal.example.com/bc")).await;
    assert!(status == 200 || status == 303, "{status} {html}");
    let saved = admin_app(&server, &id).await;
    assert_eq!(
        saved["post_logout_redirect_uris"],
        json!([
            "https://portal.example.com/bye",
            "https://portal.example.com/again"
        ])
    );
    assert_eq!(
        saved["backchannel_logout_uri"],
        "https://portal.example.com/bc"
    );
    assert_eq!(
        saved["resource_uris"],
        json!(["https://billing.example.com/api"])
    );
}

#[tokio::test]
async fn the_settings_form_edits_the_security_profile_and_requirements() {
    let server = Server::start();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1",
                     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    let app = server
        .create_app(json!({"name": "Bank Portal", "platform_type": "server-web",
                           "redirect_uris": ["https://bank.example.com/cb"],
                           "jwks": {"keys": [jwk]}}))
        .await;
    let id = app["client_id"].as_str().unwrap().to_string();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let b = browser();
    let (status, _) = sign_in(&b, &server, "dev@example.com", "developer password 1").await;
    assert_eq!(status, 303);
    let path = format!("/console/apps/{id}");
    let (_, html) = page(&b, &server, &path).await;
    for field in [
        "name=\"profile\"",
        "name=\"require_par\"",
        "name=\"require_dpop\"",
        "name=\"require_signed_request_object\"",
    ] {
        assert!(html.contains(field), "{field}: {html}");
    }
    let csrf = csrf_of(&html);
    let keys = jwk_set(&jwk);
    let form = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut v = vec![
            ("csrf", csrf.as_str()),
            ("name", "Bank Portal"),
            ("grant.authorization_code", "yes"),
            ("redirect_uris", "https://bank.example.com/cb"),
            ("issue_refresh_tokens", "no"),
            ("access_token_format", "jwt"),
            ("jwks", keys.as_str()),
            ("security", "1"),
        ];
        v.extend_from_slice(extra);
        v
    };
    // The requirements, ticked, are saved.
    let (status, html) = post_page(
        &b,
        &server,
        &path,
        &form(&[
            ("profile", "none"),
            ("require_par", "yes"),
            ("require_signed_request_object", "yes"),
        ]),
    )
    .await;
    assert!(status == 200 || status == 303, "{status} {html}");
    let saved = admin_app(&server, &id).await;
    assert_eq!(saved["require_par"], true, "{saved}");
    assert_eq!(saved["require_dpop"], false);
    assert_eq!(saved["require_signed_request_object"], true);
    // The page shows them ticked.
    let (_, html) = page(&b, &server, &path).await;
    assert!(
        html.contains("name=\"require_par\" value=\"yes\" checked"),
        "{html}"
    );
    // Unticked boxes clear the requirements; fapi2 is taken.
    let (status, html) = post_page(&b, &server, &path, &form(&[("profile", "fapi2")])).await;
    assert!(status == 200 || status == 303, "{status} {html}");
    let saved = admin_app(&server, &id).await;
    assert_eq!(saved["profile"], "fapi2", "{saved}");
    assert_eq!(saved["require_par"], false);
    assert_eq!(saved["require_signed_request_object"], false);

    // fapi2 on a public (desktop) app: refused beside the field, nothing saved.
    let desktop = server
        .create_app(json!({"name": "Desk", "platform_type": "desktop",
                           "redirect_uris": ["http://127.0.0.1:9000/cb"]}))
        .await;
    let desk_id = desktop["client_id"].as_str().unwrap().to_string();
    let (status, html) = post_page(
        &b,
        &server,
        &format!("/console/apps/{desk_id}"),
        &[
            ("csrf", csrf.as_str()),
            ("name", "Desk"),
            ("grant.authorization_code", "yes"),
            ("redirect_uris", "http://127.0.0.1:9000/cb"),
            ("issue_refresh_tokens", "no"),
            ("access_token_format", "jwt"),
            ("security", "1"),
            ("profile", "fapi2"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("GRD-953"), "{html}");
    assert!(html.contains("<span class=\"field-error\">"), "{html}");
    assert!(admin_app(&server, &desk_id).await["profile"].is_null());
}

fn jwk_set(jwk: &Value) -> String {
    json!({"keys": [jwk]}).to_string()
}
