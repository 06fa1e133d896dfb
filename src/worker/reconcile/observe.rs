//! Observe: ACE's side of one record, as it is now, in at most two reads.
//!
//! - The record names an opportunity: GetOpportunity, plus the one read its state calls for:
//!   AWS's summary once approved (the AWS team, next steps), the latest submission task while
//!   a submission is pending, or a lookup for a newer opportunity once rejected (a
//!   resubmission whose id was never written back).
//! - The record names none and has reached the stage where it goes to ACE: a lookup by its
//!   Salesforce id among the opportunities modified since the record was created, in case a
//!   create's write-back was lost (a crash between the two). The account's name is not used
//!   to narrow it: a renamed account must not hide the opportunity.

use time::OffsetDateTime;

use crate::ace::mapping::Phase;
use crate::ace::opportunity::{AceOpportunity, ReviewStatus};
use crate::domain::ids::AceOpportunityId;
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::{
    AceError, AwsSummary, EngagementTask, OpportunitySummary, PartnerCentral,
};

/// ACE's side of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum AceView {
    /// The record names no opportunity. `candidates` are the opportunities found carrying the
    /// record's id (newest first); empty when none, or when no lookup was needed.
    Unlinked { candidates: Vec<OpportunitySummary> },
    /// The record's opportunity.
    Linked(Box<Linked>),
    /// The record names an opportunity ACE does not know (deleted, or of the other catalog).
    Gone { id: AceOpportunityId },
}

/// The record's opportunity, and what its state calls for.
#[derive(Debug, Clone, PartialEq)]
pub struct Linked {
    pub opportunity: AceOpportunity,
    /// GetAwsOpportunitySummary, once approved.
    pub summary: Option<AwsSummary>,
    /// The latest StartEngagementFromOpportunityTask, while the submission is pending.
    pub task: Option<EngagementTask>,
    /// Once rejected: newer opportunities carrying the record's id.
    pub successors: Vec<OpportunitySummary>,
}

impl AceView {
    pub fn linked(&self) -> Option<&Linked> {
        match self {
            AceView::Linked(linked) => Some(linked),
            _ => None,
        }
    }
}

/// What observing needs to know of the record, from the mapping.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    pub phase: Phase,
    /// The mapping submits at this stage.
    pub submission: bool,
    /// Whether an unlinked record may be created now, and so needs the lookup first.
    pub lookup: bool,
}

/// Reads ACE's side of `record`.
pub async fn observe(
    ace: &dyn PartnerCentral,
    record: &SObject,
    stored: Option<&AceOpportunityId>,
    needs: Needs,
) -> Result<AceView, AceError> {
    let goes_to_ace = needs.phase != Phase::NotYet;
    let Some(id) = stored else {
        if !goes_to_ace || !needs.lookup {
            return Ok(AceView::Unlinked {
                candidates: Vec::new(),
            });
        }
        let candidates = lookup(ace, record).await?;
        return Ok(AceView::Unlinked { candidates });
    };
    let opportunity = match ace.get(id).await {
        Ok(opportunity) => opportunity,
        Err(AceError::NotFound { .. }) => return Ok(AceView::Gone { id: id.clone() }),
        Err(e) => return Err(e),
    };
    let mut linked = Linked {
        opportunity,
        summary: None,
        task: None,
        successors: Vec::new(),
    };
    match linked.opportunity.body.review_status() {
        Some(ReviewStatus::Approved) => match ace.aws_summary(id).await {
            Ok(summary) => linked.summary = Some(summary),
            // AWS has not published its side yet.
            Err(AceError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        },
        None | Some(ReviewStatus::PendingSubmission) if needs.submission => {
            linked.task = ace.latest_engagement_task(id).await?;
        }
        Some(ReviewStatus::Rejected) if goes_to_ace => {
            let created = linked.opportunity.created_date;
            linked.successors = lookup_since(ace, record, Some(created))
                .await?
                .into_iter()
                .filter(|c| &c.id != id)
                .collect();
        }
        _ => {}
    }
    Ok(AceView::Linked(Box::new(linked)))
}

/// Opportunities carrying the record's id, modified since the record was created.
async fn lookup(
    ace: &dyn PartnerCentral,
    record: &SObject,
) -> Result<Vec<OpportunitySummary>, AceError> {
    let created = record.get("CreatedDate").and_then(FieldValue::as_datetime);
    lookup_since(ace, record, created).await
}

async fn lookup_since(
    ace: &dyn PartnerCentral,
    record: &SObject,
    since: Option<OffsetDateTime>,
) -> Result<Vec<OpportunitySummary>, AceError> {
    // A minute of slack for clocks that disagree.
    let since = since.map(|at| at - time::Duration::minutes(1));
    ace.find_by_partner_id(record.id.as_str(), since).await
}
