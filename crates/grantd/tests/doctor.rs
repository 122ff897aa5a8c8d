//! `grantd doctor`: the seed's three examples, a corpus of broken requests in
//! each input form (raw HTTP, curl, HAR), correct requests, and `--server`
//! against a running grantd. No secret given to doctor may appear in what it prints.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{bin, Server, ADMIN_TOKEN};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

const SECRET: &str = "Sup3rS3cret-doctor-9f2";
const PASSWORD: &str = "Pa55w0rd-doctor-77";
const CODE: &str = "c0de-doctor-4711";
const REFRESH: &str = "rt-doctor-0815";
const VERIFIER: &str = "verifier-doctor-0123456789-abcdefghijklmnopqrstuv";
const ORIGIN: &str = "https://auth.example.com";

struct Out {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs `grantd doctor` with `input` on standard input.
fn doctor(input: &str, extra: &[&str]) -> Out {
    let mut child = Command::new(bin())
        .arg("doctor")
        .arg("-")
        .args(extra)
        .env_remove("GRANTD_ADMIN_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run grantd doctor");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn codes(request: &Value) -> Vec<String> {
    request["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A JWT-shaped string (doctor decodes, never verifies).
fn jwt(header: Value, claims: Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn credential(aud: &str, exp: i64) -> String {
    jwt(
        json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
        json!({"iss": ORIGIN, "sub": "u1", "aud": aud, "jti": "cred-1", "iat": 1_700_000_000, "exp": exp}),
    )
}

fn future() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 86_400
}

/// One request, rendered into each input form.
#[derive(Clone)]
struct Req {
    name: &'static str,
    method: &'static str,
    /// Path and query, on ORIGIN.
    target: String,
    headers: Vec<(&'static str, String)>,
    body: String,
    /// Catalog codes doctor must find.
    expect: Vec<&'static str>,
}

fn req(
    name: &'static str,
    method: &'static str,
    target: &str,
    headers: &[(&'static str, &str)],
    body: &str,
    expect: &[&'static str],
) -> Req {
    Req {
        name,
        method,
        target: target.to_string(),
        headers: headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
        body: body.to_string(),
        expect: expect.to_vec(),
    }
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

impl Req {
    fn raw(&self) -> String {
        let mut s = format!(
            "{} {} HTTP/1.1\nHost: auth.example.com\n",
            self.method, self.target
        );
        for (n, v) in &self.headers {
            s.push_str(&format!("{n}: {v}\n"));
        }
        s.push('\n');
        s.push_str(&self.body);
        s
    }

    fn curl(&self) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut s = format!(
            "curl -sS -X {} {}",
            self.method,
            q(&format!("{ORIGIN}{}", self.target))
        );
        for (n, v) in &self.headers {
            s.push_str(&format!(" \\\n  -H {}", q(&format!("{n}: {v}"))));
        }
        if !self.body.is_empty() {
            s.push_str(&format!(" \\\n  --data-binary {}", q(&self.body)));
        }
        s
    }

    fn har_entry(&self) -> Value {
        let mut headers: Vec<Value> = self
            .headers
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        headers.push(json!({"name": ":authority", "value": "auth.example.com"}));
        let mut request = json!({
            "method": self.method,
            "url": format!("{ORIGIN}{}", self.target),
            "httpVersion": "HTTP/2",
            "headers": headers,
        });
        if !self.body.is_empty() {
            let mime = self
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            request["postData"] = json!({"mimeType": mime, "text": self.body});
        }
        json!({"request": request, "response": {"status": 400}})
    }
}

fn har(entries: Vec<Value>) -> String {
    json!({"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}}).to_string()
}

fn broken() -> Vec<Req> {
    let b = basic("app1", SECRET);
    let b = b.as_str();
    let public = basic("pubapp", "");
    let public = public.as_str();
    let auth = ("Authorization", b);
    let expired = credential(&format!("{ORIGIN}/restapi/oauth/token"), 1_600_000_000);
    let access = jwt(
        json!({"alg": "ES256", "typ": "at+jwt"}),
        json!({"iss": ORIGIN, "aud": ORIGIN, "exp": future()}),
    );
    let elsewhere = credential(
        "https://platform.other.example/restapi/oauth/token",
        future(),
    );
    let wrong_aud = credential("https://auth.example.com/api", future());
    let cred = credential(&format!("{ORIGIN}/restapi/oauth/token"), future());
    vec![
        req("GET with parameters in the URL", "GET", "/oauth/token?grant_type=client_credentials", &[auth], "", &["GRD-101", "GRD-102"]),
        req("client secret in the URL", "POST", &format!("/oauth/token?client_id=app1&client_secret={SECRET}"), &[FORM], "grant_type=client_credentials", &["GRD-102"]),
        req("password grant in the URL", "POST", &format!("/restapi/oauth/token?grant_type=password&username=%2B16505550100&password={PASSWORD}"), &[FORM, auth], "", &["GRD-102"]),
        req("JSON body", "POST", "/oauth/token", &[("Content-Type", "application/json"), auth], r#"{"grant_type":"client_credentials"}"#, &["GRD-103"]),
        req("form sent as text/plain", "POST", "/oauth/token", &[("Content-Type", "text/plain"), auth], "grant_type=client_credentials", &["GRD-104"]),
        req("multipart form", "POST", "/oauth/token", &[("Content-Type", "multipart/form-data; boundary=x"), auth], "grant_type=client_credentials", &["GRD-104"]),
        req("repeated grant_type", "POST", "/oauth/token", &[FORM, auth], "grant_type=client_credentials&grant_type=client_credentials", &["OAU-111"]),
        req("no client authentication", "POST", "/oauth/token", &[FORM], "grant_type=client_credentials", &["OAU-123"]),
        req("Bearer at the token endpoint", "POST", "/oauth/token", &[FORM, ("Authorization", &format!("Bearer {REFRESH}"))], "grant_type=client_credentials", &["OAU-134"]),
        req("Basic not base64", "POST", "/oauth/token", &[FORM, ("Authorization", &format!("Basic app1:{SECRET}"))], "grant_type=client_credentials", &["OAU-134"]),
        req("Basic without a colon", "POST", "/oauth/token", &[FORM, ("Authorization", &format!("Basic {}", STANDARD.encode(format!("app1{SECRET}"))))], "grant_type=client_credentials", &["OAU-134"]),
        req("Basic with nothing after it", "POST", "/oauth/token", &[FORM, ("Authorization", "Basic")], "grant_type=client_credentials", &["OAU-134"]),
        req("Basic and client_secret in the body", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=client_credentials&client_secret={SECRET}"), &["GRD-202"]),
        req("client ids disagree", "POST", "/oauth/token", &[FORM, auth], "grant_type=client_credentials&client_id=app2", &["GRD-201"]),
        req("no grant_type", "POST", "/oauth/token", &[FORM, auth], "scope=ReadAccounts", &["GRD-105"]),
        req("empty body", "POST", "/oauth/token", &[FORM, auth], "", &["GRD-105"]),
        req("grant_type jwt", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=jwt&assertion={cred}"), &["OAU-250"]),
        req("grant_type with a dash", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=authorization-code&code={CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"), &["OAU-250"]),
        req("grant_type unknown", "POST", "/oauth/token", &[FORM, auth], "grant_type=magic", &["OAU-250"]),
        req("scopes separated by commas", "POST", "/oauth/token", &[FORM, auth], "grant_type=client_credentials&scope=ReadAccounts,SMS", &["GRD-302"]),
        req("scope with a quote", "POST", "/oauth/token", &[FORM, auth], "grant_type=client_credentials&scope=%22ReadAccounts%22", &["GRD-302"]),
        req("code exchange without code", "POST", "/oauth/token", &[FORM, auth], "grant_type=authorization_code&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb", &["GRD-105"]),
        req("code exchange without redirect_uri", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=authorization_code&code={CODE}"), &["GRD-105"]),
        req("public app without code_verifier", "POST", "/oauth/token", &[FORM, ("Authorization", public)], &format!("grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"), &["GRD-362"]),
        req("code_verifier too short", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier=short{PASSWORD}"), &["GRD-106"]),
        req("whole redirect URL as code", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=authorization_code&code=https%3A%2F%2Fapp.example.com%2Fcb%3Fcode%3D{CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"), &["GRD-106"]),
        req("redirect_uri with a fragment", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%23x"), &["GRD-412"]),
        req("refresh without refresh_token", "POST", "/oauth/token", &[FORM, auth], "grant_type=refresh_token", &["GRD-105"]),
        req("password grant without password", "POST", "/restapi/oauth/token", &[FORM, auth], "grant_type=password&username=%2B16505550100", &["GRD-105"]),
        req("password grant with a bad username", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=password&username=12XXXXXXX&password={PASSWORD}"), &["GRD-106"]),
        req("JWT grant without assertion", "POST", "/restapi/oauth/token", &[FORM, auth], "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", &["GRD-105"]),
        req("assertion not a JWT", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={REFRESH}.x"), &["GRD-310"]),
        req("assertion with Bearer in front", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=Bearer+{cred}"), &["GRD-310"]),
        req("access token as assertion", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={access}"), &["GRD-311"]),
        req("expired credential", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={expired}"), &["GRD-316"]),
        req("credential for another endpoint", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={wrong_aud}"), &["GRD-315"]),
        req("credential from another server", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={elsewhere}"), &["GRD-312"]),
        req("token exchange without subject_token_type", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={REFRESH}"), &["GRD-105"]),
        req("device grant without device_code", "POST", "/oauth/token", &[FORM, auth], "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code", &["GRD-105"]),
        req("code exchange at the authorization endpoint", "POST", "/restapi/oauth/authorize", &[FORM, auth], &format!("grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"), &["GRD-350"]),
        req("misspelt token path", "POST", "/oauth/tokens", &[FORM, auth], "grant_type=client_credentials", &["GRD-109"]),
        req("revocation with the token in the URL", "POST", &format!("/oauth/revoke?token={REFRESH}"), &[FORM, auth], "", &["GRD-102"]),
        req("revocation by GET", "GET", "/restapi/oauth/revoke", &[auth], "", &["GRD-101"]),
        req("introspection without token", "POST", "/oauth/introspect", &[FORM, auth], "token_type_hint=access_token", &["GRD-105"]),
        req("authorize without response_type", "GET", "/oauth/authorize?client_id=app1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb", &[], "", &["GRD-353"]),
        req("authorize with response_type id_token", "GET", "/oauth/authorize?response_type=id_token&client_id=app1", &[], "", &["GRD-353"]),
        req("client secret in the authorize URL", "GET", &format!("/restapi/oauth/authorize?response_type=code&client_id=app1&client_secret={SECRET}"), &[], "", &["GRD-102"]),
        req("code_challenge without method", "GET", "/oauth/authorize?response_type=code&client_id=app1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", &[], "", &["GRD-355"]),
        req("S256 challenge too short", "GET", "/oauth/authorize?response_type=code&client_id=app1&code_challenge=abc&code_challenge_method=S256", &[], "", &["GRD-356"]),
        req("authorize without client_id", "GET", "/oauth/authorize?response_type=code", &[], "", &["GRD-105"]),
        req("prompt none with login", "GET", "/oauth/authorize?response_type=code&client_id=app1&prompt=none+login", &[], "", &["GRD-106"]),
        req("http redirect to a public host", "GET", "/oauth/authorize?response_type=code&client_id=app1&redirect_uri=http%3A%2F%2Fapp.example.com%2Fcb", &[], "", &["GRD-412"]),
        req("JWT credential sent as a bearer token", "GET", "/restapi/v1.0/account/~/extension/~", &[("Authorization", &format!("Bearer {cred}"))], "", &["GRD-342"]),
    ]
}

fn correct() -> Vec<Req> {
    let b = basic("app1", SECRET);
    let b = b.as_str();
    let auth = ("Authorization", b);
    let public = basic("pubapp", "");
    let cred = credential(&format!("{ORIGIN}/restapi/oauth/token"), future());
    vec![
        req("client credentials", "POST", "/oauth/token", &[FORM, auth], "grant_type=client_credentials&scope=ReadAccounts+SMS", &[]),
        req("code exchange", "POST", "/oauth/token", &[FORM, auth], &format!("grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier={VERIFIER}"), &[]),
        req("public code exchange", "POST", "/restapi/oauth/token", &[FORM, ("Authorization", &public)], &format!("grant_type=authorization_code&code={CODE}&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&code_verifier={VERIFIER}"), &[]),
        req("refresh as a public app", "POST", "/oauth/token", &[FORM], &format!("grant_type=refresh_token&refresh_token={REFRESH}&client_id=pubapp"), &[]),
        req("JWT grant", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={cred}"), &[]),
        req("password grant", "POST", "/restapi/oauth/token", &[FORM, auth], &format!("grant_type=password&username=%2B16505550100&extension=101&password={PASSWORD}"), &[]),
        req("authorize", "GET", "/oauth/authorize?response_type=code&client_id=app1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", &[], "", &[]),
        req("revoke", "POST", "/oauth/revoke", &[FORM, auth], &format!("token={REFRESH}"), &[]),
    ]
}

/// Strings that must never be printed: the secrets and everything that
/// carries one (a Basic header, a JWT).
fn secrets(cases: &[Req]) -> Vec<String> {
    let mut s: Vec<String> = [SECRET, PASSWORD, CODE, REFRESH, VERIFIER]
        .iter()
        .map(|x| x.to_string())
        .collect();
    for c in cases {
        for (_, v) in &c.headers {
            if let Some(b) = v
                .strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("Bearer "))
            {
                if b.len() > 12 {
                    s.push(b.to_string());
                }
            }
        }
        for part in c.body.split('&').chain(c.target.split(['?', '&'])) {
            if let Some(v) = part.strip_prefix("assertion=") {
                s.push(v.trim_start_matches("Bearer+").to_string());
            }
        }
    }
    s
}

#[track_caller]
fn assert_no_secret(out: &Out, secrets: &[String], what: &str) {
    for s in secrets {
        assert!(
            !out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()),
            "{what}: doctor printed a secret ({s}):\n{}{}",
            out.stdout,
            out.stderr
        );
    }
}

#[track_caller]
fn assert_found(request: &Value, case: &Req, form: &str) {
    let found = codes(request);
    for code in &case.expect {
        assert!(
            found.iter().any(|c| c == code),
            "{form} '{}': expected {code}, found {found:?}\n{request:#}",
            case.name
        );
    }
    for f in request["findings"].as_array().unwrap() {
        assert!(!f["cause"].as_str().unwrap().is_empty() && !f["fix"].as_str().unwrap().is_empty());
    }
    assert!(
        request["corrected"]["http"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
            && request["corrected"]["curl"]
                .as_str()
                .is_some_and(|c| c.starts_with("curl ")),
        "{form} '{}': no corrected request",
        case.name
    );
}

#[test]
fn corpus_of_broken_requests_in_each_form() {
    let cases = broken();
    assert!(cases.len() >= 40, "the corpus has {} requests", cases.len());
    let secrets = secrets(&cases);
    for case in &cases {
        for (form, text) in [("raw HTTP", case.raw()), ("curl", case.curl())] {
            let out = doctor(&text, &["--json"]);
            assert_eq!(
                out.status, 1,
                "{form} '{}': {}{}",
                case.name, out.stdout, out.stderr
            );
            let v = out.json();
            assert_eq!(v["requests"].as_array().unwrap().len(), 1);
            assert_found(&v["requests"][0], case, form);
            assert_no_secret(&out, &secrets, case.name);
            // The human form says the same and hides the same.
            let human = doctor(&text, &[]);
            assert_eq!(human.status, 1);
            for code in &case.expect {
                assert!(
                    human.stdout.contains(code),
                    "{form} '{}': {}",
                    case.name,
                    human.stdout
                );
            }
            assert_no_secret(&human, &secrets, case.name);
        }
    }
    // One HAR with every request, and a page's other traffic around them.
    let mut entries = vec![
        json!({"request": {"method": "GET", "url": format!("{ORIGIN}/app.js"), "headers": []}}),
    ];
    entries.extend(cases.iter().map(Req::har_entry));
    entries.push(json!({"request": {"method": "GET", "url": format!("{ORIGIN}/favicon.ico"), "headers": []}}));
    let out = doctor(&har(entries), &["--json"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    let v = out.json();
    let requests = v["requests"].as_array().unwrap();
    assert_eq!(
        requests.len(),
        cases.len(),
        "only the OAuth requests are checked"
    );
    for (r, case) in requests.iter().zip(&cases) {
        assert_found(r, case, "HAR");
    }
    assert_no_secret(&out, &secrets, "HAR");
    assert_no_secret(
        &doctor(&har(cases.iter().map(Req::har_entry).collect()), &[]),
        &secrets,
        "HAR, human",
    );
}

#[test]
fn correct_requests_have_no_findings() {
    let cases = correct();
    let secrets = secrets(&cases);
    for case in &cases {
        for (form, text) in [("raw HTTP", case.raw()), ("curl", case.curl())] {
            let out = doctor(&text, &[]);
            assert_eq!(
                out.status, 0,
                "{form} '{}':\n{}{}",
                case.name, out.stdout, out.stderr
            );
            assert!(out.stdout.contains("No problems found"), "{}", out.stdout);
            assert_no_secret(&out, &secrets, case.name);
        }
    }
    let out = doctor(
        &har(cases.iter().map(Req::har_entry).collect()),
        &["--json"],
    );
    assert_eq!(out.status, 0, "{}", out.stdout);
    assert_eq!(out.json()["problems"], 0);
}

const SEED_1: &str = include_str!("doctor/seed-1-query.http");
const SEED_2: &str = include_str!("doctor/seed-2-body.http");
const SEED_3: &str = include_str!("doctor/seed-3-json.http");
const SEED_3_FIX: &str = include_str!("doctor/seed-3-wrong-fix.http");

#[test]
fn seed_example_one_credentials_in_the_url() {
    let out = doctor(SEED_1, &["--json"]);
    assert_eq!(out.status, 1);
    let v = out.json();
    let r = &v["requests"][0];
    let found = codes(r);
    // The URL wrapped over two lines, the password in it, no Basic header.
    for c in ["GRD-802", "GRD-102", "OAU-123"] {
        assert!(found.contains(&c.to_string()), "{c} not in {found:?}");
    }
    let cause = r["findings"][1]["cause"].as_str().unwrap();
    assert!(
        cause.contains("username, password, extension, grant_type"),
        "{cause}"
    );
    // The correction moves everything into the body and adds Basic; the
    // password it was given is not in it.
    let http = r["corrected"]["http"].as_str().unwrap();
    assert!(
        http.starts_with("POST /restapi/oauth/token HTTP/1.1\n"),
        "{http}"
    );
    assert!(
        http.contains("Authorization: Basic <base64 of CLIENT_ID:CLIENT_SECRET>"),
        "{http}"
    );
    assert!(
        http.contains("grant_type=password")
            && http.contains("password=<PASSWORD>")
            && http.contains("extension=xxx"),
        "{http}"
    );
    assert!(!out.stdout.contains("xzyz"), "{}", out.stdout);
}

#[test]
fn seed_example_two_the_header_of_the_fix_is_not_base64_of_id_and_secret() {
    let out = doctor(SEED_2, &["--json"]);
    assert_eq!(out.status, 1);
    let r = &out.json()["requests"][0];
    let found = codes(r);
    assert!(found.contains(&"OAU-134".to_string()), "{found:?}");
    assert!(
        !found.contains(&"GRD-102".to_string()),
        "the body is right: {found:?}"
    );
    assert!(!out.stdout.contains("xzyz") && !out.stdout.contains("cmVsLWFsbC1wZXJtaXNzaWXF"));
}

#[test]
fn seed_example_three_and_its_wrong_fix() {
    let out = doctor(SEED_3, &["--json"]);
    assert_eq!(out.status, 1);
    let r = &out.json()["requests"][0];
    let found = codes(r);
    // JSON body, empty Basic, no code, no redirect_uri (empty counts as absent), no Host.
    for c in ["GRD-103", "OAU-134", "GRD-105", "GRD-801"] {
        assert!(found.contains(&c.to_string()), "{c} not in {found:?}");
    }
    let params: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["parameter"].as_str())
        .collect();
    assert!(
        params.contains(&"code") && params.contains(&"redirect_uri"),
        "{params:?}"
    );
    let curl = r["corrected"]["curl"].as_str().unwrap();
    assert!(
        curl.contains("/restapi/oauth/token")
            && curl.contains("--data-urlencode 'grant_type=authorization_code'"),
        "{curl}"
    );

    // The seed's advice: post the same to /authorize. Doctor says the opposite.
    let out = doctor(SEED_3_FIX, &["--json"]);
    assert_eq!(out.status, 1);
    let r = &out.json()["requests"][0];
    let found = codes(r);
    assert_eq!(
        found.iter().filter(|c| *c == "GRD-350").count(),
        1,
        "{found:?}"
    );
    for c in ["GRD-103", "OAU-134", "GRD-105"] {
        assert!(found.contains(&c.to_string()), "{c} not in {found:?}");
    }
    let http = r["corrected"]["http"].as_str().unwrap();
    assert!(
        http.starts_with("POST /restapi/oauth/token HTTP/1.1"),
        "{http}"
    );
    let human = doctor(SEED_3_FIX, &[]);
    assert!(
        human
            .stdout
            .contains("Codes are exchanged at the token endpoint"),
        "{}",
        human.stdout
    );
}

#[test]
fn unreadable_input_exits_2_saying_why() {
    for (input, says) in [
        ("", "empty"),
        ("hello there", "neither raw HTTP"),
        ("{\"log\": 1", "not valid JSON"),
        ("{\"a\": 1}", "no log.entries"),
        ("curl -sS -H 'a: b'", "no URL"),
        ("curl 'https://x/oauth/token -d a=b", "quote is not closed"),
    ] {
        let out = doctor(input, &[]);
        assert_eq!(out.status, 2, "{input}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("cannot read standard input") && out.stderr.contains(says),
            "{input}: {}",
            out.stderr
        );
    }
    // A secret-looking first word is not echoed.
    let out = doctor(&format!("{SECRET} and more"), &[]);
    assert_eq!(out.status, 2);
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    let missing = Command::new(bin())
        .args(["doctor", "/nonexistent/request.http"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("/nonexistent/request.http: no such file"));
    // A HAR without any OAuth request is read, and said to be the wrong capture.
    let out = doctor(
        &har(vec![
            json!({"request": {"method": "GET", "url": "https://x/index.html", "headers": []}}),
        ]),
        &[],
    );
    assert_eq!(out.status, 1);
    assert!(out.stdout.contains("GRD-800"), "{}", out.stdout);
}

#[test]
fn reads_a_file_and_curl_variants() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("req.txt");
    std::fs::write(&path, format!("curl --request POST --url {ORIGIN}/oauth/token --user app1:{SECRET} --data grant_type=client_credentials")).unwrap();
    let out = Command::new(bin())
        .arg("doctor")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // -G turns -d into a query: the password lands in the URL.
    let out = doctor(&format!("curl -G {ORIGIN}/restapi/oauth/token -u app1:{SECRET} -d grant_type=password -d username=%2B16505550100 --data-urlencode password={PASSWORD}"), &["--json"]);
    let found = codes(&out.json()["requests"][0]);
    assert!(
        found.contains(&"GRD-101".to_string()) && found.contains(&"GRD-102".to_string()),
        "{found:?}"
    );
    assert_no_secret(&out, &[SECRET.into(), PASSWORD.into()], "curl -G");
    // --json sends JSON.
    let out = doctor(&format!("curl {ORIGIN}/oauth/token -u app1:{SECRET} --json '{{\"grant_type\":\"client_credentials\"}}'"), &["--json"]);
    assert!(codes(&out.json()["requests"][0]).contains(&"GRD-103".to_string()));
}

#[tokio::test]
async fn server_checks_the_app_on_a_live_grantd() {
    let server = Server::start();
    let web = server
        .create_app(json!({"name": "Acme Web", "platform_type": "server-web",
                            "grants": ["authorization_code", "refresh_token"],
                            "redirect_uris": ["https://app.example.com/cb"],
                            "scopes": ["ReadAccounts"]}))
        .await;
    let id = web["client_id"].as_str().unwrap().to_string();
    let secret = web["client_secret"].as_str().unwrap().to_string();
    let spa = server
        .create_app(json!({"name": "Acme SPA", "platform_type": "browser",
                            "grants": ["authorization_code"],
                            "redirect_uris": ["https://spa.example.com/cb"]}))
        .await;
    let spa_id = spa["client_id"].as_str().unwrap().to_string();
    let live = [
        "--server",
        server.base.as_str(),
        "--admin-token",
        ADMIN_TOKEN,
        "--json",
    ];
    let token = |id: &str, secret: &str, body: &str| {
        format!(
            "POST /oauth/token HTTP/1.1\nHost: auth.example.com\nContent-Type: application/x-www-form-urlencoded\nAuthorization: {}\n\n{body}",
            basic(id, secret)
        )
    };
    let exchange = format!(
        "grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"
    );
    let all_secrets = [
        secret.clone(),
        CODE.into(),
        PASSWORD.into(),
        STANDARD.encode(format!("{id}:{secret}")),
    ];

    // Right app, right secret, grant enabled, URI registered: nothing to say.
    let out = doctor(&token(&id, &secret, &exchange), &live);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert_no_secret(&out, &all_secrets, "right request");

    // The seed's first cause: the password grant on a server-web app.
    let out = doctor(
        &token(
            &id,
            &secret,
            &format!("grant_type=password&username=%2B16505550100&password={PASSWORD}"),
        ),
        &live,
    );
    assert_eq!(out.status, 1);
    let r = &out.json()["requests"][0];
    assert_eq!(codes(r), ["OAU-251"], "{r:#}");
    let cause = r["findings"][0]["cause"].as_str().unwrap();
    assert!(
        cause.contains("Acme Web")
            && cause.contains("server-web")
            && cause.contains("desktop, mobile, server-only"),
        "{cause}"
    );
    assert_no_secret(&out, &all_secrets, "password grant");

    // A wrong secret; an unknown client; an unregistered redirect URI; a scope the app lacks.
    let out = doctor(&token(&id, "not-the-secret-123", &exchange), &live);
    assert_eq!(codes(&out.json()["requests"][0]), ["OAU-146"]);
    assert!(!out.stdout.contains("not-the-secret-123"));
    let out = doctor(&token("no-such-app", "x", &exchange), &live);
    assert_eq!(codes(&out.json()["requests"][0]), ["OAU-153"]);
    let out = doctor(&token(&id, &secret, &format!("grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fevil.example.com%2Fcb&scope=ReadAccounts+SMS")), &live);
    let found = codes(&out.json()["requests"][0]);
    assert!(
        found.contains(&"GRD-351".to_string()) && found.contains(&"GRD-301".to_string()),
        "{found:?}"
    );
    assert_no_secret(&out, &all_secrets, "redirect");

    // The browser app: no PKCE at authorize; a secretless confidential app.
    let authorize = format!("GET /oauth/authorize?response_type=code&client_id={spa_id}&redirect_uri=https%3A%2F%2Fspa.example.com%2Fcb HTTP/1.1\nHost: auth.example.com\n\n");
    let out = doctor(&authorize, &live);
    assert_eq!(
        codes(&out.json()["requests"][0]),
        ["GRD-354"],
        "{}",
        out.stdout
    );
    let out = doctor(&token(&id, "", &exchange), &live);
    assert!(
        codes(&out.json()["requests"][0]).contains(&"GRD-203".to_string()),
        "{}",
        out.stdout
    );

    // A wrong admin token is an input problem, said plainly.
    let out = doctor(
        &token(&id, &secret, &exchange),
        &[
            "--server",
            server.base.as_str(),
            "--admin-token",
            "wrong-admin-token-0123456789abcdef",
        ],
    );
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("admin token was refused"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("wrong-admin-token"), "{}", out.stderr);
}
