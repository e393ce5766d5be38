//! Breach-notification obligations: which regimes an incident triggers, who must be told, by when,
//! and why. Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.
//!
//! Not legal advice: every row of the rules table carries its citation, its research confidence
//! (H/M/L) and the date it was last checked, so people can verify before relying on it. Where the
//! research is unsure, the table keeps the stricter reading or leaves the deadline open rather
//! than guess: a wrong deadline is worse than a missing one.
//!
//! # Use
//!
//! ```
//! use firebreak_comply::{Facts, RulesTable, compute, render::render_text};
//!
//! let facts = Facts::from_toml(r#"
//!     data = ["credentials"]
//!     [moments]
//!     awareness = "2026-03-02T17:00:00Z"
//!     [[affected]]
//!     country = "DE"
//!     count = 300
//!     [risk]
//!     level = "risk"
//! "#)?;
//! let table = RulesTable::builtin()?;
//! let assessment = compute(&facts, &table);
//! assert_eq!(assessment.obligations[0].rule_id, "gdpr-33");
//! let _report = render_text(&assessment); // or serde_json::to_string(&assessment)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The facts file
//!
//! TOML (or the same shape in JSON). Unknown fields, countries, states and data categories are
//! errors that name the value and its line. Every section is optional. Instants are RFC 3339
//! strings (`"2026-03-02T17:00:00Z"`) or TOML offset date-times, with any offset; a local time
//! without an offset is rejected, because a deadline needs the instant. See
//! `examples/facts.toml`. Sent notices under a rule id the table does not know are reported in
//! `Assessment::warnings`.
//!
//! | Field | Meaning |
//! |---|---|
//! | `data` | data categories involved: `credentials`, `contact_details`, `government_identifiers`, `financial_accounts`, `payment_cards`, `health`, `health_insurance`, `genetic`, `biometrics`, `education_records`, `location`, `childrens_data`, `special_category`, `date_of_birth`, `communications_content`, `online_identifiers` |
//! | `encryption` | `{ encrypted, key_compromised, hhs_secured }`, all `false` by default |
//! | `[narrative]` | text for notice drafts: `title`, `what_happened`, `records_affected`, `likely_consequences`, `measures_taken`, `steps_for_individuals`, `contact`, `material_impact` |
//! | `[moments]` | clock anchors: `occurred`, `suspected`, `discovery`, `awareness`, `determination`, `classification`, `materiality_determination`, `assessment`, `ransom_payment` (see [`facts::Moments`]) |
//! | `[[affected]]` | `{ country = "US", state = "CA", count = 1200 }`: ISO 3166-1 alpha-2 country, USPS state code only for the US, one entry per place |
//! | `[organisation]` | `name`, `entity_types` (see [`facts::EntityType`]), `sectors` (see [`facts::Sector`]), `established_in` (countries), `role` (`controller`/`processor`), `small_agent`, `annual_turnover_aud` |
//! | `[risk]` | `level` (`none` < `low` < `risk` < `high`) and yes/no findings: `significant_incident`, `major_ict_incident`, `material`, `notification_incident`, `reportable_cybersecurity_incident`, `cert_in_listed`, `ransom_paid` |
//! | `[notices_sent]` | `rule-id = "instant"` for notices already sent |
//!
//! A rule whose condition needs an unrecorded finding (say `risk.level`) is listed as
//! *undetermined* with the field to record, never guessed.
//!
//! # Decisions
//!
//! - **Anchors.** Each row names the moment its clock runs from: awareness (GDPR, NIS2, DORA's
//!   cap, LGPD, APPI), discovery (HIPAA, most US states, GLBA, CERT-In's "noticing"),
//!   determination (TX, CO, FL, AL, AZ, DE, RI, NYDFS, banks), classification (DORA),
//!   materiality determination (SEC), assessment (Singapore), suspicion (Australia's 30-day
//!   assessment), ransom payment. No moment stands in for another: a missing anchor makes the
//!   deadline *pending*, naming the field.
//! - **End of day.** Hour periods are elapsed time from the exact instant. Day, business-day and
//!   month periods exclude the anchor's day and end at 23:59:59 local time of the last day in the
//!   row's time zone; instants are returned in UTC. See [`calendar`].
//! - **Calendars.** SEC and Vermont count US federal holidays (observed days); LGPD counts
//!   Brazil's national holidays and Good Friday (Carnival and Corpus Christi are optional days
//!   off, so they count as working days); every other business-day rule counts Monday to Friday,
//!   which can only make the deadline earlier.
//! - **Chained deadlines.** A notice due after, with or before another notice is computed from the
//!   other notice's recorded sending (`notices_sent`). Until that is recorded it is
//!   [`Deadline::AfterNotice`], with `latest` = the other notice's own deadline plus the offset:
//!   the last moment that is certainly in time.
//! - **Encryption** is per row: `unless_key_compromised` (US states, GDPR Art. 34, GLBA, PDPA
//!   individuals), `hhs_secured` (HIPAA, FTC HBNR), or no exemption (GDPR Art. 33 and the rest).
//! - **Thresholds** keep their operator: HIPAA media is `> 500` residents of one state, HHS is
//!   `≥ 500` in total.

pub mod calendar;
pub mod damage;
pub mod engine;
pub mod facts;
pub mod notice;
pub mod render;
pub mod rules;
pub mod tracking;

pub use damage::{DamageAssessment, DamageError};
pub use engine::{
    Assessment, Clock, ComputeError, Deadline, NotTriggered, Obligation, Undetermined, compute,
};
pub use facts::{Facts, FactsError};
pub use notice::{Draft, draft, drafts};
pub use render::{render_text, rules_markdown};
pub use rules::{RulesError, RulesTable};
pub use tracking::{ObligationStatus, Reminder, reminders};
