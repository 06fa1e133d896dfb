//! Which members an update may change: the read-only parts of `LifeCycle`, the whitelist while
//! AWS asks for action, the members locked once AWS approved (ace-api.md §8; Fields.csv columns
//! "Update-Action Required" / "Update-Approved"), and what changed between two bodies.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use ace_sync::ace::model::{Violation, ViolationCode};

use super::violation;
use crate::partner_central::store::ReviewStatus;

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
