//! What a reconcile would do to one record, without doing it: both sides as they are now,
//! the pre-flight findings, the plan, and what the record would show of ACE's side. The
//! "Check with ACE" and "ACE status" API calls and the drift report read it; nothing here
//! writes to either side.

use super::act::Acted;
use super::observe::AceView;
use super::plan::Plan;
use super::write_back::{self, Desired};
use super::{Assessment, Reconciler};
use crate::domain::ids::SfOpportunityId;
use crate::ports::partner_central::AceError;
use crate::ports::salesforce::SalesforceError;

/// A reconcile, up to its plan.
#[derive(Debug, Clone)]
pub struct Preview {
    pub assessment: Assessment,
    /// ACE's side; `None` when ACE was not asked (see [`Reconciler::preview`]).
    pub ace: Option<AceView>,
    /// What the reconcile would do in ACE; empty when ACE was not asked.
    pub plan: Plan,
    /// The record's fields that differ from what they would show of ACE's side as it is now,
    /// acting aside (a review status the record has not caught up with, say), with their new
    /// values.
    pub record_drift: Desired,
}

impl Preview {
    /// Whether the two sides disagree: ACE would be changed, or the record would.
    pub fn drifts(&self) -> bool {
        self.plan.writes() || !self.record_drift.is_empty()
    }
}

/// Why a preview could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Ace(#[from] AceError),
}

impl Reconciler {
    /// Reads, maps and checks the record and, when `ask_ace`, observes ACE and plans; `None`
    /// when the record is deleted or not visible. Spends Salesforce's API calls and (with
    /// `ask_ace`) up to two ACE reads; writes nothing.
    pub async fn preview(
        &self,
        id: &SfOpportunityId,
        ask_ace: bool,
    ) -> Result<Option<Preview>, PreviewError> {
        let Some(record) = self.read(id).await? else {
            return Ok(None);
        };
        let assessment = self.assess(record);
        if !ask_ace {
            return Ok(Some(Preview {
                assessment,
                ace: None,
                plan: Plan::empty(),
                record_drift: Desired::new(),
            }));
        }
        let view = self.observe(&assessment).await?;
        let plan = self.plan(&assessment, &view);
        let mut desired = write_back::desired(&write_back::Outcome {
            record: &assessment.record,
            ace: &view,
            plan: &plan,
            acted: &Acted::default(),
            findings: &assessment.findings,
            mapping: self.mapping(),
            now: assessment.now,
        });
        desired.retain(|field, value| assessment.record.get(field) != value.as_ref());
        Ok(Some(Preview {
            assessment,
            ace: Some(view),
            plan,
            record_drift: desired,
        }))
    }
}
