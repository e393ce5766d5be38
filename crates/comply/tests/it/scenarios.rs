//! Multi-jurisdiction incidents with the obligations and deadlines the statutes give, worked out
//! by hand from the rule text (calendar days end at 23:59:59 local time in the rule's zone).

use crate::{Case, check_all};

const CASES: &[Case] = &[
    Case {
        name: "1,200 California and 300 German residents, email+password, unencrypted, high risk",
        facts: r#"
data = ["credentials"]
[moments]
discovery = "2026-03-02T17:00:00Z"
awareness = "2026-03-02T17:00:00Z"
[[affected]]
country = "US"
state = "CA"
count = 1200
[[affected]]
country = "DE"
count = 300
[organisation]
established_in = ["US"]
[risk]
level = "high"
"#,
        owed: &[
            ("gdpr-33", "asap 2026-03-05T17:00:00Z"),
            ("gdpr-34", "asap"),
            // 2 March 09:00 PST + 30 days = 1 April, 23:59:59 PDT.
            ("us-ca-individuals", "asap 2026-04-02T06:59:59Z"),
            // 15 days after the consumer notice; at the latest 16 April 23:59:59 PDT.
            ("us-ca-ag", "after us-ca-individuals | 2026-04-17T06:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "same incident, encrypted with the key safe: only GDPR Art. 33 remains",
        facts: r#"
data = ["credentials"]
encryption = { encrypted = true }
[moments]
discovery = "2026-03-02T17:00:00Z"
awareness = "2026-03-02T17:00:00Z"
[[affected]]
country = "US"
state = "CA"
count = 1200
[[affected]]
country = "DE"
count = 300
[risk]
level = "high"
"#,
        owed: &[("gdpr-33", "asap 2026-03-05T17:00:00Z")],
        not: &[
            ("gdpr-34", "encrypted and the key was not compromised"),
            ("us-ca-individuals", "encrypted"),
            ("us-ca-ag", "encrypted"),
        ],
    },
    Case {
        name: "same incident, encrypted but the key was stolen too: no exemption anywhere",
        facts: r#"
data = ["credentials"]
encryption = { encrypted = true, key_compromised = true }
[moments]
discovery = "2026-03-02T17:00:00Z"
awareness = "2026-03-02T17:00:00Z"
[[affected]]
country = "US"
state = "CA"
count = 1200
[[affected]]
country = "DE"
count = 300
[risk]
level = "high"
"#,
        owed: &[
            ("gdpr-33", "asap 2026-03-05T17:00:00Z"),
            ("gdpr-34", "asap"),
            ("us-ca-individuals", "asap 2026-04-02T06:59:59Z"),
            ("us-ca-ag", "after us-ca-individuals | 2026-04-17T06:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "California consumer notice already sent: AG sample due 15 days later",
        facts: r#"
data = ["government_identifiers"]
[moments]
discovery = "2026-03-02T17:00:00Z"
[[affected]]
country = "US"
state = "CA"
count = 501
[notices_sent]
us-ca-individuals = "2026-03-20T18:00:00Z"
"#,
        owed: &[
            ("us-ca-individuals", "asap 2026-04-02T06:59:59Z"),
            ("us-ca-ag", "due 2026-04-05T06:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "exactly 500 Californians: the AG threshold is more than 500",
        facts: r#"
data = ["payment_cards"]
[moments]
discovery = "2026-03-02T17:00:00Z"
[[affected]]
country = "US"
state = "CA"
count = 500
"#,
        owed: &[("us-ca-individuals", "asap 2026-04-02T06:59:59Z"), ("pci-dss-brands", "asap")],
        not: &[("us-ca-ag", "threshold > 500 not met")],
    },
    Case {
        name: "HIPAA covered entity, 501 Texans, unsecured PHI",
        facts: r#"
data = ["health"]
[moments]
discovery = "2026-05-04T14:00:00Z"
determination = "2026-05-06T15:00:00Z"
[[affected]]
country = "US"
state = "TX"
count = 501
[organisation]
entity_types = ["hipaa_covered_entity"]
"#,
        owed: &[
            // 4 May + 60 days = 3 July, 23:59:59 EDT.
            ("us-hipaa-individuals", "asap 2026-07-04T03:59:59Z"),
            ("us-hipaa-hhs-500", "after us-hipaa-individuals | 2026-07-04T03:59:59Z"),
            ("us-hipaa-media", "asap 2026-07-04T03:59:59Z"),
            // Texas counts from the determination, in Central time.
            ("us-tx-individuals", "asap 2026-07-06T04:59:59Z"),
            ("us-tx-ag", "due 2026-06-06T04:59:59Z"),
        ],
        not: &[
            ("us-tx-credit-bureaus", "threshold > 10000 not met"),
            ("us-hipaa-hhs-log", "< 500"),
        ],
    },
    Case {
        name: "HIPAA covered entity, exactly 500 in one state: HHS now, but no media",
        facts: r#"
data = ["health_insurance"]
[moments]
discovery = "2026-05-04T14:00:00Z"
[[affected]]
country = "US"
state = "OH"
count = 500
[organisation]
entity_types = ["hipaa_covered_entity"]
"#,
        owed: &[
            ("us-hipaa-individuals", "asap 2026-07-04T03:59:59Z"),
            ("us-hipaa-hhs-500", "after us-hipaa-individuals | 2026-07-04T03:59:59Z"),
            // Ohio: 45 days after discovery = 18 June, 23:59:59 EDT.
            ("us-oh-individuals", "asap 2026-06-19T03:59:59Z"),
        ],
        not: &[("us-hipaa-media", "no single US state has > 500")],
    },
    Case {
        name: "HIPAA covered entity, 499 people: the annual log, due 60 days after year end",
        facts: r#"
data = ["health"]
[moments]
discovery = "2026-05-04T14:00:00Z"
[[affected]]
country = "US"
count = 499
[organisation]
entity_types = ["hipaa_covered_entity"]
"#,
        owed: &[
            ("us-hipaa-individuals", "asap 2026-07-04T03:59:59Z"),
            // 31 Dec 2026 + 60 days = 1 March 2027, 23:59:59 EST.
            ("us-hipaa-hhs-log", "due 2027-03-02T04:59:59Z"),
        ],
        not: &[("us-hipaa-hhs-500", "threshold ≥ 500 not met")],
    },
    Case {
        name: "HIPAA: PHI encrypted but not to the HHS standard still owes HIPAA notice; the state law exempts it",
        facts: r#"
data = ["health"]
encryption = { encrypted = true }
[moments]
discovery = "2026-05-04T14:00:00Z"
[[affected]]
country = "US"
state = "WI"
count = 20
[organisation]
entity_types = ["hipaa_covered_entity"]
"#,
        owed: &[
            ("us-hipaa-individuals", "asap 2026-07-04T03:59:59Z"),
            ("us-hipaa-hhs-log", "due 2027-03-02T04:59:59Z"),
        ],
        not: &[("us-wi-individuals", "encrypted")],
    },
    Case {
        name: "HIPAA: PHI secured per HHS guidance removes the HIPAA duties",
        facts: r#"
data = ["health"]
encryption = { encrypted = true, hhs_secured = true }
[moments]
discovery = "2026-05-04T14:00:00Z"
[[affected]]
country = "US"
count = 20
[organisation]
entity_types = ["hipaa_covered_entity"]
"#,
        owed: &[],
        not: &[("us-hipaa-individuals", "secured as HHS guidance defines it")],
    },
    Case {
        name: "business associate tells the covered entity within 60 days",
        facts: r#"
data = ["health"]
[moments]
discovery = "2026-01-10T16:00:00Z"
[[affected]]
country = "US"
count = 20
[organisation]
entity_types = ["business_associate"]
"#,
        // 10 Jan + 60 days = 11 March, 23:59:59 EDT (DST began 8 March).
        owed: &[("us-hipaa-ba", "asap 2026-03-12T03:59:59Z")],
        not: &[],
    },
    Case {
        name: "listed company: materiality determined on the Thursday before the observed 4 July",
        facts: r#"
[moments]
materiality_determination = "2026-07-02T20:00:00Z"
[organisation]
entity_types = ["sec_registrant"]
[risk]
material = true
"#,
        // Fri 3 July is the observed holiday: Mon 6, Tue 7, Wed 8, Thu 9 → 23:59:59 EDT.
        owed: &[("us-sec-8k-105", "due 2026-07-10T03:59:59Z")],
        not: &[],
    },
    Case {
        name: "listed company: materiality determined the Wednesday before Thanksgiving, late evening",
        facts: r#"
[moments]
materiality_determination = "2026-11-26T03:30:00Z"
[organisation]
entity_types = ["sec_registrant"]
[risk]
material = true
"#,
        // 22:30 EST on Wed 25 Nov: Fri 27, Mon 30, Tue 1, Wed 2 December.
        owed: &[("us-sec-8k-105", "due 2026-12-03T04:59:59Z")],
        not: &[],
    },
    Case {
        name: "listed company, incident not material: no 8-K",
        facts: r#"
[moments]
materiality_determination = "2026-07-02T20:00:00Z"
[organisation]
entity_types = ["sec_registrant"]
[risk]
material = false
"#,
        owed: &[],
        not: &[("us-sec-8k-105", "risk.material = false")],
    },
    Case {
        name: "NIS2 essential entity in Germany, aware on the Saturday before the EU DST change",
        facts: r#"
[moments]
awareness = "2026-10-24T22:30:00Z"
[organisation]
entity_types = ["essential_entity"]
established_in = ["DE"]
[risk]
level = "low"
significant_incident = true
"#,
        owed: &[
            ("nis2-early-warning", "asap 2026-10-25T22:30:00Z"),
            ("nis2-notification", "asap 2026-10-27T22:30:00Z"),
            // Notification deadline is 28 Oct 00:30 EET → one month → 28 Nov 23:59:59 EET.
            ("nis2-final", "after nis2-notification | 2026-11-28T21:59:59Z"),
        ],
        not: &[("gdpr-33", "risk level `low` is below `risk`")],
    },
    Case {
        name: "NIS2 notification sent: the final report is one month after it",
        facts: r#"
[moments]
awareness = "2026-10-24T22:30:00Z"
[organisation]
entity_types = ["important_entity"]
established_in = ["FI"]
[risk]
level = "none"
significant_incident = true
[notices_sent]
nis2-early-warning = "2026-10-25T08:00:00Z"
nis2-notification = "2026-10-26T09:00:00Z"
"#,
        owed: &[
            ("nis2-early-warning", "asap 2026-10-25T22:30:00Z"),
            ("nis2-notification", "asap 2026-10-27T22:30:00Z"),
            ("nis2-final", "due 2026-11-26T21:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "DORA: classified two hours after awareness",
        facts: r#"
[moments]
awareness = "2026-03-10T08:00:00Z"
classification = "2026-03-10T10:00:00Z"
[organisation]
entity_types = ["financial_entity_dora"]
established_in = ["FR"]
[risk]
major_ict_incident = true
"#,
        owed: &[
            ("dora-initial", "due 2026-03-10T14:00:00Z"),
            ("dora-intermediate", "after dora-initial | 2026-03-13T14:00:00Z"),
            // 13 March 16:00 EET → 13 April 23:59:59 EEST.
            ("dora-final", "after dora-intermediate | 2026-04-13T20:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "DORA: classified 22 hours after awareness, the 24-hour cap binds",
        facts: r#"
[moments]
awareness = "2026-03-10T08:00:00Z"
classification = "2026-03-11T06:00:00Z"
[organisation]
entity_types = ["financial_entity_dora"]
established_in = ["FR"]
[risk]
major_ict_incident = true
[notices_sent]
dora-initial = "2026-03-11T07:00:00Z"
dora-intermediate = "2026-03-13T07:00:00Z"
"#,
        owed: &[
            ("dora-initial", "due 2026-03-11T08:00:00Z"),
            ("dora-intermediate", "due 2026-03-14T07:00:00Z"),
            ("dora-final", "due 2026-04-13T20:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "DORA: classified two days after awareness, 4 hours from classification",
        facts: r#"
[moments]
awareness = "2026-03-10T08:00:00Z"
classification = "2026-03-12T08:00:00Z"
[organisation]
entity_types = ["financial_entity_dora"]
established_in = ["IE"]
[risk]
major_ict_incident = true
"#,
        owed: &[
            ("dora-initial", "due 2026-03-12T12:00:00Z"),
            ("dora-intermediate", "after dora-initial | 2026-03-15T12:00:00Z"),
            ("dora-final", "after dora-intermediate | 2026-04-15T20:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "DORA: major but not classified yet, bounded by 24 hours after awareness",
        facts: r#"
[moments]
awareness = "2026-03-10T08:00:00Z"
[organisation]
entity_types = ["financial_entity_dora"]
established_in = ["IT"]
[risk]
major_ict_incident = true
"#,
        owed: &[
            ("dora-initial", "pending moments.classification | 2026-03-11T08:00:00Z"),
            ("dora-intermediate", "after dora-initial | 2026-03-14T08:00:00Z"),
            ("dora-final", "after dora-intermediate | 2026-04-14T20:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "Brazil: aware on the Thursday before Good Friday",
        facts: r#"
[moments]
awareness = "2026-04-02T15:00:00Z"
[[affected]]
country = "BR"
count = 200
[risk]
level = "risk"
"#,
        // Fri 3 April is Good Friday: Mon 6, Tue 7, Wed 8 → 23:59:59 BRT.
        owed: &[
            ("br-lgpd-anpd", "due 2026-04-09T02:59:59Z"),
            ("br-lgpd-individuals", "due 2026-04-09T02:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "Brazil: aware the Wednesday before Black Consciousness Day",
        facts: r#"
[moments]
awareness = "2026-11-18T13:00:00Z"
[[affected]]
country = "BR"
count = 20
[risk]
level = "high"
"#,
        // Thu 19 (1), Fri 20 holiday, Mon 23 (2), Tue 24 (3).
        owed: &[
            ("br-lgpd-anpd", "due 2026-11-25T02:59:59Z"),
            ("br-lgpd-individuals", "due 2026-11-25T02:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "Singapore: 600 residents, assessed on 30 December, deadline in the new year",
        facts: r#"
[moments]
assessment = "2026-12-30T10:00:00Z"
[[affected]]
country = "SG"
count = 600
[risk]
level = "risk"
"#,
        owed: &[("sg-pdpa-pdpc", "asap 2027-01-02T15:59:59Z")],
        not: &[("sg-pdpa-individuals", "below `high`")],
    },
    Case {
        name: "India: CERT-In 6 hours; DPDP not in force yet",
        facts: r#"
[moments]
discovery = "2026-06-01T03:00:00Z"
[organisation]
established_in = ["IN"]
[risk]
cert_in_listed = true
"#,
        owed: &[("in-cert-in", "due 2026-06-01T09:00:00Z")],
        not: &[("in-dpdp", "applies from 2027-05-13")],
    },
    Case {
        name: "Australia: suspected before the DST change; ransom paid by a large company",
        facts: r#"
[moments]
suspected = "2026-03-31T23:00:00Z"
ransom_payment = "2026-04-02T00:00:00Z"
[[affected]]
country = "AU"
count = 100
[organisation]
established_in = ["AU"]
annual_turnover_aud = 5000000
[risk]
level = "high"
ransom_paid = true
"#,
        owed: &[
            // 1 April 10:00 AEDT + 30 days = 1 May, 23:59:59 AEST.
            ("au-ndb-assessment", "asap 2026-05-01T13:59:59Z"),
            ("au-ndb-oaic", "asap"),
            ("au-ndb-individuals", "asap"),
            ("au-ransom", "due 2026-04-05T00:00:00Z"),
        ],
        not: &[],
    },
    Case {
        name: "Australia: small company paying a ransom owes no payment report",
        facts: r#"
[moments]
ransom_payment = "2026-04-02T00:00:00Z"
[organisation]
established_in = ["AU"]
annual_turnover_aud = 2000000
[risk]
ransom_paid = true
"#,
        // Established in Australia, so the NDB assessment duty is listed, waiting for the
        // moment a breach was suspected.
        owed: &[("au-ndb-assessment", "pending moments.suspected")],
        not: &[("au-ransom", "is not above 3000000")],
    },
    Case {
        name: "NYDFS covered entity: incident and extortion payment",
        facts: r#"
[moments]
determination = "2026-02-01T12:00:00Z"
ransom_payment = "2026-02-02T05:00:00Z"
[organisation]
entity_types = ["nydfs_covered"]
[risk]
reportable_cybersecurity_incident = true
ransom_paid = true
"#,
        owed: &[
            ("us-nydfs-500-17", "due 2026-02-04T12:00:00Z"),
            ("us-nydfs-ransom", "due 2026-02-03T05:00:00Z"),
            // 2 Feb 00:00 EST + 30 days = 4 March, 23:59:59 EST.
            ("us-nydfs-ransom-justification", "due 2026-03-05T04:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "bank: 36 hours across the end of US daylight time",
        facts: r#"
[moments]
determination = "2026-11-01T05:30:00Z"
[organisation]
entity_types = ["bank"]
[risk]
notification_incident = true
"#,
        owed: &[("us-bank-36h", "asap 2026-11-02T17:30:00Z")],
        not: &[],
    },
    Case {
        name: "GLBA: exactly 500 consumers, unencrypted",
        facts: r#"
[moments]
discovery = "2026-01-15T12:00:00Z"
[[affected]]
country = "US"
count = 500
[organisation]
entity_types = ["glba_financial_institution"]
"#,
        owed: &[("us-glba-safeguards", "asap 2026-02-15T04:59:59Z")],
        not: &[],
    },
    Case {
        name: "GLBA: 499 consumers is below the threshold",
        facts: r#"
[moments]
discovery = "2026-01-15T12:00:00Z"
[[affected]]
country = "US"
count = 499
[organisation]
entity_types = ["glba_financial_institution"]
"#,
        owed: &[],
        not: &[("us-glba-safeguards", "threshold ≥ 500 not met")],
    },
    Case {
        name: "Maryland: the AG must hear before consumers; credit bureaus above 1,000",
        facts: r#"
data = ["government_identifiers"]
[moments]
discovery = "2026-06-10T16:00:00Z"
[[affected]]
country = "US"
state = "MD"
count = 2000
"#,
        owed: &[
            ("us-md-individuals", "asap 2026-07-26T03:59:59Z"),
            ("us-md-ag", "after us-md-individuals | 2026-07-26T03:59:59Z"),
            ("us-md-credit-bureaus", "asap"),
        ],
        not: &[],
    },
    Case {
        name: "Vermont: preliminary AG notice in 14 business days, Thanksgiving skipped",
        facts: r#"
data = ["financial_accounts"]
[moments]
discovery = "2026-11-18T15:00:00Z"
[[affected]]
country = "US"
state = "VT"
count = 50
"#,
        owed: &[
            ("us-vt-individuals", "asap 2027-01-03T04:59:59Z"),
            ("us-vt-ag", "after us-vt-individuals | 2026-12-10T04:59:59Z"),
        ],
        not: &[("us-vt-credit-bureaus", "threshold > 1000 not met")],
    },
    Case {
        name: "Vermont: consumers told first, so the AG notice is due then",
        facts: r#"
data = ["financial_accounts"]
[moments]
discovery = "2026-11-18T15:00:00Z"
[[affected]]
country = "US"
state = "VT"
count = 50
[notices_sent]
us-vt-individuals = "2026-12-01T15:00:00Z"
"#,
        owed: &[
            ("us-vt-individuals", "asap 2027-01-03T04:59:59Z"),
            ("us-vt-ag", "due 2026-12-01T15:00:00Z"),
        ],
        not: &[],
    },
    Case {
        name: "Iowa: AG 5 business days after the consumer notice sent on Christmas Eve",
        facts: r#"
data = ["payment_cards"]
[moments]
discovery = "2026-12-01T15:00:00Z"
[[affected]]
country = "US"
state = "IA"
count = 600
[notices_sent]
us-ia-individuals = "2026-12-24T15:00:00Z"
"#,
        // Mon–Fri without holidays (earliest reading): 25, 28, 29, 30, 31 Dec, 23:59:59 CST.
        owed: &[
            ("us-ia-individuals", "asap"),
            ("us-ia-ag", "due 2027-01-01T05:59:59Z"),
            ("pci-dss-brands", "asap"),
        ],
        not: &[],
    },
    Case {
        name: "Oklahoma 2026: 500 residents, AG 60 days after the consumer notice",
        facts: r#"
data = ["government_identifiers"]
[moments]
discovery = "2026-02-10T15:00:00Z"
[[affected]]
country = "US"
state = "OK"
count = 500
[notices_sent]
us-ok-individuals = "2026-03-01T18:00:00Z"
"#,
        owed: &[("us-ok-individuals", "asap"), ("us-ok-ag", "due 2026-05-01T04:59:59Z")],
        not: &[],
    },
    Case {
        name: "Louisiana: AG 10 days after consumer notice, across the DST change",
        facts: r#"
data = ["credentials"]
[moments]
discovery = "2026-01-05T12:00:00Z"
[[affected]]
country = "US"
state = "LA"
count = 10
"#,
        owed: &[
            ("us-la-individuals", "asap 2026-03-07T05:59:59Z"),
            ("us-la-ag", "after us-la-individuals | 2026-03-17T04:59:59Z"),
        ],
        not: &[],
    },
    Case {
        name: "Illinois 501 and DC 50: AG notices without fixed limits",
        facts: r#"
data = ["government_identifiers"]
[moments]
discovery = "2026-01-05T12:00:00Z"
[[affected]]
country = "US"
state = "IL"
count = 501
[[affected]]
country = "US"
state = "DC"
count = 50
"#,
        owed: &[
            ("us-il-individuals", "asap"),
            ("us-il-ag", "after us-il-individuals"),
            ("us-dc-individuals", "asap"),
            ("us-dc-ag", "asap"),
        ],
        not: &[],
    },
    Case {
        name: "Puerto Rico: DACO within 10 days of detection, across the year end",
        facts: r#"
data = ["government_identifiers"]
[moments]
discovery = "2026-12-28T14:00:00Z"
[[affected]]
country = "US"
state = "PR"
count = 5
"#,
        owed: &[("us-pr-individuals", "asap"), ("us-pr-ag", "due 2027-01-08T03:59:59Z")],
        not: &[],
    },
    Case {
        name: "Colorado: 500 residents (≥ 500), determined just after midnight on the DST day",
        facts: r#"
data = ["biometrics"]
[moments]
determination = "2026-03-08T07:30:00Z"
[[affected]]
country = "US"
state = "CO"
count = 500
"#,
        owed: &[
            ("us-co-individuals", "asap 2026-04-08T05:59:59Z"),
            ("us-co-ag", "due 2026-04-08T05:59:59Z"),
        ],
        not: &[("us-co-credit-bureaus", "threshold ≥ 1000 not met")],
    },
    Case {
        name: "Florida and Texas from one determination; Texas AG from 250",
        facts: r#"
data = ["government_identifiers"]
[moments]
determination = "2026-10-31T12:00:00Z"
[[affected]]
country = "US"
state = "FL"
count = 500
[[affected]]
country = "US"
state = "TX"
count = 249
"#,
        owed: &[
            ("us-fl-individuals", "asap 2026-12-01T04:59:59Z"),
            ("us-fl-ag", "due 2026-12-01T04:59:59Z"),
            ("us-tx-individuals", "asap 2026-12-31T05:59:59Z"),
        ],
        not: &[("us-tx-ag", "threshold ≥ 250 not met")],
    },
    Case {
        name: "state law without a recorded discovery: deadline pending, naming the fact",
        facts: r#"
data = ["credentials"]
[[affected]]
country = "US"
state = "WA"
count = 501
"#,
        owed: &[
            ("us-wa-individuals", "pending moments.discovery"),
            ("us-wa-ag", "pending moments.discovery"),
        ],
        not: &[],
    },
    Case {
        name: "contact details only do not trigger US state laws",
        facts: r#"
data = ["contact_details"]
[moments]
discovery = "2026-01-05T12:00:00Z"
[[affected]]
country = "US"
state = "NY"
count = 10000
"#,
        owed: &[],
        not: &[("us-ny-individuals", "none of the data involved is covered")],
    },
    Case {
        name: "processor in France tells the controller; the Art. 33 duty is the controller's",
        facts: r#"
[moments]
awareness = "2026-05-01T09:00:00Z"
[[affected]]
country = "FR"
count = 1000
[organisation]
role = "processor"
[risk]
level = "high"
"#,
        owed: &[("gdpr-33-2", "asap")],
        not: &[],
    },
    Case {
        name: "UK: 72 hours across the UK clock change; risk not high so no Art. 34",
        facts: r#"
[moments]
awareness = "2026-03-28T23:30:00Z"
[[affected]]
country = "GB"
count = 100
[risk]
level = "risk"
"#,
        owed: &[("uk-gdpr-33", "asap 2026-03-31T23:30:00Z")],
        not: &[("uk-gdpr-34", "below `high`")],
    },
    Case {
        name: "Japan: 1,001 people's contact details; final report in 30 days across the year end",
        facts: r#"
data = ["contact_details"]
[moments]
awareness = "2026-12-15T03:00:00Z"
[[affected]]
country = "JP"
count = 1001
"#,
        owed: &[
            ("jp-appi-ppc-preliminary", "asap"),
            ("jp-appi-ppc-final", "due 2027-01-14T14:59:59Z"),
            ("jp-appi-individuals", "asap"),
        ],
        not: &[],
    },
    Case {
        name: "Japan: 1,000 people's contact details is not enough",
        facts: r#"
data = ["contact_details"]
[moments]
awareness = "2026-12-15T03:00:00Z"
[[affected]]
country = "JP"
count = 1000
"#,
        owed: &[],
        not: &[("jp-appi-ppc-final", "threshold > 1000 not met")],
    },
    Case {
        name: "South Africa and Canada (country CA, not California)",
        facts: r#"
data = ["contact_details"]
[[affected]]
country = "ZA"
count = 10
[[affected]]
country = "CA"
count = 40
[risk]
level = "high"
"#,
        owed: &[
            ("za-popia-regulator", "asap"),
            ("za-popia-individuals", "asap"),
            ("ca-pipeda-opc", "asap"),
            ("ca-pipeda-individuals", "asap"),
        ],
        not: &[],
    },
    Case {
        name: "health app (not HIPAA): FTC rule, 600 people",
        facts: r#"
data = ["health"]
[moments]
discovery = "2026-08-03T12:00:00Z"
[[affected]]
country = "US"
count = 600
[organisation]
entity_types = ["phr_vendor"]
"#,
        owed: &[
            ("us-ftc-hbnr-individuals", "asap 2026-10-03T03:59:59Z"),
            ("us-ftc-hbnr-ftc", "after us-ftc-hbnr-individuals | 2026-10-03T03:59:59Z"),
        ],
        not: &[("us-ftc-hbnr-media", "no single US state")],
    },
    Case {
        name: "critical infrastructure: CIRCIA is shown as not in force",
        facts: r#"
[moments]
awareness = "2026-08-03T12:00:00Z"
[organisation]
entity_types = ["critical_infrastructure"]
"#,
        owed: &[],
        not: &[("us-circia-incident", "not in force"), ("us-circia-ransom", "not in force")],
    },
    Case {
        name: "low-confidence states: New Jersey State Police before consumers; North Dakota at 250",
        facts: r#"
data = ["government_identifiers"]
[moments]
discovery = "2026-04-01T12:00:00Z"
[[affected]]
country = "US"
state = "NJ"
count = 20
[[affected]]
country = "US"
state = "ND"
count = 250
"#,
        owed: &[
            ("us-nj-individuals", "asap"),
            ("us-nj-ag", "after us-nj-individuals"),
            ("us-nd-individuals", "asap"),
        ],
        not: &[("us-nd-ag", "threshold > 250 not met")],
    },
    Case {
        name: "HIPAA covered entity with 600 New Yorkers: HHS report, then a copy to the NY AG",
        facts: r#"
data = ["health"]
[moments]
discovery = "2026-09-01T14:00:00Z"
[[affected]]
country = "US"
state = "NY"
count = 600
[organisation]
entity_types = ["hipaa_covered_entity"]
[notices_sent]
us-hipaa-individuals = "2026-09-20T15:00:00Z"
us-hipaa-hhs-500 = "2026-09-25T15:00:00Z"
"#,
        owed: &[
            // 1 Sept + 60 days = 31 Oct, 23:59:59 EDT.
            ("us-hipaa-individuals", "asap 2026-11-01T03:59:59Z"),
            ("us-hipaa-hhs-500", "asap 2026-09-20T15:00:00Z"),
            ("us-hipaa-media", "asap 2026-11-01T03:59:59Z"),
            // Fri 25 Sept + 5 business days: Mon 28 … Fri 2 Oct.
            ("us-ny-ag-hipaa-500", "due 2026-10-03T03:59:59Z"),
            // New York's own law: 30 days after discovery, and the AG with no fixed limit.
            ("us-ny-individuals", "asap 2026-10-02T03:59:59Z"),
            ("us-ny-ag", "asap"),
        ],
        not: &[("us-ny-ag-hipaa-log", "threshold < 500 not met")],
    },
];

#[test]
fn scenarios() {
    check_all(CASES);
}

#[test]
fn there_are_at_least_thirty_scenarios() {
    assert!(CASES.len() >= 30, "{}", CASES.len());
}
