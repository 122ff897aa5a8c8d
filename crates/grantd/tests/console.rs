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
            "check_legacy_policy",
            "check_grant_enabled"
        ],
        "{steps:?}"
    );
    assert!(steps[..3].iter().all(|s| s["passed"] == true));
    let failed = &steps[3];
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
    let at = html.find("<code id=\"client-secret\">").unwrap() + 24;
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
