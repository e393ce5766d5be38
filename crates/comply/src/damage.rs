//! The damage assessment of an incident: what data was exposed, whose and how many per
//! jurisdiction, whether it was encrypted with a safe key, which systems were touched, how long
//! each business function was down, and what it is estimated to cost. Structured so that the
//! obligations engine reads it: `apply` carries its legal facts into a `Facts`.

use serde::{Deserialize, Serialize};

use crate::facts::{Affected, Country, DataCategory, Facts, UsState};

/// Limits on a document people fill in under stress, so that a typo cannot make it huge.
const MAX_ITEMS: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DamageAssessment {
    /// The categories of personal data exposed (the fixed vocabulary of the facts file).
    #[serde(default)]
    pub data_categories: Vec<DataCategory>,
    /// People and records affected, per country (and US state).
    #[serde(default)]
    pub affected: Vec<AffectedCount>,
    /// The exposed data was encrypted (or otherwise unintelligible).
    #[serde(default)]
    pub encrypted: bool,
    /// The key stayed safe. Encryption only counts when it did.
    #[serde(default = "yes")]
    pub key_safe: bool,
    /// The health data was "secured" as HHS guidance defines it (HIPAA's only safe harbour).
    #[serde(default)]
    pub hhs_secured: bool,
    /// Systems affected (host names, services).
    #[serde(default)]
    pub systems: Vec<String>,
    /// How long each business function was down.
    #[serde(default)]
    pub downtime: Vec<Downtime>,
    pub estimated_cost: Option<Cost>,
    #[serde(default)]
    pub notes: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedCount {
    pub country: Country,
    #[serde(default)]
    pub state: Option<UsState>,
    /// People affected.
    pub people: u64,
    /// Records affected (may exceed people).
    #[serde(default)]
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downtime {
    /// The business function, e.g. `payments`.
    pub function: String,
    pub minutes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// Whole units of `currency`.
    pub amount: u64,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("damage assessment: {0}")]
pub struct DamageError(pub String);

impl DamageAssessment {
    /// Reads and checks a damage assessment from JSON; errors name the field and the value.
    pub fn from_json(text: &str) -> Result<DamageAssessment, DamageError> {
        let assessment: DamageAssessment = serde_json::from_str(text).map_err(|error| {
            DamageError(format!("{error} (line {}, column {})", error.line(), error.column()))
        })?;
        assessment.validate()?;
        Ok(assessment)
    }

    pub fn validate(&self) -> Result<(), DamageError> {
        let too_many = |what: &str, count: usize| {
            (count > MAX_ITEMS).then(|| {
                DamageError(format!("`{what}` has {count} entries; the limit is {MAX_ITEMS}"))
            })
        };
        for (what, count) in [
            ("affected", self.affected.len()),
            ("systems", self.systems.len()),
            ("downtime", self.downtime.len()),
        ] {
            if let Some(error) = too_many(what, count) {
                return Err(error);
            }
        }
        for (index, affected) in self.affected.iter().enumerate() {
            if affected.state.is_some() && affected.country.to_string() != "US" {
                return Err(DamageError(format!(
                    "`affected[{index}]`: a state is given for country {}, not US",
                    affected.country
                )));
            }
            if affected.records != 0 && affected.records < affected.people {
                return Err(DamageError(format!(
                    "`affected[{index}]`: {} records for {} people; each person has at least one record",
                    affected.records, affected.people
                )));
            }
        }
        if let Some(cost) = &self.estimated_cost
            && (cost.currency.len() != 3 || !cost.currency.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(DamageError(format!(
                "`estimated_cost.currency`: `{}` is not an ISO 4217 code such as EUR",
                cost.currency
            )));
        }
        for (index, system) in self.systems.iter().enumerate() {
            if system.trim().is_empty() || system.len() > 200 {
                return Err(DamageError(format!("`systems[{index}]` must be 1 to 200 characters")));
            }
        }
        if self.notes.len() > 20_000 {
            return Err(DamageError("`notes` is longer than 20000 bytes".into()));
        }
        Ok(())
    }

    /// Carries the legal facts of the assessment into `facts`: who is affected where, which
    /// data, and whether encryption protects it. Everything else in `facts` stays.
    pub fn apply(&self, facts: &mut Facts) {
        facts.affected = self
            .affected
            .iter()
            .map(|a| Affected { country: a.country, state: a.state, count: a.people })
            .collect();
        facts.data = self.data_categories.clone();
        facts.encryption.encrypted = self.encrypted;
        facts.encryption.key_compromised = !self.key_safe;
        facts.encryption.hhs_secured = self.hhs_secured;
    }

    pub fn people(&self) -> u64 {
        self.affected.iter().map(|a| a.people).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assessment_carries_its_legal_facts_into_the_facts() {
        let text = r#"{
            "data_categories": ["credentials", "contact_details"],
            "affected": [{"country": "US", "state": "CA", "people": 1200, "records": 1500}, {"country": "DE", "people": 300}],
            "encrypted": true, "key_safe": false,
            "systems": ["auth-db"], "downtime": [{"function": "payments", "minutes": 95}],
            "estimated_cost": {"amount": 250000, "currency": "EUR"}
        }"#;
        let assessment = DamageAssessment::from_json(text).unwrap();
        assert_eq!(assessment.people(), 1500);
        let mut facts = Facts::default();
        assessment.apply(&mut facts);
        assert_eq!(facts.affected.len(), 2);
        assert_eq!(facts.data, vec![DataCategory::Credentials, DataCategory::ContactDetails]);
        assert!(facts.encryption.encrypted && facts.encryption.key_compromised);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (r#"{"data_categories": ["gossip"]}"#, "gossip"),
            (r#"{"affected": [{"country": "Atlantis", "people": 1}]}"#, "Atlantis"),
            (r#"{"affected": [{"country": "DE", "state": "CA", "people": 1}]}"#, "not US"),
            (
                r#"{"affected": [{"country": "DE", "people": 10, "records": 3}]}"#,
                "at least one record",
            ),
            (r#"{"estimated_cost": {"amount": 1, "currency": "euro"}}"#, "ISO 4217"),
            (r#"{"colour": "red"}"#, "colour"),
        ];
        for (text, named) in cases {
            let error = DamageAssessment::from_json(text).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }
}
