//! The business flow, top to bottom: what happens to one opportunity change, and to one event
//! from Partner Central.
//!
//! **Salesforce → ACE** ([`Pipeline::sync_opportunity`]). The queue message is only a trigger:
//! Salesforce is the truth, so the record is read again and stale or duplicate messages
//! converge on the same result.
//! 1. Read the record (the fields the mapping needs, and ace-sync's own).
//! 2. Map it; if what ACE would receive is what ACE last received (the fingerprint ace-sync
//!    keeps on the record), stop: the change was only our own write-back, or a duplicate.
//! 3. Pre-flight check. On errors, write the findings to the record (status *Needs attention*)
//!    and stop — no ACE call.
//! 4. Create, update, submit or close in ACE, as the mapping's stage rules say. Creation is
//!    idempotent (a ClientToken derived from the org, the record and the generation, plus a
//!    lookup by the record id), so a crash between create and write-back cannot duplicate.
//! 5. Write back, in one PATCH of only what changed: ACE id, review status, ACE stage, sync
//!    status, findings, last synced time, fingerprint.
//!
//! **ACE → Salesforce** ([`Pipeline::handle_event`]). An EventBridge event names an
//! opportunity; its current state and AWS's summary are fetched and written back (review
//! status, comments and reason, ACE stage, AWS team, involvement, next steps, engagement
//! score). If the record holds changes ACE has not received — an update deferred while AWS
//! was reviewing — they are sent now that ACE accepts them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::Processor;
use crate::ace::mapping::{MappedOpportunity, Mapping, Phase};
use crate::ace::model::ServiceModel;
use crate::ace::opportunity::{AceOpportunity, Catalog, ReviewStatus};
use crate::ace::preflight::{self, Finding, Severity};
use crate::domain::disposition::{Classify, Disposition};
use crate::domain::ids::{AceOpportunityId, ClientToken, SfOpportunityId, SfOrgId, TokenPurpose};
use crate::domain::job::Job;
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::{
    AceError, AwsSummary, Closing, CreateRequest, FindHint, Origin, PartnerCentral, UpdateOutcome,
};
use crate::ports::queue::ReceivedMessage;
use crate::ports::salesforce::{SalesforceError, SalesforceOrg};

/// The Salesforce fields ace-sync keeps on an opportunity (README, "The custom fields
/// ace-sync writes").
pub mod fields {
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
    pub const FINGERPRINT: &str = "ACE_Sync_Fingerprint__c";
    pub const PREVIOUS_IDS: &str = "ACE_Previous_Ids__c";

    /// Every field above: the worker reads them with the record.
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
        FINGERPRINT,
        PREVIOUS_IDS,
    ];
}

/// The values of `ACE_Sync_Status__c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    Synced,
    NeedsAttention,
    WaitingForReview,
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

    fn for_review(status: Option<&ReviewStatus>) -> SyncStatus {
        match status {
            Some(ReviewStatus::Submitted | ReviewStatus::InReview) => SyncStatus::WaitingForReview,
            Some(ReviewStatus::Rejected | ReviewStatus::ActionRequired) => {
                SyncStatus::NeedsAttention
            }
            _ => SyncStatus::Synced,
        }
    }
}

/// Salesforce long text areas hold 32 768 characters.
const MAX_TEXT: usize = 32_000;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContactLabel {
    aws_field_contact: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: &'static str,
}

/// The sync's operating figures (ace-lifecycle.md, "failure modes the service must make
/// visible").
#[derive(Debug, Clone)]
pub struct PipelineMetrics {
    outcomes: Family<OutcomeLabel, Counter>,
    submission_lag: Histogram,
    time_in_review: Family<DecisionLabel, Histogram, fn() -> Histogram>,
    rejection_reasons: Family<ReasonLabel, Counter>,
    submissions: Family<ContactLabel, Counter>,
}

fn seconds_histogram() -> Histogram {
    // 1 s to ~ 97 days.
    Histogram::new(exponential_buckets(1.0, 2.0, 24))
}

impl PipelineMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            outcomes: Family::default(),
            submission_lag: seconds_histogram(),
            time_in_review: Family::new_with_constructor(seconds_histogram),
            rejection_reasons: Family::default(),
            submissions: Family::default(),
        };
        registry.register(
            "sync_outcomes",
            "What the sync did with an opportunity change or an ACE event",
            metrics.outcomes.clone(),
        );
        registry.register(
            "submission_lag_seconds",
            "From the Salesforce change that reached the submission stage to the ACE submission",
            metrics.submission_lag.clone(),
        );
        registry.register(
            "time_in_review_seconds",
            "From ACE submission to AWS's decision, by decision",
            metrics.time_in_review.clone(),
        );
        registry.register(
            "rejections",
            "Opportunities AWS rejected or sent back (Action Required), by ReviewStatusReason",
            metrics.rejection_reasons.clone(),
        );
        registry.register(
            "submissions",
            "Submissions to AWS, by whether they named an AWS field contact",
            metrics.submissions.clone(),
        );
        metrics
    }

    fn outcome(&self, outcome: &'static str) {
        self.outcomes.get_or_create(&OutcomeLabel { outcome }).inc();
    }
}

/// What the pipeline works with.
pub struct Pipeline {
    sf: Arc<dyn SalesforceOrg>,
    ace: Arc<dyn PartnerCentral>,
    mapping: Arc<Mapping>,
    model: Arc<ServiceModel>,
    catalog: Catalog,
    read_fields: Vec<String>,
    metrics: PipelineMetrics,
    records: RecordLocks,
}

/// One record is worked on by one task at a time in this process. The changes queue already
/// serializes a record's changes (its FIFO group), but an ACE event for the same record comes
/// from the other queue: without this, the events worker could write back ACE's state as it
/// was before the changes worker's create or submission, over that newer write-back. Striped,
/// so memory stays bounded whatever the number of records.
struct RecordLocks {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl RecordLocks {
    fn new() -> Self {
        Self {
            stripes: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    async fn lock(&self, id: &SfOpportunityId) -> tokio::sync::MutexGuard<'_, ()> {
        let hash = id.as_str().bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        self.stripes[hash % self.stripes.len()].lock().await
    }
}

/// Why processing stopped short; each becomes a [`Disposition`].
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Ace(#[from] AceError),
}

impl Failure {
    fn disposition(&self) -> Disposition {
        let reason = crate::telemetry::error_chain(self);
        let hint = match self {
            Failure::Salesforce(e) => e.retry_hint(),
            Failure::Ace(e) => e.retry_hint(),
        };
        match hint {
            Some(after) => Disposition::Retry {
                after: after.unwrap_or(Duration::ZERO),
                reason,
            },
            None => Disposition::Permanent { reason },
        }
    }
}

/// What to write back: field → value (`None` clears it).
type Desired = BTreeMap<String, Option<FieldValue>>;

fn text(value: impl Into<String>) -> Option<FieldValue> {
    let value = value.into();
    if value.is_empty() {
        None
    } else {
        Some(FieldValue::Text(truncate(&value, MAX_TEXT)))
    }
}

fn truncate(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// The findings as a rep reads them: errors first, one per line.
fn render_findings(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| match f.severity {
            Severity::Error => format!("• {}", f.message),
            Severity::Warning => format!("• Suggestion: {}", f.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A digest of everything ace-sync sends ACE for a record. Equal fingerprints mean ACE
/// already has what the record says.
fn fingerprint(mapped: &MappedOpportunity) -> String {
    let mut hash = Sha256::new();
    hash.update(mapped.body.normalized().to_json().to_string());
    hash.update(format!(
        "{:?}|{:?}|{:?}|{:?}",
        mapped.phase, mapped.solutions, mapped.aws_products, mapped.submission
    ));
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// ACE ids this record had before (rejected opportunities replaced by a resubmission).
fn previous_ids(record: &SObject) -> Vec<String> {
    record
        .text(fields::PREVIOUS_IDS)
        .map(|v| {
            v.split([';', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn ace_id(record: &SObject) -> Option<AceOpportunityId> {
    record
        .text(fields::ACE_ID)
        .and_then(|id| AceOpportunityId::parse(&id).ok())
}

impl Pipeline {
    pub fn new(
        sf: Arc<dyn SalesforceOrg>,
        ace: Arc<dyn PartnerCentral>,
        mapping: Arc<Mapping>,
        model: Arc<ServiceModel>,
        catalog: Catalog,
        metrics: PipelineMetrics,
    ) -> Self {
        let mut read_fields = mapping.salesforce_fields();
        for field in [
            "StageName",
            "IsClosed",
            "IsWon",
            "LastModifiedById",
            "SystemModstamp",
            "CreatedDate",
        ]
        .iter()
        .chain(fields::ALL)
        {
            if !read_fields.iter().any(|f| f == field) {
                read_fields.push((*field).to_owned());
            }
        }
        Self {
            sf,
            ace,
            mapping,
            model,
            catalog,
            read_fields,
            metrics,
            records: RecordLocks::new(),
        }
    }

    /// The fields read with every opportunity.
    pub fn read_fields(&self) -> &[String] {
        &self.read_fields
    }

    /// Brings ACE up to date with one Salesforce opportunity. `changed_at` is when the change
    /// that triggered this happened in Salesforce (for the submission-lag figure).
    #[tracing::instrument(skip_all, fields(sf_opportunity_id = %id, ace_id = tracing::field::Empty))]
    pub async fn sync_opportunity(
        &self,
        org: &SfOrgId,
        id: &SfOpportunityId,
        changed_at: Option<OffsetDateTime>,
    ) -> Disposition {
        let _record = self.records.lock(id).await;
        match self.try_sync(org, id, changed_at).await {
            Ok(outcome) => {
                self.metrics.outcome(outcome);
                Disposition::Done
            }
            Err(failure) => {
                self.metrics.outcome("failed");
                failure.disposition()
            }
        }
    }

    async fn try_sync(
        &self,
        org: &SfOrgId,
        id: &SfOpportunityId,
        changed_at: Option<OffsetDateTime>,
    ) -> Result<&'static str, Failure> {
        // 1. Salesforce is the truth.
        let record = match self.sf.read_opportunity(id, &self.read_fields).await {
            Ok(record) => record,
            Err(SalesforceError::NoSuchRecord { .. }) => {
                tracing::info!(
                    "the opportunity is deleted or not visible to the integration user; nothing to sync"
                );
                return Ok("deleted");
            }
            Err(e) => return Err(e.into()),
        };
        let existing = ace_id(&record);
        if let Some(ace) = &existing {
            tracing::Span::current().record("ace_id", ace.as_str());
        }

        // 2. Map; skip what ACE already has.
        let mapped = self.mapping.map(&record);
        let phase = mapped.opportunity.phase;
        if phase == Phase::NotYet && existing.is_none() {
            return Ok("not_yet");
        }
        let print = fingerprint(&mapped.opportunity);
        if existing.is_some() && record.text(fields::FINGERPRINT).as_deref() == Some(print.as_str())
        {
            tracing::debug!(
                "ACE already has what the record says (our own write-back, or a duplicate)"
            );
            return Ok("unchanged");
        }

        // 3. Pre-flight: nothing goes to ACE that ACE would refuse.
        let now = OffsetDateTime::now_utc();
        let context = preflight::Context {
            today: now.date(),
            catalog: self.catalog,
        };
        let checked = match preflight::check_mapped(
            mapped.opportunity.clone(),
            mapped.findings.clone(),
            &self.mapping,
            &self.model,
            &context,
        ) {
            Ok(checked) => checked,
            Err(rejected) => {
                tracing::info!(
                    errors = rejected.errors().count(),
                    "pre-flight findings written back; no ACE call"
                );
                let mut desired = Desired::new();
                desired.insert(
                    fields::SYNC_STATUS.into(),
                    text(SyncStatus::NeedsAttention.as_str()),
                );
                desired.insert(
                    fields::FINDINGS.into(),
                    text(render_findings(&rejected.findings)),
                );
                self.write_back(&record, desired, now).await?;
                return Ok("needs_attention");
            }
        };

        // 4. ACE.
        match existing {
            None if matches!(phase, Phase::Won | Phase::Lost) => {
                let mut desired = Desired::new();
                desired.insert(
                    fields::SYNC_STATUS.into(),
                    text(SyncStatus::Synced.as_str()),
                );
                desired.insert(
                    fields::FINDINGS.into(),
                    text("The opportunity closed before it was shared with ACE; ACE does not take closed opportunities, so nothing was sent."),
                );
                self.write_back(&record, desired, now).await?;
                Ok("closed_unshared")
            }
            None => {
                self.create(
                    org,
                    id,
                    &record,
                    checked.request,
                    checked.warnings,
                    &print,
                    changed_at,
                )
                .await
            }
            Some(ace) => {
                self.update(
                    org,
                    id,
                    &record,
                    ace,
                    checked.request,
                    checked.warnings,
                    &print,
                    changed_at,
                )
                .await
            }
        }
    }

    /// First time in ACE (or the first time after a rejection).
    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        org: &SfOrgId,
        id: &SfOpportunityId,
        record: &SObject,
        request: MappedOpportunity,
        warnings: Vec<Finding>,
        print: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> Result<&'static str, Failure> {
        let previous = previous_ids(record);
        // The write-back of a created opportunity may have been lost (a crash between the two),
        // and ACE's idempotency window is undocumented: look for it by its Salesforce id first.
        let hint = FindHint {
            customer_company_name: request
                .body
                .customer
                .as_ref()
                .and_then(|c| c.account.as_ref())
                .and_then(|a| a.company_name.clone()),
            modified_after: None,
        };
        if let Some(found) = self.ace.find_by_partner_id(id.as_str(), &hint).await? {
            let replaced = previous.iter().any(|p| p == found.id.as_str());
            let rejected = found.review_status == Some(ReviewStatus::Rejected);
            if !replaced && !rejected {
                tracing::info!(ace_id = %found.id, "found the ACE opportunity created for this record earlier; updating it");
                return self
                    .update(
                        org, id, record, found.id, request, warnings, print, changed_at,
                    )
                    .await;
            }
        }
        let now = OffsetDateTime::now_utc();
        let submitted = request.submission.is_some();
        let named_contact = request.aws_field_contact.is_some();
        let create = CreateRequest {
            origin: Origin {
                org: org.clone(),
                record: id.clone(),
                generation: previous.len() as u32,
            },
            body: request.body.clone(),
            solutions: request.solutions.clone(),
            aws_products: request.aws_products.clone(),
            submission: request.submission.clone(),
        };
        let created = match self.ace.create(&create).await {
            Ok(created) => created,
            Err(error) => {
                // Created, then a later step failed: keep the id so the retry updates and
                // resumes instead of looking for the opportunity again.
                if let Some(ace) = error.created_id() {
                    let mut desired = Desired::new();
                    desired.insert(fields::ACE_ID.into(), text(ace.as_str()));
                    self.write_back(record, desired, now).await?;
                }
                return self.ace_refused(record, error, now).await;
            }
        };
        tracing::Span::current().record("ace_id", created.id.as_str());
        tracing::info!(existed = created.existed, "opportunity created in ACE");

        let mut desired = Desired::new();
        desired.insert(fields::ACE_ID.into(), text(created.id.as_str()));
        desired.insert(
            fields::STAGE.into(),
            text(request.body.stage().unwrap_or_default()),
        );
        let mut findings = warnings;
        let review = match &created.submission {
            Some(task) if task.failed() => {
                findings.insert(
                    0,
                    Finding::error(
                        preflight::FindingCode::Required,
                        None,
                        None,
                        format!(
                            "ACE did not accept the submission: {}",
                            task.message
                                .clone()
                                .unwrap_or_else(|| task.reason_code.clone().unwrap_or_default())
                        ),
                    ),
                );
                ReviewStatus::PendingSubmission
            }
            Some(_) => {
                self.submitted(record, &mut desired, named_contact, changed_at, now);
                ReviewStatus::Submitted
            }
            None => ReviewStatus::PendingSubmission,
        };
        let status = if findings.iter().any(Finding::is_error) {
            SyncStatus::NeedsAttention
        } else {
            SyncStatus::for_review(Some(&review))
        };
        desired.insert(fields::REVIEW_STATUS.into(), text(review.as_str()));
        desired.insert(fields::SYNC_STATUS.into(), text(status.as_str()));
        desired.insert(fields::FINDINGS.into(), text(render_findings(&findings)));
        if !findings.iter().any(Finding::is_error) {
            desired.insert(fields::FINGERPRINT.into(), text(print));
        }
        self.write_back(record, desired, now).await?;
        Ok(if submitted {
            "created_and_submitted"
        } else {
            "created"
        })
    }

    /// Records the submission on the record and in the operating figures.
    fn submitted(
        &self,
        record: &SObject,
        desired: &mut Desired,
        named_contact: bool,
        changed_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) {
        desired.insert(fields::SUBMITTED_AT.into(), Some(FieldValue::Datetime(now)));
        self.metrics
            .submissions
            .get_or_create(&ContactLabel {
                aws_field_contact: if named_contact { "named" } else { "missing" },
            })
            .inc();
        let since = changed_at.or_else(|| {
            record
                .get("SystemModstamp")
                .and_then(FieldValue::as_datetime)
        });
        if let Some(since) = since {
            self.metrics
                .submission_lag
                .observe((now - since).as_seconds_f64().max(0.0));
        }
    }

    /// An opportunity ACE knows.
    #[allow(clippy::too_many_arguments)]
    async fn update(
        &self,
        org: &SfOrgId,
        id: &SfOpportunityId,
        record: &SObject,
        ace: AceOpportunityId,
        request: MappedOpportunity,
        warnings: Vec<Finding>,
        print: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> Result<&'static str, Failure> {
        let now = OffsetDateTime::now_utc();
        let current = match self.ace.get(&ace).await {
            Ok(current) => current,
            Err(error) => return self.ace_refused(record, error, now).await,
        };
        let review = current.body.review_status();
        let mut desired = Desired::new();
        desired.insert(fields::ACE_ID.into(), text(ace.as_str()));

        // AWS rejected it and the rep changed the record since: a rejected opportunity is
        // read-only, so the resubmission is a new ACE opportunity (ace-lifecycle.md stage 2:
        // "Rejections come with a reason and can be resubmitted").
        if review == Some(ReviewStatus::Rejected) {
            if request.phase.is_submitted() && !matches!(request.phase, Phase::Won | Phase::Lost) {
                let mut previous = previous_ids(record);
                previous.push(ace.to_string());
                let mut replaced = record.clone();
                replaced.fields.remove(fields::ACE_ID);
                replaced.fields.insert(
                    fields::PREVIOUS_IDS.into(),
                    FieldValue::Text(previous.join(";")),
                );
                tracing::info!(
                    "AWS rejected the opportunity and the record changed since: resubmitting as a new ACE opportunity"
                );
                let mut keep = Desired::new();
                keep.insert(fields::PREVIOUS_IDS.into(), text(previous.join(";")));
                self.write_back(record, keep, now).await?;
                // Read back what we just wrote so the create's write-back diffs against it.
                let record = self.sf.read_opportunity(id, &self.read_fields).await?;
                // Boxed: create and update call each other.
                return Box::pin(
                    self.create(org, id, &record, request, warnings, print, changed_at),
                )
                .await;
            }
            return Ok("rejected_unchanged");
        }

        let outcome = match &request.phase {
            Phase::Won => self.ace.close(&ace, &Closing::Won).await,
            Phase::Lost => {
                let reason = request
                    .body
                    .life_cycle
                    .as_ref()
                    .and_then(|l| l.closed_lost_reason.clone())
                    .unwrap_or_else(|| "Other".to_owned());
                self.ace.close(&ace, &Closing::Lost { reason }).await
            }
            _ => self.ace.update(&ace, &request.body).await,
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => return self.ace_refused(record, error, now).await,
        };
        let mut findings = warnings;
        let (label, review_after) = match &outcome {
            UpdateOutcome::Deferred { review_status } => {
                // ACE refuses every update while AWS reviews (ace-api.md §8). The fingerprint
                // stays as it was, so the change is sent when the review's event arrives.
                findings.push(Finding::warning(
                    preflight::FindingCode::Required,
                    None,
                    None,
                    "AWS is reviewing the opportunity; your latest changes will be sent to ACE when the review ends.".to_owned(),
                ));
                desired.insert(fields::REVIEW_STATUS.into(), text(review_status.as_str()));
                desired.insert(
                    fields::SYNC_STATUS.into(),
                    text(SyncStatus::WaitingForReview.as_str()),
                );
                desired.insert(fields::FINDINGS.into(), text(render_findings(&findings)));
                self.write_back(record, desired, now).await?;
                return Ok("deferred");
            }
            UpdateOutcome::Updated { withheld, .. } | UpdateOutcome::Unchanged { withheld } => {
                for path in withheld {
                    findings.push(Finding::warning(
                        preflight::FindingCode::Required,
                        self.mapping.salesforce_source(path),
                        Some(path),
                        format!(
                            "{} can no longer change in ACE at this point of AWS's review; the new value was not sent.",
                            self.mapping
                                .salesforce_source(path)
                                .map(|sf| self.mapping.label(sf))
                                .unwrap_or_else(|| path.clone())
                        ),
                    ));
                }
                let label = if matches!(outcome, UpdateOutcome::Updated { .. }) {
                    "updated"
                } else {
                    "unchanged_in_ace"
                };
                (label, review.clone())
            }
            UpdateOutcome::Closed { review_status, .. } => ("closed", review_status.clone()),
        };

        // Submission: reached the submission stage and not yet submitted.
        let mut review_after = review_after;
        let mut label = label;
        if let Some(submission) = &request.submission
            && matches!(review_after, None | Some(ReviewStatus::PendingSubmission))
            && !matches!(request.phase, Phase::Won | Phase::Lost)
        {
            let token = ClientToken::derive(
                org,
                id,
                TokenPurpose::StartEngagementFromOpportunity,
                previous_ids(record).len() as u32,
            );
            match self.ace.submit(&ace, submission, &token).await {
                Ok(task) if task.failed() => {
                    findings.insert(
                        0,
                        Finding::error(
                            preflight::FindingCode::Required,
                            None,
                            None,
                            format!(
                                "ACE did not accept the submission: {}",
                                task.message.clone().unwrap_or_else(|| task
                                    .reason_code
                                    .clone()
                                    .unwrap_or_default())
                            ),
                        ),
                    );
                }
                Ok(_) => {
                    self.submitted(
                        record,
                        &mut desired,
                        request.aws_field_contact.is_some(),
                        changed_at,
                        now,
                    );
                    review_after = Some(ReviewStatus::Submitted);
                    label = "submitted";
                }
                Err(error) => return self.ace_refused(record, error, now).await,
            }
        }

        let stage = match &outcome {
            UpdateOutcome::Closed { stage, .. } => stage.clone(),
            _ => request.body.stage().map(str::to_owned),
        };
        let failed = findings.iter().any(Finding::is_error);
        let status = if failed {
            SyncStatus::NeedsAttention
        } else {
            SyncStatus::for_review(review_after.as_ref())
        };
        if let Some(review) = &review_after {
            desired.insert(fields::REVIEW_STATUS.into(), text(review.as_str()));
        }
        desired.insert(fields::STAGE.into(), stage.and_then(text));
        desired.insert(fields::SYNC_STATUS.into(), text(status.as_str()));
        desired.insert(fields::FINDINGS.into(), text(render_findings(&findings)));
        if !failed {
            desired.insert(fields::FINGERPRINT.into(), text(print));
        }
        self.write_back(record, desired, now).await?;
        Ok(label)
    }

    /// ACE said no. Retryable refusals are retried; the rest are explained on the record, in
    /// words a rep can act on, and the message is done with.
    async fn ace_refused(
        &self,
        record: &SObject,
        error: AceError,
        now: OffsetDateTime,
    ) -> Result<&'static str, Failure> {
        if error.is_retryable() {
            return Err(error.into());
        }
        let (status, message) = match error.root() {
            AceError::Validation {
                errors, message, ..
            } => {
                let mut lines: Vec<String> = errors
                    .iter()
                    .map(|e| match &e.field_name {
                        Some(field) => {
                            let sf = self
                                .mapping
                                .salesforce_source(&crate::ace::opportunity::strip_indices(field));
                            match sf {
                                Some(sf) => format!(
                                    "• {}: {} (ACE: {field})",
                                    self.mapping.label(sf),
                                    e.message
                                ),
                                None => format!("• {} (ACE: {field})", e.message),
                            }
                        }
                        None => format!("• {}", e.message),
                    })
                    .collect();
                if lines.is_empty() {
                    lines.push(format!("• {message}"));
                }
                (
                    SyncStatus::NeedsAttention,
                    format!("ACE refused the opportunity:\n{}", lines.join("\n")),
                )
            }
            other => (
                SyncStatus::Error,
                format!(
                    "ace-sync could not sync this opportunity with ACE: {}. An administrator has to look at it.",
                    other.to_string().trim_end_matches('.')
                ),
            ),
        };
        tracing::warn!(error = %crate::telemetry::error_chain(&error), "ACE refused; recorded on the opportunity");
        let mut desired = Desired::new();
        desired.insert(fields::SYNC_STATUS.into(), text(status.as_str()));
        desired.insert(fields::FINDINGS.into(), text(message));
        self.write_back(record, desired, now).await?;
        // The message is done with: retrying cannot help until someone changes something.
        Err(Failure::Ace(error))
    }

    /// Writes only what differs from the record (the adapter skips the call when nothing
    /// does), and stamps the sync time when something else changed.
    async fn write_back(
        &self,
        record: &SObject,
        mut desired: Desired,
        now: OffsetDateTime,
    ) -> Result<(), Failure> {
        let differs = desired
            .iter()
            .any(|(field, value)| record.get(field) != value.as_ref());
        if !differs {
            return Ok(());
        }
        desired.insert(fields::LAST_SYNCED.into(), Some(FieldValue::Datetime(now)));
        let outcome = self.sf.write_back(record, &desired).await?;
        tracing::debug!(?outcome, "written back to Salesforce");
        Ok(())
    }

    /// One EventBridge event from Partner Central.
    pub async fn handle_event(&self, body: &str) -> Disposition {
        let event: Event = match serde_json::from_str(body) {
            Ok(event) => event,
            Err(e) => {
                return Disposition::Permanent {
                    reason: format!("not an EventBridge event from Partner Central: {e}"),
                };
            }
        };
        if event.source != "aws.partnercentral-selling" {
            self.metrics.outcome("event_ignored");
            return Disposition::Done;
        }
        if event.detail.catalog.as_deref() != Some(self.catalog.as_str()) {
            self.metrics.outcome("event_other_catalog");
            return Disposition::Done;
        }
        match event.detail_type.as_str() {
            "Opportunity Created" | "Opportunity Updated" => {
                let Some(id) = event
                    .detail
                    .opportunity
                    .and_then(|o| AceOpportunityId::parse(&o.identifier).ok())
                else {
                    return Disposition::Permanent {
                        reason: "an opportunity event without a valid opportunity identifier"
                            .into(),
                    };
                };
                match self.refresh_from_ace(&id).await {
                    Ok(outcome) => {
                        self.metrics.outcome(outcome);
                        Disposition::Done
                    }
                    Err(failure) => {
                        self.metrics.outcome("failed");
                        failure.disposition()
                    }
                }
            }
            other => {
                tracing::info!(detail_type = other, "Partner Central event not acted on");
                self.metrics.outcome("event_ignored");
                Disposition::Done
            }
        }
    }

    /// Writes ACE's view of an opportunity back to its Salesforce record, then sends what ACE
    /// has not received yet.
    #[tracing::instrument(skip_all, fields(ace_id = %id, sf_opportunity_id = tracing::field::Empty))]
    async fn refresh_from_ace(&self, id: &AceOpportunityId) -> Result<&'static str, Failure> {
        let opportunity = match self.ace.get(id).await {
            Ok(opportunity) => opportunity,
            Err(AceError::NotFound { .. }) => return Ok("event_unknown_opportunity"),
            Err(e) => return Err(e.into()),
        };
        let Some(sf_id) = opportunity
            .body
            .partner_opportunity_identifier
            .as_deref()
            .and_then(|p| SfOpportunityId::parse(p).ok())
        else {
            // Not one of ours (an AWS referral not yet linked, or another integration's).
            return Ok("event_not_ours");
        };
        tracing::Span::current().record("sf_opportunity_id", sf_id.as_str());
        // Under the record's lock, ACE's state is read again: a sync of the same record that
        // was running meanwhile has finished, and what is written back is newer than it.
        let _record = self.records.lock(&sf_id).await;
        let opportunity = match self.ace.get(id).await {
            Ok(opportunity) => opportunity,
            Err(AceError::NotFound { .. }) => return Ok("event_unknown_opportunity"),
            Err(e) => return Err(e.into()),
        };
        let record = match self.sf.read_opportunity(&sf_id, &self.read_fields).await {
            Ok(record) => record,
            Err(SalesforceError::NoSuchRecord { .. }) => return Ok("event_record_gone"),
            Err(e) => return Err(e.into()),
        };
        if ace_id(&record).as_ref() != Some(id) {
            // An event for an opportunity the record no longer points at (replaced after a
            // rejection), or one created before the id was written back: the record's own
            // sync handles it.
            return Ok("event_not_current");
        }
        let review = opportunity.body.review_status();
        let summary = if review == Some(ReviewStatus::Approved) {
            match self.ace.aws_summary(id).await {
                Ok(summary) => Some(summary),
                Err(AceError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let now = OffsetDateTime::now_utc();
        let previous_review = record.text(fields::REVIEW_STATUS);
        let desired = ace_view(&opportunity, summary.as_ref(), &record);
        self.decided(&record, &opportunity, previous_review.as_deref(), now);
        self.write_back(&record, desired, now).await?;

        // An update deferred while AWS reviewed: send it now that ACE takes it.
        let locked = review.as_ref().is_some_and(ReviewStatus::is_under_review);
        let mapped = self.mapping.map(&record);
        let pending = record.text(fields::FINGERPRINT).as_deref()
            != Some(fingerprint(&mapped.opportunity).as_str());
        if pending && !locked && review != Some(ReviewStatus::Rejected) {
            tracing::info!("the record has changes ACE has not received; sending them now");
            let org = self.sf.identity().await?.org_id;
            return match self.try_sync(&org, &sf_id, None).await {
                Ok(_) => Ok("event_replayed_update"),
                Err(failure) => Err(failure),
            };
        }
        Ok("event_written_back")
    }

    /// The operating figures of a review decision.
    fn decided(
        &self,
        record: &SObject,
        opportunity: &AceOpportunity,
        before: Option<&str>,
        now: OffsetDateTime,
    ) {
        let review = opportunity.body.review_status();
        let decision = match review {
            Some(ReviewStatus::Approved) => "approved",
            Some(ReviewStatus::Rejected) => "rejected",
            Some(ReviewStatus::ActionRequired) => "action_required",
            _ => return,
        };
        if before == review.as_ref().map(ReviewStatus::as_str) {
            return;
        }
        if decision != "approved" {
            let reason = opportunity
                .body
                .life_cycle
                .as_ref()
                .and_then(|l| l.review_status_reason.clone())
                .unwrap_or_else(|| "unspecified".to_owned());
            self.metrics
                .rejection_reasons
                .get_or_create(&ReasonLabel {
                    reason: truncate(&reason, 60),
                })
                .inc();
        }
        if let Some(submitted) = record
            .get(fields::SUBMITTED_AT)
            .and_then(FieldValue::as_datetime)
        {
            self.metrics
                .time_in_review
                .get_or_create(&DecisionLabel { decision })
                .observe((now - submitted).as_seconds_f64().max(0.0));
        }
    }
}

/// What the record should show of ACE's side.
fn ace_view(
    opportunity: &AceOpportunity,
    summary: Option<&AwsSummary>,
    record: &SObject,
) -> Desired {
    let life_cycle = opportunity.body.life_cycle.clone().unwrap_or_default();
    let review = opportunity.body.review_status();
    let mut desired = Desired::new();
    desired.insert(
        fields::REVIEW_STATUS.into(),
        review.as_ref().and_then(|r| text(r.as_str())),
    );
    desired.insert(
        fields::REVIEW_REASON.into(),
        life_cycle
            .review_status_reason
            .clone()
            .and_then(|r| text(truncate(&r, 80))),
    );
    desired.insert(
        fields::REVIEW_COMMENTS.into(),
        life_cycle.review_comments.clone().and_then(text),
    );
    desired.insert(
        fields::STAGE.into(),
        life_cycle.stage.clone().and_then(text),
    );
    let status = SyncStatus::for_review(review.as_ref());
    desired.insert(fields::SYNC_STATUS.into(), text(status.as_str()));
    match review {
        Some(ReviewStatus::Rejected) => {
            let why = [
                life_cycle.review_status_reason.clone(),
                life_cycle.review_comments.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
            desired.insert(
                fields::FINDINGS.into(),
                text(format!("AWS rejected the opportunity ({why}). Fix what AWS asks for and save the record: ace-sync resubmits it as a new ACE opportunity.")),
            );
        }
        Some(ReviewStatus::ActionRequired) => {
            let why = life_cycle.review_comments.clone().unwrap_or_default();
            desired.insert(
                fields::FINDINGS.into(),
                text(format!("AWS needs more information: {why}. Update the record: ace-sync sends the change and AWS reviews it again.")),
            );
        }
        Some(ReviewStatus::Approved)
            if record.text(fields::REVIEW_STATUS).as_deref() != Some("Approved") =>
        {
            desired.insert(fields::FINDINGS.into(), None);
        }
        _ => {}
    }
    if let Some(summary) = summary {
        let team = summary
            .team
            .iter()
            .map(|m| {
                let name = [m.first_name.clone(), m.last_name.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut line = format!(
                    "{}: {}",
                    m.business_title.clone().unwrap_or_else(|| "AWS".to_owned()),
                    if name.is_empty() {
                        "(unnamed)".to_owned()
                    } else {
                        name
                    }
                );
                if let Some(email) = &m.email {
                    line.push_str(&format!(" <{email}>"));
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n");
        desired.insert(fields::AWS_TEAM.into(), text(team));
        desired.insert(
            fields::INVOLVEMENT_TYPE.into(),
            summary.involvement_type.clone().and_then(text),
        );
        desired.insert(
            fields::NEXT_STEPS.into(),
            summary.next_steps.clone().and_then(text),
        );
        desired.insert(
            fields::ENGAGEMENT_SCORE.into(),
            summary.engagement_score.clone().and_then(text),
        );
    }
    desired
}

/// The part of an EventBridge event the sync reads (ace-api.md §9).
#[derive(Debug, Deserialize)]
struct Event {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: EventDetail,
}

#[derive(Debug, Deserialize)]
struct EventDetail {
    catalog: Option<String>,
    opportunity: Option<EventOpportunity>,
}

#[derive(Debug, Deserialize)]
struct EventOpportunity {
    identifier: String,
}

/// Opportunity changes from the ingress's queue.
pub struct ChangesProcessor(pub Arc<Pipeline>);

#[async_trait]
impl Processor for ChangesProcessor {
    async fn process(&self, message: &ReceivedMessage) -> Disposition {
        let job = match Job::decode(&message.body) {
            Ok(job) => job.into_reconcile(),
            Err(e) => {
                return Disposition::Permanent {
                    reason: crate::telemetry::error_chain(&e),
                };
            }
        };
        let id = match SfOpportunityId::try_from(&job.record_id) {
            Ok(id) => id,
            Err(e) => {
                tracing::debug!(record = %job.record_id, "not an opportunity; nothing to sync: {e}");
                return Disposition::Done;
            }
        };
        let changed_at = job.changed_at;
        let change = job;
        let span = tracing::info_span!("reconcile", reason = change.reason.label());
        tracing::Instrument::instrument(
            self.0.sync_opportunity(&change.org_id, &id, changed_at),
            span,
        )
        .await
    }

    fn name(&self) -> &'static str {
        "changes"
    }
}

/// Partner Central's events, from the EventBridge → SQS queue.
pub struct EventsProcessor(pub Arc<Pipeline>);

#[async_trait]
impl Processor for EventsProcessor {
    async fn process(&self, message: &ReceivedMessage) -> Disposition {
        self.0.handle_event(&message.body).await
    }

    fn name(&self) -> &'static str {
        "events"
    }
}
