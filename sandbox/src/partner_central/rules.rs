//! ACE's business rules, as the simulated service enforces them after the model's own request
//! validation. Each rule cites its source: `ACE-Data-Model__Fields.csv` (AWS's data model; its
//! "Error Messages" column gives the texts used here), ace-api.md §3–§8, or the two postal
//! tables. These are written independently of the product's pre-flight check, which must not
//! be trusted to be complete.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use time::Date;

use ace_sync::ace::model::{Violation, ViolationCode};

use super::reference_data::{ReferenceData, US_STATES_AND_TERRITORIES};
use super::store::{Opportunity, ReviewStatus};

/// Members that may change while `Action Required` (ace-api.md §8; Fields.csv column
/// "Update-Action Required"). List items are written without an index.
pub const ACTION_REQUIRED_EDITABLE: &[&str] = &[
    "Customer.Account.Address.City",
    "Customer.Account.Address.CountryCode",
    "Customer.Account.Address.PostalCode",
    "Customer.Account.Address.StateOrRegion",
    "Customer.Account.Address.StreetAddress",
    "Customer.Account.WebsiteUrl",
    "LifeCycle.TargetCloseDate",
    "Project.ExpectedCustomerSpend.Amount",
    "Project.ExpectedCustomerSpend.CurrencyCode",
    "Project.ExpectedCustomerSpend.EstimationUrl",
    "Project.ExpectedCustomerSpend.Frequency",
    "Project.ExpectedCustomerSpend.TargetCompany",
    "Project.CustomerBusinessProblem",
    "PartnerOpportunityIdentifier",
];

/// Members that can no longer change once AWS approved the opportunity (ace-api.md §8).
pub const LOCKED_AFTER_APPROVAL: &[&str] = &[
    "Customer.Account.Address.CountryCode",
    "Customer.Account.Address.PostalCode",
    "Customer.Account.Industry",
    "Customer.Account.WebsiteUrl",
    "Project.CustomerBusinessProblem",
    "PartnerOpportunityIdentifier",
    "Project.Title",
];

/// `LifeCycle` members the partner cannot write (the model calls them read-only); the Sandbox
/// catalog reads `ReviewStatus`/`ReviewComments` as a review simulation instead.
pub const LIFECYCLE_READ_ONLY: &[&str] = &[
    "ReviewStatus",
    "ReviewComments",
    "ReviewStatusReason",
    "NextStepsHistory",
];

/// What a rule needs besides the body.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext<'a> {
    pub today: Date,
    pub reference: &'a ReferenceData,
    /// UpdateOpportunity (some members are required for updates only).
    pub is_update: bool,
    /// A submission: postal codes are checked against their country's format only then
    /// (Fields.csv: "matches the format for the country on Submission"; AWS's own
    /// updateOpportunity.json sample carries a 4-digit US postal code).
    pub at_submission: bool,
}

/// A member by dotted path; `null` reads as absent.
pub fn get<'v>(body: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = body;
    for segment in path.split('.') {
        current = current.get(segment)?;
    }
    (!current.is_null()).then_some(current)
}

pub fn get_str<'v>(body: &'v Value, path: &str) -> Option<&'v str> {
    get(body, path).and_then(Value::as_str)
}

fn present(body: &Value, path: &str) -> bool {
    match get(body, path) {
        None => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

fn required(field: &str) -> Violation {
    Violation::required(field)
}

fn violation(field: &str, code: ViolationCode, message: impl Into<String>) -> Violation {
    Violation::new(field, code, message)
}

/// Catalog must be `AWS` or `Sandbox` (Fields.csv: Catalog, Allowed Values).
pub fn catalog_rule(catalog: &str) -> Option<Violation> {
    (!matches!(catalog, "AWS" | "Sandbox")).then(|| {
        violation(
            "Catalog",
            ViolationCode::InvalidEnumValue,
            "Field Catalog must be one of the following values: AWS; Sandbox.",
        )
    })
}

/// In the AWS catalog only partner referrals can be created; `AWS Referral` exists to
/// simulate AWS's referrals in Sandbox (ace-api.md §3 CreateOpportunity).
pub fn origin_rule(catalog: &str, origin: Option<&str>) -> Option<Violation> {
    (catalog == "AWS" && origin.is_some_and(|o| o != "Partner Referral")).then(|| {
        violation(
            "Origin",
            ViolationCode::InvalidValue,
            "Field Origin must be 'Partner Referral' when Catalog is 'AWS'.",
        )
    })
}

fn national_security(body: &Value) -> bool {
    get_str(body, "NationalSecurity") == Some("Yes")
}

/// The rules every CreateOpportunity and UpdateOpportunity body must satisfy.
pub fn opportunity_rules(body: &Value, ctx: &RuleContext<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let natsec = national_security(body);

    // Fields.csv "Required" members (beyond the model's own required members).
    for field in [
        "Customer.Account.CompanyName",
        "Customer.Account.Industry",
        "Customer.Account.Address.CountryCode",
        "LifeCycle.TargetCloseDate",
        "Project.Title",
        "Project.CustomerBusinessProblem",
    ] {
        if !present(body, field) {
            out.push(required(field));
        }
    }
    // WebsiteUrl: "Not required when NationalSecurity is Yes".
    if !natsec && !present(body, "Customer.Account.WebsiteUrl") {
        out.push(required("Customer.Account.WebsiteUrl"));
    }
    // LifeCycle.Stage: "Required for Updates".
    if ctx.is_update && !present(body, "LifeCycle.Stage") {
        out.push(required("LifeCycle.Stage"));
    }
    if let Some(Value::Array(spend)) = get(body, "Project.ExpectedCustomerSpend") {
        for (i, item) in spend.iter().enumerate() {
            if !present(item, "Amount") {
                out.push(violation(
                    &format!("Project.ExpectedCustomerSpend[{i}].Amount"),
                    ViolationCode::RequiredFieldMissing,
                    "Field Project.ExpectedCustomerSpend.Amount is required.",
                ));
            }
        }
    }

    address_rules(body, natsec, ctx, &mut out);

    // NationalSecurityValidation: "When National Security is 'Yes' - Industry MUST be Government".
    if natsec && get_str(body, "Customer.Account.Industry").is_some_and(|i| i != "Government") {
        out.push(violation(
            "Customer.Account.Industry",
            ViolationCode::InvalidValue,
            "When National Security is 'Yes'  - Industry MUST be Government",
        ));
    }
    // Conditional_Industry_Other.
    if get_str(body, "Customer.Account.Industry") == Some("Other")
        && !present(body, "Customer.Account.OtherIndustry")
    {
        out.push(required_when(
            "Customer.Account.OtherIndustry",
            "Field Customer.Account.OtherIndustry is required when Customer.Account.Industry is 'Other'.",
        ));
    }
    // LifeCycle.ClosedLostReason: "Required when LifeCycle.Stage is Closed Lost".
    let stage = get_str(body, "LifeCycle.Stage");
    if stage == Some("Closed Lost") && !present(body, "LifeCycle.ClosedLostReason") {
        out.push(required_when(
            "LifeCycle.ClosedLostReason",
            "Field LifeCycle.ClosedLostReason is required when LifeCycle.Stage is 'Closed Lost'.",
        ));
    }
    // Conditional_OtherCompetitorNames.
    if get_str(body, "Project.CompetitorName") == Some("*Other")
        && !present(body, "Project.OtherCompetitorNames")
    {
        out.push(required_when(
            "Project.OtherCompetitorNames",
            "Field Project.OtherCompetitorNames is required when Project.CompetitorNames contains 'Other'.",
        ));
    }
    marketing_rules(body, &mut out);
    date_rules(body, stage, ctx, &mut out);
    out
}

fn required_when(field: &str, message: &str) -> Violation {
    violation(field, ViolationCode::RequiredFieldMissing, message)
}

/// StateOrRegion and PostalCode by country (Fields.csv; PostalCodeValidations.csv;
/// CountriesWithoutPostalCode.csv). Neither is required for US national-security
/// opportunities.
fn address_rules(body: &Value, natsec: bool, ctx: &RuleContext<'_>, out: &mut Vec<Violation>) {
    let Some(country) = get_str(body, "Customer.Account.Address.CountryCode") else {
        return;
    };
    let exempt = natsec && country == "US";
    if country == "US" && !exempt {
        match get_str(body, "Customer.Account.Address.StateOrRegion") {
            None => out.push(required_when(
                "Customer.Account.Address.StateOrRegion",
                "Field Customer.Account.Address.StateOrRegion is required when Customer.Account.Address.CountryCode is 'US'",
            )),
            Some(state) if !US_STATES_AND_TERRITORIES.contains(&state) => out.push(violation(
                "Customer.Account.Address.StateOrRegion",
                ViolationCode::InvalidEnumValue,
                "Field Customer.Account.Address.StateOrRegion must be one of the allowed US states or territories.",
            )),
            Some(_) => {}
        }
    }
    let postal =
        get_str(body, "Customer.Account.Address.PostalCode").filter(|p| !p.trim().is_empty());
    let rules = &ctx.reference.postal;
    match postal {
        None if rules.requires_postal_code(country) && !exempt => {
            let name = rules
                .format(country)
                .map_or(country, |f| f.country_name.as_str());
            out.push(required_when(
                "Customer.Account.Address.PostalCode",
                &format!(
                    "Field Customer.Account.Address.PostalCode is required for country {name}."
                ),
            ));
        }
        Some(code) => {
            if ctx.at_submission
                && let Some(format) = rules.format(country)
                && !format.accepts(code)
            {
                out.push(violation(
                    "Customer.Account.Address.PostalCode",
                    ViolationCode::InvalidStringFormat,
                    format.message.clone(),
                ));
            }
        }
        None => {}
    }
}

/// MarketingValidation (Fields.csv, Marketing.*).
fn marketing_rules(body: &Value, out: &mut Vec<Violation>) {
    match get_str(body, "Marketing.Source") {
        Some("None") => {
            for member in ["CampaignName", "Channels", "UseCases", "AwsFundingUsed"] {
                let field = format!("Marketing.{member}");
                if present(body, &field) {
                    out.push(violation(
                        &field,
                        ViolationCode::InvalidValue,
                        format!("Field {field} must be null when Marketing.Source is 'None'."),
                    ));
                }
            }
        }
        Some("Marketing Activity") => {
            if !present(body, "Marketing.AwsFundingUsed") {
                out.push(required_when(
                    "Marketing.AwsFundingUsed",
                    "marketing.awsFundingUsed is required when marketing.source is Yes",
                ));
            }
            if !present(body, "Marketing.Channels") {
                out.push(required_when(
                    "Marketing.Channels",
                    "Field Marketing.Channels is required when Marketing.Source is 'Marketing Activity'.",
                ));
            }
        }
        _ => {}
    }
    // ACE-Data-Model.xlsx via ace-api.md §4.3: UseCases must be empty when no AWS funding.
    if get_str(body, "Marketing.AwsFundingUsed") == Some("No")
        && present(body, "Marketing.UseCases")
    {
        out.push(violation(
            "Marketing.UseCases",
            ViolationCode::InvalidValue,
            "Field Marketing.UseCases must be empty when Marketing.AwsFundingUsed is 'No'.",
        ));
    }
}

/// A `YYYY-MM-DD` that the model's pattern admits but the calendar may not (2025-02-30).
fn calendar_date(raw: &str) -> Option<Date> {
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

fn date_rules(body: &Value, stage: Option<&str>, ctx: &RuleContext<'_>, out: &mut Vec<Violation>) {
    if let Some(raw) = get_str(body, "LifeCycle.TargetCloseDate") {
        match calendar_date(raw) {
            None => out.push(violation(
                "LifeCycle.TargetCloseDate",
                ViolationCode::InvalidStringFormat,
                "Field LifeCycle.TargetCloseDate does not match the required format: YYYY-MM-DD.",
            )),
            Some(date) => {
                // "Validates that the date isn't in the past and more than 60 years in the
                // future"; a closed opportunity keeps the date it closed on.
                let closed = matches!(stage, Some("Launched" | "Closed Lost"));
                let too_late = ctx
                    .today
                    .replace_year(ctx.today.year() + 60)
                    .is_ok_and(|limit| date > limit);
                if (!closed && date < ctx.today) || too_late {
                    out.push(violation(
                        "LifeCycle.TargetCloseDate",
                        ViolationCode::ValueOutOfRange,
                        "Invalid date selection. Please select a date within an acceptable range.",
                    ));
                }
            }
        }
    }
    let effective = get_str(body, "SoftwareRevenue.EffectiveDate");
    let expiration = get_str(body, "SoftwareRevenue.ExpirationDate");
    for (field, raw) in [
        ("SoftwareRevenue.EffectiveDate", effective),
        ("SoftwareRevenue.ExpirationDate", expiration),
    ] {
        if raw.is_some_and(|r| calendar_date(r).is_none()) {
            out.push(violation(
                field,
                ViolationCode::InvalidStringFormat,
                format!("Field {field} does not match the required format: YYYY-MM-DD."),
            ));
        }
    }
    if let (Some(from), Some(to)) = (
        effective.and_then(calendar_date),
        expiration.and_then(calendar_date),
    ) && from > to
    {
        out.push(violation(
            "SoftwareRevenue.EffectiveDate",
            ViolationCode::InvalidValue,
            "Effective Date must be less than or equal to the expiration date",
        ));
    }
}

/// What must hold before AWS takes a submission (ace-api.md §4.3 "Mandatory-for-submission";
/// Fields.csv "Required for Submission"), on top of the create/update rules.
pub fn submission_rules(
    opportunity: &Opportunity,
    involvement_type: &str,
    visibility: &str,
    ctx: &RuleContext<'_>,
) -> Vec<Violation> {
    let body = Value::Object(opportunity.body.clone());
    let mut out = opportunity_rules(
        &body,
        &RuleContext {
            is_update: false,
            at_submission: true,
            ..*ctx
        },
    );
    for (field, message) in [
        (
            "Project.CustomerUseCase",
            "Field Project.CustomerUseCase is required for opportunity submission.",
        ),
        (
            "Project.DeliveryModels",
            "Field Project.DeliveryModels is required for opportunity submission.",
        ),
        (
            "Project.SalesActivities",
            "project.salesActivities is required",
        ),
        (
            "Project.ExpectedCustomerSpend",
            "Field Project.ExpectedCustomerSpend is required for opportunity submission.",
        ),
    ] {
        if !present(&body, field) {
            out.push(required_when(field, message));
        }
    }
    let needs = get(&body, "PrimaryNeedsFromAws")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    let co_sell_needs = needs.iter().any(|n| n.starts_with("Co-Sell"));
    match involvement_type {
        // Every need of the v1.84 enum is a Co-Sell need; the legacy "Do Not Need Support
        // from AWS Sales Rep" is what a For Visibility Only submission would carry.
        "Co-Sell" if needs.is_empty() => out.push(required_when(
            "PrimaryNeedsFromAws",
            "primaryNeedsFromAws is required",
        )),
        "For Visibility Only" if co_sell_needs => out.push(violation(
            "InvolvementType",
            ViolationCode::ActionNotPermitted,
            "Cannot perform Submit action. Cannot submit opportunity with InvolvementType For Visibility Only when PrimaryNeedsFromAws Is Co-Sell",
        )),
        _ => {}
    }
    if national_security(&body) && visibility != "Full" {
        out.push(violation(
            "Visibility",
            ViolationCode::InvalidValue,
            "When National Security is 'Yes' , PrimaryNeedsFromAws MUST NOT Be Donot Need Support from Aws AND Visibility MUST be Full",
        ));
    }
    // "On Submission either a valid solution OR OtherSolutionDescription is required";
    // Marketplace solutions and products count as solutions (ace-api.md §3 Associate).
    let has_solution = [
        "Solutions",
        "AwsMarketplaceSolutions",
        "AwsMarketplaceProducts",
    ]
    .iter()
    .any(|kind| !opportunity.related(kind).is_empty());
    if !has_solution && !present(&body, "Project.OtherSolutionDescription") {
        out.push(required_when(
            "RelatedEntityIdentifiers.Solutions",
            "Field RelatedEntityIdentifiers.Solutions is required for opportunity submission.",
        ));
    }
    out
}

/// The body without the read-only members of `LifeCycle`.
pub fn writable_body(body: &Value, members: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(object) = body.as_object() {
        for member in members {
            if let Some(v) = object.get(*member).filter(|v| !v.is_null()) {
                out.insert((*member).to_owned(), v.clone());
            }
        }
    }
    if let Some(Value::Object(lifecycle)) = out.get_mut("LifeCycle") {
        for read_only in LIFECYCLE_READ_ONLY {
            lifecycle.remove(*read_only);
        }
    }
    out
}

/// The members (list items without their index) whose values differ between two bodies.
pub fn changed_fields(old: &Map<String, Value>, new: &Map<String, Value>) -> BTreeSet<String> {
    let mut before = BTreeMap::new();
    let mut after = BTreeMap::new();
    flatten(&Value::Object(old.clone()), String::new(), &mut before);
    flatten(&Value::Object(new.clone()), String::new(), &mut after);
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| strip_indices(k))
        .collect()
}

fn flatten(value: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Null => {}
        Value::Object(object) => {
            for (k, v) in object {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, child, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, format!("{path}[{i}]"), out);
            }
        }
        leaf => {
            out.insert(path, leaf.clone());
        }
    }
}

fn strip_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            c if !in_index => out.push(c),
            _ => {}
        }
    }
    out
}

/// Which changed members the review status forbids.
pub fn edit_violations(status: ReviewStatus, changed: &BTreeSet<String>) -> Vec<Violation> {
    match status {
        // ACTION_NOT_PERMITTED: the data model phrases these refusals as actions the partner
        // cannot perform on a member ("You cannot perform … action").
        ReviewStatus::ActionRequired => changed
            .iter()
            .filter(|f| !ACTION_REQUIRED_EDITABLE.contains(&f.as_str()))
            .map(|f| {
                violation(
                    f,
                    ViolationCode::ActionNotPermitted,
                    format!(
                        "Field {f} cannot be updated while LifeCycle.ReviewStatus is 'Action Required'; only the fields under review can change."
                    ),
                )
            })
            .collect(),
        ReviewStatus::Approved => changed
            .iter()
            .filter(|f| LOCKED_AFTER_APPROVAL.contains(&f.as_str()))
            .map(|f| {
                violation(
                    f,
                    ViolationCode::ActionNotPermitted,
                    format!("Field {f} cannot be updated after the opportunity is approved."),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "Customer": {"Account": {"CompanyName": "Acme", "Industry": "Retail", "WebsiteUrl": "https://acme.example",
                "Address": {"CountryCode": "US", "StateOrRegion": "Washington", "PostalCode": "98109"}}},
            "Project": {"Title": "Data platform", "CustomerBusinessProblem": "Acme needs to consolidate 40 on-premises data marts.",
                "ExpectedCustomerSpend": [{"Amount": "1000", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}]},
            "LifeCycle": {"Stage": "Prospect", "TargetCloseDate": "2031-01-31"}
        })
    }

    fn set(mut body: Value, path: &str, value: Value) -> Value {
        let mut cursor = &mut body;
        let segments: Vec<&str> = path.split('.').collect();
        for segment in &segments[..segments.len() - 1] {
            cursor = cursor
                .as_object_mut()
                .expect("object")
                .entry((*segment).to_owned())
                .or_insert_with(|| json!({}));
        }
        let last = segments[segments.len() - 1];
        if value.is_null() {
            cursor.as_object_mut().expect("object").remove(last);
        } else {
            cursor
                .as_object_mut()
                .expect("object")
                .insert(last.to_owned(), value);
        }
        body
    }

    fn ctx(reference: &ReferenceData) -> RuleContext<'_> {
        RuleContext {
            today: time::macros::date!(2026 - 06 - 01),
            reference,
            is_update: false,
            at_submission: false,
        }
    }

    /// One case per rule; each names the field and AWS's text.
    #[test]
    fn each_rule_reports_its_field_and_text() {
        let reference = ReferenceData::load();
        let ctx = ctx(&reference);
        assert_eq!(opportunity_rules(&valid(), &ctx), vec![]);
        let cases: Vec<(&str, Value, &str, &str)> = vec![
            (
                "industry",
                set(valid(), "Customer.Account.Industry", Value::Null),
                "Customer.Account.Industry",
                "Field Customer.Account.Industry is required.",
            ),
            (
                "website",
                set(valid(), "Customer.Account.WebsiteUrl", Value::Null),
                "Customer.Account.WebsiteUrl",
                "Field Customer.Account.WebsiteUrl is required.",
            ),
            (
                "country",
                set(valid(), "Customer.Account.Address", json!({})),
                "Customer.Account.Address.CountryCode",
                "Field Customer.Account.Address.CountryCode is required.",
            ),
            (
                "title",
                set(valid(), "Project.Title", Value::Null),
                "Project.Title",
                "Field Project.Title is required.",
            ),
            (
                "state",
                set(
                    valid(),
                    "Customer.Account.Address.StateOrRegion",
                    Value::Null,
                ),
                "Customer.Account.Address.StateOrRegion",
                "Field Customer.Account.Address.StateOrRegion is required when Customer.Account.Address.CountryCode is 'US'",
            ),
            (
                "state value",
                set(
                    valid(),
                    "Customer.Account.Address.StateOrRegion",
                    json!("WA"),
                ),
                "Customer.Account.Address.StateOrRegion",
                "Field Customer.Account.Address.StateOrRegion must be one of the allowed US states or territories.",
            ),
            (
                "postal required",
                set(valid(), "Customer.Account.Address.PostalCode", Value::Null),
                "Customer.Account.Address.PostalCode",
                "Field Customer.Account.Address.PostalCode is required for country United States.",
            ),
            (
                "other industry",
                set(valid(), "Customer.Account.Industry", json!("Other")),
                "Customer.Account.OtherIndustry",
                "Field Customer.Account.OtherIndustry is required when Customer.Account.Industry is 'Other'.",
            ),
            (
                "national security industry",
                set(valid(), "NationalSecurity", json!("Yes")),
                "Customer.Account.Industry",
                "When National Security is 'Yes'  - Industry MUST be Government",
            ),
            (
                "closed lost reason",
                set(valid(), "LifeCycle.Stage", json!("Closed Lost")),
                "LifeCycle.ClosedLostReason",
                "Field LifeCycle.ClosedLostReason is required when LifeCycle.Stage is 'Closed Lost'.",
            ),
            (
                "other competitor",
                set(valid(), "Project.CompetitorName", json!("*Other")),
                "Project.OtherCompetitorNames",
                "Field Project.OtherCompetitorNames is required when Project.CompetitorNames contains 'Other'.",
            ),
            (
                "marketing none",
                set(
                    valid(),
                    "Marketing",
                    json!({"Source": "None", "CampaignName": "Q3"}),
                ),
                "Marketing.CampaignName",
                "Field Marketing.CampaignName must be null when Marketing.Source is 'None'.",
            ),
            (
                "marketing activity funding",
                set(
                    valid(),
                    "Marketing",
                    json!({"Source": "Marketing Activity", "Channels": ["Email"]}),
                ),
                "Marketing.AwsFundingUsed",
                "marketing.awsFundingUsed is required when marketing.source is Yes",
            ),
            (
                "target close date past",
                set(valid(), "LifeCycle.TargetCloseDate", json!("2026-05-31")),
                "LifeCycle.TargetCloseDate",
                "Invalid date selection. Please select a date within an acceptable range.",
            ),
            (
                "target close date far",
                set(valid(), "LifeCycle.TargetCloseDate", json!("2086-06-02")),
                "LifeCycle.TargetCloseDate",
                "Invalid date selection. Please select a date within an acceptable range.",
            ),
            (
                "target close date calendar",
                set(valid(), "LifeCycle.TargetCloseDate", json!("2027-02-30")),
                "LifeCycle.TargetCloseDate",
                "Field LifeCycle.TargetCloseDate does not match the required format: YYYY-MM-DD.",
            ),
            (
                "business problem",
                set(valid(), "Project.CustomerBusinessProblem", Value::Null),
                "Project.CustomerBusinessProblem",
                "Field Project.CustomerBusinessProblem is required.",
            ),
            (
                "spend amount",
                set(
                    valid(),
                    "Project.ExpectedCustomerSpend",
                    json!([{"CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}]),
                ),
                "Project.ExpectedCustomerSpend[0].Amount",
                "Field Project.ExpectedCustomerSpend.Amount is required.",
            ),
            (
                "software revenue dates",
                set(
                    valid(),
                    "SoftwareRevenue",
                    json!({"EffectiveDate": "2027-02-01", "ExpirationDate": "2027-01-01"}),
                ),
                "SoftwareRevenue.EffectiveDate",
                "Effective Date must be less than or equal to the expiration date",
            ),
        ];
        for (name, body, field, message) in cases {
            let v = opportunity_rules(&body, &ctx);
            assert_eq!(v.len(), 1, "{name}: {v:?}");
            assert_eq!(
                (v[0].field.as_str(), v[0].message.as_str()),
                (field, message),
                "{name}"
            );
        }
    }

    #[test]
    fn postal_formats_are_checked_at_submission_only() {
        let reference = ReferenceData::load();
        let ctx = ctx(&reference);
        let body = set(valid(), "Customer.Account.Address.PostalCode", json!("981"));
        assert_eq!(opportunity_rules(&body, &ctx), vec![]);
        let submission = RuleContext {
            at_submission: true,
            ..ctx
        };
        let v = opportunity_rules(&body, &submission);
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].message,
            "The postal code is invalid for country United States, United States postal code must be in 99999 OR 99999-9999 format."
        );
    }

    #[test]
    fn exemptions_hold() {
        let reference = ReferenceData::load();
        let ctx = ctx(&reference);
        // National security: no website, state or postal code needed in the US.
        let natsec = set(
            set(
                set(
                    set(valid(), "NationalSecurity", json!("Yes")),
                    "Customer.Account.Industry",
                    json!("Government"),
                ),
                "Customer.Account.WebsiteUrl",
                Value::Null,
            ),
            "Customer.Account.Address",
            json!({"CountryCode": "US"}),
        );
        assert_eq!(opportunity_rules(&natsec, &ctx), vec![]);
        // Countries without postal codes.
        let dubai = set(
            valid(),
            "Customer.Account.Address",
            json!({"CountryCode": "AE", "City": "Dubai"}),
        );
        assert_eq!(opportunity_rules(&dubai, &ctx), vec![]);
        // A closed opportunity keeps a past close date.
        let closed = set(
            set(
                set(valid(), "LifeCycle.Stage", json!("Closed Lost")),
                "LifeCycle.ClosedLostReason",
                json!("Price"),
            ),
            "LifeCycle.TargetCloseDate",
            json!("2025-01-01"),
        );
        assert_eq!(opportunity_rules(&closed, &ctx), vec![]);
        // Stage is required on updates only.
        let no_stage = set(valid(), "LifeCycle.Stage", Value::Null);
        assert_eq!(opportunity_rules(&no_stage, &ctx), vec![]);
        let update = RuleContext {
            is_update: true,
            ..ctx
        };
        assert_eq!(
            opportunity_rules(&no_stage, &update)[0].field,
            "LifeCycle.Stage"
        );
    }

    #[test]
    fn catalog_and_origin() {
        assert!(catalog_rule("AWS").is_none() && catalog_rule("Sandbox").is_none());
        assert_eq!(
            catalog_rule("Prod").map(|v| v.code),
            Some(ViolationCode::InvalidEnumValue)
        );
        assert!(origin_rule("AWS", Some("AWS Referral")).is_some());
        assert!(origin_rule("AWS", Some("Partner Referral")).is_none());
        assert!(origin_rule("Sandbox", Some("AWS Referral")).is_none());
    }

    #[test]
    fn changed_fields_normalise_list_items() {
        let old = writable_body(&valid(), &["Customer", "Project", "LifeCycle"]);
        let new_value = set(
            set(
                valid(),
                "Project.ExpectedCustomerSpend",
                json!([{"Amount": "2000", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}]),
            ),
            "Customer.Account.Industry",
            json!("Gaming"),
        );
        let new = writable_body(
            &set(new_value, "LifeCycle.ReviewStatus", json!("Approved")),
            &["Customer", "Project", "LifeCycle"],
        );
        let changed = changed_fields(&old, &new);
        assert_eq!(
            changed.iter().map(String::as_str).collect::<Vec<_>>(),
            vec![
                "Customer.Account.Industry",
                "Project.ExpectedCustomerSpend.Amount"
            ]
        );
        let ar = edit_violations(ReviewStatus::ActionRequired, &changed);
        assert_eq!(ar.len(), 1);
        assert_eq!(ar[0].field, "Customer.Account.Industry");
        assert_eq!(ar[0].code, ViolationCode::ActionNotPermitted);
        let approved = edit_violations(ReviewStatus::Approved, &changed);
        assert_eq!(approved.len(), 1);
        assert!(edit_violations(ReviewStatus::PendingSubmission, &changed).is_empty());
    }
}
