//! The war-room contact list, for when e-mail and chat are down: every person on the roster
//! with how to reach them, the roles they can hold, and who is on call — as CSV, vCard 4.0, a
//! one-page printable HTML page, and PDF.

use firebreak_core::{Person, ResponseRole};
use jiff::Timestamp;

use crate::pdf::{self, Line};

/// What the list is made of.
#[derive(Debug, Clone)]
pub struct Roster<'a> {
    pub people: &'a [Person],
    pub on_call: &'a [(ResponseRole, Person)],
    pub generated_at: Timestamp,
}

fn roles_of(person: &Person) -> String {
    person.roles.iter().map(|role| role.title()).collect::<Vec<_>>().join("; ")
}

fn on_call_roles(roster: &Roster<'_>, person: &Person) -> String {
    roster
        .on_call
        .iter()
        .filter(|(_, p)| p.id == person.id)
        .map(|(role, _)| role.title())
        .collect::<Vec<_>>()
        .join("; ")
}

/// RFC 4180 CSV; cells a spreadsheet would run as formulas are prefixed with an apostrophe.
pub fn csv(roster: &Roster<'_>) -> String {
    fn cell(text: &str) -> String {
        let text = if text.starts_with(['=', '+', '-', '@']) {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    }
    let mut out = String::from("name,email,phone,time_zone,can_hold,on_call_for\r\n");
    for person in roster.people {
        let row = [
            person.name.clone(),
            person.email.clone(),
            person.phone.clone().unwrap_or_default(),
            person.time_zone.clone(),
            roles_of(person),
            on_call_roles(roster, person),
        ];
        out.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// vCard 4.0 (RFC 6350), one card per person, lines folded at 75 octets.
pub fn vcard(roster: &Roster<'_>) -> String {
    fn escape(text: &str) -> String {
        text.replace('\\', "\\\\").replace(',', "\\,").replace(';', "\\;").replace('\n', "\\n")
    }
    fn fold(line: &str, out: &mut String) {
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > 75 {
                out.push_str("\r\n ");
                width = 1;
            }
            out.push(c);
            width += c.len_utf8();
        }
        out.push_str("\r\n");
    }
    let mut out = String::new();
    for person in roster.people {
        fold("BEGIN:VCARD", &mut out);
        fold("VERSION:4.0", &mut out);
        fold(&format!("FN:{}", escape(&person.name)), &mut out);
        fold(&format!("EMAIL:{}", escape(&person.email)), &mut out);
        if let Some(phone) = &person.phone {
            fold(&format!("TEL;TYPE=cell:{}", escape(phone)), &mut out);
        }
        fold(&format!("TZ:{}", escape(&person.time_zone)), &mut out);
        let roles = roles_of(person);
        if !roles.is_empty() {
            fold(&format!("ROLE:{}", escape(&roles)), &mut out);
        }
        let on_call = on_call_roles(roster, person);
        if !on_call.is_empty() {
            fold(&format!("NOTE:{}", escape(&format!("On call: {on_call}"))), &mut out);
        }
        fold("END:VCARD", &mut out);
    }
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// One printable page; everything escaped, no scripts, no external resources.
pub fn html(roster: &Roster<'_>) -> String {
    let mut rows = String::new();
    for person in roster.people {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            html_escape(&person.name),
            html_escape(person.phone.as_deref().unwrap_or("")),
            html_escape(&person.email),
            html_escape(&person.time_zone),
            html_escape(&roles_of(person)),
            html_escape(&on_call_roles(roster, person)),
        ));
    }
    let mut on_call = String::new();
    for (role, person) in roster.on_call {
        on_call.push_str(&format!(
            "<li><b>{}</b>: {} — {}</li>\n",
            html_escape(&role.title()),
            html_escape(&person.name),
            html_escape(person.phone.as_deref().unwrap_or(&person.email))
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Incident response contacts</title>\n\
         <style>@page {{ size: A4; margin: 12mm }} body {{ font: 10pt sans-serif }} table {{ border-collapse: collapse; width: 100% }} \
         td, th {{ border: 1px solid #999; padding: 3px 5px; text-align: left }} h1 {{ font-size: 15pt }}</style></head>\n\
         <body><h1>Incident response contacts</h1>\n<p>Generated {} (UTC). Keep a printed copy: it is for when e-mail and chat are down.</p>\n\
         <h2>On call</h2><ul>\n{on_call}</ul>\n<h2>Everyone</h2>\n<table><tr><th>Name</th><th>Phone</th><th>E-mail</th><th>Time zone</th><th>Can hold</th><th>On call for</th></tr>\n{rows}</table>\n</body></html>\n",
        roster.generated_at.strftime("%Y-%m-%d %H:%M"),
    )
}

/// The same list as a PDF.
pub fn pdf(roster: &Roster<'_>) -> Vec<u8> {
    let mut lines = vec![
        Line { text: "Incident response contacts".into(), size: 16.0, bold: true },
        Line {
            text: format!(
                "Generated {} (UTC). Keep a printed copy.",
                roster.generated_at.strftime("%Y-%m-%d %H:%M")
            ),
            size: 9.0,
            bold: false,
        },
        Line { text: "On call".into(), size: 12.0, bold: true },
    ];
    for (role, person) in roster.on_call {
        lines.push(Line {
            text: format!(
                "{}: {}, {}",
                role.title(),
                person.name,
                person.phone.as_deref().unwrap_or(&person.email)
            ),
            size: 10.0,
            bold: false,
        });
    }
    lines.push(Line { text: "Everyone".into(), size: 12.0, bold: true });
    for person in roster.people {
        lines.push(Line { text: person.name.clone(), size: 10.0, bold: true });
        lines.push(Line {
            text: format!(
                "   {}   {}   {}",
                person.phone.as_deref().unwrap_or("-"),
                person.email,
                person.time_zone
            ),
            size: 9.0,
            bold: false,
        });
        let roles = roles_of(person);
        if !roles.is_empty() {
            lines.push(Line { text: format!("   can hold: {roles}"), size: 9.0, bold: false });
        }
    }
    pdf::render("Incident response contacts", &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> Vec<Person> {
        vec![
            Person {
                id: 1,
                name: "Ana \"Ops\" Lima".into(),
                email: "ana@example.org".into(),
                phone: Some("+351 21 000 0000".into()),
                time_zone: "Europe/Lisbon".into(),
                roles: vec![ResponseRole::IncidentCommander],
            },
            Person {
                id: 2,
                name: "=HYPERLINK(\"x\")".into(),
                email: "eve@example.org".into(),
                phone: None,
                time_zone: "UTC".into(),
                roles: vec![],
            },
        ]
    }

    #[test]
    fn every_format_carries_everyone_safely() {
        let people = people();
        let on_call = vec![(ResponseRole::IncidentCommander, people[0].clone())];
        let roster = Roster {
            people: &people,
            on_call: &on_call,
            generated_at: "2026-07-01T00:00:00Z".parse().unwrap(),
        };
        let csv = csv(&roster);
        // A spreadsheet reads a leading `+` as a formula too; the apostrophe keeps it text.
        assert!(csv.contains("\"Ana \"\"Ops\"\" Lima\",ana@example.org,'+351 21 000 0000,Europe/Lisbon,incident commander,incident commander"), "{csv}");
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
        let vcard = vcard(&roster);
        assert_eq!(vcard.matches("BEGIN:VCARD").count(), 2);
        assert!(vcard.contains("NOTE:On call: incident commander"));
        assert!(vcard.lines().all(|l| l.len() <= 75));
        let html = html(&roster);
        assert!(html.contains("Ana &quot;Ops&quot; Lima") && !html.contains("<script"));
        let pdf = pdf(&roster);
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    }
}
