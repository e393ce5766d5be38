//! Per-regime deadline tables: one rule, several anchor instants, the exact UTC deadline each
//! gives — across daylight-saving changes, weekends, holidays where counted, and year ends.

use firebreak_comply::{Facts, RulesTable, compute};

/// The deadline code of `rule` for facts built from `template` with `{}` replaced by `at`.
fn code(rule: &str, template: &str, at: &str) -> String {
    let facts = Facts::from_toml(&template.replace("{}", at)).unwrap();
    let a = compute(&facts, &RulesTable::builtin().unwrap());
    match a.obligations.iter().find(|o| o.rule_id == rule) {
        Some(o) => o.deadline.code(),
        None => format!("not owed: {:?}", a.not_triggered.iter().find(|n| n.rule_id == rule)),
    }
}

fn table(rule: &str, template: &str, rows: &[(&str, &str)]) {
    let mut bad = Vec::new();
    for (at, want) in rows {
        let got = code(rule, template, at);
        if got != *want {
            bad.push(format!("{rule} at {at}: want {want}, got {got}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn gdpr_72_hours_of_elapsed_time() {
    let t = "[moments]\nawareness = \"{}\"\n[[affected]]\ncountry = \"NL\"\ncount = 5\n[risk]\nlevel = \"risk\"\n";
    table(
        "gdpr-33",
        t,
        &[
            // Across the EU DST start (29 March 2026, 01:00 UTC) and end (25 October).
            ("2026-03-28T12:00:00Z", "asap 2026-03-31T12:00:00Z"),
            ("2026-10-24T23:59:00Z", "asap 2026-10-27T23:59:00Z"),
            ("2026-12-30T18:00:00Z", "asap 2027-01-02T18:00:00Z"),
        ],
    );
}

#[test]
fn sec_four_business_days_with_federal_holidays() {
    let t = "[moments]\nmateriality_determination = \"{}\"\n[organisation]\nentity_types = [\"sec_registrant\"]\n[risk]\nmaterial = true\n";
    table(
        "us-sec-8k-105",
        t,
        &[
            // Monday: Tue, Wed, Thu, Fri.
            ("2026-03-02T15:00:00Z", "due 2026-03-07T04:59:59Z"),
            // Friday before the US DST change: Mon 9 … Thu 12 March, EDT.
            ("2026-03-06T15:00:00Z", "due 2026-03-13T03:59:59Z"),
            // Wed 29 Dec 2027; 1 Jan 2028 is a Saturday, observed Fri 31 Dec: Thu 30, Mon 3, Tue 4, Wed 5.
            ("2027-12-29T15:00:00Z", "due 2028-01-06T04:59:59Z"),
            // Friday 15 Jan 2027; Mon 18 is MLK Day: Tue 19 … Fri 22.
            ("2027-01-15T15:00:00Z", "due 2027-01-23T04:59:59Z"),
            // Saturday determination: the four days start Monday.
            ("2026-05-16T15:00:00Z", "due 2026-05-22T03:59:59Z"),
            // Thursday 21 May 2026; Memorial Day Mon 25: Fri 22, Tue 26, Wed 27, Thu 28.
            ("2026-05-21T15:00:00Z", "due 2026-05-29T03:59:59Z"),
        ],
    );
}

#[test]
fn lgpd_three_business_days_with_brazilian_holidays() {
    let t = "[moments]\nawareness = \"{}\"\n[[affected]]\ncountry = \"BR\"\ncount = 5\n[risk]\nlevel = \"risk\"\n";
    table(
        "br-lgpd-anpd",
        t,
        &[
            // Carnival (16–17 Feb 2026) is only optional: counted as working days.
            ("2026-02-13T15:00:00Z", "due 2026-02-19T02:59:59Z"),
            // Friday 17 April; Tiradentes on Tuesday 21: Mon 20, Wed 22, Thu 23.
            ("2026-04-17T15:00:00Z", "due 2026-04-24T02:59:59Z"),
            // 30 December 2026 (Wed): Thu 31, (1 Jan holiday), Mon 4, Tue 5 January.
            ("2026-12-30T15:00:00Z", "due 2027-01-06T02:59:59Z"),
            // 02:00 UTC on 8 Sept is still 7 Sept (Independence Day) in São Paulo: Tue 8, Wed 9, Thu 10.
            ("2026-09-08T02:00:00Z", "due 2026-09-11T02:59:59Z"),
        ],
    );
}

#[test]
fn hipaa_sixty_days_and_the_annual_log() {
    let t = "data = [\"health\"]\n[moments]\ndiscovery = \"{}\"\n[[affected]]\ncountry = \"US\"\ncount = 10\n[organisation]\nentity_types = [\"hipaa_covered_entity\"]\n";
    table(
        "us-hipaa-individuals",
        t,
        &[
            // 60 days from 1 Jan 2026 (a leap-free year) is 2 March, EST.
            ("2026-01-01T15:00:00Z", "asap 2026-03-03T04:59:59Z"),
            // 3 Nov 2026 → 2 Jan 2027 across the DST end and the year end.
            ("2026-11-03T15:00:00Z", "asap 2027-01-03T04:59:59Z"),
            // 1 Jan 2028 → 1 March 2028 in a leap year.
            ("2028-01-01T15:00:00Z", "asap 2028-03-02T04:59:59Z"),
        ],
    );
    table(
        "us-hipaa-hhs-log",
        t,
        &[
            ("2026-01-01T15:00:00Z", "due 2027-03-02T04:59:59Z"),
            // 1 Jan 2027 03:00 UTC is still 31 Dec 2026 in New York: the 2026 log.
            ("2027-01-01T03:00:00Z", "due 2027-03-02T04:59:59Z"),
            // Discovered in 2027: due 29 Feb 2028 (leap year).
            ("2027-06-01T15:00:00Z", "due 2028-03-01T04:59:59Z"),
        ],
    );
}

#[test]
fn nis2_hours_and_month() {
    let t = "[moments]\nawareness = \"{}\"\n[organisation]\nentity_types = [\"essential_entity\"]\nestablished_in = [\"PL\"]\n[risk]\nsignificant_incident = true\n";
    table("nis2-early-warning", t, &[("2026-03-29T00:30:00Z", "asap 2026-03-30T00:30:00Z")]);
    table(
        "nis2-final",
        t,
        &[
            // Notification due 3 Feb 10:00Z (12:00 EET) → 3 March 23:59:59 EET.
            ("2026-01-31T10:00:00Z", "after nis2-notification | 2026-03-03T21:59:59Z"),
            // Notification due 31 Dec 22:30Z = 1 Jan 00:30 EET → 1 Feb.
            ("2026-12-28T22:30:00Z", "after nis2-notification | 2027-02-01T21:59:59Z"),
        ],
    );
}

#[test]
fn state_calendar_days_in_the_state_zone() {
    let t = "data = [\"government_identifiers\"]\n[moments]\ndiscovery = \"{}\"\ndetermination = \"{}\"\n[[affected]]\ncountry = \"US\"\nstate = \"WA\"\ncount = 600\n";
    table(
        "us-wa-ag",
        t,
        &[
            // 07:00 UTC on 1 March is still 28 Feb in Seattle: 30 days → 30 March, PDT.
            ("2026-03-01T07:00:00Z", "due 2026-03-31T06:59:59Z"),
            ("2026-12-15T20:00:00Z", "due 2027-01-15T07:59:59Z"),
        ],
    );
    let t = t.replace("\"WA\"", "\"AZ\"").replace("600", "1001");
    // Arizona keeps standard time all year.
    table("us-az-ag", &t, &[("2026-03-01T12:00:00Z", "due 2026-04-16T06:59:59Z")]);
}

#[test]
fn singapore_and_cert_in() {
    let t = "[moments]\nassessment = \"{}\"\ndiscovery = \"{}\"\n[[affected]]\ncountry = \"SG\"\ncount = 500\n[[affected]]\ncountry = \"IN\"\ncount = 1\n[risk]\nlevel = \"low\"\ncert_in_listed = true\n";
    table(
        "sg-pdpa-pdpc",
        t,
        &[
            // 500 is enough (≥ 500). 16:30 UTC is already the next day in Singapore.
            ("2026-06-01T16:30:00Z", "asap 2026-06-05T15:59:59Z"),
        ],
    );
    table("in-cert-in", t, &[("2026-12-31T21:00:00Z", "due 2027-01-01T03:00:00Z")]);
}

#[test]
fn dora_initial_four_hours_capped_at_twenty_four() {
    let t = "[moments]\nawareness = \"2026-03-10T08:00:00Z\"\nclassification = \"{}\"\n[organisation]\nentity_types = [\"financial_entity_dora\"]\nestablished_in = [\"DE\"]\n[risk]\nmajor_ict_incident = true\n";
    table(
        "dora-initial",
        t,
        &[
            ("2026-03-10T08:30:00Z", "due 2026-03-10T12:30:00Z"),
            // Classified 23 h after awareness: one hour left under the 24-hour cap.
            ("2026-03-11T07:00:00Z", "due 2026-03-11T08:00:00Z"),
            // Classified after the cap has passed: four hours from classification.
            ("2026-03-11T09:00:00Z", "due 2026-03-11T13:00:00Z"),
        ],
    );
}

#[test]
fn us_federal_hours_and_days() {
    let bank = "[moments]\ndetermination = \"{}\"\n[organisation]\nentity_types = [\"bank\"]\n[risk]\nnotification_incident = true\n";
    // 36 elapsed hours across the US DST start (8 March 2026).
    table("us-bank-36h", bank, &[("2026-03-07T20:00:00Z", "asap 2026-03-09T08:00:00Z")]);
    let glba = "[moments]\ndiscovery = \"{}\"\n[[affected]]\ncountry = \"US\"\ncount = 800\n[organisation]\nentity_types = [\"glba_financial_institution\"]\n";
    // 20 Oct + 30 days = 19 Nov, after the DST end: 23:59:59 EST.
    table("us-glba-safeguards", glba, &[("2026-10-20T12:00:00Z", "asap 2026-11-20T04:59:59Z")]);
    let hbnr = "data = [\"health\"]\n[moments]\ndiscovery = \"{}\"\n[[affected]]\ncountry = \"US\"\ncount = 10\n[organisation]\nentity_types = [\"phr_vendor\"]\n";
    // 31 Dec 01:00 EST + 60 days = 1 March 2027.
    table(
        "us-ftc-hbnr-individuals",
        hbnr,
        &[("2026-12-31T06:00:00Z", "asap 2027-03-02T04:59:59Z")],
    );
    let nydfs = "[moments]\ndetermination = \"{}\"\nransom_payment = \"{}\"\n[organisation]\nentity_types = [\"nydfs_covered\"]\n[risk]\nreportable_cybersecurity_incident = true\nransom_paid = true\n";
    table("us-nydfs-500-17", nydfs, &[("2026-03-06T18:00:00Z", "due 2026-03-09T18:00:00Z")]);
    // Paid 1 Oct 23:00 EDT: 30 days → 31 Oct, 23:59:59 EDT.
    table(
        "us-nydfs-ransom-justification",
        nydfs,
        &[("2026-10-02T03:00:00Z", "due 2026-11-01T03:59:59Z")],
    );
}

#[test]
fn vermont_fourteen_business_days_over_holidays() {
    let t = "data = [\"government_identifiers\"]\n[moments]\ndiscovery = \"{}\"\n[[affected]]\ncountry = \"US\"\nstate = \"VT\"\ncount = 3\n";
    table(
        "us-vt-ag",
        t,
        &[
            // Christmas (Fri 25 Dec) and New Year's Day (Fri 1 Jan) skipped: Tue 5 Jan 2027.
            ("2026-12-14T15:00:00Z", "after us-vt-individuals | 2027-01-06T04:59:59Z"),
            // Juneteenth (Fri 19 June) and the observed 4 July (Fri 3 July) skipped: Mon 6 July.
            ("2026-06-12T15:00:00Z", "after us-vt-individuals | 2026-07-07T03:59:59Z"),
        ],
    );
}

#[test]
fn other_countries_days_and_hours() {
    let au = "[moments]\nsuspected = \"{}\"\nransom_payment = \"{}\"\n[[affected]]\ncountry = \"AU\"\ncount = 3\n[organisation]\nestablished_in = [\"AU\"]\nentity_types = [\"critical_infrastructure\"]\n[risk]\nransom_paid = true\n";
    // Sydney starts daylight time on 4 Oct 2026: 4 Oct 00:00 AEST + 30 days = 3 Nov, AEDT.
    table("au-ndb-assessment", au, &[("2026-10-03T14:00:00Z", "asap 2026-11-03T12:59:59Z")]);
    table("au-ransom", au, &[("2026-04-04T15:30:00Z", "due 2026-04-07T15:30:00Z")]);
    let jp = "data = [\"health\"]\n[moments]\nawareness = \"{}\"\n[[affected]]\ncountry = \"JP\"\ncount = 5\n";
    // 28 Feb 01:00 JST + 30 days = 30 March.
    table("jp-appi-ppc-final", jp, &[("2026-02-27T16:00:00Z", "due 2026-03-30T14:59:59Z")]);
    let uk = "[moments]\nawareness = \"{}\"\n[[affected]]\ncountry = \"GB\"\ncount = 5\n[risk]\nlevel = \"high\"\n";
    table("uk-gdpr-33", uk, &[("2026-10-24T12:00:00Z", "asap 2026-10-27T12:00:00Z")]);
}
