//! Communication templates — internal update, status update for users, executive summary — and
//! the `{{variable}}` substitution that fills them from an incident.
//!
//! The substitution is written here rather than taken from a template engine: it needs no
//! loops, conditions or escaping (the output is plain text for people to review before it is
//! sent), and a dozen lines that refuse unknown variables at configuration time are easier to
//! trust than a language whose mistakes show up only when a message is drafted.

use std::collections::BTreeMap;

/// The variables a template may use.
pub const VARIABLES: &[(&str, &str)] = &[
    ("id", "the incident's number"),
    ("title", "its title"),
    ("summary", "its summary"),
    ("severity", "SEV1 … SEV4"),
    ("severity_definition", "what the severity means"),
    ("status", "its phase: detected, triage, containment, …"),
    ("opened_at", "when it was opened (UTC)"),
    ("updated_at", "when it last changed (UTC)"),
    ("contained_at", "when containment began, or `not yet`"),
    ("now", "the time of the draft (UTC)"),
    ("commander", "who holds the incident commander role, or `not assigned`"),
    ("open_task_count", "how many tasks are open"),
    ("open_tasks", "the open tasks, one per line"),
    ("decision_count", "how many containment decisions are in force"),
    ("decisions", "the containment decisions in force, one per line"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub subject: String,
    pub body: String,
}

/// The built-in templates.
pub fn builtin() -> Vec<Template> {
    let template = |name: &str, subject: &str, body: &str| Template {
        name: name.to_owned(),
        subject: subject.to_owned(),
        body: body.to_owned(),
    };
    vec![
        template(
            "internal_update",
            "[{{severity}}] Incident {{id}} update: {{title}} ({{status}})",
            "Internal update on incident {{id}}: {{title}}\n\
             \n\
             Severity: {{severity}} — {{severity_definition}}\n\
             Status: {{status}} (opened {{opened_at}}, contained: {{contained_at}})\n\
             Incident commander: {{commander}}\n\
             \n\
             What we know:\n{{summary}}\n\
             \n\
             Containment in force ({{decision_count}}):\n{{decisions}}\n\
             \n\
             Open tasks ({{open_task_count}}):\n{{open_tasks}}\n\
             \n\
             Next update: \n\
             \n\
             Sent {{now}}. Internal: do not forward outside the response team.\n",
        ),
        template(
            "status_update",
            "Service status update: {{title}}",
            "We are investigating a security issue affecting our service, first noticed at \
             {{opened_at}}.\n\
             \n\
             Current status: {{status}}.\n\
             \n\
             What this means for you: \n\
             \n\
             What we are doing: our team is working on it and has taken measures to contain \
             it. We will post another update as soon as we know more.\n\
             \n\
             Updated {{now}}.\n",
        ),
        template(
            "executive_summary",
            "Executive summary — incident {{id}}: {{title}} ({{severity}})",
            "Incident {{id}}: {{title}}\n\
             \n\
             Severity: {{severity}} — {{severity_definition}}\n\
             Phase: {{status}}; opened {{opened_at}}; contained: {{contained_at}}\n\
             Led by: {{commander}}\n\
             \n\
             Summary:\n{{summary}}\n\
             \n\
             Containment decisions in force: {{decision_count}}\n\
             Open tasks: {{open_task_count}}\n\
             \n\
             Business impact: \n\
             Decisions needed from leadership: \n\
             \n\
             As of {{now}}.\n",
        ),
    ]
}

/// The variable names in `text`, in order; an unclosed `{{` is an error.
fn variables(text: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| "a `{{` is never closed with `}}`".to_owned())?;
        found.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(found)
}

/// Checks that every `{{variable}}` in `text` is known.
pub fn check(text: &str) -> Result<(), String> {
    for name in variables(text)? {
        if !VARIABLES.iter().any(|(known, _)| *known == name) {
            let known: Vec<&str> = VARIABLES.iter().map(|(name, _)| *name).collect();
            return Err(format!("unknown variable `{{{{{name}}}}}`; known: {}", known.join(", ")));
        }
    }
    Ok(())
}

/// Fills every `{{variable}}` of `text` from `values`. Values are inserted as they are: a
/// value that itself contains `{{…}}` is not expanded again.
pub fn render(text: &str, values: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| "a `{{` is never closed with `}}`".to_owned())?;
        let name = after[..end].trim();
        let value = values.get(name).ok_or_else(|| format!("unknown variable `{name}`"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_once_and_unknown_ones_refused() {
        let values: BTreeMap<&str, String> =
            [("title", "Stuffing {{id}}".to_owned()), ("id", "7".to_owned())].into();
        assert_eq!(render("#{{id}}: {{ title }}!", &values).unwrap(), "#7: Stuffing {{id}}!");
        assert!(render("{{nope}}", &values).unwrap_err().contains("nope"));
        assert!(render("{{id", &values).is_err());
        assert!(check("{{severity}} {{open_tasks}}").is_ok());
        assert!(check("{{severty}}").unwrap_err().contains("severty"));
    }

    #[test]
    fn the_builtin_templates_use_only_known_variables() {
        for template in builtin() {
            check(&template.subject).unwrap();
            check(&template.body).unwrap();
        }
    }
}
