//! Notice drafts: the contents each regime requires, as a list of sections filled from the facts
//! where possible, with placeholders naming the missing fact. Renderable as Markdown.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::Obligation;
use crate::facts::Facts;
use crate::rules::{NoticeTemplate, RulesTable};

/// A draft notice for one obligation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The rule the notice answers.
    pub rule_id: String,
    /// Heading, e.g. "GDPR — Notify the supervisory authority".
    pub title: String,
    /// Who receives it.
    pub recipient: String,
    /// The source of the content requirements.
    pub citation: String,
    /// Required sections, in the order the rule lists them.
    pub sections: Vec<Section>,
}

/// One required item of a notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// What the item is.
    pub heading: String,
    /// Where the requirement comes from (sub-paragraph).
    pub requirement: String,
    /// The content, from the facts, or a placeholder naming what is missing.
    pub content: Content,
}

/// Section content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Content {
    /// Filled from the facts.
    Filled(String),
    /// Not in the facts: the text names the facts field (or the information) to supply.
    Missing(String),
}

impl Draft {
    /// Whether every section is filled.
    pub fn is_complete(&self) -> bool {
        self.sections.iter().all(|s| matches!(s.content, Content::Filled(_)))
    }

    /// Markdown rendering; placeholders appear as `[MISSING: …]`.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Draft: {}\n\nTo: {}  \nRequired by: {}  \nRule: `{}`\n",
            self.title, self.recipient, self.citation, self.rule_id
        );
        for s in &self.sections {
            out.push_str(&format!("\n## {}\n\n_{}_\n\n", s.heading, s.requirement));
            match &s.content {
                Content::Filled(t) => out.push_str(t),
                Content::Missing(m) => out.push_str(&format!("[MISSING: {m}]")),
            }
            out.push('\n');
        }
        out
    }
}

fn opt(v: &Option<String>, field: &str) -> Content {
    match v {
        Some(s) if !s.trim().is_empty() => Content::Filled(s.clone()),
        _ => Content::Missing(field.to_string()),
    }
}

fn at(t: Option<Timestamp>, label: &str) -> String {
    match t {
        Some(t) => format!("{label}: {t}"),
        None => format!("{label}: [MISSING: moments.{}]", label.to_lowercase().replace(' ', "_")),
    }
}

/// What happened, with the dates the rules ask for.
fn description(f: &Facts) -> Content {
    match &f.narrative.what_happened {
        Some(w) if !w.trim().is_empty() => Content::Filled(format!(
            "{w}\n\n- {}\n- {}",
            at(f.moments.occurred, "Occurred"),
            at(f.moments.discovery, "Discovery")
        )),
        _ => Content::Missing("narrative.what_happened".into()),
    }
}

fn categories(f: &Facts) -> Content {
    if f.data.is_empty() {
        return Content::Missing("data (categories of personal data)".into());
    }
    let cats: Vec<&str> = f.data.iter().map(|d| d.name()).collect();
    Content::Filled(cats.join(", "))
}

fn scope(f: &Facts) -> Content {
    if f.affected.is_empty() {
        return Content::Missing("affected (people per country and state)".into());
    }
    let mut parts: Vec<String> = f
        .affected
        .iter()
        .map(|a| match a.state {
            Some(s) => format!("{} residents of {}-{}", a.count, a.country, s),
            None => format!("{} residents of {}", a.count, a.country),
        })
        .collect();
    parts.insert(0, format!("About {} people in total", f.count_total()));
    let records = match f.narrative.records_affected {
        Some(n) => format!("About {n} records."),
        None => "Records: [MISSING: narrative.records_affected]".into(),
    };
    Content::Filled(format!(
        "{}.\n\nData categories: {}. {records}",
        parts.join("; "),
        match categories(f) {
            Content::Filled(c) => c,
            Content::Missing(m) => format!("[MISSING: {m}]"),
        }
    ))
}

fn section(heading: &str, requirement: &str, content: Content) -> Section {
    Section { heading: heading.into(), requirement: requirement.into(), content }
}

/// Builds the draft for an obligation, from its rule's template. Rules without a template get
/// the generic authority or individuals template according to the recipient.
pub fn draft(ob: &Obligation, facts: &Facts, table: &RulesTable) -> Draft {
    let template = table.get(&ob.rule_id).and_then(|r| r.notice).unwrap_or(match ob.recipient {
        crate::rules::Recipient::Individuals => NoticeTemplate::GenericIndividuals,
        _ => NoticeTemplate::GenericAuthority,
    });
    let n = &facts.narrative;
    let sections = match template {
        NoticeTemplate::GdprAuthority => vec![
            section(
                "Nature of the breach",
                "Art. 33(3)(a): nature, categories and approximate number of data subjects and records",
                description(facts),
            ),
            section("Who and what is concerned", "Art. 33(3)(a)", scope(facts)),
            section("Contact point", "Art. 33(3)(b): name and contact details of the DPO or other contact point", opt(&n.contact, "narrative.contact")),
            section("Likely consequences", "Art. 33(3)(c)", opt(&n.likely_consequences, "narrative.likely_consequences")),
            section(
                "Measures taken or proposed",
                "Art. 33(3)(d): including measures to mitigate possible adverse effects",
                opt(&n.measures_taken, "narrative.measures_taken"),
            ),
            section(
                "Reasons for any delay",
                "Art. 33(1): required when notifying after 72 hours",
                Content::Filled(match facts.moments.awareness {
                    Some(t) => format!("Aware since {t}. State reasons here if notifying after 72 hours."),
                    None => "[MISSING: moments.awareness]".into(),
                }),
            ),
        ],
        NoticeTemplate::GdprIndividuals => vec![
            section("What happened", "Art. 34(2): in clear and plain language", description(facts)),
            section("Contact point", "Art. 34(2) with 33(3)(b)", opt(&n.contact, "narrative.contact")),
            section("Likely consequences", "Art. 34(2) with 33(3)(c)", opt(&n.likely_consequences, "narrative.likely_consequences")),
            section("What we are doing", "Art. 34(2) with 33(3)(d)", opt(&n.measures_taken, "narrative.measures_taken")),
            section("What you can do", "EDPB guidance: advice to protect themselves", opt(&n.steps_for_individuals, "narrative.steps_for_individuals")),
        ],
        NoticeTemplate::HipaaIndividuals => vec![
            section(
                "What happened",
                "45 CFR 164.404(c)(1)(A): brief description, with the date of the breach and the date of discovery",
                description(facts),
            ),
            section("What information was involved", "164.404(c)(1)(B): types of unsecured PHI", categories(facts)),
            section("What you can do", "164.404(c)(1)(C): steps individuals should take", opt(&n.steps_for_individuals, "narrative.steps_for_individuals")),
            section(
                "What we are doing",
                "164.404(c)(1)(D): investigating, mitigating harm, protecting against further breaches",
                opt(&n.measures_taken, "narrative.measures_taken"),
            ),
            section(
                "For more information",
                "164.404(c)(1)(E): contact procedures, including a toll-free number, email, website or postal address",
                opt(&n.contact, "narrative.contact"),
            ),
        ],
        NoticeTemplate::Sec8k => vec![
            section(
                "Nature, scope and timing",
                "Form 8-K Item 1.05(a): material aspects of the nature, scope and timing of the incident",
                description(facts),
            ),
            section(
                "Material impact",
                "Item 1.05(a): material impact or reasonably likely material impact, including on financial condition and results of operations",
                opt(&n.material_impact, "narrative.material_impact"),
            ),
            section(
                "Information not yet available",
                "Item 1.05 Instruction 2: say so, and amend within four business days once known",
                Content::Filled("List here any required information not determined or unavailable at filing. Technical details that would impede the response need not be disclosed.".into()),
            ),
        ],
        NoticeTemplate::UsStateIndividuals => vec![
            section("What happened", "State breach laws: general description, with dates", description(facts)),
            section("What information was involved", "Types of personal information", categories(facts)),
            section("What we are doing", "Steps taken to protect against further access", opt(&n.measures_taken, "narrative.measures_taken")),
            section("What you can do", "Advice; fraud alerts and security freezes", opt(&n.steps_for_individuals, "narrative.steps_for_individuals")),
            section("For more information", "Contact information of the business", opt(&n.contact, "narrative.contact")),
            section(
                "Credit bureaus and the FTC",
                "Many states (e.g. CA, NY, NC, MD): toll-free numbers and addresses of the bureaus and the FTC",
                Content::Missing("contact details of the credit bureaus and the FTC, and any state-specific wording (e.g. the California 'Notice of Data Breach' headings)".into()),
            ),
        ],
        NoticeTemplate::Nis2 => vec![
            section(
                "Early-warning questions",
                "Directive 2022/2555 Art. 23(4)(a): suspected unlawful or malicious act? possible cross-border impact?",
                Content::Missing("whether the incident is suspected to be malicious and whether it may have a cross-border impact".into()),
            ),
            section(
                "Initial assessment",
                "Art. 23(4)(b): severity and impact, indicators of compromise",
                description(facts),
            ),
            section(
                "Final report",
                "Art. 23(4)(d): detailed description, root cause, mitigation applied and ongoing, cross-border impact",
                opt(&n.measures_taken, "narrative.measures_taken (mitigation) and the root cause"),
            ),
        ],
        NoticeTemplate::GenericAuthority => vec![
            section("Reporting organisation", "Identity of the reporting entity", opt(&facts.organisation.name, "organisation.name")),
            section("What happened", "Description, with dates", description(facts)),
            section("Who and what is concerned", "Data categories and numbers", scope(facts)),
            section("Measures", "Response and mitigation", opt(&n.measures_taken, "narrative.measures_taken")),
            section("Contact", "Contact point", opt(&n.contact, "narrative.contact")),
        ],
        NoticeTemplate::GenericIndividuals => vec![
            section("What happened", "Description, with dates", description(facts)),
            section("What information was involved", "Data categories", categories(facts)),
            section("What we are doing", "Measures", opt(&n.measures_taken, "narrative.measures_taken")),
            section("What you can do", "Advice", opt(&n.steps_for_individuals, "narrative.steps_for_individuals")),
            section("Contact", "Contact point", opt(&n.contact, "narrative.contact")),
        ],
    };
    Draft {
        rule_id: ob.rule_id.clone(),
        title: format!("{} — {}", ob.regime, ob.title),
        recipient: match &ob.recipient_detail {
            Some(d) => d.clone(),
            None => ob.recipient.name().to_string(),
        },
        citation: ob.citation.clone(),
        sections,
    }
}

/// Drafts for every obligation of an assessment, in deadline order.
pub fn drafts(a: &crate::engine::Assessment, facts: &Facts, table: &RulesTable) -> Vec<Draft> {
    a.obligations.iter().map(|ob| draft(ob, facts, table)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute;

    const EXAMPLE: &str = include_str!("../examples/facts.toml");

    #[test]
    fn gdpr_draft_is_filled_from_the_example() {
        let facts = Facts::from_toml(EXAMPLE).unwrap();
        let table = RulesTable::builtin().unwrap();
        let a = compute(&facts, &table);
        let ob = a.obligations.iter().find(|o| o.rule_id == "gdpr-33").unwrap();
        let d = draft(ob, &facts, &table);
        assert!(d.is_complete(), "{}", d.to_markdown());
        let md = d.to_markdown();
        assert!(md.contains("Art. 33(3)(b)"), "{md}");
        assert!(md.contains("privacy@example.com"), "{md}");
        assert!(md.contains("1200 residents of US-CA"), "{md}");
    }

    #[test]
    fn every_obligation_of_the_example_gets_a_draft() {
        let facts = Facts::from_toml(EXAMPLE).unwrap();
        let table = RulesTable::builtin().unwrap();
        let a = compute(&facts, &table);
        let all = drafts(&a, &facts, &table);
        assert_eq!(all.len(), a.obligations.len());
        let sec = all.iter().find(|d| d.rule_id == "us-ca-individuals").unwrap();
        assert!(sec.to_markdown().contains("[MISSING: contact details of the credit bureaus"));
    }

    #[test]
    fn hipaa_draft_snapshot() {
        let facts = Facts::from_toml(EXAMPLE).unwrap();
        let mut facts = facts;
        facts.data = vec![crate::facts::DataCategory::Health];
        facts.organisation.entity_types = vec![crate::facts::EntityType::HipaaCoveredEntity];
        let table = RulesTable::builtin().unwrap();
        let a = compute(&facts, &table);
        let ob = a.obligations.iter().find(|o| o.rule_id == "us-hipaa-individuals").unwrap();
        insta::assert_snapshot!(draft(ob, &facts, &table).to_markdown());
    }

    #[test]
    fn missing_facts_become_named_placeholders() {
        let facts = Facts::from_toml(
            "data = [\"health\"]\n[moments]\ndiscovery = \"2026-05-04T14:00:00Z\"\n[[affected]]\ncountry = \"US\"\ncount = 3\n[organisation]\nentity_types = [\"hipaa_covered_entity\"]\n",
        )
        .unwrap();
        let table = RulesTable::builtin().unwrap();
        let a = compute(&facts, &table);
        let ob = a.obligations.iter().find(|o| o.rule_id == "us-hipaa-individuals").unwrap();
        let d = draft(ob, &facts, &table);
        assert!(!d.is_complete());
        let md = d.to_markdown();
        assert!(md.contains("[MISSING: narrative.what_happened]"), "{md}");
        assert!(md.contains("164.404(c)(1)(E)"), "{md}");
        assert!(md.contains("health"), "{md}");
    }
}
