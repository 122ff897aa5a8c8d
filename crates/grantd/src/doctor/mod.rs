//! `grantd doctor`: reads a failing OAuth request (raw HTTP, a curl command
//! line or a HAR file), names every problem with its catalog code, cause and
//! fix, and prints the corrected request; `--server` also checks the app on a
//! live grantd. Exit 0: no problem; 1: problems; 2: the input was unreadable.

mod check;
mod input;
mod server;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use check::{CorrectedClient, Diagnosis, Kind, SECRET_PARAMS};
use serde_json::{json, Value};
use std::io::Read;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// The request: a file with raw HTTP, a curl command line or a HAR file; - for standard input.
    input: String,
    /// Also check the app on this live grantd (e.g. http://127.0.0.1:8080), with the admin token.
    #[arg(long)]
    server: Option<String>,
    /// The admin token for --server (default: GRANTD_ADMIN_TOKEN).
    #[arg(long, env = "GRANTD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: DoctorArgs) -> ExitCode {
    let text = match read_input(&args.input) {
        Ok(t) => t,
        Err(why) => return unreadable(&args.input, &why),
    };
    let requests = match input::read(&text) {
        Ok(r) => r,
        Err(input::Unreadable(why)) => return unreadable(&args.input, &why),
    };
    let total = requests.len();
    let from_har = requests
        .first()
        .is_some_and(|r| r.source.starts_with("HAR"));
    let oauth: Vec<_> = requests
        .iter()
        .filter(|r| !from_har || check::is_oauth(r))
        .collect();
    let mut diagnoses: Vec<Diagnosis> = oauth.iter().map(|r| check::diagnose(r)).collect();
    let mut general = Vec::new();
    if oauth.is_empty() {
        general.push(check::Finding::from(
            grantd_protocol::OAuthError::no_oauth_request(total, "HAR file"),
        ));
    }
    if let Some(url) = &args.server {
        let Some(token) = args.admin_token.as_deref() else {
            return unreadable(
                url,
                "--server needs the admin token (--admin-token or GRANTD_ADMIN_TOKEN)",
            );
        };
        let live = match server::Live::connect(url, token).await {
            Ok(l) => l,
            Err(why) => return cannot_check(url, &why),
        };
        for d in &mut diagnoses {
            if let Err(why) = live.check(d).await {
                return cannot_check(url, &why);
            }
        }
    }
    let problems = general.len() + diagnoses.iter().map(|d| d.findings.len()).sum::<usize>();
    if args.json {
        let out = json!({
            "problems": problems,
            "findings": general.iter().map(finding_json).collect::<Vec<_>>(),
            "requests": diagnoses.iter().map(|d| diagnosis_json(d, args.server.as_deref())).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        for f in &general {
            print_finding(0, f);
        }
        for (i, d) in diagnoses.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_diagnosis(d, args.server.as_deref());
        }
        println!();
        match problems {
            0 => println!("No problems found."),
            1 => println!("1 problem found."),
            n => println!("{n} problems found."),
        }
    }
    if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn read_input(name: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    if name == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("standard input could not be read: {e}"))?;
    } else {
        bytes = std::fs::read(name).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        })?;
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}

fn unreadable(name: &str, why: &str) -> ExitCode {
    let name = if name == "-" { "standard input" } else { name };
    eprintln!("grantd doctor: cannot read {name}: {why}");
    ExitCode::from(2)
}

fn cannot_check(url: &str, why: &str) -> ExitCode {
    eprintln!("grantd doctor: cannot check against {url}: {why}");
    ExitCode::from(2)
}

fn print_finding(n: usize, f: &check::Finding) {
    let e = f.error.entry();
    let lead = if n == 0 {
        "-".to_string()
    } else {
        format!("{n}.")
    };
    println!(
        "  {lead} {} {} ({}, HTTP {})",
        e.code, e.message, e.error, e.status
    );
    println!("     Cause: {}", f.error.description);
    match &f.hint {
        Some(h) => println!("     Fix:   {h} {}", e.fix),
        None => println!("     Fix:   {}", e.fix),
    }
}

fn print_diagnosis(d: &Diagnosis, server: Option<&str>) {
    println!(
        "{}: {} {} ({})",
        d.source,
        d.method,
        d.path,
        d.kind.request()
    );
    if d.findings.is_empty() {
        println!("  No problems found in this request.");
        return;
    }
    for (i, f) in d.findings.iter().enumerate() {
        print_finding(i + 1, f);
    }
    let (http, curl) = corrected(d, server);
    println!();
    println!("  Corrected request (raw HTTP; replace each <…> with your value):");
    for l in http.lines() {
        println!("    {l}");
    }
    println!();
    println!("  Corrected request (curl):");
    for l in curl.lines() {
        println!("    {l}");
    }
}

fn finding_json(f: &check::Finding) -> Value {
    let e = f.error.entry();
    json!({
        "code": e.code,
        "error": e.error.as_str(),
        "status": e.status,
        "message": e.message,
        "cause": f.error.description,
        "fix": match &f.hint { Some(h) => format!("{h} {}", e.fix), None => e.fix.to_string() },
        "parameter": f.error.parameter,
    })
}

fn diagnosis_json(d: &Diagnosis, server: Option<&str>) -> Value {
    let (http, curl) = corrected(d, server);
    json!({
        "source": d.source,
        "method": d.method,
        "path": d.path,
        "endpoint": d.kind.name(),
        "request": d.label,
        "findings": d.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "corrected": if d.findings.is_empty() { Value::Null } else { json!({"http": http, "curl": curl}) },
    })
}

/// A value as the corrected request shows it: secrets and unknowns become `<NAME>`.
fn shown(name: &str, value: &str) -> Option<String> {
    if value.is_empty() || SECRET_PARAMS.contains(&name) {
        return None;
    }
    if value.starts_with('<') && value.ends_with('>') {
        return None;
    }
    Some(value.to_string())
}

fn placeholder(name: &str) -> String {
    match name {
        "assertion" => "<JWT_CREDENTIAL>".into(),
        "code" => "<AUTHORIZATION_CODE>".into(),
        _ => format!("<{}>", name.to_ascii_uppercase()),
    }
}

fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The corrected request, as raw HTTP and as a curl command line.
fn corrected(d: &Diagnosis, server: Option<&str>) -> (String, String) {
    let origin = server
        .map(|s| s.trim_end_matches('/').to_string())
        .or_else(|| d.origin.clone())
        .unwrap_or_else(|| "https://<SERVER>".into());
    let host = origin.split("://").nth(1).unwrap_or(&origin).to_string();
    let path = d.kind.path(d.ringcentral_paths);
    let encoded: Vec<String> = d
        .params
        .iter()
        .map(|(n, v)| match shown(n, v) {
            Some(v) => format!("{n}={}", input::form_encode(&v)),
            None => format!("{n}={}", placeholder(n)),
        })
        .collect();
    if matches!(d.kind, Kind::Authorize) {
        let url = format!("{origin}{path}?{}", encoded.join("&"));
        let http = format!("GET {path}?{} HTTP/1.1\nHost: {host}\n", encoded.join("&"));
        let curl = format!("curl -i {}", sh(&url));
        return (http, curl);
    }
    let mut http = format!(
        "POST {path} HTTP/1.1\nHost: {host}\nAccept: application/json\nContent-Type: application/x-www-form-urlencoded\n"
    );
    let mut curl = format!(
        "curl {} \\\n  -H 'Accept: application/json'",
        sh(&format!("{origin}{path}"))
    );
    match &d.client {
        CorrectedClient::Basic(id) => {
            let id = id.clone().unwrap_or_else(|| "<CLIENT_ID>".into());
            http.push_str(&format!(
                "Authorization: Basic <base64 of {}:CLIENT_SECRET>\n",
                id.trim_matches(['<', '>'])
            ));
            curl.push_str(&format!(
                " \\\n  -u {}",
                sh(&format!("{id}:<CLIENT_SECRET>"))
            ));
        }
        CorrectedClient::BasicPublic(id) => {
            http.push_str(&format!(
                "Authorization: Basic {}\n",
                STANDARD.encode(format!("{id}:"))
            ));
            curl.push_str(&format!(" \\\n  -u {}", sh(&format!("{id}:"))));
        }
        CorrectedClient::BodyId | CorrectedClient::None => {}
    }
    http.push('\n');
    http.push_str(&encoded.join("&"));
    http.push('\n');
    for (n, v) in &d.params {
        let v = shown(n, v).unwrap_or_else(|| placeholder(n));
        curl.push_str(&format!(
            " \\\n  --data-urlencode {}",
            sh(&format!("{n}={v}"))
        ));
    }
    (http, curl)
}
