//! What must hold before AWS takes a submission, on top of the create/update rules.

use serde_json::Value;

use ace_sync::ace::model::{Violation, ViolationCode};

use super::{
    RuleContext, get, national_security, opportunity_rules, present, required_when, violation,
};
use crate::partner_central::store::Opportunity;

/// What must hold before AWS takes a submission (ace-api.md §4.3 "Mandatory-for-submission";
/// Fields.csv "Required for Submission"), on top of the create/update rules.
pub fn submission_rules(
    opportunity: &Opportunity,
    involvement_type: &str,
    visibility: &str,
    ctx: &RuleContext,
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
