//! The REST client behind the client commands: where the server is, which token to send, and
//! turning the server's error bodies into messages that say what went wrong and where.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::ClientArgs;

const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    server: Option<String>,
    token: Option<String>,
}

#[derive(Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(args: &ClientArgs) -> anyhow::Result<Client> {
        let path = args.client_config.clone().or_else(default_client_file);
        let file = match &path {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the client configuration {}", path.display())
                })?;
                toml::from_str::<ClientFile>(&text).with_context(|| {
                    format!("the client configuration {} is not valid", path.display())
                })?
            }
            Some(path) if args.client_config.is_some() => {
                bail!("the client configuration {} does not exist", path.display())
            }
            _ => ClientFile::default(),
        };
        let base = args.server.clone().or(file.server).unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let token = std::env::var("FIREBREAK_TOKEN").ok().filter(|t| !t.is_empty()).or(file.token);
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .read_timeout(std::time::Duration::from_secs(120))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Client { base: base.trim_end_matches('/').to_owned(), token, http })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<T> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<T> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// A POST of raw bytes (a file, streamed).
    pub async fn post_stream<T: DeserializeOwned>(
        &self,
        path: &str,
        body: reqwest::Body,
        content_type: &str,
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let mut request =
            self.http.post(&url).header(reqwest::header::CONTENT_TYPE, content_type).body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|error| {
            anyhow!("cannot reach the server at {}: {}", self.base, root_cause(&error))
        })?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            let detail = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_owned)
                })
                .unwrap_or(text);
            bail!("POST {url} failed with {status}: {detail}");
        }
        serde_json::from_str(&text)
            .with_context(|| format!("the answer to POST {url} is not what this client expects"))
    }

    /// A GET whose body is read by the caller, chunk by chunk.
    pub async fn stream(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.get(&url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|error| {
            anyhow!("cannot reach the server at {}: {}", self.base, root_cause(&error))
        })?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            bail!("GET {url} failed with {status}: {text}");
        }
        Ok(response)
    }

    /// A POST whose answer carries nothing the caller needs.
    pub async fn post_empty(&self, path: &str, body: serde_json::Value) -> anyhow::Result<()> {
        self.send::<serde_json::Value>(reqwest::Method::POST, path, Some(body)).await.map(|_| ())
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send::<serde_json::Value>(reqwest::Method::DELETE, path, None).await.map(|_| ())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|error| {
            anyhow!("cannot reach the server at {}: {}", self.base, root_cause(&error))
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("reading the answer to {method} {url}"))?;
        if !status.is_success() {
            let detail = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_owned)
                })
                .unwrap_or(text);
            let hint = if status == reqwest::StatusCode::UNAUTHORIZED && self.token.is_none() {
                " (set FIREBREAK_TOKEN or `token` in the client configuration)"
            } else {
                ""
            };
            bail!("{method} {url} failed with {status}: {detail}{hint}");
        }
        let text = if text.is_empty() { "null".to_owned() } else { text };
        serde_json::from_str(&text).with_context(|| {
            format!("the answer to {method} {url} is not what this client expects")
        })
    }
}

fn default_client_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("firebreak").join("client.toml"))
}

fn root_cause(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
