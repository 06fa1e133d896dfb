//! The pre-flight check: a Salesforce record and the mapping become either an ACE request that
//! AWS will accept, or findings a rep can act on, each naming the Salesforce field to fix
//! ("Account Billing State Code is required when the country is the United States (ACE:
//! Customer.Account.Address.StateOrRegion)"). Nothing is sent to ACE before this passes, so
//! AWS's opaque validation errors (landscape.md §6 complaint 6) become messages on the record.
//!
//! Errors are what ACE would refuse: the service model's constraints (through
//! [`ServiceModel::validate_input`]) and AWS's business rules from the ACE data model
//! (ACE-Data-Model__Fields.csv, columns *Conditional Requirements* and *Validation Rules*; each
//! rule below cites it). Warnings are the quality signals of ace-lifecycle.md: no named AWS
//! product, a generic business problem, no real spend estimate, no AWS field contact.

use serde::Serialize;
use serde_json::{Value, json};
use time::Date;

use super::mapping::{MappedOpportunity, Mapping, Phase, ValueSource};
use super::model::{ServiceModel, ViolationCode};
use super::opportunity::{self, Catalog, json_get};
use super::rules::{self, PostalCheck};
use crate::domain::sobject::{SObject, parse_date};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// ACE would refuse the request: nothing is sent.
    Error,
    /// ACE would accept it, but AWS is less likely to validate or engage.
    Warning,
}

/// What kind of problem a finding is; stable names ([`FindingCode::as_str`]) for write-back
/// and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingCode {
    /// ACE requires the field to create or update.
    Required,
    /// ACE requires the field to submit for review.
    RequiredForSubmission,
    /// The value breaks a format, length or enum rule.
    InvalidValue,
    /// A Salesforce picklist value the mapping has no ACE value for.
    UnmappedValue,
    /// The mapping itself is wrong (run `ace-sync mapping check`).
    MappingError,
    /// A constraint of the service model, with the code ACE would answer.
    Model(ViolationCode),
    StateRequired,
    InvalidState,
    PostalCodeRequired,
    InvalidPostalCode,
    BusinessProblemLength,
    ClosedLostReasonRequired,
    OtherIndustryRequired,
    CloseDateInPast,
    CloseDateTooFar,
    WebsiteRequired,
    InvalidWebsite,
    MarketingNotAllowed,
    MarketingFundingRequired,
    OtherCompetitorRequired,
    NationalSecurityIndustry,
    PrimaryNeedsConflict,
    InvolvementTypeConflict,
    SolutionRequired,
    InvalidUseCase,
    InvalidAwsProduct,
    AmountNotPositive,
    CurrencyNotAccepted,
    TargetCompanyNotAccepted,
    ContractDates,
    // Quality signals (warnings).
    NoAwsProduct,
    GenericBusinessProblem,
    NoExpectedSpend,
    NoAwsFieldContact,
    MultipleValues,
}

impl FindingCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::RequiredForSubmission => "required_for_submission",
            Self::InvalidValue => "invalid_value",
            Self::UnmappedValue => "unmapped_value",
            Self::MappingError => "mapping_error",
            Self::Model(code) => match code {
                ViolationCode::RequiredFieldMissing => "model_required_field_missing",
                ViolationCode::InvalidEnumValue => "model_invalid_enum_value",
                ViolationCode::InvalidStringFormat => "model_invalid_string_format",
                ViolationCode::InvalidValue => "model_invalid_value",
                ViolationCode::NotEnoughValues => "model_not_enough_values",
                ViolationCode::TooManyValues => "model_too_many_values",
                ViolationCode::InvalidResourceState => "model_invalid_resource_state",
                ViolationCode::DuplicateKeyValue => "model_duplicate_key_value",
                ViolationCode::ValueOutOfRange => "model_value_out_of_range",
                ViolationCode::ActionNotPermitted => "model_action_not_permitted",
            },
            Self::StateRequired => "state_required",
            Self::InvalidState => "invalid_state",
            Self::PostalCodeRequired => "postal_code_required",
            Self::InvalidPostalCode => "invalid_postal_code",
            Self::BusinessProblemLength => "business_problem_length",
            Self::ClosedLostReasonRequired => "closed_lost_reason_required",
            Self::OtherIndustryRequired => "other_industry_required",
            Self::CloseDateInPast => "close_date_in_past",
            Self::CloseDateTooFar => "close_date_too_far",
            Self::WebsiteRequired => "website_required",
            Self::InvalidWebsite => "invalid_website",
            Self::MarketingNotAllowed => "marketing_not_allowed",
            Self::MarketingFundingRequired => "marketing_funding_required",
            Self::OtherCompetitorRequired => "other_competitor_required",
            Self::NationalSecurityIndustry => "national_security_industry",
            Self::PrimaryNeedsConflict => "primary_needs_conflict",
            Self::InvolvementTypeConflict => "involvement_type_conflict",
            Self::SolutionRequired => "solution_required",
            Self::InvalidUseCase => "invalid_use_case",
            Self::InvalidAwsProduct => "invalid_aws_product",
            Self::AmountNotPositive => "amount_not_positive",
            Self::CurrencyNotAccepted => "currency_not_accepted",
            Self::TargetCompanyNotAccepted => "target_company_not_accepted",
            Self::ContractDates => "contract_dates",
            Self::NoAwsProduct => "no_aws_product",
            Self::GenericBusinessProblem => "generic_business_problem",
            Self::NoExpectedSpend => "no_expected_spend",
            Self::NoAwsFieldContact => "no_aws_field_contact",
            Self::MultipleValues => "multiple_values",
        }
    }
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One thing to fix (or to improve) before ACE sees the opportunity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: FindingCode,
    /// The Salesforce field to change, when one is to blame (API name, e.g. `Account.Website`).
    pub salesforce_field: Option<String>,
    /// The ACE field concerned, in the data model's notation.
    pub ace_field: Option<String>,
    /// For the rep, in their words.
    pub message: String,
}

impl Finding {
    pub fn error(
        code: FindingCode,
        salesforce_field: Option<&str>,
        ace_field: Option<&str>,
        message: String,
    ) -> Finding {
        Finding {
            severity: Severity::Error,
            code,
            salesforce_field: salesforce_field.map(str::to_owned),
            ace_field: ace_field.map(opportunity::strip_indices),
            message,
        }
    }

    pub fn warning(
        code: FindingCode,
        salesforce_field: Option<&str>,
        ace_field: Option<&str>,
        message: String,
    ) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, salesforce_field, ace_field, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What the check needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Today in UTC: TargetCloseDate must not be before it.
    pub today: Date,
    pub catalog: Catalog,
}

/// A request ready for ACE, with the warnings that did not stop it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub request: MappedOpportunity,
    pub warnings: Vec<Finding>,
}

/// Findings, errors first.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub findings: Vec<Finding>,
}

impl Rejected {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }
}

/// Maps the record and checks the result.
pub fn check(
    record: &SObject,
    mapping: &Mapping,
    model: &ServiceModel,
    ctx: &Context,
) -> Result<Checked, Rejected> {
    let mapped = mapping.map(record);
    check_mapped(mapped.opportunity, mapped.findings, mapping, model, ctx)
}

/// Checks an already mapped opportunity; `findings` are those the mapping produced.
pub fn check_mapped(
    mut request: MappedOpportunity,
    mut findings: Vec<Finding>,
    mapping: &Mapping,
    model: &ServiceModel,
    ctx: &Context,
) -> Result<Checked, Rejected> {
    // A closed opportunity's close date is in the past by nature; ACE keeps the one it has
    // (an update merges with ACE's record). Opportunities are not created in ACE once closed.
    let mut close_date_kept = false;
    if matches!(request.phase, Phase::Won | Phase::Lost)
        && let Some(life_cycle) = request.body.life_cycle.as_mut()
    {
        let past = life_cycle
            .target_close_date
            .as_deref()
            .and_then(parse_date)
            .is_some_and(|d| d < ctx.today);
        if past {
            life_cycle.target_close_date = None;
            close_date_kept = true;
        }
    }

    let rules = RuleCheck {
        request: &request,
        mapping,
        body: request.body.to_json(),
        ctx,
        close_date_kept,
    };
    rules.run(&mut findings);

    // The service model's own constraints, for what the business rules did not already say.
    let mut input = request.body.to_json();
    if let Value::Object(map) = &mut input {
        map.insert("Catalog".into(), json!(ctx.catalog.as_str()));
        map.insert("ClientToken".into(), json!("pre-flight"));
        map.insert("Origin".into(), json!("Partner Referral"));
    }
    for violation in model.validate_input("CreateOpportunity", &input) {
        let ace = opportunity::strip_indices(&violation.field);
        if findings
            .iter()
            .any(|f| f.is_error() && f.ace_field.as_deref() == Some(ace.as_str()))
        {
            continue;
        }
        let (sf, label) = rules.blame(&ace);
        findings.push(Finding::error(
            FindingCode::Model(violation.code),
            sf.as_deref(),
            Some(&ace),
            format!("{label}: {} (ACE: {ace})", violation.message),
        ));
    }

    findings.sort_by_key(|f| f.severity);
    if findings.iter().any(Finding::is_error) {
        Err(Rejected { findings })
    } else {
        Ok(Checked {
            request,
            warnings: findings,
        })
    }
}

struct RuleCheck<'a> {
    request: &'a MappedOpportunity,
    mapping: &'a Mapping,
    body: Value,
    ctx: &'a Context,
    /// The record's past close date is not sent: ACE's stays.
    close_date_kept: bool,
}

const DO_NOT_NEED_SUPPORT: &str = "Do Not Need Support from AWS Sales Rep";

/// Phrases that say nothing about a customer's problem (ace-lifecycle.md quality signal 2:
/// "generic text like 'cloud migration' is a warning").
const BOILERPLATE: &[&str] = &[
    "cloud migration",
    "migration to aws",
    "migrate to aws",
    "migrating to aws",
    "aws migration",
    "move to aws",
    "move to the cloud",
    "moving to the cloud",
    "migrate to the cloud",
    "migration to the cloud",
    "digital transformation",
    "modernization",
    "modernisation",
    "cost optimization",
    "cost savings",
    "aws opportunity",
    "new opportunity",
    "to be determined",
    "tbd",
    "n/a",
    "see description",
    "see notes",
    "test",
];

impl RuleCheck<'_> {
    fn text(&self, path: &str) -> Option<&str> {
        json_get(&self.body, path)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    fn list(&self, path: &str) -> Vec<&str> {
        json_get(&self.body, path)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    fn national_security(&self) -> bool {
        self.text("NationalSecurity") == Some("Yes")
    }

    /// The Salesforce field to blame for an ACE field, and how to name it to a rep.
    fn blame(&self, ace: &str) -> (Option<String>, String) {
        let field = match self.request.sources.get(ace) {
            Some(ValueSource::Salesforce(field)) => Some(field.clone()),
            Some(ValueSource::Default(fields)) => fields.first().cloned(),
            Some(ValueSource::Constant) => None,
            None => self.mapping.salesforce_source(ace).map(str::to_owned),
        };
        match field {
            Some(field) => {
                let label = self.mapping.label(&field);
                (Some(field), label)
            }
            None => (None, format!("The mapping's value for {ace}")),
        }
    }

    fn error(&self, findings: &mut Vec<Finding>, code: FindingCode, ace: &str, what: &str) {
        let (sf, label) = self.blame(ace);
        findings.push(Finding::error(
            code,
            sf.as_deref(),
            Some(ace),
            format!("{label} {what} (ACE: {ace})"),
        ));
    }

    fn warning(&self, findings: &mut Vec<Finding>, code: FindingCode, ace: &str, what: &str) {
        let (sf, label) = self.blame(ace);
        findings.push(Finding::warning(
            code,
            sf.as_deref(),
            Some(ace),
            format!("{label} {what} (ACE: {ace})"),
        ));
    }

    /// The Salesforce field a mapping setting names, and how a rep calls it (`fallback` when
    /// the mapping names none).
    fn mapped_field<'m>(
        &self,
        field: Option<&'m str>,
        fallback: &str,
    ) -> (Option<&'m str>, String) {
        match field {
            Some(field) => (Some(field), self.mapping.label(field)),
            None => (None, fallback.to_owned()),
        }
    }

    fn aws_products_field(&self) -> (Option<&str>, String) {
        let field = self
            .mapping
            .aws_products
            .as_ref()
            .map(|(field, _)| field.as_str());
        self.mapped_field(field, "AWS products")
    }

    fn run(&self, findings: &mut Vec<Finding>) {
        let submitting = self.request.submission.is_some();
        self.required(findings, submitting);
        self.address(findings, submitting);
        self.account(findings);
        self.project(findings);
        self.life_cycle(findings);
        self.marketing(findings);
        self.primary_needs(findings);
        self.aws_products(findings);
        self.quality(findings, submitting);
    }

    /// "Required" and "Required for Submission" (ACE-Data-Model__Fields.csv).
    fn required(&self, findings: &mut Vec<Finding>, submitting: bool) {
        for path in rules::REQUIRED_FOR_CREATION {
            // WebsiteUrl: "Not required when NationalSecurity is Yes".
            if *path == "Customer.Account.WebsiteUrl" && self.national_security() {
                continue;
            }
            if *path == "LifeCycle.TargetCloseDate" && self.close_date_kept {
                continue;
            }
            if json_get(&self.body, path).is_none() {
                let code = if *path == "Customer.Account.WebsiteUrl" {
                    FindingCode::WebsiteRequired
                } else if path.starts_with("Project.ExpectedCustomerSpend") {
                    FindingCode::NoExpectedSpend
                } else {
                    FindingCode::Required
                };
                self.error(findings, code, path, "is required");
            }
        }
        if !submitting {
            return;
        }
        for path in rules::REQUIRED_FOR_SUBMISSION {
            if json_get(&self.body, path).is_none() {
                self.error(
                    findings,
                    FindingCode::RequiredForSubmission,
                    path,
                    "is required to submit the opportunity to AWS",
                );
            }
        }
        // "On Submission either a valid solution OR OtherSolutionDescription is required".
        if self.request.solutions.is_empty()
            && self.text("Project.OtherSolutionDescription").is_none()
        {
            findings.push(Finding::error(
                FindingCode::SolutionRequired,
                None,
                Some("RelatedEntityIdentifiers.Solutions"),
                "No solution is configured to associate, and no other solution is described: ACE needs one to submit (set [associations] solutions in the mapping, or the ace.solution_ids setting) (ACE: RelatedEntityIdentifiers.Solutions)".to_owned(),
            ));
        }
    }

    fn address(&self, findings: &mut Vec<Finding>, submitting: bool) {
        let Some(country) = self.text("Customer.Account.Address.CountryCode") else {
            return;
        };
        let national_security = self.national_security();
        // StateOrRegion: "Required when CountryCode is US … must be one of the allowed US states or
        // territories. State is not required when Country = US AND NationalSecurity = Yes".
        if country == "US" && !national_security {
            const PATH: &str = "Customer.Account.Address.StateOrRegion";
            match self.text(PATH) {
                None => self.error(
                    findings,
                    FindingCode::StateRequired,
                    PATH,
                    "is required when the country is the United States",
                ),
                Some(state) if !rules::is_us_state(state) => {
                    let hint = match rules::us_state_name(state) {
                        Some(name) if name != state => format!(
                            "; did you mean \"{name}\"? (a mapping rule with transform = \"us-state-name\" converts codes)"
                        ),
                        _ => String::new(),
                    };
                    self.error(
                        findings,
                        FindingCode::InvalidState,
                        PATH,
                        &format!("\"{state}\" is not a US state or territory ACE knows{hint}"),
                    );
                }
                Some(_) => {}
            }
        }
        // PostalCode: "Required based on country. Not required for countries without postal codes.
        // Not required when NationalSecurity is Yes and Country = US"; the format "on Submission".
        const POSTAL: &str = "Customer.Account.Address.PostalCode";
        if !rules::country_has_postal_codes(country) || (country == "US" && national_security) {
            return;
        }
        match self.text(POSTAL) {
            None => self.error(
                findings,
                FindingCode::PostalCodeRequired,
                POSTAL,
                &format!("is required for addresses in {country}"),
            ),
            Some(code) => {
                if let PostalCheck::Invalid { message } = rules::check_postal_code(country, code) {
                    let what = format!("\"{code}\" is not valid: {message}");
                    if submitting {
                        self.error(findings, FindingCode::InvalidPostalCode, POSTAL, &what);
                    } else {
                        // ACE checks the format at submission only; say so now.
                        self.warning(
                            findings,
                            FindingCode::InvalidPostalCode,
                            POSTAL,
                            &format!("{what} ACE will refuse the submission"),
                        );
                    }
                }
            }
        }
    }

    fn account(&self, findings: &mut Vec<Finding>) {
        // "Conditional_Industry_Other: Validates that the field is provided when Industry is Other."
        if self.text("Customer.Account.Industry") == Some("Other")
            && self.text("Customer.Account.OtherIndustry").is_none()
        {
            self.error(
                findings,
                FindingCode::OtherIndustryRequired,
                "Customer.Account.OtherIndustry",
                "is required when the industry is Other: name the customer's industry",
            );
        }
        // NationalSecurity Yes ⇒ Industry Government (ACE-Data-Model.xlsx validation rules).
        if self.national_security() && self.text("Customer.Account.Industry") != Some("Government")
        {
            self.error(
                findings,
                FindingCode::NationalSecurityIndustry,
                "NationalSecurity",
                "is Yes, which ACE allows only for the Government industry",
            );
        }
        // WebsiteUrl's pattern in the data model: [scheme://][www.]label(.part)+.
        if let Some(url) = self.text("Customer.Account.WebsiteUrl")
            && !is_website(url)
        {
            self.error(
                    findings,
                    FindingCode::InvalidWebsite,
                    "Customer.Account.WebsiteUrl",
                    &format!("\"{url}\" is not a web address ACE accepts (like acme.com or https://www.acme.com/about)"),
                );
        }
    }

    fn project(&self, findings: &mut Vec<Finding>) {
        // "at least 20 characters and must be less than 2000 characters".
        const PROBLEM: &str = "Project.CustomerBusinessProblem";
        if let Some(problem) = self.text(PROBLEM) {
            let len = problem.chars().count();
            if len < rules::BUSINESS_PROBLEM_MIN {
                self.error(
                    findings,
                    FindingCode::BusinessProblemLength,
                    PROBLEM,
                    &format!(
                        "has {len} characters; ACE needs at least {} describing the customer's business problem",
                        rules::BUSINESS_PROBLEM_MIN
                    ),
                );
            } else if len > rules::BUSINESS_PROBLEM_MAX {
                self.error(
                    findings,
                    FindingCode::BusinessProblemLength,
                    PROBLEM,
                    &format!(
                        "has {len} characters; ACE takes at most {}",
                        rules::BUSINESS_PROBLEM_MAX
                    ),
                );
            }
        }
        // CustomerUseCase: "Validates that the value is one of the allowed values."
        if let Some(use_case) = self.text("Project.CustomerUseCase")
            && !rules::is_customer_use_case(use_case)
        {
            let hint = rules::customer_use_case_like(use_case)
                .map(|v| format!("; ACE spells it \"{v}\""))
                .unwrap_or_default();
            self.error(
                findings,
                FindingCode::InvalidUseCase,
                "Project.CustomerUseCase",
                &format!("\"{use_case}\" is not one of ACE's customer use cases{hint}"),
            );
        }
        // Project.OtherCompetitorNames: "Required when Project.CompetitorNames contains Other".
        if self.text("Project.CompetitorName") == Some("*Other")
            && self.text("Project.OtherCompetitorNames").is_none()
        {
            self.error(
                findings,
                FindingCode::OtherCompetitorRequired,
                "Project.OtherCompetitorNames",
                "is required when the competitor is Other: name the competitor",
            );
        }
        // ExpectedCustomerSpend (ACE-Data-Model: Amount "cannot be negative or Zero" — test
        // scenario 7.11; CurrencyCode "must satisfy … pattern: USD"; TargetCompany "must be AWS",
        // or Self with an ExpectedContractDuration, ace-api.md §4.3).
        if let Some(amount) = self.text("Project.ExpectedCustomerSpend.Amount") {
            let positive = crate::domain::sobject::Decimal::parse(amount)
                .is_some_and(|d| !d.is_zero() && !d.is_negative());
            if !positive {
                self.error(
                    findings,
                    FindingCode::AmountNotPositive,
                    "Project.ExpectedCustomerSpend.Amount",
                    &format!("is {amount}; the expected monthly AWS spend must be more than zero"),
                );
            }
        }
        if let Some(currency) = self.text("Project.ExpectedCustomerSpend.CurrencyCode")
            && currency != "USD"
        {
            self.error(
                findings,
                FindingCode::CurrencyNotAccepted,
                "Project.ExpectedCustomerSpend.CurrencyCode",
                &format!("is {currency}; ACE takes the expected AWS spend in USD only"),
            );
        }
        if let Some(target) = self.text("Project.ExpectedCustomerSpend.TargetCompany") {
            let with_duration = json_get(&self.body, "Project.ExpectedContractDuration").is_some();
            if !(target == "AWS" || (target == "Self" && with_duration)) {
                self.error(
                    findings,
                    FindingCode::TargetCompanyNotAccepted,
                    "Project.ExpectedCustomerSpend.TargetCompany",
                    &format!(
                        "is \"{target}\"; ACE takes AWS (or Self together with an expected contract duration)"
                    ),
                );
            }
        }
        // SoftwareRevenue: "Effective Date must be less than or equal to the expiration date".
        let effective = self
            .text("SoftwareRevenue.EffectiveDate")
            .and_then(parse_date);
        let expiration = self
            .text("SoftwareRevenue.ExpirationDate")
            .and_then(parse_date);
        if let (Some(effective), Some(expiration)) = (effective, expiration)
            && effective > expiration
        {
            self.error(
                findings,
                FindingCode::ContractDates,
                "SoftwareRevenue.EffectiveDate",
                "is after the contract's expiration date",
            );
        }
    }

    fn life_cycle(&self, findings: &mut Vec<Finding>) {
        // "Required when LifeCycle.Stage is Closed Lost".
        if self.text("LifeCycle.Stage") == Some(opportunity::stage::CLOSED_LOST)
            && self.text("LifeCycle.ClosedLostReason").is_none()
        {
            let (sf, label) = self.mapped_field(
                self.mapping.closed_lost_reason.as_deref(),
                "The Closed Lost reason",
            );
            findings.push(Finding::error(
                FindingCode::ClosedLostReasonRequired,
                sf,
                Some("LifeCycle.ClosedLostReason"),
                format!(
                    "{label} is required when the opportunity is Closed Lost (ACE: LifeCycle.ClosedLostReason)"
                ),
            ));
        }
        // "Validates that the date isn't in the past and more than 60 years in the future".
        const DATE: &str = "LifeCycle.TargetCloseDate";
        if let Some(date) = self.text(DATE).and_then(parse_date) {
            if date < self.ctx.today {
                self.error(
                    findings,
                    FindingCode::CloseDateInPast,
                    DATE,
                    &format!("is {date}, in the past; ACE needs a close date from today on"),
                );
            } else if date.year() > self.ctx.today.year() + 60 {
                self.error(
                    findings,
                    FindingCode::CloseDateTooFar,
                    DATE,
                    &format!("is {date}; ACE takes close dates at most 60 years ahead"),
                );
            }
        }
    }

    fn marketing(&self, findings: &mut Vec<Finding>) {
        // Marketing.Source None ⇒ CampaignName, Channels, UseCases, AwsFundingUsed "must be null";
        // Marketing Activity ⇒ AwsFundingUsed required (ACE-Data-Model__Fields.csv).
        match self.text("Marketing.Source") {
            Some("None") => {
                for path in [
                    "Marketing.CampaignName",
                    "Marketing.Channels",
                    "Marketing.UseCases",
                    "Marketing.AwsFundingUsed",
                ] {
                    if json_get(&self.body, path).is_some() {
                        self.error(
                            findings,
                            FindingCode::MarketingNotAllowed,
                            path,
                            "must be empty when the opportunity does not come from a marketing activity (Marketing Source is None)",
                        );
                    }
                }
            }
            Some("Marketing Activity") => {
                if self.text("Marketing.AwsFundingUsed").is_none() {
                    self.error(
                        findings,
                        FindingCode::MarketingFundingRequired,
                        "Marketing.AwsFundingUsed",
                        "is required when the opportunity comes from a marketing activity",
                    );
                }
                if self.text("Marketing.AwsFundingUsed") == Some("No")
                    && !self.list("Marketing.UseCases").is_empty()
                {
                    self.error(
                        findings,
                        FindingCode::MarketingNotAllowed,
                        "Marketing.UseCases",
                        "must be empty when no AWS marketing funds were used",
                    );
                }
            }
            _ => {}
        }
    }

    fn primary_needs(&self, findings: &mut Vec<Finding>) {
        // "Co-sell values cannot be selected along with Do not need support from AWS Sales Rep";
        // on submission, Co-Sell involvement excludes "Do Not Need Support", and For Visibility
        // Only excludes the Co-Sell needs.
        let needs = self.list("PrimaryNeedsFromAws");
        let no_support = needs
            .iter()
            .any(|n| n.eq_ignore_ascii_case(DO_NOT_NEED_SUPPORT));
        let co_sell_needs = needs.iter().any(|n| n.starts_with("Co-Sell"));
        if no_support && co_sell_needs {
            self.error(
                findings,
                FindingCode::PrimaryNeedsConflict,
                "PrimaryNeedsFromAws",
                "combines \"Do Not Need Support from AWS Sales Rep\" with Co-Sell needs; choose one or the other",
            );
        }
        if let Some(submission) = &self.request.submission {
            let conflict = match submission.involvement_type.as_str() {
                "Co-Sell" => no_support,
                "For Visibility Only" => co_sell_needs,
                _ => false,
            };
            if conflict {
                self.error(
                    findings,
                    FindingCode::InvolvementTypeConflict,
                    "PrimaryNeedsFromAws",
                    &format!(
                        "does not fit the mapping's involvement type {}: ACE refuses to submit Co-Sell without a need for AWS support, or For Visibility Only with Co-Sell needs",
                        submission.involvement_type
                    ),
                );
            }
        }
    }

    /// AWS products are associated after creation; one ACE does not know fails that call
    /// (AssociateOpportunity: "must be one of the allowed AWS products").
    fn aws_products(&self, findings: &mut Vec<Finding>) {
        let unknown: Vec<&str> = self
            .request
            .aws_products
            .iter()
            .map(String::as_str)
            .filter(|code| !rules::is_aws_product(code))
            .collect();
        if unknown.is_empty() {
            return;
        }
        let (sf, label) = self.aws_products_field();
        findings.push(Finding::error(
            FindingCode::InvalidAwsProduct,
            sf,
            Some("RelatedEntityIdentifiers.AwsProducts"),
            format!(
                "{label}: {} {} not an AWS product code ACE knows; use the codes of AWS's product list, e.g. AmazonRedshift (ACE: RelatedEntityIdentifiers.AwsProducts)",
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" }
            ),
        ));
    }

    /// ace-lifecycle.md, "Quality signals the seed names".
    fn quality(&self, findings: &mut Vec<Finding>, submitting: bool) {
        // 1. Named AWS services.
        if self.request.aws_products.is_empty() {
            let (sf, label) = self.aws_products_field();
            findings.push(Finding::warning(
                FindingCode::NoAwsProduct,
                sf,
                Some("RelatedEntityIdentifiers.AwsProducts"),
                format!(
                    "{label} names no AWS product; opportunities that name the specific AWS services in scope are validated faster (ACE: RelatedEntityIdentifiers.AwsProducts)"
                ),
            ));
        }
        // 2. A specific business problem, not boilerplate.
        if let Some(problem) = self.text("Project.CustomerBusinessProblem") {
            let long_enough = problem.chars().count() >= rules::BUSINESS_PROBLEM_MIN;
            if long_enough && is_generic(problem, self.text("Project.Title")) {
                self.warning(
                    findings,
                    FindingCode::GenericBusinessProblem,
                    "Project.CustomerBusinessProblem",
                    "reads as generic; say what the customer needs to solve, for whom and why now (AWS rejects or parks vague submissions)",
                );
            }
        }
        // 3. A real expected AWS spend, not the mapping's placeholder.
        const AMOUNT: &str = "Project.ExpectedCustomerSpend.Amount";
        let source = self.request.sources.get(AMOUNT);
        if matches!(
            source,
            Some(ValueSource::Default(_) | ValueSource::Constant)
        ) {
            let amount = self.text(AMOUNT).unwrap_or_default();
            let (sf, label) = match fields_first(source) {
                Some(field) => {
                    let label = self.mapping.label(&field);
                    (Some(field), label)
                }
                None => (None, "The expected monthly AWS spend".to_owned()),
            };
            findings.push(Finding::warning(
                FindingCode::NoExpectedSpend,
                sf.as_deref(),
                Some(AMOUNT),
                format!(
                    "{label} was not entered, so the mapping's placeholder {amount} was sent; enter the customer's expected monthly AWS spend (ACE: {AMOUNT})"
                ),
            ));
        }
        // 4. A named AWS field contact at submission.
        if submitting && self.request.aws_field_contact.is_none() {
            let (sf, label) = self.mapped_field(
                self.mapping.aws_field_contact.as_deref(),
                "The AWS field contact",
            );
            findings.push(Finding::warning(
                FindingCode::NoAwsFieldContact,
                sf,
                Some("Project.AdditionalComments"),
                format!(
                    "{label} is empty; naming the AWS seller you work with is the strongest predictor of co-sell revenue (sent in ACE: Project.AdditionalComments)"
                ),
            ));
        }
    }
}

fn fields_first(source: Option<&ValueSource>) -> Option<String> {
    match source {
        Some(ValueSource::Default(fields)) => fields.first().cloned(),
        _ => None,
    }
}

/// Whether a business problem says little beyond boilerplate: fewer than six words of three
/// letters or more once the stock phrases (and the title) are taken out.
fn is_generic(problem: &str, title: Option<&str>) -> bool {
    let normalize = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '/' {
                    c.to_ascii_lowercase()
                } else {
                    ' '
                }
            })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = format!(" {} ", normalize(problem));
    let mut phrases: Vec<String> = BOILERPLATE.iter().map(|p| normalize(p)).collect();
    if let Some(title) = title {
        phrases.push(normalize(title));
    }
    for phrase in phrases.iter().filter(|p| !p.is_empty()) {
        text = text.replace(&format!(" {phrase} "), " ");
    }
    text.split_whitespace()
        .filter(|w| w.chars().count() >= 3)
        .count()
        < 6
}

/// The WebsiteUrl pattern of ACE-Data-Model__Fields.csv,
/// `^((http|https)://)??(www[.])??([a-zA-Z0-9]|-)+?([.][a-zA-Z0-9(-|/|=|?)??]+?)+?$`: an
/// optional scheme and `www.`, a first label of letters, digits and hyphens, then one or more
/// `.part`s made of letters, digits and `( ) - | / = ?`.
pub fn is_website(url: &str) -> bool {
    let len = url.chars().count();
    if !(4..=255).contains(&len) {
        return false;
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let Some((first, parts)) = rest.split_once('.') else {
        return false;
    };
    let label_ok =
        !first.is_empty() && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "()-|/=?".contains(c))
    };
    label_ok && parts.split('.').all(part_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_serialize_with_stable_names() {
        let finding = Finding::error(
            FindingCode::Model(ViolationCode::InvalidEnumValue),
            Some("Account.Industry"),
            Some("Customer.Account.Industry"),
            "m".to_owned(),
        );
        assert_eq!(
            serde_json::to_value(&finding).unwrap(),
            json!({"severity": "error", "code": "model_invalid_enum_value",
                   "salesforce_field": "Account.Industry", "ace_field": "Customer.Account.Industry",
                   "message": "m"})
        );
        assert_eq!(
            FindingCode::NoAwsFieldContact.as_str(),
            "no_aws_field_contact"
        );
    }

    #[test]
    fn websites_follow_the_data_model_pattern() {
        for ok in [
            "ally.com",
            "www.testsite011.amazon.com",
            "https://acme.example",
            "http://www.acme.co.uk/about",
            "acme-corp.io/path?x=1",
        ] {
            assert!(is_website(ok), "{ok}");
        }
        for bad in [
            "acme",
            "https://acme",
            "acme..com",
            "acme.com/a&b",
            "ftp://acme.com",
            "a.b",
        ] {
            assert!(!is_website(bad), "{bad}");
        }
    }

    #[test]
    fn generic_business_problems_are_recognised() {
        assert!(is_generic("Customer wants a cloud migration to AWS.", None));
        assert!(is_generic("Cloud migration - TBD - see notes later", None));
        assert!(is_generic(
            "Acme data platform Acme data platform",
            Some("Acme data platform")
        ));
        assert!(!is_generic(
            "Automation Platform development for bank. Need support in understanding customer requirements and any background on their cloud projects",
            None
        ));
    }
}
