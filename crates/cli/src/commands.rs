//! One function per command: gather the inputs, call the server or the library, print.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use firebreak_core::{
    AccessRole, Clock, Incident, Severity, Status, SystemClock, TimelineEntry, verify_chain,
};
use firebreak_server::config::Config;
use serde_json::json;

use crate::client::Client;
use crate::{
    ClientArgs, EventSearchArgs, EvidenceCommand, Format, ObligationsArgs, ServeArgs,
    ServerConfigArgs,
};
use crate::{OncallCommand, PeopleCommand, TaskCommand};

fn load_config(args: &ServerConfigArgs) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut config = Config::load(args.config.as_deref(), &env)?;
    if let Some(database) = &args.database {
        config.database = database.clone();
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

#[allow(clippy::print_stdout)] // The setup token is shown to the operator once, on the terminal.
pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = load_config(&args.server)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = firebreak_store::open(&config.database).await?;
    if let Some(setup) = firebreak_server::bootstrap(&*store, &*clock).await? {
        println!(
            "First start: created the administrator `{}`.\n\
             One-time setup token (valid until {}; shown only now):\n\n    {}\n\n\
             Exchange it for an API token (and set a password):\n    \
             curl -X POST -H 'Authorization: Bearer <setup token>' -H 'Content-Type: application/json' \\\n      \
             -d '{{\"password\":\"…\"}}' http://{}/api/v1/auth/setup\n",
            setup.user, setup.expires_at, setup.secret.0, config.server.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    println!("firebreak is listening on http://{}", listener.local_addr()?);
    firebreak_server::serve(config, store, clock, listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => tracing::info!("SIGTERM received; shutting down."),
        _ = tokio::signal::ctrl_c() => tracing::info!("Interrupted; shutting down."),
    }
}

#[allow(clippy::print_stdout)]
pub fn config_check(args: &ServerConfigArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args)?;
    println!("The configuration is valid:\n{config:#?}");
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn admin_create(args: &ServerConfigArgs, name: &str) -> anyhow::Result<ExitCode> {
    let config = load_config(args)?;
    let store = firebreak_store::open(&config.database).await?;
    let secret = firebreak_server::create_admin(&*store, &SystemClock, name).await?;
    println!("Created the administrator `{name}`. API token (shown only now):\n{}", secret.0);
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_incidents(incidents: &[Incident]) {
    println!("{:>6}  {:<5}  {:<21}  {:<20}  TITLE", "ID", "SEV", "STATUS", "OPENED (UTC)");
    for incident in incidents {
        println!(
            "{:>6}  {:<5}  {:<21}  {:<20}  {}{}",
            incident.id,
            incident.severity.as_str(),
            incident.status.as_str(),
            incident.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            incident.title,
            if incident.drill { " [drill]" } else { "" }
        );
    }
}

pub async fn incident_list(
    args: &ClientArgs,
    status: Option<Status>,
    severity: Option<Severity>,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
    limit: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let mut query = Vec::new();
    if let Some(status) = status {
        query.push(format!("status={status}"));
    }
    if let Some(severity) = severity {
        query.push(format!("severity={severity}"));
    }
    if let Some(from) = from {
        query.push(format!("from={from}"));
    }
    if let Some(to) = to {
        query.push(format!("to={to}"));
    }
    if let Some(limit) = limit {
        query.push(format!("limit={limit}"));
    }
    let path = if query.is_empty() {
        "/api/v1/incidents".to_owned()
    } else {
        format!("/api/v1/incidents?{}", query.join("&"))
    };
    let incidents: Vec<Incident> = Client::new(args)?.get(&path).await?;
    match args.format {
        Format::Json => print_json(&incidents)?,
        Format::Table => print_incidents(&incidents),
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn incident_show(args: &ClientArgs, id: i64) -> anyhow::Result<ExitCode> {
    let client = Client::new(args)?;
    let incident: Incident = client.get(&format!("/api/v1/incidents/{id}")).await?;
    let timeline: Vec<TimelineEntry> =
        client.get(&format!("/api/v1/incidents/{id}/timeline")).await?;
    if args.format == Format::Json {
        print_json(&json!({ "incident": incident, "timeline": timeline }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Incident {} — {}{}",
        incident.id,
        incident.title,
        if incident.drill { " [drill]" } else { "" }
    );
    println!("Severity: {} ({})", incident.severity, incident.severity.definition());
    println!("Status:   {}", incident.status);
    if !incident.summary.is_empty() {
        println!("Summary:  {}", incident.summary);
    }
    println!("Milestones:");
    for status in Status::ALL {
        if let Some(at) = incident.milestones.get(status) {
            println!("  {:<21} {}", status.as_str(), at);
        }
    }
    println!("Timeline:");
    for entry in &timeline {
        println!(
            "  #{:<4} {}  {:<16} {:<16} {}",
            entry.seq,
            entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.kind.as_str(),
            entry.actor,
            entry.summary
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn incident_create(
    args: &ClientArgs,
    title: String,
    severity: Severity,
    summary: String,
    drill: bool,
) -> anyhow::Result<ExitCode> {
    let incident: Incident = Client::new(args)?
        .post(
            "/api/v1/incidents",
            json!({ "title": title, "severity": severity, "summary": summary, "drill": drill }),
        )
        .await?;
    match args.format {
        Format::Json => print_json(&incident)?,
        Format::Table => print_incidents(std::slice::from_ref(&incident)),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn incident_status(
    args: &ClientArgs,
    id: i64,
    status: Status,
    reason: String,
) -> anyhow::Result<ExitCode> {
    let incident: Incident = Client::new(args)?
        .post(
            &format!("/api/v1/incidents/{id}/status"),
            json!({ "status": status, "reason": reason }),
        )
        .await?;
    match args.format {
        Format::Json => print_json(&incident)?,
        Format::Table => print_incidents(std::slice::from_ref(&incident)),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn incident_severity(
    args: &ClientArgs,
    id: i64,
    severity: Severity,
    reason: String,
) -> anyhow::Result<ExitCode> {
    let incident: Incident = Client::new(args)?
        .post(
            &format!("/api/v1/incidents/{id}/severity"),
            json!({ "severity": severity, "reason": reason }),
        )
        .await?;
    match args.format {
        Format::Json => print_json(&incident)?,
        Format::Table => print_incidents(std::slice::from_ref(&incident)),
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn incident_note(args: &ClientArgs, id: i64, text: String) -> anyhow::Result<ExitCode> {
    let entry: TimelineEntry = Client::new(args)?
        .post(&format!("/api/v1/incidents/{id}/notes"), json!({ "text": text }))
        .await?;
    match args.format {
        Format::Json => print_json(&entry)?,
        Format::Table => {
            println!("Added entry #{} to incident {id} (hash {}).", entry.seq, entry.hash)
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies on this side: the server is not trusted to check its own record.
#[allow(clippy::print_stdout)]
pub async fn timeline_verify(
    args: &ClientArgs,
    database: Option<&str>,
    incident: i64,
) -> anyhow::Result<ExitCode> {
    let timeline: Vec<TimelineEntry> = match database {
        Some(url) => firebreak_store::open(url).await?.timeline(incident).await?,
        None => Client::new(args)?.get(&format!("/api/v1/incidents/{incident}/timeline")).await?,
    };
    match verify_chain(&timeline) {
        Ok(()) => {
            let head = timeline.last().map(|entry| entry.hash.to_hex()).unwrap_or_default();
            println!(
                "Timeline of incident {incident} verifies: {} entries, head {head}.",
                timeline.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("Timeline of incident {incident} does NOT verify: {error}.");
            Ok(ExitCode::from(1))
        }
    }
}

#[allow(clippy::print_stdout)]
pub async fn token_create(
    args: &ClientArgs,
    name: String,
    role: AccessRole,
    expires_in_hours: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let issued: serde_json::Value = Client::new(args)?
        .post(
            "/api/v1/tokens",
            json!({ "name": name, "role": role, "expires_in_hours": expires_in_hours }),
        )
        .await?;
    match args.format {
        Format::Json => print_json(&issued)?,
        Format::Table => {
            let Some(token) = issued.get("token").and_then(|t| t.as_str()) else {
                bail!("the server did not return a token");
            };
            println!("{token}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn token_list(args: &ClientArgs) -> anyhow::Result<ExitCode> {
    let tokens: Vec<serde_json::Value> = Client::new(args)?.get("/api/v1/tokens").await?;
    if args.format == Format::Json {
        print_json(&tokens)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:>5}  {:<9}  {:<8}  {:<8}  NAME", "ID", "ROLE", "KIND", "STATE");
    for token in &tokens {
        let text = |key: &str| token.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let state = if token.get("revoked_at").is_some_and(|v| !v.is_null()) {
            "revoked"
        } else {
            "active"
        };
        println!(
            "{:>5}  {:<9}  {:<8}  {:<8}  {}",
            token.get("id").cloned().unwrap_or_default(),
            text("role"),
            text("kind"),
            state,
            text("name")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn token_revoke(args: &ClientArgs, id: i64) -> anyhow::Result<ExitCode> {
    Client::new(args)?.delete(&format!("/api/v1/tokens/{id}")).await?;
    println!("Token {id} revoked.");
    Ok(ExitCode::SUCCESS)
}

/// Reads a facts file, TOML or JSON (by extension, or by a leading `{`).
fn read_facts(path: &std::path::Path) -> anyhow::Result<firebreak_comply::Facts> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the facts file {}", path.display()))?;
    let is_json = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    let facts = if is_json {
        firebreak_comply::Facts::from_json(&text)
    } else {
        firebreak_comply::Facts::from_toml(&text)
    };
    facts.with_context(|| format!("in the facts file {}", path.display()))
}

/// Obligations from a facts file alone (for counsel working offline, and for tests), or an
/// incident's obligations from the server, optionally recording facts or a decision first.
#[allow(clippy::print_stdout)]
pub async fn obligations(args: &ObligationsArgs) -> anyhow::Result<ExitCode> {
    let format = args.client.format;
    if let Some(path) = &args.facts {
        let facts = read_facts(path)?;
        let table = firebreak_comply::RulesTable::builtin()
            .context("the built-in rules table does not load")?;
        let assessment = firebreak_comply::compute(&facts, &table);
        let drafts = if args.drafts {
            firebreak_comply::drafts(&assessment, &facts, &table)
        } else {
            Vec::new()
        };
        match format {
            Format::Json if args.drafts => {
                let drafts: Vec<serde_json::Value> =
                    drafts.iter().map(|d| json!({ "markdown": d.to_markdown() })).collect();
                print_json(&json!({ "assessment": assessment, "drafts": drafts }))?;
            }
            Format::Json => print_json(&assessment)?,
            Format::Table => {
                print!("{}", firebreak_comply::render_text(&assessment));
                for draft in drafts {
                    println!("\n{}", draft.to_markdown());
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(incident) = args.incident else {
        bail!("name an incident, or give --facts FILE to compute without a server");
    };
    let client = Client::new(&args.client)?;
    if let Some(path) = &args.record {
        let facts = read_facts(path)?;
        let _: serde_json::Value = client
            .put(&format!("/api/v1/incidents/{incident}/facts"), serde_json::to_value(&facts)?)
            .await?;
    }
    if let (Some(rule), Some(mark)) = (&args.mark, &args.mark_as) {
        let _: serde_json::Value = client
            .post(
                &format!("/api/v1/incidents/{incident}/obligations/{rule}"),
                json!({ "status": mark, "detail": args.detail, "sent_at": args.sent_at }),
            )
            .await?;
    }
    let view: serde_json::Value =
        client.get(&format!("/api/v1/incidents/{incident}/obligations")).await?;
    match format {
        Format::Json => print_json(&view)?,
        Format::Table => {
            print!("{}", view["text"].as_str().unwrap_or_default());
            if let Some(tracking) = view["tracking"].as_array().filter(|t| !t.is_empty()) {
                println!("\nTracking:");
                for item in tracking {
                    let status = &item["status"];
                    let label = status
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| status.as_object().and_then(|o| o.keys().next().cloned()))
                        .unwrap_or_default();
                    let next = item["reminders"]
                        .as_array()
                        .and_then(|r| r.first())
                        .and_then(|r| r.as_str())
                        .unwrap_or("-");
                    println!(
                        "  {:<28} {:<14} first reminder {}",
                        item["rule_id"].as_str().unwrap_or(""),
                        label,
                        next
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn search_path(endpoint: &str, args: &EventSearchArgs, with_page: bool) -> String {
    let mut query: Vec<(&str, String)> = Vec::new();
    let text_filters = [
        ("ip", &args.ip),
        ("user", &args.user),
        ("host", &args.host),
        ("category", &args.category),
        ("outcome", &args.outcome),
        ("text", &args.text),
        ("rule", &args.rule),
    ];
    for (key, value) in text_filters {
        if let Some(value) = value {
            query.push((key, value.clone()));
        }
    }
    if let Some(from) = args.from {
        query.push(("from", from.to_string()));
    }
    if let Some(to) = args.to {
        query.push(("to", to.to_string()));
    }
    if with_page {
        query.push(("limit", args.limit.to_string()));
        if let Some(cursor) = &args.cursor {
            query.push(("cursor", cursor.clone()));
        }
    }
    let encoded: Vec<String> =
        query.iter().map(|(key, value)| format!("{key}={}", percent_encode(value))).collect();
    format!("/api/v1/events/{endpoint}?{}", encoded.join("&"))
}

pub fn percent_encode(text: &str) -> String {
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

#[allow(clippy::print_stdout)]
pub async fn events_search(args: &EventSearchArgs) -> anyhow::Result<ExitCode> {
    let page: serde_json::Value =
        Client::new(&args.client)?.get(&search_path("search", args, true)).await?;
    print_event_page(args.client.format, &page)
}

/// One page of events (`events search`, `alert events`): a table, or the JSON as it came.
#[allow(clippy::print_stdout)]
pub fn print_event_page(format: Format, page: &serde_json::Value) -> anyhow::Result<ExitCode> {
    if format == Format::Json {
        print_json(page)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>10}  {:<30}  {:<39}  {:<16}  {:<8}  MESSAGE",
        "ID", "TIME (UTC)", "SOURCE", "USER", "OUTCOME"
    );
    for event in page["events"].as_array().into_iter().flatten() {
        let body = &event["event"];
        let field = |dotted: &str| -> String {
            let nested = dotted.split('.').try_fold(body, |value, key| value.get(key));
            body.get(dotted).or(nested).and_then(|v| v.as_str()).unwrap_or("").to_owned()
        };
        let message: String = field("message").chars().take(80).collect();
        println!(
            "{:>10}  {:<30}  {:<39}  {:<16}  {:<8}  {}",
            event["id"],
            event["timestamp"].as_str().unwrap_or(""),
            field("source.ip"),
            field("user.name"),
            field("event.outcome"),
            message
        );
    }
    if let Some(cursor) = page["next_cursor"].as_str() {
        println!("More: --cursor {cursor}");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn events_export(args: &EventSearchArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let client = Client::new(&args.client)?;
    let mut response = client.stream(&search_path("export", args, false)).await?;
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = response.chunk().await.context("the export stopped part way")? {
        match stdout.write_all(&chunk) {
            Ok(()) => {}
            // The reader went away (`| head`): that is not an error.
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
                return Ok(ExitCode::SUCCESS);
            }
            Err(error) => return Err(error.into()),
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub async fn timeline_export(
    args: &ClientArgs,
    incident: i64,
    csv: bool,
    kind: Option<String>,
    actor: Option<String>,
) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut query = vec![format!("format={}", if csv { "csv" } else { "json" })];
    if let Some(kind) = kind {
        query.push(format!("kind={}", percent_encode(&kind)));
    }
    if let Some(actor) = actor {
        query.push(format!("actor={}", percent_encode(&actor)));
    }
    let response = Client::new(args)?
        .stream(&format!("/api/v1/incidents/{incident}/timeline?{}", query.join("&")))
        .await?;
    let body = response.bytes().await.context("reading the timeline")?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&body)?;
    if !csv {
        stdout.write_all(b"\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn file_body(file: tokio::fs::File) -> reqwest::Body {
    use tokio::io::AsyncReadExt;
    reqwest::Body::wrap_stream(futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = vec![0u8; 1 << 16];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok::<_, std::io::Error>(buffer), Some(file)))
            }
            Err(error) => Some((Err(error), None)),
        }
    }))
}

async fn download(client: &Client, path: &str, out: &std::path::Path) -> anyhow::Result<u64> {
    use tokio::io::AsyncWriteExt;
    let mut response = client.stream(path).await?;
    let mut file = tokio::fs::File::create(out)
        .await
        .with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = 0u64;
    while let Some(chunk) = response.chunk().await.context("the download stopped part way")? {
        file.write_all(&chunk).await?;
        written += chunk.len() as u64;
    }
    file.sync_all().await?;
    Ok(written)
}

#[allow(clippy::print_stdout)]
pub async fn evidence(command: EvidenceCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvidenceCommand::Add { client, incident, file, name, description, reason } => {
            let name = match name {
                Some(name) => name,
                None => file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .context("the file has no usable name; give --name")?
                    .to_owned(),
            };
            let opened = tokio::fs::File::open(&file)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?;
            let path = format!(
                "/api/v1/incidents/{incident}/evidence?name={}&description={}&reason={}",
                percent_encode(&name),
                percent_encode(&description),
                percent_encode(&reason)
            );
            let api = Client::new(&client)?;
            let evidence: firebreak_core::Evidence =
                api.post_stream(&path, file_body(opened), "application/octet-stream").await?;
            match client.format {
                Format::Json => print_json(&evidence)?,
                Format::Table => println!(
                    "Evidence {} `{}`: {} bytes, SHA-256 {}",
                    evidence.id, evidence.name, evidence.size, evidence.sha256
                ),
            }
        }
        EvidenceCommand::Capture { search, incident, name, reason } => {
            let query: serde_json::Value = json!({
                "ip": search.ip, "user": search.user, "host": search.host, "category": search.category,
                "outcome": search.outcome, "from": search.from, "to": search.to, "text": search.text,
            });
            let query: serde_json::Map<String, serde_json::Value> = query
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let evidence: firebreak_core::Evidence = Client::new(&search.client)?
                .post(
                    &format!("/api/v1/incidents/{incident}/evidence/events"),
                    json!({ "name": name, "reason": reason, "query": query }),
                )
                .await?;
            match search.client.format {
                Format::Json => print_json(&evidence)?,
                Format::Table => println!(
                    "Evidence {} `{}`: {} ({} bytes, SHA-256 {})",
                    evidence.id,
                    evidence.name,
                    evidence.description,
                    evidence.size,
                    evidence.sha256
                ),
            }
        }
        EvidenceCommand::List { client, incident } => {
            let items: Vec<firebreak_core::Evidence> = Client::new(&client)?
                .get(&format!("/api/v1/incidents/{incident}/evidence"))
                .await?;
            if client.format == Format::Json {
                print_json(&items)?;
            } else {
                println!(
                    "{:>5}  {:<24}  {:>12}  {:<64}  {:<20}  NAME",
                    "ID", "ACQUIRED (UTC)", "BYTES", "SHA-256", "BY"
                );
                for item in items {
                    println!(
                        "{:>5}  {:<24}  {:>12}  {:<64}  {:<20}  {}",
                        item.id,
                        item.acquired_at.strftime("%Y-%m-%d %H:%M:%S"),
                        item.size,
                        item.sha256,
                        item.acquired_by,
                        item.name
                    );
                }
            }
        }
        EvidenceCommand::Get { client, incident, evidence, out, reason } => {
            let api = Client::new(&client)?;
            let written = download(
                &api,
                &format!(
                    "/api/v1/incidents/{incident}/evidence/{evidence}/content?reason={}",
                    percent_encode(&reason)
                ),
                &out,
            )
            .await?;
            println!(
                "Wrote {written} bytes to {} (the access is on the custody log).",
                out.display()
            );
        }
        EvidenceCommand::Verify { client, incident } => {
            let results: Vec<serde_json::Value> = Client::new(&client)?
                .post(&format!("/api/v1/incidents/{incident}/evidence/verify"), json!({}))
                .await?;
            if client.format == Format::Json {
                print_json(&results)?;
            }
            let failed: Vec<&serde_json::Value> =
                results.iter().filter(|r| r["ok"] != true).collect();
            if failed.is_empty() {
                if client.format == Format::Table {
                    println!(
                        "All {} pieces of evidence of incident {incident} verify.",
                        results.len()
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            for item in &failed {
                println!(
                    "Evidence {} `{}` does NOT verify: {}.",
                    item["evidence_id"],
                    item["name"].as_str().unwrap_or(""),
                    item["problem"].as_str().unwrap_or("")
                );
            }
            return Ok(ExitCode::from(1));
        }
        EvidenceCommand::Export { client, incident, out, reason } => {
            let api = Client::new(&client)?;
            let written = download(
                &api,
                &format!(
                    "/api/v1/incidents/{incident}/evidence/export?reason={}",
                    percent_encode(&reason)
                ),
                &out,
            )
            .await?;
            println!(
                "Wrote {written} bytes to {}. Unzip it and run `sha256sum -c SHA256SUMS` inside.",
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn incident_assign(
    args: &ClientArgs,
    id: i64,
    role: firebreak_core::ResponseRole,
    person: i64,
) -> anyhow::Result<ExitCode> {
    let roles: Vec<serde_json::Value> = Client::new(args)?
        .post(
            &format!("/api/v1/incidents/{id}/roles"),
            json!({ "role": role, "person_id": person }),
        )
        .await?;
    if args.format == Format::Json {
        print_json(&roles)?;
    } else {
        for assignment in roles {
            println!(
                "{:<28} {}",
                assignment["role"].as_str().unwrap_or(""),
                assignment["person"]["name"].as_str().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn print_people(people: &[firebreak_core::Person]) {
    println!(
        "{:>5}  {:<24}  {:<30}  {:<18}  {:<20}  CAN HOLD",
        "ID", "NAME", "E-MAIL", "PHONE", "TIME ZONE"
    );
    for person in people {
        let roles: Vec<String> = person.roles.iter().map(|r| r.title()).collect();
        println!(
            "{:>5}  {:<24}  {:<30}  {:<18}  {:<20}  {}",
            person.id,
            person.name,
            person.email,
            person.phone.as_deref().unwrap_or("-"),
            person.time_zone,
            roles.join(", ")
        );
    }
}

pub async fn people(command: PeopleCommand) -> anyhow::Result<ExitCode> {
    match command {
        PeopleCommand::Add { client, name, email, phone, time_zone, roles } => {
            let person: firebreak_core::Person = Client::new(&client)?
                .post("/api/v1/people", json!({ "name": name, "email": email, "phone": phone, "time_zone": time_zone, "roles": roles }))
                .await?;
            match client.format {
                Format::Json => print_json(&person)?,
                Format::Table => print_people(std::slice::from_ref(&person)),
            }
        }
        PeopleCommand::List { client } => {
            let people: Vec<firebreak_core::Person> =
                Client::new(&client)?.get("/api/v1/people").await?;
            match client.format {
                Format::Json => print_json(&people)?,
                Format::Table => print_people(&people),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn oncall(command: OncallCommand) -> anyhow::Result<ExitCode> {
    let (client, set) = match command {
        OncallCommand::Set { client, role, person } => (client, Some((role, person))),
        OncallCommand::List { client } => (client, None),
    };
    let api = Client::new(&client)?;
    if let Some((role, person)) = set {
        api.put::<serde_json::Value>(
            &format!("/api/v1/on-call/{role}"),
            json!({ "person_id": person }),
        )
        .await?;
    }
    let list: Vec<serde_json::Value> = api.get("/api/v1/on-call").await?;
    match client.format {
        Format::Json => print_json(&list)?,
        Format::Table => {
            for item in list {
                let person = &item["person"];
                println!(
                    "{:<28} {} ({})",
                    item["role"].as_str().unwrap_or(""),
                    person["name"].as_str().unwrap_or(""),
                    person["phone"].as_str().or(person["email"].as_str()).unwrap_or("")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
fn print_tasks(tasks: &[firebreak_core::Task], now: jiff::Timestamp) {
    println!(
        "{:>5}  {:>8}  {:<11}  {:<20}  {:<9}  TITLE",
        "ID", "INCIDENT", "STATUS", "DUE (UTC)", "CHECKLIST"
    );
    for task in tasks {
        let done = task.checklist.iter().filter(|item| item.done).count();
        let due = task
            .due_at
            .map(|due| due.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "{:>5}  {:>8}  {:<11}  {:<20}  {:<9}  {}{}",
            task.id,
            task.incident_id,
            task.status.as_str(),
            due,
            format!("{done}/{}", task.checklist.len()),
            task.title,
            if task.is_overdue(now) { "  [OVERDUE]" } else { "" }
        );
    }
}

pub async fn task(command: TaskCommand) -> anyhow::Result<ExitCode> {
    let now = SystemClock.now();
    let (client, tasks) = match command {
        TaskCommand::Add { client, incident, title, owner, role, due, checklist } => {
            let task: firebreak_core::Task = Client::new(&client)?
                .post(
                    &format!("/api/v1/incidents/{incident}/tasks"),
                    json!({ "title": title, "owner_id": owner, "role": role, "due_at": due, "checklist": checklist }),
                )
                .await?;
            (client, vec![task])
        }
        TaskCommand::List { client, incident } => {
            let tasks =
                Client::new(&client)?.get(&format!("/api/v1/incidents/{incident}/tasks")).await?;
            (client, tasks)
        }
        TaskCommand::Update { client, incident, task, status, owner, due, tick } => {
            let task: firebreak_core::Task = Client::new(&client)?
                .post(
                    &format!("/api/v1/incidents/{incident}/tasks/{task}"),
                    json!({ "status": status, "owner_id": owner, "due_at": due, "check": tick }),
                )
                .await?;
            (client, vec![task])
        }
        TaskCommand::Overdue { client } => {
            let tasks = Client::new(&client)?.get("/api/v1/tasks/overdue").await?;
            (client, tasks)
        }
    };
    match client.format {
        Format::Json => print_json(&tasks)?,
        Format::Table => print_tasks(&tasks, now),
    }
    Ok(ExitCode::SUCCESS)
}

/// The offline contact list: everything is fetched first, then written, so a failure leaves no
/// half-written set.
#[allow(clippy::print_stdout)]
pub async fn contacts_export(args: &ClientArgs, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let client = Client::new(args)?;
    let people: Vec<firebreak_core::Person> = client.get("/api/v1/people").await?;
    let on_call: Vec<serde_json::Value> = client.get("/api/v1/on-call").await?;
    let on_call: Vec<(firebreak_core::ResponseRole, firebreak_core::Person)> = on_call
        .into_iter()
        .map(|item| {
            Ok((
                serde_json::from_value(item["role"].clone())?,
                serde_json::from_value(item["person"].clone())?,
            ))
        })
        .collect::<Result<_, serde_json::Error>>()
        .context("the server's on-call list is not what this client expects")?;
    let roster = firebreak_report::contacts::Roster {
        people: &people,
        on_call: &on_call,
        generated_at: SystemClock.now(),
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let files: [(&str, Vec<u8>); 4] = [
        ("contacts.csv", firebreak_report::contacts::csv(&roster).into_bytes()),
        ("contacts.vcf", firebreak_report::contacts::vcard(&roster).into_bytes()),
        ("contacts.html", firebreak_report::contacts::html(&roster).into_bytes()),
        ("contacts.pdf", firebreak_report::contacts::pdf(&roster)),
    ];
    for (name, bytes) in files {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("Wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Shows the damage assessment, recording a new version from a file first when asked.
#[allow(clippy::print_stdout)]
pub async fn damage(
    args: &ClientArgs,
    incident: i64,
    record: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let client = Client::new(args)?;
    let view: serde_json::Value = match record {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let body: serde_json::Value =
                if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
                    let value: toml::Value = toml::from_str(&text)
                        .with_context(|| format!("{} is not valid TOML", path.display()))?;
                    serde_json::to_value(value)?
                } else {
                    serde_json::from_str(&text)
                        .with_context(|| format!("{} is not valid JSON", path.display()))?
                };
            client.put(&format!("/api/v1/incidents/{incident}/damage"), body).await?
        }
        None => client.get(&format!("/api/v1/incidents/{incident}/damage")).await?,
    };
    match args.format {
        Format::Json => print_json(&view)?,
        Format::Table => {
            let damage = &view["assessment"];
            println!(
                "Damage assessment v{} of incident {incident} ({} by {})",
                view["version"],
                view["recorded_at"].as_str().unwrap_or(""),
                view["actor"].as_str().unwrap_or("")
            );
            println!(
                "Data:      {}",
                damage["data_categories"]
                    .as_array()
                    .map(|c| c.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            );
            for affected in damage["affected"].as_array().into_iter().flatten() {
                let place = match affected["state"].as_str() {
                    Some(state) => {
                        format!("{}-{state}", affected["country"].as_str().unwrap_or(""))
                    }
                    None => affected["country"].as_str().unwrap_or("").to_owned(),
                };
                println!(
                    "Affected:  {place}: {} people, {} records",
                    affected["people"], affected["records"]
                );
            }
            println!("Encrypted: {} (key safe: {})", damage["encrypted"], damage["key_safe"]);
            for downtime in damage["downtime"].as_array().into_iter().flatten() {
                println!(
                    "Downtime:  {} {} min",
                    downtime["function"].as_str().unwrap_or(""),
                    downtime["minutes"]
                );
            }
            if let Some(cost) = damage["estimated_cost"].as_object() {
                println!(
                    "Cost:      {} {}",
                    cost.get("amount").cloned().unwrap_or_default(),
                    cost.get("currency").and_then(|c| c.as_str()).unwrap_or("")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
