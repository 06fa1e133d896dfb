//! The Opportunity fields a referral's record holds (README, "The custom fields ace-sync
//! writes", AWS referrals), the values their picklists take, and how the values of an
//! invitation or an accepted opportunity become field values.

use time::OffsetDateTime;

use crate::ace::opportunity::{AceOpportunity, Contact, json_get};
use crate::ace::referrals::{
    CONTACTS, InvitationValue, ReferralField, ReferralMapping, ReferralTransform, Source,
};
use crate::ace::rules;
use crate::domain::ids::InvitationId;
use crate::domain::sobject::{Decimal, FieldValue, SObject, parse_date};
use crate::ports::partner_central::Invitation;
use crate::worker::reconcile::fields::{self as sync_fields, truncate};

/// The invitation's id: the External ID a referral's record is upserted on.
pub const INVITATION_ID: &str = "ACE_Invitation_Id__c";
/// `Pending`, `Accepted`, `Rejected`, `Expired`.
pub const INVITATION_STATUS: &str = "ACE_Invitation_Status__c";
pub const INVITATION_EXPIRES: &str = "ACE_Invitation_Expires__c";
/// The rep's answer: `Accept` or `Reject`.
pub const DECISION: &str = "ACE_Invitation_Decision__c";
/// The reason of a `Reject`: one of AWS's documented reasons.
pub const REJECTION_REASON: &str = "ACE_Invitation_Rejection_Reason__c";
/// `Partner Referral` or `AWS Referral` (ACE's `Origin`).
pub const ORIGIN: &str = "ACE_Origin__c";

/// The fields ace-sync writes on a referral's record besides the mapping's rules and the
/// reconciler's own (`reconcile::fields`).
pub const WRITTEN: &[&str] = &[INVITATION_ID, INVITATION_STATUS, INVITATION_EXPIRES, ORIGIN];

/// The fields reps set to answer a referral; ace-sync reads them.
pub const DECIDED: &[&str] = &[DECISION, REJECTION_REASON];

/// What the record reconciler reads to hand a referral over.
pub const HANDOVER: &[&str] = &[INVITATION_ID, INVITATION_STATUS];

/// Every Opportunity field ace-sync writes on a referral's record under `mapping`: its own
/// ([`WRITTEN`]) and the targets of the mapping's rules, sorted.
pub fn written_by(mapping: &ReferralMapping) -> Vec<String> {
    let mut fields: Vec<String> = WRITTEN
        .iter()
        .map(|f| (*f).to_owned())
        .chain(mapping.fields.iter().map(|rule| rule.salesforce.clone()))
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

/// `ACE_Origin__c` of a referral's record.
pub const AWS_REFERRAL: &str = "AWS Referral";

/// RejectEngagementInvitation's documented reasons (ace-api.md §3), the values of
/// `ACE_Invitation_Rejection_Reason__c`.
pub const REJECTION_REASONS: &[&str] = &[
    "Customer problem unclear",
    "Next steps unclear",
    "Unable to support",
    "Duplicate of partner referral",
    "Other",
];

/// An invitation's status as the record shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Rejected,
    Expired,
}

impl InvitationStatus {
    pub const ALL: [InvitationStatus; 4] = [
        InvitationStatus::Pending,
        InvitationStatus::Accepted,
        InvitationStatus::Rejected,
        InvitationStatus::Expired,
    ];

    /// ACE's `InvitationStatus` (`PENDING`, …); `None` for a value this version does not know.
    pub fn from_ace(wire: &str) -> Option<InvitationStatus> {
        match wire {
            "PENDING" => Some(InvitationStatus::Pending),
            "ACCEPTED" => Some(InvitationStatus::Accepted),
            "REJECTED" => Some(InvitationStatus::Rejected),
            "EXPIRED" => Some(InvitationStatus::Expired),
            _ => None,
        }
    }

    /// The picklist value.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "Pending",
            InvitationStatus::Accepted => "Accepted",
            InvitationStatus::Rejected => "Rejected",
            InvitationStatus::Expired => "Expired",
        }
    }

    /// The picklist value on a record.
    pub fn of(record: &SObject) -> Option<InvitationStatus> {
        let value = record.text(INVITATION_STATUS)?;
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// The rep's answer, parsed from the record: what is not one of the picklist's values is no
/// answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept,
    /// With the rejection reason, if the rep chose one of AWS's.
    Reject {
        reason: Option<&'static str>,
    },
}

impl Decision {
    pub fn of(record: &SObject) -> Option<Decision> {
        let decision = record.text(DECISION)?;
        match decision.trim() {
            d if d.eq_ignore_ascii_case("Accept") => Some(Decision::Accept),
            d if d.eq_ignore_ascii_case("Reject") => {
                let reason = record.text(REJECTION_REASON).and_then(|r| {
                    REJECTION_REASONS
                        .iter()
                        .find(|known| known.eq_ignore_ascii_case(r.trim()))
                        .copied()
                });
                Some(Decision::Reject { reason })
            }
            _ => None,
        }
    }
}

/// The invitation a record holds, if any (an id that does not parse is `Err`, with it).
pub fn invitation_of(record: &SObject) -> Option<Result<InvitationId, String>> {
    let raw = record.text(INVITATION_ID)?;
    if raw.trim().is_empty() {
        return None;
    }
    Some(InvitationId::parse(&raw).map_err(|_| raw))
}

/// People, one a line: "First Last <email>, title, phone".
pub fn people(contacts: &[Contact]) -> String {
    contacts
        .iter()
        .map(|c| {
            let name = [c.first_name.as_deref(), c.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let mut line = match (&c.email, name.is_empty()) {
                (Some(email), false) => format!("{name} <{email}>"),
                (Some(email), true) => email.clone(),
                (None, _) => name,
            };
            for extra in [&c.business_title, &c.phone].into_iter().flatten() {
                line.push_str(", ");
                line.push_str(extra);
            }
            line
        })
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A value the invitation shares, as the field value it becomes.
pub fn invitation_value(invitation: &Invitation, value: InvitationValue) -> Option<FieldValue> {
    let spend = invitation.expected_customer_spend.first();
    let text = |s: Option<&String>| {
        s.filter(|s| !s.trim().is_empty())
            .cloned()
            .map(FieldValue::Text)
    };
    match value {
        InvitationValue::ProjectTitle => text(invitation.project_title.as_ref()),
        InvitationValue::ProjectBusinessProblem => text(invitation.business_problem.as_ref()),
        InvitationValue::ProjectTargetCompletionDate => invitation
            .target_completion_date
            .as_deref()
            .and_then(parse_date)
            .map(FieldValue::Date),
        InvitationValue::ExpectedSpendAmount => spend
            .and_then(|s| s.amount.as_deref())
            .and_then(Decimal::parse)
            .map(FieldValue::Number),
        InvitationValue::ExpectedSpendCurrencyCode => {
            text(spend.and_then(|s| s.currency_code.as_ref()))
        }
        InvitationValue::CustomerCompanyName => text(invitation.customer_company_name.as_ref()),
        InvitationValue::CustomerIndustry => text(invitation.customer_industry.as_ref()),
        InvitationValue::CustomerWebsiteUrl => text(invitation.customer_website_url.as_ref()),
        InvitationValue::CustomerCountryCode => text(invitation.customer_country_code.as_ref()),
        InvitationValue::SenderContacts => text(Some(&people(&invitation.sender_contacts))),
        InvitationValue::SenderCompanyName => text(invitation.summary.sender_company_name.as_ref()),
        InvitationValue::InvitationMessage => text(invitation.invitation_message.as_ref()),
    }
}

/// A field of the accepted opportunity (data-model notation), as the field value it becomes.
pub fn accepted_value(opportunity: &AceOpportunity, path: &str) -> Option<FieldValue> {
    if path == CONTACTS {
        let contacts = opportunity
            .body
            .customer
            .as_ref()
            .and_then(|c| c.contacts.clone())
            .unwrap_or_default();
        return Some(FieldValue::Text(people(&contacts))).filter(|v| !v.to_text().is_empty());
    }
    let body = opportunity.body.to_json();
    let leaf = json_get(&body, path)?;
    let text = match leaf {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        serde_json::Value::Null => return None,
        other => other.to_string(),
    };
    if text.trim().is_empty() {
        return None;
    }
    use crate::ace::opportunity::{FieldKind, writable_field};
    Some(match writable_field(path) {
        Some(FieldKind::Amount) => Decimal::parse(&text)
            .map(FieldValue::Number)
            .unwrap_or(FieldValue::Text(text)),
        Some(FieldKind::Date) => parse_date(&text)
            .map(FieldValue::Date)
            .unwrap_or(FieldValue::Text(text)),
        _ => FieldValue::Text(text),
    })
}

/// A rule's value, from the invitation or the accepted opportunity (whichever it names and
/// is given), transformed and cut to fit. `country` is the customer's, for the transform.
pub fn rule_value(
    rule: &ReferralField,
    invitation: Option<&Invitation>,
    opportunity: Option<&AceOpportunity>,
    country: Option<&str>,
) -> Option<FieldValue> {
    let value = match &rule.source {
        Source::Invitation(value) => invitation_value(invitation?, *value)?,
        Source::Accepted(path) => accepted_value(opportunity?, path)?,
    };
    let value = match rule.transform {
        None => value,
        Some(ReferralTransform::UsStateCode) => {
            if country != Some("US") {
                return None;
            }
            let name = value.to_text();
            let code = rules::us_states()
                .find(|(code, full)| {
                    full.eq_ignore_ascii_case(name.trim()) || code.eq_ignore_ascii_case(name.trim())
                })
                .map(|(code, _)| code.to_owned())?;
            FieldValue::Text(code)
        }
    };
    Some(match (value, rule.max_length) {
        (FieldValue::Text(text), Some(max)) => FieldValue::Text(cut(&text, max)),
        (value, _) => value,
    })
}

/// At most `max` characters (an ellipsis when cut, if there is room for one).
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max < 2 {
        return text.chars().take(max).collect();
    }
    truncate(text, max - 1)
}

/// A datetime field value.
pub fn datetime(at: OffsetDateTime) -> Option<FieldValue> {
    Some(FieldValue::Datetime(at))
}

/// A text field value (`None`, a cleared field, when empty), cut to a long text area.
pub fn text(value: impl Into<String>) -> Option<FieldValue> {
    sync_fields::text(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ace::opportunity::{Account, Address, Customer, Opportunity};

    fn contact(first: &str, email: &str, title: Option<&str>) -> Contact {
        Contact {
            email: Some(email.to_owned()),
            first_name: Some(first.to_owned()),
            last_name: Some("Doe".to_owned()),
            business_title: title.map(str::to_owned),
            phone: None,
        }
    }

    #[test]
    fn people_are_one_a_line() {
        assert_eq!(
            people(&[
                contact("Dana", "dana@aws.example", Some("Account Manager")),
                contact("Jo", "jo@aws.example", None),
            ]),
            "Dana Doe <dana@aws.example>, Account Manager\nJo Doe <jo@aws.example>"
        );
        assert_eq!(people(&[]), "");
    }

    #[test]
    fn states_become_codes_in_the_us_only_and_text_is_cut() {
        let opportunity = AceOpportunity {
            id: crate::domain::ids::AceOpportunityId::parse("O1").unwrap(),
            arn: None,
            created_date: OffsetDateTime::UNIX_EPOCH,
            last_modified_date: OffsetDateTime::UNIX_EPOCH,
            related: Default::default(),
            opportunity_team: Vec::new(),
            body: Opportunity {
                customer: Some(Customer {
                    account: Some(Account {
                        company_name: Some("Northwind Traders".into()),
                        address: Some(Address {
                            state_or_region: Some("Washington".into()),
                            ..Address::default()
                        }),
                        ..Account::default()
                    }),
                    contacts: Some(vec![contact("Priya", "p@northwind.example", None)]),
                }),
                ..Opportunity::default()
            },
        };
        let rule = |path: &str, transform, max_length| ReferralField {
            salesforce: "X".into(),
            source: Source::Accepted(path.into()),
            max_length,
            transform,
        };
        let state = rule(
            "Customer.Account.Address.StateOrRegion",
            Some(ReferralTransform::UsStateCode),
            None,
        );
        assert_eq!(
            rule_value(&state, None, Some(&opportunity), Some("US")),
            Some(FieldValue::Text("WA".into()))
        );
        assert_eq!(
            rule_value(&state, None, Some(&opportunity), Some("DE")),
            None
        );
        assert_eq!(
            rule_value(
                &rule("Customer.Account.CompanyName", None, Some(5)),
                None,
                Some(&opportunity),
                None
            ),
            Some(FieldValue::Text("Nort…".into()))
        );
        assert_eq!(
            rule_value(&rule(CONTACTS, None, None), None, Some(&opportunity), None),
            Some(FieldValue::Text("Priya Doe <p@northwind.example>".into()))
        );
        assert_eq!(
            rule_value(
                &rule("Customer.Account.WebsiteUrl", None, None),
                None,
                Some(&opportunity),
                None
            ),
            None
        );
    }
}
