//! The rules one case at a time, each with the field it names and AWS's text.

use serde_json::json;

use super::*;
use crate::partner_central::store::ReviewStatus;

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

fn ctx() -> RuleContext {
    RuleContext {
        today: time::macros::date!(2026 - 06 - 01),
        is_update: false,
        at_submission: false,
    }
}

/// One case per rule; each names the field and AWS's text.
#[test]
fn each_rule_reports_its_field_and_text() {
    let ctx = ctx();
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
        (
            "use case",
            set(valid(), "Project.CustomerUseCase", json!("Cloud migration")),
            "Project.CustomerUseCase",
            "Field Project.CustomerUseCase must be one of the allowed values.",
        ),
        (
            "website",
            set(valid(), "Customer.Account.WebsiteUrl", json!("acme")),
            "Customer.Account.WebsiteUrl",
            "Field Customer.Account.WebsiteUrl does not match the required format: ^((http|https)://)??(www[.])??([a-zA-Z0-9]|-)+?([.][a-zA-Z0-9(-|/|=|?)??]+?)+?$",
        ),
        (
            "spend zero",
            set(
                valid(),
                "Project.ExpectedCustomerSpend",
                json!([{"Amount": "0.00", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}]),
            ),
            "Project.ExpectedCustomerSpend[0].Amount",
            "Please provide a value in (?:(?:[1-9](\\.\\d+)?|\\d{2,15}(\\.\\d+)?|1000000000000000(\\.\\d+)?)|0\\.(?!0+$)\\d+) format for project.expectedCustomerSpend.amount",
        ),
        (
            "spend currency",
            set(
                valid(),
                "Project.ExpectedCustomerSpend",
                json!([{"Amount": "10", "CurrencyCode": "EUR", "Frequency": "Monthly", "TargetCompany": "AWS"}]),
            ),
            "Project.ExpectedCustomerSpend[0].CurrencyCode",
            "Value at 'project.expectedCustomerSpend.1.member.currencyCode' failed to satisfy constraint: Member must satisfy regular expression pattern: USD",
        ),
        (
            "spend target company",
            set(
                valid(),
                "Project.ExpectedCustomerSpend",
                json!([{"Amount": "10", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "Self"}]),
            ),
            "Project.ExpectedCustomerSpend[0].TargetCompany",
            "Field Project.ExpectedCustomerSpend.TargetCompany must be 'AWS' ('Self' only with Project.ExpectedContractDuration).",
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
    let ctx = ctx();
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
    let ctx = ctx();
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
