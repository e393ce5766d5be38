//! The incident's facts as the engine reads them: moments, who is affected where, what data,
//! encryption, the organisation's profile and the risk assessment. Parsed from TOML or JSON.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Everything the engine knows about one incident. Every field is optional or defaults to
/// "nothing recorded", so a facts file can grow as the investigation learns more; the engine says
/// which missing fact keeps a deadline pending.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// Free-text narrative used to fill notice drafts.
    #[serde(default)]
    pub narrative: Narrative,
    /// The moments that start the regimes' clocks.
    #[serde(default)]
    pub moments: Moments,
    /// People affected, per country of residence (and US state or territory).
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// Categories of personal data involved (a fixed vocabulary).
    #[serde(default)]
    pub data: Vec<DataCategory>,
    /// Whether the data was encrypted and whether the key stayed safe.
    #[serde(default)]
    pub encryption: Encryption,
    /// Who the organisation is: entity types, sectors, establishment.
    #[serde(default)]
    pub organisation: Organisation,
    /// The outcome of the risk assessment.
    #[serde(default)]
    pub risk: Risk,
    /// Notices already sent, by rule id (e.g. `"us-ca-individuals"`), with the instant sent.
    /// Deadlines chained to another notice are computed from these instants.
    #[serde(default, deserialize_with = "instant::map")]
    pub notices_sent: BTreeMap<String, Timestamp>,
}

/// Text that notice drafts need; each missing item becomes a named placeholder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narrative {
    /// One-line title of the incident.
    pub title: Option<String>,
    /// What happened, in plain language.
    pub what_happened: Option<String>,
    /// Approximate number of personal-data records concerned.
    pub records_affected: Option<u64>,
    /// Likely consequences for the people affected.
    pub likely_consequences: Option<String>,
    /// Measures taken or proposed, including mitigation.
    pub measures_taken: Option<String>,
    /// Steps people should take to protect themselves.
    pub steps_for_individuals: Option<String>,
    /// Contact point (DPO or other) for more information.
    pub contact: Option<String>,
    /// The incident's material impact, or reasonably likely impact, on the registrant (SEC).
    pub material_impact: Option<String>,
}

/// The moments that start regulatory clocks. Each is optional: a regime anchored on a moment
/// that is not recorded yet gets a pending deadline naming it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moments {
    /// When the breach began (used in drafts, never as a clock anchor).
    #[serde(default, deserialize_with = "instant::opt")]
    pub occurred: Option<Timestamp>,
    /// When there were first reasonable grounds to suspect an eligible breach (Australia s26WH).
    #[serde(default, deserialize_with = "instant::opt")]
    pub suspected: Option<Timestamp>,
    /// When the breach was first known, or would have been known with reasonable diligence
    /// (HIPAA, most US states, CERT-In "noticing").
    #[serde(default, deserialize_with = "instant::opt")]
    pub discovery: Option<Timestamp>,
    /// When the organisation became aware with reasonable certainty (GDPR, NIS2, DORA, LGPD).
    #[serde(default, deserialize_with = "instant::opt")]
    pub awareness: Option<Timestamp>,
    /// When the organisation determined that a breach or incident occurred (TX, CO, FL, AL, AZ,
    /// DE, NYDFS, the US banking rule, PIPEDA).
    #[serde(default, deserialize_with = "instant::opt")]
    pub determination: Option<Timestamp>,
    /// When a DORA ICT incident was classified as major.
    #[serde(default, deserialize_with = "instant::opt")]
    pub classification: Option<Timestamp>,
    /// When an SEC registrant determined the incident was material.
    #[serde(default, deserialize_with = "instant::opt")]
    pub materiality_determination: Option<Timestamp>,
    /// When the assessment concluded the breach is notifiable (Singapore s26D).
    #[serde(default, deserialize_with = "instant::opt")]
    pub assessment: Option<Timestamp>,
    /// When a ransom or extortion payment was made.
    #[serde(default, deserialize_with = "instant::opt")]
    pub ransom_payment: Option<Timestamp>,
}

/// The moment names the rules table may anchor a clock on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    /// See [`Moments::suspected`].
    Suspected,
    /// See [`Moments::discovery`].
    Discovery,
    /// See [`Moments::awareness`].
    Awareness,
    /// See [`Moments::determination`].
    Determination,
    /// See [`Moments::classification`].
    Classification,
    /// See [`Moments::materiality_determination`].
    MaterialityDetermination,
    /// See [`Moments::assessment`].
    Assessment,
    /// See [`Moments::ransom_payment`].
    RansomPayment,
}

impl Moment {
    /// The facts-file field name, as used in "pending" messages.
    pub fn field(self) -> &'static str {
        match self {
            Moment::Suspected => "moments.suspected",
            Moment::Discovery => "moments.discovery",
            Moment::Awareness => "moments.awareness",
            Moment::Determination => "moments.determination",
            Moment::Classification => "moments.classification",
            Moment::MaterialityDetermination => "moments.materiality_determination",
            Moment::Assessment => "moments.assessment",
            Moment::RansomPayment => "moments.ransom_payment",
        }
    }
}

impl Moments {
    /// The recorded instant for a moment, if any.
    pub fn get(&self, m: Moment) -> Option<Timestamp> {
        match m {
            Moment::Suspected => self.suspected,
            Moment::Discovery => self.discovery,
            Moment::Awareness => self.awareness,
            Moment::Determination => self.determination,
            Moment::Classification => self.classification,
            Moment::MaterialityDetermination => self.materiality_determination,
            Moment::Assessment => self.assessment,
            Moment::RansomPayment => self.ransom_payment,
        }
    }
}

/// People affected in one place. Count each person once, by residence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affected {
    /// ISO 3166-1 alpha-2 country code (`"US"`, `"DE"`, `"GB"` …).
    pub country: Country,
    /// For `country = "US"`: the USPS code of the state, DC or territory (`"CA"`, `"PR"` …).
    #[serde(default)]
    pub state: Option<UsState>,
    /// Number of people.
    pub count: u64,
}

/// Data categories: a fixed vocabulary, so that rules can match on them. Record a category when
/// the element is held together with what identifies the person (e.g. a name), which is how
/// breach laws define personal information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Username or email address with a password or security question and answer.
    Credentials,
    /// Name, postal address, email address or telephone number alone.
    ContactDetails,
    /// Social security, national ID, passport, driver's licence or tax numbers.
    GovernmentIdentifiers,
    /// Bank or financial account numbers (with or without access codes).
    FinancialAccounts,
    /// Payment card numbers (PAN), with or without security codes.
    PaymentCards,
    /// Medical or health information, including PHI.
    Health,
    /// Health insurance policy or subscriber numbers.
    HealthInsurance,
    /// Genetic data.
    Genetic,
    /// Biometric data (fingerprints, face geometry, voice prints).
    Biometrics,
    /// Education records.
    EducationRecords,
    /// Precise location data.
    Location,
    /// Any data about children.
    ChildrensData,
    /// Other GDPR Art. 9 special categories (racial or ethnic origin, political opinions,
    /// religion, trade-union membership, sex life or orientation) and criminal records.
    SpecialCategory,
    /// Date of birth.
    DateOfBirth,
    /// Content of communications (emails, messages).
    CommunicationsContent,
    /// Online or device identifiers (IP addresses, cookies, device IDs).
    OnlineIdentifiers,
}

impl DataCategory {
    /// The snake_case name used in facts files and rules.
    pub fn name(self) -> &'static str {
        match self {
            DataCategory::Credentials => "credentials",
            DataCategory::ContactDetails => "contact_details",
            DataCategory::GovernmentIdentifiers => "government_identifiers",
            DataCategory::FinancialAccounts => "financial_accounts",
            DataCategory::PaymentCards => "payment_cards",
            DataCategory::Health => "health",
            DataCategory::HealthInsurance => "health_insurance",
            DataCategory::Genetic => "genetic",
            DataCategory::Biometrics => "biometrics",
            DataCategory::EducationRecords => "education_records",
            DataCategory::Location => "location",
            DataCategory::ChildrensData => "childrens_data",
            DataCategory::SpecialCategory => "special_category",
            DataCategory::DateOfBirth => "date_of_birth",
            DataCategory::CommunicationsContent => "communications_content",
            DataCategory::OnlineIdentifiers => "online_identifiers",
        }
    }
}

/// Encryption status of the affected data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// The affected data was encrypted (or otherwise unintelligible) when it was exposed.
    #[serde(default)]
    pub encrypted: bool,
    /// The key or credentials able to decrypt it were, or may have been, acquired too.
    #[serde(default)]
    pub key_compromised: bool,
    /// The PHI was "secured" as HHS guidance defines it (encryption per NIST or destruction).
    /// Only this, not encryption in general, removes HIPAA duties.
    #[serde(default)]
    pub hhs_secured: bool,
}

impl Encryption {
    /// Encrypted, and the key is believed safe.
    pub fn protected(self) -> bool {
        self.encrypted && !self.key_compromised
    }
}

/// The organisation's regulatory profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Name, for drafts.
    pub name: Option<String>,
    /// Regulatory entity types that apply.
    #[serde(default)]
    pub entity_types: Vec<EntityType>,
    /// Sectors the organisation works in. Rules may match on them with `sector_any`; the built-in
    /// rules decide on entity types, which are more precise.
    #[serde(default)]
    pub sectors: Vec<Sector>,
    /// Countries where the organisation is established (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub established_in: Vec<Country>,
    /// Whether the organisation acts as controller or processor for the affected data.
    #[serde(default)]
    pub role: Role,
    /// Brazil: a small-scale processing agent under ANPD Resolution 2/2022.
    #[serde(default)]
    pub small_agent: bool,
    /// Annual turnover in Australian dollars (Australia's ransom-payment reporting threshold).
    pub annual_turnover_aud: Option<u64>,
}

/// Regulatory entity types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// HIPAA covered entity (health plan, clearinghouse, provider).
    HipaaCoveredEntity,
    /// HIPAA business associate.
    BusinessAssociate,
    /// Vendor of personal health records or related entity not covered by HIPAA (FTC HBNR).
    PhrVendor,
    /// Files reports with the SEC under the Exchange Act.
    SecRegistrant,
    /// US banking organisation under 12 CFR 53 / 225 / 304.
    Bank,
    /// Bank service provider under the same rule.
    BankServiceProvider,
    /// Covered entity under 23 NYCRR 500.
    NydfsCovered,
    /// Non-bank financial institution under the FTC Safeguards Rule (16 CFR 314).
    GlbaFinancialInstitution,
    /// NIS2 essential entity.
    EssentialEntity,
    /// NIS2 important entity.
    ImportantEntity,
    /// Financial entity in scope of DORA.
    FinancialEntityDora,
    /// Critical-infrastructure entity (Australia SOCI Act; US CIRCIA once in force).
    CriticalInfrastructure,
    /// Provider of public electronic communications services (UK PECR).
    TelecomProvider,
}

/// Economic sectors (NIS2 Annexes I and II, broadly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// Health care.
    Health,
    /// Banking, insurance and financial-market infrastructure.
    Finance,
    /// Energy.
    Energy,
    /// Transport.
    Transport,
    /// Drinking and waste water.
    Water,
    /// Digital infrastructure and ICT service management.
    DigitalInfrastructure,
    /// Telecommunications.
    Telecom,
    /// Public administration.
    PublicAdministration,
    /// Education, including colleges.
    Education,
    /// Retail and e-commerce.
    Retail,
    /// Manufacturing.
    Manufacturing,
    /// Anything else.
    Other,
}

impl Sector {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Sector::Health => "health",
            Sector::Finance => "finance",
            Sector::Energy => "energy",
            Sector::Transport => "transport",
            Sector::Water => "water",
            Sector::DigitalInfrastructure => "digital_infrastructure",
            Sector::Telecom => "telecom",
            Sector::PublicAdministration => "public_administration",
            Sector::Education => "education",
            Sector::Retail => "retail",
            Sector::Manufacturing => "manufacturing",
            Sector::Other => "other",
        }
    }
}

impl EntityType {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            EntityType::HipaaCoveredEntity => "hipaa_covered_entity",
            EntityType::BusinessAssociate => "business_associate",
            EntityType::PhrVendor => "phr_vendor",
            EntityType::SecRegistrant => "sec_registrant",
            EntityType::Bank => "bank",
            EntityType::BankServiceProvider => "bank_service_provider",
            EntityType::NydfsCovered => "nydfs_covered",
            EntityType::GlbaFinancialInstitution => "glba_financial_institution",
            EntityType::EssentialEntity => "essential_entity",
            EntityType::ImportantEntity => "important_entity",
            EntityType::FinancialEntityDora => "financial_entity_dora",
            EntityType::CriticalInfrastructure => "critical_infrastructure",
            EntityType::TelecomProvider => "telecom_provider",
        }
    }
}

/// Controller or processor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Decides purposes and means (GDPR Art. 4(7)); the usual case.
    #[default]
    Controller,
    /// Processes on behalf of a controller (GDPR Art. 4(8)).
    Processor,
}

impl Role {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::Processor => "processor",
        }
    }
}

/// The risk assessment. `None` means "not assessed yet": rules that depend on it are reported as
/// undetermined, naming the field, rather than guessed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// Risk to people's rights, or of harm to them.
    pub level: Option<RiskLevel>,
    /// NIS2: the incident is significant (Art. 23(3)).
    pub significant_incident: Option<bool>,
    /// DORA: the ICT incident is major (classified under RTS 2024/1772).
    pub major_ict_incident: Option<bool>,
    /// SEC: the registrant determined the incident is material.
    pub material: Option<bool>,
    /// US banking rule: a "notification incident" (material disruption).
    pub notification_incident: Option<bool>,
    /// NYDFS 500.17: a reportable cybersecurity incident.
    pub reportable_cybersecurity_incident: Option<bool>,
    /// India: the incident is of a type listed in the CERT-In directions of 28 April 2022.
    pub cert_in_listed: Option<bool>,
    /// A ransom or extortion payment was made.
    pub ransom_paid: Option<bool>,
}

/// Graded risk; the order matters (`none < low < risk < high`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// No risk (e.g. data unintelligible to anyone).
    None,
    /// Unlikely to result in a risk (GDPR Art. 33(1) exemption).
    Low,
    /// A risk (GDPR Art. 33; "relevant risk" in LGPD).
    Risk,
    /// A high risk, or likely serious / significant harm (GDPR Art. 34, NDB, PIPEDA, PDPA).
    High,
}

impl RiskLevel {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Risk => "risk",
            RiskLevel::High => "high",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Codes validated at parse time, so that a typo is an error naming it rather than a silent
// "no obligation".

/// An ISO 3166-1 alpha-2 country code, checked against the full list of assigned codes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

/// Every officially assigned ISO 3166-1 alpha-2 code.
const ISO_COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH \
BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY \
CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP \
GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM \
KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR \
MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS \
PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD \
TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA \
ZM ZW";

/// The EU member states plus Iceland, Liechtenstein and Norway, where the GDPR applies.
const EEA: &str = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES \
SE IS LI NO";

/// The 27 EU member states (NIS2 and DORA are EU law; EEA incorporation is not modelled).
const EU: &str = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE";

impl Country {
    /// The United States, whose residents are also counted per state.
    pub const US: Country = Country(*b"US");

    /// Parses an upper-case alpha-2 code, rejecting codes that are not assigned.
    pub fn parse(s: &str) -> Result<Country, String> {
        let b = s.as_bytes();
        if b.len() == 2 && ISO_COUNTRIES.split(' ').any(|c| c == s) {
            Ok(Country([b[0], b[1]]))
        } else {
            Err(format!(
                "unknown country `{s}`: expected an upper-case ISO 3166-1 alpha-2 code such as \"US\", \"DE\" or \"GB\""
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// In the European Economic Area (GDPR territory).
    pub fn in_eea(self) -> bool {
        EEA.split(' ').any(|c| c == self.as_str())
    }

    /// An EU member state.
    pub fn in_eu(self) -> bool {
        EU.split(' ').any(|c| c == self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Country::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A US state, the District of Columbia or a territory, by USPS code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsState([u8; 2]);

const US_STATES: &str = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN \
MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP";

impl UsState {
    /// Parses an upper-case USPS code.
    pub fn parse(s: &str) -> Result<UsState, String> {
        let b = s.as_bytes();
        if b.len() == 2 && US_STATES.split(' ').any(|c| c == s) {
            Ok(UsState([b[0], b[1]]))
        } else {
            Err(format!(
                "unknown US state `{s}`: expected an upper-case USPS code such as \"CA\", \"NY\", \"DC\" or \"PR\""
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for UsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for UsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for UsState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UsState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UsState::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Instants accept an RFC 3339 string with an offset (JSON and TOML) or a native TOML offset
/// date-time, and reject local times: a deadline needs to know which instant is meant.
mod instant {
    use std::collections::BTreeMap;
    use std::fmt;

    use jiff::Timestamp;
    use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};
    use serde::{Deserialize, Deserializer};

    struct Instant(Timestamp);

    struct InstantVisitor;

    impl<'de> Visitor<'de> for InstantVisitor {
        type Value = Instant;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an instant with an offset, e.g. \"2026-03-02T17:00:00Z\"")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Instant, E> {
            s.parse::<Timestamp>().map(Instant).map_err(|e| {
                E::custom(format!(
                    "invalid instant `{s}` (it needs a date, a time and an offset such as Z): {e}"
                ))
            })
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Instant, A::Error> {
            let dt = toml::value::Datetime::deserialize(MapAccessDeserializer::new(map))?;
            self.visit_str(&dt.to_string())
        }
    }

    impl<'de> Deserialize<'de> for Instant {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(InstantVisitor)
        }
    }

    pub(super) fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Ok(Option::<Instant>::deserialize(d)?.map(|i| i.0))
    }

    pub(super) fn map<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Timestamp>, D::Error> {
        let m = BTreeMap::<String, Instant>::deserialize(d)?;
        Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
    }
}

/// Why a facts file was rejected. Messages name the offending value and where it is.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// TOML syntax or shape error; the message carries line, column and a snippet.
    #[error("facts (TOML): {0}")]
    Toml(String),
    /// JSON syntax or shape error, with line and column.
    #[error("facts (JSON) at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message (names unknown fields and values).
        message: String,
    },
    /// Parsed, but inconsistent.
    #[error("facts: {at}: {message}")]
    Invalid {
        /// Path of the offending field, e.g. `affected[2].state`.
        at: String,
        /// What is wrong.
        message: String,
    },
}

impl Facts {
    /// Parses a TOML facts file and validates it.
    pub fn from_toml(text: &str) -> Result<Facts, FactsError> {
        let facts: Facts = toml::from_str(text).map_err(|e| FactsError::Toml(e.to_string()))?;
        facts.validate()?;
        Ok(facts)
    }

    /// Parses a JSON facts document and validates it.
    pub fn from_json(text: &str) -> Result<Facts, FactsError> {
        let facts: Facts = serde_json::from_str(text).map_err(|e| FactsError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        facts.validate()?;
        Ok(facts)
    }

    /// Checks what serde cannot: US states only under the US, no duplicate places.
    pub fn validate(&self) -> Result<(), FactsError> {
        let mut seen = Vec::new();
        for (i, a) in self.affected.iter().enumerate() {
            if a.state.is_some() && a.country != Country::US {
                return Err(FactsError::Invalid {
                    at: format!("affected[{i}].state"),
                    message: format!(
                        "a US state is only allowed with country = \"US\", not \"{}\"",
                        a.country
                    ),
                });
            }
            let key = (a.country, a.state);
            if seen.contains(&key) {
                return Err(FactsError::Invalid {
                    at: format!("affected[{i}]"),
                    message: format!(
                        "{}{} is listed twice; give one count per place",
                        a.country,
                        a.state.map(|s| format!("-{s}")).unwrap_or_default()
                    ),
                });
            }
            seen.push(key);
        }
        Ok(())
    }

    /// People affected in the given country (all states together for the US).
    pub fn count_in_country(&self, c: Country) -> u64 {
        self.affected.iter().filter(|a| a.country == c).map(|a| a.count).sum()
    }

    /// People affected who reside in the given US state or territory.
    pub fn count_in_state(&self, s: UsState) -> u64 {
        self.affected.iter().filter(|a| a.state == Some(s)).map(|a| a.count).sum()
    }

    /// People affected in total.
    pub fn count_total(&self) -> u64 {
        self.affected.iter().map(|a| a.count).sum()
    }

    /// Whether the organisation has the given entity type.
    pub fn is(&self, t: EntityType) -> bool {
        self.organisation.entity_types.contains(&t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_country_is_named_with_its_line() {
        let err = Facts::from_toml("[[affected]]\ncountry = \"XX\"\ncount = 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown country `XX`"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn unknown_data_category_is_named() {
        let err = Facts::from_json("{\"data\": [\"health\", \"shoe_size\"]}").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("shoe_size"), "{msg}");
        assert!(msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn names_match_the_serde_spelling() {
        for t in [
            EntityType::HipaaCoveredEntity,
            EntityType::FinancialEntityDora,
            EntityType::TelecomProvider,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.name());
        }
        for d in [DataCategory::ChildrensData, DataCategory::OnlineIdentifiers] {
            assert_eq!(serde_json::to_value(d).unwrap(), d.name());
        }
        assert_eq!(
            serde_json::to_value(Sector::DigitalInfrastructure).unwrap(),
            "digital_infrastructure"
        );
        assert_eq!(serde_json::to_value(Role::Processor).unwrap(), Role::Processor.name());
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = Facts::from_toml("[moments]\ndiscovered = 2026-01-01T00:00:00Z\n").unwrap_err();
        assert!(err.to_string().contains("discovered"), "{err}");
    }

    #[test]
    fn state_outside_us_is_rejected() {
        let err = Facts::from_toml("[[affected]]\ncountry = \"CA\"\nstate = \"ON\"\ncount = 1\n")
            .unwrap_err();
        assert!(err.to_string().contains("unknown US state `ON`"), "{err}");
        let err = Facts::from_toml("[[affected]]\ncountry = \"DE\"\nstate = \"CA\"\ncount = 1\n")
            .unwrap_err();
        assert!(err.to_string().contains("affected[0].state"), "{err}");
    }

    #[test]
    fn native_toml_datetimes_are_instants_and_local_times_are_rejected() {
        let f = Facts::from_toml("[moments]\nawareness = 2026-03-01T10:00:00+01:00\n").unwrap();
        assert_eq!(f.moments.awareness, Some("2026-03-01T09:00:00Z".parse().unwrap()));
        let f = Facts::from_toml("[notices_sent]\ngdpr-33 = 2026-03-02T10:00:00Z\n").unwrap();
        assert_eq!(f.notices_sent["gdpr-33"], "2026-03-02T10:00:00Z".parse().unwrap());
        let err = Facts::from_toml("[moments]\nawareness = 2026-03-01T10:00:00\n").unwrap_err();
        assert!(err.to_string().contains("invalid instant `2026-03-01T10:00:00`"), "{err}");
        let err = Facts::from_json("{\"moments\": {\"discovery\": \"yesterday\"}}").unwrap_err();
        assert!(err.to_string().contains("invalid instant `yesterday`"), "{err}");
        let f = Facts::from_json("{\"moments\": {\"discovery\": null}}").unwrap();
        assert_eq!(f.moments.discovery, None);
    }

    #[test]
    fn timestamps_parse_from_toml_strings_and_json() {
        let f = Facts::from_toml("[moments]\nawareness = \"2026-03-01T10:00:00Z\"\n").unwrap();
        assert_eq!(f.moments.awareness, Some("2026-03-01T10:00:00Z".parse().unwrap()));
        let g = Facts::from_json("{\"moments\":{\"awareness\":\"2026-03-01T10:00:00Z\"}}").unwrap();
        assert_eq!(f, g);
    }
}
