//! HTTP actions: the app's own admin API told to enforce a decision (lock this account, revoke
//! its sessions, isolate this host) when it is taken, and to undo it when it is lifted.
//!
//! Every target comes from the configuration: the scheme, host and port of the URL are fixed
//! there, and a decision's values go only into the path, the query (percent-encoded) and the
//! body (JSON-escaped), so no decision can send a request anywhere else. Bodies are signed with
//! HMAC-SHA256 over `TIMESTAMP.BODY` (`X-Firebreak-Signature: sha256=…`,
//! `X-Firebreak-Timestamp`), as the notification webhooks are. Retries with a doubling backoff
//! on 5xx answers and network errors, not on 4xx; a timeout per attempt; the answer recorded.

use std::fmt;
use std::time::Duration;

use firebreak_core::{Decision, DecisionKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// When an action runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionEvent {
    /// The decision is taken (or extended).
    Take,
    /// The decision ends: rolled back or expired.
    Lift,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpActionConfig {
    /// Named on the timeline.
    pub name: String,
    /// The decisions it enforces: `ban`, `lock_account`, `revoke_sessions`, `isolate_host`.
    pub kind: DecisionKind,
    #[serde(default = "take")]
    pub on: ActionEvent,
    /// `POST` (default), `PUT`, `PATCH` or `DELETE`.
    #[serde(default = "post")]
    pub method: String,
    /// e.g. `https://app.internal/admin/users/{target}/lock`. Placeholders: `{target}`,
    /// `{kind}`, `{decision_id}`, `{incident_id}`, `{expires_at}`, `{seconds}`, `{reason}`;
    /// not in the scheme, host or port.
    pub url: String,
    /// A JSON body template with the same placeholders (values JSON-escaped); empty: no body.
    #[serde(default)]
    pub body: String,
    /// The HMAC key for `X-Firebreak-Signature`.
    pub secret: Option<String>,
    #[serde(default = "five")]
    pub timeout_secs: u64,
    /// Attempts after the first, on a 5xx answer or a network error.
    #[serde(default = "three")]
    pub retries: u32,
}

fn take() -> ActionEvent {
    ActionEvent::Take
}
fn post() -> String {
    "POST".into()
}
fn five() -> u64 {
    5
}
fn three() -> u32 {
    3
}

impl fmt::Debug for HttpActionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpActionConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("on", &self.on)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

const PLACEHOLDERS: [&str; 7] =
    ["target", "kind", "decision_id", "incident_id", "expires_at", "seconds", "reason"];

/// Checks an action's configuration, naming the action and the problem.
pub fn check(action: &HttpActionConfig) -> Result<reqwest::Method, String> {
    let name = &action.name;
    let method: reqwest::Method = match action.method.to_ascii_uppercase().as_str() {
        "POST" => reqwest::Method::POST,
        "PUT" => reqwest::Method::PUT,
        "PATCH" => reqwest::Method::PATCH,
        "DELETE" => reqwest::Method::DELETE,
        other => {
            return Err(format!(
                "[[response.actions]] `{name}`: method `{other}` is not POST, PUT, PATCH or DELETE"
            ));
        }
    };
    let (scheme, rest) = action.url.split_once("://").ok_or_else(|| {
        format!("[[response.actions]] `{name}`: `{}` is not an http(s) URL", action.url)
    })?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("[[response.actions]] `{name}`: only http and https URLs"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains(['{', '}', '@']) {
        return Err(format!(
            "[[response.actions]] `{name}`: the host of `{}` must be written out (no placeholder, no user)",
            action.url
        ));
    }
    for template in [&action.url, &action.body] {
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let word = &after[..close];
            if !word.is_empty()
                && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && !PLACEHOLDERS.contains(&word)
            {
                return Err(format!(
                    "[[response.actions]] `{name}`: unknown placeholder `{{{word}}}`"
                ));
            }
            rest = &after[close + 1..];
        }
    }
    reqwest::Url::parse(&fill(&action.url, &values_for_check(), Encoding::Url)).map_err(
        |error| format!("[[response.actions]] `{name}`: the URL does not read: {error}"),
    )?;
    if !action.body.is_empty() {
        serde_json::from_str::<serde_json::Value>(&fill(
            &action.body,
            &values_for_check(),
            Encoding::Json,
        ))
        .map_err(|error| format!("[[response.actions]] `{name}`: the body is not JSON: {error}"))?;
    }
    Ok(method)
}

fn values_for_check() -> Vec<(&'static str, String)> {
    PLACEHOLDERS.iter().map(|p| (*p, "x".to_owned())).collect()
}

#[derive(Debug, Clone, Copy)]
enum Encoding {
    Url,
    Json,
}

fn fill(template: &str, values: &[(&str, String)], encoding: Encoding) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        let encoded = match encoding {
            Encoding::Url => percent(value),
            // The JSON string's content, without its quotes: the template supplies them.
            Encoding::Json => {
                let quoted = serde_json::Value::String(value.clone()).to_string();
                quoted[1..quoted.len() - 1].to_owned()
            }
        };
        out = out.replace(&format!("{{{name}}}"), &encoded);
    }
    out
}

fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What one action did, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub attempts: u32,
    /// The last answer's status, or the error.
    pub answer: String,
}

/// Runs one action for a decision: filled in, signed, sent with retries.
pub async fn run(
    http: &reqwest::Client,
    action: &HttpActionConfig,
    method: &reqwest::Method,
    decision: &Decision,
    now: Timestamp,
) -> Outcome {
    let values = vec![
        ("target", decision.target.clone()),
        ("kind", decision.kind.as_str().to_owned()),
        ("decision_id", decision.id.to_string()),
        ("incident_id", decision.incident_id.map(|id| id.to_string()).unwrap_or_default()),
        ("expires_at", decision.expires_at.to_string()),
        ("seconds", (decision.expires_at.as_second() - now.as_second()).max(0).to_string()),
        ("reason", decision.reason.clone()),
    ];
    let url = fill(&action.url, &values, Encoding::Url);
    let body = fill(&action.body, &values, Encoding::Json).into_bytes();
    let timeout = Duration::from_secs(action.timeout_secs.clamp(1, 120));
    let mut attempts = 0;
    let mut backoff = Duration::from_millis(200);
    loop {
        attempts += 1;
        let timestamp = now.as_second();
        let mut request = http
            .request(method.clone(), &url)
            .timeout(timeout)
            .header("X-Firebreak-Timestamp", timestamp.to_string());
        if !body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(secret) = &action.secret {
            request = request.header(
                "X-Firebreak-Signature",
                crate::notify::webhook::signature(secret, timestamp, &body),
            );
        }
        let (retry, outcome) = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let answer = format!("{status} {}", text.chars().take(300).collect::<String>())
                    .trim()
                    .to_owned();
                (status.is_server_error(), Outcome { ok: status.is_success(), attempts, answer })
            }
            // The error without the URL: it may carry a path with the target in it.
            Err(error) => (true, Outcome { ok: false, attempts, answer: describe(&error) }),
        };
        if outcome.ok || !retry || attempts > action.retries {
            return outcome;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

/// The actions configured for a kind of decision and an event.
pub fn matching(
    actions: &[(HttpActionConfig, reqwest::Method)],
    kind: DecisionKind,
    on: ActionEvent,
) -> impl Iterator<Item = &(HttpActionConfig, reqwest::Method)> {
    actions.iter().filter(move |(action, _)| action.kind == kind && action.on == on)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(url: &str, body: &str) -> HttpActionConfig {
        HttpActionConfig {
            name: "lock".into(),
            kind: DecisionKind::LockAccount,
            on: ActionEvent::Take,
            method: "POST".into(),
            url: url.into(),
            body: body.into(),
            secret: Some("s".into()),
            timeout_secs: 5,
            retries: 3,
        }
    }

    #[test]
    fn the_host_is_fixed_and_placeholders_are_known() {
        assert!(
            check(&action(
                "https://app.internal/admin/users/{target}/lock",
                r#"{"user":"{target}"}"#
            ))
            .is_ok()
        );
        for (url, body, expected) in [
            ("https://{target}/lock", "", "must be written out"),
            ("https://user@app/lock", "", "must be written out"),
            ("ftp://app/lock", "", "only http and https"),
            ("https://app/{tagret}", "", "unknown placeholder `{tagret}`"),
            ("https://app/x", "{not json", "not JSON"),
        ] {
            let error = check(&action(url, body)).unwrap_err();
            assert!(error.contains(expected), "{url}: {error}");
        }
    }

    #[test]
    fn values_are_escaped_for_where_they_go() {
        let values = vec![("target", "a/b?c=\"d\"".to_owned())];
        assert_eq!(
            fill("https://h/u/{target}", &values, Encoding::Url),
            "https://h/u/a%2Fb%3Fc%3D%22d%22"
        );
        let body = fill(r#"{"user":"{target}"}"#, &values, Encoding::Json);
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["user"], "a/b?c=\"d\"");
    }
}
