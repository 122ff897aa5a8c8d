//! Test harness: starts the real grantd binary on a free port with its own
//! data directory, and speaks HTTP to it.
#![allow(dead_code)]

pub mod keys;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct Server {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub http: reqwest::Client,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_grantd")
}

impl Server {
    /// Starts grantd on a new, empty data directory.
    pub fn start() -> Self {
        Self::start_with(&[], &[])
    }

    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data");
        let mut s = Self::start_in(&dir, args, env);
        s._tmp = Some(tmp);
        s
    }

    /// Starts grantd on `dir` (which may hold a previous run's data).
    pub fn start_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        std::fs::create_dir_all(dir.parent().unwrap_or(dir)).ok();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.with_extension("log"))
            .expect("log file");
        let mut cmd = Command::new(bin());
        cmd.arg("--data-dir")
            .arg(dir)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .env("GRANTD_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("GRANTD_LOG", "info")
            // Time is the tests' to move (debug builds only): see `advance`.
            .env("GRANTD_TEST_CLOCK_FILE", dir.with_extension("clock"))
            // Most suites send many failing requests on purpose; the limit has its own test.
            .env("GRANTD_AUTH_FAILURE_LIMIT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start grantd");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.expect("read stdout");
            if let Some(url) = line.strip_prefix("grantd listening on ") {
                base = Some(url.trim().to_string());
                break;
            }
        }
        let base = base.unwrap_or_else(|| {
            let log = std::fs::read_to_string(dir.with_extension("log")).unwrap_or_default();
            panic!("grantd did not start; its log:\n{log}")
        });
        // Keep draining stdout so the child never blocks on a full pipe,
        // kept in a file beside the log so tests can read what it printed.
        let stdout_file = dir.with_extension("stdout");
        std::thread::spawn(move || {
            use std::io::Write;
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(stdout_file)
                .ok();
            for line in lines.map_while(Result::ok) {
                if let Some(f) = out.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
            }
        });
        Self {
            child,
            base,
            dir: dir.to_path_buf(),
            _tmp: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// The server process's id (to read its /proc entries).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Moves the server's clock `seconds` forward (no test sleeps for an expiry).
    pub fn advance(&self, seconds: i64) {
        let path = self.dir.with_extension("clock");
        let now: i64 = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(&path, (now + seconds).to_string()).expect("write the test clock");
    }

    /// Kills the process at once (SIGKILL: no shutdown, as in a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops with SIGTERM (graceful) and waits.
    pub fn stop(self) -> Option<tempfile::TempDir> {
        self.stop_status().1
    }

    /// Stops with SIGTERM; returns whether grantd exited cleanly by itself.
    pub fn stop_status(mut self) -> (bool, Option<tempfile::TempDir>) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let mut clean = false;
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                clean = status.success();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        (clean, self._tmp.take())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("log")).unwrap_or_default()
    }

    /// What the server printed on stdout after its start-up line.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("stdout")).unwrap_or_default()
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("admin request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Registers an app through the admin API; returns its JSON (with the secret).
    pub async fn create_app(&self, spec: Value) -> Value {
        let (status, body) = self
            .admin(reqwest::Method::POST, "/admin/v1/apps", Some(spec))
            .await;
        assert_eq!(status, 201, "create app: {body}");
        body
    }

    pub async fn server_only_app(&self, extra: Value) -> App {
        let mut spec = json!({"name": "Acme Sync", "platform_type": "server-only",
                              "grants": ["client_credentials"], "scopes": ["ReadAccounts", "SMS"]});
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        App::from(self.create_app(spec).await)
    }

    /// Creates a user through the admin API.
    pub async fn create_user(&self, spec: Value) -> Value {
        let (status, body) = self
            .admin(reqwest::Method::POST, "/admin/v1/users", Some(spec))
            .await;
        assert_eq!(status, 201, "create user: {body}");
        body
    }

    /// Creates a JWT credential for a user; returns (credential id, JWT).
    pub async fn create_credential(&self, user_id: &str, spec: Value) -> (String, String) {
        let (status, body) = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/v1/users/{user_id}/jwt-credentials"),
                Some(spec),
            )
            .await;
        assert_eq!(status, 201, "create credential: {body}");
        (
            body["id"].as_str().unwrap().to_string(),
            body["jwt"].as_str().unwrap().to_string(),
        )
    }

    /// GET with a bearer token (lower-case scheme, as the RingCentral SDKs send it).
    pub async fn get_bearer(&self, path: &str, token: &str) -> Reply {
        let res = self
            .http
            .get(self.url(path))
            .header("authorization", format!("bearer {token}"))
            .send()
            .await
            .expect("request");
        Reply::from(res).await
    }

    /// POSTs a form with optional Basic credentials; returns status, headers, JSON.
    pub async fn post_form(&self, path: &str, basic: Option<(&str, &str)>, body: &str) -> Reply {
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some((id, secret)) = basic {
            req = req.header("authorization", basic_header(id, secret));
        }
        Reply::from(req.send().await.expect("request")).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn basic_header(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub secret: String,
    pub json: Value,
}

impl From<Value> for App {
    fn from(v: Value) -> Self {
        Self {
            client_id: v["client_id"].as_str().unwrap_or_default().to_string(),
            secret: v["client_secret"].as_str().unwrap_or_default().to_string(),
            json: v,
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub async fn from(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn code(&self) -> &str {
        self.json["errors"][0]["errorCode"].as_str().unwrap_or("")
    }

    /// Asserts the catalog shape: status, RFC error, code, and that the
    /// description contains each of `says`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str, code: &str, says: &[&str]) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.json["error"], error, "error of {}", self.text);
        assert_eq!(self.code(), code, "code of {}", self.text);
        let d = self.json["error_description"].as_str().unwrap_or("");
        for s in says {
            assert!(d.contains(s), "description lacks {s:?}: {d}");
        }
        let uri = self.json["error_uri"].as_str().unwrap_or("");
        assert!(
            uri.ends_with(&format!("/docs/errors/{code}")),
            "error_uri {uri}"
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }
}

/// A canned HTTP answer of a [`KeyServer`].
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A tiny HTTP/1.1 server on a loopback port, inside the test, answering
/// each path with what the test last set (404 otherwise) and counting the
/// requests per path: the web server where an app publishes its keys
/// (`jwks_uri`).
pub struct KeyServer {
    pub base: String,
    routes: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Canned>>>,
    hits: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl KeyServer {
    pub async fn start() -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the key server");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Canned>>> =
            Default::default();
        let hits: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>> =
            Default::default();
        let (r, h) = (routes.clone(), hits.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (routes, hits) = (r.clone(), h.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                    let canned = routes.lock().unwrap().get(&path).cloned();
                    let canned = canned.unwrap_or(Canned {
                        status: 404,
                        headers: vec![],
                        body: b"not found".to_vec(),
                    });
                    let mut out = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        canned.status,
                        canned.body.len()
                    );
                    for (k, v) in &canned.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    let _ = conn.write_all(out.as_bytes()).await;
                    let _ = conn.write_all(&canned.body).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self {
            base,
            routes,
            hits,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers `path` with `status`, `headers` and `body` from now on.
    pub fn serve(
        &self,
        path: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Canned {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: body.into(),
            },
        );
    }

    /// Answers `path` with `json` (200, application/json).
    pub fn serve_json(&self, path: &str, json: &Value) {
        self.serve(
            path,
            200,
            &[("Content-Type", "application/json")],
            json.to_string(),
        );
    }

    /// How many requests `path` has had.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// --- A browser: cookies kept, redirects not followed; the authorization pages' forms.

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the page's form.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = part.split('"').next().unwrap().to_string();
        let value = part
            .split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or("");
        out.push((name, unescape(value)));
    }
    out
}

pub fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let q = location
        .split_once(['?', '#'])
        .map(|(_, q)| q)
        .unwrap_or("");
    form_pairs(q)
}

pub fn form_pairs(q: &str) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A GET without following redirects (an authorization error then comes as
/// JSON, not a page).
pub async fn get_json(url: &str) -> Reply {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Reply::from(client.get(url).send().await.expect("request")).await
}

pub fn location(r: &Reply) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no redirect: {} {}", r.status, r.text))
        .to_string()
}

pub struct Browser<'a> {
    pub server: &'a Server,
    pub http: reqwest::Client,
}

impl<'a> Browser<'a> {
    pub fn new(server: &'a Server) -> Self {
        Self {
            server,
            http: browser(),
        }
    }

    pub async fn get(&self, url: &str) -> Reply {
        Reply::from(
            self.http
                .get(url)
                .header("accept", "text/html")
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, fields: &[(String, String)]) -> Reply {
        let res = self
            .http
            .post(self.server.url(path))
            .header("accept", "text/html")
            .form(fields)
            .send()
            .await
            .unwrap();
        Reply::from(res).await
    }

    /// Signs in on the page `r`; returns the next response.
    pub async fn sign_in(&self, page: &Reply, username: &str, password: &str) -> Reply {
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(
            page.text.contains("action=\"/oauth/authorize/login\""),
            "not the sign-in page: {}",
            page.text
        );
        let mut fields = hidden_fields(&page.text);
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        self.post("/oauth/authorize/login", &fields).await
    }

    pub async fn consent(&self, page: &Reply, decision: &str) -> Reply {
        assert!(
            page.text.contains("action=\"/oauth/authorize/consent\""),
            "not the consent page: {} {}",
            page.status,
            page.text
        );
        // The consent form only (the page's second form signs out).
        let form = page
            .text
            .split("action=\"/oauth/authorize/signout\"")
            .next()
            .unwrap_or("");
        let mut fields = hidden_fields(form);
        fields.push(("decision".into(), decision.into()));
        self.post("/oauth/authorize/consent", &fields).await
    }

    /// The whole flow from an authorization URL to the app's redirect.
    pub async fn authorize(&self, url: &str, username: &str, password: &str) -> String {
        let mut page = self.get(url).await;
        if page.text.contains("action=\"/oauth/authorize/login\"") {
            page = self.sign_in(&page, username, password).await;
        }
        let done = if page.status == 200 {
            self.consent(&page, "allow").await
        } else {
            page
        };
        assert_eq!(done.status, 303, "{}", done.text);
        location(&done)
    }
}
