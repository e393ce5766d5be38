//! The `firebreak` binary: parses the command line and hands each command to the crate that
//! does the work. Server commands run the service; client commands talk to it over the REST API.

mod client;
mod commands;
mod notify;
mod respond;
mod scan;
mod triage;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "firebreak", version, about = "Security incident response for business apps.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hunt through log files offline with the detection rules; exit 1 when something is found.
    Scan(scan::ScanArgs),
    /// Detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run the service: ingest, incidents, the REST API.
    Serve(ServeArgs),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administration that works on the database directly, without a running server.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Work with incidents on a running server.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Alerts from live detection: list, acknowledge, assign, false positive, pivot to events.
    #[command(subcommand)]
    Alert(triage::AlertCommand),
    /// Suppressions proposed by false positives: list, accept, refuse.
    #[command(subcommand)]
    Suppression(triage::SuppressionCommand),
    /// Containment decisions: list, add (ban, lock an account, …), extend, roll back.
    #[command(subcommand)]
    Decision(respond::DecisionCommand),
    /// Bouncers that enforce bans (CrowdSec-compatible): add, list, revoke.
    #[command(subcommand)]
    Bouncer(respond::BouncerCommand),
    /// Playbooks: check files offline, list the server's, apply one to an incident.
    #[command(subcommand)]
    Playbooks(respond::PlaybookCommand),
    /// Approvals playbooks wait for: list, approve, reject.
    #[command(subcommand)]
    Approval(respond::ApprovalCommand),
    /// The tamper-evident incident timeline.
    #[command(subcommand)]
    Timeline(TimelineCommand),
    /// API tokens on a running server (administrators).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The response team roster.
    #[command(subcommand)]
    People(PeopleCommand),
    /// Who is on call for each response role.
    #[command(subcommand)]
    Oncall(OncallCommand),
    /// Tasks of incidents.
    #[command(subcommand)]
    Task(TaskCommand),
    /// The offline war-room contact list.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Evidence with chain of custody.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// An incident's damage assessment: show it, or record a new version.
    Damage {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        /// Record this assessment (JSON or TOML) as the new version first.
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Search stored events (investigation).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Breach-notification obligations: who must be told, by when, and why.
    Obligations(ObligationsArgs),
    /// Notifications (list, show, acknowledge) and communications (templates, draft, send).
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// List the rules that would be loaded.
    List {
        #[command(flatten)]
        rules: scan::RuleArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Run one rule over a log file and show, line by line, what matched and whether it fires.
    Test(scan::RulesTestArgs),
}

#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Add a person to the roster.
    Add {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: Option<String>,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// A response role they can hold (repeat for several).
        #[arg(long = "can-hold")]
        roles: Vec<firebreak_core::ResponseRole>,
    },
    /// List the roster.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Put someone on call for a role.
    Set {
        #[command(flatten)]
        client: ClientArgs,
        role: firebreak_core::ResponseRole,
        person: i64,
    },
    /// Who is on call.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a task to an incident.
    Add {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        #[arg(long)]
        title: String,
        /// Owner (a person id).
        #[arg(long)]
        owner: Option<i64>,
        #[arg(long)]
        role: Option<firebreak_core::ResponseRole>,
        /// Due time (RFC 3339).
        #[arg(long)]
        due: Option<jiff::Timestamp>,
        /// A checklist item (repeat for several).
        #[arg(long = "check")]
        checklist: Vec<String>,
    },
    /// An incident's tasks.
    List {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
    },
    /// Change a task.
    Update {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        task: i64,
        #[arg(long)]
        status: Option<firebreak_core::TaskStatus>,
        #[arg(long)]
        owner: Option<i64>,
        #[arg(long)]
        due: Option<jiff::Timestamp>,
        /// Tick checklist item N (0-based; repeat).
        #[arg(long = "tick")]
        tick: Vec<usize>,
    },
    /// Open tasks past their due time, across incidents.
    Overdue {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Write contacts.csv, contacts.vcf, contacts.html and contacts.pdf into a folder.
    Export {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Upload a file as evidence (streamed; hashed on arrival).
    Add {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        file: PathBuf,
        /// The name to keep (default: the file's name).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// Why it is acquired (the custody record).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Save every event a search finds into the incident as one NDJSON file.
    Capture {
        #[command(flatten)]
        search: EventSearchArgs,
        #[arg(long)]
        incident: i64,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List an incident's evidence.
    List {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
    },
    /// Write one piece of evidence to a file (an access, recorded).
    Get {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        evidence: i64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Re-hash every piece of evidence against what was recorded at acquisition.
    Verify {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
    },
    /// Export all evidence as a zip with SHA256SUMS and a manifest with the custody log.
    Export {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// One page of matching events, newest first.
    Search(EventSearchArgs),
    /// Every matching event as NDJSON on standard output, streamed.
    Export(EventSearchArgs),
}

#[derive(Debug, Args)]
pub struct EventSearchArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Source address.
    #[arg(long)]
    pub ip: Option<String>,
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub host: Option<String>,
    /// event.category, e.g. authentication.
    #[arg(long)]
    pub category: Option<String>,
    /// event.outcome: success or failure.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Event time at or after (RFC 3339).
    #[arg(long)]
    pub from: Option<jiff::Timestamp>,
    /// Event time before (RFC 3339).
    #[arg(long)]
    pub to: Option<jiff::Timestamp>,
    /// Text anywhere in the event.
    #[arg(long)]
    pub text: Option<String>,
    /// Only events this rule looks at (a rule id or name from `firebreak rules list`).
    #[arg(long)]
    pub rule: Option<String>,
    /// Page size for `search`.
    #[arg(long, default_value = "50")]
    pub limit: u32,
    /// Continue after a previous page (its `next_cursor`).
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Args)]
pub struct ObligationsArgs {
    /// The incident whose obligations to show (from the server).
    #[arg(conflicts_with = "facts")]
    pub incident: Option<i64>,
    /// Compute from this facts file (TOML or JSON) alone, without a server.
    #[arg(long)]
    pub facts: Option<std::path::PathBuf>,
    /// Record this facts file (TOML or JSON) as the incident's facts first.
    #[arg(long, requires = "incident")]
    pub record: Option<std::path::PathBuf>,
    /// Mark one obligation (by rule id, e.g. gdpr-33) with `--as`.
    #[arg(long, requires = "incident", requires = "mark_as")]
    pub mark: Option<String>,
    /// What to mark it: drafted, sent, not_required or late.
    #[arg(long = "as", value_parser = ["drafted", "sent", "not_required", "late"])]
    pub mark_as: Option<String>,
    /// Evidence of sending (for sent) or the reason (for not_required and late).
    #[arg(long, default_value = "")]
    pub detail: String,
    /// When it was sent (RFC 3339; default now).
    #[arg(long)]
    pub sent_at: Option<jiff::Timestamp>,
    /// Also print a notice draft for each obligation.
    #[arg(long)]
    pub drafts: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ServerConfigArgs {
    /// Configuration file (TOML). `FIREBREAK_*` environment variables override it.
    #[arg(long, short, env = "FIREBREAK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default sqlite://firebreak.db) or postgres://USER@HOST/DB.
    #[arg(long)]
    pub database: Option<String>,
    /// Directory for the ingest spool (default firebreak-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub server: ServerConfigArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check the configuration and print it as it will be used (secrets hidden).
    Check(ServerConfigArgs),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an administrator and print an API token for them.
    Create {
        #[command(flatten)]
        server: ServerConfigArgs,
        /// The administrator's user name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The server's base URL.
    #[arg(long, env = "FIREBREAK_URL")]
    pub server: Option<String>,
    /// Client configuration file with `server` and `token` (default
    /// $XDG_CONFIG_HOME/firebreak/client.toml). The token may also come from FIREBREAK_TOKEN.
    #[arg(long)]
    pub client_config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
enum IncidentCommand {
    /// List incidents, newest first.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        status: Option<firebreak_core::Status>,
        #[arg(long)]
        severity: Option<firebreak_core::Severity>,
        /// Created at or after (RFC 3339).
        #[arg(long)]
        from: Option<jiff::Timestamp>,
        /// Created before (RFC 3339).
        #[arg(long)]
        to: Option<jiff::Timestamp>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show one incident with its timeline.
    Show {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Open an incident.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        title: String,
        /// SEV1 (critical) … SEV4 (low).
        #[arg(long)]
        severity: firebreak_core::Severity,
        #[arg(long, default_value = "")]
        summary: String,
        /// Mark it as a drill, kept out of metrics.
        #[arg(long)]
        drill: bool,
    },
    /// Move an incident to another phase.
    Status {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        /// detected, triage, containment, eradication, recovery, post_incident_review, closed.
        status: firebreak_core::Status,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Change an incident's severity.
    Severity {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        severity: firebreak_core::Severity,
        #[arg(long)]
        reason: String,
    },
    /// Give a response role in an incident to a person.
    Assign {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        role: firebreak_core::ResponseRole,
        /// The person's id on the roster.
        person: i64,
    },
    /// Add a note to an incident's timeline.
    Note {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        text: String,
    },
    /// Group alerts into an incident by hand (from wherever they were).
    Alerts {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(required = true)]
        alerts: Vec<i64>,
        #[arg(long)]
        reason: String,
    },
    /// Merge an incident into another: its alerts move there and it is closed as merged.
    Merge {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        into: i64,
        #[arg(long)]
        reason: String,
    },
    /// Split alerts out of an incident into a new one.
    Split {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(required = true)]
        alerts: Vec<i64>,
        #[arg(long)]
        title: String,
        /// Default: the incident's severity.
        #[arg(long)]
        severity: Option<firebreak_core::Severity>,
        #[arg(long)]
        reason: String,
    },
    /// Figures over all incidents: drills and merged incidents are left out.
    Stats {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TimelineCommand {
    /// Write an incident's timeline as JSON (default) or CSV, optionally filtered.
    Export {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        /// CSV instead of JSON.
        #[arg(long)]
        csv: bool,
        /// Only entries of this kind (note, status_changed, decision, …).
        #[arg(long)]
        kind: Option<String>,
        /// Only entries by this actor.
        #[arg(long)]
        actor: Option<String>,
    },
    /// Recompute an incident's hash chain and name the first entry that does not verify.
    Verify {
        #[command(flatten)]
        client: ClientArgs,
        /// Read the timeline from this database instead of a server.
        #[arg(long)]
        database: Option<String>,
        incident: i64,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make an API token and print its secret once.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        name: String,
        /// ingest, viewer, responder, commander or admin.
        #[arg(long)]
        role: firebreak_core::AccessRole,
        #[arg(long)]
        expires_in_hours: Option<u32>,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke a token.
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            report(&anyhow::anyhow!("cannot start the async runtime: {error}"));
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            report(&error);
            ExitCode::from(2)
        }
    }
}

#[allow(clippy::print_stderr)] // The binary reports its own failure.
fn report(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FIREBREAK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => commands::serve(args).await,
        Command::Scan(args) => scan::scan(&args),
        Command::Rules(RulesCommand::List { rules, format }) => scan::list(&rules, format),
        Command::Rules(RulesCommand::Test(args)) => scan::test(&args),
        Command::Config(ConfigCommand::Check(args)) => commands::config_check(&args),
        Command::Admin(AdminCommand::Create { server, name }) => {
            commands::admin_create(&server, &name).await
        }
        Command::Incident(command) => match command {
            IncidentCommand::List { client, status, severity, from, to, limit } => {
                commands::incident_list(&client, status, severity, from, to, limit).await
            }
            IncidentCommand::Show { client, id } => commands::incident_show(&client, id).await,
            IncidentCommand::Create { client, title, severity, summary, drill } => {
                commands::incident_create(&client, title, severity, summary, drill).await
            }
            IncidentCommand::Status { client, id, status, reason } => {
                commands::incident_status(&client, id, status, reason).await
            }
            IncidentCommand::Severity { client, id, severity, reason } => {
                commands::incident_severity(&client, id, severity, reason).await
            }
            IncidentCommand::Note { client, id, text } => {
                commands::incident_note(&client, id, text).await
            }
            IncidentCommand::Assign { client, id, role, person } => {
                commands::incident_assign(&client, id, role, person).await
            }
            IncidentCommand::Alerts { client, id, alerts, reason } => {
                triage::incident_move(&client, id, alerts, reason).await
            }
            IncidentCommand::Merge { client, id, into, reason } => {
                triage::incident_merge(&client, id, into, reason).await
            }
            IncidentCommand::Split { client, id, alerts, title, severity, reason } => {
                triage::incident_split(&client, id, alerts, title, severity, reason).await
            }
            IncidentCommand::Stats { client } => triage::incident_stats(&client).await,
        },
        Command::Alert(command) => triage::alert(command).await,
        Command::Suppression(command) => triage::suppression(command).await,
        Command::Decision(command) => respond::decision(command).await,
        Command::Bouncer(command) => respond::bouncer(command).await,
        Command::Playbooks(command) => respond::playbook(command).await,
        Command::Approval(command) => respond::approval(command).await,
        Command::Timeline(TimelineCommand::Export { client, incident, csv, kind, actor }) => {
            commands::timeline_export(&client, incident, csv, kind, actor).await
        }
        Command::Timeline(TimelineCommand::Verify { client, database, incident }) => {
            commands::timeline_verify(&client, database.as_deref(), incident).await
        }
        Command::Obligations(args) => commands::obligations(&args).await,
        Command::Notify(command) => notify::notify(command).await,
        Command::Evidence(command) => commands::evidence(command).await,
        Command::People(command) => commands::people(command).await,
        Command::Damage { client, incident, record } => {
            commands::damage(&client, incident, record.as_deref()).await
        }
        Command::Oncall(command) => commands::oncall(command).await,
        Command::Task(command) => commands::task(command).await,
        Command::Contacts(ContactsCommand::Export { client, out }) => {
            commands::contacts_export(&client, &out).await
        }
        Command::Events(EventsCommand::Search(args)) => commands::events_search(&args).await,
        Command::Events(EventsCommand::Export(args)) => commands::events_export(&args).await,
        Command::Token(command) => match command {
            TokenCommand::Create { client, name, role, expires_in_hours } => {
                commands::token_create(&client, name, role, expires_in_hours).await
            }
            TokenCommand::List { client } => commands::token_list(&client).await,
            TokenCommand::Revoke { client, id } => commands::token_revoke(&client, id).await,
        },
    }
}
