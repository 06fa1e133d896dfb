//! The Opportunity fields an AWS referral is kept in (AWS sends one as an engagement
//! invitation; ace-api.md §3): its invitation id, an External ID that an upsert by it keys on,
//! its status and deadline, the rep's decision and rejection reason, what the invitation
//! shares about the customer, and the customer's contacts (known once accepted).

use super::{FieldDef, FieldType, f, unique_external_id};

/// The invitation statuses, as a rep reads them (`InvitationStatus` in AWS's model, spelled
/// for people).
const INVITATION_STATUSES: &[&str] = &["Pending", "Accepted", "Rejected", "Expired"];

/// The rep's answer to a referral.
const DECISIONS: &[&str] = &["Accept", "Reject"];

/// RejectEngagementInvitation's documented reasons (ace-api.md §3).
pub const REJECTION_REASONS: &[&str] = &[
    "Customer problem unclear",
    "Next steps unclear",
    "Unable to support",
    "Duplicate of partner referral",
    "Other",
];

/// `OpportunityOrigin` in AWS's model.
const ORIGINS: &[&str] = &["Partner Referral", "AWS Referral"];

pub(super) fn referral_fields() -> Vec<FieldDef> {
    use FieldType::*;
    let picklist = |values, restricted| Picklist { values, restricted };
    vec![
        unique_external_id(f(
            "ACE_Invitation_Id__c",
            "ACE Invitation ID",
            String(20),
            true,
        )),
        f(
            "ACE_Invitation_Status__c",
            "ACE Invitation Status",
            picklist(INVITATION_STATUSES, false),
            true,
        ),
        f(
            "ACE_Invitation_Expires__c",
            "ACE Invitation Expires",
            Datetime,
            true,
        ),
        f(
            "ACE_Invitation_Decision__c",
            "ACE Invitation Decision",
            picklist(DECISIONS, false),
            true,
        ),
        f(
            "ACE_Invitation_Rejection_Reason__c",
            "ACE Invitation Rejection Reason",
            picklist(REJECTION_REASONS, true),
            true,
        ),
        f(
            "ACE_Origin__c",
            "ACE Origin",
            picklist(ORIGINS, false),
            true,
        ),
        f("ACE_AWS_Contact__c", "ACE AWS Contact", String(255), true),
        f(
            "ACE_Customer_Company__c",
            "ACE Customer Company",
            String(255),
            true,
        ),
        f(
            "ACE_Customer_Industry__c",
            "ACE Customer Industry",
            String(80),
            true,
        ),
        f(
            "ACE_Customer_Country__c",
            "ACE Customer Country",
            String(2),
            true,
        ),
        // Withheld by AWS until acceptance (the default mapping's [referrals] writes it then).
        f(
            "ACE_Customer_Contacts__c",
            "ACE Customer Contacts",
            Textarea(32768),
            true,
        ),
    ]
}
