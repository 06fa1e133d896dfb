//! The rules on values AWS documents, checked against the product's own tables and functions
//! (`ace_sync::ace::rules`, `ace_sync::ace::preflight::is_website`): US states, postal codes
//! per country, customer use cases, website addresses and the expected spend. Sharing them is
//! what keeps the simulator and ace-sync's pre-flight check from disagreeing on a value.

use serde_json::Value;

use ace_sync::ace::model::{Violation, ViolationCode};
use ace_sync::ace::preflight::is_website;
use ace_sync::ace::rules::{self as aws, PostalCheck};
use ace_sync::domain::sobject::Decimal;

use super::{RuleContext, get, get_str, present, required_when, violation};

/// StateOrRegion and PostalCode by country (Fields.csv; PostalCodeValidations.csv;
/// CountriesWithoutPostalCode.csv). Neither is required for US national-security
/// opportunities.
pub(super) fn address_rules(
    body: &Value,
    natsec: bool,
    ctx: &RuleContext,
    out: &mut Vec<Violation>,
) {
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
            Some(state) if !aws::is_us_state(state) => out.push(violation(
                "Customer.Account.Address.StateOrRegion",
                ViolationCode::InvalidEnumValue,
                "Field Customer.Account.Address.StateOrRegion must be one of the allowed US states or territories.",
            )),
            Some(_) => {}
        }
    }
    let postal =
        get_str(body, "Customer.Account.Address.PostalCode").filter(|p| !p.trim().is_empty());
    match postal {
        None if aws::country_has_postal_codes(country) && !exempt => {
            let name = aws::country_name(country).unwrap_or(country);
            out.push(required_when(
                "Customer.Account.Address.PostalCode",
                &format!(
                    "Field Customer.Account.Address.PostalCode is required for country {name}."
                ),
            ));
        }
        Some(code) if ctx.at_submission => {
            if let PostalCheck::Invalid { message } = aws::check_postal_code(country, code) {
                out.push(violation(
                    "Customer.Account.Address.PostalCode",
                    ViolationCode::InvalidStringFormat,
                    message,
                ));
            }
        }
        _ => {}
    }
}

/// Project.CustomerUseCase: "Validates that the value is one of the allowed values" (its data
/// type in Fields.csv is Enum, though the model's is a free string).
pub(super) fn use_case_rule(body: &Value, out: &mut Vec<Violation>) {
    if let Some(use_case) = get_str(body, "Project.CustomerUseCase")
        && !aws::is_customer_use_case(use_case)
    {
        out.push(violation(
            "Project.CustomerUseCase",
            ViolationCode::InvalidEnumValue,
            "Field Project.CustomerUseCase must be one of the allowed values.",
        ));
    }
}

/// Customer.Account.WebsiteUrl: "If passed, it should meet the pattern
/// ^((http|https)://)??(www[.])??([a-zA-Z0-9]|-)+?([.][a-zA-Z0-9(-|/|=|?)??]+?)+?$".
pub(super) fn website_rule(body: &Value, out: &mut Vec<Violation>) {
    if let Some(url) = get_str(body, "Customer.Account.WebsiteUrl")
        && !is_website(url)
    {
        out.push(violation(
            "Customer.Account.WebsiteUrl",
            ViolationCode::InvalidStringFormat,
            "Field Customer.Account.WebsiteUrl does not match the required format: ^((http|https)://)??(www[.])??([a-zA-Z0-9]|-)+?([.][a-zA-Z0-9(-|/|=|?)??]+?)+?$",
        ));
    }
}

/// Each item of Project.ExpectedCustomerSpend (Fields.csv): an Amount that is more than zero
/// (test scenario 7.11: "cannot be negative or Zero"), the currency USD ("Member must satisfy
/// regular expression pattern: USD"), and the target company AWS (`Self` only with a contract
/// duration, ace-api.md §4.3).
pub(super) fn spend_rules(body: &Value, out: &mut Vec<Violation>) {
    let Some(Value::Array(spend)) = get(body, "Project.ExpectedCustomerSpend") else {
        return;
    };
    let with_duration = present(body, "Project.ExpectedContractDuration");
    for (i, item) in spend.iter().enumerate() {
        let field = |member: &str| format!("Project.ExpectedCustomerSpend[{i}].{member}");
        match get_str(item, "Amount").filter(|a| !a.trim().is_empty()) {
            None => out.push(violation(
                &field("Amount"),
                ViolationCode::RequiredFieldMissing,
                "Field Project.ExpectedCustomerSpend.Amount is required.",
            )),
            Some(amount)
                if !Decimal::parse(amount).is_some_and(|d| !d.is_zero() && !d.is_negative()) =>
            {
                out.push(violation(
                    &field("Amount"),
                    ViolationCode::InvalidValue,
                    "Please provide a value in (?:(?:[1-9](\\.\\d+)?|\\d{2,15}(\\.\\d+)?|1000000000000000(\\.\\d+)?)|0\\.(?!0+$)\\d+) format for project.expectedCustomerSpend.amount",
                ));
            }
            Some(_) => {}
        }
        if get_str(item, "CurrencyCode").is_some_and(|c| c != "USD") {
            out.push(violation(
                &field("CurrencyCode"),
                ViolationCode::InvalidStringFormat,
                format!(
                    "Value at 'project.expectedCustomerSpend.{}.member.currencyCode' failed to satisfy constraint: Member must satisfy regular expression pattern: USD",
                    i + 1
                ),
            ));
        }
        let target_ok = match get_str(item, "TargetCompany") {
            None | Some("AWS") => true,
            Some("Self") => with_duration,
            Some(_) => false,
        };
        if !target_ok {
            out.push(violation(
                &field("TargetCompany"),
                ViolationCode::InvalidValue,
                "Field Project.ExpectedCustomerSpend.TargetCompany must be 'AWS' ('Self' only with Project.ExpectedContractDuration).",
            ));
        }
    }
}
