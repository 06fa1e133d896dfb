//! The mapping from a Salesforce opportunity to an ACE opportunity: a declarative, versioned
//! TOML file that partners keep in git (landscape.md §5 gap 5), and the pure function that
//! applies it to a record.
//!
//! The file says which Salesforce field (relationship fields such as `Account.BillingCountryCode`
//! included) fills which ACE field (`Customer.Account.Address.CountryCode`, the dotted notation of
//! AWS's data model), through which value map or transform; which Salesforce stages become which
//! ACE stages, and at which stage the opportunity is created in ACE and submitted for review;
//! the solutions and AWS products to associate; the Salesforce field naming the AWS field contact;
//! and the Closed Lost reason. `src/ace/default-mapping.toml` is the shipped default for a
//! standard org and documents every key.
//!
//! Parsing rejects what serde can see (unknown keys, named; wrong types; another `version`);
//! [`check`] finds what only AWS's service model can tell (unknown ACE paths, enum values ACE
//! does not have, fields ACE requires that nothing fills, two rules writing one field).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use serde_json::Value;

use super::model::ServiceModel;
use super::opportunity::{self, FieldKind, Opportunity, json_get, json_set};
use super::preflight::{Finding, FindingCode};
use super::rules;
use crate::domain::sobject::{FieldValue, SObject, format_date};

/// The mapping file format this version reads.
pub const VERSION: u32 = 1;

/// The shipped default mapping.
pub const DEFAULT_MAPPING: &str = include_str!("default-mapping.toml");

/// The operation whose input shape the mapping's ACE paths are resolved against.
const ROOT_SHAPE: &str = "CreateOpportunityRequest";

/// Why a mapping file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read the mapping file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "unsupported mapping version {found}; this ace-sync reads version {VERSION} (`version = {VERSION}`)"
    )]
    Version { found: u32 },
    #[error("invalid mapping: {}", .problems.join("; "))]
    Invalid { problems: Vec<String> },
    #[error("cannot load AWS's service model to check the mapping")]
    Model(#[from] super::model::ModelError),
}

/// `ace-sync mapping check FILE`: every problem of a mapping file, as lines for a person —
/// what the file does not parse to, then what [`check`] finds. Empty when the mapping is sound.
pub fn check_file(path: &std::path::Path) -> Result<Vec<String>, MappingError> {
    let mapping = match Mapping::from_file(path) {
        Ok(mapping) => mapping,
        Err(MappingError::Invalid { problems }) => return Ok(problems),
        Err(e @ MappingError::Version { .. }) => return Ok(vec![e.to_string()]),
        Err(e) => return Err(e),
    };
    let model = ServiceModel::load()?;
    Ok(check(&mapping, &model)
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// A problem `check` found, with where in the file it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `[[field]] #3 (Customer.Account.Industry)`, `[trigger] create_at`, …
    pub at: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// One name or a list of names, as the file may spell either.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, expecting = "a string or a list of strings")]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[allow(dead_code)] // read first, by `FileVersion`
    version: u32,
    #[serde(default)]
    description: Option<String>,
    trigger: TriggerFile,
    #[serde(default)]
    submission: SubmissionFile,
    #[serde(default)]
    associations: AssociationsFile,
    #[serde(rename = "stage", default)]
    stages: Vec<StageRule>,
    #[serde(default)]
    closed_lost: ClosedLostFile,
    #[serde(rename = "field", default)]
    fields: Vec<FieldFile>,
    #[serde(default)]
    maps: BTreeMap<String, BTreeMap<String, String>>,
    /// AWS referrals (`super::referrals`).
    #[serde(default)]
    referrals: Option<super::referrals::ReferralsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerFile {
    create_at: String,
    #[serde(default)]
    submit_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmissionFile {
    #[serde(default = "default_involvement_type")]
    involvement_type: String,
    #[serde(default = "default_visibility")]
    visibility: String,
    #[serde(default)]
    aws_field_contact: Option<String>,
}

impl Default for SubmissionFile {
    fn default() -> Self {
        Self {
            involvement_type: default_involvement_type(),
            visibility: default_visibility(),
            aws_field_contact: None,
        }
    }
}

fn default_involvement_type() -> String {
    "Co-Sell".to_owned()
}

fn default_visibility() -> String {
    "Full".to_owned()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssociationsFile {
    #[serde(default)]
    solutions: Vec<String>,
    #[serde(default)]
    aws_products: Option<ProductsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductsFile {
    salesforce: String,
    #[serde(default)]
    map: Option<String>,
}

/// One Salesforce stage and the ACE stage it means. The file order is the pipeline order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRule {
    pub salesforce: String,
    pub ace: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClosedLostFile {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    map: Option<String>,
    #[serde(default)]
    default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    ace: String,
    #[serde(default)]
    salesforce: Option<OneOrMany>,
    #[serde(default)]
    constant: Option<OneOrMany>,
    #[serde(default)]
    default: Option<OneOrMany>,
    #[serde(default)]
    map: Option<String>,
    #[serde(default)]
    otherwise: Option<String>,
    #[serde(default)]
    transform: Option<Transform>,
    #[serde(default)]
    when: Option<When>,
    #[serde(default)]
    label: Option<String>,
}

/// A conversion applied to a Salesforce value before any value map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transform {
    /// A US state's USPS code (`CA`, what BillingStateCode holds) becomes the name ACE expects
    /// (`California`); applied only when the mapped country is `US`, since `WA` is also Western
    /// Australia.
    UsStateName,
    /// Line breaks (BillingStreet is a textarea) become ", ".
    SingleLine,
    Lowercase,
    Uppercase,
}

/// A rule that applies only when another ACE field has a given value, e.g. OtherIndustry only
/// when Industry is `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub ace: String,
    pub equals: String,
}

/// One field rule: where an ACE field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    pub ace: String,
    /// Salesforce fields tried in order; the first with a value wins.
    pub salesforce: Vec<String>,
    pub constant: Option<Vec<String>>,
    pub default: Option<Vec<String>>,
    pub map: Option<String>,
    /// What a value missing from `map` becomes; without it, an unmapped value is a finding.
    pub otherwise: Option<String>,
    pub transform: Option<Transform>,
    pub when: Option<When>,
    pub label: Option<String>,
}

/// A parsed mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub description: Option<String>,
    pub create_at: String,
    pub submit_at: Option<String>,
    pub involvement_type: String,
    pub visibility: String,
    pub aws_field_contact: Option<String>,
    pub solutions: Vec<String>,
    pub aws_products: Option<(String, Option<String>)>,
    pub stages: Vec<StageRule>,
    pub closed_lost_reason: Option<String>,
    pub closed_lost_map: Option<String>,
    pub closed_lost_default: Option<String>,
    pub fields: Vec<FieldRule>,
    pub maps: BTreeMap<String, BTreeMap<String, String>>,
    /// How AWS referrals become Salesforce opportunities; `None` leaves them alone.
    pub referrals: Option<super::referrals::ReferralMapping>,
}

/// Where the sync is with an opportunity, from its Salesforce stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Before the creation stage: nothing goes to ACE yet.
    NotYet,
    /// Created (or kept up to date) in ACE, not yet submitted for review.
    Share,
    /// At or past the submission stage: submitted to AWS.
    Submit,
    /// Closed won: ACE stage `Launched`.
    Won,
    /// Closed lost: ACE stage `Closed Lost`, with a reason.
    Lost,
}

impl Phase {
    /// Whether the opportunity has reached the submission stage (closing counts).
    pub fn is_submitted(self) -> bool {
        self >= Phase::Submit
    }
}

/// The submission parameters (StartEngagementFromOpportunityTask's `AwsSubmission`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub involvement_type: String,
    pub visibility: String,
}

/// Where a value of the mapped opportunity came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// Read from this Salesforce field.
    Salesforce(String),
    /// A constant of the mapping.
    Constant,
    /// The mapping's default, because these Salesforce fields were empty.
    Default(Vec<String>),
}

/// A Salesforce record after the mapping: the ACE opportunity body plus what goes around it.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedOpportunity {
    pub body: Opportunity,
    pub phase: Phase,
    pub salesforce_stage: Option<String>,
    pub solutions: Vec<String>,
    pub aws_products: Vec<String>,
    /// Set when the phase is at or past the submission stage and the mapping submits.
    pub submission: Option<Submission>,
    /// The named AWS field contact (ace-lifecycle.md quality signal 4), when the mapping says
    /// where it is and the record has one.
    pub aws_field_contact: Option<String>,
    /// ACE path (data-model notation) → where its value came from.
    pub sources: BTreeMap<String, ValueSource>,
}

/// What mapping a record produced: the opportunity, and what could not be mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub opportunity: MappedOpportunity,
    pub findings: Vec<Finding>,
}

impl Mapping {
    /// The shipped default mapping.
    pub fn default_mapping() -> Mapping {
        // The default is tested to parse and to pass `check` (tests::the_default_mapping_*).
        Mapping::parse(DEFAULT_MAPPING)
            .unwrap_or_else(|e| panic!("the embedded default mapping is invalid: {e}"))
    }

    /// Reads a mapping file.
    pub fn from_file(path: &std::path::Path) -> Result<Mapping, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Mapping::parse(&text)
    }

    /// Parses the TOML text of a mapping. Unknown keys are rejected with the key named.
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        // The version first, so a newer file is reported as such rather than as unknown keys.
        let figment = Figment::from(Toml::string(text));
        let version = match figment.extract_inner::<u32>("version") {
            Ok(version) => Some(version),
            Err(e) if matches!(e.kind, figment::error::Kind::MissingField(_)) => None,
            Err(e) => return Err(invalid(e)),
        };
        match version {
            None => {
                return Err(MappingError::Invalid {
                    problems: vec![format!(
                        "missing key `version`: the first line of a mapping file is `version = {VERSION}`"
                    )],
                });
            }
            Some(VERSION) => {}
            Some(found) => return Err(MappingError::Version { found }),
        }
        let file: MappingFile = figment.extract().map_err(invalid)?;
        Ok(Mapping::from_file_struct(file))
    }

    fn from_file_struct(file: MappingFile) -> Mapping {
        Mapping {
            description: file.description,
            create_at: file.trigger.create_at,
            submit_at: file.trigger.submit_at,
            involvement_type: file.submission.involvement_type,
            visibility: file.submission.visibility,
            aws_field_contact: file.submission.aws_field_contact,
            solutions: file.associations.solutions,
            aws_products: file
                .associations
                .aws_products
                .map(|p| (p.salesforce, p.map)),
            stages: file.stages,
            closed_lost_reason: file.closed_lost.reason,
            closed_lost_map: file.closed_lost.map,
            closed_lost_default: file.closed_lost.default,
            fields: file
                .fields
                .into_iter()
                .map(|f| FieldRule {
                    ace: f.ace,
                    salesforce: f.salesforce.map(OneOrMany::into_vec).unwrap_or_default(),
                    constant: f.constant.map(OneOrMany::into_vec),
                    default: f.default.map(OneOrMany::into_vec),
                    map: f.map,
                    otherwise: f.otherwise,
                    transform: f.transform,
                    when: f.when,
                    label: f.label,
                })
                .collect(),
            maps: file.maps,
            referrals: file.referrals.map(|r| r.into_mapping()),
        }
    }

    /// Replaces the solutions to associate (the `ace.solution_ids` setting, which differs
    /// between the Sandbox and AWS catalogs).
    pub fn with_solutions(mut self, solutions: Vec<String>) -> Mapping {
        if !solutions.is_empty() {
            self.solutions = solutions;
        }
        self
    }

    /// Every Salesforce field the worker must read for this mapping, sorted: what goes into
    /// the SOQL query.
    pub fn salesforce_fields(&self) -> Vec<String> {
        let mut fields: BTreeSet<String> = ["Id", "StageName"].map(str::to_owned).into();
        for rule in &self.fields {
            fields.extend(rule.salesforce.iter().cloned());
        }
        fields.extend(self.closed_lost_reason.iter().cloned());
        fields.extend(self.aws_field_contact.iter().cloned());
        if let Some((field, _)) = &self.aws_products {
            fields.insert(field.clone());
        }
        fields.into_iter().collect()
    }

    /// The ACE fields (data-model notation) this mapping fills: the sync owns them, so a value
    /// the record no longer gives is cleared in ACE. ACE keeps everything else as it has it.
    pub fn owned_paths(&self) -> Vec<String> {
        let mut owned: BTreeSet<String> = [
            "PartnerOpportunityIdentifier",
            "LifeCycle.Stage",
            "LifeCycle.ClosedLostReason",
        ]
        .map(str::to_owned)
        .into();
        owned.extend(self.fields.iter().map(|rule| rule.ace.clone()));
        if self.aws_field_contact.is_some() {
            owned.insert("Project.AdditionalComments".to_owned());
        }
        owned.into_iter().collect()
    }

    /// The Salesforce field that fills an ACE field, if the mapping reads one: the field a rep
    /// must fill when ACE says the value is missing.
    pub fn salesforce_source(&self, ace_path: &str) -> Option<&str> {
        let path = opportunity::strip_indices(ace_path);
        match path.as_str() {
            "LifeCycle.Stage" => return Some("StageName"),
            "LifeCycle.ClosedLostReason" => return self.closed_lost_reason.as_deref(),
            "Project.AdditionalComments" if self.aws_field_contact.is_some() => {
                if let Some(rule) = self.fields.iter().find(|r| r.ace == path)
                    && let Some(first) = rule.salesforce.first()
                {
                    return Some(first);
                }
                return self.aws_field_contact.as_deref();
            }
            _ => {}
        }
        self.fields
            .iter()
            .find(|r| r.ace == path)
            .and_then(|r| r.salesforce.first().map(String::as_str))
    }

    /// How a Salesforce field is named to a rep: the rule's `label`, or the API name in words
    /// (`Account.BillingStateCode` → "Account Billing State Code").
    pub fn label(&self, salesforce_field: &str) -> String {
        self.fields
            .iter()
            .find(|r| r.salesforce.first().map(String::as_str) == Some(salesforce_field))
            .and_then(|r| r.label.clone())
            .unwrap_or_else(|| humanize(salesforce_field))
    }

    /// The position of a Salesforce stage in the pipeline.
    fn stage_index(&self, salesforce_stage: &str) -> Option<usize> {
        self.stages
            .iter()
            .position(|s| s.salesforce.eq_ignore_ascii_case(salesforce_stage))
    }

    /// Applies the mapping to a record. Values that cannot be mapped are left out and reported
    /// as findings; the pre-flight check adds AWS's rules on top.
    pub fn map(&self, record: &SObject) -> Mapped {
        let mut findings = Vec::new();
        let mut body = Value::Object(Default::default());
        let mut sources = BTreeMap::new();

        // PartnerOpportunityIdentifier is how the sync finds an opportunity again (ListOpportunities
        // echoes it), so it is the record id unless the mapping says otherwise.
        if !self
            .fields
            .iter()
            .any(|r| r.ace == "PartnerOpportunityIdentifier")
        {
            json_set(
                &mut body,
                "PartnerOpportunityIdentifier",
                Value::String(record.id.as_str().to_owned()),
            );
            sources.insert(
                "PartnerOpportunityIdentifier".to_owned(),
                ValueSource::Salesforce("Id".to_owned()),
            );
        }

        // Rules with a condition, or whose transform depends on the country, run after the rest.
        let (plain, deferred): (Vec<&FieldRule>, Vec<&FieldRule>) = self
            .fields
            .iter()
            .partition(|r| r.when.is_none() && r.transform != Some(Transform::UsStateName));
        for rule in plain.into_iter().chain(deferred) {
            if let Some(when) = &rule.when {
                let actual = json_get(&body, &when.ace).and_then(Value::as_str);
                if actual != Some(when.equals.as_str()) {
                    continue;
                }
            }
            self.apply_rule(rule, record, &mut body, &mut sources, &mut findings);
        }

        // The stage.
        let salesforce_stage = record.text("StageName");
        let mut phase = Phase::NotYet;
        match salesforce_stage.as_deref() {
            None => findings.push(Finding::error(
                FindingCode::Required,
                Some("StageName"),
                Some("LifeCycle.Stage"),
                "Stage is empty; ACE needs a stage (ACE: LifeCycle.Stage)".to_owned(),
            )),
            Some(name) => match self.stage_index(name) {
                None => findings.push(Finding::error(
                    FindingCode::UnmappedValue,
                    Some("StageName"),
                    Some("LifeCycle.Stage"),
                    format!(
                        "Stage \"{name}\" is not in the ACE mapping's stage list; add it to the mapping's [[stage]] table"
                    ),
                )),
                Some(index) => {
                    let ace_stage = &self.stages[index].ace;
                    json_set(&mut body, "LifeCycle.Stage", Value::String(ace_stage.clone()));
                    sources.insert(
                        "LifeCycle.Stage".to_owned(),
                        ValueSource::Salesforce("StageName".to_owned()),
                    );
                    phase = match ace_stage.as_str() {
                        opportunity::stage::LAUNCHED => Phase::Won,
                        opportunity::stage::CLOSED_LOST => Phase::Lost,
                        _ => {
                            let submit = self.submit_at.as_deref().and_then(|s| self.stage_index(s));
                            let create = self.stage_index(&self.create_at);
                            if submit.is_some_and(|s| index >= s) {
                                Phase::Submit
                            } else if create.is_some_and(|c| index >= c) {
                                Phase::Share
                            } else {
                                Phase::NotYet
                            }
                        }
                    };
                }
            },
        }

        if phase == Phase::Lost {
            self.map_closed_lost_reason(record, &mut body, &mut sources, &mut findings);
        }

        // The AWS field contact goes into the submission's comments: the API has no field for it
        // (ace-lifecycle.md quality signal 4).
        let aws_field_contact = self
            .aws_field_contact
            .as_deref()
            .and_then(|field| record.text(field))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if phase.is_submitted()
            && let Some(contact) = &aws_field_contact
        {
            let existing = json_get(&body, "Project.AdditionalComments")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let note = format!("AWS field contact: {contact}");
            let comments = match existing {
                Some(existing) if !existing.contains(&note) => format!("{note} | {existing}"),
                Some(existing) => existing,
                None => note,
            };
            json_set(
                &mut body,
                "Project.AdditionalComments",
                Value::String(truncate_chars(&comments, rules::ADDITIONAL_COMMENTS_MAX)),
            );
            if let Some(field) = &self.aws_field_contact {
                sources
                    .entry("Project.AdditionalComments".to_owned())
                    .or_insert_with(|| ValueSource::Salesforce(field.clone()));
            }
        }

        // AWS products to associate.
        let mut aws_products = Vec::new();
        if let Some((field, map)) = &self.aws_products
            && let Some(value) = record.get(field)
        {
            for item in value.as_multi() {
                match self.lookup(map.as_deref(), &item, None) {
                    Some(code) => aws_products.push(code),
                    None => findings.push(Finding::error(
                        FindingCode::UnmappedValue,
                        Some(field),
                        Some("RelatedEntityIdentifiers.AwsProducts"),
                        format!(
                            "{} value \"{item}\" has no AWS product code in the mapping",
                            self.label(field)
                        ),
                    )),
                }
            }
        }
        aws_products.dedup();

        let body = match Opportunity::from_json(body) {
            Ok(body) => body.normalized(),
            Err(e) => {
                // Only a rule writing a structure where a scalar belongs gets here; `check`
                // reports those rules by name.
                findings.push(Finding::error(
                    FindingCode::MappingError,
                    None,
                    None,
                    format!("the mapping produced a value ACE's opportunity cannot hold: {e}"),
                ));
                Opportunity::default()
            }
        };
        let submission = (phase.is_submitted() && self.submit_at.is_some()).then(|| Submission {
            involvement_type: self.involvement_type.clone(),
            visibility: self.visibility.clone(),
        });
        Mapped {
            opportunity: MappedOpportunity {
                body,
                phase,
                salesforce_stage,
                solutions: self.solutions.clone(),
                aws_products,
                submission,
                aws_field_contact,
                sources,
            },
            findings,
        }
    }

    fn apply_rule(
        &self,
        rule: &FieldRule,
        record: &SObject,
        body: &mut Value,
        sources: &mut BTreeMap<String, ValueSource>,
        findings: &mut Vec<Finding>,
    ) {
        let Some(kind) = opportunity::writable_field(&rule.ace) else {
            findings.push(Finding::error(
                FindingCode::MappingError,
                rule.salesforce.first().map(String::as_str),
                Some(&rule.ace),
                format!(
                    "the mapping writes {}, which is not an ACE opportunity field; run `ace-sync mapping check`",
                    rule.ace
                ),
            ));
            return;
        };
        // The value: a constant, the first Salesforce field with a value, or the default.
        let (values, source, from_field): (Vec<FieldValue>, ValueSource, Option<&str>) =
            if let Some(constant) = &rule.constant {
                (
                    constant.iter().cloned().map(FieldValue::Text).collect(),
                    ValueSource::Constant,
                    None,
                )
            } else {
                let found = rule.salesforce.iter().find_map(|field| {
                    let value = if field == "Id" {
                        Some(FieldValue::Text(record.id.as_str().to_owned()))
                    } else {
                        record.get(field).cloned()
                    };
                    value
                        .filter(|v| !v.to_text().trim().is_empty())
                        .map(|v| (v, field.as_str()))
                });
                match (found, &rule.default) {
                    (Some((value, field)), _) => (
                        vec![value],
                        ValueSource::Salesforce(field.to_owned()),
                        Some(field),
                    ),
                    (None, Some(default)) => (
                        default.iter().cloned().map(FieldValue::Text).collect(),
                        ValueSource::Default(rule.salesforce.clone()),
                        None,
                    ),
                    (None, None) => return,
                }
            };
        let sf_field = from_field.or(rule.salesforce.first().map(String::as_str));
        let label = sf_field.map(|f| self.label(f)).unwrap_or_default();
        let country = json_get(body, "Customer.Account.Address.CountryCode")
            .and_then(Value::as_str)
            .map(str::to_owned);

        let leaf = if kind.is_list() {
            let mut items = Vec::new();
            for value in &values {
                for item in value.as_multi() {
                    let item = apply_transform(rule.transform, &item, country.as_deref());
                    match self.lookup(rule.map.as_deref(), &item, rule.otherwise.as_deref()) {
                        Some(mapped) => items.push(Value::String(mapped)),
                        None => findings.push(unmapped(sf_field, &rule.ace, &label, &item)),
                    }
                }
            }
            items.dedup();
            if items.is_empty() {
                return;
            }
            Value::Array(items)
        } else {
            let Some(value) = values.first() else {
                return;
            };
            let text = match (kind, value) {
                (FieldKind::Amount, value) => match value.as_decimal() {
                    Some(amount) => amount.round(2).to_string(),
                    None => {
                        findings.push(Finding::error(
                            FindingCode::InvalidValue,
                            sf_field,
                            Some(&rule.ace),
                            format!(
                                "{label} must be a number, found \"{}\" (ACE: {})",
                                value.to_text(),
                                rule.ace
                            ),
                        ));
                        return;
                    }
                },
                (FieldKind::Date, value) => match value.as_date() {
                    Some(date) => format_date(date),
                    None => {
                        findings.push(Finding::error(
                            FindingCode::InvalidValue,
                            sf_field,
                            Some(&rule.ace),
                            format!(
                                "{label} must be a date, found \"{}\" (ACE: {})",
                                value.to_text(),
                                rule.ace
                            ),
                        ));
                        return;
                    }
                },
                (_, FieldValue::Multi(items)) => {
                    // A multi-select picklist feeding a single ACE value: the first selection.
                    if items.len() > 1 {
                        findings.push(Finding::warning(
                            FindingCode::MultipleValues,
                            sf_field,
                            Some(&rule.ace),
                            format!(
                                "{label} has {} values selected; ACE takes one, so only \"{}\" is sent (ACE: {})",
                                items.len(),
                                items[0],
                                rule.ace
                            ),
                        ));
                    }
                    match items.first() {
                        Some(first) => first.clone(),
                        None => return,
                    }
                }
                (_, value) => value.to_text(),
            };
            let text = apply_transform(rule.transform, text.trim(), country.as_deref());
            match self.lookup(rule.map.as_deref(), &text, rule.otherwise.as_deref()) {
                Some(mapped) => Value::String(mapped),
                None => {
                    findings.push(unmapped(sf_field, &rule.ace, &label, &text));
                    return;
                }
            }
        };
        json_set(body, &rule.ace, leaf);
        sources.insert(opportunity::strip_indices(&rule.ace), source);
    }

    fn map_closed_lost_reason(
        &self,
        record: &SObject,
        body: &mut Value,
        sources: &mut BTreeMap<String, ValueSource>,
        findings: &mut Vec<Finding>,
    ) {
        const PATH: &str = "LifeCycle.ClosedLostReason";
        let raw = self
            .closed_lost_reason
            .as_deref()
            .and_then(|field| record.text(field))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let (reason, source) = match (raw, &self.closed_lost_default) {
            (Some(raw), _) => {
                let field = self.closed_lost_reason.clone().unwrap_or_default();
                match self.lookup(self.closed_lost_map.as_deref(), &raw, None) {
                    Some(reason) => (reason, ValueSource::Salesforce(field)),
                    None => {
                        findings.push(unmapped(Some(&field), PATH, &self.label(&field), &raw));
                        return;
                    }
                }
            }
            (None, Some(default)) => (
                default.clone(),
                ValueSource::Default(self.closed_lost_reason.iter().cloned().collect()),
            ),
            // The pre-flight check reports the missing reason with AWS's rule.
            (None, None) => return,
        };
        json_set(body, PATH, Value::String(reason));
        sources.insert(PATH.to_owned(), source);
    }

    /// A value through a named map: exact match first, then ignoring case; `otherwise` for the
    /// rest. Without a map the value passes unchanged.
    fn lookup(&self, map: Option<&str>, value: &str, otherwise: Option<&str>) -> Option<String> {
        let Some(name) = map else {
            return Some(value.to_owned());
        };
        let table = self.maps.get(name)?;
        table
            .get(value)
            .or_else(|| {
                table
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(value))
                    .map(|(_, v)| v)
            })
            .cloned()
            .or_else(|| otherwise.map(str::to_owned))
    }
}

fn unmapped(sf_field: Option<&str>, ace: &str, label: &str, value: &str) -> Finding {
    Finding::error(
        FindingCode::UnmappedValue,
        sf_field,
        Some(ace),
        format!(
            "{label} value \"{value}\" has no ACE equivalent in the mapping (ACE: {ace}); pick another value or add it to the mapping"
        ),
    )
}

fn apply_transform(transform: Option<Transform>, value: &str, country: Option<&str>) -> String {
    match transform {
        None => value.to_owned(),
        Some(Transform::UsStateName) if country == Some("US") => rules::us_state_name(value)
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_owned()),
        Some(Transform::UsStateName) => value.to_owned(),
        Some(Transform::SingleLine) => value
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Some(Transform::Lowercase) => value.to_lowercase(),
        Some(Transform::Uppercase) => value.to_uppercase(),
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// A Salesforce API name in words: `Account.BillingStateCode` → "Account Billing State Code",
/// `AWS_Field_Contact__c` → "AWS Field Contact".
pub fn humanize(api_name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for part in api_name.split('.') {
        let part = part
            .strip_suffix("__c")
            .or_else(|| part.strip_suffix("__r"))
            .unwrap_or(part);
        for chunk in part.split('_').filter(|c| !c.is_empty()) {
            // Split camel case, keeping runs of capitals (AWS, URL) together.
            let chars: Vec<char> = chunk.chars().collect();
            let mut word = String::new();
            for (i, &c) in chars.iter().enumerate() {
                let boundary = i > 0
                    && c.is_ascii_uppercase()
                    && (chars[i - 1].is_ascii_lowercase()
                        || chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
                            && chars[i - 1].is_ascii_uppercase());
                if boundary && !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.push(c);
            }
            if !word.is_empty() {
                words.push(word);
            }
        }
    }
    words.join(" ")
}

fn invalid(err: figment::Error) -> MappingError {
    MappingError::Invalid {
        problems: err.into_iter().map(|e| describe(&e)).collect(),
    }
}

/// A figment error in the mapping's own terms: `[[field]] #2: unknown key `colour``.
fn describe(e: &figment::Error) -> String {
    let mut at = String::new();
    let mut path = e.path.iter().peekable();
    while let Some(step) = path.next() {
        let is_array = matches!(step.as_str(), "field" | "stage");
        match path.peek().and_then(|i| i.parse::<usize>().ok()) {
            // A nested list names its tables in full: `[[referrals.field]] #2`.
            Some(index) if is_array && !at.is_empty() => {
                path.next();
                at = format!("[[{at}.{step}]] #{}", index + 1);
            }
            Some(index) if is_array => {
                path.next();
                at.push_str(&format!("[[{step}]] #{}", index + 1));
            }
            _ => {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(step);
            }
        }
    }
    let what = match &e.kind {
        figment::error::Kind::UnknownField(field, expected) => {
            let at = at
                .trim_end_matches(&format!(".{field}"))
                .trim_end_matches(field.as_str());
            let place = if at.is_empty() {
                String::new()
            } else {
                format!("{at}: ")
            };
            return format!(
                "{place}unknown key `{field}` (expected one of: {})",
                expected.join(", ")
            );
        }
        figment::error::Kind::MissingField(field) => {
            let place = if at.is_empty() {
                String::new()
            } else {
                format!("{at}: ")
            };
            return format!("{place}missing key `{field}`");
        }
        kind => kind.to_string(),
    };
    if at.is_empty() {
        what
    } else {
        format!("{at}: {what}")
    }
}

/// Whether a string is a Salesforce field API name, possibly through relationships
/// (`Account.Owner.Email`; SOQL allows five levels).
fn is_field_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 6
        && parts.iter().all(|p| {
            p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Checks a mapping against AWS's service model and the ACE data model's requirements.
/// An empty list means the mapping is sound.
pub fn check(mapping: &Mapping, model: &ServiceModel) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |at: String, message: String| problems.push(Problem { at, message });

    let allowed = |values: Option<&[String]>, value: &str| -> bool {
        values.is_none_or(|values| values.iter().any(|v| v == value))
    };
    let listed = |values: Option<&[String]>| -> String {
        match values {
            Some(v) if v.len() <= 40 => format!(" (ACE's values: {})", v.join(" | ")),
            _ => String::new(),
        }
    };
    let named_enum = |shape: &str| model.enum_values(shape);

    // Field rules.
    let mut targets: BTreeMap<String, usize> = BTreeMap::new();
    for (i, rule) in mapping.fields.iter().enumerate() {
        let at = format!("[[field]] #{} ({})", i + 1, rule.ace);
        let path = opportunity::strip_indices(&rule.ace);
        if let Some(first) = targets.insert(path.clone(), i) {
            problem(
                at.clone(),
                format!(
                    "{path} is also written by [[field]] #{}; each ACE field takes one rule",
                    first + 1
                ),
            );
        }
        let resolved = model.resolve_path(ROOT_SHAPE, &rule.ace);
        let kind = opportunity::writable_field(&rule.ace);
        match (&resolved, kind) {
            (None, _) => {
                problem(
                    at.clone(),
                    format!(
                        "{} is not a field of an ACE opportunity (CreateOpportunity)",
                        rule.ace
                    ),
                );
                continue;
            }
            (Some(_), None) => {
                problem(
                    at.clone(),
                    format!(
                        "{} is not written by the sync (read-only, or set through another key of the mapping)",
                        rule.ace
                    ),
                );
                continue;
            }
            _ => {}
        }
        let enum_values = resolved.as_ref().and_then(|r| r.enum_values);
        if rule.constant.is_some() && !rule.salesforce.is_empty() {
            problem(
                at.clone(),
                "has both `constant` and `salesforce`; a constant ignores Salesforce".to_owned(),
            );
        }
        if rule.constant.is_none() && rule.salesforce.is_empty() {
            problem(
                at.clone(),
                "needs `salesforce` (a field to read) or `constant`".to_owned(),
            );
        }
        for field in &rule.salesforce {
            if !is_field_name(field) {
                problem(
                    at.clone(),
                    format!("\"{field}\" is not a Salesforce field API name"),
                );
            }
        }
        if let Some(map) = &rule.map {
            match mapping.maps.get(map) {
                None => problem(
                    at.clone(),
                    format!("uses map \"{map}\", which [maps] does not define"),
                ),
                Some(table) => {
                    for (from, to) in table {
                        if !allowed(enum_values, to) {
                            problem(
                                format!("[maps.{map}] \"{from}\""),
                                format!(
                                    "\"{to}\" is not a value of {}{}",
                                    rule.ace,
                                    listed(enum_values)
                                ),
                            );
                        }
                    }
                }
            }
        }
        let single = kind.is_some_and(|k| !k.is_list());
        for (key, literal) in [("constant", &rule.constant), ("default", &rule.default)] {
            let Some(values) = literal else { continue };
            if single && values.len() > 1 {
                problem(
                    at.clone(),
                    format!("`{key}` lists several values; {} takes one", rule.ace),
                );
            }
            for value in values {
                if rule.map.is_none() && !allowed(enum_values, value) {
                    problem(
                        at.clone(),
                        format!(
                            "`{key}` \"{value}\" is not a value of {}{}",
                            rule.ace,
                            listed(enum_values)
                        ),
                    );
                }
            }
        }
        if let Some(otherwise) = &rule.otherwise
            && !allowed(enum_values, otherwise)
        {
            problem(
                at.clone(),
                format!(
                    "`otherwise` \"{otherwise}\" is not a value of {}{}",
                    rule.ace,
                    listed(enum_values)
                ),
            );
        }
        if rule.otherwise.is_some() && rule.map.is_none() {
            problem(
                at.clone(),
                "`otherwise` only applies with a `map`".to_owned(),
            );
        }
        if let Some(when) = &rule.when
            && opportunity::writable_field(&when.ace).is_none()
        {
            problem(
                at.clone(),
                format!(
                    "`when` tests {}, which is not an ACE opportunity field",
                    when.ace
                ),
            );
        }
    }
    for reserved in ["LifeCycle.Stage", "LifeCycle.ClosedLostReason"] {
        if let Some(i) = targets.get(reserved) {
            problem(
                format!("[[field]] #{} ({reserved})", i + 1),
                format!(
                    "{reserved} comes from the {} section of the mapping, not from a [[field]] rule",
                    if reserved == "LifeCycle.Stage" {
                        "[[stage]]"
                    } else {
                        "[closed_lost]"
                    }
                ),
            );
        }
    }

    // Stages.
    if mapping.stages.is_empty() {
        problem(
            "[[stage]]".to_owned(),
            "the mapping lists no stages".to_owned(),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, stage) in mapping.stages.iter().enumerate() {
        let at = format!("[[stage]] #{} ({})", i + 1, stage.salesforce);
        if !seen.insert(stage.salesforce.to_lowercase()) {
            problem(
                at.clone(),
                "this Salesforce stage is listed twice".to_owned(),
            );
        }
        if !allowed(named_enum("Stage"), &stage.ace) {
            problem(
                at,
                format!(
                    "\"{}\" is not an ACE stage{}",
                    stage.ace,
                    listed(named_enum("Stage"))
                ),
            );
        }
    }
    if mapping.stage_index(&mapping.create_at).is_none() {
        problem(
            "[trigger] create_at".to_owned(),
            format!(
                "\"{}\" is not one of the [[stage]] Salesforce stages",
                mapping.create_at
            ),
        );
    }
    if let Some(submit_at) = &mapping.submit_at {
        match (mapping.stage_index(submit_at), mapping.stage_index(&mapping.create_at)) {
            (None, _) => problem(
                "[trigger] submit_at".to_owned(),
                format!("\"{submit_at}\" is not one of the [[stage]] Salesforce stages"),
            ),
            (Some(s), Some(c)) if s < c => problem(
                "[trigger] submit_at".to_owned(),
                "comes before create_at in the stage list; an opportunity is created before it is submitted"
                    .to_owned(),
            ),
            _ => {}
        }
    }

    // Closed Lost.
    let has_closed_lost = mapping
        .stages
        .iter()
        .any(|s| s.ace == opportunity::stage::CLOSED_LOST);
    if has_closed_lost
        && mapping.closed_lost_reason.is_none()
        && mapping.closed_lost_default.is_none()
    {
        problem(
            "[closed_lost]".to_owned(),
            "a stage maps to Closed Lost, but neither `reason` (a Salesforce field) nor `default` is set; ACE requires LifeCycle.ClosedLostReason for Closed Lost".to_owned(),
        );
    }
    if let Some(map) = &mapping.closed_lost_map {
        match mapping.maps.get(map) {
            None => problem(
                "[closed_lost] map".to_owned(),
                format!("map \"{map}\" is not defined in [maps]"),
            ),
            Some(table) => {
                for (from, to) in table {
                    if !allowed(named_enum("ClosedLostReason"), to) {
                        problem(
                            format!("[maps.{map}] \"{from}\""),
                            format!(
                                "\"{to}\" is not an ACE Closed Lost reason{}",
                                listed(named_enum("ClosedLostReason"))
                            ),
                        );
                    }
                }
            }
        }
    }
    if let Some(default) = &mapping.closed_lost_default
        && !allowed(named_enum("ClosedLostReason"), default)
    {
        problem(
            "[closed_lost] default".to_owned(),
            format!(
                "\"{default}\" is not an ACE Closed Lost reason{}",
                listed(named_enum("ClosedLostReason"))
            ),
        );
    }
    let named_fields = [
        ("[closed_lost] reason", mapping.closed_lost_reason.as_ref()),
        (
            "[submission] aws_field_contact",
            mapping.aws_field_contact.as_ref(),
        ),
        (
            "[associations] aws_products",
            mapping.aws_products.as_ref().map(|(f, _)| f),
        ),
    ];
    for (at, field) in named_fields {
        if let Some(field) = field
            && !is_field_name(field)
        {
            problem(
                at.to_owned(),
                format!("\"{field}\" is not a Salesforce field API name"),
            );
        }
    }

    // Submission.
    if !allowed(
        named_enum("SalesInvolvementType"),
        &mapping.involvement_type,
    ) {
        problem(
            "[submission] involvement_type".to_owned(),
            format!(
                "\"{}\" is not an ACE involvement type{}",
                mapping.involvement_type,
                listed(named_enum("SalesInvolvementType"))
            ),
        );
    }
    if !allowed(named_enum("Visibility"), &mapping.visibility) {
        problem(
            "[submission] visibility".to_owned(),
            format!(
                "\"{}\" is not an ACE visibility{}",
                mapping.visibility,
                listed(named_enum("Visibility"))
            ),
        );
    }
    for solution in &mapping.solutions {
        if !rules::is_solution_id(solution) {
            problem(
                "[associations] solutions".to_owned(),
                format!("\"{solution}\" is not a solution id (S- followed by digits)"),
            );
        }
    }
    if let Some((_, Some(map))) = &mapping.aws_products
        && !mapping.maps.contains_key(map)
    {
        problem(
            "[associations] aws_products".to_owned(),
            format!("map \"{map}\" is not defined in [maps]"),
        );
    }

    // What ACE requires must be filled by something (ACE-Data-Model__Fields.csv, "Required").
    let filled = |path: &str| targets.contains_key(path) || path == "PartnerOpportunityIdentifier";
    for path in rules::REQUIRED_FOR_CREATION {
        if !filled(path) {
            problem(
                "[[field]]".to_owned(),
                format!("nothing fills {path}, which ACE requires to create an opportunity"),
            );
        }
    }
    if mapping.submit_at.is_some() {
        for path in rules::REQUIRED_FOR_SUBMISSION {
            if !filled(path) {
                problem(
                    "[[field]]".to_owned(),
                    format!("nothing fills {path}, which ACE requires to submit an opportunity"),
                );
            }
        }
        if mapping.solutions.is_empty() && !filled("Project.OtherSolutionDescription") {
            problem(
                "[associations] solutions".to_owned(),
                "no solution to associate and no Project.OtherSolutionDescription: ACE requires one of them to submit (set solutions here or in the ace.solution_ids setting)".to_owned(),
            );
        }
    }
    if let Some(referrals) = &mapping.referrals {
        problems.extend(super::referrals::check(referrals, mapping, model));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mapping_parses() {
        let mapping = Mapping::default_mapping();
        assert_eq!(mapping.create_at, "Qualification");
        assert!(
            mapping
                .stages
                .iter()
                .any(|s| s.salesforce == "Closed Won" && s.ace == "Launched")
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Mapping::parse(
            "version = 1\n[trigger]\ncreate_at = \"A\"\n[[field]]\nace = \"Project.Title\"\nsalesforce = \"Name\"\n[[field]]\nace = \"X\"\ncolour = \"red\"\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("[[field]] #2: unknown key `colour`"),
            "{text}"
        );

        let err =
            Mapping::parse("version = 1\nvesion = 2\n[trigger]\ncreate_at = \"A\"\n").unwrap_err();
        assert!(err.to_string().contains("unknown key `vesion`"), "{err}");

        let err = Mapping::parse("version = 1\n[trigger]\ncreate_at = \"A\"\nsubmit = \"B\"\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("trigger: unknown key `submit`"),
            "{err}"
        );
    }

    #[test]
    fn the_version_is_required_and_checked() {
        let err = Mapping::parse("[trigger]\ncreate_at = \"A\"\n").unwrap_err();
        assert!(err.to_string().contains("missing key `version`"), "{err}");
        let err =
            Mapping::parse("version = 2\n[trigger]\ncreate_at = \"A\"\nnew_key = 1\n").unwrap_err();
        assert!(matches!(err, MappingError::Version { found: 2 }), "{err}");
    }

    #[test]
    fn type_errors_say_where() {
        let err = Mapping::parse("version = 1\n[trigger]\ncreate_at = \"A\"\n[[field]]\nace = 3\n")
            .unwrap_err();
        assert!(err.to_string().contains("[[field]] #1.ace"), "{err}");
        let err = Mapping::parse("version = 1\n[trigger]\ncreate_at = \"A\"\n[[field]]\nace = \"Project.Title\"\nsalesforce = 5\n").unwrap_err();
        assert!(
            err.to_string().contains("a string or a list of strings"),
            "{err}"
        );
        let err = Mapping::parse("version = 1\n[trigger]\ncreate_at = \"A\"\n[[field]]\nace = \"Project.Title\"\ntransform = \"shout\"\n").unwrap_err();
        assert!(err.to_string().contains("transform"), "{err}");
    }

    #[test]
    fn api_names_read_as_words() {
        assert_eq!(
            humanize("Account.BillingStateCode"),
            "Account Billing State Code"
        );
        assert_eq!(humanize("AWS_Field_Contact__c"), "AWS Field Contact");
        assert_eq!(humanize("CloseDate"), "Close Date");
        assert_eq!(humanize("ACE_Business_Problem__c"), "ACE Business Problem");
        assert_eq!(humanize("Account.Website"), "Account Website");
        assert_eq!(humanize("WebsiteURL"), "Website URL");
    }

    #[test]
    fn salesforce_fields_cover_every_source() {
        let fields = Mapping::default_mapping().salesforce_fields();
        for expected in [
            "Id",
            "StageName",
            "Name",
            "CloseDate",
            "Account.Name",
            "Account.BillingCountryCode",
            "Account.Industry",
            "AWS_Field_Contact__c",
            "AWS_Products__c",
            "ACE_Closed_Lost_Reason__c",
            "Use_Cases__c",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} missing from {fields:?}"
            );
        }
        let mut sorted = fields.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(fields, sorted, "sorted and without duplicates");
    }

    fn model() -> ServiceModel {
        ServiceModel::load().unwrap()
    }

    const MINIMAL: &str = r#"
version = 1
[trigger]
create_at = "Qualification"
[[stage]]
salesforce = "Qualification"
ace = "Qualified"
[[field]]
ace = "Project.Title"
salesforce = "Name"
[[field]]
ace = "Project.CustomerBusinessProblem"
salesforce = "Description"
[[field]]
ace = "Customer.Account.CompanyName"
salesforce = "Account.Name"
[[field]]
ace = "Customer.Account.Industry"
constant = "Software and Internet"
[[field]]
ace = "Customer.Account.WebsiteUrl"
salesforce = "Account.Website"
[[field]]
ace = "Customer.Account.Address.CountryCode"
constant = "US"
[[field]]
ace = "LifeCycle.TargetCloseDate"
salesforce = "CloseDate"
[[field]]
ace = "Project.ExpectedCustomerSpend.Amount"
salesforce = "Amount"
[[field]]
ace = "Project.ExpectedCustomerSpend.CurrencyCode"
constant = "USD"
[[field]]
ace = "Project.ExpectedCustomerSpend.Frequency"
constant = "Monthly"
[[field]]
ace = "Project.ExpectedCustomerSpend.TargetCompany"
constant = "AWS"
"#;

    fn problems_of(extra: &str) -> Vec<String> {
        let mapping = Mapping::parse(&format!("{MINIMAL}{extra}")).unwrap();
        check(&mapping, &model())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_default_mapping_passes_check() {
        let problems = check(&Mapping::default_mapping(), &model());
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_minimal_mapping_passes_check() {
        assert_eq!(problems_of(""), Vec::<String>::new());
    }

    #[test]
    fn check_finds_unknown_ace_paths() {
        let p = problems_of(
            "[[field]]\nace = \"Customer.Account.Colour\"\nsalesforce = \"Account.Colour__c\"\n",
        );
        assert!(p.iter().any(|p| p.contains("Customer.Account.Colour is not a field of an ACE opportunity")), "{p:?}");
        let p =
            problems_of("[[field]]\nace = \"LifeCycle.ReviewStatus\"\nconstant = \"Approved\"\n");
        assert!(
            p.iter().any(|p| p.contains("is not written by the sync")),
            "{p:?}"
        );
    }

    #[test]
    fn check_finds_enum_values_ace_does_not_have() {
        let p = problems_of(
            "[[field]]\nace = \"OpportunityType\"\nsalesforce = \"Type\"\nmap = \"types\"\n[maps.types]\n\"New Customer\" = \"Brand New\"\n",
        );
        assert!(
            p.iter()
                .any(|p| p.starts_with("[maps.types] \"New Customer\"")
                    && p.contains("\"Brand New\" is not a value of OpportunityType")
                    && p.contains("Net New Business")),
            "{p:?}"
        );
        let p = problems_of("[[field]]\nace = \"NationalSecurity\"\nconstant = \"Maybe\"\n");
        assert!(
            p.iter()
                .any(|p| p.contains("`constant` \"Maybe\" is not a value of NationalSecurity")),
            "{p:?}"
        );
        let p = problems_of(
            "[[field]]\nace = \"Project.DeliveryModels\"\nsalesforce = \"X__c\"\ndefault = [\"SaaS or PaaS\", \"Cloud\"]\n",
        );
        assert!(
            p.iter()
                .any(|p| p.contains("`default` \"Cloud\" is not a value")),
            "{p:?}"
        );
        let p = problems_of("[[stage]]\nsalesforce = \"Won\"\nace = \"Won\"\n");
        assert!(
            p.iter().any(|p| p.contains("\"Won\" is not an ACE stage")),
            "{p:?}"
        );
        let p = problems_of("[submission]\ninvolvement_type = \"Co-sell\"\n");
        assert!(
            p.iter()
                .any(|p| p.contains("[submission] involvement_type")),
            "{p:?}"
        );
        let p = problems_of(
            "[closed_lost]\ndefault = \"Too expensive\"\n[[stage]]\nsalesforce = \"Lost\"\nace = \"Closed Lost\"\n",
        );
        assert!(
            p.iter().any(|p| p.contains("[closed_lost] default")),
            "{p:?}"
        );
    }

    #[test]
    fn check_finds_missing_required_mappings() {
        let mapping = Mapping::parse(
            &MINIMAL.replace("ace = \"Project.Title\"", "ace = \"Project.ApnPrograms\""),
        )
        .unwrap();
        let p: Vec<String> = check(&mapping, &model())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            p.iter()
                .any(|p| p.contains("nothing fills Project.Title, which ACE requires to create")),
            "{p:?}"
        );

        // Submitting needs the submission set and a solution.
        let p = problems_of("");
        assert!(p.is_empty());
        let with_submit = MINIMAL.replace(
            "create_at = \"Qualification\"",
            "create_at = \"Qualification\"\nsubmit_at = \"Qualification\"",
        );
        let mapping = Mapping::parse(&with_submit).unwrap();
        let p: Vec<String> = check(&mapping, &model())
            .iter()
            .map(ToString::to_string)
            .collect();
        for path in rules::REQUIRED_FOR_SUBMISSION {
            assert!(
                p.iter().any(|p| p.contains(&format!(
                    "nothing fills {path}, which ACE requires to submit"
                ))),
                "{path}: {p:?}"
            );
        }
        assert!(
            p.iter().any(|p| p.contains("no solution to associate")),
            "{p:?}"
        );
        let p: Vec<String> = check(&mapping.with_solutions(vec!["S-1".into()]), &model())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            !p.iter().any(|p| p.contains("no solution to associate")),
            "{p:?}"
        );
    }

    #[test]
    fn check_finds_duplicate_targets_and_bad_references() {
        let p = problems_of("[[field]]\nace = \"Project.Title\"\nsalesforce = \"Subject__c\"\n");
        assert!(
            p.iter()
                .any(|p| p.contains("Project.Title is also written by [[field]] #1")),
            "{p:?}"
        );
        let p = problems_of(
            "[[field]]\nace = \"OpportunityType\"\nsalesforce = \"Type\"\nmap = \"nope\"\n",
        );
        assert!(p.iter().any(|p| p.contains("uses map \"nope\"")), "{p:?}");
        let p =
            problems_of("[[field]]\nace = \"LifeCycle.NextSteps\"\nsalesforce = \"Next Step\"\n");
        assert!(
            p.iter()
                .any(|p| p.contains("not a Salesforce field API name")),
            "{p:?}"
        );
        let p = problems_of("[[field]]\nace = \"LifeCycle.Stage\"\nsalesforce = \"StageName\"\n");
        assert!(
            p.iter()
                .any(|p| p.contains("comes from the [[stage]] section")),
            "{p:?}"
        );
        let p = problems_of("[[field]]\nace = \"LifeCycle.NextSteps\"\n");
        assert!(p.iter().any(|p| p.contains("needs `salesforce`")), "{p:?}");
        let mapping = Mapping::parse(
            &MINIMAL.replace("create_at = \"Qualification\"", "create_at = \"Qualified\""),
        )
        .unwrap();
        let p: Vec<String> = check(&mapping, &model())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(p.iter().any(|p| p.contains("[trigger] create_at")), "{p:?}");
        let p = problems_of("[associations]\nsolutions = [\"soln-1\"]\n");
        assert!(
            p.iter().any(|p| p.contains("is not a solution id")),
            "{p:?}"
        );
    }

    #[test]
    fn writable_fields_agree_with_the_service_model() {
        let model = model();
        for (path, kind) in opportunity::WRITABLE_FIELDS {
            let resolved = model
                .resolve_path(ROOT_SHAPE, path)
                .unwrap_or_else(|| panic!("{path} is not in CreateOpportunityRequest"));
            let is_list = resolved.target.as_list().is_some();
            assert_eq!(is_list, kind.is_list(), "{path}: list-ness");
            assert_eq!(
                resolved.enum_values.is_some(),
                kind.is_enum(),
                "{path}: enum-ness"
            );
            let update = model.resolve_path("UpdateOpportunityRequest", path);
            assert!(update.is_some(), "{path} cannot be updated");
        }
    }
}
