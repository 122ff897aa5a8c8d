//! Hostile requests: hundreds of malformed or malicious requests to every
//! endpoint, generated from tables of endpoints × mutations and sent as raw
//! bytes (so nothing a client library would refuse is out of reach). Each
//! must be answered within a client timeout, never with a 5xx; a refusal is a
//! catalog error (JSON with `error` and `errors[0].errorCode`, or the HTML
//! page of a browser endpoint); nothing is reflected as markup; a redirect
//! goes only to a registered redirect URI. Afterwards the server is healthy.
//!
//! Requests that break HTTP framing (NUL or a bare CR in a header, a bad
//! Content-Length, more than 100 headers, a URI over 64 KB) are refused by
//! hyper before grantd sees them, with a bare 4xx; they are counted apart.
//! `HOSTILE_SHOW=1` lists them.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{basic_header, App, Server};
use reqwest::cookie::CookieStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where an app may be sent: the registered redirect URI of the web app.
const CB: &str = "https://app.example.com/cb";
/// Markup that must never come back unescaped.
const XSS: &str = "<script>alert(1)</script>";
const XSS_ENC: &str = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
/// How long any one request may take before it counts as a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

// --- raw HTTP -------------------------------------------------------------

/// A request as bytes: nothing is validated or normalised.
#[derive(Clone)]
struct Req {
    method: String,
    target: Vec<u8>,
    version: &'static str,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    /// Add `Content-Length` for the body (off when a case frames it itself).
    length: bool,
}

impl Req {
    fn new(method: &str, target: impl AsRef<[u8]>) -> Self {
        Self {
            method: method.to_string(),
            target: target.as_ref().to_vec(),
            version: "HTTP/1.1",
            headers: Vec::new(),
            body: Vec::new(),
            length: true,
        }
    }

    fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    fn form(self, body: impl AsRef<[u8]>) -> Self {
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    }

    fn json(self, body: impl AsRef<[u8]>) -> Self {
        self.header("Content-Type", "application/json").body(body)
    }

    fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case(name.as_bytes()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 512);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&self.target);
        out.push(b' ');
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(b"\r\nHost: grantd.test\r\nConnection: close\r\n");
        for (k, v) in &self.headers {
            out.extend_from_slice(k);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        if self.length && (!self.body.is_empty() || self.method == "POST") {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

struct Raw {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn parse_response(buf: &[u8], head_request: bool) -> Result<Raw, String> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(buf)))?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, Vec<u8>)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if head_request {
        body.clear();
    } else if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case(b"chunked"))
    {
        body = dechunk(&body)?;
    } else if let Some(n) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
    {
        body.truncate(n);
    }
    Ok(Raw {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").ok_or("cut chunk")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&b[..line_end])
                .map_err(|e| e.to_string())?
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .map_err(|e| e.to_string())?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(b.get(..size).ok_or("short chunk")?);
        b = b.get(size + 2..).unwrap_or_default();
    }
}

/// Sends the request on a fresh connection and reads until the server
/// closes it. `Ok(None)`: closed without a byte of answer.
async fn send(addr: &str, req: &Req, dribble: Option<Duration>) -> Result<Option<Raw>, String> {
    let bytes = req.bytes();
    let exchange = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let written = match dribble {
            Some(pause) => {
                let mut r = Ok(());
                for b in &bytes {
                    r = s.write_all(std::slice::from_ref(b)).await;
                    if r.is_err() {
                        break;
                    }
                    tokio::time::sleep(pause).await;
                }
                r
            }
            None => s.write_all(&bytes).await,
        };
        // The server may answer (413, 431, 400) before reading everything.
        let _ = written;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if !buf.is_empty() || e.kind() == std::io::ErrorKind::ConnectionReset => {
                    break
                }
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        parse_response(&buf, req.method == "HEAD").map(Some)
    };
    let limit = CLIENT_TIMEOUT + dribble.map_or(Duration::ZERO, |d| d * bytes.len() as u32);
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| format!("no answer within {limit:?} (a hang)"))?
}

// --- cases and judgement --------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Reaches grantd: a success, or a catalog error.
    Answer,
    /// Must be refused: a catalog error, or an authorization error
    /// redirected to the app.
    Refused,
    /// Breaks HTTP framing, so hyper may refuse it before grantd sees it
    /// (a bare 4xx, or the connection closed); if grantd answers, the
    /// answer is judged as any other.
    Framing,
}

struct Case {
    name: String,
    req: Req,
    expect: Expect,
    dribble: Option<Duration>,
}

#[derive(Default)]
struct Cases(Vec<Case>);

impl Cases {
    fn add(&mut self, name: impl Into<String>, req: Req, expect: Expect) {
        self.0.push(Case {
            name: name.into(),
            req,
            expect,
            dribble: None,
        });
    }
}

fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && (s.starts_with("OAU-") || s.starts_with("GRD-") || s.starts_with("CMN-"))
        && b[4..].iter().all(u8::is_ascii_digit)
}

/// The answer is a catalog error: JSON, or an HTML page naming its code.
fn catalog(raw: &Raw, head: bool) -> Result<(), String> {
    let ct = raw.header("content-type").unwrap_or_default();
    if head {
        return match raw.header("x-error-code") {
            Some(c) if is_code(&c) => Ok(()),
            _ => Err(format!("HEAD {} without x-error-code", raw.status)),
        };
    }
    if ct.starts_with("application/json") {
        let v: Value = serde_json::from_slice(&raw.body)
            .map_err(|e| format!("error body is not JSON ({e}): {}", raw.text()))?;
        let code = v["errors"][0]["errorCode"].as_str().unwrap_or("");
        if !v["error"].is_string() || !is_code(code) || !v["error_description"].is_string() {
            return Err(format!("not a catalog error: {v}"));
        }
        if raw.header("x-error-code").as_deref() != Some(code) {
            return Err(format!("x-error-code does not match {code}"));
        }
        Ok(())
    } else if ct.starts_with("text/html") {
        let text = raw.text();
        let named = text
            .split("/docs/errors/")
            .skip(1)
            .any(|rest| rest.get(..7).is_some_and(is_code));
        if named {
            Ok(())
        } else {
            Err(format!("HTML {} names no error code", raw.status))
        }
    } else {
        Err(format!(
            "{} with content type {ct:?}: {:?}",
            raw.status,
            raw.text()
        ))
    }
}

/// Nothing from the request comes back as markup, a header, or a redirect
/// to anywhere but the app's registered URI.
fn unreflected(raw: &Raw) -> Result<(), String> {
    let lower = raw.text().to_ascii_lowercase();
    for bad in ["<script", "<svg", "<img"] {
        if lower.contains(bad) {
            return Err(format!("{bad} reflected: {}", raw.text()));
        }
    }
    for (k, v) in &raw.headers {
        if k.starts_with("x-injected") || k == "set-cookie" && v.windows(2).any(|w| w == b"x=") {
            return Err(format!("header injected: {k}"));
        }
        if v.iter().any(|b| *b == b'<' || *b == b'>') {
            return Err(format!(
                "markup in header {k}: {:?}",
                String::from_utf8_lossy(v)
            ));
        }
    }
    if (300..400).contains(&raw.status) {
        let loc = raw.header("location").unwrap_or_default();
        let ok_target = loc.starts_with(&format!("{CB}?")) || loc.starts_with(&format!("{CB}#"));
        if !ok_target {
            return Err(format!("redirect to an unregistered place: {loc:?}"));
        }
        if loc.contains([' ', '"', '\'', '\r', '\n', '\0']) {
            return Err(format!("redirect not encoded: {loc:?}"));
        }
    }
    Ok(())
}

/// The status, and whether hyper answered by itself (no catalog body).
fn judge(case: &Case, outcome: Result<Option<Raw>, String>) -> Result<(u16, bool), String> {
    let raw = match outcome? {
        Some(raw) => raw,
        None if case.expect == Expect::Framing => return Ok((0, true)),
        None => return Err("connection closed without an answer".into()),
    };
    let head = case.req.method == "HEAD";
    if raw.status >= 500 {
        return Err(format!("server error {}: {}", raw.status, raw.text()));
    }
    unreflected(&raw)?;
    match case.expect {
        Expect::Framing => {
            if raw.status >= 400 && !raw.body.is_empty() {
                catalog(&raw, head)?;
            }
        }
        Expect::Answer => {
            if raw.status >= 400 {
                catalog(&raw, head)?;
            }
        }
        Expect::Refused => {
            let redirected_error =
                raw.status == 303 && raw.header("location").is_some_and(|l| l.contains("error="));
            if raw.status < 400 && !redirected_error {
                return Err(format!("accepted with {}: {}", raw.status, raw.text()));
            }
            if raw.status >= 400 {
                catalog(&raw, head)?;
            }
        }
    }
    Ok((
        raw.status,
        raw.status >= 400 && raw.body.is_empty() && raw.header("x-error-code").is_none(),
    ))
}

// --- the world the cases run against -------------------------------------

struct World {
    app: App,
    web: App,
    user_id: String,
    /// Another app's token, to revoke without ending anything the cases use.
    throwaway: String,
    browser_cookies: String,
    csrf: String,
    tokens: Vec<(&'static str, String)>,
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn segments(jwt: &str) -> (Value, Value, String) {
    let mut p = jwt.split('.');
    let dec = |s: Option<&str>| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s.unwrap_or("")).unwrap_or_default())
            .unwrap_or(Value::Null)
    };
    let h = dec(p.next());
    let c = dec(p.next());
    (h, c, p.next().unwrap_or("").to_string())
}

/// Tokens of every kind, real and forged.
fn token_zoo(
    access: &str,
    refresh: &str,
    app_jwt: &str,
    opaque: &str,
    credential: &str,
    id_token: &str,
    jwks: &Value,
) -> Vec<(&'static str, String)> {
    let (h, c, sig) = segments(access);
    let (ch, cc, csig) = segments(credential);
    let mut none_header = h.clone();
    none_header["alg"] = json!("none");
    let kid = |k: Value| {
        let mut hh = h.clone();
        hh["kid"] = k;
        format!("{}.{}.{sig}", b64(&hh), b64(&c))
    };
    let unknown_kid = kid(json!("no-such-key"));
    let traversal_kid = kid(json!("../../../../etc/passwd"));
    let sql_kid = kid(json!("' OR '1'='1"));
    let empty_kid = kid(json!(""));
    let number_kid = kid(json!(12345));
    let long_kid = kid(json!("k".repeat(4000)));
    let mut tampered = c.clone();
    tampered["sub"] = json!("someone-else");
    tampered["scope"] = json!("ReadAccounts SMS EditAccounts");
    // A credential's payload under the access token's header.
    let mut retyped = ch.clone();
    retyped["typ"] = json!("at+jwt");
    // HS256 keyed with the public JWKS (the algorithm-confusion attack).
    let jwks_text = jwks.to_string();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            alg: jsonwebtoken::Algorithm::HS256,
            typ: Some("at+jwt".into()),
            kid: h["kid"].as_str().map(str::to_string),
            ..Default::default()
        },
        &c,
        &jsonwebtoken::EncodingKey::from_secret(jwks_text.as_bytes()),
    )
    .expect("HS256 token");
    let mut embedded = h.clone();
    embedded["jwk"] = jwks["keys"][0].clone();
    embedded["jku"] = json!("https://attacker.example/jwks");
    vec![
        ("access-jwt", access.to_string()),
        ("refresh", refresh.to_string()),
        ("app-jwt", app_jwt.to_string()),
        ("opaque-access", opaque.to_string()),
        ("credential", credential.to_string()),
        ("id-token", id_token.to_string()),
        ("alg-none", format!("{}.{}.", b64(&none_header), b64(&c))),
        (
            "alg-none-credential",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": ch["kid"]})),
                b64(&cc)
            ),
        ),
        ("alg-hs256-jwks", hs),
        ("kid-unknown", unknown_kid),
        ("kid-traversal", traversal_kid),
        ("kid-sql", sql_kid),
        ("kid-empty", empty_kid),
        ("kid-number", number_kid),
        ("kid-long", long_kid),
        (
            "jwk-jku-header",
            format!("{}.{}.{sig}", b64(&embedded), b64(&c)),
        ),
        (
            "tampered-claims",
            format!("{}.{}.{sig}", b64(&h), b64(&tampered)),
        ),
        (
            "credential-retyped",
            format!("{}.{}.{csig}", b64(&retyped), b64(&cc)),
        ),
        (
            "signature-cut",
            format!("{}.{}.{}", b64(&h), b64(&c), &sig[..sig.len() / 2]),
        ),
        ("four-segments", format!("{access}.e30")),
        ("empty-segments", "..".to_string()),
        ("garbage-jwt", "not.a.jwt".to_string()),
        ("json-not-b64", format!("{}.{}.x", h, c)),
        ("random-8k", "A".repeat(8000)),
        ("unicode", "tökén-ünïcödé".to_string()),
        ("xss", XSS.to_string()),
    ]
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn authorize_params(web: &App) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=openid+ReadAccounts&state=st8",
        web.client_id,
        enc(CB)
    )
}

async fn setup(server: &Server) -> World {
    let app = server
        .server_only_app(json!({"name": "Hostile Sync",
            "grants": ["jwt_bearer", "client_credentials", "refresh_token"]}))
        .await;
    let opaque = server
        .server_only_app(json!({"name": "Hostile Opaque", "access_token_format": "opaque"}))
        .await;
    let web = App::from(
        server
            .create_app(json!({"name": "Hostile Web", "platform_type": "server-web",
                "redirect_uris": [CB], "scopes": ["openid", "profile", "ReadAccounts"]}))
            .await,
    );
    let user = server
        .create_user(json!({"email": "alice@example.com", "name": "Alice",
            "extension_number": "101", "password": "correct horse battery"}))
        .await;
    let user_id = user["id"].as_str().unwrap().to_string();
    let (_, credential) = server.create_credential(&user_id, json!({})).await;
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &format!(
                "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={credential}"
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json["access_token"].as_str().unwrap().to_string();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_string();
    let cc = |a: &App| {
        let a = a.clone();
        async move {
            let r = server
                .post_form(
                    "/oauth/token",
                    Some((&a.client_id, &a.secret)),
                    "grant_type=client_credentials",
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.json["access_token"].as_str().unwrap().to_string()
        }
    };
    let app_jwt = cc(&app).await;
    let opaque_access = cc(&opaque).await;
    let throwaway = cc(&opaque).await;

    // A browser signs in and consents, for an ID token, a session cookie and
    // a CSRF token.
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(server.url(&format!(
            "/oauth/authorize?{}&nonce=n0nce",
            authorize_params(&web)
        )))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut fields = hidden_fields(&page);
    fields.push(("username".into(), "alice@example.com".into()));
    fields.push(("password".into(), "correct horse battery".into()));
    let consent = browser
        .post(server.url("/oauth/authorize/login"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = consent
        .split("action=\"/oauth/authorize/signout\"")
        .next()
        .unwrap();
    let mut fields = hidden_fields(form);
    fields.push(("decision".into(), "allow".into()));
    let done = browser
        .post(server.url("/oauth/authorize/consent"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_string();
    let code = form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let r = server
        .post_form(
            "/oauth/token",
            Some((&web.client_id, &web.secret)),
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(CB)
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id_token = r.json["id_token"].as_str().unwrap().to_string();
    let browser_cookies = jar
        .cookies(&server.base.parse().unwrap())
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let csrf = browser_cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("grantd_csrf="))
        .expect("a CSRF cookie")
        .to_string();
    assert!(browser_cookies.contains("grantd_session="));

    let jwks: Value = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens = token_zoo(
        &access,
        &refresh,
        &app_jwt,
        &opaque_access,
        &credential,
        &id_token,
        &jwks,
    );
    World {
        app,
        web,
        user_id,
        throwaway,
        browser_cookies,
        csrf,
        tokens,
    }
}

fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|part| {
            let name = part.split('"').next().unwrap().to_string();
            let value = part
                .split("value=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or("")
                .replace("&#x2f;", "/")
                .replace("&#x3a;", ":")
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&#x27;", "'");
            (name, value)
        })
        .collect()
}

// --- the tables -----------------------------------------------------------

/// A form endpoint with a valid request to mutate.
struct FormEndpoint {
    name: &'static str,
    path: &'static str,
    headers: Vec<(String, String)>,
    body: String,
    /// Whether the endpoint authenticates a client (mutations of the
    /// Authorization header must be refused there).
    client_auth: bool,
}

fn form_endpoints(w: &World) -> Vec<FormEndpoint> {
    let basic = basic_header(&w.app.client_id, &w.app.secret);
    let web_basic = basic_header(&w.web.client_id, &w.web.secret);
    let browser = vec![
        ("Cookie".to_string(), w.browser_cookies.clone()),
        ("Accept".to_string(), "text/html".to_string()),
    ];
    let authz = authorize_params(&w.web);
    vec![
        FormEndpoint {
            name: "token",
            path: "/oauth/token",
            headers: vec![("Authorization".into(), basic.clone())],
            body: "grant_type=client_credentials&scope=ReadAccounts".into(),
            client_auth: true,
        },
        FormEndpoint {
            name: "token-alias",
            path: "/restapi/oauth/token",
            headers: vec![("Authorization".into(), basic.clone())],
            body: "grant_type=client_credentials".into(),
            client_auth: true,
        },
        FormEndpoint {
            name: "introspect",
            path: "/oauth/introspect",
            headers: vec![("Authorization".into(), basic.clone())],
            body: format!("token={}", w.tokens[2].1),
            client_auth: true,
        },
        FormEndpoint {
            name: "revoke",
            path: "/oauth/revoke",
            headers: vec![("Authorization".into(), web_basic)],
            body: format!("token={}&token_type_hint=access_token", w.throwaway),
            client_auth: true,
        },
        FormEndpoint {
            name: "authorize-post",
            path: "/oauth/authorize",
            headers: browser.clone(),
            body: authz.clone(),
            client_auth: false,
        },
        FormEndpoint {
            name: "sign-in",
            path: "/oauth/authorize/login",
            headers: vec![
                ("Cookie".into(), format!("grantd_csrf={}", w.csrf)),
                ("Accept".into(), "text/html".into()),
            ],
            body: format!(
                "{authz}&csrf={}&username=mallory%40example.com&password=wrong-password",
                w.csrf
            ),
            client_auth: false,
        },
        FormEndpoint {
            name: "consent",
            path: "/oauth/authorize/consent",
            headers: browser,
            body: format!("{authz}&csrf={}&decision=deny", w.csrf),
            client_auth: false,
        },
        FormEndpoint {
            name: "sign-out",
            path: "/oauth/authorize/signout",
            // No session cookie: signing out must not end the browser the
            // other cases use.
            headers: vec![
                ("Cookie".into(), format!("grantd_csrf={}", w.csrf)),
                ("Accept".into(), "text/html".into()),
            ],
            body: format!("{authz}&csrf={}", w.csrf),
            client_auth: false,
        },
    ]
}

fn base_req(e: &FormEndpoint, target: &str) -> Req {
    let mut r = Req::new("POST", target);
    for (k, v) in &e.headers {
        r = r.header(k, v);
    }
    r
}

fn form_cases(w: &World, cases: &mut Cases) {
    use Expect::*;
    for e in form_endpoints(w) {
        let base = || base_req(&e, e.path);
        let valid = e.body.clone();
        let first_pair = valid.split('&').next().unwrap().to_string();
        let with = |extra: &str| format!("{valid}&{extra}");
        let many = |n: usize, f: &dyn Fn(usize) -> String| -> String {
            (0..n).map(f).collect::<Vec<_>>().join("&")
        };
        let auth_expect = if e.client_auth { Refused } else { Answer };
        // Introspection and revocation read no scope.
        let scope_expect = if e.name.starts_with("token") || !e.client_auth {
            Refused
        } else {
            Answer
        };
        let mut add = |m: &str, req: Req, x: Expect| cases.add(format!("{} {m}", e.name), req, x);

        add("valid", base().form(&valid), Answer);
        add(
            "bad percent-encoding",
            base().form(with("x=%ZZ%&y=%")),
            Answer,
        );
        add(
            "bad percent in a value",
            base().form(with("state=%G1%2")),
            Answer,
        );
        add(
            "truncated percent",
            base().form(with("state=%E0%A4%A")),
            Refused,
        );
        add(
            "overlong UTF-8",
            base().form(with("state=%C0%AF%E0%80%AF")),
            Refused,
        );
        add(
            "surrogate UTF-8",
            base().form(with("state=%ED%A0%80")),
            Refused,
        );
        add(
            "invalid UTF-8 bytes",
            base().form([valid.as_bytes(), b"&state=\xff\xfe\xfd"].concat()),
            Refused,
        );
        add(
            "invalid UTF-8 name",
            base().form([valid.as_bytes(), b"&\xc3\x28=1"].concat()),
            Refused,
        );
        add("NUL encoded", base().form(with("state=a%00b")), Answer);
        add(
            "NUL raw",
            base().form([valid.as_bytes(), b"&state=a\0b"].concat()),
            Answer,
        );
        add(
            "CRLF encoded",
            base().form(with("state=a%0D%0AX-Injected:%201")),
            Answer,
        );
        add(
            "CRLF raw",
            base().form(with("state=a\r\nX-Injected: 1")),
            Answer,
        );
        add(
            "markup value",
            base().form(with(&format!("state={XSS_ENC}&x={XSS_ENC}"))),
            Answer,
        );
        add(
            "markup raw",
            base().form(with(&format!("state={XSS}"))),
            Answer,
        );
        add(
            "markup name",
            base().form(with(&format!("{XSS_ENC}=1"))),
            Answer,
        );
        add(
            "markup client_id",
            base().form(with(&format!("client_id={XSS_ENC}"))),
            Refused,
        );
        add(
            "markup scope",
            base().form(with(&format!("scope={XSS_ENC}"))),
            scope_expect,
        );
        add(
            "quote in scope",
            base().form(with("scope=a%22b%5Cc")),
            scope_expect,
        );
        add(
            "huge value",
            base().form(with(&format!("state={}", "a".repeat(100_000)))),
            Refused,
        );
        add(
            "state over its cap",
            base().form(with(&format!("state={}", "s".repeat(2049)))),
            Refused,
        );
        add(
            "nonce over its cap",
            base().form(with(&format!("nonce={}", "n".repeat(513)))),
            Refused,
        );
        add(
            "name over its cap",
            base().form(with(&format!("{}=1", "x".repeat(129)))),
            Refused,
        );
        add("repeated once", base().form(with(&first_pair)), Refused);
        add(
            "repeated 1000 times",
            base().form(with(&many(1000, &|_| "scope=x".into()))),
            Refused,
        );
        add(
            "101 parameters",
            base().form(with(&many(101, &|i| format!("p{i}=1")))),
            Refused,
        );
        add(
            "64 KB of parameters",
            base().form(with(&many(8000, &|i| format!("p{i}=1")))),
            Refused,
        );
        add("empty body", base().form(""), Refused);
        add("only separators", base().form("&&&&===&=&"), Refused);
        add(
            "empty values",
            base().form(with("state=&nonce=&=x&x=")),
            Answer,
        );
        add(
            "JSON body",
            base().json(format!(
                "{{\"grant_type\":\"client_credentials\",\"x\":\"{XSS}\"}}"
            )),
            Refused,
        );
        add(
            "JSON body as form",
            base().form("{\"grant_type\":\"client_credentials\"}"),
            Refused,
        );
        add("array body as form", base().form("[1,2,3]"), Refused);
        add(
            "text/plain",
            base().header("Content-Type", "text/plain").body(&valid),
            Refused,
        );
        add("multipart", base().header("Content-Type", "multipart/form-data; boundary=x").body("--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n"), Refused);
        add("no content type", base().body(&valid), Refused);
        add(
            "content type with markup",
            base().header("Content-Type", XSS).body(&valid),
            Refused,
        );
        add(
            "content type with bytes",
            base()
                .header("Content-Type", b"application/\xff\xfe")
                .body(&valid),
            Refused,
        );
        add(
            "content type utf-16 charset",
            base()
                .header(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-16",
                )
                .body(&valid),
            Answer,
        );
        add(
            "two content types",
            base().header("Content-Type", "text/plain").form(&valid),
            Answer,
        );
        add(
            "credentials in the query",
            base_req(
                &e,
                &format!("{}?password=hunter2&client_secret=s3cret&token=t", e.path),
            )
            .form(&valid),
            Answer,
        );
        add(
            "invalid query encoding",
            base_req(&e, &format!("{}?%FF%FE=%C0%AF", e.path)).form(&valid),
            Answer,
        );
        add(
            "body shorter than its length",
            {
                let mut r = base().form(&valid);
                r.length = false;
                r.header("Content-Length", (valid.len() + 50).to_string())
            },
            Refused,
        );
        add(
            "body longer than its length",
            {
                let mut r = base().form(format!("{valid}&trailing=garbage"));
                r.length = false;
                r.header("Content-Length", valid.len().to_string())
            },
            Answer,
        );
        add(
            "chunked body",
            {
                let mut r = base()
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Transfer-Encoding", "chunked");
                r.length = false;
                r.body(format!("{:x}\r\n{valid}\r\n0\r\n\r\n", valid.len()))
            },
            Answer,
        );
        add(
            "bad chunk size",
            {
                let mut r = base()
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Transfer-Encoding", "chunked");
                r.length = false;
                r.body(format!("zz\r\n{valid}\r\n0\r\n\r\n"))
            },
            Framing,
        );
        add(
            "length and chunked",
            base()
                .header("Transfer-Encoding", "chunked")
                .form(format!("{:x}\r\n{valid}\r\n0\r\n\r\n", valid.len())),
            Framing,
        );
        add(
            "non-numeric length",
            {
                let mut r = base().form(&valid);
                r.length = false;
                r.header("Content-Length", "abc")
            },
            Framing,
        );
        add(
            "negative length",
            {
                let mut r = base().form(&valid);
                r.length = false;
                r.header("Content-Length", "-1")
            },
            Framing,
        );
        add(
            "two lengths",
            base().header("Content-Length", "1").form(&valid),
            Framing,
        );
        add(
            "NUL in a header",
            base().header("X-Test", b"a\0b").form(&valid),
            Framing,
        );
        add(
            "bare CR in a header",
            base().header("X-Test", b"a\rb").form(&valid),
            Framing,
        );
        add(
            "bare LF in a header",
            base().header("X-Test", b"a\nb").form(&valid),
            Framing,
        );
        add(
            "space before colon",
            base().header("X-Test ", "a").form(&valid),
            Framing,
        );
        add(
            "obs-text header",
            base().header("X-Test", b"\xff\xfe\x80").form(&valid),
            Answer,
        );
        add(
            "markup header",
            base()
                .header("X-Request-Id", XSS)
                .header("X-Forwarded-For", XSS)
                .header("Forwarded", format!("for=\"{XSS}\""))
                .form(&valid),
            Answer,
        );
        add(
            "header of 20 KB",
            base().header("X-Pad", "p".repeat(20_000)).form(&valid),
            Refused,
        );
        add(
            "150 headers",
            (0..150)
                .fold(base(), |r, i| r.header(format!("X-H{i}"), "1"))
                .form(&valid),
            Framing,
        );
        add(
            "Basic not base64",
            base()
                .without("Authorization")
                .header("Authorization", "Basic !!!***")
                .form(&valid),
            auth_expect,
        );
        add(
            "Basic not UTF-8",
            base()
                .without("Authorization")
                .header(
                    "Authorization",
                    format!("Basic {}", STANDARD.encode(b"\xff\xfe:\xfd")),
                )
                .form(&valid),
            auth_expect,
        );
        add(
            "Basic with markup",
            base()
                .without("Authorization")
                .header("Authorization", basic_header(XSS, XSS))
                .form(&valid),
            auth_expect,
        );
        add(
            "Basic without colon",
            base()
                .without("Authorization")
                .header(
                    "Authorization",
                    format!("Basic {}", STANDARD.encode("nocolon")),
                )
                .form(&valid),
            auth_expect,
        );
        add(
            "Basic with NUL",
            base()
                .without("Authorization")
                .header(
                    "Authorization",
                    format!("Basic {}", STANDARD.encode("a\0b:c\0d")),
                )
                .form(&valid),
            auth_expect,
        );
        add(
            "Basic huge",
            base()
                .without("Authorization")
                .header(
                    "Authorization",
                    format!("Basic {}", STANDARD.encode("x".repeat(9000))),
                )
                .form(&valid),
            auth_expect,
        );
        add(
            "Bearer scheme",
            base()
                .without("Authorization")
                .header("Authorization", format!("Bearer {}", w.tokens[0].1))
                .form(&valid),
            auth_expect,
        );
        add(
            "unknown scheme",
            base()
                .without("Authorization")
                .header("Authorization", "Digest username=\"x\"")
                .form(&valid),
            auth_expect,
        );
        add(
            "obs-text authorization",
            base()
                .without("Authorization")
                .header("Authorization", b"Basic \xff\xfe")
                .form(&valid),
            auth_expect,
        );
        add(
            "two authorizations",
            base().header("Authorization", "Basic eDp5").form(&valid),
            Answer,
        );
        add(
            "method override header",
            base()
                .header("X-HTTP-Method-Override", "DELETE")
                .form(&valid),
            Answer,
        );
        add(
            "HTTP/1.0",
            {
                let mut r = base().form(&valid);
                r.version = "HTTP/1.0";
                r
            },
            Answer,
        );
        add(
            "absolute-form target",
            base_req(&e, &format!("http://attacker.example{}", e.path)).form(&valid),
            Answer,
        );
        add(
            "unknown HTTP version",
            {
                let mut r = base().form(&valid);
                r.version = "HTTP/9.9";
                r
            },
            Framing,
        );
        add(
            "lower-case method",
            {
                let mut r = base().form(&valid);
                r.method = "post".into();
                r
            },
            Answer,
        );
        add(
            "PUT",
            {
                let mut r = base().form(&valid);
                r.method = "PUT".into();
                r
            },
            Refused,
        );
        add(
            "DELETE",
            {
                let mut r = base().form(&valid);
                r.method = "DELETE".into();
                r
            },
            Refused,
        );
        add(
            "PATCH",
            {
                let mut r = base().form(&valid);
                r.method = "PATCH".into();
                r
            },
            Refused,
        );
        add(
            "made-up method",
            {
                let mut r = base().form(&valid);
                r.method = "BREW".into();
                r
            },
            Refused,
        );
    }
}

/// GET endpoints with a mutation of their target or headers.
fn get_cases(w: &World, cases: &mut Cases) {
    use Expect::*;
    let admin = format!("Bearer {}", common::ADMIN_TOKEN);
    let bearer = format!("Bearer {}", w.tokens[0].1);
    let authz = authorize_params(&w.web);
    // (name, path, Authorization, methods allowed)
    let endpoints: Vec<(&str, String, Option<String>, &[&str])> = vec![
        (
            "discovery",
            "/.well-known/oauth-authorization-server".into(),
            None,
            &["GET", "HEAD"],
        ),
        (
            "openid-discovery",
            "/.well-known/openid-configuration".into(),
            None,
            &["GET", "HEAD"],
        ),
        ("jwks", "/oauth/jwks".into(), None, &["GET", "HEAD"]),
        (
            "jwks-alias",
            "/restapi/oauth/jwks".into(),
            None,
            &["GET", "HEAD"],
        ),
        ("docs", "/docs/errors".into(), None, &["GET", "HEAD"]),
        (
            "docs-code",
            "/docs/errors/OAU-251".into(),
            None,
            &["GET", "HEAD"],
        ),
        ("healthz", "/healthz".into(), None, &["GET", "HEAD"]),
        ("readyz", "/readyz".into(), None, &["GET", "HEAD"]),
        (
            "authorize",
            format!("/oauth/authorize?{authz}"),
            None,
            &["GET", "HEAD", "POST"],
        ),
        (
            "authorize-alias",
            format!("/restapi/oauth/authorize?{authz}"),
            None,
            &["GET", "HEAD", "POST"],
        ),
        (
            "userinfo",
            "/oauth/userinfo".into(),
            Some(bearer.clone()),
            &["GET", "HEAD", "POST"],
        ),
        (
            "extension",
            "/restapi/v1.0/account/~/extension/~".into(),
            Some(bearer),
            &["GET", "HEAD"],
        ),
        (
            "admin-apps",
            "/admin/v1/apps".into(),
            Some(admin.clone()),
            &["GET", "POST"],
        ),
        (
            "admin-user",
            format!("/admin/v1/users/{}", w.user_id),
            Some(admin.clone()),
            &["GET", "PATCH"],
        ),
        (
            "admin-openapi",
            "/admin/v1/openapi.json".into(),
            Some(admin),
            &["GET"],
        ),
    ];
    for (name, path, auth, allowed) in endpoints {
        let sep = if path.contains('?') { '&' } else { '?' };
        let get = |target: &[u8]| {
            let mut r = Req::new("GET", target).header("Accept", "text/html");
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r
        };
        let q = |extra: &str| format!("{path}{sep}{extra}");
        let mut add = |m: &str, req: Req, x: Expect| cases.add(format!("{name} {m}"), req, x);
        add("valid", get(path.as_bytes()), Answer);
        add("bad percent-encoding", get(q("a=%ZZ%").as_bytes()), Answer);
        add("overlong UTF-8", get(q("a=%C0%AF").as_bytes()), Answer);
        add(
            "invalid UTF-8 in the query",
            get(&[q("a=").as_bytes(), b"\xff\xfe"].concat()),
            Framing,
        );
        add(
            "invalid UTF-8 in the path",
            get(&[path.as_bytes(), b"\xff"].concat()),
            Framing,
        );
        add("NUL encoded", get(q("a=%00").as_bytes()), Answer);
        add(
            "NUL raw",
            get(&[q("a=").as_bytes(), b"\0"].concat()),
            Framing,
        );
        add(
            "markup encoded",
            get(q(&format!("{XSS_ENC}={XSS_ENC}")).as_bytes()),
            Answer,
        );
        add("markup raw", get(q(XSS).as_bytes()), Framing);
        add(
            "CRLF encoded",
            get(q("a=%0D%0AX-Injected:%201").as_bytes()),
            Answer,
        );
        add(
            "query of 10 KB",
            get(q(&format!("pad={}", "q".repeat(10_000))).as_bytes()),
            Answer,
        );
        add(
            "query of 40 KB",
            get(q(&format!("pad={}", "q".repeat(40_000))).as_bytes()),
            Answer,
        );
        // hyper answers 414 itself past 64 KB of URI.
        add(
            "query of 64 KB",
            get(q(&format!("pad={}", "q".repeat(64 * 1024))).as_bytes()),
            Framing,
        );
        add(
            "repeated parameter",
            get(q(&vec!["a=1"; 1000].join("&")).as_bytes()),
            Answer,
        );
        add("dot segments", get(format!("/..{path}").as_bytes()), Answer);
        add(
            "encoded dot segments",
            get(format!("/%2e%2e/%2e%2e/etc/passwd?{XSS_ENC}").as_bytes()),
            Refused,
        );
        add("double slashes", get(format!("/{path}").as_bytes()), Answer);
        add(
            "upper case",
            get(path.to_ascii_uppercase().as_bytes()),
            Answer,
        );
        add("fragment", get(format!("{path}#frag").as_bytes()), Framing);
        add(
            "cookie of 20 KB",
            get(path.as_bytes()).header("Cookie", format!("a={}", "c".repeat(20_000))),
            Refused,
        );
        add(
            "cookie garbage",
            get(path.as_bytes()).header(
                "Cookie",
                b"grantd_session=\xff\xfe; ;;=;grantd_csrf=<x>; grantd_session=a=b=c",
            ),
            Answer,
        );
        add(
            "accept garbage",
            get(path.as_bytes()).header("Accept", b"\xff/\xfe, */*;q=zz"),
            Answer,
        );
        add(
            "HEAD",
            {
                let mut r = get(path.as_bytes());
                r.method = "HEAD".into();
                r
            },
            Answer,
        );
        for method in ["PUT", "DELETE", "PATCH", "POST", "OPTIONS", "TRACE", "BREW"] {
            if allowed.contains(&method) {
                continue;
            }
            let mut r = get(path.as_bytes());
            r.method = method.into();
            add(&format!("{method} not allowed"), r, Refused);
        }
    }
    // The error page's code comes from the path.
    for (m, code) in [
        ("markup", XSS_ENC.to_string()),
        ("traversal", "..%2F..%2Fetc%2Fpasswd".to_string()),
        ("long", "X".repeat(5000)),
        ("NUL", "OAU-%00".to_string()),
        ("not UTF-8", "%FF%FE".to_string()),
        ("overlong UTF-8", "%C0%AF".to_string()),
    ] {
        cases.add(
            format!("docs-code {m}"),
            Req::new("GET", format!("/docs/errors/{code}")),
            Refused,
        );
    }
    cases.add(
        "docs-code lower case",
        Req::new("GET", "/docs/errors/oau-251"),
        Answer,
    );
    // Path parameters and queries of the admin API that cannot be decoded.
    let admin = format!("Bearer {}", common::ADMIN_TOKEN);
    for target in [
        "/admin/v1/apps/%FF%FE".to_string(),
        "/admin/v1/users/%C0%AF".to_string(),
        format!("/admin/v1/users/{XSS_ENC}"),
        "/admin/v1/users/%FF/jwt-credentials".to_string(),
        "/admin/v1/users/x/consents/%FF".to_string(),
        "/admin/v1/jwt-credentials/%FF".to_string(),
        "/admin/v1/users?account_id=a&account_id=b".to_string(),
        "/admin/v1/users?account_id=%FF".to_string(),
        format!("/admin/v1/users?account_id={XSS_ENC}"),
    ] {
        cases.add(
            format!("admin GET {target}"),
            Req::new("GET", &target).header("Authorization", &admin),
            Answer,
        );
    }
    // Unknown paths.
    for p in [
        "/",
        "/oauth",
        "/oauth/tokens",
        "/admin",
        "/.env",
        "/admin/v1/../../etc/passwd",
        "/%00",
        "/static/../../master.key",
    ] {
        cases.add(format!("unknown path {p}"), Req::new("GET", p), Framing);
    }
}

/// The authorization endpoint's own parameters, attacked one at a time.
fn authorize_cases(w: &World, cases: &mut Cases) {
    use Expect::*;
    let client = &w.web.client_id;
    let cb = enc(CB);
    let p = |rest: &str| format!("/oauth/authorize?{rest}");
    let table: Vec<(&str, String, Expect)> = vec![
        ("no parameters", p(""), Refused),
        ("unknown client", p(&format!("response_type=code&client_id=nope&redirect_uri={cb}")), Refused),
        ("markup client", p(&format!("response_type=code&client_id={XSS_ENC}&redirect_uri={cb}")), Refused),
        ("javascript redirect", p(&format!("response_type=code&client_id={client}&redirect_uri=javascript%3Aalert(1)")), Refused),
        ("data redirect", p(&format!("response_type=code&client_id={client}&redirect_uri=data%3Atext%2Fhtml%2C{XSS_ENC}")), Refused),
        ("other host", p(&format!("response_type=code&client_id={client}&redirect_uri=https%3A%2F%2Fattacker.example%2Fcb")), Refused),
        ("userinfo trick", p(&format!("response_type=code&client_id={client}&redirect_uri=https%3A%2F%2Fapp.example.com%40attacker.example%2Fcb")), Refused),
        ("path suffix", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}%2F..%2Fevil")), Refused),
        ("extra query", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}%3Fnext%3Dhttps%3A%2F%2Fattacker.example")), Refused),
        ("fragment", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}%23x")), Refused),
        ("CRLF in redirect", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}%0D%0AX-Injected%3A%201")), Refused),
        ("upper-case host", p(&format!("response_type=code&client_id={client}&redirect_uri=https%3A%2F%2FAPP.example.com%2Fcb")), Refused),
        ("port added", p(&format!("response_type=code&client_id={client}&redirect_uri=https%3A%2F%2Fapp.example.com%3A443%2Fcb")), Refused),
        ("unknown response type", p(&format!("response_type={XSS_ENC}&client_id={client}&redirect_uri={cb}&state={XSS_ENC}")), Refused),
        ("implicit", p(&format!("response_type=token&client_id={client}&redirect_uri={cb}")), Refused),
        ("markup scope", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&scope={XSS_ENC}")), Refused),
        ("unknown scope", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&scope=EditAccounts")), Refused),
        ("markup state", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&scope=bad%22scope&state={XSS_ENC}%22%27")), Refused),
        ("CRLF state", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&scope=x%5C&state=a%0D%0AX-Injected%3A%201")), Refused),
        ("huge state", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&state={}", "s".repeat(3000))), Refused),
        ("bad challenge", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&code_challenge=short&code_challenge_method=S256")), Refused),
        ("bad challenge method", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&code_challenge={}&code_challenge_method={XSS_ENC}", "a".repeat(43))), Refused),
        ("prompt garbage", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&prompt={XSS_ENC}")), Refused),
        ("prompt none and login", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&prompt=none+login")), Refused),
        ("max_age garbage", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&max_age=-1")), Refused),
        ("max_age overflow", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&max_age=99999999999999999999999")), Refused),
        ("huge nonce", p(&format!("response_type=code&client_id={client}&redirect_uri={cb}&nonce={}", "n".repeat(600))), Refused),
        ("code here", p(&format!("code=abc&client_id={client}")), Refused),
        ("grant_type here", p(&format!("grant_type=authorization_code&client_id={client}")), Refused),
        ("duplicate client", p(&format!("response_type=code&client_id={client}&client_id={client}&redirect_uri={cb}")), Refused),
        ("login hint markup", p(&format!("{}&login_hint={XSS_ENC}", authorize_params(&w.web))), Answer),
    ];
    for (m, target, x) in table {
        for html in [true, false] {
            let mut r = Req::new("GET", &target);
            if html {
                r = r
                    .header("Accept", "text/html")
                    .header("Cookie", &w.browser_cookies);
            }
            cases.add(format!("authorize {m} (html: {html})"), r, x);
        }
    }
}

/// Every kind of token, real or forged, in every slot that takes one.
fn token_slot_cases(w: &World, cases: &mut Cases) {
    use Expect::*;
    let basic = basic_header(&w.app.client_id, &w.app.secret);
    let web_basic = basic_header(&w.web.client_id, &w.web.secret);
    for (kind, token) in &w.tokens {
        let t = enc(token);
        let real_access = *kind == "access-jwt";
        let bearer_ok = if real_access { Answer } else { Refused };
        for path in ["/oauth/userinfo", "/restapi/v1.0/account/~/extension/~"] {
            for scheme in ["Bearer", "bearer"] {
                cases.add(
                    format!("{kind} as {scheme} at {path}"),
                    Req::new("GET", path).header("Authorization", format!("{scheme} {token}")),
                    bearer_ok,
                );
            }
        }
        cases.add(
            format!("{kind} as access_token in the userinfo body"),
            Req::new("POST", "/oauth/userinfo").form(format!("access_token={t}")),
            Refused,
        );
        cases.add(
            format!("{kind} as assertion"),
            Req::new("POST", "/oauth/token")
                .header("Authorization", &basic)
                .form(format!(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={t}"
                )),
            if *kind == "credential" {
                Answer
            } else {
                Refused
            },
        );
        if *kind != "refresh" {
            cases.add(
                format!("{kind} as refresh token"),
                Req::new("POST", "/oauth/token")
                    .header("Authorization", &basic)
                    .form(format!("grant_type=refresh_token&refresh_token={t}")),
                Refused,
            );
        }
        cases.add(
            format!("{kind} as authorization code"),
            Req::new("POST", "/oauth/token")
                .header("Authorization", &web_basic)
                .form(format!(
                    "grant_type=authorization_code&code={t}&redirect_uri={}",
                    enc(CB)
                )),
            Refused,
        );
        cases.add(
            format!("{kind} as client secret"),
            Req::new("POST", "/oauth/token")
                .header("Authorization", basic_header(&w.app.client_id, token))
                .form("grant_type=client_credentials"),
            Refused,
        );
        cases.add(
            format!("{kind} introspected by another app"),
            Req::new("POST", "/oauth/introspect")
                .header("Authorization", &web_basic)
                .form(format!("token={t}")),
            Answer,
        );
        cases.add(
            format!("{kind} revoked by another app"),
            Req::new("POST", "/oauth/revoke")
                .header("Authorization", &web_basic)
                .form(format!("token={t}")),
            Answer,
        );
        cases.add(
            format!("{kind} as the admin token"),
            Req::new("GET", "/admin/v1/apps").header("Authorization", format!("Bearer {token}")),
            Refused,
        );
    }
}

/// Admin API bodies, with the admin token, without it, and with a wrong one.
fn admin_cases(w: &World, cases: &mut Cases) {
    use Expect::*;
    let deep_array = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let huge_array = format!(
        "{{\"name\":\"x\",\"scopes\":[{}\"s\"]}}",
        "\"s\",".repeat(12_000)
    );
    let many_keys = format!(
        "{{{}\"name\":\"x\"}}",
        (0..5000)
            .map(|i| format!("\"k{i}\":1,"))
            .collect::<String>()
    );
    let bodies: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("deeply nested array", deep_array.into_bytes(), None),
        ("deeply nested object", deep_object.into_bytes(), None),
        ("huge array", huge_array.into_bytes(), None),
        ("5000 keys", many_keys.into_bytes(), None),
        ("over 64 KB", format!("{{\"name\":\"{}\"}}", "n".repeat(70_000)).into_bytes(), None),
        ("invalid UTF-8", b"{\"name\":\"\xff\xfe\"}".to_vec(), None),
        ("NUL in a string", br#"{"name":"a\u0000b","email":"x\u0000@example.com"}"#.to_vec(), None),
        ("lone surrogate", br#"{"name":"\ud800"}"#.to_vec(), None),
        ("huge number", br#"{"name":"x","access_token_ttl":1e999,"expires_in":1e999}"#.to_vec(), None),
        ("u64 overflow", br#"{"name":"x","access_token_ttl":18446744073709551616,"expires_in":18446744073709551616}"#.to_vec(), None),
        ("negative number", br#"{"name":"x","access_token_ttl":-1,"expires_in":-5}"#.to_vec(), None),
        ("duplicate keys", br#"{"name":"a","name":"b","status":"enabled","status":"disabled"}"#.to_vec(), None),
        ("markup key", format!("{{\"{XSS}\":1}}").into_bytes(), None),
        ("markup values", format!("{{\"name\":\"{XSS}\",\"platform_type\":\"{XSS}\",\"email\":\"{XSS}\",\"status\":\"{XSS}\",\"label\":\"{XSS}\"}}").into_bytes(), None),
        ("wrong types", br#"{"name":1,"grants":"all","redirect_uris":{},"scopes":true,"status":[],"apps":"x"}"#.to_vec(), None),
        ("null", b"null".to_vec(), None),
        ("array", b"[]".to_vec(), None),
        ("string", b"\"x\"".to_vec(), None),
        ("trailing garbage", b"{}xx".to_vec(), None),
        ("BOM", b"\xef\xbb\xbf{}".to_vec(), None),
        ("comment", b"{/* x */}".to_vec(), None),
        ("unterminated", b"{\"name\":\"".to_vec(), None),
        ("form body", b"name=x&platform_type=server-only".to_vec(), Some("application/x-www-form-urlencoded")),
        ("no content type", br#"{"name":"x"}"#.to_vec(), Some("")),
        ("text/plain", br#"{"name":"x"}"#.to_vec(), Some("text/plain")),
    ];
    let endpoints: Vec<(&str, String)> = vec![
        ("POST", "/admin/v1/apps".into()),
        ("PATCH", format!("/admin/v1/apps/{}", w.web.client_id)),
        ("POST", "/admin/v1/users".into()),
        ("PATCH", format!("/admin/v1/users/{}", w.user_id)),
        (
            "POST",
            format!("/admin/v1/users/{}/jwt-credentials", w.user_id),
        ),
        ("POST", "/admin/v1/accounts".into()),
    ];
    let admin = format!("Bearer {}", common::ADMIN_TOKEN);
    for (method, path) in &endpoints {
        for (m, body, ct) in &bodies {
            let mut r = Req::new(method, path).body(body);
            match ct {
                None => r = r.header("Content-Type", "application/json"),
                Some("") => {}
                Some(ct) => r = r.header("Content-Type", ct),
            }
            // Bodies that happen to be valid for an endpoint create or change
            // things; that is an answer, not a refusal.
            cases.add(
                format!("admin {method} {path} {m}"),
                r.clone().header("Authorization", &admin),
                Answer,
            );
            if *m == "over 64 KB" || *m == "deeply nested array" || *m == "markup values" {
                cases.add(
                    format!("admin {method} {path} {m} without a token"),
                    r.clone(),
                    Refused,
                );
                cases.add(
                    format!("admin {method} {path} {m} with a wrong token"),
                    r.header("Authorization", "Bearer wrong-token"),
                    Refused,
                );
            }
        }
    }
    // The admin token itself, mangled.
    for (m, value) in [
        ("no scheme", common::ADMIN_TOKEN.to_string()),
        (
            "Basic",
            format!("Basic {}", STANDARD.encode(common::ADMIN_TOKEN)),
        ),
        ("prefix", format!("Bearer {}", &common::ADMIN_TOKEN[..10])),
        ("suffix", format!("Bearer {}x", common::ADMIN_TOKEN)),
        ("empty", "Bearer ".to_string()),
        ("markup", format!("Bearer {XSS}")),
        ("huge", format!("Bearer {}", "t".repeat(12_000))),
    ] {
        cases.add(
            format!("admin token {m}"),
            Req::new("GET", "/admin/v1/users").header("Authorization", value),
            Refused,
        );
    }
}

/// Clients that send their headers a byte at a time, within the timeout.
fn slow_cases(w: &World, cases: &mut Cases) {
    let pause = Some(Duration::from_millis(15));
    let mut slow = |name: &str, req: Req| {
        cases.0.push(Case {
            name: format!("slow {name}"),
            req,
            expect: Expect::Answer,
            dribble: pause,
        })
    };
    slow("healthz", Req::new("GET", "/healthz"));
    slow(
        "token",
        Req::new("POST", "/oauth/token")
            .header(
                "Authorization",
                basic_header(&w.app.client_id, &w.app.secret),
            )
            .form("grant_type=client_credentials"),
    );
    slow(
        "admin",
        Req::new("GET", "/admin/v1/apps")
            .header("Authorization", format!("Bearer {}", common::ADMIN_TOKEN)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_catalog_errors_and_the_server_stays_healthy() {
    let started = Instant::now();
    let server = Server::start_with(&[], &[("GRANTD_BODY_READ_TIMEOUT", "1")]);
    let world = setup(&server).await;
    let mut cases = Cases::default();
    slow_cases(&world, &mut cases);
    form_cases(&world, &mut cases);
    get_cases(&world, &mut cases);
    authorize_cases(&world, &mut cases);
    token_slot_cases(&world, &mut cases);
    admin_cases(&world, &mut cases);
    let total = cases.0.len();

    let addr: Arc<str> = server.base.trim_start_matches("http://").into();
    let permits = Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for case in cases.0 {
        let addr = addr.clone();
        let permit = permits.clone().acquire_owned().await.unwrap();
        set.spawn(async move {
            let outcome = send(&addr, &case.req, case.dribble).await;
            drop(permit);
            let verdict = judge(&case, outcome);
            (case.name, verdict)
        });
    }
    let mut failures = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut by_hyper = 0;
    while let Some(done) = set.join_next().await {
        let (name, verdict) = done.expect("case task");
        match verdict {
            Ok((status, bare)) => {
                *statuses.entry(status).or_default() += 1;
                by_hyper += usize::from(bare);
                if bare && std::env::var("HOSTILE_SHOW").is_ok() {
                    eprintln!("by hyper: {name} {status}");
                }
            }
            Err(why) => failures.push(format!(
                "{name}: {}",
                why.chars().take(300).collect::<String>()
            )),
        }
    }
    eprintln!(
        "hostile: {total} requests in {:.1?}; statuses {statuses:?}; {by_hyper} refused by hyper before grantd (0 = closed); {} failed",
        started.elapsed(),
        failures.len()
    );
    assert!(total >= 300, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} hostile requests were mishandled:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Healthy afterwards: up, and serving a correct token request.
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let r = server
        .post_form(
            "/oauth/token",
            Some((&world.app.client_id, &world.app.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains("GRD-500"), "a server error was logged");
}

/// Code injection across clients (RFC 9700 §4.5): a code stolen from one
/// app's redirect cannot be exchanged by another app.
#[tokio::test]
async fn a_code_is_bound_to_the_app_it_was_issued_to() {
    let server = Server::start();
    let world = setup(&server).await;
    let thief = App::from(
        server
            .create_app(json!({"name": "Thief Web", "platform_type": "server-web",
                "redirect_uris": [CB], "scopes": ["openid", "ReadAccounts"]}))
            .await,
    );
    // The browser has signed in and consented: the next request gets a code at once.
    let res = server
        .http
        .get(server.url(&format!(
            "/oauth/authorize?{}",
            authorize_params(&world.web)
        )))
        .header("cookie", &world.browser_cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let code = form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let r = server
        .post_form(
            "/oauth/token",
            Some((&thief.client_id, &thief.secret)),
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}",
                enc(&code),
                enc(CB)
            ),
        )
        .await;
    r.assert_error(400, "invalid_grant", "OAU-110", &["not issued to app"]);
}
