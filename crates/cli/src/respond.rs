//! Containment from the command line: decisions, bouncers, playbooks (checked offline, or
//! applied to an incident) and the approvals playbooks wait for.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use firebreak_core::{Decision, DecisionKind, Term};
use serde_json::json;

use crate::client::Client;
use crate::commands::print_json;
use crate::{ClientArgs, Format};

#[derive(Debug, Subcommand)]
pub enum DecisionCommand {
    /// Decisions in force (or all, with --all), newest first.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        incident: Option<i64>,
    },
    /// Take a decision: ban an address or range, lock an account, revoke sessions, isolate a
    /// host.
    Add {
        #[command(flatten)]
        client: ClientArgs,
        /// ban, lock_account, revoke_sessions or isolate_host.
        #[arg(value_parser = ["ban", "lock_account", "revoke_sessions", "isolate_host"])]
        kind: String,
        target: String,
        /// How long, e.g. 4h or 7d (default: the policy's, longer for repeat offenders).
        #[arg(long)]
        duration: Option<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        incident: Option<i64>,
        /// Long-term containment (default short-term).
        #[arg(long)]
        long_term: bool,
    },
    /// Extend a decision in force by a duration (e.g. 12h).
    Extend {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long = "by")]
        by: String,
        #[arg(long)]
        reason: String,
    },
    /// Roll a decision back: it stops now.
    Rollback {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BouncerCommand {
    /// Register a bouncer; prints its key once (for its `api_key`).
    Add {
        #[command(flatten)]
        client: ClientArgs,
        name: String,
    },
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlaybookCommand {
    /// Check playbook files offline: every mistake with its file, step and reason. Exit 0 when
    /// all check, 1 when one does not.
    Check {
        /// Directories (or files) of playbooks.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Rule directories whose rule names the playbooks may use (the built-in pack always).
        #[arg(long)]
        rules: Vec<PathBuf>,
    },
    /// The playbooks the server runs.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Apply a playbook to an incident (mid-way, or again).
    Apply {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        playbook: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalCommand {
    /// Approvals playbooks are waiting for.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        incident: Option<i64>,
    },
    /// Approve: the playbook goes on.
    Approve {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Reject: the playbook stops there.
    Reject {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

pub async fn decision(command: DecisionCommand) -> anyhow::Result<ExitCode> {
    let (client, decisions) = match command {
        DecisionCommand::List { client, all, incident } => {
            let mut path = format!("/api/v1/decisions?active={}", !all);
            if let Some(incident) = incident {
                path.push_str(&format!("&incident={incident}"));
            }
            let list: Vec<Decision> = Client::new(&client)?.get(&path).await?;
            (client, list)
        }
        DecisionCommand::Add { client, kind, target, duration, reason, incident, long_term } => {
            let duration_secs = match duration {
                Some(text) => Some(
                    firebreak_respond::parse_duration(&text)
                        .map_err(anyhow::Error::msg)
                        .context("--duration")?
                        .as_secs(),
                ),
                None => None,
            };
            let kind = DecisionKind::parse(&kind).context("unknown decision kind")?;
            let term = if long_term { Term::Long } else { Term::Short };
            let body = json!({ "kind": kind, "target": target, "duration_secs": duration_secs, "reason": reason, "incident_id": incident, "term": term });
            let decision: Decision = Client::new(&client)?.post("/api/v1/decisions", body).await?;
            (client, vec![decision])
        }
        DecisionCommand::Extend { client, id, by, reason } => {
            let by = firebreak_respond::parse_duration(&by)
                .map_err(anyhow::Error::msg)
                .context("--by")?;
            let api = Client::new(&client)?;
            let current: Decision = api.get(&format!("/api/v1/decisions/{id}")).await?;
            let until = current.expires_at + by;
            let body = json!({ "until": until, "reason": reason });
            let decision: Decision =
                api.post(&format!("/api/v1/decisions/{id}/extend"), body).await?;
            (client, vec![decision])
        }
        DecisionCommand::Rollback { client, id, reason } => {
            let path = format!("/api/v1/decisions/{id}/roll-back");
            let decision: Decision =
                Client::new(&client)?.post(&path, json!({ "reason": reason })).await?;
            (client, vec![decision])
        }
    };
    match client.format {
        Format::Json => print_json(&decisions)?,
        Format::Table => show_decisions(&decisions),
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn show_decisions(decisions: &[Decision]) {
    println!(
        "{:>6}  {:<15}  {:<5}  {:<39}  {:<25}  {:<8}  REASON",
        "ID", "KIND", "TERM", "TARGET", "EXPIRES (UTC)", "INCIDENT"
    );
    for d in decisions {
        let state = match d.rolled_back_at {
            Some(_) => " (rolled back)",
            None => "",
        };
        println!(
            "{:>6}  {:<15}  {:<5}  {:<39}  {:<25}  {:<8}  {}{state}",
            d.id,
            d.kind.as_str(),
            d.term.as_str(),
            d.target,
            d.expires_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            d.incident_id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
            d.reason
        );
    }
}

#[allow(clippy::print_stdout)]
pub async fn bouncer(command: BouncerCommand) -> anyhow::Result<ExitCode> {
    match command {
        BouncerCommand::Add { client, name } => {
            let created: serde_json::Value =
                Client::new(&client)?.post("/api/v1/bouncers", json!({ "name": name })).await?;
            if client.format == Format::Json {
                print_json(&created)?;
            } else {
                println!(
                    "Bouncer `{name}` registered. Its key (shown only now; put it in the bouncer's `api_key`):\n{}",
                    created["key"].as_str().unwrap_or_default()
                );
            }
        }
        BouncerCommand::List { client } => {
            let list: serde_json::Value = Client::new(&client)?.get("/api/v1/bouncers").await?;
            if client.format == Format::Json {
                print_json(&list)?;
            } else {
                println!("{:>4}  {:<24}  {:<32}  REVOKED", "ID", "NAME", "LAST PULL");
                for b in list.as_array().into_iter().flatten() {
                    println!(
                        "{:>4}  {:<24}  {:<32}  {}",
                        b["id"],
                        b["name"].as_str().unwrap_or_default(),
                        b["last_pull"].as_str().unwrap_or("never"),
                        b["revoked_at"].as_str().unwrap_or("")
                    );
                }
            }
        }
        BouncerCommand::Revoke { client, id } => {
            let path = format!("/api/v1/bouncers/{id}/revoke");
            Client::new(&client)?.post_empty(&path, json!({})).await?;
            println!("Bouncer {id} revoked.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
pub async fn playbook(command: PlaybookCommand) -> anyhow::Result<ExitCode> {
    match command {
        PlaybookCommand::Check { paths, rules } => {
            let rule_set = firebreak_server::detection::load_rules(true, &rules, &[])
                .map_err(anyhow::Error::msg)?;
            let known = |id: &str| rule_set.rule(id).is_some();
            let mut failed = 0;
            let mut checked = 0;
            for path in &paths {
                let files: Vec<(String, String)> = if path.is_dir() {
                    firebreak_server::read_yaml_files(path, "playbooks")
                        .map_err(anyhow::Error::msg)?
                } else {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    vec![(path.display().to_string(), text)]
                };
                for (file, text) in files {
                    checked += 1;
                    match firebreak_respond::Playbook::parse(&file, &text, &known) {
                        Ok(playbook) => {
                            println!(
                                "ok    {file}  {} ({} steps)",
                                playbook.id,
                                playbook.steps.len()
                            )
                        }
                        Err(error) => {
                            failed += 1;
                            eprintln!("error {error}");
                        }
                    }
                }
            }
            if checked == 0 {
                anyhow::bail!("no playbook files (*.yml, *.yaml) in {paths:?}");
            }
            println!("{} of {checked} playbooks check.", checked - failed);
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        PlaybookCommand::List { client } => {
            let list: serde_json::Value = Client::new(&client)?.get("/api/v1/playbooks").await?;
            if client.format == Format::Json {
                print_json(&list)?;
            } else {
                for p in list.as_array().into_iter().flatten() {
                    let steps: Vec<String> = p["steps"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
                        .collect();
                    println!(
                        "{:<24}  {}",
                        p["id"].as_str().unwrap_or_default(),
                        p["title"].as_str().unwrap_or_default()
                    );
                    println!("{:<24}  steps: {}", "", steps.join(" → "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PlaybookCommand::Apply { client, incident, playbook } => {
            let path = format!("/api/v1/incidents/{incident}/playbooks");
            Client::new(&client)?.post_empty(&path, json!({ "playbook": playbook })).await?;
            println!("Playbook `{playbook}` applied to incident {incident}.");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[allow(clippy::print_stdout)]
pub async fn approval(command: ApprovalCommand) -> anyhow::Result<ExitCode> {
    let (client, id, approve, reason) = match command {
        ApprovalCommand::List { client, incident } => {
            let path = match incident {
                Some(id) => format!("/api/v1/approvals?incident={id}"),
                None => "/api/v1/approvals".to_owned(),
            };
            let list: serde_json::Value = Client::new(&client)?.get(&path).await?;
            if client.format == Format::Json {
                print_json(&list)?;
            } else {
                println!(
                    "{:>6}  {:>8}  {:<22}  {:<10}  {:<25}  AT TIMEOUT",
                    "ID", "INCIDENT", "PLAYBOOK", "ROLE", "DUE (UTC)"
                );
                for a in list.as_array().into_iter().flatten() {
                    println!(
                        "{:>6}  {:>8}  {:<22}  {:<10}  {:<25}  {}",
                        a["id"],
                        a["incident_id"],
                        a["playbook"].as_str().unwrap_or_default(),
                        a["role"].as_str().unwrap_or_default(),
                        a["due_at"].as_str().unwrap_or_default(),
                        a["on_timeout"].as_str().unwrap_or_default()
                    );
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        ApprovalCommand::Approve { client, id, reason } => (client, id, true, reason),
        ApprovalCommand::Reject { client, id, reason } => (client, id, false, reason),
    };
    let path = format!("/api/v1/approvals/{id}");
    Client::new(&client)?
        .post_empty(&path, json!({ "approve": approve, "reason": reason }))
        .await?;
    println!("Approval {id} {}.", if approve { "approved" } else { "rejected" });
    Ok(ExitCode::SUCCESS)
}
