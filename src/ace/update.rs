//! How an update meets what ACE already holds. UpdateOpportunity replaces the whole record
//! ("If any field is omitted, the API assumes that the field is set to null", ace-api.md §6),
//! so the payload is ACE's current record with our values laid over it, and only where ACE
//! lets them change at the opportunity's review status and stage (ace-api.md §8).
//!
//! The paths the mapping fills are ours: a value the mapping no longer produces (a rep cleared
//! the Salesforce field) is cleared in ACE too, where ACE allows it. Everything else in ACE's
//! record is kept as ACE has it.
//!
//! Pure functions: the reconciler's plan calls [`editability`] and [`merge`] on what it
//! observed, and sends an update only when [`Merge::changed`] is not empty.

use serde_json::Value;

use super::opportunity::{self, LISTS_OF_STRUCTURES, Opportunity, ReviewStatus, json_get};
use super::rules::{self, path_within};

/// What an update may change now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Editability {
    /// Everything (Pending Submission, or no review yet).
    All,
    /// Only these fields (Action Required; after Launched).
    Only(&'static [&'static str]),
    /// Everything but these (after Approved).
    AllExcept(&'static [&'static str]),
    /// Nothing now, but later: AWS is reviewing (`Submitted`, `In review`).
    Deferred,
    /// Nothing, ever: `Rejected`, or `Closed Lost`.
    Closed,
}

/// The editability of an opportunity with this review status and (ACE) stage.
pub fn editability(review_status: Option<&ReviewStatus>, stage: Option<&str>) -> Editability {
    match review_status {
        Some(status) if status.is_under_review() => return Editability::Deferred,
        // "Rejected (read-only; Disqualified)".
        Some(ReviewStatus::Rejected) => return Editability::Closed,
        _ => {}
    }
    match stage {
        // No changes after Closed Lost (landscape.md §6 complaint 7).
        Some(opportunity::stage::CLOSED_LOST) => return Editability::Closed,
        // After Launched only a few fields count; the rest "will be ignored" (AWS test
        // scenarios 3.12, 3.13, 3.16), and sending them again and again would spend the quota.
        Some(opportunity::stage::LAUNCHED) => {
            return Editability::Only(rules::EDITABLE_AFTER_LAUNCH);
        }
        _ => {}
    }
    match review_status {
        Some(ReviewStatus::ActionRequired) => Editability::Only(rules::EDITABLE_IN_ACTION_REQUIRED),
        Some(ReviewStatus::Approved) => Editability::AllExcept(rules::LOCKED_AFTER_APPROVAL),
        _ => Editability::All,
    }
}

impl Editability {
    /// Whether a field (data-model notation, indices allowed) may change.
    pub fn allows(&self, path: &str) -> bool {
        let path = opportunity::strip_indices(path);
        match self {
            Editability::All => true,
            Editability::Only(fields) => fields.iter().any(|f| path_within(&path, f)),
            Editability::AllExcept(locked) => !locked.iter().any(|f| path_within(&path, f)),
            Editability::Deferred | Editability::Closed => false,
        }
    }
}

/// The payload of an update and what it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// ACE's record with the allowed changes applied, read-only members removed.
    pub payload: Opportunity,
    /// Fields whose value changes (indices included), cleared ones too.
    pub changed: Vec<String>,
    /// Of `changed`, the fields we clear because the mapping no longer fills them.
    pub cleared: Vec<String>,
    /// Fields we would change but ACE does not allow now; reported, not sent.
    pub withheld: Vec<String>,
}

/// Lays `desired` over `current` where `editable` allows. A field `desired` leaves unset keeps
/// ACE's value, unless it is one of the `owned` paths (those the mapping fills, data-model
/// notation): then ACE's value is cleared. Lists of structures (ExpectedCustomerSpend) merge
/// item by item; other lists are replaced whole.
pub fn merge(
    current: &Opportunity,
    desired: &Opportunity,
    editable: &Editability,
    owned: &[String],
) -> Merge {
    let current = current.without_read_only().to_json();
    let desired = desired.without_read_only().to_json();
    let mut merged = current.clone();
    let mut changed = Vec::new();
    let mut cleared = Vec::new();
    let mut withheld = Vec::new();
    for path in owned {
        let held = json_get(&current, path).is_some_and(|v| !is_empty(v));
        if !held || json_get(&desired, path).is_some_and(|v| !is_empty(v)) {
            continue;
        }
        if editable.allows(path) {
            opportunity::json_remove(&mut merged, path);
            changed.push(path.clone());
            cleared.push(path.clone());
        } else {
            withheld.push(path.clone());
        }
    }
    let mut leaves = Vec::new();
    collect_leaves(&desired, &mut String::new(), &mut leaves);
    for (path, value) in leaves {
        if json_get(&current, &path) == Some(value) {
            continue;
        }
        if editable.allows(&path) {
            opportunity::json_set(&mut merged, &path, value.clone());
            changed.push(path);
        } else {
            withheld.push(path);
        }
    }
    let payload = Opportunity::from_json(merged)
        .map(|o| o.normalized())
        .unwrap_or_default();
    changed.sort();
    withheld.sort();
    Merge {
        payload,
        changed,
        cleared,
        withheld,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// The leaves of a wire-form body with their paths; lists of structures are entered with
/// explicit indices.
fn collect_leaves<'v>(value: &'v Value, path: &mut String, out: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(map) => {
            for (name, member) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                collect_leaves(member, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items)
            if LISTS_OF_STRUCTURES.contains(&opportunity::strip_indices(path).as_str()) =>
        {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                collect_leaves(item, path, out);
                path.truncate(len);
            }
        }
        leaf => out.push((path.clone(), leaf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opp(value: Value) -> Opportunity {
        Opportunity::from_json(value).unwrap()
    }

    fn ace_record() -> Opportunity {
        opp(json!({
            "PartnerOpportunityIdentifier": "0065g00000QrStUAAV",
            "Customer": {"Account": {"CompanyName": "Acme", "Industry": "Retail", "WebsiteUrl": "acme.com",
                "Address": {"CountryCode": "US", "PostalCode": "98109", "City": "Seattle"}}},
            "Project": {"Title": "T", "CustomerBusinessProblem": "A problem of twenty-plus characters",
                "ExpectedCustomerSpend": [{"Amount": "100", "CurrencyCode": "USD", "Frequency": "Monthly",
                    "TargetCompany": "AWS", "EstimationUrl": "https://calculator.aws/#/estimate?id=0123456789abcdef0123456789abcdef"}],
                "ApnPrograms": ["Well-Architected"]},
            "LifeCycle": {"Stage": "Qualified", "TargetCloseDate": "2026-12-31", "ReviewStatus": "Approved",
                "ReviewComments": "Looks good"}
        }))
    }

    #[test]
    fn the_review_status_and_stage_decide_what_may_change() {
        use ReviewStatus::*;
        assert_eq!(editability(Some(&Submitted), None), Editability::Deferred);
        assert_eq!(
            editability(Some(&InReview), Some("Launched")),
            Editability::Deferred
        );
        assert_eq!(editability(Some(&Rejected), None), Editability::Closed);
        assert_eq!(
            editability(Some(&Approved), Some("Closed Lost")),
            Editability::Closed
        );
        assert_eq!(
            editability(Some(&PendingSubmission), Some("Prospect")),
            Editability::All
        );
        assert_eq!(editability(None, None), Editability::All);
        let action_required = editability(Some(&ActionRequired), Some("Qualified"));
        assert!(action_required.allows("Customer.Account.Address.PostalCode"));
        assert!(action_required.allows("Project.ExpectedCustomerSpend[0].Amount"));
        assert!(!action_required.allows("Project.Title"));
        let approved = editability(Some(&Approved), Some("Committed"));
        assert!(approved.allows("LifeCycle.Stage"));
        assert!(approved.allows("Project.ExpectedCustomerSpend[0].Amount"));
        assert!(!approved.allows("Project.ExpectedCustomerSpend[0].CurrencyCode"));
        assert!(!approved.allows("Project.Title"));
        assert!(!approved.allows("Customer.Account.WebsiteUrl"));
        let launched = editability(Some(&Approved), Some("Launched"));
        assert!(launched.allows("Project.AdditionalComments"));
        assert!(!launched.allows("LifeCycle.NextSteps"));
    }

    #[test]
    fn merging_keeps_what_ace_has_and_we_do_not_set() {
        let desired = opp(json!({
            "Project": {"Title": "T", "ExpectedCustomerSpend": [{"Amount": "250", "CurrencyCode": "USD",
                "Frequency": "Monthly", "TargetCompany": "AWS"}]},
            "LifeCycle": {"Stage": "Committed", "NextSteps": "Kick-off"}
        }));
        let merge = merge(&ace_record(), &desired, &Editability::All, &[]);
        assert_eq!(
            merge.changed,
            vec![
                "LifeCycle.NextSteps",
                "LifeCycle.Stage",
                "Project.ExpectedCustomerSpend[0].Amount"
            ]
        );
        assert!(merge.withheld.is_empty());
        let payload = merge.payload.to_json();
        // Ours laid over ACE's; AWS's data (EstimationUrl, ApnPrograms, City) kept; read-only
        // members (ReviewStatus, ReviewComments) gone.
        assert_eq!(
            payload["Project"]["ExpectedCustomerSpend"][0]["Amount"],
            "250"
        );
        assert_eq!(
            payload["Project"]["ExpectedCustomerSpend"][0]["EstimationUrl"],
            "https://calculator.aws/#/estimate?id=0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            payload["Project"]["ApnPrograms"],
            json!(["Well-Architected"])
        );
        assert_eq!(payload["Customer"]["Account"]["Address"]["City"], "Seattle");
        assert_eq!(payload["LifeCycle"]["Stage"], "Committed");
        assert!(payload["LifeCycle"].get("ReviewStatus").is_none());
        assert!(payload["LifeCycle"].get("ReviewComments").is_none());
    }

    #[test]
    fn nothing_to_send_when_ace_already_agrees() {
        let desired = opp(
            json!({"Project": {"Title": "T"}, "LifeCycle": {"Stage": "Qualified"},
            "Customer": {"Account": {"CompanyName": "Acme", "Industry": "Retail"}}}),
        );
        let merge = merge(&ace_record(), &desired, &Editability::All, &[]);
        assert!(merge.changed.is_empty(), "{:?}", merge.changed);
        assert_eq!(merge.payload, ace_record().without_read_only());
    }

    #[test]
    fn locked_fields_are_withheld_not_sent() {
        let desired = opp(
            json!({"Project": {"Title": "New title", "CustomerBusinessProblem": "Another problem, long enough"},
            "Customer": {"Account": {"Address": {"PostalCode": "98110", "City": "Bellevue"}}},
            "LifeCycle": {"Stage": "Committed"}}),
        );
        let approved = editability(Some(&ReviewStatus::Approved), Some("Qualified"));
        let merge = merge(&ace_record(), &desired, &approved, &[]);
        assert_eq!(
            merge.changed,
            vec!["Customer.Account.Address.City", "LifeCycle.Stage"]
        );
        assert_eq!(
            merge.withheld,
            vec![
                "Customer.Account.Address.PostalCode",
                "Project.CustomerBusinessProblem",
                "Project.Title"
            ]
        );
        let payload = merge.payload.to_json();
        assert_eq!(payload["Project"]["Title"], "T");
        assert_eq!(
            payload["Customer"]["Account"]["Address"]["PostalCode"],
            "98109"
        );

        // Action Required: only the whitelist.
        let action_required = editability(Some(&ReviewStatus::ActionRequired), Some("Qualified"));
        let merge = super::merge(&ace_record(), &desired, &action_required, &[]);
        assert_eq!(
            merge.changed,
            vec![
                "Customer.Account.Address.City",
                "Customer.Account.Address.PostalCode",
                "Project.CustomerBusinessProblem"
            ]
        );
        assert_eq!(merge.withheld, vec!["LifeCycle.Stage", "Project.Title"]);
    }

    #[test]
    fn owned_fields_the_record_no_longer_fills_are_cleared_where_ace_allows() {
        let owned = [
            "LifeCycle.NextSteps",
            "Project.ApnPrograms",
            "Project.Title",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut ace = ace_record().to_json();
        ace["LifeCycle"]["NextSteps"] = json!("Call the CTO");
        let ace = opp(ace);
        // The record fills the title, not the next steps or the programs any more; the city is
        // not the mapping's and stays.
        let desired = opp(json!({"Project": {"Title": "T"}}));
        let merge = merge(&ace, &desired, &Editability::All, &owned);
        assert_eq!(
            merge.cleared,
            vec!["LifeCycle.NextSteps", "Project.ApnPrograms"]
        );
        assert_eq!(merge.changed, merge.cleared);
        let payload = merge.payload.to_json();
        assert!(payload["LifeCycle"].get("NextSteps").is_none(), "{payload}");
        assert!(payload["Project"].get("ApnPrograms").is_none(), "{payload}");
        assert_eq!(payload["Customer"]["Account"]["Address"]["City"], "Seattle");

        // Where ACE locks the field, it is withheld, not cleared.
        let launched = editability(Some(&ReviewStatus::Approved), Some("Launched"));
        let merge = super::merge(&ace, &desired, &launched, &owned);
        assert!(merge.cleared.is_empty(), "{:?}", merge.cleared);
        assert_eq!(
            merge.withheld,
            vec!["LifeCycle.NextSteps", "Project.ApnPrograms"]
        );

        // Nothing is cleared when ACE holds nothing there.
        let merge = super::merge(
            &ace_record(),
            &opp(json!({})),
            &Editability::All,
            &owned[..1],
        );
        assert!(merge.changed.is_empty(), "{:?}", merge.changed);
    }
}
