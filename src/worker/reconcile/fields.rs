//! The Salesforce fields ace-sync keeps on an opportunity (README, "The custom fields ace-sync
//! writes"), the values of its sync status, and how text is shaped to fit them.

use crate::ace::opportunity::ReviewStatus;
use crate::ace::preflight::{Finding, Severity};
use crate::domain::ids::AceOpportunityId;
use crate::domain::sobject::{FieldValue, SObject};

pub const ACE_ID: &str = "ACE_Opportunity_Id__c";
pub const SYNC_STATUS: &str = "ACE_Sync_Status__c";
pub const FINDINGS: &str = "ACE_Findings__c";
pub const LAST_SYNCED: &str = "ACE_Last_Synced__c";
pub const REVIEW_STATUS: &str = "ACE_Review_Status__c";
pub const REVIEW_REASON: &str = "ACE_Review_Reason__c";
pub const REVIEW_COMMENTS: &str = "ACE_Review_Comments__c";
pub const STAGE: &str = "ACE_Stage__c";
pub const AWS_TEAM: &str = "ACE_AWS_Team__c";
pub const NEXT_STEPS: &str = "ACE_Next_Steps__c";
pub const ENGAGEMENT_SCORE: &str = "ACE_Engagement_Score__c";
pub const INVOLVEMENT_TYPE: &str = "ACE_Involvement_Type__c";
pub const SUBMITTED_AT: &str = "ACE_Submitted_At__c";
pub const PREVIOUS_IDS: &str = "ACE_Previous_Ids__c";

/// Every field above: the worker reads them with the record, and writes only them.
pub const ALL: &[&str] = &[
    ACE_ID,
    SYNC_STATUS,
    FINDINGS,
    LAST_SYNCED,
    REVIEW_STATUS,
    REVIEW_REASON,
    REVIEW_COMMENTS,
    STAGE,
    AWS_TEAM,
    NEXT_STEPS,
    ENGAGEMENT_SCORE,
    INVOLVEMENT_TYPE,
    SUBMITTED_AT,
    PREVIOUS_IDS,
];

/// Salesforce long text areas hold 32,768 characters; leave room for the ellipsis.
pub const MAX_TEXT: usize = 32_000;

/// `ACE_Review_Reason__c` is a Text(80).
pub const MAX_REVIEW_REASON: usize = 80;

/// `ACE_Previous_Ids__c` is a Text(255).
pub const MAX_PREVIOUS_IDS: usize = 255;

/// The values of `ACE_Sync_Status__c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// ACE has what the record says.
    Synced,
    /// The rep has something to fix (pre-flight findings, ACE's or AWS's refusal).
    NeedsAttention,
    /// AWS is reviewing the opportunity, or its submission is being processed.
    WaitingForReview,
    /// Something only an administrator can fix.
    Error,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Synced => "Synced",
            SyncStatus::NeedsAttention => "Needs attention",
            SyncStatus::WaitingForReview => "Waiting for AWS review",
            SyncStatus::Error => "Error",
        }
    }

    /// What a review status alone says about the sync.
    pub fn for_review(status: Option<&ReviewStatus>) -> SyncStatus {
        match status {
            Some(ReviewStatus::Submitted | ReviewStatus::InReview) => SyncStatus::WaitingForReview,
            Some(ReviewStatus::Rejected | ReviewStatus::ActionRequired) => {
                SyncStatus::NeedsAttention
            }
            _ => SyncStatus::Synced,
        }
    }
}

/// A text value for a field, `None` (cleared) when empty, cut to what the field holds.
pub fn text(value: impl Into<String>) -> Option<FieldValue> {
    let value = value.into();
    if value.is_empty() {
        None
    } else {
        Some(FieldValue::Text(truncate(&value, MAX_TEXT)))
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// The findings as a rep reads them: one per line, suggestions marked.
pub fn render_findings(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| match f.severity {
            Severity::Error => format!("• {}", f.message),
            Severity::Warning => format!("• Suggestion: {}", f.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ACE opportunity the record points at.
pub fn ace_id(record: &SObject) -> Option<AceOpportunityId> {
    record
        .text(ACE_ID)
        .and_then(|id| AceOpportunityId::parse(&id).ok())
}

/// ACE ids this record had before (rejected opportunities replaced by a resubmission), in the
/// order they were replaced, each once.
pub fn previous_ids(record: &SObject) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in record
        .text(PREVIOUS_IDS)
        .unwrap_or_default()
        .split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}
