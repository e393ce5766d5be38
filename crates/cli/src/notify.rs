//! Notifications from the command line: list what was sent, show one with its attempts,
//! acknowledge it (which stops its escalation); draft a communication from a template and send
//! the reviewed text.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::client::Client;
use crate::commands::{percent_encode, print_json};
use crate::{ClientArgs, Format};

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Notifications, newest first.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        incident: Option<i64>,
        /// pending, sent, failed or acknowledged.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One notification, with every delivery attempt.
    Show {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Acknowledge a notification: you are on it, and its escalation stops.
    Ack {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// The communication templates and the variables they may use.
    Templates {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Draft a communication from a template, filled from the incident (nothing is sent).
    Draft {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        /// internal_update, status_update, executive_summary, or one from the configuration.
        #[arg(long)]
        template: String,
        /// Write the body to this file, to edit before `notify send --body-file`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Send a reviewed communication to channels; the sent copy goes on the timeline.
    Send {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        #[arg(long)]
        subject: String,
        /// The text (or use --body-file).
        #[arg(long, conflicts_with = "body_file", required_unless_present = "body_file")]
        body: Option<String>,
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// A configured channel (repeat for several).
        #[arg(long = "channel", required = true)]
        channels: Vec<String>,
        /// The template it was drafted from, for the record.
        #[arg(long)]
        template: Option<String>,
    },
}

pub async fn notify(command: NotifyCommand) -> anyhow::Result<ExitCode> {
    match command {
        NotifyCommand::List { client, incident, status, limit } => {
            let mut query = Vec::new();
            let filters = [
                ("incident", incident.map(|v| v.to_string())),
                ("status", status),
                ("limit", limit.map(|v| v.to_string())),
            ];
            for (key, value) in filters {
                if let Some(value) = value {
                    query.push(format!("{key}={}", percent_encode(&value)));
                }
            }
            let path = format!("/api/v1/notifications?{}", query.join("&"));
            let list: Vec<Value> = Client::new(&client)?.get(&path).await?;
            show(client.format, &list)
        }
        NotifyCommand::Show { client, id } => {
            let one: Value =
                Client::new(&client)?.get(&format!("/api/v1/notifications/{id}")).await?;
            if client.format == Format::Json {
                print_json(&one)?;
                return Ok(ExitCode::SUCCESS);
            }
            show(Format::Table, std::slice::from_ref(&one))?;
            print_attempts(&one);
            Ok(ExitCode::SUCCESS)
        }
        NotifyCommand::Ack { client, id } => {
            let path = format!("/api/v1/notifications/{id}/acknowledge");
            let one: Value = Client::new(&client)?.post(&path, json!({})).await?;
            show(client.format, &[one])
        }
        NotifyCommand::Templates { client } => {
            let list: Value = Client::new(&client)?.get("/api/v1/communications/templates").await?;
            print_templates(client.format, &list)
        }
        NotifyCommand::Draft { client, incident, template, out } => {
            let path = format!("/api/v1/incidents/{incident}/communications/draft");
            let draft: Value =
                Client::new(&client)?.post(&path, json!({ "template": template })).await?;
            if let Some(out) = &out {
                let body = draft["body"].as_str().unwrap_or_default();
                std::fs::write(out, body)
                    .with_context(|| format!("cannot write the draft to {}", out.display()))?;
            }
            print_draft(client.format, &draft)
        }
        NotifyCommand::Send { client, incident, subject, body, body_file, channels, template } => {
            let body = match (body, body_file) {
                (Some(body), _) => body,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                (None, None) => anyhow::bail!("give the text with --body or --body-file"),
            };
            let path = format!("/api/v1/incidents/{incident}/communications/send");
            let request = json!({
                "template": template,
                "subject": subject,
                "body": body,
                "channels": channels,
            });
            let sent: Vec<Value> = Client::new(&client)?.post(&path, request).await?;
            show(client.format, &sent)?;
            let failed = sent.iter().filter(|n| n["status"] == "failed").count();
            Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}

#[allow(clippy::print_stdout)]
fn show(format: Format, list: &[Value]) -> anyhow::Result<ExitCode> {
    if format == Format::Json {
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:>8}  {:<12}  {:<16}  {:<14}  {:<32}  SUBJECT",
        "ID", "INCIDENT", "STATUS", "EVENT", "CHANNEL", "TO"
    );
    for n in list {
        let text = |key: &str| n[key].as_str().unwrap_or("-").to_owned();
        let mut to = text("recipient");
        if let Some(role) = n["role"].as_str() {
            to.push_str(&format!(" ({})", role.replace('_', " ")));
        }
        let mut status = text("status");
        if let Some(by) = n["acknowledged_by"].as_str() {
            status.push_str(&format!(" by {by}"));
        }
        println!(
            "{:>6}  {:>8}  {:<12}  {:<16}  {:<14}  {:<32}  {}",
            n["id"],
            n["incident_id"],
            status,
            text("event"),
            text("channel"),
            to,
            text("subject")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn print_attempts(notification: &Value) {
    for attempt in notification["attempt_log"].as_array().into_iter().flatten() {
        println!(
            "  attempt {} at {}: {} — {}",
            attempt["attempt"],
            attempt["at"].as_str().unwrap_or("-"),
            if attempt["ok"] == true { "ok" } else { "failed" },
            attempt["detail"].as_str().unwrap_or("")
        );
    }
}

#[allow(clippy::print_stdout)]
fn print_templates(format: Format, list: &Value) -> anyhow::Result<ExitCode> {
    if format == Format::Json {
        print_json(list)?;
        return Ok(ExitCode::SUCCESS);
    }
    for template in list["templates"].as_array().into_iter().flatten() {
        println!(
            "{}: {}",
            template["name"].as_str().unwrap_or("-"),
            template["subject"].as_str().unwrap_or("")
        );
    }
    println!("\nVariables:");
    for (name, what) in list["variables"].as_object().into_iter().flatten() {
        println!("  {{{{{name}}}}}  {}", what.as_str().unwrap_or(""));
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn print_draft(format: Format, draft: &Value) -> anyhow::Result<ExitCode> {
    if format == Format::Json {
        print_json(draft)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("Subject: {}\n", draft["subject"].as_str().unwrap_or(""));
    println!("{}", draft["body"].as_str().unwrap_or(""));
    Ok(ExitCode::SUCCESS)
}
