//! The in-process control and inspection API of a running simulator, for tests and the demo:
//! what is stored, how often each operation was called, faults to inject, AWS's side of
//! reviews and referrals, and the events published.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

pub use super::invitations::{ContactSpec, InvitationSpec};
use super::review::ReviewDecision;
pub use super::review_flow::ReviewTransition;
use super::service::Sim;
pub use super::store::{Fault, LoggedCall, OpportunityChange};
use super::tasks::task_document;

/// A handle on a running simulator's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct SimControl {
    pub(super) sim: Arc<Sim>,
}

impl SimControl {
    /// Every stored opportunity, as GetOpportunity would answer it.
    pub fn opportunities(&self) -> Vec<Value> {
        let state = self.sim.state();
        state
            .opportunities
            .values()
            .map(|o| {
                self.sim
                    .model
                    .project("GetOpportunityResponse", &self.sim.opportunity_document(o))
            })
            .collect()
    }

    /// One opportunity, as GetOpportunity would answer it.
    pub fn opportunity(&self, id: &str) -> Option<Value> {
        let state = self.sim.state();
        state.opportunities.get(id).map(|o| {
            self.sim
                .model
                .project("GetOpportunityResponse", &self.sim.opportunity_document(o))
        })
    }

    /// Its `LifeCycle.ReviewStatus`.
    pub fn review_status(&self, id: &str) -> Option<String> {
        self.sim
            .state()
            .opportunities
            .get(id)
            .map(|o| o.review_status.as_str().to_owned())
    }

    /// Calls received per operation (all of them: failed, throttled and faulted ones too).
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.sim.state().calls.clone()
    }

    /// The most recent calls (up to 10 000), in order, each with when it was answered and
    /// what it was about.
    pub fn call_log(&self) -> Vec<LoggedCall> {
        self.sim.state().call_log.clone()
    }

    /// Each opportunity as it stood whenever one of its events was published (up to 10 000,
    /// in order): review status and stage over time.
    pub fn opportunity_history(&self) -> Vec<OpportunityChange> {
        self.sim.state().opportunity_history.clone()
    }

    pub fn call_count(&self, operation: &str) -> u64 {
        self.sim.state().calls.get(operation).copied().unwrap_or(0)
    }

    /// The next `times` calls of `operation` fail with `fault` (before any validation).
    pub fn inject_fault(&self, operation: &str, fault: Fault, times: u32) {
        if times > 0 {
            self.sim
                .state()
                .faults
                .insert(operation.to_owned(), (fault, times));
        }
    }

    pub fn clear_faults(&self) {
        self.sim.state().faults.clear();
    }

    /// From now on, calls of `operation` wait before they are processed (and before they are
    /// counted), until [`release`](Self::release). A held call is processed even if its
    /// caller has gone away meanwhile, as a request that reached AWS is: how a test makes a
    /// client die with its request in flight.
    pub fn hold(&self, operation: &str) {
        self.sim
            .state()
            .holds
            .entry(operation.to_owned())
            .or_insert_with(|| tokio::sync::watch::channel(()).0);
    }

    /// Lets the held calls of `operation` (and later ones) through.
    pub fn release(&self, operation: &str) {
        self.sim.state().holds.remove(operation);
    }

    /// Calls of `operation` waiting at a hold now.
    pub fn held(&self, operation: &str) -> u64 {
        self.sim.state().held.get(operation).copied().unwrap_or(0)
    }

    /// Moves every review in progress on by one step (`Submitted → In review`,
    /// `In review → decision`), whatever the timing.
    pub fn advance_reviews(&self) -> Vec<ReviewTransition> {
        self.sim
            .reviews_in_progress()
            .iter()
            .filter_map(|id| self.sim.step_review(id, None))
            .collect()
    }

    /// Steps reviews until none is in progress; returns every step taken.
    pub fn complete_reviews(&self) -> Vec<ReviewTransition> {
        let mut all = Vec::new();
        loop {
            let steps = self.advance_reviews();
            if steps.is_empty() {
                return all;
            }
            all.extend(steps);
        }
    }

    /// Ends the review of `id` with `decision` now, bypassing the policy. Returns the new
    /// review status, or `None` if the opportunity is not in review.
    pub fn decide_review(&self, id: &str, decision: ReviewDecision) -> Option<String> {
        self.sim
            .decide_review(id, decision)
            .map(|s| s.as_str().to_owned())
    }

    /// Ends every Start…Task task still in progress now, as its timing would later (the way
    /// tests step [`TaskTiming::Manual`] tasks); the ids of the tasks ended.
    ///
    /// [`TaskTiming::Manual`]: super::TaskTiming::Manual
    /// The next `times` StartEngagementFromOpportunityTask tasks to end fail with AWS's
    /// `reason_code` and `message`, whatever the opportunity holds.
    pub fn fail_next_tasks(&self, reason_code: &str, message: &str, times: usize) {
        let mut state = self.sim.state();
        for _ in 0..times {
            state
                .task_failures
                .push_back((reason_code.to_owned(), message.to_owned()));
        }
    }

    pub fn finish_tasks(&self) -> Vec<String> {
        self.sim.finish_tasks_in_progress()
    }

    /// Every task started so far, both kinds, each as its List…Tasks summary renders it now.
    pub fn tasks(&self) -> Vec<Value> {
        let state = self.sim.state();
        state
            .from_opportunity_tasks
            .iter()
            .chain(&state.by_invitation_tasks)
            .map(task_document)
            .collect()
    }

    /// An AWS-originated referral (an engagement invitation to this partner), with its
    /// `Engagement Invitation Created` event; its id. Refused, with what breaks the model, when
    /// the spec holds values AWS's model does not take.
    pub fn create_aws_invitation(&self, spec: &InvitationSpec) -> Result<String, Vec<String>> {
        self.sim.create_aws_invitation(spec)
    }

    /// Lets a pending invitation expire now.
    pub fn expire_invitation(&self, id: &str) -> bool {
        let mut state = self.sim.state();
        self.sim.expire_invitation(&mut state, id)
    }

    /// The status of an invitation (`PENDING`, `ACCEPTED`, `REJECTED`, `EXPIRED`).
    pub fn invitation_status(&self, id: &str) -> Option<String> {
        self.sim
            .state()
            .invitations
            .get(id)
            .map(|i| i.status.clone())
    }

    /// Every event published so far, in order, as EventBridge JSON.
    pub fn events(&self) -> Vec<Value> {
        self.sim.state().events.clone()
    }

    /// Waits until every event published so far has been offered to every sink.
    pub async fn flush_events(&self) {
        self.sim.events().flush().await;
    }

    /// Answers of the simulator that broke their operation's output shape; empty unless the
    /// simulator has a bug.
    pub fn output_violations(&self) -> Vec<String> {
        self.sim.state().output_violations.clone()
    }
}
