//! The decision trace of one request: each check the pipeline ran, in order,
//! whether it passed, and the values it compared (never a secret).
//!
//! The HTTP edge runs each request inside [`traced`]; the checks call
//! [`step`] (or [`check`]) wherever they decide. Outside a traced request
//! these calls do nothing, so the CLI and unit tests need no trace.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::future::Future;

/// Most steps kept per request (a pipeline runs about ten).
const MAX_STEPS: usize = 40;
/// Most characters kept of one compared value.
const MAX_VALUE: usize = 300;

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The check's name as the code calls it (`authenticate_client`).
    pub check: String,
    pub passed: bool,
    /// The catalog code it refused with, when it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
    /// What was compared: (what, value), e.g. ("registered redirect URIs", "…").
    #[serde(default)]
    pub values: Vec<(String, String)>,
}

/// Everything one request's checks recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// The app the request named, once a check read it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    /// The grant the request asked for (`grant_type`, or `response_type`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grant: Option<String>,
    pub steps: Vec<Step>,
    /// The refusal, when it did not travel as the response's error body (an
    /// authorization error redirected to the app): (code, description).
    #[serde(skip)]
    pub rejected: Option<(String, String)>,
}

impl Trace {
    /// The step that refused, if one did.
    pub fn failed(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.passed)
    }
}

tokio::task_local! {
    static TRACE: RefCell<Trace>;
}

/// Runs `f` with a trace, and answers its output and the trace.
pub async fn traced<F: Future>(f: F) -> (F::Output, Trace) {
    TRACE
        .scope(RefCell::new(Trace::default()), async move {
            let out = f.await;
            let trace = TRACE.with(|t| std::mem::take(&mut *t.borrow_mut()));
            (out, trace)
        })
        .await
}

fn with(f: impl FnOnce(&mut Trace)) {
    let _ = TRACE.try_with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            f(&mut t)
        }
    });
}

fn clip(v: &str) -> String {
    if v.chars().count() <= MAX_VALUE {
        v.to_string()
    } else {
        let mut s: String = v.chars().take(MAX_VALUE).collect();
        s.push('…');
        s
    }
}

/// Names the app the request is for (the first name wins).
pub fn client(client_id: &str) {
    with(|t| {
        if t.client_id.is_none() {
            t.client_id = Some(clip(client_id));
        }
    });
}

/// Names the grant the request asked for.
pub fn grant(grant: &str) {
    with(|t| t.grant = Some(clip(grant)));
}

/// Records one check. `values` must never hold a secret, password, code,
/// token or assertion: name such a value as `[redacted]`.
pub fn step(check: &str, passed: bool, code: Option<&str>, values: &[(&str, &str)]) {
    with(|t| {
        if t.steps.len() >= MAX_STEPS {
            return;
        }
        emit(check, passed, code, values);
        t.steps.push(Step {
            check: check.to_string(),
            passed,
            code: code.map(str::to_string),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), clip(v)))
                .collect(),
        });
    });
}

/// Records a refusal that travels other than as a JSON error (a redirect
/// or a page); if no check failed yet, it is the failed step.
pub fn rejected(check: &str, e: &grantd_protocol::OAuthError) {
    with(|t| {
        t.rejected = Some((e.entry().code.to_string(), e.description.clone()));
        if t.failed().is_none() && t.steps.len() < MAX_STEPS {
            emit(check, false, Some(e.entry().code), &[]);
            t.steps.push(Step {
                check: check.to_string(),
                passed: false,
                code: Some(e.entry().code.to_string()),
                values: Vec::new(),
            });
        }
    });
}

/// The check as a tracing event (target `grantd::check`, DEBUG) in the
/// request's span: exported with it as a span event when OpenTelemetry is
/// on, and in the logs with `GRANTD_LOG=grantd::check=debug`.
fn emit(check: &str, passed: bool, code: Option<&str>, values: &[(&str, &str)]) {
    if !tracing::enabled!(target: "grantd::check", tracing::Level::DEBUG) {
        return;
    }
    let values = values
        .iter()
        .map(|(k, v)| format!("{k}: {}", clip(v)))
        .collect::<Vec<_>>()
        .join("; ");
    tracing::debug!(
        target: "grantd::check",
        check,
        passed,
        code = code.unwrap_or(""),
        values = values.as_str(),
        "check {check}"
    );
}

/// Records a check from its result and passes the result on.
pub fn check<T>(
    name: &str,
    values: &[(&str, &str)],
    r: Result<T, grantd_protocol::OAuthError>,
) -> Result<T, grantd_protocol::OAuthError> {
    match &r {
        Ok(_) => step(name, true, None, values),
        Err(e) => step(name, false, Some(e.entry().code), values),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_inside_and_ignores_outside() {
        step("outside", true, None, &[]);
        let ((), t) = traced(async {
            client("app-1");
            client("app-2");
            grant("password");
            step("a", true, None, &[("sent", "x")]);
            step("b", false, Some("OAU-251"), &[]);
        })
        .await;
        assert_eq!(t.client_id.as_deref(), Some("app-1"));
        assert_eq!(t.steps.len(), 2);
        assert_eq!(t.failed().map(|s| s.check.as_str()), Some("b"));
    }
}
