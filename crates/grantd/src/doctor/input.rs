//! Reading what `grantd doctor` is given — raw HTTP, a curl command line or a
//! HAR file — into plain requests, without judging them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// One HTTP request as it was written down.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// The request target: an absolute URL or a path with its query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Oddities of the text itself, found while reading it.
    pub quirks: Vec<Quirk>,
    /// Where it came from, for the report (`raw HTTP`, `curl`, `HAR entry 3`).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quirk {
    /// The request line ran over this many lines.
    RequestLineBroken(usize),
    /// Raw HTTP without a Host header.
    NoHost,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path, without scheme, host or query.
    pub fn path(&self) -> &str {
        let t = self.target.as_str();
        let t = match t.find("://") {
            Some(i) => {
                let rest = &t[i + 3..];
                rest.find('/').map_or("/", |j| &rest[j..])
            }
            None => t,
        };
        let t = t.split('#').next().unwrap_or(t);
        t.split('?').next().unwrap_or(t)
    }

    pub fn query(&self) -> Option<&str> {
        let t = self.target.split('#').next().unwrap_or(&self.target);
        t.split_once('?').map(|(_, q)| q)
    }

    /// `scheme://host` of the target, or from the Host header.
    pub fn origin(&self) -> Option<String> {
        if let Some(i) = self.target.find("://") {
            let rest = &self.target[i + 3..];
            let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            return Some(format!("{}://{host}", &self.target[..i]));
        }
        self.header("host").map(|h| {
            let h = h.trim();
            let local =
                h.starts_with("localhost") || h.starts_with("127.") || h.starts_with("[::1]");
            format!("{}://{h}", if local { "http" } else { "https" })
        })
    }
}

/// Why the input could not be read (exit status 2).
#[derive(Debug)]
pub struct Unreadable(pub String);

/// Reads every request in `text`, whichever form it is in.
pub fn read(text: &str) -> Result<Vec<HttpRequest>, Unreadable> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(Unreadable("the input is empty".into()));
    }
    if trimmed.starts_with('{') {
        return read_har(trimmed);
    }
    let first_word = trimmed.split_whitespace().next().unwrap_or("");
    if first_word == "curl" || first_word.ends_with("/curl") || first_word == "$" {
        return read_curl(trimmed.trim_start_matches('$').trim_start()).map(|r| vec![r]);
    }
    read_raw(trimmed).map(|r| vec![r])
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
];

/// Raw HTTP as in a forum post: the request line (which may have been wrapped
/// over several lines), headers, and a body — after a blank line, or after
/// the first line that is not a header, since copied requests often lose it.
fn read_raw(text: &str) -> Result<HttpRequest, Unreadable> {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines[0].trim();
    let method = first.split_whitespace().next().unwrap_or("");
    if !METHODS.contains(&method.to_ascii_uppercase().as_str()) {
        // The first word is not quoted: it could be a pasted token.
        return Err(Unreadable(
            "it is neither raw HTTP (a first line like 'POST /oauth/token HTTP/1.1'), a curl command line nor a HAR file: the first word is not an HTTP method or curl".into(),
        ));
    }
    let mut req = HttpRequest {
        method: method.to_ascii_uppercase(),
        source: "raw HTTP".into(),
        ..Default::default()
    };
    // The request line ends with the HTTP version; a URL wrapped over several
    // lines is joined back.
    let ends_with_version = |l: &str| {
        l.trim_end()
            .rsplit(' ')
            .next()
            .is_some_and(|w| w.starts_with("HTTP/"))
    };
    let mut line_count = 1;
    let mut request_line = first.to_string();
    if !ends_with_version(first) {
        if let Some(k) = lines
            .iter()
            .skip(1)
            .take(4)
            .position(|l| ends_with_version(l))
        {
            for l in &lines[1..=k + 1] {
                request_line.push_str(l.trim());
            }
            line_count = k + 2;
            req.quirks.push(Quirk::RequestLineBroken(line_count));
        }
    }
    let mut words = request_line[method.len()..].trim().to_string();
    if let Some(i) = words.rfind(" HTTP/") {
        words.truncate(i);
    }
    req.target = words.trim().replace(' ', "%20");
    if req.target.is_empty() {
        return Err(Unreadable("the request line names no URL".into()));
    }
    let mut i = line_count;
    while i < lines.len() {
        let l = lines[i];
        if l.trim().is_empty() {
            i += 1;
            break;
        }
        match l.split_once(':') {
            Some((name, value))
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) =>
            {
                req.headers
                    .push((name.to_string(), value.trim().to_string()));
                i += 1;
            }
            _ => break,
        }
    }
    req.body = lines[i.min(lines.len())..]
        .join("\n")
        .trim()
        .as_bytes()
        .to_vec();
    if req.header("host").is_none() && !req.target.contains("://") {
        req.quirks.push(Quirk::NoHost);
    }
    Ok(req)
}

/// Splits a shell command line into words: single and double quotes,
/// backslash escapes, `$'…'`, and backslash-newline continuations (also the
/// `^` of cmd.exe and the backtick of PowerShell at a line's end).
pub fn shell_words(text: &str) -> Result<Vec<String>, Unreadable> {
    let text = text
        .replace("\\\r\n", " ")
        .replace("\\\n", " ")
        .replace("^\r\n", " ")
        .replace("^\n", " ")
        .replace("`\r\n", " ")
        .replace("`\n", " ");
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(Unreadable("a single quote is not closed".into())),
                    }
                }
            }
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => cur.push('\n'),
                            Some('r') => cur.push('\r'),
                            Some('t') => cur.push('\t'),
                            Some(x) => cur.push(x),
                            None => break,
                        },
                        Some(x) => cur.push(x),
                        None => return Err(Unreadable("a $'…' quote is not closed".into())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&x) if "\"\\$`".contains(x) => {
                                cur.push(x);
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(Unreadable("a double quote is not closed".into())),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// curl options that take a value and do not matter here.
const CURL_IGNORED_WITH_VALUE: &[&str] = &[
    "-o",
    "--output",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "-m",
    "--max-time",
    "--connect-timeout",
    "-w",
    "--write-out",
    "-b",
    "--cookie",
    "-c",
    "--cookie-jar",
    "--cacert",
    "--cert",
    "--key",
    "-x",
    "--proxy",
    "--resolve",
    "--retry",
    "-T",
    "--upload-file",
    "--limit-rate",
    "-r",
    "--range",
    "--max-redirs",
    "-D",
    "--dump-header",
    "--trace",
    "--trace-ascii",
    "--interface",
    "-K",
    "--config",
    "--connect-to",
];

/// A curl command line, as curl itself would send it.
fn read_curl(text: &str) -> Result<HttpRequest, Unreadable> {
    let words = shell_words(text)?;
    let mut req = HttpRequest {
        source: "curl".into(),
        ..Default::default()
    };
    let mut method: Option<String> = None;
    let mut data: Vec<String> = Vec::new();
    let mut json = false;
    let mut multipart = false;
    let mut get = false;
    let mut user: Option<String> = None;
    let mut url: Option<String> = None;
    let mut it = words.into_iter().skip(1);
    let value = |it: &mut std::iter::Skip<std::vec::IntoIter<String>>, flag: &str| {
        it.next()
            .ok_or_else(|| Unreadable(format!("curl option {flag} has no value")))
    };
    while let Some(w) = it.next() {
        // -XPOST, -HName:v, -dx=1 and --opt=value forms.
        let (flag, inline): (String, Option<String>) = if w.starts_with("--") {
            match w.split_once('=') {
                Some((f, v))
                    if !matches!(
                        f,
                        "--data"
                            | "--data-raw"
                            | "--data-binary"
                            | "--data-urlencode"
                            | "--data-ascii"
                    ) =>
                {
                    (f.to_string(), Some(v.to_string()))
                }
                _ => (w.clone(), None),
            }
        } else if w.starts_with('-') && w.len() > 2 && "XHdue".contains(&w[1..2]) {
            (w[..2].to_string(), Some(w[2..].to_string()))
        } else {
            (w.clone(), None)
        };
        let take = |it: &mut std::iter::Skip<std::vec::IntoIter<String>>| match &inline {
            Some(v) => Ok(v.clone()),
            None => value(it, &flag),
        };
        match flag.as_str() {
            "-X" | "--request" => method = Some(take(&mut it)?.to_ascii_uppercase()),
            "-H" | "--header" => {
                let h = take(&mut it)?;
                if let Some((n, v)) = h.split_once(':') {
                    req.headers
                        .push((n.trim().to_string(), v.trim().to_string()));
                }
            }
            "-d" | "--data" | "--data-ascii" | "--data-binary" | "--data-raw" => {
                let v = take(&mut it)?;
                // curl strips newlines from -d (not from --data-binary).
                data.push(if flag == "--data-binary" || flag == "--data-raw" {
                    v
                } else {
                    v.replace(['\r', '\n'], "")
                });
            }
            "--data-urlencode" => {
                let v = take(&mut it)?;
                data.push(match v.split_once('=') {
                    Some((name, val)) => format!("{name}={}", form_encode(val)),
                    None => form_encode(&v),
                });
            }
            "--json" => {
                json = true;
                data.push(take(&mut it)?);
            }
            "-F" | "--form" => {
                multipart = true;
                let _ = take(&mut it)?;
            }
            "-u" | "--user" => user = Some(take(&mut it)?),
            "-G" | "--get" => get = true,
            "-I" | "--head" => method = Some("HEAD".into()),
            "--url" => url = Some(take(&mut it)?),
            f if CURL_IGNORED_WITH_VALUE.contains(&f) => {
                let _ = take(&mut it)?;
            }
            f if f.starts_with('-') => {}
            _ => {
                if url.is_none() {
                    url = Some(w.clone());
                }
            }
        }
    }
    let Some(mut url) = url else {
        return Err(Unreadable("the curl command line has no URL".into()));
    };
    if !url.contains("://") {
        url = format!("http://{url}");
    }
    let has_type = req.header("content-type").is_some();
    if json {
        if !has_type {
            req.headers
                .push(("Content-Type".into(), "application/json".into()));
        }
    } else if multipart && !has_type {
        req.headers.push((
            "Content-Type".into(),
            "multipart/form-data; boundary=------------------------curl".into(),
        ));
    } else if !data.is_empty() && !get && !has_type {
        req.headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    if let Some(u) = user {
        let u = if u.contains(':') { u } else { format!("{u}:") };
        req.headers.push((
            "Authorization".into(),
            format!("Basic {}", STANDARD.encode(u)),
        ));
    }
    let body = data.join("&");
    if get && !body.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&body);
    } else {
        req.body = body.into_bytes();
    }
    req.method = method.unwrap_or_else(|| {
        if (!req.body.is_empty() || multipart) && !get {
            "POST".into()
        } else {
            "GET".into()
        }
    });
    req.target = url;
    Ok(req)
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// A HAR file (HTTP Archive 1.2): every request in `log.entries`.
fn read_har(text: &str) -> Result<Vec<HttpRequest>, Unreadable> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Unreadable(format!(
            "it starts with '{{' but is not a HAR file: not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(entries) = v.pointer("/log/entries").and_then(|e| e.as_array()) else {
        return Err(Unreadable(
            "it is JSON but not a HAR file: there is no log.entries array".into(),
        ));
    };
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let r = &e["request"];
        let mut req = HttpRequest {
            method: r["method"].as_str().unwrap_or("GET").to_ascii_uppercase(),
            target: r["url"].as_str().unwrap_or("").to_string(),
            source: format!("HAR entry {}", i + 1),
            ..Default::default()
        };
        for h in r["headers"].as_array().into_iter().flatten() {
            let (Some(n), Some(v)) = (h["name"].as_str(), h["value"].as_str()) else {
                continue;
            };
            // HTTP/2 pseudo-headers are not headers of the request as sent.
            if !n.starts_with(':') {
                req.headers.push((n.to_string(), v.to_string()));
            }
        }
        let post = &r["postData"];
        if let Some(t) = post["text"].as_str() {
            req.body = t.as_bytes().to_vec();
        } else if let Some(params) = post["params"].as_array() {
            req.body = params
                .iter()
                .map(|p| {
                    format!(
                        "{}={}",
                        form_encode(p["name"].as_str().unwrap_or("")),
                        form_encode(p["value"].as_str().unwrap_or(""))
                    )
                })
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes();
        }
        if req.header("content-type").is_none() {
            if let Some(m) = post["mimeType"].as_str().filter(|m| !m.is_empty()) {
                req.headers.push(("Content-Type".into(), m.to_string()));
            }
        }
        out.push(req);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_handle_quotes_and_continuations() {
        let w = shell_words("curl -X POST \\\n  -H 'A: b c' -d \"x=\\\"1\\\"\" $'a\\nb'").unwrap();
        assert_eq!(
            w,
            ["curl", "-X", "POST", "-H", "A: b c", "-d", "x=\"1\"", "a\nb"]
        );
    }

    #[test]
    fn wrapped_request_line_is_joined() {
        let r = read_raw("POST /oauth/token?a=1\n&b=2 HTTP/1.1\nHost: h\n\nx=1").unwrap();
        assert_eq!(r.target, "/oauth/token?a=1&b=2");
        assert_eq!(r.quirks, vec![Quirk::RequestLineBroken(2)]);
        assert_eq!(r.body, b"x=1");
    }

    #[test]
    fn body_without_blank_line() {
        let r =
            read_raw("POST /t HTTP/1.1\nHost: h\nAuthorization: Basic\n{\n\"a\": 1\n}").unwrap();
        assert_eq!(r.header("authorization"), Some("Basic"));
        assert!(r.body.starts_with(b"{"));
    }

    #[test]
    fn curl_defaults() {
        let r = read_curl(
            "curl https://h/oauth/token -u id:s -d grant_type=x --data-urlencode 'scope=a b'",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.body, b"grant_type=x&scope=a+b");
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(r.origin().as_deref(), Some("https://h"));
        assert_eq!(r.path(), "/oauth/token");
    }
}
