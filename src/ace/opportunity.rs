//! The ACE opportunity as a typed value: the body of CreateOpportunity / UpdateOpportunity /
//! GetOpportunity (ace-api.md §4.1), with serde names exactly as on the awsJson wire, so
//! `serde_json::to_value(&opportunity)` is the request body the Partner Central API receives and
//! can be checked against AWS's service model before anything is sent.
//!
//! Enumerated members are plain strings here on purpose: the valid values live in the service
//! model (`crate::ace::model`), not in a second copy in Rust, and a value ACE adds later must not
//! make a GetOpportunity answer undecodable.
//!
//! Unset members are `None` and are omitted on the wire, never sent as `null`: UpdateOpportunity
//! replaces the whole record (ace-api.md §6), and empty lists are normalised to `None` so that a
//! value read back from ACE compares equal to the one we would send.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::domain::ids::AceOpportunityId;

/// Which Partner Central catalog requests go to: real opportunities, or the test sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Catalog {
    #[serde(rename = "AWS")]
    Aws,
    #[serde(rename = "Sandbox")]
    Sandbox,
}

impl Catalog {
    pub fn as_str(self) -> &'static str {
        match self {
            Catalog::Aws => "AWS",
            Catalog::Sandbox => "Sandbox",
        }
    }
}

impl fmt::Display for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The opportunity body shared by Create, Update and Get.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Opportunity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_needs_from_aws: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_security: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_opportunity_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Project>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opportunity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing: Option<Marketing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_revenue: Option<SoftwareRevenue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub life_cycle: Option<LifeCycle>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Customer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<Contact>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_industry: Option<String>,
    /// Required by the model whenever `Account` is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duns: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
}

/// A customer contact, or a member of the partner's opportunity team.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Project {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_customer_spend: Option<Vec<ExpectedCustomerSpend>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_contract_duration: Option<ExpectedContractDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apn_programs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_business_problem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_use_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_opportunity_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_activities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competitor_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_competitor_names: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_solution_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_comments: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_partition: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExpectedCustomerSpend {
    /// A decimal string with at most two fraction digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimation_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExpectedContractDuration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Marketing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_cases: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_funding_used: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SoftwareRevenue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<MonetaryValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonetaryValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifeCycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_lost_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_steps: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_close_date: Option<String>,
    /// Read-only: set by AWS's review (ace-api.md §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_status: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_comments: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_status_reason: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_steps_history: Option<Vec<NextStepsHistory>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NextStepsHistory {
    pub value: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

/// The associations of an opportunity (GetOpportunity's `RelatedEntityIdentifiers`); written
/// only through AssociateOpportunity / DisassociateOpportunity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RelatedEntities {
    #[serde(default)]
    pub solutions: Vec<String>,
    #[serde(default)]
    pub aws_products: Vec<String>,
    #[serde(default)]
    pub aws_marketplace_offers: Vec<String>,
    #[serde(default)]
    pub aws_marketplace_offer_sets: Vec<String>,
    #[serde(default)]
    pub aws_marketplace_solutions: Vec<String>,
    #[serde(default)]
    pub aws_marketplace_products: Vec<String>,
}

/// An opportunity as GetOpportunity returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct AceOpportunity {
    pub id: AceOpportunityId,
    pub arn: Option<String>,
    pub created_date: OffsetDateTime,
    /// The optimistic-concurrency token of the next UpdateOpportunity (ace-api.md §6).
    pub last_modified_date: OffsetDateTime,
    pub related: RelatedEntities,
    pub opportunity_team: Vec<Contact>,
    pub body: Opportunity,
}

/// `LifeCycle.ReviewStatus` (ace-api.md §5, §8). `Other` keeps a value this version does not
/// know, so a new status cannot make an opportunity unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReviewStatus {
    PendingSubmission,
    Submitted,
    InReview,
    Approved,
    Rejected,
    ActionRequired,
    Other(String),
}

impl ReviewStatus {
    pub fn parse(wire: &str) -> ReviewStatus {
        match wire {
            "Pending Submission" => Self::PendingSubmission,
            "Submitted" => Self::Submitted,
            "In review" => Self::InReview,
            "Approved" => Self::Approved,
            "Rejected" => Self::Rejected,
            "Action Required" => Self::ActionRequired,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::PendingSubmission => "Pending Submission",
            Self::Submitted => "Submitted",
            Self::InReview => "In review",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::ActionRequired => "Action Required",
            Self::Other(s) => s,
        }
    }

    /// AWS blocks every update while it reviews the opportunity (ace-api.md §8).
    pub fn is_under_review(&self) -> bool {
        matches!(self, Self::Submitted | Self::InReview)
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `LifeCycle.Stage` values with meaning for the sync (ace-api.md §5).
pub mod stage {
    pub const PROSPECT: &str = "Prospect";
    pub const LAUNCHED: &str = "Launched";
    pub const CLOSED_LOST: &str = "Closed Lost";
}

impl Opportunity {
    /// The review status ACE reported, if any.
    pub fn review_status(&self) -> Option<ReviewStatus> {
        self.life_cycle
            .as_ref()
            .and_then(|l| l.review_status.as_deref())
            .map(ReviewStatus::parse)
    }

    pub fn stage(&self) -> Option<&str> {
        self.life_cycle.as_ref().and_then(|l| l.stage.as_deref())
    }

    /// The wire form.
    pub fn to_json(&self) -> Value {
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Back from the wire form.
    pub fn from_json(value: Value) -> Result<Opportunity, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// Empty strings, empty lists and empty structures become `None`, the form ACE's answers
    /// take, so that equal content compares equal.
    pub fn normalized(&self) -> Opportunity {
        let mut value = self.to_json();
        prune(&mut value);
        Opportunity::from_json(value).unwrap_or_default()
    }

    /// The body without the members AWS owns (`ReviewStatus`, `ReviewComments`,
    /// `ReviewStatusReason`, `NextStepsHistory`: "This field is read-only", ace-api.md §4.2).
    /// In the Sandbox catalog, sending `ReviewStatus` asks the service to simulate a review, so
    /// an update must never carry it by accident.
    pub fn without_read_only(&self) -> Opportunity {
        let mut body = self.clone();
        if let Some(life_cycle) = body.life_cycle.as_mut() {
            life_cycle.review_status = None;
            life_cycle.review_comments = None;
            life_cycle.review_status_reason = None;
            life_cycle.next_steps_history = None;
        }
        body.normalized()
    }
}

/// Removes empty strings, arrays and objects, recursively. Returns whether `value` is now empty.
fn prune(value: &mut Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => {
            items.retain_mut(|item| !prune(item));
            items.is_empty()
        }
        Value::Object(map) => {
            map.retain(|_, member| !prune(member));
            map.is_empty()
        }
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// How a leaf of the opportunity body is spelled, for the mapping's conversions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A free string.
    Text,
    /// A string from an enumeration of the service model.
    Enum,
    /// A list of free strings.
    TextList,
    /// A list of enumeration values.
    EnumList,
    /// A decimal string with at most two fraction digits.
    Amount,
    /// `YYYY-MM-DD`.
    Date,
}

impl FieldKind {
    pub fn is_list(self) -> bool {
        matches!(self, FieldKind::TextList | FieldKind::EnumList)
    }

    pub fn is_enum(self) -> bool {
        matches!(self, FieldKind::Enum | FieldKind::EnumList)
    }
}

/// Every leaf of the body a mapping may write, in the data model's dotted notation (a list of
/// structures is written without an index and means its first item:
/// `Project.ExpectedCustomerSpend.Amount`). The read-only `LifeCycle` members are not here.
pub const WRITABLE_FIELDS: &[(&str, FieldKind)] = &[
    ("PrimaryNeedsFromAws", FieldKind::EnumList),
    ("NationalSecurity", FieldKind::Enum),
    ("PartnerOpportunityIdentifier", FieldKind::Text),
    ("Customer.Account.Industry", FieldKind::Enum),
    ("Customer.Account.OtherIndustry", FieldKind::Text),
    ("Customer.Account.CompanyName", FieldKind::Text),
    ("Customer.Account.WebsiteUrl", FieldKind::Text),
    ("Customer.Account.AwsAccountId", FieldKind::Text),
    ("Customer.Account.Duns", FieldKind::Text),
    ("Customer.Account.Address.City", FieldKind::Text),
    ("Customer.Account.Address.PostalCode", FieldKind::Text),
    ("Customer.Account.Address.StateOrRegion", FieldKind::Text),
    ("Customer.Account.Address.CountryCode", FieldKind::Enum),
    ("Customer.Account.Address.StreetAddress", FieldKind::Text),
    ("Customer.Contacts.Email", FieldKind::Text),
    ("Customer.Contacts.FirstName", FieldKind::Text),
    ("Customer.Contacts.LastName", FieldKind::Text),
    ("Customer.Contacts.BusinessTitle", FieldKind::Text),
    ("Customer.Contacts.Phone", FieldKind::Text),
    ("Project.DeliveryModels", FieldKind::EnumList),
    ("Project.ExpectedCustomerSpend.Amount", FieldKind::Amount),
    (
        "Project.ExpectedCustomerSpend.CurrencyCode",
        FieldKind::Enum,
    ),
    ("Project.ExpectedCustomerSpend.Frequency", FieldKind::Enum),
    (
        "Project.ExpectedCustomerSpend.TargetCompany",
        FieldKind::Text,
    ),
    (
        "Project.ExpectedCustomerSpend.EstimationUrl",
        FieldKind::Text,
    ),
    ("Project.ExpectedContractDuration.Term", FieldKind::Enum),
    ("Project.ExpectedContractDuration.Value", FieldKind::Text),
    ("Project.Title", FieldKind::Text),
    ("Project.ApnPrograms", FieldKind::TextList),
    ("Project.CustomerBusinessProblem", FieldKind::Text),
    ("Project.CustomerUseCase", FieldKind::Text),
    ("Project.RelatedOpportunityIdentifier", FieldKind::Text),
    ("Project.SalesActivities", FieldKind::EnumList),
    ("Project.CompetitorName", FieldKind::Enum),
    ("Project.OtherCompetitorNames", FieldKind::Text),
    ("Project.OtherSolutionDescription", FieldKind::Text),
    ("Project.AdditionalComments", FieldKind::Text),
    ("Project.AwsPartition", FieldKind::Enum),
    ("OpportunityType", FieldKind::Enum),
    ("Marketing.CampaignName", FieldKind::Text),
    ("Marketing.Source", FieldKind::Enum),
    ("Marketing.UseCases", FieldKind::TextList),
    ("Marketing.Channels", FieldKind::EnumList),
    ("Marketing.AwsFundingUsed", FieldKind::Enum),
    ("SoftwareRevenue.DeliveryModel", FieldKind::Enum),
    ("SoftwareRevenue.Value.Amount", FieldKind::Amount),
    ("SoftwareRevenue.Value.CurrencyCode", FieldKind::Enum),
    ("SoftwareRevenue.EffectiveDate", FieldKind::Date),
    ("SoftwareRevenue.ExpirationDate", FieldKind::Date),
    ("LifeCycle.Stage", FieldKind::Enum),
    ("LifeCycle.ClosedLostReason", FieldKind::Enum),
    ("LifeCycle.NextSteps", FieldKind::Text),
    ("LifeCycle.TargetCloseDate", FieldKind::Date),
];

/// The kind of a writable leaf, or `None` when the path is not one.
pub fn writable_field(path: &str) -> Option<FieldKind> {
    let path = strip_indices(path);
    WRITABLE_FIELDS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, kind)| *kind)
}

/// `Project.ExpectedCustomerSpend[0].Amount` → `Project.ExpectedCustomerSpend.Amount`: the
/// notation of AWS's data model and of our findings.
pub fn strip_indices(path: &str) -> String {
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

/// One step of a dotted path: a member name and, for lists, an item index.
fn steps(path: &str) -> Vec<(&str, Option<usize>)> {
    path.split('.')
        .map(|step| match step.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
            None => (step, None),
        })
        .collect()
}

/// The value at a dotted path of a wire-form body. A list met on the way without an index is
/// entered at its first item.
pub fn json_get<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    for (name, index) in steps(path) {
        current = current.as_object()?.get(name)?;
        if let Value::Array(items) = current {
            match index {
                Some(i) => current = items.get(i)?,
                None if items.first().is_some_and(Value::is_object) => current = items.first()?,
                None => {}
            }
        }
    }
    Some(current)
}

/// Sets the value at a dotted path, creating structures on the way. The lists of structures
/// ([`LISTS_OF_STRUCTURES`]) are entered at their first item unless the path gives an index.
pub fn json_set(root: &mut Value, path: &str, leaf: Value) {
    let steps = steps(path);
    let mut current = root;
    let mut walked = String::new();
    for (n, (name, index)) in steps.iter().enumerate() {
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(name);
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else {
            return;
        };
        let last = n + 1 == steps.len();
        if last {
            map.insert((*name).to_owned(), leaf);
            return;
        }
        let entry = map.entry((*name).to_owned()).or_insert(Value::Null);
        current = if LISTS_OF_STRUCTURES.contains(&walked.as_str()) {
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            let Value::Array(items) = entry else {
                return;
            };
            let i = index.unwrap_or(0);
            while items.len() <= i {
                items.push(Value::Object(Map::new()));
            }
            &mut items[i]
        } else {
            entry
        };
    }
}

/// Removes the value at a dotted path (every item of a list of structures when not indexed).
pub fn json_remove(root: &mut Value, path: &str) {
    fn remove(value: &mut Value, steps: &[(&str, Option<usize>)]) {
        let Some(((name, index), rest)) = steps.split_first() else {
            return;
        };
        let Value::Object(map) = value else {
            return;
        };
        if rest.is_empty() {
            map.remove(*name);
            return;
        }
        match map.get_mut(*name) {
            Some(Value::Array(items)) => match index {
                Some(i) => {
                    if let Some(item) = items.get_mut(*i) {
                        remove(item, rest);
                    }
                }
                None => items.iter_mut().for_each(|item| remove(item, rest)),
            },
            Some(child) => remove(child, rest),
            None => {}
        }
    }
    remove(root, &steps(path));
}

/// The members of the body that are lists of structures.
pub const LISTS_OF_STRUCTURES: &[&str] = &[
    "Customer.Contacts",
    "Project.ExpectedCustomerSpend",
    "LifeCycle.NextStepsHistory",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_wire_form_matches_aws_sample_payload() {
        // AWS's sample createOpportunity.json (ace-data-model), minus the non-body members.
        let sample: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/ace/createOpportunity.json"
        ))
        .unwrap();
        let mut body = sample.clone();
        for key in ["ClientToken", "Catalog", "Origin", "OpportunityTeam"] {
            body.as_object_mut().unwrap().remove(key);
        }
        let typed = Opportunity::from_json(body.clone()).unwrap();
        assert_eq!(typed.to_json(), body, "round trip is lossless");
        assert_eq!(typed.review_status(), Some(ReviewStatus::PendingSubmission));
        assert_eq!(typed.stage(), Some("Prospect"));
    }

    #[test]
    fn unset_members_are_omitted_not_null() {
        let opportunity = Opportunity {
            project: Some(Project {
                title: Some("T".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(opportunity.to_json(), json!({"Project": {"Title": "T"}}));
    }

    #[test]
    fn normalising_drops_empty_values() {
        let with_empties: Opportunity = Opportunity::from_json(json!({
            "Project": {"Title": "T", "DeliveryModels": [], "ApnPrograms": [""]},
            "Marketing": {},
            "Customer": {"Account": {"CompanyName": "Acme", "Address": {"City": ""}}}
        }))
        .unwrap();
        assert_eq!(
            with_empties.normalized().to_json(),
            json!({"Project": {"Title": "T"}, "Customer": {"Account": {"CompanyName": "Acme"}}})
        );
    }

    #[test]
    fn read_only_members_are_stripped_for_updates() {
        let got: Opportunity = Opportunity::from_json(json!({
            "LifeCycle": {"Stage": "Qualified", "ReviewStatus": "Approved", "ReviewComments": "ok",
                          "NextStepsHistory": [{"Value": "x", "Time": "2026-01-02T03:04:05Z"}]}
        }))
        .unwrap();
        assert_eq!(
            got.without_read_only().to_json(),
            json!({"LifeCycle": {"Stage": "Qualified"}})
        );
    }

    #[test]
    fn paths_address_lists_of_structures_at_their_first_item() {
        let mut value = json!({});
        json_set(
            &mut value,
            "Project.ExpectedCustomerSpend.Amount",
            json!("12"),
        );
        json_set(
            &mut value,
            "Project.ExpectedCustomerSpend.CurrencyCode",
            json!("USD"),
        );
        json_set(
            &mut value,
            "Customer.Account.Address.CountryCode",
            json!("US"),
        );
        assert_eq!(
            value,
            json!({"Project": {"ExpectedCustomerSpend": [{"Amount": "12", "CurrencyCode": "USD"}]},
                   "Customer": {"Account": {"Address": {"CountryCode": "US"}}}})
        );
        assert_eq!(
            json_get(&value, "Project.ExpectedCustomerSpend.Amount"),
            Some(&json!("12"))
        );
        assert_eq!(
            json_get(&value, "Project.ExpectedCustomerSpend[0].CurrencyCode"),
            Some(&json!("USD"))
        );
        json_remove(&mut value, "Project.ExpectedCustomerSpend.Amount");
        assert_eq!(
            json_get(&value, "Project.ExpectedCustomerSpend.Amount"),
            None
        );
        assert_eq!(
            strip_indices("Project.ExpectedCustomerSpend[0].Amount"),
            "Project.ExpectedCustomerSpend.Amount"
        );
    }

    #[test]
    fn every_writable_path_is_a_member_of_the_typed_body() {
        for (path, kind) in WRITABLE_FIELDS {
            let mut value = json!({});
            let leaf = if kind.is_list() {
                json!(["x"])
            } else {
                json!("x")
            };
            json_set(&mut value, path, leaf.clone());
            let typed =
                Opportunity::from_json(value.clone()).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                typed.to_json(),
                value,
                "{path} is not a member of the struct"
            );
        }
    }

    #[test]
    fn review_status_keeps_unknown_values() {
        assert_eq!(ReviewStatus::parse("In review"), ReviewStatus::InReview);
        assert!(ReviewStatus::parse("Submitted").is_under_review());
        let odd = ReviewStatus::parse("Paused");
        assert_eq!(odd.as_str(), "Paused");
        assert!(!odd.is_under_review());
    }
}
