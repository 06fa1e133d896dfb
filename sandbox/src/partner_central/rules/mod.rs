//! ACE's business rules, as the simulated service enforces them after the model's own request
//! validation. Each rule cites its source: `ACE-Data-Model__Fields.csv` (AWS's data model; its
//! "Error Messages" column gives the texts used here) or ace-api.md §3–§8. The rules are
//! written independently of the product's pre-flight check, which must not be trusted to be
//! complete; the documented values they check against are the product's own tables
//! (`values`), so the two never disagree on a value.

mod edits;
mod submission;
#[cfg(test)]
mod tests;
mod values;

use serde_json::Value;
use time::Date;

use ace_sync::ace::model::{Violation, ViolationCode};

pub use edits::{changed_fields, edit_violations, writable_body};
pub use submission::submission_rules;

/// What a rule needs besides the body.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext {
    pub today: Date,
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
pub fn opportunity_rules(body: &Value, ctx: &RuleContext) -> Vec<Violation> {
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
    values::spend_rules(body, &mut out);
    values::website_rule(body, &mut out);
    values::use_case_rule(body, &mut out);
    values::address_rules(body, natsec, ctx, &mut out);

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

fn date_rules(body: &Value, stage: Option<&str>, ctx: &RuleContext, out: &mut Vec<Violation>) {
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
