//! Renderers: a plain-text report for terminals (every obligation with its source and its
//! "why"), and the Markdown documentation page generated from the rules table.

use std::fmt::Write as _;

use crate::calendar::HolidayCalendar;
use crate::engine::{Assessment, Deadline};
use crate::facts::{DataCategory, EntityType, Sector};
use crate::rules::{
    Anchor, Basis, Condition, Confidence, CountOf, DeadlineSpec, EncryptionRule, Period, Rule,
    RulesTable, Threshold, Unit,
};

fn conf(c: Confidence) -> &'static str {
    match c {
        Confidence::H => "H",
        Confidence::M => "M (medium confidence)",
        Confidence::L => "L (LOW confidence: verify)",
    }
}

/// A terminal report of an assessment. Plain text, no colours, stable order.
pub fn render_text(a: &Assessment) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Notification obligations (rules table {})", a.table_version);
    let _ = writeln!(out, "Not legal advice. Instants are UTC.\n");
    if a.obligations.is_empty() {
        let _ = writeln!(out, "No obligations.\n");
    } else {
        out.push_str(&summary_table(a));
        out.push('\n');
    }
    for (i, o) in a.obligations.iter().enumerate() {
        let recipient = match &o.recipient_detail {
            Some(d) => format!("{} ({d})", o.recipient.name()),
            None => o.recipient.name().to_string(),
        };
        let _ = writeln!(out, "{:>2}. {} — {}", i + 1, o.regime, o.title);
        let _ = writeln!(out, "    due:        {}", o.deadline);
        if let Some(sent) = o.sent {
            let _ = writeln!(out, "    sent:       {sent}");
        }
        let _ = writeln!(out, "    to:         {recipient}");
        let _ = writeln!(
            out,
            "    source:     {} [{}; checked {}; rule {}]",
            o.citation,
            conf(o.confidence),
            o.last_checked,
            o.rule_id
        );
        if let Some(c) = &o.clock {
            let cal = c.calendar.map(|c| format!(", {}", c.describe())).unwrap_or_default();
            let day_end = match c.unit {
                Unit::Hours => String::new(),
                _ => format!("; days end 23:59:59 {}", c.time_zone),
            };
            let _ = writeln!(
                out,
                "    clock:      {} {} after {}{cal}{day_end}",
                c.amount,
                c.unit.name(c.amount),
                c.anchor
            );
        }
        for w in &o.why {
            let _ = writeln!(out, "    why:        {w}");
        }
        if let Some(n) = &o.notes {
            let _ = writeln!(out, "    note:       {n}");
        }
        out.push('\n');
    }
    if !a.undetermined.is_empty() {
        let _ = writeln!(out, "Undetermined: record these facts to decide");
        for u in &a.undetermined {
            let _ = writeln!(
                out,
                "  - {} ({}, {}): needs {}",
                u.rule_id,
                u.regime,
                u.citation,
                u.missing.join(", ")
            );
        }
        out.push('\n');
    }
    if !a.warnings.is_empty() {
        let _ = writeln!(out, "Warnings");
        for w in &a.warnings {
            let _ = writeln!(out, "  - {w}");
        }
        out.push('\n');
    }
    let considered: Vec<_> = a.not_triggered.iter().filter(|n| n.in_scope).collect();
    if !considered.is_empty() {
        let _ = writeln!(out, "Considered, not required");
        for n in &considered {
            let _ = writeln!(out, "  - {} ({}, {}): {}", n.rule_id, n.regime, n.citation, n.reason);
        }
        out.push('\n');
    }
    let out_of_scope = a.not_triggered.len() - considered.len();
    let _ = writeln!(
        out,
        "{out_of_scope} further rules are out of scope (other places or other kinds of organisation)."
    );
    out
}

/// One line per obligation, columns aligned: number, latest instant, recipient, duty, source.
fn summary_table(a: &Assessment) -> String {
    let rows: Vec<[String; 6]> = a
        .obligations
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let due = match (&o.deadline, o.deadline.latest()) {
                (_, Some(t)) => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                (Deadline::Pending { missing, .. }, None) => {
                    format!("pending {}", missing.join(","))
                }
                (Deadline::AfterNotice { notice, .. }, None) => format!("after {notice}"),
                (Deadline::Asap | Deadline::Due { .. }, None) => "without undue delay".to_string(),
            };
            [
                format!("{}", i + 1),
                due,
                o.recipient.name().to_string(),
                format!("{} — {}", o.regime, o.title),
                o.citation.clone(),
                match o.confidence {
                    Confidence::H => "H".into(),
                    Confidence::M => "M".into(),
                    Confidence::L => "L!".into(),
                },
            ]
        })
        .collect();
    let header = ["#", "LATEST (UTC)", "TO", "DUTY", "SOURCE", "CONF"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// How a deadline spec reads in prose.
pub fn describe_deadline(d: &DeadlineSpec) -> String {
    let period = |p: &Period| {
        let after = match &p.after {
            Anchor::Moment(_) => p.after.to_string(),
            Anchor::Notice(id) => format!("notice `{id}` is sent"),
            Anchor::YearEndOf(m) => {
                format!("the end of the calendar year of {}", crate::rules::moment_name(*m))
            }
        };
        let cal = match (p.unit, d.calendar) {
            (Unit::BusinessDays, Some(c)) => format!(" ({})", c.describe()),
            _ => String::new(),
        };
        format!("{} {}{cal} after {after}", p.amount, p.unit.name(p.amount))
    };
    let mut parts = Vec::new();
    if d.asap {
        parts.push("without undue delay".to_string());
    }
    if let Some(w) = &d.within {
        parts.push(format!("at the latest {}", period(w)));
    }
    if let Some(c) = &d.cap {
        parts.push(format!("and no later than {}", period(c)));
    }
    if let Some(c) = &d.chain {
        parts.push(format!("{} notice `{}`", c.relation.phrase(), c.notice));
    }
    parts.join(", ")
}

fn describe_condition(c: &Condition) -> String {
    fn or<T: Copy>(v: &[T], name: fn(T) -> &'static str) -> String {
        v.iter().map(|x| name(*x)).collect::<Vec<_>>().join(" or ")
    }
    match c {
        Condition::EntityAny(t) => format!("entity is {}", or(t, EntityType::name)),
        Condition::EntityNone(t) => format!("entity is not {}", or(t, EntityType::name)),
        Condition::Role(r) => format!("acts as {}", r.name()),
        Condition::SectorAny(v) => format!("sector is {}", or(v, Sector::name)),
        Condition::RiskAtLeast(l) => format!("risk ≥ {}", l.name()),
        Condition::Flag(f) => format!("{} = true", f.field()),
        Condition::DataAny(d) => format!("data includes {}", or(d, DataCategory::name)),
        Condition::DataSet(s) => format!("data in set `{s}`"),
        Condition::TurnoverAudOver(v) => format!("turnover > AUD {v}"),
        Condition::Count(t) => describe_threshold(t),
        Condition::AnyOf(inner) => format!(
            "any of ({})",
            inner.iter().map(describe_condition).collect::<Vec<_>>().join("; ")
        ),
    }
}

fn describe_threshold(t: &Threshold) -> String {
    let of = match t.of {
        CountOf::Area => "affected residents",
        CountOf::Total => "affected people in total",
        CountOf::AnyUsState => "residents of any one state",
    };
    format!("{} {} {of}", t.op.symbol(), t.value)
}

fn describe_applies(r: &Rule) -> String {
    let area = r.applies.area.map(|a| a.to_string()).unwrap_or_default();
    match r.applies.basis {
        Basis::People => format!("people in {area}"),
        Basis::Establishment => format!("established in {area}"),
        Basis::PeopleOrEstablishment => format!("people in or established in {area}"),
        Basis::Everywhere => "any".into(),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The documentation page for a rules table, in Markdown. `docs/obligations.md` is this output
/// for the built-in table; a test fails when the committed file is stale.
pub fn rules_markdown(table: &RulesTable) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Breach-notification obligations\n");
    let _ = writeln!(
        out,
        "Generated from the rules table of `firebreak-comply` (version **{}**, {} rules) by `rules_markdown`. Do not edit by hand: change `crates/comply/src/rules.toml` and regenerate with `UPDATE_DOCS=1 cargo test -p firebreak-comply`.\n",
        table.version,
        table.rules.len()
    );
    out.push_str(
        "Not legal advice. Confidence: **H** = primary text or two reputable summaries; **M** = one secondary or possibly stale source; **L** = unverified.\n\n\
## How deadlines are counted\n\n\
- **Hours** run from the exact anchor instant (elapsed time, unaffected by daylight-saving changes).\n\
- **Calendar days, business days and months** exclude the anchor's day and end at **23:59:59 local time** on the last day, in the rule's time zone (the recipient's seat; EU-wide rules use Europe/Helsinki, the easternmost EU zone, so the deadline is never later than in any member state). Months land on the same day-of-month, or the last day of a shorter month.\n\
- **Business days** skip weekends and, where the rule counts them, public holidays: US federal holidays on their observed days (SEC, Vermont), Brazil's national holidays and Good Friday (LGPD). Elsewhere Monday to Friday, which can only make a deadline earlier.\n\
- **Chained deadlines** (a notice due after, with or before another notice) are computed from the other notice's sending time once it is recorded; until then they are shown as \"after notice X\" with the latest possible instant, i.e. the other notice's own deadline plus the offset.\n\
- **Without undue delay** is shown as such; an outer limit, if any, is the latest, not the target.\n\
- **Encryption** exempts only where the row says so: `unless_key_compromised` (exempt if encrypted and the key is safe), `hhs_secured` (HIPAA: only PHI secured per HHS guidance).\n\n",
    );
    let _ = writeln!(out, "## Overview\n");
    let _ = writeln!(out, "| Rule | Jurisdiction | Recipient | Deadline | Conf. |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for r in &table.rules {
        let status = if r.in_force { "" } else { " (not in force)" };
        let _ = writeln!(
            out,
            "| `{}`{status} | {} | {} | {} | {} |",
            r.id,
            cell(&r.jurisdiction),
            r.recipient.name(),
            cell(&describe_deadline(&r.deadline)),
            match r.confidence {
                Confidence::H => "H",
                Confidence::M => "M",
                Confidence::L => "L",
            }
        );
    }
    out.push('\n');
    let mut regime = "";
    for r in &table.rules {
        if r.regime != regime {
            regime = &r.regime;
            let _ = writeln!(out, "## {}\n", r.regime);
        }
        let _ = writeln!(out, "### {} — `{}`\n", cell(&r.title), r.id);
        let mut row = |k: &str, v: String| {
            let _ = writeln!(out, "- **{k}:** {v}");
        };
        row("Source", format!("{} ({})", r.citation, r.jurisdiction));
        row(
            "Recipient",
            match &r.recipient_detail {
                Some(d) => format!("{} — {d}", r.recipient.name()),
                None => r.recipient.name().to_string(),
            },
        );
        row("Applies to", describe_applies(r));
        if !r.when.is_empty() {
            row("When", r.when.iter().map(describe_condition).collect::<Vec<_>>().join("; "));
        }
        if let Some(t) = &r.threshold {
            row("Threshold", describe_threshold(t));
        }
        match r.encryption {
            EncryptionRule::NoExemption => {}
            EncryptionRule::UnlessKeyCompromised => {
                row("Encryption", "exempt if encrypted and the key was not compromised".into())
            }
            EncryptionRule::HhsSecured => {
                row("Encryption", "exempt only if the PHI was secured per HHS guidance".into())
            }
        }
        row("Deadline", describe_deadline(&r.deadline));
        let day_based = [&r.deadline.within, &r.deadline.cap]
            .into_iter()
            .flatten()
            .any(|p| p.unit != Unit::Hours);
        if day_based {
            row("Time zone", r.tz.clone());
        }
        if !r.in_force {
            row("Status", "**not in force**".into());
        }
        if let Some(d) = r.in_force_from {
            row("In force from", d.to_string());
        }
        row("Confidence", format!("{} (checked {})", conf(r.confidence), r.last_checked));
        if let Some(n) = &r.notes {
            row("Notes", n.clone());
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Data sets\n");
    for (name, cats) in &table.data_sets {
        let names: Vec<&str> = cats.iter().map(|c| c.name()).collect();
        let _ = writeln!(out, "- `{name}`: {}", names.join(", "));
    }
    let _ = writeln!(out, "\n## Holiday calendars\n");
    for c in
        [HolidayCalendar::WeekendsOnly, HolidayCalendar::UsFederal, HolidayCalendar::BrazilNational]
    {
        let _ = writeln!(out, "- {}", c.describe());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Facts, compute};

    /// The committed page must be exactly what the table generates, so docs cannot drift.
    #[test]
    fn docs_obligations_md_is_up_to_date() {
        let table = RulesTable::builtin().unwrap();
        let generated = rules_markdown(&table);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/obligations.md");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/obligations.md is stale: run `UPDATE_DOCS=1 cargo test -p firebreak-comply` and commit it"
        );
    }

    #[test]
    fn text_report_cites_sources_and_reasons() {
        let facts = Facts::from_toml(include_str!("../examples/facts.toml")).unwrap();
        let table = RulesTable::builtin().unwrap();
        let a = compute(&facts, &table);
        let text = render_text(&a);
        for o in &a.obligations {
            assert!(text.contains(&o.citation), "{}", o.citation);
        }
        assert!(text.contains("why:"), "{text}");
        assert!(text.contains("Considered, not required"), "{text}");
        assert!(text.contains("GDPR Art. 33(1)"), "{text}");
        assert!(text.contains("without undue delay, at the latest 2026-03-05T17:00:00Z"), "{text}");
    }

    /// The whole report for the example file, so any change in wording or numbers is reviewed.
    #[test]
    fn example_report_snapshot() {
        let facts = Facts::from_toml(include_str!("../examples/facts.toml")).unwrap();
        let a = compute(&facts, &RulesTable::builtin().unwrap());
        insta::assert_snapshot!(render_text(&a));
    }

    #[test]
    fn unknown_sent_notices_are_warned_about() {
        let facts = Facts::from_toml(
            "[notices_sent]\nus-ca-individual = \"2026-03-02T10:00:00Z\"\ngdpr-33 = \"2026-03-02T10:00:00Z\"\n",
        )
        .unwrap();
        let a = compute(&facts, &RulesTable::builtin().unwrap());
        assert_eq!(a.warnings.len(), 2, "{:?}", a.warnings);
        assert!(a.warnings[1].contains("no rule `us-ca-individual`"), "{:?}", a.warnings);
        assert!(render_text(&a).contains("Warnings"));
    }

    #[test]
    fn assessment_round_trips_through_json() {
        let facts = Facts::from_toml(include_str!("../examples/facts.toml")).unwrap();
        let a = compute(&facts, &RulesTable::builtin().unwrap());
        let json = serde_json::to_string_pretty(&a).unwrap();
        let back: Assessment = serde_json::from_str(&json).unwrap();
        assert_eq!(a, back);
        assert!(json.contains("\"kind\": \"due\""), "{json}");
    }

    #[test]
    fn deadline_prose() {
        let table = RulesTable::builtin().unwrap();
        let d = |id: &str| describe_deadline(&table.get(id).unwrap().deadline);
        assert_eq!(d("gdpr-33"), "without undue delay, at the latest 72 hours after awareness");
        assert_eq!(
            d("us-ca-ag"),
            "at the latest 15 calendar days after notice `us-ca-individuals` is sent"
        );
        assert_eq!(d("us-md-ag"), "before notice `us-md-individuals`");
        assert_eq!(
            d("us-sec-8k-105"),
            "at the latest 4 business days (Mon–Fri except US federal holidays (observed days)) after materiality_determination"
        );
    }
}
