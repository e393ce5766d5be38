//! Triage from the command line: alerts (list, show, acknowledge, assign, false positive, the
//! events behind them), the suppressions false positives propose, and grouping alerts into
//! incidents (move, merge, split) with the incident figures.

use std::process::ExitCode;

use clap::Subcommand;
use firebreak_core::{Alert, Incident, IncidentStats, Severity, Suppression};
use serde_json::json;

use crate::client::Client;
use crate::commands::{percent_encode, print_json};
use crate::{ClientArgs, Format};

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Alerts, newest first.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// new, acknowledged, false_positive or resolved.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long)]
        incident: Option<i64>,
        /// A person's id on the roster.
        #[arg(long)]
        assignee: Option<i64>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One alert, with its sample lines.
    Show {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Acknowledge an alert: someone is on it.
    Ack {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Put an alert in a person's hands (`--none` to take it back).
    Assign {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        /// The person's id on the roster.
        #[arg(required_unless_present = "none")]
        person: Option<i64>,
        #[arg(long, conflicts_with = "person")]
        none: bool,
    },
    /// Mark an alert a false positive; prints the suppressions it proposes.
    FalsePositive {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Every stored event of the alert's address (or user), newest first.
    Events {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        /// ip or user (default: the address when the alert has one).
        #[arg(long, value_parser = ["ip", "user"])]
        by: Option<String>,
        /// Only the events the alert's rule looks at.
        #[arg(long)]
        rule_only: bool,
        #[arg(long, default_value = "50")]
        limit: u32,
        #[arg(long)]
        cursor: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SuppressionCommand {
    /// Suppressions, oldest first.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// proposed, accepted or refused.
        #[arg(long)]
        status: Option<String>,
    },
    /// Accept a proposed suppression: what it covers raises no more alerts.
    Accept {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Refuse a proposed suppression.
    Refuse {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

pub async fn alert(command: AlertCommand) -> anyhow::Result<ExitCode> {
    match command {
        AlertCommand::List { client, status, rule, incident, assignee, limit } => {
            let mut query = Vec::new();
            let filters = [
                ("status", status),
                ("rule", rule),
                ("incident", incident.map(|v| v.to_string())),
                ("assignee", assignee.map(|v| v.to_string())),
                ("limit", limit.map(|v| v.to_string())),
            ];
            for (key, value) in filters {
                if let Some(value) = value {
                    query.push(format!("{key}={}", percent_encode(&value)));
                }
            }
            let alerts: Vec<Alert> =
                Client::new(&client)?.get(&format!("/api/v1/alerts?{}", query.join("&"))).await?;
            show_alerts(client.format, &alerts)
        }
        AlertCommand::Show { client, id } => {
            let alert: Alert = Client::new(&client)?.get(&format!("/api/v1/alerts/{id}")).await?;
            if client.format == Format::Json {
                print_json(&alert)?;
                return Ok(ExitCode::SUCCESS);
            }
            show_alerts(Format::Table, std::slice::from_ref(&alert))?;
            print_lines("", &alert.sample);
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Ack { client, id } => {
            let path = format!("/api/v1/alerts/{id}/acknowledge");
            let alert: Alert = Client::new(&client)?.post(&path, json!({})).await?;
            show_alerts(client.format, &[alert])
        }
        AlertCommand::Assign { client, id, person, none: _ } => {
            let path = format!("/api/v1/alerts/{id}/assign");
            let alert: Alert =
                Client::new(&client)?.post(&path, json!({ "person_id": person })).await?;
            show_alerts(client.format, &[alert])
        }
        AlertCommand::FalsePositive { client, id, reason } => {
            let path = format!("/api/v1/alerts/{id}/false-positive");
            let outcome: serde_json::Value =
                Client::new(&client)?.post(&path, json!({ "reason": reason })).await?;
            if client.format == Format::Json {
                print_json(&outcome)?;
                return Ok(ExitCode::SUCCESS);
            }
            let proposed: Vec<Suppression> =
                serde_json::from_value(outcome["proposed"].clone()).unwrap_or_default();
            print_lines(
                &format!(
                    "Alert {id} marked a false positive. Proposed (accept with `firebreak suppression accept ID --reason …`):"
                ),
                &[],
            );
            show_suppressions(&proposed);
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Events { client, id, by, rule_only, limit, cursor } => {
            let mut query = vec![format!("limit={limit}")];
            if let Some(by) = by {
                query.push(format!("by={by}"));
            }
            if rule_only {
                query.push("rule_only=true".into());
            }
            if let Some(cursor) = cursor {
                query.push(format!("cursor={}", percent_encode(&cursor)));
            }
            let path = format!("/api/v1/alerts/{id}/events?{}", query.join("&"));
            let page: serde_json::Value = Client::new(&client)?.get(&path).await?;
            crate::commands::print_event_page(client.format, &page)
        }
    }
}

pub async fn suppression(command: SuppressionCommand) -> anyhow::Result<ExitCode> {
    let (client, suppressions) = match command {
        SuppressionCommand::List { client, status } => {
            let query = status.map(|s| format!("?status={}", percent_encode(&s)));
            let path = format!("/api/v1/suppressions{}", query.unwrap_or_default());
            let list: Vec<Suppression> = Client::new(&client)?.get(&path).await?;
            (client, list)
        }
        SuppressionCommand::Accept { client, id, reason } => {
            let path = format!("/api/v1/suppressions/{id}/accept");
            let one = Client::new(&client)?.post(&path, json!({ "reason": reason })).await?;
            (client, vec![one])
        }
        SuppressionCommand::Refuse { client, id, reason } => {
            let path = format!("/api/v1/suppressions/{id}/refuse");
            let one = Client::new(&client)?.post(&path, json!({ "reason": reason })).await?;
            (client, vec![one])
        }
    };
    match client.format {
        Format::Json => print_json(&suppressions)?,
        Format::Table => show_suppressions(&suppressions),
    }
    Ok(ExitCode::SUCCESS)
}

/// `incident alerts`: group alerts into an incident by hand.
pub async fn incident_move(
    client: &ClientArgs,
    incident: i64,
    alerts: Vec<i64>,
    reason: String,
) -> anyhow::Result<ExitCode> {
    let path = format!("/api/v1/incidents/{incident}/alerts");
    let moved: Vec<Alert> =
        Client::new(client)?.post(&path, json!({ "alerts": alerts, "reason": reason })).await?;
    show_alerts(client.format, &moved)
}

pub async fn incident_merge(
    client: &ClientArgs,
    from: i64,
    into: i64,
    reason: String,
) -> anyhow::Result<ExitCode> {
    let path = format!("/api/v1/incidents/{from}/merge");
    let target: Incident =
        Client::new(client)?.post(&path, json!({ "into": into, "reason": reason })).await?;
    show_incident(client.format, &target, &format!("Incident {from} merged into"))
}

pub async fn incident_split(
    client: &ClientArgs,
    from: i64,
    alerts: Vec<i64>,
    title: String,
    severity: Option<Severity>,
    reason: String,
) -> anyhow::Result<ExitCode> {
    let path = format!("/api/v1/incidents/{from}/split");
    let body = json!({ "alerts": alerts, "title": title, "severity": severity, "reason": reason });
    let created: Incident = Client::new(client)?.post(&path, body).await?;
    show_incident(client.format, &created, &format!("Split out of incident {from}:"))
}

#[allow(clippy::print_stdout)]
pub async fn incident_stats(client: &ClientArgs) -> anyhow::Result<ExitCode> {
    let stats: IncidentStats = Client::new(client)?.get("/api/v1/incidents/stats").await?;
    if client.format == Format::Json {
        print_json(&stats)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Incidents: {} (drills left out: {}; merged: {})",
        stats.total, stats.drills, stats.merged
    );
    for severity in Severity::ALL {
        let open = stats.open_by_severity.get(severity.as_str()).copied().unwrap_or(0);
        println!("  open {severity}: {open}");
    }
    for (status, count) in &stats.by_status {
        println!("  {status}: {count}");
    }
    let duration = |secs: Option<i64>| match secs {
        Some(secs) => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
        None => "—".to_owned(),
    };
    println!("Median time to contain: {}", duration(stats.median_secs_to_contain));
    println!("Median time to close:   {}", duration(stats.median_secs_to_close));
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn show_incident(format: Format, incident: &Incident, heading: &str) -> anyhow::Result<ExitCode> {
    match format {
        Format::Json => print_json(incident)?,
        Format::Table => println!(
            "{heading} incident {} — {} [{} {}]",
            incident.id,
            incident.title,
            incident.severity,
            incident.status.as_str()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn show_alerts(format: Format, alerts: &[Alert]) -> anyhow::Result<ExitCode> {
    if format == Format::Json {
        print_json(&alerts)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<5}  {:<14}  {:<8}  {:>8}  {:<8}  {:<8}  {:<34}  GROUP",
        "ID", "SEV", "STATUS", "INCIDENT", "COUNT", "ASSIGNEE", "", "RULE"
    );
    for alert in alerts {
        let group: Vec<String> = alert
            .group
            .iter()
            .map(|(k, v)| {
                format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            })
            .collect();
        let optional = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        println!(
            "{:>6}  {:<5}  {:<14}  {:<8}  {:>8}  {:<8}  {:<8}  {:<34}  {}",
            alert.id,
            alert.severity,
            alert.status.as_str(),
            optional(alert.incident_id),
            alert.count,
            optional(alert.assignee_id),
            "",
            alert.rule_id,
            group.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn show_suppressions(suppressions: &[Suppression]) {
    println!("{:>6}  {:<9}  {:<11}  {:>6}  {:<28}  VALUE", "ID", "STATUS", "KIND", "ALERT", "RULE");
    for s in suppressions {
        println!(
            "{:>6}  {:<9}  {:<11}  {:>6}  {:<28}  {}",
            s.id,
            s.status.as_str(),
            s.kind.as_str(),
            s.alert_id,
            s.rule_id,
            s.value
        );
    }
}

#[allow(clippy::print_stdout)]
fn print_lines(heading: &str, lines: &[String]) {
    if !heading.is_empty() {
        println!("{heading}");
    }
    for line in lines {
        println!("  {line}");
    }
}
