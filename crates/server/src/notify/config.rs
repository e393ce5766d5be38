//! `[notify]`: the channels notifications go out through, the routes that pick them by severity,
//! event and response role, escalation, and extra communication templates.
//!
//! Secrets (webhook signing keys, SMTP passwords, the URLs of chat webhooks, which are secrets
//! themselves) are `Redacted`: `config check` and logs show `[redacted]`.

use std::fmt;

use firebreak_core::{ResponseRole, Severity};
use serde::{Deserialize, Serialize};

use super::templates;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The address people reach this server at, for the signed acknowledgement links in
    /// messages (default `http://` and the listen address).
    pub public_url: Option<String>,
    pub channels: Vec<ChannelConfig>,
    pub routes: Vec<RouteConfig>,
    /// Communication templates added to (or replacing) the built-in ones.
    pub templates: Vec<TemplateConfig>,
}

/// A value that never shows in `Debug` output (configuration checks, logs).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(pub String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A channel: where notifications go. `type` is `slack`, `webhook` or `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat…): POST
    /// `{"text": …, "blocks": […]}`.
    Slack(SlackChannel),
    /// A generic JSON webhook, signed with HMAC-SHA256.
    Webhook(WebhookChannel),
    /// E-mail over SMTP.
    Email(EmailChannel),
}

impl ChannelConfig {
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Slack(c) => &c.name,
            ChannelConfig::Webhook(c) => &c.name,
            ChannelConfig::Email(c) => &c.name,
        }
    }

    pub fn retry(&self) -> RetryConfig {
        let (timeout_secs, retries, backoff_ms) = match self {
            ChannelConfig::Slack(c) => (c.timeout_secs, c.retries, c.backoff_ms),
            ChannelConfig::Webhook(c) => (c.timeout_secs, c.retries, c.backoff_ms),
            ChannelConfig::Email(c) => (c.timeout_secs, c.retries, c.backoff_ms),
        };
        RetryConfig { timeout_secs, retries, backoff_ms }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Email(_) => "email",
        }
    }
}

/// Timeouts and retries, the same keys on every kind of channel: `timeout_secs` (one
/// attempt, default 10), `retries` (attempts after the first fails, default 3; a refusal such
/// as HTTP 400 is not retried), `backoff_ms` (the wait before the first retry, doubled for each
/// one after it, default 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    pub timeout_secs: u64,
    pub retries: u32,
    pub backoff_ms: u64,
}

fn timeout_secs() -> u64 {
    10
}

fn retries() -> u32 {
    3
}

fn backoff_ms() -> u64 {
    1000
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChannel {
    pub name: String,
    /// The incoming-webhook URL (a secret: whoever has it can post).
    pub url: Redacted,
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "retries")]
    pub retries: u32,
    #[serde(default = "backoff_ms")]
    pub backoff_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    pub name: String,
    pub url: Redacted,
    /// The HMAC-SHA256 key: `X-Firebreak-Signature: sha256=HEX` over
    /// `TIMESTAMP.BODY`, with `X-Firebreak-Timestamp: TIMESTAMP` (Unix seconds).
    pub secret: Redacted,
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "retries")]
    pub retries: u32,
    #[serde(default = "backoff_ms")]
    pub backoff_ms: u64,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host or a test server.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    pub name: String,
    pub host: String,
    /// Default: 587 with `starttls`, 465 with `tls`, 25 with `none`.
    pub port: Option<u16>,
    pub tls: SmtpTls,
    /// The sender, `firebreak@example.com` or `Firebreak <firebreak@example.com>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<Redacted>,
    /// Who gets what is sent to this channel itself (a route's `channels`, a communication);
    /// people reached through a route's `roles` get it at their own address.
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "retries")]
    pub retries: u32,
    #[serde(default = "backoff_ms")]
    pub backoff_ms: u64,
}

impl EmailChannel {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        })
    }
}

/// A route: which events, at which severity, go where, and who is paged in what order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Named in the records and the timeline (default `route-N`, N counting from 1).
    pub name: Option<String>,
    /// Only incidents at least this severe (SEV1 is the most severe; default SEV4: all).
    #[serde(default = "least_severe")]
    pub min_severity: Severity,
    /// Only these events (`incident_opened`, a playbook's event…); empty: every event.
    #[serde(default)]
    pub events: Vec<String>,
    /// Channels that get every message of this route.
    #[serde(default)]
    pub channels: Vec<String>,
    /// The escalation chain: the person holding each role in the incident (or, if nobody
    /// does, the one on call for it) is e-mailed in turn until someone acknowledges.
    #[serde(default)]
    pub roles: Vec<ResponseRole>,
    /// The e-mail channel people in `roles` are reached through (default: the only one).
    pub email_channel: Option<String>,
    /// Go to the next in the chain when nobody has acknowledged within this many minutes;
    /// absent: only the first is notified.
    pub escalate_after_minutes: Option<u32>,
    /// How many times to go through the chain before stopping (default 2). When the last
    /// round ends unacknowledged, the escalation stops and says so on the timeline.
    #[serde(default = "two")]
    pub rounds: u32,
}

fn least_severe() -> Severity {
    Severity::Sev4
}

fn two() -> u32 {
    2
}

/// A communication template: `{{variable}}`s are filled from the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub name: String,
    pub subject: String,
    pub body: String,
}

impl RouteConfig {
    /// The route's name: its own, or `route-N`.
    pub fn label(&self, index: usize) -> String {
        self.name.clone().unwrap_or_else(|| format!("route-{}", index + 1))
    }
}

impl NotifyConfig {
    /// The routes with their names.
    pub fn named_routes(&self) -> impl Iterator<Item = (String, &RouteConfig)> {
        self.routes.iter().enumerate().map(|(index, route)| (route.label(index), route))
    }

    pub fn channel(&self, name: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|channel| channel.name() == name)
    }

    /// The e-mail channel a route reaches people through.
    pub fn email_channel_of(&self, route: &RouteConfig) -> Option<&EmailChannel> {
        let emails = || {
            self.channels.iter().filter_map(|channel| match channel {
                ChannelConfig::Email(email) => Some(email),
                _ => None,
            })
        };
        match &route.email_channel {
            Some(name) => emails().find(|email| &email.name == name),
            None if emails().count() == 1 => emails().next(),
            None => None,
        }
    }

    /// Checks names, references, URLs and templates; the message names the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for (index, channel) in self.channels.iter().enumerate() {
            let key = format!("notify.channels[{index}]");
            let name = channel.name();
            if name.trim().is_empty() {
                return Err(format!("`{key}.name` is empty"));
            }
            if !names.insert(name) {
                return Err(format!("`{key}.name`: two channels are named `{name}`"));
            }
            match channel {
                ChannelConfig::Slack(SlackChannel { url, .. })
                | ChannelConfig::Webhook(WebhookChannel { url, .. }) => {
                    check_url(&format!("{key}.url"), &url.0)?
                }
                ChannelConfig::Email(email) => {
                    if email.host.trim().is_empty() {
                        return Err(format!("`{key}.host` is empty"));
                    }
                    if !email.from.contains('@') {
                        return Err(format!("`{key}.from`: `{}` is no address", email.from));
                    }
                    if email.password.is_some() && email.username.is_none() {
                        return Err(format!("`{key}`: a `password` needs a `username`"));
                    }
                    if email.password.is_some()
                        && email.tls == SmtpTls::None
                        && !is_loopback(&email.host)
                    {
                        return Err(format!(
                            "`{key}`: with `tls = \"none\"` the password would cross the network in clear; use `starttls` or `tls`"
                        ));
                    }
                    if let Some(to) = email.to.iter().find(|to| !to.contains('@')) {
                        return Err(format!("`{key}.to`: `{to}` is no address"));
                    }
                }
            }
            if let ChannelConfig::Webhook(webhook) = channel
                && webhook.secret.0.len() < 16
            {
                return Err(format!("`{key}.secret` must be at least 16 characters long"));
            }
            if channel.retry().timeout_secs == 0 {
                return Err(format!("`{key}.timeout_secs` must be at least 1"));
            }
        }
        let mut route_names = std::collections::HashSet::new();
        for (index, route) in self.routes.iter().enumerate() {
            let key = format!("notify.routes[{index}]");
            if !route_names.insert(route.label(index)) {
                return Err(format!("`{key}.name`: two routes are named `{}`", route.label(index)));
            }
            for name in &route.channels {
                match self.channel(name) {
                    Some(ChannelConfig::Email(email)) if email.to.is_empty() => {
                        return Err(format!(
                            "`{key}.channels`: the e-mail channel `{name}` has no `to` addresses"
                        ));
                    }
                    Some(_) => {}
                    None => return Err(format!("`{key}.channels`: no channel is named `{name}`")),
                }
            }
            if route.channels.is_empty() && route.roles.is_empty() {
                return Err(format!("`{key}` has neither `channels` nor `roles`"));
            }
            if !route.roles.is_empty() && self.email_channel_of(route).is_none() {
                return Err(format!(
                    "`{key}.email_channel`: people in `roles` are reached by e-mail; name an e-mail channel"
                ));
            }
            if route.escalate_after_minutes.is_some() && route.roles.is_empty() {
                return Err(format!(
                    "`{key}.escalate_after_minutes` needs `roles`: the chain to escalate along"
                ));
            }
            if route.escalate_after_minutes == Some(0) || route.rounds == 0 {
                return Err(format!(
                    "`{key}`: `escalate_after_minutes` and `rounds` must be at least 1"
                ));
            }
        }
        for (index, template) in self.templates.iter().enumerate() {
            let key = format!("notify.templates[{index}]");
            if template.name.trim().is_empty() {
                return Err(format!("`{key}.name` is empty"));
            }
            templates::check(&template.subject).map_err(|e| format!("`{key}.subject`: {e}"))?;
            templates::check(&template.body).map_err(|e| format!("`{key}.body`: {e}"))?;
        }
        if let Some(url) = &self.public_url {
            check_url("notify.public_url", url)?;
        }
        Ok(())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_url(key: &str, url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        // The URL may hold a secret: name the key, not the value.
        _ => Err(format!("`{key}` is not an http(s) URL")),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(toml: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firebreak.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(Some(&path), &[]).map_err(|error| error.to_string())
    }

    const CHANNELS: &str = r#"
[[notify.channels]]
name = "chat"
type = "slack"
url = "https://hooks.example.com/services/T000/B000/sl4ck-s3cret"

[[notify.channels]]
name = "siem"
type = "webhook"
url = "https://siem.example.com/hook"
secret = "a-long-webhook-secret"
retries = 1
backoff_ms = 10

[[notify.channels]]
name = "mail"
type = "email"
host = "smtp.example.com"
tls = "starttls"
from = "firebreak@example.com"
username = "firebreak"
password = "sm7p-pa55word"
to = ["secops@example.com"]
"#;

    #[test]
    fn channels_and_routes_read_and_secrets_never_show() {
        let config = load(&format!(
            "{CHANNELS}\n[[notify.routes]]\nmin_severity = \"SEV2\"\nchannels = [\"chat\", \"siem\"]\nroles = [\"incident_commander\", \"technical_lead\"]\nescalate_after_minutes = 15\n"
        ))
        .unwrap();
        assert_eq!(config.notify.channels.len(), 3);
        let route = &config.notify.routes[0];
        assert_eq!(route.rounds, 2);
        assert_eq!(config.notify.email_channel_of(route).unwrap().port(), 587);
        let shown = format!("{config:#?}");
        for secret in ["sl4ck-s3cret", "a-long-webhook-secret", "sm7p-pa55word"] {
            assert!(!shown.contains(secret), "{secret} shows in {shown}");
        }
        assert!(shown.contains("smtp.example.com"));
    }

    #[test]
    fn mistakes_are_named_with_their_key() {
        let error =
            load(&format!("{CHANNELS}\n[[notify.routes]]\nchannels = [\"pager\"]\n")).unwrap_err();
        assert!(error.contains("notify.routes[0].channels") && error.contains("pager"), "{error}");
        let error = load(&format!(
            "{CHANNELS}\n[[notify.routes]]\nchannels = [\"chat\"]\nescalate_after_minutes = 5\n"
        ))
        .unwrap_err();
        assert!(error.contains("needs `roles`"), "{error}");
        let error = load(
            "[[notify.channels]]\nname = \"x\"\ntype = \"slack\"\nurl = \"ftp://nope/secret\"\n",
        )
        .unwrap_err();
        assert!(error.contains("notify.channels[0].url") && !error.contains("secret"), "{error}");
        let error = load(
            "[[notify.channels]]\nname = \"x\"\ntype = \"slack\"\nurl = \"https://a\"\nsecret = \"s\"\n",
        )
        .unwrap_err();
        assert!(error.contains("secret"), "{error}");
        let error = load(
            "[[notify.templates]]\nname = \"t\"\nsubject = \"{{title}}\"\nbody = \"{{titel}}\"\n",
        )
        .unwrap_err();
        assert!(error.contains("notify.templates[0].body") && error.contains("titel"), "{error}");
    }
}
